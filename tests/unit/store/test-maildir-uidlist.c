/* Unit tests for the per-folder UID list (maildir-uidlist.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "store/maildir-uidlist.h"
#include "store-test.h"

static void
test_parse_format(void **state)
{
	const char *text = "mailbell-uidlist 1 1700000000 10\n"
	    "3 a.M1P1Q1.h,S=1\n"
	    "7 b with space\n";
	struct maildir_uidlist *list;
	const char *error;
	struct buf b;

	(void)state;
	assert_int_equal(maildir_uidlist_parse(text, strlen(text), &list,
	    &error), 0);
	assert_int_equal(list->uidvalidity, 1700000000);
	assert_int_equal(list->uidnext, 10);
	assert_int_equal(list->count, 2);
	assert_int_equal(list->uids[1], 7);
	assert_string_equal(list->bases[1], "b with space");
	buf_init(&b, 0);
	maildir_uidlist_format(list, &b);
	assert_string_equal(buf_cstr(&b), text);
	buf_free(&b);
	maildir_uidlist_free(&list);
	assert_null(list);
}

static void
test_parse_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"dovecot uidlist\n",
		"mailbell-uidlist 1 0 1\n",		/* UIDVALIDITY 0 */
		"mailbell-uidlist 1 5 1",		/* no newline */
		"mailbell-uidlist 1 5 3\n3 a\n",	/* UID >= UIDNEXT */
		"mailbell-uidlist 1 5 9\n3 a\n3 b\n",	/* not ascending */
		"mailbell-uidlist 1 5 9\n3 a\n2 b\n",
		"mailbell-uidlist 1 5 9\n3 a",		/* truncated line */
		"mailbell-uidlist 1 5 9\n3 \n",		/* empty name */
		"mailbell-uidlist 1 5 9\n3 a/b\n",
		"mailbell-uidlist 1 5 9\nx a\n",
		"mailbell-uidlist 1 5 99999999999\n",
	};
	struct maildir_uidlist *list;
	const char *error;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error = NULL;
		assert_int_equal(maildir_uidlist_parse(bad[i], strlen(bad[i]),
		    &list, &error), -1);
		assert_non_null(error);
	}
}

static void
test_append_filter(void **state)
{
	struct maildir_uidlist *list = maildir_uidlist_new(9), *copy;
	bool keep[3] = { true, false, true };
	uint32_t uid;

	(void)state;
	assert_int_equal(maildir_uidlist_append(list, "aXX", 1, &uid), 0);
	assert_int_equal(uid, 1);
	assert_int_equal(maildir_uidlist_append(list, "b", 1, &uid), 0);
	assert_int_equal(maildir_uidlist_append(list, "c", 1, &uid), 0);
	assert_int_equal(uid, 3);
	maildir_uidlist_filter(list, keep);
	assert_int_equal(list->count, 2);
	assert_string_equal(list->bases[0], "a");
	assert_string_equal(list->bases[1], "c");
	assert_int_equal(list->uids[1], 3);
	/* UIDs are never reused. */
	assert_int_equal(maildir_uidlist_append(list, "d", 1, &uid), 0);
	assert_int_equal(uid, 4);
	copy = maildir_uidlist_dup(list);
	assert_int_equal(copy->count, 3);
	assert_int_equal(copy->uidnext, 5);
	maildir_uidlist_free(&copy);
	list->uidnext = UINT32_MAX;
	assert_int_equal(maildir_uidlist_append(list, "e", 1, &uid), -1);
	maildir_uidlist_free(&list);
}

static void
test_uidvalidity_increases(void **state)
{
	uint32_t a, b, c;

	(void)state;
	a = maildir_uidvalidity_next(0);
	b = maildir_uidvalidity_next(0);
	c = maildir_uidvalidity_next(b + 1000);
	assert_true(a > 0);
	assert_true(b > a);
	assert_true(c > b + 1000);
}

static void
test_write_read(void **state)
{
	char *dir = st_tmpdir(), path[4096];
	struct maildir_uidlist *list = maildir_uidlist_new(77), *back;
	const char *error;
	uint32_t uid;

	(void)state;
	assert_int_equal(maildir_uidlist_read(dir, &back, &error), 0);
	assert_int_equal(maildir_uidlist_append(list, "m1", 2, &uid), 0);
	assert_int_equal(maildir_uidlist_write(dir, list, dir, &error), 0);
	assert_int_equal(maildir_uidlist_read(dir, &back, &error), 1);
	assert_int_equal(back->uidvalidity, 77);
	assert_int_equal(back->count, 1);
	assert_string_equal(back->bases[0], "m1");
	maildir_uidlist_free(&back);
	snprintf(path, sizeof(path), "%s/%s", dir, MAILDIR_UIDLIST_TMP);
	assert_int_equal(access(path, F_OK), -1);

	/* Corrupt contents are told apart from a missing list. */
	snprintf(path, sizeof(path), "%s/%s", dir, MAILDIR_UIDLIST_FILE);
	st_write(path, "garbage\n");
	assert_int_equal(maildir_uidlist_read(dir, &back, &error), -2);
	maildir_uidlist_free(&list);
	st_rmtree(dir);
}

/* A writer that died between writing the temporary file and renaming
 * it leaves the old list in force, and the next write succeeds. */
static void
test_crash_before_rename(void **state)
{
	char *dir = st_tmpdir(), path[4096];
	struct maildir_uidlist *list = maildir_uidlist_new(5), *back;
	const char *error;
	uint32_t uid;

	(void)state;
	assert_int_equal(maildir_uidlist_append(list, "old", 3, &uid), 0);
	assert_int_equal(maildir_uidlist_write(dir, list, NULL, &error), 0);

	/* A complete new list written but never renamed... */
	snprintf(path, sizeof(path), "%s/%s", dir, MAILDIR_UIDLIST_TMP);
	st_write(path, "mailbell-uidlist 1 5 3\n1 old\n2 new\n");
	assert_int_equal(maildir_uidlist_read(dir, &back, &error), 1);
	assert_int_equal(back->count, 1);
	assert_int_equal(back->uidnext, 2);
	maildir_uidlist_free(&back);
	/* ...or a torn one. */
	st_write(path, "mailbell-uidlist 1 5 3\n1 ol");
	assert_int_equal(maildir_uidlist_read(dir, &back, &error), 1);
	assert_int_equal(back->count, 1);
	assert_string_equal(back->bases[0], "old");
	maildir_uidlist_free(&back);

	/* The stale temporary file does not stop the next writer. */
	assert_int_equal(maildir_uidlist_append(list, "next", 4, &uid), 0);
	assert_int_equal(maildir_uidlist_write(dir, list, NULL, &error), 0);
	assert_int_equal(maildir_uidlist_read(dir, &back, &error), 1);
	assert_int_equal(back->count, 2);
	assert_string_equal(back->bases[1], "next");
	maildir_uidlist_free(&back);
	maildir_uidlist_free(&list);
	st_rmtree(dir);
}

/* A write that fails leaves the old list intact. */
static void
test_write_failure_keeps_old(void **state)
{
	char *dir = st_tmpdir(), path[4096];
	struct maildir_uidlist *list = maildir_uidlist_new(5), *back;
	const char *error = NULL;
	uint32_t uid;

	(void)state;
	assert_int_equal(maildir_uidlist_append(list, "a", 1, &uid), 0);
	assert_int_equal(maildir_uidlist_write(dir, list, NULL, &error), 0);
	/* A directory where the temporary file goes cannot be replaced. */
	snprintf(path, sizeof(path), "%s/%s", dir, MAILDIR_UIDLIST_TMP);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(maildir_uidlist_append(list, "b", 1, &uid), 0);
	assert_int_equal(maildir_uidlist_write(dir, list, NULL, &error), -1);
	assert_non_null(error);
	assert_int_equal(maildir_uidlist_read(dir, &back, &error), 1);
	assert_int_equal(back->count, 1);
	maildir_uidlist_free(&back);
	maildir_uidlist_free(&list);
	st_rmtree(dir);
}

static void
test_lock(void **state)
{
	char *dir = st_tmpdir();
	const char *error;
	int fd;

	(void)state;
	fd = maildir_uidlist_lock(dir, &error);
	assert_true(fd >= 0);
	maildir_uidlist_unlock(&fd);
	assert_int_equal(fd, -1);
	maildir_uidlist_unlock(&fd);
	fd = maildir_uidlist_lock("/nonexistent/dir", &error);
	assert_int_equal(fd, -1);
	st_rmtree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_format),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_append_filter),
		cmocka_unit_test(test_uidvalidity_increases),
		cmocka_unit_test(test_write_read),
		cmocka_unit_test(test_crash_before_rename),
		cmocka_unit_test(test_write_failure_keeps_old),
		cmocka_unit_test(test_lock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
