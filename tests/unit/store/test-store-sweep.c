/* Unit tests for store/store-sweep.c: which tmp/ files are leftovers,
 * and sweeping them from every folder of every user. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <utime.h>

#include <cmocka.h>

#include "lib/limits.h"
#include "store-test.h"

#define NOW ((time_t)1800000000)
#define OLD (NOW - STORE_TMP_MAX_AGE_SECS)

static struct stat
file_st(time_t mtime, nlink_t nlink)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFREG | 0600;
	st.st_nlink = nlink;
	st.st_mtim.tv_sec = mtime;
	return st;
}

static void
test_expired(void **state)
{
	struct stat st = file_st(OLD, 1), young = file_st(OLD + 1, 1);
	struct stat linked = file_st(OLD, 2), dir = file_st(OLD, 1);
	char name[64];

	(void)state;
	dir.st_mode = S_IFDIR | 0700;
	assert_true(store_tmp_expired("leftover", &st, NOW));
	/* 36 hours exactly is old; a second less is a delivery. */
	assert_false(store_tmp_expired("leftover", &young, NOW));
	/* A COPY's hard link, a directory, a dot file: never. */
	assert_false(store_tmp_expired("leftover", &linked, NOW));
	assert_false(store_tmp_expired("leftover", &dir, NOW));
	assert_false(store_tmp_expired(".hidden", &st, NOW));
	/* An APPEND's file: old mtime (its internal date), new name. */
	(void)snprintf(name, sizeof(name), "%lld.M1P2Q3.host",
	    (long long)NOW - 10);
	assert_false(store_tmp_expired(name, &st, NOW));
	(void)snprintf(name, sizeof(name), "%lld.M1P2Q3.host",
	    (long long)OLD);
	assert_true(store_tmp_expired(name, &st, NOW));
	/* Digits without the dot are not a Maildir time, nor is a number
	 * past 2^40 seconds (or one that overflows 64 bits). */
	assert_true(store_tmp_expired("1900000000", &st, NOW));
	assert_true(store_tmp_expired("1099511627777.M1P2Q3.host", &st, NOW));
	assert_true(store_tmp_expired("99999999999999999999999.M1.host", &st,
	    NOW));
}

static void
put(const char *path, time_t mtime)
{
	struct utimbuf t = { mtime, mtime };

	st_write(path, "x");
	assert_int_equal(utime(path, &t), 0);
}

static void
test_sweep(void **state)
{
	struct st_fixture *f = *state;
	const char *error;
	char path[512];
	size_t removed;
	time_t now = time(NULL);

	assert_int_equal(store_folder_create(f->store, "alice", "Work",
	    &error), 0);
	assert_int_equal(store_folder_create(f->store, "bob", STORE_INBOX,
	    &error), 0);
	(void)snprintf(path, sizeof(path), "%s/alice/tmp/a", f->root);
	put(path, now - STORE_TMP_MAX_AGE_SECS - 60);
	(void)snprintf(path, sizeof(path), "%s/alice/.Work/tmp/b", f->root);
	put(path, now - STORE_TMP_MAX_AGE_SECS - 60);
	(void)snprintf(path, sizeof(path), "%s/bob/tmp/c", f->root);
	put(path, now - STORE_TMP_MAX_AGE_SECS - 60);
	(void)snprintf(path, sizeof(path), "%s/bob/tmp/fresh", f->root);
	put(path, now - 60);
	/* Outside tmp/: never touched. */
	(void)snprintf(path, sizeof(path), "%s/alice/cur/old:2,S", f->root);
	put(path, now - STORE_TMP_MAX_AGE_SECS - 60);

	assert_int_equal(store_sweep_tmp(f->store, now, &removed, &error), 0);
	assert_int_equal(removed, 3);
	(void)snprintf(path, sizeof(path), "%s/alice/tmp", f->root);
	assert_int_equal(st_count_files(path), 0);
	(void)snprintf(path, sizeof(path), "%s/alice/.Work/tmp", f->root);
	assert_int_equal(st_count_files(path), 0);
	(void)snprintf(path, sizeof(path), "%s/bob/tmp", f->root);
	assert_int_equal(st_count_files(path), 1);
	(void)snprintf(path, sizeof(path), "%s/alice/cur", f->root);
	assert_int_equal(st_count_files(path), 1);
	/* Nothing left to sweep. */
	assert_int_equal(store_sweep_tmp(f->store, now, &removed, &error), 0);
	assert_int_equal(removed, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expired),
		cmocka_unit_test_setup_teardown(test_sweep, st_setup,
		    st_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
