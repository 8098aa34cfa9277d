/*
 * libFuzzer harness for the IMAP response reader of `mailbell watch` and
 * `mailbell doctor`: the input is what a server sent, cut into whole
 * responses (literals included) and each parsed into its argument tree.
 * A response must not be found in fewer bytes than it takes, the tree
 * must stay within the client's limits, and what imap_client_quote()
 * writes must parse back to the string it quoted.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/imap-client-parse.h"
#include "client/imap-client.h"

static void quote_round_trip(const char *s);

/* The QRESYNC readers (RFC 7162) on a parsed response: a UID set is
 * read in ranges that stay inside it and never come out reversed. */
static void
check_qresync(const struct imap_client_resp *resp)
{
	const struct imap_client_arg *set;
	uint64_t n;
	uint32_t lo, hi;
	size_t pos = 0, last = 0;
	bool earlier;
	int r;

	(void)imap_client_resp_code_num(resp, "HIGHESTMODSEQ", INT64_MAX, &n);
	if (resp->count >= 3)
		(void)imap_client_fetch_modseq(&resp->args[2], &n);
	if (imap_client_vanished(resp, &earlier, &set) != 1)
		return;
	while ((r = imap_client_uidset_next(set, &pos, &lo, &hi)) == 1) {
		if (lo == 0 || lo > hi || pos <= last || pos > set->len)
			abort();
		last = pos;
	}
}

/* Check an argument list and everything below it; count the nodes. */
static void
check_args(const struct imap_client_arg *args, size_t count, int depth,
    bool quote)
{
	uint32_t n;

	if (count > IMAP_CLIENT_ARGS_MAX || depth > IMAP_CLIENT_DEPTH_MAX ||
	    (count > 0 && args == NULL))
		abort();
	for (size_t i = 0; i < count; i++) {
		const struct imap_client_arg *a = &args[i];

		switch (a->type) {
		case IMAP_CLIENT_ARG_ATOM:
		case IMAP_CLIENT_ARG_NIL:
			if (a->str == NULL || strlen(a->str) != a->len)
				abort();
			/* FALLTHROUGH */
		case IMAP_CLIENT_ARG_STRING:
			if (a->str == NULL || a->str[a->len] != '\0' ||
			    a->list != NULL || a->count != 0)
				abort();
			(void)imap_client_arg_u32(a, &n);
			(void)imap_client_arg_is(a, "FETCH");
			if (quote && strlen(a->str) == a->len)
				quote_round_trip(a->str);
			break;
		case IMAP_CLIENT_ARG_LIST:
			if (a->str != NULL)
				abort();
			check_args(a->list, a->count, depth + 1, quote);
			break;
		default:
			abort();
		}
	}
}

/* "t " + the quoted string parses as one string argument, the same. */
static void
quote_round_trip(const char *s)
{
	struct imap_client_resp resp;
	char *q, *line;
	size_t len;

	if ((q = imap_client_quote(s)) == NULL)
		return;
	len = strlen(q) + 2;
	if ((line = malloc(len)) == NULL)
		abort();
	memcpy(line, "t ", 2);
	memcpy(line + 2, q, len - 2);
	imap_client_resp_parse(&resp, line, len);
	if (resp.count != 1 || resp.args[0].type != IMAP_CLIENT_ARG_STRING ||
	    strcmp(resp.args[0].str, s) != 0)
		abort();
	check_args(resp.args, resp.count, 0, false);
	imap_client_resp_free(&resp);
	free(line);
	free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_client_resp resp;
	size_t off = 0, len, text_end, len2, text_end2;
	char *line;

	while (off < size) {
		int r = imap_client_resp_find(data + off, size - off, &len,
		    &text_end);

		if (r <= 0)
			break;
		if (len == 0 || len > size - off || text_end >= len ||
		    data[off + len - 1] != '\n')
			abort();
		/* One byte short, it is not whole yet. */
		if (imap_client_resp_find(data + off, len - 1, &len2,
		    &text_end2) != 0)
			abort();
		/* The reader hands the parser its input buffer, which may
		 * end right after the response: a copy of exactly len bytes,
		 * so ASan sees any read past it. */
		if ((line = malloc(len)) == NULL)
			abort();
		memcpy(line, data + off, len);
		imap_client_resp_parse(&resp, line, text_end);
		if (resp.tag == NULL || resp.text == NULL ||
		    resp.text[resp.text_len] != '\0' ||
		    strchr(resp.tag, ' ') != NULL)
			abort();
		check_args(resp.args, resp.count, 0, true);
		check_qresync(&resp);
		imap_client_resp_free(&resp);
		if (resp.tag != NULL || resp.args != NULL)
			abort();
		free(line);
		off += len;
	}
	return 0;
}
