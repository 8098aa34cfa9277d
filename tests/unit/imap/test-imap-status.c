/* Tests of STATUS data items: reading the item list (any case, repeats
 * kept once, unknown items refused) and writing "* STATUS" with SIZE as
 * a 64-bit number (RFC 8438). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "imap/imap-parser.h"
#include "imap/imap-status.h"
#include "imap-test.h"
#include "lib/buf.h"

/* Parse "a STATUS INBOX <list>" and read the list's items. */
static int
parse_items(const char *list, struct imap_status_items *items)
{
	struct imap_parser *parser;
	const struct imap_command *cmd;
	char args[256];
	int ret;

	snprintf(args, sizeof(args), "INBOX %s", list);
	cmd = it_parse_command(&parser, "STATUS", args);
	assert_int_equal(cmd->args_count, 2);
	ret = imap_status_items_parse(cmd->args[1].list,
	    cmd->args[1].list_count, items);
	imap_parser_free(&parser);
	return ret;
}

static void
test_items_order_case_and_repeats(void **state)
{
	struct imap_status_items items;

	(void)state;
	assert_int_equal(parse_items("(size Messages SIZE unseen)", &items),
	    0);
	assert_int_equal(items.count, 3);
	assert_int_equal(items.item[0], IMAP_STATUS_SIZE);
	assert_int_equal(items.item[1], IMAP_STATUS_MESSAGES);
	assert_int_equal(items.item[2], IMAP_STATUS_UNSEEN);
	assert_true(imap_status_items_want_size(&items));
	assert_int_equal(parse_items("(UIDNEXT RECENT UIDVALIDITY)", &items),
	    0);
	assert_false(imap_status_items_want_size(&items));
}

static void
test_items_refused(void **state)
{
	struct imap_status_items items;

	(void)state;
	assert_int_equal(parse_items("()", &items), -1);
	assert_int_equal(parse_items("(SIZES)", &items), -1);
	assert_int_equal(parse_items("(\"SIZE\")", &items), -1);
	assert_int_equal(parse_items("(MESSAGES (SIZE))", &items), -1);
}

static void
test_write_size_64bit(void **state)
{
	struct imap_status_items items = {
		{ IMAP_STATUS_MESSAGES, IMAP_STATUS_SIZE }, 2 };
	struct store_status st = { .messages = 3, .size = 5000000000ULL };
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(imap_status_write(&b, "Work.Old", &items, &st), 0);
	assert_int_equal(b.len, strlen("* STATUS Work.Old (MESSAGES 3 "
	    "SIZE 5000000000)\r\n"));
	assert_memory_equal(b.data, "* STATUS Work.Old (MESSAGES 3 "
	    "SIZE 5000000000)\r\n", b.len);
	buf_free(&b);
	/* Too small a buffer leaves it as it was. */
	buf_init(&b, 16);
	assert_int_equal(imap_status_write(&b, "INBOX", &items, &st), -1);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_items_order_case_and_repeats),
		cmocka_unit_test(test_items_refused),
		cmocka_unit_test(test_write_size_64bit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
