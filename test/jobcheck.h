/*
** jobcheck.h: what the fault-injection tests test/oom.c and test/ioerr.c
** share. Both run the built-in jobs under faults in a directory of their
** own and then check the jobs' cleanup rules; this is the common part:
** that directory and the files in it, running SQL and reading the first
** value, opening a test database, an existing destination for a backup
** or vacuum, a file's checksum, the part files a job left behind.
**
** For one program only (every function is static). The program defines
** how a failure is reported and counted, and what a statement that must
** work says when it does not:
**
**   static void fail(const char *zFmt, const char *zA, const char *zB);
**   static int mustExec(sqlite3 *db, const char *zSql);
**   static void closeDb(sqlite3 **pDb);
**
** and calls setupDir() first.
*/
#ifndef JOBCHECK_H
#define JOBCHECK_H

#include <sqlite3.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void fail(const char *zFmt, const char *zA, const char *zB);
static int mustExec(sqlite3 *db, const char *zSql);
static void closeDb(sqlite3 **pDb);

/* The program's name ("oom", "ioerr"), its directory and the files in it. */
static const char *zProg = "";
static char zDir[128], zDb[160], zSrc[160], zDest[160], zCsv[160];

/* build/tmp/<zName>-<pid> and the paths in it; non-zero (after perror)
** if the directory cannot be made. */
static int setupDir(const char *zName){
  zProg = zName;
  snprintf(zDir, sizeof(zDir), "build/tmp/%s-%d", zName, (int)getpid());
  mkdir("build/tmp", 0777);
  if( mkdir(zDir, 0777)!=0 && errno!=EEXIST ){ perror(zDir); return 1; }
  snprintf(zDb, sizeof(zDb), "%s/main.db", zDir);
  snprintf(zSrc, sizeof(zSrc), "%s/src.db", zDir);
  snprintf(zDest, sizeof(zDest), "%s/dest.db", zDir);
  snprintf(zCsv, sizeof(zCsv), "%s/in.csv", zDir);
  return 0;
}

/* Run zSql to the end; the first column of the first row goes to zOut.
** Returns the rc; the error message goes to zErr. */
static char zErr[512];
static int sql1(sqlite3 *db, const char *zSql, char *zOut, int nOut){
  sqlite3_stmt *p = 0;
  int rc;
  zErr[0] = 0;
  if( zOut ) zOut[0] = 0;
  rc = sqlite3_prepare_v2(db, zSql, -1, &p, 0);
  if( rc==SQLITE_OK && p ){
    int bFirst = 1;
    while( (rc = sqlite3_step(p))==SQLITE_ROW ){
      if( bFirst && zOut ){
        const char *z = (const char*)sqlite3_column_text(p, 0);
        if( z==0 && sqlite3_column_type(p, 0)!=SQLITE_NULL ){
          rc = SQLITE_NOMEM;     /* the conversion to text failed */
          snprintf(zErr, sizeof(zErr), "out of memory (reading the result)");
          break;
        }
        snprintf(zOut, nOut, "%s", z ? z : "NULL");
      }
      bFirst = 0;
    }
    if( rc==SQLITE_DONE ) rc = SQLITE_OK;
  }
  if( rc!=SQLITE_OK && zErr[0]==0 ) snprintf(zErr, sizeof(zErr), "%s", sqlite3_errmsg(db));
  sqlite3_finalize(p);
  return rc;
}

/* sql1, and a failure if it does not work (zFmt: the SQL, the error). */
static int sqlMust(sqlite3 *db, const char *zSql, char *zOut, int nOut, const char *zFmt){
  int rc = sql1(db, zSql, zOut, nOut);
  if( rc!=SQLITE_OK ) fail(zFmt, zSql, zErr);
  return rc;
}
/* A script, and a failure if it does not work (zFmt: the SQL, the error). */
static int execMust(sqlite3 *db, const char *zSql, const char *zFmt){
  char *zE = 0;
  int rc = sqlite3_exec(db, zSql, 0, 0, &zE);
  if( rc!=SQLITE_OK ) fail(zFmt, zSql, zE);
  sqlite3_free(zE);
  return rc;
}

static sqlite3 *openDb(const char *zFile){
  sqlite3 *db = 0;
  if( sqlite3_open_v2(zFile, &db, SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE
                      |SQLITE_OPEN_URI, 0)!=SQLITE_OK ){
    fail("open %s: %s", zFile, sqlite3_errmsg(db));
    sqlite3_close(db);
    return 0;
  }
  return db;
}

/* Backup and vacuum: the destination exists (a small unrelated database). */
static void makeOldDest(void){
  sqlite3 *d;
  char z[200];
  remove(zDest);
  snprintf(z, sizeof(z), "file:%s?cancel_shared=0", zDest);
  if( (d = openDb(z))!=0 ){
    mustExec(d, "CREATE TABLE old(x); INSERT INTO old VALUES('the old destination')");
    closeDb(&d);
  }
}

/* FNV-1a of a file's bytes; 0 if absent. */
static unsigned long long fileHash(const char *zFile){
  FILE *f = fopen(zFile, "rb");
  unsigned long long h = 1469598103934665603ULL;
  int c;
  if( f==0 ) return 0;
  while( (c = getc(f))!=EOF ){ h ^= (unsigned)c; h *= 1099511628211ULL; }
  fclose(f);
  return h;
}

/* The part files in zDir: each is reported, removed (so reported once)
** and counted. */
static int partFiles(void){
  DIR *d = opendir(zDir);
  struct dirent *e;
  int n = 0;
  if( d==0 ) return 0;
  while( (e = readdir(d))!=0 ){
    if( strstr(e->d_name, ".part-") ){
      char z[400];
      snprintf(z, sizeof(z), "%s/%s", zDir, e->d_name);
      fprintf(stderr, "%s: left behind: %s\n", zProg, z);
      remove(z);
      n++;
    }
  }
  closedir(d);
  return n;
}

#endif /* JOBCHECK_H */
