/*
** port.h: what differs between the platforms the extension builds on.
** POSIX (Linux, macOS) is the reference; Windows (mingw-w64, with its
** winpthreads) gets the few replacements here, and the registry file's
** system calls in portwin.h. Everything else (threads, atomics,
** clock_gettime) is the same code on both.
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

/* Something that tells the calling thread from every other live one, as
** cheaply as the platform allows: the thread pointer (one instruction)
** where the compiler gives it, else pthread_self(). Compared, never
** dereferenced. (hooks.c's fast path compares it at every statement.) */
#if defined(__linux__) && defined(__has_builtin)
# if __has_builtin(__builtin_thread_pointer) && (defined(__x86_64__) || defined(__aarch64__))
#  define PORT_THREAD_POINTER 1
# endif
#endif
static inline void *portThreadTag(void){
#ifdef PORT_THREAD_POINTER
  return __builtin_thread_pointer();
#else
  return (void*)(uintptr_t)pthread_self();
#endif
}

#endif /* CANCEL_PORT_H */
