/*
** shared.c: the cross-process registry (see shared.h for the design).
**
**   $ ls
**   app.db  app.db-cancel
**
** The file: a header page, nSession session slots, nJob job slots, each
** SH_SLOT_SIZE bytes, then the cancel log; 5.25 MB by default, sparse
** (only used slots take disk). The process that creates (initializes) the
** file chooses nSession and nJob (CANCEL_REGISTRY_SESSIONS and
** CANCEL_REGISTRY_JOBS, doc/registry.md) and writes them into the header;
** every process that opens the file then takes the geometry from there,
** checked against the file's size, whatever its own environment says.
**
** A slot's owner word is (generation << 32) | OS pid, with OS pid 0 when
** the slot is free. A process claims a free slot by compare-and-swap,
** bumping the generation; releases it by writing its pid as 0; and any
** process may free a slot whose owner is dead (no such process, a zombie,
** or a process with the same pid but a later start time: pid reuse).
** The published contents are written under a per-slot sequence number
** (odd while the owner writes) and copied out by readers, who retry or
** skip a slot that changed under them.
**
** Requests are single words written by another process:
**   cancelReq  (generation & 0xffffff) << 40 | the query serial's low 40
**              bits (its high bits are the owner's pid, implied)
**   termReq    the generation of the session to terminate
**   ctlReq     (generation << 4) | SHJOB_* for a job
** A cancel or termination first writes who asks (user, backend pid, OS
** pid, action, time: cancelBy / termBy, under their own sequence word,
** tagged with the request word they go with), for the target's
** cancel_reason(); then the request word; then the header's wake word
** is bumped and futex-woken. The owner's
** agent thread swaps each cell to 0 and passes what it found to
** registry.c / jobs.c, which check everything again.
*/
#include "oldnames.h"   /* until the rename (issue 17) */
#include "shared.h"
#include "jobs.h"
#include "cancellog.h"
SQLITE_EXTENSION_INIT3

#include "port.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef _WIN32
# include <fcntl.h>
# include <signal.h>
# include <sys/file.h>
# include <sys/mman.h>
# include <sys/stat.h>
# include <unistd.h>
# ifdef __linux__
#  include <linux/futex.h>
#  include <sys/syscall.h>
# endif
#endif

#define SH_MAGIC       "cancel registry\n"   /* 16 bytes */
#define SH_VERSION     2        /* 2: id counters (doc/ids.md), cancelBy,
                                ** termBy, SH_TXT 1280, the cancel log,
                                ** hooksLost, noMutex */
#define SH_SLOT_SIZE   4096
#define SH_HDR_SIZE    4096
#define SH_NLOG        512      /* cancel log entries, a ring */
#define SH_LOG_SIZE    1024
/* Slot counts: the default, and the bounds of the settings (and of what
** a file's header may say) */
#define SH_NSESSION_DEFAULT  1024
#define SH_NJOB_DEFAULT      256
#define SH_NSESSION_MIN      64
#define SH_NSESSION_MAX      65536
#define SH_NJOB_MIN          16
#define SH_NJOB_MAX          16384
#define SH_FILE_SIZE_FOR(nSes, nJob) \
  (SH_HDR_SIZE + (i64)((nSes)+(nJob))*SH_SLOT_SIZE + (i64)SH_NLOG*SH_LOG_SIZE)
#define SH_FILE_SIZE_DEFAULT SH_FILE_SIZE_FOR(SH_NSESSION_DEFAULT, SH_NJOB_DEFAULT)
#define SH_NQUERY      4        /* running query ids published per session */
#define SH_TXT         1280     /* bytes of statement text published */

typedef struct ShHeader ShHeader;
struct ShHeader {
  char zMagic[16];
  uint32_t version, nSession, nJob, slotSize;
  _Atomic uint32_t wake;       /* futex word: bumped by every request */
  uint32_t unused;
  /* The last session pid [0] and job id [1] handed out on this database:
  ** (number of wraps << 32) | value, value 1..SH_ID_MAX (doc/ids.md).
  ** Any process may write anything here: read as numbers, never trusted. */
  _Atomic u64 aIdLast[2];
  _Atomic u64 logNext;         /* the last cancel log id handed out */
  /* How long finished jobs stay listed, for every process on this
  ** database: seconds + 1 (0: never set, the default of one day). */
  _Atomic u64 jobRetention;
};

/* Values of ShSession.status */
#define SH_IDLE        0
#define SH_ACTIVE      1
#define SH_IDLE_XACT   2
#define SH_WAITING     3
#define SH_TERMINATING 4
#define SH_GONE        5        /* terminated: no longer listed */

/* Who asked for the request in cancelReq or termReq: written by the
** requesting process (seq odd while it writes; requesters take it by
** compare-and-swap) before the request word; cell is that word. */
typedef struct ShAsker ShAsker;
struct ShAsker {
  _Atomic uint32_t seq;
  uint32_t osPid;
  u64 cell;
  i64 pid, timeMs;
  u64 token;                   /* names the asker's log entry */
  char zAction[24];
  char zUser[128];
};

typedef struct ShSession ShSession;
struct ShSession {
  _Atomic u64 owner;
  _Atomic uint32_t seq;
  _Atomic uint32_t termReq;
  _Atomic u64 cancelReq;
  _Atomic u64 procStart;       /* read by reapers outside seq */
  ShAsker cancelBy, termBy;    /* outside seq: see ShAsker */
  /* published under seq */
  u64 tag, iSerial;
  i64 pid, startMs, xactStartMs, waitingSinceMs, queryStartMs;
  u64 aQuery[SH_NQUERY];       /* running executions, oldest first */
  u64 iNewest;                 /* the newest running execution */
  uint32_t nQuery;
  int32_t stmtTimeoutMs, idleTimeoutMs;
  uint8_t status, xactKind, isAdmin, hasClient;
  uint8_t iActive, iLast;      /* 1 + index into aTxt, 0 none */
  uint8_t hooksLost;           /* HOOKS_*_LOST (registry.h) */
  uint8_t noMutex;             /* 1: multi-thread connection */
  char zUser[128], zApp[128], zClient[128], zDatabase[512];
  char aTxt[2][SH_TXT];
};

/*
** A job slot. Its owner word is that of a session slot, or, once the
** owning process is gone, a tombstone: SH_TOMB in place of the OS pid,
** the job's final status in the slot, listed by every process until the
** retention passes (whichever process notices the death first writes
** it, holding SH_TOMBING meanwhile).
**
** Control is a round trip: the requester takes ctlLock (its OS pid),
** writes ctlSeq then ctlReq, and waits (futex on ansSeq) until the owner
** has applied the request and written ansRc/ansStatus and ansSeq =
** ctlSeq. So the caller gets the owner's answer, under the owner's rules.
** A report (job_progress, job_end of an admin of another process) puts
** its data in the mailbox first (msg*, tagged with its ctlSeq).
*/
typedef struct ShJob ShJob;
struct ShJob {
  _Atomic u64 owner;
  _Atomic uint32_t seq;
  _Atomic uint32_t ctlReq;
  _Atomic u64 procStart;
  u64 coordTag, coordSerial;
  i64 id;
  double fraction;
  i64 createdMs, startedMs, finishedMs, modifiedMs;
  uint8_t status, hasError;
  uint8_t builtin;             /* run by the extension: no one reports on it */
  uint32_t osPid;              /* the owner's, kept in a tombstone */
  /* the control round trip (outside seq) */
  _Atomic uint32_t ctlLock, ctlSeq, ansSeq;
  _Atomic int32_t ansRc, ansStatus;
  /* a report's data, written by the requester holding ctlLock */
  uint32_t msgSeq;             /* the ctlSeq of the request it goes with */
  uint32_t msgHasText;
  double msgFraction;
  char zMsg[512];              /* running_status, or the error */
  char zType[64], zUser[128], zRunning[512], zError[512], zDesc[1504];
  char zPart[700];             /* a partial file to remove if it dies */
  u64 createdSerial;           /* created_by: a session of this process
                               ** (coordTag), 0 unknown */
};

#define SH_TOMB     0xfffffffeu   /* owner "pid" of a tombstone */
#define SH_TOMBING  0xfffffffdu   /* ... while it is being written */

/* One entry of the registry's cancel log: the actions of every process
** on this database, for watchers (cancel_watch). Entry id lives at index
** id % SH_NLOG. Any process may write an entry (its creator) or its
** outcome (the creator, or later the target's process), so the sequence
** word doubles as a spin lock: a writer makes it odd by compare-and-swap
** and even again when done; readers copy and check as for slots. */
typedef struct ShLog ShLog;
struct ShLog {
  _Atomic u64 id;              /* 0: empty */
  _Atomic uint32_t seq;
  uint32_t pad;
  SharedLogEntry e;
};

_Static_assert(sizeof(ShHeader)<=SH_HDR_SIZE, "header fits its page");
_Static_assert(sizeof(ShLog)<=SH_LOG_SIZE, "log entry fits");
_Static_assert(sizeof(ShSession)<=SH_SLOT_SIZE, "session slot fits");
_Static_assert(sizeof(ShJob)<=SH_SLOT_SIZE, "job slot fits");

struct SharedReg {
  SharedReg *pNext;
  char *zPath;                 /* the registry file */
  int bOk;                     /* mapped and valid */
  char zWhy[200];              /* why not, when !bOk */
  unsigned char *aMap;
  int fd;
  u64 dev, ino;
  /* The file's geometry, from its header (checked at open, fixed then):
  ** every slot and offset is computed from these, never from the header
  ** again (any process may write anything there). */
  int nSession, nJob;          /* slot counts */
  i64 iJobOff, iLogOff;        /* where the job slots and the log start */
  i64 szFile;                  /* its size; shIntact() checks it */
  /* Slots this process owns (sessions, then jobs: nSession+nJob): the
  ** agent looks only at these, so it does not walk the whole file at
  ** every wake. */
  atomic_uchar *aMine;
  atomic_int nJobFull;         /* jobs listed here that found no slot */
  char zNote[300];             /* a setting ignored when creating it */
};

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
#define SH_ID_MAX   0x7fffffff        /* int4's largest */
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
  if( shIdProc[iKind]==0 ) shIdProc[iKind] = shIdBase();
  return &shIdProc[iKind];
}

#ifndef _WIN32
/* ------------------------------------------------------------ helpers */

static const char *const azShStatus[] = {   /* by SH_* status */
  "idle", "active", "idle in transaction", "waiting", "terminating"
};

static ShHeader *shHdr(SharedReg *p){ return (ShHeader*)p->aMap; }
/* The header of a new, empty registry of this version. */
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
/* Slots and log entries: at offsets of the file's own geometry. */
static ShSession *shSession(SharedReg *p, int i){
  return (ShSession*)(p->aMap + SH_HDR_SIZE + (i64)i*SH_SLOT_SIZE);
}
static ShJob *shJob(SharedReg *p, int i){
  return (ShJob*)(p->aMap + p->iJobOff + (i64)i*SH_SLOT_SIZE);
}

static ShLog *shLog(SharedReg *p, i64 id){
  return (ShLog*)(p->aMap + p->iLogOff + (id % SH_NLOG)*SH_LOG_SIZE);
}

static long shMyPid(void){
  static atomic_long pid = 0;
  long v = atomic_load_explicit(&pid, memory_order_relaxed);
  if( v==0 ){ v = portPid(); atomic_store_explicit(&pid, v, memory_order_relaxed); }
  return v;
}
static u64 shMyStart(void){
  static _Atomic u64 t = 0;
  u64 v = atomic_load_explicit(&t, memory_order_relaxed);
  if( v==0 ){ v = sharedProcessStart(shMyPid()); atomic_store_explicit(&t, v, memory_order_relaxed); }
  return v;
}

#define SH_OSPID(o)  ((long)((o) & 0xffffffffu))
/* procStart: (generation & 0xffffff) << SH_START_BITS | the start time */
#define SH_START_BITS 40
#define SH_START_MASK ((1ull<<SH_START_BITS)-1)
#define SH_GEN(o)    ((uint32_t)((o)>>32))

/*
** The start time of a process, in clock ticks since boot (Linux: field 22
** of /proc/PID/stat); 0 if unknown; 1 for a zombie (dead, not reaped).
*/
u64 sharedProcessStart(long ospid){
#ifdef __linux__
  char zPath[64], aBuf[1024];
  int fd, n, iField;
  char *z;
  snprintf(zPath, sizeof(zPath), "/proc/%ld/stat", ospid);
  fd = open(zPath, O_RDONLY|O_CLOEXEC);
  if( fd<0 ) return 0;
  n = (int)read(fd, aBuf, sizeof(aBuf)-1);
  close(fd);
  if( n<=0 ) return 0;
  aBuf[n] = 0;
  z = strrchr(aBuf, ')');      /* the command name may hold anything */
  if( z==0 ) return 0;
  z++;
  for(iField=3; *z && iField<22; iField++){   /* field 3 is the state */
    while( *z==' ' ) z++;
    if( iField==3 && (*z=='Z' || *z=='X') ) return 1;
    while( *z && *z!=' ' ) z++;
  }
  while( *z==' ' ) z++;
  return (u64)strtoull(z, 0, 10);
#else
  (void)ospid;
  return 0;
#endif
}

/* Is the owner of a slot (OS pid, published start time) alive? */
static int shAlive(long ospid, u64 procStart){
  u64 t;
  if( ospid<=0 || ospid>=(long)SH_TOMBING ) return 0;   /* not a pid */
  if( ospid==shMyPid() ) return 1;
  if( kill((pid_t)ospid, 0)!=0 && errno==ESRCH ) return 0;
  t = sharedProcessStart(ospid);
  if( t==1 ) return 0;                         /* zombie */
  if( t && procStart && (t & SH_START_MASK)!=procStart ) return 0;  /* pid reused */
  return 1;
}

/*
** A slot's procStart is published by its owner just after the claim, so
** for a moment a new owner's slot still holds the previous owner's start
** time, and judging the new owner by it would call it dead (a reader did:
** it freed the slot of a live session, which then vanished for every other
** process; ids.test under TSan). So the value carries the generation of
** the owner word it belongs to, and is used only with that owner.
*/
static u64 shStartTag(u64 o){
  return ((u64)(SH_GEN(o) & 0xffffff)<<SH_START_BITS) | (shMyStart() & SH_START_MASK);
}
static int shOwnerAlive(u64 o, u64 procStartTagged){
  u64 start = (procStartTagged>>SH_START_BITS)==(SH_GEN(o) & 0xffffff)
            ? (procStartTagged & SH_START_MASK) : 0;
  return shAlive(SH_OSPID(o), start);
}

/* Wake every agent of the file (they look at their own slots). */
static void shWake(SharedReg *p){
  atomic_fetch_add(&shHdr(p)->wake, 1);
#ifdef __linux__
  syscall(SYS_futex, &shHdr(p)->wake, FUTEX_WAKE, 0x7fffffff, 0, 0, 0);
#endif
}

/* Copy a string into a fixed field, truncated, always terminated. */
static void shCopy(char *zDst, int nDst, const char *zSrc){
  int n = zSrc ? (int)strlen(zSrc) : 0;
  if( n>=nDst ) n = nDst-1;
  if( n>0 ) memcpy(zDst, zSrc, n);
  zDst[n] = 0;
}

/* A string field copied out of the file: terminated within its size? */
static int shTerminated(const char *z, int n){
  return memchr(z, 0, n)!=0;
}

/* Seqlock write brackets (the owner's threads, serialized by s->mu or
** the jobs lock). */
static void shWriteBegin(_Atomic uint32_t *pSeq){
  uint32_t v = atomic_load_explicit(pSeq, memory_order_relaxed);
  atomic_store_explicit(pSeq, v|1u, memory_order_relaxed);
  atomic_thread_fence(memory_order_release);
}
static void shWriteEnd(_Atomic uint32_t *pSeq){
  uint32_t v = atomic_load_explicit(pSeq, memory_order_relaxed);
  atomic_store_explicit(pSeq, (v|1u)+1u, memory_order_release);
}

/* The seqlock reader's copy. It races with writers by design: shRead
** keeps the copy only if the sequence word did not move meanwhile. So it
** is a plain word loop that TSan does not instrument (memcpy would be
** intercepted and reported; the slot's words are 8-byte aligned). */
#if defined(__SANITIZE_THREAD__)
# define SH_NO_TSAN __attribute__((no_sanitize_thread, noinline))
#elif defined(__has_feature)
# if __has_feature(thread_sanitizer)
#  define SH_NO_TSAN __attribute__((no_sanitize("thread"), noinline))
# endif
#endif
#ifndef SH_NO_TSAN
# define SH_NO_TSAN
#endif
static SH_NO_TSAN void shCopyRacy(void *pDst, const void *pSrc, int nByte){
  const volatile u64 *s = (const volatile u64*)pSrc;
  u64 *d = (u64*)pDst;
  const volatile unsigned char *sb;
  unsigned char *db;
  int i, nWord = nByte/8;
  for(i=0; i<nWord; i++) d[i] = s[i];
  sb = (const volatile unsigned char*)pSrc;
  db = (unsigned char*)pDst;
  for(i=nWord*8; i<nByte; i++) db[i] = sb[i];
}

/* Copy nByte of a slot out; 1 if the copy is consistent and the owner
** word was o throughout. */
/* How long a reader waits for a slot being written: a writer holds it for
** a copy of a few KB, but may be descheduled meanwhile (a busy machine,
** valgrind): yield first, then sleep, for up to about 20 ms in all. A
** reader that gives up skips the slot this once; callers that must not
** mistake that for absence (sharedWaitGone) look again. */
#define SH_READ_YIELDS 20
#define SH_READ_TRIES  220
static void shReadBackoff(int nTry){
  if( nTry<SH_READ_YIELDS ){
    sched_yield();
  }else{
    struct timespec ts = { 0, 100000 };    /* 100 us */
    nanosleep(&ts, 0);
  }
}
static int shRead(void *pDst, const void *pSlot, int nByte,
                  _Atomic u64 *pOwner, _Atomic uint32_t *pSeq, u64 *pO){
  int nTry;
  for(nTry=0; nTry<SH_READ_TRIES; nTry++){
    u64 o = atomic_load_explicit(pOwner, memory_order_acquire);
    uint32_t v1 = atomic_load_explicit(pSeq, memory_order_acquire);
    uint32_t v2;
    if( SH_OSPID(o)==0 ) return 0;
    if( v1&1u ){ shReadBackoff(nTry); continue; }
    shCopyRacy(pDst, pSlot, nByte);
    atomic_thread_fence(memory_order_acquire);
    v2 = atomic_load_explicit(pSeq, memory_order_relaxed);
    if( v1==v2 && atomic_load_explicit(pOwner, memory_order_relaxed)==o ){
      *pO = o;
      return 1;
    }
  }
  return 0;
}

/* ------------------------------------------------------ tombstones */

static int shIsTomb(u64 o){
  return (uint32_t)o==SH_TOMB || (uint32_t)o==SH_TOMBING;
}

/* How long p's finished jobs stay listed, in ms: the database's setting
** (set_job_retention in any process), else this process's. */
static i64 shRetentionMs(SharedReg *p){
  u64 v = atomic_load_explicit(&shHdr(p)->jobRetention, memory_order_relaxed);
  if( v==0 || v>(u64)JOB_RETENTION_MAX+1 ) return jobsRetention()*1000;
  return (i64)(v-1)*1000;
}

/* Has a job that finished at finishedMs passed p's retention? */
static int shExpired(SharedReg *p, i64 finishedMs){
  return finishedMs<=registryNowMs()-shRetentionMs(p);
}

/* Remove what a dead job left: zPart, if it is the partial file of job
** id (named "<dest>.part-<id>"; anything else in a slot is not ours to
** delete), and its journal. */
static void shRemovePart(const char *zPart, i64 id){
  char zSuffix[40], zPath[760];
  int n = (int)strlen(zPart);
  int k = snprintf(zSuffix, sizeof(zSuffix), ".part-%lld", (long long)id);
  static const char *azSuffix[] = { "", "-journal", "-wal", "-shm" };
  int i;
  if( zPart[0]!='/' || n<=k || strcmp(zPart+n-k, zSuffix)!=0 ) return;
  for(i=0; i<4; i++){
    if( snprintf(zPath, sizeof(zPath), "%s%s", zPart, azSuffix[i])<(int)sizeof(zPath) ){
      portUnlink(zPath);
    }
  }
}

/* The owner (word o, not a tombstone) of job slot i is dead: turn the
** slot into a tombstone that every process lists until the retention
** passes. A job that had not finished ends `failed` and its partial
** file is removed. Whichever process gets here first does it. */
static void shTombstone(SharedReg *p, int i, u64 o){
  ShJob *pJ = shJob(p, i);
  u64 busy = ((u64)SH_GEN(o)<<32) | SH_TOMBING;
  uint8_t st;
  if( shIsTomb(o) || !atomic_compare_exchange_strong(&pJ->owner, &o, busy) ) return;
  /* The dead owner wrote the slot last (perhaps half: seq odd). */
  shWriteBegin(&pJ->seq);
  st = pJ->status;
  if( !jobIsFinished(st) || st>JOB_SUCCEEDED ){
    pJ->zPart[sizeof(pJ->zPart)-1] = 0;
    shRemovePart(pJ->zPart, pJ->id);
    pJ->status = JOB_FAILED;
    pJ->hasError = 1;
    shCopy(pJ->zError, sizeof(pJ->zError), "its process was killed");
    pJ->finishedMs = pJ->modifiedMs = registryNowMs();
  }
  pJ->zPart[0] = 0;
  shWriteEnd(&pJ->seq);
  atomic_store(&pJ->ctlLock, 0);
  atomic_store(&pJ->owner, ((u64)SH_GEN(o)<<32) | SH_TOMB);
#ifdef __linux__
  /* a requester may be waiting for an answer that will not come */
  syscall(SYS_futex, &pJ->ansSeq, FUTEX_WAKE, 0x7fffffff, 0, 0, 0);
#endif
}

/* A tombstone (word o) past the retention is freed. Returns 1 if so. */
static int shTombExpire(SharedReg *p, int i, u64 o){
  ShJob *pJ = shJob(p, i);
  i64 fin;
  if( (uint32_t)o!=SH_TOMB ) return 0;
  shCopyRacy(&fin, &pJ->finishedMs, sizeof(fin));
  if( !shExpired(p, fin) ) return 0;
  return atomic_compare_exchange_strong(&pJ->owner, &o, (u64)SH_GEN(o)<<32);
}

/* Claim a free slot among n at stride: returns its index, -1 if full. */
static int shClaimSlot(SharedReg *p, int bJob, u64 *pOwner){
  int i, n = bJob ? p->nJob : p->nSession;
  for(i=0; i<n; i++){
    _Atomic u64 *pW = bJob ? &shJob(p, i)->owner : &shSession(p, i)->owner;
    u64 o = atomic_load(pW);
    uint32_t gen;
    u64 want;
    if( SH_OSPID(o)!=0 ){
      u64 procStart = atomic_load_explicit(bJob ? &shJob(p, i)->procStart : &shSession(p, i)->procStart, memory_order_relaxed);
      if( bJob && shIsTomb(o) ){
        /* a dead process's job, listed until the retention passes */
        if( !shTombExpire(p, i, o) ) continue;
        o = (u64)SH_GEN(o)<<32;
        goto claim;
      }
      if( shOwnerAlive(o, procStart) ) continue;
      if( bJob ){ shTombstone(p, i, o); continue; }
      /* its owner died: free it, then claim it like any free slot */
      if( !atomic_compare_exchange_strong(pW, &o, (u64)SH_GEN(o)<<32) ) continue;
      o = (u64)SH_GEN(o)<<32;
    }
claim:
    gen = (SH_GEN(o)+1) & 0xffffff;
    if( gen==0 ) gen = 1;
    want = ((u64)gen<<32) | (u64)shMyPid();
    if( atomic_compare_exchange_strong(pW, &o, want) ){
      *pOwner = want;
      atomic_store(&p->aMine[bJob ? p->nSession+i : i], 1);
      return i;
    }
  }
  return -1;
}

static void shReleaseSlot(SharedReg *p, int iMine, _Atomic u64 *pW, u64 mine){
  u64 o = mine;
  atomic_store(&p->aMine[iMine], 0);
  atomic_compare_exchange_strong(pW, &o, (u64)SH_GEN(mine)<<32);
}

/* ------------------------------------------------------------- attach */

static void *shAgentMain(void *pArg);

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

/* Is the file still whole? (Truncating a mapped file makes access fault:
** checked before every read of other processes' slots.) */
static int shIntact(SharedReg *p){
  struct stat st;
  return p->bOk && fstat(p->fd, &st)==0 && st.st_size>=p->szFile;
}

char *sharedWatchPath(const char *zDb, char **pzErr){
  char *zReal, *zOut;
  char aHdr[16];
  struct stat st;
  int fd;
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
  ** no lock (SQLite locks bytes far beyond them). */
  if( st.st_size>0 ){
    fd = open(zReal, O_RDONLY|O_CLOEXEC);
    n = fd>=0 ? read(fd, aHdr, sizeof(aHdr)) : -1;
    if( fd>=0 ) close(fd);
    if( fd<0 ){
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
    _Atomic u64 *pOwner = iKind ? &shJob(p, i)->owner : &shSession(p, i)->owner;
    const i64 *pId = iKind ? &shJob(p, i)->id : &shSession(p, i)->pid;
    i64 x;
    if( SH_OSPID(atomic_load_explicit(pOwner, memory_order_acquire))==0 ) continue;
    shCopyRacy(&x, pId, sizeof(x));
    if( x==v ) return 1;
  }
  return 0;
}

/* The id counter of kind iKind in p, or 0: p is not usable, or the word
** holds what no process of ours writes (a wrap count of 2^31 or more
** takes 2^62 ids: a hostile or damaged file, left out of the count). */
static _Atomic u64 *shIdWord(SharedReg *p, int iKind){
  _Atomic u64 *pW;
  if( !p->bOk || !shIntact(p) ) return 0;
  pW = &shHdr(p)->aIdLast[iKind];
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
      if( p->bOk && shIntact(p) ) bUsed = shIdInFile(p, iKind, v);
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
      pthread_t t;
      pthread_attr_t attr;
      pthread_attr_init(&attr);
      pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
      if( pthread_create(&t, &attr, shAgentMain, p)!=0 ){
        munmap(p->aMap, (size_t)p->szFile);
        close(p->fd);
        p->bOk = 0;
        p->aMap = 0;
        snprintf(p->zWhy, sizeof(p->zWhy), "cannot start its thread");
      }else{
        shIdMerge(p);
      }
      pthread_attr_destroy(&attr);
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

/* ------------------------------------------------------- the agent */

/* Free the slots of dead processes, so they disappear for everyone even
** when nobody reads the tables. */
static void shReapDead(SharedReg *p){
  int i, nSes = p->nSession;
  for(i=0; i<nSes+p->nJob; i++){
    _Atomic u64 *pW;
    u64 o, procStart;
    if( i<nSes ){
      pW = &shSession(p, i)->owner;
      procStart = atomic_load_explicit(&shSession(p, i)->procStart, memory_order_relaxed);
    }else{
      pW = &shJob(p, i-nSes)->owner;
      procStart = atomic_load_explicit(&shJob(p, i-nSes)->procStart, memory_order_relaxed);
    }
    o = atomic_load(pW);
    if( SH_OSPID(o)==0 || SH_OSPID(o)==shMyPid() ) continue;
    if( i>=nSes && shIsTomb(o) ){
      shTombExpire(p, i-nSes, o);
    }else if( !shOwnerAlive(o, procStart) ){
      if( i>=nSes ){
        shTombstone(p, i-nSes, o);   /* listed as failed */
      }else{
        atomic_compare_exchange_strong(pW, &o, (u64)SH_GEN(o)<<32);
      }
    }
  }
}

/* Record who asks (pBy, may be NULL) in asker record pA of a slot, for
** the request word `cell` about to be written. A requester that finds
** another one writing the record waits a little, then leaves it theirs
** (the target then names "another process": a reason, never a right). */
static void shPutAsker(ShAsker *pA, u64 cell, const CancelAsker *pBy){
  uint32_t q = 0;
  int n;
  if( pBy==0 ) return;
  for(n=0; n<200; n++){
    q = atomic_load_explicit(&pA->seq, memory_order_relaxed);
    if( (q&1u)==0 && atomic_compare_exchange_weak(&pA->seq, &q, q+1u) ) break;
    sched_yield();
  }
  if( n==200 ) return;
  pA->osPid = (uint32_t)shMyPid();
  pA->cell = cell;
  pA->pid = pBy->pid;
  pA->timeMs = pBy->timeMs;
  pA->token = pBy->token;
  shCopy(pA->zAction, sizeof(pA->zAction), pBy->zAction);
  shCopy(pA->zUser, sizeof(pA->zUser), pBy->zUser);
  atomic_store_explicit(&pA->seq, q+2u, memory_order_release);
}

/* Who asked for request word `cell`, just taken from a slot: from the
** slot's asker record pA if it is that request's and intact; else
** "another process", now. Nothing in it is trusted beyond being text. */
static void shGetAsker(ShAsker *pA, u64 cell, CancelAsker *pOut){
  ShAsker x;
  int nTry;
  memset(&x, 0, sizeof(x));
  memset(pOut, 0, sizeof(*pOut));
  snprintf(pOut->zAction, sizeof(pOut->zAction), "another process");
  pOut->timeMs = registryNowMs();
  for(nTry=0; nTry<20; nTry++){
    uint32_t v1 = atomic_load_explicit(&pA->seq, memory_order_acquire), v2;
    if( v1&1u ){ sched_yield(); continue; }
    shCopyRacy(&x, pA, (int)sizeof(x));
    atomic_thread_fence(memory_order_acquire);
    v2 = atomic_load_explicit(&pA->seq, memory_order_relaxed);
    if( v1!=v2 ) continue;
    if( x.cell!=cell || x.pid<0 || x.osPid==0
     || !shTerminated(x.zAction, sizeof(x.zAction))
     || !shTerminated(x.zUser, sizeof(x.zUser)) ){
      return;
    }
    shCopy(pOut->zAction, sizeof(pOut->zAction), x.zAction);
    shCopy(pOut->zUser, sizeof(pOut->zUser), x.zUser);
    pOut->pid = x.pid;
    pOut->osPid = x.osPid;
    pOut->timeMs = x.timeMs;
    pOut->token = x.token;
    return;
  }
}

/* The cancel request waiting in session slot pS, owned by o; 0 if none
** or if it was meant for an earlier owner of the slot. */
static u64 shTakeCancel(ShSession *pS, u64 o){
  u64 c = atomic_exchange(&pS->cancelReq, 0);
  return (c && (uint32_t)(c>>40)==SH_GEN(o)) ? c : 0;
}

/* A report for job slot i (request n): its data is copied out of the
** mailbox, checked (any process may write anything there) and applied
** by jobs.c. -1: the mailbox was rewritten meanwhile by a newer request
** (after its requester gave up waiting), which will be served itself. */
static int shServeReport(SharedReg *p, int i, u64 o, int eOp, uint32_t n,
                         int *peStatus){
  ShJob *pJ = shJob(p, i);
  char zText[sizeof(pJ->zMsg)];
  double f;
  int bText;
  if( eOp>SHJOB_END ) return JOBCTL_NOTFOUND;
  memcpy(zText, pJ->zMsg, sizeof(zText));
  f = pJ->msgFraction;
  bText = pJ->msgHasText!=0;
  if( pJ->msgSeq!=n || atomic_load(&pJ->ctlSeq)!=n ) return -1;
  if( !shTerminated(zText, sizeof(zText)) || !(f>=0.0 && f<=1.0) ){
    return JOBCTL_NOTFOUND;
  }
  return jobsServeReport(p, i, o, eOp, f, bText ? zText : 0, peStatus);
}

/* Requests in the slots this process owns. */
static void shServe(SharedReg *p){
  int i;
  long me = shMyPid();
  for(i=0; i<p->nSession; i++){
    ShSession *pS;
    u64 o, c;
    uint32_t t;
    if( !atomic_load_explicit(&p->aMine[i], memory_order_relaxed) ) continue;
    pS = shSession(p, i);
    o = atomic_load_explicit(&pS->owner, memory_order_acquire);
    if( SH_OSPID(o)!=me ) continue;
    c = shTakeCancel(pS, o);
    t = atomic_exchange(&pS->termReq, 0);
    if( t && t!=SH_GEN(o) ) t = 0;
    if( c || t ){
      CancelAsker cBy, tBy;
      if( c ) shGetAsker(&pS->cancelBy, c, &cBy);
      if( t ) shGetAsker(&pS->termBy, t, &tBy);
      registryServeRemote(p, i, o, c, t!=0, c ? &cBy : 0, t ? &tBy : 0);
    }
  }
  for(i=0; i<p->nJob; i++){
    ShJob *pJ;
    u64 o;
    uint32_t r;
    if( !atomic_load_explicit(&p->aMine[p->nSession+i], memory_order_relaxed) ) continue;
    pJ = shJob(p, i);
    o = atomic_load_explicit(&pJ->owner, memory_order_acquire);
    if( SH_OSPID(o)!=me ) continue;
    r = atomic_exchange(&pJ->ctlReq, 0);
    if( r && (r>>4)==(SH_GEN(o) & 0xfffffff) ){
      /* apply it, then answer the requester (waiting in sharedJobControl) */
      uint32_t n = atomic_load(&pJ->ctlSeq);
      int eStatus = -1, eOp = (int)(r & 15);
      int rc = eOp>=SHJOB_PROGRESS ? shServeReport(p, i, o, eOp, n, &eStatus)
                                   : jobsServeRemote(p, i, o, eOp, &eStatus);
      if( rc<0 ) continue;       /* a newer request replaced it: no answer */
      atomic_store(&pJ->ansRc, rc);
      atomic_store(&pJ->ansStatus, eStatus);
      atomic_store_explicit(&pJ->ansSeq, n, memory_order_release);
#ifdef __linux__
      syscall(SYS_futex, &pJ->ansSeq, FUTEX_WAKE, 0x7fffffff, 0, 0, 0);
#endif
    }
  }
}

static void (*_Atomic shTick)(SharedReg*);   /* (zero: none) */
void sharedSetTick(void (*xTick)(SharedReg*)){ atomic_store(&shTick, xTick); }

static void *shAgentMain(void *pArg){
  SharedReg *p = (SharedReg*)pArg;
  i64 lastReapUs = 0;
  for(;;){
    uint32_t w = atomic_load(&shHdr(p)->wake);
    i64 nowUs;
    if( !shIntact(p) ){
      /* Truncated under us: stop touching it (best effort; see README). */
      p->bOk = 0;
      snprintf(p->zWhy, sizeof(p->zWhy), "truncated while in use");
      sqlite3_log(SQLITE_WARNING, "cancel: registry %s %s", p->zPath, p->zWhy);
      return 0;
    }
    shServe(p);
    nowUs = registryMonoUs();
    if( nowUs-lastReapUs>1000000 && shIntact(p) ){
      void (*xTick)(SharedReg*) = atomic_load(&shTick);
      shReapDead(p);
      if( xTick ) xTick(p);
      lastReapUs = nowUs;
    }
#ifdef __linux__
    {
      struct timespec ts = { 1, 0 };
      syscall(SYS_futex, &shHdr(p)->wake, FUTEX_WAIT, w, &ts, 0, 0);
    }
#else
    {
      struct timespec ts = { 0, 5000000 };   /* poll: 5 ms */
      (void)w;
      nanosleep(&ts, 0);
    }
#endif
  }
  return 0;
}

/* ---------------------------------------------------------- sessions */

void sharedClaim(SharedReg *p, CancelSession *s){
  u64 o;
  int i;
  ShSession *pS;
  if( !sharedUsable(p) ) return;
  i = shClaimSlot(p, 0, &o);
  if( i<0 ){
    sqlite3_log(SQLITE_WARNING, "cancel: registry %s is full (%d session "
                "slots): session %lld is visible only in its own process",
                p->zPath, p->nSession, (long long)s->pid);
    return;
  }
  pS = shSession(p, i);
  atomic_store(&pS->cancelReq, 0);
  atomic_store(&pS->termReq, 0);
  atomic_store(&pS->cancelBy.seq, 0);   /* (a requester that died writing) */
  atomic_store(&pS->termBy.seq, 0);
  shWriteBegin(&pS->seq);
  atomic_store_explicit(&pS->procStart, shStartTag(o), memory_order_relaxed);
  pS->tag = registryTag();
  pS->iSerial = s->iSerial;
  pS->pid = s->pid;
  pS->startMs = s->startMs;
  pS->iActive = pS->iLast = 0;
  pS->nQuery = 0;
  shWriteEnd(&pS->seq);
  pthread_mutex_lock(&s->mu);
  s->pSh = p;
  s->iShSlot = i;
  s->shOwner = o;
  sharedPublish(s);
  pthread_mutex_unlock(&s->mu);
}

void sharedRelease(CancelSession *s){
  ShSession *pS;
  if( s->pSh==0 ) return;
  pS = shSession(s->pSh, s->iShSlot);
  shWriteBegin(&pS->seq);
  pS->status = SH_GONE;
  shWriteEnd(&pS->seq);
  shReleaseSlot(s->pSh, s->iShSlot, &pS->owner, s->shOwner);
  shWake(s->pSh);               /* pg_terminate_backend() may be waiting */
  s->pSh = 0;
}

/* The fast path of a cross-process cancel: the session's own progress
** handler looks at its slot and serves a waiting cancel at once, rather
** than wait for the agent thread to be scheduled (which can take
** milliseconds while the target keeps a core busy). Whoever takes the
** cell first serves it; the other finds it empty. */
void sharedServeOwnCancel(CancelSession *s){
  ShSession *pS;
  u64 c;
  if( s->pSh==0 ) return;
  pS = shSession(s->pSh, s->iShSlot);
  if( atomic_load_explicit(&pS->cancelReq, memory_order_relaxed)==0 ) return;
  c = shTakeCancel(pS, s->shOwner);
  if( c ){
    CancelAsker by;
    shGetAsker(&pS->cancelBy, c, &by);
    registryServeRemote(s->pSh, s->iShSlot, s->shOwner, c, 0, &by, 0);
  }
}

/* What a session does now (s->mu held, the slot's seqlock taken). */
static void shPutActivity(CancelSession *s, ShSession *pS){
  int i, eTerm = atomic_load(&s->eTerm);
  pS->status = eTerm==TERM_DONE ? SH_GONE
             : eTerm!=TERM_NONE ? SH_TERMINATING
             : atomic_load(&s->waitingSinceMs) ? SH_WAITING
             : s->nStmt>0 && !s->cursorIdle ? SH_ACTIVE
             : s->inXact || (s->cursorIdle && s->eXactKind) ? SH_IDLE_XACT
             : SH_IDLE;
  pS->xactKind = (uint8_t)s->eXactKind;
  pS->hooksLost = (uint8_t)atomic_load(&s->hooksLost);
  pS->noMutex = (uint8_t)(s->noMutex!=0);
  pS->xactStartMs = s->xactStartMs;
  pS->waitingSinceMs = atomic_load(&s->waitingSinceMs);
  pS->stmtTimeoutMs = atomic_load(&s->stmtTimeoutMs);
  pS->idleTimeoutMs = atomic_load(&s->idleTimeoutMs);
  pS->nQuery = (uint32_t)(s->nStmt<SH_NQUERY ? s->nStmt : SH_NQUERY);
  for(i=0; i<(int)pS->nQuery; i++) pS->aQuery[i] = s->aStmt[i].iQuery;
  pS->iNewest = s->nStmt>0 ? s->aStmt[s->nStmt-1].iQuery : 0;
  if( s->nStmt>0 ){
    /* the outermost statement: written once per execution into the text
    ** buffer that does not hold last_active_query */
    if( pS->iActive==0 || s->shActiveQuery!=s->aStmt[0].iQuery ){
      int b = pS->iLast==1 ? 1 : 0;
      shCopy(pS->aTxt[b], SH_TXT, s->aStmt[0].zSql);
      pS->iActive = (uint8_t)(b+1);
      pS->queryStartMs = s->aStmt[0].startMs;
      s->shActiveQuery = s->aStmt[0].iQuery;
    }
  }else if( pS->iActive ){
    pS->iLast = pS->iActive;     /* what ran is now the last query */
    pS->iActive = 0;
    s->shActiveQuery = 0;
  }
}

/* s->mu held: the session's own thread, at every statement start and
** end. */
void sharedPublishActivity(CancelSession *s){
  ShSession *pS;
  if( s->pSh==0 ) return;
  pS = shSession(s->pSh, s->iShSlot);
  shWriteBegin(&pS->seq);
  shPutActivity(s, pS);
  shWriteEnd(&pS->seq);
}

/* s->mu held: everything, identity included (user, application, client
** address: their setters take s->mu too). */
void sharedPublish(CancelSession *s){
  ShSession *pS;
  if( s->pSh==0 ) return;
  pS = shSession(s->pSh, s->iShSlot);
  shWriteBegin(&pS->seq);
  pS->isAdmin = (uint8_t)s->isAdmin;
  shCopy(pS->zUser, sizeof(pS->zUser), s->zUser);
  shCopy(pS->zApp, sizeof(pS->zApp), s->zAppName);
  pS->hasClient = s->zClientAddr!=0;
  shCopy(pS->zClient, sizeof(pS->zClient), s->zClientAddr);
  shCopy(pS->zDatabase, sizeof(pS->zDatabase), s->zDatabase);
  shPutActivity(s, pS);
  shWriteEnd(&pS->seq);
}

/* A session slot copied out and checked; 0 if it is not a live session
** of another process. */
static int shReadSession(SharedReg *p, int i, ShSession *pOut, u64 *pO){
  ShSession *pS = shSession(p, i);
  u64 o = atomic_load_explicit(&pS->owner, memory_order_acquire);
  if( SH_OSPID(o)==0 || SH_OSPID(o)==shMyPid() ) return 0;
  if( !shRead(pOut, pS, sizeof(*pOut), &pS->owner, &pS->seq, pO) ) return 0;
  if( pOut->tag==registryTag() ) return 0;
  if( pOut->status>=SH_GONE || pOut->pid<=0 || pOut->pid>SH_ID_MAX
   || pOut->nQuery>SH_NQUERY
   || pOut->iActive>2 || pOut->iLast>2 || pOut->xactKind>2
   || pOut->hooksLost>(HOOKS_TRACE_LOST|HOOKS_PROGRESS_LOST) || pOut->noMutex>1
   || !shTerminated(pOut->zUser, sizeof(pOut->zUser))
   || !shTerminated(pOut->zApp, sizeof(pOut->zApp))
   || !shTerminated(pOut->zClient, sizeof(pOut->zClient))
   || !shTerminated(pOut->zDatabase, sizeof(pOut->zDatabase))
   || !shTerminated(pOut->aTxt[0], SH_TXT) || !shTerminated(pOut->aTxt[1], SH_TXT)
  ){
    return 0;
  }
  if( !shOwnerAlive(*pO, pOut->procStart) ){
    atomic_compare_exchange_strong(&pS->owner, pO, (u64)SH_GEN(*pO)<<32);
    return 0;
  }
  return 1;
}

static int shAllowed(const char *zUser, int isAdmin, const char *zTarget){
  return isAdmin || strcmp(zUser, zTarget)==0;
}

int sharedSnapshot(SharedReg *p, const char *zUser, int isAdmin,
                   SessionRow **paRow, int *pnRow){
  ShSession *pX;
  int i, rc = SQLITE_OK;
  if( !sharedUsable(p) || !shIntact(p) ) return SQLITE_OK;
  pX = sqlite3_malloc(sizeof(*pX));
  if( pX==0 ) return SQLITE_NOMEM;
  for(i=0; i<p->nSession && rc==SQLITE_OK; i++){
    u64 o;
    SessionRow *r, *aNew;
    if( !shReadSession(p, i, pX, &o) ) continue;
    aNew = sqlite3_realloc64(*paRow, sizeof(SessionRow)*(*pnRow+1));
    if( aNew==0 ){ rc = SQLITE_NOMEM; break; }
    *paRow = aNew;
    r = &aNew[(*pnRow)++];
    memset(r, 0, sizeof(*r));
    r->pid = pX->pid;
    r->nodeId = SH_OSPID(o);
    registryFormatIdTag(pX->tag, pX->iSerial, r->zSessionId);
    r->zUser = sqlite3_mprintf("%s", pX->zUser);
    r->zAppName = sqlite3_mprintf("%s", pX->zApp);
    r->zClientAddr = pX->hasClient ? sqlite3_mprintf("%s", pX->zClient) : 0;
    r->zDatabase = sqlite3_mprintf("%s", pX->zDatabase);
    r->zStatus = azShStatus[pX->status];
    r->masked = !shAllowed(zUser, isAdmin, pX->zUser);
    if( pX->iActive ){
      r->zActive = sqlite3_mprintf("%s", pX->aTxt[pX->iActive-1]);
      if( pX->nQuery>0 ) registryFormatIdTag(pX->tag, pX->aQuery[0], r->zQueryId);
      r->queryStartMs = pX->queryStartMs;
      if( r->zActive==0 ) rc = SQLITE_NOMEM;
    }
    if( pX->iLast ){
      r->zLast = sqlite3_mprintf("%s", pX->aTxt[pX->iLast-1]);
      if( r->zLast==0 ) rc = SQLITE_NOMEM;
    }
    r->xactStartMs = pX->xactStartMs;
    r->sessionStartMs = pX->startMs;
    r->zXactKind = pX->xactKind==XACT_WRITE ? "write"
                 : pX->xactKind==XACT_READ ? "read" : "none";
    r->waitingSinceMs = pX->waitingSinceMs;
    r->stmtTimeoutMs = pX->stmtTimeoutMs;
    r->idleTimeoutMs = pX->idleTimeoutMs;
    r->zHooks = registryHooksText(pX->hooksLost);
    r->zThreading = registryThreadingText(pX->noMutex);
    if( r->zUser==0 || r->zAppName==0 || r->zDatabase==0
     || (pX->hasClient && r->zClientAddr==0) ){
      rc = SQLITE_NOMEM;
    }
  }
  sqlite3_free(pX);
  return rc;
}

static void shFillTarget(SharedTarget *pT, ShSession *pX, u64 o){
  pT->tag = pX->tag;
  pT->iSerial = pX->iSerial;
  pT->pid = pX->pid;
  pT->nodeId = SH_OSPID(o);
  pT->noMutex = pX->noMutex && pX->status!=SH_IDLE;   /* holds something */
  shCopy(pT->zUser, sizeof(pT->zUser), pX->zUser);
}

/* Find a live session of another process by (tag, serial), by pid, or
** by a running execution (tag, iQuery): its index, or -1. */
static int shFind(SharedReg *p, u64 tag, u64 iSerial, i64 pid, u64 iQuery,
                  ShSession *pX, u64 *pO){
  int i, j;
  if( !sharedUsable(p) || !shIntact(p) ) return -1;
  for(i=0; i<p->nSession; i++){
    if( !shReadSession(p, i, pX, pO) ) continue;
    if( pid ){
      if( pX->pid==pid ) return i;
    }else if( pX->tag!=tag ){
      continue;
    }else if( iQuery ){
      for(j=0; j<(int)pX->nQuery; j++) if( pX->aQuery[j]==iQuery ) return i;
      if( pX->iNewest==iQuery ) return i;
    }else if( pX->iSerial==iSerial ){
      return i;
    }
  }
  return -1;
}

/* Ask the owner of slot i (generation of o) to interrupt iQuery. */
static void shSendCancel(SharedReg *p, int i, u64 o, u64 iQuery,
                         SharedTarget *pT){
  const CancelAsker *pBy = pT->pBy;
  u64 cell = ((u64)(SH_GEN(o) & 0xffffff)<<40) | (iQuery & 0xffffffffffull);
  pT->iSlot = i;
  pT->bTermCell = 0;
  pT->cell = cell;
  shPutAsker(&shSession(p, i)->cancelBy, cell, pBy);
  atomic_store(&shSession(p, i)->cancelReq, cell);
  shWake(p);
}

int sharedCancelQuery(SharedReg *p, const char *zUser, int isAdmin,
                      u64 tag, u64 iQuery, SharedTarget *pT){
  ShSession x;
  u64 o;
  int i = shFind(p, tag, 0, 0, iQuery, &x, &o);
  if( i<0 ) return REG_NOTFOUND;
  shFillTarget(pT, &x, o);
  pT->iQuery = iQuery;
  if( !shAllowed(zUser, isAdmin, x.zUser) ) return REG_DENIED;
  if( x.hooksLost & HOOKS_TRACE_LOST ) return REG_UNDELIVERED;
  shSendCancel(p, i, o, iQuery, pT);
  return REG_OK;
}

int sharedCancelBackend(SharedReg *p, const char *zUser, int isAdmin,
                        i64 pid, SharedTarget *pT){
  ShSession x;
  u64 o;
  int i = shFind(p, 0, 0, pid, 0, &x, &o);
  if( i<0 ) return REG_NOTFOUND;
  shFillTarget(pT, &x, o);
  if( !shAllowed(zUser, isAdmin, x.zUser) ) return REG_DENIED;
  /* nothing is known of what it runs (doc/hooks.md) */
  if( x.hooksLost & HOOKS_TRACE_LOST ) return REG_UNDELIVERED;
  /* aimed at the statement running now, decided here: a statement that
  ** starts after this call is never hit */
  pT->iQuery = x.iNewest;
  if( x.iNewest ) shSendCancel(p, i, o, x.iNewest, pT);
  return REG_OK;
}

int sharedCheckSession(SharedReg *p, const char *zUser, int isAdmin,
                       u64 tag, u64 iSerial, i64 pid, SharedTarget *pT){
  ShSession x;
  u64 o;
  int i = shFind(p, tag, iSerial, pid, 0, &x, &o);
  if( i<0 ) return REG_NOTFOUND;
  shFillTarget(pT, &x, o);
  return shAllowed(zUser, isAdmin, x.zUser) ? REG_OK : REG_DENIED;
}

int sharedTerminate(SharedReg *p, const char *zUser, int isAdmin,
                    u64 tag, u64 iSerial, i64 pid, SharedTarget *pT){
  ShSession x;
  u64 o;
  int i = shFind(p, tag, iSerial, pid, 0, &x, &o);
  if( i<0 ) return REG_NOTFOUND;
  shFillTarget(pT, &x, o);
  if( !shAllowed(zUser, isAdmin, x.zUser) ) return REG_DENIED;
  shPutAsker(&shSession(p, i)->termBy, SH_GEN(o), pT->pBy);
  pT->iSlot = i;
  pT->bTermCell = 1;
  pT->cell = SH_GEN(o);
  atomic_store(&shSession(p, i)->termReq, SH_GEN(o));
  shWake(p);
  return REG_OK;
}

int sharedWithdraw(SharedReg *p, int iSlot, int bTermCell, u64 cell){
  ShSession *pS;
  if( !sharedUsable(p) || !shIntact(p) || iSlot<0 || iSlot>=p->nSession ) return 0;
  pS = shSession(p, iSlot);
  if( bTermCell ){
    uint32_t v = (uint32_t)cell;
    return atomic_compare_exchange_strong(&pS->termReq, &v, 0);
  }
  return atomic_compare_exchange_strong(&pS->cancelReq, &cell, 0);
}

/*
** Wait until session pid is gone. Found once, its slot is watched: gone
** when the slot's owner word changes (released, reaped, reused) or a
** consistent copy says terminated. A copy that cannot be taken (the
** owner is writing) is no answer: look again. (Searching afresh each
** time took a slot skipped under load for a slot set free, and reported
** a termination complete too early: forgotten.test under valgrind.)
*/
int sharedWaitGone(SharedReg *p, i64 pid, int timeoutMs){
  i64 endUs = registryMonoUs() + (i64)timeoutMs*1000;
  ShSession x;
  u64 o;
  int i, nLook;
  for(nLook=0; (i = shFind(p, 0, 0, pid, 0, &x, &o))<0; nLook++){
    if( nLook==2 ) return 1;      /* not there, three times running */
    shReadBackoff(SH_READ_YIELDS);
  }
  for(;;){
    ShSession *pS = shSession(p, i);
    u64 oNow;
    if( !shIntact(p) || atomic_load(&pS->owner)!=o ) return 1;
    if( shRead(&x, pS, sizeof(x), &pS->owner, &pS->seq, &oNow)
     && (x.status>=SH_GONE || x.pid!=pid) ){
      return 1;
    }
    if( registryMonoUs()>=endUs ) return 0;
    {
      struct timespec ts = { 0, 1000000 };   /* polled: 1 ms */
      nanosleep(&ts, 0);
    }
  }
}

/* -------------------------------------------------------------- jobs */

void sharedClaimJob(SharedReg *p, CancelJob *pJob){
  u64 o;
  int i;
  if( !sharedUsable(p) ) return;
  i = shClaimSlot(p, 1, &o);
  if( i<0 ){
    /* full: listed only in this process, and said so (cancel_registry(),
    ** the log) until it is purged (sharedReleaseJob) */
    int nFull = atomic_fetch_add(&p->nJobFull, 1)+1;
    pJob->pShFull = p;
    sqlite3_log(SQLITE_WARNING, "cancel: registry %s is full (%d job slots): "
                "job %lld is visible only in its own process (%d job%s not "
                "shared)", p->zPath, p->nJob, (long long)pJob->id, nFull,
                nFull==1 ? "" : "s");
    return;
  }
  atomic_store(&shJob(p, i)->ctlReq, 0);
  atomic_store(&shJob(p, i)->ctlLock, 0);
  pJob->pSh = p;
  pJob->iShSlot = i;
  pJob->shOwner = o;
  sharedPublishJob(pJob);
}

void sharedPublishJob(CancelJob *pJob){
  ShJob *pJ;
  if( pJob->pSh==0 || !pJob->pSh->bOk ) return;
  pJ = shJob(pJob->pSh, pJob->iShSlot);
  shWriteBegin(&pJ->seq);
  atomic_store_explicit(&pJ->procStart, shStartTag(pJob->shOwner), memory_order_relaxed);
  pJ->coordTag = registryTag();
  pJ->coordSerial = pJob->iCoordinator;
  pJ->createdSerial = pJob->iCreatedBy;
  pJ->id = pJob->id;
  pJ->fraction = pJob->fraction;
  pJ->createdMs = pJob->createdMs;
  pJ->startedMs = pJob->startedMs;
  pJ->finishedMs = pJob->finishedMs;
  pJ->modifiedMs = pJob->modifiedMs;
  pJ->status = (uint8_t)pJob->eStatus;
  pJ->hasError = jobErrorText(pJob)!=0;
  pJ->builtin = pJob->bBuiltin!=0;
  pJ->osPid = (uint32_t)shMyPid();
  shCopy(pJ->zPart, sizeof(pJ->zPart),
         jobIsFinished(pJob->eStatus) ? 0 : pJob->zPart);
  shCopy(pJ->zType, sizeof(pJ->zType), pJob->zType);
  shCopy(pJ->zUser, sizeof(pJ->zUser), pJob->zUser);
  shCopy(pJ->zRunning, sizeof(pJ->zRunning), pJob->zRunning);
  shCopy(pJ->zError, sizeof(pJ->zError), jobErrorText(pJob));
  shCopy(pJ->zDesc, sizeof(pJ->zDesc), pJob->zDesc);
  shWriteEnd(&pJ->seq);
}

void sharedReleaseJob(CancelJob *pJob){
  if( pJob->pSh==0 ){
    if( pJob->pShFull ) atomic_fetch_sub(&pJob->pShFull->nJobFull, 1);
    pJob->pShFull = 0;
    return;
  }
  shReleaseSlot(pJob->pSh, pJob->pSh->nSession+pJob->iShSlot,
                &shJob(pJob->pSh, pJob->iShSlot)->owner, pJob->shOwner);
  pJob->pSh = 0;
}

/* Copy job slot i out, if it holds a job of another process (alive, or
** a tombstone) that is still listed; *pO is the owner word. */
static int shReadJob(SharedReg *p, int i, ShJob *pOut, u64 *pO){
  ShJob *pJ = shJob(p, i);
  int nTry = 0;
again:
  {
  u64 o = atomic_load_explicit(&pJ->owner, memory_order_acquire);
  if( SH_OSPID(o)==0 || SH_OSPID(o)==shMyPid() ) return 0;
  if( (uint32_t)o==SH_TOMBING ) return 0;
  }
  if( !shRead(pOut, pJ, sizeof(*pOut), &pJ->owner, &pJ->seq, pO) ) return 0;
  if( pOut->coordTag==registryTag() || pOut->id<=0 || pOut->id>SH_ID_MAX
   || pOut->status>JOB_SUCCEEDED
   || !(pOut->fraction>=0.0 && pOut->fraction<=1.0)
   || !shTerminated(pOut->zType, sizeof(pOut->zType))
   || !shTerminated(pOut->zUser, sizeof(pOut->zUser))
   || !shTerminated(pOut->zRunning, sizeof(pOut->zRunning))
   || !shTerminated(pOut->zError, sizeof(pOut->zError))
   || !shTerminated(pOut->zDesc, sizeof(pOut->zDesc))
  ){
    return 0;
  }
  if( shIsTomb(*pO) ){
    if( shTombExpire(p, i, *pO) ) return 0;
  }else if( !shOwnerAlive(*pO, pOut->procStart) ){
    shTombstone(p, i, *pO);
    if( nTry++==0 ) goto again;         /* now read as a tombstone */
    return 0;
  }
  /* finished and past the retention: listed nowhere, whoever owns it */
  if( jobIsFinished(pOut->status) && shExpired(p, pOut->finishedMs) ) return 0;
  return 1;
}

int sharedJobsSnapshot(SharedReg *p, const char *zUser, int isAdmin,
                       JobRow **paRow, int *pnRow){
  ShJob *pX;
  int i, rc = SQLITE_OK;
  if( !sharedUsable(p) || !shIntact(p) ) return SQLITE_OK;
  pX = sqlite3_malloc(sizeof(*pX));
  if( pX==0 ) return SQLITE_NOMEM;
  for(i=0; i<p->nJob && rc==SQLITE_OK; i++){
    u64 o;
    JobRow *r, *aNew;
    if( !shReadJob(p, i, pX, &o) ) continue;
    if( !isAdmin && strcmp(pX->zUser, zUser)!=0 ) continue;
    aNew = sqlite3_realloc64(*paRow, sizeof(JobRow)*(*pnRow+1));
    if( aNew==0 ){ rc = SQLITE_NOMEM; break; }
    *paRow = aNew;
    r = &aNew[(*pnRow)++];
    memset(r, 0, sizeof(*r));
    r->id = pX->id;
    r->zType = sqlite3_mprintf("%s", pX->zType);
    r->zDesc = sqlite3_mprintf("%s", pX->zDesc);
    r->zUser = sqlite3_mprintf("%s", pX->zUser);
    r->zRunning = sqlite3_mprintf("%s", pX->zRunning);
    r->zError = pX->hasError ? sqlite3_mprintf("%s", pX->zError) : 0;
    r->zStatus = jobStatusName(pX->status);
    r->fraction = pX->fraction;
    r->createdMs = pX->createdMs;
    r->startedMs = pX->startedMs;
    r->finishedMs = pX->finishedMs;
    r->modifiedMs = pX->modifiedMs;
    if( pX->coordSerial ) registryFormatIdTag(pX->coordTag, pX->coordSerial, r->zCoordinator);
    if( pX->createdSerial ) registryFormatIdTag(pX->coordTag, pX->createdSerial, r->zCreatedBy);
    r->nodeId = shIsTomb(o) ? pX->osPid : SH_OSPID(o);
    if( !r->zType || !r->zDesc || !r->zUser || !r->zRunning
     || (pX->hasError && !r->zError) ){
      rc = SQLITE_NOMEM;
    }
  }
  sqlite3_free(pX);
  return rc;
}

static int shFindJob(SharedReg *p, i64 id, ShJob *pX, u64 *pO){
  int i;
  if( !sharedUsable(p) || !shIntact(p) ) return -1;
  for(i=0; i<p->nJob; i++){
    if( shReadJob(p, i, pX, pO) && pX->id==id ) return i;
  }
  return -1;
}

int sharedJobStatus(SharedReg *p, i64 id){
  ShJob *pX = sqlite3_malloc(sizeof(*pX));
  u64 o;
  int e = -1;
  if( pX==0 ) return -1;
  if( shFindJob(p, id, pX, &o)>=0 ) e = pX->status;
  sqlite3_free(pX);
  return e;
}

/* Take slot pJ's control cell for this process: 1, or 0 after
** SH_CTL_WAIT_MS (another requester keeps it). A holder that died
** leaves it to the next. */
#define SH_CTL_WAIT_MS 10000
static int shCtlLock(ShJob *pJ){
  uint32_t me = (uint32_t)shMyPid();
  i64 endUs = registryMonoUs() + (i64)SH_CTL_WAIT_MS*1000;
  for(;;){
    uint32_t h = 0;
    struct timespec ts = { 0, 1000000 };
    if( atomic_compare_exchange_strong(&pJ->ctlLock, &h, me) ) return 1;
    if( h!=me && !shAlive((long)h, 0)
     && atomic_compare_exchange_strong(&pJ->ctlLock, &h, me) ) return 1;
    if( registryMonoUs()>=endUs ) return 0;
    nanosleep(&ts, 0);
  }
}

static void shCtlUnlock(ShJob *pJ){
  uint32_t me = (uint32_t)shMyPid();
  atomic_compare_exchange_strong(&pJ->ctlLock, &me, 0);
}

/* The data of a report, for the mailbox. */
typedef struct ShReport ShReport;
struct ShReport {
  double fraction;
  const char *zText;           /* NULL: none */
};

/* Copy z into the mailbox, cut at a character boundary if too long. */
static void shCopyText(char *zDst, int nDst, const char *z){
  int n = (int)strlen(z);
  if( n>=nDst ){
    n = nDst-1;
    while( n>0 && (((unsigned char)z[n])&0xc0)==0x80 ) n--;
  }
  memcpy(zDst, z, n);
  zDst[n] = 0;
}

#define SH_REQ_TOMB (-10)
/*
** Send request eOp (with report pRep, or none) to the owner of job id and
** wait for its answer: returns that answer as the owner wrote it (the
** caller checks it), with the status in *peStatus; JOBCTL_NOTFOUND;
** JOBCTL_TIMEOUT when no answer came within SH_CTL_WAIT_MS (the owner is
** stopped, or hung); or SH_REQ_TOMB for a job whose process died (a
** tombstone: *pX holds it, *peStatus its final status).
*/
static int shJobRequest(SharedReg *p, i64 id, int eOp, const ShReport *pRep,
                        ShJob *pX, int *peStatus){
  ShJob *pJ;
  u64 o;
  int i, rc = JOBCTL_TIMEOUT, nLoop;
  uint32_t n;
  i64 endUs;
  for(nLoop=0; nLoop<3; nLoop++){
    i = shFindJob(p, id, pX, &o);
    if( i<0 ){ rc = JOBCTL_NOTFOUND; break; }
    *peStatus = pX->status;
    if( shIsTomb(o) ){ rc = SH_REQ_TOMB; break; }
    pJ = shJob(p, i);
    if( !shCtlLock(pJ) ){ rc = JOBCTL_TIMEOUT; break; }
    if( atomic_load(&pJ->owner)!=o ){ shCtlUnlock(pJ); continue; }
    n = atomic_load(&pJ->ctlSeq)+1;
    if( n==0 ) n = 1;
    atomic_store(&pJ->ctlSeq, n);
    if( pRep ){
      pJ->msgFraction = pRep->fraction;
      pJ->msgHasText = pRep->zText!=0;
      shCopyText(pJ->zMsg, sizeof(pJ->zMsg), pRep->zText ? pRep->zText : "");
      pJ->msgSeq = n;
    }
    /* (a sequentially consistent store: the mailbox is seen before it) */
    atomic_store(&pJ->ctlReq, ((SH_GEN(o) & 0xfffffff)<<4) | (uint32_t)eOp);
    shWake(p);
    endUs = registryMonoUs() + (i64)SH_CTL_WAIT_MS*1000;
    for(;;){
      uint32_t a = atomic_load_explicit(&pJ->ansSeq, memory_order_acquire);
      if( a==n ){
        rc = atomic_load(&pJ->ansRc);
        *peStatus = atomic_load(&pJ->ansStatus);
        break;
      }
      if( atomic_load(&pJ->owner)!=o ){ rc = -1; break; }  /* died or gone */
      if( !shOwnerAlive(o, pX->procStart) ){
        shTombstone(p, i, o);
        rc = -1;
        break;
      }
      if( registryMonoUs()>=endUs ){ rc = JOBCTL_TIMEOUT; break; }
#ifdef __linux__
      {
        struct timespec ts = { 0, 20000000 };   /* 20 ms: liveness check */
        syscall(SYS_futex, &pJ->ansSeq, FUTEX_WAIT, a, &ts, 0, 0);
      }
#else
      {
        struct timespec ts = { 0, 1000000 };
        nanosleep(&ts, 0);
      }
#endif
    }
    shCtlUnlock(pJ);
    if( rc!=-1 ) break;
    rc = JOBCTL_TIMEOUT;             /* (if the loop ends here) */
  }
  return rc;
}

/*
** Control a job of another process, synchronously: the request goes to
** the owner's agent, which applies it exactly as a call in its own
** process (jobs.c's rules on the status the job has there and then) and
** answers; this returns that answer, JOBCTL_*, with the status the job
** had in *peStatus. A job whose process died is a tombstone: the rules
** are applied to its final status here. JOBCTL_TIMEOUT: no answer
** within SH_CTL_WAIT_MS (the owner is stopped, or hung).
*/
int sharedJobControl(SharedReg *p, i64 id, int eOp, int *peStatus){
  ShJob *pX = sqlite3_malloc(sizeof(*pX));
  int rc;
  if( pX==0 ) return JOBCTL_NOTFOUND;
  rc = shJobRequest(p, id, eOp, 0, pX, peStatus);
  if( rc==SH_REQ_TOMB ){
    rc = jobControlVerdict(eOp, *peStatus);
  }else if( rc!=JOBCTL_TIMEOUT
         && (rc<JOBCTL_DONE || rc>JOBCTL_BADSTATE
             || (rc==JOBCTL_BADSTATE && (*peStatus<0 || *peStatus>JOB_SUCCEEDED))) ){
    rc = JOBCTL_NOTFOUND;            /* not an answer of ours */
  }
  sqlite3_free(pX);
  return rc;
}

/*
** Report on an application job of another process (job_progress or
** job_end, SHJOB_PROGRESS or SHJOB_END), synchronously: the owner
** applies it as the call would in its process, without blocking (see
** jobsServeReport), and answers JOBCTL_* (with the job's status after it
** in *peStatus). A job whose process died has ended (or is built-in).
*/
int sharedJobReport(SharedReg *p, i64 id, int eOp, double fraction,
                    const char *zText, int *peStatus){
  ShJob *pX = sqlite3_malloc(sizeof(*pX));
  ShReport rep;
  int rc;
  if( pX==0 ) return JOBCTL_NOTFOUND;
  rep.fraction = fraction;
  rep.zText = zText;
  rc = shJobRequest(p, id, eOp, &rep, pX, peStatus);
  if( rc==SH_REQ_TOMB ){
    rc = pX->builtin ? JOBCTL_NOTOWN : JOBCTL_ENDED;
  }else if( rc!=JOBCTL_TIMEOUT && rc!=JOBCTL_NOTFOUND && rc!=JOBCTL_NOTOWN
         && rc!=JOBCTL_ENDED && rc!=JOBCTL_CANCELED && rc!=JOBCTL_PAUSED
         && !(rc==JOBCTL_DONE && *peStatus>=0 && *peStatus<=JOB_SUCCEEDED) ){
    rc = JOBCTL_NOTFOUND;            /* not an answer of ours */
  }
  sqlite3_free(pX);
  return rc;
}

void sharedSetRetention(i64 seconds){
  SharedReg *p;
  pthread_mutex_lock(&shMu);
  for(p=shFirst; p; p=p->pNext){
    if( p->bOk && shIntact(p) ){
      atomic_store(&shHdr(p)->jobRetention, (u64)seconds+1);
    }
  }
  pthread_mutex_unlock(&shMu);
}

i64 sharedRetentionSec(SharedReg *p){
  if( !sharedUsable(p) || !shIntact(p) ) return jobsRetention();
  return shRetentionMs(p)/1000;
}

/* ---------------------------------------------------------- the log */

/* Take entry pL's write lock (its odd sequence number); 0 if another
** writer keeps it (a writer that died mid-write: the entry is lost). */
static int shLogLock(ShLog *pL){
  int nTry;
  for(nTry=0; nTry<1000; nTry++){
    uint32_t v = atomic_load_explicit(&pL->seq, memory_order_relaxed);
    if( (v&1u)==0 && atomic_compare_exchange_weak(&pL->seq, &v, v|1u) ){
      atomic_thread_fence(memory_order_release);
      return 1;
    }
    sched_yield();
  }
  return 0;
}
static void shLogUnlock(ShLog *pL){
  uint32_t v = atomic_load_explicit(&pL->seq, memory_order_relaxed);
  atomic_store_explicit(&pL->seq, v+1u, memory_order_release);
}

i64 sharedLogAdd(SharedReg *p, const SharedLogEntry *pE){
  i64 id;
  ShLog *pL;
  if( !sharedUsable(p) || !shIntact(p) ) return 0;
  id = (i64)atomic_fetch_add(&shHdr(p)->logNext, 1) + 1;
  pL = shLog(p, id);
  if( !shLogLock(pL) ) return 0;
  atomic_store_explicit(&pL->id, 0, memory_order_relaxed);
  shCopyRacy(&pL->e, pE, sizeof(*pE));
  pL->e.zAction[sizeof(pL->e.zAction)-1] = 0;
  pL->e.writerOsPid = (uint32_t)shMyPid();   /* who will set the outcome */
  pL->e.writerStart = shMyStart();
  atomic_store_explicit(&pL->id, (u64)id, memory_order_relaxed);
  shLogUnlock(pL);
  return id;
}

void sharedLogOutcome(SharedReg *p, i64 id, const char *zOutcome){
  ShLog *pL;
  if( id<=0 || !sharedUsable(p) || !shIntact(p) ) return;
  pL = shLog(p, id);
  if( !shLogLock(pL) ) return;
  if( atomic_load_explicit(&pL->id, memory_order_relaxed)==(u64)id
   && shTerminated(pL->e.zOutcome, sizeof(pL->e.zOutcome))
   && cancelLogTransient(pL->e.zOutcome) ){
    shCopy(pL->e.zOutcome, sizeof(pL->e.zOutcome), zOutcome);
  }
  shLogUnlock(pL);
}

/* Entry pE (a copy of entry id) says a transient outcome, and the process
** that was to write its final one has died: it ends as LOG_GONE, in the
** copy and in the file. */
static void shLogSettle(SharedReg *p, i64 id, SharedLogEntry *pE){
  if( !cancelLogTransient(pE->zOutcome) ) return;
  if( pE->writerOsPid==0 || shAlive((long)pE->writerOsPid, pE->writerStart) ) return;
  shCopy(pE->zOutcome, sizeof(pE->zOutcome), LOG_GONE);
  sharedLogOutcome(p, id, LOG_GONE);
}

/* A consistent copy of log entry id, 0 if it is not there (pushed out,
** being written, or damaged). */
static int shLogRead(SharedReg *p, i64 id, SharedLogEntry *pE){
  ShLog *pL = shLog(p, id);
  int nTry, ok = 0;
  for(nTry=0; nTry<20 && !ok; nTry++){
    uint32_t v1 = atomic_load_explicit(&pL->seq, memory_order_acquire);
    if( v1&1u ){ sched_yield(); continue; }
    if( atomic_load_explicit(&pL->id, memory_order_relaxed)!=(u64)id ) break;
    shCopyRacy(pE, &pL->e, sizeof(*pE));
    atomic_thread_fence(memory_order_acquire);
    ok = atomic_load_explicit(&pL->seq, memory_order_relaxed)==v1
      && atomic_load_explicit(&pL->id, memory_order_relaxed)==(u64)id;
  }
  /* nothing from the file is trusted: every string terminated */
  return ok
    && shTerminated(pE->zAction, sizeof(pE->zAction))
    && shTerminated(pE->zByUser, sizeof(pE->zByUser))
    && shTerminated(pE->zTargetUser, sizeof(pE->zTargetUser))
    && shTerminated(pE->zQuery, sizeof(pE->zQuery))
    && shTerminated(pE->zOutcome, sizeof(pE->zOutcome));
}

int sharedLogAnswer(SharedReg *p, u64 token, char *zOut, int nOut){
  i64 last, id;
  if( token==0 || !sharedUsable(p) || !shIntact(p) ) return 0;
  last = (i64)atomic_load(&shHdr(p)->logNext);
  for(id=last; id>0 && id>last-SH_NLOG; id--){
    ShLog *pL = shLog(p, id);
    SharedLogEntry e;
    /* (a racy look at the two words first: most entries are not it) */
    if( atomic_load_explicit(&pL->id, memory_order_relaxed)!=(u64)id ) continue;
    shCopyRacy(&e.askToken, &pL->e.askToken, sizeof(e.askToken));
    if( e.askToken!=token ) continue;
    if( !shLogRead(p, id, &e) ) continue;
    if( e.askToken!=token || e.askOsPid!=(uint32_t)shMyPid() ) continue;
    shLogSettle(p, id, &e);
    shCopy(zOut, nOut, e.zOutcome);
    return 1;
  }
  return 0;
}

int sharedLogSnapshot(SharedReg *p, SharedLogEntry **paOut, i64 **paId, int *pnOut){
  SharedLogEntry *aOut;
  i64 *aId, last, id;
  int n = 0;
  *paOut = 0; *paId = 0; *pnOut = 0;
  if( !sharedUsable(p) || !shIntact(p) ) return SQLITE_OK;
  aOut = sqlite3_malloc64(sizeof(SharedLogEntry)*SH_NLOG);
  aId = sqlite3_malloc64(sizeof(i64)*SH_NLOG);
  if( aOut==0 || aId==0 ){
    sqlite3_free(aOut);
    sqlite3_free(aId);
    return SQLITE_NOMEM;
  }
  last = (i64)atomic_load(&shHdr(p)->logNext);
  for(id=(last>SH_NLOG ? last-SH_NLOG+1 : 1); id<=last; id++){
    SharedLogEntry *pE = &aOut[n];
    if( !shLogRead(p, id, pE) ) continue;
    shLogSettle(p, id, pE);
    aId[n++] = id;
  }
  *paOut = aOut;
  *paId = aId;
  *pnOut = n;
  return SQLITE_OK;
}

#else /* _WIN32: no cross-process registry (README, "Across processes") */

i64 sharedLogAdd(SharedReg *p, const SharedLogEntry *pE){ (void)p; (void)pE; return 0; }
void sharedLogOutcome(SharedReg *p, i64 id, const char *zOutcome){
  (void)p; (void)id; (void)zOutcome;
}
int sharedLogAnswer(SharedReg *p, u64 token, char *zOut, int nOut){
  (void)p; (void)token; (void)zOut; (void)nOut;
  return 0;
}
int sharedWithdraw(SharedReg *p, int iSlot, int bTermCell, u64 cell){
  (void)p; (void)iSlot; (void)bTermCell; (void)cell;
  return 0;
}
int sharedLogSnapshot(SharedReg *p, SharedLogEntry **paOut, i64 **paId, int *pnOut){
  (void)p; *paOut = 0; *paId = 0; *pnOut = 0;
  return SQLITE_OK;
}
u64 sharedProcessStart(long ospid){ (void)ospid; return 0; }
void sharedSetTick(void (*xTick)(SharedReg*)){ (void)xTick; }
char *sharedWatchPath(const char *zDb, char **pzErr){
  *pzErr = sqlite3_mprintf("cannot watch %s: watching needs the cross-process "
                           "registry, which Windows builds do not have yet", zDb);
  return 0;
}
i64 sharedNextId(int iKind, int (*xUsed)(i64)){
  u64 c;
  pthread_mutex_lock(&shMu);
  do{
    c = shIdNext(*shIdProcGet(iKind));
    shIdProc[iKind] = c;
  }while( (c>>32)!=0 && xUsed((i64)(c & 0xffffffffu)) );
  pthread_mutex_unlock(&shMu);
  return (i64)(c & 0xffffffffu);
}
SharedReg *sharedAttach(const char *zDb){
  SharedReg *p;
  if( zDb==0 || zDb[0]==0 ) return 0;
  pthread_mutex_lock(&shMu);
  for(p=shFirst; p && strcmp(p->zPath, zDb)!=0; p=p->pNext){}
  if( p==0 && (p = sqlite3_malloc(sizeof(*p)))!=0 ){
    memset(p, 0, sizeof(*p));
    p->zPath = sqlite3_mprintf("%s-cancel", zDb);
    snprintf(p->zWhy, sizeof(p->zWhy), "not supported on Windows yet");
    p->pNext = shFirst;
    shFirst = p;
  }
  pthread_mutex_unlock(&shMu);
  return p;
}
void sharedClaim(SharedReg *p, CancelSession *s){ (void)p; (void)s; }
void sharedRelease(CancelSession *s){ (void)s; }
void sharedPublish(CancelSession *s){ (void)s; }
int sharedSnapshot(SharedReg *p, const char *zUser, int isAdmin,
                   SessionRow **paRow, int *pnRow){
  (void)p; (void)zUser; (void)isAdmin; (void)paRow; (void)pnRow;
  return SQLITE_OK;
}
int sharedCancelQuery(SharedReg *p, const char *zUser, int isAdmin,
                      u64 tag, u64 iQuery, SharedTarget *pT){
  (void)p; (void)zUser; (void)isAdmin; (void)tag; (void)iQuery; (void)pT;
  return REG_NOTFOUND;
}
int sharedCancelBackend(SharedReg *p, const char *zUser, int isAdmin,
                        i64 pid, SharedTarget *pT){
  (void)p; (void)zUser; (void)isAdmin; (void)pid; (void)pT;
  return REG_NOTFOUND;
}
int sharedCheckSession(SharedReg *p, const char *zUser, int isAdmin,
                       u64 tag, u64 iSerial, i64 pid, SharedTarget *pT){
  (void)p; (void)zUser; (void)isAdmin; (void)tag; (void)iSerial; (void)pid; (void)pT;
  return REG_NOTFOUND;
}
int sharedTerminate(SharedReg *p, const char *zUser, int isAdmin,
                    u64 tag, u64 iSerial, i64 pid, SharedTarget *pT){
  (void)p; (void)zUser; (void)isAdmin; (void)tag; (void)iSerial; (void)pid; (void)pT;
  return REG_NOTFOUND;
}
int sharedWaitGone(SharedReg *p, i64 pid, int timeoutMs){
  (void)p; (void)pid; (void)timeoutMs;
  return 1;
}
void sharedClaimJob(SharedReg *p, CancelJob *pJob){ (void)p; (void)pJob; }
void sharedPublishJob(CancelJob *pJob){ (void)pJob; }
void sharedPublishActivity(CancelSession *s){ (void)s; }
void sharedServeOwnCancel(CancelSession *s){ (void)s; }
void sharedReleaseJob(CancelJob *pJob){ (void)pJob; }
int sharedJobsSnapshot(SharedReg *p, const char *zUser, int isAdmin,
                       JobRow **paRow, int *pnRow){
  (void)p; (void)zUser; (void)isAdmin; (void)paRow; (void)pnRow;
  return SQLITE_OK;
}
int sharedJobControl(SharedReg *p, i64 id, int eOp, int *peStatus){
  (void)p; (void)id; (void)eOp; (void)peStatus;
  return JOBCTL_NOTFOUND;
}
int sharedJobReport(SharedReg *p, i64 id, int eOp, double fraction,
                    const char *zText, int *peStatus){
  (void)p; (void)id; (void)eOp; (void)fraction; (void)zText; (void)peStatus;
  return JOBCTL_NOTFOUND;
}
void sharedSetRetention(i64 seconds){ (void)seconds; }
i64 sharedRetentionSec(SharedReg *p){ (void)p; return jobsRetention(); }
int sharedJobStatus(SharedReg *p, i64 id){ (void)p; (void)id; return -1; }

#endif /* _WIN32 */
