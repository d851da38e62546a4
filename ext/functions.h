/* functions.h: registers the SQL functions of cancelling and privileges (doc/reference.md). */
#ifndef CANCEL_FUNCTIONS_H
#define CANCEL_FUNCTIONS_H
#include "registry.h"
int functionsRegister(sqlite3 *db, CancelSession *s);

/* Argument helpers shared with jobfunctions.c. Each returns 0 (or NULL)
** after setting an error on ctx. */
void funcError(sqlite3_context *ctx, const char *zFmt, const char *zArg);
/* Set error z (sqlite3_malloc'd, freed here; NULL: out of memory). */
void funcErrorOwned(sqlite3_context *ctx, char *z);
int funcFlagArg(sqlite3_context *ctx, int argc, sqlite3_value **argv,
                int i, const char *zFunc, const char *zName, int *pOut);
int funcIntArg(sqlite3_context *ctx, sqlite3_value *v,
               const char *zFunc, const char *zName, i64 *pOut);
const char *funcTextArg(sqlite3_context *ctx, sqlite3_value *v,
                        const char *zFunc, const char *zName);
int funcCalledDirectly(sqlite3_context *ctx, const char *zName);
int funcSelectIds(sqlite3_context *ctx, const char *zFunc, const char *zKind,
                  const char *zSql, char ***pazId, int *pnId);
const char *funcTypeName(sqlite3_value *v);   /* "NULL", "an integer", ... */
void funcFreeIds(char **azId, int nId);

/* Register a table of functions, all SQLITE_DIRECTONLY, with s as their
** user data (each holding a reference on s). */
typedef struct FuncDef FuncDef;
struct FuncDef {
  const char *zName;
  int nMinArg, nMaxArg;
  void (*xFunc)(sqlite3_context*, int, sqlite3_value**);
};
int functionsRegisterList(sqlite3 *db, CancelSession *s, const FuncDef *a, int n);
#endif
