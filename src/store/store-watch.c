/*
 * The watcher: one inotify descriptor for the whole mail root. It
 * watches the root (new users), each user's Maildir (new folders, and
 * INBOX's new/ and cur/ appearing), each folder directory, and each
 * folder's new/ and cur/ for messages moved in or written in place.
 * Renames the store made itself are skipped: their deliveries announce
 * themselves.
 */
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "store/store-private.h"

enum watch_kind {
	WATCH_ROOT,		/* the mail root: users appear */
	WATCH_USER,		/* a user's Maildir: folders, INBOX's new/cur */
	WATCH_FOLDER,		/* a folder directory: its new/ and cur/ */
	WATCH_MAIL,		/* a folder's new/ or cur/: messages */
};

struct watch_entry {
	int wd;
	enum watch_kind kind;
	char *path;
	char *user;		/* NULL for WATCH_ROOT */
	char *folder;		/* NULL for WATCH_ROOT and WATCH_USER */
};

/* A folder reported by one store_watch_read call. */
struct changed {
	char *user;
	char *folder;
};

struct store_watch {
	struct store *store;
	int fd;
	struct watch_entry *entries;	/* ascending wd */
	size_t count;
	struct changed *changed;
	size_t nchanged;
};

static struct watch_entry *
entry_find(struct store_watch *w, int wd, size_t *pos_r)
{
	size_t lo = 0, hi = w->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (w->entries[mid].wd == wd) {
			*pos_r = mid;
			return &w->entries[mid];
		}
		if (w->entries[mid].wd < wd)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos_r = lo;
	return NULL;
}

static void
entry_clear(struct watch_entry *e)
{
	free(e->path);
	free(e->user);
	free(e->folder);
}

static void
entry_remove(struct store_watch *w, int wd)
{
	struct watch_entry *e;
	size_t pos;

	if ((e = entry_find(w, wd, &pos)) == NULL)
		return;
	entry_clear(e);
	memmove(w->entries + pos, w->entries + pos + 1,
	    (w->count - pos - 1) * sizeof(*w->entries));
	w->count--;
}

static void
mark_changed(struct store_watch *w, const char *user, const char *folder)
{
	size_t i;

	for (i = 0; i < w->nchanged; i++) {
		if (strcmp(w->changed[i].user, user) == 0 &&
		    strcmp(w->changed[i].folder, folder) == 0)
			return;
	}
	w->changed = xreallocarray(w->changed, w->nchanged + 1,
	    sizeof(*w->changed));
	w->changed[w->nchanged].user = xstrdup(user);
	w->changed[w->nchanged].folder = xstrdup(folder);
	w->nchanged++;
}

/* Watch path; returns 0, or -1 if it cannot be watched (gone already,
 * or out of watches: logged). */
static int
watch_add(struct store_watch *w, const char *path, enum watch_kind kind,
    const char *user, const char *folder)
{
	uint32_t mask = IN_ONLYDIR;
	struct watch_entry *e;
	size_t pos;
	int wd;

	if (kind == WATCH_MAIL)
		mask |= IN_MOVED_TO | IN_CLOSE_WRITE;
	else
		mask |= IN_CREATE | IN_MOVED_TO;
	if ((wd = inotify_add_watch(w->fd, path, mask)) < 0) {
		if (errno != ENOENT && errno != ENOTDIR)
			log_warn("inotify_add_watch %s", path);
		return -1;
	}
	if ((e = entry_find(w, wd, &pos)) != NULL) {
		/* Same directory seen again (e.g. renamed back). */
		entry_clear(e);
	} else {
		w->entries = xreallocarray(w->entries, w->count + 1,
		    sizeof(*w->entries));
		memmove(w->entries + pos + 1, w->entries + pos,
		    (w->count - pos) * sizeof(*w->entries));
		w->count++;
		e = &w->entries[pos];
	}
	e->wd = wd;
	e->kind = kind;
	e->path = xstrdup(path);
	e->user = user != NULL ? xstrdup(user) : NULL;
	e->folder = folder != NULL ? xstrdup(folder) : NULL;
	return 0;
}

/* Watch new/ and cur/ of a folder whose directory is dir. */
static void
watch_mail_dirs(struct store_watch *w, const char *dir, const char *user,
    const char *folder)
{
	char *path;

	path = xasprintf("%s/new", dir);
	(void)watch_add(w, path, WATCH_MAIL, user, folder);
	free(path);
	path = xasprintf("%s/cur", dir);
	(void)watch_add(w, path, WATCH_MAIL, user, folder);
	free(path);
}

/* Watch a folder (not INBOX) named folder in user's Maildir. */
static void
watch_folder(struct store_watch *w, const char *user, const char *folder)
{
	char *dir = store_folder_path(w->store, user, folder);

	if (watch_add(w, dir, WATCH_FOLDER, user, folder) == 0)
		watch_mail_dirs(w, dir, user, folder);
	free(dir);
}

/*
 * Watch a user's Maildir and every folder in it. If report, mark them
 * all changed; folders_r (if not NULL) collects them for start-up.
 */
static void
watch_user(struct store_watch *w, const char *user, bool report)
{
	char *dir = store_folder_path(w->store, user, STORE_INBOX);
	struct dirent *de;
	DIR *d;

	if (!store_user_name_valid(user) ||
	    watch_add(w, dir, WATCH_USER, user, NULL) < 0) {
		free(dir);
		return;
	}
	watch_mail_dirs(w, dir, user, STORE_INBOX);
	if (report)
		mark_changed(w, user, STORE_INBOX);
	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			const char *folder = de->d_name + 1;

			if (de->d_name[0] != '.' ||
			    !store_folder_name_valid(folder) ||
			    strcasecmp(folder, STORE_INBOX) == 0)
				continue;
			if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
				continue;
			watch_folder(w, user, folder);
			if (report)
				mark_changed(w, user, folder);
		}
		closedir(d);
	}
	free(dir);
}

static void
watch_root(struct store_watch *w, bool report)
{
	struct dirent *de;
	DIR *d;

	if ((d = opendir(store_root(w->store))) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		watch_user(w, de->d_name, report);
	}
	closedir(d);
}

static void
changed_clear(struct store_watch *w)
{
	size_t i;

	for (i = 0; i < w->nchanged; i++) {
		free(w->changed[i].user);
		free(w->changed[i].folder);
	}
	free(w->changed);
	w->changed = NULL;
	w->nchanged = 0;
}

struct store_watch *
store_watch_new(struct store *store, const char **error_r)
{
	struct store_watch *w;
	struct store_folder *folder;
	const char *error;
	size_t i;
	int fd;

	if ((fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
		*error_r = error_fmt("inotify: %s", strerror(errno));
		return NULL;
	}
	w = xcalloc(1, sizeof(*w));
	w->store = store;
	w->fd = fd;
	pthread_mutex_lock(&store->lock);
	store->watching = true;
	pthread_mutex_unlock(&store->lock);
	if (watch_add(w, store_root(store), WATCH_ROOT, NULL, NULL) < 0) {
		*error_r = error_fmt("%s: cannot watch: %s",
		    store_root(store), strerror(errno));
		store_watch_free(&w);
		return NULL;
	}
	/* Watch first, then sync: a message landing in between is seen by
	 * the sync (not news) or later by the watch (dedup'd). */
	watch_root(w, true);
	for (i = 0; i < w->nchanged; i++) {
		if (store_folder_sync(store, w->changed[i].user,
		    w->changed[i].folder, &folder, &error) < 0) {
			log_warnx("%s", error);
			continue;
		}
		store_set_announced_uid(store, w->changed[i].user,
		    w->changed[i].folder, folder->uidvalidity,
		    folder->uidnext - 1);
		store_folder_free(&folder);
	}
	changed_clear(w);
	return w;
}

void
store_watch_free(struct store_watch **watchp)
{
	struct store_watch *w = *watchp;
	size_t i;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->store->lock);
	w->store->watching = false;
	for (i = 0; i < w->store->own_count; i++)
		free(w->store->own_names[i]);
	free(w->store->own_names);
	w->store->own_names = NULL;
	w->store->own_count = 0;
	pthread_mutex_unlock(&w->store->lock);
	for (i = 0; i < w->count; i++)
		entry_clear(&w->entries[i]);
	free(w->entries);
	changed_clear(w);
	close(w->fd);
	free(w);
	*watchp = NULL;
}

int
store_watch_fd(const struct store_watch *watch)
{
	return watch->fd;
}

/* A new directory appeared in a watched root, user or folder dir. */
static void
handle_dir(struct store_watch *w, struct watch_entry *e, const char *name)
{
	char *user, *folder, *dir;

	switch (e->kind) {
	case WATCH_ROOT:
		watch_user(w, name, true);
		break;
	case WATCH_USER:
		if (strcmp(name, "new") == 0 || strcmp(name, "cur") == 0) {
			user = xstrdup(e->user);
			dir = xasprintf("%s/%s", e->path, name);
			(void)watch_add(w, dir, WATCH_MAIL, user, STORE_INBOX);
			mark_changed(w, user, STORE_INBOX);
			free(dir);
			free(user);
		} else if (name[0] == '.' &&
		    store_folder_name_valid(name + 1) &&
		    strcasecmp(name + 1, STORE_INBOX) != 0) {
			user = xstrdup(e->user);
			watch_folder(w, user, name + 1);
			mark_changed(w, user, name + 1);
			free(user);
		}
		break;
	case WATCH_FOLDER:
		if (strcmp(name, "new") == 0 || strcmp(name, "cur") == 0) {
			user = xstrdup(e->user);
			folder = xstrdup(e->folder);
			dir = xasprintf("%s/%s", e->path, name);
			(void)watch_add(w, dir, WATCH_MAIL, user, folder);
			mark_changed(w, user, folder);
			free(dir);
			free(folder);
			free(user);
		}
		break;
	case WATCH_MAIL:
		break;
	}
}

static void
handle_event(struct store_watch *w, const struct inotify_event *ev)
{
	struct watch_entry *e;
	char *path;
	size_t pos, i;

	if ((ev->mask & IN_Q_OVERFLOW) != 0) {
		/* Events were lost: every folder may have changed. */
		for (i = 0; i < w->count; i++) {
			if (w->entries[i].kind == WATCH_MAIL)
				mark_changed(w, w->entries[i].user,
				    w->entries[i].folder);
		}
		watch_root(w, true);
		return;
	}
	if ((e = entry_find(w, ev->wd, &pos)) == NULL)
		return;
	if ((ev->mask & IN_IGNORED) != 0) {
		entry_remove(w, ev->wd);
		return;
	}
	if (ev->len == 0 || ev->name[0] == '\0')
		return;
	if (e->kind != WATCH_MAIL) {
		if ((ev->mask & IN_ISDIR) != 0)
			handle_dir(w, e, ev->name);
		return;
	}
	/* new/ or cur/: dot files are not messages. */
	if ((ev->mask & IN_ISDIR) != 0 || ev->name[0] == '.')
		return;
	path = xasprintf("%s/%s", e->path, ev->name);
	if (!store_own_name_take(w->store, path))
		mark_changed(w, e->user, e->folder);
	free(path);
}

void
store_watch_read(struct store_watch *w, store_watch_cb *cb, void *ctx)
{
	char buf[64 * 1024]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t n;
	char *p;
	size_t i;

	for (;;) {
		n = read(w->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (p = buf; p < buf + n;
		    p += sizeof(struct inotify_event) + ev->len) {
			ev = (const struct inotify_event *)p;
			handle_event(w, ev);
		}
	}
	if (n < 0 && errno != EAGAIN)
		log_warn("inotify read");
	/* Report after reading everything, so each folder comes once.
	 * Sessions with the folder open hear of it first. */
	for (i = 0; i < w->nchanged; i++) {
		store_index_poke(w->store, w->changed[i].user,
		    w->changed[i].folder);
		cb(w->changed[i].user, w->changed[i].folder, ctx);
	}
	changed_clear(w);
}
