/*
** session.c: the texts of a session's codes (session.h), shown by the
** `sessions` table for this process's sessions and other processes'.
*/
#include "session.h"
#include "ids.h"

const char *sessionHooksText(int hooksLost){
  if( hooksLost & HOOKS_PROGRESS_NONE ){
    return (hooksLost & HOOKS_TRACE_LOST) ? "trace taken, no progress handler in this SQLite"
                                          : "no progress handler in this SQLite";
  }
  switch( hooksLost & (HOOKS_TRACE_LOST|HOOKS_PROGRESS_LOST) ){
    case HOOKS_TRACE_LOST:    return "trace taken";
    case HOOKS_PROGRESS_LOST: return "progress taken";
    case HOOKS_TRACE_LOST|HOOKS_PROGRESS_LOST: return "trace taken, progress taken";
  }
  return "ok";
}

int sessionWaitFresh(i64 nowMs, i64 lastCallMs){
  return (uint32_t)((uint64_t)nowMs - (uint64_t)lastCallMs) < SESSION_WAIT_FRESH_MS;
}

i64 sessionWaitingSince(CancelSession *s){
  i64 since = atomic_load(&s->waitingSinceMs);
  if( since && !sessionWaitFresh(idsNowMs(), atomic_load(&s->busyCallMs)) ) since = 0;
  return since;
}

const char *sessionThreadingText(int noMutex){
  return noMutex ? "multi-thread" : "serialized";
}
