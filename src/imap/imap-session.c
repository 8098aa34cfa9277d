/*
 * IMAP connections on libevent: accepting within the connection limits,
 * bounding buffers in both directions, feeding input to the command
 * parser (or to a pending command's line callback), dispatching through
 * the command table, untagged updates, timeouts and shutdown. A
 * session in IDLE with nothing to send sleeps on a single event and
 * takes a bufferevent again when it has something to write or read.
 */
#include "imap/imap-session.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/util.h>

#include "imap/imap-commands.h"
#include "imap/imap-wire.h"
#include "lib/config.h"
#include "lib/error.h"
#include "lib/listeners.h"
#include "lib/log.h"
#include "lib/stats.h"
#include "lib/xmalloc.h"
#include "store/store.h"

static void session_input(struct imap_session *session);
static void session_free(struct imap_session *session);
static void session_delay_free(struct imap_session *session);
static void session_wake(struct imap_session *session);
static void session_read_cb(struct bufferevent *bev, void *ctx);
static void session_write_cb(struct bufferevent *bev, void *ctx);
static void session_event_cb(struct bufferevent *bev, short what, void *ctx);
static void cmd_free(struct imap_cmd **cmdp);

/* The loop the session's events run on (the server's, which outlives
 * every session). */
static struct event_base *
session_base(const struct imap_session *session)
{
	assert(session->server != NULL);
	return session->server->deps.base;
}

/* ---- lifetime ---- */

static void
server_check_drained(struct imap_server *server)
{
	if (server->shutting_down && server->session_count == 0 &&
	    server->drained_cb != NULL)
		event_active(server->drained_ev, EV_TIMEOUT, 0);
}

static void
drained_ev_cb(evutil_socket_t fd, short what, void *ctx)
{
	struct imap_server *server = ctx;
	void (*cb)(void *) = server->drained_cb;

	(void)fd;
	(void)what;
	/* Once only, even if the callback frees the server. */
	server->drained_cb = NULL;
	if (cb != NULL)
		cb(server->drained_ctx);
}

static void
session_unlink(struct imap_session *session)
{
	struct imap_server *server = session->server;

	if (session->prev != NULL)
		session->prev->next = session->next;
	else
		server->sessions = session->next;
	if (session->next != NULL)
		session->next->prev = session->prev;
	session->prev = session->next = NULL;
	server->session_count--;
}

/* ---- the connection, and sleeping in IDLE ---- */

static uint64_t
session_now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		fatal("clock_gettime");
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The bufferevent re-armed its read timeout (it does on every read and
 * every enable): note when it would expire, for a later sleep. */
static void
session_read_armed(struct imap_session *session)
{
	session->read_deadline_ms = session_now_ms() +
	    (uint64_t)session->read_timeout_secs * 1000;
}

/* A bufferevent on fd (closed when it is freed) with the session's
 * callbacks and watermarks; timeouts and enabling are the caller's. */
static int
session_bev_new(struct imap_session *session, evutil_socket_t fd)
{
	session->bev = bufferevent_socket_new(session_base(session), fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (session->bev == NULL)
		return -1;
	bufferevent_setcb(session->bev, session_read_cb, session_write_cb,
	    session_event_cb, session);
	bufferevent_setwatermark(session->bev, EV_READ, 0,
	    IMAP_READ_HIGH_WATER);
	bufferevent_setwatermark(session->bev, EV_WRITE,
	    IMAP_OUTPUT_LOW_WATER, 0);
	return 0;
}

/* The client is gone (or the session ends): close the socket. */
static void
session_disconnect(struct imap_session *session)
{
	if (session->sleep_ev != NULL) {
		evutil_closesocket(event_get_fd(session->sleep_ev));
		event_free(session->sleep_ev);
		session->sleep_ev = NULL;
	}
	if (session->bev != NULL) {
		bufferevent_free(session->bev);
		session->bev = NULL;
	}
}

static void
session_sleep_cb(evutil_socket_t fd, short what, void *ctx)
{
	struct imap_session *session = ctx;

	(void)fd;
	session_wake(session);
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
 * tagged reply) wakes it first: see session_wake().
 */
static void
session_try_sleep(struct imap_session *session)
{
	const struct imap_cmd *cmd = session->cmd;
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
	now = session_now_ms();
	left = session->read_deadline_ms > now ?
	    session->read_deadline_ms - now : 0;
	tv.tv_sec = (time_t)(left / 1000);
	tv.tv_usec = (suseconds_t)(left % 1000) * 1000;
	fd = bufferevent_getfd(session->bev);
	session->sleep_ev = event_new(session_base(session), fd, EV_READ,
	    session_sleep_cb, session);
	if (session->sleep_ev == NULL)
		fatalx("imap: cannot create an event");
	/* Detach the socket (this removes the bufferevent's events at
	 * once), then free the bufferevent without closing it. */
	bufferevent_setfd(session->bev, -1);
	bufferevent_free(session->bev);
	session->bev = NULL;
	event_add(session->sleep_ev, &tv);
}

/*
 * Back to a bufferevent, before anything is written or read. The
 * bufferevent gets the full read timeout (a read re-arms it with that),
 * but read_deadline_ms stays: woken only to write, the session sleeps
 * again with the time that was left, so keepalives and pushes never
 * postpone the autologout.
 */
static void
session_wake(struct imap_session *session)
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
	bufferevent_set_timeouts(session->bev, &rd, &wr);
	/* Writing is enabled from the start and begins with the first
	 * output; enabling it here would run the write callback at once. */
	bufferevent_enable(session->bev, EV_READ);
}

static void
session_free(struct imap_session *session)
{
	struct imap_server *server = session->server;

	session_disconnect(session);
	/* A pending command (only when the server itself is freed) must
	 * release what it holds now. */
	if (session->cmd != NULL && !session->cmd->done &&
	    session->cmd->abort_cb != NULL && !session->cmd->aborted) {
		session->cmd->aborted = true;
		session->cmd->abort_cb(session->cmd);
	}
	cmd_free(&session->cmd);
	store_view_free(&session->view);
	free(session->mailbox);
	free(session->user);
	imap_parser_free(&session->parser);
	if (session->input_ev != NULL)
		event_free(session->input_ev);
	session_delay_free(session);
	mb_stats.imap_sessions_active--;
	if (server != NULL) {
		session_unlink(session);
		server_check_drained(server);
	}
	free(session->peer);
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
	session_input(session);
}

/* Run session_input() from the event loop rather than from the caller's
 * stack (a store callback or a timer that may still touch its state).
 * The event exists only while a run is due; the server's base outlives
 * every session. */
static void
session_schedule_input(struct imap_session *session)
{
	if (session->input_ev == NULL) {
		session->input_ev = event_new(session_base(session), -1, 0,
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
	session_free(session);
}

/* The read timeout for the session's state: short before login, RFC
 * 3501's 30 minutes after, and longer in IDLE (RFC 2177's 29-minute
 * re-issue must never race it). */
static void
session_update_timeouts(struct imap_session *session)
{
	struct timeval rd = { IMAP_PRELOGIN_TIMEOUT_SECS, 0 };
	struct timeval wr = { IMAP_WRITE_TIMEOUT_SECS, 0 };

	session_wake(session);
	if (session->bev == NULL)
		return;
	if (session->cmd != NULL && session->cmd->changed_cb != NULL)
		rd.tv_sec = IMAP_IDLE_TIMEOUT_SECS;
	else if (session->state != IMAP_STATE_NOT_AUTH)
		rd.tv_sec = IMAP_AUTOLOGOUT_SECS;
	session->read_timeout_secs = (unsigned int)rd.tv_sec;
	bufferevent_set_timeouts(session->bev, &rd, &wr);
	session_read_armed(session);
}

/* Read only while input may be acted on. */
static void
session_update_read(struct imap_session *session)
{
	bool reading;

	session_wake(session);
	if (session->bev == NULL)
		return;
	reading = !session->output_blocked && !session->eof &&
	    !session->closing &&
	    (session->cmd == NULL || session->cmd->line_cb != NULL);
	if (reading) {
		bufferevent_enable(session->bev, EV_READ);
		session_read_armed(session);
	} else
		bufferevent_disable(session->bev, EV_READ);
}

/* ---- output ---- */

void
imap_session_write(struct imap_session *session, const void *data,
    size_t len)
{
	if (!session->closing)
		session_wake(session);
	if (session->bev == NULL || session->closing)
		return;
	evbuffer_add(bufferevent_get_output(session->bev), data, len);
}

static void
session_vline(struct imap_session *session, const char *prefix,
    const char *fmt, va_list ap)
{
	struct evbuffer *out;

	if (!session->closing)
		session_wake(session);
	if (session->bev == NULL || session->closing)
		return;
	out = bufferevent_get_output(session->bev);
	evbuffer_add_printf(out, "%s", prefix);
	evbuffer_add_vprintf(out, fmt, ap);
	evbuffer_add(out, "\r\n", 2);
}

void
imap_session_untagged(struct imap_session *session, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	session_vline(session, "* ", fmt, ap);
	va_end(ap);
}

bool
imap_session_output_full(const struct imap_session *session)
{
	if (session->bev == NULL)
		return false;
	return evbuffer_get_length(bufferevent_get_output(session->bev)) >
	    IMAP_OUTPUT_HIGH_WATER;
}

void
imap_session_bye(struct imap_session *session, const char *text)
{
	if (session->closing)
		return;
	imap_session_untagged(session, "BYE %s", text);
	session->closing = true;
	session->state = IMAP_STATE_LOGOUT;
	session_update_read(session);
}

void
imap_session_close(struct imap_session *session)
{
	session->closing = true;
	session->state = IMAP_STATE_LOGOUT;
	session_update_read(session);
}

/* Free the session once its output is flushed (or now if nothing
 * waits). Returns true if it was freed. */
static bool
session_close_if_flushed(struct imap_session *session)
{
	struct evbuffer *out;

	if (!session->closing || (session->cmd != NULL && !session->cmd->done))
		return false;
	session_wake(session);
	if (session->bev == NULL) {
		session_free(session);
		return true;
	}
	out = bufferevent_get_output(session->bev);
	if (evbuffer_get_length(out) == 0) {
		session_free(session);
		return true;
	}
	/* The write callback must fire at empty, not at the low mark. */
	bufferevent_setwatermark(session->bev, EV_WRITE, 0, 0);
	return false;
}

static void
cmd_free(struct imap_cmd **cmdp)
{
	struct imap_cmd *cmd = *cmdp;

	if (cmd == NULL)
		return;
	free(cmd->tag);
	free(cmd);
	*cmdp = NULL;
}

/* After a tagged reply, once the handler has returned. */
static void
session_cmd_finished(struct imap_session *session)
{
	cmd_free(&session->cmd);
	if (session->server == NULL || session->server->shutting_down)
		imap_session_bye(session, "Server shutting down");
	else if (session->bad_count >= IMAP_BAD_MAX)
		imap_session_bye(session, "Too many invalid commands");
	session_update_timeouts(session);
}

void
imap_cmd_tagged(struct imap_cmd *cmd, const char *status, const char *code,
    const char *fmt, ...)
{
	struct imap_session *session = cmd->session;
	struct evbuffer *out;
	va_list ap;
	bool bad = strcmp(status, "BAD") == 0;

	assert(!cmd->done);
	if (!bad && session->state == IMAP_STATE_SELECTED)
		imap_session_flush_updates(session, cmd->def == NULL ||
		    !(cmd->def->flags & IMAP_CMD_FLAG_NO_EXPUNGE), cmd->uid);
	if (bad) {
		session->bad_count++;
		mb_stats.imap_bad_total++;
	} else
		session->bad_count = 0;
	cmd->done = true;
	cmd->line_cb = NULL;
	cmd->resume_cb = NULL;
	cmd->changed_cb = NULL;
	cmd->abort_cb = NULL;
	if (!session->closing)
		session_wake(session);
	if (session->bev != NULL && !session->closing) {
		out = bufferevent_get_output(session->bev);
		if (code != NULL)
			evbuffer_add_printf(out, "%s %s [%s] ", cmd->tag,
			    status, code);
		else
			evbuffer_add_printf(out, "%s %s ", cmd->tag, status);
		va_start(ap, fmt);
		evbuffer_add_vprintf(out, fmt, ap);
		va_end(ap);
		evbuffer_add(out, "\r\n", 2);
	}
	/* A pending command finished from a callback: carry on from the
	 * loop, where nothing of the command is on the stack any more. */
	if (!cmd->in_handler && session->cmd == cmd)
		session_schedule_input(session);
}

void
imap_cmd_store_error(struct imap_cmd *cmd, const char *what,
    const char *error)
{
	struct imap_session *session = cmd->session;

	switch (error_code(error)) {
	case ERROR_INVALID:
		imap_cmd_tagged(cmd, "NO", "CANNOT", "Invalid mailbox name");
		break;
	case ERROR_NOT_FOUND:
		imap_cmd_tagged(cmd, "NO", "NONEXISTENT", "Mailbox does not "
		    "exist");
		break;
	case ERROR_EXISTS:
		imap_cmd_tagged(cmd, "NO", "ALREADYEXISTS", "Mailbox already "
		    "exists");
		break;
	case ERROR_NOT_POSSIBLE:
		imap_cmd_tagged(cmd, "NO", "CANNOT", "Not possible for this "
		    "mailbox");
		break;
	case ERROR_EXPUNGED:
		imap_cmd_tagged(cmd, "NO", "EXPUNGEISSUE", "Some messages "
		    "were expunged");
		break;
	case ERROR_LIMIT:
		imap_cmd_tagged(cmd, "NO", "LIMIT", "Mailbox is full");
		break;
	case ERROR_UIDVALIDITY:
		imap_cmd_tagged(cmd, "NO", "UNAVAILABLE", "Mailbox was "
		    "rebuilt; select it again");
		break;
	case ERROR_INTERNAL:
	default:
		log_warnx("imap: %s: %s: %s: %s", session->peer,
		    session->user != NULL ? session->user : "-", what, error);
		imap_cmd_tagged(cmd, "NO", "SERVERBUG", "Internal error, "
		    "see the server log");
		break;
	}
}

void
imap_cmd_continue(struct imap_cmd *cmd, const char *text)
{
	struct imap_session *session = cmd->session;

	session_wake(session);
	if (session->bev == NULL)
		return;
	evbuffer_add_printf(bufferevent_get_output(session->bev), "+ %s\r\n",
	    text);
}

void
imap_cmd_read_line(struct imap_cmd *cmd, imap_cmd_line_cb *cb)
{
	cmd->line_cb = cb;
	session_update_read(cmd->session);
	session_update_timeouts(cmd->session);
	/* Input may already be buffered (a pipelined DONE). */
	if (!cmd->in_handler)
		session_schedule_input(cmd->session);
}

/* ---- untagged updates (RFC 3501 7.4.1) ---- */

struct flush_ctx {
	struct imap_session *session;
	bool with_uid;
};

static void
flush_expunge_cb(uint32_t seq, uint32_t uid, void *ctx)
{
	struct flush_ctx *fc = ctx;

	(void)uid;
	imap_session_untagged(fc->session, "%u EXPUNGE", seq);
}

static void
flush_flags_cb(uint32_t seq, uint32_t uid, unsigned flags, void *ctx)
{
	struct flush_ctx *fc = ctx;
	struct buf b;

	buf_init(&b, 1024);
	if (buf_printf(&b, "* %u FETCH (", seq) == 0 &&
	    (!fc->with_uid || buf_printf(&b, "UID %u ", uid) == 0) &&
	    buf_append_str(&b, "FLAGS ") == 0 &&
	    imap_write_flags(&b, flags) == 0 &&
	    buf_append_str(&b, ")\r\n") == 0)
		imap_session_write(fc->session, b.data, b.len);
	buf_free(&b);
}

static void
flush_exists_cb(uint32_t count, void *ctx)
{
	struct flush_ctx *fc = ctx;

	imap_session_untagged(fc->session, "%u EXISTS", count);
	imap_session_untagged(fc->session, "0 RECENT");
}

void
imap_session_flush_updates(struct imap_session *session, bool allow_expunge,
    bool with_uid)
{
	static const struct store_view_refresh_cbs cbs = {
		.expunge = flush_expunge_cb,
		.flags = flush_flags_cb,
		.exists = flush_exists_cb,
	};
	struct flush_ctx fc = { session, with_uid };
	const char *error;

	if (session->state != IMAP_STATE_SELECTED || session->view == NULL ||
	    session->closing)
		return;
	if (store_view_refresh(session->view, allow_expunge, &cbs, &fc,
	    &error) < 0) {
		enum error_code code = error_code(error);

		if (code == ERROR_UIDVALIDITY || code == ERROR_NOT_FOUND) {
			log_info("imap: %s: %s: selected folder went away: %s",
			    session->peer, session->user, error);
			imap_session_bye(session, "Selected mailbox was "
			    "deleted or rebuilt, have to disconnect");
		} else
			log_warnx("imap: %s: %s: refresh %s: %s", session->peer,
			    session->user, session->mailbox, error);
	}
}

void
imap_session_view_changed(struct store_view *view, void *ctx)
{
	struct imap_session *session = ctx;
	struct imap_cmd *cmd = session->cmd;

	(void)view;
	if (cmd != NULL && !cmd->done && cmd->changed_cb != NULL)
		cmd->changed_cb(cmd);
}

/* ---- state changes ---- */

static size_t
count_user_sessions(const struct imap_server *server, const char *user)
{
	const struct imap_session *s;
	size_t n = 0;

	for (s = server->sessions; s != NULL; s = s->next)
		if (s->user != NULL && strcmp(s->user, user) == 0)
			n++;
	return n;
}

int
imap_session_login(struct imap_session *session, const char *user)
{
	struct imap_server *server = session->server;
	struct imap_parser_limits limits;

	if (count_user_sessions(server, user) >=
	    server->deps.cfg->imap_max_connections_per_user) {
		log_info("imap: %s: %s: too many connections for the user",
		    session->peer, user);
		mb_stats.imap_sessions_refused++;
		return -1;
	}
	session->user = xstrdup(user);
	session->state = IMAP_STATE_AUTH;
	session->auth_failures = 0;
	/* A parser made later takes its limits from the state. */
	if (session->parser != NULL) {
		imap_parser_limits_default(&limits, false);
		imap_parser_set_limits(session->parser, &limits);
	}
	session_update_timeouts(session);
	mb_stats.imap_logins_total++;
	log_info("imap: %s: %s logged in", session->peer, user);
	return 0;
}

/* The failed-login timer exists only during the pause. */
static void
session_delay_free(struct imap_session *session)
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
	session_delay_free(session);
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
	session_delay_free(cmd->session);
	cmd->ctx = NULL;
	cmd->abort_cb = NULL;
	imap_cmd_tagged(cmd, "NO", NULL, "Aborted");
}

void
imap_session_login_failed(struct imap_cmd *cmd, const char *text)
{
	struct imap_session *session = cmd->session;
	struct timeval tv;
	uint32_t r;
	unsigned ms;

	session->auth_failures++;
	mb_stats.imap_login_failures_total++;
	evutil_secure_rng_get_bytes(&r, sizeof(r));
	ms = IMAP_AUTH_FAIL_DELAY_MIN_MS + r %
	    (IMAP_AUTH_FAIL_DELAY_MAX_MS - IMAP_AUTH_FAIL_DELAY_MIN_MS + 1);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	/* text is a static string of the caller. */
	cmd->ctx = (void *)(uintptr_t)text;
	cmd->abort_cb = delay_abort_cb;
	assert(session->delay_ev == NULL);
	session->delay_ev = evtimer_new(session_base(session), delay_cb,
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
	if (session->state == IMAP_STATE_SELECTED)
		session->state = IMAP_STATE_AUTH;
}

/* ---- input ---- */

/* Methods of an HTTP request line; a client speaking HTTP to the IMAP
 * port (a browser, or a cross-protocol attack from a web page) sends
 * one of these as the "tag". */
static bool
is_http_method(const char *s)
{
	static const char *const methods[] = {
		"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS",
		"CONNECT", "PATCH", "TRACE",
	};

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(s, methods[i]) == 0)
			return true;
	return false;
}

/* Another protocol spoke to us (Redis's securityWarningCommand): say BYE
 * and close without trying to make sense of the rest. */
static bool
session_check_foreign(struct imap_session *session, const char *tag,
    const char *name)
{
	if (session->seen_command || tag == NULL)
		return false;
	if (!is_http_method(tag) && strcasecmp(tag, "Host:") != 0 &&
	    (name == NULL || strcasecmp(name, "Host:") != 0))
		return false;
	log_warnx("imap: %s: HTTP request on the IMAP port, closing",
	    session->peer);
	mb_stats.imap_foreign_total++;
	imap_session_bye(session, "This is an IMAP server, not HTTP");
	return true;
}

/* Upper-case copy of a command word into a fixed buffer; false if it
 * cannot be a command name. */
static bool
command_word(const char *s, char *out, size_t size)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i + 1 >= size)
			return false;
		out[i] = (s[i] >= 'a' && s[i] <= 'z') ? s[i] - 32 : s[i];
	}
	out[i] = '\0';
	return i > 0;
}

/* Answer a command that never reaches a handler. */
static void
session_reply_bad(struct imap_session *session, const char *tag,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
session_reply_bad(struct imap_session *session, const char *tag,
    const char *fmt, ...)
{
	char prefix[IMAP_LINE_MAX_PRELOGIN];
	va_list ap;

	if (tag != NULL &&
	    (size_t)snprintf(prefix, sizeof(prefix), "%s BAD ", tag) <
	    sizeof(prefix)) {
		va_start(ap, fmt);
		session_vline(session, prefix, fmt, ap);
		va_end(ap);
	} else {
		va_start(ap, fmt);
		session_vline(session, "* BAD ", fmt, ap);
		va_end(ap);
	}
	session->bad_count++;
	mb_stats.imap_bad_total++;
	if (session->bad_count >= IMAP_BAD_MAX)
		imap_session_bye(session, "Too many invalid commands");
}

/* Look a parsed command up and run it. */
static void
session_dispatch(struct imap_session *session, const struct imap_command *pc)
{
	static const struct imap_arg no_args[1];
	const struct imap_command_def *def;
	const struct imap_arg *args = pc->args;
	unsigned int args_count = pc->args_count;
	struct imap_cmd *cmd;
	char word[32];
	bool uid = false;

	if (session_check_foreign(session, pc->tag, pc->name))
		return;
	session->seen_command = true;
	if (!command_word(pc->name, word, sizeof(word))) {
		session_reply_bad(session, pc->tag, "Unknown command");
		return;
	}
	if (strcmp(word, "UID") == 0) {
		const char *sub;

		if (args_count == 0 || !imap_arg_get_atom(&args[0], &sub) ||
		    !command_word(sub, word, sizeof(word))) {
			session_reply_bad(session, pc->tag,
			    "UID needs a command");
			return;
		}
		uid = true;
		args++;
		args_count--;
	}
	def = imap_command_find(word, uid);
	if (def == NULL) {
		session_reply_bad(session, pc->tag, "Unknown command %s%s",
		    uid ? "UID " : "", word);
		return;
	}
	if (!(def->states & session->state)) {
		if (session->state == IMAP_STATE_NOT_AUTH)
			session_reply_bad(session, pc->tag,
			    "%s needs a login first", def->name);
		else if (def->states == IMAP_STATE_SELECTED)
			session_reply_bad(session, pc->tag,
			    "%s needs a selected mailbox", def->name);
		else
			session_reply_bad(session, pc->tag,
			    "%s is not allowed now", def->name);
		return;
	}

	cmd = xcalloc(1, sizeof(*cmd));
	cmd->session = session;
	cmd->def = def;
	cmd->tag = xstrdup(pc->tag);
	cmd->name = def->name;
	/* Without arguments nothing of the parser is referenced, so it may
	 * be freed while the command is pending (IDLE). */
	cmd->args = args_count > 0 ? args : no_args;
	cmd->args_count = args_count;
	cmd->uid = uid;
	session->cmd = cmd;
	mb_stats.imap_commands_total++;

	cmd->in_handler = true;
	def->func(cmd);
	cmd->in_handler = false;
	if (cmd->done)
		session_cmd_finished(session);
	else
		session_update_timeouts(session);
}

/* Answer a command the parser refused. */
static void
session_parse_error(struct imap_session *session, const char *error)
{
	const char *tag = imap_parser_tag(session->parser);

	if (session_check_foreign(session, tag,
	    imap_parser_name(session->parser)))
		return;
	/* A TLS ClientHello or other binary greeting. */
	if (!session->seen_command && tag == NULL) {
		mb_stats.imap_foreign_total++;
		imap_session_bye(session, "This is an IMAP server");
		return;
	}
	session_reply_bad(session, tag, "%s", error);
}

/*
 * Give a pending command its next line (bounded by IMAP_LINE_MAX).
 * Returns false if more input is needed.
 */
static bool
session_feed_line(struct imap_session *session, struct evbuffer *in)
{
	struct imap_cmd *cmd = session->cmd;
	struct evbuffer_ptr pos;
	imap_cmd_line_cb *cb;
	size_t len, eol;
	char *line;

	pos = evbuffer_search(in, "\n", 1, NULL);
	if (pos.pos < 0) {
		if (evbuffer_get_length(in) <= IMAP_LINE_MAX)
			return false;
		evbuffer_drain(in, evbuffer_get_length(in));
		session->skip_line = true;
		imap_cmd_tagged(cmd, "BAD", NULL, "Line too long");
		return true;
	}
	len = (size_t)pos.pos;
	eol = len + 1;
	if (len > IMAP_LINE_MAX) {
		evbuffer_drain(in, eol);
		imap_cmd_tagged(cmd, "BAD", NULL, "Line too long");
		return true;
	}
	line = xmalloc(len + 1);
	evbuffer_remove(in, line, len);
	evbuffer_drain(in, 1);
	if (len > 0 && line[len - 1] == '\r')
		len--;
	line[len] = '\0';
	cb = cmd->line_cb;
	cmd->line_cb = NULL;
	cmd->in_handler = true;
	cb(cmd, line, len);
	cmd->in_handler = false;
	explicit_bzero(line, len);	/* may be a password */
	free(line);
	if (cmd->done)
		session_cmd_finished(session);
	return true;
}

/* Drop input up to and including the next LF. */
static bool
session_skip_line(struct imap_session *session, struct evbuffer *in)
{
	struct evbuffer_ptr pos = evbuffer_search(in, "\n", 1, NULL);

	if (pos.pos < 0) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return false;
	}
	evbuffer_drain(in, (size_t)pos.pos + 1);
	session->skip_line = false;
	return true;
}

/* The parser, made on demand with the limits of the session's state. */
static struct imap_parser *
session_parser(struct imap_session *session)
{
	struct imap_parser_limits limits;

	if (session->parser == NULL) {
		imap_parser_limits_default(&limits,
		    session->state == IMAP_STATE_NOT_AUTH);
		session->parser = imap_parser_new(&limits);
	}
	return session->parser;
}

/*
 * Free the parser once nothing needs it: no command half read, no bad
 * command being skipped, and no running command that may still read
 * its arguments (they live in the parser). An IDLE session then holds
 * no parser; the next input makes a new one.
 */
static void
session_release_parser(struct imap_session *session)
{
	const struct imap_cmd *cmd = session->cmd;

	if (session->parser == NULL || !imap_parser_at_rest(session->parser))
		return;
	if (cmd != NULL && (cmd->in_handler ||
	    (!cmd->done && cmd->args_count > 0)))
		return;
	imap_parser_free(&session->parser);
}

/*
 * Feed what has arrived to the parser, one contiguous chunk at a time
 * (the input is bounded by IMAP_READ_HIGH_WATER and the parser by its
 * limits), running each command, until the input is used up, a command
 * is pending, or too much output waits for the client. May free the
 * session.
 */
static void
session_input(struct imap_session *session)
{
	struct evbuffer *in, *out;
	struct evbuffer_iovec vec;
	const struct imap_command *pc;
	const char *error;
	size_t consumed;
	int ret;

	session_wake(session);
	if (session->bev == NULL) {
		if (session->cmd == NULL || session->cmd->done) {
			cmd_free(&session->cmd);
			session_free(session);
		}
		return;
	}
	if (session->cmd != NULL && session->cmd->done &&
	    !session->cmd->in_handler)
		session_cmd_finished(session);

	in = bufferevent_get_input(session->bev);
	out = bufferevent_get_output(session->bev);
	for (;;) {
		if (session->closing)
			break;
		if (evbuffer_get_length(out) >= IMAP_OUTPUT_HIGH_WATER) {
			session->output_blocked = true;
			break;
		}
		if (evbuffer_get_length(in) == 0)
			break;
		if (session->skip_line) {
			if (!session_skip_line(session, in))
				break;
			continue;
		}
		if (session->cmd != NULL) {
			if (session->cmd->line_cb == NULL ||
			    !session_feed_line(session, in))
				break;
			continue;
		}
		if (evbuffer_peek(in, -1, NULL, &vec, 1) < 1)
			break;
		ret = imap_parser_feed(session_parser(session), vec.iov_base,
		    vec.iov_len, &consumed, &pc, &error);
		evbuffer_drain(in, consumed);
		switch (ret) {
		case IMAP_PARSE_DONE:
			session_dispatch(session, pc);
			break;
		case IMAP_PARSE_NEED_CONTINUATION:
			evbuffer_add_printf(out, "+ Ready for literal data\r\n");
			break;
		case IMAP_PARSE_ERROR:
			session_parse_error(session, error);
			break;
		default:
			break;
		}
	}

	session_release_parser(session);

	/* A client that sent EOF gets the replies it asked for, then the
	 * connection closes. */
	if (session->eof && !session->output_blocked && !session->closing &&
	    session->cmd == NULL) {
		session->closing = true;
		session->state = IMAP_STATE_LOGOUT;
	}
	session_update_read(session);
	session_close_if_flushed(session);
}

static void
session_read_cb(struct bufferevent *bev, void *ctx)
{
	struct imap_session *session = ctx;

	(void)bev;
	/* The bufferevent re-armed its read timeout with this read. */
	session_read_armed(session);
	session->wake_for_input = false;
	session_input(session);
}

/* Output drained to the low-water mark. */
static void
session_write_cb(struct bufferevent *bev, void *ctx)
{
	struct imap_session *session = ctx;
	struct imap_cmd *cmd = session->cmd;

	(void)bev;
	if (session_close_if_flushed(session))
		return;
	if (cmd != NULL && !cmd->done && cmd->resume_cb != NULL) {
		cmd->in_handler = true;
		cmd->resume_cb(cmd);
		cmd->in_handler = false;
		if (cmd->done)
			session_cmd_finished(session);
	}
	if (session->output_blocked) {
		session->output_blocked = false;
		session_input(session);
	} else if (session->cmd == NULL || session->closing)
		session_input(session);
	else
		session_try_sleep(session);	/* IDLE with all sent */
}

static void
session_event_cb(struct bufferevent *bev, short what, void *ctx)
{
	struct imap_session *session = ctx;

	(void)bev;
	if (what & BEV_EVENT_EOF) {
		/* Input left in the buffer is still answered. */
		session->eof = true;
		if (session->cmd != NULL && !session->cmd->done) {
			session_gone(session);
			return;
		}
		session_input(session);
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) &&
	    !session->closing) {
		log_info("imap: %s: autologout after %s", session->peer,
		    session->state == IMAP_STATE_NOT_AUTH ? "no login" :
		    "inactivity");
		if (session->cmd != NULL && !session->cmd->done &&
		    session->cmd->abort_cb != NULL && !session->cmd->aborted) {
			session->cmd->aborted = true;
			session->cmd->abort_cb(session->cmd);
		}
		/* The tagged reply (if any) comes before the BYE. */
		if (session->cmd != NULL && session->cmd->done)
			cmd_free(&session->cmd);
		if (session->cmd == NULL) {
			imap_session_bye(session, "Autologout; idle for too "
			    "long");
			session_close_if_flushed(session);
			return;
		}
	}
	if (what & BEV_EVENT_ERROR)
		log_debug("imap: %s: connection error", session->peer);
	else if (what & BEV_EVENT_TIMEOUT)
		log_info("imap: %s: client stopped reading", session->peer);
	session_gone(session);
}

/* ---- accepting ---- */

static size_t
count_ip_sessions(const struct imap_server *server, const char *ip)
{
	const struct imap_session *s;
	size_t n = 0;

	for (s = server->sessions; s != NULL; s = s->next)
		if (strcmp(s->peer_ip, ip) == 0)
			n++;
	return n;
}

/* Best effort: the socket is fresh, so the line fits. */
static void
refuse(evutil_socket_t fd, const char *line)
{
	(void)send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
	evutil_closesocket(fd);
	mb_stats.imap_sessions_refused++;
}

static void
accept_cb(evutil_socket_t fd, struct sockaddr *sa, int salen, void *ctx)
{
	struct imap_server *server = ctx;
	struct imap_session *session;
	char peer[64], ip[64];
	size_t peer_len, ip_len;

	listener_format_peer(sa, salen, peer, sizeof(peer), ip, sizeof(ip));
	if (server->shutting_down) {
		refuse(fd, "* BYE Server shutting down\r\n");
		return;
	}
	if (server->session_count >= IMAP_SESSIONS_MAX) {
		log_info("imap: %s: refused: %zu sessions", peer,
		    server->session_count);
		refuse(fd, "* BYE Too many connections, try again later\r\n");
		return;
	}
	if (count_ip_sessions(server, ip) >=
	    server->deps.cfg->imap_max_connections_per_ip) {
		log_info("imap: %s: refused: too many connections from %s",
		    peer, ip);
		refuse(fd, "* BYE [UNAVAILABLE] Too many connections from "
		    "your address\r\n");
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
			log_debug("imap: %s: TCP_NODELAY: %s", peer,
			    strerror(errno));
	}
	session = xcalloc(1, sizeof(*session));
	session->server = server;
	session->state = IMAP_STATE_NOT_AUTH;
	/* Both strings in one allocation of their own size: most of
	 * 2 x 64 bytes would stay unused for every connection. */
	peer_len = strlen(peer) + 1;
	ip_len = strlen(ip) + 1;
	session->peer = xmalloc(peer_len + ip_len);
	memcpy(session->peer, peer, peer_len);
	memcpy(session->peer + peer_len, ip, ip_len);
	session->peer_ip = session->peer + peer_len;
	if (session_bev_new(session, fd) < 0) {
		log_warnx("imap: %s: cannot set up the connection", peer);
		evutil_closesocket(fd);
		free(session->peer);
		free(session);
		return;
	}
	session->next = server->sessions;
	if (server->sessions != NULL)
		server->sessions->prev = session;
	server->sessions = session;
	server->session_count++;
	mb_stats.imap_sessions_total++;
	mb_stats.imap_sessions_active++;

	session_update_timeouts(session);
	imap_session_untagged(session, "OK [CAPABILITY %s] mailbell ready",
	    imap_capabilities(session));
	bufferevent_enable(session->bev, EV_READ | EV_WRITE);
	log_debug("imap: %s: connected", session->peer);
}

/* ---- the server (imap.h) ---- */

struct imap_server *
imap_server_new(const struct imap_deps *deps)
{
	struct imap_server *server;

	server = xcalloc(1, sizeof(*server));
	server->deps = *deps;
	server->drained_ev = event_new(deps->base, -1, 0, drained_ev_cb,
	    server);
	if (server->drained_ev == NULL)
		fatalx("imap: cannot create an event");
	return server;
}

int
imap_server_listen(struct imap_server *server, evutil_socket_t fd)
{
	if (server->listeners == NULL)
		server->listeners = listener_set_new(server->deps.base, "imap",
		    accept_cb, server);
	return listener_set_add(server->listeners, fd);
}

void
imap_server_shutdown(struct imap_server *server,
    void (*drained_cb)(void *ctx), void *ctx)
{
	struct imap_session *session, *next;

	server->shutting_down = true;
	server->drained_cb = drained_cb;
	server->drained_ctx = ctx;
	if (server->listeners != NULL)
		listener_set_close(server->listeners);
	for (session = server->sessions; session != NULL; session = next) {
		struct imap_cmd *cmd = session->cmd;

		next = session->next;
		if (cmd != NULL && !cmd->done) {
			/* IDLE ends with its tagged OK; the BYE follows
			 * when the command has finished. */
			if (cmd->abort_cb != NULL && !cmd->aborted) {
				cmd->aborted = true;
				cmd->abort_cb(cmd);
			}
			continue;
		}
		imap_session_bye(session, "Server shutting down");
		session_close_if_flushed(session);
	}
	server_check_drained(server);
}

void
imap_server_free(struct imap_server **serverp)
{
	struct imap_server *server = *serverp;

	if (server == NULL)
		return;
	listener_set_free(&server->listeners);
	server->drained_cb = NULL;
	while (server->sessions != NULL)
		session_free(server->sessions);
	assert(server->idle_head == NULL);
	if (server->idle_ev != NULL)
		event_free(server->idle_ev);
	event_free(server->drained_ev);
	free(server);
	*serverp = NULL;
}
