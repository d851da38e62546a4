/*
** jobs.h: long-running work that outlives a statement (doc/jobs.md).
**
** Every job, built-in (jobkinds.c) or the application's own, is a
** CancelJob in one process-wide list guarded by one lock (the jobs lock,
** taken before the registry lock when both are needed). Its state moves
** by CockroachDB's rules:
**
**   pending -> running -> succeeded | failed
**   cancel_job:  pending/running/paused -> cancel-requested
**                  -> reverting -> canceled
**   pause_job:   pending/running/reverting -> pause-requested -> paused
**   resume_job:  paused -> running (or reverting)
**
** The thread doing the work (the job's thread, or the application's
** thread through job_progress) calls jobCheckpoint() between units of
** work: it returns JOB_GO, or JOB_CANCEL once a cancel was asked for, and
** blocks while the job is paused.
*/
#ifndef CANCEL_JOBS_H
#define CANCEL_JOBS_H

#include "registry.h"

/* Statuses, in the order of the `status` strings in jobs.c */
#define JOB_PENDING          0
#define JOB_RUNNING          1
#define JOB_PAUSED           2
#define JOB_PAUSE_REQUESTED  3
#define JOB_CANCEL_REQUESTED 4
#define JOB_REVERTING        5
#define JOB_CANCELED         6
#define JOB_FAILED           7
#define JOB_SUCCEEDED        8

/* Results of jobCheckpoint() */
#define JOB_GO      0
#define JOB_CANCEL  1
#define JOB_STOPPED 2   /* jobCheckpointStop: xStop said stop */

typedef struct CancelJob CancelJob;
struct CancelJob {
  CancelJob *pNext;
  i64 id;
  char *zType;
  char *zDesc;
  char *zUser;
  u64 iCoordinator;          /* session serial of the session running it */
  u64 iCreatedBy;            /* session serial of the session that started
                             ** it (created_by; kept after that session ends) */
  int bBuiltin;              /* run by a thread of the extension */

  /* Guarded by the jobs lock. */
  int eStatus;               /* JOB_* */
  int bWasReverting;         /* paused while reverting: resume reverts */
  int bCancelRequested;      /* sticky: a cancel was accepted, so the job
                             ** ends canceled whatever it passes through */
  int bCanceledAtExit;       /* ... by jobsAtExit */
  char *zRunning;            /* running_status */
  double fraction;
  i64 createdMs, startedMs, finishedMs, modifiedMs;
  char *zError;
  pthread_cond_t cond;       /* status changed */
  int nRef;                  /* list + threads using it */

  i64 lockWaitSinceMs;       /* in jobNap (waiting for a lock) since, 0 not */
  char *zPart;               /* its partial file (absolute), removed by
                             ** whichever process sees it die */
  sqlite3 *pDb;              /* a built-in job's own connection while it
                             ** works (jobSetConnection): what a cancel
                             ** interrupts */
  pthread_t dbThread;        /* the job's thread, which set pDb */

  /* Its slot in the coordinator's registry file (shared.c), if any. */
  SharedReg *pSh;
  int iShSlot;
  u64 shOwner;
  SharedReg *pShFull;        /* it found that registry full: counted there
                             ** (cancel_registry()) until it is purged */
};

/* Create a job (status pending, or running for an application's job).
** Returns it with a reference for the caller, or NULL (no memory). */
CancelJob *jobCreate(CancelSession *pCoord, const char *zType,
                     const char *zDesc, int bBuiltin);
void jobRelease(CancelJob *p);
CancelJob *jobFind(i64 id);              /* with a reference, or NULL */
int jobExists(SharedReg *pSh, i64 id);   /* here or in another process */

/* For the thread doing the work. */
void jobStart(CancelJob *p);             /* pending -> running */
int jobCheckpoint(CancelJob *p);         /* JOB_GO or JOB_CANCEL; blocks when paused */
/* The same, inside a statement: while paused, xStop(pArg) is asked (at
** least every 10 ms) whether the statement must stop; JOB_STOPPED if so. */
int jobCheckpointStop(CancelJob *p, int (*xStop)(void*), void *pArg);
int jobWantsCancel(CancelJob *p);        /* non-blocking: cancel asked for? */
int jobWantsPause(CancelJob *p);         /* non-blocking: pause asked for? */
void jobProgress(CancelJob *p, double fraction, const char *zRunning);
void jobFinish(CancelJob *p, const char *zError); /* succeeded, failed or canceled */
/* A built-in job ends: eOutcome JOB_GO (its work is committed: it
** succeeded, even if a cancel came too late to stop it), JOB_CANCEL, or
** -1 (failed with zError; canceled if a cancel was asked for). */
void jobFinishAs(CancelJob *p, int eOutcome, const char *zError);
/* Its error text, jobs lock held ("out of memory" for a failed job whose
** message could not be allocated). */
/* (inline: jobslots.c, below jobs.c, publishes it) */
static inline const char *jobErrorText(CancelJob *p){
  if( p->zError ) return p->zError;
  if( p->eStatus==JOB_FAILED ) return "out of memory";
  if( p->eStatus==JOB_CANCELED ) return "canceled by cancel_job";
  return 0;
}
void jobReverting(CancelJob *p);         /* cancel-requested -> reverting */
void jobSetCoordinator(CancelJob *p, u64 iSerial);
/* The partial file the job writes (NULL: none), published so that any
** process that sees the job's process die removes it. */
void jobSetPartFile(CancelJob *p, const char *zPath);
/* A built-in job's own connection, which a cancel interrupts at once
** (sqlite3_interrupt, under the jobs lock, so that a SQLite without a
** progress handler stops even one long statement): set by the job's
** thread once the connection is open, cleared (NULL) before the job
** closes it; jobReverting clears it too, so that no cancel interrupts
** the statements that revert. */
void jobSetConnection(CancelJob *p, sqlite3 *db);
/* The job's thread, at the start of each top-level statement on that
** connection (after SQLite cleared its interrupt flag): interrupts it if
** a cancel is pending, so that no cancel is lost (jobs.c). */
void jobStatementStart(CancelJob *p);
/* Sleep up to ms, or until the job's status changes (a cancel, a pause). */
void jobNap(CancelJob *p, int ms);

/* Control (doc/jobs.md). Each returns JOBCTL_* and fills *pzErr on error. */
#define JOBCTL_DONE     0   /* the request was made */
#define JOBCTL_NOOP     1   /* nothing to do (already so) */
#define JOBCTL_NOTFOUND 2
#define JOBCTL_BADSTATE 3   /* *pzErr names the status */
#define JOBCTL_TIMEOUT  4   /* another process did not answer (*pzErr) */
/* ... and of reports (jobReport) */
#define JOBCTL_NOTOWN   5   /* a built-in job: no one reports on it */
#define JOBCTL_ENDED    6   /* the job has ended */
#define JOBCTL_CANCELED 7   /* job_progress: a cancel was asked for */
#define JOBCTL_PAUSED   8   /* (between processes: paused, ask again) */
#define JOBCTL_STOPPED  9   /* xStop said stop while the job was paused */
#define JOBCTL_GONE     10  /* (jobslots.c: its process died; the rules are
                            ** applied to its final status here) */
/* pSh: the caller's registry file, for jobs of other processes. */
int jobCancel(SharedReg *pSh, i64 id, char **pzErr);
int jobPause(SharedReg *pSh, i64 id, char **pzErr);
int jobResume(SharedReg *pSh, i64 id, char **pzErr);
/* What jobs.c's rules say of request eOp (SHJOB_*) on a job in status
** eStatus: JOBCTL_DONE, JOBCTL_NOOP or JOBCTL_BADSTATE. */
int jobControlVerdict(int eOp, int eStatus);
/* Check request eOp on job id (here or in another process) without
** making it: JOBCTL_DONE, JOBCTL_NOOP, JOBCTL_NOTFOUND or JOBCTL_BADSTATE
** (*pzErr: the error the request itself would give). */
int jobControlCheck(SharedReg *pSh, i64 id, int eOp, char **pzErr);
const char *jobStatusName(int eStatus);
int jobGetStatus(CancelJob *p);
/* The status of job id, here or in another process; -1 not found. */
int jobStatusAnywhere(SharedReg *pSh, i64 id);

/* job_progress (eOp SHJOB_PROGRESS, zText the running_status) or job_end
** (SHJOB_END, zText the error) of an admin on an application job of
** another process: applied there as the call would be in that process.
** While the job is paused this blocks, as job_progress does there, until
** it is resumed or canceled, or xStop(pArg) says stop (JOBCTL_STOPPED).
** Returns JOBCTL_DONE (*peStatus: the status after it), JOBCTL_NOTFOUND,
** JOBCTL_NOTOWN, JOBCTL_ENDED, JOBCTL_CANCELED or JOBCTL_TIMEOUT. */
int jobReportRemote(SharedReg *pSh, i64 id, int eOp, double fraction,
                    const char *zText, int (*xStop)(void*), void *pArg,
                    int *peStatus);
int jobIsFinished(int eStatus);
/* The job servers of the registry file's agent (shagentSetServers, wired
** by cancel.c): a request from another process for the job that holds
** slot iSlot under owner word `owner`, and no other. Returns JOBCTL_*,
** the status the job had in *peStatus. */
int jobsServeRemote(SharedReg *p, int iSlot, u64 owner, int eOp, int *peStatus);
/* The same for a report (SHJOB_PROGRESS, SHJOB_END); zText may be NULL. */
int jobsServeReport(SharedReg *p, int iSlot, u64 owner, int eOp, double fraction,
                    const char *zText, int *peStatus);

/* Block until the job has finished or timeoutMs passed (<0: forever).
** Returns the status, or -1 if not found. */
int jobWait(SharedReg *pSh, i64 id, int timeoutMs);
/* The same, inside a statement: -2 when xStop(pArg) said stop. */
int jobWaitStop(SharedReg *pSh, i64 id, int timeoutMs,
                int (*xStop)(void*), void *pArg);

/* The process exits (atexit): what doc/jobs.md's "When the process
** exits" says. Registered when the first job is created. */
void jobsAtExit(void);

/* The coordinator session of application jobs closed: fail its
** unfinished jobs. */
void jobsSessionClosed(u64 iSerial);

/* Retention of finished jobs, in seconds: this process's, and every
** database's it has attached (jobsRetention() takes no lock). */
#define JOB_RETENTION_MAX (100*365*86400LL)
void jobsSetRetention(i64 seconds);
i64 jobsRetention(void);

/* Snapshot for the `jobs` table: rows the caller may see. */
typedef struct JobRow JobRow;
struct JobRow {
  i64 id;
  char *zType, *zDesc, *zUser, *zRunning, *zError;
  const char *zStatus;
  int eStatus;               /* JOB_* */
  double fraction;
  i64 createdMs, startedMs, finishedMs, modifiedMs;
  char zCoordinator[33];
  char zCreatedBy[33];       /* session_id that started it, '' unknown */
  i64 nodeId;
};
int jobsSnapshot(CancelSession *pCaller, JobRow **paRow, int *pnRow);
void jobsFreeSnapshot(JobRow *aRow, int nRow);

#endif /* CANCEL_JOBS_H */
