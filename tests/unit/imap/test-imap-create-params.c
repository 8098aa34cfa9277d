/* Tests of CREATE's parameter list: RFC 6154's USE, the uses mailbell
 * cannot give (USEATTR) and the syntax that is BAD. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "imap/imap-create-params.h"
#include "imap/imap-parser.h"
#include "imap-test.h"
#include "store/store.h"

/* Parse "a CREATE X <params>" and read the parameter list. */
static int
parse(const char *params, unsigned *uses, const char **error)
{
	struct imap_parser *parser;
	const struct imap_command *cmd;
	char args[256];
	int ret;

	snprintf(args, sizeof(args), "X %s", params);
	cmd = it_parse_command(&parser, "CREATE", args);
	assert_int_equal(cmd->args_count, 2);
	assert_int_equal(cmd->args[1].type, IMAP_ARG_LIST);
	ret = imap_create_params_parse(cmd->args[1].list,
	    cmd->args[1].list_count, uses, error);
	imap_parser_free(&parser);
	return ret;
}

static void
test_use(void **state)
{
	unsigned uses;
	const char *error;

	(void)state;
	assert_int_equal(parse("(USE (\\Drafts \\Sent))", &uses, &error),
	    IMAP_CREATE_PARAMS_OK);
	assert_int_equal(uses, STORE_SPECIAL_BIT(STORE_SPECIAL_DRAFTS) |
	    STORE_SPECIAL_BIT(STORE_SPECIAL_SENT));
	assert_int_equal(parse("(use (\\junk) USE (\\ARCHIVE) USE ())",
	    &uses, &error), IMAP_CREATE_PARAMS_OK);
	assert_int_equal(uses, STORE_SPECIAL_BIT(STORE_SPECIAL_JUNK) |
	    STORE_SPECIAL_BIT(STORE_SPECIAL_ARCHIVE));
	assert_int_equal(parse("(USE ())", &uses, &error),
	    IMAP_CREATE_PARAMS_OK);
	assert_int_equal(uses, 0);
}

static void
test_refused(void **state)
{
	static const struct {
		const char *params;
		int result;
	} cases[] = {
		{ "(USE (\\All))", IMAP_CREATE_PARAMS_USEATTR },
		{ "(USE (\\Flagged))", IMAP_CREATE_PARAMS_USEATTR },
		{ "(USE (\\Trash \\Important))", IMAP_CREATE_PARAMS_USEATTR },
		{ "()", IMAP_CREATE_PARAMS_BAD },
		{ "(USE)", IMAP_CREATE_PARAMS_BAD },
		{ "(USE \\Trash)", IMAP_CREATE_PARAMS_BAD },
		{ "(USE (Trash))", IMAP_CREATE_PARAMS_BAD },
		{ "(USE (\\))", IMAP_CREATE_PARAMS_BAD },
		{ "(USE (\"\\\\Trash\"))", IMAP_CREATE_PARAMS_BAD },
		{ "(USE ((\\Trash)))", IMAP_CREATE_PARAMS_BAD },
		{ "(COLOR (red))", IMAP_CREATE_PARAMS_BAD },
		{ "(USE (\\Trash) X)", IMAP_CREATE_PARAMS_BAD },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned uses;
		const char *error = NULL;

		if (parse(cases[i].params, &uses, &error) != cases[i].result)
			fail_msg("%s", cases[i].params);
		assert_non_null(error);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_use),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
