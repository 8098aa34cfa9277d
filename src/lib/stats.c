/* The process-wide counters and the histograms' buckets. */
#include "lib/stats.h"

struct mb_stats mb_stats;

const double stats_bucket_bounds[STATS_BUCKETS] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

void
stats_observe(struct stats_histogram *h, double seconds)
{
	size_t i;

	if (!(seconds > 0))
		seconds = 0;
	for (i = 0; i < STATS_BUCKETS; i++)
		if (seconds <= stats_bucket_bounds[i]) {
			h->counts[i]++;
			break;
		}
	h->count++;
	h->sum += seconds;
}

void
stats_observe_series(struct stats_histogram_vec *v, size_t i,
    const char *value, double seconds)
{
	if (i >= STATS_SERIES_MAX)
		return;
	v->values[i] = value;
	stats_observe(&v->h[i], seconds);
}
