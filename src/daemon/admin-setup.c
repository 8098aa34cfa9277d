/*
 * The admin port's side of the daemon: reading its token, handing it
 * the services' rows for /api, and listing the endpoints it shows.
 */
#include "daemon/admin-setup.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "admin/admin-http.h"
#include "cluster/cluster.h"
#include "daemon/daemon.h"
#include "daemon/listen.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lmtp/lmtp.h"
#include "notify/notify.h"

#ifndef MAILBELL_VERSION
#define MAILBELL_VERSION "unknown"
#endif

/* admin_deps.sessions: every IMAP, then every LMTP session. */
static void
list_sessions(void *ctx, status_session_cb *cb, void *arg)
{
	const struct daemon *d = ctx;

	if (d->imap != NULL)
		imap_server_sessions(d->imap, cb, arg);
	if (d->lmtp != NULL)
		lmtp_server_sessions(d->lmtp, cb, arg);
}

/* admin_deps.nodes: the cluster's nodes. */
static void
list_nodes(void *ctx, status_node_cb *cb, void *arg)
{
	const struct daemon *d = ctx;

	if (d->cluster != NULL)
		cluster_list_nodes(d->cluster, cb, arg);
}

/* admin_deps.registrations: every notification registration. */
static void
list_registrations(void *ctx, status_registration_cb *cb, void *arg)
{
	const struct daemon *d = ctx;

	if (d->notify != NULL)
		notify_server_list(d->notify, cb, arg);
}

void
admin_setup_token(struct daemon *d)
{
	const char *error;

	if (d->cfg->admin_token_file != NULL &&
	    config_read_token(d->cfg->admin_token_file, &d->admin_token,
	    &error) < 0)
		fatalx("admin: %s ([admin] token_file in %s)", error,
		    daemon_config_source(d->cfg));
}

/* Name every bound socket of ss on the status page as service. */
static void
add_endpoints(struct daemon *d, const struct service_sockets *ss,
    const char *service)
{
	size_t i;

	for (i = 0; i < ss->count; i++)
		admin_http_add_endpoint(d->admin, service, ss->socks[i].where);
}

void
admin_setup_start(struct daemon *d)
{
	struct admin_deps admin_deps;
	size_t i;

	memset(&admin_deps, 0, sizeof(admin_deps));
	admin_deps.base = d->base;
	admin_deps.version = MAILBELL_VERSION;
	admin_deps.queue = d->queue;
	admin_deps.token = d->admin_token;
	admin_deps.status_ctx = d;
	admin_deps.sessions = list_sessions;
	admin_deps.registrations = list_registrations;
	admin_deps.nodes = d->cluster != NULL ? list_nodes : NULL;
	d->admin = admin_http_new(&admin_deps);
	for (i = 0; i < d->admin_socks.count; i++) {
		if (admin_http_listen(d->admin, d->admin_socks.socks[i].fd) < 0)
			fatalx("admin: cannot serve %s",
			    d->admin_socks.socks[i].where);
		d->admin_socks.socks[i].fd = -1;
	}
	add_endpoints(d, &d->imap_socks, "imap");
	add_endpoints(d, &d->imaps_socks, "imaps");
	add_endpoints(d, &d->lmtp_socks, "lmtp");
	add_endpoints(d, &d->admin_socks, "admin");
	add_endpoints(d, &d->notify_socks, "notify (udp)");
}

void
admin_setup_stop(struct daemon *d)
{
	admin_http_free(&d->admin);
	if (d->admin_token != NULL)
		OPENSSL_cleanse(d->admin_token, strlen(d->admin_token));
	free(d->admin_token);
	d->admin_token = NULL;
}
