/*
 * Process-wide counters, exported by the admin port as Prometheus
 * metrics. Updated and read on the daemon's event-loop thread only.
 */
#ifndef MB_LIB_STATS_H
#define MB_LIB_STATS_H

#include <stdint.h>

struct mb_stats {
	/* LMTP */
	uint64_t lmtp_sessions_total;		/* connections accepted */
	uint64_t lmtp_sessions_active;		/* connections open now */
	uint64_t lmtp_sessions_refused;		/* over LMTP_SESSIONS_MAX */
	uint64_t lmtp_transactions_total;	/* DATA completed */
	uint64_t lmtp_deliveries_total;		/* per-recipient 250 */
	uint64_t lmtp_delivery_failures_total;	/* per-recipient 4xx after DATA */
	uint64_t lmtp_unknown_recipients_total;	/* 550 5.1.1 */
	uint64_t lmtp_oversized_total;		/* 552 5.3.4 */
	uint64_t lmtp_protocol_errors_total;	/* 500-series replies */
	uint64_t lmtp_bytes_received_total;	/* message bytes after DATA */

	/* Store */
	uint64_t store_events_total;		/* "message landed" events */
	uint64_t store_syncs_total;		/* folder syncs by the watcher */
};

extern struct mb_stats mb_stats;

#endif
