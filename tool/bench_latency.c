/*
** bench_latency.c: how long a cancel takes, from the moment the canceller
** issues it to the moment the target's sqlite3_step() returns.
**
**   tool/bench_latency setup DB ROWS
**   tool/bench_latency run DB KIND METHOD TRIALS
**
** KIND is the target statement:
**   cte      an endless recursive CTE
**   groupby  GROUP BY over every row of t (an in-memory sort), its groups
**            counted so that one step runs it all
**   orderby  ORDER BY over every row of t with a tiny cache (the sort
**            spills to temporary files); one step sorts it all
**   write    INSERT INTO w SELECT * FROM t (the latency includes the
**            rollback of the statement's transaction)
**   lock     an INSERT waiting on the write lock another connection holds
** METHOD is how it is stopped:
**   raw      plain SQLite, extension not loaded: sqlite3_interrupt() from
**            another thread (the floor). SQLite does not look at the
**            interrupt flag while it waits on a lock, so for `lock` the
**            floor is what an application can do: a busy handler that
**            sleeps with SQLite's own back-off and gives up once a flag
**            is set.
**   inproc   the extension: cancel_query(query_id) from another
**            connection of the same process
**   xproc    the same from another process (the target runs in a
**            forked child; the registry file carries the request)
**   xfloor   the floor across processes: plain SQLite in a forked child
**            whose progress handler (every 100 VM instructions, as the
**            extension's) polls a flag in shared memory, which the
**            canceller sets (for `lock`, the busy handler of `raw`
**            polls it)
**   xfloorsql  the same flag, set by an application function the
**            canceller calls as `SELECT stop_flag(?1)` on a connection of
**            its own (plain SQLite): what a cancel issued as SQL costs
**            at the least, before the extension does anything
**
** The target and the canceller talk over two pipes (the same code for a
** thread and a child process): the target announces it is about to step,
** the canceller waits until the statement is listed in `sessions` (not
** for raw), pauses a random time so the cancel lands somewhere inside the
** work, stamps t0 and cancels; the target stamps t1 when step returns.
** Trials where the statement finished before the cancel are counted as
** missed and left out. Prints one CSV line:
**   latency,KIND,METHOD,trials,p50_us,p99_us,max_us,missed
*/
#include <sqlite3.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cancel.h"
#include "benchutil.h"

/* One message from the target. */
typedef struct Msg {
  char type;            /* 'P' ready (pid), 'S' about to step, 'D' done */
  int rc;               /* 'D': what sqlite3_step returned */
  double t;             /* 'S', 'D': CLOCK_MONOTONIC stamp, us */
  sqlite3_int64 pid;    /* 'P': the target's backend pid (0 for raw) */
} Msg;

static const char *zDb;
static const char *zKind;
static int bExt;                         /* extension loaded (not raw) */
static sqlite3 *volatile pTargetDb;      /* raw: what the canceller interrupts */
static atomic_int bRawStop;              /* raw lock: the flag the busy handler polls */
static atomic_int *pShmStop;             /* xfloor: the flag, in shared memory */

/* xfloorsql: stop_flag(ID) sets the flag (its argument read as the
** extension's functions read theirs). */
static void stopFlagFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  const unsigned char *z = argc==1 ? sqlite3_value_text(argv[0]) : 0;
  atomic_store(pShmStop, z!=0);
  sqlite3_result_int(ctx, z!=0);
}

static void die(const char *zWhat, sqlite3 *db){
  fprintf(stderr, "bench_latency: %s: %s\n", zWhat, db ? sqlite3_errmsg(db) : strerror(errno));
  exit(1);
}

static void exec(sqlite3 *db, const char *zSql){
  char *zErr = 0;
  if( sqlite3_exec(db, zSql, 0, 0, &zErr)!=SQLITE_OK ){
    fprintf(stderr, "bench_latency: %s: %s\n", zSql, zErr);
    exit(1);
  }
}

static sqlite3 *openDb(void){
  sqlite3 *db;
  if( sqlite3_open(zDb, &db)!=SQLITE_OK ) die(zDb, db);
  return db;
}

/* --------------------------------------------------------------- setup */

static void setup(int nRow){
  sqlite3 *db = openDb();
  char zSql[400];
  exec(db, "DROP TABLE IF EXISTS t; DROP TABLE IF EXISTS w;"
           "CREATE TABLE t(a INTEGER, b TEXT); CREATE TABLE w(a INTEGER, b TEXT);");
  snprintf(zSql, sizeof(zSql),
      "WITH RECURSIVE c(x) AS (VALUES(1) UNION ALL SELECT x+1 FROM c WHERE x<%d) "
      "INSERT INTO t SELECT abs(random())%%1000000, hex(randomblob(16)) FROM c", nRow);
  exec(db, zSql);
  sqlite3_close(db);
}

/* -------------------------------------------------------------- target */

static const char *kindSql(void){
  if( strcmp(zKind, "cte")==0 ){
    return "WITH RECURSIVE c(x) AS (VALUES(1) UNION ALL SELECT x+1 FROM c) "
           "SELECT count(*) FROM c";
  }
  if( strcmp(zKind, "groupby")==0 ){
    return "SELECT count(*) FROM (SELECT a, count(*) FROM t GROUP BY a)";
  }
  if( strcmp(zKind, "orderby")==0 ) return "SELECT * FROM t ORDER BY b";
  if( strcmp(zKind, "write")==0 ) return "INSERT INTO w SELECT * FROM t";
  if( strcmp(zKind, "lock")==0 ) return "INSERT INTO w VALUES(1, 'x')";
  fprintf(stderr, "bench_latency: unknown kind %s\n", zKind);
  exit(1);
}

/* SQLite's own busy back-off (ms), as sqliteDefaultBusyCallback. */
static const int aBackoffMs[] = { 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 };

static int rawBusy(void *p, int nPrior){
  int n = (int)(sizeof(aBackoffMs)/sizeof(aBackoffMs[0]));
  atomic_int *pStop = p ? (atomic_int*)p : &bRawStop;
  if( atomic_load(pStop) ) return 0;
  benchSleepUs(1000.0*aBackoffMs[nPrior<n ? nPrior : n-1]);
  return !atomic_load(pStop);
}

/* xfloor: the target's progress handler polls the shared flag. */
static int shmProgress(void *p){
  return atomic_load((atomic_int*)p)!=0;
}

/* The target: runs one statement per 'g' from fdIn until 'q'. */
static void target(int fdIn, int fdOut){
  sqlite3 *db = openDb(), *holder = 0;
  const char *zSql = kindSql();
  int bLock = strcmp(zKind, "lock")==0;
  Msg m;
  char c;
  if( strcmp(zKind, "groupby")==0 ) exec(db, "PRAGMA cache_size=-262144");
  if( strcmp(zKind, "orderby")==0 ) exec(db, "PRAGMA cache_size=50; PRAGMA temp_store=FILE");
  if( bLock ){
    holder = openDb();
    if( bExt ) cancel_set_busy_timeout(db, 60000);
    else sqlite3_busy_handler(db, rawBusy, pShmStop);
  }
  if( pShmStop ) sqlite3_progress_handler(db, 100, shmProgress, pShmStop);
  memset(&m, 0, sizeof(m));
  m.type = 'P';
  if( bExt ){
    sqlite3_stmt *p;
    sqlite3_prepare_v2(db, "SELECT pg_backend_pid()", -1, &p, 0);
    if( sqlite3_step(p)!=SQLITE_ROW ) die("pg_backend_pid", db);
    m.pid = sqlite3_column_int64(p, 0);
    sqlite3_finalize(p);
  }
  pTargetDb = db;
  benchWrite(fdOut, &m, sizeof(m));
  for(;;){
    sqlite3_stmt *pStmt;
    benchRead(fdIn, &c, 1);
    if( c=='q' ) break;
    if( bLock ) exec(holder, "BEGIN IMMEDIATE");
    atomic_store(&bRawStop, 0);
    if( pShmStop ) atomic_store(pShmStop, 0);
    if( sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0)!=SQLITE_OK ) die(zSql, db);
    m.type = 'S';
    m.t = benchNowUs();
    benchWrite(fdOut, &m, sizeof(m));
    m.rc = sqlite3_step(pStmt);
    m.t = benchNowUs();
    m.type = 'D';
    sqlite3_finalize(pStmt);
    benchWrite(fdOut, &m, sizeof(m));
    if( bLock ) exec(holder, "ROLLBACK");
    if( strcmp(zKind, "write")==0 && m.rc==SQLITE_DONE ) exec(db, "DELETE FROM w");
  }
  if( holder ) sqlite3_close(holder);
  sqlite3_close(db);
}

typedef struct ThreadArg { int fdIn, fdOut; } ThreadArg;

static void *targetThread(void *p){
  ThreadArg *a = (ThreadArg*)p;
  target(a->fdIn, a->fdOut);
  return 0;
}

/* ----------------------------------------------------------- canceller */

typedef struct Canceller {
  int fdCmd, fdMsg;          /* to and from the target */
  sqlite3 *db;               /* not raw: the canceller's connection */
  sqlite3_stmt *pFind;       /* the target's running query id */
  sqlite3_stmt *pCancel;     /* cancel_query(?1) */
  sqlite3_int64 pid;
} Canceller;

/* One trial: the statement starts; after pauseUs (measured from the
** moment it is listed) it is cancelled, unless bNoCancel. Returns the
** latency in us, or -1 when the statement ended by itself (missed).
** *pDurUs gets the whole run time of the statement. */
static double trial(Canceller *c, double pauseUs, int bNoCancel, double *pDurUs){
  Msg m;
  char g = 'g';
  double t0 = 0;
  char zQuery[64] = "0-0";
  int bExpected;
  benchWrite(c->fdCmd, &g, 1);
  benchRead(c->fdMsg, &m, sizeof(m));
  if( m.type!='S' ) die("protocol", 0);
  *pDurUs = -m.t;
  if( !bNoCancel ){
  find_again:
    if( c->pFind ){
      /* handshake: the statement is listed with its query id. On a busy
      ** machine the canceller may be descheduled for the whole of a short
      ** statement: if the target reports its end first, the trial is
      ** missed (without this the loop would wait for a listing forever). */
      for(;;){
        int rc;
        struct pollfd pfd;
        pfd.fd = c->fdMsg;
        pfd.events = POLLIN;
        if( poll(&pfd, 1, 0)==1 ){
          benchRead(c->fdMsg, &m, sizeof(m));
          if( m.type!='D' ) die("protocol", 0);
          *pDurUs += m.t;
          return -1;
        }
        sqlite3_bind_int64(c->pFind, 1, c->pid);
        rc = sqlite3_step(c->pFind);
        if( rc==SQLITE_ROW ){
          snprintf(zQuery, sizeof(zQuery), "%s", (const char*)sqlite3_column_text(c->pFind, 0));
          sqlite3_reset(c->pFind);
          break;
        }
        sqlite3_reset(c->pFind);
      }
    }
    benchSleepUs(pauseUs);
    t0 = benchNowUs();
    if( c->db ){
      sqlite3_bind_text(c->pCancel, 1, zQuery, -1, SQLITE_TRANSIENT);
      if( sqlite3_step(c->pCancel)!=SQLITE_ROW ){
        /* The listing read may name the target's previous execution, still
        ** listed while its next statement starts (its end is learnt at
        ** that start, or by a look, which cannot get the connection then):
        ** once the start has settled it, the ID is not found. Look again. */
        if( c->pFind && strstr(sqlite3_errmsg(c->db), "not found") ){
          sqlite3_reset(c->pCancel);
          goto find_again;
        }
        die("the cancel", c->db);
      }
      sqlite3_reset(c->pCancel);
    }else if( pShmStop ){
      atomic_store(pShmStop, 1);
    }else{
      atomic_store(&bRawStop, 1);
      sqlite3_interrupt(pTargetDb);
    }
  }
  benchRead(c->fdMsg, &m, sizeof(m));
  if( m.type!='D' ) die("protocol", 0);
  *pDurUs += m.t;
  bExpected = m.rc==SQLITE_INTERRUPT || (strcmp(zKind, "lock")==0 && m.rc==SQLITE_BUSY);
  if( bNoCancel || !bExpected ) return -1;
  return m.t - t0;
}

static void run(const char *zMethod, int nTrial){
  int aCmd[2], aMsg[2];
  int bFloorSql = strcmp(zMethod, "xfloorsql")==0;
  int bFloor = strcmp(zMethod, "xfloor")==0 || bFloorSql;
  int bFork = strcmp(zMethod, "xproc")==0 || bFloor;
  pid_t child = 0;
  pthread_t th;
  ThreadArg ta;
  Canceller c;
  Msg m;
  double *aLat = malloc(sizeof(double)*nTrial);
  double lo, hi, dur;
  int i, n = 0, nMissed = 0;

  if( strcmp(zMethod, "raw")!=0 && strcmp(zMethod, "inproc")!=0 && !bFork ){
    fprintf(stderr, "bench_latency: unknown method %s\n", zMethod);
    exit(1);
  }
  bExt = strcmp(zMethod, "raw")!=0 && !bFloor;
  if( bFloor ){
    pShmStop = mmap(0, sizeof(*pShmStop), PROT_READ|PROT_WRITE,
                    MAP_SHARED|MAP_ANONYMOUS, -1, 0);
    if( pShmStop==MAP_FAILED ) die("mmap", 0);
    atomic_init(pShmStop, 0);
  }
  if( pipe(aCmd) || pipe(aMsg) ) die("pipe", 0);
  /* fork before anything of SQLite's or the extension's exists here */
  if( bFork ){
    child = fork();
    if( child<0 ) die("fork", 0);
    if( child==0 ){
      if( bExt ) sqlite3_auto_extension((void(*)(void))sqlite3_cancel_init);
      target(aCmd[0], aMsg[1]);
      _exit(0);
    }
  }
  if( bExt ) sqlite3_auto_extension((void(*)(void))sqlite3_cancel_init);
  if( !bFork ){
    ta.fdIn = aCmd[0];
    ta.fdOut = aMsg[1];
    pthread_create(&th, 0, targetThread, &ta);
  }
  memset(&c, 0, sizeof(c));
  c.fdCmd = aCmd[1];
  c.fdMsg = aMsg[0];
  benchRead(c.fdMsg, &m, sizeof(m));
  c.pid = m.pid;
  if( bExt ){
    c.db = openDb();
    sqlite3_prepare_v2(c.db, "SELECT query_id FROM sessions WHERE pid=?1 AND query_id IS NOT NULL",
                       -1, &c.pFind, 0);
    sqlite3_prepare_v2(c.db, "SELECT cancel_query(?1)", -1, &c.pCancel, 0);
  }else if( bFloorSql ){
    /* (no listing to wait for: pFind stays 0, and the query ID is fixed) */
    c.db = openDb();
    sqlite3_create_function(c.db, "stop_flag", 1, SQLITE_UTF8, 0, stopFlagFunc, 0, 0);
    sqlite3_prepare_v2(c.db, "SELECT stop_flag(?1)", -1, &c.pCancel, 0);
  }

  /* Where to land the cancel: a few ms in for the endless kinds; for the
  ** others, between 10% and 70% of an uncancelled run. */
  if( strcmp(zKind, "cte")==0 || strcmp(zKind, "lock")==0 ){
    lo = 1000; hi = 5000;
  }else{
    double d2;     /* the shorter of two runs: the first may be cold */
    trial(&c, 0, 1, &dur);
    trial(&c, 0, 1, &d2);
    if( d2<dur ) dur = d2;
    lo = 0.1*dur; hi = 0.7*dur;
  }
  srand(1);
  for(i=0; i<nTrial; i++){
    double us = trial(&c, benchUniform(lo, hi), 0, &dur);
    if( us<0 ) nMissed++;
    else aLat[n++] = us;
  }
  benchWrite(c.fdCmd, "q", 1);
  if( bFork ) waitpid(child, 0, 0);
  else pthread_join(th, 0);
  if( c.db ){
    sqlite3_finalize(c.pFind);
    sqlite3_finalize(c.pCancel);
    sqlite3_close(c.db);
  }
  benchSort(aLat, n);
  printf("latency,%s,%s,%d,%.0f,%.0f,%.0f,%d\n", zKind, zMethod, n,
         benchPct(aLat, n, 0.5), benchPct(aLat, n, 0.99), n ? aLat[n-1] : 0.0, nMissed);
  free(aLat);
}

int main(int argc, char **argv){
  if( argc==4 && strcmp(argv[1], "setup")==0 ){
    zDb = argv[2];
    setup(atoi(argv[3]));
  }else if( argc==6 && strcmp(argv[1], "run")==0 ){
    zDb = argv[2];
    zKind = argv[3];
    kindSql();
    run(argv[4], atoi(argv[5]));
  }else{
    fprintf(stderr, "usage: %s setup DB ROWS | run DB KIND METHOD TRIALS\n", argv[0]);
    return 1;
  }
  return 0;
}
