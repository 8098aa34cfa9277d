/* Tests of RFC 3501 date and date-time parsing and formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap-date.h"

static void
check_date(const char *s, int y, int m, int d)
{
	struct imap_date date;
	const char *error;

	if (imap_date_parse(s, &date, &error) < 0)
		fail_msg("\"%s\" rejected: %s", s, error);
	assert_int_equal(date.year, y);
	assert_int_equal(date.month, m);
	assert_int_equal(date.day, d);
}

static void
test_date(void **state)
{
	static const char *const bad[] = {
		"", "1-Feb-94", "1-Feb-19944", "001-Feb-1994", " 1-Feb-1994",
		"1-Feb-1994 ", "0-Jan-2000", "32-Jan-2000", "29-Feb-1900",
		"30-Feb-2004", "31-Apr-2000", "1-Foo-2000", "1-February-2000",
		"1 Feb 2000", "1-Feb-", "-Feb-2000", "1--2000", "1-Fe-2000",
		"\"1-Feb-1994\"", "1-Feb-199a", "a-Feb-1994",
	};
	struct imap_date date;
	const char *error;
	size_t i;

	(void)state;
	check_date("1-Feb-1994", 1994, 2, 1);
	check_date("01-feb-1994", 1994, 2, 1);
	check_date("31-DEC-9999", 9999, 12, 31);
	check_date("29-Feb-2000", 2000, 2, 29);
	check_date("29-Feb-2004", 2004, 2, 29);
	check_date("30-Jun-1970", 1970, 6, 30);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (imap_date_parse(bad[i], &date, &error) == 0)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_non_null(error);
	}
	date = (struct imap_date){ 1970, 1, 2 };
	assert_int_equal(imap_date_to_time(&date), 86400);
	date = (struct imap_date){ 2000, 2, 29 };
	assert_int_equal(imap_date_to_time(&date), 951782400);
}

static void
check_date_time(const char *s, int64_t t, int zone)
{
	time_t got;
	int got_zone;
	const char *error;

	if (imap_date_time_parse(s, &got, &got_zone, &error) < 0)
		fail_msg("\"%s\" rejected: %s", s, error);
	assert_int_equal((int64_t)got, t);
	assert_int_equal(got_zone, zone);
}

static void
test_date_time(void **state)
{
	static const char *const bad[] = {
		"", "17-Jul-1996", "17-Jul-1996 02:44:25", "17-Jul-1996 24:00:00 +0000",
		"17-Jul-1996 02:60:25 -0700", "17-Jul-1996 02:44:61 -0700",
		"17-Jul-1996 02:44:25 0700", "17-Jul-1996 02:44:25 -07:00",
		"17-Jul-1996 2:44:25 -0700", "17-Jul-1996 02:44:25 -0760",
		"17-Jul-1996 02:44:25 -2400", "17-Jul-1996 02:44:25 -0700 ",
		"17-Jul-1996  02:44:25 -0700", "17-Jul-96 02:44:25 -0700",
		"  7-Jul-1996 02:44:25 -0700", "31-Jun-1996 02:44:25 -0700",
		"17-Jul-1996 02:44:25 -070", "17-Jul-1996 02:44:25 -07000",
		"17-Jul-1996T02:44:25 -0700",
	};
	time_t t;
	int zone;
	const char *error;
	size_t i;

	(void)state;
	check_date_time("17-Jul-1996 02:44:25 -0700", 837596665, -420);
	check_date_time("17-jul-1996 09:44:25 +0000", 837596665, 0);
	check_date_time("17-Jul-1996 11:14:25 +0130", 837596665, 90);
	check_date_time(" 1-Jan-1970 00:00:00 +0000", 0, 0);
	check_date_time("01-Jan-1970 00:00:00 +0000", 0, 0);
	check_date_time("1-Jan-1970 00:00:00 +0000", 0, 0);
	check_date_time("31-Dec-1969 23:59:59 +0000", -1, 0);
	check_date_time("01-Jan-0001 00:00:00 +0000", -62135596800LL, 0);
	check_date_time("31-Dec-9999 23:59:59 +0000", 253402300799LL, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (imap_date_time_parse(bad[i], &t, &zone, &error) == 0)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_non_null(error);
	}
}

static void
test_format(void **state)
{
	char out[IMAP_DATE_TIME_LEN + 1];
	time_t t;
	int zone;
	const char *error;

	(void)state;
	imap_date_time_format(837596665, -420, out);
	assert_string_equal(out, "17-Jul-1996 02:44:25 -0700");
	imap_date_time_format(0, 0, out);
	assert_string_equal(out, "01-Jan-1970 00:00:00 +0000");
	imap_date_time_format(-1, 0, out);
	assert_string_equal(out, "31-Dec-1969 23:59:59 +0000");
	imap_date_time_format(951782400, 330, out);
	assert_string_equal(out, "29-Feb-2000 05:30:00 +0530");
	assert_int_equal(strlen(out), IMAP_DATE_TIME_LEN);
	/* Round trip. */
	assert_int_equal(imap_date_time_parse(out, &t, &zone, &error), 0);
	assert_int_equal(t, 951782400);
	assert_int_equal(zone, 330);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_date),
		cmocka_unit_test(test_date_time),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
