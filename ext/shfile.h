/*
** shfile.h: the layout of the registry file `<database>-cancel` and the
** primitives on it (doc/registry.md), for the files that read and write
** it: shared.c (open, attach, ids), shslot.c (liveness, seqlock, slots,
** tombstones), shagent.c (request cells, the agent thread), shlog.c (the
** cancel log ring) and the two layers right above them, remote.c
** (sessions in the file, requests to other processes' sessions) and
** jobslots.c (jobs in the file). Nothing else includes it.
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
** is bumped and futex-woken. The owner's agent thread swaps each cell to
** 0 and passes what it found to the servers registered with
** shagentSetServers(), which check everything again.
*/
#ifndef CANCEL_SHFILE_H
#define CANCEL_SHFILE_H

#include "shared.h"
#include <stdatomic.h>
#include <stdint.h>

#define SH_MAGIC       "cancel registry\n"   /* 16 bytes */
#define SH_VERSION     3        /* 2: id counters (doc/ids.md), cancelBy,
                                ** termBy, SH_TXT 1280, the cancel log,
                                ** hooksLost, noMutex; 3: xactTimeoutMs,
                                ** idleBlockerMs */
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
#define SH_LIVE_WORDS  480      /* the header's index of taken session slots */
#define SH_LIVE_BITS   (SH_LIVE_WORDS*64)
#define SH_NQUERY      4        /* running query ids published per session */
#define SH_TXT         1280     /* bytes of statement text published */

#define SH_OSPID(o)  ((long)((o) & 0xffffffffu))
#define SH_GEN(o)    ((uint32_t)((o)>>32))
/* procStart: (generation & 0xffffff) << SH_START_BITS | the start time */
#define SH_START_BITS 40
#define SH_START_MASK ((1ull<<SH_START_BITS)-1)
#define SH_ID_MAX   0x7fffffff        /* ids: int4's largest (doc/ids.md) */

/* ShJob.status holds a job's status (JOB_*, jobs.h) as a number; the
** registry layer itself needs three of them, for a tombstone: a job
** whose process died ends failed unless it had finished (jobslots.c
** checks that these equal jobs.h's). */
#define SH_JOB_CANCELED  6
#define SH_JOB_FAILED    7
#define SH_JOB_SUCCEEDED 8             /* the largest status */
/* The answer to a job request that found no such job (JOBCTL_NOTFOUND) */
#define SH_ANS_NOTFOUND  2
#define SH_JOB_FINISHED(e) ((e)>=SH_JOB_CANCELED && (e)<=SH_JOB_SUCCEEDED)


typedef struct ShHeader ShHeader;
struct ShHeader {
  char zMagic[16];
  uint32_t version, nSession, nJob, slotSize;
  _Atomic uint32_t wake;       /* futex word: bumped by every request */
  /* Bumped by a process that wants every other one to look at its
  ** sessions now and publish what they do (remoteRefresh): they learn a
  ** statement's end lazily (doc/architecture.md). */
  _Atomic uint32_t lookReq;
  /* The last session pid [0] and job id [1] handed out on this database:
  ** (number of wraps << 32) | value, value 1..SH_ID_MAX (doc/ids.md).
  ** Any process may write anything here: read as numbers, never trusted. */
  _Atomic u64 aIdLast[2];
  _Atomic u64 logNext;         /* the last cancel log id handed out */
  /* How long finished jobs stay listed, for every process on this
  ** database: seconds + 1 (0: never set, the default of one day). */
  _Atomic u64 jobRetention;
  /* Which session slots may be taken: bit b covers slots b*g .. b*g+g-1
  ** (g = shslotLiveGrain(), 1 up to SH_LIVE_BITS slots). A claimer sets
  ** the bit after its claim; a releaser clears it after its release,
  ** then sets it again if a slot it covers was taken meanwhile; the
  ** agent's reap pass sets any bit a taken slot lacks. So a set bit may
  ** cover only free slots, but a taken slot's bit is set (after at most
  ** one reap pass, if its claimer died between claim and bit). Readers
  ** that look for sessions walk only the set bits. */
  _Atomic u64 aLive[SH_LIVE_WORDS];
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
  _Atomic uint32_t lookAck;    /* the lookReq its owner has answered */
  _Atomic uint32_t busyTick;   /* low 32 bits of the wall-clock ms of its
                               ** busy handler's last call (outside seq) */
  ShAsker cancelBy, termBy;    /* outside seq: see ShAsker */
  /* published under seq */
  u64 tag, iSerial;
  i64 pid, startMs, xactStartMs, waitingSinceMs, queryStartMs;
  u64 aQuery[SH_NQUERY];       /* running executions, oldest first */
  u64 iNewest;                 /* the newest running execution */
  uint32_t nQuery;
  int32_t stmtTimeoutMs, idleTimeoutMs, xactTimeoutMs, idleBlockerMs;
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
  i64 szFile;                  /* its size; shslotIntact() checks it */
  _Atomic i64 intactUntilUs;   /* shslotIntact(): whole as of a look
                               ** recent enough, until then (monotonic) */
  /* Slots this process owns (sessions, then jobs: nSession+nJob): the
  ** agent looks only at these, so it does not walk the whole file at
  ** every wake. */
  atomic_uchar *aMine;
  atomic_int nJobFull;         /* jobs listed here that found no slot */
  int bIdIntact;               /* shared.c, under its mutex: the file was
                               ** whole when the id words were last looked
                               ** at (one fstat per id, not one per word) */
  char zNote[300];             /* a setting ignored when creating it */
};

/* Slots and log entries: at offsets of the file's own geometry. */
static inline ShHeader *shfileHdr(SharedReg *p){ return (ShHeader*)p->aMap; }
static inline ShSession *shfileSession(SharedReg *p, int i){
  return (ShSession*)(p->aMap + SH_HDR_SIZE + (i64)i*SH_SLOT_SIZE);
}
static inline ShJob *shfileJob(SharedReg *p, int i){
  return (ShJob*)(p->aMap + p->iJobOff + (i64)i*SH_SLOT_SIZE);
}
static inline ShLog *shfileLog(SharedReg *p, i64 id){
  return (ShLog*)(p->aMap + p->iLogOff + (id % SH_NLOG)*SH_LOG_SIZE);
}

/* How long p's finished jobs stay listed, in ms (p NULL: this process's
** setting, which sharedSetRetention keeps through shslotSetRetention). */
i64 shslotRetentionMs(SharedReg *p);
void shslotSetRetention(i64 seconds);

/* ---- shslot.c: liveness, the seqlock, slots, tombstones */
long shslotMyPid(void);
u64 shslotMyStart(void);
/* Is process ospid (published start time procStart, 0 unknown) alive? */
int shslotAlive(long ospid, u64 procStart);
/* procStart for owner word o, and the liveness of a slot's owner o */
u64 shslotStartTag(u64 o);
int shslotOwnerAlive(u64 o, u64 procStartTagged);
/* Is the file still whole? (checked before every read of other
** processes' slots: truncating a mapped file makes access fault) */
int shslotIntact(SharedReg *p);
/* Wake every agent of the file (they look at their own slots). */
void shslotWake(SharedReg *p);
void shslotCopy(char *zDst, int nDst, const char *zSrc);
int shslotTerminated(const char *z, int n);
/* Seqlock write brackets: the owner's threads, serialized by the
** caller's lock (a session's mu, the jobs lock). */
void shslotWriteBegin(_Atomic uint32_t *pSeq);
void shslotWriteEnd(_Atomic uint32_t *pSeq);
void shslotCopyRacy(void *pDst, const void *pSrc, int nByte);
#define SH_READ_YIELDS 20
void shslotBackoff(int nTry);
int shslotRead(void *pDst, const void *pSlot, int nByte,
               _Atomic u64 *pOwner, _Atomic uint32_t *pSeq, u64 *pO);
int shslotIsTomb(u64 o);
int shslotExpired(SharedReg *p, i64 finishedMs);
void shslotTombstone(SharedReg *p, int i, u64 o);
int shslotTombExpire(SharedReg *p, int i, u64 o);
/* Claim a free session (bJob 0) or job slot: its index, -1 if full. */
int shslotClaim(SharedReg *p, int bJob, u64 *pOwner);
/* The index of taken session slots (ShHeader.aLive): the first session
** slot from i on that may be taken, or -1; a session slot set free. */
int shslotLiveNext(SharedReg *p, int i);
void shslotLiveFreed(SharedReg *p, int i);
void shslotRelease(SharedReg *p, int iMine, _Atomic u64 *pW, u64 mine);

/* ---- shagent.c: request cells and the agent thread */
const SharedServers *shagentGet(void);   /* (all NULL until set) */
int shagentStart(SharedReg *p);
void shagentPutAsker(ShAsker *pA, u64 cell, const CancelAsker *pBy);
void shagentReap(SharedReg *p);      /* (one pass of the agent's) */
void shagentServe(SharedReg *p);     /* (one pass of the agent's) */

#endif /* CANCEL_SHFILE_H */
