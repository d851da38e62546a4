/*
** jobtable.c: the `jobs` eponymous virtual table (doc/jobs.md).
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
**
** An UPDATE is all or nothing: xUpdate only checks each row against
** those rules (an error naming the job fails the statement) and queues
** the request; the queue is applied when the statement's changes are
** committed (xCommit: at the end of the statement, or at the COMMIT of
** an explicit transaction) and dropped when they are rolled back (a
** failed statement: SQLite rolls back its statement savepoint, or the
** whole transaction in autocommit mode).
*/
#include "jobtable.h"
#include "jobs.h"
#include "shared.h"
#include "vtab.h"
SQLITE_EXTENSION_INIT3

#include <stddef.h>
#include <string.h>

#define JOBTABLE_SCHEMA \
  "CREATE TABLE x(job_id INTEGER, job_type TEXT, description TEXT, " \
  "user_name TEXT, status TEXT, running_status TEXT, " \
  "fraction_completed REAL, created TEXT, started TEXT, finished TEXT, " \
  "modified TEXT, error TEXT, coordinator_id TEXT, node_id INTEGER, " \
  "created_by TEXT)"

#define JOBTABLE_JOB_ID              0  /* also the rowid */
#define JOBTABLE_JOB_TYPE            1
#define JOBTABLE_DESCRIPTION         2
#define JOBTABLE_USER_NAME           3
#define JOBTABLE_STATUS              4  /* the only column UPDATE may set */
#define JOBTABLE_RUNNING_STATUS      5
#define JOBTABLE_FRACTION_COMPLETED  6
#define JOBTABLE_CREATED             7
#define JOBTABLE_STARTED             8
#define JOBTABLE_FINISHED            9
#define JOBTABLE_MODIFIED           10
#define JOBTABLE_ERROR              11
#define JOBTABLE_COORDINATOR_ID     12  /* session_id of the session running it */
#define JOBTABLE_NODE_ID            13
#define JOBTABLE_CREATED_BY         14  /* session_id of the session that started it */
#define JOBTABLE_NCOL               15

/* A request queued by UPDATE, applied at commit. */
typedef struct JobtableReq JobtableReq;
struct JobtableReq {
  i64 id;
  int eOp;                   /* SHJOB_* */
  int iLevel;                /* savepoint level it was made at */
};

typedef struct JobtableVtab JobtableVtab;
struct JobtableVtab {
  Vtab base;
  JobtableReq *aReq;
  int nReq, nAlloc;
  int iLevel;                /* open savepoints: 1 + the innermost's index */
};

/* The queue goes with the table object. */
static void jobtableDisconnect(Vtab *p){
  sqlite3_free(((JobtableVtab*)p)->aReq);
}

/* The rows of one scan. */
static int jobtableSnapshot(CancelSession *pCaller, void **paRow, int *pnRow){
  JobRow *aRow = 0;
  int rc = jobsSnapshot(pCaller, &aRow, pnRow);
  *paRow = aRow;
  return rc;
}

static void jobtableFreeRows(void *aRow, int nRow){
  jobsFreeSnapshot((JobRow*)aRow, nRow);
}

/* Column i of row pRow. */
static int jobtableColumn(const void *pRow, sqlite3_context *ctx, int i){
  const JobRow *r = (const JobRow*)pRow;
  if( i!=JOBTABLE_STATUS && sqlite3_vtab_nochange(ctx) ) return SQLITE_OK;
  switch( i ){
    case JOBTABLE_JOB_ID:          sqlite3_result_int64(ctx, r->id); break;
    case JOBTABLE_JOB_TYPE:        sqlite3_result_text(ctx, r->zType, -1, SQLITE_TRANSIENT); break;
    case JOBTABLE_DESCRIPTION:     sqlite3_result_text(ctx, r->zDesc, -1, SQLITE_TRANSIENT); break;
    case JOBTABLE_USER_NAME:       sqlite3_result_text(ctx, r->zUser, -1, SQLITE_TRANSIENT); break;
    case JOBTABLE_STATUS:          sqlite3_result_text(ctx, r->zStatus, -1, SQLITE_STATIC); break;
    case JOBTABLE_RUNNING_STATUS:  sqlite3_result_text(ctx, r->zRunning, -1, SQLITE_TRANSIENT); break;
    case JOBTABLE_FRACTION_COMPLETED: sqlite3_result_double(ctx, r->fraction); break;
    case JOBTABLE_CREATED:         vtabResultTime(ctx, r->createdMs); break;
    case JOBTABLE_STARTED:         vtabResultTime(ctx, r->startedMs); break;
    case JOBTABLE_FINISHED:        vtabResultTime(ctx, r->finishedMs); break;
    case JOBTABLE_MODIFIED:        vtabResultTime(ctx, r->modifiedMs); break;
    case JOBTABLE_ERROR:          vtabResultText(ctx, r->zError); break;
    case JOBTABLE_COORDINATOR_ID:
      if( r->zCoordinator[0] ) sqlite3_result_text(ctx, r->zCoordinator, -1, SQLITE_TRANSIENT);
      break;
    case JOBTABLE_NODE_ID:         sqlite3_result_int64(ctx, r->nodeId); break;
    case JOBTABLE_CREATED_BY:
      if( r->zCreatedBy[0] ) sqlite3_result_text(ctx, r->zCreatedBy, -1, SQLITE_TRANSIENT);
      break;
  }
  return SQLITE_OK;
}

/* xUpdate: UPDATE jobs SET status = 'paused' | 'running' | 'canceled'. */
static int jobtableUpdate(sqlite3_vtab *pVtab, int argc, sqlite3_value **argv,
                      sqlite3_int64 *pRowid){
  Vtab *p = (Vtab*)pVtab;
  JobtableVtab *pT = (JobtableVtab*)pVtab;
  const char *zStatus;
  char *zUser = 0, *zErr = 0;
  int isAdmin, i, rc, eOp;
  i64 id;
  (void)pRowid;
  if( argc==1 || sqlite3_value_type(argv[0])==SQLITE_NULL ){
    return vtabError(pVtab, sqlite3_mprintf(
        "jobs: only UPDATE of status is supported (use cancel_job to stop a job)"));
  }
  for(i=0; i<JOBTABLE_NCOL; i++){
    if( i!=JOBTABLE_STATUS && !sqlite3_value_nochange(argv[2+i]) ){
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
  zStatus = (const char*)sqlite3_value_text(argv[2+JOBTABLE_STATUS]);
  if( zStatus && strcmp(zStatus, "paused")==0 ){
    eOp = SHJOB_PAUSE;
  }else if( zStatus && strcmp(zStatus, "running")==0 ){
    eOp = SHJOB_RESUME;
  }else if( zStatus && strcmp(zStatus, "canceled")==0 ){
    eOp = SHJOB_CANCEL;
  }else{
    return vtabError(pVtab, sqlite3_mprintf(
        "jobs: status may be set to 'paused', 'running' or 'canceled', not %Q", zStatus));
  }
  /* Checked now, made at commit. A job that is gone meanwhile, or where
  ** the request has nothing to do, is not queued. */
  rc = jobControlCheck(registryScope(p->pCaller), id, eOp, &zErr);
  if( rc==JOBCTL_BADSTATE ) return vtabError(pVtab, zErr);
  if( rc!=JOBCTL_DONE ) return SQLITE_OK;
  if( pT->nReq==pT->nAlloc ){
    int nNew = pT->nAlloc ? pT->nAlloc*2 : 8;
    JobtableReq *aNew = sqlite3_realloc64(pT->aReq, sizeof(JobtableReq)*nNew);
    if( aNew==0 ) return SQLITE_NOMEM;
    pT->aReq = aNew;
    pT->nAlloc = nNew;
  }
  pT->aReq[pT->nReq].id = id;
  pT->aReq[pT->nReq].eOp = eOp;
  pT->aReq[pT->nReq].iLevel = pT->iLevel;
  pT->nReq++;
  return SQLITE_OK;
}

/* xBegin: a transaction writes the table (its queue is empty). */
static int jobtableBegin(sqlite3_vtab *pVtab){
  JobtableVtab *pT = (JobtableVtab*)pVtab;
  pT->nReq = 0;
  pT->iLevel = 0;
  return SQLITE_OK;
}

/* xSync: nothing to prepare (the requests cannot fail for want of disk). */
static int jobtableSync(sqlite3_vtab *pVtab){
  (void)pVtab;
  return SQLITE_OK;
}

/* xCommit: make the queued requests, in the order of the UPDATEs. Those
** to another process's jobs wait for its answer, as cancel_job does. A
** job that moved on since its check (it ended meanwhile) is left alone,
** as with cancel_jobs. */
static int jobtableCommit(sqlite3_vtab *pVtab){
  JobtableVtab *pT = (JobtableVtab*)pVtab;
  SharedReg *pSh = registryScope(pT->base.pCaller);
  int i, n = pT->nReq;
  pT->nReq = 0;             /* (a request never re-enters the queue) */
  for(i=0; i<n; i++){
    char *zErr = 0;
    switch( pT->aReq[i].eOp ){
      case SHJOB_PAUSE:  jobPause(pSh, pT->aReq[i].id, &zErr); break;
      case SHJOB_RESUME: jobResume(pSh, pT->aReq[i].id, &zErr); break;
      default:           jobCancel(pSh, pT->aReq[i].id, &zErr); break;
    }
    sqlite3_free(zErr);
  }
  pT->iLevel = 0;
  return SQLITE_OK;
}

/* xRollback: nothing happens. */
static int jobtableRollback(sqlite3_vtab *pVtab){
  JobtableVtab *pT = (JobtableVtab*)pVtab;
  pT->nReq = 0;
  pT->iLevel = 0;
  return SQLITE_OK;
}

/* Savepoints, among them the one SQLite opens for each statement inside
** an explicit transaction: a statement that fails (one job refused)
** rolls back to it, so its earlier rows are dropped from the queue and
** the transaction's earlier UPDATEs stay queued. */
static int jobtableSavepoint(sqlite3_vtab *pVtab, int iSavepoint){
  ((JobtableVtab*)pVtab)->iLevel = iSavepoint+1;
  return SQLITE_OK;
}

static int jobtableRelease(sqlite3_vtab *pVtab, int iSavepoint){
  JobtableVtab *pT = (JobtableVtab*)pVtab;
  int i;
  for(i=0; i<pT->nReq; i++){
    if( pT->aReq[i].iLevel>iSavepoint ) pT->aReq[i].iLevel = iSavepoint;
  }
  pT->iLevel = iSavepoint;
  return SQLITE_OK;
}

static int jobtableRollbackTo(sqlite3_vtab *pVtab, int iSavepoint){
  JobtableVtab *pT = (JobtableVtab*)pVtab;
  while( pT->nReq>0 && pT->aReq[pT->nReq-1].iLevel>iSavepoint ) pT->nReq--;
  pT->iLevel = iSavepoint+1;
  return SQLITE_OK;
}

static const VtabTxn jobtableTxn = {
  jobtableBegin, jobtableSync, jobtableCommit, jobtableRollback,
  jobtableSavepoint, jobtableRelease, jobtableRollbackTo
};

static const VtabDef jobtableDef = {
  "jobs", JOBTABLE_SCHEMA,
  VTAB_DIRECTONLY|VTAB_CREATE,  /* also in TEMP (cancel.c) */
  (int)sizeof(JobRow), (int)offsetof(JobRow, id), (int)sizeof(JobtableVtab),
  jobtableSnapshot, jobtableFreeRows, jobtableColumn,
  jobtableUpdate, &jobtableTxn, jobtableDisconnect
};

int jobtableRegister(sqlite3 *db, CancelSession *s){
  return vtabRegister(db, &jobtableDef, s);
}
