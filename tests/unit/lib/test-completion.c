/* Unit tests for lib/completion.c: work done on pool threads comes back
 * to the loop, every item once, in post order per thread; a polled
 * queue is run by its owner through its descriptor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <event2/event.h>
#include <poll.h>

#include "lib/completion.h"
#include "lib/workpool.h"

#define ITEMS 1000

struct item {
	struct completion done;		/* first: the callback casts */
	struct completion_queue *queue;
	int value;
	int result;			/* set by the worker */
	int *seen;			/* counts callbacks, on the loop */
	struct event_base *base;
};

static void
item_done_cb(struct completion *c)
{
	struct item *it = (struct item *)(void *)c;

	assert_int_equal(it->result, it->value * 2);
	if (++*it->seen == ITEMS)
		event_base_loopbreak(it->base);
}

static completion_cb count_cb;

static void
work_cb(void *arg)
{
	struct item *it = arg;

	it->result = it->value * 2;
	completion_post(it->queue, &it->done,
	    it->base != NULL ? item_done_cb : count_cb);
}

static void
test_roundtrip(void **state)
{
	struct event_base *base = event_base_new();
	struct completion_queue *q = completion_queue_new(base, "test");
	struct workpool *pool = workpool_new("test", 3);
	static struct item items[ITEMS];
	int seen = 0, i;

	(void)state;
	for (i = 0; i < ITEMS; i++) {
		items[i].queue = q;
		items[i].value = i;
		items[i].seen = &seen;
		items[i].base = base;
		workpool_submit(pool, work_cb, &items[i]);
	}
	assert_int_equal(event_base_dispatch(base), 0);
	assert_int_equal(seen, ITEMS);
	workpool_free(&pool);
	completion_queue_free(&q);
	assert_null(q);
	event_base_free(base);
}

/* Posted items not yet run when the queue is freed still run. */
static void
test_free_runs_pending(void **state)
{
	struct event_base *base = event_base_new();
	struct completion_queue *q = completion_queue_new(base, "test");
	static struct item items[ITEMS];
	int seen = 0, i;

	(void)state;
	for (i = 0; i < 10; i++) {
		items[i].value = i;
		items[i].result = 2 * i;
		items[i].seen = &seen;
		items[i].base = base;
		completion_post(q, &items[i].done, item_done_cb);
	}
	completion_queue_free(&q);
	assert_int_equal(seen, 10);
	event_base_free(base);
}

static void
count_cb(struct completion *c)
{
	struct item *it = COMPLETION_ENTRY(c, struct item, done);

	assert_int_equal(it->result, it->value * 2);
	++*it->seen;
}

/* A polled queue: its owner polls the descriptor, readable while items
 * wait and not once they have run, and runs the queue. */
static void
test_owner_runs(void **state)
{
	struct completion_queue *q = completion_queue_new_polled("test");
	struct workpool *pool = workpool_new("test", 3);
	struct pollfd pfd = { .fd = completion_queue_fd(q), .events = POLLIN };
	static struct item items[ITEMS];
	int seen = 0, rounds = 0, i;

	(void)state;
	assert_int_equal(poll(&pfd, 1, 0), 0);
	for (i = 0; i < ITEMS; i++) {
		items[i].queue = q;
		items[i].value = i;
		items[i].seen = &seen;
		workpool_submit(pool, work_cb, &items[i]);
	}
	while (seen < ITEMS && rounds++ < 10000) {
		if (poll(&pfd, 1, 10000) == 1)
			completion_queue_run(q);
	}
	assert_int_equal(seen, ITEMS);
	assert_int_equal(poll(&pfd, 1, 0), 0);
	workpool_free(&pool);
	completion_queue_free(&q);
	assert_null(q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_free_runs_pending),
		cmocka_unit_test(test_owner_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
