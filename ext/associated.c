/*
** associated.c: stop a session and everything it set going, in one call.
**
**   SELECT cancel_session_and_jobs('<session_id>' [, if_exists]);
**
** The session is terminated as cancel_session() does, and every job whose
** created_by is that session is canceled as cancel_job() does; jobs the
** session started outlive it (a backup runs on its own connection), so
** they are found by created_by even when the session has already ended.
** Returns the number of jobs asked to cancel.
**
** Everything is checked before anything is done: the caller is an admin
** (only admins control jobs), the id is well formed, the session may be
** terminated by the caller, and every job it started can be canceled by
** the rules of cancel_job (a job that is pause-requested cannot: the call
** fails naming it, and nothing is stopped). Jobs that have ended, or are
** already being canceled (cancel-requested, reverting), are left as they
** are. An id that names neither a session nor any job is "not found",
** unless if_exists is 1 (then 0).
*/
#include "associated.h"
#include "functions.h"
#include "args.h"
#include "jobs.h"
#include "shared.h"
SQLITE_EXTENSION_INIT3

#include <string.h>

static CancelSession *assocSession(sqlite3_context *ctx){
  return (CancelSession*)sqlite3_user_data(ctx);
}


/* What to do with a job the session started: 1 cancel it, 0 leave it
** (ended, or already being canceled), -1 the rules forbid a cancel. */
static int assocVerdict(const char *zStatus){
  int e;
  for(e=JOB_PENDING; e<=JOB_SUCCEEDED; e++){
    if( strcmp(zStatus, jobStatusName(e))==0 ) break;
  }
  if( e>JOB_SUCCEEDED || jobIsFinished(e) || e==JOB_REVERTING ) return 0;
  switch( jobControlVerdict(SHJOB_CANCEL, e) ){
    case JOBCTL_DONE: return 1;
    case JOBCTL_NOOP: return 0;
    default:          return -1;
  }
}

/* The ids of the jobs zId started that are to be canceled, into *paId
** (sqlite3_free). Returns SQLITE_OK, SQLITE_NOMEM, or SQLITE_ERROR with
** an error set on ctx when one may not be canceled. *pnAll: how many
** jobs it started, in any status. */
static int assocJobs(sqlite3_context *ctx, CancelSession *s, const char *zId,
                     i64 **paId, int *pnId, int *pnAll){
  JobRow *aRow = 0;
  i64 *aId;
  int nRow = 0, i, n = 0, rc;
  *paId = 0;
  *pnId = *pnAll = 0;
  rc = jobsSnapshot(s, &aRow, &nRow);
  if( rc!=SQLITE_OK ) return rc;
  aId = sqlite3_malloc64(sizeof(i64)*(nRow ? nRow : 1));
  if( aId==0 ){
    jobsFreeSnapshot(aRow, nRow);
    return SQLITE_NOMEM;
  }
  for(i=0; i<nRow; i++){
    JobRow *r = &aRow[i];
    int v;
    if( sqlite3_stricmp(r->zCreatedBy, zId)!=0 ) continue;
    (*pnAll)++;
    v = assocVerdict(r->zStatus);
    if( v<0 ){
      argErrorOwned(ctx, sqlite3_mprintf("cancel_session_and_jobs: job %lld with "
          "status %s cannot be requested to be canceled (nothing was stopped)",
          (long long)r->id, r->zStatus));
      rc = SQLITE_ERROR;
      break;
    }
    if( v>0 ) aId[n++] = r->id;
  }
  jobsFreeSnapshot(aRow, nRow);
  if( rc!=SQLITE_OK ){
    sqlite3_free(aId);
    return rc;
  }
  *paId = aId;
  *pnId = n;
  return SQLITE_OK;
}

static void assocCancelSessionAndJobs(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  CancelSession *s = assocSession(ctx);
  Args a = { ctx, "cancel_session_and_jobs", argc, argv };
  const char *zId = 0;
  char *zUser = 0;
  int isAdmin = 0, bIfExists = 0, rc, nId = 0, nAll = 0, i, n = 0;
  i64 *aId = 0;
  u64 tag = 0, iSerial = 0;
  if( !funcCalledDirectly(ctx, "cancel_session_and_jobs") ) return;
  if( !argText(&a, 0, "session ID", 0, &zId)
   || !argFlag(&a, 1, "if_exists", &bIfExists) ) return;
  registryCaller(s, &zUser, &isAdmin);
  sqlite3_free(zUser);
  if( !isAdmin ){
    argError(ctx, "permission denied to %s: only an admin session may",
              "cancel_session_and_jobs");
    return;
  }
  if( !argIdShape(ctx, zId, "session ID") ) return;
  rc = idsParseId(zId, &tag, &iSerial)
     ? registryCheckSerial(s, tag, iSerial) : REG_NOTFOUND;
  if( rc==REG_NOMEM ){ sqlite3_result_error_nomem(ctx); return; }
  if( rc==REG_DENIED ){
    registryLogDenied(s, "cancel_session_and_jobs", tag, iSerial);
    argErrorOwned(ctx, sqlite3_mprintf("permission denied to cancel session ID %s", zId));
    return;
  }
  switch( assocJobs(ctx, s, zId, &aId, &nId, &nAll) ){
    case SQLITE_OK:    break;
    case SQLITE_NOMEM: sqlite3_result_error_nomem(ctx); return;
    default:           return;          /* the error is set */
  }
  if( rc==REG_NOTFOUND && nAll==0 ){
    sqlite3_free(aId);
    if( bIfExists ){
      sqlite3_result_int(ctx, 0);
    }else{
      argErrorOwned(ctx, sqlite3_mprintf("session ID %s not found (and no job "
                                    "created by it is listed)", zId));
    }
    return;
  }
  /* The session first, so that it starts nothing more; then its jobs.
  ** A job that moved on meanwhile (ended, or paused) is left as it is. */
  if( rc==REG_OK ){
    terminateBySerial(s, tag, iSerial, "cancel_session_and_jobs");
  }
  for(i=0; i<nId; i++){
    char *zErr = 0;
    if( jobCancel(registryScope(s), aId[i], &zErr)==JOBCTL_DONE ) n++;
    sqlite3_free(zErr);
  }
  sqlite3_free(aId);
  sqlite3_result_int(ctx, n);
}

static const FuncDef aAssocFunc[] = {
  { "cancel_session_and_jobs", 1, 2, assocCancelSessionAndJobs },
};

int associatedRegister(sqlite3 *db, CancelSession *s){
  return functionsRegisterList(db, s, aAssocFunc, 1);
}
