/* CAPABILITY (RFC 3501 6.1.1): what this server offers in this state. */
#include "imap/imap-commands.h"

void
cmd_capability(struct imap_cmd *cmd)
{
	if (cmd->args_count != 0) {
		imap_cmd_tagged(cmd, "BAD", NULL, "CAPABILITY takes no "
		    "arguments");
		return;
	}
	imap_session_untagged(cmd->session, "CAPABILITY %s",
	    imap_capabilities(cmd->session));
	imap_cmd_tagged(cmd, "OK", NULL, "Capability completed");
}
