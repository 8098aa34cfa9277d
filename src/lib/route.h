/*
 * Where a user lives, as the front doors see it. With a [cluster]
 * section every mailbelld node owns some users' Maildirs; IMAP and LMTP
 * on any node ask the directory (directory_locate) whether a user is
 * theirs to serve or another node's, and the directory asks these ops;
 * IMAP reaches another node as a node (not as the user) with the rest
 * of them. The cluster layer answers and the daemon joins them, so
 * neither imap nor lmtp knows NATS. Without [cluster] there are no
 * route ops (NULL) and every user is here.
 */
#ifndef MB_LIB_ROUTE_H
#define MB_LIB_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/limits.h"

/* Whether a user is served here. */
enum route_where {
	ROUTE_HERE = 0,		/* this node owns the Maildir */
	ROUTE_THERE,		/* another node does: *peer_r says which */
	ROUTE_UNAVAILABLE,	/* not known now (no map yet, the user is
				   being moved, or not yet placed): answer
				   with a temporary failure (LMTP 4xx, IMAP
				   NO [UNAVAILABLE]) */
};

/* Another node, as its peers reach it. */
struct route_peer {
	char node[CLUSTER_NODE_NAME_MAX + 1];
	char host[CLUSTER_HOST_MAX + 1];	/* name or IP literal */
	uint16_t imap_port;	/* its IMAP: STARTTLS, then node login */
	uint16_t lmtp_port;	/* its LMTP (plain, inside the cluster) */
};

/* What the cluster offers the services; all calls run on the loop and
 * never block (the map is held in memory). */
struct route_ops {
	/* Where user (a valid user name) lives now. */
	enum route_where (*locate)(void *ctx, const char *user,
	    struct route_peer *peer_r);
	/* Whether node/secret are the credentials of a cluster node: a
	 * proxying node logs in to the owner as itself, on behalf of a
	 * user (AUTHENTICATE PLAIN with the user as authorization id, the
	 * node name as authentication id and the cluster secret as
	 * password). Compares in constant time. */
	bool (*node_login)(void *ctx, const char *node, const char *secret);
	/* This node's own name and the cluster secret it logs in with. */
	const char *node_name;
	const char *secret;
	/* [cluster] ca_file: the CAs that sign the nodes' certificates,
	 * for the TLS of node-to-node IMAP; NULL: the system's. */
	const char *ca_file;
	void *ctx;
};

#endif
