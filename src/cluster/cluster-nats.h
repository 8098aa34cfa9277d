/*
 * The NATS side of a node, shared by mailbelld and the `mailbell cluster`
 * commands: the connection to [cluster] nats, and the JetStream objects
 * every node uses (doc/cluster.md 3). Each call blocks for the network:
 * mailbelld makes them on its cluster threads, never on its loop.
 */
#ifndef MB_CLUSTER_CLUSTER_NATS_H
#define MB_CLUSTER_CLUSTER_NATS_H

#include <stdbool.h>

#include <nats/nats.h>

struct mb_config;

/* The stream of events, its subjects, and the buckets. */
#define CLUSTER_EVENT_STREAM "MAILBELL_EVENTS"
#define CLUSTER_EVENT_SUBJECTS "mailbell.event.>"
#define CLUSTER_EVENT_SUBJECT_PREFIX "mailbell.event."
/* The same events, early, as plain NATS messages (not in the stream). */
#define CLUSTER_EARLY_SUBJECTS "mailbell.early.*"
#define CLUSTER_EARLY_SUBJECT_PREFIX "mailbell.early."
#define CLUSTER_USERS_BUCKET "mailbell-users"
#define CLUSTER_NODES_BUCKET "mailbell-nodes"
#define CLUSTER_MOVES_BUCKET "mailbell-moves"
#define CLUSTER_REGS_BUCKET "mailbell-registrations"
/* Where a node answers the requests of a move's copy (cluster-move.c):
 * CLUSTER_MOVE_SUBJECT_PREFIX<node>. */
#define CLUSTER_MOVE_SUBJECT_PREFIX "mailbell.move."

struct cluster_nats {
	natsConnection *nc;
	jsCtx *js;
	kvStore *users;		/* user -> node name */
	kvStore *nodes;		/* node name -> its record (cluster-wire.h) */
	kvStore *moves;		/* user -> a move under way (cluster-wire.h) */
	kvStore *regs;		/* node name -> its notifier state, sealed
				   (cluster-regs.h) */
};

/* Callbacks of the connection, on NATS's threads (may be NULL). */
struct cluster_nats_cbs {
	void (*connected)(bool up, void *ctx);	/* up again / lost */
	void *ctx;
};

/*
 * Connect to cfg's [cluster] nats servers as client name. With
 * background, a server that cannot be reached now is tried again until
 * cluster_nats_close(), and this returns at once (the daemon); without
 * it the first failure is returned (the commands). Returns 0, or -1 with
 * *error_r set.
 */
int cluster_nats_connect(struct cluster_nats *cn,
    const struct mb_config *cfg, const char *name, bool background,
    const struct cluster_nats_cbs *cbs, const char **error_r);
/* Make or open the event stream and the buckets with cfg's replicas (a
 * node makes them; commands only open them: create false). Returns 0,
 * or -1 with *error_r (JetStream not ready yet, among others). */
int cluster_nats_open(struct cluster_nats *cn, const struct mb_config *cfg,
    bool create, const char **error_r);
/* Close and free everything; cn may be partly set up. */
void cluster_nats_close(struct cluster_nats *cn);

/* A NATS status as text for a log line or an error (error_fmt()). */
const char *cluster_nats_error(natsStatus s);

#endif
