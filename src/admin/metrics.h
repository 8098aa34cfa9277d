/*
 * The metrics the admin port exports: one table of the process-wide
 * counters (lib/stats.h), rendered in the Prometheus text exposition
 * format as Prometheus's own exporters name things (one family per
 * thing counted, told apart by labels: service, result, reason), plus
 * the values that are not counters (uptime, queue depth, build, and
 * the standard process_* metrics). No libevent here, so a unit test
 * links it alone.
 */
#ifndef MB_ADMIN_METRICS_H
#define MB_ADMIN_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct stats_histogram;
struct stats_histogram_vec;

enum metric_type {
	METRIC_COUNTER,		/* only ever grows */
	METRIC_GAUGE,		/* goes up and down */
};

/* One exported value of struct mb_stats: one series of a family. */
struct metric {
	const char *name;	/* family: "mailbell_sessions_active" */
	const char *labels;	/* "service=\"imap\"", or NULL */
	const char *help;	/* the family's: one line, no backslash or
				   newline */
	enum metric_type type;
	const uint64_t *value;	/* the field of mb_stats */
};

/* One exported histogram of struct mb_stats, or a family of them. */
struct metric_histogram {
	const char *name;	/* "mailbell_lmtp_delivery_seconds" */
	const char *help;	/* as struct metric's */
	const struct stats_histogram *h;	/* or NULL, and: */
	const char *label;	/* the family's label name ("command") */
	const struct stats_histogram_vec *vec;	/* its series: those
						   observed are written */
};
extern const struct metric_histogram metrics_histograms[];
extern const size_t metrics_histograms_len;

/* Every exported mb_stats field, in display order; the series of one
 * family are next to each other (the family's HELP and TYPE are
 * written once, before the first). */
extern const struct metric metrics_table[];
extern const size_t metrics_table_len;

/* Values that do not live in mb_stats, gathered by the caller. */
struct metrics_extra {
	const char *version;		/* build version, e.g. "0.1.0" */
	double uptime_seconds;		/* since the daemon started */
	uint64_t queue_pending;		/* store_queue_pending() */
	/* The process (metrics_process() fills them from /proc). */
	double cpu_seconds;		/* user and system CPU */
	uint64_t resident_bytes;
	uint64_t virtual_bytes;
	uint64_t open_fds;
	uint64_t max_fds;		/* the soft RLIMIT_NOFILE */
	double start_time_seconds;	/* Unix time */
};

/* Fill extra's process fields for this process: 0, or -1 if /proc
 * cannot be read (the fields are then 0). Linux only. */
int metrics_process(struct metrics_extra *extra);

/* Name of a metric type as Prometheus spells it ("counter"). */
const char *metrics_type_name(enum metric_type type);

/*
 * Append every metric to out in the Prometheus text exposition format
 * (version 0.0.4): "# HELP" and "# TYPE" once a family, and one sample
 * line a series (a histogram: its cumulative buckets, sum and count),
 * including mailbell_uptime_seconds,
 * mailbell_delivery_queue_pending, mailbell_build_info{version="..."} 1
 * and the process_* metrics. Returns 0, or -1 if out's
 * maximum was reached (out then holds a truncated text).
 */
int metrics_render(struct buf *out, const struct metrics_extra *extra);

#endif
