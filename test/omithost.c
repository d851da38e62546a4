/*
** omithost.c: a host program, linked with a SQLite built from source
** with SQLITE_OMIT_* options (test/omithost.sh), that loads the extension
** the way any application does and says what happened:
**
**   omithost EXT     prints "loaded (sessions: N row)" or "refused: MESSAGE"
**
** A SQLite whose routine table lacks an entry the extension calls must
** refuse it with a message; before ext/hostapi.h, this crashed.
*/
#include "sqlite3.h"
#include <stdio.h>

int main(int argc, char **argv){
  sqlite3 *db = 0;
  sqlite3_stmt *pStmt = 0;
  char *zErr = 0;
  if( argc!=2 ){ fprintf(stderr, "usage: omithost EXT\n"); return 2; }
  if( sqlite3_open(":memory:", &db)!=SQLITE_OK ) return 2;
  sqlite3_enable_load_extension(db, 1);
  if( sqlite3_load_extension(db, argv[1], 0, &zErr)!=SQLITE_OK ){
    printf("refused: %s\n", zErr ? zErr : "(no message)");
    sqlite3_free(zErr);
  }else if( sqlite3_prepare_v2(db, "SELECT count(*) FROM sessions", -1, &pStmt, 0)==SQLITE_OK
         && sqlite3_step(pStmt)==SQLITE_ROW ){
    printf("loaded (sessions: %d row)\n", sqlite3_column_int(pStmt, 0));
  }else{
    printf("loaded, but: %s\n", sqlite3_errmsg(db));
  }
  sqlite3_finalize(pStmt);
  sqlite3_close(db);
  return 0;
}
