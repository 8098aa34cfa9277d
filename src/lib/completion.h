/*
 * Work finished on other threads (a lib/workpool.h job), handed back to
 * the event loop: a worker posts an item, and the loop runs the item's
 * callback. One eventfd per queue wakes the loop; items are intrusive,
 * so posting never allocates and never fails.
 */
#ifndef MB_LIB_COMPLETION_H
#define MB_LIB_COMPLETION_H

#include <event2/event.h>

struct completion;
struct completion_queue;

/* Runs on the loop's thread, once per post. */
typedef void completion_cb(struct completion *item);

/* Embedded in the caller's record; set up by completion_post(). */
struct completion {
	struct completion *next;	/* queue order */
	completion_cb *cb;
};

/* A queue whose callbacks run on base. Never NULL (an eventfd that
 * cannot be made is fatal, as it is at startup). */
struct completion_queue *completion_queue_new(struct event_base *base,
    const char *name);
/* Run what is posted already, then free the queue and set *queuep to
 * NULL. Nothing may be posted once this is called: stop the workers
 * first. */
void completion_queue_free(struct completion_queue **queuep);

/* From any thread: have cb(item) run on the loop soon, in post order.
 * item must stay valid until then. */
void completion_post(struct completion_queue *queue, struct completion *item,
    completion_cb *cb);
/* Run on the calling (loop) thread every item posted so far. */
void completion_queue_run(struct completion_queue *queue);

#endif
