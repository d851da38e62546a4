/* jobkinds.h: the built-in jobs (jobkinds.c) and how to start one. */
#ifndef CANCEL_JOBKINDS_H
#define CANCEL_JOBKINDS_H

#include "jobs.h"

#define JOBKIND_BACKUP  1
#define JOBKIND_RESTORE 2
#define JOBKIND_IMPORT  3
#define JOBKIND_EXEC    4
#define JOBKIND_VACUUM  5

/* The routines table to enrol the job's own connection with. */
#ifdef SQLITE_CORE
# define SQLITE_API_ROUTINES 0
#else
# define SQLITE_API_ROUTINES sqlite3_api
#endif

/* Create the job and start its thread; returns the job id at once, or 0
** (out of memory, or *pzErr set). zDbFile is the database file it works
** on; the other arguments as the kind needs them. */
i64 jobkindStart(CancelSession *pCaller, int eKind, const char *zType,
                 const char *zDesc, const char *zDbFile, const char *zFile,
                 const char *zTable, const char *zScript, int bTransactional,
                 char **pzErr);

#endif /* CANCEL_JOBKINDS_H */
