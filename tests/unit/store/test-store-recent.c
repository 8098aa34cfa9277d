/* Unit tests for \Recent (RFC 3501 2.3.2): the first read-write view
 * claims, later ones and STATUS see the claim, a view that does not
 * claim leaves the messages recent, new mail is recent in one view
 * only, appends and copies are recent for the next view, and the mark
 * survives a new store on the same root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store-test.h"

/* What these tests deliver: only its UID matters. */
#define MSG "Subject: x\r\n\r\nx\r\n"

static struct store_view *
view_open(struct st_fixture *f, const char *folder, bool claim)
{
	struct store_view *v;
	const char *error;

	assert_int_equal(store_view_open(f->store, "ann", folder, &v, &error),
	    0);
	if (claim)
		store_view_claim_recent(v);
	return v;
}

static uint32_t
status_recent(struct st_fixture *f, const char *folder)
{
	struct store_status st;
	const char *error;

	assert_int_equal(store_folder_status(f->store, "ann", folder, &st,
	    &error), 0);
	return st.recent;
}

/* The view's messages as "uid" or "uid*" (recent), space separated. */
static const char *
recent_map(const struct store_view *v)
{
	static char out[1024];
	const struct store_view_message *m = store_view_messages(v);
	size_t len = 0;
	uint32_t i;

	out[0] = '\0';
	for (i = 0; i < store_view_count(v); i++)
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%u%s",
		    i > 0 ? " " : "", m[i].uid, m[i].recent ? "*" : "");
	return out;
}

static void
exists_cb(uint32_t count, void *ctx)
{
	*(uint32_t *)ctx = count;
}

static void
refresh(struct store_view *v, uint32_t *exists_r)
{
	static const struct store_view_refresh_cbs cbs = {
		.exists = exists_cb,
	};
	const char *error;

	*exists_r = 0;
	assert_int_equal(store_view_refresh(v, true, &cbs, exists_r, &error),
	    0);
}

static void
test_first_select_claims(void **state)
{
	struct st_fixture *f = *state;
	struct store_view *a, *b;

	st_deliver(f->store, "INBOX", MSG);
	st_deliver(f->store, "INBOX", MSG);
	st_deliver(f->store, "INBOX", MSG);
	assert_int_equal(status_recent(f, "INBOX"), 3);
	a = view_open(f, "INBOX", true);
	assert_int_equal(store_view_recent_count(a), 3);
	assert_string_equal(recent_map(a), "1* 2* 3*");
	assert_true(store_view_uid_recent(a, 2));
	assert_false(store_view_uid_recent(a, 9));
	assert_int_equal(status_recent(f, "INBOX"), 0);
	b = view_open(f, "INBOX", true);
	assert_int_equal(store_view_recent_count(b), 0);
	assert_string_equal(recent_map(b), "1 2 3");
	store_view_free(&b);
	/* Closing does not give the claim back. */
	store_view_free(&a);
	a = view_open(f, "INBOX", true);
	assert_int_equal(store_view_recent_count(a), 0);
	store_view_free(&a);
}

static void
test_examine_does_not_claim(void **state)
{
	struct st_fixture *f = *state;
	struct store_view *e, *a;
	uint32_t exists;

	st_deliver(f->store, "INBOX", MSG);
	st_deliver(f->store, "INBOX", MSG);
	e = view_open(f, "INBOX", false);
	assert_int_equal(store_view_recent_count(e), 2);
	assert_int_equal(status_recent(f, "INBOX"), 2);
	a = view_open(f, "INBOX", true);
	assert_int_equal(store_view_recent_count(a), 2);
	/* What the read-only view was shown stays. */
	assert_string_equal(recent_map(e), "1* 2*");
	/* New mail the claimant has not seen yet is recent for the
	 * read-only view too, and still the claimant's to take. */
	st_deliver(f->store, "INBOX", MSG);
	refresh(e, &exists);
	assert_int_equal(exists, 3);
	assert_string_equal(recent_map(e), "1* 2* 3*");
	assert_int_equal(status_recent(f, "INBOX"), 1);
	refresh(a, &exists);
	assert_int_equal(exists, 3);
	assert_string_equal(recent_map(a), "1* 2* 3*");
	assert_int_equal(status_recent(f, "INBOX"), 0);
	store_view_free(&e);
	store_view_free(&a);
}

static void
test_new_mail_one_view(void **state)
{
	struct st_fixture *f = *state;
	struct store_view *a, *b;
	const char *error;
	uint32_t exists;

	st_deliver(f->store, "INBOX", MSG);
	a = view_open(f, "INBOX", true);
	b = view_open(f, "INBOX", true);
	st_deliver(f->store, "INBOX", MSG);
	/* Whichever refreshes first is first to learn of it. */
	refresh(b, &exists);
	assert_int_equal(exists, 2);
	assert_int_equal(store_view_recent_count(b), 1);
	assert_string_equal(recent_map(b), "1 2*");
	refresh(a, &exists);
	assert_int_equal(exists, 2);
	assert_int_equal(store_view_recent_count(a), 1);
	assert_string_equal(recent_map(a), "1* 2");
	/* Expunging a recent message takes it out of the count. */
	assert_int_equal(store_view_expunge(b, NULL, 0, false, &error), 0);
	refresh(b, &exists);
	assert_int_equal(store_view_count(b), 0);
	assert_int_equal(store_view_recent_count(b), 0);
	refresh(a, &exists);
	assert_int_equal(store_view_recent_count(a), 0);
	store_view_free(&a);
	store_view_free(&b);
}

/* As IMAP IDLE does: refresh as soon as the folder changes. */
static void
eager_cb(struct store_view *view, void *ctx)
{
	uint32_t exists;

	(void)ctx;
	refresh(view, &exists);
}

static void
test_claim_raced_by_open(void **state)
{
	struct st_fixture *f = *state;
	struct store_view *a, *b;

	st_deliver(f->store, "INBOX", MSG);
	a = view_open(f, "INBOX", true);
	store_view_set_changed_cb(a, eager_cb, NULL);
	/* Delivered behind the index's back: b's open finds it, tells a,
	 * whose refresh claims it before b claims. */
	st_deliver(f->store, "INBOX", MSG);
	b = view_open(f, "INBOX", true);
	assert_string_equal(recent_map(a), "1* 2*");
	assert_string_equal(recent_map(b), "1 2");
	assert_int_equal(store_view_recent_count(b), 0);
	store_view_free(&a);
	store_view_free(&b);
}

static void
test_append_copy_recent(void **state)
{
	struct st_fixture *f = *state;
	struct store_view *a, *w;
	struct store_uid_map *map;
	uint32_t uidvalidity, uid, uids[] = { 1, 2 }, exists;
	const char *error;

	assert_int_equal(store_folder_create(f->store, "ann", "Work", &error),
	    0);
	st_deliver(f->store, "INBOX", MSG);
	st_deliver(f->store, "INBOX", MSG);
	a = view_open(f, "INBOX", true);
	w = view_open(f, "Work", true);
	assert_int_equal(store_view_recent_count(w), 0);
	assert_int_equal(store_append(f->store, "ann", "Work",
	    (const unsigned char *)"Subject: a\r\n\r\na\r\n", 17,
	    STORE_FLAG_SEEN, NULL, 0, 0, &uidvalidity, &uid, &error), 0);
	assert_int_equal(store_view_copy(a, uids, 2, "Work", &map, &error),
	    0);
	store_uid_map_free(&map);
	/* Recent for the session that has Work selected... */
	refresh(w, &exists);
	assert_int_equal(exists, 3);
	assert_int_equal(store_view_recent_count(w), 3);
	store_view_free(&w);
	/* ...and for the next one, had none had it selected. */
	assert_int_equal(store_view_move(a, uids, 1, "Work", &map, &error),
	    0);
	store_uid_map_free(&map);
	assert_int_equal(status_recent(f, "Work"), 1);
	w = view_open(f, "Work", true);
	assert_int_equal(store_view_recent_count(w), 1);
	assert_string_equal(recent_map(w), "1 2 3 4*");
	store_view_free(&w);
	/* A copy into the selected folder is recent in it. */
	assert_int_equal(store_view_copy(a, uids + 1, 1, "INBOX", &map,
	    &error), 0);
	store_uid_map_free(&map);
	refresh(a, &exists);
	assert_string_equal(recent_map(a), "2* 3*");
	store_view_free(&a);
}

static void
test_mark_persists(void **state)
{
	struct st_fixture *f = *state;
	struct store_view *a;
	char path[4200], *data;

	st_deliver(f->store, "INBOX", MSG);
	st_deliver(f->store, "INBOX", MSG);
	a = view_open(f, "INBOX", true);
	store_view_free(&a);
	st_deliver(f->store, "INBOX", MSG);
	/* A restart: a new store on the same root. */
	store_free(&f->store);
	f->store = store_new(f->root, "host");
	assert_int_equal(status_recent(f, "INBOX"), 1);
	a = view_open(f, "INBOX", true);
	assert_string_equal(recent_map(a), "1 2 3*");
	store_view_free(&a);
	snprintf(path, sizeof(path), "%s/ann/mailbell-recent", f->root);
	assert_non_null(data = st_read(path, NULL));
	assert_non_null(strstr(data, " 4\n"));
	free(data);

	/* A damaged file cannot tell: every message is recent. */
	st_write(path, "garbage\n");
	store_free(&f->store);
	f->store = store_new(f->root, "host");
	assert_int_equal(status_recent(f, "INBOX"), 3);
	a = view_open(f, "INBOX", true);
	assert_int_equal(store_view_recent_count(a), 3);
	store_view_free(&a);
	/* A mark of another UIDVALIDITY is no mark. */
	st_write(path, "mailbell-recent 1 1 4\n");
	store_free(&f->store);
	f->store = store_new(f->root, "host");
	assert_int_equal(status_recent(f, "INBOX"), 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_first_select_claims,
		    st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_examine_does_not_claim,
		    st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_new_mail_one_view,
		    st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_claim_raced_by_open,
		    st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_append_copy_recent,
		    st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_mark_persists,
		    st_setup, st_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
