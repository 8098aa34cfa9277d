/*
 * IMAP sequence sets (RFC 3501 section 9 sequence-set): "1", "1:3", "*",
 * "3:*", "1,3:5,7:*". A set is parsed once and resolved against the
 * current highest message number (or UID), which is what "*" means.
 */
#ifndef MB_IMAP_IMAP_SEQSET_H
#define MB_IMAP_IMAP_SEQSET_H

#include <stdbool.h>
#include <stdint.h>

/* A closed range of numbers, lo <= hi. */
struct imap_seq_range {
	uint32_t lo;
	uint32_t hi;
};

struct imap_seqset;

/* Parse str, which must be a whole sequence-set: nz-numbers without
 * leading zeros, "*", ranges "a:b" in either order, joined by ",".
 * Returns 0 and a new set in *set_r, or -1 with *error_r set (a static
 * string). The set is at most strlen(str) / 2 + 1 ranges. */
int imap_seqset_parse(const char *str, struct imap_seqset **set_r,
    const char **error_r);
void imap_seqset_free(struct imap_seqset **setp);

/* True if the set names "*" anywhere. */
bool imap_seqset_has_star(const struct imap_seqset *set);

/* The set as sorted, merged, non-adjacent ranges within 1..max, "*"
 * standing for max (so "5:*" with max 3 is 3:5, clipped to 3). The
 * array is owned by the set and valid until the next call with another
 * max or imap_seqset_free(); *count_r may be 0. */
const struct imap_seq_range *imap_seqset_ranges(struct imap_seqset *set,
    uint32_t max, unsigned int *count_r);

/* True if num (1..max) is in the set resolved against max. */
bool imap_seqset_contains(struct imap_seqset *set, uint32_t max,
    uint32_t num);

/* Iterate the numbers of the set in ascending order:
 *   struct imap_seqset_iter it;
 *   imap_seqset_iter_init(&it, set, max);
 *   while (imap_seqset_iter_next(&it, &num)) ...
 * The set must not be resolved against another max meanwhile. */
struct imap_seqset_iter {
	const struct imap_seq_range *ranges;	/* resolved ranges */
	unsigned int count;		/* number of ranges */
	unsigned int idx;		/* range holding next */
	uint64_t next;			/* next number to return */
};
void imap_seqset_iter_init(struct imap_seqset_iter *iter,
    struct imap_seqset *set, uint32_t max);
bool imap_seqset_iter_next(struct imap_seqset_iter *iter, uint32_t *num_r);

#endif
