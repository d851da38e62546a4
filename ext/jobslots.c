/*
** jobslots.c: the jobs of this process in the registry file, and requests
** to other processes' jobs (jobslots.h): a slot claimed when a job is
** created, published at every change, released when the job is purged;
** the jobs of other processes for the jobs table; job control and reports
** sent to the owner's agent, which answers through the job servers
** registered there (shagentSetServers). Above the registry file (shared.h,
** its layout shfile.h), below jobs.c, which calls it; it calls nothing of
** jobs.c (the rules on a tombstone's status are applied there: JOBCTL_GONE).
*/
#include "jobslots.h"
#include "shfile.h"
SQLITE_EXTENSION_INIT3

#include <stdio.h>
#include <string.h>
#include <time.h>

/* the numbers the registry file stores are jobs.h's */
_Static_assert(SH_JOB_CANCELED==JOB_CANCELED && SH_JOB_FAILED==JOB_FAILED
               && SH_JOB_SUCCEEDED==JOB_SUCCEEDED, "job statuses in the file");
_Static_assert(SH_ANS_NOTFOUND==JOBCTL_NOTFOUND, "the agent's answer");
_Static_assert(SHARED_RETENTION_MAX==JOB_RETENTION_MAX, "retention bound");

#ifndef _WIN32
# include <unistd.h>
# ifdef __linux__
#  include <linux/futex.h>
#  include <sys/syscall.h>
# endif
#endif

void jobslotsClaim(SharedReg *p, CancelJob *pJob){
  u64 o;
  int i;
  if( !sharedUsable(p) ) return;
  i = shslotClaim(p, 1, &o);
  if( i<0 ){
    /* full: listed only in this process, and said so (cancel_registry(),
    ** the log) until it is purged (jobslotsRelease) */
    int nFull = atomic_fetch_add(&p->nJobFull, 1)+1;
    pJob->pShFull = p;
    sqlite3_log(SQLITE_WARNING, "cancel: registry %s is full (%d job slots): "
                "job %lld is visible only in its own process (%d job%s not "
                "shared)", p->zPath, p->nJob, (long long)pJob->id, nFull,
                nFull==1 ? "" : "s");
    return;
  }
  atomic_store(&shfileJob(p, i)->ctlReq, 0);
  atomic_store(&shfileJob(p, i)->ctlLock, 0);
  pJob->pSh = p;
  pJob->iShSlot = i;
  pJob->shOwner = o;
  jobslotsPublish(pJob);
}

void jobslotsPublish(CancelJob *pJob){
  ShJob *pJ;
  if( pJob->pSh==0 || !pJob->pSh->bOk ) return;
  pJ = shfileJob(pJob->pSh, pJob->iShSlot);
  shslotWriteBegin(&pJ->seq);
  atomic_store_explicit(&pJ->procStart, shslotStartTag(pJob->shOwner), memory_order_relaxed);
  pJ->coordTag = idsTag();
  pJ->coordSerial = pJob->iCoordinator;
  pJ->createdSerial = pJob->iCreatedBy;
  pJ->id = pJob->id;
  pJ->fraction = pJob->fraction;
  pJ->createdMs = pJob->createdMs;
  pJ->startedMs = pJob->startedMs;
  pJ->finishedMs = pJob->finishedMs;
  pJ->modifiedMs = pJob->modifiedMs;
  pJ->status = (uint8_t)pJob->eStatus;
  pJ->hasError = jobErrorText(pJob)!=0;
  pJ->builtin = pJob->bBuiltin!=0;
  pJ->osPid = (uint32_t)shslotMyPid();
  shslotCopy(pJ->zPart, sizeof(pJ->zPart),
         SH_JOB_FINISHED(pJob->eStatus) ? 0 : pJob->zPart);
  shslotCopy(pJ->zType, sizeof(pJ->zType), pJob->zType);
  shslotCopy(pJ->zUser, sizeof(pJ->zUser), pJob->zUser);
  shslotCopy(pJ->zRunning, sizeof(pJ->zRunning), pJob->zRunning);
  shslotCopy(pJ->zError, sizeof(pJ->zError), jobErrorText(pJob));
  shslotCopy(pJ->zDesc, sizeof(pJ->zDesc), pJob->zDesc);
  shslotWriteEnd(&pJ->seq);
}

void jobslotsRelease(CancelJob *pJob){
  if( pJob->pSh==0 ){
    if( pJob->pShFull ) atomic_fetch_sub(&pJob->pShFull->nJobFull, 1);
    pJob->pShFull = 0;
    return;
  }
  shslotRelease(pJob->pSh, pJob->pSh->nSession+pJob->iShSlot,
                &shfileJob(pJob->pSh, pJob->iShSlot)->owner, pJob->shOwner);
  pJob->pSh = 0;
}

/* Copy job slot i out, if it holds a job of another process (alive, or
** a tombstone) that is still listed; *pO is the owner word. */
static int jobslotsRead(SharedReg *p, int i, ShJob *pOut, u64 *pO){
  ShJob *pJ = shfileJob(p, i);
  int nTry = 0;
again:
  {
  u64 o = atomic_load_explicit(&pJ->owner, memory_order_acquire);
  if( SH_OSPID(o)==0 || SH_OSPID(o)==shslotMyPid() ) return 0;
  if( (uint32_t)o==SH_TOMBING ) return 0;
  }
  if( !shslotRead(pOut, pJ, sizeof(*pOut), &pJ->owner, &pJ->seq, pO) ) return 0;
  if( pOut->coordTag==idsTag() || pOut->id<=0 || pOut->id>SH_ID_MAX
   || pOut->status>JOB_SUCCEEDED
   || !(pOut->fraction>=0.0 && pOut->fraction<=1.0)
   || !shslotTerminated(pOut->zType, sizeof(pOut->zType))
   || !shslotTerminated(pOut->zUser, sizeof(pOut->zUser))
   || !shslotTerminated(pOut->zRunning, sizeof(pOut->zRunning))
   || !shslotTerminated(pOut->zError, sizeof(pOut->zError))
   || !shslotTerminated(pOut->zDesc, sizeof(pOut->zDesc))
  ){
    return 0;
  }
  if( shslotIsTomb(*pO) ){
    if( shslotTombExpire(p, i, *pO) ) return 0;
  }else if( !shslotOwnerAlive(*pO, pOut->procStart) ){
    shslotTombstone(p, i, *pO);
    if( nTry++==0 ) goto again;         /* now read as a tombstone */
    return 0;
  }
  /* finished and past the retention: listed nowhere, whoever owns it */
  if( SH_JOB_FINISHED(pOut->status) && shslotExpired(p, pOut->finishedMs) ) return 0;
  return 1;
}

int jobslotsSnapshot(SharedReg *p, const char *zUser, int isAdmin,
                       JobRow **paRow, int *pnRow){
  ShJob *pX;
  int i, rc = SQLITE_OK;
  if( !sharedUsable(p) || !shslotIntact(p) ) return SQLITE_OK;
  pX = sqlite3_malloc(sizeof(*pX));
  if( pX==0 ) return SQLITE_NOMEM;
  for(i=0; i<p->nJob && rc==SQLITE_OK; i++){
    u64 o;
    JobRow *r, *aNew;
    if( !jobslotsRead(p, i, pX, &o) ) continue;
    if( !isAdmin && strcmp(pX->zUser, zUser)!=0 ) continue;
    aNew = sqlite3_realloc64(*paRow, sizeof(JobRow)*(*pnRow+1));
    if( aNew==0 ){ rc = SQLITE_NOMEM; break; }
    *paRow = aNew;
    r = &aNew[(*pnRow)++];
    memset(r, 0, sizeof(*r));
    r->id = pX->id;
    r->zType = sqlite3_mprintf("%s", pX->zType);
    r->zDesc = sqlite3_mprintf("%s", pX->zDesc);
    r->zUser = sqlite3_mprintf("%s", pX->zUser);
    r->zRunning = sqlite3_mprintf("%s", pX->zRunning);
    r->zError = pX->hasError ? sqlite3_mprintf("%s", pX->zError) : 0;
    r->eStatus = pX->status;       /* (jobs.c names it) */
    r->fraction = pX->fraction;
    r->createdMs = pX->createdMs;
    r->startedMs = pX->startedMs;
    r->finishedMs = pX->finishedMs;
    r->modifiedMs = pX->modifiedMs;
    if( pX->coordSerial ) idsFormatIdTag(pX->coordTag, pX->coordSerial, r->zCoordinator);
    if( pX->createdSerial ) idsFormatIdTag(pX->coordTag, pX->createdSerial, r->zCreatedBy);
    r->nodeId = shslotIsTomb(o) ? (long)pX->osPid : SH_OSPID(o);
    if( !r->zType || !r->zDesc || !r->zUser || !r->zRunning
     || (pX->hasError && !r->zError) ){
      rc = SQLITE_NOMEM;
    }
  }
  sqlite3_free(pX);
  return rc;
}

static int jobslotsFind(SharedReg *p, i64 id, ShJob *pX, u64 *pO){
  int i;
  if( !sharedUsable(p) || !shslotIntact(p) ) return -1;
  for(i=0; i<p->nJob; i++){
    if( jobslotsRead(p, i, pX, pO) && pX->id==id ) return i;
  }
  return -1;
}

int jobslotsStatus(SharedReg *p, i64 id){
  ShJob *pX = sqlite3_malloc(sizeof(*pX));
  u64 o;
  int e = -1;
  if( pX==0 ) return -1;
  if( jobslotsFind(p, id, pX, &o)>=0 ) e = pX->status;
  sqlite3_free(pX);
  return e;
}

/* Take slot pJ's control cell for this process: 1, or 0 after
** SH_CTL_WAIT_MS (another requester keeps it). A holder that died
** leaves it to the next. */
#define SH_CTL_WAIT_MS 10000
static int jobslotsCtlLock(ShJob *pJ){
  uint32_t me = (uint32_t)shslotMyPid();
  i64 endUs = idsMonoUs() + (i64)SH_CTL_WAIT_MS*1000;
  for(;;){
    uint32_t h = 0;
    struct timespec ts = { 0, 1000000 };
    if( atomic_compare_exchange_strong(&pJ->ctlLock, &h, me) ) return 1;
    if( h!=me && !shslotAlive((long)h, 0)
     && atomic_compare_exchange_strong(&pJ->ctlLock, &h, me) ) return 1;
    if( idsMonoUs()>=endUs ) return 0;
    nanosleep(&ts, 0);
  }
}

static void jobslotsCtlUnlock(ShJob *pJ){
  uint32_t me = (uint32_t)shslotMyPid();
  atomic_compare_exchange_strong(&pJ->ctlLock, &me, 0);
}

/* The data of a report, for the mailbox. */
typedef struct JobslotsMsg JobslotsMsg;
struct JobslotsMsg {
  double fraction;
  const char *zText;           /* NULL: none */
};

/* Copy z into the mailbox, cut at a character boundary if too long. */
static void jobslotsCopyText(char *zDst, int nDst, const char *z){
  int n = (int)strlen(z);
  if( n>=nDst ){
    n = nDst-1;
    while( n>0 && (((unsigned char)z[n])&0xc0)==0x80 ) n--;
  }
  memcpy(zDst, z, n);
  zDst[n] = 0;
}

#define SH_REQ_TOMB (-10)
/*
** Send request eOp (with report pRep, or none) to the owner of job id and
** wait for its answer: returns that answer as the owner wrote it (the
** caller checks it), with the status in *peStatus; JOBCTL_NOTFOUND;
** JOBCTL_TIMEOUT when no answer came within SH_CTL_WAIT_MS (the owner is
** stopped, or hung); or SH_REQ_TOMB for a job whose process died (a
** tombstone: *pX holds it, *peStatus its final status).
*/
static int jobslotsRequest(SharedReg *p, i64 id, int eOp, const JobslotsMsg *pRep,
                        ShJob *pX, int *peStatus){
  ShJob *pJ;
  u64 o;
  int i, rc = JOBCTL_TIMEOUT, nLoop;
  uint32_t n;
  i64 endUs;
  for(nLoop=0; nLoop<3; nLoop++){
    i = jobslotsFind(p, id, pX, &o);
    if( i<0 ){ rc = JOBCTL_NOTFOUND; break; }
    *peStatus = pX->status;
    if( shslotIsTomb(o) ){ rc = SH_REQ_TOMB; break; }
    pJ = shfileJob(p, i);
    if( !jobslotsCtlLock(pJ) ){ rc = JOBCTL_TIMEOUT; break; }
    if( atomic_load(&pJ->owner)!=o ){ jobslotsCtlUnlock(pJ); continue; }
    n = atomic_load(&pJ->ctlSeq)+1;
    if( n==0 ) n = 1;
    atomic_store(&pJ->ctlSeq, n);
    if( pRep ){
      pJ->msgFraction = pRep->fraction;
      pJ->msgHasText = pRep->zText!=0;
      jobslotsCopyText(pJ->zMsg, sizeof(pJ->zMsg), pRep->zText ? pRep->zText : "");
      pJ->msgSeq = n;
    }
    /* (a sequentially consistent store: the mailbox is seen before it) */
    atomic_store(&pJ->ctlReq, ((SH_GEN(o) & 0xfffffff)<<4) | (uint32_t)eOp);
    shslotWake(p);
    endUs = idsMonoUs() + (i64)SH_CTL_WAIT_MS*1000;
    for(;;){
      uint32_t a = atomic_load_explicit(&pJ->ansSeq, memory_order_acquire);
      if( a==n ){
        rc = atomic_load(&pJ->ansRc);
        *peStatus = atomic_load(&pJ->ansStatus);
        break;
      }
      if( atomic_load(&pJ->owner)!=o ){ rc = -1; break; }  /* died or gone */
      if( !shslotOwnerAlive(o, pX->procStart) ){
        shslotTombstone(p, i, o);
        rc = -1;
        break;
      }
      if( idsMonoUs()>=endUs ){ rc = JOBCTL_TIMEOUT; break; }
#ifdef __linux__
      {
        struct timespec ts = { 0, 20000000 };   /* 20 ms: liveness check */
        syscall(SYS_futex, &pJ->ansSeq, FUTEX_WAIT, a, &ts, 0, 0);
      }
#else
      {
        struct timespec ts = { 0, 1000000 };
        nanosleep(&ts, 0);
      }
#endif
    }
    jobslotsCtlUnlock(pJ);
    if( rc!=-1 ) break;
    rc = JOBCTL_TIMEOUT;             /* (if the loop ends here) */
  }
  return rc;
}

/*
** Control a job of another process, synchronously: the request goes to
** the owner's agent, which applies it exactly as a call in its own
** process (jobs.c's rules on the status the job has there and then) and
** answers; this returns that answer, JOBCTL_*, with the status the job
** had in *peStatus. A job whose process died is a tombstone:
** JOBCTL_GONE, its final status in *peStatus, for the caller's rules. JOBCTL_TIMEOUT: no answer
** within SH_CTL_WAIT_MS (the owner is stopped, or hung).
*/
int jobslotsControl(SharedReg *p, i64 id, int eOp, int *peStatus){
  ShJob *pX = sqlite3_malloc(sizeof(*pX));
  int rc;
  if( pX==0 ) return JOBCTL_NOTFOUND;
  rc = jobslotsRequest(p, id, eOp, 0, pX, peStatus);
  if( rc==SH_REQ_TOMB ){
    rc = JOBCTL_GONE;                /* the caller applies its rules */
  }else if( rc!=JOBCTL_TIMEOUT
         && (rc<JOBCTL_DONE || rc>JOBCTL_BADSTATE
             || (rc==JOBCTL_BADSTATE && (*peStatus<0 || *peStatus>JOB_SUCCEEDED))) ){
    rc = JOBCTL_NOTFOUND;            /* not an answer of ours */
  }
  sqlite3_free(pX);
  return rc;
}

/*
** Report on an application job of another process (job_progress or
** job_end, SHJOB_PROGRESS or SHJOB_END), synchronously: the owner
** applies it as the call would in its process, without blocking (see
** jobsServeReport), and answers JOBCTL_* (with the job's status after it
** in *peStatus). A job whose process died has ended (or is built-in).
*/
int jobslotsReport(SharedReg *p, i64 id, int eOp, double fraction,
                    const char *zText, int *peStatus){
  ShJob *pX = sqlite3_malloc(sizeof(*pX));
  JobslotsMsg rep;
  int rc;
  if( pX==0 ) return JOBCTL_NOTFOUND;
  rep.fraction = fraction;
  rep.zText = zText;
  rc = jobslotsRequest(p, id, eOp, &rep, pX, peStatus);
  if( rc==SH_REQ_TOMB ){
    rc = pX->builtin ? JOBCTL_NOTOWN : JOBCTL_ENDED;
  }else if( rc!=JOBCTL_TIMEOUT && rc!=JOBCTL_NOTFOUND && rc!=JOBCTL_NOTOWN
         && rc!=JOBCTL_ENDED && rc!=JOBCTL_CANCELED && rc!=JOBCTL_PAUSED
         && !(rc==JOBCTL_DONE && *peStatus>=0 && *peStatus<=JOB_SUCCEEDED) ){
    rc = JOBCTL_NOTFOUND;            /* not an answer of ours */
  }
  sqlite3_free(pX);
  return rc;
}

