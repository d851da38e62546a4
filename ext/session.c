/*
** session.c: the texts of a session's codes (session.h), shown by the
** `sessions` table for this process's sessions and other processes'.
*/
#include "session.h"

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

const char *sessionThreadingText(int noMutex){
  return noMutex ? "multi-thread" : "serialized";
}
