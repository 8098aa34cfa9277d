/*
 * An IMAP session's state changes: login within the per-user connection
 * limit (and the name its log lines carry), the pause after a failed
 * login (the address's penalty), and selecting and unselecting a
 * mailbox.
 */
#include "imap/imap-session.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/util.h>

#include "imap/imap-session-private.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/penalty.h"
#include "lib/stats.h"
#include "lib/xmalloc.h"
#include "store/store.h"

/* ---- state changes ---- */

static size_t
count_user_sessions(const struct imap_server *server, const char *user)
{
	const struct service_link *l;
	size_t n = 0;

	for (l = server->service.sessions; l != NULL; l = l->next) {
		const struct imap_session *s = IMAP_SESSION(l);

		if (s->user != NULL && strcmp(s->user, user) == 0)
			n++;
	}
	return n;
}

/* "peer=" and the address:port that follows it in log_id. */
#define LOG_ID_PEER "peer="

void
imap_session_set_log_id(struct imap_session *session, const char *peer,
    const char *ip, const char *user)
{
	size_t peer_len, ip_len, len;
	char *id;

	/* The three strings in one allocation of their own size: most of
	 * 3 x 64 bytes would stay unused for every connection. */
	if (peer == NULL)
		peer = session->peer;
	if (ip == NULL)
		ip = session->peer_ip;
	peer_len = strlen(peer) + 1;
	ip_len = strlen(ip) + 1;
	len = strlen(LOG_ID_PEER) + peer_len +
	    (user != NULL ? strlen(" user=") + strlen(user) : 0);
	id = xmalloc(len + peer_len + ip_len);
	snprintf(id, len, "%s%s%s%s", LOG_ID_PEER, peer,
	    user != NULL ? " user=" : "", user != NULL ? user : "");
	memcpy(id + len, peer, peer_len);
	memcpy(id + len + peer_len, ip, ip_len);
	free(session->log_id);
	session->log_id = id;
	session->peer = id + len;
	session->peer_ip = session->peer + peer_len;
	/* A node logs in for many users from one address: its sessions
	 * do not count against the per-address limits. */
	session->link.ip = session->node_login ? NULL : session->peer_ip;
}

int
imap_session_login(struct imap_session *session, const char *user)
{
	struct imap_server *server = session->server;
	struct imap_parser_limits limits;

	if (count_user_sessions(server, user) >=
	    server->deps.cfg->imap_max_connections_per_user) {
		log_info("imap: %s user=%s: too many connections for the user",
		    session->log_id, user);
		mb_stats.imap_sessions_refused++;
		return -1;
	}
	session->user = xstrdup(user);
	session->state = IMAP_STATE_AUTH;
	session->auth_failures = 0;
	penalty_succeeded(server->penalty, session->peer_ip);
	imap_session_login_deadline_free(session);
	service_set_yieldable(&server->service, &session->link, false);
	/* A parser made later takes its limits from the state. */
	if (session->parser != NULL) {
		imap_parser_limits_default(&limits, false);
		imap_parser_set_limits(session->parser, &limits);
	}
	imap_session_update_timeouts(session);
	mb_stats.imap_logins_total++;
	imap_session_set_log_id(session, NULL, NULL, user);
	log_info("imap: %s: logged in", session->log_id);
	return 0;
}

/* The failed-login timer exists only during the pause. */
void
imap_session_delay_free(struct imap_session *session)
{
	if (session->delay_ev != NULL) {
		event_free(session->delay_ev);
		session->delay_ev = NULL;
	}
}

static void
delay_cb(evutil_socket_t fd, short what, void *ctx)
{
	struct imap_session *session = ctx;
	struct imap_cmd *cmd = session->cmd;
	const char *text = cmd->ctx;

	(void)fd;
	(void)what;
	imap_session_delay_free(session);
	cmd->ctx = NULL;
	cmd->abort_cb = NULL;
	imap_cmd_tagged(cmd, "NO", "AUTHENTICATIONFAILED", "%s", text);
	if (session->auth_failures >= IMAP_AUTH_FAILURES_MAX)
		session->bad_count = IMAP_BAD_MAX;	/* BYE after the NO */
}

/* The client left during the pause: nothing more to say. */
static void
delay_abort_cb(struct imap_cmd *cmd)
{
	imap_session_delay_free(cmd->session);
	cmd->ctx = NULL;
	cmd->abort_cb = NULL;
	imap_cmd_tagged(cmd, "NO", NULL, "Aborted");
}

void
imap_session_login_failed(struct imap_cmd *cmd, const char *text,
    unsigned held_ms)
{
	struct imap_session *session = cmd->session;
	struct timeval tv;
	uint32_t r;
	unsigned ms;

	session->auth_failures++;
	mb_stats.imap_login_failures_total++;
	evutil_secure_rng_get_bytes(&r, sizeof(r));
	ms = penalty_failed(session->server->penalty, session->peer_ip);
	if (held_ms > 0)
		ms = 0;		/* it waited for the penalty already */
	ms += r % (AUTH_PENALTY_JITTER_MS + 1);
	if (held_ms + ms > AUTH_PENALTY_MAX_MS)
		ms = held_ms < AUTH_PENALTY_MAX_MS ?
		    AUTH_PENALTY_MAX_MS - held_ms : 0;
	log_info("imap: %s: failed login answered in %u ms", session->log_id,
	    held_ms + ms);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	/* text is a static string of the caller. */
	cmd->ctx = (void *)(uintptr_t)text;
	cmd->abort_cb = delay_abort_cb;
	assert(session->delay_ev == NULL);
	session->delay_ev = evtimer_new(imap_session_base(session), delay_cb,
	    session);
	if (session->delay_ev == NULL)
		fatalx("imap: cannot create an event");
	evtimer_add(session->delay_ev, &tv);
}

void
imap_session_select(struct imap_session *session, struct store_view *view,
    const char *mailbox, bool read_only)
{
	imap_session_unselect(session);
	session->view = view;
	session->mailbox = xstrdup(mailbox);
	session->read_only = read_only;
	session->state = IMAP_STATE_SELECTED;
	store_view_set_changed_cb(view, imap_session_view_changed, session);
}

void
imap_session_unselect(struct imap_session *session)
{
	if (session->view != NULL) {
		store_view_set_changed_cb(session->view, NULL, NULL);
		store_view_free(&session->view);
	}
	free(session->mailbox);
	session->mailbox = NULL;
	session->read_only = false;
	/* RFC 5182 2.1: SELECT and EXAMINE reset "$". */
	imap_session_searchres_set(session, NULL, 0);
	if (session->state == IMAP_STATE_SELECTED)
		session->state = IMAP_STATE_AUTH;
}

void
imap_session_searchres_set(struct imap_session *session, uint32_t *uids,
    size_t count)
{
	free(session->searchres.uids);
	session->searchres.uids = count > 0 ? uids : NULL;
	session->searchres.count = count;
	if (count == 0)
		free(uids);
}
