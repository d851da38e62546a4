/*
** vtab.h: what the extension's read-mostly virtual tables (`sessions`,
** `jobs`, `cancel_log`) share. Each takes a snapshot of its rows in
** xFilter (so no lock is held while SQLite walks them) into a
** VtabCursor; the rest of the walk is the same for all three.
*/
#ifndef CANCEL_VTAB_H
#define CANCEL_VTAB_H

#include "registry.h"

typedef struct Vtab Vtab;
struct Vtab {
  sqlite3_vtab base;
  CancelSession *pCaller;    /* the session whose SQL reads the table */
};

typedef struct VtabCursor VtabCursor;
struct VtabCursor {
  sqlite3_vtab_cursor base;
  void *aRow;                /* the snapshot */
  int nRow;
  int iRow;
  void (*xFree)(void *aRow, int nRow);
};

/* Register module zName with s as its client data, holding a reference
** on s that the module's destructor (run at close) releases. */
int vtabRegister(sqlite3 *db, const char *zName, const sqlite3_module *pModule,
                 CancelSession *s);

/* xConnect: declare zSchema, DIRECTONLY, remember the caller (pAux). */
int vtabConnect(sqlite3 *db, void *pAux, const char *zSchema, sqlite3_vtab **ppVtab);
/* The same, for a table whose object extends Vtab: nByte bytes, zeroed. */
int vtabConnectSize(sqlite3 *db, void *pAux, const char *zSchema, int nByte,
                    sqlite3_vtab **ppVtab);
int vtabDisconnect(sqlite3_vtab *pVtab);
int vtabBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo);  /* a full scan */
int vtabOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCur);
int vtabClose(sqlite3_vtab_cursor *cur);
int vtabNext(sqlite3_vtab_cursor *cur);
int vtabEof(sqlite3_vtab_cursor *cur);

/* Replace the cursor's snapshot (freeing the old one). */
void vtabSetRows(VtabCursor *c, void *aRow, int nRow, void (*xFree)(void*, int));

/* Results: a time (NULL when 0), a text (NULL when NULL). */
void vtabResultTime(sqlite3_context *ctx, i64 ms);
void vtabResultText(sqlite3_context *ctx, const char *z);

/* Set pVtab's error message (zErr from sqlite3_mprintf, may be NULL). */
int vtabError(sqlite3_vtab *pVtab, char *zErr);

#endif /* CANCEL_VTAB_H */
