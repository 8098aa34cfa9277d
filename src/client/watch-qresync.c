/*
 * `mailbell watch` with QRESYNC (RFC 7162): each folder keeps the UIDs
 * and flags it last read and the HIGHESTMODSEQ they go back to, so a
 * resync (after a gap in the UDP events, a server restart, a return
 * from IDLE) is one "EXAMINE folder (QRESYNC (uidvalidity modseq
 * known-uids))": its VANISHED (EARLIER) names the expunges and its
 * FETCHes the flag changes, compared with the snapshot; new mail is
 * then fetched from UIDNEXT as without QRESYNC.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/imap-client.h"
#include "client/watch-out.h"
#include "client/watch-state.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

/* ---- ENABLE ---- */

/* "* ENABLED QRESYNC" (RFC 5161 3.2). */
static void
enabled_cb(void *ctx, const struct imap_client_resp *resp)
{
	bool *on = ctx;

	if (resp->count < 1 || !imap_client_arg_is(&resp->args[0], "ENABLED"))
		return;
	for (size_t i = 1; i < resp->count; i++)
		if (imap_client_arg_is(&resp->args[i], "QRESYNC"))
			*on = true;
}

int
watch_qresync_enable(struct watch *w)
{
	enum imap_client_status st;
	bool on = false;

	w->qresync = false;
	if (w->imap == NULL || !imap_client_has_cap(w->imap, "QRESYNC"))
		return 0;
	st = watch_run(w, enabled_cb, &on, "ENABLE", "ENABLE QRESYNC");
	if (st == IMAP_CLIENT_FAILED)
		return -1;
	w->qresync = st == IMAP_CLIENT_OK && on;
	if (w->qresync)
		log_debug("watch: QRESYNC: a folder resyncs in one SELECT");
	return 0;
}

/* ---- The snapshot ---- */

/* The first message of f's snapshot with a UID of at least uid. */
static size_t
snap_lower(const struct watch_folder *f, uint32_t uid)
{
	size_t lo = 0, hi = f->snap_count, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (f->snap[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct watch_msg *
snap_find(struct watch_folder *f, uint32_t uid)
{
	size_t i = snap_lower(f, uid);

	return i < f->snap_count && f->snap[i].uid == uid ? &f->snap[i] : NULL;
}

void
watch_snap_new(struct watch_folder *f, uint32_t uid, unsigned int flags,
    bool have_flags)
{
	struct watch_msg *m;
	size_t i;

	if (!f->modseq_valid || f->snap_uidvalidity == 0 ||
	    f->snap_uidvalidity != f->uidvalidity)
		return;
	if (!have_flags || f->snap_count >= WATCH_SNAP_MAX) {
		/* Reported without its flags: the snapshot no longer holds
		   every message, so it must be read again. */
		f->modseq_valid = false;
		return;
	}
	if ((m = snap_find(f, uid)) != NULL) {
		m->flags = flags;
		return;
	}
	i = snap_lower(f, uid);
	f->snap = xreallocarray(f->snap, f->snap_count + 1, sizeof(*f->snap));
	memmove(&f->snap[i + 1], &f->snap[i],
	    (f->snap_count - i) * sizeof(*f->snap));
	f->snap[i].uid = uid;
	f->snap[i].flags = flags;
	f->snap[i].gone = false;
	f->snap_count++;
}

void
watch_snap_seen(struct watch *w, struct watch_folder *f, uint32_t uid,
    unsigned int flags)
{
	struct watch_msg *m;

	if (w->notify_on && f->snap_uidvalidity != 0 &&
	    f->snap_uidvalidity == f->uidvalidity &&
	    (m = snap_find(f, uid)) != NULL && m->flags != flags) {
		log_debug("watch: NOTIFY: %s changed", f->name);
		f->dirty = true;
	}
}

int
watch_snap_event(struct watch *w, const struct notify_event *ev)
{
	struct watch_folder *f;
	struct watch_msg *m;

	if ((f = watch_folder_find(w, ev->folder)) == NULL ||
	    !f->modseq_valid || f->snap_uidvalidity == 0 ||
	    f->snap_uidvalidity != ev->uidvalidity ||
	    (m = snap_find(f, ev->uid)) == NULL)
		return 0;
	if (ev->type == NOTIFY_EVENT_MESSAGE_EXPUNGE) {
		f->snap_count--;
		memmove(m, m + 1, (size_t)(&f->snap[f->snap_count] - m) *
		    sizeof(*m));
		return 0;
	}
	/* The event does not say which flag: read them, or a resync
	   would tell this change again, or miss one that undoes it. */
	if (!w->qresync)
		return 0;
	return watch_snap_refresh(w, ev->folder, ev->uid);
}

int
watch_qresync_baseline(struct watch *w, const char *name,
    uint32_t uidvalidity)
{
	enum imap_client_status st;
	struct watch_folder *f;
	struct watch_flags_ctx fc = { NULL, 0, false };

	if (!w->qresync)
		return 0;
	w->cmd_kind = WATCH_CMD_FLAGS;
	st = watch_run(w, watch_flags_cb, &fc, "UID FETCH",
	    "UID FETCH 1:* (FLAGS)");
	if (st != IMAP_CLIENT_OK || (f = watch_folder_find(w, name)) == NULL) {
		free(fc.msgs);
		return st == IMAP_CLIENT_FAILED ? -1 : 0;
	}
	if (fc.overflow) {
		/* Too big to keep: only new mail is told there. */
		free(fc.msgs);
		fc.msgs = NULL;
		fc.count = 0;
	}
	watch_flags_settle(&fc);
	free(f->snap);
	f->snap = fc.msgs;
	f->snap_count = fc.count;
	f->snap_uidvalidity = uidvalidity != 0 ? uidvalidity : f->uidvalidity;
	/* The EXAMINE's HIGHESTMODSEQ came before these flags were read. */
	f->modseq = w->selected_modseq;
	f->modseq_valid = w->have_selected_modseq && !fc.overflow &&
	    f->snap_uidvalidity != 0;
	return 0;
}

/* ---- The resync ---- */

/* What the answer of one EXAMINE (QRESYNC ...) says. */
struct qr_ctx {
	struct watch *w;
	const char *name;
	struct watch_folder_codes c;	/* of the EXAMINE */
	bool opened;		/* its "* FLAGS" came: what follows is of
				   this folder, not the one closed */
	struct watch_flags_ctx changed;	/* FETCH (UID FLAGS MODSEQ) */
};

/* Mark the snapshot's messages in a VANISHED set gone. */
static void
mark_gone(struct qr_ctx *qr, const struct imap_client_arg *set)
{
	struct watch_folder *f;
	uint32_t lo, hi;
	size_t pos = 0, i;

	if ((f = watch_folder_find(qr->w, qr->name)) == NULL)
		return;
	while (imap_client_uidset_next(set, &pos, &lo, &hi) == 1)
		for (i = snap_lower(f, lo); i < f->snap_count &&
		    f->snap[i].uid <= hi; i++)
			f->snap[i].gone = true;
}

static void
qr_cb(void *ctx, const struct imap_client_resp *resp)
{
	struct qr_ctx *qr = ctx;
	const struct imap_client_arg *set;
	bool earlier;

	if (resp->count >= 1 && imap_client_arg_is(&resp->args[0], "FLAGS"))
		qr->opened = true;
	if (watch_folder_codes_take(&qr->c, resp))
		return;
	if (imap_client_vanished(resp, &earlier, &set) == 1) {
		/* (EARLIER) answers our QRESYNC; without it, an expunge as
		   it happens, of this folder once it is open. */
		if (earlier || qr->opened)
			mark_gone(qr, set);
	} else if (qr->opened)
		watch_flags_cb(&qr->changed, resp);
}

static void
report(struct watch *w, const struct watch_folder *f, const char *event,
    uint32_t uid, const char *via)
{
	struct watch_mail m;

	memset(&m, 0, sizeof(m));
	m.event = event;
	m.folder = f->name;
	m.uid = uid;
	m.uidvalidity = f->uidvalidity;
	m.via = via;
	/* As over UDP: --exec is for new mail only. */
	if (watch_out_event(w->o->json, &m) < 0)
		watch_stdout_failed(w);
}

/* Report the snapshot's messages gone and those whose flags changed,
 * and bring it up to date. */
static void
report_changes(struct watch *w, struct watch_folder *f,
    struct watch_flags_ctx *changed, const char *via)
{
	struct watch_msg *o;
	size_t i, k = 0, n = 0;
	unsigned int set, clear;

	watch_flags_settle(changed);
	for (i = 0; i < f->snap_count; i++) {
		o = &f->snap[i];
		if (o->gone) {
			report(w, f, "MessageExpunge", o->uid, via);
			continue;
		}
		while (k < changed->count && changed->msgs[k].uid < o->uid)
			k++;
		if (k < changed->count && changed->msgs[k].uid == o->uid) {
			set = changed->msgs[k].flags & ~o->flags;
			clear = o->flags & ~changed->msgs[k].flags;
			if (set != 0)
				report(w, f, "FlagsSet", o->uid, via);
			if (clear != 0)
				report(w, f, "FlagsClear", o->uid, via);
			o->flags = changed->msgs[k].flags;
		}
		f->snap[n++] = *o;
	}
	f->snap_count = n;
}

/* Forget VANISHED marks of an answer not acted on. */
static void
unmark(struct watch *w, const char *name)
{
	struct watch_folder *f;

	if ((f = watch_folder_find(w, name)) == NULL)
		return;
	for (size_t i = 0; i < f->snap_count; i++)
		f->snap[i].gone = false;
}

/* Act on the answer of an EXAMINE (QRESYNC ...) that succeeded. */
static int
qr_done(struct watch *w, struct qr_ctx *qr, const char *via)
{
	struct watch_folder *f;

	if ((f = watch_folder_find(w, qr->name)) == NULL)
		return 0;
	if (!qr->c.have_uidvalidity || !qr->c.have_uidnext ||
	    qr->c.uidvalidity != f->snap_uidvalidity) {
		/* A new UIDVALIDITY: the old UIDs mean nothing (the server
		   ignored the QRESYNC); start again from what is there. */
		unmark(w, qr->name);
		f->uidvalidity = qr->c.uidvalidity;
		f->uidnext = qr->c.have_uidnext ? qr->c.uidnext : 0;
		f->modseq_valid = false;
		log_debug("watch: %s: a new UIDVALIDITY %u", f->name,
		    qr->c.uidvalidity);
		return watch_qresync_baseline(w, qr->name, qr->c.uidvalidity);
	}
	report_changes(w, f, &qr->changed, via);
	f->modseq = qr->c.modseq;
	f->modseq_valid = qr->c.have_modseq && !qr->changed.overflow;
	if (qr->c.uidnext <= f->uidnext)
		return 0;	/* no new mail: the one round trip it took */
	return watch_fetch_selected(w, qr->name, qr->c.uidnext, via);
}

/* One EXAMINE folder (QRESYNC (uidvalidity modseq 1:last-uid)). */
static int
qr_select(struct watch *w, struct watch_folder *f, const char *name,
    const char *via)
{
	enum imap_client_status st;
	struct qr_ctx qr;
	char known[24] = "";
	char *q;
	int ret;

	if ((q = imap_client_quote(name)) == NULL)
		return 0;
	/* Only the UIDs we hold are of interest (RFC 7162 3.2.5.2). */
	if (f->snap_count > 0)
		(void)snprintf(known, sizeof(known), " 1:%u",
		    f->snap[f->snap_count - 1].uid);
	memset(&qr, 0, sizeof(qr));
	qr.w = w;
	qr.name = name;
	w->cmd_kind = WATCH_CMD_EXAMINE;
	st = watch_run(w, qr_cb, &qr, "EXAMINE", "EXAMINE %s (QRESYNC "
	    "(%u %llu%s))", q, f->snap_uidvalidity,
	    (unsigned long long)f->modseq, known);
	free(q);
	free(w->selected);
	w->selected = NULL;
	w->have_selected_modseq = false;
	if (st != IMAP_CLIENT_OK) {
		unmark(w, name);
		free(qr.changed.msgs);
		return st == IMAP_CLIENT_FAILED ? -1 : 0;
	}
	w->selected = xstrdup(name);
	w->selected_modseq = qr.c.modseq;
	w->have_selected_modseq = qr.c.have_modseq;
	ret = qr_done(w, &qr, via);
	free(qr.changed.msgs);
	return ret;
}

int
watch_qresync_folder(struct watch *w, const char *name, const char *via)
{
	struct watch_folder *f;

	if ((f = watch_folder_find(w, name)) == NULL)
		return 0;
	if (f->uidnext == 0 || !f->modseq_valid || f->snap_uidvalidity == 0 ||
	    f->snap_uidvalidity != f->uidvalidity)
		/* No snapshot to compare with yet: take one (and report
		   new mail from UIDNEXT, if we have one). */
		return watch_fetch_new_after(w, name, 0, NULL, via,
		    watch_qresync_baseline);
	return qr_select(w, f, name, via);
}
