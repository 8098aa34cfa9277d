/*
 * Special uses of folders (RFC 6154): the folders every user gets by
 * name (Sent, Drafts, Trash, Junk) and the uses CREATE ... (USE (...))
 * gives, kept in <user Maildir>/special-use, one "<attr> <folder>" line
 * each, replaced atomically under an flock as the subscriptions are.
 * Each use belongs to one folder at most.
 */
#include "store/store.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "store/maildir.h"
#include "store/store-private.h"

#define SPECIAL_FILE "special-use"
#define SPECIAL_LOCK "special-use.lock"

/* In the order LIST gives the attributes (alphabetical). */
static const struct {
	enum store_special_use use;
	const char *attr;
	const char *name;	/* the folder that has it by name, or NULL */
} uses[] = {
	{ STORE_SPECIAL_ARCHIVE, "\\Archive", NULL },
	{ STORE_SPECIAL_DRAFTS, "\\Drafts", "Drafts" },
	{ STORE_SPECIAL_JUNK, "\\Junk", "Junk" },
	{ STORE_SPECIAL_SENT, "\\Sent", "Sent" },
	{ STORE_SPECIAL_TRASH, "\\Trash", "Trash" },
};
#define USES_COUNT (sizeof(uses) / sizeof(uses[0]))

enum store_special_use
store_folder_special_use(const char *folder)
{
	for (size_t i = 0; i < USES_COUNT; i++)
		if (uses[i].name != NULL && strcmp(folder, uses[i].name) == 0)
			return uses[i].use;
	return STORE_SPECIAL_NONE;
}

const char *
store_special_use_attr(enum store_special_use use)
{
	for (size_t i = 0; i < USES_COUNT; i++)
		if (uses[i].use == use)
			return uses[i].attr;
	return NULL;
}

void
store_special_uses_attrs(unsigned set, char *out, size_t size)
{
	size_t len = 0;

	if (size == 0)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < USES_COUNT && len < size; i++)
		if (set & STORE_SPECIAL_BIT(uses[i].use))
			len += (size_t)snprintf(out + len, size - len, "%s%s",
			    len > 0 ? " " : "", uses[i].attr);
}

enum store_special_use
store_special_use_parse(const char *attr)
{
	for (size_t i = 0; i < USES_COUNT; i++)
		if (strcasecmp(attr, uses[i].attr) == 0)
			return uses[i].use;
	return STORE_SPECIAL_NONE;
}

int
store_user_ensure_special(struct store *store, const char *user,
    const char **error_r)
{
	const char *missing[USES_COUNT];
	size_t n = 0;

	if (!store_folder_exists(store, user, STORE_INBOX) &&
	    store_user_create(store, user, error_r) < 0)
		return -1;
	for (size_t i = 0; i < USES_COUNT; i++) {
		const char *name = uses[i].name;

		if (name != NULL && !store_folder_exists(store, user, name))
			missing[n++] = name;
	}
	if (n == 0)
		return 0;
	return store_folders_create_subscribed(store, user, missing, n,
	    error_r);
}

/* ---- The special-use file ---- */

/* The uses the file gives: folder names with a set of uses each. */
struct special_table {
	char **folders;
	unsigned *sets;
	size_t count;
};

static void
table_add(struct special_table *t, const char *folder, unsigned set)
{
	for (size_t i = 0; i < t->count; i++) {
		if (strcmp(t->folders[i], folder) == 0) {
			t->sets[i] |= set;
			return;
		}
	}
	t->folders = xreallocarray(t->folders, t->count + 1,
	    sizeof(*t->folders));
	t->sets = xreallocarray(t->sets, t->count + 1, sizeof(*t->sets));
	t->folders[t->count] = xstrdup(folder);
	t->sets[t->count++] = set;
}

static void
table_free(struct special_table *t)
{
	for (size_t i = 0; i < t->count; i++)
		free(t->folders[i]);
	free(t->folders);
	free(t->sets);
	memset(t, 0, sizeof(*t));
}

/* Read the file of udir (missing: no uses). With prune, lines naming a
 * folder that no longer exists are left out, so a use outlives no
 * folder. */
static int
table_read(struct store *store, const char *user, const char *udir,
    bool prune, struct special_table *t, const char **error_r)
{
	char **lines, *sp;
	size_t count;

	memset(t, 0, sizeof(*t));
	/* "<attr> <folder>": an attribute and its space fit in 16 bytes */
	if (store_user_list_read(udir, SPECIAL_FILE,
	    STORE_SPECIAL_USE_LINES_MAX, FOLDER_NAME_MAX + 16, &lines, &count,
	    error_r) < 0)
		return -1;
	for (size_t i = 0; i < count; i++) {
		enum store_special_use use;

		if ((sp = strchr(lines[i], ' ')) == NULL)
			continue;
		*sp = '\0';
		use = store_special_use_parse(lines[i]);
		if (use == STORE_SPECIAL_NONE ||
		    !store_folder_name_valid(sp + 1) ||
		    (prune && !store_folder_exists(store, user, sp + 1)))
			continue;
		table_add(t, sp + 1, STORE_SPECIAL_BIT(use));
	}
	store_names_free(&lines, count);
	return 0;
}

static int
table_write(const char *udir, const struct special_table *t,
    const char **error_r)
{
	char **lines = NULL;
	size_t count = 0;
	int ret;

	for (size_t i = 0; i < t->count; i++) {
		for (size_t k = 0; k < USES_COUNT; k++) {
			if ((t->sets[i] & STORE_SPECIAL_BIT(uses[k].use)) == 0)
				continue;
			lines = xreallocarray(lines, count + 1,
			    sizeof(*lines));
			lines[count++] = xasprintf("%s %s", uses[k].attr,
			    t->folders[i]);
		}
	}
	ret = store_user_list_write(udir, SPECIAL_FILE, lines, count,
	    error_r);
	store_names_free(&lines, count);
	return ret;
}

/* The uses folder has: its own from the file, and the one of its name
 * unless the file gives that use to another folder. */
static unsigned
table_uses_of(const struct special_table *t, const char *folder)
{
	enum store_special_use by_name = store_folder_special_use(folder);
	unsigned set = 0, taken = 0;

	for (size_t i = 0; i < t->count; i++) {
		if (strcmp(t->folders[i], folder) == 0)
			set |= t->sets[i];
		else
			taken |= t->sets[i];
	}
	if (by_name != STORE_SPECIAL_NONE &&
	    (taken & STORE_SPECIAL_BIT(by_name)) == 0)
		set |= STORE_SPECIAL_BIT(by_name);
	return set;
}

int
store_special_uses_fill(struct store *store, const char *user,
    struct store_folder_list *list, const char **error_r)
{
	struct special_table t;
	char *udir = store_folder_path(store, user, STORE_INBOX);
	int ret;

	ret = table_read(store, user, udir, true, &t, error_r);
	free(udir);
	if (ret < 0)
		return -1;
	for (size_t i = 0; i < list->count; i++)
		list->folders[i].special_uses = list->folders[i].noselect ? 0 :
		    table_uses_of(&t, list->folders[i].name);
	table_free(&t);
	return 0;
}

/* ---- Changing it ---- */

int
store_folder_create_special(struct store *store, const char *user,
    const char *folder, unsigned set, const char **error_r)
{
	struct special_table t = { NULL, NULL, 0 };
	const char *gone;
	char *udir, *dir;
	int lock_fd, ret = -1;

	if (set == 0)
		return store_folder_create_new(store, user, folder, error_r);
	if (maildir_folder_dir(store, user, folder, &dir, error_r) < 0)
		return -1;
	free(dir);
	if (store_user_create(store, user, error_r) < 0)
		return -1;
	udir = store_folder_path(store, user, STORE_INBOX);
	if ((lock_fd = store_user_file_lock(udir, SPECIAL_LOCK,
	    error_r)) < 0) {
		free(udir);
		return -1;
	}
	if (table_read(store, user, udir, true, &t, error_r) < 0)
		goto out;
	for (size_t i = 0; i < t.count; i++) {
		if ((t.sets[i] & set) != 0) {
			*error_r = error_code_fmt(ERROR_NOT_POSSIBLE,
			    "%s: special use given to %s already", folder,
			    t.folders[i]);
			goto out;
		}
	}
	if (store_folder_create_new(store, user, folder, error_r) < 0)
		goto out;
	table_add(&t, store_folder_canonical(folder), set);
	if (table_write(udir, &t, error_r) < 0) {
		/* No folder without the use it was created with. */
		(void)store_folder_delete(store, user, folder, &gone);
		goto out;
	}
	ret = 0;
out:
	close(lock_fd);
	table_free(&t);
	free(udir);
	return ret;
}

void
store_special_uses_moved(struct store *store, const char *user,
    const char *from, const char *to)
{
	struct special_table raw, t = { NULL, NULL, 0 };
	size_t flen = strlen(from);
	const char *error;
	char *udir, *path;
	bool missing;
	int lock_fd;

	if (strcasecmp(from, STORE_INBOX) == 0)
		return;
	udir = store_folder_path(store, user, STORE_INBOX);
	/* Most users never give a use: no file, no lock file either. (A
	 * line left behind by a race names no folder, and is skipped.) */
	path = xasprintf("%s/" SPECIAL_FILE, udir);
	missing = access(path, F_OK) < 0 && errno == ENOENT;
	free(path);
	if (missing) {
		free(udir);
		return;
	}
	if ((lock_fd = store_user_file_lock(udir, SPECIAL_LOCK,
	    &error)) < 0) {
		log_warnx("special uses of %s: %s", user, error);
		free(udir);
		return;
	}
	if (table_read(store, user, udir, false, &raw, &error) < 0) {
		log_warnx("special uses of %s: %s", user, error);
		goto out;
	}
	if (raw.count == 0)
		goto out;	/* no file, nothing to carry */
	/* The names as they are now, then from's (and its children's)
	 * uses under their new names. */
	for (size_t i = 0; i < raw.count; i++) {
		const char *n = raw.folders[i];
		/* DELETE leaves children where they are (Maildir++);
		 * RENAME takes them along. */
		bool below = strncmp(n, from, flen) == 0 &&
		    (n[flen] == '\0' || (to != NULL && n[flen] == '.'));
		char *new_name;

		if (!below) {
			if (store_folder_exists(store, user, n))
				table_add(&t, n, raw.sets[i]);
			continue;
		}
		if (to == NULL)
			continue;
		new_name = xasprintf("%s%s", to, n + flen);
		table_add(&t, new_name, raw.sets[i]);
		free(new_name);
	}
	if (table_write(udir, &t, &error) < 0)
		log_warnx("special uses of %s: %s", user, error);
out:
	table_free(&raw);
	table_free(&t);
	close(lock_fd);
	free(udir);
}
