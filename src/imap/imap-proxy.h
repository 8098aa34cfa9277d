/*
 * IMAP across a cluster (lib/route.h), as Dovecot's proxy does it: any
 * node serves a user who lives on another node by passing the session
 * on to that node, the owner, once the user has logged in; the owner
 * lets nodes log in for its users.
 *
 * The front door checks the password itself (the passwd file is the
 * same on every node), then asks route->locate(). For a user of another
 * node it connects to the owner's IMAP port (imap-proxy-login.c), reads
 * the greeting, begins TLS with STARTTLS (the owner's certificate must
 * lead to [cluster] ca_file and carry its host name) and logs in as
 * this node on behalf of the user: AUTHENTICATE PLAIN (RFC 4616) with
 * the user as authorization id, the node's name as authentication id
 * and the cluster secret as password. The client's LOGIN or
 * AUTHENTICATE is then answered with the owner's capabilities, and
 * from there on bytes pass both ways (imap-proxy.c). Both streams are
 * framed (imap-proxy-scan.h) so that the front door answers XBELL
 * itself (the client registered through this node, whose UDP port
 * sends its datagrams) and refuses COMPRESS (DEFLATE would hide the
 * commands), writing its answers only between two of the owner's
 * responses. LOGOUT, IDLE, NOTIFY and every other command pass on;
 * either side closing ends both.
 *
 * The owner (cmd-authenticate.c) takes such a login only over TLS and
 * only with a route: the node's credentials checked by
 * route->node_login(), the user existing and living here. The session
 * is then the user's as after the user's own login, without COMPRESS.
 *
 * Nothing outside src/imap includes this.
 */
#ifndef MB_IMAP_IMAP_PROXY_H
#define MB_IMAP_IMAP_PROXY_H

#include <stdbool.h>

struct imap_cmd;
struct imap_proxy;
struct imap_server;
struct imap_session;

/* ---- the front door (imap-proxy-login.c) ---- */

/*
 * After LOGIN or AUTHENTICATE verified user (a directory name) here:
 * false if the user is served here (no route, or ROUTE_HERE), and the
 * caller logs the session in as before. Otherwise true, and cmd is
 * finished now or later: "NO [UNAVAILABLE]" when the owner is not known
 * or cannot be reached in IMAP_PROXY_LOGIN_TIMEOUT_SECS (the session
 * stays not authenticated), "NO [LIMIT]" over max_connections_per_user,
 * or "OK [CAPABILITY <the owner's>]" with the session logged in and
 * passed on. Call from the loop, not from a command handler.
 */
bool imap_proxy_login(struct imap_cmd *cmd, const char *user);

/* What the server keeps for its proxies: the TLS client context and the
 * DNS resolver, made on first use. Frees them. */
void imap_proxy_server_free(struct imap_server *server);

/* ---- a session passed on (imap-proxy.c) ---- */

/* Whether session is passed on to its owner (logged in there). */
bool imap_proxy_relaying(const struct imap_session *session);
/* Whether the client's input may be read now: the owner takes more,
 * and no answer of the front door's own waits. */
bool imap_proxy_may_read(const struct imap_session *session);
/* The owner node's name, for the admin port. */
const char *imap_proxy_node(const struct imap_session *session);
/* The session's input in place of the parser once it is passed on, and
 * on any chance to move bytes (the client's output drained). May free
 * the session. */
void imap_proxy_input(struct imap_session *session);
/* The front door ends a session passed on (shutdown, its own timeout):
 * "* BYE text" if that falls between two of the owner's responses,
 * else the connection just closes. */
void imap_proxy_end(struct imap_session *session, const char *text);
/* Close the connection to the owner and free the proxy; *proxyp NULL. */
void imap_proxy_free(struct imap_proxy **proxyp);

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
