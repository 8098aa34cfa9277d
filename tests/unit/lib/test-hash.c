/* Unit tests for lib/hash.c: the intrusive table and its hash functions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/hash.h"

struct rec {
	uint64_t key;
	int seen;
	struct hash_node node;
};

static uint64_t
rec_hash_cb(const struct hash_node *n)
{
	return hash_u64(HASH_ENTRY(n, const struct rec, node)->key);
}

/* Every key hashes alike, so one bucket holds them all. */
static uint64_t
same_hash_cb(const struct hash_node *n)
{
	(void)n;
	return 42;
}

static struct rec *
find(const struct hash_table *t, uint64_t key)
{
	struct hash_node *n;

	for (n = hash_bucket(t, hash_u64(key)); n != NULL; n = n->next) {
		struct rec *r = HASH_ENTRY(n, struct rec, node);

		if (r->key == key)
			return r;
	}
	return NULL;
}

static void
test_fnv1a_vectors(void **state)
{
	(void)state;
	/* Published FNV-1a 64-bit test vectors. */
	assert_true(hash_fnv1a("", 0, HASH_FNV1A_INIT) ==
	    0xcbf29ce484222325ULL);
	assert_true(hash_fnv1a("a", 1, HASH_FNV1A_INIT) ==
	    0xaf63dc4c8601ec8cULL);
	assert_true(hash_fnv1a("foobar", 6, HASH_FNV1A_INIT) ==
	    0x85944171f73967e8ULL);
	assert_true(hash_str("") == 0xcbf29ce484222325ULL);
	assert_true(hash_str("foobar") == 0x85944171f73967e8ULL);
}

static void
test_fnv1a_chains(void **state)
{
	uint64_t h;

	(void)state;
	/* Two strings hashed as "user\0folder" without building it. */
	h = hash_fnv1a("alice", 6, HASH_FNV1A_INIT);
	h = hash_fnv1a("INBOX", 5, h);
	assert_true(h == hash_fnv1a("alice\0INBOX", 11, HASH_FNV1A_INIT));
	assert_true(h != hash_fnv1a("aliceINBOX", 10, HASH_FNV1A_INIT));
	/* Bytes above 0x7f count as unsigned. */
	assert_true(hash_str("\xff") == hash_fnv1a("\xff", 1,
	    HASH_FNV1A_INIT));
}

static void
test_u64_mix(void **state)
{
	uint64_t seen_low = 0;
	uint64_t i;

	(void)state;
	/* splitmix64's finaliser: 0 stays 0, distinct inputs spread. */
	assert_true(hash_u64(0) == 0);
	assert_true(hash_u64(1) != hash_u64(2));
	/* Keys differing only in high bits must reach different buckets. */
	for (i = 0; i < 64; i++)
		seen_low |= 1ULL << (hash_u64(i << 40) & 63);
	assert_true(__builtin_popcountll(seen_low) > 32);
}

static void
test_init_rounds_up(void **state)
{
	struct hash_table t;

	(void)state;
	hash_init(&t, 0, rec_hash_cb);
	assert_int_equal(t.nbuckets, 1);
	assert_int_equal(hash_count(&t), 0);
	assert_null(hash_bucket(&t, 0));
	hash_free(&t);
	hash_init(&t, 17, rec_hash_cb);
	assert_int_equal(t.nbuckets, 32);
	hash_free(&t);
	hash_init(&t, 64, rec_hash_cb);
	assert_int_equal(t.nbuckets, 64);
	hash_free(&t);
	assert_null(t.buckets);
	assert_int_equal(t.nbuckets, 0);
	/* A freed table finds nothing and removes nothing. */
	assert_null(hash_bucket(&t, 1));
}

static void
test_insert_find_grow(void **state)
{
	enum { N = 1000 };
	struct rec *recs = calloc(N, sizeof(*recs));
	struct hash_table t;
	uint64_t i;

	(void)state;
	hash_init(&t, 1, rec_hash_cb);
	for (i = 0; i < N; i++) {
		recs[i].key = i * 7919;
		hash_insert(&t, &recs[i].node, hash_u64(recs[i].key));
		/* Load never passes 1. */
		assert_true(hash_count(&t) <= t.nbuckets);
		assert_int_equal(hash_count(&t), i + 1);
	}
	assert_int_equal(t.nbuckets, 1024);
	for (i = 0; i < N; i++)
		assert_ptr_equal(find(&t, i * 7919), &recs[i]);
	assert_null(find(&t, 1));
	hash_free(&t);
	free(recs);
}

static void
test_remove(void **state)
{
	struct rec r[4] = {{.key = 1}, {.key = 2}, {.key = 3}, {.key = 4}};
	struct rec other = {.key = 99};
	struct hash_table t;
	size_t i;

	(void)state;
	hash_init(&t, 2, same_hash_cb);
	for (i = 0; i < 4; i++)
		hash_insert(&t, &r[i].node, 42);
	/* Not in the table: nothing changes. */
	assert_false(hash_remove(&t, &other.node, 42));
	assert_int_equal(hash_count(&t), 4);
	/* Middle, head and tail of one chain. */
	assert_true(hash_remove(&t, &r[1].node, 42));
	assert_false(hash_remove(&t, &r[1].node, 42));
	assert_true(hash_remove(&t, &r[3].node, 42));
	assert_true(hash_remove(&t, &r[0].node, 42));
	assert_int_equal(hash_count(&t), 1);
	assert_ptr_equal(hash_bucket(&t, 42), &r[2].node);
	assert_null(hash_bucket(&t, 42)->next);
	assert_true(hash_remove(&t, &r[2].node, 42));
	assert_int_equal(hash_count(&t), 0);
	assert_null(hash_bucket(&t, 42));
	/* Removed nodes can go back in. */
	hash_insert(&t, &r[1].node, 42);
	assert_ptr_equal(hash_bucket(&t, 42), &r[1].node);
	hash_free(&t);
}

static void
test_iter_empty(void **state)
{
	struct hash_table t;
	struct hash_iter it;

	(void)state;
	hash_init(&t, 8, rec_hash_cb);
	hash_iter_init(&it, &t);
	assert_null(hash_iter_next(&it));
	assert_null(hash_iter_next(&it));
	hash_free(&t);
	/* A freed table has no buckets to walk. */
	hash_iter_init(&it, &t);
	assert_null(hash_iter_next(&it));
}

static void
test_iter_remove_all(void **state)
{
	enum { N = 300 };
	struct rec *recs = calloc(N, sizeof(*recs));
	struct hash_table t;
	struct hash_iter it;
	struct hash_node *n;
	size_t i, visited = 0;

	(void)state;
	hash_init(&t, 4, rec_hash_cb);
	for (i = 0; i < N; i++) {
		recs[i].key = i;
		hash_insert(&t, &recs[i].node, hash_u64(i));
	}
	/* Remove every other node while walking: each node still seen once. */
	hash_iter_init(&it, &t);
	while ((n = hash_iter_next(&it)) != NULL) {
		struct rec *r = HASH_ENTRY(n, struct rec, node);

		r->seen++;
		visited++;
		if (r->key % 2 == 0)
			assert_true(hash_remove(&t, n, hash_u64(r->key)));
	}
	assert_int_equal(visited, N);
	for (i = 0; i < N; i++)
		assert_int_equal(recs[i].seen, 1);
	assert_int_equal(hash_count(&t), N / 2);
	/* Then remove everything, clobbering each node as it goes. */
	hash_iter_init(&it, &t);
	visited = 0;
	while ((n = hash_iter_next(&it)) != NULL) {
		struct rec *r = HASH_ENTRY(n, struct rec, node);

		assert_int_equal(r->key % 2, 1);
		assert_true(hash_remove(&t, n, hash_u64(r->key)));
		memset(r, 0xa5, sizeof(*r));
		visited++;
	}
	assert_int_equal(visited, N / 2);
	assert_int_equal(hash_count(&t), 0);
	for (i = 0; i < t.nbuckets; i++)
		assert_null(t.buckets[i]);
	hash_free(&t);
	free(recs);
}

static void
test_one_bucket_grow(void **state)
{
	struct rec r[9];
	struct hash_table t;
	struct hash_iter it;
	size_t i, visited = 0;

	(void)state;
	/* Growth with every node in one chain keeps them all. */
	memset(r, 0, sizeof(r));
	hash_init(&t, 1, same_hash_cb);
	for (i = 0; i < 9; i++)
		hash_insert(&t, &r[i].node, 42);
	assert_int_equal(t.nbuckets, 16);
	hash_iter_init(&it, &t);
	while (hash_iter_next(&it) != NULL)
		visited++;
	assert_int_equal(visited, 9);
	hash_free(&t);
}

/* A scan spread over steps while the table doubles several times and
 * loses nodes: every node there throughout is returned exactly once,
 * and no removed node after its removal. */
static void
test_scan_survives_growth(void **state)
{
	enum { OLD = 100, NEW = 900 };
	struct rec *recs = calloc(OLD + NEW, sizeof(*recs));
	struct hash_table t;
	struct hash_node *n;
	size_t i, cursor = 0, steps = 0, added = OLD;

	(void)state;
	hash_init(&t, 4, rec_hash_cb);
	for (i = 0; i < OLD + NEW; i++)
		recs[i].key = i;
	for (i = 0; i < OLD; i++)
		hash_insert(&t, &recs[i].node, hash_u64(i));
	do {
		for (n = hash_scan(&t, &cursor); n != NULL; n = n->next)
			HASH_ENTRY(n, struct rec, node)->seen++;
		/* between steps: nodes come (the table grows from 128
		 * to 1024 buckets), and every tenth old one goes */
		for (i = 0; i < 20 && added < OLD + NEW; i++, added++)
			hash_insert(&t, &recs[added].node, hash_u64(added));
		if (steps < OLD && steps % 10 == 5 && recs[steps].seen == 0)
			assert_true(hash_remove(&t, &recs[steps].node,
			    hash_u64(steps)));
		steps++;
	} while (cursor != 0);
	assert_true(t.nbuckets >= 1024);
	for (i = 0; i < OLD; i++) {
		if (find(&t, i) != NULL)
			assert_int_equal(recs[i].seen, 1);
		else
			assert_int_equal(recs[i].seen, 0);
	}
	for (i = OLD; i < OLD + NEW; i++)
		assert_true(recs[i].seen <= 1);
	/* a fresh scan of a table that stays put returns each node once */
	for (i = 0; i < OLD + NEW; i++)
		recs[i].seen = 0;
	do {
		for (n = hash_scan(&t, &cursor); n != NULL; n = n->next)
			HASH_ENTRY(n, struct rec, node)->seen++;
	} while (cursor != 0);
	for (i = 0; i < OLD + NEW; i++)
		assert_int_equal(recs[i].seen, find(&t, i) != NULL ? 1 : 0);
	hash_free(&t);
	free(recs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fnv1a_vectors),
		cmocka_unit_test(test_fnv1a_chains),
		cmocka_unit_test(test_u64_mix),
		cmocka_unit_test(test_init_rounds_up),
		cmocka_unit_test(test_insert_find_grow),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_iter_empty),
		cmocka_unit_test(test_iter_remove_all),
		cmocka_unit_test(test_one_bucket_grow),
		cmocka_unit_test(test_scan_survives_growth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
