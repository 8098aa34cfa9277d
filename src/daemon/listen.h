/*
 * Listening sockets for the daemon's services (TCP, and UDP for the
 * notifier). The daemon binds every socket itself, before it drops
 * privileges, and hands the descriptors to the services (LMTP, admin
 * HTTP, the notifier) that serve them.
 */
#ifndef MB_DAEMON_LISTEN_H
#define MB_DAEMON_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "[" IPv6 "]:" port, NUL: room for any numeric socket address. */
#define LISTEN_WHERE_MAX 64

/* One bound socket. */
struct listen_socket {
	int fd;				/* listening, non-blocking, CLOEXEC,
					   SO_REUSEADDR (TCP); -1 once
					   handed on */
	char where[LISTEN_WHERE_MAX];	/* bound address as the kernel says:
					   "127.0.0.1:2424", "[::1]:2424" */
	uint16_t port;			/* bound port (the one picked when
					   0 was asked for) */
};

/*
 * Bind a TCP listener on port at each of the count addresses in addrs.
 * An address is a numeric IPv4 or IPv6 address (brackets optional), a
 * host name (every address it resolves to), or "*" for every address
 * (0.0.0.0 and :: with IPV6_V6ONLY). With port 0 the kernel picks a free
 * port for the first socket and the others bind the same port, so a
 * service has one port on all its addresses.
 *
 * Where the host has no IPv6 (EAFNOSUPPORT, or EADDRNOTAVAIL for an IPv6
 * address), the IPv6 half of "*" is skipped, and so is every IPv6
 * address when v6_optional is true.
 *
 * Returns 0 with *socks_r (malloc'd array, free with listen_close_all)
 * and *count_r >= 1 set. Returns -1 with *where_r naming the address
 * that failed ("127.0.0.1:2424") and *reason_r saying why ("Address
 * already in use"), both error texts of this thread (lib/error.h); no
 * socket is left open then.
 */
int listen_tcp(const char *const *addrs, size_t count, uint16_t port,
    bool v6_optional, struct listen_socket **socks_r, size_t *count_r,
    const char **where_r, const char **reason_r);

/* The same for UDP: bound, non-blocking sockets on one port (the
 * notifier's, from which every datagram it sends leaves). */
int listen_udp(const char *const *addrs, size_t count, uint16_t port,
    bool v6_optional, struct listen_socket **socks_r, size_t *count_r,
    const char **where_r, const char **reason_r);

/* Close every descriptor not yet handed on (fd != -1), free the array and
 * set *socksp to NULL. */
void listen_close_all(struct listen_socket **socksp, size_t count);

#endif
