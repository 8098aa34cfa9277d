/*
 * libFuzzer harness for the relay's LMTP reply parser. The input is an
 * owner node's byte stream of replies. It is parsed twice, whole and in
 * pieces whose sizes come from the input; the two runs must agree on
 * every reply and error, and every reply must hold to its contract
 * (a code in 200..599, bounded printable text, a well-formed enhanced
 * code of the code's class).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lmtp/lmtp-reply-parse.h"

static uint64_t
hash_bytes(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static void
check_reply(const struct lmtp_reply *r)
{
	size_t len;

	if (r->code < 200 || r->code > 599 || r->lines == 0 ||
	    r->lines > LMTP_REPLY_LINES_MAX)
		abort();
	len = strlen(r->text);
	if (len > LMTP_REPLY_LINE_MAX)
		abort();
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)r->text[i] < ' ' ||
		    (unsigned char)r->text[i] > '~')
			abort();
	if (r->enhanced[0] != '\0' && (r->enhanced[0] != '0' + r->code / 100 ||
	    r->enhanced[1] != '.' ||
	    strlen(r->enhanced) > LMTP_ENHANCED_CODE_MAX))
		abort();
}

static uint64_t
hash_reply(uint64_t h, const struct lmtp_reply *r)
{
	h = hash_bytes(h, &r->code, sizeof(r->code));
	h = hash_bytes(h, r->enhanced, strlen(r->enhanced));
	h = hash_bytes(h, r->text, strlen(r->text) + 1);
	h = hash_bytes(h, &r->lines, sizeof(r->lines));
	h = hash_bytes(h, &r->caps, sizeof(r->caps));
	return hash_bytes(h, &r->size_max, sizeof(r->size_max));
}

/* Parse in pieces of the sizes steps[] cycles through (0: whole). */
static uint64_t
run(const unsigned char *in, size_t size, const unsigned char *steps,
    size_t nsteps)
{
	struct lmtp_reply_parser *parser = lmtp_reply_parser_new();
	struct lmtp_reply reply;
	size_t off = 0, avail = 0, step = 0, consumed;
	uint64_t h = 0xcbf29ce484222325ULL;
	enum lmtp_reply_error error;
	size_t at;
	int ret;

	while (off < size) {
		if (avail == 0) {
			avail = nsteps == 0 ? size - off :
			    (size_t)steps[step++ % nsteps] % 17 + 1;
			if (avail > size - off)
				avail = size - off;
		}
		ret = lmtp_reply_parser_feed(parser, in + off, avail,
		    &consumed, &reply);
		if (consumed > avail || (ret == 0 && consumed != avail))
			abort();
		if (ret == 1) {
			check_reply(&reply);
			h = hash_reply(h, &reply);
		} else if (ret < 0) {
			/* A relay drops the connection; here, start over. */
			error = lmtp_reply_parser_error(parser);
			h = hash_bytes(h, &error, sizeof(error));
			/* Both runs fail at the same byte. */
			at = off + consumed;
			h = hash_bytes(h, &at, sizeof(at));
			lmtp_reply_parser_reset(parser);
		}
		off += consumed;
		avail -= consumed;
	}
	lmtp_reply_parser_free(&parser);
	return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	size_t nsteps = size < 8 ? size : 8;

	/* The first bytes double as piece sizes for the split run. */
	if (run(in, size, NULL, 0) != run(in, size, in, nsteps))
		abort();
	return 0;
}
