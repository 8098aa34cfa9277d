/*
 * libFuzzer harness for the LMTP command parser and DATA decoder. The
 * input is one client's byte stream: commands until DATA, then message
 * data up to the dot, then commands again. It is parsed twice, whole and
 * in pieces whose sizes come from the input, and the two runs must agree
 * on every command, error and decoded message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lmtp/lmtp-parser.h"

/* Small limits so the fuzzer reaches them quickly. */
#define FUZZ_LINE_MAX 64
#define FUZZ_MESSAGE_MAX 256
#define FUZZ_DATA_LINE_MAX 80

static uint64_t
hash_bytes(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static uint64_t
hash_str(uint64_t h, const char *s)
{
	return hash_bytes(h, s, strlen(s) + 1);
}

static uint64_t
hash_command(uint64_t h, int ret, const struct lmtp_command *cmd)
{
	h = hash_bytes(h, &ret, sizeof(ret));
	h = hash_bytes(h, &cmd->verb, sizeof(cmd->verb));
	if (ret < 0) {
		if (cmd->error_text == NULL)
			abort();
		return hash_bytes(h, &cmd->error, sizeof(cmd->error));
	}
	h = hash_str(h, cmd->arg);
	if (cmd->verb == LMTP_VERB_MAIL || cmd->verb == LMTP_VERB_RCPT) {
		/* Paths are bounded and hold printable ASCII only: they go
		 * into header lines. */
		if (strlen(cmd->path) > ADDRESS_MAX ||
		    strlen(cmd->path_raw) > ADDRESS_MAX ||
		    (cmd->null_path && cmd->path[0] != '\0'))
			abort();
		for (const char *p = cmd->path_raw; *p != '\0'; p++)
			if ((unsigned char)*p < ' ' || (unsigned char)*p >= 0x7f)
				abort();
		h = hash_str(h, cmd->path);
		h = hash_str(h, cmd->path_raw);
		h = hash_bytes(h, &cmd->size, sizeof(cmd->size));
		h = hash_bytes(h, &cmd->body, sizeof(cmd->body));
	}
	return h;
}

static uint64_t
hash_message(uint64_t h, struct lmtp_data *data)
{
	enum lmtp_data_error error = lmtp_data_error(data);
	unsigned char *msg;
	size_t len;

	h = hash_bytes(h, &error, sizeof(error));
	msg = lmtp_data_steal(data, &len);
	if (len > FUZZ_MESSAGE_MAX)
		abort();
	if (error == LMTP_DATA_OK) {
		/* Every line of a stored message ends in CR LF. */
		if (len > 0 && (len < 2 || msg[len - 2] != '\r' ||
		    msg[len - 1] != '\n'))
			abort();
		for (size_t i = 0; i < len; i++)
			if (msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r'))
				abort();
		h = hash_bytes(h, msg, len);
	}
	free(msg);
	return h;
}

/* Parse in pieces of the sizes steps[] cycles through (0: whole). */
static uint64_t
run(const unsigned char *in, size_t size, const unsigned char *steps,
    size_t nsteps)
{
	struct lmtp_parser *parser = lmtp_parser_new(FUZZ_LINE_MAX);
	struct lmtp_data *data = lmtp_data_new(FUZZ_MESSAGE_MAX,
	    FUZZ_DATA_LINE_MAX);
	struct lmtp_command cmd;
	size_t off = 0, avail = 0, step = 0, consumed;
	bool in_data = false;
	uint64_t h = 0xcbf29ce484222325ULL;
	int ret;

	while (off < size) {
		if (avail == 0) {
			avail = nsteps == 0 ? size - off :
			    (size_t)steps[step++ % nsteps] % 17 + 1;
			if (avail > size - off)
				avail = size - off;
		}
		if (in_data) {
			ret = lmtp_data_feed(data, in + off, avail, &consumed);
			if (ret == 1) {
				h = hash_message(h, data);
				in_data = false;
			}
		} else {
			ret = lmtp_parser_feed(parser, in + off, avail,
			    &consumed, &cmd);
			if (ret != 0)
				h = hash_command(h, ret, &cmd);
			if (ret == 1 && cmd.verb == LMTP_VERB_DATA)
				in_data = true;
		}
		if (consumed > avail || (ret == 0 && consumed != avail))
			abort();
		off += consumed;
		avail -= consumed;
	}
	lmtp_parser_free(&parser);
	lmtp_data_free(&data);
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
