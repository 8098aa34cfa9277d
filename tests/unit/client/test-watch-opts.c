/* Unit tests for the connection options of `mailbell watch` and
 * `mailbell doctor` (src/client/watch-opts.c): the TLS mode and the
 * port it implies, --ca and --tls-fingerprint and the combinations
 * that are refused, and the server forms. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <getopt.h>
#include <unistd.h>
#include <cmocka.h>

#include "client/watch.h"

#define FP_COLONS "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:" \
	"AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"

/* Any readable PEM file of CA certificates. */
#define CA_FILE "/etc/ssl/certs/ca-certificates.crt"

static const struct client_cmd test_cmd = {
	"watch", "watch ...", "test", "", NULL,
};

/* main.c's, which the test does not link. */
void
client_cmd_usage(const struct client_cmd *cmd, FILE *fp, int full)
{
	(void)cmd;
	(void)fp;
	(void)full;
}

static char pwfile[] = "/tmp/test-watch-opts.XXXXXX";

static int
setup(void **state)
{
	int fd = mkstemp(pwfile);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "pw\n", 3), 3);
	close(fd);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(pwfile);
	return 0;
}

/* Parse "watch --server SERVER --user u --password-file F" plus extra
 * (NULL-ended); returns what watch_opts_parse() returns. */
static int
parse(struct watch_opts *o, const char *server, ...)
{
	char *argv[32];
	const char *arg;
	va_list ap;
	int argc = 0, r;

	argv[argc++] = (char *)"watch";
	argv[argc++] = (char *)"--server";
	argv[argc++] = (char *)server;
	argv[argc++] = (char *)"--user";
	argv[argc++] = (char *)"u";
	argv[argc++] = (char *)"--password-file";
	argv[argc++] = pwfile;
	va_start(ap, server);
	while ((arg = va_arg(ap, const char *)) != NULL && argc < 31)
		argv[argc++] = (char *)arg;
	va_end(ap);
	argv[argc] = NULL;
	optind = 0;
	opterr = 0;
	r = watch_opts_parse(&test_cmd, true, argc, argv, o);
	return r;
}

static void
test_default_is_starttls_on_the_imap_port(void **state)
{
	struct watch_opts o;

	(void)state;
	assert_int_equal(parse(&o, "mail.example.org", NULL), -1);
	assert_int_equal(o.tls_mode, CLIENT_TLS_STARTTLS);
	assert_string_equal(o.host, "mail.example.org");
	assert_string_equal(o.port, WATCH_IMAP_PORT_DEFAULT);
	assert_null(o.ca_file);
	assert_null(o.fingerprint);
	assert_string_equal(o.password, "pw");
	watch_opts_free(&o);
}

static void
test_imaps_defaults_to_the_imaps_port(void **state)
{
	struct watch_opts o;

	(void)state;
	assert_int_equal(parse(&o, "[::1]", "--tls", "imaps", NULL), -1);
	assert_int_equal(o.tls_mode, CLIENT_TLS_IMAPS);
	assert_string_equal(o.host, "::1");
	assert_string_equal(o.port, WATCH_IMAPS_PORT_DEFAULT);
	assert_string_equal(o.server_text, "[::1]:1993");
	watch_opts_free(&o);

	/* A port given wins, whatever the mode. */
	assert_int_equal(parse(&o, "h:10993", "--tls", "IMAPS", NULL), -1);
	assert_string_equal(o.port, "10993");
	watch_opts_free(&o);
	assert_int_equal(parse(&o, "h", "--tls", "none", NULL), -1);
	assert_int_equal(o.tls_mode, CLIENT_TLS_NONE);
	assert_string_equal(o.port, WATCH_IMAP_PORT_DEFAULT);
	watch_opts_free(&o);
}

static void
test_ca_and_fingerprint(void **state)
{
	struct watch_opts o;

	(void)state;
	assert_int_equal(parse(&o, "h", "--ca", CA_FILE, NULL), -1);
	assert_string_equal(o.ca_file, CA_FILE);
	assert_non_null(o.tls.client);
	assert_false(o.tls.pinned);
	watch_opts_free(&o);
	/* Unreadable, as an unreadable password file. */
	assert_int_equal(parse(&o, "h", "--ca", "/nonexistent/ca.crt", NULL),
	    EX_NOINPUT);
	assert_int_equal(parse(&o, "h", "--tls-fingerprint", FP_COLONS,
	    "--tls", "imaps", NULL), -1);
	assert_string_equal(o.fingerprint, FP_COLONS);
	assert_true(o.tls.pinned);
	assert_int_equal(o.tls.pin[0], 0xab);
	watch_opts_free(&o);
	assert_int_equal(parse(&o, "h", "--tls", "none", NULL), -1);
	assert_null(o.tls.client);
	watch_opts_free(&o);
}

static void
test_refused_combinations(void **state)
{
	struct watch_opts o;

	(void)state;
	assert_int_equal(parse(&o, "h", "--tls", "ssl", NULL), EX_USAGE);
	assert_int_equal(parse(&o, "h", "--tls", "", NULL), EX_USAGE);
	assert_int_equal(parse(&o, "h", "--tls-fingerprint", "AB:CD", NULL),
	    EX_USAGE);
	/* A pin replaces the CAs: both at once is a mistake. */
	assert_int_equal(parse(&o, "h", "--ca", "f", "--tls-fingerprint",
	    FP_COLONS, NULL), EX_USAGE);
	/* Nothing is verified in clear text. */
	assert_int_equal(parse(&o, "h", "--tls", "none", "--ca", "f", NULL),
	    EX_USAGE);
	assert_int_equal(parse(&o, "h", "--tls", "none", "--tls-fingerprint",
	    FP_COLONS, NULL), EX_USAGE);
	assert_int_equal(parse(&o, "h:0", NULL), EX_USAGE);
	assert_int_equal(parse(&o, "h:", NULL), EX_USAGE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_is_starttls_on_the_imap_port),
		cmocka_unit_test(test_imaps_defaults_to_the_imaps_port),
		cmocka_unit_test(test_ca_and_fingerprint),
		cmocka_unit_test(test_refused_combinations),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
