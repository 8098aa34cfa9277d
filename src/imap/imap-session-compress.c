/*
 * COMPRESS=DEFLATE (RFC 4978) under an IMAP session: a bufferevent
 * filter stacked on the socket or TLS bufferevent inflates what the
 * client sends and deflates what we send. Output is flushed
 * (Z_SYNC_FLUSH) once per burst: when the loop comes back after the
 * writes of a callback, not after each write, so a long response
 * compresses as one piece and still reaches the client whole.
 */
#include "imap/imap-session.h"

#include <assert.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "imap/imap-session-private.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/stats.h"
#include "lib/xmalloc.h"
#include "lib/zstream.h"

struct imap_compress {
	struct imap_session *session;
	struct zstream *z;		/* both streams: kept across sleeps
					   in IDLE, with the session */
	struct event *flush_ev;		/* active while a burst of output
					   waits for its flush */
	struct evbuffer *raw_out;	/* the raw bufferevent's output, */
	struct evbuffer_cb_entry *drained; /* and our callback on it */
	bool failed;			/* corrupt input: the session ends */
};

/* A stream error ends the session, from the loop (the filter runs inside
 * libevent's own calls). */
static void
compress_fail(struct imap_compress *c, const char *error)
{
	if (c->failed)
		return;
	c->failed = true;
	log_info("imap: %s: COMPRESS: %s", c->session->log_id, error);
	if (c->session->bev != NULL)
		bufferevent_trigger_event(c->session->bev,
		    BEV_EVENT_READING | BEV_EVENT_ERROR,
		    BEV_TRIG_DEFER_CALLBACKS);
}

/* From the client: inflate within the session's read-ahead. libevent
 * gives no limit after EOF, where a few bytes could still inflate a
 * thousandfold; the limit then is the same. */
static enum bufferevent_filter_result
compress_in_cb(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
    enum bufferevent_flush_mode mode, void *ctx)
{
	struct imap_compress *c = ctx;
	size_t have = evbuffer_get_length(dst);
	const char *error;

	(void)mode;
	if (limit < 0)
		limit = have < IMAP_READ_HIGH_WATER ?
		    (ev_ssize_t)(IMAP_READ_HIGH_WATER - have) : 0;
	if (!c->failed &&
	    zstream_inflate(c->z, src, dst, limit, &error) == 0)
		return BEV_OK;
	if (!c->failed)
		compress_fail(c, error);
	evbuffer_drain(src, evbuffer_get_length(src));
	return BEV_ERROR;
}

/* To the client: deflate as output comes, flush at the end of the
 * burst (compress_flush_cb), or now when libevent flushes. */
static enum bufferevent_filter_result
compress_out_cb(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
    enum bufferevent_flush_mode mode, void *ctx)
{
	struct imap_compress *c = ctx;
	bool flush = mode != BEV_NORMAL;
	const char *error;

	if (zstream_deflate(c->z, src, dst, flush ? -1 : limit, flush,
	    &error) < 0) {
		compress_fail(c, error);
		evbuffer_drain(src, evbuffer_get_length(src));
		return BEV_ERROR;
	}
	if (zstream_deflate_dirty(c->z))
		event_active(c->flush_ev, EV_TIMEOUT, 0);
	return BEV_OK;
}

/* The burst is written. Output still waiting above a full queue is
 * deflated when the queue drains, and that schedules this again. */
static void
compress_flush_cb(evutil_socket_t fd, short what, void *ctx)
{
	struct imap_compress *c = ctx;
	struct imap_session *session = c->session;

	(void)fd;
	(void)what;
	if (session->bev == NULL ||
	    evbuffer_get_length(bufferevent_get_output(session->bev)) > 0)
		return;
	bufferevent_flush(session->bev, EV_WRITE, BEV_FLUSH);
}

/* The raw output is all sent. libevent tells the session when its own
 * output drains, which under the filter is when the compressor took
 * it, not when the client got it; closing and sleeping in IDLE wait for
 * this. */
static void
compress_drained_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *ctx)
{
	struct imap_compress *c = ctx;

	if (info->n_deleted > 0 && evbuffer_get_length(buf) == 0 &&
	    c->session->bev != NULL)
		bufferevent_trigger(c->session->bev, EV_WRITE,
		    BEV_TRIG_DEFER_CALLBACKS);
}

struct imap_compress *
imap_compress_new(struct imap_session *session)
{
	struct imap_compress *c = xcalloc(1, sizeof(*c));

	c->session = session;
	c->z = zstream_new(IMAP_DEFLATE_WINDOW_BITS, IMAP_DEFLATE_MEM_LEVEL);
	c->flush_ev = event_new(imap_session_base(session), -1, 0,
	    compress_flush_cb, c);
	if (c->flush_ev == NULL)
		fatalx("imap: cannot create an event");
	return c;
}

void
imap_compress_free(struct imap_compress **cp)
{
	struct imap_compress *c = *cp;

	if (c == NULL)
		return;
	if (c->raw_out != NULL)
		evbuffer_remove_cb_entry(c->raw_out, c->drained);
	event_free(c->flush_ev);
	zstream_free(&c->z);
	free(c);
	*cp = NULL;
}

struct bufferevent *
imap_compress_filter(struct imap_compress *c, struct bufferevent *raw)
{
	/* The read timeout is the filter's (it sees commands); the write
	 * timeout is raw's, which arms it only while bytes wait. */
	bufferevent_set_timeouts(raw, NULL, NULL);
	bufferevent_setwatermark(raw, EV_READ, 0, IMAP_READ_HIGH_WATER);
	bufferevent_setwatermark(raw, EV_WRITE, IMAP_DEFLATE_OUTPUT_LOW_WATER,
	    IMAP_DEFLATE_OUTPUT_HIGH_WATER);
	c->raw_out = bufferevent_get_output(raw);
	c->drained = evbuffer_add_cb(c->raw_out, compress_drained_cb, c);
	if (c->drained == NULL)
		fatalx("imap: cannot watch the output");
	/* Deferred callbacks: the filter runs as output is added, and the
	 * session's write callback must not run inside its own writes. */
	return bufferevent_filter_new(raw, compress_in_cb, compress_out_cb,
	    BEV_OPT_DEFER_CALLBACKS, NULL, c);
}

void
imap_compress_detach(struct imap_compress *c)
{
	if (c->raw_out != NULL)
		evbuffer_remove_cb_entry(c->raw_out, c->drained);
	c->raw_out = NULL;
	c->drained = NULL;
}

bool
imap_compress_idle(struct imap_compress *c)
{
	if (zstream_deflate_dirty(c->z) ||
	    event_pending(c->flush_ev, EV_TIMEOUT, NULL))
		return false;
	zstream_deflate_release(c->z);
	return true;
}

/* ---- starting and ending (imap-session.h, imap-session-private.h) ---- */

void
imap_session_compress(struct imap_session *session)
{
	struct bufferevent *raw = session->bev;

	assert(session->compress == NULL);
	if (raw == NULL)
		return;
	/* Bytes after the command line are already compressed: they stay
	 * in raw's input, under the filter. */
	session->compress = imap_compress_new(session);
	session->bev = imap_compress_filter(session->compress, raw);
	if (session->bev == NULL)
		fatalx("imap: cannot set up compression");
	mb_stats.imap_compress_total++;
	imap_session_bev_setup(session);
	bufferevent_enable(session->bev, EV_WRITE);
	imap_session_update_timeouts(session);
	imap_session_update_read(session);
}

bool
imap_session_compress_pull(struct imap_session *session)
{
	struct bufferevent *raw = imap_session_raw_bev(session);
	struct evbuffer *in;

	if (raw == session->bev ||
	    evbuffer_get_length(bufferevent_get_input(raw)) == 0)
		return false;
	in = bufferevent_get_input(session->bev);
	/* BEV_FLUSH: whether or not the filter is reading now; the input
	 * filter keeps to IMAP_READ_HIGH_WATER all the same. */
	bufferevent_flush(session->bev, EV_READ, BEV_FLUSH);
	return evbuffer_get_length(in) > 0;
}

/* Closing: the last output is deflated and flushed into the raw
 * bufferevent, which the session keeps alone to see it sent. */
void
imap_session_compress_end(struct imap_session *session)
{
	struct bufferevent *raw = imap_session_raw_bev(session);

	if (session->compress == NULL)
		return;
	if (raw != session->bev) {
		bufferevent_flush(session->bev, EV_WRITE, BEV_FLUSH);
		bufferevent_free(session->bev);
		session->bev = raw;
	}
	imap_compress_free(&session->compress);
	if (session->bev != NULL) {
		imap_session_bev_setup(session);
		imap_session_update_timeouts(session);
	}
}
