/*
 * The message operations IMAP performs through a view: flags, expunge
 * and append (copy and move are in store-copy.c), each under the
 * folder's lock, durable before it returns, and told to the folder's
 * other views and the event subscribers.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/limits.h"
#include "lib/xmalloc.h"
#include "store/maildir-flags.h"
#include "store/maildir-uidlist.h"
#include "store/maildir.h"
#include "store/store-index-private.h"
#include "store/store-private.h"

/* Renames of one call beyond this are not registered with the watcher:
 * registering is linear in STORE_OWN_NAMES_MAX, and a missed one costs
 * only a background folder sync. */
#define OWN_NAMES_PER_CALL 64

/* ---- Changing messages ---- */

int
store_uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

uint32_t *
store_uids_sorted(const uint32_t *uids, size_t count, size_t *count_r)
{
	uint32_t *out = xreallocarray(NULL, count + 1, sizeof(*out));
	size_t i, n = 0;

	if (count > 0)
		memcpy(out, uids, count * sizeof(*out));
	qsort(out, count, sizeof(*out), store_uid_cmp);
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
	if (store_index_sync_locked(ix, false, changed_r, error_r) < 0) {
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
		path = store_index_sub(ix, "new");
		if (fsync_dir(path) < 0) {
			*error_r = error_errno(path, errno);
			ret = -1;
		}
		free(path);
	}
	if (cur_dir && ret == 0) {
		path = store_index_sub(ix, "cur");
		if (fsync_dir(path) < 0) {
			*error_r = error_errno(path, errno);
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

/* One store_view_set_flags() call as it goes. */
struct flags_op {
	struct store_index *ix;
	enum store_flags_mode mode;
	unsigned flags;
	uint32_t keywords;		/* keyword bits in the same mode */
	struct flag_change *set;	/* bits gained, for FlagsSet */
	struct flag_change *clear;	/* bits lost, for FlagsClear */
	size_t nset, nclear;
	size_t nown;			/* renames registered with the
					   watcher */
	uint32_t *retry;		/* renamed away meanwhile */
	size_t nretry;
	uint32_t *modified;		/* changed after UNCHANGEDSINCE:
					   left alone */
	size_t nmodified;
	bool from_new;			/* a file left new/ */
	bool touched;			/* a file was renamed */
	const char *error;
	int ret;
};

/* Rename message uid's file for its new flags; on the first pass a file
 * renamed by another program meanwhile is kept for a retry. */
static void
flags_apply(struct flags_op *op, uint32_t uid, bool first_pass)
{
	struct store_index *ix = op->ix;
	struct index_msg *m = store_index_lookup(ix, uid);
	unsigned nf;
	uint32_t nk;
	char *name, *from, *to;

	if (m == NULL)
		return;
	nf = op->mode == STORE_FLAGS_REPLACE ? op->flags :
	    op->mode == STORE_FLAGS_ADD ? m->flags | op->flags :
	    m->flags & ~op->flags;
	nk = op->mode == STORE_FLAGS_REPLACE ? op->keywords :
	    op->mode == STORE_FLAGS_ADD ? m->keywords | op->keywords :
	    m->keywords & ~op->keywords;
	if (nf == m->flags && nk == m->keywords)
		return;
	name = maildir_name_set_info(m->name, nf, nk);
	from = store_index_msg_path(ix, m);
	to = xasprintf("%s/cur/%s", ix->dir, name);
	if (op->nown < OWN_NAMES_PER_CALL) {
		store_own_name_add(ix->store, to);
		op->nown++;
	}
	if (rename(from, to) < 0) {
		int saved = errno;

		(void)store_own_name_take(ix->store, to);
		if (saved == ENOENT && first_pass) {
			op->retry[op->nretry++] = uid;
		} else if (saved != ENOENT) {
			op->error = error_errno(from, saved);
			op->ret = -1;
		}
		free(name);
		free(from);
		free(to);
		return;
	}
	free(from);
	free(to);
	if (!m->cur)
		op->from_new = true;
	op->touched = true;
	if ((nf & ~m->flags) != 0) {
		op->set[op->nset].bits = nf & ~m->flags;
		op->set[op->nset++].uid = m->uid;
	}
	if ((m->flags & ~nf) != 0) {
		op->clear[op->nclear].bits = m->flags & ~nf;
		op->clear[op->nclear++].uid = m->uid;
	}
	free(m->name);
	m->name = name;
	m->cur = true;
	m->flags = (uint8_t)nf;
	m->keywords = nk;
}

/* With the folder locked: the keyword bits of names for op's mode
 * (REMOVE: only those the folder knows; else numbering new ones).
 * 0 or -1. */
static int
flags_keywords(struct flags_op *op, const char *const *names, size_t count,
    const char **error_r)
{
	size_t i;
	int idx;

	if (op->mode != STORE_FLAGS_REMOVE)
		return store_index_keywords_add(op->ix, names, count,
		    &op->keywords, error_r);
	for (i = 0; i < count; i++) {
		if ((idx = maildir_keywords_find(&op->ix->kw, names[i])) >= 0)
			op->keywords |= (uint32_t)1 << idx;
	}
	return 0;
}

int
store_view_set_flags(struct store_view *view, const uint32_t *uids,
    size_t count, enum store_flags_mode mode, unsigned flags,
    const char **error_r)
{
	return store_view_set_keywords(view, uids, count, mode, flags, NULL,
	    0, error_r);
}

int
store_view_set_keywords(struct store_view *view, const uint32_t *uids,
    size_t count, enum store_flags_mode mode, unsigned flags,
    const char *const *keywords, size_t count_kw, const char **error_r)
{
	return store_view_set_keywords_cond(view, uids, count, mode, flags,
	    keywords, count_kw, UINT64_MAX, NULL, NULL, error_r);
}

/* The view's own change is in its array at once (STORE's FETCH
 * responses), MODSEQs included. */
static void
flags_to_view(struct store_view *view, const uint32_t *todo, size_t n)
{
	struct store_index *ix = view->index;

	for (size_t i = 0; i < n; i++) {
		uint32_t seq = store_view_seq(view, todo[i]);
		struct index_msg *m = store_index_lookup(ix, todo[i]);

		if (seq > 0 && m != NULL) {
			view->msgs[seq - 1].flags = m->flags;
			view->msgs[seq - 1].keywords = m->keywords;
			view->msgs[seq - 1].modseq = m->modseq;
		}
	}
}

/* With the lock held: drop from todo the messages changed after
 * unchangedsince (RFC 7162 3.1.3), moving their UIDs to op->modified. */
static void
flags_unchanged_only(struct flags_op *op, uint32_t *todo, size_t *n,
    uint64_t unchangedsince)
{
	size_t i, k = 0;

	for (i = 0; i < *n; i++) {
		struct index_msg *m = store_index_lookup(op->ix, todo[i]);

		if (m != NULL && m->modseq > unchangedsince)
			op->modified[op->nmodified++] = todo[i];
		else
			todo[k++] = todo[i];
	}
	*n = k;
}

/* Rename the files of todo (n of them) and record the change: fsync of
 * the directories, then the MODSEQ log. With the lock held. */
static void
flags_run(struct flags_op *op, const uint32_t *todo, size_t n,
    bool *changed)
{
	struct store_index *ix = op->ix;
	bool sync_changed;
	size_t i;

	for (i = 0; i < n; i++)
		flags_apply(op, todo[i], true);
	if (op->nretry > 0) {
		/* Renamed by another program meanwhile: read cur/ again. */
		if (store_index_sync_locked(ix, true, &sync_changed,
		    &op->error) < 0) {
			op->ret = -1;
		} else {
			*changed = *changed || sync_changed;
			for (i = 0; i < op->nretry; i++)
				flags_apply(op, op->retry[i], false);
		}
	}
	if (op->touched && op_fsync(ix, op->from_new, true, &op->error) < 0)
		op->ret = -1;
	if (op->touched) {
		store_index_restamp(ix);
		ix->modseq++;
		/* Durable before the change is reported. */
		if (store_modseq_update(ix, &op->error) < 0)
			op->ret = -1;
	}
}

int
store_view_set_keywords_cond(struct store_view *view, const uint32_t *uids,
    size_t count, enum store_flags_mode mode, unsigned flags,
    const char *const *keywords, size_t count_kw, uint64_t unchangedsince,
    uint32_t **modified_r, size_t *nmodified_r, const char **error_r)
{
	struct store_index *ix = view->index;
	struct flags_op op = { .ix = ix, .mode = mode };
	uint32_t *todo;
	size_t n;
	bool changed;
	int lock_fd;

	op.flags = flags & (STORE_FLAG_DRAFT | STORE_FLAG_FLAGGED |
	    STORE_FLAG_PASSED | STORE_FLAG_REPLIED | STORE_FLAG_SEEN |
	    STORE_FLAG_TRASHED);
	todo = store_uids_sorted(uids, count, &n);
	if (op_begin(ix, &lock_fd, &changed, error_r) < 0) {
		free(todo);
		return -1;
	}
	if (flags_keywords(&op, keywords, count_kw, error_r) < 0) {
		maildir_uidlist_unlock(&lock_fd);
		if (changed)
			store_index_notify(ix, view);
		free(todo);
		return -1;
	}
	op.set = xcalloc(n + 1, sizeof(*op.set));
	op.clear = xcalloc(n + 1, sizeof(*op.clear));
	op.retry = xcalloc(n + 1, sizeof(*op.retry));
	op.modified = xcalloc(n + 1, sizeof(*op.modified));
	if (unchangedsince != UINT64_MAX)
		flags_unchanged_only(&op, todo, &n, unchangedsince);
	flags_run(&op, todo, n, &changed);
	maildir_uidlist_unlock(&lock_fd);

	flags_to_view(view, todo, n);
	if (op.touched || changed)
		store_index_notify(ix, view);
	announce_flags(ix, STORE_EVENT_FLAGS_SET, op.set, op.nset);
	announce_flags(ix, STORE_EVENT_FLAGS_CLEAR, op.clear, op.nclear);
	if (modified_r != NULL && op.ret == 0) {
		*modified_r = op.modified;
		*nmodified_r = op.nmodified;
		op.modified = NULL;
	}
	free(op.modified);
	free(op.set);
	free(op.clear);
	free(op.retry);
	free(todo);
	if (op.ret < 0)
		*error_r = op.error;
	return op.ret;
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
		todo = store_uids_sorted(uids, count, &n);
	}
	retry = xcalloc(n + 1, sizeof(*retry));
	removed = xcalloc(n + 1, sizeof(*removed));
	for (pass = 0; pass < 2; pass++) {
		const uint32_t *list = pass == 0 ? todo : retry;
		size_t count_now = pass == 0 ? n : nretry;

		for (i = 0; i < count_now; i++) {
			struct index_msg *m = store_index_lookup(ix, list[i]);
			char *path;

			if (m == NULL || (deleted_only &&
			    (m->flags & STORE_FLAG_TRASHED) == 0))
				continue;
			path = store_index_msg_path(ix, m);
			if (unlink(path) < 0) {
				if (errno == ENOENT && pass == 0) {
					retry[nretry++] = list[i];
				} else if (errno != ENOENT) {
					error = error_errno(path, errno);
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
		if (store_index_sync_locked(ix, true, &sync_changed, error_r) < 0) {
			ret = -1;
			error = *error_r;
			break;
		}
		changed = changed || sync_changed;
	}
	if (nremoved > 0) {
		qsort(removed, nremoved, sizeof(*removed), store_uid_cmp);
		/* Files first, then the list: a crash in between leaves
		 * entries the next sync drops, never a message that comes
		 * back under a new UID. */
		if (op_fsync(ix, in_new, in_cur, &error) < 0 ||
		    maildir_list_remove(ix->store, ix->dir, removed, nremoved,
		    &error) < 0)
			ret = -1;
		index_remove(ix, removed, nremoved);
		store_index_restamp(ix);
		ix->modseq++;
		if (store_modseq_update(ix, &error) < 0)
			ret = -1;
	}
	maildir_uidlist_unlock(&lock_fd);
	if (nremoved > 0 || changed)
		store_index_notify(ix, view);
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

/* The destination folder's directory, if it exists. */
int
store_append_dir(struct store *store, const char *user, const char *folder,
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

int
store_append_commit(struct store *store, const char *user,
    const char *folder, const char *dir, const char *tmp, const char *base,
    unsigned flags, const char *const *keywords, size_t count_kw,
    int64_t internal_date, uint32_t *uidvalidity_r, uint32_t *uid_r,
    const char **error_r)
{
	struct maildir_commit_item item;
	struct timespec ts[2];
	char *cur_name = NULL;
	uint32_t uidvalidity = 0, bits;
	int ret = -1;

	if (internal_date > 0) {
		ts[0].tv_sec = ts[1].tv_sec = (time_t)internal_date;
		ts[0].tv_nsec = ts[1].tv_nsec = 0;
		if (utimensat(AT_FDCWD, tmp, ts, 0) < 0) {
			*error_r = error_errno(tmp, errno);
			(void)unlink(tmp);
			goto out;
		}
	}
	if (store_keywords_number(store, user, folder, keywords, count_kw,
	    &bits, error_r) < 0) {
		(void)unlink(tmp);
		goto out;
	}
	memset(&item, 0, sizeof(item));
	item.tmp_path = tmp;
	item.base = base;
	if (flags != 0 || bits != 0)
		item.cur_name = cur_name = maildir_name_set_info(base, flags,
		    bits);
	if (maildir_commit(store, dir, &item, 1, &uidvalidity) != 1) {
		*error_r = error_code_fmt(item.error_code, "%s",
		    item.error);
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
	return ret;
}

int
store_append(struct store *store, const char *user, const char *folder,
    const unsigned char *body, size_t len, unsigned flags,
    const char *const *keywords, size_t count_kw, int64_t internal_date,
    uint32_t *uidvalidity_r, uint32_t *uid_r, const char **error_r)
{
	char *dir, *tmp, *base;
	int ret;

	if (store_append_dir(store, user, folder, &dir, error_r) < 0)
		return -1;
	if (maildir_write_tmp(store, dir, "", body, len, false, &tmp, &base,
	    error_r) < 0) {
		free(dir);
		return -1;
	}
	ret = store_append_commit(store, user, folder, dir, tmp, base, flags,
	    keywords, count_kw, internal_date, uidvalidity_r, uid_r, error_r);
	free(tmp);
	free(base);
	free(dir);
	return ret;
}
