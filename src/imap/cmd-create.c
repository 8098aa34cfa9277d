/*
 * CREATE (RFC 3501 6.3.3): a trailing "." only says the name is meant
 * to hold children, so it is dropped; missing parents need not be
 * created (Maildir++ lists them as \Noselect until they are).
 */
#include "imap/imap-commands.h"
#include "imap/imap-wire.h"

#include <string.h>

#include "store/store.h"

void
cmd_create(struct imap_cmd *cmd)
{
	struct imap_session *session = cmd->session;
	char wire[FOLDER_NAME_MAX + 2], name[FOLDER_NAME_MAX + 1];
	const char *arg, *error;
	size_t len;

	if (cmd->args_count != 1 ||
	    !imap_arg_get_astring(&cmd->args[0], &arg)) {
		imap_cmd_tagged(cmd, "BAD", NULL, "CREATE needs a mailbox name");
		return;
	}
	len = strlen(arg);
	if (len > FOLDER_NAME_MAX + 1) {
		imap_cmd_tagged(cmd, "NO", "CANNOT", "Mailbox name too long");
		return;
	}
	memcpy(wire, arg, len + 1);
	if (len > 1 && wire[len - 1] == '.')
		wire[len - 1] = '\0';
	if (imap_mailbox_from_wire(wire, name, &error) < 0) {
		imap_cmd_tagged(cmd, "NO", "CANNOT", "%s", error);
		return;
	}
	if (strcmp(name, STORE_INBOX) == 0) {
		imap_cmd_tagged(cmd, "NO", "ALREADYEXISTS", "INBOX always "
		    "exists");
		return;
	}
	if (store_folder_create_new(session->server->deps.store,
	    session->user, name, &error) < 0) {
		imap_cmd_store_error(cmd, "create", error);
		return;
	}
	imap_cmd_tagged(cmd, "OK", NULL, "Create completed");
}
