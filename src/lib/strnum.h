/*
 * Strict number parsing: the whole string (or span) must be a number in
 * range, or, for str_parse_u64(), the digits at the front are taken and
 * the rest is left to the caller. No sign, no spaces, no base prefix;
 * leading zeros are accepted (a caller whose grammar forbids them checks
 * the first digit itself). Outputs are untouched when -1 is returned.
 */
#ifndef MB_LIB_STRNUM_H
#define MB_LIB_STRNUM_H

#include <stddef.h>
#include <stdint.h>

/* Decimal digits only (no sign, no spaces). Returns 0, or -1 if not a
 * number or out of [min, max]. */
int str_to_u64(const char *s, uint64_t min, uint64_t max, uint64_t *num_r);
int str_to_u32(const char *s, uint32_t *num_r);
/* Like str_to_u64 but also accepts a K, M or G suffix (powers of 1024). */
int str_to_size(const char *s, uint64_t max, uint64_t *num_r);
/* A duration: digits with an optional s, m, h or d suffix; seconds. */
int str_to_seconds(const char *s, uint64_t max, uint64_t *secs_r);

/* The len bytes at s, which need not be NUL-terminated, as a decimal
 * number: returns 0, or -1 if len is 0, a byte is not a digit or the
 * number exceeds max. Reading stops at the first byte that is not a digit,
 * so a NUL-terminated s shorter than len is read safely (and rejected). */
int str_to_u64_n(const char *s, size_t len, uint64_t max, uint64_t *num_r);
/*
 * Take the decimal digits at *sp, up to end (one past the last byte that
 * may be read; NULL if the text is NUL-terminated, as the NUL ends the
 * digits), and set *sp to the first byte after them. Returns 0, or -1
 * with *sp unchanged if there is no digit at *sp or the number exceeds
 * max. What follows the digits is not looked at.
 */
int str_parse_u64(const char **sp, const char *end, uint64_t max,
    uint64_t *num_r);
/*
 * One step of a parser fed byte by byte: *num = *num * 10 + (c - '0').
 * c must be a decimal digit. Returns 0, or -1 (and *num unchanged) if
 * the result would exceed max.
 */
int str_num_push_digit(uint64_t *num, char c, uint64_t max);

/* The value of a hexadecimal digit (0-9, a-f, A-F), or -1. */
int str_hex_digit(char c);
/* The len bytes at s (1 to 16 hexadecimal digits, either case, not
 * necessarily NUL-terminated) as a number: returns 0, or -1 if len is 0
 * or over 16 or a byte is not a hexadecimal digit. Reading stops at the
 * first byte that is not one. */
int str_hex_to_u64_n(const char *s, size_t len, uint64_t *num_r);

#endif
