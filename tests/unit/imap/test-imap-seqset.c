/* Tests of sequence set parsing, resolution against "*", and iteration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap-seqset.h"
#include "imap-test.h"
#include "lib/buf.h"

/* The set resolved against max, as "1:3,5". */
static char *
resolve(const char *str, uint32_t max)
{
	struct imap_seqset *set;
	const struct imap_seq_range *r;
	const char *error;
	unsigned int count, i;
	struct buf out;
	char *ret;

	if (imap_seqset_parse(str, &set, &error) < 0)
		return strdup("BAD");
	buf_init(&out, 0);
	r = imap_seqset_ranges(set, max, &count);
	for (i = 0; i < count; i++) {
		if (i > 0)
			buf_printf(&out, ",");
		if (r[i].lo == r[i].hi)
			buf_printf(&out, "%u", r[i].lo);
		else
			buf_printf(&out, "%u:%u", r[i].lo, r[i].hi);
	}
	ret = strdup(buf_cstr(&out));
	buf_free(&out);
	imap_seqset_free(&set);
	assert_null(set);
	return ret;
}

static void
test_valid(void **state)
{
	static const struct it_case valid[] = {
		{ "1", 10, "1" },
		{ "1:3", 10, "1:3" },
		{ "3:1", 10, "1:3" },
		{ "*", 10, "10" },
		{ "3:*", 10, "3:10" },
		{ "*:3", 10, "3:10" },
		{ "*:*", 10, "10" },
		{ "1,3:5,7:*", 10, "1,3:5,7:10" },
		{ "7:*,1,3:5", 10, "1,3:5,7:10" },
		/* Overlapping and adjacent ranges merge. */
		{ "1:4,2:6,7,9,8", 10, "1:9" },
		{ "5,5,5", 10, "5" },
		/* "*" is the highest number: 5:* with 3 messages is 3:5. */
		{ "5:*", 3, "3" },
		{ "20:30", 10, "" },
		{ "1:4294967295", 4294967295u, "1:4294967295" },
		{ "4294967295", 10, "" },
		/* No messages: nothing. */
		{ "1:*", 0, "" },
		{ "*", 0, "" },
	};

	(void)state;
	it_check_cases(resolve, valid, sizeof(valid) / sizeof(valid[0]));
}

static void
test_invalid(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "0", "1:", ":1", ",", "1,", ",1", "1,,2", "0:3", "3:0",
		"01", "1:02", "4294967296", "99999999999999999999", "1:2:3",
		"a", "1 ", " 1", "1-3", "**", "*1", "1*", "$", "1;2",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *got = resolve(bad[i], 10);

		if (strcmp(got, "BAD") != 0)
			fail_msg("\"%s\" accepted as %s", bad[i], got);
		free(got);
	}
}

static void
test_contains_and_iterate(void **state)
{
	struct imap_seqset *set;
	struct imap_seqset_iter it;
	const char *error;
	uint32_t n, got[16];
	unsigned int count = 0;

	(void)state;
	assert_int_equal(imap_seqset_parse("9:*,2,4:5", &set, &error), 0);
	assert_true(imap_seqset_has_star(set));
	assert_false(imap_seqset_contains(set, 10, 1));
	assert_true(imap_seqset_contains(set, 10, 2));
	assert_false(imap_seqset_contains(set, 10, 3));
	assert_true(imap_seqset_contains(set, 10, 5));
	assert_true(imap_seqset_contains(set, 10, 10));
	assert_false(imap_seqset_contains(set, 10, 11));
	/* Resolving again with another max. */
	assert_true(imap_seqset_contains(set, 7, 7));
	assert_false(imap_seqset_contains(set, 7, 9));
	assert_false(imap_seqset_contains(set, 7, 6));

	imap_seqset_iter_init(&it, set, 11);
	while (imap_seqset_iter_next(&it, &n))
		got[count++] = n;
	assert_int_equal(count, 6);
	assert_int_equal(got[0], 2);
	assert_int_equal(got[1], 4);
	assert_int_equal(got[2], 5);
	assert_int_equal(got[3], 9);
	assert_int_equal(got[5], 11);
	imap_seqset_free(&set);

	/* Iteration ends at 2^32-1 without wrapping. */
	assert_int_equal(imap_seqset_parse("4294967294:*", &set, &error), 0);
	assert_false(imap_seqset_has_star(set) == false);
	count = 0;
	imap_seqset_iter_init(&it, set, 4294967295u);
	while (imap_seqset_iter_next(&it, &n))
		count++;
	assert_int_equal(count, 2);
	imap_seqset_free(&set);

	/* Empty mailbox. */
	assert_int_equal(imap_seqset_parse("1:*", &set, &error), 0);
	imap_seqset_iter_init(&it, set, 0);
	assert_false(imap_seqset_iter_next(&it, &n));
	assert_false(imap_seqset_contains(set, 0, 1));
	imap_seqset_free(&set);
	imap_seqset_free(&set);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_contains_and_iterate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
