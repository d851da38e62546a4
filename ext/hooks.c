/*
** hooks.c: the callbacks that run on a session's own thread.
**
**   trace (STMT)     a top-level statement starts. The fast path (the
**                    same statement again, nothing listed or pending)
**                    counts it and returns; the slow path settles what
**                    is listed, applies the trace mode, looks at the busy
**                    timeout, refuses the statement if the session was
**                    terminated, and records the start (activity.h).
**   trace (PROFILE)  only for sessions that need each end at once (a
**                    timeout, no mutex, a progress handler taken over;
**                    hooksWantedMask): it ended, so take it off the list,
**                    note the transaction state, arm the
**                    idle-in-transaction limit (enforced by terminate.c's
**                    reaper). Others learn of ends lazily (activity.c).
**   progress         every CANCEL_PROGRESS_OPS instructions: list the
**                    statement if it runs long; interrupt if a request
**                    names the statement running now, or its statement
**                    timeout has passed.
**   busy             waiting on a lock: list it, the same checks, and a
**                    wait that a cancel wakes at once; honours the busy
**                    timeout.
**   commit           a terminated session never commits.
**   authorizer       installed only once terminated: denies everything
**                    but ROLLBACK, so every later statement fails.
**
** Statement text starting with "-- " is a trigger or a statement nested
** inside another one (SQLite marks both so); they belong to the
** top-level statement.
**
** Each of these hooks is a single slot of the connection: an application
** that sets its own trace, progress or busy handler after loading
** removes ours. What can be detected is (doc/hooks.md):
**
**   trace taken      our progress handler finds a statement running that
**                    our trace never saw start (activityNotice);
**   progress taken   a statement ran long, for many VM instructions, and
**                    our progress handler was never called
**                    (hooksStmtEnd; without PROFILE, hooksCheckBusy
**                    runs SELECT 1 until it must have called it; a
**                    look, activityCheckProgressLost)
**   busy timeout     sqlite3_busy_timeout() (PRAGMA busy_timeout, the
**                    shell's .timeout) after loading replaced our busy
**                    handler; since installing ours sets the timeout to 0,
**                    a nonzero PRAGMA busy_timeout means exactly that. It
**                    is adopted: ours goes back in, with that timeout
**                    (hooksCheckBusy: at a slow start of a transaction
**                    after a pause of HOOKS_BUSY_CHECK_MS or every
**                    HOOKS_BUSY_RECHECK_MS, and at the statement after
**                    any PRAGMA; a statement prepared since the last start
**                    or every HOOKS_SLOW_EVERY-th start is a slow start).
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
** CANCEL_PROGRESS_OPS instructions, at every loop jump) has lost it
** (hooksStmtEnd: sessions that see each end). */
#define HOOKS_LONG_NS     (100*(sqlite3_int64)1000000)
#define HOOKS_LONG_STEPS  (10*CANCEL_PROGRESS_OPS)
/* How many times at most hooksCheckBusy runs SELECT 1 (4 VM
** instructions) to see our progress handler called: enough for twice
** CANCEL_PROGRESS_OPS; and how often at most. */
#define HOOKS_CANARY_RUNS (2*CANCEL_PROGRESS_OPS/4 + 2)
#define HOOKS_CANARY_EVERY_MS 1000

/* Every this many calls of the progress handler within a listed
** statement, it checks that statement is still the one that runs. */
#define HOOKS_RECHECK_CALLS 64


/* The slow start stays out of the trace callback, so that the fast path
** does not pay for its stack frame. */
#if defined(__GNUC__) || defined(__clang__)
# define HOOKS_NOINLINE __attribute__((noinline))
#else
# define HOOKS_NOINLINE
#endif

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
  /* (the newest listed execution is still open: settled lists make this
  ** always so while the trace is ours; checked all the same) */
  if( q!=0 && s->nStmt>0 && s->aStmt[s->nStmt-1].iQuery==q
   && activityNewestOpen(s) ){
    return STOP_CANCEL;
  }
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
  if( s->nStmt>0 && s->aStmt[s->nStmt-1].deadlineUs==0 ){
    /* the reaper enforced it already (a session without our progress
    ** handler: registryTimeoutByInterrupt), and logged it */
    pthread_mutex_unlock(&s->mu);
    sqlite3_free(zUser);
    return;
  }
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
    if( !sqltextIsCommit(zSql) ) sqlite3_interrupt(s->db);
    return;
  }
  if( !atomic_load(&s->denyInstalled) ) terminateDenyAll(s);
  if( nOther==0 ) sqlite3_interrupt(s->db);
}


static int hooksBusy(void *p, int nPrior);

/* Look at PRAGMA busy_timeout: nonzero means the application called
** sqlite3_busy_timeout() after we installed our busy handler (which sets
** it to 0), replacing ours with SQLite's. Adopt it: ours again, honouring
** that timeout, so the wait stays visible and cancellable. Run from the
** trace callback of a top-level statement: SQLite reports the nested
** statement to the trace as "-- ..." and inInternal keeps its end out. */
static void hooksCheckBusy(CancelSession *s, i64 now, int bCanary){
  sqlite3_stmt *p = 0;
  int ms = 0, i;
  /* Is our progress handler still the connection's? An application's
  ** sqlite3_progress_handler() after loading replaces it, and SQLite has
  ** no way to ask. Sessions that see each statement's end notice it
  ** there (a long statement without one call: hooksStmtEnd); a look
  ** notices it after a long statement where the application leaves
  ** SQLITE_STMTSTATUS_VM_STEP alone (activityCheckProgressLost); and
  ** here SELECT 1 runs until its VM instructions, which SQLite counts
  ** over a statement's runs, have passed CANCEL_PROGRESS_OPS twice:
  ** SQLite has then called the progress handler (at a jump or as a run
  ** returns), so ours, if it is still there. (An application's
  ** handler set to fire every N instructions, N above that, is not
  ** called by it.) Only when bCanary: after a pause or a PRAGMA, not at
  ** the periodic look within a run of statements. */
  int bCheckProgress = bCanary && !(s->traceMask & SQLITE_TRACE_PROFILE)
    && !(atomic_load_explicit(&s->hooksLost, memory_order_relaxed) & HOOKS_PROGRESS_LOST);
  unsigned n0 = s->nProgressCalls;
  s->busyCheckDue = 0;
  s->busyCheckMs = now;
  s->inInternal = 1;
  if( sqlite3_prepare_v2(s->db, "PRAGMA busy_timeout", -1, &p, 0)==SQLITE_OK
   && p && sqlite3_step(p)==SQLITE_ROW ){
    ms = sqlite3_column_int(p, 0);
  }
  sqlite3_finalize(p);
  p = 0;
  /* (SELECT 1 run again, not the PRAGMA: SQLite prepares a PRAGMA anew at
  ** each run, 7,000 instructions. Each run is still traced, as "-- " and
  ** its text, which SQLite formats: some 1,100 instructions a run, 60,000
  ** in all, hence at most once every HOOKS_CANARY_EVERY_MS. The trace
  ** stays on: turning it off and on would drop an application's
  ** sqlite3_profile(), whose bit the same call clears.) */
  if( bCheckProgress && now - s->canaryMs >= HOOKS_CANARY_EVERY_MS ){
    s->canaryMs = now;
    if( sqlite3_prepare_v2(s->db, "SELECT 1", -1, &p, 0)==SQLITE_OK && p ){
      for(i=0; i<HOOKS_CANARY_RUNS && s->nProgressCalls==n0; i++){
        if( sqlite3_step(p)!=SQLITE_ROW ){ bCheckProgress = 0; break; }
        sqlite3_reset(p);
      }
      if( bCheckProgress && s->nProgressCalls==n0 ){
        activitySetLost(s, HOOKS_PROGRESS_LOST, 1);
      }
    }
  }
  sqlite3_finalize(p);
  s->inInternal = 0;
  if( ms>0 ){
    s->busyTimeoutMs = ms;
    sqlite3_busy_handler(s->db, hooksBusy, s);   /* (sets it back to 0) */
  }
}


/* Does zSql start a transaction (BEGIN, or SAVEPOINT outside one)? Its
** start time is the transaction's, so it is never started by the fast
** path. Anything not starting with a letter (blanks, a comment) is
** treated as if it might. */
static int hooksMayBegin(const char *zSql){
  int c = zSql[0] | 0x20;
  if( c<'a' || c>'z' ) return 1;
  return c=='b' || (c=='s' && (zSql[1] | 0x20)=='a');
}

/* The idle limit to arm: the nearer of the idle-in-transaction and the
** idle-blocker timeouts (0: neither is set). The reaper tells which one
** has passed (terminate.c, termIdleExpired). */
static int hooksIdleArmMs(CancelSession *s){
  int a = atomic_load_explicit(&s->idleTimeoutMs, memory_order_relaxed);
  int b = atomic_load_explicit(&s->idleBlockerMs, memory_order_relaxed);
  return a>0 && (b<=0 || a<b) ? a : b;
}

/* Which trace events the session needs: every statement's start, and its
** end too (PROFILE, for which SQLite reads the clock twice per statement)
** only when something must happen at the end itself: a statement,
** transaction or idle timeout (armed and re-armed there), no connection
** mutex (nobody else may look at the connection to learn it), or a
** progress handler taken over (cancels then go by sqlite3_interrupt,
** which is safe only because an end takes s->mu; registry.c). */
static int hooksWantedMask(CancelSession *s){
  int full = s->noMutex
    || atomic_load_explicit(&s->stmtTimeoutMs, memory_order_relaxed)>0
    || hooksIdleArmMs(s)>0
    || atomic_load_explicit(&s->xactTimeoutMs, memory_order_relaxed)>0
    || (atomic_load_explicit(&s->hooksLost, memory_order_relaxed) & HOOKS_PROGRESS_LOST);
  return SQLITE_TRACE_STMT | (full ? SQLITE_TRACE_PROFILE : 0);
}

/* The reaper looks at the session idleMs after sinceUs (monotonic)
** unless a statement starts first (terminate.c, termIdleExpired, which
** also looks before it acts: a statement still running is never taken
** for idle). sinceUs is when it became idle in its transaction (a
** statement's end, or the limit set inside a transaction), or 0 at a
** statement's start: not idle, armed only to look for a cursor it may
** leave open, whose idle time the reaper counts from its own looks. */
static void hooksArmIdle(CancelSession *s, int idleMs, i64 sinceUs){
  i64 d = (sinceUs ? sinceUs : idsMonoUs()) + (i64)idleMs*1000;
  atomic_store(&s->idleSinceUs, sinceUs);
  atomic_store(&s->idleDeadlineUs, d);
  terminateWakeBy(d);
}

static int hooksTrace(unsigned type, void *pCtx, void *P, void *X);

void hooksApplyMode(CancelSession *s){
  int mask = hooksWantedMask(s);
  if( mask==s->traceMask ) return;
  if( atomic_load(&s->hooksLost) & HOOKS_TRACE_LOST ) return;  /* not ours */
  if( (mask & SQLITE_TRACE_PROFILE)==0 ){
    /* No end will be reported for what is listed now: it must own its
    ** text, as it may be finalized before anyone sees it ended. */
    int i;
    pthread_mutex_lock(&s->mu);
    for(i=0; i<s->nStmt; i++){
      ActiveStmt *a = &s->aStmt[i];
      if( !a->bOwnSql ){
        char *z = sqlite3_mprintf("%s", a->zSql);
        if( z ){ a->zSql = z; a->bOwnSql = 1; }
        else{ activityEndLocked(s, i); i--; }     /* (out of memory) */
      }
    }
    pthread_mutex_unlock(&s->mu);
  }
  s->traceMask = mask;
  sqlite3_trace_v2(s->db, mask, hooksTrace, s);
  atomic_store(&s->slowNext, 1);
}

void hooksIdleLimitSet(CancelSession *s, int bBlocker, int ms){
  /* (idle since when: kept if a limit already counted it) */
  i64 sinceUs = hooksIdleArmMs(s)>0 ? atomic_load(&s->idleSinceUs) : 0;
  atomic_store(bBlocker ? &s->idleBlockerMs : &s->idleTimeoutMs, ms);
  hooksApplyMode(s);
  ms = hooksIdleArmMs(s);
  if( ms==0 ){
    atomic_store(&s->idleDeadlineUs, 0);
  }else if( !sqlite3_get_autocommit(s->db) && atomic_load(&s->eTerm)==TERM_NONE ){
    /* Set inside a transaction: the statement that set it (if any)
    ** started before its end was asked for, so no end will arm the
    ** limit; it is armed now. What follows is idle in a transaction,
    ** which the reaper relies on inXact to know (statements started by
    ** the fast path do not keep it). A statement running now (the C API
    ** called from inside one, an application function) is listed first:
    ** else the reaper would take the session for idle and terminate it
    ** mid-statement. (The connection mutex, recursive, is the caller's
    ** own there; from another thread it waits for the statement.) */
    sqlite3_mutex *m = sqlite3_db_mutex(s->db);
    if( m ) sqlite3_mutex_enter(m);
    if( s->nStmt==0 ) activityNotice(s);
    if( m ) sqlite3_mutex_leave(m);
    pthread_mutex_lock(&s->mu);
    s->inXact = 1;
    pthread_mutex_unlock(&s->mu);
    hooksArmIdle(s, ms, sinceUs ? sinceUs : idsMonoUs());
  }
}

void hooksXactTimeoutSet(CancelSession *s, int ms){
  atomic_store(&s->xactTimeoutMs, ms);
  hooksApplyMode(s);
  if( ms>0 && !sqlite3_get_autocommit(s->db) ){
    pthread_mutex_lock(&s->mu);
    if( s->xactStartMs==0 ) s->xactStartMs = idsNowMs();
    pthread_mutex_unlock(&s->mu);
    terminateKickReaper();            /* (it computes the deadline) */
  }else if( ms>0 ){
    /* (a start left by a statement whose end was not reported, before
    ** the limit asked for ends: in autocommit mode with nothing listed,
    ** no transaction is open) */
    pthread_mutex_lock(&s->mu);
    if( s->nStmt==0 ) s->xactStartMs = 0;
    pthread_mutex_unlock(&s->mu);
  }
}

/*
** The slow start of a top-level statement (own thread, inside its first
** sqlite3_step, the connection mutex held). The fast path (hooksTrace)
** takes none of this when the same statement starts again and nothing
** is listed or pending. Here: settle what is listed (activity.c), apply
** the trace mode, look at the busy timeout, refuse the statement if the
** session was terminated, and record the start: listed at once when
** SQLite reports ends (PROFILE), else only remembered until it matters.
*/
static HOOKS_NOINLINE void hooksStmtStart(CancelSession *s, void *pStmt, const char *zSql){
  i64 now = idsNowMs();
  int bAutocommit = sqlite3_get_autocommit(s->db);
  int bWasProfiled = (s->traceMask & SQLITE_TRACE_PROFILE)!=0;
  /* (the run count goes up just after this callback) */
  int nRun = sqlite3_stmt_status((sqlite3_stmt*)pStmt, SQLITE_STMTSTATUS_RUN, 0) + 1;
  int timeoutMs = atomic_load_explicit(&s->stmtTimeoutMs, memory_order_relaxed);
  int idleMs = hooksIdleArmMs(s);
  int xactMs = atomic_load_explicit(&s->xactTimeoutMs, memory_order_relaxed);
  i64 deadlineUs = timeoutMs>0 ? idsMonoUs() + (i64)timeoutMs*1000 : 0;
  int bPragma = sqltextIsPragma(zSql);
  int bFull, bProfiled, bNoProgress, bNewXact = 0, eTermSeen, bLate, bFinishing;
  atomic_store(&s->slowNext, 0);
  if( atomic_load_explicit(&s->hooksLost, memory_order_relaxed) & HOOKS_TRACE_LOST ){
    activitySetLost(s, HOOKS_TRACE_LOST, 0);   /* it is ours again */
  }
  /* Every execution listed has ended by now, or is left open; and the
  ** previous execution of this very statement has ended. */
  if( s->nStmt>0 ) activitySettle(s, pStmt);
  if( idleMs>0 && atomic_load(&s->eTerm)==TERM_NONE ){
    /* With an idle timeout only: the statement may be left open after a
    ** row (a forgotten cursor, which the hooks cannot see); the reaper
    ** looks at it then (terminate.c, termIdleExpired). */
    hooksArmIdle(s, idleMs, 0);
  }else if( atomic_load_explicit(&s->idleDeadlineUs, memory_order_relaxed) ){
    atomic_store(&s->idleDeadlineUs, 0);    /* no longer idle */
  }
  if( atomic_load_explicit(&s->eTerm, memory_order_relaxed)==TERM_NONE ){
    /* (the progress-handler check too, except at a periodic look inside
    ** a run of statements without a pause, where it would cost most) */
    int bAfterPause = s->busyCheckDue
      || (bAutocommit && s->nStmt==0
          && (now - s->lastStartMs >= HOOKS_BUSY_CHECK_MS || now < s->busyCheckMs));
    if( bAfterPause || (bAutocommit && s->nStmt==0
                        && now - s->busyCheckMs >= HOOKS_BUSY_RECHECK_MS) ){
      hooksCheckBusy(s, now, bAfterPause);
    }
  }
  s->lastStartMs = now;
  if( bPragma ) s->busyCheckDue = 1;  /* it may set busy_timeout */
  hooksApplyMode(s);                  /* (after hooksCheckBusy) */
  bFull = (s->traceMask & SQLITE_TRACE_PROFILE)!=0;
  bProfiled = bFull && bWasProfiled;   /* SQLite will report this one's end */
  if( atomic_load(&s->selfTerm) && s->nStmt==0 ) terminateSelf(s);  /* (it asked) */
  if( (eTermSeen = atomic_load(&s->eTerm))!=TERM_NONE ){
    /* (rare) terminate.c's own ROLLBACK is not a query; anything else of a
    ** terminated session is refused (one since this look: bLate, below) */
    pthread_mutex_lock(&s->mu);
    bFinishing = s->finishing;
    pthread_mutex_unlock(&s->mu);
    if( bFinishing ) return;
    if( !sqltextIsRollback(zSql) && !sqltextIsReasonQuery(zSql) ) hooksRefuse(s, zSql);
  }
  if( pStmt!=s->pFast ){
    s->apRecent[s->iRecent] = s->pFast;
    s->azRecent[s->iRecent] = s->zFast;
    s->iRecent = (s->iRecent+1) % SESSION_RECENT;
  }
  s->pFast = pStmt;
  s->zFast = zSql;
  /* what activityCheckProgressLost compares with */
  s->pSnap = pStmt;
  s->snapStarts = atomic_load_explicit(&s->nStarts, memory_order_relaxed);
  s->snapProgress = s->nProgressCalls;
  s->snapVm = sqlite3_stmt_status((sqlite3_stmt*)pStmt, SQLITE_STMTSTATUS_VM_STEP, 0);
  s->snapMs = now;
  pthread_mutex_lock(&s->mu);
  bLate = eTermSeen==TERM_NONE && atomic_load(&s->eTerm)!=TERM_NONE && !s->finishing;
  s->execThread = pthread_self();
  s->pThreadTag = portThreadTag();
  s->cursorIdle = 0;
  if( bFull ){
    /* Nothing open in autocommit mode: a transaction starts with it (a
    ** start left by a statement whose end was not reported is stale) */
    int bFirst = bAutocommit && s->nStmt==0;
    ActiveStmt *a = activityListLocked(s, pStmt, zSql, !bProfiled, nRun, now);
    if( a ){
      a->deadlineUs = deadlineUs;
      a->nVmAtStart = sqlite3_stmt_status((sqlite3_stmt*)pStmt, SQLITE_STMTSTATUS_VM_STEP, 0);
    }
    s->curDeadlineUs = deadlineUs;
    if( bFirst || (bAutocommit && s->xactStartMs==0) ){ s->xactStartMs = now; bNewXact = 1; }
  }else if( bAutocommit && s->nStmt==0 ){
    s->xactStartMs = now;          /* a transaction starts with it */
  }
  s->pFastOk = (!bFull && !bPragma && !hooksMayBegin(zSql) && s->nStmt==0
                && !s->selfTerm && atomic_load(&s->eTerm)==TERM_NONE) ? pStmt : 0;
  /* No progress handler of ours runs inside the statement: it is
  ** published now, not late, and its timeout is the reaper's to enforce. */
  bNoProgress = bFull
    && (atomic_load_explicit(&s->hooksLost, memory_order_relaxed) & HOOKS_PROGRESS_LOST);
  if( bNoProgress && s->shLate ){
    s->shLate = 0;
    remotePublishActivity(s);
  }
  pthread_mutex_unlock(&s->mu);
  if( bLate && !sqltextIsRollback(zSql) && !sqltextIsReasonQuery(zSql) ) sqlite3_interrupt(s->db);
  if( bNoProgress && deadlineUs ) terminateWakeBy(deadlineUs);
  /* a transaction starts: the reaper ends it when it has lasted too long */
  if( bNewXact && xactMs>0 ) terminateWakeBy(idsMonoUs() + (i64)xactMs*1000);
}

/* The end of a statement, reported by SQLite (PROFILE: sessions that
** need it, hooksWantedMask): take it off the list and do what its end
** must do at once. */
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
  int idleMs = hooksIdleArmMs(s);
  int i, bIdleInXact, bSelfTerm, bOpenLeft, bNoXact;
  s->xactWrite = !bAutocommit && eKind==XACT_WRITE;
  pthread_mutex_lock(&s->mu);
  for(i=s->nStmt-1; i>=0 && s->aStmt[i].pStmt!=pStmt; i--){}
  if( i>=0 ){
    bFound = 1;
    nProgress = s->aStmt[i].nProgressAtStart;
    nVm = s->aStmt[i].nVmAtStart;
    activityEndLocked(s, i);
  }
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
  if( bSelfTerm ){
    terminateSelf(s);     /* it asked to be terminated */
    bIdleInXact = 0;
  }
  if( atomic_load_explicit(&s->waitingSinceMs, memory_order_relaxed) ){
    activitySetWaiting(s, 0);
  }
  if( bFound && nsElapsed>=HOOKS_LONG_NS && nProgress==s->nProgressCalls
   && sqlite3_stmt_status((sqlite3_stmt*)pStmt, SQLITE_STMTSTATUS_VM_STEP, 0)
      - nVm >= HOOKS_LONG_STEPS
  ){
    activitySetLost(s, HOOKS_PROGRESS_LOST, 1);
  }
  if( s->noMutex && bNoXact && atomic_load(&s->eTerm)==TERM_REQUEST ){
    /* no transaction left: a terminated multi-thread session is done */
    terminateNoMutexDone(s);
  }
  if( (bIdleInXact || bOpenLeft) && idleMs>0 && atomic_load(&s->eTerm)==TERM_NONE ){
    /* idle in a transaction, or another statement is still open (maybe
    ** a forgotten cursor: the reaper looks) */
    hooksArmIdle(s, idleMs, bIdleInXact ? idsMonoUs() : 0);
  }else if( atomic_load_explicit(&s->idleDeadlineUs, memory_order_relaxed) ){
    atomic_store(&s->idleDeadlineUs, 0);
  }
  if( atomic_load(&s->eTerm)==TERM_REQUEST ) terminateKickReaper();
}

/* The trace callback, all but its fast path (hooksTrace). */
static HOOKS_NOINLINE int hooksTraceSlow(unsigned type, CancelSession *s, void *P, void *X){
  if( type==SQLITE_TRACE_STMT ){
    const char *z = (const char*)X;
    /* A top-level statement is reported with its own text (sqlite3_sql's
    ** pointer, even if it starts with "-- "); one run inside another, or a
    ** trigger, with other text ("-- ...", or NULL out of memory: oom.c). */
    if( z==0 || z!=sqlite3_sql((sqlite3_stmt*)P) || s->inInternal ) return 0;
    atomic_store_explicit(&s->nStarts,
        atomic_load_explicit(&s->nStarts, memory_order_relaxed) + 1, memory_order_relaxed);
    hooksStmtStart(s, P, z);
    if( s->xAppStart ) s->xAppStart(s->pAppStartArg);
  }else if( type==SQLITE_TRACE_PROFILE && !s->inInternal ){
    hooksStmtEnd(s, P, X ? *(sqlite3_int64*)X : 0);
  }
  return 0;
}

/*
** The trace callback. A top-level statement starts: the fast path, taken
** when the statement that starts is the one that started last (pFastOk:
** pFast while it may start by the fast path; and its text where it was:
** a statement finalized and prepared again may get the same address, a
** reprepared one keeps its address with a new text), on the same thread, with
** nothing listed or requested and no setting changed since, costs a
** counter and a few compares; everything else goes to hooksTraceSlow.
** (The same statement run nested, inside a function of an older cursor
** stepped again, would pass for a top-level start: it is not listed
** either way.)
*/
static int hooksTrace(unsigned type, void *pCtx, void *P, void *X){
  CancelSession *s = (CancelSession*)pCtx;
  if( type==SQLITE_TRACE_STMT && P==s->pFastOk && X==s->zFast
   && !atomic_load_explicit(&s->slowNext, memory_order_relaxed)
   && portThreadTag()==s->pThreadTag
  ){
    atomic_store_explicit(&s->nStarts,
        atomic_load_explicit(&s->nStarts, memory_order_relaxed) + 1, memory_order_relaxed);
    return 0;                          /* the fast path */
  }
  return hooksTraceSlow(type, s, P, X);
}

/* The statement running now has lasted long enough to matter: show it
** to other processes (the registry file). */
static void hooksPublishLate(CancelSession *s){
  s->shLate = 0;
  pthread_mutex_lock(&s->mu);
  remotePublishActivity(s);
  pthread_mutex_unlock(&s->mu);
}

/* Own thread, inside a statement, nothing listed: list what runs
** (activityNotice). A statement running that our trace never saw start
** means the application replaced the trace. */
static void hooksNotice(CancelSession *s){
  if( s->inInternal || s->finishing ) return;
  if( atomic_load_explicit(&s->noticeSoon, memory_order_relaxed) ){
    atomic_store(&s->noticeSoon, 0);
  }
  if( activityNotice(s)==ACTIVITY_UNSEEN
   && !(atomic_load_explicit(&s->hooksLost, memory_order_relaxed) & HOOKS_TRACE_LOST)
  ){
    activitySetLost(s, HOOKS_TRACE_LOST, 1);
  }
}

/*
** A cancel from another process waits in the session's slot, and the own
** thread runs an execution: if the request names it, and no other request
** is pending on the session, stop it now, and do nothing else here. The
** request's log entry (its outcome final: interrupted) and the text of
** cancel_reason() come once the statement has stopped: the entry when the
** execution is taken off the list (activity.c: the next statement's
** start, a look from the registry agent, which the asker's cancel_log
** read asks for, or the close), the reason when read (registry.c). What
** the general path (terminateServeRemote) would do first, the own thread
** knows already: which session it is, and that the execution still runs
** (the newest listed, still open: hooksStopReasonLocked's check). Anything
** else (another execution named, a request pending, a termination, a
** stop not logged yet) takes the general path.
*/
static int hooksStopOwnRemote(CancelSession *s){
  int bStop = 0;
  pthread_mutex_lock(&s->mu);
  if( s->nStmt>0 && s->iStopQuery==0 && atomic_load(&s->eTerm)==TERM_NONE
   && atomic_load(&s->iCancelQuery)==0 && activityNewestOpen(s)
   && s->aStmt[s->nStmt-1].pStmt==s->pFast     /* (what runs: see below) */
   && remoteTakeOwnCancel(s, s->aStmt[s->nStmt-1].iQuery, &s->stopBy)
  ){
    s->iStopQuery = s->aStmt[s->nStmt-1].iQuery;
    s->stopReasonDue = 1;
    bStop = 1;
  }
  pthread_mutex_unlock(&s->mu);
  return bStop;
}

/* Must the statement running now stop? (see hooksWaitStop) */
static int hooksCheckStop(CancelSession *s){
  int eWhy, bUnlisted;
  if( !s->shLate && s->curDeadlineUs==0
   && atomic_load_explicit(&s->eTerm, memory_order_relaxed)==TERM_NONE
   && atomic_load_explicit(&s->iStopQuery, memory_order_relaxed)==0
   && atomic_load_explicit(&s->iCancelQuery, memory_order_relaxed)==0
   && (s->pShCancelReq==0
       || atomic_load_explicit(s->pShCancelReq, memory_order_relaxed)==0)
  ){
    return 0;            /* the common case: nothing asked, nothing due */
  }
  /* Something is asked. What runs is the newest start (pFast): unlisted
  ** beside a cursor left open, a request naming that cursor would stop
  ** it. So it is listed first, newest. */
  pthread_mutex_lock(&s->mu);
  bUnlisted = s->nStmt>0 && s->pFast && s->aStmt[s->nStmt-1].pStmt!=s->pFast
           && !s->inInternal && !s->finishing;
  pthread_mutex_unlock(&s->mu);
  if( bUnlisted ) activityNotice(s);
  if( s->shLate ) hooksPublishLate(s);
  if( s->pShCancelReq
   && atomic_load_explicit(s->pShCancelReq, memory_order_relaxed) ){
    if( hooksStopOwnRemote(s) ) return 1;
    remoteServeOwnCancel(s);     /* another process asks */
  }
  if( atomic_load(&s->iStopQuery) ){
    /* Stopped by another process's request (hooksStopOwnRemote): every
    ** check stops it again until it has ended (the first stop may have
    ** ended only a nested statement, whose error was ignored). */
    int bStill;
    pthread_mutex_lock(&s->mu);
    bStill = s->nStmt>0 && s->aStmt[s->nStmt-1].iQuery==atomic_load(&s->iStopQuery)
          && activityNewestOpen(s);
    pthread_mutex_unlock(&s->mu);
    if( bStill ) return 1;
  }
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

/*
** Must the statement running now on s's own thread stop: a cancel names
** it, the session was terminated, or its statement timeout passed? Logged
** ('interrupted'). The progress handler asks it every CANCEL_PROGRESS_OPS
** instructions; so do the waits the extension itself causes inside a
** statement (job_progress on a paused job, job_wait, the wait of
** pg_terminate_backend(pid, timeout_ms)), which then fail the statement
** with SQLITE_INTERRUPT. Such a wait makes the statement worth listing.
*/
int hooksWaitStop(void *p){
  CancelSession *s = (CancelSession*)p;
  if( s->nStmt==0 ) hooksNotice(s);
  return hooksCheckStop(s);
}

/* The progress handler: every CANCEL_PROGRESS_OPS instructions (counted
** over a statement's runs, so it is also called at the end of short
** statements now and then). A second call within one statement start
** means it runs long: then it is listed. */
static int hooksProgress(void *p){
  CancelSession *s = (CancelSession*)p;
  int lost = atomic_load_explicit(&s->hooksLost, memory_order_relaxed);
  s->nProgressCalls++;
  /* inside our own statements (hooksCheckBusy's, run to see this
  ** handler called): counted, nothing else; above all not the
  ** application's handler, which could take it for its own statement
  ** (a job's pause or cancel would be spent on it) */
  if( s->inInternal ) return 0;
  if( lost & HOOKS_PROGRESS_LOST ) activitySetLost(s, HOOKS_PROGRESS_LOST, 0);
  if( s->nStmt==0 ){
    unsigned n = atomic_load_explicit(&s->nStarts, memory_order_relaxed);
    if( n==s->nProgressStarts || (lost & HOOKS_TRACE_LOST)
     || atomic_load_explicit(&s->noticeSoon, memory_order_relaxed) ){
      if( !(lost & HOOKS_TRACE_LOST) ) hooksNotice(s);
    }else{
      s->nProgressStarts = n;
    }
  }else if( (s->nProgressCalls % HOOKS_RECHECK_CALLS)==0 && !s->inInternal
         && !activityNewestOpen(s) ){
    /* What is listed ended, and something runs that no start of ours
    ** announced (a cursor left open before it, or a trace taken over):
    ** settle, and list what runs. */
    activitySettle(s, 0);
    hooksNotice(s);
  }
  if( hooksCheckStop(s) ) return 1;
  if( atomic_load_explicit(&activityWaiters, memory_order_relaxed) ){
    /* Someone waits on a lock: keep what we hold visible to
    ** blocking_sessions(), and we are not waiting ourselves. */
    int eKind = sqlite3_txn_state(s->db, 0);
    pthread_mutex_lock(&s->mu);
    s->eXactKind = eKind;
    pthread_mutex_unlock(&s->mu);
    activitySetWaiting(s, 0);
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

  if( s->nStmt==0 ) hooksNotice(s);     /* a wait makes it worth listing */
  if( s->shLate ) hooksPublishLate(s);
  {
    i64 nowMs = idsNowMs();               /* (it still waits) */
    atomic_store_explicit(&s->busyCallMs, nowMs, memory_order_relaxed);
    remoteSetBusyTick(s, nowMs);
  }
  if( nPrior==0 || atomic_load(&s->waitingSinceMs)==0 ){
    s->busyStartUs = nowUs;
    pthread_mutex_lock(&s->mu);
    s->eXactKind = sqlite3_txn_state(s->db, 0);
    pthread_mutex_unlock(&s->mu);
    activitySetWaiting(s, idsNowMs());
  }
  eWhy = hooksStopReason(s);
  if( eWhy ){
    hooksStopped(s, eWhy, LOG_WAIT_ENDED);
    activitySetWaiting(s, 0);
    return 0;
  }
  if( s->curDeadlineUs && nowUs>=s->curDeadlineUs ){
    hooksTimedOut(s, LOG_WAIT_ENDED);
    activitySetWaiting(s, 0);
    return 0;
  }
  if( s->xAppBusy ){
    int r = s->xAppBusy(s->pAppBusyArg, nPrior);
    if( r==0 ) activitySetWaiting(s, 0);
    return r;
  }
  deadlineUs = s->busyStartUs + (i64)s->busyTimeoutMs*1000;
  if( nowUs>=deadlineUs ){
    activitySetWaiting(s, 0);
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
    activitySetWaiting(s, 0);
    return 0;
  }
  if( s->curDeadlineUs && idsMonoUs()>=s->curDeadlineUs ){
    hooksTimedOut(s, LOG_WAIT_ENDED);
    activitySetWaiting(s, 0);
    return 0;
  }
  return 1;
}

static int hooksCommit(void *p){
  CancelSession *s = (CancelSession*)p;
  return atomic_load(&s->eTerm)!=TERM_NONE;   /* nonzero: roll back */
}

/* Whether the SQLite that loaded the extension last has no progress
** handler (cancel.c's check of its routine table, at each load): a
** session enrolled then works as one whose progress handler was taken
** (doc/hooks.md), from the start, and keeps that (HOOKS_PROGRESS_NONE). */
static atomic_int hooksNoProgressApi;
void hooksSetNoProgressApi(int bOn){ atomic_store(&hooksNoProgressApi, bOn); }

void hooksInstall(CancelSession *s){
  if( atomic_load(&hooksNoProgressApi) ){
    atomic_fetch_or(&s->hooksLost, HOOKS_PROGRESS_LOST|HOOKS_PROGRESS_NONE);
  }
  s->xTrace = hooksTrace;
  s->traceMask = hooksWantedMask(s);
  s->execThread = pthread_self();
  s->pThreadTag = portThreadTag();
  sqlite3_trace_v2(s->db, s->traceMask, hooksTrace, s);
  if( !(atomic_load(&s->hooksLost) & HOOKS_PROGRESS_NONE) ){
    sqlite3_progress_handler(s->db, CANCEL_PROGRESS_OPS, hooksProgress, s);
  }
  sqlite3_busy_handler(s->db, hooksBusy, s);
  sqlite3_commit_hook(s->db, hooksCommit, s);
}

void hooksRemove(CancelSession *s){
  sqlite3_trace_v2(s->db, 0, 0, 0);
  if( !(atomic_load(&s->hooksLost) & HOOKS_PROGRESS_NONE) ){
    sqlite3_progress_handler(s->db, 0, 0, 0);
  }
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
