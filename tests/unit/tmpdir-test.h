/*
 * A temporary directory for one unit test program: made by its group
 * setup, removed with everything in it by its group teardown.
 * Header-only, so each test stays one file.
 */
#ifndef MB_TESTS_TMPDIR_TEST_H
#define MB_TESTS_TMPDIR_TEST_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

/* The directory, once test_tmpdir_make() has made it. */
static char test_tmpdir[] = "/tmp/mailbell-unit-XXXXXX";

/* Make test_tmpdir and set path (size bytes) to "<test_tmpdir>/<name>".
 * Returns 0, or -1, as a cmocka group setup expects. */
static inline int
test_tmpdir_make(char *path, size_t size, const char *name)
{
	int n;

	if (mkdtemp(test_tmpdir) == NULL)
		return -1;
	n = snprintf(path, size, "%s/%s", test_tmpdir, name);
	return n >= 0 && (size_t)n < size ? 0 : -1;
}

static inline int
test_tmpdir_rm_cb(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* A cmocka group teardown: remove test_tmpdir and all it holds. */
static inline int
test_tmpdir_remove(void **state)
{
	(void)state;
	return nftw(test_tmpdir, test_tmpdir_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
