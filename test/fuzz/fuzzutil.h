/*
** fuzzutil.h: what the libFuzzer targets of test/fuzz/ share: the
** scratch directory (build/tmp/fuzz-<pid>/, relative to the directory the
** target runs in, normally the repository's root), and running SQL.
** Header-only: each target is one C file plus the extension's sources.
*/
#ifndef FUZZUTIL_H
#define FUZZUTIL_H

#include <sqlite3.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cancel.h"

static char fuzzDir[512];     /* the scratch directory, no trailing '/' */

/* mkdir -p of build/tmp/fuzz-<pid>; exits on failure (nothing to fuzz). */
static inline void fuzzMakeDir(void){
  const char *zRoot = getenv("FUZZ_TMP");   /* default build/tmp */
  char z[512];
  char *q;
  if( zRoot==0 || zRoot[0]==0 ) zRoot = "build/tmp";
  snprintf(fuzzDir, sizeof(fuzzDir), "%s/fuzz-%ld", zRoot, (long)getpid());
  snprintf(z, sizeof(z), "%s", fuzzDir);
  for(q=z+1; *q; q++){
    if( *q=='/' ){ *q = 0; mkdir(z, 0777); *q = '/'; }
  }
  if( mkdir(z, 0777)!=0 && errno!=EEXIST ){
    fprintf(stderr, "fuzz: cannot create %s: %s\n", z, strerror(errno));
    exit(1);
  }
}

/* Remove the files of the scratch directory (it holds no directories)
** except those for which bKeep(name) says 1. */
static inline void fuzzCleanDir(int (*bKeep)(const char*)){
  DIR *d = opendir(fuzzDir);
  struct dirent *e;
  if( d==0 ) return;
  while( (e = readdir(d))!=0 ){
    char z[1024];
    if( strcmp(e->d_name, ".")==0 || strcmp(e->d_name, "..")==0 ) continue;
    if( bKeep && bKeep(e->d_name) ) continue;
    snprintf(z, sizeof(z), "%s/%s", fuzzDir, e->d_name);
    unlink(z);
  }
  closedir(d);
}

static inline void fuzzRemoveDir(void){
  fuzzCleanDir(0);
  rmdir(fuzzDir);
}

/* Run SQL, ignoring the outcome (the harness's own housekeeping). */
static inline int fuzzExec(sqlite3 *db, const char *zSql){
  return sqlite3_exec(db, zSql, 0, 0, 0);
}

/* The first column of the first row as an integer, dflt if none. */
static inline sqlite3_int64 fuzzInt(sqlite3 *db, const char *zSql, sqlite3_int64 dflt){
  sqlite3_stmt *p = 0;
  sqlite3_int64 v = dflt;
  if( sqlite3_prepare_v2(db, zSql, -1, &p, 0)==SQLITE_OK && sqlite3_step(p)==SQLITE_ROW
   && sqlite3_column_type(p, 0)!=SQLITE_NULL ){
    v = sqlite3_column_int64(p, 0);
  }
  sqlite3_finalize(p);
  return v;
}

/* Step a statement to its end, reading every column of every row (so
** that every column's xColumn runs), ignoring errors. */
static inline void fuzzDrain(sqlite3 *db, const char *zSql){
  sqlite3_stmt *p = 0;
  if( sqlite3_prepare_v2(db, zSql, -1, &p, 0)!=SQLITE_OK ) return;
  while( sqlite3_step(p)==SQLITE_ROW ){
    int i;
    for(i=0; i<sqlite3_column_count(p); i++) (void)sqlite3_column_text(p, i);
  }
  sqlite3_finalize(p);
}

/* A session of the target's on file zDb, named zApp, dropped to user
** zUser when not NULL (admin otherwise). Exits if it cannot open. */
static inline sqlite3 *fuzzOpenSession(const char *zDb, const char *zApp, const char *zUser){
  sqlite3 *db = 0;
  char *z;
  if( sqlite3_open_v2(zDb, &db, SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE|SQLITE_OPEN_FULLMUTEX, 0)!=SQLITE_OK ){
    fprintf(stderr, "fuzz: cannot open %s: %s\n", zDb, sqlite3_errmsg(db));
    exit(1);
  }
  z = sqlite3_mprintf("SELECT set_application_name(%Q)", zApp);
  fuzzExec(db, z);
  sqlite3_free(z);
  if( zUser ){
    z = sqlite3_mprintf("SELECT set_session_user(%Q, 0)", zUser);
    fuzzExec(db, z);
    sqlite3_free(z);
  }
  return db;
}

/* A session the last input terminated refuses everything: reopen it. */
static inline void fuzzKeepAlive(const char *zDb, sqlite3 **pDb, const char *zApp, const char *zUser){
  if( *pDb && fuzzExec(*pDb, "SELECT 1")==SQLITE_OK ) return;
  sqlite3_close(*pDb);
  *pDb = fuzzOpenSession(zDb, zApp, zUser);
}

#endif /* FUZZUTIL_H */
