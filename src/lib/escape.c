/*
 * JSON string escaping onto a struct buf. Runs of bytes
 * that need no escape are appended in one piece; a failed append undoes
 * the whole call, so a bounded buffer never ends in half an escape.
 */
#include "lib/escape.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The length of the well-formed UTF-8 sequence at p (at most n bytes
 * available, p[0] >= 0x80), or, if it is ill-formed, minus the length of
 * its maximal subpart (at least 1), per Unicode 3.9 table 3-7. */
static ptrdiff_t
utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		need = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		need = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;	/* no overlong forms */
		else if (p[0] == 0xed)
			hi = 0x9f;	/* no surrogates */
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		need = 4;
		if (p[0] == 0xf0)
			lo = 0x90;	/* no overlong forms */
		else if (p[0] == 0xf4)
			hi = 0x8f;	/* nothing above U+10FFFF */
	} else
		return -1;	/* continuation byte, C0, C1 or F5-FF */
	for (i = 1; i < need; i++) {
		if (i >= n || p[i] < lo || p[i] > hi)
			return -(ptrdiff_t)i;
		lo = 0x80;
		hi = 0xbf;
	}
	return (ptrdiff_t)need;
}

int
json_escape(struct buf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *run = p, *end = p + len;
	size_t start = out->len;
	char esc[8];
	const char *rep;
	size_t rep_len;
	ptrdiff_t n;

	while (p < end) {
		if (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\') {
			p++;
			continue;
		}
		if (*p >= 0x80 && (n = utf8_seq(p, (size_t)(end - p))) > 0) {
			p += n;
			continue;
		}
		/* p needs replacing: flush the run before it. */
		if (buf_append(out, run, (size_t)(p - run)) < 0)
			goto fail;
		rep = esc;
		rep_len = 2;
		esc[0] = '\\';
		switch (*p) {
		case '"':
		case '\\':
			esc[1] = (char)*p;
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			if (*p < 0x80) {
				snprintf(esc, sizeof(esc), "\\u%04x", *p);
				rep_len = 6;
			} else {
				rep = "\xef\xbf\xbd";	/* U+FFFD */
				rep_len = 3;
			}
		}
		if (buf_append(out, rep, rep_len) < 0)
			goto fail;
		p += *p >= 0x80 ? (size_t)-utf8_seq(p, (size_t)(end - p)) : 1;
		run = p;
	}
	if (buf_append(out, run, (size_t)(p - run)) < 0)
		goto fail;
	return 0;
fail:
	out->len = start;
	if (out->data != NULL)
		out->data[start] = '\0';
	return -1;
}
