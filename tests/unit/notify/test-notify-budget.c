/*
 * Unit tests for the datagram budgets per source endpoint and
 * registration: each source address and port has its own for each
 * registration, a flood from one never spends another's, a new second
 * refills it, and losing a slot only refills.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib/limits.h"
#include "notify/notify-budget.h"

#define ID 0x0102030405060708ULL

/* 127.0.0.1 (or 127.0.0.2) at port, observed-address encoding. */
static void
endpoint(unsigned char addr[NOTIFY_ADDR_LEN], uint8_t host, uint16_t port)
{
	memset(addr, 0, NOTIFY_ADDR_LEN);
	addr[0] = 4;
	addr[2] = (unsigned char)(port >> 8);
	addr[3] = (unsigned char)port;
	addr[4] = 127;
	addr[7] = host;
}

static void
test_each_endpoint_its_own(void **state)
{
	struct notify_budget *b = notify_budget_new(NOTIFY_ENDPOINT_SLOTS,
	    NOTIFY_ENDPOINT_RATE_PER_SEC, 42);
	unsigned char flood[NOTIFY_ADDR_LEN], client[NOTIFY_ADDR_LEN];
	unsigned i, taken = 0;

	(void)state;
	endpoint(flood, 2, 40000);
	endpoint(client, 1, 40000);
	for (i = 0; i < 10000; i++)
		taken += notify_budget_take(b, flood, ID, 100);
	assert_int_equal(taken, NOTIFY_ENDPOINT_RATE_PER_SEC);
	/* the same address at another port is another endpoint */
	endpoint(flood, 2, 40001);
	assert_true(notify_budget_take(b, flood, ID, 100));
	/* the client's budget is untouched */
	for (i = 0; i < NOTIFY_ENDPOINT_RATE_PER_SEC; i++)
		assert_true(notify_budget_take(b, client, ID, 100));
	assert_false(notify_budget_take(b, client, ID, 100));
	/* the next second refills it */
	assert_true(notify_budget_take(b, client, ID, 101));
	/* another registration on the same socket has a budget of its own */
	for (i = 0; i < NOTIFY_ENDPOINT_RATE_PER_SEC; i++)
		assert_true(notify_budget_take(b, flood, ID + 1, 100));
	assert_false(notify_budget_take(b, flood, ID + 1, 100));
	notify_budget_free(&b);
	assert_null(b);
}

/* With one slot every endpoint shares it: whoever takes it over starts
 * with a full budget, so eviction never costs a sender its budget. */
static void
test_eviction_refills(void **state)
{
	struct notify_budget *b = notify_budget_new(1, 2, 0);
	unsigned char a[NOTIFY_ADDR_LEN], c[NOTIFY_ADDR_LEN];

	(void)state;
	assert_null(notify_budget_new(3, 2, 0));
	endpoint(a, 1, 1);
	endpoint(c, 1, 2);
	assert_true(notify_budget_take(b, a, ID, 5));
	assert_true(notify_budget_take(b, a, ID, 5));
	assert_false(notify_budget_take(b, a, ID, 5));
	assert_true(notify_budget_take(b, c, ID, 5));
	assert_true(notify_budget_take(b, a, ID, 5));
	notify_budget_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_endpoint_its_own),
		cmocka_unit_test(test_eviction_refills),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
