/*
** jobkinds.c: the built-in jobs, each run by a thread of its own with a
** connection of its own (enrolled as a session named "job N", so it shows
** in `sessions` and is the job's coordinator_id).
**
**   BACKUP   sqlite3_backup in steps into "<dest>.part-<id>", renamed to
**            <dest> on success; cancel or failure removes the part file.
**            Holds no lock between steps, so none while paused.
**   RESTORE  sqlite3_backup from a file into the schema, in steps, as one
**            write transaction: cancel or failure rolls it back, leaving
**            the target as it was. Holds the write lock while paused.
**   IMPORT   CSV (RFC 4180, header row naming the columns; read by csv.c)
**            into a table, in one transaction; a bad row fails the job
**            with its line number. Holds the write lock while paused.
**            With JOBKIND_F_EMPTYNULL an unquoted empty field is NULL.
**   EXEC     a script, statement by statement (a batch). Transactional
**            (the default): one transaction, all rolled back on cancel or
**            failure, write lock held while paused. Otherwise each
**            statement commits on its own; cancel stops the remaining ones
**            and rolls back only the one running; no lock while paused
**            between statements.
**   VACUUM   VACUUM INTO "<dest>.part-<id>", renamed on success; cancel
**            interrupts it and removes the part file. Pausing blocks it
**            where it is, holding only a read transaction.
**
** The job's connection checks for cancel and pause in its progress
** handler and while it waits on a lock (chained behind the session's own
** handlers with hooksSetAppProgress/Busy), so a job blocked on a lock or deep inside one
** statement still pauses and cancels at once. A cancel also interrupts
** the connection itself (jobSetConnection, jobStatementStart: jobs.c):
** in a SQLite without a progress handler that is what stops a long
** statement; there a pause takes effect only between statements and
** while waiting on a lock.
*/
#include "shared.h"
#include "jobkinds.h"
#include "sqltext.h"
#include "csv.h"
#include "hooks.h"
SQLITE_EXTENSION_INIT3

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <errno.h>
#ifdef _WIN32
# include <windows.h>
#else
# include <unistd.h>
#endif
#include "port.h"

#define JOB_BACKUP_PAGES 128   /* pages copied per backup step */

typedef struct JobTask JobTask;
struct JobTask {
  CancelJob *pJob;
  int eKind;                /* JOBKIND_* */
  char *zDbFile;            /* the database the job works on */
  char *zFile;              /* dest (backup, vacuum), src (restore), csv */
  char *zTable;             /* import */
  char *zScript;            /* exec */
  int mFlags;               /* JOBKIND_F_* */
  char *zUser;              /* the job's session runs as its creator */
  int isAdmin;
  /* VACUUM progress: the part file grows towards the source's size */
  const char *zGrowing;
  double growTarget;
  int nProgressCalls;
};

static void taskFree(JobTask *t){
  sqlite3_free(t->zDbFile);
  sqlite3_free(t->zFile);
  sqlite3_free(t->zTable);
  sqlite3_free(t->zScript);
  sqlite3_free(t->zUser);
  sqlite3_free(t);
}

/* Progress handler of the job's connection: cancel interrupts the
** statement; pause blocks here until resumed. */
static int taskProgress(void *p){
  JobTask *t = (JobTask*)p;
  if( jobWantsCancel(t->pJob) ) return 1;
  if( jobWantsPause(t->pJob) && jobCheckpoint(t->pJob)==JOB_CANCEL ) return 1;
  if( t->zGrowing && (++t->nProgressCalls & 1023)==0 ){
    struct stat st;
    if( stat(t->zGrowing, &st)==0 && t->growTarget>0 ){
      double f = (double)st.st_size / t->growTarget;
      jobProgress(t->pJob, f>0.99 ? 0.99 : f, "writing the copy");
    }
  }
  return 0;
}

/* Busy handler of the job's connection: a job waits for a lock as long
** as it takes, waking at once on cancel (give up) or pause (pause here). */
static int taskBusy(void *p, int nPrior){
  JobTask *t = (JobTask*)p;
  (void)nPrior;
  if( jobWantsCancel(t->pJob) ) return 0;
  if( jobWantsPause(t->pJob) && jobCheckpoint(t->pJob)==JOB_CANCEL ) return 0;
  jobNap(t->pJob, 20);
  return !jobWantsCancel(t->pJob);
}

/* Trace of the job's connection, at each top-level statement start. */
static void taskStart(void *p){
  jobStatementStart(((JobTask*)p)->pJob);
}

/* How a job's own connection becomes a session: the entry point's work,
** handed down by cancel.c (jobkindSetEnrol). */
static CancelSession *(*jobkindEnrolFn)(sqlite3*) = 0;

void jobkindSetEnrol(CancelSession *(*xEnrol)(sqlite3*)){
  jobkindEnrolFn = xEnrol;
}

/* Open the job's connection on zFile and make it a session. */
static sqlite3 *taskOpen(JobTask *t, const char *zFile, char **pzErr){
  sqlite3 *db = 0;
  CancelSession *s;
  char zName[40];
  int rc = sqlite3_open_v2(zFile, &db, SQLITE_OPEN_READWRITE|SQLITE_OPEN_FULLMUTEX, 0);
  if( rc!=SQLITE_OK ){
    *pzErr = sqlite3_mprintf("cannot open %s: %s", zFile, db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return 0;
  }
  s = jobkindEnrolFn ? jobkindEnrolFn(db) : 0;
  if( s==0 ){
    *pzErr = sqlite3_mprintf("cannot enrol the job's connection");
    sqlite3_close(db);
    return 0;
  }
  registrySetUser(s, t->zUser, t->isAdmin);
  snprintf(zName, sizeof(zName), "job %lld", (long long)t->pJob->id);
  registrySetAppName(s, zName);
  hooksSetAppProgress(s, taskProgress, t);
  hooksSetAppBusy(s, taskBusy, t);
  hooksSetAppStart(s, taskStart, t);
  jobSetCoordinator(t->pJob, s->iSerial);
  jobSetConnection(t->pJob, db);
  return db;
}

/* Close the job's connection (NULL: none), which no cancel may interrupt
** from now on. */
static void taskClose(JobTask *t, sqlite3 *db){
  jobSetConnection(t->pJob, 0);
  sqlite3_close(db);
}

static char *taskPartName(JobTask *t){
  char *z = sqlite3_mprintf("%s.part-%lld", t->zFile, (long long)t->pJob->id);
  jobSetPartFile(t->pJob, z);   /* removed by whoever sees this process die */
  return z;
}

/* Remove the part file and what SQLite may have left beside it: a write
** or sync that fails at the end of a backup step or of VACUUM INTO
** leaves the part file's rollback journal behind (found by
** test/ioerr.c); WAL files too, in case. */
static void taskRemovePart(const char *zPart){
  static const char *azSuffix[] = { "", "-journal", "-wal", "-shm" };
  char zPath[4200];
  int i;
  for(i=0; i<4; i++){
    if( snprintf(zPath, sizeof(zPath), "%s%s", zPart, azSuffix[i])<(int)sizeof(zPath) ){
      portUnlink(zPath);
    }
  }
}

/* Put the finished part file in place. Without JOBKIND_F_REPLACE a
** destination that appeared since the starting call (which refused an
** existing one) is not replaced either: link() fails on an existing name
** where rename() would replace it. */
static int taskPlace(JobTask *t, const char *zPart, char **pzErr){
  if( (t->mFlags & JOBKIND_F_REPLACE)==0 ){
#ifdef _WIN32
    if( MoveFileExA(zPart, t->zFile, 0) ) return 0;
    if( GetLastError()==ERROR_ALREADY_EXISTS || GetLastError()==ERROR_FILE_EXISTS ){
#else
    if( link(zPart, t->zFile)==0 ){ portUnlink(zPart); return 0; }
    if( errno==EEXIST ){
#endif
      *pzErr = sqlite3_mprintf("output file already exists: %s", t->zFile);
      return -1;
    }
    /* no hard links here (some file systems): rename, having looked */
#ifndef _WIN32
    {
      struct stat st;
      if( lstat(t->zFile, &st)==0 ){
        *pzErr = sqlite3_mprintf("output file already exists: %s", t->zFile);
        return -1;
      }
    }
#endif
  }
  if( portRename(zPart, t->zFile)!=0 ){
    *pzErr = sqlite3_mprintf("cannot rename %s to %s", zPart, t->zFile);
    return -1;
  }
  return 0;
}

/* ----------------------------------------------------- BACKUP, RESTORE */

/* Copy with sqlite3_backup in steps, checking for pause and cancel
** between steps. Returns JOB_GO when done, JOB_CANCEL, or -1 with
** *pzErr set. */
static int taskBackupLoop(JobTask *t, sqlite3 *pDest, sqlite3 *pSrc, char **pzErr){
  sqlite3_backup *b = sqlite3_backup_init(pDest, "main", pSrc, "main");
  int rc = SQLITE_OK, eOut = JOB_GO;
  if( b==0 ){
    *pzErr = sqlite3_mprintf("%s", sqlite3_errmsg(pDest));
    return -1;
  }
  for(;;){
    int nTotal, nLeft;
    if( jobCheckpoint(t->pJob)==JOB_CANCEL ){ eOut = JOB_CANCEL; break; }
    rc = sqlite3_backup_step(b, JOB_BACKUP_PAGES);
    nTotal = sqlite3_backup_pagecount(b);
    nLeft = sqlite3_backup_remaining(b);
    if( nTotal>0 ){
      char z[80];
      snprintf(z, sizeof(z), "copied %d of %d pages", nTotal-nLeft, nTotal);
      jobProgress(t->pJob, (double)(nTotal-nLeft)/nTotal * (rc==SQLITE_DONE ? 1.0 : 0.99), z);
    }
    if( rc==SQLITE_DONE ) break;
    if( rc==SQLITE_BUSY || rc==SQLITE_LOCKED ){ jobNap(t->pJob, 10); continue; }
    if( rc!=SQLITE_OK ){ eOut = -1; break; }
  }
  /* Unfinished, finish rolls the destination back. */
  if( sqlite3_backup_finish(b)!=SQLITE_OK && eOut==-1 ){
    *pzErr = sqlite3_mprintf("%s", sqlite3_errmsg(pDest));
  }else if( eOut==-1 ){
    *pzErr = sqlite3_mprintf("%s", sqlite3_errstr(rc));
  }
  return eOut;
}

static int taskBackup(JobTask *t, char **pzErr){
  sqlite3 *pSrc = taskOpen(t, t->zDbFile, pzErr);
  sqlite3 *pDest = 0;
  char *zPart = taskPartName(t);
  int e = -1;
  if( pSrc && zPart ){
    portUnlink(zPart);
    int rcOpen;
    sharedSuppress(1);
    rcOpen = sqlite3_open_v2(zPart, &pDest, SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE, 0);
    sharedSuppress(0);
    if( rcOpen!=SQLITE_OK ){
      *pzErr = sqlite3_mprintf("cannot create %s: %s", zPart, sqlite3_errmsg(pDest));
    }else{
      e = taskBackupLoop(t, pDest, pSrc, pzErr);
    }
  }
  sqlite3_close(pDest);
  if( e==JOB_GO && taskPlace(t, zPart, pzErr)!=0 ) e = -1;
  if( e!=JOB_GO ){
    jobReverting(t->pJob);
    if( zPart ) taskRemovePart(zPart);
  }
  sqlite3_free(zPart);
  taskClose(t, pSrc);
  return e;
}

/* The backup API cannot change the page size of a WAL database (its step
** fails with "attempt to write a readonly database"). */
static char *jkPageSizeErr(const char *zFunc, const char *zFile, int szSrc,
                           const char *zSchema, int szDest){
  return sqlite3_mprintf("%s%s%s has page size %d but %s is a WAL database of "
      "page size %d, which a restore cannot change (run PRAGMA page_size=%d; "
      "VACUUM on a copy of %s first, or take %s out of WAL mode)",
      zFunc ? zFunc : "", zFunc ? ": " : "", zFile, szSrc, zSchema, szDest, szDest, zFile, zSchema);
}

static int taskPragmaInt(sqlite3 *db, const char *zSql){
  sqlite3_stmt *p = 0;
  int v = 0;
  if( sqlite3_prepare_v2(db, zSql, -1, &p, 0)==SQLITE_OK && sqlite3_step(p)==SQLITE_ROW ){
    v = sqlite3_column_int(p, 0);
  }
  sqlite3_finalize(p);
  return v;
}

/* The backup API cannot change a WAL database's page size: its step
** fails with "attempt to write a readonly database". Said clearly (the
** starting call checked the headers; the journal mode may have changed
** since). */
static char *taskWalPageSize(JobTask *t, sqlite3 *pDest, sqlite3 *pSrc){
  int szSrc = taskPragmaInt(pSrc, "PRAGMA main.page_size");
  int szDest = taskPragmaInt(pDest, "PRAGMA main.page_size");
  int bWal = taskPragmaInt(pDest, "SELECT journal_mode='wal' FROM pragma_journal_mode");
  if( bWal && szSrc>0 && szDest>0 && szSrc!=szDest ){
    return jkPageSizeErr(0, t->zFile, szSrc, "the database", szDest);
  }
  return 0;
}

static int taskRestore(JobTask *t, char **pzErr){
  sqlite3 *pDest = taskOpen(t, t->zDbFile, pzErr);
  sqlite3 *pSrc = 0;
  int e = -1;
  if( pDest ){
    int rcOpen;
    sharedSuppress(1);
    rcOpen = sqlite3_open_v2(t->zFile, &pSrc, SQLITE_OPEN_READONLY, 0);
    sharedSuppress(0);
    if( rcOpen!=SQLITE_OK ){
      *pzErr = sqlite3_mprintf("cannot open %s: %s", t->zFile, sqlite3_errmsg(pSrc));
    }else if( (*pzErr = taskWalPageSize(t, pDest, pSrc))==0 ){
      e = taskBackupLoop(t, pDest, pSrc, pzErr);
    }
  }
  if( e!=JOB_GO ) jobReverting(t->pJob);   /* finish() rolled it back */
  sqlite3_close(pSrc);
  taskClose(t, pDest);
  return e;
}

/* -------------------------------------------------------------- IMPORT */

static int taskImport(JobTask *t, char **pzErr){
  sqlite3 *db = taskOpen(t, t->zDbFile, pzErr);
  sqlite3_stmt *pIns = 0;
  Csv csv;
  struct stat st;
  int rc, nCol = 0, i, iLine = 0, bTxn = 0, e = -1;
  long nRow = 0;
  sqlite3_str *pSql;
  char *zSql = 0;

  csvInit(&csv, 0);
  if( db==0 ) goto done;
  csv.in = fopen(t->zFile, "rb");
  if( csv.in==0 ){
    *pzErr = sqlite3_mprintf("cannot open %s", t->zFile);
    goto done;
  }
  fstat(fileno(csv.in), &st);
  rc = csvNext(&csv, &iLine);
  if( rc<=0 ){
    *pzErr = rc<0 ? sqlite3_mprintf("%s", csv.zErr)
                  : sqlite3_mprintf("%s is empty: it needs a header row", t->zFile);
    goto done;
  }
  nCol = csv.nField;
  pSql = sqlite3_str_new(db);
  sqlite3_str_appendf(pSql, "INSERT INTO \"%w\"(", t->zTable);
  for(i=0; i<nCol; i++){
    sqlite3_str_appendf(pSql, "%s\"%w\"", i ? "," : "", csvField(&csv, i));
  }
  sqlite3_str_appendf(pSql, ") VALUES(");
  for(i=0; i<nCol; i++) sqlite3_str_appendf(pSql, "%s?", i ? "," : "");
  sqlite3_str_appendf(pSql, ")");
  zSql = sqlite3_str_finish(pSql);
  if( zSql==0 ){
    *pzErr = sqlite3_mprintf("out of memory");
    goto done;
  }
  if( sqlite3_prepare_v2(db, zSql, -1, &pIns, 0)!=SQLITE_OK ){
    *pzErr = sqlite3_mprintf("line %d (the header): %s", iLine, sqlite3_errmsg(db));
    goto done;
  }
  if( sqlite3_exec(db, "BEGIN IMMEDIATE", 0, 0, 0)!=SQLITE_OK ){
    if( jobWantsCancel(t->pJob) ){ e = JOB_CANCEL; goto done; }  /* interrupted */
    *pzErr = sqlite3_mprintf("%s", sqlite3_errmsg(db));
    goto done;
  }
  bTxn = 1;
  for(;;){
    if( (nRow & 255)==0 ){
      char z[80];
      if( jobCheckpoint(t->pJob)==JOB_CANCEL ){ e = JOB_CANCEL; goto done; }
      snprintf(z, sizeof(z), "%ld rows, at line %d", nRow, csv.iLine);
      jobProgress(t->pJob, st.st_size>0 ? 0.99*(double)ftell(csv.in)/(double)st.st_size : 0, z);
    }
    rc = csvNext(&csv, &iLine);
    if( rc==0 ) break;
    if( rc<0 ){
      *pzErr = sqlite3_mprintf("%s", csv.zErr);
      goto done;
    }
    if( csv.nField!=nCol ){
      *pzErr = sqlite3_mprintf("line %d: expected %d fields, found %d", iLine, nCol, csv.nField);
      goto done;
    }
    for(i=0; i<nCol; i++){
      const char *z = csvField(&csv, i);
      if( z[0]==0 && (t->mFlags & JOBKIND_F_EMPTYNULL) && !csvFieldQuoted(&csv, i) ){
        sqlite3_bind_null(pIns, i+1);
      }else{
        sqlite3_bind_text(pIns, i+1, z, -1, SQLITE_STATIC);
      }
    }
    rc = sqlite3_step(pIns);
    sqlite3_reset(pIns);
    if( rc!=SQLITE_DONE ){
      if( rc==SQLITE_INTERRUPT && jobWantsCancel(t->pJob) ){ e = JOB_CANCEL; goto done; }
      *pzErr = sqlite3_mprintf("line %d: %s", iLine, sqlite3_errmsg(db));
      goto done;
    }
    nRow++;
  }
  if( jobCheckpoint(t->pJob)==JOB_CANCEL ){ e = JOB_CANCEL; goto done; }
  if( sqlite3_exec(db, "COMMIT", 0, 0, 0)!=SQLITE_OK ){
    if( jobWantsCancel(t->pJob) ){ e = JOB_CANCEL; goto done; }
    *pzErr = sqlite3_mprintf("%s", sqlite3_errmsg(db));
    goto done;
  }
  bTxn = 0;
  {
    char z[80];
    snprintf(z, sizeof(z), "imported %ld rows", nRow);
    jobProgress(t->pJob, 1.0, z);
  }
  e = JOB_GO;
done:
  sqlite3_finalize(pIns);
  if( e!=JOB_GO ) jobReverting(t->pJob);
  if( bTxn ) sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
  if( csv.in ) fclose(csv.in);
  csvClear(&csv);
  sqlite3_free(zSql);
  taskClose(t, db);
  return e;
}

/* ---------------------------------------------------------------- EXEC */

/* Split a script into complete statements (sqlite3_complete() decides,
** so strings, comments and trigger bodies are respected). */
static char **taskSplit(const char *zScript, int *pn){
  char **az = 0;
  int n = 0, nAlloc = 0, iStart = 0, i;
  for(i=0; zScript[i]; i++){
    if( zScript[i]==';' ){
      char *z = sqlite3_mprintf("%.*s", i-iStart+1, zScript+iStart);
      if( z==0 ) goto nomem;
      if( sqlite3_complete(z) ){
        const char *zTrim = z;
        while( *zTrim==' ' || *zTrim=='\n' || *zTrim=='\t' || *zTrim=='\r' ) zTrim++;
        if( *zTrim!=';' ){
          if( n==nAlloc ){
            char **azNew = sqlite3_realloc64(az, sizeof(char*)*(nAlloc = nAlloc ? nAlloc*2 : 16));
            if( azNew==0 ){ sqlite3_free(z); goto nomem; }
            az = azNew;
          }
          az[n++] = z;
        }else{
          sqlite3_free(z);
        }
        iStart = i+1;
      }else{
        sqlite3_free(z);
      }
    }
  }
  /* a last statement without ';' */
  while( zScript[iStart]==' ' || zScript[iStart]=='\n' || zScript[iStart]=='\t' || zScript[iStart]=='\r' ) iStart++;
  if( zScript[iStart] ){
    char *z = sqlite3_mprintf("%s", zScript+iStart);
    char **azNew = z ? sqlite3_realloc64(az, sizeof(char*)*(n+1)) : 0;
    if( azNew==0 ){ sqlite3_free(z); goto nomem; }
    az = azNew;
    az[n++] = z;
  }
  *pn = n;
  return az ? az : sqlite3_malloc(sizeof(char*));
nomem:
  while( n>0 ) sqlite3_free(az[--n]);
  sqlite3_free(az);
  return 0;
}

static int taskExec(JobTask *t, char **pzErr){
  sqlite3 *db = taskOpen(t, t->zDbFile, pzErr);
  char **azStmt = 0;
  int nStmt = 0, i, e = -1;
  if( db==0 ) goto done;
  azStmt = taskSplit(t->zScript, &nStmt);
  if( azStmt==0 ){ *pzErr = sqlite3_mprintf("out of memory"); goto done; }
  if( (t->mFlags & JOBKIND_F_TXN) && sqlite3_exec(db, "BEGIN", 0, 0, 0)!=SQLITE_OK ){
    if( jobWantsCancel(t->pJob) ){ e = JOB_CANCEL; goto done; }  /* interrupted */
    *pzErr = sqlite3_mprintf("%s", sqlite3_errmsg(db));
    goto done;
  }
  for(i=0; i<nStmt; i++){
    char z[80];
    int rc;
    if( jobCheckpoint(t->pJob)==JOB_CANCEL ){ e = JOB_CANCEL; goto done; }
    snprintf(z, sizeof(z), "statement %d of %d", i+1, nStmt);
    jobProgress(t->pJob, 0.99*(double)i/nStmt, z);
    rc = sqlite3_exec(db, azStmt[i], 0, 0, 0);
    if( rc!=SQLITE_OK ){
      if( jobWantsCancel(t->pJob) ){ e = JOB_CANCEL; goto done; }
      *pzErr = sqlite3_mprintf("statement %d: %s", i+1, sqlite3_errmsg(db));
      goto done;
    }
    if( (t->mFlags & JOBKIND_F_TXN) && sqlite3_get_autocommit(db) ){
      /* (jobkindCheckScript refused what could end it) */
      *pzErr = sqlite3_mprintf("statement %d ended the job's transaction", i+1);
      goto done;
    }
  }
  if( jobCheckpoint(t->pJob)==JOB_CANCEL ){ e = JOB_CANCEL; goto done; }
  if( (t->mFlags & JOBKIND_F_TXN) && sqlite3_exec(db, "COMMIT", 0, 0, 0)!=SQLITE_OK ){
    if( jobWantsCancel(t->pJob) ){ e = JOB_CANCEL; goto done; }
    *pzErr = sqlite3_mprintf("%s", sqlite3_errmsg(db));
    goto done;
  }
  {
    char z[80];
    snprintf(z, sizeof(z), "ran %d statements", nStmt);
    jobProgress(t->pJob, 1.0, z);
  }
  e = JOB_GO;
done:
  if( e!=JOB_GO ) jobReverting(t->pJob);
  /* Transactional: all of it goes. Otherwise the statements that
  ** finished stay; the interrupted one rolled itself back (and a
  ** transaction the script left open is rolled back). */
  if( db && !sqlite3_get_autocommit(db) ) sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
  while( nStmt>0 ) sqlite3_free(azStmt[--nStmt]);
  sqlite3_free(azStmt);
  taskClose(t, db);
  return e;
}

/* The next keyword of a statement, after white space and comments: its
** length (0 if none) at *pz, which is moved to it. */
static int jkKeyword(const char **pz){
  *pz = sqltextSkip(*pz, 0);
  return sqltextWordLen(*pz);
}

static int jkIsWord(const char *z, int n, const char *zWord){
  return n==(int)strlen(zWord) && sqlite3_strnicmp(z, zWord, n)==0;
}

static char *jkCheckScript(const char *zScript, int *pbNomem){
  int nStmt = 0, i;
  char **azStmt = taskSplit(zScript, &nStmt);
  char *zErr = 0;
  if( azStmt==0 ){ *pbNomem = 1; return 0; }
  for(i=0; i<nStmt && zErr==0; i++){
    const char *z = azStmt[i], *zKw;
    int n = jkKeyword(&z);
    zKw = z;
    if( jkIsWord(z, n, "ROLLBACK") ){
      /* ROLLBACK [TRANSACTION] TO a savepoint stays inside the job's
      ** transaction */
      z += n;
      n = jkKeyword(&z);
      if( jkIsWord(z, n, "TRANSACTION") ){ z += n; n = jkKeyword(&z); }
      if( jkIsWord(z, n, "TO") ) continue;
      n = 8;
    }else if( !jkIsWord(z, n, "BEGIN") && !jkIsWord(z, n, "COMMIT")
           && !jkIsWord(z, n, "END") ){
      continue;
    }
    zErr = sqlite3_mprintf("job_exec: statement %d (%.*s) controls the "
        "transaction, and a transactional script runs as one transaction: "
        "remove it, or pass transactional = 0", i+1, n, zKw);
  }
  while( nStmt>0 ) sqlite3_free(azStmt[--nStmt]);
  sqlite3_free(azStmt);
  return zErr;
}

/* -------------------------------------------------------------- VACUUM */

static int taskVacuum(JobTask *t, char **pzErr){
  sqlite3 *db = taskOpen(t, t->zDbFile, pzErr);
  char *zPart = taskPartName(t);
  char *zSql = 0;
  sqlite3_stmt *p = 0;
  int e = -1, rc;
  if( db==0 || zPart==0 ) goto done;
  portUnlink(zPart);
  if( sqlite3_prepare_v2(db, "SELECT page_count*page_size FROM pragma_page_count, pragma_page_size",
                         -1, &p, 0)==SQLITE_OK && sqlite3_step(p)==SQLITE_ROW ){
    t->growTarget = sqlite3_column_double(p, 0);
  }
  sqlite3_finalize(p);
  t->zGrowing = zPart;
  jobProgress(t->pJob, 0, "writing the copy");
  if( jobCheckpoint(t->pJob)==JOB_CANCEL ){ e = JOB_CANCEL; goto done; }
  zSql = sqlite3_mprintf("VACUUM INTO %Q", zPart);
  rc = zSql ? sqlite3_exec(db, zSql, 0, 0, 0) : SQLITE_NOMEM;
  t->zGrowing = 0;
  if( rc!=SQLITE_OK ){
    if( jobWantsCancel(t->pJob) ){ e = JOB_CANCEL; goto done; }
    *pzErr = sqlite3_mprintf("%s", sqlite3_errmsg(db));
    goto done;
  }
  if( jobCheckpoint(t->pJob)==JOB_CANCEL ){ e = JOB_CANCEL; goto done; }
  if( taskPlace(t, zPart, pzErr)!=0 ) goto done;
  e = JOB_GO;
done:
  t->zGrowing = 0;
  if( e!=JOB_GO ){
    jobReverting(t->pJob);
    if( zPart ) taskRemovePart(zPart);
  }
  sqlite3_free(zSql);
  sqlite3_free(zPart);
  taskClose(t, db);
  return e;
}

/* ------------------------------------------------- checks at the start */

/* The files of a live database: no job writes over them or restores from
** them, whatever the replace argument says. */
static const struct { const char *zSuffix; const char *zWhat; } aJkOwn[] = {
  { "",         "database file" },
  { "-journal", "rollback journal" },
  { "-wal",     "write-ahead log" },
  { "-shm",     "WAL index (-shm)" },
  { "-cancel",  "registry file (-cancel)" },
};

#ifdef _WIN32
static char *jkCanon(const char *zPath, int *pbNomem){
  char *z = _fullpath(0, zPath, 0);
  char *zOut = z ? sqlite3_mprintf("%s", z) : 0;
  if( z && zOut==0 ) *pbNomem = 1;
  free(z);
  return zOut;
}
static int jkNameEq(const char *zA, const char *zB){ return sqlite3_stricmp(zA, zB)==0; }
#else
/* zPath with its directory resolved (realpath) and its last component as
** given: the name a file that does not exist yet would have. 0 if the
** directory cannot be resolved (errno says why) or out of memory
** (*pbNomem set). */
static char *jkCanon(const char *zPath, int *pbNomem){
  const char *zSlash = strrchr(zPath, '/');
  const char *zBase = zSlash ? zSlash+1 : zPath;
  char *zDir, *zReal, *zOut = 0;
  if( zBase[0]==0 || strcmp(zBase, ".")==0 || strcmp(zBase, "..")==0 ){
    zReal = realpath(zPath, 0);
    zOut = zReal ? sqlite3_mprintf("%s", zReal) : 0;
    if( zReal && zOut==0 ) *pbNomem = 1;
    free(zReal);
    return zOut;
  }
  zDir = zSlash==0 ? sqlite3_mprintf(".")
       : sqlite3_mprintf("%.*s", zSlash==zPath ? 1 : (int)(zSlash-zPath), zPath);
  if( zDir==0 ){ *pbNomem = 1; return 0; }
  zReal = realpath(zDir, 0);
  if( zReal ){
    zOut = sqlite3_mprintf("%s%s%s", zReal, strcmp(zReal, "/")==0 ? "" : "/", zBase);
    if( zOut==0 ) *pbNomem = 1;
  }
  free(zReal);
  sqlite3_free(zDir);
  return zOut;
}
static int jkNameEq(const char *zA, const char *zB){ return strcmp(zA, zB)==0; }
#endif

/* Are zA and zB the same file, or would zA, once created, be zB? Both
** existing: the same device and inode (a hard link, a symlink, any
** spelling). Otherwise the same name once directories are resolved. */
static int jkSame(const char *zA, const char *zB, int *pbNomem){
  struct stat a, b;
  char *zCa, *zCb;
  int bSame;
#ifndef _WIN32
  if( stat(zA, &a)==0 && stat(zB, &b)==0 ){
    return a.st_dev==b.st_dev && a.st_ino==b.st_ino;
  }
#else
  (void)a; (void)b;
#endif
  zCa = jkCanon(zA, pbNomem);
  zCb = jkCanon(zB, pbNomem);
  bSame = zCa && zCb && jkNameEq(zCa, zCb);
  sqlite3_free(zCa);
  sqlite3_free(zCb);
  return bSame;
}

/* If zFile is one of the files of the databases azDb: the error. */
static char *jkOwnFile(const char *zFunc, const char *zFile,
                       char **azDb, char **azSchema, int nDb, int *pbNomem){
  int i, k;
  for(i=0; i<nDb; i++){
    for(k=0; k<(int)(sizeof(aJkOwn)/sizeof(aJkOwn[0])); k++){
      char *zOwn = sqlite3_mprintf("%s%s", azDb[i], aJkOwn[k].zSuffix);
      int bSame;
      if( zOwn==0 ){ *pbNomem = 1; return 0; }
      bSame = jkSame(zFile, zOwn, pbNomem);
      sqlite3_free(zOwn);
      if( *pbNomem ) return 0;
      if( bSame ){
        return sqlite3_mprintf("%s: refused: %s is the %s of schema %s",
                               zFunc, zFile, aJkOwn[k].zWhat, azSchema[i]);
      }
    }
  }
  return 0;
}

static char *jkCheckDest(const char *zFunc, const char *zFile, int bReplace,
                         char **azDb, char **azSchema, int nDb, int *pbNomem){
  struct stat st;
  char *zErr = jkOwnFile(zFunc, zFile, azDb, azSchema, nDb, pbNomem);
  char *zCanon;
  if( zErr || *pbNomem ) return zErr;
  /* Its directory must exist: said now rather than by the job later. */
  errno = 0;
  zCanon = jkCanon(zFile, pbNomem);
  if( zCanon==0 ){
    if( *pbNomem || errno==0 || errno==ENOMEM ){ *pbNomem = 1; return 0; }
    return sqlite3_mprintf("%s: cannot write %s: its directory: %s", zFunc, zFile, strerror(errno));
  }
  sqlite3_free(zCanon);
#ifdef _WIN32
  if( stat(zFile, &st)==0 ){
#else
  if( lstat(zFile, &st)==0 ){
#endif
    if( !bReplace ){
      /* VACUUM INTO's own words */
      return sqlite3_mprintf("%s: output file already exists: %s "
                             "(replace = 1 replaces it)", zFunc, zFile);
    }
    if( stat(zFile, &st)==0 && !S_ISREG(st.st_mode) ){
      return sqlite3_mprintf("%s: cannot replace %s: not a regular file", zFunc, zFile);
    }
  }
  return 0;
}

/* The page size in a database header, 0 if none. */
static int jkHeaderPageSize(const unsigned char *a){
  int n = (a[16]<<8) | a[17];
  if( memcmp(a, "SQLite format 3", 16)!=0 ) return 0;
  return n==1 ? 65536 : n;
}

static int jkReadHeader(const char *zFile, unsigned char *a){
  FILE *f = fopen(zFile, "rb");
  size_t n = f ? fread(a, 1, 100, f) : 0;
  if( f ) fclose(f);
  return n==100;
}

static char *jkCheckSource(const char *zFunc, const char *zFile, const char *zDb,
                           const char *zSchema, char **azDb, char **azSchema,
                           int nDb, int *pbNomem){
  struct stat st;
  unsigned char aSrc[100], aDest[100];
  char *zErr = jkOwnFile(zFunc, zFile, azDb, azSchema, nDb, pbNomem);
  if( zErr || *pbNomem ) return zErr;
  if( stat(zFile, &st)!=0 ){
    return sqlite3_mprintf("%s: cannot open %s: %s", zFunc, zFile, strerror(errno));
  }
  if( S_ISDIR(st.st_mode) ){
    return sqlite3_mprintf("%s: cannot open %s: it is a directory", zFunc, zFile);
  }
  /* Header bytes 18 and 19 are 2 in a WAL database. */
  if( jkReadHeader(zFile, aSrc) && jkReadHeader(zDb, aDest)
   && jkHeaderPageSize(aSrc) && jkHeaderPageSize(aDest)
   && aDest[18]==2 && jkHeaderPageSize(aSrc)!=jkHeaderPageSize(aDest) ){
    return jkPageSizeErr(zFunc, zFile, jkHeaderPageSize(aSrc), zSchema,
                         jkHeaderPageSize(aDest));
  }
  return 0;
}

/* The public checks: 0 when fine, else SQLITE_ERROR with *pzErr, or
** SQLITE_NOMEM. */
static int jkResult(char *zErr, int bNomem, char **pzErr){
  *pzErr = zErr;
  return zErr ? SQLITE_ERROR : bNomem ? SQLITE_NOMEM : SQLITE_OK;
}

int jobkindCheckDest(const char *zFunc, const char *zFile, int bReplace,
                     char **azDb, char **azSchema, int nDb, char **pzErr){
  int bNomem = 0;
  char *zErr = jkCheckDest(zFunc, zFile, bReplace, azDb, azSchema, nDb, &bNomem);
  return jkResult(zErr, bNomem, pzErr);
}

int jobkindCheckSource(const char *zFunc, const char *zFile, const char *zDb,
                       const char *zSchema, char **azDb, char **azSchema, int nDb,
                       char **pzErr){
  int bNomem = 0;
  char *zErr = jkCheckSource(zFunc, zFile, zDb, zSchema, azDb, azSchema, nDb, &bNomem);
  return jkResult(zErr, bNomem, pzErr);
}

int jobkindCheckScript(const char *zScript, char **pzErr){
  int bNomem = 0;
  char *zErr = jkCheckScript(zScript, &bNomem);
  return jkResult(zErr, bNomem, pzErr);
}

/* -------------------------------------------------------------- thread */

static void *taskMain(void *p){
  JobTask *t = (JobTask*)p;
  char *zErr = 0;
  int e = JOB_CANCEL;
  jobStart(t->pJob);
  if( jobCheckpoint(t->pJob)==JOB_CANCEL ){
    jobReverting(t->pJob);
  }else switch( t->eKind ){
    case JOBKIND_BACKUP:  e = taskBackup(t, &zErr);  break;
    case JOBKIND_RESTORE: e = taskRestore(t, &zErr); break;
    case JOBKIND_IMPORT:  e = taskImport(t, &zErr);  break;
    case JOBKIND_EXEC:    e = taskExec(t, &zErr);    break;
    case JOBKIND_VACUUM:  e = taskVacuum(t, &zErr);  break;
  }
  jobFinishAs(t->pJob, e, zErr);
  sqlite3_free(zErr);
  jobRelease(t->pJob);
  taskFree(t);
  return 0;
}

i64 jobkindStart(CancelSession *pCaller, int eKind, const char *zType,
                 const char *zDesc, const char *zDbFile, const char *zFile,
                 const char *zTable, const char *zScript, int mFlags,
                 char **pzErr){
  JobTask *t = sqlite3_malloc(sizeof(*t));
  pthread_t tid;
  pthread_attr_t attr;
  i64 id;
  int rc;
  if( t==0 ) return 0;
  memset(t, 0, sizeof(*t));
  t->eKind = eKind;
  t->zDbFile = sqlite3_mprintf("%s", zDbFile);
  t->zFile = zFile ? sqlite3_mprintf("%s", zFile) : 0;
  t->zTable = zTable ? sqlite3_mprintf("%s", zTable) : 0;
  t->zScript = zScript ? sqlite3_mprintf("%s", zScript) : 0;
  t->mFlags = mFlags;
  registryCaller(pCaller, &t->zUser, &t->isAdmin);
  t->pJob = jobCreate(pCaller, zType, zDesc, 1);
  if( !t->zDbFile || (zFile && !t->zFile) || (zTable && !t->zTable)
   || (zScript && !t->zScript) || !t->zUser || !t->pJob ){
    if( t->pJob ){ jobFinish(t->pJob, "out of memory"); jobRelease(t->pJob); }
    taskFree(t);
    return 0;
  }
  id = t->pJob->id;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  rc = pthread_create(&tid, &attr, taskMain, t);
  pthread_attr_destroy(&attr);
  if( rc!=0 ){
    jobFinish(t->pJob, "cannot start a thread");
    *pzErr = sqlite3_mprintf("cannot start a thread for the job");
    jobRelease(t->pJob);
    taskFree(t);
    return 0;
  }
  return id;
}
