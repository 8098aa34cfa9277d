/*
 * mailbell: the command line tool for users and administrators. main()
 * reads the options before the subcommand, finds it in the table and
 * hands it the rest of the command line.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/client.h"
#include "lib/config.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/privdrop.h"
#include "lib/xmalloc.h"

#ifndef MAILBELL_VERSION
#define MAILBELL_VERSION "unknown"
#endif

static int cmd_help(struct client_ctx *, int, char **);

static const struct client_cmd cmd_help_entry = {
	"help", "help [COMMAND]", "show help for mailbell or a command",
	"", cmd_help,
};

/* Every subcommand, in the order `mailbell --help` lists them. */
static const struct client_cmd *const client_cmds[] = {
	&cmd_user_entry,
	&cmd_ports_entry,
	&cmd_deliver_entry,
	&cmd_config_entry,
	&cmd_watch_entry,
	&cmd_doctor_entry,
	&cmd_status_entry,
	&cmd_cluster_entry,
	&cmd_help_entry,
};

#define CLIENT_CMD_COUNT (sizeof(client_cmds) / sizeof(client_cmds[0]))

static void
usage(FILE *fp)
{
	size_t i;

	fprintf(fp,
	    "usage: mailbell [-c FILE] COMMAND [ARGS...]\n"
	    "       mailbell --help | --version\n"
	    "\n"
	    "Commands:\n");
	for (i = 0; i < CLIENT_CMD_COUNT; i++)
		fprintf(fp, "  %-9s %s\n", client_cmds[i]->name,
		    client_cmds[i]->summary);
	fprintf(fp,
	    "\n"
	    "Options (before or after the command):\n"
	    "  -c, --config FILE  configuration file (default: the embedded\n"
	    "                     configuration, see mailbell.conf(5))\n"
	    "  -h, --help         this help; `mailbell COMMAND --help` for a "
	    "command\n"
	    "  -V, --version      print the version\n"
	    "\n"
	    "Exit status follows sysexits(3): 0 success, 64 usage error,\n"
	    "78 bad configuration; see mailbell(1) for each command.\n");
}

void
client_cmd_usage(const struct client_cmd *cmd, FILE *fp, int full)
{
	fprintf(fp, "usage: mailbell %s\n", cmd->usage);
	if (full && cmd->help[0] != '\0')
		fprintf(fp, "\n%s", cmd->help);
}

static const struct client_cmd *
client_cmd_find(const char *name)
{
	size_t i;

	for (i = 0; i < CLIENT_CMD_COUNT; i++)
		if (strcmp(client_cmds[i]->name, name) == 0)
			return client_cmds[i];
	return NULL;
}

int
client_plain_options(struct client_ctx *ctx, const struct client_cmd *cmd,
    int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			ctx->config_path = optarg;
			break;
		case 'h':
			client_cmd_usage(cmd, stdout, 1);
			return 0;
		default:
			client_cmd_usage(cmd, stderr, 0);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		client_cmd_usage(cmd, stderr, 0);
		return EX_USAGE;
	}
	return -1;
}

int
client_load_config(const struct client_ctx *ctx, struct mb_config **cfg_r)
{
	const char *error;

	if (config_load(ctx->config_path, cfg_r, &error) < 0) {
		log_warnx("%s", error);
		return EX_CONFIG;
	}
	return 0;
}

int
client_become_server_user(const struct mb_config *cfg)
{
	const char *dirs[2], *error, *user = cfg->user;
	char *mail_root;
	int ret = 0;

	if (!privdrop_running_as_root())
		return 0;
	/* As mailbelld does: root without [server] user becomes the
	 * system account, so what it writes stays readable to the daemon. */
	if (user == NULL)
		user = privdrop_default_user();
	mail_root = config_mail_root(cfg);
	dirs[0] = cfg->data_dir;
	dirs[1] = mail_root;
	if (mkdir_p(mail_root, 0700) < 0) {
		log_warn("%s", mail_root);
		ret = EX_TEMPFAIL;
	} else if (privdrop_to(user, dirs, 2, &error) < 0) {
		log_warnx("cannot become user %s%s: %s", user,
		    cfg->user != NULL ? " ([server] user)" : "", error);
		ret = EX_TEMPFAIL;
	}
	free(mail_root);
	return ret;
}

static int
cmd_help(struct client_ctx *ctx, int argc, char **argv)
{
	const struct client_cmd *cmd;

	(void)ctx;
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (argc > 2 || (cmd = client_cmd_find(argv[1])) == NULL) {
		log_warnx("help: unknown command '%s'", argv[1]);
		usage(stderr);
		return EX_USAGE;
	}
	client_cmd_usage(cmd, stdout, 1);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct client_ctx ctx = {NULL};
	const struct client_cmd *cmd;
	int ch;

	log_init("mailbell", false);
	/* "+": stop at the subcommand; its options are its own */
	while ((ch = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			ctx.config_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("mailbell %s\n", MAILBELL_VERSION);
			return 0;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind == argc) {
		usage(stderr);
		return EX_USAGE;
	}
	if ((cmd = client_cmd_find(argv[optind])) == NULL) {
		log_warnx("unknown command '%s'", argv[optind]);
		usage(stderr);
		return EX_USAGE;
	}
	argc -= optind;
	argv += optind;
	optind = 0;		/* GNU getopt: start afresh for the command */
	return cmd->run(&ctx, argc, argv);
}
