/*
 * The status page: HTML and a script (status-page.html, carried in the
 * daemon by embed.py) that polls /api/status and draws the last 15
 * minutes with Debian's Chart.js, which the admin port serves itself so
 * the page loads nothing from elsewhere.
 */
#include "admin/admin-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "lib/fsutil.h"
#include "lib/limits.h"
#include "lib/log.h"

/* status-page.c, made at build time */
extern const char admin_page_html[];
extern const size_t admin_page_html_len;

void
admin_page_load(struct admin_http *admin)
{
	const char *path = admin->deps.chartjs_path != NULL ?
	    admin->deps.chartjs_path : ADMIN_CHARTJS_PATH;

	if (read_file(path, ADMIN_CHARTJS_MAX, &admin->chartjs,
	    &admin->chartjs_len) < 0) {
		log_warnx("admin: %s: %s; the status page shows figures but "
		    "no charts (install libjs-chart.js)", path, strerror(errno));
		admin->chartjs = NULL;
	}
}

void
admin_route_page(struct admin_http *admin, struct evhttp_request *req)
{
	(void)admin;
	admin_reply(req, HTTP_OK, "OK", "text/html; charset=utf-8",
	    admin_page_html, admin_page_html_len);
}

void
admin_route_chartjs(struct admin_http *admin, struct evhttp_request *req)
{
	if (admin->chartjs == NULL) {
		admin_reply_text(req, HTTP_NOTFOUND, "Not Found",
		    "Chart.js is not installed\n");
		return;
	}
	admin_reply(req, HTTP_OK, "OK", "text/javascript; charset=utf-8",
	    admin->chartjs, admin->chartjs_len);
}
