/* Unit tests for the watcher together with the event hub and the queue,
 * wired the way the daemon wires them: every message that lands makes
 * exactly one event, whichever way it came. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store-test.h"

struct daemon {
	char *root;
	struct store *store;
	struct store_queue *queue;
	struct store_watch *watch;
	int events;
	uint32_t uids[64];
	char folders[64][32];
};

static void
event_cb(const struct store_event *ev, void *ctx)
{
	struct daemon *d = ctx;

	if (d->events < 64) {
		d->uids[d->events] = ev->uid;
		snprintf(d->folders[d->events], sizeof(d->folders[0]), "%s",
		    ev->folder);
	}
	d->events++;
}

/* The daemon's sync callback: announce what the sync found. */
static void
sync_cb(const char *user, const char *folder, uint32_t uidvalidity,
    const uint32_t *uids, size_t count, void *ctx)
{
	struct daemon *d = ctx;
	size_t i;

	for (i = 0; i < count; i++)
		store_announce(d->store, user, folder, uidvalidity, uids[i]);
}

/* The daemon's watcher callback: sync the folder from what was
 * announced already. */
static void
changed_cb(const char *user, const char *folder, void *ctx)
{
	struct daemon *d = ctx;

	store_queue_sync(d->queue, user, folder,
	    store_announced_uid(d->store, user, folder), sync_cb, d);
}

/* The LMTP session's completion callback: announce its own delivery. */
static void
job_cb(struct store_job *job, void *ctx)
{
	struct daemon *d = ctx;
	const char *error;
	uint32_t uidvalidity, uid;

	if (store_job_result(job, 0, &uidvalidity, &uid, &error) == 0)
		store_announce(d->store, "alice", "INBOX", uidvalidity, uid);
	store_job_free(&job);
}

/* Run the daemon's loop for ms milliseconds. */
static void
loop(struct daemon *d, int ms)
{
	struct pollfd pfd[2];
	int waited = 0;

	while (waited < ms) {
		pfd[0].fd = store_watch_fd(d->watch);
		pfd[0].events = POLLIN;
		pfd[1].fd = store_queue_fd(d->queue);
		pfd[1].events = POLLIN;
		(void)poll(pfd, 2, 10);
		waited += 10;
		if (pfd[0].revents & POLLIN)
			store_watch_read(d->watch, changed_cb, d);
		if (pfd[1].revents & POLLIN)
			store_queue_reap(d->queue);
	}
}

static void
deliver_job_run(struct store *store, const char *user, const char *folder)
{
	struct store_job *job = store_job_new((unsigned char *)strdup("m\n"),
	    2);

	(void)store_job_add_target(job, user, folder, "");
	assert_int_equal(store_job_run(store, job), 0);
	store_job_free(&job);
}

/* Deliver as `mailbell deliver` does: a process with its own store. */
static void
deliver_other(struct daemon *d, const char *user, const char *folder)
{
	struct store *other = store_new(d->root, "h");

	deliver_job_run(other, user, folder);
	store_free(&other);
}

static int
setup(void **state)
{
	struct daemon *d = calloc(1, sizeof(*d));
	const char *error;

	d->root = st_tmpdir();
	d->store = store_new(d->root, "h");
	/* Mail present at start is not news. */
	deliver_job_run(d->store, "alice", "INBOX");
	deliver_job_run(d->store, "alice", "Old");
	d->watch = store_watch_new(d->store, &error);
	if (d->watch == NULL)
		return -1;
	d->queue = store_queue_new(d->store);
	(void)store_subscribe(d->store, event_cb, d);
	*state = d;
	return 0;
}

static int
teardown(void **state)
{
	struct daemon *d = *state;

	store_queue_free(&d->queue);
	store_watch_free(&d->watch);
	assert_null(d->watch);
	store_free(&d->store);
	st_rmtree(d->root);
	free(d);
	return 0;
}

static void
test_start_not_news(void **state)
{
	struct daemon *d = *state;

	assert_int_equal(store_announced_uid(d->store, "alice", "INBOX"), 1);
	assert_int_equal(store_announced_uid(d->store, "alice", "Old"), 1);
	loop(d, 100);
	assert_int_equal(d->events, 0);
}

/* Another program renames a file into new/: one event. */
static void
test_external_rename(void **state)
{
	struct daemon *d = *state;
	char from[4200], to[4200];

	snprintf(from, sizeof(from), "%s/alice/tmp/1.ext.host", d->root);
	snprintf(to, sizeof(to), "%s/alice/new/1.ext.host", d->root);
	st_write(from, "Subject: x\n\nexternal\n");
	loop(d, 100);
	assert_int_equal(d->events, 0);	/* tmp/ is not watched */
	assert_int_equal(rename(from, to), 0);
	loop(d, 300);
	assert_int_equal(d->events, 1);
	assert_int_equal(d->uids[0], 2);
	assert_string_equal(d->folders[0], "INBOX");
	/* Marking it seen (a rename into cur/) is not a new message. */
	snprintf(from, sizeof(from), "%s/alice/cur/1.ext.host:2,S", d->root);
	assert_int_equal(rename(to, from), 0);
	loop(d, 200);
	assert_int_equal(d->events, 1);
}

/* A program writing straight into cur/ (close after write). */
static void
test_external_write_in_place(void **state)
{
	struct daemon *d = *state;
	char path[4200];

	snprintf(path, sizeof(path), "%s/alice/.Old/cur/5.inplace:2,", d->root);
	st_write(path, "in place\n");
	loop(d, 300);
	assert_int_equal(d->events, 1);
	assert_string_equal(d->folders[0], "Old");
	assert_int_equal(d->uids[0], 2);
}

/* Our own delivery announced by its callback, with the watcher running
 * and a sync of the folder on top: still one event. */
static void
test_job_and_watcher_one_event(void **state)
{
	struct daemon *d = *state;
	struct store_job *job = store_job_new((unsigned char *)strdup("m\n"),
	    2);

	(void)store_job_add_target(job, "alice", "INBOX", "");
	store_queue_job(d->queue, job, job_cb, d);
	loop(d, 300);
	assert_int_equal(d->events, 1);
	assert_int_equal(d->uids[0], 2);
	/* Even if the watcher had reported it, the sync adds nothing. */
	store_queue_sync(d->queue, "alice", "INBOX", 0, sync_cb, d);
	loop(d, 200);
	assert_int_equal(d->events, 1);
}

/* `mailbell deliver` (another process: its own store) delivers UID 2;
 * before the daemon reads the watcher, the daemon itself delivers UID 3
 * and announces it. Both make one event. */
static void
test_other_process_then_own(void **state)
{
	struct daemon *d = *state;
	struct store_job *job;
	int i;

	deliver_other(d, "alice", "INBOX");
	job = store_job_new((unsigned char *)strdup("m\n"), 2);
	(void)store_job_add_target(job, "alice", "INBOX", "");
	store_queue_job(d->queue, job, job_cb, d);
	/* Reap only the job: its callback announces UID 3 first. */
	for (i = 0; i < 500 && store_queue_pending(d->queue) > 0; i++) {
		struct pollfd pfd = { .fd = store_queue_fd(d->queue),
		    .events = POLLIN };

		(void)poll(&pfd, 1, 10);
		store_queue_reap(d->queue);
	}
	assert_int_equal(d->events, 1);
	assert_int_equal(d->uids[0], 3);
	loop(d, 300);
	assert_int_equal(d->events, 2);
	assert_int_equal(d->uids[1], 2);
	loop(d, 100);
	assert_int_equal(d->events, 2);
}

/* New users and new folders are picked up and watched. */
static void
test_new_user_and_folder(void **state)
{
	struct daemon *d = *state;
	char path[4200];

	deliver_other(d, "bob", "INBOX");
	loop(d, 300);
	assert_int_equal(d->events, 1);
	assert_string_equal(d->folders[0], "INBOX");
	snprintf(path, sizeof(path), "%s/bob/new/7.later", d->root);
	st_write(path, "later\n");
	loop(d, 300);
	assert_int_equal(d->events, 2);
	assert_int_equal(d->uids[1], 2);

	deliver_other(d, "bob", "Lists.Dev");
	loop(d, 300);
	assert_int_equal(d->events, 3);
	assert_string_equal(d->folders[2], "Lists.Dev");
	snprintf(path, sizeof(path), "%s/bob/.Lists.Dev/new/8.later", d->root);
	st_write(path, "later\n");
	loop(d, 300);
	assert_int_equal(d->events, 4);
	assert_string_equal(d->folders[3], "Lists.Dev");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_start_not_news, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_external_rename, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_external_write_in_place,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_job_and_watcher_one_event,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_process_then_own,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_user_and_folder,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
