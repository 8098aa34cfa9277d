/* Tests of FETCH without I/O: ENVELOPE, BODY and BODYSTRUCTURE of parsed
 * messages written exactly as RFC 3501 7.4.2 lays them out, and FETCH
 * attributes parsed into items (RFC 3501 6.4.5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap-fetch-format.h"
#include "imap/imap-parser.h"
#include "imap-test.h"
#include "lib/buf.h"
#include "store/message.h"

/* ---- helpers ---- */

static struct message *
parse(const char *text)
{
	struct message *msg = NULL;
	const char *error = NULL;

	assert_int_equal(message_parse(text, strlen(text), &msg, &error), 0);
	return msg;
}

static void
check_envelope(const char *text, const char *expected)
{
	struct message *msg = parse(text);
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(imap_fetch_write_envelope(&b, message_envelope(msg)),
	    0);
	assert_string_equal(buf_cstr(&b), expected);
	buf_free(&b);
	message_free(&msg);
}

static void
check_body(const char *text, bool extended, const char *expected)
{
	struct message *msg = parse(text);
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(imap_fetch_write_body(&b, message_body(msg),
	    extended), 0);
	assert_string_equal(buf_cstr(&b), expected);
	buf_free(&b);
	message_free(&msg);
}

/* ---- ENVELOPE ---- */

/* RFC 3501 7.4.2's own example message. */
static const char *const rfc_example =
    "Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n"
    "From: Terry Gray <gray@cac.washington.edu>\r\n"
    "Subject: IMAP4rev1 WG mtg summary and minutes\r\n"
    "To: imap@cac.washington.edu\r\n"
    "cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\r\n"
    "Message-Id: <B27397-0100000@cac.washington.edu>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
    "\r\n"
    "Hello world.\r\n"
    "Second line.\r\n";

static void
test_envelope_rfc_example(void **state)
{
	(void)state;
	check_envelope(rfc_example,
	    "(\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" "
	    "\"IMAP4rev1 WG mtg summary and minutes\" "
	    "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
	    "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
	    "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
	    "((NIL NIL \"imap\" \"cac.washington.edu\")) "
	    "((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")"
	    "(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) "
	    "NIL NIL "
	    "\"<B27397-0100000@cac.washington.edu>\")");
}

static void
test_envelope_groups_quotes_8bit(void **state)
{
	(void)state;
	check_envelope(
	    "From: \"Joe \\\"Q\\\" Public\" <joe@example.com>\r\n"
	    "Sender: s@example.com\r\n"
	    "Reply-To: r@example.com\r\n"
	    "To: undisclosed-recipients:;\r\n"
	    "Cc: Friends: a@x.example, \"B\" <b@y.example>;\r\n"
	    "Bcc: hidden@z.example\r\n"
	    "Subject: caf\xc3\xa9\r\n"
	    "In-Reply-To: <r@x>\r\n"
	    "\r\n"
	    "x\r\n",
	    "(NIL {5}\r\ncaf\xc3\xa9 "
	    "((\"Joe \\\"Q\\\" Public\" NIL \"joe\" \"example.com\")) "
	    "((NIL NIL \"s\" \"example.com\")) "
	    "((NIL NIL \"r\" \"example.com\")) "
	    "((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) "
	    "((NIL NIL \"Friends\" NIL)(NIL NIL \"a\" \"x.example\")"
	    "(\"B\" NIL \"b\" \"y.example\")(NIL NIL NIL NIL)) "
	    "((NIL NIL \"hidden\" \"z.example\")) "
	    "\"<r@x>\" NIL)");
}

static void
test_envelope_empty(void **state)
{
	(void)state;
	check_envelope("\r\nno header at all\r\n",
	    "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
}

/* ---- BODY and BODYSTRUCTURE ---- */

static void
test_body_text(void **state)
{
	(void)state;
	check_body(rfc_example, false,
	    "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7bit\" "
	    "28 2)");
	check_body(rfc_example, true,
	    "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7bit\" "
	    "28 2 NIL NIL NIL NIL)");
	/* No Content-Type: the RFC 2045 default. */
	check_body("Subject: x\r\n\r\nabc\r\n", true,
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	    "5 1 NIL NIL NIL NIL)");
}

static const char *const mixed =
    "From: a@b.example\r\n"
    "Subject: parts\r\n"
    "Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--XYZ\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Language: en\r\n"
    "\r\n"
    "hi\r\n"
    "--XYZ\r\n"
    "Content-Type: application/pdf; name=\"a b.pdf\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "Content-Disposition: attachment; filename=\"a b.pdf\"\r\n"
    "Content-ID: <id1@x>\r\n"
    "Content-Description: the file\r\n"
    "Content-Location: http://x.example/a.pdf\r\n"
    "\r\n"
    "QUJD\r\n"
    "--XYZ--\r\n";

static void
test_body_multipart(void **state)
{
	(void)state;
	check_body(mixed, false,
	    "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 2 0)"
	    "(\"application\" \"pdf\" (\"name\" \"a b.pdf\") \"<id1@x>\" "
	    "\"the file\" \"base64\" 4) \"mixed\")");
	check_body(mixed, true,
	    "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 2 0 "
	    "NIL NIL (\"en\") NIL)"
	    "(\"application\" \"pdf\" (\"name\" \"a b.pdf\") \"<id1@x>\" "
	    "\"the file\" \"base64\" 4 NIL "
	    "(\"attachment\" (\"filename\" \"a b.pdf\")) NIL "
	    "\"http://x.example/a.pdf\") "
	    "\"mixed\" (\"boundary\" \"XYZ\") NIL NIL NIL)");
}

static const char *const forwarded =
    "Subject: fwd\r\n"
    "Content-Type: multipart/mixed; boundary=b1\r\n"
    "\r\n"
    "--b1\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "From: Inner <in@x.example>\r\n"
    "Subject: inner\r\n"
    "\r\n"
    "body\r\n"
    "--b1--\r\n";

static void
test_body_message_rfc822(void **state)
{
	(void)state;
	check_body(forwarded, true,
	    "((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 50 "
	    "(NIL \"inner\" ((\"Inner\" NIL \"in\" \"x.example\")) "
	    "((\"Inner\" NIL \"in\" \"x.example\")) "
	    "((\"Inner\" NIL \"in\" \"x.example\")) NIL NIL NIL NIL NIL) "
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	    "4 0 NIL NIL NIL NIL) 3 NIL NIL NIL NIL) "
	    "\"mixed\" (\"boundary\" \"b1\") NIL NIL NIL)");
	check_body(forwarded, false,
	    "((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 50 "
	    "(NIL \"inner\" ((\"Inner\" NIL \"in\" \"x.example\")) "
	    "((\"Inner\" NIL \"in\" \"x.example\")) "
	    "((\"Inner\" NIL \"in\" \"x.example\")) NIL NIL NIL NIL NIL) "
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	    "4 0) 3) \"mixed\")");
}

static void
test_body_multipart_without_parts(void **state)
{
	(void)state;
	check_body("Content-Type: multipart/mixed\r\n\r\nbody\r\n", true,
	    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	    "0 0 NIL NIL NIL NIL) \"mixed\" NIL NIL NIL NIL)");
	check_body("Content-Type: multipart/mixed\r\n\r\nbody\r\n", false,
	    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	    "0 0) \"mixed\")");
}

/* A buffer too small gets -1, never more than its max. */
static void
test_body_buffer_limit(void **state)
{
	struct message *msg = parse(mixed);
	struct buf b;

	(void)state;
	buf_init(&b, 40);
	assert_int_equal(imap_fetch_write_body(&b, message_body(msg), true),
	    -1);
	assert_true(b.len <= 40);
	buf_free(&b);
	buf_init(&b, 40);
	assert_int_equal(imap_fetch_write_envelope(&b, message_envelope(msg)),
	    -1);
	assert_true(b.len <= 40);
	buf_free(&b);
	message_free(&msg);
}

/* ---- fetch attributes ---- */

/* Parse "a FETCH 1 <atts>" and its attribute argument. */
struct parsed {
	struct imap_parser *parser;
	struct imap_fetch_items *items;
	const char *error;
	int ret;
};

static void
parse_atts(struct parsed *p, const char *atts)
{
	const struct imap_command *cmd;
	char args[1024];

	snprintf(args, sizeof(args), "1 %s", atts);
	cmd = it_parse_command(&p->parser, "FETCH", args);
	p->items = NULL;
	p->error = NULL;
	assert_int_equal(cmd->args_count, 2);
	p->ret = imap_fetch_items_parse(&cmd->args[1], &p->items, &p->error);
}

static void
parsed_free(struct parsed *p)
{
	imap_fetch_items_free(&p->items);
	assert_null(p->items);
	imap_parser_free(&p->parser);
}

/* The item names joined by spaces. */
static void
check_names(const char *atts, const char *expected)
{
	char got[1024] = "";
	size_t len = 0;
	struct parsed p;

	parse_atts(&p, atts);
	if (p.ret != 0)
		fail_msg("%s: %s", atts, p.error);
	for (size_t i = 0; i < p.items->count && len < sizeof(got); i++)
		len += (size_t)snprintf(got + len, sizeof(got) - len, "%s%s",
		    i > 0 ? " " : "", p.items->items[i].name);
	assert_string_equal(got, expected);
	parsed_free(&p);
}

static void
check_bad(const char *atts)
{
	struct parsed p;

	parse_atts(&p, atts);
	if (p.ret != -1)
		fail_msg("%s parsed", atts);
	assert_non_null(p.error);
	assert_null(p.items);
	parsed_free(&p);
}

static void
test_items_macros(void **state)
{
	struct parsed p;

	(void)state;
	check_names("ALL", "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE");
	check_names("fast", "FLAGS INTERNALDATE RFC822.SIZE");
	check_names("Full", "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY");

	parse_atts(&p, "FAST");
	assert_int_equal(p.ret, 0);
	assert_true(p.items->need_info);
	assert_false(p.items->need_parse);
	assert_false(p.items->need_raw);
	assert_false(p.items->sets_seen);
	assert_true(p.items->has_flags);
	assert_false(p.items->has_uid);
	parsed_free(&p);

	parse_atts(&p, "ALL");
	assert_true(p.items->need_parse);
	parsed_free(&p);

	/* Macros stand alone (RFC 3501 grammar). */
	check_bad("(ALL)");
	check_bad("(FLAGS FAST)");
}

static void
test_items_simple(void **state)
{
	struct parsed p;

	(void)state;
	check_names("(uid flags rfc822.size internaldate envelope "
	    "bodystructure body)",
	    "UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE BODY");
	parse_atts(&p, "(UID FLAGS)");
	assert_int_equal(p.ret, 0);
	assert_true(p.items->has_uid);
	assert_true(p.items->has_flags);
	assert_false(p.items->need_info);
	assert_false(p.items->need_parse);
	assert_false(p.items->need_raw);
	parsed_free(&p);

	check_bad("()");
	check_bad("BOGUS");
	check_bad("(FLAGS BOGUS)");
	check_bad("\"FLAGS\"");
	check_bad("(FLAGS (UID))");
	check_bad("BODY.PEEK");
	check_bad("RFC822.PEEK");
}

static void
test_items_rfc822(void **state)
{
	struct parsed p;
	const struct imap_fetch_item *it;

	(void)state;
	parse_atts(&p, "(RFC822 RFC822.HEADER RFC822.TEXT)");
	assert_int_equal(p.ret, 0);
	assert_int_equal(p.items->count, 3);
	it = &p.items->items[0];
	assert_string_equal(it->name, "RFC822");
	assert_int_equal(it->att, IMAP_FETCH_SECTION);
	assert_true(it->whole);
	assert_true(it->sets_seen);
	it = &p.items->items[1];
	assert_string_equal(it->name, "RFC822.HEADER");
	assert_false(it->whole);
	assert_false(it->sets_seen);
	assert_int_equal(it->section.kind, MESSAGE_SECTION_HEADER);
	assert_int_equal(it->section.part_count, 0);
	it = &p.items->items[2];
	assert_string_equal(it->name, "RFC822.TEXT");
	assert_true(it->sets_seen);
	assert_int_equal(it->section.kind, MESSAGE_SECTION_TEXT);
	assert_true(p.items->need_raw);
	assert_true(p.items->need_parse);
	assert_true(p.items->sets_seen);
	parsed_free(&p);
}

static void
test_items_sections(void **state)
{
	struct parsed p;
	const struct imap_fetch_item *it;

	(void)state;
	parse_atts(&p, "BODY[]");
	assert_int_equal(p.ret, 0);
	it = &p.items->items[0];
	assert_string_equal(it->name, "BODY[]");
	assert_true(it->whole);
	assert_true(it->sets_seen);
	assert_false(it->has_partial);
	assert_true(p.items->need_raw);
	assert_false(p.items->need_parse);
	parsed_free(&p);

	parse_atts(&p, "body.peek[]<5.10>");
	assert_int_equal(p.ret, 0);
	it = &p.items->items[0];
	assert_string_equal(it->name, "BODY[]<5>");
	assert_true(it->whole);
	assert_false(it->sets_seen);
	assert_false(p.items->sets_seen);
	assert_true(it->has_partial);
	assert_int_equal(it->partial_offset, 5);
	assert_int_equal(it->partial_size, 10);
	parsed_free(&p);

	parse_atts(&p, "(FLAGS BODY.PEEK[1.2.header.fields.not (x-a \"To\")])");
	assert_int_equal(p.ret, 0);
	it = &p.items->items[1];
	assert_string_equal(it->name, "BODY[1.2.HEADER.FIELDS.NOT (X-A TO)]");
	assert_int_equal(it->section.kind, MESSAGE_SECTION_HEADER_FIELDS_NOT);
	assert_int_equal(it->section.part_count, 2);
	assert_int_equal(it->section.parts[0], 1);
	assert_int_equal(it->section.parts[1], 2);
	assert_int_equal(it->section.field_count, 2);
	assert_string_equal(it->section.fields[0], "x-a");
	assert_string_equal(it->section.fields[1], "To");
	assert_false(it->whole);
	assert_false(p.items->need_raw);
	assert_true(p.items->need_parse);
	parsed_free(&p);

	check_names("(BODY[HEADER] BODY[TEXT] BODY[1] BODY[1.MIME] "
	    "BODY[2.HEADER] BODY[3.1.TEXT] BODY[HEADER.FIELDS (Subject)]<0.5>)",
	    "BODY[HEADER] BODY[TEXT] BODY[1] BODY[1.MIME] BODY[2.HEADER] "
	    "BODY[3.1.TEXT] BODY[HEADER.FIELDS (SUBJECT)]<0>");

	parse_atts(&p, "BODY[2.3.MIME]");
	assert_int_equal(p.ret, 0);
	it = &p.items->items[0];
	assert_int_equal(it->section.kind, MESSAGE_SECTION_MIME);
	assert_int_equal(it->section.part_count, 2);
	parsed_free(&p);
}

static void
test_items_bad_sections(void **state)
{
	char many[600];
	size_t n = 0;

	(void)state;
	check_bad("BODY[MIME]");
	check_bad("BODY[0]");
	check_bad("BODY[01]");
	check_bad("BODY[1.]");
	check_bad("BODY[.TEXT]");
	check_bad("BODY[1..2]");
	check_bad("BODY[4294967296]");
	check_bad("BODY[HEADER.FIELDS]");
	check_bad("BODY[HEADER.FIELDS ()]");
	check_bad("BODY[TEXT (Subject)]");
	check_bad("BODY[FOO]");
	check_bad("BODY[HEADERS]");
	check_bad("BODY[1.FOO]");
	check_bad("RFC822[]");

	/* More part numbers than any message can nest. */
	n += (size_t)snprintf(many + n, sizeof(many) - n, "BODY[");
	for (int i = 0; i < 70; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "%s1",
		    i > 0 ? "." : "");
	snprintf(many + n, sizeof(many) - n, "]");
	check_bad(many);
}

/* RFC 3516: BINARY, BINARY.PEEK and BINARY.SIZE take part numbers
 * alone; BINARY sets \Seen, the others do not; none is answered from
 * the raw file. */
static void
test_binary_items(void **state)
{
	struct parsed p;

	(void)state;
	check_names("(BINARY[1.2] binary.peek[] BINARY.SIZE[3] "
	    "BINARY[2]<0.10>)",
	    "BINARY[1.2] BINARY[] BINARY.SIZE[3] BINARY[2]<0>");
	parse_atts(&p, "(BINARY.PEEK[] BINARY.SIZE[1])");
	assert_int_equal(p.ret, 0);
	assert_false(p.items->sets_seen);
	assert_true(p.items->need_parse);
	assert_false(p.items->need_raw);
	assert_true(p.items->items[0].binary);
	assert_true(p.items->items[1].binary_size);
	parsed_free(&p);
	parse_atts(&p, "BINARY[1]");
	assert_int_equal(p.ret, 0);
	assert_true(p.items->sets_seen);
	parsed_free(&p);
	check_bad("BINARY[HEADER]");
	check_bad("BINARY[1.TEXT]");
	check_bad("BINARY[1.MIME]");
	check_bad("BINARY.SIZE[1.HEADER]");
	check_bad("BINARY.SIZE[1]<0.5>");
	check_bad("BINARY.PEEK[1.HEADER.FIELDS (From)]");
}

int
main(void)
{
	/* ENVELOPE and BODY[STRUCTURE] written; attribute lists parsed. */
	const struct CMUnitTest format_tests[] = {
		cmocka_unit_test(test_envelope_rfc_example),
		cmocka_unit_test(test_envelope_groups_quotes_8bit),
		cmocka_unit_test(test_envelope_empty),
		cmocka_unit_test(test_body_text),
		cmocka_unit_test(test_body_multipart),
		cmocka_unit_test(test_body_message_rfc822),
		cmocka_unit_test(test_body_multipart_without_parts),
		cmocka_unit_test(test_body_buffer_limit),
	}, items_tests[] = {
		cmocka_unit_test(test_items_macros),
		cmocka_unit_test(test_items_simple),
		cmocka_unit_test(test_items_rfc822),
		cmocka_unit_test(test_items_sections),
		cmocka_unit_test(test_items_bad_sections),
		cmocka_unit_test(test_binary_items),
	};
	int failed;

	failed = cmocka_run_group_tests_name("format", format_tests, NULL,
	    NULL);
	failed += cmocka_run_group_tests_name("items", items_tests, NULL, NULL);
	message_lib_deinit();
	return failed;
}
