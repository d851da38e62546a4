/*
** killtest.c: a writing process killed with SIGKILL at random points,
** while another process cancels its statements.
**
**   test/killtest [trials [seed]]        default 50 trials
**
** Each trial makes a database (rollback journal and WAL alternate) and
** forks two processes, each with the extension compiled in and enabled
** for every connection (sqlite3_auto_extension):
**   writer     runs transactions: BEGIN; INSERT INTO ledger (a unique
**              ledger id and a row count n); INSERT n rows into t (a
**              statement long enough to be cancelled mid-way); COMMIT.
**              After each COMMIT that returned SQLITE_OK it writes the
**              ledger id to a pipe to the parent. An interrupted
**              statement is rolled back and the next id tried; a
**              terminated session ("not authorized") is closed and a new
**              one opened.
**   canceller  from its own process, through the extension: cancel_query
**              on the writer's running statement, pg_cancel_backend on
**              its pid, and now and then pg_terminate_backend.
** Both say on a pipe when they have started; then the parent waits a
** random time (the point is a random kill point, not synchronisation),
** reading ledger ids as they come, and kills the writer with SIGKILL; in
** one trial of three it kills the canceller too (before or after the
** writer, at random), otherwise it tells it to stop. After reaping both,
** it reads the rest of the pipe and asserts:
**   - PRAGMA integrity_check is 'ok';
**   - every ledger id the writer reported committed is in the table, and
**     every ledger row has exactly its n rows in t (no transaction half
**     there, none lost);
**   - a fresh connection with the extension (in a new process, so the
**     parent never runs the extension's threads across fork) lists only
**     itself in `sessions`: the dead processes left no ghost session.
** Prints the figures and exits non-zero on any failure.
*/
#include <sqlite3.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "cancel.h"

static char zDir[128];
static int nFail = 0;
static int iTrial = 0;

static void fail(const char *zFmt, const char *zA){
  fprintf(stderr, "killtest: FAIL [trial %d]: ", iTrial);
  fprintf(stderr, zFmt, zA ? zA : "");
  fputc('\n', stderr);
  nFail++;
}

static long nowUs(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec*1000000 + ts.tv_nsec/1000;
}

static int writeAll(int fd, const void *p, size_t n){
  const char *z = (const char*)p;
  while( n>0 ){
    ssize_t k = write(fd, z, n);
    if( k<0 && errno==EINTR ) continue;
    if( k<=0 ) return -1;
    z += k;
    n -= (size_t)k;
  }
  return 0;
}

/* ------------------------------------------------------------- writer */

static sqlite3 *writerOpen(const char *zDb){
  sqlite3 *db = 0;
  if( sqlite3_open(zDb, &db)!=SQLITE_OK ){
    sqlite3_close(db);
    return 0;
  }
  cancel_set_busy_timeout(db, 10000);
  sqlite3_exec(db, "SELECT set_application_name('writer')", 0, 0, 0);
  return db;
}

static int writer(const char *zDb, int fdOut, unsigned seed){
  sqlite3 *db = writerOpen(zDb);
  long long id = (long long)getpid()*1000000;
  char c = 'W';
  if( db==0 ) return 2;
  if( writeAll(fdOut, &c, 1) ) return 3;      /* started */
  for(;;){
    char zSql[300];
    int n = 1 + (int)(rand_r(&seed)%400), rc;
    id++;
    snprintf(zSql, sizeof(zSql),
      "BEGIN;"
      "INSERT INTO ledger(id, n) VALUES(%lld, %d);"
      "WITH RECURSIVE c(i) AS (VALUES(1) UNION ALL SELECT i+1 FROM c WHERE i<%d)"
      " INSERT INTO t(lid, x) SELECT %lld, randomblob(60) FROM c;"
      "COMMIT;", id, n, n, id);
    rc = sqlite3_exec(db, zSql, 0, 0, 0);
    if( rc==SQLITE_OK ){
      if( writeAll(fdOut, &id, sizeof(id)) ) return 4;
      continue;
    }
    if( !sqlite3_get_autocommit(db) ) sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
    if( rc==SQLITE_INTERRUPT ){
      long long m = -1;          /* for the figures: a statement cancelled */
      if( writeAll(fdOut, &m, sizeof(m)) ) return 4;
    }
    if( rc==SQLITE_AUTH || (rc&0xff)==SQLITE_AUTH ){
      long long m = -2;          /* terminated */
      if( writeAll(fdOut, &m, sizeof(m)) ) return 4;
      /* terminated: this connection refuses everything now */
      sqlite3_close(db);
      if( (db = writerOpen(zDb))==0 ) return 5;
    }
  }
}

/* ---------------------------------------------------------- canceller */

static volatile sig_atomic_t bStopCanceller = 0;
static void onUsr1(int sig){ (void)sig; bStopCanceller = 1; }

static int canceller(const char *zDb, int fdOut, unsigned seed){
  sqlite3 *db = 0;
  char c = 'C';
  long nCalls = 0;
  if( sqlite3_open(zDb, &db)!=SQLITE_OK ) return 2;
  cancel_set_busy_timeout(db, 10000);
  if( writeAll(fdOut, &c, 1) ) return 3;
  while( !bStopCanceller ){
    int r = (int)(rand_r(&seed)%40);
    const char *zSql =
      r<19 ? "SELECT cancel_query(query_id, 1) FROM sessions "
             "WHERE application_name='writer' AND query_id IS NOT NULL" :
      r<38 ? "SELECT pg_cancel_backend(pid) FROM sessions WHERE application_name='writer'" :
             "SELECT pg_terminate_backend(pid) FROM sessions WHERE application_name='writer'";
    struct timespec ts = { 0, (long)(rand_r(&seed)%2000)*1000 };
    int rc = sqlite3_exec(db, zSql, 0, 0, 0);
    if( rc!=SQLITE_OK && rc!=SQLITE_BUSY ){
      fprintf(stderr, "killtest: canceller: %s: %s\n", zSql, sqlite3_errmsg(db));
      return 4;
    }
    nCalls++;
    nanosleep(&ts, 0);          /* pacing, 0-2 ms between calls */
  }
  sqlite3_close(db);
  return 0;
}

/* ------------------------------------------------------------- checks */

/* In a new process: a fresh connection with the extension; exit status:
** the number of sessions listed (255 on error). */
static int sessionsListed(const char *zDb){
  pid_t pid = fork();
  int st = 0;
  if( pid==0 ){
    sqlite3 *db = 0;
    sqlite3_stmt *p = 0;
    int n = 255;
    sqlite3_auto_extension((void(*)(void))sqlite3_cancel_init);
    if( sqlite3_open(zDb, &db)==SQLITE_OK
     && sqlite3_prepare_v2(db, "SELECT count(*) FROM sessions", -1, &p, 0)==SQLITE_OK
     && sqlite3_step(p)==SQLITE_ROW ){
      n = sqlite3_column_int(p, 0);
    }
    sqlite3_finalize(p);
    sqlite3_close(db);
    _exit(n>255 ? 255 : n);
  }
  if( pid<0 || waitpid(pid, &st, 0)!=pid || !WIFEXITED(st) ) return 255;
  return WEXITSTATUS(st);
}

static long nInterrupted = 0, nTerminated = 0;
static long long *aId = 0;
static int nId = 0, nIdAlloc = 0;

static void addId(long long id){
  if( nId==nIdAlloc ){
    nIdAlloc = nIdAlloc ? nIdAlloc*2 : 1024;
    aId = realloc(aId, sizeof(*aId)*nIdAlloc);
    if( aId==0 ){ perror("realloc"); exit(1); }
  }
  aId[nId++] = id;
}

/* Read what the writer sent: ledger ids (8 bytes each). */
static void readIds(int fd, char *aBuf, int *pnBuf){
  for(;;){
    ssize_t k = read(fd, aBuf + *pnBuf, 4096 - *pnBuf);
    if( k<0 && errno==EINTR ) continue;
    if( k<=0 ) return;
    *pnBuf += (int)k;
    while( *pnBuf>=8 ){
      long long id;
      memcpy(&id, aBuf, 8);
      if( id==-1 ) nInterrupted++;
      else if( id==-2 ) nTerminated++;
      else addId(id);
      memmove(aBuf, aBuf+8, *pnBuf-8);
      *pnBuf -= 8;
    }
  }
}

static long nCommittedTotal = 0, nLedgerTotal = 0, nKilledCanceller = 0;
static long nWal = 0, nDelete = 0;

static void checkDb(const char *zDb){
  sqlite3 *db = 0;
  sqlite3_stmt *p = 0;
  char z[200];
  int i;
  long nLedger = -1, nBad = -1;
  if( sqlite3_open(zDb, &db)!=SQLITE_OK ){
    fail("cannot open the database: %s", sqlite3_errmsg(db));
    sqlite3_close(db);
    return;
  }
  sqlite3_busy_timeout(db, 10000);
  if( sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &p, 0)==SQLITE_OK
   && sqlite3_step(p)==SQLITE_ROW ){
    snprintf(z, sizeof(z), "%s", (const char*)sqlite3_column_text(p, 0));
    if( strcmp(z, "ok")!=0 ) fail("integrity_check: %s", z);
  }else{
    fail("integrity_check could not run: %s", sqlite3_errmsg(db));
  }
  sqlite3_finalize(p);
  p = 0;
  if( sqlite3_prepare_v2(db, "SELECT 1 FROM ledger WHERE id=?", -1, &p, 0)==SQLITE_OK ){
    for(i=0; i<nId; i++){
      sqlite3_bind_int64(p, 1, aId[i]);
      if( sqlite3_step(p)!=SQLITE_ROW ){
        snprintf(z, sizeof(z), "%lld", aId[i]);
        fail("ledger id %s was committed (COMMIT returned SQLITE_OK) but is missing", z);
      }
      sqlite3_reset(p);
    }
  }
  sqlite3_finalize(p);
  p = 0;
  if( sqlite3_prepare_v2(db, "SELECT count(*), (SELECT count(*) FROM ledger l WHERE n<>"
                             "(SELECT count(*) FROM t WHERE lid=l.id))"
                             " + (SELECT count(*) FROM t WHERE lid NOT IN (SELECT id FROM ledger))"
                             " FROM ledger", -1, &p, 0)==SQLITE_OK
   && sqlite3_step(p)==SQLITE_ROW ){
    nLedger = sqlite3_column_int64(p, 0);
    nBad = sqlite3_column_int64(p, 1);
  }
  sqlite3_finalize(p);
  if( nBad!=0 ){
    snprintf(z, sizeof(z), "%ld", nBad);
    fail("%s transactions are partly there", z);
  }
  nLedgerTotal += nLedger;
  sqlite3_close(db);
}

static int runTrial(unsigned seed){
  char zDb[200], z[240];
  int aW[2], aC[2];
  pid_t pidW, pidC;
  int bWal = iTrial%2, bKillC = seed%3==0, stW = 0, stC = 0;
  char aBuf[4096];
  int nBuf = 0, nSessions;
  long delayUs, endUs;
  sqlite3 *db = 0;

  snprintf(zDb, sizeof(zDb), "%s/t%d.db", zDir, iTrial);
  remove(zDb);
  if( sqlite3_open(zDb, &db)!=SQLITE_OK ){ fail("create %s", zDb); return 1; }
  if( sqlite3_exec(db, bWal ? "PRAGMA journal_mode=WAL" : "PRAGMA journal_mode=DELETE", 0, 0, 0)
   || sqlite3_exec(db, "CREATE TABLE ledger(id INTEGER PRIMARY KEY, n INTEGER);"
                       "CREATE TABLE t(lid INTEGER, x BLOB); CREATE INDEX tl ON t(lid);", 0, 0, 0) ){
    fail("create: %s", sqlite3_errmsg(db));
  }
  sqlite3_close(db);
  if( bWal ) nWal++; else nDelete++;
  nId = 0;
  if( pipe(aW) || pipe(aC) ){ perror("pipe"); exit(1); }
  fflush(stdout);
  fflush(stderr);
  pidW = fork();
  if( pidW==0 ){
    close(aW[0]); close(aC[0]); close(aC[1]);
    sqlite3_auto_extension((void(*)(void))sqlite3_cancel_init);
    _exit(writer(zDb, aW[1], seed*7+1));
  }
  pidC = fork();
  if( pidC==0 ){
    close(aW[0]); close(aW[1]); close(aC[0]);
    signal(SIGUSR1, onUsr1);
    sqlite3_auto_extension((void(*)(void))sqlite3_cancel_init);
    _exit(canceller(zDb, aC[1], seed*13+5));
  }
  close(aW[1]);
  close(aC[1]);
  /* the handshakes: both have opened the database and begun */
  {
    char c = 0;
    if( read(aW[0], &c, 1)!=1 || c!='W' ) fail("the writer did not start", 0);
    if( read(aC[0], &c, 1)!=1 || c!='C' ) fail("the canceller did not start", 0);
  }
  /* a random kill point: 0-250 ms of writing under cancels */
  delayUs = (long)(seed % 250000);
  endUs = nowUs() + delayUs;
  fcntl(aW[0], F_SETFL, O_NONBLOCK);
  for(;;){
    struct pollfd pfd = { aW[0], POLLIN, 0 };
    long left = endUs - nowUs();
    if( left<=0 ) break;
    if( poll(&pfd, 1, (int)(left/1000)+1)>0 ) readIds(aW[0], aBuf, &nBuf);
  }
  if( bKillC && (seed & 8) ){ kill(pidC, SIGKILL); }
  kill(pidW, SIGKILL);
  if( bKillC && !(seed & 8) ){ kill(pidC, SIGKILL); }
  if( !bKillC ) kill(pidC, SIGUSR1);
  waitpid(pidW, &stW, 0);
  waitpid(pidC, &stC, 0);
  /* the rest of the pipe: ids the writer sent before it died */
  fcntl(aW[0], F_SETFL, 0);
  readIds(aW[0], aBuf, &nBuf);
  close(aW[0]);
  close(aC[0]);
  if( !WIFSIGNALED(stW) || WTERMSIG(stW)!=SIGKILL ){
    snprintf(z, sizeof(z), "%d", stW);
    fail("the writer ended by itself (status %s), not killed", z);
  }
  if( bKillC ){
    nKilledCanceller++;
    if( !WIFSIGNALED(stC) ) fail("the canceller was not killed", 0);
  }else if( !WIFEXITED(stC) || WEXITSTATUS(stC)!=0 ){
    snprintf(z, sizeof(z), "%d", stC);
    fail("the canceller failed (status %s)", z);
  }
  nCommittedTotal += nId;
  checkDb(zDb);
  nSessions = sessionsListed(zDb);
  if( nSessions!=1 ){
    snprintf(z, sizeof(z), "%d", nSessions);
    fail("a fresh connection lists %s sessions after the processes died, wanted 1 (itself)", z);
  }
  return 0;
}

int main(int argc, char **argv){
  int nTrial = argc>1 ? atoi(argv[1]) : 50;
  unsigned seed = argc>2 ? (unsigned)strtoul(argv[2], 0, 10) : (unsigned)(time(0) ^ getpid());
  int nFailBefore;
  time_t t0 = time(0);
  snprintf(zDir, sizeof(zDir), "build/tmp/killtest-%d", (int)getpid());
  mkdir("build/tmp", 0777);
  if( mkdir(zDir, 0777)!=0 && errno!=EEXIST ){ perror(zDir); return 1; }
  printf("killtest: seed %u\n", seed);
  srand(seed);
  for(iTrial=0; iTrial<nTrial; iTrial++){
    char z[240];
    nFailBefore = nFail;
    runTrial((unsigned)rand());
    if( nFail==nFailBefore ){
      /* keep the files of a failed trial only */
      snprintf(z, sizeof(z), "%s/t%d.db", zDir, iTrial); remove(z);
      snprintf(z, sizeof(z), "%s/t%d.db-wal", zDir, iTrial); remove(z);
      snprintf(z, sizeof(z), "%s/t%d.db-shm", zDir, iTrial); remove(z);
      snprintf(z, sizeof(z), "%s/t%d.db-journal", zDir, iTrial); remove(z);
      snprintf(z, sizeof(z), "%s/t%d.db-cancel", zDir, iTrial); remove(z);
    }
  }
  printf("killtest: %d trials (%ld rollback journal, %ld WAL), writer killed with "
         "SIGKILL in each, canceller killed in %ld; %ld commits reported, %ld "
         "ledger rows found, %ld statements cancelled, %ld terminations; "
         "%d failures, %ld s\n",
         nTrial, nDelete, nWal, nKilledCanceller, nCommittedTotal, nLedgerTotal,
         nInterrupted, nTerminated,
         nFail, (long)(time(0)-t0));
  free(aId);
  return nFail ? 1 : 0;
}
