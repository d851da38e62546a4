/*
** oldnames.h: TEMPORARY. The former names of functions that moved out
** of registry.c (issue 17), for the files other branches are rewriting
** at the same time (shared.c, sessions.c, cancellog.c, vtab.c). Once
** merged, run the renames below over ext/ and delete this file and its
** #include lines:
**
**   sed -i -e 's/\bregistryFormatIdTag\b/idsFormatIdTag/g' ... ext/NAME.c
*/
#ifndef CANCEL_OLDNAMES_H
#define CANCEL_OLDNAMES_H

#include "terminate.h"
#include "snapshot.h"

#define registryFormatIdTag   idsFormatIdTag
#define registryFormatId      idsFormatId
#define registryTag           idsTag
#define registryMonoUs        idsMonoUs
#define registryNowMs         idsNowMs
#define registryFormatTime    idsFormatTime
#define registryHooksText     sessionHooksText
#define registryThreadingText sessionThreadingText
#define registryServeRemote   terminateServeRemote
#define registrySnapshot      snapshotSessions
#define registryFreeSnapshot  snapshotFree
#define registryTerminateByPid terminateByPid

#endif /* CANCEL_OLDNAMES_H */
