/*
 * COPY and MOVE through a view: hard links into the target's tmp/,
 * committed into its cur/ in one round, with the source's flags.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "store/maildir-flags.h"
#include "store/maildir-uidlist.h"
#include "store/maildir.h"
#include "store/store-index-private.h"
#include "store/store-private.h"

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
	qsort(uids, n, sizeof(*uids), store_uid_cmp);
	if (maildir_list_remove(store, dir, uids, n, &error) < 0)
		log_warnx("%s", error);
	maildir_uidlist_unlock(&lock_fd);
	free(uids);
}

/* One store_view_copy() call as it goes: the messages linked into the
 * target's tmp/ so far. */
struct copy_op {
	struct store_index *ix;
	const char *dir;			/* the target folder */
	struct maildir_commit_item *items;	/* k of them */
	uint32_t *src;				/* their source UIDs */
	size_t k;
	const char *error;
	bool failed;				/* stop: undo and fail */
	int kw_map[KEYWORDS_MAX];		/* source keyword -> the
						   target's, -1: none */
};

/* The target's numbers for the keywords the messages of todo (n of
 * them) carry, by name, numbering new ones in the target. 0 or -1. */
static int
copy_keywords(struct copy_op *op, const char *dest, const uint32_t *todo,
    size_t n, const char **error_r)
{
	struct store_index *ix = op->ix;
	char *names[KEYWORDS_MAX];
	uint32_t used = 0, bits;
	size_t i, k = 0;
	int idx[KEYWORDS_MAX], ret = -1;

	for (i = 0; i < KEYWORDS_MAX; i++)
		op->kw_map[i] = -1;
	for (i = 0; i < n; i++) {
		struct index_msg *m = store_index_lookup(ix, todo[i]);

		if (m != NULL)
			used |= m->keywords;
	}
	for (i = 0; i < KEYWORDS_MAX; i++) {
		if ((used & ((uint32_t)1 << i)) != 0 &&
		    ix->kw.names[i] != NULL) {
			idx[k] = (int)i;
			/* Copied: the target may be this folder, whose
			 * names a re-read replaces. */
			names[k++] = xstrdup(ix->kw.names[i]);
		}
	}
	if (k == 0)
		return 0;
	if (store_keywords_number(ix->store, ix->user, dest,
	    (const char *const *)names, k, &bits, error_r) == 0 &&
	    (ix = store_index_get(ix->store, ix->user, dest,
	    error_r)) != NULL) {
		/* Each name's number, looked up again in the target. */
		for (i = 0; i < k; i++)
			op->kw_map[idx[i]] = maildir_keywords_find(&ix->kw,
			    names[i]);
		ret = 0;
	}
	for (i = 0; i < k; i++)
		free(names[i]);
	return ret;
}

/* m's file name for the copy named base: its flags, other letters, and
 * its keywords numbered as the target numbers them. Malloc'd. */
static char *
copy_name(const struct copy_op *op, const struct index_msg *m,
    const char *base)
{
	size_t blen = maildir_name_base_len(m->name), i;
	uint32_t kw = 0;
	char *tmp, *out;

	for (i = 0; i < KEYWORDS_MAX; i++) {
		if ((m->keywords & ((uint32_t)1 << i)) != 0 &&
		    op->kw_map[i] >= 0)
			kw |= (uint32_t)1 << op->kw_map[i];
	}
	tmp = xasprintf("%s%s", base, m->name + blen);
	out = maildir_name_set_info(tmp, maildir_name_flags(tmp), kw);
	free(tmp);
	return out;
}

/* Hard-link (or copy, across file systems) message uid into the
 * target's tmp/ under a new name. A message expunged meanwhile is
 * skipped; one renamed meanwhile is looked up again, once. */
static void
copy_link(struct copy_op *op, uint32_t uid, const char **error_r)
{
	struct store_index *ix = op->ix;
	struct store *store = ix->store;
	struct maildir_commit_item *item = &op->items[op->k];
	char base[NAME_MAX + 1];
	struct index_msg *m;
	char *from, *tmp;
	uint64_t size, crlf_size;
	bool changed;
	int tries;

	for (tries = 0; tries < 2; tries++) {
		if ((m = store_index_lookup(ix, uid)) == NULL)
			break;
		from = store_index_msg_path(ix, m);
		copy_sizes(m, from, &size, &crlf_size);
		if (maildir_new_name(store, size, crlf_size, base,
		    sizeof(base)) < 0) {
			op->error = error_fmt("%s: file name too long",
			    op->dir);
			free(from);
			op->failed = true;
			break;
		}
		tmp = xasprintf("%s/tmp/%s", op->dir, base);
		if (link(from, tmp) == 0 || (errno == EXDEV &&
		    copy_file(from, tmp) == 0)) {
			item->tmp_path = tmp;
			item->base = xstrdup(base);
			item->cur_name = copy_name(op, m, base);
			item->synced = true;
			op->src[op->k++] = m->uid;
			free(from);
			break;
		}
		if (errno != ENOENT || tries > 0) {
			op->error = error_errno(from, errno);
			op->failed = errno != ENOENT;
			free(from);
			free(tmp);
			break;
		}
		free(from);
		free(tmp);
		/* Renamed meanwhile: look again, once. */
		if (store_index_sync(ix, true, &changed, error_r) < 0) {
			op->error = *error_r;
			op->failed = true;
			break;
		}
	}
}

int
store_view_copy(struct store_view *view, const uint32_t *uids, size_t count,
    const char *dest, struct store_uid_map **map_r, const char **error_r)
{
	struct store_index *ix = view->index;
	struct store *store = ix->store;
	struct copy_op op = { .ix = ix };
	struct maildir_commit_item *items;
	struct store_uid_map *map;
	uint32_t *todo, uidvalidity = 0;
	char *dir = NULL;
	size_t n, k, i, committed;
	bool changed;
	int ret = -1;

	if (store_append_dir(store, ix->user, dest, &dir, error_r) < 0)
		return -1;
	if (store_index_sync(ix, false, &changed, error_r) < 0) {
		free(dir);
		return -1;
	}
	if (changed)
		store_index_notify(ix, view);
	todo = store_uids_sorted(uids, count, &n);
	if (copy_keywords(&op, dest, todo, n, error_r) < 0) {
		free(todo);
		free(dir);
		return -1;
	}
	op.dir = dir;
	op.items = items = xcalloc(n + 1, sizeof(*items));
	op.src = xcalloc(n + 1, sizeof(*op.src));
	for (i = 0; i < n && !op.failed; i++)
		copy_link(&op, todo[i], error_r);
	k = op.k;
	if (op.failed) {
		for (i = 0; i < k; i++)
			(void)unlink(items[i].tmp_path);
		goto out;
	}
	committed = k > 0 ? maildir_commit(store, dir, items, k,
	    &uidvalidity) : 0;
	if (committed < k) {
		for (i = 0; i < k; i++) {
			if (items[i].status != 0) {
				op.error = error_code_fmt(
				    items[i].error_code, "%s",
				    items[i].error);
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
	map->src_uids = op.src;
	map->dest_uids = xcalloc(k + 1, sizeof(*map->dest_uids));
	for (i = 0; i < k; i++)
		map->dest_uids[i] = items[i].uid;
	op.src = NULL;
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
	free(op.src);
	free(todo);
	free(dir);
	if (ret < 0)
		*error_r = op.error != NULL ? op.error :
		    error_fmt("copy failed");
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

