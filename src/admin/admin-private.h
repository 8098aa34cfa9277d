/*
 * Inside the admin port: the service's state, shared by admin-http.c
 * (routing, access, /health and /metrics), admin-api.c (the JSON
 * routes) and admin-page.c (the status page and its script). Nothing
 * outside src/admin includes this.
 */
#ifndef MB_ADMIN_ADMIN_PRIVATE_H
#define MB_ADMIN_ADMIN_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/http.h>

#include "admin/admin-history.h"
#include "admin/admin-http.h"
#include "admin/metrics.h"

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

	struct admin_deps deps;		/* the sources of /api */
	struct event *sample_ev;	/* adds to history every second */
	struct admin_history history;
	char *chartjs;			/* Chart.js as read at start, or
					   NULL: the page shows no charts */
	size_t chartjs_len;

	/* Endpoints to list on the status page. */
	struct admin_endpoint *endpoints;
	size_t endpoint_count;
};

/* Send body (len bytes) with code and content type, uncached. */
void admin_reply(struct evhttp_request *req, int code, const char *reason,
    const char *content_type, const void *body, size_t len);
/* The same for a text/plain body. */
void admin_reply_text(struct evhttp_request *req, int code,
    const char *reason, const char *text);
/* The values of /metrics that are not in lib/stats.h. */
void admin_gather(const struct admin_http *admin,
    struct metrics_extra *extra);

/* Routes of admin-api.c and admin-page.c. */
void admin_route_status(struct admin_http *admin,
    struct evhttp_request *req);
void admin_route_registrations(struct admin_http *admin,
    struct evhttp_request *req);
void admin_route_sessions(struct admin_http *admin,
    struct evhttp_request *req);
void admin_route_cluster(struct admin_http *admin,
    struct evhttp_request *req);
void admin_route_page(struct admin_http *admin, struct evhttp_request *req);
void admin_route_chartjs(struct admin_http *admin,
    struct evhttp_request *req);

/* Read Chart.js for the page (admin-page.c); a warning if it cannot. */
void admin_page_load(struct admin_http *admin);

#endif
