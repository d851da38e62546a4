/*
** shlog.c: the cancel log in the registry file (layout: shfile.h), a ring
** of the last SH_NLOG actions of every process on the database, for
** watchers (cancel_watch) and for the answers to requests between
** processes. Any process may write an entry (its creator) or its outcome
** (the creator, or later the target's process). Which outcomes are
** transient, and what one whose writer died becomes, are the cancel log's
** rules, registered with the servers (shagentSetServers).
*/
#include "shfile.h"
SQLITE_EXTENSION_INIT3

#include <sched.h>
#include <string.h>

/* Is zOutcome transient (the cancel log's rule; none before it is set)? */
static int shlogTransient(const char *zOutcome){
  const SharedServers *pSv = shagentGet();
  return pSv->xLogTransient && pSv->xLogTransient(zOutcome);
}

/* Take entry pL's write lock (its odd sequence number); 0 if another
** writer keeps it (a writer that died mid-write: the entry is lost). */
static int shlogLock(ShLog *pL){
  int nTry;
  for(nTry=0; nTry<1000; nTry++){
    uint32_t v = atomic_load_explicit(&pL->seq, memory_order_relaxed);
    if( (v&1u)==0 && atomic_compare_exchange_weak(&pL->seq, &v, v|1u) ){
      atomic_thread_fence(memory_order_release);
      return 1;
    }
    sched_yield();
  }
  return 0;
}
static void shlogUnlock(ShLog *pL){
  uint32_t v = atomic_load_explicit(&pL->seq, memory_order_relaxed);
  atomic_store_explicit(&pL->seq, v+1u, memory_order_release);
}

i64 shlogAdd(SharedReg *p, const SharedLogEntry *pE){
  i64 id;
  ShLog *pL;
  if( !sharedUsable(p) || !shslotIntact(p) ) return 0;
  id = (i64)atomic_fetch_add(&shfileHdr(p)->logNext, 1) + 1;
  pL = shfileLog(p, id);
  if( !shlogLock(pL) ) return 0;
  atomic_store_explicit(&pL->id, 0, memory_order_relaxed);
  shslotCopyRacy(&pL->e, pE, sizeof(*pE));
  pL->e.zAction[sizeof(pL->e.zAction)-1] = 0;
  pL->e.writerOsPid = (uint32_t)shslotMyPid();   /* who will set the outcome */
  pL->e.writerStart = shslotMyStart();
  atomic_store_explicit(&pL->id, (u64)id, memory_order_relaxed);
  shlogUnlock(pL);
  return id;
}

void shlogOutcome(SharedReg *p, i64 id, const char *zOutcome){
  ShLog *pL;
  if( id<=0 || !sharedUsable(p) || !shslotIntact(p) ) return;
  pL = shfileLog(p, id);
  if( !shlogLock(pL) ) return;
  if( atomic_load_explicit(&pL->id, memory_order_relaxed)==(u64)id
   && shslotTerminated(pL->e.zOutcome, sizeof(pL->e.zOutcome))
   && shlogTransient(pL->e.zOutcome) ){
    shslotCopy(pL->e.zOutcome, sizeof(pL->e.zOutcome), zOutcome);
  }
  shlogUnlock(pL);
}

/* Entry pE (a copy of entry id) says a transient outcome, and the process
** that was to write its final one has died: it ends as the log's "gone" outcome, in the
** copy and in the file. */
static void shlogSettle(SharedReg *p, i64 id, SharedLogEntry *pE){
  const char *zGone = shagentGet()->zLogGone;
  if( zGone==0 || !shlogTransient(pE->zOutcome) ) return;
  if( pE->writerOsPid==0 || shslotAlive((long)pE->writerOsPid, pE->writerStart) ) return;
  shslotCopy(pE->zOutcome, sizeof(pE->zOutcome), zGone);
  shlogOutcome(p, id, zGone);
}

/* A consistent copy of log entry id, 0 if it is not there (pushed out,
** being written, or damaged). */
static int shlogRead(SharedReg *p, i64 id, SharedLogEntry *pE){
  ShLog *pL = shfileLog(p, id);
  int nTry, ok = 0;
  for(nTry=0; nTry<20 && !ok; nTry++){
    uint32_t v1 = atomic_load_explicit(&pL->seq, memory_order_acquire);
    if( v1&1u ){ sched_yield(); continue; }
    if( atomic_load_explicit(&pL->id, memory_order_relaxed)!=(u64)id ) break;
    shslotCopyRacy(pE, &pL->e, sizeof(*pE));
    atomic_thread_fence(memory_order_acquire);
    ok = atomic_load_explicit(&pL->seq, memory_order_relaxed)==v1
      && atomic_load_explicit(&pL->id, memory_order_relaxed)==(u64)id;
  }
  /* nothing from the file is trusted: every string terminated */
  return ok
    && shslotTerminated(pE->zAction, sizeof(pE->zAction))
    && shslotTerminated(pE->zByUser, sizeof(pE->zByUser))
    && shslotTerminated(pE->zTargetUser, sizeof(pE->zTargetUser))
    && shslotTerminated(pE->zQuery, sizeof(pE->zQuery))
    && shslotTerminated(pE->zOutcome, sizeof(pE->zOutcome));
}

int shlogAnswer(SharedReg *p, u64 token, char *zOut, int nOut){
  i64 last, id;
  if( token==0 || !sharedUsable(p) || !shslotIntact(p) ) return 0;
  last = (i64)atomic_load(&shfileHdr(p)->logNext);
  for(id=last; id>0 && id>last-SH_NLOG; id--){
    ShLog *pL = shfileLog(p, id);
    SharedLogEntry e;
    /* (a racy look at the two words first: most entries are not it) */
    if( atomic_load_explicit(&pL->id, memory_order_relaxed)!=(u64)id ) continue;
    shslotCopyRacy(&e.askToken, &pL->e.askToken, sizeof(e.askToken));
    if( e.askToken!=token ) continue;
    if( !shlogRead(p, id, &e) ) continue;
    if( e.askToken!=token || e.askOsPid!=(uint32_t)shslotMyPid() ) continue;
    shlogSettle(p, id, &e);
    shslotCopy(zOut, nOut, e.zOutcome);
    return 1;
  }
  return 0;
}

int shlogSnapshot(SharedReg *p, SharedLogEntry **paOut, i64 **paId, int *pnOut){
  SharedLogEntry *aOut;
  i64 *aId, last, id;
  int n = 0;
  *paOut = 0; *paId = 0; *pnOut = 0;
  if( !sharedUsable(p) || !shslotIntact(p) ) return SQLITE_OK;
  aOut = sqlite3_malloc64(sizeof(SharedLogEntry)*SH_NLOG);
  aId = sqlite3_malloc64(sizeof(i64)*SH_NLOG);
  if( aOut==0 || aId==0 ){
    sqlite3_free(aOut);
    sqlite3_free(aId);
    return SQLITE_NOMEM;
  }
  last = (i64)atomic_load(&shfileHdr(p)->logNext);
  for(id=(last>SH_NLOG ? last-SH_NLOG+1 : 1); id<=last; id++){
    SharedLogEntry *pE = &aOut[n];
    if( !shlogRead(p, id, pE) ) continue;
    shlogSettle(p, id, pE);
    aId[n++] = id;
  }
  *paOut = aOut;
  *paId = aId;
  *pnOut = n;
  return SQLITE_OK;
}
