/* associated.h: cancel_session_and_jobs(), a session and the jobs it
** started, stopped in one call (doc/jobs.md). */
#ifndef CANCEL_ASSOCIATED_H
#define CANCEL_ASSOCIATED_H
#include "terminate.h"
int associatedRegister(sqlite3 *db, CancelSession *s);
#endif
