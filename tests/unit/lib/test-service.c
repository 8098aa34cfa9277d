/* Tests of a service's session list and its drained callback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <event2/event.h>

#include "lib/limits.h"
#include "lib/service.h"

struct session {
	int id;
	struct service_link link;
};

static void
drained_cb(void *ctx)
{
	int *calls = ctx;

	(*calls)++;
}

static struct service *stopping;
static int stopped;

/* Stops a session by removing it, as a session freed at once does. */
static void
stop_cb(struct service_link *l)
{
	stopped = stopped * 10 + SERVICE_SESSION(l, struct session, link)->id;
	if (SERVICE_SESSION(l, struct session, link)->id != 2)
		service_remove(stopping, l);
}

static int killed;

/* A session told the grace has passed goes at once. */
static void
kill_cb(struct service_link *l)
{
	killed = killed * 10 + SERVICE_SESSION(l, struct session, link)->id;
	service_remove(stopping, l);
}

static int
ids(const struct service *svc)
{
	int n = 0;

	for (const struct service_link *l = svc->sessions; l != NULL;
	    l = l->next)
		n = n * 10 + SERVICE_SESSION(l, struct session, link)->id;
	return n;
}

static void
test_list(void **state)
{
	struct event_base *base = event_base_new();
	struct session s[3] = { { .id = 1 }, { .id = 2 }, { .id = 3 } };
	struct service svc;

	(void)state;
	service_init(&svc, base, "test", NULL, NULL);
	for (int i = 0; i < 3; i++)
		service_add(&svc, &s[i].link);
	/* Newest first. */
	assert_int_equal(ids(&svc), 321);
	assert_int_equal(svc.session_count, 3);
	service_remove(&svc, &s[1].link);
	assert_int_equal(ids(&svc), 31);
	assert_null(s[1].link.prev);
	assert_null(s[1].link.next);
	service_remove(&svc, &s[2].link);
	assert_int_equal(ids(&svc), 1);
	service_remove(&svc, &s[0].link);
	assert_null(svc.sessions);
	assert_int_equal(svc.session_count, 0);
	service_deinit(&svc);
	event_base_free(base);
}

static void
test_drained_once_from_loop(void **state)
{
	struct event_base *base = event_base_new();
	struct session a = { .id = 1 }, b = { .id = 2 }, c = { .id = 3 };
	struct service svc;
	int calls = 0;

	(void)state;
	service_init(&svc, base, "test", NULL, NULL);
	service_add(&svc, &a.link);
	service_add(&svc, &b.link);
	/* Not shutting down: the last session leaving reports nothing. */
	service_remove(&svc, &a.link);
	service_remove(&svc, &b.link);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(calls, 0);

	/* Each session is told; those that stay keep the callback back. */
	service_add(&svc, &c.link);
	service_add(&svc, &b.link);
	service_add(&svc, &a.link);
	stopping = &svc;
	stopped = 0;
	service_shutdown(&svc, stop_cb, kill_cb, drained_cb, &calls);
	assert_true(svc.shutting_down);
	assert_int_equal(stopped, 123);
	assert_int_equal(ids(&svc), 2);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(calls, 0);
	/* The last session goes: the callback runs from the loop, once. */
	service_remove(&svc, &b.link);
	assert_int_equal(calls, 0);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(calls, 1);
	service_check_drained(&svc);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(calls, 1);
	service_deinit(&svc);
	event_base_free(base);
}

/* Sessions still open when the grace has passed are killed, from the
 * loop, and the drained callback follows. */
static void
test_grace_kills_what_is_left(void **state)
{
	struct event_base *base = event_base_new();
	struct session a = { .id = 1 }, b = { .id = 2 }, c = { .id = 3 };
	struct service svc;
	int calls = 0;

	(void)state;
	service_init(&svc, base, "test", NULL, NULL);
	assert_int_equal(svc.grace_ms, SERVICE_SHUTDOWN_GRACE_SECS * 1000);
	svc.grace_ms = 20;
	service_add(&svc, &c.link);
	service_add(&svc, &b.link);
	service_add(&svc, &a.link);
	stopping = &svc;
	stopped = killed = 0;
	service_shutdown(&svc, stop_cb, kill_cb, drained_cb, &calls);
	assert_int_equal(ids(&svc), 2);
	assert_false(svc.shutdown_expired);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(killed, 0);
	event_base_dispatch(base);	/* the timer, then the drained event */
	assert_true(svc.shutdown_expired);
	assert_int_equal(killed, 2);
	assert_null(svc.sessions);
	assert_int_equal(calls, 1);
	service_deinit(&svc);
	event_base_free(base);
}

static void
test_deinit_forgets_callback(void **state)
{
	struct event_base *base = event_base_new();
	struct session a = { .id = 1 }, b = { .id = 2 };
	struct service svc;
	int calls = 0;

	(void)state;
	service_init(&svc, base, "test", NULL, NULL);
	service_add(&svc, &a.link);
	stopping = &svc;
	stopped = 0;
	service_add(&svc, &b.link);
	service_shutdown(&svc, stop_cb, kill_cb, drained_cb, &calls);
	assert_int_equal(stopped, 21);
	assert_int_equal(ids(&svc), 2);
	service_deinit(&svc);
	/* Sessions freed after the service stopped report nothing. */
	service_remove(&svc, &b.link);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(calls, 0);
	event_base_free(base);
}

/* Counting by address, and the yield list in the order sessions became
 * yieldable; removing a session takes it off both lists. */
static void
test_admission(void **state)
{
	struct event_base *base = event_base_new();
	struct session s[4] = { { .id = 1 }, { .id = 2 }, { .id = 3 },
	    { .id = 4 } };
	const char *ips[4] = { "192.0.2.1", "192.0.2.2", "192.0.2.1", NULL };
	struct service svc;
	size_t y;

	(void)state;
	service_init(&svc, base, "test", NULL, NULL);
	for (int i = 0; i < 4; i++) {
		s[i].link.ip = ips[i];
		service_add(&svc, &s[i].link);
	}
	assert_null(service_oldest_yieldable(&svc));
	assert_int_equal(service_count_ip(&svc, "192.0.2.1", &y), 2);
	assert_int_equal(y, 0);
	service_set_yieldable(&svc, &s[2].link, true);
	service_set_yieldable(&svc, &s[0].link, true);
	service_set_yieldable(&svc, &s[1].link, true);
	service_set_yieldable(&svc, &s[2].link, true);	/* keeps its place */
	assert_int_equal(svc.yield_count, 3);
	assert_ptr_equal(service_oldest_yieldable(&svc), &s[2].link);
	assert_int_equal(service_count_ip(&svc, "192.0.2.1", &y), 2);
	assert_int_equal(y, 2);
	assert_int_equal(service_count_ip(&svc, "192.0.2.9", NULL), 0);
	/* back in: the newest */
	service_set_yieldable(&svc, &s[2].link, false);
	assert_ptr_equal(service_oldest_yieldable(&svc), &s[0].link);
	service_set_yieldable(&svc, &s[2].link, true);
	service_remove(&svc, &s[0].link);
	assert_ptr_equal(service_oldest_yieldable(&svc), &s[1].link);
	assert_int_equal(svc.yield_count, 2);
	service_remove(&svc, &s[1].link);
	service_remove(&svc, &s[2].link);
	assert_null(service_oldest_yieldable(&svc));
	assert_int_equal(svc.yield_count, 0);
	assert_int_equal(svc.session_count, 1);
	service_remove(&svc, &s[3].link);
	service_deinit(&svc);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_drained_once_from_loop),
		cmocka_unit_test(test_grace_kills_what_is_left),
		cmocka_unit_test(test_deinit_forgets_callback),
		cmocka_unit_test(test_admission),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
