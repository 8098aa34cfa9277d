/*
 * Delivery jobs: one message body for one or more (user, folder)
 * targets, and running a job synchronously (`mailbell deliver`). The
 * queue (store-queue.c) runs the same two steps, write and commit, on
 * its threads.
 */
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/xmalloc.h"
#include "store/maildir.h"
#include "store/store-job-private.h"
#include "store/store-private.h"

struct store_job *
store_job_new(unsigned char *body, size_t len)
{
	struct store_job *job = xcalloc(1, sizeof(*job));

	job->body = body;
	job->len = len;
	return job;
}

size_t
store_job_add_target(struct store_job *job, const char *user,
    const char *folder, const char *prefix)
{
	struct store_target *t;

	job->targets = xreallocarray(job->targets, job->count + 1,
	    sizeof(*job->targets));
	t = &job->targets[job->count];
	memset(t, 0, sizeof(*t));
	t->user = xstrdup(user);
	t->folder = xstrdup(store_folder_canonical(folder));
	t->prefix = xstrdup(prefix != NULL ? prefix : "");
	t->status = 1;
	if (job->spool != NULL && !job->spool_claimed &&
	    store_spool_matches(job->spool, t->user, t->folder, t->prefix)) {
		t->from_spool = true;
		job->spool_claimed = true;
	}
	return job->count++;
}

size_t
store_job_target_count(const struct store_job *job)
{
	return job->count;
}

int
store_job_result(const struct store_job *job, size_t target,
    uint32_t *uidvalidity_r, uint32_t *uid_r, const char **error_r)
{
	const struct store_target *t;

	if (target >= job->count) {
		*error_r = "no such target";
		return -1;
	}
	t = &job->targets[target];
	if (t->status != 0) {
		*error_r = t->status < 0 ?
		    error_code_fmt(t->error_code, "%s", t->error) :
		    "not delivered yet";
		return -1;
	}
	*uidvalidity_r = t->uidvalidity;
	*uid_r = t->uid;
	return 0;
}

void
store_job_free(struct store_job **jobp)
{
	struct store_job *job = *jobp;
	size_t i;

	if (job == NULL)
		return;
	for (i = 0; i < job->count; i++) {
		struct store_target *t = &job->targets[i];

		free(t->user);
		free(t->folder);
		free(t->prefix);
		free(t->dir);
		free(t->tmp_path);
		free(t->base);
		free(t->error);
	}
	free(job->targets);
	free(job->body);
	store_spool_free(&job->spool);
	free(job);
	*jobp = NULL;
}

static void
target_fail(struct store_target *t, const char *error)
{
	t->status = -1;
	free(t->error);
	t->error = xstrdup(error);
	t->error_code = error_code(error);
	free(t->tmp_path);
	t->tmp_path = NULL;
}

void
store_target_write(struct store *store, struct store_job *job, size_t i,
    bool sync)
{
	struct store_target *t = &job->targets[i];
	const char *error;

	if (maildir_folder_dir(store, t->user, t->folder, &t->dir,
	    &error) < 0 ||
	    (job->spool != NULL ?
	    store_spool_write_target(job->spool, t, sync, &error) :
	    maildir_write_tmp(store, t->dir, t->prefix, job->body, job->len,
	    sync, &t->tmp_path, &t->base, &error)) < 0) {
		target_fail(t, error);
		return;
	}
	t->synced = sync;
}

static int
ref_dir_cmp(const void *a, const void *b)
{
	const struct store_commit_ref *x = a, *y = b;

	return strcmp(x->job->targets[x->target].dir,
	    y->job->targets[y->target].dir);
}

void
store_targets_commit(struct store *store, struct store_commit_ref *refs,
    size_t count)
{
	struct store_commit_ref *ready;
	struct maildir_commit_item *items;
	struct maildir_commit_folder *folders;
	size_t i, j, n = 0, k, f, nfolders = 0;

	ready = xcalloc(count + 1, sizeof(*ready));
	for (i = 0; i < count; i++) {
		struct store_target *t = &refs[i].job->targets[refs[i].target];

		if (t->status == 1 && t->tmp_path != NULL)
			ready[n++] = refs[i];
	}
	/* Stable grouping by folder keeps each folder's arrival order. */
	for (i = 1; i < n; i++) {
		struct store_commit_ref r = ready[i];

		for (j = i; j > 0 && ref_dir_cmp(&ready[j - 1], &r) > 0; j--)
			ready[j] = ready[j - 1];
		ready[j] = r;
	}
	/* One maildir_commit_folder per folder, all in one round. */
	items = xcalloc(n + 1, sizeof(*items));
	folders = xcalloc(n + 1, sizeof(*folders));
	for (i = 0; i < n; i = j) {
		for (j = i; j < n && ref_dir_cmp(&ready[i], &ready[j]) == 0;
		    j++) {
			struct store_target *t =
			    &ready[j].job->targets[ready[j].target];

			items[j].tmp_path = t->tmp_path;
			items[j].base = t->base;
			items[j].synced = t->synced;
		}
		folders[nfolders].dir =
		    ready[i].job->targets[ready[i].target].dir;
		folders[nfolders].items = items + i;
		folders[nfolders].count = j - i;
		nfolders++;
	}
	maildir_commit_round(store, folders, nfolders);
	for (f = 0; f < nfolders; f++) {
		for (k = 0; k < folders[f].count; k++) {
			struct maildir_commit_item *item = &folders[f].items[k];
			struct store_commit_ref *ref =
			    &ready[item - items];
			struct store_target *t =
			    &ref->job->targets[ref->target];

			if (item->status == 0) {
				t->status = 0;
				t->uidvalidity = folders[f].uidvalidity;
				t->uid = item->uid;
				free(t->tmp_path);
				t->tmp_path = NULL;
			} else {
				target_fail(t, error_code_fmt(
				    item->error_code, "%s", item->error));
			}
		}
	}
	free(folders);
	free(items);
	free(ready);
}

int
store_job_run(struct store *store, struct store_job *job)
{
	struct store_commit_ref *refs;
	size_t i;
	int ret = 0;

	refs = xcalloc(job->count + 1, sizeof(*refs));
	for (i = 0; i < job->count; i++) {
		/* One thread: fsync in the commit, with the UID list. */
		store_target_write(store, job, i, false);
		refs[i].job = job;
		refs[i].target = i;
	}
	store_targets_commit(store, refs, job->count);
	free(refs);
	for (i = 0; i < job->count; i++) {
		if (job->targets[i].status != 0)
			ret = -1;
	}
	return ret;
}
