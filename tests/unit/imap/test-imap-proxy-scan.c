/*
 * Tests of the proxy's stream framing (imap-proxy-scan.h): each stream
 * is fed whole, then in every chunk size down to a byte at a time, and
 * must give the same events at the same offsets, with head bytes never
 * consumed together with others.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap-proxy-scan.h"
#include "lib/buf.h"

/* The events of data fed in chunks of step bytes, as text:
 * "H(tag,word)@end-offset", "L5s@offset" (size, s: synchronising, n:
 * not), "E@offset", joined by spaces. */
static char *
scan_events(const char *data, size_t len, size_t step)
{
	struct imap_scan s;
	enum imap_scan_event ev;
	struct buf out;
	size_t off = 0, chunk, used, head_bytes = 0, hlen;
	const unsigned char *head;
	bool in_head;
	char *ret;

	imap_scan_init(&s);
	buf_init(&out, 0);
	while (off < len) {
		chunk = len - off < step ? len - off : step;
		in_head = imap_scan_in_head(&s);
		ev = imap_scan_feed(&s, data + off, chunk, &used);
		assert_true(used <= chunk);
		if (in_head)
			head_bytes += used;
		off += used;
		switch (ev) {
		case IMAP_SCAN_HEAD:
			head = imap_scan_head(&s, &hlen);
			/* Every byte consumed in the head is in it. */
			assert_int_equal(hlen, head_bytes);
			assert_memory_equal(head, data + off - hlen, hlen);
			head_bytes = 0;
			buf_printf(&out, "%sH(%s,%s)@%zu", out.len ? " " : "",
			    imap_scan_tag(&s), imap_scan_word(&s), off);
			break;
		case IMAP_SCAN_LITERAL:
			buf_printf(&out, "%sL%llu%c@%zu", out.len ? " " : "",
			    (unsigned long long)imap_scan_literal_size(&s),
			    imap_scan_literal_sync(&s) ? 's' : 'n', off);
			break;
		case IMAP_SCAN_END:
			assert_true(imap_scan_at_start(&s));
			buf_printf(&out, "%sE@%zu", out.len ? " " : "", off);
			break;
		case IMAP_SCAN_MORE:
			assert_int_equal(used, chunk);
			break;
		}
	}
	ret = strdup(out.len ? buf_cstr(&out) : "");
	buf_free(&out);
	return ret;
}

/* data gives want fed whole and in every smaller chunk size. */
static void
check(const char *data, const char *want)
{
	size_t len = strlen(data), step;
	char *got;

	for (step = len > 0 ? len : 1; step >= 1; step--) {
		got = scan_events(data, len, step);
		if (strcmp(got, want) != 0)
			fail_msg("step %zu: \"%s\" gave \"%s\", want \"%s\"",
			    step, data, got, want);
		free(got);
	}
}

static void
test_lines(void **state)
{
	(void)state;
	check("a1 NOOP\r\n", "H(a1,NOOP)@7 E@9");
	check("a1 NOOP\r\na2 LOGOUT\r\n",
	    "H(a1,NOOP)@7 E@9 H(a2,LOGOUT)@18 E@20");
	/* A bare LF ends a line too; a bare CR does not. */
	check("a1 NOOP\na2 X\rY\n", "H(a1,NOOP)@7 E@8 H(a2,X)@12 E@15");
	/* IDLE's DONE, an empty line, untagged and continuation lines. */
	check("DONE\r\n", "H(DONE,)@4 E@6");
	check("\r\n", "H(,)@0 E@2");
	check("* OK [CAPABILITY IMAP4rev1] ready\r\n",
	    "H(*,OK)@4 E@35");
	check("+ idling\r\n", "H(+,idling)@8 E@10");
	/* The word stops at the first character not in a name. */
	check("a UID FETCH 1 (FLAGS)\r\n", "H(a,UID)@5 E@23");
	check("* 3 EXISTS\r\n", "H(*,3)@3 E@12");
	check("a (x)\r\n", "H(a,)@2 E@7");
	check("a  XBELL\r\n", "H(a,)@2 E@10");
}

static void
test_literals(void **state)
{
	(void)state;
	check("a APPEND INBOX {5}\r\nhello\r\n",
	    "H(a,APPEND)@8 L5s@20 E@27");
	check("a APPEND INBOX {5+}\r\nhello\r\n",
	    "H(a,APPEND)@8 L5n@21 E@28");
	/* Literal8 (RFC 3516), and data that looks like lines. */
	check("a APPEND INBOX ~{7}\r\nx\r\ny\r\n1\r\n",
	    "H(a,APPEND)@8 L7s@21 E@30");
	/* Several literals in one command; the line goes on after each. */
	check("a LOGIN {1}\r\nu {2+}\r\npw\r\n",
	    "H(a,LOGIN)@7 L1s@13 L2n@21 E@25");
	/* A response with a literal holding a CR LF and a "{1}". */
	check("* 1 FETCH (BODY[] {9}\r\nab{1}\r\n\r\n)\r\n",
	    "H(*,1)@3 L9s@23 E@35");
	/* An empty literal: the line goes on at once. */
	check("a X {0}\r\n\r\n", "H(a,X)@3 L0s@9 E@11");
	/* A literal announced within the head ends it. */
	check("a {3}\r\nabc\r\n", "H(a,)@2 L3s@7 E@12");
}

static void
test_not_literals(void **state)
{
	(void)state;
	/* Not at the end of the line. */
	check("a X {5} y\r\n", "H(a,X)@3 E@11");
	/* Inside a quoted string, with escapes. */
	check("a X \"{5}\r\n", "H(a,X)@3 E@10");
	check("a X \"q\\\"{5}\r\n", "H(a,X)@3 E@13");
	check("a X \"q\\\\\" {5}\r\nabcde\r\n",
	    "H(a,X)@3 L5s@15 E@22");
	/* Malformed announcements. */
	check("a X {}\r\n", "H(a,X)@3 E@8");
	check("a X {+}\r\n", "H(a,X)@3 E@9");
	check("a X {5++}\r\n", "H(a,X)@3 E@11");
	check("a X {5}x\r\n", "H(a,X)@3 E@10");
	check("a X {5}\r\r\n", "H(a,X)@3 E@10");
	/* A number beyond 64 bits announces nothing. */
	check("a X {99999999999999999999999}\r\n", "H(a,X)@3 E@31");
}

static void
test_long_heads(void **state)
{
	struct buf b;
	char want[64];

	(void)state;
	/* A tag one over the maximum: unknown, and the head ends there. */
	buf_init(&b, 0);
	for (int i = 0; i < IMAP_PROXY_TAG_MAX + 1; i++)
		buf_append_str(&b, "t");
	buf_append_str(&b, " XBELL\r\n");
	snprintf(want, sizeof(want), "H(,)@%d E@%zu", IMAP_PROXY_TAG_MAX,
	    b.len);
	check(buf_cstr(&b), want);
	buf_free(&b);
	/* A tag of the maximum is kept. */
	buf_init(&b, 0);
	for (int i = 0; i < IMAP_PROXY_TAG_MAX; i++)
		buf_append_str(&b, "t");
	buf_append_str(&b, " NOOP\r\n");
	{
		char *got = scan_events(buf_cstr(&b), b.len, 1);

		assert_non_null(strstr(got, ",NOOP)"));
		assert_int_equal(got[2 + IMAP_PROXY_TAG_MAX], ',');
		free(got);
	}
	buf_free(&b);
	/* A word one over the maximum: unknown. */
	buf_init(&b, 0);
	buf_append_str(&b, "a ");
	for (int i = 0; i < IMAP_PROXY_WORD_MAX + 1; i++)
		buf_append_str(&b, "W");
	buf_append_str(&b, "\r\n");
	snprintf(want, sizeof(want), "H(a,)@%d E@%zu",
	    2 + IMAP_PROXY_WORD_MAX, b.len);
	check(buf_cstr(&b), want);
	buf_free(&b);
}

/* The server refused a synchronising literal with a tagged reply: no
 * data comes, and the next bytes are a command. */
static void
test_literal_cancel(void **state)
{
	static const char cmd1[] = "a APPEND Nope {5}\r\n";
	static const char cmd2[] = "b NOOP\r\n";
	struct imap_scan s;
	size_t used;

	(void)state;
	imap_scan_init(&s);
	assert_true(imap_scan_at_start(&s));
	assert_int_equal(imap_scan_feed(&s, cmd1, strlen(cmd1), &used),
	    IMAP_SCAN_HEAD);
	assert_false(imap_scan_at_start(&s));
	assert_int_equal(imap_scan_feed(&s, cmd1 + used, strlen(cmd1) - used,
	    &used), IMAP_SCAN_LITERAL);
	assert_true(imap_scan_literal_waiting(&s));
	assert_string_equal(imap_scan_tag(&s), "a");
	imap_scan_literal_cancel(&s);
	assert_false(imap_scan_literal_waiting(&s));
	assert_true(imap_scan_at_start(&s));
	assert_int_equal(imap_scan_feed(&s, cmd2, strlen(cmd2), &used),
	    IMAP_SCAN_HEAD);
	assert_string_equal(imap_scan_tag(&s), "b");
	assert_string_equal(imap_scan_word(&s), "NOOP");

	/* Once data came, or for a non-synchronising literal, nothing is
	 * waiting. */
	imap_scan_init(&s);
	(void)imap_scan_feed(&s, cmd1, strlen(cmd1), &used);
	(void)imap_scan_feed(&s, cmd1 + used, strlen(cmd1) - used, &used);
	assert_int_equal(imap_scan_feed(&s, "h", 1, &used), IMAP_SCAN_MORE);
	assert_false(imap_scan_literal_waiting(&s));
	imap_scan_init(&s);
	(void)imap_scan_feed(&s, "a X {1+}\r\n", 10, &used);
	assert_int_equal(imap_scan_feed(&s, "a X {1+}\r\n" + used, 10 - used,
	    &used), IMAP_SCAN_LITERAL);
	assert_false(imap_scan_literal_waiting(&s));
}

/* The head stays readable after END, until the next unit begins. */
static void
test_head_lifetime(void **state)
{
	struct imap_scan s;
	size_t used, len;

	(void)state;
	imap_scan_init(&s);
	assert_int_equal(imap_scan_feed(&s, "x1 OK done\r\n", 12, &used),
	    IMAP_SCAN_HEAD);
	assert_int_equal(imap_scan_feed(&s, "x1 OK done\r\n" + used,
	    12 - used, &used), IMAP_SCAN_END);
	assert_string_equal(imap_scan_tag(&s), "x1");
	assert_string_equal(imap_scan_word(&s), "OK");
	(void)imap_scan_head(&s, &len);
	assert_int_equal(len, 5);
	assert_int_equal(imap_scan_feed(&s, "*", 1, &used), IMAP_SCAN_MORE);
	assert_string_equal(imap_scan_tag(&s), "*");
	assert_int_equal(imap_scan_feed(&s, " ", 1, &used), IMAP_SCAN_MORE);
	assert_int_equal(imap_scan_feed(&s, "B", 1, &used), IMAP_SCAN_MORE);
	assert_string_equal(imap_scan_word(&s), "B");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_not_literals),
		cmocka_unit_test(test_long_heads),
		cmocka_unit_test(test_literal_cancel),
		cmocka_unit_test(test_head_lifetime),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
