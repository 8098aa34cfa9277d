/*
 * The intrusive chained hash table of lib/hash.h, which doubles at load 1
 * by rehashing through the caller's callback, and the FNV-1a and
 * splitmix64 hash functions that feed it.
 */
#include "lib/hash.h"

#include <assert.h>
#include <stdlib.h>

#include "lib/xmalloc.h"

#define FNV1A_PRIME 1099511628211ULL

static size_t
bucket_of(size_t nbuckets, uint64_t hash)
{
	return (size_t)hash & (nbuckets - 1);
}

void
hash_init(struct hash_table *t, size_t initial_buckets, hash_cb_t *hash_cb)
{
	size_t n = 1;

	assert(hash_cb != NULL);
	while (n < initial_buckets) {
		assert(n <= SIZE_MAX / 2);
		n *= 2;
	}
	t->buckets = xcalloc(n, sizeof(*t->buckets));
	t->nbuckets = n;
	t->count = 0;
	t->hash_cb = hash_cb;
}

void
hash_free(struct hash_table *t)
{
	free(t->buckets);
	t->buckets = NULL;
	t->nbuckets = 0;
	t->count = 0;
}

static void
grow(struct hash_table *t)
{
	size_t nb = t->nbuckets * 2, i;
	struct hash_node **b = xcalloc(nb, sizeof(*b)), *n, *next;

	for (i = 0; i < t->nbuckets; i++) {
		for (n = t->buckets[i]; n != NULL; n = next) {
			size_t h = bucket_of(nb, t->hash_cb(n));

			next = n->next;
			n->next = b[h];
			b[h] = n;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = nb;
}

void
hash_insert(struct hash_table *t, struct hash_node *node, uint64_t hash)
{
	size_t b;

	assert(t->buckets != NULL);
	if (t->count >= t->nbuckets)
		grow(t);
	b = bucket_of(t->nbuckets, hash);
	node->next = t->buckets[b];
	t->buckets[b] = node;
	t->count++;
}

bool
hash_remove(struct hash_table *t, struct hash_node *node, uint64_t hash)
{
	struct hash_node **pp;

	if (t->nbuckets == 0)
		return false;
	for (pp = &t->buckets[bucket_of(t->nbuckets, hash)]; *pp != NULL;
	    pp = &(*pp)->next) {
		if (*pp == node) {
			*pp = node->next;
			node->next = NULL;
			t->count--;
			return true;
		}
	}
	return false;
}

struct hash_node *
hash_bucket(const struct hash_table *t, uint64_t hash)
{
	if (t->nbuckets == 0)
		return NULL;
	return t->buckets[bucket_of(t->nbuckets, hash)];
}

size_t
hash_count(const struct hash_table *t)
{
	return t->count;
}

void
hash_iter_init(struct hash_iter *it, const struct hash_table *t)
{
	it->t = t;
	it->bucket = 0;
	it->next = NULL;
}

struct hash_node *
hash_iter_next(struct hash_iter *it)
{
	struct hash_node *n;

	/* The successor is read before the caller sees n, so the caller may
	 * unlink or free n before asking for the next node. */
	while (it->next == NULL) {
		if (it->bucket >= it->t->nbuckets)
			return NULL;
		it->next = it->t->buckets[it->bucket++];
	}
	n = it->next;
	it->next = n->next;
	return n;
}

/* x with its bits in reverse order. */
static size_t
bits_reverse(size_t x)
{
	size_t r = 0;
	unsigned i;

	for (i = 0; i < sizeof(x) * 8; i++, x >>= 1)
		r = r << 1 | (x & 1);
	return r;
}

struct hash_node *
hash_scan(const struct hash_table *t, size_t *cursor)
{
	size_t mask, v = *cursor;
	struct hash_node *n;

	if (t->nbuckets == 0) {
		*cursor = 0;
		return NULL;
	}
	mask = t->nbuckets - 1;
	n = t->buckets[v & mask];
	/* Increment the bits under the mask, most significant first: the
	 * buckets a grown table split this one into come before the
	 * cursor in that order. */
	v |= ~mask;
	v = bits_reverse(v);
	v++;
	*cursor = bits_reverse(v);
	return n;
}

uint64_t
hash_fnv1a(const void *data, size_t len, uint64_t h)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= FNV1A_PRIME;
	}
	return h;
}

uint64_t
hash_str(const char *s)
{
	uint64_t h = HASH_FNV1A_INIT;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= FNV1A_PRIME;
	}
	return h;
}

uint64_t
hash_u64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}
