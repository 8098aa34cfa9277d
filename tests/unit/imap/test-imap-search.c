/* Tests of SEARCH programs: every RFC 3501 6.4.4 key parsed into its
 * canonical tree, syntax errors and charsets, nesting limits, and the
 * three-valued matcher on flags, sets, sizes, dates and parsed
 * messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "imap/imap-parser.h"
#include "imap/imap-search.h"
#include "imap-test.h"
#include "lib/buf.h"
#include "lib/limits.h"
#include "store/message.h"
#include "store/store.h"

/* ---- helpers ---- */

struct parsed {
	struct imap_parser *parser;
	struct imap_search *search;
	enum imap_search_error code;
	const char *error;
	int ret;
};

/* Parse "a SEARCH <program>" (CRLF added; literals must be {n+}). */
static void
parse_program(struct parsed *p, const char *program)
{
	const struct imap_command *cmd;

	cmd = it_parse_command(&p->parser, "SEARCH", program);
	p->search = NULL;
	p->error = NULL;
	p->ret = imap_search_parse(cmd->args, cmd->args_count, &p->search,
	    &p->code, &p->error);
}

static void
parsed_free(struct parsed *p)
{
	imap_search_free(&p->search);
	assert_null(p->search);
	imap_parser_free(&p->parser);
}

static void
check_tree(const char *program, const char *expected)
{
	struct parsed p;
	struct buf b;

	parse_program(&p, program);
	if (p.ret != 0)
		fail_msg("%s: %s", program, p.error);
	buf_init(&b, 0);
	assert_int_equal(imap_search_format(p.search, &b), 0);
	if (strcmp(buf_cstr(&b), expected) != 0)
		fail_msg("%s:\n  got      %s\n  expected %s", program,
		    buf_cstr(&b), expected);
	buf_free(&b);
	parsed_free(&p);
}

static void
check_bad(const char *program)
{
	struct parsed p;

	parse_program(&p, program);
	if (p.ret != -1)
		fail_msg("%s parsed", program);
	assert_int_equal(p.code, IMAP_SEARCH_ERROR_SYNTAX);
	assert_non_null(p.error);
	assert_null(p.search);
	parsed_free(&p);
}

/* ---- parsing ---- */

static void
test_flag_keys(void **state)
{
	(void)state;
	check_tree("ALL", "(AND (ALL))");
	check_tree("answered deleted draft flagged seen",
	    "(AND (FLAG \\Answered) (FLAG \\Deleted) (FLAG \\Draft) "
	    "(FLAG \\Flagged) (FLAG \\Seen))");
	check_tree("UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN",
	    "(AND (UNFLAG \\Answered) (UNFLAG \\Deleted) (UNFLAG \\Draft) "
	    "(UNFLAG \\Flagged) (UNFLAG \\Seen))");
	/* NEW is (RECENT UNSEEN), OLD is NOT RECENT. */
	check_tree("NEW OLD RECENT", "(AND (AND (RECENT) (UNFLAG \\Seen)) "
	    "(NOT (RECENT)) (RECENT))");
	check_tree("KEYWORD $Junk UNKEYWORD work",
	    "(AND (KEYWORD $Junk) (UNKEYWORD work))");
	/* NIL is an atom, so a keyword too (RFC 3501 flag-keyword). */
	check_tree("KEYWORD NIL UNKEYWORD nil",
	    "(AND (KEYWORD NIL) (UNKEYWORD nil))");
}

static void
test_string_keys(void **state)
{
	(void)state;
	check_tree("FROM alice TO \"Bob B\" CC c BCC d SUBJECT \"\"",
	    "(AND (ADDRESS \"From\" \"alice\") (ADDRESS \"To\" \"Bob B\") "
	    "(ADDRESS \"Cc\" \"c\") (ADDRESS \"Bcc\" \"d\") "
	    "(HEADER \"Subject\" \"\"))");
	check_tree("HEADER X-Spam yes BODY {5+}\r\nhello TEXT world",
	    "(AND (HEADER \"X-Spam\" \"yes\") (BODY \"hello\") "
	    "(TEXT \"world\"))");
	check_tree("CHARSET UTF-8 SUBJECT {5+}\r\ncaf\xc3\xa9",
	    "(AND (HEADER \"Subject\" \"caf\xc3\xa9\"))");
	check_tree("charset us-ascii ALL", "(AND (ALL))");
}

static void
test_date_size_set_keys(void **state)
{
	(void)state;
	check_tree("BEFORE 1-Feb-1994 ON \"02-Mar-2020\" SINCE 31-dec-1999",
	    "(AND (BEFORE 1994-02-01) (ON 2020-03-02) (SINCE 1999-12-31))");
	check_tree("SENTBEFORE 1-Feb-1994 SENTON 2-Feb-1994 "
	    "SENTSINCE 3-Feb-1994",
	    "(AND (SENTBEFORE 1994-02-01) (SENTON 1994-02-02) "
	    "(SENTSINCE 1994-02-03))");
	check_tree("LARGER 100 SMALLER 4294967295",
	    "(AND (LARGER 100) (SMALLER 4294967295))");
	check_tree("1:3,5 UID 2:*",
	    "(AND (SEQSET 1:3,5:5) (UID 2:4294967295))");
	check_tree("*", "(AND (SEQSET 4294967295:4294967295))");
}

static void
test_nesting(void **state)
{
	(void)state;
	check_tree("OR FROM a (TO b CC c)",
	    "(AND (OR (ADDRESS \"From\" \"a\") (AND (ADDRESS \"To\" \"b\") "
	    "(ADDRESS \"Cc\" \"c\"))))");
	check_tree("NOT NOT SEEN", "(AND (NOT (NOT (FLAG \\Seen))))");
	check_tree("OR OR SEEN DRAFT NOT 1 (UID 5)",
	    "(AND (OR (OR (FLAG \\Seen) (FLAG \\Draft)) (NOT (SEQSET 1:1))) "
	    "(AND (UID 5:5)))");
}

static void
test_syntax_errors(void **state)
{
	(void)state;
	check_bad("FOO");
	check_bad("\"ALL\"");
	check_bad("LARGER");
	check_bad("LARGER x");
	check_bad("LARGER 4294967296");
	check_bad("SMALLER -1");
	check_bad("SINCE");
	check_bad("SINCE 32-Jan-2000");
	check_bad("SINCE 1-Foo-2000");
	check_bad("SENTON 2000-01-01");
	check_bad("OR ALL");
	check_bad("OR");
	check_bad("NOT");
	check_bad("HEADER Subject");
	check_bad("HEADER \"\" x");
	check_bad("FROM");
	check_bad("UID");
	check_bad("UID (1)");
	check_bad("UID 0");
	check_bad("0");
	check_bad("1:x");
	check_bad("KEYWORD");
	check_bad("KEYWORD \\Seen");
	check_bad("()");
	check_bad("ALL ()");
	check_bad("CHARSET");
	check_bad("CHARSET UTF-8");
}

/*
 * program parses; with RETURN options it answers with ESEARCH and
 * returns is what they ask for, without (returns 0) it does not.
 */
static void
check_returns(const char *program, unsigned int returns)
{
	struct parsed p;

	parse_program(&p, program);
	if (p.ret != 0)
		fail_msg("%s: %s", program, p.error);
	assert_int_equal(p.search->esearch, returns != 0);
	if (returns != 0)
		assert_int_equal(p.search->returns, returns);
	parsed_free(&p);
}

/* RETURN (RFC 4731 3.1) before CHARSET and the keys. */
static void
test_return_options(void **state)
{
	struct parsed p;

	(void)state;
	check_returns("ALL", 0);
	check_returns("RETURN (MIN count) FLAGGED",
	    IMAP_SEARCH_RETURN_MIN | IMAP_SEARCH_RETURN_COUNT);
	check_returns("return () CHARSET UTF-8 (SEEN)", IMAP_SEARCH_RETURN_ALL);
	check_returns("RETURN (MAX ALL MAX) 1:*",
	    IMAP_SEARCH_RETURN_MAX | IMAP_SEARCH_RETURN_ALL);
	check_tree("RETURN (MIN) NOT SEEN", "(AND (NOT (FLAG \\Seen)))");
	check_bad("RETURN");
	check_bad("RETURN ()");
	check_bad("RETURN MIN ALL");
	check_bad("RETURN (MIN PARTIAL) ALL");
	check_bad("RETURN ((MIN)) ALL");
	check_bad("RETURN (\"MIN\") ALL");
	check_bad("CHARSET UTF-8 RETURN (MIN) ALL");
	check_bad("ALL RETURN (MIN)");
	parse_program(&p, "RETURN (COUNT) CHARSET KOI8-R ALL");
	assert_int_equal(p.ret, -1);
	assert_int_equal(p.code, IMAP_SEARCH_ERROR_BADCHARSET);
	parsed_free(&p);
}

static void
check_esearch(const char *tag, bool uid, unsigned int returns,
    const uint32_t *ids, size_t count, const char *expected)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(imap_search_write_esearch(&b, tag, uid, returns, ids,
	    count), 0);
	assert_string_equal(buf_cstr(&b), expected);
	buf_free(&b);
}

/* The ESEARCH responses of RFC 4731's examples. */
static void
test_esearch_response(void **state)
{
	static const uint32_t found[] = { 2, 10, 11 };
	static const uint32_t uids[] = { 7, 3800 };
	struct buf b;

	(void)state;
	check_esearch("A282", false, IMAP_SEARCH_RETURN_MIN |
	    IMAP_SEARCH_RETURN_COUNT, found, 3,
	    "* ESEARCH (TAG \"A282\") MIN 2 COUNT 3\r\n");
	check_esearch("A283", false, IMAP_SEARCH_RETURN_ALL, found, 3,
	    "* ESEARCH (TAG \"A283\") ALL 2,10:11\r\n");
	check_esearch("A285", true, IMAP_SEARCH_RETURN_MIN |
	    IMAP_SEARCH_RETURN_MAX, uids, 2,
	    "* ESEARCH (TAG \"A285\") UID MIN 7 MAX 3800\r\n");
	/* Nothing found: MIN, MAX and ALL are left out, COUNT is 0. */
	check_esearch("A284", false, IMAP_SEARCH_RETURN_MIN, NULL, 0,
	    "* ESEARCH (TAG \"A284\")\r\n");
	check_esearch("t", true, IMAP_SEARCH_RETURN_MIN |
	    IMAP_SEARCH_RETURN_MAX | IMAP_SEARCH_RETURN_ALL |
	    IMAP_SEARCH_RETURN_COUNT, NULL, 0,
	    "* ESEARCH (TAG \"t\") UID COUNT 0\r\n");
	check_esearch("a]b", false, IMAP_SEARCH_RETURN_MIN |
	    IMAP_SEARCH_RETURN_MAX | IMAP_SEARCH_RETURN_ALL |
	    IMAP_SEARCH_RETURN_COUNT, found + 2, 1,
	    "* ESEARCH (TAG \"a]b\") MIN 11 MAX 11 ALL 11 COUNT 1\r\n");
	/* ESORT (RFC 5267 3): MIN and MAX are the ends of the sort order,
	 * ALL keeps that order. */
	{
		static const uint32_t sorted[] = { 5, 3, 4, 1, 2, 9 };

		check_esearch("E", false, IMAP_SEARCH_RETURN_MIN |
		    IMAP_SEARCH_RETURN_MAX | IMAP_SEARCH_RETURN_ALL |
		    IMAP_SEARCH_RETURN_COUNT, sorted, 6,
		    "* ESEARCH (TAG \"E\") MIN 5 MAX 9 ALL 5,3:4,1:2,9 "
		    "COUNT 6\r\n");
	}
	/* A buffer too small is left as it was. */
	buf_init(&b, 16);
	assert_int_equal(buf_append_str(&b, "x"), 0);
	assert_int_equal(imap_search_write_esearch(&b, "A283", false,
	    IMAP_SEARCH_RETURN_ALL, found, 3), -1);
	assert_string_equal(buf_cstr(&b), "x");
	buf_free(&b);
}

static void
test_badcharset(void **state)
{
	struct parsed p;

	(void)state;
	parse_program(&p, "CHARSET KOI8-R FROM x");
	assert_int_equal(p.ret, -1);
	assert_int_equal(p.code, IMAP_SEARCH_ERROR_BADCHARSET);
	parsed_free(&p);
	parse_program(&p, "CHARSET \"ISO-8859-1\" ALL");
	assert_int_equal(p.ret, -1);
	assert_int_equal(p.code, IMAP_SEARCH_ERROR_BADCHARSET);
	parsed_free(&p);
}

static void
test_depth_limit(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	for (int i = 0; i < IMAP_SEARCH_DEPTH_MAX - 1; i++)
		buf_append_str(&b, "NOT ");
	buf_append_str(&b, "ALL");
	{
		struct parsed p;

		parse_program(&p, buf_cstr(&b));
		assert_int_equal(p.ret, 0);
		parsed_free(&p);
	}
	buf_reset(&b);
	for (int i = 0; i < IMAP_SEARCH_DEPTH_MAX; i++)
		buf_append_str(&b, "NOT ");
	buf_append_str(&b, "ALL");
	check_bad(buf_cstr(&b));

	/* Parenthesised groups count too: 31 "NOT (" are 62 levels, within
	 * the parser's own list depth, and two more NOTs pass the limit. */
	buf_reset(&b);
	for (int i = 0; i < IMAP_SEARCH_DEPTH_MAX / 2 - 1; i++)
		buf_append_str(&b, "NOT (");
	buf_append_str(&b, "NOT NOT ALL");
	for (int i = 0; i < IMAP_SEARCH_DEPTH_MAX / 2 - 1; i++)
		buf_append_str(&b, ")");
	check_bad(buf_cstr(&b));
	buf_free(&b);
}

/* ---- matching ---- */

static struct imap_search *
program(struct parsed *p, const char *text)
{
	parse_program(p, text);
	if (p->ret != 0)
		fail_msg("%s: %s", text, p->error);
	return p->search;
}

static int
match(const char *text, const struct imap_search_msg *m, uint32_t max_seq,
    uint32_t max_uid)
{
	struct parsed p;
	int r;

	r = imap_search_match(program(&p, text), m, max_seq, max_uid);
	parsed_free(&p);
	return r;
}

/* A folder with keywords "Junk" (0) and "$label1" (2). */
static int
find_cb(const char *name, void *ctx)
{
	(void)ctx;
	if (strcasecmp(name, "Junk") == 0)
		return 0;
	if (strcasecmp(name, "$label1") == 0)
		return 2;
	return -1;
}

static int
match_kw(const char *text, const struct imap_search_msg *m)
{
	struct parsed p;
	int r;

	imap_search_resolve_keywords(program(&p, text), find_cb, NULL);
	r = imap_search_match(p.search, m, 5, 40);
	parsed_free(&p);
	return r;
}

static void
test_match_keywords(void **state)
{
	struct imap_search_msg m = { .seq = 1, .uid = 1, .keywords = 1u << 2 };

	(void)state;
	assert_int_equal(match_kw("KEYWORD $label1", &m), 1);
	assert_int_equal(match_kw("KEYWORD $LABEL1", &m), 1);
	assert_int_equal(match_kw("KEYWORD junk", &m), 0);
	assert_int_equal(match_kw("UNKEYWORD Junk", &m), 1);
	assert_int_equal(match_kw("UNKEYWORD $label1", &m), 0);
	assert_int_equal(match_kw("OR KEYWORD Junk NOT KEYWORD $label1", &m),
	    0);
	/* One the folder does not know matches nothing. */
	assert_int_equal(match_kw("KEYWORD Other", &m), 0);
	assert_int_equal(match_kw("UNKEYWORD Other", &m), 1);
	/* $Forwarded stays Maildir's P flag. */
	assert_int_equal(match_kw("KEYWORD $Forwarded", &m), 0);
	m.flags = STORE_FLAG_PASSED;
	assert_int_equal(match_kw("KEYWORD $Forwarded", &m), 1);
}

static void
test_match_flags_and_sets(void **state)
{
	struct imap_search_msg m = {
		.seq = 3, .uid = 17, .flags = STORE_FLAG_SEEN | STORE_FLAG_FLAGGED,
	};

	(void)state;
	assert_int_equal(match("ALL", &m, 5, 40), 1);
	assert_int_equal(match("SEEN", &m, 5, 40), 1);
	assert_int_equal(match("UNSEEN", &m, 5, 40), 0);
	assert_int_equal(match("FLAGGED UNDELETED", &m, 5, 40), 1);
	assert_int_equal(match("FLAGGED DELETED", &m, 5, 40), 0);
	assert_int_equal(match("OR DELETED DRAFT", &m, 5, 40), 0);
	assert_int_equal(match("OR DELETED SEEN", &m, 5, 40), 1);
	assert_int_equal(match("NOT ANSWERED", &m, 5, 40), 1);
	assert_int_equal(match("NEW", &m, 5, 40), 0);
	assert_int_equal(match("RECENT", &m, 5, 40), 0);
	assert_int_equal(match("OLD", &m, 5, 40), 1);
	/* \Recent is the session's, beside the stored flags. */
	m.recent = true;
	assert_int_equal(match("RECENT", &m, 5, 40), 1);
	assert_int_equal(match("OLD", &m, 5, 40), 0);
	assert_int_equal(match("NEW", &m, 5, 40), 0);	/* \Seen */
	m.flags = STORE_FLAG_FLAGGED;
	assert_int_equal(match("NEW", &m, 5, 40), 1);
	assert_int_equal(match("NOT NEW", &m, 5, 40), 0);
	m.recent = false;
	assert_int_equal(match("NEW", &m, 5, 40), 0);
	assert_int_equal(match("OLD UNSEEN", &m, 5, 40), 1);
	m.flags = STORE_FLAG_SEEN | STORE_FLAG_FLAGGED;
	/* Unresolved: a keyword the folder does not have. */
	assert_int_equal(match("KEYWORD $x", &m, 5, 40), 0);
	assert_int_equal(match("UNKEYWORD $x", &m, 5, 40), 1);
	assert_int_equal(match("3", &m, 5, 40), 1);
	assert_int_equal(match("1:2,4:*", &m, 5, 40), 0);
	assert_int_equal(match("*", &m, 3, 40), 1);
	assert_int_equal(match("UID 17", &m, 5, 40), 1);
	assert_int_equal(match("UID 18:*", &m, 5, 40), 0);
	/* "n:*" with n above the highest UID still names the last one. */
	assert_int_equal(match("UID 100:*", &m, 5, 17), 1);
	assert_int_equal(match("UID 1:16,18", &m, 5, 40), 0);
}

static void
test_match_info(void **state)
{
	/* 1994-02-01 12:00:00 UTC */
	struct imap_search_msg m = { .seq = 1, .uid = 1 };

	(void)state;
	assert_int_equal(setenv("TZ", "UTC", 1), 0);
	tzset();
	/* Without the index entry, size and date keys cannot tell. */
	assert_int_equal(match("LARGER 10", &m, 1, 1), -1);
	assert_int_equal(match("ON 1-Feb-1994", &m, 1, 1), -1);
	/* ... unless another key decides. */
	assert_int_equal(match("UNSEEN LARGER 10", &m, 1, 1), -1);
	assert_int_equal(match("SEEN LARGER 10", &m, 1, 1), 0);
	assert_int_equal(match("OR UNSEEN LARGER 10", &m, 1, 1), 1);

	m.have_info = true;
	m.size = 100;
	m.internal_date = 760104000;
	assert_int_equal(match("LARGER 99", &m, 1, 1), 1);
	assert_int_equal(match("LARGER 100", &m, 1, 1), 0);
	assert_int_equal(match("SMALLER 101", &m, 1, 1), 1);
	assert_int_equal(match("SMALLER 100", &m, 1, 1), 0);
	assert_int_equal(match("ON 1-Feb-1994", &m, 1, 1), 1);
	assert_int_equal(match("ON 2-Feb-1994", &m, 1, 1), 0);
	assert_int_equal(match("BEFORE 1-Feb-1994", &m, 1, 1), 0);
	assert_int_equal(match("BEFORE 2-Feb-1994", &m, 1, 1), 1);
	assert_int_equal(match("SINCE 1-Feb-1994", &m, 1, 1), 1);
	assert_int_equal(match("SINCE 2-Feb-1994", &m, 1, 1), 0);
	/* The last second of the day is still that day. */
	m.internal_date = 760147199;
	assert_int_equal(match("ON 1-Feb-1994", &m, 1, 1), 1);
	m.internal_date = 760147200;
	assert_int_equal(match("ON 2-Feb-1994", &m, 1, 1), 1);
	/* In the server's zone: 00:00 UTC is still the 1st in New York. */
	assert_int_equal(setenv("TZ", "America/New_York", 1), 0);
	tzset();
	assert_int_equal(match("ON 1-Feb-1994", &m, 1, 1), 1);
	assert_int_equal(setenv("TZ", "UTC", 1), 0);
	tzset();
}

static const char *const letter =
    "Date: Tue, 1 Feb 1994 23:30:00 -0800\r\n"
    "From: Alice Example <alice@example.org>\r\n"
    "To: bob@example.net\r\n"
    "Cc: carol@example.com\r\n"
    "Subject: =?UTF-8?Q?Caf=C3=A9?= plans\r\n"
    "X-Priority: 1\r\n"
    "\r\n"
    "Let us meet at noon.\r\n";

static void
test_match_message(void **state)
{
	struct imap_search_msg m = { .seq = 1, .uid = 1, .have_info = true };
	struct message *msg;
	const char *error;

	(void)state;
	assert_int_equal(message_parse(letter, strlen(letter), &msg, &error),
	    0);
	assert_int_equal(match("FROM alice", &m, 1, 1), -1);
	assert_int_equal(match("NOT BODY noon", &m, 1, 1), -1);
	assert_int_equal(match("SENTON 1-Feb-1994", &m, 1, 1), -1);
	m.msg = msg;
	assert_int_equal(match("FROM alice", &m, 1, 1), 1);
	assert_int_equal(match("FROM ALICE", &m, 1, 1), 1);
	assert_int_equal(match("FROM bob", &m, 1, 1), 0);
	assert_int_equal(match("TO bob CC carol", &m, 1, 1), 1);
	assert_int_equal(match("BCC carol", &m, 1, 1), 0);
	/* Addresses, not the field's text: the display name and the
	 * address, as one "name <address>". */
	assert_int_equal(match("FROM \"example <alice@\"", &m, 1, 1), 1);
	assert_int_equal(match("FROM \"Example <Alice@Example.org>\"", &m,
	    1, 1), 1);
	assert_int_equal(match("HEADER From \"example <alice@\"", &m, 1, 1),
	    1);
	assert_int_equal(match("SUBJECT {5+}\r\ncaf\xc3\xa9", &m, 1, 1), 1);
	assert_int_equal(match("SUBJECT \"plans\"", &m, 1, 1), 1);
	assert_int_equal(match("HEADER X-Priority 1", &m, 1, 1), 1);
	assert_int_equal(match("HEADER X-Priority \"\"", &m, 1, 1), 1);
	assert_int_equal(match("HEADER X-Missing \"\"", &m, 1, 1), 0);
	assert_int_equal(match("BODY noon", &m, 1, 1), 1);
	assert_int_equal(match("BODY alice", &m, 1, 1), 0);
	assert_int_equal(match("TEXT alice", &m, 1, 1), 1);
	assert_int_equal(match("TEXT noon", &m, 1, 1), 1);
	assert_int_equal(match("NOT BODY noon", &m, 1, 1), 0);
	/* The date as written: 23:30 -0800 is the 1st, though UTC says 2nd. */
	assert_int_equal(match("SENTON 1-Feb-1994", &m, 1, 1), 1);
	assert_int_equal(match("SENTBEFORE 1-Feb-1994", &m, 1, 1), 0);
	assert_int_equal(match("SENTBEFORE 2-Feb-1994", &m, 1, 1), 1);
	assert_int_equal(match("SENTSINCE 1-Feb-1994", &m, 1, 1), 1);
	assert_int_equal(match("SENTSINCE 2-Feb-1994", &m, 1, 1), 0);
	message_free(&msg);

	/* Without a Date: field the sent-date keys match nothing. */
	assert_int_equal(message_parse("Subject: x\r\n\r\n", 14, &msg,
	    &error), 0);
	m.msg = msg;
	assert_int_equal(match("SENTSINCE 1-Jan-1970", &m, 1, 1), 0);
	assert_int_equal(match("NOT SENTSINCE 1-Jan-1970", &m, 1, 1), 1);
	message_free(&msg);
}

/* SAVE (RFC 5182) and "$", the saved result, in a program. */
static void
test_saved_result(void **state)
{
	static const uint32_t saved[] = { 2, 17, 40 };
	struct imap_search_msg m = { .seq = 3, .uid = 17 };
	struct parsed p;
	const struct imap_command *cmd;
	struct imap_parser *parser;

	(void)state;
	check_returns("RETURN (SAVE) ALL", IMAP_SEARCH_RETURN_SAVE);
	check_returns("RETURN (save MIN) ALL",
	    IMAP_SEARCH_RETURN_SAVE | IMAP_SEARCH_RETURN_MIN);
	check_tree("$ UID $ NOT $", "(AND (SAVED) (SAVED) (NOT (SAVED)))");
	check_bad("1,$");
	check_bad("UID $,1");
	check_bad("$:3");

	/* Before any SAVE "$" is empty; then it is the saved UIDs, whatever
	 * the message's sequence number. */
	program(&p, "$");
	assert_int_equal(imap_search_match(p.search, &m, 5, 40), 0);
	imap_search_set_saved(p.search, saved, 3);
	assert_int_equal(imap_search_match(p.search, &m, 5, 40), 1);
	m.uid = 18;
	assert_int_equal(imap_search_match(p.search, &m, 5, 40), 0);
	m.uid = 40;
	assert_int_equal(imap_search_match(p.search, &m, 5, 40), 1);
	imap_search_set_saved(p.search, saved, 1);
	assert_int_equal(imap_search_match(p.search, &m, 5, 40), 0);
	imap_search_set_saved(p.search, NULL, 0);
	assert_int_equal(imap_search_match(p.search, &m, 5, 40), 0);
	parsed_free(&p);

	/* Whether a refused SEARCH asked to SAVE. */
	cmd = it_parse_command(&parser, "SEARCH",
	    "RETURN (MIN Save) CHARSET KOI8-R ALL");
	assert_true(imap_search_args_save(cmd->args, cmd->args_count));
	imap_parser_free(&parser);
	cmd = it_parse_command(&parser, "SEARCH", "RETURN (MIN) SAVE");
	assert_false(imap_search_args_save(cmd->args, cmd->args_count));
	imap_parser_free(&parser);
	cmd = it_parse_command(&parser, "SEARCH", "RETURN");
	assert_false(imap_search_args_save(cmd->args, cmd->args_count));
	imap_parser_free(&parser);
}

static void
check_save(unsigned int returns, size_t count, size_t kept,
    uint32_t first, uint32_t second)
{
	uint32_t uids[] = { 4, 7, 9, 12 };

	assert_int_equal(imap_search_save_select(returns |
	    IMAP_SEARCH_RETURN_SAVE, uids, count), kept);
	if (kept > 0)
		assert_int_equal(uids[0], first);
	if (kept > 1)
		assert_int_equal(uids[1], second);
}

/* RFC 5182 2.4: what SAVE keeps next to MIN, MAX, ALL and COUNT. */
static void
test_save_select(void **state)
{
	const unsigned int min = IMAP_SEARCH_RETURN_MIN;
	const unsigned int max = IMAP_SEARCH_RETURN_MAX;
	const unsigned int all = IMAP_SEARCH_RETURN_ALL;
	const unsigned int cnt = IMAP_SEARCH_RETURN_COUNT;

	(void)state;
	check_save(0, 4, 4, 4, 7);
	check_save(min, 4, 1, 4, 0);
	check_save(max, 4, 1, 12, 0);
	check_save(min | max, 4, 2, 4, 12);
	check_save(min | max, 1, 1, 4, 0);
	check_save(min | all, 4, 4, 4, 7);
	check_save(max | cnt, 4, 4, 4, 7);
	check_save(cnt, 4, 4, 4, 7);
	check_save(min | max, 0, 0, 0, 0);
}

static void
test_needs(void **state)
{
	struct parsed p;

	(void)state;
	program(&p, "SEEN UID 1:* 1:3 OR DRAFT NOT FLAGGED");
	assert_false(p.search->need_info);
	assert_false(p.search->need_message);
	parsed_free(&p);
	program(&p, "NOT (LARGER 5)");
	assert_true(p.search->need_info);
	assert_false(p.search->need_message);
	parsed_free(&p);
	program(&p, "SINCE 1-Jan-2000");
	assert_true(p.search->need_info);
	assert_false(p.search->need_message);
	parsed_free(&p);
	program(&p, "OR SEEN (SENTON 1-Jan-2000)");
	assert_false(p.search->need_info);
	assert_true(p.search->need_message);
	parsed_free(&p);
}

/* RFC 7162 3.1.5: MODSEQ, with or without an entry name and type. */
static void
test_modseq_key(void **state)
{
	struct imap_search_msg m = { .seq = 1, .uid = 1, .modseq = 500 };
	struct parsed p;

	(void)state;
	check_tree("MODSEQ \"/flags/\\\\draft\" all 620162338",
	    "(AND (MODSEQ 620162338))");
	check_tree("modseq 0", "(AND (MODSEQ 0))");
	check_bad("MODSEQ");
	check_bad("MODSEQ x");
	check_bad("MODSEQ \"/flags/\\\\draft\" mine 5");
	check_bad("MODSEQ 9223372036854775808");
	program(&p, "MODSEQ 7");
	assert_true(p.search->has_modseq);
	parsed_free(&p);
	program(&p, "SEEN");
	assert_false(p.search->has_modseq);
	parsed_free(&p);
	assert_int_equal(match("MODSEQ 500", &m, 1, 1), 1);
	assert_int_equal(match("MODSEQ 501", &m, 1, 1), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flag_keys),
		cmocka_unit_test(test_string_keys),
		cmocka_unit_test(test_date_size_set_keys),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_return_options),
		cmocka_unit_test(test_esearch_response),
		cmocka_unit_test(test_saved_result),
		cmocka_unit_test(test_save_select),
		cmocka_unit_test(test_badcharset),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_match_flags_and_sets),
		cmocka_unit_test(test_match_keywords),
		cmocka_unit_test(test_match_info),
		cmocka_unit_test(test_match_message),
		cmocka_unit_test(test_needs),
		cmocka_unit_test(test_modseq_key),
	};
	int ret = cmocka_run_group_tests(tests, NULL, NULL);

	message_lib_deinit();
	return ret;
}
