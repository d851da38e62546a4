/*
** oslocks.h: the locks the operating system holds on a database file and
** on its WAL index (`-shm`), for every process, whether or not it loaded
** the extension; and the state of its WAL (oslocks.c). The `locks` and
** `wal_status` tables (lockstable.c) are built on these.
**
** On Linux, read from /proc/locks; elsewhere nothing is known
** (oslocksSupported() says so). SQLite's unix VFS takes POSIX advisory
** locks on fixed bytes (see oslocks.c): a kernel lock is one process's,
** whatever connection of it asked, and the kernel merges a process's
** adjacent locks of one type, so a record is decoded by the bytes it
** covers.
*/
#ifndef CANCEL_OSLOCKS_H
#define CANCEL_OSLOCKS_H

#include <stdint.h>

/* OsLock.eFile */
#define OSLOCK_DATABASE  0
#define OSLOCK_WALINDEX  1

/* OsLock.eLock: SQLite's names (oslocksName) */
#define OSLOCK_SHARED     0   /* database file */
#define OSLOCK_RESERVED   1
#define OSLOCK_PENDING    2
#define OSLOCK_EXCLUSIVE  3
#define OSLOCK_WAL_WRITE  4   /* WAL index */
#define OSLOCK_WAL_CKPT   5
#define OSLOCK_WAL_RECOVER 6
#define OSLOCK_WAL_READ   7   /* read mark iMark */

typedef struct OsLock OsLock;
struct OsLock {
  int64_t osPid;       /* the process (0: unknown, an OFD lock) */
  int eFile;           /* OSLOCK_DATABASE or OSLOCK_WALINDEX */
  int eLock;           /* OSLOCK_* */
  int iMark;           /* read mark 0..4 (OSLOCK_WAL_READ) */
  int bExclusive;      /* a write lock (else a read lock) */
  int bWaiting;        /* a blocked request for it, not (yet) held */
};

/* Is anything known on this platform? */
int oslocksSupported(void);

/* The locks on database file zDb and its "-shm": *paLock (sqlite3_malloc;
** free with sqlite3_free) holds *pnLock of them, waiters after holders
** of each record. SQLITE_OK (also when the files do not exist: none),
** SQLITE_NOMEM, or SQLITE_ERROR with *pzErr (sqlite3_malloc'd) saying
** why the kernel's list could not be read. */
int oslocksRead(const char *zDb, OsLock **paLock, int *pnLock, char **pzErr);

/* SQLite's name of a lock: "shared", ..., "read mark 2" (zBuf: 16 bytes). */
const char *oslocksName(const OsLock *p, char *zBuf);

/* The name of process osPid (its command), '' when it cannot be read. */
void oslocksProcessName(int64_t osPid, char *zOut, int nOut);

/* Read n bytes at offset iOff of file zPath into aBuf without ever
** closing a descriptor of it: on POSIX systems, closing any descriptor
** of a file drops every lock this process holds on it, SQLite's own
** included (a connection of this process could lose its write lock, or
** a reader its read mark, and another process then overwrite what it
** reads). So the descriptor is kept open for the life of the process,
** one per file (device and inode). Returns the bytes read, -1 with errno
** set when the file cannot be opened. */
int oslocksReadKept(const char *zPath, long long iOff, void *aBuf, int n);

/* The WAL state of database zDb, from its header, its -wal and its
** -shm, read without locking (a copy that may be a moment old). */
#define OSWAL_NMARK 5
#define OSWAL_MARK_UNUSED 0xffffffffu
typedef struct OsWal OsWal;
struct OsWal {
  int bFile;           /* the database file has a SQLite header */
  int bWal;            /* the header says WAL mode */
  int bIndex;          /* the -shm could be read (someone has it open) */
  int64_t walBytes;    /* size of the -wal file, -1 when none */
  uint32_t mxFrame;    /* frames in the WAL that readers may use */
  uint32_t nBackfill;  /* of them, copied into the database file */
  uint32_t aReadMark[OSWAL_NMARK];
};
int oslocksWal(const char *zDb, OsWal *pWal);

#endif /* CANCEL_OSLOCKS_H */
