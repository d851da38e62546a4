/*
** fuzz_csv.c: libFuzzer target for the CSV reader of job_import()
** (ext/csv.c).
**
** Every input is read as a CSV file through fmemopen(), record by
** record, and what the reader returns is checked: fields inside the
** record buffer, each NUL-terminated, no more bytes than the input had,
** line numbers that never go back, and an end in at most one step per
** input byte. About one input in 16 (chosen by a hash of the input, so a
** crash file replays the same way) also goes through the whole job: the
** bytes are written to build/tmp/fuzz-<pid>/in.csv, a table is created
** from the header as the reader sees it, job_import() runs and
** job_wait() must see it finish; when it succeeds, the table must hold
** exactly the records after the header. run.sh builds it with the
** reader's record limit lowered to 1000 bytes (-DCSV_MAX_RECORD=1000) so
** that inputs of libFuzzer's sizes reach it.
**
**   build:      test/fuzz/run.sh 0 fuzz_csv     (builds build/fuzz/fuzz_csv)
**   run:        test/fuzz/run.sh 60 fuzz_csv
**   reproduce:  build/fuzz/fuzz_csv crash-file  (from the repository root)
*/
#include <stdint.h>
#include "fuzzutil.h"
#include "csv.h"

static sqlite3 *dbE2E;              /* for the end-to-end path */
static char zCsvPath[600];

static void fuzzAtExit(void){
  sqlite3_close(dbE2E);
  fuzzRemoveDir();
}

int LLVMFuzzerInitialize(int *pArgc, char ***pArgv){
  char zDb[600];
  (void)pArgc; (void)pArgv;
  fuzzMakeDir();
  atexit(fuzzAtExit);
  sqlite3_auto_extension((void(*)(void))sqlite3_cancel_init);
  /* Opening a connection runs sqlite3_cancel_init, which also sets the
  ** extension's sqlite3_api pointer that csv.c allocates through. */
  snprintf(zDb, sizeof(zDb), "%s/f.db", fuzzDir);
  snprintf(zCsvPath, sizeof(zCsvPath), "%s/in.csv", fuzzDir);
  if( sqlite3_open(zDb, &dbE2E)!=SQLITE_OK ){
    fprintf(stderr, "fuzz_csv: cannot open %s\n", zDb);
    exit(1);
  }
  /* Finished jobs are listed for 60 s: long enough for job_wait to find
  ** an import that finished before it was called (with 0, a finished job
  ** is purged at the next call: job_wait would not find a fast one). */
  fuzzExec(dbE2E, "SELECT set_job_retention(60)");
  return 0;
}

/* FNV-1a: picks the inputs that also run end to end. */
static uint32_t fuzzHash(const uint8_t *a, size_t n){
  uint32_t h = 2166136261u;
  size_t i;
  for(i=0; i<n; i++){ h ^= a[i]; h *= 16777619u; }
  return h;
}

static FILE *fuzzOpenMem(const uint8_t *aData, size_t nData){
  if( nData==0 ) return fopen("/dev/null", "rb");
  return fmemopen((void*)aData, nData, "rb");
}

/* Read every record, checking what the reader hands out. Returns the
** number of records (header included) when the whole input is well
** formed and every record has the header's number of fields, -1 if not. */
static long fuzzParse(const uint8_t *aData, size_t nData, sqlite3_str *pCreate){
  Csv csv;
  FILE *in = fuzzOpenMem(aData, nData);
  int rc, iLine = 0, iPrevLine = 0, nCol = -1, bUniform = 1;
  long nRec = 0;
  size_t nStep = 0;
  if( in==0 ){ perror("fmemopen"); abort(); }
  csvInit(&csv, in);
  while( (rc = csvNext(&csv, &iLine))>0 ){
    int i;
    if( ++nStep>nData+1 ){ fprintf(stderr, "csvNext does not advance\n"); abort(); }
    if( csv.nField<1 || csv.n>csv.nAlloc || csv.nField>csv.nFieldAlloc ) abort();
    /* the fields' bytes (NUL terminators included) come from the input */
    if( (size_t)csv.n > nData + (size_t)csv.nField ) abort();
    if( iLine<iPrevLine || csv.iLine<iLine ) abort();
    iPrevLine = iLine;
    for(i=0; i<csv.nField; i++){
      int iEnd = i+1<csv.nField ? csv.aOfst[i+1] : csv.n;
      if( csv.aOfst[i]<0 || csv.aOfst[i]>=iEnd || iEnd>csv.n ) abort();
      if( csv.z[iEnd-1]!=0 ) abort();            /* terminated */
      (void)strlen(csvField(&csv, i));
    }
    if( nCol<0 ){
      nCol = csv.nField;
      if( pCreate ){
        sqlite3_str_appendf(pCreate, "CREATE TABLE t(");
        for(i=0; i<csv.nField; i++){
          sqlite3_str_appendf(pCreate, "%s\"%w\"", i ? "," : "", csvField(&csv, i));
        }
        sqlite3_str_appendf(pCreate, ")");
      }
    }else if( csv.nField!=nCol ){
      bUniform = 0;
    }
    nRec++;
  }
  if( rc<0 && (csv.zErr[0]==0 || memchr(csv.zErr, 0, sizeof(csv.zErr))==0) ) abort();
  csvClear(&csv);
  fclose(in);
  return rc==0 && bUniform ? nRec : -1;
}

/* The job, end to end, on a copy of the input in a file. */
static void fuzzImport(const uint8_t *aData, size_t nData){
  sqlite3_str *pCreate = sqlite3_str_new(0);
  char *zCreate, *zSql;
  long nRec = fuzzParse(aData, nData, pCreate);
  FILE *f;
  sqlite3_int64 id;
  sqlite3_stmt *p = 0;
  const char *zStatus = 0;
  int bCreated;

  zCreate = sqlite3_str_finish(pCreate);
  f = fopen(zCsvPath, "wb");
  if( f==0 ){ sqlite3_free(zCreate); return; }
  if( nData ) fwrite(aData, 1, nData, f);
  fclose(f);
  fuzzExec(dbE2E, "DROP TABLE IF EXISTS t");
  bCreated = zCreate && zCreate[0] && fuzzExec(dbE2E, zCreate)==SQLITE_OK;
  zSql = sqlite3_mprintf("SELECT job_import('t', %Q)", zCsvPath);
  id = fuzzInt(dbE2E, zSql, 0);
  sqlite3_free(zSql);
  if( id>0 ){
    zSql = sqlite3_mprintf("SELECT job_wait(%lld, 20000)", (long long)id);
    if( sqlite3_prepare_v2(dbE2E, zSql, -1, &p, 0)==SQLITE_OK && sqlite3_step(p)==SQLITE_ROW ){
      zStatus = (const char*)sqlite3_column_text(p, 0);
    }
    if( zStatus==0 || (strcmp(zStatus, "succeeded")!=0 && strcmp(zStatus, "failed")!=0) ){
      fprintf(stderr, "fuzz_csv: import job %lld did not finish: %s\n",
              (long long)id, zStatus ? zStatus : sqlite3_errmsg(dbE2E));
      abort();
    }
    /* What the reader accepted, the job imported, every record of it. */
    if( strcmp(zStatus, "succeeded")==0 ){
      sqlite3_int64 n = fuzzInt(dbE2E, "SELECT count(*) FROM t", -1);
      if( nRec<0 || !bCreated || n!=nRec-1 ){
        fprintf(stderr, "fuzz_csv: import succeeded with %lld rows, reader saw %ld records\n",
                (long long)n, nRec);
        abort();
      }
    }
    sqlite3_finalize(p);
    sqlite3_free(zSql);
  }
  sqlite3_free(zCreate);
}

int LLVMFuzzerTestOneInput(const uint8_t *aData, size_t nData){
  if( (fuzzHash(aData, nData) & 15)==0 ){
    fuzzImport(aData, nData);
  }else{
    fuzzParse(aData, nData, 0);
  }
  return 0;
}
