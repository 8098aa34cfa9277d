/*
 * TLS for `mailbell watch` and `mailbell doctor` on top of lib/tls.h's
 * client context: the --tls modes, the settings one run verifies every
 * connection by, and plain words, with the fix, for a server
 * certificate that fails. Pure OpenSSL, no event loop: imap-client-tls.c
 * puts the SSL objects made here on the connection's bufferevent.
 */
#ifndef MB_CLIENT_CLIENT_TLS_H
#define MB_CLIENT_CLIENT_TLS_H

#include <stdbool.h>

#include <openssl/ssl.h>

#include "lib/tls.h"

enum client_tls_mode {
	CLIENT_TLS_STARTTLS,	/* STARTTLS on the IMAP port: the default */
	CLIENT_TLS_IMAPS,	/* TLS from the first byte (the IMAPS port) */
	CLIENT_TLS_NONE,	/* clear text, nothing verified */
};

/*
 * How the server is verified, made once from the options and shared by
 * every connection. Verification is always on unless the mode is
 * CLIENT_TLS_NONE: against the system's CAs, or only those of --ca, and
 * the name or address given to --server; or, with a pinned fingerprint,
 * against that one certificate and nothing else (the pin names the
 * certificate itself, so neither CAs nor names are asked).
 */
struct client_tls {
	enum client_tls_mode mode;
	struct tls_client *client;	/* NULL with CLIENT_TLS_NONE */
	const char *ca_file;		/* --ca, or NULL: the system's CAs */
	bool pinned;			/* --tls-fingerprint was given: */
	unsigned char pin[TLS_FINGERPRINT_LEN];	/* its bytes */
};

/* "starttls", "imaps" or "none" (any case). Returns 0, or -1. */
int client_tls_mode_parse(const char *text, enum client_tls_mode *mode_r);

/*
 * Make t for mode: verifying by the CAs of ca_file (NULL: the
 * system's) or, with pin_text (NULL: none; tls_fingerprint_parse()'s
 * forms), by that fingerprint only. ca_file must outlive t. Returns 0,
 * or -1 with *error_r set (an unreadable --ca, a malformed pin).
 */
int client_tls_init(struct client_tls *t, enum client_tls_mode mode,
    const char *ca_file, const char *pin_text, const char **error_r);
/* Free what t holds. */
void client_tls_deinit(struct client_tls *t);

/* An SSL object for one connection to host (a name or an address, as
 * given to --server). Returns NULL with *error_r set. */
SSL *client_tls_ssl_new(const struct client_tls *t, const char *host,
    const char **error_r);

/*
 * After a handshake on ssl (made by t) failed: why the
 * server's certificate was refused, in words that name the fix
 * ("certificate not trusted: self-signed; pass --ca
 * DATA_DIR/tls/mailbell.crt or --tls-fingerprint AB:CD:..."), as an
 * ERROR_NOT_POSSIBLE text. NULL if the certificate was not the cause.
 */
const char *client_tls_verdict(const struct client_tls *t, SSL *ssl);

/* The SHA-256 fingerprint of the certificate the server of ssl showed,
 * also after a handshake that refused it. Returns 0, or -1 if none. */
int client_tls_server_fingerprint(SSL *ssl,
    char out[TLS_FINGERPRINT_TEXT_SIZE]);

#endif
