/*
 * Log lines go to stderr, one per call, prefixed with the program name;
 * with syslog enabled they go there as well.
 */
#include "lib/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

static const char *log_name = "mailbell";
static bool log_is_verbose;
static bool log_syslog;

void
log_init(const char *progname, bool verbose)
{
	log_name = progname;
	log_is_verbose = verbose;
}

void
log_set_verbose(bool verbose)
{
	log_is_verbose = verbose;
}

void
log_use_syslog(bool on)
{
	if (on && !log_syslog)
		openlog(log_name, LOG_PID | LOG_NDELAY, LOG_MAIL);
	log_syslog = on;
}

bool
log_verbose(void)
{
	return log_is_verbose;
}

static void
vlog(int prio, const char *fmt, va_list ap, int errnum)
{
	char msg[2048];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (errnum != 0)
		fprintf(stderr, "%s: %s: %s\n", log_name, msg, strerror(errnum));
	else
		fprintf(stderr, "%s: %s\n", log_name, msg);
	if (log_syslog) {
		if (errnum != 0)
			syslog(prio, "%s: %s", msg, strerror(errnum));
		else
			syslog(prio, "%s", msg);
	}
}

#define LOG_FN(name, prio, use_errno)                                  \
	void name(const char *fmt, ...)                                \
	{                                                              \
		int saved = errno;                                     \
		va_list ap;                                            \
		va_start(ap, fmt);                                     \
		vlog(prio, fmt, ap, (use_errno) ? saved : 0);          \
		va_end(ap);                                            \
		errno = saved;                                         \
	}

LOG_FN(log_warn, LOG_WARNING, 1)
LOG_FN(log_warnx, LOG_WARNING, 0)
LOG_FN(log_info, LOG_INFO, 0)

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_is_verbose)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap, 0);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, saved);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, 0);
	va_end(ap);
	exit(1);
}
