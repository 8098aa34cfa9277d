/*
 * STATUS (RFC 3501 6.3.10): counts of a folder without selecting it,
 * from the store's shared index; the items in the order asked for.
 */
#include "imap/imap-commands.h"
#include "imap/imap-wire.h"

#include "lib/buf.h"
#include "store/store.h"

void
cmd_status(struct imap_cmd *cmd)
{
	struct imap_session *session = cmd->session;
	char name[FOLDER_NAME_MAX + 1];
	const struct imap_arg *items;
	struct store_status st;
	const char *wire, *error;
	struct buf b;
	int ok = 0;

	if (cmd->args_count != 2 ||
	    !imap_arg_get_astring(&cmd->args[0], &wire) ||
	    cmd->args[1].type != IMAP_ARG_LIST ||
	    cmd->args[1].list_count == 0) {
		imap_cmd_tagged(cmd, "BAD", NULL, "STATUS needs a mailbox name "
		    "and a list of items");
		return;
	}
	items = cmd->args[1].list;
	for (unsigned int i = 0; i < cmd->args[1].list_count; i++) {
		if (!imap_arg_atom_equals(&items[i], "MESSAGES") &&
		    !imap_arg_atom_equals(&items[i], "RECENT") &&
		    !imap_arg_atom_equals(&items[i], "UIDNEXT") &&
		    !imap_arg_atom_equals(&items[i], "UIDVALIDITY") &&
		    !imap_arg_atom_equals(&items[i], "UNSEEN")) {
			imap_cmd_tagged(cmd, "BAD", NULL, "Unknown STATUS item");
			return;
		}
	}
	if (imap_mailbox_from_wire(wire, name, &error) < 0) {
		imap_cmd_tagged(cmd, "NO", "CANNOT", "%s", error);
		return;
	}
	if (store_folder_status(session->server->deps.store, session->user,
	    name, &st, &error) < 0) {
		imap_cmd_store_error(cmd, "status", error);
		return;
	}

	buf_init(&b, FOLDER_NAME_MAX * 2 + 256);
	ok |= buf_append_str(&b, "* STATUS ");
	ok |= imap_write_astring(&b, name);
	ok |= buf_append_str(&b, " (");
	for (unsigned int i = 0; i < cmd->args[1].list_count; i++) {
		const struct imap_arg *it = &items[i];
		const char *sp = i > 0 ? " " : "";

		if (imap_arg_atom_equals(it, "MESSAGES"))
			ok |= buf_printf(&b, "%sMESSAGES %u", sp, st.messages);
		else if (imap_arg_atom_equals(it, "RECENT"))
			ok |= buf_printf(&b, "%sRECENT %u", sp, st.recent);
		else if (imap_arg_atom_equals(it, "UIDNEXT"))
			ok |= buf_printf(&b, "%sUIDNEXT %u", sp, st.uidnext);
		else if (imap_arg_atom_equals(it, "UIDVALIDITY"))
			ok |= buf_printf(&b, "%sUIDVALIDITY %u", sp,
			    st.uidvalidity);
		else
			ok |= buf_printf(&b, "%sUNSEEN %u", sp, st.unseen);
	}
	ok |= buf_append_str(&b, ")\r\n");
	if (ok == 0)
		imap_session_write(session, b.data, b.len);
	buf_free(&b);
	imap_cmd_tagged(cmd, "OK", NULL, "Status completed");
}
