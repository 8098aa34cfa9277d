/* NAMESPACE (RFC 2342): one personal namespace, no prefix, "." between
 * levels (Maildir++); no shared or other users' folders. */
#include "imap/imap-commands.h"

void
cmd_namespace(struct imap_cmd *cmd)
{
	if (cmd->args_count != 0) {
		imap_cmd_tagged(cmd, "BAD", NULL, "NAMESPACE takes no "
		    "arguments");
		return;
	}
	imap_session_untagged(cmd->session, "NAMESPACE ((\"\" \".\")) NIL NIL");
	imap_cmd_tagged(cmd, "OK", NULL, "Namespace completed");
}
