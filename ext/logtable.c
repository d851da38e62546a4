/*
** logtable.c: the `cancel_log` eponymous virtual table, which shows the
** record of cancels, terminations and timeouts (cancellog.c; doc/cancellog.md).
**
**   SELECT time, action, by_user, target_pid, target_query, outcome
**   FROM cancel_log ORDER BY id DESC LIMIT 20;
**
** Read-only and eponymous only. A session that watches a database
** (cancel_watch) sees that database's registry log instead of this
** process's (cancelLogSnapshot).
*/
#include "logtable.h"
#include "cancellog.h"
#include "registry.h"
#include "vtab.h"
SQLITE_EXTENSION_INIT3

#include <stddef.h>

#define LOGTABLE_SCHEMA \
  "CREATE TABLE x(id INTEGER, time TEXT, action TEXT, by_session_id TEXT, " \
  "by_user TEXT, target_session_id TEXT, target_pid INTEGER, " \
  "target_user TEXT, target_query_id TEXT, target_query TEXT, outcome TEXT)"

#define LOGTABLE_ID                 0  /* increasing; also the rowid */
#define LOGTABLE_TIME               1  /* when it was asked for */
#define LOGTABLE_ACTION             2  /* function, DELETE FROM sessions, or timeout */
#define LOGTABLE_BY_SESSION_ID      3  /* who asked (a timeout: the session itself) */
#define LOGTABLE_BY_USER            4
#define LOGTABLE_TARGET_SESSION_ID  5  /* NULL when the target was not found */
#define LOGTABLE_TARGET_PID         6
#define LOGTABLE_TARGET_USER        7
#define LOGTABLE_TARGET_QUERY_ID    8  /* NULL when no statement was named */
#define LOGTABLE_TARGET_QUERY       9  /* masked as in `sessions` */
#define LOGTABLE_OUTCOME           10

/* The rows of one scan. */
static int logtableSnapshot(CancelSession *pCaller, void **paRow, int *pnRow){
  LogRow *aRow = 0;
  char *zUser = 0;
  int isAdmin, rc;
  registryCaller(pCaller, &zUser, &isAdmin);
  if( zUser==0 ) return SQLITE_NOMEM;
  registrySettlePending();     /* outcomes of cancels whose target ended */
  rc = cancelLogSnapshot(pCaller->pWatch, zUser, isAdmin, &aRow, pnRow);
  sqlite3_free(zUser);
  *paRow = aRow;
  return rc;
}

static void logtableFreeRows(void *aRow, int nRow){
  cancelLogFreeSnapshot((LogRow*)aRow, nRow);
}

/* '' means "none" in the fixed-size id fields */
static void logtableId(sqlite3_context *ctx, const char *z){
  if( z[0] ) sqlite3_result_text(ctx, z, -1, SQLITE_TRANSIENT);
}

/* Column i of row pRow. */
static int logtableColumn(const void *pRow, sqlite3_context *ctx, int i){
  const LogRow *r = (const LogRow*)pRow;
  switch( i ){
    case LOGTABLE_ID:              sqlite3_result_int64(ctx, r->id); break;
    case LOGTABLE_TIME:            vtabResultTime(ctx, r->timeMs); break;
    case LOGTABLE_ACTION:          vtabResultText(ctx, r->zAction); break;
    case LOGTABLE_BY_SESSION_ID:   logtableId(ctx, r->zBySession); break;
    case LOGTABLE_BY_USER:         vtabResultText(ctx, r->zByUser); break;
    case LOGTABLE_TARGET_SESSION_ID: logtableId(ctx, r->zTargetSession); break;
    case LOGTABLE_TARGET_PID:
      if( r->targetPid ) sqlite3_result_int64(ctx, r->targetPid);
      break;
    case LOGTABLE_TARGET_USER:     vtabResultText(ctx, r->zTargetUser); break;
    case LOGTABLE_TARGET_QUERY_ID: logtableId(ctx, r->zTargetQuery); break;
    case LOGTABLE_TARGET_QUERY:    vtabResultText(ctx, r->zQuery); break;
    case LOGTABLE_OUTCOME:         vtabResultText(ctx, r->zOutcome); break;
  }
  return SQLITE_OK;
}

static const VtabDef logtableDef = {
  "cancel_log", LOGTABLE_SCHEMA,
  VTAB_DIRECTONLY,              /* eponymous only, read-only */
  (int)sizeof(LogRow), (int)offsetof(LogRow, id), 0,
  logtableSnapshot, logtableFreeRows, logtableColumn,
  0, 0, 0
};

int logtableRegister(sqlite3 *db, CancelSession *s){
  return vtabRegister(db, &logtableDef, s);
}
