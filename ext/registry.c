/*
** registry.c: the process-wide registry of sessions (registry.h): the
** list and its lock, enrolment and leaving, lookups, who may act on
** whom, user and application name, cancel requests (here and, through
** shared.c, in other processes), and the reasons a session gives.
**
** Termination and the reaper are terminate.c's; the `sessions` rows and
** the forgotten-cursor probe snapshot.c's. Both work on the list through
** the functions below, under the registry lock.
*/
#include "registry.h"
#include "cancellog.h"
#include "remote.h"
SQLITE_EXTENSION_INIT3

#include "port.h"
#include "regindex.h"
#include <assert.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t regMu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t regGone = PTHREAD_COND_INITIALIZER;  /* a termination
                                        ** finished or a session left */
static CancelSession *regFirst = 0;
static CancelSession *regLast = 0;

/* Listeners told when a session has closed (registryOnClose). */
#define REG_MAX_CLOSE_LISTENERS 4
static void (*regCloseListener[REG_MAX_CLOSE_LISTENERS])(u64);
static atomic_int regNCloseListener = 0;

/* ------------------------------------------------------------- lock */

#ifndef NDEBUG
/* Set while this thread holds regMu: for assert(registryHeld()). A
** thread-local flag needs no lock and tells exactly what the assertion
** asks: does the calling thread hold it? */
static _Thread_local int regHeldHere = 0;
int registryHeld(void){ return regHeldHere; }
#endif

void registryLock(void){
  assert( !registryHeld() );   /* not recursive: this thread would hang */
  pthread_mutex_lock(&regMu);
#ifndef NDEBUG
  regHeldHere = 1;
#endif
}

void registryUnlock(void){
  assert( registryHeld() );
#ifndef NDEBUG
  regHeldHere = 0;
#endif
  pthread_mutex_unlock(&regMu);
}

void registryCondWait(pthread_cond_t *pCond, const struct timespec *pDeadline){
  assert( registryHeld() );
  if( pDeadline ){
    pthread_cond_timedwait(pCond, &regMu, pDeadline);
  }else{
    pthread_cond_wait(pCond, &regMu);
  }
}

void registryGoneBroadcast(void){
  assert( registryHeld() );
  pthread_cond_broadcast(&regGone);
}

void registryGoneWait(const struct timespec *pDeadline){
  registryCondWait(&regGone, pDeadline);
}

CancelSession *registryFirst(void){
  assert( registryHeld() );
  return regFirst;
}

int registryOnClose(void (*xClosed)(u64 iSerial)){
  int i;
  registryLock();
  for(i=0; i<atomic_load(&regNCloseListener); i++){
    if( regCloseListener[i]==xClosed ) break;
  }
  if( i==atomic_load(&regNCloseListener) && i<REG_MAX_CLOSE_LISTENERS ){
    regCloseListener[i] = xClosed;
    atomic_store(&regNCloseListener, i+1);
  }
  registryUnlock();
  return i<REG_MAX_CLOSE_LISTENERS ? REG_OK : REG_NOMEM;
}

/* ------------------------------------------------- timeout defaults */

atomic_int registryDefaultStmtTimeoutMs = 0;
atomic_int registryDefaultIdleTimeoutMs = 0;
atomic_int registryDefaultXactTimeoutMs = 0;
atomic_int registryDefaultIdleBlockerMs = 0;

/* ----------------------------------------------------------- reasons */

/* The asker of an action of pCaller (regMu held: pCaller->zUser); a NULL
** pCaller is the extension itself. */
/* zSrc into zDst (nDst bytes), truncated, terminated. (Not snprintf:
** on the path of a cancel, whose first formatting call costs more than
** the rest of the asker record, its code cold.) */
static void regCopyText(char *zDst, size_t nDst, const char *zSrc){
  size_t n = zSrc ? strlen(zSrc) : 0;
  if( n>=nDst ) n = nDst-1;
  memcpy(zDst, zSrc ? zSrc : "", n);
  zDst[n] = 0;
}

void registryAskerOf(CancelSession *pCaller, const char *zAction, CancelAsker *pBy){
  assert( pCaller==0 || registryHeld() );
  memset(pBy, 0, sizeof(*pBy));
  regCopyText(pBy->zAction, sizeof(pBy->zAction), zAction);
  if( pCaller ){
    regCopyText(pBy->zUser, sizeof(pBy->zUser), pCaller->zUser);
    pBy->pid = pCaller->pid;
  }
  pBy->timeMs = idsNowMs();
}

void registryTimeoutAsker(CancelAsker *pBy, const char *zAction, int timeoutMs){
  registryAskerOf(0, zAction, pBy);
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
  s->stopReasonDue = 0;           /* (a newer reason replaces it) */
  if( strncmp(s->zReason, "terminated", 10)==0 ) return;
  idsFormatTime(pBy->timeMs, zTime);
  if( pBy->timeoutMs>0 ){
    snprintf(s->zReason, sizeof(s->zReason), "%s by %s (%d ms) at %s",
             zVerb, pBy->zAction, pBy->timeoutMs, zTime);
  }else if( pBy->zUser[0]==0 ){
    snprintf(s->zReason, sizeof(s->zReason), "%s by %s at %s",
             zVerb, pBy->zAction, zTime);
  }else if( pBy->osPid>0 && pBy->osPid!=(i64)idsNode() ){
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
  /* a stop by a cancel from another process leaves its reason to here */
  if( s->stopReasonDue ) registrySetReasonLocked(s, "cancelled", &s->stopBy);
  if( s->zReason[0] ) z = sqlite3_mprintf("%s", s->zReason);
  pthread_mutex_unlock(&s->mu);
  return z;
}

/* --------------------------------------------------------- enrolment */

/* Is pid held by a session of this process, even one that is closing?
** (regMu held; for sharedNextId after its counter wrapped.) */
static int regPidUsed(i64 pid){
  CancelSession *s;
  assert( registryHeld() );
  for(s=regIndexFirst(REGKEY_PID, (u64)pid); s; s=regIndexNext(REGKEY_PID, s)){
    if( s->pid==pid ) return 1;
  }
  return 0;
}

CancelSession *registryEnrol(sqlite3 *db){
  CancelSession *s;
  const char *zFile;
  s = sqlite3_malloc(sizeof(*s));
  if( s==0 ) return 0;
  memset(s, 0, sizeof(*s));
  s->db = db;
  s->startMs = idsNowMs();
  zFile = sqlite3_db_filename(db, "main");
  s->zDatabase = sqlite3_mprintf("%s", zFile ? zFile : "");
  s->zUser = sqlite3_mprintf("%s", idsOsUser());
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
  atomic_init(&s->idleSinceUs, 0);
  atomic_init(&s->xactTimeoutMs, atomic_load(&registryDefaultXactTimeoutMs));
  atomic_init(&s->idleBlockerMs, atomic_load(&registryDefaultIdleBlockerMs));
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
  /* Across processes (doc/cross-process.md), unless switched off for the
  ** process or by the URI parameter cancel_shared=0 of this connection.
  ** The file is attached before the pid is chosen: its counter takes
  ** part. */
  if( zFile && zFile[0] && sharedDefault() && !sharedSuppressed()
   && sqlite3_uri_boolean(zFile, "cancel_shared", 1) ){
    s->pShReg = sharedAttach(zFile);
  }
  registryLock();
  s->pid = sharedNextId(0, regPidUsed);
  s->iSerial = idsNextQuery();
  s->pPrev = regLast;
  if( regLast ) regLast->pNext = s; else regFirst = s;
  regLast = s;
  regIndexAdd(s);
  registryUnlock();
  if( s->pShReg ) remoteClaim(s->pShReg, s);
  return s;
}

CancelSession *registryFind(sqlite3 *db){
  CancelSession *s;
  registryLock();
  for(s=regIndexFirst(REGKEY_DB, (u64)(uintptr_t)db); s; s=regIndexNext(REGKEY_DB, s)){
    if( s->db==db && !s->closing ) break;
  }
  registryUnlock();
  return s;
}

static void regFree(CancelSession *s){
  activitySetWaiting(s, 0);
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->cond);
  activityFreeList(s);
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
  assert( registryHeld() );
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
    activityLogStopLocked(s);     /* (before its slot is released) */
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
    registryGoneBroadcast();
  }
  return s->nReg==0 && s->nPin==0;
}

static void regDrop(CancelSession *s, int bPin){
  int bFree, bClosed;
  u64 iSerial = s->iSerial;     /* immutable; s may be freed by others below */
  registryLock();
  bFree = regDropLocked(s, bPin);
  bClosed = !bPin && s->nReg==0;
  registryUnlock();
  /* (after regMu: a listener's lock, the jobs lock, comes first) */
  if( bClosed ){
    int i, n = atomic_load(&regNCloseListener);
    for(i=0; i<n; i++) regCloseListener[i](iSerial);
  }
  if( bFree ) regFree(s);
}

void registryRef(CancelSession *s){
  registryLock();
  s->nReg++;
  registryUnlock();
}

/* The destructor of every registration calls this. The last one runs
** while sqlite3_close holds the connection mutex, after which the
** connection is gone. */
void registryUnref(CancelSession *s){
  regDrop(s, 0);
}

/* Pins (regMu held to take one) keep the struct, not the connection. */
void registryUnpin(CancelSession *s){
  assert( !registryHeld() );
  regDrop(s, 1);
}

/* ----------------------------------------------------------- callers */

void registryCaller(CancelSession *s, char **pzUser, int *pIsAdmin){
  registryLock();
  *pzUser = sqlite3_mprintf("%s", s->zUser);
  *pIsAdmin = s->isAdmin;
  registryUnlock();
}

int registrySetUser(CancelSession *s, const char *zUser, int isAdmin){
  char *z = sqlite3_mprintf("%s", zUser);
  int rc = REG_OK;
  if( z==0 ) return REG_NOMEM;
  registryLock();
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
  registryUnlock();
  sqlite3_free(z);
  return rc;
}

static int regSetText(CancelSession *s, char **pz, const char *zNew){
  char *z = zNew ? sqlite3_mprintf("%s", zNew) : 0;
  if( zNew && z==0 ) return REG_NOMEM;
  registryLock();
  pthread_mutex_lock(&s->mu);
  sqlite3_free(*pz);
  *pz = z;
  remotePublish(s);
  pthread_mutex_unlock(&s->mu);
  registryUnlock();
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
int registryTargetable(CancelSession *s){
  assert( registryHeld() );
  return !s->closing && atomic_load(&s->eTerm)!=TERM_DONE;
}

CancelSession *registryBySerial(u64 iSerial){
  CancelSession *s;
  assert( registryHeld() );
  for(s=regIndexFirst(REGKEY_SERIAL, iSerial); s; s=regIndexNext(REGKEY_SERIAL, s)){
    if( s->iSerial==iSerial && registryTargetable(s) ) return s;
  }
  return 0;
}

CancelSession *registryByPid(i64 pid){
  CancelSession *s;
  assert( registryHeld() );
  for(s=regIndexFirst(REGKEY_PID, (u64)pid); s; s=regIndexNext(REGKEY_PID, s)){
    if( s->pid==pid && registryTargetable(s) ) return s;
  }
  return 0;
}

/* Users and privileges: an admin may cancel anything, others only their own user's.
** A NULL caller is the extension itself (a timeout). */
int registryAllowed(CancelSession *pCaller, CancelSession *pTarget){
  assert( registryHeld() );
  if( pCaller==0 || pCaller->isAdmin ) return 1;
  return strcmp(pCaller->zUser, pTarget->zUser)==0;
}

/* ------------------------------------------------------- cancelling */

/* Log an action of pCaller (regMu held) on target s, which may be NULL
** when it was not found; then fill in what is known of the target. */
i64 registryLog(CancelSession *pCaller, const char *zAction,
                CancelSession *s, LogTarget *pT, const char *zOutcome){
  CancelSession *pBy = pCaller ? pCaller : s;
  assert( registryHeld() );
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

/* The log outcome of an interrupt sent to s, or of one that could not be
** sent (bSent 0), as its progress handler is missing or taken. */
static const char *regInterruptOutcome(CancelSession *s, int bSent){
  int bNone = (atomic_load(&s->hooksLost) & HOOKS_PROGRESS_NONE)!=0;
  if( bSent ) return bNone ? LOG_INTERRUPT_API : LOG_INTERRUPT;
  return bNone ? LOG_NO_PROGRESS_API : LOG_NO_PROGRESS;
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
**   statement is recorded, and SQLite reports its end (it started with
**   the PROFILE trace on, which such a session keeps: a statement listed
**   with its own text, bOwnSql 0); otherwise the cancel is not delivered.
**   iCancelQuery is still set, for our busy handler (a lock wait does
**   not look at the interrupt flag) and for our progress handler should
**   it come back.
*/
int registryRequestIfRunning(CancelSession *pCaller, const char *zAction,
                               CancelSession *s, u64 iQuery,
                               const CancelAsker *pBy){
  LogTarget t;
  ActiveStmt *a;
  i64 iLog;
  int rc = REG_OK;
  int lost = atomic_load(&s->hooksLost);
  CancelAsker by;
  assert( registryHeld() );
  memset(&t, 0, sizeof(t));
  if( pBy==0 ){
    registryAskerOf(pCaller, zAction, &by);
    pBy = &by;
  }
  t.pAsker = pBy;
  {
    /* what is listed may have ended since: learn it first, if the
    ** connection is idle (activity.c) */
    ActivityLook lk;
    activityLookLocked(s, &lk);
    if( lk.bBusyUnlisted && iQuery==0 ){
      /* "the statement running now": one just started is not listed
      ** yet: let it be */
      activityAwaitNotice(s, ACTIVITY_NOTICE_WAIT_US);
    }
  }
  pthread_mutex_lock(&s->mu);
  if( lost & HOOKS_TRACE_LOST ){
    t.iQuery = iQuery;
    registryLog(pCaller, zAction, s, &t, LOG_NO_TRACE);
    pthread_mutex_unlock(&s->mu);
    return REG_UNDELIVERED;
  }
  if( iQuery==0 && s->nStmt>0 ) iQuery = s->aStmt[s->nStmt-1].iQuery;
  a = iQuery ? regRunning(s, iQuery) : 0;
  if( a && (lost & HOOKS_PROGRESS_LOST) ){
    t.iQuery = a->iQuery;
    t.zSql = a->zSql;
    if( s->nStmt==1 && !s->closing && !a->bOwnSql ){
      registryLog(pCaller, zAction, s, &t, regInterruptOutcome(s, 1));
      if( s->iLogCancel ) cancelLogOutcome(s->iLogCancel, LOG_FINISHED);
      s->iLogCancel = 0;
      atomic_store(&s->iCancelQuery, iQuery);
      pthread_cond_broadcast(&s->cond);
      registrySetReasonLocked(s, "cancelled", pBy);
      sqlite3_interrupt(s->db);
    }else{
      registryLog(pCaller, zAction, s, &t, regInterruptOutcome(s, 0));
      rc = REG_UNDELIVERED;
    }
  }else if( a ){
    t.iQuery = a->iQuery;
    t.zSql = a->zSql;
    iLog = registryLog(pCaller, zAction, s, &t, LOG_REQUESTED);
    if( s->iLogCancel ) cancelLogOutcome(s->iLogCancel, LOG_FINISHED);
    s->iLogCancel = iLog;
    s->cancelBy = *pBy;          /* the reason, if it stops the statement */
    atomic_store(&s->iCancelQuery, iQuery);
    pthread_cond_broadcast(&s->cond);
  }else{
    /* Idle, or it ended meanwhile: as if it had ended before the call. */
    t.iQuery = iQuery;
    registryLog(pCaller, zAction, s, &t, iQuery ? LOG_FINISHED : LOG_IDLE);
  }
  pthread_mutex_unlock(&s->mu);
  return rc;
}

/* regMu and s->mu held, by the reaper: the statement timeout of s's
** only statement has passed, and its progress handler was taken, so
** nothing of ours runs inside the statement to stop it. Interrupt it as
** registryRequestIfRunning delivers a cancel then (same conditions:
** exactly one statement, whose end SQLite reports), and log it. */
void registryTimeoutByInterrupt(CancelSession *s){
  ActiveStmt *a = &s->aStmt[0];
  LogTarget t;
  CancelAsker by;
  assert( registryHeld() && s->nStmt==1 && !a->bOwnSql && !s->closing );
  memset(&t, 0, sizeof(t));
  registryTimeoutAsker(&by, "statement_timeout", atomic_load(&s->stmtTimeoutMs));
  t.iQuery = a->iQuery;
  t.zSql = a->zSql;
  a->deadlineUs = 0;
  registryLog(0, "statement_timeout", s, &t, regInterruptOutcome(s, 1));
  registrySetReasonLocked(s, "cancelled", &by);
  sqlite3_interrupt(s->db);
}

/* ----------------------------------------------- other processes */

/* The registry file of the caller's database, with who asks (pBy) and
** the caller's user and admin flag, read under one hold of the registry
** lock; 0 when it has none usable (then other processes' sessions are
** simply not found). *pzLong: a copy of a user name too long for the
** asker record (the check then compares it whole), else 0 and the user
** is pBy->zUser. */
static SharedReg *regRemoteCaller(CancelSession *pCaller, const char *zAction,
                                  CancelAsker *pBy, char **pzLong, int *pIsAdmin){
  SharedReg *p = registryScope(pCaller);
  int bLong;
  *pzLong = 0;
  if( !sharedUsable(p) ) return 0;
  registryLock();
  registryAskerOf(pCaller, zAction, pBy);
  *pIsAdmin = pCaller->isAdmin;
  bLong = strlen(pCaller->zUser)>=sizeof(pBy->zUser);
  if( bLong ) *pzLong = sqlite3_mprintf("%s", pCaller->zUser);
  registryUnlock();
  if( bLong && *pzLong==0 ) return 0;
  pBy->osPid = (i64)idsNode();
  pBy->token = cancelLogNewToken();
  return p;
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
  registryLock();
  registryLog(pCaller, zAction, 0, &t, rc==REG_OK ? zOk
                          : rc==REG_DENIED ? LOG_DENIED
                          : rc==REG_UNDELIVERED ? LOG_NO_TRACE : LOG_NOTFOUND);
  registryUnlock();
}

/* One of the four remote requests (REMOTE_*, registry.h), with its
** logging. */
int registryRemote(CancelSession *pCaller, const char *zAction, int eKind,
                     u64 tag, u64 iSerial, i64 pid){
  RemoteTarget t;
  CancelAsker by;
  char *zLong = 0;
  int isAdmin = 0, rc = REG_NOTFOUND;
  SharedReg *p = regRemoteCaller(pCaller, zAction, &by, &zLong, &isAdmin);
  const char *zUser = zLong ? zLong : by.zUser;
  memset(&t, 0, sizeof(t));
  if( p ) t.pBy = &by;
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
  sqlite3_free(zLong);
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

void registrySettlePending(void){
  CancelSession *s;
  registryLock();
  for(s=regFirst; s; s=s->pNext){
    /* (a stop for another process: its log entry comes at the look) */
    if( registryTargetable(s) && (atomic_load(&s->iCancelQuery)!=0
                                  || atomic_load(&s->iStopQuery)!=0) ){
      ActivityLook lk;
      activityLookLocked(s, &lk);
    }
  }
  registryUnlock();
}

int registryCancelQuery(CancelSession *pCaller, u64 tag, u64 iQuery, const char *zAction){
  CancelSession *s;
  int rc = REG_NOTFOUND;
  if( tag!=idsTag() ){
    return registryRemote(pCaller, zAction, REMOTE_CANCEL_QUERY, tag, iQuery, 0);
  }
  LogTarget t;
  memset(&t, 0, sizeof(t));
  registryLock();
  for(s=regFirst; s; s=s->pNext){
    int bFound;
    if( !registryTargetable(s) ) continue;
    pthread_mutex_lock(&s->mu);
    bFound = regRunning(s, iQuery)!=0;
    pthread_mutex_unlock(&s->mu);
    if( !bFound ) continue;
    {
      /* listed; but it may have ended since (activity.c): learn it */
      ActivityLook lk;
      activityLookLocked(s, &lk);
      pthread_mutex_lock(&s->mu);
      bFound = regRunning(s, iQuery)!=0;
      pthread_mutex_unlock(&s->mu);
      if( !bFound ) break;          /* (query ids are never shared) */
    }
    if( !registryAllowed(pCaller, s) ){
      rc = REG_DENIED;
      t.iQuery = iQuery;
      registryLog(pCaller, zAction, s, &t, LOG_DENIED);
    }else{
      rc = registryRequestIfRunning(pCaller, zAction, s, iQuery, 0);
    }
    break;
  }
  if( rc==REG_NOTFOUND ){
    t.iQuery = iQuery;
    registryLog(pCaller, zAction, 0, &t, LOG_NOTFOUND);
  }
  registryUnlock();
  return rc;
}

int registryCancelBackend(CancelSession *pCaller, i64 pid, const char *zAction){
  CancelSession *s;
  int rc;
  LogTarget t;
  memset(&t, 0, sizeof(t));
  registryLock();
  s = registryByPid(pid);
  if( s==0 && pid>0 ){
    /* not a session of this process: one of another (doc/ids.md) */
    registryUnlock();
    return registryRemote(pCaller, zAction, REMOTE_CANCEL_BACKEND, 0, 0, pid);
  }
  if( s==0 ){
    rc = REG_NOTFOUND;
    t.pid = pid;
    registryLog(pCaller, zAction, 0, &t, LOG_NOTFOUND);
  }else if( !registryAllowed(pCaller, s) ){
    rc = REG_DENIED;
    registryLog(pCaller, zAction, s, &t, LOG_DENIED);
  }else{
    rc = registryRequestIfRunning(pCaller, zAction, s, 0, 0);
  }
  registryUnlock();
  return rc;
}

int registryCheckSerial(CancelSession *pCaller, u64 tag, u64 iSerial){
  CancelSession *s;
  int rc;
  if( tag!=idsTag() ){
    return registryRemote(pCaller, 0, REMOTE_CHECK, tag, iSerial, 0);
  }
  registryLock();
  s = registryBySerial(iSerial);
  rc = s==0 ? REG_NOTFOUND : registryAllowed(pCaller, s) ? REG_OK : REG_DENIED;
  registryUnlock();
  return rc;
}

/* A bulk call refused because of session iSerial: log it. */
void registryLogDenied(CancelSession *pCaller, const char *zAction, u64 tag, u64 iSerial){
  CancelSession *s;
  LogTarget t;
  memset(&t, 0, sizeof(t));
  if( tag!=idsTag() ){
    registryRemote(pCaller, zAction, REMOTE_CHECK, tag, iSerial, 0);
    return;
  }
  registryLock();
  s = registryBySerial(iSerial);
  if( s==0 ) t.iSession = iSerial;
  registryLog(pCaller, zAction, s, &t, s ? LOG_DENIED : LOG_NOTFOUND);
  registryUnlock();
}

