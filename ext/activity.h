/*
** activity.h: what a session's statements are doing, as the extension
** knows it (activity.c).
**
** A session's own thread records every top-level statement start (hooks.c)
** at almost no cost: the statement and a counter, no clock, no lock. A
** statement is listed (an ActiveStmt, with a query id, a start time and a
** copy of its text) only once it matters: it runs long enough for the
** progress handler to be called, waits on a lock, calls one of the
** extension's functions, or is found left open by someone who looks. Its
** end is learnt lazily, when the next statement starts or when someone
** looks while the connection is idle (doc/architecture.md, "Statements
** and their ends"). Sessions that need each end at once (a timeout set,
** no connection mutex, a progress handler taken over) also ask SQLite to
** report it (the PROFILE trace), and hooks.c takes them off then.
*/
#ifndef CANCEL_ACTIVITY_H
#define CANCEL_ACTIVITY_H

#include "session.h"

/* How many sessions wait on a lock now (the progress handler of every
** other session then keeps what it holds visible). */
extern atomic_int activityWaiters;
/* Session s waits on a lock since sinceMs (0: no longer). */
void activitySetWaiting(CancelSession *s, i64 sinceMs);


/* Query ids a session takes from the process-wide counter at a time. */
#define ACTIVITY_QUERY_BLOCK 256
/* A new query id (own thread; from a per-session block of ids). */
u64 activityNextQuery(CancelSession *s);

/* Set or clear a HOOKS_*_LOST bit, log and publish the change. */
void activitySetLost(CancelSession *s, int bit, int bOn);

/* s->mu held: list execution pStmt (its nRun-th run), text zSql (copied
** when bCopy, else the statement's own, valid until its PROFILE end).
** Returns the entry, or NULL when out of memory. */
ActiveStmt *activityListLocked(CancelSession *s, void *pStmt, const char *zSql,
                               int bCopy, int nRun, i64 startMs);
/* The session is being freed: its list and the texts it owns. */
void activityFreeList(CancelSession *s);
/* s->mu held: take entry i off the list: it ended. Its text becomes
** last_active_query; a cancel still aimed at it is void ('finished'). */
void activityEndLocked(CancelSession *s, int i);
/* s->mu held, the session closing: log the stop of an execution the
** progress handler stopped for another process and that is still listed
** (activityEndLocked logs it otherwise). */
void activityLogStopLocked(CancelSession *s);

/* A statement that ran this many VM instructions and this long without
** one call of our progress handler (called every CANCEL_PROGRESS_OPS
** instructions, at every loop jump) shows the handler was taken over. */
#define ACTIVITY_LONG_STEPS  1000
#define ACTIVITY_LONG_MS     100

/* The connection mutex held and nothing of it running (a look): did the
** statement of the last slow start, if it is the one that ran last, run
** long without one call of our progress handler? Then it was taken over:
** say so, and ask SQLite for each statement's end from the next one on
** (its sqlite3_interrupt delivery needs them). Works where the
** application leaves SQLITE_STMTSTATUS_VM_STEP alone (Tcl resets it
** after each statement: hooks.c's check at a transaction start covers
** that). */
void activityCheckProgressLost(CancelSession *s, unsigned nStarts);

/* The connection mutex held (own thread inside SQLite, or a reader that
** took it), s->mu not held: take off the list every execution that has
** ended, and the one of pStarting (it starts again). Returns how many
** are left. */
int activitySettle(CancelSession *s, void *pStarting);

/* Own thread, inside a statement (progress or busy handler, or one of
** the extension's functions): list our statements that run or are open
** now and are not listed yet. Returns ACTIVITY_NOTICED (something of
** ours is listed), ACTIVITY_UNSEEN (statements run that the trace never
** saw start: it was taken over) or ACTIVITY_NONE. */
#define ACTIVITY_NONE    0
#define ACTIVITY_NOTICED 1
#define ACTIVITY_UNSEEN  2
int activityNotice(CancelSession *s);
/* Own thread, inside a statement, nothing listed: the text of the newest
** statement our trace saw start, if it is still a statement of the
** connection, busy, with the same text (what activityNotice would list
** last), without listing it; else NULL. */
const char *activityStartedSql(CancelSession *s);

/* What a look at an idle session with statements left open found. */
typedef struct ActivityLook ActivityLook;
struct ActivityLook {
  int eKind;                 /* XACT_* from sqlite3_txn_state() */
  i64 nSteps;                /* VM steps of the open statements */
  u64 iNewest;               /* the newest listed execution */
  int bBusyUnlisted;         /* its connection was busy, nothing listed,
                             ** and it started a statement since the last
                             ** look: noticeSoon was set */
};
/* The registry lock held, from any thread: bring s's list and
** transaction state up to date if its connection is idle (a try-lock of
** its mutex, never a wait). Returns 1 when s was found idle with
** statements left open (a forgotten cursor; *pOut filled in), else 0. */
int activityLookLocked(CancelSession *s, ActivityLook *pOut);

/* The connection mutex held: does one of db's statements execute now
** (on the calling thread: the mutex is recursive)? */
int activityExecuting(sqlite3 *db);

/* The registry lock held, after a look that found s busy with nothing
** listed (bBusyUnlisted): wait up to maxUs for its own thread to list
** what it runs (at its next progress check: within about a hundred VM
** instructions of a running statement), or for it to go idle. Returns 1
** if something is listed now. */
#define ACTIVITY_NOTICE_WAIT_US 200000
int activityAwaitNotice(CancelSession *s, i64 maxUs);

/* Own thread: is the newest listed execution the one running now (or
** open)? Checked before a cancel stops anything. */
int activityNewestOpen(CancelSession *s);

#endif /* CANCEL_ACTIVITY_H */
