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

int csvFieldQuoted(Csv *p, int i){
  return p->aQuoted[i];
}

void csvClear(Csv *p){
  sqlite3_free(p->z);
  sqlite3_free(p->aOfst);
  sqlite3_free(p->aQuoted);
  p->z = 0;
  p->aOfst = 0;
  p->aQuoted = 0;
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

static int csvEndField(Csv *p, int iStart, int bQuoted){
  if( csvAppend(p, 0) ) return 1;
  if( p->nField>=p->nFieldAlloc ){
    int nNew = p->nFieldAlloc ? p->nFieldAlloc*2 : 16;
    /* nField <= n <= CSV_MAX_RECORD: nNew fits an int, its bytes may not */
    int *aNew = sqlite3_realloc64(p->aOfst, sizeof(int)*(sqlite3_uint64)nNew);
    unsigned char *aQ;
    if( aNew==0 ) return 1;
    p->aOfst = aNew;
    aQ = sqlite3_realloc64(p->aQuoted, (sqlite3_uint64)nNew);
    if( aQ==0 ) return 1;
    p->aQuoted = aQ;
    p->nFieldAlloc = nNew;
  }
  p->aQuoted[p->nField] = (unsigned char)bQuoted;
  p->aOfst[p->nField++] = iStart;
  return 0;
}

/* getc() and ungetc() with room for the three bytes of a byte order mark */
static int csvGetc(Csv *p){
  if( p->nBack>0 ) return p->aBack[--p->nBack];
  return getc(p->in);
}
static void csvUngetc(Csv *p, int c){
  if( c!=EOF && p->nBack<3 ) p->aBack[p->nBack++] = c;
}

/* At the start of the file: skip a UTF-8 byte order mark (EF BB BF). */
static void csvSkipBom(Csv *p){
  int c1, c2, c3;
  p->bStarted = 1;
  c1 = csvGetc(p);
  if( c1==0xEF ){
    c2 = csvGetc(p);
    if( c2==0xBB ){
      c3 = csvGetc(p);
      if( c3==0xBF ) return;
      csvUngetc(p, c3);
    }
    csvUngetc(p, c2);
  }
  csvUngetc(p, c1);
}

static int csvNulByte(Csv *p){
  snprintf(p->zErr, sizeof(p->zErr),
           "line %d, column %d: a NUL byte (a CSV file is text)", p->iLine, p->nField+1);
  return -1;
}

/* Read the next record (see csv.h). */
int csvNext(Csv *p, int *piLine){
  int c, iStart;
  p->n = 0;
  p->nField = 0;
  p->zErr[0] = 0;
  if( !p->bStarted ) csvSkipBom(p);
  do{
    c = csvGetc(p);
    if( c=='\r' ){ c = csvGetc(p); if( c!='\n' && c!=EOF ) csvUngetc(p, c), c = '\n'; }
    if( c=='\n' ) p->iLine++;
  }while( c=='\n' );
  if( c==EOF ) return 0;
  *piLine = p->iLine;
  for(;;){
    int bQuoted = 0;
    iStart = p->n;
    if( c=='"' ){
      int iQuoteLine = p->iLine;
      bQuoted = 1;
      for(;;){
        c = csvGetc(p);
        if( c==EOF ){
          snprintf(p->zErr, sizeof(p->zErr), "line %d, column %d: unterminated quoted field",
                   iQuoteLine, p->nField+1);
          return -1;
        }
        if( c=='"' ){
          c = csvGetc(p);
          if( c!='"' ) break;
        }else if( c=='\n' ){
          p->iLine++;
        }else if( c==0 ){
          return csvNulByte(p);
        }
        if( csvAppend(p, (char)c) ) goto nomem;
      }
      if( c!=',' && c!='\n' && c!='\r' && c!=EOF ){
        snprintf(p->zErr, sizeof(p->zErr),
                 "line %d, column %d: unexpected character after a closing quote",
                 p->iLine, p->nField+1);
        return -1;
      }
    }else{
      while( c!=',' && c!='\n' && c!='\r' && c!=EOF ){
        if( c=='"' ){
          snprintf(p->zErr, sizeof(p->zErr), "line %d, column %d: quote inside an unquoted field",
                   p->iLine, p->nField+1);
          return -1;
        }
        if( c==0 ) return csvNulByte(p);
        if( csvAppend(p, (char)c) ) goto nomem;
        c = csvGetc(p);
      }
    }
    if( csvEndField(p, iStart, bQuoted) ) goto nomem;
    if( c==',' ){
      c = csvGetc(p);
      continue;
    }
    if( c=='\r' ){
      c = csvGetc(p);
      if( c!='\n' && c!=EOF ) csvUngetc(p, c);
    }
    if( c!=EOF ) p->iLine++;
    return 1;
  }
nomem:
  /* (unless csvAppend said why: a record too long) */
  if( p->zErr[0]==0 ) snprintf(p->zErr, sizeof(p->zErr), "out of memory");
  return -1;
}
