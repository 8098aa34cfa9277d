/*
 * The store's own appends, handed from the thread that commits them to
 * the folder's index on the loop: a delivery then costs the index three
 * stat()s instead of reading new/ and the UID list again, which grows
 * with the folder. Each commit round stamps the folder under its lock
 * before and after its changes; an index whose stamps are the round's
 * "before" knows the folder held nothing else, and takes the round.
 */
#include "store/store.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lib/limits.h"
#include "lib/xmalloc.h"
#include "store/maildir-flags.h"
#include "store/maildir-private.h"
#include "store/maildir-uidlist.h"
#include "store/maildir.h"
#include "store/store-index-private.h"
#include "store/store-private.h"

/* One message a round committed. */
struct appended_msg {
	uint32_t uid;
	bool cur;		/* in cur/ (else new/) */
	char *name;		/* its file name there */
};

/* One commit round's messages in one folder. */
struct store_appended {
	char *dir;			/* folder directory */
	uint32_t uidvalidity;
	uint32_t uidnext;		/* the UID list's after the round */
	struct folder_stamps before;	/* under the lock, before it */
	struct folder_stamps after;	/* ...and after it */
	struct appended_msg *msgs;	/* ascending UID */
	size_t count;
	struct store_appended *next;
};

static void
appended_free(struct store_appended **rp)
{
	struct store_appended *r = *rp;

	if (r == NULL)
		return;
	for (size_t i = 0; i < r->count; i++)
		free(r->msgs[i].name);
	free(r->msgs);
	free(r->dir);
	free(r);
	*rp = NULL;
}

void
store_appended_record(struct store *store,
    const struct maildir_commit_folder *f)
{
	struct store_appended *r, *old;
	size_t i;

	r = xcalloc(1, sizeof(*r));
	r->dir = xstrdup(f->dir);
	r->uidvalidity = f->cache->list->uidvalidity;
	r->uidnext = f->cache->list->uidnext;
	r->before = f->before;
	r->after = f->after;
	r->msgs = xreallocarray(NULL, f->count, sizeof(*r->msgs));
	for (i = 0; i < f->count; i++) {
		const struct maildir_commit_item *item = &f->items[i];

		if (item->status != 0)
			continue;
		r->msgs[r->count].uid = item->uid;
		r->msgs[r->count].cur = item->cur_name != NULL;
		r->msgs[r->count++].name = xstrdup(item->cur_name != NULL ?
		    item->cur_name : item->base);
	}
	pthread_mutex_lock(&store->lock);
	if (store->appended_count == STORE_APPENDED_MAX) {
		/* Forget the oldest: it costs one folder sync at worst. */
		old = store->appended;
		store->appended = old->next;
		if (store->appended == NULL)
			store->appended_tail = &store->appended;
		store->appended_count--;
		old->next = NULL;
	} else {
		old = NULL;
	}
	*store->appended_tail = r;
	store->appended_tail = &r->next;
	store->appended_count++;
	pthread_mutex_unlock(&store->lock);
	appended_free(&old);
}

void
store_appended_free_all(struct store *store)
{
	struct store_appended *r, *next;

	for (r = store->appended; r != NULL; r = next) {
		next = r->next;
		appended_free(&r);
	}
	store->appended = NULL;
	store->appended_tail = &store->appended;
	store->appended_count = 0;
}

/*
 * Whether round r follows what ix holds: only UIDs ix has not seen, and
 * the folder as ix last stamped it when the round began. A stamp taken
 * within its mtime's clock tick is not valid (a later change in the
 * tick would not show); it is trusted here only while the watcher runs,
 * since ix was stamped under the folder's lock, so only a program that
 * ignores the lock could have come in between, and the watcher has
 * such a file given a UID, which changes the UID list.
 */
static bool
appended_fits(const struct store_index *ix, const struct store_appended *r,
    bool watching)
{
	if (r->count == 0 || r->uidvalidity != ix->uidvalidity ||
	    r->msgs[0].uid < ix->uidnext ||
	    (ix->count > 0 && r->msgs[0].uid <= ix->msgs[ix->count - 1].uid))
		return false;
	if (!watching && (!ix->new_st.valid || !ix->cur_st.valid ||
	    !ix->list_st.valid))
		return false;
	return store_stamp_equal(&ix->new_st, &r->before.new_st) &&
	    store_stamp_equal(&ix->cur_st, &r->before.cur_st) &&
	    store_stamp_equal(&ix->list_st, &r->before.list_st);
}

/* Add round r's messages to ix (their names move over). */
static void
appended_apply(struct store_index *ix, struct store_appended *r)
{
	struct index_msg *m;
	size_t i;

	if (ix->count + r->count > ix->cap) {
		ix->cap = ix->count + r->count;
		ix->msgs = xreallocarray(ix->msgs, ix->cap, sizeof(*ix->msgs));
	}
	for (i = 0; i < r->count; i++) {
		m = &ix->msgs[ix->count++];
		memset(m, 0, sizeof(*m));
		m->uid = r->msgs[i].uid;
		m->cur = r->msgs[i].cur;
		m->flags = (uint8_t)maildir_name_flags(r->msgs[i].name);
		m->keywords = maildir_name_keywords(r->msgs[i].name);
		m->name = r->msgs[i].name;
		r->msgs[i].name = NULL;
	}
	if (r->uidnext > ix->uidnext)
		ix->uidnext = r->uidnext;
	ix->new_st = r->after.new_st;
	ix->cur_st = r->after.cur_st;
	ix->list_st = r->after.list_st;
}

bool
store_appended_take(struct store_index *ix)
{
	struct store *store = ix->store;
	struct store_appended *r, **pp, *mine = NULL, **tail = &mine;
	bool added = false, watching;

	/* This folder's rounds, in the order they were committed. */
	pthread_mutex_lock(&store->lock);
	for (pp = &store->appended; (r = *pp) != NULL;) {
		if (strcmp(r->dir, ix->dir) != 0) {
			pp = &r->next;
			continue;
		}
		*pp = r->next;
		r->next = NULL;
		*tail = r;
		tail = &r->next;
		store->appended_count--;
	}
	store->appended_tail = pp;
	watching = store->watching;
	pthread_mutex_unlock(&store->lock);

	while ((r = mine) != NULL) {
		mine = r->next;
		if (!ix->gone && ix->loaded && appended_fits(ix, r, watching)) {
			appended_apply(ix, r);
			added = true;
		}
		appended_free(&r);
	}
	return added;
}
