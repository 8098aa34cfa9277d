/*
 * The metrics the admin port exports: one table of the process-wide
 * counters (lib/stats.h), rendered in the Prometheus text exposition
 * format, plus the few values that are not counters (uptime, queue
 * depth, build). No libevent here, so a unit test links it alone.
 */
#ifndef MB_ADMIN_METRICS_H
#define MB_ADMIN_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct buf;

enum metric_type {
	METRIC_COUNTER,		/* only ever grows */
	METRIC_GAUGE,		/* goes up and down */
};

/* One exported value of struct mb_stats. */
struct metric {
	const char *name;	/* "mailbell_lmtp_deliveries_total" */
	const char *help;	/* one line, no backslash or newline */
	enum metric_type type;
	const uint64_t *value;	/* the field of mb_stats */
};

/* Every exported mb_stats field, in display order. */
extern const struct metric metrics_table[];
extern const size_t metrics_table_len;

/* Values that do not live in mb_stats, gathered by the caller. */
struct metrics_extra {
	const char *version;		/* build version, e.g. "0.1.0" */
	double uptime_seconds;		/* since the daemon started */
	uint64_t queue_pending;		/* store_queue_pending() */
};

/* Name of a metric type as Prometheus spells it ("counter"). */
const char *metrics_type_name(enum metric_type type);

/*
 * Append every metric to out in the Prometheus text exposition format
 * (version 0.0.4): "# HELP", "# TYPE" and one sample line each,
 * including mailbell_uptime_seconds, mailbell_delivery_queue_pending and
 * mailbell_build_info{version="..."} 1. Returns 0, or -1 if out's
 * maximum was reached (out then holds a truncated text).
 */
int metrics_render(struct buf *out, const struct metrics_extra *extra);

#endif
