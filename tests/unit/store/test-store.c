/* Unit tests for the store API: names, folders, store_job_run (what
 * `mailbell deliver` does), and concurrent deliveries to one folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store-test.h"

static void
test_folder_names(void **state)
{
	char name[300];

	(void)state;
	assert_true(store_folder_name_valid("INBOX"));
	assert_true(store_folder_name_valid("inbox"));
	assert_true(store_folder_name_valid("Work.Projects 2024"));
	assert_false(store_folder_name_valid(""));
	assert_false(store_folder_name_valid(".Work"));
	assert_false(store_folder_name_valid("Work."));
	assert_false(store_folder_name_valid("Work..X"));
	assert_false(store_folder_name_valid("a/b"));
	assert_false(store_folder_name_valid("tab\there"));
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_false(store_folder_name_valid(name));
}

static void
test_paths_and_create(void **state)
{
	char *root = st_tmpdir(), *p, want[4200];
	struct store *store = store_new(root, "h");
	const char *error = NULL;

	(void)state;
	assert_string_equal(store_root(store), root);
	p = store_folder_path(store, "bob", "inbox");
	snprintf(want, sizeof(want), "%s/bob", root);
	assert_string_equal(p, want);
	free(p);
	assert_int_equal(store_folder_create(store, "bob", "Lists.Dev",
	    &error), 0);
	snprintf(want, sizeof(want), "%s/bob/.Lists.Dev/new", root);
	assert_int_equal(access(want, F_OK), 0);
	snprintf(want, sizeof(want), "%s/bob/cur", root);
	assert_int_equal(access(want, F_OK), 0);
	assert_int_equal(store_user_create(store, "bob", &error), 0);
	assert_int_equal(store_user_create(store, "../evil", &error), -1);
	assert_non_null(error);
	assert_int_equal(store_folder_create(store, "bob", "a//b", &error),
	    -1);
	store_free(&store);
	assert_null(store);
	st_rmtree(root);
}

static unsigned char *
body_dup(const char *s)
{
	return (unsigned char *)strdup(s);
}

/* End to end: the job's bytes land in new/ with a UID the folder's
 * snapshot confirms; bad targets fail alone and leave nothing. */
static void
test_job_run(void **state)
{
	char *root = st_tmpdir(), path[4200], *data;
	struct store *store = store_new(root, "h");
	const char *body = "From: a@b\r\n\r\nhello\r\n", *error;
	struct store_job *job;
	struct store_folder *folder;
	uint32_t uidvalidity, uid;
	size_t len;

	(void)state;
	job = store_job_new(body_dup(body), strlen(body));
	assert_int_equal(store_job_add_target(job, "carol", "INBOX",
	    "Delivered-To: carol\r\n"), 0);
	assert_int_equal(store_job_add_target(job, "carol", "Lists", ""), 1);
	assert_int_equal(store_job_add_target(job, "no/such", "INBOX", ""),
	    2);
	assert_int_equal(store_job_target_count(job), 3);
	assert_int_equal(store_job_result(job, 0, &uidvalidity, &uid,
	    &error), -1);
	assert_int_equal(store_job_run(store, job), -1);

	assert_int_equal(store_job_result(job, 0, &uidvalidity, &uid,
	    &error), 0);
	assert_int_equal(uid, 1);
	assert_int_equal(store_job_result(job, 1, &uidvalidity, &uid,
	    &error), 0);
	assert_int_equal(uid, 1);
	assert_int_equal(store_job_result(job, 2, &uidvalidity, &uid,
	    &error), -1);
	assert_non_null(strstr(error, "user"));
	assert_int_equal(store_job_result(job, 9, &uidvalidity, &uid,
	    &error), -1);

	assert_int_equal(store_job_result(job, 0, &uidvalidity, &uid,
	    &error), 0);
	assert_int_equal(store_folder_sync(store, "carol", "INBOX", &folder,
	    &error), 0);
	assert_int_equal(folder->uidvalidity, uidvalidity);
	assert_int_equal(folder->count, 1);
	assert_int_equal(folder->messages[0].uid, 1);
	assert_int_equal(strncmp(folder->messages[0].file, "new/", 4), 0);
	snprintf(path, sizeof(path), "%s/carol/%s", root,
	    folder->messages[0].file);
	data = st_read(path, &len);
	assert_int_equal(len, strlen("Delivered-To: carol\r\n") +
	    strlen(body));
	assert_memory_equal(data, "Delivered-To: carol\r\nFrom: a@b\r\n\r\n"
	    "hello\r\n", len);
	free(data);
	store_folder_free(&folder);
	assert_null(folder);
	snprintf(path, sizeof(path), "%s/carol/tmp", root);
	assert_int_equal(st_count_files(path), 0);
	store_job_free(&job);
	assert_null(job);
	store_free(&store);
	st_rmtree(root);
}

/* A target whose folder cannot hold files fails without leftovers; the
 * job's other target is delivered. */
static void
test_job_run_failure(void **state)
{
	char *root = st_tmpdir(), path[4200];
	struct store *store = store_new(root, "h");
	const char *error = NULL;
	struct store_job *job;
	uint32_t uidvalidity, uid;

	(void)state;
	assert_int_equal(store_user_create(store, "dave", &error), 0);
	assert_int_equal(store_folder_create(store, "dave", "Broken",
	    &error), 0);
	snprintf(path, sizeof(path), "%s/dave/.Broken/tmp", root);
	assert_int_equal(rmdir(path), 0);
	st_write(path, "not a directory");

	job = store_job_new(body_dup("x\n"), 2);
	(void)store_job_add_target(job, "dave", "Broken", "");
	(void)store_job_add_target(job, "dave", "INBOX", "");
	assert_int_equal(store_job_run(store, job), -1);
	assert_int_equal(store_job_result(job, 0, &uidvalidity, &uid,
	    &error), -1);
	assert_non_null(error);
	assert_int_equal(store_job_result(job, 1, &uidvalidity, &uid,
	    &error), 0);
	snprintf(path, sizeof(path), "%s/dave/.Broken/new", root);
	assert_int_equal(st_count_files(path), 0);
	snprintf(path, sizeof(path), "%s/dave/.Broken/cur", root);
	assert_int_equal(st_count_files(path), 0);
	store_job_free(&job);
	store_free(&store);
	st_rmtree(root);
}

#define PAR_THREADS 4
#define PAR_EACH 25

struct par_arg {
	struct store *store;
	uint32_t uids[PAR_EACH];
	int failures;
};

static void *
par_main(void *p)
{
	struct par_arg *a = p;
	const char *error;
	uint32_t uidvalidity;
	int i;

	for (i = 0; i < PAR_EACH; i++) {
		struct store_job *job = store_job_new(body_dup("m\n"), 2);

		(void)store_job_add_target(job, "erin", "INBOX", "");
		if (store_job_run(a->store, job) < 0 ||
		    store_job_result(job, 0, &uidvalidity, &a->uids[i],
		    &error) < 0)
			a->failures++;
		store_job_free(&job);
	}
	return NULL;
}

static int
u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Deliveries in parallel threads to one folder get distinct UIDs. Half
 * the threads use their own struct store, as a separate `mailbell
 * deliver` process would: only the flock keeps them apart.
 */
static void
test_parallel_distinct_uids(void **state)
{
	char *root = st_tmpdir();
	struct store *shared = store_new(root, "h"), *own[PAR_THREADS];
	struct par_arg args[PAR_THREADS];
	pthread_t th[PAR_THREADS];
	uint32_t all[PAR_THREADS * PAR_EACH];
	struct store_folder *folder;
	const char *error;
	size_t i, n = 0;

	(void)state;
	memset(args, 0, sizeof(args));
	for (i = 0; i < PAR_THREADS; i++) {
		own[i] = i % 2 == 0 ? NULL : store_new(root, "h");
		args[i].store = own[i] != NULL ? own[i] : shared;
		assert_int_equal(pthread_create(&th[i], NULL, par_main,
		    &args[i]), 0);
	}
	for (i = 0; i < PAR_THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(args[i].failures, 0);
		memcpy(all + n, args[i].uids, sizeof(args[i].uids));
		n += PAR_EACH;
		store_free(&own[i]);
	}
	qsort(all, n, sizeof(*all), u32_cmp);
	for (i = 0; i < n; i++)
		assert_int_equal(all[i], i + 1);
	assert_int_equal(store_folder_sync(shared, "erin", "INBOX", &folder,
	    &error), 0);
	assert_int_equal(folder->count, n);
	assert_int_equal(folder->uidnext, n + 1);
	store_folder_free(&folder);
	store_free(&shared);
	st_rmtree(root);
}

static void
test_sync_missing_folder(void **state)
{
	char *root = st_tmpdir();
	struct store *store = store_new(root, "h");
	struct store_folder *folder = NULL;
	const char *error = NULL;

	(void)state;
	assert_int_equal(store_folder_sync(store, "nobody", "INBOX", &folder,
	    &error), -1);
	assert_non_null(error);
	assert_null(folder);
	assert_int_equal(store_folder_sync(store, "nobody", "../x", &folder,
	    &error), -1);
	store_free(&store);
	st_rmtree(root);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_folder_names),
		cmocka_unit_test(test_paths_and_create),
		cmocka_unit_test(test_job_run),
		cmocka_unit_test(test_job_run_failure),
		cmocka_unit_test(test_parallel_distinct_uids),
		cmocka_unit_test(test_sync_missing_folder),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
