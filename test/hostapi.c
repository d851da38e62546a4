/*
** hostapi.c: loading never crashes a host whose SQLite lacks an entry of
** the routine table that the extension calls (SQLite built with
** SQLITE_OMIT_PROGRESS_CALLBACK leaves progress_handler NULL, and so on).
**
** The extension is compiled in; its entry point is called directly with a
** copy of this SQLite's routine table in which the entries of
** ext/hostapi.h are taken away, one at a time and all at once. Each load
** must fail with the error that names them, and leave the connection as
** it was; except progress_handler alone, without which the extension
** loads and works (in a child process: a process keeps the first table
** it loads with); the whole table must then load.
**
**   test/hostapi            prints "N passed, N failed"
*/
#define SQLITE_CORE 1      /* sqlite3ext.h for its struct only: the host
                           ** calls SQLite directly */
#include <sqlite3ext.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "hostapi.h"

int sqlite3_cancel_init(sqlite3*, char**, const sqlite3_api_routines*);

static int nPass = 0;
static int nFail = 0;
#define CHECK(cond, ...) do{ if( cond ){ nPass++; }else{ nFail++; \
  fprintf(stderr, "hostapi: FAIL line %d: ", __LINE__); \
  fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } }while(0)

typedef struct Entry Entry;
struct Entry { const char *zName; int iMin; const char *zOmit; void (*x)(void); };
#define ENTRY(N, V, H) { "sqlite3_" #N, V, H, (void(*)(void))sqlite3_##N },
static const Entry aEntry[] = { CANCEL_API_LIST(ENTRY) };
#define N_ENTRY ((int)(sizeof(aEntry)/sizeof(aEntry[0])))

/* This SQLite's own table, as SQLite hands it to an extension. */
static const sqlite3_api_routines *pReal = 0;
static int grabApi(sqlite3 *db, char **pz, const sqlite3_api_routines *p){
  (void)db; (void)pz;
  pReal = p;
  return SQLITE_OK;
}

/* Takes the entry holding function x out of the table: returns how many
** slots held it. */
static int takeAway(sqlite3_api_routines *pT, void (*x)(void)){
  void (**a)(void) = (void(**)(void))pT;
  int i, n = 0;
  for(i=0; i<(int)(sizeof(*pT)/sizeof(a[0])); i++){
    if( a[i]==x ){ a[i] = 0; n++; }
  }
  return n;
}

static char *expected(const Entry *p){
  return sqlite3_mprintf("%s%s%s%s", p->zName, p->zOmit ? " (built with " : "",
                         p->zOmit ? p->zOmit : "", p->zOmit ? "?)" : "");
}

static int nSessions(sqlite3 *db){
  sqlite3_stmt *pStmt = 0;
  int n = -1;
  if( sqlite3_prepare_v2(db, "SELECT count(*) FROM sessions", -1, &pStmt, 0)==SQLITE_OK
   && sqlite3_step(pStmt)==SQLITE_ROW ){
    n = sqlite3_column_int(pStmt, 0);
  }
  sqlite3_finalize(pStmt);
  return n;
}

int main(void){
  sqlite3 *db = 0;
  sqlite3_api_routines t;
  char *zErr;
  char *zWant;
  int i, rc;

  sqlite3_auto_extension((void(*)(void))grabApi);
  sqlite3_open(":memory:", &db);
  sqlite3_cancel_auto_extension((void(*)(void))grabApi);
  if( pReal==0 ){ fprintf(stderr, "hostapi: no routine table\n"); return 1; }

  /* 1: each entry taken away alone. Without mprintf or free no message
  ** can be made: the load fails without one. */
  for(i=0; i<N_ENTRY; i++){
    const Entry *p = &aEntry[i];
    if( sqlite3_libversion_number()<p->iMin ) continue;
    if( p->x==(void(*)(void))sqlite3_progress_handler ) continue;   /* (3) */
    memcpy(&t, pReal, sizeof(t));
    CHECK( takeAway(&t, p->x)>=1, "%s: not found in the routine table", p->zName );
    zErr = 0;
    rc = sqlite3_cancel_init(db, &zErr, &t);
    if( p->x==(void(*)(void))sqlite3_mprintf || p->x==(void(*)(void))sqlite3_free ){
      CHECK( rc==SQLITE_ERROR && zErr==0, "%s: rc=%d err=%s", p->zName, rc, zErr );
    }else{
      char *zInner = expected(p);
      zWant = sqlite3_mprintf("cancel: this SQLite lacks %s: the extension cannot load", zInner);
      CHECK( rc==SQLITE_ERROR && zErr && strcmp(zErr, zWant)==0,
             "%s: rc=%d\n  got:  %s\n  want: %s", p->zName, rc, zErr, zWant );
      sqlite3_free(zInner);
      sqlite3_free(zWant);
    }
    sqlite3_free(zErr);
  }
  CHECK( nSessions(db)==-1, "a refused load registered the sessions table" );

  /* 2: all the optional ones at once (every option is named, in the
  ** list's order). */
  memcpy(&t, pReal, sizeof(t));
  zWant = 0;
  for(i=0; i<N_ENTRY; i++){
    if( aEntry[i].zOmit==0 || sqlite3_libversion_number()<aEntry[i].iMin ) continue;
    takeAway(&t, aEntry[i].x);
    if( aEntry[i].x==(void(*)(void))sqlite3_progress_handler ) continue;  /* not named */
    zWant = sqlite3_mprintf("%z%s%z", zWant, zWant ? ", " : "", expected(&aEntry[i]));
  }
  zWant = sqlite3_mprintf("cancel: this SQLite lacks %z: the extension cannot load", zWant);
  zErr = 0;
  rc = sqlite3_cancel_init(db, &zErr, &t);
  CHECK( rc==SQLITE_ERROR && zErr && strcmp(zErr, zWant)==0,
         "all optional: rc=%d\n  got:  %s\n  want: %s", rc, zErr, zWant );
  printf("%s\n", zErr ? zErr : "(no message)");
  sqlite3_free(zErr);
  sqlite3_free(zWant);

  /* 3: better-sqlite3's build: progress_handler alone is missing. The
  ** one entry the extension does without (doc/hooks.md): it loads, on
  ** another connection, and says so in `sessions`. In a child process:
  ** the first table a process loads the extension with is the one it
  ** keeps calling through. */
  fflush(stdout);
  pid_t child = fork();
  if( child==0 ){
    sqlite3 *db2 = 0;
    char *zHooks = 0;
    sqlite3_stmt *pStmt = 0;
    nFail = 0;
    memcpy(&t, pReal, sizeof(t));
    takeAway(&t, (void(*)(void))sqlite3_progress_handler);
    sqlite3_open(":memory:", &db2);
    zErr = 0;
    rc = sqlite3_cancel_init(db2, &zErr, &t);
    CHECK( rc==SQLITE_OK && zErr==0, "without progress_handler: rc=%d %s", rc, zErr );
    sqlite3_free(zErr);
    if( sqlite3_prepare_v2(db2, "SELECT hooks FROM sessions", -1, &pStmt, 0)==SQLITE_OK
     && sqlite3_step(pStmt)==SQLITE_ROW ){
      zHooks = sqlite3_mprintf("%s", sqlite3_column_text(pStmt, 0));
    }
    sqlite3_finalize(pStmt);
    CHECK( zHooks && strcmp(zHooks, "no progress handler in this SQLite")==0,
           "without progress_handler, hooks: %s", zHooks );
    printf("without progress_handler: loaded, hooks: %s\n", zHooks ? zHooks : "?");
    sqlite3_free(zHooks);
    sqlite3_close(db2);
    fflush(stdout);
    _exit(nFail==0 ? 0 : 1);
  }else{
    int status = 0;
    waitpid(child, &status, 0);
    CHECK( WIFEXITED(status) && WEXITSTATUS(status)==0,
           "the load without progress_handler (child process): status %d", status );
  }

  /* 4: the connection is as it was, and the whole table loads. */
  CHECK( nSessions(db)==-1, "a refused load registered the sessions table" );
  zErr = 0;
  rc = sqlite3_cancel_init(db, &zErr, pReal);
  CHECK( rc==SQLITE_OK, "the whole table: rc=%d %s", rc, zErr );
  sqlite3_free(zErr);
  CHECK( nSessions(db)==1, "after loading: %d sessions", nSessions(db) );
  {
    /* (the degraded mode of (3) was that load's, not this one's) */
    sqlite3_stmt *pStmt = 0;
    int bOk = sqlite3_prepare_v2(db, "SELECT hooks FROM sessions", -1, &pStmt, 0)==SQLITE_OK
           && sqlite3_step(pStmt)==SQLITE_ROW
           && strcmp((const char*)sqlite3_column_text(pStmt, 0), "ok")==0;
    sqlite3_finalize(pStmt);
    CHECK( bOk, "the whole table: hooks ok" );
  }
  sqlite3_close(db);

  printf("%d passed, %d failed\n", nPass, nFail);
  return nFail!=0;
}
