/*
 * IMAP across a cluster (lib/route.h), as Dovecot's proxy does it: any
 * node serves a user who lives on another node by passing the session
 * on to that node, the owner, once the user has logged in; the owner
 * lets nodes log in for its users.
 *
 * The owner (cmd-authenticate.c) takes such a login only over TLS and
 * only with a route: AUTHENTICATE PLAIN (RFC 4616) with the user as
 * authorization id, the node's name as authentication id and the
 * cluster secret as password, the node's credentials checked by
 * route->node_login(), the user existing and living here. The session
 * is then the user's as after the user's own login, without COMPRESS
 * (the node must be able to read the stream).
 *
 * Nothing outside src/imap includes this.
 */
#ifndef MB_IMAP_IMAP_PROXY_H
#define MB_IMAP_IMAP_PROXY_H

struct imap_cmd;

/* ---- the owner (cmd-authenticate.c) ---- */

/*
 * AUTHENTICATE PLAIN with an authorization id (user) other than the
 * authentication id (node), with deps.route set: log the session in as
 * user if node and secret are a cluster node's (over TLS only; else
 * the pause and NO [AUTHENTICATIONFAILED] of a failed login), user
 * exists ("NO [AUTHENTICATIONFAILED]") and lives here ("NO
 * [UNAVAILABLE]"). Logged (node=, user=) and counted.
 */
void imap_node_login(struct imap_cmd *cmd, const char *node,
    const char *user, const char *secret);

#endif
