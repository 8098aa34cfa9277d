/*
 * Logging to stderr (and optionally syslog), after OpenSMTPD's log.h:
 * the plain names append strerror(errno), the x names do not. Each line
 * is "PROGNAME: TEXT"; when stderr is the systemd journal (JOURNAL_STREAM
 * names its device and inode) it is preceded by the syslog priority,
 * "<3>" for fatal errors, "<4>" warnings, "<6>" information and "<7>"
 * debugging, which the journal takes as the entry's priority.
 */
#ifndef MB_LIB_LOG_H
#define MB_LIB_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdnoreturn.h>
#include <time.h>

/* Sets the name printed before every line; verbose enables log_debug.
 * Looks at JOURNAL_STREAM and stderr once, here: call it again after
 * redirecting stderr. */
void log_init(const char *progname, bool verbose);
/* Enable or disable log_debug from now on (a reloaded log level). */
void log_set_verbose(bool verbose);
/* Also send every line to syslog(3) (daemon facility). */
void log_use_syslog(bool on);
bool log_verbose(void);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The last warnings and errors, kept for the admin port's status page
 * (any thread may log; the copy is taken under a lock). */
#define LOG_RECENT_MAX 16
#define LOG_RECENT_TEXT 240
struct log_recent {
	time_t time;			/* when it was logged */
	char text[LOG_RECENT_TEXT];	/* the line after "PROGNAME: ",
					   cut if longer */
};
/* Copy up to max of them, oldest first, into out; returns how many. */
size_t log_recent(struct log_recent *out, size_t max);

/* Only start-up may call these: they exit(1). */
noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
