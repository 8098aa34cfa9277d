/* Tests of LIST/LSUB pattern matching: "*", "%", INBOX in any case, and
 * bounded work on hostile patterns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "imap/imap-match.h"
#include "lib/limits.h"

static void
test_literal(void **state)
{
	(void)state;
	assert_true(imap_match("", "", '.'));
	assert_false(imap_match("", "a", '.'));
	assert_false(imap_match("a", "", '.'));
	assert_true(imap_match("Work", "Work", '.'));
	assert_false(imap_match("work", "Work", '.'));
	assert_false(imap_match("Work", "Work.Projects", '.'));
	assert_false(imap_match("Work.Projects", "Work", '.'));
}

static void
test_star(void **state)
{
	(void)state;
	assert_true(imap_match("*", "", '.'));
	assert_true(imap_match("*", "Work.Projects.2024", '.'));
	assert_true(imap_match("W*", "Work.Projects", '.'));
	assert_true(imap_match("*s", "Work.Projects", '.'));
	assert_true(imap_match("Work*", "Work", '.'));
	assert_true(imap_match("*o*e*", "Work.Projects", '.'));
	assert_false(imap_match("*x*", "Work.Projects", '.'));
	assert_true(imap_match("**", "a.b", '.'));
}

static void
test_percent(void **state)
{
	(void)state;
	assert_true(imap_match("%", "Work", '.'));
	assert_false(imap_match("%", "Work.Projects", '.'));
	assert_true(imap_match("Work.%", "Work.Projects", '.'));
	assert_false(imap_match("Work.%", "Work.Projects.2024", '.'));
	assert_true(imap_match("%.%", "Work.Projects", '.'));
	assert_true(imap_match("W%k", "Work", '.'));
	assert_false(imap_match("W%s", "Work.Projects", '.'));
	assert_true(imap_match("%", "", '.'));
	assert_true(imap_match("%*", "a.b.c", '.'));
	assert_true(imap_match("%.*", "a.b.c", '.'));
	assert_false(imap_match("%.%", "a.b.c", '.'));
	/* another separator */
	assert_true(imap_match("a/%", "a/b", '/'));
	assert_false(imap_match("a/%", "a/b/c", '/'));
}

static void
test_inbox_any_case(void **state)
{
	(void)state;
	assert_true(imap_match("inbox", "INBOX", '.'));
	assert_true(imap_match("InBoX", "INBOX", '.'));
	assert_true(imap_match("inbox.%", "INBOX.Sub", '.'));
	assert_true(imap_match("inb*", "INBOX", '.'));
	/* Only the whole first level INBOX is case-insensitive. */
	assert_false(imap_match("inbox", "INBOXES", '.'));
	assert_false(imap_match("inbox.sub", "INBOX.Sub", '.'));
	assert_false(imap_match("work", "WORK", '.'));
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
		cmocka_unit_test(test_literal),
		cmocka_unit_test(test_star),
		cmocka_unit_test(test_percent),
		cmocka_unit_test(test_inbox_any_case),
		cmocka_unit_test(test_long_names_and_hostile_patterns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
