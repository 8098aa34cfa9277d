/*
 * `mailbell doctor`: walk the notification path hop by hop (TCP, login,
 * XBELL, registration, a UDP HELLO, the server's verified reply, and an
 * event round trip through an APPENDed test message) and say, in plain
 * words, which hop fails and which firewall rule would fix it.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "client/client.h"
#include "client/imap-client.h"
#include "client/watch-udp.h"
#include "client/watch.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

static int cmd_doctor(struct client_ctx *, int, char **);

const struct client_cmd cmd_doctor_entry = {
	"doctor",
	"doctor --server HOST[:PORT] --user NAME --password-file FILE\n"
	WATCH_TLS_USAGE
	"       [--udp-port N] [-v]",
	"check every hop of the new-mail notification path",
	"  --server HOST[:PORT]  the mailbell IMAP server (port 1143, or\n"
	"                        1993 with --tls imaps, if not given;\n"
	"                        [ADDR]:PORT for IPv6)\n"
	"  --user NAME           the user to log on as\n"
	"  --password-file FILE  the password is the file's first line\n"
	WATCH_TLS_HELP
	"  --udp-port N          send from this local UDP port, as\n"
	"                        `mailbell watch --udp-port N` would\n"
	"\n"
	"Checks, in order, and prints OK or FAIL for each: the TCP connection\n"
	"to IMAP, TLS (unless --tls none), the login, the XBELL capability,\n"
	"the registration, a UDP HELLO to the server's notification port, the\n"
	"server's verified reply within 5 s, and an event round trip: it\n"
	"APPENDs a small test message to INBOX, waits for its MessageAppend\n"
	"event, then deletes it.\n"
	"A failure names the missing firewall rule or setting, or what is\n"
	"wrong with the server's certificate and how to trust it.\n"
	WATCH_TLS_NOTE
	"Exit status: 0 all passed, 69 a check failed, 64 usage, 66 no\n"
	"password file or --ca file.\n",
	cmd_doctor,
};

/* Each UDP wait; the protocol's own fallback deadline (4.6). */
#define DOCTOR_UDP_WAIT_MS 5000
#define DOCTOR_CONNECT_TIMEOUT_MS 5000

static void say(bool ok, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
say(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%-5s", ok ? "OK" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

struct doctor {
	struct watch_opts *o;
	struct event_base *base;	/* every wait turns it */
	struct imap_client *imap;
	struct watch_reg reg;
	struct watch_udp udp;
	bool udp_open;
	struct event *udp_ev;	/* the socket is readable, or time is up */
	char udp_dst[80];	/* the server's notification endpoint */
};

static void
udp_ready_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* Wait until deadline for an authentic datagram. Returns 1 with *rx_r
 * set, 0 if none came, -1 on a socket or loop error. */
static int
udp_wait(struct doctor *d, uint64_t deadline, struct watch_udp_rx *rx_r)
{
	const char *error;
	struct timeval tv;
	uint64_t now, left;
	int r;

	for (;;) {
		r = watch_udp_recv(&d->udp, rx_r, &error);
		if (r != 0) {
			if (r < 0)
				log_debug("doctor: %s", error);
			return r;
		}
		now = clock_now_ms();
		if (now >= deadline)
			return 0;
		left = deadline - now;
		tv.tv_sec = (time_t)(left / 1000);
		tv.tv_usec = (suseconds_t)(left % 1000 * 1000);
		if (event_add(d->udp_ev, &tv) < 0 ||
		    event_base_loop(d->base, EVLOOP_ONCE) < 0)
			return -1;
		event_del(d->udp_ev);
	}
}

/* HELLO, then CHALLENGE and VERIFY, until a verified STATUS. */
static bool
check_udp(struct doctor *d)
{
	struct watch_udp_rx rx;
	const char *error;
	const struct sockaddr *peer;
	socklen_t plen;
	char local[80], observed[80];
	uint64_t start, next_hello, deadline;
	int hellos = 1, r;
	bool challenged = false;

	peer = imap_client_peer(d->imap, &plen);
	if (watch_udp_open(&d->udp, peer, plen, d->reg.port, d->o->udp_port,
	    &error) < 0) {
		say(false, "cannot open a UDP socket: %s%s", error,
		    d->o->udp_port != 0 ? " (is another program, or a "
		    "`mailbell watch`, using --udp-port?)" : "");
		return false;
	}
	d->udp_open = true;
	d->udp_ev = event_new(d->base, d->udp.fd, EV_READ, udp_ready_cb, d);
	if (d->udp_ev == NULL)
		fatalx("out of memory");
	if (watch_udp_set_reg(&d->udp, &d->reg) < 0) {
		say(false, "cannot derive the notification keys");
		return false;
	}
	watch_sockaddr_text(peer, d->udp_dst, sizeof(d->udp_dst));
	/* the server's address with the notification port */
	{
		char *colon = strrchr(d->udp_dst, ':');

		if (colon != NULL)
			snprintf(colon, sizeof(d->udp_dst) -
			    (size_t)(colon - d->udp_dst), ":%u", d->reg.port);
	}
	watch_udp_local_text(&d->udp, local, sizeof(local));
	if (watch_udp_send_hello(&d->udp, &error) < 0) {
		say(false, "UDP HELLO from %s to %s: %s: allow outbound UDP "
		    "to port %u", local, d->udp_dst, error, d->reg.port);
		return false;
	}
	say(true, "sent a UDP HELLO from %s to %s", local, d->udp_dst);

	start = clock_now_ms();
	deadline = start + DOCTOR_UDP_WAIT_MS;
	next_hello = start + 1000;
	while (clock_now_ms() < deadline) {
		uint64_t until = next_hello < deadline ? next_hello : deadline;

		r = udp_wait(d, until, &rx);
		if (r < 0)
			break;
		if (r == 0) {
			if (hellos < 3 && clock_now_ms() >= next_hello) {
				(void)watch_udp_send_hello(&d->udp, &error);
				next_hello = clock_now_ms() +
				    1000 * (1 << hellos);
				hellos++;
			}
			continue;
		}
		if (rx.kind == WATCH_UDP_CHALLENGE)
			challenged = true;
		if (rx.kind == WATCH_UDP_STATUS && d->udp.verified) {
			watch_udp_observed_text(&d->udp, observed,
			    sizeof(observed));
			say(true, "the server answered from %s and verified "
			    "this endpoint in %ld ms (it sees us as %s%s)",
			    d->udp_dst, (long)(clock_now_ms() - start), observed,
			    strcmp(observed, local) != 0 &&
			    strncmp(local, "0.0.0.0:", 8) != 0 &&
			    strncmp(local, "[::]:", 5) != 0 ?
			    "; a NAT is in the path, which is fine" : "");
			return true;
		}
	}
	if (d->udp.refused)
		say(false, "UDP to %s was refused (ICMP port unreachable): "
		    "nothing listens on port %u; check [notify] udp_port and "
		    "that the notifier runs (`mailbell ports` on the server)",
		    d->udp_dst, d->reg.port);
	else if (challenged)
		say(false, "UDP to %s: the server's CHALLENGE came back but "
		    "our VERIFY got no STATUS within %d s: something drops "
		    "the second datagram (a rate limit, or a NAT that "
		    "changes our port between datagrams)", d->udp_dst,
		    DOCTOR_UDP_WAIT_MS / 1000);
	else
		say(false, "UDP to %s got no reply within %d s: allow "
		    "outbound UDP to port %u and replies from it (see "
		    "`mailbell ports` on the server)", d->udp_dst,
		    DOCTOR_UDP_WAIT_MS / 1000, d->reg.port);
	return false;
}

/* * SEARCH n n ...: the UIDs of our test message (one, normally) */
struct search_ctx {
	uint32_t uids[8];
	size_t count;
};

static void
search_cb(void *ctx, const struct imap_client_resp *resp)
{
	struct search_ctx *sc = ctx;
	uint32_t uid;
	size_t i;

	if (resp->count < 1 || !imap_client_arg_is(&resp->args[0], "SEARCH"))
		return;
	for (i = 1; i < resp->count && sc->count < 8; i++)
		if (imap_client_arg_u32(&resp->args[i], &uid) == 0)
			sc->uids[sc->count++] = uid;
}

/* Delete and expunge exactly the message(s) with our Message-ID. */
static void
remove_test_message(struct doctor *d, const char *token)
{
	struct search_ctx sc;
	const char *error;
	size_t i;

	memset(&sc, 0, sizeof(sc));
	if (imap_client_cmd(d->imap, NULL, NULL, &error, "SELECT INBOX") !=
	    IMAP_CLIENT_OK ||
	    imap_client_cmd(d->imap, search_cb, &sc, &error,
	    "UID SEARCH HEADER Message-ID \"<doctor.%s@mailbell.invalid>\"",
	    token) != IMAP_CLIENT_OK)
		goto fail;
	for (i = 0; i < sc.count; i++)
		if (imap_client_cmd(d->imap, NULL, NULL, &error,
		    "UID STORE %u +FLAGS.SILENT (\\Deleted)", sc.uids[i]) !=
		    IMAP_CLIENT_OK ||
		    imap_client_cmd(d->imap, NULL, NULL, &error,
		    "UID EXPUNGE %u", sc.uids[i]) != IMAP_CLIENT_OK)
			goto fail;
	log_debug("doctor: removed %zu test message(s)", sc.count);
	return;
fail:
	log_warnx("doctor: could not remove the test message "
	    "<doctor.%s@mailbell.invalid> from INBOX: %s", token, error);
}

/* APPEND a test message, wait for its event, then remove it. */
static bool
check_event(struct doctor *d)
{
	enum imap_client_status st;
	struct watch_udp_rx rx;
	const char *error;
	char *msg, date[64], token[17];
	unsigned char rnd[8];
	uint64_t start, deadline;
	time_t t = time(NULL);
	struct tm tm;
	size_t i;
	bool ok = false;
	int r;

	if (notify_random(rnd, sizeof(rnd)) < 0)
		memset(rnd, 0, sizeof(rnd));
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(token + 2 * i, 3, "%02x", rnd[i]);
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	msg = xasprintf(
	    "From: mailbell doctor <doctor@mailbell.invalid>\r\n"
	    "To: %s\r\n"
	    "Subject: mailbell doctor test message\r\n"
	    "Date: %s\r\n"
	    "Message-ID: <doctor.%s@mailbell.invalid>\r\n"
	    "\r\n"
	    "mailbell doctor appended this message to test new-mail\r\n"
	    "notifications, and removes it at once.\r\n", d->o->user, date,
	    token);
	start = clock_now_ms();
	st = imap_client_cmd_literal(d->imap, NULL, NULL, &error, msg,
	    strlen(msg), "APPEND INBOX (\\Seen)");
	free(msg);
	if (st != IMAP_CLIENT_OK) {
		say(false, "APPEND of a test message to INBOX failed: %s",
		    error);
		return false;
	}
	deadline = start + DOCTOR_UDP_WAIT_MS;
	while (clock_now_ms() < deadline) {
		r = udp_wait(d, deadline, &rx);
		if (r <= 0)
			break;
		if (rx.kind != WATCH_UDP_EVENT ||
		    strcasecmp(rx.event.folder, "INBOX") != 0 ||
		    (rx.event.type != NOTIFY_EVENT_MESSAGE_APPEND &&
		    rx.event.type != NOTIFY_EVENT_MESSAGE_NEW))
			continue;
		say(true, "event round trip: %s INBOX uid=%u came %ld ms "
		    "after the APPEND", notify_event_type_name(rx.event.type),
		    rx.event.uid, (long)(clock_now_ms() - start));
		ok = true;
		break;
	}
	if (!ok)
		say(false, "no EVENT within %d s of APPENDing a test message "
		    "to INBOX, though the server answers our datagrams: "
		    "something passes replies but not the server's own "
		    "datagrams; allow UDP from %s to this host for as long "
		    "as we send keepalives (a stateful rule), or see the "
		    "server's log", DOCTOR_UDP_WAIT_MS / 1000, d->udp_dst);
	remove_test_message(d, token);
	return ok;
}

/* Whether the server refused something for want of TLS (RFC 5530). */
static bool
privacy_required(const char *error)
{
	return strstr(error, "[PRIVACYREQUIRED]") != NULL;
}

/* How the certificate was checked, for the TLS hop's OK line. */
static const char *
verified_how(const struct watch_opts *o, char *buf, size_t size)
{
	if (o->tls.pinned)
		snprintf(buf, size, "matches the pinned fingerprint");
	else
		snprintf(buf, size, "verified for %s by %s%s", o->host,
		    o->ca_file != NULL ? "--ca " : "the system's CAs",
		    o->ca_file != NULL ? o->ca_file : "");
	return buf;
}

/* The TLS hop: STARTTLS or IMAPS, the handshake and the certificate. */
static bool
check_tls(struct doctor *d)
{
	const struct watch_opts *o = d->o;
	const char *how = o->tls_mode == CLIENT_TLS_IMAPS ? "IMAPS" :
	    "STARTTLS", *error;
	char info[128], fp[TLS_FINGERPRINT_TEXT_SIZE], verified[256];

	if (imap_client_start_tls(d->imap, &o->tls, o->host,
	    DOCTOR_CONNECT_TIMEOUT_MS, &error) < 0) {
		say(false, "TLS (%s) with %s: %s", how, o->server_text, error);
		return false;
	}
	if (!imap_client_tls_info(d->imap, info, sizeof(info), fp))
		fatalx("TLS is up without a TLS session");
	say(true, "TLS (%s) with %s: %s; certificate %s (sha256 %s)", how,
	    o->server_text, info, verified_how(o, verified,
	    sizeof(verified)), fp);
	return true;
}

/* TCP, TLS and the greeting, each hop said apart. */
static bool
check_connect(struct doctor *d)
{
	const struct watch_opts *o = d->o;
	enum client_tls_mode mode = o->tls_mode;
	const char *error;

	d->imap = imap_client_open(d->base, o->host, o->port,
	    DOCTOR_CONNECT_TIMEOUT_MS, NULL, &error);
	if (d->imap != NULL && mode != CLIENT_TLS_IMAPS &&
	    imap_client_greeting(d->imap, o->host, o->port,
	    DOCTOR_CONNECT_TIMEOUT_MS, &error) < 0)
		imap_client_free(&d->imap);
	if (d->imap == NULL) {
		say(false, "TCP connect to IMAP at %s: %s: check that "
		    "mailbelld runs there and allow outbound TCP to port %s%s",
		    o->server_text, error, o->port, mode == CLIENT_TLS_STARTTLS
		    && strstr(error, "no IMAP greeting") != NULL ? " (if it "
		    "is an IMAPS port, pass --tls imaps)" : "");
		return false;
	}
	say(true, "TCP connect to IMAP at %s", o->server_text);
	if (mode == CLIENT_TLS_NONE) {
		printf("NOTE --tls none: the password and the notification "
		    "keys cross the network in clear text\n");
		return true;
	}
	if (!check_tls(d))
		return false;
	if (mode == CLIENT_TLS_IMAPS && imap_client_greeting(d->imap, o->host,
	    o->port, DOCTOR_CONNECT_TIMEOUT_MS, &error) < 0) {
		say(false, "IMAP inside TLS at %s: %s", o->server_text, error);
		return false;
	}
	return true;
}

static bool
run_checks(struct doctor *d)
{
	enum imap_client_status st;
	const char *error;

	if (!check_connect(d))
		return false;

	st = imap_client_login(d->imap, d->o->user, d->o->password, &error);
	if (st != IMAP_CLIENT_OK) {
		say(false, "login as %s: %s%s", d->o->user, error,
		    st != IMAP_CLIENT_NO ? "" : privacy_required(error) ?
		    ": the server takes no password in clear text from this "
		    "network; drop --tls none" : ": check the user name and "
		    "the password file");
		return false;
	}
	say(true, "login as %s", d->o->user);

	if (!imap_client_has_cap(d->imap, "XBELL")) {
		say(false, "the server does not offer XBELL notifications: "
		    "the notifier is off ([notify] enabled = no in "
		    "mailbell.conf) or the server is too old; `mailbell "
		    "watch` still works, through IMAP IDLE");
		return false;
	}
	say(true, "the server offers XBELL notifications");

	st = imap_client_cmd(d->imap, watch_reg_untagged_cb, &d->reg, &error,
	    "XBELL REGISTER");
	if (st != IMAP_CLIENT_OK || !d->reg.valid) {
		say(false, "XBELL REGISTER: %s%s", st != IMAP_CLIENT_OK ? error :
		    "no XBELL REGISTERED response", st == IMAP_CLIENT_NO &&
		    privacy_required(error) ? ": the server sends no "
		    "notification keys in clear text; drop --tls none" : "");
		return false;
	}
	say(true, "registered for notifications (UDP port %u, keepalive "
	    "%u s, lease %u s)", d->reg.port, d->reg.keepalive,
	    d->reg.lease);

	if (!check_udp(d))
		return false;
	return check_event(d);
}

static int
cmd_doctor(struct client_ctx *ctx, int argc, char **argv)
{
	struct watch_opts o;
	struct doctor d;
	const char *error;
	bool ok;
	int r;

	(void)ctx;
	if ((r = watch_opts_parse(&cmd_doctor_entry, false, argc, argv,
	    &o)) >= 0)
		return r;
	if (o.verbose)
		log_init("mailbell", true);
	/* libevent writes without MSG_NOSIGNAL: a server that hangs up
	   must make a write fail, not end us. */
	signal(SIGPIPE, SIG_IGN);
	memset(&d, 0, sizeof(d));
	d.o = &o;
	d.udp.fd = -1;
	if ((d.base = event_base_new()) == NULL)
		fatalx("cannot make an event base");
	ok = run_checks(&d);
	if (d.imap != NULL && d.reg.valid)
		(void)imap_client_cmd(d.imap, NULL, NULL, &error,
		    "XBELL UNREGISTER \"%s\"", d.reg.id_hex);
	if (d.imap != NULL)
		(void)imap_client_cmd(d.imap, NULL, NULL, &error, "LOGOUT");
	imap_client_free(&d.imap);
	if (d.udp_ev != NULL)
		event_free(d.udp_ev);
	if (d.udp_open)
		watch_udp_close(&d.udp);
	event_base_free(d.base);
	watch_reg_wipe(&d.reg);
	watch_opts_free(&o);
	if (ok)
		printf("All checks passed: new-mail notifications work.\n");
	return ok ? 0 : EX_UNAVAILABLE;
}
