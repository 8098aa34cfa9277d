/*
 * The resend schedule of unacknowledged EVENTs and the timer wheel that
 * holds registrations until their next resend is due
 * (doc/notify-protocol.md 4.4). One wheel serves every registration,
 * so no registration has a timer of its own.
 */
#include "notify/notify-wheel.h"

#include <assert.h>

/* Waits before the 2nd, 3rd, 4th and 5th send. */
static const uint32_t resend_ms[NOTIFY_EVENT_SENDS - 1] = {
	1000, 2000, 4000, 8000
};

uint32_t
notify_resend_jitter_span(unsigned sends)
{
	assert(sends >= 1 && sends < NOTIFY_EVENT_SENDS);
	return resend_ms[sends - 1] / 4 + 1;
}

uint32_t
notify_resend_wait_ms(unsigned sends, uint32_t rnd)
{
	assert(sends >= 1 && sends < NOTIFY_EVENT_SENDS);
	return resend_ms[sends - 1] + rnd % notify_resend_jitter_span(sends);
}

void
notify_wheel_remove(struct notify_wheel *w, struct notify_wheel_entry *e)
{
	size_t slot;

	if (!e->in_wheel)
		return;
	slot = (size_t)(e->due_tick % NOTIFY_WHEEL_SLOTS);
	if (e->wprev != NULL)
		e->wprev->wnext = e->wnext;
	else
		w->slot[slot] = e->wnext;
	if (e->wnext != NULL)
		e->wnext->wprev = e->wprev;
	e->wnext = e->wprev = NULL;
	e->in_wheel = false;
	w->count--;
}

void
notify_wheel_add(struct notify_wheel *w, struct notify_wheel_entry *e,
    uint64_t due_ms, uint64_t now_ms)
{
	uint64_t tick, now_tick;
	size_t slot;

	assert(!e->in_wheel);
	/* Round up, so nothing is resent early. */
	tick = (due_ms + NOTIFY_WHEEL_TICK_MS - 1) / NOTIFY_WHEEL_TICK_MS;
	now_tick = now_ms / NOTIFY_WHEEL_TICK_MS;
	if (w->count == 0)
		w->tick = now_tick;
	if (tick <= w->tick)
		tick = w->tick + 1;
	e->due_tick = tick;
	slot = (size_t)(tick % NOTIFY_WHEEL_SLOTS);
	e->wprev = NULL;
	e->wnext = w->slot[slot];
	if (e->wnext != NULL)
		e->wnext->wprev = e;
	w->slot[slot] = e;
	e->in_wheel = true;
	w->count++;
}

bool
notify_wheel_advance(struct notify_wheel *w, uint64_t now_ms, size_t budget,
    notify_wheel_cb *cb, void *ctx)
{
	uint64_t now_tick = now_ms / NOTIFY_WHEEL_TICK_MS, t, from;
	size_t steps = 0;

	/* Advance first, so whatever is scheduled from here on lands in a
	 * slot after now. After a stall longer than the wheel, one turn
	 * visits every slot; the callback looks at the times, not the
	 * slots. */
	from = w->tick + 1;
	if (now_tick > w->tick)
		w->tick = now_tick;
	for (t = from; t <= now_tick &&
	    steps < NOTIFY_WHEEL_SLOTS; t++, steps++) {
		struct notify_wheel_entry *e, *next;
		size_t slot = (size_t)(t % NOTIFY_WHEEL_SLOTS);

		for (e = w->slot[slot]; e != NULL; e = next) {
			next = e->wnext;
			if (e->due_tick > now_tick)
				continue;
			if (budget == 0) {
				/* Go on from this slot next time; what is
				 * added meanwhile for a tick before now is
				 * due anyway. */
				w->tick = t - 1;
				return true;
			}
			budget--;
			notify_wheel_remove(w, e);
			cb(e, ctx);
		}
	}
	return false;
}
