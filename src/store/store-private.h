/*
 * Internals shared by the store's own files: the struct store itself and
 * the registry of file names the store renamed itself (so the watcher
 * does not treat our own deliveries as foreign).
 * Not for other layers.
 */
#ifndef MB_STORE_STORE_PRIVATE_H
#define MB_STORE_STORE_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

struct maildir_commit_folder;
struct store_appended;
struct store_hub;
struct workpool;

struct store {
	/* Fixed at store_new(). */
	char *root;		/* mail root, no trailing '/' */
	char *host;		/* sanitised hostname for file names */

	/* Shared by threads, under lock. */
	pthread_mutex_t lock;
	unsigned long long name_seq;	/* Q<n> of new file names */
	struct folder_cache *caches;	/* UID lists last read or written */
	bool watching;			/* a store_watch exists */
	char **own_names;		/* "<folder dir>/new/<name>" we renamed */
	size_t own_count;
	struct store_appended *appended;	/* commit rounds not yet
						   taken by an index, oldest
						   first (store-appended.c) */
	struct store_appended **appended_tail;	/* the last one's next */
	size_t appended_count;
	struct workpool *fsync_pool;	/* a commit round's fsyncs; started
					   by the first round needing it */

	/* The event hub and the folder indexes: only the thread that owns
	 * the event loop. */
	struct store_hub *hub;
	struct store_index *indexes;	/* most recently used first */
};

/* True if user is a name the store can use as a directory: 1 to
 * USER_NAME_MAX bytes, printable ASCII, no '/', not starting with '.'. */
bool store_user_name_valid(const char *user);

/* The canonical spelling of a folder name: "INBOX" for any case of it,
 * otherwise name itself. */
const char *store_folder_canonical(const char *folder);

/*
 * Remember that the store itself renamed a file to path (a full path in
 * some new/ or cur/), so the watcher can skip the event it causes. Only
 * kept while a watcher exists; bounded by STORE_OWN_NAMES_MAX.
 */
void store_own_name_add(struct store *store, const char *path);
/* True (and forgotten) if path was added by store_own_name_add. */
bool store_own_name_take(struct store *store, const char *path);

/*
 * Keep what commit round f (its lock still held, stamped before and
 * after its changes, at least one message committed) added to its
 * folder, for the folder's index to take without reading the folder
 * (store_appended_take in store-index-private.h). Any thread; bounded
 * by STORE_APPENDED_MAX, the oldest forgotten.
 */
void store_appended_record(struct store *store,
    const struct maildir_commit_folder *f);
/* Forget every round kept (store_free). */
void store_appended_free_all(struct store *store);

/* Forget what the event hub knows of user's folders (store_user_forget).
 * Only the loop's thread. */
void store_hub_forget_user(struct store *store, const char *user);
/* Report an event other than MessageNew to its subscribers (uids
 * ascending, count > 0). MessageAppend UIDs count as announced. */
void store_announce_event(struct store *store, const char *user,
    const char *folder, uint32_t uidvalidity, enum store_event_type type,
    const uint32_t *uids, size_t count, unsigned flags);

/* Report a folder or subscription event (STORE_EVENT_MAILBOX_*) of
 * user's folder; old_folder is the name before a rename, else NULL. */
void store_announce_mailbox(struct store *store, const char *user,
    enum store_event_type type, const char *folder, const char *old_folder);

/* ---- Per-user list files (store-user-list.c) ----
 * Small files of lines in the user's Maildir udir, each replaced
 * whole under the lock of a file beside it. Errors of system calls are
 * error_errno() texts: ENOSPC and EDQUOT are ERROR_NO_SPACE. */

/* Open and flock(2) the file name in udir (made if missing): the lock
 * of a list file. Returns the descriptor (close it to unlock), or -1
 * with *error_r. */
int store_user_file_lock(const char *udir, const char *name,
    const char **error_r);
/* Read the list file name of udir: its non-empty lines, without CR LF,
 * the first max_lines of them, from at most max_lines * (line_max + 2)
 * bytes (a larger file is an error). A missing file has no lines.
 * Returns 0 with *lines_r (malloc'd strings, free with
 * store_names_free(); NULL when *count_r is 0), or -1 with *error_r. */
int store_user_list_read(const char *udir, const char *name,
    size_t max_lines, size_t line_max, char ***lines_r, size_t *count_r,
    const char **error_r);
/* Replace the list file name of udir with lines[0 .. count), one a
 * line, crash-safe (write_file_atomic). 0, or -1 with *error_r. */
int store_user_list_write(const char *udir, const char *name,
    char *const *lines, size_t count, const char **error_r);

/*
 * store_folder_create_new of count folders (valid, canonical, none of
 * them existing) and a subscription to each, all or none: a folder left
 * unsubscribed would stay so at every later login that makes the
 * special-use folders. The folders are made at once on the store's
 * fsync pool, so their fsyncs overlap; the subscriptions file is written
 * once. Call from the thread that owns the event loop. 0 or -1.
 */
int store_folders_create_subscribed(struct store *store, const char *user,
    const char *const *folders, size_t count, const char **error_r);

/* The store's pool of fsync threads, started at the first call and
 * kept until store_free: for independent blocking file system calls
 * that should overlap. */
struct workpool *store_fsync_pool(struct store *store);

/* Special uses (store-special-use.c): set special_uses of every folder
 * of list. 0, or -1 with *error_r if the file cannot be read. */
int store_special_uses_fill(struct store *store, const char *user,
    struct store_folder_list *list, const char **error_r);
/* The folder from (and its children) was renamed to (NULL: deleted):
 * its special uses follow it, or go. Failures are logged. */
void store_special_uses_moved(struct store *store, const char *user,
    const char *from, const char *to);

/* Folder indexes (store-index.c): tell the views of (user, folder), if
 * any, that it may have changed on disk. Event-loop thread only. */
void store_index_poke(struct store *store, const char *user,
    const char *folder);
/* The same for a message that landed at landed_us (clock_now_us()),
 * which store_view_landed_us() then tells. */
void store_index_poke_landed(struct store *store, const char *user,
    const char *folder, uint64_t landed_us);
/* Forget (user, folder)'s index: the folder was deleted or renamed.
 * Its views fail their next refresh with ERROR_NOT_FOUND. */
void store_index_drop(struct store *store, const char *user,
    const char *folder);
/* Free every index (store_free). */
void store_index_free_all(struct store *store);

/* APPEND, COPY and MOVE (store-change.c): the directory of an existing
 * folder (ERROR_NOT_FOUND if it has no cur/). 0 or -1. */
int store_append_dir(struct store *store, const char *user,
    const char *folder, char **dir_r, const char **error_r);
/* The rest of an APPEND once its file tmp (named base) is written in
 * dir/tmp/: number its keywords (count_kw names), set its date, commit
 * it, tell views and subscribers. On failure the file is gone. 0 or
 * -1. */
int store_append_commit(struct store *store, const char *user,
    const char *folder, const char *dir, const char *tmp, const char *base,
    unsigned flags, const char *const *keywords, size_t count_kw,
    int64_t internal_date, uint32_t *uidvalidity_r,
    uint32_t *uid_r, const char **error_r);

/* APPEND of a spool (store-spool.c): check it was made for user with
 * no prefix and give its file a name in dir/tmp/ (not fsynced: the
 * commit does it), taking it from the spool. 0 with the malloc'd path
 * and base name, or -1 (the spool's own failure, if any). */
int store_spool_take_for_append(struct store_spool *spool,
    const char *user, const char *dir, char **tmp_path_r, char **base_r,
    const char **error_r);

/* Folder indexes: the keyword bits of names (count of them) in (user,
 * folder), numbering new ones in its dovecot-keywords (written before
 * this returns) under the folder's lock. count 0: none, no I/O.
 * ERROR_LIMIT when the folder has no room. Event-loop thread only. */
int store_keywords_number(struct store *store, const char *user,
    const char *folder, const char *const *names, size_t count,
    uint32_t *bits_r, const char **error_r);

/* Event hub life cycle (store-events.c). */
void store_hub_free(struct store *store);
/* After a sync saw every message of a folder up to last_uid: those UIDs
 * are no longer news (called after the sync's callback announced them). */
void store_hub_settle(struct store *store, const char *user,
    const char *folder, uint32_t uidvalidity, uint32_t last_uid);

/* ---- store-subscriptions.c ---- */

/* Add (subscribed) or remove the count names of folders (valid and
 * canonical) of user in one write of the subscriptions file, announcing
 * nothing. 1 the file changed, 0 it had them (or lacked them) already,
 * -1 error. */
int store_subscriptions_change(struct store *store, const char *user,
    const char *const *folders, size_t count, bool subscribed,
    const char **error_r);

#endif
