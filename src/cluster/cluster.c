/*
 * A cluster node on the daemon's loop: the user map and node records as
 * the watch threads report them, the route the front doors ask, this
 * node's store events on their way to the publisher, and other nodes'
 * events on their way to the notifier.
 */
#include "cluster/cluster-private.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "lib/clock.h"
#include "directory/directory.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/stats.h"
#include "lib/xmalloc.h"

/* A placed user and the node it lives on. */
struct cluster_user {
	struct hash_node hn;
	char node[CLUSTER_NODE_NAME_MAX + 1];
	char name[];
};

/* A node, named by its record or by the map (a user on it). */
struct cluster_node {
	struct hash_node hn;
	struct cluster_node_record rec;
	bool has_record;		/* rec is its own */
	uint64_t users;			/* users the map places on it */
	char name[CLUSTER_NODE_NAME_MAX + 1];
};

static uint64_t
user_hash(const struct hash_node *hn)
{
	return hash_str(HASH_ENTRY(hn, struct cluster_user, hn)->name);
}

static uint64_t
node_hash(const struct hash_node *hn)
{
	return hash_str(HASH_ENTRY(hn, struct cluster_node, hn)->name);
}

static struct cluster_user *
user_find(struct cluster *c, const char *name)
{
	struct hash_node *hn;
	struct cluster_user *u;

	for (hn = hash_bucket(&c->users, hash_str(name)); hn != NULL;
	    hn = hn->next) {
		u = HASH_ENTRY(hn, struct cluster_user, hn);
		if (strcmp(u->name, name) == 0)
			return u;
	}
	return NULL;
}

static struct cluster_node *node_find(struct cluster *c, const char *name);

/* The node called name, made (without a record) if it is not known. */
static struct cluster_node *
node_get(struct cluster *c, const char *name)
{
	struct cluster_node *n;

	if ((n = node_find(c, name)) == NULL) {
		n = xcalloc(1, sizeof(*n));
		strcpy(n->name, name);
		n->rec.pending = -1;
		hash_insert(&c->nodes, &n->hn, hash_str(name));
	}
	return n;
}

/* The users of node change by delta (+1 or -1). */
static void
node_users(struct cluster *c, const char *name, int delta)
{
	struct cluster_node *n = node_get(c, name);

	n->users = delta < 0 && n->users > 0 ? n->users - 1 :
	    delta > 0 ? n->users + 1 : n->users;
}

static struct cluster_node *
node_find(struct cluster *c, const char *name)
{
	struct hash_node *hn;
	struct cluster_node *n;

	for (hn = hash_bucket(&c->nodes, hash_str(name)); hn != NULL;
	    hn = hn->next) {
		n = HASH_ENTRY(hn, struct cluster_node, hn);
		if (strcmp(n->name, name) == 0)
			return n;
	}
	return NULL;
}

/* ---- Users moving away ---- */

static struct cluster_frozen **
frozen_find(struct cluster *c, const char *user)
{
	struct cluster_frozen **fp;

	for (fp = &c->frozen; *fp != NULL; fp = &(*fp)->next)
		if (strcmp((*fp)->user, user) == 0)
			break;
	return fp;
}

static void
frozen_end(struct cluster *c, const char *user)
{
	struct cluster_frozen **fp = frozen_find(c, user), *f = *fp;

	if (f != NULL) {
		*fp = f->next;
		free(f);
	}
}

void
cluster_move_source(struct cluster *c, const char *op, const char *user,
    void *call)
{
	struct cluster_frozen *f;
	struct cluster_user *u;
	const char *error = NULL;

	if (strcmp(op, "freeze") == 0) {
		if (*frozen_find(c, user) == NULL) {
			f = xcalloc(1, sizeof(*f));
			snprintf(f->user, sizeof(f->user), "%s", user);
			f->next = c->frozen;
			c->frozen = f;
		}
		log_info("cluster: %s is moving away: its mail and logins wait",
		    user);
		if (c->deps.quiesce != NULL)
			c->deps.quiesce(c->deps.quiesce_ctx, user,
			    cluster_move_answer, call);
		else
			cluster_move_answer(call, 0, NULL);
		return;
	}
	/* The target's copy is complete: in place of what was here, with
	 * the store told before anything reads it. */
	if (strcmp(op, "install") == 0) {
		if (cluster_move_install(c->mail_root, user, &error) < 0) {
			cluster_move_answer(call, -1, error);
			return;
		}
		store_user_forget(c->deps.store, user);
		cluster_move_answer(call, 0, NULL);
		return;
	}
	if (strcmp(op, "done") == 0) {
		if (cluster_move_aside(c->mail_root, user, "moved",
		    &error) < 0) {
			cluster_move_answer(call, -1, error);
			return;
		}
		store_user_forget(c->deps.store, user);
	}
	/* abort, or done once the map names another node: served (or
	 * routed) again. */
	u = user_find(c, user);
	if (strcmp(op, "abort") == 0 || (u != NULL &&
	    strcmp(u->node, c->node) != 0))
		frozen_end(c, user);
	cluster_move_answer(call, 0, NULL);
}

/* A move in mailbell-moves: this node's to make, when it is the target
 * of a new one. */
static void
move_seen(struct cluster *c, const char *user, const char *value,
    size_t len)
{
	struct cluster_move_record rec;
	const char *reason;

	if (cluster_move_decode(value, len, &rec, &reason) < 0) {
		log_warnx("cluster: move of %.64s: %s", user, reason);
		return;
	}
	if (rec.state == CLUSTER_MOVE_REQUESTED &&
	    strcmp(rec.to, c->node) == 0)
		cluster_move_queue(c, user, rec.from);
}

/* ---- The buckets, as the watches report them ---- */

void
cluster_bucket_put(struct cluster *c, enum cluster_bucket bucket,
    const char *key, const char *value, size_t len)
{
	struct cluster_node_record rec;
	struct cluster_user *u;
	struct cluster_node *n;
	char node[CLUSTER_NODE_NAME_MAX + 1];
	const char *reason;

	if (bucket == CLUSTER_BUCKET_MOVES) {
		if (directory_user_name_valid(key))
			move_seen(c, key, value, len);
		return;
	}
	if (bucket == CLUSTER_BUCKET_NODES) {
		if (!config_node_name_valid(key) ||
		    cluster_node_decode(value, len, &rec, &reason) < 0) {
			log_warnx("cluster: node record %.32s: bad", key);
			return;
		}
		n = node_get(c, key);
		if (!n->has_record || strcmp(n->rec.host, rec.host) != 0 ||
		    n->rec.imap_port != rec.imap_port ||
		    n->rec.lmtp_port != rec.lmtp_port)
			log_info("cluster: node %s at %s (imap %u, lmtp %u)",
			    key, rec.host, rec.imap_port, rec.lmtp_port);
		n->rec = rec;
		n->has_record = true;
		return;
	}
	if (len == 0 || len > CLUSTER_NODE_NAME_MAX ||
	    !directory_user_name_valid(key)) {
		log_warnx("cluster: user map entry %.64s: bad", key);
		return;
	}
	memcpy(node, value, len);
	node[len] = '\0';
	if (!config_node_name_valid(node)) {
		log_warnx("cluster: user map entry %s: bad node", key);
		return;
	}
	if ((u = user_find(c, key)) == NULL) {
		u = xcalloc(1, sizeof(*u) + strlen(key) + 1);
		strcpy(u->name, key);
		hash_insert(&c->users, &u->hn, hash_str(key));
	}
	/* A user moved away from here is routed again once the map names
	 * the node it went to. */
	if (strcmp(node, c->node) != 0)
		frozen_end(c, key);
	if (strcmp(u->node, node) == 0)
		return;
	if (c->users_loaded)
		log_info("cluster: user %s lives on node %s", key, node);
	if (u->node[0] != '\0')
		node_users(c, u->node, -1);
	node_users(c, node, +1);
	strcpy(u->node, node);
}

void
cluster_bucket_del(struct cluster *c, enum cluster_bucket bucket,
    const char *key)
{
	struct cluster_user *u;
	struct cluster_node *n;

	if (bucket == CLUSTER_BUCKET_MOVES)
		return;
	if (bucket == CLUSTER_BUCKET_NODES) {
		if ((n = node_find(c, key)) != NULL)
			n->has_record = false;
	} else if ((u = user_find(c, key)) != NULL) {
		node_users(c, u->node, -1);
		hash_remove(&c->users, &u->hn, hash_str(key));
		free(u);
	}
}

void
cluster_bucket_loaded(struct cluster *c, enum cluster_bucket bucket)
{
	if (bucket == CLUSTER_BUCKET_USERS && !c->users_loaded) {
		c->users_loaded = true;
		log_info("cluster: user map read: %zu users placed",
		    hash_count(&c->users));
	}
}

/* ---- The route ---- */

/* Whether user's Maildir is on this node's disk. */
static bool
maildir_here(struct cluster *c, const char *user)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", c->mail_root, user);
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static enum route_where
route_locate(void *ctx, const char *user, struct route_peer *peer_r)
{
	struct cluster *c = ctx;
	struct cluster_user *u = user_find(c, user);
	struct cluster_node *n;

	if (*frozen_find(c, user) != NULL)
		return ROUTE_UNAVAILABLE;	/* moving away */
	if (u == NULL) {
		/* Before the map is read (NATS away since the start), a
		 * user whose mail is here is served here. */
		if (!c->users_loaded && maildir_here(c, user))
			return ROUTE_HERE;
		return ROUTE_UNAVAILABLE;
	}
	if (strcmp(u->node, c->node) == 0)
		return ROUTE_HERE;
	if ((n = node_find(c, u->node)) == NULL || !n->has_record)
		return ROUTE_UNAVAILABLE;
	memset(peer_r, 0, sizeof(*peer_r));
	strcpy(peer_r->node, n->name);
	strcpy(peer_r->host, n->rec.host);
	peer_r->imap_port = n->rec.imap_port;
	peer_r->lmtp_port = n->rec.lmtp_port;
	return ROUTE_THERE;
}

static bool
route_node_login(void *ctx, const char *node, const char *secret)
{
	struct cluster *c = ctx;
	unsigned char digest[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)secret, strlen(secret), digest);
	return config_node_name_valid(node) &&
	    CRYPTO_memcmp(digest, c->secret_digest, sizeof(digest)) == 0;
}

const struct route_ops *
cluster_route(struct cluster *c)
{
	return &c->route;
}

/* ---- Events ---- */

/* This node's store event, on its way to the stream. */
static void
on_store_event(const struct store_event *ev, void *ctx)
{
	struct cluster *c = ctx;
	struct cluster_event ce;
	struct store_status st;
	char buf[CLUSTER_EVENT_MAX];
	const char *error;
	int len;

	memset(&ce, 0, sizeof(ce));
	strcpy(ce.node, c->node);
	if (strlen(ev->user) > USER_NAME_MAX ||
	    strlen(ev->folder) > FOLDER_NAME_MAX)
		return;
	strcpy(ce.user, ev->user);
	strcpy(ce.folder, ev->folder);
	ce.type = ev->type;
	ce.uidvalidity = ev->uidvalidity;
	ce.uid = ev->uid;
	ce.uid_count = (uint32_t)ev->uid_count;
	if (store_folder_status(c->deps.store, ev->user, ev->folder, &st,
	    &error) == 0) {
		ce.uidnext = st.uidnext;
		ce.messages = st.messages;
		ce.unseen = st.unseen;
		if (ce.uidvalidity == 0)
			ce.uidvalidity = st.uidvalidity;
	}
	/* The landing, moved from the monotonic clock to the wall's. */
	ce.landed_unix_us = clock_unix_us() -
	    (clock_now_us() - ev->landed_us);
	if ((len = cluster_event_encode(&ce, buf)) > 0)
		cluster_publish(c, buf, len);
}

void
cluster_event_in(struct cluster *c, const struct cluster_event *ce,
    uint64_t seq)
{
	struct store_event ev;
	struct store_status st;
	uint64_t now_unix = clock_unix_us(), landed;

	/* A redelivery (its acknowledgement was lost) was handled. An
	 * early copy (seq 0) was sorted out by the dedup already. */
	if (seq != 0 && seq <= c->last_seq) {
		c->duplicates++;
		return;
	}
	if (seq != 0)
		c->last_seq = seq;
	else
		c->early++;
	c->received++;
	if (c->deps.event_cb == NULL)
		return;
	memset(&ev, 0, sizeof(ev));
	memset(&st, 0, sizeof(st));
	ev.user = ce->user;
	ev.folder = ce->folder;
	ev.type = ce->type;
	ev.uidvalidity = ce->uidvalidity;
	ev.uid = ce->uid;
	ev.uids = &ce->uid;
	ev.uid_count = ce->uid_count;
	st.uidvalidity = ce->uidvalidity;
	st.uidnext = ce->uidnext;
	st.messages = ce->messages;
	st.unseen = ce->unseen;
	landed = clock_now_us();
	if (ce->landed_unix_us < now_unix && now_unix - ce->landed_unix_us <
	    landed)
		landed -= now_unix - ce->landed_unix_us;
	ev.landed_us = landed;
	stats_observe(&mb_stats.cluster_event_seconds,
	    now_unix > ce->landed_unix_us ?
	    (double)(now_unix - ce->landed_unix_us) / 1e6 : 0);
	c->deps.event_cb(&ev, &st, landed, c->deps.event_ctx);
}

/* ---- What the admin port shows ---- */

void
cluster_list_nodes(struct cluster *c, status_node_cb *cb, void *arg)
{
	struct status_node row;
	struct hash_iter it;
	struct hash_node *hn;
	struct cluster_node *n;
	uint64_t now = (uint64_t)time(NULL);

	hash_iter_init(&it, &c->nodes);
	while ((hn = hash_iter_next(&it)) != NULL) {
		n = HASH_ENTRY(hn, struct cluster_node, hn);
		if (!n->has_record && n->users == 0)
			continue;
		memset(&row, 0, sizeof(row));
		row.name = n->name;
		row.host = n->has_record ? n->rec.host : NULL;
		row.imap_port = n->rec.imap_port;
		row.lmtp_port = n->rec.lmtp_port;
		row.udp_port = n->rec.udp_port;
		row.self = strcmp(n->name, c->node) == 0;
		row.seen = n->rec.seen;
		row.up = n->has_record &&
		    now <= n->rec.seen + CLUSTER_NODE_DOWN_SECS;
		row.users = n->users;
		row.pending = n->rec.pending;
		cb(&row, arg);
	}
}

/* Once a second: the counts into the metrics. */
static void
stats_tick_cb(evutil_socket_t fd, short what, void *ctx)
{
	struct cluster *c = ctx;
	struct hash_iter it;
	struct hash_node *hn;
	int64_t lag = atomic_load(&c->pending);
	uint64_t nodes = 0;

	(void)fd;
	(void)what;
	hash_iter_init(&it, &c->nodes);
	while ((hn = hash_iter_next(&it)) != NULL)
		nodes += HASH_ENTRY(hn, struct cluster_node, hn)->has_record;
	mb_stats.cluster_connected = atomic_load(&c->connected);
	mb_stats.cluster_nodes = nodes;
	mb_stats.cluster_users = hash_count(&c->users);
	mb_stats.cluster_published_total = atomic_load(&c->published);
	mb_stats.cluster_publish_retries_total = atomic_load(&c->retries);
	mb_stats.cluster_publish_dropped_total = atomic_load(&c->dropped);
	pthread_mutex_lock(&c->lock);
	mb_stats.cluster_publish_queue = c->out_count;
	pthread_mutex_unlock(&c->lock);
	mb_stats.cluster_received_total = c->received;
	mb_stats.cluster_duplicates_total = c->duplicates;
	mb_stats.cluster_early_total = c->early;
	mb_stats.cluster_consumer_pending = lag > 0 ? (uint64_t)lag : 0;
}

/* ---- Life ---- */

static void
connected_cb(bool up, void *ctx)
{
	struct cluster *c = ctx;

	atomic_store(&c->connected, up);
	if (up)
		log_info("cluster: connected to NATS");
	else
		log_warnx("cluster: lost NATS; this node's users are served, "
		    "its events wait");
}

static const struct cluster_nats_cbs *
nats_cbs(struct cluster *c)
{
	static struct cluster_nats_cbs cbs;

	cbs.connected = connected_cb;
	cbs.ctx = c;
	return &cbs;
}

struct cluster *
cluster_new(const struct cluster_deps *deps, const char **error_r)
{
	struct cluster *c;
	char name[CLUSTER_NODE_NAME_MAX + 16];
	struct timeval second = { 1, 0 };

	c = xcalloc(1, sizeof(*c));
	c->deps = *deps;
	c->mail_root = xstrdup(deps->mail_root);
	snprintf(c->node, sizeof(c->node), "%s", deps->cfg->cluster_node);
	SHA256((const unsigned char *)deps->secret, strlen(deps->secret),
	    c->secret_digest);
	c->started = (uint64_t)time(NULL);
	hash_init(&c->users, 1024, user_hash);
	hash_init(&c->nodes, 16, node_hash);
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	pthread_mutex_init(&c->dedup_lock, NULL);
	c->dedup = cluster_dedup_new();
	c->done = completion_queue_new(deps->base, "cluster");
	c->route.locate = route_locate;
	c->route.node_login = route_node_login;
	c->route.node_name = c->node;
	c->route.secret = deps->secret;
	c->route.ca_file = deps->cfg->cluster_ca_file;
	c->route.ctx = c;
	if (cluster_regs_key(deps->secret, c->regs_key) < 0) {
		*error_r = "cannot derive the key the notifier's state is "
		    "sealed with";
		cluster_free(&c);
		return NULL;
	}

	snprintf(name, sizeof(name), "mailbell-%s", c->node);
	if (cluster_nats_connect(&c->cn, deps->cfg, name, true, nats_cbs(c),
	    error_r) < 0) {
		cluster_free(&c);
		return NULL;
	}
	atomic_store(&c->connected,
	    natsConnection_Status(c->cn.nc) == NATS_CONN_STATUS_CONNECTED);
	atomic_store(&c->pending, -1);
	c->stats_ev = event_new(deps->base, -1, EV_PERSIST, stats_tick_cb, c);
	event_add(c->stats_ev, &second);
	c->store_sub = store_subscribe_events(deps->store, STORE_EVENT_ALL,
	    on_store_event, c);
	cluster_threads_start(c);
	return c;
}

static void
free_table(struct hash_table *t, size_t offset)
{
	struct hash_iter it;
	struct hash_node *hn;

	hash_iter_init(&it, t);
	while ((hn = hash_iter_next(&it)) != NULL)
		free((char *)hn - offset);
	hash_free(t);
}

void
cluster_free(struct cluster **cp)
{
	struct cluster *c = *cp;
	struct cluster_out *o;
	struct cluster_move_job *job;

	if (c == NULL)
		return;
	*cp = NULL;
	if (c->store_sub != 0)
		store_unsubscribe(c->deps.store, c->store_sub);
	if (c->stats_ev != NULL)
		event_free(c->stats_ev);
	cluster_threads_stop(c);
	cluster_nats_close(&c->cn);
	nats_CloseAndWait(CLUSTER_NATS_TIMEOUT_MS);
	/* What the threads posted last runs now, into the maps freed
	 * below. */
	completion_queue_free(&c->done);
	while ((o = c->out_head) != NULL) {
		c->out_head = o->next;
		free(o);
	}
	while ((o = c->early_head) != NULL) {
		c->early_head = o->next;
		free(o);
	}
	while ((job = c->moves) != NULL) {
		c->moves = job->next;
		free(job);
	}
	while (c->frozen != NULL)
		frozen_end(c, c->frozen->user);
	if (c->regs_out != NULL) {
		cluster_regs_state_clear(c->regs_out);
		free(c->regs_out);
	}
	OPENSSL_cleanse(c->regs_key, sizeof(c->regs_key));
	free_table(&c->users, offsetof(struct cluster_user, hn));
	free_table(&c->nodes, offsetof(struct cluster_node, hn));
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	cluster_dedup_free(&c->dedup);
	pthread_mutex_destroy(&c->dedup_lock);
	free(c->mail_root);
	free(c);
}
