/*
** oslocks.c: the kernel's view of who locks a database (oslocks.h).
**
** Where SQLite's unix VFS puts its locks (os_unix.c, wal.c; fixed by the
** file format, the same in every SQLite since 3.7):
**
**   database file   PENDING_BYTE 0x40000000, RESERVED_BYTE the next one,
**                   then SHARED_SIZE 510 bytes: a read lock on those is
**                   SHARED, a write lock EXCLUSIVE
**   "-shm"          byte 120 the WAL writer, 121 checkpoint, 122 recovery,
**                   123..127 read marks 0..4 (a reader holds one shared;
**                   exclusive while it is being moved), 128 the
**                   "dead man switch" every connection holds (not listed)
**
** /proc/locks has one line per lock record: "id: [-> ]POSIX ADVISORY
** WRITE pid maj:min:inode start end", the "->" lines being requests
** blocked behind the record above them (a blocking F_SETLKW; SQLite's
** own waits poll with F_SETLK and a sleep, so they never show there).
*/
#include "oslocks.h"
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT3

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#if !defined(_WIN32)
# include <fcntl.h>
# include <unistd.h>
#endif
#if defined(__linux__)
# include <dirent.h>
# include <sys/sysmacros.h>
# define OSLOCKS_PROC 1
#endif

#define OSLOCKS_PENDING   0x40000000LL
#define OSLOCKS_RESERVED  (OSLOCKS_PENDING+1)
#define OSLOCKS_SHARED    (OSLOCKS_PENDING+2)
#define OSLOCKS_SHARED_N  510
#define OSLOCKS_SHM_BASE  120      /* (22 + 8) * 4 */
#define OSLOCKS_SHM_N     8        /* write, checkpoint, recover, 5 marks */
#define OSLOCKS_HDR_TRIES 100      /* reads of a WAL-index header being written */

int oslocksSupported(void){
#ifdef OSLOCKS_PROC
  return 1;
#else
  return 0;
#endif
}

const char *oslocksName(const OsLock *p, char *zBuf){
  static const char *azName[] = { "shared", "reserved", "pending", "exclusive",
                                  "write", "checkpoint", "recover" };
  if( p->eLock==OSLOCK_WAL_READ ){
    snprintf(zBuf, 16, "read mark %d", p->iMark);
    return zBuf;
  }
  return p->eLock>=0 && p->eLock<OSLOCK_WAL_READ ? azName[p->eLock] : "?";
}

void oslocksProcessName(int64_t osPid, char *zOut, int nOut){
  zOut[0] = 0;
#ifdef OSLOCKS_PROC
  if( osPid>0 && nOut>1 ){
    char zPath[64];
    FILE *f;
    snprintf(zPath, sizeof(zPath), "/proc/%lld/comm", (long long)osPid);
    f = fopen(zPath, "r");
    if( f ){
      if( fgets(zOut, nOut, f)==0 ) zOut[0] = 0;
      zOut[strcspn(zOut, "\n")] = 0;
      fclose(f);
    }
  }
#else
  (void)osPid; (void)nOut;
#endif
}

/* ------------------------------------------------------------ reading */

typedef struct OsLockList OsLockList;
struct OsLockList {
  OsLock *a;
  int n, nAlloc;
  int bNoMem;
};

#ifdef OSLOCKS_PROC
static void oslocksAdd(OsLockList *pL, const OsLock *p){
  if( pL->n==pL->nAlloc ){
    int nNew = pL->nAlloc ? pL->nAlloc*2 : 16;
    OsLock *aNew = sqlite3_realloc64(pL->a, sizeof(OsLock)*(sqlite3_uint64)nNew);
    if( aNew==0 ){ pL->bNoMem = 1; return; }
    pL->a = aNew;
    pL->nAlloc = nNew;
  }
  pL->a[pL->n++] = *p;
}

/* Does [iStart, iEnd] cover any of the n bytes from iFirst? */
static int oslocksCovers(long long iStart, long long iEnd, long long iFirst, int n){
  return iStart<=iFirst+n-1 && iEnd>=iFirst;
}

/* The SQLite locks one kernel record of the database file stands for. */
static void oslocksDecodeDb(OsLockList *pL, OsLock *p, long long s, long long e){
  p->eFile = OSLOCK_DATABASE;
  /* (a read lock on the pending byte is taken for a moment on the way to
  ** SHARED: not a lock of its own) */
  if( p->bExclusive && oslocksCovers(s, e, OSLOCKS_PENDING, 1) ){
    p->eLock = OSLOCK_PENDING; oslocksAdd(pL, p);
  }
  if( p->bExclusive && oslocksCovers(s, e, OSLOCKS_RESERVED, 1) ){
    p->eLock = OSLOCK_RESERVED; oslocksAdd(pL, p);
  }
  if( oslocksCovers(s, e, OSLOCKS_SHARED, OSLOCKS_SHARED_N) ){
    p->eLock = p->bExclusive ? OSLOCK_EXCLUSIVE : OSLOCK_SHARED;
    oslocksAdd(pL, p);
  }
}

/* ... of the WAL index: one lock per byte covered. */
static void oslocksDecodeShm(OsLockList *pL, OsLock *p, long long s, long long e){
  int i;
  p->eFile = OSLOCK_WALINDEX;
  for(i=0; i<OSLOCKS_SHM_N; i++){
    if( !oslocksCovers(s, e, OSLOCKS_SHM_BASE+i, 1) ) continue;
    p->eLock = i<3 ? OSLOCK_WAL_WRITE+i : OSLOCK_WAL_READ;
    p->iMark = i<3 ? 0 : i-3;
    oslocksAdd(pL, p);
  }
}

/* One line of /proc/locks, if it is a POSIX or OFD lock on (dev, ino). */
static void oslocksParseLine(OsLockList *pL, char *zLine, int bDb,
                             unsigned major, unsigned minor, unsigned long ino){
  char zType[16], zMode[16], zRw[16], zEnd[24];
  long long pid, iStart, iEnd;
  unsigned maj, min;
  unsigned long lino;
  OsLock x;
  char *z = strchr(zLine, ':');
  if( z==0 ) return;
  z++;
  memset(&x, 0, sizeof(x));
  while( *z==' ' ) z++;
  if( z[0]=='-' && z[1]=='>' ){ x.bWaiting = 1; z += 2; }
  if( sscanf(z, "%15s %15s %15s %lld %x:%x:%lu %lld %23s",
             zType, zMode, zRw, &pid, &maj, &min, &lino, &iStart, zEnd)!=9 ){
    return;
  }
  if( strcmp(zType, "POSIX")!=0 && strcmp(zType, "OFDLCK")!=0 ) return;
  /* (btrfs subvolumes and some other file systems give stat() an
  ** anonymous device, major 0, while the kernel's list shows the file
  ** system's own: there the inode alone must do) */
  if( lino!=ino || (major!=0 && (maj!=major || min!=minor)) ) return;
  iEnd = strcmp(zEnd, "EOF")==0 ? 0x7fffffffffffffffLL : atoll(zEnd);
  x.osPid = pid>0 ? pid : 0;
  x.bExclusive = strcmp(zRw, "WRITE")==0;
  if( bDb ) oslocksDecodeDb(pL, &x, iStart, iEnd);
  else oslocksDecodeShm(pL, &x, iStart, iEnd);
}
#endif /* OSLOCKS_PROC */

int oslocksRead(const char *zDb, OsLock **paLock, int *pnLock, char **pzErr){
  OsLockList L;
  memset(&L, 0, sizeof(L));
  *paLock = 0;
  *pnLock = 0;
  *pzErr = 0;
#ifdef OSLOCKS_PROC
  {
    struct stat stDb, stShm;
    int bDb, bShm;
    char *zShm = sqlite3_mprintf("%s-shm", zDb);
    char zLine[512];
    FILE *f;
    if( zShm==0 ) return SQLITE_NOMEM;
    bDb = zDb[0] && stat(zDb, &stDb)==0;
    bShm = zDb[0] && stat(zShm, &stShm)==0;
    sqlite3_free(zShm);
    if( !bDb && !bShm ) return SQLITE_OK;
    f = fopen("/proc/locks", "r");
    if( f==0 ){
      *pzErr = sqlite3_mprintf("cannot read /proc/locks: %s", strerror(errno));
      return SQLITE_ERROR;
    }
    while( fgets(zLine, sizeof(zLine), f) ){
      if( bDb ){
        oslocksParseLine(&L, zLine, 1, major(stDb.st_dev), minor(stDb.st_dev),
                         (unsigned long)stDb.st_ino);
      }
      if( bShm ){
        oslocksParseLine(&L, zLine, 0, major(stShm.st_dev), minor(stShm.st_dev),
                         (unsigned long)stShm.st_ino);
      }
    }
    fclose(f);
  }
#else
  (void)zDb;
#endif
  if( L.bNoMem ){
    sqlite3_free(L.a);
    return SQLITE_NOMEM;
  }
  *paLock = L.a;
  *pnLock = L.n;
  return SQLITE_OK;
}

/* ----------------------------------------------- files kept open */

#if !defined(_WIN32)
typedef struct OsKept OsKept;
struct OsKept {
  OsKept *pNext;
  unsigned long long dev, ino;
  int fd;
};
static OsKept *oslocksKept = 0;
static pthread_mutex_t oslocksKeptMu = PTHREAD_MUTEX_INITIALIZER;

#ifdef OSLOCKS_PROC
/* Does a descriptor of this process other than fd refer to (dev, ino)? */
static int oslocksOtherFd(int fd, unsigned long long dev, unsigned long long ino){
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  int bOther = 0;
  if( d==0 ) return 1;                      /* (cannot tell: say yes) */
  while( !bOther && (e = readdir(d))!=0 ){
    struct stat st;
    int x = atoi(e->d_name);
    if( e->d_name[0]<'0' || e->d_name[0]>'9' || x==fd || x==dirfd(d) ) continue;
    bOther = fstat(x, &st)==0 && (unsigned long long)st.st_dev==dev
          && (unsigned long long)st.st_ino==ino;
  }
  closedir(d);
  return bOther;
}

/* Close the kept descriptors of files deleted since (their space is held
** while they are open). Safe only where no other descriptor of this
** process refers to the file: then this process holds no lock on it, and
** none can be taken any more (nothing can open a deleted file by name).
** oslocksKeptMu held. */
static void oslocksPruneLocked(void){
  OsKept **pp = &oslocksKept;
  while( *pp ){
    OsKept *p = *pp;
    struct stat st;
    if( fstat(p->fd, &st)==0 && st.st_nlink==0 && !oslocksOtherFd(p->fd, p->dev, p->ino) ){
      close(p->fd);
      *pp = p->pNext;
      free(p);
    }else{
      pp = &p->pNext;
    }
  }
}
#endif /* OSLOCKS_PROC */
#endif

int oslocksReadKept(const char *zPath, long long iOff, void *aBuf, int n){
#if defined(_WIN32)
  /* (Windows locks belong to a handle: closing another one is harmless) */
  int nRead = -1;
  FILE *f = fopen(zPath, "rb");
  if( f ){
    nRead = fseek(f, (long)iOff, SEEK_SET)==0 ? (int)fread(aBuf, 1, (size_t)n, f) : 0;
    fclose(f);
  }
  return nRead;
#else
  struct stat st;
  OsKept *p;
  int fd = -1;
  if( stat(zPath, &st)!=0 ) return -1;
  pthread_mutex_lock(&oslocksKeptMu);
  for(p=oslocksKept; p; p=p->pNext){
    if( p->dev==(unsigned long long)st.st_dev && p->ino==(unsigned long long)st.st_ino ){
      fd = p->fd;
      break;
    }
  }
  if( fd<0 ){
    struct stat st2;
#ifdef OSLOCKS_PROC
    oslocksPruneLocked();                 /* (a new file: forget deleted ones) */
#endif
    fd = open(zPath, O_RDONLY|O_CLOEXEC);
    p = fd>=0 ? malloc(sizeof(*p)) : 0;
    /* (the file the descriptor opened, whatever the name now says) */
    if( p && fstat(fd, &st2)==0 ){
      p->dev = (unsigned long long)st2.st_dev;
      p->ino = (unsigned long long)st2.st_ino;
      p->fd = fd;
      p->pNext = oslocksKept;
      oslocksKept = p;
    }else if( fd>=0 ){
      /* no room to remember it: it stays open all the same (never closed) */
      free(p);
    }
  }
  pthread_mutex_unlock(&oslocksKeptMu);
  if( fd<0 ) return -1;
  return (int)pread(fd, aBuf, (size_t)n, (off_t)iOff);
#endif
}

/* ---------------------------------------------------------------- WAL */

static uint32_t oslocksGet32(const unsigned char *a){   /* native order */
  uint32_t v;
  memcpy(&v, a, 4);
  return v;
}

int oslocksWal(const char *zDb, OsWal *pWal){
  unsigned char aHdr[100];
  unsigned char aShm[120];
  char *zWal, *zShm;
  struct stat st;
  int i, bIndex = 0;
  memset(pWal, 0, sizeof(*pWal));
  pWal->walBytes = -1;
  if( zDb[0]==0 ) return SQLITE_OK;
  /* the header's read and write versions are 2 in WAL mode (offsets 18, 19) */
  if( oslocksReadKept(zDb, 0, aHdr, (int)sizeof(aHdr))==(int)sizeof(aHdr)
   && memcmp(aHdr, "SQLite format 3", 16)==0 ){
    pWal->bFile = 1;
    pWal->bWal = aHdr[18]==2 && aHdr[19]==2;
  }
  zWal = sqlite3_mprintf("%s-wal", zDb);
  zShm = sqlite3_mprintf("%s-shm", zDb);
  if( zWal==0 || zShm==0 ){
    sqlite3_free(zWal);
    sqlite3_free(zShm);
    return SQLITE_NOMEM;
  }
  if( stat(zWal, &st)==0 ) pWal->walBytes = (int64_t)st.st_size;
  /* The wal-index header (48 bytes, twice: SQLite writes the second copy
  ** first, so a read between the two writes sees them differ: read
  ** again), then the checkpoint information: nBackfill at 96, the read
  ** marks at 100..119. (Not the lock bytes from 120 on: Windows locks
  ** are mandatory, and a read of a locked byte fails.) */
  for(i=0; pWal->bWal && i<OSLOCKS_HDR_TRIES; i++){
    if( oslocksReadKept(zShm, 0, aShm, (int)sizeof(aShm))!=(int)sizeof(aShm) ) break;
    if( memcmp(aShm, aShm+48, 48)==0 ){ bIndex = 1; break; }
  }
  if( bIndex && aShm[12] ){
    pWal->bIndex = 1;
    pWal->mxFrame = oslocksGet32(&aShm[16]);
    pWal->nBackfill = oslocksGet32(&aShm[96]);
    for(i=0; i<OSWAL_NMARK; i++) pWal->aReadMark[i] = oslocksGet32(&aShm[100+4*i]);
  }
  sqlite3_free(zWal);
  sqlite3_free(zShm);
  return SQLITE_OK;
}
