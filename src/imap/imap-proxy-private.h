/*
 * What the two halves of the IMAP proxy share (imap-proxy.h): the
 * login at the owner (imap-proxy-login.c) and the relay once logged in
 * (imap-proxy.c). Nothing else includes this.
 */
#ifndef MB_IMAP_IMAP_PROXY_PRIVATE_H
#define MB_IMAP_IMAP_PROXY_PRIVATE_H

#include <stdbool.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "imap/imap-proxy-scan.h"
#include "imap/imap-proxy.h"
#include "lib/limits.h"
#include "lib/route.h"

/* How far the connection to the owner is. */
enum imap_proxy_phase {
	IMAP_PROXY_CONNECTING = 0,	/* name lookup and TCP connect */
	IMAP_PROXY_GREETING,		/* waiting for the owner's "* OK" */
	IMAP_PROXY_STARTTLS,		/* STARTTLS sent */
	IMAP_PROXY_HANDSHAKE,		/* the TLS handshake */
	IMAP_PROXY_AUTH,		/* AUTHENTICATE sent */
	IMAP_PROXY_RELAY,		/* logged in: bytes pass both ways */
};

/* Where the client's current command goes. */
enum imap_proxy_route {
	IMAP_PROXY_ROUTE_HEAD = 0,	/* not known before its head */
	IMAP_PROXY_ROUTE_OWNER,		/* passed on */
	IMAP_PROXY_ROUTE_LOCAL,		/* answered here: XBELL, COMPRESS */
};

/* A session's connection to the user's node; owned by the session
 * (session->proxy), freed with imap_proxy_free(). */
struct imap_proxy {
	struct imap_session *session;
	struct bufferevent *bev;	/* to the owner: in clear until
					   STARTTLS's OK, then over TLS (the
					   bufferevent owns the SSL and the
					   socket); NULL once it is gone */
	enum imap_proxy_phase phase;
	struct route_peer peer;		/* the owner */
	char user[USER_NAME_MAX + 1];	/* logged in for */
	bool counted;			/* in mb_stats.imap_proxied_sessions */

	/* Logging in (imap-proxy-login.c) */
	struct imap_cmd *cmd;		/* the client's LOGIN or AUTHENTICATE,
					   until it is answered */
	struct event *timer;		/* IMAP_PROXY_LOGIN_TIMEOUT_SECS */
	bool starting;			/* inside the connect call: an error
					   it reports waits for its return */
	short start_error;		/* that error's event flags */

	/* Relaying (imap-proxy.c) */
	struct imap_scan from_client;	/* the client's commands */
	struct imap_scan from_owner;	/* the owner's responses */
	enum imap_proxy_route route;	/* the client's current command */
	struct evbuffer *local;		/* a command answered here, as sent */
	char local_tag[IMAP_PROXY_TAG_MAX + 1];
	bool local_long;		/* it grew over IMAP_PROXY_LOCAL_MAX:
					   dropped, answered BAD */
	bool local_cont;		/* "+" owed for its literal */
	bool local_ready;		/* it is complete: run it */
	bool owner_bye;			/* the owner said BYE */
	bool owner_gone;		/* the owner closed: its last bytes
					   are passed on whatever waits */
};

/* Logged in at the owner: from now on bytes pass both ways (the
 * client's login was answered just before). */
void imap_proxy_relay_start(struct imap_proxy *p);

#endif
