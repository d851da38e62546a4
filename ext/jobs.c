/*
** jobs.c: the process-wide list of jobs and their state machine
** (CockroachDB's rules; see jobs.h for the picture).
**
** One lock (jobMu) guards the list and every job's state; each job has a
** condition that is broadcast whenever its status changes, so a paused
** job's thread, a job_wait() and a job blocked on a lock all wake at once.
** Lock order: jobMu before the registry lock.
*/
#include "jobs.h"
#include "jobslots.h"
SQLITE_EXTENSION_INIT3

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
# include <unistd.h>
#endif
#include <time.h>
#include "port.h"

static pthread_mutex_t jobMu = PTHREAD_MUTEX_INITIALIZER;
static CancelJob *jobFirst = 0;
static _Atomic i64 jobRetentionSec = SHARED_RETENTION_DEFAULT;   /* a day */

static const char *azStatus[] = {
  "pending", "running", "paused", "pause-requested", "cancel-requested",
  "reverting", "canceled", "failed", "succeeded"
};

const char *jobStatusName(int eStatus){ return azStatus[eStatus]; }

int jobGetStatus(CancelJob *p){
  int e;
  pthread_mutex_lock(&jobMu);
  e = p->eStatus;
  pthread_mutex_unlock(&jobMu);
  return e;
}

int jobIsFinished(int eStatus){
  return eStatus==JOB_CANCELED || eStatus==JOB_FAILED || eStatus==JOB_SUCCEEDED;
}

static void jobFree(CancelJob *p){
  pthread_cond_destroy(&p->cond);
  sqlite3_free(p->zType);
  sqlite3_free(p->zDesc);
  sqlite3_free(p->zUser);
  sqlite3_free(p->zRunning);
  sqlite3_free(p->zError);
  sqlite3_free(p->zPart);
  sqlite3_free(p);
}

/* With jobMu held: drop finished jobs older than the retention (their
** database's, for a job listed across processes: the same for all). */
static void jobPurgeLocked(void){
  CancelJob **pp = &jobFirst;
  i64 now = idsNowMs();
  while( *pp ){
    CancelJob *p = *pp;
    i64 sec = p->pSh ? sharedRetentionSec(p->pSh) : jobsRetention();
    if( jobIsFinished(p->eStatus) && p->finishedMs<=now-sec*1000 ){
      *pp = p->pNext;
      jobslotsRelease(p);
      if( --p->nRef==0 ) jobFree(p);
    }else{
      pp = &p->pNext;
    }
  }
}

static CancelJob *jobFindLocked(i64 id);
static void jobSetLocked(CancelJob *p, int eStatus);

/*
** When the process exits (exit(), a return from main: not a kill), no
** job vanishes (doc/jobs.md, "When the process exits"):
**   - a built-in job that runs is waited for, so that a one-shot
**     `sqlite3 app.db ".load ./cancel" "SELECT job_backup('b.db')"`
**     leaves b.db; CANCEL_JOBS_AT_EXIT=cancel in the environment cancels
**     them instead (and waits for them to revert);
**   - one that is paused, or has waited for a lock for JOB_EXIT_LOCK_MS
**     (perhaps a lock of this very process, which will not be released),
**     is canceled, and waited for;
**   - an application's job that has not ended fails: "its process
**     exited".
** Every job thus ends with a final status, published for the other
** processes, which list it until the retention passes.
*/
#define JOB_EXIT_LOCK_MS 2000
static pthread_once_t jobExitOnce = PTHREAD_ONCE_INIT;
static void jobRegisterExit(void){ atexit(jobsAtExit); }

void jobsAtExit(void){
  const char *z = getenv("CANCEL_JOBS_AT_EXIT");
  int bCancel = z && sqlite3_stricmp(z, "cancel")==0;
  pthread_mutex_lock(&jobMu);
  for(;;){
    CancelJob *p;
    struct timespec dl;
    for(p=jobFirst; p && jobIsFinished(p->eStatus); p=p->pNext){}
    if( p==0 ) break;
    if( !p->bBuiltin ){
      int bCanceled = p->bCancelRequested;
      sqlite3_free(p->zError);
      p->zError = sqlite3_mprintf(bCanceled ? "canceled by cancel_job" : "its process exited");
      jobSetLocked(p, bCanceled ? JOB_CANCELED : JOB_FAILED);
      continue;
    }
    if( !p->bCancelRequested
     && (bCancel || p->eStatus==JOB_PAUSED || p->eStatus==JOB_PAUSE_REQUESTED
         || (p->lockWaitSinceMs && idsNowMs()-p->lockWaitSinceMs>=JOB_EXIT_LOCK_MS)) ){
      p->bCancelRequested = 1;
      p->bCanceledAtExit = 1;
      jobSetLocked(p, JOB_CANCEL_REQUESTED);
    }
    p->nRef++;
    dl = portRealtimeAfter(100*1000);   /* look at lock waits again */
    pthread_cond_timedwait(&p->cond, &jobMu, &dl);
    if( --p->nRef==0 ) jobFree(p);      /* (purged meanwhile) */
  }
  pthread_mutex_unlock(&jobMu);
}

/* Is job id taken here, finished jobs included? (jobMu held; for
** sharedNextId once its counter has wrapped.) */
static int jobIdUsed(i64 id){
  return jobFindLocked(id)!=0;
}

CancelJob *jobCreate(CancelSession *pCoord, const char *zType,
                     const char *zDesc, int bBuiltin){
  CancelJob *p = sqlite3_malloc(sizeof(*p));
  CancelJob **pp;
  char *zUser = 0;
  int isAdmin;
  if( p==0 ) return 0;
  memset(p, 0, sizeof(*p));
  registryCaller(pCoord, &zUser, &isAdmin);
  p->zType = sqlite3_mprintf("%s", zType);
  p->zDesc = sqlite3_mprintf("%s", zDesc);
  p->zUser = zUser;
  p->zRunning = sqlite3_mprintf("");
  if( !p->zType || !p->zDesc || !p->zUser || !p->zRunning ){
    sqlite3_free(p->zType);
    sqlite3_free(p->zDesc);
    sqlite3_free(p->zUser);
    sqlite3_free(p->zRunning);
    sqlite3_free(p);
    return 0;
  }
  pthread_cond_init(&p->cond, 0);
  pthread_once(&jobExitOnce, jobRegisterExit);
  p->bBuiltin = bBuiltin;
  p->iCreatedBy = pCoord->iSerial;
  p->createdMs = p->modifiedMs = idsNowMs();
  p->eStatus = bBuiltin ? JOB_PENDING : JOB_RUNNING;
  if( !bBuiltin ){
    p->startedMs = p->createdMs;
    p->iCoordinator = pCoord->iSerial;
  }
  p->nRef = 2;                 /* the list's and the caller's */
  pthread_mutex_lock(&jobMu);
  jobPurgeLocked();
  p->id = sharedNextId(1, jobIdUsed);
  for(pp=&jobFirst; *pp; pp=&(*pp)->pNext){}
  *pp = p;
  jobslotsClaim(pCoord->pShReg, p);   /* seen by other processes */
  pthread_mutex_unlock(&jobMu);
  return p;
}

void jobRelease(CancelJob *p){
  int bFree;
  pthread_mutex_lock(&jobMu);
  bFree = --p->nRef==0;
  pthread_mutex_unlock(&jobMu);
  if( bFree ) jobFree(p);
}

static CancelJob *jobFindLocked(i64 id){
  CancelJob *p;
  for(p=jobFirst; p && p->id!=id; p=p->pNext){}
  return p;
}

CancelJob *jobFind(i64 id){
  CancelJob *p;
  pthread_mutex_lock(&jobMu);
  p = jobFindLocked(id);
  if( p ) p->nRef++;
  pthread_mutex_unlock(&jobMu);
  return p;
}

int jobExists(SharedReg *pSh, i64 id){
  CancelJob *p = jobFind(id);
  if( p ){
    jobRelease(p);
    return 1;
  }
  /* not a job of this process: one of another? (doc/ids.md) */
  return sharedUsable(pSh) && jobslotsStatus(pSh, id)>=0;
}

/* With jobMu held: move p to eStatus and wake everyone waiting on it. A
** cancel also interrupts what a built-in job runs on its connection (see
** jobStatementStart). */
static void jobSetLocked(CancelJob *p, int eStatus){
  p->eStatus = eStatus;
  p->modifiedMs = idsNowMs();
  if( jobIsFinished(eStatus) ) p->finishedMs = p->modifiedMs;
  if( eStatus==JOB_CANCEL_REQUESTED && p->pDb ) sqlite3_interrupt(p->pDb);
  jobslotsPublish(p);
  pthread_cond_broadcast(&p->cond);
}

void jobStart(CancelJob *p){
  pthread_mutex_lock(&jobMu);
  p->startedMs = idsNowMs();
  if( p->eStatus==JOB_PENDING ) jobSetLocked(p, JOB_RUNNING);
  pthread_mutex_unlock(&jobMu);
}

/*
** How often a wait inside a statement (job_progress on a paused job,
** job_wait) looks at xStop: a change of the job's status wakes it at
** once (p->cond), but a cancel, a termination or a statement timeout of
** the waiting statement is signalled on the session's own condition,
** and one thread cannot wait on two conditions. A look every
** JOB_STOP_POLL_MS while blocked costs nothing next to the wait.
*/
#define JOB_STOP_POLL_MS 10

/* With jobMu held: wait on p->cond, for at most JOB_STOP_POLL_MS when
** xStop is given (and no later than *pDl when pDl is given). Returns
** nonzero if *pDl passed. */
static int jobCondWait(CancelJob *p, int (*xStop)(void*), const struct timespec *pDl){
  struct timespec dl;
  if( xStop==0 ){
    if( pDl==0 ){
      pthread_cond_wait(&p->cond, &jobMu);
      return 0;
    }
    return pthread_cond_timedwait(&p->cond, &jobMu, pDl)==ETIMEDOUT;
  }
  dl = portRealtimeAfter((int64_t)JOB_STOP_POLL_MS*1000);
  if( pDl && (pDl->tv_sec<dl.tv_sec
           || (pDl->tv_sec==dl.tv_sec && pDl->tv_nsec<dl.tv_nsec)) ){
    return pthread_cond_timedwait(&p->cond, &jobMu, pDl)==ETIMEDOUT;
  }
  pthread_cond_timedwait(&p->cond, &jobMu, &dl);
  return 0;
}

/* With jobMu held: ask xStop (without jobMu: it takes the session's
** locks and may write the cancel log). */
static int jobAskStop(int (*xStop)(void*), void *pArg){
  int b;
  if( xStop==0 ) return 0;
  pthread_mutex_unlock(&jobMu);
  b = xStop(pArg);
  pthread_mutex_lock(&jobMu);
  return b;
}

int jobCheckpoint(CancelJob *p){
  return jobCheckpointStop(p, 0, 0);
}

int jobCheckpointStop(CancelJob *p, int (*xStop)(void*), void *pArg){
  int rc;
  pthread_mutex_lock(&jobMu);
  for(;;){
    if( p->eStatus==JOB_CANCEL_REQUESTED ){ rc = JOB_CANCEL; break; }
    if( p->eStatus==JOB_PAUSE_REQUESTED ){
      jobSetLocked(p, JOB_PAUSED);
      continue;
    }
    if( p->eStatus==JOB_PAUSED ){
      if( jobAskStop(xStop, pArg) ){ rc = JOB_STOPPED; break; }
      if( p->eStatus!=JOB_PAUSED ) continue;
      jobCondWait(p, xStop, 0);
      continue;
    }
    rc = JOB_GO;
    break;
  }
  p->lockWaitSinceMs = 0;             /* past any lock wait */
  pthread_mutex_unlock(&jobMu);
  return rc;
}

int jobWantsCancel(CancelJob *p){
  int b;
  pthread_mutex_lock(&jobMu);
  b = p->eStatus==JOB_CANCEL_REQUESTED;
  pthread_mutex_unlock(&jobMu);
  return b;
}

int jobWantsPause(CancelJob *p){
  int b;
  pthread_mutex_lock(&jobMu);
  b = p->eStatus==JOB_PAUSE_REQUESTED || p->eStatus==JOB_PAUSED;
  pthread_mutex_unlock(&jobMu);
  return b;
}

/* With jobMu held; z (allocated, or NULL: unchanged) is taken over. */
static void jobProgressLocked(CancelJob *p, double fraction, char *z){
  if( fraction>1.0 ) fraction = 1.0;
  if( fraction>p->fraction ) p->fraction = fraction;   /* never goes back */
  if( z ){
    sqlite3_free(p->zRunning);
    p->zRunning = z;
  }
  p->modifiedMs = idsNowMs();
  p->lockWaitSinceMs = 0;
  jobslotsPublish(p);
}

void jobProgress(CancelJob *p, double fraction, const char *zRunning){
  char *z = zRunning ? sqlite3_mprintf("%s", zRunning) : 0;
  pthread_mutex_lock(&jobMu);
  jobProgressLocked(p, fraction, z);
  pthread_mutex_unlock(&jobMu);
}

void jobReverting(CancelJob *p){
  pthread_mutex_lock(&jobMu);
  p->pDb = 0;                    /* what reverts is not interrupted */
  if( p->eStatus==JOB_CANCEL_REQUESTED ) jobSetLocked(p, JOB_REVERTING);
  pthread_mutex_unlock(&jobMu);
}

/*
** A cancel of a built-in job interrupts its connection (jobSetLocked,
** under jobMu), so that it takes effect at once even inside one long
** statement in a SQLite without a progress handler, where nothing else
** of the job runs until the statement ends. The connection is set and
** cleared under jobMu by the job's own thread, cleared before it is
** closed: sqlite3_interrupt never meets a closed connection, and never
** one but the job's own.
**
** SQLite clears the interrupt flag when a statement starts while no
** other statement of the connection runs (sqlite3_prepare and
** sqlite3_step), so an interrupt sent between the job's last look at its
** status and that clear would be lost. It is not: at each top-level
** start the job's trace callback calls jobStatementStart, which runs
** after the clear (OP_Init) and reads the status under jobMu. Either the
** canceller's critical section (status set, then interrupt) came first,
** and this read sees the cancel and interrupts the statement; or it comes
** after this read, so its interrupt follows the clear (the clear, this
** lock, its lock, in that order) and the flag stays set for the
** statement's next check. Interrupting with nothing running is harmless:
** the flag is cleared at the next start, which looks again.
**
** The one start this does not see: a statement whose first run failed
** with SQLITE_SCHEMA is prepared again and re-run by sqlite3_step with no
** trace call, after a second clear; a cancel that comes in those
** microseconds is lost for that statement, which then runs to its end.
** (With a progress handler the job's own checks stop it anyway.)
*/
void jobSetConnection(CancelJob *p, sqlite3 *db){
  pthread_mutex_lock(&jobMu);
  p->pDb = db;
  if( db ) p->dbThread = pthread_self();
  pthread_mutex_unlock(&jobMu);
}

void jobStatementStart(CancelJob *p){
  pthread_mutex_lock(&jobMu);
  /* (only the job's own statements: a termination's ROLLBACK on this
  ** connection, run by another thread, is traced too) */
  if( p->eStatus==JOB_CANCEL_REQUESTED && p->pDb
   && pthread_equal(p->dbThread, pthread_self()) ){
    sqlite3_interrupt(p->pDb);
  }
  pthread_mutex_unlock(&jobMu);
}

void jobSetCoordinator(CancelJob *p, u64 iSerial){
  pthread_mutex_lock(&jobMu);
  p->iCoordinator = iSerial;
  jobslotsPublish(p);
  pthread_mutex_unlock(&jobMu);
}

void jobSetPartFile(CancelJob *p, const char *zPath){
  char *z = 0;
  if( zPath ){
#ifndef _WIN32
    if( zPath[0]!='/' ){
      char *zCwd = getcwd(0, 0);    /* others remove it from their own cwd */
      z = zCwd ? sqlite3_mprintf("%s/%s", zCwd, zPath) : 0;
      free(zCwd);
    }else
#endif
    z = sqlite3_mprintf("%s", zPath);
    if( z==0 ) return;               /* out of memory: not published */
  }
  pthread_mutex_lock(&jobMu);
  sqlite3_free(p->zPart);
  p->zPart = z;
  jobslotsPublish(p);
  pthread_mutex_unlock(&jobMu);
}

void jobNap(CancelJob *p, int ms){
  struct timespec dl;
  int eStatus;
  dl = portRealtimeAfter((int64_t)ms*1000);
  pthread_mutex_lock(&jobMu);
  eStatus = p->eStatus;
  if( p->lockWaitSinceMs==0 ) p->lockWaitSinceMs = idsNowMs();
  while( p->eStatus==eStatus ){
    if( pthread_cond_timedwait(&p->cond, &jobMu, &dl)==ETIMEDOUT ) break;
  }
  pthread_mutex_unlock(&jobMu);
}

static void jobFinishLocked(CancelJob *p, const char *zError){
  if( !jobIsFinished(p->eStatus) ){
    int bCanceled = p->bCancelRequested;   /* (paused while reverting, too) */
    sqlite3_free(p->zError);
    p->zError = 0;
    if( bCanceled ){
      p->zError = sqlite3_mprintf("canceled by %s%s%s",
                                  p->bCanceledAtExit ? "its process's exit" : "cancel_job",
                                  zError ? ": " : "", zError ? zError : "");
      jobSetLocked(p, JOB_CANCELED);
    }else if( zError ){
      p->zError = sqlite3_mprintf("%s", zError);
      jobSetLocked(p, JOB_FAILED);
    }else{
      p->fraction = 1.0;
      jobSetLocked(p, JOB_SUCCEEDED);
    }
  }
}

void jobFinish(CancelJob *p, const char *zError){
  pthread_mutex_lock(&jobMu);
  jobFinishLocked(p, zError);
  pthread_mutex_unlock(&jobMu);
}

/* The error text of a job (jobMu held). Its message is allocated when the
** job ends; out of memory it is NULL, and a failed job would show no
** error at all (found by test/oom.c): say what happened instead. */
void jobFinishAs(CancelJob *p, int eOutcome, const char *zError){
  if( eOutcome==JOB_GO ){
    pthread_mutex_lock(&jobMu);
    if( !jobIsFinished(p->eStatus) ){
      p->fraction = 1.0;
      jobSetLocked(p, JOB_SUCCEEDED);
    }
    pthread_mutex_unlock(&jobMu);
  }else if( eOutcome==JOB_CANCEL ){
    jobFinish(p, 0);        /* bCancelRequested is set: canceled */
  }else{
    jobFinish(p, zError ? zError : "failed");
  }
}

/* -------------------------------------------------------------- control */

/*
** CockroachDB's rules, one table per request: for each status, the
** status it moves to, or J_NOOP (already so: nothing to do), or J_BAD (an
** error naming the status). J_RESUME goes back to running, or to
** reverting for a job that was paused while reverting.
*/
#define J_NOOP   (-1)
#define J_BAD    (-2)
#define J_RESUME (-3)
static const signed char aCancelRule[] = {
  /* pending */ JOB_CANCEL_REQUESTED, /* running */ JOB_CANCEL_REQUESTED,
  /* paused  */ JOB_CANCEL_REQUESTED, /* pause-requested */ J_BAD,
  /* cancel-requested */ J_NOOP,      /* reverting */ J_BAD,
  /* canceled */ J_NOOP, /* failed */ J_BAD, /* succeeded */ J_BAD
};
static const signed char aPauseRule[] = {
  /* pending */ JOB_PAUSE_REQUESTED,  /* running */ JOB_PAUSE_REQUESTED,
  /* paused  */ J_NOOP,               /* pause-requested */ J_NOOP,
  /* cancel-requested */ J_BAD,       /* reverting */ JOB_PAUSE_REQUESTED,
  /* canceled */ J_BAD, /* failed */ J_BAD, /* succeeded */ J_BAD
};
static const signed char aResumeRule[] = {
  /* pending */ J_BAD,                /* running */ J_NOOP,
  /* paused  */ J_RESUME,             /* pause-requested */ J_BAD,
  /* cancel-requested */ J_BAD,       /* reverting */ J_NOOP,
  /* canceled */ J_BAD, /* failed */ J_BAD, /* succeeded */ J_BAD
};

/* Indexed by SHJOB_* */
static const signed char *const aaRule[] = { 0, aCancelRule, aPauseRule, aResumeRule };
static const char *const azRuleWhat[] = {
  0, "requested to be canceled", "requested to be paused", "resumed"
};

int jobControlVerdict(int eOp, int eStatus){
  int eNew = aaRule[eOp][eStatus];
  return eNew==J_NOOP ? JOBCTL_NOOP : eNew==J_BAD ? JOBCTL_BADSTATE : JOBCTL_DONE;
}

static char *jobBadState(i64 id, int eStatus, int eOp){
  return sqlite3_mprintf("job %lld with status %s cannot be %s",
                         (long long)id, azStatus[eStatus], azRuleWhat[eOp]);
}

/* Apply request eOp to job p of this process (jobMu held): JOBCTL_*,
** with the status it had in *peStatus. */
static int jobApplyLocked(CancelJob *p, int eOp, int *peStatus){
  int eNew = aaRule[eOp][p->eStatus];
  *peStatus = p->eStatus;
  if( eNew==J_NOOP ) return JOBCTL_NOOP;
  if( eNew==J_BAD ) return JOBCTL_BADSTATE;
  if( eNew==J_RESUME ) eNew = p->bWasReverting ? JOB_REVERTING : JOB_RUNNING;
  if( eNew==JOB_PAUSE_REQUESTED ) p->bWasReverting = p->eStatus==JOB_REVERTING;
  if( eNew==JOB_CANCEL_REQUESTED ) p->bCancelRequested = 1;
  jobSetLocked(p, eNew);     /* wakes a paused job or one waiting on a lock */
  return JOBCTL_DONE;
}

static int jobControl(SharedReg *pSh, i64 id, int eOp, char **pzErr){
  CancelJob *p;
  int rc, eStatus = 0;
  pthread_mutex_lock(&jobMu);
  jobPurgeLocked();
  p = jobFindLocked(id);
  if( p==0 ){
    /* not a job of this process: one of another, whose owner applies the
    ** same rules and answers (doc/ids.md) */
    pthread_mutex_unlock(&jobMu);
    rc = sharedUsable(pSh) ? jobslotsControl(pSh, id, eOp, &eStatus) : JOBCTL_NOTFOUND;
    if( rc==JOBCTL_GONE ) rc = jobControlVerdict(eOp, eStatus);  /* its process died */
  }else{
    rc = jobApplyLocked(p, eOp, &eStatus);
    pthread_mutex_unlock(&jobMu);
  }
  if( rc==JOBCTL_BADSTATE ) *pzErr = jobBadState(id, eStatus, eOp);
  if( rc==JOBCTL_TIMEOUT ){
    *pzErr = sqlite3_mprintf("job %lld: its process did not answer within 10 s "
                             "(stopped?)", (long long)id);
  }
  return rc;
}

int jobControlCheck(SharedReg *pSh, i64 id, int eOp, char **pzErr){
  int e = jobStatusAnywhere(pSh, id), rc;
  if( e<0 ) return JOBCTL_NOTFOUND;
  rc = jobControlVerdict(eOp, e);
  if( rc==JOBCTL_BADSTATE ) *pzErr = jobBadState(id, e, eOp);
  return rc;
}

int jobCancel(SharedReg *pSh, i64 id, char **pzErr){
  return jobControl(pSh, id, SHJOB_CANCEL, pzErr);
}

int jobPause(SharedReg *pSh, i64 id, char **pzErr){
  return jobControl(pSh, id, SHJOB_PAUSE, pzErr);
}

int jobResume(SharedReg *pSh, i64 id, char **pzErr){
  return jobControl(pSh, id, SHJOB_RESUME, pzErr);
}

/* A control request from another process for the job in slot iSlot:
** applied as a call in this process would be; the answer goes back. */
int jobsServeRemote(SharedReg *pSh, int iSlot, u64 owner, int eOp, int *peStatus){
  CancelJob *p;
  int rc = JOBCTL_NOTFOUND;
  if( eOp<SHJOB_CANCEL || eOp>SHJOB_RESUME ) return rc;
  pthread_mutex_lock(&jobMu);
  for(p=jobFirst; p; p=p->pNext){
    /* the owner word too: the slot may belong to a newer job by now (the
    ** same race as terminateServeRemote's) */
    if( p->pSh==pSh && p->iShSlot==iSlot && p->shOwner==owner ){
      rc = jobApplyLocked(p, eOp, peStatus);
      break;
    }
  }
  pthread_mutex_unlock(&jobMu);
  return rc;
}

/*
** A report from an admin of another process on job p (jobMu held): what
** job_progress and job_end do in this process, except that the agent
** thread serving it never blocks: where job_progress would wait for a
** paused job, the answer is JOBCTL_PAUSED and the requester waits (and
** asks again once the job is no longer paused).
*/
static int jobReportLocked(CancelJob *p, int eOp, double f, const char *zText){
  if( p->bBuiltin ) return JOBCTL_NOTOWN;
  if( jobIsFinished(p->eStatus) ) return JOBCTL_ENDED;
  if( eOp==SHJOB_END ){
    jobFinishLocked(p, zText);
    return JOBCTL_DONE;
  }
  switch( p->eStatus ){
    case JOB_CANCEL_REQUESTED:
      jobSetLocked(p, JOB_REVERTING);
      return JOBCTL_CANCELED;
    case JOB_REVERTING:
      return JOBCTL_CANCELED;
    case JOB_PAUSE_REQUESTED:
      jobSetLocked(p, JOB_PAUSED);     /* as its checkpoint would */
      return JOBCTL_PAUSED;
    case JOB_PAUSED:
      return JOBCTL_PAUSED;
  }
  if( zText ){
    char *z = sqlite3_mprintf("%s", zText);
    if( z==0 ) return JOBCTL_NOTFOUND;   /* out of memory: not applied */
    jobProgressLocked(p, f, z);
  }else{
    jobProgressLocked(p, f, 0);
  }
  return JOBCTL_DONE;
}

int jobsServeReport(SharedReg *pSh, int iSlot, u64 owner, int eOp, double f,
                    const char *zText, int *peStatus){
  CancelJob *p;
  int rc = JOBCTL_NOTFOUND;
  if( eOp!=SHJOB_PROGRESS && eOp!=SHJOB_END ) return rc;
  pthread_mutex_lock(&jobMu);
  for(p=jobFirst; p; p=p->pNext){
    if( p->pSh==pSh && p->iShSlot==iSlot && p->shOwner==owner ){
      rc = jobReportLocked(p, eOp, f, zText);
      *peStatus = p->eStatus;
      break;
    }
  }
  pthread_mutex_unlock(&jobMu);
  return rc;
}

int jobReportRemote(SharedReg *pSh, i64 id, int eOp, double f,
                    const char *zText, int (*xStop)(void*), void *pArg,
                    int *peStatus){
  for(;;){
    int rc = sharedUsable(pSh) ? jobslotsReport(pSh, id, eOp, f, zText, peStatus)
                               : JOBCTL_NOTFOUND;
    if( rc!=JOBCTL_PAUSED ) return rc;
    /* paused: wait until it is resumed or canceled, polling its status
    ** as job_wait does for a job of another process */
    for(;;){
      struct timespec ts = { 0, 2000000 };    /* 2 ms */
      if( jobslotsStatus(pSh, id)!=JOB_PAUSED ) break;
      if( xStop && xStop(pArg) ) return JOBCTL_STOPPED;
      nanosleep(&ts, 0);
    }
  }
}

int jobStatusAnywhere(SharedReg *pSh, i64 id){
  CancelJob *p;
  int e = -1;
  pthread_mutex_lock(&jobMu);
  jobPurgeLocked();
  p = jobFindLocked(id);
  if( p ) e = p->eStatus;
  pthread_mutex_unlock(&jobMu);
  if( p==0 && sharedUsable(pSh) ) e = jobslotsStatus(pSh, id);
  return e;
}

/* job_wait() on a job of another process: its status is polled. */
static int jobWaitRemote(SharedReg *pSh, i64 id, int timeoutMs,
                         int (*xStop)(void*), void *pArg){
  i64 endUs = idsMonoUs() + (i64)timeoutMs*1000;
  for(;;){
    int e = jobslotsStatus(pSh, id);
    struct timespec ts = { 0, 2000000 };    /* 2 ms */
    if( e<0 || jobIsFinished(e) ) return e;
    if( timeoutMs>=0 && idsMonoUs()>=endUs ) return e;
    if( xStop && xStop(pArg) ) return -2;
    nanosleep(&ts, 0);
  }
}

int jobWait(SharedReg *pSh, i64 id, int timeoutMs){
  return jobWaitStop(pSh, id, timeoutMs, 0, 0);
}

int jobWaitStop(SharedReg *pSh, i64 id, int timeoutMs,
                int (*xStop)(void*), void *pArg){
  CancelJob *p;
  int eStatus;
  struct timespec dl;
  dl = portRealtimeAfter(timeoutMs>=0 ? (int64_t)timeoutMs*1000 : 0);
  pthread_mutex_lock(&jobMu);
  jobPurgeLocked();
  p = jobFindLocked(id);
  if( p==0 ){
    /* not a job of this process: one of another? (doc/ids.md) */
    pthread_mutex_unlock(&jobMu);
    return sharedUsable(pSh) ? jobWaitRemote(pSh, id, timeoutMs, xStop, pArg) : -1;
  }
  p->nRef++;
  eStatus = -3;
  while( !jobIsFinished(p->eStatus) ){
    if( jobAskStop(xStop, pArg) ){ eStatus = -2; break; }
    if( jobIsFinished(p->eStatus) ) break;
    if( jobCondWait(p, xStop, timeoutMs<0 ? 0 : &dl) ) break;
  }
  if( eStatus!=-2 ) eStatus = p->eStatus;
  pthread_mutex_unlock(&jobMu);
  jobRelease(p);
  return eStatus;
}

void jobsSessionClosed(u64 iSerial){
  CancelJob *p;
  pthread_mutex_lock(&jobMu);
  for(p=jobFirst; p; p=p->pNext){
    if( !p->bBuiltin && p->iCoordinator==iSerial && !jobIsFinished(p->eStatus) ){
      int bCanceled = p->bCancelRequested;
      sqlite3_free(p->zError);
      p->zError = sqlite3_mprintf(bCanceled ? "canceled by cancel_job"
          : "the session that ran it closed without job_end()");
      jobSetLocked(p, bCanceled ? JOB_CANCELED : JOB_FAILED);
    }
  }
  pthread_mutex_unlock(&jobMu);
}

void jobsSetRetention(i64 seconds){
  pthread_mutex_lock(&jobMu);
  atomic_store(&jobRetentionSec, seconds);
  sharedSetRetention(seconds);      /* every process on those databases */
  jobPurgeLocked();
  pthread_mutex_unlock(&jobMu);
}

i64 jobsRetention(void){
  return atomic_load(&jobRetentionSec);
}

/* ------------------------------------------------------------ snapshot */

int jobsSnapshot(CancelSession *pCaller, JobRow **paRow, int *pnRow){
  CancelJob *p;
  JobRow *aRow;
  char *zUser = 0;
  int isAdmin, n = 0, nAlloc = 0, rc = SQLITE_OK;
  registryCaller(pCaller, &zUser, &isAdmin);
  if( zUser==0 ) return SQLITE_NOMEM;
  pthread_mutex_lock(&jobMu);
  jobPurgeLocked();
  for(p=jobFirst; p; p=p->pNext) nAlloc++;
  aRow = sqlite3_malloc64(sizeof(JobRow)*(nAlloc ? nAlloc : 1));
  if( aRow ){
    memset(aRow, 0, sizeof(JobRow)*(nAlloc ? nAlloc : 1));
    for(p=jobFirst; p; p=p->pNext){
      JobRow *r;
      if( !isAdmin && strcmp(p->zUser, zUser)!=0 ) continue;  /* own jobs only */
      if( pCaller->pWatch && p->pSh!=pCaller->pWatch ) continue;  /* watching */
      r = &aRow[n++];
      r->id = p->id;
      r->zType = sqlite3_mprintf("%s", p->zType);
      r->zDesc = sqlite3_mprintf("%s", p->zDesc);
      r->zUser = sqlite3_mprintf("%s", p->zUser);
      r->zRunning = sqlite3_mprintf("%s", p->zRunning);
      r->zError = jobErrorText(p) ? sqlite3_mprintf("%s", jobErrorText(p)) : 0;
      r->zStatus = azStatus[p->eStatus];
      r->fraction = p->fraction;
      r->createdMs = p->createdMs;
      r->startedMs = p->startedMs;
      r->finishedMs = p->finishedMs;
      r->modifiedMs = p->modifiedMs;
      if( p->iCoordinator ) idsFormatId(p->iCoordinator, r->zCoordinator);
      if( p->iCreatedBy ) idsFormatId(p->iCreatedBy, r->zCreatedBy);
      r->nodeId = (i64)portPid();
      if( !r->zType || !r->zDesc || !r->zUser || !r->zRunning
       || (jobErrorText(p) && !r->zError) ){
        rc = SQLITE_NOMEM;
      }
    }
  }else{
    rc = SQLITE_NOMEM;
  }
  pthread_mutex_unlock(&jobMu);
  if( rc==SQLITE_OK && registryScope(pCaller) ){
    int i = n;
    rc = jobslotsSnapshot(registryScope(pCaller), zUser, isAdmin, &aRow, &n);
    for(; i<n; i++) aRow[i].zStatus = azStatus[aRow[i].eStatus];
  }
  sqlite3_free(zUser);
  if( rc!=SQLITE_OK ){
    jobsFreeSnapshot(aRow, n);
    return rc;
  }
  *paRow = aRow;
  *pnRow = n;
  return SQLITE_OK;
}

void jobsFreeSnapshot(JobRow *aRow, int nRow){
  int i;
  for(i=0; i<nRow; i++){
    sqlite3_free(aRow[i].zType);
    sqlite3_free(aRow[i].zDesc);
    sqlite3_free(aRow[i].zUser);
    sqlite3_free(aRow[i].zRunning);
    sqlite3_free(aRow[i].zError);
  }
  sqlite3_free(aRow);
}
