/*
** port.c: the platform differences of port.h.
*/
#ifdef _WIN32
# define _CRT_RAND_S       /* rand_s(), before <stdlib.h> */
#else
# define _GNU_SOURCE 1     /* dladdr, RTLD_NODELETE */
#endif
#include "port.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
# include <windows.h>
# include <process.h>
# include <io.h>
#else
# include <dlfcn.h>
# include <pwd.h>
# include <sys/random.h>
# include <unistd.h>
#endif

uint64_t portRandom64(void){
  uint64_t r = 0;
#ifdef _WIN32
  unsigned int a = 0, b = 0;
  if( rand_s(&a)==0 && rand_s(&b)==0 ) r = ((uint64_t)a<<32) | b;
#else
  if( getrandom(&r, sizeof(r), 0)!=(ssize_t)sizeof(r) ) r = 0;
#endif
  return r;
}

void portUserName(char *zOut, size_t n){
#ifdef _WIN32
  DWORD len = (DWORD)n;
  if( !GetUserNameA(zOut, &len) ){
    const char *z = getenv("USERNAME");
    snprintf(zOut, n, "%s", z ? z : "unknown");
  }
#else
  struct passwd pw, *pRes = 0;
  char buf[1024];
  if( getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &pRes)==0 && pRes ){
    snprintf(zOut, n, "%s", pw.pw_name);
  }else if( getenv("USER") ){
    snprintf(zOut, n, "%s", getenv("USER"));
  }else{
    snprintf(zOut, n, "uid%d", (int)geteuid());
  }
#endif
}

long portPid(void){
#ifdef _WIN32
  return (long)GetCurrentProcessId();
#else
  return (long)getpid();
#endif
}

void portGmtime(time_t t, struct tm *pTm){
#ifdef _WIN32
  gmtime_s(pTm, &t);
#else
  gmtime_r(&t, pTm);
#endif
}

int portRename(const char *zFrom, const char *zTo){
#ifdef _WIN32
  return MoveFileExA(zFrom, zTo, MOVEFILE_REPLACE_EXISTING) ? 0 : -1;
#else
  return rename(zFrom, zTo);
#endif
}

int portUnlink(const char *zPath){
#ifdef _WIN32
  return _unlink(zPath);
#else
  return unlink(zPath);
#endif
}

void portPinLibrary(void *pAddr){
#ifdef _WIN32
  HMODULE h;
  GetModuleHandleExA(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS
                     |GET_MODULE_HANDLE_EX_FLAG_PIN, (LPCSTR)pAddr, &h);
#else
  Dl_info info;
  if( dladdr(pAddr, &info) && info.dli_fname ){
    void *h = dlopen(info.dli_fname, RTLD_NOW|RTLD_NODELETE|RTLD_NOLOAD);
    (void)h;       /* the handle is deliberately never closed */
  }
#endif
}

#if defined(_WIN32) || defined(__APPLE__)
# define PORT_COND_REALTIME 1    /* no pthread_condattr_setclock */
#endif

void portCondInitMono(pthread_cond_t *pCond){
#ifdef PORT_COND_REALTIME
  pthread_cond_init(pCond, 0);
#else
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(pCond, &ca);
  pthread_condattr_destroy(&ca);
#endif
}

struct timespec portCondDeadline(int64_t monoUs){
  struct timespec dl;
#ifdef PORT_COND_REALTIME
  struct timespec now, mono;
  int64_t us;
  clock_gettime(CLOCK_REALTIME, &now);
  clock_gettime(CLOCK_MONOTONIC, &mono);
  us = (int64_t)now.tv_sec*1000000 + now.tv_nsec/1000
     + (monoUs - ((int64_t)mono.tv_sec*1000000 + mono.tv_nsec/1000));
  dl.tv_sec = (time_t)(us/1000000);
  dl.tv_nsec = (long)(us%1000000)*1000L;
#else
  dl.tv_sec = (time_t)(monoUs/1000000);
  dl.tv_nsec = (long)(monoUs%1000000)*1000L;
#endif
  return dl;
}

struct timespec portRealtimeAfter(int64_t us){
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += (time_t)(us/1000000);
  dl.tv_nsec += (long)(us%1000000)*1000L;
  if( dl.tv_nsec>=1000000000L ){ dl.tv_sec++; dl.tv_nsec -= 1000000000L; }
  return dl;
}
