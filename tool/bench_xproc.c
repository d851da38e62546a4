/*
** bench_xproc.c: what the cross-process registry costs and how fast a
** cancel crosses processes, measured side by side in one run.
**
**   tool/bench_xproc [trials]
**
** 1. Cancel latency of an endless recursive CTE: from the moment the
**    canceller calls to the moment the target's sqlite3_step() returns
**    (CLOCK_MONOTONIC is one clock for every process of the machine):
**    raw sqlite3_interrupt() from another thread (the floor),
**    pg_cancel_backend() in-process, pg_cancel_backend() from another
**    process.
** 2. The cost to running work: 200,000 executions of a prepared
**    `SELECT ?1+1` on a database file, without the extension, with it
**    and sharing off, with it and sharing on (median of 5 alternating
**    rounds, as ratios to plain SQLite).
*/
#include <sqlite3.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "cancel.h"

#define ENDLESS "WITH RECURSIVE c(x) AS (VALUES(1) UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c"
static const char *zDb = "bench/xproc.db";

static double nowUs(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec*1e6 + ts.tv_nsec/1e3;
}

static int cmpd(const void *a, const void *b){
  double x = *(const double*)a, y = *(const double*)b;
  return x<y ? -1 : x>y;
}

static long queryLong(sqlite3 *db, const char *zSql){
  sqlite3_stmt *p = 0;
  long v = -1;
  if( sqlite3_prepare_v2(db, zSql, -1, &p, 0)==SQLITE_OK && sqlite3_step(p)==SQLITE_ROW ){
    v = (long)sqlite3_column_int64(p, 0);
  }
  sqlite3_finalize(p);
  return v;
}

/* The target: runs ENDLESS until interrupted, n times; after each, writes
** the time its step returned to fd. */
static void target(sqlite3 *db, int n, int fd){
  int i;
  for(i=0; i<n; i++){
    sqlite3_stmt *p = 0;
    double t;
    sqlite3_prepare_v2(db, ENDLESS, -1, &p, 0);
    sqlite3_step(p);
    t = nowUs();
    sqlite3_finalize(p);
    if( write(fd, &t, sizeof(t))!=sizeof(t) ) break;
  }
}

typedef struct Tgt { sqlite3 *db; int n; int fd; } Tgt;
static void *targetThread(void *p){
  Tgt *t = (Tgt*)p;
  target(t->db, t->n, t->fd);
  return 0;
}

/* Wait until backend pid runs a statement (as a user would see it). */
static void waitActive(sqlite3 *db, long pid){
  char z[120];
  snprintf(z, sizeof(z), "SELECT count(*) FROM sessions WHERE pid=%ld AND status='active'", pid);
  while( queryLong(db, z)!=1 ){}
}

/* eKind 0: raw interrupt, 1: pg_cancel_backend in-process, 2: across processes */
static void latency(int eKind, int n, double *aOut){
  sqlite3 *me = 0, *tdb = 0;
  int fds[2], i;
  long pid = 0;
  pthread_t th;
  pid_t child = 0;
  Tgt t;
  if( pipe(fds)!=0 ) exit(1);
  sqlite3_open(zDb, &me);
  if( eKind<2 ){
    sqlite3_open(zDb, &tdb);
    pid = queryLong(tdb, "SELECT pg_backend_pid()");
    t.db = tdb; t.n = n; t.fd = fds[1];
    pthread_create(&th, 0, targetThread, &t);
  }else{
    child = fork();
    if( child==0 ){
      sqlite3 *cdb = 0;
      sqlite3_open(zDb, &cdb);
      if( write(fds[1], &(double){ (double)queryLong(cdb, "SELECT pg_backend_pid()") }, sizeof(double)) ){}
      target(cdb, n, fds[1]);
      _exit(0);
    }
    {
      double d;
      if( read(fds[0], &d, sizeof(d))!=sizeof(d) ) exit(1);
      pid = (long)d;
    }
  }
  for(i=0; i<n; i++){
    double t0, t1;
    char z[80];
    waitActive(me, pid);
    t0 = nowUs();
    if( eKind==0 ){
      sqlite3_interrupt(tdb);
    }else{
      snprintf(z, sizeof(z), "SELECT pg_cancel_backend(%ld)", pid);
      queryLong(me, z);
    }
    if( read(fds[0], &t1, sizeof(t1))!=sizeof(t1) ) exit(1);
    aOut[i] = t1 - t0;
  }
  if( eKind<2 ){ pthread_join(th, 0); sqlite3_close(tdb); }
  else waitpid(child, 0, 0);
  sqlite3_close(me);
  close(fds[0]); close(fds[1]);
  qsort(aOut, n, sizeof(double), cmpd);
}

/* 200,000 executions of SELECT ?1+1; seconds. */
static double tinyLoop(int eMode){
  sqlite3 *db = 0;
  sqlite3_stmt *p = 0;
  double t0;
  int i;
  if( eMode==0 ) sqlite3_reset_auto_extension();
  else{
    sqlite3_auto_extension((void(*)(void))sqlite3_cancel_init);
    cancel_set_shared(eMode==2);
  }
  sqlite3_open(zDb, &db);
  sqlite3_prepare_v2(db, "SELECT ?1+1", -1, &p, 0);
  t0 = nowUs();
  for(i=0; i<200000; i++){
    sqlite3_bind_int(p, 1, i);
    sqlite3_step(p);
    sqlite3_reset(p);
  }
  t0 = nowUs() - t0;
  sqlite3_finalize(p);
  sqlite3_close(db);
  cancel_set_shared(1);
  return t0/1e6;
}

int main(int argc, char **argv){
  int n = argc>1 ? atoi(argv[1]) : 100, k, r;
  double *a = malloc(sizeof(double)*n);
  const char *azName[] = { "raw sqlite3_interrupt (floor)", "pg_cancel_backend, same process",
                           "pg_cancel_backend, other process" };
  double aT[3][5];
  remove(zDb);
  sqlite3_auto_extension((void(*)(void))sqlite3_cancel_init);
  printf("cancel latency of an endless CTE, %d trials each (microseconds)\n", n);
  printf("  %-36s %8s %8s %8s\n", "", "p50", "p99", "max");
  for(k=0; k<3; k++){
    latency(k, n, a);
    printf("  %-36s %8.1f %8.1f %8.1f\n", azName[k], a[n/2], a[(n*99)/100 < n ? (n*99)/100 : n-1], a[n-1]);
  }
  for(r=0; r<5; r++){
    for(k=0; k<3; k++) aT[k][r] = tinyLoop(k);
  }
  for(k=0; k<3; k++) qsort(aT[k], 5, sizeof(double), cmpd);
  printf("\n200,000 x SELECT ?1+1 on a file (median of 5 alternating rounds)\n");
  printf("  %-36s %8.3f s  1.00\n", "plain SQLite", aT[0][2]);
  printf("  %-36s %8.3f s  %.2f\n", "extension, sharing off", aT[1][2], aT[1][2]/aT[0][2]);
  printf("  %-36s %8.3f s  %.2f\n", "extension, sharing on", aT[2][2], aT[2][2]/aT[0][2]);
  free(a);
  return 0;
}
