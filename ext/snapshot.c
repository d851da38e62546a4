/*
** snapshot.c: what the sessions of this process are doing, looked at
** from outside: the forgotten-cursor probe, the rows of the `sessions`
** table (doc/reference.md).
**
** Where to add a column of `sessions`: SessionRow (session.h), filled in
** snapshotSessions() here for this process's sessions and in remote.c
** (remoteSnapshot) for other processes', shown by sessions.c; doc/architecture.md.
*/
#include "snapshot.h"
#include "remote.h"
#include "cancellog.h"
SQLITE_EXTENSION_INIT3

#include <assert.h>
#include <string.h>

/* ---------------------------------------------- forgotten cursors */

/*
** A statement that returned a row and was left without a reset (a
** forgotten cursor: the most common way a Python or ORM application
** holds a lock) keeps a read transaction, and its lock, until it is
** reset or finalized. SQLite reports no "row returned" event, and
** wrapping sqlite3_step is not open to an extension; so such a statement
** is found when someone looks while the connection is idle
** (activityLookLocked): the `sessions` table, pg_blocking_pids() and
** blocking_sessions(), a cancel, the idle-in-transaction check of the
** reaper, and the registry agent's tick below.
*/

/* The agent thread of registry p, about once a second: look at this
** process's sessions on p, so that other processes (which cannot look
** themselves) see a forgotten cursor as 'idle in transaction', and a
** session idle after short statements as idle, within a second or so.
** While one of them shows a statement running, every
** SHAGENT_TICK_SOON_MS instead (returns 1): its end is learnt by a look
** (activity.c), and other processes should see it soon. */
int snapshotProbeTick(SharedReg *p, uint32_t lookGen){
  CancelSession *s;
  int bSoon = 0;
  registryLock();
  for(s=registryFirst(); s; s=s->pNext){
    ActivityLook lk;
    if( s->pShReg!=p ) continue;
    if( registryTargetable(s) ){
      activityLookLocked(s, &lk);    /* (cheap when nothing is new) */
      pthread_mutex_lock(&s->mu);
      if( s->nStmt>0 && !s->cursorIdle && !s->noMutex ) bSoon = 1;
      pthread_mutex_unlock(&s->mu);
    }
    remoteAckLook(s, lookGen);
  }
  registryUnlock();
  /* answers to this process's requests to others, even if nobody here
  ** reads the log */
  cancelLogRefresh();
  return bSoon;
}

/* ---------------------------------------------------------- snapshot */

/* s->mu held. A forgotten cursor (see above) is idle in its
** (read) transaction, as PostgreSQL shows a session between two fetches
** of a cursor; active_query still names the open statement. */
static const char *snapStatus(CancelSession *s){
  if( atomic_load(&s->eTerm)!=TERM_NONE ) return "terminating";
  if( sessionWaitingSince(s)!=0 ) return "waiting";
  if( s->nStmt>0 && !s->cursorIdle ) return "active";
  if( s->inXact || (s->cursorIdle && s->eXactKind!=XACT_NONE) ){
    return "idle in transaction";
  }
  return "idle";
}

int snapshotSessions(CancelSession *pCaller, SessionRow **paRow, int *pnRow){
  CancelSession *s;
  SessionRow *aRow;
  int n = 0, nAlloc = 0, rc = SQLITE_OK;
  i64 waitUntilUs = idsMonoUs() + ACTIVITY_NOTICE_WAIT_US;  /* (for all rows) */
  /* the caller's own statement (this scan runs inside it) is active */
  if( pCaller && pCaller->nStmt==0 ) activityNotice(pCaller);
  registryLock();
  for(s=registryFirst(); s; s=s->pNext) nAlloc++;
  aRow = sqlite3_malloc64(sizeof(SessionRow)*(nAlloc ? nAlloc : 1));
  if( aRow==0 ){
    registryUnlock();
    return SQLITE_NOMEM;
  }
  memset(aRow, 0, sizeof(SessionRow)*(nAlloc ? nAlloc : 1));
  for(s=registryFirst(); s; s=s->pNext){
    SessionRow *r;
    if( !registryTargetable(s) ) continue;
    /* a watcher sees this process's sessions of the watched database */
    if( pCaller && pCaller->pWatch && s->pShReg!=pCaller->pWatch ) continue;
    r = &aRow[n++];
    r->pid = s->pid;
    r->nodeId = (i64)idsNode();
    idsFormatId(s->iSerial, r->zSessionId);
    r->zUser = sqlite3_mprintf("%s", s->zUser);
    r->zAppName = sqlite3_mprintf("%s", s->zAppName);
    r->zClientAddr = s->zClientAddr ? sqlite3_mprintf("%s", s->zClientAddr) : 0;
    r->zDatabase = sqlite3_mprintf("%s", s->zDatabase);
    r->sessionStartMs = s->startMs;
    r->masked = !registryAllowed(pCaller, s);
    if( r->zUser==0 || r->zAppName==0 || r->zDatabase==0
     || (s->zClientAddr && r->zClientAddr==0) ){
      rc = SQLITE_NOMEM;
    }
    {
      ActivityLook lk;
      activityLookLocked(s, &lk);     /* a forgotten cursor is idle */
      if( lk.bBusyUnlisted ){
        /* a statement just started: let it be listed (it has not yet
        ** run the hundred or so VM instructions that list it) */
        i64 left = waitUntilUs - idsMonoUs();
        if( left>0 ) activityAwaitNotice(s, left);
      }
    }
    pthread_mutex_lock(&s->mu);
    r->zStatus = snapStatus(s);
    if( s->nStmt>0 ){
      ActiveStmt *a = &s->aStmt[0];  /* the oldest: the application's */
      r->zActive = sqlite3_mprintf("%s", a->zSql);
      idsFormatId(a->iQuery, r->zQueryId);
      r->queryStartMs = a->startMs;
      if( r->zActive==0 ) rc = SQLITE_NOMEM;
    }
    if( s->hasLast ){
      r->zLast = sqlite3_mprintf("%s", s->zLast);
      if( r->zLast==0 ) rc = SQLITE_NOMEM;
    }
    r->xactStartMs = s->xactStartMs;
    r->zXactKind = s->eXactKind==XACT_WRITE ? "write"
                 : s->eXactKind==XACT_READ ? "read" : "none";
    r->waitingSinceMs = sessionWaitingSince(s);
    r->stmtTimeoutMs = atomic_load(&s->stmtTimeoutMs);
    r->idleTimeoutMs = atomic_load(&s->idleTimeoutMs);
    r->xactTimeoutMs = atomic_load(&s->xactTimeoutMs);
    r->idleBlockerMs = atomic_load(&s->idleBlockerMs);
    r->zHooks = sessionHooksText(atomic_load(&s->hooksLost));
    r->zThreading = sessionThreadingText(s->noMutex);
    pthread_mutex_unlock(&s->mu);
  }
  registryUnlock();
  if( rc==SQLITE_OK && registryScope(pCaller) ){
    /* then the sessions of other processes on the caller's database */
    char *zUser = 0;
    int isAdmin = 0;
    registryCaller(pCaller, &zUser, &isAdmin);
    rc = zUser ? remoteSnapshot(registryScope(pCaller), zUser, isAdmin, 1, &aRow, &n) : SQLITE_NOMEM;
    sqlite3_free(zUser);
  }
  if( rc!=SQLITE_OK ){
    snapshotFree(aRow, n);
    return rc;
  }
  *paRow = aRow;
  *pnRow = n;
  return SQLITE_OK;
}

void snapshotFree(SessionRow *aRow, int nRow){
  int i;
  for(i=0; i<nRow; i++){
    sqlite3_free(aRow[i].zUser);
    sqlite3_free(aRow[i].zAppName);
    sqlite3_free(aRow[i].zClientAddr);
    sqlite3_free(aRow[i].zDatabase);
    sqlite3_free(aRow[i].zActive);
    sqlite3_free(aRow[i].zLast);
  }
  sqlite3_free(aRow);
}
