/*
 * The per-session views on a folder index (what SELECT opens): opening,
 * refreshing with expunge, flag and exists callbacks, reading a
 * message's file and info, and STATUS from the index.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/xmalloc.h"
#include "store/maildir-flags.h"
#include "store/maildir.h"
#include "store/store-index-private.h"
#include "store/store-private.h"

/* ---- Views ---- */

static void
view_fill(struct store_view *v)
{
	struct store_index *ix = v->index;
	uint32_t first = store_index_recent_uid(ix);
	size_t i;

	free(v->msgs);
	v->msgs = xreallocarray(NULL, ix->count + 1, sizeof(*v->msgs));
	v->recent_count = 0;
	for (i = 0; i < ix->count; i++) {
		v->msgs[i].uid = ix->msgs[i].uid;
		v->msgs[i].flags = ix->msgs[i].flags;
		/* Unclaimed: recent here until a claim says otherwise. */
		v->msgs[i].recent = ix->msgs[i].uid >= first;
		if (v->msgs[i].recent)
			v->recent_count++;
		v->msgs[i].keywords = ix->msgs[i].keywords;
		v->msgs[i].modseq = ix->msgs[i].modseq;
	}
	v->count = ix->count;
	v->uidvalidity = ix->uidvalidity;
	v->uidnext = ix->uidnext;
	v->modseq = ix->modseq;
	v->highest_modseq = ix->ms.highest;
}

/* The index of (user, folder), brought up to date with the disk;
 * *changed_r says whether the sync found changes. A folder that turns
 * out to be missing leaves no index behind. NULL with *error_r set on
 * failure. */
static struct store_index *
index_get_synced(struct store *store, const char *user,
    const char *folder, bool *changed_r, const char **error_r)
{
	struct store_index *ix;

	if ((ix = store_index_get(store, user, folder, error_r)) == NULL)
		return NULL;
	if (store_index_sync(ix, false, changed_r, error_r) < 0) {
		if (ix->gone || !ix->loaded) {
			/* Do not keep an index of a missing folder. */
			store_index_unlink(store, ix);
			ix->gone = true;
			if (ix->views == NULL && ix->busy == 0)
				store_index_free(&ix);
		}
		return NULL;
	}
	return ix;
}

int
store_view_open(struct store *store, const char *user, const char *folder,
    struct store_view **view_r, const char **error_r)
{
	struct store_index *ix;
	struct store_view *v;
	bool changed;

	if ((ix = index_get_synced(store, user, folder, &changed,
	    error_r)) == NULL)
		return -1;
	v = xcalloc(1, sizeof(*v));
	v->index = ix;
	view_fill(v);
	v->next = ix->views;
	ix->views = v;
	if (changed)
		store_index_notify(ix, v);
	*view_r = v;
	return 0;
}

void
store_view_free(struct store_view **viewp)
{
	struct store_view *v = *viewp, **pp;
	struct store_index *ix;

	if (v == NULL)
		return;
	ix = v->index;
	for (pp = &ix->views; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == v) {
			*pp = v->next;
			break;
		}
	}
	free(v->msgs);
	free(v);
	*viewp = NULL;
	if (ix->gone && ix->views == NULL && ix->busy == 0)
		store_index_free(&ix);
}

void
store_view_set_changed_cb(struct store_view *view, store_view_changed_cb *cb,
    void *ctx)
{
	view->changed_cb = cb;
	view->ctx = ctx;
}

const char *
store_view_user(const struct store_view *view)
{
	return view->index->user;
}

const char *
store_view_folder(const struct store_view *view)
{
	return view->index->folder;
}

uint32_t
store_view_uidvalidity(const struct store_view *view)
{
	return view->uidvalidity;
}

uint32_t
store_view_uidnext(const struct store_view *view)
{
	return view->uidnext;
}

uint64_t
store_view_landed_us(const struct store_view *view)
{
	return view->index != NULL ? view->index->landed_us : 0;
}

uint32_t
store_view_count(const struct store_view *view)
{
	return (uint32_t)view->count;
}

const struct store_view_message *
store_view_messages(const struct store_view *view)
{
	return view->msgs;
}

uint32_t
store_view_seq(const struct store_view *view, uint32_t uid)
{
	size_t lo = 0, hi = view->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (view->msgs[mid].uid == uid)
			return (uint32_t)mid + 1;
		if (view->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

int
store_view_refresh(struct store_view *view, bool expunge,
    const struct store_view_refresh_cbs *cbs, void *ctx,
    const char **error_r)
{
	static const struct store_view_refresh_cbs none;
	struct store_index *ix = view->index;
	struct store_view_message *out;
	size_t i = 0, j = 0, n = 0, old_count, added = 0;
	uint32_t last_uid, first_recent;
	bool changed;

	if (cbs == NULL)
		cbs = &none;
	if (store_index_sync(ix, false, &changed, error_r) < 0)
		return -1;
	if (ix->uidvalidity != view->uidvalidity) {
		*error_r = error_code_fmt(ERROR_UIDVALIDITY,
		    "%s: UIDVALIDITY changed", ix->folder);
		return -1;
	}
	if (changed)
		store_index_notify(ix, view);
	if (view->modseq == ix->modseq && !(expunge && view->kept_gone))
		return 0;

	/* Merge by UID, reporting in ascending order so that each
	 * sequence number is the one the client holds at that moment. */
	old_count = view->count;
	view->kept_gone = false;
	last_uid = old_count > 0 ? view->msgs[old_count - 1].uid : 0;
	/* \Recent: the new messages from the mark up are this view's if
	 * it claims them before any callback could let another view in. */
	first_recent = store_index_recent_uid(ix);
	if (view->claims_recent && ix->count > 0 &&
	    ix->msgs[ix->count - 1].uid > last_uid)
		store_index_recent_claim(ix, ix->msgs[ix->count - 1].uid + 1);
	out = xreallocarray(NULL, old_count + ix->count + 1, sizeof(*out));
	while (i < old_count) {
		struct store_view_message *vm = &view->msgs[i];

		while (j < ix->count && ix->msgs[j].uid < vm->uid)
			j++;
		if (j < ix->count && ix->msgs[j].uid == vm->uid) {
			out[n] = *vm;
			if (ix->msgs[j].flags != vm->flags ||
			    ix->msgs[j].keywords != vm->keywords ||
			    ix->msgs[j].modseq != vm->modseq) {
				out[n].flags = ix->msgs[j].flags;
				out[n].keywords = ix->msgs[j].keywords;
				out[n].modseq = ix->msgs[j].modseq;
				if (cbs->flags != NULL)
					cbs->flags((uint32_t)n + 1, vm->uid,
					    out[n].flags, out[n].keywords,
					    ctx);
			}
			n++;
		} else if (expunge) {
			if (vm->recent)
				view->recent_count--;
			if (cbs->expunge != NULL)
				cbs->expunge((uint32_t)n + 1, vm->uid, ctx);
		} else {
			out[n++] = *vm;
			view->kept_gone = true;
		}
		i++;
	}
	for (; j < ix->count; j++) {
		if (ix->msgs[j].uid <= last_uid)
			continue;
		out[n].uid = ix->msgs[j].uid;
		out[n].flags = ix->msgs[j].flags;
		out[n].recent = out[n].uid >= first_recent;
		if (out[n].recent)
			view->recent_count++;
		out[n].keywords = ix->msgs[j].keywords;
		out[n].modseq = ix->msgs[j].modseq;
		n++;
		added++;
	}
	free(view->msgs);
	view->msgs = out;
	view->uidnext = ix->uidnext;
	view->modseq = ix->modseq;
	view->highest_modseq = ix->ms.highest;
	view->count = n;
	if (added > 0 && cbs->exists != NULL)
		cbs->exists((uint32_t)n, ctx);
	return 0;
}

/* ---- MODSEQ ---- */

uint64_t
store_view_uid_modseq(const struct store_view *view, uint32_t uid)
{
	struct index_msg *m = store_index_lookup(view->index, uid);

	return m != NULL ? m->modseq : 0;
}

uint64_t
store_view_highest_modseq(const struct store_view *view)
{
	return view->highest_modseq > 0 ? view->highest_modseq : 1;
}

void
store_view_vanished(const struct store_view *view, uint64_t since,
    uint32_t **uids_r, size_t *count_r, bool *all_r)
{
	const struct store_modseq *ms = &view->index->ms;
	size_t lo = 0, hi = ms->ngone, n;

	*all_r = since < ms->horizon;
	/* gone is in ascending MODSEQ: the first above since. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ms->gone[mid].modseq <= since)
			lo = mid + 1;
		else
			hi = mid;
	}
	n = ms->ngone - lo;
	*uids_r = NULL;
	*count_r = 0;
	if (n == 0)
		return;
	*uids_r = xreallocarray(NULL, n, sizeof(**uids_r));
	for (size_t i = 0; i < n; i++)
		(*uids_r)[i] = ms->gone[lo + i].uid;
	qsort(*uids_r, n, sizeof(**uids_r), store_uid_cmp);
	*count_r = n;
}

/* ---- Keywords ---- */

const char *
store_view_keyword(const struct store_view *view, unsigned i)
{
	return i < KEYWORDS_MAX ? view->index->kw.names[i] : NULL;
}

size_t
store_view_keyword_count(const struct store_view *view)
{
	return maildir_keywords_count(&view->index->kw);
}

int
store_view_keyword_find(const struct store_view *view, const char *name)
{
	return maildir_keywords_find(&view->index->kw, name);
}

/* ---- Reading messages ---- */

/* ix's entry for uid, after one sync if it is missing or its file is
 * (force: even if the stamps look the same). */
static struct index_msg *
msg_find(struct store_index *ix, uint32_t uid, const char **error_r)
{
	struct index_msg *m;
	bool changed;

	if (store_index_sync(ix, false, &changed, error_r) < 0)
		return NULL;
	if (changed)
		store_index_notify(ix, NULL);
	if ((m = store_index_lookup(ix, uid)) == NULL) {
		*error_r = error_code_fmt(ERROR_EXPUNGED,
		    "message %u is expunged", (unsigned)uid);
		return NULL;
	}
	return m;
}

/* Open m's file; if it moved, sync once (forced) and try again. */
static int
msg_open(struct store_index *ix, uint32_t uid, int *fd_r, char **path_r,
    const char **error_r)
{
	struct index_msg *m;
	bool changed;
	char *path;
	int tries, fd;

	for (tries = 0; tries < 2; tries++) {
		if ((m = msg_find(ix, uid, error_r)) == NULL)
			return -1;
		path = store_index_msg_path(ix, m);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
			if (fd_r != NULL)
				*fd_r = fd;
			else
				close(fd);
			if (path_r != NULL)
				*path_r = path;
			else
				free(path);
			return 0;
		}
		if (errno != ENOENT) {
			*error_r = error_errno(path, errno);
			free(path);
			return -1;
		}
		free(path);
		if (store_index_sync(ix, true, &changed, error_r) < 0)
			return -1;
		if (changed)
			store_index_notify(ix, NULL);
	}
	*error_r = error_code_fmt(ERROR_EXPUNGED,
	    "message %u is expunged", (unsigned)uid);
	return -1;
}

int
store_view_message_path(struct store_view *view, uint32_t uid,
    char **path_r, const char **error_r)
{
	return msg_open(view->index, uid, NULL, path_r, error_r);
}

int
store_view_message_open(struct store_view *view, uint32_t uid, int *fd_r,
    const char **error_r)
{
	return msg_open(view->index, uid, fd_r, NULL, error_r);
}

/*
 * Make sure the size and date of message uid of ix are known: the size
 * from the file name's W= if it has one (mailbell's files, Dovecot's),
 * else counted from the file once; both are then kept in the index.
 * *m_r is the message, valid until the index changes.
 */
static int
index_msg_stat(struct store_index *ix, uint32_t uid, struct index_msg **m_r,
    const char **error_r)
{
	struct index_msg *m;
	struct stat st;
	uint64_t size;
	int fd;

	if ((m = store_index_lookup(ix, uid)) == NULL || !m->have_stat) {
		if (msg_open(ix, uid, &fd, NULL, error_r) < 0)
			return -1;
		m = store_index_lookup(ix, uid);
		/* RFC822.SIZE is the size as sent, with CRLF line ends. */
		if (fstat(fd, &st) < 0 || m == NULL ||
		    (!maildir_name_crlf_size(m->name, &size) &&
		    maildir_fd_crlf_size(fd, &size) < 0)) {
			*error_r = error_fmt("message %u: %s", (unsigned)uid,
			    m == NULL ? "expunged" : strerror(errno));
			close(fd);
			return -1;
		}
		close(fd);
		m->size = size;
		m->date = (int64_t)st.st_mtim.tv_sec;
		m->have_stat = true;
	}
	*m_r = m;
	return 0;
}

int
store_view_message_info(struct store_view *view, uint32_t uid,
    struct store_message_info *info_r, const char **error_r)
{
	struct index_msg *m;

	if (index_msg_stat(view->index, uid, &m, error_r) < 0)
		return -1;
	info_r->uid = m->uid;
	info_r->flags = m->flags;
	info_r->size = m->size;
	info_r->internal_date = m->date;
	return 0;
}

/*
 * The sum of the messages' RFC822.SIZE: what the index knows, else the
 * W= of the file name, so that only a file without one (put there by
 * another program) is read, once. A message that goes meanwhile is left
 * out.
 */
static int
index_total_size(struct store_index *ix, uint64_t *size_r,
    const char **error_r)
{
	struct index_msg *m;
	uint64_t size, total = 0;
	uint32_t uid;

	for (size_t i = 0; i < ix->count; i++) {
		m = &ix->msgs[i];
		if (m->have_stat) {
			total += m->size;
			continue;
		}
		if (maildir_name_crlf_size(m->name, &size)) {
			total += size;
			continue;
		}
		uid = m->uid;
		if (index_msg_stat(ix, uid, &m, error_r) < 0) {
			if (error_code(*error_r) == ERROR_EXPUNGED)
				continue;
			return -1;
		}
		total += m->size;
	}
	*size_r = total;
	return 0;
}

static int
folder_status(struct store *store, const char *user, const char *folder,
    bool want_size, struct store_status *status_r, const char **error_r)
{
	struct store_index *ix;
	uint32_t first;
	bool changed;
	size_t i;

	if ((ix = index_get_synced(store, user, folder, &changed,
	    error_r)) == NULL)
		return -1;
	if (changed)
		store_index_notify(ix, NULL);
	memset(status_r, 0, sizeof(*status_r));
	if (want_size && index_total_size(ix, &status_r->size, error_r) < 0)
		return -1;
	status_r->messages = (uint32_t)ix->count;
	status_r->uidnext = ix->uidnext;
	status_r->uidvalidity = ix->uidvalidity;
	status_r->highestmodseq = ix->ms.highest > 0 ? ix->ms.highest : 1;
	first = store_index_recent_uid(ix);
	for (i = 0; i < ix->count; i++) {
		if ((ix->msgs[i].flags & STORE_FLAG_SEEN) == 0)
			status_r->unseen++;
		if (ix->msgs[i].uid >= first)
			status_r->recent++;
	}
	return 0;
}

int
store_folder_status(struct store *store, const char *user,
    const char *folder, struct store_status *status_r, const char **error_r)
{
	return folder_status(store, user, folder, false, status_r, error_r);
}

int
store_folder_status_size(struct store *store, const char *user,
    const char *folder, struct store_status *status_r, const char **error_r)
{
	return folder_status(store, user, folder, true, status_r, error_r);
}
