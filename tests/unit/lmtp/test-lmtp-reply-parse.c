/* Unit tests for the LMTP reply parser of the relay, fed whole and byte
 * by byte. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lmtp/lmtp-reply-parse.h"

/* ---- helpers ---- */

/*
 * Feed text one byte at a time: every byte but the last must need more
 * and be consumed, the last must give the expected result.
 */
static int
feed_bytewise(struct lmtp_reply_parser *parser, const char *text,
    struct lmtp_reply *reply)
{
	size_t len = strlen(text), consumed;
	int ret = 0;

	for (size_t i = 0; i < len; i++) {
		ret = lmtp_reply_parser_feed(parser,
		    (const unsigned char *)text + i, 1, &consumed, reply);
		assert_int_equal(consumed, 1);
		if (i + 1 < len)
			assert_int_equal(ret, 0);
	}
	return ret;
}

/* Feed text in one call; it must be used up exactly. */
static int
feed_whole(struct lmtp_reply_parser *parser, const char *text,
    struct lmtp_reply *reply)
{
	size_t consumed;
	int ret;

	ret = lmtp_reply_parser_feed(parser, (const unsigned char *)text,
	    strlen(text), &consumed, reply);
	assert_int_equal(consumed, strlen(text));
	return ret;
}

/* Both ways must agree; returns the result. */
static int
feed_both(const char *text, struct lmtp_reply *reply)
{
	struct lmtp_reply_parser *a = lmtp_reply_parser_new();
	struct lmtp_reply_parser *b = lmtp_reply_parser_new();
	struct lmtp_reply other;
	int ret, ret2;

	memset(reply, 0, sizeof(*reply));
	memset(&other, 0, sizeof(other));
	ret = feed_bytewise(a, text, reply);
	ret2 = feed_whole(b, text, &other);
	assert_int_equal(ret, ret2);
	if (ret == 1)
		assert_memory_equal(reply, &other, sizeof(other));
	else if (ret < 0)
		assert_int_equal(lmtp_reply_parser_error(a),
		    lmtp_reply_parser_error(b));
	lmtp_reply_parser_free(&a);
	lmtp_reply_parser_free(&b);
	return ret;
}

/* ---- replies ---- */

static void
test_single_line(void **state)
{
	struct lmtp_reply r;

	(void)state;
	assert_int_equal(feed_both("250 2.1.5 <bob@example.org> OK\r\n", &r),
	    1);
	assert_int_equal(r.code, 250);
	assert_string_equal(r.enhanced, "2.1.5");
	assert_string_equal(r.text, "<bob@example.org> OK");
	assert_int_equal(r.lines, 1);
	assert_int_equal(r.caps, 0);

	assert_int_equal(feed_both("452 4.3.1 Insufficient storage\n", &r), 1);
	assert_int_equal(r.code, 452);
	assert_string_equal(r.enhanced, "4.3.1");
	assert_string_equal(r.text, "Insufficient storage");

	/* A code alone is a reply (RFC 5321 4.2: the text is optional). */
	assert_int_equal(feed_both("354\r\n", &r), 1);
	assert_int_equal(r.code, 354);
	assert_string_equal(r.enhanced, "");
	assert_string_equal(r.text, "");
}

static void
test_enhanced_codes(void **state)
{
	struct lmtp_reply r;

	(void)state;
	/* None, as from a server without ENHANCEDSTATUSCODES. */
	assert_int_equal(feed_both("550 User unknown\r\n", &r), 1);
	assert_string_equal(r.enhanced, "");
	assert_string_equal(r.text, "User unknown");
	/* The class must be the code's first digit (RFC 2034 4). */
	assert_int_equal(feed_both("452 5.1.1 odd\r\n", &r), 1);
	assert_string_equal(r.enhanced, "");
	assert_string_equal(r.text, "5.1.1 odd");
	/* Three digits at most in subject and detail. */
	assert_int_equal(feed_both("550 5.1234.1 x\r\n", &r), 1);
	assert_string_equal(r.enhanced, "");
	assert_int_equal(feed_both("550 5.999.999 x\r\n", &r), 1);
	assert_string_equal(r.enhanced, "5.999.999");
	assert_string_equal(r.text, "x");
	/* Not followed by a space: not a code. */
	assert_int_equal(feed_both("550 5.1.1x\r\n", &r), 1);
	assert_string_equal(r.enhanced, "");
	/* Alone on the line. */
	assert_int_equal(feed_both("250 2.0.0\r\n", &r), 1);
	assert_string_equal(r.enhanced, "2.0.0");
	assert_string_equal(r.text, "");
}

static void
test_lhlo_reply(void **state)
{
	struct lmtp_reply r;

	(void)state;
	assert_int_equal(feed_both("250-node-b.example\r\n250-PIPELINING\r\n"
	    "250-enhancedstatuscodes\r\n250-8BITMIME\r\n250-STARTTLS\r\n"
	    "250-X-UNKNOWN foo\r\n250 SIZE 52428800\r\n", &r), 1);
	assert_int_equal(r.code, 250);
	assert_string_equal(r.text, "node-b.example");
	assert_int_equal(r.lines, 7);
	assert_int_equal(r.caps, LMTP_CAP_PIPELINING | LMTP_CAP_ENHANCED |
	    LMTP_CAP_8BITMIME | LMTP_CAP_STARTTLS | LMTP_CAP_SIZE);
	assert_int_equal(r.size_max, 52428800);

	/* SIZE without a number, and a keyword that only starts alike. */
	assert_int_equal(feed_both("250-h\r\n250-SIZE\r\n250 8BITMIMEX\r\n",
	    &r), 1);
	assert_int_equal(r.caps, LMTP_CAP_SIZE);
	assert_int_equal(r.size_max, 0);
}

static void
test_pipelined_replies(void **state)
{
	struct lmtp_reply_parser *p = lmtp_reply_parser_new();
	const char *in = "250 2.1.0 OK\r\n550-5.1.1 no\r\n550 5.1.1 such\r\n"
	    "250 2.1.5 OK\r\n";
	const unsigned char *cur = (const unsigned char *)in;
	size_t left = strlen(in), consumed;
	struct lmtp_reply r;
	int codes[3], n = 0;

	(void)state;
	while (left > 0) {
		assert_int_equal(lmtp_reply_parser_feed(p, cur, left,
		    &consumed, &r), 1);
		codes[n++] = r.code;
		cur += consumed;
		left -= consumed;
	}
	assert_int_equal(n, 3);
	assert_int_equal(codes[0], 250);
	assert_int_equal(codes[1], 550);
	assert_int_equal(codes[2], 250);
	lmtp_reply_parser_free(&p);
}

static void
test_text_sanitised(void **state)
{
	struct lmtp_reply r;

	(void)state;
	assert_int_equal(feed_both("550 5.1.1 a\tb\rc\x80\x7f" "d\r\n", &r),
	    1);
	assert_string_equal(r.text, "a?b?c??d");
}

/* ---- errors ---- */

static void
expect_error(const char *text, enum lmtp_reply_error error)
{
	struct lmtp_reply_parser *p = lmtp_reply_parser_new();
	struct lmtp_reply r;
	size_t len = strlen(text), consumed;
	int ret = 0;

	/* Byte by byte: every byte up to the failing one is taken. */
	for (size_t i = 0; i < len && ret == 0; i++)
		ret = lmtp_reply_parser_feed(p,
		    (const unsigned char *)text + i, 1, &consumed, &r);
	assert_int_equal(ret, -1);
	assert_int_equal(lmtp_reply_parser_error(p), error);
	assert_non_null(lmtp_reply_error_text(error));
	/* It stays failed, consuming nothing... */
	assert_int_equal(lmtp_reply_parser_feed(p,
	    (const unsigned char *)"250 ok\r\n", 8, &consumed, &r), -1);
	assert_int_equal(consumed, 0);
	/* ...until reset. */
	lmtp_reply_parser_reset(p);
	assert_int_equal(feed_whole(p, "250 ok\r\n", &r), 1);
	assert_int_equal(r.code, 250);
	lmtp_reply_parser_free(&p);
}

static void
test_syntax_errors(void **state)
{
	struct lmtp_reply r;

	(void)state;
	expect_error("25\r\n", LMTP_REPLY_ERROR_SYNTAX);
	expect_error("abc def\r\n", LMTP_REPLY_ERROR_SYNTAX);
	expect_error("250x\r\n", LMTP_REPLY_ERROR_SYNTAX);
	expect_error("150 what\r\n", LMTP_REPLY_ERROR_SYNTAX);
	expect_error("650 what\r\n", LMTP_REPLY_ERROR_SYNTAX);
	expect_error("\r\n", LMTP_REPLY_ERROR_SYNTAX);
	expect_error("250-a\r\n251 b\r\n", LMTP_REPLY_ERROR_CODE_MISMATCH);
	expect_error("250-a\r\n250x\r\n", LMTP_REPLY_ERROR_SYNTAX);
	/* Whole, the same. */
	assert_int_equal(feed_both("250-a\r\n550 b\r\n", &r), -1);
}

static void
test_nul(void **state)
{
	struct lmtp_reply_parser *p = lmtp_reply_parser_new();
	struct lmtp_reply r;
	size_t consumed;

	(void)state;
	assert_int_equal(lmtp_reply_parser_feed(p,
	    (const unsigned char *)"250 a\0b\r\n", 9, &consumed, &r), -1);
	assert_int_equal(consumed, 6);
	assert_int_equal(lmtp_reply_parser_error(p), LMTP_REPLY_ERROR_NUL);
	lmtp_reply_parser_free(&p);
}

static void
test_line_limit(void **state)
{
	char *line = malloc(LMTP_REPLY_LINE_MAX + 8);
	struct lmtp_reply r;

	(void)state;
	/* Exactly the limit, with CR LF: fine. */
	memset(line, 'x', LMTP_REPLY_LINE_MAX);
	memcpy(line, "250 ", 4);
	memcpy(line + LMTP_REPLY_LINE_MAX, "\r\n", 3);
	assert_int_equal(feed_both(line, &r), 1);
	assert_int_equal(strlen(r.text), LMTP_REPLY_LINE_MAX - 4);
	/* With a bare LF: fine too. */
	memcpy(line + LMTP_REPLY_LINE_MAX, "\n", 2);
	assert_int_equal(feed_both(line, &r), 1);
	/* One byte more fails at that byte, before any LF. */
	memset(line, 'x', LMTP_REPLY_LINE_MAX + 1);
	memcpy(line, "250 ", 4);
	line[LMTP_REPLY_LINE_MAX + 1] = '\0';
	expect_error(line, LMTP_REPLY_ERROR_LINE_TOO_LONG);
	/* A CR that is not the end does not buy a byte. */
	memcpy(line + LMTP_REPLY_LINE_MAX, "\rx", 3);
	expect_error(line, LMTP_REPLY_ERROR_LINE_TOO_LONG);
	free(line);
}

static void
test_too_many_lines(void **state)
{
	char *text = malloc((LMTP_REPLY_LINES_MAX + 1) * 8 + 1);
	struct lmtp_reply r;
	size_t len = 0;

	(void)state;
	for (int i = 0; i < LMTP_REPLY_LINES_MAX - 1; i++) {
		memcpy(text + len, "250-ab\r\n", 8);
		len += 8;
	}
	memcpy(text + len, "250 ab\r\n", 9);
	assert_int_equal(feed_both(text, &r), 1);
	assert_int_equal(r.lines, LMTP_REPLY_LINES_MAX);
	memcpy(text + len, "250-ab\r\n250 ab\r\n", 17);
	expect_error(text, LMTP_REPLY_ERROR_TOO_MANY_LINES);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_line),
		cmocka_unit_test(test_enhanced_codes),
		cmocka_unit_test(test_lhlo_reply),
		cmocka_unit_test(test_pipelined_replies),
		cmocka_unit_test(test_text_sanitised),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_line_limit),
		cmocka_unit_test(test_too_many_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
