/*
 * Tests of the IMAP command parser. Every input is fed whole, one byte at
 * a time and in odd-sized pieces, and must give the same transcript of
 * commands, continuation requests and errors each way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap-parser.h"
#include "lib/buf.h"
#include "lib/limits.h"

static const char *const error_names[] = {
	[IMAP_PARSE_ERROR_NONE] = "NONE",
	[IMAP_PARSE_ERROR_SYNTAX] = "SYNTAX",
	[IMAP_PARSE_ERROR_LINE_TOO_LONG] = "LINE",
	[IMAP_PARSE_ERROR_LITERAL_TOO_LARGE] = "LITERAL",
	[IMAP_PARSE_ERROR_TOO_DEEP] = "DEEP",
	[IMAP_PARSE_ERROR_TOO_MANY_ARGS] = "ARGS",
};

static void
put_bytes(struct buf *out, const char *s, size_t len, bool quoted)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (quoted && (c == '"' || c == '\\'))
			buf_printf(out, "\\%c", c);
		else if (c >= 0x20 && c < 0x7f)
			buf_printf(out, "%c", c);
		else
			buf_printf(out, "\\x%02x", c);
	}
}

static void put_args(struct buf *out, const struct imap_arg *args,
    unsigned int count);

static void
put_arg(struct buf *out, const struct imap_arg *arg)
{
	switch (arg->type) {
	case IMAP_ARG_ATOM:
		put_bytes(out, arg->str, arg->len, false);
		break;
	case IMAP_ARG_NIL:
		buf_printf(out, "<NIL>");
		break;
	case IMAP_ARG_STRING:
		buf_printf(out, "\"");
		put_bytes(out, arg->str, arg->len, true);
		buf_printf(out, "\"");
		break;
	case IMAP_ARG_LITERAL:
		buf_printf(out, "%s{%zu}", arg->literal8 ? "~" : "",
		    arg->len);
		put_bytes(out, arg->str, arg->len, false);
		break;
	case IMAP_ARG_LIST:
		buf_printf(out, "(");
		put_args(out, arg->list, arg->list_count);
		buf_printf(out, ")");
		break;
	case IMAP_ARG_SECTION:
		buf_printf(out, "%s[%s", arg->str, arg->section);
		if (arg->has_list) {
			buf_printf(out, " (");
			put_args(out, arg->list, arg->list_count);
			buf_printf(out, ")");
		} else
			assert_int_equal(arg->list_count, 0);
		buf_printf(out, "]");
		if (arg->has_partial)
			buf_printf(out, "<%u.%u>", arg->partial_offset,
			    arg->partial_size);
		break;
	}
}

static void
put_args(struct buf *out, const struct imap_arg *args, unsigned int count)
{
	unsigned int i;

	for (i = 0; i < count; i++) {
		if (i > 0)
			buf_printf(out, " ");
		put_arg(out, &args[i]);
	}
}

/*
 * Feed input in pieces of chunk bytes the way a session would: keep the
 * unconsumed bytes and feed them again after each result. Returns the
 * transcript: "DONE <tag> <name> <args>", "CONT" and "ERR <code> <tag>"
 * joined by " | ".
 */
static char *
transcript(struct imap_parser *parser, const char *input, size_t len,
    size_t chunk)
{
	struct buf out, pending;
	size_t off = 0;
	unsigned int rounds = 0;
	char *ret;

	buf_init(&out, 0);
	buf_init(&pending, 0);
	while (off < len) {
		size_t n = len - off < chunk ? len - off : chunk;

		assert_int_equal(buf_append(&pending, input + off, n), 0);
		off += n;
		for (;;) {
			const struct imap_command *cmd;
			const char *error;
			size_t consumed;
			int r;

			assert_true(++rounds < 100000);
			r = imap_parser_feed(parser, pending.data, pending.len,
			    &consumed, &cmd, &error);
			assert_true(consumed <= pending.len);
			memmove(pending.data, pending.data + consumed,
			    pending.len - consumed);
			pending.len -= consumed;
			if (r == IMAP_PARSE_MORE) {
				assert_int_equal(pending.len, 0);
				break;
			}
			if (out.len > 0)
				buf_printf(&out, " | ");
			switch (r) {
			case IMAP_PARSE_DONE:
				assert_non_null(cmd);
				buf_printf(&out, "DONE %s %s", cmd->tag,
				    cmd->name);
				if (cmd->args_count > 0) {
					buf_printf(&out, " ");
					put_args(&out, cmd->args,
					    cmd->args_count);
				}
				break;
			case IMAP_PARSE_NEED_CONTINUATION:
				buf_printf(&out, "CONT");
				break;
			case IMAP_PARSE_ERROR: {
				const char *tag = imap_parser_tag(parser);

				assert_non_null(error);
				assert_int_equal(strcspn(error, "\r\n"),
				    strlen(error));
				buf_printf(&out, "ERR %s %s", error_names[
				    imap_parser_error_code(parser)],
				    tag != NULL ? tag : "*");
				break;
			}
			default:
				fail_msg("result %d", r);
			}
		}
	}
	buf_free(&pending);
	ret = strdup(buf_cstr(&out));
	buf_free(&out);
	return ret;
}

/* Check input against expected with the given limits, fed whole, byte
 * by byte and in pieces of 2, 3 and 7 bytes. */
static void
check_limits(const struct imap_parser_limits *limits, const char *input,
    size_t len, const char *expected)
{
	static const size_t chunks[] = { 1, 2, 3, 7, SIZE_MAX };
	size_t i;

	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		struct imap_parser *parser = imap_parser_new(limits);
		char *got = transcript(parser, input, len, chunks[i]);

		if (strcmp(got, expected) != 0)
			fail_msg("chunk %zu:\n  input    %s\n  got      %s\n"
			    "  expected %s", chunks[i], input, got, expected);
		free(got);
		imap_parser_free(&parser);
		assert_null(parser);
	}
}

static struct imap_parser_limits
small_limits(void)
{
	struct imap_parser_limits l = {
		.line_max = 64, .literal_max = 10, .depth_max = 3,
		.args_max = 8,
	};
	return l;
}

#define CHECK(input, expected) do { \
	struct imap_parser_limits l_; \
	imap_parser_limits_default(&l_, false); \
	check_limits(&l_, input, sizeof(input) - 1, expected); \
} while (0)
#define CHECK_SMALL(input, expected) do { \
	struct imap_parser_limits l_ = small_limits(); \
	check_limits(&l_, input, sizeof(input) - 1, expected); \
} while (0)

static void
test_tags_and_atoms(void **state)
{
	(void)state;
	CHECK("a1 NOOP\r\n", "DONE a1 NOOP");
	CHECK("A.b-c LOGIN user pass\r\n", "DONE A.b-c LOGIN user pass");
	CHECK("a] x\r\n", "DONE a] x");
	CHECK("\r\n\n\r\na NOOP\r\n", "DONE a NOOP");
	CHECK("a SELECT [Gmail]/Sent\r\n", "DONE a SELECT [Gmail]/Sent");
	CHECK("a LIST \"\" ~peter/%\r\n", "DONE a LIST \"\" ~peter/%");
	CHECK("a LIST \"\" *\r\n", "DONE a LIST \"\" *");
	CHECK("a STORE 1:*,3 +FLAGS (\\Seen \\Deleted)\r\n",
	    "DONE a STORE 1:*,3 +FLAGS (\\Seen \\Deleted)");
	CHECK("a UID FETCH 1:3 (FLAGS)\r\n",
	    "DONE a UID FETCH 1:3 (FLAGS)");
	CHECK("a X NIL nil Nil \"NIL\" NILS\r\n",
	    "DONE a X <NIL> <NIL> <NIL> \"NIL\" NILS");
	/* Repeated and trailing spaces are tolerated. */
	CHECK("a X  b   c \r\n", "DONE a X b c");
	/* Bad tags and names. */
	CHECK("a* NOOP\r\nb NOOP\r\n", "ERR SYNTAX * | DONE b NOOP");
	CHECK("+ NOOP\r\nb NOOP\r\n", "ERR SYNTAX * | DONE b NOOP");
	CHECK(" a NOOP\r\nb NOOP\r\n", "ERR SYNTAX * | DONE b NOOP");
	CHECK("a\r\nb NOOP\r\n", "ERR SYNTAX * | DONE b NOOP");
	CHECK("a \r\nb NOOP\r\n", "ERR SYNTAX a | DONE b NOOP");
	CHECK("a  NOOP\r\nb NOOP\r\n", "ERR SYNTAX a | DONE b NOOP");
	CHECK("a NO\"OP\r\nb NOOP\r\n", "ERR SYNTAX a | DONE b NOOP");
	CHECK("a X b\x80\r\nb NOOP\r\n", "ERR SYNTAX a | DONE b NOOP");
	CHECK("a X b\x01\r\nb NOOP\r\n", "ERR SYNTAX a | DONE b NOOP");
	CHECK("a X b{1}\r\nb NOOP\r\n", "ERR SYNTAX a | DONE b NOOP");
}

/* The extended LIST of RFC 5258 / 5819 / 6154 is generic syntax: lists
 * of options before the reference, a list of patterns, RETURN and
 * nested option lists. */
static void
test_list_extended(void **state)
{
	(void)state;
	CHECK("A02 LIST (SUBSCRIBED) \"\" \"*\"\r\n",
	    "DONE A02 LIST (SUBSCRIBED) \"\" \"*\"");
	CHECK("BBB LIST \"\" (\"INBOX\" \"Drafts\" \"Sent/%\")\r\n",
	    "DONE BBB LIST \"\" (\"INBOX\" \"Drafts\" \"Sent/%\")");
	CHECK("a3.1 LIST \"\" (% music/rock)\r\n",
	    "DONE a3.1 LIST \"\" (% music/rock)");
	CHECK("C04 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\" "
	    "RETURN (CHILDREN)\r\n",
	    "DONE C04 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\" "
	    "RETURN (CHILDREN)");
	CHECK("A01 LIST \"\" % RETURN (STATUS (MESSAGES UNSEEN))\r\n",
	    "DONE A01 LIST \"\" % RETURN (STATUS (MESSAGES UNSEEN))");
	CHECK("t3 LIST (SPECIAL-USE) \"\" \"*\" RETURN ()\r\n",
	    "DONE t3 LIST (SPECIAL-USE) \"\" \"*\" RETURN ()");
	CHECK("t2 CREATE MySpecial (USE (\\Drafts \\Sent))\r\n",
	    "DONE t2 CREATE MySpecial (USE (\\Drafts \\Sent))");
	/* An unclosed pattern list is refused at the line end. */
	CHECK("a LIST \"\" (% x\r\nb NOOP\r\n", "ERR SYNTAX a | DONE b NOOP");
}

static void
test_quoted(void **state)
{
	(void)state;
	CHECK("a LOGIN \"us\\\"er\" \"p\\\\ss word\"\r\n",
	    "DONE a LOGIN \"us\\\"er\" \"p\\\\ss word\"");
	CHECK("a X \"\" \"(){}%*]\"\r\n", "DONE a X \"\" \"(){}%*]\"");
	CHECK("a X (\"a\" \"b\")\r\n", "DONE a X (\"a\" \"b\")");
	/* Rejected: 8-bit, CR or LF inside, bad escapes, unterminated,
	 * no space after the closing quote. */
	CHECK("a X \"\xc3\xa9\"\r\nb NOOP\r\n", "ERR SYNTAX a | DONE b NOOP");
	CHECK("a X \"ab\rc\"\r\nb NOOP\r\n", "ERR SYNTAX a | DONE b NOOP");
	CHECK("a X \"ab\nb NOOP\r\n", "ERR SYNTAX a | DONE b NOOP");
	CHECK("a X \"\\a\"\r\nb NOOP\r\n", "ERR SYNTAX a | DONE b NOOP");
	CHECK("a X \"x\"y\r\nb NOOP\r\n", "ERR SYNTAX a | DONE b NOOP");
	CHECK("a X \"x\"(y)\r\nb NOOP\r\n", "ERR SYNTAX a | DONE b NOOP");
}

static void
test_literal_sync(void **state)
{
	(void)state;
	/* One continuation per {n}, never for {n+}. */
	CHECK("a LOGIN {4}\r\nuser {4}\r\npass\r\n",
	    "CONT | CONT | DONE a LOGIN {4}user {4}pass");
	CHECK("a LOGIN {4}\nuser {4}\npass\n",
	    "CONT | CONT | DONE a LOGIN {4}user {4}pass");
	CHECK("a X {0}\r\n\r\n", "CONT | DONE a X {0}");
	CHECK("a X ({3}\r\nabc {2}\r\nde)\r\n",
	    "CONT | CONT | DONE a X ({3}abc {2}de)");
	/* The data is opaque: CRLF, NUL, quotes, braces, 8-bit. */
	CHECK("a APPEND INBOX {9}\r\na\r\n\0\"{1}\xff\r\n",
	    "CONT | DONE a APPEND INBOX {9}a\\x0d\\x0a\\x00\"{1}\\xff");
	/* A leading zero is just a number. */
	CHECK("a X {03}\r\nabc\r\n", "CONT | DONE a X {3}abc");
}

static void
test_literal_plus(void **state)
{
	(void)state;
	CHECK("a LOGIN {4+}\r\nuser {4+}\r\npass\r\n",
	    "DONE a LOGIN {4}user {4}pass");
	CHECK("a LOGIN {4+}\r\nuser {4}\r\npass\r\n",
	    "CONT | DONE a LOGIN {4}user {4}pass");
	CHECK("a X {0+}\r\n\r\n", "DONE a X {0}");
	CHECK("a APPEND INBOX (\\Seen) {12+}\r\nSubject: x\r\n\r\n"
	    "b NOOP\r\n",
	    "DONE a APPEND INBOX (\\Seen) {12}Subject: x\\x0d\\x0a | "
	    "DONE b NOOP");
	/* Bad announcements. */
	CHECK("a X {}\r\nb NOOP\r\n", "ERR SYNTAX a | DONE b NOOP");
	CHECK("a X {+}\r\nb NOOP\r\n", "ERR SYNTAX a | DONE b NOOP");
	CHECK("a X {1++}\r\nb NOOP\r\n", "ERR SYNTAX a | DONE b NOOP");
	CHECK("a X {1} \r\nb NOOP\r\n", "ERR SYNTAX a | DONE b NOOP");
	CHECK("a X {1}\rb NOOP\r\n", "ERR SYNTAX a");
	CHECK("a X {1a}\r\nb NOOP\r\n", "ERR SYNTAX a | DONE b NOOP");
	/* After a literal a space, ")" or the line end must follow. */
	CHECK("a X {1+}\r\nab\r\nb NOOP\r\n", "ERR SYNTAX a | DONE b NOOP");
}

static void
test_lists(void **state)
{
	(void)state;
	CHECK("a FETCH 1:* (FLAGS (UID))\r\n", "DONE a FETCH 1:* (FLAGS (UID))");
	CHECK("a X () (()) (a ()) \r\n", "DONE a X () (()) (a ())");
	CHECK("a X ( a  b )\r\n", "DONE a X (a b)");
	CHECK("a X (a)(b)\r\nb NOOP\r\n", "ERR SYNTAX a | DONE b NOOP");
	CHECK("a X )\r\nb NOOP\r\n", "ERR SYNTAX a | DONE b NOOP");
	CHECK("a X (a))\r\nb NOOP\r\n", "ERR SYNTAX a | DONE b NOOP");
	CHECK("a X (1\r\nb NOOP\r\n", "ERR SYNTAX a | DONE b NOOP");
	CHECK("a X ((1)\nb NOOP\n", "ERR SYNTAX a | DONE b NOOP");
	/* Depth limit 3: three levels pass, four do not. */
	CHECK_SMALL("a X (((a)))\r\n", "DONE a X (((a)))");
	CHECK_SMALL("a X ((()) (()))\r\n", "DONE a X ((()) (()))");
	CHECK_SMALL("a X ((((a))))\r\nb NOOP\r\n", "ERR DEEP a | DONE b NOOP");
	CHECK_SMALL("a X (((a)) ((b (c))))\r\nb NOOP\r\n",
	    "ERR DEEP a | DONE b NOOP");
}

/* SEARCH RETURN options (RFC 4731, RFC 5182) are a list of atoms,
 * "RETURN ()" included, and "$" an atom: nothing new for the grammar. */
static void
test_search_return(void **state)
{
	(void)state;
	CHECK("A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 "
	    "NOT FROM \"Smith\"\r\n",
	    "DONE A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 "
	    "NOT FROM \"Smith\"");
	CHECK("A283 SEARCH RETURN () FLAGGED\r\n",
	    "DONE A283 SEARCH RETURN () FLAGGED");
	CHECK("A285 UID SEARCH RETURN (MIN MAX) 1:5000\r\n",
	    "DONE A285 UID SEARCH RETURN (MIN MAX) 1:5000");
	CHECK("a SEARCH RETURN (MIN\r\nb NOOP\r\n",
	    "ERR SYNTAX a | DONE b NOOP");
	/* RFC 5182: SAVE, and "$" (an atom) where a sequence set goes. */
	CHECK("A282 SEARCH RETURN (SAVE) FLAGGED\r\nA283 FETCH $ (UID FLAGS)"
	    "\r\n", "DONE A282 SEARCH RETURN (SAVE) FLAGGED | "
	    "DONE A283 FETCH $ (UID FLAGS)");
	CHECK("a UID COPY $ Trash\r\nb SEARCH UID $ NOT $\r\n",
	    "DONE a UID COPY $ Trash | DONE b SEARCH UID $ NOT $");
	CHECK("a STORE $ +FLAGS.SILENT (\\Deleted)\r\n",
	    "DONE a STORE $ +FLAGS.SILENT (\\Deleted)");
}

static void
test_sections(void **state)
{
	(void)state;
	CHECK("a FETCH 1 (BODY.PEEK[HEADER.FIELDS (From To)]<0.100> "
	    "BODY[] BODY[1.2.MIME]<0.512> RFC822.SIZE)\r\n",
	    "DONE a FETCH 1 (BODY.PEEK[HEADER.FIELDS (From To)]<0.100> "
	    "BODY[] BODY[1.2.MIME]<0.512> RFC822.SIZE)");
	CHECK("a FETCH 1 BODY[TEXT]\r\n", "DONE a FETCH 1 BODY[TEXT]");
	CHECK("a FETCH 1 (BODY[TEXT])\r\n", "DONE a FETCH 1 (BODY[TEXT])");
	CHECK("a FETCH 1 BINARY.PEEK[1]<4294967295.4294967295>\r\n",
	    "DONE a FETCH 1 BINARY.PEEK[1]<4294967295.4294967295>");
	CHECK("a FETCH 1 BODY[HEADER.FIELDS.NOT (\"X-A\" {3}\r\nX-B)]\r\n",
	    "CONT | DONE a FETCH 1 BODY[HEADER.FIELDS.NOT (\"X-A\" {3}X-B)]");
	CHECK("a FETCH 1 BODY[HEADER.FIELDS ()]\r\n",
	    "DONE a FETCH 1 BODY[HEADER.FIELDS ()]");
	/* Inside a header list "[" is an ordinary character. */
	CHECK("a FETCH 1 BODY[HEADER.FIELDS (a[b])]\r\n",
	    "DONE a FETCH 1 BODY[HEADER.FIELDS (a[b])]");
	/* Errors. */
	CHECK("a FETCH 1 BODY[1]<0.0>\r\nb NOOP\r\n",
	    "ERR SYNTAX a | DONE b NOOP");
	CHECK("a FETCH 1 BODY[1]<5>\r\nb NOOP\r\n",
	    "ERR SYNTAX a | DONE b NOOP");
	CHECK("a FETCH 1 BODY[1]<.5>\r\nb NOOP\r\n",
	    "ERR SYNTAX a | DONE b NOOP");
	CHECK("a FETCH 1 BODY[1]<0.4294967296>\r\nb NOOP\r\n",
	    "ERR SYNTAX a | DONE b NOOP");
	CHECK("a FETCH 1 BODY[1]x\r\nb NOOP\r\n",
	    "ERR SYNTAX a | DONE b NOOP");
	CHECK("a FETCH 1 BODY[1]<1.2>x\r\nb NOOP\r\n",
	    "ERR SYNTAX a | DONE b NOOP");
	CHECK("a FETCH 1 BODY[1\r\nb NOOP\r\n", "ERR SYNTAX a | DONE b NOOP");
	CHECK("a FETCH 1 BODY[HEADER.FIELDS x]\r\nb NOOP\r\n",
	    "ERR SYNTAX a | DONE b NOOP");
	CHECK("a FETCH 1 BODY[HEADER.FIELDS (a (b))]\r\nb NOOP\r\n",
	    "ERR SYNTAX a | DONE b NOOP");
	CHECK("a FETCH 1 BODY[HEADER.FIELDS (a) ]\r\nb NOOP\r\n",
	    "ERR SYNTAX a | DONE b NOOP");
	CHECK("a FETCH 1 BODY[HEADER.FIELDS (a]\r\nb NOOP\r\n",
	    "ERR SYNTAX a | DONE b NOOP");
	CHECK("a FETCH 1 BODY[a[b]]\r\nb NOOP\r\n",
	    "ERR SYNTAX a | DONE b NOOP");
	/* The header list counts as a nesting level. */
	CHECK_SMALL("a FETCH 1 (((BODY[HEADER.FIELDS (a)])))\r\nb NOOP\r\n",
	    "ERR DEEP a | DONE b NOOP");
	CHECK_SMALL("a FETCH 1 ((BODY[HEADER.FIELDS (a)]))\r\n",
	    "DONE a FETCH 1 ((BODY[HEADER.FIELDS (a)]))");
}

/* The type of top-level argument i (with a list: of its element j) of
 * the one command in input, fed whole. */
static enum imap_arg_type
arg_type(const char *input, unsigned int i, int j)
{
	struct imap_parser_limits l;
	struct imap_parser *parser;
	const struct imap_command *cmd;
	const struct imap_arg *arg;
	const char *error;
	size_t consumed;
	enum imap_arg_type type;

	imap_parser_limits_default(&l, false);
	parser = imap_parser_new(&l);
	assert_int_equal(imap_parser_feed(parser, input, strlen(input),
	    &consumed, &cmd, &error), IMAP_PARSE_DONE);
	assert_true(i < cmd->args_count);
	arg = &cmd->args[i];
	if (j >= 0) {
		assert_int_equal(arg->type, IMAP_ARG_LIST);
		assert_true((unsigned int)j < arg->list_count);
		arg = &arg->list[j];
	}
	type = arg->type;
	imap_parser_free(&parser);
	return type;
}

/*
 * RFC 3501 9: "[" is an ATOM-CHAR and "]" an ASTRING-CHAR, so mailbox
 * names, passwords and search strings may hold them unquoted. Only the
 * FETCH attributes BODY, BODY.PEEK, BINARY, BINARY.PEEK and BINARY.SIZE
 * take a "[section]".
 */
static void
test_brackets_in_atoms(void **state)
{
	(void)state;
	CHECK("a SELECT a[b\r\n", "DONE a SELECT a[b");
	CHECK("a LIST \"\" x[%\r\n", "DONE a LIST \"\" x[%");
	CHECK("a SEARCH SUBJECT a[b\r\n", "DONE a SEARCH SUBJECT a[b");
	CHECK("a LOGIN user pa[ss]\r\n", "DONE a LOGIN user pa[ss]");
	CHECK("a LOGIN us]er [pa[ss\r\n", "DONE a LOGIN us]er [pa[ss");
	CHECK("a SELECT body[x]\r\n", "DONE a SELECT body[x]");
	CHECK("a SELECT BODY[\r\n", "DONE a SELECT BODY[");
	CHECK("a STORE 1 +FLAGS (a[b] c[)\r\n",
	    "DONE a STORE 1 +FLAGS (a[b] c[)");
	CHECK("a UID STORE 1 FLAGS BODY[x\r\n",
	    "DONE a UID STORE 1 FLAGS BODY[x");
	CHECK("a FETCH 1 (FLAGS X[1)\r\n", "DONE a FETCH 1 (FLAGS X[1)");
	assert_int_equal(arg_type("a LOGIN user pa[ss]\r\n", 1, -1),
	    IMAP_ARG_ATOM);
	assert_int_equal(arg_type("a SELECT body[x]\r\n", 0, -1),
	    IMAP_ARG_ATOM);
	assert_int_equal(arg_type("a FETCH 1 (UID X[1])\r\n", 1, 1),
	    IMAP_ARG_ATOM);
	/* FETCH attributes with a section, in any case, in UID FETCH too. */
	CHECK("a fetch 1 body.peek[]\r\n", "DONE a fetch 1 body.peek[]");
	CHECK("a UID FETCH 1 (BINARY[1] BINARY.SIZE[1] BINARY.PEEK[1]<0.5>)"
	    "\r\n", "DONE a UID FETCH 1 (BINARY[1] BINARY.SIZE[1] "
	    "BINARY.PEEK[1]<0.5>)");
	assert_int_equal(arg_type("a uid fetch 1 BODY[]\r\n", 2, -1),
	    IMAP_ARG_SECTION);
	assert_int_equal(arg_type("a FETCH 1 (UID BINARY.SIZE[1])\r\n",
	    1, 1), IMAP_ARG_SECTION);
	/* A section still has to be closed. */
	CHECK("a FETCH 1 BODY[a\r\nb NOOP\r\n", "ERR SYNTAX a | DONE b NOOP");
}

static void
test_line_ends(void **state)
{
	(void)state;
	CHECK("a NOOP\nb NOOP\n", "DONE a NOOP | DONE b NOOP");
	CHECK("a X y\nb X (z)\n", "DONE a X y | DONE b X (z)");
	/* CR without LF is an error; the line is skipped up to the LF. */
	CHECK("a NOOP\rb NOOP\r\nc NOOP\r\n", "ERR SYNTAX a | DONE c NOOP");
	CHECK("a X y\rz\r\nc NOOP\r\n", "ERR SYNTAX a | DONE c NOOP");
	CHECK("a X \"y\"\r\rc NOOP\r\nd NOOP\r\n",
	    "ERR SYNTAX a | DONE d NOOP");
	CHECK("\rb NOOP\r\nc NOOP\r\n", "ERR SYNTAX * | DONE c NOOP");
}

/* "a X ", optionally a {n+} literal of n "L" and a space, then x up to
 * total bytes outside the literal data, the CRLF included. */
static void
check_line(const struct imap_parser_limits *l, size_t literal, size_t total,
    bool ok)
{
	struct buf in, expected;
	size_t counted;

	buf_init(&in, 0);
	buf_init(&expected, 0);
	buf_printf(&in, "a X ");
	buf_printf(&expected, "DONE a X ");
	counted = in.len;
	if (literal > 0) {
		buf_printf(&in, "{%zu+}\r\n", literal);
		counted = in.len + 1;
		buf_printf(&expected, "{%zu}", literal);
		for (size_t i = 0; i < literal; i++) {
			buf_printf(&in, "L");
			buf_printf(&expected, "L");
		}
		buf_printf(&in, " ");
		buf_printf(&expected, " ");
	}
	for (; counted < total - 2; counted++) {
		buf_printf(&in, "x");
		buf_printf(&expected, "x");
	}
	buf_printf(&in, "\r\n");
	check_limits(l, (const char *)in.data, in.len,
	    ok ? buf_cstr(&expected) : "ERR LINE a");
	buf_free(&in);
	buf_free(&expected);
}

static void
test_limit_line(void **state)
{
	/* line_max 64 counts every byte outside literal data, the line
	 * end included. */
	struct imap_parser_limits l = small_limits();

	(void)state;
	check_line(&l, 0, 64, true);
	check_line(&l, 0, 65, false);
	/* Literal data does not count, the rest of the line does. */
	check_line(&l, 10, 64, true);
	check_line(&l, 10, 65, false);

	/* A long quoted string, a long tag, a line of spaces. */
	CHECK_SMALL("a X \"0123456789012345678901234567890123456789"
	    "01234567890123456789\"\r\nb NOOP\r\n", "ERR LINE a | DONE b NOOP");
	CHECK_SMALL("a0123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789 NOOP\r\nb NOOP\r\n",
	    "ERR LINE * | DONE b NOOP");
	CHECK_SMALL("a X                                                    "
	    "                  \r\nb NOOP\r\n", "ERR LINE a | DONE b NOOP");
	/* Empty lines do not add up. */
	CHECK_SMALL("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
	    "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
	    "\r\n\r\n\r\n\r\n\r\n\r\na NOOP\r\n", "DONE a NOOP");
}

static void
test_limit_literal(void **state)
{
	(void)state;
	CHECK_SMALL("a X {10}\r\n0123456789\r\n", "CONT | DONE a X {10}0123456789");
	/* A {n} over the limit gets no "+ ", so its data never comes. */
	CHECK_SMALL("a X {11}\r\nb NOOP\r\n", "ERR LITERAL a | DONE b NOOP");
	CHECK_SMALL("a X {99999999999999999999999}\r\nb NOOP\r\n",
	    "ERR LITERAL a | DONE b NOOP");
	/* A {n+} over the limit is sent anyway and skipped. */
	CHECK_SMALL("a X {11+}\r\nb NOOP\r\nc N\r\nd NOOP\r\n",
	    "ERR LITERAL a | DONE d NOOP");
	/* Limits apply to the sum of the literals of a command. */
	CHECK_SMALL("a X {6+}\r\nabcdef {4+}\r\nghij\r\n",
	    "DONE a X {6}abcdef {4}ghij");
	CHECK_SMALL("a X {6+}\r\nabcdef {5+}\r\nghijk\r\nb NOOP\r\n",
	    "ERR LITERAL a | DONE b NOOP");
	/* Each command starts afresh. */
	CHECK_SMALL("a X {10+}\r\n0123456789\r\nb X {10+}\r\n0123456789\r\n",
	    "DONE a X {10}0123456789 | DONE b X {10}0123456789");
	/* A skipped line with further {n+} literals after the error. */
	CHECK_SMALL("a X ) {5+}\r\nab\r\nc {2+}\r\n\r\n\r\nb NOOP\r\n",
	    "ERR SYNTAX a | DONE b NOOP");
	/* Skipping goes over {n+} however large, holding nothing. */
	CHECK_SMALL("a X {1000+}\r\n", "ERR LITERAL a");
}

static void
test_limit_args(void **state)
{
	(void)state;
	/* args_max 8 counts nested arguments and lists themselves. */
	CHECK_SMALL("a X 1 2 3 4 5 6 7 8\r\n", "DONE a X 1 2 3 4 5 6 7 8");
	CHECK_SMALL("a X 1 2 3 4 5 6 7 8 9\r\nb NOOP\r\n",
	    "ERR ARGS a | DONE b NOOP");
	CHECK_SMALL("a X (1 2 3) (4 5 6)\r\n", "DONE a X (1 2 3) (4 5 6)");
	CHECK_SMALL("a X (1 2 3) (4 5 6 7)\r\nb NOOP\r\n",
	    "ERR ARGS a | DONE b NOOP");
	CHECK_SMALL("a X 1 2 3 4 5 6 7 \"8\" {1+}\r\nx\r\nb NOOP\r\n",
	    "ERR ARGS a | DONE b NOOP");
	CHECK_SMALL("a X 1 2 3 4 5 6 BODY[HEADER.FIELDS (a b)]\r\nb NOOP\r\n",
	    "ERR ARGS a | DONE b NOOP");
}

static void
test_limits_prelogin(void **state)
{
	struct imap_parser_limits pre, post;
	static char line[IMAP_LINE_MAX_PRELOGIN + 100];
	char lit[64], expected[128];
	size_t n;
	struct imap_parser *parser;
	char *got;

	(void)state;
	imap_parser_limits_default(&pre, true);
	imap_parser_limits_default(&post, false);
	assert_true(pre.line_max >= 8192);
	assert_true(pre.line_max < post.line_max);
	assert_true(pre.literal_max < post.literal_max);
	assert_true(pre.depth_max < post.depth_max);
	assert_true(pre.args_max < post.args_max);

	/* A line a little over the pre-login limit. */
	memset(line, 'x', sizeof(line));
	memcpy(line, "a X ", 4);
	memcpy(line + sizeof(line) - 2, "\r\n", 2);
	check_limits(&pre, line, sizeof(line), "ERR LINE a");
	parser = imap_parser_new(&post);
	got = transcript(parser, line, sizeof(line), 4096);
	assert_int_equal(strncmp(got, "DONE a X xxx", 12), 0);
	free(got);

	/* A literal over the pre-login limit. */
	n = (size_t)snprintf(lit, sizeof(lit), "a LOGIN {%llu}\r\n",
	    (unsigned long long)pre.literal_max + 1);
	check_limits(&pre, lit, n, "ERR LITERAL a");
	check_limits(&post, lit, n, "CONT");

	/* Depth. */
	check_limits(&pre, "a ID (((x)))\r\n", 14, "ERR DEEP a");
	check_limits(&post, "a ID (((x)))\r\n", 14, "DONE a ID (((x)))");

	/* After login the session raises the limits between commands. */
	imap_parser_reset(parser);
	imap_parser_set_limits(parser, &pre);
	free(transcript(parser, "a LOGIN u p\r\n", 13, 1));
	imap_parser_set_limits(parser, &post);
	got = transcript(parser, "b ID (((x)))\r\n", 14, 1);
	assert_string_equal(got, "DONE b ID (((x)))");
	free(got);
	(void)expected;
	imap_parser_free(&parser);
}

/*
 * "<tag> <name> (" and RFC 2971's largest ID list: IMAP_ID_PAIRS_MAX
 * pairs of a field of IMAP_ID_FIELD_MAX octets and a value of
 * value_len, quoted or as {n+} literals, with extra more "x" in the
 * last value. Sets *expected to the transcript of a DONE.
 */
static void
id_command(struct buf *in, struct buf *expected, const char *name,
    size_t value_len, bool literals, size_t extra)
{
	buf_init(in, 0);
	buf_init(expected, 0);
	buf_printf(in, "a %s (", name);
	buf_printf(expected, "DONE a %s (", name);
	for (unsigned int i = 0; i < IMAP_ID_PAIRS_MAX; i++) {
		size_t vlen = value_len + (i + 1 == IMAP_ID_PAIRS_MAX ?
		    extra : 0);
		char field[IMAP_ID_FIELD_MAX + 1];

		memset(field, 'f', IMAP_ID_FIELD_MAX);
		(void)snprintf(field, sizeof(field), "%02u", i);
		field[2] = 'f';
		field[IMAP_ID_FIELD_MAX] = '\0';
		if (i > 0) {
			buf_printf(in, " ");
			buf_printf(expected, " ");
		}
		if (literals) {
			buf_printf(in, "{%d+}\r\n%s {%zu+}\r\n",
			    IMAP_ID_FIELD_MAX, field, vlen);
			buf_printf(expected, "{%d}%s {%zu}", IMAP_ID_FIELD_MAX,
			    field, vlen);
		} else {
			buf_printf(in, "\"%s\" \"", field);
			buf_printf(expected, "\"%s\" \"", field);
		}
		for (size_t j = 0; j < vlen; j++) {
			buf_printf(in, "%c", j < value_len ? 'v' : 'x');
			buf_printf(expected, "%c", j < value_len ? 'v' : 'x');
		}
		if (!literals) {
			buf_printf(in, "\"");
			buf_printf(expected, "\"");
		}
	}
	buf_printf(in, ")\r\n");
	buf_printf(expected, ")");
}

/*
 * Before login ID (RFC 2971) may carry 30 pairs of a 30-octet field
 * and a 1024-octet value, quoted or as literals, over the pre-login
 * line and literal limits; other commands may not, and ID is bounded
 * too.
 */
static void
test_limits_prelogin_id(void **state)
{
	struct imap_parser_limits pre;
	struct buf in, expected;
	size_t over;

	(void)state;
	imap_parser_limits_default(&pre, true);
	id_command(&in, &expected, "ID", IMAP_ID_VALUE_MAX, false, 0);
	assert_true(in.len > pre.line_max);
	check_limits(&pre, (const char *)in.data, in.len, buf_cstr(&expected));
	buf_free(&in);
	buf_free(&expected);
	id_command(&in, &expected, "id", IMAP_ID_VALUE_MAX, true, 0);
	check_limits(&pre, (const char *)in.data, in.len, buf_cstr(&expected));
	buf_free(&in);
	buf_free(&expected);

	/* The same line is too long for any other command. */
	id_command(&in, &expected, "NOOP", IMAP_ID_VALUE_MAX, false, 0);
	check_limits(&pre, (const char *)in.data, in.len, "ERR LINE a");
	buf_free(&in);
	buf_free(&expected);
	id_command(&in, &expected, "LOGIN", IMAP_ID_VALUE_MAX, true, 0);
	check_limits(&pre, (const char *)in.data, in.len, "ERR LITERAL a");
	buf_free(&in);
	buf_free(&expected);

	/* ID's own limits hold: a byte more of line or literal fails. */
	id_command(&in, &expected, "ID", IMAP_ID_VALUE_MAX, false, 0);
	over = IMAP_ID_LINE_MAX_PRELOGIN + 1 - in.len;
	buf_free(&in);
	buf_free(&expected);
	id_command(&in, &expected, "ID", IMAP_ID_VALUE_MAX, false, over);
	assert_int_equal(in.len, IMAP_ID_LINE_MAX_PRELOGIN + 1);
	check_limits(&pre, (const char *)in.data, in.len, "ERR LINE a");
	buf_free(&in);
	buf_free(&expected);
	id_command(&in, &expected, "ID", IMAP_ID_VALUE_MAX, true, 1);
	check_limits(&pre, (const char *)in.data, in.len, "ERR LITERAL a");
	buf_free(&in);
	buf_free(&expected);
}

static void
test_recovery(void **state)
{
	(void)state;
	CHECK("a FETCH (1\r\nb NOOP\r\n", "ERR SYNTAX a | DONE b NOOP");
	/* Arguments are generic: the command table rejects these. */
	CHECK("GET / HTTP/1.0\r\nHost: x\r\n\r\na NOOP\r\n",
	    "DONE GET / HTTP/1.0 | DONE Host: x | DONE a NOOP");
	CHECK("a X \x80\x81\x82 {3+}\r\n\r\n\r\r\nb NOOP\r\n",
	    "ERR SYNTAX a | DONE b NOOP");
	/* A sync literal in the skipped part: the client waits for a
	 * "+ " that never comes, so the command ends with that line. */
	CHECK("a X ) {5}\r\nb NOOP\r\n", "ERR SYNTAX a | DONE b NOOP");
	/* Literal-like text that is not at the line end. */
	CHECK("a X ) {5+} x\r\nb NOOP\r\n", "ERR SYNTAX a | DONE b NOOP");
	/* Errors in a row. */
	CHECK("a X )\r\nb X )\r\nc X )\r\nd NOOP\r\n",
	    "ERR SYNTAX a | ERR SYNTAX b | ERR SYNTAX c | DONE d NOOP");
}

/* A parser with the post-login limits. */
static struct imap_parser *
parser_new(void)
{
	struct imap_parser_limits l;

	imap_parser_limits_default(&l, false);
	return imap_parser_new(&l);
}

/* What one imap_parser_feed() returned besides its result. */
struct feed {
	const struct imap_command *cmd;
	const char *error;
	size_t consumed;
};

static int
feed(struct imap_parser *parser, const char *data, size_t len,
    struct feed *f)
{
	return imap_parser_feed(parser, data, len, &f->consumed, &f->cmd,
	    &f->error);
}

/* Feed len bytes at data, expecting result with consumed bytes used. */
static void
expect_feed(struct imap_parser *parser, const char *data, size_t len,
    int result, size_t consumed, struct feed *f)
{
	assert_int_equal(feed(parser, data, len, f), result);
	assert_int_equal(f->consumed, consumed);
}

/*
 * Feed the len bytes at in, at most chunk at a time, until a command is
 * done; returns it, with *off_r the bytes used. Every other result must
 * be IMAP_PARSE_MORE, or IMAP_PARSE_NEED_CONTINUATION where conts_r is
 * not NULL, which counts those.
 */
static const struct imap_command *
feed_chunked(struct imap_parser *parser, const char *in, size_t len,
    size_t chunk, size_t *off_r, int *conts_r)
{
	struct feed f;
	size_t off = 0;
	int r;

	for (;;) {
		size_t n = len - off;

		assert_true(off < len);
		if (n > chunk)
			n = chunk;
		r = feed(parser, in + off, n, &f);
		off += f.consumed;
		if (r == IMAP_PARSE_DONE)
			break;
		if (r == IMAP_PARSE_NEED_CONTINUATION && conts_r != NULL)
			(*conts_r)++;
		else
			assert_int_equal(r, IMAP_PARSE_MORE);
	}
	*off_r = off;
	return f.cmd;
}

/*
 * literal8 (RFC 3516 section 4.4): "~{n}" and, with LITERAL+, "~{n+}"
 * carry binary data, NULs kept; the argument is a literal marked
 * literal8. "~" anywhere else is an atom character.
 */
static void
test_literal8(void **state)
{
	struct imap_parser *parser;
	const char *s;
	struct feed f;

	(void)state;
	CHECK("a APPEND INBOX ~{3}\r\na\0b\r\n",
	    "CONT | DONE a APPEND INBOX ~{3}a\\x00b");
	CHECK("a APPEND INBOX (\\Seen) ~{3+}\r\nxyz ~{0}\r\n\r\n",
	    "CONT | DONE a APPEND INBOX (\\Seen) ~{3}xyz ~{0}");
	/* MULTIAPPEND: literal8 and literal mixed, in a list too. */
	CHECK("a APPEND X ~{1+}\r\n\0 {1+}\r\n\0 (~{2+}\r\nab)\r\n",
	    "DONE a APPEND X ~{1}\\x00 {1}\\x00 (~{2}ab)");
	CHECK("a X ~ ~a a~ ~~\r\n", "DONE a X ~ ~a a~ ~~");
	/* Only a "~" alone right before "{" makes literal8. */
	CHECK("a X a~{1}\r\nb NOOP\r\n", "ERR SYNTAX a | DONE b NOOP");
	CHECK("a X ~~{1}\r\nb NOOP\r\n", "ERR SYNTAX a | DONE b NOOP");
	CHECK("a X ~{x}\r\nb NOOP\r\n", "ERR SYNTAX a | DONE b NOOP");
	CHECK("a X ~{}\r\nb NOOP\r\n", "ERR SYNTAX a | DONE b NOOP");
	CHECK("a X ~{1+\r\nb NOOP\r\n", "ERR SYNTAX a | DONE b NOOP");
	/* A bad command's ~{n+} data is skipped like a {n+}'s. */
	CHECK("a X ) ~{3+}\r\n\r\nb\r\nc NOOP\r\n",
	    "ERR SYNTAX a | DONE c NOOP");
	/* The command's literal limit counts literal8 too. */
	CHECK_SMALL("a X ~{6+}\r\nabcdef ~{5+}\r\nabcde\r\nb NOOP\r\n",
	    "ERR LITERAL a | DONE b NOOP");

	/* No string helper takes a literal8, NUL or not: only APPEND's
	 * message may be one. */
	parser = parser_new();
	expect_feed(parser, "a LOGIN ~{5+}\r\nalice ~{1+}\r\nx\r\n", 31,
	    IMAP_PARSE_DONE, 31, &f);
	assert_true(f.cmd->args[0].literal8);
	assert_false(f.cmd->args[0].has_nul);
	assert_false(imap_arg_get_astring(&f.cmd->args[0], &s));
	assert_false(imap_arg_get_string(&f.cmd->args[0], &s));
	assert_false(imap_arg_get_nstring(&f.cmd->args[1], &s));
	/* A plain literal after one is not literal8. */
	expect_feed(parser, "b LOGIN ~{1+}\r\na {1+}\r\nb\r\n", 26,
	    IMAP_PARSE_DONE, 26, &f);
	assert_true(f.cmd->args[0].literal8);
	assert_false(f.cmd->args[1].literal8);
	assert_true(imap_arg_get_astring(&f.cmd->args[1], &s));
	assert_string_equal(s, "b");
	imap_parser_free(&parser);
}

static void
test_error_message(void **state)
{
	struct imap_parser *parser;
	struct feed f;
	static const char in[] = "tag1 X \"abc\x80\"\r\n";

	(void)state;
	parser = parser_new();
	expect_feed(parser, in, sizeof(in) - 1, IMAP_PARSE_ERROR, 11, &f);
	assert_null(f.cmd);
	assert_string_equal(imap_parser_tag(parser), "tag1");
	assert_int_equal(imap_parser_error_code(parser),
	    IMAP_PARSE_ERROR_SYNTAX);
	assert_non_null(strstr(f.error, "0x80"));
	assert_non_null(strstr(f.error, "abc"));
	for (const char *s = f.error; *s != '\0'; s++)
		assert_true(*s >= 0x20 && *s < 0x7f);
	/* The rest of the line is skipped on the next feed. */
	assert_int_equal(feed(parser, in + f.consumed,
	    sizeof(in) - 1 - f.consumed, &f),
	    IMAP_PARSE_MORE);
	assert_int_equal(imap_parser_error_code(parser),
	    IMAP_PARSE_ERROR_NONE);
	imap_parser_free(&parser);
	imap_parser_free(&parser);
}

static void
test_pipelining_and_api(void **state)
{
	struct imap_parser *parser;
	const char *s;
	struct feed f;
	static const char in[] = "a LOGIN \"u\" {1+}\r\np\r\nb SELECT NIL\r\n"
	    "c FETCH 1 (BODY[] x";

	(void)state;
	parser = parser_new();
	expect_feed(parser, in, sizeof(in) - 1, IMAP_PARSE_DONE, 21, &f);
	assert_string_equal(f.cmd->tag, "a");
	assert_string_equal(f.cmd->name, "LOGIN");
	assert_int_equal(f.cmd->args_count, 2);
	assert_true(imap_arg_get_astring(&f.cmd->args[0], &s));
	assert_string_equal(s, "u");
	assert_true(imap_arg_get_string(&f.cmd->args[1], &s));
	assert_string_equal(s, "p");
	assert_false(imap_arg_get_atom(&f.cmd->args[1], &s));

	expect_feed(parser, in + 21, sizeof(in) - 22, IMAP_PARSE_DONE, 14, &f);
	assert_int_equal(f.cmd->args[0].type, IMAP_ARG_NIL);
	assert_true(imap_arg_get_astring(&f.cmd->args[0], &s));
	assert_string_equal(s, "NIL");
	assert_true(imap_arg_get_nstring(&f.cmd->args[0], &s));
	assert_null(s);
	assert_false(imap_arg_atom_equals(&f.cmd->args[0], "NIL"));

	expect_feed(parser, in + 35, sizeof(in) - 36,
	    IMAP_PARSE_MORE, sizeof(in) - 36, &f);
	assert_string_equal(imap_parser_tag(parser), "c");
	/* Reset drops the half-read command. */
	imap_parser_reset(parser);
	assert_null(imap_parser_tag(parser));
	assert_int_equal(feed(parser, "d NOOP\r\n", 8, &f), IMAP_PARSE_DONE);
	assert_true(imap_arg_atom_equals(&(struct imap_arg){
	    .type = IMAP_ARG_ATOM, .str = (char *)"Fetch" }, "FETCH"));
	assert_string_equal(f.cmd->name, "NOOP");
	imap_parser_free(&parser);
}

/*
 * A NUL inside a literal is kept as data, but such a literal is no C
 * string: LOGIN {10+} "alice\0evil" must not become user "alice". The
 * flag is set whether the NUL arrives in the first, a middle or the last
 * piece of the literal.
 */
static void
test_literal_nul(void **state)
{
	static const char in[] = "a LOGIN {10+}\r\nalice\0evil {4+}\r\np\0ss "
	    "{5+}\r\nplain \"q\"\r\n";
	static const size_t chunks[] = { 1, 3, sizeof(in) - 1 };
	const char *s;

	(void)state;
	for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		struct imap_parser *parser = parser_new();
		const struct imap_command *cmd;
		size_t off;

		cmd = feed_chunked(parser, in, sizeof(in) - 1, chunks[c], &off,
		    NULL);
		assert_int_equal(off, sizeof(in) - 1);
		assert_non_null(cmd);
		assert_int_equal(cmd->args_count, 4);
		/* The bytes are all there... */
		assert_int_equal(cmd->args[0].len, 10);
		assert_memory_equal(cmd->args[0].str, "alice\0evil", 10);
		assert_true(cmd->args[0].has_nul);
		assert_true(cmd->args[1].has_nul);
		/* ...but no helper turns them into a C string. */
		for (unsigned int i = 0; i < 2; i++) {
			assert_false(imap_arg_get_astring(&cmd->args[i], &s));
			assert_false(imap_arg_get_string(&cmd->args[i], &s));
			assert_false(imap_arg_get_nstring(&cmd->args[i], &s));
		}
		assert_false(cmd->args[2].has_nul);
		assert_true(imap_arg_get_astring(&cmd->args[2], &s));
		assert_string_equal(s, "plain");
		assert_true(imap_arg_get_astring(&cmd->args[3], &s));
		assert_string_equal(s, "q");
		imap_parser_free(&parser);
	}
}

static void
test_section_fields(void **state)
{
	struct imap_parser *parser;
	const struct imap_arg *a;
	struct feed f;
	static const char in[] =
	    "a FETCH 1 BODY.PEEK[HEADER.FIELDS (From To)]<0.100>\r\n";

	(void)state;
	parser = parser_new();
	assert_int_equal(feed(parser, in, sizeof(in) - 1, &f), IMAP_PARSE_DONE);
	assert_int_equal(f.cmd->args_count, 2);
	a = &f.cmd->args[1];
	assert_int_equal(a->type, IMAP_ARG_SECTION);
	assert_string_equal(a->str, "BODY.PEEK");
	assert_string_equal(a->section, "HEADER.FIELDS");
	assert_true(a->has_list);
	assert_int_equal(a->list_count, 2);
	assert_string_equal(a->list[1].str, "To");
	assert_true(a->has_partial);
	assert_int_equal(a->partial_offset, 0);
	assert_int_equal(a->partial_size, 100);
	imap_parser_free(&parser);
}

static void
test_reject_literal(void **state)
{
	struct imap_parser *parser;
	const struct imap_arg *args;
	unsigned int count;
	struct feed f;
	static const char in[] = "a APPEND Nope {5}\r\nb NOOP\r\n";
	static const char flags[] = "c APPEND Box (\\Seen) {3}\r\n";
	static const char name_lit[] = "d APPEND {3}\r\n";

	(void)state;
	parser = parser_new();
	expect_feed(parser, in, sizeof(in) - 1,
	    IMAP_PARSE_NEED_CONTINUATION, 19, &f);
	assert_string_equal(imap_parser_tag(parser), "a");
	assert_string_equal(imap_parser_name(parser), "APPEND");
	/* What the session looks at to decide: the mailbox before it. */
	args = imap_parser_args_before_literal(parser, &count);
	assert_int_equal(count, 1);
	assert_int_equal(args[0].type, IMAP_ARG_ATOM);
	assert_string_equal(args[0].str, "Nope");
	/* The session answers "a NO [TRYCREATE]" instead of "+ ". */
	imap_parser_reject_literal(parser);
	assert_null(imap_parser_tag(parser));
	assert_int_equal(feed(parser, in + 19, sizeof(in) - 20, &f),
	    IMAP_PARSE_DONE);
	assert_string_equal(f.cmd->tag, "b");
	assert_int_equal(f.cmd->args_count, 0);
	/* a flag list before the literal counts; the literal does not */
	expect_feed(parser, flags, sizeof(flags) - 1,
	    IMAP_PARSE_NEED_CONTINUATION, sizeof(flags) - 1, &f);
	args = imap_parser_args_before_literal(parser, &count);
	assert_int_equal(count, 2);
	assert_string_equal(args[0].str, "Box");
	assert_int_equal(args[1].type, IMAP_ARG_LIST);
	imap_parser_reject_literal(parser);
	/* a mailbox sent as the literal is not complete yet */
	expect_feed(parser, name_lit, sizeof(name_lit) - 1,
	    IMAP_PARSE_NEED_CONTINUATION, sizeof(name_lit) - 1, &f);
	(void)imap_parser_args_before_literal(parser, &count);
	assert_int_equal(count, 0);
	imap_parser_free(&parser);
}

/* A literal sink that keeps what it was given, for test_literal_sink. */
struct fake_sink {
	int opened, freed;
	int done;			/* literals completed */
	size_t done_len;		/* bytes written when last told */
	uint64_t announced;
	char data[64];
	size_t len;
};

static void *
fake_open(void *ctx, uint64_t size)
{
	struct fake_sink *fs = ctx;

	fs->opened++;
	fs->announced = size;
	fs->len = 0;
	return fs;
}

static void
fake_write(void *handle, const void *data, size_t len)
{
	struct fake_sink *fs = handle;

	assert_true(fs->len + len <= sizeof(fs->data));
	memcpy(fs->data + fs->len, data, len);
	fs->len += len;
}

static void
fake_done(void *handle)
{
	struct fake_sink *fs = handle;

	fs->done++;
	fs->done_len = fs->len;
}

static void
fake_free(void *handle)
{
	struct fake_sink *fs = handle;

	fs->freed++;
}

/*
 * Literals over the sink's inline_max go to the sink as they arrive,
 * whatever the pieces; smaller ones stay in memory. The handle is freed
 * with its command: after the next feed, on a bad command, and when the
 * parser goes mid-literal.
 */
static void
test_literal_sink(void **state)
{
	static const char in[] = "a APPEND INBOX {5+}\r\nsmall {20+}\r\n"
	    "0123456789abcdefghij\r\nb NOOP\r\n";
	static const size_t chunks[] = { 1, 3, sizeof(in) - 1 };
	struct fake_sink fs;
	struct imap_literal_sink sink = {
		.inline_max = 10, .open = fake_open, .write = fake_write,
		.done = fake_done, .free = fake_free, .ctx = &fs,
	};
	const char *s;

	(void)state;
	for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		struct imap_parser *parser = parser_new();
		const struct imap_command *cmd;
		size_t off;
		struct feed f;

		memset(&fs, 0, sizeof(fs));
		imap_parser_set_literal_sink(parser, &sink);
		cmd = feed_chunked(parser, in, sizeof(in) - 1, chunks[c], &off,
		    NULL);
		assert_int_equal(cmd->args_count, 3);
		assert_null(cmd->args[1].spool);
		assert_true(imap_arg_get_string(&cmd->args[1], &s));
		assert_string_equal(s, "small");
		assert_ptr_equal(cmd->args[2].spool, &fs);
		assert_int_equal(cmd->args[2].len, 20);
		assert_int_equal(fs.announced, 20);
		assert_int_equal(fs.len, 20);
		assert_memory_equal(fs.data, "0123456789abcdefghij", 20);
		assert_false(imap_arg_get_string(&cmd->args[2], &s));
		assert_int_equal(fs.opened, 1);
		assert_int_equal(fs.freed, 0);
		assert_int_equal(fs.done, 1);
		assert_int_equal(fs.done_len, 20);
		/* The next command frees the last one's literal. */
		expect_feed(parser, in + off, sizeof(in) - 1 - off,
		    IMAP_PARSE_DONE, sizeof(in) - 1 - off, &f);
		assert_int_equal(fs.freed, 1);

		/* A bad command after its literal. */
		static const char bad[] = "c X {12+}\r\n0123456789ab\"\r\n";
		expect_feed(parser, bad, sizeof(bad) - 1, IMAP_PARSE_ERROR, 23,
		    &f);
		assert_int_equal(fs.opened, 2);
		expect_feed(parser, bad + 23, 3, IMAP_PARSE_MORE, 3, &f);
		assert_int_equal(fs.freed, 2);

		/* The parser freed mid-literal. */
		expect_feed(parser, "d X {30+}\r\n0123", 16, IMAP_PARSE_MORE, 16,
		    &f);
		assert_int_equal(fs.opened, 3);
		imap_parser_free(&parser);
		assert_int_equal(fs.freed, 3);
		/* Only whole literals were done. */
		assert_int_equal(fs.done, 2);
	}
}

/*
 * The command's literals in memory are bounded as a sum too: once the
 * next one would pass inline_total_max it goes to the sink, however
 * small, and later ones that still fit stay in memory. Fed whole, byte
 * by byte and in pieces; synchronising literals alike.
 */
static void
test_literal_sink_total(void **state)
{
	static const char in[] = "a APPEND X {4+}\r\nabcd {6}\r\nefghij "
	    "{3+}\r\nklm {0+}\r\n {2}\r\nno {3+}\r\npqr\r\n";
	static const size_t chunks[] = { 1, 2, 5, sizeof(in) - 1 };
	struct fake_sink fs;
	struct imap_literal_sink sink = {
		.inline_max = 10, .inline_total_max = 12, .open = fake_open,
		.write = fake_write, .done = fake_done, .free = fake_free,
		.ctx = &fs,
	};

	(void)state;
	for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		struct imap_parser *parser = parser_new();
		const struct imap_command *cmd;
		size_t off;
		struct feed f;
		int conts = 0;

		memset(&fs, 0, sizeof(fs));
		imap_parser_set_literal_sink(parser, &sink);
		cmd = feed_chunked(parser, in, sizeof(in) - 1, chunks[c], &off,
		    &conts);
		assert_int_equal(off, sizeof(in) - 1);
		assert_int_equal(conts, 2);
		assert_int_equal(cmd->args_count, 7);
		/* 4 + 6 in memory; 3 would make 13: to the sink. */
		assert_null(cmd->args[1].spool);
		assert_null(cmd->args[2].spool);
		assert_memory_equal(cmd->args[2].str, "efghij", 6);
		assert_ptr_equal(cmd->args[3].spool, &fs);
		assert_int_equal(cmd->args[3].len, 3);
		/* Empty, and 2 that make exactly 12: in memory. */
		assert_null(cmd->args[4].spool);
		assert_null(cmd->args[5].spool);
		assert_memory_equal(cmd->args[5].str, "no", 2);
		/* Then the bound is reached. */
		assert_ptr_equal(cmd->args[6].spool, &fs);
		assert_int_equal(fs.opened, 2);
		assert_int_equal(fs.done, 2);
		assert_memory_equal(fs.data, "pqr", 3);
		imap_parser_free(&parser);
		assert_int_equal(fs.freed, 2);

		/* The sum starts again with each command. */
		parser = parser_new();
		memset(&fs, 0, sizeof(fs));
		imap_parser_set_literal_sink(parser, &sink);
		expect_feed(parser, "a X {9+}\r\n123456789\r\n", 21,
		    IMAP_PARSE_DONE, 21, &f);
		expect_feed(parser, "b X {9+}\r\n123456789\r\n", 21,
		    IMAP_PARSE_DONE, 21, &f);
		assert_null(f.cmd->args[0].spool);
		assert_int_equal(fs.opened, 0);
		imap_parser_free(&parser);
	}
}

/* SORT, THREAD and ESORT (RFC 5256, 5267) need no grammar of their
 * own: their lists, atoms and charsets parse as any command's. */
static void
test_sort_thread(void **state)
{
	(void)state;
	CHECK("a SORT (REVERSE DATE SUBJECT) UTF-8 ALL\r\n",
	    "DONE a SORT (REVERSE DATE SUBJECT) UTF-8 ALL");
	CHECK("a UID SORT (ARRIVAL) \"us-ascii\" UNSEEN SINCE 1-Feb-1994\r\n",
	    "DONE a UID SORT (ARRIVAL) \"us-ascii\" UNSEEN SINCE 1-Feb-1994");
	CHECK("a SORT RETURN (MIN MAX COUNT ALL) (DISPLAYFROM) UTF-8 "
	    "OR FROM x (TO y)\r\n",
	    "DONE a SORT RETURN (MIN MAX COUNT ALL) (DISPLAYFROM) UTF-8 "
	    "OR FROM x (TO y)");
	CHECK("a SORT RETURN () (SIZE) UTF-8 1:*\r\n",
	    "DONE a SORT RETURN () (SIZE) UTF-8 1:*");
	CHECK("a THREAD REFERENCES UTF-8 ALL\r\n",
	    "DONE a THREAD REFERENCES UTF-8 ALL");
	CHECK("a UID THREAD ORDEREDSUBJECT UTF-8 SUBJECT {3+}\r\nfoo\r\n",
	    "DONE a UID THREAD ORDEREDSUBJECT UTF-8 SUBJECT {3}foo");
	/* An unclosed criteria list is a syntax error at the line end. */
	CHECK("a SORT (DATE UTF-8 ALL\r\n", "ERR SYNTAX a");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tags_and_atoms),
		cmocka_unit_test(test_list_extended),
		cmocka_unit_test(test_quoted),
		cmocka_unit_test(test_literal_sync),
		cmocka_unit_test(test_literal_plus),
		cmocka_unit_test(test_literal8),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_search_return),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_brackets_in_atoms),
		cmocka_unit_test(test_line_ends),
		cmocka_unit_test(test_limit_line),
		cmocka_unit_test(test_limit_literal),
		cmocka_unit_test(test_limit_args),
		cmocka_unit_test(test_limits_prelogin),
		cmocka_unit_test(test_limits_prelogin_id),
		cmocka_unit_test(test_recovery),
		cmocka_unit_test(test_error_message),
		cmocka_unit_test(test_pipelining_and_api),
		cmocka_unit_test(test_section_fields),
		cmocka_unit_test(test_literal_nul),
		cmocka_unit_test(test_literal_sink),
		cmocka_unit_test(test_literal_sink_total),
		cmocka_unit_test(test_reject_literal),
		cmocka_unit_test(test_sort_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
