/*
 * MOVE and UID MOVE (RFC 6851): copy, then expunge the sources, in that
 * order on disk so a crash leaves a duplicate rather than a loss. The
 * client hears "* OK [COPYUID ...]" first, then the EXPUNGE responses
 * (written by the tagged reply's update flush), then the tagged OK.
 */
#include "imap/imap-commands.h"

#include <stdlib.h>

#include "imap/imap-view.h"
#include "store/store.h"

void
cmd_move(struct imap_cmd *cmd)
{
	struct imap_session *session = cmd->session;
	char name[FOLDER_NAME_MAX + 1];
	struct store_uid_map *map = NULL;
	uint32_t *uids;
	size_t count;
	const char *error;
	struct buf code;

	if (imap_view_copy_args(cmd, &uids, &count, name) < 0)
		return;
	if (session->read_only) {
		free(uids);
		imap_cmd_tagged(cmd, "NO", NULL, "Mailbox is read-only");
		return;
	}
	if (count == 0) {
		free(uids);
		imap_cmd_tagged(cmd, "OK", NULL, "No messages moved");
		return;
	}
	if (store_view_move(session->view, uids, count, name, &map,
	    &error) < 0) {
		free(uids);
		if (store_error_code() == STORE_ERR_NOT_FOUND)
			imap_cmd_tagged(cmd, "NO", "TRYCREATE", "Mailbox does "
			    "not exist");
		else
			imap_cmd_store_error(cmd, "move", error);
		return;
	}
	free(uids);
	if (map->count == 0) {
		store_uid_map_free(&map);
		imap_cmd_tagged(cmd, "NO", "EXPUNGEISSUE", "Messages were "
		    "expunged");
		return;
	}
	imap_write_copyuid(&code, map);
	store_uid_map_free(&map);
	imap_session_untagged(session, "OK [%s] Moved", buf_cstr(&code));
	buf_free(&code);
	imap_cmd_tagged(cmd, "OK", NULL, "%s completed", cmd->name);
}
