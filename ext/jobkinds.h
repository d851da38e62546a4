/* jobkinds.h: the built-in jobs (jobkinds.c) and how to start one. */
#ifndef CANCEL_JOBKINDS_H
#define CANCEL_JOBKINDS_H

#include "jobs.h"

#define JOBKIND_BACKUP  1
#define JOBKIND_RESTORE 2
#define JOBKIND_IMPORT  3
#define JOBKIND_EXEC    4
#define JOBKIND_VACUUM  5

/* Options of a job (jobkindStart's mFlags) */
#define JOBKIND_F_TXN        0x01  /* exec: the script as one transaction */
#define JOBKIND_F_REPLACE    0x02  /* backup, vacuum: replace an existing dest */
#define JOBKIND_F_EMPTYNULL  0x04  /* import: an unquoted empty field is NULL */

/* How a job's own connection is made a session (loaded the extension,
** enrolled): the function that does it, returning the session or NULL.
** Set once by cancel.c before any job starts. */
void jobkindSetEnrol(CancelSession *(*xEnrol)(sqlite3*));

/* Create the job and start its thread; returns the job id at once, or 0
** (out of memory, or *pzErr set). zDbFile is the database file it works
** on; the other arguments as the kind needs them; mFlags JOBKIND_F_*. */
i64 jobkindStart(CancelSession *pCaller, int eKind, const char *zType,
                 const char *zDesc, const char *zDbFile, const char *zFile,
                 const char *zTable, const char *zScript, int mFlags,
                 char **pzErr);

/* The checks a starting call makes before the job exists, so that what
** would destroy is refused at once (doc/jobs-builtin.md). Each returns
** SQLITE_OK when fine, SQLITE_ERROR with the message in *pzErr
** (sqlite3_malloc'ed), or SQLITE_NOMEM. azDb/azSchema: the files of the caller's databases (nDb).
**
** jobkindCheckDest: zFile, the destination of a backup or a vacuum, is
** none of those databases' files (database, -journal, -wal, -shm,
** -cancel: compared by device and inode, and by name after resolving the
** directory), and does not exist unless bReplace.
** jobkindCheckSource: zFile, the source of a restore, is none of them,
** and, if the schema zDb is in WAL mode, has its page size. */
int jobkindCheckDest(const char *zFunc, const char *zFile, int bReplace,
                     char **azDb, char **azSchema, int nDb, char **pzErr);
int jobkindCheckSource(const char *zFunc, const char *zFile, const char *zDb,
                       const char *zSchema, char **azDb, char **azSchema, int nDb,
                       char **pzErr);
/* A transactional script controls no transaction (BEGIN, COMMIT, END,
** ROLLBACK other than ROLLBACK TO). */
int jobkindCheckScript(const char *zScript, char **pzErr);

#endif /* CANCEL_JOBKINDS_H */
