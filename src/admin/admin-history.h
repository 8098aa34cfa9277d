/*
 * The last ADMIN_HISTORY_SECS seconds of the server's activity, one
 * sample a second, for the status page's charts: per second, the
 * deliveries, the notifications sent, acknowledged and resent, and the
 * IMAP sessions open. A fixed ring, filled from lib/stats.h counters by
 * the caller's timer; no I/O, so a unit test drives it alone.
 */
#ifndef MB_ADMIN_ADMIN_HISTORY_H
#define MB_ADMIN_ADMIN_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/limits.h"

enum admin_series {
	ADMIN_SERIES_DELIVERIES,	/* LMTP recipients delivered */
	ADMIN_SERIES_NOTIFY_SENT,	/* EVENTs sent (first sends) */
	ADMIN_SERIES_NOTIFY_ACKED,	/* EVENTs acknowledged */
	ADMIN_SERIES_NOTIFY_RESENT,	/* EVENTs sent again */
	ADMIN_SERIES_IMAP_SESSIONS,	/* IMAP sessions open (a gauge) */
	ADMIN_SERIES_COUNT
};

/* The series' names in the JSON of /api/status. */
extern const char *const admin_series_names[ADMIN_SERIES_COUNT];

struct admin_history {
	uint64_t last[ADMIN_SERIES_COUNT];	/* values at the last sample */
	bool primed;				/* last[] holds a sample */
	size_t next;				/* slot the next sample takes */
	size_t count;				/* samples held */
	uint32_t v[ADMIN_HISTORY_SECS][ADMIN_SERIES_COUNT];
};

/* The current value of each series (counters since start, the gauge as
 * it is now), from lib/stats.h. */
void admin_history_read(uint64_t now[ADMIN_SERIES_COUNT]);
/* Add one second's sample: for a counter its increase since the last
 * sample (the first sample only primes), for the gauge its value. */
void admin_history_add(struct admin_history *h,
    const uint64_t now[ADMIN_SERIES_COUNT]);
/* Series s at the i-th oldest sample, i < h->count. */
uint32_t admin_history_get(const struct admin_history *h, size_t i,
    enum admin_series s);

#endif
