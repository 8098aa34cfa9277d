/* Unit tests for lib/strnum.c: whole strings and spans, in range only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

/* A literal and its length, its NUL excluded. */
#define SPAN(s) s, sizeof(s) - 1

/* str_to_u64_n: len bytes at s, at most max: ret, and num if 0. */
static const struct {
	const char *s;
	size_t len;
	uint64_t max;
	int ret;
	uint64_t num;
} spans[] = {
	{ SPAN("0"), 0, 0, 0 },
	{ SPAN("000"), 0, 0, 0 },
	{ SPAN("0042"), 100, 0, 42 },
	/* Exactly max, and max + 1. */
	{ SPAN("4294967295"), UINT32_MAX, 0, UINT32_MAX },
	{ SPAN("4294967296"), UINT32_MAX, -1, 0 },
	{ SPAN("99"), 99, 0, 99 },
	{ SPAN("100"), 99, -1, 0 },
	{ SPAN("9"), 9, 0, 9 },
	{ SPAN("10"), 9, -1, 0 },
	{ SPAN("1"), 0, -1, 0 },
	{ SPAN("18446744073709551615"), UINT64_MAX, 0, UINT64_MAX },
	{ SPAN("18446744073709551616"), UINT64_MAX, -1, 0 },
	{ SPAN("99999999999999999999"), UINT64_MAX, -1, 0 },
	{ SPAN("000000000000000000000018446744073709551615"), UINT64_MAX, 0,
	    UINT64_MAX },
	/* Not digits, or not only digits. */
	{ SPAN(""), UINT64_MAX, -1, 0 },
	{ NULL, 0, UINT64_MAX, -1, 0 },
	{ SPAN(" 1"), UINT64_MAX, -1, 0 },
	{ SPAN("1 "), UINT64_MAX, -1, 0 },
	{ SPAN("+1"), UINT64_MAX, -1, 0 },
	{ SPAN("-1"), UINT64_MAX, -1, 0 },
	{ SPAN("1a"), UINT64_MAX, -1, 0 },
	{ SPAN("\xb1"), UINT64_MAX, -1, 0 },
	{ SPAN("1\0" "2"), UINT64_MAX, -1, 0 },
	/* Only len bytes are read: the span need not end in a NUL. */
	{ "12345", 3, UINT64_MAX, 0, 123 },
	{ "7}", 1, UINT64_MAX, 0, 7 },
	/* A shorter NUL-terminated string is rejected, not overrun. */
	{ "12", 4, UINT64_MAX, -1, 0 },
};

static void
test_u64_n(void **state)
{
	uint64_t n;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(spans) / sizeof(spans[0]); i++) {
		n = 7;
		assert_int_equal(str_to_u64_n(spans[i].s, spans[i].len,
		    spans[i].max, &n), spans[i].ret);
		/* Untouched on error. */
		assert_true(n == (spans[i].ret == 0 ? spans[i].num : 7));
	}
}

/* str_parse_u64 at s (up to s + end, or the NUL if end is -1), at most
 * max: ret, and if 0 num and the bytes taken. */
static const struct {
	const char *s;
	int end;
	uint64_t max;
	int ret;
	uint64_t num;
	size_t taken;
} fronts[] = {
	/* Leading digits are taken, the rest is left. */
	{ "123:456", -1, UINT64_MAX, 0, 123, 3 },
	{ "456", -1, UINT64_MAX, 0, 456, 3 },
	{ "0007,", -1, 7, 0, 7, 4 },
	/* end bounds the digits. */
	{ "98765", 2, UINT64_MAX, 0, 98, 2 },
	/* None: at the NUL, an empty span, a non-digit. */
	{ "", -1, UINT64_MAX, -1, 0, 0 },
	{ "98765", 0, UINT64_MAX, -1, 0, 0 },
	{ "x1", -1, UINT64_MAX, -1, 0, 0 },
	{ "-1", 2, UINT64_MAX, -1, 0, 0 },
	/* Overflow at exactly max + 1. */
	{ "4294967296 ", -1, UINT32_MAX, -1, 0, 0 },
	{ "4294967295 ", -1, UINT32_MAX, 0, UINT32_MAX, 10 },
	{ "18446744073709551615]", -1, UINT64_MAX, 0, UINT64_MAX, 20 },
	{ "18446744073709551616]", -1, UINT64_MAX, -1, 0, 0 },
	/* A max below ten, and max 0. */
	{ "10", -1, 9, -1, 0, 0 },
	{ "0", -1, 0, 0, 0, 1 },
	{ "1", -1, 0, -1, 0, 0 },
};

static void
test_parse_u64(void **state)
{
	const char *p;
	uint64_t n;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(fronts) / sizeof(fronts[0]); i++) {
		p = fronts[i].s;
		n = 7;
		assert_int_equal(str_parse_u64(&p, fronts[i].end < 0 ? NULL :
		    fronts[i].s + fronts[i].end, fronts[i].max, &n),
		    fronts[i].ret);
		/* *sp and *num_r are untouched on error. */
		assert_ptr_equal(p, fronts[i].s + fronts[i].taken);
		assert_true(n == (fronts[i].ret == 0 ? fronts[i].num : 7));
	}
}

static void
test_parse_u64_bounds(void **state)
{
	const char *text = "98765", *p;
	uint64_t n = 7;
	char buf[32] = "12";

	(void)state;
	/* A span starting past its end takes nothing. */
	p = text + 3;
	assert_int_equal(str_parse_u64(&p, text + 2, UINT64_MAX, &n), -1);
	assert_ptr_equal(p, text + 3);
	/* A NUL before end ends the digits too. */
	p = buf;
	assert_int_equal(str_parse_u64(&p, buf + sizeof(buf), UINT64_MAX,
	    &n), 0);
	assert_int_equal(n, 12);
	assert_ptr_equal(p, buf + 2);
}

static void
test_push_digit(void **state)
{
	const char *s = "18446744073709551615";
	uint64_t n = 0;
	size_t i;

	(void)state;
	/* Byte by byte up to UINT64_MAX, then one more digit is refused. */
	for (i = 0; s[i] != '\0'; i++)
		assert_int_equal(str_num_push_digit(&n, s[i], UINT64_MAX), 0);
	assert_true(n == UINT64_MAX);
	assert_int_equal(str_num_push_digit(&n, '0', UINT64_MAX), -1);
	assert_true(n == UINT64_MAX);
	/* max + 1 through the last digit and through the multiply. */
	n = 429496729;
	assert_int_equal(str_num_push_digit(&n, '6', UINT32_MAX), -1);
	assert_int_equal(n, 429496729);
	assert_int_equal(str_num_push_digit(&n, '5', UINT32_MAX), 0);
	assert_true(n == UINT32_MAX);
	n = 0;
	assert_int_equal(str_num_push_digit(&n, '0', 0), 0);
	assert_int_equal(str_num_push_digit(&n, '1', 0), -1);
	assert_int_equal(n, 0);
	n = 1;
	assert_int_equal(str_num_push_digit(&n, '0', 10), 0);
	assert_int_equal(n, 10);
	assert_int_equal(str_num_push_digit(&n, '0', 100), 0);
	assert_int_equal(n, 100);
	assert_int_equal(str_num_push_digit(&n, '0', 999), -1);
	assert_int_equal(n, 100);
}

static void
test_hex(void **state)
{
	uint64_t n = 7;

	(void)state;
	assert_int_equal(str_hex_digit('0'), 0);
	assert_int_equal(str_hex_digit('9'), 9);
	assert_int_equal(str_hex_digit('a'), 10);
	assert_int_equal(str_hex_digit('F'), 15);
	assert_int_equal(str_hex_digit('g'), -1);
	assert_int_equal(str_hex_digit('G'), -1);
	assert_int_equal(str_hex_digit('/'), -1);
	assert_int_equal(str_hex_digit(':'), -1);
	assert_int_equal(str_hex_digit('@'), -1);
	assert_int_equal(str_hex_digit('`'), -1);
	assert_int_equal(str_hex_digit('\0'), -1);
	assert_int_equal(str_hex_digit('\xe0'), -1);
	assert_int_equal(str_hex_to_u64_n("0102030405060708", 16, &n), 0);
	assert_true(n == 0x0102030405060708ULL);
	assert_int_equal(str_hex_to_u64_n("ffffffffFFFFFFFF", 16, &n), 0);
	assert_true(n == UINT64_MAX);
	assert_int_equal(str_hex_to_u64_n("0000000000000000", 16, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(str_hex_to_u64_n("aB", 2, &n), 0);
	assert_int_equal(n, 0xab);
	/* Only len bytes are read. */
	assert_int_equal(str_hex_to_u64_n("12zz", 2, &n), 0);
	assert_int_equal(n, 0x12);
	n = 7;
	assert_int_equal(str_hex_to_u64_n("", 0, &n), -1);
	assert_int_equal(str_hex_to_u64_n("10000000000000000", 17, &n), -1);
	assert_int_equal(str_hex_to_u64_n("0x12", 4, &n), -1);
	assert_int_equal(str_hex_to_u64_n("12 ", 3, &n), -1);
	assert_int_equal(str_hex_to_u64_n("-1", 2, &n), -1);
	assert_int_equal(str_hex_to_u64_n("1g", 2, &n), -1);
	assert_int_equal(str_hex_to_u64_n("12", 4, &n), -1);
	assert_int_equal(n, 7);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u64),
		cmocka_unit_test(test_u32),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_seconds),
		cmocka_unit_test(test_u64_n),
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_parse_u64_bounds),
		cmocka_unit_test(test_push_digit),
		cmocka_unit_test(test_hex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
