/*
 * The daemon's side of the cluster: reading its secret, joining the
 * cluster layer to the notifier and handing its route to the services.
 */
#include "daemon/cluster-setup.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cluster/cluster.h"
#include "daemon/daemon.h"
#include "daemon/listen.h"
#include "lib/config.h"
#include "lib/log.h"
#include "notify/notify.h"

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
	d->cluster = cluster_new(&deps, &error);
	if (d->cluster == NULL)
		fatalx("cluster: %s", error);
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
	cluster_free(&d->cluster);
	if (d->cluster_secret != NULL) {
		OPENSSL_cleanse(d->cluster_secret, strlen(d->cluster_secret));
		free(d->cluster_secret);
		d->cluster_secret = NULL;
	}
}
