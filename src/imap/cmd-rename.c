/*
 * RENAME (RFC 3501 6.3.5): a folder with its children; renaming INBOX
 * moves its messages into a new folder and leaves INBOX empty. A
 * mailbox this session has selected is deselected first, since its
 * view would go away under it.
 */
#include "imap/imap-commands.h"
#include "imap/imap-wire.h"

#include <string.h>

#include "store/store.h"

/* True if name is folder or one of its children. */
static bool
within(const char *name, const char *folder)
{
	size_t len = strlen(folder);

	return strncmp(name, folder, len) == 0 &&
	    (name[len] == '\0' || name[len] == '.');
}

void
cmd_rename(struct imap_cmd *cmd)
{
	struct imap_session *session = cmd->session;
	char from[FOLDER_NAME_MAX + 1], to[FOLDER_NAME_MAX + 1];
	const char *wire_from, *wire_to, *error;

	if (cmd->args_count != 2 ||
	    !imap_arg_get_astring(&cmd->args[0], &wire_from) ||
	    !imap_arg_get_astring(&cmd->args[1], &wire_to)) {
		imap_cmd_tagged(cmd, "BAD", NULL, "RENAME needs two mailbox "
		    "names");
		return;
	}
	if (imap_mailbox_from_wire(wire_from, from, &error) < 0 ||
	    imap_mailbox_from_wire(wire_to, to, &error) < 0) {
		imap_cmd_tagged(cmd, "NO", "CANNOT", "%s", error);
		return;
	}
	if (strcmp(to, STORE_INBOX) == 0) {
		imap_cmd_tagged(cmd, "NO", "ALREADYEXISTS", "INBOX always "
		    "exists");
		return;
	}
	if (session->mailbox != NULL && within(session->mailbox, from) &&
	    strcmp(from, STORE_INBOX) != 0)
		imap_session_unselect(session);
	if (store_folder_rename(session->server->deps.store, session->user,
	    from, to, &error) < 0) {
		imap_cmd_store_error(cmd, "rename", error);
		return;
	}
	imap_cmd_tagged(cmd, "OK", NULL, "Rename completed");
}
