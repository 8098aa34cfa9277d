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
#include <stdnoreturn.h>

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
/* Only start-up may call these: they exit(1). */
noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
