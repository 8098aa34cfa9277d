/*
 * The sort-key cache: a list of folders, most recently opened first,
 * each a hash table of its messages' keys by UID.
 */
#include "imap/imap-sort-cache.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/hash.h"
#include "lib/xmalloc.h"

struct entry {
	struct hash_node node;
	struct imap_sort_msg m;
};

struct imap_sort_cache_folder {
	struct imap_sort_cache_folder *next;	/* in cache->folders */
	char *user;
	char *name;
	uint32_t uidvalidity;
	unsigned int opened;	/* open handles: not to be dropped */
	struct hash_table msgs;	/* struct entry by UID */
};

struct imap_sort_cache {
	struct imap_sort_cache_folder *folders;	/* most recent first */
	size_t count;		/* entries in all folders */
	size_t max;
};

static uint64_t
entry_hash_cb(const struct hash_node *node)
{
	return hash_u64(HASH_ENTRY(node, struct entry, node)->m.uid);
}

struct imap_sort_cache *
imap_sort_cache_new(size_t max_msgs)
{
	struct imap_sort_cache *cache = xcalloc(1, sizeof(*cache));

	cache->max = max_msgs;
	return cache;
}

/* Unlink folder f (found after *pp) and free it with its entries. */
static void
folder_drop(struct imap_sort_cache *cache,
    struct imap_sort_cache_folder **pp)
{
	struct imap_sort_cache_folder *f = *pp;
	struct hash_iter it;
	struct hash_node *n;

	*pp = f->next;
	hash_iter_init(&it, &f->msgs);
	while ((n = hash_iter_next(&it)) != NULL) {
		struct entry *e = HASH_ENTRY(n, struct entry, node);

		imap_sort_msg_clear(&e->m);
		free(e);
		cache->count--;
	}
	hash_free(&f->msgs);
	free(f->user);
	free(f->name);
	free(f);
}

void
imap_sort_cache_free(struct imap_sort_cache **cachep)
{
	struct imap_sort_cache *cache = *cachep;

	if (cache == NULL)
		return;
	while (cache->folders != NULL) {
		assert(cache->folders->opened == 0);
		folder_drop(cache, &cache->folders);
	}
	free(cache);
	*cachep = NULL;
}

struct imap_sort_cache_folder *
imap_sort_cache_open(struct imap_sort_cache *cache, const char *user,
    const char *folder, uint32_t uidvalidity)
{
	struct imap_sort_cache_folder **pp, *f;

	for (pp = &cache->folders; (f = *pp) != NULL; pp = &f->next) {
		if (strcmp(f->user, user) != 0 || strcmp(f->name, folder) != 0)
			continue;
		if (f->uidvalidity == uidvalidity || f->opened > 0) {
			*pp = f->next;		/* to the front */
			break;
		}
		folder_drop(cache, pp);		/* a folder made anew */
		f = NULL;
		break;
	}
	if (f == NULL) {
		f = xcalloc(1, sizeof(*f));
		f->user = xstrdup(user);
		f->name = xstrdup(folder);
		f->uidvalidity = uidvalidity;
		hash_init(&f->msgs, 64, entry_hash_cb);
	} else if (f->uidvalidity != uidvalidity) {
		/* Open under the old UIDVALIDITY by a session that has
		 * not seen the change yet: this one does without. */
		f->next = cache->folders;
		cache->folders = f;
		f = xcalloc(1, sizeof(*f));
		f->user = xstrdup(user);
		f->name = xstrdup(folder);
		f->uidvalidity = uidvalidity;
		hash_init(&f->msgs, 1, entry_hash_cb);
		f->opened = 1;
		return f;		/* private: never listed */
	}
	f->next = cache->folders;
	cache->folders = f;
	f->opened++;
	return f;
}

void
imap_sort_cache_close(struct imap_sort_cache *cache,
    struct imap_sort_cache_folder **folderp, size_t live_count)
{
	struct imap_sort_cache_folder *f = *folderp, **pp;

	if (f == NULL)
		return;
	*folderp = NULL;
	assert(f->opened > 0);
	f->opened--;
	for (pp = &cache->folders; *pp != NULL && *pp != f; pp = &(*pp)->next)
		;
	if (*pp == NULL) {		/* private */
		f->next = NULL;
		folder_drop(cache, &f);
		return;
	}
	if (f->opened == 0 && hash_count(&f->msgs) > 2 * live_count + 64)
		folder_drop(cache, pp);
}

const struct imap_sort_msg *
imap_sort_cache_get(const struct imap_sort_cache_folder *folder,
    uint32_t uid)
{
	for (struct hash_node *n = hash_bucket(&folder->msgs, hash_u64(uid));
	    n != NULL; n = n->next) {
		struct entry *e = HASH_ENTRY(n, struct entry, node);

		if (e->m.uid == uid)
			return &e->m;
	}
	return NULL;
}

/* Drop folders that are not open, oldest first, until there is room for
 * one more entry. */
static bool
make_room(struct imap_sort_cache *cache)
{
	while (cache->count >= cache->max) {
		struct imap_sort_cache_folder **pp, **last = NULL;

		for (pp = &cache->folders; *pp != NULL; pp = &(*pp)->next)
			if ((*pp)->opened == 0)
				last = pp;
		if (last == NULL)
			return false;
		folder_drop(cache, last);
	}
	return true;
}

void
imap_sort_cache_put(struct imap_sort_cache *cache,
    struct imap_sort_cache_folder *folder, const struct imap_sort_msg *m)
{
	struct entry *e;

	if (imap_sort_cache_get(folder, m->uid) != NULL || !make_room(cache))
		return;
	e = xcalloc(1, sizeof(*e));
	imap_sort_msg_copy(&e->m, m);
	e->m.seq = 0;
	hash_insert(&folder->msgs, &e->node, hash_u64(m->uid));
	cache->count++;
}

size_t
imap_sort_cache_count(const struct imap_sort_cache *cache)
{
	return cache->count;
}
