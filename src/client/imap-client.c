/*
 * The command line tool's IMAP client: one TCP connection as a
 * bufferevent on the caller's event_base. Every command runs to its
 * tagged reply by turning the loop itself, each wait bounded by a
 * timer; the responses are found and parsed by imap-client-parse.c.
 */
#include "client/imap-client.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "client/imap-client-parse.h"
#include "client/imap-client-private.h"
#include "lib/base64.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

static struct timeval
remaining_tv(uint64_t deadline)
{
	uint64_t now = clock_now_ms(), left;
	struct timeval tv;

	left = deadline > now ? deadline - now : 0;
	tv.tv_sec = (time_t)(left / 1000);
	tv.tv_usec = (suseconds_t)(left % 1000 * 1000);
	return tv;
}

static bool
stopped(const volatile sig_atomic_t *stop)
{
	return stop != NULL && *stop != 0;
}

/* ---- Connecting ---- */

static void
fd_ready_cb(evutil_socket_t fd, short what, void *arg)
{
	short *what_r = arg;

	(void)fd;
	*what_r = what;
}

/*
 * Turn the loop until fd is ready for events or deadline passes.
 * Returns 1 ready, 0 timed out, -1 interrupted by *stop or a loop
 * error.
 */
static int
wait_fd(struct event_base *base, int fd, short events, uint64_t deadline,
    volatile sig_atomic_t *stop)
{
	struct event *ev;
	struct timeval tv = remaining_tv(deadline);
	short what = 0;
	int ret = -1;

	ev = event_new(base, fd, events, fd_ready_cb, &what);
	if (ev == NULL || event_add(ev, &tv) < 0)
		goto out;
	for (;;) {
		if (stopped(stop))
			break;
		if (what != 0) {
			ret = (what & events) != 0 ? 1 : 0;
			break;
		}
		if (event_base_loop(base, EVLOOP_ONCE) < 0)
			break;
	}
out:
	if (ev != NULL)
		event_free(ev);
	return ret;
}

static int
connect_one(struct event_base *base, const struct addrinfo *ai,
    int timeout_ms, volatile sig_atomic_t *stop, const char **why_r)
{
	int fd, err = 0, r;
	socklen_t elen = sizeof(err);

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0) {
		*why_r = strerror(errno);
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		*why_r = strerror(errno);
		close(fd);
		return -1;
	}
	r = wait_fd(base, fd, EV_WRITE, clock_now_ms() + (uint64_t)timeout_ms,
	    stop);
	if (r <= 0) {
		*why_r = r == 0 ? "timed out" : "interrupted";
		close(fd);
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		err = errno;
	if (err != 0) {
		*why_r = strerror(err);
		close(fd);
		return -1;
	}
	return fd;
}

static void resp_clear(struct imap_client *c);
static void caps_set(struct imap_client *c, const char *text, size_t len);

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct imap_client *c = arg;

	(void)bev;
	c->woke = true;
	if (c->input_cb != NULL)
		c->input_cb(c->input_ctx);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct imap_client *c = arg;
	int err = EVUTIL_SOCKET_ERROR();

	if (what & BEV_EVENT_CONNECTED) {
		/* the TLS handshake is done: imap-client-tls.c waits */
		c->tls_connected = true;
		c->woke = true;
		return;
	}
	if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) == 0)
		return;
	if (!c->closed) {
		c->io_what = what;
		c->io_errno = err;
		if (c->ssl != NULL)
			c->tls_error = bufferevent_get_openssl_error(bev);
		c->closed = true;
	}
	c->woke = true;
	if (c->input_cb != NULL)
		c->input_cb(c->input_ctx);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct imap_client *c = arg;

	(void)fd;
	(void)what;
	c->timed_out = true;
}

struct imap_client *
imap_client_open(struct event_base *base, const char *host,
    const char *port, int timeout_ms, volatile sig_atomic_t *stop,
    const char **error_r)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct imap_client *c;
	const char *why = "no address";
	int fd = -1, gai;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((gai = getaddrinfo(host, port, &hints, &res)) != 0) {
		*error_r = error_fmt("cannot resolve %s: %s", host,
		    gai_strerror(gai));
		return NULL;
	}
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
		fd = connect_one(base, ai, timeout_ms, stop, &why);
	if (fd < 0) {
		*error_r = error_fmt("cannot connect to %s port %s: %s", host,
		    port, why);
		freeaddrinfo(res);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->base = base;
	c->stop = stop;
	c->peer_len = sizeof(c->peer);
	if (getpeername(fd, (struct sockaddr *)&c->peer, &c->peer_len) < 0)
		c->peer_len = 0;
	freeaddrinfo(res);
	c->timer = evtimer_new(base, timer_cb, c);
	if (c->timer == NULL)
		fatalx("out of memory");
	imap_client_set_bev(c, bufferevent_socket_new(base, fd,
	    BEV_OPT_CLOSE_ON_FREE));
	return c;
}

void
imap_client_set_bev(struct imap_client *c, struct bufferevent *bev)
{
	if (bev == NULL)
		fatalx("out of memory");
	c->bev = bev;
	bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
	/* A response longer than this is refused, so reading past it
	   would only grow memory: stop there until it is consumed. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, IMAP_CLIENT_RESP_MAX + 1);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

int
imap_client_greeting(struct imap_client *c, const char *host,
    const char *port, int timeout_ms, const char **error_r)
{
	const struct imap_client_resp *resp;
	int r;

	r = imap_client_read(c, timeout_ms, &resp, error_r);
	if (r <= 0) {
		*error_r = error_fmt("no IMAP greeting from %s port %s: %s",
		    host, port, r == 0 ? "timed out" : *error_r);
		return -1;
	}
	if (strcmp(resp->tag, "*") != 0 || resp->count == 0 ||
	    !imap_client_arg_is(&resp->args[0], "OK")) {
		*error_r = error_fmt("%s port %s did not greet with \"* OK\": "
		    "%.100s", host, port, resp->text);
		return -1;
	}
	if (resp->count > 1 && resp->args[1].type == IMAP_CLIENT_ARG_ATOM &&
	    strncasecmp(resp->args[1].str, "[CAPABILITY ", 12) == 0)
		caps_set(c, resp->args[1].str + 12, resp->args[1].len - 13);
	return 0;
}

struct imap_client *
imap_client_connect(struct event_base *base, const char *host,
    const char *port, const struct client_tls *tls, int timeout_ms,
    volatile sig_atomic_t *stop, const char **error_r)
{
	enum client_tls_mode mode = tls != NULL ? tls->mode : CLIENT_TLS_NONE;
	struct imap_client *c;

	c = imap_client_open(base, host, port, timeout_ms, stop, error_r);
	if (c == NULL)
		return NULL;
	/* IMAPS greets inside TLS; STARTTLS asks for TLS after it. */
	if ((mode == CLIENT_TLS_IMAPS &&
	    imap_client_start_tls(c, tls, host, timeout_ms, error_r) < 0) ||
	    imap_client_greeting(c, host, port, timeout_ms, error_r) < 0 ||
	    (mode == CLIENT_TLS_STARTTLS &&
	    imap_client_start_tls(c, tls, host, timeout_ms, error_r) < 0)) {
		imap_client_free(&c);
		return NULL;
	}
	return c;
}

void
imap_client_free(struct imap_client **cp)
{
	struct imap_client *c = *cp;
	size_t i;

	if (c == NULL)
		return;
	*cp = NULL;
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	if (c->timer != NULL)
		event_free(c->timer);
	resp_clear(c);
	for (i = 0; i < c->cap_count; i++)
		free(c->caps[i]);
	free(c->caps);
	free(c);
}

void
imap_client_set_input_cb(struct imap_client *c, imap_client_input_cb *cb,
    void *ctx)
{
	c->input_cb = cb;
	c->input_ctx = ctx;
}

const struct sockaddr *
imap_client_peer(const struct imap_client *c, socklen_t *len_r)
{
	*len_r = c->peer_len;
	return (const struct sockaddr *)&c->peer;
}

/* ---- Capabilities ---- */

void
imap_client_caps_clear(struct imap_client *c)
{
	size_t i;

	for (i = 0; i < c->cap_count; i++)
		free(c->caps[i]);
	c->cap_count = 0;
}

static void
caps_set(struct imap_client *c, const char *text, size_t len)
{
	const char *p = text, *end = text + len, *w;

	imap_client_caps_clear(c);
	while (p < end) {
		while (p < end && *p == ' ')
			p++;
		w = p;
		while (p < end && *p != ' ' && *p != ']')
			p++;
		if (p == w)
			break;
		c->caps = xreallocarray(c->caps, c->cap_count + 1,
		    sizeof(*c->caps));
		c->caps[c->cap_count++] = xstrndup(w, (size_t)(p - w));
	}
}

bool
imap_client_has_cap(const struct imap_client *c, const char *cap)
{
	size_t i;

	for (i = 0; i < c->cap_count; i++)
		if (strcasecmp(c->caps[i], cap) == 0)
			return true;
	return false;
}

/* ---- Reading ---- */

/* Why the connection ended. */
static const char *
closed_error(const struct imap_client *c)
{
	const char *tls_error;

	if (c->io_what & BEV_EVENT_EOF)
		return error_fmt("connection closed by the server");
	if ((tls_error = imap_client_tls_io_error(c)) != NULL)
		return tls_error;
	return error_fmt("%s: %s", c->io_what & BEV_EVENT_WRITING ?
	    "write" : "read", strerror(c->io_errno));
}

static void
resp_clear(struct imap_client *c)
{
	if (!c->have_resp)
		return;
	imap_client_resp_free(&c->resp);
	c->have_resp = false;
}

/* Look for a whole response in what the bufferevent holds. */
static int
find_response(const struct imap_client *c, size_t *len_r,
    size_t *text_end_r)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t avail = evbuffer_get_length(in);

	if (avail == 0)
		return 0;
	return imap_client_resp_find(evbuffer_pullup(in, -1), avail, len_r,
	    text_end_r);
}

bool
imap_client_buffered(const struct imap_client *c)
{
	size_t len, text_end;

	/* A whole response, one too long to ever be, or the end of the
	   connection: either way a read returns at once. */
	return c->closed || find_response(c, &len, &text_end) != 0;
}

int
imap_client_wait_io(struct imap_client *c, uint64_t deadline)
{
	struct timeval tv = remaining_tv(deadline);
	int ret = -1;

	c->woke = false;
	c->timed_out = false;
	evtimer_add(c->timer, &tv);
	for (;;) {
		if (stopped(c->stop))
			break;
		if (c->woke) {
			ret = 1;
			break;
		}
		if (c->timed_out) {
			ret = 0;
			break;
		}
		if (event_base_loop(c->base, EVLOOP_ONCE) < 0)
			break;
	}
	evtimer_del(c->timer);
	return ret;
}

int
imap_client_read(struct imap_client *c, int timeout_ms,
    const struct imap_client_resp **resp_r, const char **error_r)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	uint64_t deadline = clock_now_ms() + (uint64_t)timeout_ms;
	size_t len, text_end;
	int r;

	for (;;) {
		r = find_response(c, &len, &text_end);
		if (r < 0) {
			*error_r = error_fmt("response longer than %d bytes",
			    IMAP_CLIENT_RESP_MAX);
			return -1;
		}
		if (r > 0) {
			resp_clear(c);
			imap_client_resp_parse(&c->resp,
			    (const char *)evbuffer_pullup(in, -1), text_end);
			c->have_resp = true;
			evbuffer_drain(in, len);
			*resp_r = &c->resp;
			return 1;
		}
		if (c->closed) {
			*error_r = closed_error(c);
			return -1;
		}
		if (timeout_ms == 0)
			return 0;
		r = imap_client_wait_io(c, deadline);
		if (r < 0) {
			*error_r = "interrupted";
			return -1;
		}
		if (r == 0)
			return 0;
	}
}

/* ---- Writing ---- */

/* Queue data for the server; the wait for the reply sends it. */
static int
send_all(struct imap_client *c, const void *data, size_t len,
    const char **error_r)
{
	if (c->closed) {
		*error_r = closed_error(c);
		return -1;
	}
	if (bufferevent_write(c->bev, data, len) < 0)
		fatalx("out of memory");
	return 0;
}

static int
send_tagged(struct imap_client *c, const char **error_r, const char *fmt,
    va_list ap)
{
	struct buf b;
	va_list aq;
	int n, r;

	c->tag_seq++;
	snprintf(c->tag, sizeof(c->tag), "m%u", c->tag_seq);
	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0) {
		*error_r = "cannot format a command";
		return -1;
	}
	buf_init(&b, 0);
	buf_append_str(&b, c->tag);
	buf_append(&b, " ", 1);
	{
		char *text = xmalloc((size_t)n + 1);

		vsnprintf(text, (size_t)n + 1, fmt, ap);
		buf_append(&b, text, (size_t)n);
		free(text);
	}
	r = send_all(c, b.data, b.len, error_r);
	buf_free(&b);
	return r;
}

/* Read responses up to the tagged reply of c->tag. */
static enum imap_client_status
wait_tagged(struct imap_client *c, imap_client_untagged_cb *cb, void *ctx,
    const char **error_r)
{
	const struct imap_client_resp *resp;
	int r;

	for (;;) {
		r = imap_client_read(c, IMAP_CLIENT_TIMEOUT_MS, &resp,
		    error_r);
		if (r == 0)
			*error_r = error_fmt("no reply to %s within %d s",
			    c->tag, IMAP_CLIENT_TIMEOUT_MS / 1000);
		if (r <= 0)
			return IMAP_CLIENT_FAILED;
		if (strcmp(resp->tag, "*") == 0) {
			if (resp->count > 0 &&
			    imap_client_arg_is(&resp->args[0], "CAPABILITY"))
				caps_set(c, resp->text + 10,
				    resp->text_len - 10);
			else if (resp->count > 0 &&
			    imap_client_arg_is(&resp->args[0], "BYE")) {
				*error_r = error_fmt("server said BYE: "
				    "%.200s", resp->text);
				return IMAP_CLIENT_FAILED;
			}
			if (cb != NULL)
				cb(ctx, resp);
			continue;
		}
		if (strcmp(resp->tag, "+") == 0) {
			*error_r = "unexpected continuation";
			return IMAP_CLIENT_FAILED;
		}
		if (strcmp(resp->tag, c->tag) != 0)
			continue;
		if (resp->count > 0 && imap_client_arg_is(&resp->args[0],
		    "OK"))
			return IMAP_CLIENT_OK;
		*error_r = error_fmt("%.400s", resp->text);
		return IMAP_CLIENT_NO;
	}
}

enum imap_client_status
imap_client_cmd(struct imap_client *c, imap_client_untagged_cb *cb,
    void *ctx, const char **error_r, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = send_tagged(c, error_r, fmt, ap);
	va_end(ap);
	if (r < 0 || send_all(c, "\r\n", 2, error_r) < 0)
		return IMAP_CLIENT_FAILED;
	return wait_tagged(c, cb, ctx, error_r);
}

enum imap_client_status
imap_client_cmd_literal(struct imap_client *c, imap_client_untagged_cb *cb,
    void *ctx, const char **error_r, const void *data, size_t len,
    const char *fmt, ...)
{
	const struct imap_client_resp *resp;
	bool plus = imap_client_has_cap(c, "LITERAL+");
	char head[32];
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = send_tagged(c, error_r, fmt, ap);
	va_end(ap);
	snprintf(head, sizeof(head), " {%zu%s}\r\n", len, plus ? "+" : "");
	if (r < 0 || send_all(c, head, strlen(head), error_r) < 0)
		return IMAP_CLIENT_FAILED;
	while (!plus) {
		r = imap_client_read(c, IMAP_CLIENT_TIMEOUT_MS, &resp,
		    error_r);
		if (r <= 0) {
			if (r == 0)
				*error_r = "no continuation";
			return IMAP_CLIENT_FAILED;
		}
		if (strcmp(resp->tag, "+") == 0)
			break;
		if (strcmp(resp->tag, c->tag) == 0) {
			*error_r = error_fmt("%.400s", resp->text);
			return IMAP_CLIENT_NO;
		}
		if (strcmp(resp->tag, "*") == 0 && cb != NULL)
			cb(ctx, resp);
	}
	if (send_all(c, data, len, error_r) < 0 ||
	    send_all(c, "\r\n", 2, error_r) < 0)
		return IMAP_CLIENT_FAILED;
	return wait_tagged(c, cb, ctx, error_r);
}

/* ---- Login ---- */

enum imap_client_status
imap_client_login(struct imap_client *c, const char *user,
    const char *password, const char **error_r)
{
	enum imap_client_status st;
	size_t ulen = strlen(user), plen = strlen(password);
	unsigned char *sasl;
	char *b64, *quser, *qpass;

	if (c->cap_count == 0) {
		st = imap_client_cmd(c, NULL, NULL, error_r, "CAPABILITY");
		if (st != IMAP_CLIENT_OK)
			return st;
	}
	if (imap_client_has_cap(c, "AUTH=PLAIN") &&
	    imap_client_has_cap(c, "SASL-IR")) {
		/* authzid NUL authcid NUL password (RFC 4616) */
		sasl = xmalloc(ulen + plen + 2);
		sasl[0] = '\0';
		memcpy(sasl + 1, user, ulen);
		sasl[1 + ulen] = '\0';
		memcpy(sasl + 2 + ulen, password, plen);
		b64 = base64_encode(sasl, ulen + plen + 2);
		explicit_bzero(sasl, ulen + plen + 2);
		free(sasl);
		st = imap_client_cmd(c, NULL, NULL, error_r,
		    "AUTHENTICATE PLAIN %s", b64);
		explicit_bzero(b64, strlen(b64));
		free(b64);
	} else {
		quser = imap_client_quote(user);
		qpass = imap_client_quote(password);
		if (quser == NULL || qpass == NULL) {
			*error_r = error_fmt("the user name or password "
			    "needs AUTHENTICATE PLAIN, which the server does "
			    "not offer");
			st = IMAP_CLIENT_NO;
		} else {
			st = imap_client_cmd(c, NULL, NULL, error_r,
			    "LOGIN %s %s", quser, qpass);
		}
		free(quser);
		if (qpass != NULL)
			explicit_bzero(qpass, strlen(qpass));
		free(qpass);
	}
	if (st != IMAP_CLIENT_OK)
		return st;
	return imap_client_cmd(c, NULL, NULL, error_r, "CAPABILITY");
}

/* ---- IDLE ---- */

enum imap_client_status
imap_client_idle_start(struct imap_client *c, imap_client_untagged_cb *cb,
    void *ctx, const char **error_r)
{
	const struct imap_client_resp *resp;
	int r;

	c->tag_seq++;
	snprintf(c->tag, sizeof(c->tag), "m%u", c->tag_seq);
	{
		char line[32];

		snprintf(line, sizeof(line), "%s IDLE\r\n", c->tag);
		if (send_all(c, line, strlen(line), error_r) < 0)
			return IMAP_CLIENT_FAILED;
	}
	for (;;) {
		r = imap_client_read(c, IMAP_CLIENT_TIMEOUT_MS, &resp,
		    error_r);
		if (r <= 0) {
			if (r == 0)
				*error_r = "no reply to IDLE";
			return IMAP_CLIENT_FAILED;
		}
		if (strcmp(resp->tag, "+") == 0)
			return IMAP_CLIENT_OK;
		if (strcmp(resp->tag, c->tag) == 0) {
			*error_r = error_fmt("%.400s", resp->text);
			return IMAP_CLIENT_NO;
		}
		/* A server writes the changes it had waiting before "+"
		   (mailbelld does): they are news IDLE will not repeat. */
		if (cb != NULL && strcmp(resp->tag, "*") == 0)
			cb(ctx, resp);
	}
}

enum imap_client_status
imap_client_idle_done(struct imap_client *c, imap_client_untagged_cb *cb,
    void *ctx, const char **error_r)
{
	if (send_all(c, "DONE\r\n", 6, error_r) < 0)
		return IMAP_CLIENT_FAILED;
	return wait_tagged(c, cb, ctx, error_r);
}
