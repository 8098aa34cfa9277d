/* Unit tests for the pure half of the command line tool's IMAP client
 * (src/client/imap-client-parse.c): finding a whole response fed byte
 * by byte, literals included, refusing one that is too long, parsing
 * the argument tree, and the quoting and number helpers. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "client/imap-client-parse.h"
#include "client/imap-client.h"

/*
 * Feed text one byte more at a time: "need more" until the last byte,
 * then the whole response. Returns the length found.
 */
static size_t
find_bytewise(const char *text, size_t len, size_t *text_end_r)
{
	size_t n, got = 0, text_end = 0;

	for (n = 1; n < len; n++)
		assert_int_equal(imap_client_resp_find(
		    (const unsigned char *)text, n, &got, &text_end), 0);
	assert_int_equal(imap_client_resp_find((const unsigned char *)text,
	    len, &got, &text_end), 1);
	*text_end_r = text_end;
	return got;
}

static void
test_find_line_and_literal(void **state)
{
	static const char line[] = "* OK ready\r\n";
	static const char lit[] = "* 1 FETCH (BODY[] {5}\r\nhe\r\no)\r\n";
	static const char two[] = "m1 OK done\r\n* 2 EXISTS\r\n";
	size_t len, text_end;

	(void)state;
	len = find_bytewise(line, strlen(line), &text_end);
	assert_int_equal(len, strlen(line));
	assert_int_equal(text_end, strlen(line) - 2);

	/* The CRLF inside the literal does not end the response. */
	len = find_bytewise(lit, strlen(lit), &text_end);
	assert_int_equal(len, strlen(lit));
	assert_int_equal(text_end, strlen(lit) - 2);

	/* Only the first of two responses; a bare LF ends a line too. */
	assert_int_equal(imap_client_resp_find((const unsigned char *)two,
	    strlen(two), &len, &text_end), 1);
	assert_int_equal(len, 12);
	assert_int_equal(imap_client_resp_find(
	    (const unsigned char *)"+ go\n", 5, &len, &text_end), 1);
	assert_int_equal(len, 5);
	assert_int_equal(text_end, 4);
	assert_int_equal(imap_client_resp_find(NULL, 0, &len, &text_end), 0);
}

static void
test_find_too_long(void **state)
{
	static const char big[] = "* 1 FETCH (BODY[] {2000000}\r\n";
	size_t len, text_end, n = IMAP_CLIENT_RESP_MAX + 1;
	unsigned char *line;

	(void)state;
	/* A literal that could never fit is refused before it comes. */
	assert_int_equal(imap_client_resp_find((const unsigned char *)big,
	    strlen(big), &len, &text_end), -1);

	/* So is a line with no end in sight. */
	line = malloc(n);
	assert_non_null(line);
	memset(line, 'a', n);
	assert_int_equal(imap_client_resp_find(line, n - 1, &len, &text_end),
	    0);
	assert_int_equal(imap_client_resp_find(line, n, &len, &text_end), -1);
	free(line);
}

static void
test_parse_tree(void **state)
{
	static const char text[] = "* 3 FETCH (UID 7 "
	    "BODY[HEADER.FIELDS (FROM)] {4}\r\nab\0c FLAGS (\\Seen) "
	    "X \"q\\\"t\" Y NIL Z {}\r\n)";
	struct imap_client_resp resp;
	const struct imap_client_arg *l;

	(void)state;
	imap_client_resp_parse(&resp, text, sizeof(text) - 1);
	assert_string_equal(resp.tag, "*");
	assert_int_equal(resp.count, 3);
	assert_true(imap_client_arg_is(&resp.args[0], "3"));
	assert_true(imap_client_arg_is(&resp.args[1], "fetch"));
	assert_int_equal(resp.args[2].type, IMAP_CLIENT_ARG_LIST);
	l = resp.args[2].list;
	assert_int_equal(resp.args[2].count, 12);
	assert_true(imap_client_arg_is(&l[0], "UID"));
	/* A section's brackets may hold spaces and parentheses. */
	assert_string_equal(l[2].str, "BODY[HEADER.FIELDS (FROM)]");
	/* A literal keeps its NUL. */
	assert_int_equal(l[3].type, IMAP_CLIENT_ARG_STRING);
	assert_int_equal(l[3].len, 4);
	assert_memory_equal(l[3].str, "ab\0c", 4);
	assert_int_equal(l[5].type, IMAP_CLIENT_ARG_LIST);
	assert_true(imap_client_arg_is(&l[5].list[0], "\\Seen"));
	assert_int_equal(l[7].type, IMAP_CLIENT_ARG_STRING);
	assert_string_equal(l[7].str, "q\"t");
	assert_int_equal(l[9].type, IMAP_CLIENT_ARG_NIL);
	/* "{}" is a literal of no bytes. */
	assert_int_equal(l[11].type, IMAP_CLIENT_ARG_STRING);
	assert_int_equal(l[11].len, 0);
	imap_client_resp_free(&resp);

	/* Status text stops the arguments quietly. */
	imap_client_resp_parse(&resp, "m4 NO [ALERT] no \"way", 21);
	assert_string_equal(resp.tag, "m4");
	assert_string_equal(resp.text, "NO [ALERT] no \"way");
	assert_int_equal(resp.count, 3);
	imap_client_resp_free(&resp);

	/* A NUL ends an atom even inside brackets: its string and length
	   agree, whatever a hostile server sends after it. */
	imap_client_resp_parse(&resp, "* OK [CAPABILITY IMAP4rev1\0AAAA] x",
	    35);
	assert_true(resp.count >= 2);
	assert_int_equal(strlen(resp.args[1].str), resp.args[1].len);
	imap_client_resp_free(&resp);
}

static void
test_helpers(void **state)
{
	struct imap_client_arg a = { IMAP_CLIENT_ARG_ATOM, NULL, 0, NULL, 0 };
	uint32_t num = 0;
	char *q;

	(void)state;
	a.str = (char *)"4294967295";
	a.len = strlen(a.str);
	assert_int_equal(imap_client_arg_u32(&a, &num), 0);
	assert_true(num == UINT32_MAX);
	a.str = (char *)"4294967296";
	assert_int_equal(imap_client_arg_u32(&a, &num), -1);
	a.str = (char *)"00000000001";
	a.len = strlen(a.str);
	assert_int_equal(imap_client_arg_u32(&a, &num), -1);
	a.str = (char *)"12a";
	a.len = 3;
	assert_int_equal(imap_client_arg_u32(&a, &num), -1);
	a.str = (char *)"";
	a.len = 0;
	assert_int_equal(imap_client_arg_u32(&a, &num), -1);
	a.type = IMAP_CLIENT_ARG_STRING;
	a.str = (char *)"5";
	a.len = 1;
	assert_int_equal(imap_client_arg_u32(&a, &num), -1);

	q = imap_client_quote("a\"b\\c");
	assert_string_equal(q, "\"a\\\"b\\\\c\"");
	free(q);
	assert_null(imap_client_quote("a\rb"));
	assert_null(imap_client_quote("caf\xc3\xa9"));
}

/* Find a response fed byte by byte, then parse it. */
static void
parse_bytewise(struct imap_client_resp *resp, const char *text)
{
	size_t len, text_end;

	len = find_bytewise(text, strlen(text), &text_end);
	assert_int_equal(len, strlen(text));
	imap_client_resp_parse(resp, text, text_end);
}

/* Every range of set, as "lo-hi;" into out; -1 if malformed. */
static int
ranges_text(const struct imap_client_arg *set, char *out, size_t size)
{
	uint32_t lo, hi;
	size_t pos = 0, used = 0;
	int r;

	out[0] = '\0';
	while ((r = imap_client_uidset_next(set, &pos, &lo, &hi)) == 1) {
		assert_true(pos <= set->len);
		used += (size_t)snprintf(out + used, size - used, "%u-%u;",
		    lo, hi);
		assert_true(used < size);
	}
	return r;
}

static void
test_vanished(void **state)
{
	struct imap_client_resp resp;
	const struct imap_client_arg *set;
	bool earlier = false;
	char text[128];

	(void)state;
	parse_bytewise(&resp, "* VANISHED (EARLIER) 1:3,7,12:10\r\n");
	assert_int_equal(imap_client_vanished(&resp, &earlier, &set), 1);
	assert_true(earlier);
	assert_int_equal(ranges_text(set, text, sizeof(text)), 0);
	assert_string_equal(text, "1-3;7-7;10-12;");
	imap_client_resp_free(&resp);

	/* Told as it happens (an open folder), without EARLIER. */
	parse_bytewise(&resp, "* VANISHED 4294967295\r\n");
	assert_int_equal(imap_client_vanished(&resp, &earlier, &set), 1);
	assert_false(earlier);
	assert_int_equal(ranges_text(set, text, sizeof(text)), 0);
	assert_string_equal(text, "4294967295-4294967295;");
	imap_client_resp_free(&resp);

	/* Not VANISHED at all, and VANISHED that is malformed. */
	parse_bytewise(&resp, "* 3 EXPUNGE\r\n");
	assert_int_equal(imap_client_vanished(&resp, &earlier, &set), 0);
	imap_client_resp_free(&resp);
	parse_bytewise(&resp, "* VANISHED\r\n");
	assert_int_equal(imap_client_vanished(&resp, &earlier, &set), -1);
	imap_client_resp_free(&resp);
	parse_bytewise(&resp, "* VANISHED (LATER) 1\r\n");
	assert_int_equal(imap_client_vanished(&resp, &earlier, &set), -1);
	imap_client_resp_free(&resp);
	parse_bytewise(&resp, "m1 VANISHED 1\r\n");
	assert_int_equal(imap_client_vanished(&resp, &earlier, &set), 0);
	imap_client_resp_free(&resp);

	/* Sets a hostile server may send: each refused, none read past. */
	static const char *const bad[] = {
		"* VANISHED 0", "* VANISHED 1:*", "* VANISHED 1,",
		"* VANISHED 1,,2", "* VANISHED 4294967296", "* VANISHED 2:",
		"* VANISHED :2", "* VANISHED 1;2", "* VANISHED 1:2:3",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		imap_client_resp_parse(&resp, bad[i], strlen(bad[i]));
		if (imap_client_vanished(&resp, &earlier, &set) == 1)
			assert_int_equal(ranges_text(set, text, sizeof(text)),
			    -1);
		imap_client_resp_free(&resp);
	}
}

static void
test_modseq(void **state)
{
	struct imap_client_resp resp;
	uint64_t n = 0;

	(void)state;
	parse_bytewise(&resp, "* OK [HIGHESTMODSEQ 9223372036854775807] "
	    "Highest\r\n");
	assert_int_equal(imap_client_resp_code_num(&resp, "HIGHESTMODSEQ",
	    INT64_MAX, &n), 0);
	assert_true(n == (uint64_t)INT64_MAX);
	assert_int_equal(imap_client_resp_code_num(&resp, "UIDNEXT",
	    UINT32_MAX, &n), -1);
	imap_client_resp_free(&resp);

	parse_bytewise(&resp, "* OK [uidvalidity 7] v\r\n");
	assert_int_equal(imap_client_resp_code_num(&resp, "UIDVALIDITY",
	    UINT32_MAX, &n), 0);
	assert_true(n == 7);
	imap_client_resp_free(&resp);

	/* Too big, not a number, no number, tagged: none is one. */
	static const char *const bad[] = {
		"* OK [HIGHESTMODSEQ 9223372036854775808] x",
		"* OK [HIGHESTMODSEQ 12a] x", "* OK [HIGHESTMODSEQ] x",
		"* OK [HIGHESTMODSEQ ] x", "* OK [HIGHESTMODSEQX 5] x",
		"m1 OK [HIGHESTMODSEQ 5] x", "* NO [HIGHESTMODSEQ 5] x",
		"* OK", "* OK [HIGHESTMODSEQ 5",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		imap_client_resp_parse(&resp, bad[i], strlen(bad[i]));
		assert_int_equal(imap_client_resp_code_num(&resp,
		    "HIGHESTMODSEQ", INT64_MAX, &n), -1);
		imap_client_resp_free(&resp);
	}

	/* The MODSEQ item of a FETCH, wherever it comes. */
	parse_bytewise(&resp, "* 2 FETCH (UID 5 FLAGS (\\Seen) "
	    "MODSEQ (12))\r\n");
	assert_int_equal(imap_client_fetch_modseq(&resp.args[2], &n), 0);
	assert_true(n == 12);
	imap_client_resp_free(&resp);
	parse_bytewise(&resp, "* 2 FETCH (MODSEQ 12 UID 5)\r\n");
	assert_int_equal(imap_client_fetch_modseq(&resp.args[2], &n), -1);
	imap_client_resp_free(&resp);
	parse_bytewise(&resp, "* 2 FETCH (UID 5 FLAGS ())\r\n");
	assert_int_equal(imap_client_fetch_modseq(&resp.args[2], &n), -1);
	assert_int_equal(imap_client_fetch_modseq(&resp.args[0], &n), -1);
	imap_client_resp_free(&resp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_line_and_literal),
		cmocka_unit_test(test_find_too_long),
		cmocka_unit_test(test_parse_tree),
		cmocka_unit_test(test_helpers),
		cmocka_unit_test(test_vanished),
		cmocka_unit_test(test_modseq),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
