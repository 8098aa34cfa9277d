/*
 * Persistent worker threads with one FIFO queue under a mutex and a
 * condition variable, and run_all batches that the caller works on
 * alongside the pool (see workpool.h for the contract).
 */
#include "lib/workpool.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "lib/log.h"
#include "lib/xmalloc.h"

/* One queued piece of work. */
struct workpool_task {
	struct workpool_task *next;
	workpool_cb *fn;
	void *arg;
	bool allocated;		/* made by workpool_submit: the thread that
				   takes it frees it */
};

struct workpool {
	/* Fixed at workpool_new(). */
	char name[WORKPOOL_NAME_MAX + 1];
	pthread_t *threads;
	size_t nthreads;

	/* Under lock. */
	pthread_mutex_t lock;
	pthread_cond_t work_cond;	/* work queued, or stopping */
	pthread_cond_t done_cond;	/* a run_all helper finished */
	struct workpool_task *head;
	struct workpool_task *tail;
	bool stopping;
};

/* One workpool_run_all() call; lives on its caller's stack. */
struct workpool_batch {
	struct workpool *pool;
	workpool_cb *fn;
	unsigned char *items;
	size_t n;
	size_t item_size;
	atomic_size_t next;		/* next item to take */

	/* Under the pool's lock: helpers queued or running. The caller
	 * returns only once it is 0, so none touches the batch after. */
	size_t helpers;
	struct workpool_task *tasks;	/* the helpers' queue entries */
};

static void
queue_push(struct workpool *pool, struct workpool_task *task)
{
	task->next = NULL;
	if (pool->tail != NULL)
		pool->tail->next = task;
	else
		pool->head = task;
	pool->tail = task;
}

/* Remove task from the queue if it is still there; true if it was. */
static bool
queue_remove(struct workpool *pool, struct workpool_task *task)
{
	struct workpool_task **pp, *prev = NULL;

	for (pp = &pool->head; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
		if (*pp != task)
			continue;
		*pp = task->next;
		if (pool->tail == task)
			pool->tail = prev;
		return true;
	}
	return false;
}

static void *
worker_main(void *arg)
{
	struct workpool *pool = arg;
	struct workpool_task *task, copy;

	pthread_mutex_lock(&pool->lock);
	for (;;) {
		while (pool->head == NULL && !pool->stopping)
			pthread_cond_wait(&pool->work_cond, &pool->lock);
		if ((task = pool->head) == NULL)
			break;
		pool->head = task->next;
		if (pool->head == NULL)
			pool->tail = NULL;
		pthread_mutex_unlock(&pool->lock);

		copy = *task;
		if (copy.allocated)
			free(task);
		copy.fn(copy.arg);

		pthread_mutex_lock(&pool->lock);
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

struct workpool *
workpool_new(const char *name, size_t nthreads)
{
	struct workpool *pool = xcalloc(1, sizeof(*pool));
	size_t i;
	int err;

	if (nthreads == 0)
		nthreads = 1;
	(void)snprintf(pool->name, sizeof(pool->name), "%s", name);
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->work_cond, NULL);
	pthread_cond_init(&pool->done_cond, NULL);
	pool->threads = xcalloc(nthreads, sizeof(*pool->threads));
	for (i = 0; i < nthreads; i++) {
		if ((err = pthread_create(&pool->threads[i], NULL, worker_main,
		    pool)) != 0) {
			errno = err;
			fatal("%s: pthread_create", pool->name);
		}
		(void)pthread_setname_np(pool->threads[i], pool->name);
		pool->nthreads++;
	}
	return pool;
}

void
workpool_free(struct workpool **poolp)
{
	struct workpool *pool = *poolp;
	size_t i;

	if (pool == NULL)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->stopping = true;
	pthread_cond_broadcast(&pool->work_cond);
	pthread_mutex_unlock(&pool->lock);
	for (i = 0; i < pool->nthreads; i++)
		pthread_join(pool->threads[i], NULL);
	pthread_cond_destroy(&pool->work_cond);
	pthread_cond_destroy(&pool->done_cond);
	pthread_mutex_destroy(&pool->lock);
	free(pool->threads);
	free(pool);
	*poolp = NULL;
}

void
workpool_submit(struct workpool *pool, workpool_cb *fn, void *arg)
{
	struct workpool_task *task = xcalloc(1, sizeof(*task));

	task->fn = fn;
	task->arg = arg;
	task->allocated = true;
	pthread_mutex_lock(&pool->lock);
	queue_push(pool, task);
	pthread_cond_signal(&pool->work_cond);
	pthread_mutex_unlock(&pool->lock);
}

/* Take and run items until none is left. */
static void
batch_work(struct workpool_batch *b)
{
	size_t i;

	while ((i = atomic_fetch_add(&b->next, 1)) < b->n)
		b->fn(b->items + i * b->item_size);
}

/* A pool thread's share of a batch. Runs with the batch's helpers
 * counting it, so the batch outlives this. */
static void
batch_help_cb(void *arg)
{
	struct workpool_batch *b = arg;
	struct workpool *pool = b->pool;

	batch_work(b);
	pthread_mutex_lock(&pool->lock);
	if (--b->helpers == 0)
		pthread_cond_broadcast(&pool->done_cond);
	pthread_mutex_unlock(&pool->lock);
}

void
workpool_run_all(struct workpool *pool, workpool_cb *fn, void *items,
    size_t n, size_t item_size)
{
	struct workpool_batch b;
	size_t i, nhelpers;

	if (n == 0)
		return;
	if (n == 1) {
		fn(items);
		return;
	}
	memset(&b, 0, sizeof(b));
	b.pool = pool;
	b.fn = fn;
	b.items = items;
	b.n = n;
	b.item_size = item_size;
	atomic_init(&b.next, 0);
	nhelpers = n - 1 < pool->nthreads ? n - 1 : pool->nthreads;
	b.tasks = xcalloc(nhelpers, sizeof(*b.tasks));

	pthread_mutex_lock(&pool->lock);
	for (i = 0; i < nhelpers; i++) {
		b.tasks[i].fn = batch_help_cb;
		b.tasks[i].arg = &b;
		queue_push(pool, &b.tasks[i]);
	}
	b.helpers = nhelpers;
	if (nhelpers > 1)
		pthread_cond_broadcast(&pool->work_cond);
	else
		pthread_cond_signal(&pool->work_cond);
	pthread_mutex_unlock(&pool->lock);

	batch_work(&b);

	/* Every item is taken. Helpers still queued have nothing to do:
	 * take them out rather than wait for a thread to reach them. */
	pthread_mutex_lock(&pool->lock);
	for (i = 0; i < nhelpers; i++) {
		if (queue_remove(pool, &b.tasks[i]))
			b.helpers--;
	}
	while (b.helpers > 0)
		pthread_cond_wait(&pool->done_cond, &pool->lock);
	pthread_mutex_unlock(&pool->lock);
	free(b.tasks);
}

size_t
workpool_threads(const struct workpool *pool)
{
	return pool->nthreads;
}
