/*
 * LOGOUT (RFC 3501 6.1.3): BYE, the tagged OK, then close. Changes other
 * sessions made to the selected mailbox are not reported: nothing but
 * the tagged OK may follow BYE (RFC 3501 7.1.5).
 */
#include "imap/imap-commands.h"

void
cmd_logout(struct imap_cmd *cmd)
{
	if (cmd->args_count != 0) {
		imap_cmd_tagged(cmd, "BAD", NULL, "LOGOUT takes no arguments");
		return;
	}
	/* Out of the selected state, the tagged reply flushes no untagged
	 * EXPUNGE, FETCH or EXISTS after the BYE. */
	cmd->session->state = IMAP_STATE_LOGOUT;
	imap_session_untagged(cmd->session, "BYE Logging out");
	imap_cmd_tagged(cmd, "OK", NULL, "Logout completed");
	imap_session_close(cmd->session);
}
