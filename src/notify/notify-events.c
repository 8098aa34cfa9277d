/*
 * From store events to EVENT datagrams: one store subscription for the
 * whole server, fanned out to the user's registrations whose endpoint
 * is verified and which cover the folder; each event is kept until it
 * is acknowledged and resent after 1, 2, 4 and 8 s (each up to 25%
 * later), five sends in all (doc/notify-protocol.md 4.4). Resends are
 * driven by one timer wheel (notify-wheel.c), never a timer per
 * registration, turned at the server's clock.
 *
 * A store event's first sends go out after its callback returns, in
 * slices of NOTIFY_FANOUT_BATCH registrations per loop turn: the event
 * keeps the ids of the registrations it is for, and a zero-timeout timer
 * sends the next slice, so a delivery to many registrations neither
 * holds its own LMTP reply nor stalls other sessions for the whole
 * burst. Store events are sent in the order they came, so each
 * registration still numbers them in that order.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "lib/stats.h"
#include "lib/xmalloc.h"
#include "notify/notify-private.h"
#include "store/store.h"

/* One unacknowledged event. */
struct notify_pending_event {
	uint32_t number;		/* event number */
	uint8_t type;			/* enum notify_event_type */
	uint8_t sends;			/* sends so far, 1..NOTIFY_EVENT_SENDS */
	uint64_t due_ms;		/* next send (monotonic), if sends <
					   NOTIFY_EVENT_SENDS */
	uint32_t uidvalidity, uid, uidnext, messages, unseen;
	char *folder;			/* store name; "" for every folder */
	uint64_t landed_us;		/* its store event's, 0: none (a
					   MailboxResync standing for many) */
};

/* A registration's unacknowledged events and its place in the wheel. */
struct notify_pending {
	struct notify_reg *reg;
	struct notify_wheel_entry went;	/* in the wheel while a resend
					   waits */
	size_t count, cap;
	struct notify_pending_event *ev;	/* ascending numbers */
};

/* A store event on its way to the registrations it covered when it
 * came (ids: one removed meanwhile is skipped). */
struct notify_fanout {
	struct notify_fanout *next;
	struct notify_pending_event e;	/* template; folder owned */
	char *user;
	size_t count, done;		/* ids, and how many were handled */
	uint64_t ids[];
};

/* The time from e's landing to now, unless e stands for no one
 * landing. */
static void
observe_since(struct stats_histogram *h, const struct notify_pending_event *e)
{
	if (e->landed_us != 0)
		stats_observe(h, (double)(clock_now_us() - e->landed_us) / 1e6);
}

static void
event_clear(struct notify_pending_event *e)
{
	free(e->folder);
	memset(e, 0, sizeof(*e));
}

/* ---- The wheel (notify-wheel.c) on the loop's timer ---- */

static void
wheel_unlink(struct notify_server *s, struct notify_pending *p)
{
	notify_wheel_remove(&s->wheel, &p->went);
	if (s->wheel.count == 0 && s->wheel_ev != NULL)
		evtimer_del(s->wheel_ev);
}

static void
wheel_arm(struct notify_server *s)
{
	struct timeval tv = { 0, NOTIFY_WHEEL_TICK_MS * 1000 };

	if (s->wheel_ev != NULL && !evtimer_pending(s->wheel_ev, NULL))
		evtimer_add(s->wheel_ev, &tv);
}

/* Put p in the wheel for the earliest due time of its events that are
 * still to be resent; out of it if there is none. */
static void
wheel_schedule(struct notify_server *s, struct notify_pending *p)
{
	uint64_t due = UINT64_MAX;
	size_t i;

	wheel_unlink(s, p);
	for (i = 0; i < p->count; i++)
		if (p->ev[i].sends < NOTIFY_EVENT_SENDS &&
		    p->ev[i].due_ms < due)
			due = p->ev[i].due_ms;
	if (due == UINT64_MAX)
		return;
	notify_wheel_add(&s->wheel, &p->went, due, notify_now_ms(s));
	wheel_arm(s);
}

static void
pending_free(struct notify_server *s, struct notify_reg *reg)
{
	struct notify_pending *p = reg->pending;
	size_t i;

	if (p == NULL)
		return;
	wheel_unlink(s, p);
	for (i = 0; i < p->count; i++)
		event_clear(&p->ev[i]);
	free(p->ev);
	free(p);
	reg->pending = NULL;
}

void
notify_events_drop(struct notify_server *s, struct notify_reg *reg)
{
	pending_free(s, reg);
}

/* ---- Sending one event ---- */

static int
send_event(struct notify_server *s, struct notify_reg *reg,
    const struct notify_pending_event *e)
{
	struct notify_msg msg;
	size_t len;

	memset(&msg, 0, sizeof(msg));
	msg.type = NOTIFY_TYPE_EVENT;
	msg.event.number = e->number;
	msg.event.type = (enum notify_event_type)e->type;
	msg.event.uidvalidity = e->uidvalidity;
	msg.event.uid = e->uid;
	msg.event.uidnext = e->uidnext;
	msg.event.messages = e->messages;
	msg.event.unseen = e->unseen;
	/* A name too long for the field is cut here; the codec then sends
	 * MailboxResync for every folder, as the protocol says. */
	len = strlen(e->folder);
	if (len > NOTIFY_FOLDER_MAX)
		len = NOTIFY_FOLDER_MAX + 1;
	if (len > NOTIFY_FOLDER_MAX) {
		msg.event.folder_len = 0;
		msg.event.type = NOTIFY_EVENT_MAILBOX_RESYNC;
		msg.event.uidvalidity = msg.event.uid = msg.event.uidnext = 0;
		msg.event.messages = msg.event.unseen = 0;
	} else {
		memcpy(msg.event.folder, e->folder, len);
		msg.event.folder[len] = '\0';
		msg.event.folder_len = len;
	}
	return notify_send_verified(s, reg, &msg);
}

/* When the send numbered sends (1-based) of an event should be followed
 * by the next: the base wait plus up to 25% jitter. */
static uint64_t
next_due(struct notify_server *s, unsigned sends, uint64_t now_ms)
{
	return now_ms + notify_resend_wait_ms(sends,
	    notify_jitter(s, notify_resend_jitter_span(sends)));
}

/* Queue an event for reg and send it now. */
static void
queue_event(struct notify_server *s, struct notify_reg *reg,
    const struct notify_pending_event *tmpl)
{
	struct notify_pending *p = reg->pending;
	struct notify_pending_event *e;
	uint64_t now_ms = notify_now_ms(s);
	size_t i;

	if (reg->event_last == UINT32_MAX)
		return;
	if (p == NULL) {
		p = xcalloc(1, sizeof(*p));
		p->reg = reg;
		reg->pending = p;
	}
	if (p->count >= NOTIFY_UNACKED_MAX) {
		/* Too far behind: one MailboxResync for every folder says it
		 * all, and bounds what a silent client costs. */
		for (i = 0; i < p->count; i++)
			event_clear(&p->ev[i]);
		p->count = 0;
		mb_stats.notify_resyncs_total++;
		tmpl = NULL;
	}
	if (p->count == p->cap) {
		p->cap = p->cap == 0 ? 2 : p->cap * 2;
		p->ev = xreallocarray(p->ev, p->cap, sizeof(*p->ev));
	}
	e = &p->ev[p->count++];
	memset(e, 0, sizeof(*e));
	if (tmpl != NULL) {
		*e = *tmpl;
		e->folder = xstrdup(tmpl->folder);
	} else {
		e->type = NOTIFY_EVENT_MAILBOX_RESYNC;
		e->folder = xstrdup("");
	}
	e->number = ++reg->event_last;
	e->sends = 1;
	e->due_ms = next_due(s, 1, now_ms);
	if (send_event(s, reg, e) == 0) {
		mb_stats.notify_events_total++;
		observe_since(&mb_stats.notify_event_sent_seconds, e);
	}
	wheel_schedule(s, p);
}

unsigned
notify_events_unacked(const struct notify_reg *reg, bool *given_up_r)
{
	const struct notify_pending *p = reg->pending;
	size_t i;

	*given_up_r = false;
	if (p == NULL)
		return 0;
	for (i = 0; i < p->count; i++)
		if (p->ev[i].sends >= NOTIFY_EVENT_SENDS)
			*given_up_r = true;
	return (unsigned)p->count;
}

void
notify_events_ack(struct notify_server *s, struct notify_reg *reg,
    uint64_t ack)
{
	struct notify_pending *p = reg->pending;
	size_t i, keep;

	/* An ack beyond what was sent is the client's mistake. */
	if (ack > reg->event_last)
		ack = reg->event_last;
	if (ack <= reg->acked)
		return;
	reg->acked = (uint32_t)ack;
	if (p == NULL)
		return;
	for (i = 0; i < p->count && p->ev[i].number <= ack; i++) {
		observe_since(&mb_stats.notify_event_acked_seconds, &p->ev[i]);
		event_clear(&p->ev[i]);
	}
	keep = p->count - i;
	memmove(p->ev, p->ev + i, keep * sizeof(*p->ev));
	p->count = keep;
	if (keep == 0)
		pending_free(s, reg);
	else
		wheel_schedule(s, p);
}

void
notify_events_moved(struct notify_server *s, struct notify_reg *reg)
{
	struct notify_pending *p = reg->pending;
	uint64_t now_ms = notify_now_ms(s);
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->count; i++) {
		if (p->ev[i].sends >= NOTIFY_EVENT_SENDS)
			continue;
		p->ev[i].due_ms = now_ms;
	}
	wheel_schedule(s, p);
}

/* Resend reg's events that are due. */
static void
resend_due(struct notify_server *s, struct notify_pending *p,
    uint64_t now_ms)
{
	struct notify_reg *reg = p->reg;
	size_t i;

	for (i = 0; i < p->count; i++) {
		struct notify_pending_event *e = &p->ev[i];

		if (e->sends >= NOTIFY_EVENT_SENDS || e->due_ms > now_ms)
			continue;
		e->sends++;
		if (e->sends < NOTIFY_EVENT_SENDS)
			e->due_ms = next_due(s, e->sends, now_ms);
		if (send_event(s, reg, e) == 0)
			mb_stats.notify_retransmits_total++;
	}
	wheel_schedule(s, p);
}

/* What one turn of the wheel resends at. */
struct tick_ctx {
	struct notify_server *s;
	uint64_t now_ms;
};

static void
resend_cb(struct notify_wheel_entry *e, void *ctx)
{
	struct tick_ctx *tc = ctx;
	struct notify_pending *p = (struct notify_pending *)(void *)
	    ((char *)e - offsetof(struct notify_pending, went));

	resend_due(tc->s, p, tc->now_ms);
}

void
notify_events_tick(struct notify_server *s)
{
	struct tick_ctx tc = { s, notify_now_ms(s) };
	struct timeval now = { 0, 0 };

	/* The resends due at one tick (after a burst to many
	 * registrations, most of a burst) go out in slices like the
	 * fan-out, with the loop's other work between them. */
	if (notify_wheel_advance(&s->wheel, tc.now_ms, NOTIFY_FANOUT_BATCH,
	    resend_cb, &tc)) {
		notify_flush(s);
		if (s->wheel_ev != NULL)
			evtimer_add(s->wheel_ev, &now);
		return;
	}
	notify_flush(s);
	if (s->wheel.count > 0)
		wheel_arm(s);
}

static void
wheel_tick_cb(evutil_socket_t fd, short what, void *ctx)
{
	(void)fd;
	(void)what;
	notify_events_tick(ctx);
}

/* ---- Store events ---- */

static enum notify_event_type
map_type(const struct store_event *ev)
{
	switch (ev->type) {
	case STORE_EVENT_MESSAGE_NEW:
		return NOTIFY_EVENT_MESSAGE_NEW;
	case STORE_EVENT_MESSAGE_APPEND:
		return NOTIFY_EVENT_MESSAGE_APPEND;
	case STORE_EVENT_MESSAGE_EXPUNGE:
		return NOTIFY_EVENT_MESSAGE_EXPUNGE;
	case STORE_EVENT_FLAGS_SET:
		return NOTIFY_EVENT_FLAGS_SET;
	case STORE_EVENT_FLAGS_CLEAR:
		return NOTIFY_EVENT_FLAGS_CLEAR;
	default:
		/* Folder events: not subscribed to (STORE_EVENT_ALL). */
		break;
	}
	return NOTIFY_EVENT_MAILBOX_RESYNC;
}

static void
fanout_free(struct notify_fanout *f)
{
	free(f->e.folder);
	free(f->user);
	free(f);
}

static void
fanout_arm(struct notify_server *s)
{
	struct timeval tv = { 0, 0 };

	if (s->fan_ev != NULL && s->fan_head != NULL &&
	    !evtimer_pending(s->fan_ev, NULL))
		evtimer_add(s->fan_ev, &tv);
}

/* Send the next slice of the waiting store events. */
static void
fanout_cb(evutil_socket_t fd, short what, void *ctx)
{
	struct notify_server *s = ctx;
	struct notify_fanout *f;
	struct notify_reg *reg;
	size_t budget = NOTIFY_FANOUT_BATCH;

	(void)fd;
	(void)what;
	while (budget > 0 && (f = s->fan_head) != NULL) {
		for (; f->done < f->count && budget > 0; budget--) {
			reg = notify_registry_find(s->registry,
			    f->ids[f->done++]);
			/* Still there, still verified (the endpoint may have
			 * been forgotten since). */
			if (reg != NULL && (reg->flags & NOTIFY_REG_VERIFIED) &&
			    strcmp(reg->user->name, f->user) == 0)
				queue_event(s, reg, &f->e);
		}
		if (f->done < f->count)
			break;
		s->fan_head = f->next;
		if (s->fan_head == NULL)
			s->fan_tail = NULL;
		fanout_free(f);
	}
	notify_flush(s);
	fanout_arm(s);
}

static void
fanout_clear(struct notify_server *s)
{
	struct notify_fanout *f;

	while ((f = s->fan_head) != NULL) {
		s->fan_head = f->next;
		fanout_free(f);
	}
	s->fan_tail = NULL;
}

/* Queue ev for every verified registration of its user that covers its
 * folder, with the folder's counts after it (st, or NULL if they could
 * not be read). */
static void
fanout_add(struct notify_server *s, const struct store_event *ev,
    const struct store_status *st)
{
	struct notify_user *u;
	struct notify_reg *reg;
	struct notify_fanout *f;
	size_t n = 0;

	u = notify_registry_user(s->registry, ev->user);
	if (u == NULL)
		return;
	for (reg = u->regs; reg != NULL; reg = reg->unext)
		if ((reg->flags & NOTIFY_REG_VERIFIED) &&
		    notify_reg_covers(reg, ev->folder))
			n++;
	if (n == 0)
		return;

	f = xcalloc(1, sizeof(*f) + n * sizeof(f->ids[0]));
	for (reg = u->regs; reg != NULL && f->count < n; reg = reg->unext)
		if ((reg->flags & NOTIFY_REG_VERIFIED) &&
		    notify_reg_covers(reg, ev->folder))
			f->ids[f->count++] = reg->id;
	f->e.type = (uint8_t)map_type(ev);
	f->e.uidvalidity = ev->uidvalidity;
	/* One event names one message; a change to several is a resync of
	 * the folder. */
	f->e.uid = ev->uid_count == 1 ? ev->uid : 0;
	if (ev->uid_count > 1)
		f->e.type = NOTIFY_EVENT_MAILBOX_RESYNC;
	/* Counts after the change, once for every registration. */
	if (st != NULL) {
		f->e.uidnext = st->uidnext;
		f->e.messages = st->messages;
		f->e.unseen = st->unseen;
		if (f->e.uidvalidity == 0)
			f->e.uidvalidity = st->uidvalidity;
	} else if (ev->type == STORE_EVENT_MESSAGE_NEW ||
	    ev->type == STORE_EVENT_MESSAGE_APPEND)
		f->e.uidnext = ev->uid + 1;
	f->e.folder = xstrdup(ev->folder);
	f->e.landed_us = ev->landed_us;
	f->user = xstrdup(ev->user);

	if (s->fan_tail != NULL)
		s->fan_tail->next = f;
	else
		s->fan_head = f;
	s->fan_tail = f;
	fanout_arm(s);
}

static void
folder_event_cb(const struct store_event *ev, void *ctx)
{
	struct notify_server *s = ctx;
	struct store_status st;
	const char *error;

	if (notify_registry_user(s->registry, ev->user) == NULL)
		return;
	if (store_folder_status(s->deps.store, ev->user, ev->folder, &st,
	    &error) == 0) {
		fanout_add(s, ev, &st);
		return;
	}
	log_debug("notify: status of %s/%s: %s", ev->user, ev->folder, error);
	fanout_add(s, ev, NULL);
}

void
notify_server_event(struct notify_server *s, const struct store_event *ev,
    const struct store_status *st)
{
	fanout_add(s, ev, st);
}

void
notify_events_start(struct notify_server *s)
{
	s->wheel_ev = evtimer_new(s->deps.base, wheel_tick_cb, s);
	s->fan_ev = evtimer_new(s->deps.base, fanout_cb, s);
	s->store_sub = store_subscribe_events(s->deps.store, STORE_EVENT_ALL,
	    folder_event_cb, s);
}

void
notify_events_stop(struct notify_server *s)
{
	if (s->store_sub != 0)
		store_unsubscribe(s->deps.store, s->store_sub);
	s->store_sub = 0;
}

void
notify_events_free(struct notify_server *s)
{
	if (s->wheel_ev != NULL)
		event_free(s->wheel_ev);
	s->wheel_ev = NULL;
	if (s->fan_ev != NULL)
		event_free(s->fan_ev);
	s->fan_ev = NULL;
	fanout_clear(s);
}
