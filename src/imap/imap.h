/*
 * The IMAP service (RFC 3501 with IDLE, UIDPLUS, MOVE and friends):
 * accepts connections on listening sockets the daemon bound, logs users
 * in against the directory and serves their folders from the store.
 * Everything here runs on the daemon's libevent loop.
 */
#ifndef MB_IMAP_IMAP_H
#define MB_IMAP_IMAP_H

#include <event2/event.h>

struct mb_config;
struct store;
struct store_queue;
struct directory;
struct imap_server;

/* What an IMAP server needs; all must outlive the server. */
struct imap_deps {
	struct event_base *base;
	const struct mb_config *cfg;	/* hostname, [imap] limits */
	struct store *store;		/* folders, views, landed events */
	struct store_queue *queue;	/* APPEND goes through it (may be
					   NULL: APPEND then runs inline) */
	struct directory *dir;		/* LOGIN and AUTHENTICATE */
};

struct imap_server *imap_server_new(const struct imap_deps *deps);
/* Serve a bound, listening, non-blocking socket (the server owns it).
 * Returns 0 or -1. */
int imap_server_listen(struct imap_server *server, evutil_socket_t fd);
/*
 * Stop accepting; idle sessions get "* BYE" at once, a session with a
 * command in progress gets it after the tagged reply (IDLE is ended).
 * drained_cb(ctx) runs once from the loop when no session remains.
 */
void imap_server_shutdown(struct imap_server *server,
    void (*drained_cb)(void *ctx), void *ctx);
void imap_server_free(struct imap_server **serverp);

#endif
