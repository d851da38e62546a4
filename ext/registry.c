/*
** registry.c: the process-wide registry of sessions.
**
** See registry.h for the locking rules. This is the only file that
** touches another session's connection: registryFinishTermination()
** rolls back a terminated session's transaction and installs a deny-all
** authorizer, holding that connection's mutex (taken with a try-lock
** under the registry lock, so close can never race it).
**
** Terminations that cannot be finished at once (the target is inside a
** statement, or is the caller's own connection mid-statement) are handed
** to a reaper thread that retries whenever a statement of a terminated
** session ends.
*/
#include "registry.h"
#include "hooks.h"
#include "cancellog.h"
#include "jobs.h"
#include "remote.h"
SQLITE_EXTENSION_INIT3

#include "port.h"
#include "regindex.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t regMu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t regGone = PTHREAD_COND_INITIALIZER;  /* a termination
                                        ** finished or a session left */
static CancelSession *regFirst = 0;
static CancelSession *regLast = 0;
static _Atomic u64 regNextSerial = 0;  /* sessions and queries share it,
                                       ** so no two ids are ever equal */

/* Every id of this process starts with this 64-bit random tag; the
** second half is the OS pid (top 24 bits) and a 40-bit counter. */
static pthread_once_t regOnce = PTHREAD_ONCE_INIT;
static u64 regTag = 0;
static u64 regNode = 0;
static char regOsUser[64];

/* Reaper: finishes terminations that had to wait. */
static pthread_cond_t reaperCond = PTHREAD_COND_INITIALIZER;
static int reaperStarted = 0;
static unsigned reaperKicks = 0;
static _Atomic i64 reaperWakeUs = 0;   /* when it will wake by itself, 0 never */

static void regProbeTick(SharedReg *p);
static void regInitOnce(void){
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  regTag = portRandom64() ^ ((u64)ts.tv_sec*1000000000ull + (u64)ts.tv_nsec);
  regNode = (u64)portPid();
  portUserName(regOsUser, sizeof(regOsUser));
  sharedSetTick(regProbeTick);
}

/* ---------------------------------------------------------------- ids */

static u64 regMakeSerial(u64 n){
  return ((regNode & 0xffffff)<<40) | (n & 0xffffffffffull);
}

void registryFormatId(u64 iSerial, char *zOut){
  registryFormatIdTag(0, iSerial, zOut);
}

void registryFormatIdTag(u64 tag, u64 iSerial, char *zOut){
  snprintf(zOut, 33, "%016llx%016llx",
           (unsigned long long)(tag ? tag : regTag), (unsigned long long)iSerial);
}

u64 registryTag(void){
  pthread_once(&regOnce, regInitOnce);
  return regTag;
}

int registryIsIdShape(const char *z){
  int i;
  if( z==0 ) return 0;
  for(i=0; i<32; i++){
    char c = z[i];
    if( !((c>='0' && c<='9') || (c>='a' && c<='f') || (c>='A' && c<='F')) ){
      return 0;
    }
  }
  return z[32]==0;
}

static u64 regParseHex16(const char *z){
  u64 v = 0;
  int i;
  for(i=0; i<16; i++){
    char c = z[i];
    int d = (c>='0' && c<='9') ? c-'0' : (c>='a' && c<='f') ? c-'a'+10 : c-'A'+10;
    v = (v<<4) | (u64)d;
  }
  return v;
}

int registryParseId(const char *z, u64 *pTag, u64 *piSerial){
  pthread_once(&regOnce, regInitOnce);
  if( !registryIsIdShape(z) ) return 0;
  *pTag = regParseHex16(z);
  *piSerial = regParseHex16(z+16);
  return 1;
}

u64 registryNextQuery(void){
  return regMakeSerial(atomic_fetch_add(&regNextSerial, 1) + 1);
}

u64 registryReserveQueries(int n){
  return regMakeSerial(atomic_fetch_add(&regNextSerial, (u64)n) + 1);
}

i64 registryMonoUs(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (i64)ts.tv_sec*1000000 + ts.tv_nsec/1000;
}

atomic_int registryWaiters = 0;
atomic_int registryDefaultStmtTimeoutMs = 0;
atomic_int registryDefaultIdleTimeoutMs = 0;

void registrySetWaiting(CancelSession *s, i64 sinceMs){
  i64 old;
  if( sinceMs==0 && atomic_load_explicit(&s->waitingSinceMs, memory_order_relaxed)==0 ){
    return;   /* the common case: was not waiting, is not */
  }
  old = atomic_exchange(&s->waitingSinceMs, sinceMs);
  if( old==0 && sinceMs!=0 ) atomic_fetch_add(&registryWaiters, 1);
  if( old!=0 && sinceMs==0 ) atomic_fetch_sub(&registryWaiters, 1);
  if( (old==0)!=(sinceMs==0) && s->pSh ){
    pthread_mutex_lock(&s->mu);
    remotePublish(s);
    pthread_mutex_unlock(&s->mu);
  }
}

i64 registryNowMs(void){
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (i64)ts.tv_sec*1000 + ts.tv_nsec/1000000;
}

void registryFormatTime(i64 ms, char *zOut){
  time_t t = (time_t)(ms/1000);
  struct tm tm;
  portGmtime(t, &tm);
  snprintf(zOut, 32, "%04d-%02d-%02d %02d:%02d:%02d.%03d",
           (tm.tm_year+1900)%10000, (tm.tm_mon+1)%100, tm.tm_mday%100,
           tm.tm_hour%100, tm.tm_min%100, tm.tm_sec%100, (int)(ms%1000));
}

/* ----------------------------------------------------------- reasons */

/* The asker of an action of pCaller (regMu held: pCaller->zUser); a NULL
** pCaller is the extension itself. */
static void regAskerOf(CancelSession *pCaller, const char *zAction, CancelAsker *pBy){
  pthread_once(&regOnce, regInitOnce);
  memset(pBy, 0, sizeof(*pBy));
  snprintf(pBy->zAction, sizeof(pBy->zAction), "%s", zAction ? zAction : "");
  if( pCaller ){
    snprintf(pBy->zUser, sizeof(pBy->zUser), "%s", pCaller->zUser);
    pBy->pid = pCaller->pid;
  }
  pBy->timeMs = registryNowMs();
}

void registryTimeoutAsker(CancelAsker *pBy, const char *zAction, int timeoutMs){
  regAskerOf(0, zAction, pBy);
  pBy->timeoutMs = timeoutMs;
}

/*
** s->mu held. The text of cancel_reason(), e.g.
**   cancelled by statement_timeout (500 ms) at 2026-11-26 12:34:56.789
**   terminated by pg_terminate_backend: user root, pid 7, at ...
**   terminated by DELETE FROM sessions: user root, pid 7 (process 4242), at ...
** A termination is final: its reason is never replaced.
*/
void registrySetReasonLocked(CancelSession *s, const char *zVerb, const CancelAsker *pBy){
  char zTime[32];
  if( strncmp(s->zReason, "terminated", 10)==0 ) return;
  registryFormatTime(pBy->timeMs, zTime);
  if( pBy->timeoutMs>0 ){
    snprintf(s->zReason, sizeof(s->zReason), "%s by %s (%d ms) at %s",
             zVerb, pBy->zAction, pBy->timeoutMs, zTime);
  }else if( pBy->zUser[0]==0 ){
    snprintf(s->zReason, sizeof(s->zReason), "%s by %s at %s",
             zVerb, pBy->zAction, zTime);
  }else if( pBy->osPid>0 && pBy->osPid!=(i64)regNode ){
    snprintf(s->zReason, sizeof(s->zReason),
             "%s by %s: user %s, pid %lld (process %lld), at %s",
             zVerb, pBy->zAction, pBy->zUser, (long long)pBy->pid,
             (long long)pBy->osPid, zTime);
  }else{
    snprintf(s->zReason, sizeof(s->zReason), "%s by %s: user %s, pid %lld, at %s",
             zVerb, pBy->zAction, pBy->zUser, (long long)pBy->pid, zTime);
  }
}

char *registryReason(CancelSession *s){
  char *z = 0;
  pthread_mutex_lock(&s->mu);
  if( s->zReason[0] ) z = sqlite3_mprintf("%s", s->zReason);
  pthread_mutex_unlock(&s->mu);
  return z;
}

/* --------------------------------------------------------- enrolment */

/* Is pid held by a session of this process, even one that is closing?
** (regMu held; for sharedNextId after its counter wrapped.) */
static int regPidUsed(i64 pid){
  CancelSession *s;
  for(s=regIndexFirst(REGKEY_PID, (u64)pid); s; s=regIndexNext(REGKEY_PID, s)){
    if( s->pid==pid ) return 1;
  }
  return 0;
}

CancelSession *registryEnrol(sqlite3 *db){
  CancelSession *s;
  const char *zFile;
  pthread_once(&regOnce, regInitOnce);
  s = sqlite3_malloc(sizeof(*s));
  if( s==0 ) return 0;
  memset(s, 0, sizeof(*s));
  s->db = db;
  s->startMs = registryNowMs();
  zFile = sqlite3_db_filename(db, "main");
  s->zDatabase = sqlite3_mprintf("%s", zFile ? zFile : "");
  s->zUser = sqlite3_mprintf("%s", regOsUser);
  s->zAppName = sqlite3_mprintf("");
  s->isAdmin = 1;
  if( s->zDatabase==0 || s->zUser==0 || s->zAppName==0 ){
    sqlite3_free(s->zDatabase);
    sqlite3_free(s->zUser);
    sqlite3_free(s->zAppName);
    sqlite3_free(s);
    return 0;
  }
  pthread_mutex_init(&s->mu, 0);
  portCondInitMono(&s->cond);   /* busy-handler waits: monotonic deadlines */
  atomic_init(&s->stmtTimeoutMs, atomic_load(&registryDefaultStmtTimeoutMs));
  atomic_init(&s->idleTimeoutMs, atomic_load(&registryDefaultIdleTimeoutMs));
  atomic_init(&s->idleDeadlineUs, 0);
  atomic_init(&s->iCancelQuery, 0);
  atomic_init(&s->eTerm, TERM_NONE);
  atomic_init(&s->denyInstalled, 0);
  atomic_init(&s->waitingSinceMs, 0);
  atomic_init(&s->hooksLost, 0);
  /* SQLITE_OPEN_NOMUTEX, or a process in multi-thread or single-thread
  ** mode (the sqlite3 shell): see doc/threading.md */
  s->noMutex = sqlite3_db_mutex(db)==0;
  /* The caller's reference, taken before the session is listed: once it
  ** is, any thread may pin and unpin it (cancel_sessions on every session
  ** while a job opens its connection), and the unpin would free a session
  ** with no reference while it is still in the list (fuzz_functions found
  ** that use-after-free). The caller drops it with registryUnref(). */
  s->nReg = 1;
  /* Across processes (README: "Across processes"), unless switched off for the process or by
  ** the URI parameter cancel_shared=0 of this connection. The file is
  ** attached before the pid is chosen: its counter takes part. */
  if( zFile && zFile[0] && sharedDefault() && !sharedSuppressed()
   && sqlite3_uri_boolean(zFile, "cancel_shared", 1) ){
    s->pShReg = sharedAttach(zFile);
  }
  pthread_mutex_lock(&regMu);
  s->pid = sharedNextId(0, regPidUsed);
  s->iSerial = registryNextQuery();
  s->pPrev = regLast;
  if( regLast ) regLast->pNext = s; else regFirst = s;
  regLast = s;
  regIndexAdd(s);
  pthread_mutex_unlock(&regMu);
  if( s->pShReg ) remoteClaim(s->pShReg, s);
  return s;
}

CancelSession *registryFind(sqlite3 *db){
  CancelSession *s;
  pthread_mutex_lock(&regMu);
  for(s=regIndexFirst(REGKEY_DB, (u64)(uintptr_t)db); s; s=regIndexNext(REGKEY_DB, s)){
    if( s->db==db && !s->closing ) break;
  }
  pthread_mutex_unlock(&regMu);
  return s;
}

static void regFree(CancelSession *s){
  registrySetWaiting(s, 0);
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->cond);
  sqlite3_free(s->aStmt);
  sqlite3_free(s->zLast);
  sqlite3_free(s->zDatabase);
  sqlite3_free(s->zUser);
  sqlite3_free(s->zAppName);
  sqlite3_free(s->zClientAddr);
  sqlite3_free(s);
}

/* Drop a registration (bPin==0) or a pin (bPin==1) with regMu held.
** When the last registration goes, the connection is closing: the
** session leaves the list, and nobody may touch s->db again, even if a
** pin keeps the struct alive. Returns 1 if s must be freed now. */
static int regDropLocked(CancelSession *s, int bPin){
  if( bPin ){
    s->nPin--;
  }else if( --s->nReg==0 ){
    s->closing = 1;
    if( s->pPrev ) s->pPrev->pNext = s->pNext; else regFirst = s->pNext;
    if( s->pNext ) s->pNext->pPrev = s->pPrev; else regLast = s->pPrev;
    regIndexRemove(s);
    /* what was asked of it and not done yet ends here (a final outcome
    ** is kept: cancelLogOutcome) */
    pthread_mutex_lock(&s->mu);
    if( s->iLogCancel ) cancelLogOutcome(s->iLogCancel, LOG_GONE);
    s->iLogCancel = 0;
    if( s->iLogTerm ) cancelLogOutcome(s->iLogTerm, LOG_GONE);
    pthread_mutex_unlock(&s->mu);
    if( s->pSh ){
      /* out of the shared registry too (here, while nothing can free s) */
      pthread_mutex_lock(&s->mu);
      remoteRelease(s);
      pthread_mutex_unlock(&s->mu);
    }
    pthread_cond_broadcast(&regGone);
  }
  return s->nReg==0 && s->nPin==0;
}

static void regDrop(CancelSession *s, int bPin){
  int bFree, bClosed;
  u64 iSerial = s->iSerial;     /* immutable; s may be freed by others below */
  pthread_mutex_lock(&regMu);
  bFree = regDropLocked(s, bPin);
  bClosed = !bPin && s->nReg==0;
  pthread_mutex_unlock(&regMu);
  /* (after regMu: the jobs lock comes first) */
  if( bClosed ) jobsSessionClosed(iSerial);
  if( bFree ) regFree(s);
}

void registryRef(CancelSession *s){
  pthread_mutex_lock(&regMu);
  s->nReg++;
  pthread_mutex_unlock(&regMu);
}

/* The destructor of every registration calls this. The last one runs
** while sqlite3_close holds the connection mutex, after which the
** connection is gone. */
void registryUnref(CancelSession *s){
  regDrop(s, 0);
}

/* Pins (regMu held to take one) keep the struct, not the connection. */
static void regUnpin(CancelSession *s){
  regDrop(s, 1);
}

/* ----------------------------------------------------------- callers */

void registryCaller(CancelSession *s, char **pzUser, int *pIsAdmin){
  pthread_mutex_lock(&regMu);
  *pzUser = sqlite3_mprintf("%s", s->zUser);
  *pIsAdmin = s->isAdmin;
  pthread_mutex_unlock(&regMu);
}

int registrySetUser(CancelSession *s, const char *zUser, int isAdmin){
  char *z = sqlite3_mprintf("%s", zUser);
  int rc = REG_OK;
  if( z==0 ) return REG_NOMEM;
  pthread_mutex_lock(&regMu);
  if( !s->isAdmin ){
    rc = REG_DENIED;
  }else{
    pthread_mutex_lock(&s->mu);
    sqlite3_free(s->zUser);
    s->zUser = z;
    z = 0;
    s->isAdmin = isAdmin ? 1 : 0;
    remotePublish(s);
    pthread_mutex_unlock(&s->mu);
  }
  pthread_mutex_unlock(&regMu);
  sqlite3_free(z);
  return rc;
}

static int regSetText(CancelSession *s, char **pz, const char *zNew){
  char *z = zNew ? sqlite3_mprintf("%s", zNew) : 0;
  if( zNew && z==0 ) return REG_NOMEM;
  pthread_mutex_lock(&regMu);
  pthread_mutex_lock(&s->mu);
  sqlite3_free(*pz);
  *pz = z;
  remotePublish(s);
  pthread_mutex_unlock(&s->mu);
  pthread_mutex_unlock(&regMu);
  return REG_OK;
}

int registrySetAppName(CancelSession *s, const char *zName){
  return regSetText(s, &s->zAppName, zName);
}

int registrySetClientAddr(CancelSession *s, const char *zAddr){
  return regSetText(s, &s->zClientAddr, zAddr);
}

/* ---------------------------------------------------------- lookups */

/* A session a cancel may be aimed at: alive and not yet fully ended. */
static int regTargetable(CancelSession *s){
  return !s->closing && atomic_load(&s->eTerm)!=TERM_DONE;
}

static CancelSession *regBySerial(u64 iSerial){
  CancelSession *s;
  for(s=regIndexFirst(REGKEY_SERIAL, iSerial); s; s=regIndexNext(REGKEY_SERIAL, s)){
    if( s->iSerial==iSerial && regTargetable(s) ) return s;
  }
  return 0;
}

static CancelSession *regByPid(i64 pid){
  CancelSession *s;
  for(s=regIndexFirst(REGKEY_PID, (u64)pid); s; s=regIndexNext(REGKEY_PID, s)){
    if( s->pid==pid && regTargetable(s) ) return s;
  }
  return 0;
}

/* Users and privileges: an admin may cancel anything, others only their own user's.
** A NULL caller is the extension itself (a timeout). */
static int regAllowed(CancelSession *pCaller, CancelSession *pTarget){
  if( pCaller==0 || pCaller->isAdmin ) return 1;
  return strcmp(pCaller->zUser, pTarget->zUser)==0;
}

/* ------------------------------------------------------- cancelling */

/* Log an action of pCaller (regMu held) on target s, which may be NULL
** when it was not found; then fill in what is known of the target. */
static i64 regLog(CancelSession *pCaller, const char *zAction,
                  CancelSession *s, LogTarget *pT, const char *zOutcome){
  CancelSession *pBy = pCaller ? pCaller : s;
  if( s ){
    pT->iSession = s->iSerial;
    pT->pid = s->pid;
    pT->zUser = s->zUser;
  }
  /* Published in the registry of the target's database (or of the one
  ** the caller acts on), where watchers read it. A request that another
  ** process serves is published by that process, with the outcome it
  ** sees, and under the asker's action and user. */
  pT->pSh = pT->bLocal ? 0 : s ? s->pShReg : registryScope(pCaller);
  if( pCaller==0 && pT->pAsker && pT->pAsker->osPid ){
    return cancelLogAdd(0, pT->pAsker->zUser,
                        cancelLogAction(pT->pAsker->zAction, zAction), pT, zOutcome);
  }
  return cancelLogAdd(pBy ? pBy->iSerial : 0, pBy ? pBy->zUser : 0,
                      zAction, pT, zOutcome);
}

/* With s->mu held: is execution iQuery among s's running statements? */
static ActiveStmt *regRunning(CancelSession *s, u64 iQuery){
  int i;
  for(i=0; i<s->nStmt; i++){
    if( s->aStmt[i].iQuery==iQuery ) return &s->aStmt[i];
  }
  return 0;
}

/* Ask s's own thread to interrupt execution iQuery (0: the statement it
** runs now), if that is still running, and log it. The check and the
** request are made under s->mu, which the statement's end also takes,
** so a request is never left behind for an execution that has ended.
** The progress and busy handlers compare it with the statement they
** run, and fill in the log entry's outcome. regMu is held.
**
** When the application replaced our hooks (hooks.c, doc/hooks.md):
**
** - trace taken: nothing is known of what runs; the cancel is not
**   delivered (REG_UNDELIVERED), and the log says why.
**
** - progress handler taken: nothing of ours runs inside the statement to
**   see the request. Deliver it with sqlite3_interrupt(), which is safe
**   from any thread as long as the connection is not being closed: regMu
**   is held and s->closing is 0 (closing is set, under regMu, by the
**   destructor that sqlite3_close runs before the connection is freed).
**   It must hit the statement that is running and no later one. SQLite
**   clears the interrupt flag when a statement starts while no other
**   statement of the connection is active; and the statement's end
**   (PROFILE, hooksStmtEnd) takes s->mu, which we hold from the check
**   that it runs until the flag is set, so the next statement cannot
**   start before the flag is set, and its start then clears it. The
**   hazard that remains: another statement active on the connection at
**   the same time (a cursor stepped and left) keeps SQLite from clearing
**   the flag, and that one, or a statement started while it stays
**   active, would be hit too. So this is done only when exactly one
**   statement is recorded; otherwise the cancel is not delivered.
**   iCancelQuery is still set, for our busy handler (a lock wait does
**   not look at the interrupt flag) and for our progress handler should
**   it come back.
*/
static int regRequestIfRunning(CancelSession *pCaller, const char *zAction,
                               CancelSession *s, u64 iQuery,
                               const CancelAsker *pBy){
  LogTarget t;
  ActiveStmt *a;
  i64 iLog;
  int rc = REG_OK;
  int lost = atomic_load(&s->hooksLost);
  CancelAsker by;
  memset(&t, 0, sizeof(t));
  if( pBy==0 ){
    regAskerOf(pCaller, zAction, &by);
    pBy = &by;
  }
  t.pAsker = pBy;
  pthread_mutex_lock(&s->mu);
  if( lost & HOOKS_TRACE_LOST ){
    t.iQuery = iQuery;
    regLog(pCaller, zAction, s, &t, LOG_NO_TRACE);
    pthread_mutex_unlock(&s->mu);
    return REG_UNDELIVERED;
  }
  if( iQuery==0 && s->nStmt>0 ) iQuery = s->aStmt[s->nStmt-1].iQuery;
  a = iQuery ? regRunning(s, iQuery) : 0;
  if( a && (lost & HOOKS_PROGRESS_LOST) ){
    t.iQuery = a->iQuery;
    t.zSql = a->zSql;
    if( s->nStmt==1 && !s->closing ){
      regLog(pCaller, zAction, s, &t, LOG_INTERRUPT);
      if( s->iLogCancel ) cancelLogOutcome(s->iLogCancel, LOG_FINISHED);
      s->iLogCancel = 0;
      atomic_store(&s->iCancelQuery, iQuery);
      pthread_cond_broadcast(&s->cond);
      registrySetReasonLocked(s, "cancelled", pBy);
      sqlite3_interrupt(s->db);
    }else{
      regLog(pCaller, zAction, s, &t, LOG_NO_PROGRESS);
      rc = REG_UNDELIVERED;
    }
  }else if( a ){
    t.iQuery = a->iQuery;
    t.zSql = a->zSql;
    iLog = regLog(pCaller, zAction, s, &t, LOG_REQUESTED);
    if( s->iLogCancel ) cancelLogOutcome(s->iLogCancel, LOG_FINISHED);
    s->iLogCancel = iLog;
    s->cancelBy = *pBy;          /* the reason, if it stops the statement */
    atomic_store(&s->iCancelQuery, iQuery);
    pthread_cond_broadcast(&s->cond);
  }else{
    /* Idle, or it ended meanwhile: as if it had ended before the call. */
    t.iQuery = iQuery;
    regLog(pCaller, zAction, s, &t, iQuery ? LOG_FINISHED : LOG_IDLE);
  }
  pthread_mutex_unlock(&s->mu);
  return rc;
}

/* ----------------------------------------------- other processes */

static int regTerminateLocked(CancelSession *pCaller, const char *zAction,
                              CancelSession *s, u64 iSerial, i64 pid,
                              const CancelAsker *pBy);

/* The caller's user and admin flag, and the registry file of its
** database; 0 when it has none usable (then other processes' sessions
** are simply not found). */
static SharedReg *regRemoteCaller(CancelSession *pCaller, char **pzUser, int *pIsAdmin){
  if( !sharedUsable(registryScope(pCaller)) ) return 0;
  registryCaller(pCaller, pzUser, pIsAdmin);
  if( *pzUser==0 ) return 0;
  return registryScope(pCaller);
}

/* A request handed to another process: log it here, in the caller's. */
static void regLogRemote(CancelSession *pCaller, const char *zAction,
                         SharedReg *p, const RemoteTarget *pT, int rc,
                         const char *zOk){
  LogTarget t;
  memset(&t, 0, sizeof(t));
  t.iTag = pT->tag;
  t.iSession = pT->iSerial;
  t.pid = pT->pid;
  t.zUser = pT->zUser[0] ? pT->zUser : 0;
  t.iQuery = pT->iQuery;
  t.bLocal = rc==REG_OK && strcmp(zOk, LOG_IDLE)!=0;  /* (idle: nothing sent) */
  if( t.bLocal && pT->pBy && pT->cell ){
    /* the target answers in p's log, under the request's token */
    t.pAsker = pT->pBy;
    t.pAskSh = p;
    t.iAskSlot = pT->iSlot;
    t.bAskTerm = pT->bTermCell;
    t.askCell = pT->cell;
  }
  pthread_mutex_lock(&regMu);
  regLog(pCaller, zAction, 0, &t, rc==REG_OK ? zOk
                          : rc==REG_DENIED ? LOG_DENIED
                          : rc==REG_UNDELIVERED ? LOG_NO_TRACE : LOG_NOTFOUND);
  pthread_mutex_unlock(&regMu);
}

/* One of the four remote requests, with its logging. */
#define REMOTE_CANCEL_QUERY   1
#define REMOTE_CANCEL_BACKEND 2
#define REMOTE_TERMINATE      3
#define REMOTE_CHECK          4
static int regRemote(CancelSession *pCaller, const char *zAction, int eKind,
                     u64 tag, u64 iSerial, i64 pid){
  RemoteTarget t;
  char *zUser = 0;
  int isAdmin = 0, rc = REG_NOTFOUND;
  SharedReg *p = regRemoteCaller(pCaller, &zUser, &isAdmin);
  CancelAsker by;
  memset(&t, 0, sizeof(t));
  if( p ){
    pthread_mutex_lock(&regMu);
    regAskerOf(pCaller, zAction, &by);
    pthread_mutex_unlock(&regMu);
    by.osPid = (i64)regNode;
    by.token = cancelLogNewToken();
    t.pBy = &by;
  }
  t.tag = tag;
  t.iSerial = eKind==REMOTE_CANCEL_QUERY ? 0 : iSerial;
  t.iQuery = eKind==REMOTE_CANCEL_QUERY ? iSerial : 0;
  t.pid = pid;
  if( p ){
    switch( eKind ){
      case REMOTE_CANCEL_QUERY:
        rc = remoteCancelQuery(p, zUser, isAdmin, tag, iSerial, &t);
        break;
      case REMOTE_CANCEL_BACKEND:
        rc = remoteCancelBackend(p, zUser, isAdmin, pid, &t);
        break;
      case REMOTE_TERMINATE:
        rc = remoteTerminate(p, zUser, isAdmin, tag, iSerial, pid, &t);
        break;
      default:
        rc = remoteCheckSession(p, zUser, isAdmin, tag, iSerial, pid, &t);
        break;
    }
  }
  sqlite3_free(zUser);
  if( zAction ){
    /* (a check is logged only for a bulk call it refuses: "denied") */
    regLogRemote(pCaller, zAction, p, &t, rc,
                 eKind==REMOTE_CHECK ? LOG_DENIED
                 : eKind==REMOTE_TERMINATE ? (t.noMutex ? LOG_TERM_NOMUTEX : LOG_TERMINATING)
                 : (eKind==REMOTE_CANCEL_BACKEND && t.iQuery==0) ? LOG_IDLE
                 : LOG_REQUESTED);
  }
  return rc;
}

/*
** A request from another process, found in slot iSlot of registry p by
** the agent thread: apply it as if made here, by the session itself
** (the privilege check was the requester's). cancelCell holds the low 40
** bits of the query serial; the high bits are this process's.
*/
void registryServeRemote(SharedReg *p, int iSlot, u64 owner, u64 cancelCell, int bTerm,
                         const CancelAsker *pCancelBy, const CancelAsker *pTermBy){
  CancelSession *s;
  pthread_mutex_lock(&regMu);
  /* The slot's owner word too, not just its index: the session the
  ** request was checked against may have closed since, and a new session
  ** of this process taken the same slot (test/soak.c found a termination
  ** meant for a closed session hitting its successor that way). */
  for(s=regFirst; s; s=s->pNext){
    int bMatch;
    if( !regTargetable(s) ) continue;
    pthread_mutex_lock(&s->mu);
    bMatch = s->pSh==p && s->iShSlot==iSlot && s->shOwner==owner;
    pthread_mutex_unlock(&s->mu);
    if( bMatch ) break;
  }
  if( s && cancelCell ){
    u64 iQuery = ((regNode & 0xffffff)<<40) | (cancelCell & 0xffffffffffull);
    regRequestIfRunning(0, "cancel from another process", s, iQuery, pCancelBy);
  }
  if( s && bTerm ){
    regTerminateLocked(0, "terminate from another process", s, 0, s->pid, pTermBy);
    return;                                   /* (released regMu) */
  }
  pthread_mutex_unlock(&regMu);
}

char *registrySharedStatus(CancelSession *pCaller){
  if( pCaller->pWatch ){
    char *z = sharedStatus(pCaller->pWatch);
    char *zOut = z ? sqlite3_mprintf("watching: %s", z) : 0;
    sqlite3_free(z);
    return zOut;
  }
  if( pCaller->pShReg==0 ){
    return sqlite3_mprintf(pCaller->zDatabase[0] ? "off" : "off: in-memory database");
  }
  if( sharedUsable(pCaller->pShReg) ){
    int bSlot;
    pthread_mutex_lock(&pCaller->mu);
    bSlot = pCaller->pSh!=0;
    pthread_mutex_unlock(&pCaller->mu);
    /* the registry was full when it opened: never silently unlisted */
    if( !bSlot ) return sharedStatusNoSlot(pCaller->pShReg);
  }
  return sharedStatus(pCaller->pShReg);
}

SharedReg *registryScope(CancelSession *pCaller){
  if( pCaller==0 ) return 0;
  return pCaller->pWatch ? pCaller->pWatch : pCaller->pShReg;
}

/* Watching reads and writes only the registry file beside zDb: the
** database itself is never opened, so its locks cannot stop a watcher.
** (Only the session's own thread reads pWatch.) */
int registryWatch(CancelSession *pCaller, const char *zDb, char **pzErr){
  SharedReg *p;
  char *zPath;
  *pzErr = 0;
  if( zDb==0 || zDb[0]==0 ){
    pCaller->pWatch = 0;
    return REG_OK;
  }
  zPath = sharedWatchPath(zDb, pzErr);
  if( zPath==0 ) return *pzErr ? REG_NOTFOUND : REG_NOMEM;
  p = sharedAttach(zPath);
  sqlite3_free(zPath);
  if( p==0 ) return REG_NOMEM;
  if( !sharedUsable(p) ){
    char *zWhy = sharedStatus(p);
    *pzErr = zWhy ? sqlite3_mprintf("cannot watch %s: %s", zDb, zWhy) : 0;
    sqlite3_free(zWhy);
    return *pzErr ? REG_NOTFOUND : REG_NOMEM;
  }
  pCaller->pWatch = p;
  return REG_OK;
}

int registryCancelQuery(CancelSession *pCaller, u64 tag, u64 iQuery, const char *zAction){
  CancelSession *s;
  int rc = REG_NOTFOUND;
  if( tag!=registryTag() ){
    return regRemote(pCaller, zAction, REMOTE_CANCEL_QUERY, tag, iQuery, 0);
  }
  LogTarget t;
  memset(&t, 0, sizeof(t));
  pthread_mutex_lock(&regMu);
  for(s=regFirst; s; s=s->pNext){
    int bFound;
    if( !regTargetable(s) ) continue;
    pthread_mutex_lock(&s->mu);
    bFound = regRunning(s, iQuery)!=0;
    pthread_mutex_unlock(&s->mu);
    if( !bFound ) continue;
    if( !regAllowed(pCaller, s) ){
      rc = REG_DENIED;
      t.iQuery = iQuery;
      regLog(pCaller, zAction, s, &t, LOG_DENIED);
    }else{
      rc = regRequestIfRunning(pCaller, zAction, s, iQuery, 0);
    }
    break;
  }
  if( rc==REG_NOTFOUND ){
    t.iQuery = iQuery;
    regLog(pCaller, zAction, 0, &t, LOG_NOTFOUND);
  }
  pthread_mutex_unlock(&regMu);
  return rc;
}

int registryCancelBackend(CancelSession *pCaller, i64 pid, const char *zAction){
  CancelSession *s;
  int rc;
  LogTarget t;
  memset(&t, 0, sizeof(t));
  pthread_mutex_lock(&regMu);
  s = regByPid(pid);
  if( s==0 && pid>0 ){
    /* not a session of this process: one of another (doc/ids.md) */
    pthread_mutex_unlock(&regMu);
    return regRemote(pCaller, zAction, REMOTE_CANCEL_BACKEND, 0, 0, pid);
  }
  if( s==0 ){
    rc = REG_NOTFOUND;
    t.pid = pid;
    regLog(pCaller, zAction, 0, &t, LOG_NOTFOUND);
  }else if( !regAllowed(pCaller, s) ){
    rc = REG_DENIED;
    regLog(pCaller, zAction, s, &t, LOG_DENIED);
  }else{
    rc = regRequestIfRunning(pCaller, zAction, s, 0, 0);
  }
  pthread_mutex_unlock(&regMu);
  return rc;
}

int registryCheckSerial(CancelSession *pCaller, u64 tag, u64 iSerial){
  CancelSession *s;
  int rc;
  if( tag!=registryTag() ){
    return regRemote(pCaller, 0, REMOTE_CHECK, tag, iSerial, 0);
  }
  pthread_mutex_lock(&regMu);
  s = regBySerial(iSerial);
  rc = s==0 ? REG_NOTFOUND : regAllowed(pCaller, s) ? REG_OK : REG_DENIED;
  pthread_mutex_unlock(&regMu);
  return rc;
}

/* A bulk call refused because of session iSerial: log it. */
void registryLogDenied(CancelSession *pCaller, const char *zAction, u64 tag, u64 iSerial){
  CancelSession *s;
  LogTarget t;
  memset(&t, 0, sizeof(t));
  if( tag!=registryTag() ){
    regRemote(pCaller, zAction, REMOTE_CHECK, tag, iSerial, 0);
    return;
  }
  pthread_mutex_lock(&regMu);
  s = regBySerial(iSerial);
  if( s==0 ) t.iSession = iSerial;
  regLog(pCaller, zAction, s, &t, s ? LOG_DENIED : LOG_NOTFOUND);
  pthread_mutex_unlock(&regMu);
}

static void reaperKickLocked(void);

/* Mark s terminated (regMu held, released here), then try to finish at
** once. A NULL s was not found: iSerial or pid says what was asked. */
static int regTerminateLocked(CancelSession *pCaller, const char *zAction,
                              CancelSession *s, u64 iSerial, i64 pid,
                              const CancelAsker *pBy){
  int expected = TERM_NONE;
  LogTarget t;
  CancelAsker by;
  memset(&t, 0, sizeof(t));
  if( s==0 ){
    t.iSession = iSerial;
    t.pid = pid;
    regLog(pCaller, zAction, 0, &t, LOG_NOTFOUND);
    pthread_mutex_unlock(&regMu);
    return REG_NOTFOUND;
  }
  if( !regAllowed(pCaller, s) ){
    regLog(pCaller, zAction, s, &t, LOG_DENIED);
    pthread_mutex_unlock(&regMu);
    return REG_DENIED;
  }
  if( pBy==0 ){
    regAskerOf(pCaller, zAction, &by);
    pBy = &by;
  }
  t.pAsker = pBy;
  pthread_mutex_lock(&s->mu);
  if( s->nStmt>0 ){
    t.iQuery = s->aStmt[s->nStmt-1].iQuery;
    t.zSql = s->aStmt[s->nStmt-1].zSql;
  }
  if( s==pCaller && s->nStmt>0 && pthread_equal(s->execThread, pthread_self())
   && atomic_load(&s->eTerm)==TERM_NONE ){
    /* A session terminating itself from inside a statement: that
    ** statement completes normally, and the termination takes effect
    ** once it has ended (registrySelfTerminate, from its end hook). */
    if( !s->selfTerm ){
      s->selfTerm = 1;
      s->selfTermBy = *pBy;
      s->iLogTerm = regLog(pCaller, zAction, s, &t, LOG_TERMINATING);
    }else{
      regLog(pCaller, zAction, s, &t, LOG_ALREADY);
    }
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_unlock(&regMu);
    return REG_OK;
  }
  if( atomic_compare_exchange_strong(&s->eTerm, &expected, TERM_REQUEST) ){
    s->iLogTerm = regLog(pCaller, zAction, s, &t, LOG_TERMINATING);
    registrySetReasonLocked(s, "terminated", pBy);
    if( (atomic_load(&s->hooksLost) & HOOKS_PROGRESS_LOST) && s->nStmt==1 ){
      /* nothing of ours runs inside the statement to stop it: see
      ** regRequestIfRunning for why this is safe (regMu held, not
      ** closing: regTargetable) */
      sqlite3_interrupt(s->db);
    }
  }else{
    regLog(pCaller, zAction, s, &t, LOG_ALREADY);
  }
  pthread_cond_broadcast(&s->cond);      /* out of a busy-handler wait */
  remotePublish(s);
  pthread_mutex_unlock(&s->mu);
  s->nPin++;                              /* pin while we work on it */
  pthread_mutex_unlock(&regMu);

  if( !registryFinishTermination(s) ){
    pthread_mutex_lock(&regMu);
    reaperKickLocked();
    pthread_mutex_unlock(&regMu);
  }
  regUnpin(s);
  return REG_OK;
}

int registryTerminateBySerial(CancelSession *pCaller, u64 tag, u64 iSerial, const char *zAction){
  if( tag!=registryTag() ){
    return regRemote(pCaller, zAction, REMOTE_TERMINATE, tag, iSerial, 0);
  }
  pthread_mutex_lock(&regMu);
  return regTerminateLocked(pCaller, zAction, regBySerial(iSerial), iSerial, 0, 0);
}

int registryTerminateByPid(CancelSession *pCaller, i64 pid, const char *zAction){
  CancelSession *s;
  pthread_mutex_lock(&regMu);
  s = regByPid(pid);
  if( s==0 && pid>0 ){
    /* not a session of this process: one of another (doc/ids.md) */
    pthread_mutex_unlock(&regMu);
    return regRemote(pCaller, zAction, REMOTE_TERMINATE, 0, 0, pid);
  }
  return regTerminateLocked(pCaller, zAction, s, 0, pid, 0);
}

/* The own thread of s, from its statement-end hook, once none of its
** statements runs: a self-termination deferred by regTerminateLocked
** takes effect. The rollback is left to the reaper (we are inside
** SQLite's end of a statement); the deny-all authorizer goes in now, so
** that every later statement is refused at prepare. */
void registrySelfTerminate(CancelSession *s){
  int expected = TERM_NONE, bDo = 0;
  pthread_mutex_lock(&regMu);
  pthread_mutex_lock(&s->mu);
  if( s->selfTerm && s->nStmt==0 ){
    s->selfTerm = 0;
    if( !s->closing
     && atomic_compare_exchange_strong(&s->eTerm, &expected, TERM_REQUEST) ){
      registrySetReasonLocked(s, "terminated", &s->selfTermBy);
      remotePublish(s);
      bDo = 1;
    }
  }
  pthread_mutex_unlock(&s->mu);
  if( bDo ) reaperKickLocked();
  pthread_mutex_unlock(&regMu);
  if( bDo ) hooksDenyAll(s);
}

/* With the connection's mutex held: reset every statement of db that is
** in the middle of a run (stepped, not reset). Returns how many it
** found. */
static int regResetAll(sqlite3 *db){
  sqlite3_stmt *p;
  int n = 0;
  for(p=sqlite3_next_stmt(db, 0); p; p=sqlite3_next_stmt(db, p)){
    if( sqlite3_stmt_busy(p) ){
      sqlite3_reset(p);
      n++;
    }
  }
  return n;
}

/*
** Complete the termination of s: reset its open statements and roll
** back its transaction (releasing every lock it holds) and install the
** deny-all authorizer, which also expires every prepared statement so
** that none can run again. TERM_DONE (the session leaves the list, here
** and in other processes, and the cancel log says 'terminated') is set
** only once no transaction and no statement is left.
**
** Returns 1 when nothing is left to do (done, closing, or impossible
** because the connection has no mutex), 0 to be retried later.
**
** The connection mutex is taken with a try-lock while regMu is held:
** if close is under way it holds that mutex and we back off; once we
** hold it, close cannot start, so regMu can be released.
*/
int registryFinishTermination(CancelSession *s){
  sqlite3_mutex *m;
  int bSameThread, bLeft, rcErr;
  pthread_mutex_lock(&regMu);
  if( s->closing || atomic_load(&s->eTerm)!=TERM_REQUEST ){
    pthread_mutex_unlock(&regMu);
    return 1;
  }
  m = sqlite3_db_mutex(s->db);
  if( m==0 ){
    /* SQLITE_OPEN_NOMUTEX or single-thread mode: another thread may not
    ** use the connection (doc/threading.md). If it holds nothing (no
    ** statement, no transaction), the termination is complete now: its
    ** own hooks refuse whatever it runs next. Otherwise its own next call
    ** releases the transaction (hooksRefuse, the commit hook), and
    ** registryNoMutexTerminated() completes it then. */
    int bDone;
    pthread_mutex_lock(&s->mu);
    bDone = s->nStmt==0 && !s->inXact && atomic_load(&s->hooksLost)==0;
    /* (the outcome before the session leaves other processes' lists:
    ** an asker that sees it gone then finds the final outcome) */
    cancelLogOutcome(s->iLogTerm, bDone ? LOG_TERMINATED : LOG_TERM_NOMUTEX);
    if( bDone ){
      atomic_store(&s->idleDeadlineUs, 0);
      atomic_store(&s->eTerm, TERM_DONE);
      remotePublish(s);
    }
    pthread_mutex_unlock(&s->mu);
    if( bDone ) pthread_cond_broadcast(&regGone);
    pthread_mutex_unlock(&regMu);
    return 1;
  }
  if( sqlite3_mutex_try(m)!=SQLITE_OK ){
    pthread_mutex_unlock(&regMu);
    return 0;
  }
  /* The application may be reading the error of the statement the
  ** termination stopped: sqlite3_errmsg() hands out a pointer that stays
  ** valid only until the next call on the connection, and our ROLLBACK
  ** is such a call (made from this thread, so the application's mutex
  ** does not protect it; TSan on the Tcl suite saw a message freed under
  ** a reader when we set a new one). So while an error is pending and a
  ** transaction is still open (an interrupted write rolls back by
  ** itself), wait TERM_ERROR_GRACE_US for the application to read it and
  ** roll back itself, and never write an error message of our own. */
  rcErr = sqlite3_errcode(s->db);     /* (a step that returned a row or
                                      ** finished leaves ROW or DONE) */
  if( rcErr!=SQLITE_OK && rcErr!=SQLITE_ROW && rcErr!=SQLITE_DONE
   && !sqlite3_get_autocommit(s->db) ){
    i64 now = registryMonoUs();
    if( s->termErrorSinceUs==0 ) s->termErrorSinceUs = now;
    if( now - s->termErrorSinceUs < TERM_ERROR_GRACE_US ){
      sqlite3_mutex_leave(m);
      pthread_mutex_unlock(&regMu);
      return 0;
    }
  }
  /* The mutex is recursive: we may be the target's own thread, called
  ** from inside one of its statements. Rolling back under a running
  ** statement is not safe; leave it to the reaper. */
  pthread_mutex_lock(&s->mu);
  bSameThread = s->nStmt>0 && pthread_equal(s->execThread, pthread_self());
  if( !bSameThread ) s->finishing = 1;
  pthread_mutex_unlock(&s->mu);
  if( bSameThread ){
    sqlite3_mutex_leave(m);
    pthread_mutex_unlock(&regMu);
    return 0;
  }
  s->nPin++;
  pthread_mutex_unlock(&regMu);

  /* Every lock goes: first the statements the application stepped and
  ** left (a forgotten cursor keeps a read transaction open, in autocommit
  ** mode too), then the transaction. We hold the connection mutex, so no
  ** statement of it runs now (one running on this very thread was ruled
  ** out above): sqlite3_stmt_busy() and sqlite3_reset() are safe here,
  ** and only here. Each reset fires the trace's PROFILE event, which
  ** takes the statement off the session's list. The deny-all authorizer
  ** expires every statement: one the application steps again is
  ** re-prepared, and refused ("not authorized"), never restarted. A
  ** successful ROLLBACK leaves the message bytes alone: it only marks
  ** the error cleared; a reset of a statement that returned a row has no
  ** error to transfer. */
  hooksDenyAll(s);
  regResetAll(s->db);
  if( !sqlite3_get_autocommit(s->db) ){
    sqlite3_exec(s->db, "ROLLBACK", 0, 0, 0);
  }
  /* Report success only once the locks are gone: otherwise stay
  ** 'terminating' (listed, not logged as terminated, the waiting forms
  ** keep waiting) and let the reaper try again. */
  bLeft = regResetAll(s->db)>0
       || sqlite3_txn_state(s->db, 0)!=SQLITE_TXN_NONE;

  pthread_mutex_lock(&s->mu);
  s->finishing = 0;
  s->inXact = !sqlite3_get_autocommit(s->db);
  s->eXactKind = sqlite3_txn_state(s->db, 0);
  if( !s->inXact && s->nStmt==0 ) s->xactStartMs = 0;
  pthread_mutex_unlock(&s->mu);
  if( bLeft ){
    sqlite3_mutex_leave(m);
    regUnpin(s);
    return 0;
  }
  atomic_store(&s->idleDeadlineUs, 0);
  atomic_store(&s->eTerm, TERM_DONE);
  /* the outcome first: see above */
  cancelLogOutcome(s->iLogTerm, LOG_TERMINATED);
  pthread_mutex_lock(&s->mu);
  remotePublish(s);                       /* gone for other processes */
  pthread_mutex_unlock(&s->mu);
  sqlite3_mutex_leave(m);

  pthread_mutex_lock(&regMu);
  pthread_cond_broadcast(&regGone);
  pthread_mutex_unlock(&regMu);
  regUnpin(s);
  return 1;
}

void registryNoMutexTerminated(CancelSession *s){
  int expected = TERM_REQUEST;
  if( !atomic_load(&s->denyInstalled) ) hooksDenyAll(s);
  if( !atomic_compare_exchange_strong(&s->eTerm, &expected, TERM_DONE) ) return;
  atomic_store(&s->idleDeadlineUs, 0);
  cancelLogOutcome(s->iLogTerm, LOG_TERMINATED);   /* (first: see above) */
  pthread_mutex_lock(&s->mu);
  remotePublish(s);                       /* gone for other processes */
  pthread_mutex_unlock(&s->mu);
  pthread_mutex_lock(&regMu);
  pthread_cond_broadcast(&regGone);
  pthread_mutex_unlock(&regMu);
}

int registryWaitGone(CancelSession *pCaller, i64 pid, int timeoutMs){
  return registryWaitGoneStop(pCaller, pid, timeoutMs, 0, 0)==1;
}

/* How often the wait looks at xStop (a cancel or timeout of the waiting
** statement is signalled on the caller's own condition, not regGone). */
#define REG_STOP_POLL_MS 10

int registryWaitGoneStop(CancelSession *pCaller, i64 pid, int timeoutMs,
                         int (*xStop)(void*), void *pArg){
  struct timespec dl;
  int bGone = 0;
  i64 endUs = registryMonoUs() + (i64)timeoutMs*1000;
  SharedReg *pSh = registryScope(pCaller);
  pthread_mutex_lock(&regMu);
  if( regByPid(pid)==0 ){
    /* not (or no longer) a session of this process: one of another? */
    pthread_mutex_unlock(&regMu);
    if( !sharedUsable(pSh) ) return 1;
    if( xStop==0 ) return remoteWaitGone(pSh, pid, timeoutMs);
    for(;;){
      i64 leftUs = endUs - registryMonoUs();
      int slice = leftUs<REG_STOP_POLL_MS*1000 ? (int)(leftUs/1000) : REG_STOP_POLL_MS;
      if( xStop(pArg) ) return -1;
      if( remoteWaitGone(pSh, pid, slice>0 ? slice : 0) ) return 1;
      if( registryMonoUs()>=endUs ) return 0;
    }
  }
  for(;;){
    i64 leftUs;
    if( regByPid(pid)==0 ){ bGone = 1; break; }
    if( xStop ){
      int bStop;
      pthread_mutex_unlock(&regMu);      /* (xStop may take regMu) */
      bStop = xStop(pArg);
      pthread_mutex_lock(&regMu);
      if( bStop ){ bGone = -1; break; }
      if( regByPid(pid)==0 ){ bGone = 1; break; }
    }
    leftUs = endUs - registryMonoUs();
    if( leftUs<=0 ) break;
    if( xStop && leftUs>REG_STOP_POLL_MS*1000 ) leftUs = REG_STOP_POLL_MS*1000;
    dl = portRealtimeAfter(leftUs);
    pthread_cond_timedwait(&regGone, &regMu, &dl);
  }
  pthread_mutex_unlock(&regMu);
  return bGone;
}

/* ------------------------------------------------- forgotten cursors */

/*
** A statement that returned a row and was left without a reset (a
** forgotten cursor: the most common way a Python or ORM application
** holds a lock) keeps a read transaction, and its lock, until it is
** reset or finalized. hooks.c lists a statement from its first step
** (trace STMT) to its end (PROFILE: done, reset or finalize), so such a
** statement stays listed exactly as a running one does. SQLite reports
** no "row returned" event, and wrapping sqlite3_step is not open to an
** extension; a check at every step would tax every statement of every
** session for the sake of the rare one. So the difference is found out
** when someone looks: the `sessions` table, pg_blocking_pids() and
** blocking_sessions(), and the idle-in-transaction check of the reaper.
**
** The look takes the connection mutex with a try-lock, with regMu held
** (as registryFinishTermination does, so close cannot race it). If the
** mutex is free, nothing of that connection runs: what is listed is
** open and left, and sqlite3_txn_state() says what it holds. If it is
** taken, a statement runs: 'active'. Undecidable, and left as the hooks
** recorded it ('active'): a connection without a mutex, and one whose
** newest statement was started by the very thread that looks (it may be
** inside that statement; the recursive mutex would let it in).
**
** Returns 1 when the session was found idle with statements left open
** (*pOut filled in, s->cursorIdle set and published), else 0.
*/
typedef struct RegProbe RegProbe;
struct RegProbe {
  int eKind;                 /* XACT_* from sqlite3_txn_state() */
  i64 nSteps;                /* VM steps of the open statements */
  u64 iNewest;               /* the newest listed execution */
};
static int regProbeLocked(CancelSession *s, RegProbe *pOut){
  sqlite3_mutex *m;
  sqlite3_stmt *p;
  int bOwn, nStmt;
  if( s->closing ) return 0;
  pthread_mutex_lock(&s->mu);
  nStmt = s->nStmt;
  bOwn = nStmt>0 && pthread_equal(s->execThread, pthread_self());
  pOut->iNewest = nStmt>0 ? s->aStmt[nStmt-1].iQuery : 0;
  pthread_mutex_unlock(&s->mu);
  if( nStmt==0 || bOwn ) return 0;
  m = sqlite3_db_mutex(s->db);
  if( m==0 ) return 0;
  if( sqlite3_mutex_try(m)!=SQLITE_OK ){
    pthread_mutex_lock(&s->mu);
    if( s->cursorIdle ){            /* it runs again (a re-step) */
      s->cursorIdle = 0;
      remotePublishActivity(s);
    }
    pthread_mutex_unlock(&s->mu);
    return 0;
  }
  pOut->eKind = sqlite3_txn_state(s->db, 0);
  pOut->nSteps = 0;
  for(p=sqlite3_next_stmt(s->db, 0); p; p=sqlite3_next_stmt(s->db, p)){
    if( sqlite3_stmt_busy(p) ){
      pOut->nSteps += sqlite3_stmt_status(p, SQLITE_STMTSTATUS_VM_STEP, 0);
    }
  }
  pthread_mutex_lock(&s->mu);
  if( !s->cursorIdle || s->eXactKind!=pOut->eKind ){
    s->cursorIdle = 1;
    s->eXactKind = pOut->eKind;
    remotePublishActivity(s);       /* other processes see it too */
  }
  pthread_mutex_unlock(&s->mu);
  sqlite3_mutex_leave(m);
  return 1;
}

/* The agent thread of registry p, about once a second: look at this
** process's sessions on p that have a statement listed but not seen
** idle, so that other processes (which cannot look themselves) see a
** forgotten cursor as 'idle in transaction' within a second or so. */
static void regProbeTick(SharedReg *p){
  CancelSession *s;
  pthread_mutex_lock(&regMu);
  for(s=regFirst; s; s=s->pNext){
    RegProbe pr;
    int bLook;
    if( s->pShReg!=p || !regTargetable(s) ) continue;
    pthread_mutex_lock(&s->mu);
    bLook = s->nStmt>0 && !s->cursorIdle;
    pthread_mutex_unlock(&s->mu);
    if( bLook ) regProbeLocked(s, &pr);
  }
  pthread_mutex_unlock(&regMu);
  /* answers to this process's requests to others, even if nobody here
  ** reads the log */
  cancelLogRefresh();
}

/* ----------------------------------------------------------- reaper */

/* With regMu held: sessions whose idle-in-transaction limit has passed
** (pinned, their deadline cleared) go to aOut; returns how many, and
** sets *pNextUs to the earliest deadline still ahead (0 none). */
static int regIdleExpired(CancelSession **aOut, int nMax, i64 *pNextUs){
  CancelSession *s;
  i64 nowUs = registryMonoUs();
  int n = 0, nStmt, bIdle;
  *pNextUs = 0;
  for(s=regFirst; s; s=s->pNext){
    i64 d = atomic_load(&s->idleDeadlineUs);
    if( d==0 || s->closing || atomic_load(&s->eTerm)!=TERM_NONE ) continue;
    if( d>nowUs ){
      if( *pNextUs==0 || d<*pNextUs ) *pNextUs = d;
      continue;
    }
    if( n==nMax ){ *pNextUs = nowUs; continue; }   /* next round */
    pthread_mutex_lock(&s->mu);
    nStmt = s->nStmt;
    bIdle = nStmt==0 && s->inXact;        /* still idle in a transaction */
    pthread_mutex_unlock(&s->mu);
    if( nStmt>0 ){
      /* A statement is listed: it runs, or it is a forgotten cursor
      ** (regProbeLocked). The hooks see no "row returned", so the idle
      ** time of a cursor is measured from the first look that finds it
      ** left open: it is terminated when a second look, a timeout
      ** later, finds the same execution with no step taken meanwhile
      ** (between one and two timeouts after it was left). */
      RegProbe pr;
      i64 next = nowUs + (i64)atomic_load(&s->idleTimeoutMs)*1000;
      if( next==nowUs ){                  /* the timeout was turned off */
        atomic_compare_exchange_strong(&s->idleDeadlineUs, &d, 0);
        continue;
      }
      if( regProbeLocked(s, &pr) && pr.eKind!=XACT_NONE ){
        if( s->idleProbeQuery==pr.iNewest && s->idleProbeSteps==pr.nSteps ){
          bIdle = 1;
        }
        s->idleProbeQuery = pr.iNewest;
        s->idleProbeSteps = pr.nSteps;
      }else{
        s->idleProbeQuery = 0;
      }
      if( !bIdle ){
        /* look again later (unless its own thread re-armed it meanwhile) */
        if( atomic_compare_exchange_strong(&s->idleDeadlineUs, &d, next) ){
          if( *pNextUs==0 || next<*pNextUs ) *pNextUs = next;
        }
        continue;
      }
    }
    if( bIdle ){
      s->idleProbeQuery = 0;
      atomic_store(&s->idleDeadlineUs, 0);
      s->nPin++;
      aOut[n++] = s;
    }
  }
  return n;
}

static void regTimedWait(pthread_cond_t *pCond, i64 waitUs){
  struct timespec dl;
  dl = portRealtimeAfter(waitUs);
  pthread_cond_timedwait(pCond, &regMu, &dl);
}

/*
** The background thread: finishes terminations that had to wait (the
** target was inside a statement) and terminates sessions idle in a
** transaction for longer than their limit. Started on first need;
** runs for the life of the process (the library is pinned).
*/
static void *reaperMain(void *pArg){
  int backoffMs = 0;
  (void)pArg;
  pthread_mutex_lock(&regMu);
  for(;;){
    CancelSession *s;
    CancelSession *aWork[64], *aIdle[64];
    int nWork = 0, nIdle, i, bPending = 0;
    unsigned kicks = reaperKicks;
    i64 nextIdleUs;
    for(s=regFirst; s && nWork<64; s=s->pNext){
      if( !s->closing && atomic_load(&s->eTerm)==TERM_REQUEST ){
        s->nPin++;
        aWork[nWork++] = s;
      }
    }
    nIdle = regIdleExpired(aIdle, 64, &nextIdleUs);
    pthread_mutex_unlock(&regMu);
    for(i=0; i<nIdle; i++){
      pthread_mutex_lock(&regMu);
      if( aIdle[i]->closing || atomic_load(&aIdle[i]->eTerm)!=TERM_NONE ){
        pthread_mutex_unlock(&regMu);
      }else{
        CancelAsker by;
        registryTimeoutAsker(&by, "idle_in_transaction_session_timeout",
                             atomic_load(&aIdle[i]->idleTimeoutMs));
        regTerminateLocked(0, "idle_in_transaction_session_timeout",
                           aIdle[i], 0, aIdle[i]->pid, &by);
      }
      regUnpin(aIdle[i]);
    }
    for(i=0; i<nWork; i++){
      if( !registryFinishTermination(aWork[i]) ) bPending = 1;
      regUnpin(aWork[i]);
    }
    pthread_mutex_lock(&regMu);
    if( nWork==64 || nIdle==64 ) bPending = 1;
    if( reaperKicks!=kicks ){
      backoffMs = 0;
      continue;
    }
    if( bPending ){
      /* The target still holds its mutex (it is inside a statement that
      ** is being interrupted). Retry soon, backing off up to 50 ms; a
      ** statement end of a terminated session kicks us sooner. */
      i64 waitUs;
      backoffMs = backoffMs ? (backoffMs*2>50 ? 50 : backoffMs*2) : 1;
      waitUs = (i64)backoffMs*1000;
      if( nextIdleUs && nextIdleUs-registryMonoUs()<waitUs ){
        waitUs = nextIdleUs-registryMonoUs();
      }
      atomic_store(&reaperWakeUs, registryMonoUs() + waitUs);
      if( waitUs>0 ) regTimedWait(&reaperCond, waitUs);
    }else if( nextIdleUs ){
      i64 waitUs = nextIdleUs - registryMonoUs();
      backoffMs = 0;
      atomic_store(&reaperWakeUs, nextIdleUs);
      if( waitUs>0 ) regTimedWait(&reaperCond, waitUs);
    }else{
      backoffMs = 0;
      atomic_store(&reaperWakeUs, 0);
      pthread_cond_wait(&reaperCond, &regMu);
    }
    atomic_store(&reaperWakeUs, 0);
  }
  return 0;
}

static void reaperKickLocked(void){
  reaperKicks++;
  if( !reaperStarted ){
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if( pthread_create(&t, &attr, reaperMain, 0)==0 ) reaperStarted = 1;
    pthread_attr_destroy(&attr);
  }
  pthread_cond_signal(&reaperCond);
}

/* A session went idle in a transaction until deadlineUs. The reaper
** need not be woken if it will wake by itself before then: it rescans
** every session each time (this keeps a loop of statements inside one
** transaction from signalling it at every statement). */
void registryIdleDeadline(i64 deadlineUs){
  i64 w = atomic_load_explicit(&reaperWakeUs, memory_order_relaxed);
  if( w==0 || w>deadlineUs ) registryKickReaper();
}

void registryKickReaper(void){
  pthread_mutex_lock(&regMu);
  reaperKickLocked();
  pthread_mutex_unlock(&regMu);
}

/* ---------------------------------------------------------- snapshot */

/* s->mu held. A forgotten cursor (see regProbeLocked) is idle in its
** (read) transaction, as PostgreSQL shows a session between two fetches
** of a cursor; active_query still names the open statement. */
const char *registryHooksText(int hooksLost){
  switch( hooksLost & (HOOKS_TRACE_LOST|HOOKS_PROGRESS_LOST) ){
    case HOOKS_TRACE_LOST:    return "trace taken";
    case HOOKS_PROGRESS_LOST: return "progress taken";
    case HOOKS_TRACE_LOST|HOOKS_PROGRESS_LOST: return "trace taken, progress taken";
  }
  return "ok";
}

const char *registryThreadingText(int noMutex){
  return noMutex ? "multi-thread" : "serialized";
}

static const char *regStatus(CancelSession *s){
  if( atomic_load(&s->eTerm)!=TERM_NONE ) return "terminating";
  if( atomic_load(&s->waitingSinceMs)!=0 ) return "waiting";
  if( s->nStmt>0 && !s->cursorIdle ) return "active";
  if( s->inXact || (s->cursorIdle && s->eXactKind!=XACT_NONE) ){
    return "idle in transaction";
  }
  return "idle";
}

int registrySnapshot(CancelSession *pCaller, SessionRow **paRow, int *pnRow){
  CancelSession *s;
  SessionRow *aRow;
  int n = 0, nAlloc = 0, rc = SQLITE_OK;
  pthread_mutex_lock(&regMu);
  for(s=regFirst; s; s=s->pNext) nAlloc++;
  aRow = sqlite3_malloc64(sizeof(SessionRow)*(nAlloc ? nAlloc : 1));
  if( aRow==0 ){
    pthread_mutex_unlock(&regMu);
    return SQLITE_NOMEM;
  }
  memset(aRow, 0, sizeof(SessionRow)*(nAlloc ? nAlloc : 1));
  for(s=regFirst; s; s=s->pNext){
    SessionRow *r;
    if( !regTargetable(s) ) continue;
    /* a watcher sees this process's sessions of the watched database */
    if( pCaller && pCaller->pWatch && s->pShReg!=pCaller->pWatch ) continue;
    r = &aRow[n++];
    r->pid = s->pid;
    r->nodeId = (i64)regNode;
    registryFormatId(s->iSerial, r->zSessionId);
    r->zUser = sqlite3_mprintf("%s", s->zUser);
    r->zAppName = sqlite3_mprintf("%s", s->zAppName);
    r->zClientAddr = s->zClientAddr ? sqlite3_mprintf("%s", s->zClientAddr) : 0;
    r->zDatabase = sqlite3_mprintf("%s", s->zDatabase);
    r->sessionStartMs = s->startMs;
    r->masked = !regAllowed(pCaller, s);
    if( r->zUser==0 || r->zAppName==0 || r->zDatabase==0
     || (s->zClientAddr && r->zClientAddr==0) ){
      rc = SQLITE_NOMEM;
    }
    {
      RegProbe pr;
      regProbeLocked(s, &pr);     /* a forgotten cursor is idle */
    }
    pthread_mutex_lock(&s->mu);
    r->zStatus = regStatus(s);
    if( s->nStmt>0 ){
      ActiveStmt *a = &s->aStmt[0];  /* the oldest: the application's */
      r->zActive = sqlite3_mprintf("%s", a->zSql);
      registryFormatId(a->iQuery, r->zQueryId);
      r->queryStartMs = a->startMs;
      if( r->zActive==0 ) rc = SQLITE_NOMEM;
    }
    if( s->hasLast ){
      r->zLast = sqlite3_mprintf("%s", s->zLast);
      if( r->zLast==0 ) rc = SQLITE_NOMEM;
    }
    r->xactStartMs = s->xactStartMs;
    r->zXactKind = s->eXactKind==XACT_WRITE ? "write"
                 : s->eXactKind==XACT_READ ? "read" : "none";
    r->waitingSinceMs = atomic_load(&s->waitingSinceMs);
    r->stmtTimeoutMs = atomic_load(&s->stmtTimeoutMs);
    r->idleTimeoutMs = atomic_load(&s->idleTimeoutMs);
    r->zHooks = registryHooksText(atomic_load(&s->hooksLost));
    r->zThreading = registryThreadingText(s->noMutex);
    pthread_mutex_unlock(&s->mu);
  }
  pthread_mutex_unlock(&regMu);
  if( rc==SQLITE_OK && registryScope(pCaller) ){
    /* then the sessions of other processes on the caller's database */
    char *zUser = 0;
    int isAdmin = 0;
    registryCaller(pCaller, &zUser, &isAdmin);
    rc = zUser ? remoteSnapshot(registryScope(pCaller), zUser, isAdmin, &aRow, &n) : SQLITE_NOMEM;
    sqlite3_free(zUser);
  }
  if( rc!=SQLITE_OK ){
    registryFreeSnapshot(aRow, n);
    return rc;
  }
  *paRow = aRow;
  *pnRow = n;
  return SQLITE_OK;
}

void registryFreeSnapshot(SessionRow *aRow, int nRow){
  int i;
  for(i=0; i<nRow; i++){
    sqlite3_free(aRow[i].zUser);
    sqlite3_free(aRow[i].zAppName);
    sqlite3_free(aRow[i].zClientAddr);
    sqlite3_free(aRow[i].zDatabase);
    sqlite3_free(aRow[i].zActive);
    sqlite3_free(aRow[i].zLast);
  }
  sqlite3_free(aRow);
}

/* ---------------------------------------------------------- blockers */

/*
** Who holds the lock that session W waits for. SQLite has no lock table
** to ask, so this is derived from what every session of this process
** records: W waits (it is in its busy handler); the sessions on the same
** database file that hold a write transaction block it; and if W holds
** a write transaction itself (it waits to commit, which in rollback-
** journal mode needs every reader gone), so do those holding a read
** transaction. Returns a JSON array (of pids or of session ids), '[]'
** when W does not wait, NULL when W is not found or out of memory
** (*pbFound says which: out of memory used to be reported as "not
** found", found by test/oom.c).
*/
char *registryBlockers(i64 pid, u64 iSerial, int bSessionIds, int *pbFound){
  CancelSession *w, *s;
  sqlite3_str *pOut;
  int wKind, n = 0;
  pthread_mutex_lock(&regMu);
  w = pid ? regByPid(pid) : regBySerial(iSerial);
  *pbFound = w!=0;
  if( w==0 ){
    pthread_mutex_unlock(&regMu);
    return 0;
  }
  pOut = sqlite3_str_new(0);
  sqlite3_str_appendchar(pOut, 1, '[');
  pthread_mutex_lock(&w->mu);
  wKind = w->eXactKind;
  pthread_mutex_unlock(&w->mu);
  if( atomic_load(&w->waitingSinceMs)!=0 && w->zDatabase[0] ){
    for(s=regFirst; s; s=s->pNext){
      int kind;
      if( s==w || !regTargetable(s) || strcmp(s->zDatabase, w->zDatabase)!=0 ){
        continue;
      }
      {
        RegProbe pr;
        if( regProbeLocked(s, &pr) ){
          kind = pr.eKind;           /* a forgotten cursor: it reads */
        }else{
          pthread_mutex_lock(&s->mu);
          kind = s->eXactKind;
          pthread_mutex_unlock(&s->mu);
        }
      }
      if( kind==XACT_WRITE || (wKind==XACT_WRITE && kind==XACT_READ) ){
        if( bSessionIds ){
          char zId[33];
          registryFormatId(s->iSerial, zId);
          sqlite3_str_appendf(pOut, "%s\"%s\"", n ? "," : "", zId);
        }else{
          sqlite3_str_appendf(pOut, "%s%lld", n ? "," : "", (long long)s->pid);
        }
        n++;
      }
    }
  }
  pthread_mutex_unlock(&regMu);
  sqlite3_str_appendchar(pOut, 1, ']');
  return sqlite3_str_finish(pOut);
}
