/*
 * An intrusive chained hash table and the hash functions to feed it.
 *
 * The caller embeds a struct hash_node in each record: the table never
 * allocates per entry and costs one pointer per record plus the bucket
 * array. Nodes do not store their hash; when the table doubles it asks the
 * hash_cb given at hash_init() to hash each record again, so the callback
 * must return the same value that was passed to hash_insert() for it.
 *
 * Lookup walks one bucket and compares keys itself:
 *
 *	for (n = hash_bucket(t, h); n != NULL; n = n->next) {
 *		struct rec *r = HASH_ENTRY(n, struct rec, node);
 *		if (strcmp(r->name, name) == 0)
 *			return r;
 *	}
 *
 * A bucket holds every record whose hash maps to it, not only those with
 * hash h, so the key comparison is always needed.
 *
 * Not thread-safe; callers lock around it as they would around any data.
 */
#ifndef MB_LIB_HASH_H
#define MB_LIB_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Embedded in the caller's record. */
struct hash_node {
	struct hash_node *next;		/* next node in the same bucket */
};

/* Recomputes a record's hash when the table grows. */
typedef uint64_t hash_cb_t(const struct hash_node *node);

struct hash_table {
	struct hash_node **buckets;	/* nbuckets chains; NULL if empty */
	size_t nbuckets;		/* always a power of two */
	size_t count;			/* nodes in the table */
	hash_cb_t *hash_cb;		/* rehashes a node on growth */
};

/* The record that holds node (container_of). */
#define HASH_ENTRY(node, type, member) \
	((type *)(void *)((char *)(node) - offsetof(type, member)))

/* Initialise an empty table with at least initial_buckets buckets (rounded
 * up to a power of two, at least 1). hash_cb must not be NULL. */
void hash_init(struct hash_table *t, size_t initial_buckets,
    hash_cb_t *hash_cb);
/* Free the bucket array only; the records are the caller's. The table is
 * left empty with no buckets and must be initialised again before use. */
void hash_free(struct hash_table *t);

/* Add node, whose hash is hash (which must equal hash_cb(node)). The node
 * must not already be in a table; equal keys are not detected, so look up
 * first if keys must be unique. When count passes nbuckets the table
 * doubles, which invalidates any hash_iter but never moves records. */
void hash_insert(struct hash_table *t, struct hash_node *node,
    uint64_t hash);
/* Unlink node (found by identity in the bucket of hash). Returns true if
 * it was there, false if not (the table is unchanged). */
bool hash_remove(struct hash_table *t, struct hash_node *node,
    uint64_t hash);
/* The first node of the bucket for hash, or NULL; walk on with ->next. The
 * chain is valid until the next hash_insert() or hash_remove(). */
struct hash_node *hash_bucket(const struct hash_table *t, uint64_t hash);
/* The number of nodes in the table. */
size_t hash_count(const struct hash_table *t);

/*
 * Visits every node once, in bucket order (which depends on the hashes and
 * the table size, not on insertion order). The node last returned may be
 * removed (or freed) before the next call; removing any other node or
 * inserting during the walk is not allowed.
 */
struct hash_iter {
	const struct hash_table *t;
	size_t bucket;			/* next bucket to start */
	struct hash_node *next;		/* next node to return, or NULL */
};

void hash_iter_init(struct hash_iter *it, const struct hash_table *t);
/* The next node, or NULL when every node has been returned. */
struct hash_node *hash_iter_next(struct hash_iter *it);

/*
 * A walk that survives changes between its steps, for work spread over
 * several turns of an event loop. Start with *cursor = 0; each call
 * returns the first node of one bucket (walk on with ->next, NULL for an
 * empty bucket: the walk goes on) and advances *cursor, which is 0 again
 * once every bucket was returned. Between calls the table may change:
 * a node in it from the first call to the last is returned exactly once,
 * even if the table doubled meanwhile (buckets are visited in bit-
 * reversed order, so a bucket split by growth is never visited again);
 * a node inserted meanwhile may or may not be returned, a removed one is
 * not returned after its removal. Within one call's chain the table
 * must not change.
 */
struct hash_node *hash_scan(const struct hash_table *t, size_t *cursor);

/* FNV-1a, 64-bit. Chain calls by passing the previous result as h; start
 * with HASH_FNV1A_INIT. Hashing "a" then "b\0" equals hashing "ab\0". */
#define HASH_FNV1A_INIT 14695981039346656037ULL
uint64_t hash_fnv1a(const void *data, size_t len, uint64_t h);
/* FNV-1a of the bytes of s, without its NUL. */
uint64_t hash_str(const char *s);
/* Mixes all 64 bits of x into every bit of the result (the splitmix64
 * finaliser), so any mask of the low bits picks a well-spread bucket. */
uint64_t hash_u64(uint64_t x);

#endif
