/*
** cancel.h: the C API of the `cancel` SQLite extension.
**
** SQL is the main interface (README.md, doc/reference.md). These calls are for C
** applications: the entry point for sqlite3_auto_extension(), the client
** address of a session, and a way to keep your own progress and busy
** handlers, which the extension otherwise takes over.
**
**   sqlite3_auto_extension((void(*)(void))sqlite3_cancel_init);
**   sqlite3_open("app.db", &db);            // db is now a session
**   cancel_set_client_address(db, "10.0.0.7:5123");
**
** Return codes. No call crashes on a bad argument: each returns
**   SQLITE_MISUSE  db is NULL, not a session (the extension was not
**                  loaded into it), or already closed (db is looked up
**                  by its value, never read through, so a closed handle
**                  is safe as long as no new connection got its address);
**                  and the other cases each function lists;
**   SQLITE_RANGE   a number outside the range the SQL function of the
**                  same name accepts (nothing is changed);
**   SQLITE_NOMEM   out of memory;
** and SQLITE_OK otherwise. A session that was terminated is still a
** session here until the application closes it.
*/
#ifndef CANCEL_H
#define CANCEL_H

#include <sqlite3.h>

/* The version of the extension, also returned by SELECT cancel_version(). */
#define CANCEL_VERSION "0.3.0"

#ifdef __cplusplus
extern "C" {
#endif

int sqlite3_cancel_init(sqlite3 *db, char **pzErrMsg,
                        const struct sqlite3_api_routines *pApi);

/* Shown in the client_address column; NULL clears it.
** SQLITE_OK, SQLITE_MISUSE, SQLITE_NOMEM. */
int cancel_set_client_address(sqlite3 *db, const char *zAddr);

/* Why db's last stopped statement was stopped, or why its session was
** terminated, as SELECT cancel_reason() says, e.g.
**   "terminated by pg_terminate_backend: user root, pid 7, at 2026-11-26 12:34:56.789"
**   "cancelled by statement_timeout (500 ms) at 2026-11-26 12:34:56.789"
** NULL when nothing stopped any statement of db, when db is not a
** session (NULL too, or closed), or when out of memory. Works on a
** terminated session. The
** string is from sqlite3_malloc(): free it with sqlite3_free(). */
char *cancel_reason(sqlite3 *db);

/* Chain an application progress handler behind the extension's own: it
** is called every few VM instructions (not every N you choose) while no
** cancel is pending; return nonzero to interrupt, as with
** sqlite3_progress_handler(). NULL removes it. SQLITE_OK, SQLITE_MISUSE. */
int cancel_set_progress_handler(sqlite3 *db, int (*xProgress)(void*), void *pArg);

/* Chain an application busy handler: the extension calls it while a
** statement waits on a lock, unless a cancel is pending. A cancel cannot
** wake your handler's own sleep, so keep its sleeps short. NULL restores
** the extension's handler, which honours the busy timeout.
** SQLITE_OK, SQLITE_MISUSE. */
int cancel_set_busy_handler(sqlite3 *db, int (*xBusy)(void*, int), void *pArg);

/* The busy timeout the extension's busy handler honours (milliseconds;
** 0 returns SQLITE_BUSY at once). Same as SELECT set_busy_timeout(ms):
** 0 to 86400000 (a day), else SQLITE_RANGE. SQLITE_MISUSE: not a session. */
int cancel_set_busy_timeout(sqlite3 *db, int ms);

/* Limits and timeouts (doc/reference.md), for one session: the same as SELECT
** set_statement_timeout(ms) / set_idle_in_transaction_session_timeout(ms):
** 0 turns it off; negative: SQLITE_RANGE (the SQL functions take 0 to
** 2147483647, every int from 0). SQLITE_MISUSE: not a session. */
int cancel_set_statement_timeout(sqlite3 *db, int ms);
int cancel_set_idle_in_transaction_session_timeout(sqlite3 *db, int ms);
/* ... and set_transaction_timeout(ms) (a transaction open longer is ended
** as a termination ends it, busy or idle) / set_idle_blocker_timeout(ms)
** (a session idle in a transaction longer is terminated only while
** another session waits for a lock it holds). */
int cancel_set_transaction_timeout(sqlite3 *db, int ms);
int cancel_set_idle_blocker_timeout(sqlite3 *db, int ms);

/* Cross-process sharing (on by default; also CANCEL_SHARED=0 in the
** environment, or the URI parameter cancel_shared=0 per connection):
** for the sessions enrolled after the call. */
void cancel_set_shared(int bOn);

/* The timeouts every session enrolled from now on starts with (0: off,
** the default). Sessions that exist keep theirs. SQLITE_OK, or
** SQLITE_RANGE for a negative ms (the default is then unchanged). */
int cancel_set_default_statement_timeout(int ms);
int cancel_set_default_idle_in_transaction_session_timeout(int ms);
int cancel_set_default_transaction_timeout(int ms);
int cancel_set_default_idle_blocker_timeout(int ms);

/* The application's own jobs (doc/jobs.md), as job_begin(),
** job_progress() and job_end() do in SQL:
**
**   sqlite3_int64 id;
**   cancel_job_begin(db, "REINDEX", "all indexes of orders", &id);
**   for(i=0; i<n; i++){
**     if( cancel_job_progress(db, id, (double)i/n, "reindexing")!=SQLITE_OK ) break;
**     ...one unit of work...
**   }
**   cancel_job_end(db, id, i<n ? "stopped" : NULL);
**
** The session that calls cancel_job_begin() runs the job (its
** coordinator_id and created_by); an admin session of the same process
** may also report on it, as in SQL.
**
** cancel_job_begin(): SQLITE_OK and *pJobId set; SQLITE_MISUSE when db
** is not a session, zType is NULL or "", or pJobId is NULL (no job is
** created); SQLITE_NOMEM. zDesc NULL means "".
**
** cancel_job_progress(): SQLITE_OK (fraction and, unless NULL, the
** running status are recorded; the fraction never goes back), blocking
** while the job is paused. SQLITE_INTERRUPT once cancel_job() was called
** on the job, on this call and on every later one (stop, then call
** cancel_job_end(); the job ends canceled). SQLITE_RANGE for a fraction
** outside 0..1 (NaN included); SQLITE_MISUSE when db is not a session or
** the job has ended; SQLITE_NOTFOUND when no job of this process has that
** id (a job of another process included); SQLITE_PERM for a built-in job
** or a job another session runs (unless db's session is an admin).
**
** cancel_job_end(): SQLITE_OK, the job ends succeeded (zError NULL),
** failed with zError, or canceled if a cancel was asked for. The same
** SQLITE_MISUSE, SQLITE_NOTFOUND and SQLITE_PERM as cancel_job_progress(). */
int cancel_job_begin(sqlite3 *db, const char *zType, const char *zDesc,
                     sqlite3_int64 *pJobId);
int cancel_job_progress(sqlite3 *db, sqlite3_int64 id, double fraction,
                        const char *zRunningStatus);
int cancel_job_end(sqlite3 *db, sqlite3_int64 id, const char *zError);

#ifdef __cplusplus
}
#endif

#endif /* CANCEL_H */
