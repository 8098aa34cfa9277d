/*
 * How `mailbell watch` hears of mail: connecting and logging in, the
 * XBELL registration, the modes (waiting for the first verified STATUS,
 * UDP, IDLE) and what the datagrams that come in mean for them.
 */
#include <string.h>

#include <event2/event.h>

#include "client/client.h"
#include "client/imap-client.h"
#include "client/watch-out.h"
#include "client/watch-state.h"
#include "client/watch-udp.h"
#include "lib/error.h"
#include "lib/log.h"

/* ---- Modes ---- */

static void
enter_udp(struct watch *w)
{
	if (watch_leave_idle(w) < 0 || watch_notify_stop(w) < 0)
		return;
	w->mode = WATCH_UDP;
	watch_timer_stop(w, WATCH_T_HELLO);
	watch_timer_stop(w, WATCH_T_FALLBACK);
	watch_timer_stop(w, WATCH_T_IDLE_POLL);
	watch_timer_stop(w, WATCH_T_REREGISTER);
	watch_timer_set(w, WATCH_T_KEEPALIVE, watch_keepalive_ms(w));
	watch_timer_stop(w, WATCH_T_STATUS);
	w->missed = 0;
	watch_timer_set(w, WATCH_T_NOOP, WATCH_NOOP_MS);
	/* Catch up first: "ready" means what lands from now on is live. */
	if (watch_resync_all(w, "udp") < 0)
		return;
	if (watch_out_ready(w->o->json, "udp") < 0)
		watch_stdout_failed(w);
}

void
watch_enter_idle(struct watch *w, const char *why)
{
	if (why != NULL)
		log_warnx("watch: %s; using IMAP IDLE%s", why,
		    w->reg.valid ? " and trying UDP again now and then" : "");
	w->mode = WATCH_IDLE;
	watch_timer_stop(w, WATCH_T_FALLBACK);
	watch_timer_stop(w, WATCH_T_KEEPALIVE);
	watch_timer_stop(w, WATCH_T_STATUS);
	watch_timer_stop(w, WATCH_T_NOOP);
	if (w->reg.valid) {
		watch_timer_set(w, WATCH_T_HELLO, watch_keepalive_ms(w));
		watch_timer_set(w, WATCH_T_REREGISTER, WATCH_REREGISTER_MS);
	} else {
		watch_timer_stop(w, WATCH_T_HELLO);
		watch_timer_stop(w, WATCH_T_REREGISTER);
	}
	watch_timer_set(w, WATCH_T_IDLE_POLL, WATCH_IDLE_POLL_MS);
	if (watch_resync_all(w, "idle") < 0 || watch_notify_start(w) < 0)
		return;
	if (watch_out_ready(w->o->json, "idle") < 0)
		watch_stdout_failed(w);
}

static void
udp_ready_cb(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;

	(void)fd;
	(void)what;
	w->udp_ready = true;
}

/* XBELL REGISTER, dropping the registration we had. Returns 0, 1 if
 * refused, -1 if the session was lost. */
int
watch_register(struct watch *w)
{
	enum imap_client_status st;
	struct watch_reg reg;
	const char *error;

	if (w->reg.valid) {
		st = watch_run(w, NULL, NULL, "XBELL UNREGISTER",
		    "XBELL UNREGISTER \"%s\"", w->reg.id_hex);
		if (st == IMAP_CLIENT_FAILED)
			return -1;
		watch_reg_wipe(&w->reg);
	}
	memset(&reg, 0, sizeof(reg));
	st = watch_run(w, watch_reg_untagged_cb, &reg, "XBELL REGISTER",
	    "XBELL REGISTER");
	if (st == IMAP_CLIENT_FAILED)
		return -1;
	if (st == IMAP_CLIENT_NO || !reg.valid) {
		log_warnx("watch: the server did not register us for "
		    "notifications%s", st == IMAP_CLIENT_NO ? "" :
		    " (no XBELL REGISTERED response)");
		watch_reg_wipe(&reg);
		return 1;
	}
	w->reg = reg;
	watch_reg_wipe(&reg);
	if (!w->udp_open) {
		const struct sockaddr *peer;
		socklen_t plen;

		peer = imap_client_peer(w->imap, &plen);
		if (watch_udp_open(&w->udp, peer, plen, w->reg.port,
		    w->o->udp_port, &error) < 0) {
			log_warnx("watch: %s", error);
			w->exit_code = EX_OSERR;
			return 1;
		}
		w->udp_open = true;
		w->udp_ev = event_new(w->base, w->udp.fd, EV_READ,
		    udp_ready_cb, w);
		if (w->udp_ev == NULL)
			fatalx("out of memory");
	} else {
		const struct sockaddr *peer;
		socklen_t plen;

		peer = imap_client_peer(w->imap, &plen);
		if (watch_udp_retarget(&w->udp, peer, plen, w->reg.port,
		    &error) < 0) {
			log_warnx("watch: %s", error);
			return 1;
		}
	}
	if (watch_udp_set_reg(&w->udp, &w->reg) < 0) {
		log_warnx("watch: cannot derive the notification keys");
		watch_reg_wipe(&w->reg);
		return 1;
	}
	return 0;
}

void
watch_send_hello(struct watch *w)
{
	const char *error;

	if (watch_udp_send_hello(&w->udp, &error) < 0)
		log_debug("watch: %s", error);
}

static void
imap_ready_cb(void *ctx)
{
	struct watch *w = ctx;

	w->imap_ready = true;
}

/* Connect, log in, register; STARTING, or IDLE without XBELL. */
void
watch_connect(struct watch *w)
{
	enum imap_client_status st;
	char info[128], fp[TLS_FINGERPRINT_TEXT_SIZE];
	const char *error;
	int r;

	w->imap = imap_client_connect(w->base, w->o->host, w->o->port,
	    &w->o->tls, WATCH_CONNECT_TIMEOUT_MS, &w->stop, &error);
	if (w->imap == NULL) {
		if (w->stop)
			return;
		/* A certificate that fails verification, or a server
		   without STARTTLS, stays so: trying again would only
		   repeat it (or, worse, succeed against an impostor). */
		if (error_code(error) == ERROR_NOT_POSSIBLE) {
			log_warnx("watch: %s: %s", w->o->server_text, error);
			w->exit_code = EX_PROTOCOL;
			return;
		}
		watch_schedule_reconnect(w, "", error);
		return;
	}
	if (imap_client_tls_info(w->imap, info, sizeof(info), fp))
		log_debug("watch: %s with %s, certificate sha256 %s", info,
		    w->o->server_text, fp);
	imap_client_set_input_cb(w->imap, imap_ready_cb, w);
	w->mode = WATCH_STARTING;
	st = imap_client_login(w->imap, w->o->user, w->o->password, &error);
	if (st == IMAP_CLIENT_NO) {
		log_warnx("watch: %s refused the login as %s: %s",
		    w->o->server_text, w->o->user, error);
		w->exit_code = EX_NOPERM;
		return;
	}
	if (st == IMAP_CLIENT_FAILED) {
		watch_lost(w, error);
		return;
	}
	log_debug("watch: logged in to %s as %s", w->o->server_text,
	    w->o->user);
	w->backoff_ms = WATCH_BACKOFF_MIN_MS;
	/* Before any folder is selected: QRESYNC applies from then on. */
	if (watch_qresync_enable(w) < 0)
		return;
	if (!w->baselined) {
		/* What is there before we say "ready" is not news; what
		   lands after this is, whichever way we learn of it. */
		if (watch_resync_all(w, "udp") < 0)
			return;
		w->baselined = true;
	}
	w->xbell = imap_client_has_cap(w->imap, "XBELL");
	if (!w->xbell) {
		watch_enter_idle(w, "the server does not offer XBELL notifications");
		return;
	}
	r = watch_register(w);
	if (r < 0 || w->exit_code >= 0)
		return;
	if (r > 0) {
		watch_enter_idle(w, "no notification registration");
		return;
	}
	log_debug("watch: registered %s: UDP port %u, keepalive %u s, "
	    "epoch %u", w->reg.id_hex, w->reg.port, w->reg.keepalive,
	    w->reg.epoch);
	w->hello_sends = 1;
	watch_send_hello(w);
	watch_timer_set(w, WATCH_T_HELLO, WATCH_HELLO_FIRST_RETRY_MS);
	watch_timer_set(w, WATCH_T_FALLBACK, WATCH_FALLBACK_MS);
	watch_timer_set(w, WATCH_T_NOOP, WATCH_NOOP_MS);
}

/* ---- UDP ---- */

void
watch_read_datagrams(struct watch *w)
{
	struct watch_udp_rx rx;
	const char *error;
	char obs[80];
	int r;

	while (w->imap != NULL && w->exit_code < 0 &&
	    (r = watch_udp_recv(&w->udp, &rx, &error)) != 0) {
		if (r < 0) {
			log_debug("watch: %s", error);
			return;
		}
		if (rx.new_epoch)
			log_debug("watch: the server restarted (epoch %u)",
			    w->udp.epoch);
		switch (rx.kind) {
		case WATCH_UDP_CHALLENGE:
			watch_udp_observed_text(&w->udp, obs, sizeof(obs));
			log_debug("watch: CHALLENGE, the server sees us as %s",
			    obs);
			break;
		case WATCH_UDP_STATUS:
			w->missed = 0;
			watch_timer_stop(w, WATCH_T_STATUS);
			if (!w->udp.verified)
				break;
			if (w->mode != WATCH_UDP) {
				enter_udp(w);
				continue;	/* that resynced everything */
			}
			break;
		case WATCH_UDP_EVENT:
			log_debug("watch: EVENT %llu %s %s uid=%u uidvalidity=%u%s%s",
			    (unsigned long long)rx.event.number,
			    notify_event_type_name(rx.event.type),
			    rx.event.folder, rx.event.uid, rx.event.uidvalidity,
			    rx.duplicate ? " (again)" : "",
			    rx.gap ? " (after a gap)" : "");
			if (rx.duplicate)
				break;
			if (w->mode != WATCH_UDP && w->udp.verified &&
			    w->mode != WATCH_DOWN) {
				enter_udp(w);
				continue;
			}
			if (rx.gap) {
				(void)watch_resync_all(w, "udp");
				continue;
			}
			(void)watch_handle_event(w, &rx.event);
			continue;
		}
		if ((rx.gap || rx.new_epoch) && w->mode == WATCH_UDP)
			(void)watch_resync_all(w, "udp");
	}
}

