/* Strict decimal parsing for configuration values and protocol numbers. */
#include "lib/strnum.h"

#include <stddef.h>

static int
parse_digits(const char *s, const char **end_r, uint64_t *num_r)
{
	uint64_t n = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (n > (UINT64_MAX - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	*end_r = p;
	*num_r = n;
	return 0;
}

int
str_to_u64(const char *s, uint64_t min, uint64_t max, uint64_t *num_r)
{
	const char *end;
	uint64_t n;

	if (parse_digits(s, &end, &n) < 0 || *end != '\0' || n < min || n > max)
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

	if (parse_digits(s, &end, &n) < 0)
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
