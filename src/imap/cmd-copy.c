/*
 * COPY and UID COPY (RFC 3501 6.4.7, 6.4.8) with the COPYUID response
 * code of UIDPLUS (RFC 4315): the store hard-links the messages into the
 * target folder and reports the UIDs they got there.
 */
#include "imap/imap-commands.h"

#include "imap/imap-view.h"

void
cmd_copy(struct imap_cmd *cmd)
{
	struct buf code;

	if (imap_view_transfer(cmd, false, &code) == 0)
		return;
	imap_cmd_tagged(cmd, "OK", buf_cstr(&code), "%s completed", cmd->name);
	buf_free(&code);
}
