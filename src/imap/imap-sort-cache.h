/*
 * The sort keys of messages kept between SORT and THREAD commands, for
 * all sessions of the server: a webmail that sorts a folder on every
 * page view would otherwise have every message's header read and parsed
 * each time. A Maildir message never changes once it has a UID (only
 * its flags, which are not keys), so an entry for (user, folder,
 * UIDVALIDITY, UID) stays true for as long as that message exists.
 * Pure (no I/O); event-loop thread only.
 */
#ifndef MB_IMAP_IMAP_SORT_CACHE_H
#define MB_IMAP_IMAP_SORT_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "imap/imap-sort.h"

struct imap_sort_cache;
/* The entries of one folder under one UIDVALIDITY. */
struct imap_sort_cache_folder;

/* A cache that holds at most max_msgs messages' keys in all. */
struct imap_sort_cache *imap_sort_cache_new(size_t max_msgs);
/* Every folder must have been closed. */
void imap_sort_cache_free(struct imap_sort_cache **cachep);

/*
 * The folder's entries, made if missing (a folder of the same name
 * under another UIDVALIDITY is dropped first), held open until
 * imap_sort_cache_close(): an open folder is never dropped to make
 * room.
 */
struct imap_sort_cache_folder *imap_sort_cache_open(
    struct imap_sort_cache *cache, const char *user, const char *folder,
    uint32_t uidvalidity);
/* Close; with live_count the number of messages the folder has now, the
 * folder's entries are dropped when they hold many more (expunged
 * messages), to be made afresh. */
void imap_sort_cache_close(struct imap_sort_cache *cache,
    struct imap_sort_cache_folder **folderp, size_t live_count);

/* The cached keys of uid, or NULL. Valid until the next put or close. */
const struct imap_sort_msg *imap_sort_cache_get(
    const struct imap_sort_cache_folder *folder, uint32_t uid);
/* Keep a copy of m's keys (by m->uid; its seq is not kept). When the
 * cache is full, the least recently opened folders that are not open
 * are dropped; if that is not enough m is not kept. */
void imap_sort_cache_put(struct imap_sort_cache *cache,
    struct imap_sort_cache_folder *folder, const struct imap_sort_msg *m);

/* Messages held in all (for tests and metrics). */
size_t imap_sort_cache_count(const struct imap_sort_cache *cache);

#endif
