/*
 * Datagram budgets per source endpoint and registration: a
 * direct-mapped table of (endpoint, registration id) pairs, each with
 * the second it counts in and its count there.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/hash.h"
#include "lib/xmalloc.h"
#include "notify/notify-budget.h"

/* One endpoint's budget for one registration. */
struct budget_slot {
	uint64_t id;			/* the registration */
	unsigned char addr[NOTIFY_ADDR_LEN]; /* the endpoint; all zero:
						unused (no valid address
						encodes so) */
	uint32_t sec;			/* second count counts in */
	uint16_t count;			/* datagrams spent in sec */
};

struct notify_budget {
	size_t mask;			/* slots - 1 */
	unsigned per_sec;
	uint64_t seed;			/* FNV-1a starting value */
	struct budget_slot slots[];
};

struct notify_budget *
notify_budget_new(size_t slots, unsigned per_sec, uint64_t seed)
{
	struct notify_budget *b;

	/* A power of two, so a mask picks the slot. */
	if (slots == 0 || (slots & (slots - 1)) != 0)
		return NULL;
	b = xcalloc(1, sizeof(*b) + slots * sizeof(b->slots[0]));
	b->mask = slots - 1;
	b->per_sec = per_sec > UINT16_MAX ? UINT16_MAX : per_sec;
	b->seed = seed ^ HASH_FNV1A_INIT;
	return b;
}

void
notify_budget_free(struct notify_budget **bp)
{
	free(*bp);
	*bp = NULL;
}

bool
notify_budget_take(struct notify_budget *b,
    const unsigned char addr[NOTIFY_ADDR_LEN], uint64_t id, uint32_t now)
{
	struct budget_slot *slot;
	uint64_t h;

	h = hash_u64(hash_fnv1a(addr, NOTIFY_ADDR_LEN, b->seed) ^ id);
	slot = &b->slots[h & b->mask];
	if (slot->id != id || memcmp(slot->addr, addr, NOTIFY_ADDR_LEN) != 0) {
		slot->id = id;
		memcpy(slot->addr, addr, NOTIFY_ADDR_LEN);
		slot->sec = now;
		slot->count = 0;
	} else if (slot->sec != now) {
		slot->sec = now;
		slot->count = 0;
	}
	if (slot->count >= b->per_sec)
		return false;
	slot->count++;
	return true;
}
