/*
** ids.h: the process tag, session/query ids, clocks and time text.
**
** The ground of the house: no lock, no state but a counter and the
** process's identity, taken once. Every id of this process is 32 hex
** digits: a 64-bit random tag, then a serial whose top 24 bits are the
** OS pid and whose low 40 bits count (doc/ids.md).
*/
#ifndef CANCEL_IDS_H
#define CANCEL_IDS_H

#include "session.h"

void idsFormatId(u64 iSerial, char *zOut /* 33 bytes */);
void idsFormatIdTag(u64 tag, u64 iSerial, char *zOut); /* tag 0: ours */
u64 idsTag(void);                    /* this process's id prefix */
u64 idsNode(void);                   /* this process's OS pid */
const char *idsOsUser(void);         /* the OS user running us */
/* Split an id into its process tag and serial; 0 if not 32 hex digits. */
int idsParseId(const char *z, u64 *pTag, u64 *piSerial);
int idsIsIdShape(const char *z);     /* 32 hex digits? */
/* (pids and job ids: sharedNextId(), shared.h) */
u64 idsNextQuery(void);              /* a fresh serial (sessions, queries) */
u64 idsReserveQueries(int n);        /* first of n consecutive serials */
/* The serial of this process whose low 40 bits are n (a request from
** another process carries only those). */
u64 idsMakeSerial(u64 n);

i64 idsMonoUs(void);                 /* monotonic clock, for deadlines */
i64 idsNowMs(void);                  /* wall clock, ms since 1970 */
void idsFormatTime(i64 ms, char *zOut /* 32 bytes */);

#endif /* CANCEL_IDS_H */
