/*
 * FETCH without I/O: the fetch attributes of a command parsed into a
 * list of items (RFC 3501 6.4.5), and the ENVELOPE and BODY /
 * BODYSTRUCTURE of a parsed message (store/message.h) written in IMAP
 * syntax (RFC 3501 7.4.2). cmd-fetch.c reads the messages and writes the
 * responses; everything here is testable on its own.
 */
#ifndef MB_IMAP_IMAP_FETCH_FORMAT_H
#define MB_IMAP_IMAP_FETCH_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap-parser.h"
#include "lib/buf.h"
#include "store/message.h"

/* ---- Formatting (RFC 3501 7.4.2) ---- */

/*
 * Append env as an IMAP envelope: "(date subject from sender reply-to to
 * cc bcc in-reply-to message-id)", absent strings and empty address
 * lists as NIL, group markers as (NIL NIL "name" NIL) and
 * (NIL NIL NIL NIL). Returns 0, or -1 if b's max would be exceeded (b
 * then holds a prefix of the output).
 */
int imap_fetch_write_envelope(struct buf *b,
    const struct message_envelope *env);

/*
 * Append the body structure rooted at part: BODYSTRUCTURE when extended
 * is true (with the extension data: MD5 as NIL, disposition, language,
 * location; multipart parameters), the non-extensible BODY otherwise.
 * A multipart without parts is written with one empty text/plain part,
 * since the grammar needs at least one. 0 or -1 as above.
 */
int imap_fetch_write_body(struct buf *b, const struct message_part *part,
    bool extended);

/* ---- Fetch attributes (RFC 3501 6.4.5) ---- */

enum imap_fetch_att {
	IMAP_FETCH_FLAGS,		/* FLAGS */
	IMAP_FETCH_UID,			/* UID */
	IMAP_FETCH_INTERNALDATE,	/* INTERNALDATE */
	IMAP_FETCH_RFC822_SIZE,		/* RFC822.SIZE */
	IMAP_FETCH_ENVELOPE,		/* ENVELOPE */
	IMAP_FETCH_BODYSTRUCTURE,	/* BODYSTRUCTURE */
	IMAP_FETCH_BODY,		/* BODY without a section: the
					   non-extensible structure */
	IMAP_FETCH_SECTION,		/* BODY[..], BODY.PEEK[..], RFC822,
					   RFC822.HEADER, RFC822.TEXT */
	IMAP_FETCH_MODSEQ,		/* MODSEQ (RFC 7162 3.1.4) */
};

/* One attribute as asked for. */
struct imap_fetch_item {
	enum imap_fetch_att att;
	/* The name the response carries before the value, upper case:
	 * "FLAGS", "BODY[1.HEADER.FIELDS (FROM TO)]<0>", "RFC822.TEXT". */
	char *name;

	/* SECTION only */
	struct message_section section;	/* points into parts and fields */
	uint32_t *parts;		/* part numbers (owned) */
	char **fields;			/* HEADER.FIELDS names (owned) */
	bool whole;			/* the whole message (BODY[], RFC822):
					   answered from the file without
					   parsing it */
	bool sets_seen;			/* BODY[...] and RFC822(.TEXT):
					   reading sets \Seen */
	bool binary;			/* BINARY[...], BINARY.PEEK[...]
					   (RFC 3516): the content decoded,
					   part numbers only */
	bool binary_size;		/* BINARY.SIZE[...]: its size */
	bool has_partial;		/* <offset.size> */
	uint32_t partial_offset;
	uint32_t partial_size;
};

/* Every attribute of one FETCH, and what answering them takes. */
struct imap_fetch_items {
	struct imap_fetch_item *items;	/* in the order asked for */
	size_t count;

	bool need_info;		/* INTERNALDATE or RFC822.SIZE: the
				   store's index entry */
	bool need_raw;		/* a whole-message item: the file's bytes */
	bool need_parse;	/* ENVELOPE, BODY(STRUCTURE), sections
				   other than the whole message */
	bool sets_seen;		/* some item sets \Seen */
	bool has_uid;		/* UID was asked for */
	bool has_flags;		/* FLAGS was asked for */
	bool has_modseq;	/* MODSEQ was asked for */
};

/*
 * Parse the attribute argument of FETCH (the argument after the
 * sequence set): a macro atom (ALL, FAST, FULL), one attribute, or a
 * parenthesised list of attributes. Attribute names are case-insensitive;
 * a section token (IMAP_ARG_SECTION) is BODY[...] or BODY.PEEK[...] with
 * part numbers (at most IMAP_SECTION_PARTS_MAX) and HEADER,
 * HEADER.FIELDS (list), HEADER.FIELDS.NOT (list), TEXT or MIME (after
 * part numbers only), or BINARY[...], BINARY.PEEK[...] or
 * BINARY.SIZE[...] with part numbers alone (RFC 3516; no partial for
 * BINARY.SIZE). Returns 0 with *items_r (free with
 * imap_fetch_items_free()), or -1 with *error_r set to a static text for
 * "BAD".
 */
int imap_fetch_items_parse(const struct imap_arg *arg,
    struct imap_fetch_items **items_r, const char **error_r);
void imap_fetch_items_free(struct imap_fetch_items **itemsp);

#endif
