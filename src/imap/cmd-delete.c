/*
 * DELETE (RFC 3501 6.3.4): remove a folder and its messages; its
 * children stay (and it is then listed \Noselect). Deleting the
 * mailbox this session has selected deselects it first.
 */
#include "imap/imap-commands.h"
#include "imap/imap-wire.h"

#include <string.h>

#include "store/store.h"

void
cmd_delete(struct imap_cmd *cmd)
{
	struct imap_session *session = cmd->session;
	char name[FOLDER_NAME_MAX + 1];
	const char *wire, *error;

	if (cmd->args_count != 1 ||
	    !imap_arg_get_astring(&cmd->args[0], &wire)) {
		imap_cmd_tagged(cmd, "BAD", NULL, "DELETE needs a mailbox name");
		return;
	}
	if (imap_mailbox_from_wire(wire, name, &error) < 0) {
		imap_cmd_tagged(cmd, "NO", "CANNOT", "%s", error);
		return;
	}
	if (strcmp(name, STORE_INBOX) == 0) {
		imap_cmd_tagged(cmd, "NO", "CANNOT", "INBOX cannot be deleted");
		return;
	}
	if (session->mailbox != NULL && strcmp(session->mailbox, name) == 0)
		imap_session_unselect(session);
	if (store_folder_delete(session->server->deps.store, session->user,
	    name, &error) < 0) {
		imap_cmd_store_error(cmd, "delete", error);
		return;
	}
	imap_cmd_tagged(cmd, "OK", NULL, "Delete completed");
}
