/*
** registry.h: the process-wide registry of sessions.
**
** Every connection that loads the extension becomes a CancelSession in
** one list guarded by one lock (the registry lock). SQL functions and the
** `sessions` table ask the registry; the registry sets requests on
** sessions; each session's own thread (hooks.c) reads those requests and
** acts on them. Only terminate.c ever rolls back another session's
** connection, and only while it holds that connection's mutex and knows
** it is not being closed (snapshot.c's probe and registry.c's interrupt
** only look or signal, under the same rule).
**
** Lock order: registry lock, then a session's mu. A session's own thread
** takes only its mu on the hot path. Nobody waits for a connection mutex
** while holding the registry lock (close destructors hold that mutex and
** then take the registry lock). The functions that say "the registry
** lock held" assert it (registryHeld, in builds without NDEBUG).
*/
#ifndef CANCEL_REGISTRY_H
#define CANCEL_REGISTRY_H

#include "session.h"
#include "activity.h"
#include "ids.h"
#include "cancellog.h"
#include <time.h>

/* Enrolment: called by the entry point. The session comes with one
** reference (registryRef), which the caller drops with registryUnref. */
CancelSession *registryEnrol(sqlite3 *db);
CancelSession *registryFind(sqlite3 *db);  /* already enrolled? */
void registryRef(CancelSession *s);
void registryUnref(CancelSession *s);      /* last one: leave and free */
/* Call xClosed(iSerial) after each session has left the list, with no
** lock held (the jobs layer forgets the jobs it coordinated: wired by
** cancel.c). REG_OK, or REG_NOMEM when the few places are taken. */
int registryOnClose(void (*xClosed)(u64 iSerial));

/* Who is the caller: copies of user and admin flag. */
void registryCaller(CancelSession *s, char **pzUser, int *pIsAdmin);
int registrySetUser(CancelSession *s, const char *zUser, int isAdmin);
int registrySetAppName(CancelSession *s, const char *zName);
int registrySetClientAddr(CancelSession *s, const char *zAddr);

/* Cancelling. pCaller is the session whose SQL asked; it decides the
** privilege check. Each returns REG_*. (Terminating: terminate.h.) */
int registryCancelQuery(CancelSession *pCaller, u64 tag, u64 iQuery, const char *zAction);
int registryCancelBackend(CancelSession *pCaller, i64 pid, const char *zAction);
int registryCheckSerial(CancelSession *pCaller, u64 tag, u64 iSerial);
void registryLogDenied(CancelSession *pCaller, const char *zAction, u64 tag, u64 iSerial);
/* The registry file state of pCaller's database, for cancel_registry(). */
char *registrySharedStatus(CancelSession *pCaller);
/* The session server of the registry file's agent (shagentSetServers,
** wired by cancel.c): requests from other processes for the session that
** holds slot iSlot under owner word `owner`, and no other. */
void terminateServeRemote(SharedReg *p, int iSlot, u64 owner, u64 cancelCell, int bTerm,
                         const CancelAsker *pCancelBy, const CancelAsker *pTermBy);
/* Look at every session with a cancel pending (activityLookLocked): one
** whose statement has ended gets its outcome ('finished first') now. */
void registrySettlePending(void);
/* The registry file pCaller's tables and functions act through: the one
** it watches, else its own database's (NULL: none). */
SharedReg *registryScope(CancelSession *pCaller);
/* Watch database file zDb (NULL or '': stop watching). Returns REG_OK, or
** REG_NOTFOUND with *pzErr (sqlite3_malloc'd) saying why not. */
int registryWatch(CancelSession *pCaller, const char *zDb, char **pzErr);

/* Defaults for new sessions (cancel.h). */
extern atomic_int registryDefaultStmtTimeoutMs;
extern atomic_int registryDefaultIdleTimeoutMs;
extern atomic_int registryDefaultXactTimeoutMs;
extern atomic_int registryDefaultIdleBlockerMs;

/* cancel_reason(): why the session's last stopped statement was stopped,
** or why it was terminated; NULL when nothing stopped it (or out of
** memory). sqlite3_malloc'd. */
char *registryReason(CancelSession *s);
/* s->mu held: record the reason of a stop (zVerb "cancelled" or
** "terminated"). A termination's reason is never replaced. */
void registrySetReasonLocked(CancelSession *s, const char *zVerb, const CancelAsker *pBy);
/* The asker for a statement or idle timeout of s. */
void registryTimeoutAsker(CancelAsker *pBy, const char *zAction, int timeoutMs);

/* ------------------------------------------------------------------
** For the session layer's own files (terminate.c, snapshot.c), which
** work on the list under the registry lock.
*/
void registryLock(void);
void registryUnlock(void);
#ifndef NDEBUG
int registryHeld(void);      /* does the calling thread hold the lock? */
#endif
/* The lock held: wait on pCond (NULL deadline: no limit; realtime). */
void registryCondWait(pthread_cond_t *pCond, const struct timespec *pDeadline);
/* The lock held: a termination finished or a session left; and the
** wait for that. */
void registryGoneBroadcast(void);
void registryGoneWait(const struct timespec *pDeadline);
/* The lock held: the first session of the list (then s->pNext). */
CancelSession *registryFirst(void);
/* The lock held: a session a cancel may be aimed at (alive, not fully
** terminated), found by serial or pid; NULL none. */
int registryTargetable(CancelSession *s);
CancelSession *registryBySerial(u64 iSerial);
CancelSession *registryByPid(i64 pid);
/* The lock held: may pCaller (NULL: the extension) act on pTarget? */
int registryAllowed(CancelSession *pCaller, CancelSession *pTarget);
/* The lock held: the asker of an action of pCaller (NULL: the
** extension itself). */
void registryAskerOf(CancelSession *pCaller, const char *zAction, CancelAsker *pBy);
/* The lock held: log an action of pCaller on s (NULL: not found). */
i64 registryLog(CancelSession *pCaller, const char *zAction,
                CancelSession *s, LogTarget *pT, const char *zOutcome);
/* The lock held: ask s's own thread to interrupt execution iQuery (0:
** the statement it runs now), if still running, and log it. */
int registryRequestIfRunning(CancelSession *pCaller, const char *zAction,
                             CancelSession *s, u64 iQuery,
                             const CancelAsker *pBy);
/* The lock and s->mu held: the statement timeout of s's only statement
** passed while its progress handler is taken: interrupt it, logged. */
void registryTimeoutByInterrupt(CancelSession *s);
/* Drop a pin taken (s->nPin++) under the lock; no lock held. */
void registryUnpin(CancelSession *s);

/* A request to a session of another process, through the registry file
** (doc/cross-process.md), with its log entry here. No lock held. */
#define REMOTE_CANCEL_QUERY   1
#define REMOTE_CANCEL_BACKEND 2
#define REMOTE_TERMINATE      3
#define REMOTE_CHECK          4
int registryRemote(CancelSession *pCaller, const char *zAction, int eKind,
                   u64 tag, u64 iSerial, i64 pid);

#endif /* CANCEL_REGISTRY_H */
