/*
 * Completions from worker threads back to the owner (see completion.h):
 * a locked list and an eventfd written when the list becomes non-empty.
 * The event that runs a queue on a loop is in completion-loop.c.
 */
#include "lib/completion-private.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/xmalloc.h"

struct completion_queue *
completion_queue_new_polled(const char *name)
{
	struct completion_queue *q = xcalloc(1, sizeof(*q));

	q->name = name;
	if ((q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		fatal("%s: eventfd", name);
	pthread_mutex_init(&q->lock, NULL);
	return q;
}

void
completion_queue_free(struct completion_queue **queuep)
{
	struct completion_queue *q = *queuep;

	if (q == NULL)
		return;
	completion_queue_run(q);
	*queuep = NULL;
	if (q->watch != NULL)
		q->watch_free(q->watch);
	close(q->efd);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

void
completion_post(struct completion_queue *q, struct completion *item,
    completion_cb *cb)
{
	uint64_t one = 1;
	bool was_empty;

	item->cb = cb;
	item->next = NULL;
	pthread_mutex_lock(&q->lock);
	was_empty = q->head == NULL;
	if (was_empty)
		q->head = item;
	else
		q->tail->next = item;
	q->tail = item;
	/* One wake-up per batch: the loop takes the whole list. */
	if (was_empty && write(q->efd, &one, sizeof(one)) < 0 &&
	    errno != EAGAIN)
		log_warn("%s: eventfd", q->name);
	pthread_mutex_unlock(&q->lock);
}

void
completion_queue_run(struct completion_queue *q)
{
	struct completion *item, *next;
	uint64_t count;

	/* Reset the eventfd first; an empty read (EAGAIN) is fine. */
	if (read(q->efd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		log_warn("%s: eventfd", q->name);
	pthread_mutex_lock(&q->lock);
	item = q->head;
	q->head = q->tail = NULL;
	pthread_mutex_unlock(&q->lock);
	for (; item != NULL; item = next) {
		next = item->next;	/* the callback may free item */
		item->cb(item);
	}
}

int
completion_queue_fd(const struct completion_queue *q)
{
	return q->efd;
}
