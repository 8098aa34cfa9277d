/*
 * ID (RFC 2971): the client may say who it is; we name ourselves. The
 * client's fields are only checked for form, never logged verbatim.
 */
#include "imap/imap-commands.h"
#include "lib/limits.h"

void
cmd_id(struct imap_cmd *cmd)
{
	const struct imap_arg *arg = &cmd->args[0];

	if (cmd->args_count != 1 || (arg->type != IMAP_ARG_NIL &&
	    arg->type != IMAP_ARG_LIST) ||
	    (arg->type == IMAP_ARG_LIST && (arg->list_count % 2 != 0 ||
	    arg->list_count > 2 * IMAP_ID_PAIRS_MAX))) {
		imap_cmd_tagged(cmd, "BAD", NULL, "ID needs NIL or a list of "
		    "field-value pairs");
		return;
	}
	imap_session_untagged(cmd->session, "ID (\"name\" \"mailbell\")");
	imap_cmd_tagged(cmd, "OK", NULL, "ID completed");
}
