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

/* name for a log line: printable ASCII only (a literal may hold any
 * byte), cut to fit out. */
static const char *
printable(const char *name, char *out, size_t size)
{
	size_t i;

	for (i = 0; name[i] != '\0' && i + 1 < size; i++)
		out[i] = name[i] > 0x20 && name[i] < 0x7f ? name[i] : '?';
	out[i] = '\0';
	return out;
}

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
		/* The name only, never the password. */
		log_info("imap: %s: login failed for %s", session->peer,
		    printable(name, user, sizeof(user)));
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
