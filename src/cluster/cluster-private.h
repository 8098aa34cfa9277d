/*
 * Inside a cluster node: what the loop side (cluster.c) and the NATS
 * threads (cluster-threads.c) share. The threads touch only the fields
 * under "shared", with lock held, and hand everything else to the loop
 * through the completion queue.
 */
#ifndef MB_CLUSTER_CLUSTER_PRIVATE_H
#define MB_CLUSTER_CLUSTER_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cluster/cluster.h"
#include "cluster/cluster-nats.h"
#include "cluster/cluster-wire.h"
#include "lib/completion.h"
#include "lib/hash.h"

/* One event waiting to be published. */
struct cluster_out {
	struct cluster_out *next;
	uint64_t seq;			/* for its Nats-Msg-Id */
	int len;
	char data[];
};

/* Which bucket a watch follows. */
enum cluster_bucket {
	CLUSTER_BUCKET_USERS,
	CLUSTER_BUCKET_NODES,
};

struct cluster {
	struct cluster_deps deps;
	struct route_ops route;
	char *mail_root;
	char node[CLUSTER_NODE_NAME_MAX + 1];
	unsigned char secret_digest[32];	/* SHA-256 of the secret */
	uint64_t started;			/* Unix time */
	unsigned store_sub;

	/* The loop's. */
	struct completion_queue *done;
	struct hash_table users;	/* struct cluster_user */
	struct hash_table nodes;	/* struct cluster_node */
	bool users_loaded;		/* the watch has sent every entry */
	uint64_t last_seq;		/* stream sequence last handled */
	uint64_t received, duplicates;
	struct event *stats_ev;		/* once a second: mb_stats */

	/* Shared with the threads. */
	struct cluster_nats cn;
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* ready, stopping or queued */
	bool ready;			/* stream and buckets are open */
	bool stopping;
	struct cluster_out *out_head, *out_tail;
	size_t out_count;
	uint64_t out_seq;
	atomic_bool connected;
	atomic_int_fast64_t pending;	/* the consumer's lag, -1: unknown */
	atomic_uint_fast64_t published, retries, dropped;

	pthread_t threads[4];
	size_t thread_count;
};

/* Start and stop the threads (cluster-threads.c). */
void cluster_threads_start(struct cluster *c);
void cluster_threads_stop(struct cluster *c);
/* Queue an encoded event for the publisher (any thread). */
void cluster_publish(struct cluster *c, const char *data, int len);

/* On the loop, from the threads' completions (cluster.c). */
void cluster_bucket_put(struct cluster *c, enum cluster_bucket bucket,
    const char *key, const char *value, size_t len);
void cluster_bucket_del(struct cluster *c, enum cluster_bucket bucket,
    const char *key);
void cluster_bucket_loaded(struct cluster *c, enum cluster_bucket bucket);
void cluster_event_in(struct cluster *c, const struct cluster_event *ev,
    uint64_t seq);

#endif
