/*
 * Sequence sets: parsed into ranges whose ends may be "*", then resolved
 * against the highest number in use into a sorted list for membership
 * tests and iteration.
 */
#include "imap/imap-seqset.h"

#include <stdlib.h>
#include <string.h>

#include "lib/strnum.h"
#include "lib/xmalloc.h"

/* "*" in a parsed range; 0 is never a valid nz-number. */
#define SEQ_STAR 0

struct imap_seqset {
	/* As parsed. */
	struct imap_seq_range *parsed;	/* ends may be SEQ_STAR */
	unsigned int parsed_count;
	bool has_star;

	/* Resolved against resolved_max (valid if resolved). */
	struct imap_seq_range *ranges;
	unsigned int count;
	uint32_t resolved_max;
	bool resolved;
};

/* seq-number = nz-number / "*"; nz-number = digit-nz *DIGIT, < 2^32. */
static int
parse_number(const char **sp, uint32_t *num_r)
{
	const char *s = *sp;
	uint64_t n;

	if (*s == '*') {
		*num_r = SEQ_STAR;
		*sp = s + 1;
		return 0;
	}
	if (*s < '1' || *s > '9' ||
	    str_parse_u64(&s, NULL, UINT32_MAX, &n) < 0)
		return -1;
	*num_r = (uint32_t)n;
	*sp = s;
	return 0;
}

int
imap_seqset_parse(const char *str, struct imap_seqset **set_r,
    const char **error_r)
{
	struct imap_seqset *set;
	struct imap_seq_range r;
	const char *s = str;
	size_t max_ranges = strlen(str) / 2 + 1;

	set = xcalloc(1, sizeof(*set));
	set->parsed = xcalloc(max_ranges, sizeof(*set->parsed));
	for (;;) {
		if (parse_number(&s, &r.lo) < 0)
			goto bad;
		r.hi = r.lo;
		if (*s == ':') {
			s++;
			if (parse_number(&s, &r.hi) < 0)
				goto bad;
		}
		if (r.lo == SEQ_STAR || r.hi == SEQ_STAR)
			set->has_star = true;
		else if (r.lo > r.hi) {
			uint32_t t = r.lo;

			r.lo = r.hi;
			r.hi = t;
		}
		set->parsed[set->parsed_count++] = r;
		if (*s == '\0')
			break;
		if (*s != ',')
			goto bad;
		s++;
	}
	*set_r = set;
	return 0;

bad:
	*error_r = "Invalid sequence set";
	imap_seqset_free(&set);
	return -1;
}

void
imap_seqset_free(struct imap_seqset **setp)
{
	struct imap_seqset *set = *setp;

	if (set == NULL)
		return;
	*setp = NULL;
	free(set->parsed);
	free(set->ranges);
	free(set);
}

bool
imap_seqset_has_star(const struct imap_seqset *set)
{
	return set->has_star;
}

static int
range_cmp(const void *a, const void *b)
{
	const struct imap_seq_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	return 0;
}

const struct imap_seq_range *
imap_seqset_ranges(struct imap_seqset *set, uint32_t max,
    unsigned int *count_r)
{
	unsigned int i, n = 0;

	if (set->resolved && set->resolved_max == max) {
		*count_r = set->count;
		return set->ranges;
	}
	if (set->ranges == NULL)
		set->ranges = xcalloc(set->parsed_count,
		    sizeof(*set->ranges));
	for (i = 0; i < set->parsed_count; i++) {
		struct imap_seq_range r = set->parsed[i];

		if (r.lo == SEQ_STAR)
			r.lo = max;
		if (r.hi == SEQ_STAR)
			r.hi = max;
		if (r.lo > r.hi) {
			uint32_t t = r.lo;

			r.lo = r.hi;
			r.hi = t;
		}
		/* Clip to 1..max; max 0 (no messages) leaves nothing. */
		if (r.lo == 0)
			r.lo = 1;
		if (r.hi > max)
			r.hi = max;
		if (r.lo > r.hi)
			continue;
		set->ranges[n++] = r;
	}
	qsort(set->ranges, n, sizeof(*set->ranges), range_cmp);

	/* Merge overlapping and adjacent ranges. */
	if (n > 0) {
		unsigned int out = 0;

		for (i = 1; i < n; i++) {
			struct imap_seq_range *last = &set->ranges[out];

			if (set->ranges[i].lo <= last->hi ||
			    set->ranges[i].lo - 1 == last->hi) {
				if (set->ranges[i].hi > last->hi)
					last->hi = set->ranges[i].hi;
			} else
				set->ranges[++out] = set->ranges[i];
		}
		n = out + 1;
	}
	set->count = n;
	set->resolved_max = max;
	set->resolved = true;
	*count_r = n;
	return set->ranges;
}

bool
imap_seqset_contains(struct imap_seqset *set, uint32_t max, uint32_t num)
{
	const struct imap_seq_range *r;
	unsigned int count, lo = 0, hi;

	r = imap_seqset_ranges(set, max, &count);
	hi = count;
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (num < r[mid].lo)
			hi = mid;
		else if (num > r[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

void
imap_seqset_iter_init(struct imap_seqset_iter *iter, struct imap_seqset *set,
    uint32_t max)
{
	memset(iter, 0, sizeof(*iter));
	iter->ranges = imap_seqset_ranges(set, max, &iter->count);
	if (iter->count > 0)
		iter->next = iter->ranges[0].lo;
}

bool
imap_seqset_iter_next(struct imap_seqset_iter *iter, uint32_t *num_r)
{
	if (iter->idx >= iter->count)
		return false;
	*num_r = (uint32_t)iter->next;
	if (iter->next < iter->ranges[iter->idx].hi)
		iter->next++;
	else if (++iter->idx < iter->count)
		iter->next = iter->ranges[iter->idx].lo;
	return true;
}
