/*
 * The answer to SEARCH ... RETURN (...) (RFC 4731 3.1): one ESEARCH
 * response carrying the tag of its command and what was asked for, the
 * matches written as a sequence-set; and what RETURN (SAVE) keeps of
 * them (RFC 5182 2.4).
 */
#include "imap/imap-search.h"

#include "imap/imap-wire.h"

int
imap_search_write_esearch(struct buf *b, const char *tag, bool uid,
    unsigned int returns, const uint32_t *ids, size_t count)
{
	size_t old = b->len;

	if (buf_append_str(b, "* ESEARCH (TAG ") < 0 ||
	    imap_write_string(b, tag) < 0 || buf_append_str(b, ")") < 0 ||
	    (uid && buf_append_str(b, " UID") < 0))
		goto fail;
	/* RFC 4731 3.1: MIN, MAX and ALL are left out when nothing
	 * matched; COUNT is then 0. */
	if (count > 0 && (returns & IMAP_SEARCH_RETURN_MIN) != 0 &&
	    buf_printf(b, " MIN %u", ids[0]) < 0)
		goto fail;
	if (count > 0 && (returns & IMAP_SEARCH_RETURN_MAX) != 0 &&
	    buf_printf(b, " MAX %u", ids[count - 1]) < 0)
		goto fail;
	if (count > 0 && (returns & IMAP_SEARCH_RETURN_ALL) != 0 &&
	    (buf_append_str(b, " ALL ") < 0 ||
	    imap_write_uidset(b, ids, count) < 0))
		goto fail;
	if ((returns & IMAP_SEARCH_RETURN_COUNT) != 0 &&
	    buf_printf(b, " COUNT %zu", count) < 0)
		goto fail;
	if (buf_append_str(b, "\r\n") < 0)
		goto fail;
	return 0;
fail:
	b->len = old;
	if (b->data != NULL)
		b->data[old] = '\0';
	return -1;
}

size_t
imap_search_save_select(unsigned int returns, uint32_t *uids, size_t count)
{
	unsigned int minmax = returns &
	    (IMAP_SEARCH_RETURN_MIN | IMAP_SEARCH_RETURN_MAX);

	if (count == 0 || minmax == 0 || (returns &
	    (IMAP_SEARCH_RETURN_ALL | IMAP_SEARCH_RETURN_COUNT)) != 0)
		return count;
	if (minmax == IMAP_SEARCH_RETURN_MIN || count == 1)
		return 1;
	uids[0] = minmax == IMAP_SEARCH_RETURN_MAX ? uids[count - 1] : uids[0];
	if (minmax == IMAP_SEARCH_RETURN_MAX)
		return 1;
	uids[1] = uids[count - 1];
	return 2;
}
