/*
 * Base64 on OpenSSL's block coders. EVP_DecodeBlock is lenient (it trims
 * whitespace and reads '=' anywhere as a zero digit) and counts padding
 * in its result, so the input is checked here first and the padding
 * taken off after.
 */
#include "lib/base64.h"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "lib/xmalloc.h"

/* Bytes encoded per EVP_EncodeBlock call: a multiple of 3 (so no padding
 * falls in the middle) that keeps lengths well inside an int. */
#define ENCODE_CHUNK (3u << 20)
/* Characters decoded per EVP_DecodeBlock call: a multiple of 4. */
#define DECODE_CHUNK (4u << 20)

char *
base64_encode(const void *data, size_t len)
{
	const unsigned char *in = data;
	size_t off = 0, n;
	char *out, *o;

	assert(len <= (SIZE_MAX - 1) / 4 * 3 - 2);
	out = xmalloc((len + 2) / 3 * 4 + 1);
	o = out;
	while (off < len) {
		n = len - off < ENCODE_CHUNK ? len - off : ENCODE_CHUNK;
		o += EVP_EncodeBlock((unsigned char *)o, in + off, (int)n);
		off += n;
	}
	*o = '\0';
	return out;
}

static bool
is_alphabet(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* The number of '=' at the end (0, 1 or 2), or -1 if text is not strict
 * base64. */
static int
check(const char *text, size_t len)
{
	size_t i, pad = 0;

	if (len % 4 != 0)
		return -1;
	if (len > 0 && text[len - 1] == '=')
		pad = text[len - 2] == '=' ? 2 : 1;
	for (i = 0; i < len - pad; i++)
		if (!is_alphabet((unsigned char)text[i]))
			return -1;
	return (int)pad;
}

int
base64_decode(const char *text, size_t len, unsigned char **data_r,
    size_t *len_r)
{
	unsigned char *out;
	size_t off = 0, n, outlen = 0, size = len / 4 * 3 + 1;
	int pad, r;

	if ((pad = check(text, len)) < 0)
		return -1;
	/* EVP_DecodeBlock writes three bytes per quantum, padding too. */
	out = xmalloc(size);
	while (off < len) {
		n = len - off < DECODE_CHUNK ? len - off : DECODE_CHUNK;
		r = EVP_DecodeBlock(out + outlen,
		    (const unsigned char *)text + off, (int)n);
		if (r < 0 || (size_t)r != n / 4 * 3) {
			/* Not reached after check(); kept as a guard. */
			explicit_bzero(out, size);
			free(out);
			return -1;
		}
		outlen += (size_t)r;
		off += n;
	}
	outlen -= (size_t)pad;
	out[outlen] = '\0';
	*data_r = out;
	*len_r = outlen;
	return 0;
}
