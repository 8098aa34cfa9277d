/*
 * COPY and UID COPY (RFC 3501 6.4.7, 6.4.8) with the COPYUID response
 * code of UIDPLUS (RFC 4315): the store hard-links the messages into the
 * target folder and reports the UIDs they got there.
 */
#include "imap/imap-commands.h"

#include <stdlib.h>

#include "imap/imap-view.h"
#include "store/store.h"

void
cmd_copy(struct imap_cmd *cmd)
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
	if (count == 0) {
		free(uids);
		imap_cmd_tagged(cmd, "OK", NULL, "No messages copied");
		return;
	}
	if (store_view_copy(session->view, uids, count, name, &map,
	    &error) < 0) {
		free(uids);
		if (store_error_code() == STORE_ERR_NOT_FOUND)
			imap_cmd_tagged(cmd, "NO", "TRYCREATE", "Mailbox does "
			    "not exist");
		else
			imap_cmd_store_error(cmd, "copy", error);
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
	imap_cmd_tagged(cmd, "OK", buf_cstr(&code), "%s completed", cmd->name);
	buf_free(&code);
}
