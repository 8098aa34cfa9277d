/*
 * MODSEQs (RFC 7162) of a folder: the log that keeps them across
 * restarts (format in modseq-log.h), read under the folder lock, brought
 * up to date with the index after each change by appending one record per
 * changed message, fsynced before the change is reported, and compacted
 * when it has grown well past its live records. A flag change the log
 * did not see (another program renamed a file, or we crashed between the
 * rename and the append) shows as a file whose flags differ from the
 * recorded ones, and gets a fresh MODSEQ at the next sync.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "store/modseq-log.h"
#include "store/store-index-private.h"

void
store_modseq_clear(struct store_modseq *ms)
{
	uint64_t highest = ms->highest;

	free(ms->live);
	free(ms->gone);
	memset(ms, 0, sizeof(*ms));
	ms->highest = highest;
}

static void
gone_push(struct store_modseq *ms, uint32_t uid, uint64_t modseq)
{
	if (ms->ngone == ms->gone_cap) {
		ms->gone_cap = ms->gone_cap < 16 ? 16 : ms->gone_cap * 2;
		ms->gone = xreallocarray(ms->gone, ms->gone_cap,
		    sizeof(*ms->gone));
	}
	ms->gone[ms->ngone].uid = uid;
	ms->gone[ms->ngone++].modseq = modseq;
}

/* Records of a log in file order, as load_apply() takes them. */
struct load_ctx {
	struct modseq_entry *ents;
	size_t *order;		/* file position of each entry */
	size_t count, cap;
	const struct modseq_entry *base;	/* for entry_cmp */
};

static struct load_ctx *cmp_ctx;

static int
entry_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	const struct modseq_entry *ex = &cmp_ctx->ents[x],
	    *ey = &cmp_ctx->ents[y];

	if (ex->uid != ey->uid)
		return ex->uid < ey->uid ? -1 : 1;
	return x < y ? -1 : x > y;
}

static int
gone_cmp(const void *a, const void *b)
{
	const struct modseq_gone *x = a, *y = b;

	if (x->modseq != y->modseq)
		return x->modseq < y->modseq ? -1 : 1;
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static int
gone_uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Turn the records read into ms's live and gone arrays: the last M of
 * each UID, unless an X removed it. */
static void
load_apply(struct store_modseq *ms, struct load_ctx *lc)
{
	uint32_t *gone_uids;
	size_t i, n = 0, k = 0;

	for (i = 0; i < lc->count; i++)
		lc->order[i] = i;
	cmp_ctx = lc;
	qsort(lc->order, lc->count, sizeof(*lc->order), entry_cmp);
	cmp_ctx = NULL;
	if (ms->ngone > 0)
		qsort(ms->gone, ms->ngone, sizeof(*ms->gone), gone_cmp);
	gone_uids = xreallocarray(NULL, ms->ngone + 1, sizeof(*gone_uids));
	for (i = 0; i < ms->ngone; i++)
		gone_uids[i] = ms->gone[i].uid;
	qsort(gone_uids, ms->ngone, sizeof(*gone_uids), gone_uid_cmp);
	ms->live = xreallocarray(NULL, lc->count + 1, sizeof(*ms->live));
	for (i = 0; i < lc->count; i++) {
		const struct modseq_entry *e = &lc->ents[lc->order[i]];

		if (i + 1 < lc->count &&
		    lc->ents[lc->order[i + 1]].uid == e->uid)
			continue;	/* a later record replaces it */
		while (k < ms->ngone && gone_uids[k] < e->uid)
			k++;
		if (k < ms->ngone && gone_uids[k] == e->uid)
			continue;
		ms->live[n++] = *e;
	}
	ms->nlive = n;
	free(gone_uids);
}

/* Take one record into ms and lc. */
static void
load_rec(struct store_modseq *ms, struct load_ctx *lc,
    const struct modseq_rec *rec)
{
	if (rec->modseq > ms->highest)
		ms->highest = rec->modseq;
	if (rec->type == MODSEQ_REC_HEADER) {
		ms->uidvalidity = rec->uid;
		ms->horizon = rec->horizon;
	} else if (rec->type == MODSEQ_REC_GONE) {
		gone_push(ms, rec->uid, rec->modseq);
	} else {
		if (lc->count == lc->cap) {
			lc->cap = lc->cap < 64 ? 64 : lc->cap * 2;
			lc->ents = xreallocarray(lc->ents, lc->cap,
			    sizeof(*lc->ents));
		}
		lc->ents[lc->count].uid = rec->uid;
		lc->ents[lc->count].flags = rec->flags;
		lc->ents[lc->count].keywords = rec->keywords;
		lc->ents[lc->count++].modseq = rec->modseq;
	}
}

/* Parse data (len bytes of the log) into ms; *valid_r is the length of
 * the good prefix (a torn or damaged tail is left out). False if the
 * log does not start with its header. */
static bool
load_parse(struct store_modseq *ms, const char *data, size_t len,
    size_t *valid_r)
{
	struct modseq_parser p;
	struct modseq_rec rec;
	struct load_ctx lc = { 0 };
	size_t off = 0, used;
	bool header = false;
	int ret;

	modseq_parser_init(&p);
	*valid_r = 0;
	while (off < len) {
		ret = modseq_parser_feed(&p, data + off, len - off, &used,
		    &rec);
		off += used;
		if (ret <= 0)
			break;
		if (header == (rec.type == MODSEQ_REC_HEADER))
			break;		/* one header, first */
		header = true;
		load_rec(ms, &lc, &rec);
		*valid_r = off;
	}
	lc.order = xreallocarray(NULL, lc.count + 1, sizeof(*lc.order));
	load_apply(ms, &lc);
	free(lc.order);
	free(lc.ents);
	return header;
}

/* Read the log (the lock is held). A damaged tail is cut off the file,
 * so appends go after the good records. 0 or -1. */
static int
modseq_load(struct store_index *ix, const char **error_r)
{
	struct store_modseq *ms = &ix->ms;
	char *path = store_index_sub(ix, MODSEQ_LOG_FILE), *data;
	size_t len, valid;
	struct stat st;

	store_modseq_clear(ms);
	if (read_file(path, SIZE_MAX / 2, &data, &len) < 0) {
		if (errno != ENOENT) {
			*error_r = error_errno(path, errno);
			free(path);
			return -1;
		}
		free(path);
		return 0;	/* not loaded: made at the first write */
	}
	if (!load_parse(ms, data, len, &valid)) {
		log_warnx("%s: no header, started afresh", path);
		store_modseq_clear(ms);
	} else if (valid < len) {
		log_warnx("%s: %zu bytes of a torn or damaged tail dropped",
		    path, len - valid);
		if (truncate(path, (off_t)valid) < 0) {
			*error_r = error_errno(path, errno);
			free(data);
			free(path);
			return -1;
		}
	}
	free(data);
	if (ms->uidvalidity != 0 && stat(path, &st) == 0) {
		ms->loaded = true;
		ms->dev = st.st_dev;
		ms->ino = st.st_ino;
		ms->size = st.st_size;
	}
	free(path);
	return 0;
}

/* Remember the file as we leave it. */
static void
modseq_stamp(struct store_modseq *ms, int fd)
{
	struct stat st;

	if (fstat(fd, &st) == 0) {
		ms->dev = st.st_dev;
		ms->ino = st.st_ino;
		ms->size = st.st_size;
		ms->loaded = true;
	}
}

/* Forget the oldest expunges beyond MODSEQ_GONE_MAX, raising the
 * horizon to cover them. */
static void
gone_trim(struct store_modseq *ms)
{
	size_t drop;

	if (ms->ngone <= MODSEQ_GONE_MAX)
		return;
	drop = ms->ngone - MODSEQ_GONE_MAX;
	ms->horizon = ms->gone[drop - 1].modseq;
	memmove(ms->gone, ms->gone + drop, MODSEQ_GONE_MAX *
	    sizeof(*ms->gone));
	ms->ngone = MODSEQ_GONE_MAX;
}

/* Replace the log with ms's live state: temporary file, fsync, rename,
 * fsync of the directory, as the UID list is written. 0 or -1. */
static int
modseq_rewrite(struct store_index *ix, const char **error_r)
{
	struct store_modseq *ms = &ix->ms;
	struct modseq_rec rec = { .type = MODSEQ_REC_HEADER };
	char *tmp = store_index_sub(ix, MODSEQ_LOG_TMP);
	char *path = store_index_sub(ix, MODSEQ_LOG_FILE);
	struct buf b;
	size_t i;
	int fd = -1, ret = -1;

	gone_trim(ms);
	buf_init(&b, 0);
	rec.uid = ms->uidvalidity;
	rec.modseq = ms->highest;
	rec.horizon = ms->horizon;
	modseq_rec_format(&rec, &b);
	for (i = 0; i < ms->nlive; i++) {
		rec.type = MODSEQ_REC_MSG;
		rec.uid = ms->live[i].uid;
		rec.modseq = ms->live[i].modseq;
		rec.flags = ms->live[i].flags;
		rec.keywords = ms->live[i].keywords;
		modseq_rec_format(&rec, &b);
	}
	for (i = 0; i < ms->ngone; i++) {
		rec.type = MODSEQ_REC_GONE;
		rec.uid = ms->gone[i].uid;
		rec.modseq = ms->gone[i].modseq;
		modseq_rec_format(&rec, &b);
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0 || write_full(fd, b.data, b.len) < 0 || fsync(fd) < 0) {
		*error_r = error_errno(tmp, errno);
		goto out;
	}
	if (rename(tmp, path) < 0 || fsync_dir(ix->dir) < 0) {
		*error_r = error_errno(path, errno);
		goto out;
	}
	modseq_stamp(ms, fd);
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ret < 0)
		(void)unlink(tmp);
	buf_free(&b);
	free(tmp);
	free(path);
	return ret;
}

/* Append records to the log and fsync it. 0 or -1. */
static int
modseq_append(struct store_index *ix, const struct buf *recs,
    const char **error_r)
{
	char *path = store_index_sub(ix, MODSEQ_LOG_FILE);
	int fd, ret = -1;

	fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || write_full(fd, recs->data, recs->len) < 0 ||
	    fdatasync(fd) < 0) {
		*error_r = error_errno(path, errno);
		goto out;
	}
	modseq_stamp(&ix->ms, fd);
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(path);
	return ret;
}

/* True if the log on disk is not the one we last read or wrote. */
static bool
modseq_stale(struct store_index *ix)
{
	struct store_modseq *ms = &ix->ms;
	char *path;
	struct stat st;
	bool stale;

	if (!ms->loaded)
		return true;
	path = store_index_sub(ix, MODSEQ_LOG_FILE);
	stale = stat(path, &st) < 0 || st.st_dev != ms->dev ||
	    st.st_ino != ms->ino || st.st_size != ms->size;
	free(path);
	return stale;
}

static void
rec_add(struct buf *b, enum modseq_rec_type type,
    const struct modseq_entry *e)
{
	struct modseq_rec rec = { .type = type };

	rec.uid = e->uid;
	rec.modseq = e->modseq;
	rec.flags = e->flags;
	rec.keywords = e->keywords;
	modseq_rec_format(&rec, b);
}

/* Merge ix's messages with the recorded ones, giving fresh MODSEQs to
 * what changed and appending the records for them to recs. */
static void
modseq_merge(struct store_index *ix, struct buf *recs)
{
	struct store_modseq *ms = &ix->ms;
	struct modseq_entry *live, e;
	size_t i, j = 0;

	live = xreallocarray(NULL, ix->count + 1, sizeof(*live));
	for (i = 0; i < ix->count; i++) {
		struct index_msg *m = &ix->msgs[i];

		for (; j < ms->nlive && ms->live[j].uid < m->uid; j++) {
			ms->live[j].modseq = ++ms->highest;
			gone_push(ms, ms->live[j].uid, ms->highest);
			rec_add(recs, MODSEQ_REC_GONE, &ms->live[j]);
		}
		if (j < ms->nlive && ms->live[j].uid == m->uid) {
			e = ms->live[j++];
		} else {
			memset(&e, 0, sizeof(e));
			e.uid = m->uid;
		}
		if (e.modseq == 0 || e.flags != m->flags ||
		    e.keywords != m->keywords) {
			e.flags = m->flags;
			e.keywords = m->keywords;
			e.modseq = ++ms->highest;
			rec_add(recs, MODSEQ_REC_MSG, &e);
		}
		m->modseq = e.modseq;
		live[i] = e;
	}
	for (; j < ms->nlive; j++) {
		ms->live[j].modseq = ++ms->highest;
		gone_push(ms, ms->live[j].uid, ms->highest);
		rec_add(recs, MODSEQ_REC_GONE, &ms->live[j]);
	}
	free(ms->live);
	ms->live = live;
	ms->nlive = ix->count;
}

int
store_modseq_update(struct store_index *ix, const char **error_r)
{
	struct store_modseq *ms = &ix->ms;
	uint64_t before;
	struct buf recs;
	size_t need;
	bool rewrite;
	int ret = 0;

	if (modseq_stale(ix) && modseq_load(ix, error_r) < 0)
		return -1;
	rewrite = !ms->loaded;
	if (ms->uidvalidity != ix->uidvalidity) {
		/* A new or rebuilt folder: no old UID means anything. */
		store_modseq_clear(ms);
		ms->uidvalidity = ix->uidvalidity;
		ms->horizon = ms->highest;
		rewrite = true;
	}
	before = ms->highest;
	buf_init(&recs, 0);
	modseq_merge(ix, &recs);
	need = (ms->nlive + ms->ngone + 1) * 40;
	if (ms->size > (off_t)MODSEQ_LOG_COMPACT_MIN &&
	    (size_t)ms->size + recs.len > need * MODSEQ_LOG_COMPACT_FACTOR)
		rewrite = true;
	if (rewrite)
		ret = modseq_rewrite(ix, error_r);
	else if (recs.len > 0)
		ret = modseq_append(ix, &recs, error_r);
	buf_free(&recs);
	if (ret < 0)
		ms->loaded = false;	/* read again, keeping highest */
	if (ms->highest != before)
		ix->modseq++;
	return ret;
}
