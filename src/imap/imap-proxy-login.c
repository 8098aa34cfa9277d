/*
 * A front door reaches the node that owns a user's mailbox (imap-proxy.h):
 * where the user lives, the connection (non-blocking on the loop, a
 * host name looked up with evdns), the owner's greeting, STARTTLS and
 * its handshake, and the login as this node for the user, all within
 * IMAP_PROXY_LOGIN_TIMEOUT_SECS. Then the client's login is answered
 * and imap-proxy.c passes the bytes on.
 */
#include "imap/imap-proxy-private.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/util.h>
#include <openssl/err.h>

#include "directory/directory.h"
#include "imap/imap-commands.h"
#include "imap/imap-session-private.h"
#include "lib/base64.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/stats.h"
#include "lib/tls.h"
#include "lib/xmalloc.h"

/* The tags of the front door's own commands to the owner. */
#define TAG_STARTTLS "S"
#define TAG_AUTH "A"

static void proxy_login_read_cb(struct bufferevent *bev, void *ctx);
static void proxy_login_event_cb(struct bufferevent *bev, short what,
    void *ctx);

/* ---- what the server keeps ---- */

/* The client context for the owners' certificates, made once. */
static struct tls_client *
proxy_tls(struct imap_server *server, const char **error_r)
{
	if (server->proxy_tls == NULL)
		server->proxy_tls = tls_client_new(server->deps.route->ca_file,
		    NULL, error_r);
	return server->proxy_tls;
}

/* The resolver for host, or NULL for an address, which needs none;
 * *error_r if one is needed and cannot be made. */
static struct evdns_base *
proxy_dns(struct imap_server *server, const char *host, const char **error_r)
{
	struct sockaddr_storage ss;
	int len = (int)sizeof(ss);

	*error_r = NULL;
	if (evutil_parse_sockaddr_port(host, (struct sockaddr *)&ss,
	    &len) == 0)
		return NULL;
	if (server->proxy_dns == NULL)
		server->proxy_dns = evdns_base_new(server->deps.base,
		    EVDNS_BASE_INITIALIZE_NAMESERVERS);
	if (server->proxy_dns == NULL)
		*error_r = "cannot start the DNS resolver";
	return server->proxy_dns;
}

void
imap_proxy_server_free(struct imap_server *server)
{
	tls_client_free(&server->proxy_tls);
	if (server->proxy_dns != NULL) {
		evdns_base_free(server->proxy_dns, 0);
		server->proxy_dns = NULL;
	}
}

/* ---- ending the login ---- */

/* The owner was not reached or refused: the client's login is answered
 * NO [UNAVAILABLE] and the session stays not authenticated. */
static void
proxy_login_failed(struct imap_proxy *p, const char *why)
{
	struct imap_session *session = p->session;
	struct imap_cmd *cmd = p->cmd;

	log_warnx("imap: %s: cannot pass user=%s on to node=%s (%s:%u): %s",
	    session->log_id, p->user, p->peer.node, p->peer.host,
	    p->peer.imap_port, why);
	mb_stats.imap_proxy_failures_total++;
	imap_proxy_free(&session->proxy);
	cmd->abort_cb = NULL;
	imap_cmd_tagged(cmd, "NO", "UNAVAILABLE", "This mailbox cannot be "
	    "reached now, try again later");
}

/* The client left, or the server stops, during the login. */
static void
proxy_login_abort_cb(struct imap_cmd *cmd)
{
	imap_proxy_free(&cmd->session->proxy);
	cmd->abort_cb = NULL;
	imap_cmd_tagged(cmd, "NO", NULL, "Aborted");
}

static void
proxy_timeout_cb(evutil_socket_t fd, short what, void *ctx)
{
	(void)fd;
	(void)what;
	proxy_login_failed(ctx, error_fmt("no login within %d s",
	    IMAP_PROXY_LOGIN_TIMEOUT_SECS));
}

/* The capabilities in the owner's "A OK [CAPABILITY ...] ..." (malloc'd),
 * or NULL if it sent none. */
static char *
owner_caps(const char *line)
{
	static const char prefix[] = TAG_AUTH " OK [CAPABILITY ";
	const char *start, *end;

	if (strncasecmp(line, prefix, sizeof(prefix) - 1) != 0)
		return NULL;
	start = line + sizeof(prefix) - 1;
	if ((end = strchr(start, ']')) == NULL)
		return NULL;
	return xstrndup(start, (size_t)(end - start));
}

/* Logged in at the owner: the client's login is answered with the
 * owner's capabilities, as a server answers a login, and the session
 * is passed on. */
static void
proxy_logged_in(struct imap_proxy *p, const char *line)
{
	struct imap_session *session = p->session;
	struct imap_cmd *cmd = p->cmd;
	char *caps, *code = NULL;

	event_free(p->timer);
	p->timer = NULL;
	p->cmd = NULL;
	cmd->abort_cb = NULL;
	if (imap_session_login(session, p->user) < 0) {
		imap_proxy_free(&session->proxy);
		imap_cmd_tagged(cmd, "NO", "LIMIT", "Too many connections "
		    "for this user");
		return;
	}
	p->counted = true;
	mb_stats.imap_proxied_sessions++;
	mb_stats.imap_proxied_total++;
	log_info("imap: %s: passed on to node=%s (%s:%u)", session->log_id,
	    p->peer.node, p->peer.host, p->peer.imap_port);
	if ((caps = owner_caps(line)) != NULL)
		code = xasprintf("CAPABILITY %s", caps);
	/* The OK first: the relay passes the owner's bytes on from the
	 * loop, after it. */
	imap_cmd_tagged(cmd, "OK", code, "Logged in");
	free(code);
	free(caps);
	imap_proxy_relay_start(p);
	imap_session_update_timeouts(session);
}

/* ---- the conversation with the owner ---- */

/* The owner's next line into line (CR LF removed, NUL-terminated): 1,
 * 0 if it is not complete yet, -1 if it is too long. */
static int
proxy_read_line(struct imap_proxy *p, char *line, size_t size)
{
	struct evbuffer *in = bufferevent_get_input(p->bev);
	struct evbuffer_ptr pos = evbuffer_search(in, "\n", 1, NULL);
	size_t len;

	if (pos.pos < 0)
		return evbuffer_get_length(in) < size ? 0 : -1;
	len = (size_t)pos.pos;
	if (len >= size)
		return -1;
	evbuffer_remove(in, line, len);
	evbuffer_drain(in, 1);
	if (len > 0 && line[len - 1] == '\r')
		len--;
	line[len] = '\0';
	return 1;
}

/* STARTTLS's OK: the same socket goes on under TLS, the owner's
 * certificate checked against its host name. Bytes sent after the OK
 * in clear would be taken for the owner's (RFC 3207 5.2's injection):
 * there must be none. */
static void
proxy_start_tls(struct imap_proxy *p)
{
	struct imap_server *server = p->session->server;
	struct tls_client *tls;
	const char *error;
	evutil_socket_t fd;
	SSL *ssl;

	if (evbuffer_get_length(bufferevent_get_input(p->bev)) > 0) {
		proxy_login_failed(p, "data in clear after STARTTLS's OK");
		return;
	}
	if ((tls = proxy_tls(server, &error)) == NULL ||
	    (ssl = tls_client_ssl_new(tls, p->peer.host, &error)) == NULL) {
		proxy_login_failed(p, error_prefix("TLS", error));
		return;
	}
	fd = bufferevent_getfd(p->bev);
	bufferevent_setfd(p->bev, -1);
	bufferevent_free(p->bev);
	p->bev = bufferevent_openssl_socket_new(server->deps.base, fd, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (p->bev == NULL) {
		SSL_free(ssl);
		evutil_closesocket(fd);
		proxy_login_failed(p, "cannot set up TLS");
		return;
	}
	/* An owner that closes without close_notify has ended the
	 * session, as a client does. */
	bufferevent_openssl_set_allow_dirty_shutdown(p->bev, 1);
	p->phase = IMAP_PROXY_HANDSHAKE;
	bufferevent_setcb(p->bev, proxy_login_read_cb, NULL,
	    proxy_login_event_cb, p);
	bufferevent_enable(p->bev, EV_READ | EV_WRITE);
}

/* The handshake is done: log in as this node for the user (RFC 4616:
 * authzid NUL authcid NUL passwd, sent with the command, RFC 4959). */
static void
proxy_send_auth(struct imap_proxy *p)
{
	const struct route_ops *route = p->session->server->deps.route;
	size_t ulen = strlen(p->user), nlen = strlen(route->node_name);
	size_t slen = strlen(route->secret), len = ulen + 1 + nlen + 1 + slen;
	char *raw = xmalloc(len), *b64;

	memcpy(raw, p->user, ulen + 1);
	memcpy(raw + ulen + 1, route->node_name, nlen + 1);
	memcpy(raw + ulen + 1 + nlen + 1, route->secret, slen);
	b64 = base64_encode(raw, len);
	evbuffer_add_printf(bufferevent_get_output(p->bev),
	    TAG_AUTH " AUTHENTICATE PLAIN %s\r\n", b64);
	explicit_bzero(raw, len);
	explicit_bzero(b64, strlen(b64));
	free(raw);
	free(b64);
	p->phase = IMAP_PROXY_AUTH;
}

/* One line of the owner's while logging in; false once the login has
 * moved on (or ended) and no more lines are to be read here. */
static bool
proxy_login_line(struct imap_proxy *p, const char *line)
{
	char text[128];

	imap_printable(line, text, sizeof(text));
	switch (p->phase) {
	case IMAP_PROXY_GREETING:
		if (strncasecmp(line, "* OK", 4) != 0) {
			proxy_login_failed(p, error_fmt("greeting: %s", text));
			return false;
		}
		evbuffer_add_printf(bufferevent_get_output(p->bev),
		    TAG_STARTTLS " STARTTLS\r\n");
		p->phase = IMAP_PROXY_STARTTLS;
		return true;
	case IMAP_PROXY_STARTTLS:
		if (line[0] == '*')
			return true;
		if (strncasecmp(line, TAG_STARTTLS " OK", 4) != 0)
			proxy_login_failed(p, error_fmt("STARTTLS: %s", text));
		else
			proxy_start_tls(p);
		return false;
	case IMAP_PROXY_AUTH:
		if (line[0] == '*')
			return true;
		if (strncasecmp(line, TAG_AUTH " OK", 4) != 0)
			proxy_login_failed(p, error_fmt("login refused: %s",
			    text));
		else
			proxy_logged_in(p, line);
		return false;
	default:
		return false;
	}
}

static void
proxy_login_read_cb(struct bufferevent *bev, void *ctx)
{
	struct imap_proxy *p = ctx;
	char line[IMAP_PROXY_LOGIN_LINE_MAX + 1];
	int ret;

	(void)bev;
	while ((ret = proxy_read_line(p, line, sizeof(line))) != 0) {
		if (ret < 0) {
			proxy_login_failed(p, "overlong line");
			return;
		}
		if (!proxy_login_line(p, line))
			return;
	}
}

/* Why the connection failed, for the log. */
static const char *
proxy_conn_error(struct imap_proxy *p, short what)
{
	int dns = bufferevent_socket_get_dns_error(p->bev);
	const char *verify;
	unsigned long e;
	SSL *ssl;

	if (dns != 0)
		return error_fmt("%s: %s", p->peer.host,
		    evutil_gai_strerror(dns));
	if ((ssl = bufferevent_openssl_get_ssl(p->bev)) != NULL) {
		if ((verify = tls_client_verify_error(ssl)) != NULL)
			return error_prefix("TLS", verify);
		if ((e = bufferevent_get_openssl_error(p->bev)) != 0)
			return error_fmt("TLS: %s", ERR_reason_error_string(e));
	}
	if (what & BEV_EVENT_EOF)
		return "connection closed";
	return error_errno("connection", errno);
}

static void
proxy_login_event_cb(struct bufferevent *bev, short what, void *ctx)
{
	struct imap_proxy *p = ctx;
	int one = 1;

	if ((what & BEV_EVENT_CONNECTED) && p->phase == IMAP_PROXY_HANDSHAKE) {
		proxy_send_auth(p);
		return;
	}
	if (what & BEV_EVENT_CONNECTED) {
		/* Short commands and replies: no waiting for ACKs. */
		(void)setsockopt(bufferevent_getfd(bev), IPPROTO_TCP,
		    TCP_NODELAY, &one, sizeof(one));
		p->phase = IMAP_PROXY_GREETING;
		return;
	}
	if (p->starting) {
		p->start_error = what;
		return;
	}
	proxy_login_failed(p, proxy_conn_error(p, what));
}

/* ---- the start ---- */

/* Connect to the owner's IMAP port. 0, or -1 with *error_r. */
static int
proxy_connect(struct imap_proxy *p, const char **error_r)
{
	struct imap_server *server = p->session->server;
	struct timeval tv = { IMAP_PROXY_LOGIN_TIMEOUT_SECS, 0 };
	struct evdns_base *dns;
	int ret;

	dns = proxy_dns(server, p->peer.host, error_r);
	if (*error_r != NULL)
		return -1;
	p->timer = evtimer_new(server->deps.base, proxy_timeout_cb, p);
	p->bev = bufferevent_socket_new(server->deps.base, -1,
	    BEV_OPT_CLOSE_ON_FREE);
	if (p->timer == NULL || p->bev == NULL)
		fatalx("imap: cannot create an event");
	evtimer_add(p->timer, &tv);
	bufferevent_setcb(p->bev, proxy_login_read_cb, NULL,
	    proxy_login_event_cb, p);
	bufferevent_setwatermark(p->bev, EV_READ, 0,
	    IMAP_PROXY_LOGIN_LINE_MAX + 2);
	bufferevent_enable(p->bev, EV_READ | EV_WRITE);
	/* A failure may be reported from within the call. */
	p->starting = true;
	ret = bufferevent_socket_connect_hostname(p->bev, dns, AF_UNSPEC,
	    p->peer.host, p->peer.imap_port);
	p->starting = false;
	if (ret < 0 || p->start_error != 0) {
		*error_r = proxy_conn_error(p, p->start_error);
		return -1;
	}
	return 0;
}

bool
imap_proxy_login(struct imap_cmd *cmd, const char *user)
{
	struct imap_session *session = cmd->session;
	struct route_peer peer;
	struct imap_proxy *p;
	const char *error;

	switch (directory_locate(session->server->deps.dir, user, &peer)) {
	case ROUTE_HERE:
		return false;
	case ROUTE_UNAVAILABLE:
		log_info("imap: %s: user=%s is on no node now",
		    session->log_id, user);
		mb_stats.imap_proxy_failures_total++;
		imap_cmd_tagged(cmd, "NO", "UNAVAILABLE", "This mailbox is "
		    "not available now, try again later");
		return true;
	case ROUTE_THERE:
		break;
	}
	p = xcalloc(1, sizeof(*p));
	p->session = session;
	p->cmd = cmd;
	p->peer = peer;
	(void)snprintf(p->user, sizeof(p->user), "%s", user);
	session->proxy = p;
	cmd->abort_cb = proxy_login_abort_cb;
	log_debug("imap: %s: user=%s lives on node=%s", session->log_id, user,
	    peer.node);
	if (proxy_connect(p, &error) < 0)
		proxy_login_failed(p, error);
	return true;
}
