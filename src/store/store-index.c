/*
 * The shared in-memory folder index, the per-session views on it (what
 * SELECT opens), and the message operations IMAP performs through them:
 * flags, expunge, copy, move, append and status. One index per folder
 * for the whole daemon, synced with the disk by stat()ing new/, cur/ and
 * the UID list and reading again only what changed.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "store/maildir-flags.h"
#include "store/maildir-uidlist.h"
#include "store/maildir.h"
#include "store/store-private.h"

/* Renames of one call beyond this are not registered with the watcher:
 * registering is linear in STORE_OWN_NAMES_MAX, and a missed one costs
 * only a background folder sync. */
#define OWN_NAMES_PER_CALL 64

/* One message of an index (about 40 bytes plus its name). */
struct index_msg {
	uint32_t uid;
	uint8_t flags;		/* enum store_flag bits of the name */
	bool cur;		/* in cur/ (else new/) */
	bool have_stat;		/* size and date are known */
	char *name;		/* current file name in new/ or cur/ */
	uint64_t size;
	int64_t date;		/* mtime: the internal date */
};

/* What a stat() said of new/, cur/ or the UID list when last read. */
struct stamp {
	bool valid;		/* recorded, and a later change would show */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
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

	struct stamp new_st;
	struct stamp cur_st;
	struct stamp list_st;

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
	bool kept_gone;			/* holds expunged messages still */
	struct store_view_message *msgs;
	size_t count;
};

/* ---- Stamps ---- */

static int
stamp_take(const char *path, struct stamp *st_r)
{
	struct timespec now;
	struct stat st;

	memset(st_r, 0, sizeof(*st_r));
	if (stat(path, &st) < 0)
		return -1;
	st_r->dev = st.st_dev;
	st_r->ino = st.st_ino;
	st_r->size = st.st_size;
	st_r->mtime = st.st_mtim;
	/*
	 * File systems stamp times from the coarse clock: a change made
	 * later within the same tick would keep this mtime and go
	 * unnoticed. Trust the stamp only once the clock has moved past.
	 */
	clock_gettime(CLOCK_REALTIME_COARSE, &now);
	st_r->valid = now.tv_sec > st.st_mtim.tv_sec ||
	    (now.tv_sec == st.st_mtim.tv_sec &&
	    now.tv_nsec > st.st_mtim.tv_nsec);
	return 0;
}

static bool
stamp_same(const struct stamp *a, const struct stamp *b)
{
	return a->valid && a->dev == b->dev && a->ino == b->ino &&
	    a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
	    a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static char *
index_sub(const struct store_index *ix, const char *sub)
{
	return xasprintf("%s/%s", ix->dir, sub);
}

/* The full path of m's file. */
static char *
msg_path(const struct store_index *ix, const struct index_msg *m)
{
	return xasprintf("%s/%s/%s", ix->dir, m->cur ? "cur" : "new",
	    m->name);
}

/* ---- Index life cycle ---- */

static void
index_free(struct store_index **ixp)
{
	struct store_index *ix = *ixp;
	size_t i;

	if (ix == NULL)
		return;
	for (i = 0; i < ix->count; i++)
		free(ix->msgs[i].name);
	free(ix->msgs);
	free(ix->user);
	free(ix->folder);
	free(ix->dir);
	free(ix);
	*ixp = NULL;
}

/* Unlink ix from the store's list (it stays allocated). */
static void
index_unlink(struct store *store, struct store_index *ix)
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
		index_free(&ix);
	}
}

/* The index of (user, folder), made if missing (not yet loaded), moved
 * to the front. NULL with *error_r for a bad name. */
static struct store_index *
index_get(struct store *store, const char *user, const char *folder,
    const char **error_r)
{
	struct store_index *ix = index_find(store, user, folder);
	char *dir;

	if (ix != NULL) {
		index_unlink(store, ix);
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
		index_free(&ix);
	}
	store->indexes = NULL;
}

/*
 * Run the changed callback of every view of ix but except. Callbacks
 * may refresh or free views (any of them), so the list is walked again
 * from the start after each call.
 */
static void
index_notify(struct store_index *ix, const struct store_view *except)
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
		index_free(&ix);
}

void
store_index_poke(struct store *store, const char *user, const char *folder)
{
	struct store_index *ix = index_find(store, user, folder);

	if (ix != NULL && ix->views != NULL)
		index_notify(ix, NULL);
}

void
store_index_drop(struct store *store, const char *user, const char *folder)
{
	struct store_index *ix = index_find(store, user, folder);

	if (ix == NULL)
		return;
	index_unlink(store, ix);
	ix->gone = true;
	if (ix->views == NULL && ix->busy == 0) {
		index_free(&ix);
		return;
	}
	index_notify(ix, NULL);
}

/* ---- Syncing an index with the disk ---- */

static struct index_msg *
index_lookup(struct store_index *ix, uint32_t uid)
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

	path = index_sub(ix, "new");
	if (stamp_take(path, new_r) < 0)
		ret = -1;
	free(path);
	path = index_sub(ix, "cur");
	if (ret == 0 && stamp_take(path, cur_r) < 0)
		ret = -1;
	free(path);
	if (ret < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			*error_r = error_code_fmt(ERROR_NOT_FOUND,
			    "%s: no such folder", ix->folder);
		else
			*error_r = error_fmt("%s: %s", ix->dir,
			    strerror(errno));
		return -1;
	}
	path = index_sub(ix, MAILDIR_UIDLIST_FILE);
	if (stamp_take(path, list_r) < 0)
		memset(list_r, 0, sizeof(*list_r));
	free(path);
	return 0;
}

/* Record the stamps after the store changed the folder itself (under
 * its lock, so no other mailbell writer came in between). */
static void
index_restamp(struct store_index *ix)
{
	struct stamp n, c, l;
	const char *error;

	if (index_stamps(ix, &n, &c, &l, &error) < 0)
		return;
	/* Our own change: trusted even within the clock tick; only a
	 * program that ignores the lock could slip in unseen, and its
	 * change shows at the directory's next change. */
	n.valid = c.valid = true;
	l.valid = l.ino != 0;
	ix->new_st = n;
	ix->cur_st = c;
	ix->list_st = l;
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
	struct index_msg *msgs = NULL;
	struct maildir_file *f, **from_scan = NULL;
	size_t *from_old = NULL;
	size_t i, j = 0, k = 0, matched = 0;
	bool changed = false;
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
	msgs = xreallocarray(NULL, list->count + 1, sizeof(*msgs));
	from_scan = xcalloc(list->count + 1, sizeof(*from_scan));
	from_old = xcalloc(list->count + 1, sizeof(*from_old));
	for (i = 0; i < list->count; i++) {
		struct index_msg *old = NULL, *m = &msgs[k];

		while (j < ix->count && ix->msgs[j].uid < list->uids[i]) {
			if (ix->msgs[j].cur)
				goto full;	/* cur/ lost a file */
			changed = true;		/* gone from new/ */
			j++;
		}
		if (j < ix->count && ix->msgs[j].uid == list->uids[i])
			old = &ix->msgs[j++];
		if (old != NULL && old->cur) {
			size_t blen = strlen(list->bases[i]);

			if (strncmp(old->name, list->bases[i], blen) != 0 ||
			    (old->name[blen] != '\0' &&
			    old->name[blen] != MAILDIR_INFO_SEP))
				goto full;
			*m = *old;
			m->name = NULL;		/* taken below */
			from_old[k++] = (size_t)(old - ix->msgs);
			continue;
		}
		if ((f = scan_lookup(&scan, list->bases[i])) == NULL ||
		    f->matched)
			goto full;		/* entry without a file */
		f->matched = true;
		matched++;
		from_scan[k] = f;
		memset(m, 0, sizeof(*m));
		m->uid = list->uids[i];
		m->flags = (uint8_t)maildir_name_flags(f->name);
		if (old != NULL) {
			m->have_stat = old->have_stat;
			m->size = old->size;
			m->date = old->date;
			if (old->flags != m->flags)
				changed = true;
		} else {
			changed = true;
		}
		k++;
	}
	for (; j < ix->count; j++) {
		if (ix->msgs[j].cur)
			goto full;
		changed = true;
	}
	if (matched != scan.count)
		goto full;		/* files still without a UID */

	/* Commit: move names over from the old array and the scan. */
	for (i = 0; i < k; i++) {
		if (from_scan[i] != NULL) {
			msgs[i].name = from_scan[i]->name;
			msgs[i].cur = false;
			from_scan[i]->name = NULL;
		} else {
			msgs[i].name = ix->msgs[from_old[i]].name;
			ix->msgs[from_old[i]].name = NULL;
		}
	}
	for (j = 0; j < ix->count; j++)
		free(ix->msgs[j].name);
	free(from_scan);
	free(from_old);
	free(ix->msgs);
	ix->msgs = msgs;
	ix->count = ix->cap = k;
	if (ix->uidnext != list->uidnext)
		changed = true;
	ix->uidnext = list->uidnext;
	ix->new_st = *n;
	maildir_list_release(ix->store, cache);
	maildir_scan_free(&scan);
	*changed_r = changed;
	return 1;
full:
	free(from_scan);
	free(from_old);
	free(msgs);
	maildir_list_release(ix->store, cache);
	maildir_scan_free(&scan);
	return 0;
}

/*
 * With the folder lock held: read again the directories whose stamps
 * changed and the UID list, and rebuild the message array keeping what
 * is known of unchanged messages. *changed_r tells whether any message
 * came, went or changed flags.
 */
static int
index_sync_locked(struct store_index *ix, bool force, bool *changed_r,
    const char **error_r)
{
	struct stamp n, c, l;
	struct maildir_scan scan = { 0 };
	struct index_msg *msgs;
	uint32_t uidvalidity, uidnext;
	bool scan_new, scan_cur, changed = false;
	size_t i, j;
	char *path;

	*changed_r = false;
	if (index_stamps(ix, &n, &c, &l, error_r) < 0) {
		if (error_code(*error_r) == ERROR_NOT_FOUND)
			ix->gone = ix->loaded;
		return -1;
	}
	scan_new = force || !ix->loaded || !stamp_same(&ix->new_st, &n);
	scan_cur = force || !ix->loaded || !stamp_same(&ix->cur_st, &c);
	if (!scan_new && !scan_cur && stamp_same(&ix->list_st, &l))
		return 0;
	if (!force && ix->loaded && !scan_cur) {
		int quick = index_sync_quick(ix, &n, changed_r, error_r);

		if (quick < 0)
			return -1;
		if (quick > 0) {
			path = index_sub(ix, MAILDIR_UIDLIST_FILE);
			if (stamp_take(path, &ix->list_st) < 0)
				memset(&ix->list_st, 0, sizeof(ix->list_st));
			free(path);
			if (*changed_r)
				ix->modseq++;
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

	if (ix->loaded && uidvalidity != ix->uidvalidity) {
		/* Rebuilt list: nothing known carries over. */
		for (i = 0; i < ix->count; i++)
			free(ix->msgs[i].name);
		ix->count = 0;
		changed = true;
	}
	msgs = xreallocarray(NULL, scan.count + 1, sizeof(*msgs));
	for (i = 0, j = 0; i < scan.count; i++) {
		struct maildir_file *f = &scan.files[i];
		struct index_msg *m = &msgs[i];

		while (j < ix->count && ix->msgs[j].uid < f->uid) {
			changed = true;		/* expunged */
			free(ix->msgs[j++].name);
		}
		memset(m, 0, sizeof(*m));
		m->uid = f->uid;
		m->cur = f->cur;
		m->flags = (uint8_t)maildir_name_flags(f->name);
		m->name = f->name;
		f->name = NULL;
		if (j < ix->count && ix->msgs[j].uid == f->uid) {
			struct index_msg *old = &ix->msgs[j++];

			if (old->flags != m->flags)
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
	ix->count = ix->cap = scan.count;
	maildir_scan_free(&scan);
	if (ix->uidnext != uidnext || ix->uidvalidity != uidvalidity)
		changed = true;
	ix->uidvalidity = uidvalidity;
	ix->uidnext = uidnext;

	/* new/ and cur/ as they were before reading them; the list as it
	 * is now (the sync may have rewritten it). */
	if (scan_new)
		ix->new_st = n;
	if (scan_cur)
		ix->cur_st = c;
	path = index_sub(ix, MAILDIR_UIDLIST_FILE);
	if (stamp_take(path, &ix->list_st) < 0)
		memset(&ix->list_st, 0, sizeof(ix->list_st));
	free(path);
	ix->loaded = true;
	if (changed)
		ix->modseq++;
	*changed_r = changed;
	return 0;
}

/* Sync ix: three stats when nothing changed, else under the lock. */
static int
index_sync(struct store_index *ix, bool force, bool *changed_r,
    const char **error_r)
{
	struct stamp n, c, l;
	struct stat st;
	int lock_fd, ret;

	*changed_r = false;
	if (ix->gone) {
		*error_r = error_code_fmt(ERROR_NOT_FOUND,
		    "%s: folder was deleted or renamed", ix->folder);
		return -1;
	}
	if (!force && ix->loaded && index_stamps(ix, &n, &c, &l,
	    error_r) == 0 && stamp_same(&ix->new_st, &n) &&
	    stamp_same(&ix->cur_st, &c) && stamp_same(&ix->list_st, &l))
		return 0;
	if (stat(ix->dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		ix->gone = ix->loaded;
		*error_r = error_code_fmt(ERROR_NOT_FOUND,
		    "%s: no such folder", ix->folder);
		return -1;
	}
	if ((lock_fd = maildir_uidlist_lock(ix->dir, error_r)) < 0)
		return -1;
	ret = index_sync_locked(ix, force, changed_r, error_r);
	maildir_uidlist_unlock(&lock_fd);
	return ret;
}

/* ---- Views ---- */

static void
view_fill(struct store_view *v)
{
	struct store_index *ix = v->index;
	size_t i;

	free(v->msgs);
	v->msgs = xreallocarray(NULL, ix->count + 1, sizeof(*v->msgs));
	for (i = 0; i < ix->count; i++) {
		v->msgs[i].uid = ix->msgs[i].uid;
		v->msgs[i].flags = ix->msgs[i].flags;
	}
	v->count = ix->count;
	v->uidvalidity = ix->uidvalidity;
	v->uidnext = ix->uidnext;
	v->modseq = ix->modseq;
}


/* The index of (user, folder), brought up to date with the disk;
 * *changed_r says whether the sync found changes. A folder that turns
 * out to be missing leaves no index behind. NULL with *error_r set on
 * failure. */
static struct store_index *
index_get_synced(struct store *store, const char *user, const char *folder,
    bool *changed_r, const char **error_r)
{
	struct store_index *ix;

	if ((ix = index_get(store, user, folder, error_r)) == NULL)
		return NULL;
	if (index_sync(ix, false, changed_r, error_r) < 0) {
		if (ix->gone || !ix->loaded) {
			/* Do not keep an index of a missing folder. */
			index_unlink(store, ix);
			ix->gone = true;
			if (ix->views == NULL && ix->busy == 0)
				index_free(&ix);
		}
		return NULL;
	}
	return ix;
}

int
store_view_open(struct store *store, const char *user, const char *folder,
    struct store_view **view_r, const char **error_r)
{
	struct store_index *ix;
	struct store_view *v;
	bool changed;

	if ((ix = index_get_synced(store, user, folder, &changed,
	    error_r)) == NULL)
		return -1;
	v = xcalloc(1, sizeof(*v));
	v->index = ix;
	view_fill(v);
	v->next = ix->views;
	ix->views = v;
	if (changed)
		index_notify(ix, v);
	*view_r = v;
	return 0;
}

void
store_view_free(struct store_view **viewp)
{
	struct store_view *v = *viewp, **pp;
	struct store_index *ix;

	if (v == NULL)
		return;
	ix = v->index;
	for (pp = &ix->views; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == v) {
			*pp = v->next;
			break;
		}
	}
	free(v->msgs);
	free(v);
	*viewp = NULL;
	if (ix->gone && ix->views == NULL && ix->busy == 0)
		index_free(&ix);
}

void
store_view_set_changed_cb(struct store_view *view, store_view_changed_cb *cb,
    void *ctx)
{
	view->changed_cb = cb;
	view->ctx = ctx;
}

const char *
store_view_user(const struct store_view *view)
{
	return view->index->user;
}

const char *
store_view_folder(const struct store_view *view)
{
	return view->index->folder;
}

uint32_t
store_view_uidvalidity(const struct store_view *view)
{
	return view->uidvalidity;
}

uint32_t
store_view_uidnext(const struct store_view *view)
{
	return view->uidnext;
}

uint32_t
store_view_count(const struct store_view *view)
{
	return (uint32_t)view->count;
}

const struct store_view_message *
store_view_messages(const struct store_view *view)
{
	return view->msgs;
}

uint32_t
store_view_seq(const struct store_view *view, uint32_t uid)
{
	size_t lo = 0, hi = view->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (view->msgs[mid].uid == uid)
			return (uint32_t)mid + 1;
		if (view->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

int
store_view_refresh(struct store_view *view, bool expunge,
    const struct store_view_refresh_cbs *cbs, void *ctx,
    const char **error_r)
{
	static const struct store_view_refresh_cbs none;
	struct store_index *ix = view->index;
	struct store_view_message *out;
	size_t i = 0, j = 0, n = 0, old_count, added = 0;
	uint32_t last_uid;
	bool changed;

	if (cbs == NULL)
		cbs = &none;
	if (index_sync(ix, false, &changed, error_r) < 0)
		return -1;
	if (ix->uidvalidity != view->uidvalidity) {
		*error_r = error_code_fmt(ERROR_UIDVALIDITY,
		    "%s: UIDVALIDITY changed", ix->folder);
		return -1;
	}
	if (changed)
		index_notify(ix, view);
	if (view->modseq == ix->modseq && !(expunge && view->kept_gone))
		return 0;

	/* Merge by UID, reporting in ascending order so that each
	 * sequence number is the one the client holds at that moment. */
	old_count = view->count;
	view->kept_gone = false;
	last_uid = old_count > 0 ? view->msgs[old_count - 1].uid : 0;
	out = xreallocarray(NULL, old_count + ix->count + 1, sizeof(*out));
	while (i < old_count) {
		struct store_view_message *vm = &view->msgs[i];

		while (j < ix->count && ix->msgs[j].uid < vm->uid)
			j++;
		if (j < ix->count && ix->msgs[j].uid == vm->uid) {
			out[n] = *vm;
			if (ix->msgs[j].flags != vm->flags) {
				out[n].flags = ix->msgs[j].flags;
				if (cbs->flags != NULL)
					cbs->flags((uint32_t)n + 1, vm->uid,
					    out[n].flags, ctx);
			}
			n++;
		} else if (expunge) {
			if (cbs->expunge != NULL)
				cbs->expunge((uint32_t)n + 1, vm->uid, ctx);
		} else {
			out[n++] = *vm;
			view->kept_gone = true;
		}
		i++;
	}
	for (; j < ix->count; j++) {
		if (ix->msgs[j].uid <= last_uid)
			continue;
		out[n].uid = ix->msgs[j].uid;
		out[n].flags = ix->msgs[j].flags;
		n++;
		added++;
	}
	free(view->msgs);
	view->msgs = out;
	view->uidnext = ix->uidnext;
	view->modseq = ix->modseq;
	view->count = n;
	if (added > 0 && cbs->exists != NULL)
		cbs->exists((uint32_t)n, ctx);
	return 0;
}

/* ---- Reading messages ---- */

/* ix's entry for uid, after one sync if it is missing or its file is
 * (force: even if the stamps look the same). */
static struct index_msg *
msg_find(struct store_index *ix, uint32_t uid, const char **error_r)
{
	struct index_msg *m;
	bool changed;

	if (index_sync(ix, false, &changed, error_r) < 0)
		return NULL;
	if (changed)
		index_notify(ix, NULL);
	if ((m = index_lookup(ix, uid)) == NULL) {
		*error_r = error_code_fmt(ERROR_EXPUNGED,
		    "message %u is expunged", (unsigned)uid);
		return NULL;
	}
	return m;
}

/* Open m's file; if it moved, sync once (forced) and try again. */
static int
msg_open(struct store_index *ix, uint32_t uid, int *fd_r, char **path_r,
    const char **error_r)
{
	struct index_msg *m;
	bool changed;
	char *path;
	int tries, fd;

	for (tries = 0; tries < 2; tries++) {
		if ((m = msg_find(ix, uid, error_r)) == NULL)
			return -1;
		path = msg_path(ix, m);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
			if (fd_r != NULL)
				*fd_r = fd;
			else
				close(fd);
			if (path_r != NULL)
				*path_r = path;
			else
				free(path);
			return 0;
		}
		if (errno != ENOENT) {
			*error_r = error_fmt("%s: %s", path,
			    strerror(errno));
			free(path);
			return -1;
		}
		free(path);
		if (index_sync(ix, true, &changed, error_r) < 0)
			return -1;
		if (changed)
			index_notify(ix, NULL);
	}
	*error_r = error_code_fmt(ERROR_EXPUNGED,
	    "message %u is expunged", (unsigned)uid);
	return -1;
}

int
store_view_message_path(struct store_view *view, uint32_t uid,
    char **path_r, const char **error_r)
{
	return msg_open(view->index, uid, NULL, path_r, error_r);
}

int
store_view_message_open(struct store_view *view, uint32_t uid, int *fd_r,
    const char **error_r)
{
	return msg_open(view->index, uid, fd_r, NULL, error_r);
}

int
store_view_message_info(struct store_view *view, uint32_t uid,
    struct store_message_info *info_r, const char **error_r)
{
	struct store_index *ix = view->index;
	struct index_msg *m;
	struct stat st;
	uint64_t size;
	int fd;

	if ((m = index_lookup(ix, uid)) == NULL || !m->have_stat) {
		if (msg_open(ix, uid, &fd, NULL, error_r) < 0)
			return -1;
		m = index_lookup(ix, uid);
		/* RFC822.SIZE is the size as sent, with CRLF line ends:
		 * the name's W= if it has one (mailbell's files, Dovecot's),
		 * else counted from the file once and kept in the index. */
		if (fstat(fd, &st) < 0 || m == NULL ||
		    (!maildir_name_crlf_size(m->name, &size) &&
		    maildir_fd_crlf_size(fd, &size) < 0)) {
			*error_r = error_fmt("message %u: %s", (unsigned)uid,
			    m == NULL ? "expunged" : strerror(errno));
			close(fd);
			return -1;
		}
		close(fd);
		m->size = size;
		m->date = (int64_t)st.st_mtim.tv_sec;
		m->have_stat = true;
	}
	info_r->uid = m->uid;
	info_r->flags = m->flags;
	info_r->size = m->size;
	info_r->internal_date = m->date;
	return 0;
}

/* ---- Changing messages ---- */

static int
uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* uids sorted without duplicates (malloc'd). */
static uint32_t *
uids_sorted(const uint32_t *uids, size_t count, size_t *count_r)
{
	uint32_t *out = xreallocarray(NULL, count + 1, sizeof(*out));
	size_t i, n = 0;

	if (count > 0)
		memcpy(out, uids, count * sizeof(*out));
	qsort(out, count, sizeof(*out), uid_cmp);
	for (i = 0; i < count; i++) {
		if (n == 0 || out[n - 1] != out[i])
			out[n++] = out[i];
	}
	*count_r = n;
	return out;
}

/* Lock ix's folder and bring the index up to date under the lock. */
static int
op_begin(struct store_index *ix, int *lock_fd_r, bool *changed_r,
    const char **error_r)
{
	struct stat st;

	*changed_r = false;
	if (ix->gone || stat(ix->dir, &st) < 0) {
		ix->gone = ix->loaded;
		*error_r = error_code_fmt(ERROR_NOT_FOUND,
		    "%s: no such folder", ix->folder);
		return -1;
	}
	if ((*lock_fd_r = maildir_uidlist_lock(ix->dir, error_r)) < 0)
		return -1;
	if (index_sync_locked(ix, false, changed_r, error_r) < 0) {
		maildir_uidlist_unlock(lock_fd_r);
		return -1;
	}
	return 0;
}

/* fsync ix's new/ and cur/ as touched. 0 or -1 with *error_r. */
static int
op_fsync(struct store_index *ix, bool new_dir, bool cur_dir,
    const char **error_r)
{
	char *path;
	int ret = 0;

	if (new_dir) {
		path = index_sub(ix, "new");
		if (fsync_dir(path) < 0) {
			*error_r = error_fmt("%s: %s", path,
			    strerror(errno));
			ret = -1;
		}
		free(path);
	}
	if (cur_dir && ret == 0) {
		path = index_sub(ix, "cur");
		if (fsync_dir(path) < 0) {
			*error_r = error_fmt("%s: %s", path,
			    strerror(errno));
			ret = -1;
		}
		free(path);
	}
	return ret;
}

/* A flag change for the events: which bits one message gained or lost. */
struct flag_change {
	unsigned bits;
	uint32_t uid;
};

static int
flag_change_cmp(const void *a, const void *b)
{
	const struct flag_change *x = a, *y = b;

	if (x->bits != y->bits)
		return x->bits < y->bits ? -1 : 1;
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* Announce changes (n of them) as one event per set of bits. */
static void
announce_flags(struct store_index *ix, enum store_event_type type,
    struct flag_change *changes, size_t n)
{
	uint32_t *uids;
	size_t i, start;

	if (n == 0)
		return;
	qsort(changes, n, sizeof(*changes), flag_change_cmp);
	uids = xreallocarray(NULL, n, sizeof(*uids));
	for (i = 0; i < n; i++)
		uids[i] = changes[i].uid;
	for (start = 0, i = 1; i <= n; i++) {
		if (i < n && changes[i].bits == changes[start].bits)
			continue;
		store_announce_event(ix->store, ix->user, ix->folder,
		    ix->uidvalidity, type, uids + start, i - start,
		    changes[start].bits);
		start = i;
	}
	free(uids);
}

int
store_view_set_flags(struct store_view *view, const uint32_t *uids,
    size_t count, enum store_flags_mode mode, unsigned flags,
    const char **error_r)
{
	struct store_index *ix = view->index;
	struct flag_change *set, *clear;
	uint32_t *todo, *retry;
	size_t n, nretry = 0, nset = 0, nclear = 0, nown = 0, i, pass;
	bool changed, sync_changed, from_new = false, touched = false;
	const char *error = NULL;
	int lock_fd, ret = 0;

	flags &= STORE_FLAG_DRAFT | STORE_FLAG_FLAGGED | STORE_FLAG_PASSED |
	    STORE_FLAG_REPLIED | STORE_FLAG_SEEN | STORE_FLAG_TRASHED;
	todo = uids_sorted(uids, count, &n);
	if (op_begin(ix, &lock_fd, &changed, error_r) < 0) {
		free(todo);
		return -1;
	}
	set = xcalloc(n + 1, sizeof(*set));
	clear = xcalloc(n + 1, sizeof(*clear));
	retry = xcalloc(n + 1, sizeof(*retry));
	for (pass = 0; pass < 2; pass++) {
		const uint32_t *list = pass == 0 ? todo : retry;
		size_t count_now = pass == 0 ? n : nretry;

		for (i = 0; i < count_now; i++) {
			struct index_msg *m = index_lookup(ix, list[i]);
			unsigned nf;
			char *name, *from, *to;

			if (m == NULL)
				continue;
			nf = mode == STORE_FLAGS_REPLACE ? flags :
			    mode == STORE_FLAGS_ADD ? m->flags | flags :
			    m->flags & ~flags;
			if (nf == m->flags)
				continue;
			name = maildir_name_set_flags(m->name, nf);
			from = msg_path(ix, m);
			to = xasprintf("%s/cur/%s", ix->dir, name);
			if (nown < OWN_NAMES_PER_CALL) {
				store_own_name_add(ix->store, to);
				nown++;
			}
			if (rename(from, to) < 0) {
				int saved = errno;

				(void)store_own_name_take(ix->store, to);
				if (saved == ENOENT && pass == 0) {
					retry[nretry++] = list[i];
				} else if (saved != ENOENT) {
					error = error_fmt("%s: %s", from,
					    strerror(saved));
					ret = -1;
				}
				free(name);
				free(from);
				free(to);
				continue;
			}
			free(from);
			free(to);
			if (!m->cur)
				from_new = true;
			touched = true;
			if ((nf & ~m->flags) != 0) {
				set[nset].bits = nf & ~m->flags;
				set[nset++].uid = m->uid;
			}
			if ((m->flags & ~nf) != 0) {
				clear[nclear].bits = m->flags & ~nf;
				clear[nclear++].uid = m->uid;
			}
			free(m->name);
			m->name = name;
			m->cur = true;
			m->flags = (uint8_t)nf;
		}
		if (pass > 0 || nretry == 0)
			break;
		/* Renamed by another program meanwhile: read cur/ again. */
		if (index_sync_locked(ix, true, &sync_changed, error_r) < 0) {
			ret = -1;
			error = *error_r;
			break;
		}
		changed = changed || sync_changed;
	}
	if (touched && op_fsync(ix, from_new, true, &error) < 0)
		ret = -1;
	if (touched) {
		index_restamp(ix);
		ix->modseq++;
	}
	maildir_uidlist_unlock(&lock_fd);

	/* The view's own change is in its array at once (STORE's FETCH
	 * responses); the other views hear of it. */
	for (i = 0; i < n; i++) {
		uint32_t seq = store_view_seq(view, todo[i]);
		struct index_msg *m = index_lookup(ix, todo[i]);

		if (seq > 0 && m != NULL)
			view->msgs[seq - 1].flags = m->flags;
	}
	if (touched || changed)
		index_notify(ix, view);
	announce_flags(ix, STORE_EVENT_FLAGS_SET, set, nset);
	announce_flags(ix, STORE_EVENT_FLAGS_CLEAR, clear, nclear);
	free(set);
	free(clear);
	free(retry);
	free(todo);
	if (ret < 0)
		*error_r = error;
	return ret;
}

/* Drop the messages of removed (ascending) from ix's array. */
static void
index_remove(struct store_index *ix, const uint32_t *removed, size_t count)
{
	size_t i, j = 0, k = 0;

	for (i = 0; i < ix->count; i++) {
		while (k < count && removed[k] < ix->msgs[i].uid)
			k++;
		if (k < count && removed[k] == ix->msgs[i].uid) {
			free(ix->msgs[i].name);
			continue;
		}
		ix->msgs[j++] = ix->msgs[i];
	}
	ix->count = j;
}

int
store_view_expunge(struct store_view *view, const uint32_t *uids,
    size_t count, bool deleted_only, const char **error_r)
{
	struct store_index *ix = view->index;
	uint32_t *todo, *retry, *removed;
	size_t n, nretry = 0, nremoved = 0, i, pass;
	bool changed, sync_changed, in_new = false, in_cur = false;
	const char *error = NULL;
	int lock_fd, ret = 0;

	if (op_begin(ix, &lock_fd, &changed, error_r) < 0)
		return -1;
	if (uids == NULL) {
		todo = xreallocarray(NULL, ix->count + 1, sizeof(*todo));
		for (i = 0; i < ix->count; i++)
			todo[i] = ix->msgs[i].uid;
		n = ix->count;
	} else {
		todo = uids_sorted(uids, count, &n);
	}
	retry = xcalloc(n + 1, sizeof(*retry));
	removed = xcalloc(n + 1, sizeof(*removed));
	for (pass = 0; pass < 2; pass++) {
		const uint32_t *list = pass == 0 ? todo : retry;
		size_t count_now = pass == 0 ? n : nretry;

		for (i = 0; i < count_now; i++) {
			struct index_msg *m = index_lookup(ix, list[i]);
			char *path;

			if (m == NULL || (deleted_only &&
			    (m->flags & STORE_FLAG_TRASHED) == 0))
				continue;
			path = msg_path(ix, m);
			if (unlink(path) < 0) {
				if (errno == ENOENT && pass == 0) {
					retry[nretry++] = list[i];
				} else if (errno != ENOENT) {
					error = error_fmt("%s: %s", path,
					    strerror(errno));
					ret = -1;
				}
				free(path);
				continue;
			}
			free(path);
			if (m->cur)
				in_cur = true;
			else
				in_new = true;
			removed[nremoved++] = m->uid;
		}
		if (pass > 0 || nretry == 0)
			break;
		if (index_sync_locked(ix, true, &sync_changed, error_r) < 0) {
			ret = -1;
			error = *error_r;
			break;
		}
		changed = changed || sync_changed;
	}
	if (nremoved > 0) {
		qsort(removed, nremoved, sizeof(*removed), uid_cmp);
		/* Files first, then the list: a crash in between leaves
		 * entries the next sync drops, never a message that comes
		 * back under a new UID. */
		if (op_fsync(ix, in_new, in_cur, &error) < 0 ||
		    maildir_list_remove(ix->store, ix->dir, removed, nremoved,
		    &error) < 0)
			ret = -1;
		index_remove(ix, removed, nremoved);
		index_restamp(ix);
		ix->modseq++;
	}
	maildir_uidlist_unlock(&lock_fd);
	if (nremoved > 0 || changed)
		index_notify(ix, view);
	if (nremoved > 0)
		store_announce_event(ix->store, ix->user, ix->folder,
		    ix->uidvalidity, STORE_EVENT_MESSAGE_EXPUNGE, removed,
		    nremoved, 0);
	free(removed);
	free(retry);
	free(todo);
	if (ret < 0)
		*error_r = error;
	return ret;
}

void
store_uid_map_free(struct store_uid_map **mapp)
{
	struct store_uid_map *map = *mapp;

	if (map == NULL)
		return;
	free(map->src_uids);
	free(map->dest_uids);
	free(map);
	*mapp = NULL;
}

static unsigned long long
name_seq(struct store *store)
{
	unsigned long long seq;

	pthread_mutex_lock(&store->lock);
	seq = ++store->name_seq;
	pthread_mutex_unlock(&store->lock);
	return seq;
}

/* The destination folder's directory, if it exists. */
static int
dest_dir(struct store *store, const char *user, const char *folder,
    char **dir_r, const char **error_r)
{
	struct stat st;
	char *cur;

	if (maildir_folder_dir(store, user, folder, dir_r, error_r) < 0)
		return -1;
	cur = xasprintf("%s/cur", *dir_r);
	if (stat(cur, &st) < 0 || !S_ISDIR(st.st_mode)) {
		*error_r = error_code_fmt(ERROR_NOT_FOUND,
		    "%s: no such folder", folder);
		free(cur);
		free(*dir_r);
		*dir_r = NULL;
		return -1;
	}
	free(cur);
	return 0;
}

/* The S= and W= of a copy of m (whose file is at path): from m's name,
 * else from the file (counted once: the index keeps the CRLF size). */
static void
copy_sizes(struct index_msg *m, const char *path, uint64_t *size_r,
    uint64_t *crlf_size_r)
{
	struct stat st;
	size_t size;
	int fd;

	*size_r = *crlf_size_r = 0;
	if (maildir_name_size(m->name, &size))
		*size_r = size;
	if (maildir_name_crlf_size(m->name, crlf_size_r) && *size_r > 0)
		return;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	if (*size_r == 0 && fstat(fd, &st) == 0)
		*size_r = (uint64_t)st.st_size;
	if (m->have_stat)
		*crlf_size_r = m->size;
	else if (maildir_fd_crlf_size(fd, crlf_size_r) == 0) {
		m->size = *crlf_size_r;
		m->date = fstat(fd, &st) == 0 ?
		    (int64_t)st.st_mtim.tv_sec : 0;
		m->have_stat = true;
	}
	close(fd);
}

/* Copy src to a new file tmp (another file system: no hard link). */
static int
copy_file(const char *src, const char *tmp)
{
	char *data;
	size_t len;
	int fd, saved;

	if (read_file(src, SIZE_MAX / 2, &data, &len) < 0)
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) < 0) {
		saved = errno;
		free(data);
		errno = saved;
		return -1;
	}
	if (write_full(fd, data, len) < 0 || fsync(fd) < 0) {
		saved = errno;
		close(fd);
		(void)unlink(tmp);
		free(data);
		errno = saved;
		return -1;
	}
	free(data);
	return close(fd);
}

/* Remove messages just committed to dir again (a COPY that failed in
 * part must leave the target as it was). */
static void
dest_undo(struct store *store, const char *dir,
    struct maildir_commit_item *items, size_t count)
{
	uint32_t *uids = xcalloc(count + 1, sizeof(*uids));
	const char *error;
	char path[PATH_MAX];
	size_t i, n = 0;
	int lock_fd;

	if ((lock_fd = maildir_uidlist_lock(dir, &error)) < 0) {
		log_warnx("%s", error);
		free(uids);
		return;
	}
	for (i = 0; i < count; i++) {
		if (items[i].status != 0)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/cur/%s", dir,
		    items[i].cur_name) < sizeof(path))
			(void)unlink(path);
		uids[n++] = items[i].uid;
	}
	qsort(uids, n, sizeof(*uids), uid_cmp);
	if (maildir_list_remove(store, dir, uids, n, &error) < 0)
		log_warnx("%s", error);
	maildir_uidlist_unlock(&lock_fd);
	free(uids);
}

int
store_view_copy(struct store_view *view, const uint32_t *uids, size_t count,
    const char *dest, struct store_uid_map **map_r, const char **error_r)
{
	struct store_index *ix = view->index;
	struct store *store = ix->store;
	struct maildir_commit_item *items = NULL;
	struct store_uid_map *map;
	uint32_t *todo, *src = NULL, uidvalidity = 0;
	char *dir = NULL, base[NAME_MAX + 1];
	size_t n, k = 0, i, committed;
	const char *error = NULL;
	bool changed, failed = false;
	struct timeval tv;
	int ret = -1;

	if (dest_dir(store, ix->user, dest, &dir, error_r) < 0)
		return -1;
	if (index_sync(ix, false, &changed, error_r) < 0) {
		free(dir);
		return -1;
	}
	if (changed)
		index_notify(ix, view);
	todo = uids_sorted(uids, count, &n);
	items = xcalloc(n + 1, sizeof(*items));
	src = xcalloc(n + 1, sizeof(*src));
	for (i = 0; i < n; i++) {
		struct index_msg *m;
		char *from, *tmp;
		size_t blen;
		uint64_t size, crlf_size;
		int tries;

		for (tries = 0; tries < 2; tries++) {
			if ((m = index_lookup(ix, todo[i])) == NULL)
				break;
			from = msg_path(ix, m);
			copy_sizes(m, from, &size, &crlf_size);
			gettimeofday(&tv, NULL);
			if (maildir_name_format(base, sizeof(base),
			    (long long)tv.tv_sec, (long)tv.tv_usec, getpid(),
			    name_seq(store), store->host, size,
			    crlf_size) < 0) {
				error = error_fmt("%s: file name too long",
				    dir);
				free(from);
				failed = true;
				break;
			}
			tmp = xasprintf("%s/tmp/%s", dir, base);
			if (link(from, tmp) == 0 || (errno == EXDEV &&
			    copy_file(from, tmp) == 0)) {
				blen = maildir_name_base_len(m->name);
				items[k].tmp_path = tmp;
				items[k].base = xstrdup(base);
				items[k].cur_name = m->name[blen] != '\0' ?
				    xasprintf("%s%s", base, m->name + blen) :
				    xasprintf("%s" MAILDIR_INFO_PREFIX, base);
				items[k].synced = true;
				src[k++] = m->uid;
				free(from);
				break;
			}
			if (errno != ENOENT || tries > 0) {
				error = error_fmt("%s: %s", from,
				    strerror(errno));
				failed = errno != ENOENT;
				free(from);
				free(tmp);
				break;
			}
			free(from);
			free(tmp);
			/* Renamed meanwhile: look again, once. */
			if (index_sync(ix, true, &changed, error_r) < 0) {
				error = *error_r;
				failed = true;
				break;
			}
		}
		if (failed)
			break;
	}
	if (failed) {
		for (i = 0; i < k; i++)
			(void)unlink(items[i].tmp_path);
		goto out;
	}
	committed = k > 0 ? maildir_commit(store, dir, items, k,
	    &uidvalidity) : 0;
	if (committed < k) {
		for (i = 0; i < k; i++) {
			if (items[i].status != 0) {
				error = error_fmt("%s", items[i].error);
				break;
			}
		}
		if (committed > 0)
			dest_undo(store, dir, items, k);
		goto out;
	}
	map = xcalloc(1, sizeof(*map));
	map->uidvalidity = uidvalidity;
	map->count = k;
	map->src_uids = src;
	map->dest_uids = xcalloc(k + 1, sizeof(*map->dest_uids));
	for (i = 0; i < k; i++)
		map->dest_uids[i] = items[i].uid;
	src = NULL;
	*map_r = map;
	ret = 0;
	if (k > 0) {
		store_index_poke(store, ix->user, dest);
		store_announce_event(store, ix->user, dest, uidvalidity,
		    STORE_EVENT_MESSAGE_APPEND, map->dest_uids, k, 0);
	}
out:
	for (i = 0; i < k; i++) {
		free((char *)items[i].tmp_path);
		free((char *)items[i].base);
		free((char *)items[i].cur_name);
	}
	free(items);
	free(src);
	free(todo);
	free(dir);
	if (ret < 0)
		*error_r = error != NULL ? error : error_fmt("copy failed");
	return ret;
}

int
store_view_move(struct store_view *view, const uint32_t *uids, size_t count,
    const char *dest, struct store_uid_map **map_r, const char **error_r)
{
	struct store_uid_map *map;

	if (store_view_copy(view, uids, count, dest, &map, error_r) < 0)
		return -1;
	if (map->count > 0 && store_view_expunge(view, map->src_uids,
	    map->count, false, error_r) < 0) {
		store_uid_map_free(&map);
		return -1;
	}
	*map_r = map;
	return 0;
}

int
store_append(struct store *store, const char *user, const char *folder,
    const unsigned char *body, size_t len, unsigned flags,
    int64_t internal_date, uint32_t *uidvalidity_r, uint32_t *uid_r,
    const char **error_r)
{
	struct maildir_commit_item item;
	struct timespec ts[2];
	char *dir, *tmp, *base, *cur_name = NULL;
	uint32_t uidvalidity = 0;
	int ret = -1;

	if (dest_dir(store, user, folder, &dir, error_r) < 0)
		return -1;
	if (maildir_write_tmp(store, dir, "", body, len, false, &tmp, &base,
	    error_r) < 0) {
		free(dir);
		return -1;
	}
	if (internal_date > 0) {
		ts[0].tv_sec = ts[1].tv_sec = (time_t)internal_date;
		ts[0].tv_nsec = ts[1].tv_nsec = 0;
		if (utimensat(AT_FDCWD, tmp, ts, 0) < 0) {
			*error_r = error_fmt("%s: %s", tmp, strerror(errno));
			(void)unlink(tmp);
			goto out;
		}
	}
	memset(&item, 0, sizeof(item));
	item.tmp_path = tmp;
	item.base = base;
	if (flags != 0)
		item.cur_name = cur_name = maildir_name_set_flags(base, flags);
	if (maildir_commit(store, dir, &item, 1, &uidvalidity) != 1) {
		*error_r = error_fmt("%s", item.error);
		goto out;
	}
	*uidvalidity_r = uidvalidity;
	*uid_r = item.uid;
	store_index_poke(store, user, folder);
	store_announce_event(store, user, folder, uidvalidity,
	    STORE_EVENT_MESSAGE_APPEND, &item.uid, 1, 0);
	ret = 0;
out:
	free(cur_name);
	free(tmp);
	free(base);
	free(dir);
	return ret;
}

int
store_folder_status(struct store *store, const char *user,
    const char *folder, struct store_status *status_r, const char **error_r)
{
	struct store_index *ix;
	bool changed;
	size_t i;

	if ((ix = index_get_synced(store, user, folder, &changed,
	    error_r)) == NULL)
		return -1;
	if (changed)
		index_notify(ix, NULL);
	memset(status_r, 0, sizeof(*status_r));
	status_r->messages = (uint32_t)ix->count;
	status_r->uidnext = ix->uidnext;
	status_r->uidvalidity = ix->uidvalidity;
	for (i = 0; i < ix->count; i++) {
		if ((ix->msgs[i].flags & STORE_FLAG_SEEN) == 0)
			status_r->unseen++;
	}
	return 0;
}
