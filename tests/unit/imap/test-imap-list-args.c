/* Tests of LIST's arguments: the plain forms, RFC 5258's selection
 * options, pattern lists and return options, RFC 6154's SPECIAL-USE
 * options, and everything a server must answer BAD. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "imap/imap-list-args.h"
#include "imap/imap-parser.h"
#include "imap-test.h"

/* Parse "a LIST <args>" (or LSUB) into *la; returns the parse result,
 * with *error_r. The patterns point into the parser: the caller frees
 * it. */
static int
parse(struct imap_parser **parser, const char *verb, const char *args,
    struct imap_list_args *la, const char **error_r)
{
	const struct imap_command *cmd = it_parse_command(parser, verb, args);

	return imap_list_args_parse(cmd->args, cmd->args_count,
	    strcmp(verb, "LSUB") == 0, la, error_r);
}

static void
test_plain(void **state)
{
	struct imap_parser *parser;
	struct imap_list_args la;
	const char *error;

	(void)state;
	assert_int_equal(parse(&parser, "LIST", "Work. %", &la, &error), 0);
	assert_false(la.extended);
	assert_string_equal(la.ref, "Work.");
	assert_int_equal(la.pattern_count, 1);
	assert_string_equal(la.patterns[0], "%");
	imap_parser_free(&parser);
	/* "" stays: the plain LIST "" "" asks for the delimiter. */
	assert_int_equal(parse(&parser, "LSUB", "\"\" \"\"", &la, &error), 0);
	assert_true(la.lsub);
	assert_int_equal(la.pattern_count, 1);
	assert_string_equal(la.patterns[0], "");
	imap_parser_free(&parser);
}

static void
test_extended(void **state)
{
	struct imap_parser *parser;
	struct imap_list_args la;
	const char *error;

	(void)state;
	assert_int_equal(parse(&parser, "LIST", "(subscribed REMOTE "
	    "RecursiveMatch SUBSCRIBED) \"\" (INBOX \"\" \"Sent*\") "
	    "RETURN (CHILDREN children)", &la, &error), 0);
	assert_true(la.extended);
	assert_int_equal(la.select, IMAP_LIST_SEL_SUBSCRIBED |
	    IMAP_LIST_SEL_REMOTE | IMAP_LIST_SEL_RECURSIVEMATCH);
	/* SUBSCRIBED selects and implies its return option. */
	assert_int_equal(la.ret, IMAP_LIST_RET_SUBSCRIBED |
	    IMAP_LIST_RET_CHILDREN);
	/* "" is ignored in an extended LIST. */
	assert_int_equal(la.pattern_count, 2);
	assert_string_equal(la.patterns[0], "INBOX");
	assert_string_equal(la.patterns[1], "Sent*");
	imap_parser_free(&parser);

	assert_int_equal(parse(&parser, "LIST", "() \"\" \"\"", &la, &error),
	    0);
	assert_true(la.extended);
	assert_int_equal(la.pattern_count, 0);
	imap_parser_free(&parser);

	assert_int_equal(parse(&parser, "LIST", "(SPECIAL-USE) \"\" *",
	    &la, &error), 0);
	assert_int_equal(la.select, IMAP_LIST_SEL_SPECIAL_USE);
	assert_int_equal(la.ret, IMAP_LIST_RET_SPECIAL_USE);
	imap_parser_free(&parser);

	/* RFC 5819 STATUS, with other return options around it. */
	assert_int_equal(parse(&parser, "LIST", "\"\" % RETURN (CHILDREN "
	    "STATUS (MESSAGES size) SUBSCRIBED)", &la, &error), 0);
	assert_int_equal(la.ret, IMAP_LIST_RET_CHILDREN |
	    IMAP_LIST_RET_STATUS | IMAP_LIST_RET_SUBSCRIBED);
	assert_int_equal(la.status.count, 2);
	assert_int_equal(la.status.item[0], IMAP_STATUS_MESSAGES);
	assert_int_equal(la.status.item[1], IMAP_STATUS_SIZE);
	imap_parser_free(&parser);

	assert_int_equal(parse(&parser, "LIST", "\"\" % RETURN ()", &la,
	    &error), 0);
	assert_true(la.extended);
	assert_int_equal(la.select | la.ret, 0);
	imap_parser_free(&parser);
}

static void
check_bad(const char *verb, const char *args, const char *want)
{
	struct imap_parser *parser;
	struct imap_list_args la;
	const char *error = NULL;

	if (parse(&parser, verb, args, &la, &error) != -1)
		fail_msg("accepted: %s %s", verb, args);
	assert_string_equal(error, want);
	imap_parser_free(&parser);
}

static void
test_bad(void **state)
{
	const char *usage = "LIST needs a reference and a mailbox pattern";
	char many[256];

	(void)state;
	check_bad("LIST", "(RECURSIVEMATCH) \"\" %",
	    "RECURSIVEMATCH needs SUBSCRIBED");
	check_bad("LIST", "(REMOTE RECURSIVEMATCH) \"\" %",
	    "RECURSIVEMATCH needs SUBSCRIBED");
	check_bad("LIST", "(SPECIAL-USE RECURSIVEMATCH) \"\" %",
	    "RECURSIVEMATCH needs SUBSCRIBED");
	check_bad("LIST", "(X-FOO) \"\" %", "Unknown LIST selection option");
	check_bad("LIST", "((SUBSCRIBED)) \"\" %",
	    "Unknown LIST selection option");
	check_bad("LIST", "\"\" % RETURN (REMOTE)",
	    "Unknown LIST return option");
	check_bad("LIST", "\"\" % RETURN CHILDREN", usage);
	check_bad("LIST", "\"\" % RESULT (CHILDREN)", usage);
	check_bad("LIST", "\"\" % RETURN (STATUS)",
	    "STATUS needs a list of items");
	check_bad("LIST", "\"\" % RETURN (STATUS ())",
	    "STATUS needs a list of items");
	check_bad("LIST", "\"\" % RETURN (STATUS MESSAGES)",
	    "STATUS needs a list of items");
	check_bad("LIST", "\"\" % RETURN (STATUS (MESSAGES X))",
	    "STATUS needs a list of items");
	check_bad("LIST", "\"\" ()", "Empty list of mailbox patterns");
	check_bad("LIST", "\"\" ((x))", "Bad mailbox pattern");
	check_bad("LIST", "(SUBSCRIBED) \"\"", usage);
	check_bad("LIST", "\"\"", usage);
	check_bad("LIST", "() () %", usage);
	snprintf(many, sizeof(many), "\"\" (%s)",
	    "a b c d e f g h i j k l m n o p q");
	check_bad("LIST", many, "Too many mailbox patterns");
	check_bad("LSUB", "\"\" (%)",
	    "LSUB needs a reference and a mailbox pattern");
	check_bad("LSUB", "() \"\" %",
	    "LSUB needs a reference and a mailbox pattern");
	check_bad("LSUB", "\"\" % RETURN ()",
	    "LSUB needs a reference and a mailbox pattern");
}

static void
test_canonical(void **state)
{
	char out[IMAP_LIST_PATTERN_MAX + 1];
	char big[IMAP_LIST_PATTERN_MAX + 1];

	(void)state;
	assert_int_equal(imap_list_canonical("Work.", "%", out), 0);
	assert_string_equal(out, "Work.%");
	memset(big, 'x', IMAP_LIST_PATTERN_MAX);
	big[IMAP_LIST_PATTERN_MAX] = '\0';
	assert_int_equal(imap_list_canonical("", big, out), 0);
	assert_int_equal(imap_list_canonical("a", big, out), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_extended),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_canonical),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
