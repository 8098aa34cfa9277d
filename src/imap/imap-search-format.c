/*
 * SEARCH programs written back in a canonical form, one node per key
 * as the parser made it, for tests and logs.
 */
#include "imap/imap-search.h"

#include "store/store.h"

static const char *const key_names[] = {
	[IMAP_SEARCH_ALL] = "ALL",
	[IMAP_SEARCH_NONE] = "NONE",
	[IMAP_SEARCH_RECENT] = "RECENT",
	[IMAP_SEARCH_AND] = "AND",
	[IMAP_SEARCH_OR] = "OR",
	[IMAP_SEARCH_NOT] = "NOT",
	[IMAP_SEARCH_SEQSET] = "SEQSET",
	[IMAP_SEARCH_UID] = "UID",
	[IMAP_SEARCH_SAVED] = "SAVED",
	[IMAP_SEARCH_FLAG] = "FLAG",
	[IMAP_SEARCH_UNFLAG] = "UNFLAG",
	[IMAP_SEARCH_BEFORE] = "BEFORE",
	[IMAP_SEARCH_ON] = "ON",
	[IMAP_SEARCH_SINCE] = "SINCE",
	[IMAP_SEARCH_SENTBEFORE] = "SENTBEFORE",
	[IMAP_SEARCH_SENTON] = "SENTON",
	[IMAP_SEARCH_SENTSINCE] = "SENTSINCE",
	[IMAP_SEARCH_LARGER] = "LARGER",
	[IMAP_SEARCH_SMALLER] = "SMALLER",
	[IMAP_SEARCH_HEADER] = "HEADER",
	[IMAP_SEARCH_ADDRESS] = "ADDRESS",
	[IMAP_SEARCH_BODY] = "BODY",
	[IMAP_SEARCH_TEXT] = "TEXT",
	[IMAP_SEARCH_KEYWORD] = "KEYWORD",
	[IMAP_SEARCH_UNKEYWORD] = "UNKEYWORD",
	[IMAP_SEARCH_MODSEQ] = "MODSEQ",
};

static const char *
flag_name(unsigned int flag)
{
	switch (flag) {
	case STORE_FLAG_REPLIED:
		return "\\Answered";
	case STORE_FLAG_TRASHED:
		return "\\Deleted";
	case STORE_FLAG_DRAFT:
		return "\\Draft";
	case STORE_FLAG_FLAGGED:
		return "\\Flagged";
	case STORE_FLAG_SEEN:
		return "\\Seen";
	case STORE_FLAG_PASSED:
		return "$Forwarded";
	default:
		return "?";
	}
}

static int
format_node(const struct imap_search_node *node, struct buf *b)
{
	const struct imap_search_node *c;

	if (buf_printf(b, "(%s", key_names[node->key]) < 0)
		return -1;
	switch (node->key) {
	case IMAP_SEARCH_AND:
	case IMAP_SEARCH_OR:
	case IMAP_SEARCH_NOT:
		for (c = node->children; c != NULL; c = c->next)
			if (buf_append(b, " ", 1) < 0 || format_node(c, b) < 0)
				return -1;
		break;
	case IMAP_SEARCH_SEQSET:
	case IMAP_SEARCH_UID: {
		const struct imap_seq_range *r;
		unsigned int n;

		/* Shown resolved against an unbounded "*". */
		r = imap_seqset_ranges(node->set, UINT32_MAX, &n);
		for (unsigned int i = 0; i < n; i++)
			if (buf_printf(b, "%s%u:%u", i == 0 ? " " : ",",
			    r[i].lo, r[i].hi) < 0)
				return -1;
		break;
	}
	case IMAP_SEARCH_FLAG:
	case IMAP_SEARCH_UNFLAG:
		if (buf_printf(b, " %s", flag_name(node->flags)) < 0)
			return -1;
		break;
	case IMAP_SEARCH_BEFORE:
	case IMAP_SEARCH_ON:
	case IMAP_SEARCH_SINCE:
	case IMAP_SEARCH_SENTBEFORE:
	case IMAP_SEARCH_SENTON:
	case IMAP_SEARCH_SENTSINCE:
		if (buf_printf(b, " %04d-%02d-%02d", node->date.year,
		    node->date.month, node->date.day) < 0)
			return -1;
		break;
	case IMAP_SEARCH_LARGER:
	case IMAP_SEARCH_SMALLER:
		if (buf_printf(b, " %llu", (unsigned long long)node->size) < 0)
			return -1;
		break;
	case IMAP_SEARCH_MODSEQ:
		if (buf_printf(b, " %llu",
		    (unsigned long long)node->modseq) < 0)
			return -1;
		break;
	case IMAP_SEARCH_HEADER:
	case IMAP_SEARCH_ADDRESS:
		if (buf_printf(b, " \"%s\"", node->field) < 0)
			return -1;
		/* FALLTHROUGH */
	case IMAP_SEARCH_BODY:
	case IMAP_SEARCH_TEXT:
		if (buf_printf(b, " \"%s\"", node->value) < 0)
			return -1;
		break;
	case IMAP_SEARCH_KEYWORD:
	case IMAP_SEARCH_UNKEYWORD:
		if (buf_printf(b, " %s", node->value) < 0)
			return -1;
		break;
	case IMAP_SEARCH_ALL:
	case IMAP_SEARCH_NONE:
	case IMAP_SEARCH_RECENT:
	case IMAP_SEARCH_SAVED:
		break;
	}
	return buf_append(b, ")", 1);
}

int
imap_search_format(const struct imap_search *search, struct buf *b)
{
	return format_node(search->root, b);
}
