/*
 * A pool of persistent worker threads: the one home for running work
 * off the caller's thread, so that no module starts threads of its own
 * per request (a pthread_create per batch costs more than the batch).
 *
 * Two ways to use a pool:
 *  - workpool_submit() queues one piece of work; the threads take the
 *    queue in FIFO order (with more than one thread, pieces started in
 *    order may still finish out of order). Completions go back to their
 *    owner by whatever means the owner chooses (an eventfd, a cond).
 *  - workpool_run_all() runs a function over an array of items on the
 *    pool and on the calling thread at once, and returns when every
 *    item is done: for a batch of independent blocking calls (fsyncs)
 *    that should overlap.
 *
 * Threads: every call may be made from any thread, including a pool
 * thread (a piece of work may submit more work, or call
 * workpool_run_all() on any pool; run_all never waits for a pool thread
 * to become free: the caller does the items nobody took).
 */
#ifndef MB_LIB_WORKPOOL_H
#define MB_LIB_WORKPOOL_H

#include <stddef.h>

struct workpool;

/* A piece of work; runs on a pool thread (or, for run_all, possibly on
 * the calling thread). */
typedef void workpool_cb(void *arg);

/* Longest thread name; longer names are cut (Linux: 15 bytes). */
#define WORKPOOL_NAME_MAX 15

/*
 * Start nthreads (>= 1) threads named name (for ps, top and debuggers;
 * cut to WORKPOOL_NAME_MAX). Never NULL: failing to start a thread is
 * fatal, as it is at startup.
 */
struct workpool *workpool_new(const char *name, size_t nthreads);

/*
 * Run everything queued (also what that work submits meanwhile), stop
 * and join the threads, free the pool and set *poolp to NULL. NULL
 * *poolp is a no-op. Once this is called, only the pool's own threads
 * (the work running on them) may still submit or run_all on it.
 */
void workpool_free(struct workpool **poolp);

/* Queue fn(arg) behind the work queued before (FIFO). Does not block
 * on the work. */
void workpool_submit(struct workpool *pool, workpool_cb *fn, void *arg);

/*
 * Call fn(item) for each of the n items of the array items (item_size
 * bytes each) on the pool's idle threads and on the calling thread, and
 * return when all n calls have returned. Items are taken in array order;
 * each is run exactly once. n == 0 returns at once; n == 1 runs on the
 * calling thread. Several threads may run_all on the same pool at once:
 * each waits only for its own items.
 */
void workpool_run_all(struct workpool *pool, workpool_cb *fn, void *items,
    size_t n, size_t item_size);

/* Number of threads of the pool. */
size_t workpool_threads(const struct workpool *pool);

#endif
