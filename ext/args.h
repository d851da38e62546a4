/*
** args.h: checking the arguments of the SQL functions (doc/arguments.md).
**
**   Args a = { ctx, "pg_terminate_backend", argc, argv };
**   if( !argInt(&a, 0, "pid", 1, 2147483647, &pid)
**    || !argInt(&a, 1, "timeout_ms", 0, 86400000, &timeoutMs) ) return;
**
** Each check returns 1 when argument i is good (its value in *pOut), or
** sets the error on the context, naming the function and the argument,
** and returns 0. An optional argument that was not given (i>=argc) is
** good and leaves *pOut as it was.
*/
#ifndef CANCEL_ARGS_H
#define CANCEL_ARGS_H

#include "sqlite3ext.h"

typedef struct Args Args;
struct Args {
  sqlite3_context *ctx;
  const char *zFunc;         /* the function, first in every message */
  int argc;
  sqlite3_value **argv;
};

/* iMax of argInt for "a positive integer" (iMin 1, no upper bound). */
#define ARG_NOMAX ((sqlite3_int64)0x7fffffffffffffffLL)

/* An integer, or text holding one (never a real, even 7.0), from iMin
** to iMax: "F: N must be an integer", "F: N must be between 0 and 9". */
int argInt(Args *p, int i, const char *zName, sqlite3_int64 iMin,
           sqlite3_int64 iMax, sqlite3_int64 *pOut);
/* A number (an integer or a real, or text holding one) from rMin to
** rMax: "F: N must be a number from 0 to 1". */
int argReal(Args *p, int i, const char *zName, double rMin, double rMax, double *pOut);
/* A flag: exactly 0 or 1 (or text holding one): "F: N must be 0 or 1". */
int argFlag(Args *p, int i, const char *zName, int *pOut);

/* argText flags */
#define ARG_NONEMPTY 0x01    /* '' is refused: "F: N must not be empty" */
#define ARG_NULLOK   0x02    /* NULL is good: *pz becomes NULL */
/* Text without NUL characters: "F: N must be text, not NULL", "F: N must
** be text" (a number, a blob), "F: N must not contain NUL characters". */
int argText(Args *p, int i, const char *zName, int flags, const char **pz);

/* Is zId a session or query ID (32 hex digits)? zKind "session ID" or
** "query ID": "invalid session ID '...': expected 32 hex digits". */
int argIdShape(sqlite3_context *ctx, const char *zId, const char *zKind);

/* Set the error sqlite3_mprintf(zFmt, zArg) (out of memory if that
** fails). */
void argError(sqlite3_context *ctx, const char *zFmt, const char *zArg);
/* Set error z (sqlite3_malloc'd, freed here; NULL: out of memory). */
void argErrorOwned(sqlite3_context *ctx, char *z);
/* How a value of the wrong type is described: "NULL", "an integer"... */
const char *argTypeName(sqlite3_value *v);

#endif /* CANCEL_ARGS_H */
