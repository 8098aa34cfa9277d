/*
 * The base subject of RFC 5256 section 2.1, which SORT SUBJECT orders by
 * and THREAD groups by, and the i;ascii-casemap collation (RFC 4790
 * 9.2) that SORT compares strings with. Pure: no I/O.
 */
#ifndef MB_IMAP_IMAP_SUBJECT_H
#define MB_IMAP_IMAP_SUBJECT_H

#include <stdbool.h>

/*
 * The base subject of subject, which must already have its RFC 2047
 * encoded words decoded into UTF-8 (step 1's decoding: the store does
 * it). Runs of tabs, spaces and line breaks become one space; then,
 * until nothing changes: trailing "(fwd)" and blanks are removed,
 * leading "Re:", "Fw:", "Fwd:" (any case, each with optional "[blob]"s
 * before and one "[blob]" before the colon) and blanks are removed, a
 * leading "[blob]" is removed unless nothing would be left, and a
 * "[fwd: ... ]" wrapper is unwrapped. Returns the base subject
 * (malloc'd, never NULL; "" for none) and *reply_r true if a
 * reply or forward marker was removed ("Re:", "Fwd:", "(fwd)",
 * "[fwd:]"), as THREAD=REFERENCES asks (RFC 5256 2.1, 3).
 */
char *imap_base_subject(const char *subject, bool *reply_r);

/* i;ascii-casemap: a and b compared byte by byte with a-z taken as A-Z.
 * <0, 0 or >0 as strcmp. */
int imap_casemap_cmp(const char *a, const char *b);

#endif
