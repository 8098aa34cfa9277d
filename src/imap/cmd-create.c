/*
 * CREATE (RFC 3501 6.3.3): a trailing "." only says the name is meant
 * to hold children, so it is dropped; missing parents need not be
 * created (Maildir++ lists them as \Noselect until they are). With
 * CREATE-SPECIAL-USE (RFC 6154 3), (USE (\Trash)) gives the new
 * folder special uses, or nothing is created.
 */
#include "imap/imap-commands.h"
#include "imap/imap-create-params.h"
#include "imap/imap-wire.h"

#include <string.h>

#include "lib/error.h"
#include "store/store.h"

void
cmd_create(struct imap_cmd *cmd)
{
	struct imap_session *session = cmd->session;
	char wire[FOLDER_NAME_MAX + 2], name[FOLDER_NAME_MAX + 1];
	const char *arg, *error;
	unsigned uses = 0;
	size_t len;

	if ((cmd->args_count != 1 && (cmd->args_count != 2 ||
	    cmd->args[1].type != IMAP_ARG_LIST)) ||
	    !imap_arg_get_astring(&cmd->args[0], &arg)) {
		imap_cmd_tagged(cmd, "BAD", NULL, "CREATE needs a mailbox name");
		return;
	}
	if (cmd->args_count == 2) {
		switch (imap_create_params_parse(cmd->args[1].list,
		    cmd->args[1].list_count, &uses, &error)) {
		case IMAP_CREATE_PARAMS_OK:
			break;
		case IMAP_CREATE_PARAMS_BAD:
			imap_cmd_tagged(cmd, "BAD", NULL, "%s", error);
			return;
		case IMAP_CREATE_PARAMS_USEATTR:
			imap_cmd_tagged(cmd, "NO", "USEATTR", "%s", error);
			return;
		}
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
	if (store_folder_create_special(session->server->deps.store,
	    session->user, name, uses, &error) < 0) {
		if (uses != 0 && error_code(error) == ERROR_NOT_POSSIBLE)
			imap_cmd_tagged(cmd, "NO", "USEATTR", "Special use "
			    "already given to another mailbox");
		else
			imap_cmd_store_error(cmd, "create", error);
		return;
	}
	imap_cmd_tagged(cmd, "OK", NULL, "Create completed");
}
