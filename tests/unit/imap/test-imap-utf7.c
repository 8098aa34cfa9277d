/* Tests of modified UTF-7 mailbox name decoding and encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap-utf7.h"
#include "lib/buf.h"

/* utf7 decodes to utf8 and utf8 encodes to utf7. */
static void
round_trip(const char *utf7, const char *utf8)
{
	struct buf b;
	const char *error;

	buf_init(&b, 0);
	if (imap_utf7_decode(utf7, &b, &error) < 0)
		fail_msg("decode \"%s\": %s", utf7, error);
	assert_string_equal(buf_cstr(&b), utf8);
	buf_reset(&b);
	if (imap_utf7_encode(utf8, &b, &error) < 0)
		fail_msg("encode \"%s\": %s", utf8, error);
	assert_string_equal(buf_cstr(&b), utf7);
	assert_true(imap_utf7_is_valid(utf7));
	buf_free(&b);
}

static void
test_round_trip(void **state)
{
	(void)state;
	round_trip("", "");
	round_trip("INBOX", "INBOX");
	round_trip("~peter/mail/&U,BTFw-/&ZeVnLIqe-",
	    "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/"
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
	round_trip("&-", "&");
	round_trip("a&-b&-&-", "a&b&&");
	round_trip("Entw&APw-rfe", "Entw\xc3\xbc" "rfe");
	round_trip("&APw-", "\xc3\xbc");
	round_trip("&APwA,AD8-", "\xc3\xbc\xc3\xbc\xc3\xbc");
	/* U+1F600 as a surrogate pair. */
	round_trip("&2D3eAA-", "\xf0\x9f\x98\x80");
	round_trip("x&2D3eAAD8-y", "x\xf0\x9f\x98\x80\xc3\xbcy");
	/* Controls and DEL are shifted. */
	round_trip("&AAk-", "\t");
	round_trip("&AH8-", "\x7f");
	/* All printable ASCII but "&" is direct. */
	round_trip(" !\"#$%'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~",
	    " !\"#$%'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~");
}

static void
test_decode_invalid(void **state)
{
	static const char *const bad[] = {
		"&U,BTFw",		/* unterminated */
		"&",			/* unterminated */
		"a&",			/* unterminated */
		"&AGE-",		/* "a" must be direct */
		"&ACY-",		/* "&" must be "&-" */
		"&ACA-",		/* space must be direct */
		"&U,BTFx-",		/* non-zero padding bits */
		"&U,BTF-",		/* half a UTF-16 unit */
		"&U,BTFwA-",		/* a redundant character */
		"&U,BTFw-&ZeVnLIqe-",	/* adjacent shifts must be one */
		"&2D0-",		/* lone high surrogate */
		"&3gA-",		/* lone low surrogate */
		"&2D3YPQ-",		/* high surrogate twice */
		"&AAA-",		/* U+0000 */
		"&&-",			/* "&" in a shift */
		"&U/BTFw-",		/* "/" is not modified BASE64 */
		"&U=-",			/* "=" padding */
		"\xc3\xa9",		/* raw 8-bit */
		"a\tb",			/* raw control */
		"a\x7f",		/* raw DEL */
	};
	struct buf b;
	const char *error;
	size_t i;

	(void)state;
	buf_init(&b, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error = NULL;
		buf_reset(&b);
		if (imap_utf7_decode(bad[i], &b, &error) == 0)
			fail_msg("\"%s\" accepted as \"%s\"", bad[i],
			    buf_cstr(&b));
		assert_non_null(error);
		assert_false(imap_utf7_is_valid(bad[i]));
	}
	buf_free(&b);
}

static void
test_encode_invalid(void **state)
{
	static const char *const bad[] = {
		"\xc0\xaf",		/* overlong "/" */
		"\xe0\x80\xaf",		/* overlong "/" */
		"\xed\xa0\x80",		/* surrogate */
		"\xf4\x90\x80\x80",	/* above U+10FFFF */
		"\xe6\x97",		/* truncated */
		"\x80",			/* continuation byte */
		"\xff",
		"a\xc3",
	};
	struct buf b;
	const char *error;
	size_t i;

	(void)state;
	buf_init(&b, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error = NULL;
		buf_reset(&b);
		if (imap_utf7_encode(bad[i], &b, &error) == 0)
			fail_msg("\"%s\" encoded", bad[i]);
		assert_non_null(error);
	}
	buf_free(&b);
}

static void
test_bounded(void **state)
{
	struct buf b;
	const char *error;

	(void)state;
	buf_init(&b, 5);
	assert_int_equal(imap_utf7_decode("abcde", &b, &error), 0);
	buf_reset(&b);
	assert_int_equal(imap_utf7_decode("abcdef", &b, &error), -1);
	buf_reset(&b);
	assert_int_equal(imap_utf7_decode("&U,BTFw-", &b, &error), -1);
	buf_reset(&b);
	assert_int_equal(imap_utf7_encode("\xe5\x8f\xb0", &b, &error), 0);
	assert_string_equal(buf_cstr(&b), "&U,A-");
	buf_reset(&b);
	assert_int_equal(imap_utf7_encode("\xe5\x8f\xb0\xe5\x8c\x97", &b,
	    &error), -1);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_decode_invalid),
		cmocka_unit_test(test_encode_invalid),
		cmocka_unit_test(test_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
