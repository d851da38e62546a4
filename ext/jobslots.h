/*
** jobslots.h: this process's jobs in the registry file `<db>-cancel`, and
** requests to other processes' jobs (jobslots.c). Above the registry file
** (shared.h), below jobs.c.
*/
#ifndef CANCEL_JOBSLOTS_H
#define CANCEL_JOBSLOTS_H

#include "shared.h"
#include "jobs.h"

/* Jobs: slots claimed at creation, published at every change (jobs lock
** held), released when the job is purged. */
void jobslotsClaim(SharedReg *p, CancelJob *pJob);
void jobslotsPublish(CancelJob *pJob);
void jobslotsRelease(CancelJob *pJob);
int jobslotsSnapshot(SharedReg *p, const char *zUser, int isAdmin,
                       JobRow **paRow, int *pnRow);
/* Job control of another process's job: JOBCTL_* (jobs.h), the status
** the job was in goes to *peStatus. eOp is SHJOB_*. JOBCTL_GONE: its
** process died; *peStatus is its final status. */
int jobslotsControl(SharedReg *p, i64 id, int eOp, int *peStatus);
/* A report on an application job of another process (an admin's
** job_progress, job_end): the owner applies it as the call would there,
** without blocking; JOBCTL_* (jobs.h), the status after it in *peStatus.
** zText: running_status or the error, NULL none (cut to 511 bytes). */
int jobslotsReport(SharedReg *p, i64 id, int eOp, double fraction,
                    const char *zText, int *peStatus);
/* The status (JOB_*) of job id of another process, -1 not found. */
int jobslotsStatus(SharedReg *p, i64 id);

#endif /* CANCEL_JOBSLOTS_H */
