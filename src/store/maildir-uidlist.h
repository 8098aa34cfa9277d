/*
 * The per-folder UID list: UIDVALIDITY, UIDNEXT and the base file name of
 * every message by UID, stored in <folder dir>/mailbell-uidlist and
 * replaced atomically (write a temporary file, fsync, rename, fsync the
 * directory), under an flock(2) on <folder dir>/mailbell-uidlist.lock so
 * that several processes may change one folder.
 * Internal to the store and its unit tests.
 *
 * File format (text, one record per line):
 *   mailbell-uidlist 1 <uidvalidity> <uidnext>
 *   <uid> <base name>
 *   ...
 * with UIDs strictly ascending and below uidnext.
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
 * or -1 if the UID space is exhausted. */
int maildir_uidlist_append(struct maildir_uidlist *list, const char *base,
    size_t base_len, uint32_t *uid_r);
/* Keep only the entries for which keep[i] is true. */
void maildir_uidlist_filter(struct maildir_uidlist *list, const bool *keep);

/* Parse the file format above. Returns 0, or -1 with *error_r set. */
int maildir_uidlist_parse(const char *data, size_t len,
    struct maildir_uidlist **list_r, const char **error_r);
/* Append the file format of list to out. */
void maildir_uidlist_format(const struct maildir_uidlist *list,
    struct buf *out);

/*
 * Read dir's UID list. Returns 1 with *list_r set, 0 if the folder has
 * none yet, -1 with *error_r set if it cannot be read, or -2 with
 * *error_r set if its contents are corrupt. A stale temporary file from
 * an interrupted write is ignored.
 */
int maildir_uidlist_read(const char *dir, struct maildir_uidlist **list_r,
    const char **error_r);
/*
 * Replace dir's UID list with list: write and fsync the temporary file,
 * fsync sync_first if not NULL (the new/ directory whose renames the
 * list records), rename, fsync dir. Returns 0, or -1 with *error_r set;
 * on failure the old list is intact.
 */
int maildir_uidlist_write(const char *dir, const struct maildir_uidlist *list,
    const char *sync_first, const char **error_r);

/*
 * The two halves of maildir_uidlist_write, for the group commit: write
 * the temporary file and start its writeback without waiting (returns
 * its descriptor; the caller fsyncs and closes it), then rename it over
 * the list. Both return -1 with *error_r set on failure.
 */
int maildir_uidlist_write_tmp(const char *dir,
    const struct maildir_uidlist *list, const char **error_r);
int maildir_uidlist_install(const char *dir, const char **error_r);

/* Take the folder's lock (blocking; creates the lock file). Returns a
 * descriptor to pass to maildir_uidlist_unlock, or -1 with *error_r. */
int maildir_uidlist_lock(const char *dir, const char **error_r);
void maildir_uidlist_unlock(int *fdp);

#endif
