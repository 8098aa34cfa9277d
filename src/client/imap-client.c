/*
 * The command line tool's IMAP client: a nonblocking socket driven by
 * poll(2) so every wait has a deadline, responses read whole (a line
 * that ends in a literal continues after it) and parsed into a small
 * argument tree.
 */
#include "client/imap-client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include "lib/buf.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

struct imap_client {
	int fd;				/* nonblocking TCP socket */
	struct sockaddr_storage peer;	/* the server, as connected */
	socklen_t peer_len;
	volatile sig_atomic_t *stop;	/* abort waits when nonzero */

	/* Input: bytes received, of which [in_pos, in_len) are unread. */
	unsigned char *in;
	size_t in_len, in_pos, in_cap;

	/* The last response read; freed by the next read. */
	struct imap_client_resp resp;
	bool have_resp;

	char **caps;			/* from the last CAPABILITY */
	size_t cap_count;
	unsigned int tag_seq;		/* tags are "m1", "m2"... */
	char tag[16];			/* the command being run */
	char error[512];		/* *error_r of the last failure */
};

static char connect_error[512];

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
remaining_ms(int64_t deadline)
{
	int64_t left = deadline - now_ms();

	if (left < 0)
		return 0;
	return left > 1000000 ? 1000000 : (int)left;
}

static bool
stopped(const volatile sig_atomic_t *stop)
{
	return stop != NULL && *stop != 0;
}

/*
 * poll one fd for events until deadline. Returns 1 ready, 0 timed out,
 * -1 interrupted by *stop or a poll error.
 */
static int
wait_fd(int fd, short events, int64_t deadline,
    volatile sig_atomic_t *stop)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int n;

	for (;;) {
		if (stopped(stop))
			return -1;
		n = poll(&pfd, 1, remaining_ms(deadline));
		if (n > 0)
			return 1;
		if (n == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* ---- Connecting ---- */

static int
connect_one(const struct addrinfo *ai, int timeout_ms,
    volatile sig_atomic_t *stop, const char **why_r)
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
	r = wait_fd(fd, POLLOUT, now_ms() + timeout_ms, stop);
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

struct imap_client *
imap_client_connect(const char *host, const char *port, int timeout_ms,
    volatile sig_atomic_t *stop, const char **error_r)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct imap_client *c;
	const struct imap_client_resp *resp;
	const char *why = "no address";
	int fd = -1, gai, r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((gai = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(connect_error, sizeof(connect_error),
		    "cannot resolve %s: %s", host, gai_strerror(gai));
		*error_r = connect_error;
		return NULL;
	}
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
		fd = connect_one(ai, timeout_ms, stop, &why);
	if (fd < 0) {
		snprintf(connect_error, sizeof(connect_error),
		    "cannot connect to %s port %s: %s", host, port, why);
		freeaddrinfo(res);
		*error_r = connect_error;
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->stop = stop;
	c->peer_len = sizeof(c->peer);
	if (getpeername(fd, (struct sockaddr *)&c->peer, &c->peer_len) < 0)
		c->peer_len = 0;
	freeaddrinfo(res);

	r = imap_client_read(c, timeout_ms, &resp, error_r);
	if (r <= 0) {
		snprintf(connect_error, sizeof(connect_error),
		    "no IMAP greeting from %s port %s: %s", host, port,
		    r == 0 ? "timed out" : *error_r);
		goto fail;
	}
	if (strcmp(resp->tag, "*") != 0 || resp->count == 0 ||
	    !imap_client_arg_is(&resp->args[0], "OK")) {
		snprintf(connect_error, sizeof(connect_error),
		    "%s port %s did not greet with \"* OK\": %.100s", host,
		    port, resp->text);
		goto fail;
	}
	if (resp->count > 1 && resp->args[1].type == IMAP_CLIENT_ARG_ATOM &&
	    strncasecmp(resp->args[1].str, "[CAPABILITY ", 12) == 0)
		caps_set(c, resp->args[1].str + 12, resp->args[1].len - 13);
	return c;
fail:
	*error_r = connect_error;
	imap_client_free(&c);
	return NULL;
}

void
imap_client_free(struct imap_client **cp)
{
	struct imap_client *c = *cp;
	size_t i;

	if (c == NULL)
		return;
	*cp = NULL;
	if (c->fd >= 0)
		close(c->fd);
	resp_clear(c);
	for (i = 0; i < c->cap_count; i++)
		free(c->caps[i]);
	free(c->caps);
	free(c->in);
	free(c);
}

int
imap_client_fd(const struct imap_client *c)
{
	return c->fd;
}

const struct sockaddr *
imap_client_peer(const struct imap_client *c, socklen_t *len_r)
{
	*len_r = c->peer_len;
	return (const struct sockaddr *)&c->peer;
}

/* ---- Capabilities ---- */

static void
caps_set(struct imap_client *c, const char *text, size_t len)
{
	const char *p = text, *end = text + len, *w;
	size_t i;

	for (i = 0; i < c->cap_count; i++)
		free(c->caps[i]);
	c->cap_count = 0;
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

/* ---- Parsing a response ---- */

static void
args_free(struct imap_client_arg *args, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		free(args[i].str);
		args_free(args[i].list, args[i].count);
	}
	free(args);
}

static void
resp_clear(struct imap_client *c)
{
	if (!c->have_resp)
		return;
	free(c->resp.tag);
	free(c->resp.text);
	args_free(c->resp.args, c->resp.count);
	memset(&c->resp, 0, sizeof(c->resp));
	c->have_resp = false;
}

static bool
atom_char(char ch)
{
	return ch != ' ' && ch != '(' && ch != ')' && ch != '"' &&
	    ch != '{' && ch != '\r' && ch != '\n' && ch != '\0';
}

/*
 * Parse arguments from *pp up to end, or up to the ")" closing a list
 * when depth > 0. Parsing stops quietly at anything that is no argument
 * (status text may hold anything); *ok_r says whether a list closed.
 */
static void
parse_args(const char **pp, const char *end, int depth,
    struct imap_client_arg **args_r, size_t *count_r, bool *ok_r)
{
	const char *p = *pp, *s;
	struct imap_client_arg *args = NULL, a;
	size_t count = 0, n, bracket;
	struct buf q;
	bool ok = depth == 0;

	for (;;) {
		while (p < end && *p == ' ')
			p++;
		if (p >= end)
			break;
		memset(&a, 0, sizeof(a));
		if (*p == ')') {
			if (depth > 0) {
				p++;
				ok = true;
			}
			break;
		}
		if (count >= IMAP_CLIENT_ARGS_MAX)
			break;
		if (*p == '(') {
			bool closed;

			if (depth >= IMAP_CLIENT_DEPTH_MAX)
				break;
			p++;
			a.type = IMAP_CLIENT_ARG_LIST;
			parse_args(&p, end, depth + 1, &a.list, &a.count,
			    &closed);
			if (!closed) {
				args_free(a.list, a.count);
				break;
			}
		} else if (*p == '"') {
			buf_init(&q, 0);
			for (s = p + 1; s < end && *s != '"'; s++) {
				if (*s == '\\' && s + 1 < end)
					s++;
				buf_append(&q, s, 1);
			}
			if (s >= end) {
				buf_free(&q);
				break;
			}
			a.type = IMAP_CLIENT_ARG_STRING;
			a.len = q.len;
			a.str = q.data != NULL ? (char *)q.data :
			    xstrdup("");
			p = s + 1;
		} else if (*p == '{') {
			n = 0;
			for (s = p + 1; s < end && *s >= '0' && *s <= '9' &&
			    n <= IMAP_CLIENT_RESP_MAX; s++)
				n = n * 10 + (size_t)(*s - '0');
			if (s < end && *s == '+')
				s++;
			if (s + 1 >= end || s[0] != '}' || s[1] != '\r' ||
			    s + 2 >= end || s[2] != '\n' ||
			    (size_t)(end - (s + 3)) < n)
				break;
			s += 3;
			a.type = IMAP_CLIENT_ARG_STRING;
			a.str = xmalloc(n + 1);
			memcpy(a.str, s, n);
			a.str[n] = '\0';
			a.len = n;
			p = s + n;
		} else if (atom_char(*p)) {
			/* "[...]" may hold spaces and parentheses: a response
			   code, or a FETCH item's section. */
			bracket = 0;
			for (s = p; s < end; s++) {
				if (*s == '[')
					bracket++;
				else if (*s == ']' && bracket > 0)
					bracket--;
				else if (bracket == 0 && !atom_char(*s))
					break;
				else if (*s == '\r' || *s == '\n')
					break;
			}
			a.len = (size_t)(s - p);
			a.str = xstrndup(p, a.len);
			a.type = a.len == 3 && strncasecmp(p, "NIL", 3) == 0 ?
			    IMAP_CLIENT_ARG_NIL : IMAP_CLIENT_ARG_ATOM;
			p = s;
		} else {
			break;
		}
		args = xreallocarray(args, count + 1, sizeof(*args));
		args[count++] = a;
	}
	*pp = p;
	*args_r = args;
	*count_r = count;
	*ok_r = ok;
}

/* ---- Reading ---- */

static void
set_error(struct imap_client *c, const char **error_r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_error(struct imap_client *c, const char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
	va_end(ap);
	*error_r = c->error;
}

/*
 * Find the end of one whole response in the unread input: a line, and
 * when it ends in a literal "{n}", the literal and the line after it.
 * Returns 1 with *len_r (through the final CRLF) and *text_end_r (before
 * it), 0 if more input is needed, -1 if it is too long.
 */
static int
find_response(const struct imap_client *c, size_t *len_r,
    size_t *text_end_r)
{
	const unsigned char *base, *nl;
	size_t avail = c->in_len - c->in_pos, i = 0, j, e, k, d_end, lit;

	if (c->in == NULL)
		return 0;
	base = c->in + c->in_pos;
	for (;;) {
		if (i > IMAP_CLIENT_RESP_MAX)
			return -1;
		nl = memchr(base + i, '\n', avail - i);
		if (nl == NULL)
			return avail > IMAP_CLIENT_RESP_MAX ? -1 : 0;
		j = (size_t)(nl - base);	/* the LF */
		e = j;
		if (e > i && base[e - 1] == '\r')
			e--;
		/* A line ending in "{n}" or "{n+}" goes on after n bytes. */
		if (e > i && base[e - 1] == '}') {
			k = e - 1;
			if (k > i && base[k - 1] == '+')
				k--;
			d_end = k;
			while (k > i && base[k - 1] >= '0' && base[k - 1] <= '9')
				k--;
			if (k < d_end && d_end - k <= 9 && k > i &&
			    base[k - 1] == '{') {
				for (lit = 0; k < d_end; k++)
					lit = lit * 10 + (size_t)(base[k] - '0');
				if (lit > IMAP_CLIENT_RESP_MAX)
					return -1;
				if (avail - (j + 1) < lit)
					return 0;
				i = j + 1 + lit;
				continue;
			}
		}
		*len_r = j + 1;
		*text_end_r = e;
		return 1;
	}
}

static int
parse_response(struct imap_client *c, size_t len, size_t text_end)
{
	const char *line = (const char *)c->in + c->in_pos, *sp, *p, *end;
	bool ok;

	resp_clear(c);
	sp = memchr(line, ' ', text_end);
	if (sp == NULL) {
		c->resp.tag = xstrndup(line, text_end);
		c->resp.text = xstrdup("");
	} else {
		c->resp.tag = xstrndup(line, (size_t)(sp - line));
		c->resp.text_len = text_end - (size_t)(sp + 1 - line);
		c->resp.text = xmalloc(c->resp.text_len + 1);
		memcpy(c->resp.text, sp + 1, c->resp.text_len);
		c->resp.text[c->resp.text_len] = '\0';
	}
	c->have_resp = true;
	p = c->resp.text;
	end = p + c->resp.text_len;
	parse_args(&p, end, 0, &c->resp.args, &c->resp.count, &ok);
	c->in_pos += len;
	return 0;
}

bool
imap_client_buffered(const struct imap_client *c)
{
	size_t len, text_end;

	/* A whole response, or one too long to ever be: either way a read
	   returns at once. */
	return find_response(c, &len, &text_end) != 0;
}

/* Read what the socket has now into the input. Returns bytes read (0 if
 * none), or -1 at EOF or error. */
static int
fill(struct imap_client *c, const char **error_r)
{
	ssize_t n;

	if (c->in_pos > 0 && c->in_pos == c->in_len)
		c->in_pos = c->in_len = 0;
	if (c->in_pos > 0 && c->in_cap - c->in_len < 4096) {
		memmove(c->in, c->in + c->in_pos, c->in_len - c->in_pos);
		c->in_len -= c->in_pos;
		c->in_pos = 0;
	}
	if (c->in_cap - c->in_len < 4096) {
		c->in_cap = c->in_cap == 0 ? 16384 : c->in_cap * 2;
		c->in = xrealloc(c->in, c->in_cap);
	}
	n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
	if (n > 0) {
		c->in_len += (size_t)n;
		return (int)n;
	}
	if (n == 0) {
		set_error(c, error_r, "connection closed by the server");
		return -1;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return 0;
	set_error(c, error_r, "read: %s", strerror(errno));
	return -1;
}

int
imap_client_read(struct imap_client *c, int timeout_ms,
    const struct imap_client_resp **resp_r, const char **error_r)
{
	int64_t deadline = now_ms() + timeout_ms;
	size_t len, text_end;
	int r;

	for (;;) {
		r = find_response(c, &len, &text_end);
		if (r < 0) {
			set_error(c, error_r, "response longer than %d bytes",
			    IMAP_CLIENT_RESP_MAX);
			return -1;
		}
		if (r > 0) {
			parse_response(c, len, text_end);
			*resp_r = &c->resp;
			return 1;
		}
		r = fill(c, error_r);
		if (r < 0)
			return -1;
		if (r > 0)
			continue;
		r = wait_fd(c->fd, POLLIN, deadline, c->stop);
		if (r < 0) {
			set_error(c, error_r, "interrupted");
			return -1;
		}
		if (r == 0)
			return 0;
	}
}

/* ---- Writing ---- */

static int
send_all(struct imap_client *c, const void *data, size_t len,
    const char **error_r)
{
	const unsigned char *p = data;
	int64_t deadline = now_ms() + IMAP_CLIENT_TIMEOUT_MS;
	ssize_t n;
	int r;

	while (len > 0) {
		n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) {
			set_error(c, error_r, "write: %s", strerror(errno));
			return -1;
		}
		r = wait_fd(c->fd, POLLOUT, deadline, c->stop);
		if (r <= 0) {
			set_error(c, error_r, "write: %s",
			    r == 0 ? "timed out" : "interrupted");
			return -1;
		}
	}
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
		set_error(c, error_r, "cannot format a command");
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
			set_error(c, error_r, "no reply to %s within %d s",
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
				set_error(c, error_r, "server said BYE: "
				    "%.200s", resp->text);
				return IMAP_CLIENT_FAILED;
			}
			if (cb != NULL)
				cb(ctx, resp);
			continue;
		}
		if (strcmp(resp->tag, "+") == 0) {
			set_error(c, error_r, "unexpected continuation");
			return IMAP_CLIENT_FAILED;
		}
		if (strcmp(resp->tag, c->tag) != 0)
			continue;
		if (resp->count > 0 && imap_client_arg_is(&resp->args[0],
		    "OK"))
			return IMAP_CLIENT_OK;
		set_error(c, error_r, "%.400s", resp->text);
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
				set_error(c, error_r, "no continuation");
			return IMAP_CLIENT_FAILED;
		}
		if (strcmp(resp->tag, "+") == 0)
			break;
		if (strcmp(resp->tag, c->tag) == 0) {
			set_error(c, error_r, "%.400s", resp->text);
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

static char *
base64(const unsigned char *data, size_t len)
{
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = xmalloc((len + 2) / 3 * 4 + 1), *o = out;
	size_t i;
	uint32_t v;

	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 |
		    data[i + 2];
		*o++ = tbl[v >> 18];
		*o++ = tbl[(v >> 12) & 63];
		*o++ = tbl[(v >> 6) & 63];
		*o++ = tbl[v & 63];
	}
	if (i < len) {
		v = (uint32_t)data[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)data[i + 1] << 8;
		*o++ = tbl[v >> 18];
		*o++ = tbl[(v >> 12) & 63];
		*o++ = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

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
		b64 = base64(sasl, ulen + plen + 2);
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
			set_error(c, error_r, "the user name or password "
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
imap_client_idle_start(struct imap_client *c, const char **error_r)
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
				set_error(c, error_r, "no reply to IDLE");
			return IMAP_CLIENT_FAILED;
		}
		if (strcmp(resp->tag, "+") == 0)
			return IMAP_CLIENT_OK;
		if (strcmp(resp->tag, c->tag) == 0) {
			set_error(c, error_r, "%.400s", resp->text);
			return IMAP_CLIENT_NO;
		}
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

/* ---- Helpers ---- */

char *
imap_client_quote(const char *s)
{
	struct buf b;
	const unsigned char *p;

	buf_init(&b, 0);
	buf_append(&b, "\"", 1);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '\r' || *p == '\n' || *p >= 0x80) {
			if (b.data != NULL)
				explicit_bzero(b.data, b.len);
			buf_free(&b);
			return NULL;
		}
		if (*p == '"' || *p == '\\')
			buf_append(&b, "\\", 1);
		buf_append(&b, p, 1);
	}
	buf_append(&b, "\"", 1);
	return (char *)b.data;
}

int
imap_client_arg_u32(const struct imap_client_arg *arg, uint32_t *num_r)
{
	uint64_t v = 0;
	size_t i;

	if (arg->type != IMAP_CLIENT_ARG_ATOM || arg->len == 0 ||
	    arg->len > 10)
		return -1;
	for (i = 0; i < arg->len; i++) {
		if (arg->str[i] < '0' || arg->str[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(arg->str[i] - '0');
	}
	if (v > UINT32_MAX)
		return -1;
	*num_r = (uint32_t)v;
	return 0;
}

bool
imap_client_arg_is(const struct imap_client_arg *arg, const char *name)
{
	return arg->type == IMAP_CLIENT_ARG_ATOM &&
	    strcasecmp(arg->str, name) == 0;
}
