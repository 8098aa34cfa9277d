/*
 * The `mailbell` command line tool: one table of subcommands (after
 * tmux's cmd_entry), each in its own cmd-*.c file, and the few helpers
 * they share.
 */
#ifndef MB_CLIENT_CLIENT_H
#define MB_CLIENT_CLIENT_H

#include <stdio.h>
#include <sysexits.h>

struct mb_config;

/* What the command line said before the subcommand ran. */
struct client_ctx {
	const char *config_path; /* -c FILE, or NULL for the default */
};

/*
 * A subcommand. argv[0] is the subcommand's name and argv[argc] is NULL;
 * the handler parses its own options (each accepts -c FILE and --help,
 * client_plain_options) and returns the process exit status, a sysexits(3)
 * code on failure.
 */
typedef int client_cmd_func(struct client_ctx *ctx, int argc, char **argv);

struct client_cmd {
	const char *name;	/* "user" */
	const char *usage;	/* synopsis after "mailbell " */
	const char *summary;	/* one line for `mailbell --help` */
	const char *help;	/* the rest of `mailbell CMD --help` */
	client_cmd_func *run;
};

extern const struct client_cmd cmd_user_entry;
extern const struct client_cmd cmd_ports_entry;
extern const struct client_cmd cmd_deliver_entry;
extern const struct client_cmd cmd_config_entry;
extern const struct client_cmd cmd_watch_entry;
extern const struct client_cmd cmd_doctor_entry;
extern const struct client_cmd cmd_status_entry;
extern const struct client_cmd cmd_cluster_entry;

/* Print cmd's usage (and its help text if full) to fp. */
void client_cmd_usage(const struct client_cmd *cmd, FILE *fp, int full);

/*
 * The options of a command that takes only -c FILE and --help, and no
 * arguments: returns -1 to go on, or the exit status the command should
 * return (0 after printing its help, EX_USAGE after a usage error).
 */
int client_plain_options(struct client_ctx *ctx, const struct client_cmd *cmd,
    int argc, char **argv);

/*
 * Load ctx's configuration (the embedded default without -c). On error
 * prints "mailbell: FILE:LINE: ..." to stderr and returns EX_CONFIG;
 * otherwise returns 0 with *cfg_r set.
 */
int client_load_config(const struct client_ctx *ctx,
    struct mb_config **cfg_r);

/*
 * When run as root, create the data dir and mail root and become
 * [server] user, or without one the account mailbelld would run as
 * (privdrop_default_user()), so that files we create belong to the
 * account mailbelld runs as. Returns 0, or EX_TEMPFAIL after printing
 * why.
 */
int client_become_server_user(const struct mb_config *cfg);

#endif
