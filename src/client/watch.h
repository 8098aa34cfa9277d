/*
 * What `mailbell watch` and `mailbell doctor` share: the connection
 * options and the password file.
 */
#ifndef MB_CLIENT_WATCH_H
#define MB_CLIENT_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "client/client.h"

/* The IMAP port a mailbell server listens on by default. */
#define WATCH_IMAP_PORT_DEFAULT "1143"

struct watch_opts {
	char *host;		/* --server HOST (brackets removed) */
	char *port;		/* --server :PORT, or the default */
	char *server_text;	/* host:port as given, for messages */
	const char *user;	/* --user */
	char *password;		/* first line of --password-file */
	uint16_t udp_port;	/* --udp-port, 0: any */
	bool json;		/* --json */
	const char *exec;	/* --exec CMD, or NULL */
	bool verbose;		/* -v: say more on stderr */
};

/*
 * Parse the options of cmd (watch accepts --json and --exec, doctor
 * not) and read the password file. Returns -1 when all is well, else
 * the exit status to return at once (0 after --help, EX_USAGE,
 * EX_NOINPUT for an unreadable password file) after printing why.
 */
int watch_opts_parse(const struct client_cmd *cmd, bool is_watch,
    int argc, char **argv, struct watch_opts *o);
/* Wipe the password and free what watch_opts_parse() allocated. */
void watch_opts_free(struct watch_opts *o);

#endif
