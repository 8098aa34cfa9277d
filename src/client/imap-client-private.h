/*
 * The inside of the command line tool's IMAP client, shared by
 * imap-client.c (the connection, commands, responses) and
 * imap-client-tls.c (STARTTLS and IMAPS). Private to them.
 */
#ifndef MB_CLIENT_IMAP_CLIENT_PRIVATE_H
#define MB_CLIENT_IMAP_CLIENT_PRIVATE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "client/imap-client.h"

struct imap_client {
	struct event_base *base;	/* the caller's; we turn it to wait */
	struct bufferevent *bev;	/* the connection */
	struct event *timer;		/* bounds the current wait */
	struct sockaddr_storage peer;	/* the server, as connected */
	socklen_t peer_len;
	volatile sig_atomic_t *stop;	/* abort waits when nonzero */

	/* Set by the callbacks, read by the waits. */
	bool woke;			/* input, EOF or an error came */
	bool timed_out;			/* the wait's timer fired */
	bool closed;			/* EOF or an error: */
	short io_what;			/* the BEV_EVENT_* flags, */
	int io_errno;			/* and errno for an error */
	bool tls_connected;		/* the TLS handshake completed */

	SSL *ssl;			/* the TLS session, or NULL in clear
					   text; the bufferevent owns it */
	unsigned long tls_error;	/* OpenSSL's error when it failed */

	imap_client_input_cb *input_cb;	/* input between commands */
	void *input_ctx;

	/* The last response read; freed by the next read. */
	struct imap_client_resp resp;
	bool have_resp;

	char **caps;			/* from the last CAPABILITY */
	size_t cap_count;
	unsigned int tag_seq;		/* tags are "m1", "m2"... */
	char tag[16];			/* the command being run */
};

/* Turn the loop until the callbacks say something came, deadline (of
 * clock_now_ms()) passes, or *stop is set. Returns 1 woke, 0 timed
 * out, -1 interrupted. */
int imap_client_wait_io(struct imap_client *c, uint64_t deadline);
/* Make bev (a TLS filter over the old one) the connection. */
void imap_client_set_bev(struct imap_client *c, struct bufferevent *bev);
/* Forget the capabilities: TLS makes the client ask again. */
void imap_client_caps_clear(struct imap_client *c);
/* Why the TLS session failed, if it did and OpenSSL says why; else
 * NULL. */
const char *imap_client_tls_io_error(const struct imap_client *c);

#endif
