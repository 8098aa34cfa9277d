/*
 * ENABLE (RFC 5161): CONDSTORE and QRESYNC (RFC 7162; QRESYNC implies
 * CONDSTORE) can be enabled; "* ENABLED" lists the names of this
 * command that it enabled. Other names are accepted and ignored, as
 * the RFC asks.
 */
#include "imap/imap-commands.h"

#include <string.h>
#include <strings.h>

void
cmd_enable(struct imap_cmd *cmd)
{
	struct imap_session *session = cmd->session;
	char enabled[64] = "ENABLED";
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
	for (unsigned int i = 0; i < cmd->args_count; i++) {
		(void)imap_arg_get_atom(&cmd->args[i], &name);
		if (strcasecmp(name, "CONDSTORE") == 0 &&
		    !session->condstore) {
			session->condstore = true;
			(void)strcat(enabled, " CONDSTORE");
		}
		/* RFC 7162 3.2.3: QRESYNC implies CONDSTORE. */
		if (strcasecmp(name, "QRESYNC") == 0 && !session->qresync) {
			session->qresync = session->condstore = true;
			(void)strcat(enabled, " QRESYNC");
		}
	}
	imap_session_untagged(session, "%s", enabled);
	imap_cmd_tagged(cmd, "OK", NULL, "Enabled");
}
