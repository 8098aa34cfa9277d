/*
 * The failed-login penalty table (see penalty.h): one hash table of
 * address and network entries, and a list of the same entries from the
 * least to the most recently failed, whose head is forgotten when the
 * table is full.
 */
#include "lib/penalty.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "lib/hash.h"
#include "lib/limits.h"
#include "lib/xmalloc.h"

/* Failures are counted up to this and no further: the delay is capped
 * long before, and a count this small never overflows. */
#define PENALTY_FAILURES_CAP 1000000u

/* Who an entry is about. */
enum penalty_kind {
	PENALTY_ADDR = 1,	/* one address */
	PENALTY_NET = 2,	/* its /24 or /64 */
};

/* An address or network, masked: compared and hashed as bytes. */
struct penalty_key {
	uint8_t kind;		/* enum penalty_kind */
	uint8_t family;		/* 4 or 6 */
	uint8_t addr[16];	/* the address, network bits only for
				   PENALTY_NET; zero beyond */
};

struct penalty_entry {
	struct hash_node node;		/* in penalty_table.entries */
	struct penalty_key key;
	uint64_t hash;			/* key_hash() of key */
	unsigned failures;		/* recent failures, decayed */
	uint64_t last_ms;		/* when failures was last decayed or
					   raised */
	/* The table's list, least recently failed first */
	struct penalty_entry *older, *newer;
};

struct penalty_table {
	const struct clock *clock;
	struct penalty_params params;
	uint64_t seed;			/* random: addresses an attacker
					   picks cannot share a bucket */
	struct hash_table entries;
	struct penalty_entry *oldest, *newest;
};

void
penalty_params_default(struct penalty_params *params_r)
{
	params_r->base_ms = AUTH_PENALTY_BASE_MS;
	params_r->max_ms = AUTH_PENALTY_MAX_MS;
	params_r->decay_ms = AUTH_PENALTY_DECAY_SECS * 1000;
	params_r->net_share = AUTH_PENALTY_NET_SHARE;
	params_r->max_entries = AUTH_PENALTY_ENTRIES_MAX;
}

static uint64_t
key_hash(const struct penalty_table *t, const struct penalty_key *key)
{
	return hash_fnv1a(key, sizeof(*key), t->seed);
}

/* The hash is kept in the entry: it depends on the table's seed, which
 * the callback cannot see. */
static uint64_t
entry_hash_cb(const struct hash_node *node)
{
	return HASH_ENTRY(node, struct penalty_entry, node)->hash;
}

struct penalty_table *
penalty_new(const struct clock *clock, const struct penalty_params *params)
{
	struct penalty_table *t = xcalloc(1, sizeof(*t));

	t->clock = clock;
	t->params = *params;
	if (t->params.net_share == 0)
		t->params.net_share = 1;
	if (t->params.max_entries < 2)
		t->params.max_entries = 2;
	if (getrandom(&t->seed, sizeof(t->seed), 0) != sizeof(t->seed))
		t->seed = (uint64_t)(uintptr_t)t;
	t->seed ^= HASH_FNV1A_INIT;
	hash_init(&t->entries, 64, entry_hash_cb);
	return t;
}

void
penalty_free(struct penalty_table **tablep)
{
	struct penalty_table *t = *tablep;
	struct penalty_entry *e, *next;

	if (t == NULL)
		return;
	*tablep = NULL;
	for (e = t->oldest; e != NULL; e = next) {
		next = e->newer;
		free(e);
	}
	hash_free(&t->entries);
	free(t);
}

/* The address and network keys of ip; false if ip is not numeric. */
static bool
parse_keys(const char *ip, struct penalty_key *addr_r,
    struct penalty_key *net_r)
{
	char buf[INET6_ADDRSTRLEN];
	struct in6_addr a6;
	struct in_addr a4;
	size_t len = strcspn(ip, "%");

	/* A link-local address's zone ("fe80::1%eth0") is not part of the
	 * address. */
	if (len >= sizeof(buf))
		return false;
	memcpy(buf, ip, len);
	buf[len] = '\0';
	ip = buf;
	memset(addr_r, 0, sizeof(*addr_r));
	if (inet_pton(AF_INET, ip, &a4) == 1) {
		addr_r->family = 4;
		memcpy(addr_r->addr, &a4, 4);
	} else if (inet_pton(AF_INET6, ip, &a6) == 1) {
		if (IN6_IS_ADDR_V4MAPPED(&a6)) {
			addr_r->family = 4;
			memcpy(addr_r->addr, &a6.s6_addr[12], 4);
		} else {
			addr_r->family = 6;
			memcpy(addr_r->addr, &a6, 16);
		}
	} else
		return false;
	addr_r->kind = PENALTY_ADDR;
	*net_r = *addr_r;
	net_r->kind = PENALTY_NET;
	/* /24 keeps three bytes, /64 eight */
	memset(net_r->addr + (addr_r->family == 4 ? 3 : 8), 0,
	    addr_r->family == 4 ? 13 : 8);
	return true;
}

static struct penalty_entry *
lookup(struct penalty_table *t, const struct penalty_key *key)
{
	struct hash_node *n;

	for (n = hash_bucket(&t->entries, key_hash(t, key)); n != NULL;
	    n = n->next) {
		struct penalty_entry *e =
		    HASH_ENTRY(n, struct penalty_entry, node);

		if (memcmp(&e->key, key, sizeof(*key)) == 0)
			return e;
	}
	return NULL;
}

static void
list_unlink(struct penalty_table *t, struct penalty_entry *e)
{
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		t->oldest = e->newer;
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		t->newest = e->older;
	e->older = e->newer = NULL;
}

static void
list_append(struct penalty_table *t, struct penalty_entry *e)
{
	e->older = t->newest;
	e->newer = NULL;
	if (t->newest != NULL)
		t->newest->newer = e;
	else
		t->oldest = e;
	t->newest = e;
}

static void
entry_remove(struct penalty_table *t, struct penalty_entry *e)
{
	list_unlink(t, e);
	(void)hash_remove(&t->entries, &e->node, e->hash);
	free(e);
}

/* Forget what decayed since the entry last changed: one failure (a
 * network: net_share) per decay_ms. */
static void
entry_decay(const struct penalty_table *t, struct penalty_entry *e,
    uint64_t now)
{
	uint64_t steps, sub;

	if (now <= e->last_ms)
		return;
	steps = (now - e->last_ms) / t->params.decay_ms;
	sub = steps * (e->key.kind == PENALTY_NET ? t->params.net_share : 1);
	if (sub >= e->failures) {
		e->failures = 0;
		e->last_ms = now;
	} else {
		e->failures -= (unsigned)sub;
		e->last_ms += steps * t->params.decay_ms;
	}
}

/* The entry for key, made (forgetting the least recently failed entry
 * if the table is full) when create is true. */
static struct penalty_entry *
entry_get(struct penalty_table *t, const struct penalty_key *key,
    uint64_t now, bool create)
{
	struct penalty_entry *e = lookup(t, key);

	if (e != NULL) {
		entry_decay(t, e, now);
		return e;
	}
	if (!create)
		return NULL;
	if (hash_count(&t->entries) >= t->params.max_entries)
		entry_remove(t, t->oldest);
	e = xcalloc(1, sizeof(*e));
	e->key = *key;
	e->last_ms = now;
	e->hash = key_hash(t, key);
	hash_insert(&t->entries, &e->node, e->hash);
	list_append(t, e);
	return e;
}

/* The delay for a failure after n recent ones. */
static unsigned
delay_for(const struct penalty_table *t, unsigned n)
{
	uint64_t ms = t->params.base_ms;

	while (n-- > 0 && ms < t->params.max_ms)
		ms *= 2;
	return ms < t->params.max_ms ? (unsigned)ms : t->params.max_ms;
}

static unsigned
recent_failures(const struct penalty_table *t,
    const struct penalty_entry *addr, const struct penalty_entry *net)
{
	unsigned a = addr != NULL ? addr->failures : 0;
	unsigned n = net != NULL ? net->failures / t->params.net_share : 0;

	return a > n ? a : n;
}

unsigned
penalty_delay(struct penalty_table *t, const char *ip)
{
	struct penalty_key akey, nkey;
	uint64_t now = clock_ms(t->clock);

	if (!parse_keys(ip, &akey, &nkey))
		return t->params.base_ms;
	return delay_for(t, recent_failures(t,
	    entry_get(t, &akey, now, false), entry_get(t, &nkey, now, false)));
}

unsigned
penalty_hold(struct penalty_table *t, const char *ip)
{
	struct penalty_key akey, nkey;
	uint64_t now = clock_ms(t->clock);
	unsigned n;

	if (!parse_keys(ip, &akey, &nkey))
		return 0;
	n = recent_failures(t, entry_get(t, &akey, now, false),
	    entry_get(t, &nkey, now, false));
	return n == 0 ? 0 : delay_for(t, n);
}

static void
entry_failed(struct penalty_table *t, struct penalty_entry *e, uint64_t now)
{
	if (e->failures < PENALTY_FAILURES_CAP)
		e->failures++;
	e->last_ms = now;
	list_unlink(t, e);
	list_append(t, e);
}

unsigned
penalty_failed(struct penalty_table *t, const char *ip)
{
	struct penalty_key akey, nkey;
	struct penalty_entry *addr, *net;
	uint64_t now = clock_ms(t->clock);
	unsigned delay;

	if (!parse_keys(ip, &akey, &nkey))
		return t->params.base_ms;
	net = entry_get(t, &nkey, now, true);
	/* Making the address entry may forget the oldest entry, never the
	 * network's: it was just made the newest. */
	list_unlink(t, net);
	list_append(t, net);
	addr = entry_get(t, &akey, now, true);
	delay = delay_for(t, recent_failures(t, addr, net));
	entry_failed(t, net, now);
	entry_failed(t, addr, now);
	return delay;
}

void
penalty_succeeded(struct penalty_table *t, const char *ip)
{
	struct penalty_key akey, nkey;
	struct penalty_entry *e;

	if (parse_keys(ip, &akey, &nkey) && (e = lookup(t, &akey)) != NULL)
		entry_remove(t, e);
}

size_t
penalty_count(const struct penalty_table *t)
{
	return hash_count(&t->entries);
}
