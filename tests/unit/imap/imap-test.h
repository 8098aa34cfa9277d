/*
 * Helpers shared by the imap unit tests. Header-only so each test stays
 * one file.
 */
#ifndef MB_TESTS_IMAP_TEST_H
#define MB_TESTS_IMAP_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "imap/imap-parser.h"
#include "lib/buf.h"

/*
 * Parse "a <verb> <args>" CR LF, which must be one complete command
 * (literals as {n+}), with a new parser with the post-login limits.
 * The command lives in *parser_r until imap_parser_free().
 */
static inline const struct imap_command *
it_parse_command(struct imap_parser **parser_r, const char *verb,
    const char *args)
{
	struct imap_parser_limits limits;
	const struct imap_command *cmd;
	struct buf line;
	size_t consumed;
	const char *error;

	imap_parser_limits_default(&limits, false);
	*parser_r = imap_parser_new(&limits);
	buf_init(&line, 0);
	buf_printf(&line, "a %s %s\r\n", verb, args);
	assert_int_equal(imap_parser_feed(*parser_r, line.data, line.len,
	    &consumed, &cmd, &error), IMAP_PARSE_DONE);
	buf_free(&line);
	return cmd;
}

/* One case of a function from a text and a number to a text. */
struct it_case {
	const char *in;
	uint32_t n;
	const char *want;
};

/*
 * fn(in, n) gives want for each of the count cases; what fn returns is
 * malloc()ed, and freed here.
 */
static inline void
it_check_cases(char *(*fn)(const char *in, uint32_t n),
    const struct it_case *cases, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		char *got = fn(cases[i].in, cases[i].n);

		if (strcmp(got, cases[i].want) != 0)
			fail_msg("\"%s\", %u: got \"%s\", expected \"%s\"",
			    cases[i].in, (unsigned int)cases[i].n, got,
			    cases[i].want);
		free(got);
	}
}

#endif
