/*
** bench_cost.c: what the extension costs work that is never cancelled.
**
**   tool/bench_cost loop WORK MODE N     one loop (run under callgrind with
**                                        --toggle-collect=costLoop)
**   tool/bench_cost time N ROUNDS        every WORK and MODE, interleaved
**
** WORK:
**   select   N executions of the prepared `SELECT ?1+1`
**   insert   N executions of `INSERT INTO t VALUES(?1)`, in one transaction
**   cpu      a CPU-bound query: a recursive CTE counting to N
**   point    N executions of `SELECT x FROM t WHERE rowid=?1` on a WAL
**            database of 1,000 rows (each one a read transaction)
** MODE:
**   plain    plain SQLite, extension not loaded (the reference)
**   trace    plain SQLite with a no-op SQLITE_TRACE_STMT|PROFILE callback:
**            what SQLite itself charges for telling a callback when a
**            statement starts and ends (the floor of that design)
**   local    the extension, without the cross-process registry
**   shared   the extension with the registry (the default on a file)
**   timeout  shared, with a statement timeout (select, cpu) or an
**            idle-in-transaction timeout (insert) set
** `time` prints CSV lines time,WORK,MODE,N,ns_per_unit (the median of
** ROUNDS rounds, the modes interleaved so that the machine's noise hits
** them alike; the unit is one statement, or one CTE row for cpu).
*/
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cancel.h"
#include "benchutil.h"

static const char *zDbFile = "bench/tmp-cost.db";
static const char *zWalFile = "bench/tmp-cost-wal.db";   /* point only */
static const char *azWork[] = { "select", "insert", "cpu", "point", 0 };
static const char *azMode[] = { "plain", "trace", "local", "shared", "timeout",
                                "xact", "blocker", 0 };

static int noopTrace(unsigned t, void *p, void *P, void *X){
  (void)t; (void)p; (void)P; (void)X;
  return 0;
}

static sqlite3 *openFor(const char *zWork, const char *zMode){
  sqlite3 *db;
  int bExt = strcmp(zMode, "plain")!=0 && strcmp(zMode, "trace")!=0;
  const char *zFile = strcmp(zWork, "point")==0 ? zWalFile : zDbFile;
  if( bExt ) sqlite3_auto_extension((void(*)(void))sqlite3_cancel_init);
  else sqlite3_reset_auto_extension();
  cancel_set_shared(strcmp(zMode, "local")!=0);
  if( sqlite3_open(zFile, &db)!=SQLITE_OK ){
    fprintf(stderr, "bench_cost: cannot open %s\n", zFile);
    exit(1);
  }
  if( strcmp(zMode, "trace")==0 ){
    sqlite3_trace_v2(db, SQLITE_TRACE_STMT|SQLITE_TRACE_PROFILE, noopTrace, 0);
  }
  if( strcmp(zMode, "timeout")==0 ){
    if( strcmp(zWork, "insert")==0 ) cancel_set_idle_in_transaction_session_timeout(db, 60000);
    else cancel_set_statement_timeout(db, 60000);
  }
  if( strcmp(zMode, "xact")==0 ) cancel_set_transaction_timeout(db, 60000);
  if( strcmp(zMode, "blocker")==0 ) cancel_set_idle_blocker_timeout(db, 60000);
  return db;
}

/* The measured part (callgrind counts only inside this function). */
__attribute__((noinline))
void costLoop(sqlite3_stmt *p, int bRepeat, int n){
  int i;
  if( !bRepeat ){
    while( sqlite3_step(p)==SQLITE_ROW ){}
    sqlite3_reset(p);
    return;
  }
  for(i=0; i<n; i++){
    sqlite3_bind_int(p, 1, bRepeat==2 ? i%1000+1 : i);
    while( sqlite3_step(p)==SQLITE_ROW ){}
    sqlite3_reset(p);
  }
}

/* One loop; returns its time in ns per unit. */
static double loop(const char *zWork, const char *zMode, int n){
  sqlite3 *db = openFor(zWork, zMode);
  sqlite3_stmt *p;
  char zSql[200];
  int bInsert = strcmp(zWork, "insert")==0;
  int bCpu = strcmp(zWork, "cpu")==0;
  int bPoint = strcmp(zWork, "point")==0;
  double t0, t;
  sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS t(x); DELETE FROM t;", 0, 0, 0);
  if( bPoint ){
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; BEGIN; WITH RECURSIVE c(i) AS "
                 "(VALUES(1) UNION ALL SELECT i+1 FROM c WHERE i<1000) "
                 "INSERT INTO t(rowid, x) SELECT i, i*7 FROM c; COMMIT", 0, 0, 0);
  }
  if( bInsert ) sqlite3_exec(db, "BEGIN", 0, 0, 0);
  if( bCpu ){
    snprintf(zSql, sizeof(zSql), "WITH RECURSIVE c(x) AS (VALUES(1) UNION ALL "
             "SELECT x+1 FROM c WHERE x<%d) SELECT count(*) FROM c", n);
  }else{
    snprintf(zSql, sizeof(zSql), "%s", bInsert ? "INSERT INTO t VALUES(?1)"
             : bPoint ? "SELECT x FROM t WHERE rowid=?1" : "SELECT ?1+1");
  }
  if( sqlite3_prepare_v2(db, zSql, -1, &p, 0)!=SQLITE_OK ){
    fprintf(stderr, "bench_cost: %s\n", sqlite3_errmsg(db));
    exit(1);
  }
  t0 = benchNowUs();
  costLoop(p, bCpu ? 0 : bPoint ? 2 : 1, n);
  t = benchNowUs()-t0;
  sqlite3_finalize(p);
  if( bInsert ) sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
  sqlite3_close(db);
  return t*1000.0/n;
}

static int known(const char **az, const char *z){
  int i;
  for(i=0; az[i]; i++) if( strcmp(az[i], z)==0 ) return 1;
  return 0;
}

int main(int argc, char **argv){
  if( argc==5 && strcmp(argv[1], "loop")==0 && known(azWork, argv[2]) && known(azMode, argv[3]) ){
    printf("loop,%s,%s,%d,%.1f\n", argv[2], argv[3], atoi(argv[4]),
           loop(argv[2], argv[3], atoi(argv[4])));
  }else if( argc==4 && strcmp(argv[1], "time")==0 ){
    int n = atoi(argv[2]), nRound = atoi(argv[3]);
    int w, m, r;
    double aT[4][5][32];
    if( nRound<1 || nRound>32 || n<1 ){
      fprintf(stderr, "bench_cost: 1 to 32 rounds of at least one\n");
      return 1;
    }
    for(r=0; r<nRound; r++){
      for(w=0; azWork[w]; w++){
        for(m=0; azMode[m]; m++) aT[w][m][r] = loop(azWork[w], azMode[m], n);
      }
    }
    for(w=0; azWork[w]; w++){
      for(m=0; azMode[m]; m++){
        benchSort(aT[w][m], nRound);
        printf("time,%s,%s,%d,%.1f\n", azWork[w], azMode[m], n, aT[w][m][nRound/2]);
      }
    }
  }else{
    fprintf(stderr, "usage: %s loop WORK MODE N | time N ROUNDS\n"
                    "  WORK: select insert cpu point; MODE: plain trace local shared timeout xact blocker\n", argv[0]);
    return 1;
  }
  return 0;
}
