/*
 * libFuzzer harness for the IMAP command parser and the parsers that
 * read its arguments (sequence sets, dates, modified UTF-7). Checks that
 * feeding the input whole and in small pieces gives the same results,
 * and that decoded names and dates survive a round trip.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imap/imap-date.h"
#include "imap/imap-parser.h"
#include "imap/imap-seqset.h"
#include "imap/imap-utf7.h"
#include "lib/buf.h"

static uint64_t
hash_bytes(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static uint64_t
hash_u64(uint64_t h, uint64_t v)
{
	return hash_bytes(h, &v, sizeof(v));
}

static void
check_text(const struct imap_arg *arg)
{
	struct imap_seqset *set;
	struct imap_seqset_iter it;
	struct imap_date date;
	struct buf utf8, utf7;
	const char *error;
	char out[IMAP_DATE_TIME_LEN + 1];
	time_t t, t2;
	int zone, zone2;
	uint32_t n, count = 0;

	if (strlen(arg->str) != arg->len)
		return;
	if (imap_seqset_parse(arg->str, &set, &error) == 0) {
		(void)imap_seqset_contains(set, 100, 50);
		imap_seqset_iter_init(&it, set, 1000);
		while (imap_seqset_iter_next(&it, &n) && ++count < 2000)
			;
		imap_seqset_free(&set);
	}
	(void)imap_date_parse(arg->str, &date, &error);
	if (imap_date_time_parse(arg->str, &t, &zone, &error) == 0) {
		imap_date_time_format(t, zone, out);
		if (imap_date_time_parse(out, &t2, &zone2, &error) != 0 ||
		    t2 != t || zone2 != zone)
			abort();
	}
	buf_init(&utf8, 4096);
	buf_init(&utf7, 0);
	if (imap_utf7_decode(arg->str, &utf8, &error) == 0) {
		if (imap_utf7_encode(buf_cstr(&utf8), &utf7, &error) != 0 ||
		    strcmp(buf_cstr(&utf7), arg->str) != 0)
			abort();
	}
	buf_free(&utf8);
	buf_free(&utf7);
}

static uint64_t
hash_args(uint64_t h, const struct imap_arg *args, unsigned int count,
    bool check)
{
	unsigned int i;

	for (i = 0; i < count; i++) {
		const struct imap_arg *a = &args[i];

		h = hash_u64(h, a->type);
		if (a->str != NULL)
			h = hash_bytes(h, a->str, a->len + 1);
		if (a->section != NULL)
			h = hash_bytes(h, a->section, strlen(a->section));
		h = hash_u64(h, a->has_list);
		h = hash_u64(h, a->has_partial ?
		    ((uint64_t)a->partial_offset << 32) | a->partial_size : 1);
		h = hash_args(h, a->list, a->list_count, check);
		h = hash_u64(h, a->list_count);
		if (check && (a->type == IMAP_ARG_ATOM ||
		    a->type == IMAP_ARG_STRING || a->type == IMAP_ARG_LITERAL))
			check_text(a);
	}
	return h;
}

/* Feed data in pieces of chunk bytes; the hash of every result. */
static uint64_t
run(const struct imap_parser_limits *limits, const uint8_t *data,
    size_t size, size_t chunk, bool check)
{
	struct imap_parser *parser = imap_parser_new(limits);
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t have = 0, off = 0;
	unsigned int rounds = 0;

	/* The caller's buffer is data[off .. have). */
	while (have < size) {
		have += size - have < chunk ? size - have : chunk;
		for (;;) {
			const struct imap_command *cmd;
			const char *error;
			size_t consumed;
			int r;

			if (++rounds > 10 * size + 100)
				abort();
			r = imap_parser_feed(parser, data + off, have - off,
			    &consumed, &cmd, &error);
			if (consumed > have - off)
				abort();
			off += consumed;
			if (r == IMAP_PARSE_MORE) {
				/* How often depends on the pieces: no hash. */
				if (off != have)
					abort();
				break;
			}
			h = hash_u64(h, (uint64_t)(r + 1));
			if (r == IMAP_PARSE_DONE) {
				h = hash_bytes(h, cmd->tag, strlen(cmd->tag));
				h = hash_bytes(h, cmd->name, strlen(cmd->name));
				h = hash_args(h, cmd->args, cmd->args_count,
				    check);
			} else if (r == IMAP_PARSE_ERROR) {
				const char *s;

				h = hash_u64(h, imap_parser_error_code(parser));
				for (s = error; *s != '\0'; s++) {
					if (*s < 0x20 || *s > 0x7e)
						abort();
				}
			}
		}
	}
	imap_parser_free(&parser);
	return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser_limits limits;
	uint64_t whole;
	size_t chunk;

	if (size < 1)
		return 0;
	/* The first byte picks the limits and the piece size. */
	imap_parser_limits_default(&limits, (data[0] & 1) != 0);
	if ((data[0] & 2) != 0) {
		limits.line_max = 64;
		limits.literal_max = 16;
		limits.depth_max = 3;
		limits.args_max = 8;
	}
	chunk = (size_t)(data[0] >> 2) % 8 + 1;
	data++;
	size--;

	whole = run(&limits, data, size, size > 0 ? size : 1, true);
	if (run(&limits, data, size, chunk, false) != whole)
		abort();
	return 0;
}
