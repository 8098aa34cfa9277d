/*
 * Messages received into a file instead of memory: the spool file in a
 * folder's tmp/ that LMTP DATA and APPEND literals are written to as
 * they arrive, and handing it to a delivery job (the first target takes
 * the file, others get copies) or to an APPEND.
 */
#include "store/store.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "store/maildir.h"
#include "store/maildir-flags.h"
#include "store/store-job-private.h"
#include "store/store-private.h"

struct store_spool {
	/* Fixed at store_spool_new(). */
	struct store *store;
	char *user;
	char *folder;		/* canonical name */
	char *prefix;		/* header lines before the body */
	size_t prefix_len;
	uint64_t prefix_crlf;	/* prefix length with CRLF line ends */
	char *dir;		/* the folder directory */

	/* The file. */
	int fd;			/* read-write; -1 once closed */
	char *path;		/* in dir/tmp/; NULL once taken or removed */
	uint64_t size;		/* body bytes written */
	uint64_t crlf_extra;	/* bare LFs in the body */
	bool cr;		/* the last body byte was a CR */

	/* The first failure, kept for whoever takes the spool. */
	char *error;
	enum error_code error_code;
};

int
store_spool_new(struct store *store, const char *user, const char *folder,
    const char *prefix, struct store_spool **spool_r, const char **error_r)
{
	struct store_spool *spool;
	char *base, *path;
	const char *error;
	bool cr = false;
	int fd;

	spool = xcalloc(1, sizeof(*spool));
	spool->store = store;
	spool->fd = -1;
	spool->user = xstrdup(user);
	spool->folder = xstrdup(store_folder_canonical(folder));
	spool->prefix = xstrdup(prefix);
	spool->prefix_len = strlen(prefix);
	spool->prefix_crlf = spool->prefix_len + maildir_crlf_extra(
	    (const unsigned char *)prefix, spool->prefix_len, &cr);
	*spool_r = spool;
	if (maildir_folder_dir(store, user, spool->folder, &spool->dir,
	    &error) < 0 ||
	    maildir_open_tmp(store, spool->dir, 0, 0, &fd, &path, &base,
	    &error) < 0) {
		spool->error = xstrdup(error);
		spool->error_code = error_code(error);
		*error_r = error;
		return -1;
	}
	free(base);
	spool->path = path;
	spool->fd = fd;
	if (store_spool_write(spool, prefix, spool->prefix_len, error_r) < 0)
		return -1;
	/* The prefix is not body. */
	spool->size = 0;
	spool->crlf_extra = 0;
	spool->cr = false;
	return 0;
}

static const char *
spool_error(const struct store_spool *spool)
{
	return error_code_fmt(spool->error_code, "%s", spool->error);
}

int
store_spool_write(struct store_spool *spool, const void *data, size_t len,
    const char **error_r)
{
	const unsigned char *p = data;
	size_t done = 0;
	ssize_t n;

	if (spool->error != NULL) {
		*error_r = spool_error(spool);
		return -1;
	}
	while (done < len) {
		n = write(spool->fd, p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n == 0 ? EIO : errno;

			spool->error = xstrdup(error_errno(spool->path, err));
			spool->error_code = error_code_errno(err);
			/* Give the space back at once. */
			if (ftruncate(spool->fd, 0) == -1)
				log_warn("ftruncate %s", spool->path);
			*error_r = spool_error(spool);
			return -1;
		}
		done += (size_t)n;
	}
	spool->size += len;
	spool->crlf_extra += maildir_crlf_extra(p, len, &spool->cr);
	return 0;
}

uint64_t
store_spool_size(const struct store_spool *spool)
{
	return spool->size;
}

void
store_spool_close(struct store_spool *spool)
{
	int err;

	if (spool->fd < 0)
		return;
	/* Linux closes the descriptor even when close() fails. */
	if (close(spool->fd) < 0 && errno != EINTR && spool->error == NULL) {
		err = errno;
		spool->error = xstrdup(error_errno(spool->path, err));
		spool->error_code = error_code_errno(err);
	}
	spool->fd = -1;
}

void
store_spool_free(struct store_spool **spoolp)
{
	struct store_spool *spool = *spoolp;

	if (spool == NULL)
		return;
	if (spool->fd >= 0)
		close(spool->fd);
	if (spool->path != NULL)
		(void)unlink(spool->path);
	free(spool->user);
	free(spool->folder);
	free(spool->prefix);
	free(spool->dir);
	free(spool->path);
	free(spool->error);
	free(spool);
	*spoolp = NULL;
}

/* The spool's message (prefix + body) with its CRLF size. */
static void
spool_sizes(const struct store_spool *spool, const char *prefix,
    uint64_t *size_r, uint64_t *crlf_size_r)
{
	size_t prefix_len = strlen(prefix);
	bool cr = false;

	*size_r = prefix_len + spool->size;
	*crlf_size_r = *size_r + spool->crlf_extra + maildir_crlf_extra(
	    (const unsigned char *)prefix, prefix_len, &cr);
}

/* fsync the spool's file, open or closed (store_spool_close). 0, or -1
 * with errno set. */
static int
spool_fsync(const struct store_spool *spool)
{
	if (spool->fd >= 0)
		return fsync(spool->fd);
	return fsync_file(spool->path);
}

/*
 * Give the spooled file its final name in dir/tmp/ (for the message it
 * holds), taking it from the spool. With sync it is fsynced too.
 */
static int
spool_take(struct store_spool *spool, const char *dir, bool sync,
    char **tmp_path_r, char **base_r, const char **error_r)
{
	uint64_t size, crlf_size;

	if (spool->error != NULL) {
		*error_r = spool_error(spool);
		return -1;
	}
	if (sync && spool_fsync(spool) < 0) {
		*error_r = error_errno(spool->path, errno);
		return -1;
	}
	spool_sizes(spool, spool->prefix, &size, &crlf_size);
	if (maildir_rename_tmp(spool->store, spool->path, dir, size, crlf_size,
	    tmp_path_r, base_r, error_r) < 0)
		return -1;
	free(spool->path);
	spool->path = NULL;
	return 0;
}

/* Write prefix and a copy of the spooled body as a new file in dir/tmp/
 * (the spool's file stays its own). */
static int
spool_copy(struct store_spool *spool, const char *dir, const char *prefix,
    bool sync, char **tmp_path_r, char **base_r, const char **error_r)
{
	uint64_t size, crlf_size, left = spool->size;
	loff_t off = (loff_t)spool->prefix_len;
	size_t prefix_len = strlen(prefix), done = 0;
	char *path, *base;
	ssize_t n;
	int fd, err;

	if (spool->error != NULL) {
		*error_r = spool_error(spool);
		return -1;
	}
	assert(spool->fd >= 0);		/* jobs never close their spool */
	spool_sizes(spool, prefix, &size, &crlf_size);
	if (maildir_open_tmp(spool->store, dir, size, crlf_size, &fd, &path,
	    &base, error_r) < 0)
		return -1;
	while (done < prefix_len) {
		n = write(fd, prefix + done, prefix_len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		done += (size_t)n;
	}
	/* In the kernel: no copy passes through this process's memory. */
	while (left > 0) {
		n = copy_file_range(spool->fd, &off, fd, NULL,
		    left > (1u << 30) ? (1u << 30) : (size_t)left, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			goto fail;
		}
		left -= (uint64_t)n;
	}
	if (maildir_tmp_done(fd, sync) < 0) {
		fd = -1;
		goto fail;
	}
	*tmp_path_r = path;
	*base_r = base;
	return 0;
fail:
	err = errno;
	*error_r = error_errno(path, err);
	if (fd >= 0)
		close(fd);
	(void)unlink(path);
	free(path);
	free(base);
	return -1;
}

/* ---- delivery jobs ---- */

struct store_job *
store_job_new_spool(struct store_spool *spool)
{
	struct store_job *job = store_job_new(NULL, 0);

	job->spool = spool;
	return job;
}

bool
store_spool_matches(const struct store_spool *spool, const char *user,
    const char *folder, const char *prefix)
{
	return strcmp(spool->user, user) == 0 &&
	    strcmp(spool->folder, folder) == 0 &&
	    strcmp(spool->prefix, prefix) == 0;
}

int
store_spool_write_target(struct store_spool *spool, struct store_target *t,
    bool sync, const char **error_r)
{
	if (t->from_spool)
		return spool_take(spool, t->dir, sync, &t->tmp_path, &t->base,
		    error_r);
	return spool_copy(spool, t->dir, t->prefix, sync, &t->tmp_path,
	    &t->base, error_r);
}

/* ---- APPEND ---- */

int
store_spool_take_for_append(struct store_spool *spool, const char *user,
    const char *dir, char **tmp_path_r, char **base_r, const char **error_r)
{
	if (strcmp(spool->user, user) != 0 || spool->prefix_len != 0) {
		*error_r = "spool made for another user";
		return -1;
	}
	/* Into the folder's own tmp/; the commit fsyncs it. */
	return spool_take(spool, dir, false, tmp_path_r, base_r, error_r);
}

int
store_append_spool(struct store *store, const char *user, const char *folder,
    struct store_spool *spool, unsigned flags, const char *const *keywords,
    size_t count_kw, int64_t internal_date, uint32_t *uidvalidity_r,
    uint32_t *uid_r, const char **error_r)
{
	char *dir, *tmp, *base;
	int ret;

	if (store_append_dir(store, user, folder, &dir, error_r) < 0)
		return -1;
	if (store_spool_take_for_append(spool, user, dir, &tmp, &base,
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
