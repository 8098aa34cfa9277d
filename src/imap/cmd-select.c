/*
 * SELECT and EXAMINE (RFC 3501 6.3.1, 6.3.2): open a view of the folder
 * and describe it. Any mailbox selected before is deselected first,
 * even when the new one cannot be opened (RFC 3501 6.3.1). Every folder
 * has MODSEQs: HIGHESTMODSEQ is always sent, and (CONDSTORE) enables
 * CONDSTORE (RFC 7162 3.1.8).
 */
#include "imap/imap-commands.h"
#include "imap/imap-condstore.h"
#include "imap/imap-qresync.h"
#include "imap/imap-wire.h"

#include <stdio.h>
#include <string.h>

#include "lib/error.h"
#include "lib/log.h"
#include "store/store.h"

void
cmd_select(struct imap_cmd *cmd)
{
	struct imap_session *session = cmd->session;
	bool examine = strcmp(cmd->name, "EXAMINE") == 0;
	char name[FOLDER_NAME_MAX + 1];
	const struct store_view_message *msgs;
	struct store_view *view;
	struct imap_select_params params;
	const char *wire, *error;
	uint32_t count, unseen = 0;

	if ((cmd->args_count != 1 && cmd->args_count != 2) ||
	    !imap_arg_get_astring(&cmd->args[0], &wire)) {
		imap_cmd_tagged(cmd, "BAD", NULL, "%s needs a mailbox name",
		    cmd->name);
		return;
	}
	memset(&params, 0, sizeof(params));
	if (cmd->args_count == 2 && imap_select_params_parse(&cmd->args[1],
	    &params, &error) < 0) {
		imap_cmd_tagged(cmd, "BAD", NULL, "%s", error);
		return;
	}
	/* RFC 7162 3.2.5: QRESYNC needs ENABLE QRESYNC first. */
	if (params.qresync && !session->qresync) {
		imap_cmd_tagged(cmd, "BAD", NULL, "QRESYNC is not enabled");
		return;
	}
	if (params.condstore)
		session->condstore = true;	/* RFC 7162 3.1.8 */
	/* RFC 7162 3.2.11: the client hears the old mailbox close. */
	if (session->qresync && session->state == IMAP_STATE_SELECTED)
		imap_session_untagged(session, "OK [CLOSED] Previous mailbox "
		    "closed");
	imap_session_unselect(session);
	if (imap_mailbox_from_wire(wire, name, &error) < 0) {
		imap_cmd_tagged(cmd, "NO", "CANNOT", "%s", error);
		return;
	}
	if (store_view_open(session->server->deps.store, session->user, name,
	    &view, &error) < 0) {
		if (error_code(error) == ERROR_NOT_FOUND)
			imap_cmd_tagged(cmd, "NO", "NONEXISTENT", "Mailbox "
			    "does not exist");
		else {
			log_warnx("imap: %s: open %s: %s", session->log_id,
			    name, error);
			imap_cmd_tagged(cmd, "NO", "UNAVAILABLE", "Cannot open "
			    "the mailbox");
		}
		return;
	}

	/* RFC 3501 2.3.2: SELECT takes \Recent from the messages no
	 * session has seen yet; EXAMINE shows it and leaves it. */
	if (!examine)
		store_view_claim_recent(view);
	count = store_view_count(view);
	msgs = store_view_messages(view);
	for (uint32_t i = 0; i < count; i++) {
		if (!(msgs[i].flags & STORE_FLAG_SEEN)) {
			unseen = i + 1;
			break;
		}
	}
	imap_session_send_flags(session, view, false, examine);
	imap_session_untagged(session, "%u EXISTS", count);
	imap_session_untagged(session, "%u RECENT",
	    store_view_recent_count(view));
	if (unseen != 0)
		imap_session_untagged(session, "OK [UNSEEN %u] First unseen",
		    unseen);
	imap_session_untagged(session, "OK [UIDVALIDITY %u] UIDs valid",
	    store_view_uidvalidity(view));
	imap_session_untagged(session, "OK [UIDNEXT %u] Predicted next UID",
	    store_view_uidnext(view));
	/* RFC 7162 3.1.2.1: every folder keeps MODSEQs (never NOMODSEQ). */
	imap_session_untagged(session, "OK [HIGHESTMODSEQ %llu] Highest",
	    (unsigned long long)store_view_highest_modseq(view));
	imap_session_send_flags(session, view, true, examine);
	imap_session_select(session, view, name, examine);
	if (params.qresync)
		imap_qresync_select(session, &params);
	session->keywords_announced = store_view_keyword_count(view);
	imap_cmd_tagged(cmd, "OK", examine ? "READ-ONLY" : "READ-WRITE",
	    "%s completed", examine ? "Examine" : "Select");
}
