/* Tests of the IMAP wire syntax of imap-wire.c: astring, string,
 * nstring, literal, flag list and UID set output byte for byte, and
 * mailbox names from the wire. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap-wire.h"
#include "lib/buf.h"
#include "store/store.h"

static const char *
astring(struct buf *b, const char *s)
{
	buf_reset(b);
	assert_int_equal(imap_write_astring(b, s), 0);
	return buf_cstr(b);
}

static void
test_astring(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_string_equal(astring(&b, "INBOX"), "INBOX");
	assert_string_equal(astring(&b, "Work.Projects"), "Work.Projects");
	assert_string_equal(astring(&b, "[Gmail]"), "[Gmail]");
	assert_string_equal(astring(&b, "&AMk-t&AOk-"), "&AMk-t&AOk-");
	assert_string_equal(astring(&b, ""), "\"\"");
	assert_string_equal(astring(&b, "nil"), "\"nil\"");
	assert_string_equal(astring(&b, "NIL"), "\"NIL\"");
	assert_string_equal(astring(&b, "Sent Items"), "\"Sent Items\"");
	assert_string_equal(astring(&b, "a*b"), "\"a*b\"");
	assert_string_equal(astring(&b, "50%"), "\"50%\"");
	assert_string_equal(astring(&b, "(x)"), "\"(x)\"");
	assert_string_equal(astring(&b, "a{1}"), "\"a{1}\"");
	assert_string_equal(astring(&b, "say \"hi\""), "\"say \\\"hi\\\"\"");
	assert_string_equal(astring(&b, "back\\slash"), "\"back\\\\slash\"");
	assert_string_equal(astring(&b, "caf\xc3\xa9"),
	    "{5}\r\ncaf\xc3\xa9");
	assert_string_equal(astring(&b, "two\r\nlines"),
	    "{10}\r\ntwo\r\nlines");
	buf_free(&b);
}

/* Where quoted strings end and literals begin, and which bytes need
 * quoting. */
static void
quoted_bounds(void)
{
	struct buf b;
	char s[1026];

	buf_init(&b, 0);
	/* 1024 bytes still go quoted, 1025 as a literal. */
	memset(s, 'q', 1024);
	s[1024] = '\0';
	assert_int_equal(imap_write_string(&b, s), 0);
	assert_int_equal(b.len, 1026);
	assert_int_equal(b.data[0], '"');
	assert_int_equal(b.data[1025], '"');
	buf_reset(&b);
	s[1024] = 'q';
	s[1025] = '\0';
	assert_int_equal(imap_write_string(&b, s), 0);
	assert_int_equal(b.len, 8 + 1025);
	assert_memory_equal(b.data, "{1025}\r\nq", 9);
	buf_reset(&b);
	/* A bare CR or LF forces a literal; other controls are quoted. */
	assert_int_equal(imap_write_string(&b, "a\rb"), 0);
	assert_string_equal(buf_cstr(&b), "{3}\r\na\rb");
	buf_reset(&b);
	assert_int_equal(imap_write_string(&b, "a\tb"), 0);
	assert_string_equal(buf_cstr(&b), "\"a\tb\"");
	buf_reset(&b);
	/* ']' is an ASTRING-CHAR, the other specials are not. */
	assert_int_equal(imap_write_astring(&b, "a]b"), 0);
	assert_string_equal(buf_cstr(&b), "a]b");
	buf_reset(&b);
	assert_int_equal(imap_write_astring(&b, "a\x7f"), 0);
	assert_string_equal(buf_cstr(&b), "\"a\x7f\"");
	buf_reset(&b);
	assert_int_equal(imap_write_nstring(&b, ""), 0);
	assert_string_equal(buf_cstr(&b), "\"\"");
	buf_reset(&b);
	assert_int_equal(imap_write_literal(&b, "", 0), 0);
	assert_string_equal(buf_cstr(&b), "{0}\r\n");
	buf_free(&b);
}

static void
uidsets(void)
{
	static const uint32_t runs[] = { 4, 5, 6, 9, 2 };
	static const uint32_t top[] = { UINT32_MAX - 1, UINT32_MAX, 1 };
	static const uint32_t wrap[] = { UINT32_MAX, 0 };
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(imap_write_uidset(&b, runs, 0), 0);
	assert_string_equal(buf_cstr(&b), "");
	assert_int_equal(imap_write_uidset(&b, runs, 1), 0);
	assert_string_equal(buf_cstr(&b), "4");
	buf_reset(&b);
	assert_int_equal(imap_write_uidset(&b, runs, 5), 0);
	assert_string_equal(buf_cstr(&b), "4:6,9,2");
	buf_reset(&b);
	assert_int_equal(imap_write_uidset(&b, top, 3), 0);
	assert_string_equal(buf_cstr(&b), "4294967294:4294967295,1");
	buf_reset(&b);
	/* No run across the top: UINT32_MAX + 1 is not 0. */
	assert_int_equal(imap_write_uidset(&b, wrap, 2), 0);
	assert_string_equal(buf_cstr(&b), "4294967295,0");
	buf_free(&b);
	/* Too long: the buffer keeps what it had. */
	buf_init(&b, 8);
	assert_int_equal(buf_append_str(&b, "x "), 0);
	assert_int_equal(imap_write_uidset(&b, runs, 5), -1);
	assert_string_equal(buf_cstr(&b), "x ");
	assert_int_equal(imap_write_astring(&b, "Sent Items"), -1);
	assert_string_equal(buf_cstr(&b), "x ");
	buf_free(&b);
}

static void
test_string_nstring_literal(void **state)
{
	struct buf b;
	char big[2000];

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(imap_write_string(&b, "atom"), 0);
	assert_string_equal(buf_cstr(&b), "\"atom\"");
	buf_reset(&b);
	assert_int_equal(imap_write_nstring(&b, NULL), 0);
	assert_string_equal(buf_cstr(&b), "NIL");
	buf_reset(&b);
	assert_int_equal(imap_write_nstring(&b, "NIL"), 0);
	assert_string_equal(buf_cstr(&b), "\"NIL\"");
	buf_reset(&b);
	assert_int_equal(imap_write_literal(&b, "a\0b", 3), 0);
	assert_int_equal(b.len, 8);
	assert_memory_equal(b.data, "{3}\r\na\0b", 8);
	buf_reset(&b);
	/* long strings go as literals */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(imap_write_string(&b, big), 0);
	assert_memory_equal(b.data, "{1999}\r\nxxx", 11);
	buf_free(&b);
	quoted_bounds();
}

static void
test_limits_leave_buffer_unchanged(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 10);
	assert_int_equal(buf_append_str(&b, "ab "), 0);
	assert_int_equal(imap_write_string(&b, "too long here"), -1);
	assert_string_equal(buf_cstr(&b), "ab ");
	assert_int_equal(imap_write_literal(&b, "0123456789", 10), -1);
	assert_string_equal(buf_cstr(&b), "ab ");
	assert_int_equal(imap_write_flags(&b, STORE_FLAG_SEEN |
	    STORE_FLAG_DRAFT), -1);
	assert_string_equal(buf_cstr(&b), "ab ");
	buf_free(&b);
}

/* Keywords after the flags, by the folder's numbers. */
static void
keyword_lists(void)
{
	const char *names[KEYWORDS_MAX] = { "$label1", "Junk", NULL,
	    "$Forwarded" };
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(imap_write_flag_list(&b, STORE_FLAG_SEEN,
	    (1u << 0) | (1u << 1) | (1u << 2), names), 0);
	assert_string_equal(buf_cstr(&b), "(\\Seen $label1 Junk)");
	buf_reset(&b);
	assert_int_equal(imap_write_flag_list(&b, 0, 1u << 1, names), 0);
	assert_string_equal(buf_cstr(&b), "(Junk)");
	buf_reset(&b);
	/* A $Forwarded keyword (Dovecot's) is not sent twice with P. */
	assert_int_equal(imap_write_flag_list(&b, STORE_FLAG_PASSED,
	    1u << 3, names), 0);
	assert_string_equal(buf_cstr(&b), "($Forwarded)");
	buf_reset(&b);
	assert_int_equal(imap_write_flag_list(&b, 0, 1u << 3, names), 0);
	assert_string_equal(buf_cstr(&b), "($Forwarded)");
	buf_free(&b);
}

static void
test_flags_uidsets(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(imap_write_flags(&b, 0), 0);
	assert_string_equal(buf_cstr(&b), "()");
	buf_reset(&b);
	assert_int_equal(imap_write_flags(&b, STORE_FLAG_SEEN), 0);
	assert_string_equal(buf_cstr(&b), "(\\Seen)");
	buf_reset(&b);
	assert_int_equal(imap_write_flags(&b, STORE_FLAG_DRAFT |
	    STORE_FLAG_FLAGGED | STORE_FLAG_PASSED | STORE_FLAG_REPLIED |
	    STORE_FLAG_SEEN | STORE_FLAG_TRASHED), 0);
	/* P is sent as the $Forwarded keyword, after the system flags. */
	assert_string_equal(buf_cstr(&b),
	    "(\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded)");
	/* The session's \Recent comes last. */
	buf_reset(&b);
	assert_int_equal(imap_write_flags(&b, IMAP_FLAG_RECENT), 0);
	assert_string_equal(buf_cstr(&b), "(\\Recent)");
	buf_reset(&b);
	assert_int_equal(imap_write_flags(&b, STORE_FLAG_SEEN |
	    IMAP_FLAG_RECENT), 0);
	assert_string_equal(buf_cstr(&b), "(\\Seen \\Recent)");
	buf_free(&b);
	keyword_lists();
	uidsets();
}

static void
test_mailbox_from_wire(void **state)
{
	char name[FOLDER_NAME_MAX + 1];
	char lng[FOLDER_NAME_MAX + 2];
	const char *error;

	(void)state;
	assert_int_equal(imap_mailbox_from_wire("inbox", name, &error), 0);
	assert_string_equal(name, "INBOX");
	assert_int_equal(imap_mailbox_from_wire("Inbox.Sub", name, &error), 0);
	assert_string_equal(name, "INBOX.Sub");
	assert_int_equal(imap_mailbox_from_wire("Work.Projects", name,
	    &error), 0);
	assert_string_equal(name, "Work.Projects");
	assert_int_equal(imap_mailbox_from_wire("&AMk-t&AOk-", name, &error),
	    0);
	assert_string_equal(name, "&AMk-t&AOk-");
	assert_int_equal(imap_mailbox_from_wire("", name, &error), -1);
	assert_int_equal(imap_mailbox_from_wire("&Jjo", name, &error), -1);
	assert_int_equal(imap_mailbox_from_wire("caf\xc3\xa9", name, &error),
	    -1);
	assert_int_equal(imap_mailbox_from_wire("a/b", name, &error), -1);
	assert_int_equal(imap_mailbox_from_wire("a..b", name, &error), -1);
	assert_int_equal(imap_mailbox_from_wire(".hidden", name, &error), -1);
	memset(lng, 'a', sizeof(lng) - 1);
	lng[sizeof(lng) - 1] = '\0';
	assert_int_equal(imap_mailbox_from_wire(lng, name, &error), -1);
	lng[FOLDER_NAME_MAX] = '\0';
	assert_int_equal(imap_mailbox_from_wire(lng, name, &error), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_astring),
		cmocka_unit_test(test_string_nstring_literal),
		cmocka_unit_test(test_limits_leave_buffer_unchanged),
		cmocka_unit_test(test_flags_uidsets),
		cmocka_unit_test(test_mailbox_from_wire),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
