/*
** bench_pg.c: PostgreSQL's pg_cancel_backend() on the same kinds of
** statement as tool/bench_latency.c, measured the same way: from the
** moment the canceller issues the call to the moment the target's query
** returns. Built by `make bench` only where libpq is installed.
**
**   tool/bench_pg CONNINFO setup ROWS
**   tool/bench_pg CONNINFO run KIND TRIALS
**
** The kinds, in PostgreSQL's terms: cte (the same endless recursive CTE),
** groupby (a sort-based GROUP BY in memory: hash aggregation off, ample
** work_mem), orderby (an external sort: work_mem 64kB), write (INSERT
** INTO w SELECT * FROM t; the error ends its transaction), lock (an
** INSERT waiting on the table lock another connection holds). Parallel
** query is off, so one backend does the work as in SQLite. The target is
** a thread with its own connection; the canceller waits until
** pg_stat_activity shows the query active, pauses a random time, stamps
** t0 and runs SELECT pg_cancel_backend(pid). Prints the same CSV line as
** bench_latency, with METHOD `postgres`.
*/
#include <libpq-fe.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "benchutil.h"

typedef struct Msg {
  char type;            /* 'P' ready, 'S' about to run, 'D' done */
  int bCanceled;        /* 'D': the query failed with query_canceled */
  double t;
  long pid;             /* 'P': the target's backend pid */
} Msg;

static const char *zConn;
static const char *zKind;

static void die(const char *zWhat, PGconn *c){
  fprintf(stderr, "bench_pg: %s: %s\n", zWhat, c ? PQerrorMessage(c) : strerror(errno));
  exit(1);
}

static PGconn *pgConnect(void){
  PGconn *c = PQconnectdb(zConn);
  if( PQstatus(c)!=CONNECTION_OK ) die("connect", c);
  return c;
}

static void exec(PGconn *c, const char *zSql){
  PGresult *r = PQexec(c, zSql);
  ExecStatusType e = PQresultStatus(r);
  if( e!=PGRES_COMMAND_OK && e!=PGRES_TUPLES_OK ){
    fprintf(stderr, "bench_pg: %s: %s", zSql, PQresultErrorMessage(r));
    exit(1);
  }
  PQclear(r);
}

static void setup(int nRow){
  PGconn *c = pgConnect();
  char zSql[300];
  exec(c, "SET client_min_messages = warning");
  exec(c, "DROP TABLE IF EXISTS t; DROP TABLE IF EXISTS w;"
          "CREATE TABLE t(a integer, b text); CREATE TABLE w(a integer, b text)");
  snprintf(zSql, sizeof(zSql),
      "INSERT INTO t SELECT (random()*1000000)::int, md5(random()::text) "
      "FROM generate_series(1, %d)", nRow);
  exec(c, zSql);
  exec(c, "VACUUM ANALYZE t");
  PQfinish(c);
}

static const char *kindSql(void){
  if( strcmp(zKind, "cte")==0 ){
    return "WITH RECURSIVE c(x) AS (VALUES(1) UNION ALL SELECT x+1 FROM c) "
           "SELECT count(*) FROM c";
  }
  if( strcmp(zKind, "groupby")==0 ){
    return "SELECT count(*) FROM (SELECT a, count(*) FROM t GROUP BY a) s";
  }
  if( strcmp(zKind, "orderby")==0 ){
    return "SELECT count(*) FROM (SELECT * FROM t ORDER BY b OFFSET 0) s";
  }
  if( strcmp(zKind, "write")==0 ) return "INSERT INTO w SELECT * FROM t";
  if( strcmp(zKind, "lock")==0 ) return "INSERT INTO w VALUES(1, 'x')";
  fprintf(stderr, "bench_pg: unknown kind %s\n", zKind);
  exit(1);
}

typedef struct Pipes { int fdIn, fdOut; } Pipes;

static void *target(void *pArg){
  Pipes *pp = (Pipes*)pArg;
  PGconn *c = pgConnect(), *holder = 0;
  const char *zSql = kindSql();
  int bLock = strcmp(zKind, "lock")==0;
  Msg m;
  char g;
  exec(c, "SET max_parallel_workers_per_gather = 0");
  if( strcmp(zKind, "groupby")==0 ) exec(c, "SET enable_hashagg = off; SET work_mem = '256MB'");
  if( strcmp(zKind, "orderby")==0 ) exec(c, "SET work_mem = '64kB'");
  if( bLock ) holder = pgConnect();
  memset(&m, 0, sizeof(m));
  m.type = 'P';
  m.pid = PQbackendPID(c);
  benchWrite(pp->fdOut, &m, sizeof(m));
  for(;;){
    PGresult *r;
    benchRead(pp->fdIn, &g, 1);
    if( g=='q' ) break;
    if( bLock ) exec(holder, "BEGIN; LOCK TABLE w IN EXCLUSIVE MODE");
    m.type = 'S';
    m.t = benchNowUs();
    benchWrite(pp->fdOut, &m, sizeof(m));
    r = PQexec(c, zSql);
    m.t = benchNowUs();
    m.type = 'D';
    m.bCanceled = PQresultStatus(r)==PGRES_FATAL_ERROR;
    if( m.bCanceled ){
      const char *zState = PQresultErrorField(r, PG_DIAG_SQLSTATE);
      m.bCanceled = zState && strcmp(zState, "57014")==0;   /* query_canceled */
    }
    PQclear(r);
    benchWrite(pp->fdOut, &m, sizeof(m));
    if( bLock ) exec(holder, "ROLLBACK");
    if( strcmp(zKind, "write")==0 && !m.bCanceled ) exec(c, "TRUNCATE w");
  }
  if( holder ) PQfinish(holder);
  PQfinish(c);
  return 0;
}

/* As bench_latency's trial(): latency in us, -1 if the query was not
** canceled (it ended first); *pDurUs its whole run time. */
static double trial(int fdCmd, int fdMsg, PGconn *c, const char *zPid,
                    double pauseUs, int bNoCancel, double *pDurUs){
  Msg m;
  double t0 = 0;
  const char *az[1];
  az[0] = zPid;
  benchWrite(fdCmd, "g", 1);
  benchRead(fdMsg, &m, sizeof(m));
  *pDurUs = -m.t;
  if( !bNoCancel ){
    for(;;){          /* handshake: the backend runs the query */
      PGresult *r = PQexecParams(c,
          "SELECT 1 FROM pg_stat_activity WHERE pid = $1::int AND state = 'active'",
          1, 0, az, 0, 0, 0);
      int n = PQntuples(r);
      PQclear(r);
      if( n>0 ) break;
    }
    benchSleepUs(pauseUs);
    t0 = benchNowUs();
    PQclear(PQexecParams(c, "SELECT pg_cancel_backend($1::int)", 1, 0, az, 0, 0, 0));
  }
  benchRead(fdMsg, &m, sizeof(m));
  *pDurUs += m.t;
  if( bNoCancel || !m.bCanceled ) return -1;
  return m.t - t0;
}

static void run(int nTrial){
  int aCmd[2], aMsg[2];
  pthread_t th;
  Pipes pp;
  Msg m;
  PGconn *c;
  char zPid[32];
  double *aLat = malloc(sizeof(double)*nTrial);
  double lo, hi, dur;
  int i, n = 0, nMissed = 0;
  if( pipe(aCmd) || pipe(aMsg) ) die("pipe", 0);
  pp.fdIn = aCmd[0];
  pp.fdOut = aMsg[1];
  pthread_create(&th, 0, target, &pp);
  benchRead(aMsg[0], &m, sizeof(m));
  snprintf(zPid, sizeof(zPid), "%ld", m.pid);
  c = pgConnect();
  if( strcmp(zKind, "cte")==0 || strcmp(zKind, "lock")==0 ){
    lo = 1000; hi = 5000;
  }else{
    double d2;     /* the shorter of two runs: the first may be cold */
    trial(aCmd[1], aMsg[0], c, zPid, 0, 1, &dur);
    trial(aCmd[1], aMsg[0], c, zPid, 0, 1, &d2);
    if( d2<dur ) dur = d2;
    lo = 0.1*dur; hi = 0.7*dur;
  }
  srand(1);
  for(i=0; i<nTrial; i++){
    double us = trial(aCmd[1], aMsg[0], c, zPid, benchUniform(lo, hi), 0, &dur);
    if( us<0 ) nMissed++;
    else aLat[n++] = us;
  }
  benchWrite(aCmd[1], "q", 1);
  pthread_join(th, 0);
  PQfinish(c);
  benchSort(aLat, n);
  printf("latency,%s,postgres,%d,%.0f,%.0f,%.0f,%d\n", zKind, n,
         benchPct(aLat, n, 0.5), benchPct(aLat, n, 0.99), n ? aLat[n-1] : 0.0, nMissed);
  free(aLat);
}

int main(int argc, char **argv){
  if( argc==4 && strcmp(argv[2], "setup")==0 ){
    zConn = argv[1];
    setup(atoi(argv[3]));
  }else if( argc==5 && strcmp(argv[2], "run")==0 ){
    zConn = argv[1];
    zKind = argv[3];
    kindSql();
    run(atoi(argv[4]));
  }else{
    fprintf(stderr, "usage: %s CONNINFO setup ROWS | CONNINFO run KIND TRIALS\n", argv[0]);
    return 1;
  }
  return 0;
}
