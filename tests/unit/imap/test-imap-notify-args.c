/* Tests of NOTIFY's arguments (RFC 5465 3.1, 8): every command is fed
 * to the parser one byte at a time (it must ask for more until the
 * last byte), then read as NOTIFY; the forms RFC 5465 allows, the
 * answers it asks for (BAD, NO [BADEVENT]) and which folders a group
 * takes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "imap/imap-notify-args.h"
#include "imap/imap-parser.h"
#include "lib/buf.h"

/* Feed "a NOTIFY <args>" CR LF byte by byte and read its arguments.
 * Returns what imap_notify_args_parse returned. */
static int
parse(const char *args, struct imap_notify_spec **spec_r, bool *badevent_r,
    const char **error_r)
{
	struct imap_parser_limits limits;
	struct imap_parser *parser;
	const struct imap_command *cmd = NULL;
	const char *error;
	struct buf line;
	size_t i, consumed;
	int ret;

	imap_parser_limits_default(&limits, false);
	parser = imap_parser_new(&limits);
	buf_init(&line, 0);
	buf_printf(&line, "a NOTIFY %s\r\n", args);
	for (i = 0; i < line.len; i++) {
		ret = imap_parser_feed(parser, line.data + i, 1, &consumed,
		    &cmd, &error);
		assert_int_equal(consumed, 1);
		assert_int_equal(ret, i + 1 < line.len ? IMAP_PARSE_MORE :
		    IMAP_PARSE_DONE);
	}
	assert_non_null(cmd);
	assert_string_equal(cmd->name, "NOTIFY");
	ret = imap_notify_args_parse(cmd->args, cmd->args_count, spec_r,
	    badevent_r, error_r);
	imap_parser_free(&parser);
	buf_free(&line);
	return ret;
}

/* The command must be refused; badevent says how. */
static void
refused(const char *args, bool badevent)
{
	struct imap_notify_spec *spec;
	const char *error = NULL;
	bool be;

	assert_int_equal(parse(args, &spec, &be, &error), -1);
	assert_null(spec);
	assert_non_null(error);
	if (be != badevent)
		fail_msg("%s: badevent %d, error %s", args, be, error);
}

static void
test_none(void **state)
{
	struct imap_notify_spec *spec = (void *)1;
	const char *error;
	bool be;

	(void)state;
	assert_int_equal(parse("NONE", &spec, &be, &error), 0);
	assert_null(spec);
	assert_int_equal(parse("none", &spec, &be, &error), 0);
	assert_null(spec);
	refused("NONE extra", false);
	refused("", false);
}

/* RFC 5465 3.1's example as erratum 1804 writes it (each events list
 * in parentheses), with MessageExpunge beside the Lists group's
 * MessageNew as section 5 asks. */
static void
test_rfc_example(void **state)
{
	struct imap_notify_spec *spec;
	const char *error;
	bool be;

	(void)state;
	assert_int_equal(parse("set status (selected (MessageNew (uid "
	    "body.peek[header.fields (from to subject)]) MessageExpunge)) "
	    "(subtree Lists (MessageNew MessageExpunge)) (mailboxes misc "
	    "(MessageNew MessageExpunge))", &spec, &be, &error), 0);
	assert_true(spec->status);
	assert_false(spec->selected_delayed);
	assert_int_equal(spec->selected_events, IMAP_NOTIFY_MESSAGE_NEW |
	    IMAP_NOTIFY_MESSAGE_EXPUNGE);
	assert_non_null(spec->fetch);
	assert_int_equal(spec->fetch->count, 2);
	assert_true(spec->fetch->has_uid);
	assert_false(spec->fetch->sets_seen);
	assert_int_equal(spec->group_count, 2);
	assert_int_equal(spec->groups[0].filter, IMAP_NOTIFY_SUBTREE);
	assert_int_equal(spec->groups[0].name_count, 1);
	assert_string_equal(spec->groups[0].names[0], "Lists");
	assert_int_equal(spec->groups[1].filter, IMAP_NOTIFY_MAILBOXES);
	assert_string_equal(spec->groups[1].names[0], "misc");
	/* Subtree: the name and what is under it; mailboxes: the name. */
	assert_int_equal(imap_notify_spec_events(spec, "Lists", false),
	    IMAP_NOTIFY_MESSAGE_NEW | IMAP_NOTIFY_MESSAGE_EXPUNGE);
	assert_int_equal(imap_notify_spec_events(spec, "Lists.Lemonade",
	    false), IMAP_NOTIFY_MESSAGE_NEW | IMAP_NOTIFY_MESSAGE_EXPUNGE);
	assert_int_equal(imap_notify_spec_events(spec, "ListsX", false), 0);
	assert_int_equal(imap_notify_spec_events(spec, "misc", false),
	    IMAP_NOTIFY_MESSAGE_NEW | IMAP_NOTIFY_MESSAGE_EXPUNGE);
	assert_int_equal(imap_notify_spec_events(spec, "misc.sub", false),
	    0);
	assert_false(imap_notify_spec_wants_subscribed(spec));
	imap_notify_spec_free(&spec);
	assert_null(spec);
}

/* What `mailbell watch` sends, and the other filters. */
static void
test_filters(void **state)
{
	struct imap_notify_spec *spec;
	const char *error;
	bool be;

	(void)state;
	assert_int_equal(parse("SET (SELECTED (MessageNew MessageExpunge "
	    "FlagChange)) (PERSONAL (MessageNew MessageExpunge FlagChange "
	    "MailboxName))", &spec, &be, &error), 0);
	assert_false(spec->status);
	assert_null(spec->fetch);
	assert_int_equal(spec->selected_events, IMAP_NOTIFY_MESSAGE_EVENTS);
	assert_int_equal(imap_notify_spec_events(spec, "Work.Projects",
	    false), IMAP_NOTIFY_MESSAGE_EVENTS | IMAP_NOTIFY_MAILBOX_NAME);
	imap_notify_spec_free(&spec);

	/* The first group that takes a folder decides; INBOXES is
	 * PERSONAL here; mailbox names are read from modified UTF-7 and
	 * INBOX in any case is the inbox. */
	assert_int_equal(parse("SET (SUBSCRIBED (SubscriptionChange)) "
	    "(MAILBOXES (inbox \"Caf&AOk-\") NONE) (INBOXES "
	    "(MailboxName)) (selected-delayed NONE)", &spec, &be, &error),
	    0);
	assert_true(spec->selected_delayed);
	assert_int_equal(spec->selected_events, 0);
	assert_true(imap_notify_spec_wants_subscribed(spec));
	assert_int_equal(imap_notify_spec_events(spec, "INBOX", true),
	    IMAP_NOTIFY_SUBSCRIPTION_CHANGE);
	assert_int_equal(imap_notify_spec_events(spec, "INBOX", false), 0);
	assert_int_equal(imap_notify_spec_events(spec, "Caf&AOk-", false),
	    0);
	assert_int_equal(imap_notify_spec_events(spec, "Other", false),
	    IMAP_NOTIFY_MAILBOX_NAME);
	imap_notify_spec_free(&spec);

	/* A name that cannot be a folder matches nothing, it is no error
	 * (nor is one that does not exist). */
	assert_int_equal(parse("SET (SUBTREE (\"a/b\" Nope) (MailboxName))",
	    &spec, &be, &error), 0);
	assert_int_equal(spec->groups[0].name_count, 1);
	imap_notify_spec_free(&spec);
}

static void
test_badevent(void **state)
{
	(void)state;
	/* RFC 5465 3.1: NO [BADEVENT], not BAD. */
	refused("SET (PERSONAL (MessageNew MessageExpunge "
	    "AnnotationChange))", true);
	refused("SET (PERSONAL (MailboxMetadataChange))", true);
	refused("SET (PERSONAL (ServerMetadataChange))", true);
	refused("SET (PERSONAL (XSomething))", true);
	/* A syntax error wins over an unsupported event. */
	refused("SET (PERSONAL (XSomething)) (BOGUS (MailboxName))", false);
}

static void
test_bad(void **state)
{
	(void)state;
	refused("SET", false);
	refused("SET STATUS", false);
	refused("GET (PERSONAL (MailboxName))", false);
	refused("SET PERSONAL (MailboxName)", false);
	refused("SET (PERSONAL)", false);
	refused("SET (PERSONAL ())", false);
	refused("SET (PERSONAL (MailboxName) extra)", false);
	refused("SET (PERSONAL MailboxName)", false);
	refused("SET (SUBTREE (MailboxName))", false);
	refused("SET (MAILBOXES () (MailboxName))", false);
	refused("SET (NOWHERE (MailboxName))", false);
	/* RFC 5465 5: MessageNew and MessageExpunge together, FlagChange
	 * with both. */
	refused("SET (PERSONAL (MessageNew))", false);
	refused("SET (PERSONAL (MessageExpunge))", false);
	refused("SET (PERSONAL (FlagChange))", false);
	refused("SET (PERSONAL (MessageNew FlagChange))", false);
	/* RFC 5465 6.1: one selected filter, message events only. */
	refused("SET (SELECTED (MailboxName))", false);
	refused("SET (SELECTED NONE) (SELECTED-DELAYED NONE)", false);
	/* Fetch attributes only with the selected mailbox's MessageNew,
	 * and only real ones. */
	refused("SET (PERSONAL (MessageNew (UID) MessageExpunge))", false);
	refused("SET (SELECTED (MessageNew () MessageExpunge))", false);
	refused("SET (SELECTED (MessageNew (NOSUCH) MessageExpunge))",
	    false);
}

static void
test_limits(void **state)
{
	struct imap_notify_spec *spec;
	struct buf b;
	const char *error;
	bool be;
	int i;

	(void)state;
	buf_init(&b, 0);
	buf_append_str(&b, "SET");
	for (i = 0; i < IMAP_NOTIFY_GROUPS_MAX; i++)
		buf_append_str(&b, " (PERSONAL NONE)");
	assert_int_equal(parse(buf_cstr(&b), &spec, &be, &error), 0);
	imap_notify_spec_free(&spec);
	buf_append_str(&b, " (PERSONAL NONE)");
	refused(buf_cstr(&b), false);

	buf_free(&b);
	buf_init(&b, 0);
	buf_append_str(&b, "SET (MAILBOXES (");
	for (i = 0; i < IMAP_NOTIFY_MAILBOXES_MAX; i++)
		buf_printf(&b, "%sf%d", i > 0 ? " " : "", i);
	buf_append_str(&b, ") NONE)");
	assert_int_equal(parse(buf_cstr(&b), &spec, &be, &error), 0);
	imap_notify_spec_free(&spec);
	b.len -= strlen(") NONE)");
	buf_append_str(&b, " one-more) NONE)");
	refused(buf_cstr(&b), false);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_rfc_example),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_badevent),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
