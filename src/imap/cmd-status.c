/*
 * STATUS (RFC 3501 6.3.10, RFC 8438 SIZE): counts of a folder without
 * selecting it, from the store's shared index; the items in the order
 * asked for.
 */
#include "imap/imap-commands.h"
#include "imap/imap-status.h"
#include "imap/imap-wire.h"

#include "lib/buf.h"
#include "store/store.h"

void
cmd_status(struct imap_cmd *cmd)
{
	struct imap_session *session = cmd->session;
	char name[FOLDER_NAME_MAX + 1];
	struct imap_status_items items;
	struct store_status st;
	const char *wire, *error;
	struct buf b;

	if (cmd->args_count != 2 ||
	    !imap_arg_get_astring(&cmd->args[0], &wire) ||
	    cmd->args[1].type != IMAP_ARG_LIST ||
	    cmd->args[1].list_count == 0) {
		imap_cmd_tagged(cmd, "BAD", NULL, "STATUS needs a mailbox name "
		    "and a list of items");
		return;
	}
	if (imap_status_items_parse(cmd->args[1].list,
	    cmd->args[1].list_count, &items) < 0) {
		imap_cmd_tagged(cmd, "BAD", NULL, "Unknown STATUS item");
		return;
	}
	/* RFC 7162 3.1: STATUS (HIGHESTMODSEQ) enables CONDSTORE. */
	if (imap_status_items_has(&items, IMAP_STATUS_HIGHESTMODSEQ))
		session->condstore = true;
	if (imap_mailbox_from_wire(wire, name, &error) < 0) {
		imap_cmd_tagged(cmd, "NO", "CANNOT", "%s", error);
		return;
	}
	if ((imap_status_items_want_size(&items) ?
	    store_folder_status_size : store_folder_status)(
	    session->server->deps.store, session->user, name, &st,
	    &error) < 0) {
		imap_cmd_store_error(cmd, "status", error);
		return;
	}
	buf_init(&b, FOLDER_NAME_MAX * 2 + 256);
	if (imap_status_write(&b, name, &items, &st) == 0)
		imap_session_write(session, b.data, b.len);
	buf_free(&b);
	imap_cmd_tagged(cmd, "OK", NULL, "Status completed");
}
