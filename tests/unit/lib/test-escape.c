/* Unit tests for lib/escape.c: JSON strings, byte by byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/escape.h"

static void
assert_json(const char *in, size_t len, const char *want)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(json_escape(&b, in, len), 0);
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.data, want, b.len);
	buf_free(&b);
}

/* A NUL-terminated literal, its NUL excluded. */
#define JSON(in, want) assert_json(in, sizeof(in) - 1, want)

static void
test_json_ascii(void **state)
{
	(void)state;
	JSON("", "");
	JSON("plain text, ~ and {}", "plain text, ~ and {}");
	JSON("\"", "\\\"");
	JSON("\\", "\\\\");
	JSON("say \"hi\"\\\n\x01", "say \\\"hi\\\"\\\\\\n\\u0001");
	JSON("\r\n\t", "\\r\\n\\t");
	/* Other controls, DEL and NUL as \u00XX, lowercase. */
	JSON("\b\f\x1f\x7f", "\\u0008\\u000c\\u001f\\u007f");
	JSON("a\0b", "a\\u0000b");
	JSON("/", "/");
	JSON(" ", " ");
	JSON("~", "~");
}

static void
test_json_every_byte(void **state)
{
	struct buf b;
	char c[1];
	int i;

	(void)state;
	/* Each ASCII byte alone: printable ones but " and \ as they are. */
	for (i = 0; i < 0x80; i++) {
		c[0] = (char)i;
		buf_init(&b, 0);
		assert_int_equal(json_escape(&b, c, 1), 0);
		if (i == '"' || i == '\\')
			assert_int_equal(b.len, 2);
		else if (i == '\n' || i == '\r' || i == '\t')
			assert_int_equal(b.len, 2);
		else if (i < 0x20 || i == 0x7f)
			assert_int_equal(b.len, 6);
		else
			assert_int_equal(b.len, 1);
		buf_free(&b);
	}
	/* Every byte above 0x7f alone is ill-formed: one U+FFFD. */
	for (i = 0x80; i < 0x100; i++) {
		c[0] = (char)i;
		buf_init(&b, 0);
		assert_int_equal(json_escape(&b, c, 1), 0);
		assert_int_equal(b.len, 3);
		assert_memory_equal(b.data, "\xef\xbf\xbd", 3);
		buf_free(&b);
	}
}

static void
test_json_utf8_valid(void **state)
{
	(void)state;
	/* Copied unchanged: each length, and the edges of each range. */
	JSON("caf\xc3\xa9", "caf\xc3\xa9");
	JSON("\xc2\x80", "\xc2\x80");
	JSON("\xdf\xbf", "\xdf\xbf");
	JSON("\xe0\xa0\x80", "\xe0\xa0\x80");
	JSON("\xe2\x9c\x93", "\xe2\x9c\x93");
	JSON("\xed\x9f\xbf", "\xed\x9f\xbf");		/* U+D7FF */
	JSON("\xee\x80\x80", "\xee\x80\x80");		/* U+E000 */
	JSON("\xef\xbf\xbd", "\xef\xbf\xbd");
	JSON("\xef\xbf\xbf", "\xef\xbf\xbf");
	JSON("\xf0\x90\x80\x80", "\xf0\x90\x80\x80");
	JSON("\xf0\x9f\x94\x94", "\xf0\x9f\x94\x94");	/* a bell */
	JSON("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf");	/* U+10FFFF */
	JSON("\xc3\xa9\"\xc3\xa9", "\xc3\xa9\\\"\xc3\xa9");
}

#define FFFD "\xef\xbf\xbd"

static void
test_json_utf8_invalid(void **state)
{
	(void)state;
	/* Overlong forms. */
	JSON("\xc0\xaf", FFFD FFFD);
	JSON("\xc1\xbf", FFFD FFFD);
	JSON("\xe0\x80\xaf", FFFD FFFD FFFD);
	JSON("\xe0\x9f\xbf", FFFD FFFD FFFD);
	JSON("\xf0\x80\x80\xaf", FFFD FFFD FFFD FFFD);
	JSON("\xf0\x8f\xbf\xbf", FFFD FFFD FFFD FFFD);
	/* Surrogates. */
	JSON("\xed\xa0\x80", FFFD FFFD FFFD);
	JSON("\xed\xbf\xbf", FFFD FFFD FFFD);
	/* Above U+10FFFF, and bytes that never start anything. */
	JSON("\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD);
	JSON("\xf5\x80\x80\x80", FFFD FFFD FFFD FFFD);
	JSON("\xff\xfe", FFFD FFFD);
	/* Stray continuation bytes, one U+FFFD each. */
	JSON("a\x80\xbf" "b", "a" FFFD FFFD "b");
	/* Truncated sequences: the maximal subpart is one U+FFFD. */
	JSON("\xc3", FFFD);
	JSON("\xe2\x9c", FFFD);
	JSON("\xf0\x9f\x94", FFFD);
	JSON("\xf0\x9f\x94" "a", FFFD "a");
	JSON("\xe2\x9c\"", FFFD "\\\"");
	JSON("\xe2\x9c\n", FFFD "\\n");
	JSON("\xc3\xc3\xa9", FFFD "\xc3\xa9");
	JSON("\xf0\x9f\xe2\x9c\x93", FFFD "\xe2\x9c\x93");
	/* Unicode 3.9's own example, U+FFFD per maximal subpart. */
	JSON("\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64",
	    "a" FFFD FFFD FFFD "b" FFFD "c" FFFD FFFD "d");
	/* A sequence cut by len, not by a NUL. */
	assert_json("\xc3\xa9", 1, FFFD);
}

static void
test_json_appends(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	buf_append_str(&b, "\"");
	assert_int_equal(json_escape(&b, "a\"b", 3), 0);
	buf_append_str(&b, "\"");
	assert_string_equal(buf_cstr(&b), "\"a\\\"b\"");
	/* Only len bytes are read. */
	assert_int_equal(json_escape(&b, "xyz", 1), 0);
	assert_string_equal(buf_cstr(&b), "\"a\\\"b\"x");
	buf_free(&b);
}

static void
test_json_limit(void **state)
{
	struct buf b;

	(void)state;
	/* Failing anywhere leaves the buffer as it was. */
	buf_init(&b, 8);
	buf_append_str(&b, "ab");
	assert_int_equal(json_escape(&b, "cdefgh", 6), 0);
	assert_string_equal(buf_cstr(&b), "abcdefgh");
	buf_reset(&b);
	buf_append_str(&b, "ab");
	assert_int_equal(json_escape(&b, "cdefghi", 7), -1);
	assert_string_equal(buf_cstr(&b), "ab");
	assert_int_equal(json_escape(&b, "cd\x01", 3), -1);	/* the escape */
	assert_string_equal(buf_cstr(&b), "ab");
	assert_int_equal(json_escape(&b, "\x01\x01", 2), -1);
	assert_string_equal(buf_cstr(&b), "ab");
	assert_int_equal(json_escape(&b, "\x01", 1), 0);
	assert_string_equal(buf_cstr(&b), "ab\\u0001");
	buf_free(&b);
	/* An empty buffer that cannot take the first byte. */
	buf_init(&b, 1);
	assert_int_equal(json_escape(&b, "\"", 1), -1);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_ascii),
		cmocka_unit_test(test_json_every_byte),
		cmocka_unit_test(test_json_utf8_valid),
		cmocka_unit_test(test_json_utf8_invalid),
		cmocka_unit_test(test_json_appends),
		cmocka_unit_test(test_json_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
