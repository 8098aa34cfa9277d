/*
 * XBELL (doc/notify-protocol.md section 2): register for UDP new-mail
 * notifications, or end a registration. The notifier itself lies beyond
 * the hooks in deps.xbell; this file checks the arguments and the
 * folders and writes the answer.
 */
#include "imap/imap-commands.h"
#include "imap/imap-wire.h"

#include <stdlib.h>
#include <string.h>

#include "lib/limits.h"
#include "lib/xmalloc.h"
#include "store/store.h"

/* "NO" for a failed hook call. */
static void
xbell_no(struct imap_cmd *cmd, enum imap_xbell_result res)
{
	switch (res) {
	case IMAP_XBELL_LIMIT:
		imap_cmd_tagged(cmd, "NO", "LIMIT", "Too many XBELL "
		    "registrations");
		break;
	case IMAP_XBELL_NONEXISTENT:
		imap_cmd_tagged(cmd, "NO", "NONEXISTENT", "No such XBELL "
		    "registration");
		break;
	default:
		imap_cmd_tagged(cmd, "NO", "UNAVAILABLE", "XBELL is not "
		    "available now");
		break;
	}
}

static void
xbell_register(struct imap_cmd *cmd, const struct imap_xbell_ops *ops)
{
	struct imap_session *session = cmd->session;
	struct store *store = session->server->deps.store;
	struct imap_xbell_registration reg;
	char (*names)[FOLDER_NAME_MAX + 1] = NULL;
	const char *folders[NOTIFY_REG_FOLDERS_MAX];
	const struct imap_arg *list = NULL;
	unsigned int i, n = 0, count = 0;
	enum imap_xbell_result res;
	const char *wire, *error;
	char line[256];
	int len;

	if (cmd->args_count == 2) {
		if (cmd->args[1].type != IMAP_ARG_LIST ||
		    cmd->args[1].list_count == 0) {
			imap_cmd_tagged(cmd, "BAD", NULL, "XBELL REGISTER "
			    "takes a list of mailboxes");
			return;
		}
		list = cmd->args[1].list;
		count = cmd->args[1].list_count;
	} else if (cmd->args_count != 1) {
		imap_cmd_tagged(cmd, "BAD", NULL, "XBELL REGISTER takes at "
		    "most a list of mailboxes");
		return;
	}
	if (count > NOTIFY_REG_FOLDERS_MAX) {
		imap_cmd_tagged(cmd, "NO", "LIMIT", "At most %d mailboxes; "
		    "register without a list for all of them",
		    NOTIFY_REG_FOLDERS_MAX);
		return;
	}
	if (count > 0)
		names = xcalloc(count, sizeof(*names));
	for (i = 0; i < count; i++) {
		unsigned int j;

		if (!imap_arg_get_astring(&list[i], &wire)) {
			imap_cmd_tagged(cmd, "BAD", NULL, "XBELL REGISTER "
			    "takes a list of mailboxes");
			goto out;
		}
		if (imap_mailbox_from_wire(wire, names[n], &error) < 0) {
			imap_cmd_tagged(cmd, "NO", "CANNOT", "%s", error);
			goto out;
		}
		/* A proxied user's folders are on the user's node; a
		 * name that is not there never gets an event. */
		if (session->proxy == NULL &&
		    !store_folder_exists(store, session->user, names[n])) {
			imap_cmd_tagged(cmd, "NO", "NONEXISTENT", "No such "
			    "mailbox");
			goto out;
		}
		for (j = 0; j < n; j++)
			if (strcmp(folders[j], names[n]) == 0)
				break;
		if (j == n) {
			folders[n] = names[n];
			n++;
		}
	}

	res = ops->reg(ops->ctx, session->user, folders, n, &reg);
	if (res != IMAP_XBELL_OK) {
		xbell_no(cmd, res);
		goto out;
	}
	len = snprintf(line, sizeof(line), "* XBELL REGISTERED (VERSION %u "
	    "ID \"%s\" KEY \"%s\" PORT %u KEEPALIVE %u LEASE %u EPOCH %u)"
	    "\r\n", reg.version, reg.id, reg.key, reg.port, reg.keepalive,
	    reg.lease, (unsigned)reg.epoch);
	if (len > 0 && (size_t)len < sizeof(line))
		imap_session_write(session, line, (size_t)len);
	explicit_bzero(line, sizeof(line));
	explicit_bzero(&reg, sizeof(reg));
	if (len <= 0 || (size_t)len >= sizeof(line))
		imap_cmd_tagged(cmd, "NO", "SERVERBUG", "XBELL failed");
	else
		imap_cmd_tagged(cmd, "OK", NULL, "XBELL registered");
out:
	free(names);
}

static void
xbell_unregister(struct imap_cmd *cmd, const struct imap_xbell_ops *ops)
{
	enum imap_xbell_result res;
	const char *id;

	if (cmd->args_count != 2 || !imap_arg_get_astring(&cmd->args[1], &id)) {
		imap_cmd_tagged(cmd, "BAD", NULL, "XBELL UNREGISTER takes a "
		    "registration id");
		return;
	}
	res = ops->unreg(ops->ctx, cmd->session->user, id);
	if (res != IMAP_XBELL_OK) {
		xbell_no(cmd, res);
		return;
	}
	imap_cmd_tagged(cmd, "OK", NULL, "XBELL unregistered");
}

/*
 * Whether REGISTER's answer, a key, may cross this session: inside TLS,
 * or in clear to a loopback peer where [imap] plaintext_auth lets
 * secrets go in clear at all. plaintext_auth = yes lets passwords cross
 * a network in clear for clients that cannot speak TLS; every XBELL
 * client can, and a key read off the wire lets its reader follow the
 * user's mail and forge datagrams for as long as the lease lives.
 */
static bool
key_may_cross(const struct imap_session *session)
{
	return imap_session_secure(session) &&
	    (session->ssl != NULL || session->loopback);
}

void
cmd_xbell(struct imap_cmd *cmd)
{
	const struct imap_xbell_ops *ops = cmd->session->server->deps.xbell;

	if (ops == NULL) {
		imap_cmd_tagged(cmd, "BAD", NULL, "Unknown command");
		return;
	}
	/* REGISTER's answer is a key: never in clear off loopback. */
	if (cmd->args_count >= 1 &&
	    imap_arg_atom_equals(&cmd->args[0], "REGISTER") &&
	    !key_may_cross(cmd->session))
		imap_cmd_tagged(cmd, "NO", "PRIVACYREQUIRED", "XBELL REGISTER "
		    "needs TLS: use STARTTLS or the IMAPS port");
	else if (cmd->args_count >= 1 &&
	    imap_arg_atom_equals(&cmd->args[0], "REGISTER"))
		xbell_register(cmd, ops);
	else if (cmd->args_count >= 1 &&
	    imap_arg_atom_equals(&cmd->args[0], "UNREGISTER"))
		xbell_unregister(cmd, ops);
	else
		imap_cmd_tagged(cmd, "BAD", NULL, "XBELL REGISTER or XBELL "
		    "UNREGISTER");
}
