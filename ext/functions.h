/* functions.h: registers the SQL functions of cancelling and privileges (doc/reference.md). */
#ifndef CANCEL_FUNCTIONS_H
#define CANCEL_FUNCTIONS_H
#include "registry.h"
int functionsRegister(sqlite3 *db, CancelSession *s);

/* Shared with jobfunctions.c and associated.c (arguments: args.h). Each
** returns 0 after setting an error on ctx. */
int funcCalledDirectly(sqlite3_context *ctx, const char *zName);
int funcSelectIds(sqlite3_context *ctx, const char *zFunc, const char *zKind,
                  const char *zSql, char ***pazId, int *pnId);
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
