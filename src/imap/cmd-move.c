/*
 * MOVE and UID MOVE (RFC 6851): copy, then expunge the sources, in that
 * order on disk so a crash leaves a duplicate rather than a loss. The
 * client hears "* OK [COPYUID ...]" first, then the EXPUNGE responses
 * (written by the tagged reply's update flush), then the tagged OK.
 */
#include "imap/imap-commands.h"

#include "imap/imap-view.h"

void
cmd_move(struct imap_cmd *cmd)
{
	struct buf code;

	if (imap_view_transfer(cmd, true, &code) == 0)
		return;
	imap_session_untagged(cmd->session, "OK [%s] Moved", buf_cstr(&code));
	buf_free(&code);
	imap_cmd_tagged(cmd, "OK", NULL, "%s completed", cmd->name);
}
