/*
** bench_timeouts.c: how accurate the timeouts are.
**
**   tool/bench_timeouts accuracy [trials]   overshoot of statement timeouts
**   tool/bench_timeouts xact [trials]       overshoot of the transaction
**                                           and idle-blocker timeouts
**
** What timeouts cost running statements is in bench_cost.c. Used by
** `make bench` (tool/bench.sh).
*/
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>
#include "cancel.h"
#include "benchutil.h"

static const char *zDbFile = "bench/tmp-timeouts.db";

static sqlite3 *openDb(int bExt){
  sqlite3 *db;
  if( bExt ) sqlite3_auto_extension((void(*)(void))sqlite3_cancel_init);
  else sqlite3_reset_auto_extension();
  if( sqlite3_open(zDbFile, &db)!=SQLITE_OK ){
    fprintf(stderr, "bench: cannot open %s\n", zDbFile);
    exit(1);
  }
  return db;
}

/* ------------------------------------------------------------ accuracy */

static void accuracy(int nTrial){
  const int T = 20;   /* ms */
  double *aCpu = malloc(sizeof(double)*nTrial);
  double *aLock = malloc(sizeof(double)*nTrial);
  sqlite3 *db = openDb(1), *holder = openDb(1);
  int i;
  sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS t(x)", 0, 0, 0);
  cancel_set_statement_timeout(db, T);
  for(i=0; i<nTrial; i++){
    sqlite3_stmt *p;
    double t0;
    int rc;
    sqlite3_prepare_v2(db, "WITH RECURSIVE c(x) AS (VALUES(1) UNION ALL "
        "SELECT x+1 FROM c) SELECT count(*) FROM c", -1, &p, 0);
    t0 = benchNowUs();
    rc = sqlite3_step(p);
    aCpu[i] = (benchNowUs()-t0)/1000.0 - T;
    sqlite3_finalize(p);
    if( rc!=SQLITE_INTERRUPT ){ fprintf(stderr, "bench: no timeout\n"); exit(1); }
  }
  cancel_set_busy_timeout(db, 60000);
  for(i=0; i<nTrial; i++){
    double t0;
    int rc;
    sqlite3_exec(holder, "BEGIN IMMEDIATE", 0, 0, 0);
    t0 = benchNowUs();
    rc = sqlite3_exec(db, "INSERT INTO t VALUES(1)", 0, 0, 0);
    aLock[i] = (benchNowUs()-t0)/1000.0 - T;
    sqlite3_exec(holder, "ROLLBACK", 0, 0, 0);
    if( rc!=SQLITE_BUSY ){ fprintf(stderr, "bench: lock wait did not time out\n"); exit(1); }
  }
  benchSort(aCpu, nTrial);
  benchSort(aLock, nTrial);
  printf("accuracy,cpu,%d,%d,%.3f,%.3f,%.3f\n", nTrial, T,
         benchPct(aCpu, nTrial, 0.5), benchPct(aCpu, nTrial, 0.99), aCpu[nTrial-1]);
  printf("accuracy,lock,%d,%d,%.3f,%.3f,%.3f\n", nTrial, T,
         benchPct(aLock, nTrial, 0.5), benchPct(aLock, nTrial, 0.99), aLock[nTrial-1]);
  sqlite3_close(holder);
  sqlite3_close(db);
  free(aCpu);
  free(aLock);
}

/* ---------------------------------------------- transaction limits */

/* A writer that waits (busy timeout 60 s) for the lock of a session that
** a limit will end: it notes when it got through. */
typedef struct Waiter Waiter;
struct Waiter {
  sqlite3 *db;
  double doneUs;
  int rc;
};
static void *waiterMain(void *pArg){
  Waiter *w = (Waiter*)pArg;
  w->rc = sqlite3_exec(w->db, "INSERT INTO t VALUES(2)", 0, 0, 0);
  w->doneUs = benchNowUs();
  return 0;
}

/* One trial: a session opens a write transaction and sits idle in it
** with limit T of kind bBlocker (0: transaction timeout, 1: idle-blocker
** timeout); a writer waits for it from the start (the idle-blocker limit
** needs one). Returns how long after the limit the transaction was
** rolled back, ms: this thread watches sqlite3_get_autocommit() turn
** true, an unlocked read of one field, so the writer's own retry delays
** (its busy handler's sleeps) do not count. */
static double xactTrial(int bBlocker, int T){
  sqlite3 *x = openDb(1);
  Waiter w;
  pthread_t t;
  double t0, tEnd;
  memset(&w, 0, sizeof(w));
  w.db = openDb(1);
  cancel_set_busy_timeout(w.db, 60000);
  if( bBlocker ) cancel_set_idle_blocker_timeout(x, T);
  else cancel_set_transaction_timeout(x, T);
  t0 = benchNowUs();
  sqlite3_exec(x, "BEGIN; INSERT INTO t VALUES(1)", 0, 0, 0);
  pthread_create(&t, 0, waiterMain, &w);
  /* (a 50 us sleep between looks: a spin would take a core from the
  ** threads it measures on a 2-core machine) */
  while( !sqlite3_get_autocommit(x) ){
    struct timespec ts = { 0, 50000 };
    nanosleep(&ts, 0);
  }
  tEnd = benchNowUs();
  pthread_join(t, 0);
  if( w.rc!=SQLITE_OK ){ fprintf(stderr, "bench: the writer failed\n"); exit(1); }
  sqlite3_close(x);
  sqlite3_close(w.db);
  return (tEnd - t0)/1000.0 - T;
}

static void xactAccuracy(int nTrial){
  const int T = 20;   /* ms */
  double *a = malloc(sizeof(double)*nTrial);
  int i, k;
  sqlite3 *db = openDb(0);
  sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS t(x)", 0, 0, 0);
  sqlite3_close(db);
  for(k=0; k<2; k++){
    for(i=0; i<nTrial; i++) a[i] = xactTrial(k, T);
    benchSort(a, nTrial);
    printf("accuracy,%s,%d,%d,%.3f,%.3f,%.3f\n", k ? "idle-blocker" : "transaction",
           nTrial, T, benchPct(a, nTrial, 0.5), benchPct(a, nTrial, 0.99), a[nTrial-1]);
  }
  free(a);
}

int main(int argc, char **argv){
  if( argc>=2 && strcmp(argv[1], "accuracy")==0 ){
    accuracy(argc>2 ? atoi(argv[2]) : 200);
  }else if( argc>=2 && strcmp(argv[1], "xact")==0 ){
    xactAccuracy(argc>2 ? atoi(argv[2]) : 100);
  }else{
    fprintf(stderr, "usage: %s accuracy|xact [trials]\n", argv[0]);
    return 1;
  }
  return 0;
}
