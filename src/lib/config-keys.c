/*
 * The keys of mailbell's configuration file and how each value is read:
 * one table names every key, its section and either the function that
 * checks and stores its value or, for a number, its field and bounds.
 */
#include "lib/config-private.h"

#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/strnum.h"
#include "lib/xmalloc.h"

#define MB_STR_(x) #x
#define MB_STR(x) MB_STR_(x)

/* Split value, a comma and/or space separated list, in a copy made in
 * copy; returns the count of non-empty items stored in items_r, or -1
 * with *reason_r set if value is too long or has more than max items
 * (too_many then). */
static int
split_list(const char *value, char copy[CONFIG_LINE_MAX + 1],
    char **items_r, size_t max, const char *too_many, const char **reason_r)
{
	size_t n = 0;
	char *tok, *save = NULL;

	if (strlen(value) > CONFIG_LINE_MAX) {
		*reason_r = "value too long";
		return -1;
	}
	strcpy(copy, value);
	for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save)) {
		if (n == max) {
			*reason_r = too_many;
			return -1;
		}
		items_r[n++] = tok;
	}
	return (int)n;
}

/* Replace the list of count strings in list with copies of the n items. */
static void
set_list(char **list, size_t *count, char *const *items, size_t n)
{
	size_t i;

	for (i = 0; i < *count; i++) {
		free(list[i]);
		list[i] = NULL;
	}
	for (i = 0; i < n; i++)
		list[i] = xstrdup(items[i]);
	*count = n;
}

/* A DNS name: dot-separated labels of letters, digits and '-', each 1..63
 * bytes and not starting or ending with '-' (RFC 1123 2.1). */
static bool
dns_name_valid(const char *s)
{
	size_t len = strlen(s), label = 0, i;

	if (len == 0 || len > DOMAIN_MAX)
		return false;
	for (i = 0; i <= len; i++) {
		char c = s[i];

		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)c) && c != '-')
			return false;
		if (c == '-' && label == 0)
			return false;
		label++;
	}
	return true;
}

static int
parse_string(char **dst, const char *value, const char **reason_r)
{
	if (*value == '\0') {
		*reason_r = "must not be empty";
		return -1;
	}
	free(*dst);
	*dst = xstrdup(value);
	return 0;
}

static int
parse_data_dir(struct config_parse *p, const char *value,
    const char **reason_r)
{
	if (strlen(value) >= PATH_MAX - 64) {
		*reason_r = "path too long";
		return -1;
	}
	return parse_string(&p->cfg->data_dir, value, reason_r);
}

/* A list of listen addresses, or "*" alone, into list and *count_r. */
static int
parse_addrs(const char *value, char **list, size_t *count_r,
    const char **reason_r)
{
	char copy[CONFIG_LINE_MAX + 1];
	char *items[CONFIG_LISTEN_MAX];
	char addrs[CONFIG_LISTEN_MAX][INET6_ADDRSTRLEN];
	unsigned char bin[sizeof(struct in6_addr)];
	size_t i, j, len;
	bool any = false;
	int n;

	if ((n = split_list(value, copy, items, CONFIG_LISTEN_MAX,
	    "too many addresses (at most " MB_STR(CONFIG_LISTEN_MAX) ")",
	    reason_r)) < 0)
		return -1;
	if (n == 0) {
		*reason_r = "needs at least one address";
		return -1;
	}
	for (i = 0; i < (size_t)n; i++) {
		char *a = items[i];

		if (strcmp(a, "*") == 0) {
			any = true;
			strcpy(addrs[i], "*");
			continue;
		}
		/* accept [::1] as written in URLs */
		len = strlen(a);
		if (a[0] == '[' && len > 2 && a[len - 1] == ']') {
			a[len - 1] = '\0';
			a++;
		}
		if (inet_pton(AF_INET, a, bin) == 1)
			inet_ntop(AF_INET, bin, addrs[i], sizeof(addrs[i]));
		else if (inet_pton(AF_INET6, a, bin) == 1)
			inet_ntop(AF_INET6, bin, addrs[i], sizeof(addrs[i]));
		else {
			*reason_r = "not an IPv4 or IPv6 address or \"*\"";
			return -1;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(addrs[i], addrs[j]) == 0) {
				*reason_r = "address listed twice";
				return -1;
			}
		}
	}
	if (any && n > 1) {
		*reason_r = "\"*\" (every address) cannot be combined with "
		    "other addresses";
		return -1;
	}
	for (i = 0; i < (size_t)n; i++)
		items[i] = addrs[i];
	set_list(list, count_r, items, (size_t)n);
	return 0;
}

static int
parse_listen(struct config_parse *p, const char *value, const char **reason_r)
{
	return parse_addrs(value, p->cfg->listen, &p->cfg->listen_count,
	    reason_r);
}

static int
parse_admin_listen(struct config_parse *p, const char *value,
    const char **reason_r)
{
	return parse_addrs(value, p->cfg->admin_listen,
	    &p->cfg->admin_listen_count, reason_r);
}

static int
parse_domains(struct config_parse *p, const char *value,
    const char **reason_r)
{
	char copy[CONFIG_LINE_MAX + 1];
	char *items[CONFIG_DOMAINS_MAX];
	struct mb_config *cfg = p->cfg;
	size_t i, j, len;
	int n;

	if ((n = split_list(value, copy, items, CONFIG_DOMAINS_MAX,
	    "too many domains (at most " MB_STR(CONFIG_DOMAINS_MAX) ")",
	    reason_r)) < 0)
		return -1;
	for (i = 0; i < (size_t)n; i++) {
		char *d = items[i];

		for (j = 0; d[j] != '\0'; j++)
			d[j] = (char)tolower((unsigned char)d[j]);
		/* a trailing dot names the same domain */
		len = strlen(d);
		if (len > 1 && d[len - 1] == '.')
			d[len - 1] = '\0';
		if (!dns_name_valid(d)) {
			*reason_r = "not a valid domain name";
			return -1;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(items[j], d) == 0) {
				*reason_r = "domain listed twice";
				return -1;
			}
		}
	}
	set_list(cfg->domains, &cfg->domain_count, items, (size_t)n);
	return 0;
}

static int
parse_hostname(struct config_parse *p, const char *value,
    const char **reason_r)
{
	if (!dns_name_valid(value)) {
		*reason_r = "not a valid host name";
		return -1;
	}
	return parse_string(&p->cfg->hostname, value, reason_r);
}

/* System account names as useradd(8) accepts them. */
static int
parse_user(struct config_parse *p, const char *value, const char **reason_r)
{
	size_t i, len = strlen(value);

	if (len == 0 || len > 32 || value[0] == '-' ||
	    isdigit((unsigned char)value[0])) {
		*reason_r = "not a valid system user name";
		return -1;
	}
	for (i = 0; i < len; i++) {
		char c = value[i];

		if (!isalnum((unsigned char)c) && c != '_' && c != '-' &&
		    c != '.' && !(c == '$' && i == len - 1)) {
			*reason_r = "not a valid system user name";
			return -1;
		}
	}
	return parse_string(&p->cfg->user, value, reason_r);
}

static int
parse_log_level(struct config_parse *p, const char *value,
    const char **reason_r)
{
	static const enum config_log_level values[] = {
		CONFIG_LOG_LEVEL_INFO, CONFIG_LOG_LEVEL_DEBUG,
	};
	size_t i;

	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		if (strcmp(value, config_log_level_name(values[i])) == 0) {
			p->cfg->log_level = values[i];
			return 0;
		}
	}
	*reason_r = "must be info or debug";
	return -1;
}

static int
parse_plaintext_auth(struct config_parse *p, const char *value,
    const char **reason_r)
{
	static const enum config_plaintext_auth values[] = {
		CONFIG_PLAINTEXT_AUTH_LOOPBACK, CONFIG_PLAINTEXT_AUTH_YES,
		CONFIG_PLAINTEXT_AUTH_NO,
	};
	size_t i;

	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		if (strcmp(value, config_plaintext_auth_name(values[i])) == 0) {
			p->cfg->imap_plaintext_auth = values[i];
			return 0;
		}
	}
	*reason_r = "must be loopback, yes or no";
	return -1;
}

/* A file the daemon reads at start and on SIGHUP: any path; whether it
 * can be read is found out then, with the reason logged. */
static int
parse_path(char **dst, const char *value, const char **reason_r)
{
	if (strlen(value) >= PATH_MAX) {
		*reason_r = "path too long";
		return -1;
	}
	return parse_string(dst, value, reason_r);
}

static int
parse_tls_cert_file(struct config_parse *p, const char *value,
    const char **reason_r)
{
	return parse_path(&p->cfg->tls_cert_file, value, reason_r);
}

static int
parse_tls_key_file(struct config_parse *p, const char *value,
    const char **reason_r)
{
	return parse_path(&p->cfg->tls_key_file, value, reason_r);
}

static int
parse_admin_token_file(struct config_parse *p, const char *value,
    const char **reason_r)
{
	return parse_path(&p->cfg->admin_token_file, value, reason_r);
}

static int
parse_max_message_size(struct config_parse *p, const char *value,
    const char **reason_r)
{
	uint64_t n;

	if (str_to_size(value, LMTP_MESSAGE_SIZE_MAX, &n) < 0 || n == 0) {
		*reason_r = "not a size between 1 and 1G (digits with an "
		    "optional K, M or G suffix)";
		return -1;
	}
	p->cfg->lmtp_max_message_size = n;
	return 0;
}

static int
parse_bool(bool *dst, const char *value, const char **reason_r)
{
	static const char *const yes[] = {"yes", "true", "on"};
	static const char *const no[] = {"no", "false", "off"};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(value, yes[i]) == 0) {
			*dst = true;
			return 0;
		}
		if (strcasecmp(value, no[i]) == 0) {
			*dst = false;
			return 0;
		}
	}
	*reason_r = "must be yes or no";
	return -1;
}

static int
parse_notify_enabled(struct config_parse *p, const char *value,
    const char **reason_r)
{
	return parse_bool(&p->cfg->notify_enabled, value, reason_r);
}

/* A number key's value: digits (or, for CONFIG_NUMBER_SECONDS, a
 * duration) between def->min and def->max, stored in its field. */
static int
parse_number(struct config_parse *p, const struct config_key_def *def,
    const char *value, const char **reason_r)
{
	char *field = (char *)p->cfg + def->offset;
	uint64_t n;
	int rc;

	rc = def->number == CONFIG_NUMBER_SECONDS ?
	    str_to_seconds(value, def->max, &n) :
	    str_to_u64(value, def->min, def->max, &n);
	if (rc < 0 || n < def->min) {
		*reason_r = def->reason;
		return -1;
	}
	if (def->size == sizeof(uint16_t)) {
		uint16_t v = (uint16_t)n;

		memcpy(field, &v, sizeof(v));
	} else {
		unsigned v = (unsigned)n;

		assert(def->size == sizeof(v));
		memcpy(field, &v, sizeof(v));
	}
	return 0;
}

/* ---- [cluster] ---- */

/* A node name: a NATS subject token and a key-value key. */
bool
config_node_name_valid(const char *name)
{
	size_t i, len = strlen(name);

	if (len == 0 || len > CLUSTER_NODE_NAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!(c >= 'a' && c <= 'z') && !isdigit((unsigned char)c) &&
		    c != '-' && c != '_')
			return false;
	}
	return true;
}

static int
parse_cluster_node(struct config_parse *p, const char *value,
    const char **reason_r)
{
	if (!config_node_name_valid(value)) {
		*reason_r = "not a node name (1 to "
		    MB_STR(CLUSTER_NODE_NAME_MAX) " of a-z, 0-9, - and _)";
		return -1;
	}
	return parse_string(&p->cfg->cluster_node, value, reason_r);
}

/* NATS server URLs: [nats://|tls://]host:port, as the NATS client reads
 * them; the client itself finds what else is wrong when it connects. */
static int
parse_cluster_nats(struct config_parse *p, const char *value,
    const char **reason_r)
{
	char copy[CONFIG_LINE_MAX + 1];
	char *items[CONFIG_LISTEN_MAX];
	const char *rest, *colon;
	size_t i;
	int n;

	if ((n = split_list(value, copy, items, CONFIG_LISTEN_MAX,
	    "too many servers (at most " MB_STR(CONFIG_LISTEN_MAX) ")",
	    reason_r)) < 0)
		return -1;
	if (n == 0) {
		*reason_r = "needs at least one NATS server URL";
		return -1;
	}
	for (i = 0; i < (size_t)n; i++) {
		rest = strstr(items[i], "://");
		if (rest != NULL && strncmp(items[i], "nats://", 7) != 0 &&
		    strncmp(items[i], "tls://", 6) != 0) {
			*reason_r = "not a NATS URL (nats:// or tls://)";
			return -1;
		}
		rest = rest != NULL ? rest + 3 : items[i];
		colon = strrchr(rest, ':');
		if (colon == NULL || colon == rest || colon[1] == '\0' ||
		    strspn(colon + 1, "0123456789") != strlen(colon + 1)) {
			*reason_r = "not a NATS URL (nats://host:port)";
			return -1;
		}
	}
	set_list(p->cfg->cluster_nats, &p->cfg->cluster_nats_count, items,
	    (size_t)n);
	return 0;
}

/* A DNS name or an IP address literal. */
static int
parse_cluster_host(struct config_parse *p, const char *value,
    const char **reason_r)
{
	unsigned char bin[sizeof(struct in6_addr)];

	if (inet_pton(AF_INET, value, bin) != 1 &&
	    inet_pton(AF_INET6, value, bin) != 1 && !dns_name_valid(value)) {
		*reason_r = "not a host name or IP address";
		return -1;
	}
	return parse_string(&p->cfg->cluster_host, value, reason_r);
}

static int
parse_cluster_secret_file(struct config_parse *p, const char *value,
    const char **reason_r)
{
	return parse_path(&p->cfg->cluster_secret_file, value, reason_r);
}

static int
parse_cluster_ca_file(struct config_parse *p, const char *value,
    const char **reason_r)
{
	return parse_path(&p->cfg->cluster_ca_file, value, reason_r);
}

/* Table entries: a key read by its own function, a number, a duration,
 * a port. A number key names its unsigned or uint16_t field. */
#define CONFIG_KEY_FUNC(sec, nm, k, fn) \
	{ .section = sec, .name = nm, .key = k, .parse = fn }
#define CONFIG_KEY_NUMBER(sec, nm, k, kind, field, lo, hi, why) \
	{ .section = sec, .name = nm, .key = k, .number = kind, \
	  .offset = offsetof(struct mb_config, field), \
	  .size = sizeof(((struct mb_config *)0)->field), \
	  .min = lo, .max = hi, .reason = why }
#define CONFIG_KEY_PORT(sec, nm, k, field) \
	CONFIG_KEY_NUMBER(sec, nm, k, CONFIG_NUMBER_PLAIN, field, 0, 65535, \
	    "not a port number (0-65535, 0: pick a free one)")

const struct config_key_def config_keys[] = {
	CONFIG_KEY_FUNC("server", "data_dir", KEY_DATA_DIR, parse_data_dir),
	CONFIG_KEY_FUNC("server", "listen", KEY_LISTEN, parse_listen),
	CONFIG_KEY_FUNC("server", "domains", KEY_DOMAINS, parse_domains),
	CONFIG_KEY_FUNC("server", "hostname", KEY_HOSTNAME, parse_hostname),
	CONFIG_KEY_FUNC("server", "user", KEY_USER, parse_user),
	CONFIG_KEY_FUNC("server", "log_level", KEY_LOG_LEVEL,
	    parse_log_level),
	CONFIG_KEY_PORT("imap", "port", KEY_IMAP_PORT, imap_port),
	CONFIG_KEY_PORT("imap", "tls_port", KEY_IMAP_TLS_PORT, imap_tls_port),
	CONFIG_KEY_FUNC("imap", "plaintext_auth", KEY_IMAP_PLAINTEXT_AUTH,
	    parse_plaintext_auth),
	/* RFC 2177 clients re-issue IDLE within 29 minutes; a keepalive any
	 * rarer would never be sent. */
	CONFIG_KEY_NUMBER("imap", "idle_keepalive", KEY_IMAP_IDLE_KEEPALIVE,
	    CONFIG_NUMBER_SECONDS, imap_idle_keepalive, 1, 29 * 60,
	    "not a duration between 1s and 29m (digits with an optional s, "
	    "m or h suffix)"),
	CONFIG_KEY_NUMBER("imap", "max_connections_per_user",
	    KEY_IMAP_MAX_CONN_USER, CONFIG_NUMBER_PLAIN,
	    imap_max_connections_per_user, 1, IMAP_SESSIONS_MAX,
	    "not a number between 1 and 16384"),
	CONFIG_KEY_NUMBER("imap", "max_connections_per_ip",
	    KEY_IMAP_MAX_CONN_IP, CONFIG_NUMBER_PLAIN,
	    imap_max_connections_per_ip, 1, IMAP_SESSIONS_MAX,
	    "not a number between 1 and 16384"),
	CONFIG_KEY_NUMBER("imap", "login_timeout", KEY_IMAP_LOGIN_TIMEOUT,
	    CONFIG_NUMBER_SECONDS, imap_login_timeout, 1, 3600,
	    "not a duration between 1s and 1h (digits with an optional s, "
	    "m or h suffix)"),
	CONFIG_KEY_NUMBER("imap", "max_prelogin_connections",
	    KEY_IMAP_MAX_PRELOGIN, CONFIG_NUMBER_PLAIN, imap_max_prelogin, 1,
	    IMAP_SESSIONS_MAX, "not a number between 1 and 16384"),
	CONFIG_KEY_NUMBER("imap", "max_prelogin_connections_per_ip",
	    KEY_IMAP_MAX_PRELOGIN_IP, CONFIG_NUMBER_PLAIN,
	    imap_max_prelogin_per_ip, 1, IMAP_SESSIONS_MAX,
	    "not a number between 1 and 16384"),
	CONFIG_KEY_PORT("lmtp", "port", KEY_LMTP_PORT, lmtp_port),
	CONFIG_KEY_FUNC("lmtp", "max_message_size", KEY_LMTP_MAX_MESSAGE_SIZE,
	    parse_max_message_size),
	CONFIG_KEY_PORT("admin", "port", KEY_ADMIN_PORT, admin_port),
	CONFIG_KEY_FUNC("admin", "listen", KEY_ADMIN_LISTEN,
	    parse_admin_listen),
	CONFIG_KEY_FUNC("admin", "token_file", KEY_ADMIN_TOKEN_FILE,
	    parse_admin_token_file),
	CONFIG_KEY_FUNC("notify", "enabled", KEY_NOTIFY_ENABLED,
	    parse_notify_enabled),
	CONFIG_KEY_PORT("notify", "udp_port", KEY_NOTIFY_UDP_PORT,
	    notify_udp_port),
	/* The interval a client is told to send keepalives at: 15 s at the
	 * least (RFC 8085 s3.5), 300 s at the most (RFC 8620 s7.3). */
	CONFIG_KEY_NUMBER("notify", "keepalive", KEY_NOTIFY_KEEPALIVE,
	    CONFIG_NUMBER_SECONDS, notify_keepalive, NOTIFY_KEEPALIVE_MIN_SECS,
	    NOTIFY_KEEPALIVE_MAX_SECS, "not a duration between 15s and 5m "
	    "(digits with an optional s, m or h suffix)"),
	CONFIG_KEY_NUMBER("notify", "lease", KEY_NOTIFY_LEASE,
	    CONFIG_NUMBER_SECONDS, notify_lease, NOTIFY_LEASE_MIN_SECS,
	    NOTIFY_LEASE_MAX_SECS, "not a duration between 1m and 90d (digits "
	    "with an optional s, m, h or d suffix)"),
	CONFIG_KEY_NUMBER("notify", "max_registrations_per_user",
	    KEY_NOTIFY_MAX_REG_USER, CONFIG_NUMBER_PLAIN,
	    notify_max_registrations_per_user, 1, NOTIFY_REGISTRATIONS_MAX,
	    "not a number between 1 and 10000000"),
	CONFIG_KEY_NUMBER("notify", "max_registrations", KEY_NOTIFY_MAX_REG,
	    CONFIG_NUMBER_PLAIN, notify_max_registrations, 1,
	    NOTIFY_REGISTRATIONS_MAX, "not a number between 1 and 10000000"),
	CONFIG_KEY_FUNC("tls", "cert_file", KEY_TLS_CERT_FILE,
	    parse_tls_cert_file),
	CONFIG_KEY_FUNC("tls", "key_file", KEY_TLS_KEY_FILE,
	    parse_tls_key_file),
	CONFIG_KEY_FUNC("cluster", "node", KEY_CLUSTER_NODE,
	    parse_cluster_node),
	CONFIG_KEY_FUNC("cluster", "nats", KEY_CLUSTER_NATS,
	    parse_cluster_nats),
	CONFIG_KEY_FUNC("cluster", "host", KEY_CLUSTER_HOST,
	    parse_cluster_host),
	CONFIG_KEY_FUNC("cluster", "secret_file", KEY_CLUSTER_SECRET_FILE,
	    parse_cluster_secret_file),
	CONFIG_KEY_FUNC("cluster", "ca_file", KEY_CLUSTER_CA_FILE,
	    parse_cluster_ca_file),
	/* JetStream keeps an odd count of copies, up to 5. */
	CONFIG_KEY_NUMBER("cluster", "replicas", KEY_CLUSTER_REPLICAS,
	    CONFIG_NUMBER_PLAIN, cluster_replicas, 1, 5,
	    "not a number between 1 and 5"),
};

const size_t config_key_count = sizeof(config_keys) / sizeof(config_keys[0]);

int
config_key_parse(struct config_parse *p, const struct config_key_def *def,
    const char *value, const char **reason_r)
{
	if (def->parse != NULL)
		return def->parse(p, value, reason_r);
	return parse_number(p, def, value, reason_r);
}
