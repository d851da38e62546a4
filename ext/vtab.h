/*
** vtab.h: the kit the extension's virtual tables (`sessions`, `jobs`,
** `cancel_log`) are declared on.
**
** A table is a VtabDef: its schema, the size and rowid of a row, a
** snapshot function that fills the rows, a column function, and,
** optionally, xUpdate and transaction callbacks. The kit supplies the
** sqlite3_module (xConnect, xBestIndex: a full scan, xOpen, xFilter:
** one snapshot per scan, xNext, xEof, xRowid, ...). Each scan takes its
** snapshot in xFilter, so no lock is held while SQLite walks the rows.
**
** To add a table (say `locks`):
**
**   static int locksSnapshot(CancelSession *pCaller, void **paRow, int *pnRow);
**   static void locksFree(void *aRow, int nRow);
**   static int locksColumn(const void *pRow, sqlite3_context *ctx, int iCol);
**   static const VtabDef locksDef = {
**     "locks", "CREATE TABLE x(pid INTEGER, ...)", VTAB_DIRECTONLY,
**     sizeof(LockRow), offsetof(LockRow, id), 0,
**     locksSnapshot, locksFree, locksColumn, 0, 0, 0
**   };
**   int locksRegister(sqlite3 *db, CancelSession *s){
**     return vtabRegister(db, &locksDef, s);
**   }
**
** and call locksRegister() from cancel.c with the others.
*/
#ifndef CANCEL_VTAB_H
#define CANCEL_VTAB_H

#include "registry.h"

/* The table object: every table's starts with this. */
typedef struct Vtab Vtab;
typedef struct VtabDef VtabDef;
struct Vtab {
  sqlite3_vtab base;
  CancelSession *pCaller;    /* the session whose SQL reads the table */
  const VtabDef *pDef;
};

/* What a table may do at transaction boundaries (sqlite3_module's
** meaning; all seven are set, or the table has none). */
typedef struct VtabTxn VtabTxn;
struct VtabTxn {
  int (*xBegin)(sqlite3_vtab*);
  int (*xSync)(sqlite3_vtab*);
  int (*xCommit)(sqlite3_vtab*);
  int (*xRollback)(sqlite3_vtab*);
  int (*xSavepoint)(sqlite3_vtab*, int);
  int (*xRelease)(sqlite3_vtab*, int);
  int (*xRollbackTo)(sqlite3_vtab*, int);
};

/* VtabDef.flags */
#define VTAB_DIRECTONLY  0x01  /* SQLITE_VTAB_DIRECTONLY: no view, trigger,
                               ** CHECK or DEFAULT may read it */
#define VTAB_CREATE      0x02  /* CREATE VIRTUAL TABLE t USING it works too
                               ** (a TEMP copy); else eponymous only */

/* xFirstUse(db) runs when a VTAB_CREATE table is first connected as the
** eponymous main.NAME on db, inside the prepare of the statement that
** names it (cancel.c creates the TEMP copies there); it returns 1 if it
** changed the TEMP schema, and that statement is then prepared again. */
void vtabSetFirstUse(int (*xFirstUse)(sqlite3*, CancelSession*));

struct VtabDef {
  const char *zName;         /* the module's (and eponymous table's) name */
  const char *zSchema;       /* "CREATE TABLE x(...)" */
  int flags;                 /* VTAB_* */
  int szRow;                 /* bytes of one row of the snapshot */
  int iRowid;                /* offsetof the row's i64 rowid */
  int szTab;                 /* bytes of the table object (a struct that
                             ** starts with Vtab, zeroed); 0: a Vtab */
  /* The rows the caller sees: an array of *pnRow rows of szRow bytes in
  ** *paRow, freed by xFree (also on error, with what was filled). */
  int (*xSnapshot)(CancelSession *pCaller, void **paRow, int *pnRow);
  void (*xFree)(void *aRow, int nRow);
  /* Column iCol of row pRow (no result: NULL). */
  int (*xColumn)(const void *pRow, sqlite3_context *ctx, int iCol);
  /* Optional: NULL means the table may not be modified. */
  int (*xUpdate)(sqlite3_vtab*, int argc, sqlite3_value **argv, sqlite3_int64 *pRowid);
  const VtabTxn *pTxn;       /* optional */
  void (*xDisconnect)(Vtab*);  /* optional: free what szTab added */
};

/* Register pDef's module with s as the session that reads it (a
** reference on s, released when the connection closes). */
int vtabRegister(sqlite3 *db, const VtabDef *pDef, CancelSession *s);

/* Results: a time (NULL when 0), a text (NULL when NULL). */
void vtabResultTime(sqlite3_context *ctx, i64 ms);
void vtabResultText(sqlite3_context *ctx, const char *z);

/* From a snapshot that fails with SQLITE_ERROR: its message (from
** sqlite3_mprintf; taken over). */
void vtabSnapshotError(char *zErr);

/* Set pVtab's error message (zErr from sqlite3_mprintf, may be NULL). */
int vtabError(sqlite3_vtab *pVtab, char *zErr);

#endif /* CANCEL_VTAB_H */
