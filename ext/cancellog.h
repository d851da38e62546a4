/*
** cancellog.h: the record of every cancel, terminate and timeout.
**
** A ring of the CANCEL_LOG_SIZE most recent entries, behind its own lock
** (a leaf: nothing else is locked while it is held, so it may be called
** with the registry lock or a session's mu held). Read through the
** `cancel_log` table.
*/
#ifndef CANCEL_CANCELLOG_H
#define CANCEL_CANCELLOG_H

#include "registry.h"

#define CANCEL_LOG_SIZE 1000

/* Outcomes */
#define LOG_REQUESTED    "requested"       /* not known yet */
#define LOG_INTERRUPTED  "interrupted"     /* the statement stopped */
#define LOG_WAIT_ENDED   "lock wait ended" /* stopped while waiting on a lock */
#define LOG_FINISHED     "finished first"  /* it ended before the cancel took */
#define LOG_IDLE         "idle"            /* nothing was running */
#define LOG_TERMINATING  "terminating"
#define LOG_TERMINATED   "terminated"      /* rolled back, locks released */
#define LOG_ALREADY      "already terminating"
#define LOG_NOTFOUND     "not found"
#define LOG_DENIED       "permission denied"
/* The application replaced one of the extension's hooks (doc/hooks.md). */
#define LOG_NO_TRACE     "not delivered: trace taken over by the application"
#define LOG_NO_PROGRESS  "not delivered: progress handler taken over by the application and more than one statement open"
#define LOG_INTERRUPT    "interrupt sent: progress handler taken over by the application"
/* A connection without a mutex cannot be rolled back by another thread
** (doc/threading.md). */
#define LOG_TERM_NOMUTEX "terminating: multi-thread connection, rolls back at its next write, COMMIT or ROLLBACK, or when closed"

/* What one entry says about its target, copied when it is added. */
typedef struct LogTarget LogTarget;
struct LogTarget {
  u64 iTag;              /* process tag of the ids, 0 for this process */
  u64 iSession;          /* serial, 0 when unknown */
  i64 pid;               /* 0 when unknown */
  const char *zUser;
  u64 iQuery;            /* 0 when none */
  const char *zSql;
};

/* Add an entry; returns its id (0 when out of memory). pBy is the
** session that asked (for a timeout: the session itself). */
i64 cancelLogAdd(u64 iBySession, const char *zByUser, const char *zAction,
                 const LogTarget *pTarget, const char *zOutcome);
void cancelLogOutcome(i64 id, const char *zOutcome);

typedef struct LogRow LogRow;
struct LogRow {
  i64 id;
  i64 timeMs;
  const char *zAction;
  char zBySession[33];
  char *zByUser;
  char zTargetSession[33];   /* '' when unknown */
  i64 targetPid;
  char *zTargetUser;
  char zTargetQuery[33];     /* '' when none */
  char *zQuery;
  const char *zOutcome;
};
int cancelLogSnapshot(CancelSession *pCaller, LogRow **paRow, int *pnRow);
void cancelLogFreeSnapshot(LogRow *aRow, int nRow);

int cancelLogRegister(sqlite3 *db, CancelSession *s);  /* the table */

#endif /* CANCEL_CANCELLOG_H */
