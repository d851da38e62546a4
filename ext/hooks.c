/*
** hooks.c: the callbacks that run on a session's own thread.
**
**   trace (STMT)     a top-level statement starts: record it with a new
**                    query id, start time and statement-timeout deadline;
**                    refuse to go on if the session was terminated.
**   trace (PROFILE)  it ended (done, error, reset or finalize): forget it,
**                    remember it as last_active_query, note the
**                    transaction state; if that leaves the session idle
**                    in a transaction, arm its idle-in-transaction limit
**                    (enforced by registry.c's background thread).
**   progress         every CANCEL_PROGRESS_OPS instructions: interrupt
**                    if a request names the statement running now, or its
**                    statement timeout has passed.
**   busy             waiting on a lock: the same checks, and a wait that a
**                    cancel wakes at once; honours the busy timeout.
**   commit           a terminated session never commits.
**   authorizer       installed only once terminated: denies everything
**                    but ROLLBACK, so every later statement fails.
**
** Statement text starting with "-- " is a trigger or a statement nested
** inside another one (SQLite marks both so); they belong to the
** top-level statement that is already recorded.
**
** Each of these hooks is a single slot of the connection: an application
** that sets its own trace, progress or busy handler after loading
** removes ours. What can be detected is (doc/hooks.md):
**
**   trace taken      our progress handler runs while no statement is
**                    recorded, and the connection has a statement running
**                    that we never saw start (hooksCheckTrace);
**   progress taken   a statement ran long, for many VM instructions, and
**                    our progress handler was never called (hooksStmtEnd);
**   busy timeout     sqlite3_busy_timeout() (PRAGMA busy_timeout, the
**                    shell's .timeout) after loading replaced our busy
**                    handler; since installing ours sets the timeout to 0,
**                    a nonzero PRAGMA busy_timeout means exactly that. It
**                    is adopted: ours goes back in, with that timeout
**                    (hooksCheckBusy, at the start of a transaction, at
**                    most every HOOKS_BUSY_CHECK_MS, and at the statement
**                    after any PRAGMA).
*/
#include "hooks.h"
#include "terminate.h"
#include "sqltext.h"
#include "cancellog.h"
#include "port.h"
#include "remote.h"
SQLITE_EXTENSION_INIT3

#include <string.h>
#include <time.h>

/* When a transaction start looks at PRAGMA busy_timeout: after a pause
** of HOOKS_BUSY_CHECK_MS since the previous statement start (when an
** application changes its settings), and at least every
** HOOKS_BUSY_RECHECK_MS. The clock read is the one every statement start
** makes anyway. */
#define HOOKS_BUSY_CHECK_MS   10
#define HOOKS_BUSY_RECHECK_MS 100
/* A statement that ran at least this long and this many VM instructions
** without a call of our progress handler (called every
** CANCEL_PROGRESS_OPS instructions, at every loop jump) has lost it. */
#define HOOKS_LONG_NS     (100*(sqlite3_int64)1000000)
#define HOOKS_LONG_STEPS  (10*CANCEL_PROGRESS_OPS)

/* Why a statement must stop now. */
#define STOP_NONE      0
#define STOP_TERMINATE 1   /* the session is terminated */
#define STOP_CANCEL    2   /* a cancel names the statement running now */

/* With s->mu held: is there a request for the statement running now? */
static int hooksStopReasonLocked(CancelSession *s){
  u64 q;
  if( atomic_load(&s->eTerm)!=TERM_NONE ) return STOP_TERMINATE;
  q = atomic_load(&s->iCancelQuery);
#ifdef CANCEL_TEST_MISFIRE
  /* Deliberately broken, to show that test/stress.c, soak.c and xstress.c
  ** catch a handler that stops whatever runs while a request is pending,
  ** one left behind by an execution that ended included (hooksStmtEnd
  ** keeps it then): never defined in a real build. */
  if( q!=0 && s->nStmt>0 ) return STOP_CANCEL;
#endif
  if( q!=0 && s->nStmt>0 && s->aStmt[s->nStmt-1].iQuery==q ) return STOP_CANCEL;
  return STOP_NONE;
}

/* The statement stops because of reason eWhy: fill in the outcome of the
** cancel's log entry (once). zOutcome: interrupted or lock wait ended. */
static void hooksStopped(CancelSession *s, int eWhy, const char *zOutcome){
  if( eWhy==STOP_CANCEL ){
    i64 iLog;
    pthread_mutex_lock(&s->mu);
    iLog = s->iLogCancel;
    s->iLogCancel = 0;
    registrySetReasonLocked(s, "cancelled", &s->cancelBy);
    pthread_mutex_unlock(&s->mu);
    cancelLogOutcome(iLog, zOutcome);
  }
}

static int hooksStopReason(CancelSession *s){
  int eWhy;
  if( atomic_load_explicit(&s->eTerm, memory_order_relaxed)==TERM_NONE
   && atomic_load_explicit(&s->iCancelQuery, memory_order_relaxed)==0
  ){
    return STOP_NONE;      /* the hot path: no request at all */
  }
  pthread_mutex_lock(&s->mu);
  eWhy = hooksStopReasonLocked(s);
  pthread_mutex_unlock(&s->mu);
  return eWhy;
}

/* The statement timeout of the newest statement has passed: log it and
** disarm it (the statement is stopping). */
static void hooksTimedOut(CancelSession *s, const char *zOutcome){
  LogTarget t;
  CancelAsker by;
  char *zUser = 0;
  int isAdmin;
  memset(&t, 0, sizeof(t));
  s->curDeadlineUs = 0;
  registryCaller(s, &zUser, &isAdmin);
  registryTimeoutAsker(&by, "statement_timeout", atomic_load(&s->stmtTimeoutMs));
  pthread_mutex_lock(&s->mu);
  registrySetReasonLocked(s, "cancelled", &by);
  if( s->nStmt>0 ){
    ActiveStmt *a = &s->aStmt[s->nStmt-1];
    a->deadlineUs = 0;
    t.iQuery = a->iQuery;
    t.zSql = a->zSql;
  }
  t.iSession = s->iSerial;
  t.pid = s->pid;
  t.zUser = zUser;
  t.pSh = s->pShReg;
  cancelLogAdd(s->iSerial, zUser, "statement_timeout", &t, zOutcome);
  pthread_mutex_unlock(&s->mu);
  sqlite3_free(zUser);
}

/* Is zSql a plain COMMIT or END (optionally TRANSACTION)? */
static int hooksIsCommit(const char *zSql){
  int n;
  while( *zSql==' ' || *zSql=='\t' || *zSql=='\n' || *zSql=='\r' ) zSql++;
  if( sqlite3_strnicmp(zSql, "COMMIT", 6)==0 ) n = 6;
  else if( sqlite3_strnicmp(zSql, "END", 3)==0 ) n = 3;
  else return 0;
  zSql += n;
  while( *zSql==' ' || *zSql=='\t' || *zSql=='\n' || *zSql=='\r' ) zSql++;
  if( sqlite3_strnicmp(zSql, "TRANSACTION", 11)==0 ) zSql += 11;
  while( *zSql==' ' || *zSql=='\t' || *zSql=='\n' || *zSql=='\r' ) zSql++;
  return *zSql==0 || *zSql==';';
}

/* A statement starts on a terminated session (own thread, inside its
** first sqlite3_step). Deny every later statement; and if nothing else
** of this connection is running, interrupt this one too.
**
** A connection without a mutex (no other thread could roll it back) that
** still holds a transaction is the exception: its own calls must release
** it. An interrupted write rolls the whole transaction back, and a COMMIT
** reaches the commit hook, which turns it into a rollback; so until the
** transaction is gone every statement but COMMIT is interrupted, and the
** deny-all authorizer (which would refuse that write or COMMIT before it
** could roll back) waits for terminateNoMutexDone(). */
static void hooksRefuse(CancelSession *s, const char *zSql){
  int nOther;
  pthread_mutex_lock(&s->mu);
  nOther = s->nStmt;
  pthread_mutex_unlock(&s->mu);
  if( s->noMutex && nOther==0 && !sqlite3_get_autocommit(s->db) ){
    if( !hooksIsCommit(zSql) ) sqlite3_interrupt(s->db);
    return;
  }
  if( !atomic_load(&s->denyInstalled) ) terminateDenyAll(s);
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



/* Is zSql exactly `SELECT cancel_reason() [[AS] name] [;]` (blanks and
** comments anywhere)? The one statement a terminated session may still
** run besides ROLLBACK. */
int hooksIsReasonQuery(const char *zSql){
  const char *z = sqltextSkip(zSql, 0);
  if( (z = sqltextKeyword(z, "SELECT"))==0 ) return 0;
  z = sqltextSkip(z, 0);
  if( (z = sqltextKeyword(z, "cancel_reason"))==0 ) return 0;
  z = sqltextSkip(z, 0);
  if( *z++!='(' ) return 0;
  z = sqltextSkip(z, 0);
  if( *z++!=')' ) return 0;
  z = sqltextSkip(z, 0);
  if( sqltextKeyword(z, "AS") ) z = sqltextSkip(z+2, 0);
  if( *z=='"' || *z=='`' || *z=='[' || *z=='\'' ){
    char cEnd = *z=='[' ? ']' : *z;
    z = strchr(z+1, cEnd);
    if( z==0 ) return 0;
    z = sqltextSkip(z+1, 0);
  }else{
    while( (*z>='a' && *z<='z') || (*z>='A' && *z<='Z') || (*z>='0' && *z<='9')
        || *z=='_' ) z++;
    z = sqltextSkip(z, 0);
  }
  if( *z==';' ) z = sqltextSkip(z+1, 0);
  return *z==0;
}

/* A new query id. Taken from the process-wide counter in blocks, so
** that threads running many small statements do not all contend for
** one cache line; ids stay unique, and never reused. */
static u64 hooksNextQuery(CancelSession *s){
  if( s->iQueryNext==s->iQueryEnd ){
    s->iQueryNext = idsReserveQueries(CANCEL_QUERY_BLOCK);
    s->iQueryEnd = s->iQueryNext + CANCEL_QUERY_BLOCK;
  }
  return s->iQueryNext++;
}

static int hooksBusy(void *p, int nPrior);

/* Set or clear a HOOKS_*_LOST bit (own thread, s->mu not held), and
** publish the change to other processes. */
static void hooksSetLost(CancelSession *s, int bit, int bOn){
  int old = bOn ? atomic_fetch_or(&s->hooksLost, bit)
                : atomic_fetch_and(&s->hooksLost, ~bit);
  if( ((old & bit)!=0)==(bOn!=0) ) return;
  if( bOn ){
    sqlite3_log(SQLITE_WARNING, "cancel: session %lld: the application "
                "replaced the extension's %s (see doc/hooks.md)", (long long)s->pid,
                bit==HOOKS_TRACE_LOST ? "trace hook: cancels cannot be delivered"
                : "progress handler: cancels use sqlite3_interrupt");
  }
  pthread_mutex_lock(&s->mu);
  remotePublishActivity(s);
  pthread_mutex_unlock(&s->mu);
}

/* Our progress handler runs while no statement is recorded. Schema
** loading does that legitimately (its statements are not traced, and
** have no SQL text), and so does registry.c's own ROLLBACK; any other
** statement of the connection that is running was started without our
** trace hook seeing it: the trace was taken over. */
static void hooksCheckTrace(CancelSession *s){
  sqlite3_stmt *p;
  void *pLast;
  int bSkip;
  pthread_mutex_lock(&s->mu);
  bSkip = s->finishing || s->nStmt>0;
  pthread_mutex_unlock(&s->mu);
  if( bSkip ) return;
  pLast = s->pLastEnded;
  for(p=sqlite3_next_stmt(s->db, 0); p; p=sqlite3_next_stmt(s->db, p)){
    /* (the statement that ended last may be stepped again after
    ** SQLITE_BUSY without a reset: that resumes it, and no trace fires) */
    if( (void*)p!=pLast && sqlite3_stmt_busy(p) && sqlite3_sql(p) ){
      hooksSetLost(s, HOOKS_TRACE_LOST, 1);
      return;
    }
  }
}

/* Look at PRAGMA busy_timeout: nonzero means the application called
** sqlite3_busy_timeout() after we installed our busy handler (which sets
** it to 0), replacing ours with SQLite's. Adopt it: ours again, honouring
** that timeout, so the wait stays visible and cancellable. Run from the
** trace callback of a top-level statement: SQLite reports the nested
** statement to the trace as "-- ..." and inInternal keeps its end out. */
static void hooksCheckBusy(CancelSession *s, i64 now){
  sqlite3_stmt *p = 0;
  int ms = 0;
  s->busyCheckDue = 0;
  s->busyCheckMs = now;
  s->inInternal = 1;
  if( sqlite3_prepare_v2(s->db, "PRAGMA busy_timeout", -1, &p, 0)==SQLITE_OK
   && p && sqlite3_step(p)==SQLITE_ROW ){
    ms = sqlite3_column_int(p, 0);
  }
  sqlite3_finalize(p);
  s->inInternal = 0;
  if( ms>0 ){
    s->busyTimeoutMs = ms;
    sqlite3_busy_handler(s->db, hooksBusy, s);   /* (sets it back to 0) */
  }
}

/* Does zSql start with PRAGMA? (cheap: most statements fail at the first
** letter) */
static int hooksIsPragma(const char *zSql){
  while( *zSql==' ' || *zSql=='\t' || *zSql=='\n' || *zSql=='\r' ) zSql++;
  return (zSql[0]=='p' || zSql[0]=='P') && sqlite3_strnicmp(zSql, "PRAGMA", 6)==0;
}

static void hooksStmtStart(CancelSession *s, void *pStmt, const char *zSql){
  i64 now = idsNowMs();
  u64 iQuery = hooksNextQuery(s);
  int bAutocommit = sqlite3_get_autocommit(s->db);
  int timeoutMs = atomic_load_explicit(&s->stmtTimeoutMs, memory_order_relaxed);
  int idleMs = atomic_load_explicit(&s->idleTimeoutMs, memory_order_relaxed);
  i64 deadlineUs = timeoutMs>0 ? idsMonoUs() + (i64)timeoutMs*1000 : 0;
  int nVm = sqlite3_stmt_status((sqlite3_stmt*)pStmt, SQLITE_STMTSTATUS_VM_STEP, 0);
  int i;
  if( atomic_load_explicit(&s->hooksLost, memory_order_relaxed) & HOOKS_TRACE_LOST ){
    hooksSetLost(s, HOOKS_TRACE_LOST, 0);   /* it is ours again */
  }
  if( idleMs>0 && atomic_load(&s->eTerm)==TERM_NONE ){
    /* With an idle timeout only: the statement may be left open after a
    ** row (a forgotten cursor, which the hooks cannot see); the reaper
    ** looks at it then (registry.c, regIdleExpired). */
    i64 d = idsMonoUs() + (i64)idleMs*1000;
    atomic_store(&s->idleDeadlineUs, d);
    terminateIdleDeadline(d);
  }else if( atomic_load_explicit(&s->idleDeadlineUs, memory_order_relaxed) ){
    atomic_store(&s->idleDeadlineUs, 0);    /* no longer idle */
  }
  if( atomic_load_explicit(&s->eTerm, memory_order_relaxed)==TERM_NONE
   && (s->busyCheckDue || (bAutocommit && s->nStmt==0
                           && (now - s->lastStartMs >= HOOKS_BUSY_CHECK_MS
                               || now - s->busyCheckMs >= HOOKS_BUSY_RECHECK_MS
                               || now < s->busyCheckMs)))
  ){
    hooksCheckBusy(s, now);
  }
  s->lastStartMs = now;
  if( hooksIsPragma(zSql) ) s->busyCheckDue = 1;  /* it may set busy_timeout */
  if( atomic_load(&s->eTerm)!=TERM_NONE ){
    /* (rare) registry.c's own ROLLBACK is not a query; anything else of a
    ** terminated session is refused */
    int bFinishing;
    pthread_mutex_lock(&s->mu);
    bFinishing = s->finishing;
    pthread_mutex_unlock(&s->mu);
    if( bFinishing ) return;
    if( !hooksIsRollback(zSql) && !hooksIsReasonQuery(zSql) ) hooksRefuse(s, zSql);
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
  }else if( i!=s->nStmt-1 ){
    /* run again while listed (no end was seen): make it the newest */
    ActiveStmt a = s->aStmt[i];
    memmove(&s->aStmt[i], &s->aStmt[i+1], sizeof(ActiveStmt)*(s->nStmt-i-1));
    s->aStmt[s->nStmt-1] = a;
    i = s->nStmt-1;
  }
  s->aStmt[i].pStmt = pStmt;
  s->aStmt[i].iQuery = iQuery;
  s->aStmt[i].startMs = now;
  s->aStmt[i].deadlineUs = deadlineUs;
  s->aStmt[i].zSql = zSql;
  s->cursorIdle = 0;
  s->aStmt[i].nProgressAtStart = s->nProgressCalls;
  s->aStmt[i].nVmAtStart = nVm;
  s->curDeadlineUs = deadlineUs;
  s->execThread = pthread_self();
  if( bAutocommit && s->xactStartMs==0 ) s->xactStartMs = now;
  /* Not published to the registry file yet: most statements end within
  ** microseconds. The progress handler publishes it once it has run
  ** CANCEL_PROGRESS_OPS instructions, the busy handler once it waits. */
  s->shLate = 1;
  pthread_mutex_unlock(&s->mu);
}

static void hooksStmtEnd(CancelSession *s, void *pStmt, i64 nsElapsed){
  int bFound = 0, nVm = 0;
  unsigned nProgress = 0;
  int bAutocommit = sqlite3_get_autocommit(s->db);
  /* In autocommit mode with nothing else running, no transaction is
  ** left; and a write transaction, once held, is held until the
  ** transaction ends, which turns autocommit mode back on (a statement
  ** whose end this sees first, clearing xactWrite): spare the call in
  ** both cases (it takes the connection mutex). */
  int eKind = (bAutocommit && s->nStmt<=1) ? XACT_NONE
            : (!bAutocommit && s->xactWrite) ? XACT_WRITE
            : sqlite3_txn_state(s->db, 0);
  int idleMs = atomic_load_explicit(&s->idleTimeoutMs, memory_order_relaxed);
  int i, bIdleInXact, bSelfTerm, bOpenLeft, bNoXact;
  i64 iLogFinished = 0;
  s->xactWrite = !bAutocommit && eKind==XACT_WRITE;
  pthread_mutex_lock(&s->mu);
  for(i=0; i<s->nStmt && s->aStmt[i].pStmt!=pStmt; i++){}
  if( i<s->nStmt ){
    ActiveStmt *a = &s->aStmt[i];
    int n = (int)strlen(a->zSql) + 1;
    u64 q = a->iQuery;
    bFound = 1;
    nProgress = a->nProgressAtStart;
    nVm = a->nVmAtStart;
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
    ** hot path stays lock-free. If it was still pending, the statement
    ** finished before the cancel could act. */
#ifdef CANCEL_TEST_MISFIRE
    q = 0;                          /* (broken: the request stays) */
#endif
    if( atomic_load_explicit(&s->iCancelQuery, memory_order_relaxed)==q
     && atomic_compare_exchange_strong(&s->iCancelQuery, &q, 0)
    ){
      iLogFinished = s->iLogCancel;
      s->iLogCancel = 0;
    }
    if( i<s->nStmt-1 ){          /* (usually the newest one ends) */
      memmove(&s->aStmt[i], &s->aStmt[i+1], sizeof(ActiveStmt)*(s->nStmt-i-1));
    }
    s->nStmt--;
  }
  s->curDeadlineUs = s->nStmt>0 ? s->aStmt[s->nStmt-1].deadlineUs : 0;
  s->cursorIdle = 0;
  bOpenLeft = s->nStmt>0;
  s->inXact = !bAutocommit;
  s->eXactKind = eKind;
  if( bAutocommit && s->nStmt==0 ) s->xactStartMs = 0;
  bIdleInXact = s->inXact && s->nStmt==0;
  bSelfTerm = s->selfTerm && s->nStmt==0;
  bNoXact = bAutocommit && s->nStmt==0;
  s->shLate = s->nStmt>0;     /* (the ones still open are published late) */
  remotePublishEnd(s);
  pthread_mutex_unlock(&s->mu);
  s->pLastEnded = pStmt;
  if( bSelfTerm ){
    terminateSelf(s);     /* it asked to be terminated */
    bIdleInXact = 0;
  }
  if( atomic_load_explicit(&s->waitingSinceMs, memory_order_relaxed) ){
    registrySetWaiting(s, 0);
  }
  if( iLogFinished ) cancelLogOutcome(iLogFinished, LOG_FINISHED);
  if( bFound && nsElapsed>=HOOKS_LONG_NS && nProgress==s->nProgressCalls
   && sqlite3_stmt_status((sqlite3_stmt*)pStmt, SQLITE_STMTSTATUS_VM_STEP, 0)
      - nVm >= HOOKS_LONG_STEPS
  ){
    hooksSetLost(s, HOOKS_PROGRESS_LOST, 1);
  }
  if( s->noMutex && bNoXact && atomic_load(&s->eTerm)==TERM_REQUEST ){
    /* no transaction left: a terminated multi-thread session is done */
    terminateNoMutexDone(s);
  }
  if( (bIdleInXact || bOpenLeft) && idleMs>0 && atomic_load(&s->eTerm)==TERM_NONE ){
    /* idle in a transaction, or another statement is still open (maybe
    ** a forgotten cursor: the reaper looks) */
    i64 d = idsMonoUs() + (i64)idleMs*1000;
    atomic_store(&s->idleDeadlineUs, d);
    terminateIdleDeadline(d);
  }else if( atomic_load_explicit(&s->idleDeadlineUs, memory_order_relaxed) ){
    atomic_store(&s->idleDeadlineUs, 0);
  }
  if( atomic_load(&s->eTerm)==TERM_REQUEST ) terminateKickReaper();
}

static int hooksTrace(unsigned type, void *pCtx, void *P, void *X){
  CancelSession *s = (CancelSession*)pCtx;
  if( s->inInternal ) return 0;      /* our own PRAGMA busy_timeout */
  if( type==SQLITE_TRACE_STMT ){
    const char *z = (const char*)X;
    /* A statement run inside another one (db->nVdbeExec>1) is reported as
    ** "-- <sql>", text SQLite allocates: out of memory, it passes NULL
    ** (found by test/oom.c). Either way it is not a top-level statement. */
    if( z==0 ) return 0;
    if( z[0]=='-' && z[1]=='-' && z[2]==' ' ) return 0;
    hooksStmtStart(s, P, z);
  }else if( type==SQLITE_TRACE_PROFILE ){
    hooksStmtEnd(s, P, X ? *(sqlite3_int64*)X : 0);
  }
  return 0;
}

/* The statement running now has lasted long enough to matter: show it
** to other processes (the registry file). */
static void hooksPublishLate(CancelSession *s){
  s->shLate = 0;
  pthread_mutex_lock(&s->mu);
  remotePublishActivity(s);
  pthread_mutex_unlock(&s->mu);
}

/*
** Must the statement running now on s's own thread stop: a cancel names
** it, the session was terminated, or its statement timeout passed? Logged
** ('interrupted'). The progress handler asks it every CANCEL_PROGRESS_OPS
** instructions; so do the waits the extension itself causes inside a
** statement (job_progress on a paused job, job_wait, the wait of
** pg_terminate_backend(pid, timeout_ms)), which then fail the statement
** with SQLITE_INTERRUPT.
*/
int hooksWaitStop(void *p){
  CancelSession *s = (CancelSession*)p;
  int eWhy;
  if( s->shLate ) hooksPublishLate(s);
  remoteServeOwnCancel(s);
  eWhy = hooksStopReason(s);
  if( eWhy ){
    hooksStopped(s, eWhy, LOG_INTERRUPTED);
    return 1;
  }
  if( s->curDeadlineUs && idsMonoUs()>=s->curDeadlineUs ){
    hooksTimedOut(s, LOG_INTERRUPTED);
    return 1;
  }
  return 0;
}

/* The progress handler: every CANCEL_PROGRESS_OPS instructions. */
static int hooksProgress(void *p){
  CancelSession *s = (CancelSession*)p;
  int lost = atomic_load_explicit(&s->hooksLost, memory_order_relaxed);
  s->nProgressCalls++;
  if( lost & HOOKS_PROGRESS_LOST ) hooksSetLost(s, HOOKS_PROGRESS_LOST, 0);
  if( s->nStmt==0 && !(lost & HOOKS_TRACE_LOST) && !s->inInternal ){
    hooksCheckTrace(s);
  }
  if( hooksWaitStop(s) ) return 1;
  if( atomic_load_explicit(&registryWaiters, memory_order_relaxed) ){
    /* Someone waits on a lock: keep what we hold visible to
    ** blocking_sessions(), and we are not waiting ourselves. */
    int eKind = sqlite3_txn_state(s->db, 0);
    pthread_mutex_lock(&s->mu);
    s->eXactKind = eKind;
    pthread_mutex_unlock(&s->mu);
    registrySetWaiting(s, 0);
  }
  if( s->xAppProgress ) return s->xAppProgress(s->pAppProgressArg);
  return 0;
}

/* The same back-off as SQLite's own busy handler. */
static const int aBusyDelayMs[] = { 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 };

/*
** A statement waits on a lock. Stop waiting (return 0: the statement
** fails with SQLITE_BUSY) when a cancel names it, when the session is
** terminated, when its statement timeout passes, or when the busy
** timeout does; otherwise sleep on the session's condition, which a
** cancel broadcasts, so a lock wait ends at once instead of at the next
** retry.
*/
static int hooksBusy(void *p, int nPrior){
  CancelSession *s = (CancelSession*)p;
  i64 nowUs = idsMonoUs();
  i64 deadlineUs, wakeUs;
  int nDelay = (int)(sizeof(aBusyDelayMs)/sizeof(aBusyDelayMs[0]));
  int eWhy;
  struct timespec dl;

  if( s->shLate ) hooksPublishLate(s);
  if( nPrior==0 || atomic_load(&s->waitingSinceMs)==0 ){
    s->busyStartUs = nowUs;
    pthread_mutex_lock(&s->mu);
    s->eXactKind = sqlite3_txn_state(s->db, 0);
    pthread_mutex_unlock(&s->mu);
    registrySetWaiting(s, idsNowMs());
  }
  eWhy = hooksStopReason(s);
  if( eWhy ){
    hooksStopped(s, eWhy, LOG_WAIT_ENDED);
    registrySetWaiting(s, 0);
    return 0;
  }
  if( s->curDeadlineUs && nowUs>=s->curDeadlineUs ){
    hooksTimedOut(s, LOG_WAIT_ENDED);
    registrySetWaiting(s, 0);
    return 0;
  }
  if( s->xAppBusy ){
    int r = s->xAppBusy(s->pAppBusyArg, nPrior);
    if( r==0 ) registrySetWaiting(s, 0);
    return r;
  }
  deadlineUs = s->busyStartUs + (i64)s->busyTimeoutMs*1000;
  if( nowUs>=deadlineUs ){
    registrySetWaiting(s, 0);
    return 0;
  }
  wakeUs = nowUs + (i64)aBusyDelayMs[nPrior<nDelay ? nPrior : nDelay-1]*1000;
  if( wakeUs>deadlineUs ) wakeUs = deadlineUs;
  if( s->curDeadlineUs && wakeUs>s->curDeadlineUs ) wakeUs = s->curDeadlineUs;
  dl = portCondDeadline(wakeUs);
  pthread_mutex_lock(&s->mu);
  while( (eWhy = hooksStopReasonLocked(s))==STOP_NONE ){
    if( pthread_cond_timedwait(&s->cond, &s->mu, &dl)!=0 ) break;
  }
  pthread_mutex_unlock(&s->mu);
  if( eWhy ){
    hooksStopped(s, eWhy, LOG_WAIT_ENDED);
    registrySetWaiting(s, 0);
    return 0;
  }
  if( s->curDeadlineUs && idsMonoUs()>=s->curDeadlineUs ){
    hooksTimedOut(s, LOG_WAIT_ENDED);
    registrySetWaiting(s, 0);
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

/* The application's handlers, called after ours (cancel.h). Set by the
** connection's own thread, as SQLite's own setters are. */
void hooksSetAppProgress(CancelSession *s, int (*xProgress)(void*), void *pArg){
  s->xAppProgress = xProgress;
  s->pAppProgressArg = pArg;
}

void hooksSetAppBusy(CancelSession *s, int (*xBusy)(void*, int), void *pArg){
  s->xAppBusy = xBusy;
  s->pAppBusyArg = pArg;
}
