/*
 * Work finished on other threads (a lib/workpool.h job), handed back to
 * the thread that owns the queue: a worker posts an item, and the owner
 * runs the item's callback. One eventfd per queue wakes the owner; items
 * are intrusive, so posting never allocates and never fails.
 *
 * A queue made by completion_queue_new() is run by an event loop (its
 * code links libevent: lib_event_dep). One made by
 * completion_queue_new_polled() is run by its owner, which watches
 * completion_queue_fd() (poll(2), or an event of its own) and calls
 * completion_queue_run(); that half needs no libevent.
 */
#ifndef MB_LIB_COMPLETION_H
#define MB_LIB_COMPLETION_H

#include <stddef.h>

struct event_base;
struct completion;
struct completion_queue;

/* Runs on the owner's thread (the loop's), once per post. */
typedef void completion_cb(struct completion *item);

/* Embedded in the caller's record; set up by completion_post(). An
 * item is posted again only once its callback has started. */
struct completion {
	struct completion *next;	/* queue order */
	completion_cb *cb;
};

/* The record of type that holds the completion item as member. */
#define COMPLETION_ENTRY(item, type, member) \
	((type *)(void *)((char *)(item) - offsetof(type, member)))

/* A queue whose callbacks run on base. name is kept (not copied) for
 * logs. Never NULL (an eventfd or event that cannot be made is fatal,
 * as it is at startup). In lib_event_dep. */
struct completion_queue *completion_queue_new(struct event_base *base,
    const char *name);
/* A queue whose callbacks run on the thread that calls
 * completion_queue_run(), when completion_queue_fd() is readable.
 * Otherwise as completion_queue_new(). */
struct completion_queue *completion_queue_new_polled(const char *name);
/* Run what is posted already, then free the queue and set *queuep to
 * NULL. Nothing may be posted once this is called: stop the workers
 * first. */
void completion_queue_free(struct completion_queue **queuep);

/* From any thread: have cb(item) run on the owner's thread soon, in post
 * order. item must stay valid until then. */
void completion_post(struct completion_queue *queue, struct completion *item,
    completion_cb *cb);
/* Run on the calling (owner's) thread every item posted so far. */
void completion_queue_run(struct completion_queue *queue);
/* A descriptor that is readable while posted items wait to be run. It
 * stays the queue's: do not read or close it. */
int completion_queue_fd(const struct completion_queue *queue);

#endif
