/*
 * Stamps of a folder's new/, cur/ and UID list (store-stamp.h): the
 * three stat()s that tell a folder index whether it must read the disk
 * again.
 */
#include "store/store-stamp.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "store/maildir-uidlist.h"

int
store_stamp_take(const char *path, struct stamp *st_r)
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

bool
store_stamp_same(const struct stamp *a, const struct stamp *b)
{
	return a->valid && store_stamp_equal(a, b);
}

bool
store_stamp_equal(const struct stamp *a, const struct stamp *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	    a->mtime.tv_sec == b->mtime.tv_sec &&
	    a->mtime.tv_nsec == b->mtime.tv_nsec;
}

int
store_stamp_folder_locked(const char *dir, struct folder_stamps *fs_r)
{
	char path[PATH_MAX];

	memset(fs_r, 0, sizeof(*fs_r));
	if (snprintf(path, sizeof(path), "%s/new", dir) >=
	    (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (store_stamp_take(path, &fs_r->new_st) < 0)
		return -1;
	(void)snprintf(path, sizeof(path), "%s/cur", dir);
	if (store_stamp_take(path, &fs_r->cur_st) < 0)
		return -1;
	(void)snprintf(path, sizeof(path), "%s/%s", dir,
	    MAILDIR_UIDLIST_FILE);
	(void)store_stamp_take(path, &fs_r->list_st);
	/* Our own change, under the lock: trusted within the clock tick;
	 * only a program that ignores the lock could slip in unseen, and
	 * its change shows at the directory's next change. */
	fs_r->new_st.valid = fs_r->cur_st.valid = true;
	fs_r->list_st.valid = fs_r->list_st.ino != 0;
	return 0;
}
