/*
 * The proxy's framing of an IMAP stream (imap-proxy-scan.h): lines,
 * literals and each unit's head, one byte at a time, without I/O.
 *
 * RFC 3501 4.3: a literal is announced by "{" number "}" CRLF at the end
 * of a line (RFC 7888: "{" number "+}" for one that does not wait for
 * the server's "+"; RFC 3516: "~{" for literal8); its number of octets
 * follow, then the line goes on. A quoted string (4.3) cannot hold CR
 * or LF, so a "{5}" inside one announces nothing.
 *
 * Where a client's stream is not IMAP (an unterminated quote, an
 * announcement the server refuses, a number beyond 64 bits), the scanner
 * and the server may disagree about what follows; the proxy then only
 * misroutes that client's own commands, which it could send anyway.
 */
#include "imap/imap-proxy-scan.h"

#include <string.h>

/* Characters of the first word kept for routing: enough for command
 * names, response names and numbers. */
static bool
word_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

/* The next byte starts a new unit. */
static void
scan_unit_start(struct imap_scan *s)
{
	s->state = IMAP_SCAN_STATE_LINE;
	s->phase = IMAP_SCAN_HEAD_TAG;
	s->fresh = true;
	s->quoted = false;
	s->escaped = false;
	s->lit = 0;
}

void
imap_scan_init(struct imap_scan *s)
{
	memset(s, 0, sizeof(*s));
	scan_unit_start(s);
}

/* A unit's first byte: the previous unit's head is forgotten. */
static void
scan_head_clear(struct imap_scan *s)
{
	s->fresh = false;
	s->head_len = 0;
	s->tag_len = 0;
	s->tag[0] = '\0';
	s->word_len = 0;
	s->word[0] = '\0';
	s->tag_long = false;
	s->word_long = false;
}

/* One byte of the head: false if it ends the head (it is then not
 * consumed as a head byte). */
static bool
scan_head_byte(struct imap_scan *s, unsigned char c)
{
	if (s->phase == IMAP_SCAN_HEAD_TAG) {
		if (c == '\r' || c == '\n')
			return false;
		if (c == ' ')
			s->phase = IMAP_SCAN_HEAD_WORD;
		else if (s->tag_len == IMAP_PROXY_TAG_MAX) {
			s->tag_long = true;
			s->tag[0] = '\0';
			return false;
		} else {
			s->tag[s->tag_len++] = (char)c;
			s->tag[s->tag_len] = '\0';
		}
	} else {
		if (!word_char(c))
			return false;
		if (s->word_len == IMAP_PROXY_WORD_MAX) {
			s->word_long = true;
			s->word[0] = '\0';
			return false;
		}
		s->word[s->word_len++] = (char)c;
		s->word[s->word_len] = '\0';
	}
	s->head[s->head_len++] = c;
	return true;
}

/* A byte of a literal's announcement, outside quoted strings. */
static void
scan_announce_byte(struct imap_scan *s, unsigned char c)
{
	switch (c) {
	case '"':
		s->quoted = true;
		s->lit = 0;
		break;
	case '{':
		s->lit = 1;
		s->lit_digits = 0;
		s->lit_value = 0;
		s->lit_plus = false;
		break;
	case '+':
		s->lit_plus = s->lit == 1 && s->lit_digits > 0;
		s->lit = s->lit_plus ? 2 : 0;
		break;
	case '}':
		s->lit = (s->lit == 1 && s->lit_digits > 0) || s->lit == 2 ?
		    3 : 0;
		break;
	case '\r':
		s->lit = s->lit == 3 ? 4 : 0;
		break;
	default:
		if (c >= '0' && c <= '9' && s->lit == 1 &&
		    s->lit_value <= (UINT64_MAX - 9) / 10) {
			s->lit_value = s->lit_value * 10 + (uint64_t)(c - '0');
			s->lit_digits++;
		} else
			s->lit = 0;
		break;
	}
}

/* One byte of a line: LITERAL or END if it ends the line, else MORE. */
static enum imap_scan_event
scan_line_byte(struct imap_scan *s, unsigned char c)
{
	if (c == '\n') {
		if (s->quoted || (s->lit != 3 && s->lit != 4)) {
			scan_unit_start(s);
			return IMAP_SCAN_END;
		}
		s->quoted = false;
		s->lit = 0;
		s->literal_size = s->lit_value;
		s->literal_left = s->lit_value;
		s->literal_sync = !s->lit_plus;
		s->waiting = s->literal_sync;
		if (s->literal_left > 0)
			s->state = IMAP_SCAN_STATE_DATA;
		return IMAP_SCAN_LITERAL;
	}
	if (!s->quoted)
		scan_announce_byte(s, c);
	else if (s->escaped)
		s->escaped = false;
	else if (c == '\\')
		s->escaped = true;
	else if (c == '"')
		s->quoted = false;
	return IMAP_SCAN_MORE;
}

enum imap_scan_event
imap_scan_feed(struct imap_scan *s, const void *data, size_t len,
    size_t *consumed_r)
{
	const unsigned char *start = data, *p = start, *end = start + len;
	enum imap_scan_event ev;
	size_t n;

	while (p < end) {
		s->waiting = false;
		if (s->state == IMAP_SCAN_STATE_DATA) {
			n = (size_t)(end - p);
			if ((uint64_t)n > s->literal_left)
				n = (size_t)s->literal_left;
			p += n;
			s->literal_left -= n;
			if (s->literal_left == 0)
				s->state = IMAP_SCAN_STATE_LINE;
			continue;
		}
		if (s->phase != IMAP_SCAN_HEAD_DONE) {
			if (s->fresh)
				scan_head_clear(s);
			if (!scan_head_byte(s, *p)) {
				s->phase = IMAP_SCAN_HEAD_DONE;
				*consumed_r = (size_t)(p - start);
				return IMAP_SCAN_HEAD;
			}
		}
		/* Head bytes are line bytes too (never CR or LF). */
		ev = scan_line_byte(s, *p++);
		if (ev != IMAP_SCAN_MORE) {
			*consumed_r = (size_t)(p - start);
			return ev;
		}
	}
	*consumed_r = len;
	return IMAP_SCAN_MORE;
}

bool
imap_scan_in_head(const struct imap_scan *s)
{
	return s->state == IMAP_SCAN_STATE_LINE &&
	    s->phase != IMAP_SCAN_HEAD_DONE;
}

bool
imap_scan_at_start(const struct imap_scan *s)
{
	return s->state == IMAP_SCAN_STATE_LINE &&
	    s->phase == IMAP_SCAN_HEAD_TAG && s->fresh;
}

const char *
imap_scan_tag(const struct imap_scan *s)
{
	return s->tag;
}

const char *
imap_scan_word(const struct imap_scan *s)
{
	return s->word;
}

const unsigned char *
imap_scan_head(const struct imap_scan *s, size_t *len_r)
{
	*len_r = s->head_len;
	return s->head;
}

uint64_t
imap_scan_literal_size(const struct imap_scan *s)
{
	return s->literal_size;
}

bool
imap_scan_literal_sync(const struct imap_scan *s)
{
	return s->literal_sync;
}

bool
imap_scan_literal_waiting(const struct imap_scan *s)
{
	return s->waiting;
}

void
imap_scan_literal_cancel(struct imap_scan *s)
{
	s->waiting = false;
	s->literal_left = 0;
	scan_unit_start(s);
}
