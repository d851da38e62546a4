/*
** cancellog.c: the record of every cancel, terminate and timeout (the
** `cancel_log` table, logtable.c, shows it).
**
** The log keeps the CANCEL_LOG_SIZE most recent entries of the process;
** older ones are dropped. An entry is added when a cancel is asked for;
** its outcome is filled in when it is known ("requested" until then):
** by the target's own thread when the statement stops or ends first, or
** by the registry when a termination is complete, or when the session
** closes first. A final outcome never changes (doc/cancellog.md).
**
** A request to a session of another process is acted on, and logged, by
** that process, which publishes its entry in the registry log with the
** token the request carried. The asker's own entry learns the outcome
** from there (cancelLogRefresh): when its log is read, and from the
** registry agent about once a second. A request never taken, or whose
** target vanished without an answer, ends final too.
*/
#include "cancellog.h"
#include "remote.h"
#include "port.h"
SQLITE_EXTENSION_INIT3

#include <string.h>

typedef struct LogEntry LogEntry;
struct LogEntry {
  i64 id;                   /* 0: empty slot */
  i64 timeMs;
  const char *zAction;      /* static */
  u64 iBySession;
  char *zByUser;
  u64 iTargetTag;           /* 0: this process */
  u64 iTargetSession;
  i64 targetPid;
  char *zTargetUser;
  u64 iTargetQuery;
  char *zQuery;
  char *zAlloc;             /* the one allocation holding the three texts */
  const char *zOutcome;     /* static */
  SharedReg *pSh;           /* published there too, as entry shId */
  i64 shId;
  u64 askToken;             /* target side: the asker's token */
  i64 askOsPid;             /*   and process */
  SharedReg *pAskSh;        /* asker side: the answer comes there */
  int iAskSlot, bAskTerm;   /*   the cell the request went to */
  u64 askCell;
  i64 askSinceUs;           /*   when it was sent */
};

/* Text z into field zDst of nDst bytes, cut to fit (what snprintf's "%s"
** does, without parsing a format: this is on a cancel's path). */
static void logField(char *zDst, size_t nDst, const char *z){
  size_t n = strlen(z);
  if( n>=nDst ) n = nDst-1;
  memcpy(zDst, z, n);
  zDst[n] = 0;
}

/* Publish entry e in the registry log of the target's database. */
static i64 logPublish(const LogEntry *e){
  SharedLogEntry x;
  memset(&x, 0, sizeof(x));
  x.timeMs = e->timeMs;
  if( e->iBySession ){
    x.byTag = idsTag();
    x.bySerial = e->iBySession;
  }
  x.targetTag = e->iTargetSession ? (e->iTargetTag ? e->iTargetTag : idsTag()) : 0;
  x.targetSerial = e->iTargetSession;
  x.targetQuery = e->iTargetQuery;
  x.targetPid = e->targetPid;
  x.askToken = e->askToken;
  x.askOsPid = (uint32_t)e->askOsPid;
  logField(x.zAction, sizeof(x.zAction), e->zAction);
  logField(x.zOutcome, sizeof(x.zOutcome), e->zOutcome);
  logField(x.zByUser, sizeof(x.zByUser), e->zByUser ? e->zByUser : "");
  if( e->zTargetUser ){
    x.hasTargetUser = 1;
    logField(x.zTargetUser, sizeof(x.zTargetUser), e->zTargetUser);
  }
  if( e->zQuery ){
    x.hasQuery = 1;
    logField(x.zQuery, sizeof(x.zQuery), e->zQuery);
  }
  return shlogAdd(e->pSh, &x);
}

static pthread_mutex_t logMu = PTHREAD_MUTEX_INITIALIZER;
static LogEntry aLog[CANCEL_LOG_SIZE];
static i64 logNextId = 0;

static char *logDup(const char *z){
  return z ? sqlite3_mprintf("%s", z) : 0;
}

/* Text z (n bytes with its terminator, 0 for none) copied to *pzAt,
** which moves past it. */
static char *logPut(char **pzAt, const char *z, size_t n){
  char *zOut = *pzAt;
  if( n==0 ) return 0;
  memcpy(zOut, z, n);
  *pzAt += n;
  return zOut;
}

i64 cancelLogAdd(u64 iBySession, const char *zByUser, const char *zAction,
                 const LogTarget *pTarget, const char *zOutcome){
  LogEntry e, old;
  /* the entry's three texts in one allocation (a cancel across
  ** processes logs on the target's side, as its statement stops) */
  size_t nBy = zByUser ? strlen(zByUser)+1 : 0;
  size_t nTarget = pTarget->zUser ? strlen(pTarget->zUser)+1 : 0;
  size_t nSql = pTarget->zSql ? strlen(pTarget->zSql)+1 : 0;
  char *zAt;
  memset(&e, 0, sizeof(e));
  if( nBy+nTarget+nSql>0 ){
    e.zAlloc = sqlite3_malloc64(nBy+nTarget+nSql);
    if( e.zAlloc==0 ) return 0;
  }
  zAt = e.zAlloc;
  e.timeMs = idsNowMs();
  e.zAction = zAction;
  e.iBySession = iBySession;
  e.zByUser = logPut(&zAt, zByUser, nBy);
  e.iTargetTag = pTarget->iTag;
  e.iTargetSession = pTarget->iSession;
  e.targetPid = pTarget->pid;
  e.zTargetUser = logPut(&zAt, pTarget->zUser, nTarget);
  e.iTargetQuery = pTarget->iQuery;
  e.zQuery = logPut(&zAt, pTarget->zSql, nSql);
  e.zOutcome = zOutcome;
  e.pSh = pTarget->pSh;
  if( pTarget->pAsker && pTarget->pAsker->osPid ){
    e.askToken = pTarget->pAsker->token;
    e.askOsPid = pTarget->pAsker->osPid;
  }
  if( pTarget->pAskSh && cancelLogTransient(zOutcome) ){
    e.pAskSh = pTarget->pAskSh;
    e.iAskSlot = pTarget->iAskSlot;
    e.bAskTerm = pTarget->bAskTerm;
    e.askCell = pTarget->askCell;
    e.askSinceUs = idsMonoUs();
  }
  if( e.pSh ) e.shId = logPublish(&e);
  pthread_mutex_lock(&logMu);
  e.id = ++logNextId;
  old = aLog[e.id % CANCEL_LOG_SIZE];
  aLog[e.id % CANCEL_LOG_SIZE] = e;
  pthread_mutex_unlock(&logMu);
  sqlite3_free(old.zAlloc);
  return e.id;
}

const char *cancelLogAction(const char *zName, const char *zDefault){
  static const char *const azKnown[] = {
    "pg_cancel_backend", "pg_terminate_backend", "cancel_query",
    "cancel_session", "cancel_sessions", "DELETE FROM sessions",
  };
  int i;
  for(i=0; i<(int)(sizeof(azKnown)/sizeof(azKnown[0])); i++){
    if( strcmp(zName, azKnown[i])==0 ) return azKnown[i];
  }
  return zDefault;
}

int cancelLogTransient(const char *zOutcome){
  return zOutcome && (strcmp(zOutcome, LOG_REQUESTED)==0
                      || strncmp(zOutcome, "terminating", 11)==0);
}

u64 cancelLogNewToken(void){
  static _Atomic u64 next = 0;
  u64 t = atomic_load(&next);
  if( t==0 ){
    /* random high half: tokens of an earlier process with the same OS
    ** pid are not taken for ours */
    u64 r = portRandom64() & 0xffffffff00000000ull;
    u64 zero = 0;
    atomic_compare_exchange_strong(&next, &zero, r ? r : ((u64)idsNowMs()<<32));
  }
  t = atomic_fetch_add(&next, 1) + 1;
  return t ? t : atomic_fetch_add(&next, 1) + 1;
}

void cancelLogOutcome(i64 id, const char *zOutcome){
  LogEntry *p;
  SharedReg *pSh = 0;
  i64 shId = 0;
  if( id<=0 ) return;
  pthread_mutex_lock(&logMu);
  p = &aLog[id % CANCEL_LOG_SIZE];
  if( p->id==id && cancelLogTransient(p->zOutcome) ){  /* final: kept */
    p->zOutcome = zOutcome;
    pSh = p->pSh;
    shId = p->shId;
    if( !cancelLogTransient(zOutcome) ) p->pAskSh = 0;
  }
  pthread_mutex_unlock(&logMu);
  if( shId ) shlogOutcome(pSh, shId, zOutcome);
}

/* The static outcome an answer read from a registry file names. */
static const char *logKnownOutcome(const char *z){
  static const char *const az[] = {
    LOG_REQUESTED, LOG_INTERRUPTED, LOG_WAIT_ENDED, LOG_FINISHED, LOG_IDLE,
    LOG_TERMINATING, LOG_TERMINATED, LOG_ALREADY, LOG_NOTFOUND, LOG_DENIED,
    LOG_GONE, LOG_NOT_TAKEN, LOG_SUPERSEDED, LOG_NO_TRACE, LOG_NO_PROGRESS,
    LOG_INTERRUPT, LOG_TERM_NOMUTEX, LOG_NO_PROGRESS_API, LOG_INTERRUPT_API
  };
  int i;
  for(i=0; i<(int)(sizeof(az)/sizeof(az[0])); i++){
    if( strcmp(z, az[i])==0 ) return az[i];
  }
  return 0;
}

/* A pending request to another process, copied out of the ring. */
typedef struct LogPending LogPending;
struct LogPending {
  i64 id;
  SharedReg *pSh;
  u64 token, tag, serial, cell;
  int iSlot, bTerm;
  i64 sinceUs;
};

/* cancelLogRefresh; with bAsk, when a cancel was taken by its target
** and not answered yet, ask that process to look at its sessions and read
** again: a target whose progress handler stopped the statement logs the
** answer once the statement has stopped, when that execution is taken off
** its list (activity.c), which a look does if nothing else did first. */
static void logRefresh(int bAsk){
  LogPending aP[64];
  SharedReg *pAsk = 0;
  int n = 0, i;
  i64 id, first, nowUs;
  pthread_mutex_lock(&logMu);
  first = logNextId>=CANCEL_LOG_SIZE ? logNextId-CANCEL_LOG_SIZE+1 : 1;
  for(id=first; id<=logNextId && n<(int)(sizeof(aP)/sizeof(aP[0])); id++){
    LogEntry *e = &aLog[id % CANCEL_LOG_SIZE];
    if( e->id!=id || e->pAskSh==0 ) continue;
    aP[n].id = id;
    aP[n].pSh = e->pAskSh;
    aP[n].token = e->askToken ? e->askToken : 0;
    aP[n].tag = e->iTargetTag;
    aP[n].serial = e->iTargetSession;
    aP[n].cell = e->askCell;
    aP[n].iSlot = e->iAskSlot;
    aP[n].bTerm = e->bAskTerm;
    aP[n].sinceUs = e->askSinceUs;
    n++;
  }
  pthread_mutex_unlock(&logMu);
  nowUs = idsMonoUs();
  for(i=0; i<n; i++){
    LogPending *q = &aP[i];
    RemoteTarget t;
    char zAns[128];
    const char *zOut = 0;
    int bGone;
    memset(&t, 0, sizeof(t));
    /* gone first, then the answer: a target that answers does so before
    ** its slot is released, so an answer is never missed */
    bGone = remoteCheckSession(q->pSh, "", 1, q->tag, q->serial, 0, &t)==REG_NOTFOUND
         && !remoteSlotSameOwner(q->pSh, q->iSlot, q->bTerm, q->cell);
    if( shlogAnswer(q->pSh, q->token, zAns, sizeof(zAns)) ){
      zOut = logKnownOutcome(zAns);
      if( zOut==0 ) zOut = bGone ? LOG_GONE : 0;
    }else if( bGone ){
      zOut = LOG_GONE;
    }else if( bAsk && !q->bTerm && nowUs - q->sinceUs <= (i64)CANCEL_LOG_ANSWER_MS*1000
           && !shagentCancelWaiting(q->pSh, q->iSlot, q->cell) ){
      pAsk = q->pSh;                  /* taken, not answered yet */
    }else if( nowUs - q->sinceUs > (i64)CANCEL_LOG_ANSWER_MS*1000 ){
      if( shagentWithdraw(q->pSh, q->iSlot, q->bTerm, q->cell) ){
        zOut = LOG_NOT_TAKEN;
      }else if( nowUs - q->sinceUs > (i64)CANCEL_LOG_ANSWER_MS*2000 ){
        zOut = LOG_SUPERSEDED;    /* taken long ago, and never answered */
      }
    }
    if( zOut ) cancelLogOutcome(q->id, zOut);
  }
  if( pAsk ){
    remoteRefresh(pAsk);
    logRefresh(0);
  }
}

void cancelLogRefresh(void){
  logRefresh(0);
}

/* The entries of the registry log of the watched database. */
static int logWatchedSnapshot(SharedReg *pSh, const char *zUser, int isAdmin,
                              LogRow **paRow, int *pnRow){
  SharedLogEntry *aE = 0;
  i64 *aId = 0;
  LogRow *aRow;
  int nE = 0, i, rc;
  rc = shlogSnapshot(pSh, &aE, &aId, &nE);
  if( rc!=SQLITE_OK ) return rc;
  aRow = sqlite3_malloc64(sizeof(LogRow)*(nE ? nE : 1));
  if( aRow==0 ){
    sqlite3_free(aE);
    sqlite3_free(aId);
    return SQLITE_NOMEM;
  }
  memset(aRow, 0, sizeof(LogRow)*(nE ? nE : 1));
  for(i=0; i<nE && rc==SQLITE_OK; i++){
    SharedLogEntry *e = &aE[i];
    LogRow *r = &aRow[i];
    r->id = aId[i];
    r->timeMs = e->timeMs;
    memcpy(r->zActionBuf, e->zAction, sizeof(r->zActionBuf));
    r->zAction = r->zActionBuf;
    if( e->bySerial ) idsFormatIdTag(e->byTag, e->bySerial, r->zBySession);
    r->zByUser = logDup(e->zByUser);
    if( e->targetSerial ) idsFormatIdTag(e->targetTag, e->targetSerial, r->zTargetSession);
    r->targetPid = e->targetPid;
    r->zTargetUser = e->hasTargetUser ? logDup(e->zTargetUser) : 0;
    if( e->targetQuery ) idsFormatIdTag(e->targetTag, e->targetQuery, r->zTargetQuery);
    r->zQuery = !e->hasQuery ? 0
              : (!isAdmin && (!e->hasTargetUser || strcmp(e->zTargetUser, zUser)!=0))
              ? logDup("<insufficient privilege>") : logDup(e->zQuery);
    memcpy(r->zOutcomeBuf, e->zOutcome, sizeof(r->zOutcomeBuf));
    r->zOutcome = r->zOutcomeBuf;
    if( !r->zByUser || (e->hasTargetUser && !r->zTargetUser) || (e->hasQuery && !r->zQuery) ){
      rc = SQLITE_NOMEM;
    }
  }
  sqlite3_free(aE);
  sqlite3_free(aId);
  if( rc!=SQLITE_OK ){
    cancelLogFreeSnapshot(aRow, i);
    return rc;
  }
  *paRow = aRow;
  *pnRow = nE;
  return SQLITE_OK;
}

int cancelLogSnapshot(SharedReg *pWatch, const char *zUser, int isAdmin,
                      LogRow **paRow, int *pnRow){
  LogRow *aRow;
  int n = 0, rc = SQLITE_OK;
  i64 id, first;
  logRefresh(1);
  if( pWatch ) return logWatchedSnapshot(pWatch, zUser, isAdmin, paRow, pnRow);
  aRow = sqlite3_malloc64(sizeof(LogRow)*CANCEL_LOG_SIZE);
  if( aRow==0 ) return SQLITE_NOMEM;
  memset(aRow, 0, sizeof(LogRow)*CANCEL_LOG_SIZE);
  pthread_mutex_lock(&logMu);
  first = logNextId>=CANCEL_LOG_SIZE ? logNextId-CANCEL_LOG_SIZE+1 : 1;
  for(id=first; id<=logNextId; id++){
    LogEntry *e = &aLog[id % CANCEL_LOG_SIZE];
    LogRow *r;
    if( e->id!=id ) continue;
    r = &aRow[n++];
    r->id = e->id;
    r->timeMs = e->timeMs;
    r->zAction = e->zAction;
    if( e->iBySession ) idsFormatId(e->iBySession, r->zBySession);
    r->zByUser = logDup(e->zByUser);
    if( e->iTargetSession ) idsFormatIdTag(e->iTargetTag, e->iTargetSession, r->zTargetSession);
    r->targetPid = e->targetPid;
    r->zTargetUser = logDup(e->zTargetUser);
    if( e->iTargetQuery ) idsFormatIdTag(e->iTargetTag, e->iTargetQuery, r->zTargetQuery);
    /* query text masked as in `sessions` */
    r->zQuery = (e->zQuery && !isAdmin && (e->zTargetUser==0 || strcmp(e->zTargetUser, zUser)!=0))
              ? logDup("<insufficient privilege>") : logDup(e->zQuery);
    r->zOutcome = e->zOutcome;
    if( (e->zByUser && !r->zByUser) || (e->zTargetUser && !r->zTargetUser)
     || (e->zQuery && !r->zQuery) ){
      rc = SQLITE_NOMEM;
      break;
    }
  }
  pthread_mutex_unlock(&logMu);
  if( rc!=SQLITE_OK ){
    cancelLogFreeSnapshot(aRow, n);
    return rc;
  }
  *paRow = aRow;
  *pnRow = n;
  return SQLITE_OK;
}

void cancelLogFreeSnapshot(LogRow *aRow, int nRow){
  int i;
  for(i=0; i<nRow; i++){
    sqlite3_free(aRow[i].zByUser);
    sqlite3_free(aRow[i].zTargetUser);
    sqlite3_free(aRow[i].zQuery);
  }
  sqlite3_free(aRow);
}
