/*
 * The client's side of the notification datagrams (doc/notify-protocol.md):
 * the registration an `XBELL REGISTER` hands out, and one UDP socket
 * that speaks HELLO, VERIFY, KEEPALIVE and ACK to the server's port and
 * reads CHALLENGE, STATUS and EVENT back. It answers a CHALLENGE with
 * VERIFY itself, follows a new server epoch and keeps the cumulative
 * ack; what the datagrams mean for the user is the caller's business.
 * Used by `mailbell watch` and `mailbell doctor`.
 */
#ifndef MB_CLIENT_WATCH_UDP_H
#define MB_CLIENT_WATCH_UDP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "client/imap-client.h"
#include "notify/notify-proto.h"

/* What `* XBELL REGISTERED (...)` said (section 2.1). */
struct watch_reg {
	bool valid;			/* a whole registration was read */
	unsigned int version;		/* VERSION */
	uint64_t id;			/* ID as a number */
	char id_hex[17];		/* ID as sent, for UNREGISTER */
	unsigned char secret[NOTIFY_SECRET_LEN];	/* KEY */
	uint16_t port;			/* PORT: the server's UDP port */
	unsigned int keepalive;		/* KEEPALIVE seconds */
	uint32_t lease;			/* LEASE seconds */
	uint32_t epoch;			/* EPOCH */
};

/*
 * An untagged-response callback for `XBELL REGISTER`: ctx is a struct
 * watch_reg, set (valid) from a well-formed XBELL REGISTERED response.
 */
void watch_reg_untagged_cb(void *ctx, const struct imap_client_resp *resp);
/* Overwrite the secret. */
void watch_reg_wipe(struct watch_reg *reg);

/* What a received datagram turned out to be. */
enum watch_udp_kind {
	WATCH_UDP_CHALLENGE,	/* answered with VERIFY already */
	WATCH_UDP_STATUS,	/* rx.status is set */
	WATCH_UDP_EVENT,	/* rx.event is set; ACK sent already */
};

struct watch_udp_rx {
	enum watch_udp_kind kind;
	bool new_epoch;		/* the server restarted: events may be lost */
	bool gap;		/* event numbers skipped one (an EVENT past
				   the next, or STATUS's last event past our
				   ack): resync over IMAP */
	bool duplicate;		/* EVENT: seen before (a retransmission) */
	struct notify_status status;
	struct notify_event event;
};

/* One UDP socket talking to one registration. */
struct watch_udp {
	int fd;				/* connected to the server's port */
	struct watch_reg reg;		/* a copy; reg.valid: keys usable */
	uint32_t epoch;			/* the epoch our keys are for */
	struct notify_keys c2s, s2c;
	uint64_t pn;			/* next packet number we send */
	struct notify_replay replay;	/* the server's packet numbers */
	uint64_t ack;			/* highest event number with all
					   before it received, this epoch */
	bool verified;			/* a STATUS with the verified flag
					   came since the last (re)start */
	struct sockaddr_storage observed;	/* as the last CHALLENGE or
						   STATUS said */
	bool have_observed;
	uint64_t dropped;		/* datagrams that failed a check */
	bool refused;			/* an ICMP "port unreachable" came
					   back: nothing listens there */
};

/*
 * Open a UDP socket of the family of server, bound to local_port (0:
 * any) and connected to server with its port set to port. Returns 0, or
 * -1 with *error_r set (lib/error.h).
 */
int watch_udp_open(struct watch_udp *u, const struct sockaddr *server,
    socklen_t server_len, uint16_t port, uint16_t local_port,
    const char **error_r);
/* Connect the open socket to another address (after a reconnect). */
int watch_udp_retarget(struct watch_udp *u, const struct sockaddr *server,
    socklen_t server_len, uint16_t port, const char **error_r);
/* Close the socket and wipe the keys. */
void watch_udp_close(struct watch_udp *u);

/* Use a (new) registration: keys for its epoch, packet numbers, ack
 * and replay window from the start, not verified. Returns 0, or -1 if
 * the keys cannot be derived. */
int watch_udp_set_reg(struct watch_udp *u, const struct watch_reg *reg);

/* Send one datagram. Each returns 0, or -1 with *error_r set. */
int watch_udp_send_hello(struct watch_udp *u, const char **error_r);
int watch_udp_send_keepalive(struct watch_udp *u, const char **error_r);
int watch_udp_send_ack(struct watch_udp *u, const char **error_r);

/*
 * Read datagrams until an authentic one comes or none is waiting; the
 * others are dropped silently (counted in dropped). Returns 1 with
 * *rx_r set, 0 when nothing authentic is waiting, or -1 on a socket
 * error other than a refused port (*error_r set; refused notes those).
 */
int watch_udp_recv(struct watch_udp *u, struct watch_udp_rx *rx_r,
    const char **error_r);

/* The local address of the socket as text "addr:port", and the observed
 * one ("?" if none yet), for messages. */
void watch_udp_local_text(const struct watch_udp *u, char *buf,
    size_t size);
void watch_udp_observed_text(const struct watch_udp *u, char *buf,
    size_t size);
/* Any sockaddr as "addr:port" ("[addr]:port" for IPv6). */
void watch_sockaddr_text(const struct sockaddr *sa, char *buf, size_t size);

#endif
