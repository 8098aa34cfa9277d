/* Unit tests for one Maildir folder on disk (maildir.c): writing,
 * committing, syncing and what failures leave behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/maildir-uidlist.h"
#include "store/maildir.h"
#include "store/store.h"
#include "store-test.h"

struct fixture {
	char *root;
	struct store *store;
	char *dir;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *error;

	f->root = st_tmpdir();
	f->store = store_new(f->root, "host");
	if (maildir_folder_dir(f->store, "alice", "INBOX", &f->dir,
	    &error) < 0)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	store_free(&f->store);
	free(f->dir);
	st_rmtree(f->root);
	free(f);
	return 0;
}

static void
test_folder_dir(void **state)
{
	struct fixture *f = *state;
	const char *error;
	char *dir, want[4200];

	assert_int_equal(maildir_folder_dir(f->store, "alice", "Work.Proj",
	    &dir, &error), 0);
	snprintf(want, sizeof(want), "%s/alice/.Work.Proj", f->root);
	assert_string_equal(dir, want);
	free(dir);
	assert_int_equal(maildir_folder_dir(f->store, "../x", "INBOX", &dir,
	    &error), -1);
	assert_int_equal(maildir_folder_dir(f->store, "alice", "a/b", &dir,
	    &error), -1);
	assert_int_equal(maildir_folder_dir(f->store, "alice", "a..b", &dir,
	    &error), -1);
}

/* Write, commit, and find the bytes in new/ under a persisted UID. */
static void
test_write_commit(void **state)
{
	struct fixture *f = *state;
	struct maildir_commit_item items[2];
	struct maildir_uidlist *list;
	const char *body = "Subject: hi\n\nbody\n", *error;
	char *tmp, *base, path[4200], *data;
	uint32_t uidvalidity = 0;
	size_t len;

	memset(items, 0, sizeof(items));
	assert_int_equal(maildir_write_tmp(f->store, f->dir, "X-A: 1\n",
	    (const unsigned char *)body, strlen(body), true, &tmp, &base,
	    &error), 0);
	/* The folder was created on the way. */
	snprintf(path, sizeof(path), "%s/tmp", f->dir);
	assert_int_equal(st_count_files(path), 1);
	items[0].tmp_path = tmp;
	items[0].base = base;
	assert_int_equal(maildir_commit(f->store, f->dir, items, 1,
	    &uidvalidity), 1);
	assert_int_equal(items[0].status, 0);
	assert_int_equal(items[0].uid, 1);
	assert_true(uidvalidity > 0);
	assert_int_equal(st_count_files(path), 0);

	snprintf(path, sizeof(path), "%s/new/%s", f->dir, base);
	data = st_read(path, &len);
	assert_non_null(data);
	assert_int_equal(len, strlen("X-A: 1\n") + strlen(body));
	assert_memory_equal(data, "X-A: 1\nSubject: hi\n\nbody\n", len);
	free(data);
	/* Four bare LFs: sent with CRLF it is 29 bytes. */
	assert_non_null(strstr(base, ",S=25,W=29"));

	assert_int_equal(maildir_uidlist_read(f->dir, &list, &error), 1);
	assert_int_equal(list->uidvalidity, uidvalidity);
	assert_int_equal(list->count, 1);
	assert_string_equal(list->bases[0], base);
	assert_int_equal(list->uidnext, 2);
	maildir_uidlist_free(&list);
	free(tmp);
	free(base);
}

/* Commit one message of text into f's folder: its UID. */
static uint32_t
commit_one(struct fixture *f, const char *text)
{
	struct maildir_commit_item item;
	const char *error;
	char *tmp, *base;
	uint32_t uidvalidity;

	memset(&item, 0, sizeof(item));
	assert_int_equal(maildir_write_tmp(f->store, f->dir, "",
	    (const unsigned char *)text, strlen(text), false, &tmp, &base,
	    &error), 0);
	item.tmp_path = tmp;
	item.base = base;
	assert_int_equal(maildir_commit(f->store, f->dir, &item, 1,
	    &uidvalidity), 1);
	free(tmp);
	free(base);
	return item.uid;
}

/*
 * A commit appends to the UID list (same file, earlier bytes kept)
 * rather than writing it whole; a tail torn by a crash in the middle of
 * an append is cut off and its UID not taken as given; a list in the
 * format of earlier versions is written whole once, then appended to.
 */
static void
test_commit_appends(void **state)
{
	struct fixture *f = *state;
	struct maildir_uidlist *list;
	char path[4200], *before, *after;
	size_t len_before = 0, len_after = 0;
	struct stat st1, st2;
	const char *error;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", f->dir, MAILDIR_UIDLIST_FILE);
	assert_int_equal(commit_one(f, "one\n"), 1);
	assert_int_equal(stat(path, &st1), 0);
	before = st_read(path, &len_before);
	assert_int_equal(commit_one(f, "two\n"), 2);
	assert_int_equal(stat(path, &st2), 0);
	after = st_read(path, &len_after);
	assert_true(st1.st_ino == st2.st_ino);
	assert_true(len_after > len_before);
	assert_memory_equal(before, after, len_before);
	free(before);
	free(after);

	/* A crash in the middle of the next append. */
	assert_non_null(fp = fopen(path, "a"));
	fputs("+ 3 1700000000.M1P1.torn", fp);
	fclose(fp);
	assert_int_equal(commit_one(f, "three\n"), 3);
	assert_int_equal(maildir_uidlist_read(f->dir, &list, &error), 1);
	assert_int_equal(list->count, 3);
	assert_int_equal(list->uids[2], 3);
	assert_null(strstr(list->bases[2], "torn"));
	maildir_uidlist_free(&list);

	/* Format 1: rewritten once (a new file), then appended to. */
	st_write(path, "mailbell-uidlist 1 1234 9\n");
	assert_int_equal(stat(path, &st1), 0);
	assert_int_equal(commit_one(f, "four\n"), 9);
	assert_int_equal(stat(path, &st2), 0);
	assert_true(st1.st_ino != st2.st_ino);
	assert_int_equal(commit_one(f, "five\n"), 10);
	assert_int_equal(stat(path, &st1), 0);
	assert_true(st1.st_ino == st2.st_ino);
	assert_int_equal(maildir_uidlist_read(f->dir, &list, &error), 1);
	assert_int_equal(list->uidvalidity, 1234);
	assert_int_equal(list->count, 2);
	assert_int_equal(list->uidnext, 11);
	maildir_uidlist_free(&list);
}

/* A regular file where tmp/ should be: an error and nothing left. */
static void
test_write_failure(void **state)
{
	struct fixture *f = *state;
	const char *error = NULL;
	char *tmp = NULL, *base = NULL, path[4200];

	assert_int_equal(maildir_create(f->dir, &error), 0);
	snprintf(path, sizeof(path), "%s/tmp", f->dir);
	assert_int_equal(rmdir(path), 0);
	st_write(path, "");
	assert_int_equal(maildir_write_tmp(f->store, f->dir, "",
	    (const unsigned char *)"x", 1, false, &tmp, &base, &error), -1);
	assert_non_null(error);
	assert_null(tmp);
	snprintf(path, sizeof(path), "%s/new", f->dir);
	assert_int_equal(st_count_files(path), 0);
}

/* If the UID list cannot be written the messages are taken back out. */
static void
test_commit_failure_rolls_back(void **state)
{
	struct fixture *f = *state;
	struct maildir_commit_item items[2];
	struct store_folder *folder;
	const char *error;
	char *tmp[2], *base[2], path[4200];
	uint32_t uidvalidity;
	int i;

	memset(items, 0, sizeof(items));
	for (i = 0; i < 2; i++) {
		assert_int_equal(maildir_write_tmp(f->store, f->dir, "",
		    (const unsigned char *)"m\n", 2, false, &tmp[i], &base[i],
		    &error), 0);
		items[i].tmp_path = tmp[i];
		items[i].base = base[i];
	}
	snprintf(path, sizeof(path), "%s/%s", f->dir, MAILDIR_UIDLIST_TMP);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(maildir_commit(f->store, f->dir, items, 2,
	    &uidvalidity), 0);
	for (i = 0; i < 2; i++) {
		assert_int_equal(items[i].status, -1);
		assert_true(items[i].error[0] != '\0');
	}
	snprintf(path, sizeof(path), "%s/new", f->dir);
	assert_int_equal(st_count_files(path), 0);
	snprintf(path, sizeof(path), "%s/tmp", f->dir);
	assert_int_equal(st_count_files(path), 0);

	/* Once the obstacle is gone the folder works again. */
	snprintf(path, sizeof(path), "%s/%s", f->dir, MAILDIR_UIDLIST_TMP);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(maildir_sync(f->store, f->dir, &folder, &error), 0);
	assert_int_equal(folder->count, 0);
	store_folder_free(&folder);
	for (i = 0; i < 2; i++) {
		free(tmp[i]);
		free(base[i]);
	}
}

/* Files put there by another program get fresh UIDs in name order;
 * vanished files are dropped; flags come from the name. */
static void
test_sync_foreign(void **state)
{
	struct fixture *f = *state;
	struct store_folder *folder;
	const char *error;
	char path[4200];
	uint32_t uidvalidity;

	assert_int_equal(maildir_sync(f->store, f->dir, &folder, &error), -1);
	assert_int_equal(maildir_create(f->dir, &error), 0);
	snprintf(path, sizeof(path), "%s/cur/200.mutt:2,RS", f->dir);
	st_write(path, "a\n");
	snprintf(path, sizeof(path), "%s/new/100.dovecot", f->dir);
	st_write(path, "b\n");
	snprintf(path, sizeof(path), "%s/new/.hidden", f->dir);
	st_write(path, "c\n");
	assert_int_equal(maildir_sync(f->store, f->dir, &folder, &error), 0);
	uidvalidity = folder->uidvalidity;
	assert_int_equal(folder->count, 2);
	assert_int_equal(folder->uidnext, 3);
	assert_int_equal(folder->messages[0].uid, 1);
	assert_string_equal(folder->messages[0].file, "new/100.dovecot");
	assert_int_equal(folder->messages[0].flags, 0);
	assert_int_equal(folder->messages[1].uid, 2);
	assert_string_equal(folder->messages[1].file, "cur/200.mutt:2,RS");
	assert_int_equal(folder->messages[1].flags,
	    STORE_FLAG_REPLIED | STORE_FLAG_SEEN);
	store_folder_free(&folder);

	/* A flag change (rename) keeps the UID; a new file gets the next
	 * UID; a removed file is dropped. */
	snprintf(path, sizeof(path), "%s/cur/200.mutt:2,RS", f->dir);
	{
		char to[4200];

		snprintf(to, sizeof(to), "%s/cur/200.mutt:2,FRS", f->dir);
		assert_int_equal(rename(path, to), 0);
	}
	snprintf(path, sizeof(path), "%s/new/100.dovecot", f->dir);
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/new/050.early", f->dir);
	st_write(path, "d\n");
	assert_int_equal(maildir_sync(f->store, f->dir, &folder, &error), 0);
	assert_int_equal(folder->uidvalidity, uidvalidity);
	assert_int_equal(folder->count, 2);
	assert_int_equal(folder->messages[0].uid, 2);
	assert_string_equal(folder->messages[0].file, "cur/200.mutt:2,FRS");
	assert_int_equal(folder->messages[1].uid, 3);
	assert_string_equal(folder->messages[1].file, "new/050.early");
	assert_int_equal(folder->uidnext, 4);
	store_folder_free(&folder);
}

/* A message seen in both new/ and cur/ (mid-move) counts once. */
static void
test_sync_duplicate_base(void **state)
{
	struct fixture *f = *state;
	struct store_folder *folder;
	const char *error;
	char path[4200];

	assert_int_equal(maildir_create(f->dir, &error), 0);
	snprintf(path, sizeof(path), "%s/new/300.x", f->dir);
	st_write(path, "a\n");
	snprintf(path, sizeof(path), "%s/cur/300.x:2,S", f->dir);
	st_write(path, "a\n");
	assert_int_equal(maildir_sync(f->store, f->dir, &folder, &error), 0);
	assert_int_equal(folder->count, 1);
	assert_string_equal(folder->messages[0].file, "cur/300.x:2,S");
	store_folder_free(&folder);
}

/* A corrupt UID list is rebuilt under a new UIDVALIDITY: no mail lost. */
static void
test_sync_corrupt_list(void **state)
{
	struct fixture *f = *state;
	struct store_folder *folder;
	const char *error;
	char path[4200];
	uint32_t old;

	assert_int_equal(maildir_create(f->dir, &error), 0);
	snprintf(path, sizeof(path), "%s/new/1.a", f->dir);
	st_write(path, "a\n");
	assert_int_equal(maildir_sync(f->store, f->dir, &folder, &error), 0);
	old = folder->uidvalidity;
	store_folder_free(&folder);
	snprintf(path, sizeof(path), "%s/%s", f->dir, MAILDIR_UIDLIST_FILE);
	st_write(path, "mailbell-uidlist 1 oops\n");
	assert_int_equal(maildir_sync(f->store, f->dir, &folder, &error), 0);
	assert_int_not_equal(folder->uidvalidity, old);
	assert_int_equal(folder->count, 1);
	store_folder_free(&folder);
}

/* Another process changing the list is noticed despite the cache. */
static void
test_sync_sees_other_writer(void **state)
{
	struct fixture *f = *state;
	struct store *other = store_new(f->root, "other");
	struct store_folder *folder;
	const char *error;
	char path[4200];

	assert_int_equal(maildir_create(f->dir, &error), 0);
	assert_int_equal(maildir_sync(f->store, f->dir, &folder, &error), 0);
	store_folder_free(&folder);
	snprintf(path, sizeof(path), "%s/new/9.z", f->dir);
	st_write(path, "z\n");
	assert_int_equal(maildir_sync(other, f->dir, &folder, &error), 0);
	assert_int_equal(folder->messages[0].uid, 1);
	store_folder_free(&folder);
	snprintf(path, sizeof(path), "%s/new/10.z", f->dir);
	st_write(path, "z\n");
	assert_int_equal(maildir_sync(f->store, f->dir, &folder, &error), 0);
	assert_int_equal(folder->count, 2);
	assert_int_equal(folder->messages[1].uid, 2);
	store_folder_free(&folder);
	store_free(&other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_folder_dir, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_write_commit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_commit_appends, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_write_failure, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_commit_failure_rolls_back,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_foreign, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sync_duplicate_base,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_corrupt_list, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sync_sees_other_writer,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
