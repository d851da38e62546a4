/*
** hooks.h: what runs on a session's own thread.
**
** The trace, progress, busy and commit callbacks installed on every
** session's connection. They record what the session runs (so that the
** `sessions` table is true at the moment of the query) and act on the
** cancel requests the registry sets, so a decision to interrupt is always
** taken by the thread running the statement, against the statement it is
** running: a cancel can never hit a later statement.
*/
#ifndef CANCEL_HOOKS_H
#define CANCEL_HOOKS_H

#include "registry.h"
#include "activity.h"

/* VM instructions between two looks at the cancel requests. */
#define CANCEL_PROGRESS_OPS 100

void hooksInstall(CancelSession *s);
/* Whether the loaded SQLite lacks sqlite3_progress_handler: sessions
** enrolled from now on work without it (cancel.c, at each load). */
void hooksSetNoProgressApi(int bOn);
void hooksRemove(CancelSession *s);
/* The application's own progress and busy handlers, chained behind the
** session's (cancel_set_progress_handler, cancel_set_busy_handler). */
void hooksSetAppProgress(CancelSession *s, int (*xProgress)(void*), void *pArg);
void hooksSetAppBusy(CancelSession *s, int (*xBusy)(void*, int), void *pArg);
/* A built-in job's callback (jobkinds.c), called by the trace at each
** top-level statement start that takes the slow path, after SQLite
** cleared the interrupt flag: every start in a SQLite without a progress
** handler, where the session reports each statement's end. Set by the
** connection's own thread before its first statement. */
static inline void hooksSetAppStart(CancelSession *s, void (*xStart)(void*), void *pArg){
  s->xAppStart = xStart;
  s->pAppStartArg = pArg;
}
/* An extension's own wait inside a statement of session p (own thread):
** nonzero when the statement must stop (cancel, terminate, timeout). */
int hooksWaitStop(void *p);
/* Own thread: ask SQLite for each statement's end (the PROFILE trace) or
** not, as the session's settings now need (a timeout was set or
** cleared). */
void hooksApplyMode(CancelSession *s);
/* Own thread (set_idle_in_transaction_session_timeout() or
** set_idle_blocker_timeout() inside its statement, or the C API between
** statements): the session's idle-in-transaction limit (bBlocker 0) or
** idle-blocker limit (1) is now ms (0 off). Inside a transaction the
** idle time is counted from now. */
void hooksIdleLimitSet(CancelSession *s, int bBlocker, int ms);
/* The same for set_transaction_timeout(): a transaction open now is
** measured from its start (from now if its start is not known). */
void hooksXactTimeoutSet(CancelSession *s, int ms);

#endif /* CANCEL_HOOKS_H */
