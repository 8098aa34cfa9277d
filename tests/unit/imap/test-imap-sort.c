/* Tests of SORT programs: criteria, REVERSE, RETURN options, charsets
 * and errors parsed; the keys of parsed messages (RFC 5256 3, RFC 5957);
 * msg-id lists; and the order with its tie on sequence numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap-parser.h"
#include "imap/imap-sort.h"
#include "imap-test.h"
#include "store/message.h"

static int
parse(const char *args, struct imap_sort **sort_r,
    enum imap_search_error *code_r, const char **error_r)
{
	struct imap_parser *parser;
	const struct imap_command *cmd = it_parse_command(&parser, "SORT",
	    args);
	int r = imap_sort_parse(cmd->args, cmd->args_count, sort_r, code_r,
	    error_r);

	imap_parser_free(&parser);
	return r;
}

static void
test_parse(void **state)
{
	struct imap_sort *sort;
	enum imap_search_error code;
	const char *error;

	(void)state;
	assert_int_equal(parse("(REVERSE DATE subject) UTF-8 ALL", &sort,
	    &code, &error), 0);
	assert_int_equal(sort->count, 2);
	assert_int_equal(sort->criteria[0].key, IMAP_SORT_DATE);
	assert_true(sort->criteria[0].reverse);
	assert_int_equal(sort->criteria[1].key, IMAP_SORT_SUBJECT);
	assert_false(sort->criteria[1].reverse);
	assert_false(sort->esort);
	assert_true(sort->need_header);
	assert_non_null(sort->search);
	imap_sort_free(&sort);
	assert_null(sort);

	/* ARRIVAL and SIZE need no header. */
	assert_int_equal(parse("(ARRIVAL REVERSE SIZE) us-ascii UNSEEN",
	    &sort, &code, &error), 0);
	assert_false(sort->need_header);
	assert_true(sort->criteria[1].reverse);
	imap_sort_free(&sort);

	assert_int_equal(parse("(CC FROM TO DISPLAYFROM DISPLAYTO) "
	    "\"UTF-8\" FROM x", &sort, &code, &error), 0);
	assert_int_equal(sort->count, 5);
	assert_int_equal(sort->criteria[4].key, IMAP_SORT_DISPLAYTO);
	imap_sort_free(&sort);

	/* RETURN (RFC 5267); "()" means ALL. */
	assert_int_equal(parse("RETURN (MIN COUNT) (DATE) UTF-8 ALL", &sort,
	    &code, &error), 0);
	assert_true(sort->esort);
	assert_int_equal(sort->returns,
	    IMAP_SEARCH_RETURN_MIN | IMAP_SEARCH_RETURN_COUNT);
	imap_sort_free(&sort);
	assert_int_equal(parse("RETURN () (DATE) UTF-8 ALL", &sort, &code,
	    &error), 0);
	assert_int_equal(sort->returns, IMAP_SEARCH_RETURN_ALL);
	imap_sort_free(&sort);
}

static void
check_error(const char *args, enum imap_search_error want)
{
	struct imap_sort *sort = NULL;
	enum imap_search_error code;
	const char *error = NULL;

	if (parse(args, &sort, &code, &error) != -1)
		fail_msg("\"%s\" parsed", args);
	assert_null(sort);
	assert_non_null(error);
	if (code != want)
		fail_msg("\"%s\": code %d (%s)", args, code, error);
}

static void
test_parse_errors(void **state)
{
	(void)state;
	check_error("(DATE) KOI8-R ALL", IMAP_SEARCH_ERROR_BADCHARSET);
	check_error("(DATE) UTF-8", IMAP_SEARCH_ERROR_SYNTAX);
	check_error("(DATE)", IMAP_SEARCH_ERROR_SYNTAX);
	check_error("() UTF-8 ALL", IMAP_SEARCH_ERROR_SYNTAX);
	check_error("DATE UTF-8 ALL", IMAP_SEARCH_ERROR_SYNTAX);
	check_error("(REVERSE) UTF-8 ALL", IMAP_SEARCH_ERROR_SYNTAX);
	check_error("(REVERSE REVERSE DATE) UTF-8 ALL",
	    IMAP_SEARCH_ERROR_SYNTAX);
	check_error("(DATE REVERSE) UTF-8 ALL", IMAP_SEARCH_ERROR_SYNTAX);
	check_error("(BOGUS) UTF-8 ALL", IMAP_SEARCH_ERROR_SYNTAX);
	check_error("(DATE) (UTF-8) ALL", IMAP_SEARCH_ERROR_SYNTAX);
	check_error("(DATE) UTF-8 BOGUS", IMAP_SEARCH_ERROR_SYNTAX);
	check_error("RETURN MIN (DATE) UTF-8 ALL", IMAP_SEARCH_ERROR_SYNTAX);
	check_error("RETURN (SAVE) (DATE) UTF-8 ALL",
	    IMAP_SEARCH_ERROR_SYNTAX);
	check_error("RETURN", IMAP_SEARCH_ERROR_SYNTAX);
	/* IMAP_SORT_CRITERIA_MAX criteria and no more. */
	check_error("(DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE "
	    "DATE DATE DATE DATE DATE DATE) UTF-8 ALL",
	    IMAP_SEARCH_ERROR_SYNTAX);
	{
		struct imap_sort *sort;
		enum imap_search_error code;
		const char *error;

		assert_int_equal(parse("(DATE DATE DATE DATE DATE DATE DATE "
		    "DATE DATE DATE DATE DATE DATE DATE DATE DATE) UTF-8 ALL",
		    &sort, &code, &error), 0);
		assert_int_equal(sort->count, IMAP_SORT_CRITERIA_MAX);
		imap_sort_free(&sort);
	}
}

/* The last max message-ids of value, joined with spaces. */
static char *
msgids(const char *value, uint32_t max)
{
	size_t n;
	char **ids = imap_sort_msgids(value, max, &n);
	char got[512] = "";

	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strcat(got, " ");
		strcat(got, ids[i]);
		free(ids[i]);
	}
	free(ids);
	return strdup(got);
}

static void
test_msgids(void **state)
{
	static const struct it_case cases[] = {
		{ "<a@x> <b@x>\t<c@x>", 10, "<a@x> <b@x> <c@x>" },
		{ "<a@x><b@x>", 10, "<a@x> <b@x>" },
		{ "", 10, "" },
		{ "no ids here", 10, "" },
		{ "<> <a@x>", 10, "<a@x>" },
		{ "<a@x", 10, "" },
		{ "<a <b@x> c>", 10, "<b@x>" },
		{ "Your message of ... <a@x> (comment)", 10, "<a@x>" },
		/* Only the last max are kept: the nearest ancestors. */
		{ "<1> <2> <3> <4>", 2, "<3> <4>" },
		{ "<1> <2> <3> <4>", 1, "<4>" },
	};

	(void)state;
	it_check_cases(msgids, cases, sizeof(cases) / sizeof(cases[0]));
}

static struct message *
parse_msg(const char *text)
{
	struct message *msg;
	const char *error;

	assert_int_equal(message_parse(text, strlen(text), &msg, &error), 0);
	return msg;
}

static void
test_fill(void **state)
{
	struct message *msg = parse_msg(
	    "From: =?UTF-8?Q?Zo=C3=AB?= Z <zoe@example.org>\r\n"
	    "To: undisclosed:;, \"Bob B\" <Bob@Example.ORG>, c@x\r\n"
	    "Subject: Re: [list] =?UTF-8?Q?Caf=C3=A9?= (fwd)\r\n"
	    "Date: Tue, 02 Jan 2024 23:30:00 -0800\r\n"
	    "Message-ID: <m1@example.org>\r\n"
	    "In-Reply-To: <p@x>\r\n"
	    "References: <r1@x>\r\n <r2@x>\r\n"
	    "\r\nbody\r\n");
	struct imap_sort_msg m = { .seq = 3, .uid = 30, .size = 100,
	    .arrival = 5 };

	(void)state;
	imap_sort_msg_fill(&m, msg);
	assert_string_equal(m.subject, "Caf\xc3\xa9");
	assert_true(m.reply);
	/* 2024-01-03 07:30 UTC */
	assert_int_equal(m.date, 1704267000);
	assert_string_equal(m.from, "zoe");
	/* the group marker is skipped: the first address */
	assert_string_equal(m.to, "Bob");
	assert_string_equal(m.cc, "");
	assert_string_equal(m.display_from, "Zo\xc3\xab Z");
	assert_string_equal(m.display_to, "Bob B");
	assert_string_equal(m.message_id, "<m1@example.org>");
	assert_int_equal(m.ref_count, 2);
	assert_string_equal(m.refs[0], "<r1@x>");
	assert_string_equal(m.refs[1], "<r2@x>");
	imap_sort_msg_clear(&m);
	message_free(&msg);

	/* No Date: the arrival; no msg-id in References: the first of
	 * In-Reply-To; no display name: the addr-spec. */
	msg = parse_msg("From: a@b.example\r\nDate: garbage\r\n"
	    "References: no ids\r\n"
	    "In-Reply-To: <p@x> <q@x>\r\n\r\n");
	m = (struct imap_sort_msg){ .seq = 1, .arrival = 5 };
	imap_sort_msg_fill(&m, msg);
	assert_int_equal(m.date, 5);
	assert_string_equal(m.subject, "");
	assert_false(m.reply);
	assert_string_equal(m.display_from, "a@b.example");
	assert_string_equal(m.display_to, "");
	assert_string_equal(m.message_id, "");
	assert_int_equal(m.ref_count, 1);
	assert_string_equal(m.refs[0], "<p@x>");
	imap_sort_msg_clear(&m);
	message_free(&msg);

	/* No message: empty strings, the arrival as date. */
	m = (struct imap_sort_msg){ .seq = 1, .arrival = 7 };
	imap_sort_msg_fill(&m, NULL);
	assert_int_equal(m.date, 7);
	assert_string_equal(m.from, "");
	imap_sort_msg_clear(&m);
}

static void
test_order(void **state)
{
	struct imap_sort *sort;
	enum imap_search_error code;
	const char *error;
	struct imap_sort_msg m[5] = {
		{ .seq = 1, .size = 30, .date = 10, .subject = "b" },
		{ .seq = 2, .size = 10, .date = 10, .subject = "A" },
		{ .seq = 3, .size = 20, .date = 5, .subject = "a" },
		{ .seq = 4, .size = 10, .date = 20, .subject = "c" },
		{ .seq = 5, .size = 30, .date = 10, .subject = "B" },
	};
	struct imap_sort_msg *v[5];
	char got[64];

	(void)state;
	/* SUBJECT (case-insensitive), ties by sequence number; then
	 * REVERSE SIZE, ties still ascending by sequence number; then
	 * DATE REVERSE SUBJECT. */
	static const struct {
		const char *args;
		const char *want;
	} cases[] = {
		{ "(SUBJECT) UTF-8 ALL", "2 3 1 5 4" },
		{ "(REVERSE SUBJECT) UTF-8 ALL", "4 1 5 2 3" },
		{ "(REVERSE SIZE) UTF-8 ALL", "1 5 3 2 4" },
		{ "(SIZE) UTF-8 ALL", "2 4 3 1 5" },
		{ "(DATE REVERSE SUBJECT) UTF-8 ALL", "3 1 5 2 4" },
		{ "(SIZE DATE) UTF-8 ALL", "2 4 3 1 5" },
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		size_t n = 0;

		assert_int_equal(parse(cases[c].args, &sort, &code, &error),
		    0);
		for (size_t i = 0; i < 5; i++)
			v[i] = &m[(i * 3) % 5];	/* start out of order */
		imap_sort_msgs(sort, v, 5);
		got[0] = '\0';
		for (size_t i = 0; i < 5; i++)
			n += (size_t)snprintf(got + n, sizeof(got) - n,
			    i == 0 ? "%u" : " %u", v[i]->seq);
		if (strcmp(got, cases[c].want) != 0)
			fail_msg("%s: got %s, expected %s", cases[c].args, got,
			    cases[c].want);
		imap_sort_free(&sort);
	}
}

static int
teardown(void **state)
{
	(void)state;
	message_lib_deinit();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_msgids),
		cmocka_unit_test(test_fill),
		cmocka_unit_test(test_order),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
