/*
** blockers.c: who blocks whom (blockers.h; doc/locks.md).
**
** SQLite has no lock table to ask which connection holds what. Two
** sources answer together: what every session records (its transaction
** and whether it waits in its busy handler, in this process and, through
** the registry file, in others), and the kernel's list of the locks on
** the database file and its WAL index (oslocks.c), which also shows the
** processes that never loaded the extension. A kernel lock is a
** process's: it is put on a session of that process when the session's
** state needs that lock (blockersHolds), and shown as the process's
** otherwise.
**
** The rule: a write transaction blocks every other transaction that
** waits; in rollback-journal mode a read transaction also blocks a
** writer that waits (to commit, it needs every reader gone). In WAL mode
** readers block no writer.
*/
#include "blockers.h"
#include "snapshot.h"
#include "remote.h"
#include "shared.h"
SQLITE_EXTENSION_INIT3

#include <string.h>

static int blockersKind(const char *zKind){
  return strcmp(zKind, "write")==0 ? XACT_WRITE
       : strcmp(zKind, "read")==0 ? XACT_READ : XACT_NONE;
}

/* Does a holder's transaction of kind eHolder block a waiter whose
** transaction is of kind eWaiter? */
static int blockersKindBlocks(int eHolder, int eWaiter, int bWal){
  return eHolder==XACT_WRITE || (!bWal && eWaiter==XACT_WRITE && eHolder==XACT_READ);
}

int blockersHolds(const SessionRow *r, const OsLock *pLk){
  int eKind = blockersKind(r->zXactKind);
  int bBusy = strcmp(r->zStatus, "active")==0 || strcmp(r->zStatus, "waiting")==0;
  if( !pLk->bWaiting ){
    switch( pLk->eLock ){
      case OSLOCK_SHARED:
      case OSLOCK_WAL_READ:   return eKind!=XACT_NONE || bBusy;
      case OSLOCK_RESERVED:
      case OSLOCK_PENDING:
      case OSLOCK_EXCLUSIVE:
      case OSLOCK_WAL_WRITE:  return eKind==XACT_WRITE;
    }
  }
  return bBusy;     /* a checkpoint, a recovery, a request being waited on */
}

/* Is database zDb in WAL mode? */
static int blockersIsWal(const char *zDb){
  OsWal w;
  return oslocksWal(zDb, &w)==SQLITE_OK && w.bWal;
}

/* Does kernel lock pLk, held by a process with no session holding it,
** block a waiter of kind eWaiter? */
static int blockersLockBlocks(const OsLock *pLk, int eWaiter, int bWal){
  if( pLk->bWaiting ) return 0;
  switch( pLk->eLock ){
    case OSLOCK_RESERVED: case OSLOCK_PENDING: case OSLOCK_EXCLUSIVE:
    case OSLOCK_WAL_WRITE:
      return 1;
    case OSLOCK_SHARED:
      return !bWal && eWaiter==XACT_WRITE;
  }
  return 0;
}

/* Append to pOut the processes that lock zDb for no session in aRow and
** block a waiter of kind eWaiter of process waiterNode: one entry per
** process, its strongest such lock. Returns how many were added. */
static int blockersProcesses(sqlite3_str *pOut, int n, const char *zDb,
                             const SessionRow *aRow, int nRow, int eWaiter, int bWal){
  OsLock *aLk = 0;
  char *zErr = 0;
  int nLk = 0, i, j, nAdded = 0;
  if( oslocksRead(zDb, &aLk, &nLk, &zErr)!=SQLITE_OK ){
    sqlite3_free(zErr);
    return 0;
  }
  for(i=0; i<nLk; i++){
    const OsLock *pLk = &aLk[i];
    int bSession = 0, bDone = 0;
    char zProc[32], zBuf[16];
    if( !blockersLockBlocks(pLk, eWaiter, bWal) ) continue;
    for(j=0; j<nRow && !bSession; j++){
      bSession = aRow[j].nodeId==pLk->osPid && strcmp(aRow[j].zDatabase, zDb)==0
              && blockersHolds(&aRow[j], pLk);
    }
    if( bSession ) continue;
    /* (one entry per process: its first, the strongest, record wins) */
    for(j=0; j<i && !bDone; j++){
      bDone = aLk[j].osPid==pLk->osPid && blockersLockBlocks(&aLk[j], eWaiter, bWal);
    }
    if( bDone ) continue;
    oslocksProcessName(pLk->osPid, zProc, (int)sizeof(zProc));
    sqlite3_str_appendf(pOut, "%s{\"node_id\":%lld,\"process\":\"%w\",\"lock\":\"%s\"}",
                        n+nAdded ? "," : "", (long long)pLk->osPid, zProc,
                        oslocksName(pLk, zBuf));
    nAdded++;
  }
  sqlite3_free(aLk);
  return nAdded;
}

char *blockersOf(CancelSession *pCaller, i64 pid, const char *zId,
                 int bSessionIds, int *pbFound){
  SessionRow *aRow = 0, *w = 0;
  sqlite3_str *pOut;
  int nRow = 0, i, n = 0;
  *pbFound = 0;
  if( snapshotSessions(pCaller, &aRow, &nRow)!=SQLITE_OK ){
    *pbFound = 1;                     /* (out of memory) */
    return 0;
  }
  for(i=0; i<nRow && w==0; i++){
    if( zId ? sqlite3_stricmp(aRow[i].zSessionId, zId)==0 : aRow[i].pid==pid ) w = &aRow[i];
  }
  if( w==0 ){
    snapshotFree(aRow, nRow);
    return 0;
  }
  *pbFound = 1;
  pOut = sqlite3_str_new(0);
  sqlite3_str_appendchar(pOut, 1, '[');
  if( w->waitingSinceMs!=0 && w->zDatabase[0] ){
    int eW = blockersKind(w->zXactKind);
    int bWal = blockersIsWal(w->zDatabase);
    for(i=0; i<nRow; i++){
      const SessionRow *s = &aRow[i];
      if( s==w || strcmp(s->zDatabase, w->zDatabase)!=0 ) continue;
      if( !blockersKindBlocks(blockersKind(s->zXactKind), eW, bWal) ) continue;
      if( bSessionIds ){
        sqlite3_str_appendf(pOut, "%s\"%s\"", n ? "," : "", s->zSessionId);
      }else{
        sqlite3_str_appendf(pOut, "%s%lld", n ? "," : "", (long long)s->pid);
      }
      n++;
    }
    blockersProcesses(pOut, n, w->zDatabase, aRow, nRow, eW, bWal);
  }
  sqlite3_str_appendchar(pOut, 1, ']');
  snapshotFree(aRow, nRow);
  return sqlite3_str_finish(pOut);
}

int blockersAnyWaiter(CancelSession *s){
  CancelSession *x;
  SessionRow *aRow = 0;
  int nRow = 0, i, eHolder, bWal = -1, bAny = 0, bWriterWaits = 0;
  char *zDb;
  registryLock();
  if( s->closing ){ registryUnlock(); return 0; }
  zDb = sqlite3_mprintf("%s", s->zDatabase);
  pthread_mutex_lock(&s->mu);
  eHolder = s->eXactKind;
  pthread_mutex_unlock(&s->mu);
  if( zDb==0 || zDb[0]==0 || eHolder==XACT_NONE ){
    registryUnlock();
    sqlite3_free(zDb);
    return 0;
  }
  /* (whether a read transaction blocks a writer depends on the journal
  ** mode, read from the file once the registry lock is released) */
  for(x=registryFirst(); x; x=x->pNext){
    int eW;
    if( x==s || !registryTargetable(x) || sessionWaitingSince(x)==0
     || strcmp(x->zDatabase, zDb)!=0 ){
      continue;
    }
    pthread_mutex_lock(&x->mu);
    eW = x->eXactKind;
    pthread_mutex_unlock(&x->mu);
    if( eHolder==XACT_WRITE ) bAny = 1;
    if( eW==XACT_WRITE ) bWriterWaits = 1;
  }
  registryUnlock();
  if( !bAny && s->pShReg ){
    /* the sessions of other processes on the same registry file (their
    ** waits are published as they begin: no need to ask them to look) */
    if( remoteSnapshot(s->pShReg, "", 1, 0, &aRow, &nRow)==SQLITE_OK ){
      for(i=0; i<nRow && !bAny; i++){
        if( aRow[i].waitingSinceMs==0 || strcmp(aRow[i].zDatabase, zDb)!=0 ) continue;
        if( eHolder==XACT_WRITE ) bAny = 1;
        if( blockersKind(aRow[i].zXactKind)==XACT_WRITE ) bWriterWaits = 1;
      }
    }
    snapshotFree(aRow, nRow);
  }
  if( !bAny && bWriterWaits ){
    bWal = blockersIsWal(zDb);
    bAny = blockersKindBlocks(eHolder, XACT_WRITE, bWal);
  }
  sqlite3_free(zDb);
  return bAny;
}
