/*
 * mailbell's configuration: one INI file read with inih, or the embedded
 * default when no file is given. Both programs (mailbelld, mailbell) use
 * the same loader so they always agree on ports and paths.
 */
#ifndef MB_LIB_CONFIG_H
#define MB_LIB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/limits.h"

/* Ports of the embedded default: unprivileged, so a newcomer can run the
 * daemon without root. */
#define CONFIG_DEFAULT_IMAP_PORT 1143
#define CONFIG_DEFAULT_IMAPS_PORT 1993
#define CONFIG_DEFAULT_LMTP_PORT 2424
#define CONFIG_DEFAULT_ADMIN_PORT 8143
#define CONFIG_DEFAULT_NOTIFY_UDP_PORT 4143

/* When LOGIN, AUTHENTICATE and XBELL REGISTER may run without TLS. */
enum config_plaintext_auth {
	CONFIG_PLAINTEXT_AUTH_LOOPBACK,	/* only for loopback peers (default) */
	CONFIG_PLAINTEXT_AUTH_YES,	/* for every peer */
	CONFIG_PLAINTEXT_AUTH_NO,	/* never: TLS always */
};

/* How much the daemon logs ([server] log_level). */
enum config_log_level {
	CONFIG_LOG_LEVEL_INFO,		/* what happened (default) */
	CONFIG_LOG_LEVEL_DEBUG,		/* also detail for faults */
};

struct mb_config {
	/* Where it came from: the file path, or NULL for the embedded
	 * default. */
	char *file;

	/* [server] */
	char *data_dir;		/* root of passwd file and mail (default ./var) */
	char *listen[CONFIG_LISTEN_MAX]; /* addresses services bind to */
	size_t listen_count;	/* at least 1 */
	char *domains[CONFIG_DOMAINS_MAX]; /* accepted recipient domains,
					      lowercase */
	size_t domain_count;	/* 0: any domain is accepted */
	char *hostname;		/* name in greetings and Maildir file names
				   (default: gethostname) */
	char *user;		/* system user to run as after binding
				   (NULL: stay who we were started as) */
	enum config_log_level log_level; /* debug: as mailbelld -v */

	/* [imap] */
	uint16_t imap_port;	/* IMAP4rev1; 0: pick a free port */
	uint16_t imap_tls_port;	/* IMAP over implicit TLS ("IMAPS"); 0:
				   pick a free port */
	enum config_plaintext_auth imap_plaintext_auth; /* secrets in clear */
	unsigned imap_idle_keepalive; /* seconds between "* OK Still here"
					 during IDLE (1 s .. 29 min) */
	unsigned imap_max_connections_per_user; /* sessions logged in as
						   one user (NO [LIMIT]) */
	unsigned imap_max_connections_per_ip; /* sessions from one client
						 address (* BYE at connect) */
	unsigned imap_login_timeout; /* seconds from connect to login, however
					busy the client (then * BYE) */
	unsigned imap_max_prelogin; /* sessions not logged in; a new one
				       makes the oldest yield (* BYE) */
	unsigned imap_max_prelogin_per_ip; /* of them from one address
					      (* BYE at connect) */

	/* [lmtp] */
	uint16_t lmtp_port;	/* LMTP (RFC 2033); 0: pick a free port */
	uint64_t lmtp_max_message_size; /* SIZE limit in bytes (552 5.3.4) */

	/* [admin] */
	uint16_t admin_port;	/* HTTP health and metrics; 0: pick one */
	char *admin_listen[CONFIG_LISTEN_MAX]; /* addresses it binds; none
						  set: loopback */
	size_t admin_listen_count;
	char *admin_token_file;	/* the bearer token every request but
				   /health must carry (NULL: none); needed
				   when admin_listen is off loopback */

	/* [notify] */
	bool notify_enabled;	/* whether the UDP notifier runs */
	uint16_t notify_udp_port; /* fixed source port of every datagram */
	unsigned notify_keepalive; /* seconds between client keepalives
				      (NOTIFY_KEEPALIVE_MIN..MAX_SECS) */
	unsigned notify_lease;	/* seconds a registration lives after the
				   client's last authenticated datagram */
	unsigned notify_max_registrations_per_user; /* NO [LIMIT] beyond */
	unsigned notify_max_registrations; /* in all; NO [LIMIT] beyond */

	/* [tls] both or neither; neither: <data_dir>/tls/mailbell.crt and
	 * .key, made at first start (lib/tls.h) */
	char *tls_cert_file;	/* PEM: the certificate, then its chain */
	char *tls_key_file;	/* PEM: its private key */

	/* [cluster]: cluster_node set turns it on, and then nats, host and
	 * secret_file are set too (config_load checks) */
	char *cluster_node;	/* this node's name ([a-z0-9_-]) */
	char *cluster_nats[CONFIG_LISTEN_MAX]; /* NATS server URLs */
	size_t cluster_nats_count;
	char *cluster_host;	/* where the other nodes reach this one */
	char *cluster_secret_file; /* the secret nodes log in with */
	char *cluster_ca_file;	/* CAs of the nodes' certificates, or NULL:
				   the system's */
	unsigned cluster_replicas; /* of the JetStream streams and buckets */
};

/*
 * Load the configuration from path, or the embedded default when path is
 * NULL. An unknown section or key, a bad value or a duplicate key fails
 * with *error_r set to "FILE:LINE: [section] key: reason" (ERROR_INVALID,
 * lib/error.h). Returns 0 with *cfg_r set, or -1.
 */
int config_load(const char *path, struct mb_config **cfg_r,
    const char **error_r);
void config_free(struct mb_config **cfgp);

/* The embedded default as INI text (what `mailbell config` prints). */
const char *config_default_text(void);

/* The passwd file: <data_dir>/passwd. Returns malloc'd text. */
char *config_passwd_path(const struct mb_config *cfg);
/* The mail root: <data_dir>/mail. Returns malloc'd text. */
char *config_mail_root(const struct mb_config *cfg);
/* The value of [imap] plaintext_auth as written in the file. */
const char *config_plaintext_auth_name(enum config_plaintext_auth value);
/* The value of [server] log_level as written in the file. */
const char *config_log_level_name(enum config_log_level value);

/* The addresses the admin port binds: [admin] listen, or when it is not
 * set loopback (127.0.0.1 and ::1). Returns how many, in *addrs_r. */
size_t config_admin_listen(const struct mb_config *cfg,
    const char *const **addrs_r);
/* Whether a listen address (as the config holds it: an address or "*")
 * reaches loopback only. */
bool config_addr_is_loopback(const char *addr);
/* Whether name is a valid [cluster] node name. */
bool config_node_name_valid(const char *name);
/* Whether it means every address: "*", 0.0.0.0, ::. */
bool config_addr_is_wildcard(const char *addr);

/*
 * Read an admin bearer token ([admin] token_file) from path: one line of
 * ADMIN_TOKEN_MIN to ADMIN_TOKEN_MAX characters of base64 or hex
 * (RFC 6750 token68), trailing white space ignored, in a file not
 * readable by everyone. Returns 0 with *token_r (wipe and free it), or
 * -1 with *error_r.
 */
int config_read_token(const char *path, char **token_r, const char **error_r);

#endif
