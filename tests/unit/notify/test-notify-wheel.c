/*
 * Unit tests for notify-wheel.c: the resend schedule (1, 2, 4 and 8 s,
 * each up to 25% later) and the timer wheel, with time passed in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "notify/notify-wheel.h"

static void
test_resend_waits(void **state)
{
	static const uint32_t base[] = { 1000, 2000, 4000, 8000 };
	unsigned sends;

	(void)state;
	assert_int_equal(NOTIFY_EVENT_SENDS, 5);
	for (sends = 1; sends < NOTIFY_EVENT_SENDS; sends++) {
		uint32_t b = base[sends - 1], span;

		span = notify_resend_jitter_span(sends);
		assert_int_equal(span, b / 4 + 1);
		/* never early, at most 25% late */
		assert_int_equal(notify_resend_wait_ms(sends, 0), b);
		assert_int_equal(notify_resend_wait_ms(sends, span - 1),
		    b + b / 4);
		assert_int_equal(notify_resend_wait_ms(sends, span), b);
		assert_int_equal(notify_resend_wait_ms(sends, UINT32_MAX),
		    b + UINT32_MAX % span);
	}
}

struct fired {
	struct notify_wheel_entry *e[8];
	size_t n;
};

static void
fired_cb(struct notify_wheel_entry *e, void *ctx)
{
	struct fired *f = ctx;

	assert_false(e->in_wheel);
	assert_true(f->n < 8);
	f->e[f->n++] = e;
}

static void
test_wheel_due_rounded_up(void **state)
{
	struct notify_wheel w = { 0 };
	struct notify_wheel_entry a = { 0 }, b = { 0 };
	struct fired f = { 0 };

	(void)state;
	notify_wheel_add(&w, &a, 101000, 100000);
	notify_wheel_add(&w, &b, 101001, 100000);
	assert_int_equal(w.count, 2);
	notify_wheel_advance(&w, 100999, SIZE_MAX, fired_cb, &f);
	assert_int_equal(f.n, 0);
	notify_wheel_advance(&w, 101000, SIZE_MAX, fired_cb, &f);
	assert_int_equal(f.n, 1);
	assert_ptr_equal(f.e[0], &a);
	/* 101001 waits for the next tick, 101050 */
	notify_wheel_advance(&w, 101049, SIZE_MAX, fired_cb, &f);
	assert_int_equal(f.n, 1);
	notify_wheel_advance(&w, 101050, SIZE_MAX, fired_cb, &f);
	assert_int_equal(f.n, 2);
	assert_ptr_equal(f.e[1], &b);
	assert_int_equal(w.count, 0);
}

static void
test_wheel_past_due_next_tick(void **state)
{
	struct notify_wheel w = { 0 };
	struct notify_wheel_entry a = { 0 };
	struct fired f = { 0 };

	(void)state;
	/* due already: the tick after now, never now's own */
	notify_wheel_add(&w, &a, 5000, 10000);
	notify_wheel_advance(&w, 10000, SIZE_MAX, fired_cb, &f);
	assert_int_equal(f.n, 0);
	notify_wheel_advance(&w, 10050, SIZE_MAX, fired_cb, &f);
	assert_int_equal(f.n, 1);
}

static void
test_wheel_remove(void **state)
{
	struct notify_wheel w = { 0 };
	struct notify_wheel_entry a = { 0 }, b = { 0 }, c = { 0 };
	struct fired f = { 0 };

	(void)state;
	notify_wheel_add(&w, &a, 1000, 0);
	notify_wheel_add(&w, &b, 1000, 0);
	notify_wheel_add(&w, &c, 1000, 0);
	notify_wheel_remove(&w, &b);
	notify_wheel_remove(&w, &b);	/* not in it: nothing */
	assert_int_equal(w.count, 2);
	notify_wheel_advance(&w, 2000, SIZE_MAX, fired_cb, &f);
	assert_int_equal(f.n, 2);
	assert_true((f.e[0] == &a && f.e[1] == &c) ||
	    (f.e[0] == &c && f.e[1] == &a));
	assert_false(b.in_wheel);
}

/* A stall longer than the wheel (25.6 s) visits every slot once. */
static void
test_wheel_stall(void **state)
{
	struct notify_wheel w = { 0 };
	struct notify_wheel_entry e[3] = { { 0 } };
	struct fired f = { 0 };

	(void)state;
	notify_wheel_add(&w, &e[0], 1000, 0);
	notify_wheel_add(&w, &e[1], 9000, 0);
	notify_wheel_add(&w, &e[2], 10050, 0);
	notify_wheel_advance(&w, 60000, SIZE_MAX, fired_cb, &f);
	assert_int_equal(f.n, 3);
	assert_int_equal(w.count, 0);
}

/* With a budget, many entries due at once are handed out in slices:
 * each call stops at the budget and says so, the next goes on where it
 * stopped (also across ticks and after a stall), and an entry is never
 * handed out before it is due nor twice. */
static void
test_wheel_budget_slices(void **state)
{
	struct notify_wheel w = { 0 };
	struct notify_wheel_entry e[7] = { { 0 } };
	struct fired f = { 0 };
	size_t i;

	(void)state;
	for (i = 0; i < 5; i++)
		notify_wheel_add(&w, &e[i], 1000, 0);
	notify_wheel_add(&w, &e[5], 1050, 0);
	notify_wheel_add(&w, &e[6], 5000, 0);
	assert_true(notify_wheel_advance(&w, 1000, 2, fired_cb, &f));
	assert_int_equal(f.n, 2);
	assert_true(notify_wheel_advance(&w, 1000, 2, fired_cb, &f));
	assert_int_equal(f.n, 4);
	/* The last of the five fits: nothing left due, though the budget
	 * is used up. */
	assert_false(notify_wheel_advance(&w, 1000, 1, fired_cb, &f));
	assert_int_equal(f.n, 5);
	assert_false(notify_wheel_advance(&w, 1000, 2, fired_cb, &f));
	assert_int_equal(f.n, 5);
	/* A later now: the next tick's entry; e[6] is not due. */
	assert_false(notify_wheel_advance(&w, 1100, 2, fired_cb, &f));
	assert_int_equal(f.n, 6);
	assert_true(e[6].in_wheel);
	for (i = 0; i < 6; i++) {
		assert_false(e[i].in_wheel);
		for (size_t j = 0; j < i; j++)
			assert_ptr_not_equal(f.e[i], f.e[j]);
	}
	/* Stopped in the middle of a stall: the next call still finds
	 * what is due in slots the first one did not reach. */
	f.n = 0;
	for (i = 0; i < 6; i++)
		notify_wheel_add(&w, &e[i], 2000 + 3000 * i, 1100);
	assert_true(notify_wheel_advance(&w, 60000, 3, fired_cb, &f));
	assert_int_equal(f.n, 3);
	assert_false(notify_wheel_advance(&w, 60000, 8, fired_cb, &f));
	assert_int_equal(f.n, 7);
	assert_int_equal(w.count, 0);
}

/* What the callback adds lands after now. */
struct readd {
	struct notify_wheel *w;
	uint64_t now;
	size_t calls;
};

static void
readd_cb(struct notify_wheel_entry *e, void *ctx)
{
	struct readd *r = ctx;

	r->calls++;
	notify_wheel_add(r->w, e, r->now, r->now);
}

static void
test_wheel_readd_in_callback(void **state)
{
	struct notify_wheel w = { 0 };
	struct notify_wheel_entry a = { 0 };
	struct readd r = { &w, 1000, 0 };

	(void)state;
	notify_wheel_add(&w, &a, 1000, 0);
	notify_wheel_advance(&w, 1000, SIZE_MAX, readd_cb, &r);
	assert_int_equal(r.calls, 1);
	assert_true(a.in_wheel);
	r.now = 1050;
	notify_wheel_advance(&w, 1050, SIZE_MAX, readd_cb, &r);
	assert_int_equal(r.calls, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resend_waits),
		cmocka_unit_test(test_wheel_due_rounded_up),
		cmocka_unit_test(test_wheel_past_due_next_tick),
		cmocka_unit_test(test_wheel_remove),
		cmocka_unit_test(test_wheel_stall),
		cmocka_unit_test(test_wheel_budget_slices),
		cmocka_unit_test(test_wheel_readd_in_callback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
