/*
 * The completion queue, shared by its two halves: completion.c (the
 * queue itself, no libevent) and completion-loop.c (the event that runs
 * it on a loop).
 */
#ifndef MB_LIB_COMPLETION_PRIVATE_H
#define MB_LIB_COMPLETION_PRIVATE_H

#include <pthread.h>

#include "lib/completion.h"

struct completion_queue {
	const char *name;		/* for logs (not copied) */
	int efd;			/* readable while items wait */
	pthread_mutex_t lock;		/* guards head and tail */
	struct completion *head, *tail;
	/* Set by completion_queue_new(): the loop's event on efd, freed
	 * by watch_free() before efd is closed; NULL when polled. */
	void *watch;
	void (*watch_free)(void *watch);
};

#endif
