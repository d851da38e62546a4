/* jobtable.h: registers the `jobs` eponymous virtual table. */
#ifndef CANCEL_JOBTABLE_H
#define CANCEL_JOBTABLE_H
#include "registry.h"
int jobtableRegister(sqlite3 *db, CancelSession *s);
#endif
