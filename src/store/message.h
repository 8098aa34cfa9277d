/*
 * One mail message, parsed for IMAP: its ENVELOPE and body structure
 * (RFC 3501 7.4.2), the bytes of any BODY[section] (RFC 3501 6.4.5), and
 * the tests SEARCH needs. Everything here is data in our own types; IMAP
 * formatting stays in src/imap.
 *
 * Bytes returned to callers are always CRLF-normalised, as IMAP sends
 * them: a Maildir file may end its lines in LF alone, and every LF not
 * preceded by CR counts, and is returned, as CRLF. Sizes follow suit.
 *
 * A struct message owns a copy of the message and everything derived
 * from it; nothing is cached beyond the handle and nothing is shared
 * between handles, so handles may be used on different threads.
 */
#ifndef MB_STORE_MESSAGE_H
#define MB_STORE_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/buf.h"

struct message;

/* ---- Envelope (RFC 3501 7.4.2 ENVELOPE) ---- */

/*
 * One entry of an address list, as RFC 3501 lays out an address:
 *   plain address   name?, mailbox, host
 *   group start     mailbox = group name, host = NULL
 *   group end       mailbox = NULL, host = NULL
 * An address missing its local part or domain has mailbox
 * "MISSING_MAILBOX" or host "MISSING_DOMAIN" (as Dovecot sends), so a
 * NULL host always means a group marker.
 */
struct message_address {
	char *name;		/* display name as written: quotes removed,
				   words joined by one space, encoded words
				   kept (IMAP sends the raw form); for an
				   addr-spec, a trailing comment; or NULL */
	char *adl;		/* source route ("@a,@b"), normally NULL */
	char *mailbox;		/* local part, or group name; see above */
	char *host;		/* domain; see above */
};

/* An address list; count 0 when the field is absent or empty (NIL). */
struct message_address_list {
	struct message_address *addrs;
	size_t count;
};

/*
 * The envelope of a message. Strings are the raw header values, unfolded
 * (line breaks of folded lines removed) and without surrounding white
 * space, or NULL when the field is absent (IMAP NIL). Where a field
 * occurs twice the first one counts.
 */
struct message_envelope {
	char *date;
	char *subject;
	struct message_address_list from;
	/* sender and reply_to hold a copy of from when the field is absent
	   or empty (RFC 3501 7.4.2). */
	struct message_address_list sender;
	struct message_address_list reply_to;
	struct message_address_list to;
	struct message_address_list cc;
	struct message_address_list bcc;
	char *in_reply_to;
	char *message_id;
};

/* ---- Body structure (RFC 3501 7.4.2 BODY, BODYSTRUCTURE) ---- */

/* A Content-Type or Content-Disposition parameter. Names and values are
 * as written (quotes removed); RFC 2231 continuations name*0, name*1...
 * are joined into one "name" (or "name*" if extended, value left
 * encoded), as Dovecot does. */
struct message_param {
	char *name;
	char *value;
};

/* How a part is described in BODYSTRUCTURE. */
enum message_part_kind {
	MESSAGE_PART_BASIC,	/* body-type-basic: any other leaf part */
	MESSAGE_PART_TEXT,	/* body-type-text: type "text", has lines */
	MESSAGE_PART_MESSAGE,	/* body-type-msg: message/rfc822 in 7bit,
				   8bit or binary: envelope, one child, lines
				   (a basic part once the message has
				   MESSAGE_MIME_PARTS_MAX parts) */
	MESSAGE_PART_MULTIPART,	/* body-type-mpart: children */
};

/*
 * One MIME part. Type, subtype and parameter names keep the case the
 * message uses (as Dovecot sends them); the defaults filled in for a part
 * without Content-Type are lowercase: text/plain; charset=us-ascii, or
 * message/rfc822 inside multipart/digest (RFC 2045 5.2, RFC 2046 5.1.5).
 * A message/rfc822 part in another transfer encoding is a basic part.
 *
 * The body MD5 extension field is not computed: IMAP sends NIL.
 */
struct message_part {
	enum message_part_kind kind;

	/* Content-Type */
	char *type;		/* "text", "IMAGE", "multipart"... never NULL */
	char *subtype;		/* "plain", "mixed"... never NULL */
	struct message_param *params;	/* in message order */
	size_t param_count;

	/* Single fields of the part's header: raw value, unfolded, or NULL
	   when absent. */
	char *id;		/* Content-ID */
	char *description;	/* Content-Description */
	char *encoding;		/* Content-Transfer-Encoding; "7bit" if
				   absent (never NULL) */
	char *location;		/* Content-Location (RFC 2557) */

	/* Content-Disposition: NULL when absent. */
	char *disposition;	/* "attachment", "inline"... */
	struct message_param *disposition_params;
	size_t disposition_param_count;

	/* Content-Language (RFC 3282): the comma-separated tags. */
	char **languages;
	size_t language_count;

	/* Sizes of the body (the bytes after the header's blank line, up to
	   the line break before the next boundary), CRLF-normalised. */
	uint64_t size;		/* octets */
	uint64_t lines;		/* line breaks; meaningful for TEXT and
				   MESSAGE kinds */

	/* MESSAGE_PART_MESSAGE: the encapsulated message's envelope; its
	   body structure is children[0]. NULL for other kinds. */
	struct message_envelope *envelope;

	/* MULTIPART: the parts, possibly none (no boundary parameter, or no
	   delimiter in the body: IMAP writers then describe one empty
	   text/plain part, as Dovecot does). MESSAGE: exactly one, the
	   encapsulated message's top part. Other kinds: none. */
	struct message_part **children;
	size_t child_count;

	/* Positions in the raw message, for message.c: callers fetch bytes
	   through message_section_get(). */
	size_t raw_header_start;	/* first byte of the part's header */
	size_t raw_body_start;		/* first byte after the blank line */
	size_t raw_body_end;		/* end of the body */
};

/* ---- Parsing ---- */

/*
 * Parse size bytes of a message (copied; data may be freed afterwards).
 * Any byte sequence is accepted as a message except one whose MIME parts
 * nest deeper than MESSAGE_MIME_DEPTH_MAX (multipart and message/rfc822
 * levels together). After MESSAGE_MIME_PARTS_MAX parts, further
 * delimiters are body text of their multipart; parameters beyond
 * MESSAGE_MIME_PARAMS_MAX are dropped. Returns 0 with *msg_r set, or -1
 * with *error_r set (static text).
 */
int message_parse(const void *data, size_t size, struct message **msg_r,
    const char **error_r);

/* As message_parse() for the contents of a file. -1 with *error_r set
 * (static text) and errno preserved if the file cannot be read. */
int message_parse_file(const char *path, struct message **msg_r,
    const char **error_r);

void message_free(struct message **msgp);

/* RFC822.SIZE: the size of the whole message with CRLF line ends. */
uint64_t message_size(const struct message *msg);

/* The envelope and the body structure of the message; both live as long
 * as msg. The top part's raw_header_start is 0. */
const struct message_envelope *message_envelope(const struct message *msg);
const struct message_part *message_body(const struct message *msg);

/* ---- Sections (RFC 3501 6.4.5 BODY[section]) ---- */

/* What a section names after its part numbers. */
enum message_section_kind {
	MESSAGE_SECTION_BODY,		/* no suffix: with no part numbers
					   the whole message (BODY[],
					   RFC822), else the part's body */
	MESSAGE_SECTION_HEADER,		/* HEADER (RFC822.HEADER) */
	MESSAGE_SECTION_HEADER_FIELDS,	/* HEADER.FIELDS (list) */
	MESSAGE_SECTION_HEADER_FIELDS_NOT, /* HEADER.FIELDS.NOT (list) */
	MESSAGE_SECTION_TEXT,		/* TEXT (RFC822.TEXT) */
	MESSAGE_SECTION_MIME,		/* MIME: needs part numbers */
};

/*
 * A section specification: "1.2.HEADER.FIELDS (From To)" is
 * { parts = {1, 2}, part_count = 2, kind = HEADER_FIELDS,
 *   fields = {"From", "To"}, field_count = 2 }.
 */
struct message_section {
	const uint32_t *parts;		/* part numbers, each >= 1 */
	size_t part_count;		/* 0: the message itself */
	enum message_section_kind kind;
	const char *const *fields;	/* HEADER.FIELDS[.NOT] field names,
					   matched case-insensitively */
	size_t field_count;
};

/*
 * Append the CRLF-normalised bytes of a section to out; the caller
 * applies <partial>. Part numbering follows RFC 3501 6.4.5: the parts of
 * a multipart are numbered from 1; a message that is not multipart has
 * one part, 1, its body; numbers after a message/rfc822 part number the
 * parts of the encapsulated message the same way. HEADER, HEADER.FIELDS
 * [.NOT] and TEXT after part numbers need a message/rfc822 part and
 * refer to its encapsulated message; MIME is the header of the numbered
 * part. HEADER.FIELDS[.NOT] returns the (non-)matching fields whole, in
 * message order, then a blank line (CRLF).
 *
 * Returns 0, or -1 with *error_r set (static text) when the section does
 * not exist (a part number out of range, HEADER of a part that is not a
 * message, MIME without part numbers) or out's maximum would be exceeded
 * (out then holds a prefix of the section).
 */
int message_section_get(const struct message *msg,
    const struct message_section *section, struct buf *out,
    const char **error_r);

/*
 * BINARY[section] (RFC 3516): append the content of the part that parts
 * names with its Content-Transfer-Encoding undone (base64,
 * quoted-printable), so it may hold any byte, NUL included.
 * 7bit and 8bit content is CRLF-normalised as BODY[] is; "binary" is
 * left as it is. A multipart or message part, and the message itself
 * (part_count 0), come as BODY[] has them. Returns 0, -1 with *error_r
 * (no such part, out's maximum exceeded), or -2 if the part's encoding
 * is unknown (IMAP's [UNKNOWN-CTE]).
 */
int message_binary_get(const struct message *msg, const uint32_t *parts,
    size_t part_count, struct buf *out, const char **error_r);

/* Find the part a list of part numbers names (see above); NULL if none.
 * part_count 0 gives the top part. */
const struct message_part *message_part_find(const struct message *msg,
    const uint32_t *parts, size_t part_count);

/* ---- SEARCH (RFC 3501 6.4.4) ----
 * Matching is case-insensitive (Unicode case folding) on UTF-8 text:
 * header values have RFC 2047 encoded words decoded, bodies their
 * transfer encoding undone and their charset converted. An empty needle
 * matches whenever there is something to search. */

/* HEADER field string: some field named field (case-insensitive) whose
 * value contains needle; with needle "" any such field matches. Also the
 * SUBJECT key. */
bool message_search_header(const struct message *msg, const char *field,
    const char *needle);

/* FROM, TO, CC and BCC: some address of some field named field, read as
 * ENVELOPE reads it, contains needle. Each address is searched as
 * "display name <local@domain>" with the name's RFC 2047 words decoded
 * and comments, quotes and folding gone (or as "local@domain" without a
 * name; a group as its name), so "user@domain.org" finds
 * "<user (c)@ domain.org>". With needle "" any such field matches. */
bool message_search_address(const struct message *msg, const char *field,
    const char *needle);

/* BODY string: the body of some text/ part (message/rfc822 parts
 * included) contains needle. */
bool message_search_body(const struct message *msg, const char *needle);

/* TEXT string: the header (any field name or value) or the body
 * contains needle. */
bool message_search_text(const struct message *msg, const char *needle);

/*
 * The Date: field for SENTBEFORE, SENTON and SENTSINCE: the instant in
 * *time_r and the zone it was written in as seconds east of UTC in
 * *tz_offset_r (RFC 3501 compares the date as written: take
 * *time_r + *tz_offset_r as UTC to get it). Returns 0, or -1 if there
 * is no Date: field or it cannot be parsed.
 */
int message_sent_date(const struct message *msg, time_t *time_r,
    int *tz_offset_r);

/* ---- SORT and THREAD (RFC 5256) ---- */

/* The first field of the message's own header named name
 * (case-insensitive), unfolded and trimmed (malloc'd), or NULL when
 * there is none. */
char *message_header_get(const struct message *msg, const char *name);

/* raw header text with its RFC 2047 encoded words decoded, as valid
 * UTF-8 (bytes that are not become U+FFFD); malloc'd. */
char *message_header_decode(const char *raw);

/*
 * GMime is set up on first use. Call message_lib_deinit() once at exit
 * (tests do, so leak checkers see GMime's global state freed); no
 * message function may be used afterwards.
 */
void message_lib_deinit(void);

#endif
