/*
 * Inside the IMAP service: the session and command structures shared by
 * the session files (imap-session.c: connection, lifetime, limits;
 * imap-session-input.c, -reply.c, -state.c) and the command files
 * cmd-<verb>.c. Nothing outside src/imap includes this;
 * the daemon sees only imap.h.
 *
 * How a command runs:
 *   1. The session feeds input to the parser. A complete command is looked
 *      up in the table (imap-commands.c); its state mask is checked
 *      (wrong state: "BAD"), a struct imap_cmd is made and the handler
 *      called. "UID FETCH ..." runs the "UID FETCH" entry with uid set and
 *      args starting after "FETCH".
 *   2. The handler answers with imap_cmd_tagged() (which finishes the
 *      command), or returns without answering: the command is then
 *      pending (asynchronous) and answers later from a callback. While a
 *      command is pending the session reads no further commands, so the
 *      parser's memory (cmd->args) stays valid until the command
 *      finishes.
 *   3. Just before the tagged OK or NO of any command while a mailbox is
 *      selected, the view's pending changes are written (RFC 3501 7.4.1):
 *      "* n EXPUNGE", "* n EXISTS", "* n RECENT", "* n FETCH (FLAGS ..)".
 *      A command whose entry has IMAP_CMD_FLAG_NO_EXPUNGE (FETCH, STORE,
 *      SEARCH without UID) gets EXISTS and FLAGS only; expunges wait.
 *   4. The struct imap_cmd is freed by the session once the handler has
 *      returned and the tagged reply was sent, never earlier: a handler
 *      may still read cmd after calling imap_cmd_tagged().
 */
#ifndef MB_IMAP_IMAP_SESSION_H
#define MB_IMAP_IMAP_SESSION_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "imap/imap.h"
#include "imap/imap-parser.h"
#include "lib/buf.h"
#include "lib/limits.h"
#include "lib/service.h"

struct imap_server;
struct imap_session;
struct imap_cmd;
struct imap_command_def;
struct imap_idle;
struct imap_auth;
struct imap_compress;
struct imap_notify;
struct imap_proxy;
struct penalty_table;
struct imap_sort_cache;
struct store_view;
struct tls_client;
struct evdns_base;

/* Session states (RFC 3501 3), as bits so a command table entry can name
 * the states it is allowed in. */
enum imap_state {
	IMAP_STATE_NOT_AUTH = 1 << 0,	/* greeted, no user yet */
	IMAP_STATE_AUTH = 1 << 1,	/* logged in, no mailbox selected */
	IMAP_STATE_SELECTED = 1 << 2,	/* a mailbox is selected */
	IMAP_STATE_LOGOUT = 1 << 3,	/* BYE sent; closing after flush */
};
/* Every state in which a command can be received. */
#define IMAP_STATE_ANY \
	(IMAP_STATE_NOT_AUTH | IMAP_STATE_AUTH | IMAP_STATE_SELECTED)
#define IMAP_STATE_LOGGED_IN (IMAP_STATE_AUTH | IMAP_STATE_SELECTED)

/* Extensions a client turned on with ENABLE (RFC 5161). */
enum imap_enabled {
	IMAP_ENABLED_UTF8 = 1 << 0,	/* reserved: UTF8=ACCEPT not offered */
};

/*
 * A handler: called once per command. It answers with imap_cmd_tagged()
 * before returning, or leaves the command pending and answers later
 * (see the "pending commands" section below).
 */
typedef void imap_command_func(struct imap_cmd *cmd);

/* What a pending command hears from the session. */
/* One input line (CR LF removed, NUL-terminated, at most
 * IMAP_LINE_MAX bytes); see imap_cmd_read_line(). */
typedef void imap_cmd_line_cb(struct imap_cmd *cmd, const char *line,
    size_t len);
/* The output queue drained below IMAP_OUTPUT_LOW_WATER; write more. */
typedef void imap_cmd_resume_cb(struct imap_cmd *cmd);
/* The client went away or the server is shutting down: finish now, or
 * as soon as outstanding work (a queued store job) calls back. Writes
 * are discarded once the client is gone. Called at most once. */
typedef void imap_cmd_abort_cb(struct imap_cmd *cmd);
/* The selected view reported changes (see imap_session_view_changed). A
 * command that pushes updates at once (IDLE) sets this. */
typedef void imap_cmd_changed_cb(struct imap_cmd *cmd);

/* One command, from dispatch until its tagged reply; owned and freed by
 * the session (step 4 above). */
struct imap_cmd {
	struct imap_session *session;
	const struct imap_command_def *def;	/* its table entry */
	char *tag;			/* copy of the client's tag */
	const char *name;		/* the entry's name: "SELECT",
					   "UID FETCH" (upper case) */
	const struct imap_arg *args;	/* arguments after the name (after
					   "UID <name>" for UID commands);
					   valid until the command finishes */
	unsigned int args_count;
	bool uid;			/* sent with the UID prefix */
	uint64_t started_us;		/* clock_now_us() at dispatch */

	/* For pending commands; all NULL unless the handler sets them. */
	void *ctx;			/* the handler's own state; the
					   handler frees it before finishing */
	imap_cmd_line_cb *line_cb;	/* set by imap_cmd_read_line() */
	imap_cmd_resume_cb *resume_cb;	/* output drained */
	imap_cmd_abort_cb *abort_cb;	/* client gone, shutdown */
	imap_cmd_changed_cb *changed_cb; /* selected view changed */

	/* Session-private */
	bool in_handler;		/* the handler has not returned yet */
	bool done;			/* the tagged reply was sent */
	bool aborted;			/* abort_cb was called */
};

/*
 * The search result variable "$" of RFC 5182: the UIDs of the last
 * SEARCH RETURN (SAVE) result in the selected mailbox, ascending. Kept as
 * UIDs, it follows expunges by itself: "$" names only the messages still
 * in the view, by their sequence numbers of the moment.
 */
struct imap_searchres {
	uint32_t *uids;		/* malloc'd, or NULL when count is 0 */
	size_t count;
};

/* A session. Command files may read every field and change those marked
 * "commands may change"; the rest belongs to the session files. */
struct imap_session {
	/* For the whole connection */
	struct imap_server *server;	/* NULL once the server was freed
					   under a pending command */
	struct bufferevent *bev;	/* NULL once the client is gone, and
					   while the session sleeps in IDLE
					   (sleep_ev; no command runs then) */
	SSL *ssl;			/* once TLS began (IMAPS, or after
					   STARTTLS): owned by the session,
					   not by bev, so it outlives a sleep
					   in IDLE; NULL in clear */
	struct imap_compress *compress;	/* after COMPRESS DEFLATE: the zlib
					   streams under bev (a filter then;
					   see imap-session-compress.c);
					   kept across a sleep in IDLE. NULL
					   in plain, and again once closing */
	struct event *sleep_ev;		/* asleep in IDLE with nothing to
					   read or write: waits for input or
					   the read timeout on the socket
					   alone; any output wakes the
					   session (imap-session.c) */
	uint64_t read_deadline_ms;	/* when the read timeout expires
					   (CLOCK_MONOTONIC ms), for sleep */
	uint64_t since_ms;		/* clock_now_ms() at accept */
	char *log_id;			/* "peer=ADDRESS:PORT", then
					   " user=NAME" once logged in: what
					   each log line about the session
					   names after "imap: "; one
					   allocation with peer and peer_ip
					   (imap_session_set_log_id()) */
	const char *peer;		/* address:port, for the status
					   page; points into log_id's
					   allocation */
	const char *peer_ip;		/* address alone, for per-IP limits;
					   points into log_id's allocation */
	struct imap_parser *parser;	/* NULL while no command is being
					   read or used (made when input
					   arrives; pre-login limits until
					   login) */
	struct imap_cmd *cmd;		/* the command running, or NULL */
	struct event *input_ev;		/* runs the input loop from the event
					   loop after a pending command ended;
					   NULL unless such a run is due */
	struct event *delay_ev;		/* failed-login pause; NULL unless
					   one is running */
	struct event *login_ev;		/* the login deadline from accept
					   (imap-session-admit.c); NULL once
					   logged in */
	enum imap_state state;		/* commands may change (via
					   imap_session_login/select/unselect) */
	unsigned int bad_count;		/* BADs in a row (IMAP_BAD_MAX) */
	unsigned int auth_failures;	/* failed logins (IMAP_AUTH_FAILURES_MAX) */
	unsigned int enabled;		/* enum imap_enabled bits; commands
					   may change */
	unsigned int read_timeout_secs;	/* the read timeout set last */
	bool output_blocked;		/* input unread until output drains */
	bool eof;			/* the client sent EOF */
	bool closing;			/* close after the output is flushed */
	const char *bye_after;		/* BYE with this text once the
					   command in progress is done */
	bool skip_line;			/* dropping input up to the next LF
					   (an overlong line_cb line) */
	bool seen_command;		/* a command was parsed: later garbage
					   is no longer taken for another
					   protocol */
	bool wake_for_input;		/* woken by input not read yet: no
					   sleeping before it is */
	bool starttls;			/* STARTTLS answered OK: nothing more
					   is read in clear, and TLS starts
					   once the OK is sent */
	bool loopback;			/* the peer is on 127.0.0.0/8 or ::1 */

	/* Once logged in (state AUTH or SELECTED) */
	char *user;			/* directory user name */
	bool node_login;		/* logged in by a cluster node for
					   the user (cmd-authenticate.c): no
					   COMPRESS, so the node can read
					   the stream; not counted against
					   the per-address limits */
	struct imap_proxy *proxy;	/* the user lives on another node:
					   the connection there, while it
					   is made (a login pending) and
					   once the session is passed on
					   (imap-proxy.h); NULL otherwise */
	struct imap_notify *notify;	/* NOTIFY SET in force, or NULL
					   (imap-notify.h) */
	bool condstore;			/* CONDSTORE enabled (RFC 7162 3.1):
					   by ENABLE or the first command
					   using it; untagged FETCH then
					   carries UID and MODSEQ */
	bool qresync;			/* QRESYNC enabled (RFC 7162 3.2.3):
					   VANISHED replaces EXPUNGE */

	/* Once a mailbox is selected (state SELECTED) */
	struct store_view *view;	/* the session's view of the shared
					   folder index; owned by the session */
	char *mailbox;			/* the selected folder's store name */
	bool read_only;			/* EXAMINE, or no write access */
	struct imap_searchres searchres; /* "$"; commands may change it
					   with imap_session_searchres_set() */
	size_t keywords_announced;	/* the folder's keywords when FLAGS
					   was last sent */

	/* Its place in the server's list of sessions */
	struct service_link link;
};

/* The session a link of the server's list belongs to. */
#define IMAP_SESSION(l) SERVICE_SESSION(l, struct imap_session, link)

struct imap_server {
	struct imap_deps deps;
	struct service service;		/* sockets, sessions, shutdown */
	struct imap_auth *auth;		/* password checks (imap-auth.h) */
	struct penalty_table *penalty;	/* failed logins by address and
					   network (lib/penalty.h) */
	unsigned int store_sub;		/* store_subscribe() id */
	struct imap_sort_cache *sort_cache; /* SORT and THREAD keys
					   (imap-sort-cache.h) */
	struct tls_client *proxy_tls;	/* proxies' TLS to the owners, made
					   on first use (imap-proxy.h) */
	struct evdns_base *proxy_dns;	/* their name lookups, made on the
					   first owner named by host name */

	/* IDLE keepalives (cmd-idle.c). Every session in IDLE waits in one
	 * queue for its next "* OK Still here"; all share one interval, so
	 * appending keeps the queue in deadline order and one timer serves
	 * them all. */
	struct event *idle_ev;		/* made by the first IDLE, freed with
					   the server */
	struct imap_idle *idle_head;	/* next keepalive due */
	struct imap_idle *idle_tail;
};

/* ---- Answering (imap-session-reply.c) ---- */

/*
 * Write "* " fmt CR LF to the client. A no-op once the client is gone.
 * Output is never refused: the session stops reading new commands while
 * more than IMAP_OUTPUT_HIGH_WATER bytes wait, and a command producing
 * large output (FETCH) checks imap_session_output_full() and continues
 * from resume_cb.
 */
void imap_session_untagged(struct imap_session *session, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Write len raw bytes (a response built in a struct buf, including its
 * CR LF; literal data). A no-op once the client is gone. */
void imap_session_write(struct imap_session *session, const void *data,
    size_t len);
/* True while more than IMAP_OUTPUT_HIGH_WATER bytes wait to be sent. */
bool imap_session_output_full(const struct imap_session *session);

/*
 * Finish cmd with "<tag> <status> [<code>] <text>" where status is "OK",
 * "NO" or "BAD" and code the response code without brackets ("READ-WRITE",
 * "UIDNEXT 5") or NULL. Before an OK or NO in the selected state the
 * view's pending changes are written first (step 3). A BAD counts towards
 * IMAP_BAD_MAX BADs in a row (the session then says BYE and closes); OK
 * and NO reset the count. Called exactly once per command; cmd remains
 * readable until the handler returns.
 */
void imap_cmd_tagged(struct imap_cmd *cmd, const char *status,
    const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/*
 * Finish cmd with "NO [code] text" for the store error just returned
 * (by error_code(error), RFC 5530 codes): NONEXISTENT,
 * ALREADYEXISTS, CANNOT, EXPUNGEISSUED, LIMIT, OVERQUOTA (disk or quota
 * full, logged too), or SERVERBUG after logging error with what
 * ("create Work") for server-side failures. The store's
 * text never reaches the client (it may name paths).
 */
void imap_cmd_store_error(struct imap_cmd *cmd, const char *what,
    const char *error);
/* "* BYE <text>" and close once the output is flushed; output written
 * after it (a tagged reply included) is discarded. */
void imap_session_bye(struct imap_session *session, const char *text);
/* Close once the output (a tagged reply written before) is flushed,
 * without a BYE of our own: LOGOUT writes its BYE, then its OK. */
void imap_session_close(struct imap_session *session);

/* ---- Pending commands (imap-session-reply.c) ---- */

/* Send "+ <text>" (text may be "" for "+ "). */
void imap_cmd_continue(struct imap_cmd *cmd, const char *text);
/*
 * Deliver the next input line to cb instead of the parser (IDLE's DONE,
 * an AUTHENTICATE response). Once per line: call again from cb for
 * another. A line longer than IMAP_LINE_MAX finishes the command with
 * "BAD" and the session skips to the next LF.
 */
void imap_cmd_read_line(struct imap_cmd *cmd, imap_cmd_line_cb *cb);

/* ---- TLS (imap-session.c) ---- */

/* Whether secrets may cross this connection: TLS, or [imap]
 * plaintext_auth allows it in clear (always, or for a loopback peer).
 * Where not, LOGIN, AUTHENTICATE and XBELL REGISTER answer "NO
 * [PRIVACYREQUIRED]" and CAPABILITY shows LOGINDISABLED. */
bool imap_session_secure(const struct imap_session *session);
/* Whether STARTTLS is offered: TLS is configured and not yet begun. */
bool imap_session_tls_offered(const struct imap_session *session);
/* After STARTTLS's tagged OK: discard every byte that came after the
 * command line (RFC 3207 section 6's injection), read nothing more in
 * clear, and begin the handshake once the OK has been sent. */
void imap_session_starttls(struct imap_session *session);

/* ---- Compression (imap-session-compress.c) ---- */

/* After COMPRESS's tagged OK (written in plain): everything read after
 * the command line and everything written from now on is raw deflate
 * (RFC 4978). */
void imap_session_compress(struct imap_session *session);

/* ---- State changes (imap-session-state.c) ---- */

/*
 * Log the session in as user (already verified): checks the per-user
 * connection limit (max_connections_per_user) and returns -1 if it is
 * reached, the caller then answers "NO [LIMIT] ..."; otherwise sets user
 * and the post-login parser limits, forgets the address's failed logins,
 * moves to IMAP_STATE_AUTH and returns 0.
 */
int imap_session_login(struct imap_session *session, const char *user);
/*
 * A failed login: counted against the client's address and network
 * (lib/penalty.h), the session pauses (a timer, the loop keeps running)
 * for a random part plus, unless the login was held for the penalty
 * before its check already (held_ms, 0 if not), the penalty, which
 * doubles with recent failures from there, at most AUTH_PENALTY_MAX_MS;
 * then finishes cmd with "NO [AUTHENTICATIONFAILED] <text>". After
 * IMAP_AUTH_FAILURES_MAX failures it says BYE instead.
 */
void imap_session_login_failed(struct imap_cmd *cmd, const char *text,
    unsigned held_ms);
/* Take ownership of view as the selected mailbox (closing any previous
 * one without expunging) and move to IMAP_STATE_SELECTED. The session
 * sets the view's changed callback to imap_session_view_changed.
 * mailbox is the store's folder name (copied). */
void imap_session_select(struct imap_session *session,
    struct store_view *view, const char *mailbox, bool read_only);
/* Drop the selected view, back to IMAP_STATE_AUTH (nothing expunged:
 * CLOSE expunges before calling this). "$" is emptied. */
void imap_session_unselect(struct imap_session *session);
/* Make uids[0 .. count) (ascending, malloc'd or NULL; the session takes
 * it) what "$" names. */
void imap_session_searchres_set(struct imap_session *session,
    uint32_t *uids, size_t count);

/* ---- Untagged updates (imap-session-reply.c) ---- */

/*
 * Write the selected view's pending changes now (store_view_refresh):
 * "* n EXPUNGE" (unless allow_expunge is false), "* n FETCH (FLAGS
 * (...))" (with "UID n" too when with_uid), "* n EXISTS" and "* n RECENT"
 * (the messages recent in this session: the new ones it is the first
 * to learn of join those it had).
 * If the folder was deleted or rebuilt under the view the session says
 * BYE and closes. A no-op outside the selected state. imap_cmd_tagged()
 * calls it; NOOP and IDLE call it directly.
 */
void imap_session_flush_updates(struct imap_session *session,
    bool allow_expunge, bool with_uid);
/* Send view's "* FLAGS" (RFC 3501 7.2.6) or, with permanent,
 * "* OK [PERMANENTFLAGS]" (7.1; "()" when read_only): the system flags,
 * $Forwarded and the folder's keywords, "\\*" while it has room. */
void imap_session_send_flags(struct imap_session *session,
    const struct store_view *view, bool permanent, bool read_only);
/* Send both for the selected view again: the folder gained a keyword,
 * so the client learns of it before any FETCH shows it. */
void imap_session_announce_flags(struct imap_session *session);

/* The selected view's changed callback (ctx is the session): runs the
 * pending command's changed_cb, if any; otherwise changes wait for the
 * next command. */
void imap_session_view_changed(struct store_view *view, void *ctx);

#endif
