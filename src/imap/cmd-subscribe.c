/*
 * SUBSCRIBE and UNSUBSCRIBE (RFC 3501 6.3.6, 6.3.7): the folder need not
 * exist (a client may subscribe before creating, or keep a deleted
 * folder's subscription, as RFC 3501 allows).
 */
#include "imap/imap-commands.h"
#include "imap/imap-wire.h"

#include <string.h>

#include "store/store.h"

void
cmd_subscribe(struct imap_cmd *cmd)
{
	struct imap_session *session = cmd->session;
	bool subscribe = strcmp(cmd->name, "SUBSCRIBE") == 0;
	char name[FOLDER_NAME_MAX + 1];
	const char *wire, *error;

	if (cmd->args_count != 1 ||
	    !imap_arg_get_astring(&cmd->args[0], &wire)) {
		imap_cmd_tagged(cmd, "BAD", NULL, "%s needs a mailbox name",
		    cmd->name);
		return;
	}
	if (imap_mailbox_from_wire(wire, name, &error) < 0) {
		imap_cmd_tagged(cmd, "NO", "CANNOT", "%s", error);
		return;
	}
	if (store_subscription_set(session->server->deps.store, session->user,
	    name, subscribe, &error) < 0) {
		imap_cmd_store_error(cmd, subscribe ? "subscribe" :
		    "unsubscribe", error);
		return;
	}
	imap_cmd_tagged(cmd, "OK", NULL, "%s completed", subscribe ?
	    "Subscribe" : "Unsubscribe");
}
