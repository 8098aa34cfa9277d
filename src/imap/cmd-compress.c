/*
 * COMPRESS (RFC 4978): DEFLATE in both directions from the line after
 * the tagged OK, which itself goes in plain. RFC 4978's grammar makes it
 * a command of the authenticated state (command-auth): before login a
 * connection costs no zlib state. Not where a cluster node reads the
 * stream: a node's session for a user, or a session this node passes on
 * to the user's node (imap-proxy.h).
 */
#include "imap/imap-commands.h"

#include <strings.h>

void
cmd_compress(struct imap_cmd *cmd)
{
	struct imap_session *session = cmd->session;
	const struct imap_arg *arg = &cmd->args[0];

	if (cmd->args_count != 1 || arg->type != IMAP_ARG_ATOM) {
		imap_cmd_tagged(cmd, "BAD", NULL, "COMPRESS takes one "
		    "algorithm name");
		return;
	}
	if (session->node_login || session->proxy != NULL) {
		imap_cmd_tagged(cmd, "NO", "CANNOT", "COMPRESS is not "
		    "available on this connection");
		return;
	}
	if (session->compress != NULL) {
		imap_cmd_tagged(cmd, "NO", "COMPRESSIONACTIVE", "DEFLATE is "
		    "already active");
		return;
	}
	if (strcasecmp(arg->str, "DEFLATE") != 0) {
		imap_cmd_tagged(cmd, "BAD", NULL, "Unknown compression "
		    "algorithm");
		return;
	}
	imap_cmd_tagged(cmd, "OK", NULL, "DEFLATE active");
	imap_session_compress(session);
}
