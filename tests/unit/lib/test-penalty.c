/* Unit tests for lib/penalty.c: failed-login penalties on simulated time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "lib/penalty.h"

static struct clock_sim sim;
static struct clock clk;

static struct penalty_table *
table_new(size_t max_entries)
{
	struct penalty_params p;

	penalty_params_default(&p);
	p.base_ms = 1000;
	p.max_ms = 15000;
	p.decay_ms = 30000;
	p.net_share = 4;
	p.max_entries = max_entries;
	clock_sim_init(&sim, 1000000);
	clk = clock_sim_clock(&sim);
	return penalty_new(&clk, &p);
}

/* The delay doubles with each failure and stops at the cap. */
static void
test_doubling(void **state)
{
	struct penalty_table *t = table_new(100);

	(void)state;
	assert_int_equal(penalty_delay(t, "192.0.2.1"), 1000);
	assert_int_equal(penalty_hold(t, "192.0.2.1"), 0);
	assert_int_equal(penalty_failed(t, "192.0.2.1"), 1000);
	assert_int_equal(penalty_hold(t, "192.0.2.1"), 2000);
	assert_int_equal(penalty_failed(t, "192.0.2.1"), 2000);
	assert_int_equal(penalty_failed(t, "192.0.2.1"), 4000);
	assert_int_equal(penalty_failed(t, "192.0.2.1"), 8000);
	assert_int_equal(penalty_failed(t, "192.0.2.1"), 15000);
	assert_int_equal(penalty_failed(t, "192.0.2.1"), 15000);
	assert_int_equal(penalty_delay(t, "192.0.2.1"), 15000);
	penalty_free(&t);
	assert_null(t);
}

/* Quiet time forgets one failure per decay period. */
static void
test_decay(void **state)
{
	struct penalty_table *t = table_new(100);
	int i;

	(void)state;
	for (i = 0; i < 4; i++)
		(void)penalty_failed(t, "192.0.2.1");
	assert_int_equal(penalty_delay(t, "192.0.2.1"), 15000);
	clock_sim_advance(&sim, 29999);
	assert_int_equal(penalty_delay(t, "192.0.2.1"), 15000);
	clock_sim_advance(&sim, 1);
	assert_int_equal(penalty_delay(t, "192.0.2.1"), 8000);
	clock_sim_advance(&sim, 60000);
	assert_int_equal(penalty_delay(t, "192.0.2.1"), 2000);
	clock_sim_advance(&sim, 10 * 60000);
	assert_int_equal(penalty_delay(t, "192.0.2.1"), 1000);
	assert_int_equal(penalty_hold(t, "192.0.2.1"), 0);
	/* and a new failure starts from the bottom again */
	assert_int_equal(penalty_failed(t, "192.0.2.1"), 1000);
	penalty_free(&t);
}

/* Failures of one address reach its /24 at a quarter of the weight,
 * and nothing outside it. */
static void
test_network(void **state)
{
	struct penalty_table *t = table_new(100);
	int i;

	(void)state;
	for (i = 0; i < 8; i++)
		(void)penalty_failed(t, "192.0.2.1");
	/* 8 failures in the /24 count as 2 for a neighbour */
	assert_int_equal(penalty_delay(t, "192.0.2.77"), 4000);
	assert_int_equal(penalty_hold(t, "192.0.2.77"), 4000);
	assert_int_equal(penalty_hold(t, "192.0.3.1"), 0);
	assert_int_equal(penalty_delay(t, "192.0.3.1"), 1000);
	assert_int_equal(penalty_delay(t, "10.0.2.1"), 1000);
	/* spreading over the /24 does not escape it */
	for (i = 0; i < 40; i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "198.51.100.%d", i);
		(void)penalty_failed(t, ip);
	}
	assert_int_equal(penalty_delay(t, "198.51.100.200"), 15000);
	assert_int_equal(penalty_delay(t, "198.51.101.200"), 1000);
	penalty_free(&t);
}

/* IPv6 networks are /64; a mapped IPv4 address is the IPv4 one. */
static void
test_ipv6(void **state)
{
	struct penalty_table *t = table_new(100);
	int i;

	(void)state;
	for (i = 0; i < 8; i++)
		(void)penalty_failed(t, "2001:db8:1:2::1");
	assert_int_equal(penalty_delay(t, "2001:db8:1:2::1"), 15000);
	assert_int_equal(penalty_delay(t, "2001:db8:1:2:ffff::9"), 4000);
	assert_int_equal(penalty_delay(t, "2001:db8:1:3::1"), 1000);
	(void)penalty_failed(t, "::ffff:192.0.2.9");
	assert_int_equal(penalty_delay(t, "192.0.2.9"), 2000);
	/* a zone is not part of the address */
	(void)penalty_failed(t, "fe80::1%eth0");
	assert_int_equal(penalty_delay(t, "fe80::1%eth1"), 2000);
	/* a Unix socket peer or garbage is not counted */
	assert_int_equal(penalty_failed(t, "unix"), 1000);
	assert_int_equal(penalty_failed(t, "unix"), 1000);
	penalty_free(&t);
}

/* A success forgets the address, not its network. */
static void
test_success(void **state)
{
	struct penalty_table *t = table_new(100);
	int i;

	(void)state;
	for (i = 0; i < 12; i++)
		(void)penalty_failed(t, "192.0.2.1");
	penalty_succeeded(t, "192.0.2.1");
	/* the /24's 12 failures still count 3 */
	assert_int_equal(penalty_delay(t, "192.0.2.1"), 8000);
	penalty_succeeded(t, "203.0.113.5");	/* unknown: no-op */
	penalty_free(&t);
}

/* The table never holds more than max_entries; the entries failed
 * least recently go first. */
static void
test_bounded(void **state)
{
	struct penalty_table *t = table_new(64);
	char ip[32];
	int i;

	(void)state;
	for (i = 0; i < 3; i++)
		(void)penalty_failed(t, "192.0.2.1");
	for (i = 0; i < 1000; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.1", i / 256, i % 256);
		(void)penalty_failed(t, ip);
		assert_true(penalty_count(t) <= 64);
		/* refreshing the guesser keeps it in the table */
		if (i % 8 == 0) {
			clock_sim_advance(&sim, 1);
			(void)penalty_failed(t, "192.0.2.1");
		}
	}
	assert_int_equal(penalty_count(t), 64);
	assert_int_equal(penalty_delay(t, "192.0.2.1"), 15000);
	/* an early one was forgotten */
	assert_int_equal(penalty_delay(t, "10.0.0.1"), 1000);
	penalty_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doubling),
		cmocka_unit_test(test_decay),
		cmocka_unit_test(test_network),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_success),
		cmocka_unit_test(test_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
