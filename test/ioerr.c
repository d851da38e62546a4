/*
** ioerr.c: I/O errors and a full disk under the backup, vacuum, import
** and restore jobs.
**
**   test/ioerr [points]       points: fault points per case (default 12)
**
** A shim VFS, registered as the default and wrapping the real one, makes
** xWrite, xSync, xTruncate or xRead fail on files whose name contains a
** pattern (the job's part file, the database it writes, the file it
** reads), only for files opened by a job's thread (the test's own
** connections are never hit): after N operations every later one fails
** (a broken disk), or only the (N+1)th does (a transient error), with
** SQLITE_IOERR_* or SQLITE_FULL; in disk-full mode, writes beyond a
** byte budget fail with SQLITE_FULL. The jobs open every file through
** the default VFS (jobkinds.c: sqlite3_open_v2 with no VFS name for the
** job's connection, the backup's part file and the restore's source;
** VACUUM INTO opens its output with the job connection's VFS); the run
** checks that the shim saw the operations of each case (so no job
** bypasses it). The CSV of an import is read with fopen, so the faults
** of an import are on the table it writes (database, journal, WAL).
**
** For each job kind, each fault mode and each database journal mode
** (rollback journal and WAL), N goes 0, 1, 2, ... (then in growing steps)
** until the job runs with no fault hit. Each run asserts:
**   - the job ends: failed with an error message (examples printed), or
**     succeeded with a complete, right result (a fault that SQLite
**     recovered from is not a failure; a wrong result reported as
**     success is); never stuck (job_wait with a timeout);
**   - the cleanup rules: no part file left; an existing destination of a
**     backup or vacuum unchanged (the same bytes) unless the job
**     succeeded, and then it holds the source's rows and passes
**     integrity_check; the restore's and the import's target table
**     unchanged (checksum) unless the job succeeded;
**   - the database passes PRAGMA integrity_check and the connection that
**     started the job stays usable (reads and writes);
**   - no crash, no sanitizer report (built with ASan+UBSan).
** Prints the figures and exits non-zero on any failure.
*/
#include <sqlite3.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cancel.h"
#include "jobcheck.h"

/* ------------------------------------------------------------ the shim */

#define OP_READ  1
#define OP_WRITE 2
#define OP_SYNC  4
#define OP_TRUNC 8

/* What to break (set by the test thread between jobs, under shimMu). */
static pthread_mutex_t shimMu = PTHREAD_MUTEX_INITIALIZER;
static char zShimPattern[64];      /* "" off */
static int shimOps = 0;            /* OP_* that may fail */
static long shimAfter = 0;         /* fail once this many ops have passed */
static int shimOnce = 0;           /* only the next op, not all later ones */
static int shimFull = 0;           /* errors are SQLITE_FULL */
static long shimBudget = -1;       /* disk-full mode: bytes that may be written */
static long shimSeen = 0;          /* matching ops so far */
static long shimWritten = 0;       /* bytes written to matching files */
static long shimInjected = 0;      /* faults injected */
static pthread_t mainThread;

typedef struct ShimFile ShimFile;
struct ShimFile {
  sqlite3_file base;
  sqlite3_file *pReal;
  int bJob;                         /* opened by a job's thread */
  char zName[256];
};

static sqlite3_vfs *pRealVfs;

/* The error for op on p, or SQLITE_OK. */
static int shimFault(ShimFile *p, int op, int nByte){
  int rc = SQLITE_OK;
  if( !p->bJob ) return SQLITE_OK;
  pthread_mutex_lock(&shimMu);
  if( zShimPattern[0] && strstr(p->zName, zShimPattern) ){
    if( shimBudget>=0 ){
      if( op==OP_WRITE ){
        shimSeen++;
        if( shimWritten+nByte>shimBudget ){ rc = SQLITE_FULL; shimInjected++; }
        else shimWritten += nByte;
      }
    }else if( op & shimOps ){
      long n = ++shimSeen;
      if( n>shimAfter && (!shimOnce || n==shimAfter+1) ){
        shimInjected++;
        if( shimFull && op==OP_WRITE ) rc = SQLITE_FULL;
        else rc = op==OP_READ ? SQLITE_IOERR_READ : op==OP_WRITE ? SQLITE_IOERR_WRITE
                : op==OP_SYNC ? SQLITE_IOERR_FSYNC : SQLITE_IOERR_TRUNCATE;
      }
    }
  }
  pthread_mutex_unlock(&shimMu);
  return rc;
}

static int shimClose(sqlite3_file *f){
  ShimFile *p = (ShimFile*)f;
  int rc = p->pReal->pMethods ? p->pReal->pMethods->xClose(p->pReal) : SQLITE_OK;
  return rc;
}
static int shimRead(sqlite3_file *f, void *z, int n, sqlite3_int64 o){
  ShimFile *p = (ShimFile*)f;
  int rc = shimFault(p, OP_READ, n);
  if( rc ) return rc;
  return p->pReal->pMethods->xRead(p->pReal, z, n, o);
}
static int shimWrite(sqlite3_file *f, const void *z, int n, sqlite3_int64 o){
  ShimFile *p = (ShimFile*)f;
  int rc = shimFault(p, OP_WRITE, n);
  if( rc ) return rc;
  return p->pReal->pMethods->xWrite(p->pReal, z, n, o);
}
static int shimTruncate(sqlite3_file *f, sqlite3_int64 size){
  ShimFile *p = (ShimFile*)f;
  int rc = shimFault(p, OP_TRUNC, 0);
  if( rc ) return rc;
  return p->pReal->pMethods->xTruncate(p->pReal, size);
}
static int shimSync(sqlite3_file *f, int flags){
  ShimFile *p = (ShimFile*)f;
  int rc = shimFault(p, OP_SYNC, 0);
  if( rc ) return rc;
  return p->pReal->pMethods->xSync(p->pReal, flags);
}
#define REAL(f) (((ShimFile*)(f))->pReal)
static int shimFileSize(sqlite3_file *f, sqlite3_int64 *pSize){
  return REAL(f)->pMethods->xFileSize(REAL(f), pSize);
}
static int shimLock(sqlite3_file *f, int e){ return REAL(f)->pMethods->xLock(REAL(f), e); }
static int shimUnlock(sqlite3_file *f, int e){ return REAL(f)->pMethods->xUnlock(REAL(f), e); }
static int shimCheckReservedLock(sqlite3_file *f, int *pOut){
  return REAL(f)->pMethods->xCheckReservedLock(REAL(f), pOut);
}
static int shimFileControl(sqlite3_file *f, int op, void *pArg){
  return REAL(f)->pMethods->xFileControl(REAL(f), op, pArg);
}
static int shimSectorSize(sqlite3_file *f){ return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int shimDeviceCharacteristics(sqlite3_file *f){
  return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int shimShmMap(sqlite3_file *f, int i, int sz, int b, void volatile **pp){
  return REAL(f)->pMethods->xShmMap(REAL(f), i, sz, b, pp);
}
static int shimShmLock(sqlite3_file *f, int o, int n, int fl){
  return REAL(f)->pMethods->xShmLock(REAL(f), o, n, fl);
}
static void shimShmBarrier(sqlite3_file *f){ REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int shimShmUnmap(sqlite3_file *f, int d){ return REAL(f)->pMethods->xShmUnmap(REAL(f), d); }
static int shimFetch(sqlite3_file *f, sqlite3_int64 o, int n, void **pp){
  return REAL(f)->pMethods->xFetch(REAL(f), o, n, pp);
}
static int shimUnfetch(sqlite3_file *f, sqlite3_int64 o, void *p){
  return REAL(f)->pMethods->xUnfetch(REAL(f), o, p);
}

static const sqlite3_io_methods shimIo = {
  3, shimClose, shimRead, shimWrite, shimTruncate, shimSync, shimFileSize,
  shimLock, shimUnlock, shimCheckReservedLock, shimFileControl, shimSectorSize,
  shimDeviceCharacteristics, shimShmMap, shimShmLock, shimShmBarrier,
  shimShmUnmap, shimFetch, shimUnfetch
};

static int shimOpen(sqlite3_vfs *pVfs, const char *zName, sqlite3_file *f,
                    int flags, int *pOutFlags){
  ShimFile *p = (ShimFile*)f;
  int rc;
  (void)pVfs;
  memset(p, 0, sizeof(*p));
  p->pReal = (sqlite3_file*)&p[1];
  p->bJob = !pthread_equal(pthread_self(), mainThread);
  snprintf(p->zName, sizeof(p->zName), "%s", zName ? zName : "");
  rc = pRealVfs->xOpen(pRealVfs, zName, p->pReal, flags, pOutFlags);
  /* the io methods are set even on failure, so that xClose is called */
  p->base.pMethods = p->pReal->pMethods ? &shimIo : 0;
  return rc;
}

static sqlite3_vfs shimVfs;

static void shimRegister(void){
  pRealVfs = sqlite3_vfs_find(0);
  shimVfs = *pRealVfs;
  shimVfs.zName = "ioerr-shim";
  shimVfs.szOsFile = (int)sizeof(ShimFile) + pRealVfs->szOsFile;
  shimVfs.xOpen = shimOpen;
  shimVfs.pNext = 0;
  sqlite3_vfs_register(&shimVfs, 1);
}

static void shimSet(const char *zPattern, int ops, long after, int once, int full, long budget){
  pthread_mutex_lock(&shimMu);
  snprintf(zShimPattern, sizeof(zShimPattern), "%s", zPattern ? zPattern : "");
  shimOps = ops;
  shimAfter = after;
  shimOnce = once;
  shimFull = full;
  shimBudget = budget;
  shimSeen = 0;
  shimWritten = 0;
  shimInjected = 0;
  pthread_mutex_unlock(&shimMu);
}
static void shimOff(long *pSeen, long *pInjected){
  pthread_mutex_lock(&shimMu);
  zShimPattern[0] = 0;
  if( pSeen ) *pSeen = shimSeen;
  if( pInjected ) *pInjected = shimInjected;
  pthread_mutex_unlock(&shimMu);
}

/* ------------------------------------------------------------ helpers */

static int nFail = 0;
static char zCase[200];
static long iN;

static void fail(const char *zFmt, const char *zA, const char *zB){
  fprintf(stderr, "ioerr: FAIL [%s, N=%ld]: ", zCase, iN);
  fprintf(stderr, zFmt, zA ? zA : "", zB ? zB : "");
  fputc('\n', stderr);
  nFail++;
}

static int must(sqlite3 *db, const char *zSql, char *zOut, int nOut){
  return sqlMust(db, zSql, zOut, nOut, "%s: %s");
}
static int mustExec(sqlite3 *db, const char *zSql){
  return execMust(db, zSql, "%s: %s");
}
static void closeDb(sqlite3 **pDb){
  if( *pDb && sqlite3_close(*pDb)!=SQLITE_OK ) fail("close: %s", sqlite3_errmsg(*pDb), 0);
  *pDb = 0;
}

#define SUM(T) "SELECT count(*)||'/'||coalesce(sum(a*length(b)),0)||'/'||coalesce(max(b),'') FROM " T

/* --------------------------------------------------------- fixtures */

static char zSumT[200], zSumSrc[200], zSumImpAfter[200];
static int nCsvRows = 600;

static void makeMain(const char *zJournal){
  sqlite3 *db;
  char z[200];
  remove(zDb);
  snprintf(z, sizeof(z), "%s-wal", zDb); remove(z);
  snprintf(z, sizeof(z), "%s-journal", zDb); remove(z);
  if( (db = openDb(zDb))==0 ) return;
  /* small pages: a backup takes several steps of 128 pages */
  must(db, "PRAGMA page_size=1024", 0, 0);
  must(db, "PRAGMA synchronous=OFF", 0, 0);
  snprintf(z, sizeof(z), "PRAGMA journal_mode=%s", zJournal);
  must(db, z, 0, 0);
  mustExec(db, "BEGIN;"
    "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);"
    "WITH RECURSIVE c(i) AS (VALUES(1) UNION ALL SELECT i+1 FROM c WHERE i<1000)"
    " INSERT INTO t(b) SELECT printf('main %05d ', i)||hex(zeroblob(50+i%50)) FROM c;"
    "CREATE INDEX tb ON t(b);"
    "CREATE TABLE imp(a INTEGER, b TEXT); INSERT INTO imp VALUES(0, 'before');"
    "CREATE TABLE scratch(x);"
    "COMMIT;");
  must(db, SUM("t"), zSumT, sizeof(zSumT));
  closeDb(&db);
}

static void makeFixtures(void){
  sqlite3 *db;
  FILE *f;
  char z[200];
  int i;
  remove(zSrc);
  snprintf(z, sizeof(z), "file:%s?cancel_shared=0", zSrc);
  if( (db = openDb(z))!=0 ){
    must(db, "PRAGMA page_size=1024", 0, 0);
    mustExec(db, "BEGIN;"
      "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);"
      "WITH RECURSIVE c(i) AS (VALUES(1) UNION ALL SELECT i+1 FROM c WHERE i<800)"
      " INSERT INTO t(b) SELECT printf('src %05d ', i)||hex(zeroblob(60)) FROM c;"
      "CREATE TABLE imp(a INTEGER, b TEXT); CREATE TABLE scratch(x);"
      "COMMIT;");
    must(db, SUM("t"), zSumSrc, sizeof(zSumSrc));
    closeDb(&db);
  }
  f = fopen(zCsv, "wb");
  if( f ){
    fputs("a,b\r\n", f);
    for(i=1; i<=nCsvRows; i++){
      fprintf(f, "%d,\"imported, row %d %s\"\r\n", i, i,
              "................................................................");
    }
    fclose(f);
  }
}

/* ------------------------------------------------------------ cases */

#define K_BACKUP  0
#define K_VACUUM  1
#define K_IMPORT  2
#define K_RESTORE 3
static const char *azKind[] = { "job_backup", "job_vacuum", "job_import", "job_restore" };

typedef struct Mode Mode;
struct Mode {
  const char *zName;
  int bReadSide;          /* the pattern is the file the job reads */
  int ops;
  int once;
  int full;
  int bBudget;            /* disk-full mode: N is a byte budget (x 4096) */
};
static const Mode aMode[] = {
  { "write IOERR (broken disk)",   0, OP_WRITE, 0, 0, 0 },
  { "write IOERR (transient)",     0, OP_WRITE, 1, 0, 0 },
  { "write FULL",                  0, OP_WRITE, 0, 1, 0 },
  { "sync IOERR",                  0, OP_SYNC, 0, 0, 0 },
  { "truncate/sync/write IOERR",   0, OP_WRITE|OP_SYNC|OP_TRUNC, 0, 0, 0 },
  { "disk full (byte budget)",     0, OP_WRITE, 0, 1, 1 },
  { "read IOERR on the source",    1, OP_READ, 0, 0, 0 },
};
#define N_MODE (int)(sizeof(aMode)/sizeof(aMode[0]))

static long nRuns = 0, nInjectedTotal = 0, nFailedJobs = 0, nOkDespite = 0;
static long nOkClean = 0;
static int nExamples = 0;

/* One job under one fault setting. Returns the faults injected. */
static long runCase(int eKind, const Mode *m, long n){
  sqlite3 *a = openDb(zDb);
  char zSql[400], zId[40], zSt[40] = "", zE[400] = "", z[400];
  char zBefore[200] = "", zAfter[200] = "";
  unsigned long long hOld = 0;
  const char *zPattern;
  long nSeen = 0, nInj = 0;
  if( a==0 ) return 0;
  switch( eKind ){
    case K_BACKUP:
    case K_VACUUM:
      makeOldDest();
      hOld = fileHash(zDest);
      /* the old destination exists: replace = 1 (job_backup's third
      ** argument, job_vacuum's second) */
      snprintf(zSql, sizeof(zSql), "SELECT %s('%s'%s, 1)", azKind[eKind], zDest,
               eKind==K_BACKUP ? ", 'main'" : "");
      zPattern = m->bReadSide ? "main.db" : ".part-";
      break;
    case K_IMPORT:
      must(a, SUM("imp"), zBefore, sizeof(zBefore));
      snprintf(zSql, sizeof(zSql), "SELECT job_import('imp', '%s')", zCsv);
      zPattern = m->bReadSide ? "main.db" : "main.db";
      break;
    default:
      must(a, SUM("t"), zBefore, sizeof(zBefore));
      snprintf(zSql, sizeof(zSql), "SELECT job_restore('%s')", zSrc);
      zPattern = m->bReadSide ? "src.db" : "main.db";
      break;
  }
  shimSet(zPattern, m->ops, m->bBudget ? 0 : n, m->once, m->full, m->bBudget ? n*4096 : -1);
  if( must(a, zSql, zId, sizeof(zId))==SQLITE_OK ){
    snprintf(z, sizeof(z), "SELECT job_wait(%s, 60000)", zId);
    must(a, z, zSt, sizeof(zSt));
  }
  shimOff(&nSeen, &nInj);
  nRuns++;
  nInjectedTotal += nInj;
  if( strcmp(zSt, "succeeded")!=0 && strcmp(zSt, "failed")!=0 ){
    fail("the job ended '%s' (stuck or canceled), id %s", zSt, zId);
  }
  if( strcmp(zSt, "failed")==0 ){
    nFailedJobs++;
    snprintf(z, sizeof(z), "SELECT coalesce(error,'') FROM jobs WHERE job_id=%s", zId);
    must(a, z, zE, sizeof(zE));
    if( zE[0]==0 ) fail("the job failed without an error message", 0, 0);
    if( nInj==0 ) fail("the job failed with no fault injected: %s", zE, 0);
    {
      /* print each distinct message once (per job kind) */
      static char azSeen[32][160];
      char zKey[160];
      int i;
      snprintf(zKey, sizeof(zKey), "%s: %.140s", azKind[eKind], zE);
      for(i=0; i<nExamples && strcmp(azSeen[i], zKey)!=0; i++){}
      if( i==nExamples && nExamples<32 ){
        snprintf(azSeen[nExamples++], sizeof(azSeen[0]), "%s", zKey);
        printf("ioerr: example: %s, %s, after %ld: %s\n", azKind[eKind], m->zName, n, zE);
      }
    }
  }else if( strcmp(zSt, "succeeded")==0 ){
    if( nInj ) nOkDespite++; else nOkClean++;
  }
  /* the cleanup rules */
  if( partFiles() ) fail("a part file was left", 0, 0);
  switch( eKind ){
    case K_BACKUP:
    case K_VACUUM:
      if( strcmp(zSt, "succeeded")==0 ){
        sqlite3 *d;
        snprintf(z, sizeof(z), "file:%s?cancel_shared=0", zDest);
        if( (d = openDb(z))!=0 ){
          if( must(d, "PRAGMA integrity_check", zAfter, sizeof(zAfter))==SQLITE_OK
           && strcmp(zAfter, "ok")!=0 ) fail("the copy fails integrity_check: %s", zAfter, 0);
          if( must(d, SUM("t"), zAfter, sizeof(zAfter))==SQLITE_OK && strcmp(zAfter, zSumT)!=0 ){
            fail("the job succeeded but the copy holds %s", zAfter, 0);
          }
          closeDb(&d);
        }
      }else if( fileHash(zDest)!=hOld ){
        fail("the job failed but the existing destination changed", 0, 0);
      }
      break;
    case K_IMPORT:
      must(a, SUM("imp"), zAfter, sizeof(zAfter));
      if( strcmp(zSt, "succeeded")==0 ){
        if( zSumImpAfter[0]==0 ) snprintf(zSumImpAfter, sizeof(zSumImpAfter), "%s", zAfter);
        else if( strcmp(zAfter, zSumImpAfter)!=0 ) fail("import succeeded but imp is %s", zAfter, 0);
        /* back to how it was, for the next run */
        must(a, "DELETE FROM imp WHERE a>0", 0, 0);
      }else if( strcmp(zAfter, zBefore)!=0 ){
        fail("import failed but imp changed: %s -> %s", zBefore, zAfter);
      }
      break;
    default:
      must(a, SUM("t"), zAfter, sizeof(zAfter));
      if( strcmp(zSt, "succeeded")==0 ){
        if( strcmp(zAfter, zSumSrc)!=0 ) fail("restore succeeded but t is %s", zAfter, 0);
      }else if( strcmp(zAfter, zBefore)!=0 ){
        fail("restore failed but t changed: %s -> %s", zBefore, zAfter);
      }
      break;
  }
  /* the database is sound and the connection usable */
  if( must(a, "PRAGMA integrity_check", z, sizeof(z))==SQLITE_OK && strcmp(z, "ok")!=0 ){
    fail("integrity_check: %s", z, 0);
  }
  must(a, "INSERT INTO scratch VALUES(1)", 0, 0);
  must(a, "DELETE FROM scratch", 0, 0);
  closeDb(&a);
  (void)nSeen;
  return nInj;
}

static long nSeenByKind[4][2];   /* ops the shim saw: [kind][read side] */

int main(int argc, char **argv){
  int nPoints = argc>1 ? atoi(argv[1]) : 12;
  int eKind, iMode, iJournal;
  time_t t0 = time(0);
  static const char *azJournal[] = { "DELETE", "WAL" };

  if( nPoints<1 ) nPoints = 1;
  mainThread = pthread_self();
  if( setupDir("ioerr") ) return 1;

  sqlite3_initialize();
  shimRegister();
  sqlite3_auto_extension((void(*)(void))sqlite3_cancel_init);
  makeFixtures();

  for(iJournal=0; iJournal<2; iJournal++){
    for(eKind=0; eKind<4; eKind++){
      for(iMode=0; iMode<N_MODE; iMode++){
        const Mode *m = &aMode[iMode];
        long n, nInj, nOps = 0;
        int iPoint;
        if( m->bReadSide && eKind==K_IMPORT ) continue;   /* the CSV: fopen */
        makeMain(azJournal[iJournal]);
        snprintf(zCase, sizeof(zCase), "%s, %s, %s", azKind[eKind], m->zName, azJournal[iJournal]);
        /* how many ops of this kind the job does: one run with no fault */
        iN = -1;
        shimSet(eKind==K_RESTORE && m->bReadSide ? "src.db" : (eKind<=K_VACUUM && !m->bReadSide) ? ".part-" : "main.db",
                m->ops, 1L<<40, 0, 0, -1);
        {
          sqlite3 *a = openDb(zDb);
          char zSql[300], zId[40], zSt[40];
          if( eKind==K_BACKUP || eKind==K_VACUUM ){
            /* the old destination exists: replace = 1 (job_backup's third
      ** argument, job_vacuum's second) */
      snprintf(zSql, sizeof(zSql), "SELECT %s('%s'%s, 1)", azKind[eKind], zDest,
               eKind==K_BACKUP ? ", 'main'" : "");
          }else if( eKind==K_IMPORT ){
            snprintf(zSql, sizeof(zSql), "SELECT job_import('imp', '%s')", zCsv);
          }else{
            snprintf(zSql, sizeof(zSql), "SELECT job_restore('%s')", zSrc);
          }
          if( a && must(a, zSql, zId, sizeof(zId))==SQLITE_OK ){
            snprintf(zSql, sizeof(zSql), "SELECT job_wait(%s, 60000)", zId);
            must(a, zSql, zSt, sizeof(zSt));
            if( strcmp(zSt, "succeeded")!=0 ) fail("the job without faults: %s", zSt, 0);
          }
          shimOff(&nOps, 0);
          if( eKind==K_IMPORT ) must(a, "DELETE FROM imp WHERE a>0", 0, 0);
          closeDb(&a);
        }
        makeMain(azJournal[iJournal]);   /* undo the restore */
        nSeenByKind[eKind][m->bReadSide] += nOps;
        if( nOps==0 ){
          if( m->ops==OP_TRUNC ) continue;
          fail("the shim saw no operation: does the job bypass the default VFS?", 0, 0);
          continue;
        }
        if( m->bBudget ){
          /* nOps counted writes; the budget goes by pages of 4096 bytes */
          nOps = nOps + 2;
        }
        /* N: 0..points/2 one by one, then spread up to the end */
        for(iPoint=0, n=0; ; iPoint++){
          iN = n;
          nInj = runCase(eKind, m, n);
          if( nInj==0 ) break;
          if( iPoint<nPoints/2 ) n++;
          else{
            long step = nOps/(nPoints - nPoints/2);
            n += step>1 ? step : 1;
          }
          if( eKind==K_RESTORE ) makeMain(azJournal[iJournal]);
        }
        if( eKind==K_RESTORE ) makeMain(azJournal[iJournal]);
      }
    }
  }
  printf("ioerr: the shim saw the jobs' operations: backup %ld/%ld, vacuum %ld/%ld, "
         "import %ld, restore %ld/%ld (write side/read side)\n",
         nSeenByKind[0][0], nSeenByKind[0][1], nSeenByKind[1][0], nSeenByKind[1][1],
         nSeenByKind[2][0], nSeenByKind[3][0], nSeenByKind[3][1]);
  printf("ioerr: %ld jobs run under faults, %ld faults injected: %ld failed cleanly, "
         "%ld succeeded after SQLite recovered (result checked), %ld ran past the last "
         "fault point; %d failures, %ld s\n",
         nRuns, nInjectedTotal, nFailedJobs, nOkDespite, nOkClean, nFail,
         (long)(time(0)-t0));
  return nFail ? 1 : 0;
}
