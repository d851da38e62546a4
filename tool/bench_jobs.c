/*
** bench_jobs.c: what the built-in jobs cost against doing the same work
** directly, and how long a cancel takes until the job reads `canceled`
** with its cleanup done.
**
**   tool/bench_jobs [rows] [rounds] [trials]
**
** Prints CSV lines (throughput,KIND,direct_ms,job_ms,ratio and
** cancel,KIND,trials,p50_ms,p99_ms,max_ms) for tool/bench.sh. Rounds of
** the direct and the job variant alternate, and the median is kept, so
** the machine's noise hits both alike.
*/
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cancel.h"

static const char *zDir = "bench";
static char zSrc[256], zOut[256], zCsv[256];

static double nowMs(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec*1e3 + (double)ts.tv_nsec/1e6;
}

static int cmpD(const void *a, const void *b){
  double x = *(const double*)a, y = *(const double*)b;
  return x<y ? -1 : x>y;
}

static void rmdb(const char *z){
  char b[300];
  unlink(z);
  snprintf(b, sizeof(b), "%s-journal", z); unlink(b);
  snprintf(b, sizeof(b), "%s-wal", z); unlink(b);
}

static sqlite3 *openDb(const char *z){
  sqlite3 *db = 0;
  sqlite3_open(z, &db);
  cancel_set_busy_timeout(db, 60000);
  return db;
}

static char *text1(sqlite3 *db, const char *zSql){
  sqlite3_stmt *p = 0;
  char *z = 0;
  if( sqlite3_prepare_v2(db, zSql, -1, &p, 0)==SQLITE_OK && sqlite3_step(p)==SQLITE_ROW ){
    z = sqlite3_mprintf("%s", sqlite3_column_text(p, 0));
  }else{
    fprintf(stderr, "bench_jobs: %s: %s\n", zSql, sqlite3_errmsg(db));
  }
  sqlite3_finalize(p);
  return z;
}

/* Run job SQL (returns a job id), wait for it; returns ms. */
static double runJob(sqlite3 *db, const char *zStart){
  double t0 = nowMs();
  char *zId = text1(db, zStart);
  char *zSql = sqlite3_mprintf("SELECT job_wait(%s)", zId);
  char *zSt = text1(db, zSql);
  if( zSt==0 || strcmp(zSt, "succeeded")!=0 ){
    fprintf(stderr, "bench_jobs: %s ended %s\n", zStart, zSt ? zSt : "?");
    exit(1);
  }
  sqlite3_free(zId); sqlite3_free(zSql); sqlite3_free(zSt);
  return nowMs()-t0;
}

static double directBackup(void){
  sqlite3 *src = openDb(zSrc), *dst;
  sqlite3_backup *b;
  double t0 = nowMs();
  rmdb(zOut);
  sqlite3_open(zOut, &dst);
  b = sqlite3_backup_init(dst, "main", src, "main");
  while( sqlite3_backup_step(b, 128)==SQLITE_OK ){}
  sqlite3_backup_finish(b);
  sqlite3_close(dst);
  sqlite3_close(src);
  return nowMs()-t0;
}

static double directVacuum(void){
  sqlite3 *db = openDb(zSrc);
  char *zSql;
  double t0 = nowMs();
  rmdb(zOut);
  zSql = sqlite3_mprintf("VACUUM INTO %Q", zOut);
  sqlite3_exec(db, zSql, 0, 0, 0);
  sqlite3_free(zSql);
  sqlite3_close(db);
  return nowMs()-t0;
}

/* The same rows the CSV holds, inserted by a plain prepared loop. */
static double directImport(int nRow){
  sqlite3 *db = openDb(zSrc);
  sqlite3_stmt *p;
  int i;
  double t0 = nowMs();
  sqlite3_exec(db, "DELETE FROM people; BEGIN", 0, 0, 0);
  sqlite3_prepare_v2(db, "INSERT INTO people(id, name, note) VALUES(?,?,?)", -1, &p, 0);
  for(i=0; i<nRow; i++){
    char a[32], b[32], c[48];
    snprintf(a, sizeof(a), "%d", i);
    snprintf(b, sizeof(b), "name %d", i);
    snprintf(c, sizeof(c), "a note, with a comma, %d", i);
    sqlite3_bind_text(p, 1, a, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(p, 2, b, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(p, 3, c, -1, SQLITE_TRANSIENT);
    sqlite3_step(p);
    sqlite3_reset(p);
  }
  sqlite3_finalize(p);
  sqlite3_exec(db, "COMMIT", 0, 0, 0);
  sqlite3_close(db);
  return nowMs()-t0;
}

static void throughput(const char *zKind, double (*xDirect)(int), int nArg,
                       const char *zJobSql, int nRound){
  double aD[16], aJ[16];
  int r;
  sqlite3 *db = openDb(zSrc);
  for(r=0; r<nRound; r++){
    aD[r] = xDirect(nArg);
    rmdb(zOut);
    if( strstr(zJobSql, "job_import") ) sqlite3_exec(db, "DELETE FROM people", 0, 0, 0);
    aJ[r] = runJob(db, zJobSql);
  }
  qsort(aD, nRound, sizeof(double), cmpD);
  qsort(aJ, nRound, sizeof(double), cmpD);
  printf("throughput,%s,%.1f,%.1f,%.2f\n", zKind, aD[nRound/2], aJ[nRound/2],
         aJ[nRound/2]/aD[nRound/2]);
  sqlite3_close(db);
}

static double dBackup(int n){ (void)n; return directBackup(); }
static double dVacuum(int n){ (void)n; return directVacuum(); }

/* Start the job, let it get going, cancel, and time until job_wait says
** canceled (cleanup is done before the job ends). */
static void cancelLatency(const char *zKind, const char *zJobSql, int nTrial){
  double *a = malloc(sizeof(double)*nTrial);
  sqlite3 *db = openDb(zSrc);
  int i, n = 0;
  for(i=0; i<nTrial; i++){
    char *zId, *zSql, *zSt, *zFr;
    double t0;
    rmdb(zOut);
    if( strstr(zJobSql, "job_import") ) sqlite3_exec(db, "DELETE FROM people", 0, 0, 0);
    zId = text1(db, zJobSql);
    /* under way: 5% done, or (a single statement reports no fraction)
    ** its connection running a statement */
    zSql = sqlite3_mprintf("SELECT fraction_completed>0.05 OR status<>'running' "
        "OR (SELECT status FROM sessions WHERE application_name='job '||job_id)='active' "
        "FROM jobs WHERE job_id=%s", zId);
    do{
      usleep(500);
      zFr = text1(db, zSql);
      if( zFr && zFr[0]=='1' ){ sqlite3_free(zFr); break; }
      sqlite3_free(zFr);
    }while(1);
    sqlite3_free(zSql);
    t0 = nowMs();
    zSql = sqlite3_mprintf("SELECT cancel_job(%s, 1)", zId);
    sqlite3_exec(db, zSql, 0, 0, 0);
    sqlite3_free(zSql);
    zSql = sqlite3_mprintf("SELECT job_wait(%s)", zId);
    zSt = text1(db, zSql);
    if( zSt && strcmp(zSt, "canceled")==0 ) a[n++] = nowMs()-t0;
    sqlite3_free(zSt); sqlite3_free(zSql); sqlite3_free(zId);
  }
  qsort(a, n, sizeof(double), cmpD);
  if( n>0 ){
    printf("cancel,%s,%d,%.2f,%.2f,%.2f\n", zKind, n, a[n/2], a[(int)(0.99*(n-1)+0.5)], a[n-1]);
  }
  free(a);
  sqlite3_close(db);
}

int main(int argc, char **argv){
  int nRow = argc>1 ? atoi(argv[1]) : 60000;
  int nRound = argc>2 ? atoi(argv[2]) : 3;
  int nTrial = argc>3 ? atoi(argv[3]) : 20;
  sqlite3 *db;
  char *zSql;
  FILE *f;
  int i;
  if( nRound>15 ) nRound = 15;
  snprintf(zSrc, sizeof(zSrc), "%s/tmp-jobs-src.db", zDir);
  snprintf(zOut, sizeof(zOut), "%s/tmp-jobs-out.db", zDir);
  snprintf(zCsv, sizeof(zCsv), "%s/tmp-jobs.csv", zDir);
  rmdb(zSrc);
  sqlite3_auto_extension((void(*)(void))sqlite3_cancel_init);
  db = openDb(zSrc);
  zSql = sqlite3_mprintf("CREATE TABLE events(id INTEGER PRIMARY KEY, payload BLOB);"
      "WITH RECURSIVE c(x) AS (VALUES(1) UNION ALL SELECT x+1 FROM c WHERE x<%d) "
      "INSERT INTO events SELECT x, randomblob(1000) FROM c;"
      "CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT, note TEXT);", nRow);
  sqlite3_exec(db, zSql, 0, 0, 0);
  sqlite3_free(zSql);
  sqlite3_close(db);
  f = fopen(zCsv, "w");
  fprintf(f, "id,name,note\n");
  for(i=0; i<nRow*3; i++) fprintf(f, "%d,name %d,\"a note, with a comma, %d\"\n", i, i, i);
  fclose(f);

  zSql = sqlite3_mprintf("SELECT job_backup(%Q)", zOut);
  throughput("BACKUP", dBackup, 0, zSql, nRound);
  cancelLatency("BACKUP", zSql, nTrial);
  sqlite3_free(zSql);
  zSql = sqlite3_mprintf("SELECT job_vacuum(%Q)", zOut);
  throughput("VACUUM", dVacuum, 0, zSql, nRound);
  cancelLatency("VACUUM", zSql, nTrial);
  sqlite3_free(zSql);
  zSql = sqlite3_mprintf("SELECT job_import('people', %Q)", zCsv);
  throughput("IMPORT", directImport, nRow*3, zSql, nRound);
  cancelLatency("IMPORT", zSql, nTrial);
  sqlite3_free(zSql);
  cancelLatency("EXEC", "SELECT job_exec('SELECT count(*) FROM (WITH RECURSIVE c(x) AS "
                "(VALUES(1) UNION ALL SELECT x+1 FROM c WHERE x<50000000) SELECT x FROM c)')", nTrial);
  rmdb(zSrc); rmdb(zOut); unlink(zCsv);
  return 0;
}
