/*
** cancel.h: the C API of the `cancel` SQLite extension.
**
** SQL is the main interface (see README.md). These calls are for C
** applications: the entry point for sqlite3_auto_extension(), the client
** address of a session, and a way to keep your own progress and busy
** handlers, which the extension otherwise takes over.
**
**   sqlite3_auto_extension((void(*)(void))sqlite3_cancel_init);
**   sqlite3_open("app.db", &db);            // db is now a session
**   cancel_set_client_address(db, "10.0.0.7:5123");
**
** Every call returns SQLITE_OK, or SQLITE_MISUSE when db is not a
** session (the extension was not loaded into it).
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

/* Shown in the client_address column; NULL clears it. */
int cancel_set_client_address(sqlite3 *db, const char *zAddr);

/* Why db's last stopped statement was stopped, or why its session was
** terminated, as SELECT cancel_reason() says, e.g.
**   "terminated by pg_terminate_backend: user root, pid 7, at 2026-11-26 12:34:56.789"
**   "cancelled by statement_timeout (500 ms) at 2026-11-26 12:34:56.789"
** NULL when nothing stopped any statement of db, when db is not a
** session, or when out of memory. Works on a terminated session. The
** string is from sqlite3_malloc(): free it with sqlite3_free(). */
char *cancel_reason(sqlite3 *db);

/* Chain an application progress handler behind the extension's own: it
** is called every few VM instructions (not every N you choose) while no
** cancel is pending; return nonzero to interrupt, as with
** sqlite3_progress_handler(). NULL removes it. */
int cancel_set_progress_handler(sqlite3 *db, int (*xProgress)(void*), void *pArg);

/* Chain an application busy handler: the extension calls it while a
** statement waits on a lock, unless a cancel is pending. A cancel cannot
** wake your handler's own sleep, so keep its sleeps short. NULL restores
** the extension's handler, which honours the busy timeout. */
int cancel_set_busy_handler(sqlite3 *db, int (*xBusy)(void*, int), void *pArg);

/* The busy timeout the extension's busy handler honours (milliseconds;
** 0 returns SQLITE_BUSY at once). Same as SELECT set_busy_timeout(ms). */
int cancel_set_busy_timeout(sqlite3 *db, int ms);

/* Limits and timeouts (README), for one session: the same as SELECT
** set_statement_timeout(ms) / set_idle_in_transaction_session_timeout(ms);
** 0 turns it off. */
int cancel_set_statement_timeout(sqlite3 *db, int ms);
int cancel_set_idle_in_transaction_session_timeout(sqlite3 *db, int ms);

/* The timeouts every session enrolled from now on starts with (0: off,
** the default). Sessions that exist keep theirs. */
/* Cross-process sharing (on by default; also CANCEL_SHARED=0 in the
** environment, or the URI parameter cancel_shared=0 per connection):
** for the sessions enrolled after the call. */
void cancel_set_shared(int bOn);

void cancel_set_default_statement_timeout(int ms);
void cancel_set_default_idle_in_transaction_session_timeout(int ms);

/* The application's own jobs (README: "Jobs"), as job_begin(),
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
** cancel_job_progress() returns SQLITE_INTERRUPT once cancel_job() was
** called on the job (stop, then call cancel_job_end(); the job ends
** canceled), blocks while the job is paused, SQLITE_RANGE for a fraction
** outside 0..1, and SQLITE_MISUSE for a job that db's session does not
** run or that has ended. */
int cancel_job_begin(sqlite3 *db, const char *zType, const char *zDesc,
                     sqlite3_int64 *pJobId);
int cancel_job_progress(sqlite3 *db, sqlite3_int64 id, double fraction,
                        const char *zRunningStatus);
int cancel_job_end(sqlite3 *db, sqlite3_int64 id, const char *zError);

#ifdef __cplusplus
}
#endif

#endif /* CANCEL_H */
