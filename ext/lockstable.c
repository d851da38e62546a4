/*
** lockstable.c: the `locks` and `wal_status` eponymous virtual tables
** (doc/locks.md): who holds the locks of the caller's database (the one
** it watches, if it does), as the operating system sees them, with the
** session each belongs to where one does; and why its WAL grows.
**
**   SELECT node_id, process, lock, pid FROM locks;
**   SELECT wal_bytes, frames, backfilled, pinned_frame FROM wal_status;
**
** A kernel lock belongs to a process, not a connection: a lock is given
** to the sessions of its process whose state needs it (blockersHolds),
** and shown with a NULL session when none of them does (a connection
** without the extension, a program that never loaded it).
*/
#include "lockstable.h"
#include "oslocks.h"
#include "blockers.h"
#include "snapshot.h"
#include "vtab.h"
#include "shared.h"
SQLITE_EXTENSION_INIT3

#include <stddef.h>
#include <string.h>

#define LOCKS_SCHEMA \
  "CREATE TABLE x(node_id INTEGER, process TEXT, file TEXT, lock TEXT, " \
  "mode TEXT, frame INTEGER, granted INTEGER, pid INTEGER, " \
  "session_id TEXT, since TEXT, database TEXT HIDDEN)"

#define LOCKS_NODE_ID     0   /* OS pid of the holder */
#define LOCKS_PROCESS     1   /* its command name */
#define LOCKS_FILE        2   /* 'database' or 'wal-index' */
#define LOCKS_LOCK        3   /* SQLite's name */
#define LOCKS_MODE        4   /* 'shared' or 'exclusive' (the kernel's) */
#define LOCKS_FRAME       5   /* a read mark's WAL frame, else NULL */
#define LOCKS_GRANTED     6   /* 0: waited for (a blocking request) */
#define LOCKS_PID         7   /* the session holding it, NULL none */
#define LOCKS_SESSION_ID  8
#define LOCKS_SINCE       9   /* that session's transaction start */
#define LOCKS_DATABASE   10

typedef struct LockRow LockRow;
struct LockRow {
  i64 iRow;
  OsLock lk;
  char zProcess[32];
  i64 frame;                 /* -1: none */
  i64 pid;                   /* 0: not a session's */
  char zSessionId[33];
  i64 sinceMs;
  char *zDb;                 /* shared by the rows of a scan: row 0's */
};

/* The database file pCaller's tables describe: the one it watches, else
** its own main database ('' in memory). NULL: out of memory. */
static char *lockstableDatabase(CancelSession *pCaller){
  SharedReg *p = pCaller->pWatch;
  return p ? sharedDatabasePath(p) : sqlite3_mprintf("%s", pCaller->zDatabase);
}

static int lockstableAdd(LockRow **paRow, int *pnRow, int *pnAlloc, const LockRow *pRow){
  if( *pnRow==*pnAlloc ){
    int nNew = *pnAlloc ? *pnAlloc*2 : 16;
    LockRow *aNew = sqlite3_realloc64(*paRow, sizeof(LockRow)*(sqlite3_uint64)nNew);
    if( aNew==0 ) return SQLITE_NOMEM;
    *paRow = aNew;
    *pnAlloc = nNew;
  }
  (*paRow)[*pnRow] = *pRow;
  (*paRow)[*pnRow].iRow = *pnRow + 1;
  (*pnRow)++;
  return SQLITE_OK;
}

static void lockstableFree(void *aRow, int nRow){
  if( aRow && nRow>0 ) sqlite3_free(((LockRow*)aRow)[0].zDb);
  sqlite3_free(aRow);
}

/* The rows of one scan: each kernel lock, once per session that holds it,
** or once with no session. */
static int lockstableSnapshot(CancelSession *pCaller, void **paRow, int *pnRow){
  char *zDb = lockstableDatabase(pCaller), *zErr = 0;
  OsLock *aLk = 0;
  SessionRow *aSes = 0;
  LockRow *aRow = 0;
  OsWal wal;
  int nLk = 0, nSes = 0, nRow = 0, nAlloc = 0, i, j, rc;
  *paRow = 0;
  *pnRow = 0;
  if( zDb==0 ) return SQLITE_NOMEM;
  rc = oslocksRead(zDb, &aLk, &nLk, &zErr);
  if( rc==SQLITE_OK ) rc = oslocksWal(zDb, &wal);
  if( rc==SQLITE_OK && nLk>0 ) rc = snapshotSessions(pCaller, &aSes, &nSes);
  for(i=0; rc==SQLITE_OK && i<nLk; i++){
    const OsLock *pLk = &aLk[i];
    LockRow x;
    int nFound = 0;
    /* In WAL mode every connection holds a shared lock on the database
    ** file for as long as it is open: it blocks nobody (only the last
    ** connection's close and exclusive locking mode ask for more). */
    if( wal.bWal && pLk->eFile==OSLOCK_DATABASE && pLk->eLock==OSLOCK_SHARED ) continue;
    memset(&x, 0, sizeof(x));
    x.lk = *pLk;
    x.frame = pLk->eLock==OSLOCK_WAL_READ && wal.bIndex
              && wal.aReadMark[pLk->iMark]!=OSWAL_MARK_UNUSED
            ? (i64)wal.aReadMark[pLk->iMark] : -1;
    oslocksProcessName(pLk->osPid, x.zProcess, (int)sizeof(x.zProcess));
    for(j=0; rc==SQLITE_OK && j<nSes; j++){
      const SessionRow *r = &aSes[j];
      if( r->nodeId!=pLk->osPid || strcmp(r->zDatabase, zDb)!=0 ) continue;
      if( !blockersHolds(r, pLk) ) continue;
      x.pid = r->pid;
      memcpy(x.zSessionId, r->zSessionId, sizeof(x.zSessionId));
      x.sinceMs = r->xactStartMs;
      rc = lockstableAdd(&aRow, &nRow, &nAlloc, &x);
      nFound++;
    }
    if( rc==SQLITE_OK && nFound==0 ){
      x.pid = 0;
      x.zSessionId[0] = 0;
      x.sinceMs = 0;
      rc = lockstableAdd(&aRow, &nRow, &nAlloc, &x);
    }
  }
  snapshotFree(aSes, nSes);
  sqlite3_free(aLk);
  if( rc==SQLITE_ERROR && zErr ) vtabSnapshotError(sqlite3_mprintf("locks: %s", zErr));
  sqlite3_free(zErr);
  if( nRow>0 ){
    aRow[0].zDb = zDb;
    for(i=1; i<nRow; i++) aRow[i].zDb = zDb;
  }else{
    sqlite3_free(zDb);
  }
  *paRow = aRow;
  *pnRow = nRow;
  return rc;
}

static int lockstableColumn(const void *pRow, sqlite3_context *ctx, int i){
  const LockRow *r = (const LockRow*)pRow;
  char zBuf[16];
  switch( i ){
    case LOCKS_NODE_ID:
      if( r->lk.osPid ) sqlite3_result_int64(ctx, r->lk.osPid);
      break;
    case LOCKS_PROCESS:
      if( r->zProcess[0] ) vtabResultText(ctx, r->zProcess);
      break;
    case LOCKS_FILE:
      sqlite3_result_text(ctx, r->lk.eFile==OSLOCK_DATABASE ? "database" : "wal-index",
                          -1, SQLITE_STATIC);
      break;
    case LOCKS_LOCK:
      vtabResultText(ctx, oslocksName(&r->lk, zBuf));
      break;
    case LOCKS_MODE:
      sqlite3_result_text(ctx, r->lk.bExclusive ? "exclusive" : "shared", -1, SQLITE_STATIC);
      break;
    case LOCKS_FRAME:
      if( r->frame>=0 ) sqlite3_result_int64(ctx, r->frame);
      break;
    case LOCKS_GRANTED:
      sqlite3_result_int(ctx, !r->lk.bWaiting);
      break;
    case LOCKS_PID:
      if( r->pid ) sqlite3_result_int64(ctx, r->pid);
      break;
    case LOCKS_SESSION_ID:
      if( r->zSessionId[0] ) vtabResultText(ctx, r->zSessionId);
      break;
    case LOCKS_SINCE:
      if( r->pid ) vtabResultTime(ctx, r->sinceMs);
      break;
    case LOCKS_DATABASE:
      vtabResultText(ctx, r->zDb);
      break;
  }
  return SQLITE_OK;
}

static const VtabDef locksDef = {
  "locks", LOCKS_SCHEMA, VTAB_DIRECTONLY,
  (int)sizeof(LockRow), (int)offsetof(LockRow, iRow), 0,
  lockstableSnapshot, lockstableFree, lockstableColumn, 0, 0, 0
};

/* ---------------------------------------------------------- wal_status */

#define WALSTATUS_SCHEMA \
  "CREATE TABLE x(database TEXT, journal_mode TEXT, wal_bytes INTEGER, " \
  "frames INTEGER, backfilled INTEGER, readers INTEGER, pinned_frame INTEGER)"

#define WALSTATUS_DATABASE      0
#define WALSTATUS_JOURNAL_MODE  1   /* 'wal', 'rollback'; NULL: no file */
#define WALSTATUS_WAL_BYTES     2   /* the -wal file's size */
#define WALSTATUS_FRAMES        3   /* frames readers may use (mxFrame) */
#define WALSTATUS_BACKFILLED    4   /* of them, copied to the database */
#define WALSTATUS_READERS       5   /* read marks held, by any process */
#define WALSTATUS_PINNED_FRAME  6   /* the oldest snapshot a reader holds,
                                    ** older than `frames`: no checkpoint
                                    ** copies past it. NULL none */

typedef struct WalRow WalRow;
struct WalRow {
  i64 iRow;
  char *zDb;
  OsWal wal;
  int nReaders;
  i64 pinned;                /* -1 none */
};

static void walstatusFree(void *aRow, int nRow){
  if( aRow && nRow>0 ) sqlite3_free(((WalRow*)aRow)->zDb);
  sqlite3_free(aRow);
}

static int walstatusSnapshot(CancelSession *pCaller, void **paRow, int *pnRow){
  WalRow *r;
  OsLock *aLk = 0;
  char *zErr = 0;
  int nLk = 0, i, rc;
  *paRow = 0;
  *pnRow = 0;
  r = sqlite3_malloc64(sizeof(WalRow));
  if( r==0 ) return SQLITE_NOMEM;
  memset(r, 0, sizeof(*r));
  r->iRow = 1;
  r->pinned = -1;
  r->zDb = lockstableDatabase(pCaller);
  if( r->zDb==0 ){ sqlite3_free(r); return SQLITE_NOMEM; }
  if( r->zDb[0]==0 ){                         /* in memory: nothing to show */
    walstatusFree(r, 1);
    return SQLITE_OK;
  }
  rc = oslocksWal(r->zDb, &r->wal);
  if( rc==SQLITE_OK ) rc = oslocksRead(r->zDb, &aLk, &nLk, &zErr);
  for(i=0; rc==SQLITE_OK && i<nLk; i++){
    uint32_t m;
    if( aLk[i].eLock!=OSLOCK_WAL_READ || aLk[i].bWaiting || aLk[i].bExclusive ) continue;
    r->nReaders++;
    /* A reader on mark 0 reads the database file alone: no checkpoint
    ** may write to that file while it reads, so it pins the WAL where
    ** the backfill is. A reader on mark N reads the frames up to the
    ** mark: nothing past it is copied while it reads. */
    m = aLk[i].iMark==0 ? r->wal.nBackfill : r->wal.aReadMark[aLk[i].iMark];
    if( m!=OSWAL_MARK_UNUSED && m<r->wal.mxFrame
     && (r->pinned<0 || (i64)m<r->pinned) ){
      r->pinned = m;
    }
  }
  sqlite3_free(aLk);
  if( rc==SQLITE_ERROR && zErr ) vtabSnapshotError(sqlite3_mprintf("wal_status: %s", zErr));
  sqlite3_free(zErr);
  if( rc!=SQLITE_OK ){
    walstatusFree(r, 1);
    return rc;
  }
  *paRow = r;
  *pnRow = 1;
  return SQLITE_OK;
}

static int walstatusColumn(const void *pRow, sqlite3_context *ctx, int i){
  const WalRow *r = (const WalRow*)pRow;
  int bWal = r->wal.bWal;
  switch( i ){
    case WALSTATUS_DATABASE:     vtabResultText(ctx, r->zDb); break;
    case WALSTATUS_JOURNAL_MODE:
      if( r->wal.bFile ){
        sqlite3_result_text(ctx, bWal ? "wal" : "rollback", -1, SQLITE_STATIC);
      }
      break;
    case WALSTATUS_WAL_BYTES:
      if( bWal ) sqlite3_result_int64(ctx, r->wal.walBytes<0 ? 0 : r->wal.walBytes);
      break;
    case WALSTATUS_FRAMES:
      if( bWal && r->wal.bIndex ) sqlite3_result_int64(ctx, r->wal.mxFrame);
      break;
    case WALSTATUS_BACKFILLED:
      if( bWal && r->wal.bIndex ) sqlite3_result_int64(ctx, r->wal.nBackfill);
      break;
    case WALSTATUS_READERS:
      if( bWal ) sqlite3_result_int(ctx, r->nReaders);
      break;
    case WALSTATUS_PINNED_FRAME:
      if( bWal && r->pinned>=0 ) sqlite3_result_int64(ctx, r->pinned);
      break;
  }
  return SQLITE_OK;
}

static const VtabDef walstatusDef = {
  "wal_status", WALSTATUS_SCHEMA, VTAB_DIRECTONLY,
  (int)sizeof(WalRow), (int)offsetof(WalRow, iRow), 0,
  walstatusSnapshot, walstatusFree, walstatusColumn, 0, 0, 0
};

int lockstableRegister(sqlite3 *db, CancelSession *s){
  int rc = vtabRegister(db, &locksDef, s);
  if( rc==SQLITE_OK ) rc = vtabRegister(db, &walstatusDef, s);
  return rc;
}
