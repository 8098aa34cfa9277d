/*
 * Modified UTF-7 mailbox names (RFC 3501 section 5.1.3): printable ASCII
 * stands for itself except "&", written "&-"; anything else is UTF-16 in
 * modified BASE64 ("," for "/") between "&" and "-". Only the one
 * canonical encoding of a name is accepted.
 */
#ifndef MB_IMAP_IMAP_UTF7_H
#define MB_IMAP_IMAP_UTF7_H

#include <stdbool.h>

#include "lib/buf.h"

/* Append the UTF-8 form of the modified UTF-7 name src to dest. Rejects
 * bytes outside 0x20..0x7e, unterminated or empty shifts other than
 * "&-", bad BASE64, non-zero padding bits, odd byte counts, unpaired
 * surrogates, U+0000, shifted characters that must be written directly,
 * and adjacent shifts that must be one. Returns 0, or -1 with *error_r
 * set (static string) and dest holding a partial result; -1 too if
 * dest->max would be exceeded. */
int imap_utf7_decode(const char *src, struct buf *dest,
    const char **error_r);

/* Append the modified UTF-7 form of the UTF-8 name src to dest.
 * Rejects invalid UTF-8 (overlong forms, surrogates, > U+10FFFF).
 * Returns 0, or -1 with *error_r set (static string). */
int imap_utf7_encode(const char *src, struct buf *dest,
    const char **error_r);

/* True if src is a valid modified UTF-7 name. */
bool imap_utf7_is_valid(const char *src);

#endif
