/*
 * The event hub: subscribers, the per-folder record of what was
 * announced so that one landed message noticed by several paths (its
 * delivery, the watcher's sync) makes exactly one MessageNew event, and
 * the other RFC 5423 events the IMAP-facing calls report. Used from the
 * event-loop thread only.
 *
 * Per folder we keep a settled mark (every UID up to it was announced or
 * is no longer news) and the announced UIDs above it. A plain "highest
 * UID announced" would lose an event when a message from another process
 * (a lower UID) is noticed after our own delivery of a higher one.
 */
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/hash.h"
#include "lib/limits.h"
#include "lib/stats.h"
#include "lib/xmalloc.h"
#include "store/store-private.h"

struct hub_sub {
	unsigned id;
	unsigned mask;		/* enum store_event_type bits */
	store_event_cb *cb;
	void *ctx;
};

struct hub_folder {
	struct hash_node node;	/* in store_hub.folders */
	char *user;
	char *folder;
	uint32_t uidvalidity;	/* 0: nothing known yet */
	uint32_t settled;	/* every UID <= settled is not news */
	uint32_t *above;	/* announced UIDs > settled, ascending */
	size_t count;
};

struct store_hub {
	struct hub_sub *subs;
	size_t nsubs;
	unsigned next_id;
	struct hash_table folders;	/* struct hub_folder by (user,
					   folder) */
};

static uint64_t
hub_hash(const char *user, const char *folder)
{
	/* FNV-1a over "user\0folder". */
	return hash_fnv1a(folder, strlen(folder),
	    hash_fnv1a(user, strlen(user) + 1, HASH_FNV1A_INIT));
}

static uint64_t
hub_folder_hash_cb(const struct hash_node *node)
{
	const struct hub_folder *f =
	    HASH_ENTRY(node, const struct hub_folder, node);

	return hub_hash(f->user, f->folder);
}

static struct store_hub *
hub_get(struct store *store)
{
	if (store->hub == NULL) {
		store->hub = xcalloc(1, sizeof(*store->hub));
		hash_init(&store->hub->folders, 256, hub_folder_hash_cb);
	}
	return store->hub;
}

void
store_hub_free(struct store *store)
{
	struct store_hub *hub = store->hub;
	struct hash_iter it;
	struct hash_node *node;

	if (hub == NULL)
		return;
	hash_iter_init(&it, &hub->folders);
	while ((node = hash_iter_next(&it)) != NULL) {
		struct hub_folder *f = HASH_ENTRY(node, struct hub_folder,
		    node);

		free(f->user);
		free(f->folder);
		free(f->above);
		free(f);
	}
	hash_free(&hub->folders);
	free(hub->subs);
	free(hub);
	store->hub = NULL;
}

void
store_hub_forget_user(struct store *store, const char *user)
{
	struct store_hub *hub = store->hub;
	struct hash_iter it;
	struct hash_node *node;
	struct hub_folder *f;

	if (hub == NULL)
		return;
	hash_iter_init(&it, &hub->folders);
	while ((node = hash_iter_next(&it)) != NULL) {
		f = HASH_ENTRY(node, struct hub_folder, node);
		if (strcmp(f->user, user) != 0)
			continue;
		hash_remove(&hub->folders, node, hub_hash(f->user, f->folder));
		free(f->user);
		free(f->folder);
		free(f->above);
		free(f);
	}
}

static struct hub_folder *
hub_folder(struct store *store, const char *user, const char *folder,
    bool create)
{
	struct store_hub *hub = hub_get(store);
	struct hash_node *node;
	struct hub_folder *f;
	uint64_t h;

	folder = store_folder_canonical(folder);
	h = hub_hash(user, folder);
	for (node = hash_bucket(&hub->folders, h); node != NULL;
	    node = node->next) {
		f = HASH_ENTRY(node, struct hub_folder, node);
		if (strcmp(f->user, user) == 0 && strcmp(f->folder, folder) == 0)
			return f;
	}
	if (!create)
		return NULL;
	f = xcalloc(1, sizeof(*f));
	f->user = xstrdup(user);
	f->folder = xstrdup(folder);
	hash_insert(&hub->folders, &f->node, h);
	return f;
}

/* Drop announced UIDs at or below the settled mark, then let the mark
 * run over any UIDs announced in sequence after it. */
static void
folder_compact(struct hub_folder *f)
{
	size_t i = 0;

	while (i < f->count && f->above[i] <= f->settled)
		i++;
	while (i < f->count && f->above[i] == f->settled + 1)
		f->settled = f->above[i++];
	if (i > 0) {
		memmove(f->above, f->above + i,
		    (f->count - i) * sizeof(*f->above));
		f->count -= i;
	}
	if (f->count > STORE_ANNOUNCED_PENDING_MAX) {
		/* Gaps nobody filled (UIDs used up by failed deliveries,
		 * messages expunged at once): stop waiting for them. */
		f->settled = f->above[0];
		folder_compact(f);
	}
}

static void
folder_reset(struct hub_folder *f, uint32_t uidvalidity, uint32_t settled)
{
	f->uidvalidity = uidvalidity;
	f->settled = settled;
	f->count = 0;
}

unsigned
store_subscribe(struct store *store, store_event_cb *cb, void *ctx)
{
	return store_subscribe_events(store, STORE_EVENT_MESSAGE_NEW, cb, ctx);
}

unsigned
store_subscribe_events(struct store *store, unsigned mask, store_event_cb *cb,
    void *ctx)
{
	struct store_hub *hub = hub_get(store);

	hub->subs = xreallocarray(hub->subs, hub->nsubs + 1,
	    sizeof(*hub->subs));
	hub->subs[hub->nsubs].mask = mask;
	hub->subs[hub->nsubs].id = ++hub->next_id;
	hub->subs[hub->nsubs].cb = cb;
	hub->subs[hub->nsubs].ctx = ctx;
	hub->nsubs++;
	return hub->next_id;
}

void
store_unsubscribe(struct store *store, unsigned id)
{
	struct store_hub *hub = hub_get(store);
	size_t i;

	for (i = 0; i < hub->nsubs; i++) {
		if (hub->subs[i].id == id) {
			memmove(hub->subs + i, hub->subs + i + 1,
			    (hub->nsubs - i - 1) * sizeof(*hub->subs));
			hub->nsubs--;
			return;
		}
	}
}

/* Record uid as announced in f. False if it was announced before. */
static bool
folder_mark(struct hub_folder *f, uint32_t uidvalidity, uint32_t uid)
{
	size_t i;

	if (f->uidvalidity != uidvalidity)
		folder_reset(f, uidvalidity, 0);
	if (uid <= f->settled)
		return false;
	for (i = 0; i < f->count && f->above[i] < uid; i++)
		;
	if (i < f->count && f->above[i] == uid)
		return false;
	f->above = xreallocarray(f->above, f->count + 1, sizeof(*f->above));
	memmove(f->above + i + 1, f->above + i,
	    (f->count - i) * sizeof(*f->above));
	f->above[i] = uid;
	f->count++;
	folder_compact(f);
	return true;
}

/* Hand ev to every subscriber of its type. */
static void
hub_emit(struct store_hub *hub, const struct store_event *ev)
{
	struct hub_sub *subs;
	size_t i, n;

	/* A callback may subscribe or unsubscribe: work on a copy. */
	n = hub->nsubs;
	if (n == 0)
		return;
	subs = xreallocarray(NULL, n, sizeof(*subs));
	memcpy(subs, hub->subs, n * sizeof(*subs));
	for (i = 0; i < n; i++) {
		if ((subs[i].mask & ev->type) != 0)
			subs[i].cb(ev, subs[i].ctx);
	}
	free(subs);
}

void
store_announce(struct store *store, const char *user, const char *folder,
    uint32_t uidvalidity, uint32_t uid)
{
	struct hub_folder *f = hub_folder(store, user, folder, true);
	struct store_event ev;

	if (uid == 0)
		return;
	if (!folder_mark(f, uidvalidity, uid))
		return;

	mb_stats.store_events_total++;
	memset(&ev, 0, sizeof(ev));
	ev.user = f->user;
	ev.folder = f->folder;
	ev.uidvalidity = uidvalidity;
	ev.uid = uid;
	ev.type = STORE_EVENT_MESSAGE_NEW;
	ev.uids = &ev.uid;
	ev.uid_count = 1;
	ev.landed_us = clock_now_us();
	hub_emit(store->hub, &ev);
	/* Sessions with the folder open learn of it at once. */
	store_index_poke_landed(store, f->user, f->folder, ev.landed_us);
}

void
store_announce_event(struct store *store, const char *user,
    const char *folder, uint32_t uidvalidity, enum store_event_type type,
    const uint32_t *uids, size_t count, unsigned flags)
{
	struct hub_folder *f;
	struct store_event ev;
	size_t i;

	if (count == 0)
		return;
	f = hub_folder(store, user, folder, true);
	/* What was appended is not news to MessageNew later, whichever
	 * way it is noticed again. */
	if (type == STORE_EVENT_MESSAGE_APPEND) {
		for (i = 0; i < count; i++)
			(void)folder_mark(f, uidvalidity, uids[i]);
	}
	memset(&ev, 0, sizeof(ev));
	ev.user = f->user;
	ev.folder = f->folder;
	ev.uidvalidity = uidvalidity;
	ev.uid = uids[0];
	ev.type = type;
	ev.uids = uids;
	ev.uid_count = count;
	ev.flags = flags;
	ev.landed_us = clock_now_us();
	hub_emit(store->hub, &ev);
}

void
store_announce_mailbox(struct store *store, const char *user,
    enum store_event_type type, const char *folder, const char *old_folder)
{
	struct store_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.user = user;
	ev.folder = store_folder_canonical(folder);
	ev.old_folder = old_folder != NULL ?
	    store_folder_canonical(old_folder) : NULL;
	ev.type = type;
	ev.landed_us = clock_now_us();
	hub_emit(hub_get(store), &ev);
}

uint32_t
store_announced_uid(struct store *store, const char *user,
    const char *folder)
{
	struct hub_folder *f = hub_folder(store, user, folder, false);

	return f != NULL ? f->settled : 0;
}

void
store_set_announced_uid(struct store *store, const char *user,
    const char *folder, uint32_t uidvalidity, uint32_t uid)
{
	struct hub_folder *f = hub_folder(store, user, folder, true);

	if (f->uidvalidity != uidvalidity) {
		folder_reset(f, uidvalidity, uid);
		return;
	}
	if (uid > f->settled)
		f->settled = uid;
	folder_compact(f);
}

void
store_hub_settle(struct store *store, const char *user, const char *folder,
    uint32_t uidvalidity, uint32_t last_uid)
{
	store_set_announced_uid(store, user, folder, uidvalidity, last_uid);
}
