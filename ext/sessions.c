/*
** sessions.c: the `sessions` eponymous virtual table (doc/reference.md).
**
**   SELECT pid, user_name, status, active_query FROM sessions;
**   DELETE FROM sessions WHERE user_name = 'maxroach';  -- terminates
**
** xFilter takes a snapshot of the registry (snapshotSessions), so the
** scan holds no lock while SQLite walks the rows and a cancel issued per
** row cannot deadlock with it. The rowid is the session's pid. DELETE
** terminates each matching session with the checks of cancel_session;
** INSERT and UPDATE are refused. A DELETE never sees (so never
** terminates, nor counts in changes()) the session that runs it.
*/
#include "sessions.h"
#include "snapshot.h"
#include "terminate.h"
#include "vtab.h"
#include "hooks.h"
#include "sqltext.h"
SQLITE_EXTENSION_INIT3

#include <pthread.h>
#include <stddef.h>
#include <string.h>

#define SESSIONS_SCHEMA \
  "CREATE TABLE x(session_id TEXT, pid INTEGER, node_id INTEGER, " \
  "user_name TEXT, application_name TEXT, client_address TEXT, " \
  "database TEXT, status TEXT, active_query TEXT, query_id TEXT, " \
  "query_start TEXT, last_active_query TEXT, xact_start TEXT, " \
  "session_start TEXT, xact_kind TEXT HIDDEN, waiting_since TEXT HIDDEN, " \
  "waiting_on TEXT HIDDEN, statement_timeout INTEGER HIDDEN, " \
  "idle_in_transaction_session_timeout INTEGER HIDDEN, " \
  "hooks TEXT HIDDEN, threading TEXT HIDDEN, " \
  "transaction_timeout INTEGER HIDDEN, idle_blocker_timeout INTEGER HIDDEN)"

#define SESSIONS_SESSION_ID         0  /* 32 hex digits */
#define SESSIONS_PID                1  /* backend id, also the rowid */
#define SESSIONS_NODE_ID            2  /* OS process id */
#define SESSIONS_USER_NAME          3
#define SESSIONS_APPLICATION_NAME   4
#define SESSIONS_CLIENT_ADDRESS     5  /* NULL unless set through the C API */
#define SESSIONS_DATABASE           6  /* main file name, '' in memory */
#define SESSIONS_STATUS             7
#define SESSIONS_ACTIVE_QUERY       8  /* NULL when idle */
#define SESSIONS_QUERY_ID           9
#define SESSIONS_QUERY_START       10
#define SESSIONS_LAST_ACTIVE_QUERY 11
#define SESSIONS_XACT_START        12
#define SESSIONS_SESSION_START     13
/* Hidden: SELECT * does not show them; name them to see them. */
#define SESSIONS_XACT_KIND         14  /* 'none', 'read', 'write' */
#define SESSIONS_WAITING_SINCE     15  /* NULL unless waiting on a lock */
#define SESSIONS_WAITING_ON        16  /* the database file waited for */
#define SESSIONS_STATEMENT_TIMEOUT 17  /* ms, 0 off */
#define SESSIONS_IDLE_TIMEOUT      18  /* ms, 0 off */
#define SESSIONS_HOOKS             19  /* 'ok' or which hook the application
                                       ** replaced (doc/hooks.md) */
#define SESSIONS_THREADING         20  /* 'serialized', 'multi-thread' */
#define SESSIONS_XACT_TIMEOUT      21  /* ms, 0 off */
#define SESSIONS_IDLE_BLOCKER      22  /* ms, 0 off */

#define SESSIONS_MASK "<insufficient privilege>"

static void sessionsFreeRows(void *aRow, int nRow){
  snapshotFree((SessionRow*)aRow, nRow);
}

/* One identifier, bare or quoted: the text after it, its name in
** *pz and *pn; NULL if there is none. */
static const char *sessionsIdent(const char *z, const char **pz, int *pn){
  if( *z=='"' || *z=='`' || *z=='[' ){
    char cEnd = *z=='[' ? ']' : *z;
    const char *zEnd = strchr(z+1, cEnd);
    if( zEnd==0 ) return 0;
    *pz = z+1;
    *pn = (int)(zEnd-z-1);
    return zEnd+1;
  }
  *pz = z;
  while( (*z>='a' && *z<='z') || (*z>='A' && *z<='Z') || (*z>='0' && *z<='9')
      || *z=='_' || *z=='$' || (*z & 0x80) ) z++;
  *pn = (int)(z-*pz);
  return *pn>0 ? z : 0;
}

/* Is zSql a DELETE from the sessions table: [WITH ...] DELETE FROM
** [schema.]sessions ...? */
static int sessionsIsDelete(const char *zSql){
  const char *z = sqltextSkip(zSql, 0);
  const char *zName;
  int nName;
  if( sqltextKeyword(z, "WITH") ){
    /* a CTE first: find its DELETE (a word of its own) */
    const char *p;
    for(p=z; *p; p++){
      if( (p==z || !((p[-1]>='a' && p[-1]<='z') || (p[-1]>='A' && p[-1]<='Z')
                     || p[-1]=='_')) && sqltextKeyword(p, "DELETE") ){
        break;
      }
    }
    z = p;
  }
  if( (z = sqltextKeyword(z, "DELETE"))==0 ) return 0;
  z = sqltextSkip(z, 0);
  if( (z = sqltextKeyword(z, "FROM"))==0 ) return 0;
  z = sessionsIdent(sqltextSkip(z, 0), &zName, &nName);
  if( z==0 ) return 0;
  z = sqltextSkip(z, 0);
  if( *z=='.' ){
    z = sessionsIdent(sqltextSkip(z+1, 0), &zName, &nName);
    if( z==0 ) return 0;
  }
  return nName==8 && sqlite3_strnicmp(zName, "sessions", 8)==0;
}

/* Is the caller's own thread scanning for its DELETE FROM sessions? (The
** newest statement it runs: the scan runs inside it.) */
static int sessionsOwnDelete(CancelSession *s){
  int bDel = 0;
  if( s->nStmt==0 ) activityNotice(s);
  pthread_mutex_lock(&s->mu);
  if( s->nStmt>0 && pthread_equal(s->execThread, pthread_self()) ){
    ActiveStmt *a = &s->aStmt[s->nStmt-1];
    bDel = !sqlite3_stmt_readonly((sqlite3_stmt*)a->pStmt) && sessionsIsDelete(a->zSql);
  }
  pthread_mutex_unlock(&s->mu);
  return bDel;
}

/* Take the caller's own row out of a snapshot. */
static void sessionsDropOwn(CancelSession *s, SessionRow *aRow, int *pnRow){
  char zId[33];
  int i;
  idsFormatId(s->iSerial, zId);
  for(i=0; i<*pnRow; i++){
    SessionRow *r = &aRow[i];
    if( r->pid!=s->pid || strcmp(r->zSessionId, zId)!=0 ) continue;
    sqlite3_free(r->zUser);
    sqlite3_free(r->zAppName);
    sqlite3_free(r->zClientAddr);
    sqlite3_free(r->zDatabase);
    sqlite3_free(r->zActive);
    sqlite3_free(r->zLast);
    memmove(r, r+1, sizeof(SessionRow)*(*pnRow-i-1));
    (*pnRow)--;
    return;
  }
}

/* The rows of one scan. */
static int sessionsSnapshot(CancelSession *pCaller, void **paRow, int *pnRow){
  SessionRow *aRow = 0;
  int nRow = 0, rc;
  rc = snapshotSessions(pCaller, &aRow, &nRow);
  if( rc==SQLITE_OK && pCaller && sessionsOwnDelete(pCaller) ){
    /* A bulk DELETE never stops its caller, nor counts it in changes()
    ** (SQLite counts every row handed to xUpdate): it does not see it. */
    sessionsDropOwn(pCaller, aRow, &nRow);
  }
  *paRow = aRow;
  *pnRow = nRow;
  return rc;
}

static void sessionsResultText(sqlite3_context *ctx, const char *z, int masked){
  if( z==0 ) return;        /* NULL */
  sqlite3_result_text(ctx, masked ? SESSIONS_MASK : z, -1, SQLITE_TRANSIENT);
}

/* Column i of row pRow. */
static int sessionsColumn(const void *pRow, sqlite3_context *ctx, int i){
  const SessionRow *r = (const SessionRow*)pRow;
  switch( i ){
    case SESSIONS_SESSION_ID:
      sqlite3_result_text(ctx, r->zSessionId, -1, SQLITE_TRANSIENT); break;
    case SESSIONS_PID:
      sqlite3_result_int64(ctx, r->pid); break;
    case SESSIONS_NODE_ID:
      sqlite3_result_int64(ctx, r->nodeId); break;
    case SESSIONS_USER_NAME:
      sessionsResultText(ctx, r->zUser, 0); break;
    case SESSIONS_APPLICATION_NAME:
      sessionsResultText(ctx, r->zAppName, 0); break;
    case SESSIONS_CLIENT_ADDRESS:
      sessionsResultText(ctx, r->zClientAddr, 0); break;
    case SESSIONS_DATABASE:
      sessionsResultText(ctx, r->zDatabase, 0); break;
    case SESSIONS_STATUS:
      sqlite3_result_text(ctx, r->zStatus, -1, SQLITE_STATIC); break;
    case SESSIONS_ACTIVE_QUERY:
      sessionsResultText(ctx, r->zActive, r->masked); break;
    case SESSIONS_QUERY_ID:
      if( r->zQueryId[0] ) sqlite3_result_text(ctx, r->zQueryId, -1, SQLITE_TRANSIENT);
      break;
    case SESSIONS_QUERY_START:
      vtabResultTime(ctx, r->zQueryId[0] ? r->queryStartMs : 0); break;
    case SESSIONS_LAST_ACTIVE_QUERY:
      sessionsResultText(ctx, r->zLast, r->masked); break;
    case SESSIONS_XACT_START:
      vtabResultTime(ctx, r->xactStartMs); break;
    case SESSIONS_SESSION_START:
      vtabResultTime(ctx, r->sessionStartMs); break;
    case SESSIONS_XACT_KIND:
      sqlite3_result_text(ctx, r->zXactKind, -1, SQLITE_STATIC); break;
    case SESSIONS_WAITING_SINCE:
      vtabResultTime(ctx, r->waitingSinceMs); break;
    case SESSIONS_WAITING_ON:
      if( r->waitingSinceMs ) sessionsResultText(ctx, r->zDatabase, 0);
      break;
    case SESSIONS_STATEMENT_TIMEOUT:
      sqlite3_result_int(ctx, r->stmtTimeoutMs); break;
    case SESSIONS_IDLE_TIMEOUT:
      sqlite3_result_int(ctx, r->idleTimeoutMs); break;
    case SESSIONS_XACT_TIMEOUT:
      sqlite3_result_int(ctx, r->xactTimeoutMs); break;
    case SESSIONS_IDLE_BLOCKER:
      sqlite3_result_int(ctx, r->idleBlockerMs); break;
    case SESSIONS_HOOKS:
      sqlite3_result_text(ctx, r->zHooks ? r->zHooks : "ok", -1, SQLITE_STATIC); break;
    case SESSIONS_THREADING:
      sqlite3_result_text(ctx, r->zThreading ? r->zThreading : "serialized", -1,
                          SQLITE_STATIC); break;
  }
  return SQLITE_OK;
}

/* xUpdate: DELETE terminates; nothing else is allowed. */
static int sessionsUpdate(sqlite3_vtab *pVtab, int argc, sqlite3_value **argv,
                          sqlite3_int64 *pRowid){
  Vtab *p = (Vtab*)pVtab;
  i64 pid;
  int rc;
  (void)pRowid;
  if( argc!=1 ){
    return vtabError(pVtab, sqlite3_mprintf(
        "sessions: only DELETE is supported (it terminates sessions)"));
  }
  pid = sqlite3_value_int64(argv[0]);
  if( p->pCaller && pid==p->pCaller->pid ) return SQLITE_OK;  /* never itself */
  rc = terminateByPid(p->pCaller, pid, "DELETE FROM sessions");
  if( rc==REG_DENIED ){
    return vtabError(pVtab, sqlite3_mprintf(
        "permission denied to terminate backend %lld", (long long)pid));
  }
  return SQLITE_OK;   /* gone meanwhile: nothing to do */
}

static const VtabDef sessionsDef = {
  "sessions", SESSIONS_SCHEMA,
  VTAB_DIRECTONLY|VTAB_CREATE,  /* also in TEMP (cancel.c) */
  (int)sizeof(SessionRow), (int)offsetof(SessionRow, pid), 0,
  sessionsSnapshot, sessionsFreeRows, sessionsColumn,
  sessionsUpdate, 0, 0
};

int sessionsRegister(sqlite3 *db, CancelSession *s){
  return vtabRegister(db, &sessionsDef, s);
}
