/*
** omithost.c: a host program, linked with a SQLite built from source
** with SQLITE_OMIT_* options (test/omithost.sh), that loads the extension
** the way any application does and says what happened:
**
**   omithost EXT     prints "refused: MESSAGE", or "loaded (...)" with
**                    what the extension then does there:
**     sessions: N row   rows of `sessions` with one connection open
**     hooks: TEXT       its `hooks` column (how cancels are delivered)
**     cancel: R         a statement running on another thread, stopped
**                       by pg_cancel_backend() from a second connection
**                       once it is running (a handshake: it calls
**                       ready()); R is how it ended
**     timeout: R        a statement with set_statement_timeout(100)
**     job: R            job_vacuum of a 64 MB database, canceled by
**                       cancel_job once its VACUUM INTO has written the
**                       copy's first pages (a handshake: the part file
**                       grows). The part file is kept open here, so its
**                       size at removal is known: "canceled inside
**                       VACUUM INTO" when the job ended canceled, the
**                       destination and part file absent, and the copy
**                       short of half the database (a VACUUM run to its
**                       end writes all of it). Without a progress handler
**                       only an interrupt of the job's connection stops it.
**     race: R           "ok", or what went wrong: 300 job_exec jobs, each
**                       `SELECT job_wait(A); <a statement of minutes>`,
**                       A an application job (the statement would run
**                       for a minute or more); once the job waits, A is
**                       ended and, after a random spin of 0 to 300 us,
**                       the job canceled: each must end canceled within
**                       10 s, wherever the cancel fell (before the long
**                       statement's start, inside it, between). Then 300
**                       scripts of 5 inserts, transactional or not,
**                       canceled at a random moment: each ends canceled
**                       or succeeded, with none or all of its rows (a
**                       first part when not transactional). Meanwhile
**                       another connection runs statements: none may be
**                       interrupted.
**
** A SQLite whose routine table lacks an entry the extension calls must
** refuse it with a message (before ext/hostapi.h, this crashed), except
** sqlite3_progress_handler, which it can do without (doc/hooks.md).
*/
#include "sqlite3.h"
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

static const char *zLong =
  "WITH RECURSIVE c(x) AS (VALUES(1) UNION ALL SELECT x+1 FROM c WHERE x<30000000)"
  " SELECT count(*) FROM c WHERE (x=5 AND ready()) OR x<0";

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int bReady = 0;

static void readyFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  (void)argc; (void)argv;
  pthread_mutex_lock(&mu);
  bReady = 1;
  pthread_cond_signal(&cond);
  pthread_mutex_unlock(&mu);
  sqlite3_result_int(ctx, 1);
}

/* How a statement ended: "interrupted", "finished" or the error. */
static const char *runEnd(sqlite3 *db, const char *zSql, char *zBuf, int nBuf){
  sqlite3_stmt *p = 0;
  int rc = sqlite3_prepare_v2(db, zSql, -1, &p, 0);
  if( rc==SQLITE_OK ){
    while( (rc = sqlite3_step(p))==SQLITE_ROW ){}
  }
  sqlite3_finalize(p);
  if( rc==SQLITE_DONE ) return "finished";
  if( rc==SQLITE_INTERRUPT ) return "interrupted";
  snprintf(zBuf, nBuf, "error %d: %s", rc, sqlite3_errmsg(db));
  return zBuf;
}

static sqlite3 *dbRun;
static char zRunBuf[200];
static const char *zRunEnd;
static void *runThread(void *pArg){
  (void)pArg;
  zRunEnd = runEnd(dbRun, zLong, zRunBuf, sizeof(zRunBuf));
  pthread_mutex_lock(&mu);
  bReady = 1;                  /* (ended before calling ready(): no hang) */
  pthread_cond_signal(&cond);
  pthread_mutex_unlock(&mu);
  return 0;
}

/* The first column of the first row of zSql, as text, into zBuf. */
static const char *one(sqlite3 *db, const char *zSql, char *zBuf, int nBuf){
  sqlite3_stmt *p = 0;
  snprintf(zBuf, nBuf, "(error: %s)", sqlite3_errmsg(db));
  if( sqlite3_prepare_v2(db, zSql, -1, &p, 0)==SQLITE_OK ){
    if( sqlite3_step(p)==SQLITE_ROW ){
      const unsigned char *z = sqlite3_column_text(p, 0);
      snprintf(zBuf, nBuf, "%s", z ? (const char*)z : "NULL");
    }else{
      snprintf(zBuf, nBuf, "(error: %s)", sqlite3_errmsg(db));
    }
  }
  sqlite3_finalize(p);
  return zBuf;
}

/* ---------------------------------------------------------------- jobs */

/* The first column of the first row of the formatted statement, as an
** integer; -1 on an error (its message in zJobErr, the first kept). */
static char zJobErr[300];
static sqlite3_int64 num(sqlite3 *db, const char *zFmt, ...){
  sqlite3_stmt *p = 0;
  sqlite3_int64 v = -1;
  va_list ap;
  char *zSql;
  va_start(ap, zFmt);
  zSql = sqlite3_vmprintf(zFmt, ap);
  va_end(ap);
  if( sqlite3_prepare_v2(db, zSql, -1, &p, 0)==SQLITE_OK && sqlite3_step(p)==SQLITE_ROW ){
    v = sqlite3_column_int64(p, 0);
  }else if( zJobErr[0]==0 ){
    snprintf(zJobErr, sizeof(zJobErr), "%s: %s", zSql, sqlite3_errmsg(db));
  }
  sqlite3_finalize(p);
  sqlite3_free(zSql);
  return v;
}

/* The same as text (a job's status), into zBuf. */
static const char *text(sqlite3 *db, char *zBuf, int nBuf, const char *zFmt, sqlite3_int64 a){
  char *zSql = sqlite3_mprintf(zFmt, a);
  one(db, zSql, zBuf, nBuf);
  sqlite3_free(zSql);
  return zBuf;
}

/* Spin (no sleep: the moment matters) for us microseconds. */
static void spin(int us){
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  do{
    clock_gettime(CLOCK_MONOTONIC, &t);
  }while( (t.tv_sec-t0.tv_sec)*1000000 + (t.tv_nsec-t0.tv_nsec)/1000 < us );
}

/* job: a job_vacuum canceled inside its VACUUM INTO (see the top). */
static const char *jobVacuum(sqlite3 *db, char *zOut, int nOut){
  const char *zDest = "build/tmp/omithost-vac.db";
  char zPart[300], zSt[100];
  sqlite3_int64 id, full, size = -1;
  struct stat st;
  int fd = -1, bDest, bPart;
  remove(zDest);
  if( sqlite3_exec(db, "CREATE TABLE big(x); INSERT INTO big SELECT zeroblob(4000) FROM "
        "(WITH RECURSIVE c(i) AS (VALUES(1) UNION ALL SELECT i+1 FROM c WHERE i<16000) "
        "SELECT i FROM c)", 0, 0, 0)!=SQLITE_OK ){
    snprintf(zOut, nOut, "cannot fill the database: %s", sqlite3_errmsg(db));
    return zOut;
  }
  full = num(db, "SELECT page_count*page_size FROM pragma_page_count, pragma_page_size");
  id = num(db, "SELECT job_vacuum(%Q)", zDest);
  if( id<0 ){ snprintf(zOut, nOut, "%s", zJobErr); return zOut; }
  snprintf(zPart, sizeof(zPart), "%s.part-%lld", zDest, (long long)id);
  /* the handshake: the copy has its first pages (only VACUUM INTO writes
  ** it), or the job has ended */
  for(;;){
    if( stat(zPart, &st)==0 && st.st_size>0 && (fd = open(zPart, O_RDONLY))>=0 ) break;
    text(db, zSt, sizeof(zSt), "SELECT status FROM jobs WHERE job_id=%lld", id);
    if( strcmp(zSt, "running")!=0 && strcmp(zSt, "pending")!=0 ) break;
  }
  if( fd<0 ){
    snprintf(zOut, nOut, "ended %s before its copy was seen", zSt);
    return zOut;
  }
  if( num(db, "SELECT cancel_job(%lld)", id)!=1 ){
    snprintf(zOut, nOut, "cancel_job: %s", zJobErr);
  }
  text(db, zSt, sizeof(zSt), "SELECT job_wait(%lld, 30000)", id);
  if( fstat(fd, &st)==0 ) size = st.st_size;   /* as it was removed */
  close(fd);
  bDest = stat(zDest, &st)==0;
  bPart = stat(zPart, &st)==0;
  if( strcmp(zSt, "canceled")==0 && !bDest && !bPart && size>=0 && size<full/2 ){
    snprintf(zOut, nOut, "canceled inside VACUUM INTO");
  }else{
    snprintf(zOut, nOut, "%s, the copy had %lld of %lld bytes, destination %s, part file %s",
             zSt, (long long)size, (long long)full, bDest ? "there" : "absent",
             bPart ? "there" : "absent");
  }
  return zOut;
}

/* The application's own statements beside the race: none interrupted. */
static sqlite3 *dbApp;
static atomic_int bAppStop;
static int nAppHit, nAppRun;
static void *appThread(void *pArg){
  (void)pArg;
  while( !atomic_load(&bAppStop) ){
    char zBuf[200];
    const char *z = runEnd(dbApp, "WITH RECURSIVE c(x) AS (VALUES(1) UNION ALL "
                           "SELECT x+1 FROM c WHERE x<2000) SELECT count(*) FROM c",
                           zBuf, sizeof(zBuf));
    if( strcmp(z, "finished")!=0 ) nAppHit++;
    nAppRun++;
  }
  return 0;
}

/* race: cancels at random moments of job_exec jobs (see the top). */
#define RACE_WINDOW 300
#define RACE_SCRIPTS 100
static const char *jobRace(sqlite3 *db, sqlite3 *db2, char *zOut, int nOut){
  /* a minute or more of work in one statement, were it not interrupted */
  const char *zLong = "SELECT count(*) FROM (WITH RECURSIVE c(x) AS (VALUES(1) "
                      "UNION ALL SELECT x+1 FROM c WHERE x<100000000) SELECT x FROM c)";
  char zSt[100];
  int i, nCanceled = 0;
  pthread_t t;
  zOut[0] = 0;
  srand(1);
  dbApp = db2;
  atomic_store(&bAppStop, 0);
  pthread_create(&t, 0, appThread, 0);
  for(i=0; i<RACE_WINDOW && zOut[0]==0 && zJobErr[0]==0; i++){
    sqlite3_int64 a = num(db, "SELECT job_begin('gate')");
    char *zScript = sqlite3_mprintf("SELECT job_wait(%lld, 60000); %s", a, zLong);
    sqlite3_int64 e = num(db, "SELECT job_exec(%Q)", zScript);
    int us = rand() % 300, n = 0;
    sqlite3_free(zScript);
    /* the handshake: the job's session waits in job_wait */
    while( num(db, "SELECT count(*) FROM sessions s JOIN jobs j ON s.session_id=j.coordinator_id"
                   " WHERE j.job_id=%lld AND s.active_query LIKE 'SELECT job_wait(%%'", e)==0
        && ++n<1000000 ){}
    num(db, "SELECT job_end(%lld)='succeeded'", a);
    spin(us);
    num(db, "SELECT cancel_job(%lld)", e);
    text(db, zSt, sizeof(zSt), "SELECT job_wait(%lld, 10000)", e);
    if( strcmp(zSt, "canceled")!=0 ){
      snprintf(zOut, nOut, "job %d: %s 10 s after a cancel %d us after its gate opened", i, zSt, us);
    }
  }
  sqlite3_exec(db, "CREATE TABLE r(job, k)", 0, 0, 0);
  for(i=0; i<RACE_SCRIPTS && zOut[0]==0 && zJobErr[0]==0; i++){
    int bTxn = i & 1, k, n, mx, us = rand() % 3000;
    sqlite3_str *pScript = sqlite3_str_new(0);
    char *zScript;
    sqlite3_int64 e;
    for(k=1; k<=5; k++){
      sqlite3_str_appendf(pScript, "INSERT INTO r SELECT %d, %d FROM (WITH RECURSIVE "
          "c(x) AS (VALUES(1) UNION ALL SELECT x+1 FROM c WHERE x<5000) SELECT x FROM c) "
          "WHERE x=5000;", i, k);
    }
    zScript = sqlite3_str_finish(pScript);
    e = num(db, "SELECT job_exec(%Q, %d)", zScript, bTxn);
    sqlite3_free(zScript);
    spin(us);
    zScript = sqlite3_mprintf("SELECT cancel_job(%lld)", e);
    sqlite3_exec(db, zScript, 0, 0, 0);        /* (an error if too late) */
    sqlite3_free(zScript);
    text(db, zSt, sizeof(zSt), "SELECT job_wait(%lld, 10000)", e);
    n = (int)num(db, "SELECT count(*) FROM r WHERE job=%d", i);
    mx = (int)num(db, "SELECT count(DISTINCT k)=count(*) AND coalesce(max(k),0)=count(*) FROM r WHERE job=%d", i);
    if( strcmp(zSt, "succeeded")==0 ? n!=5 || !mx
      : strcmp(zSt, "canceled")==0 ? (bTxn ? n!=0 : !mx)
      : 1 ){
      snprintf(zOut, nOut, "script %d (%s): %s with %d rows", i,
               bTxn ? "transactional" : "statement by statement", zSt, n);
    }
    if( strcmp(zSt, "canceled")==0 ) nCanceled++;
  }
  atomic_store(&bAppStop, 1);
  pthread_join(t, 0);
  if( zOut[0]==0 && zJobErr[0] ) snprintf(zOut, nOut, "%s", zJobErr);
  if( zOut[0]==0 && nAppHit ) snprintf(zOut, nOut, "%d of %d statements of the application hit", nAppHit, nAppRun);
  if( zOut[0]==0 && nCanceled==0 ) snprintf(zOut, nOut, "no script was canceled");
  if( zOut[0]==0 ) snprintf(zOut, nOut, "ok");
  return zOut;
}

int main(int argc, char **argv){
  sqlite3 *db = 0, *db2 = 0;
  char *zErr = 0;
  char zRows[100], zHooks[100], zSql[200], zPid[40], zTimeout[200], zCancel[100];
  char zJob[300], zRace[300];
  const char *zFile = "build/tmp/omithost.db";
  pthread_t t;
  if( argc!=2 ){ fprintf(stderr, "usage: omithost EXT\n"); return 2; }
  remove(zFile);
  if( sqlite3_open(zFile, &db)!=SQLITE_OK ) return 2;
  sqlite3_enable_load_extension(db, 1);
  if( sqlite3_load_extension(db, argv[1], 0, &zErr)!=SQLITE_OK ){
    printf("refused: %s\n", zErr ? zErr : "(no message)");
    sqlite3_free(zErr);
    sqlite3_close(db);
    return 0;
  }
  one(db, "SELECT count(*) FROM sessions", zRows, sizeof(zRows));
  one(db, "SELECT hooks FROM sessions WHERE pid=pg_backend_pid()", zHooks, sizeof(zHooks));
  one(db, "SELECT pg_backend_pid()", zPid, sizeof(zPid));
  sqlite3_create_function(db, "ready", 0, SQLITE_UTF8, 0, readyFunc, 0, 0);

  /* a cancel from another connection, once the statement runs */
  sqlite3_open(zFile, &db2);
  sqlite3_enable_load_extension(db2, 1);
  sqlite3_load_extension(db2, argv[1], 0, 0);
  dbRun = db;
  bReady = 0;
  pthread_create(&t, 0, runThread, 0);
  pthread_mutex_lock(&mu);
  while( !bReady ) pthread_cond_wait(&cond, &mu);
  pthread_mutex_unlock(&mu);
  snprintf(zSql, sizeof(zSql), "SELECT pg_cancel_backend(%s)", zPid);
  one(db2, zSql, zCancel, sizeof(zCancel));
  pthread_join(t, 0);

  /* a statement timeout */
  sqlite3_exec(db, "SELECT set_statement_timeout(100)", 0, 0, 0);
  bReady = 0;
  snprintf(zTimeout, sizeof(zTimeout), "%s",
           runEnd(db, zLong, zRunBuf, sizeof(zRunBuf)));

  /* jobs */
  sqlite3_exec(db, "SELECT set_statement_timeout(0)", 0, 0, 0);
  jobVacuum(db, zJob, sizeof(zJob));
  jobRace(db, db2, zRace, sizeof(zRace));

  printf("loaded (sessions: %s row; hooks: %s; cancel: %s %s; timeout: %s; job: %s; race: %s)\n",
         zRows, zHooks, zCancel, zRunEnd, zTimeout, zJob, zRace);
  fflush(stdout);
  /* a job whose cancel was lost would keep the exit waiting (doc/jobs.md) */
  if( strcmp(zJob, "canceled inside VACUUM INTO")!=0 || strcmp(zRace, "ok")!=0 ) _exit(1);
  sqlite3_close(db2);
  sqlite3_close(db);
  return 0;
}
