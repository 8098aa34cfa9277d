/*
 * The IMAP service (RFC 3501 with IDLE, UIDPLUS, MOVE and friends):
 * accepts connections on listening sockets the daemon bound, logs users
 * in against the directory and serves their folders from the store.
 * Everything here runs on the daemon's libevent loop.
 */
#ifndef MB_IMAP_IMAP_H
#define MB_IMAP_IMAP_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "lib/status.h"

struct mb_config;
struct store;
struct store_queue;
struct directory;
struct imap_server;
struct route_ops;
struct tls_server;

/* What XBELL REGISTER reports (doc/notify-protocol.md 2.1). */
struct imap_xbell_registration {
	char id[17];		/* 16 lowercase hex digits */
	char key[45];		/* the 32-byte secret, base64 */
	unsigned version;	/* datagram format version */
	unsigned port;		/* the notifier's UDP port */
	unsigned keepalive;	/* seconds between client keepalives */
	unsigned lease;		/* seconds after the last datagram */
	uint32_t epoch;		/* the notifier's epoch */
};

/* How an XBELL call ended. */
enum imap_xbell_result {
	IMAP_XBELL_OK = 0,
	IMAP_XBELL_LIMIT,	/* NO [LIMIT] */
	IMAP_XBELL_NONEXISTENT,	/* NO [NONEXISTENT]: no such id of the user */
	IMAP_XBELL_FAILED,	/* NO [UNAVAILABLE] */
};

/*
 * The notifier, as XBELL sees it: the daemon fills this from the notify
 * service (a sibling layer imap does not include). reg registers user
 * for count store folder names (0: every folder) and fills *reg_r, which
 * holds the secret: the caller wipes it. unreg ends user's registration
 * id (16 hex digits).
 */
struct imap_xbell_ops {
	enum imap_xbell_result (*reg)(void *ctx, const char *user,
	    const char *const *folders, size_t count,
	    struct imap_xbell_registration *reg_r);
	enum imap_xbell_result (*unreg)(void *ctx, const char *user,
	    const char *id);
	void *ctx;
};

/* What an IMAP server needs; all must outlive the server. */
struct imap_deps {
	struct event_base *base;
	const struct mb_config *cfg;	/* hostname, [imap] limits */
	struct store *store;		/* folders, views, landed events */
	struct store_queue *queue;	/* APPEND goes through it (may be
					   NULL: APPEND then runs inline) */
	struct directory *dir;		/* LOGIN and AUTHENTICATE, and
					   where the user lives
					   (directory_locate): a user of
					   another node is proxied there */
	const struct imap_xbell_ops *xbell; /* XBELL; NULL: the notifier
					       is off, XBELL not offered */
	struct tls_server *tls;		/* STARTTLS and implicit TLS; NULL:
					   neither is offered */
	const struct route_ops *route;	/* the cluster (lib/route.h): this
					   node's credentials and CAs for
					   proxying, and checking other
					   nodes' logins (imap-proxy.h);
					   NULL: no cluster */
};

struct imap_server *imap_server_new(const struct imap_deps *deps);
/* Serve a bound, listening, non-blocking socket (the server owns it).
 * Returns 0 or -1. */
int imap_server_listen(struct imap_server *server, evutil_socket_t fd);
/* The same for a socket whose connections begin with the TLS handshake
 * ("IMAPS"); deps->tls must be set. Returns 0 or -1. */
int imap_server_listen_tls(struct imap_server *server, evutil_socket_t fd);
/*
 * Stop accepting; idle sessions get "* BYE" at once, a session with a
 * command in progress gets it after the tagged reply (IDLE is ended).
 * drained_cb(ctx) runs once from the loop when no session remains.
 */
void imap_server_shutdown(struct imap_server *server,
    void (*drained_cb)(void *ctx), void *ctx);
void imap_server_free(struct imap_server **serverp);
/* End every session logged in as user: "* BYE text" now, or once the
 * command in progress has its tagged reply (IDLE is ended). text must
 * be a static string. */
void imap_server_end_user(struct imap_server *server, const char *user,
    const char *text);
/* Call cb for every session, as the admin port lists them (imap-sessions.c). */
void imap_server_sessions(const struct imap_server *server,
    status_session_cb *cb, void *arg);

#endif
