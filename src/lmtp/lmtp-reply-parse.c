/*
 * Pure parsing of LMTP replies for the relay: lines framed byte by byte
 * into a bounded buffer, each checked for its code and, on the first
 * line, an enhanced code; the lines after an LHLO reply's first are
 * read as extension keywords. Nothing here does I/O.
 */
#include "lmtp/lmtp-reply-parse.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/strnum.h"
#include "lib/xmalloc.h"

struct lmtp_reply_parser {
	/* The line being framed (CR LF not stored) */
	char line[LMTP_REPLY_LINE_MAX + 2];	/* and a CR, then NUL */
	size_t len;
	/* The reply being gathered, line by line */
	struct lmtp_reply reply;
	/* Set on -1 until reset */
	enum lmtp_reply_error error;
};

struct lmtp_reply_parser *
lmtp_reply_parser_new(void)
{
	return xcalloc(1, sizeof(struct lmtp_reply_parser));
}

void
lmtp_reply_parser_free(struct lmtp_reply_parser **parserp)
{
	free(*parserp);
	*parserp = NULL;
}

void
lmtp_reply_parser_reset(struct lmtp_reply_parser *parser)
{
	memset(parser, 0, sizeof(*parser));
}

enum lmtp_reply_error
lmtp_reply_parser_error(const struct lmtp_reply_parser *parser)
{
	return parser->error;
}

const char *
lmtp_reply_error_text(enum lmtp_reply_error error)
{
	switch (error) {
	case LMTP_REPLY_OK:
		return "no error";
	case LMTP_REPLY_ERROR_LINE_TOO_LONG:
		return "reply line too long";
	case LMTP_REPLY_ERROR_TOO_MANY_LINES:
		return "reply has too many lines";
	case LMTP_REPLY_ERROR_NUL:
		return "NUL byte in a reply";
	case LMTP_REPLY_ERROR_SYNTAX:
		return "malformed reply line";
	case LMTP_REPLY_ERROR_CODE_MISMATCH:
		return "reply lines with different codes";
	}
	return "unknown error";
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* 1 to 3 digits at *sp; *sp moves past them. */
static bool
skip_digits(const char **sp)
{
	size_t n = 0;

	while (n < 3 && is_digit((*sp)[n]))
		n++;
	if (n == 0 || is_digit((*sp)[n]))
		return false;
	*sp += n;
	return true;
}

/* RFC 3463 2: class "." subject "." detail, then a space or the end,
 * where the class is the reply code's first digit (RFC 2034 4). Returns
 * the text after it and its spaces, or text itself if there is none. */
static const char *
take_enhanced(const char *text, char code_class, char *enhanced)
{
	const char *p = text;
	size_t len;

	enhanced[0] = '\0';
	if (*p++ != code_class || *p++ != '.' || !skip_digits(&p) ||
	    *p++ != '.' || !skip_digits(&p) || (*p != ' ' && *p != '\0'))
		return text;
	len = (size_t)(p - text);
	memcpy(enhanced, text, len);
	enhanced[len] = '\0';
	while (*p == ' ')
		p++;
	return p;
}

/* A continuation line's text as an LHLO extension (RFC 1869 4.3:
 * keyword, then parameters after a space). */
static void
take_capability(struct lmtp_reply *reply, const char *text)
{
	static const struct {
		const char *keyword;
		unsigned cap;
	} caps[] = {
		{ "PIPELINING", LMTP_CAP_PIPELINING },
		{ "8BITMIME", LMTP_CAP_8BITMIME },
		{ "SIZE", LMTP_CAP_SIZE },
		{ "ENHANCEDSTATUSCODES", LMTP_CAP_ENHANCED },
		{ "STARTTLS", LMTP_CAP_STARTTLS },
	};
	size_t len = strcspn(text, " ");
	uint64_t size;

	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		if (strlen(caps[i].keyword) != len ||
		    strncasecmp(text, caps[i].keyword, len) != 0)
			continue;
		reply->caps |= caps[i].cap;
		if (caps[i].cap == LMTP_CAP_SIZE && text[len] == ' ' &&
		    str_to_u64(text + len + 1, 0, UINT64_MAX, &size) == 0)
			reply->size_max = size;
	}
}

/* Copy text to the reply, each byte outside printable ASCII as '?'. */
static void
copy_text(char *dst, const char *text)
{
	size_t i;

	for (i = 0; text[i] != '\0'; i++)
		dst[i] = (unsigned char)text[i] < ' ' ||
		    (unsigned char)text[i] > '~' ? '?' : text[i];
	dst[i] = '\0';
}

/*
 * RFC 5321 4.2.1: Reply-line = *( Reply-code "-" [ textstring ] CRLF )
 * Reply-code [ SP textstring ] CRLF. A line is complete in
 * parser->line. Returns 1 if it was the last of its reply, 0 if more
 * lines follow, -1 on a protocol error.
 */
static int
line_done(struct lmtp_reply_parser *parser)
{
	struct lmtp_reply *reply = &parser->reply;
	const char *line = parser->line, *text;
	bool last;
	int code;

	if (parser->len < 3 || line[0] < '2' || line[0] > '5' ||
	    !is_digit(line[1]) || !is_digit(line[2])) {
		parser->error = LMTP_REPLY_ERROR_SYNTAX;
		return -1;
	}
	if (line[3] != '\0' && line[3] != ' ' && line[3] != '-') {
		parser->error = LMTP_REPLY_ERROR_SYNTAX;
		return -1;
	}
	last = line[3] != '-';
	text = line[3] == '\0' ? line + 3 : line + 4;
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (reply->lines == 0) {
		reply->code = code;
		text = take_enhanced(text, line[0], reply->enhanced);
		copy_text(reply->text, text);
	} else if (code != reply->code) {
		parser->error = LMTP_REPLY_ERROR_CODE_MISMATCH;
		return -1;
	} else
		take_capability(reply, text);
	if (++reply->lines > LMTP_REPLY_LINES_MAX) {
		parser->error = LMTP_REPLY_ERROR_TOO_MANY_LINES;
		return -1;
	}
	return last ? 1 : 0;
}

int
lmtp_reply_parser_feed(struct lmtp_reply_parser *parser,
    const unsigned char *data, size_t size, size_t *consumed_r,
    struct lmtp_reply *reply_r)
{
	size_t i;
	int ret;

	*consumed_r = 0;
	if (parser->error != LMTP_REPLY_OK)
		return -1;
	for (i = 0; i < size; i++) {
		unsigned char c = data[i];

		if (c == '\0') {
			parser->error = LMTP_REPLY_ERROR_NUL;
			*consumed_r = i + 1;
			return -1;
		}
		if (c != '\n') {
			if (parser->len == LMTP_REPLY_LINE_MAX + 1 ||
			    (parser->len == LMTP_REPLY_LINE_MAX && c != '\r')) {
				/* Room is kept for one CR that may end it. */
				parser->error = LMTP_REPLY_ERROR_LINE_TOO_LONG;
				*consumed_r = i + 1;
				return -1;
			}
			parser->line[parser->len++] = (char)c;
			continue;
		}
		/* LF: the line ends; a CR before it is not part of it. */
		if (parser->len > 0 && parser->line[parser->len - 1] == '\r')
			parser->len--;
		parser->line[parser->len] = '\0';
		*consumed_r = i + 1;
		ret = line_done(parser);
		parser->len = 0;
		if (ret < 0)
			return -1;
		if (ret == 1) {
			*reply_r = parser->reply;
			memset(&parser->reply, 0, sizeof(parser->reply));
			return 1;
		}
	}
	*consumed_r = size;
	return 0;
}
