/*
 * A node of a mailbell cluster ([cluster], doc/cluster.md): where each
 * user lives (the mailbell-users bucket, held in memory and kept current
 * by a watch), the nodes and how to reach them (mailbell-nodes, with
 * this node's own record as its heartbeat), this node's store events
 * published to the MAILBELL_EVENTS stream, and other nodes' events read
 * from this node's durable consumer and handed to the notifier. NATS is
 * spoken on threads of the cluster's own; everything here is called on
 * the daemon's loop and never blocks. Losing NATS stops none of this
 * node's own work: its users are served and notified as before, and its
 * events wait (CLUSTER_PUBLISH_QUEUE_MAX) until NATS is back.
 */
#ifndef MB_CLUSTER_CLUSTER_H
#define MB_CLUSTER_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include "cluster/cluster-regs.h"
#include "lib/route.h"
#include "lib/status.h"
#include "store/store.h"

struct event_base;
struct mb_config;
struct cluster;

/* Another node's event for the notifier: ev as the owner's store
 * reported it, st the folder's counts after it (messages, unseen,
 * uidnext, uidvalidity), landed_us when it landed there, on this node's
 * clock_now_us() scale. */
typedef void cluster_event_cb(const struct store_event *ev,
    const struct store_status *st, uint64_t landed_us, void *ctx);

/* What a node needs; all must outlive it. */
struct cluster_deps {
	struct event_base *base;
	const struct mb_config *cfg;	/* [cluster] */
	struct store *store;		/* its events are published */
	const char *mail_root;		/* while the map is not known, a user
					   whose Maildir is here is here */
	const char *secret;		/* [cluster] secret_file's */
	uint16_t imap_port;		/* the ports in this node's record */
	uint16_t lmtp_port;
	uint16_t udp_port;		/* 0: no notifier */
	cluster_event_cb *event_cb;	/* NULL: other nodes' events are
					   read and dropped */
	void *event_ctx;
	/* Before user's mail is copied away (this node the source of a
	 * move): end the user's sessions and call done(arg, 0, NULL) once
	 * every delivery already taken for the user is written, or
	 * done(arg, -1, error) if that does not happen in time. NULL: no
	 * sessions, nothing queued. */
	void (*quiesce)(void *ctx, const char *user,
	    void (*done)(void *arg, int result, const char *error),
	    void *arg);
	void *quiesce_ctx;
};

/* Start the node: its threads connect to NATS in the background (a NATS
 * that is down now is no error). Returns NULL with *error_r set only
 * when the NATS client cannot be set up. */
struct cluster *cluster_new(const struct cluster_deps *deps,
    const char **error_r);
/* The route ops IMAP and LMTP ask (valid while the cluster lives). */
const struct route_ops *cluster_route(struct cluster *cluster);

/* Call cb for every node the records or the map name. */
void cluster_list_nodes(struct cluster *cluster, status_node_cb *cb,
    void *arg);

/*
 * This node's notifier state, for the mailbell-registrations bucket:
 * master is its master key, epoch the epoch it runs under, text (len
 * bytes) its registrations file as just saved. Copied and handed to a
 * thread of the cluster that seals and writes it once NATS answers; a
 * newer state replaces one not yet written. Callable from any thread;
 * never waits for NATS. A file longer than CLUSTER_REGS_TEXT_MAX is
 * kept up to its last whole line there (logged once).
 */
void cluster_regs_put(struct cluster *cluster,
    const unsigned char master[CLUSTER_REGS_MASTER_LEN], uint32_t epoch,
    const void *text, size_t len);

/*
 * At start, before the notifier (a node whose notify directory is
 * gone): read node cfg's [cluster] node's state from the bucket over a
 * connection of its own, waiting for NATS (up to CLUSTER_NATS_TIMEOUT_MS
 * a server). Returns 1 with *st_r (clear it with
 * cluster_regs_state_clear()), 0 if the bucket holds none, or -1 with
 * *error_r (NATS not reachable, a state that does not authenticate).
 */
int cluster_regs_fetch(const struct mb_config *cfg, const char *secret,
    struct cluster_regs_state *st_r, const char **error_r);

/* Stop the threads (within a second), close NATS and free; the NATS
 * client library's own threads end too (one cluster per process). */
void cluster_free(struct cluster **clusterp);

#endif
