/*
 * RFC 3501 dates as IMAP carries them: date ("1-Feb-1994", used by
 * SEARCH) and date-time ("17-Jul-1996 02:44:25 -0700", used by APPEND
 * and INTERNALDATE). The parsers take the string without the quotes.
 */
#ifndef MB_IMAP_IMAP_DATE_H
#define MB_IMAP_IMAP_DATE_H

#include <stdint.h>
#include <time.h>

/* A calendar day, as SEARCH compares them (no time zone). */
struct imap_date {
	int year;	/* 4 digits as sent, 0000..9999 */
	int month;	/* 1..12 */
	int day;	/* 1..31, valid for the month and year */
};

/* Exactly "d-Mon-yyyy" or "dd-Mon-yyyy" (month names in any case).
 * Returns 0, or -1 with *error_r set (static string). */
int imap_date_parse(const char *str, struct imap_date *date_r,
    const char **error_r);

/* Midnight UTC at the start of that day. */
time_t imap_date_to_time(const struct imap_date *date);

/* "dd-Mon-yyyy hh:mm:ss +zzzz", the day also as " d" (date-day-fixed) or
 * "d" (which some clients send). The time zone must be within +-23:59.
 * Returns 0 with the instant in *time_r and the zone in minutes east
 * of UTC in *zone_r, or -1 with *error_r set (static string). */
int imap_date_time_parse(const char *str, time_t *time_r, int *zone_r,
    const char **error_r);

/* "dd-Mon-yyyy hh:mm:ss +zzzz" of t shown in the given zone (minutes
 * east of UTC), without quotes, for INTERNALDATE. */
#define IMAP_DATE_TIME_LEN 26
void imap_date_time_format(time_t t, int zone,
    char out[IMAP_DATE_TIME_LEN + 1]);

#endif
