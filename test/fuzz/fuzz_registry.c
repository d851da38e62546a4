/*
** fuzz_registry.c: libFuzzer target for the cross-process registry file
** `<db>-cancel` (ext/shared.c and its layer; layout: ext/shfile.h), as
** a hostile process could write it.
**
** The registry is attached once per database file and kept mapped for
** the life of the process, so the target attaches once (sessions on
** build/tmp/fuzz-<pid>/f.db) and then, for each input, writes bytes into
** the file with pwrite() (the extension's mapping is shared: it sees
** them at once) and runs every reader of the file:
**
**   the sessions and jobs tables; cancel_session, cancel_query,
**   pg_cancel_backend, pg_terminate_backend, cancel_job, pause_job,
**   resume_job, job_wait aimed at the ids and pids the file holds;
**   cancel_sessions, cancel_jobs, DELETE FROM sessions, UPDATE jobs on
**   every foreign row; cancel_registry, blocking_sessions,
**   pg_blocking_pids; a connection opened and closed (claims and
**   releases a slot among fuzzed ones); the reaper; and the agent's
**   serving of the request cells of this process's own slots (the
**   fuzzer writes those cells, with the right generation or not).
**
** The input is a list of operations: plant a plausible foreign session
** or job (owner: the parent process, so alive, or a dead pid) in one of
** the slots kept for it, then let raw bytes overwrite any of it; raw
** writes to the header or anywhere in the file; request cells; readers.
** Between inputs the header is made valid again, every byte the input
** wrote is zeroed and this process's own slots are put back, so that
** each input starts from a registry the extension accepts.
**
** This file includes ext/shared.c itself (for its static helpers; the
** slot layout is ext/shfile.h), so it is built with the other sources
** minus ext/shared.c. The file is never made shorter (a shrunken shared
** mapping faults with SIGBUS: see the report of issue #7).
**
**   build:      test/fuzz/run.sh 0 fuzz_registry
**   run:        test/fuzz/run.sh 60 fuzz_registry
**   reproduce:  build/fuzz/fuzz_registry crash-file  (from the repository root)
*/
/* Before shared.c: it brings sqlite3ext.h, whose macros route every
** sqlite3_* call through the extension's sqlite3_api pointer, which is
** set only once a connection has loaded the extension. The code up to
** the #include calls SQLite directly. */
#include <sqlite3.h>
#include "fuzzutil.h"

static char zDb[600], zReg[600];
static sqlite3 *dbAdmin;              /* admin caller */
static sqlite3 *dbBob;                /* non-admin caller (user bob) */
static sqlite3 *dbVictim;             /* own session with an own job */

/* (on this target's database) */
static sqlite3 *openSession(const char *zApp, const char *zUser){
  return fuzzOpenSession(zDb, zApp, zUser);
}
static void keepAlive(sqlite3 **pDb, const char *zApp, const char *zUser){
  fuzzKeepAlive(zDb, pDb, zApp, zUser);
}

static void fuzzAtExit(void){
  sqlite3_close(dbAdmin);
  sqlite3_close(dbBob);
  sqlite3_close(dbVictim);
  fuzzRemoveDir();
}

/* The first connections (which set sqlite3_api). */
static void openAll(void){
  /* the file this target creates has the default geometry (below) */
  unsetenv("CANCEL_REGISTRY_SESSIONS");
  unsetenv("CANCEL_REGISTRY_JOBS");
  sqlite3_auto_extension((void(*)(void))sqlite3_cancel_init);
  dbAdmin = openSession("fuzz-admin", 0);
  dbBob = openSession("bob", "bob");
  dbVictim = openSession("victim", 0);
  fuzzExec(dbAdmin, "SELECT set_job_retention(0)");
}

#include "shared.c"
#include "registry.h"      /* registryFind: the admin connection's registry file */
/* The geometry of the file this target creates: the default one (checked
** in LLVMFuzzerInitialize). */
#define SH_NSESSION   SH_NSESSION_DEFAULT
#define SH_NJOB       SH_NJOB_DEFAULT
#define SH_FILE_SIZE  SH_FILE_SIZE_DEFAULT
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------ decoding */

typedef struct In In;
struct In { const uint8_t *a; size_t n, i; };

static unsigned get8(In *p){ return p->i<p->n ? p->a[p->i++] : 0; }
static unsigned get16(In *p){ unsigned v = get8(p); return (v<<8) | get8(p); }
static uint64_t get64(In *p){
  uint64_t v = 0;
  int k;
  for(k=0; k<8; k++) v = (v<<8) | get8(p);
  return v;
}

/* ------------------------------------------------------------- state */

#define FZ_NSES  4            /* session slots for planted sessions */
#define FZ_NJOB  4            /* job slots for planted jobs */
#define FZ_SES0  (SH_NSESSION-FZ_NSES)   /* far from where claims start */
#define FZ_JOB0  (SH_NJOB-FZ_NJOB)

static int fdReg = -1;                /* the harness's own handle on it */
static SharedReg *pReg;               /* the extension's attachment */
static long myPid;

/* The byte ranges the current input wrote, zeroed afterwards. */
#define FZ_MAXW 256
static struct { i64 iOff; int n; } aWritten[FZ_MAXW];
static int nWritten;
static int bWrittenAll;               /* too many: zero every foreign slot */

static i64 sesOff(int i){ return SH_HDR_SIZE + (i64)i*SH_SLOT_SIZE; }
static i64 jobOff(int i){ return SH_HDR_SIZE + (i64)(SH_NSESSION+i)*SH_SLOT_SIZE; }

static void regWrite(i64 iOff, const void *a, int n){
  if( iOff<0 || n<=0 ) return;
  if( iOff+n > SH_FILE_SIZE ) n = (int)(SH_FILE_SIZE - iOff);
  if( n<=0 ) return;
  if( pwrite(fdReg, a, n, iOff)!=n ){ perror("pwrite"); abort(); }
  if( nWritten<FZ_MAXW ){
    aWritten[nWritten].iOff = iOff;
    aWritten[nWritten].n = n;
    nWritten++;
  }else{
    bWrittenAll = 1;
  }
}

static void validHeader(void){
  ShHeader h;
  shHeaderInit(&h, SH_NSESSION, SH_NJOB);
  /* the wake word is left as it is: the agent waits on it */
  if( pwrite(fdReg, &h, offsetof(ShHeader, wake), 0)<0 ) abort();
}

/* Is slot i (0..SH_NSESSION+SH_NJOB) one this process owns? */
static int ownSlot(int i){
  return atomic_load(&pReg->aMine[i])!=0;
}

/* Own slots, saved before an input and put back after it. */
static unsigned char *aSaved;         /* SH_FILE_SIZE bytes, own slots only */
static unsigned char aSavedMine[SH_NSESSION+SH_NJOB];

static void saveOwn(void){
  int i;
  for(i=0; i<SH_NSESSION+SH_NJOB; i++){
    aSavedMine[i] = (unsigned char)ownSlot(i);
    if( aSavedMine[i] ){
      i64 o = SH_HDR_SIZE + (i64)i*SH_SLOT_SIZE;
      if( pread(fdReg, aSaved+o, SH_SLOT_SIZE, o)!=SH_SLOT_SIZE ) abort();
    }
  }
}

/* Zero what the input wrote (own slots: put back as they were). */
static void undoWrites(void){
  static const unsigned char aZero[SH_SLOT_SIZE];
  int k, i;
  if( bWrittenAll ){
    for(i=0; i<SH_NSESSION+SH_NJOB; i++){
      if( !ownSlot(i) ) pwrite(fdReg, aZero, SH_SLOT_SIZE, SH_HDR_SIZE + (i64)i*SH_SLOT_SIZE);
    }
  }
  for(k=0; k<nWritten; k++){
    i64 iOff = aWritten[k].iOff, iEnd = iOff + aWritten[k].n;
    while( iOff<iEnd ){
      i64 iSlot = iOff<SH_HDR_SIZE ? -1 : (iOff-SH_HDR_SIZE)/SH_SLOT_SIZE;
      i64 iStop = iSlot<0 ? SH_HDR_SIZE : SH_HDR_SIZE + (iSlot+1)*SH_SLOT_SIZE;
      int n;
      if( iStop>iEnd ) iStop = iEnd;
      n = (int)(iStop-iOff);
      /* (past the slots: the cancel log, zeroed) */
      if( iSlot>=0 && iSlot<SH_NSESSION+SH_NJOB
       && aSavedMine[iSlot] && ownSlot((int)iSlot) ){
        pwrite(fdReg, aSaved+iOff, n, iOff);
      }else if( iSlot>=0 || iOff>=(i64)sizeof(ShHeader) ){
        pwrite(fdReg, aZero, n, iOff);
      }
      iOff = iStop;
    }
  }
  nWritten = 0;
  bWrittenAll = 0;
  validHeader();
}

int LLVMFuzzerInitialize(int *pArgc, char ***pArgv){
  SharedReg *p;
  (void)pArgc; (void)pArgv;
  fuzzMakeDir();
  snprintf(zDb, sizeof(zDb), "%s/f.db", fuzzDir);
  snprintf(zReg, sizeof(zReg), "%s/f.db-cancel", fuzzDir);
  myPid = (long)getpid();
  openAll();
  p = registryFind(dbAdmin) ? registryFind(dbAdmin)->pShReg : 0;
  if( p==0 || !p->bOk ){
    fprintf(stderr, "fuzz_registry: %s is not attached\n", zReg);
    exit(1);
  }
  if( p->nSession!=SH_NSESSION || p->nJob!=SH_NJOB || p->szFile!=SH_FILE_SIZE ){
    fprintf(stderr, "fuzz_registry: %s has not the default geometry\n", zReg);
    exit(1);
  }
  pReg = p;
  fdReg = open(zReg, O_RDWR|O_CLOEXEC);
  aSaved = malloc(SH_FILE_SIZE);
  if( fdReg<0 || aSaved==0 ) exit(1);
  atexit(fuzzAtExit);
  return 0;
}

/* ------------------------------------------------------------- planting */

/* The owner word of a planted slot: alive (the parent process, which is
** not this one), dead, or anything. */
static u64 plantOwner(In *in){
  unsigned e = get8(in);
  u64 gen = (u64)(1 + get8(in));
  switch( e % 4 ){
    case 0: case 1: return (gen<<32) | (u64)getppid();
    case 2:         return (gen<<32) | 0x7ffffff0u;   /* no such process */
    default:        return get64(in);
  }
}

static void plantSession(In *in){
  int k = (int)(get8(in) % FZ_NSES);
  ShSession *pS = calloc(1, sizeof(ShSession));
  u64 o = plantOwner(in);
  unsigned f = get8(in);
  if( pS==0 ) return;
  if( f & 64 ){
    /* a real image: one of this process's own slots as the extension
    ** wrote it, passed off as another process's (owner, tag) */
    int i;
    for(i=0; i<SH_NSESSION && !ownSlot(i); i++){}
    if( i<SH_NSESSION ){
      memcpy(pS, shfileSession(pReg, i), sizeof(*pS));
      atomic_store(&pS->owner, o);
      atomic_store(&pS->seq, 2u);
      pS->tag ^= 0x5555;
      regWrite(sesOff(FZ_SES0+k), pS, sizeof(*pS));
      free(pS);
      return;
    }
  }
  atomic_store(&pS->owner, o);
  atomic_store(&pS->seq, (f & 1) ? 1u : 2u);          /* odd: being written */
  atomic_store(&pS->procStart, (f & 2) ? shslotProcessStart(SH_OSPID(o)) : 0);
  pS->tag = 0x0123456789abcdefull + (u64)(f>>4);
  pS->iSerial = (u64)k+1;
  pS->pid = 2000000000 + k;
  pS->startMs = pS->queryStartMs = pS->xactStartMs = 1700000000000LL;
  pS->nQuery = (f & 4) ? 2 : 0;
  pS->aQuery[0] = 100 + (u64)k;
  pS->aQuery[1] = 200 + (u64)k;
  pS->iNewest = (f & 4) ? pS->aQuery[1] : 0;
  pS->status = (uint8_t)(f & 4 ? SH_ACTIVE : SH_IDLE);
  pS->iActive = (f & 4) ? 1 : 0;
  pS->iLast = (f & 8) ? 2 : 0;
  pS->isAdmin = 0;
  snprintf(pS->zUser, sizeof(pS->zUser), "%s", (f & 16) ? "bob" : "mallory");
  snprintf(pS->zApp, sizeof(pS->zApp), "foreign");
  pS->hasClient = (f & 32)!=0;
  snprintf(pS->zClient, sizeof(pS->zClient), "10.0.0.1:5");
  snprintf(pS->zDatabase, sizeof(pS->zDatabase), "%s", zDb);
  snprintf(pS->aTxt[0], SH_TXT, "SELECT 'running'");
  snprintf(pS->aTxt[1], SH_TXT, "SELECT 'last'");
  regWrite(sesOff(FZ_SES0+k), pS, sizeof(*pS));
  free(pS);
}

static void plantJob(In *in){
  int k = (int)(get8(in) % FZ_NJOB);
  ShJob *pJ = calloc(1, sizeof(ShJob));
  u64 o = plantOwner(in);
  unsigned f = get8(in);
  if( pJ==0 ) return;
  atomic_store(&pJ->owner, o);
  atomic_store(&pJ->seq, (f & 1) ? 1u : 2u);
  atomic_store(&pJ->procStart, (f & 2) ? shslotProcessStart(SH_OSPID(o)) : 0);
  pJ->coordTag = 0x0123456789abcdefull;
  pJ->coordSerial = (f & 4) ? 1 : 0;
  pJ->id = 3000000000LL + k;
  pJ->fraction = (f>>4)/16.0;
  pJ->createdMs = 1700000000000LL;
  pJ->status = (uint8_t)((f>>3) % 9);               /* every JOB_* */
  pJ->hasError = (f & 4)!=0;
  snprintf(pJ->zType, sizeof(pJ->zType), "BACKUP");
  snprintf(pJ->zUser, sizeof(pJ->zUser), "%s", (f & 128) ? "bob" : "mallory");
  snprintf(pJ->zRunning, sizeof(pJ->zRunning), "half");
  snprintf(pJ->zError, sizeof(pJ->zError), "boom");
  snprintf(pJ->zDesc, sizeof(pJ->zDesc), "a planted job");
  regWrite(jobOff(FZ_JOB0+k), pJ, sizeof(*pJ));
  free(pJ);
}

/* Raw bytes from the input at an offset in a region of the file: the
** header, a planted session or job slot, or anywhere. */
static void rawWrite(In *in){
  unsigned eRegion = get8(in) % 4;
  unsigned iOff = get16(in);
  unsigned n = get8(in) + 1;
  i64 iBase, nRegion;
  unsigned char a[256];
  unsigned k;
  for(k=0; k<n; k++) a[k] = (unsigned char)get8(in);
  switch( eRegion ){
    case 0:  iBase = 0; nRegion = SH_HDR_SIZE; break;
    case 1:  iBase = sesOff(FZ_SES0 + iOff % FZ_NSES); nRegion = SH_SLOT_SIZE;
             iOff = (iOff>>2) | (get8(in) & 0xf)<<14; break;
    case 2:  iBase = jobOff(FZ_JOB0 + iOff % FZ_NJOB); nRegion = SH_SLOT_SIZE;
             iOff = (iOff>>2) | (get8(in) & 0xf)<<14; break;
    default: iBase = 0; nRegion = SH_FILE_SIZE;
             iOff = (unsigned)((iOff<<8 | get8(in)) * 31u); break;
  }
  regWrite(iBase + (i64)(iOff % (unsigned)nRegion), a, (int)n);
}

/* A request cell of one of this process's own slots. */
static void requestCell(In *in){
  unsigned e = get8(in);
  int want = (int)(get8(in) % 8), i, seen = 0;
  for(i=0; i<SH_NSESSION+SH_NJOB; i++){
    if( !ownSlot(i) ) continue;
    if( ((i<SH_NSESSION)==((e & 1)==0)) && seen++==want ) break;
  }
  if( i==SH_NSESSION+SH_NJOB ) return;
  if( i<SH_NSESSION ){
    ShSession *pS = shfileSession(pReg, i);
    u64 o = atomic_load(&pS->owner);
    if( e & 2 ){
      uint32_t t = (e & 4) ? SH_GEN(o) : (uint32_t)get64(in);
      regWrite(sesOff(i) + offsetof(ShSession, termReq), &t, sizeof(t));
    }else{
      u64 c = (e & 4) ? ((u64)(SH_GEN(o) & 0xffffff)<<40) | (get64(in) & 0xffffffffffull)
                      : get64(in);
      regWrite(sesOff(i) + offsetof(ShSession, cancelReq), &c, sizeof(c));
    }
  }else{
    ShJob *pJ = shfileJob(pReg, i-SH_NSESSION);
    u64 o = atomic_load(&pJ->owner);
    uint32_t r = (e & 4) ? ((SH_GEN(o) & 0xfffffff)<<4) | (get8(in) & 15) : (uint32_t)get64(in);
    regWrite(jobOff(i-SH_NSESSION) + offsetof(ShJob, ctlReq), &r, sizeof(r));
  }
  shslotWake(pReg);
  if( e & 8 ) shagentServe(pReg);      /* now, rather than when the agent wakes */
}

/* ------------------------------------------------------------- readers */

/* The id of a planted session as the file holds it now. */
static void plantedIds(int k, char *zSid, char *zQid, i64 *pPid){
  ShSession *pS = shfileSession(pReg, FZ_SES0+k);
  idsFormatIdTag(pS->tag ? pS->tag : 1, pS->iSerial, zSid);
  idsFormatIdTag(pS->tag ? pS->tag : 1, pS->nQuery ? pS->aQuery[0] : pS->iNewest, zQid);
  *pPid = pS->pid;
}

static void runSql(sqlite3 *db, const char *zFmt, ...){
  va_list ap;
  char *z;
  va_start(ap, zFmt);
  z = sqlite3_vmprintf(zFmt, ap);
  va_end(ap);
  if( z ){ fuzzDrain(db, z); sqlite3_free(z); }
}

static void reader(In *in){
  unsigned e = get8(in);
  sqlite3 *db = (e & 0x80) ? dbBob : dbAdmin;
  int k = (int)(get8(in) % FZ_NSES);
  i64 jobId = 3000000000LL + (i64)(get8(in) % FZ_NJOB);
  char zSid[40], zQid[40];
  i64 pid;
  plantedIds(k, zSid, zQid, &pid);
  switch( (e & 0x7f) % 20 ){
    case 0:  runSql(db, "SELECT * FROM sessions"); break;
    case 1:  runSql(db, "SELECT * FROM jobs"); break;
    case 2:  runSql(db, "SELECT cancel_session(%Q, 1)", zSid); break;
    case 3:  runSql(db, "SELECT cancel_query(%Q, 1)", zQid); break;
    case 4:  runSql(db, "SELECT pg_cancel_backend(%lld)", (long long)pid); break;
    case 5:  runSql(db, "SELECT pg_terminate_backend(%lld, %d)", (long long)pid, (int)(e>>5 & 3)); break;
    case 6:  runSql(db, "SELECT cancel_job(%lld, 1)", (long long)jobId); break;
    case 7:  runSql(db, "SELECT pause_job(%lld)", (long long)jobId); break;
    case 8:  runSql(db, "SELECT resume_job(%lld)", (long long)jobId); break;
    case 9:  runSql(db, "SELECT job_wait(%lld, %d)", (long long)jobId, (int)(e>>5 & 3)); break;
    case 10: runSql(db, "SELECT cancel_registry()"); break;
    case 11: runSql(db, "SELECT blocking_sessions(session_id()), pg_blocking_pids(pg_backend_pid())"); break;
    case 12: runSql(db, "SELECT cancel_sessions('SELECT session_id FROM sessions WHERE node_id<>%ld', 1)", myPid); break;
    case 13: runSql(db, "SELECT cancel_jobs('SELECT job_id FROM jobs WHERE node_id<>%ld', 1)", myPid); break;
    case 14: runSql(db, "DELETE FROM sessions WHERE node_id<>%ld", myPid); break;
    case 15: runSql(db, "UPDATE jobs SET status='%s' WHERE node_id<>%ld",
                    (e & 0x20) ? "paused" : (e & 0x40) ? "canceled" : "running", myPid); break;
    case 16: runSql(db, "SELECT * FROM sessions WHERE session_id=%Q", zSid); break;
    case 17: {                     /* claim and release a slot among these */
      sqlite3 *db2 = 0;
      sqlite3_open(zDb, &db2);
      fuzzDrain(db2, "SELECT count(*) FROM sessions");
      sqlite3_close(db2);
      break;
    }
    case 18: shagentReap(pReg); break;
    default: shagentServe(pReg); break;
  }
}

/* ------------------------------------------------------------ one input */

int LLVMFuzzerTestOneInput(const uint8_t *aData, size_t nData){
  In in = { aData, nData, 0 };
  int nOp = 0;
  keepAlive(&dbAdmin, "fuzz-admin", 0);
  keepAlive(&dbBob, "bob", "bob");
  keepAlive(&dbVictim, "victim", 0);
  /* an own application job, for the job request cells */
  fuzzExec(dbVictim, "SELECT job_begin('FUZZ')");
  saveOwn();
  while( in.i<in.n && nOp++<64 ){
    switch( get8(&in) % 5 ){
      case 0: plantSession(&in); break;
      case 1: plantJob(&in); break;
      case 2: rawWrite(&in); break;
      case 3: requestCell(&in); break;
      default: reader(&in); break;
    }
  }
  /* every reader once more, on what the input left */
  fuzzDrain(dbAdmin, "SELECT * FROM sessions");
  fuzzDrain(dbAdmin, "SELECT * FROM jobs");
  undoWrites();
  fuzzExec(dbVictim, "SELECT job_end(job_id) FROM jobs WHERE job_type='FUZZ' "
                     "AND status NOT IN ('canceled','failed','succeeded')");
  return 0;
}
