/*
 * CLOSE (RFC 3501 6.4.2): expunge the messages flagged \Deleted, without
 * any EXPUNGE responses, unless the mailbox is read-only, then go back
 * to the authenticated state.
 */
#include "imap/imap-commands.h"

#include "lib/log.h"
#include "store/store.h"

void
cmd_close(struct imap_cmd *cmd)
{
	struct imap_session *session = cmd->session;
	const char *error;

	if (cmd->args_count != 0) {
		imap_cmd_tagged(cmd, "BAD", NULL, "CLOSE takes no arguments");
		return;
	}
	if (!session->read_only &&
	    store_view_expunge(session->view, NULL, 0, true, &error) < 0)
		log_warnx("imap: %s: expunge at CLOSE of %s: %s",
		    session->log_id, session->mailbox, error);
	imap_session_unselect(session);
	imap_cmd_tagged(cmd, "OK", NULL, "Close completed");
}
