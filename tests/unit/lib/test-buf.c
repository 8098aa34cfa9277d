/* Unit tests for lib/buf.c: growth, the hard maximum, and C strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/buf.h"

static void
test_append(void **state)
{
	struct buf b;
	char big[1000];
	size_t i;

	(void)state;
	buf_init(&b, 0);
	assert_string_equal(buf_cstr(&b), "");
	assert_int_equal(buf_append_str(&b, "hello"), 0);
	assert_int_equal(buf_append(&b, ", world", 7), 0);
	assert_int_equal(b.len, 12);
	assert_string_equal(buf_cstr(&b), "hello, world");
	/* growth past the first allocation keeps the contents */
	memset(big, 'x', sizeof(big));
	for (i = 0; i < 10; i++)
		assert_int_equal(buf_append(&b, big, sizeof(big)), 0);
	assert_int_equal(b.len, 12 + 10 * sizeof(big));
	assert_memory_equal(b.data, "hello, world", 12);
	assert_int_equal(b.data[b.len], '\0');
	assert_true(b.cap > b.len);
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(buf_cstr(&b), "");
	buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
}

static void
test_max(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_append_str(&b, "12345"), 0);
	/* would exceed: nothing appended */
	assert_int_equal(buf_append_str(&b, "6789"), -1);
	assert_string_equal(buf_cstr(&b), "12345");
	assert_int_equal(buf_append_str(&b, "678"), 0);
	assert_int_equal(b.len, 8);
	assert_int_equal(buf_append(&b, "9", 1), -1);
	assert_int_equal(buf_printf(&b, "%d", 1), -1);
	assert_string_equal(buf_cstr(&b), "12345678");
	/* an overflowing length is refused, not wrapped */
	assert_int_equal(buf_append(&b, "", SIZE_MAX), -1);
	buf_free(&b);
	/* the maximum survives buf_free */
	assert_int_equal(b.max, 8);
}

static void
test_printf(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 64);
	assert_int_equal(buf_printf(&b, "%s=%d", "port", 1143), 0);
	assert_int_equal(buf_printf(&b, ";%05u", 42u), 0);
	assert_string_equal(buf_cstr(&b), "port=1143;00042");
	assert_int_equal(b.len, strlen("port=1143;00042"));
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append),
		cmocka_unit_test(test_max),
		cmocka_unit_test(test_printf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
