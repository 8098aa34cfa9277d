/* Unit tests for lib/base64.c: RFC 4648 vectors and strict decoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/base64.h"

/* RFC 4648 section 10. */
static const struct {
	const char *raw;
	const char *b64;
} vectors[] = {
	{"", ""},
	{"f", "Zg=="},
	{"fo", "Zm8="},
	{"foo", "Zm9v"},
	{"foob", "Zm9vYg=="},
	{"fooba", "Zm9vYmE="},
	{"foobar", "Zm9vYmFy"},
};

static void
assert_decodes(const char *text, size_t len, const void *want,
    size_t want_len)
{
	unsigned char *data = NULL;
	size_t n = 99;

	assert_int_equal(base64_decode(text, len, &data, &n), 0);
	assert_int_equal(n, want_len);
	assert_memory_equal(data, want, want_len);
	assert_int_equal(data[n], '\0');
	free(data);
}

static void
assert_rejects(const char *text, size_t len)
{
	unsigned char *data = (unsigned char *)"untouched";
	size_t n = 99;

	assert_int_equal(base64_decode(text, len, &data, &n), -1);
	assert_string_equal((const char *)data, "untouched");
	assert_int_equal(n, 99);
}

static void
test_rfc4648_vectors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		char *enc = base64_encode(vectors[i].raw,
		    strlen(vectors[i].raw));

		assert_string_equal(enc, vectors[i].b64);
		free(enc);
		assert_decodes(vectors[i].b64, strlen(vectors[i].b64),
		    vectors[i].raw, strlen(vectors[i].raw));
	}
	/* NULL with no bytes encodes to "". */
	{
		char *enc = base64_encode(NULL, 0);

		assert_string_equal(enc, "");
		free(enc);
	}
}

static void
test_binary_roundtrip(void **state)
{
	unsigned char bytes[256], *data;
	size_t len, n;
	char *enc;

	(void)state;
	for (len = 0; len < sizeof(bytes); len++)
		bytes[len] = (unsigned char)(255 - len);
	/* Every length mod 3, NULs and bytes above 0x7f included. */
	for (len = 0; len <= sizeof(bytes); len++) {
		enc = base64_encode(bytes, len);
		assert_int_equal(strlen(enc), (len + 2) / 3 * 4);
		assert_null(strchr(enc, '\n'));
		assert_int_equal(base64_decode(enc, strlen(enc), &data, &n),
		    0);
		assert_int_equal(n, len);
		assert_memory_equal(data, bytes, len);
		free(data);
		free(enc);
	}
}

static void
test_known_binary(void **state)
{
	static const unsigned char secret[32] = {
		0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
		16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
	};
	static const char text[] =
	    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
	char *enc;

	(void)state;
	/* A notifier key as the server hands it out. */
	enc = base64_encode(secret, sizeof(secret));
	assert_string_equal(enc, text);
	free(enc);
	assert_decodes(text, strlen(text), secret, sizeof(secret));
	/* "+" and "/" are the last two digits. */
	assert_decodes("+/+/", 4, "\xfb\xff\xbf", 3);
	/* SASL PLAIN: NULs decode as data. */
	assert_decodes("AGFsaWNlAHNlY3JldA==", 20, "\0alice\0secret", 13);
}

static void
test_not_nul_terminated(void **state)
{
	(void)state;
	/* Only len characters are read. */
	assert_decodes("Zm9vYmFy!!!!", 8, "foobar", 6);
	assert_decodes("Zm9vYmFy", 4, "foo", 3);
}

/* A literal and its length, its NUL excluded. */
#define TEXT(s) { s, sizeof(s) - 1 }

static const struct {
	const char *text;
	size_t len;
} rejected[] = {
	/* Lengths that are not a multiple of four. */
	TEXT("Z"), TEXT("Zg"), TEXT("Zg="), TEXT("Zm9vY"), TEXT("Zm9vYmFy="),
	/* Unpadded forms are not accepted. */
	TEXT("Zm9vYg"), TEXT("Zm8"),
	/* Padding in the wrong place or too much of it. */
	TEXT("===="), TEXT("Z==="), TEXT("=Zg="), TEXT("Z=g="), TEXT("Zg=A"),
	/* Padding only at the very end, never in an earlier quantum. */
	TEXT("Zg==Zm9v"), TEXT("Zm8=Zm9v"), TEXT("Zm9vYmE====="),
	/* Garbage, whitespace and line breaks, NULs. */
	TEXT("!!!!"), TEXT("Zm9v\n"), TEXT("Zm9v\r\n\r\n"), TEXT(" Zm9v   "),
	TEXT("Zm 9"), TEXT("Zm9v    "), TEXT("Zm9\t"), TEXT("Zm9\0"),
	TEXT("\0\0\0\0"), TEXT("Zm9\xc3"), TEXT("Zm9v.m9v"),
	/* The URL alphabet is not accepted. */
	TEXT("Zm9-"), TEXT("Zm9_"),
};

static void
test_rejects(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rejected) / sizeof(rejected[0]); i++)
		assert_rejects(rejected[i].text, rejected[i].len);
}

static void
test_pad_bits(void **state)
{
	(void)state;
	/* Stray bits under the padding are ignored (RFC 4648 3.5). */
	assert_decodes("Zh==", 4, "f", 1);
	assert_decodes("Zm9=", 4, "fo", 2);
}

static void
test_large(void **state)
{
	/* Larger than one chunk of the block coders. */
	size_t len = (3u << 20) * 2 + 5, n, i;
	unsigned char *bytes = malloc(len), *data;
	char *enc;

	(void)state;
	for (i = 0; i < len; i++)
		bytes[i] = (unsigned char)(i * 31 + (i >> 11));
	enc = base64_encode(bytes, len);
	assert_int_equal(strlen(enc), (len + 2) / 3 * 4);
	assert_int_equal(base64_decode(enc, strlen(enc), &data, &n), 0);
	assert_int_equal(n, len);
	assert_memory_equal(data, bytes, len);
	free(data);
	/* A bad character far past the first chunk is still found. */
	enc[strlen(enc) - 7] = '*';
	assert_rejects(enc, strlen(enc));
	free(enc);
	free(bytes);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648_vectors),
		cmocka_unit_test(test_binary_roundtrip),
		cmocka_unit_test(test_known_binary),
		cmocka_unit_test(test_not_nul_terminated),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_pad_bits),
		cmocka_unit_test(test_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
