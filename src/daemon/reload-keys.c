/*
 * The table of configuration keys a reload walks (see reload-keys.h):
 * for each, whether it can change while the daemon runs and how its value
 * is compared, shown and exchanged, found by its offset in struct
 * mb_config.
 */
#include "daemon/reload-keys.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lib/config.h"

#define RELOAD_KEY(nm, w, t, field) \
	{ .name = nm, .when = w, .type = t, \
	  .offset = offsetof(struct mb_config, field), \
	  .size = sizeof(((struct mb_config *)0)->field) }
#define RELOAD_LIST_KEY(nm, w, field, count) \
	{ .name = nm, .when = w, .type = RELOAD_LIST, \
	  .offset = offsetof(struct mb_config, field), \
	  .size = sizeof(((struct mb_config *)0)->field), \
	  .count_offset = offsetof(struct mb_config, count) }

/*
 * The limits and policies are read from the running configuration by
 * the IMAP and LMTP servers at each use (a new connection, login, IDLE or
 * transaction), and the notifier takes its own from it after a reload
 * (notify_server_set_limits()). What a socket, a path or the account
 * was set up from at start stays until a restart; so do the host name,
 * which the store and the certificate were made with, and the admin
 * token, read before privileges were dropped.
 */
const struct reload_key reload_keys[] = {
	RELOAD_KEY("server.data_dir", RELOAD_RESTART, RELOAD_STRING,
	    data_dir),
	RELOAD_LIST_KEY("server.listen", RELOAD_RESTART, listen,
	    listen_count),
	RELOAD_LIST_KEY("server.domains", RELOAD_LIVE, domains,
	    domain_count),
	RELOAD_KEY("server.hostname", RELOAD_RESTART, RELOAD_STRING,
	    hostname),
	RELOAD_KEY("server.user", RELOAD_RESTART, RELOAD_STRING, user),
	RELOAD_KEY("server.log_level", RELOAD_LIVE, RELOAD_LOG_LEVEL,
	    log_level),
	RELOAD_KEY("imap.port", RELOAD_RESTART, RELOAD_PORT, imap_port),
	RELOAD_KEY("imap.tls_port", RELOAD_RESTART, RELOAD_PORT,
	    imap_tls_port),
	RELOAD_KEY("imap.plaintext_auth", RELOAD_LIVE, RELOAD_PLAINTEXT_AUTH,
	    imap_plaintext_auth),
	RELOAD_KEY("imap.idle_keepalive", RELOAD_LIVE, RELOAD_SECONDS,
	    imap_idle_keepalive),
	RELOAD_KEY("imap.max_connections_per_user", RELOAD_LIVE,
	    RELOAD_UNSIGNED, imap_max_connections_per_user),
	RELOAD_KEY("imap.max_connections_per_ip", RELOAD_LIVE,
	    RELOAD_UNSIGNED, imap_max_connections_per_ip),
	RELOAD_KEY("imap.login_timeout", RELOAD_LIVE, RELOAD_SECONDS,
	    imap_login_timeout),
	RELOAD_KEY("imap.max_prelogin_connections", RELOAD_LIVE,
	    RELOAD_UNSIGNED, imap_max_prelogin),
	RELOAD_KEY("imap.max_prelogin_connections_per_ip", RELOAD_LIVE,
	    RELOAD_UNSIGNED, imap_max_prelogin_per_ip),
	RELOAD_KEY("lmtp.port", RELOAD_RESTART, RELOAD_PORT, lmtp_port),
	RELOAD_KEY("lmtp.max_message_size", RELOAD_LIVE, RELOAD_SIZE,
	    lmtp_max_message_size),
	RELOAD_KEY("admin.port", RELOAD_RESTART, RELOAD_PORT, admin_port),
	RELOAD_LIST_KEY("admin.listen", RELOAD_RESTART, admin_listen,
	    admin_listen_count),
	RELOAD_KEY("admin.token_file", RELOAD_RESTART, RELOAD_STRING,
	    admin_token_file),
	RELOAD_KEY("notify.enabled", RELOAD_RESTART, RELOAD_BOOL,
	    notify_enabled),
	RELOAD_KEY("notify.udp_port", RELOAD_RESTART, RELOAD_PORT,
	    notify_udp_port),
	RELOAD_KEY("notify.keepalive", RELOAD_LIVE, RELOAD_SECONDS,
	    notify_keepalive),
	RELOAD_KEY("notify.lease", RELOAD_LIVE, RELOAD_SECONDS,
	    notify_lease),
	RELOAD_KEY("notify.max_registrations_per_user", RELOAD_LIVE,
	    RELOAD_UNSIGNED, notify_max_registrations_per_user),
	RELOAD_KEY("notify.max_registrations", RELOAD_LIVE, RELOAD_UNSIGNED,
	    notify_max_registrations),
	RELOAD_KEY("tls.cert_file", RELOAD_TLS, RELOAD_STRING,
	    tls_cert_file),
	RELOAD_KEY("tls.key_file", RELOAD_TLS, RELOAD_STRING, tls_key_file),
	RELOAD_KEY("cluster.node", RELOAD_RESTART, RELOAD_STRING,
	    cluster_node),
	RELOAD_LIST_KEY("cluster.nats", RELOAD_RESTART, cluster_nats,
	    cluster_nats_count),
	RELOAD_KEY("cluster.host", RELOAD_RESTART, RELOAD_STRING,
	    cluster_host),
	RELOAD_KEY("cluster.secret_file", RELOAD_RESTART, RELOAD_STRING,
	    cluster_secret_file),
	RELOAD_KEY("cluster.ca_file", RELOAD_RESTART, RELOAD_STRING,
	    cluster_ca_file),
	RELOAD_KEY("cluster.replicas", RELOAD_RESTART, RELOAD_UNSIGNED,
	    cluster_replicas),
};

const size_t reload_key_count = sizeof(reload_keys) / sizeof(reload_keys[0]);

static const void *
field(const struct reload_key *key, const struct mb_config *cfg)
{
	return (const char *)cfg + key->offset;
}

static size_t
list_count(const struct reload_key *key, const struct mb_config *cfg)
{
	size_t n;

	memcpy(&n, (const char *)cfg + key->count_offset, sizeof(n));
	return n;
}

static bool
strings_differ(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

bool
reload_key_differs(const struct reload_key *key, const struct mb_config *a,
    const struct mb_config *b)
{
	char *const *la, *const *lb;
	size_t i, n;

	switch (key->type) {
	case RELOAD_STRING:
		return strings_differ(*(char *const *)field(key, a),
		    *(char *const *)field(key, b));
	case RELOAD_LIST:
		if ((n = list_count(key, a)) != list_count(key, b))
			return true;
		la = field(key, a);
		lb = field(key, b);
		for (i = 0; i < n; i++)
			if (strings_differ(la[i], lb[i]))
				return true;
		return false;
	default:
		return memcmp(field(key, a), field(key, b), key->size) != 0;
	}
}

static void
format_list(char *const *items, size_t count, char *out, size_t size)
{
	size_t i, len = 0;
	int n;

	if (count == 0) {
		snprintf(out, size, "(none)");
		return;
	}
	out[0] = '\0';
	for (i = 0; i < count && len < size; i++) {
		n = snprintf(out + len, size - len, "%s%s", i > 0 ? ", " : "",
		    items[i]);
		if (n < 0)
			break;
		len += (size_t)n;
	}
}

void
reload_key_format(const struct reload_key *key, const struct mb_config *cfg,
    char out[RELOAD_VALUE_TEXT_SIZE])
{
	const void *v = field(key, cfg);
	const size_t size = RELOAD_VALUE_TEXT_SIZE;
	const char *s;

	switch (key->type) {
	case RELOAD_UNSIGNED:
		snprintf(out, size, "%u", *(const unsigned *)v);
		break;
	case RELOAD_SECONDS:
		snprintf(out, size, "%us", *(const unsigned *)v);
		break;
	case RELOAD_PORT:
		snprintf(out, size, "%u", (unsigned)*(const uint16_t *)v);
		break;
	case RELOAD_SIZE:
		snprintf(out, size, "%llu",
		    (unsigned long long)*(const uint64_t *)v);
		break;
	case RELOAD_BOOL:
		snprintf(out, size, "%s", *(const bool *)v ? "yes" : "no");
		break;
	case RELOAD_STRING:
		s = *(char *const *)v;
		snprintf(out, size, "%s", s != NULL ? s : "(unset)");
		break;
	case RELOAD_LIST:
		format_list(v, list_count(key, cfg), out, size);
		break;
	case RELOAD_PLAINTEXT_AUTH:
		snprintf(out, size, "%s", config_plaintext_auth_name(
		    *(const enum config_plaintext_auth *)v));
		break;
	case RELOAD_LOG_LEVEL:
		snprintf(out, size, "%s", config_log_level_name(
		    *(const enum config_log_level *)v));
		break;
	}
}

static void
swap_bytes(void *a, void *b, size_t size)
{
	unsigned char *pa = a, *pb = b, t;
	size_t i;

	for (i = 0; i < size; i++) {
		t = pa[i];
		pa[i] = pb[i];
		pb[i] = t;
	}
}

void
reload_key_swap(const struct reload_key *key, struct mb_config *a,
    struct mb_config *b)
{
	swap_bytes((char *)a + key->offset, (char *)b + key->offset,
	    key->size);
	if (key->type == RELOAD_LIST)
		swap_bytes((char *)a + key->count_offset,
		    (char *)b + key->count_offset, sizeof(size_t));
}
