/*
** bench_scale.c: the extension with many sessions.
**
**   tool/bench_scale sessions N     N idle sessions (in-memory databases,
**                                   one process) and one admin session:
**                                   the time to read all of `sessions`,
**                                   to cancel all by a SELECT
**                                   (pg_cancel_backend per row), and to
**                                   terminate all (cancel_sessions)
**   tool/bench_scale open N ROUNDS  the cost of sqlite3_open + close, in
**                                   memory and on a file (which also
**                                   takes and frees a registry slot), in
**                                   each MODE below
**   tool/bench_scale openloop WHERE MODE N
**                                   N opens and closes, for callgrind
**                                   (--toggle-collect=openLoop); WHERE
**                                   is memory or file
** MODE:
**   plain    plain SQLite
**   floor    plain SQLite, then a no-op registration of the functions
**            and modules the extension adds (learned by comparing
**            pragma_function_list and pragma_module_list with and without
**            it): what SQLite's API charges any extension with this
**            interface, the reference for the extension's own cost
**   loaded   the extension, by sqlite3_auto_extension
**
** Prints CSV lines:
**   scale,N,scan_ms,cancel_all_ms,terminate_all_ms
**   open,WHERE,MODE,N,us_per_open_close
** Times are medians of several runs (scan, cancel) or of interleaved
** rounds (open); terminating can be done only once.
*/
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cancel.h"
#include "benchutil.h"

static sqlite3 *openDb(const char *zName){
  sqlite3 *db;
  if( sqlite3_open(zName, &db)!=SQLITE_OK ){
    fprintf(stderr, "bench_scale: cannot open %s: %s\n", zName, sqlite3_errmsg(db));
    exit(1);
  }
  return db;
}

/* Run zSql to its end; the time in ms; *pnRow the rows it returned. */
static double timeSql(sqlite3 *db, const char *zSql, int *pnRow){
  sqlite3_stmt *p;
  double t0 = benchNowUs();
  int n = 0;
  if( sqlite3_prepare_v2(db, zSql, -1, &p, 0)!=SQLITE_OK ){
    fprintf(stderr, "bench_scale: %s: %s\n", zSql, sqlite3_errmsg(db));
    exit(1);
  }
  while( sqlite3_step(p)==SQLITE_ROW ) n++;
  if( sqlite3_finalize(p)!=SQLITE_OK ){
    fprintf(stderr, "bench_scale: %s: %s\n", zSql, sqlite3_errmsg(db));
    exit(1);
  }
  if( pnRow ) *pnRow = n;
  return (benchNowUs()-t0)/1000.0;
}

static void sessions(int nSession){
  sqlite3 **aDb = malloc(sizeof(sqlite3*)*nSession);
  sqlite3 *admin;
  double aScan[7], aCancel[7], tTerm;
  int i, n;
  sqlite3_auto_extension((void(*)(void))sqlite3_cancel_init);
  admin = openDb(":memory:");
  for(i=0; i<nSession; i++) aDb[i] = openDb(":memory:");
  for(i=0; i<7; i++){
    aScan[i] = timeSql(admin, "SELECT * FROM sessions", &n);
    if( n!=nSession+1 ){
      fprintf(stderr, "bench_scale: sessions has %d rows, not %d\n", n, nSession+1);
      exit(1);
    }
    aCancel[i] = timeSql(admin, "SELECT pg_cancel_backend(pid) FROM sessions "
                                "WHERE pid <> pg_backend_pid()", &n);
  }
  {
    sqlite3_stmt *p;
    double t0 = benchNowUs();
    sqlite3_prepare_v2(admin, "SELECT cancel_sessions("
        "'SELECT session_id FROM sessions WHERE pid <> pg_backend_pid()')", -1, &p, 0);
    if( sqlite3_step(p)!=SQLITE_ROW || sqlite3_column_int(p, 0)!=nSession ){
      fprintf(stderr, "bench_scale: cancel_sessions did not terminate %d: %s\n",
              nSession, sqlite3_errmsg(admin));
      exit(1);
    }
    sqlite3_finalize(p);
    tTerm = (benchNowUs()-t0)/1000.0;
  }
  for(i=0; i<nSession; i++) sqlite3_close(aDb[i]);
  sqlite3_close(admin);
  benchSort(aScan, 7);
  benchSort(aCancel, 7);
  printf("scale,%d,%.2f,%.2f,%.2f\n", nSession, aScan[3], aCancel[3], tTerm);
  free(aDb);
}

/* ---- the floor: what the extension registers, registered as no-ops */
#define FLOOR_MAX 256
typedef struct FloorFunc FloorFunc;
struct FloorFunc {
  char *zName;
  char cType;                 /* 's'calar, 'a'ggregate, 'w'indow */
  int nArg;
  int eTextRep;               /* encoding | public flags */
};
static FloorFunc aFloorFunc[FLOOR_MAX];
static char *azFloorModule[FLOOR_MAX];
static int nFloorFunc = 0, nFloorModule = 0;

static void floorFunc(sqlite3_context *c, int n, sqlite3_value **a){
  (void)c; (void)n; (void)a;
}
static void floorFinal(sqlite3_context *c){ (void)c; }
static sqlite3_module floorModule;   /* never used: registration only */

#define FLOOR_FUNC_SQL \
  "SELECT name, type, narg, enc, flags FROM pragma_function_list"
#define FLOOR_MOD_SQL "SELECT name FROM pragma_module_list"

static int floorCmp(const void *a, const void *b){
  return strcmp(*(char*const*)a, *(char*const*)b);
}

/* The rows of zSql on db, each as one '|'-joined string in az[]. */
static int floorRows(sqlite3 *db, const char *zSql, char **az, int nMax){
  sqlite3_stmt *p;
  int n = 0, i;
  if( sqlite3_prepare_v2(db, zSql, -1, &p, 0)!=SQLITE_OK ){
    fprintf(stderr, "bench_scale: %s: %s\n", zSql, sqlite3_errmsg(db));
    exit(1);
  }
  while( sqlite3_step(p)==SQLITE_ROW ){
    char *z = sqlite3_mprintf("%s", sqlite3_column_text(p, 0));
    for(i=1; i<sqlite3_column_count(p); i++){
      z = sqlite3_mprintf("%z|%s", z, sqlite3_column_text(p, i));
    }
    if( n==nMax ){
      fprintf(stderr, "bench_scale: more than %d rows in %s\n", nMax, zSql);
      exit(1);
    }
    az[n++] = z;
  }
  sqlite3_finalize(p);
  qsort(az, n, sizeof(char*), floorCmp);
  return n;
}

/* The rows of azExt[] that azPlain[] lacks (both sorted by floorCmp). */
static int floorNew(char **azExt, int nExt, char **azPlain, int nPlain, char **azOut){
  int i, j = 0, n = 0;
  for(i=0; i<nExt; i++){
    while( j<nPlain && strcmp(azPlain[j], azExt[i])<0 ) j++;
    if( j<nPlain && strcmp(azPlain[j], azExt[i])==0 ) continue;
    azOut[n++] = azExt[i];
  }
  return n;
}

static void floorLearn(void){
  static char *az[4][FLOOR_MAX];
  char *azNew[FLOOR_MAX];
  int n[4], i, k;
  for(k=0; k<2; k++){
    sqlite3 *db;
    if( k ) sqlite3_auto_extension((void(*)(void))sqlite3_cancel_init);
    else sqlite3_reset_auto_extension();
    db = openDb(":memory:");
    n[k*2] = floorRows(db, FLOOR_FUNC_SQL, az[k*2], FLOOR_MAX);
    n[k*2+1] = floorRows(db, FLOOR_MOD_SQL, az[k*2+1], FLOOR_MAX);
    sqlite3_close(db);
  }
  sqlite3_reset_auto_extension();
  nFloorFunc = floorNew(az[2], n[2], az[0], n[0], azNew);
  for(i=0; i<nFloorFunc; i++){
    FloorFunc *f = &aFloorFunc[i];
    char zType[8], zEnc[16];
    int flags = 0;
    f->zName = sqlite3_mprintf("%s", azNew[i]);
    *strchr(f->zName, '|') = 0;
    if( sscanf(strchr(azNew[i], '|')+1, "%7[^|]|%d|%15[^|]|%d",
               zType, &f->nArg, zEnc, &flags)!=4 ){
      fprintf(stderr, "bench_scale: cannot read %s\n", azNew[i]);
      exit(1);
    }
    f->cType = zType[0];
    f->eTextRep = (strcmp(zEnc, "utf8")==0 ? SQLITE_UTF8
                   : strcmp(zEnc, "utf16le")==0 ? SQLITE_UTF16LE : SQLITE_UTF16BE)
                | (flags & (SQLITE_DETERMINISTIC|SQLITE_DIRECTONLY
                            |SQLITE_SUBTYPE|SQLITE_INNOCUOUS));
  }
  nFloorModule = floorNew(az[3], n[3], az[1], n[1], azFloorModule);
}

static void floorRegister(sqlite3 *db){
  int i, rc = SQLITE_OK;
  for(i=0; i<nFloorFunc && rc==SQLITE_OK; i++){
    FloorFunc *f = &aFloorFunc[i];
    if( f->cType=='w' ){
      rc = sqlite3_create_window_function(db, f->zName, f->nArg, f->eTextRep, 0,
                                          floorFunc, floorFinal, floorFinal,
                                          floorFunc, 0);
    }else{
      rc = sqlite3_create_function_v2(db, f->zName, f->nArg, f->eTextRep, 0,
                                      f->cType=='a' ? 0 : floorFunc,
                                      f->cType=='a' ? floorFunc : 0,
                                      f->cType=='a' ? floorFinal : 0, 0);
    }
  }
  for(i=0; i<nFloorModule && rc==SQLITE_OK; i++){
    rc = sqlite3_create_module_v2(db, azFloorModule[i], &floorModule, 0, 0);
  }
  if( rc!=SQLITE_OK ){
    fprintf(stderr, "bench_scale: floor registration: %s\n", sqlite3_errmsg(db));
    exit(1);
  }
}

enum { OPEN_PLAIN, OPEN_FLOOR, OPEN_LOADED, OPEN_NMODE };
static const char *azOpenMode[] = { "plain", "floor", "loaded" };
static const char *azWhere[] = { ":memory:", "bench/tmp-scale.db" };

static void openMode(int eMode){
  if( eMode==OPEN_LOADED ) sqlite3_auto_extension((void(*)(void))sqlite3_cancel_init);
  else sqlite3_reset_auto_extension();
}

/* The measured part (callgrind counts only inside this function). */
__attribute__((noinline))
void openLoop(const char *zName, int eMode, int n){
  int i;
  for(i=0; i<n; i++){
    sqlite3 *db = openDb(zName);
    if( eMode==OPEN_FLOOR ) floorRegister(db);
    sqlite3_close(db);
  }
}

/* n opens and closes of zName; us per pair. */
static double openClose(const char *zName, int eMode, int n){
  double t0;
  openMode(eMode);
  t0 = benchNowUs();
  openLoop(zName, eMode, n);
  return (benchNowUs()-t0)/n;
}

static void opens(int n, int nRound){
  double aT[2][OPEN_NMODE][32];
  int r, w, e;
  if( nRound>32 ) nRound = 32;
  floorLearn();
  sqlite3_close(openDb(azWhere[1]));        /* create the file first */
  for(r=0; r<nRound; r++){
    for(w=0; w<2; w++){
      for(e=0; e<OPEN_NMODE; e++) aT[w][e][r] = openClose(azWhere[w], e, n);
    }
  }
  for(w=0; w<2; w++){
    for(e=0; e<OPEN_NMODE; e++){
      benchSort(aT[w][e], nRound);
      printf("open,%s,%s,%d,%.2f\n", w ? "file" : "memory", azOpenMode[e],
             n, aT[w][e][nRound/2]);
    }
  }
  printf("floor,%d,%d\n", nFloorFunc, nFloorModule);
}

/* One loop under callgrind, after one open and close outside it (the
** process's first open does once-only work: the registry file). */
static void openOnce(const char *zWhere, const char *zMode, int n){
  int w, e;
  for(w=0; w<2 && strcmp(zWhere, w ? "file" : "memory")!=0; w++){}
  for(e=0; e<OPEN_NMODE && strcmp(zMode, azOpenMode[e])!=0; e++){}
  if( w==2 || e==OPEN_NMODE ){
    fprintf(stderr, "bench_scale: openloop memory|file plain|floor|loaded N\n");
    exit(1);
  }
  floorLearn();
  openMode(e);
  sqlite3_close(openDb(azWhere[1]));
  openLoop(azWhere[w], e, 1);
  openLoop(azWhere[w], e, n);
}

int main(int argc, char **argv){
  if( argc==3 && strcmp(argv[1], "sessions")==0 && atoi(argv[2])>0 ){
    sessions(atoi(argv[2]));
  }else if( argc==4 && strcmp(argv[1], "open")==0 && atoi(argv[2])>0 && atoi(argv[3])>0 ){
    opens(atoi(argv[2]), atoi(argv[3]));
  }else if( argc==5 && strcmp(argv[1], "openloop")==0 && atoi(argv[4])>0 ){
    openOnce(argv[2], argv[3], atoi(argv[4]));
  }else{
    fprintf(stderr, "usage: %s sessions N | open N ROUNDS | openloop WHERE MODE N\n",
            argv[0]);
    return 1;
  }
  return 0;
}
