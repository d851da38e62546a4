/*
** shagent.c: requests between processes in the registry file (layout:
** shfile.h). A requester writes who asks and then the request word into
** the target's slot and wakes the file's agents; the agent thread of the
** process that owns the slot (one per registry file, woken with a futex)
** takes the word, checks its generation, and hands it to the server the
** layers above registered (shagentSetServers); about once a second it also
** frees the slots of dead processes and calls the tick (shagentSetTick).
** It knows no session and no job: only slots, cells and servers.
*/
#include "shfile.h"
SQLITE_EXTENSION_INIT3

#include "port.h"
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The servers (shagentSetServers), set once before any registry is
** attached; the agent threads start after, so they see them. */
static SharedServers shagentServers;
static atomic_int shagentServersSet = 0;

void shagentSetServers(const SharedServers *pServers){
  shagentServers = *pServers;
  atomic_store(&shagentServersSet, 1);
}

/* The servers: all NULL while none are set (a request is then dropped). */
const SharedServers *shagentGet(void){
  static const SharedServers none;
  return atomic_load(&shagentServersSet) ? &shagentServers : &none;
}

#include <sched.h>
#include <pthread.h>
#ifndef _WIN32
# include <unistd.h>
# ifdef __linux__
#  include <linux/futex.h>
#  include <sys/syscall.h>
# endif
#endif


/* Free the slots of dead processes, so they disappear for everyone even
** when nobody reads the tables. */
void shagentReap(SharedReg *p){
  int i, nSes = p->nSession;
  for(i=0; i<nSes+p->nJob; i++){
    _Atomic u64 *pW;
    u64 o, procStart;
    if( i<nSes ){
      pW = &shfileSession(p, i)->owner;
      procStart = atomic_load_explicit(&shfileSession(p, i)->procStart, memory_order_relaxed);
    }else{
      pW = &shfileJob(p, i-nSes)->owner;
      procStart = atomic_load_explicit(&shfileJob(p, i-nSes)->procStart, memory_order_relaxed);
    }
    o = atomic_load(pW);
    if( SH_OSPID(o)==0 ) continue;
    if( i<nSes && shslotLiveNext(p, i)!=i ){
      shslotLiveFreed(p, i);   /* taken, not indexed: its claimer died
                               ** before indexing it (this sets the bit) */
    }
    if( SH_OSPID(o)==shslotMyPid() ) continue;
    if( i>=nSes && shslotIsTomb(o) ){
      shslotTombExpire(p, i-nSes, o);
    }else if( !shslotOwnerAlive(o, procStart) ){
      if( i>=nSes ){
        shslotTombstone(p, i-nSes, o);   /* listed as failed */
      }else if( atomic_compare_exchange_strong(pW, &o, (u64)SH_GEN(o)<<32) ){
        shslotLiveFreed(p, i);
      }
    }
  }
}

/* Record who asks (pBy, may be NULL) in asker record pA of a slot, for
** the request word `cell` about to be written. A requester that finds
** another one writing the record waits a little, then leaves it theirs
** (the target then names "another process": a reason, never a right). */
void shagentPutAsker(ShAsker *pA, u64 cell, const CancelAsker *pBy){
  uint32_t q = 0;
  int n;
  if( pBy==0 ) return;
  for(n=0; n<200; n++){
    q = atomic_load_explicit(&pA->seq, memory_order_relaxed);
    if( (q&1u)==0 && atomic_compare_exchange_weak(&pA->seq, &q, q+1u) ) break;
    sched_yield();
  }
  if( n==200 ) return;
  pA->osPid = (uint32_t)shslotMyPid();
  pA->cell = cell;
  pA->pid = pBy->pid;
  pA->timeMs = pBy->timeMs;
  pA->token = pBy->token;
  shslotCopy(pA->zAction, sizeof(pA->zAction), pBy->zAction);
  shslotCopy(pA->zUser, sizeof(pA->zUser), pBy->zUser);
  atomic_store_explicit(&pA->seq, q+2u, memory_order_release);
}

/* Who asked for request word `cell`, just taken from a slot: from the
** slot's asker record pA if it is that request's and intact; else
** "another process", now. Nothing in it is trusted beyond being text. */
static void shagentGetAsker(ShAsker *pA, u64 cell, CancelAsker *pOut){
  ShAsker x;
  int nTry;
  memset(&x, 0, sizeof(x));
  memset(pOut, 0, sizeof(*pOut));
  /* (no snprintf: this runs in the target's progress handler, on the
  ** way of a cancel, where a first formatting call costs microseconds) */
  shslotCopy(pOut->zAction, sizeof(pOut->zAction), "another process");
  pOut->timeMs = idsNowMs();
  for(nTry=0; nTry<20; nTry++){
    uint32_t v1 = atomic_load_explicit(&pA->seq, memory_order_acquire), v2;
    if( v1&1u ){ sched_yield(); continue; }
    shslotCopyRacy(&x, pA, (int)sizeof(x));
    atomic_thread_fence(memory_order_acquire);
    v2 = atomic_load_explicit(&pA->seq, memory_order_relaxed);
    if( v1!=v2 ) continue;
    if( x.cell!=cell || x.pid<0 || x.osPid==0
     || !shslotTerminated(x.zAction, sizeof(x.zAction))
     || !shslotTerminated(x.zUser, sizeof(x.zUser)) ){
      return;
    }
    shslotCopy(pOut->zAction, sizeof(pOut->zAction), x.zAction);
    shslotCopy(pOut->zUser, sizeof(pOut->zUser), x.zUser);
    pOut->pid = x.pid;
    pOut->osPid = x.osPid;
    pOut->timeMs = x.timeMs;
    pOut->token = x.token;
    return;
  }
}

/* The cancel request waiting in session slot pS, owned by o; 0 if none
** or if it was meant for an earlier owner of the slot. */
static u64 shagentTakeCancel(ShSession *pS, u64 o){
  u64 c = atomic_exchange(&pS->cancelReq, 0);
  return (c && (uint32_t)(c>>40)==SH_GEN(o)) ? c : 0;
}

/* A report for job slot i (request n): its data is copied out of the
** mailbox, checked (any process may write anything there) and applied
** by the job server. -1: the mailbox was rewritten meanwhile by a newer request
** (after its requester gave up waiting), which will be served itself. */
static int shagentServeReport(SharedReg *p, int i, u64 o, int eOp, uint32_t n,
                         int *peStatus){
  ShJob *pJ = shfileJob(p, i);
  char zText[sizeof(pJ->zMsg)];
  double f;
  int bText;
  if( eOp>SHJOB_END ) return SH_ANS_NOTFOUND;
  memcpy(zText, pJ->zMsg, sizeof(zText));
  f = pJ->msgFraction;
  bText = pJ->msgHasText!=0;
  if( pJ->msgSeq!=n || atomic_load(&pJ->ctlSeq)!=n ) return -1;
  if( !shslotTerminated(zText, sizeof(zText)) || !(f>=0.0 && f<=1.0) ){
    return SH_ANS_NOTFOUND;
  }
  if( shagentGet()->xJobReport==0 ) return SH_ANS_NOTFOUND;
  return shagentGet()->xJobReport(p, i, o, eOp, f, bText ? zText : 0, peStatus);
}

/* Requests in the slots this process owns. */
void shagentServe(SharedReg *p){
  int i;
  long me = shslotMyPid();
  for(i=0; i<p->nSession; i++){
    ShSession *pS;
    u64 o, c;
    uint32_t t;
    if( !atomic_load_explicit(&p->aMine[i], memory_order_relaxed) ) continue;
    pS = shfileSession(p, i);
    o = atomic_load_explicit(&pS->owner, memory_order_acquire);
    if( SH_OSPID(o)!=me ) continue;
    c = shagentTakeCancel(pS, o);
    t = atomic_exchange(&pS->termReq, 0);
    if( t && t!=SH_GEN(o) ) t = 0;
    if( c || t ){
      CancelAsker cBy, tBy;
      if( c ) shagentGetAsker(&pS->cancelBy, c, &cBy);
      if( t ) shagentGetAsker(&pS->termBy, t, &tBy);
      const SharedServers *pSv = shagentGet();
      if( pSv->xSession ){
        pSv->xSession(p, i, o, c, t!=0, c ? &cBy : 0, t ? &tBy : 0);
      }
    }
  }
  for(i=0; i<p->nJob; i++){
    ShJob *pJ;
    u64 o;
    uint32_t r;
    if( !atomic_load_explicit(&p->aMine[p->nSession+i], memory_order_relaxed) ) continue;
    pJ = shfileJob(p, i);
    o = atomic_load_explicit(&pJ->owner, memory_order_acquire);
    if( SH_OSPID(o)!=me ) continue;
    r = atomic_exchange(&pJ->ctlReq, 0);
    if( r && (r>>4)==(SH_GEN(o) & 0xfffffff) ){
      /* apply it, then answer the requester (waiting in jobslotsControl) */
      uint32_t n = atomic_load(&pJ->ctlSeq);
      int eStatus = -1, eOp = (int)(r & 15);
      const SharedServers *pSv = shagentGet();
      int rc = eOp>=SHJOB_PROGRESS ? shagentServeReport(p, i, o, eOp, n, &eStatus)
             : pSv->xJobControl ? pSv->xJobControl(p, i, o, eOp, &eStatus)
             : SH_ANS_NOTFOUND;
      if( rc<0 ) continue;       /* a newer request replaced it: no answer */
      atomic_store(&pJ->ansRc, rc);
      atomic_store(&pJ->ansStatus, eStatus);
      atomic_store_explicit(&pJ->ansSeq, n, memory_order_release);
#ifdef __linux__
      syscall(SYS_futex, &pJ->ansSeq, FUTEX_WAKE, 0x7fffffff, 0, 0, 0);
#endif
    }
  }
}

/* How many cancel log entries ahead of the last one the agent keeps
** writable in this process (shagentPrefaultLog). */
#define SHAGENT_LOG_AHEAD (SH_NLOG/2)

/*
** The first write to a page of the mapped file costs a page fault in
** the writing process (for a file on disk, the file system's
** page_mkwrite: 20 to 35 us), and a log entry is written on the path of
** a cancel: by the target's process, as its statement stops. So
** once the log has moved since the last look (*pLast: the last id seen),
** the agent touches every page of the next SHAGENT_LOG_AHEAD entries
** with a write that changes nothing (adding 0 to each page's first
** sequence word, atomically: a writer or reader there sees no change),
** and the writer finds them mapped writable. An idle log is not
** touched: nothing is dirtied while nobody cancels (shagentLogRecent).
*/
static void shagentPrefaultLog(SharedReg *p, u64 *pLast){
  u64 next = atomic_load_explicit(&shfileHdr(p)->logNext, memory_order_relaxed);
  i64 id;
  int perPage = 4096/SH_LOG_SIZE;
  if( next==*pLast ) return;
  *pLast = next;
  for(id=(i64)next+1; id<=(i64)next+SHAGENT_LOG_AHEAD; id++){
    if( perPage>1 && (id % SH_NLOG) % perPage!=0 ) continue;   /* one per page */
    atomic_fetch_add_explicit(&shfileLog(p, id)->seq, 0, memory_order_relaxed);
  }
}

/* Was the log written in the last minute (the time of its newest entry,
** next)? Then an agent that starts keeps it writable from the start; it
** leaves an idle one alone. (A racy look: a heuristic, nothing more.) */
static int shagentLogRecent(SharedReg *p, u64 next){
  i64 t = 0, nowMs = idsNowMs();
  if( next==0 ) return 0;
  shslotCopyRacy(&t, &shfileLog(p, (i64)next)->e.timeMs, (int)sizeof(t));
  return t>nowMs-60000 && t<=nowMs+1000;
}

static int (*_Atomic shagentTick)(SharedReg*, uint32_t);   /* (zero: none) */
void shagentSetTick(int (*xTick)(SharedReg*, uint32_t)){ atomic_store(&shagentTick, xTick); }

static void *shagentMain(void *pArg){
  SharedReg *p = (SharedReg*)pArg;
  i64 lastReapUs = 0;
  int bSoon = 0;
  uint32_t lastLook = 0;
  u64 lastLog = atomic_load(&shfileHdr(p)->logNext);
  if( shslotIntact(p) && shagentLogRecent(p, lastLog) ) lastLog = ~(u64)0;
  for(;;){
    uint32_t look = atomic_load(&shfileHdr(p)->lookReq);
    uint32_t w = atomic_load(&shfileHdr(p)->wake);
    i64 nowUs;
    if( !shslotIntact(p) ){
      /* Truncated under us: stop touching it (best effort; doc/cross-process.md). */
      p->bOk = 0;
      snprintf(p->zWhy, sizeof(p->zWhy), "truncated while in use");
      sqlite3_log(SQLITE_WARNING, "cancel: registry %s %s", p->zPath, p->zWhy);
      return 0;
    }
    shagentServe(p);
    nowUs = idsMonoUs();
    if( (nowUs-lastReapUs>1000000 || bSoon || look!=lastLook) && shslotIntact(p) ){
      int (*xTick)(SharedReg*, uint32_t) = atomic_load(&shagentTick);
      if( nowUs-lastReapUs>1000000 ){
        shagentReap(p);
        lastReapUs = nowUs;
      }
      bSoon = xTick ? xTick(p, look) : 0;
      lastLook = look;
    }
    shagentPrefaultLog(p, &lastLog);
#ifdef __linux__
    {
      struct timespec ts = { 1, 0 };
      if( bSoon ){ ts.tv_sec = 0; ts.tv_nsec = SHAGENT_TICK_SOON_MS*1000000L; }
      syscall(SYS_futex, &shfileHdr(p)->wake, FUTEX_WAIT, w, &ts, 0, 0);
    }
#else
    {
      struct timespec ts = { 0, 5000000 };   /* poll: 5 ms */
      (void)w;
      nanosleep(&ts, 0);
    }
#endif
  }
  return 0;
}

/* Start p's agent thread: 1, or 0 if it cannot. */
int shagentStart(SharedReg *p){
  pthread_t t;
  pthread_attr_t attr;
  int rc;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  rc = pthread_create(&t, &attr, shagentMain, p);
  pthread_attr_destroy(&attr);
  return rc==0;
}

/* The fast path of a cross-process cancel: the session's own progress
** handler looks at its slot and serves a waiting cancel at once, rather
** than wait for the agent thread to be scheduled (which can take
** milliseconds while the target keeps a core busy). Whoever takes the
** cell first serves it; the other finds it empty. */
void shagentServeCancel(SharedReg *p, int iSlot, u64 owner){
  ShSession *pS = shfileSession(p, iSlot);
  const SharedServers *pSv;
  u64 c;
  if( atomic_load_explicit(&pS->cancelReq, memory_order_relaxed)==0 ) return;
  c = shagentTakeCancel(pS, owner);
  if( c && (pSv = shagentGet())->xSession ){
    CancelAsker by;
    shagentGetAsker(&pS->cancelBy, c, &by);
    pSv->xSession(p, iSlot, owner, c, 0, &by, 0);
  }
}

int shagentTakeCancelFor(SharedReg *p, int iSlot, u64 owner, u64 iQuery,
                         CancelAsker *pBy){
  ShSession *pS = shfileSession(p, iSlot);
  u64 c = atomic_load_explicit(&pS->cancelReq, memory_order_acquire);
  if( c==0 || (uint32_t)(c>>40)!=SH_GEN(owner) || idsMakeSerial(c)!=iQuery
   || !atomic_compare_exchange_strong(&pS->cancelReq, &c, 0)
  ){
    return 0;
  }
  shagentGetAsker(&pS->cancelBy, c, pBy);
  return 1;
}

/* Slot iSlot of p, if p is usable and has it, else NULL. */
static ShSession *shagentCellSlot(SharedReg *p, int iSlot){
  if( p==0 || !p->bOk || !shslotIntact(p) || iSlot<0 || iSlot>=p->nSession ) return 0;
  return shfileSession(p, iSlot);
}

int shagentCancelWaiting(SharedReg *p, int iSlot, u64 cell){
  ShSession *pS = shagentCellSlot(p, iSlot);
  return pS!=0 && atomic_load(&pS->cancelReq)==cell;
}

int shagentWithdraw(SharedReg *p, int iSlot, int bTermCell, u64 cell){
  ShSession *pS = shagentCellSlot(p, iSlot);
  if( pS==0 ) return 0;
  if( bTermCell ){
    uint32_t v = (uint32_t)cell;
    return atomic_compare_exchange_strong(&pS->termReq, &v, 0);
  }
  return atomic_compare_exchange_strong(&pS->cancelReq, &cell, 0);
}

