/*
 * tls-connect: a TLS handshake load client for bench/tls-handshake.
 *
 * C threads, one blocking connection at a time each. Every round trip
 * is a new TCP connection to HOST:PORT, a full TLS handshake (the client
 * keeps no session cache and asks for no tickets, so nothing is
 * resumed), then the server's first line (the IMAP greeting) is read
 * unless -G, and the connection is closed (close_notify, then close).
 * Certificates are not verified: the client should cost as little as a
 * TLS client can, and both servers under test present the same one.
 *
 * Every thread stops after -d seconds. Output is one line:
 *   handshakes=N errors=E elapsed=S rate=R conns=C p50=MS p99=MS max=MS
 *   client_cpu=S proto=.. cipher=.. group=..
 * where rate is handshakes per second of wall time, pNN are percentiles
 * of the time from connect() to the greeting (or the end of the
 * handshake with -G), client_cpu is this process's user + system CPU
 * seconds, and proto/cipher/group are what the first handshake
 * negotiated. Exit status is 0 when nothing failed, 1 otherwise.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 256
#define IO_TIMEOUT_SEC 30
#define LAT_MAX (1L << 20)	/* latencies kept per thread */

struct opts {
	const char *host;
	int port;
	int conns;
	double seconds;
	int no_greeting;	/* -G: close right after the handshake */
	int verbose;
};

struct conn {
	int idx;
	const struct opts *o;
	SSL_CTX *ctx;
	pthread_barrier_t *start;
	double t_end;
	long done;
	long errors;
	double *lat;		/* seconds from connect() to the greeting */
	long nlat;
	char err[256];
};

static double t_start;
static pthread_mutex_t info_lock = PTHREAD_MUTEX_INITIALIZER;
static char info[256];		/* proto/cipher/group of the first success */

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

static void note_info(SSL *ssl)
{
	int nid;
	const char *group = "?";

	pthread_mutex_lock(&info_lock);
	if (info[0] == '\0') {
		nid = SSL_get_negotiated_group(ssl);
		if (nid != 0 && OBJ_nid2sn(nid) != NULL)
			group = OBJ_nid2sn(nid);
		snprintf(info, sizeof(info), "proto=%s cipher=%s group=%s",
		    SSL_get_version(ssl), SSL_get_cipher_name(ssl), group);
	}
	pthread_mutex_unlock(&info_lock);
}

/* One connection: connect, handshake, greeting, close. 0 or -1. */
static int one(struct conn *c, const struct sockaddr_in *sa)
{
	struct timeval tv = { IO_TIMEOUT_SEC, 0 };
	char line[1024];
	size_t have = 0;
	SSL *ssl = NULL;
	int fd, one_ = 1, ret = -1, n;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		set_err(c, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one_, sizeof(one_));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		set_err(c, "connect: %s", strerror(errno));
		goto out;
	}
	if ((ssl = SSL_new(c->ctx)) == NULL || SSL_set_fd(ssl, fd) != 1) {
		set_err(c, "SSL_new failed");
		goto out;
	}
	if (SSL_connect(ssl) != 1) {
		unsigned long e = ERR_get_error();

		set_err(c, "handshake: %s", e != 0 ?
		    ERR_error_string(e, NULL) : strerror(errno));
		goto out;
	}
	if (!c->o->no_greeting) {
		while (have < sizeof(line) - 1) {
			n = SSL_read(ssl, line + have, (int)(sizeof(line) - 1 -
			    have));
			if (n <= 0) {
				set_err(c, "greeting: connection closed");
				goto out;
			}
			have += (size_t)n;
			line[have] = '\0';
			if (strstr(line, "\r\n") != NULL)
				break;
		}
		if (strncmp(line, "* OK", 4) != 0) {
			set_err(c, "greeting: %.60s", line);
			goto out;
		}
	}
	if (c->idx == 0)
		note_info(ssl);
	SSL_shutdown(ssl);
	ret = 0;
out:
	SSL_free(ssl);
	close(fd);
	ERR_clear_error();
	return ret;
}

static void *run(void *arg)
{
	struct conn *c = arg;
	struct sockaddr_in sa;
	double t0, t1, stop;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)c->o->port);
	inet_pton(AF_INET, c->o->host, &sa.sin_addr);
	pthread_barrier_wait(c->start);
	stop = t_start + c->o->seconds;
	while ((t0 = now()) < stop) {
		if (one(c, &sa) < 0) {
			c->errors++;
			if (c->o->verbose)
				fprintf(stderr, "conn %d: %s\n", c->idx, c->err);
			/* a refused or reset connection: do not spin */
			usleep(10000);
			continue;
		}
		t1 = now();
		c->done++;
		if (c->nlat < LAT_MAX)
			c->lat[c->nlat++] = t1 - t0;
	}
	c->t_end = now();
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void usage(void)
{
	fprintf(stderr,
	    "usage: tls-connect [-G] [-v] [-h host] -p port [-c conns] "
	    "[-d seconds]\n"
	    "  -h host     IPv4 address (default 127.0.0.1)\n"
	    "  -p port     the server's implicit-TLS port\n"
	    "  -c conns    parallel connections, one thread each (default 8, "
	    "max %d)\n"
	    "  -d seconds  how long to run (default 5)\n"
	    "  -G          close after the handshake, read no greeting\n"
	    "  -v          report each failure on stderr\n", MAX_CONNS);
}

int main(int argc, char **argv)
{
	struct opts o = { "127.0.0.1", 0, 8, 5.0, 0, 0 };
	struct conn *conns;
	pthread_t *th;
	pthread_barrier_t start;
	struct rusage ru;
	struct in_addr probe;
	double *all, t_last = 0, cpu;
	long total = 0, errors = 0, nall = 0;
	int opt, i;

	while ((opt = getopt(argc, argv, "h:p:c:d:Gv")) != -1) {
		switch (opt) {
		case 'h': o.host = optarg; break;
		case 'p': o.port = atoi(optarg); break;
		case 'c': o.conns = atoi(optarg); break;
		case 'd': o.seconds = atof(optarg); break;
		case 'G': o.no_greeting = 1; break;
		case 'v': o.verbose = 1; break;
		default: usage(); return 2;
		}
	}
	if (o.port <= 0 || o.port > 65535 || o.conns < 1 ||
	    o.conns > MAX_CONNS || o.seconds <= 0 ||
	    inet_pton(AF_INET, o.host, &probe) != 1) {
		usage();
		return 2;
	}

	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		fprintf(stderr, "tls-connect: SSL_CTX_new failed\n");
		return 1;
	}
	/* Full handshakes only: no session cache, no tickets. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);

	conns = calloc((size_t)o.conns, sizeof(*conns));
	th = calloc((size_t)o.conns, sizeof(*th));
	if (conns == NULL || th == NULL)
		return 1;
	pthread_barrier_init(&start, NULL, (unsigned)o.conns + 1);
	for (i = 0; i < o.conns; i++) {
		conns[i].idx = i;
		conns[i].o = &o;
		conns[i].ctx = ctx;
		conns[i].start = &start;
		conns[i].lat = malloc(LAT_MAX * sizeof(double));
		if (conns[i].lat == NULL ||
		    pthread_create(&th[i], NULL, run, &conns[i]) != 0) {
			fprintf(stderr, "tls-connect: cannot start thread\n");
			return 1;
		}
	}
	t_start = now();
	pthread_barrier_wait(&start);
	for (i = 0; i < o.conns; i++) {
		pthread_join(th[i], NULL);
		total += conns[i].done;
		errors += conns[i].errors;
		nall += conns[i].nlat;
		if (conns[i].t_end > t_last)
			t_last = conns[i].t_end;
	}
	all = malloc((size_t)(nall > 0 ? nall : 1) * sizeof(double));
	if (all == NULL)
		return 1;
	nall = 0;
	for (i = 0; i < o.conns; i++) {
		memcpy(all + nall, conns[i].lat,
		    (size_t)conns[i].nlat * sizeof(double));
		nall += conns[i].nlat;
	}
	qsort(all, (size_t)nall, sizeof(double), cmp_double);
	getrusage(RUSAGE_SELF, &ru);
	cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	double elapsed = t_last - t_start;
#define PCT(p) (nall > 0 ? all[(long)((nall - 1) * (p))] * 1000.0 : 0.0)
	printf("handshakes=%ld errors=%ld elapsed=%.3f rate=%.1f conns=%d "
	    "p50=%.2f p99=%.2f max=%.2f client_cpu=%.2f %s\n", total, errors,
	    elapsed, elapsed > 0 ? total / elapsed : 0.0, o.conns, PCT(0.50),
	    PCT(0.99), nall > 0 ? all[nall - 1] * 1000.0 : 0.0, cpu,
	    info[0] != '\0' ? info : "proto=none");
	for (i = 0; i < o.conns; i++) {
		if (conns[i].err[0] != '\0') {
			fprintf(stderr, "tls-connect: first error: %s\n",
			    conns[i].err);
			break;
		}
	}
	SSL_CTX_free(ctx);
	return errors == 0 && total > 0 ? 0 : 1;
}
