/*
 * The IMAP command grammar one byte at a time: what each byte means in
 * each state of the parser (RFC 3501 9, with LITERAL+ of RFC 7888), the
 * argument tree it builds, and the sanitised error texts for a byte
 * that does not fit. imap-parser.c feeds it and skips bad commands.
 */
#include "imap/imap-parser-private.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/error.h"
#include "lib/limits.h"
#include "lib/strnum.h"
#include "lib/xmalloc.h"

/* RFC 3501 ATOM-CHAR: CHAR except atom-specials. */
static bool
is_atom_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	switch (c) {
	case '(': case ')': case '{': case '%': case '*': case '"':
	case '\\': case ']':
		return false;
	default:
		return true;
	}
}

/* What an atom argument may hold: ATOM-CHAR plus "]" (astring), "%"
 * and "*" (list-mailbox, sequence sets) and "\" (flags). */
static bool
is_arg_atom_char(unsigned char c)
{
	return is_atom_char(c) || c == ']' || c == '%' || c == '*' ||
	    c == '\\';
}

/* A tag is 1*<any ASTRING-CHAR except "+">. */
static bool
is_tag_char(unsigned char c)
{
	return (is_atom_char(c) || c == ']') && c != '+';
}

/* Append a new, zeroed argument to the innermost open list. Only that
 * list's array moves, and none of its elements is open, so the stack
 * and the literal and section pointers stay valid. */
static struct imap_arg *
arg_append(struct imap_parser *p, enum imap_arg_type type)
{
	struct imap_arg *parent = p->stack[p->depth];
	struct imap_arg *arg;

	if (parent->list_count == parent->list_cap) {
		unsigned int cap = parent->list_cap == 0 ? 4 :
		    parent->list_cap * 2;

		parent->list = xreallocarray(parent->list, cap,
		    sizeof(*parent->list));
		memset(parent->list + parent->list_cap, 0,
		    (cap - parent->list_cap) * sizeof(*parent->list));
		parent->list_cap = cap;
	}
	arg = &parent->list[parent->list_count++];
	arg->type = type;
	return arg;
}

static char *
tok_take(struct imap_parser *p, size_t *len_r)
{
	char *s = xstrndup(buf_cstr(&p->tok), p->tok.len);

	if (len_r != NULL)
		*len_r = p->tok.len;
	buf_reset(&p->tok);
	return s;
}

/* Describe byte c for an error message without echoing control or
 * 8-bit bytes to the client. */
static void
byte_describe(unsigned char c, char *out, size_t size)
{
	if (c > 0x20 && c < 0x7f && c != '"' && c != '\\')
		(void)snprintf(out, size, "'%c'", c);
	else if (c == ' ')
		(void)snprintf(out, size, "space");
	else
		(void)snprintf(out, size, "0x%02X", c);
}

/* The last bytes of the token, printable ASCII only. */
static void
tok_describe(const struct imap_parser *p, char *out, size_t size)
{
	const unsigned char *s = p->tok.data;
	size_t len = p->tok.len, i, o = 0;
	const size_t keep = 24;

	if (len > keep) {
		s += len - keep;
		len = keep;
		o = (size_t)snprintf(out, size, "...");
	}
	for (i = 0; i < len && o + 1 < size; i++) {
		unsigned char c = s[i];

		out[o++] = c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ?
		    (char)c : '?';
	}
	out[o < size ? o : size - 1] = '\0';
}

/* Record an error and switch to skipping the rest of the command. The
 * offending byte is not consumed: the skip machine looks at it again,
 * so a literal announcement in progress is followed to its end. */
static enum step
parse_error(struct imap_parser *p, enum imap_parse_error code,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static enum step
parse_error(struct imap_parser *p, enum imap_parse_error code,
    const char *fmt, ...)
{
	char text[ERROR_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	p->error = error_fmt("%s", text);
	p->error_code = code;

	switch (p->state) {
	case STATE_LITERAL_OPEN:
		p->skip_lit = SKIP_LIT_OPEN;
		break;
	case STATE_LITERAL_SIZE:
		p->skip_lit = SKIP_LIT_SIZE;
		break;
	case STATE_LITERAL_PLUS:
		p->skip_lit = SKIP_LIT_PLUS;
		break;
	case STATE_LITERAL_CLOSE:
		p->skip_lit = SKIP_LIT_CLOSE;
		break;
	case STATE_LITERAL_CR:
		p->skip_lit = SKIP_LIT_CR;
		break;
	default:
		p->skip_lit = SKIP_LIT_NONE;
		p->literal_size = 0;
		p->literal_nonsync = false;
		break;
	}
	p->state = STATE_SKIP_LINE;
	return STEP_ERROR;
}

static enum step
syntax_error(struct imap_parser *p, unsigned char c, const char *where)
{
	char bytes[16], tok[40];

	byte_describe(c, bytes, sizeof(bytes));
	if (p->tok.len == 0)
		return parse_error(p, IMAP_PARSE_ERROR_SYNTAX,
		    "Unexpected %s %s", bytes, where);
	tok_describe(p, tok, sizeof(tok));
	return parse_error(p, IMAP_PARSE_ERROR_SYNTAX,
	    "Unexpected %s %s after \"%s\"", bytes, where, tok);
}

static enum step
tok_add(struct imap_parser *p, unsigned char c)
{
	/* line_max bounds the token before this can fail. */
	if (buf_append(&p->tok, &c, 1) < 0)
		return parse_error(p, IMAP_PARSE_ERROR_LINE_TOO_LONG,
		    "Command line too long");
	return STEP_NEXT;
}

/* A token starts: count it against args_max. */
static enum step
arg_start(struct imap_parser *p)
{
	if (p->args_count >= p->limits.args_max)
		return parse_error(p, IMAP_PARSE_ERROR_TOO_MANY_ARGS,
		    "Too many arguments (the limit is %u)",
		    p->limits.args_max);
	p->args_count++;
	return STEP_NEXT;
}

static bool
in_header_list(const struct imap_parser *p)
{
	return p->stack[p->depth]->type == IMAP_ARG_SECTION;
}

static enum step
list_open(struct imap_parser *p, struct imap_arg *arg)
{
	p->stack[++p->depth] = arg;
	p->need_sep = false;
	return STEP_NEXT;
}

static void
atom_finish(struct imap_parser *p)
{
	struct imap_arg *arg;
	bool nil = p->tok.len == 3 &&
	    strncasecmp((const char *)p->tok.data, "NIL", 3) == 0;

	arg = arg_append(p, nil ? IMAP_ARG_NIL : IMAP_ARG_ATOM);
	arg->str = tok_take(p, &arg->len);
	p->need_sep = true;
	p->state = STATE_ARGS;
}

static enum step
command_finish(struct imap_parser *p)
{
	p->cmd.tag = p->tag;
	p->cmd.name = p->name;
	p->cmd.args = p->root.list;
	p->cmd.args_count = p->root.list_count;
	p->state = STATE_DONE;
	return STEP_DONE;
}

/* The line ends at c (CR or LF) in STATE_ARGS or STATE_NAME. */
static enum step
line_end(struct imap_parser *p, unsigned char c)
{
	if (p->depth > 0)
		return parse_error(p, IMAP_PARSE_ERROR_SYNTAX,
		    "Missing ')' at the end of the line");
	if (c == '\r') {
		p->cr_empty = false;
		p->state = STATE_CR;
		return STEP_NEXT;
	}
	return command_finish(p);
}

/* The literal announced goes to the sink: it is large, or the
 * command's literals in memory would pass the sink's bound with it. */
static bool
literal_to_sink(const struct imap_parser *p)
{
	if (p->sink.open == NULL)
		return false;
	if (p->literal_size > p->sink.inline_max)
		return true;
	/* literal_inline <= inline_total_max, so no underflow. */
	return p->sink.inline_total_max > 0 &&
	    p->literal_size > p->sink.inline_total_max - p->literal_inline;
}

/* The LF after {n} or {n+} was read: the literal data follows. */
static enum step
literal_begin(struct imap_parser *p)
{
	struct imap_arg *arg = arg_append(p, IMAP_ARG_LITERAL);

	/* literal_size <= literal_max, checked digit by digit. */
	p->literal_total += p->literal_size;
	arg->len = 0;
	arg->literal8 = p->literal8;
	p->literal8 = false;
	if (literal_to_sink(p)) {
		arg->str = xcalloc(1, 1);
		arg->spool = p->sink.open(p->sink.ctx, p->literal_size);
		assert(arg->spool != NULL);
	} else {
		p->literal_inline += p->literal_size;
		arg->str = xcalloc(1, (size_t)p->literal_size + 1);
	}
	if (p->literal_size == 0) {
		p->need_sep = true;
		p->state = STATE_ARGS;
	} else {
		p->literal_arg = arg;
		p->state = STATE_LITERAL_DATA;
	}
	return p->literal_nonsync ? STEP_NEXT : STEP_CONTINUE;
}

static enum step
args_byte(struct imap_parser *p, unsigned char c)
{
	enum step ret;

	switch (c) {
	case ' ':
		p->need_sep = false;
		return STEP_NEXT;
	case '\r':
	case '\n':
		return line_end(p, c);
	case ')':
		if (p->depth == 0)
			return syntax_error(p, c, "outside a list");
		p->depth--;
		p->need_sep = true;
		if (p->stack[p->depth + 1]->type == IMAP_ARG_SECTION)
			p->state = STATE_SECTION_CLOSE;
		return STEP_NEXT;
	default:
		break;
	}
	if (p->need_sep)
		return syntax_error(p, c, "where a space was expected");
	if (c == '(' && in_header_list(p))
		return syntax_error(p, c, "in a header list");
	if (c != '(' && c != '"' && c != '{' && !is_arg_atom_char(c))
		return syntax_error(p, c, "at the start of an argument");
	if ((ret = arg_start(p)) != STEP_NEXT)
		return ret;

	switch (c) {
	case '(':
		if (p->depth >= p->limits.depth_max)
			return parse_error(p, IMAP_PARSE_ERROR_TOO_DEEP,
			    "Lists nested too deeply (the limit is %u)",
			    p->limits.depth_max);
		return list_open(p, arg_append(p, IMAP_ARG_LIST));
	case '"':
		p->state = STATE_QUOTED;
		return STEP_NEXT;
	case '{':
		p->literal_size = 0;
		p->literal_nonsync = false;
		p->literal8 = false;
		p->state = STATE_LITERAL_OPEN;
		return STEP_NEXT;
	default:
		p->state = STATE_ATOM;
		return tok_add(p, c);
	}
}

/* The command is FETCH or UID FETCH, or NOTIFY inside the fetch-att
 * list of a MessageNew event: its third level of parentheses (RFC 5465
 * 8), where no mailbox name can be. */
static bool
in_fetch(const struct imap_parser *p)
{
	const struct imap_arg *first = p->root.list;

	if (strcasecmp(p->name, "FETCH") == 0)
		return true;
	if (strcasecmp(p->name, "NOTIFY") == 0)
		return p->depth == 3;
	return strcasecmp(p->name, "UID") == 0 && p->root.list_count > 0 &&
	    first->type == IMAP_ARG_ATOM && strcasecmp(first->str, "FETCH") == 0;
}

/*
 * The atom read so far is a FETCH attribute that takes a section
 * (RFC 3501 fetch-att, RFC 3516 BINARY). Anywhere else "[" is an
 * ATOM-CHAR: "a[b" is a mailbox name, a password or a search string.
 */
static bool
takes_section(const struct imap_parser *p)
{
	static const char *const names[] = {
		"BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK", "BINARY.SIZE",
	};
	const char *tok = buf_cstr(&p->tok);

	if (in_header_list(p) || !in_fetch(p))
		return false;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(tok, names[i]) == 0)
			return true;
	return false;
}

static enum step
atom_byte(struct imap_parser *p, unsigned char c)
{
	struct imap_arg *arg;

	if (c == '[' && takes_section(p)) {
		/* NAME[section]: a FETCH attribute. */
		arg = arg_append(p, IMAP_ARG_SECTION);
		arg->str = tok_take(p, &arg->len);
		p->section_arg = arg;
		p->state = STATE_SECTION_TEXT;
		return STEP_NEXT;
	}
	if (is_arg_atom_char(c))
		return tok_add(p, c);
	if (c == '{' && p->tok.len == 1 && p->tok.data[0] == '~') {
		/* literal8 = "~{" number ["+"] "}" CRLF *OCTET (RFC 3516,
		 * with RFC 7888's "+"): a literal whose data may be
		 * binary. "~" is an atom char, so the token so far is
		 * just "~". */
		buf_reset(&p->tok);
		p->literal_size = 0;
		p->literal_nonsync = false;
		p->literal8 = true;
		p->state = STATE_LITERAL_OPEN;
		return STEP_NEXT;
	}
	/* The atom ends here; STATE_ARGS judges the delimiter. */
	atom_finish(p);
	return STEP_AGAIN;
}

static enum step
literal_size_byte(struct imap_parser *p, unsigned char c)
{
	uint64_t room = p->literal_max - p->literal_total;

	switch (c) {
	case '+':
		p->state = STATE_LITERAL_PLUS;
		p->literal_nonsync = true;
		return STEP_NEXT;
	case '}':
		p->state = STATE_LITERAL_CLOSE;
		return STEP_NEXT;
	default:
		break;
	}
	if (c < '0' || c > '9')
		return syntax_error(p, c, "in a literal size");
	if (str_num_push_digit(&p->literal_size, (char)c, room) < 0)
		return parse_error(p, IMAP_PARSE_ERROR_LITERAL_TOO_LARGE,
		    "Literal too large (the limit is %llu bytes per command)",
		    (unsigned long long)p->literal_max);
	return STEP_NEXT;
}

static enum step
section_byte(struct imap_parser *p, unsigned char c)
{
	struct imap_arg *arg = p->section_arg;

	switch (p->state) {
	case STATE_SECTION_TEXT:
		if (c == ']') {
			arg->section = tok_take(p, NULL);
			p->state = STATE_SECTION_END;
			return STEP_NEXT;
		}
		if (c == ' ') {
			arg->section = tok_take(p, NULL);
			p->state = STATE_SECTION_SP;
			return STEP_NEXT;
		}
		if (is_atom_char(c) && c != '[')
			return tok_add(p, c);
		return syntax_error(p, c, "in a section");
	case STATE_SECTION_SP:
		if (c != '(')
			return syntax_error(p, c, "where a header list was "
			    "expected");
		if (p->depth >= p->limits.depth_max)
			return parse_error(p, IMAP_PARSE_ERROR_TOO_DEEP,
			    "Lists nested too deeply (the limit is %u)",
			    p->limits.depth_max);
		arg->has_list = true;
		p->state = STATE_ARGS;
		return list_open(p, arg);
	case STATE_SECTION_CLOSE:
		if (c != ']')
			return syntax_error(p, c, "after a header list");
		p->state = STATE_SECTION_END;
		return STEP_NEXT;
	case STATE_SECTION_END:
		if (c == '<') {
			p->partial_num = 0;
			p->partial_digits = 0;
			p->state = STATE_PARTIAL_OFFSET;
			return STEP_NEXT;
		}
		p->section_arg = NULL;
		p->need_sep = true;
		p->state = STATE_ARGS;
		return STEP_AGAIN;
	case STATE_PARTIAL_OFFSET:
	case STATE_PARTIAL_SIZE:
		if (c >= '0' && c <= '9') {
			if (str_num_push_digit(&p->partial_num, (char)c,
			    UINT32_MAX) < 0)
				return syntax_error(p, c, "in a partial range");
			p->partial_digits++;
			return STEP_NEXT;
		}
		if (p->state == STATE_PARTIAL_OFFSET && c == '.' &&
		    p->partial_digits > 0) {
			arg->partial_offset = (uint32_t)p->partial_num;
			p->partial_num = 0;
			p->partial_digits = 0;
			p->state = STATE_PARTIAL_SIZE;
			return STEP_NEXT;
		}
		if (p->state == STATE_PARTIAL_SIZE && c == '>' &&
		    p->partial_num > 0) {
			arg->partial_size = (uint32_t)p->partial_num;
			arg->has_partial = true;
			p->section_arg = NULL;
			p->need_sep = true;
			p->state = STATE_ARGS;
			return STEP_NEXT;
		}
		return syntax_error(p, c, "in a partial range");
	default:
		abort();
	}
}

/* The tag, or an empty line (ignored). */
static enum step
tag_byte(struct imap_parser *p, unsigned char c)
{
	if (p->tok.len == 0 && (c == '\r' || c == '\n')) {
		/* An empty line: ignored. */
		if (c == '\n')
			return STEP_RESTART;
		p->cr_empty = true;
		p->state = STATE_CR;
		return STEP_NEXT;
	}
	if (c == ' ') {
		if (p->tok.len == 0)
			return syntax_error(p, c, "before the tag");
		p->tag = tok_take(p, NULL);
		p->state = STATE_NAME;
		return STEP_NEXT;
	}
	if (c == '\r' || c == '\n')
		return parse_error(p, IMAP_PARSE_ERROR_SYNTAX,
		    "Missing command name");
	if (!is_tag_char(c))
		return syntax_error(p, c, "in the tag");
	return tok_add(p, c);
}

/* ID (RFC 2971) may carry 30 field-value pairs of up to 1054 octets,
 * more than a pre-login line: the parser's ID limits apply to it. */
static void
id_limits(struct imap_parser *p)
{
	if (p->limits.id_line_max > p->line_max)
		p->line_max = p->limits.id_line_max;
	if (p->limits.id_literal_max > p->literal_max)
		p->literal_max = p->limits.id_literal_max;
}

/* The command name after the tag. */
static enum step
name_byte(struct imap_parser *p, unsigned char c)
{
	if (c == ' ' || c == '\r' || c == '\n') {
		if (p->tok.len == 0)
			return parse_error(p, IMAP_PARSE_ERROR_SYNTAX,
			    "Missing command name");
		p->name = tok_take(p, NULL);
		if (strcasecmp(p->name, "ID") == 0)
			id_limits(p);
		p->state = STATE_ARGS;
		p->need_sep = false;
		if (c == ' ')
			return STEP_NEXT;
		return line_end(p, c);
	}
	if (!is_atom_char(c))
		return syntax_error(p, c, "in the command name");
	return tok_add(p, c);
}

/* Inside a quoted string; the escape after a backslash is a state of
 * its own. */
static enum step
quoted_byte(struct imap_parser *p, unsigned char c)
{
	if (c == '"') {
		struct imap_arg *arg = arg_append(p, IMAP_ARG_STRING);

		arg->str = tok_take(p, &arg->len);
		p->need_sep = true;
		p->state = STATE_ARGS;
		return STEP_NEXT;
	}
	if (c == '\\') {
		p->state = STATE_QUOTED_ESCAPE;
		return STEP_NEXT;
	}
	if (c == '\r' || c == '\n')
		return parse_error(p, IMAP_PARSE_ERROR_SYNTAX,
		    "Unterminated quoted string");
	if (c == '\0' || c >= 0x80)
		return syntax_error(p, c, "in a quoted string");
	return tok_add(p, c);
}

/*
 * RFC 3501 section 9 (with RFC 7888 literal+):
 *
 *   command  = tag SP (command-any / command-auth / ...) CRLF
 *   tag      = 1*<any ASTRING-CHAR except "+">
 *   astring  = 1*ASTRING-CHAR / string
 *   string   = quoted / literal
 *   quoted   = DQUOTE *QUOTED-CHAR DQUOTE
 *   literal  = "{" number ["+"] "}" CRLF *CHAR8
 *   fetch-att =/ "BODY" [".PEEK"] section ["<" number "." nz-number ">"]
 *   fetch-att =/ "BINARY" [".PEEK"] section-binary [partial]
 *              / "BINARY.SIZE" section-binary          (RFC 3516)
 *   section  = "[" [section-spec] "]"
 *   atom     = 1*ATOM-CHAR     ("[" is one; "]" is an ASTRING-CHAR)
 *
 * Arguments are read generically: command handlers check the grammar of
 * each command. Spaces between arguments may repeat and a bare LF ends a
 * line as CRLF does.
 */
static enum step
parse_byte(struct imap_parser *p, unsigned char c)
{
	switch (p->state) {
	case STATE_TAG:
		return tag_byte(p, c);
	case STATE_NAME:
		return name_byte(p, c);
	case STATE_ARGS:
		return args_byte(p, c);
	case STATE_ATOM:
		return atom_byte(p, c);
	case STATE_QUOTED:
		return quoted_byte(p, c);
	case STATE_QUOTED_ESCAPE:
		if (c != '"' && c != '\\')
			return syntax_error(p, c, "after a backslash");
		p->state = STATE_QUOTED;
		return tok_add(p, c);
	case STATE_LITERAL_OPEN:
		if (c < '0' || c > '9')
			return syntax_error(p, c, "in a literal size");
		p->state = STATE_LITERAL_SIZE;
		return STEP_AGAIN;
	case STATE_LITERAL_SIZE:
		return literal_size_byte(p, c);
	case STATE_LITERAL_PLUS:
		if (c != '}')
			return syntax_error(p, c, "in a literal size");
		p->state = STATE_LITERAL_CLOSE;
		return STEP_NEXT;
	case STATE_LITERAL_CLOSE:
		if (c == '\r') {
			p->state = STATE_LITERAL_CR;
			return STEP_NEXT;
		}
		/* A bare LF is accepted as CRLF. */
		/* FALLTHROUGH */
	case STATE_LITERAL_CR:
		if (c != '\n')
			return syntax_error(p, c, "after a literal size");
		return literal_begin(p);
	case STATE_SECTION_TEXT:
	case STATE_SECTION_SP:
	case STATE_SECTION_CLOSE:
	case STATE_SECTION_END:
	case STATE_PARTIAL_OFFSET:
	case STATE_PARTIAL_SIZE:
		return section_byte(p, c);
	case STATE_CR:
		if (c != '\n')
			return parse_error(p, IMAP_PARSE_ERROR_SYNTAX,
			    "CR not followed by LF");
		if (p->cr_empty) {
			p->cr_empty = false;
			p->state = STATE_TAG;
			return STEP_RESTART;
		}
		return command_finish(p);
	case STATE_LITERAL_DATA:
	case STATE_SKIP_LINE:
	case STATE_SKIP_LITERAL:
	case STATE_DONE:
		break;
	}
	abort();
}

enum step
imap_parser_step(struct imap_parser *p, unsigned char c)
{
	if (p->line_len >= p->line_max)
		return parse_error(p, IMAP_PARSE_ERROR_LINE_TOO_LONG,
		    "Command line too long (the limit is %zu bytes)",
		    p->line_max);
	return parse_byte(p, c);
}
