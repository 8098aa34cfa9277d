/*
 * STATUS data items: which a client asked for and how their values are
 * written, shared by STATUS and by LIST ... RETURN (STATUS (...)).
 */
#include "imap/imap-status.h"

#include <inttypes.h>
#include <strings.h>

#include "imap/imap-wire.h"

static const char *const item_names[IMAP_STATUS_ITEM_COUNT] = {
	[IMAP_STATUS_MESSAGES] = "MESSAGES",
	[IMAP_STATUS_RECENT] = "RECENT",
	[IMAP_STATUS_UIDNEXT] = "UIDNEXT",
	[IMAP_STATUS_UIDVALIDITY] = "UIDVALIDITY",
	[IMAP_STATUS_UNSEEN] = "UNSEEN",
	[IMAP_STATUS_SIZE] = "SIZE",
	[IMAP_STATUS_HIGHESTMODSEQ] = "HIGHESTMODSEQ",
};

int
imap_status_items_parse(const struct imap_arg *list, unsigned int count,
    struct imap_status_items *items_r)
{
	items_r->count = 0;
	if (count == 0)
		return -1;
	for (unsigned int i = 0; i < count; i++) {
		unsigned int item, j;

		for (item = 0; item < IMAP_STATUS_ITEM_COUNT; item++)
			if (imap_arg_atom_equals(&list[i], item_names[item]))
				break;
		if (item == IMAP_STATUS_ITEM_COUNT)
			return -1;
		for (j = 0; j < items_r->count; j++)
			if (items_r->item[j] == (enum imap_status_item)item)
				break;
		if (j == items_r->count)
			items_r->item[items_r->count++] =
			    (enum imap_status_item)item;
	}
	return 0;
}

bool
imap_status_items_has(const struct imap_status_items *items,
    enum imap_status_item item)
{
	for (unsigned int i = 0; i < items->count; i++)
		if (items->item[i] == item)
			return true;
	return false;
}

bool
imap_status_items_want_size(const struct imap_status_items *items)
{
	return imap_status_items_has(items, IMAP_STATUS_SIZE);
}

static uint64_t
item_value(enum imap_status_item item, const struct store_status *st)
{
	switch (item) {
	case IMAP_STATUS_MESSAGES:
		return st->messages;
	case IMAP_STATUS_RECENT:
		return st->recent;
	case IMAP_STATUS_UIDNEXT:
		return st->uidnext;
	case IMAP_STATUS_UIDVALIDITY:
		return st->uidvalidity;
	case IMAP_STATUS_UNSEEN:
		return st->unseen;
	case IMAP_STATUS_HIGHESTMODSEQ:
		return st->highestmodseq;
	case IMAP_STATUS_SIZE:
	default:
		return st->size;
	}
}

int
imap_status_write(struct buf *b, const char *name,
    const struct imap_status_items *items, const struct store_status *st)
{
	size_t start = b->len;
	int ok = 0;

	ok |= buf_append_str(b, "* STATUS ");
	ok |= imap_write_astring(b, name);
	ok |= buf_append_str(b, " (");
	for (unsigned int i = 0; i < items->count; i++)
		ok |= buf_printf(b, "%s%s %" PRIu64, i > 0 ? " " : "",
		    item_names[items->item[i]],
		    item_value(items->item[i], st));
	ok |= buf_append_str(b, ")\r\n");
	if (ok != 0) {
		b->len = start;
		return -1;
	}
	return 0;
}
