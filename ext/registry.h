/*
** registry.h: the process-wide registry of sessions.
**
** Every connection that loads the extension becomes a CancelSession in
** one list guarded by one lock (the registry lock). SQL functions and the
** `sessions` table ask the registry; the registry sets requests on
** sessions; each session's own thread (hooks.c) reads those requests and
** acts on them. Only registry.c ever touches another session's sqlite3*,
** and only while it holds that connection's mutex and knows it is not
** being closed.
**
** Lock order: registry lock, then a session's mu. A session's own thread
** takes only its mu on the hot path. Nobody waits for a connection mutex
** while holding the registry lock (close destructors hold that mutex and
** then take the registry lock).
*/
#ifndef CANCEL_REGISTRY_H
#define CANCEL_REGISTRY_H

#include "sqlite3ext.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

typedef sqlite3_int64 i64;
typedef sqlite3_uint64 u64;

/* One top-level statement now running (started, not yet reset/done). */
typedef struct ActiveStmt ActiveStmt;
struct ActiveStmt {
  void *pStmt;          /* the sqlite3_stmt*, used only as a key */
  u64 iQuery;           /* serial part of the query_id */
  i64 startMs;          /* query_start */
  i64 deadlineUs;       /* statement timeout (monotonic), 0 none */
  const char *zSql;     /* owned by the statement; valid while listed */
  unsigned nProgressAtStart;  /* s->nProgressCalls when it started */
  int nVmAtStart;       /* its SQLITE_STMTSTATUS_VM_STEP when it started */
};

/* Bits of CancelSession.hooksLost: a hook the application replaced
** (hooks.c detects it; doc/hooks.md). */
#define HOOKS_TRACE_LOST     1   /* nothing known of what runs */
#define HOOKS_PROGRESS_LOST  2   /* cancels go by sqlite3_interrupt */

/* Values of CancelSession.eTerm */
#define TERM_NONE     0   /* alive */
#define TERM_REQUEST  1   /* terminate requested, not yet complete */
#define TERM_DONE     2   /* rolled back, every statement denied */
/* How long the reaper leaves a terminated session's error for the
** application to read before it rolls back (registryFinishTermination). */
#define TERM_ERROR_GRACE_US 500000

/* Values of CancelSession.eXactKind (SQLite's SQLITE_TXN_* values) */
#define XACT_NONE  0
#define XACT_READ  1
#define XACT_WRITE 2

/* Who asked for a cancel or a termination, for cancel_reason(). */
#define CANCEL_REASON_MAX 512      /* bytes of a reason, NUL included */
typedef struct CancelAsker CancelAsker;
struct CancelAsker {
  char zAction[40];          /* pg_terminate_backend, statement_timeout... */
  char zUser[128];           /* '' for the extension itself (a timeout) */
  i64 pid;                   /* the asking session's backend pid, 0 none */
  i64 osPid;                 /* its OS process id when another process's */
  i64 timeMs;                /* when it asked */
  int timeoutMs;             /* for a timeout: its limit */
  u64 token;                 /* a request to another process: names the
                             ** asker's log entry in the answer the target
                             ** writes to the registry log (cancellog.c) */
};

typedef struct SharedReg SharedReg;
typedef struct CancelSession CancelSession;
struct CancelSession {
  /* Identity: set at enrolment, never changed. */
  sqlite3 *db;
  i64 pid;                   /* backend id for the pg_* functions */
  u64 iSerial;               /* serial part of session_id */
  i64 startMs;               /* session_start */
  char *zDatabase;           /* main database file name, '' in memory */
  SharedReg *pShReg;         /* registry file of zDatabase, NULL if off */
  /* The registry this session watches (cancel_watch), NULL when none:
  ** then its tables and functions act on that database instead of its
  ** own. Read and written by the session's own thread only. */
  SharedReg *pWatch;

  /* Guarded by the registry lock. */
  CancelSession *pNext, *pPrev;
  CancelSession *apIndexNext[3];   /* regindex.c's hash chains */
  int nReg;                  /* registrations alive (functions, tables) */
  int nPin;                  /* pins held by registry code at work on it */
  int closing;               /* nReg is 0: the connection is closed or
                             ** closing; hands off s->db */
  char *zUser;
  int isAdmin;
  char *zAppName;
  char *zClientAddr;

  /* Activity, written by the session's own thread; guarded by mu. */
  pthread_mutex_t mu;
  pthread_cond_t cond;       /* wakes a busy-handler wait on a cancel */
  ActiveStmt *aStmt;         /* statements running, oldest first */
  int nStmt, nStmtAlloc;
  char *zLast;               /* last_active_query (buffer) */
  int nLastAlloc;
  int hasLast;
  i64 xactStartMs;           /* 0 when no transaction is open */
  int inXact;                /* explicit transaction open */
  pthread_t execThread;      /* thread that started the newest statement */
  int finishing;             /* registry.c is rolling back on our behalf */
  int eXactKind;             /* XACT_*: what the open transaction holds */
  i64 iLogCancel;            /* cancel_log entry of the pending iCancelQuery */
  CancelAsker cancelBy;      /* who asked for the pending iCancelQuery */
  char zReason[CANCEL_REASON_MAX];  /* cancel_reason(), '' none */
  int selfTerm;              /* the session terminated itself: takes
                             ** effect when its statements have ended */
  CancelAsker selfTermBy;
  int cursorIdle;            /* a look (registry.c, regProbeLocked) found
                             ** the listed statements left open, nothing
                             ** running: a forgotten cursor. Cleared by
                             ** the own thread at every statement start
                             ** and end. */

  /* Set and read by the session's own thread only. */
  int busyTimeoutMs;         /* honoured by our busy handler */
  i64 curDeadlineUs;         /* deadline of the newest statement, 0 none */
  i64 busyStartUs;           /* when the current lock wait began */
  u64 iQueryNext, iQueryEnd; /* block of query ids reserved for it */
  unsigned nProgressCalls;   /* calls of our progress handler */
  i64 busyCheckMs;           /* last look at PRAGMA busy_timeout */
  int busyCheckDue;          /* a PRAGMA ran: look at the next statement */
  int inInternal;            /* running our own nested statement */
  void *pLastEnded;          /* the statement whose end we saw last */

  /* Guarded by the registry lock. */
  i64 iLogTerm;              /* cancel_log entry of the termination */
  i64 termErrorSinceUs;      /* the reaper first saw the error it waits on */
  u64 idleProbeQuery;        /* forgotten cursor seen by the idle check: */
  i64 idleProbeSteps;        /* its newest execution and VM steps then */

  /* Requests, read lock-free by the hooks. */
  atomic_int anyRequest;     /* nonzero: look at iCancelQuery or eTerm */
  _Atomic u64 iCancelQuery;  /* query serial to interrupt, 0 none */
  atomic_int eTerm;          /* TERM_* */
  atomic_int denyInstalled;  /* our deny-all authorizer is in place */
  _Atomic i64 waitingSinceMs;/* inside the busy handler since, 0 no */
  atomic_int stmtTimeoutMs;  /* set_statement_timeout(), 0 off */
  atomic_int idleTimeoutMs;  /* set_idle_in_transaction_session_timeout() */
  _Atomic i64 idleDeadlineUs;/* idle in a transaction until, 0 not idle */
  atomic_int hooksLost;      /* HOOKS_*_LOST, written by its own thread */
  int noMutex;               /* no connection mutex (set at enrolment):
                             ** no other thread may roll it back */

  /* Cross-process slot (shared.c), NULL when not published; set at
  ** enrolment, written with mu held. */
  SharedReg *pSh;
  int iShSlot;
  u64 shOwner;               /* the slot's owner word */
  u64 shActiveQuery;         /* execution whose text is published */

  /* Chained application callbacks (cancel.h). */
  int (*xAppProgress)(void*);
  void *pAppProgressArg;
  int (*xAppBusy)(void*, int);
  void *pAppBusyArg;
};

/* A copy of one session's row, taken under the locks for `sessions`. */
typedef struct SessionRow SessionRow;
struct SessionRow {
  i64 pid;
  i64 nodeId;                /* OS process id */
  char zSessionId[33];
  char *zUser;
  char *zAppName;
  char *zClientAddr;
  char *zDatabase;
  const char *zStatus;       /* static string */
  char *zActive;             /* NULL when none */
  char zQueryId[33];         /* '' when none */
  i64 queryStartMs;
  char *zLast;               /* NULL when none */
  i64 xactStartMs;
  i64 sessionStartMs;
  int masked;                /* query texts hidden from the caller */
  const char *zXactKind;     /* 'none', 'read', 'write' */
  i64 waitingSinceMs;        /* 0 when not waiting */
  int stmtTimeoutMs;
  int idleTimeoutMs;
  const char *zHooks;        /* 'ok', 'trace taken', ... (static) */
  const char *zThreading;    /* 'serialized' or 'multi-thread' */
};

/* The `hooks` and `threading` texts of a session. */
const char *registryHooksText(int hooksLost);
const char *registryThreadingText(int noMutex);

/* Outcome codes of registry actions, turned into messages by callers. */
#define REG_OK          0
#define REG_NOTFOUND    1
#define REG_DENIED      2
#define REG_NOMEM       3
#define REG_UNDELIVERED 4   /* the target's trace hook was taken over */

/* Enrolment: called by the entry point. The session comes with one
** reference (registryRef), which the caller drops with registryUnref. */
CancelSession *registryEnrol(sqlite3 *db);
CancelSession *registryFind(sqlite3 *db);  /* already enrolled? */
void registryRef(CancelSession *s);
void registryUnref(CancelSession *s);      /* last one: leave and free */

/* Identifiers */
void registryFormatId(u64 iSerial, char *zOut /* 33 bytes */);
void registryFormatIdTag(u64 tag, u64 iSerial, char *zOut); /* tag 0: ours */
u64 registryTag(void);                    /* this process's id prefix */
/* Split an id into its process tag and serial; 0 if not 32 hex digits. */
int registryParseId(const char *z, u64 *pTag, u64 *piSerial);
/* (pids and job ids: sharedNextId(), shared.h) */
int registryIsIdShape(const char *z);     /* 32 hex digits? */
u64 registryNextQuery(void);
u64 registryReserveQueries(int n);  /* first of n consecutive serials */
i64 registryNowMs(void);
void registryFormatTime(i64 ms, char *zOut /* 32 bytes */);

/* Who is the caller: copies of user and admin flag. */
void registryCaller(CancelSession *s, char **pzUser, int *pIsAdmin);
int registrySetUser(CancelSession *s, const char *zUser, int isAdmin);
int registrySetAppName(CancelSession *s, const char *zName);
int registrySetClientAddr(CancelSession *s, const char *zAddr);

/* Cancelling. pCaller is the session whose SQL asked; it decides the
** privilege check. Each returns REG_* and sets *pDone where useful. */
int registryCancelQuery(CancelSession *pCaller, u64 tag, u64 iQuery, const char *zAction);
int registryCancelBackend(CancelSession *pCaller, i64 pid, const char *zAction);
int registryTerminateBySerial(CancelSession *pCaller, u64 tag, u64 iSerial, const char *zAction);
int registryTerminateByPid(CancelSession *pCaller, i64 pid, const char *zAction);
int registryCheckSerial(CancelSession *pCaller, u64 tag, u64 iSerial);
void registryLogDenied(CancelSession *pCaller, const char *zAction, u64 tag, u64 iSerial);
int registryWaitGone(CancelSession *pCaller, i64 pid, int timeoutMs);  /* 1 gone, 0 timed out */
/* The same inside a statement of pCaller: -1 when xStop(pArg) says the
** statement must stop (hooksWaitStop: cancel, terminate, timeout). */
int registryWaitGoneStop(CancelSession *pCaller, i64 pid, int timeoutMs,
                         int (*xStop)(void*), void *pArg);
/* The registry file state of pCaller's database, for cancel_registry(). */
char *registrySharedStatus(CancelSession *pCaller);
/* The session server of the registry file's agent (sharedSetServers,
** wired by cancel.c): requests from other processes for the session that
** holds slot iSlot under owner word `owner`, and no other. */
void registryServeRemote(SharedReg *p, int iSlot, u64 owner, u64 cancelCell, int bTerm,
                         const CancelAsker *pCancelBy, const CancelAsker *pTermBy);
/* The registry file pCaller's tables and functions act through: the one
** it watches, else its own database's (NULL: none). */
SharedReg *registryScope(CancelSession *pCaller);
/* Watch database file zDb (NULL or '': stop watching). Returns REG_OK, or
** REG_NOTFOUND with *pzErr (sqlite3_malloc'd) saying why not. */
int registryWatch(CancelSession *pCaller, const char *zDb, char **pzErr);

/* Snapshot of every reachable session for the `sessions` table. */
int registrySnapshot(CancelSession *pCaller, SessionRow **paRow, int *pnRow);
void registryFreeSnapshot(SessionRow *aRow, int nRow);

/* Who holds the lock that session pid / iSerial waits for
** (pg_blocking_pids): a JSON array of pids or session ids. */
char *registryBlockers(i64 pid, u64 iSerial, int bSessionIds, int *pbFound);

/* Monotonic clock in microseconds, for deadlines. */
i64 registryMonoUs(void);

/* Sessions now in a busy-handler wait, process-wide: while nonzero,
** running sessions keep their eXactKind current (hooks.c). */
extern atomic_int registryWaiters;
void registrySetWaiting(CancelSession *s, i64 sinceMs);  /* 0: not waiting */

/* Defaults for new sessions (cancel.h). */
extern atomic_int registryDefaultStmtTimeoutMs;
extern atomic_int registryDefaultIdleTimeoutMs;

/* Called by a session's own thread when a statement of a terminated
** session ends, or when it goes idle in a transaction with a timeout,
** so the background thread can act. */
void registryKickReaper(void);
void registryIdleDeadline(i64 deadlineUs);
int registryFinishTermination(CancelSession *s);
/* A terminated multi-thread session's own thread: its transaction is
** gone (rolled back at its own call), so the termination is complete. */
void registryNoMutexTerminated(CancelSession *s);

/* cancel_reason(): why the session's last stopped statement was stopped,
** or why it was terminated; NULL when nothing stopped it (or out of
** memory). sqlite3_malloc'd. */
char *registryReason(CancelSession *s);
/* s->mu held: record the reason of a stop (zVerb "cancelled" or
** "terminated"). A termination's reason is never replaced. */
void registrySetReasonLocked(CancelSession *s, const char *zVerb, const CancelAsker *pBy);
/* The asker for a statement or idle timeout of s. */
void registryTimeoutAsker(CancelAsker *pBy, const char *zAction, int timeoutMs);
/* The own thread, once no statement of s runs: a self-termination that
** was deferred until the statement that asked ended takes effect. */
void registrySelfTerminate(CancelSession *s);

#endif /* CANCEL_REGISTRY_H */
