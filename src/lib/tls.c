/*
 * The server's TLS context, reloaded by building a new one and swapping
 * it in, and SHA-256 fingerprints. The client's side is tls-client.c,
 * the self-signed certificate tls-cert.c.
 */
#include "lib/tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "lib/error.h"
#include "lib/strnum.h"
#include "lib/xmalloc.h"

/*
 * TLS 1.2 suites: ECDHE key exchange (forward secrecy) with an AEAD
 * cipher only, as Mozilla's "intermediate" profile. TLS 1.3 suites are
 * all AEAD with (EC)DHE and keep OpenSSL's defaults.
 */
#define TLS_SERVER_CIPHERS_12 \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* Session ID context: resumption is only offered to the same service. */
#define TLS_SESSION_ID_CONTEXT "mailbell"

struct tls_server {
	char *cert_file;	/* as given; read again on reload */
	char *key_file;
	SSL_CTX *ctx;		/* for new connections; swapped on reload */
	char fingerprint[TLS_FINGERPRINT_TEXT_SIZE]; /* of ctx's leaf */
};

const char *
tls_openssl_error(void)
{
	char text[ERROR_TEXT_MAX] = "";
	char one[256];
	unsigned long e;
	size_t len = 0;

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, one, sizeof(one));
		if (len == 0)
			len = (size_t)snprintf(text, sizeof(text), "%s", one);
		else if (len < sizeof(text))
			len += (size_t)snprintf(text + len, sizeof(text) - len,
			    "; %s", one);
	}
	return error_fmt("%s", len == 0 ? "no OpenSSL error" : text);
}

int
tls_fingerprint_x509(X509 *cert, char out[TLS_FINGERPRINT_TEXT_SIZE],
    const char **error_r)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	if (X509_digest(cert, EVP_sha256(), md, &n) != 1 ||
	    n != TLS_FINGERPRINT_LEN) {
		if (error_r != NULL)
			*error_r = error_prefix("SHA-256 of certificate",
			    tls_openssl_error());
		return -1;
	}
	for (i = 0; i < n; i++)
		snprintf(out + i * 3, 4, "%02X%s", md[i], i + 1 < n ? ":" : "");
	return 0;
}

int
tls_fingerprint_file(const char *cert_file,
    char out[TLS_FINGERPRINT_TEXT_SIZE], const char **error_r)
{
	X509 *cert;
	FILE *fp;
	int ret;

	if ((fp = fopen(cert_file, "re")) == NULL) {
		if (error_r != NULL)
			*error_r = error_fmt("%s: %s", cert_file,
			    strerror(errno));
		return -1;
	}
	cert = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	if (cert == NULL) {
		if (error_r != NULL)
			*error_r = error_prefix(cert_file, tls_openssl_error());
		return -1;
	}
	ret = tls_fingerprint_x509(cert, out, error_r);
	X509_free(cert);
	return ret;
}

int
tls_fingerprint_parse(const char *text,
    unsigned char digest_r[TLS_FINGERPRINT_LEN], const char **error_r)
{
	const char *p = text;
	size_t n = 0;
	int hi, lo;

	while (*p != '\0') {
		if (n > 0 && *p == ':')
			p++;
		if (n == TLS_FINGERPRINT_LEN || (hi = str_hex_digit(p[0])) < 0 ||
		    (lo = str_hex_digit(p[1])) < 0)
			goto bad;
		digest_r[n++] = (unsigned char)(hi << 4 | lo);
		p += 2;
	}
	if (n == TLS_FINGERPRINT_LEN)
		return 0;
bad:
	if (error_r != NULL)
		*error_r = error_code_fmt(ERROR_INVALID, "not a SHA-256 "
		    "fingerprint (64 hex digits, colons optional): %s", text);
	return -1;
}

int
tls_peer_fingerprint(SSL *ssl, char out[TLS_FINGERPRINT_TEXT_SIZE])
{
	X509 *cert;
	int ret;

	if ((cert = SSL_get1_peer_certificate(ssl)) == NULL)
		return -1;
	ret = tls_fingerprint_x509(cert, out, NULL);
	X509_free(cert);
	return ret;
}

/* A server context from the two files, or NULL with *error_r. */
static SSL_CTX *
server_ctx_new(const char *cert_file, const char *key_file,
    char fingerprint[TLS_FINGERPRINT_TEXT_SIZE], const char **error_r)
{
	SSL_CTX *ctx;

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		*error_r = error_prefix("SSL_CTX_new", tls_openssl_error());
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, TLS_SERVER_CIPHERS_12) != 1) {
		*error_r = error_prefix("TLS settings", tls_openssl_error());
		goto fail;
	}
	/* No compression (CRIME), no renegotiation (CVE-2009-3555 class and
	 * a cheap CPU drain); the server's order of ciphers wins. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* An idle session keeps no 2 x 16 KiB record buffers. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_id_context(ctx,
	    (const unsigned char *)TLS_SESSION_ID_CONTEXT,
	    sizeof(TLS_SESSION_ID_CONTEXT) - 1);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		*error_r = error_prefix(cert_file, tls_openssl_error());
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
		*error_r = error_prefix(key_file, tls_openssl_error());
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		*error_r = error_fmt("%s does not match %s: %s", key_file,
		    cert_file, tls_openssl_error());
		goto fail;
	}
	if (tls_fingerprint_x509(SSL_CTX_get0_certificate(ctx), fingerprint,
	    error_r) < 0)
		goto fail;
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

struct tls_server *
tls_server_new(const char *cert_file, const char *key_file,
    const char **error_r)
{
	struct tls_server *server = xcalloc(1, sizeof(*server));

	server->ctx = server_ctx_new(cert_file, key_file, server->fingerprint,
	    error_r);
	if (server->ctx == NULL) {
		free(server);
		return NULL;
	}
	server->cert_file = xstrdup(cert_file);
	server->key_file = xstrdup(key_file);
	return server;
}

int
tls_server_reload(struct tls_server *server, const char *cert_file,
    const char *key_file, const char **error_r)
{
	char fingerprint[TLS_FINGERPRINT_TEXT_SIZE];
	SSL_CTX *ctx;

	if (cert_file == NULL || key_file == NULL) {
		cert_file = server->cert_file;
		key_file = server->key_file;
	}
	ctx = server_ctx_new(cert_file, key_file, fingerprint, error_r);
	if (ctx == NULL)
		return -1;
	/* Connections made with the old context hold their own reference. */
	SSL_CTX_free(server->ctx);
	server->ctx = ctx;
	memcpy(server->fingerprint, fingerprint, sizeof(fingerprint));
	if (cert_file != server->cert_file) {
		free(server->cert_file);
		free(server->key_file);
		server->cert_file = xstrdup(cert_file);
		server->key_file = xstrdup(key_file);
	}
	return 0;
}

SSL_CTX *
tls_server_ctx(const struct tls_server *server)
{
	return server->ctx;
}

const char *
tls_server_fingerprint(const struct tls_server *server)
{
	return server->fingerprint;
}

const char *
tls_server_cert_file(const struct tls_server *server)
{
	return server->cert_file;
}

void
tls_server_free(struct tls_server **serverp)
{
	struct tls_server *server = *serverp;

	if (server == NULL)
		return;
	SSL_CTX_free(server->ctx);
	free(server->cert_file);
	free(server->key_file);
	free(server);
	*serverp = NULL;
}
