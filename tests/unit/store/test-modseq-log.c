/* Unit tests for the MODSEQ log's record format: every record type
 * formatted and parsed back fed byte by byte, torn tails (need more),
 * damaged lines (wrong check, bad numbers, too long, zeroes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "store/modseq-log.h"

/* Feed data one byte at a time: the result of the last feed, with the
 * record when one completed (which must be at the last byte). */
static int
feed_bytes(const char *data, size_t len, struct modseq_rec *rec_r)
{
	struct modseq_parser p;
	size_t used;
	int ret = 0;

	modseq_parser_init(&p);
	for (size_t i = 0; i < len; i++) {
		ret = modseq_parser_feed(&p, data + i, 1, &used, rec_r);
		if (ret < 0)
			return ret;	/* the log is cut before this line */
		assert_int_equal(used, 1);
		if (ret != 0) {
			assert_int_equal(i, len - 1);
			return ret;
		}
	}
	return ret;
}

static void
roundtrip(const struct modseq_rec *in)
{
	struct modseq_rec out;
	struct buf b;

	buf_init(&b, 0);
	modseq_rec_format(in, &b);
	assert_true(b.len < MODSEQ_LOG_LINE_MAX);
	assert_int_equal(b.data[b.len - 1], '\n');
	assert_int_equal(feed_bytes((const char *)b.data, b.len, &out), 1);
	assert_int_equal(out.type, in->type);
	assert_int_equal(out.uid, in->uid);
	assert_true(out.modseq == in->modseq);
	assert_true(out.horizon == in->horizon);
	assert_int_equal(out.flags, in->flags);
	assert_int_equal(out.keywords, in->keywords);
	/* Cut anywhere before the LF: a torn tail, need more. */
	for (size_t cut = 0; cut < b.len; cut++)
		assert_int_equal(feed_bytes((const char *)b.data, cut, &out),
		    0);
	buf_free(&b);
}

static void
test_roundtrip(void **state)
{
	struct modseq_rec v = { .type = MODSEQ_REC_HEADER, .uid = 1234567890,
		.modseq = 715194045007ULL, .horizon = 12 };
	struct modseq_rec m = { .type = MODSEQ_REC_MSG, .uid = 4294967295u,
		.modseq = UINT64_MAX, .flags = 63, .keywords = 0x3ffffff };
	struct modseq_rec m0 = { .type = MODSEQ_REC_MSG, .uid = 1,
		.modseq = 1 };
	struct modseq_rec x = { .type = MODSEQ_REC_GONE, .uid = 41,
		.modseq = 20010715194045319ULL };

	(void)state;
	roundtrip(&v);
	roundtrip(&m);
	roundtrip(&m0);
	roundtrip(&x);
}

/* Two records in one feed: one at a time, each consuming its line. */
static void
test_two_records(void **state)
{
	struct modseq_rec a = { .type = MODSEQ_REC_MSG, .uid = 7,
		.modseq = 9, .flags = 16 }, out;
	struct modseq_parser p;
	struct buf b;
	size_t used, first;

	(void)state;
	buf_init(&b, 0);
	modseq_rec_format(&a, &b);
	first = b.len;
	a.uid = 8;
	modseq_rec_format(&a, &b);
	modseq_parser_init(&p);
	assert_int_equal(modseq_parser_feed(&p, b.data, b.len, &used, &out),
	    1);
	assert_int_equal(used, first);
	assert_int_equal(out.uid, 7);
	assert_int_equal(modseq_parser_feed(&p, b.data + used, b.len - used,
	    &used, &out), 1);
	assert_int_equal(out.uid, 8);
	buf_free(&b);
}

static void
test_damaged(void **state)
{
	struct modseq_rec rec = { .type = MODSEQ_REC_MSG, .uid = 3,
		.modseq = 5, .flags = 2, .keywords = 1 }, out;
	char line[MODSEQ_LOG_LINE_MAX * 2];
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	modseq_rec_format(&rec, &b);
	/* Any one byte changed before the LF is caught. */
	for (size_t i = 0; i + 1 < b.len; i++) {
		memcpy(line, b.data, b.len);
		line[i] = line[i] == '7' ? '8' : '7';
		assert_int_equal(feed_bytes(line, b.len, &out), -1);
	}
	buf_free(&b);
	/* Zeroes after a crash, a line that never ends. */
	memset(line, 0, sizeof(line));
	line[20] = '\n';
	assert_int_equal(feed_bytes(line, 21, &out), -1);
	memset(line, 'M', sizeof(line));
	assert_int_equal(feed_bytes(line, MODSEQ_LOG_LINE_MAX + 1, &out),
	    -1);
	/* Lines the formatter never makes. */
	assert_int_equal(feed_bytes("M 1 0 0 0 4d9aa41f\n", 19, &out), -1);
	assert_int_equal(feed_bytes("Q 1 2 3 0\n", 10, &out), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_two_records),
		cmocka_unit_test(test_damaged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
