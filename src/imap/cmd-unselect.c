/* UNSELECT (RFC 3691): like CLOSE, but nothing is expunged. */
#include "imap/imap-commands.h"

void
cmd_unselect(struct imap_cmd *cmd)
{
	if (cmd->args_count != 0) {
		imap_cmd_tagged(cmd, "BAD", NULL, "UNSELECT takes no "
		    "arguments");
		return;
	}
	imap_session_unselect(cmd->session);
	imap_cmd_tagged(cmd, "OK", NULL, "Unselect completed");
}
