/*
 * STATUS data items (RFC 3501 6.3.10, RFC 8438 SIZE) read from a
 * command's argument list and written as a "* STATUS" response, for
 * STATUS and for LIST's STATUS return option (RFC 5819). No I/O.
 */
#ifndef MB_IMAP_IMAP_STATUS_H
#define MB_IMAP_IMAP_STATUS_H

#include <stdbool.h>

#include "imap/imap-parser.h"
#include "lib/buf.h"
#include "store/store.h"

enum imap_status_item {
	IMAP_STATUS_MESSAGES,		/* number of messages */
	IMAP_STATUS_RECENT,		/* always 0 (store.h, \Recent) */
	IMAP_STATUS_UIDNEXT,
	IMAP_STATUS_UIDVALIDITY,
	IMAP_STATUS_UNSEEN,		/* messages without \Seen */
	IMAP_STATUS_SIZE,		/* RFC 8438: sum of RFC822.SIZE */
	IMAP_STATUS_HIGHESTMODSEQ,	/* RFC 7162 3.1.6 */
	IMAP_STATUS_ITEM_COUNT
};

/* The items asked for, in the order first asked; a repeated item is
 * kept once, so there are at most IMAP_STATUS_ITEM_COUNT. */
struct imap_status_items {
	enum imap_status_item item[IMAP_STATUS_ITEM_COUNT];
	unsigned int count;
};

/* Read the elements of a STATUS item list ("MESSAGES", "size"...; any
 * case). Returns 0, or -1 for an empty list, an element that is not an
 * atom or an unknown item (the command answers BAD). */
int imap_status_items_parse(const struct imap_arg *list, unsigned int count,
    struct imap_status_items *items_r);

/* True if item is among the items. */
bool imap_status_items_has(const struct imap_status_items *items,
    enum imap_status_item item);
/* True if SIZE is among the items (store_folder_status_size then). */
bool imap_status_items_want_size(const struct imap_status_items *items);

/* Append "* STATUS <name> (<item> <n> ...)" CR LF for the items, with
 * name (a store folder name) as an astring. 0, or -1 if b's max would
 * be exceeded. */
int imap_status_write(struct buf *b, const char *name,
    const struct imap_status_items *items, const struct store_status *st);

#endif
