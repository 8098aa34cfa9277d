/*
 * Pure LMTP input parsing: command lines into struct lmtp_command, and
 * the data phase into message bytes. Both are byte-driven state machines
 * so input may be split anywhere; nothing here does I/O.
 *
 * Message data ends only at CR LF "." CR LF (RFC 5321 4.1.1.4). A bare
 * LF or a bare CR never ends a line of the message, so "\n.\r\n",
 * "\r\n.\n", "\n.\n" and "\r.\r\n" never end it either: another MTA
 * that reads those as the end of the data would otherwise see a second,
 * smuggled message where we saw one (SMTP smuggling). A message holding
 * a bare LF is refused as a whole (550 5.6.0), as Postfix does with
 * smtpd_forbid_bare_newline: RFC 5321 2.3.8 forbids a client to send
 * one, and storing it would hand the ambiguity to whoever reads the
 * message next. It is still read to its real end, so the session stays
 * in step with the client. A bare CR is kept as text, as before.
 * Command lines still accept a bare LF as their end (they carry no
 * message text).
 */
#include "lmtp/lmtp-parser.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/strnum.h"
#include "lib/xmalloc.h"

/* Where the command-line framing is between two bytes. */
enum lmtp_parser_state {
	LMTP_PARSER_STATE_LINE = 0,	/* collecting the bytes of a line */
	LMTP_PARSER_STATE_CR,		/* saw CR; only LF may follow */
	LMTP_PARSER_STATE_SKIP,		/* after an error: discard up to LF */
};

struct lmtp_parser {
	/* Fixed at creation */
	size_t max_line;		/* longest line, CR LF not counted */

	/* The line being framed */
	enum lmtp_parser_state state;
	char *line;			/* max_line + 1 bytes */
	size_t len;			/* bytes of line in use */

	/* The last command's paths (what lmtp_command points to) */
	char path[ADDRESS_MAX + 1];
	char path_raw[ADDRESS_MAX + 1];
};

static const struct {
	const char *name;
	enum lmtp_verb verb;
} lmtp_verbs[] = {
	{ "LHLO", LMTP_VERB_LHLO },
	{ "HELO", LMTP_VERB_HELO },
	{ "EHLO", LMTP_VERB_EHLO },
	{ "MAIL", LMTP_VERB_MAIL },
	{ "RCPT", LMTP_VERB_RCPT },
	{ "DATA", LMTP_VERB_DATA },
	{ "RSET", LMTP_VERB_RSET },
	{ "NOOP", LMTP_VERB_NOOP },
	{ "QUIT", LMTP_VERB_QUIT },
	{ "VRFY", LMTP_VERB_VRFY },
	{ "HELP", LMTP_VERB_HELP },
	{ "STARTTLS", LMTP_VERB_STARTTLS },
};

struct lmtp_parser *
lmtp_parser_new(size_t max_line)
{
	struct lmtp_parser *parser;

	assert(max_line > 0);
	parser = xcalloc(1, sizeof(*parser));
	parser->max_line = max_line;
	parser->line = xcalloc(1, max_line + 1);
	return parser;
}

void
lmtp_parser_free(struct lmtp_parser **parserp)
{
	struct lmtp_parser *parser = *parserp;

	if (parser == NULL)
		return;
	free(parser->line);
	free(parser);
	*parserp = NULL;
}

void
lmtp_parser_reset(struct lmtp_parser *parser)
{
	parser->state = LMTP_PARSER_STATE_LINE;
	parser->len = 0;
}

static int
cmd_error(struct lmtp_command *cmd, enum lmtp_parse_error error,
    const char *text)
{
	cmd->error = error;
	cmd->error_text = text;
	return -1;
}

/* RFC 5321 4.1.2 atext, the characters of an unquoted local part. */
static bool
is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static bool
is_domain_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/* Printable ASCII, space included: text of a quoted string. */
static bool
is_print(char c)
{
	return (unsigned char)c >= ' ' && (unsigned char)c < 0x7f;
}

/* Printable ASCII other than space. */
static bool
is_graph(unsigned char c)
{
	return c > ' ' && c < 0x7f;
}

/*
 * Parse "<path>" at *pp (RFC 5321 4.1.2 Path / Reverse-path): an optional
 * source route (ignored, as 4.1.1.3 asks), then a local part, dot-string
 * or quoted string, then optionally "@" and a domain or address literal.
 * On success *pp points after '>'.
 */
static int
parse_path(struct lmtp_parser *parser, const char **pp,
    struct lmtp_command *cmd)
{
	const char *p = *pp, *raw;
	size_t n = 0, raw_len;

	if (*p != '<')
		return cmd_error(cmd, LMTP_PARSE_ERROR_SYNTAX,
		    "Path must be enclosed in <>");
	p++;
	if (*p == '>') {
		parser->path[0] = '\0';
		parser->path_raw[0] = '\0';
		cmd->null_path = true;
		*pp = p + 1;
		return 0;
	}
	if (*p == '@') {
		/* A-d-l ":" : skip it. */
		while (*p != ':') {
			if (*p != '@' && *p != ',' && !is_domain_char(*p) &&
			    *p != '[' && *p != ']')
				return cmd_error(cmd, LMTP_PARSE_ERROR_SYNTAX,
				    "Invalid source route in path");
			p++;
		}
		p++;
	}
	raw = p;

	/* Local part, unquoted into path. */
	if (*p == '"') {
		for (p++; *p != '"'; p++) {
			if (*p == '\\')
				p++;
			if (!is_print(*p))
				return cmd_error(cmd, LMTP_PARSE_ERROR_SYNTAX,
				    "Invalid quoted local part");
			if (n == ADDRESS_MAX)
				goto too_long;
			parser->path[n++] = *p;
		}
		p++;
	} else {
		if (!is_atext((unsigned char)*p))
			return cmd_error(cmd, LMTP_PARSE_ERROR_SYNTAX,
			    "Invalid local part in path");
		for (; is_atext((unsigned char)*p) || *p == '.'; p++) {
			if (n == ADDRESS_MAX)
				goto too_long;
			parser->path[n++] = *p;
		}
	}

	/* Domain or address literal. */
	if (*p == '@') {
		const char *domain = ++p;

		if (*p == '[') {
			for (p++; *p != ']'; p++)
				if (!is_graph((unsigned char)*p) || *p == '[' ||
				    *p == '\\')
					return cmd_error(cmd,
					    LMTP_PARSE_ERROR_SYNTAX,
					    "Invalid address literal in path");
			p++;
		} else
			while (is_domain_char((unsigned char)*p))
				p++;
		if (p == domain)
			return cmd_error(cmd, LMTP_PARSE_ERROR_SYNTAX,
			    "Missing domain in path");
		if (ADDRESS_MAX - n < (size_t)(p - domain) + 1)
			goto too_long;
		parser->path[n++] = '@';
		memcpy(parser->path + n, domain, (size_t)(p - domain));
		n += (size_t)(p - domain);
	}
	if (*p != '>')
		return cmd_error(cmd, LMTP_PARSE_ERROR_SYNTAX,
		    "Invalid character in path");
	parser->path[n] = '\0';

	raw_len = (size_t)(p - raw);
	if (raw_len > ADDRESS_MAX)
		goto too_long;
	memcpy(parser->path_raw, raw, raw_len);
	parser->path_raw[raw_len] = '\0';
	*pp = p + 1;
	return 0;
too_long:
	return cmd_error(cmd, LMTP_PARSE_ERROR_SYNTAX, "Path too long");
}

/*
 * Parse " KEY[=VALUE] ..." after a path (RFC 5321 4.1.2 Mail-parameters,
 * esmtp-param). MAIL knows SIZE (RFC 1870) and BODY (RFC 6152); RCPT
 * knows none.
 */
static int
parse_params(char *p, struct lmtp_command *cmd)
{
	bool seen_body = false;

	while (*p == ' ') {
		char *key, *value = NULL, sep;

		while (*p == ' ')
			p++;
		key = p;
		while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || (*p == '-' && p != key))
			p++;
		if (p == key)
			return cmd_error(cmd, LMTP_PARSE_ERROR_SYNTAX,
			    "Invalid parameter");
		if (*p == '=') {
			*p++ = '\0';
			value = p;
			while (is_graph((unsigned char)*p) && *p != '=')
				p++;
			if (p == value)
				return cmd_error(cmd, LMTP_PARSE_ERROR_SYNTAX,
				    "Empty parameter value");
		}
		if (*p != '\0' && *p != ' ')
			return cmd_error(cmd, LMTP_PARSE_ERROR_SYNTAX,
			    "Invalid parameter");
		/* Terminate key or value; the separator is put back below. */
		sep = *p;
		*p = '\0';

		if (cmd->verb != LMTP_VERB_MAIL)
			return cmd_error(cmd, LMTP_PARSE_ERROR_PARAM_UNKNOWN,
			    "RCPT parameters not supported");
		if (strcasecmp(key, "SIZE") == 0) {
			if (cmd->has_size || value == NULL ||
			    str_to_u64(value, 0, UINT64_MAX, &cmd->size) < 0)
				return cmd_error(cmd, LMTP_PARSE_ERROR_SYNTAX,
				    "Invalid SIZE parameter");
			cmd->has_size = true;
		} else if (strcasecmp(key, "BODY") == 0) {
			if (seen_body || value == NULL)
				return cmd_error(cmd, LMTP_PARSE_ERROR_SYNTAX,
				    "Invalid BODY parameter");
			if (strcasecmp(value, "7BIT") == 0)
				cmd->body = LMTP_BODY_7BIT;
			else if (strcasecmp(value, "8BITMIME") == 0)
				cmd->body = LMTP_BODY_8BITMIME;
			else
				return cmd_error(cmd, LMTP_PARSE_ERROR_SYNTAX,
				    "Invalid BODY parameter");
			seen_body = true;
		} else
			return cmd_error(cmd, LMTP_PARSE_ERROR_PARAM_UNKNOWN,
			    "MAIL parameter not supported");
		*p = sep;
	}
	if (*p != '\0')
		return cmd_error(cmd, LMTP_PARSE_ERROR_SYNTAX,
		    "Invalid character after path");
	return 0;
}

/* "FROM:" / "TO:" then the path and parameters. */
static int
parse_mail_rcpt(struct lmtp_parser *parser, char *args, const char *keyword,
    struct lmtp_command *cmd)
{
	size_t klen = strlen(keyword);
	const char *p;

	if (strncasecmp(args, keyword, klen) != 0)
		return cmd_error(cmd, LMTP_PARSE_ERROR_SYNTAX,
		    cmd->verb == LMTP_VERB_MAIL ?
		    "Syntax: MAIL FROM:<address>" : "Syntax: RCPT TO:<address>");
	p = args + klen;
	/* Not in the grammar, but common: "MAIL FROM: <a@b>". */
	while (*p == ' ')
		p++;
	if (parse_path(parser, &p, cmd) < 0)
		return -1;
	cmd->path = parser->path;
	cmd->path_raw = parser->path_raw;
	return parse_params(args + (p - args), cmd);
}

/* "GET / HTTP/1.1" and friends: a browser or proxy was pointed at us. */
static bool
is_http_request(const char *line)
{
	static const char *methods[] = { "GET ", "POST ", "PUT ", "HEAD ",
	    "OPTIONS ", "CONNECT ", "DELETE ", "PATCH " };

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strncmp(line, methods[i], strlen(methods[i])) == 0)
			return strstr(line, " HTTP/") != NULL;
	return false;
}

/* Parse one complete line (NUL-terminated, without its line end). */
static int
parse_line(struct lmtp_parser *parser, struct lmtp_command *cmd)
{
	char *line = parser->line, *args;
	size_t len = parser->len, verb_len, i;

	line[len] = '\0';
	/* Trailing white space is a common client sloppiness. */
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		line[--len] = '\0';

	for (verb_len = 0; (line[verb_len] >= 'a' && line[verb_len] <= 'z') ||
	    (line[verb_len] >= 'A' && line[verb_len] <= 'Z'); verb_len++)
		;
	if (line[verb_len] != '\0' && line[verb_len] != ' ')
		return cmd_error(cmd, LMTP_PARSE_ERROR_UNKNOWN,
		    "Syntax error, command unrecognized");
	for (i = 0; i < sizeof(lmtp_verbs) / sizeof(lmtp_verbs[0]); i++)
		if (strlen(lmtp_verbs[i].name) == verb_len &&
		    strncasecmp(line, lmtp_verbs[i].name, verb_len) == 0)
			break;
	if (i == sizeof(lmtp_verbs) / sizeof(lmtp_verbs[0])) {
		if (is_http_request(line))
			return cmd_error(cmd, LMTP_PARSE_ERROR_CROSS_PROTOCOL,
			    "HTTP request sent to an LMTP server");
		return cmd_error(cmd, LMTP_PARSE_ERROR_UNKNOWN,
		    "Syntax error, command unrecognized");
	}
	cmd->verb = lmtp_verbs[i].verb;
	args = line + verb_len;
	if (*args == ' ')
		args++;
	cmd->arg = args;

	switch (cmd->verb) {
	case LMTP_VERB_LHLO:
		if (*args == '\0')
			return cmd_error(cmd, LMTP_PARSE_ERROR_SYNTAX,
			    "Syntax: LHLO hostname");
		for (const char *p = args; *p != '\0'; p++)
			if (!is_graph((unsigned char)*p))
				return cmd_error(cmd, LMTP_PARSE_ERROR_SYNTAX,
				    "Invalid LHLO hostname");
		return 1;
	case LMTP_VERB_HELO:
	case LMTP_VERB_EHLO:
	case LMTP_VERB_NOOP:
	case LMTP_VERB_HELP:
		return 1;
	case LMTP_VERB_VRFY:
		if (*args == '\0')
			return cmd_error(cmd, LMTP_PARSE_ERROR_SYNTAX,
			    "Syntax: VRFY address");
		return 1;
	case LMTP_VERB_DATA:
	case LMTP_VERB_RSET:
	case LMTP_VERB_QUIT:
	case LMTP_VERB_STARTTLS:
		if (*args != '\0')
			return cmd_error(cmd, LMTP_PARSE_ERROR_SYNTAX,
			    "No parameters allowed");
		return 1;
	case LMTP_VERB_MAIL:
		return parse_mail_rcpt(parser, args, "FROM:", cmd) < 0 ? -1 : 1;
	case LMTP_VERB_RCPT:
		return parse_mail_rcpt(parser, args, "TO:", cmd) < 0 ? -1 : 1;
	case LMTP_VERB_NONE:
		break;
	}
	return cmd_error(cmd, LMTP_PARSE_ERROR_UNKNOWN,
	    "Syntax error, command unrecognized");
}

/*
 * RFC 5321 4.1.1: "SMTP commands are character strings terminated by
 * <CRLF>"; the verb is case-insensitive and followed by a space when it
 * has arguments. RFC 2033 4.1 adds LHLO. We also accept a bare LF as the
 * line end, as every widespread MTA does, but refuse a bare CR and NUL.
 */
int
lmtp_parser_feed(struct lmtp_parser *parser, const unsigned char *data,
    size_t size, size_t *consumed_r, struct lmtp_command *cmd_r)
{
	const unsigned char *cur = data, *end = data + size, *lf;
	int ret;

	memset(cmd_r, 0, sizeof(*cmd_r));
	cmd_r->arg = "";
	cmd_r->path = "";
	cmd_r->path_raw = "";

	for (;;) {
		if (cur == end) {
			*consumed_r = size;
			return 0;
		}
		switch (parser->state) {
		case LMTP_PARSER_STATE_LINE:
			if (*cur == '\n') {
				cur++;
				goto line_done;
			}
			if (*cur == '\r') {
				parser->state = LMTP_PARSER_STATE_CR;
				cur++;
				break;
			}
			if (*cur == '\0') {
				cur++;
				parser->state = LMTP_PARSER_STATE_SKIP;
				*consumed_r = (size_t)(cur - data);
				return cmd_error(cmd_r, LMTP_PARSE_ERROR_NUL,
				    "NUL byte in command line");
			}
			if (parser->len == parser->max_line) {
				cur++;
				parser->state = LMTP_PARSER_STATE_SKIP;
				*consumed_r = (size_t)(cur - data);
				return cmd_error(cmd_r,
				    LMTP_PARSE_ERROR_LINE_TOO_LONG,
				    "Line too long");
			}
			parser->line[parser->len++] = (char)*cur++;
			break;
		case LMTP_PARSER_STATE_CR:
			if (*cur == '\n') {
				cur++;
				goto line_done;
			}
			/* The byte is not an LF, so SKIP would drop it too. */
			cur++;
			parser->state = LMTP_PARSER_STATE_SKIP;
			*consumed_r = (size_t)(cur - data);
			return cmd_error(cmd_r, LMTP_PARSE_ERROR_BARE_CR,
			    "Bare CR in command line");
		case LMTP_PARSER_STATE_SKIP:
			lf = memchr(cur, '\n', (size_t)(end - cur));
			if (lf == NULL) {
				cur = end;
				break;
			}
			cur = lf + 1;
			lmtp_parser_reset(parser);
			break;
		}
	}

line_done:
	*consumed_r = (size_t)(cur - data);
	ret = parse_line(parser, cmd_r);
	lmtp_parser_reset(parser);
	return ret;
}

/* ---- Message data ---- */

/* Where the data decoder is between two bytes. */
enum lmtp_data_state {
	LMTP_DATA_STATE_LINE_START = 0,	/* at the first byte of a line */
	LMTP_DATA_STATE_DOT,		/* the line began with '.' */
	LMTP_DATA_STATE_DOT_CR,		/* the line began with ".\r" */
	LMTP_DATA_STATE_TEXT,		/* inside a line */
	LMTP_DATA_STATE_CR,		/* saw CR inside a line */
};

struct lmtp_data {
	/* Fixed at creation */
	size_t max_size;		/* longest message stored */
	size_t max_line;		/* longest line, CR LF not counted */

	/* The message being decoded */
	enum lmtp_data_state state;
	struct buf msg;			/* decoded bytes held, at most
					   max_size - dropped */
	uint64_t dropped;		/* stored bytes given up by
					   lmtp_data_drop() */
	uint64_t size;			/* decoded bytes, stored or not */
	size_t line_len;		/* bytes of the current line */
	enum lmtp_data_error error;	/* the first limit broken */
};

struct lmtp_data *
lmtp_data_new(size_t max_size, size_t max_line)
{
	struct lmtp_data *data;

	data = xcalloc(1, sizeof(*data));
	data->max_size = max_size;
	data->max_line = max_line;
	buf_init(&data->msg, max_size);
	/* buf_init reads 0 as "no limit"; here it means no bytes at all. */
	data->msg.max = max_size;
	return data;
}

void
lmtp_data_free(struct lmtp_data **datap)
{
	struct lmtp_data *data = *datap;

	if (data == NULL)
		return;
	buf_free(&data->msg);
	free(data);
	*datap = NULL;
}

void
lmtp_data_reset(struct lmtp_data *data)
{
	buf_reset(&data->msg);
	data->state = LMTP_DATA_STATE_LINE_START;
	data->dropped = 0;
	data->size = 0;
	data->line_len = 0;
	data->error = LMTP_DATA_OK;
}

enum lmtp_data_error
lmtp_data_error(const struct lmtp_data *data)
{
	return data->error;
}

uint64_t
lmtp_data_size(const struct lmtp_data *data)
{
	return data->size;
}

unsigned char *
lmtp_data_steal(struct lmtp_data *data, size_t *len_r)
{
	unsigned char *msg = data->msg.data;

	*len_r = data->msg.len;
	if (msg == NULL)
		msg = xcalloc(1, 1);
	data->msg.data = NULL;
	data->msg.len = 0;
	data->msg.cap = 0;
	lmtp_data_reset(data);
	return msg;
}

const unsigned char *
lmtp_data_held(const struct lmtp_data *data, size_t *len_r)
{
	*len_r = data->msg.len;
	return data->msg.data;
}

void
lmtp_data_drop(struct lmtp_data *data)
{
	data->dropped += data->msg.len;
	buf_reset(&data->msg);
}

static void
data_flag(struct lmtp_data *data, enum lmtp_data_error error)
{
	if (data->error == LMTP_DATA_OK)
		data->error = error;
}

/*
 * Store n message bytes; line is true for line content (not CR LF). When
 * the bytes break both the line and the size limit, the one broken at
 * the earlier byte is reported, so the verdict does not depend on how
 * the input was split.
 */
static void
data_emit(struct lmtp_data *data, const void *bytes, size_t n, bool line)
{
	size_t line_room = SIZE_MAX, size_room;
	bool line_broken, size_broken;
	int ret;

	data->size += n;
	if (line) {
		/* Below max_line while no error is flagged. */
		line_room = data->line_len < data->max_line ?
		    data->max_line - data->line_len : 0;
		data->line_len += n;
	}
	/* A refused message need not be kept. */
	if (data->error != LMTP_DATA_OK)
		return;
	/* Below max_size while no error is flagged. */
	size_room = data->max_size - (size_t)data->dropped - data->msg.len;
	line_broken = n > line_room;
	size_broken = n > size_room;
	if (line_broken && (!size_broken || line_room < size_room)) {
		data_flag(data, LMTP_DATA_ERROR_LINE_TOO_LONG);
		buf_reset(&data->msg);
	} else if (size_broken) {
		data_flag(data, LMTP_DATA_ERROR_TOO_BIG);
		buf_reset(&data->msg);
	} else {
		ret = buf_append(&data->msg, bytes, n);
		assert(ret == 0);	/* size_room said it fits */
		(void)ret;
	}
}

static void
data_line_end(struct lmtp_data *data)
{
	data_emit(data, "\r\n", 2, false);
	data->line_len = 0;
	data->state = LMTP_DATA_STATE_LINE_START;
}

/*
 * RFC 5321 4.5.2 (transparency): "Before sending a line of mail text, the
 * SMTP client checks the first character of the line. If it is a period,
 * one additional period is inserted"; the receiver deletes a leading
 * period when the line holds more, and a line of a single "." ends the
 * data (RFC 5321 4.1.1.4). RFC 2033 4.2 keeps the same framing for LMTP.
 * The CR LF that ended the DATA command counts as the start of the first
 * line, so "." right at the start ends an empty message.
 */
int
lmtp_data_feed(struct lmtp_data *data, const unsigned char *in, size_t size,
    size_t *consumed_r)
{
	const unsigned char *cur = in, *end = in + size, *run;

	for (;;) {
		if (cur == end) {
			*consumed_r = size;
			return 0;
		}
		switch (data->state) {
		case LMTP_DATA_STATE_LINE_START:
			if (*cur == '.') {
				cur++;
				data->state = LMTP_DATA_STATE_DOT;
				break;
			}
			data->state = LMTP_DATA_STATE_TEXT;
			break;
		case LMTP_DATA_STATE_DOT:
			if (*cur == '\r') {
				cur++;
				data->state = LMTP_DATA_STATE_DOT_CR;
				break;
			}
			/* The dot was stuffing, or ".\n": a bare LF, which
			 * TEXT flags. Drop it, keep the rest. */
			data->state = LMTP_DATA_STATE_TEXT;
			break;
		case LMTP_DATA_STATE_DOT_CR:
			if (*cur == '\n') {
				cur++;
				goto done;
			}
			/* ".\rX": the dot was stuffing, the CR is text. */
			data->state = LMTP_DATA_STATE_CR;
			break;
		case LMTP_DATA_STATE_TEXT:
			for (run = cur; cur < end && *cur != '\r' &&
			    *cur != '\n' && *cur != '\0'; cur++)
				;
			if (cur > run)
				data_emit(data, run, (size_t)(cur - run), true);
			if (cur == end)
				break;
			if (*cur == '\r')
				data->state = LMTP_DATA_STATE_CR;
			else if (*cur == '\n') {
				/* A bare LF: text, never a line end. */
				data_flag(data, LMTP_DATA_ERROR_BARE_LF);
				data_emit(data, cur, 1, true);
			} else {
				data_flag(data, LMTP_DATA_ERROR_NUL);
				data_emit(data, cur, 1, true);
			}
			cur++;
			break;
		case LMTP_DATA_STATE_CR:
			if (*cur == '\n') {
				cur++;
				data_line_end(data);
				break;
			}
			/* A bare CR is kept as text. */
			data_emit(data, "\r", 1, true);
			data->state = LMTP_DATA_STATE_TEXT;
			break;
		}
	}

done:
	data->state = LMTP_DATA_STATE_LINE_START;
	data->line_len = 0;
	*consumed_r = (size_t)(cur - in);
	return 1;
}
