/* Unit tests for lib/workpool.c: FIFO submission, run_all, draining
 * on free, and run_all from several threads at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "lib/workpool.h"

/* ---- submit ---- */

struct order {
	pthread_mutex_t lock;
	int seen[200];
	size_t count;
};

struct order_item {
	struct order *order;
	int value;
};

static void
order_cb(void *arg)
{
	struct order_item *item = arg;

	pthread_mutex_lock(&item->order->lock);
	item->order->seen[item->order->count++] = item->value;
	pthread_mutex_unlock(&item->order->lock);
}

static void
test_submit_fifo(void **state)
{
	struct workpool *pool = workpool_new("test-fifo", 1);
	struct order order = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct order_item items[200];
	size_t i;

	(void)state;
	assert_int_equal(workpool_threads(pool), 1);
	for (i = 0; i < 200; i++) {
		items[i].order = &order;
		items[i].value = (int)i;
		workpool_submit(pool, order_cb, &items[i]);
	}
	/* free runs whatever is still queued before it returns */
	workpool_free(&pool);
	assert_null(pool);
	assert_int_equal(order.count, 200);
	for (i = 0; i < 200; i++)
		assert_int_equal(order.seen[i], (int)i);
	workpool_free(&pool);	/* NULL: no-op */
}

/* A gate a piece of work waits at until the test opens it. */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool open;
	bool entered;
};

static void
gate_cb(void *arg)
{
	struct gate *g = arg;

	pthread_mutex_lock(&g->lock);
	g->entered = true;
	pthread_cond_broadcast(&g->cond);
	while (!g->open)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

static void
gate_wait_entered(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	while (!g->entered)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

static void
gate_open(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->open = true;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

static atomic_int counter;

static void
count_cb(void *arg)
{
	(void)arg;
	atomic_fetch_add(&counter, 1);
}

static void
test_free_runs_queued(void **state)
{
	struct workpool *pool = workpool_new("test-drain", 2);
	struct gate g = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
	    false, false };
	int i;

	(void)state;
	atomic_store(&counter, 0);
	workpool_submit(pool, gate_cb, &g);
	gate_wait_entered(&g);
	for (i = 0; i < 500; i++)
		workpool_submit(pool, count_cb, NULL);
	gate_open(&g);
	workpool_free(&pool);
	assert_int_equal(atomic_load(&counter), 500);
}

/* Work that submits more work while the pool is being freed. */
struct chain {
	struct workpool *pool;
	atomic_int left;
};

static void
chain_cb(void *arg)
{
	struct chain *c = arg;

	if (atomic_fetch_sub(&c->left, 1) > 1)
		workpool_submit(c->pool, chain_cb, c);
}

static void
test_free_runs_resubmitted(void **state)
{
	struct chain c;

	(void)state;
	c.pool = workpool_new("test-chain", 3);
	atomic_init(&c.left, 100);
	workpool_submit(c.pool, chain_cb, &c);
	workpool_free(&c.pool);
	assert_int_equal(atomic_load(&c.left), 0);
}

/* ---- run_all ---- */

struct slot {
	atomic_int runs;
	pthread_t thread;
};

static void
slot_cb(void *arg)
{
	struct slot *s = arg;

	atomic_fetch_add(&s->runs, 1);
	s->thread = pthread_self();
}

static void
test_run_all_sizes(void **state)
{
	struct workpool *pool = workpool_new("test-runall", 4);
	static struct slot slots[1000];
	size_t i;

	(void)state;
	memset(slots, 0, sizeof(slots));
	workpool_run_all(pool, slot_cb, slots, 0, sizeof(slots[0]));
	assert_int_equal(atomic_load(&slots[0].runs), 0);

	workpool_run_all(pool, slot_cb, slots, 1, sizeof(slots[0]));
	assert_int_equal(atomic_load(&slots[0].runs), 1);
	assert_true(pthread_equal(slots[0].thread, pthread_self()));
	assert_int_equal(atomic_load(&slots[1].runs), 0);

	memset(slots, 0, sizeof(slots));
	workpool_run_all(pool, slot_cb, slots, 1000, sizeof(slots[0]));
	for (i = 0; i < 1000; i++)
		assert_int_equal(atomic_load(&slots[i].runs), 1);

	/* Fewer items than threads. */
	memset(slots, 0, sizeof(slots));
	workpool_run_all(pool, slot_cb, slots, 3, sizeof(slots[0]));
	for (i = 0; i < 3; i++)
		assert_int_equal(atomic_load(&slots[i].runs), 1);
	assert_int_equal(atomic_load(&slots[3].runs), 0);
	workpool_free(&pool);
}

/* A pool whose only thread is busy: run_all does every item on the
 * calling thread and does not wait for the busy one. */
static void
test_run_all_busy_pool(void **state)
{
	struct workpool *pool = workpool_new("test-busy", 1);
	struct gate g = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
	    false, false };
	static struct slot slots[50];
	size_t i;

	(void)state;
	memset(slots, 0, sizeof(slots));
	workpool_submit(pool, gate_cb, &g);
	gate_wait_entered(&g);
	workpool_run_all(pool, slot_cb, slots, 50, sizeof(slots[0]));
	for (i = 0; i < 50; i++) {
		assert_int_equal(atomic_load(&slots[i].runs), 1);
		assert_true(pthread_equal(slots[i].thread, pthread_self()));
	}
	gate_open(&g);
	workpool_free(&pool);
}

struct runner {
	struct workpool *pool;
	struct slot slots[2000];
};

static void *
runner_main(void *arg)
{
	struct runner *r = arg;
	int round;

	for (round = 0; round < 20; round++)
		workpool_run_all(r->pool, slot_cb, r->slots, 2000,
		    sizeof(r->slots[0]));
	return NULL;
}

static void
test_run_all_concurrent(void **state)
{
	static struct runner a, b;
	pthread_t ta, tb;
	size_t i;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.pool = b.pool = workpool_new("test-conc", 3);
	assert_int_equal(pthread_create(&ta, NULL, runner_main, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, runner_main, &b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	for (i = 0; i < 2000; i++) {
		assert_int_equal(atomic_load(&a.slots[i].runs), 20);
		assert_int_equal(atomic_load(&b.slots[i].runs), 20);
	}
	workpool_free(&a.pool);
}

/* run_all called by work running on the same pool. */
struct nested {
	struct workpool *pool;
	struct slot slots[100];
	atomic_bool done;
};

static void
nested_cb(void *arg)
{
	struct nested *n = arg;

	workpool_run_all(n->pool, slot_cb, n->slots, 100, sizeof(n->slots[0]));
	atomic_store(&n->done, true);
}

static void
test_run_all_from_pool_thread(void **state)
{
	static struct nested n;
	size_t i;

	(void)state;
	memset(&n, 0, sizeof(n));
	n.pool = workpool_new("test-nested", 2);
	workpool_submit(n.pool, nested_cb, &n);
	workpool_free(&n.pool);
	assert_true(atomic_load(&n.done));
	for (i = 0; i < 100; i++)
		assert_int_equal(atomic_load(&n.slots[i].runs), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_submit_fifo),
		cmocka_unit_test(test_free_runs_queued),
		cmocka_unit_test(test_free_runs_resubmitted),
		cmocka_unit_test(test_run_all_sizes),
		cmocka_unit_test(test_run_all_busy_pool),
		cmocka_unit_test(test_run_all_concurrent),
		cmocka_unit_test(test_run_all_from_pool_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
