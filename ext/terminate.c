/*
** terminate.c: ending sessions (pg_terminate_backend, DELETE FROM
** sessions, idle_in_transaction_session_timeout).
**
** This is the only file that touches another session's connection:
** terminateFinish() rolls back a terminated session's transaction and
** installs the deny-all authorizer, holding that connection's mutex
** (taken with a try-lock under the registry lock, so close can never
** race it).
**
** Terminations that cannot be finished at once (the target is inside a
** statement, or is the caller's own connection mid-statement) are handed
** to the reaper thread, which retries whenever a statement of a
** terminated session ends, and which also terminates sessions idle in a
** transaction past their limit. The reaper and the termination it
** finishes call each other, so they share this file.
**
** Requests from other processes (terminateServeRemote) are served here
** too: a cancel, a termination, or both.
*/
#include "terminate.h"
#include "snapshot.h"
#include "cancellog.h"
#include "remote.h"
#include "blockers.h"
SQLITE_EXTENSION_INIT3

#include "port.h"
#include <assert.h>
#include <string.h>

/* The reaper: finishes terminations that had to wait. Guarded by the
** registry lock. */
static pthread_cond_t termReaperCond = PTHREAD_COND_INITIALIZER;
static int termReaperStarted = 0;
static unsigned termReaperKicks = 0;
static _Atomic i64 termReaperWakeUs = 0;  /* when it will wake by itself,
                                          ** 0 never */

static void termKickLocked(void);

/* ------------------------------------------------------ deny-all */

/* Deny everything but ROLLBACK: an application's error path that rolls
** back must still be able to release its locks (the only way to do so
** in SQLITE_OPEN_NOMUTEX mode, see terminateFinish).
**
** And `SELECT cancel_reason()`, so the application can learn why: it
** makes SQLite ask for SQLITE_SELECT (before anything else, so that
** must pass) and SQLITE_FUNCTION "cancel_reason". Any table, any other
** function is denied here; a statement of constants alone (SELECT 1)
** gets through and is stopped at its first step (hooksStmtStart), where
** its text is known. */
static int termDenyAuth(void *p, int op, const char *z1, const char *z2,
                        const char *z3, const char *z4){
  (void)p; (void)z3; (void)z4;
  if( op==SQLITE_TRANSACTION && z1 && sqlite3_stricmp(z1, "ROLLBACK")==0 ){
    return SQLITE_OK;
  }
  if( op==SQLITE_SELECT ) return SQLITE_OK;
  if( op==SQLITE_FUNCTION && z2 && sqlite3_stricmp(z2, "cancel_reason")==0 ){
    return SQLITE_OK;
  }
  return SQLITE_DENY;
}

void terminateDenyAll(CancelSession *s){
  sqlite3_set_authorizer(s->db, termDenyAuth, s);
  atomic_store(&s->denyInstalled, 1);
}

/* ---------------------------------------------------- terminating */

/* How long a termination waits for a look at an idle target to end
** (termFinishIdle): TERM_LOOK_TRIES tries, TERM_LOOK_SLEEP_US apart,
** 250 ms in all (a look takes microseconds; far longer only when its
** thread is preempted, or under valgrind, which runs one thread at a
** time). */
#define TERM_LOOK_TRIES    1250
#define TERM_LOOK_SLEEP_US 200

static int termFinish(CancelSession *s, int *pbBusy);

/* Finish the termination of s now if it can be done. An idle target's
** connection mutex is held only for a moment, by a look at it (the
** registry agent's tick, a `sessions` scan or the reaper in another
** thread): wait for that rather than leave it to the reaper, so that the
** caller's next statement never finds the target's locks still held
** (threads.test 8.0). A target inside a statement is the reaper's. */
static int termFinishIdle(CancelSession *s){
  int i, bBusy, bIdle;
  unsigned nStarts = atomic_load(&s->nStarts);
  for(i=0; ; i++){
    struct timespec ts;
    if( termFinish(s, &bBusy) ) return 1;
    if( !bBusy || i>=TERM_LOOK_TRIES ) return 0;
    /* (a statement listed, or one started since: the application is at
    ** work in it, and the reaper finishes once it has stopped) */
    pthread_mutex_lock(&s->mu);
    bIdle = (s->nStmt==0 || s->cursorIdle) && atomic_load(&s->nStarts)==nStarts;
    pthread_mutex_unlock(&s->mu);
    if( !bIdle ) return 0;
    ts.tv_sec = 0;
    ts.tv_nsec = TERM_LOOK_SLEEP_US*1000;
    nanosleep(&ts, 0);
  }
}

/* How termLocked finishes: TERM_NOW_WAIT waits (termFinishIdle) for a
** look at an idle target to end, as a caller of the SQL functions
** expects the locks gone when they return; the reaper and the agent
** thread, which serve others too, do not wait. */
#define TERM_NOW_WAIT   1
#define TERM_NOW_NOWAIT 0

/* Mark s terminated (the registry lock held, released here), then try
** to finish at once. A NULL s was not found: iSerial or pid says what
** was asked. xactStartMs, when not 0, is the transaction a transaction
** timeout ends: if s no longer has that one open, nothing is done. */
static int termLocked(CancelSession *pCaller, const char *zAction,
                      CancelSession *s, u64 iSerial, i64 pid,
                      const CancelAsker *pBy, int eNow, i64 xactStartMs){
  int expected = TERM_NONE;
  LogTarget t;
  CancelAsker by;
  assert( registryHeld() );
  memset(&t, 0, sizeof(t));
  if( s==0 ){
    t.iSession = iSerial;
    t.pid = pid;
    registryLog(pCaller, zAction, 0, &t, LOG_NOTFOUND);
    registryUnlock();
    return REG_NOTFOUND;
  }
  if( !registryAllowed(pCaller, s) ){
    registryLog(pCaller, zAction, s, &t, LOG_DENIED);
    registryUnlock();
    return REG_DENIED;
  }
  if( pBy==0 ){
    registryAskerOf(pCaller, zAction, &by);
    pBy = &by;
  }
  t.pAsker = pBy;
  if( s==pCaller && s->nStmt==0 ) activityNotice(s);  /* (its own statement) */
  pthread_mutex_lock(&s->mu);
  if( xactStartMs && s->xactStartMs!=xactStartMs ){
    /* (the transaction ended just now, and maybe another began) */
    pthread_mutex_unlock(&s->mu);
    registryUnlock();
    return REG_OK;
  }
  if( s->nStmt>0 ){
    t.iQuery = s->aStmt[s->nStmt-1].iQuery;
    t.zSql = s->aStmt[s->nStmt-1].zSql;
  }
  if( s==pCaller && s->nStmt>0 && pthread_equal(s->execThread, pthread_self())
   && atomic_load(&s->eTerm)==TERM_NONE ){
    /* A session terminating itself from inside a statement: that
    ** statement completes normally, and the termination takes effect
    ** once it has ended (terminateSelf: from its end hook, its next
    ** statement start, or the reaper, which looks until it has ended). */
    if( !s->selfTerm ){
      s->selfTerm = 1;
      s->selfTermBy = *pBy;
      s->iLogTerm = registryLog(pCaller, zAction, s, &t, LOG_TERMINATING);
      atomic_store(&s->slowNext, 1);
      termKickLocked();
    }else{
      registryLog(pCaller, zAction, s, &t, LOG_ALREADY);
    }
    pthread_mutex_unlock(&s->mu);
    registryUnlock();
    return REG_OK;
  }
  if( atomic_compare_exchange_strong(&s->eTerm, &expected, TERM_REQUEST) ){
    atomic_store(&s->slowNext, 1);    /* its next start refuses */
    s->iLogTerm = registryLog(pCaller, zAction, s, &t, LOG_TERMINATING);
    registrySetReasonLocked(s, "terminated", pBy);
    if( (atomic_load(&s->hooksLost) & HOOKS_PROGRESS_LOST) && s->nStmt==1 ){
      /* nothing of ours runs inside the statement to stop it: see
      ** registryRequestIfRunning for why this is safe (the registry
      ** lock held, not closing: registryTargetable) */
      sqlite3_interrupt(s->db);
    }
  }else{
    registryLog(pCaller, zAction, s, &t, LOG_ALREADY);
  }
  pthread_cond_broadcast(&s->cond);      /* out of a busy-handler wait */
  remotePublish(s);
  pthread_mutex_unlock(&s->mu);
  s->nPin++;                              /* pin while we work on it */
  registryUnlock();

  if( !(eNow==TERM_NOW_WAIT ? termFinishIdle(s) : terminateFinish(s)) ){
    registryLock();
    termKickLocked();
    registryUnlock();
  }
  registryUnpin(s);
  return REG_OK;
}

int terminateBySerial(CancelSession *pCaller, u64 tag, u64 iSerial, const char *zAction){
  if( tag!=idsTag() ){
    return registryRemote(pCaller, zAction, REMOTE_TERMINATE, tag, iSerial, 0);
  }
  registryLock();
  return termLocked(pCaller, zAction, registryBySerial(iSerial), iSerial, 0, 0,
                    TERM_NOW_WAIT, 0);
}

int terminateByPid(CancelSession *pCaller, i64 pid, const char *zAction){
  CancelSession *s;
  registryLock();
  s = registryByPid(pid);
  if( s==0 && pid>0 ){
    /* not a session of this process: one of another (doc/ids.md) */
    registryUnlock();
    return registryRemote(pCaller, zAction, REMOTE_TERMINATE, 0, 0, pid);
  }
  return termLocked(pCaller, zAction, s, 0, pid, 0, TERM_NOW_WAIT, 0);
}

/* The registry lock held: if s asked to terminate itself and none of
** its statements is listed any more (the one that asked has ended), the
** termination takes effect: 1 if it did. */
static int termSelfDueLocked(CancelSession *s){
  int expected = TERM_NONE, bDo = 0;
  assert( registryHeld() );
  pthread_mutex_lock(&s->mu);
  if( s->selfTerm && s->nStmt==0 ){
    s->selfTerm = 0;
    if( !s->closing
     && atomic_compare_exchange_strong(&s->eTerm, &expected, TERM_REQUEST) ){
      atomic_store(&s->slowNext, 1);
      registrySetReasonLocked(s, "terminated", &s->selfTermBy);
      remotePublish(s);
      bDo = 1;
    }
  }
  pthread_mutex_unlock(&s->mu);
  if( bDo ) termKickLocked();
  return bDo;
}

/* The own thread of s, from its statement-end hook or its next statement
** start, once none of its statements runs: a self-termination deferred
** by termLocked takes effect. The rollback is left to the reaper (we are
** inside SQLite); the deny-all authorizer goes in now, so that every
** later statement is refused at prepare. (The reaper does the same for a
** session that runs nothing more: termReaperMain.) */
void terminateSelf(CancelSession *s){
  int bDo;
  registryLock();
  bDo = termSelfDueLocked(s);
  registryUnlock();
  if( bDo ) terminateDenyAll(s);
}

/* With the connection's mutex held: reset every statement of db that is
** in the middle of a run (stepped, not reset). Returns how many it
** found. */
static int termResetAll(sqlite3 *db){
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
** The connection mutex is taken with a try-lock while the registry lock
** is held: if close is under way it holds that mutex and we back off;
** once we hold it, close cannot start, so the registry lock can be
** released.
*/
static int termFinish(CancelSession *s, int *pbBusy);
int terminateFinish(CancelSession *s){
  int bBusy;
  return termFinish(s, &bBusy);
}

/* termFinish: as terminateFinish; *pbBusy set when it failed only
** because another thread held the connection mutex. */
static int termFinish(CancelSession *s, int *pbBusy){
  sqlite3_mutex *m;
  int bSameThread, bLeft, rcErr;
  assert( !registryHeld() );
  *pbBusy = 0;
  registryLock();
  if( s->closing || atomic_load(&s->eTerm)!=TERM_REQUEST ){
    registryUnlock();
    return 1;
  }
  m = sqlite3_db_mutex(s->db);
  if( m==0 ){
    /* SQLITE_OPEN_NOMUTEX or single-thread mode: another thread may not
    ** use the connection (doc/threading.md). If it holds nothing (no
    ** statement, no transaction), the termination is complete now: its
    ** own hooks refuse whatever it runs next. Otherwise its own next call
    ** releases the transaction (hooksRefuse, the commit hook), and
    ** terminateNoMutexDone() completes it then. Both rest on our trace
    ** seeing every statement start (a start that raced this is refused
    ** by hooksStmtStart's second look). Only our progress handler can see
    ** that the trace was taken: with every hook ours, or in a SQLite that
    ** has no progress handler at all (better-sqlite3's: a taken trace can
    ** never be seen there, doc/hooks.md); not once it was taken. */
    int bDone, lost = atomic_load(&s->hooksLost);
    pthread_mutex_lock(&s->mu);
    bDone = s->nStmt==0 && !s->inXact
         && (lost==0 || lost==(HOOKS_PROGRESS_LOST|HOOKS_PROGRESS_NONE));
    /* (the outcome before the session leaves other processes' lists:
    ** an asker that sees it gone then finds the final outcome) */
    cancelLogOutcome(s->iLogTerm, bDone ? LOG_TERMINATED : LOG_TERM_NOMUTEX);
    if( bDone ){
      atomic_store(&s->idleDeadlineUs, 0);
      atomic_store(&s->eTerm, TERM_DONE);
      remotePublish(s);
    }
    pthread_mutex_unlock(&s->mu);
    if( bDone ) registryGoneBroadcast();
    registryUnlock();
    return 1;
  }
  if( sqlite3_mutex_try(m)!=SQLITE_OK ){
    *pbBusy = 1;
    registryUnlock();
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
    i64 now = idsMonoUs();
    if( s->termErrorSinceUs==0 ) s->termErrorSinceUs = now;
    if( now - s->termErrorSinceUs < TERM_ERROR_GRACE_US ){
      sqlite3_mutex_leave(m);
      registryUnlock();
      return 0;
    }
  }
  /* The mutex is recursive: we may be the target's own thread, called
  ** from inside one of its statements. Rolling back under a running
  ** statement is not safe; leave it to the reaper. (execThread is the
  ** thread of its newest statement start: the fast start requires it,
  ** hooks.c; a statement may run unlisted: activityExecuting.) */
  pthread_mutex_lock(&s->mu);
  bSameThread = pthread_equal(s->execThread, pthread_self())
             && activityExecuting(s->db);
  if( !bSameThread ) s->finishing = 1;
  pthread_mutex_unlock(&s->mu);
  if( bSameThread ){
    sqlite3_mutex_leave(m);
    registryUnlock();
    return 0;
  }
  s->nPin++;
  registryUnlock();

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
  terminateDenyAll(s);
  termResetAll(s->db);
  if( !sqlite3_get_autocommit(s->db) ){
    sqlite3_exec(s->db, "ROLLBACK", 0, 0, 0);
  }
  /* Report success only once the locks are gone: otherwise stay
  ** 'terminating' (listed, not logged as terminated, the waiting forms
  ** keep waiting) and let the reaper try again. */
  bLeft = termResetAll(s->db)>0
       || sqlite3_txn_state(s->db, 0)!=SQLITE_TXN_NONE;

  pthread_mutex_lock(&s->mu);
  s->finishing = 0;
  s->inXact = !sqlite3_get_autocommit(s->db);
  s->eXactKind = sqlite3_txn_state(s->db, 0);
  if( !s->inXact && s->nStmt==0 ) s->xactStartMs = 0;
  pthread_mutex_unlock(&s->mu);
  if( bLeft ){
    sqlite3_mutex_leave(m);
    registryUnpin(s);
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

  registryLock();
  registryGoneBroadcast();
  registryUnlock();
  registryUnpin(s);
  return 1;
}

void terminateNoMutexDone(CancelSession *s){
  int expected = TERM_REQUEST;
  if( !atomic_load(&s->denyInstalled) ) terminateDenyAll(s);
  if( !atomic_compare_exchange_strong(&s->eTerm, &expected, TERM_DONE) ) return;
  atomic_store(&s->idleDeadlineUs, 0);
  cancelLogOutcome(s->iLogTerm, LOG_TERMINATED);   /* (first: see above) */
  pthread_mutex_lock(&s->mu);
  remotePublish(s);                       /* gone for other processes */
  pthread_mutex_unlock(&s->mu);
  registryLock();
  registryGoneBroadcast();
  registryUnlock();
}

int terminateWaitGone(CancelSession *pCaller, i64 pid, int timeoutMs){
  return terminateWaitGoneStop(pCaller, pid, timeoutMs, 0, 0)==1;
}

/* How often the wait looks at xStop (a cancel or timeout of the waiting
** statement is signalled on the caller's own condition, not on the
** registry's "gone" condition). */
#define TERM_STOP_POLL_MS 10

int terminateWaitGoneStop(CancelSession *pCaller, i64 pid, int timeoutMs,
                         int (*xStop)(void*), void *pArg){
  struct timespec dl;
  int bGone = 0;
  i64 endUs = idsMonoUs() + (i64)timeoutMs*1000;
  SharedReg *pSh = registryScope(pCaller);
  registryLock();
  if( registryByPid(pid)==0 ){
    /* not (or no longer) a session of this process: one of another? */
    registryUnlock();
    if( !sharedUsable(pSh) ) return 1;
    if( xStop==0 ) return remoteWaitGone(pSh, pid, timeoutMs);
    for(;;){
      i64 leftUs = endUs - idsMonoUs();
      int slice = leftUs<TERM_STOP_POLL_MS*1000 ? (int)(leftUs/1000) : TERM_STOP_POLL_MS;
      if( xStop(pArg) ) return -1;
      if( remoteWaitGone(pSh, pid, slice>0 ? slice : 0) ) return 1;
      if( idsMonoUs()>=endUs ) return 0;
    }
  }
  for(;;){
    i64 leftUs;
    if( registryByPid(pid)==0 ){ bGone = 1; break; }
    if( xStop ){
      int bStop;
      registryUnlock();      /* (xStop may take the registry lock) */
      bStop = xStop(pArg);
      registryLock();
      if( bStop ){ bGone = -1; break; }
      if( registryByPid(pid)==0 ){ bGone = 1; break; }
    }
    leftUs = endUs - idsMonoUs();
    if( leftUs<=0 ) break;
    if( xStop && leftUs>TERM_STOP_POLL_MS*1000 ) leftUs = TERM_STOP_POLL_MS*1000;
    dl = portRealtimeAfter(leftUs);
    registryGoneWait(&dl);
  }
  registryUnlock();
  return bGone;
}

/*
** A request from another process, found in slot iSlot of registry p by
** the agent thread: apply it as if made here, by the session itself
** (the privilege check was the requester's). cancelCell holds the low 40
** bits of the query serial; the high bits are this process's.
*/
void terminateServeRemote(SharedReg *p, int iSlot, u64 owner, u64 cancelCell,
                          int bTerm, const CancelAsker *pCancelBy,
                          const CancelAsker *pTermBy){
  CancelSession *s;
  u64 iSerial = remoteSlotSerial(p, iSlot, owner);
  int bMatch = 0;
  registryLock();
  /* The slot's owner word too, not just its index: the session the
  ** request was checked against may have closed since, and a new session
  ** of this process taken the same slot (test/soak.c found a termination
  ** meant for a closed session hitting its successor that way). Found by
  ** the serial its slot names (the index), else by walking them all. */
  if( iSerial && (s = registryBySerial(iSerial))!=0 ){
    pthread_mutex_lock(&s->mu);
    bMatch = s->pSh==p && s->iShSlot==iSlot && s->shOwner==owner;
    pthread_mutex_unlock(&s->mu);
  }
  for(s=bMatch ? s : registryFirst(); s && !bMatch; s=s->pNext){
    if( !registryTargetable(s) ) continue;
    pthread_mutex_lock(&s->mu);
    bMatch = s->pSh==p && s->iShSlot==iSlot && s->shOwner==owner;
    pthread_mutex_unlock(&s->mu);
    if( bMatch ) break;
  }
  if( s && cancelCell ){
    u64 iQuery = idsMakeSerial(cancelCell);
    registryRequestIfRunning(0, "cancel from another process", s, iQuery, pCancelBy);
  }
  if( s && bTerm ){
    termLocked(0, "terminate from another process", s, 0, s->pid, pTermBy,
               TERM_NOW_NOWAIT, 0);
    return;                                   /* (released the registry lock) */
  }
  registryUnlock();
}

/* ---------------------------------------------------------- reaper */

/* Why the reaper ends a session (termIdleExpired, termXactExpired) */
#define TERM_WHY_IDLE     0   /* idle_in_transaction_session_timeout */
#define TERM_WHY_BLOCKER  1   /* idle_blocker_timeout, if it blocks someone */
#define TERM_WHY_XACT     2   /* transaction_timeout */

/* How often a session idle past its idle-blocker limit is looked at
** again while it blocks nobody. */
#define TERM_BLOCKER_POLL_US 50000

/* The idle limit armed (hooks.c, hooksIdleArmMs): the nearer one. */
static int termIdleArmMs(CancelSession *s){
  int a = atomic_load(&s->idleTimeoutMs), b = atomic_load(&s->idleBlockerMs);
  return a>0 && (b<=0 || a<b) ? a : b;
}

/* With the registry lock held: sessions whose idle limit has passed
** (pinned, their deadline cleared) go to aOut, with which limit in
** aWhy (TERM_WHY_IDLE, or TERM_WHY_BLOCKER: the idle-in-transaction
** limit, if set, is further off); returns how many, and sets *pNextUs
** to the earliest deadline still ahead (0 none). */
static int termIdleExpired(CancelSession **aOut, int *aWhy, int nMax, i64 *pNextUs){
  CancelSession *s;
  i64 nowUs = idsMonoUs();
  int n = 0, nStmt, bIdle;
  assert( registryHeld() );
  *pNextUs = 0;
  for(s=registryFirst(); s; s=s->pNext){
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
      ** (activityLookLocked). The hooks see no "row returned", so the idle
      ** time of a cursor is measured from the first look that finds it
      ** left open: it is terminated when a second look, a timeout
      ** later, finds the same execution with no step taken meanwhile
      ** (between one and two timeouts after it was left). */
      ActivityLook pr;
      i64 next = nowUs + (i64)termIdleArmMs(s)*1000;
      if( next==nowUs ){                  /* the timeout was turned off */
        atomic_compare_exchange_strong(&s->idleDeadlineUs, &d, 0);
        continue;
      }
      if( activityLookLocked(s, &pr) && pr.eKind!=XACT_NONE ){
        if( s->idleProbeQuery==pr.iNewest && s->idleProbeSteps==pr.nSteps ){
          bIdle = 1;
        }else{
          s->idleProbeUs = nowUs;       /* first found left open now */
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
      /* Idle since its last statement ended (hooks.c), or, for a cursor
      ** left open, since the first look that found it so. Which limit
      ** has passed? (Neither yet: the nearer one is armed again.) */
      int idleMs = atomic_load(&s->idleTimeoutMs);
      int blockMs = atomic_load(&s->idleBlockerMs);
      i64 since = nStmt>0 ? s->idleProbeUs : atomic_load(&s->idleSinceUs);
      i64 idleUs = since ? nowUs - since : (i64)termIdleArmMs(s)*1000;
      int eWhy = idleMs>0 && idleUs>=(i64)idleMs*1000 ? TERM_WHY_IDLE
               : blockMs>0 && idleUs>=(i64)blockMs*1000 ? TERM_WHY_BLOCKER : -1;
      if( eWhy<0 ){
        i64 next = since + (i64)termIdleArmMs(s)*1000;
        if( idleMs>0 && (blockMs<=0 || idleMs<blockMs) ) next = since + (i64)idleMs*1000;
        if( next<=nowUs ) next = nowUs + 1000;
        if( atomic_compare_exchange_strong(&s->idleDeadlineUs, &d, next) ){
          if( *pNextUs==0 || next<*pNextUs ) *pNextUs = next;
        }
        continue;
      }
      /* (the cursor's probe is kept: an idle blocker that blocks nobody
      ** is looked at again, its idle time still counted from it) */
      atomic_store(&s->idleDeadlineUs, 0);
      s->nPin++;
      aWhy[n] = eWhy;
      aOut[n++] = s;
    }
  }
  return n;
}

/* With the registry lock held: sessions whose transaction has been open
** longer than their transaction timeout (pinned) go to aOut; returns how
** many, and sets *pNextUs to the earliest such end still ahead (0 none).
** The transaction's start is the one the `sessions` table shows
** (xact_start): its first statement's start. */
static int termXactExpired(CancelSession **aOut, i64 *aStart, int nMax, i64 *pNextUs){
  CancelSession *s;
  i64 nowUs = idsMonoUs();
  int n = 0;
  assert( registryHeld() );
  *pNextUs = 0;
  for(s=registryFirst(); s; s=s->pNext){
    int ms = atomic_load(&s->xactTimeoutMs), bOpen;
    i64 startMs, endUs;
    ActivityLook lk;
    if( ms<=0 || s->closing || atomic_load(&s->eTerm)!=TERM_NONE ) continue;
    pthread_mutex_lock(&s->mu);
    startMs = s->xactStartMs;
    pthread_mutex_unlock(&s->mu);
    if( startMs==0 ) continue;
    if( startMs!=s->xactSeenMs ){
      /* first seen: its start on the monotonic clock (the wall clock
      ** may be set meanwhile; this is read at the start, when the
      ** transaction's first statement wakes the reaper) */
      s->xactSeenMs = startMs;
      s->xactSeenUs = nowUs - (idsNowMs() - startMs)*1000;
    }
    endUs = s->xactSeenUs + (i64)ms*1000;
    if( endUs > nowUs ){
      if( *pNextUs==0 || endUs<*pNextUs ) *pNextUs = endUs;
      continue;
    }
    /* Is it still open? Ends that were not reported (statements run
    ** before the limit was set) are settled by a look first; one that
    ** cannot look is inside a statement, whose start, in the mode the
    ** limit sets, is the transaction's if it began one. */
    activityLookLocked(s, &lk);
    pthread_mutex_lock(&s->mu);
    bOpen = s->xactStartMs==startMs && (s->inXact || s->nStmt>0);
    pthread_mutex_unlock(&s->mu);
    if( !bOpen ) continue;
    if( n==nMax ){ *pNextUs = nowUs; continue; }   /* next round */
    s->nPin++;
    aStart[n] = startMs;
    aOut[n++] = s;
  }
  return n;
}

/* Terminate s (pinned) for the limit aWhy names, unless it was closed or
** terminated meanwhile. An idle blocker that blocks nobody is left
** alone and looked at again TERM_BLOCKER_POLL_US later: returns when
** (0: nothing to look at). */
static i64 termForLimit(CancelSession *s, int eWhy, i64 xactStartMs){
  static const char *azAction[] = { "idle_in_transaction_session_timeout",
                                    "idle_blocker_timeout", "transaction_timeout" };
  i64 nextUs = 0;
  int bBlocks = eWhy!=TERM_WHY_BLOCKER || blockersAnyWaiter(s);
  int bStill;
  registryLock();
  /* (the transaction timeout's transaction is checked again by
  ** termLocked, under s->mu; an idle limit is re-armed by a start) */
  bStill = eWhy==TERM_WHY_XACT || atomic_load(&s->idleDeadlineUs)==0;
  if( !bStill || s->closing || atomic_load(&s->eTerm)!=TERM_NONE ){
    registryUnlock();
  }else if( !bBlocks ){
    /* still idle (a statement start would have re-armed it): look again */
    i64 expected = 0;
    nextUs = idsMonoUs() + TERM_BLOCKER_POLL_US;
    if( !atomic_compare_exchange_strong(&s->idleDeadlineUs, &expected, nextUs) ) nextUs = 0;
    registryUnlock();
  }else{
    CancelAsker by;
    int ms = eWhy==TERM_WHY_IDLE ? atomic_load(&s->idleTimeoutMs)
           : eWhy==TERM_WHY_BLOCKER ? atomic_load(&s->idleBlockerMs)
           : atomic_load(&s->xactTimeoutMs);
    registryTimeoutAsker(&by, azAction[eWhy], ms);
    termLocked(0, azAction[eWhy], s, 0, s->pid, &by, TERM_NOW_NOWAIT,
               eWhy==TERM_WHY_XACT ? xactStartMs : 0);    /* (releases the lock) */
  }
  registryUnpin(s);
  return nextUs;
}

/* How soon the reaper looks again at a statement past its timeout that
** it could not interrupt yet (not running just now, or not alone). */
#define TERM_STMT_RECHECK_US 10000

/* With the registry lock held: interrupt the statements whose timeout
** has passed in sessions whose progress handler was taken (elsewhere the
** progress handler stops them itself: hooks.c). Only a statement that
** runs, alone: a cursor stepped and left open keeps SQLite from clearing
** the interrupt, and the next statement would fail. With a connection
** mutex, a try-lock that succeeds says nothing runs; one that fails says
** a thread is inside the connection, which may also be preparing another
** statement beside an open cursor, so the interrupt waits for a second
** look TERM_STMT_RECHECK_US later that finds the same still inside.
** (Without a mutex, nothing can say: doc/hooks.md.) Returns when to look
** again (0: nothing to look at). */
static i64 termStmtExpired(void){
  CancelSession *s;
  i64 nowUs = idsMonoUs(), nextUs = 0;
  assert( registryHeld() );
  for(s=registryFirst(); s; s=s->pNext){
    i64 d, at;
    if( s->closing || atomic_load(&s->eTerm)!=TERM_NONE
     || !(atomic_load(&s->hooksLost) & HOOKS_PROGRESS_LOST) ){
      continue;
    }
    pthread_mutex_lock(&s->mu);
    d = s->nStmt>0 ? s->aStmt[s->nStmt-1].deadlineUs : 0;
    at = d;
    if( d && d<=nowUs ){
      sqlite3_mutex *m = sqlite3_db_mutex(s->db);
      int bIdle = m && sqlite3_mutex_try(m)==SQLITE_OK;
      if( bIdle ) sqlite3_mutex_leave(m);
      int bAlone = s->nStmt==1 && !s->aStmt[0].bOwnSql && !bIdle;
      if( bAlone && (m==0 || s->timeoutSeenQuery==s->aStmt[0].iQuery) ){
        registryTimeoutByInterrupt(s);
        s->timeoutSeenQuery = 0;
        at = 0;
      }else{
        s->timeoutSeenQuery = bAlone ? s->aStmt[0].iQuery : 0;
        at = nowUs + TERM_STMT_RECHECK_US;
      }
    }
    if( at && (nextUs==0 || at<nextUs) ) nextUs = at;
    pthread_mutex_unlock(&s->mu);
  }
  return nextUs;
}

static void termTimedWait(pthread_cond_t *pCond, i64 waitUs){
  struct timespec dl;
  dl = portRealtimeAfter(waitUs);
  registryCondWait(pCond, &dl);
}

/*
** The background thread: finishes terminations that had to wait (the
** target was inside a statement), terminates sessions idle in a
** transaction for longer than their limit, and stops statements past
** their timeout in sessions whose progress handler was taken. Started
** on first need;
** runs for the life of the process (the library is pinned).
*/
static void *termReaperMain(void *pArg){
  int backoffMs = 0;
  (void)pArg;
  registryLock();
  for(;;){
    CancelSession *s;
    CancelSession *aWork[64], *aIdle[64], *aXact[64];
    int aWhy[64];
    i64 aXactStart[64];
    int nWork = 0, nIdle, nXact, i, bPending = 0, bSelfPending = 0;
    unsigned kicks = termReaperKicks;
    i64 nextIdleUs, nextXactUs;
    for(s=registryFirst(); s && nWork<64; s=s->pNext){
      if( !s->closing && s->selfTerm ){
        /* it asked to be terminated: once the statement that asked has
        ** ended (a look learns it when the connection is idle) */
        ActivityLook lk;
        activityLookLocked(s, &lk);
        if( !termSelfDueLocked(s) ) bSelfPending = 1;
      }
      if( !s->closing && atomic_load(&s->eTerm)==TERM_REQUEST ){
        s->nPin++;
        aWork[nWork++] = s;
      }
    }
    nIdle = termIdleExpired(aIdle, aWhy, 64, &nextIdleUs);
    nXact = termXactExpired(aXact, aXactStart, 64, &nextXactUs);
    if( nextXactUs && (nextIdleUs==0 || nextXactUs<nextIdleUs) ) nextIdleUs = nextXactUs;
    {
      i64 nextStmtUs = termStmtExpired();
      if( nextStmtUs && (nextIdleUs==0 || nextStmtUs<nextIdleUs) ) nextIdleUs = nextStmtUs;
    }
    registryUnlock();
    for(i=0; i<nIdle+nXact; i++){
      i64 againUs = i<nIdle ? termForLimit(aIdle[i], aWhy[i], 0)
                            : termForLimit(aXact[i-nIdle], TERM_WHY_XACT, aXactStart[i-nIdle]);
      if( againUs && (nextIdleUs==0 || againUs<nextIdleUs) ) nextIdleUs = againUs;
    }
    for(i=0; i<nWork; i++){
      if( !terminateFinish(aWork[i]) ) bPending = 1;
      registryUnpin(aWork[i]);
    }
    registryLock();
    if( nWork==64 || nIdle==64 || nXact==64 || bSelfPending ) bPending = 1;
    if( termReaperKicks!=kicks ){
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
      if( nextIdleUs && nextIdleUs-idsMonoUs()<waitUs ){
        waitUs = nextIdleUs-idsMonoUs();
      }
      atomic_store(&termReaperWakeUs, idsMonoUs() + waitUs);
      if( waitUs>0 ) termTimedWait(&termReaperCond, waitUs);
    }else if( nextIdleUs ){
      i64 waitUs = nextIdleUs - idsMonoUs();
      backoffMs = 0;
      atomic_store(&termReaperWakeUs, nextIdleUs);
      if( waitUs>0 ) termTimedWait(&termReaperCond, waitUs);
    }else{
      backoffMs = 0;
      atomic_store(&termReaperWakeUs, 0);
      registryCondWait(&termReaperCond, 0);
    }
    atomic_store(&termReaperWakeUs, 0);
  }
  return 0;
}

static void termKickLocked(void){
  assert( registryHeld() );
  termReaperKicks++;
  if( !termReaperStarted ){
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if( pthread_create(&t, &attr, termReaperMain, 0)==0 ) termReaperStarted = 1;
    pthread_attr_destroy(&attr);
  }
  pthread_cond_signal(&termReaperCond);
}

/* A session has something due at deadlineUs (idle in a transaction, or
** a statement timeout with its progress handler taken). The reaper
** need not be woken if it will wake by itself before then: it rescans
** every session each time (this keeps a loop of statements inside one
** transaction from signalling it at every statement). */
void terminateWakeBy(i64 deadlineUs){
  i64 w = atomic_load_explicit(&termReaperWakeUs, memory_order_relaxed);
  if( w==0 || w>deadlineUs ) terminateKickReaper();
}

void terminateKickReaper(void){
  registryLock();
  termKickLocked();
  registryUnlock();
}

