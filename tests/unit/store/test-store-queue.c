/* Unit tests for the delivery queue (store-queue.c): jobs to several
 * folders complete, callbacks run on the reaping thread, syncs report
 * the UIDs asked for, a burst of sync requests for one folder costs at
 * most two syncs and announces each UID once, work is counted for the
 * users it writes to until reaped, and freeing the queue finishes
 * queued work. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/maildir-uidlist.h"
#include "store/store.h"
#include "store-test.h"

struct done {
	int jobs;
	int failed_targets;
	int syncs;
	uint32_t sync_uids[16];
	size_t sync_count;
	pthread_t reaper;
	bool wrong_thread;
};

static void
job_done_cb(struct store_job *job, void *ctx)
{
	struct done *d = ctx;
	const char *error;
	uint32_t uidvalidity, uid;
	size_t i;

	if (!pthread_equal(pthread_self(), d->reaper))
		d->wrong_thread = true;
	for (i = 0; i < store_job_target_count(job); i++) {
		if (store_job_result(job, i, &uidvalidity, &uid, &error) < 0)
			d->failed_targets++;
	}
	d->jobs++;
	store_job_free(&job);
}

static void
sync_done_cb(const char *user, const char *folder, uint32_t uidvalidity,
    const uint32_t *uids, size_t count, void *ctx)
{
	struct done *d = ctx;

	(void)user;
	(void)folder;
	assert_true(uidvalidity > 0);
	if (!pthread_equal(pthread_self(), d->reaper))
		d->wrong_thread = true;
	d->syncs++;
	d->sync_count = count;
	memcpy(d->sync_uids, uids, count * sizeof(*uids));
}

/* Reap until the queue is idle (or 10 s pass). */
static void
drain(struct store_queue *q)
{
	struct pollfd pfd = { .fd = store_queue_fd(q), .events = POLLIN };
	int rounds = 0;

	while (store_queue_pending(q) > 0 && rounds++ < 1000) {
		(void)poll(&pfd, 1, 10);
		store_queue_reap(q);
	}
}

static void
test_jobs_several_folders(void **state)
{
	char *root = st_tmpdir();
	struct store *store = store_new(root, "h");
	struct store_queue *q = store_queue_new(store);
	struct done d = { .reaper = pthread_self() };
	struct store_folder *folder;
	const char *error;
	char user[16];
	int i;

	(void)state;
	for (i = 0; i < 40; i++) {
		struct store_job *job = store_job_new(
		    (unsigned char *)strdup("hello\n"), 6);

		snprintf(user, sizeof(user), "u%d", i % 4);
		(void)store_job_add_target(job, user, "INBOX", "");
		(void)store_job_add_target(job, user, i % 2 ? "A" : "B.C",
		    "X: y\n");
		store_queue_job(q, job, job_done_cb, &d);
	}
	/* No callback runs before the caller reaps. */
	assert_int_equal(d.jobs, 0);
	drain(q);
	assert_int_equal(d.jobs, 40);
	assert_int_equal(d.failed_targets, 0);
	assert_false(d.wrong_thread);
	assert_int_equal(store_queue_pending(q), 0);
	for (i = 0; i < 4; i++) {
		snprintf(user, sizeof(user), "u%d", i);
		assert_int_equal(store_folder_sync(store, user, "INBOX",
		    &folder, &error), 0);
		assert_int_equal(folder->count, 10);
		assert_int_equal(folder->messages[9].uid, 10);
		store_folder_free(&folder);
	}
	store_queue_free(&q);
	assert_null(q);
	store_free(&store);
	st_rmtree(root);
}

static void
test_failed_target(void **state)
{
	char *root = st_tmpdir();
	struct store *store = store_new(root, "h");
	struct store_queue *q = store_queue_new(store);
	struct done d = { .reaper = pthread_self() };
	struct store_job *job;

	(void)state;
	job = store_job_new((unsigned char *)strdup("x"), 1);
	(void)store_job_add_target(job, "ok", "INBOX", "");
	(void)store_job_add_target(job, "", "INBOX", "");
	store_queue_job(q, job, job_done_cb, &d);
	/* A job without targets completes too. */
	store_queue_job(q, store_job_new(NULL, 0), job_done_cb, &d);
	drain(q);
	assert_int_equal(d.jobs, 2);
	assert_int_equal(d.failed_targets, 1);
	store_queue_free(&q);
	store_free(&store);
	st_rmtree(root);
}

static void
test_sync_job(void **state)
{
	char *root = st_tmpdir(), path[4200];
	struct store *store = store_new(root, "h");
	struct store_queue *q = store_queue_new(store);
	struct done d = { .reaper = pthread_self() };
	const char *error;
	int i;

	(void)state;
	assert_int_equal(store_user_create(store, "f", &error), 0);
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/f/new/%d.foreign", root, i);
		st_write(path, "m\n");
	}
	store_queue_sync(q, "f", "INBOX", 1, sync_done_cb, &d);
	drain(q);
	assert_int_equal(d.syncs, 1);
	assert_int_equal(d.sync_count, 2);
	assert_int_equal(d.sync_uids[0], 2);
	assert_int_equal(d.sync_uids[1], 3);
	assert_false(d.wrong_thread);
	store_queue_free(&q);
	store_free(&store);
	st_rmtree(root);
}

/* What the daemon does with a sync's result: announce every UID. */
struct announcer {
	struct store *store;
	int syncs;
	size_t reported;	/* UIDs in all reports together */
	uint32_t lowest;	/* lowest UID of the last report */
};

static void
announce_cb(const char *user, const char *folder, uint32_t uidvalidity,
    const uint32_t *uids, size_t count, void *ctx)
{
	struct announcer *a = ctx;
	size_t i;

	assert_true(uidvalidity > 0);
	a->syncs++;
	a->reported += count;
	a->lowest = count > 0 ? uids[0] : 0;
	for (i = 0; i < count; i++)
		store_announce(a->store, user, folder, uidvalidity, uids[i]);
}

#define BURST 1000

/* Every MessageNew event, by UID. */
struct heard {
	int times[BURST + 2];
	int total;
};

static void
heard_cb(const struct store_event *ev, void *ctx)
{
	struct heard *h = ctx;

	assert_true(ev->uid >= 1 && ev->uid <= BURST);
	h->times[ev->uid]++;
	h->total++;
}

/*
 * Wait until a thread of this process is blocked in flock() on the UID
 * list lock of the Maildir dir, as the kernel lists such waiters in
 * /proc/locks ("->" lines): the committer has taken a sync and waits
 * for the lock the test holds. Fails the test after 10 s.
 */
static void
wait_lock_waiter(const char *dir)
{
	char path[4200], line[256];
	unsigned long ino;
	struct stat st;
	long pid;
	int tries;

	snprintf(path, sizeof(path), "%s/%s", dir, MAILDIR_UIDLIST_LOCK);
	assert_int_equal(stat(path, &st), 0);
	for (tries = 0; tries < 10000; tries++) {
		FILE *f = fopen("/proc/locks", "r");
		const char *arrow;

		assert_non_null(f);
		while (fgets(line, sizeof(line), f) != NULL) {
			if ((arrow = strstr(line, "-> FLOCK")) == NULL ||
			    sscanf(arrow, "-> FLOCK %*s %*s %ld %*x:%*x:%lu",
			    &pid, &ino) != 2)
				continue;
			if (pid == (long)getpid() && ino == st.st_ino) {
				fclose(f);
				return;
			}
		}
		fclose(f);
		usleep(1000);
	}
	fail_msg("nothing waited for %s", path);
}

/*
 * Files dropped into cur/ one by one, each reported at once (as the
 * watcher does under load), while the first sync waits for the folder
 * lock: the later requests merge into one follow-up, so there are two
 * syncs at most, and every new UID is announced exactly once.
 */
static void
test_sync_burst(void **state)
{
	char *root = st_tmpdir(), path[4200];
	struct store *store = store_new(root, "h");
	struct store_queue *q = store_queue_new(store);
	struct announcer a = { .store = store };
	struct heard *h = calloc(1, sizeof(*h));
	const char *error;
	int i, lock_fd;

	(void)state;
	assert_int_equal(store_user_create(store, "c", &error), 0);
	(void)store_subscribe(store, heard_cb, h);
	snprintf(path, sizeof(path), "%s/c", root);
	lock_fd = maildir_uidlist_lock(path, &error);
	assert_true(lock_fd >= 0);
	store_queue_sync(q, "c", "INBOX",
	    store_announced_uid(store, "c", "INBOX"), announce_cb, &a);
	wait_lock_waiter(path);	/* the committer took it */
	for (i = 0; i < BURST; i++) {
		snprintf(path, sizeof(path), "%s/c/cur/%04d.foreign:2,S",
		    root, i);
		st_write(path, "Subject: x\n\nx\n");
		store_queue_sync(q, "c", "INBOX",
		    store_announced_uid(store, "c", "INBOX"), announce_cb, &a);
	}
	/* One running, one waiting: nothing else queued. */
	assert_true(store_queue_pending(q) <= 2);
	maildir_uidlist_unlock(&lock_fd);
	drain(q);
	assert_int_equal(store_queue_pending(q), 0);
	print_message("%d reports of %d new files: %d syncs, %zu UIDs "
	    "reported, %d announced\n", BURST + 1, BURST, a.syncs,
	    a.reported, h->total);
	assert_true(a.syncs >= 1 && a.syncs <= 2);
	assert_int_equal(h->total, BURST);
	for (i = 1; i <= BURST; i++)
		assert_int_equal(h->times[i], 1);
	assert_int_equal(store_announced_uid(store, "c", "INBOX"), BURST);

	/* Settled: a later report finds nothing new to announce. */
	store_queue_sync(q, "c", "INBOX",
	    store_announced_uid(store, "c", "INBOX"), announce_cb, &a);
	drain(q);
	assert_int_equal(h->total, BURST);
	store_queue_free(&q);
	store_free(&store);
	free(h);
	st_rmtree(root);
}

/*
 * Requests merged into a waiting sync: the lowest after_uid wins, each
 * distinct callback and context hears the result once, and a request
 * for another folder is not merged.
 */
static void
test_sync_merge(void **state)
{
	char *root = st_tmpdir(), path[4200];
	struct store *store = store_new(root, "h");
	struct store_queue *q = store_queue_new(store);
	struct done one = { .reaper = pthread_self() };
	struct done two = { .reaper = pthread_self() };
	struct done other = { .reaper = pthread_self() };
	const char *error;
	int i, lock_fd;

	(void)state;
	assert_int_equal(store_user_create(store, "m", &error), 0);
	assert_int_equal(store_folder_create(store, "m", "Work", &error), 0);
	for (i = 0; i < 6; i++) {
		snprintf(path, sizeof(path), "%s/m/new/%d.foreign", root, i);
		st_write(path, "m\n");
	}
	snprintf(path, sizeof(path), "%s/m/.Work/new/1.foreign", root);
	st_write(path, "m\n");
	snprintf(path, sizeof(path), "%s/m", root);
	lock_fd = maildir_uidlist_lock(path, &error);
	assert_true(lock_fd >= 0);
	store_queue_sync(q, "m", "INBOX", 0, sync_done_cb, &one);
	wait_lock_waiter(path);	/* running: waiting for the lock */
	store_queue_sync(q, "m", "INBOX", 5, sync_done_cb, &one);
	store_queue_sync(q, "m", "inbox", 2, sync_done_cb, &two);
	store_queue_sync(q, "m", "INBOX", 3, sync_done_cb, &one);
	store_queue_sync(q, "m", "Work", 0, sync_done_cb, &other);
	assert_true(store_queue_pending(q) <= 3);
	maildir_uidlist_unlock(&lock_fd);
	drain(q);
	assert_int_equal(store_queue_pending(q), 0);
	/* The first sync and the merged follow-up. */
	assert_int_equal(one.syncs, 2);
	assert_int_equal(two.syncs, 1);
	assert_int_equal(two.sync_count, 4);
	assert_int_equal(two.sync_uids[0], 3);
	assert_int_equal(one.sync_count, 4);
	assert_int_equal(other.syncs, 1);
	assert_int_equal(other.sync_count, 1);
	assert_false(one.wrong_thread || two.wrong_thread);
	store_queue_free(&q);
	store_free(&store);
	st_rmtree(root);
}

/* A job counts for each user it has a target of, a sync for its user,
 * until reaped; other users' work does not count. */
static void
test_pending_user(void **state)
{
	char *root = st_tmpdir();
	struct store *store = store_new(root, "h");
	struct store_queue *q = store_queue_new(store);
	struct done d = { .reaper = pthread_self() };
	struct store_job *job;

	(void)state;
	job = store_job_new((unsigned char *)strdup("m\n"), 2);
	(void)store_job_add_target(job, "a", "INBOX", "");
	(void)store_job_add_target(job, "b", "INBOX", "");
	(void)store_job_add_target(job, "a", "Sent", "");
	store_queue_job(q, job, job_done_cb, &d);
	job = store_job_new((unsigned char *)strdup("m\n"), 2);
	(void)store_job_add_target(job, "b", "INBOX", "");
	store_queue_job(q, job, job_done_cb, &d);
	store_queue_sync(q, "c", "INBOX", 0, NULL, NULL);

	/* Nothing is reaped before the caller reaps. */
	assert_int_equal(store_queue_pending(q), 3);
	assert_int_equal(store_queue_pending_user(q, "a"), 1);
	assert_int_equal(store_queue_pending_user(q, "b"), 2);
	assert_int_equal(store_queue_pending_user(q, "c"), 1);
	assert_int_equal(store_queue_pending_user(q, "ab"), 0);
	drain(q);
	assert_int_equal(d.jobs, 2);
	assert_int_equal(store_queue_pending_user(q, "a"), 0);
	assert_int_equal(store_queue_pending_user(q, "b"), 0);
	assert_int_equal(store_queue_pending_user(q, "c"), 0);
	store_queue_free(&q);
	store_free(&store);
	st_rmtree(root);
}

/* Freeing the queue completes queued work and runs its callbacks. */
static void
test_free_waits(void **state)
{
	char *root = st_tmpdir(), path[4200];
	struct store *store = store_new(root, "h");
	struct store_queue *q = store_queue_new(store);
	struct done d = { .reaper = pthread_self() };
	int i;

	(void)state;
	for (i = 0; i < 20; i++) {
		struct store_job *job = store_job_new(
		    (unsigned char *)strdup("m\n"), 2);

		(void)store_job_add_target(job, "g", "INBOX", "");
		store_queue_job(q, job, job_done_cb, &d);
	}
	assert_true(store_queue_pending(q) > 0);
	store_queue_free(&q);
	assert_int_equal(d.jobs, 20);
	assert_int_equal(d.failed_targets, 0);
	snprintf(path, sizeof(path), "%s/g/new", root);
	assert_int_equal(st_count_files(path), 20);
	snprintf(path, sizeof(path), "%s/g/tmp", root);
	assert_int_equal(st_count_files(path), 0);
	store_free(&store);
	st_rmtree(root);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jobs_several_folders),
		cmocka_unit_test(test_failed_target),
		cmocka_unit_test(test_sync_job),
		cmocka_unit_test(test_sync_burst),
		cmocka_unit_test(test_sync_merge),
		cmocka_unit_test(test_pending_user),
		cmocka_unit_test(test_free_waits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
