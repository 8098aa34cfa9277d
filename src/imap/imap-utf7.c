/*
 * Modified UTF-7 (RFC 3501 section 5.1.3) to and from UTF-8. Decoding
 * accepts only the canonical form, so a mailbox name has exactly one
 * spelling on the wire.
 */
#include "imap/imap-utf7.h"

#include <stdint.h>
#include <string.h>

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == ',')
		return 63;
	return -1;
}

static int
put_utf8(struct buf *dest, uint32_t cp)
{
	unsigned char out[4];
	size_t n;

	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | (cp >> 6));
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		out[0] = (unsigned char)(0xe0 | (cp >> 12));
		out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		out[0] = (unsigned char)(0xf0 | (cp >> 18));
		out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		out[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return buf_append(dest, out, n);
}

/* Decode one shifted run "&....-" starting after the "&"; *sp is left
 * after the "-". */
static int
decode_shift(const char **sp, struct buf *dest, const char **error_r)
{
	const unsigned char *s = (const unsigned char *)*sp;
	uint32_t bits = 0, high = 0;
	unsigned int nbits = 0, units = 0;
	int v;

	for (; *s != '-'; s++) {
		if (*s == '\0') {
			*error_r = "Unterminated &-shift";
			return -1;
		}
		if ((v = b64_value(*s)) < 0) {
			*error_r = "Invalid character in &-shift";
			return -1;
		}
		bits = (bits << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		uint32_t u = (bits >> nbits) & 0xffff;

		bits &= (1u << nbits) - 1;
		units++;
		if (u >= 0xd800 && u <= 0xdbff) {
			if (high != 0)
				goto bad_surrogate;
			high = u;
			continue;
		}
		if (u >= 0xdc00 && u <= 0xdfff) {
			if (high == 0)
				goto bad_surrogate;
			u = 0x10000 + ((high - 0xd800) << 10) + (u - 0xdc00);
			high = 0;
		} else if (high != 0)
			goto bad_surrogate;
		else if (u == 0 || (u >= 0x20 && u <= 0x7e)) {
			*error_r = "Character encoded that must be direct";
			return -1;
		}
		if (put_utf8(dest, u) < 0)
			goto too_long;
	}
	if (high != 0)
		goto bad_surrogate;
	if (units == 0 || nbits >= 6 || bits != 0) {
		*error_r = "Non-canonical &-shift";
		return -1;
	}
	*sp = (const char *)s + 1;
	return 0;

bad_surrogate:
	*error_r = "Unpaired UTF-16 surrogate in &-shift";
	return -1;
too_long:
	*error_r = "Mailbox name too long";
	return -1;
}

int
imap_utf7_decode(const char *src, struct buf *dest, const char **error_r)
{
	const char *s = src;

	while (*s != '\0') {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c > 0x7e) {
			*error_r = "Mailbox name has 8-bit or control bytes";
			return -1;
		}
		if (c != '&') {
			if (buf_append(dest, s, 1) < 0)
				goto too_long;
			s++;
			continue;
		}
		s++;
		if (*s == '-') {
			if (buf_append(dest, "&", 1) < 0)
				goto too_long;
			s++;
			continue;
		}
		if (decode_shift(&s, dest, error_r) < 0)
			return -1;
		if (s[0] == '&' && s[1] != '-') {
			*error_r = "Adjacent &-shifts must be one";
			return -1;
		}
	}
	return 0;

too_long:
	*error_r = "Mailbox name too long";
	return -1;
}

/* The next code point of UTF-8 text, or -1 if it is invalid. */
static int32_t
next_utf8(const unsigned char **sp)
{
	const unsigned char *s = *sp;
	uint32_t cp, min;
	int n, i;

	if (s[0] < 0x80) {
		*sp = s + 1;
		return s[0];
	}
	if ((s[0] & 0xe0) == 0xc0) {
		cp = s[0] & 0x1f;
		n = 1;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		cp = s[0] & 0x0f;
		n = 2;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		cp = s[0] & 0x07;
		n = 3;
		min = 0x10000;
	} else
		return -1;
	for (i = 1; i <= n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*sp = s + n + 1;
	return (int32_t)cp;
}

int
imap_utf7_encode(const char *src, struct buf *dest, const char **error_r)
{
	const unsigned char *s = (const unsigned char *)src;
	uint32_t bits = 0;
	unsigned int nbits = 0;
	bool shifted = false;
	char c;

	while (*s != '\0') {
		int32_t cp = next_utf8(&s);
		uint32_t units[2];
		int nunits, i;

		if (cp < 0) {
			*error_r = "Mailbox name is not valid UTF-8";
			return -1;
		}
		if (cp >= 0x20 && cp <= 0x7e) {
			if (shifted) {
				if (nbits > 0) {
					c = b64chars[(bits << (6 - nbits)) &
					    0x3f];
					if (buf_append(dest, &c, 1) < 0)
						goto too_long;
				}
				if (buf_append(dest, "-", 1) < 0)
					goto too_long;
				shifted = false;
				bits = 0;
				nbits = 0;
			}
			if ((cp == '&' ? buf_append(dest, "&-", 2) :
			    buf_append(dest, s - 1, 1)) < 0)
				goto too_long;
			continue;
		}
		if (!shifted) {
			if (buf_append(dest, "&", 1) < 0)
				goto too_long;
			shifted = true;
		}
		if (cp >= 0x10000) {
			units[0] = 0xd800 + (((uint32_t)cp - 0x10000) >> 10);
			units[1] = 0xdc00 + (((uint32_t)cp - 0x10000) & 0x3ff);
			nunits = 2;
		} else {
			units[0] = (uint32_t)cp;
			nunits = 1;
		}
		for (i = 0; i < nunits; i++) {
			bits = (bits << 16) | units[i];
			nbits += 16;
			while (nbits >= 6) {
				nbits -= 6;
				c = b64chars[(bits >> nbits) & 0x3f];
				if (buf_append(dest, &c, 1) < 0)
					goto too_long;
			}
			bits &= (1u << nbits) - 1;
		}
	}
	if (shifted) {
		if (nbits > 0) {
			c = b64chars[(bits << (6 - nbits)) & 0x3f];
			if (buf_append(dest, &c, 1) < 0)
				goto too_long;
		}
		if (buf_append(dest, "-", 1) < 0)
			goto too_long;
	}
	return 0;

too_long:
	*error_r = "Mailbox name too long";
	return -1;
}

bool
imap_utf7_is_valid(const char *src)
{
	struct buf b;
	const char *error;
	int ret;

	buf_init(&b, 0);
	ret = imap_utf7_decode(src, &b, &error);
	buf_free(&b);
	return ret == 0;
}
