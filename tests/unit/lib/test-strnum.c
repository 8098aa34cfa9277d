/* Unit tests for lib/strnum.c: whole-string, in-range numbers only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lib/strnum.h"

static void
test_u64(void **state)
{
	uint64_t n = 7;

	(void)state;
	assert_int_equal(str_to_u64("0", 0, 10, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(str_to_u64("18446744073709551615", 0, UINT64_MAX, &n),
	    0);
	assert_true(n == UINT64_MAX);
	n = 7;
	assert_int_equal(str_to_u64("18446744073709551616", 0, UINT64_MAX, &n),
	    -1);
	assert_int_equal(str_to_u64("", 0, 10, &n), -1);
	assert_int_equal(str_to_u64(" 1", 0, 10, &n), -1);
	assert_int_equal(str_to_u64("1 ", 0, 10, &n), -1);
	assert_int_equal(str_to_u64("+1", 0, 10, &n), -1);
	assert_int_equal(str_to_u64("-1", 0, 10, &n), -1);
	assert_int_equal(str_to_u64("0x1", 0, 10, &n), -1);
	assert_int_equal(str_to_u64("11", 0, 10, &n), -1);
	assert_int_equal(str_to_u64("4", 5, 10, &n), -1);
	assert_int_equal(n, 7);		/* untouched on error */
	assert_int_equal(str_to_u64("10", 5, 10, &n), 0);
	assert_int_equal(n, 10);
}

static void
test_u32(void **state)
{
	uint32_t n = 0;

	(void)state;
	assert_int_equal(str_to_u32("4294967295", &n), 0);
	assert_true(n == UINT32_MAX);
	assert_int_equal(str_to_u32("4294967296", &n), -1);
	assert_int_equal(str_to_u32("007", &n), 0);
	assert_int_equal(n, 7);
}

static void
test_size(void **state)
{
	uint64_t n = 0;

	(void)state;
	assert_int_equal(str_to_size("1k", UINT64_MAX, &n), 0);
	assert_int_equal(n, 1024);
	assert_int_equal(str_to_size("3M", UINT64_MAX, &n), 0);
	assert_int_equal(n, 3 * 1024 * 1024);
	assert_int_equal(str_to_size("2G", UINT64_MAX, &n), 0);
	assert_true(n == 2ULL * 1024 * 1024 * 1024);
	assert_int_equal(str_to_size("5", UINT64_MAX, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(str_to_size("1T", UINT64_MAX, &n), -1);
	assert_int_equal(str_to_size("1KB", UINT64_MAX, &n), -1);
	assert_int_equal(str_to_size("K", UINT64_MAX, &n), -1);
	assert_int_equal(str_to_size("2K", 2047, &n), -1);
	assert_int_equal(str_to_size("2K", 2048, &n), 0);
	/* the multiplication must not wrap */
	assert_int_equal(str_to_size("18014398509481984K", UINT64_MAX, &n), -1);
}

static void
test_seconds(void **state)
{
	uint64_t n = 0;

	(void)state;
	assert_int_equal(str_to_seconds("30", 100000, &n), 0);
	assert_int_equal(n, 30);
	assert_int_equal(str_to_seconds("2m", 100000, &n), 0);
	assert_int_equal(n, 120);
	assert_int_equal(str_to_seconds("1h", 100000, &n), 0);
	assert_int_equal(n, 3600);
	assert_int_equal(str_to_seconds("1d", 100000, &n), 0);
	assert_int_equal(n, 86400);
	assert_int_equal(str_to_seconds("2d", 100000, &n), -1);
	assert_int_equal(str_to_seconds("1w", 100000, &n), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u64),
		cmocka_unit_test(test_u32),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_seconds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
