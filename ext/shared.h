/*
** shared.h: the cross-process registry file (doc/cross-process.md),
** defined by shared.c (open, attach, ids), shslot.c, shagent.c (the agent
** thread) and shlog.c (the cancel log ring); its layout is in shfile.h.
** It knows no session and no job: remote.c puts this process's sessions
** in it and sends requests to other processes' sessions, jobslots.c does
** the same for jobs.
**
** Every database file that sessions of this process use gets a registry
** file beside it, `<database>-cancel`, mapped shared by every process
** that has the extension loaded on that database. It holds one slot per
** session and per job: what the sessions table and the jobs table show
** of other processes, and request cells through which another process
** asks for a cancel, a termination or a job control.
**
** A request is never acted on by the process that makes it. It is
** written into the target's slot, tagged with the slot's generation, and
** the target process's agent thread (one per registry file, woken with a
** futex) hands it to the server the layers above registered for it
** (shagentSetServers: registry.c for sessions, jobs.c for jobs), which
** applies it exactly as a request from inside the process: only to the execution it names, and
** only if that execution still runs. A slot reused by a new session (its
** owner died or closed) has a new generation, so a request meant for
** the old owner is dropped.
**
** Nothing read from the file is trusted: every row is copied out under a
** sequence lock, then checked (owner alive, strings terminated, values in
** range) before use. A file that is not a registry of this version, or
** that cannot be opened for writing, leaves the process working alone on
** that database, and sharedStatus() says why.
*/
#ifndef CANCEL_SHARED_H
#define CANCEL_SHARED_H

#include "ids.h"         /* the shared types (session.h), ids and clocks */

typedef struct SharedReg SharedReg;

/* Process-wide switch (CANCEL_SHARED=0 in the environment, or
** cancel_set_shared()); a connection can also opt out with the URI
** parameter cancel_shared=0. */
void sharedSetDefault(int bOn);
int sharedDefault(void);
/* While set on a thread, connections it opens do not join the registry
** (jobkinds.c: backup destinations and restore sources, whose files are
** not databases anyone runs sessions on). */
void sharedSuppress(int bOn);
int sharedSuppressed(void);

/* The registry of database file zDb, attached on first use and kept for
** the life of the process. Never NULL for a file name (NULL only when
** out of memory); check sharedUsable(). */
SharedReg *sharedAttach(const char *zDb);
/* For cancel_watch(): the absolute name of database file zDb, checked
** (exists, a regular file, empty or a SQLite database) without opening
** it as a database. NULL with *pzErr set (NULL too: out of memory). */
char *sharedWatchPath(const char *zDb, char **pzErr);
int sharedUsable(SharedReg *p);
/* A line for cancel_registry(): the file and its state. */
char *sharedStatus(SharedReg *p);
/* The database file p is the registry of (sqlite3_malloc'd; NULL: out
** of memory). */
char *sharedDatabasePath(SharedReg *p);
/* ... for a session of a usable registry that found no free slot. */
char *sharedStatusNoSlot(SharedReg *p);

/* A new session pid (iKind 0) or job id (iKind 1): 1..2147483647, not
** used by this process (xUsed(v) says if v is, called with the caller's
** lock held) nor by any process sharing a registry file with it, and not
** handed out again before the counter wraps (doc/ids.md). */
i64 sharedNextId(int iKind, int (*xUsed)(i64));

/* Job control and reports travel in a job slot's request cell: the
** operations (jobs.c applies them: JOBCTL_* there). */
#define SHJOB_CANCEL   1
#define SHJOB_PAUSE    2
#define SHJOB_RESUME   3
#define SHJOB_PROGRESS 4               /* a report: data in the mailbox */
#define SHJOB_END      5

/* Take back a request that its target's process has not taken yet (the
** cell still holds it): 1 withdrawn, 0 taken or replaced meanwhile. */
int shagentWithdraw(SharedReg *p, int iSlot, int bTermCell, u64 cell);
/* Does the cancel request `cell` still wait in slot iSlot (not taken)? */
int shagentCancelWaiting(SharedReg *p, int iSlot, u64 cell);

/*
** What the layers above give the registry file: the agent thread hands
** each request it finds in a slot this process owns to these servers,
** for the session or job that holds slot iSlot under the owner word
** `owner` (the one the request's generation was checked against), and no
** other. Set once, by the composition root (cancel.c), before any
** registry is attached; a request found while a server is unset is
** dropped.
*/
typedef struct SharedServers SharedServers;
struct SharedServers {
  /* a cancel (cancelCell: the request word, 0 none) and/or a
  ** termination of a session, with who asked for each (NULL: none) */
  void (*xSession)(SharedReg *p, int iSlot, u64 owner, u64 cancelCell,
                   int bTerm, const CancelAsker *pCancelBy,
                   const CancelAsker *pTermBy);
  /* job control SHJOB_CANCEL..RESUME: returns JOBCTL_*, the status the
  ** job had in *peStatus */
  int (*xJobControl)(SharedReg *p, int iSlot, u64 owner, int eOp, int *peStatus);
  /* a report SHJOB_PROGRESS or SHJOB_END; zText may be NULL */
  int (*xJobReport)(SharedReg *p, int iSlot, u64 owner, int eOp,
                    double fraction, const char *zText, int *peStatus);
  /* the cancel log's rules: is an outcome transient (a later one may
  ** replace it), and the outcome of an entry whose writer died */
  int (*xLogTransient)(const char *zOutcome);
  const char *zLogGone;
};
void shagentSetServers(const SharedServers *pServers);
/* Serve the cancel waiting in this process's session slot iSlot (owner
** word `owner`) now, from the session's own progress handler, rather than
** wait for the agent thread; whoever takes the cell first serves it. */
void shagentServeCancel(SharedReg *p, int iSlot, u64 owner);
/* The same, when the session's own thread knows it runs execution
** iQuery: take the cancel waiting in slot iSlot only if it names that
** execution (then 1, and *pBy says who asked); else leave it there. */
int shagentTakeCancelFor(SharedReg *p, int iSlot, u64 owner, u64 iQuery,
                         CancelAsker *pBy);

/* Retention of finished jobs' slots, for every process on the database:
** set in every registry this process has attached and kept as this
** process's default; read from p's (this process's when p has none). */
#define SHARED_RETENTION_DEFAULT (24*60*60)      /* a day, in seconds */
#define SHARED_RETENTION_MAX     (100*365*86400LL)
void sharedSetRetention(i64 seconds);
i64 sharedRetentionSec(SharedReg *p);

/* The registry's cancel log: what every process did to this database's
** sessions, for watchers. Fixed-size text fields, always terminated. */
typedef struct SharedLogEntry SharedLogEntry;
struct SharedLogEntry {
  i64 timeMs;
  u64 byTag, bySerial;         /* who asked (0: unknown) */
  u64 targetTag, targetSerial; /* the target session (0: not found) */
  u64 targetQuery;             /* the execution named (0: none) */
  i64 targetPid;               /* 0: unknown */
  u64 askToken;                /* a request from another process: the
                               ** token it sent (CancelAsker.token) */
  u64 writerStart;             /* (set by shlogAdd) */
  uint32_t askOsPid;           /* that process, 0: none */
  uint32_t writerOsPid;        /* the process that writes the outcome
                               ** (set by shlogAdd) */
  uint8_t hasTargetUser, hasQuery;
  char zAction[64];
  char zOutcome[128];
  char zByUser[128];
  char zTargetUser[128];
  char zQuery[470];
};
/* Add an entry: returns its id in p's log (0: not added). */
i64 shlogAdd(SharedReg *p, const SharedLogEntry *pE);
/* Set entry id's outcome, if the one it has is transient
** (cancelLogTransient): a final outcome is never changed. */
void shlogOutcome(SharedReg *p, i64 id, const char *zOutcome);
/* The outcome of the entry that answers this process's request `token`
** (1 found, copied to zOut; 0 not in the log). An entry whose writer
** died with its outcome still transient says LOG_GONE. */
int shlogAnswer(SharedReg *p, u64 token, char *zOut, int nOut);
/* Copies of the entries still in p's log, oldest first, with their ids
** (both arrays sqlite3_malloc'd; empty when p is not usable). */
int shlogSnapshot(SharedReg *p, SharedLogEntry **paOut, i64 **paId, int *pnOut);

/* Called by the agent thread of each registry about once a second (set
** once by cancel.c's wiring: snapshot.c owns it): lets a process bring
** what it publishes up to date without anyone of its own looking. It
** returns nonzero to be called again soon (SHAGENT_TICK_SOON_MS). It is
** also called at once when another process asks for a look (the
** header's lookReq, passed as lookGen: acknowledged in each slot). */
#define SHAGENT_TICK_SOON_MS 20
void shagentSetTick(int (*xTick)(SharedReg*, uint32_t lookGen));

/* The OS start time of process ospid (0 unknown), for liveness. */
u64 shslotProcessStart(long ospid);

#endif /* CANCEL_SHARED_H */
