/*
 * Telling systemd how the daemon is doing (sd_notify(3)), for a unit of
 * Type=notify: ready once every listener serves, reloading around
 * SIGHUP, stopping at SIGTERM, and the watchdog's keep-alive. Without
 * NOTIFY_SOCKET in the environment every call here does nothing.
 */
#ifndef MB_DAEMON_SDNOTIFY_H
#define MB_DAEMON_SDNOTIFY_H

struct event_base;
struct sdnotify;

/*
 * Call once start-up is done, every listener bound and served on base:
 * sends READY=1 and, when systemd asks for a watchdog (WATCHDOG_USEC,
 * and WATCHDOG_PID naming this process if it is set: see
 * sd_watchdog_enabled(3)), sends WATCHDOG=1 from a timer on base every
 * half of that interval, so a loop that stops turning is restarted.
 * Never fails: a notification that cannot be sent is logged, once per
 * kind. Returns the state for the calls below, freed by sdnotify_free()
 * before base is.
 */
struct sdnotify *sdnotify_start(struct event_base *base);

/* Around a reload (SIGHUP): RELOADING=1 before, READY=1 after; neither
 * once shutdown has begun. */
void sdnotify_reloading(struct sdnotify *sd);
void sdnotify_ready(struct sdnotify *sd);

/* Shutdown begins: STOPPING=1. The watchdog keeps running while the
 * services drain. */
void sdnotify_stopping(struct sdnotify *sd);

/* Stops the watchdog timer. *sdp may be NULL; sets it to NULL. */
void sdnotify_free(struct sdnotify **sdp);

#endif
