/*
 * LIST's arguments (RFC 3501 6.3.8, RFC 5258 6 with RFC 6154 2 and
 * RFC 5819 4):
 *
 *   list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat
 *          [SP list-return-opts]
 *   list-select-opts = "(" [option *(SP option)] ")"
 *   mbox-or-pat = list-mailbox / "(" list-mailbox *(SP list-mailbox) ")"
 *   list-return-opts = "RETURN" SP "(" [option *(SP option)] ")"
 *
 * Options may repeat (taken once) and come in any order; an option the
 * server does not know is BAD (RFC 5258 3).
 */
#include "imap/imap-list-args.h"

#include <string.h>

static const struct {
	const char *name;
	unsigned int bit;
	unsigned int implies;	/* return options it implies */
} select_opts[] = {
	{ "SUBSCRIBED", IMAP_LIST_SEL_SUBSCRIBED, IMAP_LIST_RET_SUBSCRIBED },
	{ "REMOTE", IMAP_LIST_SEL_REMOTE, 0 },
	{ "RECURSIVEMATCH", IMAP_LIST_SEL_RECURSIVEMATCH, 0 },
	{ "SPECIAL-USE", IMAP_LIST_SEL_SPECIAL_USE,
	    IMAP_LIST_RET_SPECIAL_USE },
}, return_opts[] = {
	{ "SUBSCRIBED", IMAP_LIST_RET_SUBSCRIBED, 0 },
	{ "CHILDREN", IMAP_LIST_RET_CHILDREN, 0 },
	{ "SPECIAL-USE", IMAP_LIST_RET_SPECIAL_USE, 0 },
};

static int
select_parse(const struct imap_arg *list, struct imap_list_args *a,
    const char **error_r)
{
	for (unsigned int i = 0; i < list->list_count; i++) {
		size_t k;

		for (k = 0; k < sizeof(select_opts) / sizeof(select_opts[0]);
		    k++)
			if (imap_arg_atom_equals(&list->list[i],
			    select_opts[k].name))
				break;
		if (k == sizeof(select_opts) / sizeof(select_opts[0])) {
			*error_r = "Unknown LIST selection option";
			return -1;
		}
		a->select |= select_opts[k].bit;
		a->ret |= select_opts[k].implies;
	}
	/* RFC 5258 3.1: RECURSIVEMATCH needs a base option, and only
	 * SUBSCRIBED is one (SPECIAL-USE is independent, RFC 6154 6). */
	if ((a->select & IMAP_LIST_SEL_RECURSIVEMATCH) != 0 &&
	    (a->select & IMAP_LIST_SEL_SUBSCRIBED) == 0) {
		*error_r = "RECURSIVEMATCH needs SUBSCRIBED";
		return -1;
	}
	return 0;
}

static int
return_parse(const struct imap_arg *list, struct imap_list_args *a,
    const char **error_r)
{
	for (unsigned int i = 0; i < list->list_count; i++) {
		const struct imap_arg *items = &list->list[i + 1];
		size_t k;

		/* RFC 5819: STATUS SP "(" status-att *(SP status-att) ")" */
		if (imap_arg_atom_equals(&list->list[i], "STATUS")) {
			if (i + 1 == list->list_count ||
			    items->type != IMAP_ARG_LIST ||
			    imap_status_items_parse(items->list,
			    items->list_count, &a->status) < 0) {
				*error_r = "STATUS needs a list of items";
				return -1;
			}
			a->ret |= IMAP_LIST_RET_STATUS;
			i++;
			continue;
		}
		for (k = 0; k < sizeof(return_opts) / sizeof(return_opts[0]);
		    k++)
			if (imap_arg_atom_equals(&list->list[i],
			    return_opts[k].name))
				break;
		if (k == sizeof(return_opts) / sizeof(return_opts[0])) {
			*error_r = "Unknown LIST return option";
			return -1;
		}
		a->ret |= return_opts[k].bit;
	}
	return 0;
}

static int
patterns_parse(const struct imap_arg *arg, struct imap_list_args *a,
    const char **error_r)
{
	const struct imap_arg *pats = arg;
	unsigned int count = 1;
	const char *p;

	if (arg->type == IMAP_ARG_LIST) {
		pats = arg->list;
		count = arg->list_count;
		a->extended = true;
		if (count == 0) {
			*error_r = "Empty list of mailbox patterns";
			return -1;
		}
	}
	for (unsigned int i = 0; i < count; i++) {
		if (!imap_arg_get_astring(&pats[i], &p)) {
			*error_r = "Bad mailbox pattern";
			return -1;
		}
		if (a->pattern_count == IMAP_LIST_PATTERNS_MAX) {
			*error_r = "Too many mailbox patterns";
			return -1;
		}
		a->patterns[a->pattern_count++] = p;
	}
	return 0;
}

int
imap_list_args_parse(const struct imap_arg *args, unsigned int count,
    bool lsub, struct imap_list_args *args_r, const char **error_r)
{
	struct imap_list_args *a = args_r;
	unsigned int i = 0;

	memset(a, 0, sizeof(*a));
	a->lsub = lsub;
	*error_r = lsub ? "LSUB needs a reference and a mailbox pattern" :
	    "LIST needs a reference and a mailbox pattern";
	if (!lsub && count > 0 && args[0].type == IMAP_ARG_LIST) {
		a->extended = true;
		if (select_parse(&args[0], a, error_r) < 0)
			return -1;
		i++;
	}
	if (count - i != 2 && (lsub || count - i != 4))
		return -1;
	if (!imap_arg_get_astring(&args[i], &a->ref))
		return -1;
	if (lsub && args[i + 1].type == IMAP_ARG_LIST)
		return -1;
	if (patterns_parse(&args[i + 1], a, error_r) < 0)
		return -1;
	if (count - i == 4) {
		if (!imap_arg_atom_equals(&args[i + 2], "RETURN") ||
		    args[i + 3].type != IMAP_ARG_LIST)
			return -1;
		a->extended = true;
		if (return_parse(&args[i + 3], a, error_r) < 0)
			return -1;
	}
	if (a->extended) {
		/* RFC 5258 3: "" is no special request here, and is
		 * ignored for matching. */
		unsigned int kept = 0;

		for (unsigned int k = 0; k < a->pattern_count; k++)
			if (a->patterns[k][0] != '\0')
				a->patterns[kept++] = a->patterns[k];
		a->pattern_count = kept;
	}
	return 0;
}

int
imap_list_canonical(const char *ref, const char *pattern,
    char out[IMAP_LIST_PATTERN_MAX + 1])
{
	size_t ref_len = strlen(ref), pat_len = strlen(pattern);

	if (ref_len + pat_len > IMAP_LIST_PATTERN_MAX)
		return -1;
	memcpy(out, ref, ref_len);
	memcpy(out + ref_len, pattern, pat_len + 1);
	return 0;
}
