/*
** remote.c: this process's sessions in the registry file, and requests
** to other processes' sessions (remote.h). Above the registry file
** (shared.h, its layout shfile.h), below the session registry
** (registry.c), whose sessions it publishes and for which it finds and
** asks other processes' sessions. The answer to a request comes back
** through the target process's agent thread and the session server
** registered there (shagentSetServers), never through this file.
*/
#include "remote.h"
#include "shfile.h"
SQLITE_EXTENSION_INIT3

#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *const azRemoteStatus[] = {   /* by SH_* status */
  "idle", "active", "idle in transaction", "waiting", "terminating"
};


void remoteClaim(SharedReg *p, CancelSession *s){
  u64 o;
  int i;
  ShSession *pS;
  if( !sharedUsable(p) ) return;
  i = shslotClaim(p, 0, &o);
  if( i<0 ){
    sqlite3_log(SQLITE_WARNING, "cancel: registry %s is full (%d session "
                "slots): session %lld is visible only in its own process",
                p->zPath, p->nSession, (long long)s->pid);
    return;
  }
  pS = shfileSession(p, i);
  atomic_store(&pS->cancelReq, 0);
  atomic_store(&pS->termReq, 0);
  atomic_store(&pS->cancelBy.seq, 0);   /* (a requester that died writing) */
  atomic_store(&pS->termBy.seq, 0);
  shslotWriteBegin(&pS->seq);
  atomic_store_explicit(&pS->procStart, shslotStartTag(o), memory_order_relaxed);
  pS->tag = idsTag();
  pS->iSerial = s->iSerial;
  pS->pid = s->pid;
  pS->startMs = s->startMs;
  pS->iActive = pS->iLast = 0;
  pS->nQuery = 0;
  shslotWriteEnd(&pS->seq);
  pthread_mutex_lock(&s->mu);
  s->pSh = p;
  s->iShSlot = i;
  s->shOwner = o;
  s->pShCancelReq = &pS->cancelReq;
  remotePublish(s);
  pthread_mutex_unlock(&s->mu);
}

void remoteRelease(CancelSession *s){
  ShSession *pS;
  if( s->pSh==0 ) return;
  pS = shfileSession(s->pSh, s->iShSlot);
  shslotWriteBegin(&pS->seq);
  pS->status = SH_GONE;
  shslotWriteEnd(&pS->seq);
  s->pShCancelReq = 0;
  shslotRelease(s->pSh, s->iShSlot, &pS->owner, s->shOwner);
  /* No wake: only agent threads wait on the file's wake word, for
  ** requests; pg_terminate_backend() polls the slot (remoteWaitGone).
  ** A wake here cost every close a system call and woke every agent. */
  s->pSh = 0;
}

/* The fast path of a cross-process cancel: the session's own progress
** handler looks at its slot (pShCancelReq) and serves a waiting cancel at
** once, rather than wait for the agent thread to be scheduled (which can
** take milliseconds while the target keeps a core busy). Whoever takes
** the cell first serves it; the other finds it empty (shagentServeCancel). */
void remoteServeOwnCancel(CancelSession *s){
  if( s->pSh==0 ) return;
  shagentServeCancel(s->pSh, s->iShSlot, s->shOwner);
}

int remoteTakeOwnCancel(CancelSession *s, u64 iQuery, CancelAsker *pBy){
  if( s->pSh==0 ) return 0;
  return shagentTakeCancelFor(s->pSh, s->iShSlot, s->shOwner, iQuery, pBy);
}

/* The serial of this process's session in slot iSlot under owner word
** owner, as written there when it was claimed; 0 if the slot is not
** that. Lets the server of a request find the session by its index
** instead of walking every session of the process. */
u64 remoteSlotSerial(SharedReg *p, int iSlot, u64 owner){
  ShSession x;
  ShSession *pS;
  u64 o;
  if( !sharedUsable(p) || iSlot<0 || iSlot>=p->nSession ) return 0;
  pS = shfileSession(p, iSlot);
  if( !shslotRead(&x, pS, (int)offsetof(ShSession, pid), &pS->owner, &pS->seq, &o)
   || o!=owner || x.tag!=idsTag() ){
    return 0;
  }
  return x.iSerial;
}

void remoteSetBusyTick(CancelSession *s, i64 nowMs){
  if( s->pSh ){
    atomic_store_explicit(&shfileSession(s->pSh, s->iShSlot)->busyTick,
                          (uint32_t)nowMs, memory_order_relaxed);
  }
}

/* The status a session's slot shows (s->mu held). */
static int remoteStatus(CancelSession *s){
  int eTerm = atomic_load(&s->eTerm);
  return eTerm==TERM_DONE ? SH_GONE
       : eTerm!=TERM_NONE ? SH_TERMINATING
       : sessionWaitingSince(s) ? SH_WAITING
       : s->nStmt>0 && !s->cursorIdle ? SH_ACTIVE
       : s->inXact || (s->cursorIdle && s->eXactKind) ? SH_IDLE_XACT
       : SH_IDLE;
}

/* What a session does now (s->mu held, the slot's seqlock taken). */
static void remotePutActivity(CancelSession *s, ShSession *pS){
  int i;
  assert( atomic_load_explicit(&pS->seq, memory_order_relaxed) & 1u );
  pS->status = (uint8_t)remoteStatus(s);
  pS->xactKind = (uint8_t)s->eXactKind;
  pS->hooksLost = (uint8_t)atomic_load(&s->hooksLost);
  pS->noMutex = (uint8_t)(s->noMutex!=0);
  pS->xactStartMs = s->xactStartMs;
  pS->waitingSinceMs = sessionWaitingSince(s);
  pS->stmtTimeoutMs = atomic_load(&s->stmtTimeoutMs);
  pS->idleTimeoutMs = atomic_load(&s->idleTimeoutMs);
  pS->xactTimeoutMs = atomic_load(&s->xactTimeoutMs);
  pS->idleBlockerMs = atomic_load(&s->idleBlockerMs);
  pS->nQuery = (uint32_t)(s->nStmt<SH_NQUERY ? s->nStmt : SH_NQUERY);
  for(i=0; i<(int)pS->nQuery; i++) pS->aQuery[i] = s->aStmt[i].iQuery;
  pS->iNewest = s->nStmt>0 ? s->aStmt[s->nStmt-1].iQuery : 0;
  if( s->nStmt>0 ){
    /* the outermost statement: written once per execution into the text
    ** buffer that does not hold last_active_query */
    if( pS->iActive==0 || s->shActiveQuery!=s->aStmt[0].iQuery ){
      int b = pS->iLast==1 ? 1 : 0;
      shslotCopy(pS->aTxt[b], SH_TXT, s->aStmt[0].zSql);
      pS->iActive = (uint8_t)(b+1);
      pS->queryStartMs = s->aStmt[0].startMs;
      s->shActiveQuery = s->aStmt[0].iQuery;
    }
  }else if( pS->iActive ){
    pS->iLast = pS->iActive;     /* what ran is now the last query */
    pS->iActive = 0;
    s->shActiveQuery = 0;
  }
}

/* s->mu held: the session's own thread, at every statement start and
** end. */
void remotePublishActivity(CancelSession *s){
  ShSession *pS;
  assert( pthread_mutex_trylock(&s->mu)!=0 );   /* s->mu held */
  if( s->pSh==0 ) return;
  pS = shfileSession(s->pSh, s->iShSlot);
  shslotWriteBegin(&pS->seq);
  remotePutActivity(s, pS);
  shslotWriteEnd(&pS->seq);
}

/* s->mu held, own thread at a statement's end. A statement too short to
** have been published (hooks.c publishes at its first progress call)
** leaves nothing to take back: when the slot shows no query and the same
** status, transaction kind and start, writing it again would change
** nothing but the text of last_active_query, which other processes see
** as of the last statement that was published (doc/hooks.md). */
void remotePublishEnd(CancelSession *s){
  ShSession *pS;
  if( s->pSh==0 ) return;
  pS = shfileSession(s->pSh, s->iShSlot);
  if( s->nStmt==0 && pS->iActive==0 && s->shActiveQuery==0 && pS->nQuery==0
   && pS->status==remoteStatus(s) && pS->xactKind==s->eXactKind
   && pS->xactStartMs==s->xactStartMs
   && pS->hooksLost==(uint8_t)atomic_load(&s->hooksLost)
  ){
    return;
  }
  remotePublishActivity(s);
}

void remoteAckLook(CancelSession *s, uint32_t lookGen){
  pthread_mutex_lock(&s->mu);
  if( s->pSh ){
    atomic_store(&shfileSession(s->pSh, s->iShSlot)->lookAck, lookGen);
  }
  pthread_mutex_unlock(&s->mu);
}

/*
** Other processes learn a statement's end lazily (activity.c): a slot may
** show a statement running that has ended, or a session idle that has
** since opened a transaction, until its process looks. Its agent looks
** about once a second, every SHAGENT_TICK_SOON_MS while a statement
** shows running, and at once when asked: ask, and wait until every live
** slot of another process says it has looked (lookAck), at most
** REMOTE_REFRESH_MS (a process that does not answer is shown as it last
** published itself).
*/
void remoteRefresh(SharedReg *p){
  uint32_t gen;
  i64 t0;
  int nTry = 0;
  if( !sharedUsable(p) || !shslotIntact(p) ) return;
  gen = atomic_fetch_add(&shfileHdr(p)->lookReq, 1) + 1;
  shslotWake(p);
  t0 = idsMonoUs();
  for(;;){
    int i, bAll = 1;
    for(i=shslotLiveNext(p, 0); i>=0 && bAll; i=shslotLiveNext(p, i+1)){
      ShSession *pS = shfileSession(p, i);
      u64 o = atomic_load(&pS->owner);
      if( o==0 || SH_OSPID(o)==shslotMyPid() ) continue;
      if( (int32_t)(atomic_load(&pS->lookAck) - gen)<0
       && shslotOwnerAlive(o, atomic_load(&pS->procStart)) ){
        bAll = 0;
      }
    }
    if( bAll || idsMonoUs()-t0 > (i64)REMOTE_REFRESH_MS*1000 ) break;
    shslotBackoff(nTry++);
  }
}

/* s->mu held: everything, identity included (user, application, client
** address: their setters take s->mu too). */
void remotePublish(CancelSession *s){
  ShSession *pS;
  assert( pthread_mutex_trylock(&s->mu)!=0 );   /* s->mu held */
  if( s->pSh==0 ) return;
  pS = shfileSession(s->pSh, s->iShSlot);
  shslotWriteBegin(&pS->seq);
  pS->isAdmin = (uint8_t)s->isAdmin;
  shslotCopy(pS->zUser, sizeof(pS->zUser), s->zUser);
  shslotCopy(pS->zApp, sizeof(pS->zApp), s->zAppName);
  pS->hasClient = s->zClientAddr!=0;
  shslotCopy(pS->zClient, sizeof(pS->zClient), s->zClientAddr);
  shslotCopy(pS->zDatabase, sizeof(pS->zDatabase), s->zDatabase);
  remotePutActivity(s, pS);
  shslotWriteEnd(&pS->seq);
}

/* The part of a session slot that names it, its owner's user and
** status: what a lookup needs (a sixth of the slot). */
#define REMOTE_HEAD ((int)offsetof(ShSession, zApp))

/* Slot i copied out (its first nByte bytes: REMOTE_HEAD or the whole
** slot) and checked; 0 if it is not a session of another process. Its
** owner's liveness is not checked here: remoteLive. */
static int remoteCopySession(SharedReg *p, int i, ShSession *pOut, int nByte, u64 *pO){
  ShSession *pS = shfileSession(p, i);
  u64 o = atomic_load_explicit(&pS->owner, memory_order_acquire);
  if( SH_OSPID(o)==0 || SH_OSPID(o)==shslotMyPid() ) return 0;
  if( !shslotRead(pOut, pS, nByte, &pS->owner, &pS->seq, pO) ) return 0;
  if( pOut->tag==idsTag() ) return 0;
  if( pOut->status>=SH_GONE || pOut->pid<=0 || pOut->pid>SH_ID_MAX
   || pOut->nQuery>SH_NQUERY
   || pOut->iActive>2 || pOut->iLast>2 || pOut->xactKind>2
   || pOut->hooksLost>(HOOKS_TRACE_LOST|HOOKS_PROGRESS_LOST|HOOKS_PROGRESS_NONE)
   || pOut->noMutex>1
   || !shslotTerminated(pOut->zUser, sizeof(pOut->zUser))
  ){
    return 0;
  }
  if( nByte>REMOTE_HEAD
   && (!shslotTerminated(pOut->zApp, sizeof(pOut->zApp))
    || !shslotTerminated(pOut->zClient, sizeof(pOut->zClient))
    || !shslotTerminated(pOut->zDatabase, sizeof(pOut->zDatabase))
    || !shslotTerminated(pOut->aTxt[0], SH_TXT) || !shslotTerminated(pOut->aTxt[1], SH_TXT))
  ){
    return 0;
  }
  return 1;
}

/* Is the owner of slot i (owner word o, copy pX) alive? A dead one's
** slot is set free. */
static int remoteLive(SharedReg *p, int i, const ShSession *pX, u64 o){
  if( shslotOwnerAlive(o, pX->procStart) ) return 1;
  if( atomic_compare_exchange_strong(&shfileSession(p, i)->owner, &o, (u64)SH_GEN(o)<<32) ){
    shslotLiveFreed(p, i);
  }
  return 0;
}

/* A session slot copied out whole and checked; 0 if it is not a live
** session of another process. */
static int remoteReadSession(SharedReg *p, int i, ShSession *pOut, u64 *pO){
  return remoteCopySession(p, i, pOut, (int)sizeof(*pOut), pO)
      && remoteLive(p, i, pOut, *pO);
}

static int remoteAllowed(const char *zUser, int isAdmin, const char *zTarget){
  return isAdmin || strcmp(zUser, zTarget)==0;
}

int remoteSnapshot(SharedReg *p, const char *zUser, int isAdmin, int bRefresh,
                   SessionRow **paRow, int *pnRow){
  ShSession *pX;
  int i, rc = SQLITE_OK;
  if( !sharedUsable(p) || !shslotIntact(p) ) return SQLITE_OK;
  pX = sqlite3_malloc(sizeof(*pX));
  if( pX==0 ) return SQLITE_NOMEM;
  if( bRefresh ) remoteRefresh(p);
  for(i=shslotLiveNext(p, 0); i>=0 && rc==SQLITE_OK; i=shslotLiveNext(p, i+1)){
    u64 o;
    SessionRow *r, *aNew;
    if( !remoteReadSession(p, i, pX, &o) ) continue;
    aNew = sqlite3_realloc64(*paRow, sizeof(SessionRow)*(*pnRow+1));
    if( aNew==0 ){ rc = SQLITE_NOMEM; break; }
    *paRow = aNew;
    r = &aNew[(*pnRow)++];
    memset(r, 0, sizeof(*r));
    r->pid = pX->pid;
    r->nodeId = SH_OSPID(o);
    idsFormatIdTag(pX->tag, pX->iSerial, r->zSessionId);
    r->zUser = sqlite3_mprintf("%s", pX->zUser);
    r->zAppName = sqlite3_mprintf("%s", pX->zApp);
    r->zClientAddr = pX->hasClient ? sqlite3_mprintf("%s", pX->zClient) : 0;
    r->zDatabase = sqlite3_mprintf("%s", pX->zDatabase);
    if( pX->status==SH_WAITING
     && !sessionWaitFresh(idsNowMs(), (i64)atomic_load(&pX->busyTick)) ){
      /* its wait ended (with the lock: nothing said so): what it was at */
      pX->status = pX->nQuery>0 ? SH_ACTIVE : pX->xactKind ? SH_IDLE_XACT : SH_IDLE;
      pX->waitingSinceMs = 0;
    }
    r->zStatus = azRemoteStatus[pX->status];
    r->masked = !remoteAllowed(zUser, isAdmin, pX->zUser);
    if( pX->iActive ){
      r->zActive = sqlite3_mprintf("%s", pX->aTxt[pX->iActive-1]);
      if( pX->nQuery>0 ) idsFormatIdTag(pX->tag, pX->aQuery[0], r->zQueryId);
      r->queryStartMs = pX->queryStartMs;
      if( r->zActive==0 ) rc = SQLITE_NOMEM;
    }
    if( pX->iLast ){
      r->zLast = sqlite3_mprintf("%s", pX->aTxt[pX->iLast-1]);
      if( r->zLast==0 ) rc = SQLITE_NOMEM;
    }
    r->xactStartMs = pX->xactStartMs;
    r->sessionStartMs = pX->startMs;
    r->zXactKind = pX->xactKind==XACT_WRITE ? "write"
                 : pX->xactKind==XACT_READ ? "read" : "none";
    r->waitingSinceMs = pX->waitingSinceMs;
    r->stmtTimeoutMs = pX->stmtTimeoutMs;
    r->idleTimeoutMs = pX->idleTimeoutMs;
    r->xactTimeoutMs = pX->xactTimeoutMs;
    r->idleBlockerMs = pX->idleBlockerMs;
    r->zHooks = sessionHooksText(pX->hooksLost);
    r->zThreading = sessionThreadingText(pX->noMutex);
    if( r->zUser==0 || r->zAppName==0 || r->zDatabase==0
     || (pX->hasClient && r->zClientAddr==0) ){
      rc = SQLITE_NOMEM;
    }
  }
  sqlite3_free(pX);
  return rc;
}

static void remoteFillTarget(RemoteTarget *pT, ShSession *pX, u64 o){
  pT->tag = pX->tag;
  pT->iSerial = pX->iSerial;
  pT->pid = pX->pid;
  pT->nodeId = SH_OSPID(o);
  pT->noMutex = pX->noMutex && pX->status!=SH_IDLE;   /* holds something */
  shslotCopy(pT->zUser, sizeof(pT->zUser), pX->zUser);
}

/* Find a session of another process by (tag, serial), by pid, or by a
** running execution (tag, iQuery): its index, or -1. Only the slots the
** file's index says may be taken are read, only their head, and only the
** owner of the one that matches is checked for life (a system call), if
** bLive: else the caller checks it (remoteSendCancel does, once the
** request is on its way). pX gets the head (REMOTE_HEAD bytes). */
static int remoteFind(SharedReg *p, u64 tag, u64 iSerial, i64 pid, u64 iQuery,
                  ShSession *pX, u64 *pO, int bLive){
  int i, j;
  if( !sharedUsable(p) || !shslotIntact(p) ) return -1;
  for(i=shslotLiveNext(p, 0); i>=0; i=shslotLiveNext(p, i+1)){
    int bMatch = 0;
    if( !remoteCopySession(p, i, pX, REMOTE_HEAD, pO) ) continue;
    if( pid ){
      bMatch = pX->pid==pid;
    }else if( pX->tag!=tag ){
      continue;
    }else if( iQuery ){
      for(j=0; j<(int)pX->nQuery; j++) if( pX->aQuery[j]==iQuery ) bMatch = 1;
      if( pX->iNewest==iQuery ) bMatch = 1;
    }else{
      bMatch = pX->iSerial==iSerial;
    }
    if( bMatch && (!bLive || remoteLive(p, i, pX, *pO)) ) return i;
  }
  return -1;
}

/* How long a canceller waits for a running target's own progress
** handler to take a request before it wakes the target's agent thread. */
#define REMOTE_OWN_WAIT_US 100

/* Ask the owner of slot i (generation of o) to interrupt iQuery. A
** target that runs a statement with the extension's progress handler
** (pX) serves the request itself within microseconds; waking its agent
** thread as well costs a system call and puts a third thread on the
** machine's cores beside the two that matter (on a small machine it
** takes a core from the target). So the agent is woken only if the
** request is still there after REMOTE_OWN_WAIT_US, or at once when the
** target waits on a lock, is idle, or lost its progress handler. 1 if
** sent; 0 if the owner turned out dead (the request taken back). */
static int remoteSendCancel(SharedReg *p, int i, u64 o, u64 iQuery,
                         const ShSession *pX, RemoteTarget *pT){
  const CancelAsker *pBy = pT->pBy;
  u64 cell = ((u64)(SH_GEN(o) & 0xffffff)<<40) | (iQuery & 0xffffffffffull);
  _Atomic u64 *pReq = &shfileSession(p, i)->cancelReq;
  pT->iSlot = i;
  pT->bTermCell = 0;
  pT->cell = cell;
  shagentPutAsker(&shfileSession(p, i)->cancelBy, cell, pBy);
  atomic_store(pReq, cell);
  /* Is its owner alive? Asked only now, while a running target takes
  ** the request: a dead one never serves it, and it is taken back (a
  ** later owner of the slot would drop it anyway: its generation). */
  if( !remoteLive(p, i, pX, o) ){
    atomic_compare_exchange_strong(pReq, &cell, 0);
    return 0;
  }
  if( pX->status==SH_ACTIVE && !(pX->hooksLost & HOOKS_PROGRESS_LOST) ){
    /* Asleep, not spinning: on a small or busy machine a spinning
    ** canceller takes the core the target needs to take the request
    ** (bench_latency found a tenth of the cancels waiting for the agent
    ** that way, each some 500 us late). On Windows, winpthreads'
    ** nanosleep returns at once below 1 ms: the agent, which polls there,
    ** is then asked at once. */
    struct timespec ts = { 0, REMOTE_OWN_WAIT_US*1000 };
    if( atomic_load(pReq)==cell ) nanosleep(&ts, 0);
    if( atomic_load(pReq)!=cell ) return 1;    /* taken */
  }
  shslotWake(p);
  return 1;
}

int remoteCancelQuery(SharedReg *p, const char *zUser, int isAdmin,
                      u64 tag, u64 iQuery, RemoteTarget *pT){
  ShSession x;
  u64 o;
  int i = remoteFind(p, tag, 0, 0, iQuery, &x, &o, 0);
  if( i<0 ) return REG_NOTFOUND;
  if( remoteAllowed(zUser, isAdmin, x.zUser) && !(x.hooksLost & HOOKS_TRACE_LOST) ){
    /* the path of a cancel: the owner's life is checked in flight */
    if( !remoteSendCancel(p, i, o, iQuery, &x, pT) ) return REG_NOTFOUND;
  }else if( !remoteLive(p, i, &x, o) ){
    return REG_NOTFOUND;
  }
  remoteFillTarget(pT, &x, o);
  pT->iQuery = iQuery;
  if( !remoteAllowed(zUser, isAdmin, x.zUser) ) return REG_DENIED;
  if( x.hooksLost & HOOKS_TRACE_LOST ) return REG_UNDELIVERED;
  return REG_OK;
}

int remoteCancelBackend(SharedReg *p, const char *zUser, int isAdmin,
                        i64 pid, RemoteTarget *pT){
  ShSession x;
  u64 o;
  int i = remoteFind(p, 0, 0, pid, 0, &x, &o, 0);
  if( i<0 ) return REG_NOTFOUND;
  /* aimed at the statement running now, decided here: a statement that
  ** starts after this call is never hit; the owner's life is checked in
  ** flight, as for cancel_query */
  if( x.iNewest && remoteAllowed(zUser, isAdmin, x.zUser)
   && !(x.hooksLost & HOOKS_TRACE_LOST) ){
    if( !remoteSendCancel(p, i, o, x.iNewest, &x, pT) ) return REG_NOTFOUND;
  }else if( !remoteLive(p, i, &x, o) ){
    return REG_NOTFOUND;
  }
  remoteFillTarget(pT, &x, o);
  if( !remoteAllowed(zUser, isAdmin, x.zUser) ) return REG_DENIED;
  /* nothing is known of what it runs (doc/hooks.md) */
  if( x.hooksLost & HOOKS_TRACE_LOST ) return REG_UNDELIVERED;
  pT->iQuery = x.iNewest;
  return REG_OK;
}

/* Find session (tag, iSerial) or pid for user zUser: REG_OK with its slot
** in *piSlot and owner word in *pOwner, REG_NOTFOUND or REG_DENIED. */
static int remoteFindAllowed(SharedReg *p, const char *zUser, int isAdmin,
                             u64 tag, u64 iSerial, i64 pid, RemoteTarget *pT,
                             int *piSlot, u64 *pOwner){
  ShSession x;
  int i = remoteFind(p, tag, iSerial, pid, 0, &x, pOwner, 1);
  if( i<0 ) return REG_NOTFOUND;
  remoteFillTarget(pT, &x, *pOwner);
  *piSlot = i;
  return remoteAllowed(zUser, isAdmin, x.zUser) ? REG_OK : REG_DENIED;
}

int remoteSlotSameOwner(SharedReg *p, int iSlot, int bTerm, u64 cell){
  u64 o;
  if( !sharedUsable(p) || iSlot<0 || iSlot>=p->nSession ) return 0;
  o = atomic_load(&shfileSession(p, iSlot)->owner);
  if( SH_OSPID(o)==0 ) return 0;
  return bTerm ? SH_GEN(o)==(uint32_t)cell
               : (SH_GEN(o) & 0xffffff)==(uint32_t)(cell>>40);
}

int remoteCheckSession(SharedReg *p, const char *zUser, int isAdmin,
                       u64 tag, u64 iSerial, i64 pid, RemoteTarget *pT){
  int i;
  u64 o;
  return remoteFindAllowed(p, zUser, isAdmin, tag, iSerial, pid, pT, &i, &o);
}

int remoteTerminate(SharedReg *p, const char *zUser, int isAdmin,
                    u64 tag, u64 iSerial, i64 pid, RemoteTarget *pT){
  int i;
  u64 o;
  int rc = remoteFindAllowed(p, zUser, isAdmin, tag, iSerial, pid, pT, &i, &o);
  if( rc!=REG_OK ) return rc;
  shagentPutAsker(&shfileSession(p, i)->termBy, SH_GEN(o), pT->pBy);
  pT->iSlot = i;
  pT->bTermCell = 1;
  pT->cell = SH_GEN(o);
  atomic_store(&shfileSession(p, i)->termReq, SH_GEN(o));
  shslotWake(p);
  return REG_OK;
}
/*
** Wait until session pid is gone. Found once, its slot is watched: gone
** when the slot's owner word changes (released, reaped, reused) or a
** consistent copy says terminated. A copy that cannot be taken (the
** owner is writing) is no answer: look again. (Searching afresh each
** time took a slot skipped under load for a slot set free, and reported
** a termination complete too early: forgotten.test under valgrind.)
*/
int remoteWaitGone(SharedReg *p, i64 pid, int timeoutMs){
  i64 endUs = idsMonoUs() + (i64)timeoutMs*1000;
  ShSession x;
  u64 o;
  int i, nLook;
  for(nLook=0; (i = remoteFind(p, 0, 0, pid, 0, &x, &o, 1))<0; nLook++){
    if( nLook==2 ) return 1;      /* not there, three times running */
    shslotBackoff(SH_READ_YIELDS);
  }
  for(;;){
    ShSession *pS = shfileSession(p, i);
    u64 oNow;
    if( !shslotIntact(p) || atomic_load(&pS->owner)!=o ) return 1;
    if( shslotRead(&x, pS, sizeof(x), &pS->owner, &pS->seq, &oNow)
     && (x.status>=SH_GONE || x.pid!=pid) ){
      return 1;
    }
    if( idsMonoUs()>=endUs ) return 0;
    {
      struct timespec ts = { 0, 1000000 };   /* polled: 1 ms */
      nanosleep(&ts, 0);
    }
  }
}

