/*
** jobstress.c: jobs started, paused, resumed and cancelled at random from
** several threads at once, for a bounded time.
**
**   test/jobstress [seconds] [dir]
**
** Built with ASan+UBSan and with TSan by the Makefile. Starter threads
** start built-in jobs of every kind and application jobs; controller
** threads pause, resume and cancel random jobs by every means (functions,
** UPDATE jobs, cancel_jobs). At the end every paused job is resumed and
** every job waited for. It fails when a job does not reach a final state,
** when a part file is left behind, when a job that succeeded left no
** valid copy, or on any sanitizer report.
*/
#include <sqlite3.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>
#include "cancel.h"

#define N_STARTER 3
#define N_CONTROLLER 2
#define MAX_JOBS 4096

static const char *zDir = "build/tmp/jobstress";
static char zDb[512];
static atomic_int bStop = 0;
static atomic_int nFail = 0;
static atomic_long nStarted, nControl, nAppJobs;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long long aJob[MAX_JOBS];
static char *azDest[MAX_JOBS];       /* backup/vacuum destination, or NULL */
static int nJob = 0;

static void fail(const char *z, const char *zDetail){
  fprintf(stderr, "jobstress: FAIL: %s %s\n", z, zDetail ? zDetail : "");
  atomic_fetch_add(&nFail, 1);
}

static sqlite3 *openDb(void){
  sqlite3 *db = 0;
  if( sqlite3_open(zDb, &db)!=SQLITE_OK ){ fail("open", sqlite3_errmsg(db)); return 0; }
  cancel_set_busy_timeout(db, 10000);
  return db;
}

static long long one(sqlite3 *db, const char *zSql){
  sqlite3_stmt *p = 0;
  long long v = -1;
  if( sqlite3_prepare_v2(db, zSql, -1, &p, 0)==SQLITE_OK && sqlite3_step(p)==SQLITE_ROW ){
    v = sqlite3_column_int64(p, 0);
  }
  sqlite3_finalize(p);
  return v;
}

static void remember(long long id, char *zDest){
  pthread_mutex_lock(&mu);
  if( nJob<MAX_JOBS ){ aJob[nJob] = id; azDest[nJob] = zDest; nJob++; zDest = 0; }
  pthread_mutex_unlock(&mu);
  sqlite3_free(zDest);
}

static void *starter(void *pArg){
  int iThread = (int)(long)pArg;
  unsigned seed = 7u + (unsigned)iThread;
  sqlite3 *db = openDb();
  int k = 0, iOld = 0;
  long long aMine[4] = {0, 0, 0, 0};   /* at most 4 jobs of ours at once, */
  if( db==0 ) return 0;                /* so as not to run out of files */
  while( !atomic_load(&bStop) ){
    char *zSql = 0, *zDest = 0;
    long long id;
    if( aMine[iOld] ){
      char *zWait = sqlite3_mprintf("SELECT job_wait(%lld, 2000)", aMine[iOld]);
      sqlite3_exec(db, zWait, 0, 0, 0);
      sqlite3_free(zWait);
    }
    switch( rand_r(&seed)%6 ){
      case 0:
        zDest = sqlite3_mprintf("%s/bk-%d-%d.db", zDir, iThread, k++);
        zSql = sqlite3_mprintf("SELECT job_backup(%Q)", zDest);
        break;
      case 1:
        zDest = sqlite3_mprintf("%s/vac-%d-%d.db", zDir, iThread, k++);
        zSql = sqlite3_mprintf("SELECT job_vacuum(%Q)", zDest);
        break;
      case 2:
        zSql = sqlite3_mprintf("SELECT job_exec('INSERT INTO log VALUES(1); "
            "SELECT count(*) FROM (WITH RECURSIVE c(x) AS (VALUES(1) UNION ALL "
            "SELECT x+1 FROM c WHERE x<20000) SELECT x FROM c); "
            "INSERT INTO log VALUES(2);', %d)", rand_r(&seed)%2);
        break;
      case 3:
        zSql = sqlite3_mprintf("SELECT job_import('people', '%q/people.csv')", zDir);
        break;
      case 4: {
        /* an application's own job, in this thread */
        sqlite3_int64 jid;
        int i;
        if( cancel_job_begin(db, "APP", "stress", &jid)==SQLITE_OK ){
          remember(jid, 0);
          for(i=0; i<20; i++){
            if( cancel_job_progress(db, jid, i/20.0, "working")!=SQLITE_OK ) break;
          }
          cancel_job_end(db, jid, 0);
          atomic_fetch_add(&nAppJobs, 1);
        }
        continue;
      }
      default:
        zSql = sqlite3_mprintf("SELECT job_exec('SELECT 1')");
        break;
    }
    id = one(db, zSql);
    sqlite3_free(zSql);
    if( id>0 ){
      remember(id, zDest);
      aMine[iOld] = id;
      iOld = (iOld+1)%4;
      atomic_fetch_add(&nStarted, 1);
    }else{
      fail("job did not start:", sqlite3_errmsg(db));
      sqlite3_free(zDest);
    }
    usleep(10000 + rand_r(&seed)%20000);   /* a job every ~20 ms per thread */
  }
  sqlite3_close(db);
  return 0;
}

static void *controller(void *pArg){
  unsigned seed = 1000u + (unsigned)(long)pArg;
  sqlite3 *db = openDb();
  if( db==0 ) return 0;
  while( !atomic_load(&bStop) ){
    long long id = 0;
    char *zSql = 0;
    pthread_mutex_lock(&mu);
    if( nJob ) id = aJob[rand_r(&seed)%nJob];
    pthread_mutex_unlock(&mu);
    if( id==0 ){ usleep(1000); continue; }
    switch( rand_r(&seed)%7 ){
      case 0: zSql = sqlite3_mprintf("SELECT cancel_job(%lld)", id); break;
      case 1: zSql = sqlite3_mprintf("SELECT pause_job(%lld)", id); break;
      case 2: zSql = sqlite3_mprintf("SELECT resume_job(%lld)", id); break;
      case 3: zSql = sqlite3_mprintf("UPDATE jobs SET status='paused' WHERE job_id=%lld", id); break;
      case 4: zSql = sqlite3_mprintf("UPDATE jobs SET status='running' WHERE job_id=%lld", id); break;
      case 5: zSql = sqlite3_mprintf("SELECT cancel_jobs('SELECT job_id FROM jobs WHERE job_id=%lld', 1)", id); break;
      default: zSql = sqlite3_mprintf("SELECT job_wait(%lld, 5)", id); break;
    }
    sqlite3_exec(db, zSql, 0, 0, 0);   /* state-rule errors are expected */
    sqlite3_free(zSql);
    atomic_fetch_add(&nControl, 1);
    usleep(rand_r(&seed)%3000);
  }
  sqlite3_close(db);
  return 0;
}

int main(int argc, char **argv){
  int seconds = argc>1 ? atoi(argv[1]) : 5;
  pthread_t a[N_STARTER+N_CONTROLLER];
  sqlite3 *db;
  int i, nOk = 0, nCanceled = 0, nFailed = 0;
  FILE *csv;
  DIR *d;
  struct dirent *e;
  char z[600];

  if( argc>2 ) zDir = argv[2];
  snprintf(z, sizeof(z), "rm -rf '%s' && mkdir -p '%s'", zDir, zDir);
  if( system(z)!=0 ) return 1;
  snprintf(zDb, sizeof(zDb), "%s/main.db", zDir);
  snprintf(z, sizeof(z), "%s/people.csv", zDir);
  csv = fopen(z, "w");
  fprintf(csv, "id,name\n");
  for(i=0; i<3000; i++) fprintf(csv, "%d,\"name, %d\"\n", i, i);
  fclose(csv);

  sqlite3_auto_extension((void(*)(void))sqlite3_cancel_init);
  db = openDb();
  if( db==0 ) return 1;
  sqlite3_exec(db, "CREATE TABLE log(x); CREATE TABLE people(id, name);"
      "CREATE TABLE pad(x); WITH RECURSIVE c(x) AS (VALUES(1) UNION ALL SELECT x+1 FROM c "
      "WHERE x<3000) INSERT INTO pad SELECT randomblob(800) FROM c;", 0, 0, 0);

  for(i=0; i<N_STARTER; i++) pthread_create(&a[i], 0, starter, (void*)(long)i);
  for(i=0; i<N_CONTROLLER; i++) pthread_create(&a[N_STARTER+i], 0, controller, (void*)(long)i);
  sleep((unsigned)seconds);          /* the run's length, not a synchronisation */
  atomic_store(&bStop, 1);
  for(i=0; i<N_STARTER+N_CONTROLLER; i++) pthread_join(a[i], 0);

  /* Let every job finish: resume the paused ones, wait for all. A job
  ** still 'pause-requested' cannot be resumed (doc/jobs.md) until it
  ** reaches its next checkpoint and is 'paused': resume until none is
  ** either (at most 10 s). */
  for(i=0; i<1000; i++){
    sqlite3_stmt *pLeft = 0;
    int nLeft = 0;
    sqlite3_exec(db, "UPDATE jobs SET status='running' WHERE status='paused'", 0, 0, 0);
    if( sqlite3_prepare_v2(db, "SELECT count(*) FROM jobs WHERE status IN "
                           "('paused','pause-requested')", -1, &pLeft, 0)==SQLITE_OK
     && sqlite3_step(pLeft)==SQLITE_ROW ){
      nLeft = sqlite3_column_int(pLeft, 0);
    }
    sqlite3_finalize(pLeft);
    if( nLeft==0 ) break;
    { struct timespec ts = { 0, 10000000 }; nanosleep(&ts, 0); }
  }
  for(i=0; i<nJob; i++){
    char *zSql = sqlite3_mprintf("SELECT job_wait(%lld, 60000)", aJob[i]);
    sqlite3_stmt *p = 0;
    const char *zStatus = 0;
    if( sqlite3_prepare_v2(db, zSql, -1, &p, 0)==SQLITE_OK && sqlite3_step(p)==SQLITE_ROW ){
      zStatus = (const char*)sqlite3_column_text(p, 0);
    }
    if( zStatus==0 ){
      fail("job_wait failed:", sqlite3_errmsg(db));
    }else if( strcmp(zStatus, "succeeded")==0 ){
      nOk++;
      if( azDest[i] ){
        sqlite3 *c = 0;
        long long n;
        sqlite3_open_v2(azDest[i], &c, SQLITE_OPEN_READONLY, 0);
        n = one(c, "SELECT count(*) FROM pad");
        if( n!=3000 ){
          char *zMsg = sqlite3_mprintf("%s (%lld rows: %s)", azDest[i], n, sqlite3_errmsg(c));
          fail("bad copy:", zMsg);
          sqlite3_free(zMsg);
        }
        sqlite3_close(c);
      }
    }else if( strcmp(zStatus, "canceled")==0 ){
      nCanceled++;
      if( azDest[i] && access(azDest[i], F_OK)==0 ) fail("canceled, but left:", azDest[i]);
    }else if( strcmp(zStatus, "failed")==0 ){
      nFailed++;
    }else{
      fail("job did not finish:", zStatus);
    }
    sqlite3_finalize(p);
    sqlite3_free(zSql);
    sqlite3_free(azDest[i]);
  }
  {
    /* why jobs failed (a job may fail, e.g. a backup whose source kept
    ** changing; it must still clean up) */
    sqlite3_stmt *p = 0;
    sqlite3_prepare_v2(db, "SELECT job_type, error, count(*) FROM jobs WHERE status='failed' "
                           "GROUP BY 1, 2", -1, &p, 0);
    while( p && sqlite3_step(p)==SQLITE_ROW ){
      printf("jobstress: failed jobs: %s: %s (%d)\n", sqlite3_column_text(p, 0),
             sqlite3_column_text(p, 1), sqlite3_column_int(p, 2));
    }
    sqlite3_finalize(p);
  }
  d = opendir(zDir);
  while( d && (e = readdir(d))!=0 ){
    if( strstr(e->d_name, ".part-") ) fail("part file left:", e->d_name);
  }
  if( d ) closedir(d);
  sqlite3_close(db);
  printf("jobstress: %d s, %ld jobs started, %ld application jobs, %ld control calls, "
         "%d succeeded, %d canceled, %d failed, %d failures\n", seconds,
         atomic_load(&nStarted), atomic_load(&nAppJobs), atomic_load(&nControl),
         nOk, nCanceled, nFailed, atomic_load(&nFail));
  return atomic_load(&nFail) ? 1 : 0;
}
