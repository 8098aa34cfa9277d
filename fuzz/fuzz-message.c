/*
 * libFuzzer harness for a message on its way to an IMAP client: the MIME
 * parser, ENVELOPE and BODY/BODYSTRUCTURE as FETCH writes them, every
 * section of every part (BINARY's decoded content too), and the SEARCH
 * tests. If the input starts with an IMAP command that parses (a FETCH
 * or SEARCH), the rest is the message and the command's attributes or
 * search keys are run over it as cmd-fetch.c and cmd-search.c would;
 * otherwise the whole input is the message. A SORT or THREAD command is
 * parsed, and the message's sort keys taken and threaded, as a copy of
 * itself too, by both algorithms. A NOTIFY SET command's arguments are
 * read as cmd-notify.c reads them.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap-fetch-format.h"
#include "imap/imap-notify-args.h"
#include "imap/imap-parser.h"
#include "imap/imap-search.h"
#include "imap/imap-sort.h"
#include "imap/imap-thread.h"
#include "lib/buf.h"
#include "store/message.h"
#include "store/store.h"

/* Part-number paths tried at most per message, and how deep. */
#define FUZZ_PARTS_MAX 64
#define FUZZ_DEPTH_MAX 6
/* Output bound, as a session's reply buffer is bounded. */
#define FUZZ_OUT_MAX (256 * 1024)

static const char *const needles[] = {
	"", "hello", "WORLD", "\xc3\xa9t\xc3\xa9", "STRASSE", "\xe2\x82\xac",
	"=?utf-8?q?x?=", "\xff\xfe",
};
static const char *const fields[] = {
	"Subject", "From", "to", "Message-ID", "Content-Type", "X-None",
};

/* RFC822.SIZE counts every bare LF as CR LF. */
static uint64_t
crlf_size(const uint8_t *data, size_t size)
{
	uint64_t n = size;

	for (size_t i = 0; i < size; i++)
		if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
			n++;
	return n;
}

static void
get_section(const struct message *msg, const uint32_t *parts, size_t count,
    enum message_section_kind kind, const char *const *names, size_t nnames)
{
	struct message_section section = {
		.parts = parts,
		.part_count = count,
		.kind = kind,
		.fields = names,
		.field_count = nnames,
	};
	struct buf out;
	const char *error;

	buf_init(&out, FUZZ_OUT_MAX);
	(void)message_section_get(msg, &section, &out, &error);
	buf_free(&out);
}

/* Every section of the part parts names, then its children's. */
static void
walk_parts(const struct message *msg, uint32_t *parts, size_t count,
    unsigned int *budget)
{
	const struct message_part *part;
	const char *error;
	struct buf out;

	if (*budget == 0)
		return;
	(*budget)--;
	part = message_part_find(msg, parts, count);
	if (part == NULL)
		return;
	buf_init(&out, FUZZ_OUT_MAX);
	(void)imap_fetch_write_body(&out, part, true);
	buf_free(&out);
	get_section(msg, parts, count, MESSAGE_SECTION_BODY, NULL, 0);
	get_section(msg, parts, count, MESSAGE_SECTION_HEADER, NULL, 0);
	get_section(msg, parts, count, MESSAGE_SECTION_TEXT, NULL, 0);
	get_section(msg, parts, count, MESSAGE_SECTION_MIME, NULL, 0);
	get_section(msg, parts, count, MESSAGE_SECTION_HEADER_FIELDS,
	    fields, 3);
	get_section(msg, parts, count, MESSAGE_SECTION_HEADER_FIELDS_NOT,
	    fields, 2);
	/* BINARY[part]: decoding only shrinks, so the content is at most
	 * the part's bytes with every one a bare LF made CRLF. */
	buf_init(&out, FUZZ_OUT_MAX);
	if (message_binary_get(msg, parts, count, &out, &error) == 0 &&
	    count > 0 &&
	    out.len > 2 * (part->raw_body_end - part->raw_body_start))
		abort();
	buf_free(&out);
	if (count == FUZZ_DEPTH_MAX)
		return;
	/* Numbers one past the last part are tried too: they must fail. */
	for (uint32_t i = 1; *budget > 0; i++) {
		parts[count] = i;
		if (message_part_find(msg, parts, count + 1) == NULL)
			break;
		walk_parts(msg, parts, count + 1, budget);
	}
}

/* What FETCH would send for each attribute, bytes only. */
static void
run_fetch(const struct message *msg, const struct imap_arg *arg)
{
	struct imap_fetch_items *items;
	struct buf out;
	const char *error;

	if (imap_fetch_items_parse(arg, &items, &error) < 0)
		return;
	buf_init(&out, FUZZ_OUT_MAX);
	for (size_t i = 0; i < items->count; i++) {
		const struct imap_fetch_item *item = &items->items[i];

		buf_reset(&out);
		switch (item->att) {
		case IMAP_FETCH_ENVELOPE:
			(void)imap_fetch_write_envelope(&out,
			    message_envelope(msg));
			break;
		case IMAP_FETCH_BODYSTRUCTURE:
		case IMAP_FETCH_BODY:
			(void)imap_fetch_write_body(&out, message_body(msg),
			    item->att == IMAP_FETCH_BODYSTRUCTURE);
			break;
		case IMAP_FETCH_SECTION:
			if (item->binary || item->binary_size) {
				(void)message_binary_get(msg,
				    item->section.parts,
				    item->section.part_count, &out, &error);
				break;
			}
			if (message_section_get(msg, &item->section, &out,
			    &error) == 0 && item->has_partial &&
			    item->partial_size == 0)
				abort();
			break;
		default:
			break;
		}
	}
	buf_free(&out);
	imap_fetch_items_free(&items);
}

/* The command's search program over the message, with everything the
 * matcher may ask for at hand: it must decide. */
static void
run_search(const struct message *msg, const struct imap_arg *args,
    unsigned int count, uint64_t size)
{
	struct imap_search *search;
	enum imap_search_error code;
	struct imap_search_msg m = {
		.seq = 2,
		.uid = 7,
		.flags = STORE_FLAG_SEEN | STORE_FLAG_FLAGGED,
		.have_info = true,
		.size = size,
		.internal_date = 1700000000,
		.msg = msg,
	};
	struct buf out;
	const char *error;

	if (imap_search_parse(args, count, &search, &code, &error) < 0)
		return;
	buf_init(&out, FUZZ_OUT_MAX);
	(void)imap_search_format(search, &out);
	buf_free(&out);
	if (imap_search_match(search, &m, 3, 9) < 0)
		abort();
	imap_search_free(&search);
}

/* The message's sort keys, and the message and a copy of it (seq 1
 * and 2, one referring to the other through its own Message-ID)
 * threaded both ways. */
static void
run_sort_thread(const struct message *msg, const struct imap_command *cmd,
    uint64_t size)
{
	struct imap_sort_msg m[2] = {
		{ .seq = 1, .uid = 3, .size = size, .arrival = 1700000000 },
		{ .seq = 2, .uid = 4, .size = size, .arrival = 1600000000 },
	};
	struct imap_sort_msg *v[2] = { &m[0], &m[1] };
	enum imap_thread_algorithm algorithm;
	struct imap_search *search;
	enum imap_search_error code;
	struct imap_sort *sort;
	const char *error;
	struct buf out;

	imap_sort_msg_fill(&m[0], msg);
	imap_sort_msg_fill(&m[1], msg);
	buf_init(&out, FUZZ_OUT_MAX);
	imap_thread_build(IMAP_THREAD_REFERENCES, v, 2, false, &out);
	if (out.len == 0)
		abort();
	buf_reset(&out);
	imap_thread_build(IMAP_THREAD_ORDEREDSUBJECT, v, 2, true, &out);
	buf_free(&out);
	if (cmd != NULL && strcasecmp(cmd->name, "SORT") == 0 &&
	    imap_sort_parse(cmd->args, cmd->args_count, &sort, &code,
	    &error) == 0) {
		imap_sort_msgs(sort, v, 2);
		if (imap_sort_cmp(sort, v[0], v[1]) >= 0)
			abort();
		imap_sort_free(&sort);
	}
	if (cmd != NULL && strcasecmp(cmd->name, "THREAD") == 0 &&
	    imap_thread_parse(cmd->args, cmd->args_count, &algorithm,
	    &search, &code, &error) == 0)
		imap_search_free(&search);
	imap_sort_msg_clear(&m[0]);
	imap_sort_msg_clear(&m[1]);
}

/* NOTIFY SET's arguments, and which events they give a few folders. */
static void
run_notify(const struct imap_command *cmd)
{
	static const char *const folders[] = { "INBOX", "Lists.a", "misc" };
	struct imap_notify_spec *spec;
	const char *verb, *error;
	bool badevent;

	if (cmd->args_count < 1 || !imap_arg_get_atom(&cmd->args[0], &verb) ||
	    strcasecmp(verb, "SET") != 0)
		return;
	if (imap_notify_args_parse(cmd->args + 1, cmd->args_count - 1, &spec,
	    &badevent, &error) < 0) {
		if (spec != NULL)
			abort();
		return;
	}
	for (size_t i = 0; spec != NULL &&
	    i < sizeof(folders) / sizeof(folders[0]); i++) {
		(void)imap_notify_spec_events(spec, folders[i], i % 2 == 0);
	}
	if (spec != NULL)
		(void)imap_notify_spec_wants_subscribed(spec);
	imap_notify_spec_free(&spec);
}

/* If data starts with a command that parses, *cmd_r and its length;
 * a synchronising literal in it is sent at once, as the client would
 * after "+". */
static size_t
parse_command(struct imap_parser *parser, const uint8_t *data, size_t size,
    const struct imap_command **cmd_r)
{
	const char *error;
	size_t consumed, off = 0;
	unsigned int rounds = 0;
	int r;

	do {
		if (++rounds > 1000)
			abort();
		r = imap_parser_feed(parser, data + off, size - off,
		    &consumed, cmd_r, &error);
		off += consumed;
	} while (r == IMAP_PARSE_NEED_CONTINUATION);
	if (r != IMAP_PARSE_DONE) {
		*cmd_r = NULL;
		return 0;
	}
	return off;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser_limits limits;
	struct imap_parser *parser;
	const struct imap_command *cmd;
	struct message *msg;
	const char *error;
	struct buf out;
	uint32_t parts[FUZZ_DEPTH_MAX + 1];
	unsigned int budget = FUZZ_PARTS_MAX;
	size_t off;
	uint64_t msize;
	time_t t;
	int zone;

	imap_parser_limits_default(&limits, false);
	parser = imap_parser_new(&limits);
	off = parse_command(parser, data, size, &cmd);
	if (cmd != NULL && strcasecmp(cmd->name, "NOTIFY") == 0)
		run_notify(cmd);
	if (message_parse(data + off, size - off, &msg, &error) < 0)
		goto out;
	msize = message_size(msg);
	if (msize != crlf_size(data + off, size - off))
		abort();

	buf_init(&out, FUZZ_OUT_MAX);
	(void)imap_fetch_write_envelope(&out, message_envelope(msg));
	buf_reset(&out);
	(void)imap_fetch_write_body(&out, message_body(msg), false);
	buf_reset(&out);
	/* BODY[] is the whole message, CRLF-normalised. */
	{
		struct message_section whole = { .kind = MESSAGE_SECTION_BODY };

		if (message_section_get(msg, &whole, &out, &error) == 0 &&
		    out.len != msize)
			abort();
	}
	buf_free(&out);
	walk_parts(msg, parts, 0, &budget);

	for (size_t i = 0; i < sizeof(needles) / sizeof(needles[0]); i++) {
		(void)message_search_header(msg,
		    fields[i % (sizeof(fields) / sizeof(fields[0]))],
		    needles[i]);
		(void)message_search_address(msg,
		    fields[i % (sizeof(fields) / sizeof(fields[0]))],
		    needles[i]);
		(void)message_search_body(msg, needles[i]);
		(void)message_search_text(msg, needles[i]);
	}
	(void)message_sent_date(msg, &t, &zone);

	if (cmd != NULL && strcasecmp(cmd->name, "UID") == 0 &&
	    cmd->args_count > 0) {
		/* UID FETCH set items, UID SEARCH keys: skip "UID". */
		const char *verb;

		if (imap_arg_get_atom(&cmd->args[0], &verb)) {
			if (strcasecmp(verb, "FETCH") == 0 &&
			    cmd->args_count == 3)
				run_fetch(msg, &cmd->args[2]);
			else if (strcasecmp(verb, "SEARCH") == 0)
				run_search(msg, cmd->args + 1,
				    cmd->args_count - 1, msize);
		}
	} else if (cmd != NULL && strcasecmp(cmd->name, "FETCH") == 0 &&
	    cmd->args_count == 2) {
		run_fetch(msg, &cmd->args[1]);
	} else if (cmd != NULL && strcasecmp(cmd->name, "SEARCH") == 0) {
		run_search(msg, cmd->args, cmd->args_count, msize);
	}
	run_sort_thread(msg, cmd, msize);
	message_free(&msg);
out:
	imap_parser_free(&parser);
	return 0;
}
