/* Unit tests for cluster-dedup.c: of an event's early copy and its
 * stream copy, exactly one is handed on, whichever comes first, however
 * many early copies are lost and however the two paths interleave;
 * early copies too far ahead of the stream are left to it; an owner's
 * restart starts a new count, and starts older than the two kept are
 * the stream's alone. Also the event names (cluster-wire.c) both copies
 * carry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster-dedup.h"
#include "cluster/cluster-wire.h"

#define EARLY CLUSTER_PATH_EARLY
#define STREAM CLUSTER_PATH_STREAM
#define W CLUSTER_DEDUP_WINDOW

static bool
take(struct cluster_dedup *d, uint64_t seq, enum cluster_path path)
{
	return cluster_dedup_take(d, "b", 100, seq, path);
}

static void
test_either_first(void **state)
{
	struct cluster_dedup *d = cluster_dedup_new();

	(void)state;
	assert_true(take(d, 1, EARLY));
	assert_false(take(d, 1, STREAM));
	assert_false(take(d, 1, STREAM));	/* redelivered */
	assert_false(take(d, 1, EARLY));
	/* The stream first: the late early copy is dropped. */
	assert_true(take(d, 2, STREAM));
	assert_false(take(d, 2, EARLY));
	/* A lost early copy: the stream's is handed on. */
	assert_true(take(d, 4, EARLY));
	assert_true(take(d, 3, STREAM));
	assert_false(take(d, 4, STREAM));
	/* The stream out of order, as when a batch was sent again. */
	assert_true(take(d, 5, EARLY));
	assert_true(take(d, 6, STREAM));
	assert_false(take(d, 5, STREAM));
	/* Another owner numbers on its own. */
	assert_true(cluster_dedup_take(d, "c", 100, 1, EARLY));
	assert_false(cluster_dedup_take(d, "c", 100, 1, STREAM));
	cluster_dedup_free(&d);
	assert_null(d);
}

/* Early copies run at most W ahead of where the window starts; the
 * stream moves the window, keeping half of it behind its highest. */
static void
test_window(void **state)
{
	struct cluster_dedup *d = cluster_dedup_new();
	uint64_t n, base;

	(void)state;
	/* The first copy places the window: early copies up to W - 1
	 * after it are taken, later ones left to the stream. */
	assert_true(take(d, 10, EARLY));
	assert_true(take(d, 10 + W - 1, EARLY));
	assert_false(take(d, 10 + W, EARLY));
	assert_false(take(d, 9, EARLY));	/* before the first */
	assert_true(take(d, 9, STREAM));
	for (n = 10; n <= 10 + W; n++)
		assert_int_equal(take(d, n, STREAM),
		    n != 10 && n != 10 + W - 1);
	/* The stream's highest is 10 + W: the window starts half a window
	 * behind it. */
	base = 10 + W - W / 2 + 1;
	assert_false(take(d, base, EARLY));	/* the stream's already */
	assert_false(take(d, base - 1, EARLY));	/* out of the window */
	assert_true(take(d, base - 1 + W, EARLY));
	assert_false(take(d, base + W, EARLY));
	/* A stream copy behind the window cannot be told: handed on. */
	assert_true(take(d, base - 1, STREAM));
	/* A jump of the stream clears the window. */
	assert_true(take(d, 100 * W, STREAM));
	assert_true(take(d, 100 * W + 1, EARLY));
	assert_false(take(d, 100 * W + 1, STREAM));
	cluster_dedup_free(&d);
}

/* A restarted owner counts from 1 again; the two latest starts are
 * kept, an older one is left to the stream. */
static void
test_restarts(void **state)
{
	struct cluster_dedup *d = cluster_dedup_new();

	(void)state;
	assert_true(cluster_dedup_take(d, "b", 100, 1, EARLY));
	assert_true(cluster_dedup_take(d, "b", 200, 1, EARLY));
	assert_false(cluster_dedup_take(d, "b", 100, 1, STREAM));
	assert_false(cluster_dedup_take(d, "b", 200, 1, STREAM));
	/* A third start takes the place of the first. */
	assert_true(cluster_dedup_take(d, "b", 300, 1, EARLY));
	assert_false(cluster_dedup_take(d, "b", 100, 2, EARLY));
	assert_true(cluster_dedup_take(d, "b", 100, 2, STREAM));
	assert_true(cluster_dedup_take(d, "b", 200, 2, EARLY));
	assert_false(cluster_dedup_take(d, "b", 200, 2, STREAM));
	assert_false(cluster_dedup_take(d, "b", 300, 1, STREAM));
	cluster_dedup_free(&d);
}

/* Beyond CLUSTER_DEDUP_NODES_MAX owners, events come by the stream. */
static void
test_owner_bound(void **state)
{
	struct cluster_dedup *d = cluster_dedup_new();
	char node[16];
	int i;

	(void)state;
	for (i = 0; i < CLUSTER_DEDUP_NODES_MAX; i++) {
		snprintf(node, sizeof(node), "n%d", i);
		assert_true(cluster_dedup_take(d, node, 1, 1, EARLY));
	}
	assert_false(cluster_dedup_take(d, "more", 1, 1, EARLY));
	assert_true(cluster_dedup_take(d, "more", 1, 1, STREAM));
	assert_false(cluster_dedup_take(d, "n0", 1, 1, STREAM));
	cluster_dedup_free(&d);
}

/* Random interleavings: each event's early copy is lost one time in
 * five, its stream copy comes once or twice; each path is in order (but
 * the stream swaps two neighbours now and then, as a batch sent again
 * does), the stream up to LAG events behind the early copies or ahead of
 * them. Every event is handed on exactly once. */
#define EVENTS 20000
#define LAG 1500
static void
test_random_interleavings(void **state)
{
	static unsigned char handed[EVENTS + 1];
	unsigned seed;

	(void)state;
	for (seed = 1; seed <= 20; seed++) {
		struct cluster_dedup *d = cluster_dedup_new();
		uint64_t e = 1, s = 1;
		bool again = false;

		srand(seed);
		memset(handed, 0, sizeof(handed));
		while (e <= EVENTS || s <= EVENTS) {
			bool early = s > EVENTS || (e <= EVENTS &&
			    (s + LAG <= e ? false : e + LAG <= s ? true :
			    rand() % 2 == 0));

			if (early) {
				if (rand() % 5 != 0 && take(d, e, EARLY))
					handed[e]++;
				e++;
			} else if (!again && s < EVENTS && rand() % 50 == 0) {
				if (take(d, s + 1, STREAM))
					handed[s + 1]++;
				if (take(d, s, STREAM))
					handed[s]++;
				s += 2;
			} else {
				if (take(d, s, STREAM))
					handed[s]++;
				if (!again && rand() % 20 == 0) {
					again = true;	/* redelivered */
					continue;
				}
				again = false;
				s++;
			}
		}
		for (e = 1; e <= EVENTS; e++)
			assert_int_equal(handed[e], 1);
		cluster_dedup_free(&d);
	}
}

static void
test_event_id(void **state)
{
	char id[CLUSTER_EVENT_ID_MAX], prefix[CLUSTER_EVENT_ID_MAX];
	uint64_t started, seq;
	size_t i;

	(void)state;
	cluster_event_id("node-b", 1765000000, 42, id);
	assert_string_equal(id, "node-b-1765000000-42");
	assert_int_equal(cluster_event_id_parse(id, "node-b", &started,
	    &seq), 0);
	assert_int_equal(started, 1765000000);
	assert_int_equal(seq, 42);
	/* Every shorter prefix but the one ending in the last digit but
	 * one is refused; those parse to other numbers. */
	for (i = 0; i < strlen(id); i++) {
		memcpy(prefix, id, i);
		prefix[i] = '\0';
		if (i == strlen(id) - 1) {
			assert_int_equal(cluster_event_id_parse(prefix,
			    "node-b", &started, &seq), 0);
			assert_int_equal(seq, 4);
			continue;
		}
		assert_int_equal(cluster_event_id_parse(prefix, "node-b",
		    &started, &seq), -1);
	}
	cluster_event_id("a", UINT64_MAX, UINT64_MAX, id);
	assert_int_equal(cluster_event_id_parse(id, "a", &started, &seq), 0);
	assert_true(started == UINT64_MAX && seq == UINT64_MAX);
	assert_int_equal(cluster_event_id_parse("node-b-1-42", "node", &started,
	    &seq), -1);
	assert_int_equal(cluster_event_id_parse("b-1-42x", "b", &started,
	    &seq), -1);
	assert_int_equal(cluster_event_id_parse("b-1-+42", "b", &started,
	    &seq), -1);
	assert_int_equal(cluster_event_id_parse("b-1--42", "b", &started,
	    &seq), -1);
	assert_int_equal(cluster_event_id_parse("b-1-18446744073709551616",
	    "b", &started, &seq), -1);
	assert_int_equal(cluster_event_id_parse("c-1-42", "b", &started,
	    &seq), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_either_first),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_restarts),
		cmocka_unit_test(test_owner_bound),
		cmocka_unit_test(test_random_interleavings),
		cmocka_unit_test(test_event_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
