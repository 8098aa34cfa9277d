/*
 * LMTP input parsing without I/O: a command-line parser and a DATA
 * decoder, both incremental and resumable at any byte, so the session can
 * feed whatever arrived and a fuzzer or unit test can feed one byte at a
 * time. Neither includes libevent.
 */
#ifndef MB_LMTP_LMTP_PARSER_H
#define MB_LMTP_LMTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/limits.h"

/* ---- Command lines (RFC 2033 4, RFC 5321 4.1) ---- */

/* The commands the parser recognises. */
enum lmtp_verb {
	LMTP_VERB_NONE = 0,	/* no command (parse error before the verb) */
	LMTP_VERB_LHLO,		/* LHLO domain */
	LMTP_VERB_HELO,		/* SMTP greeting, refused on an LMTP port */
	LMTP_VERB_EHLO,		/* SMTP greeting, refused on an LMTP port */
	LMTP_VERB_MAIL,		/* MAIL FROM:<path> [params] */
	LMTP_VERB_RCPT,		/* RCPT TO:<path> [params] */
	LMTP_VERB_DATA,		/* DATA */
	LMTP_VERB_RSET,		/* RSET */
	LMTP_VERB_NOOP,		/* NOOP [string] */
	LMTP_VERB_QUIT,		/* QUIT */
	LMTP_VERB_VRFY,		/* VRFY string */
	LMTP_VERB_HELP,		/* HELP [string] */
	LMTP_VERB_STARTTLS,	/* STARTTLS (RFC 3207) */
};

/* Why a line was refused; each maps to one reply code. */
enum lmtp_parse_error {
	LMTP_PARSE_OK = 0,
	/* 500 5.5.2: the line itself is unusable */
	LMTP_PARSE_ERROR_LINE_TOO_LONG,	/* more than max_line bytes */
	LMTP_PARSE_ERROR_NUL,		/* a NUL byte in the line */
	LMTP_PARSE_ERROR_BARE_CR,	/* CR not followed by LF */
	LMTP_PARSE_ERROR_UNKNOWN,	/* not a command we know */
	/* 421 and close: an HTTP request line, so a browser or proxy was
	 * pointed at us (cross-protocol requests must not be obeyed) */
	LMTP_PARSE_ERROR_CROSS_PROTOCOL,
	/* 501 5.5.4: a known command with bad arguments */
	LMTP_PARSE_ERROR_SYNTAX,
	/* 555 5.5.4: MAIL/RCPT parameter we do not implement */
	LMTP_PARSE_ERROR_PARAM_UNKNOWN,
};

/* BODY= parameter of MAIL FROM (RFC 6152). */
enum lmtp_body {
	LMTP_BODY_NONE = 0,	/* not given */
	LMTP_BODY_7BIT,		/* BODY=7BIT */
	LMTP_BODY_8BITMIME,	/* BODY=8BITMIME */
};

/*
 * One parsed command line. Every string points into the parser and stays
 * valid until the next lmtp_parser_feed() or lmtp_parser_free().
 */
struct lmtp_command {
	enum lmtp_verb verb;		/* LMTP_VERB_NONE if unrecognised */
	/* LHLO domain, VRFY/NOOP/HELP text; "" when absent */
	const char *arg;

	/* MAIL and RCPT only */
	const char *path;		/* unquoted mailbox without source
					   route: alice@example.com,
					   "" for the null path <> */
	const char *path_raw;		/* the mailbox as written between the
					   brackets (quotes kept, source route
					   dropped): safe to put in a header */
	bool null_path;			/* the path was <> */
	bool has_size;			/* MAIL: SIZE= given */
	uint64_t size;			/* MAIL: declared size in bytes */
	enum lmtp_body body;		/* MAIL: BODY= */

	/* On -1 from lmtp_parser_feed() */
	enum lmtp_parse_error error;
	const char *error_text;		/* static text for the reply */
};

struct lmtp_parser;

/*
 * A parser for command lines of at most max_line bytes (CR LF not
 * counted; normally LMTP_LINE_MAX). Never NULL.
 */
struct lmtp_parser *lmtp_parser_new(size_t max_line);
void lmtp_parser_free(struct lmtp_parser **parserp);

/*
 * Feed size bytes of input. *consumed_r says how many were used; the rest
 * must be fed again (after the caller acted on the result).
 *
 * Returns 1 when a command line is complete (*cmd_r filled; consumed
 * stops right after its LF, so the caller can switch to DATA), 0 when all
 * bytes were consumed and more are needed, or -1 when a line was refused
 * (cmd_r->error and ->error_text say why; ->verb is set if known).
 *
 * Line ends may be CR LF or a bare LF. A line that grows beyond max_line
 * or holds a NUL or a bare CR is refused as soon as that is seen, and the
 * rest of it, up to the next LF, is skipped silently; other errors are
 * reported when the line ends. Either way the next line parses normally.
 */
int lmtp_parser_feed(struct lmtp_parser *parser, const unsigned char *data,
    size_t size, size_t *consumed_r, struct lmtp_command *cmd_r);

/* Forget any partial line (for example after DATA was refused). */
void lmtp_parser_reset(struct lmtp_parser *parser);

/* ---- Message data (RFC 5321 4.5.2, RFC 2033 4.2) ---- */

/* Why a message was refused after its end was found. */
enum lmtp_data_error {
	LMTP_DATA_OK = 0,
	LMTP_DATA_ERROR_TOO_BIG,	/* over max_size: 552 5.3.4 */
	LMTP_DATA_ERROR_LINE_TOO_LONG,	/* a line over max_line: 500 5.5.2 */
	LMTP_DATA_ERROR_NUL,		/* a NUL byte: 554 5.6.0 */
	LMTP_DATA_ERROR_BARE_LF,	/* an LF without CR: 550 5.6.0 */
};

struct lmtp_data;

/*
 * A decoder for one message at a time of at most max_size bytes (after
 * unstuffing, with CR LF line ends) and lines of at most max_line bytes
 * (CR LF not counted). Never NULL.
 */
struct lmtp_data *lmtp_data_new(size_t max_size, size_t max_line);
void lmtp_data_free(struct lmtp_data **datap);

/*
 * Feed size bytes of the data phase. Dot-stuffing is undone ("..x" gives
 * ".x"). Only CR LF ends a line: a bare CR inside a line is kept as
 * text, and a bare LF is text that flags LMTP_DATA_ERROR_BARE_LF, so the
 * data ends only at CR LF "." CR LF (see lmtp-parser.c on SMTP
 * smuggling). Returns 1 once the terminating "." line has
 * been read (consumed stops right after its LF; the message is complete),
 * or 0 when all bytes were consumed and more are needed. There is no -1:
 * a message that breaks a limit is still read to its end, so the session
 * stays in step with the client, and lmtp_data_error() then says why it
 * must be refused; bytes past a limit are not stored.
 */
int lmtp_data_feed(struct lmtp_data *data, const unsigned char *in,
    size_t size, size_t *consumed_r);

/* The first limit the current message broke, or LMTP_DATA_OK. */
enum lmtp_data_error lmtp_data_error(const struct lmtp_data *data);
/* Message bytes decoded so far, stored or not. */
uint64_t lmtp_data_size(const struct lmtp_data *data);
/*
 * Take the decoded message: a malloc'd buffer of *len_r bytes that the
 * caller owns (never NULL, even when empty). The decoder is reset for
 * the next message.
 */
unsigned char *lmtp_data_steal(struct lmtp_data *data, size_t *len_r);
/*
 * The decoded bytes held in memory and not yet taken: *len_r bytes at
 * the returned pointer, valid until the next call on data. A caller
 * that spools large messages writes them out and then calls
 * lmtp_data_drop().
 */
const unsigned char *lmtp_data_held(const struct lmtp_data *data,
    size_t *len_r);
/* Forget the held bytes (they were written elsewhere); they still count
 * towards max_size, and lmtp_data_steal() returns only later bytes. */
void lmtp_data_drop(struct lmtp_data *data);
/* Drop the current message and start afresh. */
void lmtp_data_reset(struct lmtp_data *data);

#endif
