/*
 * The monotonic clock, read directly or through a struct clock that code
 * with schedules takes from its caller, so tests can run it on simulated
 * time (a struct clock_sim) instead of waiting for real seconds to pass.
 */
#ifndef MB_LIB_CLOCK_H
#define MB_LIB_CLOCK_H

#include <stdatomic.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds and in microseconds, from an arbitrary
 * start (boot); never goes backwards. Only differences mean anything. */
uint64_t clock_now_ms(void);
uint64_t clock_now_us(void);
/* CLOCK_REALTIME in microseconds since the Unix epoch: for times that
 * another machine compares with its own (it may jump; only for
 * reports). */
uint64_t clock_unix_us(void);

/* A source of milliseconds; now_ms(ctx) must never go backwards. */
struct clock {
	uint64_t (*now_ms)(void *ctx);	/* the time now, in ms */
	void *ctx;			/* passed to now_ms */
};

/* The real clock: clock_now_ms(). */
extern const struct clock clock_monotonic;

/* The time now on c, in milliseconds. */
static inline uint64_t
clock_ms(const struct clock *c)
{
	return c->now_ms(c->ctx);
}

/*
 * A clock that only moves when told to. Reading it from another thread
 * while it is advanced is safe (the time is read and written atomically);
 * such a reader sees the time before or after the advance.
 */
struct clock_sim {
	_Atomic uint64_t now_ms;	/* the simulated time */
};

/* Start the simulated clock at start_ms. */
void clock_sim_init(struct clock_sim *sim, uint64_t start_ms);
/* Move the simulated clock ms milliseconds forward. */
void clock_sim_advance(struct clock_sim *sim, uint64_t ms);
/* A struct clock that reads sim; valid as long as sim is. */
struct clock clock_sim_clock(struct clock_sim *sim);

#endif
