/*
** cancellog.h: the record of every cancel, terminate and timeout.
**
** A ring of the CANCEL_LOG_SIZE most recent entries, behind its own lock
** (a leaf: nothing else is locked while it is held, so it may be called
** with the registry lock or a session's mu held). Read through the
** `cancel_log` table (logtable.c). Entries about sessions of a shared
** database are also published in its registry file (shared.c), for watchers.
*/
#ifndef CANCEL_CANCELLOG_H
#define CANCEL_CANCELLOG_H

#include "session.h"
#include "ids.h"

#define CANCEL_LOG_SIZE 1000

/* Outcomes (doc/cancellog.md). "requested" and those that start with
** "terminating" are transient: cancelLogTransient(); all others are
** final and never change again. */
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
/* The target session closed, or its process ended, before the request
** completed. */
#define LOG_GONE         "no longer exists"
/* A request to another process that it did not take within
** CANCEL_LOG_ANSWER_MS: taken back, never acted on. */
#define LOG_NOT_TAKEN    "not delivered: its process did not take the request"
/* ... that was taken, but no answer to it ever came: another request
** for the same session replaced it before it was taken. */
#define LOG_SUPERSEDED   "not delivered: replaced by another process's request"
/* The application replaced one of the extension's hooks (doc/hooks.md). */
#define LOG_NO_TRACE     "not delivered: trace taken over by the application"
#define LOG_NO_PROGRESS  "not delivered: progress handler taken over by the application and more than one statement open"
#define LOG_INTERRUPT    "interrupt sent: progress handler taken over by the application"
#define LOG_NO_PROGRESS_API "not delivered: this SQLite has no progress handler and more than one statement is open"
#define LOG_INTERRUPT_API "interrupt sent: this SQLite has no progress handler"
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
  SharedReg *pSh;        /* the registry of the target's database, where
                         ** watchers read the entry too; NULL none */
  int bLocal;            /* this process's log only: a request served by
                         ** another process, which publishes the entry */
  const CancelAsker *pAsker;  /* a request from another process: who */
  /* A request sent to another process (bLocal): where its answer comes
  ** (pAskSh's log, the entry carrying token pAsker->token), and the cell
  ** it was written to, to take it back if never taken. */
  SharedReg *pAskSh;
  int iAskSlot, bAskTerm;
  u64 askCell;
};

/* How long a request to another process may wait to be taken. */
#define CANCEL_LOG_ANSWER_MS 5000

/* Is zOutcome transient (it will still change)? */
int cancelLogTransient(const char *zOutcome);
/* A token for a request to another process (never 0). */
u64 cancelLogNewToken(void);
/* Bring the outcome of entries about requests to other processes up to
** date from the answers in the registry logs (called when the log is
** read and by the registry agent about once a second). Takes no lock
** but the log's own; call with none held. */
void cancelLogRefresh(void);

/* The static name of an action received from another process (the
** request carries its text); unknown ones become zDefault. */
const char *cancelLogAction(const char *zName, const char *zDefault);

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
  char zActionBuf[64];       /* what zAction and zOutcome point to when */
  char zOutcomeBuf[128];      /* read from a registry file's log */
};
/* The log as user zUser (an admin if isAdmin) may see it: this
** process's, or, with pWatch (a session that watches a database,
** cancel_watch), that database's registry log, which holds the entries
** of every process. Query texts of other users are masked. */
int cancelLogSnapshot(SharedReg *pWatch, const char *zUser, int isAdmin,
                      LogRow **paRow, int *pnRow);
void cancelLogFreeSnapshot(LogRow *aRow, int nRow);

#endif /* CANCEL_CANCELLOG_H */
