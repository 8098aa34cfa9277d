/*
 * The IMAP command table (name, allowed states, flags, handler) and the
 * capability list. What each command does is in its own cmd-<verb>.c.
 */
#include "imap/imap-commands.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "lib/stats.h"

#define NA IMAP_STATE_NOT_AUTH
#define AU IMAP_STATE_AUTH
#define SE IMAP_STATE_SELECTED
#define ANY IMAP_STATE_ANY
#define IN IMAP_STATE_LOGGED_IN

static const struct imap_command_def imap_commands[] = {
	/* RFC 3501 6.1: any state */
	{ "CAPABILITY", ANY, IMAP_CMD_FLAG_PRELOGIN, cmd_capability },
	{ "NOOP", ANY, IMAP_CMD_FLAG_PRELOGIN, cmd_noop },
	{ "LOGOUT", ANY, IMAP_CMD_FLAG_PRELOGIN, cmd_logout },
	{ "ID", ANY, IMAP_CMD_FLAG_PRELOGIN, cmd_id },		/* RFC 2971 */
	/* RFC 3501 6.2: not authenticated */
	{ "LOGIN", NA, IMAP_CMD_FLAG_PRELOGIN, cmd_login },
	{ "AUTHENTICATE", NA, IMAP_CMD_FLAG_PRELOGIN, cmd_authenticate },
	{ "STARTTLS", NA, IMAP_CMD_FLAG_PRELOGIN, cmd_starttls },
	/* RFC 3501 6.3: authenticated (and selected) */
	{ "SELECT", IN, 0, cmd_select },
	{ "EXAMINE", IN, 0, cmd_select },
	{ "CREATE", IN, 0, cmd_create },
	{ "DELETE", IN, 0, cmd_delete },
	{ "RENAME", IN, 0, cmd_rename },
	{ "SUBSCRIBE", IN, 0, cmd_subscribe },
	{ "UNSUBSCRIBE", IN, 0, cmd_subscribe },
	{ "LIST", IN, 0, cmd_list },
	{ "LSUB", IN, 0, cmd_list },
	{ "STATUS", IN, 0, cmd_status },
	{ "APPEND", IN, 0, cmd_append },
	{ "NAMESPACE", IN, 0, cmd_namespace },	/* RFC 2342 */
	{ "ENABLE", AU, 0, cmd_enable },	/* RFC 5161 */
	{ "IDLE", IN, IMAP_CMD_FLAG_UNTIMED, cmd_idle },	/* RFC 2177 */
	{ "XBELL", IN, 0, cmd_xbell },		/* doc/notify-protocol.md */
	{ "COMPRESS", IN, 0, cmd_compress },	/* RFC 4978 */
	{ "NOTIFY", IN, 0, cmd_notify },	/* RFC 5465 */
	/* RFC 3501 6.4: selected */
	{ "CHECK", SE, 0, cmd_noop },
	{ "CLOSE", SE, 0, cmd_close },
	{ "UNSELECT", SE, 0, cmd_unselect },	/* RFC 3691 */
	/* RFC 3501 7.4.1: no EXPUNGE responses during FETCH, STORE and
	 * SEARCH; their UID forms may have them. */
	{ "FETCH", SE, IMAP_CMD_FLAG_NO_EXPUNGE, cmd_fetch },
	{ "UID FETCH", SE, 0, cmd_fetch },
	{ "SEARCH", SE, IMAP_CMD_FLAG_NO_EXPUNGE, cmd_search },
	{ "UID SEARCH", SE, 0, cmd_search },
	{ "SORT", SE, IMAP_CMD_FLAG_NO_EXPUNGE, cmd_sort },	/* RFC 5256 */
	{ "UID SORT", SE, 0, cmd_sort },
	{ "THREAD", SE, IMAP_CMD_FLAG_NO_EXPUNGE, cmd_thread },
	{ "UID THREAD", SE, 0, cmd_thread },
	{ "STORE", SE, IMAP_CMD_FLAG_NO_EXPUNGE, cmd_store },
	{ "UID STORE", SE, 0, cmd_store },
	{ "COPY", SE, 0, cmd_copy },
	{ "UID COPY", SE, 0, cmd_copy },		/* RFC 4315 */
	{ "MOVE", SE, 0, cmd_move },		/* RFC 6851 */
	{ "UID MOVE", SE, 0, cmd_move },
	{ "EXPUNGE", SE, 0, cmd_expunge },
	{ "UID EXPUNGE", SE, 0, cmd_expunge },	/* RFC 4315 */
};

_Static_assert(sizeof(imap_commands) / sizeof(imap_commands[0]) <=
    STATS_SERIES_MAX, "every command has a series of command times");

#undef NA
#undef AU
#undef SE
#undef ANY
#undef IN

size_t
imap_command_index(const struct imap_command_def *def)
{
	return (size_t)(def - imap_commands);
}

const struct imap_command_def *
imap_command_find(const char *name, bool uid)
{
	const char *want = name;
	char buf[64];

	if (uid) {
		size_t len = strlen(name);

		if (len + 5 > sizeof(buf))
			return NULL;
		memcpy(buf, "UID ", 4);
		memcpy(buf + 4, name, len + 1);
		want = buf;
	}
	for (size_t i = 0; i < sizeof(imap_commands) /
	    sizeof(imap_commands[0]); i++)
		if (strcasecmp(imap_commands[i].name, want) == 0)
			return &imap_commands[i];
	return NULL;
}

#define CAPS_HEAD "IMAP4rev1 LITERAL+ SASL-IR IDLE UIDPLUS MOVE " \
	"UNSELECT NAMESPACE ID ENABLE SPECIAL-USE CHILDREN ESEARCH SEARCHRES " \
	"STATUS=SIZE LIST-EXTENDED LIST-STATUS CREATE-SPECIAL-USE"
#define CAPS_TAIL "SORT SORT=DISPLAY THREAD=ORDEREDSUBJECT " \
	"THREAD=REFERENCES ESORT MULTIAPPEND BINARY NOTIFY CONDSTORE QRESYNC"
#define CAPS_COMMON CAPS_HEAD " COMPRESS=DEFLATE " CAPS_TAIL
/* A cluster node's session for a user: the node reads the stream. */
#define CAPS_NODE CAPS_HEAD " " CAPS_TAIL

/* XBELL (UDP new-mail notifications) is offered after login, and only
 * while the notifier runs. */
const char *
imap_capabilities(const struct imap_session *session)
{
	bool xbell = session->server != NULL &&
	    session->server->deps.xbell != NULL;

	/* Before login: STARTTLS until TLS is on (RFC 3501 6.2.1); where
	 * no password may be sent in clear, LOGINDISABLED and no AUTH=
	 * (RFC 3501 7.2.1, 6.2.3). */
	if (session->state == IMAP_STATE_NOT_AUTH) {
		if (imap_session_tls_offered(session))
			return imap_session_secure(session) ?
			    CAPS_COMMON " STARTTLS AUTH=PLAIN" :
			    CAPS_COMMON " STARTTLS LOGINDISABLED";
		return imap_session_secure(session) ?
		    CAPS_COMMON " AUTH=PLAIN" : CAPS_COMMON " LOGINDISABLED";
	}
	if (session->node_login)
		return xbell ? CAPS_NODE " XBELL" : CAPS_NODE;
	return xbell ? CAPS_COMMON " XBELL" : CAPS_COMMON;
}
