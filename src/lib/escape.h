/*
 * Escaping text for JSON strings, appended to a struct buf.
 */
#ifndef MB_LIB_ESCAPE_H
#define MB_LIB_ESCAPE_H

#include <stddef.h>

#include "lib/buf.h"

/*
 * Append len bytes of s (NULs included) as the inside of a JSON string
 * (RFC 8259 section 7), without the quotes: '"' and '\' get a backslash,
 * LF, CR and tab are \n, \r and \t, every other byte below 0x20 and DEL
 * (0x7f) is \u00XX with lowercase hex digits. Valid UTF-8 is copied as
 * it is; each maximal ill-formed subsequence (Unicode 3.9, "best
 * practice": overlong forms, surrogates, code points above U+10FFFF,
 * stray continuation bytes and truncated sequences) becomes one U+FFFD
 * in UTF-8, so the output is always valid UTF-8.
 *
 * Returns 0, or -1 if out's maximum would be exceeded, in which case out
 * is left as it was before the call.
 */
int json_escape(struct buf *out, const char *s, size_t len);

#endif
