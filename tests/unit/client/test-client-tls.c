/* Unit tests for the client's TLS verification (src/client/client-tls.c):
 * the --tls modes, and real handshakes over a BIO pair against
 * certificates made here: trusted by --ca, self-signed without it,
 * another CA file, a name or address that does not match, expired, and
 * a pinned fingerprint that matches (whatever the name) or not; each
 * refusal in the words that name its fix. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "client/client-tls.h"
#include "lib/error.h"

/* ---- modes ---- */

static void
test_modes(void **state)
{
	enum client_tls_mode m;

	(void)state;
	assert_int_equal(client_tls_mode_parse("starttls", &m), 0);
	assert_int_equal(m, CLIENT_TLS_STARTTLS);
	assert_int_equal(client_tls_mode_parse("IMAPS", &m), 0);
	assert_int_equal(m, CLIENT_TLS_IMAPS);
	assert_int_equal(client_tls_mode_parse("None", &m), 0);
	assert_int_equal(m, CLIENT_TLS_NONE);
	assert_int_equal(client_tls_mode_parse("tls", &m), -1);
	assert_int_equal(client_tls_mode_parse("", &m), -1);
}

/* ---- handshakes ---- */

struct cert {
	EVP_PKEY *key;
	X509 *x;
	char fp_text[TLS_FINGERPRINT_TEXT_SIZE];
	char path[64];		/* the certificate as PEM, for --ca */
};

/* A self-signed P-256 certificate for san, valid from days_from to
 * days_to (relative to now). */
static void
cert_make(struct cert *c, const char *san, long days_from, long days_to)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	X509_NAME *name;
	FILE *fp;
	int fd;

	memset(c, 0, sizeof(*c));
	assert_non_null(c->key = EVP_EC_gen("P-256"));
	assert_non_null(c->x = X509_new());
	X509_set_version(c->x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c->x), 1);
	X509_gmtime_adj(X509_getm_notBefore(c->x), days_from * 86400);
	X509_gmtime_adj(X509_getm_notAfter(c->x), days_to * 86400);
	X509_set_pubkey(c->x, c->key);
	name = X509_get_subject_name(c->x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"mailbell test", -1, -1, 0);
	X509_set_issuer_name(c->x, name);
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, c->x, c->x, NULL, NULL, 0);
	assert_non_null(ext = X509V3_EXT_conf_nid(NULL, &v3,
	    NID_subject_alt_name, san));
	X509_add_ext(c->x, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(c->x, c->key, EVP_sha256()) > 0);
	assert_int_equal(tls_fingerprint_x509(c->x, c->fp_text, NULL), 0);
	strcpy(c->path, "/tmp/test-client-tls.XXXXXX");
	assert_true((fd = mkstemp(c->path)) >= 0);
	assert_non_null(fp = fdopen(fd, "w"));
	assert_int_equal(PEM_write_X509(fp, c->x), 1);
	fclose(fp);
}

static void
cert_free(struct cert *c)
{
	unlink(c->path);
	X509_free(c->x);
	EVP_PKEY_free(c->key);
}

/*
 * A handshake between a client made by t for host and a server with
 * cert, in memory. Returns 0 if it completed, -1 if the client refused
 * it, with *verdict_r what client_tls_verdict() said after it.
 */
static int
handshake(const struct client_tls *t, const char *host,
    const struct cert *cert, const char **verdict_r)
{
	SSL_CTX *sctx;
	SSL *cl, *sv;
	BIO *bc, *bs;
	const char *error;
	int i, rc = 0, rs = 0, ret = -1;

	assert_non_null(sctx = SSL_CTX_new(TLS_server_method()));
	assert_int_equal(SSL_CTX_use_certificate(sctx, cert->x), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(sctx, cert->key), 1);
	assert_non_null(sv = SSL_new(sctx));
	assert_non_null(cl = client_tls_ssl_new(t, host, &error));
	assert_int_equal(BIO_new_bio_pair(&bc, 0, &bs, 0), 1);
	SSL_set_bio(cl, bc, bc);
	SSL_set_bio(sv, bs, bs);
	SSL_set_connect_state(cl);
	SSL_set_accept_state(sv);
	for (i = 0; i < 20; i++) {
		if (rc != 1)
			rc = SSL_do_handshake(cl);
		if (rc <= 0 && SSL_get_error(cl, rc) != SSL_ERROR_WANT_READ)
			break;
		if (rs != 1)
			rs = SSL_do_handshake(sv);
		if (rc == 1 && rs == 1) {
			ret = 0;
			break;
		}
	}
	*verdict_r = client_tls_verdict(t, cl);
	SSL_free(cl);
	SSL_free(sv);
	SSL_CTX_free(sctx);
	ERR_clear_error();
	return ret;
}

struct certs {
	struct cert local;	/* localhost, 127.0.0.1, ::1 */
	struct cert other;	/* another server's */
	struct cert expired;	/* localhost, 127.0.0.1; ended 10 days ago */
};

static int
certs_setup(void **state)
{
	struct certs *cs = calloc(1, sizeof(*cs));

	cert_make(&cs->local, "DNS:localhost,IP:127.0.0.1,IP:::1", -1, 3650);
	cert_make(&cs->other, "DNS:other.example", -1, 3650);
	cert_make(&cs->expired, "DNS:localhost,IP:127.0.0.1", -20, -10);
	*state = cs;
	return 0;
}

static int
certs_teardown(void **state)
{
	struct certs *cs = *state;

	cert_free(&cs->local);
	cert_free(&cs->other);
	cert_free(&cs->expired);
	free(cs);
	return 0;
}

static void
test_trusted_by_ca_file(void **state)
{
	struct certs *cs = *state;
	struct client_tls t;
	const char *error, *verdict;

	assert_int_equal(client_tls_init(&t, CLIENT_TLS_STARTTLS,
	    cs->local.path, NULL, &error), 0);
	assert_int_equal(handshake(&t, "127.0.0.1", &cs->local, &verdict), 0);
	assert_null(verdict);
	assert_int_equal(handshake(&t, "::1", &cs->local, &verdict), 0);
	assert_int_equal(handshake(&t, "localhost", &cs->local, &verdict), 0);
	client_tls_deinit(&t);
}

static void
test_self_signed_untrusted(void **state)
{
	struct certs *cs = *state;
	struct client_tls t;
	const char *error, *verdict;
	char want[512];

	/* The system's CAs do not know it. */
	assert_int_equal(client_tls_init(&t, CLIENT_TLS_IMAPS, NULL, NULL,
	    &error), 0);
	assert_int_equal(handshake(&t, "127.0.0.1", &cs->local, &verdict), -1);
	assert_non_null(verdict);
	snprintf(want, sizeof(want), "certificate not trusted: self-signed; "
	    "pass --ca DATA_DIR/tls/mailbell.crt or --tls-fingerprint %s ",
	    cs->local.fp_text);
	assert_non_null(strstr(verdict, want));
	assert_int_equal(error_code(verdict), ERROR_NOT_POSSIBLE);
	client_tls_deinit(&t);

	/* Nor does a CA file with another certificate. */
	assert_int_equal(client_tls_init(&t, CLIENT_TLS_IMAPS,
	    cs->other.path, NULL, &error), 0);
	assert_int_equal(handshake(&t, "127.0.0.1", &cs->local, &verdict), -1);
	assert_non_null(verdict);
	assert_non_null(strstr(verdict, "certificate not trusted: self-signed "
	    "(--ca "));
	assert_non_null(strstr(verdict, " holds neither it nor its issuer); "
	    "pass the server's own (--ca DATA_DIR/tls/mailbell.crt) or "
	    "--tls-fingerprint "));
	assert_non_null(strstr(verdict, cs->local.fp_text));
	client_tls_deinit(&t);
}

static void
test_name_mismatch(void **state)
{
	struct certs *cs = *state;
	struct client_tls t;
	const char *error, *verdict;

	assert_int_equal(client_tls_init(&t, CLIENT_TLS_STARTTLS,
	    cs->local.path, NULL, &error), 0);
	assert_int_equal(handshake(&t, "mail.example.org", &cs->local, &verdict),
	    -1);
	assert_non_null(verdict);
	assert_non_null(strstr(verdict, "certificate does not match host name "
	    "mail.example.org (it is for localhost, 127.0.0.1, ::1); give "
	    "--server one of its names, or pass --tls-fingerprint "));
	assert_non_null(strstr(verdict, cs->local.fp_text));
	/* An address is checked as an address. */
	assert_int_equal(handshake(&t, "10.99.1.2", &cs->local, &verdict), -1);
	assert_non_null(verdict);
	assert_non_null(strstr(verdict, "certificate does not match address "
	    "10.99.1.2 (it is for localhost, 127.0.0.1, ::1); "));
	assert_int_equal(error_code(verdict), ERROR_NOT_POSSIBLE);
	client_tls_deinit(&t);
}

static void
test_expired(void **state)
{
	struct certs *cs = *state;
	struct client_tls t;
	const char *error, *verdict;

	assert_int_equal(client_tls_init(&t, CLIENT_TLS_STARTTLS,
	    cs->expired.path, NULL, &error), 0);
	assert_int_equal(handshake(&t, "127.0.0.1", &cs->expired, &verdict), -1);
	assert_non_null(verdict);
	assert_non_null(strstr(verdict, "certificate expired on "));
	assert_non_null(strstr(verdict, " UTC: the server's operator must "
	    "renew it"));
	client_tls_deinit(&t);
}

static void
test_pinned(void **state)
{
	struct certs *cs = *state;
	struct client_tls t;
	const char *error, *verdict;

	/* The pin is the whole check: no CA, and any name. */
	assert_int_equal(client_tls_init(&t, CLIENT_TLS_STARTTLS, NULL,
	    cs->local.fp_text, &error), 0);
	assert_int_equal(handshake(&t, "10.99.1.2", &cs->local, &verdict), 0);
	assert_null(verdict);
	/* Another certificate, even one for the right name, is refused. */
	assert_int_equal(handshake(&t, "other.example", &cs->other, &verdict),
	    -1);
	assert_non_null(verdict);
	assert_non_null(strstr(verdict, "certificate fingerprint does not "
	    "match the pinned one: the server's is "));
	assert_non_null(strstr(verdict, cs->other.fp_text));
	assert_non_null(strstr(verdict, cs->local.fp_text));
	client_tls_deinit(&t);

	assert_int_equal(client_tls_init(&t, CLIENT_TLS_STARTTLS, NULL,
	    "AB:CD", &error), -1);
	assert_non_null(strstr(error, "--tls-fingerprint: "));
	assert_int_equal(client_tls_init(&t, CLIENT_TLS_STARTTLS,
	    "/nonexistent/ca.crt", NULL, &error), -1);
	assert_non_null(strstr(error, "--ca: /nonexistent/ca.crt: "));
}

int
main(void)
{
	const struct CMUnitTest pure[] = {
		cmocka_unit_test(test_modes),
	};
	const struct CMUnitTest handshakes[] = {
		cmocka_unit_test(test_trusted_by_ca_file),
		cmocka_unit_test(test_self_signed_untrusted),
		cmocka_unit_test(test_name_mismatch),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_pinned),
	};
	int failed;

	failed = cmocka_run_group_tests_name("forms", pure, NULL, NULL);
	failed += cmocka_run_group_tests_name("handshakes", handshakes,
	    certs_setup, certs_teardown);
	return failed != 0;
}
