/*
** oom.c: out of memory at every allocation, for every feature.
**
**   test/oom [stride [scenario]]
**       stride 1 (the default): every N; make test: a stride of 10.
**       OOM_N=n runs only fail-at n (both modes); OOM_VERBOSE=1 says more.
**
** A counting allocator wraps SQLite's default one (SQLITE_CONFIG_GETMALLOC,
** then SQLITE_CONFIG_MALLOC before sqlite3_initialize) and, while armed,
** makes the Nth allocation fail (transient mode) or the Nth and every one
** after it (persistent mode). Each scenario sets itself up unarmed (two
** sessions on one database with the extension enabled for every
** connection by sqlite3_auto_extension, test tables, an application
** job...), arms the allocator around the feature it tests, disarms and
** checks. It is run with N = 1, 2, 3, ... in both modes until a run
** completes with no injected failure (with a stride > 1, N goes 1..30
** and then every stride-th, which the bounded run of `make test` uses).
**
** Scenarios: opening a connection, SELECT * FROM sessions, cancel_query,
** pg_cancel_backend (on a statement of a second live session),
** cancel_session by id and by a selection query, cancel_sessions,
** pg_terminate_backend (with and without a timeout), the set_* functions,
** blocking_sessions/pg_blocking_pids, job_exec, job_backup, job_import
** (a small CSV), job_vacuum, job_restore (the job threads' allocations
** fail too), job_begin/progress/end, cancel_job, pause_job/resume_job,
** SELECT * FROM jobs, SELECT * FROM cancel_log, closing a connection.
**
** Each run must:
**   - not crash (and, in the ASan+UBSan build, make no sanitizer report);
**   - end every statement either with the right result or with a clean
**     error: SQLITE_NOMEM or a message saying "out of memory". Any other
**     error is printed and counted as a failure, and so is a wrong result
**     reported as success (a cancel that returned 1 must interrupt the
**     statement; a terminate that returned 1 must leave the target
**     refusing statements; a function's value must be the right one);
**   - leave every connection that is still open usable once memory is
**     back (SELECT 1 on it works, unless it was terminated);
**   - leave every job final (job_wait), a failed job with an error
**     message, and the job cleanup rules true: no part file, an existing
**     backup/vacuum destination unchanged unless the job succeeded (then
**     it holds the source's rows), the restore/import/exec target table
**     unchanged unless the job succeeded (then it holds the new rows);
**   - leak nothing: once every connection is closed and every job thread
**     has exited, the allocations outstanding equal the baseline. The
**     baseline is taken after a warm-up run of every scenario; what is
**     kept for the life of the process is then in it: 3 allocations,
**     SQLite's list of automatic extensions and the extension's
**     attachment to the registry file of the test database (one
**     SharedReg and its path; the OS user name and the registry's hash
**     tables are static, the latter until more than 64 sessions). Two
**     more things live as long as the process and are accounted for:
**     finished jobs stay listed for the retention (each run ends with
**     set_job_retention(0), which drops them, then back to a day), and
**     the cancel log keeps the 1,000 most recent cancels with their
**     strings (by_user, target_user, target_query), so the expected
**     count is the baseline plus the strings the log holds now (read
**     from `cancel_log` unarmed). Job threads are detached: the check
**     waits until the process is back to its baseline thread count.
** Prints scenarios, runs, faults injected, failures per scenario, and
** exits non-zero on any failure.
*/
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cancel.h"
#include "jobcheck.h"

/* ---------------------------------------------------------- allocator */

static sqlite3_mem_methods memDefault;
static atomic_int memArmed = 0;
static atomic_int memPersistent = 0;
static atomic_long memFailAt = 0;        /* the Nth allocation fails */
static atomic_long memCalls = 0;         /* allocations counted while armed */
static atomic_long memInjected = 0;      /* failures injected in this run */
static atomic_long memOut = 0;           /* allocations outstanding */
static atomic_long memOutBytes = 0;
static _Thread_local int memExempt = 0;  /* this thread's calls don't count */

static int memShouldFail(void){
  long n;
  if( !atomic_load(&memArmed) || memExempt ) return 0;
  n = atomic_fetch_add(&memCalls, 1) + 1;
  if( n==atomic_load(&memFailAt)
   || (atomic_load(&memPersistent) && n>atomic_load(&memFailAt)) ){
    atomic_fetch_add(&memInjected, 1);
    return 1;
  }
  return 0;
}
static void *memMalloc(int n){
  void *p;
  if( memShouldFail() ) return 0;
  p = memDefault.xMalloc(n);
  if( p ){
    atomic_fetch_add(&memOut, 1);
    atomic_fetch_add(&memOutBytes, memDefault.xSize(p));
  }
  return p;
}
static void memFree(void *p){
  if( p ){
    atomic_fetch_sub(&memOut, 1);
    atomic_fetch_sub(&memOutBytes, memDefault.xSize(p));
  }
  memDefault.xFree(p);
}
static void *memRealloc(void *p, int n){
  int nOld;
  void *q;
  if( memShouldFail() ) return 0;
  nOld = memDefault.xSize(p);
  q = memDefault.xRealloc(p, n);
  if( q ) atomic_fetch_add(&memOutBytes, (long)memDefault.xSize(q) - nOld);
  return q;
}
static int memSize(void *p){ return memDefault.xSize(p); }
static int memRoundup(int n){ return memDefault.xRoundup(n); }
static int memInit(void *p){ return memDefault.xInit(p); }
static void memShutdown(void *p){ memDefault.xShutdown(p); }

static void arm(void){ atomic_store(&memArmed, 1); }
static void disarm(void){ atomic_store(&memArmed, 0); }

/* ------------------------------------------------------------ helpers */

static int nFailRun = 0;         /* failures in the current run */
static int bVerbose = 0;
static const char *zScenario = "";
static long iRunN = 0;

static void fail(const char *zFmt, const char *zA, const char *zB){
  fprintf(stderr, "oom: FAIL [%s, %s N=%ld]: ", zScenario,
          atomic_load(&memPersistent) ? "persistent" : "transient", iRunN);
  fprintf(stderr, zFmt, zA ? zA : "", zB ? zB : "");
  fputc('\n', stderr);
  nFailRun++;
}

/* Unarmed: a statement that must work. */
static int must(sqlite3 *db, const char *zSql, char *zOut, int nOut){
  return sqlMust(db, zSql, zOut, nOut, "setup/check failed: %s: %s");
}
/* Unarmed: a script that must work. */
static int mustExec(sqlite3 *db, const char *zSql){
  return execMust(db, zSql, "setup failed: %s: %s");
}
static long mustLong(sqlite3 *db, const char *zSql){
  char z[64];
  return must(db, zSql, z, sizeof(z))==SQLITE_OK ? atol(z) : -1;
}

/* Is rc/zErr a clean out-of-memory error? Anything else is printed. */
static long nUnexpected = 0;
static int cleanError(int rc, const char *zWhat){
  if( (rc&0xff)==SQLITE_NOMEM || rc==SQLITE_IOERR_NOMEM ) return 1;
  if( strstr(zErr, "out of memory") ) return 1;
  nUnexpected++;
  fail("%s: unexpected error: %s", zWhat, zErr);
  return 0;
}

/* Armed step: 1 = worked with the wanted value, 0 = clean failure. */
static int step(sqlite3 *db, const char *zSql, const char *zWant, char *zOut, int nOut){
  char zBuf[256];
  int rc;
  if( zOut==0 ){ zOut = zBuf; nOut = sizeof(zBuf); }
  rc = sql1(db, zSql, zOut, nOut);
  if( rc==SQLITE_OK ){
    if( zWant && strcmp(zOut, zWant)!=0 ){
      char z[600];
      snprintf(z, sizeof(z), "%s: got '%s'", zSql, zOut);
      fail("wrong result reported as success: %s, wanted '%s'", z, zWant);
      return 0;
    }
    return 1;
  }
  cleanError(rc, zSql);
  return 0;
}

static void closeDb(sqlite3 **pDb){
  if( *pDb && sqlite3_close(*pDb)!=SQLITE_OK ){
    fail("sqlite3_close: %s", sqlite3_errmsg(*pDb), 0);
  }
  *pDb = 0;
}

static int usable(sqlite3 *db, const char *zWho){
  char z[16];
  if( sql1(db, "SELECT 1", z, sizeof(z))!=SQLITE_OK ){
    fail("%s not usable after the fault: %s", zWho, zErr);
    return 0;
  }
  return 1;
}

static int threadCount(void){
  FILE *f = fopen("/proc/self/status", "r");
  char zLine[256];
  int n = -1;
  if( f==0 ) return -1;
  while( fgets(zLine, sizeof(zLine), f) ){
    if( strncmp(zLine, "Threads:", 8)==0 ){ n = atoi(zLine+8); break; }
  }
  fclose(f);
  return n;
}

static void napMs(int ms){
  struct timespec ts = { ms/1000, (ms%1000)*1000000L };
  nanosleep(&ts, 0);
}

#define TABLE_SUM "SELECT count(*)||'/'||coalesce(sum(a*length(b)),0)||'/'||coalesce(max(b),'') FROM "

/* The test tables, as every scenario that touches them expects them
** (rewritten only if they changed: most runs fail before they do). */
static char zTablesState[600];
static void resetTables(sqlite3 *db){
  char z[600];
  if( zTablesState[0]
   && sql1(db, "SELECT (" TABLE_SUM "t)||'|'||(" TABLE_SUM "imp)||'|'||(" TABLE_SUM "ex)",
           z, sizeof(z))==SQLITE_OK
   && strcmp(z, zTablesState)==0 ){
    return;
  }
  mustExec(db, "BEGIN; DROP TABLE IF EXISTS t; DROP TABLE IF EXISTS imp; DROP TABLE IF EXISTS ex;"
           "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);"
           "WITH RECURSIVE c(i) AS (VALUES(1) UNION ALL SELECT i+1 FROM c WHERE i<200)"
           " INSERT INTO t(b) SELECT printf('row %05d', i) FROM c;"
           "CREATE TABLE imp(a INTEGER, b TEXT); INSERT INTO imp VALUES(1,'one');"
           "CREATE TABLE ex(a INTEGER, b TEXT); INSERT INTO ex VALUES(1,'one'); COMMIT;");
  must(db, "SELECT (" TABLE_SUM "t)||'|'||(" TABLE_SUM "imp)||'|'||(" TABLE_SUM "ex)",
       zTablesState, sizeof(zTablesState));
}

/* ---------------------------------------------------------- scenarios */

typedef struct Ctx Ctx;
struct Ctx {
  sqlite3 *a, *b;        /* two sessions on zDb */
  char zPidB[32];        /* b's pid */
  char zSidB[40];        /* b's session id */
};

static int setup2(Ctx *c){
  char z[300];
  memset(c, 0, sizeof(*c));
  if( (c->a = openDb(zDb))==0 || (c->b = openDb(zDb))==0 ) return 1;
  if( must(c->b, "SELECT pg_backend_pid()", c->zPidB, sizeof(c->zPidB))
   || must(c->b, "SELECT session_id()", c->zSidB, sizeof(c->zSidB)) ) return 1;
  snprintf(z, sizeof(z), "SELECT count(*) FROM sessions WHERE pid IN (pg_backend_pid(), %s)", c->zPidB);
  if( mustLong(c->a, z)!=2 ){ fail("setup: both sessions listed", 0, 0); return 1; }
  return 0;
}
static void teardown2(Ctx *c){
  closeDb(&c->a);
  closeDb(&c->b);
}

static void scOpen(void){
  sqlite3 *db = 0;
  int rc;
  arm();
  rc = sqlite3_open_v2(zDb, &db, SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE, 0);
  disarm();
  if( rc==SQLITE_OK ){
    if( mustLong(db, "SELECT count(*) FROM sessions WHERE pid=pg_backend_pid()")!=1 ){
      fail("an opened connection is not a session", 0, 0);
    }
  }else{
    snprintf(zErr, sizeof(zErr), "%s", db ? sqlite3_errmsg(db) : "out of memory");
    cleanError(rc, "sqlite3_open");
  }
  closeDb(&db);
}

static void scSessions(void){
  Ctx c;
  if( setup2(&c)==0 ){
    sqlite3_stmt *p = 0;
    int rc, n = 0;
    arm();
    rc = sqlite3_prepare_v2(c.a, "SELECT * FROM sessions", -1, &p, 0);
    if( rc==SQLITE_OK ){
      while( (rc = sqlite3_step(p))==SQLITE_ROW ) n++;
      if( rc==SQLITE_DONE ) rc = SQLITE_OK;
    }
    if( rc!=SQLITE_OK ) snprintf(zErr, sizeof(zErr), "%s", sqlite3_errmsg(c.a));
    sqlite3_finalize(p);
    disarm();
    if( rc==SQLITE_OK && n!=2 ){
      char z[32];
      snprintf(z, sizeof(z), "%d", n);
      fail("SELECT * FROM sessions: %s rows reported as success, wanted 2", z, 0);
    }else if( rc!=SQLITE_OK ){
      cleanError(rc, "SELECT * FROM sessions");
    }
    usable(c.a, "a");
  }
  teardown2(&c);
}

/* b runs a statement paused between rows (active); a cancels it with
** zFmt (%s: b's query id, or its pid). */
static void scCancelRunning(const char *zFmt, int bByPid){
  Ctx c;
  sqlite3_stmt *pB = 0;
  if( setup2(&c)==0 ){
    char zQid[40], zSql[200];
    int ok, rc;
    sqlite3_prepare_v2(c.b, "WITH RECURSIVE c(x) AS (VALUES(1) UNION ALL SELECT x+1 "
                            "FROM c WHERE x<30000) SELECT x FROM c", -1, &pB, 0);
    if( sqlite3_step(pB)!=SQLITE_ROW ){ fail("setup: b's statement", 0, 0); goto done; }
    snprintf(zSql, sizeof(zSql), "SELECT query_id FROM sessions WHERE pid=%s", c.zPidB);
    if( must(c.a, zSql, zQid, sizeof(zQid)) ) goto done;
    snprintf(zSql, sizeof(zSql), zFmt, bByPid ? c.zPidB : zQid);
    arm();
    ok = step(c.a, zSql, "1", 0, 0);
    disarm();
    while( (rc = sqlite3_step(pB))==SQLITE_ROW ){}
    if( ok && rc!=SQLITE_INTERRUPT ){
      fail("%s returned 1 but the statement was not interrupted (%s)", zSql, sqlite3_errstr(rc));
    }else if( rc!=SQLITE_INTERRUPT && rc!=SQLITE_DONE ){
      fail("b's statement ended with %s", sqlite3_errstr(rc), 0);
    }
    sqlite3_finalize(pB);
    pB = 0;
    usable(c.a, "a");
    usable(c.b, "b (cancelled, not terminated)");
  }
done:
  sqlite3_finalize(pB);
  teardown2(&c);
}
static void scCancelQuery(void){ scCancelRunning("SELECT cancel_query('%s')", 0); }
static void scPgCancel(void){ scCancelRunning("SELECT pg_cancel_backend(%s)", 1); }

/* a terminates the idle session b with zFmt (%s: b's session id or pid). */
static void scTerminate(const char *zFmt, int bByPid){
  Ctx c;
  if( setup2(&c)==0 ){
    char zSql[300];
    int ok;
    snprintf(zSql, sizeof(zSql), zFmt, bByPid ? c.zPidB : c.zSidB);
    arm();
    ok = step(c.a, zSql, "1", 0, 0);
    disarm();
    if( ok ){
      char z[16];
      int i, rc = SQLITE_OK;
      /* the rollback is done by the extension's thread unless b was idle:
      ** b was idle, so it refuses at once */
      for(i=0; i<200 && (rc = sql1(c.b, "SELECT 1", z, sizeof(z)))==SQLITE_OK; i++) napMs(5);
      if( rc==SQLITE_OK ) fail("%s returned 1 but b still runs statements", zSql, 0);
    }
    usable(c.a, "a");
  }
  teardown2(&c);
}
static void scCancelSession(void){ scTerminate("SELECT cancel_session('%s')", 0); }
static void scCancelSessionSel(void){
  scTerminate("SELECT cancel_session('SELECT session_id FROM sessions WHERE pid=%s')", 1);
}
static void scCancelSessions(void){
  scTerminate("SELECT cancel_sessions('SELECT session_id FROM sessions WHERE pid=%s')", 1);
}
static void scPgTerminate(void){ scTerminate("SELECT pg_terminate_backend(%s)", 1); }
static void scPgTerminateWait(void){ scTerminate("SELECT pg_terminate_backend(%s, 5000)", 1); }

static void scSetFunctions(void){
  Ctx c;
  if( setup2(&c)==0 ){
    arm();
    if( step(c.a, "SELECT set_application_name('oom-app')", "oom-app", 0, 0)
     && step(c.a, "SELECT set_busy_timeout(1234)", "1234", 0, 0)
     && step(c.a, "SELECT set_statement_timeout(0)", "0", 0, 0)
     && step(c.a, "SELECT set_idle_in_transaction_session_timeout(0)", "0", 0, 0)
     && step(c.a, "SELECT set_session_user('oomuser', 1)", "oomuser", 0, 0) ){
      disarm();
      if( mustLong(c.a, "SELECT count(*) FROM sessions WHERE pid=pg_backend_pid() "
                        "AND application_name='oom-app' AND user_name='oomuser'")!=1 ){
        fail("set_* reported success but sessions does not show it", 0, 0);
      }
    }
    disarm();
    usable(c.a, "a");
  }
  teardown2(&c);
}

static void scBlocking(void){
  Ctx c;
  if( setup2(&c)==0 ){
    char zSql[200];
    snprintf(zSql, sizeof(zSql), "SELECT blocking_sessions('%s')", c.zSidB);
    arm();
    if( step(c.a, zSql, "[]", 0, 0) ){
      snprintf(zSql, sizeof(zSql), "SELECT pg_blocking_pids(%s)", c.zPidB);
      step(c.a, zSql, "[]", 0, 0);
    }
    disarm();
    usable(c.a, "a");
  }
  teardown2(&c);
}

/* ---- built-in jobs: armed while the job is started and while it runs
** (the job thread's allocations fail too; the waiting thread's don't). */

static int nErrShown = 0;
static long nStartedAnyway = 0;
static void jobOutcome(sqlite3 *db, const char *zId, char *zStatus, int nStatus){
  char zSql[200], zE[300];
  snprintf(zSql, sizeof(zSql), "SELECT job_wait(%s, 30000)", zId);
  if( must(db, zSql, zStatus, nStatus) ) return;
  if( strcmp(zStatus, "succeeded")!=0 && strcmp(zStatus, "failed")!=0 ){
    fail("job %s ended %s (wanted succeeded or failed)", zId, zStatus);
    return;
  }
  if( strcmp(zStatus, "failed")==0 ){
    snprintf(zSql, sizeof(zSql), "SELECT coalesce(error,'') FROM jobs WHERE job_id=%s", zId);
    must(db, zSql, zE, sizeof(zE));
    if( zE[0]==0 ) fail("job %s failed without an error message", zId, 0);
    else if( bVerbose || nErrShown<6 ){
      nErrShown++;
      printf("oom: example: [%s] job failed: %s\n", zScenario, zE);
    }
  }
}

/* zCall starts the job in c->a; zSum is the checksum query of what it
** changes; zWantSum what it must read if the job succeeded. */
static void runJob(Ctx *c, const char *zCall, char *zId, int nId){
  int ok;
  zId[0] = 0;
  arm();
  ok = step(c->a, zCall, 0, zId, nId);
  memExempt = 1;
  if( ok ){
    char zSql[100], z[40];
    snprintf(zSql, sizeof(zSql), "SELECT job_wait(%s, 30000)", zId);
    sql1(c->a, zSql, z, sizeof(z));
  }
  memExempt = 0;
  disarm();
  if( !ok ){
    char zWhy[200];
    snprintf(zWhy, sizeof(zWhy), "%.190s", zErr);
    /* The call failed; a job may still have been started (its id lost
    ** on the way back): the jobs of earlier runs were purged, so any job
    ** listed now is this one. Its rules must hold all the same. */
    must(c->a, "SELECT coalesce(max(job_id),'') FROM jobs", zId, nId);
    if( zId[0] ){
      nStartedAnyway++;
      if( bVerbose ) printf("oom: [%s] %s failed (%s) but started job %s\n", zScenario, zCall, zWhy, zId);
    }
  }
}

static void scJobExec(void){
  Ctx c;
  if( setup2(&c)==0 ){
    char zId[40], zSt[40], zBefore[200], zAfter[200];
    resetTables(c.a);
    must(c.a, TABLE_SUM "ex", zBefore, sizeof(zBefore));
    runJob(&c, "SELECT job_exec('INSERT INTO ex VALUES(2,''two''); "
               "UPDATE ex SET b=b||''!''; INSERT INTO ex SELECT a+10, b FROM ex;')",
           zId, sizeof(zId));
    if( zId[0] ) jobOutcome(c.a, zId, zSt, sizeof(zSt));
    must(c.a, TABLE_SUM "ex", zAfter, sizeof(zAfter));
    if( zId[0] ){
      if( strcmp(zSt, "succeeded")==0 ){
        if( strcmp(zAfter, "4/104/two!")!=0 ) fail("job_exec succeeded but ex is %s", zAfter, 0);
      }else if( strcmp(zAfter, zBefore)!=0 ){
        fail("job_exec failed but ex changed: %s -> %s", zBefore, zAfter);
      }
    }else if( strcmp(zAfter, zBefore)!=0 ){
      fail("job_exec not started but ex changed: %s -> %s", zBefore, zAfter);
    }
    usable(c.a, "a");
  }
  teardown2(&c);
}

/* Backup and vacuum: the cleanup rules (the destination was made by
** makeOldDest, with the hash hOld). */
static void checkCopy(const char *zKind, const char *zSt, unsigned long long hOld,
                      const char *zWant){
  if( partFiles()!=0 ) fail("%s: a part file was left", zKind, 0);
  if( strcmp(zSt, "succeeded")==0 ){
    sqlite3 *d;
    char z[200], zGot[200];
    snprintf(z, sizeof(z), "file:%s?cancel_shared=0", zDest);
    if( (d = openDb(z))!=0 ){
      if( must(d, "PRAGMA integrity_check", zGot, sizeof(zGot))==SQLITE_OK
       && strcmp(zGot, "ok")!=0 ) fail("%s: the copy fails integrity_check: %s", zKind, zGot);
      if( must(d, TABLE_SUM "t", zGot, sizeof(zGot))==SQLITE_OK && strcmp(zGot, zWant)!=0 ){
        fail("%s succeeded but the copy holds %s", zKind, zGot);
      }
      closeDb(&d);
    }
  }else if( fileHash(zDest)!=hOld ){
    fail("%s did not succeed (%s) but the destination changed", zKind, zSt[0] ? zSt : "not started");
  }
}

static void scJobCopy(int bVacuum){
  Ctx c;
  const char *zKind = bVacuum ? "job_vacuum" : "job_backup";
  if( setup2(&c)==0 ){
    char zId[40], zSt[40] = "", zWant[200], zCall[300];
    unsigned long long hOld;
    resetTables(c.a);
    must(c.a, TABLE_SUM "t", zWant, sizeof(zWant));
    makeOldDest();
    hOld = fileHash(zDest);
    /* the old destination exists: replace = 1 */
    snprintf(zCall, sizeof(zCall), "SELECT %s('%s'%s, 1)", zKind, zDest,
             bVacuum ? "" : ", 'main'");
    runJob(&c, zCall, zId, sizeof(zId));
    if( zId[0] ) jobOutcome(c.a, zId, zSt, sizeof(zSt));
    checkCopy(zKind, zSt, hOld, zWant);
    usable(c.a, "a");
  }
  teardown2(&c);
}
static void scJobBackup(void){ scJobCopy(0); }
static void scJobVacuum(void){ scJobCopy(1); }

static void scJobImport(void){
  Ctx c;
  if( setup2(&c)==0 ){
    char zId[40], zSt[40] = "", zBefore[200], zAfter[200], zCall[300];
    resetTables(c.a);
    must(c.a, TABLE_SUM "imp", zBefore, sizeof(zBefore));
    snprintf(zCall, sizeof(zCall), "SELECT job_import('imp', '%s')", zCsv);
    runJob(&c, zCall, zId, sizeof(zId));
    if( zId[0] ) jobOutcome(c.a, zId, zSt, sizeof(zSt));
    must(c.a, TABLE_SUM "imp", zAfter, sizeof(zAfter));
    if( strcmp(zSt, "succeeded")==0 ){
      if( strcmp(zAfter, "4/88/two, \"quoted\"")!=0 ) fail("job_import succeeded but imp is %s", zAfter, 0);
    }else if( strcmp(zAfter, zBefore)!=0 ){
      fail("job_import did not succeed but imp changed: %s -> %s", zBefore, zAfter);
    }
    usable(c.a, "a");
  }
  teardown2(&c);
}

static void scJobRestore(void){
  Ctx c;
  if( setup2(&c)==0 ){
    char zId[40], zSt[40] = "", zBefore[200], zAfter[200], zCall[300];
    resetTables(c.a);
    must(c.a, TABLE_SUM "t", zBefore, sizeof(zBefore));
    snprintf(zCall, sizeof(zCall), "SELECT job_restore('%s')", zSrc);
    runJob(&c, zCall, zId, sizeof(zId));
    if( zId[0] ) jobOutcome(c.a, zId, zSt, sizeof(zSt));
    must(c.a, TABLE_SUM "t", zAfter, sizeof(zAfter));
    if( strcmp(zSt, "succeeded")==0 ){
      if( strcmp(zAfter, "50/11475/src 00050")!=0 ) fail("job_restore succeeded but t is %s", zAfter, 0);
    }else if( strcmp(zAfter, zBefore)!=0 ){
      fail("job_restore did not succeed but t changed: %s -> %s", zBefore, zAfter);
    }
    {
      char z[100];
      if( must(c.a, "PRAGMA integrity_check", z, sizeof(z))==SQLITE_OK && strcmp(z, "ok")!=0 ){
        fail("after job_restore: integrity_check: %s", z, 0);
      }
    }
    usable(c.a, "a");
  }
  teardown2(&c);
}

/* ---- the application's own jobs */

static void scAppJob(void){
  Ctx c;
  if( setup2(&c)==0 ){
    char zId[40] = "", zSql[200];
    arm();
    if( step(c.a, "SELECT job_begin('OOMAPP', 'an application job')", 0, zId, sizeof(zId)) ){
      snprintf(zSql, sizeof(zSql), "SELECT job_progress(%s, 0.5, 'half way')", zId);
      if( step(c.a, zSql, "0.5", 0, 0) ){
        snprintf(zSql, sizeof(zSql), "SELECT job_end(%s)", zId);
        step(c.a, zSql, "succeeded", 0, 0);
      }
    }else{
      zId[0] = 0;
    }
    disarm();
    usable(c.a, "a");
  }
  teardown2(&c);   /* an unfinished job fails when its session closes */
}

/* b runs an application job; a controls it. */
static void scJobControl(int bPause){
  Ctx c;
  if( setup2(&c)==0 ){
    char zId[40], zSql[200], z[40];
    if( must(c.b, "SELECT job_begin('OOMAPP', 'controlled')", zId, sizeof(zId)) ) goto done;
    if( bPause ){
      int ok;
      snprintf(zSql, sizeof(zSql), "SELECT pause_job(%s)", zId);
      /* A pause-requested job cannot be resumed (only a paused one can,
      ** and b would block in job_progress until then): b ends it. */
      arm();
      ok = step(c.a, zSql, "1", 0, 0);
      if( ok ){
        snprintf(zSql, sizeof(zSql), "SELECT status FROM jobs WHERE job_id=%s", zId);
        step(c.a, zSql, "pause-requested", 0, 0);
      }
      disarm();
      snprintf(zSql, sizeof(zSql), "SELECT job_end(%s)", zId);
      if( must(c.b, zSql, z, sizeof(z))==SQLITE_OK && strcmp(z, "succeeded")!=0 ){
        fail("app job after pause_job ended %s", z, 0);
      }
    }else{
      int ok;
      snprintf(zSql, sizeof(zSql), "SELECT cancel_job(%s)", zId);
      arm();
      ok = step(c.a, zSql, "1", 0, 0);
      disarm();
      snprintf(zSql, sizeof(zSql), "SELECT job_end(%s)", zId);
      if( must(c.b, zSql, z, sizeof(z))==SQLITE_OK ){
        if( ok && strcmp(z, "canceled")!=0 ) fail("cancel_job returned 1 but the job ended %s", z, 0);
        if( strcmp(z, "canceled")!=0 && strcmp(z, "succeeded")!=0 ) fail("app job ended %s", z, 0);
      }
    }
    usable(c.a, "a");
    usable(c.b, "b");
  }
done:
  teardown2(&c);
}
static void scCancelJob(void){ scJobControl(0); }
static void scPauseJob(void){ scJobControl(1); }

/* Count the rows of a whole scan, armed. */
static void scScan(const char *zSql, sqlite3 *db, long nWant){
  sqlite3_stmt *p = 0;
  long n = 0;
  int rc;
  arm();
  rc = sqlite3_prepare_v2(db, zSql, -1, &p, 0);
  if( rc==SQLITE_OK ){
    while( (rc = sqlite3_step(p))==SQLITE_ROW ) n++;
    if( rc==SQLITE_DONE ) rc = SQLITE_OK;
  }
  if( rc!=SQLITE_OK ) snprintf(zErr, sizeof(zErr), "%s", sqlite3_errmsg(db));
  sqlite3_finalize(p);
  disarm();
  if( rc==SQLITE_OK && n!=nWant ){
    char z1[32], z2[32];
    snprintf(z1, sizeof(z1), "%ld", n);
    snprintf(z2, sizeof(z2), "%ld", nWant);
    fail("%s", zSql, 0);
    fail("  ... returned %s rows as success, wanted %s", z1, z2);
  }else if( rc!=SQLITE_OK ){
    cleanError(rc, zSql);
  }
}

static void scJobsTable(void){
  Ctx c;
  if( setup2(&c)==0 ){
    char z[40];
    long n;
    must(c.b, "SELECT job_begin('OOMAPP', 'listed one')", z, sizeof(z));
    must(c.b, "SELECT job_begin('OOMAPP', 'listed two')", z, sizeof(z));
    n = mustLong(c.a, "SELECT count(*) FROM jobs");
    scScan("SELECT * FROM jobs", c.a, n);
    usable(c.a, "a");
  }
  teardown2(&c);
}

static void scCancelLog(void){
  Ctx c;
  if( setup2(&c)==0 ){
    long n = mustLong(c.a, "SELECT count(*) FROM cancel_log");
    scScan("SELECT * FROM cancel_log", c.a, n);
    usable(c.a, "a");
  }
  teardown2(&c);
}

static void scClose(void){
  Ctx c;
  if( setup2(&c)==0 ){
    char zSql[100];
    int rc;
    arm();
    rc = sqlite3_close(c.b);
    disarm();
    c.b = 0;
    if( rc!=SQLITE_OK ) fail("sqlite3_close under OOM returned %s", sqlite3_errstr(rc), 0);
    snprintf(zSql, sizeof(zSql), "SELECT count(*) FROM sessions WHERE pid=%s", c.zPidB);
    if( mustLong(c.a, zSql)!=0 ) fail("a closed session is still listed", 0, 0);
  }
  teardown2(&c);
}

typedef struct Scenario Scenario;
struct Scenario {
  const char *zName;
  void (*x)(void);
  long nRuns, nInjected, nFail;
};
static Scenario aSc[] = {
  { "open",                 scOpen, 0,0,0 },
  { "sessions",             scSessions, 0,0,0 },
  { "cancel_query",         scCancelQuery, 0,0,0 },
  { "pg_cancel_backend",    scPgCancel, 0,0,0 },
  { "cancel_session",       scCancelSession, 0,0,0 },
  { "cancel_session(sel)",  scCancelSessionSel, 0,0,0 },
  { "cancel_sessions",      scCancelSessions, 0,0,0 },
  { "pg_terminate_backend", scPgTerminate, 0,0,0 },
  { "pg_terminate(wait)",   scPgTerminateWait, 0,0,0 },
  { "set_*",                scSetFunctions, 0,0,0 },
  { "blocking_sessions",    scBlocking, 0,0,0 },
  { "job_exec",             scJobExec, 0,0,0 },
  { "job_backup",           scJobBackup, 0,0,0 },
  { "job_import",           scJobImport, 0,0,0 },
  { "job_vacuum",           scJobVacuum, 0,0,0 },
  { "job_restore",          scJobRestore, 0,0,0 },
  { "job_begin/progress/end", scAppJob, 0,0,0 },
  { "cancel_job",           scCancelJob, 0,0,0 },
  { "pause/resume_job",     scPauseJob, 0,0,0 },
  { "jobs table",           scJobsTable, 0,0,0 },
  { "cancel_log table",     scCancelLog, 0,0,0 },
  { "close",                scClose, 0,0,0 },
};
#define N_SC (int)(sizeof(aSc)/sizeof(aSc[0]))

/* ------------------------------------------------------------ checks */

static int nBaseThreads = 0;
static long nBaseOut = 0;          /* outstanding, cancel log texts excluded */

/* Unarmed, after a run: every job final and purged; returns the number
** of allocations the cancel log holds for texts. */
static long settle(void){
  sqlite3 *db = openDb(zDb);
  long nLog = -1;
  sqlite3_stmt *p = 0;
  int i;
  if( db==0 ) return -1;
  if( sqlite3_prepare_v2(db, "SELECT job_id, job_wait(job_id, 30000) FROM jobs "
                             "WHERE status NOT IN ('succeeded','failed','canceled')",
                         -1, &p, 0)==SQLITE_OK ){
    while( sqlite3_step(p)==SQLITE_ROW ){
      const char *z = (const char*)sqlite3_column_text(p, 1);
      if( z==0 || (strcmp(z, "succeeded") && strcmp(z, "failed") && strcmp(z, "canceled")) ){
        fail("a job is stuck: %s", z ? z : "NULL", 0);
      }
    }
  }
  sqlite3_finalize(p);
  /* retention 0 drops finished jobs, then back to a day so that a job
  ** just finished can still be looked at in the next run */
  must(db, "SELECT set_job_retention(0)", 0, 0);
  must(db, "SELECT set_job_retention(86400)", 0, 0);
  /* (one allocation holds an entry's three texts, when it has any) */
  nLog = mustLong(db, "SELECT count(*) FROM cancel_log WHERE by_user IS NOT NULL "
                      "OR target_user IS NOT NULL OR target_query IS NOT NULL");
  closeDb(&db);
  /* detached job threads end just after their job does */
  for(i=0; i<2000 && threadCount()>nBaseThreads; i++) napMs(1);
  if( threadCount()>nBaseThreads ) fail("a job thread did not exit", 0, 0);
  return nLog;
}

static void checkLeaks(long nLog){
  long nWant = nBaseOut + nLog;
  int i;
  /* a thread that just ended may still be freeing what it held */
  for(i=0; i<500 && atomic_load(&memOut)!=nWant; i++) napMs(1);
  if( atomic_load(&memOut)!=nWant ){
    char z1[64], z2[64];
    snprintf(z1, sizeof(z1), "%ld allocations outstanding (%ld bytes)",
             atomic_load(&memOut), atomic_load(&memOutBytes));
    snprintf(z2, sizeof(z2), "%ld (baseline %ld + %ld cancel log texts)", nWant, nBaseOut, nLog);
    fail("leak: %s, wanted %s", z1, z2);
  }
}

static void writeFixtures(void){
  FILE *f = fopen(zCsv, "wb");
  sqlite3 *db;
  char z[200];
  if( f ){
    fputs("a,b\r\n2,two\r\n3,\"two, \"\"quoted\"\"\"\r\n4,\"multi\nline\"\r\n", f);
    fclose(f);
  }
  remove(zSrc);
  snprintf(z, sizeof(z), "file:%s?cancel_shared=0", zSrc);
  if( (db = openDb(z))!=0 ){
    mustExec(db, "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);"
             "WITH RECURSIVE c(i) AS (VALUES(1) UNION ALL SELECT i+1 FROM c WHERE i<50)"
             " INSERT INTO t(b) SELECT printf('src %05d', i) FROM c;");
    closeDb(&db);
  }
  remove(zDb);
  if( (db = openDb(zDb))!=0 ){
    must(db, "PRAGMA journal_mode=WAL", 0, 0);
    resetTables(db);
    closeDb(&db);
  }
}

int main(int argc, char **argv){
  int stride = argc>1 ? atoi(argv[1]) : 1;
  const char *zOnly = argc>2 ? argv[2] : 0;
  int i, mode, nFailTotal = 0, nScen = 0;
  long nRunsTotal = 0, nInjTotal = 0;
  sqlite3_mem_methods m;
  time_t t0 = time(0);

  if( stride<1 ) stride = 1;
  if( getenv("OOM_VERBOSE") ) bVerbose = 1;
  if( setupDir("oom") ) return 1;

  sqlite3_config(SQLITE_CONFIG_GETMALLOC, &memDefault);
  m = memDefault;
  m.xMalloc = memMalloc;
  m.xFree = memFree;
  m.xRealloc = memRealloc;
  m.xSize = memSize;
  m.xRoundup = memRoundup;
  m.xInit = memInit;
  m.xShutdown = memShutdown;
  if( sqlite3_config(SQLITE_CONFIG_MALLOC, &m)!=SQLITE_OK ){
    fprintf(stderr, "oom: SQLITE_CONFIG_MALLOC failed\n");
    return 1;
  }
  sqlite3_initialize();
  sqlite3_auto_extension((void(*)(void))sqlite3_cancel_init);
  writeFixtures();

  /* Warm-up: every scenario once, unarmed; then the baseline. */
  for(i=0; i<N_SC; i++){ zScenario = aSc[i].zName; aSc[i].x(); }
  zScenario = "warm-up";
  nBaseThreads = threadCount();
  {
    long nLog = settle();
    for(i=0; i<200; i++) napMs(1);
    nBaseThreads = threadCount();
    nBaseOut = atomic_load(&memOut) - nLog;
  }
  if( nFailRun ){ fprintf(stderr, "oom: the warm-up failed\n"); return 1; }
  printf("oom: baseline after warm-up: %ld allocations (%ld bytes) held for the "
         "process's life, %d threads\n", nBaseOut, atomic_load(&memOutBytes), nBaseThreads);

  for(i=0; i<N_SC; i++){
    Scenario *s = &aSc[i];
    if( zOnly && strcmp(zOnly, s->zName)!=0 ) continue;
    nScen++;
    zScenario = s->zName;
    for(mode=0; mode<2; mode++){
      long n;
      atomic_store(&memPersistent, mode);
      for(n=getenv("OOM_N") ? atol(getenv("OOM_N")) : 1; n<1000000;
          n = (n<30 || stride==1) ? n+1 : n+stride){
        long nInj, nLog;
        iRunN = n;
        nFailRun = 0;
        atomic_store(&memCalls, 0);
        atomic_store(&memInjected, 0);
        atomic_store(&memFailAt, n);
        s->x();
        disarm();
        nInj = atomic_load(&memInjected);
        nLog = settle();
        checkLeaks(nLog);
        s->nRuns++;
        s->nInjected += nInj;
        s->nFail += nFailRun;
        if( nInj==0 || getenv("OOM_N") ) break;
      }
    }
    printf("oom: %-24s %6ld runs, %7ld faults injected, %ld failures\n",
           s->zName, s->nRuns, s->nInjected, s->nFail);
    fflush(stdout);
    nRunsTotal += s->nRuns;
    nInjTotal += s->nInjected;
    nFailTotal += (int)s->nFail;
  }
  printf("oom: %ld job calls failed with the job started anyway (checked like the others)\n",
         nStartedAnyway);
  printf("oom: %d scenarios, %ld runs (transient and persistent, stride %d), "
         "%ld faults injected, %ld unexpected errors, %d failures, %ld s\n",
         nScen, nRunsTotal, stride, nInjTotal, nUnexpected, nFailTotal,
         (long)(time(0)-t0));
  return nFailTotal ? 1 : 0;
}
