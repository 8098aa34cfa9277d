/*
 * A user's subscriptions (LSUB, LIST (SUBSCRIBED)): the file
 * "subscriptions" in the user's Maildir, kept as Dovecot keeps it (and
 * read in Dovecot 2.3's own form too), changed under a lock file and
 * replaced atomically and durably.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/limits.h"
#include "lib/xmalloc.h"
#include "store/maildir.h"
#include "store/store-private.h"

#define SUBSCRIPTIONS_FILE "subscriptions"
#define SUBSCRIPTIONS_LOCK "subscriptions.lock"

/*
 * Dovecot 2.3 begins the file with "V\t2", an empty line, and writes
 * each name with its levels joined by TAB instead of ".", within a
 * level \001 escaping itself ("1"), TAB ("t"), CR ("r") and LF ("n").
 * Such a name is turned back into ours in place.
 */
#define SUBSCRIPTIONS_V2 "V\t2"

static void
subs_unescape_v2(char *name)
{
	static const char escapes[] = "1\001t\tr\rn\n";
	char *w = name;
	const char *e;

	for (const char *r = name; *r != '\0'; r++) {
		if (*r == '\t')
			*w++ = '.';
		else if (*r == '\001' && r[1] != '\0' &&
		    (e = strchr(escapes, r[1])) != NULL &&
		    (e - escapes) % 2 == 0) {
			*w++ = e[1];
			r++;
		} else
			*w++ = *r;
	}
	*w = '\0';
}

/* The names in the user's subscriptions file of udir, written by
 * mailbell (one a line) or by Dovecot (either of its forms). mailbell
 * writes the first form, which Dovecot reads too. */
static int
subs_read(const char *udir, char ***names_r, size_t *count_r,
    const char **error_r)
{
	char **names;
	size_t count;

	if (store_user_list_read(udir, SUBSCRIPTIONS_FILE,
	    STORE_SUBSCRIPTIONS_MAX, FOLDER_NAME_MAX, &names, &count,
	    error_r) < 0)
		return -1;
	if (count > 0 && strcmp(names[0], SUBSCRIPTIONS_V2) == 0) {
		free(names[0]);
		memmove(names, names + 1, --count * sizeof(*names));
		for (size_t i = 0; i < count; i++)
			subs_unescape_v2(names[i]);
	}
	*names_r = names;
	*count_r = count;
	return 0;
}

int
store_subscriptions(struct store *store, const char *user, char ***names_r,
    size_t *count_r, const char **error_r)
{
	char *udir;
	int ret;

	if (maildir_folder_dir(store, user, STORE_INBOX, &udir,
	    error_r) < 0)
		return -1;
	ret = subs_read(udir, names_r, count_r, error_r);
	free(udir);
	return ret;
}

int
store_subscriptions_change(struct store *store, const char *user,
    const char *const *folders, size_t count, bool subscribed,
    const char **error_r)
{
	char *udir, **names = NULL;
	size_t n = 0, kept = 0, present = 0;
	int lock_fd = -1, ret = -1;

	if (store_user_create(store, user, error_r) < 0)
		return -1;
	udir = store_folder_path(store, user, STORE_INBOX);
	if ((lock_fd = store_user_file_lock(udir, SUBSCRIPTIONS_LOCK,
	    error_r)) < 0 ||
	    subs_read(udir, &names, &n, error_r) < 0)
		goto out;
	/* names[0 .. kept): the others, then folders if subscribed */
	for (size_t i = 0; i < n; i++) {
		size_t j = 0;

		while (j < count && strcmp(names[i], folders[j]) != 0)
			j++;
		if (j < count) {
			present++;
			free(names[i]);
		} else
			names[kept++] = names[i];
	}
	n = kept;
	if (present == (subscribed ? count : 0)) {
		ret = 0;
		goto out;
	}
	if (subscribed) {
		if (n + count > STORE_SUBSCRIPTIONS_MAX) {
			*error_r = error_code_fmt(ERROR_LIMIT,
			    "too many subscriptions");
			goto out;
		}
		names = xreallocarray(names, n + count, sizeof(*names));
		for (size_t j = 0; j < count; j++)
			names[n++] = xstrdup(folders[j]);
	}
	ret = store_user_list_write(udir, SUBSCRIPTIONS_FILE, names, n,
	    error_r) < 0 ? -1 : 1;
out:
	if (lock_fd >= 0)
		close(lock_fd);
	store_names_free(&names, n);
	free(udir);
	return ret;
}

int
store_subscription_set(struct store *store, const char *user,
    const char *folder, bool subscribed, const char **error_r)
{
	int ret;

	if (!store_folder_name_valid(folder) || strchr(folder, '\n')) {
		*error_r = error_code_fmt(ERROR_INVALID,
		    "invalid folder name");
		return -1;
	}
	folder = store_folder_canonical(folder);
	if ((ret = store_subscriptions_change(store, user, &folder, 1, subscribed,
	    error_r)) <= 0)
		return ret;
	store_announce_mailbox(store, user, subscribed ?
	    STORE_EVENT_MAILBOX_SUBSCRIBE : STORE_EVENT_MAILBOX_UNSUBSCRIBE,
	    folder, NULL);
	return 0;
}
