/* Unit tests for lib/error.c: error texts, their kinds and the ring. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/error.h"

static void
test_fmt(void **state)
{
	const char *e;

	(void)state;
	e = error_fmt("%s: %d", "disk", 5);
	assert_string_equal(e, "disk: 5");
	assert_int_equal(error_code(e), ERROR_INTERNAL);
	e = error_code_fmt(ERROR_NOT_FOUND, "no folder %s", "x");
	assert_string_equal(e, "no folder x");
	assert_int_equal(error_code(e), ERROR_NOT_FOUND);
}

/* A full disk or quota is ERROR_NO_SPACE, any other errno internal;
 * errno survives the call. */
static void
test_errno(void **state)
{
	const char *e;

	(void)state;
	e = error_errno("mail/tmp/x", ENOSPC);
	assert_string_equal(e, "mail/tmp/x: No space left on device");
	assert_int_equal(error_code(e), ERROR_NO_SPACE);
	assert_int_equal(error_code(error_errno("q", EDQUOT)),
	    ERROR_NO_SPACE);
	assert_int_equal(error_code(error_errno("p", EACCES)),
	    ERROR_INTERNAL);
	assert_int_equal(error_code_errno(ENOSPC), ERROR_NO_SPACE);
	assert_int_equal(error_code_errno(EIO), ERROR_INTERNAL);
	errno = EPERM;
	(void)error_errno("x", ENOSPC);
	assert_int_equal(errno, EPERM);
	e = error_prefix("append", error_errno("f", ENOSPC));
	assert_int_equal(error_code(e), ERROR_NO_SPACE);
}

static void
test_prefix_keeps_code(void **state)
{
	const char *inner, *outer;

	(void)state;
	inner = error_code_fmt(ERROR_EXPUNGED, "message gone");
	outer = error_prefix("FETCH", inner);
	assert_string_equal(outer, "FETCH: message gone");
	assert_int_equal(error_code(outer), ERROR_EXPUNGED);
	/* The inner text is still intact: it lives in another slot. */
	assert_string_equal(inner, "message gone");
	outer = error_prefix("x", NULL);
	assert_string_equal(outer, "x: unknown error");
}

static void
test_foreign_strings(void **state)
{
	char buf[] = "mine";

	(void)state;
	assert_int_equal(error_code(NULL), ERROR_INTERNAL);
	assert_int_equal(error_code("a literal"), ERROR_INTERNAL);
	assert_int_equal(error_code(buf), ERROR_INTERNAL);
}

static void
test_ring(void **state)
{
	const char *first, *e = NULL;
	int i;

	(void)state;
	first = error_code_fmt(ERROR_LIMIT, "first");
	/* Texts survive ERROR_RING_SIZE - 1 later errors... */
	for (i = 0; i < ERROR_RING_SIZE - 1; i++)
		e = error_fmt("later %d", i);
	assert_string_equal(first, "first");
	assert_int_equal(error_code(first), ERROR_LIMIT);
	/* ...and an error may quote the oldest text, which it replaces. */
	e = error_fmt("again: %s", first);
	assert_string_equal(e, "again: first");
	assert_ptr_equal(e, first);
	assert_int_equal(error_code(e), ERROR_INTERNAL);
}

static void
test_long_text_cut(void **state)
{
	char big[ERROR_TEXT_MAX * 2];
	const char *e;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	e = error_fmt("%s", big);
	assert_int_equal(strlen(e), ERROR_TEXT_MAX - 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fmt),
		cmocka_unit_test(test_errno),
		cmocka_unit_test(test_prefix_keeps_code),
		cmocka_unit_test(test_foreign_strings),
		cmocka_unit_test(test_ring),
		cmocka_unit_test(test_long_text_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
