/*
** cancel.c: the entry point of the `cancel` extension.
**
**   sqlite3 shell:  .load ./cancel
**   C:              sqlite3_load_extension(db, "./cancel", 0, &zErr);
**                   or sqlite3_auto_extension((void(*)(void))sqlite3_cancel_init);
**
** Loading makes the connection a session: it is enrolled in the registry,
** the hooks are installed on it, and the SQL functions and the `sessions`
** table are registered with the session as their user data. The tables
** and one anchor (cancelRegisterAnchor) hold a reference on the session;
** the destructors that SQLite runs when the connection closes drop them,
** and the last one takes the session out of the registry. Loading twice
** is a no-op.
*/
#include "registry.h"
#include "snapshot.h"
#include "jobkinds.h"
#include "hooks.h"
#include "functions.h"
#include "sessions.h"
#include "cancellog.h"
#include "jobs.h"
#include "jobtable.h"
#include "logtable.h"
#include "lockstable.h"
#include "jobfunctions.h"
#include "associated.h"
#include "cancel.h"
#include "shared.h"
#include "hostapi.h"
#include "vtab.h"
SQLITE_EXTENSION_INIT1

#include "port.h"
#include <string.h>

#define CANCEL_MIN_SQLITE 3040001

/* The reaper thread (registry.c) and sqlite3_auto_extension() keep
** pointers into this library after the connection that loaded it has
** closed: make sure it is never unloaded. */
static void cancelPinOnce(void){
  portPinLibrary((void*)cancelPinOnce);
}
static void cancelPinLibrary(void){
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, cancelPinOnce);
}


/* SQLITE_EXTENSION_INIT2, once per process: connections may load the
** extension on several threads at once, and a plain assignment of the
** (identical) routine table would be a data race. */
#ifndef SQLITE_CORE
static void cancelSetApi(const sqlite3_api_routines *pApi){
  static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  static int bSet = 0;
  pthread_mutex_lock(&mu);
  if( !bSet ){
    sqlite3_api = pApi;
    bSet = 1;
  }
  pthread_mutex_unlock(&mu);
}
#else
# define cancelSetApi(X) (void)(X)
#endif

/* ---- wiring: the calls that would run up the layers, set once here ----
** The registry file's agent thread (shagent.c) hands requests from other
** processes to these servers: sessions to terminate.c, jobs to jobs.c;
** the cancel-log ring in the file (shlog.c) follows cancellog.c's rules
** on outcomes. The jobs layer hears of closed sessions, the agent thread
** looks for forgotten cursors once a second (snapshot.c), and a built-in
** job makes its own connection a session through the entry point below.
** Set before the first session is enrolled (which is when a registry
** file is first attached and its agent started). */
static CancelSession *cancelEnrolJob(sqlite3 *db);
static int cancelCreateTempTables(sqlite3 *db, CancelSession *s);
static void cancelWireOnce(void){
  static const SharedServers servers = {
    terminateServeRemote, jobsServeRemote, jobsServeReport,
    cancelLogTransient, LOG_GONE
  };
  shagentSetServers(&servers);
  registryOnClose(jobsSessionClosed);
  shagentSetTick(snapshotProbeTick);
  jobkindSetEnrol(cancelEnrolJob);
  vtabSetFirstUse(cancelCreateTempTables);
}
static void cancelWire(void){
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, cancelWireOnce);
}
/* ---- end of wiring ---- */

/* The busy timeout the application set before loading, if any. */
static int cancelReadBusyTimeout(sqlite3 *db){
  sqlite3_stmt *pStmt = 0;
  int ms = 0;
  if( sqlite3_prepare_v2(db, "PRAGMA busy_timeout", -1, &pStmt, 0)==SQLITE_OK
   && sqlite3_step(pStmt)==SQLITE_ROW ){
    ms = sqlite3_column_int(pStmt, 0);
  }
  sqlite3_finalize(pStmt);
  return ms;
}

/*
** The modules are eponymous (main.sessions, main.jobs), but `sessions`
** and `jobs` are also created in the connection's private TEMP schema,
** which SQLite searches first. Why: DELETE or UPDATE on a table takes the
** write lock of the table's database, and the main database's write lock
** is exactly what a session that must be terminated may be holding. A
** TEMP table needs only the connection's own TEMP lock.
**
** Not at load: creating them costs more than all the rest of opening a
** connection, and most connections never name these tables. They are
** created the first time a statement names `sessions` or `jobs` (vtab.c
** calls this when the eponymous table is first connected, during that
** statement's prepare, and SQLite then prepares the statement again: it
** finds the TEMP table; before SQLite 3.52, which cannot prepare again
** from there, that first statement runs on the eponymous table, and the
** next ones on the TEMP table). By then SQLite has read the main schema, so the
** creation needs only the TEMP lock, even while the database is locked.
** Changing the TEMP schema expires the connection's other prepared
** statements: each is prepared again at its next step, by SQLite. If the
** creation fails (PRAGMA query_only, say), the eponymous tables serve,
** and a DELETE on them needs the write lock. Returns 1 if it created
** them now.
**
** These statements run at the top level (a prepare is not an execution),
** so the trace would list them as the session's own: marked internal,
** no cancel, statement timeout or progress handler of the application
** acts on them (a statement timeout made the application's prepare fail
** with "interrupted" where the creation was slow: test/stress.c on a
** SQLite without a progress handler, under TSan).
*/
static int cancelCreateTempTables(sqlite3 *db, CancelSession *s){
  sqlite3_stmt *pStmt = 0;
  int nHave = 0, rc;
  int wasInternal = s ? s->inInternal : 0;
  if( s ) s->inInternal = 1;
  if( sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_temp_master "
                         "WHERE type='table' AND name IN ('sessions','jobs')",
                         -1, &pStmt, 0)==SQLITE_OK
   && sqlite3_step(pStmt)==SQLITE_ROW ){
    nHave = sqlite3_column_int(pStmt, 0);
  }
  sqlite3_finalize(pStmt);
  if( nHave==2 ){
    rc = 0;
  }else if( sqlite3_exec(db, "CREATE VIRTUAL TABLE IF NOT EXISTS temp.sessions USING sessions;"
                       "CREATE VIRTUAL TABLE IF NOT EXISTS temp.jobs USING jobs;",
                   0, 0, 0)!=SQLITE_OK ){
    /* Leave no error behind (an empty exec clears the connection's
    ** error state): the statement being prepared reports its own. */
    sqlite3_exec(db, "", 0, 0, 0);
    rc = 0;
  }else{
    rc = 1;
  }
  if( s ) s->inInternal = wasInternal;
  return rc;
}

/*
** The session's anchor: one registration whose destructor runs only when
** the connection closes, holding a reference on the session until then.
** The SQL functions hold none (functions.c): their user data stays valid
** because the anchor does. SQLite 3.44 added sqlite3_set_clientdata(),
** made for this; used when built with 3.44+ headers and loaded into a
** 3.44+ SQLite (a runtime check: the routine table of an older SQLite
** has no such entry). Before 3.44, a collation under a name no SQL would
** use ("cancel.session") is the anchor: SQLite destroys collations only
** at close, or when the application registers one under the same name.
*/
static void cancelAnchorDestroy(void *p){
  registryUnref((CancelSession*)p);
}

static int cancelAnchorCmp(void *p, int n1, const void *z1, int n2, const void *z2){
  int c = memcmp(z1, z2, n1<n2 ? n1 : n2);
  (void)p;
  return c ? c : n1-n2;
}

static int cancelRegisterAnchor(sqlite3 *db, CancelSession *s){
  int rc;
  registryRef(s);
#if SQLITE_VERSION_NUMBER>=3044000
  if( sqlite3_libversion_number()>=3044000 ){
    rc = sqlite3_set_clientdata(db, "cancel.session", s, cancelAnchorDestroy);
    if( rc!=SQLITE_OK ) registryUnref(s);   /* (SQLite did not call it) */
    return rc==SQLITE_OK ? SQLITE_OK : SQLITE_NOMEM;
  }
#endif
  /* (on failure SQLite does not call the destructor) */
  rc = sqlite3_create_collation_v2(db, "cancel.session", SQLITE_UTF8, s,
                                   cancelAnchorCmp, cancelAnchorDestroy);
  if( rc!=SQLITE_OK ) registryUnref(s);
  return rc;
}

/*
** Before anything else: refuse to load into a SQLite too old, or whose
** routine table lacks an entry the extension calls (ext/hostapi.h).
** SQLite built with SQLITE_OMIT_PROGRESS_CALLBACK, for one, leaves
** progress_handler NULL, and calling it would crash the host. Only pApi
** is read here (the global table pointer is set after), and only the
** entries that the loaded SQLite's version has: an older table is
** shorter.
*/
#define sqlite3_api pApi      /* sqlite3_xxx reads pApi->xxx below */
typedef struct CancelApiEntry CancelApiEntry;
struct CancelApiEntry {
  const char *zName;          /* "sqlite3_progress_handler" */
  int iMinVersion;            /* checked only from this version on */
  const char *zOmit;          /* the compile option that removes it */
  void (*xEntry)(void);       /* the table's entry, 0 if missing */
};
#ifndef SQLITE_CORE
# define CANCEL_API_ENTRY(N, V, H) \
  { "sqlite3_" #N, V, H, iVersion>=V ? (void(*)(void))sqlite3_##N : 0 },
#endif

static int cancelCheckApi(const sqlite3_api_routines *pApi, char **pzErrMsg){
  int iVersion;
  char *zMissing = 0;
#ifndef SQLITE_CORE
  int i;
  /* Without these, no message can be made: just refuse. */
  if( pApi==0 || pApi->mprintf==0 || pApi->free==0 ) return SQLITE_ERROR;
  iVersion = sqlite3_libversion_number ? sqlite3_libversion_number() : 0;
#else
  (void)pApi;
  iVersion = sqlite3_libversion_number();
#endif
  if( iVersion && iVersion<CANCEL_MIN_SQLITE ){
    if( pzErrMsg ){
      *pzErrMsg = sqlite3_mprintf("cancel needs SQLite 3.40.1 or newer; "
                                  "this is %s", sqlite3_libversion());
    }
    return SQLITE_ERROR;
  }
#ifndef SQLITE_CORE
  {
    const CancelApiEntry aEntry[] = { CANCEL_API_LIST(CANCEL_API_ENTRY) };
    for(i=0; i<(int)(sizeof(aEntry)/sizeof(aEntry[0])); i++){
      const CancelApiEntry *p = &aEntry[i];
      char *z;
      if( p->xEntry || iVersion<p->iMinVersion ) continue;
      if( strcmp(p->zName, "sqlite3_progress_handler")==0 ){
        /* The one entry it can do without (doc/hooks.md): cancels then go
        ** by sqlite3_interrupt, statement timeouts by the reaper, as
        ** when an application takes the progress handler. */
        continue;
      }
      z = sqlite3_mprintf("%s%s%s%s%s%s", zMissing ? zMissing : "",
                          zMissing ? ", " : "", p->zName,
                          p->zOmit ? " (built with " : "",
                          p->zOmit ? p->zOmit : "", p->zOmit ? "?)" : "");
      sqlite3_free(zMissing);
      if( z==0 ) return SQLITE_NOMEM;
      zMissing = z;
    }
  }
#endif
  if( zMissing ){
    if( pzErrMsg ){
      *pzErrMsg = sqlite3_mprintf("cancel: this SQLite lacks %s: "
                                  "the extension cannot load", zMissing);
    }
    sqlite3_free(zMissing);
    return SQLITE_ERROR;
  }
  return SQLITE_OK;
}
#undef sqlite3_api

#ifdef _WIN32
__declspec(dllexport)
#endif
int sqlite3_cancel_init(sqlite3 *db, char **pzErrMsg,
                        const sqlite3_api_routines *pApi){
  CancelSession *s;
  int rc;
  rc = cancelCheckApi(pApi, pzErrMsg);
  if( rc!=SQLITE_OK ) return rc;
  cancelSetApi(pApi);
#ifndef SQLITE_CORE
  /* For the sessions enrolled now. (The table the extension calls
  ** through is the first one it was given: a process has one SQLite.) */
  hooksSetNoProgressApi(sqlite3_api->progress_handler==0);
#endif
  cancelPinLibrary();
  cancelWire();
  if( registryFind(db) ) return SQLITE_OK;

  s = registryEnrol(db);        /* with a reference, ours until the
                                ** registrations are done */
  if( s==0 ) return SQLITE_NOMEM;
  s->busyTimeoutMs = cancelReadBusyTimeout(db);
  rc = cancelRegisterAnchor(db, s);
  if( rc==SQLITE_OK ) rc = functionsRegister(db, s);
  if( rc==SQLITE_OK ) rc = sessionsRegister(db, s);
  if( rc==SQLITE_OK ) rc = logtableRegister(db, s);
  if( rc==SQLITE_OK ) rc = lockstableRegister(db, s);
  if( rc==SQLITE_OK ) rc = jobtableRegister(db, s);
  if( rc==SQLITE_OK ) rc = jobFunctionsRegister(db, s);
  if( rc==SQLITE_OK ) rc = associatedRegister(db, s);
  hooksInstall(s);    /* last: the set-up above is not the session's query */
  if( rc!=SQLITE_OK ){
    if( pzErrMsg ){
      *pzErrMsg = sqlite3_mprintf("cancel: cannot register: %s", sqlite3_errmsg(db));
    }
    hooksRemove(s);   /* the session may be freed just below */
  }
  registryUnref(s);
  return rc;
}

/* A built-in job's own connection (jobkinds.c): load the extension on
** it as an application would, and hand back its session. */
static CancelSession *cancelEnrolJob(sqlite3 *db){
#ifdef SQLITE_CORE
  const sqlite3_api_routines *pApi = 0;
#else
  const sqlite3_api_routines *pApi = sqlite3_api;
#endif
  if( sqlite3_cancel_init(db, 0, pApi)!=SQLITE_OK ) return 0;
  return registryFind(db);
}

/* ------------------------------------------------------------ C API */

/*
** Every call looks its db up in the registry by pointer value and never
** reads through it: NULL, a connection without the extension, or one
** already closed is simply not found (SQLITE_MISUSE). The ranges are the
** SQL functions' (functions.c), so C and SQL accept the same values.
*/
#define CANCEL_MAX_BUSY_TIMEOUT_MS 86400000   /* set_busy_timeout's limit */

int cancel_set_client_address(sqlite3 *db, const char *zAddr){
  CancelSession *s = registryFind(db);
  if( s==0 ) return SQLITE_MISUSE;
  return registrySetClientAddr(s, zAddr)==REG_OK ? SQLITE_OK : SQLITE_NOMEM;
}

int cancel_set_progress_handler(sqlite3 *db, int (*xProgress)(void*), void *pArg){
  CancelSession *s = registryFind(db);
  if( s==0 ) return SQLITE_MISUSE;
  hooksSetAppProgress(s, xProgress, pArg);
  return SQLITE_OK;
}

int cancel_set_busy_handler(sqlite3 *db, int (*xBusy)(void*, int), void *pArg){
  CancelSession *s = registryFind(db);
  if( s==0 ) return SQLITE_MISUSE;
  hooksSetAppBusy(s, xBusy, pArg);
  return SQLITE_OK;
}

int cancel_set_busy_timeout(sqlite3 *db, int ms){
  CancelSession *s = registryFind(db);
  if( s==0 ) return SQLITE_MISUSE;
  if( ms<0 || ms>CANCEL_MAX_BUSY_TIMEOUT_MS ) return SQLITE_RANGE;
  s->busyTimeoutMs = ms;
  return SQLITE_OK;
}

/* (Timeouts: 0..2147483647 in SQL, which is every int from 0 up.) */
int cancel_set_statement_timeout(sqlite3 *db, int ms){
  CancelSession *s = registryFind(db);
  if( s==0 ) return SQLITE_MISUSE;
  if( ms<0 ) return SQLITE_RANGE;
  atomic_store(&s->stmtTimeoutMs, ms);
  hooksApplyMode(s);
  return SQLITE_OK;
}

int cancel_set_idle_in_transaction_session_timeout(sqlite3 *db, int ms){
  CancelSession *s = registryFind(db);
  if( s==0 ) return SQLITE_MISUSE;
  if( ms<0 ) return SQLITE_RANGE;
  hooksIdleLimitSet(s, 0, ms);
  return SQLITE_OK;
}

int cancel_set_idle_blocker_timeout(sqlite3 *db, int ms){
  CancelSession *s = registryFind(db);
  if( s==0 ) return SQLITE_MISUSE;
  if( ms<0 ) return SQLITE_RANGE;
  hooksIdleLimitSet(s, 1, ms);
  return SQLITE_OK;
}

int cancel_set_transaction_timeout(sqlite3 *db, int ms){
  CancelSession *s = registryFind(db);
  if( s==0 ) return SQLITE_MISUSE;
  if( ms<0 ) return SQLITE_RANGE;
  hooksXactTimeoutSet(s, ms);
  return SQLITE_OK;
}

char *cancel_reason(sqlite3 *db){
  CancelSession *s = registryFind(db);
  if( s==0 ) return 0;
  return registryReason(s);
}

void cancel_set_shared(int bOn){
  sharedSetDefault(bOn);
}

int cancel_set_default_statement_timeout(int ms){
  if( ms<0 ) return SQLITE_RANGE;
  atomic_store(&registryDefaultStmtTimeoutMs, ms);
  return SQLITE_OK;
}

int cancel_set_default_idle_in_transaction_session_timeout(int ms){
  if( ms<0 ) return SQLITE_RANGE;
  atomic_store(&registryDefaultIdleTimeoutMs, ms);
  return SQLITE_OK;
}

int cancel_set_default_transaction_timeout(int ms){
  if( ms<0 ) return SQLITE_RANGE;
  atomic_store(&registryDefaultXactTimeoutMs, ms);
  return SQLITE_OK;
}

int cancel_set_default_idle_blocker_timeout(int ms){
  if( ms<0 ) return SQLITE_RANGE;
  atomic_store(&registryDefaultIdleBlockerMs, ms);
  return SQLITE_OK;
}

/* ------------------------------------------------- application jobs */

int cancel_job_begin(sqlite3 *db, const char *zType, const char *zDesc,
                     sqlite3_int64 *pJobId){
  CancelSession *s = registryFind(db);
  CancelJob *p;
  if( s==0 || zType==0 || zType[0]==0 || pJobId==0 ) return SQLITE_MISUSE;
  p = jobCreate(s, zType, zDesc ? zDesc : "", 0);
  if( p==0 ) return SQLITE_NOMEM;
  *pJobId = p->id;
  jobRelease(p);
  return SQLITE_OK;
}

/* The job, if db's session may report on it (*pRc SQLITE_OK): an
** application job of this process that db's session runs, or any
** application job of this process for an admin session, as job_progress()
** and job_end() allow in SQL. Otherwise NULL and *pRc says why. */
static CancelJob *cancelOwnJob(sqlite3 *db, sqlite3_int64 id, int *pRc){
  CancelSession *s = registryFind(db);
  CancelJob *p;
  if( s==0 ){ *pRc = SQLITE_MISUSE; return 0; }
  if( (p = jobFind(id))==0 ){ *pRc = SQLITE_NOTFOUND; return 0; }
  if( p->bBuiltin || p->iCoordinator!=s->iSerial ){
    char *zUser = 0;
    int isAdmin = 0;
    if( !p->bBuiltin ){
      registryCaller(s, &zUser, &isAdmin);
      sqlite3_free(zUser);
    }
    if( !isAdmin ){
      jobRelease(p);
      *pRc = SQLITE_PERM;
      return 0;
    }
  }
  *pRc = SQLITE_OK;
  return p;
}

/* Once a cancel was accepted the job is cancel-requested, then reverting
** (or paused while reverting, which jobCheckpoint waits out): from then on
** every report says stop. */
static int cancelJobCancelling(CancelJob *p){
  int e = jobGetStatus(p);
  return e==JOB_CANCEL_REQUESTED || e==JOB_REVERTING;
}

int cancel_job_progress(sqlite3 *db, sqlite3_int64 id, double fraction,
                        const char *zRunningStatus){
  CancelJob *p;
  int rc;
  if( registryFind(db)==0 ) return SQLITE_MISUSE;
  if( !(fraction>=0.0 && fraction<=1.0) ) return SQLITE_RANGE;
  if( (p = cancelOwnJob(db, id, &rc))==0 ) return rc;
  if( jobIsFinished(jobGetStatus(p)) ){
    rc = SQLITE_MISUSE;
  }else if( jobCheckpoint(p)==JOB_CANCEL   /* blocks while paused */
         || cancelJobCancelling(p) ){
    jobReverting(p);
    rc = SQLITE_INTERRUPT;
  }else{
    jobProgress(p, fraction, zRunningStatus);
  }
  jobRelease(p);
  return rc;
}

int cancel_job_end(sqlite3 *db, sqlite3_int64 id, const char *zError){
  int rc;
  CancelJob *p = cancelOwnJob(db, id, &rc);
  if( p==0 ) return rc;
  if( jobIsFinished(jobGetStatus(p)) ) rc = SQLITE_MISUSE;
  else jobFinish(p, zError);
  jobRelease(p);
  return rc;
}
