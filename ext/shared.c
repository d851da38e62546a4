/*
** shared.c: the registry file `<database>-cancel` (shared.h; its layout:
** shfile.h): the switch, opening, checking and mapping the file, its
** attachment (one per file, for the life of the process, with its agent
** thread: shagent.c), cancel_registry()'s status line, and the session
** pid and job id counters.
**
**   $ ls
**   app.db  app.db-cancel
*/
#include "shfile.h"
SQLITE_EXTENSION_INIT3

#include "port.h"
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "oslocks.h"
#include <time.h>

#ifndef _WIN32
# include <fcntl.h>
# include <sys/file.h>
# include <sys/mman.h>
# include <sys/stat.h>
# include <unistd.h>
#else
# include "portwin.h"      /* those calls, on Windows */
#endif

static pthread_mutex_t shMu = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local int shSuppressed = 0;

void sharedSuppress(int bOn){ shSuppressed = bOn; }
int sharedSuppressed(void){ return shSuppressed; }
static SharedReg *shFirst = 0;
static atomic_int shDefault = -1;     /* -1: not yet read from the env */

void sharedSetDefault(int bOn){ atomic_store(&shDefault, bOn ? 1 : 0); }

int sharedDefault(void){
  int v = atomic_load(&shDefault);
  if( v<0 ){
    const char *z = getenv("CANCEL_SHARED");
    v = !(z && (strcmp(z, "0")==0 || sqlite3_stricmp(z, "off")==0
                || sqlite3_stricmp(z, "no")==0 || sqlite3_stricmp(z, "false")==0));
    atomic_store(&shDefault, v);
  }
  return v;
}

int sharedUsable(SharedReg *p){ return p && p->bOk; }

/* What cancel_registry() adds after the state of a usable registry:
** jobs it had no room for, a setting ignored when it was created. */
static char *shStatusTail(SharedReg *p){
  int nFull = atomic_load(&p->nJobFull);
  char *zJobs = nFull<=0 ? sqlite3_mprintf("")
    : sqlite3_mprintf("; %d job%s not shared: registry full (%d job slots)",
                      nFull, nFull==1 ? "" : "s", p->nJob);
  char *z = zJobs ? sqlite3_mprintf("%s%s%s", zJobs, p->zNote[0] ? "; " : "",
                                    p->zNote) : 0;
  sqlite3_free(zJobs);
  return z;
}

char *sharedStatus(SharedReg *p){
  if( p==0 ) return sqlite3_mprintf("off");
  if( p->bOk ){
    char *zTail = shStatusTail(p);
    char *z = zTail ? sqlite3_mprintf("shared: %s%s", p->zPath, zTail) : 0;
    sqlite3_free(zTail);
    return z;
  }
  return sqlite3_mprintf("not shared: %s: %s", p->zPath, p->zWhy);
}

char *sharedDatabasePath(SharedReg *p){
  size_t n = strlen(p->zPath);
  return sqlite3_mprintf("%.*s", (int)(n>7 ? n-7 : 0), p->zPath);  /* -cancel */
}

char *sharedStatusNoSlot(SharedReg *p){
  char *zTail = shStatusTail(p);
  char *z = zTail ? sqlite3_mprintf("not shared: %s: registry full (%d session "
                         "slots): this session is visible only in its own "
                         "process%s", p->zPath, p->nSession, zTail) : 0;
  sqlite3_free(zTail);
  return z;
}

/* ---------------------------------------------------------------- ids */

/*
** Session pids and job ids (doc/ids.md). A counter per kind in this
** process and in the header of every registry file the process has
** attached; a new id is one past the largest of them all, written into
** every attached file's counter by compare-and-swap from a smaller value.
** The file counters only grow, so two processes that share a file never
** both write the same value into it: no two processes on one database,
** and no two sessions of one process, get the same id. Past SH_ID_MAX the
** counters wrap to 1 (the wrap count is kept in the high half of the
** word) and from then on values still in use are skipped.
*/
#define SH_ID_BASE  10000             /* new counters start at 5 digits */

/* A new counter's start: random in [SH_ID_BASE, 10*SH_ID_BASE), so that
** processes and databases that have never met use different ranges
** (their ids stay distinct if they meet later: doc/ids.md). */
static u64 shIdBase(void){
  u64 r = portRandom64();
  if( r==0 ) r = (u64)time(0)*2654435761u ^ (u64)portPid();
  return SH_ID_BASE + r % (9*SH_ID_BASE);
}

/* The counter word after c: the next value, or 1 of the next wrap once
** past SH_ID_MAX (also for any larger value a hostile file holds). */
static u64 shIdNext(u64 c){
  if( (c & 0xffffffffu)>=SH_ID_MAX ) return (((c>>32)+1)<<32) | 1;
  return c+1;
}

/* This process's counters, shMu held; 0 until first used. */
static u64 shIdProc[2];
static u64 *shIdProcGet(int iKind){
  assert( pthread_mutex_trylock(&shMu)!=0 );   /* shMu held */
  if( shIdProc[iKind]==0 ) shIdProc[iKind] = shIdBase();
  return &shIdProc[iKind];
}

static void shHeaderInit(ShHeader *h, int nSession, int nJob){
  memset(h, 0, sizeof(*h));
  memcpy(h->zMagic, SH_MAGIC, 16);
  h->version = SH_VERSION;
  h->nSession = (uint32_t)nSession;
  h->nJob = (uint32_t)nJob;
  h->slotSize = SH_SLOT_SIZE;
  atomic_store(&h->aIdLast[0], shIdBase());
  atomic_store(&h->aIdLast[1], shIdBase());
}

/* ------------------------------------------------------------- attach */


/* Take geometry nSession, nJob into p (offsets and size follow). */
static void shSetGeometry(SharedReg *p, int nSession, int nJob){
  p->nSession = nSession;
  p->nJob = nJob;
  p->iJobOff = SH_HDR_SIZE + (i64)nSession*SH_SLOT_SIZE;
  p->iLogOff = p->iJobOff + (i64)nJob*SH_SLOT_SIZE;
  p->szFile = SH_FILE_SIZE_FOR(nSession, nJob);
}

/* A slot count from environment variable zVar, for a registry this
** process creates: nDefault when unset or empty; nDefault too, with a
** log line and a note in p->zNote (cancel_registry() shows it), when it
** is not a whole number from nMin to nMax. */
static int shSettingCount(SharedReg *p, const char *zVar, int nDefault,
                          int nMin, int nMax, const char *zWhat){
  const char *z = getenv(zVar);
  char *zEnd = 0;
  long v;
  size_t n;
  if( z==0 || z[0]==0 ) return nDefault;
  errno = 0;
  v = strtol(z, &zEnd, 10);
  if( z[0]>='0' && z[0]<='9' && errno==0 && *zEnd==0 && v>=nMin && v<=nMax ){
    return (int)v;
  }
  n = strlen(p->zNote);
  snprintf(p->zNote+n, sizeof(p->zNote)-n, "%s%s=%.40s%s ignored (not a "
           "number from %d to %d): %d %s slots", n ? "; " : "", zVar, z,
           strlen(z)>40 ? "..." : "", nMin, nMax, nDefault, zWhat);
  sqlite3_log(SQLITE_WARNING, "cancel: registry %s: %s=%.40s%s is not a "
              "number from %d to %d: created with %d %s slots", p->zPath,
              zVar, z, strlen(z)>40 ? "..." : "", nMin, nMax, nDefault, zWhat);
  return nDefault;
}

/* Validate the header, or (bInit: nobody else has the file open)
** initialize an empty or broken file of ours. Returns 0 with p->zWhy
** set when the file is not usable; else the file's geometry is in p. */
static int shCheckFile(SharedReg *p, int bInit){
  struct stat st;
  ShHeader h;
  int bGeometry;
  if( fstat(p->fd, &st)!=0 ){
    snprintf(p->zWhy, sizeof(p->zWhy), "cannot stat: %s", strerror(errno));
    return 0;
  }
  memset(&h, 0, sizeof(h));
  if( st.st_size>0 && pread(p->fd, &h, sizeof(h), 0)<0 ){
    snprintf(p->zWhy, sizeof(p->zWhy), "cannot read: %s", strerror(errno));
    return 0;
  }
  if( st.st_size>0 && memcmp(h.zMagic, SH_MAGIC, 16)!=0 ){
    snprintf(p->zWhy, sizeof(p->zWhy), "not a cancel registry file (bad header); "
             "remove it if no process uses the database");
    return 0;
  }
  if( st.st_size>0 && h.version!=SH_VERSION ){
    snprintf(p->zWhy, sizeof(p->zWhy), "registry version %u, this build uses %d; "
             "remove it if no process uses the database", h.version, SH_VERSION);
    return 0;
  }
  /* the geometry the header says, if within the bounds of the settings */
  bGeometry = h.slotSize==SH_SLOT_SIZE
           && h.nSession>=SH_NSESSION_MIN && h.nSession<=SH_NSESSION_MAX
           && h.nJob>=SH_NJOB_MIN && h.nJob<=SH_NJOB_MAX;
  if( st.st_size>0 && bGeometry ){
    shSetGeometry(p, (int)h.nSession, (int)h.nJob);
    if( st.st_size==p->szFile ) return 1;
  }
  if( !bInit ){
    if( bGeometry ){
      snprintf(p->zWhy, sizeof(p->zWhy), "truncated or damaged (%lld bytes, "
               "expected %lld)", (long long)st.st_size, (long long)p->szFile);
    }else if( st.st_size==0 ){
      snprintf(p->zWhy, sizeof(p->zWhy), "truncated or damaged (0 bytes)");
    }else{
      snprintf(p->zWhy, sizeof(p->zWhy), "damaged header (%u session slots, "
               "%u job slots, slot size %u)", h.nSession, h.nJob, h.slotSize);
    }
    return 0;
  }
  /* Empty (new) or a damaged registry of ours that nobody uses: start
  ** afresh, with the geometry of this process's settings. */
  {
    int nSes, nJob;
    p->zNote[0] = 0;
    nSes = shSettingCount(p, "CANCEL_REGISTRY_SESSIONS", SH_NSESSION_DEFAULT,
                          SH_NSESSION_MIN, SH_NSESSION_MAX, "session");
    nJob = shSettingCount(p, "CANCEL_REGISTRY_JOBS", SH_NJOB_DEFAULT,
                          SH_NJOB_MIN, SH_NJOB_MAX, "job");
    shSetGeometry(p, nSes, nJob);
  }
  shHeaderInit(&h, p->nSession, p->nJob);
  if( ftruncate(p->fd, 0)!=0 || ftruncate(p->fd, p->szFile)!=0
   || pwrite(p->fd, &h, sizeof(h), 0)!=(ssize_t)sizeof(h) ){
    snprintf(p->zWhy, sizeof(p->zWhy), "cannot initialize: %s", strerror(errno));
    return 0;
  }
  return 1;
}

/* The registry file (st) must never grant more than the database (pDb):
** READ access to it shows every session's query text, write access lets
** one cancel and terminate. So: no permission bit the database lacks,
** and group bits only for the database's group. A file of ours (or any,
** as root) is brought to that; another one that grants more is refused
** (0, p->zWhy set). */
static int shSameAccess(SharedReg *p, struct stat *st, const struct stat *pDb){
  mode_t want = st->st_mode & pDb->st_mode & 0666;
  int bMine = geteuid()==0 || geteuid()==st->st_uid;
  if( st->st_gid!=pDb->st_gid && (want & 0060) ){
    /* the database's group, if we may give it (a member, or root) */
    if( bMine && fchown(p->fd, (uid_t)-1, pDb->st_gid)==0 ){
      st->st_gid = pDb->st_gid;
    }else{
      want &= ~(mode_t)0060;       /* else no group access at all */
    }
  }
  if( (st->st_mode & 0777)!=want ){
    if( bMine && fchmod(p->fd, want)==0 ){
      st->st_mode = (st->st_mode & ~(mode_t)0777) | want;
    }
  }
  if( (st->st_mode & 0777 & ~want)!=0 ){
    snprintf(p->zWhy, sizeof(p->zWhy), "the registry file grants more than "
             "the database (mode %03o, database %03o%s) and is not ours to "
             "change; its owner may fix or remove it",
             (unsigned)(st->st_mode & 0777), (unsigned)(pDb->st_mode & 0777),
             st->st_gid!=pDb->st_gid ? ", another group" : "");
    return 0;
  }
  return 1;
}

/* Open (creating with the database's permissions) and map zPath. */
static void shOpen(SharedReg *p, const char *zDb){
  struct stat stDb, st;
  int bCreated = 0;
  mode_t mode = 0644;
  if( stat(zDb, &stDb)==0 ) mode = stDb.st_mode & 0666;
  p->fd = open(p->zPath, O_RDWR|O_CLOEXEC|O_NOFOLLOW);
  if( p->fd<0 && errno==ENOENT ){
    p->fd = open(p->zPath, O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC|O_NOFOLLOW, mode);
    if( p->fd>=0 ){
      bCreated = 1;
    }else if( errno==EEXIST ){
      p->fd = open(p->zPath, O_RDWR|O_CLOEXEC|O_NOFOLLOW);
    }
  }
  if( p->fd<0 ){
    snprintf(p->zWhy, sizeof(p->zWhy), "%s%s", strerror(errno),
             errno==EACCES ? "; only this process's sessions are visible" : "");
    return;
  }
  if( bCreated ){
    /* the database's permissions exactly (open() applied the umask, which
    ** may only make them stricter: keep that), and its owner if we can */
    struct stat stNow;
    if( fstat(p->fd, &stNow)==0 ) (void)fchmod(p->fd, stNow.st_mode & mode);
    if( geteuid()==0 && stat(zDb, &stDb)==0 ){
      if( fchown(p->fd, stDb.st_uid, stDb.st_gid)!=0 ){ /* keep root's */ }
    }
  }
  if( fstat(p->fd, &st)!=0 || !S_ISREG(st.st_mode) ){
    snprintf(p->zWhy, sizeof(p->zWhy), "not a regular file");
    goto fail;
  }
  if( stat(zDb, &stDb)==0 && !shSameAccess(p, &st, &stDb) ) goto fail;
  p->dev = (u64)st.st_dev;
  p->ino = (u64)st.st_ino;
  /* Every attached process holds a shared lock for as long as it lives;
  ** whoever gets the exclusive lock is alone and may initialize. */
  if( flock(p->fd, LOCK_EX|LOCK_NB)==0 ){
    int ok = shCheckFile(p, 1);
    flock(p->fd, LOCK_SH);
    if( !ok ) goto fail;
  }else{
    flock(p->fd, LOCK_SH);
    if( !shCheckFile(p, 0) ) goto fail;
  }
  p->aMine = sqlite3_malloc64((u64)(p->nSession+p->nJob));
  if( p->aMine==0 ){
    snprintf(p->zWhy, sizeof(p->zWhy), "out of memory");
    goto fail;
  }
  memset((void*)p->aMine, 0, (size_t)(p->nSession+p->nJob));
  p->aMap = mmap(0, (size_t)p->szFile, PROT_READ|PROT_WRITE, MAP_SHARED, p->fd, 0);
  if( p->aMap==MAP_FAILED ){
    p->aMap = 0;
    snprintf(p->zWhy, sizeof(p->zWhy), "cannot map: %s", strerror(errno));
    goto fail;
  }
  p->bOk = 1;
  return;
fail:
  sqlite3_free((void*)p->aMine);
  p->aMine = 0;
  close(p->fd);
  p->fd = -1;
}
char *sharedWatchPath(const char *zDb, char **pzErr){
  char *zReal, *zOut;
  char aHdr[16];
  struct stat st;
  ssize_t n;
  *pzErr = 0;
  zReal = realpath(zDb, 0);
  if( zReal==0 || stat(zReal, &st)!=0 ){
    *pzErr = sqlite3_mprintf("cannot watch %s: %s", zDb,
                 errno==ENOENT ? "no such database file" : strerror(errno));
    free(zReal);
    return 0;
  }
  if( !S_ISREG(st.st_mode) ){
    *pzErr = sqlite3_mprintf("cannot watch %s: not a database file", zDb);
    free(zReal);
    return 0;
  }
  /* The first 16 bytes say whether it is a database; reading them takes
  ** no lock (SQLite locks bytes far beyond them), and the descriptor is
  ** never closed: that would drop the locks a connection of this process
  ** holds on it (oslocksReadKept). */
  if( st.st_size>0 ){
    n = oslocksReadKept(zReal, 0, aHdr, (int)sizeof(aHdr));
    if( n<0 ){
      *pzErr = sqlite3_mprintf("cannot watch %s: %s", zDb, strerror(errno));
      free(zReal);
      return 0;
    }
    if( n!=(ssize_t)sizeof(aHdr) || memcmp(aHdr, "SQLite format 3", 16)!=0 ){
      *pzErr = sqlite3_mprintf("cannot watch %s: not a SQLite database", zDb);
      free(zReal);
      return 0;
    }
  }
  zOut = sqlite3_mprintf("%s", zReal);
  free(zReal);
  return zOut;
}

/* Is id v held by a live slot of kind iKind in p? (Read racily: the
** answer only makes the caller skip a value.) */
static int shIdInFile(SharedReg *p, int iKind, i64 v){
  int i, n = iKind ? p->nJob : p->nSession;
  for(i=0; i<n; i++){
    _Atomic u64 *pOwner = iKind ? &shfileJob(p, i)->owner : &shfileSession(p, i)->owner;
    const i64 *pId = iKind ? &shfileJob(p, i)->id : &shfileSession(p, i)->pid;
    i64 x;
    if( SH_OSPID(atomic_load_explicit(pOwner, memory_order_acquire))==0 ) continue;
    shslotCopyRacy(&x, pId, sizeof(x));
    if( x==v ) return 1;
  }
  return 0;
}

/* The id counter of kind iKind in p, or 0: p is not usable, or the word
** holds what no process of ours writes (a wrap count of 2^31 or more
** takes 2^62 ids: a hostile or damaged file, left out of the count). */
static _Atomic u64 *shIdWord(SharedReg *p, int iKind){
  _Atomic u64 *pW;
  if( !p->bOk || !p->bIdIntact ) return 0;
  pW = &shfileHdr(p)->aIdLast[iKind];
  return (atomic_load(pW)>>32)>=0x80000000u ? 0 : pW;
}

#define SH_ID_RACES 1000   /* lost claims before files are left out */

i64 sharedNextId(int iKind, int (*xUsed)(i64)){
  SharedReg *p;
  u64 *pProc, c;
  int nRace = 0;
  pthread_mutex_lock(&shMu);
  pProc = shIdProcGet(iKind);
  for(;;){
    int bRace = 0, bUsed;
    i64 v;
    c = *pProc;
    for(p=shFirst; p; p=p->pNext) p->bIdIntact = p->bOk && shslotIntact(p);
    for(p=shFirst; p && nRace<SH_ID_RACES; p=p->pNext){
      _Atomic u64 *pW = shIdWord(p, iKind);
      u64 x = pW ? atomic_load(pW) : 0;
      if( x>c ) c = x;
    }
    c = shIdNext(c);
    /* claim c in every attached file: each word goes from below c to c */
    for(p=shFirst; p && nRace<SH_ID_RACES; p=p->pNext){
      _Atomic u64 *pW = shIdWord(p, iKind);
      u64 o;
      if( pW==0 ) continue;
      o = atomic_load(pW);
      while( o<c && !atomic_compare_exchange_weak(pW, &o, c) ){}
      if( o>=c ){ bRace = 1; break; }    /* taken meanwhile: next value */
    }
    *pProc = c;
    if( bRace ){
      if( ++nRace==SH_ID_RACES ){
        sqlite3_log(SQLITE_WARNING, "cancel: the id counters of the registry "
                    "files keep changing: ids from this process's counter only");
      }
      continue;
    }
    v = (i64)(c & 0xffffffffu);
    if( (c>>32)==0 ) break;              /* never wrapped: never used */
    bUsed = xUsed(v);
    for(p=shFirst; p && !bUsed; p=p->pNext){
      if( p->bOk && p->bIdIntact ) bUsed = shIdInFile(p, iKind, v);
    }
    if( !bUsed ) break;
  }
  pthread_mutex_unlock(&shMu);
  return (i64)(c & 0xffffffffu);
}

static void shAtomicMax(_Atomic u64 *p, u64 v){
  u64 o = atomic_load(p);
  while( o<v && !atomic_compare_exchange_weak(p, &o, v) ){}
}

/* A file attached now: its counters and this process's meet at their
** maximum (shMu held), so that later ids of either are past both. */
static void shIdMerge(SharedReg *p){
  int k;
  assert( pthread_mutex_trylock(&shMu)!=0 );   /* shMu held */
  p->bIdIntact = p->bOk && shslotIntact(p);
  for(k=0; k<2; k++){
    u64 *pProc = shIdProcGet(k);
    _Atomic u64 *pW = shIdWord(p, k);
    if( pW==0 ) continue;
    if( atomic_load(pW)>*pProc ) *pProc = atomic_load(pW);
    shAtomicMax(pW, *pProc);
  }
}

SharedReg *sharedAttach(const char *zDb){
  SharedReg *p, *q;
  char *zPath;
  if( zDb==0 || zDb[0]==0 ) return 0;
  zPath = sqlite3_mprintf("%s-cancel", zDb);
  if( zPath==0 ) return 0;
  pthread_mutex_lock(&shMu);
  for(p=shFirst; p && strcmp(p->zPath, zPath)!=0; p=p->pNext){}
  if( p ){
    pthread_mutex_unlock(&shMu);
    sqlite3_free(zPath);
    return p;
  }
  p = sqlite3_malloc(sizeof(*p));
  if( p==0 ){
    pthread_mutex_unlock(&shMu);
    sqlite3_free(zPath);
    return 0;
  }
  memset(p, 0, sizeof(*p));
  p->zPath = zPath;
  p->fd = -1;
  shOpen(p, zDb);
  if( p->bOk ){
    /* The same file under another name (a link): one attachment. */
    for(q=shFirst; q; q=q->pNext){
      if( q->bOk && q->dev==p->dev && q->ino==p->ino ) break;
    }
    if( q ){
      munmap(p->aMap, (size_t)p->szFile);
      sqlite3_free((void*)p->aMine);
      close(p->fd);
      p->bOk = 0;
      p->aMap = 0;
      snprintf(p->zWhy, sizeof(p->zWhy), "same file as %s", q->zPath);
      sqlite3_free(p->zPath);
      sqlite3_free(p);
      pthread_mutex_unlock(&shMu);
      return q;
    }else{
      if( !shagentStart(p) ){
        munmap(p->aMap, (size_t)p->szFile);
        close(p->fd);
        p->bOk = 0;
        p->aMap = 0;
        snprintf(p->zWhy, sizeof(p->zWhy), "cannot start its thread");
      }else{
        shIdMerge(p);
      }
    }
  }
  if( !p->bOk ){
    sqlite3_log(SQLITE_WARNING, "cancel: registry %s not shared: %s",
                p->zPath, p->zWhy);
  }
  p->pNext = shFirst;
  shFirst = p;
  pthread_mutex_unlock(&shMu);
  return p;
}

void sharedSetRetention(i64 seconds){
  SharedReg *p;
  shslotSetRetention(seconds);
  pthread_mutex_lock(&shMu);
  for(p=shFirst; p; p=p->pNext){
    if( p->bOk && shslotIntact(p) ){
      atomic_store(&shfileHdr(p)->jobRetention, (u64)seconds+1);
    }
  }
  pthread_mutex_unlock(&shMu);
}

i64 sharedRetentionSec(SharedReg *p){
  if( !sharedUsable(p) || !shslotIntact(p) ){
    return shslotRetentionMs(0)/1000;          /* this process's */
  }
  return shslotRetentionMs(p)/1000;
}

