/*
 * Relaying to the owner node's LMTP server (RFC 2033): one client
 * connection per owner node and transaction, driven by the owner's
 * replies (greeting, LHLO, MAIL FROM, then one RCPT at a time as our
 * client sends them, DATA with the message streamed through as it
 * arrives, and one reply per accepted recipient after the dot). A
 * connection or protocol failure gives the recipients there a 451, never
 * a 5xx and never a 250 the owner did not give.
 */
#include "lmtp/lmtp-relay.h"

#include <sys/socket.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>

#include "lib/config.h"
#include "lib/log.h"
#include "lib/route.h"
#include "lib/stats.h"
#include "lib/xmalloc.h"
#include "lmtp/lmtp-reply-parse.h"
#include "lmtp/lmtp-session.h"

/* Where a connection to an owner is in its transaction. */
enum lmtp_relay_state {
	RELAY_CONNECTING = 0,	/* connect() (or the name lookup) runs */
	RELAY_GREETING,		/* connected; the owner's 220 awaited */
	RELAY_LHLO,		/* LHLO sent */
	RELAY_MAIL,		/* MAIL FROM sent */
	RELAY_IDLE,		/* MAIL accepted; no command outstanding */
	RELAY_RCPT,		/* RCPT TO sent */
	RELAY_DATA,		/* DATA sent; the message queues in pending
				   until the owner's 354 */
	RELAY_MESSAGE,		/* 354 came; the message streams */
	RELAY_REPLIES,		/* the dot sent; one reply per accepted
				   recipient awaited */
	RELAY_DONE,		/* every recipient there has its reply */
	RELAY_REFUSED,		/* the owner refused MAIL FROM: its reply
				   answers every RCPT for it */
	RELAY_FAILED,		/* connection or protocol failure */
};

struct lmtp_relay {
	struct lmtp_relay *next;	/* the session's list */
	struct lmtp_session *session;
	struct route_peer peer;		/* the owner node */

	/* The connection; NULL once closed */
	struct bufferevent *bev;
	struct lmtp_reply_parser *parser;
	enum lmtp_relay_state state;
	unsigned caps;			/* the owner's LHLO extensions */

	/* The RCPT sent, or to send once MAIL is accepted */
	bool rcpt_waiting;		/* the session waits for its reply */
	char rcpt_user[USER_NAME_MAX + 1];
	char *rcpt_address;
	struct lmtp_reply refusal;	/* RELAY_REFUSED: the MAIL reply */

	/* The message */
	struct evbuffer *pending;	/* RELAY_DATA: bytes before the 354 */
	bool dot_queued;		/* the message's end is queued */
	bool awaited;			/* counted by lmtp_relay_data_end() */
	size_t accepted;		/* our recipients the owner took */
	size_t answered;		/* of those, replies after the dot */
};

static void relay_read_cb(struct bufferevent *bev, void *ctx);
static void relay_write_cb(struct bufferevent *bev, void *ctx);
static void relay_event_cb(struct bufferevent *bev, short what, void *ctx);

/* ---- helpers ---- */

static void
relay_send(struct lmtp_relay *relay, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
relay_send(struct lmtp_relay *relay, const char *fmt, ...)
{
	struct evbuffer *out = bufferevent_get_output(relay->bev);
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

/* A reply is awaited within secs (0: none is, only writes are timed,
 * as while the message streams or our client is between commands and
 * the owner says nothing). */
static void
relay_expect(struct lmtp_relay *relay, int secs)
{
	struct timeval rd = { secs, 0 };
	struct timeval wr = { LMTP_RELAY_TIMEOUT_SECS, 0 };

	bufferevent_set_timeouts(relay->bev, secs > 0 ? &rd : NULL, &wr);
}

/* The owner's reply as a reply line of ours, with an enhanced code made
 * from its class if the owner gave none (malloc'd). */
static char *
reply_line(const struct lmtp_reply *reply)
{
	const char *sep = reply->text[0] != '\0' ? " " : "";

	/* The parser checked the code is 200..599. */
	if (reply->enhanced[0] != '\0')
		return xasprintf("%d %s%s%s", reply->code, reply->enhanced,
		    sep, reply->text);
	return xasprintf("%d %c.0.0%s%s", reply->code,
	    (char)('0' + reply->code / 100), sep, reply->text);
}

/* Close the connection, saying QUIT first if the owner is between
 * commands (best effort: if the socket takes it now). */
static void
relay_disconnect(struct lmtp_relay *relay)
{
	if (relay->bev != NULL) {
		/* Straight to the socket: the bufferevent's own output
		 * leaves with it. */
		if ((relay->state == RELAY_IDLE || relay->state == RELAY_DONE) &&
		    evbuffer_get_length(bufferevent_get_output(relay->bev)) == 0)
			(void)send(bufferevent_getfd(relay->bev), "QUIT\r\n", 6,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
		bufferevent_free(relay->bev);
		relay->bev = NULL;
		mb_stats.lmtp_relay_connections_active--;
		log_debug("lmtp: %s node=%s: relay connection closed",
		    relay->session->log_id, relay->peer.node);
	}
	lmtp_reply_parser_free(&relay->parser);
	if (relay->pending != NULL) {
		evbuffer_free(relay->pending);
		relay->pending = NULL;
	}
}

/* Give each recipient there still without a reply line this one (NULL:
 * 451 4.4.2, the owner was lost). */
static void
relay_answer_all(struct lmtp_relay *relay, const char *line)
{
	struct lmtp_session *session = relay->session;

	for (size_t i = 0; i < session->rcpt_count; i++) {
		struct lmtp_recipient *rcpt = &session->rcpts[i];

		if (rcpt->relay != relay || rcpt->reply != NULL)
			continue;
		if (line != NULL)
			rcpt->reply = xstrdup(line);
		else
			rcpt->reply = xasprintf("451 4.4.2 <%s> Connection to "
			    "the node holding this mailbox lost, try again "
			    "later", rcpt->address);
		log_info("lmtp: %s user=%s node=%s: not relayed: %s",
		    session->log_id, rcpt->user, relay->peer.node,
		    rcpt->reply);
	}
}

/* ---- RCPT ---- */

/* Answer the RCPT waiting on relay: the owner's reply, or 451 4.4.1
 * (reply NULL: the owner cannot be reached). No resume here. */
static void
rcpt_answer(struct lmtp_relay *relay, const struct lmtp_reply *reply)
{
	struct lmtp_session *session = relay->session;
	char *line;

	relay->rcpt_waiting = false;
	if (reply == NULL) {
		mb_stats.lmtp_relayed_unreachable_total++;
		log_info("lmtp: %s user=%s node=%s: owner unreachable, 451",
		    session->log_id, relay->rcpt_user, relay->peer.node);
		lmtp_session_reply(session, "451 4.4.1 <%s> The node holding "
		    "this mailbox cannot be reached, try again later",
		    relay->rcpt_address);
	} else {
		line = reply_line(reply);
		if (reply->code / 100 == 2) {
			relay->accepted++;
			(void)lmtp_session_add_recipient(session,
			    relay->rcpt_user, relay->rcpt_address, relay);
			log_debug("lmtp: %s user=%s node=%s: RCPT relayed: %s",
			    session->log_id, relay->rcpt_user,
			    relay->peer.node, line);
		} else {
			mb_stats.lmtp_relayed_rejected_total++;
			log_info("lmtp: %s user=%s node=%s: the owner refused "
			    "RCPT: %s", session->log_id, relay->rcpt_user,
			    relay->peer.node, line);
		}
		lmtp_session_reply(session, "%s", line);
		free(line);
	}
	free(relay->rcpt_address);
	relay->rcpt_address = NULL;
}

static void
send_rcpt(struct lmtp_relay *relay)
{
	relay_send(relay, "RCPT TO:<%s>", relay->rcpt_address);
	relay->state = RELAY_RCPT;
	relay_expect(relay, LMTP_RELAY_TIMEOUT_SECS);
}

/* MAIL FROM with our client's reverse path, and the parameters it gave
 * that the owner takes (RFC 1870 SIZE, RFC 6152 BODY). */
static void
send_mail(struct lmtp_relay *relay)
{
	const struct lmtp_session *session = relay->session;
	char size[32] = "";
	const char *body = "";

	if ((relay->caps & LMTP_CAP_SIZE) && session->mail_has_size)
		snprintf(size, sizeof(size), " SIZE=%" PRIu64,
		    session->mail_size);
	if (relay->caps & LMTP_CAP_8BITMIME) {
		if (session->mail_body == LMTP_BODY_8BITMIME)
			body = " BODY=8BITMIME";
		else if (session->mail_body == LMTP_BODY_7BIT)
			body = " BODY=7BIT";
	}
	relay_send(relay, "MAIL FROM:<%s>%s%s", session->sender, size, body);
	relay->state = RELAY_MAIL;
	relay_expect(relay, LMTP_RELAY_TIMEOUT_SECS);
}

/* ---- failure ---- */

/*
 * The connection broke, timed out or spoke no LMTP: close it; the
 * recipients there that have no reply yet get 451 (4.4.1 at RCPT, 4.4.2
 * once accepted), and whoever waits on this relay is told. The session
 * may be freed on return.
 */
static void
relay_fail(struct lmtp_relay *relay, const char *why)
{
	struct lmtp_session *session = relay->session;
	enum lmtp_relay_state was = relay->state;

	relay_disconnect(relay);
	if (was == RELAY_DONE || was == RELAY_REFUSED)
		return;		/* nothing was outstanding */
	relay->state = RELAY_FAILED;
	log_warnx("lmtp: %s node=%s: relay to %s:%u failed: %s",
	    session->log_id, relay->peer.node, relay->peer.host,
	    relay->peer.lmtp_port, why);
	relay_answer_all(relay, NULL);
	if (relay->rcpt_waiting) {
		rcpt_answer(relay, NULL);
		lmtp_session_relay_resume(session);
	} else if (relay->awaited) {
		relay->awaited = false;
		lmtp_commands_relay_done(session);
	} else if (session->relay_blocked)
		lmtp_session_relay_drained(session);
}

/* relay_fail with the owner's unexpected reply as the reason. */
static void
relay_fail_reply(struct lmtp_relay *relay, const char *what,
    const struct lmtp_reply *reply)
{
	char why[96];

	snprintf(why, sizeof(why), "%s: %d %.40s", what, reply->code,
	    reply->text);
	relay_fail(relay, why);
}

/* ---- replies ---- */

/* The owner's replies after DATA are all in, or it refused DATA: tell
 * the session. Returns true: the relay may be gone. */
static bool
relay_finished(struct lmtp_relay *relay)
{
	struct lmtp_session *session = relay->session;

	relay->state = RELAY_DONE;
	relay_expect(relay, 0);
	if (relay->awaited) {
		relay->awaited = false;
		lmtp_commands_relay_done(session);
	} else if (session->relay_blocked)
		lmtp_session_relay_drained(session);
	return true;
}

/* MAIL FROM's reply. */
static bool
mail_replied(struct lmtp_relay *relay, const struct lmtp_reply *reply)
{
	struct lmtp_session *session = relay->session;

	if (reply->code / 100 == 2) {
		relay->state = RELAY_IDLE;
		if (relay->rcpt_waiting)
			send_rcpt(relay);
		else
			relay_expect(relay, 0);
		return false;
	}
	if (reply->code / 100 == 3) {
		relay_fail_reply(relay, "MAIL FROM answered", reply);
		return true;
	}
	/* The owner will take nothing from this sender (a size over its
	 * limit, say): that is the answer for every recipient there. */
	relay->refusal = *reply;
	relay->state = RELAY_REFUSED;
	relay_disconnect(relay);
	if (relay->rcpt_waiting) {
		rcpt_answer(relay, &relay->refusal);
		lmtp_session_relay_resume(session);
	}
	return true;
}

/* DATA's reply: 354, or a refusal that answers every recipient there. */
static bool
data_replied(struct lmtp_relay *relay, const struct lmtp_reply *reply)
{
	char *line;

	if (reply->code == 354) {
		evbuffer_add_buffer(bufferevent_get_output(relay->bev),
		    relay->pending);
		relay->state = relay->dot_queued ? RELAY_REPLIES :
		    RELAY_MESSAGE;
		relay_expect(relay, relay->dot_queued ?
		    LMTP_RELAY_DATA_TIMEOUT_SECS : 0);
		return false;
	}
	if (reply->code / 100 != 4 && reply->code / 100 != 5) {
		relay_fail_reply(relay, "DATA answered", reply);
		return true;
	}
	line = reply_line(reply);
	relay_answer_all(relay, line);
	free(line);
	evbuffer_free(relay->pending);
	relay->pending = NULL;
	return relay_finished(relay);
}

/* One reply after the dot: for the next recipient the owner accepted
 * (RFC 2033 4.2: in RCPT order). */
static bool
message_replied(struct lmtp_relay *relay, const struct lmtp_reply *reply)
{
	struct lmtp_session *session = relay->session;
	struct lmtp_recipient *rcpt = NULL;

	if (reply->code / 100 != 2 && reply->code / 100 != 4 &&
	    reply->code / 100 != 5) {
		relay_fail_reply(relay, "message answered", reply);
		return true;
	}
	for (size_t i = 0; i < session->rcpt_count && rcpt == NULL; i++)
		if (session->rcpts[i].relay == relay &&
		    session->rcpts[i].reply == NULL)
			rcpt = &session->rcpts[i];
	if (rcpt == NULL) {
		relay_fail_reply(relay, "reply beyond the recipients", reply);
		return true;
	}
	rcpt->reply = reply_line(reply);
	log_info("lmtp: %s user=%s node=%s: relayed: %s", session->log_id,
	    rcpt->user, relay->peer.node, rcpt->reply);
	if (++relay->answered < relay->accepted)
		return false;
	return relay_finished(relay);
}

/* A complete reply from the owner. Returns true if the relay may be
 * gone (the session was called) and nothing more may be read. */
static bool
relay_reply(struct lmtp_relay *relay, const struct lmtp_reply *reply)
{
	struct lmtp_session *session = relay->session;

	/* RFC 5321 3.8: 421 closes the channel, whatever it answers; our
	 * client gets a 451 for it, not a 421 that would end its own
	 * session. */
	if (reply->code == 421) {
		relay_fail_reply(relay, "closing", reply);
		return true;
	}
	switch (relay->state) {
	case RELAY_GREETING:
		if (reply->code != 220) {
			relay_fail_reply(relay, "greeting", reply);
			return true;
		}
		relay_send(relay, "LHLO %s", session->server->deps.cfg->hostname);
		relay->state = RELAY_LHLO;
		relay_expect(relay, LMTP_RELAY_TIMEOUT_SECS);
		return false;
	case RELAY_LHLO:
		if (reply->code != 250) {
			relay_fail_reply(relay, "LHLO answered", reply);
			return true;
		}
		relay->caps = reply->caps;
		send_mail(relay);
		return false;
	case RELAY_MAIL:
		return mail_replied(relay, reply);
	case RELAY_RCPT:
		if (reply->code / 100 == 3) {
			relay_fail_reply(relay, "RCPT answered", reply);
			return true;
		}
		relay->state = RELAY_IDLE;
		relay_expect(relay, 0);
		rcpt_answer(relay, reply);
		lmtp_session_relay_resume(session);
		return true;
	case RELAY_DATA:
		return data_replied(relay, reply);
	case RELAY_REPLIES:
		return message_replied(relay, reply);
	default:
		relay_fail_reply(relay, "unexpected reply", reply);
		return true;
	}
}

/* ---- the connection ---- */

static void
relay_read_cb(struct bufferevent *bev, void *ctx)
{
	struct lmtp_relay *relay = ctx;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_iovec vec;
	struct lmtp_reply reply;
	size_t consumed;
	int ret;

	while (evbuffer_peek(in, -1, NULL, &vec, 1) >= 1) {
		ret = lmtp_reply_parser_feed(relay->parser, vec.iov_base,
		    vec.iov_len, &consumed, &reply);
		evbuffer_drain(in, consumed);
		if (ret < 0) {
			relay_fail(relay, lmtp_reply_error_text(
			    lmtp_reply_parser_error(relay->parser)));
			return;
		}
		if (ret == 1 && relay_reply(relay, &reply))
			return;
	}
}

/* The output drained below half the high-water mark. */
static void
relay_write_cb(struct bufferevent *bev, void *ctx)
{
	struct lmtp_relay *relay = ctx;

	(void)bev;
	if (relay->session->relay_blocked)
		lmtp_session_relay_drained(relay->session);
}

static void
relay_event_cb(struct bufferevent *bev, short what, void *ctx)
{
	struct lmtp_relay *relay = ctx;
	char why[128];
	int dns;

	if (what & BEV_EVENT_CONNECTED) {
		relay->state = RELAY_GREETING;
		relay_expect(relay, LMTP_RELAY_TIMEOUT_SECS);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		snprintf(why, sizeof(why), "timed out (%s)",
		    (what & BEV_EVENT_READING) ? "no reply" : "not reading");
	else if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof(why), "connection closed by the owner");
	else if ((dns = bufferevent_socket_get_dns_error(bev)) != 0)
		snprintf(why, sizeof(why), "%s", evutil_gai_strerror(dns));
	else
		snprintf(why, sizeof(why), "%s", evutil_socket_error_to_string(
		    EVUTIL_SOCKET_ERROR()));
	relay_fail(relay, why);
}

/* Start connecting: an IP literal at once, a host name through evdns
 * (never a blocking lookup on the loop). 0 or -1. */
static int
relay_connect(struct lmtp_relay *relay)
{
	struct lmtp_server *server = relay->session->server;
	struct addrinfo hints, *ai;
	char port[8];
	int ret;

	snprintf(port, sizeof(port), "%u", relay->peer.lmtp_port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(relay->peer.host, port, &hints, &ai) == 0) {
		ret = bufferevent_socket_connect(relay->bev, ai->ai_addr,
		    (int)ai->ai_addrlen);
		freeaddrinfo(ai);
		return ret;
	}
	if (server->dns == NULL)
		server->dns = evdns_base_new(server->deps.base,
		    EVDNS_BASE_INITIALIZE_NAMESERVERS);
	if (server->dns == NULL)
		return -1;
	return bufferevent_socket_connect_hostname(relay->bev, server->dns,
	    AF_UNSPEC, relay->peer.host, relay->peer.lmtp_port);
}

/* A connection to peer for this transaction; on a failure to even
 * start, one in RELAY_FAILED. */
static struct lmtp_relay *
relay_open(struct lmtp_session *session, const struct route_peer *peer)
{
	struct lmtp_relay *relay = xcalloc(1, sizeof(*relay));

	relay->session = session;
	relay->peer = *peer;
	relay->next = session->relays;
	session->relays = relay;
	relay->parser = lmtp_reply_parser_new();
	relay->bev = bufferevent_socket_new(session->server->deps.base, -1,
	    BEV_OPT_CLOSE_ON_FREE);
	if (relay->bev == NULL) {
		relay->state = RELAY_FAILED;
		return relay;
	}
	mb_stats.lmtp_relay_connections_total++;
	mb_stats.lmtp_relay_connections_active++;
	bufferevent_setcb(relay->bev, relay_read_cb, relay_write_cb,
	    relay_event_cb, relay);
	bufferevent_setwatermark(relay->bev, EV_WRITE,
	    LMTP_RELAY_HIGH_WATER / 2, 0);
	relay_expect(relay, LMTP_RELAY_TIMEOUT_SECS);
	bufferevent_enable(relay->bev, EV_READ | EV_WRITE);
	if (relay_connect(relay) < 0) {
		log_warnx("lmtp: %s node=%s: cannot connect to %s:%u",
		    session->log_id, peer->node, peer->host, peer->lmtp_port);
		relay_disconnect(relay);
		relay->state = RELAY_FAILED;
		return relay;
	}
	log_info("lmtp: %s node=%s: relaying to %s:%u", session->log_id,
	    peer->node, peer->host, peer->lmtp_port);
	return relay;
}

/* ---- for the session (lmtp-relay.h) ---- */

void
lmtp_relay_rcpt(struct lmtp_session *session, const struct route_peer *peer,
    const char *user, const char *address)
{
	struct lmtp_relay *relay;

	for (relay = session->relays; relay != NULL; relay = relay->next)
		if (strcmp(relay->peer.node, peer->node) == 0)
			break;
	if (relay == NULL)
		relay = relay_open(session, peer);
	snprintf(relay->rcpt_user, sizeof(relay->rcpt_user), "%s", user);
	free(relay->rcpt_address);
	relay->rcpt_address = xstrdup(address);
	switch (relay->state) {
	case RELAY_FAILED:
		rcpt_answer(relay, NULL);
		return;
	case RELAY_REFUSED:
		rcpt_answer(relay, &relay->refusal);
		return;
	case RELAY_IDLE:
		send_rcpt(relay);
		break;
	default:
		break;		/* sent once the owner accepts MAIL */
	}
	relay->rcpt_waiting = true;
	lmtp_session_relay_wait(session);
}

void
lmtp_relay_data_begin(struct lmtp_session *session)
{
	struct lmtp_relay *relay;

	session->relay_bol = true;
	for (relay = session->relays; relay != NULL; relay = relay->next) {
		if (relay->accepted == 0 || relay->state != RELAY_IDLE)
			continue;
		relay_send(relay, "DATA");
		relay->state = RELAY_DATA;
		relay->pending = evbuffer_new();
		relay->dot_queued = false;
		relay_expect(relay, LMTP_RELAY_TIMEOUT_SECS);
	}
}

/* Where the message bytes for relay go now; NULL: it takes none. */
static struct evbuffer *
relay_sink(const struct lmtp_relay *relay)
{
	if (relay->state == RELAY_DATA)
		return relay->pending;
	if (relay->state == RELAY_MESSAGE)
		return bufferevent_get_output(relay->bev);
	return NULL;
}

bool
lmtp_relay_blocked(const struct lmtp_session *session)
{
	const struct lmtp_relay *relay;
	size_t queued;

	for (relay = session->relays; relay != NULL; relay = relay->next) {
		if (relay_sink(relay) == NULL)
			continue;
		queued = evbuffer_get_length(bufferevent_get_output(
		    relay->bev));
		if (relay->pending != NULL)
			queued += evbuffer_get_length(relay->pending);
		if (queued >= LMTP_RELAY_HIGH_WATER)
			return true;
	}
	return false;
}

/* RFC 5321 4.5.2: a line of the message that begins with "." gets
 * another. *bol says whether data[0] begins a line, and is left saying
 * whether the byte after data does. out has room for 2 * len bytes.
 * Returns the bytes written. */
static size_t
dot_stuff(const unsigned char *data, size_t len, bool *bol,
    unsigned char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (*bol && data[i] == '.')
			out[n++] = '.';
		out[n++] = data[i];
		*bol = data[i] == '\n';
	}
	return n;
}

bool
lmtp_relay_data_feed(struct lmtp_session *session, const unsigned char *data,
    size_t len)
{
	struct lmtp_relay *relay;
	struct evbuffer *sink;
	unsigned char *stuffed = NULL;
	size_t n = 0;

	for (relay = session->relays; relay != NULL; relay = relay->next) {
		if ((sink = relay_sink(relay)) == NULL)
			continue;
		if (stuffed == NULL) {
			stuffed = xmalloc(2 * len);
			n = dot_stuff(data, len, &session->relay_bol, stuffed);
		}
		evbuffer_add(sink, stuffed, n);
	}
	free(stuffed);
	return lmtp_relay_blocked(session);
}

size_t
lmtp_relay_data_end(struct lmtp_session *session)
{
	struct lmtp_relay *relay;
	struct evbuffer *sink;
	size_t waiting = 0;

	for (relay = session->relays; relay != NULL; relay = relay->next) {
		if (relay->accepted == 0 || (sink = relay_sink(relay)) == NULL)
			continue;
		/* A message always ends in CR LF here (the decoder keeps
		 * the one before the dot); an empty one needs none. */
		if (!session->relay_bol)
			evbuffer_add(sink, "\r\n", 2);
		evbuffer_add(sink, ".\r\n", 3);
		relay->dot_queued = true;
		if (relay->state == RELAY_MESSAGE) {
			relay->state = RELAY_REPLIES;
			relay_expect(relay, LMTP_RELAY_DATA_TIMEOUT_SECS);
		}
		relay->awaited = true;
		waiting++;
	}
	return waiting;
}

void
lmtp_relay_close_all(struct lmtp_session *session)
{
	struct lmtp_relay *relay;

	while ((relay = session->relays) != NULL) {
		session->relays = relay->next;
		relay_disconnect(relay);
		free(relay->rcpt_address);
		free(relay);
	}
	session->relay_blocked = false;
}
