/*
 * Loading mailbell's INI configuration with inih. The embedded default is
 * itself INI text parsed by the same code, so a file only overrides what
 * it names and the default can never drift from what the parser accepts.
 * config-parse.c runs inih; config-keys.c reads each key's value.
 */
#include "lib/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "lib/config-private.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/limits.h"
#include "lib/xmalloc.h"

/* The embedded default's size limit is written as "<n>M" below. */
_Static_assert(LMTP_MESSAGE_SIZE_DEFAULT % (1024 * 1024) == 0,
    "default message size must be whole MiB");
_Static_assert(NOTIFY_LEASE_DEFAULT_SECS % (24 * 3600) == 0,
    "default lease must be whole days");

const char *
config_default_text(void)
{
	static char text[2048];

	if (text[0] == '\0') {
		int n = snprintf(text, sizeof(text),
		    "# mailbell's embedded default configuration\n"
		    "[server]\n"
		    "data_dir = ./var\n"
		    "listen = 127.0.0.1\n"
		    "log_level = info\n"
		    "\n"
		    "[imap]\n"
		    "port = %u\n"
		    "tls_port = %u\n"
		    "plaintext_auth = loopback\n"
		    "idle_keepalive = %um\n"
		    "max_connections_per_user = %u\n"
		    "max_connections_per_ip = %u\n"
		    "login_timeout = %us\n"
		    "max_prelogin_connections = %u\n"
		    "max_prelogin_connections_per_ip = %u\n"
		    "\n"
		    "[lmtp]\n"
		    "port = %u\n"
		    "max_message_size = %lluM\n"
		    "\n"
		    "[admin]\n"
		    "port = %u\n"
		    "\n"
		    "[notify]\n"
		    "enabled = yes\n"
		    "udp_port = %u\n"
		    "keepalive = %us\n"
		    "lease = %ud\n"
		    "max_registrations_per_user = %u\n"
		    "max_registrations = %u\n"
		    "\n"
		    "[tls]\n"
		    "# cert_file, key_file: unset, so <data_dir>/tls/"
		    "mailbell.crt and .key,\n"
		    "# a self-signed certificate made at first start\n"
		    "\n"
		    "[cluster]\n"
		    "# node, nats, host, secret_file: unset, so one machine\n"
		    "# and no NATS\n"
		    "replicas = 1\n",
		    CONFIG_DEFAULT_IMAP_PORT, CONFIG_DEFAULT_IMAPS_PORT,
		    IMAP_IDLE_KEEPALIVE_DEFAULT_SECS / 60,
		    IMAP_CONNECTIONS_PER_USER_DEFAULT,
		    IMAP_CONNECTIONS_PER_IP_DEFAULT,
		    IMAP_LOGIN_TIMEOUT_DEFAULT_SECS,
		    IMAP_PRELOGIN_SESSIONS_DEFAULT,
		    IMAP_PRELOGIN_PER_IP_DEFAULT,
		    CONFIG_DEFAULT_LMTP_PORT,
		    (unsigned long long)LMTP_MESSAGE_SIZE_DEFAULT /
		    (1024 * 1024),
		    CONFIG_DEFAULT_ADMIN_PORT, CONFIG_DEFAULT_NOTIFY_UDP_PORT,
		    NOTIFY_KEEPALIVE_DEFAULT_SECS,
		    NOTIFY_LEASE_DEFAULT_SECS / (24 * 3600),
		    NOTIFY_REGISTRATIONS_PER_USER_DEFAULT,
		    NOTIFY_REGISTRATIONS_DEFAULT);
		if (n < 0 || (size_t)n >= sizeof(text))
			abort();
	}
	return text;
}

int
config_load(const char *path, struct mb_config **cfg_r, const char **error_r)
{
	struct config_parse *p;
	struct mb_config *cfg;
	char host[256];
	int ret = -1;

	cfg = xcalloc(1, sizeof(*cfg));
	p = xcalloc(1, sizeof(*p));

	/* the default first, then the file on top of it */
	p->cfg = cfg;
	p->name = "(default)";
	p->str = config_default_text();
	if (config_parse_run(p) < 0) {
		*error_r = error_code_fmt(ERROR_INVALID, "%s", p->error);
		goto out;
	}
	if (path != NULL) {
		memset(p, 0, sizeof(*p));
		p->cfg = cfg;
		p->name = path;
		cfg->file = xstrdup(path);
		if ((p->fp = fopen(path, "re")) == NULL) {
			*error_r = error_fmt("%s: cannot read: %s", path,
			    strerror(errno));
			goto out;
		}
		ret = config_parse_run(p);
		fclose(p->fp);
		if (ret < 0) {
			*error_r = error_code_fmt(ERROR_INVALID, "%s",
			    p->error);
			goto out;
		}
		ret = -1;
	}
	if (cfg->hostname == NULL) {
		if (gethostname(host, sizeof(host)) < 0 ||
		    memchr(host, '\0', sizeof(host)) == NULL || host[0] == '\0')
			strcpy(host, "localhost");
		cfg->hostname = xstrdup(host);
	}
	*cfg_r = cfg;
	cfg = NULL;
	ret = 0;
out:
	free(p);
	config_free(&cfg);
	return ret;
}

void
config_free(struct mb_config **cfgp)
{
	struct mb_config *cfg = *cfgp;
	size_t i;

	if (cfg == NULL)
		return;
	*cfgp = NULL;
	free(cfg->file);
	free(cfg->data_dir);
	for (i = 0; i < cfg->listen_count; i++)
		free(cfg->listen[i]);
	for (i = 0; i < cfg->domain_count; i++)
		free(cfg->domains[i]);
	for (i = 0; i < cfg->admin_listen_count; i++)
		free(cfg->admin_listen[i]);
	free(cfg->admin_token_file);
	free(cfg->hostname);
	free(cfg->user);
	free(cfg->tls_cert_file);
	free(cfg->tls_key_file);
	free(cfg->cluster_node);
	for (i = 0; i < cfg->cluster_nats_count; i++)
		free(cfg->cluster_nats[i]);
	free(cfg->cluster_host);
	free(cfg->cluster_secret_file);
	free(cfg->cluster_ca_file);
	free(cfg);
}

size_t
config_admin_listen(const struct mb_config *cfg, const char *const **addrs_r)
{
	static const char *const loopback[] = { "127.0.0.1", "::1" };

	if (cfg->admin_listen_count == 0) {
		*addrs_r = loopback;
		return 2;
	}
	*addrs_r = (const char *const *)cfg->admin_listen;
	return cfg->admin_listen_count;
}

bool
config_addr_is_loopback(const char *addr)
{
	unsigned char bin[sizeof(struct in6_addr)];

	if (inet_pton(AF_INET, addr, bin) == 1)
		return bin[0] == 127;
	return inet_pton(AF_INET6, addr, bin) == 1 &&
	    memcmp(bin, &in6addr_loopback, sizeof(in6addr_loopback)) == 0;
}

bool
config_addr_is_wildcard(const char *addr)
{
	return strcmp(addr, "*") == 0 || strcmp(addr, "0.0.0.0") == 0 ||
	    strcmp(addr, "::") == 0 || strcmp(addr, "[::]") == 0;
}

char *
config_passwd_path(const struct mb_config *cfg)
{
	return xasprintf("%s/passwd", cfg->data_dir);
}

const char *
config_plaintext_auth_name(enum config_plaintext_auth value)
{
	switch (value) {
	case CONFIG_PLAINTEXT_AUTH_YES:
		return "yes";
	case CONFIG_PLAINTEXT_AUTH_NO:
		return "no";
	case CONFIG_PLAINTEXT_AUTH_LOOPBACK:
		break;
	}
	return "loopback";
}

const char *
config_log_level_name(enum config_log_level value)
{
	switch (value) {
	case CONFIG_LOG_LEVEL_DEBUG:
		return "debug";
	case CONFIG_LOG_LEVEL_INFO:
		break;
	}
	return "info";
}

char *
config_mail_root(const struct mb_config *cfg)
{
	return xasprintf("%s/mail", cfg->data_dir);
}

int
config_read_token(const char *path, char **token_r, const char **error_r)
{
	struct stat st;
	char *data;
	size_t len, n;

	if (stat(path, &st) < 0 ||
	    read_file(path, ADMIN_TOKEN_MAX + 64, &data, &len) < 0) {
		*error_r = error_fmt("%s: cannot read: %s", path,
		    strerror(errno));
		return -1;
	}
	if (st.st_mode & S_IROTH) {
		OPENSSL_cleanse(data, len);
		free(data);
		*error_r = error_fmt("%s: readable by everyone (chmod o-r)",
		    path);
		return -1;
	}
	while (len > 0 && strchr(" \t\r\n", data[len - 1]) != NULL)
		data[--len] = '\0';
	/* token68: letters, digits, -._~+/ then any '=' */
	n = strspn(data, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-._~+/");
	n += strspn(data + n, "=");
	if (n != len || len < ADMIN_TOKEN_MIN || len > ADMIN_TOKEN_MAX) {
		OPENSSL_cleanse(data, len);
		free(data);
		*error_r = error_fmt("%s: not a token (one line of %d to %d "
		    "letters, digits or -._~+/=)", path, ADMIN_TOKEN_MIN,
		    ADMIN_TOKEN_MAX);
		return -1;
	}
	*token_r = data;
	return 0;
}
