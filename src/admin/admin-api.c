/*
 * The admin port's JSON routes, built with Jansson: /api/status for the
 * status page and `mailbell status`, and the paged lists of
 * registrations and sessions. Each answer is made in full on the loop
 * from the services' rows (lib/status.h).
 */
#include "admin/admin-private.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <jansson.h>

#include "lib/clock.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/stats.h"
#include "lib/strnum.h"

/* Send root (taking it) as the answer. */
static void
reply_json(struct evhttp_request *req, json_t *root)
{
	char *text = root != NULL ? json_dumps(root, JSON_COMPACT) : NULL;

	json_decref(root);
	if (text == NULL) {
		admin_reply_text(req, HTTP_INTERNAL, "Internal Server Error",
		    "out of memory\n");
		return;
	}
	admin_reply(req, HTTP_OK, "OK", "application/json", text,
	    strlen(text));
	free(text);
}

/* ---- /api/status ---- */

struct reg_counts {
	json_int_t verified, waiting, unreachable;
};

static void
count_cb(const struct status_registration *row, void *arg)
{
	struct reg_counts *c = arg;

	if (strcmp(row->state, "verified") == 0)
		c->verified++;
	else if (strcmp(row->state, "unreachable") == 0)
		c->unreachable++;
	else
		c->waiting++;
}

static json_t *
history_json(const struct admin_history *h)
{
	json_t *o = json_pack("{s:i}", "interval_seconds", 1);
	size_t i, s;

	for (s = 0; s < ADMIN_SERIES_COUNT && o != NULL; s++) {
		json_t *a = json_array();

		for (i = 0; i < h->count && a != NULL; i++)
			json_array_append_new(a, json_integer(
			    admin_history_get(h, i, (enum admin_series)s)));
		json_object_set_new(o, admin_series_names[s], a);
	}
	return o;
}

static json_t *
ports_json(const struct admin_http *admin)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < admin->endpoint_count && a != NULL; i++)
		json_array_append_new(a, json_pack("{s:s,s:s}", "service",
		    admin->endpoints[i].service, "address",
		    admin->endpoints[i].where));
	return a;
}

/* The last warnings and errors of the log, oldest first. */
static json_t *
problems_json(void)
{
	struct log_recent recent[LOG_RECENT_MAX];
	size_t i, n = log_recent(recent, LOG_RECENT_MAX);
	json_t *a = json_array();

	for (i = 0; i < n && a != NULL; i++)
		json_array_append_new(a, json_pack("{s:I,s:s}", "time",
		    (json_int_t)recent[i].time, "text", recent[i].text));
	return a;
}

void
admin_route_status(struct admin_http *admin, struct evhttp_request *req)
{
	struct metrics_extra x;
	struct reg_counts c = { 0, 0, 0 };
	json_t *root;

	admin_gather(admin, &x);
	if (admin->deps.registrations != NULL)
		admin->deps.registrations(admin->deps.status_ctx, count_cb, &c);
	root = json_pack("{s:s,s:f,s:f,s:o,"
	    "s:{s:I,s:I},"
	    "s:{s:I,s:I,s:I,s:I},"
	    "s:{s:I,s:I,s:I,s:I,s:I,s:I},"
	    "s:I,s:o}",
	    "version", admin->version,
	    "uptime_seconds", x.uptime_seconds,
	    "start_time", x.start_time_seconds,
	    "ports", ports_json(admin),
	    "sessions",
	    "imap", (json_int_t)mb_stats.imap_sessions_active,
	    "lmtp", (json_int_t)mb_stats.lmtp_sessions_active,
	    "registrations",
	    "total", c.verified + c.waiting + c.unreachable,
	    "verified", c.verified, "waiting", c.waiting,
	    "unreachable", c.unreachable,
	    "totals",
	    "deliveries", (json_int_t)mb_stats.lmtp_deliveries_total,
	    "notifications_sent", (json_int_t)mb_stats.notify_events_total,
	    "notifications_acked",
	    (json_int_t)mb_stats.notify_event_acked_seconds.count,
	    "notifications_resent",
	    (json_int_t)mb_stats.notify_retransmits_total,
	    "imap_logins", (json_int_t)mb_stats.imap_logins_total,
	    "imap_commands", (json_int_t)mb_stats.imap_commands_total,
	    "queue_pending", (json_int_t)x.queue_pending,
	    "history", history_json(&admin->history));
	if (root != NULL)
		json_object_set_new(root, "problems", problems_json());
	reply_json(req, root);
}

/* ---- Paged lists ---- */

/* A page of rows: those from offset, at most limit of them. */
struct page {
	uint64_t offset, limit;
	json_int_t total;		/* rows seen */
	json_t *items;
	uint64_t now_ms;
};

/* ?offset=N&limit=M: 0 and ADMIN_PAGE_DEFAULT when absent. Returns 0, or
 * -1 (400 sent) for a bad value. */
static int
page_parse(struct evhttp_request *req, struct page *p)
{
	const char *query = evhttp_uri_get_query(
	    evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq q;
	const char *v;
	int rc = 0;

	memset(p, 0, sizeof(*p));
	p->limit = ADMIN_PAGE_DEFAULT;
	p->now_ms = clock_now_ms();
	TAILQ_INIT(&q);
	if (query != NULL && evhttp_parse_query_str(query, &q) < 0)
		rc = -1;
	if (rc == 0 && (v = evhttp_find_header(&q, "offset")) != NULL &&
	    str_to_u64(v, 0, UINT32_MAX, &p->offset) < 0)
		rc = -1;
	if (rc == 0 && (v = evhttp_find_header(&q, "limit")) != NULL &&
	    str_to_u64(v, 1, ADMIN_PAGE_MAX, &p->limit) < 0)
		rc = -1;
	evhttp_clear_headers(&q);
	if (rc < 0) {
		char text[96];

		snprintf(text, sizeof(text), "offset is a number, limit a "
		    "number from 1 to %d\n", ADMIN_PAGE_MAX);
		admin_reply_text(req, HTTP_BADREQUEST, "Bad Request", text);
	} else
		p->items = json_array();
	return rc;
}

/* Whether the next row is on the page (and count it). */
static int
page_takes(struct page *p)
{
	uint64_t i = (uint64_t)p->total++;

	return i >= p->offset && i - p->offset < p->limit;
}

static void
page_reply(struct evhttp_request *req, struct page *p, const char *key)
{
	reply_json(req, json_pack("{s:I,s:I,s:I,s:o}", "total", p->total,
	    "offset", (json_int_t)p->offset, "limit", (json_int_t)p->limit,
	    key, p->items));
}

static void
registration_cb(const struct status_registration *row, void *arg)
{
	struct page *p = arg;
	char id[17];

	if (!page_takes(p))
		return;
	snprintf(id, sizeof(id), "%016" PRIx64, row->id);
	json_array_append_new(p->items, json_pack(
	    "{s:s,s:s,s:s,s:s?,s:I,s:I,s:I}", "id", id, "user", row->user,
	    "state", row->state, "endpoint", row->endpoint,
	    "last_seen", (json_int_t)row->last_seen,
	    "folders", (json_int_t)row->folders,
	    "unacked", (json_int_t)row->unacked));
}

void
admin_route_registrations(struct admin_http *admin,
    struct evhttp_request *req)
{
	struct page p;

	if (page_parse(req, &p) < 0)
		return;
	if (admin->deps.registrations != NULL)
		admin->deps.registrations(admin->deps.status_ctx,
		    registration_cb, &p);
	page_reply(req, &p, "registrations");
}

static void
session_cb(const struct status_session *row, void *arg)
{
	struct page *p = arg;

	if (!page_takes(p))
		return;
	json_array_append_new(p->items, json_pack(
	    "{s:s,s:s,s:s?,s:s,s:s?,s:s?,s:b,s:f}", "service", row->service,
	    "peer", row->peer, "user", row->user, "state", row->state,
	    "folder", row->folder, "node", row->node, "tls", row->tls,
	    "connected_seconds", (double)(p->now_ms - row->since_ms) / 1e3));
}

void
admin_route_sessions(struct admin_http *admin, struct evhttp_request *req)
{
	struct page p;

	if (page_parse(req, &p) < 0)
		return;
	if (admin->deps.sessions != NULL)
		admin->deps.sessions(admin->deps.status_ctx, session_cb, &p);
	page_reply(req, &p, "sessions");
}

/* ---- The cluster ---- */

static void
node_cb(const struct status_node *row, void *arg)
{
	json_t *nodes = arg;

	json_array_append_new(nodes, json_pack(
	    "{s:s,s:s?,s:i,s:i,s:i,s:b,s:b,s:I,s:I,s:I}", "name", row->name,
	    "host", row->host, "imap_port", (int)row->imap_port,
	    "lmtp_port", (int)row->lmtp_port, "udp_port", (int)row->udp_port,
	    "self", row->self, "up", row->up, "seen", (json_int_t)row->seen,
	    "users", (json_int_t)row->users,
	    "pending", (json_int_t)row->pending));
}

/* What this node knows of its cluster: 404 when it is not a node. */
void
admin_route_cluster(struct admin_http *admin, struct evhttp_request *req)
{
	json_t *nodes;

	if (admin->deps.nodes == NULL) {
		evhttp_send_error(req, HTTP_NOTFOUND, "not a cluster node");
		return;
	}
	nodes = json_array();
	admin->deps.nodes(admin->deps.status_ctx, node_cb, nodes);
	reply_json(req, json_pack("{s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:o}",
	    "connected", mb_stats.cluster_connected != 0,
	    "users", (json_int_t)mb_stats.cluster_users,
	    "published", (json_int_t)mb_stats.cluster_published_total,
	    "publish_queue", (json_int_t)mb_stats.cluster_publish_queue,
	    "publish_dropped",
	    (json_int_t)mb_stats.cluster_publish_dropped_total,
	    "received", (json_int_t)mb_stats.cluster_received_total,
	    "pending", (json_int_t)mb_stats.cluster_consumer_pending,
	    "nodes", nodes));
}
