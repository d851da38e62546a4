/*
** functions.c: the SQL functions of cancelling and privileges (doc/reference.md).
**
**   SELECT cancel_query('<query_id>');
**   SELECT cancel_session('<session_id>');
**   SELECT cancel_session('SELECT session_id FROM sessions WHERE pid=7');
**   SELECT cancel_sessions('SELECT session_id FROM sessions
**                           WHERE user_name=''maxroach''');
**   SELECT pg_cancel_backend(7), pg_terminate_backend(7, 1000);
**   SELECT pg_backend_pid(), session_id();
**   SELECT set_session_user('alice', 0), set_application_name('web');
**   SELECT set_busy_timeout(5000);
**   SELECT set_statement_timeout(2000);
**   SELECT set_idle_in_transaction_session_timeout(10000);
**   SELECT blocking_sessions('<session_id>'), pg_blocking_pids(7);
**   SELECT cancel_watch('/srv/app.db');   -- from any connection, even
**                                         -- while app.db is locked
**   SELECT cancel_reason();
**
** Every function is registered SQLITE_DIRECTONLY: a view, trigger, CHECK
** constraint or generated column can never call it. Arguments are checked
** here; the registry decides existence and privilege and returns REG_*
** codes that are turned into messages here.
*/
#include "functions.h"
#include "args.h"
#include "sqltext.h"
#include "registry.h"
#include "terminate.h"
#include "snapshot.h"
#include "blockers.h"
#include "cancel.h"
#include "hooks.h"
SQLITE_EXTENSION_INIT3

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define FUNC_MAX_NAME 255   /* longest user or application name */
#define FUNC_MAX_PID 2147483647        /* a backend pid is PostgreSQL's int4 */
#define FUNC_MAX_WAIT 86400000         /* ms: a busy timeout, a wait, a day */
#define FUNC_MAX_TIMEOUT 2147483647    /* ms: a statement or idle timeout */
#define FUNC_WRONGKIND (-100)  /* cancel_query: the ID is a session's */
#define FUNC_SESSION_ARG "cancel_session: expected a session ID (32 hex " \
                         "digits) or a selection query, got "

/* Nonzero while this thread runs a selection query (funcSelectIds). */
static _Thread_local int funcSelecting = 0;

static CancelSession *funcSession(sqlite3_context *ctx){
  return (CancelSession*)sqlite3_user_data(ctx);
}

static int funcIsIdChar(char c){
  return (c>='a' && c<='z') || (c>='A' && c<='Z') || (c>='0' && c<='9')
      || c=='_' || c=='$' || (c & 0x80)!=0;
}

/* Does zSql call function zName, as a whole word followed by '('? */
static int funcSqlCalls(const char *zSql, const char *zName){
  int n = (int)strlen(zName);
  const char *z;
  for(z=zSql; *z; z++){
    const char *zEnd = z+n;
    if( sqlite3_strnicmp(z, zName, n)!=0 ) continue;
    if( z>zSql && funcIsIdChar(z[-1]) ) continue;
    while( *zEnd==' ' || *zEnd=='\t' || *zEnd=='\n' || *zEnd=='\r' ) zEnd++;
    if( *zEnd=='(' ) return 1;
  }
  return 0;
}

/*
** Defence in depth for SQLITE_DIRECTONLY. SQLite 3.40 enforces it for
** views and triggers, but still runs a DIRECTONLY function named in a
** CHECK constraint or a DEFAULT of a table (see doc/reference.md,
** "Hostile schemas"). So a side-effecting function also checks that the
** statement the application is running names it itself. When no
** statement is recorded (the application replaced the trace hook), the
** check cannot be made and SQLite's own rule is all there is.
*/
static int funcCheckDirect(sqlite3_context *ctx, const char *zName, int bList){
  CancelSession *s = funcSession(ctx);
  const char *zSql;
  int bOk = 1;
  if( funcSelecting ){
    argError(ctx, "%s() cannot be called inside a selection query", zName);
    return 0;
  }
  if( !bList && s->nStmt==0 && (zSql = activityStartedSql(s))!=0 ){
    bOk = funcSqlCalls(zSql, zName);       /* the same text, not listed */
  }else{
    if( s->nStmt==0 ) activityNotice(s);   /* the statement calling us */
    pthread_mutex_lock(&s->mu);
    if( s->nStmt>0 ) bOk = funcSqlCalls(s->aStmt[s->nStmt-1].zSql, zName);
    pthread_mutex_unlock(&s->mu);
  }
  if( !bOk ){
    char *z = sqlite3_mprintf("unsafe use of %s(): not called by the "
                              "statement itself", zName);
    sqlite3_result_error(ctx, z ? z : "out of memory", -1);
    sqlite3_free(z);
  }
  return bOk;
}

int funcCalledDirectly(sqlite3_context *ctx, const char *zName){
  return funcCheckDirect(ctx, zName, 1);
}

/* Report a REG_* failure for the object described by zWhat. */
static void funcRegError(sqlite3_context *ctx, int rc, const char *zVerb,
                         const char *zWhat){
  char *z;
  if( rc==REG_NOMEM ){
    sqlite3_result_error_nomem(ctx);
    return;
  }
  if( rc==REG_DENIED ){
    z = sqlite3_mprintf("permission denied to %s %s", zVerb, zWhat);
  }else if( rc==REG_UNDELIVERED ){
    z = sqlite3_mprintf("cannot %s %s: not delivered: its application "
                        "replaced the extension's hooks (see doc/hooks.md)",
                        zVerb, zWhat);
  }else{
    z = sqlite3_mprintf("%s not found", zWhat);
  }
  if( z==0 ){
    sqlite3_result_error_nomem(ctx);
  }else{
    sqlite3_result_error(ctx, z, -1);
    sqlite3_free(z);
  }
}

/* -------------------------------------------------------- cancel_query */

static void funcCancelQuery(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  CancelSession *s = funcSession(ctx);
  Args a = { ctx, "cancel_query", argc, argv };
  const char *zId = 0;
  int bIfExists = 0, rc;
  u64 iQuery, tag;
  char zWhat[64];
  /* (its own statement need not be listed: an ID names only a listed
  ** execution, so cancel_query never aims at its caller unlisted) */
  if( !funcCheckDirect(ctx, "cancel_query", 0) ) return;
  if( !argText(&a, 0, "query ID", 0, &zId) || !argFlag(&a, 1, "if_exists", &bIfExists)
   || !argIdShape(ctx, zId, "query ID") ) return;
  if( !idsParseId(zId, &tag, &iQuery) ){
    rc = REG_NOTFOUND;
  }else if( tag==idsTag() && registryCheckSerial(s, tag, iQuery)!=REG_NOTFOUND ){
    rc = FUNC_WRONGKIND;   /* (asked of another process only if not found) */
  }else{
    rc = registryCancelQuery(s, tag, iQuery, "cancel_query");
    if( rc==REG_NOTFOUND && !bIfExists && tag!=idsTag()
     && registryCheckSerial(s, tag, iQuery)!=REG_NOTFOUND ){
      rc = FUNC_WRONGKIND;
    }
  }
  if( rc==REG_OK ){
    sqlite3_result_int(ctx, 1);
  }else if( rc==FUNC_WRONGKIND ){
    /* Query and session IDs come from one counter, so an ID that names a
    ** live session names no query: say which function it is for. */
    argError(ctx, "cancel_query: %s is a session ID, not a query ID "
                   "(use cancel_session)", zId);
  }else if( rc==REG_NOTFOUND && bIfExists ){
    sqlite3_result_int(ctx, 0);
  }else{
    snprintf(zWhat, sizeof(zWhat), "query ID %s", zId);   /* (only here) */
    funcRegError(ctx, rc, "cancel", zWhat);
  }
}

/* ------------------------------------------------ selection queries */

/*
** A selection query (the select_sql argument of cancel_session,
** cancel_sessions and cancel_jobs) must be exactly one read-only SELECT
** (WITH and VALUES included) returning one column. Why not just
** sqlite3_stmt_readonly()? It is also true of ATTACH (which creates a
** file), DETACH, BEGIN and of many PRAGMAs. Why not an authorizer? A
** connection has a single authorizer slot that SQLite gives no way to
** read back, so installing ours for the prepare would drop the
** application's authorizer (or, on a terminated session, the
** extension's deny-all one, hooks.c) with no way to restore it.
**
** So the statement itself is inspected, in this order:
**
**   1. before anything is prepared: its first keyword, after blanks and
**      comments, is SELECT, WITH or VALUES. This must come before
**      sqlite3_prepare(), because preparing some statements already acts
**      (PRAGMA busy_timeout=N, PRAGMA foreign_keys=ON and other setting
**      PRAGMAs take effect while they are compiled);
**   2. prepare only the first statement, then require the rest of the
**      text (pzTail) to be blanks, comments and semicolons: a second
**      statement is refused, and never prepared;
**   3. sqlite3_stmt_readonly(): WITH ... DELETE/INSERT/UPDATE, the only
**      writes that start with an accepted keyword, are refused;
**   4. sqlite3_column_count()==1.
**
** Nothing has run when any of these refuses. While the query runs,
** funcSelecting is set on this thread: a function of the extension with
** an effect (cancel_session(), job_backup(), ...) named inside the query
** refuses to run (funcCalledDirectly), so a selection query only selects.
*/



/* Is z (after blanks and comments) a statement of SQL rather than an id
** or a word? It starts with a keyword that begins a statement. */
static int funcLooksLikeSql(const char *z){
  static const char *azKw[] = {
    "SELECT", "WITH", "VALUES", "ATTACH", "DETACH", "PRAGMA", "INSERT",
    "REPLACE", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "BEGIN",
    "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE", "ANALYZE",
    "REINDEX", "VACUUM", "EXPLAIN"
  };
  int i;
  z = sqltextSkip(z, 0);
  for(i=0; i<(int)(sizeof(azKw)/sizeof(azKw[0])); i++){
    if( sqltextKeyword(z, azKw[i]) ) return 1;
  }
  return 0;
}

static void funcNotSelection(sqlite3_context *ctx, const char *zFunc,
                             const char *zKind){
  char *z = sqlite3_mprintf("%s: the selection query must be one read-only "
                            "SELECT returning one column of %ss", zFunc, zKind);
  sqlite3_result_error(ctx, z ? z : "out of memory", -1);
  sqlite3_free(z);
}

/* Run a selection query (see above) on the caller's connection and
** collect column 0 of every row; zKind ("session ID", "job ID") names
** what it must return. Error text goes to ctx. */
int funcSelectIds(sqlite3_context *ctx, const char *zFunc, const char *zKind,
                  const char *zSql, char ***pazId, int *pnId){
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  sqlite3_stmt *pStmt = 0;
  const char *zTail = 0;
  const char *zStart = sqltextSkip(zSql, 1);
  char **azId = 0;
  int nId = 0, nAlloc = 0, rc, nCol;
  char *zErr = 0;

  if( *zStart==0 ){
    zErr = sqlite3_mprintf("%s: the selection query is empty", zFunc);
    goto done;
  }
  if( !sqltextKeyword(zStart, "SELECT") && !sqltextKeyword(zStart, "WITH")
   && !sqltextKeyword(zStart, "VALUES") ){
    funcNotSelection(ctx, zFunc, zKind);
    goto fail;
  }
  rc = sqlite3_prepare_v2(db, zStart, -1, &pStmt, &zTail);
  if( rc!=SQLITE_OK ){
    zErr = sqlite3_mprintf("%s: %s", zFunc, sqlite3_errmsg(db));
    goto done;
  }
  if( pStmt==0 ){
    zErr = sqlite3_mprintf("%s: the selection query is empty", zFunc);
    goto done;
  }
  if( zTail && *sqltextSkip(zTail, 1) ){
    zErr = sqlite3_mprintf("%s: the selection query must be one statement", zFunc);
    goto done;
  }
  if( !sqlite3_stmt_readonly(pStmt) ){
    sqlite3_finalize(pStmt);
    funcNotSelection(ctx, zFunc, zKind);
    goto fail;
  }
  nCol = sqlite3_column_count(pStmt);
  if( nCol!=1 ){
    zErr = sqlite3_mprintf("%s: the selection query must return one column "
                           "of %ss, not %d", zFunc, zKind, nCol);
    goto done;
  }
  funcSelecting++;
  while( (rc = sqlite3_step(pStmt))==SQLITE_ROW ){
    const char *z;
    if( sqlite3_column_type(pStmt, 0)==SQLITE_NULL ){
      funcSelecting--;
      zErr = sqlite3_mprintf("%s: the selection query returned NULL "
                             "instead of a %s", zFunc, zKind);
      goto done;
    }
    z = (const char*)sqlite3_column_text(pStmt, 0);
    if( z==0 ){ rc = SQLITE_NOMEM; break; }
    if( nId==nAlloc ){
      int nNew = nAlloc ? nAlloc*2 : 8;
      char **aNew = sqlite3_realloc64(azId, sizeof(char*)*nNew);
      if( aNew==0 ){ rc = SQLITE_NOMEM; break; }
      azId = aNew;
      nAlloc = nNew;
    }
    azId[nId] = sqlite3_mprintf("%s", z);
    if( azId[nId]==0 ){ rc = SQLITE_NOMEM; break; }
    nId++;
  }
  funcSelecting--;
  if( rc==SQLITE_NOMEM ){
    zErr = 0;
    sqlite3_result_error_nomem(ctx);
    sqlite3_finalize(pStmt);
    pStmt = 0;
    goto fail;
  }
  if( rc!=SQLITE_DONE ){
    zErr = sqlite3_mprintf("%s: %s", zFunc, sqlite3_errmsg(db));
    goto done;
  }
done:
  sqlite3_finalize(pStmt);
  if( zErr ){
    sqlite3_result_error(ctx, zErr, -1);
    sqlite3_free(zErr);
    goto fail;
  }
  *pazId = azId;
  *pnId = nId;
  return 1;
fail:
  while( nId>0 ) sqlite3_free(azId[--nId]);
  sqlite3_free(azId);
  return 0;
}

void funcFreeIds(char **azId, int nId){
  while( nId>0 ) sqlite3_free(azId[--nId]);
  sqlite3_free(azId);
}

/* Is zId the query ID of a statement running now (a session ID was
** expected)? Only asked to explain a "not found". */
static int funcIsQueryId(CancelSession *s, const char *zId){
  SessionRow *aRow = 0;
  int nRow = 0, i, bFound = 0;
  if( snapshotSessions(s, &aRow, &nRow)!=REG_OK ) return 0;
  for(i=0; i<nRow && !bFound; i++){
    bFound = aRow[i].zQueryId[0] && sqlite3_stricmp(aRow[i].zQueryId, zId)==0;
  }
  snapshotFree(aRow, nRow);
  return bFound;
}

/* Check every id (shape, existence, privilege) before terminating any,
** so that a bad id or a denied one leaves all sessions untouched. Then
** terminate each. Returns the number terminated, or -1 after an error. */
static int funcTerminateIds(sqlite3_context *ctx, CancelSession *s,
                            const char *zAction, char **azId, int nId,
                            int bIfExists, int bBulk){
  u64 *aSerial, *aTag;
  int i, n = 0;
  aSerial = sqlite3_malloc64(sizeof(u64)*2*(nId ? nId : 1));
  if( aSerial==0 ){
    sqlite3_result_error_nomem(ctx);
    return -1;
  }
  aTag = aSerial + (nId ? nId : 1);
  for(i=0; i<nId; i++){
    char zWhat[64];
    int rc;
    if( !argIdShape(ctx, azId[i], "session ID") ){
      sqlite3_free(aSerial);
      return -1;
    }
    snprintf(zWhat, sizeof(zWhat), "session ID %s", azId[i]);
    aSerial[i] = 0;
    rc = idsParseId(azId[i], &aTag[i], &aSerial[i])
       ? registryCheckSerial(s, aTag[i], aSerial[i]) : REG_NOTFOUND;
    if( rc==REG_NOTFOUND && bIfExists ){
      aSerial[i] = 0;
    }else if( rc==REG_NOTFOUND && funcIsQueryId(s, azId[i]) ){
      char *z = sqlite3_mprintf("%s: %s is a query ID, not a session ID "
                                "(use cancel_query)", zAction, azId[i]);
      sqlite3_result_error(ctx, z ? z : "out of memory", -1);
      sqlite3_free(z);
      sqlite3_free(aSerial);
      return -1;
    }else if( rc!=REG_OK ){
      registryLogDenied(s, zAction, aTag[i], aSerial[i]);
      funcRegError(ctx, rc, "cancel", zWhat);
      sqlite3_free(aSerial);
      return -1;
    }
  }
  for(i=0; i<nId; i++){
    /* A bulk form never stops its caller (nor counts it). */
    if( bBulk && aTag[i]==idsTag() && aSerial[i]==s->iSerial ) continue;
    if( aSerial[i] && terminateBySerial(s, aTag[i], aSerial[i], zAction)==REG_OK ) n++;
  }
  sqlite3_free(aSerial);
  return n;
}

/* ------------------------------------------------- cancel_session(s) */

/* cancel_session(x): x is a session ID, or a selection query; anything
** else is refused saying what was expected and what was given (never a
** SQL syntax error from treating '20024380' as a query). */
static void funcNotSessionArg(sqlite3_context *ctx, sqlite3_value *v){
  const char *z;
  char *zErr;
  if( sqlite3_value_type(v)!=SQLITE_TEXT ){
    /* (before sqlite3_value_text(), which would make a blob text) */
    zErr = sqlite3_mprintf("%s%s", FUNC_SESSION_ARG, argTypeName(v));
  }else if( (z = (const char*)sqlite3_value_text(v))==0 ){
    sqlite3_result_error_nomem(ctx);
    return;
  }else if( z[0]==0 ){
    zErr = sqlite3_mprintf("%san empty string", FUNC_SESSION_ARG);
  }else{
    int n = (int)strlen(z), i;
    for(i=0; i<n && isxdigit((unsigned char)z[i]); i++){}
    zErr = sqlite3_mprintf(i==n && n>=16 ? "%s'%.40s%s' (%d hex digits)" : "%s'%.40s%s'",
                           FUNC_SESSION_ARG, z, n>40 ? "..." : "", n);
  }
  sqlite3_result_error(ctx, zErr ? zErr : "out of memory", -1);
  sqlite3_free(zErr);
}

static void funcCancelSession(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  CancelSession *s = funcSession(ctx);
  Args a = { ctx, "cancel_session", argc, argv };
  const char *zArg = 0;
  int bIfExists = 0, n;
  char **azId = 0;
  int nId = 0;
  if( !funcCalledDirectly(ctx, "cancel_session") ) return;
  if( sqlite3_value_type(argv[0])!=SQLITE_TEXT ){
    funcNotSessionArg(ctx, argv[0]);
    return;
  }
  if( !argText(&a, 0, "session ID", 0, &zArg)
   || !argFlag(&a, 1, "if_exists", &bIfExists) ) return;
  if( idsIsIdShape(zArg) ){
    azId = sqlite3_malloc(sizeof(char*));
    if( azId ) azId[0] = sqlite3_mprintf("%s", zArg);
    if( azId==0 || azId[0]==0 ){
      sqlite3_free(azId);
      sqlite3_result_error_nomem(ctx);
      return;
    }
    nId = 1;
  }else if( !funcLooksLikeSql(zArg) ){
    funcNotSessionArg(ctx, argv[0]);
    return;
  }else{
    /* A selection query that must return exactly one. */
    if( !funcSelectIds(ctx, "cancel_session", "session ID", zArg, &azId, &nId) ) return;
    if( nId>1 ){
      funcFreeIds(azId, nId);
      sqlite3_result_error(ctx, "more than one session ID: use cancel_sessions", -1);
      return;
    }
    if( nId==0 ){
      funcFreeIds(azId, nId);
      if( bIfExists ){
        sqlite3_result_int(ctx, 0);
      }else{
        sqlite3_result_error(ctx,
            "session ID not found: the selection query returned no rows", -1);
      }
      return;
    }
  }
  n = funcTerminateIds(ctx, s, "cancel_session", azId, nId, bIfExists, 0);
  funcFreeIds(azId, nId);
  if( n>=0 ) sqlite3_result_int(ctx, n);
}

static void funcCancelSessions(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  CancelSession *s = funcSession(ctx);
  Args a = { ctx, "cancel_sessions", argc, argv };
  const char *zSql = 0;
  int bIfExists = 0, n;
  char **azId = 0;
  int nId = 0;
  if( !funcCalledDirectly(ctx, "cancel_sessions") ) return;
  if( !argText(&a, 0, "selection query", 0, &zSql)
   || !argFlag(&a, 1, "if_exists", &bIfExists) ) return;
  if( !funcSelectIds(ctx, "cancel_sessions", "session ID", zSql, &azId, &nId) ) return;
  n = funcTerminateIds(ctx, s, "cancel_sessions", azId, nId, bIfExists, 1);
  funcFreeIds(azId, nId);
  if( n>=0 ) sqlite3_result_int(ctx, n);
}

/* ------------------------------------------------------ pg_* by pid */

static void funcPgCancelBackend(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  CancelSession *s = funcSession(ctx);
  Args a = { ctx, "pg_cancel_backend", argc, argv };
  i64 pid = 0;
  int rc;
  char zWhat[40];
  if( !funcCalledDirectly(ctx, "pg_cancel_backend") ) return;
  if( !argInt(&a, 0, "pid", 1, FUNC_MAX_PID, &pid) ) return;
  rc = registryCancelBackend(s, pid, "pg_cancel_backend");
  if( rc==REG_DENIED ){
    snprintf(zWhat, sizeof(zWhat), "backend %lld", (long long)pid);
    funcRegError(ctx, rc, "cancel", zWhat);
  }else{
    sqlite3_result_int(ctx, rc==REG_OK);
  }
}

static void funcPgTerminateBackend(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  CancelSession *s = funcSession(ctx);
  Args a = { ctx, "pg_terminate_backend", argc, argv };
  i64 pid = 0, timeoutMs = 0;
  int rc;
  char zWhat[40];
  if( !funcCalledDirectly(ctx, "pg_terminate_backend") ) return;
  if( !argInt(&a, 0, "pid", 1, FUNC_MAX_PID, &pid)
   || !argInt(&a, 1, "timeout_ms", 0, FUNC_MAX_WAIT, &timeoutMs) ) return;
  rc = terminateByPid(s, pid, "pg_terminate_backend");
  if( rc==REG_DENIED ){
    snprintf(zWhat, sizeof(zWhat), "backend %lld", (long long)pid);
    funcRegError(ctx, rc, "terminate", zWhat);
    return;
  }
  /* Terminating itself: nothing to wait for, the termination takes
  ** effect when this statement has ended. Any other wait is one of ours:
  ** the caller's cancel, termination and statement timeout end it. */
  if( rc==REG_OK && timeoutMs>0 && pid!=s->pid ){
    int r = terminateWaitGoneStop(s, pid, (int)timeoutMs, hooksWaitStop, s);
    if( r<0 ){
      sqlite3_result_error(ctx, "interrupted", -1);
      sqlite3_result_error_code(ctx, SQLITE_INTERRUPT);
      return;
    }
    rc = r ? REG_OK : REG_NOTFOUND;
  }
  sqlite3_result_int(ctx, rc==REG_OK);
}

/* ----------------------------------------------------- who am I */

static void funcBackendPid(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  (void)argc; (void)argv;
  sqlite3_result_int64(ctx, funcSession(ctx)->pid);
}

static void funcSessionId(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  char zId[33];
  (void)argc; (void)argv;
  idsFormatId(funcSession(ctx)->iSerial, zId);
  sqlite3_result_text(ctx, zId, -1, SQLITE_TRANSIENT);
}

/* A user or application name: text, 1..FUNC_MAX_NAME bytes (application
** names may be empty). */
static const char *funcNameArg(sqlite3_context *ctx, int argc, sqlite3_value **argv,
                               const char *zFunc, int bAllowEmpty){
  Args a = { ctx, zFunc, argc, argv };
  const char *z = 0;
  int n;
  if( !argText(&a, 0, "name", 0, &z) ) return 0;
  n = (int)strlen(z);
  if( (n==0 && !bAllowEmpty) || n>FUNC_MAX_NAME ){
    argErrorOwned(ctx, sqlite3_mprintf("%s: name must be %d to %d bytes of text "
                        "without NUL", zFunc, bAllowEmpty ? 0 : 1, FUNC_MAX_NAME));
    return 0;
  }
  return z;
}

static void funcSetSessionUser(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  CancelSession *s = funcSession(ctx);
  Args a = { ctx, "set_session_user", argc, argv };
  const char *zName;
  int bAdmin = 0, rc;
  if( !funcCalledDirectly(ctx, "set_session_user") ) return;
  if( (zName = funcNameArg(ctx, argc, argv, "set_session_user", 0))==0
   || !argFlag(&a, 1, "admin", &bAdmin) ) return;
  rc = registrySetUser(s, zName, bAdmin);
  if( rc==REG_DENIED ){
    sqlite3_result_error(ctx, "permission denied to set session user: "
                              "only an admin session may", -1);
  }else if( rc==REG_NOMEM ){
    sqlite3_result_error_nomem(ctx);
  }else{
    sqlite3_result_text(ctx, zName, -1, SQLITE_TRANSIENT);
  }
}

static void funcSetApplicationName(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  const char *zName;
  if( !funcCalledDirectly(ctx, "set_application_name") ) return;
  if( (zName = funcNameArg(ctx, argc, argv, "set_application_name", 1))==0 ) return;
  if( registrySetAppName(funcSession(ctx), zName)!=REG_OK ){
    sqlite3_result_error_nomem(ctx);
  }else{
    sqlite3_result_text(ctx, zName, -1, SQLITE_TRANSIENT);
  }
}

static void funcSetBusyTimeout(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  Args a = { ctx, "set_busy_timeout", argc, argv };
  i64 ms = 0;
  if( !funcCalledDirectly(ctx, "set_busy_timeout") ) return;
  if( !argInt(&a, 0, "ms", 0, FUNC_MAX_WAIT, &ms) ) return;
  funcSession(ctx)->busyTimeoutMs = (int)ms;
  sqlite3_result_int64(ctx, ms);
}

/* ------------------------------------------------------- timeouts */

static void funcSetStatementTimeout(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  Args a = { ctx, "set_statement_timeout", argc, argv };
  i64 ms = 0;
  if( !funcCalledDirectly(ctx, "set_statement_timeout") ) return;
  if( !argInt(&a, 0, "ms", 0, FUNC_MAX_TIMEOUT, &ms) ) return;
  /* from the next statement on: this one is running already */
  atomic_store(&funcSession(ctx)->stmtTimeoutMs, (int)ms);
  hooksApplyMode(funcSession(ctx));
  sqlite3_result_int(ctx, (int)ms);
}

static void funcSetIdleTimeout(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  Args a = { ctx, "set_idle_in_transaction_session_timeout", argc, argv };
  i64 ms = 0;
  if( !funcCalledDirectly(ctx, "set_idle_in_transaction_session_timeout") ) return;
  if( !argInt(&a, 0, "ms", 0, FUNC_MAX_TIMEOUT, &ms) ) return;
  hooksIdleLimitSet(funcSession(ctx), 0, (int)ms);
  sqlite3_result_int(ctx, (int)ms);
}

static void funcSetIdleBlockerTimeout(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  Args a = { ctx, "set_idle_blocker_timeout", argc, argv };
  i64 ms = 0;
  if( !funcCalledDirectly(ctx, "set_idle_blocker_timeout") ) return;
  if( !argInt(&a, 0, "ms", 0, FUNC_MAX_TIMEOUT, &ms) ) return;
  hooksIdleLimitSet(funcSession(ctx), 1, (int)ms);
  sqlite3_result_int(ctx, (int)ms);
}

static void funcSetTransactionTimeout(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  Args a = { ctx, "set_transaction_timeout", argc, argv };
  i64 ms = 0;
  if( !funcCalledDirectly(ctx, "set_transaction_timeout") ) return;
  if( !argInt(&a, 0, "ms", 0, FUNC_MAX_TIMEOUT, &ms) ) return;
  hooksXactTimeoutSet(funcSession(ctx), (int)ms);
  sqlite3_result_int(ctx, (int)ms);
}

/* ---------------------------------------------------- who blocks whom */

static void funcBlocking(sqlite3_context *ctx, int bSessionIds, i64 pid,
                         const char *zId, const char *zWhat){
  int bFound = 0;
  char *z = blockersOf(funcSession(ctx), pid, zId, bSessionIds, &bFound);
  if( z==0 && bFound ){
    sqlite3_result_error_nomem(ctx);
    return;
  }
  if( z==0 ){
    argError(ctx, "%s not found", zWhat);
    return;
  }
  sqlite3_result_text(ctx, z, -1, sqlite3_free);
  sqlite3_result_subtype(ctx, 'J');   /* JSON, for json_each() */
}

static void funcBlockingSessions(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  Args a = { ctx, "blocking_sessions", argc, argv };
  const char *zId = 0;
  char zWhat[64];
  if( !argText(&a, 0, "session ID", 0, &zId) || !argIdShape(ctx, zId, "session ID") ) return;
  snprintf(zWhat, sizeof(zWhat), "session ID %s", zId);
  funcBlocking(ctx, 1, 0, zId, zWhat);
}

static void funcPgBlockingPids(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  Args a = { ctx, "pg_blocking_pids", argc, argv };
  i64 pid = 0;
  char zWhat[40];
  if( !argInt(&a, 0, "pid", 1, FUNC_MAX_PID, &pid) ) return;
  snprintf(zWhat, sizeof(zWhat), "backend %lld", (long long)pid);
  funcBlocking(ctx, 0, pid, 0, zWhat);
}

/* ------------------------------------------------------- registry */

/* cancel_registry(): where the cross-process registry of the caller's
** database is and whether it is in use ('shared: FILE', 'not shared:
** FILE: why', 'off'). */
static void funcCancelRegistry(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  char *z = registrySharedStatus(funcSession(ctx));
  (void)argc; (void)argv;
  if( z==0 ){ sqlite3_result_error_nomem(ctx); return; }
  sqlite3_result_text(ctx, z, -1, sqlite3_free);
}

/* cancel_watch(path): act on the sessions and jobs of database `path`
** through its registry file, never opening the database (so its locks
** cannot get in the way); cancel_watch(NULL) or cancel_watch('') goes
** back to the caller's own database. Returns what cancel_registry()
** then says. */
static void funcCancelWatch(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  CancelSession *s = funcSession(ctx);
  Args a = { ctx, "cancel_watch", argc, argv };
  const char *zDb = 0;
  char *zErr = 0;
  int rc;
  if( !funcCalledDirectly(ctx, "cancel_watch") ) return;
  if( !argText(&a, 0, "the database file name", ARG_NULLOK, &zDb) ) return;
  rc = registryWatch(s, zDb, &zErr);
  if( rc!=REG_OK ){
    if( zErr ) sqlite3_result_error(ctx, zErr, -1);
    else sqlite3_result_error_nomem(ctx);
    sqlite3_free(zErr);
    return;
  }
  funcCancelRegistry(ctx, 0, 0);
}

/* -------------------------------------------------- cancel_reason */

/* Why this session's last stopped statement was stopped, or why the
** session was terminated; NULL if nothing stopped it. Runs on a
** terminated session too (hooks.c lets exactly this statement through). */
static void funcCancelReason(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  CancelSession *s = funcSession(ctx);
  int bSome;
  char *z;
  (void)argc; (void)argv;
  pthread_mutex_lock(&s->mu);
  bSome = s->zReason[0]!=0 || s->stopReasonDue;
  pthread_mutex_unlock(&s->mu);
  if( !bSome ) return;                  /* NULL */
  z = registryReason(s);
  if( z==0 ){ sqlite3_result_error_nomem(ctx); return; }
  sqlite3_result_text(ctx, z, -1, sqlite3_free);
}

/* ------------------------------------------------------ registration */

static const FuncDef aFunc[] = {
  { "cancel_query",            1, 2, funcCancelQuery },
  { "cancel_session",          1, 2, funcCancelSession },
  { "cancel_sessions",         1, 2, funcCancelSessions },
  { "pg_cancel_backend",       1, 1, funcPgCancelBackend },
  { "pg_terminate_backend",    1, 2, funcPgTerminateBackend },
  { "pg_backend_pid",          0, 0, funcBackendPid },
  { "session_id",              0, 0, funcSessionId },
  { "set_session_user",        1, 2, funcSetSessionUser },
  { "set_application_name",    1, 1, funcSetApplicationName },
  { "set_busy_timeout",        1, 1, funcSetBusyTimeout },
  { "set_statement_timeout",   1, 1, funcSetStatementTimeout },
  { "set_idle_in_transaction_session_timeout", 1, 1, funcSetIdleTimeout },
  { "set_idle_blocker_timeout", 1, 1, funcSetIdleBlockerTimeout },
  { "set_transaction_timeout",  1, 1, funcSetTransactionTimeout },
  { "blocking_sessions",       1, 1, funcBlockingSessions },
  { "pg_blocking_pids",        1, 1, funcPgBlockingPids },
  { "cancel_registry",         0, 0, funcCancelRegistry },
  { "cancel_watch",            1, 1, funcCancelWatch },
  { "cancel_reason",           0, 0, funcCancelReason },
};

/* No destructor and no reference per function: a destructor costs SQLite
** an allocation per registration and a call at close, a third of what
** the extension adds to opening a connection. The session outlives its
** functions because the connection's anchor (cancel.c: client data, or
** a collation) holds it until sqlite3_close. */
int functionsRegisterList(sqlite3 *db, CancelSession *s, const FuncDef *a, int nFunc){
  int i, n, rc = SQLITE_OK;
  for(i=0; rc==SQLITE_OK && i<nFunc; i++){
    for(n=a[i].nMinArg; rc==SQLITE_OK && n<=a[i].nMaxArg; n++){
      rc = sqlite3_create_function_v2(db, a[i].zName, n,
              SQLITE_UTF8|SQLITE_DIRECTONLY, s, a[i].xFunc, 0, 0, 0);
    }
  }
  return rc;
}

static void funcVersion(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  (void)argc; (void)argv;
  sqlite3_result_text(ctx, CANCEL_VERSION, -1, SQLITE_STATIC);
}

int functionsRegister(sqlite3 *db, CancelSession *s){
  /* cancel_version() only reads a constant: usable anywhere */
  int rc = sqlite3_create_function(db, "cancel_version", 0,
               SQLITE_UTF8|SQLITE_DETERMINISTIC|SQLITE_INNOCUOUS, 0, funcVersion, 0, 0);
  if( rc!=SQLITE_OK ) return rc;
  return functionsRegisterList(db, s, aFunc, (int)(sizeof(aFunc)/sizeof(aFunc[0])));
}
