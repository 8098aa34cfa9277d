/*
 * LMTP connections on libevent: accepting up to LMTP_SESSIONS_PER_IP per
 * address and LMTP_SESSIONS_MAX in all (the session idle longest
 * yielding when full), bounding buffers in both directions, feeding
 * input to the command parser or the DATA decoder, idle timeouts,
 * STARTTLS, and an orderly shutdown. What each command does is in
 * lmtp-commands.c.
 */
#include "lmtp/lmtp-session.h"

#include <sys/socket.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "lib/clock.h"
#include "lib/config.h"
#include "lib/listeners.h"
#include "lib/log.h"
#include "lib/stats.h"
#include "lib/tls.h"
#include "lib/xmalloc.h"
#include "lmtp/lmtp-relay.h"

static void session_input(struct lmtp_session *session);
static void session_read_cb(struct bufferevent *bev, void *ctx);
static void session_write_cb(struct bufferevent *bev, void *ctx);
static void session_event_cb(struct bufferevent *bev, short what, void *ctx);

/* ---- lifetime ---- */

static void
transaction_clear(struct lmtp_session *session)
{
	for (size_t i = 0; i < session->rcpt_count; i++) {
		free(session->rcpts[i].address);
		free(session->rcpts[i].reply);
	}
	session->rcpt_count = 0;
	free(session->sender);
	session->sender = NULL;
	session->mail_has_size = false;
	session->mail_size = 0;
	session->mail_body = LMTP_BODY_NONE;
	session->waiting = 0;
	session->relay_offset = 0;
	lmtp_relay_close_all(session);
	if (session->data != NULL)
		lmtp_data_reset(session->data);
	lmtp_commands_data_abort(session);
}

static void
session_free(struct lmtp_session *session)
{
	struct lmtp_server *server = session->server;

	if (session->bev != NULL)
		bufferevent_free(session->bev);
	transaction_clear(session);
	free(session->rcpts);
	lmtp_parser_free(&session->parser);
	lmtp_data_free(&session->data);
	mb_stats.lmtp_sessions_active--;
	if (server != NULL)
		service_remove(&server->service, &session->link);
	free(session);
}

/* The connection is unusable. A running delivery keeps the session until
 * its callback, which then frees it. */
static void
session_gone(struct lmtp_session *session)
{
	if (session->state == LMTP_SESSION_DELIVERING) {
		bufferevent_free(session->bev);
		session->bev = NULL;
		return;
	}
	session_free(session);
}

/* Read only while input may be acted on. */
static void
session_update_read(struct lmtp_session *session)
{
	if (session->bev == NULL)
		return;
	if (session->output_blocked || session->eof || session->starttls ||
	    session->relay_blocked ||
	    session->state == LMTP_SESSION_RELAYING ||
	    session->state == LMTP_SESSION_DELIVERING ||
	    session->state == LMTP_SESSION_CLOSING)
		bufferevent_disable(session->bev, EV_READ);
	else
		bufferevent_enable(session->bev, EV_READ);
}

/* ---- for lmtp-commands.c ---- */

void
lmtp_session_reply(struct lmtp_session *session, const char *fmt, ...)
{
	struct evbuffer *out;
	va_list ap;

	if (session->bev == NULL)
		return;
	out = bufferevent_get_output(session->bev);
	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

void
lmtp_session_close(struct lmtp_session *session)
{
	session->state = LMTP_SESSION_CLOSING;
	session_update_read(session);
}

void
lmtp_session_reset_transaction(struct lmtp_session *session)
{
	transaction_clear(session);
	if (session->state != LMTP_SESSION_GREETED &&
	    session->state != LMTP_SESSION_CLOSING)
		session->state = LMTP_SESSION_READY;
}

void
lmtp_session_starttls(struct lmtp_session *session)
{
	struct evbuffer *in;
	size_t len;

	session->starttls = true;
	if (session->bev == NULL)
		return;
	in = bufferevent_get_input(session->bev);
	if ((len = evbuffer_get_length(in)) > 0) {
		log_info("lmtp: %s: %zu bytes sent in clear after STARTTLS "
		    "discarded", session->log_id, len);
		evbuffer_drain(in, len);
	}
	session_update_read(session);
}

void
lmtp_session_pause(struct lmtp_session *session)
{
	session->state = LMTP_SESSION_DELIVERING;
	session_update_read(session);
}

void
lmtp_session_resume(struct lmtp_session *session)
{
	if (session->bev == NULL || session->server == NULL) {
		session_free(session);
		return;
	}
	if (session->state == LMTP_SESSION_DELIVERING)
		session->state = LMTP_SESSION_READY;
	/* The replies are out; during shutdown that was the last thing this
	 * session had to do. */
	if (session->server->service.shutting_down &&
	    session->state != LMTP_SESSION_CLOSING)
		lmtp_commands_shutdown(session);
	session_input(session);
}

struct lmtp_recipient *
lmtp_session_add_recipient(struct lmtp_session *session, const char *user,
    const char *address, struct lmtp_relay *relay)
{
	struct lmtp_recipient *rcpt;

	if (session->rcpt_count == session->rcpt_cap) {
		session->rcpt_cap = session->rcpt_cap == 0 ? 4 :
		    session->rcpt_cap * 2;
		session->rcpts = xreallocarray(session->rcpts,
		    session->rcpt_cap, sizeof(*session->rcpts));
	}
	rcpt = &session->rcpts[session->rcpt_count++];
	memset(rcpt, 0, sizeof(*rcpt));
	snprintf(rcpt->user, sizeof(rcpt->user), "%s", user);
	rcpt->address = xstrdup(address);
	rcpt->relay = relay;
	if (session->state == LMTP_SESSION_RELAYING)
		session->relay_return = LMTP_SESSION_RCPT;
	else
		session->state = LMTP_SESSION_RCPT;
	return rcpt;
}

void
lmtp_session_relay_wait(struct lmtp_session *session)
{
	session->relay_return = session->state;
	session->state = LMTP_SESSION_RELAYING;
	session_update_read(session);
}

void
lmtp_session_relay_resume(struct lmtp_session *session)
{
	if (session->state == LMTP_SESSION_RELAYING)
		session->state = session->relay_return;
	if (session->server->service.shutting_down &&
	    session->state != LMTP_SESSION_CLOSING)
		lmtp_commands_shutdown(session);
	session_input(session);
}

void
lmtp_session_relay_drained(struct lmtp_session *session)
{
	if (!session->relay_blocked || lmtp_relay_blocked(session))
		return;
	session->relay_blocked = false;
	if (session->state == LMTP_SESSION_DATA)
		session_input(session);
}

/* ---- input and output ---- */

/* What the socket takes now of the replies still waiting (in clear; a
 * TLS session's records are OpenSSL's to write), before the session is
 * closed without waiting for the client: the replies to a delivery
 * that finished after the shutdown's grace. */
static void
session_flush_now(struct lmtp_session *session)
{
	struct evbuffer *out = bufferevent_get_output(session->bev);

	if (!session->tls && !session->starttls)
		(void)evbuffer_write(out, bufferevent_getfd(session->bev));
}

/*
 * Feed what has arrived to the parser or the decoder, one contiguous
 * chunk at a time (so no line is ever read whole into memory: the input
 * is bounded by LMTP_READ_HIGH_WATER), until the input is used up, a
 * delivery pauses us, or too many replies wait for the client. May free
 * the session.
 */
static void
session_input(struct lmtp_session *session)
{
	struct evbuffer *in, *out;
	struct evbuffer_iovec vec;
	struct lmtp_command cmd;
	size_t consumed;
	int ret;

	in = bufferevent_get_input(session->bev);
	out = bufferevent_get_output(session->bev);
	for (;;) {
		if (session->state == LMTP_SESSION_DELIVERING ||
		    session->state == LMTP_SESSION_RELAYING ||
		    session->state == LMTP_SESSION_CLOSING ||
		    session->starttls || session->relay_blocked)
			break;
		if (evbuffer_get_length(out) >= LMTP_OUTPUT_HIGH_WATER) {
			session->output_blocked = true;
			break;
		}
		if (evbuffer_get_length(in) == 0 ||
		    evbuffer_peek(in, -1, NULL, &vec, 1) < 1)
			break;
		if (session->state == LMTP_SESSION_DATA) {
			ret = lmtp_data_feed(session->data, vec.iov_base,
			    vec.iov_len, &consumed);
			evbuffer_drain(in, consumed);
			lmtp_commands_data_input(session);
			if (ret == 1)
				lmtp_commands_data_end(session);
		} else {
			ret = lmtp_parser_feed(session->parser, vec.iov_base,
			    vec.iov_len, &consumed, &cmd);
			evbuffer_drain(in, consumed);
			if (ret == 1)
				lmtp_commands_run(session, &cmd);
			else if (ret < 0)
				lmtp_commands_refuse(session, &cmd);
		}
	}

	/* A client that sent EOF gets the replies it asked for, then the
	 * connection closes. */
	if (session->eof && !session->output_blocked &&
	    !session->relay_blocked &&
	    session->state != LMTP_SESSION_RELAYING &&
	    session->state != LMTP_SESSION_DELIVERING)
		session->state = LMTP_SESSION_CLOSING;
	session_update_read(session);
	/* Between transactions a session may yield to a new one; one that
	 * just finished a transaction is the newest to do so. */
	if (session->server != NULL)
		service_set_yieldable(&session->server->service,
		    &session->link, session->state == LMTP_SESSION_GREETED ||
		    session->state == LMTP_SESSION_READY);
	if (session->state != LMTP_SESSION_CLOSING)
		return;
	if (evbuffer_get_length(out) == 0)
		session_free(session);
	else if (session->server != NULL &&
	    session->server->service.shutdown_expired) {
		session_flush_now(session);
		session_free(session);
	}
}

static void
session_read_cb(struct bufferevent *bev, void *ctx)
{
	(void)bev;
	session_input(ctx);
}

/* The session's callbacks, watermarks and timeouts on its bufferevent. */
static void
session_bev_setup(struct lmtp_session *session)
{
	struct timeval idle = { LMTP_IDLE_TIMEOUT_SECS, 0 };

	bufferevent_setcb(session->bev, session_read_cb, session_write_cb,
	    session_event_cb, session);
	bufferevent_setwatermark(session->bev, EV_READ, 0,
	    LMTP_READ_HIGH_WATER);
	/* The write timeout catches a client that stopped reading. */
	bufferevent_set_timeouts(session->bev, &idle, &idle);
}

/* STARTTLS's 220 has been sent: the same socket goes on under TLS, with
 * a fresh parser and back to before LHLO (RFC 3207 section 4.2). What
 * the clear bufferevent still held goes with it. */
static void
session_start_tls(struct lmtp_session *session)
{
	evutil_socket_t fd = bufferevent_getfd(session->bev);
	SSL *ssl;

	ssl = SSL_new(tls_server_ctx(session->server->deps.tls));
	if (ssl == NULL) {
		log_warnx("lmtp: %s: STARTTLS: %s", session->log_id,
		    tls_openssl_error());
		session_gone(session);
		return;
	}
	bufferevent_setfd(session->bev, -1);
	bufferevent_free(session->bev);
	session->bev = bufferevent_openssl_socket_new(session->server->deps.base,
	    fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (session->bev == NULL) {
		log_warnx("lmtp: %s: cannot set up TLS", session->log_id);
		SSL_free(ssl);
		evutil_closesocket(fd);
		session_free(session);
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(session->bev, 1);
	session->starttls = false;
	session->tls = true;
	session->state = LMTP_SESSION_GREETED;
	lmtp_session_reset_transaction(session);
	lmtp_parser_free(&session->parser);
	session->parser = lmtp_parser_new(LMTP_LINE_MAX);
	session_bev_setup(session);
	bufferevent_enable(session->bev, EV_READ | EV_WRITE);
}

/* Output drained to the low-water mark (0). */
static void
session_write_cb(struct bufferevent *bev, void *ctx)
{
	struct lmtp_session *session = ctx;

	(void)bev;
	if (session->state == LMTP_SESSION_CLOSING) {
		session_free(session);
		return;
	}
	if (session->starttls) {
		session_start_tls(session);
		return;
	}
	if (session->output_blocked) {
		session->output_blocked = false;
		session_input(session);
	}
}

static void
session_event_cb(struct bufferevent *bev, short what, void *ctx)
{
	struct lmtp_session *session = ctx;

	if (what & BEV_EVENT_CONNECTED)
		return;		/* the TLS handshake is done */
	if ((what & BEV_EVENT_EOF) && session->tls) {
		/* After the client's close_notify OpenSSL writes nothing
		 * more and libevent stops trying: replies still queued would
		 * hold the session, and a shutdown, forever. */
		log_debug("lmtp: %s: closed by the client", session->log_id);
		session_gone(session);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		session->eof = true;
		session_input(session);
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) &&
	    session->state != LMTP_SESSION_CLOSING) {
		log_info("lmtp: %s: idle timeout", session->log_id);
		lmtp_session_reply(session,
		    "421 4.4.2 %s Idle timeout, closing connection",
		    session->server->deps.cfg->hostname);
		lmtp_session_close(session);
		return;
	}
	service_log_conn_end(&session->server->service, session->log_id, bev,
	    what);
	session_gone(session);
}

/* ---- accepting ---- */

/* Best effort: the socket is fresh, so the reply fits. */
static void
refuse(struct lmtp_server *server, evutil_socket_t fd, const char *text)
{
	char msg[512];
	int n;

	n = snprintf(msg, sizeof(msg), "421 4.3.2 %s %s\r\n",
	    server->deps.cfg->hostname, text);
	if (n > 0 && (size_t)n < sizeof(msg))
		(void)send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	evutil_closesocket(fd);
	mb_stats.lmtp_sessions_refused++;
}

/*
 * Whether a connection from ip may become a session: at most
 * LMTP_SESSIONS_PER_IP from one address, then LMTP_SESSIONS_MAX in all,
 * where the session idle longest (no transaction) yields its place, so
 * idle connections cannot make every delivery get 421. On refusal fd
 * got a 421 and is closed.
 */
static bool
admit(struct lmtp_server *server, evutil_socket_t fd, const char *peer,
    const char *ip)
{
	struct service *svc = &server->service;
	struct service_link *oldest;
	struct lmtp_session *idle;

	if (svc->shutting_down) {
		refuse(server, fd, "Too many connections, try again later");
		return false;
	}
	if (service_count_ip(svc, ip, NULL) >= LMTP_SESSIONS_PER_IP) {
		log_info("lmtp: peer=%s: refused: too many connections from "
		    "%s", peer, ip);
		refuse(server, fd, "Too many connections from your address");
		return false;
	}
	if (svc->session_count < LMTP_SESSIONS_MAX)
		return true;
	/* An MTA starts its transaction right after the greeting, so the
	 * oldest idle session is a cached connection or a flood's, and a
	 * client that loses its place gets a 421 and retries. */
	if ((oldest = service_oldest_yieldable(svc)) == NULL) {
		log_debug("lmtp: connection refused: %zu sessions",
		    svc->session_count);
		refuse(server, fd, "Too many connections, try again later");
		return false;
	}
	idle = LMTP_SESSION(oldest);
	log_info("lmtp: %s: idle, yields to peer=%s (%zu sessions)",
	    idle->log_id, peer, svc->session_count);
	mb_stats.lmtp_sessions_yielded_total++;
	service_set_yieldable(svc, oldest, false);
	lmtp_session_reply(idle, "421 4.3.2 %s Too many connections, closing "
	    "an idle one", server->deps.cfg->hostname);
	lmtp_session_close(idle);
	return true;
}

static void
accept_cb(evutil_socket_t fd, struct sockaddr *sa, int salen, void *ctx)
{
	struct lmtp_server *server = ctx;
	struct lmtp_session *session;
	char peer[64], ip[64];

	listener_format_peer(sa, salen, peer, sizeof(peer), ip, sizeof(ip));
	if (!admit(server, fd, peer, ip))
		return;

	session = xcalloc(1, sizeof(*session));
	session->server = server;
	session->since_ms = clock_now_ms();
	memcpy(session->peer, peer, sizeof(peer));
	snprintf(session->log_id, sizeof(session->log_id), "peer=%s", peer);
	memcpy(session->ip, ip, sizeof(ip));
	session->link.ip = session->ip;
	session->bev = bufferevent_socket_new(server->deps.base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (session->bev == NULL) {
		log_warnx("lmtp: %s: cannot set up the connection",
		    session->log_id);
		evutil_closesocket(fd);
		free(session);
		return;
	}
	session->parser = lmtp_parser_new(LMTP_LINE_MAX);
	service_add(&server->service, &session->link);
	service_set_yieldable(&server->service, &session->link, true);
	mb_stats.lmtp_sessions_total++;
	mb_stats.lmtp_sessions_active++;

	session_bev_setup(session);
	lmtp_session_reply(session, "220 %s LMTP mailbell ready",
	    server->deps.cfg->hostname);
	bufferevent_enable(session->bev, EV_READ | EV_WRITE);
	log_debug("lmtp: %s: connected", session->log_id);
}

/* ---- the server (lmtp.h) ---- */

struct lmtp_server *
lmtp_server_new(const struct lmtp_deps *deps)
{
	struct lmtp_server *server;

	server = xcalloc(1, sizeof(*server));
	server->deps = *deps;
	service_init(&server->service, deps->base, "lmtp", accept_cb, server);
	return server;
}

int
lmtp_server_listen(struct lmtp_server *server, evutil_socket_t fd)
{
	return service_listen(&server->service, fd);
}

/* The server stops. Sessions with a delivery in flight are told after
 * its replies. */
static void
session_stop_cb(struct service_link *l)
{
	struct lmtp_session *session = LMTP_SESSION(l);

	/* A client in (or about to begin) the TLS handshake can be sent
	 * no 421, and would keep the shutdown waiting: close now. */
	if (session->bev != NULL && (session->starttls || (session->tls &&
	    !SSL_is_init_finished(bufferevent_openssl_get_ssl(session->bev))))) {
		session_gone(session);
		return;
	}
	/* A RCPT waiting for an owner node (bounded by
	 * LMTP_RELAY_TIMEOUT_SECS) is answered first. */
	if (session->state == LMTP_SESSION_DELIVERING ||
	    session->state == LMTP_SESSION_RELAYING ||
	    session->state == LMTP_SESSION_CLOSING)
		return;
	lmtp_commands_shutdown(session);
	session_input(session);
}

/* The shutdown's grace has passed: a session whose client has not
 * taken its replies is closed now. One with a delivery running keeps
 * its connection until the delivery has finished and its replies have
 * gone to the socket (session_input), so that mail on disk is not
 * left unacknowledged when the client still reads. */
static void
session_kill_cb(struct service_link *l)
{
	struct lmtp_session *session = LMTP_SESSION(l);

	if (session->state == LMTP_SESSION_DELIVERING)
		return;
	log_info("lmtp: %s: closed at shutdown", session->log_id);
	if (session->bev != NULL)
		session_flush_now(session);
	session_free(session);
}

void
lmtp_server_shutdown(struct lmtp_server *server,
    void (*drained_cb)(void *ctx), void *ctx)
{
	service_shutdown(&server->service, session_stop_cb, session_kill_cb,
	    drained_cb, ctx);
}

void
lmtp_server_free(struct lmtp_server **serverp)
{
	struct lmtp_server *server = *serverp;
	struct service_link *l, *next;

	if (server == NULL)
		return;
	service_deinit(&server->service);
	for (l = server->service.sessions; l != NULL; l = next) {
		struct lmtp_session *session = LMTP_SESSION(l);

		next = l->next;
		if (session->state == LMTP_SESSION_DELIVERING) {
			/* The owners' replies will not come now. */
			lmtp_relay_close_all(session);
			session->waiting = session->local_pending ? 1 : 0;
		}
		if (session->state != LMTP_SESSION_DELIVERING ||
		    !session->local_pending) {
			session_free(session);
			continue;
		}
		/* Its delivery callback frees it, if the queue runs it. */
		log_warnx("lmtp: %s: freed with a delivery in flight",
		    session->log_id);
		service_remove(&server->service, &session->link);
		session->server = NULL;
		if (session->bev != NULL) {
			bufferevent_free(session->bev);
			session->bev = NULL;
		}
	}
	if (server->dns != NULL)
		evdns_base_free(server->dns, 0);
	free(server);
	*serverp = NULL;
}

static const char *
state_name(enum lmtp_session_state state)
{
	switch (state) {
	case LMTP_SESSION_GREETED:
		return "greeted";
	case LMTP_SESSION_READY:
		return "ready";
	case LMTP_SESSION_MAIL:
	case LMTP_SESSION_RCPT:
		return "transaction";
	case LMTP_SESSION_RELAYING:
		return "relaying";
	case LMTP_SESSION_DATA:
		return "data";
	case LMTP_SESSION_DELIVERING:
		return "delivering";
	default:
		return "closing";
	}
}

void
lmtp_server_sessions(const struct lmtp_server *server, status_session_cb *cb,
    void *arg)
{
	const struct service_link *l;

	for (l = server->service.sessions; l != NULL; l = l->next) {
		const struct lmtp_session *s = LMTP_SESSION(l);
		struct status_session row;

		memset(&row, 0, sizeof(row));
		row.service = "lmtp";
		row.peer = s->peer;
		row.state = state_name(s->state);
		row.tls = s->tls;
		row.since_ms = s->since_ms;
		cb(&row, arg);
	}
}
