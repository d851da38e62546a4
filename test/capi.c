/*
** capi.c: the C API of ext/cancel.h, as a C application uses it: the
** extension enabled for every connection with sqlite3_auto_extension(),
** process-wide default timeouts, the client address, and chaining the
** application's own progress and busy handlers; the locked database
** (another process, this same program started as `capi --holder DB`,
** holds BEGIN EXCLUSIVE) watched and given back; a forgotten cursor.
**
**   test/capi [dbfile]      exits 0 when every check passes
*/
#include <sqlite3.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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

/* `capi --holder DB`: the other process of the locked-database checks.
** Takes the write lock with a pending write, says "locked" on stdout,
** then waits for a line on stdin and tries one more statement: exit 0 if
** that statement is refused (it was terminated), 1 if not. */
static int holderMain(const char *zDb){
  sqlite3 *db = 0;
  char zLine[16];
  int rc;
  sqlite3_auto_extension((void(*)(void))sqlite3_cancel_init);
  if( sqlite3_open(zDb, &db)!=SQLITE_OK ) return 2;
  if( sqlite3_exec(db, "BEGIN EXCLUSIVE; INSERT INTO t VALUES('pen')", 0, 0, 0)!=SQLITE_OK ){
    return 2;
  }
  printf("locked\n");
  fflush(stdout);
  if( fgets(zLine, sizeof(zLine), stdin)==0 ) return 2;
  rc = sqlite3_exec(db, "INSERT INTO t VALUES('after')", 0, 0, 0);
  sqlite3_close(db);
  return rc==SQLITE_OK ? 1 : 0;
}

/* text(), on another thread. */
typedef struct LookArg LookArg;
struct LookArg { sqlite3 *db; const char *zSql; char *zOut; };
static void *lookMain(void *p){
  LookArg *a = (LookArg*)p;
  a->zOut = text(a->db, a->zSql);
  return 0;
}

/* A thread that holds a connection's mutex for LOOK_HOLD_MS, as a look
** at the session does for a moment (a `sessions` scan in another thread,
** the registry agent's tick): says so through `held` first. */
#define LOOK_HOLD_MS 50
typedef struct MutexHold MutexHold;
struct MutexHold { sqlite3 *db; pthread_mutex_t mu; pthread_cond_t cond; int held; };
static void *mutexHoldMain(void *p){
  MutexHold *h = (MutexHold*)p;
  struct timespec ts = { 0, LOOK_HOLD_MS*1000000L };
  sqlite3_mutex_enter(sqlite3_db_mutex(h->db));
  pthread_mutex_lock(&h->mu);
  h->held = 1;
  pthread_cond_signal(&h->cond);
  pthread_mutex_unlock(&h->mu);
  nanosleep(&ts, 0);
  sqlite3_mutex_leave(sqlite3_db_mutex(h->db));
  return 0;
}

/* The database locked by another process: loading into a new connection
** of it does not wait; a connection on :memory: watches it, lists the
** holder and terminates it; a writer then goes on. */
static void lockedChecks(const char *zArgv0, const char *zDb){
  char zDbL[300], zCmd[1400], zLine[64];
  sqlite3 *late = 0, *w = 0, *wr = 0;
  FILE *pHolder;
  int rc, status = -1;
  long t0;
  char *z, *zSql;
  snprintf(zDbL, sizeof(zDbL), "%s-locked", zDb);
  unlink(zDbL);
  snprintf(zCmd, sizeof(zCmd), "%s-cancel", zDbL);
  unlink(zCmd);
  sqlite3_open(zDbL, &wr);
  sqlite3_exec(wr, "CREATE TABLE t(x); INSERT INTO t VALUES('book')", 0, 0, 0);
  /* popen: the holder's stdin is ours, its stdout a pipe we read */
  snprintf(zCmd, sizeof(zCmd), "sh -c 'mkfifo %s.fifo 2>/dev/null; "
           "exec %s --holder %s < %s.fifo'", zDbL, zArgv0, zDbL, zDbL);
  pHolder = popen(zCmd, "r");
  {
    char zFifo[320];
    FILE *pIn;
    snprintf(zFifo, sizeof(zFifo), "%s.fifo", zDbL);
    while( access(zFifo, F_OK)!=0 ) usleep(1000);   /* (created by the shell) */
    pIn = fopen(zFifo, "w");
    CHECK(pHolder && pIn && fgets(zLine, sizeof(zLine), pHolder)
          && strcmp(zLine, "locked\n")==0, "the other process holds the lock");

    t0 = nowMs();
    sqlite3_open(zDbL, &late);
    sqlite3_busy_timeout(late, 60000);
    sqlite3_exec(late, "SELECT 1", 0, 0, 0);   /* (loaded by auto_extension at open) */
    CHECK(nowMs()-t0 < 30000, "opening a locked database with the extension does not wait");

    sqlite3_open(":memory:", &w);
    zSql = sqlite3_mprintf("SELECT cancel_watch('%q')", zDbL);
    z = text(w, zSql);
    sqlite3_free(zSql);
    CHECK(z && strncmp(z, "watching: shared: ", 18)==0, "cancel_watch from C");
    sqlite3_free(z);
    z = text(w, "SELECT status || '|' || xact_kind || '|' || threading FROM sessions "
                "WHERE xact_kind='write'");
    CHECK(z && strcmp(z, "idle in transaction|write|serialized")==0, "the holder is listed");
    sqlite3_free(z);
    z = text(w, "SELECT pg_terminate_backend(pid, 10000) FROM sessions WHERE xact_kind='write'");
    CHECK(z && strcmp(z, "1")==0, "terminated, locks released");
    sqlite3_free(z);
    sqlite3_busy_timeout(wr, 0);
    rc = sqlite3_exec(wr, "INSERT INTO t VALUES('lamp')", 0, 0, 0);
    CHECK(rc==SQLITE_OK, "a writer goes on");
    z = text(wr, "SELECT group_concat(x) FROM t");
    CHECK(z && strcmp(z, "book,lamp")==0, "the holder's write was rolled back");
    sqlite3_free(z);

    if( pIn ){ fputs("go\n", pIn); fclose(pIn); }
    if( pHolder ) status = pclose(pHolder);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status)==0, "the holder's next statement is refused");
    unlink(zFifo);
  }
  sqlite3_close(late);
  sqlite3_close(w);

  /* A forgotten cursor: a SELECT stepped once and left holds a read
  ** lock; a termination resets it, and the writer can commit. */
  {
    sqlite3 *fc = 0;
    sqlite3_stmt *pCur = 0;
    sqlite3_open(zDbL, &fc);
    sqlite3_exec(wr, "PRAGMA journal_mode=DELETE", 0, 0, 0);
    sqlite3_prepare_v2(fc, "SELECT x FROM t", -1, &pCur, 0);
    CHECK(sqlite3_step(pCur)==SQLITE_ROW, "cursor stepped once");
    rc = sqlite3_exec(wr, "BEGIN; INSERT INTO t VALUES('x'); COMMIT", 0, 0, 0);
    CHECK(rc==SQLITE_BUSY, "a commit waits for the forgotten cursor's read lock");
    sqlite3_exec(wr, "ROLLBACK", 0, 0, 0);
    /* (asked from another thread: the thread that started the cursor's
    ** statement could be inside it, so it is not the one to judge) */
    {
      pthread_t t;
      LookArg a;
      a.db = wr;
      a.zSql = "SELECT status || '|' || xact_kind FROM sessions WHERE active_query='SELECT x FROM t'";
      a.zOut = 0;
      pthread_create(&t, 0, lookMain, &a);
      pthread_join(t, 0);
      CHECK(a.zOut && strcmp(a.zOut, "idle in transaction|read")==0,
            "a forgotten cursor holds a read transaction");
      sqlite3_free(a.zOut);
    }
    z = text(wr, "SELECT pg_terminate_backend(pid, 10000) FROM sessions WHERE active_query='SELECT x FROM t'");
    CHECK(z && strcmp(z, "1")==0, "the forgotten cursor's session is terminated");
    sqlite3_free(z);
    rc = sqlite3_exec(wr, "INSERT INTO t VALUES('y')", 0, 0, 0);
    CHECK(rc==SQLITE_OK, "and the writer commits");
    CHECK(sqlite3_step(pCur)!=SQLITE_ROW, "the reset cursor does not start over");
    z = cancel_reason(fc);
    CHECK(z && strncmp(z, "terminated by pg_terminate_backend", 34)==0, "cancel_reason(db) says why");
    sqlite3_free(z);
    sqlite3_finalize(pCur);
    sqlite3_close(fc);
  }
  /* A session idle in a transaction, terminated while another thread
  ** holds its connection mutex for a moment (a look at it): the
  ** termination waits for that and is complete when it returns, so the
  ** caller's next write finds the lock free. (Left to the background
  ** thread instead, it returned with the lock still held.) */
  {
    sqlite3 *idle = 0;
    MutexHold h;
    pthread_t t;
    memset(&h, 0, sizeof(h));
    pthread_mutex_init(&h.mu, 0);
    pthread_cond_init(&h.cond, 0);
    sqlite3_open(zDbL, &idle);
    rc = sqlite3_exec(idle, "BEGIN; INSERT INTO t VALUES('lost')", 0, 0, 0);
    CHECK(rc==SQLITE_OK, "an idle transaction");
    zSql = text(idle, "SELECT 'SELECT pg_terminate_backend(' || pg_backend_pid() || ')'");
    h.db = idle;
    pthread_create(&t, 0, mutexHoldMain, &h);
    pthread_mutex_lock(&h.mu);
    while( !h.held ) pthread_cond_wait(&h.cond, &h.mu);
    pthread_mutex_unlock(&h.mu);
    t0 = nowMs();
    z = zSql ? text(wr, zSql) : 0;
    CHECK(z && strcmp(z, "1")==0, "terminated while looked at");
    sqlite3_free(z);
    sqlite3_free(zSql);
    rc = sqlite3_exec(wr, "INSERT INTO t VALUES('z')", 0, 0, 0);
    CHECK(rc==SQLITE_OK, "its lock is free when the termination returns");
    CHECK(nowMs()-t0 < 30000, "(the wait is bounded)");
    pthread_join(t, 0);
    sqlite3_close(idle);
  }
  sqlite3_close(wr);
}

/* Every call of ext/cancel.h on handles that are not usable sessions, and
** numbers out of range: a clear code, never a crash (ASan watches), and
** nothing changed. Then cancel_job_progress() keeps saying
** SQLITE_INTERRUPT once the job is being cancelled. */
typedef struct BadCall BadCall;
struct BadCall { const char *zCall; int rc, want; };

static void check_calls(const BadCall *a, int n){
  int i;
  for(i=0; i<n; i++){
    if( a[i].rc!=a[i].want ){
      nFail++;
      fprintf(stderr, "capi: FAIL: %s returned %d, not %d\n", a[i].zCall, a[i].rc, a[i].want);
    }
  }
}

static int jobCount(sqlite3 *db){
  char *z = text(db, "SELECT count(*) FROM jobs");
  int n = z ? atoi(z) : -1;
  sqlite3_free(z);
  return n;
}

static char *jobText(sqlite3 *db, const char *zCol, sqlite3_int64 id){
  char *zSql = sqlite3_mprintf("SELECT %s FROM jobs WHERE job_id=%lld", zCol, (long long)id);
  char *z = zSql ? text(db, zSql) : 0;
  sqlite3_free(zSql);
  return z;
}

/* Resumes job iJob once it is paused (another thread: the main one is
** blocked in cancel_job_progress meanwhile). */
typedef struct ResumeArg ResumeArg;
struct ResumeArg { sqlite3 *db; sqlite3_int64 iJob; int ok; };
static void *resumeMain(void *pArg){
  ResumeArg *a = (ResumeArg*)pArg;
  long t0 = nowMs();
  char zSql[100];
  while( nowMs()-t0 < 20000 ){
    char *z = jobText(a->db, "status", a->iJob);
    int bPaused = z && strcmp(z, "paused")==0;
    sqlite3_free(z);
    if( bPaused ) break;
    sched_yield();
  }
  snprintf(zSql, sizeof(zSql), "SELECT resume_job(%lld)", (long long)a->iJob);
  a->ok = sqlite3_exec(a->db, zSql, 0, 0, 0)==SQLITE_OK;
  return 0;
}

static void badCallChecks(const char *zDb){
  sqlite3 *db = 0, *plain = 0, *gone = 0, *user = 0;
  sqlite3_int64 id = 0, idUser = 0, idBuiltin = 0, idNone = 0, idGone = 0;
  double nan = 0.0/0.0;
  int nJob;
  char *z;

  sqlite3_open(zDb, &db);                  /* a session, admin */
  sqlite3_open(zDb, &user);                /* a session, not admin */
  sqlite3_exec(user, "SELECT set_session_user('maxroach', 0)", 0, 0, 0);
  sqlite3_cancel_auto_extension((void(*)(void))sqlite3_cancel_init);
  sqlite3_open(zDb, &plain);               /* not a session */
  sqlite3_auto_extension((void(*)(void))sqlite3_cancel_init);
  /* A closed handle: its address is only compared, never read; nothing
  ** opens a connection before the calls below, so no new connection can
  ** have taken that address. */
  sqlite3_open(zDb, &gone);
  cancel_job_begin(gone, "GONE", 0, &idGone);
  sqlite3_close(gone);

  CHECK(cancel_job_begin(db, "MINE", "", &id)==SQLITE_OK, "a job of db");
  CHECK(cancel_job_begin(user, "THEIRS", "", &idUser)==SQLITE_OK, "a job of another session");
  z = text(db, "SELECT job_exec('SELECT 1')");
  idBuiltin = z ? atoll(z) : 0;
  sqlite3_free(z);
  z = text(db, "SELECT max(job_id)+1000 FROM jobs");
  idNone = z ? atoll(z) : 0;
  sqlite3_free(z);
  nJob = jobCount(db);
  {
    sqlite3_int64 idX = 0;
    const BadCall a[] = {
      { "set_client_address(NULL)", cancel_set_client_address(0, "x"), SQLITE_MISUSE },
      { "set_client_address(plain)", cancel_set_client_address(plain, "x"), SQLITE_MISUSE },
      { "set_client_address(closed)", cancel_set_client_address(gone, "x"), SQLITE_MISUSE },
      { "set_progress_handler(NULL)", cancel_set_progress_handler(0, appProgress, 0), SQLITE_MISUSE },
      { "set_progress_handler(plain)", cancel_set_progress_handler(plain, 0, 0), SQLITE_MISUSE },
      { "set_progress_handler(closed)", cancel_set_progress_handler(gone, 0, 0), SQLITE_MISUSE },
      { "set_busy_handler(NULL)", cancel_set_busy_handler(0, appBusy, 0), SQLITE_MISUSE },
      { "set_busy_handler(plain)", cancel_set_busy_handler(plain, 0, 0), SQLITE_MISUSE },
      { "set_busy_handler(closed)", cancel_set_busy_handler(gone, 0, 0), SQLITE_MISUSE },
      { "set_busy_timeout(NULL)", cancel_set_busy_timeout(0, 5), SQLITE_MISUSE },
      { "set_busy_timeout(plain)", cancel_set_busy_timeout(plain, 5), SQLITE_MISUSE },
      { "set_busy_timeout(closed)", cancel_set_busy_timeout(gone, 5), SQLITE_MISUSE },
      { "set_busy_timeout(db, -7)", cancel_set_busy_timeout(db, -7), SQLITE_RANGE },
      { "set_busy_timeout(db, 86400001)", cancel_set_busy_timeout(db, 86400001), SQLITE_RANGE },
      { "set_busy_timeout(db, 2000000000)", cancel_set_busy_timeout(db, 2000000000), SQLITE_RANGE },
      { "set_statement_timeout(NULL)", cancel_set_statement_timeout(0, 5), SQLITE_MISUSE },
      { "set_statement_timeout(plain)", cancel_set_statement_timeout(plain, 5), SQLITE_MISUSE },
      { "set_statement_timeout(closed)", cancel_set_statement_timeout(gone, 5), SQLITE_MISUSE },
      { "set_statement_timeout(db, -7)", cancel_set_statement_timeout(db, -7), SQLITE_RANGE },
      { "set_idle_..._timeout(NULL)", cancel_set_idle_in_transaction_session_timeout(0, 5), SQLITE_MISUSE },
      { "set_idle_..._timeout(plain)", cancel_set_idle_in_transaction_session_timeout(plain, 5), SQLITE_MISUSE },
      { "set_idle_..._timeout(closed)", cancel_set_idle_in_transaction_session_timeout(gone, 5), SQLITE_MISUSE },
      { "set_idle_..._timeout(db, -1)", cancel_set_idle_in_transaction_session_timeout(db, -1), SQLITE_RANGE },
      { "set_default_statement_timeout(-7)", cancel_set_default_statement_timeout(-7), SQLITE_RANGE },
      { "set_default_idle_..._timeout(-7)", cancel_set_default_idle_in_transaction_session_timeout(-7), SQLITE_RANGE },
      { "set_transaction_timeout(NULL)", cancel_set_transaction_timeout(0, 5), SQLITE_MISUSE },
      { "set_transaction_timeout(plain)", cancel_set_transaction_timeout(plain, 5), SQLITE_MISUSE },
      { "set_transaction_timeout(closed)", cancel_set_transaction_timeout(gone, 5), SQLITE_MISUSE },
      { "set_transaction_timeout(db, -1)", cancel_set_transaction_timeout(db, -1), SQLITE_RANGE },
      { "set_idle_blocker_timeout(NULL)", cancel_set_idle_blocker_timeout(0, 5), SQLITE_MISUSE },
      { "set_idle_blocker_timeout(plain)", cancel_set_idle_blocker_timeout(plain, 5), SQLITE_MISUSE },
      { "set_idle_blocker_timeout(closed)", cancel_set_idle_blocker_timeout(gone, 5), SQLITE_MISUSE },
      { "set_idle_blocker_timeout(db, -1)", cancel_set_idle_blocker_timeout(db, -1), SQLITE_RANGE },
      { "set_default_transaction_timeout(-7)", cancel_set_default_transaction_timeout(-7), SQLITE_RANGE },
      { "set_default_idle_blocker_timeout(-7)", cancel_set_default_idle_blocker_timeout(-7), SQLITE_RANGE },
      { "job_begin(NULL db)", cancel_job_begin(0, "X", "d", &idX), SQLITE_MISUSE },
      { "job_begin(plain)", cancel_job_begin(plain, "X", "d", &idX), SQLITE_MISUSE },
      { "job_begin(closed)", cancel_job_begin(gone, "X", "d", &idX), SQLITE_MISUSE },
      { "job_begin(NULL pJobId)", cancel_job_begin(db, "X", "d", 0), SQLITE_MISUSE },
      { "job_begin(NULL type)", cancel_job_begin(db, 0, "d", &idX), SQLITE_MISUSE },
      { "job_begin(\"\" type)", cancel_job_begin(db, "", "d", &idX), SQLITE_MISUSE },
      { "job_progress(NULL db)", cancel_job_progress(0, id, 0.5, 0), SQLITE_MISUSE },
      { "job_progress(plain)", cancel_job_progress(plain, id, 0.5, 0), SQLITE_MISUSE },
      { "job_progress(closed)", cancel_job_progress(gone, idGone, 0.5, 0), SQLITE_MISUSE },
      { "job_progress(NULL db, bad fraction)", cancel_job_progress(0, id, 7.0, 0), SQLITE_MISUSE },
      { "job_progress(-0.1)", cancel_job_progress(db, id, -0.1, 0), SQLITE_RANGE },
      { "job_progress(1.01)", cancel_job_progress(db, id, 1.01, 0), SQLITE_RANGE },
      { "job_progress(NaN)", cancel_job_progress(db, id, nan, 0), SQLITE_RANGE },
      { "job_progress(no such job)", cancel_job_progress(db, idNone, 0.5, 0), SQLITE_NOTFOUND },
      { "job_progress(0)", cancel_job_progress(db, 0, 0.5, 0), SQLITE_NOTFOUND },
      { "job_progress(-1)", cancel_job_progress(db, -1, 0.5, 0), SQLITE_NOTFOUND },
      { "job_progress(a built-in job)", cancel_job_progress(db, idBuiltin, 0.5, 0), SQLITE_PERM },
      { "job_progress(not admin, another's job)", cancel_job_progress(user, id, 0.5, 0), SQLITE_PERM },
      { "job_end(NULL db)", cancel_job_end(0, id, 0), SQLITE_MISUSE },
      { "job_end(plain)", cancel_job_end(plain, id, 0), SQLITE_MISUSE },
      { "job_end(closed)", cancel_job_end(gone, idGone, 0), SQLITE_MISUSE },
      { "job_end(no such job)", cancel_job_end(db, idNone, 0), SQLITE_NOTFOUND },
      { "job_end(a built-in job)", cancel_job_end(db, idBuiltin, "x"), SQLITE_PERM },
      { "job_end(not admin, another's job)", cancel_job_end(user, id, "x"), SQLITE_PERM },
      { "reason(NULL) is NULL", cancel_reason(0)==0 ? SQLITE_OK : SQLITE_ERROR, SQLITE_OK },
      { "reason(plain) is NULL", cancel_reason(plain)==0 ? SQLITE_OK : SQLITE_ERROR, SQLITE_OK },
      { "reason(closed) is NULL", cancel_reason(gone)==0 ? SQLITE_OK : SQLITE_ERROR, SQLITE_OK },
    };
    check_calls(a, (int)(sizeof(a)/sizeof(a[0])));
    CHECK(idX==0, "no bad call wrote a job id");
  }
  CHECK(jobCount(db)==nJob, "no bad call created a job");
  z = jobText(db, "status || '|' || fraction_completed", id);
  CHECK(z && strcmp(z, "running|0.0")==0, "no bad call reported on the job");
  sqlite3_free(z);
  z = jobText(db, "job_type || '|' || status", idGone);
  CHECK(idGone>0 && z && strcmp(z, "GONE|failed")==0, "the closed session's job failed when it closed");
  sqlite3_free(z);

  /* In range: accepted, and the boundaries are the SQL functions'. */
  CHECK(cancel_set_statement_timeout(db, 2147483647)==SQLITE_OK, "largest statement timeout");
  CHECK(cancel_set_busy_timeout(db, 86400000)==SQLITE_OK, "largest busy timeout");
  CHECK(cancel_set_busy_timeout(db, 0)==SQLITE_OK, "busy timeout 0");
  CHECK(cancel_set_statement_timeout(db, 700)==SQLITE_OK, "statement timeout 700");
  CHECK(cancel_set_statement_timeout(db, -7)==SQLITE_RANGE, "-7 refused");
  z = text(db, "SELECT statement_timeout FROM sessions WHERE pid=pg_backend_pid()");
  CHECK(z && strcmp(z, "700")==0, "a refused timeout leaves the timeout as it was (not 0)");
  sqlite3_free(z);
  cancel_set_statement_timeout(db, 0);
  z = text(db, "SELECT count(*) FROM (SELECT set_busy_timeout(86400001))");
  CHECK(z==0, "SQL refuses the busy timeout C refuses");
  /* An admin may report on another session's job of the process. */
  CHECK(cancel_job_progress(db, idUser, 0.5, "by an admin")==SQLITE_OK, "admin reports");
  z = jobText(db, "running_status", idUser);
  CHECK(z && strcmp(z, "by an admin")==0, "admin's report recorded");
  sqlite3_free(z);
  CHECK(cancel_job_progress(user, idUser, 0.6, 0)==SQLITE_OK, "its own session reports");
  CHECK(cancel_job_end(user, idUser, 0)==SQLITE_OK, "and ends it");

  /* SQLITE_INTERRUPT from the cancel on: on every call, also after a
  ** pause while reverting and its resume; then the job ends canceled. */
  {
    char zSql[100];
    pthread_t t;
    ResumeArg ra;
    snprintf(zSql, sizeof(zSql), "SELECT cancel_job(%lld)", (long long)id);
    CHECK(sqlite3_exec(db, zSql, 0, 0, 0)==SQLITE_OK, "cancel_job");
    CHECK(cancel_job_progress(db, id, 0.5, 0)==SQLITE_INTERRUPT, "1st call after a cancel");
    z = jobText(db, "status", id);
    CHECK(z && strcmp(z, "reverting")==0, "reverting");
    sqlite3_free(z);
    CHECK(cancel_job_progress(db, id, 0.6, 0)==SQLITE_INTERRUPT, "2nd call after a cancel");
    CHECK(cancel_job_progress(db, id, 0.7, "x")==SQLITE_INTERRUPT, "3rd call after a cancel");
    snprintf(zSql, sizeof(zSql), "SELECT pause_job(%lld)", (long long)id);
    CHECK(sqlite3_exec(db, zSql, 0, 0, 0)==SQLITE_OK, "pause while reverting");
    sqlite3_open(zDb, &ra.db);
    ra.iJob = id;
    ra.ok = 0;
    pthread_create(&t, 0, resumeMain, &ra);
    CHECK(cancel_job_progress(db, id, 0.8, 0)==SQLITE_INTERRUPT,
          "paused while reverting, resumed: still SQLITE_INTERRUPT");
    pthread_join(t, 0);
    CHECK(ra.ok, "resumed by another thread");
    sqlite3_close(ra.db);
    z = jobText(db, "fraction_completed", id);
    CHECK(z && strcmp(z, "0.0")==0, "no report after the cancel was recorded");
    sqlite3_free(z);
    CHECK(cancel_job_end(db, id, 0)==SQLITE_OK, "end");
    z = jobText(db, "status", id);
    CHECK(z && strcmp(z, "canceled")==0, "ended canceled");
    sqlite3_free(z);
    CHECK(cancel_job_progress(db, id, 0.9, 0)==SQLITE_MISUSE, "progress on an ended job");
    CHECK(cancel_job_end(db, id, 0)==SQLITE_MISUSE, "end of an ended job");
  }

  sqlite3_close(plain);
  sqlite3_close(user);
  sqlite3_close(db);
}

/* set_idle_and_work(): sets its own connection's idle-in-transaction
** limit to 500 ms through the C API, then works for 1 s (a statement
** doing something slow, not a synchronisation; the limit leaves the
** gap to the COMMIT that follows half a second on a loaded machine). */
static void setIdleAndWork(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  (void)argc; (void)argv;
  cancel_set_idle_in_transaction_session_timeout((sqlite3*)sqlite3_user_data(ctx), 500);
  usleep(1000000);
  sqlite3_result_int(ctx, 1);
}

int main(int argc, char **argv){
  const char *zDb = argc>1 ? argv[1] : "build/tmp/capi.db";
  if( argc==3 && strcmp(argv[1], "--holder")==0 ) return holderMain(argv[2]);
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
  sqlite3_close(db2);
  /* The default transaction timeout: a new session starts with it; its
  ** open transaction is ended (the writer waiting gets through), and it
  ** says so. */
  cancel_set_default_transaction_timeout(150);
  sqlite3_open(zDb, &db2);
  cancel_set_default_transaction_timeout(0);
  z = text(db2, "SELECT transaction_timeout FROM sessions WHERE pid=pg_backend_pid()");
  CHECK(z && strcmp(z, "150")==0, "default transaction timeout");
  sqlite3_free(z);
  rc = sqlite3_exec(db2, "BEGIN IMMEDIATE; INSERT INTO t VALUES('lost')", 0, 0, 0);
  CHECK(rc==SQLITE_OK, "begin (transaction timeout)");
  rc = sqlite3_exec(db3, "INSERT INTO t VALUES('other2')", 0, 0, 0);
  CHECK(rc==SQLITE_OK, "writer proceeds once the transaction is ended");
  z = cancel_reason(db2);
  CHECK(z && strncmp(z, "terminated by transaction_timeout (150 ms)", 42)==0,
        "cancel_reason after a transaction timeout");
  sqlite3_free(z);
  sqlite3_close(db2);
  /* The default idle-blocker timeout: left alone while nobody waits,
  ** ended once db3 waits. */
  cancel_set_default_idle_blocker_timeout(50);
  sqlite3_open(zDb, &db2);
  cancel_set_default_idle_blocker_timeout(0);
  rc = sqlite3_exec(db2, "BEGIN IMMEDIATE; INSERT INTO t VALUES('lost')", 0, 0, 0);
  CHECK(rc==SQLITE_OK, "begin (idle blocker)");
  z = text(db3, "SELECT idle_blocker_timeout FROM sessions WHERE status='idle in transaction'");
  CHECK(z && strcmp(z, "50")==0, "default idle-blocker timeout");
  sqlite3_free(z);
  rc = sqlite3_exec(db3, "INSERT INTO t VALUES('other3')", 0, 0, 0);
  CHECK(rc==SQLITE_OK, "writer proceeds once the idle blocker is terminated");
  z = cancel_reason(db2);
  CHECK(z && strncmp(z, "terminated by idle_blocker_timeout (50 ms)", 42)==0,
        "cancel_reason after an idle-blocker timeout");
  sqlite3_free(z);
  /* The idle limit set by the C API from inside a running statement of
  ** a transaction (an application function): the statement is running,
  ** not idle, however long it takes; the limit counts from its end. */
  sqlite3_create_function(db3, "set_idle_and_work", 0, SQLITE_UTF8, db3,
                          setIdleAndWork, 0, 0);
  rc = sqlite3_exec(db3, "BEGIN; INSERT INTO t VALUES('mine'); SELECT set_idle_and_work()", 0, 0, 0);
  CHECK(rc==SQLITE_OK, "a statement that sets the idle limit and runs past it is not terminated");
  rc = sqlite3_exec(db3, "COMMIT", 0, 0, 0);
  CHECK(rc==SQLITE_OK, "its transaction commits");
  cancel_set_idle_in_transaction_session_timeout(db3, 0);

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

  lockedChecks(argv[0], zDb);
  badCallChecks(zDb);

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
