/*
 * The keys of the configuration file as a reload sees them: which of
 * them the running daemon can take on the fly, how a value is shown in
 * the log, and how a new value replaces the running one. No I/O: a reload
 * (reload.h) compares the running configuration with the file read again
 * and applies what may change.
 */
#ifndef MB_DAEMON_RELOAD_KEYS_H
#define MB_DAEMON_RELOAD_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/limits.h"

struct mb_config;

/* Room for a value as reload_key_format() shows it: the longest is a
 * list, at most one line of the file. */
#define RELOAD_VALUE_TEXT_SIZE (CONFIG_LINE_MAX + 16)

/* When a key's new value takes effect. */
enum reload_when {
	RELOAD_LIVE,		/* at once: the servers read it from the
				   running configuration on each use */
	RELOAD_TLS,		/* once the certificate files it names
				   load */
	RELOAD_RESTART,		/* at the next start: sockets, paths, the
				   account, the notifier's existence */
};

/* How a key's value is stored in struct mb_config and shown. */
enum reload_type {
	RELOAD_UNSIGNED,	/* unsigned */
	RELOAD_SECONDS,		/* unsigned seconds, shown as "60s" */
	RELOAD_PORT,		/* uint16_t */
	RELOAD_SIZE,		/* uint64_t bytes */
	RELOAD_BOOL,		/* bool, shown as yes or no */
	RELOAD_STRING,		/* char *, NULL when unset */
	RELOAD_LIST,		/* char *[] with a size_t count after it */
	RELOAD_PLAINTEXT_AUTH,	/* enum config_plaintext_auth */
	RELOAD_LOG_LEVEL,	/* enum config_log_level */
};

/* One key of the file. */
struct reload_key {
	const char *name;	/* "section.key", as the log shows it */
	enum reload_when when;
	enum reload_type type;
	size_t offset;		/* of the value in struct mb_config */
	size_t size;		/* of the value (the array, for a list) */
	size_t count_offset;	/* RELOAD_LIST: of its size_t count */
};

/* Every key of the file (lib/config-keys.c), in its order. */
extern const struct reload_key reload_keys[];
extern const size_t reload_key_count;

/* Whether key's value differs between a and b. */
bool reload_key_differs(const struct reload_key *key,
    const struct mb_config *a, const struct mb_config *b);
/* key's value in cfg as text, as the file would give it ("(unset)" for
 * a string that is not set, "(none)" for an empty list), truncated to
 * RELOAD_VALUE_TEXT_SIZE - 1 bytes. */
void reload_key_format(const struct reload_key *key,
    const struct mb_config *cfg, char out[RELOAD_VALUE_TEXT_SIZE]);
/* Exchange key's values between a and b, ownership of strings included,
 * so that a holds b's value and b, to be freed with config_free(), a's.
 * A second call undoes the first. */
void reload_key_swap(const struct reload_key *key, struct mb_config *a,
    struct mb_config *b);

#endif
