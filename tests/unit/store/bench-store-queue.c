/*
 * Delivery rate of the store queue with fsync, as an LMTP client would
 * see it: "streams" jobs in flight at once (one per connection), each
 * queued again as soon as the previous one completes. Not a unit test;
 * run by hand: bench-store-queue [dir] [messages] [streams] [folders].
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "store/store.h"

struct bench {
	struct store_queue *queue;
	int left;		/* jobs still to queue */
	int done;
	int failed;
	int folders;
	unsigned char body[4096];
};

static void queue_one(struct bench *b);

static void
done_cb(struct store_job *job, void *ctx)
{
	struct bench *b = ctx;
	const char *error;
	uint32_t uidvalidity, uid;

	if (store_job_result(job, 0, &uidvalidity, &uid, &error) < 0) {
		fprintf(stderr, "delivery failed: %s\n", error);
		b->failed++;
	}
	b->done++;
	store_job_free(&job);
	queue_one(b);
}

static void
queue_one(struct bench *b)
{
	struct store_job *job;
	unsigned char *body;
	char user[32];

	if (b->left == 0)
		return;
	b->left--;
	body = malloc(sizeof(b->body));
	memcpy(body, b->body, sizeof(b->body));
	job = store_job_new(body, sizeof(b->body));
	snprintf(user, sizeof(user), "bench%d", b->left % b->folders);
	(void)store_job_add_target(job, user, "INBOX", "Delivered-To: x\n");
	store_queue_job(b->queue, job, done_cb, b);
}

static double
now(void)
{
	return (double)clock_now_us() / 1e6;
}

int
main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/tmp/mailbell-bench";
	int total = argc > 2 ? atoi(argv[2]) : 2000;
	int streams = argc > 3 ? atoi(argv[3]) : 1;
	struct bench b;
	struct store *store;
	struct pollfd pfd;
	double t0, t;
	int i;

	memset(&b, 0, sizeof(b));
	b.folders = argc > 4 ? atoi(argv[4]) : 1;
	memset(b.body, 'x', sizeof(b.body));
	for (i = 0; i < (int)sizeof(b.body); i += 64)
		b.body[i] = '\n';
	store = store_new(dir, "bench.example");
	b.queue = store_queue_new(store);
	b.left = total;
	t0 = now();
	for (i = 0; i < streams; i++)
		queue_one(&b);
	pfd.fd = store_queue_fd(b.queue);
	pfd.events = POLLIN;
	while (b.done < total) {
		(void)poll(&pfd, 1, 1000);
		store_queue_reap(b.queue);
	}
	t = now() - t0;
	printf("%d messages of 4 KiB, %d streams, %d folders: %.2f s, "
	    "%.0f msg/s%s\n", total, streams, b.folders, t, total / t,
	    b.failed ? " (failures!)" : "");
	store_queue_free(&b.queue);
	store_free(&store);
	return b.failed ? 1 : 0;
}
