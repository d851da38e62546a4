/*
** regindex.c: hash tables of the registry's sessions (see regindex.h).
**
** Chained through CancelSession.apIndexNext[eKey]. Each table starts
** with a static array of buckets and doubles when it holds more sessions
** than buckets; if that allocation fails the table stays as it is, with
** longer chains (slower, still right).
*/
#include "regindex.h"
SQLITE_EXTENSION_INIT3

#include <string.h>

#define REGINDEX_INITIAL 64

typedef struct RegTable RegTable;
struct RegTable {
  CancelSession **a;     /* buckets */
  u64 mask;              /* number of buckets - 1 (a power of two) */
  u64 n;                 /* sessions in the table */
  CancelSession *aInitial[REGINDEX_INITIAL];
};

static RegTable aTable[REGKEY_N];

static u64 regIndexKey(int eKey, CancelSession *s){
  switch( eKey ){
    case REGKEY_PID:    return (u64)s->pid;
    case REGKEY_SERIAL: return s->iSerial;
    default:            return (u64)(uintptr_t)s->db;
  }
}

/* Spread keys that differ in any bits (pids step by 1, pointers by
** allocation sizes) over the buckets. */
static u64 regIndexHash(u64 k){
  k ^= k>>33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k>>33;
  return k;
}

static RegTable *regIndexTable(int eKey){
  RegTable *t = &aTable[eKey];
  if( t->a==0 ){
    t->a = t->aInitial;
    t->mask = REGINDEX_INITIAL-1;
  }
  return t;
}

static void regIndexInsert(RegTable *t, int eKey, CancelSession *s){
  CancelSession **pp = &t->a[regIndexHash(regIndexKey(eKey, s)) & t->mask];
  s->apIndexNext[eKey] = *pp;
  *pp = s;
}

static void regIndexGrow(RegTable *t, int eKey){
  u64 nNew = (t->mask+1)*2, i;
  CancelSession **aOld = t->a;
  u64 nOld = t->mask+1;
  CancelSession **aNew = sqlite3_malloc64(sizeof(CancelSession*)*nNew);
  if( aNew==0 ) return;
  memset(aNew, 0, sizeof(CancelSession*)*nNew);
  t->a = aNew;
  t->mask = nNew-1;
  for(i=0; i<nOld; i++){
    CancelSession *s = aOld[i], *pNext;
    for(; s; s=pNext){
      pNext = s->apIndexNext[eKey];
      regIndexInsert(t, eKey, s);
    }
  }
  if( aOld!=t->aInitial ) sqlite3_free(aOld);
}

void regIndexAdd(CancelSession *s){
  int e;
  for(e=0; e<REGKEY_N; e++){
    RegTable *t = regIndexTable(e);
    if( t->n>t->mask ) regIndexGrow(t, e);
    regIndexInsert(t, e, s);
    t->n++;
  }
}

void regIndexRemove(CancelSession *s){
  int e;
  for(e=0; e<REGKEY_N; e++){
    RegTable *t = regIndexTable(e);
    CancelSession **pp = &t->a[regIndexHash(regIndexKey(e, s)) & t->mask];
    for(; *pp; pp=&(*pp)->apIndexNext[e]){
      if( *pp==s ){
        *pp = s->apIndexNext[e];
        t->n--;
        break;
      }
    }
  }
}

CancelSession *regIndexFirst(int eKey, u64 k){
  RegTable *t = regIndexTable(eKey);
  return t->a[regIndexHash(k) & t->mask];
}

CancelSession *regIndexNext(int eKey, CancelSession *s){
  return s->apIndexNext[eKey];
}
