/*
 * The ring of per-second samples behind the status page's charts.
 */
#include "admin/admin-history.h"

#include "lib/stats.h"

const char *const admin_series_names[ADMIN_SERIES_COUNT] = {
	[ADMIN_SERIES_DELIVERIES] = "deliveries",
	[ADMIN_SERIES_NOTIFY_SENT] = "notifications_sent",
	[ADMIN_SERIES_NOTIFY_ACKED] = "notifications_acked",
	[ADMIN_SERIES_NOTIFY_RESENT] = "notifications_resent",
	[ADMIN_SERIES_IMAP_SESSIONS] = "imap_sessions",
};

void
admin_history_read(uint64_t now[ADMIN_SERIES_COUNT])
{
	now[ADMIN_SERIES_DELIVERIES] = mb_stats.lmtp_deliveries_total;
	now[ADMIN_SERIES_NOTIFY_SENT] = mb_stats.notify_events_total;
	now[ADMIN_SERIES_NOTIFY_ACKED] =
	    mb_stats.notify_event_acked_seconds.count;
	now[ADMIN_SERIES_NOTIFY_RESENT] = mb_stats.notify_retransmits_total;
	now[ADMIN_SERIES_IMAP_SESSIONS] = mb_stats.imap_sessions_active;
}

void
admin_history_add(struct admin_history *h,
    const uint64_t now[ADMIN_SERIES_COUNT])
{
	size_t s;

	if (h->primed) {
		for (s = 0; s < ADMIN_SERIES_COUNT; s++) {
			uint64_t v = s == ADMIN_SERIES_IMAP_SESSIONS ? now[s] :
			    now[s] - h->last[s];

			h->v[h->next][s] = v > UINT32_MAX ? UINT32_MAX :
			    (uint32_t)v;
		}
		h->next = (h->next + 1) % ADMIN_HISTORY_SECS;
		if (h->count < ADMIN_HISTORY_SECS)
			h->count++;
	}
	for (s = 0; s < ADMIN_SERIES_COUNT; s++)
		h->last[s] = now[s];
	h->primed = true;
}

uint32_t
admin_history_get(const struct admin_history *h, size_t i,
    enum admin_series s)
{
	size_t oldest = (h->next + ADMIN_HISTORY_SECS - h->count) %
	    ADMIN_HISTORY_SECS;

	return h->v[(oldest + i) % ADMIN_HISTORY_SECS][s];
}
