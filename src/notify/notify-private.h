/*
 * Inside the notifier: the server structure shared by notify-server.c
 * (sockets, registration, sweeps), notify-receive.c (the receive path),
 * notify-saver.c (the registrations file), notify-send.c (sealing and
 * batched sending) and notify-events.c (store events, acknowledgement
 * and retransmission). Nothing outside src/notify and its unit tests
 * includes this.
 */
#ifndef MB_NOTIFY_NOTIFY_PRIVATE_H
#define MB_NOTIFY_NOTIFY_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "lib/limits.h"
#include "notify/notify.h"
#include "notify/notify-budget.h"
#include "notify/notify-proto.h"
#include "notify/notify-registry.h"
#include "notify/notify-wheel.h"

/* UDP sockets one server serves: [server] listen addresses, each of
 * which may resolve to an IPv4 and an IPv6 address. */
#define NOTIFY_SOCKETS_MAX (CONFIG_LISTEN_MAX * 2)
/* Receive and send buffer asked for on each socket: room for a burst
 * of several thousand datagrams (clients starting together, a delivery
 * to many registrations); the kernel caps it at net.core.rmem_max. */
#define NOTIFY_SOCKET_BUFFER (4 * 1024 * 1024)

/* Ways a datagram can reach us (a socket, and for a wildcard socket
 * the local address it was sent to): at most this many, as a
 * registration keeps its way in one byte. */
#define NOTIFY_VIAS_MAX 256
/* Control data room for one IP_PKTINFO or IPV6_PKTINFO message. */
#define NOTIFY_CMSG_SPACE CMSG_SPACE(sizeof(struct in6_pktinfo))

/* One served socket. */
struct notify_sock {
	int fd;
	int family;			/* AF_INET or AF_INET6 */
	bool wildcard;			/* bound to 0.0.0.0 or ::: replies
					   name the local address they
					   answer (IP_PKTINFO), so they leave
					   from the address the client used */
	uint8_t via;			/* its way without a local address */
	struct event *ev;		/* readable */
};

/* One way to a client: the socket, and the source address to send from
 * (for a wildcard socket; otherwise the socket's own). */
struct notify_via {
	uint8_t sock;			/* index in socks[] */
	bool has_local;			/* send from local (pktinfo) */
	struct in_addr local4;		/* AF_INET socket */
	struct in6_addr local6;		/* AF_INET6 socket */
};

/* Datagrams waiting for one sendmmsg(2) on one socket. */
struct notify_out {
	int sock;			/* socket index of the batch, -1: empty */
	size_t count;
	struct mmsghdr msgs[NOTIFY_BATCH];
	struct iovec iov[NOTIFY_BATCH];
	struct sockaddr_storage to[NOTIFY_BATCH];
	unsigned char ctrl[NOTIFY_BATCH][NOTIFY_CMSG_SPACE]
	    __attribute__((aligned(8)));
	unsigned char data[NOTIFY_BATCH][NOTIFY_DATAGRAM_MAX];
};

/* Datagrams read by one recvmmsg(2). */
struct notify_in {
	struct mmsghdr msgs[NOTIFY_BATCH];
	struct iovec iov[NOTIFY_BATCH];
	struct sockaddr_storage from[NOTIFY_BATCH];
	unsigned char ctrl[NOTIFY_BATCH][NOTIFY_CMSG_SPACE]
	    __attribute__((aligned(8)));
	/* One byte more than a datagram may have, to tell an oversized
	 * one (MSG_TRUNC) from one that fits exactly. */
	unsigned char data[NOTIFY_BATCH][NOTIFY_DATAGRAM_MAX + 1];
};

/* A previous epoch's client-to-server keys of one registration, kept
 * out of line (section 4.5): a client needs them for a keepalive or
 * two after a restart, and a replayed old datagram then costs no
 * derivation. */
struct notify_old_key {
	uint64_t id;			/* registration id, 0: unused */
	struct notify_keys keys;	/* C2S, keys.epoch < the server's */
};

struct notify_server {
	struct notify_deps deps;
	const struct clock *clock;	/* deps.clock, or clock_monotonic */
	uint64_t clock_base_ms;		/* clock at creation... */
	uint32_t unix_base;		/* ...and the Unix time then, if
					   deps.clock was given; 0: Unix time
					   is the system's */
	struct notify_registry *registry;
	uint32_t epoch;			/* this run's, persisted first */
	unsigned char cookie_key[NOTIFY_COOKIE_KEY_LEN]; /* memory only */
	uint16_t port;			/* the UDP port clients are told */
	unsigned keepalive;		/* [notify] keepalive, seconds */
	unsigned lease;			/* [notify] lease, seconds */
	uint64_t rng;			/* xorshift state for jitter */

	struct notify_sock socks[NOTIFY_SOCKETS_MAX];
	size_t nsocks;
	struct notify_via vias[NOTIFY_VIAS_MAX];
	size_t nvias;
	struct notify_out *out;
	struct notify_in *in;
	struct notify_aead *aead;	/* cipher contexts, set up once */

	/* Flood resistance (section 4.1) */
	struct notify_budget *budget;	/* per source endpoint */
	struct notify_old_key *old_keys; /* NOTIFY_OLD_KEYS_SLOTS */
	size_t old_keys_used;		/* slots with an id */
	uint64_t old_keys_seed;		/* keys the slot hash */
	uint32_t old_derive_sec;	/* second old_derive_count counts */
	unsigned old_derive_count;	/* old-epoch derivations then */

	/* Files */
	char *dir;			/* <data_dir>/notify */
	char *regs_path;		/* .../registrations */
	char *epoch_path;		/* .../epoch */
	char *master_path;		/* .../master-key */
	bool regs_dirty;		/* registrations added or removed */
	bool seen_dirty;		/* last-seen times changed */
	uint32_t seen_flushed;		/* when last-seen times were saved */
	struct event *save_ev;		/* saves a moment after a change */
	uint64_t save_ms;		/* how long the last save took */
	struct notify_saver *saver;	/* the thread that writes the file */
	unsigned char master[NOTIFY_MASTER_KEY_LEN]; /* for the mirror */
	pthread_mutex_t mirror_lock;	/* mirror and mirror_ctx, and the
					   call under way */
	notify_mirror_cb *mirror;	/* NULL: none */
	void *mirror_ctx;

	/* The users (deps.directory) */
	bool pw_read;			/* users were checked against... */
	unsigned long pw_generation;	/* ...this directory_generation() */

	/* Timers */
	struct event *sweep_ev;		/* NOTIFY_SWEEP_SECS, persistent */
	uint64_t sweep_ms;		/* clock at the last sweep */
	struct event *wheel_ev;		/* one tick, while anything waits */
	struct notify_wheel wheel;	/* notify_pending.went entries */

	/* Store events still to reach some of their registrations, sent
	 * NOTIFY_FANOUT_BATCH a loop turn (notify-events.c). */
	struct notify_fanout *fan_head, *fan_tail;
	struct event *fan_ev;		/* zero timeout, while any waits */

	unsigned store_sub;		/* store_subscribe_events() id */
};

/* ---- notify-server.c ---- */

/* The server's clock now, in milliseconds. */
uint64_t notify_now_ms(const struct notify_server *server);
/* Unix time now, as the registry and the cookies count it: the
 * system's, or with a clock given in the deps the Unix time at creation
 * advanced by that clock, so leases and cookies follow simulated time
 * as resends do. */
uint32_t notify_now(const struct notify_server *server);
/* Run what the timers run, at the server's clock: resends that are
 * due, and the sweep if NOTIFY_SWEEP_SECS passed since the last one. */
void notify_server_tick(struct notify_server *server);
/* A random number in [0, n) for jitter (not for secrets). */
uint32_t notify_jitter(struct notify_server *server, uint32_t n);
/* Registrations changed: save them a moment from now. */
void notify_server_changed(struct notify_server *server);
/* The file just saved (len bytes) to the mirror, if one is set (any
 * thread). */
void notify_server_mirror(struct notify_server *server, const void *data,
    size_t len);

/* ---- notify-saver.c ---- */

/* Start the registrations writer (fatal if the thread or its wake-up
 * cannot be made, as at any startup). */
void notify_saver_new(struct notify_server *server);
/* Wait for the save in flight and stop the writer. */
void notify_saver_free(struct notify_server *server);
/* Format the registrations and hand them to the writer; if a save is in
 * flight, another follows when it completes. */
void notify_save_start(struct notify_server *server);
/* Save on this thread (shutdown, after the writer stopped). */
void notify_save_now(struct notify_server *server);
/* save_ev's callback: notify_save_start(). */
void notify_save_timer_cb(evutil_socket_t fd, short what, void *ctx);

/* ---- notify-receive.c ---- */

/* A socket is readable: read, check and act on its datagrams. */
void notify_receive_cb(evutil_socket_t fd, short what, void *ctx);
/* Wipe the previous epochs' keys kept for registration id (removed). */
void notify_old_keys_forget(struct notify_server *server, uint64_t id);
/* Wipe every previous epoch's key kept (shutdown). */
void notify_old_keys_clear(struct notify_server *server);

/* ---- notify-send.c ---- */

/*
 * Seal msg for reg under the current epoch (the registration's cached
 * keys) with the next packet number and queue
 * it to to by way via. A datagram larger than limit bytes (the datagram
 * answered, for an unverified endpoint) is not sent. Returns 0, or -1
 * (counted) if it was not queued.
 */
int notify_send(struct notify_server *server, struct notify_reg *reg,
    size_t via, const struct sockaddr *to, const struct notify_msg *msg,
    size_t limit);
/* Queue msg to reg's verified endpoint. 0 or -1. */
int notify_send_verified(struct notify_server *server,
    struct notify_reg *reg, const struct notify_msg *msg);
/* Send everything queued (sendmmsg). */
void notify_flush(struct notify_server *server);

/* ---- notify-events.c ---- */

/* Subscribe to the store's events. */
void notify_events_start(struct notify_server *server);
void notify_events_stop(struct notify_server *server);
/* The client acknowledged every event up to ack. */
void notify_events_ack(struct notify_server *server, struct notify_reg *reg,
    uint64_t ack);
/* The endpoint changed: resend what is unacknowledged there now. */
void notify_events_moved(struct notify_server *server,
    struct notify_reg *reg);
/* Drop reg's unacknowledged events (forgotten endpoint, removal). */
void notify_events_drop(struct notify_server *server, struct notify_reg *reg);
/* reg's events not yet acknowledged; *given_up_r: one of them was sent
 * as often as it ever is (NOTIFY_EVENT_SENDS) without an ACK. */
unsigned notify_events_unacked(const struct notify_reg *reg,
    bool *given_up_r);
/* Resend what is due at the server's clock (the wheel's timer). */
void notify_events_tick(struct notify_server *server);
/* Free the wheel's timer. */
void notify_events_free(struct notify_server *server);

#endif
