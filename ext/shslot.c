/*
** shslot.c: the slots of the registry file (layout: shfile.h): whether a
** slot's owner is alive, the sequence lock its contents are written and
** read under, claiming and releasing a slot, and the tombstones of jobs
** whose process died. Below every other file of the registry layer; it
** knows a job slot only as the file's format has it.
*/
#include "shfile.h"
SQLITE_EXTENSION_INIT3

#include "port.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* This process's retention setting, in seconds (sharedSetRetention). */
static _Atomic i64 shslotRetentionSec = SHARED_RETENTION_DEFAULT;
void shslotSetRetention(i64 seconds){ atomic_store(&shslotRetentionSec, seconds); }

#ifndef _WIN32
# include <fcntl.h>
# include <sched.h>
# include <signal.h>
# include <sys/stat.h>
# include <unistd.h>
# ifdef __linux__
#  include <linux/futex.h>
#  include <sys/syscall.h>
# endif
#else
# include "portwin.h"      /* those calls, on Windows */
#endif

long shslotMyPid(void){
  static atomic_long pid = 0;
  long v = atomic_load_explicit(&pid, memory_order_relaxed);
  if( v==0 ){ v = portPid(); atomic_store_explicit(&pid, v, memory_order_relaxed); }
  return v;
}
u64 shslotMyStart(void){
  static _Atomic u64 t = 0;
  u64 v = atomic_load_explicit(&t, memory_order_relaxed);
  if( v==0 ){ v = shslotProcessStart(shslotMyPid()); atomic_store_explicit(&t, v, memory_order_relaxed); }
  return v;
}


#ifdef __linux__
/* Field 22 (start time) of a /proc/PID/stat text in z (n bytes); 0 if
** unreadable, 1 for a zombie (dead, not reaped). */
static u64 shslotStatStart(char *z, int n){
  int iField;
  if( n<=0 ) return 0;
  z[n] = 0;
  z = strrchr(z, ')');         /* the command name may hold anything */
  if( z==0 ) return 0;
  z++;
  for(iField=3; *z && iField<22; iField++){   /* field 3 is the state */
    while( *z==' ' ) z++;
    if( iField==3 && (*z=='Z' || *z=='X') ) return 1;
    while( *z && *z!=' ' ) z++;
  }
  while( *z==' ' ) z++;
  return (u64)strtoull(z, 0, 10);
}
#endif

/*
** The start time of a process, in clock ticks since boot (Linux: field 22
** of /proc/PID/stat; Windows: its creation time, portwin.c); 0 if
** unknown; 1 for a zombie (dead, not reaped).
*/
u64 shslotProcessStart(long ospid){
#ifdef __linux__
  char zPath[64], aBuf[1024];
  int fd, n;
  snprintf(zPath, sizeof(zPath), "/proc/%ld/stat", ospid);
  fd = open(zPath, O_RDONLY|O_CLOEXEC);
  if( fd<0 ) return 0;
  n = (int)read(fd, aBuf, sizeof(aBuf)-1);
  close(fd);
  return shslotStatStart(aBuf, n);
#elif defined(_WIN32)
  return portwinProcessStart(ospid);     /* (1: exited, as a zombie) */
#else
  (void)ospid;
  return 0;
#endif
}

/*
** The processes whose liveness was asked last, each with a handle on
** that very process: a pidfd (Linux 5.3+), which polls readable once the
** process has exited, even if its pid is reused, so a lookup costs one
** cheap system call (a poll) and reads nothing; or, where there is no
** pidfd, its /proc/PID/stat kept open, whose read fails once it has
** exited (but the kernel formats the whole line: tens of us for a busy
** process). A cross-process cancel checks its target's process on its
** way, so this is on the path of every one.
*/
#ifdef __linux__
# include <poll.h>
# define SHSLOT_NPROC 8
static struct {
  long ospid;
  int fd;
  int bPidfd;     /* fd is a pidfd, start below its start time */
  u64 start;
} shslotProc[SHSLOT_NPROC];
static int shslotProcNext = 0;
static pthread_mutex_t shslotProcMu = PTHREAD_MUTEX_INITIALIZER;

/* Has the process behind pidfd fd exited? */
static int shslotPidfdExited(int fd){
  struct pollfd pfd;
  pfd.fd = fd;
  pfd.events = POLLIN;
  pfd.revents = 0;
  return poll(&pfd, 1, 0)!=0;
}

/* The start time of ospid as shslotStatStart says, by its cached handle;
** 0 when it has none, or the process behind it is gone (*pbGone: and its
** handle closed). */
static u64 shslotCachedStart(long ospid, int *pbGone){
  char aBuf[1024];
  u64 t = 0;
  int i, n;
  *pbGone = 0;
  pthread_mutex_lock(&shslotProcMu);
  for(i=0; i<SHSLOT_NPROC && shslotProc[i].ospid!=ospid; i++){}
  if( i<SHSLOT_NPROC ){
    if( shslotProc[i].bPidfd ){
      n = shslotPidfdExited(shslotProc[i].fd) ? 0 : 1;
      t = shslotProc[i].start;
    }else{
      n = (int)pread(shslotProc[i].fd, aBuf, sizeof(aBuf)-1, 0);
      if( n>0 ) t = shslotStatStart(aBuf, n);
    }
    if( n<=0 ){
      close(shslotProc[i].fd);
      shslotProc[i].ospid = 0;
      *pbGone = 1;
      t = 0;
    }
  }
  pthread_mutex_unlock(&shslotProcMu);
  return t;
}

/* A handle on process ospid, whose start time was just read as t: a
** pidfd when the system has them (checked after the open: if the pid was
** reused since t was read, the process t belongs to has exited and the
** pidfd says so, or is of another process: not cached), else its
** /proc/PID/stat. */
static void shslotCacheProc(long ospid, u64 t){
  char zPath[64];
  int fd, i, bPidfd = 0;
#ifdef SYS_pidfd_open
  fd = (int)syscall(SYS_pidfd_open, (pid_t)ospid, 0);
  if( fd>=0 ){
    if( shslotProcessStart(ospid)!=t || shslotPidfdExited(fd) ){
      close(fd);
      return;
    }
    bPidfd = 1;                 /* (close-on-exec: pidfds always are) */
  }else
#endif
  {
    snprintf(zPath, sizeof(zPath), "/proc/%ld/stat", ospid);
    fd = open(zPath, O_RDONLY|O_CLOEXEC);
    if( fd<0 ) return;
  }
  pthread_mutex_lock(&shslotProcMu);
  for(i=0; i<SHSLOT_NPROC && shslotProc[i].ospid!=ospid; i++){}
  if( i==SHSLOT_NPROC ){
    i = shslotProcNext;
    shslotProcNext = (shslotProcNext+1) % SHSLOT_NPROC;
    if( shslotProc[i].ospid ) close(shslotProc[i].fd);
    shslotProc[i].ospid = ospid;
    shslotProc[i].fd = fd;
    shslotProc[i].bPidfd = bPidfd;
    shslotProc[i].start = t;
    fd = -1;
  }
  pthread_mutex_unlock(&shslotProcMu);
  if( fd>=0 ) close(fd);
}
#endif

/* Is the owner of a slot (OS pid, published start time) alive? */
int shslotAlive(long ospid, u64 procStart){
  u64 t;
  if( ospid<=0 || (u64)ospid>=SH_TOMBING ) return 0;   /* not a pid */
  if( ospid==shslotMyPid() ) return 1;
#ifdef __linux__
  {
    /* (a cached file that fails to read is a process gone; its pid may
    ** have been reused since: look afresh) */
    int bGone;
    t = shslotCachedStart(ospid, &bGone);
    if( t==0 ){
      if( kill((pid_t)ospid, 0)!=0 && errno==ESRCH ) return 0;
      t = shslotProcessStart(ospid);
      if( t>1 ) shslotCacheProc(ospid, t);
    }
  }
#else
  if( kill((pid_t)ospid, 0)!=0 && errno==ESRCH ) return 0;
  t = shslotProcessStart(ospid);
#endif
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
u64 shslotStartTag(u64 o){
  return ((u64)(SH_GEN(o) & 0xffffff)<<SH_START_BITS) | (shslotMyStart() & SH_START_MASK);
}
int shslotOwnerAlive(u64 o, u64 procStartTagged){
  u64 start = (procStartTagged>>SH_START_BITS)==(SH_GEN(o) & 0xffffff)
            ? (procStartTagged & SH_START_MASK) : 0;
  return shslotAlive(SH_OSPID(o), start);
}

/* Wake every agent of the file (they look at their own slots). */
void shslotWake(SharedReg *p){
  atomic_fetch_add(&shfileHdr(p)->wake, 1);
#ifdef __linux__
  syscall(SYS_futex, &shfileHdr(p)->wake, FUTEX_WAKE, 0x7fffffff, 0, 0, 0);
#endif
}

/* Copy a string into a fixed field, truncated, always terminated. */
void shslotCopy(char *zDst, int nDst, const char *zSrc){
  int n = zSrc ? (int)strlen(zSrc) : 0;
  if( n>=nDst ) n = nDst-1;
  if( n>0 ) memcpy(zDst, zSrc, n);
  zDst[n] = 0;
}

/* A string field copied out of the file: terminated within its size? */
int shslotTerminated(const char *z, int n){
  return memchr(z, 0, n)!=0;
}

/* Seqlock write brackets (the owner's threads, serialized by s->mu or
** the jobs lock). */
void shslotWriteBegin(_Atomic uint32_t *pSeq){
  uint32_t v = atomic_load_explicit(pSeq, memory_order_relaxed);
  atomic_store_explicit(pSeq, v|1u, memory_order_relaxed);
  atomic_thread_fence(memory_order_release);
}
void shslotWriteEnd(_Atomic uint32_t *pSeq){
  uint32_t v = atomic_load_explicit(pSeq, memory_order_relaxed);
  atomic_store_explicit(pSeq, (v|1u)+1u, memory_order_release);
}

/* The seqlock reader's copy. It races with writers by design: shslotRead
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
SH_NO_TSAN void shslotCopyRacy(void *pDst, const void *pSrc, int nByte){
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
** mistake that for absence (remoteWaitGone) look again. */
#define SH_READ_YIELDS 20
#define SH_READ_TRIES  220
void shslotBackoff(int nTry){
  if( nTry<SH_READ_YIELDS ){
    sched_yield();
  }else{
    struct timespec ts = { 0, 100000 };    /* 100 us */
    nanosleep(&ts, 0);
  }
}
int shslotRead(void *pDst, const void *pSlot, int nByte,
                  _Atomic u64 *pOwner, _Atomic uint32_t *pSeq, u64 *pO){
  int nTry;
  for(nTry=0; nTry<SH_READ_TRIES; nTry++){
    u64 o = atomic_load_explicit(pOwner, memory_order_acquire);
    uint32_t v1 = atomic_load_explicit(pSeq, memory_order_acquire);
    uint32_t v2;
    if( SH_OSPID(o)==0 ) return 0;
    if( v1&1u ){ shslotBackoff(nTry); continue; }
    shslotCopyRacy(pDst, pSlot, nByte);
    atomic_thread_fence(memory_order_acquire);
    v2 = atomic_load_explicit(pSeq, memory_order_relaxed);
    if( v1==v2 && atomic_load_explicit(pOwner, memory_order_relaxed)==o ){
      *pO = o;
      return 1;
    }
  }
  return 0;
}

/* How long a look at the file's size answers for, in us. */
#define SHSLOT_INTACT_US 1000000

/* Is the file still whole? (Truncating a mapped file makes access fault:
** a courtesy check before reads of other processes' slots and writes of
** the log; truncation while in use is not defended, doc/cross-process.md.)
** The answer of an fstat is kept for SHSLOT_INTACT_US: a cross-process
** cancel asked three times on its way, each a system call of 1 to 6 us
** (the first after a sleep costs the most). The check was always a race
** (the file can be cut right after it, and a session's own thread reads
** its slot without one); the agent thread looks every second. */
int shslotIntact(SharedReg *p){
  struct stat st;
  i64 nowUs;
  if( !p->bOk ) return 0;
  nowUs = idsMonoUs();
  if( nowUs<atomic_load_explicit(&p->intactUntilUs, memory_order_relaxed) ) return 1;
  if( fstat(p->fd, &st)!=0 || st.st_size<p->szFile ) return 0;
  atomic_store_explicit(&p->intactUntilUs, nowUs+SHSLOT_INTACT_US, memory_order_relaxed);
  return 1;
}

/* ------------------------------------------------------ tombstones */

int shslotIsTomb(u64 o){
  return (uint32_t)o==SH_TOMB || (uint32_t)o==SH_TOMBING;
}

/* How long p's finished jobs stay listed, in ms: the database's setting
** (set_job_retention in any process), else this process's. */
i64 shslotRetentionMs(SharedReg *p){
  u64 v;
  if( p==0 ) return atomic_load(&shslotRetentionSec)*1000;
  v = atomic_load_explicit(&shfileHdr(p)->jobRetention, memory_order_relaxed);
  if( v==0 || v>(u64)SHARED_RETENTION_MAX+1 ) return atomic_load(&shslotRetentionSec)*1000;
  return (i64)(v-1)*1000;
}

/* Has a job that finished at finishedMs passed p's retention? */
int shslotExpired(SharedReg *p, i64 finishedMs){
  return finishedMs<=idsNowMs()-shslotRetentionMs(p);
}

/* Remove what a dead job left: zPart, if it is the partial file of job
** id (named "<dest>.part-<id>"; anything else in a slot is not ours to
** delete), and its journal. */
static void shslotRemovePart(const char *zPart, i64 id){
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
void shslotTombstone(SharedReg *p, int i, u64 o){
  ShJob *pJ = shfileJob(p, i);
  u64 busy = ((u64)SH_GEN(o)<<32) | SH_TOMBING;
  uint8_t st;
  if( shslotIsTomb(o) || !atomic_compare_exchange_strong(&pJ->owner, &o, busy) ) return;
  /* The dead owner wrote the slot last (perhaps half: seq odd). */
  shslotWriteBegin(&pJ->seq);
  st = pJ->status;
  if( !SH_JOB_FINISHED(st) ){
    pJ->zPart[sizeof(pJ->zPart)-1] = 0;
    shslotRemovePart(pJ->zPart, pJ->id);
    pJ->status = SH_JOB_FAILED;
    pJ->hasError = 1;
    shslotCopy(pJ->zError, sizeof(pJ->zError), "its process was killed");
    pJ->finishedMs = pJ->modifiedMs = idsNowMs();
  }
  pJ->zPart[0] = 0;
  shslotWriteEnd(&pJ->seq);
  atomic_store(&pJ->ctlLock, 0);
  atomic_store(&pJ->owner, ((u64)SH_GEN(o)<<32) | SH_TOMB);
#ifdef __linux__
  /* a requester may be waiting for an answer that will not come */
  syscall(SYS_futex, &pJ->ansSeq, FUTEX_WAKE, 0x7fffffff, 0, 0, 0);
#endif
}

/* A tombstone (word o) past the retention is freed. Returns 1 if so. */
int shslotTombExpire(SharedReg *p, int i, u64 o){
  ShJob *pJ = shfileJob(p, i);
  i64 fin;
  if( (uint32_t)o!=SH_TOMB ) return 0;
  shslotCopyRacy(&fin, &pJ->finishedMs, sizeof(fin));
  if( !shslotExpired(p, fin) ) return 0;
  return atomic_compare_exchange_strong(&pJ->owner, &o, (u64)SH_GEN(o)<<32);
}

/* Claim a free slot among n at stride: returns its index, -1 if full. */
/* ------------------------------------------ the index of taken slots */

static int shslotLiveGrain(SharedReg *p){
  return (p->nSession + SH_LIVE_BITS - 1)/SH_LIVE_BITS;
}

static void shslotLiveSet(SharedReg *p, int i){
  int b = i/shslotLiveGrain(p);
  atomic_fetch_or(&shfileHdr(p)->aLive[b/64], 1ull<<(b%64));
}

void shslotLiveFreed(SharedReg *p, int i){
  int g = shslotLiveGrain(p), b = i/g, j;
  atomic_fetch_and(&shfileHdr(p)->aLive[b/64], ~(1ull<<(b%64)));
  for(j=b*g; j<b*g+g && j<p->nSession; j++){
    if( SH_OSPID(atomic_load(&shfileSession(p, j)->owner))!=0 ){
      shslotLiveSet(p, j);               /* taken meanwhile: keep it */
      break;
    }
  }
}

int shslotLiveNext(SharedReg *p, int i){
  int g = shslotLiveGrain(p), b;
  if( i<0 ) i = 0;
  for(b=i/g; b*g<p->nSession; ){
    u64 w = atomic_load_explicit(&shfileHdr(p)->aLive[b/64], memory_order_acquire);
    w &= ~0ull<<(b%64);
    if( w ){
      int bb = (b & ~63) + __builtin_ctzll(w);
      if( bb*g>=p->nSession ) return -1;
      return bb*g>i ? bb*g : i;
    }
    b = (b & ~63) + 64;
  }
  return -1;
}

int shslotClaim(SharedReg *p, int bJob, u64 *pOwner){
  int i, n = bJob ? p->nJob : p->nSession;
  for(i=0; i<n; i++){
    _Atomic u64 *pW = bJob ? &shfileJob(p, i)->owner : &shfileSession(p, i)->owner;
    u64 o = atomic_load(pW);
    uint32_t gen;
    u64 want;
    if( SH_OSPID(o)!=0 ){
      u64 procStart = atomic_load_explicit(bJob ? &shfileJob(p, i)->procStart : &shfileSession(p, i)->procStart, memory_order_relaxed);
      if( bJob && shslotIsTomb(o) ){
        /* a dead process's job, listed until the retention passes */
        if( !shslotTombExpire(p, i, o) ) continue;
        o = (u64)SH_GEN(o)<<32;
        goto claim;
      }
      if( shslotOwnerAlive(o, procStart) ) continue;
      if( bJob ){ shslotTombstone(p, i, o); continue; }
      /* its owner died: free it, then claim it like any free slot */
      if( !atomic_compare_exchange_strong(pW, &o, (u64)SH_GEN(o)<<32) ) continue;
      o = (u64)SH_GEN(o)<<32;
    }
claim:
    gen = (SH_GEN(o)+1) & 0xffffff;
    if( gen==0 ) gen = 1;
    want = ((u64)gen<<32) | (u64)shslotMyPid();
    if( atomic_compare_exchange_strong(pW, &o, want) ){
      *pOwner = want;
      atomic_store(&p->aMine[bJob ? p->nSession+i : i], 1);
      if( !bJob ) shslotLiveSet(p, i);
      return i;
    }
  }
  return -1;
}

void shslotRelease(SharedReg *p, int iMine, _Atomic u64 *pW, u64 mine){
  u64 o = mine;
  atomic_store(&p->aMine[iMine], 0);
  if( atomic_compare_exchange_strong(pW, &o, (u64)SH_GEN(mine)<<32)
   && iMine<p->nSession ){
    shslotLiveFreed(p, iMine);
  }
}

