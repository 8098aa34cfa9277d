/*
 * LMTP replies as a client reads them (RFC 5321 4.2, RFC 2033 4.1,
 * RFC 3463 enhanced codes): what a relay gets from another node's LMTP
 * server. Pure and incremental, resumable at any byte, so a unit test or
 * a fuzzer can feed one byte at a time; no I/O and no libevent.
 */
#ifndef MB_LMTP_LMTP_REPLY_PARSE_H
#define MB_LMTP_LMTP_REPLY_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/limits.h"

/* Extensions an LHLO reply names (RFC 2033 4.1, one keyword a line after
 * the first), as bits of lmtp_reply.caps. */
#define LMTP_CAP_PIPELINING	0x01	/* RFC 2920 */
#define LMTP_CAP_8BITMIME	0x02	/* RFC 6152: BODY=8BITMIME */
#define LMTP_CAP_SIZE		0x04	/* RFC 1870: SIZE= */
#define LMTP_CAP_ENHANCED	0x08	/* RFC 2034 ENHANCEDSTATUSCODES */
#define LMTP_CAP_STARTTLS	0x10	/* RFC 3207 */

/* One complete reply, single- or multi-line. */
struct lmtp_reply {
	int code;			/* 200..599, the same on every line */
	/* The first line's enhanced code ("2.1.5"), or "" when it has
	 * none or one whose class is not the code's first digit */
	char enhanced[LMTP_ENHANCED_CODE_MAX + 1];
	/* The first line's text after the code and enhanced code, every
	 * byte outside printable ASCII replaced by '?' (safe to put in a
	 * reply or a log line) */
	char text[LMTP_REPLY_LINE_MAX + 1];
	size_t lines;			/* lines the reply had (1..) */
	unsigned caps;			/* LMTP_CAP_* named by the lines after
					   the first (meaningful for LHLO) */
	uint64_t size_max;		/* SIZE's number; 0 if none given */
};

/* Why the input is not an LMTP reply. */
enum lmtp_reply_error {
	LMTP_REPLY_OK = 0,
	LMTP_REPLY_ERROR_LINE_TOO_LONG,	/* over LMTP_REPLY_LINE_MAX bytes */
	LMTP_REPLY_ERROR_TOO_MANY_LINES, /* over LMTP_REPLY_LINES_MAX */
	LMTP_REPLY_ERROR_NUL,		/* a NUL byte */
	LMTP_REPLY_ERROR_SYNTAX,	/* no 3-digit code, or no SP or "-"
					   after it */
	LMTP_REPLY_ERROR_CODE_MISMATCH,	/* a continuation line's code differs
					   from the first line's */
};

struct lmtp_reply_parser;

/* A parser for one connection's replies. Never NULL. */
struct lmtp_reply_parser *lmtp_reply_parser_new(void);
void lmtp_reply_parser_free(struct lmtp_reply_parser **parserp);

/*
 * Feed size bytes of input; *consumed_r says how many were used, and
 * the rest must be fed again after the caller acted on the result.
 *
 * Returns 1 when a reply is complete (*reply_r filled; consumed stops
 * right after the LF of its last line, so replies pipelined behind it
 * stay unread), 0 when every byte was consumed and more are needed, or
 * -1 when the input is no reply (lmtp_reply_parser_error() says why).
 * After -1 the parser stays failed and returns -1 at once (consuming
 * nothing) until lmtp_reply_parser_reset(): a peer that broke the
 * protocol is not trusted to be in step again.
 *
 * Lines end with CR LF or a bare LF; a line that grows beyond
 * LMTP_REPLY_LINE_MAX bytes (CR LF not counted) fails as soon as that
 * is seen.
 */
int lmtp_reply_parser_feed(struct lmtp_reply_parser *parser,
    const unsigned char *data, size_t size, size_t *consumed_r,
    struct lmtp_reply *reply_r);

/* Why the last lmtp_reply_parser_feed() returned -1 (static text). */
enum lmtp_reply_error lmtp_reply_parser_error(
    const struct lmtp_reply_parser *parser);
const char *lmtp_reply_error_text(enum lmtp_reply_error error);

/* Forget any partial reply and a failure. */
void lmtp_reply_parser_reset(struct lmtp_reply_parser *parser);

#endif
