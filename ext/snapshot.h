/*
** snapshot.h: looking at sessions from outside (snapshot.c): the
** the `sessions` rows.
*/
#ifndef CANCEL_SNAPSHOT_H
#define CANCEL_SNAPSHOT_H

#include "registry.h"

/* The agent thread of registry p, about once a second (shagentSetTick,
** wired by cancel.c). */
int snapshotProbeTick(SharedReg *p, uint32_t lookGen);

/* Snapshot of every reachable session for the `sessions` table. */
int snapshotSessions(CancelSession *pCaller, SessionRow **paRow, int *pnRow);
void snapshotFree(SessionRow *aRow, int nRow);

/* Who holds the lock that session pid / iSerial waits for
** (pg_blocking_pids): a JSON array of pids or session ids. */

#endif /* CANCEL_SNAPSHOT_H */
