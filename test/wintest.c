/*
** wintest.c: cancel.dll loaded into a sqlite3.dll built from the newest
** release, on Windows (under Wine here: test/windows.sh). Cross-built with
** mingw-w64; Windows threads and events, no POSIX.
**
**   wintest.exe DIR     runs every check in DIR (created if missing);
**                       cancel.dll is taken from the program's directory
**
** Covers: loading (and refused loads), the sessions table, a running
** statement cancelled from another thread (listed first, then stopped
** with SQLITE_INTERRUPT), pg_terminate_backend, a statement timeout, a
** backup job and its outcome, and a sweep of calls with bad arguments,
** each of which must fail with its message. Last line: "N passed, N failed".
*/
#include <windows.h>
#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sqlite3.h"

static int nPass = 0, nFail = 0;
static char zExt[MAX_PATH];           /* full path of cancel.dll */

static void wtCheck(const char *zName, int bOk, const char *zDetail){
  if( bOk ){
    nPass++;
  }else{
    nFail++;
    printf("! %s: %s\n", zName, zDetail ? zDetail : "failed");
  }
  fflush(stdout);
}

/* The first column of the first row of zSql as text ("" for NULL or no
** row) in zOut; returns the statement's result code (SQLITE_OK when it
** completed) and leaves the error message in zOut on failure. */
static int wtOne(sqlite3 *db, const char *zSql, char *zOut, int nOut){
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  zOut[0] = 0;
  if( rc!=SQLITE_OK ){
    snprintf(zOut, nOut, "%s", sqlite3_errmsg(db));
    return rc;
  }
  while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
    if( zOut[0]==0 ){
      const char *z = (const char*)sqlite3_column_text(pStmt, 0);
      snprintf(zOut, nOut, "%s", z ? z : "");
    }
  }
  if( rc==SQLITE_DONE ){
    rc = SQLITE_OK;
  }else{
    snprintf(zOut, nOut, "%s", sqlite3_errmsg(db));
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/* zSql must succeed and give zWant. */
static void wtExpect(const char *zName, sqlite3 *db, const char *zSql,
                     const char *zWant){
  char z[512], zMsg[700];
  int rc = wtOne(db, zSql, z, sizeof(z));
  snprintf(zMsg, sizeof(zMsg), "%s: rc %d, got '%s', want '%s'", zSql, rc, z, zWant);
  wtCheck(zName, rc==SQLITE_OK && strcmp(z, zWant)==0, zMsg);
}

/* zSql must fail with an error message containing zWant. */
static void wtExpectError(const char *zName, sqlite3 *db, const char *zSql,
                          const char *zWant){
  char z[512], zMsg[700];
  int rc = wtOne(db, zSql, z, sizeof(z));
  snprintf(zMsg, sizeof(zMsg), "%s: rc %d, got '%s', want an error with '%s'",
           zSql, rc, z, zWant);
  wtCheck(zName, rc!=SQLITE_OK && strstr(z, zWant)!=0, zMsg);
}

static sqlite3 *wtOpen(const char *zDb, int bLoad){
  sqlite3 *db = 0;
  char *zErr = 0;
  if( sqlite3_open(zDb, &db)!=SQLITE_OK ){
    printf("! open %s: %s\n", zDb, db ? sqlite3_errmsg(db) : "no memory");
    nFail++;
    return db;
  }
  if( bLoad ){
    sqlite3_enable_load_extension(db, 1);
    if( sqlite3_load_extension(db, zExt, 0, &zErr)!=SQLITE_OK ){
      printf("! load %s: %s\n", zExt, zErr ? zErr : "?");
      nFail++;
    }
    sqlite3_free(zErr);
  }
  return db;
}

static int wtPid(sqlite3 *db){
  char z[64];
  return wtOne(db, "SELECT pg_backend_pid()", z, sizeof(z))==SQLITE_OK ? atoi(z) : 0;
}

/* ---- a statement that runs until stopped, on its own thread ---------- */

/* The statement calls announce() once it has run well past the point
** where a session lists its statement (100 to 200 VM instructions), then
** runs until something stops it. */
#define WT_ENDLESS \
  "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) " \
  "SELECT count(*) FROM c WHERE CASE WHEN x=5000 THEN announce() ELSE 0 END"

typedef struct WtRunner WtRunner;
struct WtRunner {
  sqlite3 *db;
  HANDLE hStarted;        /* set by announce() from inside the statement */
  HANDLE hThread;
  int rc;                 /* the statement's result code */
  char zErr[256];
};

static void wtAnnounce(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  WtRunner *p = (WtRunner*)sqlite3_user_data(ctx);
  (void)argc; (void)argv;
  SetEvent(p->hStarted);
  sqlite3_result_int(ctx, 0);
}

static DWORD WINAPI wtRunnerMain(LPVOID pArg){
  WtRunner *p = (WtRunner*)pArg;
  p->rc = wtOne(p->db, WT_ENDLESS, p->zErr, sizeof(p->zErr));
  return 0;
}

/* Starts the endless statement on db in a new thread and waits until it
** announces itself: 1 when it did. */
static int wtRunnerStart(WtRunner *p, sqlite3 *db){
  memset(p, 0, sizeof(*p));
  p->db = db;
  p->hStarted = CreateEventA(0, TRUE, FALSE, 0);
  sqlite3_create_function(db, "announce", 0, SQLITE_UTF8, p, wtAnnounce, 0, 0);
  p->hThread = CreateThread(0, 0, wtRunnerMain, p, 0, 0);
  return p->hThread && WaitForSingleObject(p->hStarted, 60000)==WAIT_OBJECT_0;
}

/* Waits for the statement's end (at most 30 s, then interrupts it so
** that the run goes on): 1 when it ended by itself. */
static int wtRunnerJoin(WtRunner *p){
  int bEnded = WaitForSingleObject(p->hThread, 30000)==WAIT_OBJECT_0;
  if( !bEnded ){
    sqlite3_interrupt(p->db);
    WaitForSingleObject(p->hThread, INFINITE);
  }
  CloseHandle(p->hThread);
  CloseHandle(p->hStarted);
  return bEnded;
}

/* ---- the checks ------------------------------------------------------ */

static void wtLoading(void){
  sqlite3 *db = wtOpen("load.db", 0);
  char *zErr = 0;
  int rc;
  sqlite3_enable_load_extension(db, 1);
  rc = sqlite3_load_extension(db, "no-such-extension", 0, &zErr);
  wtCheck("load.1 a missing DLL is refused", rc==SQLITE_ERROR && zErr, zErr);
  sqlite3_free(zErr); zErr = 0;
  rc = sqlite3_load_extension(db, zExt, "no_such_init", &zErr);
  wtCheck("load.2 a missing entry point is refused", rc==SQLITE_ERROR && zErr, zErr);
  sqlite3_free(zErr); zErr = 0;
  rc = sqlite3_load_extension(db, zExt, 0, &zErr);
  wtCheck("load.3 cancel.dll loads", rc==SQLITE_OK, zErr);
  sqlite3_free(zErr);
  wtExpect("load.4 version", db, "SELECT cancel_version()", "0.3.0");
  wtExpect("load.5 one session", db, "SELECT count(*) FROM sessions", "1");
  sqlite3_close(db);
}

static void wtSessions(void){
  sqlite3 *a = wtOpen("main.db", 1), *b = wtOpen("main.db", 1);
  char zSql[200];
  wtExpect("sessions.1 two rows", a, "SELECT count(*) FROM sessions", "2");
  snprintf(zSql, sizeof(zSql),
           "SELECT count(*) FROM sessions WHERE pid IN (%d,%d) AND node_id=%lu",
           wtPid(a), wtPid(b), (unsigned long)GetCurrentProcessId());
  wtExpect("sessions.2 both pids, this process", b, zSql, "2");
  wtExpect("sessions.3 own row, running", a,
           "SELECT status FROM sessions WHERE pid=pg_backend_pid()", "active");
  sqlite3_close(b);
  wtExpect("sessions.4 closing ends a session", a, "SELECT count(*) FROM sessions", "1");
  sqlite3_close(a);
}

/* A statement of another thread: listed while it runs, then cancelled. */
static void wtCancel(void){
  sqlite3 *a = wtOpen("main.db", 1), *b = wtOpen("main.db", 1);
  WtRunner r;
  char zSql[300];
  int pid = wtPid(b);
  wtCheck("cancel.1 the statement announced itself", wtRunnerStart(&r, b), 0);
  snprintf(zSql, sizeof(zSql), "SELECT status || ':' || (active_query LIKE "
           "'%%announce()%%') FROM sessions WHERE pid=%d", pid);
  wtExpect("cancel.2 listed as active", a, zSql, "active:1");
  snprintf(zSql, sizeof(zSql), "SELECT pg_cancel_backend(%d)", pid);
  wtExpect("cancel.3 pg_cancel_backend", a, zSql, "1");
  wtCheck("cancel.4 the statement ended", wtRunnerJoin(&r), 0);
  wtCheck("cancel.5 with SQLITE_INTERRUPT", r.rc==SQLITE_INTERRUPT, r.zErr);
  wtExpect("cancel.6 the session stays usable", b, "SELECT 40+2", "42");
  wtExpect("cancel.7 the reason", b,
           "SELECT cancel_reason() LIKE '%pg_cancel_backend%'", "1");
  snprintf(zSql, sizeof(zSql), "SELECT pg_cancel_backend(%d)", 2147483000);
  wtExpect("cancel.8 no such backend", a, zSql, "0");
  sqlite3_close(b);
  sqlite3_close(a);
}

static void wtTerminate(void){
  sqlite3 *a = wtOpen("main.db", 1), *b = wtOpen("main.db", 1);
  WtRunner r;
  char zSql[200], z[256];
  int pid = wtPid(b), rc;
  wtCheck("terminate.1 the statement announced itself", wtRunnerStart(&r, b), 0);
  snprintf(zSql, sizeof(zSql), "SELECT pg_terminate_backend(%d, 10000)", pid);
  wtExpect("terminate.2 pg_terminate_backend, complete", a, zSql, "1");
  wtCheck("terminate.3 the statement ended", wtRunnerJoin(&r), 0);
  wtCheck("terminate.4 with SQLITE_INTERRUPT", r.rc==SQLITE_INTERRUPT, r.zErr);
  snprintf(zSql, sizeof(zSql), "SELECT count(*) FROM sessions WHERE pid=%d", pid);
  wtExpect("terminate.5 no longer listed", a, zSql, "0");
  rc = wtOne(b, "SELECT name FROM sqlite_schema", z, sizeof(z));
  wtCheck("terminate.6 later statements refused", rc==SQLITE_AUTH, z);
  rc = wtOne(b, "SELECT cancel_reason()", z, sizeof(z));
  wtCheck("terminate.7 the reason", rc==SQLITE_OK
          && strncmp(z, "terminated by pg_terminate_backend", 34)==0, z);
  sqlite3_close(b);
  sqlite3_close(a);
}

static void wtTimeout(void){
  sqlite3 *db = wtOpen("main.db", 1);
  char z[256];
  ULONGLONG t0;
  int rc, ms;
  sqlite3_create_function(db, "announce", 0, SQLITE_UTF8, 0, 0, 0, 0);
  wtExpect("timeout.1 set", db, "SELECT set_statement_timeout(300)", "300");
  t0 = GetTickCount64();
  rc = wtOne(db, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) "
                 "SELECT count(*) FROM c", z, sizeof(z));
  ms = (int)(GetTickCount64() - t0);
  wtCheck("timeout.2 stopped with SQLITE_INTERRUPT", rc==SQLITE_INTERRUPT, z);
  snprintf(z, sizeof(z), "after %d ms", ms);
  wtCheck("timeout.3 not before 300 ms, within 20 s", ms>=280 && ms<20000, z);
  wtExpect("timeout.4 the next statement runs", db, "SELECT 6*7", "42");
  wtExpect("timeout.5 the reason", db,
           "SELECT cancel_reason() LIKE '%statement_timeout%'", "1");
  wtExpect("timeout.6 off", db, "SELECT set_statement_timeout(0)", "0");
  sqlite3_close(db);
}

static void wtJob(void){
  sqlite3 *db = wtOpen("main.db", 1), *bk;
  char z[256], zSql[200];
  int rc;
  rc = sqlite3_exec(db, "CREATE TABLE t(x); WITH RECURSIVE c(x) AS (SELECT 1 "
                   "UNION ALL SELECT x+1 FROM c WHERE x<20000) INSERT INTO t "
                   "SELECT x FROM c; INSERT INTO t SELECT x FROM t", 0, 0, 0);
  wtCheck("job.1 a table", rc==SQLITE_OK, sqlite3_errmsg(db));
  rc = wtOne(db, "SELECT job_backup('backup.db')", z, sizeof(z));
  wtCheck("job.2 job_backup gives a job id", rc==SQLITE_OK && atoi(z)>0, z);
  snprintf(zSql, sizeof(zSql), "SELECT job_wait(%d, 60000)", atoi(z));
  wtExpect("job.3 job_wait: succeeded", db, zSql, "succeeded");
  snprintf(zSql, sizeof(zSql), "SELECT status || ' ' || job_type FROM jobs "
           "WHERE job_id=%d", atoi(z));
  wtExpect("job.4 listed in jobs", db, zSql, "succeeded BACKUP");
  bk = wtOpen("backup.db", 0);
  wtExpect("job.5 the copy holds every row", bk, "SELECT count(*) FROM t", "40000");
  sqlite3_close(bk);
  wtExpectError("job.6 never overwrites", db, "SELECT job_backup('backup.db')",
                "output file already exists");
  sqlite3_close(db);
}

/* Each call has a bad argument: it must fail with its message. */
static void wtSweep(void){
  static const char *az[] = {
    "SELECT pg_cancel_backend('x')", "pid must be an integer",
    "SELECT pg_cancel_backend(0)", "pid must be between 1 and 2147483647",
    "SELECT pg_cancel_backend(NULL)", "pid must be an integer",
    "SELECT pg_terminate_backend(1, -5)", "timeout_ms must be between 0 and 86400000",
    "SELECT pg_terminate_backend(2147483648)", "pid must be between",
    "SELECT cancel_query(NULL)", "query ID must be text, not NULL",
    "SELECT cancel_query('zz')", "invalid query ID 'zz': expected 32 hex digits",
    "SELECT cancel_query(x'00')", "cancel_query: query ID must be text",
    "SELECT cancel_query(session_id())", "is a session ID, not a query ID",
    "SELECT cancel_session(5)", "expected a session ID (32 hex digits) or a selection query",
    "SELECT cancel_session('0123456789abcdef0123456789abcde')", "(31 hex digits)",
    "SELECT cancel_sessions('DELETE FROM t')", "must be one read-only SELECT",
    "SELECT cancel_sessions('SELECT 1; SELECT 2')", "must be one statement",
    "SELECT cancel_sessions('')", "the selection query is empty",
    "SELECT cancel_query('0123456789abcdef0123456789abcdef', 2)", "if_exists must be 0 or 1",
    "SELECT set_statement_timeout(-1)", "ms must be between 0 and 2147483647",
    "SELECT set_statement_timeout('abc')", "ms must be an integer",
    "SELECT set_busy_timeout(86400001)", "ms must be between 0 and 86400000",
    "SELECT set_idle_in_transaction_session_timeout(1.5)", "ms must be an integer",
    "SELECT set_session_user('bob', 2)", "admin must be 0 or 1",
    "SELECT set_session_user(NULL)", "name must be text, not NULL",
    "SELECT set_application_name(x'0102')", "name must be text",
    "SELECT job_backup(NULL)", "file must be text, not NULL",
    "SELECT job_backup(x'00')", "job_backup: file must be text",
    "SELECT job_wait('abc')", "job_id must be an integer",
    "SELECT job_wait(-1)", "job_id must be a positive integer",
    "SELECT job_wait(1, -1)", "timeout_ms must be between 0 and 2147483647",
    "SELECT cancel_job(0)", "job_id must be a positive integer",
    "SELECT pause_job(NULL)", "job_id must be an integer",
    "SELECT job_begin(NULL)", "job_type must be text, not NULL",
    "SELECT job_progress(1, 2.0)", "fraction must be a number from 0 to 1",
    "SELECT job_exec(NULL)", "sql_script must be text, not NULL",
    "SELECT job_import(NULL, 'x.csv')", "table must be text, not NULL",
    "SELECT set_job_retention(-1)", "seconds must be between 0 and 3153600000",
    "SELECT blocking_sessions(NULL)", "session ID must be text, not NULL",
    "SELECT pg_blocking_pids('x')", "pid must be an integer",
    "INSERT INTO sessions(pid) VALUES(1)", "only DELETE is supported",
    "SELECT cancel_watch(1)", "the database file name must be text",
    "SELECT pg_cancel_backend()", "wrong number of arguments",
    "SELECT job_wait(1, 2, 3)", "wrong number of arguments",
  };
  sqlite3 *db = wtOpen("main.db", 1);
  char zName[64];
  int i;
  for(i=0; i+1<(int)(sizeof(az)/sizeof(az[0])); i+=2){
    snprintf(zName, sizeof(zName), "sweep.%d", i/2+1);
    wtExpectError(zName, db, az[i], az[i+1]);
  }
  wtExpect("sweep.end the session still works", db,
           "SELECT count(*) FROM sessions WHERE pid=pg_backend_pid()", "1");
  sqlite3_close(db);
}

/* ---- two processes ---------------------------------------------------
** The program runs again as a peer (wintest.exe DIR --peer PARENT-PID or
** --hold PARENT-PID) on the same database. Named events, "wintest-PID-N"
** of the parent's pid, are the handshakes:
**   1  the peer's first statement runs: the parent cancels it
**   2  the peer's second statement runs: the parent terminates that session
**   3  the parent's own statement runs: the peer cancels it
**   4  the peer has cancelled it, and begun a job
**   5  (--hold) the peer's session is open: the parent kills the process
**   6  the parent has cancelled the peer's job
**   10+i  (--race) peer i's session on race.db is open and shared
**   9  (--race) the parent has counted them: the peers close and exit
*/
static HANDLE wtEvent(unsigned long parent, int n){
  char zName[64];
  snprintf(zName, sizeof(zName), "wintest-%lu-%d", parent, n);
  return CreateEventA(0, TRUE, FALSE, zName);   /* (opened if it exists) */
}

/* Waits for event h or the end of process hProc: 1 when h came first. */
static int wtAwait(HANDLE h, HANDLE hProc){
  HANDLE a[2];
  a[0] = h;
  a[1] = hProc;
  return WaitForMultipleObjects(hProc ? 2 : 1, a, FALSE, 60000)==WAIT_OBJECT_0;
}

static void wtPeerAnnounce(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  (void)argc; (void)argv;
  SetEvent((HANDLE)sqlite3_user_data(ctx));
  sqlite3_result_int(ctx, 0);
}

/* The pid of the one session of process ospid whose statement runs
** announce(), as text in zOut (empty if none). */
static void wtFindActive(sqlite3 *db, unsigned long ospid, char *zOut, int nOut){
  char zSql[300];
  snprintf(zSql, sizeof(zSql), "SELECT pid FROM sessions WHERE node_id=%lu AND "
           "status='active' AND active_query LIKE '%%announce()%%'", ospid);
  if( wtOne(db, zSql, zOut, nOut)!=SQLITE_OK ) zOut[0] = 0;
}

/* --race: one of several peers started at once on a database with no
** registry file yet, so that they race to create and initialize it. */
static int wtRacer(unsigned long parent, int iPeer){
  sqlite3 *db = wtOpen("race.db", 1);
  wtExpect("race.1 shared", db,
           "SELECT cancel_registry() LIKE 'shared: %race.db-cancel'", "1");
  SetEvent(wtEvent(parent, 10+iPeer));
  WaitForSingleObject(wtEvent(parent, 9), 60000);
  sqlite3_close(db);
  return nFail ? 1 : 0;
}

/* --dmg: a process that finds dmg.db's registry file damaged while
** another process holds it must leave it alone (no re-initialization
** under a process that uses it) and say why. */
static int wtDamaged(void){
  sqlite3 *db = wtOpen("dmg.db", 1);
  wtExpect("dmg.1 refused, not re-initialized", db,
           "SELECT cancel_registry() LIKE 'not shared: %dmg.db-cancel: "
           "damaged header (% slot size 7)'", "1");
  sqlite3_close(db);
  return nFail ? 1 : 0;
}

static int wtPeer(unsigned long parent, int bHold){
  sqlite3 *p1 = wtOpen("main.db", 1), *p2 = wtOpen("main.db", 1);
  char z[256], zSql[200];
  int rc;
  if( bHold ){
    SetEvent(wtEvent(parent, 5));
    Sleep(INFINITE);              /* until the parent kills us */
  }
  sqlite3_create_function(p1, "announce", 0, SQLITE_UTF8, wtEvent(parent, 1),
                          wtPeerAnnounce, 0, 0);
  rc = wtOne(p1, WT_ENDLESS, z, sizeof(z));
  wtCheck("peer.1 cancelled from the parent", rc==SQLITE_INTERRUPT, z);
  snprintf(zSql, sizeof(zSql), "SELECT cancel_reason() LIKE "
           "'cancelled by pg_cancel_backend:%%(process %lu)%%'", parent);
  wtExpect("peer.2 the reason names the parent", p1, zSql, "1");
  wtExpect("peer.3 still usable", p1, "SELECT 6*7", "42");
  sqlite3_create_function(p2, "announce", 0, SQLITE_UTF8, wtEvent(parent, 2),
                          wtPeerAnnounce, 0, 0);
  rc = wtOne(p2, WT_ENDLESS, z, sizeof(z));
  wtCheck("peer.4 terminated from the parent", rc==SQLITE_INTERRUPT, z);
  /* (refused at prepare: by the authorizer, or as "interrupted" while
  ** the interrupt that came from the other process is still set: Linux
  ** shows both too) */
  rc = wtOne(p2, "SELECT name FROM sqlite_schema", z, sizeof(z));
  wtCheck("peer.5 later statements refused",
          rc==SQLITE_AUTH || rc==SQLITE_INTERRUPT, z);
  /* the other way: the parent's statement, cancelled from here */
  wtCheck("peer.6 the parent's statement runs",
          WaitForSingleObject(wtEvent(parent, 3), 60000)==WAIT_OBJECT_0, 0);
  wtFindActive(p1, parent, z, sizeof(z));
  wtCheck("peer.7 listed here", atoi(z)>0, "no active session of the parent");
  snprintf(zSql, sizeof(zSql), "SELECT pg_cancel_backend(%d)", atoi(z));
  wtExpect("peer.8 pg_cancel_backend across", p1, zSql, "1");
  /* a job of this process, cancelled by the parent */
  rc = wtOne(p1, "SELECT job_begin('WINTEST', 'cancelled across')", z, sizeof(z));
  wtCheck("peer.9 job_begin", rc==SQLITE_OK && atoi(z)>0, z);
  SetEvent(wtEvent(parent, 4));
  wtCheck("peer.10 the parent cancelled the job",
          WaitForSingleObject(wtEvent(parent, 6), 60000)==WAIT_OBJECT_0, 0);
  snprintf(zSql, sizeof(zSql), "SELECT job_progress(%d, 0.5)", atoi(z));
  wtExpectError("peer.11 job_progress: canceled", p1, zSql, "job canceled");
  snprintf(zSql, sizeof(zSql), "SELECT job_end(%d)", atoi(z));
  wtExpect("peer.12 job_end: canceled", p1, zSql, "canceled");
  sqlite3_close(p2);
  sqlite3_close(p1);
  printf("peer: %d passed, %d failed\n", nPass, nFail);
  return nFail ? 1 : 0;
}

/* Starts this program as a peer: its process handle, or 0. */
static HANDLE wtSpawn(const char *zDir, const char *zRole){
  STARTUPINFOA si;
  PROCESS_INFORMATION pi;
  char zSelf[MAX_PATH], zCmd[3*MAX_PATH];
  GetModuleFileNameA(0, zSelf, sizeof(zSelf));
  snprintf(zCmd, sizeof(zCmd), "\"%s\" \"%s\" %s %lu", zSelf, zDir, zRole,
           (unsigned long)GetCurrentProcessId());
  memset(&si, 0, sizeof(si));
  si.cb = sizeof(si);
  if( !CreateProcessA(zSelf, zCmd, 0, 0, TRUE, 0, 0, 0, &si, &pi) ) return 0;
  CloseHandle(pi.hThread);
  return pi.hProcess;
}

static void wtCross(const char *zDir){
  unsigned long me = GetCurrentProcessId(), peer;
  sqlite3 *a = wtOpen("main.db", 1), *b = wtOpen("main.db", 1);
  HANDLE hPeer;
  WtRunner r;
  char z[256], zSql[300];
  DWORD code = 99;
  int rc;
  wtExpect("cross.1 the registry file is shared", a,
           "SELECT cancel_registry() LIKE 'shared: %main.db-cancel'", "1");
  hPeer = wtSpawn(zDir, "--peer");
  wtCheck("cross.2 the peer started", hPeer!=0, "CreateProcess failed");
  if( hPeer==0 ) return;
  peer = GetProcessId(hPeer);
  wtCheck("cross.3 the peer's statement runs", wtAwait(wtEvent(me, 1), hPeer), 0);
  snprintf(zSql, sizeof(zSql), "SELECT count(*) FROM sessions WHERE node_id=%lu", peer);
  wtExpect("cross.4 the peer's two sessions listed here", a, zSql, "2");
  wtFindActive(a, peer, z, sizeof(z));
  wtCheck("cross.5 its statement listed as active", atoi(z)>0, "not listed");
  {
    /* a watcher on another database sees them too */
    sqlite3 *w = wtOpen("load.db", 1);
    char zW[256];
    wtExpect("cross.5w cancel_watch", w,
             "SELECT cancel_watch('main.db') LIKE 'watching: shared: %main.db-cancel'", "1");
    wtFindActive(w, peer, zW, sizeof(zW));
    wtCheck("cross.5x the watcher sees the same statement", strcmp(z, zW)==0, zW);
    sqlite3_close(w);
  }
  snprintf(zSql, sizeof(zSql), "SELECT pg_cancel_backend(%d)", atoi(z));
  wtExpect("cross.6 pg_cancel_backend across", a, zSql, "1");
  wtCheck("cross.7 its next statement runs", wtAwait(wtEvent(me, 2), hPeer), 0);
  wtFindActive(a, peer, z, sizeof(z));
  snprintf(zSql, sizeof(zSql), "SELECT pg_terminate_backend(%d, 10000)", atoi(z));
  wtExpect("cross.8 pg_terminate_backend across, complete", a, zSql, "1");
  snprintf(zSql, sizeof(zSql), "SELECT count(*) FROM sessions WHERE node_id=%lu", peer);
  wtExpect("cross.9 one session of the peer left", a, zSql, "1");
  /* the other way round */
  if( wtRunnerStart(&r, b) ){
    SetEvent(wtEvent(me, 3));
    wtCheck("cross.10 the peer cancelled", wtAwait(wtEvent(me, 4), hPeer), 0);
  }else{
    wtCheck("cross.10 own statement announced itself", 0, 0);
  }
  wtCheck("cross.11 own statement ended", wtRunnerJoin(&r), 0);
  wtCheck("cross.12 with SQLITE_INTERRUPT", r.rc==SQLITE_INTERRUPT, r.zErr);
  snprintf(zSql, sizeof(zSql), "SELECT cancel_reason() LIKE "
           "'cancelled by pg_cancel_backend:%%(process %lu)%%'", peer);
  wtExpect("cross.13 the reason names the peer", b, zSql, "1");
  /* the peer's job, seen and cancelled here */
  snprintf(zSql, sizeof(zSql), "SELECT job_id FROM jobs WHERE job_type='WINTEST' "
           "AND status='running' AND node_id=%lu", peer);
  rc = wtOne(a, zSql, z, sizeof(z));
  wtCheck("cross.13j the peer's job listed, running", rc==SQLITE_OK && atoi(z)>0, z);
  snprintf(zSql, sizeof(zSql), "SELECT cancel_job(%d)", atoi(z));
  wtExpect("cross.13k cancel_job across", a, zSql, "1");
  SetEvent(wtEvent(me, 6));
  WaitForSingleObject(hPeer, 60000);
  GetExitCodeProcess(hPeer, &code);
  wtCheck("cross.14 the peer's own checks passed", code==0, "peer failed");
  CloseHandle(hPeer);
  snprintf(zSql, sizeof(zSql), "SELECT count(*) FROM sessions WHERE node_id=%lu", peer);
  wtExpect("cross.15 the peer exited: none of its sessions left", a, zSql, "0");
  snprintf(zSql, sizeof(zSql), "SELECT status FROM jobs WHERE job_type='WINTEST'");
  wtExpect("cross.15j its job listed as canceled", a, zSql, "canceled");
  /* a peer killed while its sessions are open: gone as soon as its
  ** process is (while this process still holds its handle, and after) */
  hPeer = wtSpawn(zDir, "--hold");
  peer = hPeer ? GetProcessId(hPeer) : 0;
  wtCheck("cross.16 a holding peer started", hPeer && wtAwait(wtEvent(me, 5), hPeer), 0);
  snprintf(zSql, sizeof(zSql), "SELECT count(*) FROM sessions WHERE node_id=%lu", peer);
  wtExpect("cross.17 its sessions listed", a, zSql, "2");
  if( hPeer ){
    TerminateProcess(hPeer, 9);
    WaitForSingleObject(hPeer, 60000);
  }
  wtExpect("cross.18 killed: its sessions gone (its handle still open here)", a, zSql, "0");
  rc = wtOne(a, "SELECT count(*) FROM sessions", z, sizeof(z));
  wtCheck("cross.19 this process's two sessions remain", rc==SQLITE_OK && strcmp(z, "2")==0, z);
  if( hPeer ) CloseHandle(hPeer);
  sqlite3_close(b);
  sqlite3_close(a);
}

/* The registry file damaged while this process holds it: another
** process refuses it (it must not start it afresh under us). */
static void wtDamage(const char *zDir){
  sqlite3 *db;
  HANDLE h, hPeer;
  DWORD code = 99, n = 0;
  DeleteFileA("dmg.db");
  DeleteFileA("dmg.db-cancel");
  db = wtOpen("dmg.db", 1);
  wtExpect("damage.1 shared", db,
           "SELECT cancel_registry() LIKE 'shared: %dmg.db-cancel'", "1");
  h = CreateFileA("dmg.db-cancel", GENERIC_WRITE, FILE_SHARE_READ|FILE_SHARE_WRITE,
                  0, OPEN_EXISTING, 0, 0);
  /* the header's slot size (after the magic and 3 words): a damage a
  ** process alone with the file would repair by starting afresh */
  wtCheck("damage.2 header overwritten", h!=INVALID_HANDLE_VALUE
          && SetFilePointer(h, 28, 0, FILE_BEGIN)==28
          && WriteFile(h, "\7\0\0\0", 4, &n, 0) && n==4, 0);
  if( h!=INVALID_HANDLE_VALUE ) CloseHandle(h);
  hPeer = wtSpawn(zDir, "--dmg");
  if( hPeer ){
    WaitForSingleObject(hPeer, 60000);
    GetExitCodeProcess(hPeer, &code);
    CloseHandle(hPeer);
  }
  wtCheck("damage.3 the other process refused it", code==0, "see dmg.1");
  sqlite3_close(db);
}

/* Four processes start at once on a new database: one creates the
** registry file, and every one of them (and this one, after) shares it. */
#define WT_NRACE 4
static void wtRace(const char *zDir){
  unsigned long me = GetCurrentProcessId();
  HANDLE ah[WT_NRACE];
  sqlite3 *db;
  char zRole[16], z[64];
  int i, nReady = 0, nOk = 0;
  DWORD code;
  DeleteFileA("race.db");
  DeleteFileA("race.db-cancel");
  for(i=0; i<WT_NRACE; i++){
    snprintf(zRole, sizeof(zRole), "--race%d", i);
    ah[i] = wtSpawn(zDir, zRole);
  }
  for(i=0; i<WT_NRACE; i++){
    if( ah[i] && wtAwait(wtEvent(me, 10+i), ah[i]) ) nReady++;
  }
  snprintf(z, sizeof(z), "%d of %d", nReady, WT_NRACE);
  wtCheck("race.2 every racer shares the registry file", nReady==WT_NRACE, z);
  db = wtOpen("race.db", 1);
  snprintf(z, sizeof(z), "%d", WT_NRACE+1);
  wtExpect("race.3 all their sessions listed here", db,
           "SELECT count(DISTINCT node_id) FROM sessions", z);
  SetEvent(wtEvent(me, 9));
  for(i=0; i<WT_NRACE; i++){
    code = 99;
    if( ah[i] ){
      WaitForSingleObject(ah[i], 60000);
      GetExitCodeProcess(ah[i], &code);
      CloseHandle(ah[i]);
    }
    if( code==0 ) nOk++;
  }
  snprintf(z, sizeof(z), "%d of %d", nOk, WT_NRACE);
  wtCheck("race.4 every racer's checks passed", nOk==WT_NRACE, z);
  wtExpect("race.5 they are gone", db, "SELECT count(*) FROM sessions", "1");
  sqlite3_close(db);
}

int main(int argc, char **argv){
  char *zSlash;
  if( argc!=2 && !(argc==4 && (strcmp(argv[2], "--peer")==0
                                || strcmp(argv[2], "--hold")==0
                                || strcmp(argv[2], "--dmg")==0
                                || strncmp(argv[2], "--race", 6)==0)) ){
    fprintf(stderr, "usage: wintest.exe DIR\n");
    return 2;
  }
  _setmode(_fileno(stdout), _O_BINARY);     /* "\n", not "\r\n" */
  GetModuleFileNameA(0, zExt, sizeof(zExt)-16);
  zSlash = strrchr(zExt, '\\');
  strcpy(zSlash ? zSlash+1 : zExt, "cancel.dll");
  CreateDirectoryA(argv[1], 0);
  if( !SetCurrentDirectoryA(argv[1]) ){
    fprintf(stderr, "wintest: cannot enter %s\n", argv[1]);
    return 2;
  }
  if( argc==4 && argv[2][2]=='d' ) return wtDamaged();
  if( argc==4 && argv[2][2]=='r' ){
    return wtRacer(strtoul(argv[3], 0, 10), atoi(argv[2]+6));
  }
  if( argc==4 ) return wtPeer(strtoul(argv[3], 0, 10), argv[2][2]=='h');
  DeleteFileA("load.db");
  DeleteFileA("main.db");
  DeleteFileA("backup.db");
  DeleteFileA("load.db-cancel");
  DeleteFileA("main.db-cancel");
  printf("SQLite %s, %s\n", sqlite3_libversion(), zExt);
  wtLoading();
  wtSessions();
  wtCancel();
  wtTerminate();
  wtTimeout();
  wtJob();
  wtSweep();
  wtCross(".");   /* (the peers start in this directory) */
  wtRace(".");
  wtDamage(".");
  printf("%d passed, %d failed\n", nPass, nFail);
  return nFail ? 1 : 0;
}
