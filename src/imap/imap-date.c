/*
 * RFC 3501 date and date-time parsing and INTERNALDATE formatting, with
 * calendar arithmetic of our own so no process time zone is involved.
 */
#include "imap/imap-date.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/strnum.h"

static const char *const month_names[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

static bool
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int y, int m)
{
	static const int days[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int *y_r, int *m_r, int *d_r)
{
	int64_t era, doe, yoe, y, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d_r = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m_r = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y_r = (int)(y + (*m_r <= 2));
}

/* Exactly n digits at *sp. */
static bool
digits(const char **sp, int n, int *num_r)
{
	uint64_t v;

	if (str_to_u64_n(*sp, (size_t)n, INT_MAX, &v) < 0)
		return false;
	*sp += n;
	*num_r = (int)v;
	return true;
}

/* date-month "-" date-year, after the day and its "-"; checks the day. */
static bool
month_year(const char **sp, int day, struct imap_date *date_r)
{
	const char *s = *sp;
	int m, year;

	for (m = 0; m < 12; m++) {
		if (strncasecmp(s, month_names[m], 3) == 0)
			break;
	}
	if (m == 12 || s[3] != '-')
		return false;
	s += 4;
	if (!digits(&s, 4, &year))
		return false;
	if (day < 1 || day > days_in_month(year, m + 1))
		return false;
	date_r->year = year;
	date_r->month = m + 1;
	date_r->day = day;
	*sp = s;
	return true;
}

/* date-day = 1*2DIGIT, then "-". */
static bool
day_dash(const char **sp, int *day_r)
{
	const char *s = *sp;

	if (!digits(&s, 2, day_r)) {
		s = *sp;
		if (!digits(&s, 1, day_r))
			return false;
	}
	if (*s != '-')
		return false;
	*sp = s + 1;
	return true;
}

int
imap_date_parse(const char *str, struct imap_date *date_r,
    const char **error_r)
{
	const char *s = str;
	int day;

	if (!day_dash(&s, &day) || !month_year(&s, day, date_r) ||
	    *s != '\0') {
		*error_r = "Invalid date";
		return -1;
	}
	return 0;
}

time_t
imap_date_to_time(const struct imap_date *date)
{
	return (time_t)(days_from_civil(date->year, date->month, date->day) *
	    86400);
}

int
imap_date_time_parse(const char *str, time_t *time_r, int *zone_r,
    const char **error_r)
{
	struct imap_date date;
	const char *s = str;
	int day, hh, mm, ss, zh, zm, zone;
	int64_t t;

	/* date-day-fixed = (SP DIGIT) / 2DIGIT */
	if (*s == ' ')
		s++;
	if (!day_dash(&s, &day) || !month_year(&s, day, &date) ||
	    *s++ != ' ' ||
	    !digits(&s, 2, &hh) || *s++ != ':' ||
	    !digits(&s, 2, &mm) || *s++ != ':' ||
	    !digits(&s, 2, &ss) || *s++ != ' ' ||
	    (*s != '+' && *s != '-'))
		goto bad;
	zone = *s++ == '-' ? -1 : 1;
	if (!digits(&s, 2, &zh) || !digits(&s, 2, &zm) || *s != '\0')
		goto bad;
	/* Second 60 is a leap second. */
	if (hh > 23 || mm > 59 || ss > 60 || zh > 23 || zm > 59)
		goto bad;
	zone *= zh * 60 + zm;

	t = days_from_civil(date.year, date.month, date.day) * 86400 +
	    hh * 3600 + mm * 60 + ss - (int64_t)zone * 60;
	*time_r = (time_t)t;
	*zone_r = zone;
	return 0;

bad:
	*error_r = "Invalid date-time";
	return -1;
}

void
imap_date_time_format(time_t t, int zone, char out[IMAP_DATE_TIME_LEN + 1])
{
	int64_t local = (int64_t)t + (int64_t)zone * 60;
	int64_t days = local / 86400, secs = local % 86400;
	int y, m, d, az = zone < 0 ? -zone : zone;

	if (secs < 0) {
		secs += 86400;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	(void)snprintf(out, IMAP_DATE_TIME_LEN + 1,
	    "%02d-%s-%04d %02d:%02d:%02d %c%02d%02d",
	    d, month_names[m - 1], y % 10000, (int)(secs / 3600),
	    (int)(secs / 60 % 60), (int)(secs % 60), zone < 0 ? '-' : '+',
	    az / 60 % 100, az % 60);
}
