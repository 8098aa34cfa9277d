/*
 * `mailbell watch`: log on over IMAP, register for notifications, and
 * print a line (or run a command) the moment mail lands, learning of it
 * from the server's UDP doorbell, or from IMAP IDLE where UDP does not
 * get through. Every doubt (a gap in event numbers, a server restart, a
 * switch between UDP and IDLE, a reconnect) ends in a resync over IMAP
 * from the last UIDNEXT we know, so no new message goes unreported.
 */
#include <errno.h>
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
#include "client/watch-out.h"
#include "client/watch-udp.h"
#include "client/watch.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

static int cmd_watch(struct client_ctx *, int, char **);

const struct client_cmd cmd_watch_entry = {
	"watch",
	"watch --server HOST[:PORT] --user NAME --password-file FILE\n"
	"       [--udp-port N] [--json] [--exec CMD] [-v]",
	"log on and report new mail as it lands (UDP doorbell, IDLE fallback)",
	"  --server HOST[:PORT]  the mailbell IMAP server (port 1143 if not\n"
	"                        given; [ADDR]:PORT for IPv6)\n"
	"  --user NAME           the user to log on as\n"
	"  --password-file FILE  the password is the file's first line\n"
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
	"With IDLE, new mail in INBOX is reported at once and in other\n"
	"folders within 5 minutes. Reconnects by itself when the server goes\n"
	"away. SIGINT or SIGTERM unregisters and exits 0.\n"
	"Exit status: 0 stopped by a signal, 64 usage, 66 no password file,\n"
	"71 the UDP port cannot be bound, 74 stdout closed, 77 login refused.\n",
	cmd_watch,
};

/* Timers, in milliseconds. */
#define WATCH_CONNECT_TIMEOUT_MS 10000
/* HELLO is sent at once, then after 1 and 2 more seconds (4.6). */
#define WATCH_HELLO_FIRST_RETRY_MS 1000
#define WATCH_HELLO_SENDS 3
/* No verified STATUS this long after the first HELLO: use IDLE (4.6). */
#define WATCH_FALLBACK_MS 5000
/* How long a keepalive waits for its STATUS before it counts as lost. */
#define WATCH_STATUS_WAIT_MS 3000
/* Keepalives in a row without a STATUS before IDLE takes over (4.6). */
#define WATCH_MISSED_MAX 2
/* IDLE is left this often to look at every folder, and re-issued: well
 * inside RFC 2177's 29 minutes. */
#define WATCH_IDLE_POLL_MS (5 * 60 * 1000)
/* In IDLE mode, register anew this often: a registration whose
 * datagrams never got through has a lease that runs out, and HELLOs for
 * it would never be answered once UDP works again. */
#define WATCH_REREGISTER_MS (60 * 60 * 1000)
/* A NOOP this often keeps a quiet IMAP session (UDP mode) alive and
 * finds a dead one. */
#define WATCH_NOOP_MS (5 * 60 * 1000)
/* Reconnecting: exponential backoff with jitter between these. */
#define WATCH_BACKOFF_MIN_MS 1000
#define WATCH_BACKOFF_MAX_MS 60000

enum watch_mode {
	WATCH_DOWN,		/* no IMAP session: WATCH_T_RECONNECT says
				   when to try again */
	WATCH_STARTING,		/* registered, HELLO sent, no STATUS yet */
	WATCH_UDP,		/* events come by UDP */
	WATCH_IDLE,		/* events come by IMAP IDLE; UDP probed */
};

/* The timers; each is an evtimer that, when it fires, marks itself due
 * for the loop to act on (see watch_loop()). */
enum watch_timer_id {
	WATCH_T_HELLO,		/* next HELLO (STARTING, IDLE) */
	WATCH_T_FALLBACK,	/* STARTING gives up on UDP */
	WATCH_T_KEEPALIVE,	/* next KEEPALIVE (UDP) */
	WATCH_T_STATUS,		/* the last keepalive's STATUS is late */
	WATCH_T_IDLE_POLL,	/* leave IDLE, look at all folders */
	WATCH_T_REREGISTER,	/* IDLE: a fresh registration */
	WATCH_T_NOOP,		/* next NOOP (UDP, STARTING) */
	WATCH_T_RECONNECT,	/* next connection attempt (DOWN) */
	WATCH_T_COUNT
};

struct watch;

struct watch_timer {
	struct watch *w;
	struct event *ev;	/* an evtimer on w->base */
	bool due;		/* fired, not acted on yet */
};

/* What we know of one folder. */
struct watch_folder {
	char *name;		/* IMAP name (modified UTF-7) */
	uint32_t uidvalidity;
	uint32_t uidnext;	/* every message below it was reported, or
				   was there when we started */
	bool listed;		/* in the last LIST */
};

struct watch {
	struct watch_opts *o;
	int exit_code;			/* -1 while running */

	/* The loop. IMAP commands turn it themselves while they wait for
	   their reply, and libevent runs one loop at a time, so callbacks
	   only note what happened and watch_loop() acts on it between
	   turns. */
	struct event_base *base;
	struct event *sig_int, *sig_term, *sig_chld;
	struct event *udp_ev;		/* udp.fd readable, one shot */
	bool imap_ready;		/* the input callback fired */
	bool udp_ready;			/* udp_ev fired */

	/* The IMAP session. */
	struct imap_client *imap;	/* NULL when down */
	bool xbell;			/* the server offers XBELL */
	bool idling;			/* an IDLE command is running */
	bool inbox_woke;		/* IDLE reported a change */
	char *selected;			/* the EXAMINEd folder, or NULL */

	/* Notifications. */
	struct watch_reg reg;		/* the registration (reg.valid) */
	struct watch_udp udp;
	bool udp_open;
	enum watch_mode mode;

	struct watch_folder *folders;
	size_t folder_count;
	bool baselined;			/* every folder's UIDNEXT read once */

	struct watch_timer timers[WATCH_T_COUNT];
	int hello_sends;		/* HELLOs sent since STARTING */
	int missed;			/* keepalives without STATUS */
	int64_t backoff_ms;		/* the wait after the next failure */
};

/* Set by the SIGINT and SIGTERM events; aborts the wait of a command. */
static volatile sig_atomic_t watch_stop;

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A random number in [0, n). */
static uint64_t
rnd(uint64_t n)
{
	uint64_t v = 0;

	if (n == 0)
		return 0;
	if (notify_random(&v, sizeof(v)) < 0)
		v = (uint64_t)now_ms() * 6364136223846793005ULL;
	return v % n;
}

/* The keepalive interval less up to 10% (4.3). */
static int64_t
keepalive_ms(const struct watch *w)
{
	int64_t ms = (int64_t)(w->reg.keepalive > 0 ? w->reg.keepalive : 25) *
	    1000;

	return ms - (int64_t)rnd((uint64_t)ms / 10 + 1);
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
static void
timer_set(struct watch *w, enum watch_timer_id id, int64_t ms)
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

static void
timer_stop(struct watch *w, enum watch_timer_id id)
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

static bool
timers_any_due(const struct watch *w)
{
	size_t i;

	for (i = 0; i < WATCH_T_COUNT; i++)
		if (w->timers[i].due)
			return true;
	return false;
}

static void
out_failed(struct watch *w)
{
	if (w->exit_code < 0) {
		log_warnx("watch: cannot write to stdout; stopping");
		w->exit_code = EX_IOERR;
	}
}

/* ---- Folders ---- */

static struct watch_folder *
folder_find(struct watch *w, const char *name)
{
	size_t i;

	for (i = 0; i < w->folder_count; i++)
		if (strcmp(w->folders[i].name, name) == 0 ||
		    (strcasecmp(name, "INBOX") == 0 &&
		    strcasecmp(w->folders[i].name, "INBOX") == 0))
			return &w->folders[i];
	return NULL;
}

/* Pointers into folders are invalid after this. */
static struct watch_folder *
folder_add(struct watch *w, const char *name)
{
	struct watch_folder *f;

	w->folders = xreallocarray(w->folders, w->folder_count + 1,
	    sizeof(*w->folders));
	f = &w->folders[w->folder_count++];
	memset(f, 0, sizeof(*f));
	f->name = xstrdup(name);
	return f;
}

static void
folders_free(struct watch *w)
{
	size_t i;

	for (i = 0; i < w->folder_count; i++)
		free(w->folders[i].name);
	free(w->folders);
	w->folders = NULL;
	w->folder_count = 0;
}

/* ---- The IMAP session ---- */

/* DOWN until a jittered backoff has passed; the backoff doubles. */
static void
schedule_reconnect(struct watch *w, const char *what, const char *why)
{
	int64_t wait;
	size_t i;

	/* Nothing of the session goes on while it is down. */
	w->mode = WATCH_DOWN;
	for (i = 0; i < WATCH_T_COUNT; i++)
		timer_stop(w, (enum watch_timer_id)i);
	wait = w->backoff_ms / 2 + (int64_t)rnd((uint64_t)w->backoff_ms / 2 +
	    1);
	timer_set(w, WATCH_T_RECONNECT, wait);
	log_warnx("watch: %s%s: %s; trying again in %.1f s", what,
	    w->o->server_text, why, (double)wait / 1000);
	w->backoff_ms *= 2;
	if (w->backoff_ms > WATCH_BACKOFF_MAX_MS)
		w->backoff_ms = WATCH_BACKOFF_MAX_MS;
}

static void
watch_lost(struct watch *w, const char *why)
{
	if (w->imap == NULL)
		return;
	imap_client_free(&w->imap);
	free(w->selected);
	w->selected = NULL;
	w->idling = false;
	w->inbox_woke = false;
	if (watch_stop)
		return;
	schedule_reconnect(w, "lost the connection to ", why);
}

/* Run a command; on a failed connection drop it. Returns the status. */
static enum imap_client_status
run(struct watch *w, imap_client_untagged_cb *cb, void *ctx,
    const char *what, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
idle_untagged_cb(void *ctx, const struct imap_client_resp *resp)
{
	struct watch *w = ctx;

	if (resp->count >= 2 && (imap_client_arg_is(&resp->args[1], "EXISTS")
	    || imap_client_arg_is(&resp->args[1], "EXPUNGE")))
		w->inbox_woke = true;
}

/* End a running IDLE. Returns 0, or -1 if the session was lost. */
static int
leave_idle(struct watch *w)
{
	const char *error;
	enum imap_client_status st;

	if (!w->idling)
		return 0;
	w->idling = false;
	st = imap_client_idle_done(w->imap, idle_untagged_cb, w, &error);
	if (st == IMAP_CLIENT_FAILED) {
		watch_lost(w, error);
		return -1;
	}
	return 0;
}

static enum imap_client_status
run(struct watch *w, imap_client_untagged_cb *cb, void *ctx,
    const char *what, const char *fmt, ...)
{
	enum imap_client_status st;
	const char *error;
	char *text;
	va_list ap;

	if (w->imap == NULL || leave_idle(w) < 0)
		return IMAP_CLIENT_FAILED;
	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		fatalx("out of memory");
	va_end(ap);
	st = imap_client_cmd(w->imap, cb, ctx, &error, "%s", text);
	free(text);
	if (st == IMAP_CLIENT_FAILED)
		watch_lost(w, error);
	else if (st == IMAP_CLIENT_NO)
		log_debug("watch: %s: %s", what, error);
	return st;
}

/* ---- Reading responses ---- */

struct list_ctx {
	struct watch *w;
};

/* * LIST (flags) delimiter name */
static void
list_cb(void *ctx, const struct imap_client_resp *resp)
{
	struct watch *w = ctx;
	const struct imap_client_arg *flags, *name;
	struct watch_folder *f;
	size_t i;

	if (resp->count < 4 || !imap_client_arg_is(&resp->args[0], "LIST") ||
	    resp->args[1].type != IMAP_CLIENT_ARG_LIST)
		return;
	flags = &resp->args[1];
	name = &resp->args[3];
	if (name->type == IMAP_CLIENT_ARG_LIST ||
	    name->type == IMAP_CLIENT_ARG_NIL || name->len == 0 ||
	    strlen(name->str) != name->len)
		return;
	for (i = 0; i < flags->count; i++)
		if (imap_client_arg_is(&flags->list[i], "\\Noselect") ||
		    imap_client_arg_is(&flags->list[i], "\\NonExistent"))
			return;
	if ((f = folder_find(w, name->str)) == NULL) {
		f = folder_add(w, name->str);
		f->uidnext = 0;		/* 0: no baseline yet */
	}
	f->listed = true;
}

struct status_ctx {
	uint32_t uidnext, uidvalidity;
	bool have_uidnext, have_uidvalidity;
};

/* * STATUS name (UIDNEXT n UIDVALIDITY n) */
static void
status_cb(void *ctx, const struct imap_client_resp *resp)
{
	struct status_ctx *sc = ctx;
	const struct imap_client_arg *l;
	size_t i;

	if (resp->count < 3 || !imap_client_arg_is(&resp->args[0], "STATUS") ||
	    resp->args[2].type != IMAP_CLIENT_ARG_LIST)
		return;
	l = &resp->args[2];
	for (i = 0; i + 1 < l->count; i += 2) {
		if (imap_client_arg_is(&l->list[i], "UIDNEXT") &&
		    imap_client_arg_u32(&l->list[i + 1], &sc->uidnext) == 0)
			sc->have_uidnext = true;
		else if (imap_client_arg_is(&l->list[i], "UIDVALIDITY") &&
		    imap_client_arg_u32(&l->list[i + 1], &sc->uidvalidity) == 0)
			sc->have_uidvalidity = true;
	}
}

/* * OK [UIDVALIDITY n] and * OK [UIDNEXT n] of SELECT and EXAMINE */
static void
select_cb(void *ctx, const struct imap_client_resp *resp)
{
	struct status_ctx *sc = ctx;
	unsigned int v;

	if (resp->count < 2 || !imap_client_arg_is(&resp->args[0], "OK") ||
	    resp->args[1].type != IMAP_CLIENT_ARG_ATOM)
		return;
	if (sscanf(resp->args[1].str, "[UIDVALIDITY %u]", &v) == 1) {
		sc->uidvalidity = v;
		sc->have_uidvalidity = true;
	} else if (sscanf(resp->args[1].str, "[UIDNEXT %u]", &v) == 1) {
		sc->uidnext = v;
		sc->have_uidnext = true;
	}
}

struct fetched {
	uint32_t uid;
	char *from, *subject;
};

struct fetch_ctx {
	struct fetched *msgs;
	size_t count;
};

/* * n FETCH (UID u BODY[HEADER.FIELDS (FROM SUBJECT)] {len}...) */
static void
fetch_cb(void *ctx, const struct imap_client_resp *resp)
{
	struct fetch_ctx *fc = ctx;
	const struct imap_client_arg *l, *k, *v;
	struct fetched m;
	bool have_uid = false;
	size_t i;

	if (resp->count < 3 || !imap_client_arg_is(&resp->args[1], "FETCH") ||
	    resp->args[2].type != IMAP_CLIENT_ARG_LIST)
		return;
	memset(&m, 0, sizeof(m));
	l = &resp->args[2];
	for (i = 0; i + 1 < l->count; i += 2) {
		k = &l->list[i];
		v = &l->list[i + 1];
		if (imap_client_arg_is(k, "UID") &&
		    imap_client_arg_u32(v, &m.uid) == 0)
			have_uid = true;
		else if (k->type == IMAP_CLIENT_ARG_ATOM &&
		    strncasecmp(k->str, "BODY[", 5) == 0 &&
		    v->type == IMAP_CLIENT_ARG_STRING && m.from == NULL &&
		    m.subject == NULL)
			watch_out_headers(v->str, v->len, &m.from, &m.subject);
	}
	if (!have_uid) {
		free(m.from);
		free(m.subject);
		return;
	}
	fc->msgs = xreallocarray(fc->msgs, fc->count + 1, sizeof(*fc->msgs));
	fc->msgs[fc->count++] = m;
}

static int
fetched_cmp(const void *a, const void *b)
{
	const struct fetched *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* ---- Reporting ---- */

static void
report(struct watch *w, const struct watch_mail *m)
{
	if (watch_out_event(w->o->json, m) < 0)
		out_failed(w);
	if (m->is_new && w->o->exec != NULL)
		(void)watch_out_exec(w->o->exec, m);
}

/*
 * Make name the selected folder (EXAMINE: read-only, \Recent and \Seen
 * untouched), or bring the view of the selected one up to date (NOOP).
 * Returns 0 with *sc filled as far as EXAMINE said, 1 if the folder
 * cannot be selected, -1 if the session was lost.
 */
static int
select_folder(struct watch *w, const char *name, struct status_ctx *sc)
{
	enum imap_client_status st;
	char *q;

	memset(sc, 0, sizeof(*sc));
	if (w->selected != NULL && strcmp(w->selected, name) == 0) {
		st = run(w, NULL, NULL, "NOOP", "NOOP");
		return st == IMAP_CLIENT_FAILED ? -1 : 0;
	}
	if ((q = imap_client_quote(name)) == NULL)
		return 1;
	free(w->selected);
	w->selected = NULL;
	st = run(w, select_cb, sc, "EXAMINE", "EXAMINE %s", q);
	free(q);
	if (st == IMAP_CLIENT_FAILED)
		return -1;
	if (st == IMAP_CLIENT_NO)
		return 1;
	w->selected = xstrdup(name);
	return 0;
}

/*
 * Report every message of the folder from its known UIDNEXT on, with
 * From and Subject; hint_uid (0: none) is reported as hint_event even if
 * it is gone already. Returns 0, or -1 if the session was lost.
 */
static int
fetch_new(struct watch *w, const char *name, uint32_t hint_uid,
    const char *hint_event, const char *via)
{
	struct watch_folder *f;
	struct status_ctx sc;
	struct fetch_ctx fc;
	struct watch_mail m;
	enum imap_client_status st;
	uint32_t from_uid;
	bool hint_done = false;
	size_t i;
	int r;

	if ((r = select_folder(w, name, &sc)) != 0)
		return r < 0 ? -1 : 0;
	if ((f = folder_find(w, name)) == NULL)
		return 0;
	if (f->uidnext == 0) {
		/* No baseline yet: what is there now is not news. */
		if (sc.have_uidvalidity && sc.have_uidnext) {
			f->uidvalidity = sc.uidvalidity;
			f->uidnext = sc.uidnext;
		}
		return 0;
	}
	if (sc.have_uidvalidity && f->uidvalidity != sc.uidvalidity) {
		/* A new UIDVALIDITY: the old UIDs mean nothing; start
		   again from what is there now. */
		f->uidvalidity = sc.uidvalidity;
		f->uidnext = sc.have_uidnext ? sc.uidnext : 0;
		if (f->uidnext == 0)
			return 0;
	}
	from_uid = f->uidnext > 0 ? f->uidnext : 1;
	memset(&fc, 0, sizeof(fc));
	st = run(w, fetch_cb, &fc, "UID FETCH", "UID FETCH %u:* (UID "
	    "BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)])", from_uid);
	if (st == IMAP_CLIENT_FAILED)
		goto out;
	if ((f = folder_find(w, name)) == NULL)
		goto out;
	qsort(fc.msgs, fc.count, sizeof(*fc.msgs), fetched_cmp);
	memset(&m, 0, sizeof(m));
	m.folder = f->name;
	m.uidvalidity = f->uidvalidity;
	m.via = via;
	m.is_new = true;
	for (i = 0; i < fc.count; i++) {
		if (fc.msgs[i].uid < from_uid)
			continue;	/* "n:*" includes the last one */
		hint_done = hint_done || fc.msgs[i].uid == hint_uid;
		m.event = fc.msgs[i].uid == hint_uid ? hint_event :
		    "MessageNew";
		m.uid = fc.msgs[i].uid;
		m.from = fc.msgs[i].from;
		m.subject = fc.msgs[i].subject;
		report(w, &m);
		if (f->uidnext <= fc.msgs[i].uid)
			f->uidnext = fc.msgs[i].uid + 1;
	}
	if (hint_uid != 0 && !hint_done && hint_uid >= from_uid) {
		/* Gone before we could read it; it did land. */
		m.event = hint_event;
		m.uid = hint_uid;
		m.from = m.subject = NULL;
		report(w, &m);
	}
	if (hint_uid != 0 && f->uidnext <= hint_uid)
		f->uidnext = hint_uid + 1;
	if (sc.have_uidnext && f->uidnext < sc.uidnext)
		f->uidnext = sc.uidnext;
out:
	for (i = 0; i < fc.count; i++) {
		free(fc.msgs[i].from);
		free(fc.msgs[i].subject);
	}
	free(fc.msgs);
	return st == IMAP_CLIENT_FAILED ? -1 : 0;
}

/*
 * Look at one folder: baseline it if we have none, else report what
 * came since. Returns 0, or -1 if the session was lost.
 */
static int
resync_folder(struct watch *w, const char *name, const char *via)
{
	struct watch_folder *f;
	struct status_ctx sc;
	enum imap_client_status st;
	char *q;

	if ((f = folder_find(w, name)) == NULL)
		f = folder_add(w, name);
	if (f->uidnext != 0 && w->selected != NULL &&
	    strcmp(w->selected, f->name) == 0)
		/* STATUS is not for the selected folder (RFC 3501 6.3.10) */
		return fetch_new(w, name, 0, NULL, via);
	if ((q = imap_client_quote(name)) == NULL)
		return 0;
	memset(&sc, 0, sizeof(sc));
	st = run(w, status_cb, &sc, "STATUS", "STATUS %s (UIDNEXT UIDVALIDITY)",
	    q);
	free(q);
	if (st == IMAP_CLIENT_FAILED)
		return -1;
	if (st == IMAP_CLIENT_NO || !sc.have_uidnext || !sc.have_uidvalidity)
		return 0;	/* gone, or not a folder we can read */
	f = folder_find(w, name);
	if (f->uidnext == 0 || f->uidvalidity != sc.uidvalidity) {
		f->uidvalidity = sc.uidvalidity;
		f->uidnext = sc.uidnext;
		return 0;
	}
	if (sc.uidnext > f->uidnext)
		return fetch_new(w, name, 0, NULL, via);
	return 0;
}

/* Every folder: LIST, then each one. Returns 0, or -1 if lost. */
static int
resync_all(struct watch *w, const char *via)
{
	enum imap_client_status st;
	char **names;
	size_t i, n;
	int ret = 0;

	for (i = 0; i < w->folder_count; i++)
		w->folders[i].listed = false;
	st = run(w, list_cb, w, "LIST", "LIST \"\" \"*\"");
	if (st == IMAP_CLIENT_FAILED)
		return -1;
	/* resync_folder() may grow the array: walk a copy of the names */
	n = w->folder_count;
	names = xcalloc(n, sizeof(*names));
	for (i = 0; i < n; i++)
		names[i] = xstrdup(w->folders[i].name);
	for (i = 0; i < n && ret == 0; i++)
		ret = resync_folder(w, names[i], via);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return ret;
}

/* ---- Events ---- */

static int
handle_event(struct watch *w, const struct notify_event *ev)
{
	const char *name = notify_event_type_name(ev->type);
	struct watch_folder *f;
	struct watch_mail m;

	switch (ev->type) {
	case NOTIFY_EVENT_MESSAGE_NEW:
	case NOTIFY_EVENT_MESSAGE_APPEND:
		if ((f = folder_find(w, ev->folder)) == NULL) {
			/* A folder new to us: report from this message on. */
			f = folder_add(w, ev->folder);
			f->uidvalidity = ev->uidvalidity;
			f->uidnext = ev->uid;
		}
		if (f->uidnext == 0 || f->uidvalidity != ev->uidvalidity) {
			log_debug("watch: %s: UIDVALIDITY %u, UIDNEXT %u before "
			    "the event: resync", f->name, f->uidvalidity,
			    f->uidnext);
			return resync_folder(w, ev->folder, "udp");
		}
		if (ev->uid < f->uidnext)
			return 0;	/* a resync reported it already */
		return fetch_new(w, ev->folder, ev->uid, name, "udp");
	case NOTIFY_EVENT_MESSAGE_EXPUNGE:
	case NOTIFY_EVENT_FLAGS_SET:
	case NOTIFY_EVENT_FLAGS_CLEAR:
		memset(&m, 0, sizeof(m));
		m.event = name;
		m.folder = ev->folder;
		m.uid = ev->uid;
		m.uidvalidity = ev->uidvalidity;
		m.via = "udp";
		report(w, &m);
		return 0;
	case NOTIFY_EVENT_MAILBOX_RESYNC:
	default:
		if (ev->folder_len == 0)
			return resync_all(w, "udp");
		return resync_folder(w, ev->folder, "udp");
	}
}

/* ---- Modes ---- */

static void
enter_udp(struct watch *w)
{
	if (leave_idle(w) < 0)
		return;
	w->mode = WATCH_UDP;
	timer_stop(w, WATCH_T_HELLO);
	timer_stop(w, WATCH_T_FALLBACK);
	timer_stop(w, WATCH_T_IDLE_POLL);
	timer_stop(w, WATCH_T_REREGISTER);
	timer_set(w, WATCH_T_KEEPALIVE, keepalive_ms(w));
	timer_stop(w, WATCH_T_STATUS);
	w->missed = 0;
	timer_set(w, WATCH_T_NOOP, WATCH_NOOP_MS);
	/* Catch up first: "ready" means what lands from now on is live. */
	if (resync_all(w, "udp") < 0)
		return;
	if (watch_out_ready(w->o->json, "udp") < 0)
		out_failed(w);
}

static void
enter_idle(struct watch *w, const char *why)
{
	if (why != NULL)
		log_warnx("watch: %s; using IMAP IDLE%s", why,
		    w->reg.valid ? " and trying UDP again now and then" : "");
	w->mode = WATCH_IDLE;
	timer_stop(w, WATCH_T_FALLBACK);
	timer_stop(w, WATCH_T_KEEPALIVE);
	timer_stop(w, WATCH_T_STATUS);
	timer_stop(w, WATCH_T_NOOP);
	if (w->reg.valid) {
		timer_set(w, WATCH_T_HELLO, keepalive_ms(w));
		timer_set(w, WATCH_T_REREGISTER, WATCH_REREGISTER_MS);
	} else {
		timer_stop(w, WATCH_T_HELLO);
		timer_stop(w, WATCH_T_REREGISTER);
	}
	timer_set(w, WATCH_T_IDLE_POLL, WATCH_IDLE_POLL_MS);
	if (resync_all(w, "idle") < 0)
		return;
	if (watch_out_ready(w->o->json, "idle") < 0)
		out_failed(w);
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
static int
do_register(struct watch *w)
{
	enum imap_client_status st;
	struct watch_reg reg;
	const char *error;

	if (w->reg.valid) {
		st = run(w, NULL, NULL, "XBELL UNREGISTER",
		    "XBELL UNREGISTER \"%s\"", w->reg.id_hex);
		if (st == IMAP_CLIENT_FAILED)
			return -1;
		watch_reg_wipe(&w->reg);
	}
	memset(&reg, 0, sizeof(reg));
	st = run(w, watch_reg_untagged_cb, &reg, "XBELL REGISTER",
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

static void
send_hello(struct watch *w)
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
static void
watch_connect(struct watch *w)
{
	enum imap_client_status st;
	const char *error;
	int r;

	w->imap = imap_client_connect(w->base, w->o->host, w->o->port,
	    WATCH_CONNECT_TIMEOUT_MS, &watch_stop, &error);
	if (w->imap == NULL) {
		if (!watch_stop)
			schedule_reconnect(w, "", error);
		return;
	}
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
	if (!w->baselined) {
		/* What is there before we say "ready" is not news; what
		   lands after this is, whichever way we learn of it. */
		if (resync_all(w, "udp") < 0)
			return;
		w->baselined = true;
	}
	w->xbell = imap_client_has_cap(w->imap, "XBELL");
	if (!w->xbell) {
		enter_idle(w, "the server does not offer XBELL notifications");
		return;
	}
	r = do_register(w);
	if (r < 0 || w->exit_code >= 0)
		return;
	if (r > 0) {
		enter_idle(w, "no notification registration");
		return;
	}
	log_debug("watch: registered %s: UDP port %u, keepalive %u s, "
	    "epoch %u", w->reg.id_hex, w->reg.port, w->reg.keepalive,
	    w->reg.epoch);
	w->hello_sends = 1;
	send_hello(w);
	timer_set(w, WATCH_T_HELLO, WATCH_HELLO_FIRST_RETRY_MS);
	timer_set(w, WATCH_T_FALLBACK, WATCH_FALLBACK_MS);
	timer_set(w, WATCH_T_NOOP, WATCH_NOOP_MS);
}

/* ---- UDP ---- */

static void
udp_input(struct watch *w)
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
			timer_stop(w, WATCH_T_STATUS);
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
				(void)resync_all(w, "udp");
				continue;
			}
			(void)handle_event(w, &rx.event);
			continue;
		}
		if ((rx.gap || rx.new_epoch) && w->mode == WATCH_UDP)
			(void)resync_all(w, "udp");
	}
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
			enter_idle(w, "no verified reply to UDP within 5 s");
			return;
		}
		if (timer_due(w, WATCH_T_HELLO)) {
			send_hello(w);
			w->hello_sends++;
			if (w->hello_sends < WATCH_HELLO_SENDS)
				timer_set(w, WATCH_T_HELLO,
				    WATCH_HELLO_FIRST_RETRY_MS *
				    (1 << (w->hello_sends - 1)));
		}
	}
	if (w->mode == WATCH_UDP) {
		now = false;
		if (timer_due(w, WATCH_T_STATUS)) {
			if (++w->missed >= WATCH_MISSED_MAX) {
				/* Is it UDP, or the server? Ask over TCP. */
				if (run(w, NULL, NULL, "NOOP", "NOOP") ==
				    IMAP_CLIENT_FAILED)
					return;
				/* The registration may be gone too (4.5). */
				if (do_register(w) < 0)
					return;
				enter_idle(w, "two keepalives got no reply");
				if (w->reg.valid)
					send_hello(w);
				return;
			}
			now = true;	/* the next keepalive at once */
		}
		if (timer_due(w, WATCH_T_KEEPALIVE) || now) {
			if (watch_udp_send_keepalive(&w->udp, &error) < 0)
				log_debug("watch: %s", error);
			timer_set(w, WATCH_T_KEEPALIVE, keepalive_ms(w));
			timer_set(w, WATCH_T_STATUS, WATCH_STATUS_WAIT_MS);
		}
	}
	if (w->mode == WATCH_IDLE) {
		now = false;
		if (timer_due(w, WATCH_T_REREGISTER)) {
			timer_set(w, WATCH_T_REREGISTER, WATCH_REREGISTER_MS);
			if (do_register(w) < 0 || w->exit_code >= 0)
				return;
			now = true;	/* HELLO for it at once */
		}
		if (timer_due(w, WATCH_T_HELLO) || now) {
			send_hello(w);
			timer_set(w, WATCH_T_HELLO, keepalive_ms(w));
		}
		if (timer_due(w, WATCH_T_IDLE_POLL)) {
			timer_set(w, WATCH_T_IDLE_POLL, WATCH_IDLE_POLL_MS);
			(void)resync_all(w, "idle");
			return;
		}
	}
	if ((w->mode == WATCH_UDP || w->mode == WATCH_STARTING) &&
	    timer_due(w, WATCH_T_NOOP)) {
		timer_set(w, WATCH_T_NOOP, WATCH_NOOP_MS);
		(void)run(w, NULL, NULL, "NOOP", "NOOP");
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
			idle_untagged_cb(w, resp);
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

	while (!watch_stop && w->exit_code < 0) {
		watch_out_reap();
		if (w->mode == WATCH_DOWN) {
			if (timer_due(w, WATCH_T_RECONNECT)) {
				watch_connect(w);
				continue;
			}
		} else if (w->mode == WATCH_IDLE && w->inbox_woke) {
			w->inbox_woke = false;
			(void)fetch_new(w, "INBOX", 0, NULL, "idle");
			continue;
		} else if (w->mode == WATCH_IDLE && !w->idling) {
			/* Select INBOX, and report what came since we last
			   looked: IDLE only tells of what comes after. */
			if (fetch_new(w, "INBOX", 0, NULL, "idle") < 0 ||
			    w->imap == NULL)
				continue;
			if (imap_client_idle_start(w->imap, &error) ==
			    IMAP_CLIENT_FAILED) {
				watch_lost(w, error);
				continue;
			}
			w->idling = true;
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
		if (watch_stop)
			break;
		if (w->imap_ready)
			imap_input(w);
		if (w->udp_ready && w->imap != NULL)
			udp_input(w);
		if (w->imap != NULL)
			timers(w);
	}
}

static void
watch_shutdown(struct watch *w)
{
	const char *error;

	/* Say goodbye properly; a second signal cuts that short. */
	watch_stop = 0;
	if (w->imap != NULL)
		(void)leave_idle(w);
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
	folders_free(w);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	/* SIGCHLD only wakes the loop, which reaps. */
	if (sig == SIGINT || sig == SIGTERM)
		watch_stop = 1;
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
