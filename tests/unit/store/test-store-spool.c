/* Unit tests for spooled messages (store-spool.c): a job from a spool
 * gives its first matching target the file and the others copies, each
 * named with its real sizes; APPEND takes a spool into any folder; a
 * spool nothing took leaves no file behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/limits.h"
#include "store/log-line.h"
#include "store/store.h"
#include "store-test.h"

/* A body over several writes, with one bare LF (W= counts it). */
static const char *const body_parts[] = {
	"Subject: spooled\r\n\r\n", "line one\r\n", "bare\nlf\r\n", "end\r\n",
};
#define BODY "Subject: spooled\r\n\r\nline one\r\nbare\nlf\r\nend\r\n"

static struct store_spool *
spool_body(struct store *store, const char *user, const char *prefix)
{
	struct store_spool *spool;
	const char *error;

	assert_int_equal(store_spool_new(store, user, "INBOX", prefix, &spool,
	    &error), 0);
	for (size_t i = 0; i < sizeof(body_parts) / sizeof(body_parts[0]);
	    i++)
		assert_int_equal(store_spool_write(spool, body_parts[i],
		    strlen(body_parts[i]), &error), 0);
	assert_int_equal(store_spool_size(spool), strlen(BODY));
	return spool;
}

/* The one message of user's folder: its contents, checked against
 * want, and its name's S= and W=. */
static void
expect_message(struct st_fixture *f, const char *user, const char *folder,
    uint32_t uid, const char *want)
{
	struct store_folder *sf;
	const char *error;
	char *dir, *path, *data, sizes[64];
	size_t len = 0, i;
	bool found = false;

	assert_int_equal(store_folder_sync(f->store, user, folder, &sf,
	    &error), 0);
	dir = store_folder_path(f->store, user, folder);
	for (i = 0; i < sf->count; i++) {
		if (sf->messages[i].uid != uid)
			continue;
		found = true;
		assert_true(asprintf(&path, "%s/%s", dir,
		    sf->messages[i].file) > 0);
		data = st_read(path, &len);
		assert_non_null(data);
		assert_int_equal(len, strlen(want));
		assert_memory_equal(data, want, len);
		/* One bare LF in the body: W= is one more than S=. */
		snprintf(sizes, sizeof(sizes), ",S=%zu,W=%zu", len, len + 1);
		assert_non_null(strstr(sf->messages[i].file, sizes));
		free(data);
		free(path);
	}
	assert_true(found);
	free(dir);
	store_folder_free(&sf);
}

static int
tmp_count(struct st_fixture *f, const char *user, const char *folder)
{
	char *dir = store_folder_path(f->store, user, folder), *tmp;
	int n;

	assert_true(asprintf(&tmp, "%s/tmp", dir) > 0);
	n = st_count_files(tmp);
	free(tmp);
	free(dir);
	return n;
}

static void
test_job_from_spool(void **state)
{
	struct st_fixture *f = *state;
	struct store_job *job;
	uint32_t uidvalidity, uid[3];
	const char *error;

	job = store_job_new_spool(spool_body(f->store, "alice",
	    "P: alice\r\n"));
	/* bob first: the spool's own target need not be the first. */
	assert_int_equal(store_job_add_target(job, "bob", "INBOX",
	    "P: bob\r\n"), 0);
	assert_int_equal(store_job_add_target(job, "alice", "INBOX",
	    "P: alice\r\n"), 1);
	/* The same recipient twice: the second gets a copy. */
	assert_int_equal(store_job_add_target(job, "alice", "inbox",
	    "P: alice\r\n"), 2);
	assert_int_equal(store_job_run(f->store, job), 0);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(store_job_result(job, i, &uidvalidity, &uid[i],
		    &error), 0);
	store_job_free(&job);

	expect_message(f, "bob", "INBOX", uid[0], "P: bob\r\n" BODY);
	expect_message(f, "alice", "INBOX", uid[1], "P: alice\r\n" BODY);
	expect_message(f, "alice", "INBOX", uid[2], "P: alice\r\n" BODY);
	assert_int_equal(tmp_count(f, "alice", "INBOX"), 0);
	assert_int_equal(tmp_count(f, "bob", "INBOX"), 0);
}

/* Through the queue's writer threads, as LMTP delivers. */
static void
test_queue_job_from_spool(void **state)
{
	struct st_fixture *f = *state;
	struct store_queue *q = store_queue_new(f->store);
	struct pollfd pfd = { .fd = store_queue_fd(q), .events = POLLIN };
	struct store_job *job;
	int rounds = 0;

	job = store_job_new_spool(spool_body(f->store, "carol", ""));
	store_job_add_target(job, "carol", "INBOX", "");
	store_job_add_target(job, "dave", "INBOX", "");
	store_queue_job(q, job, NULL, NULL);
	while (store_queue_pending(q) > 0 && rounds++ < 1000) {
		(void)poll(&pfd, 1, 10);
		store_queue_reap(q);
	}
	store_queue_free(&q);
	expect_message(f, "carol", "INBOX", 1, BODY);
	expect_message(f, "dave", "INBOX", 1, BODY);
	assert_int_equal(tmp_count(f, "carol", "INBOX"), 0);
}

static void
test_spool_freed_leaves_nothing(void **state)
{
	struct st_fixture *f = *state;
	struct store_spool *spool = spool_body(f->store, "erin", "P\r\n");
	struct store_job *job;

	assert_int_equal(tmp_count(f, "erin", "INBOX"), 1);
	store_spool_free(&spool);
	assert_null(spool);
	store_spool_free(&spool);	/* harmless */
	assert_int_equal(tmp_count(f, "erin", "INBOX"), 0);

	/* A job that was never run frees its spool the same way. */
	job = store_job_new_spool(spool_body(f->store, "erin", "P\r\n"));
	store_job_add_target(job, "erin", "INBOX", "P\r\n");
	store_job_free(&job);
	assert_int_equal(tmp_count(f, "erin", "INBOX"), 0);
}

static void
test_append_spool(void **state)
{
	struct st_fixture *f = *state;
	struct store_spool *spool;
	uint32_t uidvalidity, uid;
	const char *error;

	assert_int_equal(store_folder_create(f->store, "alice", "Work",
	    &error), 0);
	spool = spool_body(f->store, "alice", "");
	assert_int_equal(store_append_spool(f->store, "alice", "Work", spool,
	    0, NULL, 0, 0, &uidvalidity, &uid, &error), 0);
	store_spool_free(&spool);
	expect_message(f, "alice", "Work", uid, BODY);
	assert_int_equal(tmp_count(f, "alice", "INBOX"), 0);
	assert_int_equal(tmp_count(f, "alice", "Work"), 0);

	/* A missing folder: TRYCREATE's error, and the file goes with the
	 * spool. */
	spool = spool_body(f->store, "alice", "");
	assert_int_equal(store_append_spool(f->store, "alice", "Nowhere",
	    spool, 0, NULL, 0, 0, &uidvalidity, &uid, &error), -1);
	assert_int_equal(error_code(error), ERROR_NOT_FOUND);
	store_spool_free(&spool);
	assert_int_equal(tmp_count(f, "alice", "INBOX"), 0);
}

/* A spool closed once written (a MULTIAPPEND's literals) is taken by
 * name as an open one is; it takes no more bytes, and freeing one
 * nothing took still removes its file. */
static void
test_append_closed_spool(void **state)
{
	struct st_fixture *f = *state;
	struct store_spool *spool;
	uint32_t uidvalidity, uid;
	const char *error;

	spool = spool_body(f->store, "alice", "");
	store_spool_close(spool);
	store_spool_close(spool);	/* twice is harmless */
	assert_int_equal(store_spool_write(spool, "x", 1, &error), -1);
	store_spool_free(&spool);
	assert_int_equal(tmp_count(f, "alice", "INBOX"), 0);

	spool = spool_body(f->store, "alice", "");
	store_spool_close(spool);
	assert_int_equal(store_append_spool(f->store, "alice", "INBOX", spool,
	    0, NULL, 0, 0, &uidvalidity, &uid, &error), 0);
	store_spool_free(&spool);
	expect_message(f, "alice", "INBOX", uid, BODY);
	assert_int_equal(tmp_count(f, "alice", "INBOX"), 0);
}

/* Messages in user's folder, after a sync. */
static size_t
folder_count(struct st_fixture *f, const char *user, const char *folder)
{
	struct store_folder *sf;
	const char *error;
	size_t n;

	assert_int_equal(store_folder_sync(f->store, user, folder, &sf,
	    &error), 0);
	n = sf->count;
	store_folder_free(&sf);
	return n;
}

/* MessageAppend events heard: their UIDs, one per event. */
struct heard {
	uint32_t uids[8];
	size_t count;
};

static void
heard_cb(const struct store_event *ev, void *ctx)
{
	struct heard *h = ctx;

	assert_int_equal(ev->type, STORE_EVENT_MESSAGE_APPEND);
	assert_int_equal(ev->uid_count, 1);
	assert_true(h->count < 8);
	h->uids[h->count++] = ev->uid;
}

/* Leave room for one more UID only in folder's UID list. */
static void
leave_one_uid(struct st_fixture *f, const char *folder,
    uint32_t uidvalidity)
{
	char *dir, *list, *data, *rest;
	struct buf text;
	size_t len;

	dir = store_folder_path(f->store, "alice", folder);
	assert_true(asprintf(&list, "%s/mailbell-uidlist", dir) > 0);
	data = st_read(list, &len);
	assert_non_null(data);
	rest = strchr(data, '\n');
	assert_non_null(rest);
	/* A new header line, with its check; the records after it kept. */
	buf_init(&text, 0);
	(void)buf_printf(&text, "mailbell-uidlist 2 %u 4294967294",
	    uidvalidity);
	log_line_close(&text, 0);
	(void)buf_append_str(&text, rest + 1);
	st_write(list, buf_cstr(&text));
	buf_free(&text);
	free(data);
	free(list);
	free(dir);
}

/*
 * MULTIAPPEND: two messages (one spooled, one with flags and a
 * keyword) in one round with consecutive UIDs and one event each; then,
 * with room for one UID only, or no room for a new keyword, neither is
 * stored and nothing stays in tmp/.
 */
static void
test_append_many_all_or_nothing(void **state)
{
	struct st_fixture *f = *state;
	static const char *const kw[] = { "$label1" };
	struct store_append_msg msgs[2];
	uint32_t uidvalidity, uids[2];
	struct heard heard = { .count = 0 };
	const char *error, *names[KEYWORDS_MAX];
	char name[KEYWORDS_MAX][8];
	unsigned sub;

	assert_int_equal(store_folder_create(f->store, "alice", "Work",
	    &error), 0);
	sub = store_subscribe_events(f->store, STORE_EVENT_MESSAGE_APPEND,
	    heard_cb, &heard);
	memset(msgs, 0, sizeof(msgs));
	msgs[0].spool = spool_body(f->store, "alice", "");
	msgs[1].body = (const unsigned char *)BODY;
	msgs[1].len = strlen(BODY);
	msgs[1].flags = STORE_FLAG_SEEN;
	msgs[1].keywords = kw;
	msgs[1].keyword_count = 1;
	assert_int_equal(store_append_many(f->store, "alice", "Work", msgs, 2,
	    &uidvalidity, uids, &error), 0);
	store_spool_free(&msgs[0].spool);
	assert_int_equal(uids[1], uids[0] + 1);
	expect_message(f, "alice", "Work", uids[0], BODY);
	expect_message(f, "alice", "Work", uids[1], BODY);
	assert_int_equal(tmp_count(f, "alice", "Work"), 0);
	assert_int_equal(heard.count, 2);
	assert_int_equal(heard.uids[0], uids[0]);
	assert_int_equal(heard.uids[1], uids[1]);

	/* Room for one UID only: the first would fit, the second not. */
	leave_one_uid(f, "Work", uidvalidity);
	msgs[0].spool = spool_body(f->store, "alice", "");
	assert_int_equal(store_append_many(f->store, "alice", "Work", msgs, 2,
	    &uidvalidity, uids, &error), -1);
	store_spool_free(&msgs[0].spool);
	assert_int_equal(folder_count(f, "alice", "Work"), 2);
	assert_int_equal(tmp_count(f, "alice", "Work"), 0);
	assert_int_equal(tmp_count(f, "alice", "INBOX"), 0);

	/* A folder whose keywords are all taken: the second message's new
	 * keyword fails the command before anything is written. */
	for (size_t i = 0; i < KEYWORDS_MAX; i++) {
		snprintf(name[i], sizeof(name[i]), "k%zu", i);
		names[i] = name[i];
	}
	msgs[0].keywords = names;
	msgs[0].keyword_count = KEYWORDS_MAX;
	msgs[1].keywords = (const char *const[]){ "$other" };
	assert_int_equal(store_append_many(f->store, "alice", "INBOX", msgs,
	    1, &uidvalidity, uids, &error), 0);
	heard.count = 0;
	assert_int_equal(store_append_many(f->store, "alice", "INBOX", msgs,
	    2, &uidvalidity, uids, &error), -1);
	assert_int_equal(error_code(error), ERROR_LIMIT);
	assert_int_equal(folder_count(f, "alice", "INBOX"), 1);
	assert_int_equal(tmp_count(f, "alice", "INBOX"), 0);
	assert_int_equal(heard.count, 0);
	store_unsubscribe(f->store, sub);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_job_from_spool,
		    st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_queue_job_from_spool,
		    st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_spool_freed_leaves_nothing,
		    st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_append_spool,
		    st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_append_closed_spool,
		    st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(
		    test_append_many_all_or_nothing, st_setup, st_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
