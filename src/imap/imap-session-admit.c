/*
 * Who gets in, and for how long before logging in: at accept, the
 * per-address limits before the global ones, and when the pre-login
 * table (or the whole session table) is full, the oldest session not
 * logged in yields its place (* BYE) so a new client still gets in
 * through a flood; logged-in sessions never yield. From accept, a login
 * deadline that no input extends.
 */
#include "imap/imap-session.h"

#include <sys/socket.h>

#include <string.h>

#include <event2/event.h>

#include "imap/imap-session-private.h"
#include "lib/clock.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/stats.h"

/* Best effort: the socket is fresh, so the line fits. A client that
 * expects a TLS handshake (tls) is only closed on. */
static void
refuse(evutil_socket_t fd, bool tls, const char *line)
{
	if (!tls)
		(void)send(fd, line, strlen(line),
		    MSG_NOSIGNAL | MSG_DONTWAIT);
	evutil_closesocket(fd);
	mb_stats.imap_sessions_refused++;
}

/* End a session that is not logged in: its pending command (a password
 * check, a failed login's pause, an AUTHENTICATE waiting for its
 * response) is aborted, then "* BYE text" and close. */
static void
session_end_prelogin(struct imap_session *session, const char *text)
{
	struct imap_cmd *cmd = session->cmd;

	service_set_yieldable(&session->server->service, &session->link,
	    false);
	imap_session_login_deadline_free(session);
	if (cmd != NULL && !cmd->done && cmd->abort_cb != NULL &&
	    !cmd->aborted) {
		cmd->aborted = true;
		cmd->abort_cb(cmd);
	}
	imap_session_bye(session, text);
	imap_session_close_if_flushed(session);
}

bool
imap_session_admit(struct imap_server *server, evutil_socket_t fd,
    const char *peer, const char *ip, bool tls)
{
	const struct mb_config *cfg = server->deps.cfg;
	struct service *svc = &server->service;
	struct service_link *oldest;
	size_t from_ip, prelogin_from_ip;

	if (svc->shutting_down) {
		refuse(fd, tls, "* BYE Server shutting down\r\n");
		return false;
	}
	/* Per address first: one address cannot take the places the
	 * global limits keep for everyone. */
	from_ip = service_count_ip(svc, ip, &prelogin_from_ip);
	if (from_ip >= cfg->imap_max_connections_per_ip) {
		log_info("imap: peer=%s: refused: too many connections from "
		    "%s", peer, ip);
		refuse(fd, tls, "* BYE [UNAVAILABLE] Too many connections "
		    "from your address\r\n");
		return false;
	}
	if (prelogin_from_ip >= cfg->imap_max_prelogin_per_ip) {
		log_info("imap: peer=%s: refused: too many connections from "
		    "%s not logged in", peer, ip);
		refuse(fd, tls, "* BYE [UNAVAILABLE] Too many connections "
		    "from your address waiting to log in\r\n");
		return false;
	}
	if (svc->session_count < IMAP_SESSIONS_MAX &&
	    svc->yield_count < cfg->imap_max_prelogin)
		return true;
	/* Full: the session waiting longest to log in makes room, unless
	 * it has had no fair chance to log in yet. */
	if ((oldest = service_oldest_yieldable(svc)) == NULL ||
	    clock_now_ms() - oldest->yieldable_since_ms <
	    IMAP_PRELOGIN_GRACE_MS) {
		log_info("imap: peer=%s: refused: %zu sessions", peer,
		    svc->session_count);
		refuse(fd, tls, "* BYE Too many connections, try again "
		    "later\r\n");
		return false;
	}
	log_info("imap: %s: not logged in, yields to peer=%s (%zu sessions, "
	    "%zu not logged in)", IMAP_SESSION(oldest)->log_id, peer,
	    svc->session_count, svc->yield_count);
	mb_stats.imap_sessions_yielded_total++;
	session_end_prelogin(IMAP_SESSION(oldest), "[UNAVAILABLE] Too many "
	    "connections waiting to log in, try again");
	return true;
}

static void
login_deadline_cb(evutil_socket_t fd, short what, void *ctx)
{
	struct imap_session *session = ctx;

	(void)fd;
	(void)what;
	log_info("imap: %s: no login within %u s", session->log_id,
	    session->server->deps.cfg->imap_login_timeout);
	mb_stats.imap_login_timeouts_total++;
	session_end_prelogin(session, "Login timeout; log in sooner");
}

void
imap_session_login_deadline_start(struct imap_session *session)
{
	struct timeval tv = {
		(time_t)session->server->deps.cfg->imap_login_timeout, 0
	};

	service_set_yieldable(&session->server->service, &session->link,
	    true);
	session->login_ev = evtimer_new(imap_session_base(session),
	    login_deadline_cb, session);
	if (session->login_ev == NULL)
		fatalx("imap: cannot create an event");
	evtimer_add(session->login_ev, &tv);
}

void
imap_session_login_deadline_free(struct imap_session *session)
{
	if (session->login_ev != NULL) {
		event_free(session->login_ev);
		session->login_ev = NULL;
	}
}
