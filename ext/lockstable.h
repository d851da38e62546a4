/*
** lockstable.h: the `locks` and `wal_status` tables (lockstable.c).
*/
#ifndef CANCEL_LOCKSTABLE_H
#define CANCEL_LOCKSTABLE_H

#include "registry.h"

int lockstableRegister(sqlite3 *db, CancelSession *s);

#endif /* CANCEL_LOCKSTABLE_H */
