/*
 * The listeners, session lists, admission counts and drained shutdown
 * that LMTP and IMAP share (see service.h).
 */
#include "lib/service.h"

#include <string.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "lib/clock.h"
#include "lib/limits.h"
#include "lib/log.h"

static void
drained_ev_cb(evutil_socket_t fd, short what, void *ctx)
{
	struct service *svc = ctx;
	void (*cb)(void *) = svc->drained_cb;

	(void)fd;
	(void)what;
	/* Once only, even if the callback frees the service. */
	svc->drained_cb = NULL;
	if (cb != NULL)
		cb(svc->drained_ctx);
}

void
service_init(struct service *svc, struct event_base *base, const char *name,
    listener_accept_cb *accept_cb, void *ctx)
{
	memset(svc, 0, sizeof(*svc));
	svc->base = base;
	svc->name = name;
	svc->accept_cb = accept_cb;
	svc->accept_ctx = ctx;
	svc->grace_ms = SERVICE_SHUTDOWN_GRACE_SECS * 1000;
	svc->drained_ev = event_new(base, -1, 0, drained_ev_cb, svc);
	if (svc->drained_ev == NULL)
		fatalx("%s: cannot create an event", name);
}

void
service_deinit(struct service *svc)
{
	listener_set_free(&svc->listeners);
	listener_set_free(&svc->tls_listeners);
	svc->drained_cb = NULL;
	if (svc->grace_ev != NULL) {
		event_free(svc->grace_ev);
		svc->grace_ev = NULL;
	}
	if (svc->drained_ev != NULL) {
		event_free(svc->drained_ev);
		svc->drained_ev = NULL;
	}
}

int
service_listen(struct service *svc, evutil_socket_t fd)
{
	if (svc->listeners == NULL)
		svc->listeners = listener_set_new(svc->base, svc->name,
		    svc->accept_cb, svc->accept_ctx);
	return listener_set_add(svc->listeners, fd);
}

int
service_listen_tls(struct service *svc, evutil_socket_t fd,
    listener_accept_cb *accept_cb)
{
	if (svc->tls_listeners == NULL)
		svc->tls_listeners = listener_set_new(svc->base, svc->name,
		    accept_cb, svc->accept_ctx);
	return listener_set_add(svc->tls_listeners, fd);
}

void
service_add(struct service *svc, struct service_link *link)
{
	link->prev = NULL;
	link->next = svc->sessions;
	if (svc->sessions != NULL)
		svc->sessions->prev = link;
	svc->sessions = link;
	svc->session_count++;
}

void
service_remove(struct service *svc, struct service_link *link)
{
	service_set_yieldable(svc, link, false);
	if (link->prev != NULL)
		link->prev->next = link->next;
	else
		svc->sessions = link->next;
	if (link->next != NULL)
		link->next->prev = link->prev;
	link->prev = link->next = NULL;
	svc->session_count--;
	service_check_drained(svc);
}

/* The grace has passed: every session left closes now. */
static void
grace_ev_cb(evutil_socket_t fd, short what, void *ctx)
{
	struct service *svc = ctx;
	struct service_link *l, *next;

	(void)fd;
	(void)what;
	if (svc->session_count == 0)
		return;
	log_info("%s: %zu sessions did not finish within %u ms of the "
	    "shutdown: closing them", svc->name, svc->session_count,
	    svc->grace_ms);
	svc->shutdown_expired = true;
	for (l = svc->sessions; l != NULL; l = next) {
		next = l->next;
		svc->kill_cb(l);
	}
}

void
service_shutdown(struct service *svc, service_stop_cb *stop_cb,
    service_kill_cb *kill_cb, void (*drained_cb)(void *ctx), void *ctx)
{
	struct timeval grace;
	struct service_link *l, *next;

	svc->shutting_down = true;
	svc->kill_cb = kill_cb;
	grace.tv_sec = (time_t)(svc->grace_ms / 1000);
	grace.tv_usec = (suseconds_t)(svc->grace_ms % 1000) * 1000;
	svc->grace_ev = evtimer_new(svc->base, grace_ev_cb, svc);
	if (svc->grace_ev == NULL || evtimer_add(svc->grace_ev, &grace) < 0)
		fatalx("%s: cannot create an event", svc->name);
	svc->drained_cb = drained_cb;
	svc->drained_ctx = ctx;
	if (svc->listeners != NULL)
		listener_set_close(svc->listeners);
	if (svc->tls_listeners != NULL)
		listener_set_close(svc->tls_listeners);
	for (l = svc->sessions; l != NULL; l = next) {
		next = l->next;
		stop_cb(l);
	}
	service_check_drained(svc);
}

void
service_check_drained(struct service *svc)
{
	if (svc->shutting_down && svc->session_count == 0 &&
	    svc->drained_cb != NULL)
		event_active(svc->drained_ev, EV_TIMEOUT, 0);
}

size_t
service_count_ip(const struct service *svc, const char *ip,
    size_t *yieldable_r)
{
	const struct service_link *l;
	size_t n = 0, y = 0;

	for (l = svc->sessions; l != NULL; l = l->next) {
		if (l->ip == NULL || strcmp(l->ip, ip) != 0)
			continue;
		n++;
		if (l->yieldable)
			y++;
	}
	if (yieldable_r != NULL)
		*yieldable_r = y;
	return n;
}

void
service_set_yieldable(struct service *svc, struct service_link *link,
    bool yieldable)
{
	if (link->yieldable == yieldable)
		return;
	link->yieldable = yieldable;
	if (yieldable) {
		link->yieldable_since_ms = clock_now_ms();
		link->yield_next = NULL;
		link->yield_prev = svc->yield_newest;
		if (svc->yield_newest != NULL)
			svc->yield_newest->yield_next = link;
		else
			svc->yield_oldest = link;
		svc->yield_newest = link;
		svc->yield_count++;
		return;
	}
	if (link->yield_prev != NULL)
		link->yield_prev->yield_next = link->yield_next;
	else
		svc->yield_oldest = link->yield_next;
	if (link->yield_next != NULL)
		link->yield_next->yield_prev = link->yield_prev;
	else
		svc->yield_newest = link->yield_prev;
	link->yield_prev = link->yield_next = NULL;
	svc->yield_count--;
}

struct service_link *
service_oldest_yieldable(const struct service *svc)
{
	return svc->yield_oldest;
}

void
service_log_conn_end(const struct service *svc, const char *log_id,
    struct bufferevent *bev, short what)
{
	unsigned long tls_error = bev != NULL ?
	    bufferevent_get_openssl_error(bev) : 0;
	char text[256];

	if ((what & BEV_EVENT_ERROR) && tls_error != 0) {
		ERR_error_string_n(tls_error, text, sizeof(text));
		log_info("%s: %s: TLS: %s", svc->name, log_id, text);
	} else if (what & BEV_EVENT_ERROR)
		log_debug("%s: %s: connection error", svc->name, log_id);
	else if (what & BEV_EVENT_TIMEOUT)
		log_info("%s: %s: client stopped reading", svc->name, log_id);
}
