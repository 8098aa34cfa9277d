/*
 * AUTHENTICATE (RFC 3501 6.2.2) with the PLAIN mechanism (RFC 4616):
 * the response comes with the command (SASL-IR, RFC 4959) or after a
 * "+ " continuation; "*" cancels. The decoded credentials are wiped as
 * soon as they were checked. In a cluster a node logs in here for a
 * user of this node: authcid the node, password the cluster secret,
 * authzid the user (imap-proxy.h).
 */
#include "imap/imap-commands.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "directory/directory.h"
#include "imap/imap-proxy.h"
#include "lib/base64.h"
#include "lib/log.h"
#include "lib/route.h"
#include "lib/stats.h"

/* Check one PLAIN response: authzid NUL authcid NUL passwd. */
static void
auth_plain(struct imap_cmd *cmd, const char *b64, size_t len)
{
	unsigned char *raw;
	const char *authzid, *authcid, *passwd;
	size_t n, authz_len, authc_len;

	if (len > IMAP_SASL_LINE_MAX) {
		imap_cmd_tagged(cmd, "BAD", NULL, "Response too long");
		return;
	}
	/* "=" is an empty initial response (RFC 4959 3). */
	if (len == 1 && b64[0] == '=')
		len = 0;
	if (base64_decode(b64, len, &raw, &n) < 0) {
		imap_cmd_tagged(cmd, "BAD", NULL, "Invalid base64 response");
		return;
	}
	authzid = (const char *)raw;
	authz_len = strlen(authzid);
	if (authz_len + 1 >= n)
		goto malformed;
	authcid = authzid + authz_len + 1;
	authc_len = strlen(authcid);
	if (authz_len + 1 + authc_len + 1 > n)
		goto malformed;
	passwd = authcid + authc_len + 1;
	if (strlen(passwd) != n - authz_len - authc_len - 2)
		goto malformed;
	/* Acting as another user: only a cluster node may. */
	if (authz_len > 0 && strcmp(authzid, authcid) != 0 &&
	    cmd->session->server->deps.route != NULL)
		imap_node_login(cmd, authcid, authzid, passwd);
	else if (authz_len > 0 && strcmp(authzid, authcid) != 0)
		imap_login_try(cmd, "", "");
	else
		imap_login_try(cmd, authcid, passwd);
	goto out;
malformed:
	imap_cmd_tagged(cmd, "BAD", NULL, "Malformed PLAIN response");
out:
	explicit_bzero(raw, n);
	free(raw);
}

static void
auth_line_cb(struct imap_cmd *cmd, const char *line, size_t len)
{
	if (len == 1 && line[0] == '*') {
		imap_cmd_tagged(cmd, "BAD", NULL, "Authentication cancelled");
		return;
	}
	auth_plain(cmd, line, len);
}

/* Shutdown while the client owes us its response. */
static void
auth_abort_cb(struct imap_cmd *cmd)
{
	imap_cmd_tagged(cmd, "NO", NULL, "Authentication aborted");
}

void
cmd_authenticate(struct imap_cmd *cmd)
{
	const char *mech, *ir = NULL;

	if (!imap_session_secure(cmd->session)) {
		imap_cmd_tagged(cmd, "NO", "PRIVACYREQUIRED", "AUTHENTICATE "
		    "needs TLS: use STARTTLS or the IMAPS port");
		return;
	}
	if (cmd->args_count < 1 || cmd->args_count > 2 ||
	    !imap_arg_get_atom(&cmd->args[0], &mech) ||
	    (cmd->args_count == 2 &&
	    !imap_arg_get_atom(&cmd->args[1], &ir))) {
		imap_cmd_tagged(cmd, "BAD", NULL, "AUTHENTICATE needs a "
		    "mechanism and optionally an initial response");
		return;
	}
	if (strcasecmp(mech, "PLAIN") != 0) {
		imap_cmd_tagged(cmd, "NO", NULL, "Unsupported authentication "
		    "mechanism");
		return;
	}
	if (ir != NULL) {
		auth_plain(cmd, ir, strlen(ir));
		return;
	}
	imap_cmd_continue(cmd, "");
	cmd->abort_cb = auth_abort_cb;
	imap_cmd_read_line(cmd, auth_line_cb);
}

/* ---- a cluster node for one of our users (imap-proxy.h) ---- */

void
imap_node_login(struct imap_cmd *cmd, const char *node, const char *user,
    const char *secret)
{
	struct imap_session *session = cmd->session;
	const struct imap_deps *deps = &session->server->deps;
	const struct route_ops *route = deps->route;
	struct route_peer peer;
	char name[CLUSTER_NODE_NAME_MAX + 1], who[USER_NAME_MAX + 1];

	imap_printable(node, name, sizeof(name));
	imap_printable(user, who, sizeof(who));
	/* The cluster secret never crosses a network in clear, whatever
	 * [imap] plaintext_auth allows users. */
	if (session->ssl == NULL ||
	    !route->node_login(route->ctx, node, secret)) {
		log_info("imap: %s: node login failed for node=%s%s",
		    session->log_id, name, session->ssl == NULL ?
		    " (not over TLS)" : "");
		imap_session_login_failed(cmd, "Authentication failed", 0);
		return;
	}
	if (!directory_user_name_valid(user) ||
	    !directory_user_exists(deps->dir, user)) {
		log_info("imap: %s: node login node=%s: no user %s",
		    session->log_id, name, who);
		imap_cmd_tagged(cmd, "NO", "AUTHENTICATIONFAILED", "No such "
		    "user");
		return;
	}
	if (directory_locate(deps->dir, user, &peer) != ROUTE_HERE) {
		log_info("imap: %s: node login node=%s: user=%s does not "
		    "live here", session->log_id, name, who);
		imap_cmd_tagged(cmd, "NO", "UNAVAILABLE", "This user's "
		    "mailbox is not on this node");
		return;
	}
	log_info("imap: %s: node login node=%s user=%s", session->log_id,
	    name, user);
	mb_stats.imap_node_logins_total++;
	session->node_login = true;
	if (imap_login_finish(cmd, user) < 0)
		session->node_login = false;
}
