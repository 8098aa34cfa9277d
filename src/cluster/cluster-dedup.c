/*
 * Which copy of an event is handed on: see cluster-dedup.h. Per owner
 * start, two bit arrays over a ring of CLUSTER_DEDUP_WINDOW numbers from
 * base: the numbers whose early copy, and those whose stream copy, came.
 * Only the stream moves the window: to keep half of it behind the
 * highest number the stream brought (for a stream that resends a batch
 * out of order) and half ahead (for early copies waiting for theirs).
 */
#include "cluster/cluster-dedup.h"

#include <stdlib.h>
#include <string.h>

#include "lib/limits.h"
#include "lib/xmalloc.h"

#define WORDS (CLUSTER_DEDUP_WINDOW / 64)

struct dedup_start {
	bool used;
	uint64_t started;
	uint64_t base;			/* below: settled */
	uint64_t early[WORDS];
	uint64_t stream[WORDS];
};

struct dedup_owner {
	struct dedup_owner *next;
	char node[CLUSTER_NODE_NAME_MAX + 1];
	struct dedup_start starts[2];	/* its two latest */
};

struct cluster_dedup {
	struct dedup_owner *owners;
	size_t count;
};

struct cluster_dedup *
cluster_dedup_new(void)
{
	return xcalloc(1, sizeof(struct cluster_dedup));
}

void
cluster_dedup_free(struct cluster_dedup **dedupp)
{
	struct cluster_dedup *d = *dedupp;
	struct dedup_owner *o;

	if (d == NULL)
		return;
	while ((o = d->owners) != NULL) {
		d->owners = o->next;
		free(o);
	}
	free(d);
	*dedupp = NULL;
}

static struct dedup_owner *
owner_get(struct cluster_dedup *d, const char *node)
{
	struct dedup_owner *o;

	for (o = d->owners; o != NULL; o = o->next) {
		if (strcmp(o->node, node) == 0)
			return o;
	}
	if (d->count == CLUSTER_DEDUP_NODES_MAX ||
	    strlen(node) > CLUSTER_NODE_NAME_MAX)
		return NULL;
	o = xcalloc(1, sizeof(*o));
	memcpy(o->node, node, strlen(node) + 1);
	o->next = d->owners;
	d->owners = o;
	d->count++;
	return o;
}

/* The state of start started, made (in place of the older one) if it is
 * newer than one kept; NULL if it is older than both. */
static struct dedup_start *
start_get(struct dedup_owner *o, uint64_t started, uint64_t seq)
{
	struct dedup_start *s = &o->starts[0], *t = &o->starts[1], *pick;

	if (s->used && s->started == started)
		return s;
	if (t->used && t->started == started)
		return t;
	/* A new start takes a free place, or the older start's. */
	if (!s->used || !t->used)
		pick = !s->used ? s : t;
	else
		pick = s->started < t->started ? s : t;
	if (pick->used && pick->started > started)
		return NULL;
	memset(pick, 0, sizeof(*pick));
	pick->used = true;
	pick->started = started;
	pick->base = seq;
	return pick;
}

static bool
bit_get(const uint64_t *bits, uint64_t n)
{
	size_t i = (size_t)(n % CLUSTER_DEDUP_WINDOW);

	return (bits[i / 64] >> (i % 64)) & 1;
}

static void
bit_set(uint64_t *bits, uint64_t n, bool on)
{
	size_t i = (size_t)(n % CLUSTER_DEDUP_WINDOW);
	uint64_t mask = (uint64_t)1 << (i % 64);

	if (on)
		bits[i / 64] |= mask;
	else
		bits[i / 64] &= ~mask;
}

/* Move the window's base up to base, forgetting what falls out. */
static void
slide(struct dedup_start *s, uint64_t base)
{
	if (base - s->base >= CLUSTER_DEDUP_WINDOW) {
		memset(s->early, 0, sizeof(s->early));
		memset(s->stream, 0, sizeof(s->stream));
	} else {
		uint64_t n;

		for (n = s->base; n < base; n++) {
			bit_set(s->early, n, false);
			bit_set(s->stream, n, false);
		}
	}
	s->base = base;
}

bool
cluster_dedup_take(struct cluster_dedup *d, const char *node,
    uint64_t started, uint64_t seq, enum cluster_path path)
{
	const uint64_t half = CLUSTER_DEDUP_WINDOW / 2;
	bool early = path == CLUSTER_PATH_EARLY;
	struct dedup_owner *o;
	struct dedup_start *s;
	bool seen;

	if ((o = owner_get(d, node)) == NULL ||
	    (s = start_get(o, started, seq)) == NULL || seq < s->base)
		return !early;		/* the stream's to bring */
	if (early) {
		if (seq - s->base >= CLUSTER_DEDUP_WINDOW ||
		    bit_get(s->early, seq) || bit_get(s->stream, seq))
			return false;
		bit_set(s->early, seq, true);
		return true;
	}
	if (seq - s->base >= half)
		slide(s, seq - half + 1);
	if (bit_get(s->stream, seq))
		return false;		/* sent again by the stream */
	seen = bit_get(s->early, seq);
	bit_set(s->stream, seq, true);
	return !seen;
}
