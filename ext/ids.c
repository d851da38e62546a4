/*
** ids.c: the process tag, ids, clocks and time text (ids.h).
**
** Holds no state but the identity of the process, taken once, and the
** counter that sessions and queries share, so no two ids are ever equal.
*/
#include "ids.h"

#include "port.h"
#include <stdio.h>
#include <time.h>

static pthread_once_t idsOnce = PTHREAD_ONCE_INIT;
static u64 idsTagValue = 0;
static u64 idsNodeValue = 0;
static char idsOsUserName[64];
static _Atomic u64 idsNextSerial = 0;

static void idsInitOnce(void){
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  idsTagValue = portRandom64() ^ ((u64)ts.tv_sec*1000000000ull + (u64)ts.tv_nsec);
  idsNodeValue = (u64)portPid();
  portUserName(idsOsUserName, sizeof(idsOsUserName));
}

u64 idsMakeSerial(u64 n){
  pthread_once(&idsOnce, idsInitOnce);
  return ((idsNodeValue & 0xffffff)<<40) | (n & 0xffffffffffull);
}

void idsFormatId(u64 iSerial, char *zOut){
  idsFormatIdTag(0, iSerial, zOut);
}

void idsFormatIdTag(u64 tag, u64 iSerial, char *zOut){
  snprintf(zOut, 33, "%016llx%016llx",
           (unsigned long long)(tag ? tag : idsTag()), (unsigned long long)iSerial);
}

u64 idsTag(void){
  pthread_once(&idsOnce, idsInitOnce);
  return idsTagValue;
}

u64 idsNode(void){
  pthread_once(&idsOnce, idsInitOnce);
  return idsNodeValue;
}

const char *idsOsUser(void){
  pthread_once(&idsOnce, idsInitOnce);
  return idsOsUserName;
}

int idsIsIdShape(const char *z){
  int i;
  if( z==0 ) return 0;
  for(i=0; i<32; i++){
    char c = z[i];
    if( !((c>='0' && c<='9') || (c>='a' && c<='f') || (c>='A' && c<='F')) ){
      return 0;
    }
  }
  return z[32]==0;
}

static u64 idsParseHex16(const char *z){
  u64 v = 0;
  int i;
  for(i=0; i<16; i++){
    char c = z[i];
    int d = (c>='0' && c<='9') ? c-'0' : (c>='a' && c<='f') ? c-'a'+10 : c-'A'+10;
    v = (v<<4) | (u64)d;
  }
  return v;
}

int idsParseId(const char *z, u64 *pTag, u64 *piSerial){
  if( !idsIsIdShape(z) ) return 0;
  *pTag = idsParseHex16(z);
  *piSerial = idsParseHex16(z+16);
  return 1;
}

u64 idsNextQuery(void){
  return idsMakeSerial(atomic_fetch_add(&idsNextSerial, 1) + 1);
}

u64 idsReserveQueries(int n){
  return idsMakeSerial(atomic_fetch_add(&idsNextSerial, (u64)n) + 1);
}

i64 idsMonoUs(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (i64)ts.tv_sec*1000000 + ts.tv_nsec/1000;
}

i64 idsNowMs(void){
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (i64)ts.tv_sec*1000 + ts.tv_nsec/1000000;
}

void idsFormatTime(i64 ms, char *zOut){
  time_t t = (time_t)(ms/1000);
  struct tm tm;
  portGmtime(t, &tm);
  snprintf(zOut, 32, "%04d-%02d-%02d %02d:%02d:%02d.%03d",
           (tm.tm_year+1900)%10000, (tm.tm_mon+1)%100, tm.tm_mday%100,
           tm.tm_hour%100, tm.tm_min%100, tm.tm_sec%100, (int)(ms%1000));
}
