/*
 * One Maildir++ folder on disk: the parsed UID lists kept between
 * calls, creating a folder, and writing a message into tmp/. Committing
 * messages into new/ is in maildir-commit.c, syncing the UID list with
 * the files in maildir-sync.c.
 */
#include "store/maildir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
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
#include "lib/xmalloc.h"
#include "store/maildir-flags.h"
#include "store/maildir-private.h"
#include "store/maildir-uidlist.h"
#include "store/store-private.h"

void
maildir_cache_free(struct folder_cache **cachep)
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
		maildir_cache_free(&cache);
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
void
maildir_cache_put(struct store *store, struct folder_cache *cache)
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

		maildir_cache_free(&evict);
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
int
maildir_list_load(struct store *store, const char *dir,
    struct folder_cache **cache_r, const char **error_r)
{
	struct folder_cache *cache = cache_take(store, dir);
	char path[PATH_MAX];
	struct maildir_uidlist *list;
	struct stat st;
	int ret;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
	    MAILDIR_UIDLIST_FILE) >= sizeof(path)) {
		maildir_cache_free(&cache);
		*error_r = error_fmt("%s: path too long", dir);
		return -1;
	}
	if (stat(path, &st) == 0) {
		if (cache != NULL && cache_matches(cache, &st)) {
			*cache_r = cache;
			return 1;
		}
	} else if (errno != ENOENT) {
		maildir_cache_free(&cache);
		*error_r = error_errno(path, errno);
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
		maildir_cache_free(&cache);
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
void
maildir_list_written(struct store *store, struct folder_cache *cache)
{
	char path[PATH_MAX];
	struct stat st;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", cache->dir,
	    MAILDIR_UIDLIST_FILE) < sizeof(path) && stat(path, &st) == 0)
		cache_remember(cache, &st);
	maildir_cache_put(store, cache);
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

/* mkdir path: 1 made, 0 it was a directory already, -1 with errno. */
static int
mkdir_new(const char *path)
{
	struct stat st;

	if (mkdir(path, 0700) == 0)
		return 1;
	if (errno != EEXIST || stat(path, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

/* maildir_create's directories, without fsyncs: *made_r 1 if dir was
 * made, *child_r true if any of cur/, new/, tmp/ was; *parent_r is the
 * directory dir is in (PATH_MAX bytes). 0 or -1 with *error_r. */
static int
create_dirs(const char *dir, char *parent_r, int *made_r, bool *child_r,
    const char **error_r)
{
	static const char *const subdirs[] = { "cur", "new", "tmp" };
	char path[PATH_MAX], *slash;
	size_t i;

	if ((size_t)snprintf(parent_r, PATH_MAX, "%s", dir) >= PATH_MAX ||
	    (slash = strrchr(parent_r, '/')) == NULL || slash == parent_r) {
		*error_r = error_fmt("%s: not a path under the mail root",
		    dir);
		return -1;
	}
	*slash = '\0';
	/* The mail root and user directory: created by whoever is first;
	 * only the last level needs fsyncing by us. */
	if (access(parent_r, F_OK) < 0 && (mkdir_p(parent_r, 0700) < 0 ||
	    fsync_dir(parent_r) < 0)) {
		*error_r = error_errno(parent_r, errno);
		return -1;
	}
	if ((*made_r = mkdir_new(dir)) < 0) {
		*error_r = error_errno(dir, errno);
		return -1;
	}
	*child_r = false;
	for (i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		int ret;

		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		    subdirs[i]) >= sizeof(path)) {
			*error_r = error_fmt("%s: path too long", dir);
			return -1;
		}
		if ((ret = mkdir_new(path)) < 0) {
			*error_r = error_errno(path, errno);
			return -1;
		}
		*child_r |= ret > 0;
	}
	return 0;
}

int
maildir_create(const char *dir, const char **error_r)
{
	char parent[PATH_MAX];
	bool made_child;
	int made;

	if (create_dirs(dir, parent, &made, &made_child, error_r) < 0)
		return -1;
	/* Children first, then the folder's own entry, one fsync a level:
	 * a folder whose entry is durable has its cur/, new/ and tmp/. */
	if (made_child && fsync_dir(dir) < 0) {
		*error_r = error_errno(dir, errno);
		return -1;
	}
	if (made > 0 && fsync_dir(parent) < 0) {
		*error_r = error_errno(parent, errno);
		return -1;
	}
	return 0;
}

int
maildir_create_unsynced(const char *dir, const char **error_r)
{
	char parent[PATH_MAX];
	bool made_child;
	int made;

	return create_dirs(dir, parent, &made, &made_child, error_r);
}

int
maildir_new_name(struct store *store, uint64_t size, uint64_t crlf_size,
    char *base, size_t base_size)
{
	unsigned long long seq;
	struct timeval tv;

	pthread_mutex_lock(&store->lock);
	seq = ++store->name_seq;
	pthread_mutex_unlock(&store->lock);
	gettimeofday(&tv, NULL);
	return maildir_name_format(base, base_size, (long long)tv.tv_sec,
	    (long)tv.tv_usec, getpid(), seq, store->host, size, crlf_size);
}

/*
 * A fresh name for a message of size bytes (crlf_size with CRLF line
 * ends) in dir/tmp/: path (PATH_MAX bytes) and base (NAME_MAX + 1).
 */
static int
tmp_name(struct store *store, const char *dir, uint64_t size,
    uint64_t crlf_size, char *path, char *base, const char **error_r)
{
	if (maildir_new_name(store, size, crlf_size, base, NAME_MAX + 1) < 0 ||
	    (size_t)snprintf(path, PATH_MAX, "%s/tmp/%s", dir, base) >=
	    PATH_MAX) {
		*error_r = error_fmt("%s: file name too long", dir);
		return -1;
	}
	return 0;
}

int
maildir_open_tmp(struct store *store, const char *dir, uint64_t size,
    uint64_t crlf_size, int *fd_r, char **tmp_path_r, char **base_r,
    const char **error_r)
{
	char base[NAME_MAX + 1], path[PATH_MAX];
	bool created = false;
	int fd = -1, tries;

	for (tries = 0; tries < STORE_TMP_NAME_TRIES; tries++) {
		if (tmp_name(store, dir, size, crlf_size, path, base,
		    error_r) < 0)
			return -1;
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0)
			break;
		if (errno == ENOENT && !created) {
			if (maildir_create(dir, error_r) < 0)
				return -1;
			created = true;
			continue;
		}
		if (errno != EEXIST) {
			*error_r = error_errno(path, errno);
			return -1;
		}
	}
	if (fd < 0) {
		*error_r = error_fmt("%s/tmp: no unused file name", dir);
		return -1;
	}
	*fd_r = fd;
	*tmp_path_r = xstrdup(path);
	*base_r = xstrdup(base);
	return 0;
}

int
maildir_rename_tmp(struct store *store, const char *from, const char *dir,
    uint64_t size, uint64_t crlf_size, char **tmp_path_r, char **base_r,
    const char **error_r)
{
	char base[NAME_MAX + 1], path[PATH_MAX];
	int tries;

	for (tries = 0; tries < STORE_TMP_NAME_TRIES; tries++) {
		if (tmp_name(store, dir, size, crlf_size, path, base,
		    error_r) < 0)
			return -1;
		/* Never over another file, as O_EXCL for a new one. */
		if (renameat2(AT_FDCWD, from, AT_FDCWD, path,
		    RENAME_NOREPLACE) == 0) {
			*tmp_path_r = xstrdup(path);
			*base_r = xstrdup(base);
			return 0;
		}
		if (errno != EEXIST) {
			*error_r = error_errno(path, errno);
			return -1;
		}
	}
	*error_r = error_fmt("%s/tmp: no unused file name", dir);
	return -1;
}

int
maildir_write_tmp(struct store *store, const char *dir, const char *prefix,
    const unsigned char *body, size_t len, bool sync, char **tmp_path_r,
    char **base_r, const char **error_r)
{
	char *path, *base;
	size_t prefix_len = strlen(prefix), total = prefix_len + len;
	struct iovec iov[2];
	bool cr = false;
	int fd = -1, saved;
	uint64_t crlf_size;
	ssize_t n;
	size_t done = 0;

	/* IMAP sends the message with CRLF line ends; name that size too. */
	crlf_size = (uint64_t)total +
	    maildir_crlf_extra((const unsigned char *)prefix, prefix_len, &cr);
	crlf_size += maildir_crlf_extra(body, len, &cr);
	if (maildir_open_tmp(store, dir, total, crlf_size, &fd, &path, &base,
	    error_r) < 0)
		return -1;

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
	if (maildir_tmp_done(fd, sync) < 0) {
		fd = -1;
		goto fail;
	}
	*tmp_path_r = path;
	*base_r = base;
	return 0;
fail:
	saved = errno;
	*error_r = error_errno(path, saved);
	if (fd >= 0)
		close(fd);
	(void)unlink(path);
	free(path);
	free(base);
	errno = saved;
	return -1;
}

int
maildir_tmp_done(int fd, bool sync)
{
	int saved;

	/* Start writeback now; the commit's fsync then finds the blocks
	 * allocated in the running journal transaction and one commit
	 * covers the whole round. */
	if (sync) {
		if (fsync(fd) < 0) {
			saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
	} else {
		(void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	}
	return close(fd);
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
