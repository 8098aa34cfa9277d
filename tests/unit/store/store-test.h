/*
 * Helpers shared by the store's unit tests: temporary directories, small
 * file utilities and the fixture of a store in a fresh directory.
 * Header-only so each test stays one file.
 */
#ifndef MB_TESTS_STORE_TEST_H
#define MB_TESTS_STORE_TEST_H

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"

static int
st_rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* A fresh temporary directory (malloc'd path). */
static inline char *
st_tmpdir(void)
{
	char tmpl[] = "/tmp/mailbell-store-test.XXXXXX";
	char *dir = mkdtemp(tmpl);

	if (dir == NULL)
		abort();
	return strdup(dir);
}

static inline void
st_rmtree(char *dir)
{
	(void)nftw(dir, st_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

/* Number of entries (not starting with '.') in a directory; -1 if it
 * cannot be read. */
static inline int
st_count_files(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n;
}

/* Name of the only file in dir (static buffer), or NULL. */
static inline const char *
st_only_file(const char *dir)
{
	static char name[1024];
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (d == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(name, sizeof(name), "%s", de->d_name);
		n++;
	}
	closedir(d);
	return n == 1 ? name : NULL;
}

static inline void
st_write(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		abort();
	fputs(data, f);
	fclose(f);
}

/* Contents of a file (malloc'd, NUL-terminated), or NULL. */
static inline char *
st_read(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "r");
	char *data;
	long len;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = calloc(1, (size_t)len + 1);
	if (fread(data, 1, (size_t)len, f) != (size_t)len)
		abort();
	fclose(f);
	if (len_r != NULL)
		*len_r = (size_t)len;
	return data;
}

/* File system times come from a coarse clock: let it move past the
 * last change, as it has in any real folder that is not being written
 * this very millisecond. */
static inline void
st_settle(void)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

/* Deliver text to ann's folder as LMTP does; its UID (aborts on
 * failure). */
static inline uint32_t
st_deliver(struct store *store, const char *folder, const char *text)
{
	struct store_job *job = store_job_new((unsigned char *)strdup(text),
	    strlen(text));
	uint32_t uidvalidity, uid;
	const char *error;

	store_job_add_target(job, "ann", folder, "");
	if (store_job_run(store, job) != 0 ||
	    store_job_result(job, 0, &uidvalidity, &uid, &error) != 0)
		abort();
	store_job_free(&job);
	return uid;
}

/* A store in a fresh temporary directory, for cmocka's setup and
 * teardown: st_setup() puts it in *state, st_teardown() frees it and
 * removes the directory. */
struct st_fixture {
	char *root;
	struct store *store;
};

static inline int
st_setup(void **state)
{
	struct st_fixture *f = calloc(1, sizeof(*f));

	f->root = st_tmpdir();
	f->store = store_new(f->root, "host");
	*state = f;
	return 0;
}

static inline int
st_teardown(void **state)
{
	struct st_fixture *f = *state;

	store_free(&f->store);
	st_rmtree(f->root);
	free(f);
	return 0;
}

#endif
