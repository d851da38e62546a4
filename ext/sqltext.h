/*
** sqltext.h: looking at the words of a statement's text, for the few
** places that must know what kind of statement it is before (or
** without) preparing it: a terminated session's ROLLBACK and
** cancel_reason() (hooks.c), DELETE FROM sessions sparing its caller
** (sessions.c), selection queries (functions.c), transactional job_exec
** scripts (jobkinds.c).
*/
#ifndef CANCEL_SQLTEXT_H
#define CANCEL_SQLTEXT_H

/* Skip white space and SQL comments (-- to the end of the line, and
** slash-star to star-slash; an unterminated one runs to the end); also
** semicolons when bSemi. */
const char *sqltextSkip(const char *z, int bSemi);

/* Does z start with keyword zKw (case-insensitive, a whole word)? Then
** the text after it, else NULL. */
const char *sqltextKeyword(const char *z, const char *zKw);

/* The length of the word (letters and '_') at z; 0 if none. */
int sqltextWordLen(const char *z);

/* Is z one statement (blanks, comments and a final ';' aside) that is
** COMMIT or END [TRANSACTION]; ROLLBACK [TRANSACTION]; exactly
** `SELECT cancel_reason() [[AS] name]` (the statements a terminated
** session may still run: hooks.c)? Does it start with PRAGMA (it may
** change the busy timeout)? */
int sqltextIsCommit(const char *z);
int sqltextIsRollback(const char *z);
int sqltextIsReasonQuery(const char *z);
int sqltextIsPragma(const char *z);

#endif /* CANCEL_SQLTEXT_H */
