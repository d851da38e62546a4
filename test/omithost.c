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
**
** A SQLite whose routine table lacks an entry the extension calls must
** refuse it with a message (before ext/hostapi.h, this crashed), except
** sqlite3_progress_handler, which it can do without (doc/hooks.md).
*/
#include "sqlite3.h"
#include <pthread.h>
#include <stdio.h>
#include <string.h>

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

int main(int argc, char **argv){
  sqlite3 *db = 0, *db2 = 0;
  char *zErr = 0;
  char zRows[100], zHooks[100], zSql[200], zPid[40], zTimeout[200], zCancel[100];
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

  printf("loaded (sessions: %s row; hooks: %s; cancel: %s %s; timeout: %s)\n",
         zRows, zHooks, zCancel, zRunEnd, zTimeout);
  sqlite3_close(db2);
  sqlite3_close(db);
  return 0;
}
