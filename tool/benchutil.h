/*
** benchutil.h: what every benchmark driver in tool/ needs: a monotonic
** clock (shared by all processes of the machine, so a stamp taken in one
** process can be compared with one taken in another), percentiles of a
** sample, and a random pause.
*/
#ifndef BENCHUTIL_H
#define BENCHUTIL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline double benchNowUs(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec*1e6 + (double)ts.tv_nsec/1e3;
}

static inline int benchCmpDouble(const void *a, const void *b){
  double x = *(const double*)a, y = *(const double*)b;
  return x<y ? -1 : x>y;
}

/* The p-quantile (0..1) of a[0..n-1], which must be sorted. */
static inline double benchPct(const double *a, int n, double p){
  int i = (int)(p*(n-1) + 0.5);
  return n>0 ? a[i] : 0.0;
}

static inline void benchSort(double *a, int n){
  qsort(a, n, sizeof(double), benchCmpDouble);
}

static inline void benchSleepUs(double us){
  struct timespec ts;
  if( us<=0 ) return;
  ts.tv_sec = (time_t)(us/1e6);
  ts.tv_nsec = (long)((us - (double)ts.tv_sec*1e6)*1e3);
  nanosleep(&ts, 0);
}

/* Uniform in [lo, hi). */
static inline double benchUniform(double lo, double hi){
  return lo + (hi-lo)*((double)rand()/((double)RAND_MAX+1.0));
}

/* Exactly n bytes from / to a pipe, or exit: the drivers' handshakes. */
static inline void benchRead(int fd, void *p, size_t n){
  char *z = p;
  while( n>0 ){
    ssize_t k = read(fd, z, n);
    if( k<=0 ){
      if( k<0 && errno==EINTR ) continue;
      fprintf(stderr, "bench: pipe read: %s\n", k ? strerror(errno) : "closed");
      exit(1);
    }
    z += k; n -= (size_t)k;
  }
}

static inline void benchWrite(int fd, const void *p, size_t n){
  if( write(fd, p, n)!=(ssize_t)n ){
    fprintf(stderr, "bench: pipe write: %s\n", strerror(errno));
    exit(1);
  }
}

#endif
