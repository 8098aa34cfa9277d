/*
 * What a TCP service on the loop (LMTP, IMAP) keeps beside its sessions'
 * own state: its listening sockets, the list of its open sessions, what
 * admission needs (sessions per client address, and the sessions that
 * may yield their place to a new one: IMAP before login, LMTP between
 * transactions, oldest first), and an orderly shutdown that calls back
 * once, from the loop, when the last session has gone.
 */
#ifndef MB_LIB_SERVICE_H
#define MB_LIB_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "lib/listeners.h"

/* Embedded in each session: its place in the service's lists. */
struct service_link {
	struct service_link *prev, *next;	/* every session */
	const char *ip;			/* the client's address, for
					   per-address limits; the session's
					   own string, set before
					   service_add() (NULL: none) */
	/* In the list of sessions that may yield (service_set_yieldable) */
	bool yieldable;
	uint64_t yieldable_since_ms;	/* clock_now_ms() when it became
					   yieldable */
	struct service_link *yield_prev, *yield_next;
};

/* Tells one session that the service is stopping; may free it. */
typedef void service_stop_cb(struct service_link *link);
/* Tells one session that the shutdown's grace has passed: it must close
 * its connection now, and go (now, or as soon as work running for it
 * elsewhere has called back). */
typedef void service_kill_cb(struct service_link *link);

/* The session of type `type` whose member `member` is link. */
#define SERVICE_SESSION(link, type, member) \
	((type *)(void *)((char *)(link) - offsetof(type, member)))

struct service {
	/* Set by service_init() */
	struct event_base *base;	/* the daemon's loop */
	const char *name;		/* "imap", for logs (not copied) */
	listener_accept_cb *accept_cb;	/* each new connection */
	void *accept_ctx;
	struct event *drained_ev;	/* runs drained_cb from the loop */

	struct listener_set *listeners;	/* NULL until service_listen() */
	struct listener_set *tls_listeners; /* implicit TLS; NULL until
					   service_listen_tls() */
	struct service_link *sessions;	/* every open session, newest
					   first */
	size_t session_count;
	/* The sessions that may yield, in the order they became so */
	struct service_link *yield_oldest, *yield_newest;
	size_t yield_count;

	/* Shutdown */
	bool shutting_down;		/* service_shutdown() was called */
	bool shutdown_expired;		/* the grace has passed: sessions
					   close without waiting for their
					   output to drain */
	unsigned int grace_ms;		/* SERVICE_SHUTDOWN_GRACE_SECS, in
					   ms (tests shorten it) */
	service_kill_cb *kill_cb;
	struct event *grace_ev;		/* the grace's timer */
	void (*drained_cb)(void *ctx);	/* NULL once called, or after
					   service_deinit() */
	void *drained_ctx;
};

/* Start svc empty, on base; each connection accepted later goes to
 * accept_cb(fd, sa, salen, ctx). */
void service_init(struct service *svc, struct event_base *base,
    const char *name, listener_accept_cb *accept_cb, void *ctx);
/* Close the listeners and forget the drained callback, then free what
 * service_init() made. The sessions still linked stay linked: the
 * caller frees them afterwards (service_remove() stays valid). */
void service_deinit(struct service *svc);
/* Serve a bound, listening socket (the service owns it). 0 or -1. */
int service_listen(struct service *svc, evutil_socket_t fd);

/* Serve a bound, listening socket whose connections start with a TLS
 * handshake: each goes to accept_cb (not the service's own) with the
 * service's ctx. The service owns fd, and closes it with the others on
 * shutdown. 0 or -1. */
int service_listen_tls(struct service *svc, evutil_socket_t fd,
    listener_accept_cb *accept_cb);

/* Link a new session at the head of the list. */
void service_add(struct service *svc, struct service_link *link);
/* Unlink a session (from both lists); then, if the service is shutting
 * down and this was the last session, arrange for the drained callback
 * to run from the loop. */
void service_remove(struct service *svc, struct service_link *link);

/* The sessions from ip; with yieldable_r non-NULL, how many of those
 * may yield, too. A walk over every session: call it at accept. */
size_t service_count_ip(const struct service *svc, const char *ip,
    size_t *yieldable_r);
/* Whether a session may yield its place to a new one (an IMAP session
 * not logged in, an LMTP one without a transaction). Becoming yieldable
 * makes it the newest of them; staying so keeps its place. */
void service_set_yieldable(struct service *svc, struct service_link *link,
    bool yieldable);
/* The session yieldable longest, or NULL; the caller makes it go (and
 * not yieldable, so it is not picked twice). */
struct service_link *service_oldest_yieldable(const struct service *svc);

/* Log why a session's connection ended, from its bufferevent's event
 * flags: the TLS error OpenSSL gave, a connection error, or a client
 * that stopped reading (a write timeout). log_id names the session
 * ("peer=ADDRESS:PORT user=NAME"). */
struct bufferevent;
void service_log_conn_end(const struct service *svc, const char *log_id,
    struct bufferevent *bev, short what);

/*
 * Stop accepting (the listeners close now), call stop_cb for each open
 * session (it may free the session), and have drained_cb(ctx) run once
 * from the loop when no session remains. Sessions still open
 * grace_ms later get kill_cb (it may free the
 * session), and from then on shutdown_expired is set.
 */
void service_shutdown(struct service *svc, service_stop_cb *stop_cb,
    service_kill_cb *kill_cb, void (*drained_cb)(void *ctx), void *ctx);
/* Arrange for the drained callback to run from the loop if the service
 * is shutting down and no session remains. */
void service_check_drained(struct service *svc);

#endif
