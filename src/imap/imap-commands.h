/*
 * The IMAP command table: every command name, the states it is allowed
 * in and its handler, after tmux's cmd_entry. Each handler lives in its
 * own file cmd-<verb>.c; imap-commands.c holds only the table.
 */
#ifndef MB_IMAP_IMAP_COMMANDS_H
#define MB_IMAP_IMAP_COMMANDS_H

#include <stdbool.h>
#include <stdint.h>

#include "imap/imap-session.h"

struct imap_fetch_items;

/* Per-entry flags. */
enum imap_command_flag {
	/* RFC 3501 7.4.1: no "* n EXPUNGE" while answering this command
	 * (FETCH, STORE, SEARCH by sequence number). */
	IMAP_CMD_FLAG_NO_EXPUNGE = 1 << 0,
	/* Allowed before login as well, counted by the pre-login limits
	 * (informational: the state mask decides). */
	IMAP_CMD_FLAG_PRELOGIN = 1 << 1,
	/* Lasts as long as the client wants (IDLE): not timed as a
	 * command. */
	IMAP_CMD_FLAG_UNTIMED = 1 << 2,
};

/* One table entry. */
struct imap_command_def {
	const char *name;	/* upper case; UID variants are separate
				   entries named "UID FETCH" etc. */
	unsigned int states;	/* enum imap_state bits it may run in */
	unsigned int flags;	/* enum imap_command_flag bits */
	imap_command_func *func; /* cmd_<verb>() */
};

/*
 * The entry for name (any case), or NULL if unknown. For a UID command
 * pass the word after UID with uid true ("FETCH", true finds
 * "UID FETCH").
 */
const struct imap_command_def *imap_command_find(const char *name, bool uid);
/* A table entry's place in the table: 0 .. STATS_SERIES_MAX - 1, the
 * series of mb_stats.imap_command_seconds that times it. */
size_t imap_command_index(const struct imap_command_def *def);

/* The handlers, one file each. */
imap_command_func cmd_capability;	/* cmd-capability.c */
imap_command_func cmd_noop;		/* cmd-noop.c (NOOP and CHECK) */
imap_command_func cmd_logout;		/* cmd-logout.c */
imap_command_func cmd_login;		/* cmd-login.c */
imap_command_func cmd_authenticate;	/* cmd-authenticate.c */
imap_command_func cmd_starttls;		/* cmd-starttls.c */
imap_command_func cmd_compress;		/* cmd-compress.c */
imap_command_func cmd_id;		/* cmd-id.c */
imap_command_func cmd_enable;		/* cmd-enable.c */
imap_command_func cmd_namespace;	/* cmd-namespace.c */
imap_command_func cmd_idle;		/* cmd-idle.c */
imap_command_func cmd_select;		/* cmd-select.c (and EXAMINE) */
imap_command_func cmd_close;		/* cmd-close.c */
imap_command_func cmd_unselect;		/* cmd-unselect.c */
imap_command_func cmd_create;		/* cmd-create.c */
imap_command_func cmd_delete;		/* cmd-delete.c */
imap_command_func cmd_rename;		/* cmd-rename.c */
imap_command_func cmd_subscribe;	/* cmd-subscribe.c (and UNSUBSCRIBE) */
imap_command_func cmd_list;		/* cmd-list.c (and LSUB) */
imap_command_func cmd_status;		/* cmd-status.c */
imap_command_func cmd_append;		/* cmd-append.c */
/* Send the logged-in session's large literals (APPEND messages) to
 * spool files instead of memory (cmd-append.c). */
void imap_append_set_sink(struct imap_session *session,
    struct imap_parser *parser);
/* Before the "+ " of an APPEND's synchronising literal, given the
 * arguments complete before it: true, with the response code and text
 * of a tagged NO in *code_r and *text_r (static), if the command would
 * fail whatever the message (a missing mailbox: TRYCREATE; a bad name:
 * CANNOT), so the session answers at once and the client sends no
 * message (RFC 3501 7.5). False to go on (cmd-append.c). */
bool imap_append_refusal(struct imap_session *session,
    const struct imap_arg *args, unsigned int count, const char **code_r,
    const char **text_r);
imap_command_func cmd_xbell;		/* cmd-xbell.c (notify-protocol.md) */
imap_command_func cmd_notify;		/* cmd-notify.c (RFC 5465) */
/* Written against this contract in their own files; UID variants share
 * the handler and look at cmd->uid. Each file's author adds its entries
 * to the table in imap-commands.c and its file to src/imap/meson.build. */
imap_command_func cmd_fetch;		/* cmd-fetch.c */
/* "* seq FETCH (UID n <items>)" for message seq of the selected view,
 * as UID FETCH writes it, without setting \Seen: NOTIFY's MessageNew
 * fetch attributes (RFC 5465 5.2). */
void imap_fetch_notify(struct imap_session *session,
    const struct imap_fetch_items *items, uint32_t seq);
imap_command_func cmd_search;		/* cmd-search.c */
imap_command_func cmd_sort;		/* cmd-sort.c (RFC 5256, 5267) */
imap_command_func cmd_thread;		/* cmd-thread.c (RFC 5256) */
imap_command_func cmd_store;		/* cmd-store.c */
imap_command_func cmd_copy;		/* cmd-copy.c */
imap_command_func cmd_move;		/* cmd-move.c */
imap_command_func cmd_expunge;		/* cmd-expunge.c (and UID EXPUNGE) */

/*
 * Shared by LOGIN and AUTHENTICATE (cmd-login.c): verify name (a user
 * or an address in one of our domains) and password against the
 * directory and finish cmd: "OK [CAPABILITY ...]" and the session logged
 * in, "NO [LIMIT]" over max_connections_per_user, or after a random
 * pause "NO [AUTHENTICATIONFAILED]".
 */
void imap_login_try(struct imap_cmd *cmd, const char *name,
    const char *password);
/*
 * Log the session in as user (verified, existing, served here) and
 * finish cmd: "OK [CAPABILITY ...]" after making the user's special-use
 * folders, or "NO [LIMIT]" over max_connections_per_user (then -1).
 */
int imap_login_finish(struct imap_cmd *cmd, const char *user);
/* name for a log line: printable ASCII only (a literal may hold any
 * byte), cut to fit out (size > 0); returns out (cmd-login.c). */
const char *imap_printable(const char *name, char *out, size_t size);

/* The capability list after "CAPABILITY " (changes at login: AUTH=PLAIN
 * is offered only before). */
const char *imap_capabilities(const struct imap_session *session);

#endif
