/*
 * LOGIN (RFC 3501 6.2.3), and the credential check AUTHENTICATE shares:
 * the user name as a bare name or an address in one of our domains, the
 * password against the directory, the per-user connection limit, then
 * the user's special-use folders. Passwords never reach a log.
 */
#include "imap/imap-commands.h"

#include <stdio.h>
#include <string.h>

#include "directory/directory.h"
#include "lib/config.h"
#include "lib/log.h"
#include "store/store.h"

void
imap_login_try(struct imap_cmd *cmd, const char *name, const char *password)
{
	struct imap_session *session = cmd->session;
	const struct imap_deps *deps = &session->server->deps;
	char user[USER_NAME_MAX + 1];
	char code[256];
	const char *error;

	if (strlen(name) > ADDRESS_MAX ||
	    directory_resolve(deps->dir, deps->cfg, name, user) < 0 ||
	    directory_verify(deps->dir, user, password) < 0) {
		/* The name only, sanitised by the length check above and
		 * the parser's refusal of CR, LF and NUL in atoms and
		 * quoted strings; a literal may still hold odd bytes. */
		log_info("imap: %s: login failed for a user name of %zu "
		    "bytes", session->peer, strlen(name));
		imap_session_login_failed(cmd, "Authentication failed");
		return;
	}
	if (imap_session_login(session, user) < 0) {
		imap_cmd_tagged(cmd, "NO", "LIMIT", "Too many connections "
		    "for this user");
		return;
	}
	if (store_user_ensure_special(deps->store, user, &error) < 0)
		log_warnx("imap: %s: %s: cannot create the special-use "
		    "folders: %s", session->peer, user, error);
	snprintf(code, sizeof(code), "CAPABILITY %s",
	    imap_capabilities(session));
	imap_cmd_tagged(cmd, "OK", code, "Logged in");
}

void
cmd_login(struct imap_cmd *cmd)
{
	const char *user, *password;

	if (cmd->args_count != 2 ||
	    !imap_arg_get_astring(&cmd->args[0], &user) ||
	    !imap_arg_get_astring(&cmd->args[1], &password)) {
		imap_cmd_tagged(cmd, "BAD", NULL, "LOGIN needs a user name "
		    "and a password");
		return;
	}
	imap_login_try(cmd, user, password);
}
