/*
 * Binding the daemon's TCP listeners: resolves each configured address,
 * binds one socket per resulting address and makes sure a service that
 * asked for port 0 ends up on one port everywhere.
 */
#include "daemon/listen.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

/* One address to bind, after resolution. */
struct listen_candidate {
	struct sockaddr_storage ss;	/* address; port filled in later */
	socklen_t len;			/* bytes of ss in use */
	bool optional;			/* skip if the host lacks IPv6 */
	int type;			/* SOCK_STREAM or SOCK_DGRAM */
};

static void
set_port(struct listen_candidate *c, uint16_t port)
{
	if (c->ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&c->ss)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)&c->ss)->sin_port = htons(port);
}

static void
format_where(const struct sockaddr *sa, socklen_t len, char *out,
    size_t outlen)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];
	int n;

	if (getnameinfo(sa, len, host, sizeof(host), serv, sizeof(serv),
	    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(out, outlen, "?");
		return;
	}
	if (sa->sa_family == AF_INET6)
		n = snprintf(out, outlen, "[%s]:%s", host, serv);
	else
		n = snprintf(out, outlen, "%s:%s", host, serv);
	if (n < 0 || (size_t)n >= outlen)
		snprintf(out, outlen, "?");
}

/* Where a failure happened, and why: what listen_tcp() and listen_udp()
 * hand back, as error texts of this thread (lib/error.h). */
struct listen_failure {
	const char *where;
	const char *reason;
};

static void
fail_text(struct listen_failure *fail, const char *where,
    const char *reason)
{
	fail->where = error_fmt("%s", where);
	fail->reason = error_fmt("%s", reason);
}

static void
add_candidate(struct listen_candidate **cands, size_t *n,
    const struct sockaddr *sa, socklen_t len, bool optional)
{
	struct listen_candidate *c;

	*cands = xreallocarray(*cands, *n + 1, sizeof(**cands));
	c = &(*cands)[(*n)++];
	memset(c, 0, sizeof(*c));
	memcpy(&c->ss, sa, len);
	c->len = len;
	c->optional = optional;
}

/* Turn one configured address into candidates. Returns 0 or -1. */
static int
resolve(const char *addr, uint16_t port, bool v6_optional,
    struct listen_candidate **cands, size_t *n, struct listen_failure *fail)
{
	struct addrinfo hints, *res = NULL, *ai;
	char host[NI_MAXHOST], where[NI_MAXHOST + 16];
	size_t len = strlen(addr);
	int rc;

	if (strcmp(addr, "*") == 0) {
		struct sockaddr_in sin;
		struct sockaddr_in6 sin6;

		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_ANY);
		add_candidate(cands, n, (struct sockaddr *)&sin, sizeof(sin),
		    false);
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		sin6.sin6_addr = in6addr_any;
		add_candidate(cands, n, (struct sockaddr *)&sin6, sizeof(sin6),
		    true);
		return 0;
	}

	/* An IPv6 literal may come bracketed, as in URLs: "[::1]". */
	if (len >= 2 && addr[0] == '[' && addr[len - 1] == ']') {
		addr++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(host)) {
		fail_text(fail, addr, "bad address");
		return -1;
	}
	memcpy(host, addr, len);
	host[len] = '\0';

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = AI_PASSIVE;
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0) {
		if (snprintf(where, sizeof(where), "%s:%u", host,
		    (unsigned)port) < 0)
			where[0] = '\0';
		fail_text(fail, where, rc == EAI_SYSTEM ? strerror(errno) :
		    gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		add_candidate(cands, n, ai->ai_addr, ai->ai_addrlen,
		    ai->ai_family == AF_INET6 && v6_optional);
	}
	freeaddrinfo(res);
	return 0;
}

/*
 * Bind one candidate. Returns the descriptor, -2 if it was skipped
 * (optional IPv6 the host does not have), or -1 with errno set.
 */
static int
bind_one(const struct listen_candidate *c)
{
	int fd, on = 1, saved;

	fd = socket(c->ss.ss_family, c->type | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd < 0) {
		if (c->optional && errno == EAFNOSUPPORT)
			return -2;
		return -1;
	}
	/* Not for UDP: there it would let two sockets share a port. */
	if (c->type == SOCK_STREAM &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
		goto fail;
	/* "::" means IPv6 only, so "*" can bind 0.0.0.0 beside it. */
	if (c->ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0)
		goto fail;
	if (bind(fd, (const struct sockaddr *)&c->ss, c->len) < 0) {
		if (c->optional && errno == EADDRNOTAVAIL) {
			close(fd);
			return -2;
		}
		goto fail;
	}
	if (c->type == SOCK_STREAM && listen(fd, SOMAXCONN) < 0)
		goto fail;
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/*
 * One attempt at binding every candidate on port. Returns 0, -1 on a
 * hard failure, or 1 if a port picked by the kernel for the first socket
 * was taken on another address (worth another try).
 */
static int
bind_all(struct listen_candidate *cands, size_t n, uint16_t port,
    struct listen_socket **socks_r, size_t *count_r,
    struct listen_failure *fail)
{
	struct listen_socket *socks;
	struct sockaddr_storage ss;
	socklen_t sslen;
	size_t i, count = 0;
	bool picked = port == 0;
	int fd, saved;

	socks = xcalloc(n, sizeof(*socks));
	for (i = 0; i < n; i++) {
		set_port(&cands[i], port);
		fd = bind_one(&cands[i]);
		if (fd == -2) {
			log_debug("listen: no IPv6 on this host, skipping it");
			continue;
		}
		if (fd < 0) {
			char where[LISTEN_WHERE_MAX];

			saved = errno;
			format_where((struct sockaddr *)&cands[i].ss,
			    cands[i].len, where, sizeof(where));
			fail_text(fail, where, strerror(saved));
			listen_close_all(&socks, count);
			errno = saved;
			return picked && count > 0 && saved == EADDRINUSE ?
			    1 : -1;
		}
		sslen = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0) {
			saved = errno;
			close(fd);
			fail_text(fail, "?", strerror(saved));
			listen_close_all(&socks, count);
			errno = saved;
			return -1;
		}
		socks[count].fd = fd;
		socks[count].port = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
		format_where((struct sockaddr *)&ss, sslen, socks[count].where,
		    sizeof(socks[count].where));
		if (port == 0)
			port = socks[count].port;
		count++;
	}
	if (count == 0) {
		free(socks);
		fail_text(fail, "(none)", "no usable address");
		errno = EADDRNOTAVAIL;
		return -1;
	}
	*socks_r = socks;
	*count_r = count;
	return 0;
}

static int
listen_any(int type, const char *const *addrs, size_t count, uint16_t port,
    bool v6_optional, struct listen_socket **socks_r, size_t *count_r,
    const char **where_r, const char **reason_r)
{
	struct listen_candidate *cands = NULL;
	struct listen_failure fail = { NULL, NULL };
	size_t i, n = 0;
	int rc = -1, tries;

	for (i = 0; i < count; i++)
		if (resolve(addrs[i], port, v6_optional, &cands, &n,
		    &fail) < 0)
			goto out;
	for (i = 0; i < n; i++)
		cands[i].type = type;
	if (n == 0) {
		fail_text(&fail, "(none)", "no address to listen on");
		goto out;
	}
	for (tries = 0; tries < LISTEN_PORT_PICK_TRIES; tries++) {
		rc = bind_all(cands, n, port, socks_r, count_r, &fail);
		if (rc != 1)
			break;
		log_debug("listen: picked port taken on another address, "
		    "trying again");
		rc = -1;
	}
out:
	free(cands);
	if (rc < 0) {
		*where_r = fail.where;
		*reason_r = fail.reason;
		return -1;
	}
	return 0;
}

int
listen_tcp(const char *const *addrs, size_t count, uint16_t port,
    bool v6_optional, struct listen_socket **socks_r, size_t *count_r,
    const char **where_r, const char **reason_r)
{
	return listen_any(SOCK_STREAM, addrs, count, port, v6_optional,
	    socks_r, count_r, where_r, reason_r);
}

int
listen_udp(const char *const *addrs, size_t count, uint16_t port,
    bool v6_optional, struct listen_socket **socks_r, size_t *count_r,
    const char **where_r, const char **reason_r)
{
	return listen_any(SOCK_DGRAM, addrs, count, port, v6_optional,
	    socks_r, count_r, where_r, reason_r);
}

void
listen_close_all(struct listen_socket **socksp, size_t count)
{
	struct listen_socket *socks = *socksp;
	size_t i;

	if (socks == NULL)
		return;
	for (i = 0; i < count; i++)
		if (socks[i].fd >= 0)
			close(socks[i].fd);
	free(socks);
	*socksp = NULL;
}
