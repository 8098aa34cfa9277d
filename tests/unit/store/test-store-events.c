/* Unit tests for the "message landed" event hub (store-events.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store-test.h"

struct heard {
	int count;
	uint32_t last_uid;
	uint32_t last_uidvalidity;
	char folder[64];
};

static void
heard_cb(const struct store_event *ev, void *ctx)
{
	struct heard *h = ctx;

	h->count++;
	h->last_uid = ev->uid;
	h->last_uidvalidity = ev->uidvalidity;
	snprintf(h->folder, sizeof(h->folder), "%s", ev->folder);
}

/* Announce uid in u's INBOX; how many events h has heard since. */
static int
announce_inbox(struct store *store, const struct heard *h,
    uint32_t uidvalidity, uint32_t uid)
{
	store_announce(store, "u", "INBOX", uidvalidity, uid);
	return h->count;
}

static void
test_dedup(void **state)
{
	struct st_fixture *f = *state;
	struct store *store = f->store;
	struct heard a = { 0 }, b = { 0 };
	unsigned ida, idb;

	ida = store_subscribe(store, heard_cb, &a);
	idb = store_subscribe(store, heard_cb, &b);
	assert_int_not_equal(ida, idb);
	assert_int_equal(store_announced_uid(store, "u", "INBOX"), 0);
	store_announce(store, "u", "INBOX", 10, 1);
	store_announce(store, "u", "inbox", 10, 1);
	assert_int_equal(a.count, 1);
	assert_int_equal(b.count, 1);
	assert_string_equal(a.folder, "INBOX");
	assert_int_equal(store_announced_uid(store, "u", "INBOX"), 1);
	store_announce(store, "u", "INBOX", 10, 2);
	store_announce(store, "u", "INBOX", 10, 2);
	store_announce(store, "u", "INBOX", 10, 1);
	assert_int_equal(a.count, 2);
	/* Other folders and users are counted apart. */
	store_announce(store, "u", "Work", 10, 2);
	store_announce(store, "v", "INBOX", 10, 2);
	assert_int_equal(a.count, 4);
	store_unsubscribe(store, idb);
	/* UID 0 is never a message. */
	store_announce(store, "u", "INBOX", 10, 0);
	store_announce(store, "u", "INBOX", 10, 3);
	assert_int_equal(a.count, 5);
	assert_int_equal(b.count, 4);
}

/* A lower UID (from another process) noticed after our own higher one
 * is still news, once. */
static void
test_lower_uid_after_higher(void **state)
{
	struct st_fixture *f = *state;
	struct store *store = f->store;
	struct heard a = { 0 };

	(void)store_subscribe(store, heard_cb, &a);
	store_set_announced_uid(store, "u", "INBOX", 10, 4);
	assert_int_equal(announce_inbox(store, &a, 10, 4), 0);
	assert_int_equal(announce_inbox(store, &a, 10, 6), 1);
	/* The watcher's sync starts after the settled mark... */
	assert_int_equal(store_announced_uid(store, "u", "INBOX"), 4);
	/* ...and reports 5 and 6: only 5 is news. */
	assert_int_equal(announce_inbox(store, &a, 10, 5), 2);
	assert_int_equal(announce_inbox(store, &a, 10, 6), 2);
	assert_int_equal(a.last_uid, 5);
	assert_int_equal(store_announced_uid(store, "u", "INBOX"), 6);
}

static void
test_uidvalidity_change(void **state)
{
	struct st_fixture *f = *state;
	struct store *store = f->store;
	struct heard a = { 0 };

	(void)store_subscribe(store, heard_cb, &a);
	store_set_announced_uid(store, "u", "INBOX", 10, 50);
	assert_int_equal(announce_inbox(store, &a, 10, 20), 0);
	assert_int_equal(announce_inbox(store, &a, 11, 1), 1);
	assert_int_equal(a.last_uidvalidity, 11);
	assert_int_equal(announce_inbox(store, &a, 11, 1), 1);
}

/* Gaps that never fill are given up on, so memory stays bounded. */
static void
test_pending_bounded(void **state)
{
	struct st_fixture *f = *state;
	struct store *store = f->store;
	struct heard a = { 0 };
	uint32_t uid;

	(void)store_subscribe(store, heard_cb, &a);
	for (uid = 2; uid < 2 + 2 * 5000; uid += 2)
		store_announce(store, "u", "INBOX", 1, uid);
	assert_int_equal(a.count, 5000);
	assert_true(store_announced_uid(store, "u", "INBOX") > 5000);
	/* Re-announcing anything already heard stays silent. */
	for (uid = 2; uid < 2 + 2 * 5000; uid += 2)
		store_announce(store, "u", "INBOX", 1, uid);
	assert_int_equal(a.count, 5000);
}

static int unsub_id;
static struct store *unsub_store;

static void
unsub_cb(const struct store_event *ev, void *ctx)
{
	int *count = ctx;

	(void)ev;
	(*count)++;
	store_unsubscribe(unsub_store, unsub_id);
}

static void
test_unsubscribe_in_callback(void **state)
{
	char *root = st_tmpdir();
	int count = 0;

	(void)state;
	unsub_store = store_new(root, "h");
	unsub_id = (int)store_subscribe(unsub_store, unsub_cb, &count);
	store_announce(unsub_store, "u", "INBOX", 1, 1);
	store_announce(unsub_store, "u", "INBOX", 1, 2);
	assert_int_equal(count, 1);
	store_free(&unsub_store);
	st_rmtree(root);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dedup, st_setup,
		    st_teardown),
		cmocka_unit_test_setup_teardown(test_lower_uid_after_higher, st_setup,
		    st_teardown),
		cmocka_unit_test_setup_teardown(test_uidvalidity_change, st_setup,
		    st_teardown),
		cmocka_unit_test_setup_teardown(test_pending_bounded, st_setup,
		    st_teardown),
		cmocka_unit_test(test_unsubscribe_in_callback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
