/*
 * What the admin port lists of the running server, row by row: the
 * sessions of each service and the notifier's registrations. The
 * services fill these rows, the admin port writes them out, and the
 * daemon joins the two, so neither knows the other. Rows and their
 * strings are valid during the callback only.
 */
#ifndef MB_LIB_STATUS_H
#define MB_LIB_STATUS_H

#include <stdbool.h>
#include <stdint.h>

/* One client connection. */
struct status_session {
	const char *service;	/* "imap", "lmtp" */
	const char *peer;	/* "address:port" */
	const char *user;	/* logged in as (IMAP), or NULL */
	const char *state;	/* IMAP: "not authenticated",
				   "authenticated", "selected", "idle",
				   "proxied" (passed on to node), "logout";
				   LMTP: "greeted", "ready",
				   "transaction", "data", "delivering",
				   "closing" */
	const char *folder;	/* IMAP: the selected folder, or NULL */
	const char *node;	/* IMAP, proxied: the cluster node that
				   owns the user's mailbox, or NULL */
	bool tls;		/* the connection is encrypted */
	uint64_t since_ms;	/* clock_now_ms() when it was accepted */
};
typedef void status_session_cb(const struct status_session *row, void *arg);

/* One notification registration. */
struct status_registration {
	uint64_t id;
	const char *user;
	const char *state;	/* "verified" (an endpoint answers),
				   "waiting" (none verified yet, or it was
				   forgotten), "unreachable" (verified, but
				   an event went unacknowledged through
				   every resend: the client is on IMAP
				   IDLE or gone) */
	const char *endpoint;	/* "address:port" while verified, or NULL */
	uint32_t last_seen;	/* Unix time of its last datagram */
	unsigned folders;	/* folders it covers, 0: every folder */
	unsigned unacked;	/* events not yet acknowledged */
};
typedef void status_registration_cb(const struct status_registration *row,
    void *arg);

/* One node of the cluster ([cluster]), as its record and the user map
 * tell it. */
struct status_node {
	const char *name;
	const char *host;	/* where its peers reach it */
	uint16_t imap_port, lmtp_port, udp_port;
	bool self;		/* the node answering */
	bool up;		/* its heartbeat is recent */
	uint64_t seen;		/* Unix time of its last heartbeat */
	uint64_t users;		/* users who live on it */
	int64_t pending;	/* events its consumer has yet to read or
				   acknowledge (its lag), -1: not known */
};
typedef void status_node_cb(const struct status_node *row, void *arg);

#endif
