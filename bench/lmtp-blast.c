/*
 * lmtp-blast: a small LMTP load client for benchmarking mailbell (and any
 * other LMTP server) on loopback.
 *
 * N connections, one thread each, blocking sockets. Each connection sends
 * LHLO once, then loops: MAIL FROM, RCPT TO, DATA (sent together, as
 * Postfix does with PIPELINING, unless -S), awaits the three replies, sends
 * the message and the final ".", and awaits the per-recipient reply before
 * the next message. Recipients rotate round-robin over -U users named
 * PREFIX0..PREFIX{U-1}@DOMAIN, offset per connection so that concurrent
 * connections mostly hit different mailboxes.
 *
 * Every connection stops after -n messages or -d seconds, whichever comes
 * first. Output is one line:
 *   msgs=N errors=E elapsed=S rate=R conns=C p50=MS p90=MS p99=MS max=MS
 * where elapsed runs from the first connection's LHLO reply until the last
 * reply of the slowest connection, and pNN are percentiles of the time
 * from MAIL FROM to the final 250 of each delivered message. Exit status is 0 when every message got
 * a 250, 1 otherwise.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 256
#define IO_TIMEOUT_SEC 30
#define LAT_MAX (1L << 20)	/* latencies kept per connection */

struct opts {
	const char *host;
	int port;
	int conns;
	long msgs;		/* per connection */
	double seconds;		/* per run */
	int users;
	const char *prefix;
	const char *domain;
	size_t size;
	int sequential;		/* -S: await each reply before the next command */
	int verbose;
};

struct conn {
	int idx;
	const struct opts *o;
	const char *msg;
	size_t msglen;
	pthread_barrier_t *start;
	double t_start;
	double t_end;
	long sent_ok;
	long errors;
	double *lat;		/* seconds from MAIL to the final 250 */
	long nlat;
	long lat_cap;
	char err[256];
	/* reply reader */
	int fd;
	char rbuf[8192];
	size_t rlen;
	size_t rpos;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void set_err(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	if (c->err[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
}

static int write_all(struct conn *c, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			set_err(c, "send: %s", strerror(errno));
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read one line (without CRLF) into line; returns its length or -1. */
static int read_line(struct conn *c, char *line, size_t cap)
{
	size_t n = 0;

	for (;;) {
		while (c->rpos < c->rlen) {
			char ch = c->rbuf[c->rpos++];

			if (ch == '\n') {
				if (n > 0 && line[n - 1] == '\r')
					n--;
				line[n] = '\0';
				return (int)n;
			}
			if (n + 1 < cap)
				line[n++] = ch;
		}
		ssize_t r = recv(c->fd, c->rbuf, sizeof(c->rbuf), 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			set_err(c, "recv: %s", r == 0 ? "connection closed" :
			    strerror(errno));
			return -1;
		}
		c->rlen = (size_t)r;
		c->rpos = 0;
	}
}

/* Read a (possibly multi-line) reply; returns its code or -1. */
static int read_reply(struct conn *c, char *last, size_t cap)
{
	char line[1024];

	for (;;) {
		int n = read_line(c, line, sizeof(line));

		if (n < 0)
			return -1;
		if (n < 3 || line[0] < '1' || line[0] > '5') {
			set_err(c, "bad reply line: %.100s", line);
			return -1;
		}
		if (n == 3 || line[3] == ' ') {
			if (last != NULL)
				snprintf(last, cap, "%s", line);
			return (line[0] - '0') * 100 + (line[1] - '0') * 10 +
			    (line[2] - '0');
		}
		if (line[3] != '-') {
			set_err(c, "bad reply line: %.100s", line);
			return -1;
		}
	}
}

static int expect(struct conn *c, int want, const char *what)
{
	char last[256];
	int code = read_reply(c, last, sizeof(last));

	if (code < 0)
		return -1;
	if (code != want) {
		set_err(c, "%s: %s", what, last);
		return 0;
	}
	return 1;
}

static int dial(const struct opts *o)
{
	struct sockaddr_in sin;
	struct timeval tv = { .tv_sec = IO_TIMEOUT_SEC };
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)o->port);
	if (inet_pton(AF_INET, o->host, &sin.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	const struct opts *o = c->o;
	char cmd[512];
	double deadline;
	long i;
	int r;

	c->fd = dial(o);
	if (c->fd < 0) {
		set_err(c, "connect %s:%d: %s", o->host, o->port,
		    strerror(errno));
		pthread_barrier_wait(c->start);
		c->t_start = c->t_end = now();
		return NULL;
	}
	if (expect(c, 220, "greeting") <= 0)
		goto wait_and_out;
	snprintf(cmd, sizeof(cmd), "LHLO lmtp-blast.localhost\r\n");
	if (write_all(c, cmd, strlen(cmd)) < 0 ||
	    expect(c, 250, "LHLO") <= 0)
		goto wait_and_out;

	pthread_barrier_wait(c->start);
	c->t_start = now();
	deadline = c->t_start + o->seconds;
	for (i = 0; i < o->msgs && now() < deadline; i++) {
		int u = (int)((i + (long)c->idx * 7919) % o->users);
		int len = snprintf(cmd, sizeof(cmd),
		    "MAIL FROM:<bench@lmtp-blast.localhost>\r\n");
		int rlen = snprintf(cmd + len, sizeof(cmd) - (size_t)len,
		    "RCPT TO:<%s%d@%s>\r\n", o->prefix, u, o->domain);
		int dlen = snprintf(cmd + len + rlen,
		    sizeof(cmd) - (size_t)(len + rlen), "DATA\r\n");
		double t_msg = now();

		if (o->sequential) {
			if (write_all(c, cmd, (size_t)len) < 0 ||
			    (r = expect(c, 250, "MAIL")) < 0)
				break;
			if (r == 0)
				goto reset;
			if (write_all(c, cmd + len, (size_t)rlen) < 0 ||
			    (r = expect(c, 250, "RCPT")) < 0)
				break;
			if (r == 0)
				goto reset;
			if (write_all(c, cmd + len + rlen, (size_t)dlen) < 0 ||
			    (r = expect(c, 354, "DATA")) < 0)
				break;
			if (r == 0)
				goto reset;
		} else {
			int r1, r2, r3;

			if (write_all(c, cmd, (size_t)(len + rlen + dlen)) < 0)
				break;
			if ((r1 = expect(c, 250, "MAIL")) < 0 ||
			    (r2 = expect(c, 250, "RCPT")) < 0 ||
			    (r3 = expect(c, 354, "DATA")) < 0)
				break;
			if (r1 == 0 || r2 == 0 || r3 == 0)
				goto reset;
		}
		if (write_all(c, c->msg, c->msglen) < 0 ||
		    (r = expect(c, 250, "end of DATA")) < 0)
			break;
		if (r == 0) {
			c->errors++;
			continue;
		}
		c->sent_ok++;
		if (c->nlat < c->lat_cap)
			c->lat[c->nlat++] = now() - t_msg;
		continue;
reset:
		c->errors++;
		if (write_all(c, "RSET\r\n", 6) < 0 ||
		    expect(c, 250, "RSET") < 0)
			break;
		if (c->errors > 10)
			break;
	}
	c->t_end = now();
	if (write_all(c, "QUIT\r\n", 6) == 0)
		(void)read_reply(c, NULL, 0);
	close(c->fd);
	return NULL;

wait_and_out:
	pthread_barrier_wait(c->start);
	c->t_start = c->t_end = now();
	close(c->fd);
	return NULL;
}

/* A message of exactly size bytes, CRLF lines, no line starting with ".". */
static char *make_message(size_t size, size_t *lenp)
{
	static const char hdr[] =
	    "From: Bench Sender <bench@lmtp-blast.localhost>\r\n"
	    "To: Bench Recipient <rcpt@lmtp-blast.localhost>\r\n"
	    "Subject: mailbell LMTP delivery benchmark\r\n"
	    "Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n"
	    "Message-ID: <lmtp-blast@lmtp-blast.localhost>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n"
	    "\r\n";
	static const char alpha[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	size_t hlen = sizeof(hdr) - 1;
	size_t pos, left, k = 0, j;
	char *m;

	if (size < hlen + 2)
		size = hlen + 2;
	m = malloc(size + 4);
	if (m == NULL)
		return NULL;
	memcpy(m, hdr, hlen);
	pos = hlen;
	/* 76-character lines; the last one (2..80 bytes) takes the rest */
	while ((left = size - pos) > 80) {
		for (j = 0; j < 76; j++)
			m[pos++] = alpha[k++ % (sizeof(alpha) - 1)];
		m[pos++] = '\r';
		m[pos++] = '\n';
	}
	for (j = 0; j + 2 < left; j++)
		m[pos++] = alpha[k++ % (sizeof(alpha) - 1)];
	m[pos++] = '\r';
	m[pos++] = '\n';
	memcpy(m + pos, ".\r\n", 3);
	*lenp = pos + 3;
	m[pos + 3] = '\0';
	return m;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(const double *v, long n, double p)
{
	long k;

	if (n == 0)
		return 0.0;
	k = (long)(p * (double)(n - 1) + 0.5);
	return v[k] * 1000.0;
}

static void usage(FILE *f)
{
	fprintf(f,
	    "usage: lmtp-blast [-S] [-v] -p PORT [-H HOST] [-c CONNS] "
	    "[-n MSGS_PER_CONN]\n"
	    "                  [-d SECONDS] [-U USERS] [-P PREFIX] "
	    "[-D DOMAIN] [-s SIZE]\n"
	    "  -H HOST     IPv4 address of the LMTP server (127.0.0.1)\n"
	    "  -p PORT     its TCP port\n"
	    "  -c CONNS    parallel connections, one thread each (1)\n"
	    "  -n MSGS     at most this many messages per connection (1000)\n"
	    "  -d SECONDS  at most this long per run (10)\n"
	    "  -U USERS    recipients rotate over this many users (8)\n"
	    "  -P PREFIX   user names are PREFIX0.. (bench)\n"
	    "  -D DOMAIN   recipient domain (localhost)\n"
	    "  -s SIZE     message size in bytes (4096)\n"
	    "  -S          await each reply before the next command "
	    "(no pipelining)\n"
	    "  -v          print per-connection figures on stderr\n");
}

int main(int argc, char **argv)
{
	struct opts o = {
		.host = "127.0.0.1", .port = 0, .conns = 1, .msgs = 1000,
		.seconds = 10.0, .users = 8, .prefix = "bench",
		.domain = "localhost", .size = 4096,
	};
	static struct conn conns[MAX_CONNS];
	pthread_t tids[MAX_CONNS];
	pthread_barrier_t start;
	long total = 0, errors = 0, nlat;
	double *lat;
	double t0 = 0, t1 = 0;
	int ch, i, failed = 0;
	size_t msglen;
	char *msg;

	while ((ch = getopt(argc, argv, "H:p:c:n:d:U:P:D:s:Svh")) != -1) {
		switch (ch) {
		case 'H': o.host = optarg; break;
		case 'p': o.port = atoi(optarg); break;
		case 'c': o.conns = atoi(optarg); break;
		case 'n': o.msgs = atol(optarg); break;
		case 'd': o.seconds = atof(optarg); break;
		case 'U': o.users = atoi(optarg); break;
		case 'P': o.prefix = optarg; break;
		case 'D': o.domain = optarg; break;
		case 's': o.size = (size_t)atol(optarg); break;
		case 'S': o.sequential = 1; break;
		case 'v': o.verbose = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (o.port <= 0 || o.port > 65535 || o.conns < 1 ||
	    o.conns > MAX_CONNS || o.msgs < 1 || o.seconds <= 0 ||
	    o.users < 1 || o.size < 1 || o.size > 64 * 1024 * 1024) {
		usage(stderr);
		return 2;
	}
	msg = make_message(o.size, &msglen);
	if (msg == NULL) {
		fprintf(stderr, "lmtp-blast: out of memory\n");
		return 2;
	}
	pthread_barrier_init(&start, NULL, (unsigned)o.conns);
	for (i = 0; i < o.conns; i++) {
		conns[i].lat_cap = o.msgs < LAT_MAX ? o.msgs : LAT_MAX;
		conns[i].lat = calloc((size_t)conns[i].lat_cap, sizeof(double));
		if (conns[i].lat == NULL) {
			fprintf(stderr, "lmtp-blast: out of memory\n");
			return 2;
		}
		conns[i].idx = i;
		conns[i].o = &o;
		conns[i].msg = msg;
		conns[i].msglen = msglen;
		conns[i].start = &start;
		if (pthread_create(&tids[i], NULL, conn_main, &conns[i]) != 0) {
			fprintf(stderr, "lmtp-blast: pthread_create failed\n");
			return 2;
		}
	}
	for (i = 0; i < o.conns; i++) {
		struct conn *c = &conns[i];

		pthread_join(tids[i], NULL);
		total += c->sent_ok;
		errors += c->errors;
		if (i == 0 || c->t_start < t0)
			t0 = c->t_start;
		if (i == 0 || c->t_end > t1)
			t1 = c->t_end;
		if (c->err[0] != '\0') {
			failed = 1;
			fprintf(stderr, "lmtp-blast: conn %d: %s\n", i, c->err);
		}
		if (o.verbose)
			fprintf(stderr, "lmtp-blast: conn %d: msgs=%ld "
			    "errors=%ld elapsed=%.3f\n", i, c->sent_ok,
			    c->errors, c->t_end - c->t_start);
	}
	pthread_barrier_destroy(&start);
	free(msg);
	for (i = 0, nlat = 0; i < o.conns; i++)
		nlat += conns[i].nlat;
	lat = malloc((size_t)(nlat > 0 ? nlat : 1) * sizeof(double));
	if (lat == NULL) {
		fprintf(stderr, "lmtp-blast: out of memory\n");
		return 2;
	}
	for (i = 0, nlat = 0; i < o.conns; i++) {
		memcpy(lat + nlat, conns[i].lat,
		    (size_t)conns[i].nlat * sizeof(double));
		nlat += conns[i].nlat;
		free(conns[i].lat);
	}
	qsort(lat, (size_t)nlat, sizeof(double), cmp_double);
	printf("msgs=%ld errors=%ld elapsed=%.3f rate=%.1f conns=%d "
	    "p50=%.2fms p90=%.2fms p99=%.2fms max=%.2fms\n",
	    total, errors, t1 - t0, t1 > t0 ? (double)total / (t1 - t0) : 0.0,
	    o.conns, pct(lat, nlat, 0.50), pct(lat, nlat, 0.90),
	    pct(lat, nlat, 0.99), pct(lat, nlat, 1.0));
	free(lat);
	return failed || errors > 0 ? 1 : 0;
}
