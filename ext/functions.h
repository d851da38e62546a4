/* functions.h: registers the SQL functions of SPEC sections 3 and 5. */
#ifndef CANCEL_FUNCTIONS_H
#define CANCEL_FUNCTIONS_H
#include "registry.h"
int functionsRegister(sqlite3 *db, CancelSession *s);
#endif
