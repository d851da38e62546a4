/*
** jobtable.c: the `jobs` eponymous virtual table (README: "Jobs").
**
**   SELECT job_id, job_type, status, fraction_completed FROM jobs;
**   UPDATE jobs SET status = 'paused'   WHERE job_type = 'BACKUP';
**   UPDATE jobs SET status = 'running'  WHERE status = 'paused';
**   UPDATE jobs SET status = 'canceled' WHERE user_name = 'maxroach';
**
** Admins see every job, other sessions their own user's. UPDATE may set
** only `status`, to 'paused', 'running' or 'canceled', which pauses,
** resumes or cancels by the rules of pause_job, resume_job, cancel_job;
** only admins may. Like `sessions`, the table is also created in TEMP so
** an UPDATE never needs the main database's write lock.
*/
#include "jobtable.h"
#include "jobs.h"
#include "vtab.h"
SQLITE_EXTENSION_INIT3

#include <string.h>

#define JOBS_SCHEMA \
  "CREATE TABLE x(job_id INTEGER, job_type TEXT, description TEXT, " \
  "user_name TEXT, status TEXT, running_status TEXT, " \
  "fraction_completed REAL, created TEXT, started TEXT, finished TEXT, " \
  "modified TEXT, error TEXT, coordinator_id TEXT, node_id INTEGER, " \
  "created_by TEXT)"

#define JOBS_JOB_ID              0  /* also the rowid */
#define JOBS_JOB_TYPE            1
#define JOBS_DESCRIPTION         2
#define JOBS_USER_NAME           3
#define JOBS_STATUS              4  /* the only column UPDATE may set */
#define JOBS_RUNNING_STATUS      5
#define JOBS_FRACTION_COMPLETED  6
#define JOBS_CREATED             7
#define JOBS_STARTED             8
#define JOBS_FINISHED            9
#define JOBS_MODIFIED           10
#define JOBS_ERROR              11
#define JOBS_COORDINATOR_ID     12  /* session_id of the session running it */
#define JOBS_NODE_ID            13
#define JOBS_CREATED_BY         14  /* session_id of the session that started it */
#define JOBS_NCOL               15

/* xConnect */
static int jobsConnect(sqlite3 *db, void *pAux, int argc, const char *const *argv,
                       sqlite3_vtab **ppVtab, char **pzErr){
  (void)argc; (void)argv; (void)pzErr;
  return vtabConnect(db, pAux, JOBS_SCHEMA, ppVtab);
}

static void jobsFreeRows(void *aRow, int nRow){
  jobsFreeSnapshot((JobRow*)aRow, nRow);
}

/* xFilter */
static int jobsFilter(sqlite3_vtab_cursor *cur, int idxNum, const char *idxStr,
                      int argc, sqlite3_value **argv){
  JobRow *aRow = 0;
  int nRow = 0, rc;
  (void)idxNum; (void)idxStr; (void)argc; (void)argv;
  rc = jobsSnapshot(((Vtab*)cur->pVtab)->pCaller, &aRow, &nRow);
  vtabSetRows((VtabCursor*)cur, aRow, nRow, jobsFreeRows);
  return rc;
}

/* xColumn */
static int jobsColumn(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int i){
  VtabCursor *c = (VtabCursor*)cur;
  JobRow *r = &((JobRow*)c->aRow)[c->iRow];
  if( i!=JOBS_STATUS && sqlite3_vtab_nochange(ctx) ) return SQLITE_OK;
  switch( i ){
    case JOBS_JOB_ID:          sqlite3_result_int64(ctx, r->id); break;
    case JOBS_JOB_TYPE:        sqlite3_result_text(ctx, r->zType, -1, SQLITE_TRANSIENT); break;
    case JOBS_DESCRIPTION:     sqlite3_result_text(ctx, r->zDesc, -1, SQLITE_TRANSIENT); break;
    case JOBS_USER_NAME:       sqlite3_result_text(ctx, r->zUser, -1, SQLITE_TRANSIENT); break;
    case JOBS_STATUS:          sqlite3_result_text(ctx, r->zStatus, -1, SQLITE_STATIC); break;
    case JOBS_RUNNING_STATUS:  sqlite3_result_text(ctx, r->zRunning, -1, SQLITE_TRANSIENT); break;
    case JOBS_FRACTION_COMPLETED: sqlite3_result_double(ctx, r->fraction); break;
    case JOBS_CREATED:         vtabResultTime(ctx, r->createdMs); break;
    case JOBS_STARTED:         vtabResultTime(ctx, r->startedMs); break;
    case JOBS_FINISHED:        vtabResultTime(ctx, r->finishedMs); break;
    case JOBS_MODIFIED:        vtabResultTime(ctx, r->modifiedMs); break;
    case JOBS_ERROR:          vtabResultText(ctx, r->zError); break;
    case JOBS_COORDINATOR_ID:
      if( r->zCoordinator[0] ) sqlite3_result_text(ctx, r->zCoordinator, -1, SQLITE_TRANSIENT);
      break;
    case JOBS_NODE_ID:         sqlite3_result_int64(ctx, r->nodeId); break;
    case JOBS_CREATED_BY:
      if( r->zCreatedBy[0] ) sqlite3_result_text(ctx, r->zCreatedBy, -1, SQLITE_TRANSIENT);
      break;
  }
  return SQLITE_OK;
}

/* xRowid */
static int jobsRowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *pRowid){
  VtabCursor *c = (VtabCursor*)cur;
  *pRowid = ((JobRow*)c->aRow)[c->iRow].id;
  return SQLITE_OK;
}

/* xUpdate: UPDATE jobs SET status = 'paused' | 'running' | 'canceled'. */
static int jobsUpdate(sqlite3_vtab *pVtab, int argc, sqlite3_value **argv,
                      sqlite3_int64 *pRowid){
  Vtab *p = (Vtab*)pVtab;
  const char *zStatus;
  char *zUser = 0, *zErr = 0;
  int isAdmin, i, rc;
  i64 id;
  (void)pRowid;
  if( argc==1 || sqlite3_value_type(argv[0])==SQLITE_NULL ){
    return vtabError(pVtab, sqlite3_mprintf(
        "jobs: only UPDATE of status is supported (use cancel_job to stop a job)"));
  }
  for(i=0; i<JOBS_NCOL; i++){
    if( i!=JOBS_STATUS && !sqlite3_value_nochange(argv[2+i]) ){
      return vtabError(pVtab, sqlite3_mprintf("jobs: only status may be updated"));
    }
  }
  registryCaller(p->pCaller, &zUser, &isAdmin);
  sqlite3_free(zUser);
  if( !isAdmin ){
    return vtabError(pVtab, sqlite3_mprintf("permission denied to control jobs: "
                                            "only an admin session may"));
  }
  id = sqlite3_value_int64(argv[0]);
  zStatus = (const char*)sqlite3_value_text(argv[2+JOBS_STATUS]);
  if( zStatus && strcmp(zStatus, "paused")==0 ){
    rc = jobPause(registryScope(p->pCaller), id, &zErr);
  }else if( zStatus && strcmp(zStatus, "running")==0 ){
    rc = jobResume(registryScope(p->pCaller), id, &zErr);
  }else if( zStatus && strcmp(zStatus, "canceled")==0 ){
    rc = jobCancel(registryScope(p->pCaller), id, &zErr);
  }else{
    return vtabError(pVtab, sqlite3_mprintf(
        "jobs: status may be set to 'paused', 'running' or 'canceled', not %Q", zStatus));
  }
  if( rc==JOBCTL_BADSTATE ) return vtabError(pVtab, zErr);
  return SQLITE_OK;      /* done, a no-op, or gone meanwhile */
}

static sqlite3_module jobsModule = {
  0,                 /* iVersion */
  jobsConnect,       /* xCreate: same as xConnect, so also eponymous */
  jobsConnect,       /* xConnect */
  vtabBestIndex,     /* xBestIndex */
  vtabDisconnect,    /* xDisconnect */
  vtabDisconnect,    /* xDestroy */
  vtabOpen,          /* xOpen */
  vtabClose,         /* xClose */
  jobsFilter,        /* xFilter */
  vtabNext,          /* xNext */
  vtabEof,           /* xEof */
  jobsColumn,        /* xColumn */
  jobsRowid,         /* xRowid */
  jobsUpdate,        /* xUpdate */
  0, 0, 0, 0,        /* xBegin, xSync, xCommit, xRollback */
  0,                 /* xFindFunction */
  0,                 /* xRename */
  0, 0, 0,           /* xSavepoint, xRelease, xRollbackTo */
  0                  /* xShadowName */
#if SQLITE_VERSION_NUMBER>=3044000
  ,0                   /* xIntegrity (3.44+ headers) */
#endif
};

int jobsTableRegister(sqlite3 *db, CancelSession *s){
  return vtabRegister(db, "jobs", &jobsModule, s);
}
