/*
** csv.h: the CSV reader of the IMPORT job (jobkinds.c), on its own so
** that it can be tested and fuzzed apart from the job (test/fuzz/fuzz_csv.c).
**
** RFC 4180: comma-separated fields, CRLF or LF line ends, double-quoted
** fields that may hold commas, quotes ("") and newlines. A UTF-8 byte
** order mark at the start of the file is skipped (Excel's "CSV UTF-8");
** a NUL byte is an error (CSV is text). Errors say the line and the
** column (the field's number, from 1). Reads from a FILE* (a file for
** the job, fmemopen() for the fuzzer).
**
**   Csv csv;
**   csvInit(&csv, fopen(zFile, "rb"));
**   while( (rc = csvNext(&csv, &iLine))>0 ){
**     for(i=0; i<csv.nField; i++) use(csvField(&csv, i));
**   }
**   if( rc<0 ) report(csv.zErr);
**   csvClear(&csv); fclose(...);
*/
#ifndef CANCEL_CSV_H
#define CANCEL_CSV_H

#include <stdio.h>

typedef struct Csv Csv;
struct Csv {
  FILE *in;
  int iLine;          /* line the next record starts on */
  char *z;            /* the fields of the record, each NUL-terminated */
  int n, nAlloc;
  int *aOfst;         /* where each field starts in z */
  unsigned char *aQuoted;  /* whether each field was quoted */
  int nField, nFieldAlloc;
  int bStarted;       /* the byte order mark was looked for */
  int aBack[3];       /* bytes read ahead, to be read again (last first) */
  int nBack;
  char zErr[200];
};

/* Start reading from in (not owned: the caller closes it). */
void csvInit(Csv *p, FILE *in);
/* Read the next record. Returns 1 with the record in p (nField fields,
** csvField), 0 at the end of the file, -1 on a malformed record or one
** longer than CSV_MAX_RECORD bytes (csv.c; p->zErr says why and where).
** Empty lines are skipped. *piLine is the line the record starts on. */
int csvNext(Csv *p, int *piLine);
/* Field i (0 <= i < p->nField) of the last record read. */
const char *csvField(Csv *p, int i);
/* Was field i quoted? ("" is an empty quoted field, nothing an unquoted
** one: job_import's empty_is_null makes only the latter NULL.) */
int csvFieldQuoted(Csv *p, int i);
/* Free what the reader allocated (not p->in). */
void csvClear(Csv *p);

#endif /* CANCEL_CSV_H */
