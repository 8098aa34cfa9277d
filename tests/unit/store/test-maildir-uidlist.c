/* Unit tests for the per-folder UID list (maildir-uidlist.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/buf.h"
#include "lib/limits.h"
#include "store/log-line.h"
#include "store/maildir-uidlist.h"
#include "store-test.h"

/* A list written by an earlier version (format 1) still opens, and is
 * written whole in the current format at its first change. */
static void
test_parse_v1(void **state)
{
	const char *text = "mailbell-uidlist 1 1700000000 10\n"
	    "3 a.M1P1Q1.h,S=1\n"
	    "7 b with space\n";
	struct maildir_uidlist *list, *back;
	const char *error;
	size_t valid;
	struct buf b;

	(void)state;
	assert_int_equal(maildir_uidlist_parse(text, strlen(text), &list,
	    &valid, &error), 0);
	assert_int_equal(valid, strlen(text));
	assert_int_equal(list->uidvalidity, 1700000000);
	assert_int_equal(list->uidnext, 10);
	assert_int_equal(list->count, 2);
	assert_int_equal(list->uids[1], 7);
	assert_string_equal(list->bases[1], "b with space");
	assert_true(maildir_uidlist_needs_rewrite(list));
	buf_init(&b, 0);
	maildir_uidlist_format(list, &b);
	assert_memory_equal(b.data, "mailbell-uidlist 2 1700000000 10 ", 33);
	assert_int_equal(maildir_uidlist_parse((const char *)b.data, b.len,
	    &back, &valid, &error), 0);
	assert_int_equal(valid, b.len);
	assert_false(maildir_uidlist_needs_rewrite(back));
	assert_int_equal(back->uidnext, 10);
	assert_int_equal(back->count, 2);
	assert_int_equal(back->uids[0], 3);
	assert_string_equal(back->bases[1], "b with space");
	buf_free(&b);
	maildir_uidlist_free(&back);
	maildir_uidlist_free(&list);
	assert_null(list);
}

/* Format 2 text: the header and records given, each closed with its
 * check. */
static char *
v2_text(const char *const *lines, size_t count)
{
	struct buf b;
	size_t i, start;
	char *text;

	buf_init(&b, 0);
	for (i = 0; i < count; i++) {
		start = b.len;
		(void)buf_append_str(&b, lines[i]);
		log_line_close(&b, start);
	}
	text = strdup(buf_cstr(&b));
	buf_free(&b);
	return text;
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
		"mailbell-uidlist 2 5 9\n",		/* no check */
	};
	/* Format 2 with right checks but wrong contents. */
	static const char *const bad2[][3] = {
		{ "mailbell-uidlist 2 0 1" },
		{ "mailbell-uidlist 2 5 0" },
		{ "mailbell-uidlist 2 5 1 extra" },
		{ "mailbell-uidlist 2 5 1", "+ 3 a", "+ 3 b" },
		{ "mailbell-uidlist 2 5 1", "+ 3 a", "+ 2 b" },
		{ "mailbell-uidlist 2 5 1", "+ 3 " },
		{ "mailbell-uidlist 2 5 1", "+ 3 a/b" },
		{ "mailbell-uidlist 2 5 1", "+ 4294967295 a" },
		{ "mailbell-uidlist 2 5 1", "- 3 a" },
		{ "mailbell-uidlist 2 5 1", "* 3 a" },
		{ "mailbell-uidlist 2 5 1", "+ 0 a" },
	};
	struct maildir_uidlist *list;
	const char *error;
	size_t i, n, valid;
	char *text;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error = NULL;
		assert_int_equal(maildir_uidlist_parse(bad[i], strlen(bad[i]),
		    &list, &valid, &error), -1);
		assert_non_null(error);
	}
	for (i = 0; i < sizeof(bad2) / sizeof(bad2[0]); i++) {
		for (n = 0; n < 3 && bad2[i][n] != NULL; n++)
			;
		text = v2_text(bad2[i], n);
		error = NULL;
		assert_int_equal(maildir_uidlist_parse(text, strlen(text),
		    &list, &valid, &error), -1);
		assert_non_null(error);
		free(text);
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
	/* (a list of either format; the temporary one is never read) */
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

/* A rewrite that fails leaves the old list intact. */
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
	list->rewrite = true;
	assert_int_equal(maildir_uidlist_write(dir, list, NULL, &error), -1);
	assert_non_null(error);
	assert_true(maildir_uidlist_needs_rewrite(list));
	assert_int_equal(maildir_uidlist_read(dir, &back, &error), 1);
	assert_int_equal(back->count, 1);
	maildir_uidlist_free(&back);
	maildir_uidlist_free(&list);
	st_rmtree(dir);
}

static void
list_path(char *buf, size_t size, const char *dir)
{
	assert_true((size_t)snprintf(buf, size, "%s/%s", dir,
	    MAILDIR_UIDLIST_FILE) < size);
}

static void
write_bytes(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Changes are appended to the file, not written whole: the file keeps
 * its inode and its first bytes, and reads back as the list. */
static void
test_append_reopen(void **state)
{
	char *dir = st_tmpdir(), path[4096], *before, *after;
	struct maildir_uidlist *list = maildir_uidlist_new(42), *back;
	bool keep[2] = { false, true };
	size_t len_before = 0, len_after = 0;
	const char *error;
	struct stat st1, st2;
	uint32_t uid;

	(void)state;
	list_path(path, sizeof(path), dir);
	assert_int_equal(maildir_uidlist_append(list, "m1", 2, &uid), 0);
	assert_int_equal(maildir_uidlist_write(dir, list, NULL, &error), 0);
	assert_false(maildir_uidlist_needs_rewrite(list));
	assert_int_equal(list->pending.len, 0);
	before = st_read(path, &len_before);
	assert_int_equal(stat(path, &st1), 0);

	assert_int_equal(maildir_uidlist_append(list, "m2", 2, &uid), 0);
	assert_int_equal(maildir_uidlist_write(dir, list, NULL, &error), 0);
	maildir_uidlist_filter(list, keep);
	assert_int_equal(maildir_uidlist_append(list, "m 3", 3, &uid), 0);
	assert_int_equal(uid, 3);
	assert_int_equal(maildir_uidlist_write(dir, list, NULL, &error), 0);
	after = st_read(path, &len_after);
	assert_int_equal(stat(path, &st2), 0);
	assert_true(st1.st_ino == st2.st_ino);
	assert_true(len_after > len_before);
	assert_memory_equal(before, after, len_before);
	/* "+ 2 m2", "- 1", "+ 3 m 3", each with its check. */
	assert_int_equal(len_after - len_before, 3 * LOG_LINE_CHECK_LEN +
	    3 + strlen("+ 2 m2") + strlen("- 1") + strlen("+ 3 m 3"));

	assert_int_equal(maildir_uidlist_read(dir, &back, &error), 1);
	assert_int_equal(back->uidvalidity, 42);
	assert_int_equal(back->uidnext, 4);
	assert_int_equal(back->count, 2);
	assert_int_equal(back->uids[0], 2);
	assert_string_equal(back->bases[0], "m2");
	assert_int_equal(back->uids[1], 3);
	assert_string_equal(back->bases[1], "m 3");
	assert_int_equal(back->dead, 2);
	assert_false(maildir_uidlist_needs_rewrite(back));
	maildir_uidlist_free(&back);
	free(before);
	free(after);
	maildir_uidlist_free(&list);
	st_rmtree(dir);
}

/*
 * A crash in the middle of an append leaves its records cut anywhere:
 * cut the file at every length within the last append and reopen. The
 * records before it stay, the torn rest is cut off the file, the next
 * UID is above every UID given before (5, whose message is gone, too),
 * and an append after that reads back whole.
 */
static void
test_torn_tail_every_offset(void **state)
{
	char *dir = st_tmpdir(), path[4096], *full, *now;
	struct maildir_uidlist *list = maildir_uidlist_new(7), *back;
	bool keep[5] = { true, true, true, true, false };
	size_t good = 0, len = 0, cut, now_len = 0;
	const char *error;
	uint32_t uid;
	int i;

	(void)state;
	list_path(path, sizeof(path), dir);
	for (i = 0; i < 5; i++)
		assert_int_equal(maildir_uidlist_append(list, "msg", 3, &uid),
		    0);
	assert_int_equal(maildir_uidlist_write(dir, list, NULL, &error), 0);
	maildir_uidlist_filter(list, keep);
	assert_int_equal(maildir_uidlist_write(dir, list, NULL, &error), 0);
	free(st_read(path, &good));
	/* The last append: two messages in one round. */
	assert_int_equal(maildir_uidlist_append(list, "six", 3, &uid), 0);
	assert_int_equal(maildir_uidlist_append(list, "seven", 5, &uid), 0);
	assert_int_equal(maildir_uidlist_write(dir, list, NULL, &error), 0);
	full = st_read(path, &len);

	for (cut = good; cut <= len; cut++) {
		write_bytes(path, full, cut);
		assert_int_equal(maildir_uidlist_read(dir, &back, &error), 1);
		assert_int_equal(back->uidvalidity, 7);
		assert_true(back->count >= 4);
		assert_int_equal(back->uids[3], 4);
		assert_true(back->uidnext >= 6);
		assert_true(back->uids[back->count - 1] < back->uidnext);
		if (cut == len)
			assert_int_equal(back->uidnext, 8);
		/* Only whole records are left in the file. */
		now = st_read(path, &now_len);
		assert_true(now_len <= cut && now_len >= good);
		assert_true(now_len == 0 || now[now_len - 1] == '\n');
		free(now);
		/* And the next append reads back after them. */
		assert_int_equal(maildir_uidlist_append(back, "next", 4,
		    &uid), 0);
		assert_true(uid >= 6);
		assert_int_equal(maildir_uidlist_write(dir, back, NULL,
		    &error), 0);
		maildir_uidlist_free(&back);
		assert_int_equal(maildir_uidlist_read(dir, &back, &error), 1);
		assert_int_equal(back->uids[back->count - 1], uid);
		assert_string_equal(back->bases[back->count - 1], "next");
		maildir_uidlist_free(&back);
	}
	/* Zeroes where the last append was (blocks never written). */
	memset(full + good, 0, len - good);
	write_bytes(path, full, len);
	assert_int_equal(maildir_uidlist_read(dir, &back, &error), 1);
	assert_int_equal(back->count, 4);
	assert_int_equal(back->uidnext, 6);
	maildir_uidlist_free(&back);
	free(full);
	maildir_uidlist_free(&list);
	st_rmtree(dir);
}

/* A bad line with good records after it is not a torn tail: the list is
 * corrupt (and rebuilt with a new UIDVALIDITY by its user), rather than
 * cut before records that may have been reported. */
static void
test_damage_in_middle(void **state)
{
	char *dir = st_tmpdir(), path[4096], *data;
	struct maildir_uidlist *list = maildir_uidlist_new(7), *back;
	const char *error;
	size_t len = 0, i;
	uint32_t uid;

	(void)state;
	list_path(path, sizeof(path), dir);
	assert_int_equal(maildir_uidlist_append(list, "a", 1, &uid), 0);
	assert_int_equal(maildir_uidlist_append(list, "b", 1, &uid), 0);
	assert_int_equal(maildir_uidlist_write(dir, list, NULL, &error), 0);
	data = st_read(path, &len);
	/* The "+ 1 a" line: one byte changed. */
	i = (size_t)(strchr(data, '\n') - data) + 3;
	data[i] = 'z';
	write_bytes(path, data, len);
	assert_int_equal(maildir_uidlist_read(dir, &back, &error), -2);
	assert_non_null(strstr(error, "damaged"));
	free(data);
	maildir_uidlist_free(&list);
	st_rmtree(dir);
}

/* Once the records of gone messages outnumber the live ones (and are
 * at least UIDLIST_COMPACT_MIN) the expunge that made them so writes
 * the list whole again: a new, smaller file that reads back the same. */
static void
test_compaction(void **state)
{
	char *dir = st_tmpdir(), path[4096];
	struct maildir_uidlist *list = maildir_uidlist_new(7), *back;
	size_t i, n = UIDLIST_COMPACT_MIN, rounds = 0, big = 0, small = 0;
	struct stat st1, st2;
	const char *error;
	bool *keep;
	uint32_t uid;

	(void)state;
	list_path(path, sizeof(path), dir);
	for (i = 0; i < n; i++)
		assert_int_equal(maildir_uidlist_append(list, "m", 1, &uid),
		    0);
	assert_int_equal(maildir_uidlist_write(dir, list, NULL, &error), 0);
	assert_int_equal(stat(path, &st1), 0);
	keep = calloc(n, sizeof(*keep));
	/* Expunge the first message, one at a time, until it rewrites. */
	for (;;) {
		for (i = 0; i < list->count; i++)
			keep[i] = i > 0;
		maildir_uidlist_filter(list, keep);
		rounds++;
		assert_int_equal(maildir_uidlist_write(dir, list, NULL,
		    &error), 0);
		assert_int_equal(stat(path, &st2), 0);
		if (st1.st_ino != st2.st_ino)
			break;
		big = (size_t)st2.st_size;
		assert_true(rounds < n);
	}
	small = (size_t)st2.st_size;
	/* Two records per gone message, at least the minimum of them, and
	 * more of them than live ones. */
	assert_int_equal(rounds, UIDLIST_COMPACT_MIN / 2);
	assert_true(2 * rounds > n - rounds);
	assert_true(small < big / 2);
	assert_int_equal(list->dead, 0);
	assert_false(maildir_uidlist_needs_rewrite(list));
	assert_int_equal(maildir_uidlist_read(dir, &back, &error), 1);
	assert_int_equal(back->count, n - rounds);
	assert_int_equal(back->uidnext, n + 1);
	assert_int_equal(back->uids[0], rounds + 1);
	assert_int_equal(back->uids[back->count - 1], n);
	assert_int_equal(back->dead, 0);
	maildir_uidlist_free(&back);
	/* Appends go on after it. */
	assert_int_equal(maildir_uidlist_append(list, "new", 3, &uid), 0);
	assert_int_equal(uid, n + 1);
	assert_int_equal(maildir_uidlist_write(dir, list, NULL, &error), 0);
	assert_int_equal(stat(path, &st1), 0);
	assert_true(st1.st_ino == st2.st_ino);
	free(keep);
	maildir_uidlist_free(&list);
	st_rmtree(dir);
}

/* A list on disk in format 1 is upgraded in place at its first change. */
static void
test_upgrade_on_disk(void **state)
{
	char *dir = st_tmpdir(), path[4096], *data;
	struct maildir_uidlist *list;
	const char *error;
	uint32_t uid;

	(void)state;
	list_path(path, sizeof(path), dir);
	st_write(path, "mailbell-uidlist 1 99 12\n4 four\n11 eleven\n");
	assert_int_equal(maildir_uidlist_read(dir, &list, &error), 1);
	assert_int_equal(list->uidnext, 12);
	assert_int_equal(maildir_uidlist_append(list, "twelve", 6, &uid), 0);
	assert_int_equal(uid, 12);
	assert_int_equal(maildir_uidlist_write(dir, list, NULL, &error), 0);
	maildir_uidlist_free(&list);
	data = st_read(path, NULL);
	assert_memory_equal(data, "mailbell-uidlist 2 99 13 ", 25);
	free(data);
	assert_int_equal(maildir_uidlist_read(dir, &list, &error), 1);
	assert_int_equal(list->count, 3);
	assert_int_equal(list->uidnext, 13);
	assert_string_equal(list->bases[2], "twelve");
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
		cmocka_unit_test(test_parse_v1),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_append_filter),
		cmocka_unit_test(test_uidvalidity_increases),
		cmocka_unit_test(test_write_read),
		cmocka_unit_test(test_crash_before_rename),
		cmocka_unit_test(test_write_failure_keeps_old),
		cmocka_unit_test(test_append_reopen),
		cmocka_unit_test(test_torn_tail_every_offset),
		cmocka_unit_test(test_damage_in_middle),
		cmocka_unit_test(test_compaction),
		cmocka_unit_test(test_upgrade_on_disk),
		cmocka_unit_test(test_lock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
