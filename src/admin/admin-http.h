/*
 * The admin HTTP service (the System Attendant's role): health, Prometheus
 * metrics and a status page, served by evhttp on sockets the daemon bound.
 * It reads lib/stats.h and the store queue; it knows nothing of LMTP or
 * IMAP. Everything here runs on the daemon's libevent loop.
 *
 * Routes (GET, or HEAD for the headers alone):
 *   /                   the live status page (HTML and a script that
 *                       polls /api/status and draws with Chart.js)
 *   /static/chart.min.js  Debian's Chart.js, served from here so the
 *                       page loads nothing from elsewhere
 *   /health             200 "ok\n"
 *   /metrics            Prometheus text exposition format 0.0.4
 *   /api/status         JSON: version, uptime, ports, sessions and
 *                       registrations by kind, totals, and the last
 *                       15 minutes second by second
 *   /api/registrations  JSON, paged (?offset=N&limit=M): the
 *                       notification registrations
 *   /api/sessions       JSON, paged: the IMAP and LMTP sessions
 * Any other path is 404; any other method 405. With a token, /metrics
 * and /api/ need "Authorization: Bearer <token>" (401 otherwise),
 * compared in constant time; the page, its script and /health hold
 * nothing of the server's and need none.
 */
#ifndef MB_ADMIN_ADMIN_HTTP_H
#define MB_ADMIN_ADMIN_HTTP_H

#include <event2/event.h>

#include "lib/status.h"

struct store_queue;
struct admin_http;

/* What the admin service needs; all must outlive it. */
struct admin_deps {
	struct event_base *base;
	const char *version;		/* shown on / and in build_info */
	const struct store_queue *queue; /* for the pending count; may be
					    NULL */
	const char *token;		/* bearer token (copied), or NULL:
					   requests need none */
	/* What /api lists (lib/status.h), each called with status_ctx;
	 * NULL: none of that kind. */
	void *status_ctx;
	void (*sessions)(void *ctx, status_session_cb *cb, void *arg);
	void (*registrations)(void *ctx, status_registration_cb *cb,
	    void *arg);
	void (*nodes)(void *ctx, status_node_cb *cb, void *arg); /* NULL:
					   not a cluster node */
	const char *chartjs_path;	/* Chart.js to serve the page, or
					   NULL: ADMIN_CHARTJS_PATH */
};


/*
 * Create the service, with the ADMIN_* limits of lib/limits.h applied
 * (header and body size, timeout). Uptime counts from this call, which
 * the daemon makes at start-up. Never NULL.
 */
struct admin_http *admin_http_new(const struct admin_deps *deps);

/* Serve a bound, listening, non-blocking socket; the service owns it
 * from now on. Returns 0, or -1 if libevent could not take it (out of
 * memory; the descriptor may be closed or not, so treat it as fatal). */
int admin_http_listen(struct admin_http *admin, evutil_socket_t fd);

/* Name one of the daemon's endpoints on the status page, e.g.
 * ("lmtp", "127.0.0.1:2424"). Both strings are copied. */
void admin_http_add_endpoint(struct admin_http *admin, const char *service,
    const char *where);

/* Close the listeners and every open admin connection, and free. */
void admin_http_free(struct admin_http **adminp);

#endif
