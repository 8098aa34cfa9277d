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
#include "cluster/cluster-dedup.h"
#include "cluster/cluster-nats.h"
#include "cluster/cluster-regs.h"
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
	CLUSTER_BUCKET_MOVES,
};

/* A move to this node, waiting or under way (cluster-move.c). */
struct cluster_move_job {
	struct cluster_move_job *next;
	char user[USER_NAME_MAX + 1];
	char from[CLUSTER_NODE_NAME_MAX + 1];	/* the source */
	bool frozen;			/* the source has frozen the user */
	uint64_t files, bytes;		/* copied so far */
};

/* A user this node, as a move's source, serves no more for now. */
struct cluster_frozen {
	struct cluster_frozen *next;
	char user[USER_NAME_MAX + 1];
};

/* Under the mail root: copies arriving, and copies put aside. */
#define CLUSTER_INCOMING_DIR ".incoming"
#define CLUSTER_MOVED_DIR ".moved"

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
	uint64_t early;			/* of received: by the early copy */
	struct cluster_frozen *frozen;	/* users moving away */
	struct event *stats_ev;		/* once a second: mb_stats */

	/* Shared with the threads. */
	struct cluster_nats cn;
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* ready, stopping or queued */
	bool ready;			/* stream and buckets are open */
	bool stopping;
	struct cluster_out *out_head, *out_tail;
	struct cluster_out *early_head, *early_tail; /* their early
					   copies, for the early sender */
	size_t early_count;
	struct cluster_move_job *moves;	/* the first is under way */
	struct cluster_regs_state *regs_out; /* the notifier's state to
					   write, NULL: written */
	size_t out_count;
	uint64_t out_seq;
	atomic_bool connected;
	atomic_int_fast64_t pending;	/* the consumer's lag, -1: unknown */
	atomic_uint_fast64_t published, retries, dropped;
	jsCtx *publish_js;		/* the publisher's, for async sends */
	atomic_bool batch_failed;	/* an async send was refused */
	pthread_mutex_t dedup_lock;	/* the consumer and the early
					   subscription's thread */
	struct cluster_dedup *dedup;

	/* The registrations writer's own (cluster-regs-store.c). */
	unsigned char regs_key[CLUSTER_REGS_KEY_LEN]; /* seals the state */
	unsigned regs_pieces;		/* pieces of its last write */
	atomic_bool regs_capped;	/* too many registrations: logged */

	pthread_t threads[8];
	size_t thread_count;
};

/* Start and stop the threads (cluster-threads.c). */
void cluster_threads_start(struct cluster *c);
void cluster_threads_stop(struct cluster *c);
/* Wait up to ms, or until stopping; returns whether stopping. */
bool cluster_wait_stop(struct cluster *c, unsigned ms);
/* Wait until the stream and buckets are open; false if stopping. */
bool cluster_wait_ready(struct cluster *c);
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

/* Moves (cluster-move.c). The source's requests, answered on NATS's
 * thread; NULL if the subscription cannot be made. */
natsSubscription *cluster_move_serve(struct cluster *c);
/* The registrations writer's main (cluster-regs-store.c). */
void *cluster_regs_main(void *arg);
/* The mover thread's main. */
void *cluster_mover_main(void *arg);
/* Queue a move of user from node from to this node (any thread). */
void cluster_move_queue(struct cluster *c, const char *user,
    const char *from);
/* On the loop: carry out the source's op ("freeze", "done", "abort"),
 * or the target's "install", for user, then call
 * cluster_move_answer(call, ...), now or later. */
void cluster_move_source(struct cluster *c, const char *op,
    const char *user, void *call);
void cluster_move_answer(void *call, int result, const char *error);
/* Hand op for user to the loop (cluster_move_source) and wait for its
 * answer. Returns 0, or -1 with *error_r (also when the node stops). */
int cluster_call_loop(struct cluster *c, const char *op, const char *user,
    const char **error_r);
/* Whether rel is a path inside a user's tree: no "..", no leading '/',
 * no empty component. */
bool cluster_move_path_ok(const char *rel);
/* A move request's signature: HMAC-SHA-256 under the cluster secret of
 * its fields and time (seconds), in hex. */
#define CLUSTER_MOVE_SIG_LEN (2 * 32 + 1)
void cluster_move_sign(const char *secret, const char *op,
    const char *user, const char *path, const char *offset,
    const char *when, char hex[CLUSTER_MOVE_SIG_LEN]);
/* Rename mail_root/user to mail_root/.moved/user.<time>.<why>
 * (nothing there: done). Returns 0, or -1 with *error_r. */
int cluster_move_aside(const char *mail_root, const char *user,
    const char *why, const char **error_r);
/* Put the staged copy mail_root/.incoming/user in place of
 * mail_root/user (which goes aside). Returns 0, or -1 with *error_r. */
int cluster_move_install(const char *mail_root, const char *user,
    const char **error_r);

#endif
