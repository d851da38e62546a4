/*
** vtab.c: the virtual-table kit (see vtab.h): one module per kind of
** table (creatable or eponymous only, writable or not, with or without
** transaction callbacks), driven by the table's VtabDef.
*/
#include "vtab.h"
SQLITE_EXTENSION_INIT3

#include <string.h>

/* What a registration carries to xConnect: the table and its reader. */
typedef struct VtabAux VtabAux;
struct VtabAux {
  const VtabDef *pDef;
  CancelSession *pSession;
};

typedef struct VtabCursor VtabCursor;
struct VtabCursor {
  sqlite3_vtab_cursor base;
  char *aRow;                /* the snapshot: nRow rows of pDef->szRow */
  int nRow;
  int iRow;
};

#define VTAB_DEF(pVtab) (((Vtab*)(pVtab))->pDef)

/* Called when a table that has a TEMP copy is first connected as the
** eponymous main.NAME (set by cancel.c: it creates the TEMP copies). */
static int (*vtabFirstUse)(sqlite3*, CancelSession*);
void vtabSetFirstUse(int (*xFirstUse)(sqlite3*, CancelSession*)){ vtabFirstUse = xFirstUse; }

static void vtabAuxDestroy(void *p){
  VtabAux *pAux = (VtabAux*)p;
  registryUnref(pAux->pSession);
  sqlite3_free(pAux);
}

/* Does this SQLite prepare a statement again when an eponymous table's
** xConnect returns SQLITE_ERROR_RETRY? 3.52 does (the oldest release
** checked that does); 3.40 reports the error instead. */
#define VTAB_RETRY_MIN 3052000
static int vtabRetryWorks(void){
  return sqlite3_libversion_number()>=VTAB_RETRY_MIN;
}

/* xConnect (and xCreate, for a table that may be created in TEMP) */
static int vtabConnect(sqlite3 *db, void *pArg, int argc, const char *const *argv,
                       sqlite3_vtab **ppVtab, char **pzErr){
  VtabAux *pAux = (VtabAux*)pArg;
  const VtabDef *pDef = pAux->pDef;
  int nByte = pDef->szTab ? pDef->szTab : (int)sizeof(Vtab);
  Vtab *p;
  int rc;
  (void)pzErr;
  rc = sqlite3_declare_vtab(db, pDef->zSchema);
  if( rc!=SQLITE_OK ) return rc;
  if( pDef->flags & VTAB_DIRECTONLY ) sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  p = sqlite3_malloc(nByte);
  if( p==0 ) return SQLITE_NOMEM;
  memset(p, 0, nByte);
  p->pCaller = pAux->pSession;
  p->pDef = pDef;
  *ppVtab = &p->base;
  /* The eponymous table is connected once per connection, when a
  ** statement first names it; the TEMP copy is not (argv[1] "temp").
  ** If the TEMP copies were created just now, the statement being
  ** prepared should see them: SQLITE_ERROR_RETRY makes SQLite drop this
  ** connection of the eponymous table and prepare the statement again
  ** (sqlite3_prepare's own retry), where SQLite does that. */
  if( (pDef->flags & VTAB_CREATE) && vtabFirstUse && argc>=3
   && strcmp(argv[1], "main")==0 && strcmp(argv[2], pDef->zName)==0
   && vtabFirstUse(db, p->pCaller) && vtabRetryWorks() ){
    sqlite3_free(p);
    *ppVtab = 0;
    return SQLITE_ERROR_RETRY;
  }
  return SQLITE_OK;
}

static int vtabDisconnect(sqlite3_vtab *pVtab){
  if( VTAB_DEF(pVtab)->xDisconnect ) VTAB_DEF(pVtab)->xDisconnect((Vtab*)pVtab);
  sqlite3_free(pVtab);
  return SQLITE_OK;
}

/* Always a full scan of the snapshot: SQLite applies the constraints. */
static int vtabBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo){
  (void)pVtab;
  pInfo->estimatedCost = 1000.0;
  pInfo->estimatedRows = 1000;
  return SQLITE_OK;
}

static int vtabOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCur){
  VtabCursor *c = sqlite3_malloc(sizeof(*c));
  (void)pVtab;
  if( c==0 ) return SQLITE_NOMEM;
  memset(c, 0, sizeof(*c));
  *ppCur = &c->base;
  return SQLITE_OK;
}

/* Replace the cursor's snapshot (freeing the old one). */
static void vtabSetRows(VtabCursor *c, void *aRow, int nRow){
  if( c->aRow ) VTAB_DEF(c->base.pVtab)->xFree(c->aRow, c->nRow);
  c->aRow = (char*)aRow;
  c->nRow = nRow;
  c->iRow = 0;
}

static int vtabClose(sqlite3_vtab_cursor *cur){
  vtabSetRows((VtabCursor*)cur, 0, 0);
  sqlite3_free(cur);
  return SQLITE_OK;
}

/* The message of the failing snapshot of this thread (vtabSnapshotError). */
static _Thread_local char *vtabSnapErr = 0;

void vtabSnapshotError(char *zErr){
  sqlite3_free(vtabSnapErr);
  vtabSnapErr = zErr;
}

/* xFilter: a fresh snapshot for each scan. */
static int vtabFilter(sqlite3_vtab_cursor *cur, int idxNum, const char *idxStr,
                      int argc, sqlite3_value **argv){
  Vtab *p = (Vtab*)cur->pVtab;
  void *aRow = 0;
  int nRow = 0, rc;
  (void)idxNum; (void)idxStr; (void)argc; (void)argv;
  rc = p->pDef->xSnapshot(p->pCaller, &aRow, &nRow);
  vtabSetRows((VtabCursor*)cur, aRow, nRow);
  if( vtabSnapErr ){
    char *zErr = vtabSnapErr;
    vtabSnapErr = 0;
    if( rc==SQLITE_ERROR ) return vtabError(cur->pVtab, zErr);
    sqlite3_free(zErr);
  }
  return rc;
}

static int vtabNext(sqlite3_vtab_cursor *cur){
  ((VtabCursor*)cur)->iRow++;
  return SQLITE_OK;
}

static int vtabEof(sqlite3_vtab_cursor *cur){
  VtabCursor *c = (VtabCursor*)cur;
  return c->iRow>=c->nRow;
}

static const void *vtabRow(VtabCursor *c){
  return c->aRow + (size_t)c->iRow*VTAB_DEF(c->base.pVtab)->szRow;
}

static int vtabColumn(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int i){
  return VTAB_DEF(cur->pVtab)->xColumn(vtabRow((VtabCursor*)cur), ctx, i);
}

static int vtabRowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *pRowid){
  const char *pRow = (const char*)vtabRow((VtabCursor*)cur);
  i64 iRowid;
  memcpy(&iRowid, pRow + VTAB_DEF(cur->pVtab)->iRowid, sizeof(iRowid));
  *pRowid = iRowid;
  return SQLITE_OK;
}

static int vtabUpdate(sqlite3_vtab *pVtab, int argc, sqlite3_value **argv,
                      sqlite3_int64 *pRowid){
  return VTAB_DEF(pVtab)->xUpdate(pVtab, argc, argv, pRowid);
}

static int vtabBegin(sqlite3_vtab *p){ return VTAB_DEF(p)->pTxn->xBegin(p); }
static int vtabSync(sqlite3_vtab *p){ return VTAB_DEF(p)->pTxn->xSync(p); }
static int vtabCommit(sqlite3_vtab *p){ return VTAB_DEF(p)->pTxn->xCommit(p); }
static int vtabRollback(sqlite3_vtab *p){ return VTAB_DEF(p)->pTxn->xRollback(p); }
static int vtabSavepoint(sqlite3_vtab *p, int i){
  return VTAB_DEF(p)->pTxn->xSavepoint(p, i);
}
static int vtabRelease(sqlite3_vtab *p, int i){
  return VTAB_DEF(p)->pTxn->xRelease(p, i);
}
static int vtabRollbackTo(sqlite3_vtab *p, int i){
  return VTAB_DEF(p)->pTxn->xRollbackTo(p, i);
}

#if SQLITE_VERSION_NUMBER>=3044000
# define VTAB_INTEGRITY ,0     /* xIntegrity (3.44+ headers) */
#else
# define VTAB_INTEGRITY
#endif

/* The module of a table that may be created (C), modified (U), and has
** transaction callbacks (T). A callback SQLite must not see is 0: an
** eponymous-only table has no xCreate, a read-only one no xUpdate (SQLite
** then says "table X may not be modified"). */
#define VTAB_MODULE(C, U, T) {                                          \
  (T) ? 2 : 0,                                                         \
  (C) ? vtabConnect : 0, vtabConnect, vtabBestIndex,                   \
  vtabDisconnect, (C) ? vtabDisconnect : 0,                            \
  vtabOpen, vtabClose, vtabFilter, vtabNext, vtabEof, vtabColumn,      \
  vtabRowid, (U) ? vtabUpdate : 0,                                     \
  (T) ? vtabBegin : 0, (T) ? vtabSync : 0, (T) ? vtabCommit : 0,       \
  (T) ? vtabRollback : 0, 0, 0,                                        \
  (T) ? vtabSavepoint : 0, (T) ? vtabRelease : 0,                      \
  (T) ? vtabRollbackTo : 0, 0 VTAB_INTEGRITY }

static const sqlite3_module vtabModules[8] = {
  VTAB_MODULE(0,0,0), VTAB_MODULE(1,0,0), VTAB_MODULE(0,1,0), VTAB_MODULE(1,1,0),
  VTAB_MODULE(0,0,1), VTAB_MODULE(1,0,1), VTAB_MODULE(0,1,1), VTAB_MODULE(1,1,1),
};

int vtabRegister(sqlite3 *db, const VtabDef *pDef, CancelSession *s){
  int i = ((pDef->flags & VTAB_CREATE) ? 1 : 0) | (pDef->xUpdate ? 2 : 0)
        | (pDef->pTxn ? 4 : 0);
  VtabAux *pAux = sqlite3_malloc(sizeof(*pAux));
  if( pAux==0 ) return SQLITE_NOMEM;
  pAux->pDef = pDef;
  pAux->pSession = s;
  registryRef(s);   /* released by vtabAuxDestroy, even on failure */
  return sqlite3_create_module_v2(db, pDef->zName, &vtabModules[i], pAux,
                                  vtabAuxDestroy);
}

void vtabResultTime(sqlite3_context *ctx, i64 ms){
  char z[32];
  if( ms==0 ) return;       /* NULL */
  idsFormatTime(ms, z);
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
