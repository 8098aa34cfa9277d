/*
 * The shared in-memory folder index: one per folder for the whole
 * daemon, kept most recently used first, and synced with the disk by
 * stat()ing new/, cur/ and the UID list and reading again only what
 * changed; the store's own appends it takes over from their commit
 * (store-appended.c). The views on it are in store-view.c, the changes
 * IMAP makes through them in store-change.c.
 */
#include "store/store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "lib/error.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "store/maildir-flags.h"
#include "store/maildir-uidlist.h"
#include "store/maildir.h"
#include "store/store-index-private.h"
#include "store/store-private.h"

char *
store_index_sub(const struct store_index *ix, const char *sub)
{
	return xasprintf("%s/%s", ix->dir, sub);
}

/* The full path of m's file. */
char *
store_index_msg_path(const struct store_index *ix, const struct index_msg *m)
{
	return xasprintf("%s/%s/%s", ix->dir, m->cur ? "cur" : "new",
	    m->name);
}

/* ---- Index life cycle ---- */

void
store_index_free(struct store_index **ixp)
{
	struct store_index *ix = *ixp;
	size_t i;

	if (ix == NULL)
		return;
	for (i = 0; i < ix->count; i++)
		free(ix->msgs[i].name);
	free(ix->msgs);
	store_modseq_clear(&ix->ms);
	maildir_keywords_clear(&ix->kw);
	free(ix->user);
	free(ix->folder);
	free(ix->dir);
	free(ix);
	*ixp = NULL;
}

/* Unlink ix from the store's list (it stays allocated). */
void
store_index_unlink(struct store *store, struct store_index *ix)
{
	struct store_index **pp;

	for (pp = &store->indexes; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == ix) {
			*pp = ix->next;
			ix->next = NULL;
			return;
		}
	}
}

static struct store_index *
index_find(struct store *store, const char *user, const char *folder)
{
	struct store_index *ix;

	folder = store_folder_canonical(folder);
	for (ix = store->indexes; ix != NULL; ix = ix->next) {
		if (strcmp(ix->user, user) == 0 &&
		    strcmp(ix->folder, folder) == 0)
			return ix;
	}
	return NULL;
}

/* Free the least recently used indexes nobody views beyond the cache. */
static void
index_evict(struct store *store)
{
	struct store_index **pp = &store->indexes, *ix;
	size_t idle = 0;

	while ((ix = *pp) != NULL) {
		if (ix->views != NULL || ix->busy > 0 ||
		    ++idle <= STORE_INDEX_CACHE_MAX) {
			pp = &ix->next;
			continue;
		}
		*pp = ix->next;
		store_index_free(&ix);
	}
}

/* The index of (user, folder), made if missing (not yet loaded), moved
 * to the front. NULL with *error_r for a bad name. */
struct store_index *
store_index_get(struct store *store, const char *user, const char *folder,
    const char **error_r)
{
	struct store_index *ix = index_find(store, user, folder);
	char *dir;

	if (ix != NULL) {
		store_index_unlink(store, ix);
	} else {
		if (maildir_folder_dir(store, user, folder, &dir,
		    error_r) < 0)
			return NULL;
		ix = xcalloc(1, sizeof(*ix));
		ix->store = store;
		ix->user = xstrdup(user);
		ix->folder = xstrdup(store_folder_canonical(folder));
		ix->dir = dir;
	}
	ix->next = store->indexes;
	store->indexes = ix;
	index_evict(store);
	return ix;
}

void
store_index_free_all(struct store *store)
{
	struct store_index *ix, *next;

	for (ix = store->indexes; ix != NULL; ix = next) {
		next = ix->next;
		if (ix->views != NULL) {
			/* Views outliving the store keep a detached index. */
			ix->gone = true;
			ix->next = NULL;
			continue;
		}
		store_index_free(&ix);
	}
	store->indexes = NULL;
}

/*
 * Run the changed callback of every view of ix but except. Callbacks
 * may refresh or free views (any of them), so the list is walked again
 * from the start after each call.
 */
void
store_index_notify(struct store_index *ix, const struct store_view *except)
{
	struct store_view *v;

	for (v = ix->views; v != NULL; v = v->next)
		v->notify = v != except && v->changed_cb != NULL;
	ix->busy++;
	for (;;) {
		for (v = ix->views; v != NULL && !v->notify; v = v->next)
			;
		if (v == NULL)
			break;
		v->notify = false;
		v->changed_cb(v, v->ctx);
	}
	ix->busy--;
	if (ix->gone && ix->views == NULL && ix->busy == 0)
		store_index_free(&ix);
}

void
store_index_poke(struct store *store, const char *user, const char *folder)
{
	struct store_index *ix = index_find(store, user, folder);

	if (ix != NULL && ix->views != NULL)
		store_index_notify(ix, NULL);
}

void
store_index_poke_landed(struct store *store, const char *user,
    const char *folder, uint64_t landed_us)
{
	struct store_index *ix = index_find(store, user, folder);

	if (ix == NULL || ix->views == NULL)
		return;
	ix->landed_us = landed_us;
	store_index_notify(ix, NULL);
}

void
store_index_drop(struct store *store, const char *user, const char *folder)
{
	struct store_index *ix = index_find(store, user, folder);

	if (ix == NULL)
		return;
	store_index_unlink(store, ix);
	ix->gone = true;
	if (ix->views == NULL && ix->busy == 0) {
		store_index_free(&ix);
		return;
	}
	store_index_notify(ix, NULL);
}

/* ---- Syncing an index with the disk ---- */

struct index_msg *
store_index_lookup(struct store_index *ix, uint32_t uid)
{
	size_t lo = 0, hi = ix->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ix->msgs[mid].uid == uid)
			return &ix->msgs[mid];
		if (ix->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int
index_stamps(struct store_index *ix, struct stamp *new_r, struct stamp *cur_r,
    struct stamp *list_r, const char **error_r)
{
	char *path;
	int ret = 0;

	path = store_index_sub(ix, "new");
	if (store_stamp_take(path, new_r) < 0)
		ret = -1;
	free(path);
	path = store_index_sub(ix, "cur");
	if (ret == 0 && store_stamp_take(path, cur_r) < 0)
		ret = -1;
	free(path);
	if (ret < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			*error_r = error_code_fmt(ERROR_NOT_FOUND,
			    "%s: no such folder", ix->folder);
		else
			*error_r = error_errno(ix->dir, errno);
		return -1;
	}
	path = store_index_sub(ix, MAILDIR_UIDLIST_FILE);
	if (store_stamp_take(path, list_r) < 0)
		memset(list_r, 0, sizeof(*list_r));
	free(path);
	return 0;
}

/* Record the stamps after the store changed the folder itself (under
 * its lock, so no other mailbell writer came in between). */
void
store_index_restamp(struct store_index *ix)
{
	struct folder_stamps fs;

	if (store_stamp_folder_locked(ix->dir, &fs) < 0)
		return;
	ix->new_st = fs.new_st;
	ix->cur_st = fs.cur_st;
	ix->list_st = fs.list_st;
}

static int
file_base_cmp(const void *a, const void *b)
{
	const struct maildir_file *x = a, *y = b;
	size_t n = x->base_len < y->base_len ? x->base_len : y->base_len;
	int c = memcmp(x->name, y->name, n);

	if (c != 0)
		return c;
	return x->base_len < y->base_len ? -1 : x->base_len > y->base_len;
}

static struct maildir_file *
scan_lookup(struct maildir_scan *scan, const char *base)
{
	struct maildir_file key;

	key.name = (char *)base;
	key.base_len = strlen(base);
	return bsearch(&key, scan->files, scan->count, sizeof(*scan->files),
	    file_base_cmp);
}

/* Where index_sync_quick() takes each message of the new array from. */
struct quick_sync {
	struct index_msg *msgs;		/* the new array */
	struct maildir_file **from_scan; /* a file of new/, or NULL: */
	size_t *from_old;		/* ...the old entry (in cur/) */
	size_t count;
	bool changed;
};

/*
 * Match the UID list against the old array and the files of new/ (scan,
 * sorted by base name) into q. False if that is not enough: cur/ lost a
 * file, an entry has no file, or a file has no UID.
 */
static bool
quick_match(struct store_index *ix, const struct maildir_uidlist *list,
    struct maildir_scan *scan, struct quick_sync *q)
{
	struct maildir_file *f;
	size_t i, j = 0, matched = 0;

	for (i = 0; i < list->count; i++) {
		struct index_msg *old = NULL, *m = &q->msgs[q->count];

		while (j < ix->count && ix->msgs[j].uid < list->uids[i]) {
			if (ix->msgs[j].cur)
				return false;	/* cur/ lost a file */
			q->changed = true;	/* gone from new/ */
			j++;
		}
		if (j < ix->count && ix->msgs[j].uid == list->uids[i])
			old = &ix->msgs[j++];
		if (old != NULL && old->cur) {
			size_t blen = strlen(list->bases[i]);

			if (strncmp(old->name, list->bases[i], blen) != 0 ||
			    (old->name[blen] != '\0' &&
			    old->name[blen] != MAILDIR_INFO_SEP))
				return false;
			*m = *old;
			m->name = NULL;		/* taken below */
			q->from_old[q->count++] = (size_t)(old - ix->msgs);
			continue;
		}
		if ((f = scan_lookup(scan, list->bases[i])) == NULL ||
		    f->matched)
			return false;		/* entry without a file */
		f->matched = true;
		matched++;
		q->from_scan[q->count] = f;
		memset(m, 0, sizeof(*m));
		m->uid = list->uids[i];
		m->flags = (uint8_t)maildir_name_flags(f->name);
		m->keywords = maildir_name_keywords(f->name);
		if (old != NULL) {
			m->have_stat = old->have_stat;
			m->size = old->size;
			m->date = old->date;
			if (old->flags != m->flags ||
			    old->keywords != m->keywords)
				q->changed = true;
		} else {
			q->changed = true;
		}
		q->count++;
	}
	for (; j < ix->count; j++) {
		if (ix->msgs[j].cur)
			return false;
		q->changed = true;
	}
	return matched == scan->count;	/* else files still without a UID */
}

/* Make q's array the index's: move names over from the old array and
 * the scan. */
static void
quick_install(struct store_index *ix, struct quick_sync *q)
{
	size_t i, j;

	for (i = 0; i < q->count; i++) {
		if (q->from_scan[i] != NULL) {
			q->msgs[i].name = q->from_scan[i]->name;
			q->msgs[i].cur = false;
			q->from_scan[i]->name = NULL;
		} else {
			q->msgs[i].name = ix->msgs[q->from_old[i]].name;
			ix->msgs[q->from_old[i]].name = NULL;
		}
	}
	for (j = 0; j < ix->count; j++)
		free(ix->msgs[j].name);
	free(ix->msgs);
	ix->msgs = q->msgs;
	ix->count = ix->cap = q->count;
	q->msgs = NULL;
}

/*
 * The common case after a delivery, with the folder lock held: cur/ did
 * not change, and every file now in new/ has its UID in the list
 * already. Then the index is brought up to date by one pass over the
 * list, without reading cur/ or copying its names. Returns 1 if done,
 * 0 if the full sync is needed (nothing was changed), -1 on error.
 */
static int
index_sync_quick(struct store_index *ix, const struct stamp *n,
    bool *changed_r, const char **error_r)
{
	struct maildir_scan scan = { 0 };
	struct folder_cache *cache;
	const struct maildir_uidlist *list;
	struct quick_sync q = { 0 };
	int ret;

	if (maildir_scan_dir(&scan, ix->dir, false, error_r) < 0)
		return -1;
	if ((ret = maildir_list_hold(ix->store, ix->dir, &cache, &list,
	    error_r)) <= 0 || list->uidvalidity != ix->uidvalidity) {
		if (ret >= 0)
			maildir_list_release(ix->store, cache);
		maildir_scan_free(&scan);
		return ret < 0 ? -1 : 0;
	}
	if (scan.count > 0)
		qsort(scan.files, scan.count, sizeof(*scan.files),
		    file_base_cmp);
	q.msgs = xreallocarray(NULL, list->count + 1, sizeof(*q.msgs));
	q.from_scan = xcalloc(list->count + 1, sizeof(*q.from_scan));
	q.from_old = xcalloc(list->count + 1, sizeof(*q.from_old));
	ret = 0;
	if (quick_match(ix, list, &scan, &q)) {
		quick_install(ix, &q);
		if (ix->uidnext != list->uidnext)
			q.changed = true;
		ix->uidnext = list->uidnext;
		ix->new_st = *n;
		*changed_r = q.changed;
		ret = 1;
	}
	free(q.from_scan);
	free(q.from_old);
	free(q.msgs);
	maildir_list_release(ix->store, cache);
	maildir_scan_free(&scan);
	return ret;
}

/* Stamp the UID list as it is now. */
static void
list_restamp(struct store_index *ix)
{
	char *path = store_index_sub(ix, MAILDIR_UIDLIST_FILE);

	if (store_stamp_take(path, &ix->list_st) < 0)
		memset(&ix->list_st, 0, sizeof(ix->list_st));
	free(path);
}

/*
 * Rebuild the index's array from a synced scan of the whole folder,
 * keeping the size and date known of messages that stay. True if any
 * message came, went or changed flags, or the UID counters moved.
 */
static bool
index_rebuild(struct store_index *ix, struct maildir_scan *scan,
    uint32_t uidvalidity, uint32_t uidnext)
{
	struct index_msg *msgs;
	bool changed = false;
	size_t i, j;

	if (ix->loaded && uidvalidity != ix->uidvalidity) {
		/* Rebuilt list: nothing known carries over. */
		for (i = 0; i < ix->count; i++)
			free(ix->msgs[i].name);
		ix->count = 0;
		changed = true;
	}
	msgs = xreallocarray(NULL, scan->count + 1, sizeof(*msgs));
	for (i = 0, j = 0; i < scan->count; i++) {
		struct maildir_file *f = &scan->files[i];
		struct index_msg *m = &msgs[i];

		while (j < ix->count && ix->msgs[j].uid < f->uid) {
			changed = true;		/* expunged */
			free(ix->msgs[j++].name);
		}
		memset(m, 0, sizeof(*m));
		m->uid = f->uid;
		m->cur = f->cur;
		m->flags = (uint8_t)maildir_name_flags(f->name);
		m->keywords = maildir_name_keywords(f->name);
		m->name = f->name;
		f->name = NULL;
		if (j < ix->count && ix->msgs[j].uid == f->uid) {
			struct index_msg *old = &ix->msgs[j++];

			if (old->flags != m->flags ||
			    old->keywords != m->keywords)
				changed = true;
			m->have_stat = old->have_stat;
			m->size = old->size;
			m->date = old->date;
			free(old->name);
		} else {
			changed = true;		/* new */
		}
	}
	for (; j < ix->count; j++) {
		changed = true;
		free(ix->msgs[j].name);
	}
	free(ix->msgs);
	ix->msgs = msgs;
	ix->count = ix->cap = scan->count;
	if (ix->uidnext != uidnext || ix->uidvalidity != uidvalidity)
		changed = true;
	ix->uidvalidity = uidvalidity;
	ix->uidnext = uidnext;
	return changed;
}

/* ---- Keywords ---- */

/*
 * Read dovecot-keywords again if it changed since last read (with the
 * folder lock held; done whenever new/ or cur/ is read, since another
 * program names a keyword before a file name uses its letter). A file
 * that cannot be read leaves the names known before, and no keyword is
 * added until it can be (writing it would lose the names it holds).
 */
static void
index_keywords_load(struct store_index *ix)
{
	struct maildir_keywords kw = { { NULL } };
	struct stamp st;
	const char *error;
	char *path = store_index_sub(ix, MAILDIR_KEYWORDS_FILE);

	if (store_stamp_take(path, &st) < 0)
		memset(&st, 0, sizeof(st));
	free(path);
	if (store_stamp_same(&ix->kw_st, &st))
		return;
	if (maildir_keywords_read(ix->dir, &kw, &error) < 0) {
		if (!ix->kw_bad)
			log_warnx("%s", error);
		ix->kw_bad = true;
		return;
	}
	ix->kw_bad = false;
	maildir_keywords_clear(&ix->kw);
	ix->kw = kw;
	ix->kw_st = st;
}

int
store_index_keywords_add(struct store_index *ix, const char *const *names,
    size_t count, uint32_t *bits_r, const char **error_r)
{
	struct maildir_keywords kw = { { NULL } };
	bool added, any = false;
	size_t i;
	int idx;

	*bits_r = 0;
	index_keywords_load(ix);	/* another writer's names first */
	if (ix->kw_bad) {
		*error_r = error_fmt("%s: %s unreadable", ix->folder,
		    MAILDIR_KEYWORDS_FILE);
		return -1;
	}
	for (i = 0; i < KEYWORDS_MAX; i++)
		kw.names[i] = ix->kw.names[i] != NULL ?
		    xstrdup(ix->kw.names[i]) : NULL;
	for (i = 0; i < count; i++) {
		if (!maildir_keyword_valid(names[i])) {
			maildir_keywords_clear(&kw);
			*error_r = error_code_fmt(ERROR_INVALID,
			    "%s: invalid keyword", ix->folder);
			return -1;
		}
		if ((idx = maildir_keywords_add(&kw, names[i], &added)) < 0) {
			maildir_keywords_clear(&kw);
			*error_r = error_code_fmt(ERROR_LIMIT, "%s: no room "
			    "for more than %d keywords", ix->folder,
			    KEYWORDS_MAX);
			return -1;
		}
		any = any || added;
		*bits_r |= (uint32_t)1 << idx;
	}
	if (any && maildir_keywords_write(ix->dir, &kw, error_r) < 0) {
		maildir_keywords_clear(&kw);
		return -1;
	}
	if (any) {
		char *path = store_index_sub(ix, MAILDIR_KEYWORDS_FILE);

		maildir_keywords_clear(&ix->kw);
		ix->kw = kw;
		if (store_stamp_take(path, &ix->kw_st) < 0)
			memset(&ix->kw_st, 0, sizeof(ix->kw_st));
		ix->kw_st.valid = ix->kw_st.ino != 0;
		free(path);
		ix->modseq++;
	} else {
		maildir_keywords_clear(&kw);
	}
	return 0;
}

int
store_keywords_number(struct store *store, const char *user,
    const char *folder, const char *const *names, size_t count,
    uint32_t *bits_r, const char **error_r)
{
	struct store_index *ix;
	int lock_fd, ret;

	*bits_r = 0;
	if (count == 0)
		return 0;
	if ((ix = store_index_get(store, user, folder, error_r)) == NULL)
		return -1;
	if ((lock_fd = maildir_uidlist_lock(ix->dir, error_r)) < 0)
		return -1;
	ret = store_index_keywords_add(ix, names, count, bits_r, error_r);
	maildir_uidlist_unlock(&lock_fd);
	return ret;
}

/* MODSEQs for what the sync found. A log that cannot be written does
 * not keep the folder from being read: the MODSEQs hold in memory and
 * the log is tried again at the next change. */
static void
index_modseq_update(struct store_index *ix)
{
	const char *error;

	if (store_modseq_update(ix, &error) < 0)
		log_warnx("%s: %s", ix->folder, error);
}

/*
 * With the folder lock held: read again the directories whose stamps
 * changed and the UID list, and rebuild the message array keeping what
 * is known of unchanged messages. *changed_r tells whether any message
 * came, went or changed flags.
 */
int
store_index_sync_locked(struct store_index *ix, bool force, bool *changed_r,
    const char **error_r)
{
	struct stamp n, c, l;
	struct maildir_scan scan = { 0 };
	uint32_t uidvalidity, uidnext;
	bool scan_new, scan_cur, changed;
	size_t i;

	*changed_r = false;
	if (index_stamps(ix, &n, &c, &l, error_r) < 0) {
		if (error_code(*error_r) == ERROR_NOT_FOUND)
			ix->gone = ix->loaded;
		return -1;
	}
	scan_new = force || !ix->loaded || !store_stamp_same(&ix->new_st, &n);
	scan_cur = force || !ix->loaded || !store_stamp_same(&ix->cur_st, &c);
	if (!scan_new && !scan_cur && store_stamp_same(&ix->list_st, &l))
		return 0;
	if (!force && ix->loaded && !scan_cur) {
		int quick = index_sync_quick(ix, &n, changed_r, error_r);

		if (quick < 0)
			return -1;
		if (quick > 0) {
			list_restamp(ix);
			index_keywords_load(ix);
			if (*changed_r)
				ix->modseq++;
			index_modseq_update(ix);
			return 0;
		}
	}

	for (i = 0; i < ix->count; i++) {
		if (ix->msgs[i].cur ? !scan_cur : !scan_new)
			maildir_scan_add(&scan, ix->msgs[i].name,
			    ix->msgs[i].cur);
	}
	if ((scan_new && maildir_scan_dir(&scan, ix->dir, false,
	    error_r) < 0) || (scan_cur && maildir_scan_dir(&scan, ix->dir,
	    true, error_r) < 0) || maildir_sync_scan(ix->store, ix->dir, &scan,
	    &uidvalidity, &uidnext, error_r) < 0) {
		maildir_scan_free(&scan);
		return -1;
	}
	changed = index_rebuild(ix, &scan, uidvalidity, uidnext);
	maildir_scan_free(&scan);

	/* new/ and cur/ as they were before reading them; the list as it
	 * is now (the sync may have rewritten it). */
	if (scan_new)
		ix->new_st = n;
	if (scan_cur)
		ix->cur_st = c;
	list_restamp(ix);
	index_keywords_load(ix);
	ix->loaded = true;
	if (changed)
		ix->modseq++;
	index_modseq_update(ix);
	*changed_r = changed;
	return 0;
}

/* MODSEQs and keyword names for the messages store_appended_take()
 * added, under the folder lock. */
static int
index_appended_locked(struct store_index *ix, const char **error_r)
{
	int lock_fd;

	if ((lock_fd = maildir_uidlist_lock(ix->dir, error_r)) < 0)
		return -1;
	index_keywords_load(ix);
	index_modseq_update(ix);
	maildir_uidlist_unlock(&lock_fd);
	return 0;
}

/* Sync ix: the store's own appends taken over (store-appended.c), then
 * three stats when nothing else changed, else under the lock. */
int
store_index_sync(struct store_index *ix, bool force, bool *changed_r,
    const char **error_r)
{
	struct stamp n, c, l;
	struct stat st;
	bool added = false;
	int lock_fd, ret;

	*changed_r = false;
	if (ix->gone) {
		*error_r = error_code_fmt(ERROR_NOT_FOUND,
		    "%s: folder was deleted or renamed", ix->folder);
		return -1;
	}
	if (!force && ix->loaded && (added = store_appended_take(ix)))
		ix->modseq++;
	if (!force && ix->loaded && index_stamps(ix, &n, &c, &l,
	    error_r) == 0 && store_stamp_same(&ix->new_st, &n) &&
	    store_stamp_same(&ix->cur_st, &c) &&
	    store_stamp_same(&ix->list_st, &l)) {
		*changed_r = added;
		return added ? index_appended_locked(ix, error_r) : 0;
	}
	if (stat(ix->dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		ix->gone = ix->loaded;
		*error_r = error_code_fmt(ERROR_NOT_FOUND,
		    "%s: no such folder", ix->folder);
		return -1;
	}
	if ((lock_fd = maildir_uidlist_lock(ix->dir, error_r)) < 0)
		return -1;
	/* A round that was in flight has its appends kept by now. */
	if (!force && ix->loaded && store_appended_take(ix)) {
		if (!added)
			ix->modseq++;
		added = true;
	}
	ret = store_index_sync_locked(ix, force, changed_r, error_r);
	if (ret == 0 && added) {
		*changed_r = true;
		index_keywords_load(ix);
		index_modseq_update(ix);
	}
	maildir_uidlist_unlock(&lock_fd);
	return ret;
}
