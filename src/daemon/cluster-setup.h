/*
 * The running daemon as a cluster node ([cluster]): the secret it logs
 * in to other nodes with, the cluster layer joined to the notifier (other
 * nodes' events) and its route handed to IMAP and LMTP. Without
 * [cluster] node, each call does nothing.
 */
#ifndef MB_DAEMON_CLUSTER_SETUP_H
#define MB_DAEMON_CLUSTER_SETUP_H

struct daemon;
struct route_ops;

/* Read [cluster] secret_file into d->cluster_secret; exits with a
 * message naming the file if it cannot be used. Call it before
 * privileges are dropped. */
void cluster_setup_secret(struct daemon *d);
/* Before the notifier: a node whose notify directory is gone takes its
 * master key, registrations and epoch from the cluster's bucket (no
 * [cluster] node, no notifier, or the directory there: nothing). NATS
 * that cannot be read is logged and the node starts without them. */
void cluster_setup_restore(struct daemon *d);
/* Join the cluster, once the store and the notifier run and before IMAP
 * and LMTP are made (they take the route); exits if the NATS client
 * cannot be set up. */
void cluster_setup_start(struct daemon *d);
/* The route for IMAP and LMTP: NULL without a cluster. */
const struct route_ops *cluster_setup_route(struct daemon *d);
/* Leave: stop the NATS threads, free, wipe the secret. */
void cluster_setup_stop(struct daemon *d);

#endif
