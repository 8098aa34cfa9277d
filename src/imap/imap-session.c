/*
 * IMAP connections on libevent: a session's lifetime, its bufferevent
 * (bounded in both directions, with the read timeout of its state), the
 * sleep of a session in IDLE with nothing to send on a single event,
 * accepting (within the limits of imap-session-admit.c), TLS (implicit,
 * or begun by STARTTLS), and the server's start and shutdown. Input is
 * in imap-session-input.c, replies in
 * imap-session-reply.c, login and select in imap-session-state.c,
 * COMPRESS's filter in imap-session-compress.c.
 */
#include "imap/imap-session.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>

#include "imap/imap-auth.h"
#include "imap/imap-commands.h"
#include "imap/imap-notify.h"
#include "imap/imap-proxy.h"
#include "imap/imap-session-private.h"
#include "imap/imap-sort-cache.h"
#include "lib/clock.h"
#include "lib/config.h"
#include "lib/listeners.h"
#include "lib/log.h"
#include "lib/penalty.h"
#include "lib/stats.h"
#include "lib/tls.h"
#include "lib/xmalloc.h"
#include "store/store.h"

static void session_read_cb(struct bufferevent *bev, void *ctx);
static void session_write_cb(struct bufferevent *bev, void *ctx);
static void session_event_cb(struct bufferevent *bev, short what, void *ctx);

/* The loop the session's events run on (the server's, which outlives
 * every session). */
struct event_base *
imap_session_base(const struct imap_session *session)
{
	assert(session->server != NULL);
	return session->server->deps.base;
}

/* ---- the connection, and sleeping in IDLE ---- */

/* The bufferevent re-armed its read timeout (it does on every read and
 * every enable): note when it would expire, for a later sleep. */
static void
session_read_armed(struct imap_session *session)
{
	session->read_deadline_ms = clock_now_ms() +
	    (uint64_t)session->read_timeout_secs * 1000;
}

struct bufferevent *
imap_session_raw_bev(const struct imap_session *session)
{
	struct bufferevent *u;

	if (session->bev == NULL || session->compress == NULL)
		return session->bev;
	u = bufferevent_get_underlying(session->bev);
	return u != NULL ? u : session->bev;
}

void
imap_session_bev_setup(struct imap_session *session)
{
	bufferevent_setcb(session->bev, session_read_cb, session_write_cb,
	    session_event_cb, session);
	bufferevent_setwatermark(session->bev, EV_READ, 0,
	    IMAP_READ_HIGH_WATER);
	bufferevent_setwatermark(session->bev, EV_WRITE,
	    IMAP_OUTPUT_LOW_WATER, 0);
}

/* Timeouts: under compression the read timeout is the filter's and the
 * write timeout the raw bufferevent's (see imap_compress_filter()). */
static void
session_set_timeouts(struct imap_session *session, const struct timeval *rd,
    const struct timeval *wr)
{
	struct bufferevent *raw = imap_session_raw_bev(session);

	if (raw != session->bev) {
		bufferevent_set_timeouts(session->bev, rd, NULL);
		bufferevent_set_timeouts(raw, NULL, wr);
	} else
		bufferevent_set_timeouts(session->bev, rd, wr);
}

/* Free bev (the filter and the bufferevent under it); keep_fd leaves
 * the socket open in clear (with TLS the session owns it anyway). */
static void
session_bev_free(struct imap_session *session, bool keep_fd)
{
	struct bufferevent *raw = imap_session_raw_bev(session);

	if (session->compress != NULL)
		imap_compress_detach(session->compress);
	if (raw != session->bev)
		bufferevent_free(session->bev);
	if (keep_fd && session->ssl == NULL)
		bufferevent_setfd(raw, -1);
	bufferevent_free(raw);
	session->bev = NULL;
}

/* A bufferevent on fd with the session's callbacks and watermarks;
 * timeouts and enabling are the caller's. In clear it closes fd when it
 * is freed. With TLS it runs session->ssl (the handshake first, unless
 * it is done: a session waking from IDLE) and leaves the SSL and fd to
 * the session, so that a sleep in IDLE can drop the bufferevent alone.
 * Under compression it is the filter over that one. */
static int
session_bev_new(struct imap_session *session, evutil_socket_t fd)
{
	struct event_base *base = imap_session_base(session);
	struct bufferevent *raw;

	if (session->ssl != NULL) {
		raw = bufferevent_openssl_socket_new(base, fd,
		    session->ssl, SSL_is_init_finished(session->ssl) ?
		    BUFFEREVENT_SSL_OPEN : BUFFEREVENT_SSL_ACCEPTING, 0);
		/* A client that closes without close_notify has ended
		 * the session, as in clear; its requests still count. */
		if (raw != NULL)
			bufferevent_openssl_set_allow_dirty_shutdown(raw, 1);
	} else
		raw = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (raw == NULL)
		return -1;
	session->bev = raw;
	if (session->compress != NULL) {
		session->bev = imap_compress_filter(session->compress, raw);
		if (session->bev == NULL) {
			bufferevent_free(raw);
			return -1;
		}
	}
	imap_session_bev_setup(session);
	return 0;
}

/* The client is gone (or the session ends): close the socket. */
static void
session_disconnect(struct imap_session *session)
{
	evutil_socket_t fd = -1;	/* to close here, not by the bev */

	if (session->sleep_ev != NULL) {
		fd = event_get_fd(session->sleep_ev);
		event_free(session->sleep_ev);
		session->sleep_ev = NULL;
	}
	if (session->bev != NULL) {
		if (session->ssl != NULL)
			fd = bufferevent_getfd(imap_session_raw_bev(session));
		session_bev_free(session, false);
	}
	if (session->ssl != NULL) {
		SSL_free(session->ssl);
		session->ssl = NULL;
	}
	if (fd >= 0)
		evutil_closesocket(fd);
}

static void
session_sleep_cb(evutil_socket_t fd, short what, void *ctx)
{
	struct imap_session *session = ctx;

	(void)fd;
	imap_session_wake(session);
	/* Input is read by the new bufferevent from the loop (no sleeping
	 * before that, even if a write finishes first); a timeout is the
	 * one the bufferevent would have reported. */
	if (what & EV_READ)
		session->wake_for_input = true;
	if (what & EV_TIMEOUT)
		session_event_cb(session->bev,
		    BEV_EVENT_READING | BEV_EVENT_TIMEOUT, session);
}

/*
 * A session in IDLE with nothing to read or write gives up its
 * bufferevent (two evbuffers, two events, about 1 KiB) and waits with
 * one event on the socket for input or the read timeout, as the
 * bufferevent would. Any output (a change pushed, a keepalive, the
 * tagged reply) wakes it first: see imap_session_wake().
 */
static void
session_try_sleep(struct imap_session *session)
{
	const struct imap_cmd *cmd = session->cmd;
	struct bufferevent *raw;
	struct timeval tv;
	evutil_socket_t fd;
	uint64_t now, left;

	if (session->bev == NULL || session->closing || session->eof ||
	    session->wake_for_input || session->output_blocked ||
	    session->skip_line ||
	    session->parser != NULL || session->input_ev != NULL ||
	    session->delay_ev != NULL)
		return;
	if (cmd == NULL || cmd->done || cmd->in_handler ||
	    cmd->changed_cb == NULL || cmd->line_cb == NULL)
		return;
	if (evbuffer_get_length(bufferevent_get_input(session->bev)) != 0 ||
	    evbuffer_get_length(bufferevent_get_output(session->bev)) != 0)
		return;
	raw = imap_session_raw_bev(session);
	if (evbuffer_get_length(bufferevent_get_input(raw)) != 0 ||
	    evbuffer_get_length(bufferevent_get_output(raw)) != 0)
		return;
	/* Compressed: the burst flushed; the deflater goes for the sleep
	 * (a new one starts the next burst), the inflater stays. */
	if (session->compress != NULL && !imap_compress_idle(session->compress))
		return;
	/* Decrypted bytes still inside OpenSSL would never wake us. */
	if (session->ssl != NULL && SSL_pending(session->ssl) > 0)
		return;
	now = clock_now_ms();
	left = session->read_deadline_ms > now ?
	    session->read_deadline_ms - now : 0;
	tv.tv_sec = (time_t)(left / 1000);
	tv.tv_usec = (suseconds_t)(left % 1000) * 1000;
	fd = bufferevent_getfd(raw);
	session->sleep_ev = event_new(imap_session_base(session), fd, EV_READ,
	    session_sleep_cb, session);
	if (session->sleep_ev == NULL)
		fatalx("imap: cannot create an event");
	/* Detach the socket (this removes the bufferevent's events at
	 * once), then free the bufferevent without closing it. With TLS
	 * the bufferevent owns neither the socket nor the SSL, which keeps
	 * its state (and, with SSL_MODE_RELEASE_BUFFERS, no record
	 * buffers) for the wake. */
	session_bev_free(session, true);
	event_add(session->sleep_ev, &tv);
}

/*
 * Back to a bufferevent, before anything is written or read. The
 * bufferevent gets the full read timeout (a read re-arms it with that),
 * but read_deadline_ms stays: woken only to write, the session sleeps
 * again with the time that was left, so keepalives and pushes never
 * postpone the autologout.
 */
void
imap_session_wake(struct imap_session *session)
{
	struct timeval rd = { (time_t)session->read_timeout_secs, 0 };
	struct timeval wr = { IMAP_WRITE_TIMEOUT_SECS, 0 };
	evutil_socket_t fd;

	if (session->sleep_ev == NULL)
		return;
	fd = event_get_fd(session->sleep_ev);
	event_free(session->sleep_ev);
	session->sleep_ev = NULL;
	if (session_bev_new(session, fd) < 0)
		fatalx("imap: cannot set up the connection again");
	session_set_timeouts(session, &rd, &wr);
	/* Writing is enabled from the start and begins with the first
	 * output; enabling it here would run the write callback at once. */
	bufferevent_enable(session->bev, EV_READ);
}

void
imap_session_free(struct imap_session *session)
{
	struct imap_server *server = session->server;

	session_disconnect(session);
	imap_compress_free(&session->compress);
	imap_proxy_free(&session->proxy);
	/* A pending command (only when the server itself is freed) must
	 * release what it holds now. */
	if (session->cmd != NULL && !session->cmd->done &&
	    session->cmd->abort_cb != NULL && !session->cmd->aborted) {
		session->cmd->aborted = true;
		session->cmd->abort_cb(session->cmd);
	}
	imap_cmd_free(&session->cmd);
	imap_notify_free(session);
	store_view_free(&session->view);
	free(session->searchres.uids);
	free(session->mailbox);
	free(session->user);
	imap_parser_free(&session->parser);
	if (session->input_ev != NULL)
		event_free(session->input_ev);
	imap_session_delay_free(session);
	imap_session_login_deadline_free(session);
	mb_stats.imap_sessions_active--;
	if (server != NULL)
		service_remove(&server->service, &session->link);
	free(session->log_id);
	free(session);
}

static void
session_input_ev_cb(evutil_socket_t fd, short what, void *ctx)
{
	struct imap_session *session = ctx;

	(void)fd;
	(void)what;
	/* One run per event: an idle session keeps no event for this. */
	event_free(session->input_ev);
	session->input_ev = NULL;
	imap_session_input(session);
}

/* Run imap_session_input() from the event loop rather than from the caller's
 * stack (a store callback or a timer that may still touch its state).
 * The event exists only while a run is due; the server's base outlives
 * every session. */
void
imap_session_schedule_input(struct imap_session *session)
{
	if (session->input_ev == NULL) {
		session->input_ev = event_new(imap_session_base(session), -1, 0,
		    session_input_ev_cb, session);
		if (session->input_ev == NULL)
			fatalx("imap: cannot create an event");
	}
	event_active(session->input_ev, EV_TIMEOUT, 0);
}

/*
 * The connection is unusable. A pending command is told (abort_cb) and
 * keeps the session until it finishes; otherwise the session goes now.
 */
static void
session_gone(struct imap_session *session)
{
	struct imap_cmd *cmd = session->cmd;

	session_disconnect(session);
	if (cmd != NULL && !cmd->done) {
		if (session->delay_ev != NULL)
			evtimer_del(session->delay_ev);
		cmd->line_cb = NULL;
		cmd->resume_cb = NULL;
		if (cmd->abort_cb != NULL && !cmd->aborted) {
			cmd->aborted = true;
			cmd->abort_cb(cmd);
		}
		if (session->cmd != NULL && !session->cmd->done &&
		    session->cmd->abort_cb != NULL)
			return;	/* it calls back later */
	}
	imap_session_free(session);
}

/* The read timeout for the session's state: short before login, RFC
 * 3501's 30 minutes after, and longer in IDLE (RFC 2177's 29-minute
 * re-issue must never race it). */
void
imap_session_update_timeouts(struct imap_session *session)
{
	struct timeval rd = { IMAP_PRELOGIN_TIMEOUT_SECS, 0 };
	struct timeval wr = { IMAP_WRITE_TIMEOUT_SECS, 0 };

	imap_session_wake(session);
	if (session->bev == NULL)
		return;
	if (session->cmd != NULL && session->cmd->changed_cb != NULL)
		rd.tv_sec = IMAP_IDLE_TIMEOUT_SECS;
	else if (imap_proxy_relaying(session))
		rd.tv_sec = IMAP_PROXY_CLIENT_TIMEOUT_SECS;
	else if (session->state != IMAP_STATE_NOT_AUTH)
		rd.tv_sec = IMAP_AUTOLOGOUT_SECS;
	session->read_timeout_secs = (unsigned int)rd.tv_sec;
	session_set_timeouts(session, &rd, &wr);
	session_read_armed(session);
}

/* Read only while input may be acted on. */
void
imap_session_update_read(struct imap_session *session)
{
	bool reading;

	imap_session_wake(session);
	if (session->bev == NULL)
		return;
	reading = !session->output_blocked && !session->eof &&
	    !session->closing && !session->starttls &&
	    (session->cmd == NULL || session->cmd->line_cb != NULL) &&
	    (session->proxy == NULL || imap_proxy_may_read(session));
	if (reading) {
		bufferevent_enable(session->bev, EV_READ);
		session_read_armed(session);
	} else
		bufferevent_disable(session->bev, EV_READ);
}

/* ---- TLS ---- */

bool
imap_session_secure(const struct imap_session *session)
{
	if (session->ssl != NULL)
		return true;
	if (session->server == NULL)
		return false;
	switch (session->server->deps.cfg->imap_plaintext_auth) {
	case CONFIG_PLAINTEXT_AUTH_YES:
		return true;
	case CONFIG_PLAINTEXT_AUTH_LOOPBACK:
		return session->loopback;
	case CONFIG_PLAINTEXT_AUTH_NO:
		break;
	}
	return false;
}

bool
imap_session_tls_offered(const struct imap_session *session)
{
	return session->server != NULL && session->server->deps.tls != NULL &&
	    session->ssl == NULL && !session->starttls;
}

void
imap_session_starttls(struct imap_session *session)
{
	struct evbuffer *in;
	size_t len;

	session->starttls = true;
	if (session->bev == NULL)
		return;
	in = bufferevent_get_input(session->bev);
	if ((len = evbuffer_get_length(in)) > 0) {
		log_info("imap: %s: %zu bytes sent in clear after STARTTLS "
		    "discarded", session->log_id, len);
		evbuffer_drain(in, len);
	}
	imap_session_update_read(session);
}

/* STARTTLS's OK has been sent: the same socket goes on under TLS. The
 * clear bufferevent goes with whatever it still held, and the parser
 * with any state: the client starts again (RFC 3501 6.2.1). */
static void
session_start_tls(struct imap_session *session)
{
	evutil_socket_t fd = bufferevent_getfd(session->bev);

	session->ssl = SSL_new(tls_server_ctx(session->server->deps.tls));
	if (session->ssl == NULL) {
		log_warnx("imap: %s: STARTTLS: %s", session->log_id,
		    tls_openssl_error());
		session_gone(session);
		return;
	}
	bufferevent_setfd(session->bev, -1);
	bufferevent_free(session->bev);
	session->bev = NULL;
	session->starttls = false;
	imap_parser_free(&session->parser);
	if (session_bev_new(session, fd) < 0)
		fatalx("imap: cannot set up the connection again");
	imap_session_update_timeouts(session);
	bufferevent_enable(session->bev, EV_READ | EV_WRITE);
}

/* ---- bufferevent callbacks ---- */

static void
session_read_cb(struct bufferevent *bev, void *ctx)
{
	struct imap_session *session = ctx;

	(void)bev;
	/* The bufferevent re-armed its read timeout with this read. */
	session_read_armed(session);
	session->wake_for_input = false;
	imap_session_input(session);
}

/* Output drained to the low-water mark. */
static void
session_write_cb(struct bufferevent *bev, void *ctx)
{
	struct imap_session *session = ctx;
	struct imap_cmd *cmd = session->cmd;

	(void)bev;
	if (imap_session_close_if_flushed(session))
		return;
	if (session->starttls) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			session_start_tls(session);
		return;
	}
	if (cmd != NULL && !cmd->done && cmd->resume_cb != NULL) {
		cmd->in_handler = true;
		cmd->resume_cb(cmd);
		cmd->in_handler = false;
		if (cmd->done)
			imap_session_cmd_finished(session);
	}
	imap_notify_resume(session);
	if (session->output_blocked) {
		session->output_blocked = false;
		imap_session_input(session);
	} else if (session->cmd == NULL || session->closing)
		imap_session_input(session);
	else
		session_try_sleep(session);	/* IDLE with all sent */
}

static void
session_event_cb(struct bufferevent *bev, short what, void *ctx)
{
	struct imap_session *session = ctx;

	if (what & BEV_EVENT_CONNECTED) {
		/* The TLS handshake is done. */
		log_debug("imap: %s: %s %s", session->log_id,
		    SSL_get_version(session->ssl),
		    SSL_get_cipher_name(session->ssl));
		return;
	}
	if ((what & BEV_EVENT_EOF) && session->ssl != NULL) {
		/* After the client's close_notify OpenSSL writes nothing
		 * more and libevent stops trying: replies still queued (the
		 * greeting, if the client closed right after its handshake)
		 * would hold the session, and a shutdown, forever. */
		log_debug("imap: %s: closed by the client", session->log_id);
		session_gone(session);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		/* Input left in the buffer is still answered. */
		session->eof = true;
		if (session->cmd != NULL && !session->cmd->done) {
			session_gone(session);
			return;
		}
		imap_session_input(session);
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) &&
	    !session->closing) {
		log_info("imap: %s: autologout after %s", session->log_id,
		    session->state == IMAP_STATE_NOT_AUTH ? "no login" :
		    "inactivity");
		if (imap_proxy_relaying(session) && session->cmd == NULL) {
			imap_proxy_end(session, "Autologout; idle for too "
			    "long");
			imap_session_close_if_flushed(session);
			return;
		}
		if (session->cmd != NULL && !session->cmd->done &&
		    session->cmd->abort_cb != NULL && !session->cmd->aborted) {
			session->cmd->aborted = true;
			session->cmd->abort_cb(session->cmd);
		}
		/* The tagged reply (if any) comes before the BYE. */
		if (session->cmd != NULL && session->cmd->done)
			imap_cmd_free(&session->cmd);
		if (session->cmd == NULL) {
			imap_session_bye(session, "Autologout; idle for too "
			    "long");
			imap_session_close_if_flushed(session);
			return;
		}
	}
	service_log_conn_end(&session->server->service, session->log_id, bev,
	    what);
	session_gone(session);
}

/* ---- accepting ---- */

/* A new connection, in clear or (tls) starting with the handshake. */
static void
session_accept(struct imap_server *server, evutil_socket_t fd,
    struct sockaddr *sa, int salen, bool tls)
{
	struct imap_session *session;
	char peer[64], ip[64];
	SSL *ssl = NULL;

	listener_format_peer(sa, salen, peer, sizeof(peer), ip, sizeof(ip));
	if (!imap_session_admit(server, fd, peer, ip, tls))
		return;
	if (tls && (ssl = SSL_new(tls_server_ctx(server->deps.tls))) == NULL) {
		log_warnx("imap: peer=%s: refused: %s", peer,
		    tls_openssl_error());
		evutil_closesocket(fd);
		mb_stats.imap_sessions_refused++;
		return;
	}

	/* A command's answer often ends with a short tagged line after a
	 * large untagged one: with Nagle's algorithm that line waits for the
	 * client's delayed ACK (40 ms on Linux). Output is queued in the
	 * bufferevent and written from the loop in large pieces, so turning
	 * Nagle off costs no small packets. */
	{
		int one = 1;

		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one)) < 0)
			log_debug("imap: peer=%s: TCP_NODELAY: %s", peer,
			    strerror(errno));
	}
	session = xcalloc(1, sizeof(*session));
	session->server = server;
	session->state = IMAP_STATE_NOT_AUTH;
	session->ssl = ssl;
	session->loopback = listener_peer_is_loopback(sa);
	session->since_ms = clock_now_ms();
	imap_session_set_log_id(session, peer, ip, NULL);
	if (session_bev_new(session, fd) < 0) {
		log_warnx("imap: %s: cannot set up the connection",
		    session->log_id);
		evutil_closesocket(fd);
		SSL_free(ssl);
		free(session->log_id);
		free(session);
		return;
	}
	service_add(&server->service, &session->link);
	imap_session_login_deadline_start(session);
	mb_stats.imap_sessions_total++;
	mb_stats.imap_sessions_active++;

	imap_session_update_timeouts(session);
	imap_session_untagged(session, "OK [CAPABILITY %s] mailbell ready",
	    imap_capabilities(session));
	bufferevent_enable(session->bev, EV_READ | EV_WRITE);
	log_debug("imap: %s: connected%s", session->log_id,
	    tls ? " (TLS)" : "");
}

static void
accept_cb(evutil_socket_t fd, struct sockaddr *sa, int salen, void *ctx)
{
	session_accept(ctx, fd, sa, salen, false);
}

static void
accept_tls_cb(evutil_socket_t fd, struct sockaddr *sa, int salen, void *ctx)
{
	session_accept(ctx, fd, sa, salen, true);
}

/* ---- the server (imap.h) ---- */

struct imap_server *
imap_server_new(const struct imap_deps *deps)
{
	struct imap_server *server = xcalloc(1, sizeof(*server));

	struct penalty_params params;

	server->deps = *deps;
	service_init(&server->service, deps->base, "imap", accept_cb, server);
	server->auth = imap_auth_new(deps->base);
	penalty_params_default(&params);
	server->penalty = penalty_new(&clock_monotonic, &params);
	server->sort_cache = imap_sort_cache_new(IMAP_SORT_CACHE_MAX);
	return server;
}

int
imap_server_listen(struct imap_server *server, evutil_socket_t fd)
{
	return service_listen(&server->service, fd);
}

int
imap_server_listen_tls(struct imap_server *server, evutil_socket_t fd)
{
	assert(server->deps.tls != NULL);
	return service_listen_tls(&server->service, fd, accept_tls_cb);
}

/* The server stops: BYE now, or after the command in progress. */
static void
session_stop_cb(struct service_link *l)
{
	struct imap_session *session = IMAP_SESSION(l);
	struct imap_cmd *cmd = session->cmd;

	/* A client in (or about to begin) the TLS handshake can be sent
	 * no BYE, and would keep the shutdown waiting: close now. */
	if (session->starttls ||
	    (session->ssl != NULL && !SSL_is_init_finished(session->ssl))) {
		session_gone(session);
		return;
	}
	if (cmd != NULL && !cmd->done) {
		/* IDLE ends with its tagged OK; the BYE follows
		 * when the command has finished. */
		if (cmd->abort_cb != NULL && !cmd->aborted) {
			cmd->aborted = true;
			cmd->abort_cb(cmd);
		}
		return;
	}
	if (imap_proxy_relaying(session))
		imap_proxy_end(session, "Server shutting down");
	else
		imap_session_bye(session, "Server shutting down");
	imap_session_close_if_flushed(session);
}

/* The shutdown's grace has passed: a client that has not taken its BYE
 * (it does not read, or stopped in the TLS handshake) is closed now; a
 * command running elsewhere for it (a password check) frees the session
 * when it calls back. */
static void
session_kill_cb(struct service_link *l)
{
	struct imap_session *session = IMAP_SESSION(l);

	if (session->bev != NULL || session->sleep_ev != NULL)
		log_info("imap: %s: closed at shutdown", session->log_id);
	session_gone(session);
}

void
imap_server_shutdown(struct imap_server *server,
    void (*drained_cb)(void *ctx), void *ctx)
{
	service_shutdown(&server->service, session_stop_cb, session_kill_cb,
	    drained_cb, ctx);
}

void
imap_server_free(struct imap_server **serverp)
{
	struct imap_server *server = *serverp;

	if (server == NULL)
		return;
	service_deinit(&server->service);
	while (server->service.sessions != NULL)
		imap_session_free(IMAP_SESSION(server->service.sessions));
	/* Every session cancelled its password check as it went. */
	imap_auth_free(&server->auth);
	penalty_free(&server->penalty);
	imap_proxy_server_free(server);
	/* Every session's SORT or THREAD closed its folder as it went. */
	imap_sort_cache_free(&server->sort_cache);
	assert(server->idle_head == NULL);
	if (server->idle_ev != NULL)
		event_free(server->idle_ev);
	free(server);
	*serverp = NULL;
}
