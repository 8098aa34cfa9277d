/* Unit tests for a folder's keywords file (maildir-keywords.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/maildir-keywords.h"
#include "../tmpdir-test.h"

static char dir[PATH_MAX];

static void
parse_str(const char *s, struct maildir_keywords *kw)
{
	memset(kw, 0, sizeof(*kw));
	maildir_keywords_parse(s, strlen(s), kw);
}

static void
test_parse_dovecot(void **state)
{
	struct maildir_keywords kw;

	(void)state;
	/* As Dovecot writes it: "<index> <name>\n", index 0 is 'a'. */
	parse_str("0 $label1\n1 Junk\n3 $Forwarded\n", &kw);
	assert_string_equal(kw.names[0], "$label1");
	assert_string_equal(kw.names[1], "Junk");
	assert_null(kw.names[2]);
	assert_string_equal(kw.names[3], "$Forwarded");
	assert_int_equal(maildir_keywords_count(&kw), 3);
	assert_int_equal(maildir_keywords_find(&kw, "junk"), 1);
	assert_int_equal(maildir_keywords_find(&kw, "$LABEL1"), 0);
	assert_int_equal(maildir_keywords_find(&kw, "NonJunk"), -1);
	maildir_keywords_clear(&kw);
	assert_int_equal(maildir_keywords_count(&kw), 0);
}

static void
test_parse_bad_lines(void **state)
{
	struct maildir_keywords kw;

	(void)state;
	/* Skipped: no space, no index, index 26 and beyond, a name no
	 * atom can carry, an empty name. No final LF is needed. */
	parse_str("junk\n x\n26 Over\n99999999999 Big\n2 a(b\n4 \n"
	    "25 Last", &kw);
	assert_int_equal(maildir_keywords_count(&kw), 1);
	assert_string_equal(kw.names[25], "Last");
	maildir_keywords_clear(&kw);
	/* A later line for an index wins. */
	parse_str("0 One\n0 Two\n", &kw);
	assert_string_equal(kw.names[0], "Two");
	maildir_keywords_clear(&kw);
}

static void
test_format_add(void **state)
{
	struct maildir_keywords kw;
	char name[16], *s;
	bool added;
	int i;

	(void)state;
	parse_str("1 Junk\n", &kw);
	assert_int_equal(maildir_keywords_add(&kw, "JUNK", &added), 1);
	assert_false(added);
	assert_int_equal(maildir_keywords_add(&kw, "$label1", &added), 0);
	assert_true(added);
	assert_int_equal(maildir_keywords_add(&kw, "NonJunk", &added), 2);
	s = maildir_keywords_format(&kw);
	assert_string_equal(s, "0 $label1\n1 Junk\n2 NonJunk\n");
	free(s);
	for (i = 3; i < KEYWORDS_MAX; i++) {
		snprintf(name, sizeof(name), "k%d", i);
		assert_int_equal(maildir_keywords_add(&kw, name, &added), i);
	}
	assert_int_equal(maildir_keywords_add(&kw, "more", &added), -1);
	assert_false(added);
	assert_int_equal(maildir_keywords_count(&kw), KEYWORDS_MAX);
	maildir_keywords_clear(&kw);
}

static void
test_valid(void **state)
{
	char long_name[KEYWORD_NAME_MAX + 2];

	(void)state;
	assert_true(maildir_keyword_valid("$label1"));
	assert_true(maildir_keyword_valid("NonJunk"));
	assert_false(maildir_keyword_valid(""));
	assert_false(maildir_keyword_valid("\\Seen"));
	assert_false(maildir_keyword_valid("a b"));
	assert_false(maildir_keyword_valid("a*"));
	assert_false(maildir_keyword_valid("a]"));
	assert_false(maildir_keyword_valid("caf\xc3\xa9"));
	memset(long_name, 'k', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_false(maildir_keyword_valid(long_name));
	long_name[KEYWORD_NAME_MAX] = '\0';
	assert_true(maildir_keyword_valid(long_name));
}

static void
test_read_write(void **state)
{
	struct maildir_keywords kw = { 0 }, back = { 0 };
	char path[PATH_MAX + 32], buf[128];
	const char *error;
	struct stat st;
	bool added;
	FILE *fp;
	size_t n;

	(void)state;
	assert_int_equal(mkdir(dir, 0700), 0);
	/* No file: no keywords. */
	assert_int_equal(maildir_keywords_read(dir, &back, &error), 0);
	assert_int_equal(maildir_keywords_count(&back), 0);

	(void)maildir_keywords_add(&kw, "$label1", &added);
	(void)maildir_keywords_add(&kw, "Junk", &added);
	assert_int_equal(maildir_keywords_write(dir, &kw, &error), 0);
	snprintf(path, sizeof(path), "%s/dovecot-keywords", dir);
	fp = fopen(path, "r");
	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	assert_string_equal(buf, "0 $label1\n1 Junk\n");
	/* No temporary file left behind. */
	snprintf(path, sizeof(path), "%s/dovecot-keywords.tmp", dir);
	assert_int_equal(stat(path, &st), -1);

	assert_int_equal(maildir_keywords_read(dir, &back, &error), 0);
	assert_string_equal(back.names[0], "$label1");
	assert_string_equal(back.names[1], "Junk");
	assert_int_equal(maildir_keywords_count(&back), 2);
	maildir_keywords_clear(&kw);
	maildir_keywords_clear(&back);
}

static int
setup(void **state)
{
	(void)state;
	return test_tmpdir_make(dir, sizeof(dir), "folder");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_dovecot),
		cmocka_unit_test(test_parse_bad_lines),
		cmocka_unit_test(test_format_add),
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_read_write),
	};

	return cmocka_run_group_tests(tests, setup, test_tmpdir_remove);
}
