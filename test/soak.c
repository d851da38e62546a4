/*
** soak.c: many sessions, in several processes of several threads each,
** querying, writing and cancelling each other's statements for a bounded
** time, with the memory of every process watched.
**
**   test/soak [seconds] [processes] [threads] [dbfile]
**
** Defaults: 20 s, 4 processes x 16 worker threads = 64 worker sessions,
** plus 3 canceller threads per process. Files go to build/tmp/soak-<pid>/
** unless dbfile is given (removed after a run that passed). The extension is compiled in and enabled for
** every connection with sqlite3_auto_extension(); the Makefile builds it
** plain and with ASan+UBSan.
**
** Each process (forked) runs, half and half:
**   q workers  open a connection, run a "target" query (learning its own
**              query id from its first row; a third with a statement
**              timeout), a "safe" query and an INSERT, close, again;
**   b workers  open a connection (a third with an idle-in-transaction
**              timeout, which some transactions overstay on purpose), run
**              BEGIN IMMEDIATE, two INSERTs, COMMIT and a read, close;
** and three cancellers: cancel_query() on the target queries of its own
** process, the same on other processes' (ids read from `sessions`), and a
** killer that cancels and terminates b sessions of every process by
** pg_cancel_backend, pg_terminate_backend (with and without a wait),
** cancel_session, DELETE FROM sessions, and pids and ids that were live
** a moment ago.
**
** Every cancel is first written, with the clock, to the target worker's
** "aims" ring in memory shared by the processes; a worker whose statement
** fails looks there for what explains it. It asserts:
**   - no misfire: a q worker's statement is interrupted only if it is its
**     target query and a cancel_query named that execution's id (or its
**     own statement timeout had passed); its safe query and INSERT never
**     are. A b worker's statement fails with "interrupted", "not
**     authorized" or an early "database is locked" only if a cancel aimed
**     at its pid overlapped the statement, or a termination aimed at its
**     pid began before the statement ended, or its idle-in-transaction
**     timeout fired (an overstay, or the cancel log says so). A lock wait
**     shorter than the busy timeout that fails is such a failure too.
**   - no lost committed row: every COMMIT (and autocommit INSERT) that
**     returned OK is counted per worker; the table holds exactly that, no
**     duplicate, and PRAGMA integrity_check says ok;
**   - no leak: at 25% of the run (after a warm-up) and at the end, each
**     process stops its workers with every worker connection closed (a
**     handshake, the same state both times), fills its cancel log with
**     the same 1,000 entries, and samples sqlite3_memory_used() and its
**     anonymous resident memory (/proc/self/statm: resident - shared).
**     memory_used (which counts every allocation of SQLite and of the
**     extension) may grow by 16 KB at most: it is exact to the byte in our
**     runs; the slack is for the registry's hash tables (3 KB), which
**     double if the peak number of sessions comes after the warm-up. That
**     catches a leak of about 80 bytes per connection or 6 per statement
**     in a 20 s run, 30 times less in 600 s (a 140-byte leak per session,
**     tried on purpose, shows as +30 KB in 20 s). RSS may grow by max(4 MB, 10%): it is
**     noisier, since each of glibc's per-thread malloc arenas creeps up
**     to its own high-water mark (about +1 MB over 450 s with 19 threads;
**     flat with MALLOC_ARENA_MAX=1), but it also sees what memory_used
**     cannot (thread stacks, libc). File-backed pages (the registry
**     file, -shm) are excluded: which of them are resident depends on
**     which slots were touched, not on a leak. Under ASan the RSS is
**     printed, not checked (its quarantine keeps freed memory;
**     LeakSanitizer checks each process at its exit); memory_used is
**     checked under both. After the run a fresh connection lists only
**     itself in `sessions`;
**   - cancels of every kind land, in-process and across processes, at a
**     rate of at least one per 10 s of run;
**   - no crash and no sanitizer report.
** It prints the figures and exits non-zero on any failure.
*/
#include <sqlite3.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "cancel.h"

#if defined(__SANITIZE_ADDRESS__)
# define UNDER_ASAN 1
#elif defined(__has_feature)
# if __has_feature(address_sanitizer)
#  define UNDER_ASAN 1
# endif
#endif
#ifndef UNDER_ASAN
# define UNDER_ASAN 0
#endif

#define MAX_PROC   16
#define MAX_THREAD 64
#define N_AIM      64         /* aims remembered per worker */
#define BUSY_MS    10000      /* busy timeout of every session */
#define RSS_MIN_MB 4          /* leak bound: max(4 MB, 10%) of RSS ... */
#define RSS_PCT    10
#define MEM_SLACK  (16*1024)  /* ... and 16 KB of sqlite3_memory_used() */

/* ------------------------------------------------ shared between processes */

enum { AIM_QUERY = 1, AIM_CANCEL, AIM_TERM };

typedef struct Aim Aim;
struct Aim {
  int kind;                 /* AIM_* */
  int bRemote;              /* sent from another process */
  long long pid;            /* AIM_CANCEL, AIM_TERM: the session's pid */
  char zQid[33];            /* AIM_QUERY: the execution's query id */
  long long c0, c1;         /* the call's start and end (ns); c1 0 while on */
};

typedef struct Worker Worker;
struct Worker {
  pthread_mutex_t mu;       /* process-shared */
  unsigned nAim;
  Aim aAim[N_AIM];
  atomic_long nRows;        /* rows committed by this worker */
};

typedef struct Figures Figures;
struct Figures {
  atomic_long nOpen, nQuery, nSafe, nWrite, nCommit, nBusy;
  atomic_long nCqLocal, nCqRemote;            /* cancel_query sent */
  atomic_long nPcbLocal, nPcbRemote;          /* pg_cancel_backend sent */
  atomic_long nTermLocal, nTermRemote;        /* terminations sent (all ways) */
  atomic_long nQHitLocal, nQHitRemote;        /* interrupted as intended */
  atomic_long nSHitLocal, nSHitRemote;        /* b statements stopped as aimed */
  atomic_long nTimedOut, nIdleKill, nOverstay, nDead;
  atomic_long nMisfire, nFail;
  long rssStart, rssWarm, rssEnd, rssPeak;    /* anonymous resident, KB */
  long aRssTenth[10];                         /* under load, at each tenth */
  long fileStart, fileWarm, fileEnd;          /* file-backed resident, KB */
  long long memStart, memWarm, memEnd, memFinal;
};

typedef struct Shared Shared;
struct Shared {
  Worker aW[MAX_PROC*MAX_THREAD];
  Figures aF[MAX_PROC];
};

static Shared *pSh;
static char zDb[512];
static int nProc = 4, nThread = 16, nSeconds = 20;
static int iProc;                 /* this child's number */
static Figures *pF;               /* this child's figures */

static long long nowNs(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);   /* one clock for every process */
  return (long long)ts.tv_sec*1000000000LL + ts.tv_nsec;
}

static void pace(unsigned *pSeed, int maxUs){
  struct timespec ts = {0, (long)(rand_r(pSeed)%(unsigned)maxUs)*1000L};
  nanosleep(&ts, 0);
}

static void fail(const char *zMsg, const char *zDetail){
  fprintf(stderr, "soak[%d]: FAIL: %s %s\n", iProc, zMsg, zDetail ? zDetail : "");
  atomic_fetch_add(&pF->nFail, 1);
}
static void misfire(const char *zWhat, int iW, const char *zDetail){
  char z[200];
  snprintf(z, sizeof(z), "worker %d: %s", iW, zDetail ? zDetail : "");
  fprintf(stderr, "soak[%d]: FAIL: MISFIRE: %s %s\n", iProc, zWhat, z);
  atomic_fetch_add(&pF->nMisfire, 1);
  atomic_fetch_add(&pF->nFail, 1);
}

/* Record an aim in the target worker's ring before the call; returns the
** slot, to which aimDone() writes the end of the call. */
static unsigned aimBegin(int iW, int kind, int bRemote, long long pid, const char *zQid){
  Worker *w = &pSh->aW[iW];
  Aim *a;
  unsigned i;
  pthread_mutex_lock(&w->mu);
  i = w->nAim++;
  a = &w->aAim[i%N_AIM];
  memset(a, 0, sizeof(*a));
  a->kind = kind;
  a->bRemote = bRemote;
  a->pid = pid;
  if( zQid ) memcpy(a->zQid, zQid, 33);
  a->c0 = nowNs();
  pthread_mutex_unlock(&w->mu);
  return i;
}
static void aimDone(int iW, unsigned i){
  Worker *w = &pSh->aW[iW];
  pthread_mutex_lock(&w->mu);
  if( w->nAim - i < N_AIM ) w->aAim[i%N_AIM].c1 = nowNs();
  pthread_mutex_unlock(&w->mu);
}

/* Is a failure of worker iW's statement, which ran within [s0, s1] in
** the session pid (or was the execution zQid), explained by an aim?
** Returns 0, or 1 (aimed from this process) or 2 (from another). */
static int aimFound(int iW, long long pid, const char *zQid, long long s0, long long s1){
  Worker *w = &pSh->aW[iW];
  unsigned i, n;
  int r = 0;
  pthread_mutex_lock(&w->mu);
  n = w->nAim < N_AIM ? w->nAim : N_AIM;
  for(i=0; i<n && !r; i++){
    Aim *a = &w->aAim[i];
    int ok = 0;
    if( a->kind==AIM_QUERY ){
      ok = zQid && zQid[0] && strcmp(a->zQid, zQid)==0;
    }else if( a->pid==pid && a->c0<=s1 ){
      /* a cancel hits the statement running during the call; a
      ** termination every statement from then on */
      ok = a->kind==AIM_TERM || a->c1==0 || a->c1>=s0;
    }
    if( ok ) r = a->bRemote ? 2 : 1;
  }
  pthread_mutex_unlock(&w->mu);
  return r;
}

/* What the ring of worker iW holds, for a misfire's report. */
static void aimDump(int iW, long long s0){
  Worker *w = &pSh->aW[iW];
  unsigned i, n;
  pthread_mutex_lock(&w->mu);
  n = w->nAim < N_AIM ? w->nAim : N_AIM;
  for(i=0; i<n; i++){
    Aim *a = &w->aAim[i];
    if( a->kind==AIM_QUERY ) continue;
    fprintf(stderr, "soak[%d]:   aim %s pid %lld %s, ms from the statement's start "
            "%+.3f .. %+.3f\n", iProc, a->kind==AIM_CANCEL ? "cancel" : "terminate",
            a->pid, a->bRemote ? "remote" : "local", (a->c0-s0)/1e6,
            a->c1 ? (a->c1-s0)/1e6 : 0.0);
  }
  pthread_mutex_unlock(&w->mu);
}

/* --------------------------------------------------- in-process control */

static pthread_mutex_t ctlMu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ctlCv = PTHREAD_COND_INITIALIZER;
static int bPause = 0, nPaused = 0, nGone = 0;
static atomic_int bStop = 0;
static atomic_int bPauseFlag = 0;   /* read without the lock by load loops */

/* Called by every thread between connections (cancellers: between
** cancels): waits there while the main thread measures. */
static void checkpoint(void){
  if( !atomic_load(&bPauseFlag) ) return;
  pthread_mutex_lock(&ctlMu);
  if( bPause ){
    nPaused++;
    pthread_cond_broadcast(&ctlCv);
    while( bPause ) pthread_cond_wait(&ctlCv, &ctlMu);
    nPaused--;
  }
  pthread_mutex_unlock(&ctlMu);
}
/* Called by a thread as it returns: it will pause no more. */
static void *threadGone(void){
  pthread_mutex_lock(&ctlMu);
  nGone++;
  pthread_cond_broadcast(&ctlCv);
  pthread_mutex_unlock(&ctlMu);
  return 0;
}
static int running(void){
  return !atomic_load(&bStop) && !atomic_load(&bPauseFlag);
}

/* Anonymous and file-backed resident memory, KB. */
static void rssKb(long *pAnon, long *pFile){
  long size = 0, res = 0, shr = 0, pg = sysconf(_SC_PAGESIZE)/1024;
  FILE *f = fopen("/proc/self/statm", "r");
  if( f ){
    if( fscanf(f, "%ld %ld %ld", &size, &res, &shr)!=3 ){ res = shr = 0; }
    fclose(f);
  }
  *pAnon = (res-shr)*pg;
  if( pFile ) *pFile = shr*pg;
}

/* ----------------------------------------------------------- sessions */

/* The application name says which worker a session is: kind:proc:thread */
static int setApp(sqlite3 *db, const char *zKind, int iThread){
  char *zSql = sqlite3_mprintf("SELECT set_application_name('%s:%d:%d')",
                               zKind, iProc, iThread);
  int rc = sqlite3_exec(db, zSql, 0, 0, 0);
  sqlite3_free(zSql);
  if( rc!=SQLITE_OK ) fail("set_application_name:", sqlite3_errmsg(db));
  return rc;
}

static sqlite3 *openSession(const char *zKind, int iThread){
  sqlite3 *db = 0;
  if( sqlite3_open(zDb, &db)!=SQLITE_OK ){
    fail("open:", sqlite3_errmsg(db));
    sqlite3_close(db);
    return 0;
  }
  cancel_set_busy_timeout(db, BUSY_MS);
  /* no fsync per commit: durability across power loss is not the subject,
  ** and 64 writers would queue behind the disk */
  sqlite3_exec(db, "PRAGMA synchronous=NORMAL", 0, 0, 0);
  atomic_fetch_add(&pF->nOpen, 1);
  if( zKind ) setApp(db, zKind, iThread);
  return db;
}

static long long queryInt(sqlite3 *db, const char *zSql){
  sqlite3_stmt *pStmt = 0;
  long long v = -1;
  if( sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0)==SQLITE_OK
   && sqlite3_step(pStmt)==SQLITE_ROW ){
    v = sqlite3_column_int64(pStmt, 0);
  }
  sqlite3_finalize(pStmt);
  return v;
}

/* A plain SQLITE_BUSY before the busy timeout is a lock wait that ended
** early: a cancel. (Other BUSY variants never wait.) */
static int earlyBusy(sqlite3 *db, int rc, long long s0, long long s1){
  return rc==SQLITE_BUSY && sqlite3_extended_errcode(db)==SQLITE_BUSY
      && s1-s0 < (long long)(BUSY_MS-500)*1000000LL;
}

/* -------------------------------------------------------- q worker */

#define CTE(n) "(WITH RECURSIVE c(x) AS (VALUES(1) UNION ALL SELECT x+1 FROM c WHERE x<" n ") SELECT x FROM c)"
static const char *zTarget =
  "SELECT /*target*/ (SELECT query_id FROM sessions WHERE session_id = session_id()) "
  "UNION ALL SELECT count(*) FROM " CTE("?1");
static const char *zSafe = "SELECT /*safe*/ count(*) FROM " CTE("?1");

static void *qWorker(void *pArg){
  int iThread = (int)(long)pArg;
  int iW = iProc*nThread + iThread;
  unsigned seed = (unsigned)(getpid()*131 + iThread);
  long seq = 0;
  while( !atomic_load(&bStop) ){
    sqlite3 *db;
    int k;
    checkpoint();
    if( atomic_load(&bStop) ) break;
    if( (db = openSession("q", iThread))==0 ) break;
    for(k=0; k<8 && running(); k++){
      sqlite3_stmt *pStmt = 0;
      char zQid[33] = {0};
      int rc, timeoutMs = rand_r(&seed)%3==0 ? 10 + (int)(rand_r(&seed)%40) : 0;
      long long s0, s1;
      char *zIns;

      /* the target: its own query id first, then 1 to 40 ms of work */
      cancel_set_statement_timeout(db, timeoutMs);
      if( sqlite3_prepare_v2(db, zTarget, -1, &pStmt, 0)!=SQLITE_OK ){
        fail("prepare:", sqlite3_errmsg(db));
        break;
      }
      sqlite3_bind_int(pStmt, 1, 1000 + (int)(rand_r(&seed)%20000));
      s0 = nowNs();
      rc = sqlite3_step(pStmt);
      if( rc==SQLITE_ROW ){
        const char *z = (const char*)sqlite3_column_text(pStmt, 0);
        if( z && strlen(z)==32 ) memcpy(zQid, z, 33);
        while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){}
      }
      s1 = nowNs();
      sqlite3_finalize(pStmt);
      cancel_set_statement_timeout(db, 0);
      atomic_fetch_add(&pF->nQuery, 1);
      if( rc==SQLITE_INTERRUPT ){
        int r = aimFound(iW, -1, zQid, s0, s1);
        if( r ) atomic_fetch_add(r==1 ? &pF->nQHitLocal : &pF->nQHitRemote, 1);
        else if( timeoutMs>0 && s1-s0>=(long long)timeoutMs*1000000LL ){
          atomic_fetch_add(&pF->nTimedOut, 1);
        }else misfire("target query interrupted, no cancel named it:", iW, zQid);
      }else if( rc!=SQLITE_DONE ){
        fail("target query:", sqlite3_errmsg(db));
      }

      /* the safe query: no cancel is ever aimed at it */
      pStmt = 0;
      sqlite3_prepare_v2(db, zSafe, -1, &pStmt, 0);
      sqlite3_bind_int(pStmt, 1, 1000 + (int)(rand_r(&seed)%10000));
      s0 = nowNs();
      while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){}
      s1 = nowNs();
      sqlite3_finalize(pStmt);
      atomic_fetch_add(&pF->nSafe, 1);
      if( rc!=SQLITE_DONE ){
        if( rc==SQLITE_INTERRUPT ) misfire("safe query interrupted:", iW, sqlite3_errmsg(db));
        else fail("safe query:", sqlite3_errmsg(db));
      }

      /* an autocommit write, never aimed at either */
      zIns = sqlite3_mprintf("INSERT INTO ledger(proc, worker, seq) VALUES(%d, %d, %ld)",
                             iProc, iThread, seq);
      s0 = nowNs();
      rc = sqlite3_exec(db, zIns, 0, 0, 0);
      s1 = nowNs();
      sqlite3_free(zIns);
      atomic_fetch_add(&pF->nWrite, 1);
      if( rc==SQLITE_OK ){
        seq++;
        atomic_fetch_add(&pSh->aW[iW].nRows, 1);
        atomic_fetch_add(&pF->nCommit, 1);
      }else if( rc==SQLITE_INTERRUPT || earlyBusy(db, rc, s0, s1) ){
        misfire("insert stopped:", iW, sqlite3_errmsg(db));
      }else if( rc==SQLITE_BUSY ){
        atomic_fetch_add(&pF->nBusy, 1);
      }else{
        fail("insert:", sqlite3_errmsg(db));
      }
      pace(&seed, 2000);
    }
    sqlite3_close(db);
  }
  return threadGone();
}

/* -------------------------------------------------------- b worker */

typedef struct BState BState;
struct BState {
  sqlite3 *db;
  int iW;
  long long pid;
  int bOverstayed;    /* slept in a transaction past its idle timeout */
  int bFailed;        /* a statement of this transaction failed */
  int bSuspect;       /* a failure nothing explained yet: ask the log */
  int idleMs;
  char zWhy[300];     /* the first such failure */
  long long s0Why;
};

/* Run one statement of a b worker; a failure must be explained. */
static int bRun(BState *p, const char *zSql){
  long long s0 = nowNs(), s1;
  int rc = sqlite3_exec(p->db, zSql, 0, 0, 0);
  int rcx = sqlite3_extended_errcode(p->db);
  s1 = nowNs();
  if( rc==SQLITE_OK ) return rc;
  if( rc==SQLITE_INTERRUPT || rc==SQLITE_AUTH || earlyBusy(p->db, rc, s0, s1) ){
    int r = aimFound(p->iW, p->pid, 0, s0, s1);
    if( r ){
      if( !p->bFailed ) atomic_fetch_add(r==1 ? &pF->nSHitLocal : &pF->nSHitRemote, 1);
    }else if( !p->bOverstayed && !p->bSuspect ){
      p->bSuspect = 1;     /* unless its idle timeout fired: checked below */
      p->s0Why = s0;
      snprintf(p->zWhy, sizeof(p->zWhy), "%s: rc %d (%s), %.3f ms, idle timeout %d ms",
               zSql, rc, sqlite3_errmsg(p->db), (s1-s0)/1e6, p->idleMs);
    }
  }else if( rc==SQLITE_BUSY ){
    atomic_fetch_add(&pF->nBusy, 1);
  }else if( !p->bFailed ){
    /* an interrupted write rolls the transaction back: COMMIT then fails
    ** with "no transaction is active", which is no news */
    char z[300];
    snprintf(z, sizeof(z), "%s: rc %d (%d) %s", zSql, rc, rcx, sqlite3_errmsg(p->db));
    fail("b statement:", z);
  }
  p->bFailed = 1;
  return rc;
}

static void *bWorker(void *pArg){
  int iThread = (int)(long)pArg;
  int iW = iProc*nThread + iThread;
  unsigned seed = (unsigned)(getpid()*7919 + iThread);
  long seq = 0;
  while( !atomic_load(&bStop) ){
    BState s;
    int k, bDead = 0;
    int idleMs = rand_r(&seed)%3==0 ? 50 + (int)(rand_r(&seed)%50) : 0;
    checkpoint();
    if( atomic_load(&bStop) ) break;
    memset(&s, 0, sizeof(s));
    s.iW = iW;
    s.idleMs = idleMs;
    /* its pid first: no cancel can find it before it has its name */
    if( (s.db = openSession(0, iThread))==0 ) break;
    s.pid = queryInt(s.db, "SELECT pg_backend_pid()");
    if( s.pid<=0 ) fail("pg_backend_pid:", sqlite3_errmsg(s.db));
    {
      /* a killer may find it as soon as the name is set: checked as any
      ** statement of the session */
      char *zSql = sqlite3_mprintf("SELECT set_application_name('b:%d:%d')",
                                   iProc, iThread);
      bRun(&s, zSql);
      sqlite3_free(zSql);
    }
    cancel_set_idle_in_transaction_session_timeout(s.db, idleMs);
    for(k=0; k<12 && !bDead && running(); k++){
      char *zIns;
      int rc;
      s.bFailed = 0;
      rc = bRun(&s, "BEGIN IMMEDIATE");
      if( rc==SQLITE_OK ){
        zIns = sqlite3_mprintf("INSERT INTO ledger(proc, worker, seq) VALUES(%d, %d, %ld)",
                               iProc, iThread, seq);
        rc = bRun(&s, zIns);
        sqlite3_free(zIns);
      }
      if( rc==SQLITE_OK ){
        zIns = sqlite3_mprintf("INSERT INTO ledger(proc, worker, seq) VALUES(%d, %d, %ld)",
                               iProc, iThread, seq+1);
        rc = bRun(&s, zIns);
        sqlite3_free(zIns);
      }
      if( rc==SQLITE_OK && idleMs && rand_r(&seed)%16==0 ){
        struct timespec ts = {0, (long)(idleMs + 20)*1000000L};
        nanosleep(&ts, 0);          /* idle in the transaction, too long */
        s.bOverstayed = 1;
        atomic_fetch_add(&pF->nOverstay, 1);
      }
      if( rc==SQLITE_OK ) rc = bRun(&s, "COMMIT");
      atomic_fetch_add(&pF->nWrite, 2);
      if( rc==SQLITE_OK ){
        seq += 2;
        atomic_fetch_add(&pSh->aW[iW].nRows, 2);
        atomic_fetch_add(&pF->nCommit, 1);
        bRun(&s, "SELECT /*b*/ count(*) FROM " CTE("20000"));
      }else{
        sqlite3_exec(s.db, "ROLLBACK", 0, 0, 0);
      }
      if( s.bFailed && bRun(&s, "SELECT 1")!=SQLITE_OK ) bDead = 1;
      pace(&seed, 2000);
    }
    if( bDead ) atomic_fetch_add(&pF->nDead, 1);
    sqlite3_close(s.db);
    if( s.bSuspect ){
      /* Nothing aimed at it: only its own idle-in-transaction timeout may
      ** have stopped it, which the cancel log of this process records. */
      sqlite3 *db = openSession("log", iThread);
      char *zSql = sqlite3_mprintf("SELECT count(*) FROM cancel_log WHERE "
          "action='idle_in_transaction_session_timeout' AND target_pid=%lld", s.pid);
      long long n = db ? queryInt(db, zSql) : -1;
      sqlite3_free(zSql);
      sqlite3_close(db);
      if( n>0 ) atomic_fetch_add(&pF->nIdleKill, 1);
      else{
        char z[400];
        snprintf(z, sizeof(z), "pid %lld: %s", s.pid, s.zWhy);
        misfire("b statement stopped, nothing aimed at it:", iW, z);
        aimDump(iW, s.s0Why);
      }
    }
  }
  return threadGone();
}

/* ----------------------------------------------------------- cancellers */

/* cancel_query on the target queries of this process (bRemote 0) or of
** the others (1). The aim is recorded before the call. */
static void *queryCanceller(void *pArg){
  int bRemote = (int)(long)pArg;
  sqlite3 *db = openSession(bRemote ? "cqr" : "cql", 0);
  unsigned seed = (unsigned)getpid()*3u + (unsigned)bRemote;
  char *zFind;
  if( db==0 ) return threadGone();
  zFind = sqlite3_mprintf(
      "SELECT query_id, application_name FROM sessions WHERE node_id %s %d "
      "AND application_name LIKE 'q:%%' AND active_query LIKE '%%/*target*/%%' "
      "ORDER BY random() LIMIT 1", bRemote ? "<>" : "=", (int)getpid());
  while( !atomic_load(&bStop) ){
    sqlite3_stmt *pStmt = 0;
    char zQid[33] = {0};
    int p = -1, t = -1;
    checkpoint();
    if( sqlite3_prepare_v2(db, zFind, -1, &pStmt, 0)==SQLITE_OK
     && sqlite3_step(pStmt)==SQLITE_ROW ){
      const char *z = (const char*)sqlite3_column_text(pStmt, 0);
      const char *zApp = (const char*)sqlite3_column_text(pStmt, 1);
      if( z && strlen(z)==32 && zApp && sscanf(zApp, "q:%d:%d", &p, &t)==2
       && p>=0 && p<nProc && t>=0 && t<nThread ){
        memcpy(zQid, z, 33);
      }
    }
    sqlite3_finalize(pStmt);
    if( zQid[0] ){
      int iW = p*nThread + t;
      unsigned i = aimBegin(iW, AIM_QUERY, bRemote, 0, zQid);
      char *zSql;
      /* half of the time the query may end meanwhile, and the worker's
      ** safe query or insert start: they must not be hit */
      if( rand_r(&seed)%2 ) pace(&seed, 3000);
      zSql = sqlite3_mprintf("SELECT cancel_query(%Q, 1)", zQid);
      if( sqlite3_exec(db, zSql, 0, 0, 0)!=SQLITE_OK ) fail("cancel_query:", sqlite3_errmsg(db));
      sqlite3_free(zSql);
      aimDone(iW, i);
      atomic_fetch_add(bRemote ? &pF->nCqRemote : &pF->nCqLocal, 1);
    }
    pace(&seed, 4000);
  }
  sqlite3_free(zFind);
  sqlite3_close(db);
  return threadGone();
}

/* Cancels and terminates b sessions of every process by every means,
** including pids and session ids that were live a moment ago. */
static void *killer(void *pArg){
  sqlite3 *db = openSession("k", 0);
  unsigned seed = (unsigned)getpid()*5u;
  char zOldSid[33] = {0};
  long long oldPid = 0;
  int oldW = -1, bOldRemote = 0;
  (void)pArg;
  if( db==0 ) return threadGone();
  while( !atomic_load(&bStop) ){
    sqlite3_stmt *pStmt = 0;
    char zSid[33] = {0};
    long long pid = 0;
    int p = -1, t = -1, bRemote = 0, op, kind, iW;
    unsigned iAim;
    char *zSql = 0;
    checkpoint();
    sqlite3_prepare_v2(db,
        "SELECT session_id, pid, application_name, node_id FROM sessions "
        "WHERE application_name LIKE 'b:%' ORDER BY random() LIMIT 1", -1, &pStmt, 0);
    if( pStmt && sqlite3_step(pStmt)==SQLITE_ROW ){
      const char *z = (const char*)sqlite3_column_text(pStmt, 0);
      const char *zApp = (const char*)sqlite3_column_text(pStmt, 2);
      if( z && strlen(z)==32 && zApp && sscanf(zApp, "b:%d:%d", &p, &t)==2
       && p>=0 && p<nProc && t>=0 && t<nThread ){
        memcpy(zSid, z, 33);
        pid = sqlite3_column_int64(pStmt, 1);
        bRemote = sqlite3_column_int(pStmt, 3)!=(int)getpid();
      }
    }
    sqlite3_finalize(pStmt);
    if( zSid[0]==0 ){ pace(&seed, 2000); continue; }
    iW = p*nThread + t;
    op = (int)(rand_r(&seed)%12);
    kind = AIM_TERM;
    switch( op ){
      case 0: case 1: case 2: case 9:
        kind = AIM_CANCEL;
        zSql = sqlite3_mprintf("SELECT pg_cancel_backend(%lld)", pid); break;
      case 3: zSql = sqlite3_mprintf("SELECT pg_terminate_backend(%lld)", pid); break;
      case 4: zSql = sqlite3_mprintf("SELECT pg_terminate_backend(%lld, 2000)", pid); break;
      case 5: zSql = sqlite3_mprintf("SELECT cancel_session(%Q, 1)", zSid); break;
      case 6: zSql = sqlite3_mprintf("DELETE FROM sessions WHERE pid=%lld", pid); break;
      case 7:   /* a session that may have gone: must not hit its successor */
        if( oldW<0 ) continue;
        iW = oldW; pid = oldPid; bRemote = bOldRemote;
        zSql = sqlite3_mprintf("SELECT pg_cancel_backend(%lld), pg_terminate_backend(%lld)",
                               oldPid, oldPid);
        break;
      case 8:
        if( oldW<0 ) continue;
        iW = oldW; pid = oldPid; bRemote = bOldRemote;
        zSql = sqlite3_mprintf("SELECT cancel_session(%Q, 1)", zOldSid); break;
      default:
        kind = AIM_CANCEL;
        zSql = sqlite3_mprintf("SELECT pg_cancel_backend(%lld)", pid); break;
    }
    iAim = aimBegin(iW, kind, bRemote, pid, 0);
    if( sqlite3_exec(db, zSql, 0, 0, 0)!=SQLITE_OK ) fail("killer:", sqlite3_errmsg(db));
    aimDone(iW, iAim);
    sqlite3_free(zSql);
    if( kind==AIM_CANCEL ) atomic_fetch_add(bRemote ? &pF->nPcbRemote : &pF->nPcbLocal, 1);
    else atomic_fetch_add(bRemote ? &pF->nTermRemote : &pF->nTermLocal, 1);
    if( op<7 ){
      memcpy(zOldSid, zSid, 33);
      oldPid = pid; oldW = iW; bOldRemote = bRemote;
    }
    /* pacing: the sessions must live long enough to commit something */
    pace(&seed, 16000);
  }
  sqlite3_close(db);
  return threadGone();
}

/* ----------------------------------------------------------- a process */

/* Pause every thread between connections; returns with them waiting. */
static void pauseAll(int nThreads){
  pthread_mutex_lock(&ctlMu);
  bPause = 1;
  atomic_store(&bPauseFlag, 1);
  while( nPaused+nGone<nThreads ) pthread_cond_wait(&ctlCv, &ctlMu);
  pthread_mutex_unlock(&ctlMu);
}
static void resumeAll(void){
  pthread_mutex_lock(&ctlMu);
  bPause = 0;
  atomic_store(&bPauseFlag, 0);
  pthread_cond_broadcast(&ctlCv);
  pthread_mutex_unlock(&ctlMu);
}

/* The cancel log keeps the process's last 1,000 entries, each with the
** text of the statement aimed at: what it holds at a given moment depends
** on which cancels came last. Before each measurement it is filled with
** the same 1,000 entries (a statement that cancels itself), so that the
** log weighs the same at every checkpoint and memory_used can be held to
** a tight bound. */
static void logFill(sqlite3 *db){
  char zSql[600];
  int i;
  snprintf(zSql, sizeof(zSql), "SELECT /*%0400d*/ cancel_query((SELECT query_id "
           "FROM sessions WHERE session_id = session_id()), 1)", 0);
  for(i=0; i<1000; i++) sqlite3_exec(db, zSql, 0, 0, 0);
}

static int child(int fdCmd, int fdAck){
  pthread_t aTh[MAX_THREAD+3];
  int nTh = 0, i;
  sqlite3 *db;
  char c;
  long long t0;

  pF = &pSh->aF[iProc];
  sqlite3_auto_extension((void(*)(void))sqlite3_cancel_init);
  /* enrolled before the start, so that every process is attached to the
  ** registry file when the others begin to look */
  db = openSession("c", 0);
  if( db==0 ) return 1;
  logFill(db);
  pF->memStart = sqlite3_memory_used();
  rssKb(&pF->rssStart, &pF->fileStart);
  if( write(fdAck, "r", 1)!=1 ) return 1;
  if( read(fdCmd, &c, 1)!=1 || c!='g' ) return 1;

  for(i=0; i<nThread; i++){
    pthread_create(&aTh[nTh++], 0, (i%2) ? bWorker : qWorker, (void*)(long)i);
  }
  pthread_create(&aTh[nTh++], 0, queryCanceller, (void*)0L);
  pthread_create(&aTh[nTh++], 0, queryCanceller, (void*)1L);
  pthread_create(&aTh[nTh++], 0, killer, 0);

  t0 = nowNs();
  for(;;){
    struct pollfd pfd = { fdCmd, POLLIN, 0 };
    int n = poll(&pfd, 1, 500);
    long rss;
    int iTenth = (int)((nowNs()-t0)/100000000LL/nSeconds);
    if( n<0 && errno==EINTR ) continue;
    rssKb(&rss, 0);         /* periodic samples for the figures */
    if( rss>pF->rssPeak ) pF->rssPeak = rss;
    if( iTenth>=0 && iTenth<10 && pF->aRssTenth[iTenth]==0 ) pF->aRssTenth[iTenth] = rss;
    if( n<=0 ) continue;
    if( read(fdCmd, &c, 1)!=1 ) c = 's';
    pauseAll(nTh);
    logFill(db);
    if( c=='w' ){
      pF->memWarm = sqlite3_memory_used();
      rssKb(&pF->rssWarm, &pF->fileWarm);
      pF->rssPeak = 0;       /* the peak after the warm-up */
      resumeAll();
      if( write(fdAck, "w", 1)!=1 ) return 1;
    }else{
      pF->memEnd = sqlite3_memory_used();
      rssKb(&pF->rssEnd, &pF->fileEnd);
      atomic_store(&bStop, 1);
      resumeAll();
      break;
    }
  }
  for(i=0; i<nTh; i++) pthread_join(aTh[i], 0);
  if( queryInt(db, "SELECT count(*) FROM sessions WHERE node_id=(SELECT node_id FROM sessions WHERE session_id=session_id())")!=1 ){
    fail("sessions of this process left besides its checker", 0);
  }
  sqlite3_close(db);
  pF->memFinal = sqlite3_memory_used();
  if( write(fdAck, "e", 1)!=1 ) return 1;
  return atomic_load(&pF->nFail) ? 1 : 0;
}

/* ----------------------------------------------------------------- main */

static void sleepMs(long ms){         /* the run's length, not a handshake */
  struct timespec ts = { ms/1000, (ms%1000)*1000000L };
  while( nanosleep(&ts, &ts)!=0 && errno==EINTR ){}
}

static pid_t aPid[MAX_PROC];
static int aReaped[MAX_PROC], aStatus[MAX_PROC];

/* Wait for every process's answer; 1 if one of them ended first (a crash)
** or none answered for 300 s (a hang), so that the run never hangs. */
static int waitAcks(int fdAck, int n, char want){
  int got = 0, nIdle = 0, i;
  while( got<n ){
    struct pollfd pfd = { fdAck, POLLIN, 0 };
    int r = poll(&pfd, 1, 1000);
    if( r<0 && errno==EINTR ) continue;
    if( r>0 ){
      char c = 0;
      if( read(fdAck, &c, 1)!=1 || c!=want ) break;
      got++;
      nIdle = 0;
      continue;
    }
    for(i=0; i<nProc; i++){
      if( !aReaped[i] && waitpid(aPid[i], &aStatus[i], WNOHANG)==aPid[i] ){
        aReaped[i] = 1;
        fprintf(stderr, "soak: FAIL: process %d ended early, status 0x%x\n", i, aStatus[i]);
        return 1;
      }
    }
    if( ++nIdle>=300 ) break;
  }
  if( got<n ) fprintf(stderr, "soak: FAIL: no answer '%c' from %d processes\n", want, n-got);
  return got<n;
}

static long sumF(size_t off){
  long n = 0;
  int i;
  for(i=0; i<nProc; i++) n += atomic_load((atomic_long*)((char*)&pSh->aF[i] + off));
  return n;
}
#define SUM(f) sumF(offsetof(Figures, f))

int main(int argc, char **argv){
  int seconds = argc>1 ? atoi(argv[1]) : nSeconds;
  int aCmd[MAX_PROC][2], aAck[2];
  char zDir[256] = {0};
  int i, nFail = 0;
  long long t0, t1;
  double el;
  sqlite3 *db;
  long nLeft, nRowsWant = 0, nRowsHave;
  long maxGrow = 0, maxGrowPct = 0;
  pthread_mutexattr_t ma;

  if( argc>2 ) nProc = atoi(argv[2]);
  if( argc>3 ) nThread = atoi(argv[3]);
  if( seconds<4 ) seconds = 4;
  nSeconds = seconds;
  if( nProc<2 ) nProc = 2;
  if( nProc>MAX_PROC ) nProc = MAX_PROC;
  if( nThread<2 ) nThread = 2;
  if( nThread>MAX_THREAD ) nThread = MAX_THREAD;
  if( argc>4 ){
    snprintf(zDb, sizeof(zDb), "%s", argv[4]);
  }else{
    snprintf(zDir, sizeof(zDir), "build/tmp/soak-%d", (int)getpid());
    mkdir("build/tmp", 0777);
    if( mkdir(zDir, 0777)!=0 && errno!=EEXIST ){ perror(zDir); return 1; }
    snprintf(zDb, sizeof(zDb), "%s/soak.db", zDir);
  }
  {
    const char *azSuffix[] = { "", "-wal", "-shm", "-journal", "-cancel" };
    char z[600];
    for(i=0; i<5; i++){ snprintf(z, sizeof(z), "%s%s", zDb, azSuffix[i]); remove(z); }
  }

  pSh = mmap(0, sizeof(Shared), PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS, -1, 0);
  if( pSh==MAP_FAILED ){ perror("mmap"); return 1; }
  memset(pSh, 0, sizeof(Shared));
  pthread_mutexattr_init(&ma);
  pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
  for(i=0; i<MAX_PROC*MAX_THREAD; i++) pthread_mutex_init(&pSh->aW[i].mu, &ma);
  pthread_mutexattr_destroy(&ma);
  pF = &pSh->aF[0];   /* for fail() in the parent */

  /* the schema, made by a process of its own: the parent keeps no SQLite
  ** state (nor the extension's threads) across fork() */
  aPid[0] = fork();
  if( aPid[0]==0 ){
    int rc = sqlite3_open(zDb, &db);
    if( rc==SQLITE_OK ) rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL;"
        "CREATE TABLE ledger(proc INT, worker INT, seq INT)", 0, 0, 0);
    if( rc!=SQLITE_OK ) fprintf(stderr, "soak: schema: %s\n", sqlite3_errmsg(db));
    sqlite3_close(db);
    _exit(rc!=SQLITE_OK);
  }
  {
    int st = 0;
    waitpid(aPid[0], &st, 0);
    if( !WIFEXITED(st) || WEXITSTATUS(st)!=0 ) return 1;
  }

  if( pipe(aAck)!=0 ){ perror("pipe"); return 1; }
  fflush(stdout);
  fflush(stderr);
  for(i=0; i<nProc; i++){
    if( pipe(aCmd[i])!=0 ){ perror("pipe"); return 1; }
    aPid[i] = fork();
    if( aPid[i]==0 ){
      int rc;
      close(aCmd[i][1]);
      close(aAck[0]);
      iProc = i;
      rc = child(aCmd[i][0], aAck[1]);
      fflush(stdout);
      exit(rc);         /* exit(), not _exit(): LeakSanitizer runs at exit */
    }
    close(aCmd[i][0]);
  }
  close(aAck[1]);

  /* ready, go; warm-up checkpoint at 25%; end. A write to a process that
  ** died fails with EPIPE (SIGPIPE ignored); waitAcks() sees it gone. */
  signal(SIGPIPE, SIG_IGN);
  t0 = nowNs();
  if( waitAcks(aAck[0], nProc, 'r')==0 ){
    t0 = nowNs();
    for(i=0; i<nProc; i++) if( write(aCmd[i][1], "g", 1)!=1 ) nFail++;
    sleepMs((long)seconds*250);
    for(i=0; i<nProc; i++) if( write(aCmd[i][1], "w", 1)!=1 ) nFail++;
    if( waitAcks(aAck[0], nProc, 'w')==0 ){
      sleepMs((long)seconds*1000 - (nowNs()-t0)/1000000);
      for(i=0; i<nProc; i++) if( write(aCmd[i][1], "s", 1)!=1 ) nFail++;
      if( waitAcks(aAck[0], nProc, 'e') ) nFail++;
    }else nFail++;
  }else nFail++;
  if( nFail ){
    /* one crashed or hung: stop the others (our own children, by pid) */
    for(i=0; i<nProc; i++) if( !aReaped[i] ) kill(aPid[i], SIGKILL);
  }
  t1 = nowNs();
  for(i=0; i<nProc; i++){
    int st = aStatus[i];
    if( !aReaped[i] ) waitpid(aPid[i], &st, 0);
    if( !WIFEXITED(st) || WEXITSTATUS(st)!=0 ){
      fprintf(stderr, "soak: FAIL: process %d ended with status 0x%x\n", i, st);
      nFail++;
    }
    close(aCmd[i][1]);
  }
  el = (double)(t1-t0)/1e9;

  /* The database: every committed row, no other, intact. */
  sqlite3_auto_extension((void(*)(void))sqlite3_cancel_init);
  if( sqlite3_open(zDb, &db)!=SQLITE_OK ){ fprintf(stderr, "soak: open\n"); return 1; }
  for(i=0; i<nProc*nThread; i++){
    char *zSql = sqlite3_mprintf("SELECT count(*) FROM ledger WHERE proc=%d AND worker=%d",
                                 i/nThread, i%nThread);
    long n = (long)queryInt(db, zSql);
    long want = atomic_load(&pSh->aW[i].nRows);
    sqlite3_free(zSql);
    nRowsWant += want;
    if( n!=want ){
      fprintf(stderr, "soak: FAIL: process %d worker %d: %ld rows in the table, "
              "%ld committed\n", i/nThread, i%nThread, n, want);
      nFail++;
    }
  }
  nRowsHave = (long)queryInt(db, "SELECT count(*) FROM ledger");
  if( queryInt(db, "SELECT count(*) FROM (SELECT 1 FROM ledger "
                   "GROUP BY proc, worker, seq HAVING count(*)>1)")!=0 ){
    fprintf(stderr, "soak: FAIL: duplicate rows\n");
    nFail++;
  }
  {
    sqlite3_stmt *pStmt = 0;
    sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &pStmt, 0);
    if( !pStmt || sqlite3_step(pStmt)!=SQLITE_ROW
     || strcmp((const char*)sqlite3_column_text(pStmt, 0), "ok")!=0 ){
      fprintf(stderr, "soak: FAIL: integrity_check\n");
      nFail++;
    }
    sqlite3_finalize(pStmt);
  }
  nLeft = (long)queryInt(db, "SELECT count(*) FROM sessions") - 1;
  if( nLeft!=0 ){
    fprintf(stderr, "soak: FAIL: %ld sessions listed after the run besides the checker\n", nLeft);
    nFail++;
  }
  sqlite3_close(db);

  /* Memory, per process. */
  for(i=0; i<nProc; i++){
    Figures *f = &pSh->aF[i];
    long bound = f->rssWarm*RSS_PCT/100;
    long grow = f->rssEnd - f->rssWarm;
    if( bound<RSS_MIN_MB*1024 ) bound = RSS_MIN_MB*1024;
    printf("soak: process %d: RSS (anonymous) start %ld KB, after warm-up %ld KB, "
           "end %ld KB (%+ld KB, bound %+ld KB%s), peak after warm-up %ld KB; "
           "file-backed %ld/%ld/%ld KB; memory_used start %lld, after warm-up %lld, "
           "end %lld (%+lld), all closed %lld\n",
           i, f->rssStart, f->rssWarm, f->rssEnd, grow, bound,
           UNDER_ASAN ? ", not checked under ASan" : "", f->rssPeak,
           f->fileStart, f->fileWarm, f->fileEnd, f->memStart, f->memWarm,
           f->memEnd, f->memEnd - f->memWarm, f->memFinal);
    {
      int j;
      printf("soak: process %d: RSS (anonymous, under load) at each tenth of the run:", i);
      for(j=0; j<10; j++) printf(" %ld", f->aRssTenth[j]);
      printf(" KB\n");
    }
    if( grow>maxGrow ) maxGrow = grow;
    if( f->rssWarm>0 && grow*100/f->rssWarm>maxGrowPct ) maxGrowPct = grow*100/f->rssWarm;
    if( !UNDER_ASAN && grow>bound ){
      fprintf(stderr, "soak: FAIL: process %d: RSS grew by %ld KB after the warm-up "
              "(bound %ld KB)\n", i, grow, bound);
      nFail++;
    }
    if( f->memEnd - f->memWarm > MEM_SLACK ){
      fprintf(stderr, "soak: FAIL: process %d: sqlite3_memory_used grew by %lld bytes "
              "after the warm-up (bound %d)\n", i, f->memEnd - f->memWarm, MEM_SLACK);
      nFail++;
    }
  }

  /* Cancels of every kind must land: at least one per 10 s of run. */
  {
    struct { const char *zName; long n; } aRate[] = {
      { "cancel_query hits in-process",       SUM(nQHitLocal) },
      { "cancel_query hits cross-process",    SUM(nQHitRemote) },
      { "session cancel hits in-process",     SUM(nSHitLocal) },
      { "session cancel hits cross-process",  SUM(nSHitRemote) },
      { "commits",                            SUM(nCommit) },
    };
    for(i=0; i<(int)(sizeof(aRate)/sizeof(aRate[0])); i++){
      if( aRate[i].n < seconds/10 + 1 ){
        fprintf(stderr, "soak: FAIL: %s: %ld in %.0f s, want at least one per 10 s\n",
                aRate[i].zName, aRate[i].n, el);
        nFail++;
      }
    }
  }

  nFail += (int)SUM(nFail);
  printf("soak: %d sessions (%d processes x %d worker threads, + %d cancellers), "
         "%.1f s, %ld connections opened\n"
         "soak: %ld target + %ld safe queries, %ld inserts, %ld commits "
         "(%.0f/s), %ld busy\n"
         "soak: cancels sent: cancel_query %ld in-process + %ld cross-process; "
         "pg_cancel_backend %ld + %ld; terminations %ld + %ld (%.0f/s in all)\n"
         "soak: interrupted as intended: %ld + %ld queries, %ld + %ld b statements; "
         "%ld statement timeouts; %ld sessions ended dead, %ld idle overstays, "
         "%ld idle-timeout terminations found in the log\n"
         "soak: misfires %ld, lost rows %ld (table %ld, committed %ld), "
         "max RSS growth after warm-up %ld KB (%ld%%), %d failures\n",
         nProc*nThread, nProc, nThread, nProc*3, el, SUM(nOpen),
         SUM(nQuery), SUM(nSafe), SUM(nWrite), SUM(nCommit), SUM(nCommit)/el, SUM(nBusy),
         SUM(nCqLocal), SUM(nCqRemote), SUM(nPcbLocal), SUM(nPcbRemote),
         SUM(nTermLocal), SUM(nTermRemote),
         (SUM(nCqLocal)+SUM(nCqRemote)+SUM(nPcbLocal)+SUM(nPcbRemote)
          +SUM(nTermLocal)+SUM(nTermRemote))/el,
         SUM(nQHitLocal), SUM(nQHitRemote), SUM(nSHitLocal), SUM(nSHitRemote),
         SUM(nTimedOut), SUM(nDead), SUM(nOverstay), SUM(nIdleKill),
         SUM(nMisfire), nRowsWant - nRowsHave, nRowsHave, nRowsWant,
         maxGrow, maxGrowPct, nFail);
  if( nFail==0 && argc<=4 ){
    /* passed: the files go; a failure leaves them to look at */
    const char *azSuffix[] = { "", "-wal", "-shm", "-cancel" };
    char z[600];
    for(i=0; i<4; i++){ snprintf(z, sizeof(z), "%s%s", zDb, azSuffix[i]); remove(z); }
    rmdir(zDir);
  }
  return nFail ? 1 : 0;
}
