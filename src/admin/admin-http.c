/*
 * The admin port's evhttp routes: /health for probes, /metrics for
 * Prometheus and / for a person with a browser. Each reply is built in
 * full and sent at once; there is no request body to read.
 */
#include "admin/admin-http.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "admin/metrics.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/error.h"
#include "lib/escape.h"
#include "lib/fsutil.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "store/store.h"

/* One line of the status page's port table. */
struct admin_endpoint {
	char *service;		/* "lmtp" */
	char *where;		/* "127.0.0.1:2424" */
};

struct admin_http {
	/* Set at creation, never changed. */
	struct evhttp *http;
	char *version;
	const struct store_queue *queue;
	uint64_t started_us;		/* clock_now_us() at creation */
	bool has_token;			/* requests must show it */
	unsigned char token_digest[32];	/* SHA-256 of the token */

	/* Endpoints to list on the status page. */
	struct admin_endpoint *endpoints;
	size_t endpoint_count;
};

static double
uptime_seconds(const struct admin_http *admin)
{
	return (double)(clock_now_us() - admin->started_us) / 1e6;
}

static void
gather(const struct admin_http *admin, struct metrics_extra *extra)
{
	extra->version = admin->version;
	extra->uptime_seconds = uptime_seconds(admin);
	extra->queue_pending = admin->queue != NULL ?
	    store_queue_pending(admin->queue) : 0;
	(void)metrics_process(extra);
}

static void
reply(struct evhttp_request *req, int code, const char *reason,
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

static void
reply_text(struct evhttp_request *req, int code, const char *reason,
    const char *text)
{
	reply(req, code, reason, "text/plain; charset=utf-8", text,
	    strlen(text));
}

static void
route_health(struct admin_http *admin, struct evhttp_request *req)
{
	(void)admin;
	reply_text(req, HTTP_OK, "OK", "ok\n");
}

static void
route_metrics(struct admin_http *admin, struct evhttp_request *req)
{
	struct metrics_extra extra;
	struct buf b;

	gather(admin, &extra);
	buf_init(&b, 0);
	if (metrics_render(&b, &extra) < 0) {
		buf_free(&b);
		reply_text(req, HTTP_INTERNAL, "Internal Server Error",
		    "metrics too large\n");
		return;
	}
	reply(req, HTTP_OK, "OK", "text/plain; version=0.0.4; charset=utf-8",
	    b.data, b.len);
	buf_free(&b);
}

static void
route_status(struct admin_http *admin, struct evhttp_request *req)
{
	struct metrics_extra extra;
	const struct metric *m;
	uint64_t up;
	struct buf b;
	size_t i;

	gather(admin, &extra);
	up = (uint64_t)extra.uptime_seconds;
	buf_init(&b, 0);
	buf_append_str(&b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
	    "<title>mailbell</title></head>\n<body>\n<h1>mailbell</h1>\n<p>"
	    "Version ");
	html_escape(&b, admin->version);
	buf_printf(&b, ", up %" PRIu64 "d %02" PRIu64 ":%02" PRIu64 ":%02"
	    PRIu64 " (%" PRIu64 " s).</p>\n", up / 86400, up / 3600 % 24,
	    up / 60 % 60, up % 60, up);

	buf_append_str(&b, "<h2>Ports</h2>\n<table>\n"
	    "<tr><th>service</th><th>address</th></tr>\n");
	for (i = 0; i < admin->endpoint_count; i++) {
		buf_append_str(&b, "<tr><td>");
		html_escape(&b, admin->endpoints[i].service);
		buf_append_str(&b, "</td><td>");
		html_escape(&b, admin->endpoints[i].where);
		buf_append_str(&b, "</td></tr>\n");
	}
	buf_append_str(&b, "</table>\n");

	buf_append_str(&b, "<h2>Counters</h2>\n<table>\n"
	    "<tr><th>metric</th><th>value</th><th>meaning</th></tr>\n");
	for (i = 0; i < metrics_table_len; i++) {
		m = &metrics_table[i];
		buf_append_str(&b, "<tr><td>");
		html_escape(&b, m->name);
		if (m->labels != NULL) {
			buf_append_str(&b, "{");
			html_escape(&b, m->labels);
			buf_append_str(&b, "}");
		}
		buf_printf(&b, "</td><td>%" PRIu64 "</td><td>", *m->value);
		html_escape(&b, m->help);
		buf_append_str(&b, "</td></tr>\n");
	}
	buf_printf(&b, "<tr><td>mailbell_delivery_queue_pending</td>"
	    "<td>%" PRIu64 "</td><td>Deliveries and folder syncs queued or "
	    "running.</td></tr>\n", extra.queue_pending);
	buf_append_str(&b, "</table>\n<p><a href=\"/metrics\">/metrics</a> "
	    "&middot; <a href=\"/health\">/health</a></p>\n</body></html>\n");

	reply(req, HTTP_OK, "OK", "text/html; charset=utf-8", b.data, b.len);
	buf_free(&b);
}

/* The routes, looked up by exact path. */
static const struct admin_route {
	const char *path;
	void (*handler)(struct admin_http *, struct evhttp_request *);
} admin_routes[] = {
	{ "/", route_status },
	{ "/health", route_health },
	{ "/metrics", route_metrics },
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
		reply_text(req, 405, "Method Not Allowed",
		    "method not allowed\n");
		return;
	}
	if (strcmp(path, "/health") != 0 && !authorized(admin, req)) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "WWW-Authenticate", "Bearer realm=\"mailbell\"");
		reply_text(req, 401, "Unauthorized", "unauthorized\n");
		return;
	}
	for (i = 0; i < sizeof(admin_routes) / sizeof(admin_routes[0]); i++) {
		if (strcmp(path, admin_routes[i].path) == 0) {
			admin_routes[i].handler(admin, req);
			return;
		}
	}
	reply_text(req, HTTP_NOTFOUND, "Not Found", "not found\n");
}

struct admin_http *
admin_http_new(const struct admin_deps *deps)
{
	struct admin_http *admin = xcalloc(1, sizeof(*admin));

	admin->http = evhttp_new(deps->base);
	if (admin->http == NULL)
		fatalx("admin: cannot create the HTTP service");
	admin->version = xstrdup(deps->version);
	admin->queue = deps->queue;
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
	for (i = 0; i < admin->endpoint_count; i++) {
		free(admin->endpoints[i].service);
		free(admin->endpoints[i].where);
	}
	free(admin->endpoints);
	free(admin->version);
	free(admin);
	*adminp = NULL;
}

int
admin_token_load(const char *path, char **token_r, const char **error_r)
{
	struct stat st;
	char *data;
	size_t len, n;

	if (stat(path, &st) < 0 ||
	    read_file(path, ADMIN_TOKEN_MAX + 64, &data, &len) < 0) {
		*error_r = error_fmt("%s: cannot read: %s", path,
		    strerror(errno));
		return -1;
	}
	if (st.st_mode & S_IROTH) {
		OPENSSL_cleanse(data, len);
		free(data);
		*error_r = error_fmt("%s: readable by everyone (chmod o-r)",
		    path);
		return -1;
	}
	while (len > 0 && strchr(" \t\r\n", data[len - 1]) != NULL)
		data[--len] = '\0';
	/* token68: letters, digits, -._~+/ then any '=' */
	n = strspn(data, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-._~+/");
	n += strspn(data + n, "=");
	if (n != len || len < ADMIN_TOKEN_MIN || len > ADMIN_TOKEN_MAX) {
		OPENSSL_cleanse(data, len);
		free(data);
		*error_r = error_fmt("%s: not a token (one line of %d to %d "
		    "letters, digits or -._~+/=)", path, ADMIN_TOKEN_MIN,
		    ADMIN_TOKEN_MAX);
		return -1;
	}
	*token_r = data;
	return 0;
}
