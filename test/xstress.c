/*
** xstress.c: several processes on one database, enrolling and leaving,
** running queries and cancelling each other's, for a bounded time; one
** of them is killed with SIGKILL half-way.
**
**   test/xstress [seconds] [processes]
**
** Each process (forked; the extension compiled in and enabled for every
** connection with sqlite3_auto_extension) runs two threads:
**   runner     opens a connection, runs a few statements marked either
**              target or safe, closes it, again and again;
**   canceller  reads `sessions` and calls cancel_query() on every target
**              statement of the other processes it sees running.
** It asserts:
**   - no safe statement is ever interrupted (a cancel aimed at one
**     execution never hits another, across processes);
**   - target statements are interrupted (cancels arrive);
**   - after the run, a fresh connection lists only itself in `sessions`,
**     and the registry file has exactly one slot in use (nothing leaked,
**     the killed process left no ghost);
**   - no crash, no sanitizer report (also built with ASan+UBSan).
*/
#include <sqlite3.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "cancel.h"

static char zDb[128];
static atomic_int bStop = 0;
static atomic_long nTarget, nTargetHit, nSafe, nMisfire, nCancels, nOpen, nOther;

/* about 5-20 ms of work unless cancelled */
#define WORK "WITH RECURSIVE c(x) AS (VALUES(1) UNION ALL SELECT x+1 FROM c " \
             "WHERE x<60000) SELECT count(*) FROM c"

static void *runner(void *pArg){
  unsigned seed = (unsigned)getpid();
  (void)pArg;
  while( !atomic_load(&bStop) ){
    sqlite3 *db = 0;
    int i;
    if( sqlite3_open(zDb, &db)!=SQLITE_OK ){ sqlite3_close(db); continue; }
    atomic_fetch_add(&nOpen, 1);
    for(i=0; i<4; i++){
      int bTarget = rand_r(&seed)%2;
      int rc = sqlite3_exec(db, bTarget ? "SELECT /*target*/ * FROM (" WORK ")"
                                        : "SELECT /*safe*/ * FROM (" WORK ")", 0, 0, 0);
      if( bTarget ){
        atomic_fetch_add(&nTarget, 1);
        if( rc==SQLITE_INTERRUPT ) atomic_fetch_add(&nTargetHit, 1);
      }else{
        atomic_fetch_add(&nSafe, 1);
        if( rc==SQLITE_INTERRUPT ){
          atomic_fetch_add(&nMisfire, 1);
          fprintf(stderr, "xstress[%d]: MISFIRE: a safe statement was interrupted\n",
                  (int)getpid());
        }
      }
      if( rc!=SQLITE_OK && rc!=SQLITE_INTERRUPT ) atomic_fetch_add(&nOther, 1);
    }
    sqlite3_close(db);
  }
  return 0;
}

static void *canceller(void *pArg){
  sqlite3 *db = 0;
  char zSql[200];
  (void)pArg;
  if( sqlite3_open(zDb, &db)!=SQLITE_OK ) return 0;
  snprintf(zSql, sizeof(zSql),
           "SELECT cancel_query(query_id, 1) FROM sessions WHERE node_id<>%d "
           "AND active_query LIKE '%%/*target*/%%'", (int)getpid());
  while( !atomic_load(&bStop) ){
    sqlite3_stmt *pStmt = 0;
    if( sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0)==SQLITE_OK ){
      while( sqlite3_step(pStmt)==SQLITE_ROW ) atomic_fetch_add(&nCancels, 1);
    }
    sqlite3_finalize(pStmt);
  }
  sqlite3_close(db);
  return 0;
}

static int child(int seconds){
  pthread_t a, b;
  struct timespec ts = { seconds, 0 };
  sqlite3_auto_extension((void(*)(void))sqlite3_cancel_init);
  pthread_create(&a, 0, runner, 0);
  pthread_create(&b, 0, canceller, 0);
  nanosleep(&ts, 0);             /* the run's length, not a handshake */
  atomic_store(&bStop, 1);
  pthread_join(a, 0);
  pthread_join(b, 0);
  printf("xstress[%d]: %ld connections, %ld target statements (%ld "
         "interrupted), %ld safe (%ld misfires), %ld cancels sent, %ld other errors\n",
         (int)getpid(), atomic_load(&nOpen), atomic_load(&nTarget),
         atomic_load(&nTargetHit), atomic_load(&nSafe), atomic_load(&nMisfire),
         atomic_load(&nCancels), atomic_load(&nOther));
  fflush(stdout);
  if( atomic_load(&nTarget)>50 && atomic_load(&nTargetHit)==0 ){
    fprintf(stderr, "xstress[%d]: FAIL: no target statement was ever interrupted\n",
            (int)getpid());
    return 1;
  }
  return atomic_load(&nMisfire)!=0 ? 1 : 0;
}

static long queryLong(sqlite3 *db, const char *zSql){
  sqlite3_stmt *pStmt = 0;
  long v = -1;
  if( sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0)==SQLITE_OK
   && sqlite3_step(pStmt)==SQLITE_ROW ){
    v = (long)sqlite3_column_int64(pStmt, 0);
  }
  sqlite3_finalize(pStmt);
  return v;
}

/* Slots in use in the registry file (owner words with a pid). */
static int usedSlots(void){
  char zReg[160];
  FILE *f;
  int i, n = 0;
  snprintf(zReg, sizeof(zReg), "%s-cancel", zDb);
  f = fopen(zReg, "rb");
  if( f==0 ) return -1;
  for(i=0; i<1024+256; i++){
    unsigned long long o = 0;
    if( fseek(f, 4096 + (long)i*4096, SEEK_SET)!=0 || fread(&o, 8, 1, f)!=1 ) break;
    if( o & 0xffffffffull ) n++;
  }
  fclose(f);
  return n;
}

int main(int argc, char **argv){
  int seconds = argc>1 ? atoi(argv[1]) : 4;
  int nProc = argc>2 ? atoi(argv[2]) : 3;
  pid_t aPid[16] = {0};
  int i, nFail = 0;
  sqlite3 *db;
  long nSessions;
  int nUsed;
  if( nProc<2 ) nProc = 2;
  if( nProc>16 ) nProc = 16;
  snprintf(zDb, sizeof(zDb), "build/tmp/xstress-%d.db", (int)getpid());
  remove(zDb);
  {
    char z[160];
    snprintf(z, sizeof(z), "%s-cancel", zDb);
    remove(z);
  }
  fflush(stdout);
  for(i=0; i<nProc; i++){
    aPid[i] = fork();
    if( aPid[i]==0 ) _exit(child(i==0 ? seconds*4 : seconds));
  }
  {
    /* the first one dies half-way, in the middle of whatever it does */
    struct timespec ts = { seconds/2, 500000000 };
    nanosleep(&ts, 0);
    kill(aPid[0], SIGKILL);
  }
  for(i=0; i<nProc; i++){
    int st = 0;
    waitpid(aPid[i], &st, 0);
    if( i==0 ){
      if( !WIFSIGNALED(st) ){ fprintf(stderr, "xstress: FAIL: process 0 was not killed\n"); nFail++; }
    }else if( !WIFEXITED(st) || WEXITSTATUS(st)!=0 ){
      fprintf(stderr, "xstress: FAIL: process %d ended with status %d\n", i, st);
      nFail++;
    }
  }
  sqlite3_auto_extension((void(*)(void))sqlite3_cancel_init);
  if( sqlite3_open(zDb, &db)!=SQLITE_OK ) return 1;
  nSessions = queryLong(db, "SELECT count(*) FROM sessions");
  nUsed = usedSlots();
  if( nSessions!=1 ){
    fprintf(stderr, "xstress: FAIL: %ld sessions listed after the run, expected 1\n", nSessions);
    nFail++;
  }
  if( nUsed!=1 ){
    fprintf(stderr, "xstress: FAIL: %d registry slots in use after the run, expected 1\n", nUsed);
    nFail++;
  }
  sqlite3_close(db);
  printf("xstress: %d processes (one killed with SIGKILL), %ld session listed "
         "after, %d slot in use after, %d failures\n", nProc, nSessions, nUsed, nFail);
  return nFail ? 1 : 0;
}
