/*
 * How `mailbell watch` learns what is new over IMAP: the folders it
 * knows with their UIDNEXT, running commands on the session (and
 * dropping it when one fails), and the resync that reports every
 * message from the last UIDNEXT on, so that no doubt (a gap in event
 * numbers, a server restart, a switch between UDP and IDLE, a
 * reconnect) loses a new message.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/imap-client.h"
#include "client/watch-out.h"
#include "client/watch-state.h"
#include "client/watch-udp.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

/* ---- Folders ---- */

struct watch_folder *
watch_folder_find(struct watch *w, const char *name)
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
struct watch_folder *
watch_folder_add(struct watch *w, const char *name)
{
	struct watch_folder *f;

	w->folders = xreallocarray(w->folders, w->folder_count + 1,
	    sizeof(*w->folders));
	f = &w->folders[w->folder_count++];
	memset(f, 0, sizeof(*f));
	f->name = xstrdup(name);
	return f;
}

void
watch_folders_free(struct watch *w)
{
	size_t i;

	for (i = 0; i < w->folder_count; i++) {
		free(w->folders[i].name);
		free(w->folders[i].snap);
	}
	free(w->folders);
	w->folders = NULL;
	w->folder_count = 0;
}

/* ---- The IMAP session ---- */

/* DOWN until a jittered backoff has passed; the backoff doubles. */
void
watch_schedule_reconnect(struct watch *w, const char *what, const char *why)
{
	int64_t wait;
	size_t i;

	/* Nothing of the session goes on while it is down. */
	w->mode = WATCH_DOWN;
	for (i = 0; i < WATCH_T_COUNT; i++)
		watch_timer_stop(w, (enum watch_timer_id)i);
	wait = w->backoff_ms / 2 + (int64_t)watch_random((uint64_t)w->backoff_ms / 2 +
	    1);
	watch_timer_set(w, WATCH_T_RECONNECT, wait);
	log_warnx("watch: %s%s: %s; trying again in %.1f s", what,
	    w->o->server_text, why, (double)wait / 1000);
	w->backoff_ms *= 2;
	if (w->backoff_ms > WATCH_BACKOFF_MAX_MS)
		w->backoff_ms = WATCH_BACKOFF_MAX_MS;
}

void
watch_lost(struct watch *w, const char *why)
{
	if (w->imap == NULL)
		return;
	imap_client_free(&w->imap);
	free(w->selected);
	w->selected = NULL;
	w->idling = false;
	w->inbox_woke = false;
	w->notify_on = false;
	w->qresync = false;
	w->have_selected_modseq = false;
	if (w->stop)
		return;
	watch_schedule_reconnect(w, "lost the connection to ", why);
}

void
watch_idle_untagged_cb(void *ctx, const struct imap_client_resp *resp)
{
	struct watch *w = ctx;

	if (w->notify_on)
		watch_notify_untagged(w, resp);
	if (resp->count >= 2 && (imap_client_arg_is(&resp->args[1], "EXISTS")
	    || imap_client_arg_is(&resp->args[1], "EXPUNGE") ||
	    imap_client_arg_is(&resp->args[0], "VANISHED")))
		w->inbox_woke = true;
}

/* End a running IDLE. Returns 0, or -1 if the session was lost. */
int
watch_leave_idle(struct watch *w)
{
	const char *error;
	enum imap_client_status st;

	if (!w->idling)
		return 0;
	w->idling = false;
	st = imap_client_idle_done(w->imap, watch_idle_untagged_cb, w, &error);
	if (st == IMAP_CLIENT_FAILED) {
		watch_lost(w, error);
		return -1;
	}
	return 0;
}

enum imap_client_status
watch_run(struct watch *w, imap_client_untagged_cb *cb, void *ctx,
    const char *what, const char *fmt, ...)
{
	enum imap_client_status st;
	enum watch_cmd_kind kind = w->cmd_kind;
	const char *error;
	char *text;
	va_list ap;

	w->cmd_kind = WATCH_CMD_PLAIN;
	if (w->imap == NULL || watch_leave_idle(w) < 0)
		return IMAP_CLIENT_FAILED;
	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		fatalx("out of memory");
	va_end(ap);
	if (w->notify_on) {
		/* NOTIFY's STATUS and LIST may come with any command. */
		struct watch_notify_tap tap = { w, cb, ctx, w->selected,
		    kind, false };

		st = imap_client_cmd(w->imap, watch_notify_tap_cb, &tap,
		    &error, "%s", text);
	} else
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
	if ((f = watch_folder_find(w, name->str)) == NULL) {
		f = watch_folder_add(w, name->str);
		f->uidnext = 0;		/* 0: no baseline yet */
	}
	f->listed = true;
}

struct status_ctx {
	const char *name;	/* STATUS: the folder asked about */
	struct watch_folder_codes c;	/* from STATUS, or EXAMINE */
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
	/* NOTIFY tells of other folders with STATUS too, at any time. */
	if (resp->args[1].type == IMAP_CLIENT_ARG_LIST ||
	    resp->args[1].str == NULL ||
	    (strcmp(resp->args[1].str, sc->name) != 0 &&
	    (strcasecmp(sc->name, "INBOX") != 0 ||
	    strcasecmp(resp->args[1].str, "INBOX") != 0)))
		return;
	l = &resp->args[2];
	for (i = 0; i + 1 < l->count; i += 2) {
		if (imap_client_arg_is(&l->list[i], "UIDNEXT") &&
		    imap_client_arg_u32(&l->list[i + 1], &sc->c.uidnext) == 0)
			sc->c.have_uidnext = true;
		else if (imap_client_arg_is(&l->list[i], "UIDVALIDITY") &&
		    imap_client_arg_u32(&l->list[i + 1], &sc->c.uidvalidity) == 0)
			sc->c.have_uidvalidity = true;
	}
}

bool
watch_folder_codes_take(struct watch_folder_codes *codes,
    const struct imap_client_resp *resp)
{
	uint64_t v;

	if (imap_client_resp_code_num(resp, "UIDVALIDITY", UINT32_MAX,
	    &v) == 0) {
		codes->uidvalidity = (uint32_t)v;
		codes->have_uidvalidity = true;
	} else if (imap_client_resp_code_num(resp, "UIDNEXT", UINT32_MAX,
	    &v) == 0) {
		codes->uidnext = (uint32_t)v;
		codes->have_uidnext = true;
	} else if (imap_client_resp_code_num(resp, "HIGHESTMODSEQ",
	    INT64_MAX, &codes->modseq) == 0)
		codes->have_modseq = true;
	else
		return false;
	return true;
}

/* * OK [UIDVALIDITY n] and * OK [UIDNEXT n] of SELECT and EXAMINE */
static void
select_cb(void *ctx, const struct imap_client_resp *resp)
{
	struct status_ctx *sc = ctx;

	(void)watch_folder_codes_take(&sc->c, resp);
}

struct fetched {
	uint32_t uid;
	char *from, *subject;
	unsigned int flags;	/* with QRESYNC, for the snapshot */
	bool have_flags;
};

struct fetch_ctx {
	struct fetched *msgs;
	size_t count;
	bool exists;		/* an EXISTS came with the answer */
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

	if (resp->count >= 2 && imap_client_arg_is(&resp->args[1], "EXISTS"))
		fc->exists = true;
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
		else if (imap_client_arg_is(k, "FLAGS") &&
		    v->type == IMAP_CLIENT_ARG_LIST) {
			m.flags = watch_flags_of(v);
			m.have_flags = true;
		} else if (k->type == IMAP_CLIENT_ARG_ATOM &&
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
		watch_stdout_failed(w);
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
		st = watch_run(w, NULL, NULL, "NOOP", "NOOP");
		return st == IMAP_CLIENT_FAILED ? -1 : 0;
	}
	if ((q = imap_client_quote(name)) == NULL)
		return 1;
	/* The folder selected until now stays named while EXAMINE runs:
	   NOTIFY may push its last changes with the answer. */
	w->cmd_kind = WATCH_CMD_EXAMINE;
	st = watch_run(w, select_cb, sc, "EXAMINE", "EXAMINE %s", q);
	free(q);
	free(w->selected);
	w->selected = NULL;
	w->have_selected_modseq = false;
	if (st == IMAP_CLIENT_FAILED)
		return -1;
	if (st == IMAP_CLIENT_NO)
		return 1;
	w->selected = xstrdup(name);
	w->selected_modseq = sc->c.modseq;
	w->have_selected_modseq = sc->c.have_modseq;
	return 0;
}

int
watch_snap_refresh(struct watch *w, const char *name, uint32_t uid)
{
	struct watch_flags_ctx fc = { NULL, 0, false };
	enum imap_client_status st;
	struct watch_folder *f;
	struct status_ctx sc;
	int r;

	if ((r = select_folder(w, name, &sc)) != 0)
		return r < 0 ? -1 : 0;
	w->cmd_kind = WATCH_CMD_FLAGS;
	st = watch_run(w, watch_flags_cb, &fc, "UID FETCH",
	    "UID FETCH %u (FLAGS)", uid);
	if ((f = watch_folder_find(w, name)) == NULL)
		goto out;
	if (st != IMAP_CLIENT_OK || (sc.c.have_uidvalidity &&
	    sc.c.uidvalidity != f->snap_uidvalidity)) {
		/* Unread, the snapshot may be wrong: take it again. */
		f->modseq_valid = false;
		goto out;
	}
	for (size_t i = 0; i < fc.count; i++)
		if (fc.msgs[i].uid == uid)
			watch_snap_new(f, uid, fc.msgs[i].flags, true);
out:
	free(fc.msgs);
	return st == IMAP_CLIENT_FAILED ? -1 : 0;
}

/*
 * Report every message of the folder from its known UIDNEXT on, with
 * From and Subject; hint_uid (0: none) is reported as hint_event even if
 * it is gone already. Returns 0, or -1 if the session was lost.
 */
int
watch_fetch_new(struct watch *w, const char *name, uint32_t hint_uid,
    const char *hint_event, const char *via)
{
	return watch_fetch_new_after(w, name, hint_uid, hint_event, via,
	    NULL);
}

/*
 * The folder name is selected and its UIDVALIDITY is the one we know:
 * report every message from its UIDNEXT on, hint_uid as
 * watch_fetch_new() says, and raise UIDNEXT to uidnext (0: unknown).
 */
static int
fetch_from(struct watch *w, const char *name, uint32_t hint_uid,
    const char *hint_event, const char *via, uint32_t uidnext)
{
	struct watch_folder *f;
	struct fetch_ctx fc;
	struct watch_mail m;
	enum imap_client_status st;
	uint32_t from_uid;
	bool hint_done = false;
	size_t i;

	if ((f = watch_folder_find(w, name)) == NULL)
		return 0;
	from_uid = f->uidnext > 0 ? f->uidnext : 1;
	memset(&fc, 0, sizeof(fc));
	/* With QRESYNC the flags go into the snapshot the next resync
	   compares with. */
	if (w->qresync)
		w->cmd_kind = WATCH_CMD_NEW;
	st = watch_run(w, fetch_cb, &fc, "UID FETCH", "UID FETCH %u:* (UID "
	    "%sBODY.PEEK[HEADER.FIELDS (FROM SUBJECT)])", from_uid,
	    w->qresync ? "FLAGS " : "");
	if (st == IMAP_CLIENT_FAILED)
		goto out;
	/* Mail that lands while the FETCH runs may be told only by this
	   EXISTS, and IDLE will not tell it again: look once more. */
	if (fc.exists && strcasecmp(name, "INBOX") == 0)
		w->inbox_woke = true;
	if ((f = watch_folder_find(w, name)) == NULL)
		goto out;
	if (fc.count > 0)	/* qsort() wants a non-NULL base */
		qsort(fc.msgs, fc.count, sizeof(*fc.msgs), fetched_cmp);
	memset(&m, 0, sizeof(m));
	m.folder = f->name;
	m.uidvalidity = f->uidvalidity;
	m.via = via;
	m.is_new = true;
	for (i = 0; i < fc.count; i++) {
		if (fc.msgs[i].uid < from_uid) {
			/* "n:*" includes the last one */
			if (fc.msgs[i].have_flags)
				watch_snap_seen(w, f, fc.msgs[i].uid,
				    fc.msgs[i].flags);
			continue;
		}
		hint_done = hint_done || fc.msgs[i].uid == hint_uid;
		m.event = fc.msgs[i].uid == hint_uid ? hint_event :
		    "MessageNew";
		m.uid = fc.msgs[i].uid;
		m.from = fc.msgs[i].from;
		m.subject = fc.msgs[i].subject;
		report(w, &m);
		watch_snap_new(f, m.uid, fc.msgs[i].flags,
		    fc.msgs[i].have_flags);
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
	if (uidnext != 0 && f->uidnext < uidnext)
		f->uidnext = uidnext;
out:
	for (i = 0; i < fc.count; i++) {
		free(fc.msgs[i].from);
		free(fc.msgs[i].subject);
	}
	free(fc.msgs);
	return st == IMAP_CLIENT_FAILED ? -1 : 0;
}

int
watch_fetch_selected(struct watch *w, const char *name, uint32_t uidnext,
    const char *via)
{
	return fetch_from(w, name, 0, NULL, via, uidnext);
}

int
watch_fetch_new_after(struct watch *w, const char *name, uint32_t hint_uid,
    const char *hint_event, const char *via, watch_selected_cb *before)
{
	struct watch_folder *f;
	struct status_ctx sc;
	int r;

	if ((r = select_folder(w, name, &sc)) != 0)
		return r < 0 ? -1 : 0;
	if (before != NULL && before(w, name, sc.c.have_uidvalidity ?
	    sc.c.uidvalidity : 0) < 0)
		return -1;
	if ((f = watch_folder_find(w, name)) == NULL)
		return 0;
	if (f->uidnext == 0) {
		/* No baseline yet: what is there now is not news. */
		if (sc.c.have_uidvalidity && sc.c.have_uidnext) {
			f->uidvalidity = sc.c.uidvalidity;
			f->uidnext = sc.c.uidnext;
		}
		return 0;
	}
	if (sc.c.have_uidvalidity && f->uidvalidity == 0)
		f->uidvalidity = sc.c.uidvalidity;	/* made since */
	if (sc.c.have_uidvalidity && f->uidvalidity != sc.c.uidvalidity) {
		/* A new UIDVALIDITY: the old UIDs mean nothing; start
		   again from what is there now. */
		f->uidvalidity = sc.c.uidvalidity;
		f->uidnext = sc.c.have_uidnext ? sc.c.uidnext : 0;
		if (f->uidnext == 0)
			return 0;
	}
	return fetch_from(w, name, hint_uid, hint_event, via,
	    sc.c.have_uidnext ? sc.c.uidnext : 0);
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

	if ((f = watch_folder_find(w, name)) == NULL)
		f = watch_folder_add(w, name);
	if (w->qresync)
		return watch_qresync_folder(w, name, via);
	if (f->uidnext != 0 && w->selected != NULL &&
	    strcmp(w->selected, f->name) == 0)
		/* STATUS is not for the selected folder (RFC 3501 6.3.10) */
		return watch_fetch_new(w, name, 0, NULL, via);
	if ((q = imap_client_quote(name)) == NULL)
		return 0;
	memset(&sc, 0, sizeof(sc));
	sc.name = name;
	st = watch_run(w, status_cb, &sc, "STATUS", "STATUS %s (UIDNEXT UIDVALIDITY)",
	    q);
	free(q);
	if (st == IMAP_CLIENT_FAILED)
		return -1;
	if (st == IMAP_CLIENT_NO || !sc.c.have_uidnext || !sc.c.have_uidvalidity)
		return 0;	/* gone, or not a folder we can read */
	f = watch_folder_find(w, name);
	if (f->uidvalidity == 0 && f->uidnext != 0)
		f->uidvalidity = sc.c.uidvalidity;	/* made since */
	if (f->uidnext == 0 || f->uidvalidity != sc.c.uidvalidity) {
		f->uidvalidity = sc.c.uidvalidity;
		f->uidnext = sc.c.uidnext;
		return 0;
	}
	if (sc.c.uidnext > f->uidnext)
		return watch_fetch_new(w, name, 0, NULL, via);
	return 0;
}

/* Every folder: LIST, then each one. Returns 0, or -1 if lost. */
int
watch_resync_all(struct watch *w, const char *via)
{
	enum imap_client_status st;
	char **names;
	size_t i, n;
	int ret = 0;

	for (i = 0; i < w->folder_count; i++)
		w->folders[i].listed = false;
	st = watch_run(w, list_cb, w, "LIST", "LIST \"\" \"*\"");
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

int
watch_handle_event(struct watch *w, const struct notify_event *ev)
{
	const char *name = notify_event_type_name(ev->type);
	struct watch_folder *f;
	struct watch_mail m;
	int r;

	switch (ev->type) {
	case NOTIFY_EVENT_MESSAGE_NEW:
	case NOTIFY_EVENT_MESSAGE_APPEND:
		if ((f = watch_folder_find(w, ev->folder)) == NULL) {
			/* A folder new to us: report from this message on. */
			f = watch_folder_add(w, ev->folder);
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
		return watch_fetch_new(w, ev->folder, ev->uid, name, "udp");
	case NOTIFY_EVENT_MESSAGE_EXPUNGE:
	case NOTIFY_EVENT_FLAGS_SET:
	case NOTIFY_EVENT_FLAGS_CLEAR:
		/* The snapshot first: once the line is out, a resync
		   compares with what it says. */
		r = watch_snap_event(w, ev);
		memset(&m, 0, sizeof(m));
		m.event = name;
		m.folder = ev->folder;
		m.uid = ev->uid;
		m.uidvalidity = ev->uidvalidity;
		m.via = "udp";
		report(w, &m);
		return r;
	case NOTIFY_EVENT_MAILBOX_RESYNC:
	default:
		if (ev->folder_len == 0)
			return watch_resync_all(w, "udp");
		return resync_folder(w, ev->folder, "udp");
	}
}

