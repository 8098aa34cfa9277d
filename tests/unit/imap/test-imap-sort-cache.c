/* Tests of the sort-key cache: entries by folder, UIDVALIDITY and UID,
 * folders dropped oldest first when full but never while open, a new
 * UIDVALIDITY starting afresh, and a folder of mostly expunged
 * messages dropped at close. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "imap/imap-sort-cache.h"
#include "lib/xmalloc.h"

static void
put(struct imap_sort_cache *cache, struct imap_sort_cache_folder *f,
    uint32_t uid, const char *subject)
{
	struct imap_sort_msg m = { .seq = 9, .uid = uid, .date = 5,
	    .sent_date = true };
	char *refs[1] = { "<r@x>" };

	m.subject = (char *)subject;
	m.from = m.to = m.cc = m.display_from = m.display_to = "";
	m.message_id = "<id@x>";
	m.refs = refs;
	m.ref_count = 1;
	imap_sort_cache_put(cache, f, &m);
}

static void
test_get_put(void **state)
{
	struct imap_sort_cache *cache = imap_sort_cache_new(100);
	struct imap_sort_cache_folder *f;
	const struct imap_sort_msg *m;

	(void)state;
	f = imap_sort_cache_open(cache, "alice", "INBOX", 7);
	assert_null(imap_sort_cache_get(f, 1));
	put(cache, f, 1, "one");
	put(cache, f, 2, "two");
	put(cache, f, 1, "again");	/* the first stays */
	assert_int_equal(imap_sort_cache_count(cache), 2);
	m = imap_sort_cache_get(f, 1);
	assert_non_null(m);
	assert_string_equal(m->subject, "one");
	assert_int_equal(m->seq, 0);
	assert_true(m->sent_date);
	assert_int_equal(m->ref_count, 1);
	assert_string_equal(m->refs[0], "<r@x>");
	imap_sort_cache_close(cache, &f, 2);
	assert_null(f);

	/* Kept for the next command; another user's folder is apart. */
	f = imap_sort_cache_open(cache, "alice", "INBOX", 7);
	assert_string_equal(imap_sort_cache_get(f, 2)->subject, "two");
	imap_sort_cache_close(cache, &f, 2);
	f = imap_sort_cache_open(cache, "bob", "INBOX", 7);
	assert_null(imap_sort_cache_get(f, 2));
	imap_sort_cache_close(cache, &f, 0);

	/* A new UIDVALIDITY: the old entries are gone. */
	f = imap_sort_cache_open(cache, "alice", "INBOX", 8);
	assert_null(imap_sort_cache_get(f, 2));
	assert_int_equal(imap_sort_cache_count(cache), 0);
	imap_sort_cache_close(cache, &f, 0);
	imap_sort_cache_free(&cache);
	assert_null(cache);
}

static void
test_full(void **state)
{
	struct imap_sort_cache *cache = imap_sort_cache_new(4);
	struct imap_sort_cache_folder *a, *b, *c;

	(void)state;
	a = imap_sort_cache_open(cache, "u", "A", 1);
	put(cache, a, 1, "a1");
	put(cache, a, 2, "a2");
	imap_sort_cache_close(cache, &a, 2);
	b = imap_sort_cache_open(cache, "u", "B", 1);
	put(cache, b, 1, "b1");
	imap_sort_cache_close(cache, &b, 1);
	/* C fills the cache: A, the oldest, goes first, then B. */
	c = imap_sort_cache_open(cache, "u", "C", 1);
	put(cache, c, 1, "c1");
	put(cache, c, 2, "c2");
	assert_int_equal(imap_sort_cache_count(cache), 3);
	a = imap_sort_cache_open(cache, "u", "A", 1);
	assert_null(imap_sort_cache_get(a, 1));
	imap_sort_cache_close(cache, &a, 2);
	b = imap_sort_cache_open(cache, "u", "B", 1);
	assert_non_null(imap_sort_cache_get(b, 1));
	/* B and C open: nothing can go, and the entry is not kept. */
	put(cache, c, 3, "c3");
	put(cache, c, 4, "c4");
	assert_int_equal(imap_sort_cache_count(cache), 4);
	assert_null(imap_sort_cache_get(c, 4));
	assert_non_null(imap_sort_cache_get(b, 1));
	imap_sort_cache_close(cache, &b, 1);
	/* Now B may go. */
	put(cache, c, 4, "c4");
	assert_non_null(imap_sort_cache_get(c, 4));
	assert_int_equal(imap_sort_cache_count(cache), 4);
	imap_sort_cache_close(cache, &c, 4);
	imap_sort_cache_free(&cache);
}

static void
test_expunged_and_reopened(void **state)
{
	struct imap_sort_cache *cache = imap_sort_cache_new(1000);
	struct imap_sort_cache_folder *f, *g;

	(void)state;
	f = imap_sort_cache_open(cache, "u", "A", 1);
	for (uint32_t uid = 1; uid <= 100; uid++)
		put(cache, f, uid, "x");
	/* 100 entries for 17 messages, more than 2 * 17 + 64: dropped;
	 * for 18, not. */
	imap_sort_cache_close(cache, &f, 17);
	assert_int_equal(imap_sort_cache_count(cache), 0);
	f = imap_sort_cache_open(cache, "u", "A", 1);
	for (uint32_t uid = 1; uid <= 100; uid++)
		put(cache, f, uid, "x");
	imap_sort_cache_close(cache, &f, 18);
	assert_int_equal(imap_sort_cache_count(cache), 100);

	/* Open under the old UIDVALIDITY by one session, the new one by
	 * another: the second works on a folder of its own. */
	f = imap_sort_cache_open(cache, "u", "A", 1);
	g = imap_sort_cache_open(cache, "u", "A", 2);
	assert_null(imap_sort_cache_get(g, 1));
	put(cache, g, 1, "new");
	assert_string_equal(imap_sort_cache_get(f, 1)->subject, "x");
	assert_string_equal(imap_sort_cache_get(g, 1)->subject, "new");
	imap_sort_cache_close(cache, &g, 1);
	assert_int_equal(imap_sort_cache_count(cache), 100);
	imap_sort_cache_close(cache, &f, 100);
	/* The next open under the new UIDVALIDITY drops the old. */
	f = imap_sort_cache_open(cache, "u", "A", 2);
	assert_int_equal(imap_sort_cache_count(cache), 0);
	imap_sort_cache_close(cache, &f, 0);
	imap_sort_cache_free(&cache);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_put),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_expunged_and_reopened),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
