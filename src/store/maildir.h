/*
 * One Maildir++ folder on disk: creating it, writing a message into tmp/,
 * committing written messages into new/ together with their UIDs, and
 * syncing the UID list with what new/ and cur/ hold. All calls block on
 * disk I/O; the per-folder flock makes them safe across threads and
 * processes. Internal to the store and its unit tests.
 */
#ifndef MB_STORE_MAILDIR_H
#define MB_STORE_MAILDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"
#include "store/store-stamp.h"

struct folder_cache;
struct store;
struct store_folder;

/*
 * The directory of (user, folder) under the store root, malloc'd in
 * *dir_r. Returns 0, or -1 with *error_r set if the user or folder name
 * is not acceptable.
 */
int maildir_folder_dir(const struct store *store, const char *user,
    const char *folder, char **dir_r, const char **error_r);

/*
 * Create dir with cur/, new/ and tmp/ (and missing parents), fsyncing
 * each parent whose entries changed, so the folder survives a crash.
 * Returns 0 (also if it existed), or -1 with *error_r set.
 */
int maildir_create(const char *dir, const char **error_r);
/* maildir_create without its fsyncs, for a caller that makes the new
 * entries durable itself before it reports success: an fsync of dir
 * (cur/, new/, tmp/), then of the directory dir is in (dir's own). */
int maildir_create_unsynced(const char *dir, const char **error_r);
/* A new message file name, unique to this host and store (time, pid, a
 * counter, the host) and carrying its S= and W= sizes, in base
 * (base_size bytes). 0, or -1 if it does not fit. */
int maildir_new_name(struct store *store, uint64_t size, uint64_t crlf_size,
    char *base, size_t base_size);

/*
 * Write prefix and body as a new message file in dir/tmp/ (O_EXCL). The
 * folder is created if missing. With sync the file is fsynced here (the
 * queue's writer threads do this in parallel); without, only its
 * writeback is started and maildir_commit fsyncs it before the rename,
 * together with the UID list. Returns 0 with the
 * malloc'd temporary path and base name, or -1 with *error_r set and no
 * file left behind.
 */
int maildir_write_tmp(struct store *store, const char *dir,
    const char *prefix, const unsigned char *body, size_t len, bool sync,
    char **tmp_path_r, char **base_r, const char **error_r);

/*
 * Create a new, empty message file in dir/tmp/ (O_EXCL; the folder is
 * created if missing), named for a message of size bytes, crlf_size with
 * CRLF line ends. Returns 0 with the open descriptor (read-write) and
 * the malloc'd path and base name, or -1 with *error_r set.
 */
int maildir_open_tmp(struct store *store, const char *dir, uint64_t size,
    uint64_t crlf_size, int *fd_r, char **tmp_path_r, char **base_r,
    const char **error_r);

/*
 * Give the file from (on the store's file system) a new name in
 * dir/tmp/ for a message of size bytes, crlf_size with CRLF line ends,
 * never replacing a file there. Returns 0 with the malloc'd path and
 * base name, or -1 with *error_r set and the file where it was.
 */
int maildir_rename_tmp(struct store *store, const char *from, const char *dir,
    uint64_t size, uint64_t crlf_size, char **tmp_path_r, char **base_r,
    const char **error_r);

/*
 * A message file fd is written: with sync fsync it, else start its
 * writeback (maildir_commit fsyncs it). Closes fd either way. 0, or -1
 * with errno set.
 */
int maildir_tmp_done(int fd, bool sync);

/*
 * The size of the message in the open file fd with every bare LF
 * counted as CRLF: its RFC822.SIZE when the name records none (",W=").
 * Reads the whole file with pread (the offset stays). 0, or -1 with
 * errno set.
 */
int maildir_fd_crlf_size(int fd, uint64_t *size_r);

/* A written message waiting to be committed into a folder. */
struct maildir_commit_item {
	const char *tmp_path;	/* file in tmp/ */
	const char *base;	/* its name, kept in new/ */
	const char *cur_name;	/* NULL, or the name to give it in cur/
				   instead (base + ":2,<flags>") */
	bool synced;		/* already fsynced by maildir_write_tmp,
				   or a hard link of a durable message */
	int status;		/* in: 0 to commit; out: 0 or -1 */
	uint32_t uid;		/* out: UID, if status is 0 */
	char error[256];	/* out: reason, if status is -1 */
	enum error_code error_code;	/* out: its kind (lib/error.h) */
};

/* The messages of one round for one folder. */
struct maildir_commit_folder {
	const char *dir;			/* folder directory */
	struct maildir_commit_item *items;
	size_t count;
	uint32_t uidvalidity;			/* out, if any committed */
	bool all_or_nothing;			/* in: one message failing
						   fails them all */

	/* Used while the round runs. */
	int lock_fd;
	int list_fd;			/* the UID list (appended to) or
					   its temporary file */
	bool list_whole;		/* list_fd is the temporary file,
					   renamed over the list in step 3 */
	struct folder_cache *cache;
	size_t committed;
	size_t dir_fsyncs;		/* directory fsyncs of step 4 */
	bool stamped;			/* before and after were taken */
	struct folder_stamps before;	/* under the lock, before any
					   change of the round */
	struct folder_stamps after;	/* ...and after its renames */
};

/*
 * Commit one round (the group commit): for every folder, under its lock
 * (taken in path order), give each message the next UID and append the
 * UID list's records for them (or, now and then, write the whole list
 * to its temporary file); fsync every message file and every list;
 * rename the messages into new/ (and a rewritten list over the old
 * one); fsync every new/ (and the folder directory of a rewritten
 * list). Orderings that matter: a message and its UID are durable
 * before the message is renamed, and all of it is durable before this
 * returns. On a file system with a journal the
 * round costs about two journal commits, however many messages and
 * folders it holds.
 *
 * Items that fail have their files removed; if a folder's list cannot be
 * written, every message of that folder in this round is removed again
 * and fails, so nothing reported as failed stays in the folder. folders
 * may be reordered.
 */
void maildir_commit_round(struct store *store,
    struct maildir_commit_folder *folders, size_t count);

/* One folder's round (see maildir_commit_round). Returns the number
 * committed, with *uidvalidity_r set when it is above 0. */
size_t maildir_commit(struct store *store, const char *dir,
    struct maildir_commit_item *items, size_t count,
    uint32_t *uidvalidity_r);

/* The reason given to a message that failed only because another of
 * its all-or-nothing round did. */
#define MAILDIR_COMMIT_OTHER_FAILED "another message failed"

/* The same, all or nothing (MULTIAPPEND): if one message fails, every
 * one fails and none stays in the folder. Returns count or 0. */
size_t maildir_commit_all(struct store *store, const char *dir,
    struct maildir_commit_item *items, size_t count,
    uint32_t *uidvalidity_r);

/*
 * Sync the folder dir (see store_folder_sync) and return its snapshot.
 * Returns 0, or -1 with *error_r set.
 */
int maildir_sync(struct store *store, const char *dir,
    struct store_folder **folder_r, const char **error_r);

/* A message file found in new/ or cur/. */
struct maildir_file {
	char *name;		/* file name (malloc'd) */
	size_t base_len;	/* length of its base part */
	bool cur;		/* in cur/ (else new/) */
	bool matched;		/* used by maildir_sync_scan */
	uint32_t uid;		/* set by maildir_sync_scan */
};

/* The files of a folder, as listed by maildir_scan_dir or added from
 * what the caller knew of a directory that did not change. */
struct maildir_scan {
	struct maildir_file *files;
	size_t count;
	size_t cap;
};

/* readdir passes over new/ or cur/ since the start (tests use it to see
 * that a folder index was reused). */
extern _Atomic unsigned long maildir_readdir_count;

/* Add the files of dir/new or dir/cur (dot files and names the UID list
 * cannot hold are skipped). 0, or -1 with *error_r. */
int maildir_scan_dir(struct maildir_scan *scan, const char *dir, bool cur,
    const char **error_r);
/* Add one file (name is copied). */
void maildir_scan_add(struct maildir_scan *scan, const char *name, bool cur);
void maildir_scan_free(struct maildir_scan *scan);

/*
 * With dir's lock held, sync its UID list with the files in scan (the
 * whole folder): a file in both new/ and cur/ is kept once, entries
 * whose files are gone are dropped, files without an entry get the next
 * UIDs in name order, and the list is rewritten durably if anything
 * changed. On success scan holds each file once with its UID, in UID
 * order. Returns 0 with the list's UIDVALIDITY and UIDNEXT, or -1.
 */
int maildir_sync_scan(struct store *store, const char *dir,
    struct maildir_scan *scan, uint32_t *uidvalidity_r, uint32_t *uidnext_r,
    const char **error_r);

/* With dir's lock held: drop uids (ascending) from its UID list and
 * write it durably. 0, or -1 with *error_r. */
int maildir_list_remove(struct store *store, const char *dir,
    const uint32_t *uids, size_t count, const char **error_r);

/*
 * With dir's lock held: take its UID list (the cached one if the file
 * did not change) for reading, and give it back with
 * maildir_list_release before the lock goes. Returns 1 with *list_r,
 * 0 if the folder has no list yet (an empty one is lent), -1 with
 * *error_r.
 */
struct maildir_uidlist;
int maildir_list_hold(struct store *store, const char *dir,
    struct folder_cache **cache_r, const struct maildir_uidlist **list_r,
    const char **error_r);
void maildir_list_release(struct store *store, struct folder_cache *cache);

/* Drop every cached UID list (used when a list may be stale). */
void maildir_cache_clear(struct store *store);

#endif
