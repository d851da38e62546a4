/*
** terminate.h: ending sessions, the reaper thread, the deny-all
** authorizer (terminate.c; doc/terminate.md).
*/
#ifndef CANCEL_TERMINATE_H
#define CANCEL_TERMINATE_H

#include "registry.h"

/* pCaller is the session whose SQL asked; it decides the privilege
** check. Each returns REG_*. A tag or pid of another process sends the
** request there (doc/cross-process.md). */
int terminateBySerial(CancelSession *pCaller, u64 tag, u64 iSerial, const char *zAction);
int terminateByPid(CancelSession *pCaller, i64 pid, const char *zAction);

/* Wait until session pid is gone: 1 gone, 0 timed out. */
int terminateWaitGone(CancelSession *pCaller, i64 pid, int timeoutMs);
/* The same inside a statement of pCaller: -1 when xStop(pArg) says the
** statement must stop (hooksWaitStop: cancel, terminate, timeout). */
int terminateWaitGoneStop(CancelSession *pCaller, i64 pid, int timeoutMs,
                          int (*xStop)(void*), void *pArg);

/* Install the deny-all authorizer on s (every statement but ROLLBACK and
** SELECT cancel_reason() refused). */
void terminateDenyAll(CancelSession *s);

/* Called by a session's own thread (hooks.c) when a statement of a
** terminated session ends, or when it goes idle in a transaction with a
** timeout, or starts a statement with a timeout that only the reaper
** can enforce (its progress handler taken), so the reaper can act. */
void terminateKickReaper(void);
void terminateWakeBy(i64 deadlineUs);
/* Complete the termination of s: 1 when nothing is left to do, 0 to be
** retried (by the reaper). */
int terminateFinish(CancelSession *s);
/* A terminated multi-thread session's own thread: its transaction is
** gone (rolled back at its own call), so the termination is complete. */
void terminateNoMutexDone(CancelSession *s);
/* The own thread, once no statement of s runs: a self-termination that
** was deferred until the statement that asked ended takes effect. */
void terminateSelf(CancelSession *s);

/* A request from another process, found in slot iSlot of registry p by
** its agent thread: cancel execution cancelCell (its low 40 bits) and/or
** terminate (bTerm) the session that owns the slot. */
void terminateServeRemote(SharedReg *p, int iSlot, u64 owner, u64 cancelCell,
                          int bTerm, const CancelAsker *pCancelBy,
                          const CancelAsker *pTermBy);

#endif /* CANCEL_TERMINATE_H */
