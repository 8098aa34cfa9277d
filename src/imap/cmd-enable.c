/*
 * ENABLE (RFC 5161): mailbell offers no extension that needs enabling
 * (no CONDSTORE, QRESYNC or UTF8=ACCEPT yet), so every name is accepted
 * and ignored, and "* ENABLED" lists none.
 */
#include "imap/imap-commands.h"

void
cmd_enable(struct imap_cmd *cmd)
{
	const char *name;

	if (cmd->args_count == 0) {
		imap_cmd_tagged(cmd, "BAD", NULL, "ENABLE needs a capability");
		return;
	}
	for (unsigned int i = 0; i < cmd->args_count; i++) {
		if (!imap_arg_get_atom(&cmd->args[i], &name)) {
			imap_cmd_tagged(cmd, "BAD", NULL, "ENABLE takes "
			    "capability names");
			return;
		}
	}
	imap_session_untagged(cmd->session, "ENABLED");
	imap_cmd_tagged(cmd, "OK", NULL, "Enabled");
}
