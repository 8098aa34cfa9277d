/*
 * libFuzzer harness for the IMAP command parser and the parsers that
 * read its arguments (sequence sets, dates, modified UTF-7, LIST
 * patterns, base subjects). Checks that feeding the input whole and in small pieces
 * gives the same results, that decoded names and dates survive a round
 * trip, and that the pattern matcher agrees with a naive one.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "imap/imap-date.h"
#include "imap/imap-match.h"
#include "imap/imap-parser.h"
#include "imap/imap-seqset.h"
#include "imap/imap-subject.h"
#include "imap/imap-utf7.h"
#include "lib/buf.h"
#include "lib/limits.h"

/* The naive matcher runs on patterns and names this short only. */
#define FUZZ_MATCH_PATTERN_MAX 32
#define FUZZ_MATCH_NAME_MAX 64

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
	bool reply;

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
	/* The base subject (RFC 5256 2.1) is its own base subject, and
	 * no longer than the text it came from. */
	{
		char *base = imap_base_subject(arg->str, &reply);
		char *again = imap_base_subject(base, &reply);

		if (strlen(base) > arg->len || strcmp(base, again) != 0 ||
		    reply)
			abort();
		free(base);
		free(again);
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

/* RFC 3501 6.3.8 as written, by backtracking (memo[][] keeps it from
 * taking exponential time); "INBOX" as the first level of a name
 * matches in any case. memo: 0 not known, 1 no match, 2 match. */
static bool
naive_match(const char *pattern, size_t i, const char *name, size_t j,
    size_t inbox_len, char sep,
    unsigned char memo[FUZZ_MATCH_PATTERN_MAX + 1][FUZZ_MATCH_NAME_MAX + 1])
{
	const char *p = pattern + i, *n = name + j;
	bool r;

	if (memo[i][j] != 0)
		return memo[i][j] == 2;
	if (*p == '\0') {
		r = *n == '\0';
	} else if (*p == '*' || *p == '%') {
		r = naive_match(pattern, i + 1, name, j, inbox_len, sep, memo) ||
		    (*n != '\0' && (*p == '*' || *n != sep) &&
		    naive_match(pattern, i, name, j + 1, inbox_len, sep, memo));
	} else {
		r = *n != '\0' && (*p == *n || (j < inbox_len &&
		    *p >= 'a' && *p <= 'z' && *n == *p - 'a' + 'A')) &&
		    naive_match(pattern, i + 1, name, j + 1, inbox_len, sep,
		    memo);
	}
	memo[i][j] = r ? 2 : 1;
	return r;
}

/* Each text argument as a LIST pattern against the next one as a
 * name (LIST's reference and pattern are such a pair, the other way
 * round), and every name against "*" and itself. */
static void
check_match(const struct imap_arg *args, unsigned int count)
{
	for (unsigned int i = 0; i < count; i++) {
		const struct imap_arg *a = &args[i], *b = &args[i + 1];
		unsigned char memo[FUZZ_MATCH_PATTERN_MAX + 1]
		    [FUZZ_MATCH_NAME_MAX + 1];
		size_t inbox_len;
		bool got;

		if (a->str == NULL || a->type == IMAP_ARG_SECTION ||
		    strlen(a->str) != a->len)
			continue;
		if (a->len <= FOLDER_NAME_MAX &&
		    (!imap_match("*", a->str, '.') ||
		    (strpbrk(a->str, "*%") == NULL &&
		    !imap_match(a->str, a->str, '.'))))
			abort();
		if (i + 1 == count || b->str == NULL ||
		    b->type == IMAP_ARG_SECTION || strlen(b->str) != b->len)
			continue;
		got = imap_match(a->str, b->str, '.');
		if (a->len > FUZZ_MATCH_PATTERN_MAX ||
		    b->len > FUZZ_MATCH_NAME_MAX)
			continue;
		inbox_len = strncmp(b->str, "INBOX", 5) == 0 &&
		    (b->str[5] == '\0' || b->str[5] == '.') ? 5 : 0;
		memset(memo, 0, sizeof(memo));
		if (got != naive_match(a->str, 0, b->str, 0, inbox_len, '.',
		    memo))
			abort();
	}
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
		h = hash_u64(h, a->literal8);
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

/* How a session drives the parser besides feeding it. */
struct session_model {
	bool prelogin;		/* LOGIN and AUTHENTICATE lift the limits
				   to the post-login ones, as after a
				   successful login */
	bool reject_append;	/* APPEND's synchronising literal is
				   refused (NO [TRYCREATE]) */
};

/* Feed data in pieces of chunk bytes; the hash of every result. */
static uint64_t
run(const struct imap_parser_limits *limits,
    const struct session_model *model, const uint8_t *data, size_t size,
    size_t chunk, bool check)
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
			if (r == IMAP_PARSE_NEED_CONTINUATION &&
			    model->reject_append &&
			    imap_parser_name(parser) != NULL &&
			    strcasecmp(imap_parser_name(parser), "APPEND") == 0)
				imap_parser_reject_literal(parser);
			if (r == IMAP_PARSE_DONE && model->prelogin &&
			    (strcasecmp(cmd->name, "LOGIN") == 0 ||
			    strcasecmp(cmd->name, "AUTHENTICATE") == 0)) {
				struct imap_parser_limits after;

				imap_parser_limits_default(&after, false);
				imap_parser_set_limits(parser, &after);
			}
			if (r == IMAP_PARSE_DONE) {
				h = hash_bytes(h, cmd->tag, strlen(cmd->tag));
				h = hash_bytes(h, cmd->name, strlen(cmd->name));
				h = hash_args(h, cmd->args, cmd->args_count,
				    check);
				if (check)
					check_match(cmd->args,
					    cmd->args_count);
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
	struct session_model model;
	uint64_t whole;
	size_t chunk;

	if (size < 1)
		return 0;
	/* The first byte picks the limits, the piece size and what the
	 * session does besides feeding. */
	imap_parser_limits_default(&limits, (data[0] & 1) != 0);
	if ((data[0] & 2) != 0) {
		limits.line_max = 64;
		limits.literal_max = 16;
		limits.depth_max = 3;
		limits.args_max = 8;
		/* Before login ID may go a little further. */
		if ((data[0] & 1) != 0) {
			limits.id_line_max = 128;
			limits.id_literal_max = 32;
		}
	}
	chunk = (size_t)(data[0] >> 2) % 8 + 1;
	model.prelogin = (data[0] & 1) != 0;
	model.reject_append = (data[0] & 0x20) != 0;
	data++;
	size--;

	whole = run(&limits, &model, data, size, size > 0 ? size : 1, true);
	if (run(&limits, &model, data, size, chunk, false) != whole)
		abort();
	return 0;
}
