/* logtable.h: registers the `cancel_log` eponymous virtual table. */
#ifndef CANCEL_LOGTABLE_H
#define CANCEL_LOGTABLE_H
#include "registry.h"
int logtableRegister(sqlite3 *db, CancelSession *s);
#endif
