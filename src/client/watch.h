/*
 * What `mailbell watch` and `mailbell doctor` share: the connection
 * options and the password file.
 */
#ifndef MB_CLIENT_WATCH_H
#define MB_CLIENT_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "client/client-tls.h"
#include "client/client.h"

/* The IMAP and IMAPS ports a mailbell server listens on by default. */
#define WATCH_IMAP_PORT_DEFAULT "1143"
#define WATCH_IMAPS_PORT_DEFAULT "1993"

/* The TLS options' synopsis and help, the same for watch and doctor. */
#define WATCH_TLS_USAGE \
	"       [--tls starttls|imaps|none] [--ca FILE | --tls-fingerprint " \
	"SHA256]\n"
#define WATCH_TLS_HELP \
	"  --tls MODE            starttls: STARTTLS on the IMAP port (the\n" \
	"                        default); imaps: TLS from the start, on the\n" \
	"                        IMAPS port (1993 if not given); none: clear\n" \
	"                        text, nothing verified\n" \
	"  --ca FILE             trust the CA certificates in FILE instead of\n" \
	"                        the system's, e.g. the server's own\n" \
	"                        DATA_DIR/tls/mailbell.crt\n" \
	"  --tls-fingerprint SHA256\n" \
	"                        trust exactly the server certificate with\n" \
	"                        this SHA-256 fingerprint (AB:CD:..., as\n" \
	"                        mailbelld logs it at start), instead of CAs\n" \
	"                        and names\n"
/* What the help says about verification, after the options. */
#define WATCH_TLS_NOTE \
	"The server's certificate is always verified unless --tls none: it\n" \
	"must be trusted (system CAs or --ca) and name HOST, or match\n" \
	"--tls-fingerprint.\n"

struct watch_opts {
	char *host;		/* --server HOST (brackets removed) */
	char *port;		/* --server :PORT, or the default */
	char *server_text;	/* host:port as given, for messages */
	enum client_tls_mode tls_mode;	/* --tls, STARTTLS by default */
	const char *ca_file;	/* --ca FILE, or NULL */
	const char *fingerprint; /* --tls-fingerprint, or NULL */
	struct client_tls tls;	/* made from the three above; it must
				   not move while connections use it */
	const char *user;	/* --user */
	char *password;		/* first line of --password-file */
	uint16_t udp_port;	/* --udp-port, 0: any */
	bool json;		/* --json */
	const char *exec;	/* --exec CMD, or NULL */
	bool verbose;		/* -v: say more on stderr */
};

/*
 * Parse the options of cmd (watch accepts --json and --exec, doctor
 * not), read the password file and make o->tls. The port defaults to
 * the IMAPS port with --tls imaps, else the IMAP port; --ca and
 * --tls-fingerprint exclude each other and --tls none. Returns -1 when
 * all is well, else the exit status to return at once (0 after --help,
 * EX_USAGE, EX_NOINPUT for an unreadable password file or --ca file)
 * after printing why.
 */
int watch_opts_parse(const struct client_cmd *cmd, bool is_watch,
    int argc, char **argv, struct watch_opts *o);
/* Wipe the password and free what watch_opts_parse() made. */
void watch_opts_free(struct watch_opts *o);

#endif
