/*
 * One Maildir++ folder on disk: creation, writing messages into tmp/,
 * committing them into new/ with their UIDs (the group commit's unit of
 * work) and syncing the UID list with the files of new/ and cur/.
 */
#include "store/maildir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/workpool.h"
#include "lib/xmalloc.h"
#include "store/maildir-flags.h"
#include "store/maildir-uidlist.h"
#include "store/store-private.h"

/* A parsed UID list kept between calls, valid while the file on disk is
 * the one it was read from or written as. */
struct folder_cache {
	char *dir;
	struct maildir_uidlist *list;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct folder_cache *next;
};

static void
folder_cache_free(struct folder_cache **cachep)
{
	struct folder_cache *cache = *cachep;

	if (cache == NULL)
		return;
	maildir_uidlist_free(&cache->list);
	free(cache->dir);
	free(cache);
	*cachep = NULL;
}

void
maildir_cache_clear(struct store *store)
{
	struct folder_cache *cache, *next;

	pthread_mutex_lock(&store->lock);
	cache = store->caches;
	store->caches = NULL;
	pthread_mutex_unlock(&store->lock);
	for (; cache != NULL; cache = next) {
		next = cache->next;
		folder_cache_free(&cache);
	}
}

/* Take dir's cache entry out of the store (the caller holds the folder
 * lock, so no other thread wants the same entry). NULL if none. */
static struct folder_cache *
cache_take(struct store *store, const char *dir)
{
	struct folder_cache **pp, *cache = NULL;

	pthread_mutex_lock(&store->lock);
	for (pp = &store->caches; *pp != NULL; pp = &(*pp)->next) {
		if (strcmp((*pp)->dir, dir) == 0) {
			cache = *pp;
			*pp = cache->next;
			cache->next = NULL;
			break;
		}
	}
	pthread_mutex_unlock(&store->lock);
	return cache;
}

/* Put an entry back at the front, evicting the least recently used. */
static void
cache_put(struct store *store, struct folder_cache *cache)
{
	struct folder_cache **pp, *evict = NULL;
	size_t n = 1;

	pthread_mutex_lock(&store->lock);
	cache->next = store->caches;
	store->caches = cache;
	for (pp = &store->caches->next; *pp != NULL; pp = &(*pp)->next) {
		if (++n > STORE_UIDLIST_CACHE_MAX) {
			evict = *pp;
			*pp = NULL;
			break;
		}
	}
	pthread_mutex_unlock(&store->lock);
	while (evict != NULL) {
		struct folder_cache *next = evict->next;

		folder_cache_free(&evict);
		evict = next;
	}
}

static bool
cache_matches(const struct folder_cache *cache, const struct stat *st)
{
	return cache->dev == st->st_dev && cache->ino == st->st_ino &&
	    cache->size == st->st_size &&
	    cache->mtime.tv_sec == st->st_mtim.tv_sec &&
	    cache->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static void
cache_remember(struct folder_cache *cache, const struct stat *st)
{
	cache->dev = st->st_dev;
	cache->ino = st->st_ino;
	cache->size = st->st_size;
	cache->mtime = st->st_mtim;
}

/*
 * The folder's UID list, under its lock: the cached one if the file is
 * unchanged, else read from disk. Returns 1 (list found), 0 (the folder
 * has none yet: an empty list with a fresh UIDVALIDITY is returned) or
 * -1 with *error_r. A corrupt list is replaced by a fresh one (with a
 * warning): its messages are picked up again with new UIDs, nothing is
 * lost.
 */
static int
list_load(struct store *store, const char *dir, struct folder_cache **cache_r,
    const char **error_r)
{
	struct folder_cache *cache = cache_take(store, dir);
	char path[PATH_MAX];
	struct maildir_uidlist *list;
	struct stat st;
	int ret;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
	    MAILDIR_UIDLIST_FILE) >= sizeof(path)) {
		folder_cache_free(&cache);
		*error_r = error_fmt("%s: path too long", dir);
		return -1;
	}
	if (stat(path, &st) == 0) {
		if (cache != NULL && cache_matches(cache, &st)) {
			*cache_r = cache;
			return 1;
		}
	} else if (errno != ENOENT) {
		folder_cache_free(&cache);
		*error_r = error_fmt("%s: %s", path, strerror(errno));
		return -1;
	}
	if (cache == NULL) {
		cache = xcalloc(1, sizeof(*cache));
		cache->dir = xstrdup(dir);
	}
	maildir_uidlist_free(&cache->list);
	memset(&cache->mtime, 0, sizeof(cache->mtime));
	cache->ino = 0;

	ret = maildir_uidlist_read(dir, &list, error_r);
	if (ret == -2) {
		log_warnx("%s; rebuilding it with a new UIDVALIDITY",
		    *error_r);
		ret = 0;
	} else if (ret < 0) {
		folder_cache_free(&cache);
		return -1;
	}
	if (ret == 0) {
		list = maildir_uidlist_new(maildir_uidvalidity_next(0));
	} else if (stat(path, &st) == 0) {
		cache_remember(cache, &st);
	}
	cache->list = list;
	*cache_r = cache;
	return ret;
}

/* After writing the list: remember the file it now is. */
static void
list_written(struct store *store, struct folder_cache *cache)
{
	char path[PATH_MAX];
	struct stat st;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", cache->dir,
	    MAILDIR_UIDLIST_FILE) < sizeof(path) && stat(path, &st) == 0)
		cache_remember(cache, &st);
	cache_put(store, cache);
}

int
maildir_folder_dir(const struct store *store, const char *user,
    const char *folder, char **dir_r, const char **error_r)
{
	if (!store_user_name_valid(user)) {
		*error_r = error_code_fmt(ERROR_INVALID,
		    "invalid user name");
		return -1;
	}
	if (!store_folder_name_valid(folder)) {
		*error_r = error_code_fmt(ERROR_INVALID,
		    "invalid folder name");
		return -1;
	}
	*dir_r = store_folder_path(store, user, folder);
	return 0;
}

/* mkdir path; if it was created, fsync its parent. 1 created, 0 existed,
 * -1 error. */
static int
mkdir_durable(const char *path)
{
	char parent[PATH_MAX], *slash;

	if (mkdir(path, 0700) < 0) {
		struct stat st;

		if (errno != EEXIST)
			return -1;
		if (stat(path, &st) < 0)
			return -1;
		if (!S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			return -1;
		}
		return 0;
	}
	if ((size_t)snprintf(parent, sizeof(parent), "%s", path) >=
	    sizeof(parent)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((slash = strrchr(parent, '/')) != NULL && slash != parent)
		*slash = '\0';
	return fsync_dir(parent) < 0 ? -1 : 1;
}

int
maildir_create(const char *dir, const char **error_r)
{
	static const char *const subdirs[] = { "cur", "new", "tmp" };
	char path[PATH_MAX], parent[PATH_MAX], *slash;
	size_t i;
	int ret;

	if ((size_t)snprintf(parent, sizeof(parent), "%s", dir) >=
	    sizeof(parent)) {
		*error_r = error_fmt("%s: path too long", dir);
		return -1;
	}
	/* The mail root and user directory: created by whoever is first;
	 * only the last level needs fsyncing by us. */
	if ((slash = strrchr(parent, '/')) != NULL && slash != parent) {
		*slash = '\0';
		if (access(parent, F_OK) < 0 && (mkdir_p(parent, 0700) < 0 ||
		    fsync_dir(parent) < 0)) {
			*error_r = error_fmt("%s: %s", parent,
			    strerror(errno));
			return -1;
		}
	}
	if ((ret = mkdir_durable(dir)) < 0) {
		*error_r = error_fmt("%s: %s", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		    subdirs[i]) >= sizeof(path)) {
			*error_r = error_fmt("%s: path too long", dir);
			return -1;
		}
		if (mkdir_durable(path) < 0) {
			*error_r = error_fmt("%s: %s", path,
			    strerror(errno));
			return -1;
		}
	}
	return 0;
}

static unsigned long long
next_seq(struct store *store)
{
	unsigned long long seq;

	pthread_mutex_lock(&store->lock);
	seq = ++store->name_seq;
	pthread_mutex_unlock(&store->lock);
	return seq;
}

int
maildir_write_tmp(struct store *store, const char *dir, const char *prefix,
    const unsigned char *body, size_t len, bool sync, char **tmp_path_r,
    char **base_r, const char **error_r)
{
	char base[NAME_MAX + 1], path[PATH_MAX];
	size_t prefix_len = strlen(prefix), total = prefix_len + len;
	struct iovec iov[2];
	struct timeval tv;
	bool created = false, cr = false;
	int fd = -1, tries, saved;
	uint64_t crlf_size;
	ssize_t n;
	size_t done = 0;

	/* IMAP sends the message with CRLF line ends; name that size too. */
	crlf_size = (uint64_t)total +
	    maildir_crlf_extra((const unsigned char *)prefix, prefix_len, &cr);
	crlf_size += maildir_crlf_extra(body, len, &cr);
	for (tries = 0; tries < STORE_TMP_NAME_TRIES; tries++) {
		gettimeofday(&tv, NULL);
		if (maildir_name_format(base, sizeof(base),
		    (long long)tv.tv_sec, (long)tv.tv_usec, getpid(),
		    next_seq(store), store->host, total, crlf_size) < 0 ||
		    (size_t)snprintf(path, sizeof(path), "%s/tmp/%s", dir,
		    base) >= sizeof(path)) {
			*error_r = error_fmt("%s: file name too long", dir);
			return -1;
		}
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0)
			break;
		if (errno == ENOENT && !created) {
			if (maildir_create(dir, error_r) < 0)
				return -1;
			created = true;
			continue;
		}
		if (errno != EEXIST) {
			*error_r = error_fmt("%s: %s", path,
			    strerror(errno));
			return -1;
		}
	}
	if (fd < 0) {
		*error_r = error_fmt("%s/tmp: no unused file name", dir);
		return -1;
	}

	/* Write prefix and body in one go, then make them durable. */
	while (done < total) {
		int cnt = 0;

		if (done < prefix_len) {
			iov[cnt].iov_base = (char *)prefix + done;
			iov[cnt++].iov_len = prefix_len - done;
			iov[cnt].iov_base = (unsigned char *)body;
			iov[cnt++].iov_len = len;
		} else {
			iov[cnt].iov_base = (unsigned char *)body +
			    (done - prefix_len);
			iov[cnt++].iov_len = total - done;
		}
		n = writev(fd, iov, cnt);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			goto fail;
		}
		done += (size_t)n;
	}
	/* Start writeback now; the commit's fsync then finds the blocks
	 * allocated in the running journal transaction and one commit
	 * covers the whole round. */
	if (sync) {
		if (fsync(fd) < 0)
			goto fail;
	} else {
		(void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	}
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	*tmp_path_r = xstrdup(path);
	*base_r = xstrdup(base);
	return 0;
fail:
	saved = errno;
	*error_r = error_fmt("%s: %s", path, strerror(saved));
	if (fd >= 0)
		close(fd);
	(void)unlink(path);
	errno = saved;
	return -1;
}

int
maildir_fd_crlf_size(int fd, uint64_t *size_r)
{
	unsigned char chunk[65536];
	uint64_t size = 0;
	bool cr = false;
	off_t off = 0;
	ssize_t n;

	for (;;) {
		n = pread(fd, chunk, sizeof(chunk), off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		size += (uint64_t)n + maildir_crlf_extra(chunk, (size_t)n, &cr);
		off += n;
	}
	*size_r = size;
	return 0;
}

static void
item_fail(struct maildir_commit_item *item, const char *error)
{
	item->status = -1;
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
	folder_cache_free(&f->cache);
	f->committed = 0;
}

static int
commit_folder_cmp(const void *a, const void *b)
{
	const struct maildir_commit_folder *x = a, *y = b;

	return strcmp(x->dir, y->dir);
}

/* Drop failed items' entries from f's list and write it again, durably
 * this time (the slow path after a message failed mid-round). */
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
	if ((fd = maildir_uidlist_write_tmp(f->dir, list, error_r)) < 0)
		return -1;
	ret = fsync(fd);
	close(fd);
	if (ret < 0) {
		*error_r = error_fmt("%s: %s", f->dir, strerror(errno));
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

/* The store's pool of fsync threads, started at the first round that
 * needs it and kept until store_free. */
static struct workpool *
fsync_pool(struct store *store)
{
	struct workpool *pool;

	pthread_mutex_lock(&store->lock);
	if (store->fsync_pool == NULL)
		store->fsync_pool = workpool_new("store-fsync",
		    STORE_FSYNC_THREADS);
	pool = store->fsync_pool;
	pthread_mutex_unlock(&store->lock);
	return pool;
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
	workpool_run_all(fsync_pool(store), fsync_task_cb, tasks, count,
	    sizeof(*tasks));
}

void
maildir_commit_round(struct store *store,
    struct maildir_commit_folder *folders, size_t count)
{
	struct fsync_task *tasks;
	char path[PATH_MAX], **paths;
	const char *error;
	size_t fi, i, nt, total = 0;

	for (fi = 0; fi < count; fi++)
		total += folders[fi].count;
	/* Locks in path order, so two rounds cannot deadlock. */
	qsort(folders, count, sizeof(*folders), commit_folder_cmp);

	/* 1. Lock, assign UIDs, write each new list (not yet durable). */
	for (fi = 0; fi < count; fi++) {
		struct maildir_commit_folder *f = &folders[fi];

		f->lock_fd = f->list_fd = -1;
		f->cache = NULL;
		f->committed = 0;
		f->uidvalidity = 0;
		if ((f->lock_fd = maildir_uidlist_lock(f->dir, &error)) < 0 ||
		    list_load(store, f->dir, &f->cache, &error) < 0) {
			folder_fail(store, f, false, error);
			continue;
		}
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
				item_fail(item, "folder is out of UIDs");
			} else {
				f->committed++;
			}
		}
		if (f->committed == 0)
			continue;
		f->list_fd = maildir_uidlist_write_tmp(f->dir, f->cache->list,
		    &error);
		if (f->list_fd < 0)
			folder_fail(store, f, false, error);
	}

	/* 2. Make every message and list durable before any rename. */
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
			item_fail(item, error_fmt("%s: %s", item->tmp_path,
			    strerror(tasks[nt - 1].err)));
			(void)unlink(item->tmp_path);
			f->committed--;
			lost = true;
		}
		if (tasks[nt++].err != 0) {
			folder_fail(store, f, false, error_fmt("%s: %s",
			    f->dir, strerror(tasks[nt - 1].err)));
			continue;
		}
		close(f->list_fd);
		f->list_fd = -1;
		if (lost && (f->committed == 0 ||
		    rewrite_list(f, &error) < 0))
			folder_fail(store, f, false, f->committed == 0 ?
			    "no message left" : error);
	}

	/* 3. Rename messages into new/, then the lists over the old. */
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
			item_fail(item, error_fmt("%s: %s", path,
			    strerror(errno)));
			(void)store_own_name_take(store, path);
			(void)unlink(item->tmp_path);
			f->committed--;
			lost = true;
		}
		if (lost && (f->committed == 0 ||
		    rewrite_list(f, &error) < 0)) {
			folder_fail(store, f, true, f->committed == 0 ?
			    "no message left" : error);
			(void)snprintf(path, sizeof(path), "%s/%s", f->dir,
			    MAILDIR_UIDLIST_TMP);
			(void)unlink(path);
			continue;
		}
		if (maildir_uidlist_install(f->dir, &error) < 0)
			folder_fail(store, f, true, error);
	}

	/* 4. Make the renames durable; then report. Each folder has its
	 * directory, new/ and cur/ fsynced (3 tasks, unused ones with
	 * neither path nor descriptor are skipped). */
	paths = xcalloc(2 * count + 1, sizeof(*paths));
	free(tasks);
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
		tasks[nt++].path = f->dir;
		f->dir_fsyncs = (to_new ? 1 : 0) + (to_cur ? 1 : 0) + 1;
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
				    error_fmt("%s: %s", f->dir,
				    strerror(err)));
		}
		if (f->cache != NULL) {
			f->uidvalidity = f->cache->list->uidvalidity;
			if (f->committed > 0)
				list_written(store, f->cache);
			else
				cache_put(store, f->cache);
			f->cache = NULL;
		}
		maildir_uidlist_unlock(&f->lock_fd);
	}
	for (i = 0; i < 2 * count; i++)
		free(paths[i]);
	free(paths);
	free(tasks);
}

size_t
maildir_commit(struct store *store, const char *dir,
    struct maildir_commit_item *items, size_t count, uint32_t *uidvalidity_r)
{
	struct maildir_commit_folder f;

	memset(&f, 0, sizeof(f));
	f.dir = dir;
	f.items = items;
	f.count = count;
	maildir_commit_round(store, &f, 1);
	if (f.committed > 0)
		*uidvalidity_r = f.uidvalidity;
	return f.committed;
}

_Atomic unsigned long maildir_readdir_count;

void
maildir_scan_free(struct maildir_scan *scan)
{
	size_t i;

	for (i = 0; i < scan->count; i++)
		free(scan->files[i].name);
	free(scan->files);
	memset(scan, 0, sizeof(*scan));
}

void
maildir_scan_add(struct maildir_scan *scan, const char *name, bool cur)
{
	struct maildir_file *f;

	if (scan->count == scan->cap) {
		scan->cap = scan->cap == 0 ? 64 : scan->cap * 2;
		scan->files = xreallocarray(scan->files, scan->cap,
		    sizeof(*scan->files));
	}
	f = &scan->files[scan->count++];
	memset(f, 0, sizeof(*f));
	f->name = xstrdup(name);
	f->base_len = maildir_name_base_len(name);
	f->cur = cur;
}

int
maildir_scan_dir(struct maildir_scan *scan, const char *dir, bool cur,
    const char **error_r)
{
	const char *sub = cur ? "cur" : "new";
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	maildir_readdir_count++;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, sub) >=
	    sizeof(path)) {
		*error_r = error_fmt("%s: path too long", dir);
		return -1;
	}
	if ((d = opendir(path)) == NULL) {
		/* ENOENT: a Maildir still being created, or being removed. */
		*error_r = error_code_fmt(errno == ENOENT ?
		    ERROR_NOT_FOUND : ERROR_INTERNAL, "%s: %s", path,
		    strerror(errno));
		return -1;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		/* Dot files are not messages (Maildir); names the UID list
		 * cannot hold are skipped rather than misread. */
		if (de->d_name[0] == '.' || strchr(de->d_name, '\n') != NULL ||
		    strlen(de->d_name) > UIDLIST_LINE_MAX - 16)
			continue;
		if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
			continue;
		maildir_scan_add(scan, de->d_name, cur);
	}
	if (errno != 0) {
		*error_r = error_fmt("%s: %s", path, strerror(errno));
		closedir(d);
		return -1;
	}
	closedir(d);
	return 0;
}

static int
base_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* Order by base name, cur/ before new/ for the same base. */
static int
scanned_cmp(const void *a, const void *b)
{
	const struct maildir_file *x = a, *y = b;
	int c = base_cmp(x->name, x->base_len, y->name, y->base_len);

	if (c != 0)
		return c;
	return (int)y->cur - (int)x->cur;
}

static int
scanned_ptr_name_cmp(const void *a, const void *b)
{
	const struct maildir_file *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

static int
scanned_uid_cmp(const void *a, const void *b)
{
	const struct maildir_file *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static struct maildir_file *
scan_find(struct maildir_scan *scan, const char *base)
{
	size_t lo = 0, hi = scan->count, blen = strlen(base);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct maildir_file *f = &scan->files[mid];
		int c = base_cmp(base, blen, f->name, f->base_len);

		if (c == 0)
			return f;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* The snapshot of a scan that maildir_sync_scan ordered by UID. */
static struct store_folder *
snapshot(uint32_t uidvalidity, uint32_t uidnext, struct maildir_scan *scan)
{
	struct store_folder *folder = xcalloc(1, sizeof(*folder));
	struct maildir_file *f;
	size_t i;

	folder->uidvalidity = uidvalidity;
	folder->uidnext = uidnext;
	if (scan->count > 0)
		folder->messages = xcalloc(scan->count,
		    sizeof(*folder->messages));
	for (i = 0; i < scan->count; i++) {
		f = &scan->files[i];
		folder->messages[folder->count].uid = f->uid;
		folder->messages[folder->count].file = xasprintf("%s/%s",
		    f->cur ? "cur" : "new", f->name);
		folder->messages[folder->count].flags =
		    maildir_name_flags(f->name);
		folder->count++;
	}
	return folder;
}

int
maildir_sync_scan(struct store *store, const char *dir,
    struct maildir_scan *scan, uint32_t *uidvalidity_r, uint32_t *uidnext_r,
    const char **error_r)
{
	struct folder_cache *cache = NULL;
	struct maildir_uidlist *list;
	struct maildir_file **fresh = NULL, *f;
	size_t i, j, nfresh = 0;
	bool changed = false, *keep = NULL;
	uint32_t uid;
	int ret = -1, loaded;

	if ((loaded = list_load(store, dir, &cache, error_r)) < 0)
		return -1;
	list = cache->list;
	changed = loaded == 0;
	if (scan->count > 0)
		qsort(scan->files, scan->count, sizeof(*scan->files),
		    scanned_cmp);
	/* A message caught between new/ and cur/ by another program's
	 * rename can show up in both: keep one (cur/, sorted first). */
	for (i = 0, j = 0; i < scan->count; i++) {
		scan->files[i].matched = false;
		scan->files[i].uid = 0;
		if (j > 0 && base_cmp(scan->files[j - 1].name,
		    scan->files[j - 1].base_len, scan->files[i].name,
		    scan->files[i].base_len) == 0) {
			free(scan->files[i].name);
			continue;
		}
		scan->files[j++] = scan->files[i];
	}
	scan->count = j;

	/* Entries whose files are gone are dropped. */
	keep = xcalloc(list->count + 1, sizeof(*keep));
	for (i = 0; i < list->count; i++) {
		if ((f = scan_find(scan, list->bases[i])) != NULL &&
		    !f->matched) {
			f->matched = true;
			f->uid = list->uids[i];
			keep[i] = true;
		} else {
			changed = true;
		}
	}
	maildir_uidlist_filter(list, keep);

	/* Files nobody gave a UID: appended in name order. */
	fresh = xcalloc(scan->count + 1, sizeof(*fresh));
	for (i = 0; i < scan->count; i++) {
		if (!scan->files[i].matched)
			fresh[nfresh++] = &scan->files[i];
	}
	if (nfresh > 0)
		qsort(fresh, nfresh, sizeof(*fresh), scanned_ptr_name_cmp);
	for (i = 0; i < nfresh; i++) {
		if (maildir_uidlist_append(list, fresh[i]->name,
		    fresh[i]->base_len, &uid) < 0) {
			*error_r = error_code_fmt(ERROR_LIMIT,
			    "%s: folder is out of UIDs", dir);
			folder_cache_free(&cache);
			goto out;
		}
		fresh[i]->uid = uid;
		fresh[i]->matched = true;
		changed = true;
	}
	if (changed && maildir_uidlist_write(dir, list, NULL, error_r) < 0) {
		folder_cache_free(&cache);
		goto out;
	}
	*uidvalidity_r = list->uidvalidity;
	*uidnext_r = list->uidnext;
	if (changed)
		list_written(store, cache);
	else
		cache_put(store, cache);
	cache = NULL;
	if (scan->count > 0)
		qsort(scan->files, scan->count, sizeof(*scan->files),
		    scanned_uid_cmp);
	ret = 0;
out:
	free(fresh);
	free(keep);
	return ret;
}

int
maildir_sync(struct store *store, const char *dir,
    struct store_folder **folder_r, const char **error_r)
{
	struct maildir_scan scan = { 0 };
	uint32_t uidvalidity, uidnext;
	int lock_fd, ret = -1;
	struct stat st;

	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		*error_r = error_code_fmt(ERROR_NOT_FOUND,
		    "%s: no such folder", dir);
		return -1;
	}
	if ((lock_fd = maildir_uidlist_lock(dir, error_r)) < 0)
		return -1;
	if (maildir_scan_dir(&scan, dir, false, error_r) < 0 ||
	    maildir_scan_dir(&scan, dir, true, error_r) < 0 ||
	    maildir_sync_scan(store, dir, &scan, &uidvalidity, &uidnext,
	    error_r) < 0)
		goto out;
	*folder_r = snapshot(uidvalidity, uidnext, &scan);
	ret = 0;
out:
	maildir_scan_free(&scan);
	maildir_uidlist_unlock(&lock_fd);
	return ret;
}

int
maildir_list_remove(struct store *store, const char *dir,
    const uint32_t *uids, size_t count, const char **error_r)
{
	struct folder_cache *cache;
	struct maildir_uidlist *list;
	bool *keep, changed = false;
	size_t i, j = 0;

	if (list_load(store, dir, &cache, error_r) < 0)
		return -1;
	list = cache->list;
	keep = xcalloc(list->count + 1, sizeof(*keep));
	for (i = 0; i < list->count; i++) {
		while (j < count && uids[j] < list->uids[i])
			j++;
		keep[i] = !(j < count && uids[j] == list->uids[i]);
		if (!keep[i])
			changed = true;
	}
	maildir_uidlist_filter(list, keep);
	free(keep);
	if (!changed) {
		cache_put(store, cache);
		return 0;
	}
	if (maildir_uidlist_write(dir, list, NULL, error_r) < 0) {
		folder_cache_free(&cache);
		return -1;
	}
	list_written(store, cache);
	return 0;
}

int
maildir_list_hold(struct store *store, const char *dir,
    struct folder_cache **cache_r, const struct maildir_uidlist **list_r,
    const char **error_r)
{
	int ret = list_load(store, dir, cache_r, error_r);

	if (ret >= 0)
		*list_r = (*cache_r)->list;
	return ret;
}

void
maildir_list_release(struct store *store, struct folder_cache *cache)
{
	cache_put(store, cache);
}
