/*
** portwin.h: the POSIX calls of the registry file's code (shared.c,
** shslot.c) on Windows, so that code is one for both platforms. Included
** on Windows only, after every system header (it renames `stat`).
**
** A file descriptor here is a Windows file handle in an int (handles fit
** in 32 bits; INVALID_HANDLE_VALUE is -1, POSIX's "no descriptor"). What
** differs from POSIX:
**   - flock() locks one byte far beyond the end of the file (Windows'
**     locks are mandatory: a lock on the file's bytes would stop other
**     processes' reads), shared or exclusive; LOCK_SH over a held
**     LOCK_EX downgrades it without a moment unlocked;
**   - stat()'s st_dev and st_ino are the volume serial and file index
**     (the same file under two names has the same ones); permissions are
**     Windows ACLs: the file keeps what its directory gives, fchmod and
**     fchown do nothing, st_mode is 0666 or 0444 and uid, gid 0;
**   - kill(pid, 0) and the start time come from a process handle
**     (OpenProcess; GetProcessTimes), so an exited process whose handle
**     someone keeps open counts as gone.
*/
#ifndef CANCEL_PORTWIN_H
#define CANCEL_PORTWIN_H
#ifdef _WIN32

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/types.h>

#ifndef O_CLOEXEC
# define O_CLOEXEC 0          /* handles are not inherited unless asked */
#endif
#ifndef O_NOFOLLOW
# define O_NOFOLLOW 0
#endif
#define LOCK_SH 1
#define LOCK_EX 2
#define LOCK_NB 4
#define LOCK_UN 8
#define PROT_READ  1
#define PROT_WRITE 2
#define MAP_SHARED 1
#define MAP_FAILED ((void*)-1)

struct portwin_stat {
  uint64_t st_dev, st_ino;
  int64_t st_size;
  unsigned st_mode, st_uid, st_gid;
};
#define stat portwin_stat
#undef S_ISREG
#define S_ISREG(m) (((m) & 0170000)==0100000)

int portwinOpen(const char *zPath, int flags, ...);
int portwinClose(int fd);
int portwinRead(int fd, void *pBuf, size_t n);
int portwinPread(int fd, void *pBuf, size_t n, int64_t iOff);
int portwinPwrite(int fd, const void *pBuf, size_t n, int64_t iOff);
int portwinFtruncate(int fd, int64_t n);
int portwin_stat(const char *zPath, struct portwin_stat *pSt);
int portwinFstat(int fd, struct portwin_stat *pSt);
int portwinFlock(int fd, int op);
void *portwinMmap(void *pAddr, size_t n, int prot, int flags, int fd, int64_t iOff);
int portwinMunmap(void *pAddr, size_t n);
char *portwinRealpath(const char *zPath, char *zOut);
int portwinKill(long pid, int sig);
uint64_t portwinProcessStart(long pid);   /* 0 unknown, 1 exited */

#define open      portwinOpen
#define close     portwinClose
#define read      portwinRead
#define pread     portwinPread
#define pwrite    portwinPwrite
#define ftruncate portwinFtruncate
#define fstat     portwinFstat
#define flock     portwinFlock
#define mmap      portwinMmap
#define munmap    portwinMunmap
#define realpath  portwinRealpath
#define kill      portwinKill
#define fchmod(fd, m)      ((void)(fd), (void)(m), 0)
#define fchown(fd, u, g)   ((void)(fd), (void)(u), (void)(g), 0)
#define geteuid()          0u
typedef unsigned uid_t;
typedef unsigned gid_t;

#endif /* _WIN32 */
#endif /* CANCEL_PORTWIN_H */
