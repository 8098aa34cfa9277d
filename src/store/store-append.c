/*
 * MULTIAPPEND (RFC 3502) in the store: several messages into one
 * folder, all or nothing, with one commit round for them all.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/xmalloc.h"
#include "store/maildir-flags.h"
#include "store/maildir.h"
#include "store/store-private.h"

/*
 * Write message m into dir/tmp/ (or take its spool there), dated, and
 * name it for cur/ if it has flags or keyword bits. The item holds the
 * file from the moment there is one, for the caller to remove.
 */
static int
append_write(struct store *store, const char *user, const char *dir,
    const struct store_append_msg *m, uint32_t bits,
    struct maildir_commit_item *item, const char **error_r)
{
	struct timespec ts[2];
	char *tmp, *base;

	if (m->spool != NULL) {
		if (store_spool_take_for_append(m->spool, user, dir, &tmp,
		    &base, error_r) < 0)
			return -1;
	} else if (maildir_write_tmp(store, dir, "", m->body, m->len, false,
	    &tmp, &base, error_r) < 0)
		return -1;
	item->tmp_path = tmp;
	item->base = base;
	if (m->flags != 0 || bits != 0)
		item->cur_name = maildir_name_set_info(base, m->flags, bits);
	if (m->internal_date > 0) {
		ts[0].tv_sec = ts[1].tv_sec = (time_t)m->internal_date;
		ts[0].tv_nsec = ts[1].tv_nsec = 0;
		if (utimensat(AT_FDCWD, tmp, ts, 0) < 0) {
			*error_r = error_errno(tmp, errno);
			return -1;
		}
	}
	return 0;
}

/* Why a round failed: the first failure that is not only another's. */
static const char *
commit_error(const struct maildir_commit_item *items, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (items[i].status != 0 && strcmp(items[i].error,
		    MAILDIR_COMMIT_OTHER_FAILED) != 0)
			return error_code_fmt(items[i].error_code, "%s",
			    items[i].error);
	}
	return error_fmt("append failed");
}

int
store_append_many(struct store *store, const char *user, const char *folder,
    const struct store_append_msg *msgs, size_t count,
    uint32_t *uidvalidity_r, uint32_t *uids_r, const char **error_r)
{
	struct maildir_commit_item *items;
	uint32_t uidvalidity = 0, *bits;
	size_t i;
	char *dir;
	int ret = -1;

	if (store_append_dir(store, user, folder, &dir, error_r) < 0)
		return -1;
	items = xcalloc(count + 1, sizeof(*items));
	bits = xcalloc(count + 1, sizeof(*bits));
	/* Keywords first: a folder without room fails before any write. */
	for (i = 0; i < count; i++) {
		if (store_keywords_number(store, user, folder,
		    msgs[i].keywords, msgs[i].keyword_count, &bits[i],
		    error_r) < 0)
			goto out;
	}
	for (i = 0; i < count; i++) {
		if (append_write(store, user, dir, &msgs[i], bits[i],
		    &items[i], error_r) < 0) {
			for (size_t j = 0; j <= i; j++) {
				if (items[j].tmp_path != NULL)
					(void)unlink(items[j].tmp_path);
			}
			goto out;
		}
	}
	/* On failure the round has removed every file again. */
	if (maildir_commit_all(store, dir, items, count, &uidvalidity) !=
	    count) {
		*error_r = commit_error(items, count);
		goto out;
	}
	for (i = 0; i < count; i++)
		uids_r[i] = items[i].uid;
	*uidvalidity_r = uidvalidity;
	store_index_poke(store, user, folder);
	/* One event per message, as that many APPENDs would give. */
	for (i = 0; i < count; i++)
		store_announce_event(store, user, folder, uidvalidity,
		    STORE_EVENT_MESSAGE_APPEND, &uids_r[i], 1, 0);
	ret = 0;
out:
	for (i = 0; i < count; i++) {
		free((char *)items[i].tmp_path);
		free((char *)items[i].base);
		free((char *)items[i].cur_name);
	}
	free(items);
	free(bits);
	free(dir);
	return ret;
}
