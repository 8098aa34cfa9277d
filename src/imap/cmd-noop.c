/*
 * NOOP (RFC 3501 6.1.2) and CHECK (6.4.1): nothing to do but report the
 * selected mailbox's changes, which the tagged reply does. Every change
 * is durable when it is made, so CHECK has nothing to flush either.
 */
#include "imap/imap-commands.h"

void
cmd_noop(struct imap_cmd *cmd)
{
	if (cmd->args_count != 0) {
		imap_cmd_tagged(cmd, "BAD", NULL, "%s takes no arguments",
		    cmd->name);
		return;
	}
	imap_cmd_tagged(cmd, "OK", NULL, "%s completed", cmd->name);
}
