/* Tests of LIST/LSUB pattern matching: "*", "%", INBOX in any case, and
 * bounded work on hostile patterns. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "imap/imap-match.h"
#include "lib/limits.h"

/* One pattern tried against one name. */
struct match_case {
	const char *pattern;
	const char *name;
	char sep;
	bool match;
};

static const struct match_case cases[] = {
	/* Without wildcards: the whole name, case and all. */
	{ "", "", '.', true },
	{ "", "a", '.', false },
	{ "a", "", '.', false },
	{ "Work", "Work", '.', true },
	{ "work", "Work", '.', false },
	{ "Work", "Work.Projects", '.', false },
	{ "Work.Projects", "Work", '.', false },
	/* "*" matches anything, separators included. */
	{ "*", "", '.', true },
	{ "*", "Work.Projects.2024", '.', true },
	{ "W*", "Work.Projects", '.', true },
	{ "*s", "Work.Projects", '.', true },
	{ "Work*", "Work", '.', true },
	{ "*o*e*", "Work.Projects", '.', true },
	{ "*x*", "Work.Projects", '.', false },
	{ "**", "a.b", '.', true },
	/* "%" matches anything but the separator. */
	{ "%", "Work", '.', true },
	{ "%", "Work.Projects", '.', false },
	{ "Work.%", "Work.Projects", '.', true },
	{ "Work.%", "Work.Projects.2024", '.', false },
	{ "%.%", "Work.Projects", '.', true },
	{ "W%k", "Work", '.', true },
	{ "W%s", "Work.Projects", '.', false },
	{ "%", "", '.', true },
	{ "%*", "a.b.c", '.', true },
	{ "%.*", "a.b.c", '.', true },
	{ "%.%", "a.b.c", '.', false },
	/* another separator */
	{ "a/%", "a/b", '/', true },
	{ "a/%", "a/b/c", '/', false },
	/* INBOX matches in any case. */
	{ "inbox", "INBOX", '.', true },
	{ "InBoX", "INBOX", '.', true },
	{ "inbox.%", "INBOX.Sub", '.', true },
	{ "inb*", "INBOX", '.', true },
	/* Only the whole first level INBOX is case-insensitive. */
	{ "inbox", "INBOXES", '.', false },
	{ "inbox.sub", "INBOX.Sub", '.', false },
	{ "work", "WORK", '.', false },
};

static void
test_patterns(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (imap_match(cases[i].pattern, cases[i].name,
		    cases[i].sep) != cases[i].match)
			fail_msg("imap_match(\"%s\", \"%s\", '%c') is not %s",
			    cases[i].pattern, cases[i].name, cases[i].sep,
			    cases[i].match ? "true" : "false");
	}
}

static void
test_long_names_and_hostile_patterns(void **state)
{
	char name[FOLDER_NAME_MAX + 2];
	char pattern[IMAP_LIST_PATTERN_MAX + 1];
	clock_t t0;

	(void)state;
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_false(imap_match("*", name, '.'));	/* over FOLDER_NAME_MAX */
	name[FOLDER_NAME_MAX] = '\0';
	assert_true(imap_match("*", name, '.'));
	name[FOLDER_NAME_MAX - 1] = 'b';

	/* "*a*a*a...*c": exponential for a backtracking matcher. */
	for (size_t i = 0; i + 1 < sizeof(pattern); i += 2) {
		pattern[i] = '*';
		pattern[i + 1] = 'a';
	}
	pattern[sizeof(pattern) - 2] = 'c';
	pattern[sizeof(pattern) - 1] = '\0';
	t0 = clock();
	for (int i = 0; i < 100; i++)
		assert_false(imap_match(pattern, name, '.'));
	assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 5.0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_patterns),
		cmocka_unit_test(test_long_names_and_hostile_patterns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
