/* Unit tests for checked lines (log-line.c): a closed line read back in
 * one piece and byte by byte, cut short anywhere, damaged, too long,
 * and reading on past a bad line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "store/log-line.h"

/* Feed len bytes one at a time; the last result, with the body of a
 * line that completed (which must be at the last byte). */
static int
feed_bytes(const char *data, size_t len, char *body_r)
{
	char line[64];
	struct log_line_reader r;
	const char *body;
	size_t used, blen;
	int ret = 0;

	log_line_reader_init(&r, line, sizeof(line));
	for (size_t i = 0; i < len; i++) {
		ret = log_line_feed(&r, data + i, 1, &used, &body, &blen);
		if (ret < 0)
			return ret;
		assert_int_equal(used, 1);
		if (ret > 0) {
			assert_int_equal(i, len - 1);
			memcpy(body_r, body, blen);
			body_r[blen] = '\0';
		}
	}
	return ret;
}

static void
test_roundtrip(void **state)
{
	char body[64];
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	(void)buf_printf(&b, "+ 7 name with spaces");
	log_line_close(&b, 0);
	assert_int_equal(b.len, strlen("+ 7 name with spaces") +
	    LOG_LINE_CHECK_LEN + 1);
	assert_int_equal(feed_bytes((const char *)b.data, b.len, body), 1);
	assert_string_equal(body, "+ 7 name with spaces");
	/* Cut anywhere before the LF: need more. */
	for (size_t cut = 0; cut < b.len; cut++)
		assert_int_equal(feed_bytes((const char *)b.data, cut, body),
		    0);
	/* Any one byte changed before the LF is caught. */
	for (size_t i = 0; i + 1 < b.len; i++) {
		char line[64];

		memcpy(line, b.data, b.len);
		line[i] = line[i] == '7' ? '8' : '7';
		assert_int_equal(feed_bytes(line, b.len, body), -1);
	}
	buf_free(&b);
}

/* After a bad line (damaged, or too long) the next good one is read:
 * callers tell damage in the middle from a torn tail by that. */
static void
test_read_on(void **state)
{
	char line[16], big[64];
	struct log_line_reader r;
	const char *body;
	size_t used, blen, off = 0;
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	memset(big, 'x', sizeof(big));
	(void)buf_append(&b, big, sizeof(big));
	(void)buf_append(&b, "\nzeroes\n", 8);
	(void)buf_printf(&b, "ok");
	log_line_close(&b, b.len - 2);
	log_line_reader_init(&r, line, sizeof(line));
	assert_int_equal(log_line_feed(&r, b.data, b.len, &used, &body,
	    &blen), -1);
	off += used;
	assert_int_equal(log_line_feed(&r, b.data + off, b.len - off, &used,
	    &body, &blen), -1);
	off += used;
	assert_int_equal(off, sizeof(big) + 8);
	assert_int_equal(log_line_feed(&r, b.data + off, b.len - off, &used,
	    &body, &blen), 1);
	assert_int_equal(blen, 2);
	assert_memory_equal(body, "ok", 2);
	assert_int_equal(off + used, b.len);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_read_on),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
