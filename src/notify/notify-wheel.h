/*
 * The notifier's resend schedule: when an unacknowledged EVENT is sent
 * again (1, 2, 4 and 8 s after the send before, each up to 25% later),
 * and the timer wheel that finds the registrations whose resends are
 * due. Pure: time is passed in as monotonic milliseconds, so a unit
 * test drives it with any clock; the server turns it from a libevent
 * timer.
 */
#ifndef MB_NOTIFY_NOTIFY_WHEEL_H
#define MB_NOTIFY_NOTIFY_WHEEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/limits.h"

/* The wheel's ticks are this many milliseconds... */
#define NOTIFY_WHEEL_TICK_MS 50
/* ...in this many slots (25.6 s, more than the longest wait of 10 s). */
#define NOTIFY_WHEEL_SLOTS 512

/*
 * How long after the send numbered sends (1-based, below
 * NOTIFY_EVENT_SENDS) the next one is due: the base wait of 1, 2, 4 or
 * 8 s plus rnd % (base / 4 + 1) milliseconds of jitter.
 */
uint32_t notify_resend_wait_ms(unsigned sends, uint32_t rnd);
/* The largest jitter for the send numbered sends, plus one: what the
 * caller draws rnd below. */
uint32_t notify_resend_jitter_span(unsigned sends);

/* One waiting item, embedded in its owner. */
struct notify_wheel_entry {
	struct notify_wheel_entry *wnext, *wprev;	/* slot list */
	bool in_wheel;
	uint64_t due_tick;		/* tick it waits for */
};

struct notify_wheel {
	struct notify_wheel_entry *slot[NOTIFY_WHEEL_SLOTS];
	uint64_t tick;			/* last tick processed */
	size_t count;			/* entries in the wheel */
};

/* Put e (not in the wheel) in the wheel for due_ms, rounded up to a
 * tick and never before the tick after the last processed one (an empty
 * wheel starts from now_ms), so nothing is ever due early. */
void notify_wheel_add(struct notify_wheel *wheel,
    struct notify_wheel_entry *e, uint64_t due_ms, uint64_t now_ms);
/* Take e out of the wheel if it is in it. */
void notify_wheel_remove(struct notify_wheel *wheel,
    struct notify_wheel_entry *e);
/*
 * Advance the wheel to now_ms and call cb for the entries due by then,
 * at most budget of them, each taken out of the wheel first (cb may add
 * it again, or anything else: what it adds is never due before it was
 * asked to be). Returns true if it stopped at the budget with entries
 * still due: the next call, with the same or a later now_ms, goes on
 * where this one stopped, so a tick at which many are due is handled
 * in slices. After a stall longer than the wheel one call visits every
 * slot once.
 */
typedef void notify_wheel_cb(struct notify_wheel_entry *e, void *ctx);
bool notify_wheel_advance(struct notify_wheel *wheel, uint64_t now_ms,
    size_t budget, notify_wheel_cb *cb, void *ctx);

#endif
