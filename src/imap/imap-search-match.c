/*
 * SEARCH matching: the three-valued matcher (yes, no, need more) over a
 * program parsed by imap-search.c, so that cmd-search.c opens a message
 * file only when flags, UIDs, sizes and dates cannot decide.
 */
#include "imap/imap-search.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"

/* ---- matching ---- */

/* Days since 1970-01-01 of the instant t seen at offset seconds east of
 * UTC, rounding down for instants before the epoch. */
static int64_t
day_of(int64_t t, int64_t offset)
{
	int64_t s = t + offset;

	return s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
}

static int64_t
local_day(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL)
		return day_of(t, 0);
	return day_of(t, tm.tm_gmtoff);
}

static int
compare_day(enum imap_search_key key, int64_t day, int64_t want)
{
	switch (key) {
	case IMAP_SEARCH_BEFORE:
	case IMAP_SEARCH_SENTBEFORE:
		return day < want;
	case IMAP_SEARCH_ON:
	case IMAP_SEARCH_SENTON:
		return day == want;
	default:
		return day >= want;
	}
}

static int
uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int match_node(const struct imap_search *search,
    struct imap_search_node *node, const struct imap_search_msg *m,
    uint32_t max_seq, uint32_t max_uid);

/* AND (stop 0) or OR (stop 1): stop if a child says stop; else unknown
 * if any child is unknown, else the opposite of stop. */
static int
match_children(const struct imap_search *search,
    struct imap_search_node *node, const struct imap_search_msg *m,
    uint32_t max_seq, uint32_t max_uid, int stop)
{
	struct imap_search_node *c;
	int r, result = !stop;

	for (c = node->children; c != NULL; c = c->next) {
		r = match_node(search, c, m, max_seq, max_uid);
		if (r == stop)
			return stop;
		if (r < 0)
			result = -1;
	}
	return result;
}

/* The keys that need the message's dates, size or text: -1 (unknown)
 * while the caller has not loaded what they need. */
static int
match_content(struct imap_search_node *node, const struct imap_search_msg *m)
{
	time_t t;
	int tz;

	switch (node->key) {
	case IMAP_SEARCH_BEFORE:
	case IMAP_SEARCH_ON:
	case IMAP_SEARCH_SINCE:
		if (!m->have_info)
			return -1;
		return compare_day(node->key, local_day(m->internal_date),
		    day_of(imap_date_to_time(&node->date), 0));
	case IMAP_SEARCH_SENTBEFORE:
	case IMAP_SEARCH_SENTON:
	case IMAP_SEARCH_SENTSINCE:
		if (m->msg == NULL)
			return -1;
		if (message_sent_date(m->msg, &t, &tz) < 0)
			return 0;
		return compare_day(node->key, day_of(t, tz),
		    day_of(imap_date_to_time(&node->date), 0));
	case IMAP_SEARCH_LARGER:
	case IMAP_SEARCH_SMALLER:
		if (!m->have_info)
			return -1;
		return node->key == IMAP_SEARCH_LARGER ?
		    m->size > node->size : m->size < node->size;
	case IMAP_SEARCH_HEADER:
		if (m->msg == NULL)
			return -1;
		return message_search_header(m->msg, node->field, node->value);
	case IMAP_SEARCH_ADDRESS:
		if (m->msg == NULL)
			return -1;
		return message_search_address(m->msg, node->field,
		    node->value);
	case IMAP_SEARCH_BODY:
		if (m->msg == NULL)
			return -1;
		return message_search_body(m->msg, node->value);
	case IMAP_SEARCH_TEXT:
		if (m->msg == NULL)
			return -1;
		return message_search_text(m->msg, node->value);
	default:
		return 0;
	}
}

/* Three-valued: 1, 0, or -1 (unknown without more data). */
static int
match_node(const struct imap_search *search, struct imap_search_node *node,
    const struct imap_search_msg *m, uint32_t max_seq, uint32_t max_uid)
{
	int r;

	switch (node->key) {
	case IMAP_SEARCH_ALL:
		return 1;
	case IMAP_SEARCH_NONE:
		return 0;
	case IMAP_SEARCH_AND:
		/* No if any is no; unknown if any is unknown; else yes. */
		return match_children(search, node, m, max_seq, max_uid, 0);
	case IMAP_SEARCH_OR:
		return match_children(search, node, m, max_seq, max_uid, 1);
	case IMAP_SEARCH_NOT:
		r = match_node(search, node->children, m, max_seq, max_uid);
		return r < 0 ? -1 : !r;
	case IMAP_SEARCH_SEQSET:
		return max_seq > 0 &&
		    imap_seqset_contains(node->set, max_seq, m->seq);
	case IMAP_SEARCH_UID:
		return max_uid > 0 &&
		    imap_seqset_contains(node->set, max_uid, m->uid);
	case IMAP_SEARCH_RECENT:
		return m->recent;
	case IMAP_SEARCH_SAVED:
		return search->saved_count > 0 && bsearch(&m->uid,
		    search->saved, search->saved_count, sizeof(uint32_t),
		    uid_cmp) != NULL;
	case IMAP_SEARCH_FLAG:
		return (m->flags & node->flags) != 0;
	case IMAP_SEARCH_UNFLAG:
		return (m->flags & node->flags) == 0;
	case IMAP_SEARCH_KEYWORD:
		return (m->keywords & node->keywords) != 0;
	case IMAP_SEARCH_UNKEYWORD:
		return (m->keywords & node->keywords) == 0;
	case IMAP_SEARCH_MODSEQ:
		return m->modseq >= node->modseq;
	case IMAP_SEARCH_BEFORE:
	case IMAP_SEARCH_ON:
	case IMAP_SEARCH_SINCE:
	case IMAP_SEARCH_SENTBEFORE:
	case IMAP_SEARCH_SENTON:
	case IMAP_SEARCH_SENTSINCE:
	case IMAP_SEARCH_LARGER:
	case IMAP_SEARCH_SMALLER:
	case IMAP_SEARCH_HEADER:
	case IMAP_SEARCH_ADDRESS:
	case IMAP_SEARCH_BODY:
	case IMAP_SEARCH_TEXT:
		return match_content(node, m);
	}
	return 0;
}

int
imap_search_match(struct imap_search *search, const struct imap_search_msg *m,
    uint32_t max_seq, uint32_t max_uid)
{
	return match_node(search, search->root, m, max_seq, max_uid);
}
