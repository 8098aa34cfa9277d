/*
 * The store object: the mail root, folder names and paths, folder
 * creation and sync, and the small shared state (names the store renamed
 * itself) the other store files use.
 */
#include "store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/fsutil.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/workpool.h"
#include "lib/xmalloc.h"
#include "store/maildir-flags.h"
#include "store/maildir.h"
#include "store/maildir-private.h"
#include "store/store-index-private.h"
#include "store/store-private.h"

struct store *
store_new(const char *root, const char *hostname)
{
	struct store *store = xcalloc(1, sizeof(*store));
	size_t len = strlen(root);

	while (len > 1 && root[len - 1] == '/')
		len--;
	store->root = xstrndup(root, len);
	store->host = maildir_host_sanitize(hostname);
	pthread_mutex_init(&store->lock, NULL);
	store->appended_tail = &store->appended;
	if (mkdir_p(store->root, 0700) < 0)
		log_warn("%s", store->root);
	return store;
}

void
store_free(struct store **storep)
{
	struct store *store = *storep;
	size_t i;

	if (store == NULL)
		return;
	store_index_free_all(store);
	store_hub_free(store);
	maildir_cache_clear(store);
	for (i = 0; i < store->own_count; i++)
		free(store->own_names[i]);
	free(store->own_names);
	store_appended_free_all(store);
	workpool_free(&store->fsync_pool);
	pthread_mutex_destroy(&store->lock);
	free(store->root);
	free(store->host);
	free(store);
	*storep = NULL;
}

const char *
store_root(const struct store *store)
{
	return store->root;
}

bool
store_user_name_valid(const char *user)
{
	size_t len = strlen(user), i;

	if (len == 0 || len > USER_NAME_MAX || user[0] == '.')
		return false;
	for (i = 0; i < len; i++) {
		if (user[i] <= 0x20 || user[i] >= 0x7f || user[i] == '/')
			return false;
	}
	return true;
}

bool
store_folder_name_valid(const char *name)
{
	size_t len = strlen(name), i;

	if (strcasecmp(name, STORE_INBOX) == 0)
		return true;
	if (len == 0 || len > FOLDER_NAME_MAX || name[0] == '.' ||
	    name[len - 1] == '.')
		return false;
	for (i = 0; i < len; i++) {
		if (name[i] < 0x20 || name[i] >= 0x7f || name[i] == '/')
			return false;
		if (name[i] == '.' && name[i + 1] == '.')
			return false;
	}
	return true;
}

struct workpool *
store_fsync_pool(struct store *store)
{
	struct workpool *pool;

	pthread_mutex_lock(&store->lock);
	if (store->fsync_pool == NULL)
		store->fsync_pool = workpool_new("store-fsync",
		    STORE_FSYNC_THREADS);
	pool = store->fsync_pool;
	pthread_mutex_unlock(&store->lock);
	return pool;
}

const char *
store_folder_canonical(const char *folder)
{
	return strcasecmp(folder, STORE_INBOX) == 0 ? STORE_INBOX : folder;
}

char *
store_folder_path(const struct store *store, const char *user,
    const char *folder)
{
	if (strcasecmp(folder, STORE_INBOX) == 0)
		return xasprintf("%s/%s", store->root, user);
	return xasprintf("%s/%s/.%s", store->root, user, folder);
}

int
store_user_create(struct store *store, const char *user,
    const char **error_r)
{
	return store_folder_create(store, user, STORE_INBOX, error_r);
}

int
store_folder_create(struct store *store, const char *user,
    const char *folder, const char **error_r)
{
	char *dir;
	int ret;

	if (maildir_folder_dir(store, user, folder, &dir, error_r) < 0)
		return -1;
	/* A folder's parent is the user's Maildir, which is INBOX. */
	if (strcasecmp(folder, STORE_INBOX) != 0) {
		char *inbox = store_folder_path(store, user, STORE_INBOX);

		ret = maildir_create(inbox, error_r);
		free(inbox);
		if (ret < 0) {
			free(dir);
			return -1;
		}
	}
	ret = maildir_create(dir, error_r);
	free(dir);
	return ret;
}

int
store_folder_sync(struct store *store, const char *user,
    const char *folder, struct store_folder **folder_r, const char **error_r)
{
	char *dir;
	int ret;

	if (maildir_folder_dir(store, user, folder, &dir, error_r) < 0)
		return -1;
	ret = maildir_sync(store, dir, folder_r, error_r);
	free(dir);
	return ret;
}

void
store_folder_free(struct store_folder **folderp)
{
	struct store_folder *folder = *folderp;
	size_t i;

	if (folder == NULL)
		return;
	for (i = 0; i < folder->count; i++)
		free(folder->messages[i].file);
	free(folder->messages);
	free(folder);
	*folderp = NULL;
}

void
store_own_name_add(struct store *store, const char *path)
{
	pthread_mutex_lock(&store->lock);
	if (!store->watching) {
		pthread_mutex_unlock(&store->lock);
		return;
	}
	if (store->own_count == STORE_OWN_NAMES_MAX) {
		/* Forget the oldest: it costs one extra sync at worst. */
		free(store->own_names[0]);
		memmove(store->own_names, store->own_names + 1,
		    (store->own_count - 1) * sizeof(*store->own_names));
		store->own_count--;
	}
	store->own_names = xreallocarray(store->own_names,
	    store->own_count + 1, sizeof(*store->own_names));
	store->own_names[store->own_count++] = xstrdup(path);
	pthread_mutex_unlock(&store->lock);
}

bool
store_own_name_take(struct store *store, const char *path)
{
	bool found = false;
	size_t i;

	pthread_mutex_lock(&store->lock);
	for (i = 0; i < store->own_count; i++) {
		if (strcmp(store->own_names[i], path) == 0) {
			free(store->own_names[i]);
			memmove(store->own_names + i, store->own_names + i + 1,
			    (store->own_count - i - 1) *
			    sizeof(*store->own_names));
			store->own_count--;
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&store->lock);
	return found;
}

/* What is in user's folders now counts as announced: mail that came
 * with the tree is not new mail. */
static void
user_settle(struct store *store, const char *user)
{
	struct store_folder_list *list;
	struct store_status st;
	const char *error;
	size_t i;

	if (!store_folder_exists(store, user, STORE_INBOX) ||
	    store_folder_list(store, user, &list, &error) < 0)
		return;
	for (i = 0; i < list->count; i++) {
		if (!list->folders[i].noselect &&
		    store_folder_status(store, user, list->folders[i].name,
		    &st, &error) == 0 && st.uidnext > 1)
			store_set_announced_uid(store, user,
			    list->folders[i].name, st.uidvalidity,
			    st.uidnext - 1);
	}
	store_folder_list_free(&list);
}

void
store_user_forget(struct store *store, const char *user)
{
	struct folder_cache **pp, *cache, *gone = NULL;
	struct store_index **ip, *ix, *dropped = NULL;
	char *prefix = xasprintf("%s/%s/", store->root, user);
	size_t plen = strlen(prefix);

	/* The UID lists the delivery threads last read. */
	pthread_mutex_lock(&store->lock);
	for (pp = &store->caches; (cache = *pp) != NULL;) {
		if (strncmp(cache->dir, prefix, plen - 1) == 0 &&
		    (cache->dir[plen - 1] == '/' ||
		    cache->dir[plen - 1] == '\0')) {
			*pp = cache->next;
			cache->next = gone;
			gone = cache;
		} else
			pp = &cache->next;
	}
	pthread_mutex_unlock(&store->lock);
	while ((cache = gone) != NULL) {
		gone = cache->next;
		maildir_cache_free(&cache);
	}
	/* The folder indexes: detached, as a deleted folder's are, so a
	 * view still open on one sees it gone. Taken out first: a view's
	 * callback may open indexes again. */
	for (ip = &store->indexes; (ix = *ip) != NULL;) {
		if (strcmp(ix->user, user) == 0) {
			*ip = ix->next;
			ix->next = dropped;
			dropped = ix;
		} else
			ip = &ix->next;
	}
	while ((ix = dropped) != NULL) {
		dropped = ix->next;
		ix->next = NULL;
		ix->gone = true;
		if (ix->views == NULL && ix->busy == 0)
			store_index_free(&ix);
		else
			store_index_notify(ix, NULL);
	}
	store_hub_forget_user(store, user);
	free(prefix);
	user_settle(store, user);
}
