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

/* str_to_u64_n on a C string's whole length. */
static int
to_n(const char *s, uint64_t max, uint64_t *num_r)
{
	return str_to_u64_n(s, strlen(s), max, num_r);
}

static void
test_u64_n(void **state)
{
	uint64_t n = 7;

	(void)state;
	assert_int_equal(to_n("0", 0, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(to_n("000", 0, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(to_n("0042", 100, &n), 0);
	assert_int_equal(n, 42);
	/* Exactly max, and max + 1. */
	assert_int_equal(to_n("4294967295", UINT32_MAX, &n), 0);
	assert_true(n == UINT32_MAX);
	n = 7;
	assert_int_equal(to_n("4294967296", UINT32_MAX, &n), -1);
	assert_int_equal(to_n("100", 99, &n), -1);
	assert_int_equal(to_n("99", 99, &n), 0);
	assert_int_equal(n, 99);
	assert_int_equal(to_n("10", 9, &n), -1);
	assert_int_equal(to_n("9", 9, &n), 0);
	assert_int_equal(to_n("1", 0, &n), -1);
	assert_int_equal(to_n("18446744073709551615", UINT64_MAX, &n), 0);
	assert_true(n == UINT64_MAX);
	n = 7;
	assert_int_equal(to_n("18446744073709551616", UINT64_MAX, &n), -1);
	assert_int_equal(to_n("99999999999999999999", UINT64_MAX, &n), -1);
	assert_int_equal(to_n("000000000000000000000018446744073709551615",
	    UINT64_MAX, &n), 0);
	assert_true(n == UINT64_MAX);
	n = 7;
	/* Not digits, or not only digits. */
	assert_int_equal(to_n("", UINT64_MAX, &n), -1);
	assert_int_equal(str_to_u64_n(NULL, 0, UINT64_MAX, &n), -1);
	assert_int_equal(to_n(" 1", UINT64_MAX, &n), -1);
	assert_int_equal(to_n("1 ", UINT64_MAX, &n), -1);
	assert_int_equal(to_n("+1", UINT64_MAX, &n), -1);
	assert_int_equal(to_n("-1", UINT64_MAX, &n), -1);
	assert_int_equal(to_n("1a", UINT64_MAX, &n), -1);
	assert_int_equal(to_n("\xb1", UINT64_MAX, &n), -1);
	assert_int_equal(str_to_u64_n("1\0" "2", 3, UINT64_MAX, &n), -1);
	assert_int_equal(n, 7);		/* untouched on error */
	/* Only len bytes are read: the span need not end in a NUL. */
	assert_int_equal(str_to_u64_n("12345", 3, UINT64_MAX, &n), 0);
	assert_int_equal(n, 123);
	assert_int_equal(str_to_u64_n("7}", 1, UINT64_MAX, &n), 0);
	assert_int_equal(n, 7);
	/* A shorter NUL-terminated string is rejected, not overrun. */
	assert_int_equal(str_to_u64_n("12", 4, UINT64_MAX, &n), -1);
}

static void
test_parse_u64(void **state)
{
	const char *text, *p;
	uint64_t n = 7;

	(void)state;
	/* Leading digits are taken, the rest is left. */
	text = "123:456";
	p = text;
	assert_int_equal(str_parse_u64(&p, NULL, UINT64_MAX, &n), 0);
	assert_int_equal(n, 123);
	assert_ptr_equal(p, text + 3);
	p++;
	assert_int_equal(str_parse_u64(&p, NULL, UINT64_MAX, &n), 0);
	assert_int_equal(n, 456);
	assert_ptr_equal(p, text + 7);
	/* At the NUL: no digit. */
	assert_int_equal(str_parse_u64(&p, NULL, UINT64_MAX, &n), -1);
	assert_ptr_equal(p, text + 7);
	/* end bounds the digits. */
	text = "98765";
	p = text;
	assert_int_equal(str_parse_u64(&p, text + 2, UINT64_MAX, &n), 0);
	assert_int_equal(n, 98);
	assert_ptr_equal(p, text + 2);
	/* An empty span, and a span starting past its end. */
	assert_int_equal(str_parse_u64(&p, text + 2, UINT64_MAX, &n), -1);
	assert_ptr_equal(p, text + 2);
	p = text + 3;
	assert_int_equal(str_parse_u64(&p, text + 2, UINT64_MAX, &n), -1);
	assert_ptr_equal(p, text + 3);
	/* None. */
	n = 7;
	text = "x1";
	p = text;
	assert_int_equal(str_parse_u64(&p, NULL, UINT64_MAX, &n), -1);
	assert_ptr_equal(p, text);
	text = "-1";
	p = text;
	assert_int_equal(str_parse_u64(&p, text + 2, UINT64_MAX, &n), -1);
	assert_ptr_equal(p, text);
	assert_int_equal(n, 7);
	/* Leading zeros. */
	text = "0007,";
	p = text;
	assert_int_equal(str_parse_u64(&p, NULL, 7, &n), 0);
	assert_int_equal(n, 7);
	assert_ptr_equal(p, text + 4);
	/* Overflow at exactly max + 1 leaves *sp and *num_r alone. */
	text = "4294967296 ";
	p = text;
	n = 7;
	assert_int_equal(str_parse_u64(&p, NULL, UINT32_MAX, &n), -1);
	assert_ptr_equal(p, text);
	assert_int_equal(n, 7);
	text = "4294967295 ";
	p = text;
	assert_int_equal(str_parse_u64(&p, NULL, UINT32_MAX, &n), 0);
	assert_true(n == UINT32_MAX);
	assert_ptr_equal(p, text + 10);
	text = "18446744073709551615]";
	p = text;
	assert_int_equal(str_parse_u64(&p, NULL, UINT64_MAX, &n), 0);
	assert_true(n == UINT64_MAX);
	assert_ptr_equal(p, text + 20);
	text = "18446744073709551616]";
	p = text;
	assert_int_equal(str_parse_u64(&p, NULL, UINT64_MAX, &n), -1);
	assert_ptr_equal(p, text);
	/* A max below ten, and max 0. */
	text = "10";
	p = text;
	assert_int_equal(str_parse_u64(&p, NULL, 9, &n), -1);
	text = "0";
	p = text;
	assert_int_equal(str_parse_u64(&p, NULL, 0, &n), 0);
	assert_int_equal(n, 0);
	text = "1";
	p = text;
	assert_int_equal(str_parse_u64(&p, NULL, 0, &n), -1);
	/* A NUL before end ends the digits too. */
	{
		char buf[32] = "12";

		p = buf;
		assert_int_equal(str_parse_u64(&p, buf + sizeof(buf),
		    UINT64_MAX, &n), 0);
		assert_int_equal(n, 12);
		assert_ptr_equal(p, buf + 2);
	}
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
		cmocka_unit_test(test_push_digit),
		cmocka_unit_test(test_hex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
