/*
 * A user's folders as IMAP sees them: listing the Maildir++ directories
 * (".A.B" is folder "A.B"), creating, deleting and renaming them.
 * Subscriptions are in store-subscriptions.c, special uses in
 * store-special-use.c.
 */
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/workpool.h"
#include "lib/xmalloc.h"
#include "store/maildir-uidlist.h"
#include "store/maildir.h"
#include "store/store-private.h"

/* A deleted folder is renamed to this (then removed): a name no folder
 * can have (it starts with "..") and Dovecot's tools skip. */
#define DELETED_PREFIX "..mailbell-deleted."

/* The user's Maildir (INBOX directory), after checking the name. */
static int
user_dir(struct store *store, const char *user, char **dir_r,
    const char **error_r)
{
	return maildir_folder_dir(store, user, STORE_INBOX, dir_r, error_r);
}

bool
store_folder_exists(struct store *store, const char *user,
    const char *folder)
{
	const char *error;
	struct stat st;
	char *dir, *cur;
	bool ok;

	if (maildir_folder_dir(store, user, folder, &dir, &error) < 0)
		return false;
	cur = xasprintf("%s/cur", dir);
	ok = stat(cur, &st) == 0 && S_ISDIR(st.st_mode);
	free(cur);
	free(dir);
	return ok;
}


/* ---- Listing ---- */

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The folder names of user's Maildir ("." entries), sorted, without
 * INBOX. A missing Maildir has none. */
static int
folder_names(struct store *store, const char *user, char ***names_r,
    size_t *count_r, const char **error_r)
{
	char *dir, **names = NULL;
	size_t count = 0;
	struct dirent *de;
	DIR *d;

	if (user_dir(store, user, &dir, error_r) < 0)
		return -1;
	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT) {
			free(dir);
			*names_r = NULL;
			*count_r = 0;
			return 0;
		}
		*error_r = error_errno(dir, errno);
		free(dir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		const char *name = de->d_name + 1;

		if (de->d_name[0] != '.' || !store_folder_name_valid(name) ||
		    strcasecmp(name, STORE_INBOX) == 0)
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN &&
		    de->d_type != DT_LNK)
			continue;
		names = xreallocarray(names, count + 1, sizeof(*names));
		names[count++] = xstrdup(name);
	}
	closedir(d);
	free(dir);
	if (count > 0)
		qsort(names, count, sizeof(*names), name_cmp);
	*names_r = names;
	*count_r = count;
	return 0;
}

void
store_names_free(char ***namesp, size_t count)
{
	char **names = *namesp;
	size_t i;

	if (names == NULL)
		return;
	for (i = 0; i < count; i++)
		free(names[i]);
	free(names);
	*namesp = NULL;
}

/* True if names (sorted) holds name. */
static bool
names_have(char **names, size_t count, const char *name)
{
	return count > 0 && bsearch(&name, names, count, sizeof(*names),
	    name_cmp) != NULL;
}

/* True if some name of names lies below prefix ("A" -> "A.x"). */
static bool
names_have_child(char **names, size_t count, const char *prefix)
{
	size_t len = strlen(prefix), i;

	for (i = 0; i < count; i++) {
		if (strncmp(names[i], prefix, len) == 0 &&
		    names[i][len] == '.')
			return true;
	}
	return false;
}

static void
list_add(struct store_folder_list *list, const char *name, bool noselect,
    bool has_children)
{
	struct store_folder_info *info;

	list->folders = xreallocarray(list->folders, list->count + 1,
	    sizeof(*list->folders));
	info = &list->folders[list->count++];
	info->name = xstrdup(name);
	info->noselect = noselect;
	info->has_children = has_children;
}

int
store_folder_list(struct store *store, const char *user,
    struct store_folder_list **list_r, const char **error_r)
{
	struct store_folder_list *list;
	char **names, **all = NULL;
	size_t count, nall = 0, i;
	char *parent, *dot;

	if (folder_names(store, user, &names, &count, error_r) < 0)
		return -1;
	/* Every existing name and the levels its name implies. */
	for (i = 0; i < count; i++) {
		parent = xstrdup(names[i]);
		while ((dot = strrchr(parent, '.')) != NULL) {
			*dot = '\0';
			all = xreallocarray(all, nall + 1, sizeof(*all));
			all[nall++] = xstrdup(parent);
		}
		free(parent);
		all = xreallocarray(all, nall + 1, sizeof(*all));
		all[nall++] = xstrdup(names[i]);
	}
	if (nall > 0)
		qsort(all, nall, sizeof(*all), name_cmp);

	list = xcalloc(1, sizeof(*list));
	list_add(list, STORE_INBOX, false,
	    names_have_child(names, count, STORE_INBOX));
	for (i = 0; i < nall; i++) {
		if (i > 0 && strcmp(all[i - 1], all[i]) == 0)
			continue;
		if (strcasecmp(all[i], STORE_INBOX) == 0)
			continue;
		list_add(list, all[i], !names_have(names, count, all[i]),
		    names_have_child(all, nall, all[i]));
	}
	store_names_free(&all, nall);
	store_names_free(&names, count);
	if (store_special_uses_fill(store, user, list, error_r) < 0) {
		store_folder_list_free(&list);
		return -1;
	}
	*list_r = list;
	return 0;
}

void
store_folder_list_free(struct store_folder_list **listp)
{
	struct store_folder_list *list = *listp;
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < list->count; i++)
		free(list->folders[i].name);
	free(list->folders);
	free(list);
	*listp = NULL;
}

/* ---- Delete and rename ---- */

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) < 0 && errno != ENOENT)
		log_warn("%s", path);
	return 0;
}

/* Rename dir (in the user's Maildir udir) out of sight, durably, then
 * remove what it held. 0, or -1 with *error_r and dir where it was. */
static int
remove_folder_dir(const char *udir, const char *dir, const char **error_r)
{
	static unsigned long serial;
	char *gone;

	gone = xasprintf("%s/" DELETED_PREFIX "%ld.%lu", udir, (long)getpid(),
	    ++serial);
	if (rename(dir, gone) < 0 || fsync_dir(udir) < 0) {
		*error_r = error_errno(dir, errno);
		free(gone);
		return -1;
	}
	(void)nftw(gone, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(gone);
	return 0;
}

/* Undo a CREATE that failed half-way: remove the folder's directory if
 * this CREATE made it, else only what it may have added (empty cur/,
 * new/ and tmp/, the UID list). */
static void
create_undo(struct store *store, const char *user, const char *folder,
    const char *dir, bool existed)
{
	static const char *const files[] = { "cur", "new", "tmp",
	    MAILDIR_UIDLIST_FILE, MAILDIR_UIDLIST_LOCK };
	const char *error;
	char *udir, *path;
	size_t i;

	store_index_drop(store, user, folder);
	if (!existed) {
		udir = store_folder_path(store, user, STORE_INBOX);
		if (remove_folder_dir(udir, dir, &error) < 0)
			log_warnx("create %s: cannot remove it again: %s",
			    folder, error);
		free(udir);
		return;
	}
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		path = xasprintf("%s/%s", dir, files[i]);
		if (i < 3)
			(void)rmdir(path);
		else
			(void)unlink(path);
		free(path);
	}
}

/*
 * The file system part of a CREATE of folder (in dir): its directories
 * and a UID list, each durable; with entry_later, all but dir's own
 * entry in the user's Maildir, which the caller makes durable (an fsync
 * of the user's Maildir) before it reports success. It touches neither
 * the event hub nor the indexes, so it may run on any thread.
 * *existed_r: dir was there before (what create_undo must leave). 0 or
 * -1 with *error_r.
 */
static int
folder_make(struct store *store, const char *user, const char *folder,
    const char *dir, bool entry_later, bool *existed_r, const char **error_r)
{
	struct store_folder *snap;
	struct stat st;

	*existed_r = stat(dir, &st) == 0;
	/* A new directory has no UID list, so the sync below writes one
	 * and fsyncs dir after its rename: cur/, new/ and tmp/ are made
	 * durable with it. (A half-made folder left by a crash may have a
	 * list already, and gets every fsync of its own.) */
	if (entry_later && !*existed_r) {
		if (maildir_create_unsynced(dir, error_r) < 0)
			return -1;
	} else if (store_folder_create(store, user, folder, error_r) < 0)
		return -1;
	if (maildir_sync(store, dir, &snap, error_r) < 0)
		return -1;
	store_folder_free(&snap);
	return 0;
}

int
store_folder_create_new(struct store *store, const char *user,
    const char *folder, const char **error_r)
{
	bool existed;
	char *dir;

	if (maildir_folder_dir(store, user, folder, &dir, error_r) < 0)
		return -1;
	if (store_folder_exists(store, user, folder)) {
		free(dir);
		*error_r = error_code_fmt(ERROR_EXISTS,
		    "%s: folder exists", folder);
		return -1;
	}
	/* Whole or not at all: the directories and a UID list (so the
	 * folder has its UIDVALIDITY), each durable, before OK. */
	if (folder_make(store, user, folder, dir, false, &existed,
	    error_r) < 0) {
		create_undo(store, user, folder, dir, existed);
		free(dir);
		return -1;
	}
	free(dir);
	store_announce_mailbox(store, user, STORE_EVENT_MAILBOX_CREATE, folder,
	    NULL);
	return 0;
}

int
store_folder_delete(struct store *store, const char *user,
    const char *folder, const char **error_r)
{
	char *dir, *udir;

	if (maildir_folder_dir(store, user, folder, &dir, error_r) < 0)
		return -1;
	if (strcasecmp(folder, STORE_INBOX) == 0) {
		free(dir);
		*error_r = error_code_fmt(ERROR_NOT_POSSIBLE,
		    "INBOX cannot be deleted");
		return -1;
	}
	if (!store_folder_exists(store, user, folder)) {
		free(dir);
		*error_r = error_code_fmt(ERROR_NOT_FOUND,
		    "%s: no such folder", folder);
		return -1;
	}
	udir = store_folder_path(store, user, STORE_INBOX);
	/* Out of sight at once (and durably), then removed at leisure. */
	if (remove_folder_dir(udir, dir, error_r) < 0) {
		free(udir);
		free(dir);
		return -1;
	}
	free(udir);
	free(dir);
	store_index_drop(store, user, folder);
	store_special_uses_moved(store, user, folder, NULL);
	store_announce_mailbox(store, user, STORE_EVENT_MAILBOX_DELETE, folder,
	    NULL);
	return 0;
}

/* Move every message of INBOX (from) into the folder dir to, both
 * locked; then sync both lists. */
static int
rename_inbox(struct store *store, const char *user, const char *to,
    const char **error_r)
{
	static const char *const subs[] = { "new", "cur" };
	char *from_dir, *to_dir, *src, *dst;
	struct store_folder *snap;
	struct dirent *de;
	int lock_from = -1, lock_to = -1, ret = -1;
	size_t i;
	DIR *d;

	if (store_folder_create(store, user, to, error_r) < 0)
		return -1;
	from_dir = store_folder_path(store, user, STORE_INBOX);
	to_dir = store_folder_path(store, user, to);
	/* Locks in path order, as the group commit takes them. */
	if (strcmp(from_dir, to_dir) < 0) {
		if ((lock_from = maildir_uidlist_lock(from_dir, error_r)) < 0 ||
		    (lock_to = maildir_uidlist_lock(to_dir, error_r)) < 0)
			goto out;
	} else {
		if ((lock_to = maildir_uidlist_lock(to_dir, error_r)) < 0 ||
		    (lock_from = maildir_uidlist_lock(from_dir, error_r)) < 0)
			goto out;
	}
	for (i = 0; i < 2; i++) {
		char *sub = xasprintf("%s/%s", from_dir, subs[i]);

		if ((d = opendir(sub)) == NULL) {
			*error_r = error_errno(sub, errno);
			free(sub);
			goto out;
		}
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			src = xasprintf("%s/%s", sub, de->d_name);
			dst = xasprintf("%s/%s/%s", to_dir, subs[i],
			    de->d_name);
			/* Each message is in one place at every moment. */
			if (rename(src, dst) < 0 && errno != ENOENT)
				log_warn("rename %s", src);
			free(src);
			free(dst);
		}
		closedir(d);
		free(sub);
		sub = xasprintf("%s/%s", to_dir, subs[i]);
		(void)fsync_dir(sub);
		free(sub);
		sub = xasprintf("%s/%s", from_dir, subs[i]);
		(void)fsync_dir(sub);
		free(sub);
	}
	maildir_uidlist_unlock(&lock_from);
	maildir_uidlist_unlock(&lock_to);
	/* Both lists catch up: INBOX drops its entries, the target gives
	 * the messages UIDs. */
	if (maildir_sync(store, to_dir, &snap, error_r) < 0)
		goto out;
	store_folder_free(&snap);
	if (maildir_sync(store, from_dir, &snap, error_r) < 0)
		goto out;
	store_folder_free(&snap);
	store_index_poke(store, user, STORE_INBOX);
	store_announce_mailbox(store, user, STORE_EVENT_MAILBOX_CREATE, to,
	    NULL);
	ret = 0;
out:
	maildir_uidlist_unlock(&lock_from);
	maildir_uidlist_unlock(&lock_to);
	free(from_dir);
	free(to_dir);
	return ret;
}

/* Tell the renames once the folders have moved (names[0 .. moved) that
 * are from or under it: those that did, if one failed), so each is
 * seen with its children in place. */
static void
rename_announce(struct store *store, const char *user, const char *from,
    const char *to, char **names, size_t moved)
{
	size_t i, flen = strlen(from);
	char *dst;

	for (i = 0; i < moved; i++) {
		if (strncmp(names[i], from, flen) != 0 ||
		    (names[i][flen] != '.' && names[i][flen] != '\0'))
			continue;
		dst = xasprintf("%s%s", to, names[i] + flen);
		store_announce_mailbox(store, user, STORE_EVENT_MAILBOX_RENAME,
		    dst, names[i]);
		free(dst);
	}
}

int
store_folder_rename(struct store *store, const char *user, const char *from,
    const char *to, const char **error_r)
{
	char **names = NULL, *dir, *udir = NULL, *src, *dst;
	size_t count = 0, i, moved = 0, flen = strlen(from);
	bool found = false;
	int ret = -1;

	if (maildir_folder_dir(store, user, from, &dir, error_r) < 0)
		return -1;
	free(dir);
	if (maildir_folder_dir(store, user, to, &dir, error_r) < 0)
		return -1;
	free(dir);
	if (strcasecmp(to, STORE_INBOX) == 0 ||
	    store_folder_exists(store, user, to)) {
		*error_r = error_code_fmt(ERROR_EXISTS,
		    "%s: folder exists", to);
		return -1;
	}
	if (strcasecmp(from, STORE_INBOX) == 0) {
		if (!store_folder_exists(store, user, STORE_INBOX)) {
			*error_r = error_code_fmt(ERROR_NOT_FOUND,
			    "INBOX: no such folder");
			return -1;
		}
		return rename_inbox(store, user, to, error_r);
	}
	if (strncmp(to, from, flen) == 0 && (to[flen] == '.' ||
	    to[flen] == '\0')) {
		*error_r = error_code_fmt(ERROR_NOT_POSSIBLE,
		    "%s: cannot be moved into itself", from);
		return -1;
	}
	if (folder_names(store, user, &names, &count, error_r) < 0)
		return -1;
	udir = store_folder_path(store, user, STORE_INBOX);
	/* Check first: no name the rename makes may exist already. */
	for (i = 0; i < count; i++) {
		if (strcmp(names[i], from) == 0) {
			found = true;
		} else if (strncmp(names[i], from, flen) == 0 &&
		    names[i][flen] == '.') {
			char *new_name = xasprintf("%s%s", to,
			    names[i] + flen);

			found = true;
			if (names_have(names, count, new_name)) {
				*error_r = error_code_fmt(
				    ERROR_EXISTS, "%s: folder exists",
				    new_name);
				free(new_name);
				goto out;
			}
			free(new_name);
		}
	}
	if (!found) {
		*error_r = error_code_fmt(ERROR_NOT_FOUND,
		    "%s: no such folder", from);
		goto out;
	}
	for (i = 0; i < count; i++) {
		if (strncmp(names[i], from, flen) != 0 ||
		    (names[i][flen] != '.' && names[i][flen] != '\0'))
			continue;
		src = xasprintf("%s/.%s", udir, names[i]);
		dst = xasprintf("%s/.%s%s", udir, to, names[i] + flen);
		if (rename(src, dst) < 0) {
			*error_r = error_errno(src, errno);
			free(src);
			free(dst);
			goto out;
		}
		free(src);
		free(dst);
		store_index_drop(store, user, names[i]);
		moved = i + 1;
	}
	if (fsync_dir(udir) < 0) {
		*error_r = error_errno(udir, errno);
		goto out;
	}
	store_special_uses_moved(store, user, from, to);
	ret = 0;
out:
	rename_announce(store, user, from, to, names, moved);
	free(udir);
	store_names_free(&names, count);
	return ret;
}

/* One folder of store_folders_create_subscribed, made on a pool
 * thread. */
struct make_task {
	struct store *store;
	const char *user;
	const char *folder;
	char *dir;
	bool existed;
	int ret;
	char *error;		/* a copy: error texts stay on their thread */
	enum error_code code;
};

static void
make_task_cb(void *arg)
{
	struct make_task *t = arg;
	const char *error;

	t->ret = folder_make(t->store, t->user, t->folder, t->dir, true,
	    &t->existed, &error);
	if (t->ret < 0) {
		t->error = xstrdup(error);
		t->code = error_code(error);
	}
}

int
store_folders_create_subscribed(struct store *store, const char *user,
    const char *const *folders, size_t count, const char **error_r)
{
	struct make_task *tasks = xcalloc(count, sizeof(*tasks));
	char *udir = store_folder_path(store, user, STORE_INBOX);
	const char *error = NULL;
	bool ran = false;
	size_t i;

	for (i = 0; i < count; i++) {
		tasks[i].store = store;
		tasks[i].user = user;
		tasks[i].folder = folders[i];
		if (maildir_folder_dir(store, user, folders[i], &tasks[i].dir,
		    &error) < 0)
			break;
	}
	if (error == NULL) {
		/* The folders' fsyncs overlap instead of queueing. */
		workpool_run_all(store_fsync_pool(store), make_task_cb, tasks,
		    count, sizeof(*tasks));
		ran = true;
	}
	for (i = 0; ran && i < count && error == NULL; i++)
		if (tasks[i].ret < 0)
			error = error_code_fmt(tasks[i].code, "%s",
			    tasks[i].error);
	/* Every folder with its subscription, or none of them. Writing
	 * the subscriptions fsyncs the user's Maildir, which makes the
	 * folders' entries in it durable too; if they were all there
	 * already (a crash came between the two before), it is done
	 * here. */
	if (error == NULL) {
		int changed = store_subscriptions_change(store, user, folders, count,
		    true, &error);

		if (changed == 0 && fsync_dir(udir) < 0)
			error = error_errno(udir, errno);
	}
	for (i = 0; i < count; i++) {
		if (error == NULL) {
			store_announce_mailbox(store, user,
			    STORE_EVENT_MAILBOX_CREATE, folders[i], NULL);
			store_announce_mailbox(store, user,
			    STORE_EVENT_MAILBOX_SUBSCRIBE, folders[i], NULL);
		} else if (ran)
			create_undo(store, user, folders[i], tasks[i].dir,
			    tasks[i].existed);
		free(tasks[i].dir);
		free(tasks[i].error);
	}
	free(tasks);
	free(udir);
	if (error != NULL) {
		*error_r = error;
		return -1;
	}
	return 0;
}
