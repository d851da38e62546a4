/*
** vtab.c: the parts of a virtual table that `sessions`, `jobs` and
** `cancel_log` share (see vtab.h).
*/
#include "oldnames.h"   /* until the rename (issue 17) */
#include "vtab.h"
SQLITE_EXTENSION_INIT3

#include <string.h>

static void vtabModuleDestroy(void *p){
  registryUnref((CancelSession*)p);
}

int vtabRegister(sqlite3 *db, const char *zName, const sqlite3_module *pModule,
                 CancelSession *s){
  registryRef(s);   /* released by vtabModuleDestroy, even on failure */
  return sqlite3_create_module_v2(db, zName, pModule, s, vtabModuleDestroy);
}

int vtabConnect(sqlite3 *db, void *pAux, const char *zSchema, sqlite3_vtab **ppVtab){
  return vtabConnectSize(db, pAux, zSchema, (int)sizeof(Vtab), ppVtab);
}

int vtabConnectSize(sqlite3 *db, void *pAux, const char *zSchema, int nByte,
                    sqlite3_vtab **ppVtab){
  Vtab *p;
  int rc = sqlite3_declare_vtab(db, zSchema);
  if( rc!=SQLITE_OK ) return rc;
  sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  p = sqlite3_malloc(nByte);
  if( p==0 ) return SQLITE_NOMEM;
  memset(p, 0, nByte);
  p->pCaller = (CancelSession*)pAux;
  *ppVtab = &p->base;
  return SQLITE_OK;
}

int vtabDisconnect(sqlite3_vtab *pVtab){
  sqlite3_free(pVtab);
  return SQLITE_OK;
}

int vtabBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo){
  (void)pVtab;
  pInfo->estimatedCost = 1000.0;
  pInfo->estimatedRows = 1000;
  return SQLITE_OK;
}

int vtabOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCur){
  VtabCursor *c = sqlite3_malloc(sizeof(*c));
  (void)pVtab;
  if( c==0 ) return SQLITE_NOMEM;
  memset(c, 0, sizeof(*c));
  *ppCur = &c->base;
  return SQLITE_OK;
}

void vtabSetRows(VtabCursor *c, void *aRow, int nRow, void (*xFree)(void*, int)){
  if( c->xFree ) c->xFree(c->aRow, c->nRow);
  c->aRow = aRow;
  c->nRow = nRow;
  c->iRow = 0;
  c->xFree = xFree;
}

int vtabClose(sqlite3_vtab_cursor *cur){
  vtabSetRows((VtabCursor*)cur, 0, 0, 0);
  sqlite3_free(cur);
  return SQLITE_OK;
}

int vtabNext(sqlite3_vtab_cursor *cur){
  ((VtabCursor*)cur)->iRow++;
  return SQLITE_OK;
}

int vtabEof(sqlite3_vtab_cursor *cur){
  VtabCursor *c = (VtabCursor*)cur;
  return c->iRow>=c->nRow;
}

void vtabResultTime(sqlite3_context *ctx, i64 ms){
  char z[32];
  if( ms==0 ) return;       /* NULL */
  registryFormatTime(ms, z);
  sqlite3_result_text(ctx, z, -1, SQLITE_TRANSIENT);
}

void vtabResultText(sqlite3_context *ctx, const char *z){
  if( z ) sqlite3_result_text(ctx, z, -1, SQLITE_TRANSIENT);
}

int vtabError(sqlite3_vtab *pVtab, char *zErr){
  sqlite3_free(pVtab->zErrMsg);
  pVtab->zErrMsg = zErr;
  return zErr ? SQLITE_ERROR : SQLITE_NOMEM;
}
