/*
 * `mailbell watch` with NOTIFY (RFC 5465) in IDLE mode: one session
 * hears of every folder at once. The server tells of other folders
 * with "* STATUS" and of folders made, renamed and deleted with
 * "* LIST"; the selected folder's EXISTS, EXPUNGE and FETCH (FLAGS)
 * come as in IDLE. A folder told of is marked, and the loop then looks
 * at it: new mail as watch_fetch_new() reports it, and its flags read
 * again and compared with what they were, which tells expunges and
 * flag changes by UID (IMAP's STATUS does not name messages).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/imap-client.h"
#include "client/watch-out.h"
#include "client/watch-state.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

/* What watch asks for: every folder of the user (RFC 5465 6.2), and the
 * selected one's changes as they happen (6.1). */
#define WATCH_NOTIFY_SET "NOTIFY SET (SELECTED (MessageNew MessageExpunge " \
	"FlagChange)) (PERSONAL (MessageNew MessageExpunge FlagChange " \
	"MailboxName))"

/* System flags compared (RFC 3501 2.3.2, and $Forwarded). */
static const char *const flag_names[] = {
	"\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft",
	"$Forwarded",
};

/* The name argument of a STATUS or LIST response, or NULL. */
static const char *
arg_name(const struct imap_client_arg *a)
{
	if (a->type == IMAP_CLIENT_ARG_LIST || a->type == IMAP_CLIENT_ARG_NIL ||
	    a->len == 0 || strlen(a->str) != a->len)
		return NULL;
	return a->str;
}

static bool
list_has(const struct imap_client_arg *l, const char *atom)
{
	for (size_t i = 0; i < l->count; i++)
		if (imap_client_arg_is(&l->list[i], atom))
			return true;
	return false;
}

static void
snap_drop(struct watch_folder *f)
{
	free(f->snap);
	f->snap = NULL;
	f->snap_count = 0;
	f->snap_uidvalidity = 0;
}

/* "* LIST (attrs) delim name [("OLDNAME" (old))]" (RFC 5465 5.4). */
static void
told_list(struct watch *w, const struct imap_client_resp *resp)
{
	const struct imap_client_arg *ext;
	const char *name, *old = NULL;
	struct watch_folder *f;

	if (resp->count < 4 || resp->args[1].type != IMAP_CLIENT_ARG_LIST ||
	    (name = arg_name(&resp->args[3])) == NULL)
		return;
	ext = resp->count >= 5 ? &resp->args[4] : NULL;
	if (ext != NULL && ext->type == IMAP_CLIENT_ARG_LIST &&
	    ext->count >= 2 && ext->list[0].type != IMAP_CLIENT_ARG_LIST &&
	    ext->list[0].str != NULL &&
	    strcasecmp(ext->list[0].str, "OLDNAME") == 0 &&
	    ext->list[1].type == IMAP_CLIENT_ARG_LIST &&
	    ext->list[1].count == 1)
		old = arg_name(&ext->list[1].list[0]);
	if (list_has(&resp->args[1], "\\NonExistent") ||
	    list_has(&resp->args[1], "\\Noselect")) {
		/* Deleted: should it come back, all of it is news. */
		if ((f = watch_folder_find(w, name)) != NULL) {
			f->uidvalidity = 0;
			f->uidnext = 1;
			f->listed = false;
			f->dirty = false;
			snap_drop(f);
		}
		return;
	}
	if (old != NULL && (f = watch_folder_find(w, old)) != NULL &&
	    watch_folder_find(w, name) == NULL) {
		/* Renamed: the same messages under another name. */
		free(f->name);
		f->name = xstrdup(name);
		return;
	}
	if (watch_folder_find(w, name) != NULL)
		return;		/* a subscription change, or known */
	f = watch_folder_add(w, name);
	f->uidnext = 1;		/* made now: everything in it is news */
	f->listed = true;
	f->dirty = true;
}

/* Mark what resp tells of; selected: its EXISTS, EXPUNGE and FETCH
 * count too (not inside our own commands, whose answers they are). */
static void
told(struct watch *w, const struct imap_client_resp *resp, bool selected)
{
	struct watch_folder *f;
	const char *name;

	if (resp->count >= 3 && imap_client_arg_is(&resp->args[0], "STATUS")) {
		if ((name = arg_name(&resp->args[1])) == NULL)
			return;
		if ((f = watch_folder_find(w, name)) == NULL) {
			f = watch_folder_add(w, name);
			f->uidnext = 1;		/* news to us */
			f->listed = true;
		}
		log_debug("watch: NOTIFY: %s changed", f->name);
		f->dirty = true;
	} else if (resp->count >= 1 &&
	    imap_client_arg_is(&resp->args[0], "LIST")) {
		told_list(w, resp);
	} else if (selected && resp->count >= 2 && w->selected != NULL &&
	    (imap_client_arg_is(&resp->args[0], "VANISHED") ||
	    imap_client_arg_is(&resp->args[1], "EXISTS") ||
	    imap_client_arg_is(&resp->args[1], "EXPUNGE") ||
	    imap_client_arg_is(&resp->args[1], "FETCH")) &&
	    (f = watch_folder_find(w, w->selected)) != NULL) {
		log_debug("watch: NOTIFY: %s changed", f->name);
		f->dirty = true;
	}
}

/* Whether a FETCH's items hold a BODY[...] (only answers do). */
static bool
has_body(const struct imap_client_arg *l)
{
	for (size_t i = 0; i < l->count; i += 2)
		if (l->list[i].type == IMAP_CLIENT_ARG_ATOM &&
		    strncasecmp(l->list[i].str, "BODY[", 5) == 0)
			return true;
	return false;
}

/* Whether resp is a change of the selected folder pushed with the
 * answer of a command of kind tap->kind. */
static bool
pushed(struct watch_notify_tap *tap, const struct imap_client_resp *resp)
{
	const struct imap_client_arg *l;

	if (resp->count < 2)
		return false;
	if (tap->kind == WATCH_CMD_EXAMINE) {
		if (imap_client_arg_is(&resp->args[0], "FLAGS"))
			tap->opened = true;
		if (tap->opened)
			return false;
	}
	/* With QRESYNC, expunges are "* VANISHED uids" (RFC 7162
	   3.2.10); "(EARLIER)" is the answer of a QRESYNC EXAMINE. */
	if (imap_client_arg_is(&resp->args[0], "VANISHED"))
		return resp->args[1].type != IMAP_CLIENT_ARG_LIST;
	if (imap_client_arg_is(&resp->args[1], "EXISTS") ||
	    imap_client_arg_is(&resp->args[1], "EXPUNGE"))
		return true;
	if (!imap_client_arg_is(&resp->args[1], "FETCH") || resp->count < 3 ||
	    tap->kind == WATCH_CMD_FLAGS)
		return false;
	l = &resp->args[2];
	if (l->type != IMAP_CLIENT_ARG_LIST || !list_has(l, "FLAGS"))
		return false;
	/* A new-mail FETCH that asks FLAGS gets them with every answer,
	   and "n:*" answers with the last message at least: taken for
	   pushes, each look would mark the folder again, for ever. */
	return tap->kind != WATCH_CMD_NEW || !has_body(l);
}

void
watch_notify_tap_cb(void *ctx, const struct imap_client_resp *resp)
{
	struct watch_notify_tap *tap = ctx;
	struct watch_folder *f;

	told(tap->w, resp, false);
	if (tap->folder != NULL && pushed(tap, resp) &&
	    (f = watch_folder_find(tap->w, tap->folder)) != NULL) {
		log_debug("watch: NOTIFY: %s changed", f->name);
		f->dirty = true;
	}
	if (tap->cb != NULL)
		tap->cb(tap->ctx, resp);
}

void
watch_notify_untagged(struct watch *w, const struct imap_client_resp *resp)
{
	told(w, resp, true);
}

bool
watch_notify_pending(const struct watch *w)
{
	if (!w->notify_on)
		return false;
	for (size_t i = 0; i < w->folder_count; i++)
		if (w->folders[i].dirty)
			return true;
	return false;
}

/* ---- Comparing flags ---- */

unsigned int
watch_flags_of(const struct imap_client_arg *list)
{
	unsigned int flags = 0;

	for (size_t k = 0; k < sizeof(flag_names) / sizeof(flag_names[0]); k++)
		if (list_has(list, flag_names[k]))
			flags |= 1u << k;
	return flags;
}

/* "* n FETCH (UID u FLAGS (...))"; a UID told twice keeps the last. */
void
watch_flags_cb(void *ctx, const struct imap_client_resp *resp)
{
	struct watch_flags_ctx *fc = ctx;
	const struct imap_client_arg *l;
	struct watch_msg m = { 0, 0, 0 };
	bool have_uid = false, have_flags = false;
	size_t i;

	if (resp->count < 3 || !imap_client_arg_is(&resp->args[1], "FETCH") ||
	    resp->args[2].type != IMAP_CLIENT_ARG_LIST)
		return;
	l = &resp->args[2];
	for (i = 0; i + 1 < l->count; i += 2) {
		if (imap_client_arg_is(&l->list[i], "UID") &&
		    imap_client_arg_u32(&l->list[i + 1], &m.uid) == 0)
			have_uid = true;
		else if (imap_client_arg_is(&l->list[i], "FLAGS") &&
		    l->list[i + 1].type == IMAP_CLIENT_ARG_LIST) {
			have_flags = true;
			m.flags = watch_flags_of(&l->list[i + 1]);
		}
	}
	if (!have_uid || !have_flags)
		return;
	if (fc->count >= WATCH_SNAP_MAX) {
		fc->overflow = true;
		return;
	}
	fc->msgs = xreallocarray(fc->msgs, fc->count + 1, sizeof(*fc->msgs));
	fc->msgs[fc->count++] = m;
}

static int
msg_cmp(const void *a, const void *b)
{
	const struct watch_msg *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

void
watch_flags_settle(struct watch_flags_ctx *fc)
{
	size_t i, n = 0;

	if (fc->count == 0)
		return;
	/* A stable order for equal UIDs: sort (uid, index) pairs. */
	for (i = 0; i < fc->count; i++)
		fc->msgs[i].flags |= (unsigned int)i << 8;
	qsort(fc->msgs, fc->count, sizeof(*fc->msgs), msg_cmp);
	for (i = 0; i < fc->count; i++) {
		if (n > 0 && fc->msgs[n - 1].uid == fc->msgs[i].uid) {
			if ((fc->msgs[i].flags >> 8) >
			    (fc->msgs[n - 1].flags >> 8))
				fc->msgs[n - 1] = fc->msgs[i];
			continue;
		}
		fc->msgs[n++] = fc->msgs[i];
	}
	fc->count = n;
	for (i = 0; i < n; i++)
		fc->msgs[i].flags &= 0xff;
}

static void
report(struct watch *w, const struct watch_folder *f, const char *event,
    uint32_t uid)
{
	struct watch_mail m;

	memset(&m, 0, sizeof(m));
	m.event = event;
	m.folder = f->name;
	m.uid = uid;
	m.uidvalidity = f->uidvalidity;
	m.via = "idle";
	/* As over UDP: --exec is for new mail only. */
	if (watch_out_event(w->o->json, &m) < 0)
		watch_stdout_failed(w);
}

/* What changed between f's snapshot and now (ascending both): gone
 * messages, flags set and cleared. New ones were told as new mail. */
static void
diff_report(struct watch *w, const struct watch_folder *f,
    const struct watch_flags_ctx *now)
{
	size_t i = 0, k = 0;

	while (i < f->snap_count) {
		const struct watch_msg *o = &f->snap[i];

		while (k < now->count && now->msgs[k].uid < o->uid)
			k++;
		if (k == now->count || now->msgs[k].uid != o->uid)
			report(w, f, "MessageExpunge", o->uid);
		else {
			if ((now->msgs[k].flags & ~o->flags) != 0)
				report(w, f, "FlagsSet", o->uid);
			if ((o->flags & ~now->msgs[k].flags) != 0)
				report(w, f, "FlagsClear", o->uid);
		}
		i++;
	}
}

/* Read the selected folder name's flags; report against the snapshot
 * (when it has one under the same UIDVALIDITY, uidvalidity, or the
 * folder's if 0) and keep them. */
static int
flags_diff(struct watch *w, const char *name, uint32_t uidvalidity)
{
	enum imap_client_status st;
	struct watch_folder *f;
	struct watch_flags_ctx fc = { NULL, 0, false };

	w->cmd_kind = WATCH_CMD_FLAGS;
	st = watch_run(w, watch_flags_cb, &fc, "UID FETCH", "UID FETCH 1:* (FLAGS)");
	if (st != IMAP_CLIENT_OK || (f = watch_folder_find(w, name)) == NULL) {
		free(fc.msgs);
		return st == IMAP_CLIENT_FAILED ? -1 : 0;
	}
	if (fc.overflow) {
		/* Not every message: a diff would take the rest for gone. */
		free(fc.msgs);
		snap_drop(f);
		f->modseq_valid = false;
		return 0;
	}
	watch_flags_settle(&fc);
	if (uidvalidity == 0)
		uidvalidity = f->uidvalidity;
	if (f->snap_uidvalidity != 0 && f->snap_uidvalidity == uidvalidity)
		diff_report(w, f, &fc);
	free(f->snap);
	f->snap = fc.msgs;
	f->snap_count = fc.count;
	f->snap_uidvalidity = uidvalidity;
	/* Read after the EXAMINE that named this MODSEQ: a QRESYNC from
	   it tells nothing the snapshot lacks. */
	f->modseq = w->selected_modseq;
	f->modseq_valid = w->have_selected_modseq;
	return 0;
}

/* Look at one folder: its flags, then its new mail. In that order a
 * flag changed once a new message was reported is told as a change,
 * not taken for how the message came. */
static int
look_at(struct watch *w, const char *name)
{
	return watch_fetch_new_after(w, name, 0, NULL, "idle", flags_diff);
}

/* Look at the folders that are marked (all, with every). */
static int
look_at_marked(struct watch *w, bool every)
{
	char **names;
	size_t i, n = w->folder_count;
	int ret = 0;

	/* look_at() may add folders: walk a copy of the names. */
	names = xcalloc(n > 0 ? n : 1, sizeof(*names));
	for (i = 0; i < n; i++) {
		if (every ? w->folders[i].listed : w->folders[i].dirty)
			names[i] = xstrdup(w->folders[i].name);
		w->folders[i].dirty = false;
	}
	for (i = 0; i < n && ret == 0; i++)
		if (names[i] != NULL)
			ret = look_at(w, names[i]);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return ret;
}

int
watch_notify_process(struct watch *w)
{
	return look_at_marked(w, false);
}

int
watch_notify_start(struct watch *w)
{
	enum imap_client_status st;

	if (w->notify_on || w->imap == NULL ||
	    !imap_client_has_cap(w->imap, "NOTIFY"))
		return 0;
	st = watch_run(w, NULL, NULL, "NOTIFY", WATCH_NOTIFY_SET);
	if (st == IMAP_CLIENT_FAILED)
		return -1;
	if (st != IMAP_CLIENT_OK)
		return 0;	/* IDLE alone, as without NOTIFY */
	log_debug("watch: NOTIFY tells of every folder");
	w->notify_on = true;
	/* Every folder's flags as they are now, to compare with later. */
	return look_at_marked(w, true);
}

int
watch_notify_stop(struct watch *w)
{
	if (!w->notify_on)
		return 0;
	w->notify_on = false;
	return watch_run(w, NULL, NULL, "NOTIFY", "NOTIFY NONE") ==
	    IMAP_CLIENT_FAILED ? -1 : 0;
}
