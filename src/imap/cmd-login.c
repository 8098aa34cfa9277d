/*
 * LOGIN (RFC 3501 6.2.3), and the credential check AUTHENTICATE shares:
 * the user name as a bare name or an address in one of our domains, the
 * password against the directory (checked on a worker thread:
 * imap-auth.h), the per-user connection limit, then the user's
 * special-use folders. Passwords never reach a log. In a cluster, a
 * user who lives on another node is passed on there (imap-proxy.h).
 */
#include "imap/imap-commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "directory/directory.h"
#include "imap/imap-auth.h"
#include "imap/imap-proxy.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/penalty.h"
#include "lib/stats.h"
#include "lib/xmalloc.h"
#include "store/store.h"

const char *
imap_printable(const char *name, char *out, size_t size)
{
	size_t i;

	for (i = 0; name[i] != '\0' && i + 1 < size; i++)
		out[i] = name[i] > 0x20 && name[i] < 0x7f ? name[i] : '?';
	out[i] = '\0';
	return out;
}

/* A login while its password is checked (imap-auth.h). */
struct login_ctx {
	struct imap_cmd *cmd;
	struct imap_auth_req *req;	/* NULL once answered */
	bool known;			/* user exists */
	unsigned hold_ms;		/* held before the check (penalty) */
	char user[USER_NAME_MAX + 1];	/* resolved name, if known */
	char name[USER_NAME_MAX + 1];	/* as given, printable, for logs */
};

static void
login_ctx_free(struct imap_cmd *cmd)
{
	free(cmd->ctx);
	cmd->ctx = NULL;
	cmd->abort_cb = NULL;
}

/* The client left (or the server stops) while the check runs. */
static void
login_abort_cb(struct imap_cmd *cmd)
{
	struct login_ctx *ctx = cmd->ctx;

	imap_auth_cancel(&ctx->req);
	login_ctx_free(cmd);
	imap_cmd_tagged(cmd, "NO", NULL, "Aborted");
}

int
imap_login_finish(struct imap_cmd *cmd, const char *user)
{
	struct imap_session *session = cmd->session;
	const char *error;
	char *code;

	if (imap_session_login(session, user) < 0) {
		imap_cmd_tagged(cmd, "NO", "LIMIT", "Too many connections "
		    "for this user");
		return -1;
	}
	if (store_user_ensure_special(session->server->deps.store, user,
	    &error) < 0)
		log_warnx("imap: %s: cannot create the special-use "
		    "folders: %s", session->log_id, error);
	code = xasprintf("CAPABILITY %s", imap_capabilities(session));
	imap_cmd_tagged(cmd, "OK", code, "Logged in");
	free(code);
	return 0;
}

static void
login_checked_cb(void *arg, bool matched)
{
	struct login_ctx *ctx = arg;
	struct imap_cmd *cmd = ctx->cmd;
	struct imap_session *session = cmd->session;
	char user[USER_NAME_MAX + 1];
	unsigned held;

	ctx->req = NULL;
	if (!matched || !ctx->known) {
		/* The name only, never the password. */
		log_info("imap: %s: login failed for %s", session->log_id,
		    ctx->name);
		held = ctx->hold_ms;
		login_ctx_free(cmd);
		imap_session_login_failed(cmd, "Authentication failed", held);
		return;
	}
	memcpy(user, ctx->user, sizeof(user));
	login_ctx_free(cmd);
	/* A user of another node: the session goes on there. */
	if (imap_proxy_login(cmd, user))
		return;
	(void)imap_login_finish(cmd, user);
}

void
imap_login_try(struct imap_cmd *cmd, const char *name, const char *password)
{
	struct imap_session *session = cmd->session;
	const struct imap_deps *deps = &session->server->deps;
	struct login_ctx *ctx = xcalloc(1, sizeof(*ctx));
	bool resolved;
	char *stored;

	ctx->cmd = cmd;
	imap_printable(name, ctx->name, sizeof(ctx->name));
	/* An unknown user costs a check too (against a stand-in of the
	 * same scheme and cost), so timing does not tell users apart. */
	resolved = strlen(name) <= ADDRESS_MAX &&
	    directory_resolve(deps->dir, deps->cfg, name, ctx->user) == 0;
	stored = directory_verifier(deps->dir, resolved ? ctx->user : "",
	    &ctx->known);
	/* After recent failures from the address every login waits, the
	 * right ones too, so a guesser learns nothing sooner. */
	ctx->hold_ms = penalty_hold(session->server->penalty,
	    session->peer_ip);
	if (ctx->hold_ms > 0)
		log_info("imap: %s: login held %u ms after recent failures",
		    session->log_id, ctx->hold_ms);
	ctx->req = imap_auth_check(session->server->auth, session->peer_ip,
	    ctx->hold_ms, stored, password, login_checked_cb, ctx);
	if (ctx->req == NULL) {
		free(ctx);
		mb_stats.imap_logins_unavailable_total++;
		log_info("imap: %s: login refused: too many password checks "
		    "waiting", session->log_id);
		imap_cmd_tagged(cmd, "NO", "UNAVAILABLE", "Too many logins "
		    "in progress, try again later");
		return;
	}
	cmd->ctx = ctx;
	cmd->abort_cb = login_abort_cb;
}

void
cmd_login(struct imap_cmd *cmd)
{
	const char *user, *password;

	if (!imap_session_secure(cmd->session)) {
		imap_cmd_tagged(cmd, "NO", "PRIVACYREQUIRED", "LOGIN needs "
		    "TLS: use STARTTLS or the IMAPS port");
		return;
	}
	if (cmd->args_count != 2 ||
	    !imap_arg_get_astring(&cmd->args[0], &user) ||
	    !imap_arg_get_astring(&cmd->args[1], &password)) {
		imap_cmd_tagged(cmd, "BAD", NULL, "LOGIN needs a user name "
		    "and a password");
		return;
	}
	imap_login_try(cmd, user, password);
}
