/*
 * Stamps: what a stat() said of a folder's new/, cur/ and UID list, so
 * that a folder index can tell whether the disk changed since it read
 * it. Internal to the store.
 */
#ifndef MB_STORE_STORE_STAMP_H
#define MB_STORE_STORE_STAMP_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

/* What a stat() said of new/, cur/ or the UID list when last read. */
struct stamp {
	bool valid;		/* recorded, and a later change would show */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

/* new/, cur/ and the UID list of one folder. */
struct folder_stamps {
	struct stamp new_st;
	struct stamp cur_st;
	struct stamp list_st;	/* zero if there is no list */
};

/*
 * Stamp path. valid is set only once the coarse clock has moved past
 * the mtime: a change later within the same tick would keep it. 0, or
 * -1 with errno (st_r zeroed).
 */
int store_stamp_take(const char *path, struct stamp *st_r);
/* True if a is valid and names the same file in the same state as b. */
bool store_stamp_same(const struct stamp *a, const struct stamp *b);
/* True if a and b name the same file in the same state, valid or not. */
bool store_stamp_equal(const struct stamp *a, const struct stamp *b);
/*
 * Stamp dir's new/, cur/ and UID list, trusting them within the clock
 * tick: for a writer holding the folder's lock, who knows what it
 * changed itself. 0, or -1 with errno if new/ or cur/ cannot be
 * stat'ed.
 */
int store_stamp_folder_locked(const char *dir, struct folder_stamps *fs_r);

#endif
