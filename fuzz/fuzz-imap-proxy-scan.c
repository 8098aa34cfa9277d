/*
 * libFuzzer harness for the proxy's stream framing (imap-proxy-scan.h):
 * any input, fed whole and then in pieces of a size taken from its first
 * byte, must give the same events at the same offsets, consume what it
 * is given, and keep each head within its bounds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap-proxy-scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Events of the run, as (offset << 2 | event), at most max of them. */
static size_t
run(const uint8_t *data, size_t size, size_t step, uint64_t *out,
    size_t max)
{
	struct imap_scan s;
	enum imap_scan_event ev;
	size_t off = 0, n = 0, chunk, used, hlen;

	imap_scan_init(&s);
	while (off < size) {
		chunk = size - off < step ? size - off : step;
		ev = imap_scan_feed(&s, data + off, chunk, &used);
		if (used > chunk || (ev == IMAP_SCAN_MORE && used != chunk))
			abort();
		off += used;
		(void)imap_scan_head(&s, &hlen);
		if (hlen > IMAP_SCAN_HEAD_MAX ||
		    strlen(imap_scan_tag(&s)) > IMAP_PROXY_TAG_MAX ||
		    strlen(imap_scan_word(&s)) > IMAP_PROXY_WORD_MAX)
			abort();
		if (ev != IMAP_SCAN_MORE && n < max)
			out[n++] = (uint64_t)off << 2 | (uint64_t)ev;
	}
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t whole[4096], split[4096];
	size_t n1, n2, step;

	if (size < 1)
		return 0;
	step = (size_t)data[0] % 7 + 1;
	data++;
	size--;
	n1 = run(data, size, size > 0 ? size : 1, whole, 4096);
	n2 = run(data, size, step, split, 4096);
	if (n1 != n2 || memcmp(whole, split, n1 * sizeof(whole[0])) != 0)
		abort();
	return 0;
}
