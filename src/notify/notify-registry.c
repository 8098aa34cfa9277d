/*
 * The registry of notification registrations: a hash table by id, users
 * interned in a second table, and records taken from slabs. The files
 * that keep them and the epoch across restarts are notify-regfile.c's.
 */
#include "notify/notify-registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "directory/directory.h"
#include "lib/error.h"
#include "lib/strnum.h"
#include "lib/xmalloc.h"

/* Records per slab: one allocation of about 60 KB. */
#define REG_SLAB_RECORDS 256

/* Every record is a slab slot without an allocator header; keep it at
 * the size the memory budget of notify-registry.h assumes. */
_Static_assert(sizeof(struct notify_reg) <= 144,
    "a registration record outgrew its memory budget");

/* A block of records; free records are chained through unext. */
struct reg_slab {
	struct reg_slab *next;
	struct notify_reg recs[REG_SLAB_RECORDS];
};

/* The secret of a registration with NOTIFY_REG_OWN_SECRET. */
struct own_secret {
	struct hash_node hnode;		/* in the registry's own, by id */
	uint64_t id;
	unsigned char secret[NOTIFY_SECRET_LEN];
};

struct notify_registry {
	struct hash_table ids;		/* notify_reg.hnode, by id */
	struct hash_table users;	/* notify_user.hnode, by name */
	struct hash_table own;		/* own_secret.hnode, by id */
	unsigned max_per_user;
	unsigned max_total;
	uint32_t epoch;			/* the run's: keys are of it */
	unsigned char master[NOTIFY_MASTER_KEY_LEN];

	struct reg_slab *slabs;
	struct notify_reg *free_recs;	/* chained through unext */

	notify_reg_release_cb *release_cb;
	void *release_ctx;
};

/* ---- Hashing ---- */

static uint64_t
reg_hash_cb(const struct hash_node *node)
{
	return hash_u64(HASH_ENTRY(node, struct notify_reg, hnode)->id);
}

static uint64_t
own_hash_cb(const struct hash_node *node)
{
	return hash_u64(HASH_ENTRY(node, struct own_secret, hnode)->id);
}

static uint64_t
user_hash_cb(const struct hash_node *node)
{
	return hash_str(HASH_ENTRY(node, struct notify_user, hnode)->name);
}

/* ---- Records ---- */

static struct notify_reg *
rec_alloc(struct notify_registry *r)
{
	struct notify_reg *rec;

#ifdef __SANITIZE_ADDRESS__
	/* Under AddressSanitizer every record is its own allocation, so
	 * an overflow or a use after free is caught. */
	(void)r;
	rec = xcalloc(1, sizeof(*rec));
#else
	if (r->free_recs == NULL) {
		struct reg_slab *slab = xcalloc(1, sizeof(*slab));
		size_t i;

		slab->next = r->slabs;
		r->slabs = slab;
		for (i = 0; i < REG_SLAB_RECORDS; i++) {
			slab->recs[i].unext = r->free_recs;
			r->free_recs = &slab->recs[i];
		}
	}
	rec = r->free_recs;
	r->free_recs = rec->unext;
	memset(rec, 0, sizeof(*rec));
#endif
	return rec;
}

static void
rec_free(struct notify_registry *r, struct notify_reg *rec)
{
	OPENSSL_cleanse(rec, sizeof(*rec));
#ifdef __SANITIZE_ADDRESS__
	(void)r;
	free(rec);
#else
	rec->unext = r->free_recs;
	r->free_recs = rec;
#endif
}

/* ---- Secrets kept aside ---- */

static struct own_secret *
own_find(const struct notify_registry *r, uint64_t id)
{
	struct hash_node *n;

	for (n = hash_bucket(&r->own, hash_u64(id)); n != NULL; n = n->next) {
		struct own_secret *o = HASH_ENTRY(n, struct own_secret, hnode);

		if (o->id == id)
			return o;
	}
	return NULL;
}

static void
own_add(struct notify_registry *r, struct notify_reg *reg,
    const unsigned char secret[NOTIFY_SECRET_LEN])
{
	struct own_secret *o = xcalloc(1, sizeof(*o));

	o->id = reg->id;
	memcpy(o->secret, secret, sizeof(o->secret));
	hash_insert(&r->own, &o->hnode, hash_u64(o->id));
	reg->flags |= NOTIFY_REG_OWN_SECRET;
}

static void
own_remove(struct notify_registry *r, const struct notify_reg *reg)
{
	struct own_secret *o;

	if (!(reg->flags & NOTIFY_REG_OWN_SECRET) ||
	    (o = own_find(r, reg->id)) == NULL)
		return;
	hash_remove(&r->own, &o->hnode, hash_u64(o->id));
	OPENSSL_cleanse(o, sizeof(*o));
	free(o);
}

/* ---- Users ---- */

struct notify_user *
notify_registry_user(const struct notify_registry *r, const char *name)
{
	struct hash_node *n;

	for (n = hash_bucket(&r->users, hash_str(name)); n != NULL;
	    n = n->next) {
		struct notify_user *u = HASH_ENTRY(n, struct notify_user,
		    hnode);

		if (strcmp(u->name, name) == 0)
			return u;
	}
	return NULL;
}

static struct notify_user *
user_intern(struct notify_registry *r, const char *name)
{
	struct notify_user *u = notify_registry_user(r, name);
	size_t len;

	if (u != NULL)
		return u;
	len = strlen(name);
	u = xcalloc(1, sizeof(*u) + len + 1);
	memcpy(u->name, name, len + 1);
	hash_insert(&r->users, &u->hnode, hash_str(name));
	return u;
}

static void
user_release(struct notify_registry *r, struct notify_user *u)
{
	if (u->count > 0)
		return;
	hash_remove(&r->users, &u->hnode, hash_str(u->name));
	free(u);
}

static char **
folders_copy(const char *const *folders, size_t count)
{
	char **copy;
	size_t i;

	if (count == 0)
		return NULL;
	copy = xcalloc(count + 1, sizeof(*copy));
	for (i = 0; i < count; i++)
		copy[i] = xstrdup(folders[i]);
	return copy;
}

static void
folders_free(char **folders)
{
	size_t i;

	if (folders == NULL)
		return;
	for (i = 0; folders[i] != NULL; i++)
		free(folders[i]);
	free(folders);
}

/*
 * Remove the registration *link points at, link being the user's list
 * head or the unext of the registration before it in that list (so the
 * removal does not walk the list). Returns true if it was the user's
 * last, and the user is freed with it (link with it).
 */
static bool
reg_drop(struct notify_registry *r, struct notify_reg **link)
{
	struct notify_reg *reg = *link;
	struct notify_user *u = reg->user;
	bool last;

	if (r->release_cb != NULL)
		r->release_cb(reg, r->release_ctx);
	hash_remove(&r->ids, &reg->hnode, hash_u64(reg->id));
	*link = reg->unext;
	u->count--;
	last = u->count == 0;
	user_release(r, u);
	folders_free(reg->folders);
	own_remove(r, reg);
	rec_free(r, reg);
	return last;
}

/* ---- The registry ---- */

struct notify_registry *
notify_registry_new(unsigned max_per_user, unsigned max_total,
    uint32_t epoch, const unsigned char master[NOTIFY_MASTER_KEY_LEN])
{
	struct notify_registry *r = xcalloc(1, sizeof(*r));

	hash_init(&r->ids, 64, reg_hash_cb);
	hash_init(&r->users, 16, user_hash_cb);
	hash_init(&r->own, 16, own_hash_cb);
	r->max_per_user = max_per_user;
	r->max_total = max_total;
	r->epoch = epoch;
	memcpy(r->master, master, sizeof(r->master));
	return r;
}

void
notify_registry_set_release_cb(struct notify_registry *r,
    notify_reg_release_cb *cb, void *ctx)
{
	r->release_cb = cb;
	r->release_ctx = ctx;
}

void
notify_registry_set_limits(struct notify_registry *r, unsigned max_per_user,
    unsigned max_total)
{
	r->max_per_user = max_per_user;
	r->max_total = max_total;
}

void
notify_registry_free(struct notify_registry **rp)
{
	struct notify_registry *r = *rp;
	struct reg_slab *slab, *next;
	struct hash_iter it;
	struct hash_node *n;

	if (r == NULL)
		return;
	*rp = NULL;
	/* User by user, each list from its head: one step a registration
	 * however many a user has. */
	hash_iter_init(&it, &r->users);
	while ((n = hash_iter_next(&it)) != NULL) {
		struct notify_user *u = HASH_ENTRY(n, struct notify_user,
		    hnode);

		while (!reg_drop(r, &u->regs))
			;
	}
	hash_free(&r->ids);
	hash_free(&r->users);
	hash_free(&r->own);
	OPENSSL_cleanse(r->master, sizeof(r->master));
	for (slab = r->slabs; slab != NULL; slab = next) {
		next = slab->next;
		free(slab);
	}
	free(r);
}

size_t
notify_registry_count(const struct notify_registry *r)
{
	return hash_count(&r->ids);
}

/* Link a filled record into both tables. */
static void
reg_link(struct notify_registry *r, struct notify_reg *reg, const char *user)
{
	hash_insert(&r->ids, &reg->hnode, hash_u64(reg->id));
	reg->user = user_intern(r, user);
	reg->unext = reg->user->regs;
	reg->user->regs = reg;
	reg->user->count++;
}

static int
check_limits(const struct notify_registry *r, const char *user,
    const char **error_r)
{
	const struct notify_user *u = notify_registry_user(r, user);

	if (hash_count(&r->ids) >= r->max_total) {
		*error_r = error_code_fmt(ERROR_LIMIT,
		    "max_registrations (%u) reached", r->max_total);
		return -1;
	}
	if (u != NULL && u->count >= r->max_per_user) {
		*error_r = error_code_fmt(ERROR_LIMIT,
		    "%s: max_registrations_per_user (%u) reached", user,
		    r->max_per_user);
		return -1;
	}
	return 0;
}

int
notify_registry_add(struct notify_registry *r, const char *user,
    const char *const *folders, size_t count, uint32_t now,
    struct notify_reg **reg_r, const char **error_r)
{
	struct notify_reg *reg;
	uint64_t id;
	int tries;

	if (!directory_user_name_valid(user)) {
		*error_r = error_code_fmt(ERROR_INVALID,
		    "not a valid user name");
		return -1;
	}
	if (check_limits(r, user, error_r) < 0)
		return -1;
	/* 64 random bits collide with one of 10^7 ids once in 10^12. */
	for (tries = 0; tries < 8; tries++) {
		if (notify_random(&id, sizeof(id)) < 0) {
			*error_r = "no random numbers";
			return -1;
		}
		if (id != 0 && notify_registry_find(r, id) == NULL)
			break;
	}
	if (tries == 8) {
		*error_r = "no unused registration id";
		return -1;
	}
	reg = rec_alloc(r);
	reg->id = id;
	reg->created_epoch = r->epoch;
	if (notify_reg_derive(r, reg) < 0) {
		rec_free(r, reg);
		*error_r = "cannot derive keys";
		return -1;
	}
	reg->folders = folders_copy(folders, count);
	reg->last_seen = now;
	reg_link(r, reg, user);
	*reg_r = reg;
	return 0;
}

int
notify_registry_restore(struct notify_registry *r,
    const struct notify_reg_saved *saved, const char **error_r)
{
	struct notify_reg *reg;

	if (!directory_user_name_valid(saved->user)) {
		*error_r = error_code_fmt(ERROR_INVALID,
		    "not a valid user name");
		return -1;
	}
	if (saved->id == 0 || notify_registry_find(r, saved->id) != NULL) {
		*error_r = error_code_fmt(ERROR_EXISTS,
		    "registration id taken");
		return -1;
	}
	if (check_limits(r, saved->user, error_r) < 0)
		return -1;
	reg = rec_alloc(r);
	reg->id = saved->id;
	if (saved->has_secret)
		own_add(r, reg, saved->secret);
	reg->folders = folders_copy(saved->folders, saved->count);
	reg->created_epoch = saved->created_epoch;
	reg->last_seen = saved->last_seen;
	reg_link(r, reg, saved->user);
	reg->user->pwtag = saved->pwtag;
	reg->user->pwtag_known = true;
	return 0;
}

struct notify_reg *
notify_registry_find(const struct notify_registry *r, uint64_t id)
{
	struct hash_node *n;

	for (n = hash_bucket(&r->ids, hash_u64(id)); n != NULL; n = n->next) {
		struct notify_reg *reg = HASH_ENTRY(n, struct notify_reg,
		    hnode);

		if (reg->id == id)
			return reg;
	}
	return NULL;
}

void
notify_registry_remove(struct notify_registry *r, struct notify_reg **regp)
{
	struct notify_reg *reg = *regp, **pp;

	if (reg == NULL)
		return;
	*regp = NULL;
	for (pp = &reg->user->regs; *pp != reg; pp = &(*pp)->unext)
		;
	(void)reg_drop(r, pp);
}

size_t
notify_registry_remove_user(struct notify_registry *r, const char *user)
{
	struct notify_user *u = notify_registry_user(r, user);
	size_t n, removed;

	/* The last removal frees u, so count down rather than test it. */
	if (u == NULL)
		return 0;
	for (removed = n = u->count; n > 0; n--) {
		struct notify_reg *reg = u->regs;

		notify_registry_remove(r, &reg);
	}
	return removed;
}

void
notify_registry_foreach_user(struct notify_registry *r, notify_user_cb *cb,
    void *ctx)
{
	struct hash_iter it;
	struct hash_node *n;

	/* cb may end the user's registrations, and so free the user it is
	 * given (and no other): the iterator allows that. */
	hash_iter_init(&it, &r->users);
	while ((n = hash_iter_next(&it)) != NULL)
		cb(HASH_ENTRY(n, struct notify_user, hnode), ctx);
}

void
notify_registry_foreach(struct notify_registry *r, notify_reg_cb *cb,
    void *ctx)
{
	struct hash_iter it;
	struct hash_node *n;

	hash_iter_init(&it, &r->ids);
	while ((n = hash_iter_next(&it)) != NULL)
		cb(HASH_ENTRY(n, struct notify_reg, hnode), ctx);
}

size_t
notify_registry_scan(struct notify_registry *r, size_t *cursor,
    notify_reg_cb *cb, void *ctx)
{
	struct hash_node *n;
	size_t count = 0;

	for (n = hash_scan(&r->ids, cursor); n != NULL; n = n->next) {
		cb(HASH_ENTRY(n, struct notify_reg, hnode), ctx);
		count++;
	}
	return count;
}

size_t
notify_registry_expire(struct notify_registry *r, uint32_t now,
    uint32_t lease)
{
	struct notify_reg **link, *reg;
	struct hash_iter it;
	struct hash_node *n;
	size_t removed = 0;

	/* User by user, unlinking as the walk goes (the iterator allows
	 * the user's removal with its last registration). */
	hash_iter_init(&it, &r->users);
	while ((n = hash_iter_next(&it)) != NULL) {
		link = &HASH_ENTRY(n, struct notify_user, hnode)->regs;
		while ((reg = *link) != NULL) {
			/* last_seen may be ahead of now after the clock
			 * stepped back: the lease then runs from now. */
			if (reg->last_seen > now)
				reg->last_seen = now;
			if (now - reg->last_seen <= lease) {
				link = &reg->unext;
				continue;
			}
			removed++;
			if (reg_drop(r, link))
				break;
		}
	}
	return removed;
}

/* ---- One registration ---- */

bool
notify_reg_covers(const struct notify_reg *reg, const char *folder)
{
	size_t i;

	if (reg->folders == NULL)
		return true;
	for (i = 0; reg->folders[i] != NULL; i++)
		if (strcmp(reg->folders[i], folder) == 0)
			return true;
	return false;
}

void
notify_reg_id_text(uint64_t id, char out[17])
{
	snprintf(out, 17, "%016llx", (unsigned long long)id);
}

int
notify_reg_id_parse(const char *text, uint64_t *id_r)
{
	uint64_t id;

	/* The NUL of a shorter text stops the digits, so text[16] is only
	 * read when there are 16 of them. */
	if (str_hex_to_u64_n(text, 16, &id) < 0 || text[16] != '\0')
		return -1;
	*id_r = id;
	return 0;
}

void
notify_reg_replay_get(const struct notify_reg *reg,
    struct notify_replay *win_r)
{
	win_r->any = (reg->flags & NOTIFY_REG_REPLAY_ANY) != 0;
	win_r->top = reg->replay_top;
	win_r->seen = reg->replay_seen;
}

void
notify_reg_replay_set(struct notify_reg *reg, const struct notify_replay *win)
{
	if (win->any)
		reg->flags |= NOTIFY_REG_REPLAY_ANY;
	else
		reg->flags &= (uint8_t)~NOTIFY_REG_REPLAY_ANY;
	reg->replay_top = win->top;
	reg->replay_seen = win->seen;
}

int
notify_reg_secret(const struct notify_registry *r,
    const struct notify_reg *reg, unsigned char secret_r[NOTIFY_SECRET_LEN])
{
	const struct own_secret *o;

	if (!(reg->flags & NOTIFY_REG_OWN_SECRET))
		return notify_secret_derive(r->master, reg->id,
		    reg->created_epoch, secret_r);
	if ((o = own_find(r, reg->id)) == NULL)
		return -1;
	memcpy(secret_r, o->secret, NOTIFY_SECRET_LEN);
	return 0;
}

int
notify_reg_derive(const struct notify_registry *r, struct notify_reg *reg)
{
	unsigned char secret[NOTIFY_SECRET_LEN];
	struct notify_keys keys;
	int rc;

	if (reg->flags & NOTIFY_REG_KEYS)
		return 0;
	rc = notify_reg_secret(r, reg, secret);
	if (rc == 0)
		rc = notify_keys_derive(secret, NOTIFY_DIR_C2S, r->epoch,
		    &keys);
	OPENSSL_cleanse(secret, sizeof(secret));
	if (rc < 0)
		return -1;
	memcpy(reg->key, keys.key, sizeof(reg->key));
	notify_keys_wipe(&keys);
	reg->flags |= NOTIFY_REG_KEYS;
	return 0;
}

int
notify_reg_verify(const struct notify_registry *r, struct notify_reg *reg,
    uint8_t via, const unsigned char addr[NOTIFY_ADDR_LEN])
{
	if (notify_reg_derive(r, reg) < 0)
		return -1;
	reg->via = via;
	memcpy(reg->addr, addr, NOTIFY_ADDR_LEN);
	reg->flags |= NOTIFY_REG_VERIFIED;
	return 0;
}

void
notify_reg_forget(struct notify_reg *reg)
{
	reg->flags &= (uint8_t)~NOTIFY_REG_VERIFIED;
	reg->via = 0;
	OPENSSL_cleanse(reg->addr, sizeof(reg->addr));
}

bool
notify_reg_keys(const struct notify_registry *r, const struct notify_reg *reg,
    enum notify_dir dir, struct notify_keys *keys_r)
{
	if (!(reg->flags & NOTIFY_REG_KEYS))
		return false;
	keys_r->dir = dir;
	keys_r->epoch = r->epoch;
	memcpy(keys_r->key, reg->key, sizeof(keys_r->key));
	return true;
}

uint64_t
notify_pwtag(const char *hash, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	uint64_t tag = 0;
	int i;

	if (EVP_Digest(hash, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen < 8)
		return 0;
	for (i = 0; i < 8; i++)
		tag = tag << 8 | md[i];
	return tag;
}
