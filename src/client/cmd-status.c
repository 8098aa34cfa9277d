/*
 * mailbell status: what the admin port's /api/status says, as a table in
 * a terminal or as the JSON itself. It asks the daemon the configuration
 * describes, on the first address of [admin] listen, with the token of
 * [admin] token_file when one is set.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "client/client.h"
#include "lib/config.h"
#include "lib/limits.h"
#include "lib/log.h"

/* Seconds to wait for the admin port. */
#define STATUS_TIMEOUT_SECS 10

static int cmd_status(struct client_ctx *, int, char **);

const struct client_cmd cmd_status_entry = {
	"status",
	"status [-c FILE] [--json]",
	"show what the running server is doing",
	"Asks the daemon's admin port (/api/status) and prints its sessions,\n"
	"registrations by state, totals and the last minute. --json prints\n"
	"the answer as the admin port gives it. Exit 69 if the daemon cannot\n"
	"be reached, 77 if it wants a token this user cannot read.\n",
	cmd_status,
};

struct fetch {
	struct event_base *base;
	int status;		/* HTTP status, 0: no answer */
	char *body;		/* NUL-terminated */
};

static void
done_cb(struct evhttp_request *req, void *arg)
{
	struct fetch *f = arg;
	struct evbuffer *in;
	size_t len;

	/* Done, answered or not: the connection may be kept alive, the
	 * loop need not wait for it. */
	event_base_loopexit(f->base, NULL);
	if (req == NULL || (f->status = evhttp_request_get_response_code(req))
	    == 0)
		return;
	in = evhttp_request_get_input_buffer(req);
	len = evbuffer_get_length(in);
	f->body = malloc(len + 1);
	if (f->body != NULL) {
		evbuffer_remove(in, f->body, len);
		f->body[len] = '\0';
	}
}

/* GET path from host:port with token (or NULL) into *f. */
static void
fetch(const char *host, uint16_t port, const char *path, const char *token,
    struct fetch *f)
{
	struct event_base *base = event_base_new();
	struct evhttp_connection *conn;
	struct evhttp_request *req;
	char *auth;

	memset(f, 0, sizeof(*f));
	f->base = base;
	if (base == NULL || (conn = evhttp_connection_base_new(base, NULL,
	    host, port)) == NULL) {
		if (base != NULL)
			event_base_free(base);
		return;
	}
	evhttp_connection_set_timeout(conn, STATUS_TIMEOUT_SECS);
	req = evhttp_request_new(done_cb, f);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Host",
	    host);
	if (token != NULL) {
		if (asprintf(&auth, "Bearer %s", token) < 0)
			fatalx("out of memory");
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Authorization", auth);
		OPENSSL_cleanse(auth, strlen(auth));
		free(auth);
	}
	if (evhttp_make_request(conn, req, EVHTTP_REQ_GET, path) == 0)
		event_base_dispatch(base);
	evhttp_connection_free(conn);
	event_base_free(base);
}

static json_int_t
num(json_t *o, const char *a, const char *b)
{
	return json_integer_value(json_object_get(json_object_get(o, a), b));
}

/* The sum of a history series over its last n samples. */
static json_int_t
last(json_t *st, const char *series, size_t n)
{
	json_t *a = json_object_get(json_object_get(st, "history"), series);
	size_t len = json_array_size(a), i;
	json_int_t sum = 0;

	for (i = len > n ? len - n : 0; i < len; i++)
		sum += json_integer_value(json_array_get(a, i));
	return sum;
}

static void
print_table(json_t *st, const char *host, uint16_t port)
{
	json_int_t up = (json_int_t)json_real_value(json_object_get(st,
	    "uptime_seconds"));
	json_t *ports = json_object_get(st, "ports"), *p;
	size_t i;

	printf("mailbell %s at %s:%u, up %lldd %02lld:%02lld:%02lld\n\n",
	    json_string_value(json_object_get(st, "version")), host, port,
	    up / 86400, up / 3600 % 24, up / 60 % 60, up % 60);
	printf("%-15s imap %lld, lmtp %lld\n", "sessions",
	    num(st, "sessions", "imap"), num(st, "sessions", "lmtp"));
	printf("%-15s %lld: verified %lld, waiting %lld, unreachable %lld\n",
	    "registrations", num(st, "registrations", "total"),
	    num(st, "registrations", "verified"),
	    num(st, "registrations", "waiting"),
	    num(st, "registrations", "unreachable"));
	printf("%-15s delivered %lld, notifications sent %lld, acknowledged "
	    "%lld, resent %lld\n", "since start",
	    num(st, "totals", "deliveries"),
	    num(st, "totals", "notifications_sent"),
	    num(st, "totals", "notifications_acked"),
	    num(st, "totals", "notifications_resent"));
	printf("%-15s delivered %lld, notifications sent %lld, acknowledged "
	    "%lld, resent %lld\n", "last minute", last(st, "deliveries", 60),
	    last(st, "notifications_sent", 60),
	    last(st, "notifications_acked", 60),
	    last(st, "notifications_resent", 60));
	printf("%-15s %lld deliveries pending\n\nports\n", "queue",
	    (long long)json_integer_value(json_object_get(st,
	    "queue_pending")));
	json_array_foreach(ports, i, p)
		printf("  %-14s %s\n",
		    json_string_value(json_object_get(p, "service")),
		    json_string_value(json_object_get(p, "address")));
}

static int
cmd_status(struct client_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *const *addrs, *error, *host;
	struct mb_config *cfg;
	struct fetch f;
	char *token = NULL;
	json_t *st;
	bool as_json = false;
	int ch, ret;

	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			ctx->config_path = optarg;
			break;
		case 'j':
			as_json = true;
			break;
		case 'h':
			client_cmd_usage(&cmd_status_entry, stdout, 1);
			return 0;
		default:
			client_cmd_usage(&cmd_status_entry, stderr, 0);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		client_cmd_usage(&cmd_status_entry, stderr, 0);
		return EX_USAGE;
	}
	if ((ret = client_load_config(ctx, &cfg)) != 0)
		return ret;
	if (cfg->admin_port == 0) {
		log_warnx("[admin] port is 0 (picked at start): set a fixed "
		    "port to ask the server");
		config_free(&cfg);
		return EX_CONFIG;
	}
	if (cfg->admin_token_file != NULL &&
	    config_read_token(cfg->admin_token_file, &token, &error) < 0) {
		log_warnx("%s", error);
		config_free(&cfg);
		return EX_NOPERM;
	}
	(void)config_admin_listen(cfg, &addrs);
	host = config_addr_is_wildcard(addrs[0]) ? "127.0.0.1" : addrs[0];
	fetch(host, cfg->admin_port, "/api/status", token, &f);
	if (token != NULL) {
		OPENSSL_cleanse(token, strlen(token));
		free(token);
	}
	ret = 0;
	if (f.status != 200 || f.body == NULL ||
	    (st = json_loads(f.body, 0, NULL)) == NULL) {
		log_warnx("no status from %s port %u: %s", host,
		    cfg->admin_port, f.status == 0 ? "no answer (is mailbelld "
		    "running?)" : f.status == 401 ? "the token was refused" :
		    "not an answer of mailbell's");
		ret = f.status == 401 ? EX_NOPERM : EX_UNAVAILABLE;
	} else {
		if (as_json) {
			json_dumpf(st, stdout, JSON_INDENT(2));
			putchar('\n');
		} else
			print_table(st, host, cfg->admin_port);
		json_decref(st);
	}
	free(f.body);
	config_free(&cfg);
	if (ret == 0 && fflush(stdout) != 0)
		ret = EX_IOERR;
	return ret;
}
