/*
 * QRESYNC's resync answers (RFC 7162 3.2.5, 3.2.6): expunged UIDs since a
 * MODSEQ as VANISHED (EARLIER), and the changed messages' FETCH, from
 * the selected view and the folder's MODSEQ log.
 */
#include "imap/imap-qresync.h"

#include <stdlib.h>

#include "imap/imap-seqset.h"
#include "imap/imap-session.h"
#include "imap/imap-view.h"
#include "imap/imap-wire.h"
#include "lib/buf.h"
#include "lib/xmalloc.h"
#include "store/store.h"

/* Append "lo" or "lo:hi" (after a comma unless first). */
static void
range_add(struct buf *b, bool *first, uint64_t lo, uint64_t hi)
{
	(void)buf_printf(b, lo == hi ? "%s%llu" : "%s%llu:%llu",
	    *first ? "" : ",", (unsigned long long)lo,
	    (unsigned long long)hi);
	*first = false;
}

/* The UIDs of ranges that are not in view, as a UID set, into b. */
static void
write_missing(struct buf *b, const struct imap_seq_range *r, unsigned nr,
    const struct store_view *view, bool *first)
{
	const struct store_view_message *msgs = store_view_messages(view);
	size_t j = 0, count = store_view_count(view);

	for (unsigned i = 0; i < nr; i++) {
		uint64_t cur = r[i].lo, next;

		while (j < count && msgs[j].uid < r[i].lo)
			j++;
		while (cur <= r[i].hi) {
			next = j < count && msgs[j].uid <= r[i].hi ?
			    msgs[j].uid : (uint64_t)r[i].hi + 1;
			if (next > cur)
				range_add(b, first, cur, next - 1);
			if (next > r[i].hi)
				break;
			cur = next + 1;
			j++;
		}
	}
}

void
imap_qresync_vanished(struct imap_session *session, uint64_t since,
    const char *set, uint32_t max)
{
	struct store_view *view = session->view;
	struct imap_seqset *parsed = NULL;
	struct imap_seq_range all = { 1, store_view_uidnext(view) - 1 };
	const struct imap_seq_range *r = &all;
	unsigned nr = all.hi >= 1 ? 1 : 0;
	uint32_t *uids;
	size_t count, n = 0;
	bool every, first = true;
	const char *error;
	struct buf b;

	if (set != NULL && imap_seqset_parse(set, &parsed, &error) == 0)
		r = imap_seqset_ranges(parsed, max, &nr);
	store_view_vanished(view, since, &uids, &count, &every);
	buf_init(&b, 0);
	(void)buf_append_str(&b, "* VANISHED (EARLIER) ");
	if (every) {
		write_missing(&b, r, nr, view, &first);
	} else {
		for (size_t i = 0; i < count; i++) {
			if (parsed == NULL ? uids[i] < store_view_uidnext(view) :
			    imap_seqset_contains(parsed, max, uids[i]))
				uids[n++] = uids[i];
		}
		if (n > 0 && imap_write_uidset(&b, uids, n) == 0)
			first = false;
	}
	if (!first) {
		(void)buf_append_str(&b, "\r\n");
		imap_session_write(session, b.data, b.len);
	}
	buf_free(&b);
	free(uids);
	imap_seqset_free(&parsed);
}

void
imap_qresync_select(struct imap_session *session,
    const struct imap_select_params *params)
{
	struct store_view *view = session->view;
	const struct store_view_message *msgs = store_view_messages(view);
	uint32_t count = store_view_count(view);
	struct imap_seqset *known = NULL;
	const char *error;
	struct buf b;

	if (params->uidvalidity != store_view_uidvalidity(view))
		return;		/* the client starts afresh */
	imap_qresync_vanished(session, params->modseq, params->known_uids,
	    UINT32_MAX);
	if (params->known_uids != NULL)
		(void)imap_seqset_parse(params->known_uids, &known, &error);
	buf_init(&b, 0);
	for (uint32_t i = 0; i < count; i++) {
		const struct store_view_message *vm = &msgs[i];

		if (vm->modseq <= params->modseq || (known != NULL &&
		    !imap_seqset_contains(known, UINT32_MAX, vm->uid)))
			continue;
		buf_reset(&b);
		(void)buf_printf(&b, "* %u FETCH (UID %u FLAGS ", i + 1,
		    vm->uid);
		(void)imap_view_write_flags(&b, view, vm->flags |
		    (vm->recent ? IMAP_FLAG_RECENT : 0), vm->keywords);
		(void)buf_printf(&b, " MODSEQ (%llu))\r\n",
		    (unsigned long long)vm->modseq);
		imap_session_write(session, b.data, b.len);
	}
	buf_free(&b);
	imap_seqset_free(&known);
}
