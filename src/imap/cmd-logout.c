/* LOGOUT (RFC 3501 6.1.3): BYE, the tagged OK, then close. */
#include "imap/imap-commands.h"

void
cmd_logout(struct imap_cmd *cmd)
{
	if (cmd->args_count != 0) {
		imap_cmd_tagged(cmd, "BAD", NULL, "LOGOUT takes no arguments");
		return;
	}
	imap_session_untagged(cmd->session, "BYE Logging out");
	imap_cmd_tagged(cmd, "OK", NULL, "Logout completed");
	imap_session_close(cmd->session);
}
