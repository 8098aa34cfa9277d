/* Unit tests for lib/log.c: the ring of recent warnings and errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/log.h"

/* Only warnings and worse are kept, the newest LOG_RECENT_MAX, oldest
 * first; information and debugging lines are not. */
static void
test_recent(void **state)
{
	struct log_recent got[LOG_RECENT_MAX + 4];
	char want[32];
	size_t n, i;
	time_t t0 = time(NULL);

	(void)state;
	log_init("test-log", true);
	assert_int_equal(log_recent(got, LOG_RECENT_MAX), 0);
	for (i = 0; i < LOG_RECENT_MAX + 4; i++) {
		log_warnx("warning %zu", i);
		log_info("information %zu", i);
		log_debug("debugging %zu", i);
	}
	n = log_recent(got, LOG_RECENT_MAX + 4);
	assert_int_equal(n, LOG_RECENT_MAX);
	for (i = 0; i < n; i++) {
		snprintf(want, sizeof(want), "warning %zu", i + 4);
		assert_string_equal(got[i].text, want);
		assert_true(got[i].time >= t0 && got[i].time <= time(NULL));
	}
	/* fewer asked for: the newest of them */
	assert_int_equal(log_recent(got, 2), 2);
	snprintf(want, sizeof(want), "warning %d", LOG_RECENT_MAX + 3);
	assert_string_equal(got[1].text, want);
}

/* log_warn's errno text is kept; a long line is cut, not overrun. */
static void
test_recent_errno_and_length(void **state)
{
	struct log_recent got[LOG_RECENT_MAX];
	char longer[LOG_RECENT_TEXT * 2];
	size_t n;

	(void)state;
	errno = ENOENT;
	log_warn("opening %s", "x");
	n = log_recent(got, LOG_RECENT_MAX);
	assert_string_equal(got[n - 1].text, "opening x: No such file or "
	    "directory");
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	log_warnx("%s", longer);
	n = log_recent(got, LOG_RECENT_MAX);
	assert_int_equal(strlen(got[n - 1].text), LOG_RECENT_TEXT - 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recent),
		cmocka_unit_test(test_recent_errno_and_length),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
