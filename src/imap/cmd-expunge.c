/*
 * EXPUNGE (RFC 3501 6.4.3) and UID EXPUNGE (RFC 4315 2.1): remove the
 * messages flagged \Deleted (of the folder, or of the UID set). The
 * "* n EXPUNGE" responses come from the view's refresh before the tagged
 * reply, like every other session's changes.
 */
#include "imap/imap-commands.h"

#include <stdlib.h>

#include "imap/imap-view.h"
#include "store/store.h"

void
cmd_expunge(struct imap_cmd *cmd)
{
	struct imap_session *session = cmd->session;
	struct store_view *view = session->view;
	uint32_t *seqs = NULL, *uids = NULL;
	size_t count = 0;
	const char *set, *error;

	if (cmd->uid) {
		if (cmd->args_count != 1 || cmd->args[0].type != IMAP_ARG_ATOM ||
		    !imap_arg_get_atom(&cmd->args[0], &set)) {
			imap_cmd_tagged(cmd, "BAD", NULL, "UID EXPUNGE needs a "
			    "UID set");
			return;
		}
		if (imap_view_resolve(view, set, true,
		    &cmd->session->searchres, &seqs, &count, &error) < 0) {
			imap_cmd_tagged(cmd, "BAD", NULL, "%s", error);
			return;
		}
		uids = imap_view_uids(view, seqs, count);
		free(seqs);
	} else if (cmd->args_count != 0) {
		imap_cmd_tagged(cmd, "BAD", NULL, "EXPUNGE takes no arguments");
		return;
	}
	if (session->read_only) {
		free(uids);
		imap_cmd_tagged(cmd, "NO", NULL, "Mailbox is read-only");
		return;
	}
	if ((!cmd->uid || count > 0) &&
	    store_view_expunge(view, uids, count, true, &error) < 0) {
		free(uids);
		imap_cmd_store_error(cmd, "expunge", error);
		return;
	}
	free(uids);
	imap_cmd_tagged(cmd, "OK", NULL, "%s completed", cmd->name);
}
