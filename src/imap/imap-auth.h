/*
 * Password checks off the event loop: each check (a crypt(3) hash that
 * costs milliseconds, more for long passwords) runs on a small pool of
 * worker threads and its result comes back to the loop, so a flood of
 * logins delays other logins but never the sessions already served.
 *
 * At most AUTH_CHECKS_RUNNING checks are handed to the threads at once;
 * the others wait on the loop's side, costing memory only (the session
 * reads nothing more meanwhile). The next to run is the oldest waiting
 * check from an address that has none running, so one that floods the
 * queue with checks makes its own wait long, not everyone's. Up to
 * AUTH_CHECKS_WAITING may wait; beyond, a check is refused at once and
 * the client told to try again later (NO [UNAVAILABLE]), rather than let
 * the wait grow without bound. Nothing outside src/imap includes this.
 */
#ifndef MB_IMAP_IMAP_AUTH_H
#define MB_IMAP_IMAP_AUTH_H

#include <stdbool.h>

#include <event2/event.h>

struct imap_auth;
struct imap_auth_req;

/* The result of a check, on the loop; the request is freed after. */
typedef void imap_auth_done_cb(void *ctx, bool matched);

/* Start the worker threads; completions run on base. Never NULL. */
struct imap_auth *imap_auth_new(struct event_base *base);
/* Finish the checks running (their callbacks are not called: every
 * request must be cancelled before), stop the threads, free auth and
 * set *authp to NULL. */
void imap_auth_free(struct imap_auth **authp);

/*
 * Check password against stored (from directory_verifier(); auth takes
 * it over and wipes it) for a client at ip, after holding the request
 * hold_ms (a penalty, lib/penalty.h: 0 for none), and call cb(ctx,
 * matched) from the loop once done, never from within this call. password is
 * copied (and the copy wiped after the check). Returns NULL, having
 * wiped stored, if too many checks wait already.
 */
struct imap_auth_req *imap_auth_check(struct imap_auth *auth, const char *ip,
    unsigned hold_ms, char *stored, const char *password,
    imap_auth_done_cb *cb, void *ctx);
/* The requester is gone: cb will not be called. Sets *reqp to NULL. */
void imap_auth_cancel(struct imap_auth_req **reqp);

#endif
