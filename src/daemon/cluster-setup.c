/*
 * The daemon's side of the cluster: reading its secret, joining the
 * cluster layer to the notifier and handing its route to the services.
 */
#include "daemon/cluster-setup.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "cluster/cluster.h"
#include "directory/directory.h"
#include "daemon/daemon.h"
#include "daemon/listen.h"
#include "imap/imap.h"
#include "lib/clock.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "notify/notify.h"
#include "notify/notify-proto.h"
#include "store/store.h"

void
cluster_setup_secret(struct daemon *d)
{
	const char *error;

	if (d->cfg->cluster_node != NULL &&
	    config_read_token(d->cfg->cluster_secret_file,
	    &d->cluster_secret, &error) < 0)
		fatalx("cluster: %s ([cluster] secret_file in %s)", error,
		    daemon_config_source(d->cfg));
}

_Static_assert(CLUSTER_REGS_MASTER_LEN == NOTIFY_MASTER_KEY_LEN,
    "the bucket keeps the notifier's master key whole");

void
cluster_setup_restore(struct daemon *d)
{
	struct cluster_regs_state st;
	const char *error;
	int rc;

	if (d->cfg->cluster_node == NULL || !d->cfg->notify_enabled ||
	    notify_state_present(d->cfg))
		return;
	rc = cluster_regs_fetch(d->cfg, d->cluster_secret, &st, &error);
	if (rc < 0) {
		log_warnx("cluster: no notify state here and none read from "
		    "NATS (%s): starting without registrations", error);
		return;
	}
	if (rc == 0) {
		log_info("cluster: NATS holds no notify state of node %s: "
		    "starting without registrations", d->cfg->cluster_node);
		return;
	}
	if (notify_state_restore(d->cfg, st.master, st.epoch, st.text, st.len,
	    &error) < 0)
		fatalx("notify: %s", error);
	log_info("cluster: notify state of node %s restored from NATS "
	    "(epoch %u, %zu bytes of registrations)", d->cfg->cluster_node,
	    (unsigned)st.epoch, st.len);
	cluster_regs_state_clear(&st);
}

/* notify_server_set_mirror()'s: each save of the registrations goes to
 * the bucket too. */
static void
mirror_cb(void *ctx, const unsigned char *master, uint32_t epoch,
    const void *data, size_t len)
{
	cluster_regs_put(ctx, master, epoch, data, len);
}

/* Another node's event, for this node's registrations. */
static void
remote_event_cb(const struct store_event *ev, const struct store_status *st,
    uint64_t landed_us, void *ctx)
{
	struct daemon *d = ctx;

	(void)landed_us;
	if (d->notify != NULL)
		notify_server_event(d->notify, ev, st);
}

/* A user moving away: waiting for what the queue holds for them to be
 * written. */
struct quiesce {
	struct quiesce *next;
	struct daemon *d;
	char *user;
	struct event *ev;
	uint64_t deadline_ms;
	void (*done)(void *arg, int result, const char *error);
	void *arg;
};
static struct quiesce *quiescing;

static void
quiesce_end(struct quiesce *q, int result, const char *error)
{
	struct quiesce **qp;

	for (qp = &quiescing; *qp != q; qp = &(*qp)->next)
		;
	*qp = q->next;
	event_free(q->ev);
	q->done(q->arg, result, error);
	free(q->user);
	free(q);
}

/* Every 10 ms: is nothing for the user left in the store queue? Its
 * deliveries taken before it froze are then written; later ones were
 * refused. Other users' mail may go on being written meanwhile. */
static void
quiesce_tick_cb(evutil_socket_t fd, short what, void *ctx)
{
	struct quiesce *q = ctx;

	(void)fd;
	(void)what;
	if (store_queue_pending_user(q->d->queue, q->user) == 0)
		quiesce_end(q, 0, NULL);
	else if (clock_now_ms() >= q->deadline_ms)
		quiesce_end(q, -1, "deliveries are still being written");
	else {
		struct timeval tv = { 0, 10000 };

		evtimer_add(q->ev, &tv);
	}
}

/* cluster_deps.quiesce: the user's sessions end, their queued work
 * drains. */
static void
quiesce_start(void *ctx, const char *user,
    void (*done)(void *arg, int result, const char *error), void *arg)
{
	struct daemon *d = ctx;
	struct quiesce *q = xcalloc(1, sizeof(*q));
	struct timeval now = { 0, 0 };

	if (d->imap != NULL)
		imap_server_end_user(d->imap, user, "[UNAVAILABLE] Your "
		    "mailbox is moving to another server; log in again");
	q->d = d;
	q->user = xstrdup(user);
	q->done = done;
	q->arg = arg;
	q->deadline_ms = clock_now_ms() + CLUSTER_MOVE_QUIESCE_SECS * 1000;
	q->ev = evtimer_new(d->base, quiesce_tick_cb, q);
	q->next = quiescing;
	quiescing = q;
	evtimer_add(q->ev, &now);
}

/* The port of the first socket of ss, or 0. */
static uint16_t
first_port(const struct service_sockets *ss)
{
	return ss->count > 0 ? ss->socks[0].port : 0;
}

void
cluster_setup_start(struct daemon *d)
{
	struct cluster_deps deps;
	const char *error;

	if (d->cfg->cluster_node == NULL)
		return;
	memset(&deps, 0, sizeof(deps));
	deps.base = d->base;
	deps.cfg = d->cfg;
	deps.store = d->store;
	deps.mail_root = d->mail_root;
	deps.secret = d->cluster_secret;
	deps.imap_port = first_port(&d->imap_socks);
	deps.lmtp_port = first_port(&d->lmtp_socks);
	deps.udp_port = first_port(&d->notify_socks);
	deps.event_cb = remote_event_cb;
	deps.event_ctx = d;
	deps.quiesce = quiesce_start;
	deps.quiesce_ctx = d;
	d->cluster = cluster_new(&deps, &error);
	if (d->cluster == NULL)
		fatalx("cluster: %s", error);
	/* The front doors ask the directory where a user lives. */
	directory_set_route(d->dir, cluster_route(d->cluster));
	if (d->notify != NULL)
		notify_server_set_mirror(d->notify, mirror_cb, d->cluster);
	log_info("cluster: node %s, NATS %s%s", d->cfg->cluster_node,
	    d->cfg->cluster_nats[0],
	    d->cfg->cluster_nats_count > 1 ? " and others" : "");
}

const struct route_ops *
cluster_setup_route(struct daemon *d)
{
	return d->cluster != NULL ? cluster_route(d->cluster) : NULL;
}

void
cluster_setup_stop(struct daemon *d)
{
	while (quiescing != NULL)
		quiesce_end(quiescing, -1, "node stopping");
	if (d->dir != NULL)
		directory_set_route(d->dir, NULL);
	/* A save under way is over, the next ones stay on disk. */
	if (d->notify != NULL && d->cluster != NULL)
		notify_server_set_mirror(d->notify, NULL, NULL);
	cluster_free(&d->cluster);
	if (d->cluster_secret != NULL) {
		OPENSSL_cleanse(d->cluster_secret, strlen(d->cluster_secret));
		free(d->cluster_secret);
		d->cluster_secret = NULL;
	}
}
