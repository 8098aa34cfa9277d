/*
 * The client side of TLS for `mailbell watch` and `mailbell doctor`:
 * the --tls modes, lib/tls.h's client context made from --ca and
 * --tls-fingerprint, and what to tell a user whose server certificate
 * failed: the cause (lib/tls.h's words), what the certificate says of
 * itself, and the option that would make it pass.
 */
#include "client/client-tls.h"

#include <string.h>
#include <strings.h>
#include <time.h>
#include <arpa/inet.h>

#include <openssl/x509v3.h>

#include "lib/error.h"

/* Room for the names a certificate is for, as a message quotes them. */
#define NAMES_SIZE 256
/* Room for a certificate's validity date, "2036-12-04 18:25 UTC". */
#define DATE_SIZE 32

static const char *const mode_names[] = {
	[CLIENT_TLS_STARTTLS] = "starttls",
	[CLIENT_TLS_IMAPS] = "imaps",
	[CLIENT_TLS_NONE] = "none",
};

int
client_tls_mode_parse(const char *text, enum client_tls_mode *mode_r)
{
	size_t i;

	for (i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (strcasecmp(text, mode_names[i]) == 0) {
			*mode_r = (enum client_tls_mode)i;
			return 0;
		}
	return -1;
}

int
client_tls_init(struct client_tls *t, enum client_tls_mode mode,
    const char *ca_file, const char *pin_text, const char **error_r)
{
	memset(t, 0, sizeof(*t));
	t->mode = mode;
	t->ca_file = ca_file;
	if (mode == CLIENT_TLS_NONE)
		return 0;
	if (pin_text != NULL) {
		if (tls_fingerprint_parse(pin_text, t->pin, error_r) < 0) {
			*error_r = error_prefix("--tls-fingerprint", *error_r);
			return -1;
		}
		t->pinned = true;
	}
	t->client = tls_client_new(ca_file, pin_text, error_r);
	if (t->client == NULL) {
		if (ca_file != NULL)
			*error_r = error_prefix("--ca", *error_r);
		return -1;
	}
	return 0;
}

void
client_tls_deinit(struct client_tls *t)
{
	tls_client_free(&t->client);
	explicit_bzero(t->pin, sizeof(t->pin));
}

SSL *
client_tls_ssl_new(const struct client_tls *t, const char *host,
    const char **error_r)
{
	return tls_client_ssl_new(t->client, host, error_r);
}

/* ---- What the server showed ---- */

/*
 * The server's certificate, also after a handshake that failed its
 * verification: OpenSSL keeps the chain it received (leaf first) even
 * when it refused it, but sets the peer certificate only on success.
 */
static X509 *
server_leaf(SSL *ssl)
{
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);

	if (chain != NULL && sk_X509_num(chain) > 0)
		return sk_X509_value(chain, 0);
	return SSL_get0_peer_certificate(ssl);
}

int
client_tls_server_fingerprint(SSL *ssl, char out[TLS_FINGERPRINT_TEXT_SIZE])
{
	X509 *leaf = server_leaf(ssl);

	return leaf != NULL ? tls_fingerprint_x509(leaf, out, NULL) : -1;
}

static void
format_time(const ASN1_TIME *t, char out[DATE_SIZE])
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(out, DATE_SIZE, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		strcpy(out, "an unreadable date");
}

static void
names_add(char *names, const char *name)
{
	size_t len = strlen(names);

	if (len > 0 && len + 2 < NAMES_SIZE) {
		strcpy(names + len, ", ");
		len += 2;
	}
	if (len + strlen(name) < NAMES_SIZE)
		strcpy(names + len, name);
}

/* The DNS names and addresses of the leaf's subjectAltName, or its CN. */
static void
leaf_names(X509 *leaf, char names[NAMES_SIZE])
{
	GENERAL_NAMES *gens;
	const GENERAL_NAME *g;
	char text[INET6_ADDRSTRLEN + 1], cn[NAMES_SIZE];
	int i, len, af;

	names[0] = '\0';
	gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type == GEN_DNS) {
			len = ASN1_STRING_length(g->d.dNSName);
			if (len <= 0 || (size_t)len >= sizeof(cn))
				continue;
			memcpy(cn, ASN1_STRING_get0_data(g->d.dNSName),
			    (size_t)len);
			cn[len] = '\0';
			names_add(names, cn);
		} else if (g->type == GEN_IPADD) {
			len = ASN1_STRING_length(g->d.iPAddress);
			af = len == 4 ? AF_INET : len == 16 ? AF_INET6 : -1;
			if (af < 0 || inet_ntop(af,
			    ASN1_STRING_get0_data(g->d.iPAddress), text,
			    sizeof(text)) == NULL)
				continue;
			names_add(names, text);
		}
	}
	GENERAL_NAMES_free(gens);
	if (names[0] == '\0' && X509_NAME_get_text_by_NID(
	    X509_get_subject_name(leaf), NID_commonName, cn, sizeof(cn)) > 0)
		names_add(names, cn);
	if (names[0] == '\0')
		names_add(names, "no name at all");
}

/* ---- The verdict ---- */

/* How a user checks a fingerprint before trusting it. */
#define CHECK_FP "after checking it against the \"tls: certificate\" " \
	"line of mailbelld's log"

const char *
client_tls_verdict(const struct client_tls *t, SSL *ssl)
{
	char fp[TLS_FINGERPRINT_TEXT_SIZE], pin[TLS_FINGERPRINT_TEXT_SIZE];
	char names[NAMES_SIZE], date[DATE_SIZE];
	const char *cause = tls_client_verify_error(ssl);
	X509 *leaf = server_leaf(ssl);
	size_t i;

	if (cause == NULL || leaf == NULL ||
	    tls_fingerprint_x509(leaf, fp, NULL) < 0)
		return NULL;
	if (t->pinned) {
		/* Nothing but the pin is checked: it did not match. */
		for (i = 0; i < TLS_FINGERPRINT_LEN; i++)
			snprintf(pin + 3 * i, 4, "%02X%s", t->pin[i],
			    i + 1 < TLS_FINGERPRINT_LEN ? ":" : "");
		return error_code_fmt(ERROR_NOT_POSSIBLE, "%s: the server's is "
		    "%s, not %s; if its certificate was replaced, pin the new "
		    "one " CHECK_FP, cause, fp, pin);
	}
	switch (SSL_get_verify_result(ssl)) {
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_CERT_UNTRUSTED:
		if (t->ca_file != NULL)
			return error_code_fmt(ERROR_NOT_POSSIBLE, "%s (--ca %s "
			    "holds neither it nor its issuer); pass the "
			    "server's own (--ca DATA_DIR/tls/mailbell.crt) or "
			    "--tls-fingerprint %s (" CHECK_FP ")", cause,
			    t->ca_file, fp);
		return error_code_fmt(ERROR_NOT_POSSIBLE, "%s; pass --ca "
		    "DATA_DIR/tls/mailbell.crt or --tls-fingerprint %s ("
		    CHECK_FP ")", cause, fp);
	case X509_V_ERR_CERT_HAS_EXPIRED:
		format_time(X509_get0_notAfter(leaf), date);
		return error_code_fmt(ERROR_NOT_POSSIBLE, "%s on %s: the "
		    "server's operator must renew it (or this host's clock is "
		    "wrong)", cause, date);
	case X509_V_ERR_CERT_NOT_YET_VALID:
		format_time(X509_get0_notBefore(leaf), date);
		return error_code_fmt(ERROR_NOT_POSSIBLE, "%s (valid from %s): "
		    "check this host's clock and the server's", cause, date);
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		leaf_names(leaf, names);
		return error_code_fmt(ERROR_NOT_POSSIBLE, "%s (it is for %s); "
		    "give --server one of its names, or pass --tls-fingerprint "
		    "%s (" CHECK_FP ")", cause, names, fp);
	default:
		return error_code_fmt(ERROR_NOT_POSSIBLE, "%s", cause);
	}
}
