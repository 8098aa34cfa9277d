/*
 * systemd's readiness protocol and watchdog through libsystemd's
 * sd_notify(), and the libevent timer that feeds the watchdog (see
 * sdnotify.h).
 */
#include "daemon/sdnotify.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "lib/log.h"
#include "lib/xmalloc.h"

/* One daemon's notification state. */
struct sdnotify {
	struct event *watchdog_ev;	/* NULL: systemd asked for none */
	bool failed;			/* a send failed and was logged */
	bool stopping;			/* STOPPING=1 sent: no READY=1 after */
};

/* Send text to systemd; the first failure is logged (a full or gone
 * socket must not fill the log every watchdog tick). */
static void
send_state(struct sdnotify *sd, const char *text)
{
	int r;

	r = sd_notify(0, text);
	if (r >= 0 || sd->failed)
		return;
	sd->failed = true;
	log_warnx("cannot notify systemd (%s): %s", text, strerror(-r));
}

static void
watchdog_cb(evutil_socket_t fd, short what, void *ctx)
{
	(void)fd;
	(void)what;
	send_state(ctx, "WATCHDOG=1");
}

/* When systemd watches us, a timer at half its interval. Not started by
 * systemd (no NOTIFY_SOCKET), there is no one to send keep-alives to,
 * whatever WATCHDOG_USEC says. */
static void
start_watchdog(struct sdnotify *sd, struct event_base *base)
{
	struct timeval every;
	uint64_t usec;
	int r;

	if (getenv("NOTIFY_SOCKET") == NULL)
		return;
	r = sd_watchdog_enabled(0, &usec);
	if (r < 0)
		log_warnx("ignoring the systemd watchdog: %s", strerror(-r));
	if (r <= 0)
		return;
	usec /= 2;
	every.tv_sec = usec / 1000000;
	every.tv_usec = usec % 1000000;
	sd->watchdog_ev = event_new(base, -1, EV_PERSIST, watchdog_cb, sd);
	if (sd->watchdog_ev == NULL || event_add(sd->watchdog_ev, &every) < 0)
		fatalx("cannot start the watchdog timer");
	log_info("watchdog: keep-alive every %llu ms",
	    (unsigned long long)(usec / 1000));
}

struct sdnotify *
sdnotify_start(struct event_base *base)
{
	struct sdnotify *sd = xcalloc(1, sizeof(*sd));

	start_watchdog(sd, base);
	sdnotify_ready(sd);
	return sd;
}

void
sdnotify_ready(struct sdnotify *sd)
{
	if (sd->stopping)
		return;
	send_state(sd, "READY=1\nSTATUS=serving");
}

/* MONOTONIC_USEC tells systemd which reload this is (sd_notify(3)). */
void
sdnotify_reloading(struct sdnotify *sd)
{
	struct timespec now;
	char text[96];

	if (sd->stopping)
		return;
	if (clock_gettime(CLOCK_MONOTONIC, &now) < 0)
		now.tv_sec = now.tv_nsec = 0;
	(void)snprintf(text, sizeof(text),
	    "RELOADING=1\nSTATUS=reloading\nMONOTONIC_USEC=%llu",
	    (unsigned long long)now.tv_sec * 1000000 +
	    (unsigned long long)now.tv_nsec / 1000);
	send_state(sd, text);
}

void
sdnotify_stopping(struct sdnotify *sd)
{
	sd->stopping = true;
	send_state(sd, "STOPPING=1\nSTATUS=draining");
}

void
sdnotify_free(struct sdnotify **sdp)
{
	struct sdnotify *sd = *sdp;

	if (sd == NULL)
		return;
	*sdp = NULL;
	if (sd->watchdog_ev != NULL)
		event_free(sd->watchdog_ev);
	free(sd);
}
