/*
 * SORT programs parsed, each message's sort keys taken from its header
 * (RFC 5256 3, RFC 5957), and messages ordered by them with the
 * i;ascii-casemap collation.
 */
#include "imap/imap-sort.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap-subject.h"
#include "lib/xmalloc.h"

/* ---- parsing ---- */

static const struct {
	const char *name;
	enum imap_sort_key key;
} sort_keys[] = {
	{ "ARRIVAL", IMAP_SORT_ARRIVAL },
	{ "CC", IMAP_SORT_CC },
	{ "DATE", IMAP_SORT_DATE },
	{ "FROM", IMAP_SORT_FROM },
	{ "SIZE", IMAP_SORT_SIZE },
	{ "SUBJECT", IMAP_SORT_SUBJECT },
	{ "TO", IMAP_SORT_TO },
	{ "DISPLAYFROM", IMAP_SORT_DISPLAYFROM },
	{ "DISPLAYTO", IMAP_SORT_DISPLAYTO },
};

bool
imap_sort_charset_ok(const struct imap_arg *arg)
{
	const char *charset;

	return imap_arg_get_astring(arg, &charset) &&
	    (strcasecmp(charset, "UTF-8") == 0 ||
	    strcasecmp(charset, "US-ASCII") == 0);
}

/* "(" [REVERSE SP] key *(SP [REVERSE SP] key) ")" */
static int
parse_criteria(const struct imap_arg *list, struct imap_sort *sort,
    const char **error_r)
{
	bool reverse = false;

	if (list->type != IMAP_ARG_LIST || list->list_count == 0) {
		*error_r = "SORT needs a list of sort criteria";
		return -1;
	}
	for (unsigned int i = 0; i < list->list_count; i++) {
		const struct imap_arg *a = &list->list[i];
		size_t j;

		if (!reverse && imap_arg_atom_equals(a, "REVERSE")) {
			reverse = true;
			continue;
		}
		for (j = 0; j < sizeof(sort_keys) / sizeof(sort_keys[0]); j++)
			if (imap_arg_atom_equals(a, sort_keys[j].name))
				break;
		if (j == sizeof(sort_keys) / sizeof(sort_keys[0])) {
			*error_r = "Unknown sort criterion";
			return -1;
		}
		if (sort->count == IMAP_SORT_CRITERIA_MAX) {
			*error_r = "Too many sort criteria";
			return -1;
		}
		sort->criteria[sort->count].key = sort_keys[j].key;
		sort->criteria[sort->count].reverse = reverse;
		sort->count++;
		reverse = false;
		if (sort_keys[j].key != IMAP_SORT_ARRIVAL &&
		    sort_keys[j].key != IMAP_SORT_SIZE)
			sort->need_header = true;
	}
	if (reverse) {
		*error_r = "REVERSE needs a sort key after it";
		return -1;
	}
	return 0;
}

int
imap_sort_parse(const struct imap_arg *args, unsigned int count,
    struct imap_sort **sort_r, enum imap_search_error *code_r,
    const char **error_r)
{
	struct imap_sort *sort = xcalloc(1, sizeof(*sort));
	unsigned int pos = 0;

	*code_r = IMAP_SEARCH_ERROR_SYNTAX;
	if (count > 0 && imap_arg_atom_equals(&args[0], "RETURN")) {
		if (count < 2) {
			*error_r = "RETURN needs a list of options";
			goto fail;
		}
		/* RFC 5267 3: the options of RFC 4731, SAVE not among
		 * them. */
		if (imap_search_parse_return(&args[1], IMAP_SEARCH_RETURN_MIN |
		    IMAP_SEARCH_RETURN_MAX | IMAP_SEARCH_RETURN_ALL |
		    IMAP_SEARCH_RETURN_COUNT, &sort->returns, error_r) < 0)
			goto fail;
		sort->esort = true;
		pos = 2;
	}
	if (pos >= count) {
		*error_r = "SORT needs a list of sort criteria";
		goto fail;
	}
	if (parse_criteria(&args[pos], sort, error_r) < 0)
		goto fail;
	pos++;
	if (pos >= count || (args[pos].type != IMAP_ARG_ATOM &&
	    args[pos].type != IMAP_ARG_STRING &&
	    args[pos].type != IMAP_ARG_LITERAL)) {
		*error_r = "SORT needs a charset";
		goto fail;
	}
	if (!imap_sort_charset_ok(&args[pos])) {
		*code_r = IMAP_SEARCH_ERROR_BADCHARSET;
		*error_r = "Unsupported charset";
		goto fail;
	}
	pos++;
	if (pos >= count) {
		*error_r = "SORT needs search criteria";
		goto fail;
	}
	if (imap_search_parse(args + pos, count - pos, &sort->search, code_r,
	    error_r) < 0)
		goto fail;
	*sort_r = sort;
	return 0;
fail:
	imap_sort_free(&sort);
	return -1;
}

void
imap_sort_free(struct imap_sort **sortp)
{
	struct imap_sort *sort = *sortp;

	if (sort == NULL)
		return;
	imap_search_free(&sort->search);
	free(sort);
	*sortp = NULL;
}

/* ---- keys of one message ---- */

/* The first address of list that is not a group marker, or NULL. */
static const struct message_address *
first_address(const struct message_address_list *list)
{
	for (size_t i = 0; i < list->count; i++)
		if (list->addrs[i].host != NULL)
			return &list->addrs[i];
	return NULL;
}

/* RFC 5256 3: addr-mailbox, "" if there is no address. */
static char *
addr_mailbox(const struct message_address_list *list)
{
	const struct message_address *a = first_address(list);

	return xstrdup(a != NULL && a->mailbox != NULL ? a->mailbox : "");
}

/* RFC 5957 3: the decoded display name if there is one, else the
 * addr-spec (mailbox@host); "" if there is no address. */
static char *
addr_display(const struct message_address_list *list)
{
	const struct message_address *a = first_address(list);

	if (a == NULL)
		return xstrdup("");
	if (a->name != NULL && a->name[0] != '\0')
		return message_header_decode(a->name);
	return xasprintf("%s@%s", a->mailbox != NULL ? a->mailbox : "",
	    a->host);
}

char **
imap_sort_msgids(const char *value, size_t max, size_t *count_r)
{
	char **ids = NULL;
	size_t n = 0, cap = 0;
	const char *p = value;

	while ((p = strchr(p, '<')) != NULL) {
		const char *end = strchr(p + 1, '>');

		if (end == NULL)
			break;
		if (strchr(p + 1, '<') != NULL && strchr(p + 1, '<') < end) {
			p = strchr(p + 1, '<');	/* "<a <b>": take "<b>" */
			continue;
		}
		if (end > p + 1) {
			if (n == max) {		/* keep the last max */
				free(ids[0]);
				memmove(ids, ids + 1, (n - 1) * sizeof(*ids));
				n--;
			}
			if (n == cap) {
				cap = cap == 0 ? 8 : cap * 2;
				ids = xreallocarray(ids, cap, sizeof(*ids));
			}
			ids[n++] = xstrndup(p, (size_t)(end - p) + 1);
		}
		p = end + 1;
	}
	*count_r = n;
	return ids;
}

/* Step 1A: References, else the first msg-id of In-Reply-To. */
static void
fill_refs(struct imap_sort_msg *m, const struct message *msg)
{
	char *refs = message_header_get(msg, "References");

	if (refs != NULL) {
		m->refs = imap_sort_msgids(refs, IMAP_THREAD_REFS_MAX,
		    &m->ref_count);
		free(refs);
	}
	if (m->ref_count == 0) {
		char *irt = message_header_get(msg, "In-Reply-To");

		/* RFC 5256 2.2 1A: its first msg-id is the only parent */
		if (irt != NULL) {
			free(m->refs);
			m->refs = imap_sort_msgids(irt, IMAP_THREAD_REFS_MAX,
			    &m->ref_count);
			free(irt);
			while (m->ref_count > 1)
				free(m->refs[--m->ref_count]);
		}
	}
}

void
imap_sort_msg_fill(struct imap_sort_msg *m, const struct message *msg)
{
	const struct message_envelope *env;
	char *subject;
	size_t n = 0;
	char **ids;
	time_t t;
	int zone;

	m->date = m->arrival;
	if (msg == NULL) {
		m->subject = xstrdup("");
		m->from = xstrdup("");
		m->to = xstrdup("");
		m->cc = xstrdup("");
		m->display_from = xstrdup("");
		m->display_to = xstrdup("");
		m->message_id = xstrdup("");
		return;
	}
	env = message_envelope(msg);
	if (message_sent_date(msg, &t, &zone) == 0) {
		m->date = (int64_t)t;
		m->sent_date = true;
	}
	subject = message_header_decode(env->subject != NULL ?
	    env->subject : "");
	m->subject = imap_base_subject(subject, &m->reply);
	free(subject);
	m->from = addr_mailbox(&env->from);
	m->to = addr_mailbox(&env->to);
	m->cc = addr_mailbox(&env->cc);
	m->display_from = addr_display(&env->from);
	m->display_to = addr_display(&env->to);
	ids = env->message_id != NULL ?
	    imap_sort_msgids(env->message_id, 1, &n) : NULL;
	m->message_id = n > 0 && ids != NULL ? ids[0] : xstrdup("");
	free(ids);
	fill_refs(m, msg);
}

void
imap_sort_msg_clear(struct imap_sort_msg *m)
{
	if (m->borrowed) {
		m->subject = m->from = m->to = m->cc = NULL;
		m->display_from = m->display_to = m->message_id = NULL;
		m->refs = NULL;
		m->ref_count = 0;
		m->borrowed = false;
		return;
	}
	free(m->subject);
	free(m->from);
	free(m->to);
	free(m->cc);
	free(m->display_from);
	free(m->display_to);
	free(m->message_id);
	for (size_t i = 0; i < m->ref_count; i++)
		free(m->refs[i]);
	free(m->refs);
	m->subject = m->from = m->to = m->cc = NULL;
	m->display_from = m->display_to = m->message_id = NULL;
	m->refs = NULL;
	m->ref_count = 0;
}

void
imap_sort_msg_copy(struct imap_sort_msg *dst, const struct imap_sort_msg *src)
{
	*dst = *src;
	dst->borrowed = false;
	dst->subject = xstrdup(src->subject);
	dst->from = xstrdup(src->from);
	dst->to = xstrdup(src->to);
	dst->cc = xstrdup(src->cc);
	dst->display_from = xstrdup(src->display_from);
	dst->display_to = xstrdup(src->display_to);
	dst->message_id = xstrdup(src->message_id);
	dst->refs = src->ref_count == 0 ? NULL :
	    xreallocarray(NULL, src->ref_count, sizeof(*dst->refs));
	for (size_t i = 0; i < src->ref_count; i++)
		dst->refs[i] = xstrdup(src->refs[i]);
}

/* ---- ordering ---- */

static int
cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int
cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

static int
cmp_key(enum imap_sort_key key, const struct imap_sort_msg *a,
    const struct imap_sort_msg *b)
{
	switch (key) {
	case IMAP_SORT_ARRIVAL:
		return cmp_i64(a->arrival, b->arrival);
	case IMAP_SORT_CC:
		return imap_casemap_cmp(a->cc, b->cc);
	case IMAP_SORT_DATE:
		return cmp_i64(a->date, b->date);
	case IMAP_SORT_FROM:
		return imap_casemap_cmp(a->from, b->from);
	case IMAP_SORT_SIZE:
		return cmp_u64(a->size, b->size);
	case IMAP_SORT_SUBJECT:
		return imap_casemap_cmp(a->subject, b->subject);
	case IMAP_SORT_TO:
		return imap_casemap_cmp(a->to, b->to);
	case IMAP_SORT_DISPLAYFROM:
		return imap_casemap_cmp(a->display_from, b->display_from);
	case IMAP_SORT_DISPLAYTO:
		return imap_casemap_cmp(a->display_to, b->display_to);
	}
	return 0;
}

int
imap_sort_cmp(const struct imap_sort *sort, const struct imap_sort_msg *a,
    const struct imap_sort_msg *b)
{
	for (unsigned int i = 0; i < sort->count; i++) {
		int r = cmp_key(sort->criteria[i].key, a, b);

		if (r != 0)
			return sort->criteria[i].reverse ? -r : r;
	}
	return cmp_u64(a->seq, b->seq);
}

static void
merge_sort(const struct imap_sort *sort, struct imap_sort_msg **v,
    struct imap_sort_msg **tmp, size_t n)
{
	size_t mid = n / 2, i = 0, j = mid, k = 0;

	if (n < 2)
		return;
	merge_sort(sort, v, tmp, mid);
	merge_sort(sort, v + mid, tmp, n - mid);
	while (i < mid && j < n)
		tmp[k++] = imap_sort_cmp(sort, v[j], v[i]) < 0 ?
		    v[j++] : v[i++];
	while (i < mid)
		tmp[k++] = v[i++];
	while (j < n)
		tmp[k++] = v[j++];
	memcpy(v, tmp, n * sizeof(*v));
}

void
imap_sort_msgs(const struct imap_sort *sort, struct imap_sort_msg **msgs,
    size_t count)
{
	struct imap_sort_msg **tmp;

	if (count < 2)
		return;
	tmp = xreallocarray(NULL, count, sizeof(*tmp));
	merge_sort(sort, msgs, tmp, count);
	free(tmp);
}
