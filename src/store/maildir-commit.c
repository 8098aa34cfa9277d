/*
 * The group commit: messages written to tmp/ get their UIDs and are
 * renamed into new/ (or cur/) in one round for many folders, with the
 * round's fsyncs run concurrently on the store's fsync pool.
 */
#include "store/maildir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/limits.h"
#include "lib/workpool.h"
#include "lib/xmalloc.h"
#include "store/maildir-private.h"
#include "store/maildir-uidlist.h"
#include "store/store-private.h"

static void
item_fail(struct maildir_commit_item *item, const char *error)
{
	item->status = -1;
	item->error_code = error_code(error);
	(void)snprintf(item->error, sizeof(item->error), "%s", error);
}

/* "<dir>/<sub>/<name>" into buf; -1 if it does not fit. */
static int
folder_file(char *buf, size_t size, const char *dir, const char *sub,
    const char *name)
{
	int n = snprintf(buf, size, "%s/%s/%s", dir, sub, name);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* Where an item is committed to: cur/<cur_name> or new/<base>. */
static int
item_path(char *buf, size_t size, const char *dir,
    const struct maildir_commit_item *item)
{
	if (item->cur_name != NULL)
		return folder_file(buf, size, dir, "cur", item->cur_name);
	return folder_file(buf, size, dir, "new", item->base);
}

/*
 * Fail every message of folder f still on its way in: remove it from
 * new/ (renamed) or tmp/, and forget the cached list, which may hold
 * UIDs that never made it.
 */
static void
folder_fail(struct store *store, struct maildir_commit_folder *f,
    bool renamed, const char *error)
{
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < f->count; i++) {
		struct maildir_commit_item *item = &f->items[i];

		if (item->status != 0)
			continue;
		if (renamed && item_path(path, sizeof(path), f->dir,
		    item) == 0) {
			(void)unlink(path);
			(void)store_own_name_take(store, path);
		} else {
			(void)unlink(item->tmp_path);
		}
		item_fail(item, error);
	}
	if (renamed && (size_t)snprintf(path, sizeof(path), "%s/new",
	    f->dir) < sizeof(path))
		(void)fsync_dir(path);
	if (renamed && (size_t)snprintf(path, sizeof(path), "%s/cur",
	    f->dir) < sizeof(path))
		(void)fsync_dir(path);
	if (f->list_fd >= 0) {
		close(f->list_fd);
		f->list_fd = -1;
	}
	maildir_cache_free(&f->cache);
	f->committed = 0;
}

static int
commit_folder_cmp(const void *a, const void *b)
{
	const struct maildir_commit_folder *x = a, *y = b;

	return strcmp(x->dir, y->dir);
}

/* Drop failed items' entries from f's list and write that, durably
 * this time (the slow path after a message failed mid-round): the
 * records of their going appended, or the temporary file again. */
static int
rewrite_list(struct maildir_commit_folder *f, const char **error_r)
{
	struct maildir_uidlist *list = f->cache->list;
	bool *keep = xcalloc(list->count + 1, sizeof(*keep));
	size_t i, j;
	int fd, ret;

	for (i = 0; i < list->count; i++) {
		keep[i] = true;
		for (j = 0; j < f->count; j++) {
			if (f->items[j].status != 0 &&
			    f->items[j].uid == list->uids[i])
				keep[i] = false;
		}
	}
	maildir_uidlist_filter(list, keep);
	free(keep);
	if (f->list_fd >= 0) {
		close(f->list_fd);
		f->list_fd = -1;
	}
	fd = f->list_whole ? maildir_uidlist_write_tmp(f->dir, list,
	    error_r) : maildir_uidlist_write_pending(f->dir, list, error_r);
	if (fd < 0)
		return -1;
	ret = fsync(fd);
	close(fd);
	if (ret < 0) {
		*error_r = error_errno(f->dir, errno);
		return -1;
	}
	return 0;
}

/* One fsync of a round: a path (opened here) or a descriptor. */
struct fsync_task {
	const char *path;	/* or NULL to use fd */
	int fd;
	int err;		/* out: 0 or errno */
};

static void
fsync_task_run(struct fsync_task *t)
{
	int fd = t->fd;

	t->err = 0;
	if (t->path != NULL &&
	    (fd = open(t->path, O_RDONLY | O_CLOEXEC)) < 0) {
		t->err = errno;
		return;
	}
	if (fsync(fd) < 0)
		t->err = errno;
	if (t->path != NULL)
		close(fd);
}

static void
fsync_task_cb(void *arg)
{
	fsync_task_run(arg);
}

/*
 * Run independent fsyncs concurrently, so that their cache flushes
 * overlap instead of queueing one after another; on a journalling file
 * system most of them then find their changes already committed.
 */
static void
fsync_all(struct store *store, struct fsync_task *tasks, size_t count)
{
	if (count <= 1) {
		if (count == 1)
			fsync_task_run(&tasks[0]);
		return;
	}
	workpool_run_all(store_fsync_pool(store), fsync_task_cb, tasks, count,
	    sizeof(*tasks));
}

/* 1. Lock, assign UIDs, write each new list (not yet durable). */
static void
round_assign(struct store *store, struct maildir_commit_folder *folders,
    size_t count)
{
	char path[PATH_MAX];
	const char *error;
	size_t fi, i;

	for (fi = 0; fi < count; fi++) {
		struct maildir_commit_folder *f = &folders[fi];

		f->lock_fd = f->list_fd = -1;
		f->list_whole = false;
		f->cache = NULL;
		f->committed = 0;
		f->uidvalidity = 0;
		f->stamped = false;
		if ((f->lock_fd = maildir_uidlist_lock(f->dir, &error)) < 0 ||
		    maildir_list_load(store, f->dir, &f->cache, &error) < 0) {
			folder_fail(store, f, false, error);
			continue;
		}
		f->stamped = store_stamp_folder_locked(f->dir,
		    &f->before) == 0;
		for (i = 0; i < f->count; i++) {
			struct maildir_commit_item *item = &f->items[i];

			if (item->status != 0)
				continue;
			if (item_path(path, sizeof(path), f->dir, item) < 0) {
				(void)unlink(item->tmp_path);
				item_fail(item, "file name too long");
			} else if (maildir_uidlist_append(f->cache->list,
			    item->base, strlen(item->base), &item->uid) < 0) {
				(void)unlink(item->tmp_path);
				item_fail(item, error_code_fmt(ERROR_LIMIT,
				    "folder is out of UIDs"));
			} else {
				f->committed++;
			}
		}
		if (f->all_or_nothing && f->committed != f->count &&
		    f->committed > 0)
			folder_fail(store, f, false,
			    MAILDIR_COMMIT_OTHER_FAILED);
		if (f->committed == 0)
			continue;
		/* Appending costs the same in a folder of any size; the
		 * whole list is written only when it must be. */
		f->list_whole = maildir_uidlist_needs_rewrite(f->cache->list);
		f->list_fd = f->list_whole ? maildir_uidlist_write_tmp(f->dir,
		    f->cache->list, &error) : maildir_uidlist_write_pending(
		    f->dir, f->cache->list, &error);
		if (f->list_fd < 0)
			folder_fail(store, f, false, error);
	}
}

/* 2. Make every message and list durable before any rename. */
static void
round_sync_files(struct store *store, struct maildir_commit_folder *folders,
    size_t count, size_t total)
{
	struct fsync_task *tasks;
	const char *error;
	size_t fi, i, nt;

	tasks = xcalloc(total + count + 1, sizeof(*tasks));
	for (fi = 0, nt = 0; fi < count; fi++) {
		struct maildir_commit_folder *f = &folders[fi];

		if (f->committed == 0)
			continue;
		for (i = 0; i < f->count; i++) {
			if (f->items[i].status == 0 && !f->items[i].synced)
				tasks[nt++].path = f->items[i].tmp_path;
		}
		tasks[nt].fd = f->list_fd;
		tasks[nt++].path = NULL;
	}
	fsync_all(store, tasks, nt);
	for (fi = 0, nt = 0; fi < count; fi++) {
		struct maildir_commit_folder *f = &folders[fi];
		bool lost = false;

		if (f->committed == 0)
			continue;
		for (i = 0; i < f->count; i++) {
			struct maildir_commit_item *item = &f->items[i];

			if (item->status != 0 || item->synced)
				continue;
			if (tasks[nt++].err == 0)
				continue;
			item_fail(item, error_errno(item->tmp_path,
			    tasks[nt - 1].err));
			(void)unlink(item->tmp_path);
			f->committed--;
			lost = true;
		}
		if (tasks[nt++].err != 0) {
			folder_fail(store, f, false, error_errno(f->dir,
			    tasks[nt - 1].err));
			continue;
		}
		close(f->list_fd);
		f->list_fd = -1;
		if (lost && (f->all_or_nothing || f->committed == 0 ||
		    rewrite_list(f, &error) < 0))
			folder_fail(store, f, false, f->committed == 0 ?
			    "no message left" : f->all_or_nothing ?
			    MAILDIR_COMMIT_OTHER_FAILED : error);
	}
	free(tasks);
}

/* 3. Rename messages into new/, then rewritten lists over the old. */
static void
round_rename(struct store *store, struct maildir_commit_folder *folders,
    size_t count)
{
	char path[PATH_MAX];
	const char *error;
	size_t fi, i;

	for (fi = 0; fi < count; fi++) {
		struct maildir_commit_folder *f = &folders[fi];
		bool lost = false;

		if (f->committed == 0)
			continue;
		for (i = 0; i < f->count; i++) {
			struct maildir_commit_item *item = &f->items[i];

			if (item->status != 0)
				continue;
			(void)item_path(path, sizeof(path), f->dir, item);
			store_own_name_add(store, path);
			if (rename(item->tmp_path, path) == 0)
				continue;
			item_fail(item, error_errno(path, errno));
			(void)store_own_name_take(store, path);
			(void)unlink(item->tmp_path);
			f->committed--;
			lost = true;
		}
		if (lost && (f->all_or_nothing || f->committed == 0 ||
		    rewrite_list(f, &error) < 0)) {
			folder_fail(store, f, true, f->committed == 0 ?
			    "no message left" : f->all_or_nothing ?
			    MAILDIR_COMMIT_OTHER_FAILED : error);
			(void)snprintf(path, sizeof(path), "%s/%s", f->dir,
			    MAILDIR_UIDLIST_TMP);
			if (f->list_whole)
				(void)unlink(path);
			continue;
		}
		if (f->list_whole && maildir_uidlist_install(f->dir,
		    &error) < 0)
			folder_fail(store, f, true, error);
		else
			f->stamped = f->stamped &&
			    store_stamp_folder_locked(f->dir, &f->after) == 0;
	}
}

/* 4. Make the renames durable; then report. Each folder has new/ and
 * cur/ fsynced if messages went there, and its directory if the list
 * was renamed (an appended list was made durable in step 2). */
static void
round_sync_dirs(struct store *store, struct maildir_commit_folder *folders,
    size_t count)
{
	struct fsync_task *tasks;
	char **paths;
	size_t fi, i, nt;

	paths = xcalloc(2 * count + 1, sizeof(*paths));
	tasks = xcalloc(3 * count + 1, sizeof(*tasks));
	for (fi = 0, nt = 0; fi < count; fi++) {
		struct maildir_commit_folder *f = &folders[fi];
		bool to_new = false, to_cur = false;

		if (f->committed == 0)
			continue;
		for (i = 0; i < f->count; i++) {
			if (f->items[i].status != 0)
				continue;
			if (f->items[i].cur_name != NULL)
				to_cur = true;
			else
				to_new = true;
		}
		if (to_new) {
			paths[2 * fi] = xasprintf("%s/new", f->dir);
			tasks[nt++].path = paths[2 * fi];
		}
		if (to_cur) {
			paths[2 * fi + 1] = xasprintf("%s/cur", f->dir);
			tasks[nt++].path = paths[2 * fi + 1];
		}
		if (f->list_whole)
			tasks[nt++].path = f->dir;
		f->dir_fsyncs = (to_new ? 1 : 0) + (to_cur ? 1 : 0) +
		    (f->list_whole ? 1 : 0);
	}
	fsync_all(store, tasks, nt);
	for (fi = 0, nt = 0; fi < count; fi++) {
		struct maildir_commit_folder *f = &folders[fi];

		if (f->committed > 0) {
			int err = 0;

			for (i = 0; i < f->dir_fsyncs; i++, nt++) {
				if (err == 0)
					err = tasks[nt].err;
			}
			if (err != 0)
				folder_fail(store, f, true,
				    error_errno(f->dir, err));
		}
		if (f->cache != NULL) {
			f->uidvalidity = f->cache->list->uidvalidity;
			if (f->committed > 0 && f->stamped)
				store_appended_record(store, f);
			if (f->committed > 0)
				maildir_list_written(store, f->cache);
			else
				maildir_cache_put(store, f->cache);
			f->cache = NULL;
		}
		maildir_uidlist_unlock(&f->lock_fd);
	}
	for (i = 0; i < 2 * count; i++)
		free(paths[i]);
	free(paths);
	free(tasks);
}

void
maildir_commit_round(struct store *store,
    struct maildir_commit_folder *folders, size_t count)
{
	size_t fi, total = 0;

	for (fi = 0; fi < count; fi++)
		total += folders[fi].count;
	/* Locks in path order, so two rounds cannot deadlock. */
	qsort(folders, count, sizeof(*folders), commit_folder_cmp);

	round_assign(store, folders, count);
	round_sync_files(store, folders, count, total);
	round_rename(store, folders, count);
	round_sync_dirs(store, folders, count);
}

static size_t
commit_one_folder(struct store *store, const char *dir,
    struct maildir_commit_item *items, size_t count, bool all_or_nothing,
    uint32_t *uidvalidity_r)
{
	struct maildir_commit_folder f;

	memset(&f, 0, sizeof(f));
	f.dir = dir;
	f.items = items;
	f.count = count;
	f.all_or_nothing = all_or_nothing;
	maildir_commit_round(store, &f, 1);
	if (f.committed > 0)
		*uidvalidity_r = f.uidvalidity;
	return f.committed;
}

size_t
maildir_commit(struct store *store, const char *dir,
    struct maildir_commit_item *items, size_t count, uint32_t *uidvalidity_r)
{
	return commit_one_folder(store, dir, items, count, false,
	    uidvalidity_r);
}

size_t
maildir_commit_all(struct store *store, const char *dir,
    struct maildir_commit_item *items, size_t count,
    uint32_t *uidvalidity_r)
{
	return commit_one_folder(store, dir, items, count, true,
	    uidvalidity_r);
}
