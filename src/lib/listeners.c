/* Listening sockets of a TCP service, with a pause after accept errors. */
#include "lib/listeners.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/listener.h>

#include "lib/log.h"
#include "lib/xmalloc.h"

/* How long listeners rest after an accept error (EMFILE, ENFILE):
 * retrying at once would spin on the still-readable listener. */
static const struct timeval accept_pause = { 1, 0 };

struct listener_set {
	struct event_base *base;
	const char *name;		/* for logs; static storage */
	listener_accept_cb *cb;
	void *ctx;
	struct evconnlistener **listeners;
	size_t count;
	struct event *resume_ev;	/* ends a pause after an error */
};

static void
set_enable(struct listener_set *set, bool on)
{
	for (size_t i = 0; i < set->count; i++) {
		if (on)
			evconnlistener_enable(set->listeners[i]);
		else
			evconnlistener_disable(set->listeners[i]);
	}
}

static void
resume_cb(evutil_socket_t fd, short what, void *ctx)
{
	(void)fd;
	(void)what;
	set_enable(ctx, true);
}

static void
accept_cb(struct evconnlistener *listener, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *ctx)
{
	struct listener_set *set = ctx;

	(void)listener;
	set->cb(fd, sa, salen, set->ctx);
}

static void
accept_error_cb(struct evconnlistener *listener, void *ctx)
{
	struct listener_set *set = ctx;

	(void)listener;
	log_warn("%s: accept", set->name);
	set_enable(set, false);
	evtimer_add(set->resume_ev, &accept_pause);
}

struct listener_set *
listener_set_new(struct event_base *base, const char *name,
    listener_accept_cb *cb, void *ctx)
{
	struct listener_set *set = xcalloc(1, sizeof(*set));

	set->base = base;
	set->name = name;
	set->cb = cb;
	set->ctx = ctx;
	if ((set->resume_ev = evtimer_new(base, resume_cb, set)) == NULL)
		fatalx("%s: cannot create an event", name);
	return set;
}

int
listener_set_add(struct listener_set *set, evutil_socket_t fd)
{
	struct evconnlistener *listener;

	if (evutil_make_socket_nonblocking(fd) < 0)
		return -1;
	/* Backlog 0: the daemon called listen(2) already. */
	listener = evconnlistener_new(set->base, accept_cb, set,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (listener == NULL)
		return -1;
	evconnlistener_set_error_cb(listener, accept_error_cb);
	set->listeners = xreallocarray(set->listeners, set->count + 1,
	    sizeof(*set->listeners));
	set->listeners[set->count++] = listener;
	return 0;
}

void
listener_set_close(struct listener_set *set)
{
	evtimer_del(set->resume_ev);
	for (size_t i = 0; i < set->count; i++)
		evconnlistener_free(set->listeners[i]);
	free(set->listeners);
	set->listeners = NULL;
	set->count = 0;
}

void
listener_set_free(struct listener_set **setp)
{
	struct listener_set *set = *setp;

	if (set == NULL)
		return;
	*setp = NULL;
	listener_set_close(set);
	event_free(set->resume_ev);
	free(set);
}

void
listener_format_peer(const struct sockaddr *sa, int salen, char *out,
    size_t size, char *ip, size_t ip_size)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	if (getnameinfo(sa, (socklen_t)salen, host, sizeof(host), serv,
	    sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(out, size, "unknown");
		if (ip != NULL)
			snprintf(ip, ip_size, "unknown");
		return;
	}
	if (snprintf(out, size, strchr(host, ':') != NULL ? "[%s]:%s" :
	    "%s:%s", host, serv) >= (int)size)
		snprintf(out, size, "%s", "(long address)");
	if (ip != NULL && snprintf(ip, ip_size, "%s", host) >= (int)ip_size)
		snprintf(ip, ip_size, "%s", "(long address)");
}

bool
listener_peer_is_loopback(const struct sockaddr *sa)
{
	const struct sockaddr_in6 *sin6;

	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family != AF_INET6)
		return false;
	sin6 = (const struct sockaddr_in6 *)(const void *)sa;
	if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
		return true;
	return IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) &&
	    sin6->sin6_addr.s6_addr[12] == 127;
}
