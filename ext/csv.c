/*
** csv.c: the CSV reader of the IMPORT job (see csv.h). Moved out of
** jobkinds.c so that test/fuzz/fuzz_csv.c can run it alone.
*/
#include "csv.h"
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT3

#include <string.h>

void csvInit(Csv *p, FILE *in){
  memset(p, 0, sizeof(*p));
  p->in = in;
  p->iLine = 1;
}

const char *csvField(Csv *p, int i){
  return p->z + p->aOfst[i];
}

void csvClear(Csv *p){
  sqlite3_free(p->z);
  sqlite3_free(p->aOfst);
  p->z = 0;
  p->aOfst = 0;
  p->n = p->nAlloc = p->nField = p->nFieldAlloc = 0;
}

/*
** The longest record (its fields and their NULs) the reader takes: as
** long as SQLite's default SQLITE_MAX_LENGTH, so nothing it could bind is
** refused. The limit also keeps the int sizes below from overflowing: a
** field of more than 1 GiB once doubled nAlloc past INT_MAX, and a
** record of 2^28 empty fields (a 256 MiB line of commas) made the int
** byte count of aOfst wrap negative; given a size <= 0, sqlite3_realloc()
** frees the buffer and returns NULL, and csvClear() then freed it again.
** Tests may lower it (-DCSV_MAX_RECORD=...).
*/
#ifndef CSV_MAX_RECORD
# define CSV_MAX_RECORD 1000000000
#endif

static int csvAppend(Csv *p, char c){
  if( p->n>=CSV_MAX_RECORD ){
    snprintf(p->zErr, sizeof(p->zErr), "line %d: record longer than %d bytes",
             p->iLine, CSV_MAX_RECORD);
    return 1;
  }
  if( p->n>=p->nAlloc ){
    /* <= 2^30 under the limit; sqlite3_realloc64: no int conversion */
    int nNew = p->nAlloc ? p->nAlloc*2 : 256;
    char *zNew = sqlite3_realloc64(p->z, (sqlite3_uint64)nNew);
    if( zNew==0 ) return 1;
    p->z = zNew;
    p->nAlloc = nNew;
  }
  p->z[p->n++] = c;
  return 0;
}

static int csvEndField(Csv *p, int iStart){
  if( csvAppend(p, 0) ) return 1;
  if( p->nField>=p->nFieldAlloc ){
    int nNew = p->nFieldAlloc ? p->nFieldAlloc*2 : 16;
    /* nField <= n <= CSV_MAX_RECORD: nNew fits an int, its bytes may not */
    int *aNew = sqlite3_realloc64(p->aOfst, sizeof(int)*(sqlite3_uint64)nNew);
    if( aNew==0 ) return 1;
    p->aOfst = aNew;
    p->nFieldAlloc = nNew;
  }
  p->aOfst[p->nField++] = iStart;
  return 0;
}

/* Read the next record (see csv.h). */
int csvNext(Csv *p, int *piLine){
  int c, iStart;
  p->n = 0;
  p->nField = 0;
  p->zErr[0] = 0;
  do{
    c = getc(p->in);
    if( c=='\r' ){ c = getc(p->in); if( c!='\n' && c!=EOF ) ungetc(c, p->in), c = '\n'; }
    if( c=='\n' ) p->iLine++;
  }while( c=='\n' );
  if( c==EOF ) return 0;
  *piLine = p->iLine;
  for(;;){
    iStart = p->n;
    if( c=='"' ){
      int iQuoteLine = p->iLine;
      for(;;){
        c = getc(p->in);
        if( c==EOF ){
          snprintf(p->zErr, sizeof(p->zErr), "line %d: unterminated quoted field", iQuoteLine);
          return -1;
        }
        if( c=='"' ){
          c = getc(p->in);
          if( c!='"' ) break;
        }else if( c=='\n' ){
          p->iLine++;
        }
        if( csvAppend(p, (char)c) ) goto nomem;
      }
      if( c!=',' && c!='\n' && c!='\r' && c!=EOF ){
        snprintf(p->zErr, sizeof(p->zErr),
                 "line %d: unexpected character after a closing quote", p->iLine);
        return -1;
      }
    }else{
      while( c!=',' && c!='\n' && c!='\r' && c!=EOF ){
        if( c=='"' ){
          snprintf(p->zErr, sizeof(p->zErr), "line %d: quote inside an unquoted field", p->iLine);
          return -1;
        }
        if( csvAppend(p, (char)c) ) goto nomem;
        c = getc(p->in);
      }
    }
    if( csvEndField(p, iStart) ) goto nomem;
    if( c==',' ){
      c = getc(p->in);
      continue;
    }
    if( c=='\r' ){
      c = getc(p->in);
      if( c!='\n' && c!=EOF ) ungetc(c, p->in);
    }
    if( c!=EOF ) p->iLine++;
    return 1;
  }
nomem:
  /* (unless csvAppend said why: a record too long) */
  if( p->zErr[0]==0 ) snprintf(p->zErr, sizeof(p->zErr), "out of memory");
  return -1;
}
