/*
 * `mailbell watch`: log on over IMAP, register for notifications, and
 * print a line (or run a command) the moment mail lands, learning of it
 * from the server's UDP doorbell, or from IMAP IDLE where UDP does not
 * get through. This file holds the command's entry, its timers and its
 * loop; watch-sync.c catches up over IMAP and watch-modes.c connects
 * and switches between UDP and IDLE.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "client/client.h"
#include "client/imap-client.h"
#include "client/watch-out.h"
#include "client/watch-state.h"
#include "client/watch-udp.h"
#include "client/watch.h"
#include "lib/clock.h"
#include "lib/log.h"

static int cmd_watch(struct client_ctx *, int, char **);

const struct client_cmd cmd_watch_entry = {
	"watch",
	"watch --server HOST[:PORT] --user NAME --password-file FILE\n"
	WATCH_TLS_USAGE
	"       [--udp-port N] [--json] [--exec CMD] [-v]",
	"log on and report new mail as it lands (UDP doorbell, IDLE fallback)",
	"  --server HOST[:PORT]  the mailbell IMAP server (port 1143, or\n"
	"                        1993 with --tls imaps, if not given;\n"
	"                        [ADDR]:PORT for IPv6)\n"
	"  --user NAME           the user to log on as\n"
	"  --password-file FILE  the password is the file's first line\n"
	WATCH_TLS_HELP
	"  --udp-port N          send notification datagrams from this local\n"
	"                        port (for a firewall rule); default: any\n"
	"  --json                one JSON object per line instead of text\n"
	"  --exec CMD            run CMD with /bin/sh -c for each new message;\n"
	"                        MAILBELL_EVENT, MAILBELL_FOLDER, MAILBELL_UID,\n"
	"                        MAILBELL_UIDVALIDITY, MAILBELL_FROM,\n"
	"                        MAILBELL_SUBJECT and MAILBELL_VIA say which\n"
	"  -v, --verbose         say more on stderr\n"
	"\n"
	"Prints \"ready via udp\" once notifications arrive by UDP, or\n"
	"\"ready via idle\" when it falls back to IMAP IDLE, then one line per\n"
	"event, e.g.\n"
	"  MessageNew INBOX uid=5 from=\"Carol <c@example.org>\" "
	"subject=\"hi\" via=udp\n"
	"With IDLE, a server that offers NOTIFY tells of every folder at\n"
	"once (new mail, expunges, flag changes); without NOTIFY new mail in\n"
	"INBOX is reported at once and in other folders within 5 minutes.\n"
	"With QRESYNC, the catch-up after a gap or a reconnect also reports\n"
	"the expunges and flag changes missed, one EXAMINE per folder.\n"
	"Reconnects by itself when the server goes away. SIGINT or SIGTERM\n"
	"unregisters and exits 0.\n"
	WATCH_TLS_NOTE
	"Exit status: 0 stopped by a signal, 64 usage, 66 no password file\n"
	"or --ca file, 71 the UDP port cannot be bound, 74 stdout closed,\n"
	"76 the server's certificate failed verification or it offers no\n"
	"STARTTLS, 77 login refused.\n",
	cmd_watch,
};

/* A random number in [0, n). */
uint64_t
watch_random(uint64_t n)
{
	uint64_t v = 0;

	if (n == 0)
		return 0;
	if (notify_random(&v, sizeof(v)) < 0)
		v = clock_now_ms() * 6364136223846793005ULL;
	return v % n;
}

/* The keepalive interval less up to 10% (4.3). */
int64_t
watch_keepalive_ms(const struct watch *w)
{
	int64_t ms = (int64_t)(w->reg.keepalive > 0 ? w->reg.keepalive : 25) *
	    1000;

	return ms - (int64_t)watch_random((uint64_t)ms / 10 + 1);
}

void
watch_stdout_failed(struct watch *w)
{
	if (w->exit_code < 0) {
		log_warnx("watch: cannot write to stdout; stopping");
		w->exit_code = EX_IOERR;
	}
}

/* ---- Timers ---- */

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct watch_timer *t = arg;

	(void)fd;
	(void)what;
	t->due = true;
}

/* (Re)start a timer to fire in ms. */
void
watch_timer_set(struct watch *w, enum watch_timer_id id, int64_t ms)
{
	struct watch_timer *t = &w->timers[id];
	struct timeval tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000 * 1000);
	t->due = false;
	evtimer_add(t->ev, &tv);
}

void
watch_timer_stop(struct watch *w, enum watch_timer_id id)
{
	struct watch_timer *t = &w->timers[id];

	t->due = false;
	evtimer_del(t->ev);
}

/* Whether the timer fired; taking the news, so it says so once. */
static bool
timer_due(struct watch *w, enum watch_timer_id id)
{
	struct watch_timer *t = &w->timers[id];

	if (!t->due)
		return false;
	t->due = false;
	return true;
}

#define T(id) (1u << (id))
/* The timers each mode acts on; the others are stopped on entering it. */
static const unsigned int mode_timers[] = {
	[WATCH_DOWN] = T(WATCH_T_RECONNECT),
	[WATCH_STARTING] = T(WATCH_T_HELLO) | T(WATCH_T_FALLBACK) |
	    T(WATCH_T_NOOP),
	[WATCH_UDP] = T(WATCH_T_KEEPALIVE) | T(WATCH_T_STATUS) |
	    T(WATCH_T_NOOP),
	[WATCH_IDLE] = T(WATCH_T_HELLO) | T(WATCH_T_REREGISTER) |
	    T(WATCH_T_IDLE_POLL),
};
#undef T

/* Whether a timer the mode acts on is due, so the loop must not wait. */
static bool
timers_any_due(const struct watch *w)
{
	size_t i;

	for (i = 0; i < WATCH_T_COUNT; i++)
		if (w->timers[i].due && (mode_timers[w->mode] & (1u << i)))
			return true;
	return false;
}

/* ---- The loop ---- */

/* Act on the timers that fired, as the mode has them. */
static void
timers(struct watch *w)
{
	const char *error;
	bool now;

	if (w->mode == WATCH_STARTING) {
		if (timer_due(w, WATCH_T_FALLBACK)) {
			watch_enter_idle(w, "no verified reply to UDP within 5 s");
			return;
		}
		if (timer_due(w, WATCH_T_HELLO)) {
			watch_send_hello(w);
			w->hello_sends++;
			if (w->hello_sends < WATCH_HELLO_SENDS)
				watch_timer_set(w, WATCH_T_HELLO,
				    WATCH_HELLO_FIRST_RETRY_MS *
				    (1 << (w->hello_sends - 1)));
		}
	}
	if (w->mode == WATCH_UDP) {
		now = false;
		if (timer_due(w, WATCH_T_STATUS)) {
			if (++w->missed >= WATCH_MISSED_MAX) {
				/* Is it UDP, or the server? Ask over TCP. */
				if (watch_run(w, NULL, NULL, "NOOP", "NOOP") ==
				    IMAP_CLIENT_FAILED)
					return;
				/* The registration may be gone too (4.5). */
				if (watch_register(w) < 0)
					return;
				watch_enter_idle(w, "two keepalives got no reply");
				if (w->reg.valid)
					watch_send_hello(w);
				return;
			}
			now = true;	/* the next keepalive at once */
		}
		if (timer_due(w, WATCH_T_KEEPALIVE) || now) {
			if (watch_udp_send_keepalive(&w->udp, &error) < 0)
				log_debug("watch: %s", error);
			watch_timer_set(w, WATCH_T_KEEPALIVE, watch_keepalive_ms(w));
			watch_timer_set(w, WATCH_T_STATUS, WATCH_STATUS_WAIT_MS);
		}
	}
	if (w->mode == WATCH_IDLE) {
		now = false;
		if (timer_due(w, WATCH_T_REREGISTER)) {
			watch_timer_set(w, WATCH_T_REREGISTER, WATCH_REREGISTER_MS);
			if (watch_register(w) < 0 || w->exit_code >= 0)
				return;
			now = true;	/* HELLO for it at once */
		}
		if (timer_due(w, WATCH_T_HELLO) || now) {
			watch_send_hello(w);
			watch_timer_set(w, WATCH_T_HELLO, watch_keepalive_ms(w));
		}
		if (timer_due(w, WATCH_T_IDLE_POLL)) {
			watch_timer_set(w, WATCH_T_IDLE_POLL, WATCH_IDLE_POLL_MS);
			(void)watch_resync_all(w, "idle");
			return;
		}
	}
	if ((w->mode == WATCH_UDP || w->mode == WATCH_STARTING) &&
	    timer_due(w, WATCH_T_NOOP)) {
		watch_timer_set(w, WATCH_T_NOOP, WATCH_NOOP_MS);
		(void)watch_run(w, NULL, NULL, "NOOP", "NOOP");
	}
}

/* Read what the IMAP session has for us between commands. */
static void
imap_input(struct watch *w)
{
	const struct imap_client_resp *resp;
	const char *error;
	int r;

	while (w->imap != NULL) {
		r = imap_client_read(w->imap, 0, &resp, &error);
		if (r < 0) {
			watch_lost(w, error);
			return;
		}
		if (r == 0)
			return;
		if (strcmp(resp->tag, "*") != 0) {
			/* The server ended our IDLE itself. */
			if (w->idling) {
				w->idling = false;
				w->inbox_woke = true;
			}
			continue;
		}
		if (resp->count > 0 && imap_client_arg_is(&resp->args[0],
		    "BYE")) {
			watch_lost(w, "the server said BYE");
			return;
		}
		if (w->idling)
			watch_idle_untagged_cb(w, resp);
		else if (w->notify_on)
			watch_notify_untagged(w, resp);
	}
}

/*
 * The main loop: do what the state asks for (connect, catch up, IDLE),
 * then turn the event loop once and act on what its callbacks noted.
 * Commands run here, never inside a callback.
 */
static void
watch_loop(struct watch *w)
{
	const char *error;
	bool udp_on;

	while (!w->stop && w->exit_code < 0) {
		watch_out_reap();
		if (w->mode == WATCH_DOWN) {
			if (timer_due(w, WATCH_T_RECONNECT)) {
				watch_connect(w);
				continue;
			}
		} else if (w->mode == WATCH_IDLE && watch_notify_pending(w)) {
			/* NOTIFY told of changes: every folder at once. */
			(void)watch_notify_process(w);
			continue;
		} else if (w->mode == WATCH_IDLE && w->inbox_woke) {
			w->inbox_woke = false;
			(void)watch_fetch_new(w, "INBOX", 0, NULL, "idle");
			continue;
		} else if (w->mode == WATCH_IDLE && !w->idling) {
			/* Select INBOX, and report what came since we last
			   looked: IDLE only tells of what comes after. */
			if (watch_fetch_new(w, "INBOX", 0, NULL, "idle") < 0 ||
			    w->imap == NULL || w->inbox_woke ||
			    watch_notify_pending(w))
				continue;	/* lost, or more came meanwhile */
			if (imap_client_idle_start(w->imap,
			    watch_idle_untagged_cb, w, &error) ==
			    IMAP_CLIENT_FAILED) {
				watch_lost(w, error);
				continue;
			}
			w->idling = true;
			/* What came before "+" may have woken us already. */
			continue;
		}
		if (w->imap != NULL && imap_client_buffered(w->imap)) {
			imap_input(w);
			continue;
		}

		udp_on = w->imap != NULL && w->udp_open && w->reg.valid;
		if (udp_on && !event_pending(w->udp_ev, EV_READ, NULL))
			event_add(w->udp_ev, NULL);
		else if (!udp_on && w->udp_ev != NULL)
			event_del(w->udp_ev);
		w->imap_ready = w->udp_ready = false;
		/* A timer that fired during a command is due already. */
		if (event_base_loop(w->base, timers_any_due(w) ?
		    EVLOOP_NONBLOCK : EVLOOP_ONCE) < 0)
			fatalx("the event loop failed");
		if (w->stop)
			break;
		if (w->imap_ready)
			imap_input(w);
		if (w->udp_ready && w->imap != NULL)
			watch_read_datagrams(w);
		if (w->imap != NULL)
			timers(w);
	}
}

static void
watch_shutdown(struct watch *w)
{
	const char *error;

	/* Say goodbye properly; a second signal cuts that short. */
	w->stop = 0;
	if (w->imap != NULL)
		(void)watch_leave_idle(w);
	if (w->imap != NULL && w->reg.valid)
		(void)imap_client_cmd(w->imap, NULL, NULL, &error,
		    "XBELL UNREGISTER \"%s\"", w->reg.id_hex);
	if (w->imap != NULL)
		(void)imap_client_cmd(w->imap, NULL, NULL, &error, "LOGOUT");
	imap_client_free(&w->imap);
	watch_reg_wipe(&w->reg);
	if (w->udp_ev != NULL)
		event_free(w->udp_ev);
	if (w->udp_open)
		watch_udp_close(&w->udp);
	free(w->selected);
	watch_folders_free(w);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct watch *w = arg;

	(void)what;
	/* SIGCHLD only wakes the loop, which reaps. */
	if (sig == SIGINT || sig == SIGTERM)
		w->stop = 1;
}

/* The event base, its signal events and the timers. */
static void
watch_events_init(struct watch *w)
{
	size_t i;

	if ((w->base = event_base_new()) == NULL)
		fatalx("cannot make an event base");
	w->sig_int = evsignal_new(w->base, SIGINT, signal_cb, w);
	w->sig_term = evsignal_new(w->base, SIGTERM, signal_cb, w);
	w->sig_chld = evsignal_new(w->base, SIGCHLD, signal_cb, w);
	if (w->sig_int == NULL || w->sig_term == NULL || w->sig_chld == NULL ||
	    evsignal_add(w->sig_int, NULL) < 0 ||
	    evsignal_add(w->sig_term, NULL) < 0 ||
	    evsignal_add(w->sig_chld, NULL) < 0)
		fatalx("cannot watch for signals");
	for (i = 0; i < WATCH_T_COUNT; i++) {
		w->timers[i].w = w;
		w->timers[i].ev = evtimer_new(w->base, timer_cb,
		    &w->timers[i]);
		if (w->timers[i].ev == NULL)
			fatalx("out of memory");
	}
}

static void
watch_events_free(struct watch *w)
{
	size_t i;

	for (i = 0; i < WATCH_T_COUNT; i++)
		event_free(w->timers[i].ev);
	event_free(w->sig_int);
	event_free(w->sig_term);
	event_free(w->sig_chld);
	event_base_free(w->base);
}

static int
cmd_watch(struct client_ctx *ctx, int argc, char **argv)
{
	struct watch_opts o;
	struct watch w;
	int r;

	(void)ctx;
	if ((r = watch_opts_parse(&cmd_watch_entry, true, argc, argv, &o)) >= 0)
		return r;
	if (o.verbose)
		log_init("mailbell", true);
	if (o.tls_mode == CLIENT_TLS_NONE)
		log_warnx("watch: --tls none: the password and the "
		    "notification keys cross the network in clear text");
	signal(SIGPIPE, SIG_IGN);

	memset(&w, 0, sizeof(w));
	w.o = &o;
	w.exit_code = -1;
	w.mode = WATCH_DOWN;
	w.udp.fd = -1;
	w.backoff_ms = WATCH_BACKOFF_MIN_MS;
	watch_events_init(&w);
	w.timers[WATCH_T_RECONNECT].due = true;	/* connect at once */
	watch_loop(&w);
	watch_shutdown(&w);
	watch_events_free(&w);
	watch_out_reap();
	watch_out_deinit();
	watch_opts_free(&o);
	return w.exit_code >= 0 ? w.exit_code : 0;
}
