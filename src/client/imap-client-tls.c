/*
 * TLS on the command line tool's IMAP connection: STARTTLS (RFC 3501
 * 6.2.1) or IMAPS, by putting an OpenSSL filter bufferevent over the
 * plain one and waiting for its handshake, and the words for what went
 * wrong when it fails.
 */
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "client/client-tls.h"
#include "client/imap-client-private.h"
#include "lib/clock.h"
#include "lib/error.h"
#include "lib/log.h"

/* STARTTLS in clear text, up to its OK. */
static int
starttls(struct imap_client *c, const char **error_r)
{
	enum imap_client_status st;

	if (c->cap_count == 0 && imap_client_cmd(c, NULL, NULL, error_r,
	    "CAPABILITY") != IMAP_CLIENT_OK)
		return -1;
	if (!imap_client_has_cap(c, "STARTTLS")) {
		*error_r = error_code_fmt(ERROR_NOT_POSSIBLE, "the server "
		    "offers no STARTTLS: use --tls imaps if it has an IMAPS "
		    "port, or --tls none to send the password and the "
		    "notification keys in clear text");
		return -1;
	}
	st = imap_client_cmd(c, NULL, NULL, error_r, "STARTTLS");
	if (st == IMAP_CLIENT_NO)
		*error_r = error_code_fmt(ERROR_NOT_POSSIBLE, "the server "
		    "refused STARTTLS: %s", *error_r);
	if (st != IMAP_CLIENT_OK)
		return -1;
	/* Whatever came after the OK came in clear text and would be
	   read as if it came through TLS: someone in the path may have
	   put it there (CVE-2011-0411 was the server side of this). */
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) != 0) {
		*error_r = error_code_fmt(ERROR_NOT_POSSIBLE, "more came in "
		    "clear text after the server's STARTTLS OK: someone may "
		    "be tampering with the connection");
		return -1;
	}
	/* RFC 3501 6.2.1: what we learnt before TLS counts for nothing. */
	imap_client_caps_clear(c);
	return 0;
}

/* Why the handshake failed, when the certificate was not the cause. */
static const char *
handshake_error(const struct imap_client *c, const char *host)
{
	int reason = ERR_GET_REASON(c->tls_error);

	if (c->io_what & BEV_EVENT_EOF)
		return error_fmt("the server closed the connection during the "
		    "TLS handshake");
	if (reason == SSL_R_WRONG_VERSION_NUMBER ||
	    reason == SSL_R_PACKET_LENGTH_TOO_LONG)
		return error_code_fmt(ERROR_NOT_POSSIBLE, "%s does not "
		    "answer in TLS (%s): if this is its IMAP port, use --tls "
		    "starttls, or give the IMAPS port", host,
		    ERR_reason_error_string(c->tls_error));
	if (c->tls_error != 0)
		return error_code_fmt(ERROR_NOT_POSSIBLE, "TLS handshake with "
		    "%s failed: %s", host,
		    ERR_reason_error_string(c->tls_error));
	return error_fmt("TLS handshake with %s failed: %s", host,
	    strerror(c->io_errno));
}

int
imap_client_start_tls(struct imap_client *c, const struct client_tls *tls,
    const char *host, int timeout_ms, const char **error_r)
{
	uint64_t deadline = clock_now_ms() + (uint64_t)timeout_ms;
	struct bufferevent *bev;
	const char *verdict;
	SSL *ssl;
	int r;

	if (tls->mode == CLIENT_TLS_STARTTLS && starttls(c, error_r) < 0)
		return -1;
	if ((ssl = client_tls_ssl_new(tls, host, error_r)) == NULL)
		return -1;
	/* The filter owns ssl and the plain bufferevent from here on. */
	bev = bufferevent_openssl_filter_new(c->base, c->bev, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		fatalx("out of memory");
	c->ssl = ssl;
	/* IMAP says where it ends (LOGOUT, BYE); a peer that closes
	   without close_notify is an EOF, not an error. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	imap_client_set_bev(c, bev);
	while (!c->tls_connected && !c->closed) {
		r = imap_client_wait_io(c, deadline);
		if (r <= 0) {
			*error_r = r == 0 ? error_fmt("no TLS handshake with %s "
			    "within %d s", host, timeout_ms / 1000) :
			    "interrupted";
			return -1;
		}
	}
	if (c->tls_connected)
		return 0;
	verdict = client_tls_verdict(tls, ssl);
	*error_r = verdict != NULL ? verdict : handshake_error(c, host);
	return -1;
}

const char *
imap_client_tls_io_error(const struct imap_client *c)
{
	if (c->ssl == NULL || c->tls_error == 0)
		return NULL;
	return error_fmt("TLS: %s", ERR_reason_error_string(c->tls_error));
}

bool
imap_client_tls_info(const struct imap_client *c, char *info,
    size_t info_size, char fp[TLS_FINGERPRINT_TEXT_SIZE])
{
	if (c->ssl == NULL || !c->tls_connected)
		return false;
	snprintf(info, info_size, "%s %s", SSL_get_version(c->ssl),
	    SSL_get_cipher_name(c->ssl));
	if (tls_peer_fingerprint(c->ssl, fp) < 0)
		strcpy(fp, "unknown");
	return true;
}
