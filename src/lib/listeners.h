/*
 * The listening sockets of one TCP service (LMTP, IMAP), served with
 * libevent. Each accepted connection goes to the service's callback; an
 * accept error (EMFILE, ENFILE) pauses every listener of the set for a
 * second rather than spinning on a socket that stays readable.
 */
#ifndef MB_LIB_LISTENERS_H
#define MB_LIB_LISTENERS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <event2/event.h>

struct listener_set;

/* A new connection: the callee owns fd. */
typedef void listener_accept_cb(evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *ctx);

/* name prefixes log lines ("lmtp"). Never NULL. */
struct listener_set *listener_set_new(struct event_base *base,
    const char *name, listener_accept_cb *cb, void *ctx);
/* Serve a bound, listening socket (the set owns it). 0 or -1. */
int listener_set_add(struct listener_set *set, evutil_socket_t fd);
/* Close every listening socket now; the set accepts nothing more. */
void listener_set_close(struct listener_set *set);
void listener_set_free(struct listener_set **setp);

/* A peer for logs, "ADDR:PORT" or "[ADDR]:PORT", into out (truncated to
 * "(long address)" if it does not fit); with ip non-NULL, the address
 * alone into ip too. */
void listener_format_peer(const struct sockaddr *sa, int salen, char *out,
    size_t size, char *ip, size_t ip_size);

/* Whether a peer is on this host: 127.0.0.0/8, ::1, or 127.0.0.0/8
 * mapped into IPv6. */
bool listener_peer_is_loopback(const struct sockaddr *sa);

#endif
