/*
 * The mail store: Maildir++ per user under one root, a UID list per
 * folder, durable delivery with group commit, and the "message landed"
 * event. This is the only store header that other layers include.
 *
 * On disk, for a root R (normally <data_dir>/mail):
 *   R/<user>/{cur,new,tmp}/          INBOX
 *   R/<user>/.<Folder>/{cur,new,tmp} a folder; hierarchy separator '.',
 *                                    as in Dovecot's Maildir++ layout
 *   <folder dir>/mailbell-uidlist    UIDVALIDITY, UIDNEXT, uid -> file
 *   <folder dir>/mailbell-uidlist.lock  flock(2)ed while it is changed
 * Message flags live in the file name (":2,FRS").
 *
 * Threads: a struct store may be used from several threads for the
 * blocking calls below (they lock per folder, across processes too);
 * the event hub (store_subscribe, store_announce) belongs to one thread.
 */
#ifndef MB_STORE_STORE_H
#define MB_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

/* Folder name of the inbox; other folders are named as in IMAP, with '.'
 * as hierarchy separator ("Work.Projects"). */
#define STORE_INBOX "INBOX"

/* Message flags, kept in the Maildir file name's info part. */
enum store_flag {
	STORE_FLAG_DRAFT = 1 << 0,	/* D */
	STORE_FLAG_FLAGGED = 1 << 1,	/* F */
	STORE_FLAG_PASSED = 1 << 2,	/* P (forwarded) */
	STORE_FLAG_REPLIED = 1 << 3,	/* R (\Answered) */
	STORE_FLAG_SEEN = 1 << 4,	/* S */
	STORE_FLAG_TRASHED = 1 << 5,	/* T (\Deleted) */
};

/*
 * Open the store rooted at root (created if missing) for mail written by
 * this host (hostname goes into new file names). Never NULL.
 */
struct store *store_new(const char *root, const char *hostname);
void store_free(struct store **storep);
const char *store_root(const struct store *store);

/* True if name is a folder name the store accepts: INBOX, or printable
 * ASCII without '/', no empty hierarchy level, no leading '.', at most
 * FOLDER_NAME_MAX bytes. */
bool store_folder_name_valid(const char *name);

/* Create the user's Maildir (INBOX) if it does not exist. 0 or -1. */
int store_user_create(struct store *store, const char *user,
    const char **error_r);
/* Create a folder (and the user's Maildir) if missing. 0 or -1. */
int store_folder_create(struct store *store, const char *user,
    const char *folder, const char **error_r);
/* Directory of a folder: malloc'd, whether it exists or not. */
char *store_folder_path(const struct store *store, const char *user,
    const char *folder);

/* ---- Reading a folder ---- */

/* One message of a folder, as its UID list and directory say. */
struct store_message {
	uint32_t uid;
	char *file;		/* path relative to the folder dir:
				   "new/<name>" or "cur/<name>:2,<flags>" */
	unsigned flags;		/* enum store_flag bits */
};

/* A snapshot of a folder after a sync. */
struct store_folder {
	uint32_t uidvalidity;
	uint32_t uidnext;
	struct store_message *messages;	/* ascending UID */
	size_t count;
};

/*
 * Sync a folder and return its snapshot: files that another program put
 * into new/ or cur/ get fresh UIDs (appended in name order), entries whose
 * files are gone are dropped, and the UID list is rewritten atomically if
 * anything changed. A folder without a UID list gets a new UIDVALIDITY.
 * Blocking (disk I/O, fsync). Returns 0, or -1 with *error_r set (static
 * per-thread storage).
 */
int store_folder_sync(struct store *store, const char *user,
    const char *folder, struct store_folder **folder_r, const char **error_r);
void store_folder_free(struct store_folder **folderp);

/* ---- Durable delivery ---- */

/*
 * A delivery job: one message body delivered to one or more targets
 * (user, folder), each with its own header prefix (Return-Path,
 * Delivered-To). For every target the store writes prefix + body to a new
 * file in tmp/ (O_EXCL), fsyncs it, renames it into new/, fsyncs new/,
 * records its UID in the UID list (write-temp, fsync, rename) and only
 * then reports success. A failure leaves no partial message behind.
 */
struct store_job;

/* Takes ownership of body (malloc'd, len bytes). */
struct store_job *store_job_new(unsigned char *body, size_t len);
/* Add a target; prefix is copied (may be ""). Returns its index. */
size_t store_job_add_target(struct store_job *job, const char *user,
    const char *folder, const char *prefix);
size_t store_job_target_count(const struct store_job *job);
/* After the job completed: 0 with the new message's UIDVALIDITY and UID,
 * or -1 with *error_r set to a reason (valid while the job lives). */
int store_job_result(const struct store_job *job, size_t target,
    uint32_t *uidvalidity_r, uint32_t *uid_r, const char **error_r);
void store_job_free(struct store_job **jobp);

/* Run a job now on the calling thread (what `mailbell deliver` does).
 * Returns 0 if every target succeeded, -1 otherwise; see
 * store_job_result for each. */
int store_job_run(struct store *store, struct store_job *job);

/*
 * The delivery queue: runs jobs and folder syncs on background threads,
 * writing message files in parallel (DELIVERY_WRITERS) and committing the
 * UID lists of everything ready in one pass per folder (group commit:
 * DELIVERY_BATCH_MAX at most), so concurrent deliveries share the
 * directory and UID-list fsyncs. A slow disk delays only the jobs queued
 * on it, never the caller's thread.
 *
 * Completion callbacks run on the thread that calls store_queue_reap(),
 * which should be called when store_queue_fd() becomes readable.
 */
struct store_queue;
typedef void store_job_done_cb(struct store_job *job, void *ctx);
/* result of a folder sync: the UIDs above after_uid now in the folder */
typedef void store_sync_done_cb(const char *user, const char *folder,
    uint32_t uidvalidity, const uint32_t *new_uids, size_t new_count,
    void *ctx);

struct store_queue *store_queue_new(struct store *store);
/* Waits for queued work to finish, stops the threads, then runs the
 * remaining completion callbacks on the calling thread. */
void store_queue_free(struct store_queue **queuep);
/* A descriptor that is readable while completions wait to be reaped. */
int store_queue_fd(const struct store_queue *queue);
/* Run the callbacks of completed work on this thread. */
void store_queue_reap(struct store_queue *queue);
/* Queue a job; cb(job, ctx) runs from store_queue_reap() and owns job
 * (cb NULL: the job is freed). The watcher skips the renames the store
 * makes itself, so the callback announces its own deliveries. */
void store_queue_job(struct store_queue *queue, struct store_job *job,
    store_job_done_cb *cb, void *ctx);
/* Queue a sync of a folder; cb reports the UIDs above after_uid (on
 * failure, logged: uidvalidity 0 and no UIDs). After cb returns, the
 * folder's announced mark is raised to what the sync saw. */
void store_queue_sync(struct store_queue *queue, const char *user,
    const char *folder, uint32_t after_uid, store_sync_done_cb *cb,
    void *ctx);
/* Jobs and syncs queued, running or not yet reaped (for metrics and
 * shutdown). */
size_t store_queue_pending(const struct store_queue *queue);

/* ---- The "message landed" event ---- */

struct store_event {
	const char *user;
	const char *folder;
	uint32_t uidvalidity;
	uint32_t uid;
};
typedef void store_event_cb(const struct store_event *event, void *ctx);

/* Subscribe to events; every subscriber hears each event once. Returns
 * an id for store_unsubscribe. */
unsigned store_subscribe(struct store *store, store_event_cb *cb, void *ctx);
void store_unsubscribe(struct store *store, unsigned id);
/*
 * Report that (user, folder) holds message uid. Subscribers hear one
 * event for it unless this UID (or a higher one under the same
 * UIDVALIDITY) was announced before, so the paths by which one message
 * is noticed (the delivery itself, the watcher seeing its file) add up
 * to exactly one event. A UIDVALIDITY change starts the count afresh.
 */
void store_announce(struct store *store, const char *user,
    const char *folder, uint32_t uidvalidity, uint32_t uid);
/*
 * The folder's settled mark (0: none): every UID up to it has been
 * announced or is no longer news. Pass it as after_uid to
 * store_queue_sync; UIDs above it that were announced already are
 * dropped by store_announce, so a lower UID delivered by another process
 * and noticed after one of ours is still announced once. It rises as
 * UIDs are announced in sequence and when a queued sync's callback has
 * run. store_watch sets the starting point for every folder it finds.
 */
uint32_t store_announced_uid(struct store *store, const char *user,
    const char *folder);
void store_set_announced_uid(struct store *store, const char *user,
    const char *folder, uint32_t uidvalidity, uint32_t uid);

/*
 * The watcher: inotify on every user's folders (new/ and cur/, plus the
 * roots for new users and folders), so mail written by another process
 * (`mailbell deliver`, procmail, Dovecot, mutt) is noticed at once.
 * It needs one kernel watch per folder, never one per client.
 */
struct store_watch;
/* Walks the root and records each folder's current last UID as already
 * announced (mail present at start is not news). Returns NULL with
 * *error_r set if inotify is unavailable. */
struct store_watch *store_watch_new(struct store *store,
    const char **error_r);
void store_watch_free(struct store_watch **watchp);
/* Readable when file system changes wait to be read. */
int store_watch_fd(const struct store_watch *watch);
/* Read pending changes and call cb once per changed folder. */
typedef void store_watch_cb(const char *user, const char *folder,
    void *ctx);
void store_watch_read(struct store_watch *watch, store_watch_cb *cb,
    void *ctx);

#endif
