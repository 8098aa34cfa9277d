/*
 * The per-folder UID list: parsing, formatting, appending changes,
 * atomic replacement and the cross-process lock. See maildir-uidlist.h
 * for the file format.
 */
#include "store/maildir-uidlist.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/strnum.h"
#include "lib/xmalloc.h"
#include "store/log-line.h"
#include "store/store-private.h"

#define UIDLIST_MAGIC_V1 "mailbell-uidlist 1 "
#define UIDLIST_MAGIC "mailbell-uidlist 2 "

static pthread_mutex_t uidvalidity_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t uidvalidity_last;

struct maildir_uidlist *
maildir_uidlist_new(uint32_t uidvalidity)
{
	struct maildir_uidlist *list = xcalloc(1, sizeof(*list));

	list->uidvalidity = uidvalidity;
	list->uidnext = 1;
	buf_init(&list->pending, 0);
	list->rewrite = true;
	return list;
}

void
maildir_uidlist_free(struct maildir_uidlist **listp)
{
	struct maildir_uidlist *list = *listp;
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < list->count; i++)
		free(list->bases[i]);
	free(list->bases);
	free(list->uids);
	buf_free(&list->pending);
	free(list);
	*listp = NULL;
}

struct maildir_uidlist *
maildir_uidlist_dup(const struct maildir_uidlist *list)
{
	struct maildir_uidlist *copy = maildir_uidlist_new(list->uidvalidity);
	size_t i;

	copy->uidnext = list->uidnext;
	copy->rewrite = list->rewrite;
	copy->dead = list->dead;
	(void)buf_append(&copy->pending, list->pending.data,
	    list->pending.len);
	copy->cap = list->count;
	copy->count = list->count;
	if (list->count > 0) {
		copy->uids = xreallocarray(NULL, list->count,
		    sizeof(*copy->uids));
		copy->bases = xreallocarray(NULL, list->count,
		    sizeof(*copy->bases));
		memcpy(copy->uids, list->uids,
		    list->count * sizeof(*copy->uids));
		for (i = 0; i < list->count; i++)
			copy->bases[i] = xstrdup(list->bases[i]);
	}
	return copy;
}

uint32_t
maildir_uidvalidity_next(uint32_t floor)
{
	time_t now = time(NULL);
	uint32_t v;

	v = now > 0 && (uint64_t)now < UINT32_MAX ? (uint32_t)now : 1;
	pthread_mutex_lock(&uidvalidity_lock);
	if (v <= uidvalidity_last)
		v = uidvalidity_last + 1;
	if (v <= floor)
		v = floor + 1;
	if (v == 0)
		v = 1;
	uidvalidity_last = v;
	pthread_mutex_unlock(&uidvalidity_lock);
	return v;
}

/* Append the record of a message (base not NULL) or of its going. */
static void
record_add(struct buf *out, uint32_t uid, const char *base, size_t base_len)
{
	size_t start = out->len;

	if (base != NULL) {
		(void)buf_printf(out, "+ %" PRIu32 " ", uid);
		(void)buf_append(out, base, base_len);
	} else {
		(void)buf_printf(out, "- %" PRIu32, uid);
	}
	log_line_close(out, start);
}

static void
uidlist_push(struct maildir_uidlist *list, uint32_t uid, char *base)
{
	if (list->count == list->cap) {
		list->cap = list->cap == 0 ? 64 : list->cap * 2;
		list->uids = xreallocarray(list->uids, list->cap,
		    sizeof(*list->uids));
		list->bases = xreallocarray(list->bases, list->cap,
		    sizeof(*list->bases));
	}
	list->uids[list->count] = uid;
	list->bases[list->count] = base;
	list->count++;
}

int
maildir_uidlist_append(struct maildir_uidlist *list, const char *base,
    size_t base_len, uint32_t *uid_r)
{
	/* UIDs are 32-bit and never reused (RFC 3501 2.3.1.1). */
	if (list->uidnext == UINT32_MAX)
		return -1;
	uidlist_push(list, list->uidnext, xstrndup(base, base_len));
	record_add(&list->pending, list->uidnext, base, base_len);
	*uid_r = list->uidnext++;
	return 0;
}

void
maildir_uidlist_filter(struct maildir_uidlist *list, const bool *keep)
{
	size_t i, j = 0;

	for (i = 0; i < list->count; i++) {
		if (!keep[i]) {
			record_add(&list->pending, list->uids[i], NULL, 0);
			list->dead += 2;	/* its "+" and this "-" */
			free(list->bases[i]);
			continue;
		}
		list->uids[j] = list->uids[i];
		list->bases[j] = list->bases[i];
		j++;
	}
	list->count = j;
}

/* Parse a decimal uint32 at *p, advancing *p. */
static int
parse_u32(const char **p, const char *end, uint32_t *num_r)
{
	uint64_t num;

	if (str_parse_u64(p, end, UINT32_MAX, &num) < 0)
		return -1;
	*num_r = (uint32_t)num;
	return 0;
}

/* The format of version 1, written whole each time. */
static int
parse_v1(const char *data, size_t len, struct maildir_uidlist **list_r,
    const char **error_r)
{
	const char *p = data, *end = data + len, *eol, *base;
	struct maildir_uidlist *list;
	uint32_t uidvalidity, uidnext, uid, last = 0;
	unsigned line = 1;

	p += strlen(UIDLIST_MAGIC_V1);
	if (parse_u32(&p, end, &uidvalidity) < 0 || uidvalidity == 0 ||
	    p >= end || *p++ != ' ' || parse_u32(&p, end, &uidnext) < 0 ||
	    uidnext == 0 || p >= end || *p++ != '\n') {
		*error_r = error_fmt("bad UID list header");
		return -1;
	}
	list = maildir_uidlist_new(uidvalidity);
	list->uidnext = uidnext;
	/* Rewritten in the current format at the first change. */
	list->rewrite = true;
	while (p < end) {
		line++;
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL) {
			*error_r = error_fmt("UID list line %u: "
			    "truncated", line);
			goto fail;
		}
		if ((size_t)(eol - p) > UIDLIST_LINE_MAX) {
			*error_r = error_fmt("UID list line %u: too long",
			    line);
			goto fail;
		}
		if (parse_u32(&p, eol, &uid) < 0 || uid <= last ||
		    uid >= uidnext || p >= eol || *p++ != ' ') {
			*error_r = error_fmt("UID list line %u: bad UID",
			    line);
			goto fail;
		}
		base = p;
		if (base == eol || memchr(base, '/', (size_t)(eol - base)) ||
		    memchr(base, '\0', (size_t)(eol - base))) {
			*error_r = error_fmt("UID list line %u: bad file "
			    "name", line);
			goto fail;
		}
		uidlist_push(list, uid, xstrndup(base, (size_t)(eol - base)));
		last = uid;
		p = eol + 1;
	}
	*list_r = list;
	return 0;
fail:
	maildir_uidlist_free(&list);
	return -1;
}

/* The header's body: "mailbell-uidlist 2 <uidvalidity> <uidnext>". */
static int
parse_header(const char *p, const char *end, uint32_t *uidvalidity_r,
    uint32_t *uidnext_r)
{
	size_t magic = strlen(UIDLIST_MAGIC);

	if ((size_t)(end - p) < magic || memcmp(p, UIDLIST_MAGIC, magic) != 0)
		return -1;
	p += magic;
	if (parse_u32(&p, end, uidvalidity_r) < 0 || *uidvalidity_r == 0 ||
	    p >= end || *p++ != ' ' || parse_u32(&p, end, uidnext_r) < 0 ||
	    *uidnext_r == 0 || p != end)
		return -1;
	return 0;
}

/* Take a "-" record: the UID's entry is freed and left as a hole (NULL
 * base) until the whole file is read. */
static void
record_gone(struct maildir_uidlist *list, uint32_t uid)
{
	size_t lo = 0, hi = list->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (list->uids[mid] == uid) {
			if (list->bases[mid] != NULL) {
				free(list->bases[mid]);
				list->bases[mid] = NULL;
				list->dead++;	/* its "+" */
			}
			break;
		}
		if (list->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	list->dead++;
}

/* One record's body (check cut off) into list. -1 if it is not one. */
static int
parse_record(struct maildir_uidlist *list, const char *p, const char *end)
{
	uint32_t uid;
	char type;

	if (end - p < 3 || p[1] != ' ')
		return -1;
	type = *p;
	p += 2;
	if (parse_u32(&p, end, &uid) < 0 || uid == 0)
		return -1;
	if (type == '-' && p == end) {
		record_gone(list, uid);
		return 0;
	}
	/* "+": UIDs only go up, and one is always left for UIDNEXT. */
	if (type != '+' || (list->count > 0 &&
	    uid <= list->uids[list->count - 1]) || uid == UINT32_MAX ||
	    p >= end || *p++ != ' ' || p == end ||
	    memchr(p, '/', (size_t)(end - p)) != NULL ||
	    memchr(p, '\0', (size_t)(end - p)) != NULL)
		return -1;
	uidlist_push(list, uid, xstrndup(p, (size_t)(end - p)));
	if (uid >= list->uidnext)
		list->uidnext = uid + 1;
	return 0;
}

/* Drop the holes "-" records left. */
static void
close_holes(struct maildir_uidlist *list)
{
	size_t i, j = 0;

	for (i = 0; i < list->count; i++) {
		if (list->bases[i] == NULL)
			continue;
		list->uids[j] = list->uids[i];
		list->bases[j++] = list->bases[i];
	}
	list->count = j;
}

/*
 * The records after the header, up to the end or the first bad line.
 * Returns the length of the good prefix, or -1 with *error_r if the
 * list is damaged rather than torn: a line with a right check but wrong
 * contents, or a good line after a bad one.
 */
static ssize_t
parse_records(struct maildir_uidlist *list, struct log_line_reader *r,
    const char *data, size_t len, size_t off, const char **error_r)
{
	const char *body;
	size_t used, blen, valid = off;
	unsigned line = 1;
	int ret = 0;

	while (off < len) {
		ret = log_line_feed(r, data + off, len - off, &used, &body,
		    &blen);
		off += used;
		line++;
		if (ret <= 0)
			break;
		if (parse_record(list, body, body + blen) < 0) {
			*error_r = error_fmt("UID list line %u: bad record",
			    line);
			return -1;
		}
		valid = off;
	}
	while (ret < 0 && off < len) {
		ret = log_line_feed(r, data + off, len - off, &used, &body,
		    &blen);
		off += used;
		if (ret > 0) {
			*error_r = error_fmt("UID list line %u: damaged, "
			    "with records after it", line);
			return -1;
		}
	}
	return (ssize_t)valid;
}

/* The format of version 2: a log of checked lines. */
static int
parse_v2(const char *data, size_t len, struct maildir_uidlist **list_r,
    size_t *valid_r, const char **error_r)
{
	char line[UIDLIST_LINE_MAX + LOG_LINE_CHECK_LEN];
	struct log_line_reader r;
	struct maildir_uidlist *list;
	uint32_t uidvalidity, uidnext;
	const char *body;
	size_t used, blen;
	ssize_t valid;

	log_line_reader_init(&r, line, sizeof(line));
	if (log_line_feed(&r, data, len, &used, &body, &blen) <= 0 ||
	    parse_header(body, body + blen, &uidvalidity, &uidnext) < 0) {
		*error_r = error_fmt("bad UID list header");
		return -1;
	}
	list = maildir_uidlist_new(uidvalidity);
	list->uidnext = uidnext;
	list->rewrite = false;
	if ((valid = parse_records(list, &r, data, len, used,
	    error_r)) < 0) {
		maildir_uidlist_free(&list);
		return -1;
	}
	close_holes(list);
	*list_r = list;
	*valid_r = (size_t)valid;
	return 0;
}

int
maildir_uidlist_parse(const char *data, size_t len,
    struct maildir_uidlist **list_r, size_t *valid_r, const char **error_r)
{
	size_t magic = strlen(UIDLIST_MAGIC);

	if (len >= magic && memcmp(data, UIDLIST_MAGIC_V1, magic) == 0) {
		*valid_r = len;
		return parse_v1(data, len, list_r, error_r);
	}
	if (len >= magic && memcmp(data, UIDLIST_MAGIC, magic) == 0)
		return parse_v2(data, len, list_r, valid_r, error_r);
	*error_r = error_fmt("not a mailbell UID list");
	return -1;
}

bool
maildir_uidlist_needs_rewrite(const struct maildir_uidlist *list)
{
	return list->rewrite || (list->dead >= UIDLIST_COMPACT_MIN &&
	    list->dead > list->count * UIDLIST_COMPACT_FACTOR);
}
void
maildir_uidlist_format(const struct maildir_uidlist *list, struct buf *out)
{
	size_t i, start = out->len;

	(void)buf_printf(out, UIDLIST_MAGIC "%" PRIu32 " %" PRIu32,
	    list->uidvalidity, list->uidnext);
	log_line_close(out, start);
	for (i = 0; i < list->count; i++) {
		record_add(out, list->uids[i], list->bases[i],
		    strlen(list->bases[i]));
	}
}

static int
dir_path(char *buf, size_t size, const char *dir, const char *name)
{
	int n = snprintf(buf, size, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int
maildir_uidlist_read(const char *dir, struct maildir_uidlist **list_r,
    const char **error_r)
{
	char path[PATH_MAX], *data;
	size_t len, valid;
	int ret;

	if (dir_path(path, sizeof(path), dir, MAILDIR_UIDLIST_FILE) < 0) {
		*error_r = error_fmt("%s: path too long", dir);
		return -1;
	}
	/* A 32-bit UID space of lines of at most UIDLIST_LINE_MAX. */
	if (read_file(path, SIZE_MAX / 2, &data, &len) < 0) {
		if (errno == ENOENT)
			return 0;
		*error_r = error_errno(path, errno);
		return -1;
	}
	ret = maildir_uidlist_parse(data, len, list_r, &valid, error_r);
	free(data);
	if (ret < 0) {
		*error_r = error_fmt("%s: %s", path, *error_r);
		return -2;
	}
	if (valid < len) {
		/* Records a crash cut short were never fsynced, so never
		 * reported: cut them off, and append after the good ones. */
		log_warnx("%s: %zu bytes of a torn tail dropped", path,
		    len - valid);
		if (truncate(path, (off_t)valid) < 0) {
			*error_r = error_errno(path, errno);
			maildir_uidlist_free(list_r);
			return -1;
		}
	}
	return 1;
}

int
maildir_uidlist_write_tmp(const char *dir, struct maildir_uidlist *list,
    const char **error_r)
{
	char tmp[PATH_MAX];
	struct buf b;
	int fd;

	if (dir_path(tmp, sizeof(tmp), dir, MAILDIR_UIDLIST_TMP) < 0) {
		*error_r = error_fmt("%s: path too long", dir);
		return -1;
	}
	buf_init(&b, 0);
	maildir_uidlist_format(list, &b);
	/* Whoever holds the lock owns the temporary file; a leftover one
	 * is from a writer that died, and is overwritten. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0) {
		*error_r = error_errno(tmp, errno);
		buf_free(&b);
		return -1;
	}
	if (write_full(fd, b.data, b.len) < 0) {
		*error_r = error_errno(tmp, errno);
		close(fd);
		(void)unlink(tmp);
		buf_free(&b);
		return -1;
	}
	buf_free(&b);
	/* The file holds it all now (once renamed over the list). */
	buf_reset(&list->pending);
	list->dead = 0;
	list->rewrite = false;
	/* Start writing now so that the caller's first fsync of the round
	 * carries this file too. Only a hint: the caller still fsyncs. */
	(void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	return fd;
}

int
maildir_uidlist_write_pending(const char *dir, struct maildir_uidlist *list,
    const char **error_r)
{
	char path[PATH_MAX];
	struct stat st = { 0 };
	int fd, saved;

	if (dir_path(path, sizeof(path), dir, MAILDIR_UIDLIST_FILE) < 0) {
		*error_r = error_fmt("%s: path too long", dir);
		return -1;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		*error_r = error_errno(path, errno);
		return -1;
	}
	if (fstat(fd, &st) < 0 || write_full(fd, list->pending.data,
	    list->pending.len) < 0) {
		saved = errno;
		/* A part written would glue the next append to it. */
		if (st.st_size > 0 && ftruncate(fd, st.st_size) < 0)
			list->rewrite = true;
		*error_r = error_errno(path, saved);
		close(fd);
		return -1;
	}
	buf_reset(&list->pending);
	(void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	return fd;
}

int
maildir_uidlist_install(const char *dir, const char **error_r)
{
	char path[PATH_MAX], tmp[PATH_MAX];

	if (dir_path(path, sizeof(path), dir, MAILDIR_UIDLIST_FILE) < 0 ||
	    dir_path(tmp, sizeof(tmp), dir, MAILDIR_UIDLIST_TMP) < 0) {
		*error_r = error_fmt("%s: path too long", dir);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		*error_r = error_errno(path, errno);
		(void)unlink(tmp);
		return -1;
	}
	return 0;
}

/* Replace the list: temporary file, fsync, rename, fsync of dir. */
static int
write_whole(const char *dir, struct maildir_uidlist *list,
    const char *sync_first, const char **error_r)
{
	char tmp[PATH_MAX];
	int fd, ret, saved;

	if ((fd = maildir_uidlist_write_tmp(dir, list, error_r)) < 0)
		return -1;
	(void)dir_path(tmp, sizeof(tmp), dir, MAILDIR_UIDLIST_TMP);
	ret = fsync(fd);
	saved = errno;
	if (close(fd) < 0 && ret == 0) {
		ret = -1;
		saved = errno;
	}
	if (ret < 0) {
		*error_r = error_errno(tmp, saved);
		(void)unlink(tmp);
		return -1;
	}
	if (sync_first != NULL && fsync_dir(sync_first) < 0) {
		*error_r = error_errno(sync_first, errno);
		(void)unlink(tmp);
		return -1;
	}
	if (maildir_uidlist_install(dir, error_r) < 0)
		return -1;
	if (fsync_dir(dir) < 0) {
		*error_r = error_errno(dir, errno);
		return -1;
	}
	return 0;
}

int
maildir_uidlist_write(const char *dir, struct maildir_uidlist *list,
    const char *sync_first, const char **error_r)
{
	char path[PATH_MAX];
	int fd, ret, saved;

	if (maildir_uidlist_needs_rewrite(list)) {
		if (write_whole(dir, list, sync_first, error_r) == 0)
			return 0;
		list->rewrite = true;
		return -1;
	}
	if (sync_first != NULL && fsync_dir(sync_first) < 0) {
		*error_r = error_errno(sync_first, errno);
		return -1;
	}
	if (list->pending.len == 0)
		return 0;
	if ((fd = maildir_uidlist_write_pending(dir, list, error_r)) < 0)
		return -1;
	ret = fdatasync(fd);
	saved = errno;
	if (close(fd) < 0 && ret == 0) {
		ret = -1;
		saved = errno;
	}
	if (ret < 0) {
		(void)dir_path(path, sizeof(path), dir, MAILDIR_UIDLIST_FILE);
		*error_r = error_errno(path, saved);
		return -1;
	}
	return 0;
}

int
maildir_uidlist_lock(const char *dir, const char **error_r)
{
	char path[PATH_MAX];
	int fd;

	if (dir_path(path, sizeof(path), dir, MAILDIR_UIDLIST_LOCK) < 0) {
		*error_r = error_fmt("%s: path too long", dir);
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		*error_r = error_errno(path, errno);
		return -1;
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno == EINTR)
			continue;
		*error_r = error_fmt("%s: flock: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

void
maildir_uidlist_unlock(int *fdp)
{
	if (*fdp < 0)
		return;
	/* Closing the only descriptor of the open file releases the lock. */
	close(*fdp);
	*fdp = -1;
}
