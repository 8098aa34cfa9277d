/*
 * Syncing a folder's UID list with the files of new/ and cur/: scanning
 * the directories, giving fresh files the next UIDs, dropping entries
 * whose files are gone, and the list operations done under the lock.
 */
#include "store/maildir.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/error.h"
#include "lib/limits.h"
#include "lib/xmalloc.h"
#include "store/maildir-flags.h"
#include "store/maildir-private.h"
#include "store/maildir-uidlist.h"
#include "store/store-private.h"

_Atomic unsigned long maildir_readdir_count;

void
maildir_scan_free(struct maildir_scan *scan)
{
	size_t i;

	for (i = 0; i < scan->count; i++)
		free(scan->files[i].name);
	free(scan->files);
	memset(scan, 0, sizeof(*scan));
}

void
maildir_scan_add(struct maildir_scan *scan, const char *name, bool cur)
{
	struct maildir_file *f;

	if (scan->count == scan->cap) {
		scan->cap = scan->cap == 0 ? 64 : scan->cap * 2;
		scan->files = xreallocarray(scan->files, scan->cap,
		    sizeof(*scan->files));
	}
	f = &scan->files[scan->count++];
	memset(f, 0, sizeof(*f));
	f->name = xstrdup(name);
	f->base_len = maildir_name_base_len(name);
	f->cur = cur;
}

int
maildir_scan_dir(struct maildir_scan *scan, const char *dir, bool cur,
    const char **error_r)
{
	const char *sub = cur ? "cur" : "new";
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	maildir_readdir_count++;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, sub) >=
	    sizeof(path)) {
		*error_r = error_fmt("%s: path too long", dir);
		return -1;
	}
	if ((d = opendir(path)) == NULL) {
		/* ENOENT: a Maildir still being created, or being removed. */
		*error_r = error_code_fmt(errno == ENOENT ?
		    ERROR_NOT_FOUND : ERROR_INTERNAL, "%s: %s", path,
		    strerror(errno));
		return -1;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		/* Dot files are not messages (Maildir); names the UID list
		 * cannot hold are skipped rather than misread. */
		if (de->d_name[0] == '.' || strchr(de->d_name, '\n') != NULL ||
		    strlen(de->d_name) > UIDLIST_LINE_MAX - 16)
			continue;
		if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
			continue;
		maildir_scan_add(scan, de->d_name, cur);
	}
	if (errno != 0) {
		*error_r = error_errno(path, errno);
		closedir(d);
		return -1;
	}
	closedir(d);
	return 0;
}

static int
base_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* Order by base name, cur/ before new/ for the same base. */
static int
scanned_cmp(const void *a, const void *b)
{
	const struct maildir_file *x = a, *y = b;
	int c = base_cmp(x->name, x->base_len, y->name, y->base_len);

	if (c != 0)
		return c;
	return (int)y->cur - (int)x->cur;
}

static int
scanned_ptr_name_cmp(const void *a, const void *b)
{
	const struct maildir_file *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

static int
scanned_uid_cmp(const void *a, const void *b)
{
	const struct maildir_file *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static struct maildir_file *
scan_find(struct maildir_scan *scan, const char *base)
{
	size_t lo = 0, hi = scan->count, blen = strlen(base);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct maildir_file *f = &scan->files[mid];
		int c = base_cmp(base, blen, f->name, f->base_len);

		if (c == 0)
			return f;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* The snapshot of a scan that maildir_sync_scan ordered by UID. */
static struct store_folder *
snapshot(uint32_t uidvalidity, uint32_t uidnext, struct maildir_scan *scan)
{
	struct store_folder *folder = xcalloc(1, sizeof(*folder));
	struct maildir_file *f;
	size_t i;

	folder->uidvalidity = uidvalidity;
	folder->uidnext = uidnext;
	if (scan->count > 0)
		folder->messages = xcalloc(scan->count,
		    sizeof(*folder->messages));
	for (i = 0; i < scan->count; i++) {
		f = &scan->files[i];
		folder->messages[folder->count].uid = f->uid;
		folder->messages[folder->count].file = xasprintf("%s/%s",
		    f->cur ? "cur" : "new", f->name);
		folder->messages[folder->count].flags =
		    maildir_name_flags(f->name);
		folder->count++;
	}
	return folder;
}

int
maildir_sync_scan(struct store *store, const char *dir,
    struct maildir_scan *scan, uint32_t *uidvalidity_r, uint32_t *uidnext_r,
    const char **error_r)
{
	struct folder_cache *cache = NULL;
	struct maildir_uidlist *list;
	struct maildir_file **fresh = NULL, *f;
	size_t i, j, nfresh = 0;
	bool changed = false, *keep = NULL;
	uint32_t uid;
	int ret = -1, loaded;

	if ((loaded = maildir_list_load(store, dir, &cache, error_r)) < 0)
		return -1;
	list = cache->list;
	changed = loaded == 0;
	if (scan->count > 0)
		qsort(scan->files, scan->count, sizeof(*scan->files),
		    scanned_cmp);
	/* A message caught between new/ and cur/ by another program's
	 * rename can show up in both: keep one (cur/, sorted first). */
	for (i = 0, j = 0; i < scan->count; i++) {
		scan->files[i].matched = false;
		scan->files[i].uid = 0;
		if (j > 0 && base_cmp(scan->files[j - 1].name,
		    scan->files[j - 1].base_len, scan->files[i].name,
		    scan->files[i].base_len) == 0) {
			free(scan->files[i].name);
			continue;
		}
		scan->files[j++] = scan->files[i];
	}
	scan->count = j;

	/* Entries whose files are gone are dropped. */
	keep = xcalloc(list->count + 1, sizeof(*keep));
	for (i = 0; i < list->count; i++) {
		if ((f = scan_find(scan, list->bases[i])) != NULL &&
		    !f->matched) {
			f->matched = true;
			f->uid = list->uids[i];
			keep[i] = true;
		} else {
			changed = true;
		}
	}
	maildir_uidlist_filter(list, keep);

	/* Files nobody gave a UID: appended in name order. */
	fresh = xcalloc(scan->count + 1, sizeof(*fresh));
	for (i = 0; i < scan->count; i++) {
		if (!scan->files[i].matched)
			fresh[nfresh++] = &scan->files[i];
	}
	if (nfresh > 0)
		qsort(fresh, nfresh, sizeof(*fresh), scanned_ptr_name_cmp);
	for (i = 0; i < nfresh; i++) {
		if (maildir_uidlist_append(list, fresh[i]->name,
		    fresh[i]->base_len, &uid) < 0) {
			*error_r = error_code_fmt(ERROR_LIMIT,
			    "%s: folder is out of UIDs", dir);
			maildir_cache_free(&cache);
			goto out;
		}
		fresh[i]->uid = uid;
		fresh[i]->matched = true;
		changed = true;
	}
	if (changed && maildir_uidlist_write(dir, list, NULL, error_r) < 0) {
		maildir_cache_free(&cache);
		goto out;
	}
	*uidvalidity_r = list->uidvalidity;
	*uidnext_r = list->uidnext;
	if (changed)
		maildir_list_written(store, cache);
	else
		maildir_cache_put(store, cache);
	cache = NULL;
	if (scan->count > 0)
		qsort(scan->files, scan->count, sizeof(*scan->files),
		    scanned_uid_cmp);
	ret = 0;
out:
	free(fresh);
	free(keep);
	return ret;
}

int
maildir_sync(struct store *store, const char *dir,
    struct store_folder **folder_r, const char **error_r)
{
	struct maildir_scan scan = { 0 };
	uint32_t uidvalidity, uidnext;
	int lock_fd, ret = -1;
	struct stat st;

	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		*error_r = error_code_fmt(ERROR_NOT_FOUND,
		    "%s: no such folder", dir);
		return -1;
	}
	if ((lock_fd = maildir_uidlist_lock(dir, error_r)) < 0)
		return -1;
	if (maildir_scan_dir(&scan, dir, false, error_r) < 0 ||
	    maildir_scan_dir(&scan, dir, true, error_r) < 0 ||
	    maildir_sync_scan(store, dir, &scan, &uidvalidity, &uidnext,
	    error_r) < 0)
		goto out;
	*folder_r = snapshot(uidvalidity, uidnext, &scan);
	ret = 0;
out:
	maildir_scan_free(&scan);
	maildir_uidlist_unlock(&lock_fd);
	return ret;
}

int
maildir_list_remove(struct store *store, const char *dir,
    const uint32_t *uids, size_t count, const char **error_r)
{
	struct folder_cache *cache;
	struct maildir_uidlist *list;
	bool *keep, changed = false;
	size_t i, j = 0;

	if (maildir_list_load(store, dir, &cache, error_r) < 0)
		return -1;
	list = cache->list;
	keep = xcalloc(list->count + 1, sizeof(*keep));
	for (i = 0; i < list->count; i++) {
		while (j < count && uids[j] < list->uids[i])
			j++;
		keep[i] = !(j < count && uids[j] == list->uids[i]);
		if (!keep[i])
			changed = true;
	}
	maildir_uidlist_filter(list, keep);
	free(keep);
	if (!changed) {
		maildir_cache_put(store, cache);
		return 0;
	}
	if (maildir_uidlist_write(dir, list, NULL, error_r) < 0) {
		maildir_cache_free(&cache);
		return -1;
	}
	maildir_list_written(store, cache);
	return 0;
}

int
maildir_list_hold(struct store *store, const char *dir,
    struct folder_cache **cache_r, const struct maildir_uidlist **list_r,
    const char **error_r)
{
	int ret = maildir_list_load(store, dir, cache_r, error_r);

	if (ret >= 0)
		*list_r = (*cache_r)->list;
	return ret;
}

void
maildir_list_release(struct store *store, struct folder_cache *cache)
{
	maildir_cache_put(store, cache);
}
