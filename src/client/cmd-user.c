/*
 * `mailbell user add|del|list|passwd`: edit the passwd file that
 * mailbelld reads (it notices changes without a restart). Passwords come
 * from one line of stdin or from the terminal with echo off, asked twice.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "client/client.h"
#include "directory/directory.h"
#include "lib/config.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "store/store.h"

static int cmd_user(struct client_ctx *, int, char **);

const struct client_cmd cmd_user_entry = {
	"user",
	"user add|passwd NAME [--password-stdin] [-c FILE]\n"
	"       mailbell user del NAME [-c FILE]\n"
	"       mailbell user list [-c FILE]",
	"add, delete, list users or change a password",
	"  add NAME       add a user and create its Maildir\n"
	"  passwd NAME    change a user's password\n"
	"  del NAME       remove a user from the passwd file (mail is kept)\n"
	"  list           print every user name, one per line\n"
	"\n"
	"  --password-stdin  read the password from the first line of stdin\n"
	"                    (its newline is stripped); otherwise it is asked\n"
	"                    for twice on the terminal, without echo\n"
	"  -c FILE           configuration file (the passwd file is\n"
	"                    <data_dir>/passwd)\n"
	"\n"
	"User names are 1-64 lowercase letters, digits, '.', '_' or '-'.\n"
	"Passwords are stored as {SHA512-CRYPT} hashes, as Dovecot does.\n"
	"Exit status: 0 done, 64 usage, 65 bad name or password, 67 no such\n"
	"user, 73 user exists, 74 the passwd file cannot be written,\n"
	"78 bad configuration.\n",
	cmd_user,
};

/* Set by the signal handler while a password is read with echo off. */
static volatile sig_atomic_t user_interrupted;

static void
user_signal_cb(int sig)
{
	user_interrupted = sig;
}

/* Strip one trailing "\n" (or "\r\n"). */
static void
chomp(char *s, size_t *len)
{
	if (*len > 0 && s[*len - 1] == '\n')
		s[--*len] = '\0';
	if (*len > 0 && s[*len - 1] == '\r')
		s[--*len] = '\0';
}

/* Read one line from fd into buf (PASSWORD_MAX + 2 bytes), byte by byte
 * so nothing after the line is consumed. 0, or -1 (error or too long). */
static int
read_line(int fd, char *buf, size_t size, const char **error_r)
{
	size_t len = 0;
	ssize_t n;
	char c;

	for (;;) {
		n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR && !user_interrupted)
			continue;
		if (n < 0) {
			*error_r = user_interrupted ? "interrupted" :
			    error_fmt("%s", strerror(errno));
			return -1;
		}
		if (n == 0 || c == '\n')
			break;
		if (len + 1 >= size) {
			*error_r = "password too long";
			return -1;
		}
		buf[len++] = c;
	}
	buf[len] = '\0';
	chomp(buf, &len);
	return 0;
}

/* Ask for a password on the terminal with echo off. */
static int
prompt(int tty, const char *text, char *buf, size_t size,
    const char **error_r)
{
	struct termios saved, noecho;
	struct sigaction sa, old_int, old_term, old_hup;
	int ret;

	if (tcgetattr(tty, &saved) < 0) {
		*error_r = error_fmt("%s", strerror(errno));
		return -1;
	}
	/* catch signals so the terminal gets its echo back */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = user_signal_cb;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);
	noecho = saved;
	noecho.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	(void)!write(tty, text, strlen(text));
	if (tcsetattr(tty, TCSAFLUSH, &noecho) < 0) {
		*error_r = error_fmt("%s", strerror(errno));
		ret = -1;
	} else {
		ret = read_line(tty, buf, size, error_r);
		(void)tcsetattr(tty, TCSAFLUSH, &saved);
	}
	(void)!write(tty, "\n", 1);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	if (user_interrupted)
		raise((int)user_interrupted);
	return ret;
}

/* The new password into buf: from stdin or asked twice. Returns 0 or an
 * exit status. */
static int
get_password(bool from_stdin, char *buf, size_t size)
{
	char again[PASSWORD_MAX + 2];
	const char *error = NULL;
	int tty, ret = 0;

	if (from_stdin) {
		if (read_line(STDIN_FILENO, buf, size, &error) < 0) {
			log_warnx("reading the password from stdin: %s", error);
			return EX_DATAERR;
		}
	} else {
		if ((tty = open("/dev/tty", O_RDWR | O_CLOEXEC)) < 0) {
			log_warnx("no terminal to ask for the password; use "
			    "--password-stdin");
			return EX_USAGE;
		}
		if (prompt(tty, "New password: ", buf, size, &error) < 0 ||
		    prompt(tty, "Retype new password: ", again, sizeof(again),
		    &error) < 0) {
			log_warnx("reading the password: %s", error);
			ret = EX_DATAERR;
		} else if (strcmp(buf, again) != 0) {
			log_warnx("the passwords do not match");
			ret = EX_DATAERR;
		}
		explicit_bzero(again, sizeof(again));
		close(tty);
		if (ret != 0)
			return ret;
	}
	if (buf[0] == '\0') {
		log_warnx("empty password");
		return EX_DATAERR;
	}
	return 0;
}

static void
print_user_cb(const char *user, void *ctx)
{
	(void)ctx;
	printf("%s\n", user);
}

/* Add the user: its Maildir first (creating one that exists is a no-op),
 * so a user is never listed without a place for mail. */
static int
user_add(struct mb_config *cfg, struct directory *dir, const char *name,
    const char *password)
{
	const char *error;
	struct store *store;
	char *root;
	int ret;

	root = config_mail_root(cfg);
	store = store_new(root, cfg->hostname);
	ret = store_user_create(store, name, &error);
	store_free(&store);
	if (ret < 0) {
		log_warnx("creating the Maildir of %s under %s: %s", name, root,
		    error);
		free(root);
		return EX_CANTCREAT;
	}
	free(root);
	if (directory_user_add(dir, name, password, &error) < 0) {
		log_warnx("user add %s: %s", name, error);
		return EX_IOERR;
	}
	return 0;
}

/* Carry out action (list, add, del, passwd) on the open directory.
 * Returns the exit status. */
static int
user_action(struct mb_config *cfg, struct directory *dir,
    const char *action, const char *name, bool from_stdin)
{
	char password[PASSWORD_MAX + 2];
	const char *error;
	int ret = 0;

	if (strcmp(action, "list") == 0) {
		if (directory_user_list(dir, print_user_cb, NULL, &error) < 0) {
			log_warnx("%s", error);
			ret = EX_IOERR;
		}
		goto out;
	}
	if (strcmp(action, "add") == 0 && directory_user_exists(dir, name)) {
		log_warnx("user %s already exists", name);
		ret = EX_CANTCREAT;
		goto out;
	}
	if (strcmp(action, "add") != 0 && !directory_user_exists(dir, name)) {
		log_warnx("no such user: %s", name);
		ret = EX_NOUSER;
		goto out;
	}
	if (strcmp(action, "del") == 0) {
		if (directory_user_del(dir, name, &error) < 0) {
			log_warnx("user del %s: %s", name, error);
			ret = EX_IOERR;
		}
		goto out;
	}
	if ((ret = get_password(from_stdin, password, sizeof(password))) != 0)
		goto out;
	if (strcmp(action, "add") == 0)
		ret = user_add(cfg, dir, name, password);
	else if (directory_user_passwd(dir, name, password, &error) < 0) {
		log_warnx("user passwd %s: %s", name, error);
		ret = EX_IOERR;
	}
out:
	explicit_bzero(password, sizeof(password));
	return ret;
}

static int
cmd_user(struct client_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{"password-stdin", no_argument, NULL, 'p'},
		{NULL, 0, NULL, 0},
	};
	struct mb_config *cfg = NULL;
	struct directory *dir = NULL;
	const char *action, *name = NULL;
	bool from_stdin = false;
	char *passwd_path;
	int ch, ret;

	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			ctx->config_path = optarg;
			break;
		case 'h':
			client_cmd_usage(&cmd_user_entry, stdout, 1);
			return 0;
		case 'p':
			from_stdin = true;
			break;
		default:
			client_cmd_usage(&cmd_user_entry, stderr, 0);
			return EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		goto usage;
	action = argv[0];
	if (strcmp(action, "list") == 0) {
		if (argc != 1)
			goto usage;
	} else if (strcmp(action, "add") == 0 || strcmp(action, "del") == 0 ||
	    strcmp(action, "passwd") == 0) {
		if (argc != 2)
			goto usage;
		name = argv[1];
	} else {
		log_warnx("user: unknown action '%s'", action);
		goto usage;
	}

	if ((ret = client_load_config(ctx, &cfg)) != 0)
		return ret;
	if (name != NULL && !directory_user_name_valid(name)) {
		log_warnx("invalid user name '%s': 1-%d lowercase letters, "
		    "digits, '.', '_' or '-', not starting with '.' or '-'",
		    name, USER_NAME_MAX);
		ret = EX_DATAERR;
		goto out;
	}
	if ((ret = client_become_server_user(cfg)) != 0)
		goto out;
	passwd_path = config_passwd_path(cfg);
	dir = directory_open(passwd_path);
	free(passwd_path);

	ret = user_action(cfg, dir, action, name, from_stdin);
out:
	directory_free(&dir);
	config_free(&cfg);
	return ret;
usage:
	client_cmd_usage(&cmd_user_entry, stderr, 0);
	return EX_USAGE;
}
