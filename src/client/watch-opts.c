/*
 * The connection options of `mailbell watch` and `mailbell doctor`, and
 * reading the password from the first line of a file.
 */
#include "client/watch.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/limits.h"
#include "lib/log.h"
#include "lib/strnum.h"
#include "lib/xmalloc.h"

enum {
	OPT_SERVER = 256,
	OPT_USER,
	OPT_PASSWORD_FILE,
	OPT_UDP_PORT,
	OPT_JSON,
	OPT_EXEC,
	OPT_TLS,
	OPT_CA,
	OPT_TLS_FINGERPRINT,
};

/* HOST, HOST:PORT, [V6]:PORT, [V6] or a bare IPv6 address. */
static int
split_server(const char *s, struct watch_opts *o)
{
	const char *colon, *close;

	if (s[0] == '[') {
		close = strchr(s, ']');
		if (close == NULL || close == s + 1)
			return -1;
		o->host = xstrndup(s + 1, (size_t)(close - s - 1));
		if (close[1] == ':' && close[2] != '\0')
			o->port = xstrdup(close + 2);
		else if (close[1] != '\0')
			return -1;
	} else if ((colon = strchr(s, ':')) != NULL &&
	    strchr(colon + 1, ':') == NULL) {
		if (colon == s || colon[1] == '\0')
			return -1;
		o->host = xstrndup(s, (size_t)(colon - s));
		o->port = xstrdup(colon + 1);
	} else {
		if (s[0] == '\0')
			return -1;
		o->host = xstrdup(s);
	}
	if (o->port == NULL)
		o->port = xstrdup(o->tls_mode == CLIENT_TLS_IMAPS ?
		    WATCH_IMAPS_PORT_DEFAULT : WATCH_IMAP_PORT_DEFAULT);
	else {
		uint64_t n;

		if (str_to_u64(o->port, 1, 65535, &n) < 0)
			return -1;
	}
	o->server_text = strchr(o->host, ':') != NULL ?
	    xasprintf("[%s]:%s", o->host, o->port) :
	    xasprintf("%s:%s", o->host, o->port);
	return 0;
}

/* The first line of path, without its line end. */
static int
read_password(const char *path, char **password_r)
{
	char line[PASSWORD_MAX + 3];
	size_t len;
	FILE *fp;

	if ((fp = fopen(path, "re")) == NULL) {
		log_warn("%s", path);
		return -1;
	}
	if (fgets(line, sizeof(line), fp) == NULL) {
		log_warnx("%s: no password on the first line", path);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	len = strlen(line);
	if (len > 0 && line[len - 1] == '\n')
		line[--len] = '\0';
	else if (len == sizeof(line) - 1) {
		log_warnx("%s: the password is longer than %d bytes", path,
		    PASSWORD_MAX);
		explicit_bzero(line, sizeof(line));
		return -1;
	}
	if (len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	if (len == 0) {
		log_warnx("%s: the first line is empty", path);
		return -1;
	}
	*password_r = xstrdup(line);
	explicit_bzero(line, sizeof(line));
	return 0;
}

/* The options that must be given, and those that exclude each other:
 * 0, or -1 after saying what is wrong. */
static int
check_required(const struct client_cmd *cmd, const char *server,
    const char *pwfile, const struct watch_opts *o)
{
	if (server == NULL || o->user == NULL || pwfile == NULL) {
		log_warnx("%s: --server, --user and --password-file are "
		    "required", cmd->name);
		return -1;
	}
	if (o->ca_file != NULL && o->fingerprint != NULL) {
		log_warnx("%s: --ca and --tls-fingerprint exclude each other: "
		    "a pinned fingerprint replaces CA verification", cmd->name);
		return -1;
	}
	if (o->tls_mode == CLIENT_TLS_NONE &&
	    (o->ca_file != NULL || o->fingerprint != NULL)) {
		log_warnx("%s: --tls none verifies nothing: drop --ca and "
		    "--tls-fingerprint, or use TLS", cmd->name);
		return -1;
	}
	return 0;
}

/* After the options: check that the required ones are there, then
 * split the server, read the password and set up TLS. -1 to go on, or
 * the exit status (o freed). */
static int
opts_finish(const struct client_cmd *cmd, const char *server,
    const char *pwfile, struct watch_opts *o)
{
	const char *error;

	if (check_required(cmd, server, pwfile, o) < 0)
		goto usage;
	if (split_server(server, o) < 0) {
		log_warnx("%s: --server wants HOST or HOST:PORT, not '%s'",
		    cmd->name, server);
		watch_opts_free(o);
		return EX_USAGE;
	}
	if (read_password(pwfile, &o->password) < 0) {
		watch_opts_free(o);
		return EX_NOINPUT;
	}
	if (client_tls_init(&o->tls, o->tls_mode, o->ca_file, o->fingerprint,
	    &error) < 0) {
		log_warnx("%s: %s", cmd->name, error);
		watch_opts_free(o);
		return EX_NOINPUT;
	}
	return -1;
usage:
	client_cmd_usage(cmd, stderr, 0);
	watch_opts_free(o);
	return EX_USAGE;
}

int
watch_opts_parse(const struct client_cmd *cmd, bool is_watch, int argc,
    char **argv, struct watch_opts *o)
{
	static const struct option opts[] = {
		{"server", required_argument, NULL, OPT_SERVER},
		{"user", required_argument, NULL, OPT_USER},
		{"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
		{"udp-port", required_argument, NULL, OPT_UDP_PORT},
		{"json", no_argument, NULL, OPT_JSON},
		{"exec", required_argument, NULL, OPT_EXEC},
		{"tls", required_argument, NULL, OPT_TLS},
		{"ca", required_argument, NULL, OPT_CA},
		{"tls-fingerprint", required_argument, NULL,
		    OPT_TLS_FINGERPRINT},
		{"config", required_argument, NULL, 'c'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *server = NULL, *pwfile = NULL, *error;
	unsigned char fp[TLS_FINGERPRINT_LEN];
	uint64_t n;
	int ch;

	memset(o, 0, sizeof(*o));
	while ((ch = getopt_long(argc, argv, "c:hv", opts, NULL)) != -1) {
		switch (ch) {
		case OPT_SERVER:
			server = optarg;
			break;
		case OPT_USER:
			o->user = optarg;
			break;
		case OPT_PASSWORD_FILE:
			pwfile = optarg;
			break;
		case OPT_UDP_PORT:
			if (str_to_u64(optarg, 1, 65535, &n) < 0) {
				log_warnx("%s: --udp-port wants 1 to 65535, "
				    "not '%s'", cmd->name, optarg);
				return EX_USAGE;
			}
			o->udp_port = (uint16_t)n;
			break;
		case OPT_JSON:
		case OPT_EXEC:
			if (!is_watch)
				goto usage;
			if (ch == OPT_JSON)
				o->json = true;
			else
				o->exec = optarg;
			break;
		case OPT_TLS:
			if (client_tls_mode_parse(optarg, &o->tls_mode) < 0) {
				log_warnx("%s: --tls wants starttls, imaps or "
				    "none, not '%s'", cmd->name, optarg);
				goto usage;
			}
			break;
		case OPT_CA:
			o->ca_file = optarg;
			break;
		case OPT_TLS_FINGERPRINT:
			if (tls_fingerprint_parse(optarg, fp, &error) < 0) {
				log_warnx("%s: --tls-fingerprint: %s",
				    cmd->name, error);
				goto usage;
			}
			o->fingerprint = optarg;
			break;
		case 'c':
			/* accepted as everywhere; the server is --server */
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			client_cmd_usage(cmd, stdout, 1);
			return 0;
		default:
			goto usage;
		}
	}
	if (optind != argc) {
		log_warnx("%s: unexpected argument '%s'", cmd->name,
		    argv[optind]);
		goto usage;
	}
	return opts_finish(cmd, server, pwfile, o);
usage:
	client_cmd_usage(cmd, stderr, 0);
	watch_opts_free(o);
	return EX_USAGE;
}

void
watch_opts_free(struct watch_opts *o)
{
	if (o->password != NULL) {
		explicit_bzero(o->password, strlen(o->password));
		free(o->password);
	}
	free(o->host);
	free(o->port);
	free(o->server_text);
	client_tls_deinit(&o->tls);
	memset(o, 0, sizeof(*o));
}
