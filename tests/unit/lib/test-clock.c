/* Unit tests for lib/clock.c: the monotonic clock and the simulated one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "lib/clock.h"

static void
test_monotonic(void **state)
{
	struct timespec pause = { 0, 3 * 1000 * 1000 };
	uint64_t ms, us, ms2, us2, c;
	int i;

	(void)state;
	ms = clock_now_ms();
	us = clock_now_us();
	/* Both read the same clock: us is ms scaled, give or take a tick
	 * and the time between the two reads. */
	assert_true(us / 1000 >= ms);
	assert_true(us / 1000 - ms < 1000);
	for (i = 0; i < 1000; i++) {
		ms2 = clock_now_ms();
		us2 = clock_now_us();
		assert_true(ms2 >= ms);
		assert_true(us2 >= us);
		ms = ms2;
		us = us2;
	}
	nanosleep(&pause, NULL);
	ms2 = clock_now_ms();
	us2 = clock_now_us();
	assert_true(ms2 - ms >= 3);
	assert_true(us2 - us >= 3000);
	/* The real struct clock is clock_now_ms(). */
	c = clock_ms(&clock_monotonic);
	assert_true(c >= ms2);
	assert_true(c - ms2 < 1000);
}

static void
test_sim(void **state)
{
	struct clock_sim sim, other;
	struct clock c;

	(void)state;
	clock_sim_init(&sim, 1000);
	c = clock_sim_clock(&sim);
	assert_int_equal(clock_ms(&c), 1000);
	/* It does not move by itself. */
	assert_int_equal(clock_ms(&c), 1000);
	clock_sim_advance(&sim, 0);
	assert_int_equal(clock_ms(&c), 1000);
	clock_sim_advance(&sim, 25000);
	assert_int_equal(clock_ms(&c), 26000);
	clock_sim_advance(&sim, 1);
	assert_int_equal(clock_ms(&c), 26001);
	/* Two simulated clocks are independent. */
	clock_sim_init(&other, 0);
	clock_sim_advance(&other, 5);
	assert_int_equal(clock_ms(&c), 26001);
	c = clock_sim_clock(&other);
	assert_int_equal(clock_ms(&c), 5);
}

static void
test_sim_large(void **state)
{
	struct clock_sim sim;
	struct clock c;

	(void)state;
	/* Schedules do arithmetic near the top of the range. */
	clock_sim_init(&sim, UINT64_MAX - 10);
	c = clock_sim_clock(&sim);
	assert_true(clock_ms(&c) == UINT64_MAX - 10);
	clock_sim_advance(&sim, 10);
	assert_true(clock_ms(&c) == UINT64_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_monotonic),
		cmocka_unit_test(test_sim),
		cmocka_unit_test(test_sim_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
