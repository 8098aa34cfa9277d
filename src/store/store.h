/*
 * The mail store: Maildir++ per user under one root, a UID list per
 * folder, durable delivery with group commit, and the "message landed"
 * event.
 *
 * The store's public headers are this one and store/message.h (a parsed
 * message for IMAP FETCH and SEARCH: ENVELOPE, BODYSTRUCTURE, sections
 * and search tests, in our own types). Other layers include no other
 * store header; the rest (store-private.h, maildir*.h,
 * message-private.h, ...) are the store's internals.
 *
 * On disk, for a root R (normally <data_dir>/mail):
 *   R/<user>/{cur,new,tmp}/          INBOX
 *   R/<user>/.<Folder>/{cur,new,tmp} a folder; hierarchy separator '.',
 *                                    as in Dovecot's Maildir++ layout
 *   <folder dir>/mailbell-uidlist    UIDVALIDITY, UIDNEXT, uid -> file
 *   <folder dir>/mailbell-uidlist.lock  flock(2)ed while it is changed
 *   <folder dir>/mailbell-recent     UIDVALIDITY and the first UID no
 *                                    IMAP session has claimed as \Recent
 *   <folder dir>/mailbell-modseq     MODSEQ log: per UID its MODSEQ and
 *                                    flags as recorded, and expunges
 *                                    (store/modseq-log.h)
 * Message flags live in the file name (":2,FRS"), and keywords too, as
 * Dovecot keeps them: letters a..z after the flags, named by
 *   <folder dir>/dovecot-keywords        "<index> <name>" lines, 0 = 'a'
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
#include <sys/stat.h>
#include <time.h>

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
 * Blocking (disk I/O, fsync). Returns 0, or -1 with *error_r set.
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
 * or -1 with *error_r set to the reason, made on the calling thread as
 * lib/error.h says (its kind is the failure's). */
int store_job_result(const struct store_job *job, size_t target,
    uint32_t *uidvalidity_r, uint32_t *uid_r, const char **error_r);
void store_job_free(struct store_job **jobp);

/*
 * A message received into a file rather than memory (LMTP DATA and APPEND
 * literals over SPOOL_INLINE_MAX in lib/limits.h), so a session costs the
 * same for 1 KiB as for 50 MiB. The file is made in (user, folder)'s tmp/
 * and starts with prefix; the caller appends the body as it arrives.
 * Nothing is fsynced here: the delivery or append that takes the spool
 * does it before it reports success. Freeing a spool that nothing took
 * removes its file, so an aborted transfer leaves nothing behind (and a
 * crash only a tmp/ file). Blocking (buffered writes to the page cache).
 */
struct store_spool;

/* Start a spool; the folder is created if missing. Returns 0, or -1
 * with *error_r; either way *spool_r is a spool to free, which after a
 * failure takes no bytes and hands the error to whoever takes it. */
int store_spool_new(struct store *store, const char *user,
    const char *folder, const char *prefix, struct store_spool **spool_r,
    const char **error_r);
/* Append body bytes. After a failure (disk full: ERROR_NO_SPACE) the
 * spool takes no more: every further write fails the same way, and the
 * delivery or append that takes it fails with that error. 0 or -1. */
int store_spool_write(struct store_spool *spool, const void *data,
    size_t len, const char **error_r);
/* Body bytes written so far. */
uint64_t store_spool_size(const struct store_spool *spool);
/* The body is all written: close the file (its name stays), so a
 * command holding many spools (MULTIAPPEND) holds no descriptor for
 * them. Writes after it fail; a close failure stays with the spool.
 * For spools an APPEND takes whole (store_append_spool), not for
 * delivery jobs, which copy from the open file. */
void store_spool_close(struct store_spool *spool);
/* Close and, unless a job or append took the file, remove it. */
void store_spool_free(struct store_spool **spoolp);

/*
 * A job whose body is the spool's (it owns the spool from now on). The
 * first target added with the spool's user, folder and prefix gets the
 * spooled file itself; every other target gets a copy of the body after
 * its own prefix.
 */
struct store_job *store_job_new_spool(struct store_spool *spool);

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
 * folder's announced mark is raised to what the sync saw.
 * A folder has at most one sync waiting to start: a request for it is
 * merged into that one, which then reports the UIDs above the lowest
 * after_uid asked for to each distinct (cb, ctx) once. A request made
 * while the folder's sync runs queues one follow-up sync. */
void store_queue_sync(struct store_queue *queue, const char *user,
    const char *folder, uint32_t after_uid, store_sync_done_cb *cb,
    void *ctx);
/* Jobs and syncs queued, running or not yet reaped (for metrics and
 * shutdown). */
size_t store_queue_pending(const struct store_queue *queue);
/* Of those, the ones that write to user's Maildir: jobs with a target
 * of user and syncs of user's folders. A job stops counting when it is
 * reaped, just before its callback runs. Walks everything pending. */
size_t store_queue_pending_user(const struct store_queue *queue,
    const char *user);

/* ---- Sweeping tmp/ ----
 * A file in a folder's tmp/ that is STORE_TMP_MAX_AGE_SECS old is a
 * delivery that died (Maildir: 36 hours); the sweep removes it. */

/* True if the file name in a tmp/ with status st is such a leftover at
 * time now: a regular file with one link, whose mtime and (for a
 * Maildir name "<seconds>.<...>") the time in its name are both at
 * least STORE_TMP_MAX_AGE_SECS old. Pure. */
bool store_tmp_expired(const char *name, const struct stat *st, time_t now);
/* Remove the leftovers from the tmp/ of every user's folders (spooled
 * LMTP and APPEND messages included: they live there too). Blocking:
 * one readdir per folder. Returns 0 with the number removed, or -1 with
 * *error_r if the root cannot be read. */
int store_sweep_tmp(struct store *store, time_t now, size_t *removed_r,
    const char **error_r);
/* Sweep on the queue's own thread (never delaying deliveries), logging
 * how many were removed; does nothing while a sweep still runs. */
void store_queue_sweep(struct store_queue *queue);

/* ---- The "message landed" event ---- */

/* Event types, named as in RFC 5423 section 4. */
enum store_event_type {
	STORE_EVENT_MESSAGE_NEW = 1 << 0,	/* MessageNew: mail landed
						   (LMTP, deliver, another
						   program) */
	STORE_EVENT_MESSAGE_APPEND = 1 << 1,	/* MessageAppend: APPEND,
						   COPY or MOVE into it */
	STORE_EVENT_MESSAGE_EXPUNGE = 1 << 2,	/* MessageExpunge */
	STORE_EVENT_FLAGS_SET = 1 << 3,		/* FlagsSet */
	STORE_EVENT_FLAGS_CLEAR = 1 << 4,	/* FlagsClear */
	STORE_EVENT_MAILBOX_CREATE = 1 << 5,	/* MailboxCreate: CREATE,
						   the special-use folders
						   made at login, the
						   target of RENAME INBOX */
	STORE_EVENT_MAILBOX_DELETE = 1 << 6,	/* MailboxDelete */
	STORE_EVENT_MAILBOX_RENAME = 1 << 7,	/* MailboxRename: one per
						   folder renamed, children
						   included; old_folder is
						   its old name */
	STORE_EVENT_MAILBOX_SUBSCRIBE = 1 << 8,	/* MailboxSubscribe */
	STORE_EVENT_MAILBOX_UNSUBSCRIBE = 1 << 9, /* MailboxUnSubscribe */
};
/* The message events (what the UDP notifier carries). */
#define STORE_EVENT_ALL 0x1fu
/* The folder and subscription events: no UIDs, uidvalidity 0. */
#define STORE_EVENT_MAILBOX_ALL 0x3e0u

struct store_event {
	const char *user;
	const char *folder;
	uint32_t uidvalidity;
	uint32_t uid;		/* the (first) message concerned */

	/* For MessageNew, type is STORE_EVENT_MESSAGE_NEW, uids points to
	 * uid and uid_count is 1. */
	enum store_event_type type;
	const uint32_t *uids;	/* every message concerned, ascending */
	size_t uid_count;
	unsigned flags;		/* FlagsSet/FlagsClear: the store_flag bits
				   set or cleared; otherwise 0 */
	const char *old_folder;	/* MailboxRename: the name before; else
				   NULL */
	uint64_t landed_us;	/* clock_now_us() when it was announced */
};
typedef void store_event_cb(const struct store_event *event, void *ctx);

/* Subscribe to MessageNew events ("message landed"); every subscriber
 * hears each event once. Returns an id for store_unsubscribe. */
unsigned store_subscribe(struct store *store, store_event_cb *cb, void *ctx);
/* Subscribe to the event types in mask (enum store_event_type bits).
 * MessageNew keeps the once-per-message rule of store_announce; the
 * other types are reported by the calls below as they happen (an
 * appended, copied or moved message counts as announced, so it never
 * turns up as MessageNew too). Returns an id for store_unsubscribe. */
unsigned store_subscribe_events(struct store *store, unsigned mask,
    store_event_cb *cb, void *ctx);
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

/* ==== What the IMAP service needs ====
 *
 * Everything below runs on the event-loop thread (the one that owns the
 * event hub): the calls block on disk I/O and fsync, take the folder's
 * flock where a UID list changes, and tell the folder's other views and
 * the event subscribers what changed before they return.
 */

/* ---- Errors ----
 * Failures are reported as lib/error.h says: the kind of an *error_r,
 * error_code(error), lets IMAP choose a response code (RFC 5530):
 *   ERROR_INTERNAL      I/O or other server-side failure (UNAVAILABLE,
 *                       SERVERBUG)
 *   ERROR_INVALID       unusable user or folder name (CANNOT)
 *   ERROR_NOT_FOUND     no such folder (NONEXISTENT)
 *   ERROR_EXISTS        the folder exists already (ALREADYEXISTS)
 *   ERROR_NOT_POSSIBLE  delete INBOX, rename a folder into itself (CANNOT)
 *   ERROR_EXPUNGED      the message is gone (EXPUNGEISSUED)
 *   ERROR_LIMIT         out of UIDs (LIMIT)
 *   ERROR_NO_SPACE      the disk or a quota is full, from any call that
 *                       writes (OVERQUOTA); nothing was changed
 *   ERROR_UIDVALIDITY   the folder's UIDVALIDITY changed under a view:
 *                       the session must close it
 */

/* ---- Folders ---- */

/* Special uses of folders (RFC 6154): a folder named Sent, Drafts,
 * Trash or Junk has that use, unless CREATE ... (USE (...)) gave it to
 * another folder, which then has it alone. */
enum store_special_use {
	STORE_SPECIAL_NONE = 0,
	STORE_SPECIAL_SENT,	/* "Sent"   \Sent */
	STORE_SPECIAL_DRAFTS,	/* "Drafts" \Drafts */
	STORE_SPECIAL_TRASH,	/* "Trash"  \Trash */
	STORE_SPECIAL_JUNK,	/* "Junk"   \Junk */
	STORE_SPECIAL_ARCHIVE,	/* no folder by name: \Archive */
	STORE_SPECIAL_COUNT
};
/* The bit of a use in a set of uses (store_folder_info.special_uses). */
#define STORE_SPECIAL_BIT(use) (1u << (unsigned)(use))
/* The special use of a folder name (exact top-level names above). */
enum store_special_use store_folder_special_use(const char *folder);
/* The LIST attribute of a special use ("\\Sent"...), NULL for none. */
const char *store_special_use_attr(enum store_special_use use);
/* The LIST attributes of a set of uses, space-separated in
 * alphabetical order ("\\Drafts \\Sent"; "" for none), truncated to
 * size (STORE_SPECIAL_ATTRS_MAX is enough). */
#define STORE_SPECIAL_ATTRS_MAX 64
void store_special_uses_attrs(unsigned set, char *out, size_t size);
/* The use of a LIST attribute ("\\trash": any case), NONE for one the
 * store cannot give (\\All and \\Flagged need virtual folders). */
enum store_special_use store_special_use_parse(const char *attr);

/*
 * CREATE with special uses (a set of STORE_SPECIAL_BIT; 0: just
 * store_folder_create_new). A use another folder was given this way
 * fails with ERROR_NOT_POSSIBLE (IMAP: USEATTR) and creates nothing;
 * the name defaults (Trash...) give way instead. The uses are kept in
 * <user Maildir>/special-use, replaced atomically (fsync, rename, fsync
 * of the directory) under an flock, and follow the folder through
 * RENAME and go with DELETE. 0 or -1.
 */
int store_folder_create_special(struct store *store, const char *user,
    const char *folder, unsigned uses, const char **error_r);

/*
 * Create INBOX and the Sent, Drafts, Trash and Junk folders that do not
 * exist yet, and subscribe to the ones it creates: all of them, each
 * whole as CREATE makes it, or none (a folder left unsubscribed would
 * stay so; after a failure a later call makes and subscribes them all).
 * The folders are made at once, so their fsyncs overlap, and the
 * subscriptions file is written once. Cheap when they all exist (a stat
 * each). Call it at every login, from the thread that owns the event
 * loop. 0 or -1 with *error_r.
 */
int store_user_ensure_special(struct store *store, const char *user,
    const char **error_r);

/* One folder of a user, as LIST reports it. */
struct store_folder_info {
	char *name;		/* "INBOX", "Work.Projects" */
	bool noselect;		/* only implied by a child (".A.B" without
				   ".A"): LIST it \Noselect (\NonExistent) */
	bool has_children;	/* \HasChildren (else \HasNoChildren) */
	unsigned special_uses;	/* STORE_SPECIAL_BIT()s */
};
struct store_folder_list {
	struct store_folder_info *folders;	/* INBOX first, then the
						   others in byte order */
	size_t count;
};
/* Every folder of user; INBOX is always listed (even before the user's
 * Maildir exists). Returns 0 with *list_r, or -1 with *error_r. */
int store_folder_list(struct store *store, const char *user,
    struct store_folder_list **list_r, const char **error_r);
void store_folder_list_free(struct store_folder_list **listp);

/* True if the folder's directory exists (INBOX: the user's Maildir). */
bool store_folder_exists(struct store *store, const char *user,
    const char *folder);

/*
 * CREATE: like store_folder_create, but fails with ERROR_EXISTS if
 * the folder exists already, and makes the folder whole or not at all:
 * cur/, new/, tmp/ and a UID list (its UIDVALIDITY), all durable, or on
 * any failure (ERROR_NO_SPACE for a full disk) nothing of it is left.
 */
int store_folder_create_new(struct store *store, const char *user,
    const char *folder, const char **error_r);

/*
 * DELETE: remove the folder's directory and its messages (Maildir++:
 * children ".A.B" stay, and A is then listed \Noselect). The directory
 * is first renamed out of sight, so the folder disappears atomically.
 * INBOX: ERROR_NOT_POSSIBLE; missing: ERROR_NOT_FOUND. Views of
 * it fail their next refresh with ERROR_NOT_FOUND. 0 or -1.
 */
int store_folder_delete(struct store *store, const char *user,
    const char *folder, const char **error_r);

/*
 * RENAME: the folder and all its children (".A.B" -> ".C.B"); to must not
 * exist (ERROR_EXISTS) nor lie inside from (ERROR_NOT_POSSIBLE).
 * Renaming INBOX creates to and moves INBOX's messages into it, leaving
 * INBOX empty and its children where they are (RFC 3501 6.3.5).
 * Moved messages get new UIDs under the new folder's UIDVALIDITY.
 * Subscriptions are left as they are (RFC 3501 6.3.6). 0 or -1.
 */
int store_folder_rename(struct store *store, const char *user,
    const char *from, const char *to, const char **error_r);

/* ---- Subscriptions (LSUB, SUBSCRIBE, UNSUBSCRIBE) ----
 * Kept as Dovecot does for Maildir++: <user Maildir>/subscriptions, one
 * folder name per line, replaced atomically under an flock. */

/* The subscribed names, in file order (malloc'd array of malloc'd
 * strings, free with store_names_free). A missing file is no names. */
int store_subscriptions(struct store *store, const char *user,
    char ***names_r, size_t *count_r, const char **error_r);
void store_names_free(char ***namesp, size_t count);
/* Add (subscribed) or remove a name; the folder need not exist. 0 or -1. */
int store_subscription_set(struct store *store, const char *user,
    const char *folder, bool subscribed, const char **error_r);

/* ---- The folder index and views (SELECT, EXAMINE) ----
 *
 * The store keeps one in-memory index per folder for all sessions: the
 * UIDVALIDITY, UIDNEXT and for each message its UID, flags, file name,
 * size and internal date (about 100 bytes a message). The first open
 * reads new/, cur/ and the UID list; later ones only stat new/, cur/
 * (nanosecond mtimes) and the UID list, and read again only a directory
 * that changed. The most recently used indexes are kept after their last
 * view closes (STORE_INDEX_CACHE_MAX).
 *
 * A view is one session's picture of a folder: its own array of UID and
 * flags, whose positions are the IMAP message sequence numbers. It
 * changes only when the session asks (store_view_refresh), so an expunge
 * never renumbers messages under a running command (RFC 3501 7.4.1).
 * When anything else changes the folder (another view, a delivery, the
 * watcher seeing another program's work) the view's changed callback
 * runs at once, and the session refreshes when it may send untagged
 * responses (NOOP, IDLE, after a command).
 *
 * \Recent (RFC 3501 2.3.2): a message is recent in exactly one
 * read-write view, the first to learn of it, whether at open or at a
 * refresh. The index keeps a mark, the first UID no view has claimed
 * yet; a view that claims (store_view_claim_recent) takes every message
 * from the mark up as it adds them and raises the mark, so a message
 * delivered, appended, copied or moved in is recent for whichever
 * session sees it first. A view that does not claim (EXAMINE) shows the
 * unclaimed messages as recent and leaves them so. The mark is written
 * to the folder's mailbell-recent file as the UID list is (temporary
 * file, fsync, rename, fsync of the directory), so a restart does not
 * make old mail recent again; without the file (a folder mailbell has
 * never opened) every message is recent.
 */
struct store_view;

/* One message of a view: its position + 1 is its sequence number. */
struct store_view_message {
	uint32_t uid;
	unsigned flags;		/* enum store_flag bits */
	bool recent;		/* \Recent in this view; fixed while the
				   view holds the message */
	uint32_t keywords;	/* bit i: keyword i of the folder
				   (store_view_keyword) */
	uint64_t modseq;	/* RFC 7162 MODSEQ as of the view's last
				   refresh (or its own change) */
};

/*
 * Open a view of (user, folder), syncing the folder index with the disk
 * first (new files get UIDs as in store_folder_sync). Returns 0 with
 * *view_r, or -1 with *error_r (ERROR_NOT_FOUND if the folder does
 * not exist).
 */
int store_view_open(struct store *store, const char *user,
    const char *folder, struct store_view **view_r, const char **error_r);
void store_view_free(struct store_view **viewp);

/*
 * Called when the folder changed by any other way than this view's own
 * calls; the view is unchanged until it is refreshed. The callback may
 * refresh or free the view. cb NULL: no callback.
 */
typedef void store_view_changed_cb(struct store_view *view, void *ctx);
void store_view_set_changed_cb(struct store_view *view,
    store_view_changed_cb *cb, void *ctx);

const char *store_view_user(const struct store_view *view);
const char *store_view_folder(const struct store_view *view);	/* canonical */
uint32_t store_view_uidvalidity(const struct store_view *view);
/* UIDNEXT as of the view's last refresh. */
uint32_t store_view_uidnext(const struct store_view *view);
/* clock_now_us() of the folder's latest "message landed" event (from
 * delivery or found on disk), 0 if none since the folder was opened:
 * how long a new message took to reach a session. */
uint64_t store_view_landed_us(const struct store_view *view);
/* EXISTS: number of messages in the view. */
uint32_t store_view_count(const struct store_view *view);
/* The messages (count of them), valid until the next refresh or change
 * through this view. */
const struct store_view_message *store_view_messages(
    const struct store_view *view);
/* Sequence number of uid in the view, 0 if it is not there. */
uint32_t store_view_seq(const struct store_view *view, uint32_t uid);

/* ---- MODSEQ (RFC 7162 CONDSTORE, QRESYNC) ----
 * Every message has a MODSEQ, raised whenever its flags or keywords
 * change (and given when it enters the index); an expunge takes one
 * too. They are kept in <folder dir>/mailbell-modseq, an append-only
 * log fsynced before a change is reported, so no MODSEQ a client was
 * told goes backwards, across restarts too. A change made by another
 * program (a renamed file) gets its MODSEQ at the next sync. */

/* The MODSEQ of message uid in the folder index now (0 if it is gone):
 * during a refresh callback, what the view is taking. */
uint64_t store_view_uid_modseq(const struct store_view *view, uint32_t uid);
/* HIGHESTMODSEQ as of the view's last refresh (at least 1). */
uint64_t store_view_highest_modseq(const struct store_view *view);
/*
 * The UIDs expunged from the folder with a MODSEQ above since
 * (malloc'd, ascending, *count_r of them; NULL when none). *all_r is
 * true when since is older than the expunges the folder remembers
 * (MODSEQ_GONE_MAX): any UID below UIDNEXT not in the folder may then
 * have gone since, and the caller reports those too.
 */
void store_view_vanished(const struct store_view *view, uint64_t since,
    uint32_t **uids_r, size_t *count_r, bool *all_r);

/* ---- Keywords ----
 * A folder holds up to KEYWORDS_MAX (lib/limits.h) keywords, numbered
 * 0 .. KEYWORDS_MAX - 1 (Dovecot's letters a..z); a number keeps its
 * name for as long as the folder exists. Names match ASCII
 * case-insensitively. */

/* The name of the folder's keyword i, or NULL if i is free. Valid until
 * the next call on the view. */
const char *store_view_keyword(const struct store_view *view, unsigned i);
/* The number of keywords the folder has. */
size_t store_view_keyword_count(const struct store_view *view);
/* The number of keyword name, or -1 if the folder has none so named. */
int store_view_keyword_find(const struct store_view *view,
    const char *name);

/*
 * Make the view the claimant of \Recent (SELECT, not EXAMINE): call it
 * once, right after store_view_open. The view's messages from the mark
 * up become recent in it and in no other view, and so do the new
 * messages each later refresh of this view is the first to add. A
 * failure to write the mark is logged, not returned: it holds in
 * memory, and at worst messages are recent again after a restart.
 */
void store_view_claim_recent(struct store_view *view);
/* RECENT: the view's messages with \Recent. */
uint32_t store_view_recent_count(const struct store_view *view);
/* Whether message uid is recent in the view (false if it is not there).
 * A message's \Recent does not change while the view holds it, so the
 * answer is the same from inside the refresh callbacks. */
bool store_view_uid_recent(const struct store_view *view, uint32_t uid);

/*
 * Bring the view up to date with the index (which is first synced with
 * the disk if new/, cur/ or the UID list changed). Callbacks (any may
 * be NULL), in ascending UID order, each seq being the number the client
 * holds at that moment if the responses are sent in this order:
 *   expunge(seq, uid)  a message is gone ("* seq EXPUNGE"; the later
 *                      numbers shift down at once)
 *   flags(seq, uid, flags, keywords)  a message's flags or keywords
 *                      changed ("FETCH (FLAGS)")
 * and then
 *   exists(count)      once if messages were added: the new EXISTS
 *                      (store_view_recent_count already counts the
 *                      new messages this view is the first to see)
 * With expunge false (during FETCH, STORE, SEARCH: RFC 3501 7.4.1) gone
 * messages stay in the view with their last flags; new messages and
 * flag changes are still applied. Returns 0, or -1 with *error_r
 * (ERROR_UIDVALIDITY: the folder was rebuilt; ERROR_NOT_FOUND:
 * deleted or renamed away; the session should then close the view).
 */
typedef void store_view_expunge_cb(uint32_t seq, uint32_t uid, void *ctx);
typedef void store_view_flags_cb(uint32_t seq, uint32_t uid, unsigned flags,
    uint32_t keywords, void *ctx);
typedef void store_view_exists_cb(uint32_t count, void *ctx);
struct store_view_refresh_cbs {
	store_view_expunge_cb *expunge;
	store_view_flags_cb *flags;
	store_view_exists_cb *exists;
};
int store_view_refresh(struct store_view *view, bool expunge,
    const struct store_view_refresh_cbs *cbs, void *ctx,
    const char **error_r);

/* What IMAP asks of one message beyond its flags. */
struct store_message_info {
	uint32_t uid;
	unsigned flags;
	uint64_t size;		/* RFC822.SIZE: the size with every bare LF
				   sent as CRLF (",W=" of the name, else
				   counted from the file once) */
	int64_t internal_date;	/* seconds since the epoch: the file's
				   mtime, as Dovecot does */
};
/* Info of message uid from the shared index. -1 with ERROR_EXPUNGED
 * if it is no longer in the folder. */
int store_view_message_info(struct store_view *view, uint32_t uid,
    struct store_message_info *info_r, const char **error_r);
/*
 * The current full path of message uid's file (malloc'd), or an open
 * read-only descriptor of it. A file renamed by another process (flags
 * changed) is found by syncing the index and trying once more. -1 with
 * ERROR_EXPUNGED if it is gone.
 */
int store_view_message_path(struct store_view *view, uint32_t uid,
    char **path_r, const char **error_r);
int store_view_message_open(struct store_view *view, uint32_t uid,
    int *fd_r, const char **error_r);

/* ---- Changing messages (STORE, EXPUNGE, COPY, MOVE, APPEND) ----
 * UID arrays need not be sorted; UIDs that are not (or no longer) in the
 * folder are skipped. The view's own flag changes are in its array when
 * the call returns (for the FETCH responses of STORE); its expunges,
 * like everyone else's, arrive through store_view_refresh. */

enum store_flags_mode {
	STORE_FLAGS_REPLACE,	/* FLAGS */
	STORE_FLAGS_ADD,	/* +FLAGS */
	STORE_FLAGS_REMOVE,	/* -FLAGS */
};
/*
 * Change the flags of messages: rename each file to cur/<base>:2,<flags>
 * (from new/ as needed; letters other than the standard flags and the
 * keyword letters are kept), then fsync the directories. Announces
 * FlagsSet / FlagsClear (keyword changes are not events). 0 or -1.
 */
int store_view_set_flags(struct store_view *view, const uint32_t *uids,
    size_t count, enum store_flags_mode mode, unsigned flags,
    const char **error_r);
/*
 * As store_view_set_flags, with keywords (count_kw names, atoms as
 * maildir_keyword_valid takes them) changed in the same mode: REPLACE
 * sets exactly these, ADD adds them (new names get a number, written
 * to dovecot-keywords before any file uses it; ERROR_LIMIT if the
 * folder has no room), REMOVE removes those the folder knows.
 * store_view_set_flags is this with no keywords (so REPLACE clears
 * them).
 */
int store_view_set_keywords(struct store_view *view, const uint32_t *uids,
    size_t count, enum store_flags_mode mode, unsigned flags,
    const char *const *keywords, size_t count_kw, const char **error_r);

/*
 * As store_view_set_keywords, but only for the messages whose MODSEQ is
 * at most unchangedsince (RFC 7162 STORE (UNCHANGEDSINCE n); UINT64_MAX:
 * all), tested under the folder lock: the others are left alone and
 * their UIDs returned in *modified_r (malloc'd, ascending, *nmodified_r
 * of them; pass NULL if not wanted). The change is in the folder's
 * MODSEQ log (fsynced) before this returns. 0 or -1.
 */
int store_view_set_keywords_cond(struct store_view *view,
    const uint32_t *uids, size_t count, enum store_flags_mode mode,
    unsigned flags, const char *const *keywords, size_t count_kw,
    uint64_t unchangedsince, uint32_t **modified_r, size_t *nmodified_r,
    const char **error_r);

/*
 * Expunge messages: every message of uids (uids NULL: every message of
 * the folder), and with deleted_only only those flagged \Deleted
 * (EXPUNGE, UID EXPUNGE); unlink, fsync, then drop them from the UID
 * list. Announces MessageExpunge. 0 or -1.
 */
int store_view_expunge(struct store_view *view, const uint32_t *uids,
    size_t count, bool deleted_only, const char **error_r);

/* Source UID -> new UID in the target folder (COPYUID, RFC 4315). */
struct store_uid_map {
	uint32_t uidvalidity;	/* of the target folder */
	uint32_t *src_uids;	/* ascending */
	uint32_t *dest_uids;	/* parallel to src_uids */
	size_t count;
};
void store_uid_map_free(struct store_uid_map **mapp);

/*
 * COPY: hard-link each message into dest's tmp/, then commit them into
 * dest's cur/ with their flags and new UIDs (one UID-list write and one
 * round of fsyncs for the lot); the internal date stays (same inode).
 * Keywords are carried by name: numbered in dest as
 * store_view_set_keywords does (ERROR_LIMIT if dest has no room).
 * dest may be the view's own folder. ERROR_NOT_FOUND if dest does
 * not exist. Announces MessageAppend in dest. 0 with *map_r, or -1.
 */
int store_view_copy(struct store_view *view, const uint32_t *uids,
    size_t count, const char *dest, struct store_uid_map **map_r,
    const char **error_r);
/*
 * MOVE (RFC 6851): copy as above, then expunge the sources (durable in
 * that order: a crash leaves a duplicate, never a loss). Same results.
 */
int store_view_move(struct store_view *view, const uint32_t *uids,
    size_t count, const char *dest, struct store_uid_map **map_r,
    const char **error_r);

/*
 * APPEND: write body to the folder's tmp/, set its mtime to
 * internal_date (0: now), fsync, and commit it into cur/ with flags and
 * keywords (count_kw names, numbered in the folder as
 * store_view_set_keywords does; new/ if there are none) with the next
 * UID. Announces MessageAppend and tells
 * the folder's views. Returns 0 with the UIDVALIDITY and UID (APPENDUID),
 * or -1 with *error_r (ERROR_NOT_FOUND if the folder does not
 * exist: TRYCREATE).
 */
int store_append(struct store *store, const char *user, const char *folder,
    const unsigned char *body, size_t len, unsigned flags,
    const char *const *keywords, size_t count_kw, int64_t internal_date,
    uint32_t *uidvalidity_r, uint32_t *uid_r, const char **error_r);

/*
 * APPEND of a spooled message (made with prefix "" for the same user,
 * in any of the user's folders): as store_append, taking the spool's
 * file (its own failure, if any, is returned). The caller still frees
 * the spool.
 */
int store_append_spool(struct store *store, const char *user,
    const char *folder, struct store_spool *spool, unsigned flags,
    const char *const *keywords, size_t count_kw, int64_t internal_date,
    uint32_t *uidvalidity_r, uint32_t *uid_r, const char **error_r);

/* One message of a MULTIAPPEND (RFC 3502), as store_append takes it. */
struct store_append_msg {
	const unsigned char *body;	/* the message, unless spool */
	size_t len;
	struct store_spool *spool;	/* or a spool, as store_append_spool
					   takes it (still the caller's to
					   free) */
	unsigned flags;			/* store_flag bits */
	const char *const *keywords;	/* keyword names */
	size_t keyword_count;
	int64_t internal_date;		/* 0: now */
};

/*
 * APPEND of count messages to one folder, all or nothing (MULTIAPPEND):
 * keywords are numbered and every message is written to tmp/ first,
 * then all are committed in one round under one lock, with consecutive
 * UIDs in order, one write of the UID list and one set of fsyncs; if
 * one fails, none stays in the folder. Announces one MessageAppend per
 * message and tells the folder's views. Returns 0 with the UIDVALIDITY
 * and each message's UID in uids_r (count of them), or -1 with
 * *error_r as store_append has it (ERROR_LIMIT: no room for a keyword
 * or a UID; ERROR_NO_SPACE: disk full).
 */
int store_append_many(struct store *store, const char *user,
    const char *folder, const struct store_append_msg *msgs, size_t count,
    uint32_t *uidvalidity_r, uint32_t *uids_r, const char **error_r);

/* STATUS without a view: from the folder index (synced first). */
/*
 * Forget everything held in memory of user's mail (UID lists, folder
 * indexes, announced UIDs), because the tree on disk was replaced or put
 * aside as a whole (a move between cluster nodes). Views still open on
 * the user's folders see them gone. The mail now in the user's folders,
 * if any, counts as announced: it is not new mail. Only the loop's
 * thread, while no delivery for user is queued.
 */
void store_user_forget(struct store *store, const char *user);

struct store_status {
	uint32_t messages;
	uint32_t recent;	/* messages no view has claimed as \Recent
				   yet: recent for the next SELECT */
	uint32_t uidnext;
	uint32_t uidvalidity;
	uint32_t unseen;	/* messages without \Seen */
	uint64_t size;		/* store_folder_status_size only: the sum
				 * of the messages' RFC822.SIZE */
	uint64_t highestmodseq;	/* HIGHESTMODSEQ (RFC 7162), at least 1 */
};
int store_folder_status(struct store *store, const char *user,
    const char *folder, struct store_status *status_r, const char **error_r);
/* The same with size (RFC 8438 STATUS SIZE): from the index and the
 * files' W= names; only a file without one (written by another program)
 * is read, once, and its size kept in the index. */
int store_folder_status_size(struct store *store, const char *user,
    const char *folder, struct store_status *status_r, const char **error_r);

#endif
