/*
 * What the three files of the configuration loader share: the state of
 * one parse (config-parse.c runs inih over it) and the table of keys
 * (config-keys.c reads each value into struct mb_config).
 */
#ifndef MB_LIB_CONFIG_PRIVATE_H
#define MB_LIB_CONFIG_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/config.h"

/* Every key, so duplicates and conflicts can name where a value came from. */
enum config_key {
	KEY_DATA_DIR,
	KEY_LISTEN,
	KEY_DOMAINS,
	KEY_HOSTNAME,
	KEY_USER,
	KEY_LOG_LEVEL,
	KEY_IMAP_PORT,
	KEY_IMAP_TLS_PORT,
	KEY_IMAP_PLAINTEXT_AUTH,
	KEY_IMAP_IDLE_KEEPALIVE,
	KEY_IMAP_MAX_CONN_USER,
	KEY_IMAP_MAX_CONN_IP,
	KEY_IMAP_LOGIN_TIMEOUT,
	KEY_IMAP_MAX_PRELOGIN,
	KEY_IMAP_MAX_PRELOGIN_IP,
	KEY_LMTP_PORT,
	KEY_LMTP_MAX_MESSAGE_SIZE,
	KEY_ADMIN_PORT,
	KEY_ADMIN_LISTEN,
	KEY_ADMIN_TOKEN_FILE,
	KEY_NOTIFY_ENABLED,
	KEY_NOTIFY_UDP_PORT,
	KEY_NOTIFY_KEEPALIVE,
	KEY_NOTIFY_LEASE,
	KEY_NOTIFY_MAX_REG_USER,
	KEY_NOTIFY_MAX_REG,
	KEY_TLS_CERT_FILE,
	KEY_TLS_KEY_FILE,
	KEY_CLUSTER_NODE,
	KEY_CLUSTER_NATS,
	KEY_CLUSTER_HOST,
	KEY_CLUSTER_SECRET_FILE,
	KEY_CLUSTER_CA_FILE,
	KEY_CLUSTER_REPLICAS,
	KEY_COUNT
};

/* State of one parse: the config being filled and where we are. */
struct config_parse {
	struct mb_config *cfg;
	const char *name;	/* file name used in error messages */

	/* input: a FILE, or a string when fp is NULL */
	FILE *fp;
	const char *str;

	unsigned line;		/* line most recently handed to inih */
	unsigned key_line[KEY_COUNT]; /* line each key was set on (0: not) */
	bool failed;		/* error[] holds the first error */
	char error[CONFIG_LINE_MAX + 256];
};

/* Reads one key's value into p->cfg: 0, or -1 with *reason_r set. */
typedef int config_value_func(struct config_parse *p, const char *value,
    const char **reason_r);

/* How a number key's value is written. */
enum config_number {
	CONFIG_NUMBER_PLAIN,	/* digits */
	CONFIG_NUMBER_SECONDS,	/* a duration: digits, then s, m, h or d */
};

/* One key: where it goes, and how its value is read. */
struct config_key_def {
	const char *section;
	const char *name;
	enum config_key key;
	/* The function that reads the value; NULL for a number key, read by
	 * parse_number() with the fields below. */
	config_value_func *parse;

	/* A number key: how it is written, where in struct mb_config it is
	 * stored (an unsigned or uint16_t field), its bounds, and the error
	 * for a value that is not such a number. */
	enum config_number number;
	size_t offset;
	size_t size;
	uint64_t min;
	uint64_t max;
	const char *reason;
};

/* Every key of the file, config_key_count of them (config-keys.c). */
extern const struct config_key_def config_keys[];
extern const size_t config_key_count;

/* Read value for the key def into p->cfg. Returns 0, or -1 with
 * *reason_r set to why the value is not valid (static text). */
int config_key_parse(struct config_parse *p,
    const struct config_key_def *def, const char *value,
    const char **reason_r);

/* Run inih over p's input (config-parse.c). Returns 0, or -1 with
 * p->error set to "NAME:LINE: what is wrong". */
int config_parse_run(struct config_parse *p);

#endif
