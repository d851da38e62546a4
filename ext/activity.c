/*
** activity.c: a session's list of statements (ActiveStmt) and how it is
** kept true without a callback at every statement's end.
**
** SQLite tells a trace callback when a statement starts (TRACE_STMT) at
** little cost, but reports its end only through the PROFILE trace, for
** which it reads the clock twice per statement: more than the whole
** budget of an extension meant to stay on. So the own thread records a
** start as a pointer and a counter (hooks.c), and a statement is listed
** only when it matters:
**
**   noticed    by the own thread, inside the statement: the progress
**              handler's first call (it ran CANCEL_PROGRESS_OPS VM
**              instructions), the busy handler (it waits on a lock), one
**              of the extension's functions (activityNotice);
**   looked at  by anyone holding the registry lock, when the connection
**              is idle: what is still open then was left open (a
**              forgotten cursor; activityLookLocked).
**
** An execution is named by its statement pointer and its run count
** (SQLITE_STMTSTATUS_RUN): a statement reset and stepped again is a new
** execution, and a finalized statement's address may be reused by the
** next prepare, so a pointer is dereferenced only once found among the
** connection's statements (sqlite3_next_stmt), and only while the
** connection mutex is held. Ends are learnt (activitySettle) when the
** own thread starts its next statement, or when someone looks while the
** connection is idle: then nothing of it runs, and a listed execution
** whose statement is gone, not busy, or run again has ended.
**
** Why a cancel can still never hit another execution: a statement starts
** by the fast path only while nothing is listed (hooks.c), so every
** execution a cancel can name was taken off the list, under s->mu,
** before the next one started; the own thread checks the newest listed
** execution is still open before it stops anything (activityNewestOpen).
*/
#include "activity.h"
#include "cancellog.h"
#include "remote.h"
#include "ids.h"
#include "port.h"
SQLITE_EXTENSION_INIT3

#include <string.h>
#include <sched.h>
#include <time.h>

/* ---------------------------------------------------------- waiting */

atomic_int activityWaiters = 0;

void activitySetWaiting(CancelSession *s, i64 sinceMs){
  i64 old;
  if( sinceMs==0 && atomic_load_explicit(&s->waitingSinceMs, memory_order_relaxed)==0 ){
    return;   /* the common case: was not waiting, is not */
  }
  old = atomic_exchange(&s->waitingSinceMs, sinceMs);
  if( old==0 && sinceMs!=0 ) atomic_fetch_add(&activityWaiters, 1);
  if( old!=0 && sinceMs==0 ) atomic_fetch_sub(&activityWaiters, 1);
  if( (old==0)!=(sinceMs==0) && s->pSh ){
    pthread_mutex_lock(&s->mu);
    remotePublish(s);
    pthread_mutex_unlock(&s->mu);
  }
}

/* ------------------------------------------------------- identities */

u64 activityNextQuery(CancelSession *s){
  /* Taken from the process-wide counter in blocks, so that threads
  ** running many statements do not all contend for one cache line; ids
  ** stay unique, and are never reused. */
  if( s->iQueryNext==s->iQueryEnd ){
    s->iQueryNext = idsReserveQueries(ACTIVITY_QUERY_BLOCK);
    s->iQueryEnd = s->iQueryNext + ACTIVITY_QUERY_BLOCK;
  }
  return s->iQueryNext++;
}

void activitySetLost(CancelSession *s, int bit, int bOn){
  int old = bOn ? atomic_fetch_or(&s->hooksLost, bit)
                : atomic_fetch_and(&s->hooksLost, ~bit);
  if( ((old & bit)!=0)==(bOn!=0) ) return;
  if( bOn ){
    sqlite3_log(SQLITE_WARNING, "cancel: session %lld: the application "
                "replaced the extension's %s (see doc/hooks.md)", (long long)s->pid,
                bit==HOOKS_TRACE_LOST ? "trace hook: cancels cannot be delivered"
                : "progress handler: cancels use sqlite3_interrupt");
  }
  atomic_store(&s->slowNext, 1);       /* the next start re-reads the mode */
  pthread_mutex_lock(&s->mu);
  remotePublishActivity(s);
  pthread_mutex_unlock(&s->mu);
}

/* The connection mutex held: is p one of db's statements? (Pointers are
** compared; p is never dereferenced here.) */
static int actIsStmt(sqlite3 *db, void *p){
  sqlite3_stmt *q;
  if( p==0 ) return 0;
  for(q=sqlite3_next_stmt(db, 0); q; q=sqlite3_next_stmt(db, q)){
    if( (void*)q==p ) return 1;
  }
  return 0;
}

static int actRuns(sqlite3_stmt *p){
  return sqlite3_stmt_status(p, SQLITE_STMTSTATUS_RUN, 0);
}

/* The connection mutex held: does a statement of db execute now, on the
** calling thread (the mutex is recursive: a function called inside the
** statement may look at its own connection or, through another, at this
** one)? A statement stepped and left after a row has that row ready
** (sqlite3_data_count() > 0); one inside sqlite3_step() has none, SQLite
** clears it as a step begins. (One left after SQLITE_BUSY also has none:
** it counts as running, which it is about to be again.) */
int activityExecuting(sqlite3 *db){
  sqlite3_stmt *p;
  for(p=sqlite3_next_stmt(db, 0); p; p=sqlite3_next_stmt(db, p)){
    if( sqlite3_stmt_busy(p) && sqlite3_data_count(p)==0 ) return 1;
  }
  return 0;
}

/* The connection mutex held: is execution a still open (started, not
** done, reset, finalized or run again)? */
static int actStillOpen(sqlite3 *db, const ActiveStmt *a){
  sqlite3_stmt *p = (sqlite3_stmt*)a->pStmt;
  return actIsStmt(db, p) && sqlite3_stmt_busy(p) && actRuns(p)==a->nRun;
}

/* s->mu held: the entry of execution (p, nRun), or NULL. */
static ActiveStmt *actListed(CancelSession *s, void *p, int nRun){
  int i;
  for(i=0; i<s->nStmt; i++){
    if( s->aStmt[i].pStmt==p && s->aStmt[i].nRun==nRun ) return &s->aStmt[i];
  }
  return 0;
}

/* ------------------------------------------------------------ list */

ActiveStmt *activityListLocked(CancelSession *s, void *pStmt, const char *zSql,
                               int bCopy, int nRun, i64 startMs){
  ActiveStmt *a;
  char *z = (char*)zSql;
  if( bCopy && (z = sqlite3_mprintf("%s", zSql ? zSql : ""))==0 ) return 0;
  if( s->nStmt==s->nStmtAlloc ){
    int nNew = s->nStmtAlloc ? s->nStmtAlloc*2 : 4;
    ActiveStmt *aNew = sqlite3_realloc64(s->aStmt, sizeof(ActiveStmt)*nNew);
    if( aNew==0 ){               /* out of memory: stay unlisted */
      if( bCopy ) sqlite3_free(z);
      return 0;
    }
    s->aStmt = aNew;
    s->nStmtAlloc = nNew;
  }
  a = &s->aStmt[s->nStmt++];
  memset(a, 0, sizeof(*a));
  a->pStmt = pStmt;
  a->nRun = nRun;
  a->bOwnSql = bCopy;
  a->zSql = z;
  a->iQuery = activityNextQuery(s);
  a->startMs = startMs;
  a->nProgressAtStart = s->nProgressCalls;
  s->cursorIdle = 0;
  s->shLate = 1;           /* published by the progress or busy handler */
  return a;
}

void activityFreeList(CancelSession *s){
  int i;
  for(i=0; i<s->nStmt; i++){
    if( s->aStmt[i].bOwnSql ) sqlite3_free(s->aStmt[i].zSql);
  }
  sqlite3_free(s->aStmt);
  s->aStmt = 0;
  s->nStmt = s->nStmtAlloc = 0;
}

/* s->mu held: zSql is now last_active_query. */
static void actSetLast(CancelSession *s, const char *zSql){
  int n = (int)strlen(zSql) + 1;
  if( n>s->nLastAlloc ){
    char *zNew = sqlite3_realloc(s->zLast, n);
    if( zNew ){ s->zLast = zNew; s->nLastAlloc = n; }
  }
  if( n<=s->nLastAlloc ){
    memcpy(s->zLast, zSql, n);
    s->hasLast = 1;
  }
}

/* s->mu held: execution a, which the progress handler stopped for a
** cancel from another process (hooks.c, hooksStopOwnRemote), is taken off
** the list: log the request with its outcome, under the asker's action,
** user and token (the answer the asker reads), as registryLog would have
** before the statement stopped. */
static void actLogStop(CancelSession *s, const ActiveStmt *a){
  const CancelAsker *pBy = &s->stopBy;
  const char *zAction = "cancel from another process";
  LogTarget t;
  memset(&t, 0, sizeof(t));
  t.iSession = s->iSerial;
  t.pid = s->pid;
  t.zUser = s->zUser;          /* (set at enrolment, never changed) */
  t.iQuery = a->iQuery;
  t.zSql = a->zSql;
  t.pSh = s->pShReg;
  t.pAsker = pBy;
  s->iStopQuery = 0;
  if( pBy->osPid ){
    cancelLogAdd(0, pBy->zUser, cancelLogAction(pBy->zAction, zAction), &t,
                 LOG_INTERRUPTED);
  }else{                       /* (the asker record was not readable) */
    cancelLogAdd(s->iSerial, s->zUser, zAction, &t, LOG_INTERRUPTED);
  }
}

void activityLogStopLocked(CancelSession *s){
  int i;
  for(i=0; i<s->nStmt && s->iStopQuery; i++){
    if( s->aStmt[i].iQuery==s->iStopQuery ) actLogStop(s, &s->aStmt[i]);
  }
  s->iStopQuery = 0;
}

void activityEndLocked(CancelSession *s, int i){
  ActiveStmt *a = &s->aStmt[i];
  u64 q = a->iQuery;
  if( s->iStopQuery==q ) actLogStop(s, a);
  actSetLast(s, a->zSql);
  /* A request for an execution that has ended is void: query ids are
  ** never reused, so it can never match again, but clear it so the hot
  ** path stays lock-free. If it was still pending, the statement
  ** finished before the cancel could act. */
#ifdef CANCEL_TEST_MISFIRE
  q = 0;                          /* (broken: the request stays) */
#endif
  if( atomic_load_explicit(&s->iCancelQuery, memory_order_relaxed)==q
   && atomic_compare_exchange_strong(&s->iCancelQuery, &q, 0)
  ){
    if( s->iLogCancel ) cancelLogOutcome(s->iLogCancel, LOG_FINISHED);
    s->iLogCancel = 0;
  }
  if( a->bOwnSql ) sqlite3_free(a->zSql);
  if( i<s->nStmt-1 ){          /* (usually the newest one ends) */
    memmove(&s->aStmt[i], &s->aStmt[i+1], sizeof(ActiveStmt)*(s->nStmt-i-1));
  }
  s->nStmt--;
  s->curDeadlineUs = s->nStmt>0 ? s->aStmt[s->nStmt-1].deadlineUs : 0;
}

int activitySettle(CancelSession *s, void *pStarting){
  int i, n, bEnded = 0;
  pthread_mutex_lock(&s->mu);
  for(i=s->nStmt-1; i>=0; i--){
    ActiveStmt *a = &s->aStmt[i];
    if( a->pStmt==pStarting || !actStillOpen(s->db, a) ){
      activityEndLocked(s, i);
      bEnded = 1;
    }
  }
  n = s->nStmt;
  if( n==0 ) s->cursorIdle = 0;
  if( bEnded ) remotePublishEnd(s);
  pthread_mutex_unlock(&s->mu);
  return n;
}

/* Was p (a statement of the connection) started by our trace, as the
** newest start or one of the few before it? */
static int actSeenStart(CancelSession *s, sqlite3_stmt *p){
  const char *z = sqlite3_sql(p);
  int i;
  if( (void*)p==s->pFast && z==s->zFast ) return 1;
  for(i=0; i<SESSION_RECENT; i++){
    if( s->apRecent[i]==(void*)p && s->azRecent[i]==z ) return 1;
  }
  return 0;
}

/* s->mu held: list every open statement of the connection that is not
** listed yet, the newest start (pFast) last, as it is the one that runs
** when several are open. bOnlySeen: only statements whose start our
** trace saw. Returns how many were listed; *pnUnseen counts the others. */
static int actListOpenLocked(CancelSession *s, int bOnlySeen, int *pnUnseen){
  sqlite3_stmt *p;
  int nNew = 0, bFastOpen = 0, nBefore = s->nStmt;
  i64 now = 0;
  *pnUnseen = 0;
  for(p=sqlite3_next_stmt(s->db, 0); p; p=sqlite3_next_stmt(s->db, p)){
    int nRun;
    if( !sqlite3_stmt_busy(p) || sqlite3_sql(p)==0 ) continue;
    if( bOnlySeen && !actSeenStart(s, p) ){ (*pnUnseen)++; continue; }
    nRun = actRuns(p);
    if( actListed(s, p, nRun) ) continue;
    if( (void*)p==s->pFast ){ bFastOpen = 1; continue; }
    if( now==0 ) now = idsNowMs();
    if( activityListLocked(s, p, sqlite3_sql(p), 1, nRun, now) ) nNew++;
  }
  if( bFastOpen ){
    sqlite3_stmt *pF = (sqlite3_stmt*)s->pFast;
    if( now==0 ) now = idsNowMs();
    if( activityListLocked(s, pF, sqlite3_sql(pF), 1, actRuns(pF), now) ) nNew++;
  }
  if( nNew>0 && nBefore==0 && sqlite3_get_autocommit(s->db) ){
    s->xactStartMs = s->aStmt[0].startMs;  /* an implicit transaction: its
                                           ** statement's */
  }
  return nNew;
}

int activityNotice(CancelSession *s){
  int nUnseen, nNew;
  pthread_mutex_lock(&s->mu);
  nNew = actListOpenLocked(s, 1, &nUnseen);
  if( nNew>0 ){
    ActiveStmt *a = &s->aStmt[s->nStmt-1];
    a->nVmAtStart = sqlite3_stmt_status((sqlite3_stmt*)a->pStmt,
                                        SQLITE_STMTSTATUS_VM_STEP, 0);
    s->inXact = !sqlite3_get_autocommit(s->db);
    s->execThread = pthread_self();
    s->pThreadTag = portThreadTag();
    s->pFastOk = 0;
  }
  pthread_mutex_unlock(&s->mu);
  if( s->nStmt>0 ) return ACTIVITY_NOTICED;
  return nUnseen>0 ? ACTIVITY_UNSEEN : ACTIVITY_NONE;
}

const char *activityStartedSql(CancelSession *s){
  sqlite3_stmt *p = (sqlite3_stmt*)s->pFast;
  if( s->nStmt>0 || !actIsStmt(s->db, p) || !sqlite3_stmt_busy(p)
   || sqlite3_sql(p)!=s->zFast ){
    return 0;
  }
  return s->zFast;
}

int activityAwaitNotice(CancelSession *s, i64 maxUs){
  sqlite3_mutex *m = sqlite3_db_mutex(s->db);
  i64 t0 = idsMonoUs();
  int nTry = 0;
  atomic_store(&s->noticeSoon, 1);
  for(;;){
    int n;
    pthread_mutex_lock(&s->mu);
    n = s->nStmt;
    pthread_mutex_unlock(&s->mu);
    if( n>0 ) return 1;
    if( m && sqlite3_mutex_try(m)==SQLITE_OK ){   /* idle again: it ended */
      sqlite3_mutex_leave(m);
      return 0;
    }
    if( idsMonoUs()-t0>=maxUs ) return 0;
    if( nTry++<50 ) sched_yield();
    else{
      struct timespec ts = { 0, 20000 };
      nanosleep(&ts, 0);
    }
  }
}

int activityNewestOpen(CancelSession *s){
  return s->nStmt>0 && actStillOpen(s->db, &s->aStmt[s->nStmt-1]);
}

/* ------------------------------------------------------------ look */

void activityCheckProgressLost(CancelSession *s, unsigned nStarts){
  sqlite3_stmt *p = (sqlite3_stmt*)s->pSnap;
  if( p==0 || p!=s->pFast || nStarts!=s->snapStarts
   || s->nProgressCalls!=s->snapProgress
   || (atomic_load(&s->hooksLost) & (HOOKS_PROGRESS_LOST|HOOKS_TRACE_LOST))
   || idsNowMs() - s->snapMs < ACTIVITY_LONG_MS
   || !actIsStmt(s->db, p) || sqlite3_stmt_busy(p)
   || sqlite3_stmt_status(p, SQLITE_STMTSTATUS_VM_STEP, 0) - s->snapVm
      < ACTIVITY_LONG_STEPS
  ){
    return;
  }
  s->pSnap = 0;
  activitySetLost(s, HOOKS_PROGRESS_LOST, 1);
  /* Nothing of the connection runs: the next statement starts with the
  ** PROFILE trace on (hooks.c, hooksWantedMask, agrees from now on). */
  s->traceMask = SQLITE_TRACE_STMT|SQLITE_TRACE_PROFILE;
  sqlite3_trace_v2(s->db, s->traceMask, s->xTrace, s);
}

int activityLookLocked(CancelSession *s, ActivityLook *pOut){
  sqlite3_mutex *m;
  sqlite3_stmt *p;
  unsigned nStarts = atomic_load(&s->nStarts);
  int nStmt, eKind, bAutocommit, bRunning;
  memset(pOut, 0, sizeof(*pOut));
  if( s->closing ) return 0;
  pthread_mutex_lock(&s->mu);
  nStmt = s->nStmt;
  pOut->iNewest = nStmt>0 ? s->aStmt[nStmt-1].iQuery : 0;
  pthread_mutex_unlock(&s->mu);
  if( nStmt==0 && nStarts==s->nStartsLooked ) return 0;   /* nothing new */
  m = sqlite3_db_mutex(s->db);
  if( m==0 ) return 0;        /* no mutex: its hooks report every end */
  if( sqlite3_mutex_try(m)!=SQLITE_OK ){
    pthread_mutex_lock(&s->mu);
    if( s->cursorIdle ){            /* it runs again (a re-step) */
      s->cursorIdle = 0;
      remotePublishActivity(s);
    }
    if( s->nStmt==0 && nStarts!=s->nStartsLooked ){
      /* a statement started since and runs, not listed yet */
      atomic_store(&s->noticeSoon, 1);
      pOut->bBusyUnlisted = 1;
    }
    pthread_mutex_unlock(&s->mu);
    return 0;
  }
  /* No other thread is inside the connection now. What is listed and
  ** not open has ended; what is open was left open, unless this very
  ** thread is inside one of its statements (bRunning). */
  activitySettle(s, 0);
  /* (as before this design, a look from the thread that started its
  ** newest statement counts what is open as running: it may be inside
  ** it, or iterating it between two rows) */
  {
    int bExec = activityExecuting(s->db);
    bRunning = bExec || pthread_equal(s->execThread, pthread_self());
    if( !bExec ) activityCheckProgressLost(s, nStarts);
  }
  bAutocommit = sqlite3_get_autocommit(s->db);
  eKind = sqlite3_txn_state(s->db, 0);
  pthread_mutex_lock(&s->mu);
  if( nStarts!=s->nStartsLooked ){
    int nUnseen;
    void *pF = s->pFast;
    if( actListOpenLocked(s, 0, &nUnseen)>0 ) atomic_store(&s->slowNext, 1);
    if( actIsStmt(s->db, pF) && !sqlite3_stmt_busy((sqlite3_stmt*)pF)
     && actRuns((sqlite3_stmt*)pF)>0 && sqlite3_sql((sqlite3_stmt*)pF)
    ){
      actSetLast(s, sqlite3_sql((sqlite3_stmt*)pF));   /* it ran last */
    }
    s->nStartsLooked = nStarts;
  }
  s->inXact = !bAutocommit;
  s->eXactKind = eKind;
  if( bAutocommit && s->nStmt==0 ) s->xactStartMs = 0;
  else if( s->xactStartMs==0 ) s->xactStartMs = idsNowMs();
  s->cursorIdle = s->nStmt>0 && !bRunning;
  pOut->eKind = eKind;
  pOut->iNewest = s->nStmt>0 ? s->aStmt[s->nStmt-1].iQuery : 0;
  for(p=sqlite3_next_stmt(s->db, 0); p; p=sqlite3_next_stmt(s->db, p)){
    if( sqlite3_stmt_busy(p) ){
      pOut->nSteps += sqlite3_stmt_status(p, SQLITE_STMTSTATUS_VM_STEP, 0);
    }
  }
  nStmt = s->cursorIdle ? s->nStmt : 0;
  remotePublishActivity(s);       /* other processes see it too */
  pthread_mutex_unlock(&s->mu);
  if( !bRunning ) activitySetWaiting(s, 0);    /* not waiting: nothing runs */
  sqlite3_mutex_leave(m);
  return nStmt>0;
}
