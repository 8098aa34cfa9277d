/* Unit tests for the CONDSTORE and QRESYNC arguments (RFC 7162): the
 * RFC's own commands fed to the parser one byte at a time, then read as
 * FETCH and STORE modifiers and SELECT parameters; bad values refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "imap/imap-condstore.h"
#include "imap/imap-parser.h"

/* Feed line byte by byte: MORE until its last byte, then DONE. */
static const struct imap_command *
parse_bytewise(struct imap_parser **parser_r, const char *line)
{
	struct imap_parser_limits limits;
	const struct imap_command *cmd = NULL;
	size_t len = strlen(line), used;
	const char *error;
	int ret;

	imap_parser_limits_default(&limits, false);
	*parser_r = imap_parser_new(&limits);
	for (size_t i = 0; i < len; i++) {
		ret = imap_parser_feed(*parser_r, line + i, 1, &used, &cmd,
		    &error);
		assert_int_equal(used, 1);
		assert_int_equal(ret, i + 1 < len ? IMAP_PARSE_MORE :
		    IMAP_PARSE_DONE);
	}
	return cmd;
}

static void
test_fetch_changedsince(void **state)
{
	struct imap_parser *parser;
	const struct imap_command *cmd;
	struct imap_fetch_modifiers mods;
	const char *error;

	(void)state;
	/* RFC 7162 3.1.4.1 */
	cmd = parse_bytewise(&parser,
	    "s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)\r\n");
	assert_int_equal(cmd->args_count, 4);
	assert_int_equal(imap_fetch_modifiers_parse(&cmd->args[3], &mods,
	    &error), 0);
	assert_true(mods.changedsince_set);
	assert_true(mods.changedsince == 12345);
	assert_false(mods.vanished);
	imap_parser_free(&parser);
	/* RFC 7162 3.2.6 */
	cmd = parse_bytewise(&parser, "s100 UID FETCH 300:500 (FLAGS) "
	    "(CHANGEDSINCE 12345 VANISHED)\r\n");
	assert_int_equal(imap_fetch_modifiers_parse(&cmd->args[3], &mods,
	    &error), 0);
	assert_true(mods.vanished);
	imap_parser_free(&parser);
	cmd = parse_bytewise(&parser, "a FETCH 1 (FLAGS) (VANISHED)\r\n");
	assert_int_equal(imap_fetch_modifiers_parse(&cmd->args[2], &mods,
	    &error), -1);
	imap_parser_free(&parser);
	cmd = parse_bytewise(&parser, "a FETCH 1 (FLAGS) (CHANGEDSINCE 0)\r\n");
	assert_int_equal(imap_fetch_modifiers_parse(&cmd->args[2], &mods,
	    &error), -1);
	imap_parser_free(&parser);
	cmd = parse_bytewise(&parser, "a FETCH 1 (FLAGS) (CHANGEDSINCE 1 "
	    "CHANGEDSINCE 2)\r\n");
	assert_int_equal(imap_fetch_modifiers_parse(&cmd->args[2], &mods,
	    &error), -1);
	imap_parser_free(&parser);
}

static void
test_store_unchangedsince(void **state)
{
	struct imap_parser *parser;
	const struct imap_command *cmd;
	uint64_t since;
	const char *error;

	(void)state;
	/* RFC 7162 3.1.3, example 2 */
	cmd = parse_bytewise(&parser, "a103 UID STORE 6,4,8 (UNCHANGEDSINCE "
	    "12121230045) +FLAGS.SILENT (\\Deleted)\r\n");
	assert_int_equal(cmd->args_count, 5);
	assert_int_equal(imap_store_modifiers_parse(&cmd->args[2], &since,
	    &error), 0);
	assert_true(since == 12121230045ULL);
	imap_parser_free(&parser);
	/* UNCHANGEDSINCE 0 is allowed (it always fails). */
	cmd = parse_bytewise(&parser, "a STORE 1 (UNCHANGEDSINCE 0) "
	    "FLAGS ()\r\n");
	assert_int_equal(imap_store_modifiers_parse(&cmd->args[1], &since,
	    &error), 0);
	assert_true(since == 0);
	imap_parser_free(&parser);
	cmd = parse_bytewise(&parser, "a STORE 1 (UNCHANGEDSINCE "
	    "9223372036854775808) FLAGS ()\r\n");
	assert_int_equal(imap_store_modifiers_parse(&cmd->args[1], &since,
	    &error), -1);
	imap_parser_free(&parser);
	cmd = parse_bytewise(&parser, "a STORE 1 (UNCHANGEDSINCE -1) "
	    "FLAGS ()\r\n");
	assert_int_equal(imap_store_modifiers_parse(&cmd->args[1], &since,
	    &error), -1);
	imap_parser_free(&parser);
}

static void
test_select_params(void **state)
{
	struct imap_parser *parser;
	const struct imap_command *cmd;
	struct imap_select_params p;
	const char *error;

	(void)state;
	cmd = parse_bytewise(&parser, "A142 SELECT INBOX (CONDSTORE)\r\n");
	assert_int_equal(imap_select_params_parse(&cmd->args[1], &p,
	    &error), 0);
	assert_true(p.condstore);
	assert_false(p.qresync);
	imap_parser_free(&parser);
	/* RFC 7162 3.2.5.1 */
	cmd = parse_bytewise(&parser, "A02 SELECT INBOX (QRESYNC (67890007 "
	    "20050715194045000 41,43:211,214:541))\r\n");
	assert_int_equal(imap_select_params_parse(&cmd->args[1], &p,
	    &error), 0);
	assert_true(p.qresync);
	assert_int_equal(p.uidvalidity, 67890007);
	assert_true(p.modseq == 20050715194045000ULL);
	assert_string_equal(p.known_uids, "41,43:211,214:541");
	assert_null(p.seq_match);
	imap_parser_free(&parser);
	/* RFC 7162 3.2.5.2, with seq-match-data */
	cmd = parse_bytewise(&parser, "B04 SELECT INBOX (QRESYNC (67890007 "
	    "90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,"
	    "27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,"
	    "29997)))\r\n");
	assert_int_equal(imap_select_params_parse(&cmd->args[1], &p,
	    &error), 0);
	assert_string_equal(p.known_uids, "1:29997");
	assert_string_equal(p.seq_match, "5000,7500,9000,9990:9999");
	assert_string_equal(p.uid_match, "15000,22500,27000,29970,29973,"
	    "29976,29979,29982,29985,29988,29991,29994,29997");
	imap_parser_free(&parser);
	/* Bad: "*" in known-uids, a missing modseq, an unknown name. */
	cmd = parse_bytewise(&parser, "a SELECT INBOX (QRESYNC (1 2 1:*))\r\n");
	assert_int_equal(imap_select_params_parse(&cmd->args[1], &p,
	    &error), -1);
	imap_parser_free(&parser);
	cmd = parse_bytewise(&parser, "a SELECT INBOX (QRESYNC (1))\r\n");
	assert_int_equal(imap_select_params_parse(&cmd->args[1], &p,
	    &error), -1);
	imap_parser_free(&parser);
	cmd = parse_bytewise(&parser, "a SELECT INBOX (FOO)\r\n");
	assert_int_equal(imap_select_params_parse(&cmd->args[1], &p,
	    &error), -1);
	imap_parser_free(&parser);
	cmd = parse_bytewise(&parser, "a SELECT INBOX (QRESYNC (4294967296 "
	    "1))\r\n");
	assert_int_equal(imap_select_params_parse(&cmd->args[1], &p,
	    &error), -1);
	imap_parser_free(&parser);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fetch_changedsince),
		cmocka_unit_test(test_store_unchangedsince),
		cmocka_unit_test(test_select_params),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
