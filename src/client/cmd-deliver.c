/*
 * `mailbell deliver`: a local delivery agent for Postfix's
 * mailbox_command, procmail or a .forward pipe. It reads one message from
 * stdin, checks it, prepends Return-Path and Delivered-To and stores it
 * through the same durable path as LMTP (store_job_run: fsync before
 * success). The exit status is a sysexits(3) code the MTA understands.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/client.h"
#include "directory/directory.h"
#include "lib/buf.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "store/store.h"

/* Bytes read from stdin per read(2). */
#define DELIVER_READ_CHUNK (64 * 1024)

static int cmd_deliver(struct client_ctx *, int, char **);

const struct client_cmd cmd_deliver_entry = {
	"deliver",
	"deliver [-c FILE] [-f SENDER] [-m FOLDER] RECIPIENT < MESSAGE",
	"deliver one message from stdin (a local delivery agent)",
	"Stores the message on stdin for RECIPIENT (\"user@domain\" with a\n"
	"domain from [server] domains, or a bare user name), with Return-Path\n"
	"and Delivered-To prepended, durably, as LMTP does. The bytes are kept\n"
	"as given (LF line ends, as Maildir expects from a local pipe); a\n"
	"leading mbox \"From \" line is removed.\n"
	"\n"
	"  -f SENDER  envelope sender for Return-Path (default: $SENDER, then\n"
	"             the \"From \" line, then <>)\n"
	"  -m FOLDER  folder to deliver to, created if missing (default INBOX;\n"
	"             hierarchy separator '.')\n"
	"  -c FILE    configuration file\n"
	"\n"
	"Exit status: 0 delivered, 64 usage, 65 bad message (empty, larger than\n"
	"[lmtp] max_message_size, NUL bytes, no header or no empty line after\n"
	"it), 67 no such user, 75 temporary failure (the store could not write\n"
	"it; the MTA retries), 78 bad configuration.\n"
	"\n"
	"Postfix main.cf:  mailbox_command = /usr/bin/mailbell deliver "
	"-c /etc/mailbell.conf \"$RECIPIENT\"\n",
	cmd_deliver,
};

/* An address from the command line or the environment: "<a>" or "a",
 * printable, at most ADDRESS_MAX bytes. Returns the address without the
 * brackets (malloc'd) or NULL. */
static char *
address_clean(const char *s)
{
	size_t i, len = strlen(s);

	if (len >= 2 && s[0] == '<' && s[len - 1] == '>') {
		s++;
		len -= 2;
	}
	if (len > ADDRESS_MAX)
		return NULL;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || c == '<' || c == '>')
			return NULL;
	}
	return xstrndup(s, len);
}

/*
 * Check that msg looks like an RFC 5322 message: no NUL bytes, a header
 * of "name: value" fields (with folded continuation lines) and an empty
 * line before the body. Returns 0, or -1 with *reason_r set.
 */
static int
message_check(const unsigned char *msg, size_t len, const char **reason_r)
{
	const unsigned char *p = msg, *end = msg + len, *nl;
	size_t line = 0;

	if (len == 0) {
		*reason_r = "empty message";
		return -1;
	}
	if (memchr(msg, '\0', len) != NULL) {
		*reason_r = "message contains NUL bytes";
		return -1;
	}
	while (p < end) {
		const unsigned char *q;

		nl = memchr(p, '\n', (size_t)(end - p));
		line++;
		if (nl == NULL)
			break;
		if (nl == p || (nl == p + 1 && p[0] == '\r'))
			return 0;	/* the empty line */
		if (p[0] == ' ' || p[0] == '\t') {
			if (line == 1) {
				*reason_r = "message starts with a "
				    "continuation line, not a header field";
				return -1;
			}
			p = nl + 1;
			continue;
		}
		/* RFC 5322 2.2: field name is printable US-ASCII but ':' */
		for (q = p; q < nl && *q >= 33 && *q <= 126 && *q != ':'; q++)
			;
		if (q == p || q == nl || *q != ':') {
			*reason_r = line == 1 ? "message does not start with a "
			    "header field" : "a header line is not a "
			    "\"name: value\" field";
			return -1;
		}
		p = nl + 1;
	}
	*reason_r = "no empty line between the header and the body";
	return -1;
}

/* Read all of stdin into b (bounded by b->max). 0, 1 if too large, or -1
 * on a read error. */
static int
read_message(struct buf *b)
{
	unsigned char chunk[DELIVER_READ_CHUNK];
	ssize_t n;

	for (;;) {
		n = read(STDIN_FILENO, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		if (buf_append(b, chunk, (size_t)n) < 0)
			return 1;
	}
}

/* Remove a leading mbox "From sender date" line, returning the sender it
 * names (malloc'd) or NULL. */
static char *
strip_from_line(struct buf *b)
{
	unsigned char *nl;
	char *sender = NULL, *sp;
	size_t skip;

	if (b->len < 5 || memcmp(b->data, "From ", 5) != 0 ||
	    (nl = memchr(b->data, '\n', b->len)) == NULL)
		return NULL;
	skip = (size_t)(nl - b->data) + 1;
	sp = xstrndup((const char *)b->data + 5, skip - 6);
	sp[strcspn(sp, " \t\r")] = '\0';
	if (sp[0] != '\0')
		sender = address_clean(sp);
	free(sp);
	memmove(b->data, b->data + skip, b->len - skip + 1);
	b->len -= skip;
	return sender;
}

static int
deliver(const struct mb_config *cfg, const char *user, const char *folder,
    const char *recipient, char *sender)
{
	struct store_job *job = NULL;
	struct store *store = NULL;
	const char *reason, *eol;
	uint32_t uidvalidity, uid;
	const unsigned char *nl;
	char *root, *prefix = NULL, *from_sender = NULL;
	struct buf b;
	int ret;

	buf_init(&b, cfg->lmtp_max_message_size);
	if ((ret = read_message(&b)) != 0) {
		if (ret < 0) {
			log_warn("reading the message from stdin");
			ret = EX_TEMPFAIL;
		} else {
			log_warnx("message larger than [lmtp] "
			    "max_message_size (%llu bytes)",
			    (unsigned long long)cfg->lmtp_max_message_size);
			ret = EX_DATAERR;
		}
		buf_free(&b);
		return ret;
	}
	from_sender = strip_from_line(&b);
	if (message_check(b.data, b.len, &reason) < 0) {
		log_warnx("rejected: %s", reason);
		buf_free(&b);
		free(from_sender);
		return EX_DATAERR;
	}
	if (sender == NULL)
		sender = from_sender;
	/* our header lines end as the message's first line does */
	nl = memchr(b.data, '\n', b.len);
	eol = nl != NULL && nl > b.data && nl[-1] == '\r' ? "\r\n" : "\n";
	prefix = xasprintf("Return-Path: <%s>%sDelivered-To: %s%s",
	    sender != NULL ? sender : "", eol, recipient, eol);
	free(from_sender);

	root = config_mail_root(cfg);
	store = store_new(root, cfg->hostname);
	free(root);
	if ((strcmp(folder, STORE_INBOX) == 0 ?
	    store_user_create(store, user, &reason) :
	    store_folder_create(store, user, folder, &reason)) < 0) {
		log_warnx("cannot create %s of %s: %s", folder, user, reason);
		buf_free(&b);
		ret = EX_TEMPFAIL;
		goto out;
	}
	/* the job owns the message bytes from here on */
	job = store_job_new(b.data, b.len);
	store_job_add_target(job, user, folder, prefix);
	if (store_job_run(store, job) < 0) {
		(void)store_job_result(job, 0, &uidvalidity, &uid, &reason);
		log_warnx("cannot store the message for %s: %s", user, reason);
		ret = EX_TEMPFAIL;
		goto out;
	}
	ret = 0;
out:
	store_job_free(&job);
	store_free(&store);
	free(prefix);
	return ret;
}

static int
cmd_deliver(struct client_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *folder = STORE_INBOX, *env;
	char user[USER_NAME_MAX + 1];
	char *sender = NULL, *recipient = NULL, *passwd_path;
	struct mb_config *cfg = NULL;
	struct directory *dir;
	int ch, ret;

	while ((ch = getopt_long(argc, argv, "c:f:hm:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			ctx->config_path = optarg;
			break;
		case 'f':
			free(sender);
			if ((sender = address_clean(optarg)) == NULL) {
				log_warnx("-f: not a valid sender address");
				return EX_USAGE;
			}
			break;
		case 'h':
			client_cmd_usage(&cmd_deliver_entry, stdout, 1);
			free(sender);
			return 0;
		case 'm':
			folder = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (optind + 1 != argc)
		goto usage;
	if (!store_folder_name_valid(folder)) {
		log_warnx("-m: invalid folder name '%s'", folder);
		goto usage;
	}
	if ((recipient = address_clean(argv[optind])) == NULL ||
	    recipient[0] == '\0') {
		log_warnx("invalid recipient address");
		goto usage;
	}
	if (sender == NULL && (env = getenv("SENDER")) != NULL &&
	    (sender = address_clean(env)) == NULL) {
		log_warnx("$SENDER is not a valid sender address");
		free(recipient);
		return EX_DATAERR;
	}

	if ((ret = client_load_config(ctx, &cfg)) != 0 ||
	    (ret = client_become_server_user(cfg)) != 0)
		goto out;
	passwd_path = config_passwd_path(cfg);
	dir = directory_open(passwd_path);
	free(passwd_path);
	ret = directory_resolve(dir, cfg, recipient, user);
	directory_free(&dir);
	if (ret < 0) {
		log_warnx("no such user: %s", recipient);
		ret = EX_NOUSER;
		goto out;
	}
	ret = deliver(cfg, user, folder, recipient, sender);
out:
	config_free(&cfg);
	free(sender);
	free(recipient);
	return ret;
usage:
	free(sender);
	free(recipient);
	client_cmd_usage(&cmd_deliver_entry, stderr, 0);
	return EX_USAGE;
}
