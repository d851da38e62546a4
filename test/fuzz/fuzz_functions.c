/*
** fuzz_functions.c: libFuzzer target for the arguments of every SQL
** function the extension registers (ext/functions.c, ext/jobfunctions.c).
**
** An input is a little program: a flags byte, then up to 4 calls, each a
** function number, an argument count (within the function's arities)
** and one encoded argument per slot: NULL, integers, doubles, raw text
** and blobs (any bytes: NUL, bad UTF-8), huge strings, 32-hex-digit ids
** with this process's tag or another, and the ids, pids and query ids of
** the live sessions of the process (read from the sessions table), the
** ids of its jobs, the previous call's result, selection queries. Each
** call is "SELECT fn(?1, ...)" with the arguments bound, so the SQL
** parser only ever sees the selection queries and job scripts. The same
** arguments also go to the virtual tables' writes and constraints
** (DELETE FROM sessions, UPDATE jobs SET status, ...: see aFn).
**
** Live targets, besides the connection that makes the calls (opened
** afresh for every input, as an admin): "idle" (user bob, not an admin),
** "locker" (holds a write transaction during inputs whose flags ask for
** it, for blocking_sessions and jobs waiting on a lock) and "busy" (a
** thread running a slow query over and over, so that cancels find a
** running statement). A session that a call terminated is reopened
** before the next input. All files are in build/tmp/fuzz-<pid>/.
**
** Kept bounded (these are the extension doing what it was asked, not
** bugs): file names get the scratch directory prepended (names with '/',
** or naming the database's own files, are replaced); job_wait() always
** gets a timeout and timeouts that would wait are clamped to 50 ms;
** text that would make a selection query or a job script wait, attach
** a file or start jobs (job_wait, job_progress, job_backup, ...,
** pg_terminate_backend, attach, vacuum, load_extension) is defanged by
** changing a letter; a paused job is resumed before job_progress(), which
** would otherwise wait for a resume nobody can send; every statement has
** a 1 s deadline (progress handler) and SQLite a 256 MB heap limit. After
** each input every job still running is canceled and waited for.
**
**   build:      test/fuzz/run.sh 0 fuzz_functions
**   run:        test/fuzz/run.sh 60 fuzz_functions
**   reproduce:  build/fuzz/fuzz_functions crash-file  (from the repository root;
**               FUZZ_VERBOSE=1 prints each statement with its arguments)
*/
#include <stdint.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include "fuzzutil.h"

/* ------------------------------------------------------------ decoding */

typedef struct In In;
struct In { const uint8_t *a; size_t n, i; };

static unsigned get8(In *p){ return p->i<p->n ? p->a[p->i++] : 0; }
static uint64_t get64(In *p){
  uint64_t v = 0;
  int k;
  for(k=0; k<8; k++) v = (v<<8) | get8(p);
  return v;
}
/* Up to nMax bytes of the input, as they are. */
static const uint8_t *getBytes(In *p, size_t nWant, size_t *pn){
  const uint8_t *z = p->a + p->i;
  if( nWant > p->n - p->i ) nWant = p->n - p->i;
  p->i += nWant;
  *pn = nWant;
  return z;
}

/* ----------------------------------------------------------- functions */

#define F_FILE0  0x01   /* argument 0 is a file name (made safe) */
#define F_FILE1  0x02   /* argument 1 is a file name */
#define F_WAIT1  0x04   /* argument 1 is a timeout that waits (clamped) */
#define F_NEED2  0x08   /* always two arguments (job_wait: bounded) */
#define F_PROGR  0x10   /* job_progress: resume paused jobs first */

static const struct FuzzFn {
  const char *zName;
  int nMin, nMax, flags;
  const char *zSql;       /* the statement, when not "SELECT zName(?,...)" */
} aFn[] = {
  { "cancel_query",            1, 2, 0, 0 },
  { "cancel_session",          1, 2, 0, 0 },
  { "cancel_sessions",         1, 2, 0, 0 },
  { "pg_cancel_backend",       1, 1, 0, 0 },
  { "pg_terminate_backend",    1, 2, F_WAIT1, 0 },
  { "pg_backend_pid",          0, 0, 0, 0 },
  { "session_id",              0, 0, 0, 0 },
  { "set_session_user",        1, 2, 0, 0 },
  { "set_application_name",    1, 1, 0, 0 },
  { "set_busy_timeout",        1, 1, 0, 0 },
  { "set_statement_timeout",   1, 1, 0, 0 },
  { "set_idle_in_transaction_session_timeout", 1, 1, 0, 0 },
  { "blocking_sessions",       1, 1, 0, 0 },
  { "pg_blocking_pids",        1, 1, 0, 0 },
  { "cancel_registry",         0, 0, 0, 0 },
  { "cancel_watch",            1, 1, F_FILE0, 0 },
  { "cancel_version",          0, 0, 0, 0 },
  { "job_backup",              1, 2, F_FILE0, 0 },
  { "job_restore",             1, 2, F_FILE0, 0 },
  { "job_import",              2, 2, F_FILE1, 0 },
  { "job_exec",                1, 2, 0, 0 },
  { "job_vacuum",              1, 1, F_FILE0, 0 },
  { "job_wait",                2, 2, F_WAIT1|F_NEED2, 0 },
  { "cancel_job",              1, 2, 0, 0 },
  { "cancel_jobs",             1, 2, 0, 0 },
  { "pause_job",               1, 1, 0, 0 },
  { "resume_job",              1, 1, 0, 0 },
  { "set_job_retention",       1, 1, 0, 0 },
  { "job_begin",               1, 2, 0, 0 },
  { "job_progress",            2, 3, F_PROGR, 0 },
  { "job_end",                 1, 2, 0, 0 },
  /* the virtual tables' writes and constraints, with the same arguments */
  { "delete-session", 1, 1, 0, "DELETE FROM sessions WHERE session_id=?1" },
  { "delete-pid",     1, 1, 0, "DELETE FROM sessions WHERE pid=?1" },
  { "update-job",     2, 2, 0, "UPDATE jobs SET status=?2 WHERE job_id=?1" },
  { "update-session", 1, 1, 0, "UPDATE sessions SET application_name=?1" },
  { "insert-job",     1, 1, 0, "INSERT INTO jobs(job_id, status) VALUES(?1, 'running')" },
  { "select-session", 1, 1, 0, "SELECT * FROM sessions WHERE session_id=?1 OR pid=?1" },
  { "select-job",     1, 1, 0, "SELECT * FROM jobs WHERE job_id=?1" },
  { "select-log",     1, 1, 0, "SELECT * FROM cancel_log WHERE target_session_id=?1" },
};
#define NFN ((int)(sizeof(aFn)/sizeof(aFn[0])))

/* Selection queries and scripts worth having whole (the fuzzer finds
** the rest in raw text). */
static const char *azQuery[] = {
  "SELECT session_id FROM sessions",
  "SELECT session_id FROM sessions WHERE application_name='busy'",
  "SELECT session_id FROM sessions WHERE application_name='idle'",
  "SELECT session_id FROM sessions WHERE user_name='bob'",
  "SELECT session_id FROM sessions WHERE session_id<>session_id()",
  "SELECT query_id FROM sessions WHERE query_id IS NOT NULL",
  "SELECT job_id FROM jobs",
  "SELECT job_id FROM jobs WHERE status='running'",
  "SELECT pid FROM sessions",
  "SELECT 1",
  "SELECT NULL",
  "SELECT 'x'",
  "SELECT '0123456789abcdef0123456789abcdef'",
  "SELECT x FROM (VALUES('1'),('2'),('99999999999999999999'))",
  "SELECT 1; SELECT 2",
  "",
  "   ",
  "-- nothing",
  "DELETE FROM t",
  "CREATE TABLE x(a)",
  "SELECT * FROM nosuchtable",
  "SELECT cancel_sessions('SELECT session_id FROM sessions WHERE application_name=''idle''')",
  "INSERT INTO t VALUES(1); SELECT 1",
  "BEGIN; INSERT INTO t VALUES(2); COMMIT",
  "BEGIN; INSERT INTO t VALUES(3);",
  "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END; SELECT 2",
  "WITH RECURSIVE c(x) AS (VALUES(1) UNION ALL SELECT x+1 FROM c WHERE x<100000) SELECT count(*) FROM c",
};
#define NQUERY ((int)(sizeof(azQuery)/sizeof(azQuery[0])))

/* ------------------------------------------------------------- state */

static char zDb[600];
static sqlite3 *dbMain;       /* makes the calls; reopened for each input */
static sqlite3 *dbIdle;       /* "idle", user bob */
static sqlite3 *dbLock;       /* "locker" */
static sqlite3 *dbAdmin;      /* the harness's own housekeeping */
static atomic_int bStop;
static pthread_t busyThread;
static sqlite3_int64 deadlineMs;   /* of the statement dbMain runs */
static int bVerbose;               /* FUZZ_VERBOSE=1: print each statement */

static sqlite3_int64 nowMs(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (sqlite3_int64)ts.tv_sec*1000 + ts.tv_nsec/1000000;
}

/* dbMain's progress handler, chained behind the extension's: a
** selection query that runs long is interrupted. */
static int mainProgress(void *p){
  (void)p;
  return nowMs()>deadlineMs;
}

/* Open a session with a name (and user, not an admin, if zUser). */
/* (on this target's database) */
static sqlite3 *openSession(const char *zApp, const char *zUser){
  return fuzzOpenSession(zDb, zApp, zUser);
}
static void keepAlive(sqlite3 **pDb, const char *zApp, const char *zUser){
  fuzzKeepAlive(zDb, pDb, zApp, zUser);
}

/* A query that runs for about a second, mostly asleep (so that it costs
** no CPU), and can be interrupted between rows. */
static void napFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  struct timespec ts = { 0, 1000000 };
  (void)argc; (void)argv;
  nanosleep(&ts, 0);
  sqlite3_result_int(ctx, 1);
}

static void *busyMain(void *p){
  sqlite3 *db = 0;
  (void)p;
  while( !atomic_load(&bStop) ){
    keepAlive(&db, "busy", 0);
    sqlite3_create_function(db, "fuzz_nap", 0, SQLITE_UTF8, 0, napFunc, 0, 0);
    fuzzExec(db, "WITH RECURSIVE c(x) AS (VALUES(1) UNION ALL SELECT x+1 FROM c "
                 "WHERE x<1000) SELECT sum(fuzz_nap()) FROM c");
  }
  sqlite3_close(db);
  return 0;
}

static int keepFile(const char *zName){
  return strcmp(zName, "f.db")==0 || strcmp(zName, "f.db-journal")==0
      || strcmp(zName, "f.db-cancel")==0;
}

static void fuzzAtExit(void){
  atomic_store(&bStop, 1);
  pthread_join(busyThread, 0);
  sqlite3_close(dbMain);
  sqlite3_close(dbIdle);
  sqlite3_close(dbLock);
  sqlite3_close(dbAdmin);
  fuzzRemoveDir();
}

static void writeFile(const char *zName, const char *zText){
  char z[700];
  FILE *f;
  snprintf(z, sizeof(z), "%s/%s", fuzzDir, zName);
  f = fopen(z, "wb");
  if( f ){ fputs(zText, f); fclose(f); }
}

int LLVMFuzzerInitialize(int *pArgc, char ***pArgv){
  (void)pArgc; (void)pArgv;
  fuzzMakeDir();
  bVerbose = getenv("FUZZ_VERBOSE")!=0;
  snprintf(zDb, sizeof(zDb), "%s/f.db", fuzzDir);
  sqlite3_auto_extension((void(*)(void))sqlite3_cancel_init);
  sqlite3_hard_heap_limit64(256<<20);
  writeFile("a.csv", "a,b\n1,2\n\"x,y\",\"q\"\"q\"\r\n");
  writeFile("bad.csv", "a,b\n1\n");
  dbAdmin = openSession("fuzz-admin", 0);
  fuzzExec(dbAdmin, "CREATE TABLE IF NOT EXISTS t(a, b)");
  fuzzExec(dbAdmin, "SELECT set_job_retention(0)");
  dbIdle = openSession("idle", "bob");
  dbLock = openSession("locker", 0);
  if( pthread_create(&busyThread, 0, busyMain, 0)!=0 ) exit(1);
  atexit(fuzzAtExit);
  return 0;
}

/* ------------------------------------------------------------ arguments */

/* Change one letter of every case-insensitive occurrence of a pattern
** that would make the extension wait without end or reach outside the
** scratch directory (see the header comment). */
static void defang(char *z, size_t n){
  static const char *az[] = {
    "job_wait", "job_progress", "job_backup", "job_restore", "job_vacuum",
    "job_import", "job_exec", "pg_terminate_backend", "attach", "vacuum",
    "load_extension",
  };
  size_t i, k;
  for(k=0; k<sizeof(az)/sizeof(az[0]); k++){
    size_t m = strlen(az[k]);
    for(i=0; i+m<=n; i++){
      if( sqlite3_strnicmp(z+i, az[k], (int)m)==0 ) z[i+1] = '#';
    }
  }
}

/* A file argument: the scratch directory and a plain name, or an empty
** name (which the extension refuses itself). */
static char *safeFile(const char *z, size_t n){
  size_t i;
  for(i=0; i<n && z[i]; i++){}
  n = i;                            /* the extension sees up to the NUL */
  if( n==0 ) return sqlite3_mprintf("");
  if( memchr(z, '/', n) || n>100 ) return sqlite3_mprintf("%s/slash.db", fuzzDir);
  if( (n>=4 && memcmp(z, "f.db", 4)==0) || (n==2 && memcmp(z, "..", 2)==0) ){
    return sqlite3_mprintf("%s/other.db", fuzzDir);
  }
  return sqlite3_mprintf("%s/%.*s", fuzzDir, (int)n, z);
}

/* What the sessions of the process are now: for the id arguments. */
#define NTARGET 16
typedef struct Target Target;
struct Target { char zSid[40], zQid[40]; sqlite3_int64 pid; };
static Target aTarget[NTARGET];
static int nTarget;
static sqlite3_int64 aJob[NTARGET];
static int nJob;

static void readTargets(void){
  sqlite3_stmt *p = 0;
  nTarget = 0;
  nJob = 0;
  if( sqlite3_prepare_v2(dbAdmin, "SELECT session_id, pid, query_id FROM sessions",
                         -1, &p, 0)==SQLITE_OK ){
    while( nTarget<NTARGET && sqlite3_step(p)==SQLITE_ROW ){
      Target *t = &aTarget[nTarget++];
      const char *z0 = (const char*)sqlite3_column_text(p, 0);
      const char *z2 = (const char*)sqlite3_column_text(p, 2);
      snprintf(t->zSid, sizeof(t->zSid), "%s", z0 ? z0 : "");
      snprintf(t->zQid, sizeof(t->zQid), "%s", z2 ? z2 : "");
      t->pid = sqlite3_column_int64(p, 1);
    }
  }
  sqlite3_finalize(p);
  p = 0;
  if( sqlite3_prepare_v2(dbAdmin, "SELECT job_id FROM jobs ORDER BY job_id DESC",
                         -1, &p, 0)==SQLITE_OK ){
    while( nJob<NTARGET && sqlite3_step(p)==SQLITE_ROW ){
      aJob[nJob++] = sqlite3_column_int64(p, 0);
    }
  }
  sqlite3_finalize(p);
}

/* The previous call's result, as a value to bind. */
static sqlite3_value *pLast;

/* Decode one argument and bind it to slot i (1-based) of pStmt. */
static void bindArg(In *in, sqlite3_stmt *pStmt, int i, const struct FuzzFn *f){
  unsigned eKind = get8(in) % 16;
  int iArg = i-1;
  int bFile = ((f->flags & F_FILE0) && iArg==0) || ((f->flags & F_FILE1) && iArg==1);
  int bWait = (f->flags & F_WAIT1) && iArg==1;
  char *z = 0;
  size_t n = 0;
  const uint8_t *a;
  unsigned k;

  if( bWait ){
    /* a timeout: out-of-range values are refused without waiting; the
    ** ones accepted are kept to 0..50 ms */
    int64_t v;
    switch( eKind % 4 ){
      case 0:  v = (int64_t)(get8(in) % 51); break;
      case 1:  v = (int64_t)get64(in);
               if( v>50 && v<=2147483647 ) v %= 51;
               break;
      case 2:  sqlite3_bind_null(pStmt, i); return;
      default: sqlite3_bind_text(pStmt, i, "soon", -1, SQLITE_STATIC); return;
    }
    sqlite3_bind_int64(pStmt, i, v);
    return;
  }
  switch( eKind ){
    case 0:  sqlite3_bind_null(pStmt, i); return;
    case 1:  sqlite3_bind_int64(pStmt, i, (sqlite3_int64)get64(in)); return;
    case 2:  sqlite3_bind_int(pStmt, i, (int)get8(in) - 128); return;
    case 3: {
      uint64_t u = get64(in);
      double d;
      memcpy(&d, &u, sizeof(d));      /* NaN and infinities included */
      sqlite3_bind_double(pStmt, i, d);
      return;
    }
    case 4: case 5: {                  /* raw text, raw blob */
      k = get8(in);
      if( k==255 ) k = 255 + get8(in)*16;
      a = getBytes(in, k, &n);
      if( eKind==5 ){
        sqlite3_bind_blob(pStmt, i, a, (int)n, SQLITE_TRANSIENT);
        return;
      }
      z = sqlite3_malloc64(n+1);
      if( z==0 ) return;
      memcpy(z, a, n);
      z[n] = 0;
      break;
    }
    case 6: {                          /* huge text */
      unsigned c = get8(in);
      n = (size_t)1 << (8 + get8(in)%13);     /* 256 B .. 1 MB */
      z = sqlite3_malloc64(n+1);
      if( z==0 ) return;
      memset(z, c ? (int)c : 'a', n);
      if( c%3==0 ){                    /* hex digits: almost an id */
        for(k=0; k<n; k++) z[k] = "0123456789abcdef"[k%16];
      }
      z[n] = 0;
      break;
    }
    case 7: {                          /* an id of 32 hex digits */
      uint64_t a1 = get64(in), a2 = get64(in);
      if( nTarget>0 && (a1 & 1) ){     /* this process's tag */
        char zTag[17];
        memcpy(zTag, aTarget[0].zSid, 16);
        zTag[16] = 0;
        z = sqlite3_mprintf("%s%016llx", zTag, (unsigned long long)(a2 % 64));
      }else{
        z = sqlite3_mprintf("%016llX%016llx", (unsigned long long)a1, (unsigned long long)a2);
      }
      n = z ? strlen(z) : 0;
      break;
    }
    case 8: case 9: case 10: {         /* a live session's id, query id, pid */
      Target *t;
      if( nTarget==0 ){ sqlite3_bind_null(pStmt, i); return; }
      t = &aTarget[get8(in) % nTarget];
      if( eKind==10 ){
        if( get8(in) & 1 ){
          sqlite3_bind_int64(pStmt, i, t->pid);
        }else{
          z = sqlite3_mprintf(" %lld ", (long long)t->pid);   /* text holding it */
          n = z ? strlen(z) : 0;
          break;
        }
        return;
      }
      z = sqlite3_mprintf("%s", eKind==8 ? t->zSid : t->zQid);
      n = z ? strlen(z) : 0;
      break;
    }
    case 11: {                         /* a job id */
      sqlite3_int64 v = nJob ? aJob[get8(in) % nJob] : 1;
      sqlite3_bind_int64(pStmt, i, v + (int)(get8(in)%3) - 1);
      return;
    }
    case 12:                           /* the previous call's result */
      if( pLast && sqlite3_value_type(pLast)==SQLITE_TEXT ){
        /* text goes through defang() and safeFile() like any other: a
        ** session id or '0.3.0' is a fine name for a backup */
        n = (size_t)sqlite3_value_bytes(pLast);
        z = sqlite3_malloc64(n+1);
        if( z ){
          memcpy(z, sqlite3_value_text(pLast), n);
          z[n] = 0;
        }
        break;
      }
      if( pLast ) sqlite3_bind_value(pStmt, i, pLast); else sqlite3_bind_null(pStmt, i);
      return;
    case 13: {                         /* a selection query or script */
      const char *zQ = azQuery[get8(in) % NQUERY];
      z = sqlite3_mprintf("%s", zQ);
      n = z ? strlen(z) : 0;
      break;
    }
    case 14: {                         /* numbers as text */
      static const char *az[] = { "1", " 2 ", "0x10", "1e3", "-1", "0.5", "1.0",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808",
        "86400000", "86400001", "2147483647", "2147483648", "+3", "", "abc" };
      z = sqlite3_mprintf("%s", az[get8(in) % (sizeof(az)/sizeof(az[0]))]);
      n = z ? strlen(z) : 0;
      break;
    }
    default: {                         /* a short name, for the files */
      static const char *az[] = { "b.db", "a.csv", "bad.csv", "missing.csv",
        "x.db", "main", "temp", "t", "nosuch", "", "b.db-journal" };
      z = sqlite3_mprintf("%s", az[get8(in) % (sizeof(az)/sizeof(az[0]))]);
      n = z ? strlen(z) : 0;
      break;
    }
  }
  if( z==0 ){ sqlite3_bind_null(pStmt, i); return; }
  defang(z, n);
  if( bFile ){
    char *zF = safeFile(z, n);
    sqlite3_free(z);
    if( zF==0 ){ sqlite3_bind_null(pStmt, i); return; }
    sqlite3_bind_text(pStmt, i, zF, -1, sqlite3_free);
    return;
  }
  /* the bytes as they are, NULs included: the extension must cope with
  ** sqlite3_value_bytes() saying more than strlen() */
  sqlite3_bind_text(pStmt, i, z, (int)n, sqlite3_free);
}

/* One call: decode, bind, run, keep the result for the next call. */
static void runCall(In *in){
  const struct FuzzFn *f = &aFn[get8(in) % NFN];
  int nArg = f->nMin + (int)(get8(in) % (unsigned)(f->nMax - f->nMin + 1));
  sqlite3_stmt *pStmt = 0;
  char zSql[200];
  int i, n;
  if( f->flags & F_NEED2 ) nArg = 2;
  if( f->zSql ){
    snprintf(zSql, sizeof(zSql), "%s", f->zSql);
  }else{
    n = snprintf(zSql, sizeof(zSql), "SELECT %s(", f->zName);
    for(i=1; i<=nArg; i++) n += snprintf(zSql+n, sizeof(zSql)-n, "%s?%d", i>1 ? "," : "", i);
    snprintf(zSql+n, sizeof(zSql)-n, ")");
  }
  if( f->flags & F_PROGR ){
    fuzzExec(dbAdmin, "SELECT resume_job(job_id) FROM jobs "
                      "WHERE status IN ('paused','pause-requested')");
  }
  if( sqlite3_prepare_v2(dbMain, zSql, -1, &pStmt, 0)!=SQLITE_OK ){
    /* a terminated session refuses even to prepare */
    return;
  }
  for(i=1; i<=nArg; i++) bindArg(in, pStmt, i, f);
  deadlineMs = nowMs() + 1000;
  if( bVerbose ){
    char *zX = sqlite3_expanded_sql(pStmt);
    fprintf(stderr, "fuzz_functions: %.300s\n", zX ? zX : zSql);
    sqlite3_free(zX);
  }
  if( sqlite3_step(pStmt)==SQLITE_ROW ){
    sqlite3_value_free(pLast);
    pLast = sqlite3_value_dup(sqlite3_column_value(pStmt, 0));
  }
  sqlite3_finalize(pStmt);
}

/* After an input: no job left running, the sessions back as they were. */
static void cleanUp(int bLocked){
  sqlite3_stmt *p = 0;
  sqlite3_int64 aId[64];
  int nId = 0, i;
  sqlite3_close(dbMain);             /* its own jobs end with it */
  dbMain = 0;
  if( bLocked ) fuzzExec(dbLock, "ROLLBACK");
  keepAlive(&dbAdmin, "fuzz-admin", 0);
  if( sqlite3_prepare_v2(dbAdmin, "SELECT job_id FROM jobs WHERE status NOT IN "
                         "('canceled','failed','succeeded')", -1, &p, 0)==SQLITE_OK ){
    while( nId<64 && sqlite3_step(p)==SQLITE_ROW ) aId[nId++] = sqlite3_column_int64(p, 0);
  }
  sqlite3_finalize(p);
  for(i=0; i<nId; i++){
    char zSql[120];
    sqlite3_int64 bDone;
    sqlite3_int64 endMs = nowMs() + 2000;
    /* cancel_job refuses a job in pause-requested (the rules of jobs.c):
    ** try again once the job has reached its pause */
    snprintf(zSql, sizeof(zSql), "SELECT cancel_job(%lld, 1)", (long long)aId[i]);
    while( fuzzExec(dbAdmin, zSql)!=SQLITE_OK && nowMs()<endMs ){
      struct timespec ts = { 0, 1000000 };
      char zQ[120];
      snprintf(zQ, sizeof(zQ), "SELECT status IN ('canceled','failed','succeeded') "
               "FROM jobs WHERE job_id=%lld", (long long)aId[i]);
      if( fuzzInt(dbAdmin, zQ, 1) ) break;      /* ended (or purged) meanwhile */
      nanosleep(&ts, 0);
    }
    snprintf(zSql, sizeof(zSql), "SELECT job_wait(%lld, 10000) IN "
             "('canceled','failed','succeeded')", (long long)aId[i]);
    bDone = fuzzInt(dbAdmin, zSql, 1);
    if( !bDone ){
      /* a canceled job must end: this is a finding, not noise */
      snprintf(zSql, sizeof(zSql), "SELECT job_type||' '||status||' '||coalesce(running_status,'') "
               "FROM jobs WHERE job_id=%lld", (long long)aId[i]);
      p = 0;
      sqlite3_prepare_v2(dbAdmin, zSql, -1, &p, 0);
      fprintf(stderr, "fuzz_functions: job %lld did not end within 10 s of cancel_job: %s\n",
              (long long)aId[i], p && sqlite3_step(p)==SQLITE_ROW ? (const char*)sqlite3_column_text(p, 0) : "?");
      sqlite3_finalize(p);
      abort();
    }
  }
  fuzzExec(dbAdmin, "SELECT set_job_retention(0)");
  keepAlive(&dbIdle, "idle", "bob");
  keepAlive(&dbLock, "locker", 0);
  fuzzCleanDir(keepFile);
  /* CSV files for job_import (a job of the input may have written over
  ** them: written afresh for every input) */
  writeFile("a.csv", "a,b\n1,2\n\"x,y\",\"q\"\"q\"\r\n");
  writeFile("bad.csv", "a,b\n1\n");
  sqlite3_value_free(pLast);
  pLast = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *aData, size_t nData){
  In in = { aData, nData, 0 };
  unsigned flags = get8(&in);
  int nCall = 1 + (int)(get8(&in) % 4), i;
  int bLocked = 0;
  sqlite3_int64 t0 = nowMs();
  if( flags & 1 ){
    bLocked = fuzzExec(dbLock, "BEGIN IMMEDIATE; INSERT INTO t VALUES('lock', 1)")==SQLITE_OK;
  }
  dbMain = openSession((flags & 2) ? "fuzz" : "", (flags & 4) ? "carol" : 0);
  cancel_set_progress_handler(dbMain, mainProgress, 0);
  for(i=0; i<nCall && in.i<in.n; i++){
    readTargets();                 /* jobs the last call started included */
    runCall(&in);
  }
  /* what the calls left behind, through the tables */
  deadlineMs = nowMs() + 1000;
  fuzzDrain(dbMain, "SELECT * FROM sessions");
  fuzzDrain(dbMain, "SELECT * FROM jobs");
  fuzzDrain(dbMain, "SELECT * FROM cancel_log");
  if( bVerbose ) fprintf(stderr, "fuzz_functions: calls done after %lld ms\n", (long long)(nowMs()-t0));
  cleanUp(bLocked);
  if( bVerbose ) fprintf(stderr, "fuzz_functions: cleaned up after %lld ms\n", (long long)(nowMs()-t0));
  return 0;
}
