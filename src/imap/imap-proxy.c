/*
 * A session passed on to the user's node (imap-proxy.h): bytes both
 * ways, each stream framed by a scanner (imap-proxy-scan.h) so that the
 * front door answers XBELL and COMPRESS itself, writing only between two
 * of the owner's responses; backpressure in both directions; the end
 * of either side ending both.
 */
#include "imap/imap-proxy-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "imap/imap-session-private.h"
#include "lib/log.h"
#include "lib/stats.h"
#include "lib/xmalloc.h"

/* ---- state ---- */

bool
imap_proxy_relaying(const struct imap_session *session)
{
	return session->proxy != NULL &&
	    session->proxy->phase == IMAP_PROXY_RELAY;
}

/* An answer of the front door's own waits for the owner's stream to
 * reach the end of a response. */
static bool
proxy_local_pending(const struct imap_proxy *p)
{
	return p->local_cont || p->local_ready;
}

bool
imap_proxy_may_read(const struct imap_session *session)
{
	const struct imap_proxy *p = session->proxy;

	return imap_proxy_relaying(session) && p->bev != NULL &&
	    !proxy_local_pending(p) &&
	    evbuffer_get_length(bufferevent_get_output(p->bev)) <
	    IMAP_OUTPUT_HIGH_WATER;
}

const char *
imap_proxy_node(const struct imap_session *session)
{
	return imap_proxy_relaying(session) ? session->proxy->peer.node :
	    NULL;
}

void
imap_proxy_free(struct imap_proxy **proxyp)
{
	struct imap_proxy *p = *proxyp;

	if (p == NULL)
		return;
	if (p->bev != NULL)
		bufferevent_free(p->bev);
	if (p->timer != NULL)
		event_free(p->timer);
	if (p->local != NULL)
		evbuffer_free(p->local);
	if (p->counted)
		mb_stats.imap_proxied_sessions--;
	free(p);
	*proxyp = NULL;
}

/* ---- the client's commands ---- */

/* Whether the front door answers a command itself: XBELL, so that the
 * registration is this node's (unless its notifier is off: the owner's
 * then serves), and COMPRESS, which it refuses. */
static bool
proxy_command_is_local(const struct imap_proxy *p, const char *word)
{
	if (strcasecmp(word, "XBELL") == 0)
		return p->session->server->deps.xbell != NULL;
	return strcasecmp(word, "COMPRESS") == 0;
}

/* The client's command is known by its head: answered here, or passed
 * on with the head's bytes. */
static void
proxy_client_head(struct imap_proxy *p, struct evbuffer *to)
{
	const char *tag = imap_scan_tag(&p->from_client);
	const char *word = imap_scan_word(&p->from_client);
	const unsigned char *head;
	size_t len;

	head = imap_scan_head(&p->from_client, &len);
	if (tag[0] != '\0' && proxy_command_is_local(p, word)) {
		p->route = IMAP_PROXY_ROUTE_LOCAL;
		(void)snprintf(p->local_tag, sizeof(p->local_tag), "%s", tag);
		p->local_long = false;
		evbuffer_add(p->local, head, len);
	} else {
		p->route = IMAP_PROXY_ROUTE_OWNER;
		evbuffer_add(to, head, len);
	}
}

/* Move n bytes of the client's input where its command goes. */
static void
proxy_route(struct imap_proxy *p, struct evbuffer *in, struct evbuffer *to,
    size_t n)
{
	if (p->route != IMAP_PROXY_ROUTE_LOCAL) {
		evbuffer_remove_buffer(in, to, n);
		return;
	}
	if (p->local_long ||
	    evbuffer_get_length(p->local) + n > IMAP_PROXY_LOCAL_MAX) {
		p->local_long = true;
		evbuffer_drain(in, n);
	} else
		evbuffer_remove_buffer(in, p->local, n);
}

/* Scan and route the next piece of the client's input. */
static void
proxy_client_chunk(struct imap_proxy *p, struct evbuffer *in,
    struct evbuffer *to)
{
	bool head = imap_scan_in_head(&p->from_client);
	enum imap_scan_event ev;
	struct evbuffer_iovec vec;
	size_t used;

	if (evbuffer_peek(in, -1, NULL, &vec, 1) < 1)
		return;
	ev = imap_scan_feed(&p->from_client, vec.iov_base, vec.iov_len,
	    &used);
	/* Head bytes are kept by the scanner until the head is known. */
	if (head)
		evbuffer_drain(in, used);
	else
		proxy_route(p, in, to, used);
	switch (ev) {
	case IMAP_SCAN_HEAD:
		proxy_client_head(p, to);
		break;
	case IMAP_SCAN_LITERAL:
		if (p->route == IMAP_PROXY_ROUTE_LOCAL &&
		    imap_scan_literal_sync(&p->from_client))
			p->local_cont = true;
		break;
	case IMAP_SCAN_END:
		if (p->route == IMAP_PROXY_ROUTE_LOCAL)
			p->local_ready = true;
		p->route = IMAP_PROXY_ROUTE_HEAD;
		break;
	case IMAP_SCAN_MORE:
		break;
	}
}

/* Pass the client's input on while the owner takes it and nothing of
 * the front door's own waits. True if anything moved. */
static bool
proxy_from_client(struct imap_proxy *p)
{
	struct imap_session *session = p->session;
	struct evbuffer *in, *to;
	bool moved = false;

	if (session->bev == NULL || p->bev == NULL)
		return false;
	in = bufferevent_get_input(session->bev);
	to = bufferevent_get_output(p->bev);
	while (!session->closing && !proxy_local_pending(p) &&
	    evbuffer_get_length(in) > 0 &&
	    evbuffer_get_length(to) < IMAP_OUTPUT_HIGH_WATER) {
		proxy_client_chunk(p, in, to);
		moved = true;
	}
	return moved;
}

/* At the end of one of the owner's responses: answer the command the
 * client sent to the front door, or its literal's "+". */
static void
proxy_local_run(struct imap_proxy *p)
{
	static const char cont[] = "+ Ready for literal data\r\n";
	struct imap_session *session = p->session;
	char line[IMAP_PROXY_TAG_MAX + 64];
	int len;

	if (p->local_cont) {
		p->local_cont = false;
		imap_session_write(session, cont, sizeof(cont) - 1);
		return;
	}
	p->local_ready = false;
	if (p->local_long) {
		len = snprintf(line, sizeof(line), "%s BAD Command too long\r\n",
		    p->local_tag);
		if (len > 0 && (size_t)len < sizeof(line))
			imap_session_write(session, line, (size_t)len);
		p->local_long = false;
	} else
		imap_session_run_local(session, p->local);
	evbuffer_drain(p->local, evbuffer_get_length(p->local));
}

/* ---- the owner's responses ---- */

/* Scan and pass on the next piece of the owner's output. */
static void
proxy_owner_chunk(struct imap_proxy *p, struct evbuffer *in,
    struct evbuffer *out)
{
	bool head = imap_scan_in_head(&p->from_owner);
	enum imap_scan_event ev;
	struct evbuffer_iovec vec;
	const unsigned char *h;
	size_t used, len;

	if (evbuffer_peek(in, -1, NULL, &vec, 1) < 1)
		return;
	ev = imap_scan_feed(&p->from_owner, vec.iov_base, vec.iov_len, &used);
	if (head)
		evbuffer_drain(in, used);
	else
		evbuffer_remove_buffer(in, out, used);
	if (ev == IMAP_SCAN_HEAD) {
		h = imap_scan_head(&p->from_owner, &len);
		evbuffer_add(out, h, len);
		if (strcmp(imap_scan_tag(&p->from_owner), "*") == 0 &&
		    strcasecmp(imap_scan_word(&p->from_owner), "BYE") == 0)
			p->owner_bye = true;
	}
	/* A tagged reply in place of the "+" a synchronising literal waits
	 * for: the literal is refused (RFC 3501 7.5), none follows. */
	if (ev == IMAP_SCAN_END &&
	    imap_scan_literal_waiting(&p->from_client) &&
	    strcmp(imap_scan_tag(&p->from_owner),
	    imap_scan_tag(&p->from_client)) == 0) {
		imap_scan_literal_cancel(&p->from_client);
		p->route = IMAP_PROXY_ROUTE_HEAD;
	}
}

/* Pass the owner's output on while the client takes it, stopping at
 * the end of a response when an answer of the front door's waits. True
 * if anything moved. */
static bool
proxy_from_owner(struct imap_proxy *p)
{
	struct imap_session *session = p->session;
	struct evbuffer *in, *out;
	bool moved = false;

	if (session->bev == NULL || p->bev == NULL)
		return false;
	in = bufferevent_get_input(p->bev);
	out = bufferevent_get_output(session->bev);
	while (!session->closing && evbuffer_get_length(in) > 0 &&
	    (p->owner_gone ||
	    evbuffer_get_length(out) < IMAP_OUTPUT_HIGH_WATER) &&
	    !(proxy_local_pending(p) && imap_scan_at_start(&p->from_owner))) {
		proxy_owner_chunk(p, in, out);
		moved = true;
	}
	return moved;
}

/* ---- moving bytes ---- */

/* Everything that can move now, both ways. */
static void
proxy_pump(struct imap_proxy *p)
{
	struct imap_session *session = p->session;
	bool moved;

	do {
		if (session->closing || session->bev == NULL || p->bev == NULL)
			break;
		moved = false;
		if (proxy_local_pending(p) &&
		    imap_scan_at_start(&p->from_owner)) {
			proxy_local_run(p);
			moved = true;
		}
		if (proxy_from_client(p))
			moved = true;
		if (proxy_from_owner(p))
			moved = true;
	} while (moved);
}

/* Read from the owner only while the client takes its output. */
static void
proxy_update_owner_read(struct imap_proxy *p)
{
	struct imap_session *session = p->session;

	if (p->bev == NULL)
		return;
	if (!session->closing && session->bev != NULL &&
	    evbuffer_get_length(bufferevent_get_output(session->bev)) <
	    IMAP_OUTPUT_HIGH_WATER)
		bufferevent_enable(p->bev, EV_READ);
	else
		bufferevent_disable(p->bev, EV_READ);
}

void
imap_proxy_input(struct imap_session *session)
{
	struct imap_proxy *p = session->proxy;

	proxy_pump(p);
	/* The client closed: the owner's session ends with it. */
	if (session->eof && !session->closing) {
		log_debug("imap: %s: closed by the client", session->log_id);
		imap_session_close(session);
	}
	proxy_update_owner_read(p);
	imap_session_update_read(session);
	imap_session_close_if_flushed(session);
}

void
imap_proxy_end(struct imap_session *session, const char *text)
{
	struct imap_proxy *p = session->proxy;

	if (p->bev != NULL && imap_scan_at_start(&p->from_owner))
		imap_session_bye(session, text);
	else
		imap_session_close(session);
	if (p->bev != NULL) {
		bufferevent_free(p->bev);
		p->bev = NULL;
	}
}

/* ---- the owner's connection ---- */

static void
proxy_owner_read_cb(struct bufferevent *bev, void *ctx)
{
	struct imap_proxy *p = ctx;

	(void)bev;
	imap_proxy_input(p->session);
}

/* The owner's output drained below the low-water mark: the client's
 * input may move again. */
static void
proxy_owner_write_cb(struct bufferevent *bev, void *ctx)
{
	struct imap_proxy *p = ctx;

	(void)bev;
	imap_proxy_input(p->session);
}

/* The owner closed (after its BYE, or lost): what it sent is passed on,
 * then the client's connection closes too, with a BYE of ours if the
 * owner said none and its stream ended between responses. */
static void
proxy_owner_event_cb(struct bufferevent *bev, short what, void *ctx)
{
	struct imap_proxy *p = ctx;
	struct imap_session *session = p->session;

	(void)bev;
	p->owner_gone = true;
	p->local_cont = p->local_ready = false;
	proxy_from_owner(p);
	if (p->owner_bye)
		log_debug("imap: %s: node=%s ended the session",
		    session->log_id, p->peer.node);
	else
		log_info("imap: %s: node=%s lost (%s)", session->log_id,
		    p->peer.node, (what & BEV_EVENT_EOF) ? "closed" :
		    (what & BEV_EVENT_TIMEOUT) ? "timeout" : "error");
	if (!p->owner_bye && imap_scan_at_start(&p->from_owner))
		imap_session_bye(session, "Lost the connection to the "
		    "mailbox's server");
	else
		imap_session_close(session);
	bufferevent_free(p->bev);
	p->bev = NULL;
	imap_session_close_if_flushed(session);
}

void
imap_proxy_relay_start(struct imap_proxy *p)
{
	struct timeval wr = { IMAP_WRITE_TIMEOUT_SECS, 0 };

	p->phase = IMAP_PROXY_RELAY;
	imap_scan_init(&p->from_client);
	imap_scan_init(&p->from_owner);
	p->route = IMAP_PROXY_ROUTE_HEAD;
	if ((p->local = evbuffer_new()) == NULL)
		fatalx("imap: cannot allocate a buffer");
	bufferevent_setcb(p->bev, proxy_owner_read_cb, proxy_owner_write_cb,
	    proxy_owner_event_cb, p);
	bufferevent_setwatermark(p->bev, EV_READ, 0, IMAP_READ_HIGH_WATER);
	bufferevent_setwatermark(p->bev, EV_WRITE, IMAP_OUTPUT_LOW_WATER, 0);
	/* The owner may rightly say nothing for long (no IDLE, nothing
	 * new); its own timeouts end its sessions. */
	bufferevent_set_timeouts(p->bev, NULL, &wr);
	bufferevent_enable(p->bev, EV_READ | EV_WRITE);
}
