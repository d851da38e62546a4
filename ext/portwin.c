/*
** portwin.c: the POSIX calls of portwin.h, on Windows (the registry
** file: open, lock, map; the liveness of other processes). Empty
** elsewhere.
*/
#ifdef _WIN32
#include <windows.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "portwin.h"

#define PORTWIN_FD(h) ((int)(intptr_t)(h))
#define PORTWIN_H(fd) ((HANDLE)(intptr_t)(fd))

/* errno from the last Windows error, for strerror() and the callers'
** tests (ENOENT, EEXIST, EACCES). */
static void portwinErrno(void){
  switch( GetLastError() ){
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:   errno = ENOENT; break;
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS:   errno = EEXIST; break;
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION:   errno = EACCES; break;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:      errno = ENOMEM; break;
    case ERROR_DISK_FULL:        errno = ENOSPC; break;
    default:                     errno = EIO; break;
  }
}

int portwinOpen(const char *zPath, int flags, ...){
  DWORD access = GENERIC_READ, disp = OPEN_EXISTING;
  HANDLE h;
  if( (flags & O_ACCMODE)!=O_RDONLY ) access |= GENERIC_WRITE;
  if( flags & O_CREAT ) disp = (flags & O_EXCL) ? CREATE_NEW : OPEN_ALWAYS;
  h = CreateFileA(zPath, access,
                  FILE_SHARE_READ|FILE_SHARE_WRITE|FILE_SHARE_DELETE, 0, disp,
                  FILE_ATTRIBUTE_NORMAL, 0);
  if( h==INVALID_HANDLE_VALUE ){
    portwinErrno();
    return -1;
  }
  return PORTWIN_FD(h);
}

int portwinClose(int fd){
  return CloseHandle(PORTWIN_H(fd)) ? 0 : -1;
}

int portwinRead(int fd, void *pBuf, size_t n){
  DWORD got = 0;
  if( !ReadFile(PORTWIN_H(fd), pBuf, (DWORD)n, &got, 0) ){
    portwinErrno();
    return -1;
  }
  return (int)got;
}

/* An OVERLAPPED that says "at offset iOff" to a synchronous handle. */
static OVERLAPPED portwinAt(uint64_t iOff){
  OVERLAPPED ov;
  memset(&ov, 0, sizeof(ov));
  ov.Offset = (DWORD)iOff;
  ov.OffsetHigh = (DWORD)(iOff>>32);
  return ov;
}

int portwinPread(int fd, void *pBuf, size_t n, int64_t iOff){
  OVERLAPPED ov = portwinAt((uint64_t)iOff);
  DWORD got = 0;
  if( !ReadFile(PORTWIN_H(fd), pBuf, (DWORD)n, &got, &ov) ){
    if( GetLastError()==ERROR_HANDLE_EOF ) return 0;
    portwinErrno();
    return -1;
  }
  return (int)got;
}

int portwinPwrite(int fd, const void *pBuf, size_t n, int64_t iOff){
  OVERLAPPED ov = portwinAt((uint64_t)iOff);
  DWORD put = 0;
  if( !WriteFile(PORTWIN_H(fd), pBuf, (DWORD)n, &put, &ov) ){
    portwinErrno();
    return -1;
  }
  return (int)put;
}

/* (the extended part reads as zeros) */
int portwinFtruncate(int fd, int64_t n){
  FILE_END_OF_FILE_INFO eof;
  eof.EndOfFile.QuadPart = n;
  if( !SetFileInformationByHandle(PORTWIN_H(fd), FileEndOfFileInfo, &eof, sizeof(eof)) ){
    portwinErrno();
    return -1;
  }
  return 0;
}

int portwinFstat(int fd, struct portwin_stat *pSt){
  BY_HANDLE_FILE_INFORMATION info;
  if( !GetFileInformationByHandle(PORTWIN_H(fd), &info) ){
    portwinErrno();
    return -1;
  }
  memset(pSt, 0, sizeof(*pSt));
  pSt->st_dev = info.dwVolumeSerialNumber;
  pSt->st_ino = ((uint64_t)info.nFileIndexHigh<<32) | info.nFileIndexLow;
  pSt->st_size = (int64_t)(((uint64_t)info.nFileSizeHigh<<32) | info.nFileSizeLow);
  pSt->st_mode = (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) ? 0040000 : 0100000;
  pSt->st_mode |= (info.dwFileAttributes & FILE_ATTRIBUTE_READONLY) ? 0444 : 0666;
  return 0;
}

int portwin_stat(const char *zPath, struct portwin_stat *pSt){
  /* no access asked: works on a file open elsewhere, and on directories */
  HANDLE h = CreateFileA(zPath, 0, FILE_SHARE_READ|FILE_SHARE_WRITE|FILE_SHARE_DELETE,
                         0, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, 0);
  int rc;
  if( h==INVALID_HANDLE_VALUE ){
    portwinErrno();
    return -1;
  }
  rc = portwinFstat(PORTWIN_FD(h), pSt);
  CloseHandle(h);
  return rc;
}

/*
** flock() with two bytes far past the end of any registry file: the
** attach byte, held shared by every process attached, and the gate
** byte, held exclusive by a process between its LOCK_EX|LOCK_NB and
** the LOCK_SH that follows it (shared.c's only sequence). Windows cannot
** turn an exclusive lock into a shared one, so the gate keeps others
** from the moment between the unlock and the shared lock.
*/
#define PORTWIN_LOCK_ATTACH 0x4000000000000000ull
#define PORTWIN_LOCK_GATE   0x4000000000000001ull

static int portwinLockByte(HANDLE h, uint64_t iOff, DWORD flags){
  OVERLAPPED ov = portwinAt(iOff);
  return LockFileEx(h, flags, 0, 1, 0, &ov);
}
static void portwinUnlockByte(HANDLE h, uint64_t iOff){
  OVERLAPPED ov = portwinAt(iOff);
  UnlockFileEx(h, 0, 1, 0, &ov);       /* (fails harmlessly if not held) */
}

int portwinFlock(int fd, int op){
  HANDLE h = PORTWIN_H(fd);
  if( op & LOCK_EX ){
    if( !portwinLockByte(h, PORTWIN_LOCK_GATE, LOCKFILE_EXCLUSIVE_LOCK) ){
      portwinErrno();
      return -1;
    }
    if( portwinLockByte(h, PORTWIN_LOCK_ATTACH,
                        LOCKFILE_EXCLUSIVE_LOCK|LOCKFILE_FAIL_IMMEDIATELY) ){
      return 0;
    }
    errno = EWOULDBLOCK;
    return -1;                   /* the gate stays held until LOCK_SH */
  }
  if( op & LOCK_SH ){
    int ok;
    portwinUnlockByte(h, PORTWIN_LOCK_ATTACH);   /* an exclusive one */
    ok = portwinLockByte(h, PORTWIN_LOCK_ATTACH, 0);
    portwinUnlockByte(h, PORTWIN_LOCK_GATE);
    if( !ok ){ portwinErrno(); return -1; }
    return 0;
  }
  portwinUnlockByte(h, PORTWIN_LOCK_ATTACH);
  return 0;
}

void *portwinMmap(void *pAddr, size_t n, int prot, int flags, int fd, int64_t iOff){
  HANDLE hMap;
  void *p;
  (void)pAddr; (void)prot; (void)flags;
  hMap = CreateFileMappingA(PORTWIN_H(fd), 0, PAGE_READWRITE, 0, 0, 0);
  if( hMap==0 ){
    portwinErrno();
    return MAP_FAILED;
  }
  p = MapViewOfFile(hMap, FILE_MAP_READ|FILE_MAP_WRITE, (DWORD)(iOff>>32),
                    (DWORD)iOff, n);
  if( p==0 ) portwinErrno();
  CloseHandle(hMap);              /* the view keeps the mapping */
  return p ? p : MAP_FAILED;
}

int portwinMunmap(void *pAddr, size_t n){
  (void)n;
  return UnmapViewOfFile(pAddr) ? 0 : -1;
}

char *portwinRealpath(const char *zPath, char *zOut){
  DWORD n = GetFullPathNameA(zPath, 0, 0, 0);
  char *z;
  (void)zOut;                     /* (always 0 here: the result is malloc'd) */
  if( n==0 ){ portwinErrno(); return 0; }
  z = malloc(n+1);
  if( z==0 ){ errno = ENOMEM; return 0; }
  if( GetFullPathNameA(zPath, n+1, z, 0)==0 ){
    portwinErrno();
    free(z);
    return 0;
  }
  return z;
}

/* kill(pid, 0): -1 with ESRCH when there is no such process. */
int portwinKill(long pid, int sig){
  HANDLE h;
  (void)sig;
  h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)pid);
  if( h==0 ){
    if( GetLastError()==ERROR_ACCESS_DENIED ) return 0;   /* exists */
    errno = ESRCH;
    return -1;
  }
  CloseHandle(h);
  return 0;
}

/* The process's creation time (100 ns units since 1601), 0 if unknown,
** 1 if it has exited (its handle is kept open by someone). */
uint64_t portwinProcessStart(long pid){
  HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)pid);
  FILETIME tCreate, tExit, tKernel, tUser;
  DWORD code = 0;
  uint64_t t = 0;
  if( h==0 ) return 0;
  if( GetExitCodeProcess(h, &code) && code!=STILL_ACTIVE ){
    t = 1;
  }else if( GetProcessTimes(h, &tCreate, &tExit, &tKernel, &tUser) ){
    t = ((uint64_t)tCreate.dwHighDateTime<<32) | tCreate.dwLowDateTime;
    if( t<2 ) t = 2;
  }
  CloseHandle(h);
  return t;
}

#else
typedef int portwinEmpty;   /* (ISO C wants something in a file) */
#endif /* _WIN32 */
