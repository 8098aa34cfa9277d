/*
 * The client's TLS context for mailbell watch and doctor: verification
 * against the system's CAs or a CA file with the host name checked, or
 * against one pinned SHA-256 fingerprint; and verification failures
 * told as sentences a user can act on.
 */
#include "lib/tls.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "lib/error.h"
#include "lib/xmalloc.h"

struct tls_client {
	SSL_CTX *ctx;
	bool pinned;		/* pin replaces CA and host name checks */
	unsigned char pin[TLS_FINGERPRINT_LEN]; /* if pinned */
};

/* Set on the X509_STORE_CTX when the leaf does not match the pin; an
 * application-range code OpenSSL does not use. */
#define TLS_ERR_PIN_MISMATCH (X509_V_ERR_APPLICATION_VERIFICATION)

/* SSL_CTX_set_cert_verify_callback(): with a pin, the chain is not
 * verified at all; the leaf's digest must equal the pin. */
static int
pin_verify_cb(X509_STORE_CTX *store, void *arg)
{
	const struct tls_client *client = arg;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	X509 *cert = X509_STORE_CTX_get0_cert(store);

	if (cert != NULL && X509_digest(cert, EVP_sha256(), md, &n) == 1 &&
	    n == TLS_FINGERPRINT_LEN &&
	    CRYPTO_memcmp(md, client->pin, n) == 0) {
		X509_STORE_CTX_set_error(store, X509_V_OK);
		return 1;
	}
	X509_STORE_CTX_set_error(store, TLS_ERR_PIN_MISMATCH);
	return 0;
}

struct tls_client *
tls_client_new(const char *ca_file, const char *fingerprint,
    const char **error_r)
{
	struct tls_client *client = xcalloc(1, sizeof(*client));

	ERR_clear_error();
	if (fingerprint != NULL) {
		if (tls_fingerprint_parse(fingerprint, client->pin, error_r) < 0)
			goto fail;
		client->pinned = true;
	}
	if ((client->ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(client->ctx, TLS1_2_VERSION) != 1) {
		*error_r = error_prefix("TLS client", tls_openssl_error());
		goto fail;
	}
	SSL_CTX_set_options(client->ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(client->ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_verify(client->ctx, SSL_VERIFY_PEER, NULL);
	if (client->pinned) {
		SSL_CTX_set_cert_verify_callback(client->ctx, pin_verify_cb,
		    client);
	} else if (ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(client->ctx, ca_file,
		    NULL) != 1) {
			*error_r = error_prefix(ca_file, tls_openssl_error());
			goto fail;
		}
	} else if (SSL_CTX_set_default_verify_paths(client->ctx) != 1) {
		*error_r = error_prefix("system CA certificates",
		    tls_openssl_error());
		goto fail;
	}
	return client;
fail:
	tls_client_free(&client);
	return NULL;
}

/* Whether host is an IPv4 or IPv6 literal. */
static bool
host_is_address(const char *host)
{
	unsigned char addr[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, addr) == 1 ||
	    inet_pton(AF_INET6, host, addr) == 1;
}

SSL *
tls_client_ssl_new(struct tls_client *client, const char *host,
    const char **error_r)
{
	X509_VERIFY_PARAM *param;
	bool address = host_is_address(host);
	SSL *ssl;

	ERR_clear_error();
	if ((ssl = SSL_new(client->ctx)) == NULL) {
		*error_r = error_prefix("SSL_new", tls_openssl_error());
		return NULL;
	}
	/* RFC 6066 section 3: no literal addresses in SNI. */
	if (!address && SSL_set_tlsext_host_name(ssl, host) != 1)
		goto fail;
	if (!client->pinned) {
		param = SSL_get0_param(ssl);
		X509_VERIFY_PARAM_set_hostflags(param,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (address ? X509_VERIFY_PARAM_set1_ip_asc(param, host) != 1 :
		    X509_VERIFY_PARAM_set1_host(param, host, 0) != 1)
			goto fail;
	}
	return ssl;
fail:
	*error_r = error_prefix(host, tls_openssl_error());
	SSL_free(ssl);
	return NULL;
}

const char *
tls_client_verify_error(SSL *ssl)
{
	long result = SSL_get_verify_result(ssl);
	const char *host, *error;
	char *ip;

	switch (result) {
	case X509_V_OK:
		return NULL;
	case TLS_ERR_PIN_MISMATCH:
		return error_fmt("certificate fingerprint does not match "
		    "the pinned one");
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
		return error_fmt("certificate not trusted: self-signed");
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
		return error_fmt("certificate not trusted: self-signed "
		    "certificate in chain");
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		return error_fmt("certificate not trusted: issuer unknown");
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return error_fmt("certificate expired");
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return error_fmt("certificate not yet valid");
	case X509_V_ERR_HOSTNAME_MISMATCH:
		host = X509_VERIFY_PARAM_get0_host(SSL_get0_param(ssl), 0);
		return error_fmt("certificate does not match host name %s",
		    host != NULL ? host : "?");
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		ip = X509_VERIFY_PARAM_get1_ip_asc(SSL_get0_param(ssl));
		error = error_fmt("certificate does not match address %s",
		    ip != NULL ? ip : "?");
		OPENSSL_free(ip);
		return error;
	default:
		return error_fmt("certificate not trusted: %s",
		    X509_verify_cert_error_string(result));
	}
}

void
tls_client_free(struct tls_client **clientp)
{
	struct tls_client *client = *clientp;

	if (client == NULL)
		return;
	SSL_CTX_free(client->ctx);
	explicit_bzero(client->pin, sizeof(client->pin));
	free(client);
	*clientp = NULL;
}
