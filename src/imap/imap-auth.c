/*
 * Password checks on worker threads (see imap-auth.h): a FIFO of waiting
 * requests on the loop's side, taken fairly by address,
 * AUTH_CHECKS_RUNNING handed to a lib/workpool.h pool at a time, results
 * back through a lib/completion.h queue.
 */
#include "imap/imap-auth.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "directory/directory.h"
#include "lib/completion.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/stats.h"
#include "lib/workpool.h"
#include "lib/xmalloc.h"

struct imap_auth_req {
	struct imap_auth *auth;
	struct completion done;		/* posted by the worker */
	struct imap_auth_req *next;	/* in auth's waiting FIFO */
	char *ip;			/* the client's address */
	struct event *hold_ev;		/* holding before it waits; NULL
					   once it waits or runs */
	char *stored;			/* wiped once checked */
	char *password;			/* wiped once checked */
	bool matched;			/* the worker's result */
	bool running;			/* handed to the pool */
	bool cancelled;			/* cb is not to be called */
	imap_auth_done_cb *cb;
	void *ctx;
};

struct imap_auth {
	struct event_base *base;
	struct workpool *pool;
	struct completion_queue *done;
	/* Waiting, oldest first */
	struct imap_auth_req *head, *tail;
	size_t waiting;
	/* Handed to the pool; NULL slots are free */
	struct imap_auth_req *running[AUTH_CHECKS_RUNNING];
	size_t running_count;
};

struct imap_auth *
imap_auth_new(struct event_base *base)
{
	struct imap_auth *auth = xcalloc(1, sizeof(*auth));

	auth->base = base;
	auth->pool = workpool_new("imap-auth", AUTH_WORKERS);
	auth->done = completion_queue_new(base, "imap-auth");
	return auth;
}

static void
req_free(struct imap_auth_req *req)
{
	directory_secret_free(&req->stored);
	directory_secret_free(&req->password);
	if (req->hold_ev != NULL)
		event_free(req->hold_ev);
	free(req->ip);
	free(req);
}

void
imap_auth_free(struct imap_auth **authp)
{
	struct imap_auth *auth = *authp;
	struct imap_auth_req *req, *next;

	if (auth == NULL)
		return;
	*authp = NULL;
	for (req = auth->head; req != NULL; req = next) {
		next = req->next;
		req_free(req);
	}
	auth->head = auth->tail = NULL;
	/* The running checks finish and post; then their completions
	 * (all cancelled) free them. */
	workpool_free(&auth->pool);
	completion_queue_free(&auth->done);
	free(auth);
}

static void done_cb(struct completion *item);

/* On a worker thread. */
static void
check_cb(void *arg)
{
	struct imap_auth_req *req = arg;

	req->matched = directory_password_check(req->password, req->stored);
	directory_secret_free(&req->stored);
	directory_secret_free(&req->password);
	completion_post(req->auth->done, &req->done, done_cb);
}

/* Take *pp (a link of the waiting FIFO) out of it. */
static struct imap_auth_req *
unlink_waiting(struct imap_auth *auth, struct imap_auth_req **pp)
{
	struct imap_auth_req *req = *pp, *r;

	*pp = req->next;
	if (auth->tail == req) {
		auth->tail = NULL;
		for (r = auth->head; r != NULL; r = r->next)
			auth->tail = r;
	}
	req->next = NULL;
	auth->waiting--;
	return req;
}

static void
start(struct imap_auth *auth, struct imap_auth_req *req)
{
	size_t i;

	for (i = 0; auth->running[i] != NULL; i++)
		;
	auth->running[i] = req;
	auth->running_count++;
	req->running = true;
	mb_stats.imap_password_checks_total++;
	workpool_submit(auth->pool, check_cb, req);
}

static bool
ip_running(const struct imap_auth *auth, const char *ip)
{
	size_t i;

	for (i = 0; i < AUTH_CHECKS_RUNNING; i++)
		if (auth->running[i] != NULL &&
		    strcmp(auth->running[i]->ip, ip) == 0)
			return true;
	return false;
}

/* Start waiting requests while there is room: the oldest from an
 * address with nothing running, or else the oldest. */
static void
start_waiting(struct imap_auth *auth)
{
	struct imap_auth_req **pp, **pick;

	while (auth->pool != NULL &&
	    auth->running_count < AUTH_CHECKS_RUNNING && auth->head != NULL) {
		pick = &auth->head;
		for (pp = &auth->head; *pp != NULL; pp = &(*pp)->next)
			if (!ip_running(auth, (*pp)->ip)) {
				pick = pp;
				break;
			}
		start(auth, unlink_waiting(auth, pick));
	}
}

/* On the loop. */
static void
done_cb(struct completion *item)
{
	struct imap_auth_req *req = COMPLETION_ENTRY(item,
	    struct imap_auth_req, done);
	struct imap_auth *auth = req->auth;

	for (size_t i = 0; i < AUTH_CHECKS_RUNNING; i++)
		if (auth->running[i] == req)
			auth->running[i] = NULL;
	auth->running_count--;
	if (!req->cancelled)
		req->cb(req->ctx, req->matched);
	req_free(req);
	start_waiting(auth);
}

/* Join the waiting FIFO, and start if there is room. */
static void
enqueue(struct imap_auth *auth, struct imap_auth_req *req)
{
	if (auth->tail != NULL)
		auth->tail->next = req;
	else
		auth->head = req;
	auth->tail = req;
	auth->waiting++;
	start_waiting(auth);
}

static void
hold_cb(evutil_socket_t fd, short what, void *arg)
{
	struct imap_auth_req *req = arg;

	(void)fd;
	(void)what;
	event_free(req->hold_ev);
	req->hold_ev = NULL;
	enqueue(req->auth, req);
}

struct imap_auth_req *
imap_auth_check(struct imap_auth *auth, const char *ip, unsigned hold_ms,
    char *stored, const char *password, imap_auth_done_cb *cb, void *ctx)
{
	struct imap_auth_req *req;
	struct timeval tv;

	if (auth->waiting >= AUTH_CHECKS_WAITING) {
		directory_secret_free(&stored);
		return NULL;
	}
	req = xcalloc(1, sizeof(*req));
	req->auth = auth;
	req->ip = xstrdup(ip);
	req->stored = stored;
	req->password = xstrdup(password);
	req->cb = cb;
	req->ctx = ctx;
	if (hold_ms == 0) {
		/* Through the FIFO even so: cb never runs from this call,
		 * and earlier requests go first. */
		enqueue(auth, req);
		return req;
	}
	/* Held, it costs no check and holds no place in the queue. */
	req->hold_ev = evtimer_new(auth->base, hold_cb, req);
	if (req->hold_ev == NULL)
		fatalx("imap: cannot create an event");
	tv.tv_sec = hold_ms / 1000;
	tv.tv_usec = (suseconds_t)(hold_ms % 1000) * 1000;
	evtimer_add(req->hold_ev, &tv);
	return req;
}

void
imap_auth_cancel(struct imap_auth_req **reqp)
{
	struct imap_auth_req *req = *reqp, **pp;
	struct imap_auth *auth;

	if (req == NULL)
		return;
	*reqp = NULL;
	if (req->running) {
		req->cancelled = true;	/* freed by done_cb */
		return;
	}
	if (req->hold_ev != NULL) {
		req_free(req);
		return;
	}
	auth = req->auth;
	for (pp = &auth->head; *pp != req; pp = &(*pp)->next)
		;
	req_free(unlink_waiting(auth, pp));
}
