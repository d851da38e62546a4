/*
** remote.h: this process's sessions in the registry file `<db>-cancel`,
** and requests to other processes' sessions (remote.c). Above the
** registry file (shared.h), below the session registry (registry.c).
*/
#ifndef CANCEL_REMOTE_H
#define CANCEL_REMOTE_H

#include "shared.h"

/* Sessions. The slot is claimed at enrolment and released when the
** connection closes; remotePublish copies what the `sessions` table shows
** into it (s->mu held by the caller). */
void remoteClaim(SharedReg *p, CancelSession *s);
void remoteRelease(CancelSession *s);
void remotePublish(CancelSession *s);
void remotePublishActivity(CancelSession *s);   /* the cheaper half */
/* Its busy handler was called at nowMs (wall clock): the slot's stamp
** that says its wait still goes on (activityWaitFresh). */
void remoteSetBusyTick(CancelSession *s, i64 nowMs);
/* The same at a statement's end, skipped when the slot already says it
** all (idle, or idle in the same transaction, and no query shown). */
void remotePublishEnd(CancelSession *s);
/* The agent's tick has looked at s for look request lookGen: say so in
** its slot (remoteRefresh waits for it). */
void remoteAckLook(CancelSession *s, uint32_t lookGen);
/* Ask every other process on p to look at its sessions now (they learn
** a statement's end lazily), and wait until each has answered, at most
** REMOTE_REFRESH_MS. Called before reading other processes' slots. */
#define REMOTE_REFRESH_MS 20
void remoteRefresh(SharedReg *p);
/* From the session's own progress handler: serve a cancel another
** process left in its slot (the agent thread would, a little later). */
void remoteServeOwnCancel(CancelSession *s);
/* The same, s->mu held, when the own thread runs execution iQuery: take
** the waiting cancel only if it names that one (1; *pBy: who asked). */
int remoteTakeOwnCancel(CancelSession *s, u64 iQuery, CancelAsker *pBy);
/* This process's session serial in slot iSlot under owner word owner
** (0 if not so): the server of a request finds the session by it. */
u64 remoteSlotSerial(SharedReg *p, int iSlot, u64 owner);

/* The sessions of other processes, appended to *paRow (reallocated):
** first asking them to look at their sessions (remoteRefresh) if
** bRefresh, else as their slots say now (what changes at once, such as
** 'waiting', is published at once). */
int remoteSnapshot(SharedReg *p, const char *zUser, int isAdmin, int bRefresh,
                   SessionRow **paRow, int *pnRow);

/* Requests to other processes. zUser/isAdmin are the caller's. Each
** returns REG_OK, REG_NOTFOUND or REG_DENIED; *pT is filled with what is
** known of the target, for the caller's cancel_log. */
typedef struct RemoteTarget RemoteTarget;
struct RemoteTarget {
  u64 tag, iSerial;        /* session id */
  i64 pid;
  i64 nodeId;
  char zUser[128];
  u64 iQuery;              /* the execution asked for, 0 none */
  const CancelAsker *pBy;  /* in: who asks, for the target's
                           ** cancel_reason(); NULL unknown */
  int noMutex;             /* a multi-thread connection */
  /* out, when a request was sent: where, for shagentWithdraw() */
  int iSlot, bTermCell;
  u64 cell;
};
int remoteCancelQuery(SharedReg *p, const char *zUser, int isAdmin,
                      u64 tag, u64 iQuery, RemoteTarget *pT);
int remoteCancelBackend(SharedReg *p, const char *zUser, int isAdmin,
                        i64 pid, RemoteTarget *pT);
/* Is slot iSlot still held by the owner a request went to (the
** generation in its cell: a cancel's, or a termination's if bTerm)? A
** slot whose copy cannot be read just now (its owner is writing it, and
** was preempted there) still is: only an owner word freed or changed
** says that target is gone. */
int remoteSlotSameOwner(SharedReg *p, int iSlot, int bTerm, u64 cell);
int remoteCheckSession(SharedReg *p, const char *zUser, int isAdmin,
                       u64 tag, u64 iSerial, i64 pid, RemoteTarget *pT);
int remoteTerminate(SharedReg *p, const char *zUser, int isAdmin,
                    u64 tag, u64 iSerial, i64 pid, RemoteTarget *pT);
int remoteWaitGone(SharedReg *p, i64 pid, int timeoutMs);  /* 1 gone */

#endif /* CANCEL_REMOTE_H */
