/*
** bench_scale.c: the extension with many sessions.
**
**   tool/bench_scale sessions N     N idle sessions (in-memory databases,
**                                   one process) and one admin session:
**                                   the time to read all of `sessions`,
**                                   to cancel all by a SELECT
**                                   (pg_cancel_backend per row), and to
**                                   terminate all (cancel_sessions)
**   tool/bench_scale open N ROUNDS  the cost of sqlite3_open + close, with
**                                   and without the extension, in memory
**                                   and on a file (which also takes and
**                                   frees a registry slot)
**
** Prints CSV lines:
**   scale,N,scan_ms,cancel_all_ms,terminate_all_ms
**   open,WHERE,MODE,N,us_per_open_close
** Times are medians of several runs (scan, cancel) or of interleaved
** rounds (open); terminating can be done only once.
*/
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cancel.h"
#include "benchutil.h"

static sqlite3 *openDb(const char *zName){
  sqlite3 *db;
  if( sqlite3_open(zName, &db)!=SQLITE_OK ){
    fprintf(stderr, "bench_scale: cannot open %s: %s\n", zName, sqlite3_errmsg(db));
    exit(1);
  }
  return db;
}

/* Run zSql to its end; the time in ms; *pnRow the rows it returned. */
static double timeSql(sqlite3 *db, const char *zSql, int *pnRow){
  sqlite3_stmt *p;
  double t0 = benchNowUs();
  int n = 0;
  if( sqlite3_prepare_v2(db, zSql, -1, &p, 0)!=SQLITE_OK ){
    fprintf(stderr, "bench_scale: %s: %s\n", zSql, sqlite3_errmsg(db));
    exit(1);
  }
  while( sqlite3_step(p)==SQLITE_ROW ) n++;
  if( sqlite3_finalize(p)!=SQLITE_OK ){
    fprintf(stderr, "bench_scale: %s: %s\n", zSql, sqlite3_errmsg(db));
    exit(1);
  }
  if( pnRow ) *pnRow = n;
  return (benchNowUs()-t0)/1000.0;
}

static void sessions(int nSession){
  sqlite3 **aDb = malloc(sizeof(sqlite3*)*nSession);
  sqlite3 *admin;
  double aScan[7], aCancel[7], tTerm;
  int i, n;
  sqlite3_auto_extension((void(*)(void))sqlite3_cancel_init);
  admin = openDb(":memory:");
  for(i=0; i<nSession; i++) aDb[i] = openDb(":memory:");
  for(i=0; i<7; i++){
    aScan[i] = timeSql(admin, "SELECT * FROM sessions", &n);
    if( n!=nSession+1 ){
      fprintf(stderr, "bench_scale: sessions has %d rows, not %d\n", n, nSession+1);
      exit(1);
    }
    aCancel[i] = timeSql(admin, "SELECT pg_cancel_backend(pid) FROM sessions "
                                "WHERE pid <> pg_backend_pid()", &n);
  }
  {
    sqlite3_stmt *p;
    double t0 = benchNowUs();
    sqlite3_prepare_v2(admin, "SELECT cancel_sessions("
        "'SELECT session_id FROM sessions WHERE pid <> pg_backend_pid()')", -1, &p, 0);
    if( sqlite3_step(p)!=SQLITE_ROW || sqlite3_column_int(p, 0)!=nSession ){
      fprintf(stderr, "bench_scale: cancel_sessions did not terminate %d: %s\n",
              nSession, sqlite3_errmsg(admin));
      exit(1);
    }
    sqlite3_finalize(p);
    tTerm = (benchNowUs()-t0)/1000.0;
  }
  for(i=0; i<nSession; i++) sqlite3_close(aDb[i]);
  sqlite3_close(admin);
  benchSort(aScan, 7);
  benchSort(aCancel, 7);
  printf("scale,%d,%.2f,%.2f,%.2f\n", nSession, aScan[3], aCancel[3], tTerm);
  free(aDb);
}

/* n opens and closes of zName; us per pair. */
static double openClose(const char *zName, int bExt, int n){
  double t0;
  int i;
  if( bExt ) sqlite3_auto_extension((void(*)(void))sqlite3_cancel_init);
  else sqlite3_reset_auto_extension();
  t0 = benchNowUs();
  for(i=0; i<n; i++) sqlite3_close(openDb(zName));
  return (benchNowUs()-t0)/n;
}

static void opens(int n, int nRound){
  static const char *azWhere[] = { ":memory:", "bench/tmp-scale.db" };
  double aT[2][2][32];
  int r, w, e;
  if( nRound>32 ) nRound = 32;
  sqlite3_close(openDb(azWhere[1]));        /* create the file first */
  for(r=0; r<nRound; r++){
    for(w=0; w<2; w++){
      for(e=0; e<2; e++) aT[w][e][r] = openClose(azWhere[w], e, n);
    }
  }
  for(w=0; w<2; w++){
    for(e=0; e<2; e++){
      benchSort(aT[w][e], nRound);
      printf("open,%s,%s,%d,%.2f\n", w ? "file" : "memory", e ? "loaded" : "plain",
             n, aT[w][e][nRound/2]);
    }
  }
}

int main(int argc, char **argv){
  if( argc==3 && strcmp(argv[1], "sessions")==0 && atoi(argv[2])>0 ){
    sessions(atoi(argv[2]));
  }else if( argc==4 && strcmp(argv[1], "open")==0 && atoi(argv[2])>0 && atoi(argv[3])>0 ){
    opens(atoi(argv[2]), atoi(argv[3]));
  }else{
    fprintf(stderr, "usage: %s sessions N | open N ROUNDS\n", argv[0]);
    return 1;
  }
  return 0;
}
