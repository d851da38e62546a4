/*
** bench_timeouts.c: how accurate the timeouts are, and what they cost.
**
**   tool/bench_timeouts accuracy [trials]   overshoot of statement timeouts
**   tool/bench_timeouts loop MODE [n]       one timed loop (for callgrind)
**   tool/bench_timeouts cost [n] [rounds]   every loop mode, interleaved
**
** MODE is one of: plain (no extension), loaded, stmt_timeout, select
** loops of `SELECT ?1+1`; and insert_plain, insert_loaded, idle_timeout,
** loops of INSERT inside one transaction. The extension is compiled in
** and enabled with sqlite3_auto_extension(), except in the plain modes.
** Used by `make bench` (tool/bench.sh), which also counts instructions
** of the loop modes with callgrind.
*/
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cancel.h"

static double nowUs(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec*1e6 + (double)ts.tv_nsec/1e3;
}

static int cmpDouble(const void *a, const void *b){
  double x = *(const double*)a, y = *(const double*)b;
  return x<y ? -1 : x>y;
}

static double pct(double *a, int n, double p){
  int i = (int)(p*(n-1) + 0.5);
  return a[i];
}

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
    t0 = nowUs();
    rc = sqlite3_step(p);
    aCpu[i] = (nowUs()-t0)/1000.0 - T;
    sqlite3_finalize(p);
    if( rc!=SQLITE_INTERRUPT ){ fprintf(stderr, "bench: no timeout\n"); exit(1); }
  }
  cancel_set_busy_timeout(db, 60000);
  for(i=0; i<nTrial; i++){
    double t0;
    int rc;
    sqlite3_exec(holder, "BEGIN IMMEDIATE", 0, 0, 0);
    t0 = nowUs();
    rc = sqlite3_exec(db, "INSERT INTO t VALUES(1)", 0, 0, 0);
    aLock[i] = (nowUs()-t0)/1000.0 - T;
    sqlite3_exec(holder, "ROLLBACK", 0, 0, 0);
    if( rc!=SQLITE_BUSY ){ fprintf(stderr, "bench: lock wait did not time out\n"); exit(1); }
  }
  qsort(aCpu, nTrial, sizeof(double), cmpDouble);
  qsort(aLock, nTrial, sizeof(double), cmpDouble);
  printf("accuracy,cpu,%d,%d,%.3f,%.3f,%.3f\n", nTrial, T,
         pct(aCpu, nTrial, 0.5), pct(aCpu, nTrial, 0.99), aCpu[nTrial-1]);
  printf("accuracy,lock,%d,%d,%.3f,%.3f,%.3f\n", nTrial, T,
         pct(aLock, nTrial, 0.5), pct(aLock, nTrial, 0.99), aLock[nTrial-1]);
  sqlite3_close(holder);
  sqlite3_close(db);
  free(aCpu);
  free(aLock);
}

/* ---------------------------------------------------------------- cost */

static const char *azMode[] = {
  "plain", "loaded", "stmt_timeout", "insert_plain", "insert_loaded", "idle_timeout", 0
};

/* Run one loop of n statements in mode zMode; returns microseconds. */
static double loop(const char *zMode, int n){
  int bInsert = strncmp(zMode, "insert", 6)==0 || strcmp(zMode, "idle_timeout")==0;
  int bExt = strcmp(zMode, "plain")!=0 && strcmp(zMode, "insert_plain")!=0;
  sqlite3 *db = openDb(bExt);
  sqlite3_stmt *p;
  double t0, t;
  int i;
  if( strcmp(zMode, "stmt_timeout")==0 ) cancel_set_statement_timeout(db, 60000);
  if( strcmp(zMode, "idle_timeout")==0 ) cancel_set_idle_in_transaction_session_timeout(db, 60000);
  sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS t(x); DELETE FROM t;", 0, 0, 0);
  if( bInsert ) sqlite3_exec(db, "BEGIN", 0, 0, 0);
  sqlite3_prepare_v2(db, bInsert ? "INSERT INTO t VALUES(?1)" : "SELECT ?1+1", -1, &p, 0);
  t0 = nowUs();
  for(i=0; i<n; i++){
    sqlite3_bind_int(p, 1, i);
    while( sqlite3_step(p)==SQLITE_ROW ){}
    sqlite3_reset(p);
  }
  t = nowUs()-t0;
  sqlite3_finalize(p);
  if( bInsert ) sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
  sqlite3_close(db);
  return t;
}

int main(int argc, char **argv){
  const char *zCmd = argc>1 ? argv[1] : "cost";
  if( strcmp(zCmd, "accuracy")==0 ){
    accuracy(argc>2 ? atoi(argv[2]) : 200);
  }else if( strcmp(zCmd, "loop")==0 && argc>2 ){
    int n = argc>3 ? atoi(argv[3]) : 100000;
    printf("loop,%s,%d,%.0f\n", argv[2], n, loop(argv[2], n));
  }else if( strcmp(zCmd, "cost")==0 ){
    int n = argc>2 ? atoi(argv[2]) : 200000;
    int nRound = argc>3 ? atoi(argv[3]) : 7;
    int nMode = 0, i, r;
    double aT[8][32];
    while( azMode[nMode] ) nMode++;
    if( nRound>32 ) nRound = 32;
    /* interleaved, so that the machine's noise hits every mode alike */
    for(r=0; r<nRound; r++){
      for(i=0; i<nMode; i++) aT[i][r] = loop(azMode[i], n);
    }
    for(i=0; i<nMode; i++){
      qsort(aT[i], nRound, sizeof(double), cmpDouble);
      printf("cost,%s,%d,%.1f\n", azMode[i], n, aT[i][nRound/2]*1000.0/n);
    }
  }else{
    fprintf(stderr, "usage: %s accuracy [trials] | loop MODE [n] | cost [n] [rounds]\n", argv[0]);
    return 1;
  }
  return 0;
}
