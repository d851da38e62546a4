/* sessions.h: registers the `sessions` eponymous virtual table. */
#ifndef CANCEL_SESSIONS_H
#define CANCEL_SESSIONS_H
#include "registry.h"
int sessionsRegister(sqlite3 *db, CancelSession *s);
#endif
