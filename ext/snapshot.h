/*
** snapshot.h: looking at sessions from outside (snapshot.c): the
** forgotten-cursor probe, the `sessions` rows, blockers.
*/
#ifndef CANCEL_SNAPSHOT_H
#define CANCEL_SNAPSHOT_H

#include "registry.h"

/* What a look at an idle session with statements left open found. */
typedef struct SnapProbe SnapProbe;
struct SnapProbe {
  int eKind;                 /* XACT_* from sqlite3_txn_state() */
  i64 nSteps;                /* VM steps of the open statements */
  u64 iNewest;               /* the newest listed execution */
};
/* The registry lock held: is s idle with statements left open (a
** forgotten cursor)? 1 and *pOut filled in if so, else 0. */
int snapshotProbeLocked(CancelSession *s, SnapProbe *pOut);
/* The agent thread of registry p, about once a second (shagentSetTick,
** wired by cancel.c). */
void snapshotProbeTick(SharedReg *p);

/* Snapshot of every reachable session for the `sessions` table. */
int snapshotSessions(CancelSession *pCaller, SessionRow **paRow, int *pnRow);
void snapshotFree(SessionRow *aRow, int nRow);

/* Who holds the lock that session pid / iSerial waits for
** (pg_blocking_pids): a JSON array of pids or session ids. */
char *snapshotBlockers(i64 pid, u64 iSerial, int bSessionIds, int *pbFound);

#endif /* CANCEL_SNAPSHOT_H */
