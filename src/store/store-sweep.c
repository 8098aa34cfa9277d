/*
 * Sweeping tmp/: files that a delivery left behind when it died (a
 * crash between writing tmp/ and the rename into new/, a killed
 * `mailbell deliver`, another program's delivery) are removed once they
 * are STORE_TMP_MAX_AGE_SECS old, as the Maildir specification asks.
 * Runs on whatever thread calls it: the daemon calls it off its event
 * loop (store_queue_sweep).
 */
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/strnum.h"
#include "lib/xmalloc.h"
#include "store/store-private.h"

bool
store_tmp_expired(const char *name, const struct stat *st, time_t now)
{
	time_t limit = now - STORE_TMP_MAX_AGE_SECS;
	const char *p = name;
	uint64_t named;

	if (!S_ISREG(st->st_mode) || name[0] == '.')
		return false;
	/* A second link: a COPY's hard link waiting for its commit (it
	 * keeps its message's old times), and removing it frees nothing. */
	if (st->st_nlink != 1)
		return false;
	if (st->st_mtim.tv_sec > limit)
		return false;
	/* A Maildir name starts with the second it was made: APPEND sets
	 * a file's mtime to its internal date (maybe years ago) just
	 * before the commit, so the name, not the mtime, tells its age. */
	if (str_parse_u64(&p, NULL, 1ULL << 40, &named) == 0 && *p == '.' &&
	    (long long)named > (long long)limit)
		return false;
	return true;
}

/* Sweep one tmp/ directory; adds what it removed to *removed. */
static void
sweep_dir(const char *tmp, time_t now, size_t *removed)
{
	struct dirent *de;
	struct stat st;
	DIR *d;

	if ((d = opendir(tmp)) == NULL) {
		if (errno != ENOENT && errno != ENOTDIR)
			log_warn("sweep %s", tmp);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) < 0 ||
		    !store_tmp_expired(de->d_name, &st, now))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			(*removed)++;
		else if (errno != ENOENT)
			log_warn("sweep %s/%s", tmp, de->d_name);
	}
	closedir(d);
}

/* Sweep a user's INBOX and every folder ".X" of the Maildir udir (not
 * "..": a folder being deleted). */
static void
sweep_user(const char *udir, time_t now, size_t *removed)
{
	struct dirent *de;
	char *tmp;
	DIR *d;

	tmp = xasprintf("%s/tmp", udir);
	sweep_dir(tmp, now, removed);
	free(tmp);
	if ((d = opendir(udir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' || de->d_name[1] == '.' ||
		    de->d_name[1] == '\0')
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		tmp = xasprintf("%s/%s/tmp", udir, de->d_name);
		sweep_dir(tmp, now, removed);
		free(tmp);
	}
	closedir(d);
}

int
store_sweep_tmp(struct store *store, time_t now, size_t *removed_r,
    const char **error_r)
{
	const char *root = store_root(store);
	struct dirent *de;
	char *udir;
	DIR *d;

	*removed_r = 0;
	if ((d = opendir(root)) == NULL) {
		*error_r = error_errno(root, errno);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (!store_user_name_valid(de->d_name))
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		udir = xasprintf("%s/%s", root, de->d_name);
		sweep_user(udir, now, removed_r);
		free(udir);
	}
	closedir(d);
	return 0;
}
