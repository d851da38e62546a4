/* jobfunctions.h: registers the SQL functions of jobs (doc/jobs.md). */
#ifndef CANCEL_JOBFUNCTIONS_H
#define CANCEL_JOBFUNCTIONS_H
#include "registry.h"
int jobFunctionsRegister(sqlite3 *db, CancelSession *s);
#endif
