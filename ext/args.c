/*
** args.c: checking the arguments of the SQL functions (see args.h and
** doc/arguments.md, which lists every message).
*/
#include "args.h"
#include "registry.h"
SQLITE_EXTENSION_INIT3

#include <string.h>

void argErrorOwned(sqlite3_context *ctx, char *z){
  if( z ){
    sqlite3_result_error(ctx, z, -1);
    sqlite3_free(z);
  }else{
    sqlite3_result_error_nomem(ctx);
  }
}

void argError(sqlite3_context *ctx, const char *zFmt, const char *zArg){
  argErrorOwned(ctx, sqlite3_mprintf(zFmt, zArg));
}

/* "F: N <zWhat>" */
static int argFail(Args *p, const char *zName, const char *zWhat){
  argErrorOwned(p->ctx, sqlite3_mprintf("%s: %s %s", p->zFunc, zName, zWhat));
  return 0;
}

/* Is argument v an integer, or a real with an integral value (3.0: what
** JavaScript's numbers are bound as, by better-sqlite3)? Its value in *pV. */
static int argIntegral(sqlite3_value *v, i64 *pV){
  double r;
  switch( sqlite3_value_numeric_type(v) ){
    case SQLITE_INTEGER:
      *pV = sqlite3_value_int64(v);
      return 1;
    case SQLITE_FLOAT:
      r = sqlite3_value_double(v);
      if( !(r>=-9.2e18 && r<=9.2e18) || r!=(double)(i64)r ) return 0;
      *pV = (i64)r;
      return 1;
  }
  return 0;
}

int argInt(Args *p, int i, const char *zName, i64 iMin, i64 iMax, i64 *pOut){
  i64 v;
  char *z;
  if( i>=p->argc ) return 1;
  if( !argIntegral(p->argv[i], &v) ) return argFail(p, zName, "must be an integer");
  if( v<iMin || v>iMax ){
    if( iMax==ARG_NOMAX ) return argFail(p, zName, "must be a positive integer");
    z = sqlite3_mprintf("%s: %s must be between %lld and %lld", p->zFunc, zName,
                        (long long)iMin, (long long)iMax);
    argErrorOwned(p->ctx, z);
    return 0;
  }
  *pOut = v;
  return 1;
}

int argReal(Args *p, int i, const char *zName, double rMin, double rMax, double *pOut){
  int t;
  double r;
  if( i>=p->argc ) return 1;
  t = sqlite3_value_numeric_type(p->argv[i]);
  r = sqlite3_value_double(p->argv[i]);
  if( (t!=SQLITE_INTEGER && t!=SQLITE_FLOAT) || !(r>=rMin && r<=rMax) ){  /* (NaN too) */
    argErrorOwned(p->ctx, sqlite3_mprintf("%s: %s must be a number from %g to %g",
                                          p->zFunc, zName, rMin, rMax));
    return 0;
  }
  *pOut = r;
  return 1;
}

int argFlag(Args *p, int i, const char *zName, int *pOut){
  i64 v = 0;
  if( i>=p->argc ) return 1;
  if( !argIntegral(p->argv[i], &v) || (v!=0 && v!=1) ){
    return argFail(p, zName, "must be 0 or 1");
  }
  *pOut = (int)v;
  return 1;
}

int argText(Args *p, int i, const char *zName, int flags, const char **pz){
  sqlite3_value *v;
  const char *z;
  if( i>=p->argc ) return 1;
  v = p->argv[i];
  if( sqlite3_value_type(v)==SQLITE_NULL && (flags & ARG_NULLOK) ){
    *pz = 0;
    return 1;
  }
  if( sqlite3_value_type(v)!=SQLITE_TEXT ){
    /* (before sqlite3_value_text(), which would make a number text) */
    return argFail(p, zName, sqlite3_value_type(v)==SQLITE_NULL
                             ? "must be text, not NULL" : "must be text");
  }
  z = (const char*)sqlite3_value_text(v);
  if( z==0 ){
    sqlite3_result_error_nomem(p->ctx);
    return 0;
  }
  if( (int)strlen(z)!=sqlite3_value_bytes(v) ){
    /* everything after the NUL would be silently ignored */
    return argFail(p, zName, "must not contain NUL characters");
  }
  if( z[0]==0 && (flags & ARG_NONEMPTY) ) return argFail(p, zName, "must not be empty");
  *pz = z;
  return 1;
}

int argIdShape(sqlite3_context *ctx, const char *zId, const char *zKind){
  char *z;
  if( idsIsIdShape(zId) ) return 1;
  z = sqlite3_mprintf("invalid %s '%.40s': expected 32 hex digits", zKind, zId);
  argErrorOwned(ctx, z);
  return 0;
}

const char *argTypeName(sqlite3_value *v){
  switch( sqlite3_value_type(v) ){
    case SQLITE_NULL:    return "NULL";
    case SQLITE_INTEGER: return "an integer";
    case SQLITE_FLOAT:   return "a real number";
    case SQLITE_BLOB:    return "a blob";
  }
  return "text";
}
