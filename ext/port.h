/*
** port.h: what differs between the platforms the extension builds on.
** POSIX (Linux, macOS) is the reference; Windows (mingw-w64, with its
** winpthreads) gets the few replacements here. Everything else (threads,
** atomics, clock_gettime) is the same code on both.
*/
#ifndef CANCEL_PORT_H
#define CANCEL_PORT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

uint64_t portRandom64(void);                   /* 0 when none could be had */
void portUserName(char *zOut, size_t n);       /* the OS user running us */
long portPid(void);                            /* OS process id */
void portGmtime(time_t t, struct tm *pTm);
int portRename(const char *zFrom, const char *zTo);  /* replaces zTo; 0 ok */
int portUnlink(const char *zPath);
void portPinLibrary(void *pAddr);              /* never unload the module
                                               ** holding pAddr */

/* Condition variables whose timed waits take deadlines on the monotonic
** clock (idsMonoUs): where the platform cannot set a condition's
** clock, the deadline is converted to the realtime clock. */
#include <pthread.h>
void portCondInitMono(pthread_cond_t *pCond);
struct timespec portCondDeadline(int64_t monoUs);

/* A deadline us microseconds from now on the realtime clock, for the
** conditions created with default attributes. */
struct timespec portRealtimeAfter(int64_t us);

#endif /* CANCEL_PORT_H */
