/*
** shared.h: the cross-process registry (README: "Across processes").
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
** futex) hands it to registry.c or jobs.c, which apply it exactly as a
** request from inside the process: only to the execution it names, and
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

#include "registry.h"

typedef struct SharedReg SharedReg;
typedef struct CancelJob CancelJob;
typedef struct JobRow JobRow;

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
/* ... for a session of a usable registry that found no free slot. */
char *sharedStatusNoSlot(SharedReg *p);

/* A new session pid (iKind 0) or job id (iKind 1): 1..2147483647, not
** used by this process (xUsed(v) says if v is, called with the caller's
** lock held) nor by any process sharing a registry file with it, and not
** handed out again before the counter wraps (doc/ids.md). */
i64 sharedNextId(int iKind, int (*xUsed)(i64));

/* Sessions. The slot is claimed at enrolment and released when the
** connection closes; sharedPublish copies what the `sessions` table shows
** into it (s->mu held by the caller). */
void sharedClaim(SharedReg *p, CancelSession *s);
void sharedRelease(CancelSession *s);
void sharedPublish(CancelSession *s);
void sharedPublishActivity(CancelSession *s);   /* the cheaper half */
/* From the session's own progress handler: serve a cancel another
** process left in its slot (the agent thread would, a little later). */
void sharedServeOwnCancel(CancelSession *s);

/* The sessions of other processes, appended to *paRow (reallocated). */
int sharedSnapshot(SharedReg *p, const char *zUser, int isAdmin,
                   SessionRow **paRow, int *pnRow);

/* Requests to other processes. zUser/isAdmin are the caller's. Each
** returns REG_OK, REG_NOTFOUND or REG_DENIED; *pT is filled with what is
** known of the target, for the caller's cancel_log. */
typedef struct SharedTarget SharedTarget;
struct SharedTarget {
  u64 tag, iSerial;        /* session id */
  i64 pid;
  i64 nodeId;
  char zUser[128];
  u64 iQuery;              /* the execution asked for, 0 none */
  const CancelAsker *pBy;  /* in: who asks, for the target's
                           ** cancel_reason(); NULL unknown */
  int noMutex;             /* a multi-thread connection */
  /* out, when a request was sent: where, for sharedWithdraw() */
  int iSlot, bTermCell;
  u64 cell;
};
int sharedCancelQuery(SharedReg *p, const char *zUser, int isAdmin,
                      u64 tag, u64 iQuery, SharedTarget *pT);
int sharedCancelBackend(SharedReg *p, const char *zUser, int isAdmin,
                        i64 pid, SharedTarget *pT);
int sharedCheckSession(SharedReg *p, const char *zUser, int isAdmin,
                       u64 tag, u64 iSerial, i64 pid, SharedTarget *pT);
int sharedTerminate(SharedReg *p, const char *zUser, int isAdmin,
                    u64 tag, u64 iSerial, i64 pid, SharedTarget *pT);
int sharedWaitGone(SharedReg *p, i64 pid, int timeoutMs);  /* 1 gone */
/* Take back a request that its target's process has not taken yet (the
** cell still holds it): 1 withdrawn, 0 taken or replaced meanwhile. */
int sharedWithdraw(SharedReg *p, int iSlot, int bTermCell, u64 cell);

/* Jobs: slots claimed at creation, published at every change (jobs lock
** held), released when the job is purged. */
void sharedClaimJob(SharedReg *p, CancelJob *pJob);
void sharedPublishJob(CancelJob *pJob);
void sharedReleaseJob(CancelJob *pJob);
int sharedJobsSnapshot(SharedReg *p, const char *zUser, int isAdmin,
                       JobRow **paRow, int *pnRow);
/* Job control of another process's job: JOBCTL_* (jobs.h), the status
** the job was in goes to *peStatus. eOp is SHJOB_*. */
#define SHJOB_CANCEL 1
#define SHJOB_PAUSE  2
#define SHJOB_RESUME 3
int sharedJobControl(SharedReg *p, i64 id, int eOp, int *peStatus);
/* A report on an application job of another process (an admin's
** job_progress, job_end): the owner applies it as the call would there,
** without blocking; JOBCTL_* (jobs.h), the status after it in *peStatus.
** zText: running_status or the error, NULL none (cut to 511 bytes). */
#define SHJOB_PROGRESS 4
#define SHJOB_END      5
int sharedJobReport(SharedReg *p, i64 id, int eOp, double fraction,
                    const char *zText, int *peStatus);
/* Retention of finished jobs, for every process on the database: set
** in every registry this process has attached; read from p's (this
** process's setting when p has none). */
void sharedSetRetention(i64 seconds);
i64 sharedRetentionSec(SharedReg *p);
int sharedJobStatus(SharedReg *p, i64 id);     /* JOB_*, -1 not found */

/* Called by the agent thread with requests for this process: for the
** session or job that holds slot iSlot under the owner word `owner` (the
** one the request's generation was checked against), and no other. */
void registryServeRemote(SharedReg *p, int iSlot, u64 owner, u64 cancelCell, int bTerm,
                         const CancelAsker *pCancelBy, const CancelAsker *pTermBy);
/* Returns JOBCTL_*, the status the job had in *peStatus. */
int jobsServeRemote(SharedReg *p, int iSlot, u64 owner, int eOp, int *peStatus);
/* The same for a report (SHJOB_PROGRESS, SHJOB_END); zText may be NULL. */
int jobsServeReport(SharedReg *p, int iSlot, u64 owner, int eOp, double fraction,
                    const char *zText, int *peStatus);

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
  u64 writerStart;             /* (set by sharedLogAdd) */
  uint32_t askOsPid;           /* that process, 0: none */
  uint32_t writerOsPid;        /* the process that writes the outcome
                               ** (set by sharedLogAdd) */
  uint8_t hasTargetUser, hasQuery;
  char zAction[64];
  char zOutcome[128];
  char zByUser[128];
  char zTargetUser[128];
  char zQuery[470];
};
/* Add an entry: returns its id in p's log (0: not added). */
i64 sharedLogAdd(SharedReg *p, const SharedLogEntry *pE);
/* Set entry id's outcome, if the one it has is transient
** (cancelLogTransient): a final outcome is never changed. */
void sharedLogOutcome(SharedReg *p, i64 id, const char *zOutcome);
/* The outcome of the entry that answers this process's request `token`
** (1 found, copied to zOut; 0 not in the log). An entry whose writer
** died with its outcome still transient says LOG_GONE. */
int sharedLogAnswer(SharedReg *p, u64 token, char *zOut, int nOut);
/* Copies of the entries still in p's log, oldest first, with their ids
** (both arrays sqlite3_malloc'd; empty when p is not usable). */
int sharedLogSnapshot(SharedReg *p, SharedLogEntry **paOut, i64 **paId, int *pnOut);

/* Called by the agent thread of each registry about once a second (set
** once by registry.c, which owns the sessions): lets a process bring
** what it publishes up to date without anyone of its own looking. */
void sharedSetTick(void (*xTick)(SharedReg*));

/* The OS start time of process ospid (0 unknown), for liveness. */
u64 sharedProcessStart(long ospid);

#endif /* CANCEL_SHARED_H */
