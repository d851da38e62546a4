/*
** blockers.h: who blocks whom (blockers.c): pg_blocking_pids(),
** blocking_sessions(), the idle-blocker timeout, and which session of a
** process holds a lock the kernel lists (the `locks` table).
*/
#ifndef CANCEL_BLOCKERS_H
#define CANCEL_BLOCKERS_H

#include "registry.h"
#include "oslocks.h"

/* Does the session in row r hold lock pLk of its process (as far as
** its recorded state says)? */
int blockersHolds(const SessionRow *r, const OsLock *pLk);

/* Who holds what session W waits for: W named by its pid, else by its
** session id zId; among every session the caller sees (this process's
** and, through the registry, other processes') and the processes that
** lock the database without a session. A JSON array: a session as its
** pid (or session id, bSessionIds), a process that is not a session as
** {"node_id":N,"process":"name","lock":"reserved"}; '[]' when W does not
** wait. NULL: W not found (*pbFound 0) or out of memory (*pbFound 1). */
char *blockersOf(CancelSession *pCaller, i64 pid, const char *zId,
                 int bSessionIds, int *pbFound);

/* Does any session, of this process or another, wait on s's database
** for a lock s's transaction holds? (the registry lock not held) */
int blockersAnyWaiter(CancelSession *s);

#endif /* CANCEL_BLOCKERS_H */
