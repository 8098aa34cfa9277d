/* Strict number parsing: the whole string must be a number in range. */
#ifndef MB_LIB_STRNUM_H
#define MB_LIB_STRNUM_H

#include <stdint.h>

/* Decimal digits only (no sign, no spaces). Returns 0, or -1 if not a
 * number or out of [min, max]. */
int str_to_u64(const char *s, uint64_t min, uint64_t max, uint64_t *num_r);
int str_to_u32(const char *s, uint32_t *num_r);
/* Like str_to_u64 but also accepts a K, M or G suffix (powers of 1024). */
int str_to_size(const char *s, uint64_t max, uint64_t *num_r);
/* A duration: digits with an optional s, m, h or d suffix; seconds. */
int str_to_seconds(const char *s, uint64_t max, uint64_t *secs_r);

#endif
