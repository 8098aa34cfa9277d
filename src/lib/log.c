/*
 * Log lines go to stderr, one per call, prefixed with the program name;
 * when stderr is the systemd journal each line also starts with its
 * syslog priority ("<6>"); with syslog enabled they go there as well.
 */
#include "lib/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "lib/strnum.h"

static const char *log_name = "mailbell";
static bool log_is_verbose;
static bool log_syslog;
static bool log_journal;	/* stderr is a journal stream */

/* The last warnings and errors, a ring (log_recent()). */
static pthread_mutex_t recent_lock = PTHREAD_MUTEX_INITIALIZER;
static struct log_recent recent[LOG_RECENT_MAX];
static size_t recent_next, recent_count;

static void
recent_add(const char *msg, int errnum)
{
	struct log_recent *r;
	const char *err = errnum != 0 ? strerror(errnum) : NULL;
	size_t n = strlen(msg), m;

	pthread_mutex_lock(&recent_lock);
	r = &recent[recent_next];
	r->time = time(NULL);
	/* cut to the room there is: msg, then ": " and the error */
	n = n < sizeof(r->text) - 1 ? n : sizeof(r->text) - 1;
	memcpy(r->text, msg, n);
	if (err != NULL && n + 2 < sizeof(r->text) - 1) {
		memcpy(r->text + n, ": ", 2);
		n += 2;
		m = strlen(err);
		m = m < sizeof(r->text) - 1 - n ? m : sizeof(r->text) - 1 - n;
		memcpy(r->text + n, err, m);
		n += m;
	}
	r->text[n] = '\0';
	recent_next = (recent_next + 1) % LOG_RECENT_MAX;
	if (recent_count < LOG_RECENT_MAX)
		recent_count++;
	pthread_mutex_unlock(&recent_lock);
}

size_t
log_recent(struct log_recent *out, size_t max)
{
	size_t i, n, first;

	pthread_mutex_lock(&recent_lock);
	n = recent_count < max ? recent_count : max;
	/* the newest n of them, oldest first */
	first = (recent_next + LOG_RECENT_MAX - n) % LOG_RECENT_MAX;
	for (i = 0; i < n; i++)
		out[i] = recent[(first + i) % LOG_RECENT_MAX];
	pthread_mutex_unlock(&recent_lock);
	return n;
}

/*
 * Whether stderr is connected to the journal: systemd sets
 * JOURNAL_STREAM to "DEVICE:INODE" of the stream it gave the service
 * (systemd.exec(5)), and that names ours only while fd 2 is still that
 * stream, not a file or pipe it was redirected to since.
 */
static bool
stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM"), *colon;
	uint64_t dev, ino;
	struct stat st;

	if (env == NULL || (colon = strchr(env, ':')) == NULL)
		return false;
	if (str_to_u64_n(env, (size_t)(colon - env), UINT64_MAX, &dev) < 0 ||
	    str_to_u64(colon + 1, 0, UINT64_MAX, &ino) < 0)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (uint64_t)st.st_dev == dev && (uint64_t)st.st_ino == ino;
}

void
log_init(const char *progname, bool verbose)
{
	log_name = progname;
	log_is_verbose = verbose;
	log_journal = stderr_is_journal();
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
	if (prio <= LOG_WARNING)
		recent_add(msg, errnum);
	/* The journal reads the priority from the "<N>" prefix
	 * (sd-daemon(3)) and stamps the time itself. */
	if (log_journal)
		fprintf(stderr, "<%d>", prio);
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
	vlog(LOG_ERR, fmt, ap, saved);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap, 0);
	va_end(ap);
	exit(1);
}
