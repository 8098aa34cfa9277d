/*
 * How mailbell reports a failure: one convention for every module.
 *
 *  - A function that can fail returns -1 (or NULL) and, if its caller
 *    passed a non-NULL `const char **error_r`, sets *error_r to a
 *    sentence that says what failed ("mail/alice/cur: Permission
 *    denied"). Parsers that return 1/0/-1 do the same on -1.
 *  - The sentence is made with error_fmt() (or error_code_fmt()) and
 *    lives in a small ring of per-thread buffers that this file owns:
 *    it stays valid until ERROR_RING_SIZE more errors have been made on
 *    the same thread. A caller uses it at once (logs it, answers with
 *    it, prefixes it with error_fmt("%s: %s", path, error)) or copies it
 *    (xstrdup) to keep it. No module keeps error text in a buffer of its
 *    own, and no error text is tied to an object's lifetime.
 *  - Where a caller acts on the kind of failure (IMAP's response codes,
 *    LMTP's 4xx against 5xx), the callee makes the text with
 *    error_code_fmt(code, ...) and the caller asks error_code(error):
 *    the kind travels with the text, so nothing in between has to
 *    forward it, and a text prefixed with error_prefix() keeps it.
 *  - errno is passed through unchanged where a caller looks at it.
 *  - A failed system call is reported with error_errno(what, errno),
 *    which gives the text "what: <strerror>" the kind errno stands for,
 *    so a full disk (ENOSPC, EDQUOT) reaches IMAP and LMTP as
 *    ERROR_NO_SPACE from wherever it happened.
 *  - String literals may be returned as errors too; their kind is
 *    ERROR_INTERNAL.
 */
#ifndef MB_LIB_ERROR_H
#define MB_LIB_ERROR_H

/* How many error texts a thread can hold at once. */
#define ERROR_RING_SIZE 8
/* Longest error text kept; longer ones are cut. */
#define ERROR_TEXT_MAX 1024

/* The kinds of failure a caller may act on. */
enum error_code {
	ERROR_INTERNAL = 0,	/* I/O or other server-side failure */
	ERROR_INVALID,		/* unusable name or argument */
	ERROR_NOT_FOUND,	/* no such object (folder, user, ...) */
	ERROR_EXISTS,		/* the object exists already */
	ERROR_NOT_POSSIBLE,	/* an operation the object does not allow */
	ERROR_EXPUNGED,		/* the message is gone */
	ERROR_LIMIT,		/* a configured or format limit was reached */
	ERROR_NO_SPACE,		/* the disk or a quota is full */
	ERROR_UIDVALIDITY,	/* a folder's UIDVALIDITY changed under a view */
	ERROR_TEMPORARY,	/* try again later (lock, busy) */
};

/* Formats an error of kind ERROR_INTERNAL. Arguments may be earlier
 * error texts of this thread. Never returns NULL. */
const char *error_fmt(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* Formats an error of the given kind. */
const char *error_code_fmt(enum error_code code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The kind of failure a system call's errno stands for: ERROR_NO_SPACE
 * for ENOSPC and EDQUOT (the disk or the user's quota is full),
 * ERROR_INTERNAL for anything else. */
enum error_code error_code_errno(int err);

/* "what: strerror(err)" of the kind error_code_errno(err). errno is
 * left as it was. Never returns NULL. */
const char *error_errno(const char *what, int err);

/* "prefix: error", keeping the kind of error. */
const char *error_prefix(const char *prefix, const char *error);

/* The kind of an error text made by this thread's error_*fmt() and
 * still in its ring; ERROR_INTERNAL for any other string (a literal,
 * NULL, a text that has left the ring). */
enum error_code error_code(const char *error);

#endif
