/*
 * Unit tests for lib/tls.c, tls-cert.c and tls-client.c: the
 * self-signed certificate, fingerprints as openssl(1) prints them,
 * reloads that keep the old context on a bad file, and client
 * verification by CA file, host name and pin, over handshakes on a
 * socket pair.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/fsutil.h"
#include "lib/tls.h"
#include "../tmpdir-test.h"

static char dir[256];
static char cert_file[320], key_file[320];

static int
setup(void **state)
{
	const char *error = NULL;
	char *c = NULL, *k = NULL;
	bool generated = false;

	(void)state;
	if (test_tmpdir_make(dir, sizeof(dir), "data") < 0)
		return -1;
	if (tls_self_signed_ensure(dir, "mail.example.org", &c, &k,
	    &generated, &error) < 0 || !generated) {
		fprintf(stderr, "ensure: %s\n", error);
		return -1;
	}
	snprintf(cert_file, sizeof(cert_file), "%s", c);
	snprintf(key_file, sizeof(key_file), "%s", k);
	free(c);
	free(k);
	return 0;
}

/* What `openssl x509 -fingerprint -sha256` prints for path. */
static void
openssl_fingerprint(const char *path, char *out, size_t size)
{
	char cmd[1024], line[256];
	const char *eq;
	FILE *fp;

	snprintf(cmd, sizeof(cmd),
	    "openssl x509 -noout -fingerprint -sha256 -in '%s'", path);
	assert_non_null(fp = popen(cmd, "r"));
	assert_non_null(fgets(line, sizeof(line), fp));
	assert_int_equal(pclose(fp), 0);
	line[strcspn(line, "\n")] = '\0';
	assert_non_null(eq = strchr(line, '='));
	snprintf(out, size, "%s", eq + 1);
}

static void
test_self_signed_files(void **state)
{
	struct stat st;
	char *c = NULL, *k = NULL;
	const char *error = NULL;
	bool generated = true;
	char cmd[4096];

	(void)state;
	assert_int_equal(stat(key_file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(cmd, sizeof(cmd), "%s/tls", dir);
	assert_int_equal(stat(cmd, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	/* EC P-256, the names, and no stray temporary file. */
	snprintf(cmd, sizeof(cmd), "openssl x509 -noout -text -in '%s' | "
	    "grep -q 'NIST CURVE: P-256' && openssl x509 -noout -ext "
	    "subjectAltName -in '%s' | grep -q 'DNS:mail.example.org, "
	    "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1'"
	    " && openssl x509 -noout -subject -in '%s' | "
	    "grep -q 'CN = mail.example.org' && "
	    "test ! -e '%s.tmp' && test ! -e '%s.tmp'",
	    cert_file, cert_file, cert_file, cert_file, key_file);
	assert_int_equal(system(cmd), 0);
	/* A second start keeps them. */
	assert_int_equal(tls_self_signed_ensure(dir, "other", &c, &k,
	    &generated, &error), 0);
	assert_false(generated);
	assert_string_equal(c, cert_file);
	assert_string_equal(k, key_file);
	free(c);
	free(k);
}

static void
test_fingerprint(void **state)
{
	char ours[TLS_FINGERPRINT_TEXT_SIZE], theirs[256];
	unsigned char digest[TLS_FINGERPRINT_LEN], again[TLS_FINGERPRINT_LEN];
	char lower[TLS_FINGERPRINT_TEXT_SIZE], bare[TLS_FINGERPRINT_LEN * 2 + 1];
	const char *error = NULL;
	size_t i, n = 0;

	(void)state;
	assert_int_equal(tls_fingerprint_file(cert_file, ours, &error), 0);
	openssl_fingerprint(cert_file, theirs, sizeof(theirs));
	assert_string_equal(ours, theirs);
	assert_int_equal(strlen(ours), TLS_FINGERPRINT_TEXT_SIZE - 1);

	/* Parsed back with colons, lower case, and bare. */
	assert_int_equal(tls_fingerprint_parse(ours, digest, &error), 0);
	for (i = 0; ours[i] != '\0'; i++) {
		lower[i] = (char)(ours[i] >= 'A' && ours[i] <= 'F' ?
		    ours[i] + 32 : ours[i]);
		if (ours[i] != ':')
			bare[n++] = lower[i];
	}
	lower[i] = '\0';
	bare[n] = '\0';
	assert_int_equal(tls_fingerprint_parse(lower, again, &error), 0);
	assert_memory_equal(digest, again, sizeof(digest));
	assert_int_equal(tls_fingerprint_parse(bare, again, &error), 0);
	assert_memory_equal(digest, again, sizeof(digest));

	/* Too short, too long, not hex, a stray colon. */
	assert_int_equal(tls_fingerprint_parse("AB:CD", again, &error), -1);
	assert_non_null(strstr(error, "fingerprint"));
	bare[n - 1] = 'g';
	assert_int_equal(tls_fingerprint_parse(bare, again, &error), -1);
	assert_int_equal(tls_fingerprint_parse("", again, &error), -1);
	assert_int_equal(tls_fingerprint_parse(":AB", again, &error), -1);
	snprintf(lower, sizeof(lower), "%s", ours);
	lower[TLS_FINGERPRINT_TEXT_SIZE - 2] = '\0';
	assert_int_equal(tls_fingerprint_parse(lower, again, &error), -1);
	assert_int_equal(tls_fingerprint_file("/nonexistent", ours, &error),
	    -1);
	assert_non_null(strstr(error, "/nonexistent"));
}

static void
test_server_load_and_reload(void **state)
{
	char path2[400], cert2[512], key2[512];
	char fp2[TLS_FINGERPRINT_TEXT_SIZE];
	char first[TLS_FINGERPRINT_TEXT_SIZE];
	struct tls_server *server;
	const char *error = NULL;
	SSL_CTX *ctx;
	SSL *old_ssl;
	char *pem;
	size_t len;

	(void)state;
	snprintf(path2, sizeof(path2), "%s/reload", dir);
	assert_int_equal(mkdir(path2, 0700), 0);
	snprintf(cert2, sizeof(cert2), "%s/server.crt", path2);
	snprintf(key2, sizeof(key2), "%s/server.key", path2);
	assert_int_equal(read_file(cert_file, 1 << 20, &pem, &len), 0);
	assert_int_equal(write_file_atomic(cert2, pem, len, 0644), 0);
	free(pem);
	assert_int_equal(read_file(key_file, 1 << 20, &pem, &len), 0);
	assert_int_equal(write_file_atomic(key2, pem, len, 0600), 0);
	free(pem);

	assert_non_null(server = tls_server_new(cert2, key2, &error));
	assert_string_equal(tls_server_cert_file(server), cert2);
	assert_int_equal(tls_fingerprint_file(cert_file, first, &error), 0);
	assert_string_equal(tls_server_fingerprint(server), first);
	ctx = tls_server_ctx(server);
	assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
	assert_true(SSL_CTX_get_options(ctx) & SSL_OP_NO_COMPRESSION);
	assert_true(SSL_CTX_get_options(ctx) & SSL_OP_NO_RENEGOTIATION);
	assert_true(SSL_CTX_get_mode(ctx) & SSL_MODE_RELEASE_BUFFERS);
	/* A connection made now keeps its context across reloads. */
	assert_non_null(old_ssl = SSL_new(ctx));

	/* A broken certificate file: the old context stays. */
	assert_int_equal(write_file_atomic(cert2, "garbage\n", 8, 0644), 0);
	assert_int_equal(tls_server_reload(server, NULL, NULL, &error), -1);
	assert_non_null(strstr(error, cert2));
	assert_ptr_equal(tls_server_ctx(server), ctx);
	assert_string_equal(tls_server_fingerprint(server), first);

	/* A certificate with another key than key_file: the old stays. */
	snprintf(path2 + strlen(path2), sizeof(path2) - strlen(path2),
	    "/other.key");
	assert_int_equal(tls_self_signed_write(cert2, path2, "new.example",
	    &error), 0);
	assert_int_equal(tls_server_reload(server, NULL, NULL, &error), -1);
	assert_non_null(strstr(error, "mismatch"));
	assert_string_equal(tls_server_fingerprint(server), first);

	/* Both files new: the new context and fingerprint. */
	assert_int_equal(tls_self_signed_write(cert2, key2, "new.example",
	    &error), 0);
	assert_int_equal(tls_server_reload(server, NULL, NULL, &error), 0);
	assert_int_equal(tls_fingerprint_file(cert2, fp2, &error), 0);
	assert_string_equal(tls_server_fingerprint(server), fp2);
	assert_string_not_equal(fp2, first);
	assert_ptr_not_equal(tls_server_ctx(server), ctx);
	assert_ptr_equal(SSL_get_SSL_CTX(old_ssl), ctx);
	SSL_free(old_ssl);

	/* Other files: a pair that does not match keeps the files it had,
	 * a good pair becomes the files read from then on. */
	assert_int_equal(tls_server_reload(server, cert2, path2, &error), -1);
	assert_string_equal(tls_server_cert_file(server), cert2);
	assert_string_equal(tls_server_fingerprint(server), fp2);
	assert_int_equal(tls_server_reload(server, cert_file, key_file,
	    &error), 0);
	assert_string_equal(tls_server_cert_file(server), cert_file);
	assert_string_equal(tls_server_fingerprint(server), first);
	assert_int_equal(tls_server_reload(server, NULL, NULL, &error), 0);
	assert_string_equal(tls_server_cert_file(server), cert_file);

	tls_server_free(&server);
	assert_null(server);
	assert_null(tls_server_new("/nonexistent.crt", key2, &error));
	assert_non_null(strstr(error, "/nonexistent.crt"));
	/* A key that cannot be written leaves no certificate either. */
	assert_int_equal(tls_self_signed_write(cert2, "/nonexistent/k", "x",
	    &error), -1);
	assert_non_null(strstr(error, "/nonexistent/k"));
}

/* Runs a handshake between a server and a client connection over a
 * non-blocking socket pair. Returns whether the client's side
 * completed. */
static bool
handshake(SSL *server, SSL *client)
{
	bool server_done = false, client_done = false;
	bool server_failed = false, client_failed = false;
	int fds[2], i, r;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	fcntl(fds[1], F_SETFL, O_NONBLOCK);
	SSL_set_fd(server, fds[0]);
	SSL_set_fd(client, fds[1]);
	SSL_set_accept_state(server);
	SSL_set_connect_state(client);
	for (i = 0; i < 1000 && !(server_done && client_done) &&
	    !server_failed && !client_failed; i++) {
		if (!client_done) {
			r = SSL_do_handshake(client);
			client_done = r == 1;
			client_failed = r <= 0 &&
			    SSL_get_error(client, r) != SSL_ERROR_WANT_READ;
		}
		if (!server_done && !client_failed) {
			r = SSL_do_handshake(server);
			server_done = r == 1;
			server_failed = r <= 0 &&
			    SSL_get_error(server, r) != SSL_ERROR_WANT_READ;
		}
	}
	close(fds[0]);
	close(fds[1]);
	return client_done && !client_failed;
}

/* Connects a client made with ca_file/pin to our server as host. */
static const char *
try_client(struct tls_server *server, const char *ca_file, const char *pin,
    const char *host, bool *ok_r)
{
	struct tls_client *client;
	const char *error = NULL;
	SSL *s, *c;

	assert_non_null(client = tls_client_new(ca_file, pin, &error));
	assert_non_null(c = tls_client_ssl_new(client, host, &error));
	assert_non_null(s = SSL_new(tls_server_ctx(server)));
	*ok_r = handshake(s, c);
	error = tls_client_verify_error(c);
	SSL_free(s);
	SSL_free(c);
	tls_client_free(&client);
	assert_null(client);
	return error;
}

static void
test_client_verification(void **state)
{
	char fp[TLS_FINGERPRINT_TEXT_SIZE], wrong[TLS_FINGERPRINT_TEXT_SIZE];
	struct tls_server *server;
	const char *error = NULL;
	bool ok = false;

	(void)state;
	assert_non_null(server = tls_server_new(cert_file, key_file, &error));
	assert_int_equal(tls_fingerprint_file(cert_file, fp, &error), 0);

	/* Trusted by its file, under each name it carries. */
	assert_null(try_client(server, cert_file, NULL, "mail.example.org",
	    &ok));
	assert_true(ok);
	assert_null(try_client(server, cert_file, NULL, "localhost", &ok));
	assert_true(ok);
	assert_null(try_client(server, cert_file, NULL, "127.0.0.1", &ok));
	assert_true(ok);
	assert_null(try_client(server, cert_file, NULL, "::1", &ok));
	assert_true(ok);

	/* Another name, another address, no CA. */
	error = try_client(server, cert_file, NULL, "evil.example.org", &ok);
	assert_false(ok);
	assert_string_equal(error,
	    "certificate does not match host name evil.example.org");
	error = try_client(server, cert_file, NULL, "192.0.2.1", &ok);
	assert_false(ok);
	assert_string_equal(error,
	    "certificate does not match address 192.0.2.1");
	error = try_client(server, NULL, NULL, "localhost", &ok);
	assert_false(ok);
	assert_string_equal(error, "certificate not trusted: self-signed");

	/* Pinned: any name, but only that certificate. */
	assert_null(try_client(server, NULL, fp, "evil.example.org", &ok));
	assert_true(ok);
	snprintf(wrong, sizeof(wrong), "%s", fp);
	wrong[0] = wrong[0] == '0' ? '1' : '0';
	error = try_client(server, NULL, wrong, "localhost", &ok);
	assert_false(ok);
	assert_string_equal(error,
	    "certificate fingerprint does not match the pinned one");

	/* Bad arguments. */
	assert_null(tls_client_new("/nonexistent.pem", NULL, &error));
	assert_non_null(strstr(error, "/nonexistent.pem"));
	assert_null(tls_client_new(NULL, "12:34", &error));
	assert_non_null(strstr(error, "fingerprint"));
	tls_server_free(&server);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_self_signed_files),
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_server_load_and_reload),
		cmocka_unit_test(test_client_verification),
	};

	return cmocka_run_group_tests(tests, setup, test_tmpdir_remove);
}
