/*
** regindex.h: the registry's sessions by pid, by session serial and by
** connection, in hash tables beside the list, so that finding one of
** N sessions (every pg_cancel_backend() of a bulk cancel, every
** sqlite3_open() checking it is not enrolled yet) costs O(1), not O(N).
** All of it with the registry lock held; registry.c keeps the index
** equal to its list.
*/
#ifndef CANCEL_REGINDEX_H
#define CANCEL_REGINDEX_H
#include "registry.h"

#define REGKEY_PID    0
#define REGKEY_SERIAL 1
#define REGKEY_DB     2
#define REGKEY_N      3

void regIndexAdd(CancelSession *s);
void regIndexRemove(CancelSession *s);
/* The sessions whose key eKey may equal k: walk with regIndexNext and
** compare the key (a chain holds other keys too). */
CancelSession *regIndexFirst(int eKey, u64 k);
CancelSession *regIndexNext(int eKey, CancelSession *s);
#endif /* CANCEL_REGINDEX_H */
