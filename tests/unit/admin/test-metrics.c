/* Unit tests for admin/metrics.c: the Prometheus text of every metric. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "admin/metrics.h"
#include "lib/buf.h"
#include "lib/stats.h"

static const struct metrics_extra extra = {
	.version = "0.1.0",
	.uptime_seconds = 12.5,
	.queue_pending = 7,
};

/* Occurrences of needle in haystack. */
static size_t
count(const char *haystack, const char *needle)
{
	size_t n = 0;

	for (; (haystack = strstr(haystack, needle)) != NULL; haystack++)
		n++;
	return n;
}

/* Every family has HELP and TYPE once, every table entry a sample with
 * its labels and current value. */
static void
test_every_metric(void **state)
{
	char line[256];
	struct buf b;
	size_t i, j;

	(void)state;
	memset(&mb_stats, 0, sizeof(mb_stats));
	mb_stats.lmtp_deliveries_total = 42;
	mb_stats.store_events_total = 18446744073709551615ULL;
	buf_init(&b, 0);
	assert_int_equal(metrics_render(&b, &extra), 0);
	for (i = 0; i < metrics_table_len; i++) {
		const struct metric *m = &metrics_table[i];

		assert_true(strncmp(m->name, "mailbell_", 9) == 0);
		snprintf(line, sizeof(line), "# HELP %s ", m->name);
		assert_int_equal(count(buf_cstr(&b), line), 1);
		snprintf(line, sizeof(line), "# TYPE %s %s\n", m->name,
		    metrics_type_name(m->type));
		assert_int_equal(count(buf_cstr(&b), line), 1);
		snprintf(line, sizeof(line), "\n%s%s%s%s %llu\n", m->name,
		    m->labels != NULL ? "{" : "",
		    m->labels != NULL ? m->labels : "",
		    m->labels != NULL ? "}" : "",
		    (unsigned long long)*m->value);
		assert_int_equal(count(buf_cstr(&b), line), 1);
		/* a family's series are together, of one type and help */
		for (j = i + 2; j < metrics_table_len; j++)
			if (strcmp(metrics_table[j].name, m->name) == 0) {
				assert_string_equal(metrics_table[j - 1].name,
				    m->name);
				assert_int_equal(metrics_table[j].type,
				    m->type);
			}
		/* Prometheus names counters *_total */
		if (m->type == METRIC_COUNTER)
			assert_string_equal(m->name + strlen(m->name) - 6,
			    "_total");
		assert_null(strchr(m->help, '\n'));
		assert_null(strchr(m->help, '\\'));
	}
	assert_non_null(strstr(buf_cstr(&b),
	    "\nmailbell_lmtp_recipients_total{result=\"delivered\"} 42\n"));
	assert_non_null(strstr(buf_cstr(&b),
	    "\nmailbell_store_events_total 18446744073709551615\n"));
	assert_non_null(strstr(buf_cstr(&b),
	    "\nmailbell_delivery_queue_pending 7\n"));
	assert_non_null(strstr(buf_cstr(&b),
	    "\nmailbell_uptime_seconds 12.500\n"));
	assert_non_null(strstr(buf_cstr(&b),
	    "\nmailbell_build_info{version=\"0.1.0\"} 1\n"));
	/* the text ends with a newline, as the format requires */
	assert_int_equal(b.data[b.len - 1], '\n');
	buf_free(&b);
}

static void
test_process(void **state)
{
	struct metrics_extra x = extra;
	struct buf b;

	(void)state;
	assert_int_equal(metrics_process(&x), 0);
	assert_true(x.resident_bytes > 0);
	assert_true(x.virtual_bytes >= x.resident_bytes);
	assert_true(x.open_fds >= 3);	/* stdin, stdout, stderr */
	assert_true(x.max_fds >= x.open_fds);
	assert_true(x.start_time_seconds > 1.6e9);
	buf_init(&b, 0);
	assert_int_equal(metrics_render(&b, &x), 0);
	assert_non_null(strstr(buf_cstr(&b),
	    "# TYPE process_cpu_seconds_total counter\n"));
	assert_non_null(strstr(buf_cstr(&b), "\nprocess_open_fds "));
	buf_free(&b);
}

/* Observations land in the first bucket whose bound holds them, and
 * the text's buckets are cumulative, ending with +Inf = count. */
static void
test_histogram(void **state)
{
	struct stats_histogram *h = &mb_stats.lmtp_delivery_seconds;
	struct buf b;

	(void)state;
	memset(h, 0, sizeof(*h));
	stats_observe(h, 0.0001);	/* on the first bound: in it */
	stats_observe(h, -1);		/* a clock step: counted as 0 */
	stats_observe(h, 0.003);	/* (0.0025, 0.005] */
	stats_observe(h, 60);		/* past 10 s: +Inf only */
	assert_int_equal(h->counts[0], 2);
	assert_int_equal(h->counts[5], 1);
	assert_int_equal(h->count, 4);
	buf_init(&b, 0);
	assert_int_equal(metrics_render(&b, &extra), 0);
	assert_non_null(strstr(buf_cstr(&b),
	    "# TYPE mailbell_lmtp_delivery_seconds histogram\n"
	    "mailbell_lmtp_delivery_seconds_bucket{le=\"0.0001\"} 2\n"
	    "mailbell_lmtp_delivery_seconds_bucket{le=\"0.00025\"} 2\n"));
	assert_non_null(strstr(buf_cstr(&b),
	    "_bucket{le=\"0.0025\"} 2\n"
	    "mailbell_lmtp_delivery_seconds_bucket{le=\"0.005\"} 3\n"));
	assert_non_null(strstr(buf_cstr(&b),
	    "_bucket{le=\"10\"} 3\n"
	    "mailbell_lmtp_delivery_seconds_bucket{le=\"+Inf\"} 4\n"
	    "mailbell_lmtp_delivery_seconds_sum 60.003100\n"
	    "mailbell_lmtp_delivery_seconds_count 4\n"));
	buf_free(&b);
	memset(h, 0, sizeof(*h));
}

/* A labelled family writes the series observed, each with its label
 * before le and on _sum and _count. */
static void
test_histogram_series(void **state)
{
	struct stats_histogram_vec *v = &mb_stats.imap_command_seconds;
	struct buf b;

	(void)state;
	memset(v, 0, sizeof(*v));
	stats_observe_series(v, 3, "UID FETCH", 0.002);
	stats_observe_series(v, STATS_SERIES_MAX, "NONE", 1); /* ignored */
	buf_init(&b, 0);
	assert_int_equal(metrics_render(&b, &extra), 0);
	assert_non_null(strstr(buf_cstr(&b),
	    "mailbell_imap_command_seconds_bucket{command=\"UID FETCH\","
	    "le=\"0.001\"} 0\n"
	    "mailbell_imap_command_seconds_bucket{command=\"UID FETCH\","
	    "le=\"0.0025\"} 1\n"));
	assert_non_null(strstr(buf_cstr(&b),
	    "mailbell_imap_command_seconds_sum{command=\"UID FETCH\"} "
	    "0.002000\n"
	    "mailbell_imap_command_seconds_count{command=\"UID FETCH\"} 1\n"));
	assert_null(strstr(buf_cstr(&b), "NONE"));
	assert_int_equal(count(buf_cstr(&b), "command="), STATS_BUCKETS + 3);
	buf_free(&b);
	memset(v, 0, sizeof(*v));
}

static void
test_label_escaping(void **state)
{
	struct metrics_extra odd = extra;
	struct buf b;

	(void)state;
	odd.version = "1\"2\\3\n4";
	buf_init(&b, 0);
	assert_int_equal(metrics_render(&b, &odd), 0);
	assert_non_null(strstr(buf_cstr(&b),
	    "mailbell_build_info{version=\"1\\\"2\\\\3\\n4\"} 1\n"));
	buf_free(&b);
}

static void
test_too_small(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 100);
	assert_int_equal(metrics_render(&b, &extra), -1);
	assert_true(b.len <= 100);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_metric),
		cmocka_unit_test(test_process),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_histogram_series),
		cmocka_unit_test(test_label_escaping),
		cmocka_unit_test(test_too_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
