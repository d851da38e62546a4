/*
** registry.c: the process-wide registry of sessions.
**
** See registry.h for the locking rules. This is the only file that
** touches another session's connection: registryFinishTermination()
** rolls back a terminated session's transaction and installs a deny-all
** authorizer, holding that connection's mutex (taken with a try-lock
** under the registry lock, so close can never race it).
**
** Terminations that cannot be finished at once (the target is inside a
** statement, or is the caller's own connection mid-statement) are handed
** to a reaper thread that retries whenever a statement of a terminated
** session ends.
*/
#include "registry.h"
#include "hooks.h"
SQLITE_EXTENSION_INIT3

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t regMu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t regGone = PTHREAD_COND_INITIALIZER;  /* a termination
                                        ** finished or a session left */
static CancelSession *regFirst = 0;
static CancelSession *regLast = 0;
static i64 regNextPid = 0;
static _Atomic u64 regNextSerial = 0;  /* sessions and queries share it,
                                       ** so no two ids are ever equal */

/* Every id of this process starts with this 64-bit random tag; the
** second half is the OS pid (top 24 bits) and a 40-bit counter. */
static pthread_once_t regOnce = PTHREAD_ONCE_INIT;
static u64 regTag = 0;
static u64 regNode = 0;
static char regOsUser[64];

/* Reaper: finishes terminations that had to wait. */
static pthread_cond_t reaperCond = PTHREAD_COND_INITIALIZER;
static int reaperStarted = 0;
static unsigned reaperKicks = 0;

static void regInitOnce(void){
  struct timespec ts;
  struct passwd pw, *pRes = 0;
  char buf[1024];
  u64 r = 0;
  clock_gettime(CLOCK_REALTIME, &ts);
  if( getrandom(&r, sizeof(r), 0)!=(ssize_t)sizeof(r) ) r = 0;
  regTag = r ^ ((u64)ts.tv_sec*1000000000ull + (u64)ts.tv_nsec);
  regNode = (u64)getpid();
  if( getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &pRes)==0 && pRes ){
    snprintf(regOsUser, sizeof(regOsUser), "%s", pw.pw_name);
  }else if( getenv("USER") ){
    snprintf(regOsUser, sizeof(regOsUser), "%s", getenv("USER"));
  }else{
    snprintf(regOsUser, sizeof(regOsUser), "uid%d", (int)geteuid());
  }
}

/* ---------------------------------------------------------------- ids */

static u64 regMakeSerial(u64 n){
  return ((regNode & 0xffffff)<<40) | (n & 0xffffffffffull);
}

void registryFormatId(u64 iSerial, char *zOut){
  snprintf(zOut, 33, "%016llx%016llx",
           (unsigned long long)regTag, (unsigned long long)iSerial);
}

int registryIsIdShape(const char *z){
  int i;
  if( z==0 ) return 0;
  for(i=0; i<32; i++){
    char c = z[i];
    if( !((c>='0' && c<='9') || (c>='a' && c<='f') || (c>='A' && c<='F')) ){
      return 0;
    }
  }
  return z[32]==0;
}

static u64 regParseHex16(const char *z){
  u64 v = 0;
  int i;
  for(i=0; i<16; i++){
    char c = z[i];
    int d = (c>='0' && c<='9') ? c-'0' : (c>='a' && c<='f') ? c-'a'+10 : c-'A'+10;
    v = (v<<4) | (u64)d;
  }
  return v;
}

int registryParseId(const char *z, u64 *piSerial){
  pthread_once(&regOnce, regInitOnce);
  if( !registryIsIdShape(z) ) return 0;
  if( regParseHex16(z)!=regTag ) return 0;
  *piSerial = regParseHex16(z+16);
  return 1;
}

u64 registryNextQuery(void){
  return regMakeSerial(atomic_fetch_add(&regNextSerial, 1) + 1);
}

i64 registryNowMs(void){
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (i64)ts.tv_sec*1000 + ts.tv_nsec/1000000;
}

void registryFormatTime(i64 ms, char *zOut){
  time_t t = (time_t)(ms/1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  snprintf(zOut, 32, "%04d-%02d-%02d %02d:%02d:%02d.%03d",
           (tm.tm_year+1900)%10000, (tm.tm_mon+1)%100, tm.tm_mday%100,
           tm.tm_hour%100, tm.tm_min%100, tm.tm_sec%100, (int)(ms%1000));
}

/* --------------------------------------------------------- enrolment */

CancelSession *registryEnrol(sqlite3 *db){
  CancelSession *s;
  const char *zFile;
  pthread_once(&regOnce, regInitOnce);
  s = sqlite3_malloc(sizeof(*s));
  if( s==0 ) return 0;
  memset(s, 0, sizeof(*s));
  s->db = db;
  s->startMs = registryNowMs();
  zFile = sqlite3_db_filename(db, "main");
  s->zDatabase = sqlite3_mprintf("%s", zFile ? zFile : "");
  s->zUser = sqlite3_mprintf("%s", regOsUser);
  s->zAppName = sqlite3_mprintf("");
  s->isAdmin = 1;
  if( s->zDatabase==0 || s->zUser==0 || s->zAppName==0 ){
    sqlite3_free(s->zDatabase);
    sqlite3_free(s->zUser);
    sqlite3_free(s->zAppName);
    sqlite3_free(s);
    return 0;
  }
  pthread_mutex_init(&s->mu, 0);
  pthread_cond_init(&s->cond, 0);
  atomic_init(&s->iCancelQuery, 0);
  atomic_init(&s->eTerm, TERM_NONE);
  atomic_init(&s->denyInstalled, 0);
  atomic_init(&s->waitingSinceMs, 0);
  pthread_mutex_lock(&regMu);
  s->pid = ++regNextPid;
  s->iSerial = registryNextQuery();
  if( regLast ) regLast->pNext = s; else regFirst = s;
  regLast = s;
  pthread_mutex_unlock(&regMu);
  return s;
}

CancelSession *registryFind(sqlite3 *db){
  CancelSession *s;
  pthread_mutex_lock(&regMu);
  for(s=regFirst; s; s=s->pNext){
    if( s->db==db && !s->closing ) break;
  }
  pthread_mutex_unlock(&regMu);
  return s;
}

static void regFree(CancelSession *s){
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->cond);
  sqlite3_free(s->aStmt);
  sqlite3_free(s->zLast);
  sqlite3_free(s->zDatabase);
  sqlite3_free(s->zUser);
  sqlite3_free(s->zAppName);
  sqlite3_free(s->zClientAddr);
  sqlite3_free(s);
}

/* Drop one reference with regMu held; returns 1 if s must be freed. */
static int regUnrefLocked(CancelSession *s){
  CancelSession **pp;
  if( --s->nRef>0 ) return 0;
  s->closing = 1;
  for(pp=&regFirst; *pp; pp=&(*pp)->pNext){
    if( *pp==s ){
      *pp = s->pNext;
      break;
    }
  }
  if( regLast==s ){
    CancelSession *p;
    regLast = 0;
    for(p=regFirst; p; p=p->pNext) regLast = p;
  }
  pthread_cond_broadcast(&regGone);
  return 1;
}

void registryRef(CancelSession *s){
  pthread_mutex_lock(&regMu);
  s->nRef++;
  pthread_mutex_unlock(&regMu);
}

/* The destructor of every registration calls this. The last one runs
** while sqlite3_close holds the connection mutex, after which the
** connection is gone: from then on nobody may touch s->db. */
void registryUnref(CancelSession *s){
  int bFree;
  pthread_mutex_lock(&regMu);
  bFree = regUnrefLocked(s);
  pthread_mutex_unlock(&regMu);
  if( bFree ) regFree(s);
}

/* ----------------------------------------------------------- callers */

void registryCaller(CancelSession *s, char **pzUser, int *pIsAdmin){
  pthread_mutex_lock(&regMu);
  *pzUser = sqlite3_mprintf("%s", s->zUser);
  *pIsAdmin = s->isAdmin;
  pthread_mutex_unlock(&regMu);
}

int registrySetUser(CancelSession *s, const char *zUser, int isAdmin){
  char *z = sqlite3_mprintf("%s", zUser);
  int rc = REG_OK;
  if( z==0 ) return REG_NOMEM;
  pthread_mutex_lock(&regMu);
  if( !s->isAdmin ){
    rc = REG_DENIED;
  }else{
    sqlite3_free(s->zUser);
    s->zUser = z;
    z = 0;
    s->isAdmin = isAdmin ? 1 : 0;
  }
  pthread_mutex_unlock(&regMu);
  sqlite3_free(z);
  return rc;
}

static int regSetText(char **pz, const char *zNew){
  char *z = zNew ? sqlite3_mprintf("%s", zNew) : 0;
  if( zNew && z==0 ) return REG_NOMEM;
  pthread_mutex_lock(&regMu);
  sqlite3_free(*pz);
  *pz = z;
  pthread_mutex_unlock(&regMu);
  return REG_OK;
}

int registrySetAppName(CancelSession *s, const char *zName){
  return regSetText(&s->zAppName, zName);
}

int registrySetClientAddr(CancelSession *s, const char *zAddr){
  return regSetText(&s->zClientAddr, zAddr);
}

/* ---------------------------------------------------------- lookups */

/* A session a cancel may be aimed at: alive and not yet fully ended. */
static int regTargetable(CancelSession *s){
  return !s->closing && atomic_load(&s->eTerm)!=TERM_DONE;
}

static CancelSession *regBySerial(u64 iSerial){
  CancelSession *s;
  for(s=regFirst; s; s=s->pNext){
    if( s->iSerial==iSerial && regTargetable(s) ) return s;
  }
  return 0;
}

static CancelSession *regByPid(i64 pid){
  CancelSession *s;
  for(s=regFirst; s; s=s->pNext){
    if( s->pid==pid && regTargetable(s) ) return s;
  }
  return 0;
}

/* SPEC 5: an admin may cancel anything, others only their own user's. */
static int regAllowed(CancelSession *pCaller, CancelSession *pTarget){
  if( pCaller->isAdmin ) return 1;
  return strcmp(pCaller->zUser, pTarget->zUser)==0;
}

/* ------------------------------------------------------- cancelling */

/* With s->mu held: is execution iQuery among s's running statements? */
static int regIsRunning(CancelSession *s, u64 iQuery){
  int i;
  for(i=0; i<s->nStmt; i++){
    if( s->aStmt[i].iQuery==iQuery ) return 1;
  }
  return 0;
}

/* Ask s's own thread to interrupt execution iQuery (0: the statement it
** runs now), if that is still running. The check and the request are
** made under s->mu, which the statement's end also takes, so a request
** is never left behind for an execution that has ended. The progress
** and busy handlers compare it with the statement they run. */
static int regRequestIfRunning(CancelSession *s, u64 iQuery){
  int bRunning;
  pthread_mutex_lock(&s->mu);
  if( iQuery==0 && s->nStmt>0 ) iQuery = s->aStmt[s->nStmt-1].iQuery;
  bRunning = iQuery!=0 && regIsRunning(s, iQuery);
  if( bRunning ){
    atomic_store(&s->iCancelQuery, iQuery);
    pthread_cond_broadcast(&s->cond);
  }
  pthread_mutex_unlock(&s->mu);
  return bRunning;
}

int registryCancelQuery(CancelSession *pCaller, u64 iQuery){
  CancelSession *s;
  int rc = REG_NOTFOUND;
  pthread_mutex_lock(&regMu);
  for(s=regFirst; s; s=s->pNext){
    int bFound;
    if( !regTargetable(s) ) continue;
    pthread_mutex_lock(&s->mu);
    bFound = regIsRunning(s, iQuery);
    pthread_mutex_unlock(&s->mu);
    if( !bFound ) continue;
    if( !regAllowed(pCaller, s) ){
      rc = REG_DENIED;
    }else{
      /* It may have ended meanwhile: then it is as if it had ended
      ** before the call (nothing to interrupt), and we still report 1. */
      regRequestIfRunning(s, iQuery);
      rc = REG_OK;
    }
    break;
  }
  pthread_mutex_unlock(&regMu);
  return rc;
}

int registryCancelBackend(CancelSession *pCaller, i64 pid){
  CancelSession *s;
  int rc;
  pthread_mutex_lock(&regMu);
  s = regByPid(pid);
  if( s==0 ){
    rc = REG_NOTFOUND;
  }else if( !regAllowed(pCaller, s) ){
    rc = REG_DENIED;
  }else{
    regRequestIfRunning(s, 0);     /* idle: nothing to do */
    rc = REG_OK;
  }
  pthread_mutex_unlock(&regMu);
  return rc;
}

int registryCheckSerial(CancelSession *pCaller, u64 iSerial){
  CancelSession *s;
  int rc;
  pthread_mutex_lock(&regMu);
  s = regBySerial(iSerial);
  rc = s==0 ? REG_NOTFOUND : regAllowed(pCaller, s) ? REG_OK : REG_DENIED;
  pthread_mutex_unlock(&regMu);
  return rc;
}

static void reaperKickLocked(void);

/* Mark s terminated (regMu held), then try to finish at once. */
static int regTerminateLocked(CancelSession *pCaller, CancelSession *s){
  int expected = TERM_NONE;
  if( s==0 ){
    pthread_mutex_unlock(&regMu);
    return REG_NOTFOUND;
  }
  if( !regAllowed(pCaller, s) ){
    pthread_mutex_unlock(&regMu);
    return REG_DENIED;
  }
  atomic_compare_exchange_strong(&s->eTerm, &expected, TERM_REQUEST);
  pthread_mutex_lock(&s->mu);
  pthread_cond_broadcast(&s->cond);      /* out of a busy-handler wait */
  pthread_mutex_unlock(&s->mu);
  s->nRef++;                              /* pin while we work on it */
  pthread_mutex_unlock(&regMu);

  if( !registryFinishTermination(s) ){
    pthread_mutex_lock(&regMu);
    reaperKickLocked();
    pthread_mutex_unlock(&regMu);
  }
  registryUnref(s);
  return REG_OK;
}

int registryTerminateBySerial(CancelSession *pCaller, u64 iSerial){
  pthread_mutex_lock(&regMu);
  return regTerminateLocked(pCaller, regBySerial(iSerial));
}

int registryTerminateByPid(CancelSession *pCaller, i64 pid){
  pthread_mutex_lock(&regMu);
  return regTerminateLocked(pCaller, regByPid(pid));
}

/*
** Complete the termination of s: roll back its transaction (releasing
** its locks) and install the deny-all authorizer, which also expires
** every prepared statement so that none can run again.
**
** Returns 1 when nothing is left to do (done, closing, or impossible
** because the connection has no mutex), 0 to be retried later.
**
** The connection mutex is taken with a try-lock while regMu is held:
** if close is under way it holds that mutex and we back off; once we
** hold it, close cannot start, so regMu can be released.
*/
int registryFinishTermination(CancelSession *s){
  sqlite3_mutex *m;
  int bSameThread;
  pthread_mutex_lock(&regMu);
  if( s->closing || atomic_load(&s->eTerm)!=TERM_REQUEST ){
    pthread_mutex_unlock(&regMu);
    return 1;
  }
  m = sqlite3_db_mutex(s->db);
  if( m==0 ){
    /* SQLITE_OPEN_NOMUTEX or single-thread mode: another thread may not
    ** use the connection. The own-thread hooks still refuse every new
    ** statement and every commit (README, "Other threading modes"). */
    pthread_mutex_unlock(&regMu);
    return 1;
  }
  if( sqlite3_mutex_try(m)!=SQLITE_OK ){
    pthread_mutex_unlock(&regMu);
    return 0;
  }
  /* The mutex is recursive: we may be the target's own thread, called
  ** from inside one of its statements. Rolling back under a running
  ** statement is not safe; leave it to the reaper. */
  pthread_mutex_lock(&s->mu);
  bSameThread = s->nStmt>0 && pthread_equal(s->execThread, pthread_self());
  if( !bSameThread ) s->finishing = 1;
  pthread_mutex_unlock(&s->mu);
  if( bSameThread ){
    sqlite3_mutex_leave(m);
    pthread_mutex_unlock(&regMu);
    return 0;
  }
  s->nRef++;
  pthread_mutex_unlock(&regMu);

  if( !sqlite3_get_autocommit(s->db) ){
    sqlite3_exec(s->db, "ROLLBACK", 0, 0, 0);
  }
  hooksDenyAll(s);

  pthread_mutex_lock(&s->mu);
  s->finishing = 0;
  s->inXact = !sqlite3_get_autocommit(s->db);
  if( !s->inXact && s->nStmt==0 ) s->xactStartMs = 0;
  pthread_mutex_unlock(&s->mu);
  atomic_store(&s->eTerm, TERM_DONE);
  sqlite3_mutex_leave(m);

  pthread_mutex_lock(&regMu);
  pthread_cond_broadcast(&regGone);
  pthread_mutex_unlock(&regMu);
  registryUnref(s);
  return 1;
}

int registryWaitGone(i64 pid, int timeoutMs){
  struct timespec dl;
  int bGone = 0;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += timeoutMs/1000;
  dl.tv_nsec += (long)(timeoutMs%1000)*1000000L;
  if( dl.tv_nsec>=1000000000L ){ dl.tv_sec++; dl.tv_nsec -= 1000000000L; }
  pthread_mutex_lock(&regMu);
  for(;;){
    if( regByPid(pid)==0 ){ bGone = 1; break; }
    if( pthread_cond_timedwait(&regGone, &regMu, &dl)==ETIMEDOUT ){
      bGone = regByPid(pid)==0;
      break;
    }
  }
  pthread_mutex_unlock(&regMu);
  return bGone;
}

/* ----------------------------------------------------------- reaper */

static void *reaperMain(void *pArg){
  int backoffMs = 0;
  (void)pArg;
  pthread_mutex_lock(&regMu);
  for(;;){
    CancelSession *s;
    CancelSession *aWork[64];
    int nWork = 0, i, bPending = 0;
    unsigned kicks = reaperKicks;
    for(s=regFirst; s && nWork<64; s=s->pNext){
      if( !s->closing && atomic_load(&s->eTerm)==TERM_REQUEST ){
        s->nRef++;
        aWork[nWork++] = s;
      }
    }
    pthread_mutex_unlock(&regMu);
    for(i=0; i<nWork; i++){
      if( !registryFinishTermination(aWork[i]) ) bPending = 1;
      registryUnref(aWork[i]);
    }
    pthread_mutex_lock(&regMu);
    if( nWork==64 ) bPending = 1;
    if( reaperKicks!=kicks ){
      backoffMs = 0;
      continue;
    }
    if( bPending ){
      /* The target still holds its mutex (it is inside a statement that
      ** is being interrupted). Retry soon, backing off up to 50 ms; a
      ** statement end of a terminated session kicks us sooner. */
      struct timespec dl;
      backoffMs = backoffMs ? (backoffMs*2>50 ? 50 : backoffMs*2) : 1;
      clock_gettime(CLOCK_REALTIME, &dl);
      dl.tv_nsec += (long)backoffMs*1000000L;
      if( dl.tv_nsec>=1000000000L ){ dl.tv_sec++; dl.tv_nsec -= 1000000000L; }
      pthread_cond_timedwait(&reaperCond, &regMu, &dl);
    }else{
      backoffMs = 0;
      pthread_cond_wait(&reaperCond, &regMu);
    }
  }
  return 0;
}

static void reaperKickLocked(void){
  reaperKicks++;
  if( !reaperStarted ){
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if( pthread_create(&t, &attr, reaperMain, 0)==0 ) reaperStarted = 1;
    pthread_attr_destroy(&attr);
  }
  pthread_cond_signal(&reaperCond);
}

void registryKickReaper(void){
  pthread_mutex_lock(&regMu);
  reaperKickLocked();
  pthread_mutex_unlock(&regMu);
}

/* ---------------------------------------------------------- snapshot */

static const char *regStatus(CancelSession *s){
  if( atomic_load(&s->eTerm)!=TERM_NONE ) return "terminating";
  if( atomic_load(&s->waitingSinceMs)!=0 ) return "waiting";
  if( s->nStmt>0 ) return "active";
  if( s->inXact ) return "idle in transaction";
  return "idle";
}

int registrySnapshot(CancelSession *pCaller, SessionRow **paRow, int *pnRow){
  CancelSession *s;
  SessionRow *aRow;
  int n = 0, nAlloc = 0, rc = SQLITE_OK;
  pthread_mutex_lock(&regMu);
  for(s=regFirst; s; s=s->pNext) nAlloc++;
  aRow = sqlite3_malloc64(sizeof(SessionRow)*(nAlloc ? nAlloc : 1));
  if( aRow==0 ){
    pthread_mutex_unlock(&regMu);
    return SQLITE_NOMEM;
  }
  memset(aRow, 0, sizeof(SessionRow)*(nAlloc ? nAlloc : 1));
  for(s=regFirst; s; s=s->pNext){
    SessionRow *r;
    if( !regTargetable(s) ) continue;
    r = &aRow[n++];
    r->pid = s->pid;
    r->nodeId = (i64)regNode;
    registryFormatId(s->iSerial, r->zSessionId);
    r->zUser = sqlite3_mprintf("%s", s->zUser);
    r->zAppName = sqlite3_mprintf("%s", s->zAppName);
    r->zClientAddr = s->zClientAddr ? sqlite3_mprintf("%s", s->zClientAddr) : 0;
    r->zDatabase = sqlite3_mprintf("%s", s->zDatabase);
    r->sessionStartMs = s->startMs;
    r->masked = !regAllowed(pCaller, s);
    if( r->zUser==0 || r->zAppName==0 || r->zDatabase==0
     || (s->zClientAddr && r->zClientAddr==0) ){
      rc = SQLITE_NOMEM;
    }
    pthread_mutex_lock(&s->mu);
    r->zStatus = regStatus(s);
    if( s->nStmt>0 ){
      ActiveStmt *a = &s->aStmt[0];  /* the oldest: the application's */
      r->zActive = sqlite3_mprintf("%s", a->zSql);
      registryFormatId(a->iQuery, r->zQueryId);
      r->queryStartMs = a->startMs;
      if( r->zActive==0 ) rc = SQLITE_NOMEM;
    }
    if( s->hasLast ){
      r->zLast = sqlite3_mprintf("%s", s->zLast);
      if( r->zLast==0 ) rc = SQLITE_NOMEM;
    }
    r->xactStartMs = s->xactStartMs;
    pthread_mutex_unlock(&s->mu);
  }
  pthread_mutex_unlock(&regMu);
  if( rc!=SQLITE_OK ){
    registryFreeSnapshot(aRow, n);
    return rc;
  }
  *paRow = aRow;
  *pnRow = n;
  return SQLITE_OK;
}

void registryFreeSnapshot(SessionRow *aRow, int nRow){
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
