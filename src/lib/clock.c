/*
 * The monotonic clock (CLOCK_MONOTONIC, which NTP slews but never steps)
 * in milliseconds and microseconds, and the simulated clock that tests
 * pass where code takes a struct clock.
 */
#include "lib/clock.h"

#include <time.h>

#include "lib/log.h"

static struct timespec
monotonic(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		fatal("clock_gettime");
	return ts;
}

uint64_t
clock_now_ms(void)
{
	struct timespec ts = monotonic();

	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
clock_now_us(void)
{
	struct timespec ts = monotonic();

	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t
clock_unix_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t
monotonic_now_cb(void *ctx)
{
	(void)ctx;
	return clock_now_ms();
}

const struct clock clock_monotonic = { monotonic_now_cb, NULL };

void
clock_sim_init(struct clock_sim *sim, uint64_t start_ms)
{
	atomic_init(&sim->now_ms, start_ms);
}

void
clock_sim_advance(struct clock_sim *sim, uint64_t ms)
{
	atomic_fetch_add(&sim->now_ms, ms);
}

static uint64_t
sim_now_cb(void *ctx)
{
	struct clock_sim *sim = ctx;

	return atomic_load(&sim->now_ms);
}

struct clock
clock_sim_clock(struct clock_sim *sim)
{
	struct clock c = { sim_now_cb, sim };

	return c;
}
