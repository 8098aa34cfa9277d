/* Unit tests for MODSEQs (RFC 7162) in the store: given at delivery,
 * raised by flag changes and expunges, kept across a restart, a torn
 * log tail dropped, a change made by another program noticed, the log
 * appended to rather than rewritten, and UNCHANGEDSINCE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/store.h"
#include "store-test.h"

static struct store_view *
open_inbox(struct store *store)
{
	struct store_view *v;
	const char *error;

	assert_int_equal(store_view_open(store, "ann", "INBOX", &v, &error),
	    0);
	return v;
}

static uint64_t
msg_modseq(const struct store_view *v, uint32_t uid)
{
	uint32_t seq = store_view_seq(v, uid);

	assert_true(seq > 0);
	return store_view_messages(v)[seq - 1].modseq;
}

static void
reopen(struct st_fixture *f)
{
	store_free(&f->store);
	f->store = store_new(f->root, "host");
}

static char *
log_path(const struct st_fixture *f)
{
	char *p;

	assert_true(asprintf(&p, "%s/ann/mailbell-modseq", f->root) > 0);
	return p;
}

static void
test_flags_raise(void **state)
{
	struct st_fixture *f = *state;
	struct store_view *v, *w;
	const char *error, *kw[] = { "$label1" };
	uint64_t high, m1, m2;
	uint32_t two = 2;
	struct stat before, after;
	char *path = log_path(f), *list;

	st_deliver(f->store, "INBOX", "Subject: 1\r\n\r\n1\r\n");
	st_deliver(f->store, "INBOX", "Subject: 2\r\n\r\n2\r\n");
	st_deliver(f->store, "INBOX", "Subject: 3\r\n\r\n3\r\n");
	st_settle();
	v = open_inbox(f->store);
	w = open_inbox(f->store);
	m1 = msg_modseq(v, 1);
	m2 = msg_modseq(v, 2);
	high = store_view_highest_modseq(v);
	assert_true(m1 > 0 && m2 > m1 && msg_modseq(v, 3) == high);

	/* A flag change is appended to the log: neither it nor the UID
	 * list is rewritten. */
	assert_true(asprintf(&list, "%s/ann/mailbell-uidlist", f->root) > 0);
	assert_int_equal(stat(list, &before), 0);
	assert_int_equal(store_view_set_keywords(v, &two, 1, STORE_FLAGS_ADD,
	    STORE_FLAG_SEEN, kw, 1, &error), 0);
	assert_int_equal(stat(list, &after), 0);
	assert_true(before.st_ino == after.st_ino);
	assert_true(msg_modseq(v, 2) > high);
	assert_true(msg_modseq(v, 1) == m1);
	assert_int_equal(stat(path, &before), 0);
	assert_int_equal(store_view_set_flags(v, &two, 1, STORE_FLAGS_ADD,
	    STORE_FLAG_FLAGGED, &error), 0);
	assert_int_equal(stat(path, &after), 0);
	assert_true(before.st_ino == after.st_ino);
	assert_true(after.st_size > before.st_size);
	/* A no-op takes no MODSEQ. */
	high = msg_modseq(v, 2);
	assert_int_equal(store_view_set_flags(v, &two, 1, STORE_FLAGS_ADD,
	    STORE_FLAG_FLAGGED, &error), 0);
	assert_true(msg_modseq(v, 2) == high);

	/* The other view learns it at its refresh. */
	assert_true(msg_modseq(w, 2) == m2);
	assert_int_equal(store_view_refresh(w, true, NULL, NULL, &error), 0);
	assert_true(msg_modseq(w, 2) == high);
	assert_true(store_view_highest_modseq(w) == high);
	store_view_free(&w);
	store_view_free(&v);

	/* A restart keeps them all. */
	reopen(f);
	v = open_inbox(f->store);
	assert_true(msg_modseq(v, 1) == m1);
	assert_true(msg_modseq(v, 2) == high);
	assert_true(store_view_highest_modseq(v) == high);
	store_view_free(&v);
	free(list);
	free(path);
}

static void
test_torn_tail(void **state)
{
	struct st_fixture *f = *state;
	struct store_view *v;
	uint64_t high;
	struct stat st;
	char *path = log_path(f);
	off_t size;
	FILE *fp;

	st_deliver(f->store, "INBOX", "Subject: 1\r\n\r\n1\r\n");
	st_settle();
	v = open_inbox(f->store);
	high = store_view_highest_modseq(v);
	store_view_free(&v);
	reopen(f);
	assert_int_equal(stat(path, &st), 0);
	size = st.st_size;
	/* A record cut short by a crash. */
	fp = fopen(path, "a");
	assert_non_null(fp);
	fputs("M 1 99", fp);
	fclose(fp);
	v = open_inbox(f->store);
	assert_true(store_view_highest_modseq(v) == high);
	assert_true(msg_modseq(v, 1) == high);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, size);	/* cut off */
	store_view_free(&v);
	free(path);
}

/* Another program renames a file (or we crashed between the rename
 * and the log): the message gets a fresh MODSEQ at the next sync. */
static void
test_outside_change(void **state)
{
	struct st_fixture *f = *state;
	struct store_view *v;
	const char *error;
	uint64_t high;
	uint32_t one = 1;
	char *cur, *from, *to;
	const char *name;

	st_deliver(f->store, "INBOX", "Subject: 1\r\n\r\n1\r\n");
	st_settle();
	v = open_inbox(f->store);
	assert_int_equal(store_view_set_flags(v, &one, 1, STORE_FLAGS_ADD,
	    STORE_FLAG_SEEN, &error), 0);
	high = store_view_highest_modseq(v);
	store_view_free(&v);
	reopen(f);
	assert_true(asprintf(&cur, "%s/ann/cur", f->root) > 0);
	name = st_only_file(cur);
	if (name == NULL) {
		fail_msg("no file in %s", cur);
		return;
	}
	assert_true(asprintf(&from, "%s/%s", cur, name) > 0);
	assert_true(asprintf(&to, "%s/%.*sFS", cur,
	    (int)(strlen(name) - 1), name) > 0);
	assert_int_equal(rename(from, to), 0);
	st_settle();
	v = open_inbox(f->store);
	assert_true(msg_modseq(v, 1) > high);
	assert_true(store_view_highest_modseq(v) == msg_modseq(v, 1));
	store_view_free(&v);
	free(cur);
	free(from);
	free(to);
}

static void
test_expunge_unchanged(void **state)
{
	struct st_fixture *f = *state;
	struct store_view *v;
	const char *error;
	uint32_t uids[] = { 1, 2, 3 }, *vanished, *modified;
	size_t count;
	uint64_t high;
	bool all;

	for (int i = 0; i < 3; i++)
		st_deliver(f->store, "INBOX", "Subject: x\r\n\r\nx\r\n");
	st_settle();
	v = open_inbox(f->store);
	high = store_view_highest_modseq(v);
	assert_int_equal(store_view_set_flags(v, &uids[1], 1,
	    STORE_FLAGS_ADD, STORE_FLAG_SEEN, &error), 0);
	/* UNCHANGEDSINCE: message 2 changed after high, left alone. */
	assert_int_equal(store_view_set_keywords_cond(v, uids, 3,
	    STORE_FLAGS_ADD, STORE_FLAG_TRASHED, NULL, 0, high, &modified,
	    &count, &error), 0);
	assert_int_equal(count, 1);
	assert_int_equal(modified[0], 2);
	free(modified);
	assert_int_equal(store_view_messages(v)[1].flags, STORE_FLAG_SEEN);
	assert_int_equal(store_view_messages(v)[0].flags, STORE_FLAG_TRASHED);

	high = store_view_highest_modseq(v);
	assert_int_equal(store_view_expunge(v, NULL, 0, true, &error), 0);
	assert_int_equal(store_view_refresh(v, true, NULL, NULL, &error), 0);
	store_view_vanished(v, high, &vanished, &count, &all);
	assert_false(all);
	assert_int_equal(count, 2);
	assert_int_equal(vanished[0], 1);
	assert_int_equal(vanished[1], 3);
	free(vanished);
	assert_true(store_view_highest_modseq(v) > high);
	high = store_view_highest_modseq(v);
	store_view_free(&v);
	/* Remembered across a restart. */
	reopen(f);
	v = open_inbox(f->store);
	store_view_vanished(v, 0, &vanished, &count, &all);
	assert_int_equal(count, 2);
	free(vanished);
	assert_true(store_view_highest_modseq(v) == high);
	store_view_free(&v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_flags_raise, st_setup,
		    st_teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail, st_setup,
		    st_teardown),
		cmocka_unit_test_setup_teardown(test_outside_change, st_setup,
		    st_teardown),
		cmocka_unit_test_setup_teardown(test_expunge_unchanged,
		    st_setup, st_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
