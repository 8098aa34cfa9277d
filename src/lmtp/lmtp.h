/*
 * The LMTP service (RFC 2033): accepts connections on listening sockets
 * the daemon bound, and delivers through the store's delivery queue.
 * Everything here runs on the daemon's libevent loop.
 */
#ifndef MB_LMTP_LMTP_H
#define MB_LMTP_LMTP_H

#include <event2/event.h>

#include "lib/status.h"

struct mb_config;
struct store;
struct store_queue;
struct directory;
struct lmtp_server;
struct tls_server;

/* What an LMTP server needs; all must outlive the server. */
struct lmtp_deps {
	struct event_base *base;
	const struct mb_config *cfg;	/* hostname, domains, SIZE limit */
	struct store *store;		/* for store_announce() */
	struct store_queue *queue;	/* where DATA goes */
	struct directory *dir;		/* RCPT TO lookups, and where the
					   recipient lives (directory_locate):
					   one on another node is relayed
					   there (lmtp-relay.h) */
	struct tls_server *tls;		/* STARTTLS; NULL: not offered */
};

struct lmtp_server *lmtp_server_new(const struct lmtp_deps *deps);
/* Serve a bound, listening, non-blocking socket (the server owns it). */
int lmtp_server_listen(struct lmtp_server *server, evutil_socket_t fd);
/*
 * Stop accepting; sessions are told 421 at their next command, but every
 * delivery already handed to the queue is finished and answered first.
 * drained_cb(ctx) runs once no session and no delivery remains.
 */
void lmtp_server_shutdown(struct lmtp_server *server,
    void (*drained_cb)(void *ctx), void *ctx);
void lmtp_server_free(struct lmtp_server **serverp);
/* Call cb for every session, as the admin port lists them. */
void lmtp_server_sessions(const struct lmtp_server *server,
    status_session_cb *cb, void *arg);

#endif
