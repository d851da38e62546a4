/*
** session.h: the types every layer shares.
**
** A CancelSession is one connection that loaded the extension; an
** ActiveStmt one of its running statements; a SessionRow a copy of one
** session's row for the `sessions` table. The lists, locks and rules
** that govern them are registry.h's (doc/architecture.md); this file
** holds only the shapes, so that the layers below the registry (the
** registry file, the cancel log) need not include it.
*/
#ifndef CANCEL_SESSION_H
#define CANCEL_SESSION_H

#include "sqlite3ext.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

typedef sqlite3_int64 i64;
typedef sqlite3_uint64 u64;

/* One top-level execution listed as running or left open (activity.h:
** listed when it matters, taken off when it is seen ended). */
typedef struct ActiveStmt ActiveStmt;
struct ActiveStmt {
  void *pStmt;          /* the sqlite3_stmt*, compared, dereferenced only
                        ** once known to be a statement of the connection */
  int nRun;             /* its SQLITE_STMTSTATUS_RUN: names the execution */
  int bOwnSql;          /* zSql is our copy (else the statement's own text,
                        ** valid until its PROFILE end takes it off) */
  u64 iQuery;           /* serial part of the query_id */
  i64 startMs;          /* query_start */
  i64 deadlineUs;       /* statement timeout (monotonic), 0 none */
  char *zSql;
  unsigned nProgressAtStart;  /* s->nProgressCalls when it started */
  int nVmAtStart;       /* its SQLITE_STMTSTATUS_VM_STEP when it started */
};

/* Statements started before the newest that a session remembers, to tell
** a statement of its own left open from one its trace never saw start
** (compared, never dereferenced; activity.c). */
#define SESSION_RECENT 16

/* Bits of CancelSession.hooksLost: a hook the application replaced
** (hooks.c detects it; doc/hooks.md). */
#define HOOKS_TRACE_LOST     1   /* nothing known of what runs */
#define HOOKS_PROGRESS_LOST  2   /* cancels go by sqlite3_interrupt */
#define HOOKS_PROGRESS_NONE  4   /* with PROGRESS_LOST: the loaded SQLite
                                 ** has no progress handler at all
                                 ** (SQLITE_OMIT_PROGRESS_CALLBACK) */

/* Values of CancelSession.eTerm */
#define TERM_NONE     0   /* alive */
#define TERM_REQUEST  1   /* terminate requested, not yet complete */
#define TERM_DONE     2   /* rolled back, every statement denied */
/* How long the reaper leaves a terminated session's error for the
** application to read before it rolls back (terminateFinish). */
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
  atomic_int selfTerm;       /* the session terminated itself: takes
                             ** effect when its statements have ended.
                             ** Written under mu and the registry lock;
                             ** read by the own thread's statement start
                             ** with neither (hooks.c), while the reaper
                             ** may clear it (terminate.c) */
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
  i64 canaryMs;              /* last progress-handler check (hooks.c) */
  u64 timeoutSeenQuery;      /* the reaper's last look found this statement
                             ** past its timeout and running (s->mu) */
  i64 lastStartMs;           /* the last statement start (own thread) */
  int busyCheckDue;          /* a PRAGMA ran: look at the next statement */
  int inInternal;            /* running our own nested statement */
  int xactWrite;             /* the last end found a write transaction open */

  /* Statement starts (hooks.c, activity.h). Written by the own thread;
  ** read by others only while they hold the connection mutex. */
  void *pFast;               /* the newest top-level statement started */
  const char *zFast;         /* its text pointer (sqlite3_sql) then */
  void *pFastOk;             /* pFast while it may start again by the
                             ** fast path, else NULL */
  void *pThreadTag;          /* portThreadTag() of execThread */
  int traceMask;             /* the SQLITE_TRACE_* bits installed */
  int (*xTrace)(unsigned, void*, void*, void*);   /* our trace callback */
  void *apRecent[SESSION_RECENT];  /* statements started before pFast, */
  const char *azRecent[SESSION_RECENT];  /* with their text pointers: a
                             ** finalized statement's address may be reused,
                             ** seldom with its text's too */
  int iRecent;
  unsigned nProgressStarts;  /* nStarts at the progress handler's last call */
  void *pSnap;               /* the statement of the last slow start, */
  unsigned snapStarts;       /* nStarts, */
  unsigned snapProgress;     /* nProgressCalls, */
  int snapVm;                /* its SQLITE_STMTSTATUS_VM_STEP and */
  i64 snapMs;                /* the time then (activityCheckProgressLost) */
  _Atomic unsigned nStarts;  /* top-level statement starts */
  atomic_int slowNext;       /* set by anyone: the next start takes the
                             ** slow path (and re-reads the settings) */
  atomic_int noticeSoon;     /* set by a look that found it busy with
                             ** nothing listed: list what runs at the next
                             ** progress check (activityAwaitNotice) */
  unsigned nStartsLooked;    /* nStarts at the last look (registry lock) */

  /* Guarded by the registry lock. */
  i64 iLogTerm;              /* cancel_log entry of the termination */
  i64 termErrorSinceUs;      /* the reaper first saw the error it waits on */
  u64 idleProbeQuery;        /* forgotten cursor seen by the idle check: */
  i64 idleProbeSteps;        /* its newest execution and VM steps then, */
  i64 idleProbeUs;           /* and when (monotonic) */
  i64 xactSeenMs, xactSeenUs;/* the transaction start the reaper last saw,
                             ** and when that was on the monotonic clock */

  /* Requests, read lock-free by the hooks. */
  _Atomic u64 iCancelQuery;  /* query serial to interrupt, 0 none */
  atomic_int eTerm;          /* TERM_* */
  atomic_int denyInstalled;  /* our deny-all authorizer is in place */
  _Atomic i64 waitingSinceMs;/* inside the busy handler since, 0 no */
  _Atomic i64 busyCallMs;    /* the busy handler's last call: a wait that
                             ** ended with the lock obtained is not told
                             ** (activityWaitingSince) */
  atomic_int stmtTimeoutMs;  /* set_statement_timeout(), 0 off */
  atomic_int idleTimeoutMs;  /* set_idle_in_transaction_session_timeout() */
  _Atomic i64 idleDeadlineUs;/* idle in a transaction until, 0 not idle:
                             ** the nearer of the two idle limits */
  _Atomic i64 idleSinceUs;   /* when that deadline was armed */
  atomic_int xactTimeoutMs;  /* set_transaction_timeout(), 0 off */
  atomic_int idleBlockerMs;  /* set_idle_blocker_timeout(), 0 off */
  atomic_int hooksLost;      /* HOOKS_*_LOST, written by its own thread */
  int noMutex;               /* no connection mutex (set at enrolment):
                             ** no other thread may roll it back */

  /* Cross-process slot (shared.c), NULL when not published; set at
  ** enrolment, written with mu held. */
  SharedReg *pSh;
  int iShSlot;
  u64 shOwner;               /* the slot's owner word */
  u64 shActiveQuery;         /* execution whose text is published */
  _Atomic u64 *pShCancelReq; /* its slot's cancel request word, looked at
                             ** by the progress handler (NULL: no slot) */
  int shLate;                /* own thread: a statement started that the
                             ** slot does not show yet (hooks.c publishes
                             ** it from the progress handler) */
  /* A cancel from another process that the progress handler stopped
  ** execution iStopQuery for (hooks.c), logged once that execution is
  ** taken off the list (activity.c), after the statement has stopped.
  ** Guarded by mu (iStopQuery also read without it: registry.c). */
  _Atomic u64 iStopQuery;    /* 0 none */
  int stopReasonDue;         /* cancel_reason() still to come from stopBy */
  CancelAsker stopBy;        /* who asked */

  /* Chained application callbacks (cancel.h). */
  int (*xAppProgress)(void*);
  void *pAppProgressArg;
  int (*xAppBusy)(void*, int);
  void *pAppBusyArg;
  /* A built-in job's look at each top-level statement start (hooks.h). */
  void (*xAppStart)(void*);
  void *pAppStartArg;
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
  int xactTimeoutMs;
  int idleBlockerMs;
  const char *zHooks;        /* 'ok', 'trace taken', ... (static) */
  const char *zThreading;    /* 'serialized' or 'multi-thread' */
};

/* Outcome codes of registry actions, turned into messages by callers. */
#define REG_OK          0
#define REG_NOTFOUND    1
#define REG_DENIED      2
#define REG_NOMEM       3
#define REG_UNDELIVERED 4   /* the target's trace hook was taken over */

/* A statement that waits calls the busy handler at least every 100 ms
** (SQLite's back-off, hooks.c); one that got its lock says nothing when
** it goes on, so a wait counts only while the last call is recent
** (nowMs and lastCallMs: wall-clock ms, or their low 32 bits). */
#define SESSION_WAIT_FRESH_MS 250
int sessionWaitFresh(i64 nowMs, i64 lastCallMs);
/* When s began to wait, 0 when it does not (or no longer) wait. */
i64 sessionWaitingSince(CancelSession *s);

/* The `hooks` and `threading` texts of a session (session.c). */
const char *sessionHooksText(int hooksLost);
const char *sessionThreadingText(int noMutex);

#endif /* CANCEL_SESSION_H */
