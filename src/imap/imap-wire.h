/*
 * IMAP wire syntax without I/O: strings, literals, flag lists and UID
 * sets written into a struct buf (RFC 3501 4, 9), and mailbox names read
 * from the wire. Used by the command files and by the pure FETCH
 * formatter alike; nothing here includes libevent.
 */
#ifndef MB_IMAP_IMAP_WIRE_H
#define MB_IMAP_IMAP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/limits.h"

/* Append s as an IMAP astring: an atom when every byte is an ATOM-CHAR
 * (and s is not "", nor NIL), else as imap_write_string(). Returns 0 or
 * -1 if b's max would be exceeded (b unchanged then). */
int imap_write_astring(struct buf *b, const char *s);
/* Append s as a quoted string when it is short and has only 7-bit
 * TEXT-CHARs, else as a literal {n} CR LF data. 0 or -1. */
int imap_write_string(struct buf *b, const char *s);
/* As imap_write_string(); NULL writes NIL. 0 or -1. */
int imap_write_nstring(struct buf *b, const char *s);
/* Append "{len}" CR LF and len bytes (may hold NULs). 0 or -1. */
int imap_write_literal(struct buf *b, const void *data, size_t len);
/* \Recent among the flags passed to imap_write_flags(): the session's
 * own (store_view_message.recent), never a stored flag; a bit far
 * above the enum store_flag ones. */
#define IMAP_FLAG_RECENT (1u << 31)
/* Append "(\Seen \Deleted ...)" for enum store_flag bits, and \Recent
 * last for IMAP_FLAG_RECENT. 0 or -1. */
int imap_write_flags(struct buf *b, unsigned int flags);
/* As imap_write_flags(), followed by names[i] for each bit i of keywords
 * (names: KEYWORDS_MAX entries, NULL where a folder has none; a
 * "$Forwarded" keyword is left out when flags carry it already). */
int imap_write_flag_list(struct buf *b, unsigned int flags,
    uint32_t keywords, const char *const *names);
/*
 * Append uids in the order given as a uid-set, joining runs of
 * ascending consecutive UIDs into "a:b": "4:6,9,2". The order matters:
 * COPYUID pairs the source and destination sets element by element.
 * 0 or -1 if b's max would be exceeded (b unchanged then).
 */
int imap_write_uidset(struct buf *b, const uint32_t *uids, size_t count);

/*
 * Mailbox names: the client sends modified UTF-7 (RFC 3501 5.1.3) with
 * "." as hierarchy separator; the store keeps folder names in that form
 * ("INBOX" in any case is the inbox). Returns 0 with the store name in
 * name_r (size FOLDER_NAME_MAX + 1), or -1 with *error_r set to a text
 * for "NO" (static).
 */
int imap_mailbox_from_wire(const char *wire, char name_r[FOLDER_NAME_MAX + 1],
    const char **error_r);

#endif
