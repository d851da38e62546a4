/*
** sqltext.c: looking at the words of a statement's text (see sqltext.h).
** It follows SQLite's tokenizer only as far as white space, comments and
** keywords go; nothing here parses SQL.
*/
#include "sqltext.h"
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT3

#include <string.h>

/* A character that continues an identifier (as SQLite's tokenizer has
** it, bytes of UTF-8 characters included). */
static int sqltextIdChar(char c){
  return (c>='a' && c<='z') || (c>='A' && c<='Z') || (c>='0' && c<='9')
      || c=='_' || c=='$' || (c & 0x80)!=0;
}

const char *sqltextSkip(const char *z, int bSemi){
  for(;;){
    if( *z==' ' || *z=='\t' || *z=='\n' || *z=='\r' || *z=='\f' || *z=='\v'
     || (bSemi && *z==';') ){
      z++;
    }else if( z[0]=='-' && z[1]=='-' ){
      while( *z && *z!='\n' ) z++;
    }else if( z[0]=='/' && z[1]=='*' ){
      const char *zEnd = strstr(z+2, "*/");
      z = zEnd ? zEnd+2 : z+strlen(z);
    }else{
      return z;
    }
  }
}

const char *sqltextKeyword(const char *z, const char *zKw){
  int n = (int)strlen(zKw);
  if( sqlite3_strnicmp(z, zKw, n)!=0 || sqltextIdChar(z[n]) ) return 0;
  return z+n;
}

int sqltextWordLen(const char *z){
  int n = 0;
  while( (z[n]>='a' && z[n]<='z') || (z[n]>='A' && z[n]<='Z') || z[n]=='_' ) n++;
  return n;
}

/* z after keyword zKw and, optionally, keyword zOpt; NULL if z does not
** start with zKw. */
static const char *sqltextWords(const char *z, const char *zKw, const char *zOpt){
  const char *zAfter;
  z = sqltextKeyword(sqltextSkip(z, 0), zKw);
  if( z==0 ) return 0;
  z = sqltextSkip(z, 0);
  if( zOpt && (zAfter = sqltextKeyword(z, zOpt))!=0 ) z = sqltextSkip(zAfter, 0);
  return z;
}

/* Nothing but a ';' and blanks or comments left? */
static int sqltextEnds(const char *z){
  if( z==0 ) return 0;
  if( *z==';' ) z = sqltextSkip(z+1, 0);
  return *z==0;
}

int sqltextIsCommit(const char *z){
  return sqltextEnds(sqltextWords(z, "COMMIT", "TRANSACTION"))
      || sqltextEnds(sqltextWords(z, "END", "TRANSACTION"));
}

int sqltextIsRollback(const char *z){
  return sqltextEnds(sqltextWords(z, "ROLLBACK", "TRANSACTION"));
}

int sqltextIsPragma(const char *z){
  /* (at every statement start that is not the fast one: most texts fail
  ** at their first letter) */
  if( (*z|0x20)!='p' && *z!=' ' && *z!='\t' && *z!='\n' && *z!='\r' && *z!='-' && *z!='/' ){
    return 0;
  }
  return sqltextWords(z, "PRAGMA", 0)!=0;
}

int sqltextIsReasonQuery(const char *z){
  z = sqltextWords(z, "SELECT", 0);
  if( z==0 || (z = sqltextKeyword(z, "cancel_reason"))==0 ) return 0;
  z = sqltextSkip(z, 0);
  if( *z++!='(' ) return 0;
  z = sqltextSkip(z, 0);
  if( *z++!=')' ) return 0;
  z = sqltextSkip(z, 0);
  if( sqltextKeyword(z, "AS") ) z = sqltextSkip(z+2, 0);
  if( *z=='"' || *z=='`' || *z=='[' || *z=='\'' ){
    char cEnd = *z=='[' ? ']' : *z;
    z = strchr(z+1, cEnd);
    if( z==0 ) return 0;
    z = sqltextSkip(z+1, 0);
  }else{
    while( sqltextIdChar(*z) ) z++;
    z = sqltextSkip(z, 0);
  }
  return sqltextEnds(z);
}
