/* Unit tests for parsed messages (message.c): envelope, body structure,
 * BODY[section] bytes and the SEARCH helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/limits.h"
#include "lib/xmalloc.h"
#include "store/message.h"

/* The length of text with every bare LF made CRLF. */
static size_t
crlf_len(const char *text)
{
	size_t n = 0, i;

	for (i = 0; text[i] != '\0'; i++)
		n += text[i] == '\n' && (i == 0 || text[i - 1] != '\r') ? 2 : 1;
	return n;
}

static struct message *
parse(const char *text)
{
	struct message *msg = NULL;
	const char *error = NULL;

	assert_int_equal(message_parse(text, strlen(text), &msg, &error), 0);
	assert_non_null(msg);
	return msg;
}

/*
 * Fetch a section written as in IMAP, without brackets and with the
 * field list as space-separated names: "1.2.HEADER.FIELDS From To".
 * Returns the bytes as a malloc'd string, or NULL if the section does
 * not exist.
 */
static char *
sect(const struct message *msg, const char *spec)
{
	struct message_section s = { .kind = MESSAGE_SECTION_BODY };
	uint32_t parts[16];
	char *fields[16];
	char *copy = xstrdup(spec), *p = copy, *tok, *res;
	const char *error = NULL;
	struct buf out;
	size_t i;

	while (isdigit((unsigned char)*p)) {
		parts[s.part_count++] = (uint32_t)strtoul(p, &p, 10);
		if (*p == '.')
			p++;
	}
	tok = strsep(&p, " ");
	if (strcmp(tok, "HEADER") == 0)
		s.kind = MESSAGE_SECTION_HEADER;
	else if (strcmp(tok, "HEADER.FIELDS") == 0)
		s.kind = MESSAGE_SECTION_HEADER_FIELDS;
	else if (strcmp(tok, "HEADER.FIELDS.NOT") == 0)
		s.kind = MESSAGE_SECTION_HEADER_FIELDS_NOT;
	else if (strcmp(tok, "TEXT") == 0)
		s.kind = MESSAGE_SECTION_TEXT;
	else if (strcmp(tok, "MIME") == 0)
		s.kind = MESSAGE_SECTION_MIME;
	else
		assert_string_equal(tok, "");
	while (p != NULL && (tok = strsep(&p, " ")) != NULL)
		fields[s.field_count++] = tok;
	s.parts = parts;
	s.fields = (const char *const *)fields;

	buf_init(&out, 0);
	if (message_section_get(msg, &s, &out, &error) < 0) {
		assert_non_null(error);
		buf_free(&out);
		free(copy);
		return NULL;
	}
	res = xstrdup(buf_cstr(&out));
	assert_int_equal(strlen(res), out.len);
	/* Every line break is CRLF. */
	for (i = 0; i < out.len; i++) {
		if (out.data[i] == '\n')
			assert_true(i > 0 && out.data[i - 1] == '\r');
	}
	buf_free(&out);
	free(copy);
	return res;
}

static void
assert_sect(const struct message *msg, const char *spec, const char *want)
{
	char *got = sect(msg, spec);

	if (want == NULL) {
		if (got != NULL)
			fail_msg("section %s: expected none, got \"%s\"",
			    spec, got);
		return;
	}
	if (got == NULL)
		fail_msg("section %s: expected \"%s\", got none", spec, want);
	assert_string_equal(got, want);
	free(got);
}

/* message_search_body() or message_search_text(). */
typedef bool message_search_fn(const struct message *msg, const char *needle);

/* A list of strings for assert_search(), NULL added at its end. */
#define STRINGS(...) ((const char *const[]){ __VA_ARGS__, NULL })
static const char *const none[] = { NULL };

/* search finds each of found[] in msg, and none of missing[]. */
static void
assert_search(message_search_fn *search, const struct message *msg,
    const char *const *found, const char *const *missing)
{
	for (; *found != NULL; found++)
		if (!search(msg, *found))
			fail_msg("\"%s\": not found", *found);
	for (; *missing != NULL; missing++)
		if (search(msg, *missing))
			fail_msg("\"%s\": found", *missing);
}

static void
assert_addr(const struct message_address *a, const char *name,
    const char *mailbox, const char *host)
{
	if (name == NULL)
		assert_null(a->name);
	else
		assert_string_equal(a->name, name);
	assert_null(a->adl);
	if (mailbox == NULL)
		assert_null(a->mailbox);
	else
		assert_string_equal(a->mailbox, mailbox);
	if (host == NULL)
		assert_null(a->host);
	else
		assert_string_equal(a->host, host);
}

static void
assert_param(const struct message_param *p, const char *name,
    const char *value)
{
	assert_string_equal(p->name, name);
	assert_string_equal(p->value, value);
}

/* ---- A simple text message, stored with LF line ends ---- */

static const char simple_lf[] =
    "From: \"Joe Q. Public\" <john.q.public@example.com>\n"
    "To: Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>\n"
    "Cc: <boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>\n"
    "Date: Tue, 1 Jul 2003 10:52:37 +0200\n"
    "Subject: Test\n"
    " folded\n"
    "Message-ID: <5678.21-Nov-1997@example.com>\n"
    "\n"
    "Hi everyone.\n"
    "Second line.\n";

static const char simple_header_crlf[] =
    "From: \"Joe Q. Public\" <john.q.public@example.com>\r\n"
    "To: Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>\r\n"
    "Cc: <boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>\r\n"
    "Date: Tue, 1 Jul 2003 10:52:37 +0200\r\n"
    "Subject: Test\r\n"
    " folded\r\n"
    "Message-ID: <5678.21-Nov-1997@example.com>\r\n"
    "\r\n";

static void
test_simple_envelope(void **state)
{
	struct message *msg = parse(simple_lf);
	const struct message_envelope *env = message_envelope(msg);

	(void)state;
	assert_string_equal(env->date, "Tue, 1 Jul 2003 10:52:37 +0200");
	assert_string_equal(env->subject, "Test folded");
	assert_int_equal(env->from.count, 1);
	assert_addr(&env->from.addrs[0], "Joe Q. Public", "john.q.public",
	    "example.com");
	/* Absent Sender and Reply-To are From (RFC 3501 7.4.2). */
	assert_int_equal(env->sender.count, 1);
	assert_addr(&env->sender.addrs[0], "Joe Q. Public", "john.q.public",
	    "example.com");
	assert_int_equal(env->reply_to.count, 1);
	assert_addr(&env->reply_to.addrs[0], "Joe Q. Public",
	    "john.q.public", "example.com");
	assert_int_equal(env->to.count, 3);
	assert_addr(&env->to.addrs[0], "Mary Smith", "mary", "x.test");
	assert_addr(&env->to.addrs[1], NULL, "jdoe", "example.org");
	assert_addr(&env->to.addrs[2], "Who?", "one", "y.test");
	assert_int_equal(env->cc.count, 2);
	assert_addr(&env->cc.addrs[0], NULL, "boss", "nil.test");
	assert_addr(&env->cc.addrs[1], "Giant; \"Big\" Box", "sysservices",
	    "example.net");
	assert_int_equal(env->bcc.count, 0);
	assert_null(env->in_reply_to);
	assert_string_equal(env->message_id,
	    "<5678.21-Nov-1997@example.com>");
	message_free(&msg);
	assert_null(msg);
	message_free(&msg);
}

static void
test_simple_structure(void **state)
{
	struct message *msg = parse(simple_lf);
	const struct message_part *p = message_body(msg);

	(void)state;
	/* Every LF counts as CRLF: 12 lines. */
	assert_int_equal(message_size(msg), strlen(simple_lf) + 10);
	assert_int_equal(p->kind, MESSAGE_PART_TEXT);
	assert_string_equal(p->type, "text");
	assert_string_equal(p->subtype, "plain");
	assert_int_equal(p->param_count, 1);
	assert_param(&p->params[0], "charset", "us-ascii");
	assert_null(p->id);
	assert_null(p->description);
	assert_string_equal(p->encoding, "7bit");
	assert_null(p->disposition);
	assert_int_equal(p->language_count, 0);
	assert_null(p->location);
	assert_int_equal(p->size, strlen("Hi everyone.\r\nSecond line.\r\n"));
	assert_int_equal(p->lines, 2);
	assert_int_equal(p->child_count, 0);
	assert_null(p->envelope);
	message_free(&msg);
}

static void
test_simple_sections(void **state)
{
	struct message *msg = parse(simple_lf);
	struct buf whole;
	char *all;

	(void)state;
	all = xasprintf("%s%s", simple_header_crlf,
	    "Hi everyone.\r\nSecond line.\r\n");
	assert_sect(msg, "", all);
	assert_int_equal(strlen(all), message_size(msg));
	free(all);
	assert_sect(msg, "HEADER", simple_header_crlf);
	assert_sect(msg, "TEXT", "Hi everyone.\r\nSecond line.\r\n");
	/* A message that is not multipart has one part, its body. */
	assert_sect(msg, "1", "Hi everyone.\r\nSecond line.\r\n");
	assert_sect(msg, "1.MIME", simple_header_crlf);
	assert_sect(msg, "2", NULL);
	assert_sect(msg, "0", NULL);
	assert_sect(msg, "1.1", NULL);
	assert_sect(msg, "1.HEADER", NULL);
	assert_sect(msg, "1.TEXT", NULL);
	assert_sect(msg, "MIME", NULL);
	/* Matching fields in message order, whole, then a blank line. */
	assert_sect(msg, "HEADER.FIELDS subject FROM",
	    "From: \"Joe Q. Public\" <john.q.public@example.com>\r\n"
	    "Subject: Test\r\n folded\r\n"
	    "\r\n");
	assert_sect(msg, "HEADER.FIELDS X-Absent", "\r\n");
	assert_sect(msg, "HEADER.FIELDS.NOT To cc DATE Message-Id Subject",
	    "From: \"Joe Q. Public\" <john.q.public@example.com>\r\n"
	    "\r\n");

	/* A full buffer is an error, not a silent truncation. */
	buf_init(&whole, 10);
	{
		struct message_section s = { .kind = MESSAGE_SECTION_TEXT };
		const char *error = NULL;

		assert_int_equal(message_section_get(msg, &s, &whole,
		    &error), -1);
		assert_non_null(error);
	}
	buf_free(&whole);
	message_free(&msg);
}

/* ---- multipart/alternative, CRLF ---- */

static const char alternative[] =
    "From: a@b.test\r\n"
    "Subject: alt\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/alternative; boundary=\"XX\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--XX\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "plain body\r\n"
    "--XX\r\n"
    "Content-Type: TEXT/HTML; charset=\"utf-8\"\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "<p>html =3D body</p>\r\n"
    "--XX--\r\n"
    "epilogue\r\n";

static void
test_alternative(void **state)
{
	struct message *msg = parse(alternative);
	const struct message_part *p = message_body(msg), *c;
	const char *body = strstr(alternative, "preamble");

	(void)state;
	assert_int_equal(message_size(msg), strlen(alternative));
	assert_int_equal(p->kind, MESSAGE_PART_MULTIPART);
	assert_string_equal(p->type, "multipart");
	assert_string_equal(p->subtype, "alternative");
	assert_int_equal(p->param_count, 1);
	assert_param(&p->params[0], "boundary", "XX");
	assert_int_equal(p->size, strlen(body));
	assert_int_equal(p->child_count, 2);

	c = p->children[0];
	assert_int_equal(c->kind, MESSAGE_PART_TEXT);
	assert_string_equal(c->subtype, "plain");
	assert_int_equal(c->param_count, 1);
	assert_param(&c->params[0], "charset", "utf-8");
	assert_string_equal(c->encoding, "7bit");
	assert_int_equal(c->size, 10);
	assert_int_equal(c->lines, 0);

	c = p->children[1];
	assert_int_equal(c->kind, MESSAGE_PART_TEXT);
	/* Case as written. */
	assert_string_equal(c->type, "TEXT");
	assert_string_equal(c->subtype, "HTML");
	assert_string_equal(c->encoding, "quoted-printable");
	assert_int_equal(c->size, strlen("<p>html =3D body</p>"));

	assert_sect(msg, "1", "plain body");
	assert_sect(msg, "2", "<p>html =3D body</p>");
	assert_sect(msg, "1.MIME",
	    "Content-Type: text/plain; charset=utf-8\r\n\r\n");
	assert_sect(msg, "2.MIME",
	    "Content-Type: TEXT/HTML; charset=\"utf-8\"\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
	assert_sect(msg, "TEXT", body);
	assert_sect(msg, "3", NULL);
	assert_sect(msg, "1.1", NULL);
	assert_sect(msg, "2.HEADER", NULL);

	/* Quoted-printable is decoded before matching; preamble and
	 * epilogue are not part of any body. */
	assert_search(message_search_body, msg,
	    STRINGS("PLAIN BODY", "html = body"),
	    STRINGS("=3D", "preamble", "epilogue"));
	message_free(&msg);
}

/* ---- multipart/mixed with a base64 attachment ---- */

static const char mixed[] =
    "From: Ann <ann@a.test>\n"
    "To: bob@b.test\n"
    "Subject: report\n"
    "Content-Type: multipart/mixed;\n"
    "\tboundary=\"=_outer\"\n"
    "\n"
    "--=_outer\n"
    "Content-Type: text/plain; charset=us-ascii; format=flowed\n"
    "Content-Transfer-Encoding: base64\n"
    "Content-Language: en, de\n"
    "\n"
    "SGVsbG8gZnJvbSB0aGUgYmFzZTY0IGJvZHku\n"
    "--=_outer\n"
    "Content-Type: application/pdf; name=\"report.pdf\"\n"
    "Content-Transfer-Encoding: BASE64\n"
    "Content-ID: <part2@a.test>\n"
    "Content-Description: The\n"
    " report\n"
    "Content-Disposition: attachment;\n"
    " filename*0=\"long \"; filename*1=\"name.pdf\"; size=12\n"
    "Content-Location: http://a.test/report.pdf\n"
    "\n"
    "JVBERi0xLjQK\n"
    "aGVsbG8=\n"
    "--=_outer--\n";

static void
test_mixed_attachment(void **state)
{
	struct message *msg = parse(mixed);
	const struct message_part *p = message_body(msg), *c;

	(void)state;
	assert_int_equal(p->kind, MESSAGE_PART_MULTIPART);
	assert_string_equal(p->subtype, "mixed");
	assert_param(&p->params[0], "boundary", "=_outer");
	assert_int_equal(p->child_count, 2);

	c = p->children[0];
	assert_int_equal(c->kind, MESSAGE_PART_TEXT);
	assert_int_equal(c->param_count, 2);
	assert_param(&c->params[0], "charset", "us-ascii");
	assert_param(&c->params[1], "format", "flowed");
	assert_string_equal(c->encoding, "base64");
	assert_int_equal(c->language_count, 2);
	assert_string_equal(c->languages[0], "en");
	assert_string_equal(c->languages[1], "de");
	assert_int_equal(c->size, 36);
	assert_int_equal(c->lines, 0);

	c = p->children[1];
	assert_int_equal(c->kind, MESSAGE_PART_BASIC);
	assert_string_equal(c->type, "application");
	assert_string_equal(c->subtype, "pdf");
	assert_int_equal(c->param_count, 1);
	assert_param(&c->params[0], "name", "report.pdf");
	assert_string_equal(c->id, "<part2@a.test>");
	assert_string_equal(c->description, "The report");
	assert_string_equal(c->encoding, "BASE64");
	assert_string_equal(c->disposition, "attachment");
	/* RFC 2231 continuations are joined. */
	assert_int_equal(c->disposition_param_count, 2);
	assert_param(&c->disposition_params[0], "filename", "long name.pdf");
	assert_param(&c->disposition_params[1], "size", "12");
	assert_string_equal(c->location, "http://a.test/report.pdf");
	assert_int_equal(c->size, strlen("JVBERi0xLjQK\r\naGVsbG8="));
	assert_int_equal(c->lines, 1);

	assert_sect(msg, "1", "SGVsbG8gZnJvbSB0aGUgYmFzZTY0IGJvZHku");
	assert_sect(msg, "2", "JVBERi0xLjQK\r\naGVsbG8=");
	assert_sect(msg, "HEADER.FIELDS Content-Type",
	    "Content-Type: multipart/mixed;\r\n\tboundary=\"=_outer\"\r\n"
	    "\r\n");

	/* Base64 text is decoded before matching; attachments that are
	 * not text are not searched. */
	assert_search(message_search_body, msg,
	    STRINGS("hello from the BASE64 body"),
	    STRINGS("SGVsbG8", "hello\n", "%PDF"));
	assert_search(message_search_text, msg,
	    STRINGS("base64 body", "subject: rep", "bob@b.test"),
	    STRINGS("nowhere"));
	message_free(&msg);
}

/* ---- message/rfc822 inside multipart/mixed ---- */

/* The message inside nested[], as its own message. */
#define NESTED_INNER \
    "From: Inner Person <inner@i.test>\r\n" \
    "Subject: inner\r\n" \
    "Date: Wed, 2 Jul 2003 08:00:00 -0700\r\n" \
    "Content-Type: multipart/alternative; boundary=b2\r\n" \
    "\r\n" \
    "--b2\r\n" \
    "Content-Type: text/plain\r\n" \
    "\r\n" \
    "inner text\r\n" \
    "line two\r\n" \
    "--b2\r\n" \
    "Content-Type: text/html\r\n" \
    "\r\n" \
    "<b>inner</b>\r\n" \
    "--b2--\r\n"

static const char nested[] =
    "From: outer@o.test\r\n"
    "Subject: Fwd: inner\r\n"
    "Content-Type: multipart/mixed; boundary=b1\r\n"
    "\r\n"
    "--b1\r\n"
    "\r\n"
    "See the forwarded message.\r\n"
    "--b1\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    NESTED_INNER
    "\r\n"
    "--b1--\r\n";

static const char nested_inner[] = NESTED_INNER;

static void
test_nested_message(void **state)
{
	struct message *msg = parse(nested);
	const struct message_part *p = message_body(msg), *m, *e;
	const char *inner_text = strstr(nested_inner, "--b2");

	(void)state;
	assert_int_equal(p->child_count, 2);
	assert_int_equal(p->children[0]->kind, MESSAGE_PART_TEXT);
	assert_int_equal(p->children[0]->size, 26);
	m = p->children[1];
	assert_int_equal(m->kind, MESSAGE_PART_MESSAGE);
	assert_string_equal(m->type, "message");
	assert_string_equal(m->subtype, "rfc822");
	assert_int_equal(m->size, strlen(nested_inner));
	assert_int_equal(m->lines, 15);
	assert_non_null(m->envelope);
	assert_string_equal(m->envelope->subject, "inner");
	assert_string_equal(m->envelope->date,
	    "Wed, 2 Jul 2003 08:00:00 -0700");
	assert_int_equal(m->envelope->from.count, 1);
	assert_addr(&m->envelope->from.addrs[0], "Inner Person", "inner",
	    "i.test");
	assert_int_equal(m->envelope->to.count, 0);
	assert_int_equal(m->child_count, 1);
	e = m->children[0];
	assert_int_equal(e->kind, MESSAGE_PART_MULTIPART);
	assert_string_equal(e->subtype, "alternative");
	assert_int_equal(e->child_count, 2);
	assert_int_equal(e->children[0]->size, strlen("inner text\r\nline two"));
	assert_int_equal(e->children[0]->lines, 1);
	/* The outer envelope is not the inner one. */
	assert_string_equal(message_envelope(msg)->subject, "Fwd: inner");

	assert_sect(msg, "1", "See the forwarded message.");
	assert_sect(msg, "1.MIME", "\r\n");
	assert_sect(msg, "2", nested_inner);
	assert_sect(msg, "2.MIME", "Content-Type: message/rfc822\r\n\r\n");
	assert_sect(msg, "2.HEADER",
	    "From: Inner Person <inner@i.test>\r\n"
	    "Subject: inner\r\n"
	    "Date: Wed, 2 Jul 2003 08:00:00 -0700\r\n"
	    "Content-Type: multipart/alternative; boundary=b2\r\n"
	    "\r\n");
	assert_sect(msg, "2.TEXT", inner_text);
	assert_sect(msg, "2.HEADER.FIELDS subject", "Subject: inner\r\n\r\n");
	assert_sect(msg, "2.HEADER.FIELDS.NOT subject Date Content-Type",
	    "From: Inner Person <inner@i.test>\r\n\r\n");
	assert_sect(msg, "2.1", "inner text\r\nline two");
	assert_sect(msg, "2.2", "<b>inner</b>");
	assert_sect(msg, "2.2.MIME", "Content-Type: text/html\r\n\r\n");
	assert_sect(msg, "2.3", NULL);
	assert_sect(msg, "2.1.1", NULL);
	assert_sect(msg, "3", NULL);
	assert_sect(msg, "HEADER.FIELDS Subject",
	    "Subject: Fwd: inner\r\n\r\n");

	/* Bodies of encapsulated messages are searched, their header is
	 * not the message's header. */
	assert_true(message_search_body(msg, "LINE TWO"));
	assert_false(message_search_header(msg, "From", "inner@i.test"));
	assert_true(message_search_header(msg, "From", "outer"));
	message_free(&msg);
}

/* message/rfc822 whose message is not multipart: its part 1 is its
 * body, and a message/rfc822 in base64 is an opaque part. */
static void
test_nested_simple(void **state)
{
	static const char text[] =
	    "Content-Type: multipart/mixed; boundary=\"x\"\n"
	    "\n"
	    "--x\n"
	    "Content-Type: message/rfc822\n"
	    "\n"
	    "Subject: in\n"
	    "\n"
	    "inner body\n"
	    "--x\n"
	    "Content-Type: message/rfc822\n"
	    "Content-Transfer-Encoding: base64\n"
	    "\n"
	    "U3ViamVjdDogeAoKeQo=\n"
	    "--x--\n";
	struct message *msg = parse(text);
	const struct message_part *p = message_body(msg);

	(void)state;
	assert_int_equal(p->child_count, 2);
	assert_int_equal(p->children[0]->kind, MESSAGE_PART_MESSAGE);
	assert_int_equal(p->children[0]->children[0]->kind,
	    MESSAGE_PART_TEXT);
	assert_int_equal(p->children[0]->size,
	    strlen("Subject: in\r\n\r\ninner body"));
	assert_int_equal(p->children[0]->lines, 2);
	assert_int_equal(p->children[1]->kind, MESSAGE_PART_BASIC);
	assert_null(p->children[1]->envelope);
	assert_int_equal(p->children[1]->child_count, 0);
	assert_sect(msg, "1", "Subject: in\r\n\r\ninner body");
	assert_sect(msg, "1.1", "inner body");
	assert_sect(msg, "1.1.MIME", "Subject: in\r\n\r\n");
	assert_sect(msg, "1.TEXT", "inner body");
	assert_sect(msg, "1.2", NULL);
	assert_sect(msg, "1.1.1", NULL);
	assert_sect(msg, "2", "U3ViamVjdDogeAoKeQo=");
	assert_sect(msg, "2.1", NULL);
	assert_sect(msg, "2.HEADER", NULL);
	message_free(&msg);
}

/* ---- Groups, odd addresses ---- */

static void
test_groups(void **state)
{
	static const char text[] =
	    "From: Joe <joe@j.test>\n"
	    "To: undisclosed-recipients:;\n"
	    "Cc: A Group: a@b.test, \"Ann\" <ann@c.test>;, d@e.test\n"
	    "Bcc: user, <@route.test:x@y.test>, z@w.test (Zed Comment)\n"
	    "Reply-To:\n"
	    "Sender: Sec <sec@j.test>\n"
	    "\n";
	struct message *msg = parse(text);
	const struct message_envelope *env = message_envelope(msg);

	(void)state;
	assert_int_equal(env->to.count, 2);
	assert_addr(&env->to.addrs[0], NULL, "undisclosed-recipients", NULL);
	assert_addr(&env->to.addrs[1], NULL, NULL, NULL);
	assert_int_equal(env->cc.count, 5);
	assert_addr(&env->cc.addrs[0], NULL, "A Group", NULL);
	assert_addr(&env->cc.addrs[1], NULL, "a", "b.test");
	assert_addr(&env->cc.addrs[2], "Ann", "ann", "c.test");
	assert_addr(&env->cc.addrs[3], NULL, NULL, NULL);
	assert_addr(&env->cc.addrs[4], NULL, "d", "e.test");
	assert_int_equal(env->bcc.count, 3);
	assert_addr(&env->bcc.addrs[0], NULL, "user", "MISSING_DOMAIN");
	assert_string_equal(env->bcc.addrs[1].mailbox, "x");
	assert_string_equal(env->bcc.addrs[1].host, "y.test");
	assert_string_equal(env->bcc.addrs[1].adl, "@route.test");
	assert_addr(&env->bcc.addrs[2], "Zed Comment", "z", "w.test");
	/* An empty Reply-To is From; a present Sender is kept. */
	assert_int_equal(env->reply_to.count, 1);
	assert_addr(&env->reply_to.addrs[0], "Joe", "joe", "j.test");
	assert_int_equal(env->sender.count, 1);
	assert_addr(&env->sender.addrs[0], "Sec", "sec", "j.test");
	message_free(&msg);
}

/* ---- RFC 2047 encoded words ---- */

static void
test_encoded_words(void **state)
{
	static const char text[] =
	    "From: =?iso-8859-1?q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>\r\n"
	    "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= aus\r\n"
	    "  =?ISO-8859-1?B?S/ZsbiE=?=\r\n"
	    "X-Plain: nothing encoded\r\n"
	    "\r\n"
	    "body\r\n";
	struct message *msg = parse(text);
	const struct message_envelope *env = message_envelope(msg);

	(void)state;
	/* The envelope keeps the raw form, as IMAP sends it. */
	assert_string_equal(env->subject,
	    "=?utf-8?q?Gr=C3=BC=C3=9Fe?= aus  =?ISO-8859-1?B?S/ZsbiE=?=");
	assert_addr(&env->from.addrs[0], "=?iso-8859-1?q?Andr=E9?= Pirard",
	    "PIRARD", "vm1.ulg.ac.be");
	/* SEARCH decodes first, then folds case. */
	assert_true(message_search_header(msg, "subject", "grüße"));
	/* Full case folding: "ß" is "ss". */
	assert_true(message_search_header(msg, "SUBJECT", "GRÜSSE AUS"));
	assert_true(message_search_header(msg, "Subject", "KÖLN!"));
	assert_false(message_search_header(msg, "Subject", "=?utf-8"));
	assert_true(message_search_header(msg, "From", "andré"));
	assert_true(message_search_header(msg, "from", "pirard@VM1"));
	assert_true(message_search_header(msg, "X-Plain", ""));
	assert_false(message_search_header(msg, "X-Absent", ""));
	assert_false(message_search_header(msg, "To", ""));
	assert_true(message_search_text(msg, "köln"));
	message_free(&msg);
}

/* ---- FROM, TO, CC, BCC: the addresses as parsed ---- */

static void
test_search_addresses(void **state)
{
	static const char text[] =
	    "From: <user (comment)@ (c) domain.org>\r\n"
	    "To: =?utf-8?q?J=C3=B6rg?= <j@x.org>, \"Q. Quoted\" <q@y.org>,\r\n"
	    "  plain@z.org (Owner =?iso-8859-1?q?K=F6ln?=)\r\n"
	    "Cc: Team: ann@t.org, bo@t.org;, bare\r\n"
	    "Bcc: \r\n"
	    "Bcc: late@b.org\r\n"
	    "\r\n"
	    "body\r\n";
	struct message *msg = parse(text);

	(void)state;
	/* Comments and white space inside the address are not its text. */
	assert_true(message_search_address(msg, "From", "user@domain.org"));
	assert_true(message_search_address(msg, "from", "USER@DOMAIN"));
	assert_false(message_search_address(msg, "From", "comment"));
	assert_false(message_search_address(msg, "From", "<user"));
	/* The raw field says otherwise: HEADER still searches it. */
	assert_false(message_search_header(msg, "From", "user@domain.org"));
	assert_true(message_search_header(msg, "From", "comment"));
	/* Display names decoded, case folded; name and address together. */
	assert_true(message_search_address(msg, "To", "jörg"));
	assert_true(message_search_address(msg, "To", "JÖRG <j@x.org>"));
	assert_false(message_search_address(msg, "To", "=?utf-8"));
	assert_true(message_search_address(msg, "To", "Q. Quoted <q@"));
	assert_false(message_search_address(msg, "To", "\"Q."));
	assert_true(message_search_address(msg, "To", "owner köln <plain@"));
	assert_false(message_search_address(msg, "To", "x.org, "));
	/* Groups by name and members; no placeholder for a missing domain. */
	assert_true(message_search_address(msg, "Cc", "team"));
	assert_true(message_search_address(msg, "Cc", "bo@t.org"));
	assert_true(message_search_address(msg, "Cc", "bare"));
	assert_false(message_search_address(msg, "Cc", "MISSING"));
	/* Every field of the name, an empty needle any such field. */
	assert_true(message_search_address(msg, "Bcc", "late@"));
	assert_true(message_search_address(msg, "Bcc", ""));
	assert_false(message_search_address(msg, "Reply-To", ""));
	assert_false(message_search_address(msg, "Sender", "user"));
	message_free(&msg);
}

/* ---- Missing fields ---- */

static void
test_missing_headers(void **state)
{
	struct message *msg;
	const struct message_envelope *env;
	const struct message_part *p;
	time_t t;
	int tz;

	(void)state;
	msg = parse("X-Only: 1\n\nbody\n");
	env = message_envelope(msg);
	assert_null(env->date);
	assert_null(env->subject);
	assert_int_equal(env->from.count, 0);
	assert_int_equal(env->sender.count, 0);
	assert_int_equal(env->reply_to.count, 0);
	assert_int_equal(env->to.count, 0);
	assert_int_equal(env->cc.count, 0);
	assert_int_equal(env->bcc.count, 0);
	assert_null(env->in_reply_to);
	assert_null(env->message_id);
	assert_int_equal(message_sent_date(msg, &t, &tz), -1);
	message_free(&msg);

	/* An empty Subject is an empty string, not NIL. */
	msg = parse("Subject:\n\n");
	assert_string_equal(message_envelope(msg)->subject, "");
	assert_int_equal(message_body(msg)->size, 0);
	assert_sect(msg, "TEXT", "");
	message_free(&msg);

	/* No header at all. */
	msg = parse("\nonly body\n");
	assert_sect(msg, "HEADER", "\r\n");
	assert_sect(msg, "TEXT", "only body\r\n");
	message_free(&msg);

	/* Nothing at all. */
	msg = parse("");
	p = message_body(msg);
	assert_int_equal(message_size(msg), 0);
	assert_int_equal(p->size, 0);
	assert_int_equal(p->kind, MESSAGE_PART_TEXT);
	assert_sect(msg, "", "");
	assert_sect(msg, "1", "");
	message_free(&msg);

	/* A header without the blank line, last line unterminated. */
	msg = parse("Subject: s\nTo: t@t.test");
	assert_string_equal(message_envelope(msg)->subject, "s");
	assert_sect(msg, "HEADER.FIELDS To", "To: t@t.test\r\n\r\n");
	assert_sect(msg, "TEXT", "");
	message_free(&msg);
}

/* ---- Line ends ---- */

static void
test_lf_and_crlf_agree(void **state)
{
	static const char lf[] =
	    "Subject: x\n"
	    "Content-Type: multipart/mixed; boundary=q\n"
	    "\n"
	    "--q\n"
	    "Content-Type: text/plain\n"
	    "\n"
	    "a\n"
	    "b\n"
	    "\n"
	    "--q--\n";
	char crlf[sizeof(lf) * 2];
	struct message *m1, *m2;
	const char *specs[] = { "", "HEADER", "TEXT", "1", "1.MIME",
		"HEADER.FIELDS subject" };
	size_t i, j = 0;

	(void)state;
	for (i = 0; lf[i] != '\0'; i++) {
		if (lf[i] == '\n')
			crlf[j++] = '\r';
		crlf[j++] = lf[i];
	}
	crlf[j] = '\0';
	m1 = parse(lf);
	m2 = parse(crlf);
	assert_int_equal(message_size(m1), strlen(crlf));
	assert_int_equal(message_size(m2), strlen(crlf));
	assert_int_equal(message_body(m1)->children[0]->size, 6);
	assert_int_equal(message_body(m2)->children[0]->size, 6);
	assert_int_equal(message_body(m1)->children[0]->lines, 2);
	assert_int_equal(message_body(m1)->size, message_body(m2)->size);
	assert_int_equal(message_body(m1)->lines, message_body(m2)->lines);
	for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		char *a = sect(m1, specs[i]), *b = sect(m2, specs[i]);

		assert_non_null(a);
		assert_non_null(b);
		assert_string_equal(a, b);
		free(a);
		free(b);
	}
	assert_sect(m1, "1", "a\r\nb\r\n");
	message_free(&m1);
	message_free(&m2);
}

/* ---- Charsets, quoted-printable ---- */

static void
test_search_charsets(void **state)
{
	static const char latin1_qp[] =
	    "Content-Type: text/plain; charset=iso-8859-1\n"
	    "Content-Transfer-Encoding: quoted-printable\n"
	    "\n"
	    "Un caf=E9 cr=E8me, s'il vous pla=EEt, soft=\n"
	    "break.\n";
	static const char latin1_8bit[] =
	    "Content-Type: text/plain; charset=\"ISO-8859-1\"\n"
	    "Content-Transfer-Encoding: 8bit\n"
	    "\n"
	    "Stra\xdf" "e in K\xf6ln\n";
	static const char unknown[] =
	    "Content-Type: text/plain; charset=x-no-such-charset\n"
	    "\n"
	    "plain ascii\n";
	struct message *msg;

	(void)state;
	msg = parse(latin1_qp);
	assert_search(message_search_body, msg,
	    STRINGS("CAFÉ CRÈME", "plaît", "softbreak"), STRINGS("caf=E9"));
	assert_search(message_search_text, msg, STRINGS("café"), none);
	message_free(&msg);

	msg = parse(latin1_8bit);
	assert_search(message_search_body, msg, STRINGS("köln", "straße"),
	    none);
	message_free(&msg);

	msg = parse(unknown);
	assert_search(message_search_body, msg, STRINGS("ASCII", ""), none);
	message_free(&msg);
}

/* ---- Dates ---- */

static void
test_sent_date(void **state)
{
	struct message *msg;
	time_t t;
	int tz;

	(void)state;
	msg = parse(simple_lf);
	assert_int_equal(message_sent_date(msg, &t, &tz), 0);
	/* 2003-07-01 08:52:37 UTC */
	assert_int_equal(t, 1057049557);
	assert_int_equal(tz, 2 * 3600);
	message_free(&msg);

	msg = parse("Date: Wed, 2 Jul 2003 08:00:00 -0700\n\n");
	assert_int_equal(message_sent_date(msg, &t, &tz), 0);
	assert_int_equal(t, 1057158000);
	assert_int_equal(tz, -7 * 3600);
	message_free(&msg);

	msg = parse("Date: not a date at all\n\n");
	assert_int_equal(message_sent_date(msg, &t, &tz), -1);
	message_free(&msg);
}

/* ---- Defaults and limits ---- */

static void
test_digest_default(void **state)
{
	static const char text[] =
	    "Content-Type: multipart/digest; boundary=d\n"
	    "\n"
	    "--d\n"
	    "\n"
	    "Subject: one\n"
	    "\n"
	    "first\n"
	    "--d--\n";
	struct message *msg = parse(text);
	const struct message_part *c = message_body(msg)->children[0];

	(void)state;
	assert_int_equal(c->kind, MESSAGE_PART_MESSAGE);
	assert_string_equal(c->type, "message");
	assert_string_equal(c->subtype, "rfc822");
	assert_int_equal(c->param_count, 0);
	assert_string_equal(c->envelope->subject, "one");
	assert_sect(msg, "1.1", "first");
	message_free(&msg);
}

static void
test_multipart_oddities(void **state)
{
	struct message *msg;

	(void)state;
	/* No boundary parameter, and no delimiter in the body. */
	msg = parse("Content-Type: multipart/mixed\n\nbody\n");
	assert_int_equal(message_body(msg)->kind, MESSAGE_PART_MULTIPART);
	assert_int_equal(message_body(msg)->child_count, 0);
	assert_sect(msg, "1", NULL);
	message_free(&msg);
	msg = parse("Content-Type: multipart/mixed; boundary=z\n\nbody\n");
	assert_int_equal(message_body(msg)->child_count, 0);
	assert_int_equal(message_body(msg)->size, 6);
	message_free(&msg);

	/* Nested multiparts with the same boundary: innermost first. */
	msg = parse("Content-Type: multipart/mixed; boundary=\"a\"\n"
	    "\n"
	    "--a\n"
	    "Content-Type: multipart/mixed; boundary=\"a\"\n"
	    "\n"
	    "--a\n"
	    "Content-Type: text/plain\n"
	    "\n"
	    "body\n");
	assert_int_equal(message_body(msg)->child_count, 1);
	assert_int_equal(message_body(msg)->children[0]->child_count, 1);
	assert_int_equal(message_body(msg)->children[0]->children[0]->size,
	    6);
	assert_sect(msg, "1.1", "body\r\n");
	message_free(&msg);

	/* An invalid Content-Type gives the default. */
	msg = parse("Content-Type: text\n\nx\n");
	assert_string_equal(message_body(msg)->type, "text");
	assert_string_equal(message_body(msg)->subtype, "plain");
	assert_param(&message_body(msg)->params[0], "charset", "us-ascii");
	message_free(&msg);
}

static void
test_depth_limit(void **state)
{
	struct buf b;
	struct message *msg = NULL;
	const char *error = NULL;
	int i;

	(void)state;
	/* MESSAGE_MIME_DEPTH_MAX levels parse, one more does not. */
	for (int depth = MESSAGE_MIME_DEPTH_MAX;
	    depth <= MESSAGE_MIME_DEPTH_MAX + 1; depth++) {
		buf_init(&b, 0);
		for (i = 1; i < depth; i++) {
			buf_printf(&b, "Content-Type: multipart/mixed; "
			    "boundary=b%d\n\n--b%d\n", i, i);
		}
		buf_printf(&b, "\ndeep\n");
		error = NULL;
		msg = NULL;
		if (depth == MESSAGE_MIME_DEPTH_MAX) {
			assert_int_equal(message_parse(b.data, b.len, &msg,
			    &error), 0);
			message_free(&msg);
		} else {
			assert_int_equal(message_parse(b.data, b.len, &msg,
			    &error), -1);
			assert_null(msg);
			assert_non_null(error);
		}
		buf_free(&b);
	}
}

static void
test_parts_limit(void **state)
{
	struct buf b;
	struct message *msg;
	const struct message_part *p;
	uint32_t last = MESSAGE_MIME_PARTS_MAX - 1;
	int i;

	(void)state;
	buf_init(&b, 0);
	buf_printf(&b, "Content-Type: multipart/mixed; boundary=b\n\n");
	for (i = 0; i < MESSAGE_MIME_PARTS_MAX + 5; i++)
		buf_printf(&b, "--b\n\n%d\n", i);
	buf_printf(&b, "--b--\n");
	msg = parse(buf_cstr(&b));
	p = message_body(msg);
	/* The top part counts too. */
	assert_int_equal(p->child_count, MESSAGE_MIME_PARTS_MAX - 1);
	assert_int_equal(p->size, crlf_len(buf_cstr(&b)) -
	    strlen("Content-Type: multipart/mixed; boundary=b\r\n\r\n"));
	{
		struct message_section s = { .parts = &last,
			.part_count = 1 };
		struct buf out;
		const char *error;

		buf_init(&out, 0);
		assert_int_equal(message_section_get(msg, &s, &out, &error),
		    0);
		assert_string_equal(buf_cstr(&out), "9998");
		buf_free(&out);
	}
	message_free(&msg);
	buf_free(&b);

	/* Parameters beyond the limit are dropped. */
	buf_init(&b, 0);
	buf_printf(&b, "Content-Type: text/plain");
	for (i = 0; i < MESSAGE_MIME_PARAMS_MAX + 10; i++)
		buf_printf(&b, "; p%d=v", i);
	buf_printf(&b, "\nContent-Language: ");
	for (i = 0; i < MESSAGE_MIME_PARAMS_MAX + 10; i++)
		buf_printf(&b, "l%d, ", i);
	buf_printf(&b, "\n\nbody\n");
	msg = parse(buf_cstr(&b));
	assert_int_equal(message_body(msg)->param_count,
	    MESSAGE_MIME_PARAMS_MAX);
	assert_int_equal(message_body(msg)->language_count,
	    MESSAGE_MIME_PARAMS_MAX);
	message_free(&msg);
	buf_free(&b);

	/* A message of more delimiter lines than that is refused before
	 * GMime builds a part for each; one line fewer is parsed. */
	for (i = 0; i < 2; i++) {
		const char *error = NULL;
		int n, lines = MESSAGE_DELIMITER_LINES_MAX + (i == 0 ? 1 : 0);

		buf_init(&b, 0);
		buf_printf(&b, "Content-Type: multipart/mixed; boundary=b\n\n");
		for (n = 0; n < lines; n++)
			buf_append_str(&b, "--b\n\n");
		msg = NULL;
		assert_int_equal(message_parse(b.data, b.len, &msg, &error),
		    i == 0 ? -1 : 0);
		if (i == 0)
			assert_string_equal(error,
			    "too many MIME delimiter lines");
		message_free(&msg);
		buf_free(&b);
	}
}

/* Malformed input parses into something, without reading out of
 * bounds (the sanitizer build checks that). */
static void
test_hostile(void **state)
{
	static const char *const texts[] = {
		"From: \"unterminated\nTo: (unterminated comment\n\n",
		"From: <<<>>>, ,,, @, :;, a:b:c;;, <@x\nCc: \"a\\\n\n",
		"To: g: (c) <a@b> (d), x y z <@r1,@r2:u@h>; trailing junk\n\n",
		"Content-Type: multipart/mixed; boundary=\"\"\n\n--\n--\n",
		"Content-Type: ; ; =; a=\"b\n\n",
		"Content-Type: text/plain; a*0*=x; a*1=%; a*2*=y; b*9=z\n\n",
		"Content-Type: multipart/mixed; boundary=a\n\n--a\r\r\n\r",
		"Content-Type: message/rfc822\n\n",
		"Content-Type: message/rfc822\n\nContent-Type: message/rfc822"
		    "\n\nContent-Type: multipart/x; boundary=q\n\n--q",
		"\r\r\r\n\n\n",
		" continuation first\n\n",
		"Subject\nno colon\n\n",
		"",
	};
	static const uint32_t parts[] = { 1, 1, 1, 1 };
	const enum message_section_kind kinds[] = {
		MESSAGE_SECTION_BODY, MESSAGE_SECTION_HEADER,
		MESSAGE_SECTION_HEADER_FIELDS,
		MESSAGE_SECTION_HEADER_FIELDS_NOT, MESSAGE_SECTION_TEXT,
		MESSAGE_SECTION_MIME,
	};
	const char *fields[] = { "subject", "" };
	size_t i, k, n;
	time_t t;
	int tz;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct message *msg = parse(texts[i]);

		(void)message_search_text(msg, "x");
		(void)message_search_body(msg, "");
		(void)message_search_header(msg, "To", "a");
		(void)message_search_address(msg, "To", "a");
		(void)message_sent_date(msg, &t, &tz);
		for (n = 0; n <= 4; n++) {
			for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]);
			    k++) {
				struct message_section s = {
					.parts = parts, .part_count = n,
					.kind = kinds[k], .fields = fields,
					.field_count = 2,
				};
				struct buf out;
				const char *error;

				buf_init(&out, 0);
				(void)message_section_get(msg, &s, &out,
				    &error);
				buf_free(&out);
			}
		}
		message_free(&msg);
	}
}

/* ---- Byte ranges around epilogues, line ends, odd header starts ---- */

static void
test_layouts(void **state)
{
	struct message *msg;
	const struct message_part *p;

	(void)state;
	/* An inner multipart's epilogue is part of its body, up to the
	 * outer delimiter. */
	msg = parse("Content-Type: multipart/mixed; boundary=x\n"
	    "\n"
	    "--x\n"
	    "Content-Type: multipart/mixed; boundary=y\n"
	    "\n"
	    "--y\n"
	    "\n"
	    "A\n"
	    "--y--\n"
	    "epi y\r\n"
	    "\n"
	    "--x\n"
	    "\n"
	    "B\n"
	    "--x--\n");
	p = message_body(msg);
	assert_int_equal(p->child_count, 2);
	assert_int_equal(p->children[0]->kind, MESSAGE_PART_MULTIPART);
	assert_sect(msg, "1", "--y\r\n\r\nA\r\n--y--\r\nepi y\r\n");
	assert_int_equal(p->children[0]->size, 24);
	assert_sect(msg, "1.1", "A");
	assert_sect(msg, "2", "B");
	assert_sect(msg, "2.MIME", "\r\n");
	message_free(&msg);

	/* Parts in LF and CRLF in one message. */
	msg = parse("Content-Type: multipart/mixed; boundary=x\n"
	    "\n"
	    "--x\n"
	    "\n"
	    "lf body\n"
	    "--x\r\n"
	    "\r\n"
	    "crlf body\r\n"
	    "--x--\n");
	assert_sect(msg, "1", "lf body");
	assert_sect(msg, "2", "crlf body");
	message_free(&msg);

	/* An mbox From line or a stray line before the first field is part
	 * of the header, but not a field. */
	msg = parse("From someone Mon Jan 1\nSubject: mbox\n\nbody\n");
	assert_string_equal(message_envelope(msg)->subject, "mbox");
	assert_sect(msg, "HEADER",
	    "From someone Mon Jan 1\r\nSubject: mbox\r\n\r\n");
	assert_sect(msg, "HEADER.FIELDS Subject", "Subject: mbox\r\n\r\n");
	assert_sect(msg, "TEXT", "body\r\n");
	message_free(&msg);
	msg = parse("garbage line\nSubject: after\nFrom: a@b.c\n\nbody\n");
	assert_string_equal(message_envelope(msg)->subject, "after");
	assert_addr(&message_envelope(msg)->from.addrs[0], NULL, "a", "b.c");
	assert_sect(msg, "HEADER.FIELDS.NOT Subject", "From: a@b.c\r\n\r\n");
	assert_sect(msg, "TEXT", "body\r\n");
	message_free(&msg);

	/* An RFC 2231 extended parameter stays encoded, in its charset. */
	msg = parse("Content-Disposition: attachment;"
	    " filename*=iso-8859-1'fr'caf%E9.txt\n\nbody\n");
	p = message_body(msg);
	assert_int_equal(p->disposition_param_count, 1);
	assert_param(&p->disposition_params[0], "filename*",
	    "iso-8859-1'fr'caf%E9.txt");
	message_free(&msg);
}

static void
test_parse_file(void **state)
{
	char path[] = "/tmp/mailbell-message-test.XXXXXX";
	struct message *msg = NULL;
	const char *error = NULL;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, simple_lf, strlen(simple_lf)),
	    (ssize_t)strlen(simple_lf));
	close(fd);
	assert_int_equal(message_parse_file(path, &msg, &error), 0);
	assert_int_equal(message_size(msg), strlen(simple_lf) + 10);
	assert_string_equal(message_envelope(msg)->subject, "Test folded");
	message_free(&msg);
	unlink(path);
	assert_int_equal(message_parse_file(path, &msg, &error), -1);
	assert_non_null(error);
	assert_null(msg);
}

static int
teardown_lib(void **state)
{
	(void)state;
	message_lib_deinit();
	return 0;
}

/* BINARY[part] (RFC 3516): base64 and quoted-printable undone (NULs
 * kept, hard breaks CRLF even from an LF file), 7bit as BODY[] has it,
 * an unknown encoding (uuencode too, which is no MIME one) -2, a
 * missing part -1. */
static void
test_binary_get(void **state)
{
	static const char text[] =
	    "Subject: b\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=x\n\n"
	    "--x\nContent-Transfer-Encoding: base64\n\nAAEC/w==\n"
	    "--x\nContent-Transfer-Encoding: Quoted-Printable\n\n"
	    "caf=C3=A9=\nau lait\nnext\n"
	    "--x\n\nplain\nlines\n"
	    "--x\nContent-Transfer-Encoding: x-rot13\n\nnopq\n"
	    "--x\nContent-Transfer-Encoding: x-uuencode\n\n"
	    "begin 644 a\n!80``\n`\nend\n"
	    "--x--\n";
	struct message *msg;
	const char *error;
	struct buf out;
	uint32_t part;

	(void)state;
	msg = parse(text);
	buf_init(&out, 0);
	part = 1;
	assert_int_equal(message_binary_get(msg, &part, 1, &out, &error), 0);
	assert_int_equal(out.len, 4);
	assert_memory_equal(out.data, "\x00\x01\x02\xff", 4);
	buf_reset(&out);
	part = 2;
	assert_int_equal(message_binary_get(msg, &part, 1, &out, &error), 0);
	assert_string_equal(buf_cstr(&out), "caf\xc3\xa9" "au lait\r\nnext");
	buf_reset(&out);
	part = 3;
	assert_int_equal(message_binary_get(msg, &part, 1, &out, &error), 0);
	assert_string_equal(buf_cstr(&out), "plain\r\nlines");
	buf_reset(&out);
	part = 4;
	assert_int_equal(message_binary_get(msg, &part, 1, &out, &error), -2);
	part = 5;
	assert_int_equal(message_binary_get(msg, &part, 1, &out, &error), -2);
	part = 6;
	assert_int_equal(message_binary_get(msg, &part, 1, &out, &error), -1);
	buf_reset(&out);
	assert_int_equal(message_binary_get(msg, NULL, 0, &out, &error), 0);
	assert_int_equal(out.len, message_size(msg));
	buf_free(&out);
	message_free(&msg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_envelope),
		cmocka_unit_test(test_simple_structure),
		cmocka_unit_test(test_simple_sections),
		cmocka_unit_test(test_alternative),
		cmocka_unit_test(test_mixed_attachment),
		cmocka_unit_test(test_nested_message),
		cmocka_unit_test(test_nested_simple),
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_encoded_words),
		cmocka_unit_test(test_search_addresses),
		cmocka_unit_test(test_missing_headers),
		cmocka_unit_test(test_lf_and_crlf_agree),
		cmocka_unit_test(test_search_charsets),
		cmocka_unit_test(test_sent_date),
		cmocka_unit_test(test_digest_default),
		cmocka_unit_test(test_multipart_oddities),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_parts_limit),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_layouts),
		cmocka_unit_test(test_parse_file),
		cmocka_unit_test(test_binary_get),
	};

	return cmocka_run_group_tests(tests, NULL, teardown_lib);
}
