/*
** hooks.c: the callbacks that run on a session's own thread.
**
**   trace (STMT)     a top-level statement starts: record it with a new
**                    query id and start time; refuse to go on if the
**                    session was terminated.
**   trace (PROFILE)  it ended (done, error, reset or finalize): forget it,
**                    remember it as last_active_query, note the
**                    transaction state.
**   progress         every CANCEL_PROGRESS_OPS instructions: interrupt
**                    if the request names the statement running now.
**   busy             waiting on a lock: the same check, and a wait that a
**                    cancel wakes at once; honours the busy timeout.
**   commit           a terminated session never commits.
**   authorizer       installed only once terminated: denies everything
**                    but ROLLBACK, so every later statement fails.
**
** Statement text starting with "-- " is a trigger or a statement nested
** inside another one (SQLite marks both so); they belong to the
** top-level statement that is already recorded.
*/
#include "hooks.h"
SQLITE_EXTENSION_INIT3

#include <string.h>
#include <time.h>

/* With s->mu held: is there a request for the statement running now? */
static int hooksShouldStopLocked(CancelSession *s){
  u64 q;
  if( atomic_load(&s->eTerm)!=TERM_NONE ) return 1;
  q = atomic_load(&s->iCancelQuery);
  return q!=0 && s->nStmt>0 && s->aStmt[s->nStmt-1].iQuery==q;
}

static int hooksShouldStop(CancelSession *s){
  int bStop;
  if( atomic_load_explicit(&s->eTerm, memory_order_relaxed)==TERM_NONE
   && atomic_load_explicit(&s->iCancelQuery, memory_order_relaxed)==0
  ){
    return 0;      /* the hot path: no request at all */
  }
  pthread_mutex_lock(&s->mu);
  bStop = hooksShouldStopLocked(s);
  pthread_mutex_unlock(&s->mu);
  return bStop;
}

/* Deny everything but ROLLBACK: an application's error path that rolls
** back must still be able to release its locks (the only way to do so
** in SQLITE_OPEN_NOMUTEX mode, see registryFinishTermination). */
static int hooksDenyAuth(void *p, int op, const char *z1, const char *z2,
                         const char *z3, const char *z4){
  (void)p; (void)z2; (void)z3; (void)z4;
  if( op==SQLITE_TRANSACTION && z1 && sqlite3_stricmp(z1, "ROLLBACK")==0 ){
    return SQLITE_OK;
  }
  return SQLITE_DENY;
}

void hooksDenyAll(CancelSession *s){
  sqlite3_set_authorizer(s->db, hooksDenyAuth, s);
  atomic_store(&s->denyInstalled, 1);
}

/* A statement starts on a terminated session (own thread, inside its
** first sqlite3_step). Deny every later statement; and if nothing else
** of this connection is running, interrupt this one too. */
static void hooksRefuse(CancelSession *s){
  int nOther;
  if( !atomic_load(&s->denyInstalled) ) hooksDenyAll(s);
  pthread_mutex_lock(&s->mu);
  nOther = s->nStmt;
  pthread_mutex_unlock(&s->mu);
  if( nOther==0 ) sqlite3_interrupt(s->db);
}

/* Is zSql a plain ROLLBACK (which a terminated session may still run)? */
static int hooksIsRollback(const char *zSql){
  while( *zSql==' ' || *zSql=='\t' || *zSql=='\n' || *zSql=='\r' ) zSql++;
  if( sqlite3_strnicmp(zSql, "ROLLBACK", 8)!=0 ) return 0;
  zSql += 8;
  while( *zSql==' ' || *zSql=='\t' || *zSql=='\n' || *zSql=='\r' ) zSql++;
  if( sqlite3_strnicmp(zSql, "TRANSACTION", 11)==0 ) zSql += 11;
  while( *zSql==' ' || *zSql=='\t' || *zSql=='\n' || *zSql=='\r' ) zSql++;
  return *zSql==0 || *zSql==';';
}

static void hooksStmtStart(CancelSession *s, void *pStmt, const char *zSql){
  i64 now = registryNowMs();
  u64 iQuery = registryNextQuery();
  int bAutocommit = sqlite3_get_autocommit(s->db);
  int i;
  pthread_mutex_lock(&s->mu);
  if( s->finishing ){   /* registry.c's own ROLLBACK: not a query */
    pthread_mutex_unlock(&s->mu);
    return;
  }
  pthread_mutex_unlock(&s->mu);
  if( atomic_load(&s->eTerm)!=TERM_NONE && !hooksIsRollback(zSql) ){
    hooksRefuse(s);
  }
  pthread_mutex_lock(&s->mu);
  for(i=0; i<s->nStmt && s->aStmt[i].pStmt!=pStmt; i++){}
  if( i==s->nStmt ){
    if( s->nStmt==s->nStmtAlloc ){
      int nNew = s->nStmtAlloc ? s->nStmtAlloc*2 : 4;
      ActiveStmt *aNew = sqlite3_realloc64(s->aStmt, sizeof(ActiveStmt)*nNew);
      if( aNew==0 ){               /* out of memory: stay unrecorded */
        pthread_mutex_unlock(&s->mu);
        return;
      }
      s->aStmt = aNew;
      s->nStmtAlloc = nNew;
    }
    s->nStmt++;
  }
  s->aStmt[i].pStmt = pStmt;
  s->aStmt[i].iQuery = iQuery;
  s->aStmt[i].startMs = now;
  s->aStmt[i].zSql = zSql;
  s->execThread = pthread_self();
  if( bAutocommit && s->xactStartMs==0 ) s->xactStartMs = now;
  pthread_mutex_unlock(&s->mu);
}

static void hooksStmtEnd(CancelSession *s, void *pStmt){
  int bAutocommit = sqlite3_get_autocommit(s->db);
  int i;
  pthread_mutex_lock(&s->mu);
  for(i=0; i<s->nStmt && s->aStmt[i].pStmt!=pStmt; i++){}
  if( i<s->nStmt ){
    ActiveStmt *a = &s->aStmt[i];
    int n = (int)strlen(a->zSql) + 1;
    u64 q = a->iQuery;
    if( n>s->nLastAlloc ){
      char *zNew = sqlite3_realloc(s->zLast, n);
      if( zNew ){ s->zLast = zNew; s->nLastAlloc = n; }
    }
    if( n<=s->nLastAlloc ){
      memcpy(s->zLast, a->zSql, n);
      s->hasLast = 1;
    }
    /* A request for an execution that has ended is void: query ids are
    ** never reused, so it can never match again, but clear it so the
    ** hot path stays lock-free. */
    atomic_compare_exchange_strong(&s->iCancelQuery, &q, 0);
    memmove(&s->aStmt[i], &s->aStmt[i+1], sizeof(ActiveStmt)*(s->nStmt-i-1));
    s->nStmt--;
  }
  s->inXact = !bAutocommit;
  if( bAutocommit && s->nStmt==0 ) s->xactStartMs = 0;
  atomic_store(&s->waitingSinceMs, 0);
  pthread_mutex_unlock(&s->mu);
  if( atomic_load(&s->eTerm)==TERM_REQUEST ) registryKickReaper();
}

static int hooksTrace(unsigned type, void *pCtx, void *P, void *X){
  CancelSession *s = (CancelSession*)pCtx;
  if( type==SQLITE_TRACE_STMT ){
    const char *z = (const char*)X;
    if( z[0]=='-' && z[1]=='-' && z[2]==' ' ) return 0;
    hooksStmtStart(s, P, z);
  }else if( type==SQLITE_TRACE_PROFILE ){
    hooksStmtEnd(s, P);
  }
  return 0;
}

static int hooksProgress(void *p){
  CancelSession *s = (CancelSession*)p;
  if( hooksShouldStop(s) ) return 1;
  if( atomic_load_explicit(&s->waitingSinceMs, memory_order_relaxed) ){
    atomic_store(&s->waitingSinceMs, 0);   /* got the lock, running again */
  }
  if( s->xAppProgress ) return s->xAppProgress(s->pAppProgressArg);
  return 0;
}

/* The same back-off as SQLite's own busy handler. */
static const int aBusyDelayMs[] = { 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 };

static int hooksBusy(void *p, int nPrior){
  CancelSession *s = (CancelSession*)p;
  i64 now = registryNowMs();
  i64 since, deadline;
  int nDelay = (int)(sizeof(aBusyDelayMs)/sizeof(aBusyDelayMs[0]));
  int bStop;
  struct timespec dl;

  if( nPrior==0 || atomic_load(&s->waitingSinceMs)==0 ){
    atomic_store(&s->waitingSinceMs, now);
  }
  since = atomic_load(&s->waitingSinceMs);
  if( s->xAppBusy ){
    int r = hooksShouldStop(s) ? 0 : s->xAppBusy(s->pAppBusyArg, nPrior);
    if( r==0 ) atomic_store(&s->waitingSinceMs, 0);
    return r;
  }
  deadline = since + s->busyTimeoutMs;
  if( now>=deadline || hooksShouldStop(s) ){
    atomic_store(&s->waitingSinceMs, 0);
    return 0;
  }
  {
    i64 wake = now + aBusyDelayMs[nPrior<nDelay ? nPrior : nDelay-1];
    if( wake>deadline ) wake = deadline;
    dl.tv_sec = (time_t)(wake/1000);
    dl.tv_nsec = (long)(wake%1000)*1000000L;
  }
  /* Sleep on the session's condition: a cancel broadcasts it, so a
  ** lock wait ends at once instead of at the next retry. */
  pthread_mutex_lock(&s->mu);
  while( !(bStop = hooksShouldStopLocked(s)) ){
    if( pthread_cond_timedwait(&s->cond, &s->mu, &dl)!=0 ) break;
  }
  bStop = hooksShouldStopLocked(s);
  pthread_mutex_unlock(&s->mu);
  if( bStop ){
    atomic_store(&s->waitingSinceMs, 0);
    return 0;
  }
  return 1;
}

static int hooksCommit(void *p){
  CancelSession *s = (CancelSession*)p;
  return atomic_load(&s->eTerm)!=TERM_NONE;   /* nonzero: roll back */
}

void hooksInstall(CancelSession *s){
  sqlite3_trace_v2(s->db, SQLITE_TRACE_STMT|SQLITE_TRACE_PROFILE, hooksTrace, s);
  sqlite3_progress_handler(s->db, CANCEL_PROGRESS_OPS, hooksProgress, s);
  sqlite3_busy_handler(s->db, hooksBusy, s);
  sqlite3_commit_hook(s->db, hooksCommit, s);
}

void hooksRemove(CancelSession *s){
  sqlite3_trace_v2(s->db, 0, 0, 0);
  sqlite3_progress_handler(s->db, 0, 0, 0);
  sqlite3_busy_handler(s->db, 0, 0);
  sqlite3_commit_hook(s->db, 0, 0);
}
