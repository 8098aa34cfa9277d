/*
 * Strict decimal and hexadecimal parsing for configuration values,
 * protocol numbers and on-disk indexes, whole strings or spans of a
 * buffer, with the range checked as the digits are read.
 */
#include "lib/strnum.h"

#include <assert.h>
#include <stddef.h>

int
str_num_push_digit(uint64_t *num, char c, uint64_t max)
{
	unsigned d = (unsigned)(c - '0');

	assert(c >= '0' && c <= '9');
	if (d > max || *num > (max - d) / 10)
		return -1;
	*num = *num * 10 + d;
	return 0;
}

int
str_parse_u64(const char **sp, const char *end, uint64_t max,
    uint64_t *num_r)
{
	const char *p = *sp;
	uint64_t n = 0;

	if ((end != NULL && p >= end) || *p < '0' || *p > '9')
		return -1;
	for (; (end == NULL || p < end) && *p >= '0' && *p <= '9'; p++) {
		if (str_num_push_digit(&n, *p, max) < 0)
			return -1;
	}
	*sp = p;
	*num_r = n;
	return 0;
}

int
str_to_u64_n(const char *s, size_t len, uint64_t max, uint64_t *num_r)
{
	const char *p = s;
	uint64_t n;

	if (len == 0 || str_parse_u64(&p, s + len, max, &n) < 0 ||
	    p != s + len)
		return -1;
	*num_r = n;
	return 0;
}

int
str_to_u64(const char *s, uint64_t min, uint64_t max, uint64_t *num_r)
{
	const char *end;
	uint64_t n;

	end = s;
	if (str_parse_u64(&end, NULL, UINT64_MAX, &n) < 0 || *end != '\0' ||
	    n < min || n > max)
		return -1;
	*num_r = n;
	return 0;
}

int
str_to_u32(const char *s, uint32_t *num_r)
{
	uint64_t n;

	if (str_to_u64(s, 0, UINT32_MAX, &n) < 0)
		return -1;
	*num_r = (uint32_t)n;
	return 0;
}

static int
scaled(const char *s, uint64_t max, const char *units, const uint64_t *mult,
    uint64_t *num_r)
{
	const char *end;
	uint64_t n, m = 1;
	size_t i;

	end = s;
	if (str_parse_u64(&end, NULL, UINT64_MAX, &n) < 0)
		return -1;
	if (*end != '\0') {
		for (i = 0; units[i] != '\0'; i++)
			if (units[i] == *end || units[i] == (*end | 0x20))
				break;
		if (units[i] == '\0' || end[1] != '\0')
			return -1;
		m = mult[i];
	}
	if (n > max / m)
		return -1;
	*num_r = n * m;
	return 0;
}

int
str_to_size(const char *s, uint64_t max, uint64_t *num_r)
{
	static const uint64_t mult[] = {1024, 1024 * 1024, 1024 * 1024 * 1024};

	return scaled(s, max, "kmg", mult, num_r);
}

int
str_to_seconds(const char *s, uint64_t max, uint64_t *secs_r)
{
	static const uint64_t mult[] = {1, 60, 3600, 86400};

	return scaled(s, max, "smhd", mult, secs_r);
}

int
str_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
str_hex_to_u64_n(const char *s, size_t len, uint64_t *num_r)
{
	uint64_t n = 0;
	size_t i;
	int v;

	if (len == 0 || len > 16)
		return -1;
	for (i = 0; i < len; i++) {
		if ((v = str_hex_digit(s[i])) < 0)
			return -1;
		n = n << 4 | (uint64_t)v;
	}
	*num_r = n;
	return 0;
}
