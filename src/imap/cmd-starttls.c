/*
 * STARTTLS (RFC 3501 6.2.1, RFC 9051 6.2.1): the OK in clear, then the
 * TLS handshake on the same connection. Whatever the client sent after
 * the command line is discarded, never read as commands under TLS
 * (RFC 3207 section 6, CVE-2011-0411).
 */
#include "imap/imap-commands.h"

void
cmd_starttls(struct imap_cmd *cmd)
{
	struct imap_session *session = cmd->session;

	if (cmd->args_count != 0) {
		imap_cmd_tagged(cmd, "BAD", NULL, "STARTTLS takes no "
		    "arguments");
		return;
	}
	if (session->ssl != NULL) {
		imap_cmd_tagged(cmd, "BAD", NULL, "TLS is already active");
		return;
	}
	if (!imap_session_tls_offered(session)) {
		imap_cmd_tagged(cmd, "NO", "UNAVAILABLE", "TLS is not "
		    "available");
		return;
	}
	imap_cmd_tagged(cmd, "OK", NULL, "Begin TLS negotiation now");
	imap_session_starttls(session);
}
