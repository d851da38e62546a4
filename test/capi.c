/*
** capi.c: the C API of ext/cancel.h, as a C application uses it: the
** extension enabled for every connection with sqlite3_auto_extension(),
** process-wide default timeouts, the client address, and chaining the
** application's own progress and busy handlers.
**
**   test/capi [dbfile]      exits 0 when every check passes
*/
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cancel.h"

static int nFail = 0;
#define CHECK(cond, what) do{ if( !(cond) ){ nFail++; \
  fprintf(stderr, "capi: FAIL line %d: %s\n", __LINE__, what); } }while(0)

static const char *zLong =
  "WITH RECURSIVE c(x) AS (VALUES(1) UNION ALL SELECT x+1 FROM c "
  "WHERE x<300000000) SELECT count(*) FROM c";

static long nowMs(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec*1000 + ts.tv_nsec/1000000;
}

static char *text(sqlite3 *db, const char *zSql){
  sqlite3_stmt *p = 0;
  char *z = 0;
  if( sqlite3_prepare_v2(db, zSql, -1, &p, 0)==SQLITE_OK && sqlite3_step(p)==SQLITE_ROW ){
    z = sqlite3_mprintf("%s", sqlite3_column_text(p, 0) ? (const char*)sqlite3_column_text(p, 0) : "NULL");
  }
  sqlite3_finalize(p);
  return z;
}

static int nAppProgress = 0;
static int appProgress(void *p){ (void)p; nAppProgress++; return nAppProgress>=50; }
static int nAppBusy = 0;
static int appBusy(void *p, int n){ (void)p; nAppBusy++; return n<3; }

int main(int argc, char **argv){
  const char *zDb = argc>1 ? argv[1] : "test/tmp/capi.db";
  sqlite3 *db = 0, *db2 = 0, *db3 = 0, *plain = 0;
  long t0, ms;
  int rc;
  char *z;

  unlink(zDb);
  sqlite3_auto_extension((void(*)(void))sqlite3_cancel_init);

  /* A process-wide default statement timeout applies to new sessions. */
  cancel_set_default_statement_timeout(150);
  sqlite3_open(zDb, &db);
  z = text(db, "SELECT statement_timeout FROM sessions WHERE pid=pg_backend_pid()");
  CHECK(z && strcmp(z, "150")==0, "default statement timeout");
  sqlite3_free(z);
  t0 = nowMs();
  rc = sqlite3_exec(db, zLong, 0, 0, 0);
  ms = nowMs()-t0;
  CHECK(rc==SQLITE_INTERRUPT, "statement timeout interrupts");
  CHECK(ms>=150, "not before its time");
  /* cancel_reason(db) says why, in its own string (sqlite3_free). */
  z = cancel_reason(db);
  CHECK(z && strncmp(z, "cancelled by statement_timeout (150 ms) at 20", 45)==0
        && strlen(z)==66, "cancel_reason after a statement timeout");
  sqlite3_free(z);
  cancel_set_default_statement_timeout(0);
  CHECK(cancel_set_statement_timeout(db, 0)==SQLITE_OK, "per-session timeout");
  rc = sqlite3_exec(db, "WITH RECURSIVE c(x) AS (VALUES(1) UNION ALL SELECT x+1 FROM c "
                        "WHERE x<1000000) SELECT count(*) FROM c", 0, 0, 0);
  CHECK(rc==SQLITE_OK, "timeout off");

  /* The client address shows in `sessions`. */
  CHECK(cancel_set_client_address(db, "10.0.0.7:5123")==SQLITE_OK, "client address");
  z = text(db, "SELECT client_address FROM sessions WHERE pid=pg_backend_pid()");
  CHECK(z && strcmp(z, "10.0.0.7:5123")==0, "client_address column");
  sqlite3_free(z);

  /* A chained progress handler runs, and may interrupt. */
  CHECK(cancel_set_progress_handler(db, appProgress, 0)==SQLITE_OK, "chain progress");
  rc = sqlite3_exec(db, zLong, 0, 0, 0);
  CHECK(rc==SQLITE_INTERRUPT && nAppProgress==50, "app progress handler interrupts");
  cancel_set_progress_handler(db, 0, 0);

  /* A default idle-in-transaction timeout: the lock is released by the
  ** extension while the application does nothing. */
  sqlite3_exec(db, "CREATE TABLE t(x)", 0, 0, 0);
  cancel_set_default_idle_in_transaction_session_timeout(150);
  sqlite3_open(zDb, &db2);
  cancel_set_default_idle_in_transaction_session_timeout(0);
  rc = sqlite3_exec(db2, "BEGIN IMMEDIATE; INSERT INTO t VALUES('lost')", 0, 0, 0);
  CHECK(rc==SQLITE_OK, "begin");
  sqlite3_open(zDb, &db3);
  cancel_set_busy_timeout(db3, 20000);
  t0 = nowMs();
  rc = sqlite3_exec(db3, "INSERT INTO t VALUES('other')", 0, 0, 0);
  ms = nowMs()-t0;
  CHECK(rc==SQLITE_OK, "writer proceeds once the idle session is terminated");
  CHECK(ms>=100, "not before its time");
  z = text(db3, "SELECT group_concat(x) FROM t");
  CHECK(z && strcmp(z, "other")==0, "the idle session's insert was rolled back");
  sqlite3_free(z);
  rc = sqlite3_exec(db2, "SELECT 1", 0, 0, 0);
  CHECK(rc==SQLITE_AUTH || rc==SQLITE_INTERRUPT, "terminated session refuses");
  /* ... and says why, from C and from SQL, although terminated. */
  z = cancel_reason(db2);
  CHECK(z && strncmp(z, "terminated by idle_in_transaction_session_timeout (150 ms) at 20", 63)==0,
        "cancel_reason of a terminated session");
  {
    char *z2 = text(db2, "SELECT cancel_reason()");
    CHECK(z && z2 && strcmp(z, z2)==0, "SELECT cancel_reason() on a terminated session");
    sqlite3_free(z2);
  }
  sqlite3_free(z);
  z = cancel_reason(db3);
  CHECK(z==0, "NULL when nothing stopped the session");

  /* A chained busy handler is called while a statement waits. */
  sqlite3_exec(db, "BEGIN IMMEDIATE", 0, 0, 0);
  CHECK(cancel_set_busy_handler(db3, appBusy, 0)==SQLITE_OK, "chain busy");
  rc = sqlite3_exec(db3, "INSERT INTO t VALUES(1)", 0, 0, 0);
  CHECK(rc==SQLITE_BUSY && nAppBusy==4, "app busy handler decides");
  sqlite3_exec(db, "ROLLBACK", 0, 0, 0);

  /* The application's own job, through the C API: progress, then a
  ** cancel from SQL makes cancel_job_progress() return SQLITE_INTERRUPT,
  ** and the job ends canceled. */
  {
    sqlite3_int64 id = 0;
    char zSql[100];
    CHECK(cancel_job_begin(db, "REINDEX", "all indexes", &id)==SQLITE_OK && id>0, "job begin");
    CHECK(cancel_job_progress(db, id, 0.25, "a quarter")==SQLITE_OK, "job progress");
    CHECK(cancel_job_progress(db, id, 1.5, 0)==SQLITE_RANGE, "fraction out of range");
    snprintf(zSql, sizeof(zSql), "SELECT fraction_completed, running_status FROM jobs WHERE job_id=%lld", (long long)id);
    z = text(db, zSql);
    CHECK(z && strcmp(z, "0.25")==0, "job progress visible");
    sqlite3_free(z);
    snprintf(zSql, sizeof(zSql), "SELECT cancel_job(%lld)", (long long)id);
    sqlite3_exec(db, zSql, 0, 0, 0);
    CHECK(cancel_job_progress(db, id, 0.5, 0)==SQLITE_INTERRUPT, "canceled job progress");
    CHECK(cancel_job_end(db, id, 0)==SQLITE_OK, "job end");
    snprintf(zSql, sizeof(zSql), "SELECT status FROM jobs WHERE job_id=%lld", (long long)id);
    z = text(db, zSql);
    CHECK(z && strcmp(z, "canceled")==0, "ended canceled");
    sqlite3_free(z);
    CHECK(cancel_job_end(db, id, 0)==SQLITE_MISUSE, "ended already");
    CHECK(cancel_job_begin(db, "X", 0, &id)==SQLITE_OK, "job begin");
    CHECK(cancel_job_end(db, id, 0)==SQLITE_OK, "job end");
    z = text(db, zSql);
    sqlite3_free(z);
  }

  /* Loading never makes sqlite3_open() fail: not even on a file that is
  ** not a database (the TEMP tables cannot be created there). */
  {
    sqlite3 *junk = 0;
    char zJunk[300];
    FILE *f;
    snprintf(zJunk, sizeof(zJunk), "%s-junk", zDb);
    f = fopen(zJunk, "w");
    fputs("this is not a database, not at all, not even a little bit........", f);
    fclose(f);
    rc = sqlite3_open(zJunk, &junk);
    CHECK(rc==SQLITE_OK, "open of a non-database with the extension");
    rc = sqlite3_exec(junk, "SELECT count(*) FROM sessions", 0, 0, 0);
    CHECK(rc==SQLITE_NOTADB, "and the file's own error when it is used");
    sqlite3_close(junk);
    unlink(zJunk);
  }

  /* pids fit int4 however many connections a process opens (doc/ids.md):
  ** sqlite3_column_int reads the whole value, and it names the session. */
  {
    static sqlite3 *aDb[300];
    static int aPid[300];
    int i, j, nBad = 0;
    for(i=0; i<300; i++){
      sqlite3_stmt *p = 0;
      aPid[i] = 0;
      if( sqlite3_open(zDb, &aDb[i])!=SQLITE_OK ){ nBad++; continue; }
      if( sqlite3_prepare_v2(aDb[i], "SELECT pg_backend_pid()", -1, &p, 0)==SQLITE_OK
       && sqlite3_step(p)==SQLITE_ROW
       && sqlite3_column_int64(p, 0)==(sqlite3_int64)sqlite3_column_int(p, 0) ){
        aPid[i] = sqlite3_column_int(p, 0);
      }
      sqlite3_finalize(p);
      if( aPid[i]<=0 ) nBad++;
      for(j=0; j<i; j++) if( aPid[j]==aPid[i] ) nBad++;
    }
    CHECK(nBad==0, "300 connections: positive, distinct pids read whole by sqlite3_column_int");
    {
      char *zSql = sqlite3_mprintf("SELECT pg_cancel_backend(%d)", aPid[299]);
      z = zSql ? text(db, zSql) : 0;
      CHECK(z && strcmp(z, "1")==0, "pg_cancel_backend(the int) finds the session");
      sqlite3_free(z);
      sqlite3_free(zSql);
    }
    for(i=0; i<300; i++) sqlite3_close(aDb[i]);
  }

  /* A connection without the extension is not a session. */
  sqlite3_reset_auto_extension();
  sqlite3_open(zDb, &plain);
  CHECK(cancel_set_client_address(plain, "x")==SQLITE_MISUSE, "MISUSE for a non-session");
  CHECK(cancel_set_busy_timeout(plain, 1)==SQLITE_MISUSE, "MISUSE for a non-session");
  CHECK(cancel_reason(plain)==0, "no reason for a non-session");

  sqlite3_close(plain);
  sqlite3_close(db3);
  sqlite3_close(db2);
  sqlite3_close(db);
  printf("capi: %s\n", nFail ? "FAILED" : "all checks passed");
  return nFail ? 1 : 0;
}
