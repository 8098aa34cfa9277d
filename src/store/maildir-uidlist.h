/*
 * The per-folder UID list: UIDVALIDITY, UIDNEXT and the base file name of
 * every message by UID, stored in <folder dir>/mailbell-uidlist under an
 * flock(2) on <folder dir>/mailbell-uidlist.lock so that several
 * processes may change one folder. Internal to the store and its unit
 * tests.
 *
 * The file is a log of checked lines (log-line.h): a change appends its
 * records and fsyncs the file, so that a delivery costs the same in a
 * folder of ten messages or of a hundred thousand. Now and then (when
 * the records of gone messages outnumber the live ones) it is written
 * whole again: a temporary file, fsync, rename, fsync of the directory.
 *
 * File format (text, one record per line, each ending in " <check>"):
 *   mailbell-uidlist 2 <uidvalidity> <uidnext> <check>   first line
 *   + <uid> <base name> <check>      a message, UIDs strictly ascending
 *   - <uid> <check>                  that message is gone
 * UIDNEXT is the header's, or above the last "+" if that is higher. A
 * tail cut short or damaged by a crash (nothing good after the first bad
 * line) holds only records never fsynced, and is cut off when the list
 * is read; damage with good records after it makes the list corrupt.
 *
 * The format of earlier versions is still read (and written whole in
 * this one at the first change):
 *   mailbell-uidlist 1 <uidvalidity> <uidnext>
 *   <uid> <base name>
 */
#ifndef MB_STORE_MAILDIR_UIDLIST_H
#define MB_STORE_MAILDIR_UIDLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

#define MAILDIR_UIDLIST_FILE "mailbell-uidlist"
#define MAILDIR_UIDLIST_TMP "mailbell-uidlist.tmp"
#define MAILDIR_UIDLIST_LOCK "mailbell-uidlist.lock"

struct maildir_uidlist {
	uint32_t uidvalidity;	/* never 0 */
	uint32_t uidnext;	/* next UID to assign; above every entry */
	uint32_t *uids;		/* ascending */
	char **bases;		/* base file names, parallel to uids */
	size_t count;
	size_t cap;

	/* The file as this list last read or wrote it: */
	struct buf pending;	/* records of changes not in the file yet */
	bool rewrite;		/* write it whole: none yet, or old format */
	size_t dead;		/* its records of gone messages ("+" and
				   "-" each) */
};

/* An empty list with this UIDVALIDITY and UIDNEXT 1. */
struct maildir_uidlist *maildir_uidlist_new(uint32_t uidvalidity);
void maildir_uidlist_free(struct maildir_uidlist **listp);
struct maildir_uidlist *maildir_uidlist_dup(const struct maildir_uidlist *list);

/*
 * A fresh UIDVALIDITY: the current time in seconds, but strictly above
 * every value this process handed out before and above floor (pass an
 * old folder's UIDVALIDITY so that a rebuilt list differs from it).
 */
uint32_t maildir_uidvalidity_next(uint32_t floor);

/* Append base (base_len bytes) with UID uidnext. Returns 0 and the UID,
 * or -1 if the UID space is exhausted. Like maildir_uidlist_filter, the
 * change is recorded in the list's pending records until written. */
int maildir_uidlist_append(struct maildir_uidlist *list, const char *base,
    size_t base_len, uint32_t *uid_r);
/* Keep only the entries for which keep[i] is true. */
void maildir_uidlist_filter(struct maildir_uidlist *list, const bool *keep);

/*
 * Parse the file format above (either version). Returns 0 with
 * *valid_r the length of the good prefix (less than len if a torn tail
 * follows it), or -1 with *error_r set.
 */
int maildir_uidlist_parse(const char *data, size_t len,
    struct maildir_uidlist **list_r, size_t *valid_r, const char **error_r);
/* Append list, whole, in the file format to out. */
void maildir_uidlist_format(const struct maildir_uidlist *list,
    struct buf *out);
/* True if the next write of list rewrites the file whole (there is
 * none, it is of an older version, or gone messages' records
 * outnumber the live ones) rather than appending the pending records. */
bool maildir_uidlist_needs_rewrite(const struct maildir_uidlist *list);

/*
 * Read dir's UID list, with the folder's lock held. Returns 1 with
 * *list_r set, 0 if the folder has none yet, -1 with *error_r set if it
 * cannot be read, or -2 with *error_r set if its contents are corrupt.
 * A torn tail is cut off the file (with a warning) so that appends go
 * after the good records. A stale temporary file from an interrupted
 * write is ignored.
 */
int maildir_uidlist_read(const char *dir, struct maildir_uidlist **list_r,
    const char **error_r);
/*
 * Make list dir's UID list durably: fsync sync_first if not NULL (the
 * new/ directory whose renames the list records), then append list's
 * pending records and fsync the file, or if it needs rewriting write
 * and fsync the temporary file, rename it over the list and fsync dir.
 * Returns 0, or -1 with *error_r set; on failure the file holds the old
 * list, or that with some of the pending records (read it again).
 */
int maildir_uidlist_write(const char *dir, struct maildir_uidlist *list,
    const char *sync_first, const char **error_r);

/*
 * The steps of maildir_uidlist_write, for the group commit, which
 * fsyncs many files at once. If the list needs rewriting: write the
 * temporary file, then rename it over the list. Else append the pending
 * records. Writing starts the writeback without waiting and returns the
 * descriptor (the caller fsyncs and closes it). All return -1 with
 * *error_r set on failure (an append that failed is cut off again, or
 * the list is marked for rewriting).
 */
int maildir_uidlist_write_tmp(const char *dir, struct maildir_uidlist *list,
    const char **error_r);
int maildir_uidlist_install(const char *dir, const char **error_r);
int maildir_uidlist_write_pending(const char *dir,
    struct maildir_uidlist *list, const char **error_r);

/* Take the folder's lock (blocking; creates the lock file). Returns a
 * descriptor to pass to maildir_uidlist_unlock, or -1 with *error_r. */
int maildir_uidlist_lock(const char *dir, const char **error_r);
void maildir_uidlist_unlock(int *fdp);

#endif
