/*
 * NOTIFY (RFC 5465 3.1): NOTIFY SET replaces what the session is told
 * about, NOTIFY NONE stops it; with STATUS every watched folder's
 * counts come first. What is told, and when, is in imap-notify.c.
 */
#include "imap/imap-commands.h"
#include "imap/imap-notify-args.h"
#include "imap/imap-notify.h"

void
cmd_notify(struct imap_cmd *cmd)
{
	struct imap_session *session = cmd->session;
	struct imap_notify_spec *spec;
	const char *error;
	bool badevent;

	if (imap_notify_args_parse(cmd->args, cmd->args_count, &spec,
	    &badevent, &error) < 0) {
		if (badevent)
			imap_cmd_tagged(cmd, "NO", "BADEVENT ("
			    IMAP_NOTIFY_SUPPORTED_EVENTS ")", "%s", error);
		else
			imap_cmd_tagged(cmd, "BAD", NULL, "%s", error);
		return;
	}
	imap_notify_set(session, spec);
	if (spec != NULL && spec->status)
		imap_notify_send_status(session);
	/* RFC 5465 3.1: an implicit NOOP; the tagged reply writes the
	 * selected mailbox's changes. */
	imap_cmd_tagged(cmd, "OK", NULL, "Notify completed");
}
