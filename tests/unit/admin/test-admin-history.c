/* Unit tests for admin/admin-history.c: the status page's ring of
 * per-second samples. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "admin/admin-history.h"
#include "lib/stats.h"

static void
sample(struct admin_history *h, uint64_t deliveries, uint64_t sessions)
{
	uint64_t now[ADMIN_SERIES_COUNT] = { 0 };

	now[ADMIN_SERIES_DELIVERIES] = deliveries;
	now[ADMIN_SERIES_IMAP_SESSIONS] = sessions;
	admin_history_add(h, now);
}

/* Counters become increases per sample, the gauge is kept as it is;
 * the first sample only primes. */
static void
test_deltas_and_gauge(void **state)
{
	struct admin_history *h = calloc(1, sizeof(*h));

	(void)state;
	sample(h, 100, 4);
	assert_int_equal(h->count, 0);
	sample(h, 103, 5);
	sample(h, 103, 2);
	assert_int_equal(h->count, 2);
	assert_int_equal(admin_history_get(h, 0, ADMIN_SERIES_DELIVERIES), 3);
	assert_int_equal(admin_history_get(h, 1, ADMIN_SERIES_DELIVERIES), 0);
	assert_int_equal(admin_history_get(h, 0, ADMIN_SERIES_IMAP_SESSIONS),
	    5);
	assert_int_equal(admin_history_get(h, 1, ADMIN_SERIES_IMAP_SESSIONS),
	    2);
	free(h);
}

/* After ADMIN_HISTORY_SECS samples the oldest go, in order. */
static void
test_wraps(void **state)
{
	struct admin_history *h = calloc(1, sizeof(*h));
	uint64_t total = 0, i;

	(void)state;
	sample(h, 0, 0);
	for (i = 1; i <= ADMIN_HISTORY_SECS + 10; i++) {
		total += i;
		sample(h, total, 0);
	}
	assert_int_equal(h->count, ADMIN_HISTORY_SECS);
	/* the oldest kept is sample 11, the newest sample 910 */
	assert_int_equal(admin_history_get(h, 0, ADMIN_SERIES_DELIVERIES), 11);
	assert_int_equal(admin_history_get(h, ADMIN_HISTORY_SECS - 1,
	    ADMIN_SERIES_DELIVERIES), ADMIN_HISTORY_SECS + 10);
	free(h);
}

/* What it reads is lib/stats.h's. */
static void
test_read(void **state)
{
	uint64_t now[ADMIN_SERIES_COUNT];

	(void)state;
	memset(&mb_stats, 0, sizeof(mb_stats));
	mb_stats.lmtp_deliveries_total = 7;
	mb_stats.notify_events_total = 8;
	mb_stats.notify_event_acked_seconds.count = 6;
	mb_stats.notify_retransmits_total = 2;
	mb_stats.imap_sessions_active = 3;
	admin_history_read(now);
	assert_int_equal(now[ADMIN_SERIES_DELIVERIES], 7);
	assert_int_equal(now[ADMIN_SERIES_NOTIFY_SENT], 8);
	assert_int_equal(now[ADMIN_SERIES_NOTIFY_ACKED], 6);
	assert_int_equal(now[ADMIN_SERIES_NOTIFY_RESENT], 2);
	assert_int_equal(now[ADMIN_SERIES_IMAP_SESSIONS], 3);
	assert_string_equal(admin_series_names[ADMIN_SERIES_NOTIFY_ACKED],
	    "notifications_acked");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deltas_and_gauge),
		cmocka_unit_test(test_wraps),
		cmocka_unit_test(test_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
