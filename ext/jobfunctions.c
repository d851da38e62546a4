/*
** jobfunctions.c: the SQL functions of jobs (doc/jobs.md).
**
**   SELECT job_backup('/backups/app.db');            -- job id, at once
**   SELECT job_wait(7, 60000);                       -- its status
**   SELECT pause_job(7), resume_job(7), cancel_job(7);
**   SELECT cancel_jobs('SELECT job_id FROM jobs WHERE user_name=''maxroach''');
**   SELECT job_begin('REINDEX', 'nightly'), job_progress(8, 0.5, 'half'),
**          job_end(8);
**
** Starting built-in jobs and controlling jobs is for admin sessions only
** (a built-in job writes files and runs as its own connection). The
** application's own jobs (job_begin/job_progress/job_end) are open to
** every session for its own jobs.
*/
#include "jobfunctions.h"
#include "functions.h"
#include "args.h"
#include "jobkinds.h"
#include "hooks.h"
#include "shared.h"
SQLITE_EXTENSION_INIT3

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static CancelSession *jfSession(sqlite3_context *ctx){
  return (CancelSession*)sqlite3_user_data(ctx);
}

static int jfIsAdmin(sqlite3_context *ctx){
  char *zUser = 0;
  int isAdmin = 0;
  registryCaller(jfSession(ctx), &zUser, &isAdmin);
  sqlite3_free(zUser);
  return isAdmin;
}

static int jfAdminOnly(sqlite3_context *ctx, const char *zFunc){
  if( jfIsAdmin(ctx) ) return 1;
  argError(ctx, "permission denied to %s: only an admin session may", zFunc);
  return 0;
}


/* The file of the caller's schema zSchema, which a job can open itself. */
static const char *jfDbFile(sqlite3_context *ctx, const char *zFunc, const char *zSchema){
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  const char *zFile = sqlite3_db_filename(db, zSchema);
  if( zFile==0 ){
    argErrorOwned(ctx, sqlite3_mprintf("%s: no such schema: %s", zFunc, zSchema));
    return 0;
  }
  if( zFile[0]==0 ){
    argErrorOwned(ctx, sqlite3_mprintf("%s: schema %s is not a file (a job opens its "
                               "own connection to the database)", zFunc, zSchema));
    return 0;
  }
  return zFile;
}

static void jfStarted(sqlite3_context *ctx, i64 id, char *zErr){
  if( id>0 ){
    sqlite3_result_int64(ctx, id);
  }else if( zErr ){
    argErrorOwned(ctx, zErr);
  }else{
    sqlite3_result_error_nomem(ctx);
  }
}

/* ----------------------------------------------------- built-in jobs */

/* The files of the caller's databases (every schema with a file): a job
** never writes over them nor restores from them. 0 after an error. */
static int jfDbFiles(sqlite3_context *ctx, char ***pazDb, char ***pazSchema, int *pn){
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  sqlite3_stmt *p = 0;
  char **az = 0;
  int n = 0, rc;
  *pazDb = *pazSchema = 0;
  *pn = 0;
  rc = sqlite3_prepare_v2(db, "PRAGMA database_list",
                          -1, &p, 0);
  while( rc==SQLITE_OK && sqlite3_step(p)==SQLITE_ROW ){
    char **azNew;
    if( sqlite3_column_text(p, 2)==0 || sqlite3_column_bytes(p, 2)==0 ) continue;
    azNew = sqlite3_realloc64(az, sizeof(char*)*2*(n+1));
    if( azNew==0 ){ rc = SQLITE_NOMEM; break; }
    az = azNew;
    az[2*n] = sqlite3_mprintf("%s", (const char*)sqlite3_column_text(p, 2));
    az[2*n+1] = sqlite3_mprintf("%s", (const char*)sqlite3_column_text(p, 1));
    n++;
    if( az[2*n-2]==0 || az[2*n-1]==0 ) rc = SQLITE_NOMEM;
  }
  if( rc==SQLITE_OK ) rc = sqlite3_finalize(p); else sqlite3_finalize(p);
  if( rc!=SQLITE_OK ){
    int i;
    if( rc==SQLITE_NOMEM ) sqlite3_result_error_nomem(ctx);
    else argErrorOwned(ctx, sqlite3_mprintf("cannot list the databases: %s", sqlite3_errmsg(db)));
    for(i=0; i<2*n; i++) sqlite3_free(az[i]);
    sqlite3_free(az);
    return 0;
  }
  /* split: files at even, schemas at odd positions, into two arrays */
  {
    char **azDb = sqlite3_malloc64(sizeof(char*)*(n ? 2*n : 1));
    int i;
    if( azDb==0 ){
      for(i=0; i<2*n; i++) sqlite3_free(az[i]);
      sqlite3_free(az);
      sqlite3_result_error_nomem(ctx);
      return 0;
    }
    for(i=0; i<n; i++){ azDb[i] = az[2*i]; azDb[n+i] = az[2*i+1]; }
    sqlite3_free(az);
    *pazDb = azDb;
    *pazSchema = azDb+n;
    *pn = n;
  }
  return 1;
}

static void jfDbFilesFree(char **azDb, int n){
  int i;
  for(i=0; i<2*n; i++) sqlite3_free(azDb[i]);
  sqlite3_free(azDb);
}

/* Report a check of jobkinds.c; 1 if it passed. */
static int jfChecked(sqlite3_context *ctx, int rc, char *zErr){
  if( rc==SQLITE_OK ) return 1;
  if( rc==SQLITE_NOMEM ) sqlite3_result_error_nomem(ctx); else argErrorOwned(ctx, zErr);
  return 0;
}

/* job_backup(dest_file [, schema [, replace]]) and
** job_restore(src_file [, schema]) */
static void jfBackupRestore(sqlite3_context *ctx, int argc, sqlite3_value **argv,
                            int eKind){
  const char *zFunc = eKind==JOBKIND_BACKUP ? "job_backup" : "job_restore";
  Args a = { ctx, zFunc, argc, argv };
  const char *zFile = 0, *zSchema = "main", *zDb;
  char *zDesc, *zErr = 0;
  char **azDb, **azSchema;
  int nDb, bReplace = 0, rc;
  i64 id;
  if( !funcCalledDirectly(ctx, zFunc) || !jfAdminOnly(ctx, zFunc) ) return;
  if( !argText(&a, 0, "file", ARG_NONEMPTY, &zFile)
   || !argText(&a, 1, "schema", 0, &zSchema)
   || !argFlag(&a, 2, "replace", &bReplace) ) return;
  if( (zDb = jfDbFile(ctx, zFunc, zSchema))==0 ) return;
  if( !jfDbFiles(ctx, &azDb, &azSchema, &nDb) ) return;
  rc = eKind==JOBKIND_BACKUP
     ? jobkindCheckDest(zFunc, zFile, bReplace, azDb, azSchema, nDb, &zErr)
     : jobkindCheckSource(zFunc, zFile, zDb, zSchema, azDb, azSchema, nDb, &zErr);
  jfDbFilesFree(azDb, nDb);
  if( !jfChecked(ctx, rc, zErr) ) return;
  zDesc = eKind==JOBKIND_BACKUP
      ? sqlite3_mprintf("BACKUP %s TO '%q'%s", zSchema, zFile, bReplace ? " (replace)" : "")
      : sqlite3_mprintf("RESTORE %s FROM '%q'", zSchema, zFile);
  if( zDesc==0 ){ sqlite3_result_error_nomem(ctx); return; }
  id = jobkindStart(jfSession(ctx), eKind, eKind==JOBKIND_BACKUP ? "BACKUP" : "RESTORE",
                    zDesc, zDb, zFile, 0, 0, bReplace ? JOBKIND_F_REPLACE : 0, &zErr);
  sqlite3_free(zDesc);
  jfStarted(ctx, id, zErr);
}

static void jfBackup(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  jfBackupRestore(ctx, argc, argv, JOBKIND_BACKUP);
}

static void jfRestore(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  jfBackupRestore(ctx, argc, argv, JOBKIND_RESTORE);
}

/* The import goes into table zTable of the main schema: refuse at once
** a name that is no table there, rather than start a job bound to fail.
** If the check itself cannot run (an application's authorizer), the job
** reports the problem. */
static int jfTableExists(sqlite3_context *ctx, const char *zTable){
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  sqlite3_stmt *pStmt = 0;
  int rc;
  if( zTable[0]==0 ){
    argError(ctx, "%s: table must not be empty", "job_import");
    return 0;
  }
  if( sqlite3_prepare_v2(db, "SELECT 1 FROM main.sqlite_schema "
                         "WHERE type='table' AND name=?1 COLLATE NOCASE",
                         -1, &pStmt, 0)!=SQLITE_OK ){
    return 1;
  }
  sqlite3_bind_text(pStmt, 1, zTable, -1, SQLITE_STATIC);
  rc = sqlite3_step(pStmt);
  sqlite3_finalize(pStmt);
  if( rc==SQLITE_DONE ){
    argError(ctx, "job_import: no such table: main.%s", zTable);
    return 0;
  }
  return 1;
}

/* job_import(table, csv_file [, empty_is_null]) */
static void jfImport(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  Args a = { ctx, "job_import", argc, argv };
  const char *zTable = 0, *zFile = 0, *zDb;
  char *zDesc, *zErr = 0;
  int bNull = 0;
  i64 id;
  if( !funcCalledDirectly(ctx, "job_import") || !jfAdminOnly(ctx, "job_import") ) return;
  if( !argText(&a, 0, "table", 0, &zTable) || !argText(&a, 1, "csv_file", 0, &zFile)
   || !argFlag(&a, 2, "empty_is_null", &bNull) ) return;
  if( !jfTableExists(ctx, zTable) ) return;
  if( (zDb = jfDbFile(ctx, "job_import", "main"))==0 ) return;
  zDesc = sqlite3_mprintf("IMPORT INTO %s FROM '%q'%s", zTable, zFile,
                          bNull ? " (empty is NULL)" : "");
  if( zDesc==0 ){ sqlite3_result_error_nomem(ctx); return; }
  id = jobkindStart(jfSession(ctx), JOBKIND_IMPORT, "IMPORT", zDesc, zDb, zFile,
                    zTable, 0, bNull ? JOBKIND_F_EMPTYNULL : 0, &zErr);
  sqlite3_free(zDesc);
  jfStarted(ctx, id, zErr);
}

/* job_exec(sql_script [, transactional]) */
static void jfExec(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  Args a = { ctx, "job_exec", argc, argv };
  const char *zScript = 0, *zDb;
  char *zDesc, *zErr = 0;
  int bTxn = 1;
  i64 id;
  if( !funcCalledDirectly(ctx, "job_exec") || !jfAdminOnly(ctx, "job_exec") ) return;
  if( !argText(&a, 0, "sql_script", 0, &zScript)
   || !argFlag(&a, 1, "transactional", &bTxn) ) return;
  if( (zDb = jfDbFile(ctx, "job_exec", "main"))==0 ) return;
  if( bTxn ){
    int rc = jobkindCheckScript(zScript, &zErr);
    if( !jfChecked(ctx, rc, zErr) ) return;
  }
  zDesc = sqlite3_mprintf("EXEC%s: %.200s", bTxn ? "" : " (non-transactional)", zScript);
  if( zDesc==0 ){ sqlite3_result_error_nomem(ctx); return; }
  id = jobkindStart(jfSession(ctx), JOBKIND_EXEC, "EXEC", zDesc, zDb, 0, 0,
                    zScript, bTxn ? JOBKIND_F_TXN : 0, &zErr);
  sqlite3_free(zDesc);
  jfStarted(ctx, id, zErr);
}

/* job_vacuum(dest_file [, replace]) */
static void jfVacuum(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  Args a = { ctx, "job_vacuum", argc, argv };
  const char *zFile = 0, *zDb;
  char *zDesc, *zErr = 0;
  char **azDb, **azSchema;
  int nDb, bReplace = 0, rc;
  i64 id;
  if( !funcCalledDirectly(ctx, "job_vacuum") || !jfAdminOnly(ctx, "job_vacuum") ) return;
  if( !argText(&a, 0, "dest_file", 0, &zFile) ) return;
  /* (the empty name is called "file", as job_backup's) */
  if( zFile[0]==0 ){ argError(ctx, "%s: file must not be empty", "job_vacuum"); return; }
  if( !argFlag(&a, 1, "replace", &bReplace) ) return;
  if( (zDb = jfDbFile(ctx, "job_vacuum", "main"))==0 ) return;
  if( !jfDbFiles(ctx, &azDb, &azSchema, &nDb) ) return;
  rc = jobkindCheckDest("job_vacuum", zFile, bReplace, azDb, azSchema, nDb, &zErr);
  jfDbFilesFree(azDb, nDb);
  if( !jfChecked(ctx, rc, zErr) ) return;
  zDesc = sqlite3_mprintf("VACUUM INTO '%q'%s", zFile, bReplace ? " (replace)" : "");
  if( zDesc==0 ){ sqlite3_result_error_nomem(ctx); return; }
  id = jobkindStart(jfSession(ctx), JOBKIND_VACUUM, "VACUUM", zDesc, zDb, zFile,
                    0, 0, bReplace ? JOBKIND_F_REPLACE : 0, &zErr);
  sqlite3_free(zDesc);
  jfStarted(ctx, id, zErr);
}

/* ------------------------------------------------------------ waiting */

/* A wait of ours ended because the statement was cancelled, its session
** terminated or its statement timeout passed (hooksWaitStop): fail the
** statement as the progress handler would. */
static void jfInterrupted(sqlite3_context *ctx){
  sqlite3_result_error(ctx, "interrupted", -1);
  sqlite3_result_error_code(ctx, SQLITE_INTERRUPT);
}

/* A job ID: a positive integer (or text holding one). */
static int jfJobId(Args *p, i64 *pId){
  return argInt(p, 0, "job_id", 1, ARG_NOMAX, pId);
}

static void jfNotFound(sqlite3_context *ctx, i64 id){
  argErrorOwned(ctx, sqlite3_mprintf("job ID %lld not found", (long long)id));
}

/* job_wait(job_id [, timeout_ms]): the status once finished, or the
** status at the timeout. */
static void jfWait(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  Args a = { ctx, "job_wait", argc, argv };
  i64 id = 0, timeoutMs = -1;
  int eStatus;
  if( !funcCalledDirectly(ctx, "job_wait") ) return;   /* it blocks */
  if( !jfJobId(&a, &id) || !argInt(&a, 1, "timeout_ms", 0, 2147483647, &timeoutMs) ) return;
  eStatus = jobWaitStop(registryScope(jfSession(ctx)), id, (int)timeoutMs,
                        hooksWaitStop, jfSession(ctx));
  if( eStatus==-2 ){ jfInterrupted(ctx); return; }
  if( eStatus<0 ){ jfNotFound(ctx, id); return; }
  sqlite3_result_text(ctx, jobStatusName(eStatus), -1, SQLITE_STATIC);
}

/* ------------------------------------------------------------ control */

/* Report a control result: 1 done, 0 no-op, errors otherwise. */
static void jfControlResult(sqlite3_context *ctx, int rc, i64 id, char *zErr,
                            int bIfExists){
  switch( rc ){
    case JOBCTL_DONE:     sqlite3_result_int(ctx, 1); break;
    case JOBCTL_NOOP:     sqlite3_result_int(ctx, 0); break;
    case JOBCTL_NOTFOUND:
      if( bIfExists ) sqlite3_result_int(ctx, 0); else jfNotFound(ctx, id);
      break;
    default:              argErrorOwned(ctx, zErr); return;
  }
  sqlite3_free(zErr);
}

static void jfCancelJob(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  Args a = { ctx, "cancel_job", argc, argv };
  i64 id = 0;
  int bIfExists = 0, rc;
  char *zErr = 0;
  if( !funcCalledDirectly(ctx, "cancel_job") || !jfAdminOnly(ctx, "cancel_job") ) return;
  if( !jfJobId(&a, &id) || !argFlag(&a, 1, "if_exists", &bIfExists) ) return;
  rc = jobCancel(registryScope(jfSession(ctx)), id, &zErr);
  jfControlResult(ctx, rc, id, zErr, bIfExists);
}

static void jfPauseJob(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  Args a = { ctx, "pause_job", argc, argv };
  i64 id = 0;
  int rc;
  char *zErr = 0;
  if( !funcCalledDirectly(ctx, "pause_job") || !jfAdminOnly(ctx, "pause_job") ) return;
  if( !jfJobId(&a, &id) ) return;
  rc = jobPause(registryScope(jfSession(ctx)), id, &zErr);
  jfControlResult(ctx, rc, id, zErr, 0);
}

static void jfResumeJob(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  Args a = { ctx, "resume_job", argc, argv };
  i64 id = 0;
  int rc;
  char *zErr = 0;
  if( !funcCalledDirectly(ctx, "resume_job") || !jfAdminOnly(ctx, "resume_job") ) return;
  if( !jfJobId(&a, &id) ) return;
  rc = jobResume(registryScope(jfSession(ctx)), id, &zErr);
  jfControlResult(ctx, rc, id, zErr, 0);
}

/* cancel_jobs(select_sql [, if_exists]): every selected job is checked
** against cancel_job's rules before any is touched, and none is if one
** fails (with if_exists: those that pass are canceled, the others and
** unknown ids skipped). Returns how many cancels were requested. */
static void jfCancelJobs(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  Args a = { ctx, "cancel_jobs", argc, argv };
  const char *zSql = 0;
  char **azId = 0;
  int nId = 0, i, n = 0, bIfExists = 0;
  i64 *aId;
  SharedReg *pSh = registryScope(jfSession(ctx));
  if( !funcCalledDirectly(ctx, "cancel_jobs") || !jfAdminOnly(ctx, "cancel_jobs") ) return;
  if( !argText(&a, 0, "selection query", 0, &zSql)
   || !argFlag(&a, 1, "if_exists", &bIfExists) ) return;
  if( !funcSelectIds(ctx, "cancel_jobs", "job ID", zSql, &azId, &nId) ) return;
  aId = sqlite3_malloc64(sizeof(i64)*(nId ? nId : 1));
  if( aId==0 ){ funcFreeIds(azId, nId); sqlite3_result_error_nomem(ctx); return; }
  for(i=0; i<nId; i++){
    char *zEnd = 0;
    int e;
    aId[i] = strtoll(azId[i], &zEnd, 10);
    if( zEnd==azId[i] || *zEnd || aId[i]<=0 ){
      argError(ctx, "cancel_jobs: not a job ID: '%.40s'", azId[i]);
      goto done;
    }
    e = jobStatusAnywhere(pSh, aId[i]);
    if( e<0 ){
      if( !bIfExists ){ jfNotFound(ctx, aId[i]); goto done; }
      aId[i] = 0;
    }else if( jobControlVerdict(SHJOB_CANCEL, e)!=JOBCTL_DONE ){
      if( !bIfExists && jobControlVerdict(SHJOB_CANCEL, e)==JOBCTL_BADSTATE ){
        argErrorOwned(ctx, sqlite3_mprintf("job %lld with status %s cannot be requested "
                                   "to be canceled", (long long)aId[i], jobStatusName(e)));
        goto done;
      }
      aId[i] = 0;                    /* nothing to do (or skipped) */
    }
  }
  /* All passed. A job that moves on between the check and its cancel
  ** (it ended meanwhile) is left alone and not counted. */
  for(i=0; i<nId; i++){
    char *zErr = 0;
    if( aId[i]==0 ) continue;
    if( jobCancel(pSh, aId[i], &zErr)==JOBCTL_DONE ) n++;
    sqlite3_free(zErr);
  }
  sqlite3_result_int(ctx, n);
done:
  sqlite3_free(aId);
  funcFreeIds(azId, nId);
}

static void jfSetRetention(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  Args a = { ctx, "set_job_retention", argc, argv };
  i64 sec = 0;
  if( !funcCalledDirectly(ctx, "set_job_retention")
   || !jfAdminOnly(ctx, "set_job_retention") ) return;
  if( !argInt(&a, 0, "seconds", 0, JOB_RETENTION_MAX, &sec) ) return;
  jobsSetRetention(sec);
  sqlite3_result_int64(ctx, sec);
}

/* ------------------------------------------------- application's jobs */

static void jfBegin(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  Args a = { ctx, "job_begin", argc, argv };
  const char *zType = 0, *zDesc = "";
  CancelJob *p;
  if( !funcCalledDirectly(ctx, "job_begin") ) return;
  if( !argText(&a, 0, "job_type", ARG_NONEMPTY, &zType)
   || !argText(&a, 1, "description", 0, &zDesc) ) return;
  p = jobCreate(jfSession(ctx), zType, zDesc, 0);
  if( p==0 ){ sqlite3_result_error_nomem(ctx); return; }
  sqlite3_result_int64(ctx, p->id);
  jobRelease(p);
}

static void jfNotOwn(sqlite3_context *ctx, const char *zFunc, i64 id){
  argErrorOwned(ctx, sqlite3_mprintf("%s: job %lld is not this session's own job",
                             zFunc, (long long)id));
}

/* The job, if the caller may report on it: an application job run by
** the caller's session (or any, for an admin). NULL with *pId set and no
** error when it is a job of another process an admin may report on:
** the caller then reports through jfRemote. */
static CancelJob *jfOwnJob(sqlite3_context *ctx, int argc, sqlite3_value **argv,
                           const char *zFunc, i64 *pId){
  Args a = { ctx, zFunc, argc, argv };
  CancelJob *p;
  i64 id = 0;
  *pId = 0;
  if( !jfJobId(&a, &id) ) return 0;
  p = jobFind(id);
  if( p==0 ){
    if( !jobExists(registryScope(jfSession(ctx)), id) ){
      jfNotFound(ctx, id);
    }else if( !jfIsAdmin(ctx) ){
      jfNotOwn(ctx, zFunc, id);      /* (another process: never its own) */
    }else{
      *pId = id;
    }
    return 0;
  }
  if( p->bBuiltin || (p->iCoordinator!=jfSession(ctx)->iSerial && !jfIsAdmin(ctx)) ){
    jfNotOwn(ctx, zFunc, id);
    jobRelease(p);
    return 0;
  }
  return p;
}

/* job_progress or job_end (eOp SHJOB_PROGRESS, SHJOB_END) of an admin on
** job id of another process: its process applies it as the call would
** there; the same results and errors. */
static void jfRemote(sqlite3_context *ctx, const char *zFunc, i64 id, int eOp,
                     double f, const char *zText){
  int eStatus = -1;
  int rc = jobReportRemote(registryScope(jfSession(ctx)), id, eOp, f, zText,
                           hooksWaitStop, jfSession(ctx), &eStatus);
  switch( rc ){
    case JOBCTL_DONE:
      if( eOp==SHJOB_PROGRESS ){
        sqlite3_result_double(ctx, f);
      }else{
        sqlite3_result_text(ctx, jobStatusName(eStatus), -1, SQLITE_STATIC);
      }
      break;
    case JOBCTL_NOTOWN:   jfNotOwn(ctx, zFunc, id); break;
    case JOBCTL_ENDED:
      argErrorOwned(ctx, sqlite3_mprintf("%s: job %lld has ended", zFunc, (long long)id));
      break;
    case JOBCTL_CANCELED: sqlite3_result_error(ctx, "job canceled", -1); break;
    case JOBCTL_STOPPED:  jfInterrupted(ctx); break;
    case JOBCTL_TIMEOUT:
      argErrorOwned(ctx, sqlite3_mprintf("job %lld: its process did not answer within 10 s "
                                 "(stopped?)", (long long)id));
      break;
    default:              jfNotFound(ctx, id); break;
  }
}

/* job_progress(job_id, fraction [, running_status]): fails with "job
** canceled" once a cancel was asked for; blocks while paused. */
static void jfProgress(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  Args a = { ctx, "job_progress", argc, argv };
  CancelJob *p;
  i64 id;
  int rc;
  double f = 0.0;
  const char *zStatus = 0;
  if( !funcCalledDirectly(ctx, "job_progress") ) return;
  if( !argReal(&a, 1, "fraction", 0.0, 1.0, &f)
   || !argText(&a, 2, "running_status", 0, &zStatus) ) return;
  if( (p = jfOwnJob(ctx, argc, argv, "job_progress", &id))==0 ){
    if( id ) jfRemote(ctx, "job_progress", id, SHJOB_PROGRESS, f, zStatus);
    return;
  }
  if( jobIsFinished(jobGetStatus(p)) ){
    argErrorOwned(ctx, sqlite3_mprintf("job_progress: job %lld has ended", (long long)p->id));
  }else if( (rc = jobCheckpointStop(p, hooksWaitStop, jfSession(ctx)))==JOB_CANCEL
         || (rc==JOB_GO && (jobGetStatus(p)==JOB_REVERTING
                            || jobGetStatus(p)==JOB_CANCEL_REQUESTED)) ){
    /* (every call from the cancel on, not just the first: the first moves
    ** the job to reverting, where jobCheckpoint says go) */
    jobReverting(p);
    sqlite3_result_error(ctx, "job canceled", -1);
  }else if( rc==JOB_STOPPED ){
    jfInterrupted(ctx);            /* the job stays paused */
  }else{
    jobProgress(p, f, zStatus);
    sqlite3_result_double(ctx, f);
  }
  jobRelease(p);
}

/* job_end(job_id [, error]): succeeded, or failed with the error; a job
** whose cancel was asked for ends canceled. Returns the final status. */
static void jfEnd(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  Args a = { ctx, "job_end", argc, argv };
  CancelJob *p;
  i64 id;
  const char *zError = 0;
  if( !funcCalledDirectly(ctx, "job_end") ) return;
  if( !argText(&a, 1, "error", ARG_NULLOK, &zError) ) return;
  if( (p = jfOwnJob(ctx, argc, argv, "job_end", &id))==0 ){
    if( id ) jfRemote(ctx, "job_end", id, SHJOB_END, 0.0, zError);
    return;
  }
  if( jobIsFinished(jobGetStatus(p)) ){
    argErrorOwned(ctx, sqlite3_mprintf("job_end: job %lld has ended", (long long)p->id));
  }else{
    jobFinish(p, zError);
    sqlite3_result_text(ctx, jobStatusName(jobGetStatus(p)), -1, SQLITE_STATIC);
  }
  jobRelease(p);
}

static const FuncDef aJobFunc[] = {
  { "job_backup",        1, 3, jfBackup },
  { "job_restore",       1, 2, jfRestore },
  { "job_import",        2, 3, jfImport },
  { "job_exec",          1, 2, jfExec },
  { "job_vacuum",        1, 2, jfVacuum },
  { "job_wait",          1, 2, jfWait },
  { "cancel_job",        1, 2, jfCancelJob },
  { "cancel_jobs",       1, 2, jfCancelJobs },
  { "pause_job",         1, 1, jfPauseJob },
  { "resume_job",        1, 1, jfResumeJob },
  { "set_job_retention", 1, 1, jfSetRetention },
  { "job_begin",         1, 2, jfBegin },
  { "job_progress",      2, 3, jfProgress },
  { "job_end",           1, 2, jfEnd },
};

int jobFunctionsRegister(sqlite3 *db, CancelSession *s){
  return functionsRegisterList(db, s, aJobFunc, (int)(sizeof(aJobFunc)/sizeof(aJobFunc[0])));
}
