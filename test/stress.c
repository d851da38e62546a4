/*
** stress.c: threads that open, query, write and close connections while
** other threads cancel them at random, for a bounded time.
**
**   test/stress [seconds] [dbfile]
**
** Built three times by the Makefile (plain, ASan+UBSan, TSan) with the
** extension compiled in and enabled for every connection through
** sqlite3_auto_extension(). It asserts:
**   - no statement is interrupted unless a cancel_query named it or its
**     own statement timeout had passed (query workers learn their own
**     query id from their first row, and time their statements; one
**     stopped before its first row must match a cancel aimed at an
**     execution of its session that it never learned: qidClaimUnknown);
**   - no committed row is lost (every worker counts what COMMIT
**     accepted; the ledger table must hold exactly that);
**   - no session leaks (at the end only the checking connection is
**     listed in `sessions`);
**   - no crash and no sanitizer report, while sessions close under
**     cancels aimed at them and at ids that no longer exist.
** It prints the figures and exits non-zero on any failure.
*/
#include <sqlite3.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cancel.h"

#define N_QWORKER 4     /* run queries; only cancel_query aims at them */
#define N_BWORKER 4     /* write and read; sessions/pids are cancelled */
#define N_QIDS 4096     /* query ids that a cancel_query was aimed at */

static const char *zDb = 0;    /* build/tmp/stress-<pid>.db unless given */
static char zDefaultDb[64];
static atomic_int bStop = 0;
static atomic_int nFail = 0;

/* The query ids a cancel_query was (or is about to be) aimed at, each
** with the session it ran in. */
typedef struct Aim Aim;
struct Aim {
  char zQid[33];
  char zSid[33];
  long long startMs; /* its query_start, ms since 1970 (UTC) */
  int bClaimed;      /* taken by an execution that never learned its id */
};
static pthread_mutex_t qidMu = PTHREAD_MUTEX_INITIALIZER;
static Aim aAim[N_QIDS];
static int nQid = 0;

static void qidAdd(const char *zQid, const char *zSid, long long startMs){
  Aim *p;
  pthread_mutex_lock(&qidMu);
  p = nQid<N_QIDS ? &aAim[nQid++] : &aAim[rand()%N_QIDS];   /* bounded */
  memcpy(p->zQid, zQid, 33);
  memcpy(p->zSid, zSid, 33);
  p->startMs = startMs;
  p->bClaimed = 0;
  pthread_mutex_unlock(&qidMu);
}
static int qidHas(const char *z){
  int i, r = 0;
  pthread_mutex_lock(&qidMu);
  for(i=0; i<nQid && !r; i++) r = strcmp(aAim[i].zQid, z)==0;
  pthread_mutex_unlock(&qidMu);
  return r;
}

/* An execution stopped before its first row never learned its query id
** (the first row tells it). A cancel may still have named it: it is
** listed once it runs, and where SQLite has no progress handler, at its
** start. Such a stop is aimed if a cancel named an execution of the same
** session, listed no earlier than this execution started (startMs), that
** is none of the ones the worker learned (aKnown), and no earlier stop
** took that cancel: it is taken. A cancel aimed at an earlier execution
** (one the worker saw, or one stopped by its own timeout before its
** first row), or at another session's, never excuses it. */
static int qidClaimUnknown(const char *zSid, long long startMs,
                           char aKnown[][33], int nKnown){
  int i, j, r = 0;
  pthread_mutex_lock(&qidMu);
  for(i=0; i<nQid && !r; i++){
    Aim *p = &aAim[i];
    if( p->bClaimed || strcmp(p->zSid, zSid)!=0 || p->startMs<startMs ) continue;
    for(j=0; j<nKnown && strcmp(aKnown[j], p->zQid)!=0; j++){}
    if( j==nKnown ){ p->bClaimed = 1; r = 1; }
  }
  pthread_mutex_unlock(&qidMu);
  return r;
}

/* Figures */
static atomic_long nQueries, nInterruptedOk, nMisfire, nCancelQuery, nEarlyOk;
static atomic_long nCancelSession, nTerminated, nOpen, nCommitted;
static atomic_long nTimedOut, nIdleTimeouts;
static atomic_long aCommitted[N_QWORKER+N_BWORKER];

static void fail(const char *zMsg, const char *zDetail){
  fprintf(stderr, "stress: FAIL: %s %s\n", zMsg, zDetail ? zDetail : "");
  atomic_fetch_add(&nFail, 1);
}

static sqlite3 *openSession(const char *zApp){
  sqlite3 *db = 0;
  char *zSql;
  if( sqlite3_open(zDb, &db)!=SQLITE_OK ){
    fail("open", sqlite3_errmsg(db));
    sqlite3_close(db);
    return 0;
  }
  cancel_set_busy_timeout(db, 5000);
  zSql = sqlite3_mprintf("SELECT set_application_name(%Q)", zApp);
  sqlite3_exec(db, zSql, 0, 0, 0);
  sqlite3_free(zSql);
  atomic_fetch_add(&nOpen, 1);
  return db;
}

/* Exec helper: returns the sqlite3_exec result code. */
static int run(sqlite3 *db, const char *zSql){
  return sqlite3_exec(db, zSql, 0, 0, 0);
}

/* ------------------------------------------------------ query worker */

/* The first row is this execution's own query id; the rest is work. */
static const char *zQuery =
  "SELECT (SELECT query_id FROM sessions WHERE session_id = session_id()) "
  "UNION ALL "
  "SELECT count(*) FROM (WITH RECURSIVE c(x) AS "
  "  (VALUES(1) UNION ALL SELECT x+1 FROM c WHERE x<?1) SELECT x FROM c)";

static void *queryWorker(void *pArg){
  int iWorker = (int)(long)pArg;
  unsigned seed = (unsigned)iWorker*7919u;
  long seq = 0;
  while( !atomic_load(&bStop) ){
    sqlite3 *db = openSession("q");
    char zSid[33] = {0};
    char aKnown[20][33];      /* the query ids this connection learned */
    int nKnown = 0;
    int k;
    if( db==0 ) return 0;
    {
      sqlite3_stmt *pSid = 0;
      sqlite3_prepare_v2(db, "SELECT session_id()", -1, &pSid, 0);
      if( pSid && sqlite3_step(pSid)==SQLITE_ROW ){
        const char *z = (const char*)sqlite3_column_text(pSid, 0);
        if( z && strlen(z)==32 ) memcpy(zSid, z, 33);
      }
      sqlite3_finalize(pSid);
    }
    for(k=0; k<20 && !atomic_load(&bStop); k++){
      sqlite3_stmt *pStmt = 0;
      char zQid[33] = {0};
      int rc;
      /* a third of the queries run with a statement timeout */
      int timeoutMs = rand_r(&seed)%3==0 ? 5 + (int)(rand_r(&seed)%40) : 0;
      struct timespec ts0, ts1, tsWall;
      long long startMs;
      long ms;
      cancel_set_statement_timeout(db, timeoutMs);
      clock_gettime(CLOCK_REALTIME, &tsWall);
      startMs = (long long)tsWall.tv_sec*1000 + tsWall.tv_nsec/1000000;
      clock_gettime(CLOCK_MONOTONIC, &ts0);
      if( sqlite3_prepare_v2(db, zQuery, -1, &pStmt, 0)!=SQLITE_OK ){
        fail("prepare", sqlite3_errmsg(db));
        break;
      }
      sqlite3_bind_int(pStmt, 1, (rand_r(&seed)%2) ? 500 + (int)(rand_r(&seed)%5000)
                                                : 20000 + (int)(rand_r(&seed)%200000));
      rc = sqlite3_step(pStmt);
      if( rc==SQLITE_ROW ){
        const char *z = (const char*)sqlite3_column_text(pStmt, 0);
        if( z && strlen(z)==32 ){
          memcpy(zQid, z, 33);
          memcpy(aKnown[nKnown++], z, 33);
        }
        while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){}
      }
      clock_gettime(CLOCK_MONOTONIC, &ts1);
      ms = (long)(ts1.tv_sec-ts0.tv_sec)*1000 + (ts1.tv_nsec-ts0.tv_nsec)/1000000;
      atomic_fetch_add(&nQueries, 1);
      if( rc==SQLITE_INTERRUPT ){
        if( zQid[0] && qidHas(zQid) ){
          atomic_fetch_add(&nInterruptedOk, 1);
        }else if( timeoutMs>0 && ms>=timeoutMs ){
          atomic_fetch_add(&nTimedOut, 1);     /* its own timeout, on time */
        }else if( zQid[0]==0 && qidClaimUnknown(zSid, startMs, aKnown, nKnown) ){
          atomic_fetch_add(&nInterruptedOk, 1);
          atomic_fetch_add(&nEarlyOk, 1);
        }else{
          atomic_fetch_add(&nMisfire, 1);
          fail("query interrupted but no cancel named it:", zQid);
        }
      }else if( rc!=SQLITE_DONE ){
        fail("query failed:", sqlite3_errmsg(db));
      }
      sqlite3_finalize(pStmt);
      cancel_set_statement_timeout(db, 0);

      /* a write that no cancel may touch */
      {
        char *zIns = sqlite3_mprintf(
            "INSERT INTO ledger(worker, seq) VALUES(%d, %ld)", iWorker, seq);
        rc = run(db, zIns);
        sqlite3_free(zIns);
        if( rc==SQLITE_OK ){
          seq++;
          atomic_fetch_add(&aCommitted[iWorker], 1);
          atomic_fetch_add(&nCommitted, 1);
        }else if( rc==SQLITE_INTERRUPT ){
          atomic_fetch_add(&nMisfire, 1);
          fail("insert interrupted:", sqlite3_errmsg(db));
        }else if( rc!=SQLITE_BUSY ){
          fail("insert failed:", sqlite3_errmsg(db));
        }
      }
    }
    sqlite3_close(db);
  }
  return 0;
}

/* -------------------------------------------------- bystander worker */

/* Writes in explicit transactions and reads; its session may be
** cancelled or terminated at any moment, by pid or session id. */
static void *byWorker(void *pArg){
  int iWorker = (int)(long)pArg;
  unsigned seed = (unsigned)iWorker*104729u;
  long seq = 0;
  while( !atomic_load(&bStop) ){
    sqlite3 *db = openSession("b");
    int k, bDead = 0;
    /* half the sessions have an idle-in-transaction limit, which some of
    ** their transactions overstay */
    int idleMs = rand_r(&seed)%2 ? 3 + (int)(rand_r(&seed)%10) : 0;
    if( db==0 ) return 0;
    cancel_set_idle_in_transaction_session_timeout(db, idleMs);
    for(k=0; k<30 && !bDead && !atomic_load(&bStop); k++){
      char *zTx = sqlite3_mprintf(
          "BEGIN IMMEDIATE;"
          "INSERT INTO ledger(worker, seq) VALUES(%d, %ld);"
          "INSERT INTO ledger(worker, seq) VALUES(%d, %ld);",
          iWorker, seq, iWorker, seq+1);
      int rc = run(db, zTx);
      sqlite3_free(zTx);
      if( rc==SQLITE_OK && idleMs && rand_r(&seed)%4==0 ){
        struct timespec ts = {0, (long)(idleMs + 5)*1000000L};
        nanosleep(&ts, 0);          /* idle in the transaction, too long */
        atomic_fetch_add(&nIdleTimeouts, 1);
      }
      if( rc==SQLITE_OK ) rc = run(db, "COMMIT");
      if( rc==SQLITE_OK ){
        /* a read outside the transaction, long enough to be caught */
        int rc2 = run(db, "SELECT count(*) FROM (WITH RECURSIVE c(x) AS (VALUES(1) "
                          "UNION ALL SELECT x+1 FROM c WHERE x<50000) SELECT x FROM c)");
        if( rc2!=SQLITE_OK && run(db, "SELECT 1")!=SQLITE_OK ) bDead = 1;
      }
      if( rc==SQLITE_OK ){
        seq += 2;
        atomic_fetch_add(&aCommitted[iWorker], 2);
        atomic_fetch_add(&nCommitted, 2);
      }else{
        /* cancelled, terminated or busy: whatever was open is not
        ** committed; roll back if we still may */
        run(db, "ROLLBACK");
        if( run(db, "SELECT 1")!=SQLITE_OK ) bDead = 1;   /* terminated */
      }
    }
    if( bDead ) atomic_fetch_add(&nTerminated, 1);
    sqlite3_close(db);
  }
  return 0;
}

/* ---------------------------------------------------------- cancellers */

/* Aims cancel_query at query workers' running queries; records the id
** before the call, so a worker interrupted by it finds it in the set. */
static void *queryCanceller(void *pArg){
  sqlite3 *db = openSession("cq");
  unsigned seed = 12345;
  (void)pArg;
  if( db==0 ) return 0;
  while( !atomic_load(&bStop) ){
    sqlite3_stmt *pStmt = 0;
    char zQid[33] = {0};
    char zSid[33] = {0};
    long long startMs = 0;
    sqlite3_prepare_v2(db,
        "SELECT query_id, session_id, strftime('%s', query_start)*1000"
        " + CAST(substr(query_start, 21, 3) AS INTEGER)"
        " FROM sessions WHERE application_name='q' "
        "AND active_query LIKE 'SELECT (SELECT query_id%' "
        "ORDER BY random() LIMIT 1", -1, &pStmt, 0);
    if( pStmt && sqlite3_step(pStmt)==SQLITE_ROW ){
      const char *z = (const char*)sqlite3_column_text(pStmt, 0);
      const char *zS = (const char*)sqlite3_column_text(pStmt, 1);
      if( z && zS ){ memcpy(zQid, z, 33); memcpy(zSid, zS, 33); }
      startMs = sqlite3_column_int64(pStmt, 2);
    }
    sqlite3_finalize(pStmt);
    if( zQid[0] ){
      char *zSql;
      qidAdd(zQid, zSid, startMs);
      /* Half of the time, wait a little: the query may have finished and
      ** the worker moved on to its next statement, which must not be hit. */
      if( rand_r(&seed)%2 ){
        struct timespec ts = {0, (long)(rand_r(&seed)%3000)*1000L};
        nanosleep(&ts, 0);
      }
      zSql = sqlite3_mprintf("SELECT cancel_query(%Q, 1)", zQid);
      if( run(db, zSql)!=SQLITE_OK ) fail("cancel_query:", sqlite3_errmsg(db));
      sqlite3_free(zSql);
      atomic_fetch_add(&nCancelQuery, 1);
    }
  }
  sqlite3_close(db);
  return 0;
}

/* Cancels and terminates bystander sessions by every means, including
** ids that were live a moment ago and are now closing or closed. */
static void *sessionKiller(void *pArg){
  sqlite3 *db = openSession("killer");
  unsigned seed = 999;
  char zOldSid[33] = {0};
  long oldPid = 0;
  (void)pArg;
  if( db==0 ) return 0;
  while( !atomic_load(&bStop) ){
    sqlite3_stmt *pStmt = 0;
    char zSid[33] = {0};
    long pid = 0;
    char *zSql = 0;
    sqlite3_prepare_v2(db,
        "SELECT session_id, pid FROM sessions WHERE application_name='b' "
        "ORDER BY random() LIMIT 1", -1, &pStmt, 0);
    if( pStmt && sqlite3_step(pStmt)==SQLITE_ROW ){
      const char *z = (const char*)sqlite3_column_text(pStmt, 0);
      if( z ) memcpy(zSid, z, 33);
      pid = (long)sqlite3_column_int64(pStmt, 1);
    }
    sqlite3_finalize(pStmt);
    if( zSid[0]==0 ) continue;
    switch( rand_r(&seed)%7 ){
      case 0: zSql = sqlite3_mprintf("SELECT pg_cancel_backend(%ld)", pid); break;
      case 1: zSql = sqlite3_mprintf("SELECT pg_terminate_backend(%ld)", pid); break;
      case 2: zSql = sqlite3_mprintf("SELECT cancel_session(%Q, 1)", zSid); break;
      case 3: zSql = sqlite3_mprintf("DELETE FROM sessions WHERE pid=%ld", pid); break;
      case 4: zSql = sqlite3_mprintf("SELECT pg_terminate_backend(%ld), "
                                     "pg_cancel_backend(%ld)", oldPid, oldPid); break;
      case 5: zSql = zOldSid[0] ? sqlite3_mprintf("SELECT cancel_session(%Q, 1)", zOldSid)
                                : sqlite3_mprintf("SELECT 1"); break;
      default:
        zSql = sqlite3_mprintf("SELECT pg_cancel_backend(%ld)", pid);
        break;
    }
    if( run(db, zSql)!=SQLITE_OK ) fail("killer:", sqlite3_errmsg(db));
    sqlite3_free(zSql);
    atomic_fetch_add(&nCancelSession, 1);
    memcpy(zOldSid, zSid, 33);
    oldPid = pid;
  }
  sqlite3_close(db);
  return 0;
}

/* -------------------------------------------------------------- main */

static long queryLong(sqlite3 *db, const char *zSql){
  sqlite3_stmt *pStmt = 0;
  long v = -1;
  if( sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0)==SQLITE_OK
   && sqlite3_step(pStmt)==SQLITE_ROW ){
    v = (long)sqlite3_column_int64(pStmt, 0);
  }
  sqlite3_finalize(pStmt);
  return v;
}

int main(int argc, char **argv){
  int seconds = argc>1 ? atoi(argv[1]) : 5;
  pthread_t aThread[N_QWORKER+N_BWORKER+2];
  int nThread = 0, i;
  sqlite3 *db;
  struct timespec t0, t1;
  double elapsed;
  long nLeaked;

  if( argc>2 ){
    zDb = argv[2];
  }else{
    snprintf(zDefaultDb, sizeof(zDefaultDb), "build/tmp/stress-%d.db", (int)getpid());
    zDb = zDefaultDb;
  }
  remove(zDb);
  {
    char z[512];
    snprintf(z, sizeof(z), "%s-wal", zDb); remove(z);
    snprintf(z, sizeof(z), "%s-shm", zDb); remove(z);
  }
  sqlite3_auto_extension((void(*)(void))sqlite3_cancel_init);
  db = openSession("main");
  if( db==0 ) return 1;
  run(db, "PRAGMA journal_mode=WAL; CREATE TABLE ledger(worker INT, seq INT)");

  clock_gettime(CLOCK_MONOTONIC, &t0);
  for(i=0; i<N_QWORKER; i++){
    pthread_create(&aThread[nThread++], 0, queryWorker, (void*)(long)i);
  }
  for(i=0; i<N_BWORKER; i++){
    pthread_create(&aThread[nThread++], 0, byWorker, (void*)(long)(N_QWORKER+i));
  }
  pthread_create(&aThread[nThread++], 0, queryCanceller, 0);
  pthread_create(&aThread[nThread++], 0, sessionKiller, 0);
  {
    struct timespec ts = {seconds, 0};
    nanosleep(&ts, 0);    /* the run's length, not a synchronisation */
  }
  atomic_store(&bStop, 1);
  for(i=0; i<nThread; i++) pthread_join(aThread[i], 0);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  elapsed = (double)(t1.tv_sec-t0.tv_sec) + (double)(t1.tv_nsec-t0.tv_nsec)/1e9;

  /* No committed row lost: the ledger holds exactly what COMMIT accepted. */
  for(i=0; i<N_QWORKER+N_BWORKER; i++){
    char *zSql = sqlite3_mprintf("SELECT count(*) FROM ledger WHERE worker=%d", i);
    long n = queryLong(db, zSql);
    sqlite3_free(zSql);
    if( n!=atomic_load(&aCommitted[i]) ){
      char z[100];
      snprintf(z, sizeof(z), "worker %d: ledger %ld, committed %ld", i, n,
               atomic_load(&aCommitted[i]));
      fail("lost or phantom rows:", z);
    }
  }
  if( queryLong(db, "SELECT count(*) FROM (SELECT 1 FROM ledger GROUP BY worker, seq HAVING count(*)>1)")!=0 ){
    fail("duplicate ledger rows", 0);
  }
  {
    sqlite3_stmt *pStmt = 0;
    sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &pStmt, 0);
    if( !pStmt || sqlite3_step(pStmt)!=SQLITE_ROW
     || strcmp((const char*)sqlite3_column_text(pStmt, 0), "ok")!=0 ){
      fail("integrity_check failed", 0);
    }
    sqlite3_finalize(pStmt);
  }
  /* No session leaked: every worker closed its connections. */
  nLeaked = queryLong(db, "SELECT count(*) FROM sessions") - 1;
  if( nLeaked!=0 ){
    char z[40];
    snprintf(z, sizeof(z), "%ld", nLeaked);
    fail("sessions leaked:", z);
  }
  sqlite3_close(db);

  printf("stress: %.1f s, %ld connections opened, %ld queries, "
         "%ld cancel_query (%.0f/s), %ld interrupted as aimed "
         "(%ld before their first row), "
         "%ld session/pid cancels (%.0f/s), %ld sessions terminated, "
         "%ld statement timeouts, %ld idle-in-transaction overstays, "
         "%ld rows committed, %ld misfires, %d failures\n",
         elapsed, atomic_load(&nOpen), atomic_load(&nQueries),
         atomic_load(&nCancelQuery), atomic_load(&nCancelQuery)/elapsed,
         atomic_load(&nInterruptedOk), atomic_load(&nEarlyOk),
         atomic_load(&nCancelSession),
         atomic_load(&nCancelSession)/elapsed, atomic_load(&nTerminated),
         atomic_load(&nTimedOut), atomic_load(&nIdleTimeouts),
         atomic_load(&nCommitted), atomic_load(&nMisfire), atomic_load(&nFail));
  return atomic_load(&nFail) ? 1 : 0;
}
