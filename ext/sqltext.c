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
