/*
 * What the maildir*.c files share: the parsed UID lists kept between
 * calls (one per folder, most recently used first, on store->caches
 * under store->lock). Internal to the store.
 */
#ifndef MB_STORE_MAILDIR_PRIVATE_H
#define MB_STORE_MAILDIR_PRIVATE_H

#include <sys/types.h>
#include <time.h>

#include "store/maildir-uidlist.h"

struct store;

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

void maildir_cache_free(struct folder_cache **cachep);
/* Put an entry back at the front, evicting the least recently used. */
void maildir_cache_put(struct store *store, struct folder_cache *cache);

/*
 * The folder's UID list, under its lock: the cached one if the file is
 * unchanged, else read from disk. Returns 1 (list found), 0 (the folder
 * has none yet: an empty list with a fresh UIDVALIDITY is returned) or
 * -1 with *error_r. A corrupt list is replaced by a fresh one (with a
 * warning): its messages are picked up again with new UIDs, nothing is
 * lost.
 */
int maildir_list_load(struct store *store, const char *dir,
    struct folder_cache **cache_r, const char **error_r);
/* After writing the list: remember the file it now is. */
void maildir_list_written(struct store *store, struct folder_cache *cache);

#endif
