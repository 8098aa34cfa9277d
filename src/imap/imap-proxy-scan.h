/*
 * Framing of an IMAP stream without parsing it, for the proxy (see
 * imap-proxy.h): where each command (client to server) or response
 * (server to client) begins and ends, its tag and first word, and the
 * literals inside it ({n}, {n+}, ~{n}; RFC 3501 4.3, RFC 7888, RFC 3516)
 * whose bytes are data, not lines. Quoted strings are followed so that
 * a "{5}" inside one announces nothing. Pure: no I/O, no allocation;
 * any split of the stream gives the same events.
 *
 * A unit, from its first byte to its END, is one command with all its
 * literals, or one response ("* 1 FETCH (BODY[] {5}" CR LF "hello)" CR
 * LF). Its head is the tag and the first word after it ("a1 XBELL",
 * "* OK", "+ idling", "DONE"): the scanner keeps the head's bytes
 * until it is complete, so the caller can route the whole unit by its
 * first word.
 */
#ifndef MB_IMAP_IMAP_PROXY_SCAN_H
#define MB_IMAP_IMAP_PROXY_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/limits.h"

/* What imap_scan_feed() stopped at. */
enum imap_scan_event {
	IMAP_SCAN_MORE = 0,	/* every byte given was consumed */
	IMAP_SCAN_HEAD,		/* the head is complete: imap_scan_tag(),
				   imap_scan_word(), imap_scan_head() */
	IMAP_SCAN_LITERAL,	/* a line ended announcing a literal: its
				   imap_scan_literal_size() bytes of data
				   follow (a synchronising one only after
				   the server's "+") */
	IMAP_SCAN_END,		/* the unit ended (its last CR LF consumed) */
};

/* Where the scanner is. */
enum imap_scan_state {
	IMAP_SCAN_STATE_LINE = 0,	/* in a line (at a unit's start too) */
	IMAP_SCAN_STATE_DATA,		/* in a literal's data */
};

/* Where in the head. */
enum imap_scan_head_phase {
	IMAP_SCAN_HEAD_TAG = 0,		/* reading the tag */
	IMAP_SCAN_HEAD_WORD,		/* the tag and one SP read */
	IMAP_SCAN_HEAD_DONE,		/* HEAD was returned */
};

/* Bytes of a head: the tag, one SP, the word. */
#define IMAP_SCAN_HEAD_MAX (IMAP_PROXY_TAG_MAX + 1 + IMAP_PROXY_WORD_MAX)

/* The scanner of one direction; zero it with imap_scan_init(). */
struct imap_scan {
	enum imap_scan_state state;
	enum imap_scan_head_phase phase;
	bool fresh;			/* nothing of the unit consumed yet */

	/* The current unit's head, kept until the next unit starts */
	unsigned char head[IMAP_SCAN_HEAD_MAX];	/* its bytes as sent */
	size_t head_len;
	char tag[IMAP_PROXY_TAG_MAX + 1];	/* NUL-terminated; "" if
						   longer than the maximum */
	size_t tag_len;
	bool tag_long;				/* the tag went on */
	char word[IMAP_PROXY_WORD_MAX + 1];	/* letters, digits, '-', '_'
						   and '.' as sent; "" if
						   none or too long */
	size_t word_len;
	bool word_long;				/* the word went on */

	/* Inside a line */
	bool quoted;			/* in a quoted string */
	bool escaped;			/* after its backslash */
	unsigned lit;			/* literal announcement seen so far:
					   0 none, 1 "{" and digits, 2 "+",
					   3 "}", 4 "}" CR */
	unsigned lit_digits;
	uint64_t lit_value;		/* the digits' value */
	bool lit_plus;			/* "+" before "}" */

	/* The last literal announced */
	uint64_t literal_size;		/* its bytes */
	uint64_t literal_left;		/* those still to come (DATA) */
	bool literal_sync;		/* "{n}": the sender waits for "+" */
	bool waiting;			/* nothing consumed since LITERAL for
					   a synchronising one */
};

/* A scanner at the start of a stream. */
void imap_scan_init(struct imap_scan *s);

/*
 * Scan up to len bytes of data; *consumed_r is set to how many were
 * used (all of them for IMAP_SCAN_MORE). The caller calls again with
 * the rest after each event. Bytes consumed before a unit's HEAD are
 * its head (they are in imap_scan_head() once HEAD is returned); a call
 * never consumes head bytes and others together, so imap_scan_in_head()
 * before a call tells which kind it consumes. Never fails: what is not
 * IMAP is a line like any other, for the server to refuse.
 */
enum imap_scan_event imap_scan_feed(struct imap_scan *s, const void *data,
    size_t len, size_t *consumed_r);

/* Whether the next byte consumed belongs to a head. */
bool imap_scan_in_head(const struct imap_scan *s);
/* Whether nothing of a unit has been consumed: between two units. */
bool imap_scan_at_start(const struct imap_scan *s);

/* The current unit's tag and first word (NUL-terminated, "" if
 * unknown), and its head's bytes; valid after HEAD, until the next
 * unit's first byte. */
const char *imap_scan_tag(const struct imap_scan *s);
const char *imap_scan_word(const struct imap_scan *s);
const unsigned char *imap_scan_head(const struct imap_scan *s,
    size_t *len_r);

/* After LITERAL: the literal's size, and whether it is synchronising
 * ("{n}" rather than "{n+}"). */
uint64_t imap_scan_literal_size(const struct imap_scan *s);
bool imap_scan_literal_sync(const struct imap_scan *s);
/* Whether a synchronising literal was announced and none of its data
 * has come yet: the sender waits for the server's "+". */
bool imap_scan_literal_waiting(const struct imap_scan *s);
/* The server refused that literal with a tagged reply instead of "+"
 * (RFC 3501 7.5): the command is over and no data follows; the next
 * byte starts a new unit. */
void imap_scan_literal_cancel(struct imap_scan *s);

#endif
