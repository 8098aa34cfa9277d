/* Unit tests for daemon/listen.c: binding, port 0, and clear failures.
 * Only loopback addresses are bound. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/listen.h"

static void
test_port_zero(void **state)
{
	const char *addrs[] = { "127.0.0.1" };
	struct listen_socket *socks;
	const char *where, *reason;
	char expect[LISTEN_WHERE_MAX];
	size_t count;
	int flags;

	(void)state;
	assert_int_equal(listen_tcp(addrs, 1, 0, false, &socks, &count,
	    &where, &reason), 0);
	assert_int_equal(count, 1);
	assert_true(socks[0].fd >= 0);
	assert_int_not_equal(socks[0].port, 0);
	snprintf(expect, sizeof(expect), "127.0.0.1:%u",
	    (unsigned)socks[0].port);
	assert_string_equal(socks[0].where, expect);
	flags = fcntl(socks[0].fd, F_GETFL);
	assert_true(flags & O_NONBLOCK);
	assert_true(fcntl(socks[0].fd, F_GETFD) & FD_CLOEXEC);
	listen_close_all(&socks, count);
	assert_null(socks);
}

/* With IPv6 optional, ::1 is either bound on the same port or skipped. */
static void
test_two_addresses_one_port(void **state)
{
	const char *addrs[] = { "127.0.0.1", "[::1]" };
	struct listen_socket *socks;
	const char *where, *reason;
	char expect[LISTEN_WHERE_MAX];
	size_t count;

	(void)state;
	assert_int_equal(listen_tcp(addrs, 2, 0, true, &socks, &count,
	    &where, &reason), 0);
	assert_true(count == 1 || count == 2);
	if (count == 2) {
		assert_int_equal(socks[0].port, socks[1].port);
		snprintf(expect, sizeof(expect), "[::1]:%u",
		    (unsigned)socks[1].port);
		assert_string_equal(socks[1].where, expect);
	}
	listen_close_all(&socks, count);
}

static void
test_in_use(void **state)
{
	const char *addrs[] = { "127.0.0.1" };
	struct listen_socket *socks, *again;
	const char *where, *reason;
	char expect[LISTEN_WHERE_MAX];
	size_t count, count2;

	(void)state;
	assert_int_equal(listen_tcp(addrs, 1, 0, false, &socks, &count,
	    &where, &reason), 0);
	assert_int_equal(listen_tcp(addrs, 1, socks[0].port, false, &again,
	    &count2, &where, &reason), -1);
	snprintf(expect, sizeof(expect), "127.0.0.1:%u",
	    (unsigned)socks[0].port);
	assert_string_equal(where, expect);
	assert_string_equal(reason, strerror(EADDRINUSE));
	listen_close_all(&socks, count);
}

static void
test_bad_address(void **state)
{
	const char *addrs[] = { "127.0.0.1", "not an address" };
	struct listen_socket *socks;
	const char *where, *reason;
	size_t count;

	(void)state;
	assert_int_equal(listen_tcp(addrs, 2, 0, false, &socks, &count,
	    &where, &reason), -1);
	assert_non_null(strstr(where, "not an address"));
	assert_true(reason[0] != '\0');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_port_zero),
		cmocka_unit_test(test_two_addresses_one_port),
		cmocka_unit_test(test_in_use),
		cmocka_unit_test(test_bad_address),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
