/*
 * The IMAP sessions as a whole: as the admin port lists them
 * (lib/status.h), who is connected from where, logged in as whom, in
 * which state, passed on to which node; and ending every session of
 * one user.
 */
#include "imap/imap.h"

#include <string.h>

#include "imap/imap-proxy.h"
#include "imap/imap-session.h"
#include "imap/imap-session-private.h"

static const char *
state_name(const struct imap_session *s)
{
	if (s->cmd != NULL && strcmp(s->cmd->name, "IDLE") == 0)
		return "idle";
	if (imap_proxy_relaying(s) && s->state != IMAP_STATE_LOGOUT)
		return "proxied";
	switch (s->state) {
	case IMAP_STATE_NOT_AUTH:
		return "not authenticated";
	case IMAP_STATE_AUTH:
		return "authenticated";
	case IMAP_STATE_SELECTED:
		return "selected";
	default:
		return "logout";
	}
}

void
imap_server_sessions(const struct imap_server *server, status_session_cb *cb,
    void *arg)
{
	const struct service_link *l;

	for (l = server->service.sessions; l != NULL; l = l->next) {
		const struct imap_session *s = IMAP_SESSION(l);
		struct status_session row;

		memset(&row, 0, sizeof(row));
		row.service = "imap";
		row.peer = s->peer;
		row.user = s->user;
		row.state = state_name(s);
		row.folder = s->mailbox;
		row.node = imap_proxy_node(s);
		row.tls = s->ssl != NULL;
		row.since_ms = s->since_ms;
		cb(&row, arg);
	}
}

void
imap_server_end_user(struct imap_server *server, const char *user,
    const char *text)
{
	struct service_link *l;
	struct imap_session *s;

	for (l = server->service.sessions; l != NULL; l = l->next) {
		s = IMAP_SESSION(l);
		if (s->user == NULL || strcmp(s->user, user) != 0 ||
		    s->closing)
			continue;
		if (s->cmd != NULL && !s->cmd->done) {
			/* IDLE ends with its tagged OK; any command ends
			 * first, then the BYE. */
			s->bye_after = text;
			if (s->cmd->abort_cb != NULL && !s->cmd->aborted) {
				s->cmd->aborted = true;
				s->cmd->abort_cb(s->cmd);
			}
			continue;
		}
		imap_session_bye(s, text);
		imap_session_close_if_flushed(s);
	}
}
