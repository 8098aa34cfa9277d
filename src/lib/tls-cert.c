/*
 * The self-signed certificate a daemon makes at first start when no
 * [tls] files are configured, so that TLS works out of the box and a
 * client can trust it by its file or fingerprint.
 */
#include "lib/tls.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/xmalloc.h"

/* Ten years, as the design of the default certificate says. */
#define TLS_SELF_SIGNED_DAYS 3650
/* A CN longer than this (RFC 5280 ub-common-name) is cut to "mailbell". */
#define TLS_CN_MAX 64

/* Adds one X509v3 extension given in openssl.cnf syntax. */
static int
add_ext(X509 *cert, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, cert, cert, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value)) == NULL)
		return -1;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : -1;
}

/* A certificate for key, signed by key, naming hostname. */
static X509 *
make_cert(EVP_PKEY *key, const char *hostname)
{
	const char *cn = strlen(hostname) <= TLS_CN_MAX ? hostname : "mailbell";
	unsigned char serial[16];
	X509_NAME *name;
	BIGNUM *bn = NULL;
	X509 *cert;
	char *san;
	int ret = -1;

	if ((cert = X509_new()) == NULL)
		return NULL;
	/* RFC 5280 section 4.1.2.2: positive, at most 20 octets, unique. */
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		goto out;
	serial[0] &= 0x7f;
	san = xasprintf("DNS:%s,DNS:localhost,IP:127.0.0.1,IP:::1", hostname);
	if (strcmp(hostname, "localhost") == 0) {
		free(san);
		san = xstrdup("DNS:localhost,IP:127.0.0.1,IP:::1");
	}
	name = X509_get_subject_name(cert);
	if (X509_set_version(cert, X509_VERSION_3) != 1 ||
	    (bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) == NULL ||
	    X509_gmtime_adj(X509_getm_notBefore(cert), -3600) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(cert), TLS_SELF_SIGNED_DAYS, 0,
	    NULL) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(cert, name) != 1 ||
	    X509_set_pubkey(cert, key) != 1 ||
	    add_ext(cert, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    add_ext(cert, NID_key_usage, "critical,digitalSignature") < 0 ||
	    add_ext(cert, NID_ext_key_usage, "serverAuth") < 0 ||
	    add_ext(cert, NID_subject_key_identifier, "hash") < 0 ||
	    add_ext(cert, NID_subject_alt_name, san) < 0 ||
	    X509_sign(cert, key, EVP_sha256()) == 0) {
		free(san);
		goto out;
	}
	free(san);
	ret = 0;
out:
	BN_free(bn);
	if (ret < 0) {
		X509_free(cert);
		cert = NULL;
	}
	return cert;
}

/* Writes what a BIO holds to path with fsync and rename. */
static int
write_bio(BIO *bio, const char *path, mode_t mode, const char **error_r)
{
	char *data;
	long len = BIO_get_mem_data(bio, &data);

	if (len <= 0 || write_file_atomic(path, data, (size_t)len, mode) < 0) {
		*error_r = error_fmt("%s: %s", path,
		    len <= 0 ? "nothing to write" : strerror(errno));
		return -1;
	}
	return 0;
}

int
tls_self_signed_write(const char *cert_file, const char *key_file,
    const char *hostname, const char **error_r)
{
	BIO *key_bio = NULL, *cert_bio = NULL;
	EVP_PKEY *key;
	X509 *cert = NULL;
	int ret = -1;

	if ((key = EVP_EC_gen("P-256")) == NULL ||
	    (cert = make_cert(key, hostname)) == NULL ||
	    (key_bio = BIO_new(BIO_s_mem())) == NULL ||
	    (cert_bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey(key_bio, key, NULL, NULL, 0, NULL,
	    NULL) != 1 ||
	    PEM_write_bio_X509(cert_bio, cert) != 1) {
		*error_r = error_prefix("self-signed certificate",
		    tls_openssl_error());
		goto out;
	}
	/* The key first: a certificate on disk always has its key. */
	if (write_bio(key_bio, key_file, 0600, error_r) < 0 ||
	    write_bio(cert_bio, cert_file, 0644, error_r) < 0)
		goto out;
	ret = 0;
out:
	BIO_free(key_bio);
	BIO_free(cert_bio);
	X509_free(cert);
	EVP_PKEY_free(key);
	return ret;
}

void
tls_self_signed_paths(const char *data_dir, char **cert_file_r,
    char **key_file_r)
{
	*cert_file_r = xasprintf("%s/%s/%s", data_dir, TLS_SELF_SIGNED_DIR,
	    TLS_SELF_SIGNED_CERT);
	*key_file_r = xasprintf("%s/%s/%s", data_dir, TLS_SELF_SIGNED_DIR,
	    TLS_SELF_SIGNED_KEY);
}

int
tls_self_signed_ensure(const char *data_dir, const char *hostname,
    char **cert_file_r, char **key_file_r, bool *generated_r,
    const char **error_r)
{
	char *dir, *cert_file, *key_file;
	int ret = -1;

	dir = xasprintf("%s/%s", data_dir, TLS_SELF_SIGNED_DIR);
	tls_self_signed_paths(data_dir, &cert_file, &key_file);
	*generated_r = false;
	if (mkdir_p(dir, 0700) < 0) {
		*error_r = error_fmt("%s: %s", dir, strerror(errno));
		goto out;
	}
	if (access(cert_file, F_OK) < 0 || access(key_file, F_OK) < 0) {
		if (tls_self_signed_write(cert_file, key_file, hostname,
		    error_r) < 0)
			goto out;
		*generated_r = true;
	}
	*cert_file_r = cert_file;
	*key_file_r = key_file;
	cert_file = key_file = NULL;
	ret = 0;
out:
	free(dir);
	free(cert_file);
	free(key_file);
	return ret;
}
