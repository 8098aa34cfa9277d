/*
 * The admin port's evhttp routes: /health for probes, /metrics for
 * Prometheus and / for a person with a browser. Each reply is built in
 * full and sent at once; there is no request body to read.
 */
#include "admin/admin-http.h"
#include "admin/admin-private.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "admin/metrics.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "store/store.h"

static double
uptime_seconds(const struct admin_http *admin)
{
	return (double)(clock_now_us() - admin->started_us) / 1e6;
}

void
admin_gather(const struct admin_http *admin, struct metrics_extra *extra)
{
	extra->version = admin->version;
	extra->uptime_seconds = uptime_seconds(admin);
	extra->queue_pending = admin->queue != NULL ?
	    store_queue_pending(admin->queue) : 0;
	(void)metrics_process(extra);
}

void
admin_reply(struct evhttp_request *req, int code, const char *reason,
    const char *content_type, const void *body, size_t len)
{
	struct evkeyvalq *headers = evhttp_request_get_output_headers(req);
	struct evbuffer *out = evbuffer_new();

	if (out == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evhttp_add_header(headers, "Content-Type", content_type);
	evhttp_add_header(headers, "Cache-Control", "no-store");
	evbuffer_add(out, body, len);
	evhttp_send_reply(req, code, reason, out);
	evbuffer_free(out);
}

void
admin_reply_text(struct evhttp_request *req, int code, const char *reason,
    const char *text)
{
	admin_reply(req, code, reason, "text/plain; charset=utf-8", text,
	    strlen(text));
}

static void
route_health(struct admin_http *admin, struct evhttp_request *req)
{
	(void)admin;
	admin_reply_text(req, HTTP_OK, "OK", "ok\n");
}

static void
route_metrics(struct admin_http *admin, struct evhttp_request *req)
{
	struct metrics_extra extra;
	struct buf b;

	admin_gather(admin, &extra);
	buf_init(&b, 0);
	if (metrics_render(&b, &extra) < 0) {
		buf_free(&b);
		admin_reply_text(req, HTTP_INTERNAL, "Internal Server Error",
		    "metrics too large\n");
		return;
	}
	admin_reply(req, HTTP_OK, "OK", "text/plain; version=0.0.4; charset=utf-8",
	    b.data, b.len);
	buf_free(&b);
}

/* The routes, looked up by exact path. The page and its script hold
 * nothing of the server's: they need no token; what they show comes
 * from /api, which does. */
static const struct admin_route {
	const char *path;
	bool open;		/* served without the token */
	void (*handler)(struct admin_http *, struct evhttp_request *);
} admin_routes[] = {
	{ "/", true, admin_route_page },
	{ "/static/chart.min.js", true, admin_route_chartjs },
	{ "/health", true, route_health },
	{ "/metrics", false, route_metrics },
	{ "/api/status", false, admin_route_status },
	{ "/api/registrations", false, admin_route_registrations },
	{ "/api/sessions", false, admin_route_sessions },
	{ "/api/cluster", false, admin_route_cluster },
};

static int
sha256(const char *s, size_t len, unsigned char out[32])
{
	unsigned int n = 0;

	return EVP_Digest(s, len, out, &n, EVP_sha256(), NULL) == 1 &&
	    n == 32 ? 0 : -1;
}

/* Whether req shows the token, if one is needed. The digests of both
 * are compared, so the time taken tells nothing of the token, not even
 * its length. */
static bool
authorized(const struct admin_http *admin, struct evhttp_request *req)
{
	const char *h;
	unsigned char got[32];

	if (!admin->has_token)
		return true;
	h = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization");
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	h += 7;
	h += strspn(h, " ");
	return sha256(h, strlen(h), got) == 0 &&
	    CRYPTO_memcmp(got, admin->token_digest, sizeof(got)) == 0;
}

static void
request_cb(struct evhttp_request *req, void *arg)
{
	struct admin_http *admin = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	enum evhttp_cmd_type method = evhttp_request_get_command(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	size_t i;

	if (path == NULL || *path == '\0')
		path = "/";
	if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		admin_reply_text(req, 405, "Method Not Allowed",
		    "method not allowed\n");
		return;
	}
	for (i = 0; i < sizeof(admin_routes) / sizeof(admin_routes[0]); i++) {
		if (strcmp(path, admin_routes[i].path) != 0)
			continue;
		if (!admin_routes[i].open && !authorized(admin, req)) {
			evhttp_add_header(evhttp_request_get_output_headers(req),
			    "WWW-Authenticate", "Bearer realm=\"mailbell\"");
			admin_reply_text(req, 401, "Unauthorized",
			    "unauthorized\n");
			return;
		}
		admin_routes[i].handler(admin, req);
		return;
	}
	admin_reply_text(req, HTTP_NOTFOUND, "Not Found", "not found\n");
}

/* Every second: one sample of the history the page charts. */
static void
sample_cb(evutil_socket_t fd, short what, void *arg)
{
	struct admin_http *admin = arg;
	uint64_t now[ADMIN_SERIES_COUNT];

	(void)fd;
	(void)what;
	admin_history_read(now);
	admin_history_add(&admin->history, now);
}

struct admin_http *
admin_http_new(const struct admin_deps *deps)
{
	static const struct timeval second = { 1, 0 };
	struct admin_http *admin = xcalloc(1, sizeof(*admin));

	admin->http = evhttp_new(deps->base);
	if (admin->http == NULL)
		fatalx("admin: cannot create the HTTP service");
	admin->version = xstrdup(deps->version);
	admin->queue = deps->queue;
	admin->deps = *deps;
	admin->deps.token = NULL;	/* the digest is kept, not the token */
	admin->started_us = clock_now_us();
	if (deps->token != NULL) {
		if (sha256(deps->token, strlen(deps->token),
		    admin->token_digest) < 0)
			fatalx("admin: cannot hash the token");
		admin->has_token = true;
	}

	evhttp_set_max_headers_size(admin->http, ADMIN_HEADERS_MAX);
	evhttp_set_max_body_size(admin->http, ADMIN_BODY_MAX);
	evhttp_set_timeout(admin->http, ADMIN_TIMEOUT_SECS);
	/* Let every method reach request_cb, so the answer to one we do not
	 * serve is 405 with an Allow header rather than evhttp's 501. */
	evhttp_set_allowed_methods(admin->http, EVHTTP_REQ_GET |
	    EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
	    EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(admin->http, request_cb, admin);
	admin_history_read(admin->history.last);
	admin->history.primed = true;
	admin->sample_ev = event_new(deps->base, -1, EV_PERSIST, sample_cb,
	    admin);
	if (admin->sample_ev == NULL || event_add(admin->sample_ev, &second) < 0)
		fatalx("admin: cannot start the history timer");
	admin_page_load(admin);
	return admin;
}

int
admin_http_listen(struct admin_http *admin, evutil_socket_t fd)
{
	return evhttp_accept_socket_with_handle(admin->http, fd) != NULL ?
	    0 : -1;
}

void
admin_http_add_endpoint(struct admin_http *admin, const char *service,
    const char *where)
{
	struct admin_endpoint *e;

	admin->endpoints = xreallocarray(admin->endpoints,
	    admin->endpoint_count + 1, sizeof(*admin->endpoints));
	e = &admin->endpoints[admin->endpoint_count++];
	e->service = xstrdup(service);
	e->where = xstrdup(where);
}

void
admin_http_free(struct admin_http **adminp)
{
	struct admin_http *admin = *adminp;
	size_t i;

	if (admin == NULL)
		return;
	evhttp_free(admin->http);
	if (admin->sample_ev != NULL)
		event_free(admin->sample_ev);
	free(admin->chartjs);
	for (i = 0; i < admin->endpoint_count; i++) {
		free(admin->endpoints[i].service);
		free(admin->endpoints[i].where);
	}
	free(admin->endpoints);
	free(admin->version);
	free(admin);
	*adminp = NULL;
}
