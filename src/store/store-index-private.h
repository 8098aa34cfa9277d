/*
 * The folder index and the views on it, as store-index.c,
 * store-view.c and store-change.c share them. Event-loop thread only.
 * Internal to the store.
 */
#ifndef MB_STORE_STORE_INDEX_PRIVATE_H
#define MB_STORE_STORE_INDEX_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "store/maildir-keywords.h"
#include "store/store-stamp.h"
#include "store/store.h"

/* One message of an index (about 40 bytes plus its name). */
struct index_msg {
	uint32_t uid;
	uint8_t flags;		/* enum store_flag bits of the name */
	uint32_t keywords;	/* keyword letters of the name: bit i is
				   'a' + i, named in the index's kw */
	bool cur;		/* in cur/ (else new/) */
	bool have_stat;		/* size and date are known */
	char *name;		/* current file name in new/ or cur/ */
	uint64_t modseq;	/* RFC 7162 MODSEQ, set by store_modseq_update */
	uint64_t size;
	int64_t date;		/* mtime: the internal date */
};

/* A message as the MODSEQ log last recorded it (store-modseq.c). */
struct modseq_entry {
	uint32_t uid;
	uint8_t flags;		/* enum store_flag bits recorded */
	uint32_t keywords;	/* keyword bits recorded */
	uint64_t modseq;
};

/* An expunge the log remembers (for VANISHED). */
struct modseq_gone {
	uint32_t uid;
	uint64_t modseq;
};

/* A folder's MODSEQ log as last read or written (store-modseq.c). */
struct store_modseq {
	bool loaded;		/* read (or made) under the current file */
	uint32_t uidvalidity;	/* of the log's records */
	uint64_t highest;	/* HIGHESTMODSEQ: never lowered */
	uint64_t horizon;	/* expunges at or below may be forgotten */
	struct modseq_entry *live;	/* ascending UID */
	size_t nlive;
	struct modseq_gone *gone;	/* ascending MODSEQ */
	size_t ngone;
	size_t gone_cap;
	dev_t dev;		/* the file as we left it: another writer */
	ino_t ino;		/* shows as a different size or inode */
	off_t size;
};

struct store_index {
	struct store *store;
	char *user;
	char *folder;		/* canonical */
	char *dir;
	bool loaded;		/* read from disk at least once */
	bool gone;		/* deleted or renamed away: detached */
	unsigned busy;		/* views being notified: do not free */

	uint32_t uidvalidity;
	uint32_t uidnext;
	struct index_msg *msgs;	/* ascending UID */
	size_t count;
	size_t cap;
	uint64_t modseq;	/* raised on every change */
	struct store_modseq ms;	/* RFC 7162 MODSEQs, kept in the log */
	uint64_t landed_us;	/* the latest "message landed", 0: none */

	/* \Recent (store-recent.c): the UIDs from recent_uid up are not
	 * yet claimed by any read-write view. recent_uidvalidity is the
	 * UIDVALIDITY recent_uid belongs to (0: not read from the folder's
	 * recent file yet); a new UIDVALIDITY makes everything recent. */
	uint32_t recent_uid;
	uint32_t recent_uidvalidity;

	struct stamp new_st;
	struct stamp cur_st;
	struct stamp list_st;

	struct maildir_keywords kw;	/* dovecot-keywords as last read or
					   written */
	struct stamp kw_st;		/* of that file when last read */
	bool kw_bad;			/* the last read failed: add none */

	struct store_view *views;
	struct store_index *next;	/* in store->indexes */
};

struct store_view {
	struct store_index *index;
	struct store_view *next;	/* in index->views */
	store_view_changed_cb *changed_cb;
	void *ctx;
	bool notify;			/* changed_cb still to run */

	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t modseq;		/* index->modseq seen last */
	uint64_t highest_modseq;	/* index->ms.highest then */
	bool kept_gone;			/* holds expunged messages still */
	bool claims_recent;		/* read-write: claims the \Recent of
					   what it learns of first */
	struct store_view_message *msgs;
	size_t count;
	size_t recent_count;		/* of msgs, those with recent set */
};

/* ---- store-appended.c ---- */

/*
 * Add to ix the messages the store's own commit rounds put in its
 * folder, while ix's stamps show that nothing else changed it: the
 * common case right after a delivery, without reading new/ or the UID
 * list. Each round's stamps from before it must be ix's; ix then takes
 * the round's messages and its stamps from after it. Rounds that do not
 * fit are dropped (the sync reads the folder then). Returns true if
 * messages were added (MODSEQs are the caller's to update). Loop
 * thread; ix loaded.
 */
bool store_appended_take(struct store_index *ix);

/* ---- store-index.c ---- */

/* The path of ix's sub-directory sub ("new", "cur"; malloc'd). */
char *store_index_sub(const struct store_index *ix, const char *sub);
/* The full path of m's file (malloc'd). */
char *store_index_msg_path(const struct store_index *ix,
    const struct index_msg *m);
void store_index_free(struct store_index **ixp);
/* Unlink ix from the store's list (it stays allocated). */
void store_index_unlink(struct store *store, struct store_index *ix);
/* The index of (user, folder), made if missing (not yet loaded), moved
 * to the front. NULL with *error_r for a bad name. */
struct store_index *store_index_get(struct store *store, const char *user,
    const char *folder, const char **error_r);
/*
 * Run the changed callback of every view of ix but except. Callbacks
 * may refresh or free views (any of them), so the list is walked again
 * from the start after each call.
 */
void store_index_notify(struct store_index *ix,
    const struct store_view *except);
/* The message uid of ix, or NULL. */
struct index_msg *store_index_lookup(struct store_index *ix, uint32_t uid);
/* Record the stamps after the store changed the folder itself (under
 * its lock, so no other mailbell writer came in between). */
void store_index_restamp(struct store_index *ix);
/*
 * With the folder lock held: read again the directories whose stamps
 * changed and the UID list, and rebuild the message array keeping what
 * is known of unchanged messages. *changed_r tells whether any message
 * came, went or changed flags.
 */
int store_index_sync_locked(struct store_index *ix, bool force,
    bool *changed_r, const char **error_r);
/* Sync ix: three stats when nothing changed, else under the lock. */
int store_index_sync(struct store_index *ix, bool force, bool *changed_r,
    const char **error_r);

/* ---- store-recent.c ---- */

/* The file that keeps a folder's recent mark across restarts. */
#define STORE_RECENT_FILE "mailbell-recent"

/* The first UID of ix not yet claimed as \Recent: read from the
 * folder's recent file the first time it is asked for under ix's
 * UIDVALIDITY (1 if the file is missing, unreadable or of another
 * UIDVALIDITY: every message is then recent, as RFC 3501 2.3.2 asks
 * when the server cannot tell), never above UIDNEXT. ix is synced. */
uint32_t store_index_recent_uid(struct store_index *ix);
/* Claim every UID below upto for a read-write view: raise ix's mark
 * to upto (never lower it) and replace the recent file, unsynced (a
 * failure is logged; the mark holds in memory). */
void store_index_recent_claim(struct store_index *ix, uint32_t upto);

/*
 * With the folder lock held: the indexes of names in ix->kw, adding
 * the missing ones and writing dovecot-keywords (crash-safely) before
 * returning if any was added, so no file name can use a letter the file
 * does not name. *bits_r gets the letters. -1 with ERROR_LIMIT if the
 * folder has no free slot for one, or with the write's error.
 */
int store_index_keywords_add(struct store_index *ix,
    const char *const *names, size_t count, uint32_t *bits_r,
    const char **error_r);

/* ---- store-modseq.c ---- */

/*
 * With the folder lock held, after ix's messages changed in memory (a
 * sync, a STORE, an EXPUNGE): give a fresh MODSEQ to every message the
 * log does not know or knows with other flags or keywords, and to every
 * UID it knows that is gone, append those records to the log and fsync
 * it (compacting it when it has grown well past its live records), and
 * set each message's modseq. The log is read first if it changed under
 * us. 0, or -1 with *error_r if the log could not be written: the
 * MODSEQs then hold in memory, the log is read again next time, and
 * HIGHESTMODSEQ still never goes down in this process.
 */
int store_modseq_update(struct store_index *ix, const char **error_r);
/* Free what the log state holds. */
void store_modseq_clear(struct store_modseq *ms);

/* ---- store-change.c ---- */

/* The qsort(3) order of uint32_t UIDs. */
int store_uid_cmp(const void *a, const void *b);
/* uids sorted without duplicates (malloc'd, *count_r of them). */
uint32_t *store_uids_sorted(const uint32_t *uids, size_t count,
    size_t *count_r);

#endif
