/*
 * A completion queue run by an event loop (see completion.h): a
 * persistent read event on the queue's eventfd.
 */
#include "lib/completion-private.h"

#include <event2/event.h>

#include "lib/log.h"

static void
queue_ev_cb(evutil_socket_t fd, short what, void *ctx)
{
	(void)fd;
	(void)what;
	completion_queue_run(ctx);
}

static void
watch_free(void *watch)
{
	event_free(watch);
}

struct completion_queue *
completion_queue_new(struct event_base *base, const char *name)
{
	struct completion_queue *q = completion_queue_new_polled(name);
	struct event *ev;

	ev = event_new(base, q->efd, EV_READ | EV_PERSIST, queue_ev_cb, q);
	if (ev == NULL || event_add(ev, NULL) < 0)
		fatalx("%s: cannot create an event", name);
	q->watch = ev;
	q->watch_free = watch_free;
	return q;
}
