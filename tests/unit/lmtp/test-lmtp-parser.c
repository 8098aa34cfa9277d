/* Unit tests for the LMTP command parser and DATA decoder, fed whole and
 * byte by byte. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lmtp/lmtp-parser.h"

/* ---- helpers ---- */

/*
 * Feed line one byte at a time: every byte but the last must need more,
 * the last must finish (1) or fail (-1) as expected. Returns that result.
 */
static int
feed_bytewise(struct lmtp_parser *parser, const char *line,
    struct lmtp_command *cmd)
{
	size_t len = strlen(line), consumed;
	int ret = 0;

	for (size_t i = 0; i < len; i++) {
		ret = lmtp_parser_feed(parser, (const unsigned char *)line + i,
		    1, &consumed, cmd);
		assert_int_equal(consumed, 1);
		if (i + 1 < len)
			assert_int_equal(ret, 0);
	}
	return ret;
}

/* Feed line in one call; it must be used up exactly. */
static int
feed_whole(struct lmtp_parser *parser, const char *line,
    struct lmtp_command *cmd)
{
	size_t consumed;
	int ret;

	ret = lmtp_parser_feed(parser, (const unsigned char *)line,
	    strlen(line), &consumed, cmd);
	assert_int_equal(consumed, strlen(line));
	return ret;
}

static struct lmtp_parser *
parser_new(void)
{
	return lmtp_parser_new(LMTP_LINE_MAX);
}

/* ---- command lines ---- */

static void
test_every_verb_bytewise(void **state)
{
	static const struct {
		const char *line;
		enum lmtp_verb verb;
		const char *arg;
	} cases[] = {
		{ "LHLO client.example\r\n", LMTP_VERB_LHLO, "client.example" },
		{ "HELO client.example\r\n", LMTP_VERB_HELO, "client.example" },
		{ "EHLO client.example\r\n", LMTP_VERB_EHLO, "client.example" },
		{ "MAIL FROM:<a@b.example>\r\n", LMTP_VERB_MAIL, NULL },
		{ "RCPT TO:<c@d.example>\r\n", LMTP_VERB_RCPT, NULL },
		{ "DATA\r\n", LMTP_VERB_DATA, "" },
		{ "RSET\r\n", LMTP_VERB_RSET, "" },
		{ "NOOP\r\n", LMTP_VERB_NOOP, "" },
		{ "NOOP hello there\r\n", LMTP_VERB_NOOP, "hello there" },
		{ "QUIT\r\n", LMTP_VERB_QUIT, "" },
		{ "VRFY alice\r\n", LMTP_VERB_VRFY, "alice" },
		{ "HELP\r\n", LMTP_VERB_HELP, "" },
		{ "STARTTLS\r\n", LMTP_VERB_STARTTLS, "" },
		{ "starttls\r\n", LMTP_VERB_STARTTLS, "" },
	};
	struct lmtp_parser *parser = parser_new();
	struct lmtp_command cmd;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(feed_bytewise(parser, cases[i].line, &cmd), 1);
		assert_int_equal(cmd.verb, cases[i].verb);
		if (cases[i].arg != NULL)
			assert_string_equal(cmd.arg, cases[i].arg);
		/* The same line in one piece gives the same answer. */
		assert_int_equal(feed_whole(parser, cases[i].line, &cmd), 1);
		assert_int_equal(cmd.verb, cases[i].verb);
	}
	lmtp_parser_free(&parser);
	assert_null(parser);
}

static void
test_case_insensitive(void **state)
{
	struct lmtp_parser *parser = parser_new();
	struct lmtp_command cmd;

	(void)state;
	assert_int_equal(feed_bytewise(parser, "lhlo x\r\n", &cmd), 1);
	assert_int_equal(cmd.verb, LMTP_VERB_LHLO);
	assert_int_equal(feed_bytewise(parser,
	    "mAiL fRoM:<Alice@Example.COM> size=42 body=8bitmime\r\n", &cmd), 1);
	assert_int_equal(cmd.verb, LMTP_VERB_MAIL);
	assert_string_equal(cmd.path, "Alice@Example.COM");
	assert_true(cmd.has_size);
	assert_int_equal(cmd.size, 42);
	assert_int_equal(cmd.body, LMTP_BODY_8BITMIME);
	assert_int_equal(feed_bytewise(parser, "rcpt to:<bob>\r\n", &cmd), 1);
	assert_int_equal(cmd.verb, LMTP_VERB_RCPT);
	assert_string_equal(cmd.path, "bob");
	assert_int_equal(feed_bytewise(parser, "quit\r\n", &cmd), 1);
	assert_int_equal(cmd.verb, LMTP_VERB_QUIT);
	lmtp_parser_free(&parser);
}

static void
test_mail_params(void **state)
{
	struct lmtp_parser *parser = parser_new();
	struct lmtp_command cmd;

	(void)state;
	assert_int_equal(feed_bytewise(parser, "MAIL FROM:<a@b>\r\n", &cmd), 1);
	assert_false(cmd.has_size);
	assert_int_equal(cmd.body, LMTP_BODY_NONE);
	assert_false(cmd.null_path);

	assert_int_equal(feed_bytewise(parser,
	    "MAIL FROM:<a@b> BODY=7BIT  SIZE=18446744073709551615\r\n",
	    &cmd), 1);
	assert_int_equal(cmd.body, LMTP_BODY_7BIT);
	assert_true(cmd.size == UINT64_MAX);

	/* Parameters we do not implement (555). */
	assert_int_equal(feed_bytewise(parser,
	    "MAIL FROM:<a@b> RET=FULL\r\n", &cmd), -1);
	assert_int_equal(cmd.error, LMTP_PARSE_ERROR_PARAM_UNKNOWN);
	assert_int_equal(feed_bytewise(parser,
	    "RCPT TO:<a@b> NOTIFY=NEVER\r\n", &cmd), -1);
	assert_int_equal(cmd.error, LMTP_PARSE_ERROR_PARAM_UNKNOWN);
	assert_int_equal(feed_bytewise(parser,
	    "RCPT TO:<a@b> SIZE=1\r\n", &cmd), -1);
	assert_int_equal(cmd.error, LMTP_PARSE_ERROR_PARAM_UNKNOWN);
	lmtp_parser_free(&parser);
}

static void
test_paths(void **state)
{
	struct lmtp_parser *parser = parser_new();
	struct lmtp_command cmd;

	(void)state;
	assert_int_equal(feed_bytewise(parser, "MAIL FROM:<>\r\n", &cmd), 1);
	assert_true(cmd.null_path);
	assert_string_equal(cmd.path, "");
	assert_string_equal(cmd.path_raw, "");

	assert_int_equal(feed_bytewise(parser,
	    "MAIL FROM:<\"john \\\"q\\\" doe\"@x.example>\r\n", &cmd), 1);
	assert_string_equal(cmd.path, "john \"q\" doe@x.example");
	assert_string_equal(cmd.path_raw, "\"john \\\"q\\\" doe\"@x.example");

	/* A source route is accepted and dropped (RFC 5321 4.1.1.3). */
	assert_int_equal(feed_bytewise(parser,
	    "RCPT TO:<@relay.example,@r2.example:alice@example.com>\r\n",
	    &cmd), 1);
	assert_string_equal(cmd.path, "alice@example.com");
	assert_string_equal(cmd.path_raw, "alice@example.com");

	/* Space after the colon, address literal. */
	assert_int_equal(feed_bytewise(parser,
	    "RCPT TO: <bob@[127.0.0.1]>\r\n", &cmd), 1);
	assert_string_equal(cmd.path, "bob@[127.0.0.1]");

	assert_int_equal(feed_bytewise(parser,
	    "RCPT TO:<first.last+tag@sub.example.org>\r\n", &cmd), 1);
	assert_string_equal(cmd.path, "first.last+tag@sub.example.org");
	lmtp_parser_free(&parser);
}

/* Lines refused as syntax errors (501), on one parser in a row. */
static const struct {
	const char *line;
	enum lmtp_verb verb;	/* the verb reported; LMTP_VERB_NONE: any */
} syntax_errors[] = {
	/* Bad MAIL parameter values. */
	{ "MAIL FROM:<a@b> SIZE=abc\r\n", LMTP_VERB_MAIL },
	{ "MAIL FROM:<a@b> SIZE=\r\n", LMTP_VERB_MAIL },
	{ "MAIL FROM:<a@b> SIZE\r\n", LMTP_VERB_MAIL },
	{ "MAIL FROM:<a@b> SIZE=-1\r\n", LMTP_VERB_MAIL },
	{ "MAIL FROM:<a@b> SIZE=18446744073709551616\r\n", LMTP_VERB_MAIL },
	{ "MAIL FROM:<a@b> SIZE=1 SIZE=2\r\n", LMTP_VERB_MAIL },
	{ "MAIL FROM:<a@b> BODY=BINARYMIME\r\n", LMTP_VERB_MAIL },
	{ "MAIL FROM:<a@b> BODY=7BIT BODY=8BITMIME\r\n", LMTP_VERB_MAIL },
	{ "MAIL FROM:<a@b> =x\r\n", LMTP_VERB_MAIL },
	{ "MAIL FROM:<a@b>SIZE=1\r\n", LMTP_VERB_MAIL },
	{ "MAIL FROM:<a@b> SIZE=1=2\r\n", LMTP_VERB_MAIL },
	/* Bad paths. */
	{ "MAIL FROM:a@b\r\n", LMTP_VERB_NONE },	/* missing brackets */
	{ "MAIL FROM:<a@b\r\n", LMTP_VERB_NONE },
	{ "MAIL FROM:a@b>\r\n", LMTP_VERB_NONE },
	{ "MAIL FROM:\r\n", LMTP_VERB_NONE },
	{ "MAIL\r\n", LMTP_VERB_NONE },
	{ "MAIL TO:<a@b>\r\n", LMTP_VERB_NONE },
	{ "RCPT FROM:<a@b>\r\n", LMTP_VERB_NONE },
	{ "RCPT TO:<a@>\r\n", LMTP_VERB_NONE },
	{ "RCPT TO:<@b>\r\n", LMTP_VERB_NONE },
	{ "RCPT TO:<a b@c>\r\n", LMTP_VERB_NONE },
	{ "RCPT TO:<\"a@b>\r\n", LMTP_VERB_NONE },
	{ "RCPT TO:<a@b c>\r\n", LMTP_VERB_NONE },
	{ "RCPT TO:<a@b>x\r\n", LMTP_VERB_NONE },
	{ "RCPT TO:<a@[1.2.3.4>\r\n", LMTP_VERB_NONE },
	{ "RCPT TO:<a\x01@b>\r\n", LMTP_VERB_NONE },
	{ "RCPT TO:<\"a\x7f\"@b>\r\n", LMTP_VERB_NONE },
	{ "RCPT TO:<\xc3\xa9@b>\r\n", LMTP_VERB_NONE },
};

static void
test_syntax_errors(void **state)
{
	struct lmtp_parser *parser = parser_new();
	struct lmtp_command cmd;

	(void)state;
	for (size_t i = 0; i < sizeof(syntax_errors) / sizeof(syntax_errors[0]);
	    i++) {
		assert_int_equal(feed_bytewise(parser, syntax_errors[i].line,
		    &cmd), -1);
		assert_int_equal(cmd.error, LMTP_PARSE_ERROR_SYNTAX);
		if (syntax_errors[i].verb != LMTP_VERB_NONE)
			assert_int_equal(cmd.verb, syntax_errors[i].verb);
		assert_non_null(cmd.error_text);
	}
	lmtp_parser_free(&parser);
}

static void
test_path_too_long(void **state)
{
	struct lmtp_parser *parser = parser_new();
	struct lmtp_command cmd;
	char line[LMTP_LINE_MAX], local[ADDRESS_MAX + 2];

	(void)state;
	/* Exactly ADDRESS_MAX is fine... */
	memset(local, 'a', ADDRESS_MAX - 2);
	local[ADDRESS_MAX - 2] = '\0';
	snprintf(line, sizeof(line), "RCPT TO:<%s@b>\r\n", local);
	assert_int_equal(feed_whole(parser, line, &cmd), 1);
	assert_int_equal(strlen(cmd.path), ADDRESS_MAX);
	/* ...one more is not. */
	memset(local, 'a', ADDRESS_MAX - 1);
	local[ADDRESS_MAX - 1] = '\0';
	snprintf(line, sizeof(line), "RCPT TO:<%s@b>\r\n", local);
	assert_int_equal(feed_whole(parser, line, &cmd), -1);
	assert_int_equal(cmd.error, LMTP_PARSE_ERROR_SYNTAX);
	snprintf(line, sizeof(line), "RCPT TO:<%saa>\r\n", local);
	assert_int_equal(feed_whole(parser, line, &cmd), -1);
	lmtp_parser_free(&parser);
}

static void
test_argument_errors(void **state)
{
	static const char *syntax[] = {
		"LHLO\r\n", "LHLO a b\r\n", "VRFY\r\n", "DATA now\r\n",
		"RSET x\r\n", "QUIT please\r\n", "STARTTLS now\r\n",
	};
	static const char *unknown[] = {
		"\r\n", "FOO\r\n", "STARTTLSX\r\n", "DATAX\r\n", "DAT\r\n",
		"GET /\r\n", "MAIL:FROM<a@b>\r\n", "1234\r\n",
		" NOOP\r\n",
	};
	struct lmtp_parser *parser = parser_new();
	struct lmtp_command cmd;

	(void)state;
	for (size_t i = 0; i < sizeof(syntax) / sizeof(syntax[0]); i++) {
		assert_int_equal(feed_bytewise(parser, syntax[i], &cmd), -1);
		assert_int_equal(cmd.error, LMTP_PARSE_ERROR_SYNTAX);
		assert_int_not_equal(cmd.verb, LMTP_VERB_NONE);
	}
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		assert_int_equal(feed_bytewise(parser, unknown[i], &cmd), -1);
		assert_int_equal(cmd.error, LMTP_PARSE_ERROR_UNKNOWN);
		assert_int_equal(cmd.verb, LMTP_VERB_NONE);
	}
	/* An HTTP request is told apart, so the session can hang up. */
	assert_int_equal(feed_bytewise(parser, "GET / HTTP/1.0\r\n", &cmd),
	    -1);
	assert_int_equal(cmd.error, LMTP_PARSE_ERROR_CROSS_PROTOCOL);
	assert_int_equal(feed_bytewise(parser,
	    "POST /x HTTP/1.1\r\n", &cmd), -1);
	assert_int_equal(cmd.error, LMTP_PARSE_ERROR_CROSS_PROTOCOL);

	/* Trailing white space is forgiven. */
	assert_int_equal(feed_bytewise(parser, "QUIT \t \r\n", &cmd), 1);
	assert_int_equal(cmd.verb, LMTP_VERB_QUIT);
	lmtp_parser_free(&parser);
}

static void
test_bare_lf(void **state)
{
	struct lmtp_parser *parser = parser_new();
	struct lmtp_command cmd;

	(void)state;
	assert_int_equal(feed_bytewise(parser, "NOOP\n", &cmd), 1);
	assert_int_equal(cmd.verb, LMTP_VERB_NOOP);
	assert_int_equal(feed_bytewise(parser, "RCPT TO:<a@b>\n", &cmd), 1);
	assert_string_equal(cmd.path, "a@b");
	lmtp_parser_free(&parser);
}

static void
test_pipelined(void **state)
{
	const char *in = "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nx";
	struct lmtp_parser *parser = parser_new();
	struct lmtp_command cmd;
	size_t consumed, off = 0;

	(void)state;
	assert_int_equal(lmtp_parser_feed(parser, (const unsigned char *)in,
	    strlen(in), &consumed, &cmd), 1);
	assert_int_equal(cmd.verb, LMTP_VERB_MAIL);
	assert_int_equal(consumed, strlen("MAIL FROM:<a@b>\r\n"));
	off += consumed;
	assert_int_equal(lmtp_parser_feed(parser, (const unsigned char *)in +
	    off, strlen(in) - off, &consumed, &cmd), 1);
	assert_int_equal(cmd.verb, LMTP_VERB_RCPT);
	assert_string_equal(cmd.path, "c@d");
	off += consumed;
	assert_int_equal(lmtp_parser_feed(parser, (const unsigned char *)in +
	    off, strlen(in) - off, &consumed, &cmd), 1);
	assert_int_equal(cmd.verb, LMTP_VERB_DATA);
	off += consumed;
	/* Only the message byte is left: the caller decides what it is. */
	assert_int_equal(strlen(in) - off, 1);
	lmtp_parser_free(&parser);
}

static void
test_line_limit(void **state)
{
	struct lmtp_parser *parser = lmtp_parser_new(16);
	struct lmtp_command cmd;
	size_t consumed;
	int ret;

	(void)state;
	/* 16 bytes exactly: accepted. */
	assert_int_equal(feed_bytewise(parser, "NOOP 56789abcdef\r\n", &cmd),
	    1);
	assert_string_equal(cmd.arg, "56789abcdef");

	/* The 17th byte is refused at once... */
	const char *longline = "NOOP 56789abcdefg and more\r\n";
	for (size_t i = 0; i < 17; i++) {
		ret = lmtp_parser_feed(parser,
		    (const unsigned char *)longline + i, 1, &consumed, &cmd);
		assert_int_equal(consumed, 1);
		assert_int_equal(ret, i < 16 ? 0 : -1);
	}
	assert_int_equal(cmd.error, LMTP_PARSE_ERROR_LINE_TOO_LONG);
	/* ...the rest of the line is skipped silently... */
	for (size_t i = 17; i < strlen(longline); i++) {
		ret = lmtp_parser_feed(parser,
		    (const unsigned char *)longline + i, 1, &consumed, &cmd);
		assert_int_equal(ret, 0);
		assert_int_equal(consumed, 1);
	}
	/* ...and the next line parses. */
	assert_int_equal(feed_bytewise(parser, "RSET\r\n", &cmd), 1);
	assert_int_equal(cmd.verb, LMTP_VERB_RSET);

	/* In one feed: the error, then skipping, then the next command. */
	const char *in = "XXXXXXXXXXXXXXXXXXXXXXXXXXXX\r\nQUIT\r\n";
	assert_int_equal(lmtp_parser_feed(parser, (const unsigned char *)in,
	    strlen(in), &consumed, &cmd), -1);
	assert_int_equal(consumed, 17);
	assert_int_equal(lmtp_parser_feed(parser,
	    (const unsigned char *)in + 17, strlen(in) - 17, &consumed, &cmd),
	    1);
	assert_int_equal(cmd.verb, LMTP_VERB_QUIT);
	assert_int_equal(consumed, strlen(in) - 17);
	lmtp_parser_free(&parser);
}

static void
test_nul_and_bare_cr(void **state)
{
	struct lmtp_parser *parser = parser_new();
	struct lmtp_command cmd;
	size_t consumed;

	(void)state;
	static const unsigned char nul[] = "NO\0OP\r\nNOOP\r\n";
	assert_int_equal(lmtp_parser_feed(parser, nul, sizeof(nul) - 1,
	    &consumed, &cmd), -1);
	assert_int_equal(cmd.error, LMTP_PARSE_ERROR_NUL);
	assert_int_equal(consumed, 3);
	assert_int_equal(lmtp_parser_feed(parser, nul + 3, sizeof(nul) - 4,
	    &consumed, &cmd), 1);
	assert_int_equal(cmd.verb, LMTP_VERB_NOOP);
	assert_int_equal(consumed, sizeof(nul) - 4);

	assert_int_equal(feed_bytewise(parser, "NOOP\rX", &cmd), -1);
	assert_int_equal(cmd.error, LMTP_PARSE_ERROR_BARE_CR);
	assert_int_equal(feed_whole(parser, "YZ\r\n", &cmd), 0);
	assert_int_equal(feed_bytewise(parser, "NOOP\r\r", &cmd), -1);
	assert_int_equal(cmd.error, LMTP_PARSE_ERROR_BARE_CR);
	/* The LF after the second CR ends the skipped line. */
	assert_int_equal(feed_whole(parser, "\n", &cmd), 0);
	assert_int_equal(feed_bytewise(parser, "QUIT\r\n", &cmd), 1);
	assert_int_equal(cmd.verb, LMTP_VERB_QUIT);
	lmtp_parser_free(&parser);
}

static void
test_recovery_after_syntax_error(void **state)
{
	struct lmtp_parser *parser = parser_new();
	struct lmtp_command cmd;
	const char *in = "MAIL FROM:a@b\r\nMAIL FROM:<a@b>\r\n";
	size_t consumed;

	(void)state;
	assert_int_equal(lmtp_parser_feed(parser, (const unsigned char *)in,
	    strlen(in), &consumed, &cmd), -1);
	/* A syntax error is reported when its line has ended. */
	assert_int_equal(consumed, strlen("MAIL FROM:a@b\r\n"));
	assert_int_equal(feed_whole(parser, in + consumed, &cmd), 1);
	assert_string_equal(cmd.path, "a@b");

	/* A partial line is dropped by reset. */
	assert_int_equal(feed_whole(parser, "GARB", &cmd), 0);
	lmtp_parser_reset(parser);
	assert_int_equal(feed_whole(parser, "NOOP\r\n", &cmd), 1);
	lmtp_parser_free(&parser);
	lmtp_parser_free(&parser);	/* harmless */
}

/* ---- message data ---- */

/* Feed in bytewise; the last byte must end the data, which must then
 * have the error want (LMTP_DATA_OK: none). */
static void
data_bytewise(struct lmtp_data *data, const char *in, size_t len,
    enum lmtp_data_error want)
{
	size_t consumed;
	int ret;

	for (size_t i = 0; i < len; i++) {
		ret = lmtp_data_feed(data, (const unsigned char *)in + i, 1,
		    &consumed);
		assert_int_equal(consumed, 1);
		assert_int_equal(ret, i + 1 < len ? 0 : 1);
	}
	assert_int_equal(lmtp_data_error(data), want);
}

/* Take the decoded message: want_len bytes, equal to want unless want
 * is NULL. */
static void
expect_message(struct lmtp_data *data, const char *want, size_t want_len)
{
	size_t len;
	unsigned char *msg = lmtp_data_steal(data, &len);

	assert_int_equal(len, want_len);
	if (want != NULL)
		assert_memory_equal(msg, want, len);
	free(msg);
}

/* Decode in (bytewise and whole) and compare with want. */
static void
check_decode(const char *in, const char *want)
{
	struct lmtp_data *data = lmtp_data_new(1024, 100);
	size_t consumed;

	data_bytewise(data, in, strlen(in), LMTP_DATA_OK);
	assert_int_equal(lmtp_data_size(data), strlen(want));
	expect_message(data, want, strlen(want));

	assert_int_equal(lmtp_data_feed(data, (const unsigned char *)in,
	    strlen(in), &consumed), 1);
	assert_int_equal(consumed, strlen(in));
	expect_message(data, want, strlen(want));
	lmtp_data_free(&data);
	assert_null(data);
}

static void
test_data_plain(void **state)
{
	(void)state;
	check_decode("Subject: hi\r\n\r\nbody\r\n.\r\n",
	    "Subject: hi\r\n\r\nbody\r\n");
	check_decode(".\r\n", "");
	check_decode("\r\n.\r\n", "\r\n");
	check_decode("no newline at all\r\n.\r\n", "no newline at all\r\n");
}

static void
test_data_unstuffing(void **state)
{
	(void)state;
	check_decode("a\r\n..\r\nb\r\n.\r\n", "a\r\n.\r\nb\r\n");
	check_decode("a\r\n..x\r\n...\r\n.\r\n", "a\r\n.x\r\n..\r\n");
	/* ".." at the very start of the data. */
	check_decode("..\r\n.\r\n", ".\r\n");
	check_decode("..hidden\r\nx\r\n.\r\n", ".hidden\r\nx\r\n");
	/* A dot that is not at a line start stays. */
	check_decode("a.b\r\n a .\r\n.\r\n", "a.b\r\n a .\r\n");
	/* ".x" was not stuffed by a sloppy client: the dot still goes. */
	check_decode(".x\r\n.\r\n", "x\r\n");
}

/* Decode in (bytewise and whole): it must end where want_end says, with
 * the error want, whatever the bytes before. */
static void
check_refused(const char *in, size_t want_end, enum lmtp_data_error want)
{
	struct lmtp_data *data = lmtp_data_new(1024, 100);
	size_t consumed;

	data_bytewise(data, in, want_end, want);
	lmtp_data_reset(data);
	assert_int_equal(lmtp_data_feed(data, (const unsigned char *)in,
	    strlen(in), &consumed), 1);
	assert_int_equal(consumed, want_end);
	assert_int_equal(lmtp_data_error(data), want);
	lmtp_data_free(&data);
}

static void
test_data_line_ends(void **state)
{
	(void)state;
	/* Bare CR is text. */
	check_decode("a\rb\r\n.\r\n", "a\rb\r\n");
	check_decode("a\r\r\n.\r\n", "a\r\r\n");
	check_decode(".\rX\r\n.\r\n", "\rX\r\n");
	check_decode("x\r\n.\r.\r\n.\r\n", "x\r\n\r.\r\n");
	/* A bare LF never ends a line: the message is refused, but read to
	 * its real end. */
	check_refused("a\nb\r\n.\r\n", 8, LMTP_DATA_ERROR_BARE_LF);
	check_refused("\n.\r\n.\r\n", 7, LMTP_DATA_ERROR_BARE_LF);
}

/*
 * SMTP smuggling: only CR LF "." CR LF ends the data. Each of the
 * other endings that some MTAs accept is fed byte by byte and whole; the
 * data must run on to the real end and count as one message.
 */
static void
test_data_smuggling(void **state)
{
	static const struct {
		const char *in;
		enum lmtp_data_error want;
	} cases[] = {
		{ "line\n.\r\nMAIL FROM:<evil@x>\r\n.\r\n",
		    LMTP_DATA_ERROR_BARE_LF },
		{ "line\r\n.\nMAIL FROM:<evil@x>\r\n.\r\n",
		    LMTP_DATA_ERROR_BARE_LF },
		{ "line\n.\nMAIL FROM:<evil@x>\r\n.\r\n",
		    LMTP_DATA_ERROR_BARE_LF },
		{ "line\r.\r\nMAIL FROM:<evil@x>\r\n.\r\n", LMTP_DATA_OK },
		{ "\n.\n\r\n.\r\n", LMTP_DATA_ERROR_BARE_LF },
		{ ".\n.\r\n.\r\n", LMTP_DATA_ERROR_BARE_LF },
	};
	struct lmtp_data *data;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* Trailing bytes after the end are not consumed. */
		char in[128];

		snprintf(in, sizeof(in), "%sQUIT\r\n", cases[i].in);
		check_refused(in, strlen(cases[i].in), cases[i].want);
	}

	/* A bare CR before a dot keeps both as text. */
	check_decode("line\r.\r\nnext\r\n.\r\n", "line\r.\r\nnext\r\n");

	/* After a refused message the next one decodes normally. */
	data = lmtp_data_new(1024, 100);
	data_bytewise(data, "a\n.\r\n.\r\n", 8, LMTP_DATA_ERROR_BARE_LF);
	lmtp_data_reset(data);
	data_bytewise(data, "ok\r\n.\r\n", 7, LMTP_DATA_OK);
	expect_message(data, "ok\r\n", 4);
	lmtp_data_free(&data);
}

static void
test_data_split_feeds(void **state)
{
	struct lmtp_data *data = lmtp_data_new(1024, 100);
	size_t consumed;
	const char *parts[] = { "line one\r", "\nline two\r\n", ".", ".x\r",
	    "\n", ".", "\r", "\n" };

	(void)state;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		int ret = lmtp_data_feed(data,
		    (const unsigned char *)parts[i], strlen(parts[i]),
		    &consumed);
		assert_int_equal(consumed, strlen(parts[i]));
		assert_int_equal(ret, i + 1 < sizeof(parts) / sizeof(parts[0])
		    ? 0 : 1);
	}
	expect_message(data, "line one\r\nline two\r\n.x\r\n",
	    strlen("line one\r\nline two\r\n.x\r\n"));
	lmtp_data_free(&data);
}

static void
test_data_stops_after_terminator(void **state)
{
	struct lmtp_data *data = lmtp_data_new(1024, 100);
	const char *in = "m1\r\n.\r\nQUIT\r\n";
	size_t consumed;

	(void)state;
	assert_int_equal(lmtp_data_feed(data, (const unsigned char *)in,
	    strlen(in), &consumed), 1);
	assert_int_equal(consumed, strlen("m1\r\n.\r\n"));
	expect_message(data, NULL, 4);

	/* The decoder is ready for the next message. */
	in = "m2\r\n.\r\n";
	assert_int_equal(lmtp_data_feed(data, (const unsigned char *)in,
	    strlen(in), &consumed), 1);
	expect_message(data, "m2\r\n", 4);
	lmtp_data_free(&data);
}

static void
test_data_size_limit(void **state)
{
	struct lmtp_data *data = lmtp_data_new(10, 100);

	(void)state;
	/* Exactly ten bytes: fine. */
	data_bytewise(data, "12345678\r\n.\r\n", 13, LMTP_DATA_OK);
	expect_message(data, NULL, 10);

	/* Eleven: flagged, but the end is still found. */
	data_bytewise(data, "123456789\r\nmore\r\n..\r\n.\r\n", 24,
	    LMTP_DATA_ERROR_TOO_BIG);
	assert_int_equal(lmtp_data_size(data), 11 + 6 + 3);
	lmtp_data_reset(data);
	assert_int_equal(lmtp_data_error(data), LMTP_DATA_OK);
	assert_int_equal(lmtp_data_size(data), 0);

	/* A large message in one feed. */
	size_t big = 100000;
	char *in = malloc(big + 3);
	size_t consumed;
	assert_non_null(in);
	memset(in, 'x', big);
	for (size_t i = 50; i < big; i += 51) {
		in[i - 1] = '\r';
		in[i] = '\n';
	}
	memcpy(in + big - 2, "\r\n.\r\n", 5);
	assert_int_equal(lmtp_data_feed(data, (unsigned char *)in, big + 3,
	    &consumed), 1);
	assert_int_equal(consumed, big + 3);
	assert_int_equal(lmtp_data_error(data), LMTP_DATA_ERROR_TOO_BIG);
	free(in);
	lmtp_data_free(&data);
}

static void
test_data_line_limit(void **state)
{
	struct lmtp_data *data = lmtp_data_new(1024, 4);

	(void)state;
	data_bytewise(data, "1234\r\n..34\r\n.\r\n", 15, LMTP_DATA_OK);
	expect_message(data, NULL, 11);
	data_bytewise(data, "12345\r\nok\r\n.\r\n", 14,
	    LMTP_DATA_ERROR_LINE_TOO_LONG);
	lmtp_data_reset(data);
	/* Bare CR counts towards the line. */
	data_bytewise(data, "12\r\r34\r\n.\r\n", 11,
	    LMTP_DATA_ERROR_LINE_TOO_LONG);
	lmtp_data_free(&data);
}

/* Whole or byte by byte, the limit broken at the earlier byte wins (the
 * fuzzer found the two disagreeing when one run broke both). */
static void
test_data_first_limit_regardless_of_split(void **state)
{
	static const char in[] = "abcdefghijklmn\r\n.\r\n";
	struct lmtp_data *data;
	size_t consumed;

	(void)state;
	/* The line limit breaks at byte 6, the size limit at byte 11. */
	data = lmtp_data_new(10, 5);
	data_bytewise(data, in, sizeof(in) - 1, LMTP_DATA_ERROR_LINE_TOO_LONG);
	lmtp_data_reset(data);
	assert_int_equal(lmtp_data_feed(data, (const unsigned char *)in,
	    sizeof(in) - 1, &consumed), 1);
	assert_int_equal(lmtp_data_error(data), LMTP_DATA_ERROR_LINE_TOO_LONG);
	lmtp_data_free(&data);

	/* The other way round. */
	data = lmtp_data_new(5, 10);
	data_bytewise(data, in, sizeof(in) - 1, LMTP_DATA_ERROR_TOO_BIG);
	lmtp_data_reset(data);
	assert_int_equal(lmtp_data_feed(data, (const unsigned char *)in,
	    sizeof(in) - 1, &consumed), 1);
	assert_int_equal(lmtp_data_error(data), LMTP_DATA_ERROR_TOO_BIG);
	lmtp_data_free(&data);
}

/* A caller that spools takes the held bytes after each feed: together
 * they are the message, memory never holds more than one feed's worth,
 * and the size limit counts the bytes already taken. */
static void
test_data_held_and_dropped(void **state)
{
	static const char in[] = "0123456789\r\n..abc\r\nxyz\r\n.\r\n";
	static const char want[] = "0123456789\r\n.abc\r\nxyz\r\n";
	struct lmtp_data *data;
	char out[64];
	size_t out_len = 0, consumed, held_len;
	const unsigned char *held;
	int ret = 0;

	(void)state;
	data = lmtp_data_new(sizeof(want) - 1, 100);
	for (size_t i = 0; i < sizeof(in) - 1; i += 4) {
		size_t n = sizeof(in) - 1 - i < 4 ? sizeof(in) - 1 - i : 4;

		ret = lmtp_data_feed(data, (const unsigned char *)in + i, n,
		    &consumed);
		assert_int_equal(consumed, n);
		held = lmtp_data_held(data, &held_len);
		assert_true(held_len <= 4);
		memcpy(out + out_len, held, held_len);
		out_len += held_len;
		lmtp_data_drop(data);
	}
	assert_int_equal(ret, 1);
	assert_int_equal(lmtp_data_error(data), LMTP_DATA_OK);
	assert_int_equal(out_len, sizeof(want) - 1);
	assert_memory_equal(out, want, out_len);
	/* Nothing is left to steal. */
	expect_message(data, NULL, 0);

	/* One byte less room: the limit still breaks, though memory never
	 * held more than a few bytes. */
	lmtp_data_free(&data);
	data = lmtp_data_new(sizeof(want) - 2, 100);
	for (size_t i = 0; i < sizeof(in) - 1; i++) {
		ret = lmtp_data_feed(data, (const unsigned char *)in + i, 1,
		    &consumed);
		lmtp_data_drop(data);
	}
	assert_int_equal(ret, 1);
	assert_int_equal(lmtp_data_error(data), LMTP_DATA_ERROR_TOO_BIG);
	lmtp_data_free(&data);
}

static void
test_data_nul(void **state)
{
	struct lmtp_data *data = lmtp_data_new(1024, 100);
	static const char in[] = "a\0b\r\n.\r\n";

	(void)state;
	data_bytewise(data, in, sizeof(in) - 1, LMTP_DATA_ERROR_NUL);
	/* The first broken limit is the one reported. */
	lmtp_data_free(&data);
	data = lmtp_data_new(2, 100);
	data_bytewise(data, in, sizeof(in) - 1, LMTP_DATA_ERROR_NUL);
	lmtp_data_free(&data);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_verb_bytewise),
		cmocka_unit_test(test_case_insensitive),
		cmocka_unit_test(test_mail_params),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_path_too_long),
		cmocka_unit_test(test_argument_errors),
		cmocka_unit_test(test_bare_lf),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_line_limit),
		cmocka_unit_test(test_nul_and_bare_cr),
		cmocka_unit_test(test_recovery_after_syntax_error),
		cmocka_unit_test(test_data_plain),
		cmocka_unit_test(test_data_unstuffing),
		cmocka_unit_test(test_data_line_ends),
		cmocka_unit_test(test_data_smuggling),
		cmocka_unit_test(test_data_split_feeds),
		cmocka_unit_test(test_data_stops_after_terminator),
		cmocka_unit_test(test_data_size_limit),
		cmocka_unit_test(test_data_line_limit),
		cmocka_unit_test(test_data_first_limit_regardless_of_split),
		cmocka_unit_test(test_data_nul),
		cmocka_unit_test(test_data_held_and_dropped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
