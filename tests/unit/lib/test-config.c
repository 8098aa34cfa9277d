/* Unit tests for lib/config.c: the embedded default, every key, and an
 * error naming FILE:LINE for each kind of mistake. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/config.h"
#include "lib/error.h"
#include "lib/xmalloc.h"

#include "../tmpdir-test.h"

static char conf_path[sizeof(test_tmpdir) + 32];

static int
setup(void **state)
{
	(void)state;
	return test_tmpdir_make(conf_path, sizeof(conf_path), "mailbell.conf");
}

static void
write_conf(const char *text)
{
	FILE *fp = fopen(conf_path, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static struct mb_config *
load_ok(const char *text)
{
	struct mb_config *cfg = NULL;
	const char *error = NULL;

	write_conf(text);
	if (config_load(conf_path, &cfg, &error) < 0)
		fail_msg("unexpected error: %s", error);
	assert_non_null(cfg);
	return cfg;
}

/* Loading text must fail with an error starting "<file>:<line>: " and
 * containing want. */
static void
load_fails(const char *text, unsigned line, const char *want)
{
	struct mb_config *cfg = NULL;
	const char *error = NULL;
	char prefix[256];

	write_conf(text);
	assert_int_equal(config_load(conf_path, &cfg, &error), -1);
	assert_null(cfg);
	assert_non_null(error);
	snprintf(prefix, sizeof(prefix), "%s:%u: ", conf_path, line);
	if (strncmp(error, prefix, strlen(prefix)) != 0 ||
	    strstr(error, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\" or \"%s\"", error, prefix,
		    want);
	assert_int_equal(error_code(error), ERROR_INVALID);
}

/* What is wrong with a text that must not load. */
enum fail_kind {
	FAIL_SIZE,	/* a bad [lmtp] max_message_size */
	FAIL_UNKNOWN,	/* an unknown section or key, or a bad duration or
			   number */
	FAIL_VALUE,	/* another bad value */
};

/* The texts that must not load: the line the error names, and a part of
 * the error. */
static const struct fail_case {
	enum fail_kind kind;
	const char *text;
	unsigned line;
	const char *want;
} fail_cases[] = {
	{ FAIL_SIZE, "[lmtp]\nmax_message_size = 2G\n", 2,
	    "[lmtp] max_message_size: not a size" },
	{ FAIL_SIZE, "[lmtp]\nmax_message_size = 0\n", 2,
	    "[lmtp] max_message_size:" },
	{ FAIL_SIZE, "[lmtp]\nmax_message_size = 10MB\n", 2,
	    "[lmtp] max_message_size:" },
	{ FAIL_SIZE, "[lmtp]\nmax_message_size = -1\n", 2,
	    "[lmtp] max_message_size:" },
	{ FAIL_UNKNOWN, "[server]\ndata_dir = /x\n\n[smtp]\nport = 25\n", 4,
	    "[smtp]: unknown section" },
	/* even an empty unknown section */
	{ FAIL_UNKNOWN, "[imap]\nport = 1\n[bogus]\n", 3,
	    "[bogus]: unknown section" },
	{ FAIL_UNKNOWN, "[imap]\nidle_keepalive = 30m\n", 2,
	    "[imap] idle_keepalive: not a duration" },
	{ FAIL_UNKNOWN, "[imap]\nidle_keepalive = 0\n", 2,
	    "[imap] idle_keepalive: not a duration" },
	{ FAIL_UNKNOWN, "[imap]\nmax_connections_per_user = 0\n", 2,
	    "[imap] max_connections_per_user: not a number" },
	{ FAIL_UNKNOWN, "[imap]\nmax_connections_per_ip = 20000\n", 2,
	    "[imap] max_connections_per_ip: not a number" },
	{ FAIL_UNKNOWN, "[imap]\nport = 1\nportt = 2\n", 3,
	    "[imap] portt: unknown key" },
	{ FAIL_UNKNOWN, "[notify]\nport = 1\n", 2,
	    "[notify] port: unknown key" },
	{ FAIL_UNKNOWN, "port = 1\n", 1,
	    "port: key outside any section" },
	{ FAIL_UNKNOWN, "[IMAP]\nport = 1\n", 1,
	    "[IMAP]: unknown section" },
	{ FAIL_VALUE, "[imap]\nport = 65536\n", 2,
	    "[imap] port: not a port" },
	{ FAIL_VALUE, "[imap]\nport = -1\n", 2,
	    "[imap] port: not a port" },
	{ FAIL_VALUE, "[admin]\nport = 80a\n", 2,
	    "[admin] port: not a port" },
	{ FAIL_VALUE, "[notify]\nudp_port =\n", 2,
	    "[notify] udp_port: not a port" },
	{ FAIL_VALUE, "[notify]\nenabled = maybe\n", 2,
	    "[notify] enabled: must be yes or no" },
	{ FAIL_VALUE, "[server]\ndata_dir =\n", 2,
	    "[server] data_dir: must not" },
	{ FAIL_VALUE, "[server]\nlisten = localhost\n", 2,
	    "[server] listen: not an IPv4 or IPv6 address" },
	{ FAIL_VALUE, "[server]\nlisten = 127.0.0.256\n", 2,
	    "[server] listen:" },
	{ FAIL_VALUE, "[server]\nlisten = , ,\n", 2,
	    "[server] listen: needs at least one" },
	{ FAIL_VALUE, "[server]\nlisten = 127.0.0.1 127.0.0.1\n", 2,
	    "[server] listen: address listed twice" },
	{ FAIL_VALUE, "[server]\nlisten = ::1 0:0:0:0:0:0:0:1\n", 2,
	    "[server] listen: address listed twice" },
	{ FAIL_VALUE, "[server]\nlisten = * 127.0.0.1\n", 2,
	    "[server] listen: \"*\"" },
	{ FAIL_VALUE, "[server]\ndomains = exa_mple.org\n", 2,
	    "[server] domains: not a valid domain" },
	{ FAIL_VALUE, "[server]\ndomains = -a.org\n", 2,
	    "[server] domains:" },
	{ FAIL_VALUE, "[server]\ndomains = a..org\n", 2,
	    "[server] domains:" },
	{ FAIL_VALUE, "[server]\ndomains = a.org A.ORG\n", 2,
	    "[server] domains: domain listed twice" },
	{ FAIL_VALUE, "[server]\nhostname = a/b\n", 2,
	    "[server] hostname: not a valid host name" },
	{ FAIL_VALUE, "[server]\nuser = 9lives\n", 2,
	    "[server] user: not a valid system user" },
	{ FAIL_VALUE, "[server]\nuser = a b\n", 2,
	    "[server] user:" },
	{ FAIL_VALUE, "[imap]\ntls_port = 70000\n", 2,
	    "[imap] tls_port: not a port" },
	{ FAIL_VALUE, "[imap]\nplaintext_auth = maybe\n", 2,
	    "[imap] plaintext_auth: must be loopback, yes or no" },
	{ FAIL_VALUE, "[imap]\nplaintext_auth = LOOPBACK\n", 2,
	    "[imap] plaintext_auth: must be" },
	{ FAIL_VALUE, "[tls]\ncert_file =\n", 2,
	    "[tls] cert_file: must not be empty" },
	{ FAIL_UNKNOWN, "[tls]\nca_file = /x\n", 2,
	    "[tls] ca_file: unknown key" },
	{ FAIL_VALUE, "[tls]\ncert_file = /x.crt\n", 2,
	    "[tls] cert_file: set without [tls] key_file (both or neither)" },
	{ FAIL_VALUE, "[server]\n[tls]\n\nkey_file = /x.key\n", 4,
	    "[tls] key_file: set without [tls] cert_file" },
};

/* load_fails() for each case of kind. */
static void
load_fails_each(enum fail_kind kind)
{
	size_t i;

	for (i = 0; i < sizeof(fail_cases) / sizeof(fail_cases[0]); i++) {
		if (fail_cases[i].kind == kind)
			load_fails(fail_cases[i].text, fail_cases[i].line,
			    fail_cases[i].want);
	}
}

static void
test_default(void **state)
{
	struct mb_config *cfg = NULL;
	const char *error = NULL;

	(void)state;
	assert_int_equal(config_load(NULL, &cfg, &error), 0);
	assert_null(cfg->file);
	assert_string_equal(cfg->data_dir, "./var");
	assert_int_equal(cfg->listen_count, 1);
	assert_string_equal(cfg->listen[0], "127.0.0.1");
	assert_int_equal(cfg->domain_count, 0);
	assert_non_null(cfg->hostname);
	assert_true(cfg->hostname[0] != '\0');
	assert_null(cfg->user);
	assert_int_equal(cfg->imap_port, CONFIG_DEFAULT_IMAP_PORT);
	assert_int_equal(cfg->imap_tls_port, CONFIG_DEFAULT_IMAPS_PORT);
	assert_int_equal(cfg->imap_tls_port, 1993);
	assert_int_equal(cfg->imap_plaintext_auth,
	    CONFIG_PLAINTEXT_AUTH_LOOPBACK);
	assert_null(cfg->tls_cert_file);
	assert_null(cfg->tls_key_file);
	assert_int_equal(cfg->lmtp_port, CONFIG_DEFAULT_LMTP_PORT);
	assert_int_equal(cfg->admin_port, CONFIG_DEFAULT_ADMIN_PORT);
	assert_int_equal(cfg->notify_udp_port, CONFIG_DEFAULT_NOTIFY_UDP_PORT);
	assert_true(cfg->notify_enabled);
	assert_int_equal(cfg->lmtp_max_message_size, LMTP_MESSAGE_SIZE_DEFAULT);
	config_free(&cfg);
	assert_null(cfg);
	config_free(&cfg);	/* harmless twice */
}

/* The default text is a valid file that yields the default. */
static void
test_default_text_roundtrip(void **state)
{
	struct mb_config *cfg;
	const char *text = config_default_text();

	(void)state;
	assert_non_null(strstr(text, "[notify]"));
	assert_non_null(strstr(text, "port = 1143\n"));
	assert_non_null(strstr(text, "udp_port = 4143\n"));
	assert_non_null(strstr(text, "tls_port = 1993\n"));
	assert_non_null(strstr(text, "plaintext_auth = loopback\n"));
	assert_non_null(strstr(text, "[tls]\n"));
	cfg = load_ok(text);
	assert_int_equal(cfg->imap_tls_port, 1993);
	assert_null(cfg->tls_cert_file);
	assert_string_equal(cfg->file, conf_path);
	assert_string_equal(cfg->data_dir, "./var");
	assert_int_equal(cfg->lmtp_port, 2424);
	assert_int_equal(cfg->admin_port, 8143);
	assert_int_equal(cfg->lmtp_max_message_size, LMTP_MESSAGE_SIZE_DEFAULT);
	assert_int_equal(cfg->imap_idle_keepalive,
	    IMAP_IDLE_KEEPALIVE_DEFAULT_SECS);
	assert_int_equal(cfg->imap_max_connections_per_user,
	    IMAP_CONNECTIONS_PER_USER_DEFAULT);
	assert_int_equal(cfg->imap_max_connections_per_ip,
	    IMAP_CONNECTIONS_PER_IP_DEFAULT);
	assert_int_equal(cfg->imap_login_timeout,
	    IMAP_LOGIN_TIMEOUT_DEFAULT_SECS);
	assert_int_equal(cfg->imap_max_prelogin,
	    IMAP_PRELOGIN_SESSIONS_DEFAULT);
	assert_int_equal(cfg->imap_max_prelogin_per_ip,
	    IMAP_PRELOGIN_PER_IP_DEFAULT);
	config_free(&cfg);
}

static void
test_every_key(void **state)
{
	struct mb_config *cfg;
	char *p;

	(void)state;
	cfg = load_ok(
	    "# a comment\n"
	    "; another\n"
	    "[server]\n"
	    "data_dir = /srv/mailbell\n"
	    "listen = 127.0.0.1, [::1] 192.0.2.7\n"
	    "domains = Example.ORG,example.net. mail.example.com\n"
	    "hostname = mx1.example.org\n"
	    "user = mailbell\n"
	    "[imap]\n"
	    "port = 143\n"
	    "tls_port = 993\n"
	    "plaintext_auth = no\n"
	    "idle_keepalive = 90s\n"
	    "max_connections_per_user = 5\n"
	    "max_connections_per_ip = 7\n"
	    "login_timeout = 2m\n"
	    "max_prelogin_connections = 300\n"
	    "max_prelogin_connections_per_ip = 9\n"
	    "[lmtp]\n"
	    "port = 0\n"
	    "max_message_size = 10M\n"
	    "[admin]\n"
	    "port = 0  ; picked at start\n"
	    "[notify]\n"
	    "enabled = no\n"
	    "udp_port = 5000\n"
	    "[tls]\n"
	    "cert_file = /etc/ssl/mail.pem\n"
	    "key_file = /etc/ssl/private/mail.key\n");
	assert_string_equal(cfg->data_dir, "/srv/mailbell");
	assert_int_equal(cfg->listen_count, 3);
	assert_string_equal(cfg->listen[0], "127.0.0.1");
	assert_string_equal(cfg->listen[1], "::1");
	assert_string_equal(cfg->listen[2], "192.0.2.7");
	assert_int_equal(cfg->domain_count, 3);
	assert_string_equal(cfg->domains[0], "example.org");
	assert_string_equal(cfg->domains[1], "example.net");
	assert_string_equal(cfg->domains[2], "mail.example.com");
	assert_string_equal(cfg->hostname, "mx1.example.org");
	assert_string_equal(cfg->user, "mailbell");
	assert_int_equal(cfg->imap_port, 143);
	assert_int_equal(cfg->imap_tls_port, 993);
	assert_int_equal(cfg->imap_plaintext_auth, CONFIG_PLAINTEXT_AUTH_NO);
	assert_string_equal(config_plaintext_auth_name(
	    cfg->imap_plaintext_auth), "no");
	assert_string_equal(cfg->tls_cert_file, "/etc/ssl/mail.pem");
	assert_string_equal(cfg->tls_key_file, "/etc/ssl/private/mail.key");
	assert_int_equal(cfg->imap_idle_keepalive, 90);
	assert_int_equal(cfg->imap_max_connections_per_user, 5);
	assert_int_equal(cfg->imap_max_connections_per_ip, 7);
	assert_int_equal(cfg->imap_login_timeout, 120);
	assert_int_equal(cfg->imap_max_prelogin, 300);
	assert_int_equal(cfg->imap_max_prelogin_per_ip, 9);
	assert_int_equal(cfg->lmtp_port, 0);
	assert_int_equal(cfg->admin_port, 0);
	assert_int_equal(cfg->lmtp_max_message_size, 10 * 1024 * 1024);
	assert_false(cfg->notify_enabled);
	assert_int_equal(cfg->notify_udp_port, 5000);
	p = config_passwd_path(cfg);
	assert_string_equal(p, "/srv/mailbell/passwd");
	free(p);
	p = config_mail_root(cfg);
	assert_string_equal(p, "/srv/mailbell/mail");
	free(p);
	config_free(&cfg);
}

/* A file overrides only what it names; the rest stays default. */
static void
test_partial_file(void **state)
{
	struct mb_config *cfg;

	(void)state;
	cfg = load_ok("[imap]\n  port = 10143\n\n[notify]\n\tenabled = YES\n");
	assert_int_equal(cfg->imap_port, 10143);
	assert_int_equal(cfg->lmtp_port, CONFIG_DEFAULT_LMTP_PORT);
	assert_string_equal(cfg->data_dir, "./var");
	assert_string_equal(cfg->listen[0], "127.0.0.1");
	assert_true(cfg->notify_enabled);
	config_free(&cfg);

	cfg = load_ok("");
	assert_int_equal(cfg->imap_port, CONFIG_DEFAULT_IMAP_PORT);
	config_free(&cfg);

	cfg = load_ok("[server]\nlisten = *\ndomains =\n");
	assert_int_equal(cfg->listen_count, 1);
	assert_string_equal(cfg->listen[0], "*");
	assert_int_equal(cfg->domain_count, 0);
	config_free(&cfg);
}

static void
test_sizes(void **state)
{
	struct mb_config *cfg;

	(void)state;
	cfg = load_ok("[lmtp]\nmax_message_size = 512K\n");
	assert_int_equal(cfg->lmtp_max_message_size, 512 * 1024);
	config_free(&cfg);
	cfg = load_ok("[lmtp]\nmax_message_size = 1G\n");
	assert_int_equal(cfg->lmtp_max_message_size, 1024ULL * 1024 * 1024);
	config_free(&cfg);
	cfg = load_ok("[lmtp]\nmax_message_size = 1000\n");
	assert_int_equal(cfg->lmtp_max_message_size, 1000);
	config_free(&cfg);
	load_fails_each(FAIL_SIZE);
}

static void
test_unknown(void **state)
{
	(void)state;
	load_fails_each(FAIL_UNKNOWN);
}

static void
test_duplicate(void **state)
{
	(void)state;
	load_fails("[imap]\nport = 1\n[lmtp]\nport = 2\n[imap]\nport = 3\n", 6,
	    "[imap] port: duplicate key (first set on line 2)");
	load_fails("[server]\nlisten = 127.0.0.1\nlisten = ::1\n", 3,
	    "[server] listen: duplicate key");
}

static void
test_bad_values(void **state)
{
	(void)state;
	load_fails_each(FAIL_VALUE);
}

static void
test_bounds(void **state)
{
	struct mb_config *cfg;
	char text[2048];
	size_t i, n;

	(void)state;
	/* exactly CONFIG_LISTEN_MAX addresses */
	n = (size_t)snprintf(text, sizeof(text), "[server]\nlisten =");
	for (i = 0; i < CONFIG_LISTEN_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, " 127.0.0.%zu",
		    i + 1);
	snprintf(text + n, sizeof(text) - n, "\n");
	cfg = load_ok(text);
	assert_int_equal(cfg->listen_count, CONFIG_LISTEN_MAX);
	config_free(&cfg);
	/* one more */
	snprintf(text + n, sizeof(text) - n, " 127.0.1.1\n");
	load_fails(text, 2, "[server] listen: too many addresses");

	n = (size_t)snprintf(text, sizeof(text), "[server]\ndomains =");
	for (i = 0; i < CONFIG_DOMAINS_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, " d%zu.org",
		    i);
	snprintf(text + n, sizeof(text) - n, "\n");
	cfg = load_ok(text);
	assert_int_equal(cfg->domain_count, CONFIG_DOMAINS_MAX);
	assert_string_equal(cfg->domains[CONFIG_DOMAINS_MAX - 1], "d63.org");
	config_free(&cfg);
	snprintf(text + n, sizeof(text) - n, ",x.org\n");
	load_fails(text, 2, "[server] domains: too many domains");
}

static void
test_syntax(void **state)
{
	struct mb_config *cfg;
	size_t n, line;
	char *text;

	(void)state;
	load_fails("[server]\ndata_dir /x\n", 2, "syntax error");
	load_fails("[imap]\nport = 1\n[server\n", 3, "syntax error");

	/* a line of CONFIG_LINE_MAX bytes is fine, one more is not */
	text = xmalloc(CONFIG_LINE_MAX + 64);
	n = (size_t)snprintf(text, CONFIG_LINE_MAX + 64,
	    "[server]\n\ndata_dir = /");
	line = strlen("data_dir = /");
	memset(text + n, 'x', CONFIG_LINE_MAX - line);
	strcpy(text + n + CONFIG_LINE_MAX - line, "\n");
	cfg = load_ok(text);
	assert_int_equal(strlen(cfg->data_dir), CONFIG_LINE_MAX - line + 1);
	config_free(&cfg);
	memset(text + n, 'x', CONFIG_LINE_MAX - line + 1);
	strcpy(text + n + CONFIG_LINE_MAX - line + 1, "\n");
	load_fails(text, 3, "line too long");
	/* also without a final newline */
	text[strlen(text) - 1] = '\0';
	load_fails(text, 3, "line too long");
	free(text);
}

static void
test_port_conflict(void **state)
{
	struct mb_config *cfg;

	(void)state;
	load_fails("[imap]\nport = 2000\n[lmtp]\nport = 2000\n", 4,
	    "[lmtp] port: port 2000 is also [imap] port");
	/* a file port equal to another service's default */
	load_fails("[admin]\nport = 1143\n", 2,
	    "[admin] port: port 1143 is also [imap] port");
	load_fails("[imap]\ntls_port = 2424\n", 2,
	    "[imap] tls_port: port 2424 is also [lmtp] port");
	load_fails("[imap]\nport = 1993\n", 2,
	    "[imap] port: port 1993 is also [imap] tls_port");
	cfg = load_ok("[imap]\nplaintext_auth = yes\ntls_port = 0\n");
	assert_int_equal(cfg->imap_plaintext_auth, CONFIG_PLAINTEXT_AUTH_YES);
	assert_int_equal(cfg->imap_tls_port, 0);
	config_free(&cfg);
	/* 0 twice is fine: each picks its own */
	cfg = load_ok("[imap]\nport = 0\n[lmtp]\nport = 0\n[admin]\nport=0\n");
	config_free(&cfg);
	/* UDP may share a number with TCP */
	cfg = load_ok("[notify]\nudp_port = 1143\n");
	config_free(&cfg);
}

static void
test_admin_listen(void **state)
{
	struct mb_config *cfg;
	const char *const *addrs;

	(void)state;
	/* not set: loopback, whatever [server] listen says */
	cfg = load_ok("[server]\nlisten = 192.0.2.1\n");
	assert_int_equal(config_admin_listen(cfg, &addrs), 2);
	assert_string_equal(addrs[0], "127.0.0.1");
	assert_string_equal(addrs[1], "::1");
	config_free(&cfg);
	cfg = load_ok("[admin]\nlisten = 127.0.0.2, ::1\n");
	assert_int_equal(config_admin_listen(cfg, &addrs), 2);
	assert_string_equal(addrs[0], "127.0.0.2");
	assert_null(cfg->admin_token_file);
	config_free(&cfg);
	/* off loopback only with a token */
	load_fails("[admin]\nlisten = 192.0.2.1\n", 2,
	    "[admin] listen: 192.0.2.1 is not a loopback address: set "
	    "[admin] token_file too");
	load_fails("[admin]\nlisten = *\n", 2,
	    "[admin] listen: * is not a loopback address");
	cfg = load_ok("[admin]\nlisten = 192.0.2.1\n"
	    "token_file = /etc/mailbell/admin.token\n");
	assert_int_equal(config_admin_listen(cfg, &addrs), 1);
	assert_string_equal(cfg->admin_token_file, "/etc/mailbell/admin.token");
	config_free(&cfg);
}

static void
test_addr_kinds(void **state)
{
	(void)state;
	assert_true(config_addr_is_loopback("127.0.0.1"));
	assert_true(config_addr_is_loopback("127.8.9.10"));
	assert_true(config_addr_is_loopback("::1"));
	assert_false(config_addr_is_loopback("128.0.0.1"));
	assert_false(config_addr_is_loopback("::2"));
	assert_false(config_addr_is_loopback("*"));
	assert_false(config_addr_is_loopback("0.0.0.0"));
	assert_true(config_addr_is_wildcard("*"));
	assert_true(config_addr_is_wildcard("0.0.0.0"));
	assert_true(config_addr_is_wildcard("::"));
	assert_true(config_addr_is_wildcard("[::]"));
	assert_false(config_addr_is_wildcard("127.0.0.1"));
	assert_false(config_addr_is_wildcard("::1"));
}

/* [cluster]: all or nothing of node, nats, host and secret_file. */
static void
test_cluster(void **state)
{
	struct mb_config *cfg;

	(void)state;
	cfg = load_ok("[server]\n");
	assert_null(cfg->cluster_node);
	assert_int_equal(cfg->cluster_replicas, 1);
	config_free(&cfg);

	cfg = load_ok(
	    "[cluster]\n"
	    "node = mx-2_b\n"
	    "nats = nats://10.0.0.1:4222, tls://[::1]:4223 n3.example:4222\n"
	    "host = 10.0.0.2\n"
	    "secret_file = /etc/mailbell/cluster.secret\n"
	    "ca_file = /etc/mailbell/nodes.pem\n"
	    "replicas = 3\n");
	assert_string_equal(cfg->cluster_node, "mx-2_b");
	assert_int_equal(cfg->cluster_nats_count, 3);
	assert_string_equal(cfg->cluster_nats[1], "tls://[::1]:4223");
	assert_string_equal(cfg->cluster_nats[2], "n3.example:4222");
	assert_string_equal(cfg->cluster_host, "10.0.0.2");
	assert_string_equal(cfg->cluster_secret_file,
	    "/etc/mailbell/cluster.secret");
	assert_string_equal(cfg->cluster_ca_file, "/etc/mailbell/nodes.pem");
	assert_int_equal(cfg->cluster_replicas, 3);
	config_free(&cfg);

	load_fails("[cluster]\nnode = a\nnats = nats://h:1\nhost = h\n", 4,
	    "[cluster] secret_file: not set");
	load_fails("[cluster]\nca_file = /x\n", 2, "[cluster] node: not set");
	load_fails("[cluster]\nnode = A\n", 2, "not a node name");
	load_fails("[cluster]\nnode = a.b\n", 2, "not a node name");
	load_fails("[cluster]\nnats = http://h:1\n", 2, "not a NATS URL");
	load_fails("[cluster]\nnats = nats://h\n", 2, "not a NATS URL");
	load_fails("[cluster]\nhost = -x\n", 2, "not a host name");
	load_fails("[cluster]\nreplicas = 7\n", 2, "between 1 and 5");
	assert_true(config_node_name_valid("a"));
	assert_false(config_node_name_valid(""));
	assert_false(config_node_name_valid(
	    "abcdefghijklmnopqrstuvwxyz0123456"));
}

static void
test_unreadable(void **state)
{
	struct mb_config *cfg = NULL;
	const char *error = NULL;
	char path[256], want[300];

	(void)state;
	snprintf(path, sizeof(path), "%s/missing.conf", test_tmpdir);
	assert_int_equal(config_load(path, &cfg, &error), -1);
	assert_null(cfg);
	snprintf(want, sizeof(want), "%s: cannot read: ", path);
	assert_memory_equal(error, want, strlen(want));

	/* a directory opens but cannot be read */
	assert_int_equal(config_load(test_tmpdir, &cfg, &error), -1);
	assert_null(cfg);
	snprintf(want, sizeof(want), "%s:1: read error", test_tmpdir);
	assert_memory_equal(error, want, strlen(want));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_default_text_roundtrip),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_partial_file),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_duplicate),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_port_conflict),
		cmocka_unit_test(test_admin_listen),
		cmocka_unit_test(test_cluster),
		cmocka_unit_test(test_addr_kinds),
		cmocka_unit_test(test_unreadable),
	};

	return cmocka_run_group_tests(tests, setup, test_tmpdir_remove);
}
