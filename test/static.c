/*
** static.c: the extension linked into an application together with a
** static SQLite (-DSQLITE_CORE, Debian's libsqlite3.a), enabled for every
** connection with sqlite3_auto_extension(). No dlopen, no .so.
**
**   test/static            exits 0 when every check passes
*/
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include "cancel.h"

static int nFail = 0;
#define CHECK(cond, what) do{ if( !(cond) ){ nFail++; \
  fprintf(stderr, "static: FAIL line %d: %s\n", __LINE__, what); } }while(0)

static int hook(void *p, int argc, char **argv, char **col){
  (void)col;
  if( argc>0 && argv[0] ) snprintf((char*)p, 100, "%s", argv[0]);
  return 0;
}

int main(void){
  sqlite3 *db = 0, *db2 = 0;
  char z[100] = "";
  int rc;
  sqlite3_auto_extension((void(*)(void))sqlite3_cancel_init);
  sqlite3_open(":memory:", &db);
  sqlite3_open(":memory:", &db2);
  sqlite3_exec(db, "SELECT cancel_version()", hook, z, 0);
  CHECK(strcmp(z, CANCEL_VERSION)==0, "cancel_version()");
  sqlite3_exec(db, "SELECT count(*) FROM sessions", hook, z, 0);
  CHECK(strcmp(z, "2")==0, "both connections are sessions");
  /* a statement timeout, through the C API, on a statically linked build */
  cancel_set_statement_timeout(db2, 50);
  rc = sqlite3_exec(db2, "WITH RECURSIVE c(x) AS (VALUES(1) UNION ALL SELECT x+1 FROM c) "
                         "SELECT count(*) FROM c", 0, 0, 0);
  CHECK(rc==SQLITE_INTERRUPT, "statement timeout");
  sqlite3_exec(db, "SELECT outcome FROM cancel_log WHERE action='statement_timeout'", hook, z, 0);
  CHECK(strcmp(z, "interrupted")==0, "cancel_log");
  sqlite3_close(db2);
  sqlite3_exec(db, "SELECT count(*) FROM sessions", hook, z, 0);
  CHECK(strcmp(z, "1")==0, "closed session left");
  sqlite3_close(db);
  printf("static (SQLite %s linked in): %s\n", sqlite3_libversion(),
         nFail ? "FAILED" : "all checks passed");
  return nFail ? 1 : 0;
}
