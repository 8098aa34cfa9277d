/*
 * The delivery queue: each target of a job is written by a job on a
 * pool of DELIVERY_WRITERS threads; one committer at a time (a job on a
 * pool of one thread, started when written work is waiting) takes
 * everything written so far (at most DELIVERY_BATCH_MAX) and commits it
 * as one round: the fsyncs of all its message files and UID lists run
 * concurrently, then the renames, then the directory fsyncs, so that
 * all messages of a round share one new/ fsync and one UID-list rewrite
 * per folder (group commit). Folder syncs run on the committer too,
 * serialised with commits; a folder has at most one sync waiting to
 * start, into which further requests are merged, so a burst of changes
 * costs one sync (plus one follow-up if a sync is running). Completions
 * are handed back through a lib/completion.h queue and run by
 * store_queue_reap() on the caller's thread.
 */
#include "store/store.h"

#include <sys/queue.h>

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/completion.h"
#include "lib/error.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/workpool.h"
#include "lib/xmalloc.h"
#include "store/store-job-private.h"
#include "store/store-private.h"

/* Work queued and not yet reaped, in the queue's live list: what
 * store_queue_pending_user() looks through. */
struct live {
	LIST_ENTRY(live) entry;
	const struct store_job *job;	/* a job: its targets' users */
	const char *user;		/* or a sync of this user's folder */
};

/* A queued job with its callback. */
struct queue_job {
	struct store_queue *queue;
	struct live live;
	struct store_job *job;
	store_job_done_cb *cb;
	void *ctx;
	size_t remaining;	/* targets not yet committed or failed */
};

/* Who asked for a sync: each distinct (cb, ctx) hears the result once. */
struct sync_requester {
	store_sync_done_cb *cb;
	void *ctx;
};

enum queue_item_kind {
	QUEUE_ITEM_TARGET,	/* one target of a job: write, then commit */
	QUEUE_ITEM_SYNC,	/* a folder sync */
	QUEUE_ITEM_JOB_DONE,	/* a finished job, waiting to be reaped */
};

struct queue_item {
	enum queue_item_kind kind;
	struct queue_item *next;
	struct store_queue *queue;
	struct completion done;	/* handed to the reaping thread */

	/* QUEUE_ITEM_TARGET and QUEUE_ITEM_JOB_DONE */
	struct queue_job *qjob;
	size_t target;

	/* QUEUE_ITEM_SYNC: request (merged while it waits to start) */
	char *user;
	char *folder;		/* canonical */
	uint32_t after_uid;	/* the lowest asked for */
	struct live live;
	struct sync_requester *requesters;
	size_t nrequesters;
	bool waiting;		/* in the queue's waiting_syncs, not started */
	struct queue_item *sync_next;	/* in waiting_syncs */
	/* QUEUE_ITEM_SYNC: result */
	int status;
	uint32_t uidvalidity;
	uint32_t last_uid;	/* UIDNEXT - 1 when synced */
	uint32_t *uids;		/* UIDs above after_uid */
	size_t nuids;
};

struct item_list {
	struct queue_item *head;
	struct queue_item *tail;
};

struct store_queue {
	struct store *store;
	struct completion_queue *done;	/* finished jobs and syncs */

	struct workpool *writers;	/* one job per target to write */
	struct workpool *committer;	/* commit_cb, one at a time */
	struct workpool *sweeper;	/* sweep_cb: tmp/ leftovers */

	pthread_mutex_t lock;		/* protects everything below */
	struct item_list to_commit;	/* written targets and syncs */
	struct queue_item *waiting_syncs;	/* syncs in to_commit: not
						   started, open to merging */
	bool committing;		/* commit_cb queued or running */
	bool sweeping;			/* sweep_cb queued or running */
	size_t pending;			/* queued, until reaped */
	LIST_HEAD(, live) live;		/* the same, by what they touch */
};

static void
live_add(struct store_queue *q, struct live *l)
{
	LIST_INSERT_HEAD(&q->live, l, entry);
	q->pending++;
}

static void
live_remove(struct store_queue *q, struct live *l)
{
	LIST_REMOVE(l, entry);
	q->pending--;
}

static void
list_push(struct item_list *l, struct queue_item *item)
{
	item->next = NULL;
	if (l->tail != NULL)
		l->tail->next = item;
	else
		l->head = item;
	l->tail = item;
}

static struct queue_item *
list_pop(struct item_list *l)
{
	struct queue_item *item = l->head;

	if (item != NULL) {
		l->head = item->next;
		if (l->head == NULL)
			l->tail = NULL;
		item->next = NULL;
	}
	return item;
}

/* Take a sync out of waiting_syncs: it is starting. Called with the
 * lock. */
static void
sync_started(struct store_queue *q, struct queue_item *item)
{
	struct queue_item **pp;

	if (!item->waiting)
		return;
	for (pp = &q->waiting_syncs; *pp != NULL; pp = &(*pp)->sync_next) {
		if (*pp == item) {
			*pp = item->sync_next;
			break;
		}
	}
	item->sync_next = NULL;
	item->waiting = false;
}

static completion_cb reap_cb;

/* Hand a finished item to the reaping thread. */
static void
post_done(struct store_queue *q, struct queue_item *item)
{
	completion_post(q->done, &item->done, reap_cb);
}

static void commit_cb(void *arg);

/* Start the committer unless it is queued or running already; it takes
 * what is in to_commit. Called with the lock. */
static void
commit_kick(struct store_queue *q)
{
	if (q->committing)
		return;
	q->committing = true;
	workpool_submit(q->committer, commit_cb, q);
}

/* A writer job: one target's message into its folder's tmp/. */
static void
write_cb(void *arg)
{
	struct queue_item *item = arg;
	struct store_queue *q = item->qjob->queue;

	/* The committer fsyncs the file, concurrently with the other files
	 * and UID lists of its round. */
	store_target_write(q->store, item->qjob->job, item->target, false);

	pthread_mutex_lock(&q->lock);
	list_push(&q->to_commit, item);
	commit_kick(q);
	pthread_mutex_unlock(&q->lock);
}

static void
run_sync(struct store *store, struct queue_item *item)
{
	struct store_folder *folder;
	const char *error;
	size_t i;

	if (store_folder_sync(store, item->user, item->folder, &folder,
	    &error) < 0) {
		/* The watcher sees a Maildir as soon as its first directory
		 * appears; one still being made (or removed) is no fault, and
		 * the watcher reports it again once it is complete. */
		if (error_code(error) == ERROR_NOT_FOUND)
			log_debug("sync of %s/%s: %s", item->user,
			    item->folder, error);
		else
			log_warnx("sync of %s/%s: %s", item->user,
			    item->folder, error);
		item->status = -1;
		return;
	}
	item->status = 0;
	item->uidvalidity = folder->uidvalidity;
	item->last_uid = folder->uidnext - 1;
	for (i = 0; i < folder->count; i++) {
		if (folder->messages[i].uid <= item->after_uid)
			continue;
		item->uids = xreallocarray(item->uids, item->nuids + 1,
		    sizeof(*item->uids));
		item->uids[item->nuids++] = folder->messages[i].uid;
	}
	store_folder_free(&folder);
}

/* The committer: rounds until nothing written or synced is left. */
static void
commit_cb(void *arg)
{
	struct store_queue *q = arg;
	struct queue_item *batch[DELIVERY_BATCH_MAX];
	struct store_commit_ref refs[DELIVERY_BATCH_MAX];
	size_t n, nrefs, i;

	pthread_mutex_lock(&q->lock);
	while (q->to_commit.head != NULL) {
		for (n = 0; n < DELIVERY_BATCH_MAX &&
		    (batch[n] = list_pop(&q->to_commit)) != NULL; n++) {
			if (batch[n]->kind == QUEUE_ITEM_SYNC)
				sync_started(q, batch[n]);
		}
		pthread_mutex_unlock(&q->lock);

		/* One round: every written target, grouped by folder. */
		for (i = 0, nrefs = 0; i < n; i++) {
			if (batch[i]->kind != QUEUE_ITEM_TARGET)
				continue;
			refs[nrefs].job = batch[i]->qjob->job;
			refs[nrefs].target = batch[i]->target;
			nrefs++;
		}
		if (nrefs > 0)
			store_targets_commit(q->store, refs, nrefs);
		for (i = 0; i < n; i++) {
			if (batch[i]->kind == QUEUE_ITEM_SYNC)
				run_sync(q->store, batch[i]);
		}

		pthread_mutex_lock(&q->lock);
		for (i = 0; i < n; i++) {
			struct queue_item *item = batch[i];

			if (item->kind == QUEUE_ITEM_SYNC) {
				post_done(q, item);
				continue;
			}
			if (--item->qjob->remaining == 0) {
				item->kind = QUEUE_ITEM_JOB_DONE;
				post_done(q, item);
			} else {
				free(item);
			}
		}
	}
	q->committing = false;
	pthread_mutex_unlock(&q->lock);
}

struct store_queue *
store_queue_new(struct store *store)
{
	struct store_queue *q = xcalloc(1, sizeof(*q));

	q->store = store;
	q->done = completion_queue_new_polled("store queue");
	pthread_mutex_init(&q->lock, NULL);
	LIST_INIT(&q->live);
	q->writers = workpool_new("store-write", DELIVERY_WRITERS);
	q->committer = workpool_new("store-commit", 1);
	q->sweeper = workpool_new("store-sweep", 1);
	return q;
}

void
store_queue_free(struct store_queue **queuep)
{
	struct store_queue *q = *queuep;

	if (q == NULL)
		return;
	/* Every write hands its target to the committer; once the writers
	 * are done, the committer finishes what they handed over. */
	workpool_free(&q->writers);
	workpool_free(&q->committer);
	workpool_free(&q->sweeper);

	/* Everything queued is done now; run the last callbacks. */
	store_queue_reap(q);
	completion_queue_free(&q->done);
	pthread_mutex_destroy(&q->lock);
	free(q);
	*queuep = NULL;
}

int
store_queue_fd(const struct store_queue *queue)
{
	return completion_queue_fd(queue->done);
}

size_t
store_queue_pending(const struct store_queue *queue)
{
	struct store_queue *q = (struct store_queue *)queue;
	size_t n;

	pthread_mutex_lock(&q->lock);
	n = q->pending;
	pthread_mutex_unlock(&q->lock);
	return n;
}

size_t
store_queue_pending_user(const struct store_queue *queue, const char *user)
{
	struct store_queue *q = (struct store_queue *)queue;
	const struct live *l;
	size_t i, n = 0;

	pthread_mutex_lock(&q->lock);
	LIST_FOREACH(l, &q->live, entry) {
		if (l->job == NULL) {
			n += strcmp(l->user, user) == 0;
			continue;
		}
		for (i = 0; i < l->job->count; i++) {
			if (strcmp(l->job->targets[i].user, user) == 0) {
				n++;
				break;
			}
		}
	}
	pthread_mutex_unlock(&q->lock);
	return n;
}

/* A finished item, on the reaping thread: it is no longer pending
 * (nothing of it is left to write); run its callbacks. */
static void
reap_cb(struct completion *done)
{
	struct queue_item *item = COMPLETION_ENTRY(done, struct queue_item,
	    done);
	struct store_queue *q = item->queue;

	pthread_mutex_lock(&q->lock);
	live_remove(q, item->kind == QUEUE_ITEM_JOB_DONE ?
	    &item->qjob->live : &item->live);
	pthread_mutex_unlock(&q->lock);
	if (item->kind == QUEUE_ITEM_JOB_DONE) {
		struct queue_job *qj = item->qjob;

		if (qj->cb != NULL)
			qj->cb(qj->job, qj->ctx);
		else
			store_job_free(&qj->job);
		free(qj);
	} else {
		size_t i;

		for (i = 0; i < item->nrequesters; i++) {
			item->requesters[i].cb(item->user, item->folder,
			    item->status == 0 ? item->uidvalidity : 0,
			    item->uids, item->nuids,
			    item->requesters[i].ctx);
		}
		/* Everything the sync saw has been reported now. */
		if (item->status == 0)
			store_hub_settle(q->store, item->user, item->folder,
			    item->uidvalidity, item->last_uid);
		free(item->user);
		free(item->folder);
		free(item->uids);
		free(item->requesters);
	}
	free(item);
}

void
store_queue_reap(struct store_queue *q)
{
	completion_queue_run(q->done);
}

void
store_queue_job(struct store_queue *q, struct store_job *job,
    store_job_done_cb *cb, void *ctx)
{
	struct queue_job *qj = xcalloc(1, sizeof(*qj));
	struct queue_item *item;
	size_t i, count = store_job_target_count(job);

	qj->queue = q;
	qj->job = job;
	qj->cb = cb;
	qj->ctx = ctx;
	qj->remaining = count;
	qj->live.job = job;

	pthread_mutex_lock(&q->lock);
	live_add(q, &qj->live);
	if (count == 0) {
		item = xcalloc(1, sizeof(*item));
		item->kind = QUEUE_ITEM_JOB_DONE;
		item->queue = q;
		item->qjob = qj;
		post_done(q, item);
	}
	for (i = 0; i < count; i++) {
		item = xcalloc(1, sizeof(*item));
		item->kind = QUEUE_ITEM_TARGET;
		item->queue = q;
		item->qjob = qj;
		item->target = i;
		workpool_submit(q->writers, write_cb, item);
	}
	pthread_mutex_unlock(&q->lock);
}

/* Add (cb, ctx) to a sync's requesters unless it is there already. */
static void
sync_add_requester(struct queue_item *item, store_sync_done_cb *cb,
    void *ctx)
{
	size_t i;

	if (cb == NULL)
		return;
	for (i = 0; i < item->nrequesters; i++) {
		if (item->requesters[i].cb == cb &&
		    item->requesters[i].ctx == ctx)
			return;
	}
	item->requesters = xreallocarray(item->requesters,
	    item->nrequesters + 1, sizeof(*item->requesters));
	item->requesters[item->nrequesters].cb = cb;
	item->requesters[item->nrequesters].ctx = ctx;
	item->nrequesters++;
}

void
store_queue_sync(struct store_queue *q, const char *user, const char *folder,
    uint32_t after_uid, store_sync_done_cb *cb, void *ctx)
{
	const char *canonical = store_folder_canonical(folder);
	struct queue_item *item;

	pthread_mutex_lock(&q->lock);
	/*
	 * A sync of this folder that has not started yet will see whatever
	 * changed since: merge into it. Its report then covers what each
	 * request asked for (UIDs above the lowest after_uid), and a UID
	 * reported twice is dropped by store_announce. A running sync is
	 * not waiting, so a change it may have missed gets one follow-up.
	 */
	for (item = q->waiting_syncs; item != NULL; item = item->sync_next) {
		if (strcmp(item->user, user) == 0 &&
		    strcmp(item->folder, canonical) == 0) {
			if (after_uid < item->after_uid)
				item->after_uid = after_uid;
			sync_add_requester(item, cb, ctx);
			pthread_mutex_unlock(&q->lock);
			return;
		}
	}
	item = xcalloc(1, sizeof(*item));
	item->kind = QUEUE_ITEM_SYNC;
	item->queue = q;
	item->user = xstrdup(user);
	item->folder = xstrdup(canonical);
	item->after_uid = after_uid;
	sync_add_requester(item, cb, ctx);
	item->live.user = item->user;
	item->waiting = true;
	item->sync_next = q->waiting_syncs;
	q->waiting_syncs = item;
	live_add(q, &item->live);
	list_push(&q->to_commit, item);
	commit_kick(q);
	pthread_mutex_unlock(&q->lock);
}

static void
sweep_cb(void *arg)
{
	struct store_queue *q = arg;
	const char *error;
	size_t removed;

	if (store_sweep_tmp(q->store, time(NULL), &removed, &error) < 0)
		log_warnx("store: cannot sweep tmp/: %s", error);
	else if (removed > 0)
		log_info("store: swept %zu file%s left in tmp/ for over %d "
		    "hours", removed, removed == 1 ? "" : "s",
		    STORE_TMP_MAX_AGE_SECS / 3600);
	pthread_mutex_lock(&q->lock);
	q->sweeping = false;
	pthread_mutex_unlock(&q->lock);
}

void
store_queue_sweep(struct store_queue *q)
{
	pthread_mutex_lock(&q->lock);
	if (q->sweeping) {
		pthread_mutex_unlock(&q->lock);
		return;
	}
	q->sweeping = true;
	pthread_mutex_unlock(&q->lock);
	workpool_submit(q->sweeper, sweep_cb, q);
}
