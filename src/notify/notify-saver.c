/*
 * Saving the notifier's registrations: formatted on the loop, written,
 * fsynced and renamed into place by a writer on lib/workpool.h, so the
 * loop never waits for the disk; and the timer that saves a moment
 * after a change.
 */
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>

#include <openssl/crypto.h>

#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/completion.h"
#include "lib/log.h"
#include "lib/stats.h"
#include "lib/workpool.h"
#include "lib/xmalloc.h"
#include "notify/notify-private.h"

/* ---- Saving ----
 * The registrations file (about 150 bytes a registration) is formatted
 * into a buffer on the loop, NOTIFY_SAVE_SLICE registrations a turn so
 * that other work goes on between the slices, then written, fsynced and
 * renamed into place by a job on a one-thread lib/workpool.h pool, so
 * the loop never waits for the disk.
 * One save is in flight at a time; changes made meanwhile are saved
 * again when it completes. A registration is answered before it is on
 * disk, as before: the file trails changes by a moment (at least 100
 * ms, see notify_server_changed()). Shutdown waits for the save in
 * flight and then writes what changed since. */

struct notify_saver {
	struct workpool *pool;		/* one thread: the writer */
	struct completion_queue *done_queue;	/* to the loop */
	struct completion done_item;	/* posted: a save completed */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* Under lock: */
	bool done;			/* result is valid */
	int rc;
	uint64_t ms;
	char *error;			/* xstrdup'd on the writer's thread,
					   freed by the loop */
	/* The loop's own, and the writer's while busy: */
	struct buf job;			/* the formatted file */
	struct notify_server *server;
	/* The loop's own: */
	bool busy;			/* a save is in flight */
	bool formatting;		/* ...and still being formatted, in
					   slices (fmt, cursor, slice_ev) */
	struct buf fmt;			/* the file so far */
	size_t cursor;			/* notify_registry_serialize_step() */
	struct event *slice_ev;		/* zero timeout: the next slice */
	uint64_t slice_max_ms;		/* the longest slice of this save */
	unsigned slices;		/* slices of this save */
	bool again;			/* changes came while busy */
	bool job_regs, job_seen;	/* what the save in flight covers */
	uint32_t job_time;		/* when it was formatted */
	uint64_t format_ms;		/* how long formatting took */
	size_t last_len;		/* bytes of the last save */
};

/*
 * A save's buffer is mapped for it and unmapped after, never taken from
 * malloc: megabytes freed by the writer after the loop allocated more
 * would stay resident as a hole in the heap (and raise malloc's mmap
 * threshold so the next one would too). max keeps buf from growing it:
 * an append that does not fit fails, and the caller maps a larger one.
 */
static int
job_map(struct buf *b, size_t size)
{
	void *p;

	size = (size + 65535) & ~(size_t)65535;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	b->data = p;
	b->len = 0;
	b->cap = size;
	b->max = size - 1;
	return 0;
}

/* Make b's mapping size bytes or more, keeping its contents (the
 * kernel moves the pages, nothing is copied). 0 or -1. */
static int
job_grow(struct buf *b, size_t size)
{
	void *p;

	size = (size + 65535) & ~(size_t)65535;
	p = mremap(b->data, b->cap, size, MREMAP_MAYMOVE);
	if (p == MAP_FAILED)
		return -1;
	b->data = p;
	b->cap = size;
	b->max = size - 1;
	return 0;
}

static void
job_unmap(struct buf *b)
{
	if (b->data != NULL) {
		OPENSSL_cleanse(b->data, b->len);
		munmap(b->data, b->cap);
	}
	memset(b, 0, sizeof(*b));
}

static completion_cb save_done_cb;

/* The writer's job, on the pool's thread: one at a time, as the loop
 * submits another only once this one has told it that it is done. */
static void
save_job_cb(void *arg)
{
	struct notify_saver *sv = arg;
	uint64_t start;
	const char *error = NULL;
	int rc;

	start = clock_now_ms();
	rc = notify_regfile_write(sv->server->regs_path, sv->job.data,
	    sv->job.len, &error);
	if (rc == 0)
		notify_server_mirror(sv->server, sv->job.data, sv->job.len);
	job_unmap(&sv->job);

	pthread_mutex_lock(&sv->lock);
	sv->rc = rc;
	sv->ms = clock_now_ms() - start;
	/* The text is in this thread's ring: the loop gets a copy. */
	sv->error = rc < 0 ? xstrdup(error) : NULL;
	sv->done = true;
	pthread_cond_broadcast(&sv->cond);
	completion_post(sv->done_queue, &sv->done_item, save_done_cb);
	pthread_mutex_unlock(&sv->lock);
}

/* The save in flight is over (sv->done under lock): take its result. */
static void
save_finish(struct notify_server *s)
{
	struct notify_saver *sv = s->saver;
	char *error;
	uint64_t ms;
	int rc;

	pthread_mutex_lock(&sv->lock);
	rc = sv->rc;
	ms = sv->ms;
	error = sv->error;
	sv->error = NULL;
	sv->done = false;
	pthread_mutex_unlock(&sv->lock);
	sv->busy = false;
	if (rc < 0) {
		log_warnx("notify: %s", error);
		free(error);
		/* Saved again at the next sweep. */
		s->regs_dirty |= sv->job_regs;
		s->seen_dirty |= sv->job_seen;
		return;
	}
	s->save_ms = ms;
	s->seen_flushed = sv->job_time;
	log_debug("notify: registrations saved (formatted in %llu ms on "
	    "the loop in %u slices, the longest %llu ms; written in %llu "
	    "ms)", (unsigned long long)sv->format_ms, sv->slices,
	    (unsigned long long)sv->slice_max_ms, (unsigned long long)ms);
}

/* On the loop: a save completed, unless shutdown took its result
 * already (save_wait()). */
static void
save_done_cb(struct completion *item)
{
	struct notify_saver *sv = COMPLETION_ENTRY(item, struct notify_saver,
	    done_item);
	struct notify_server *s = sv->server;
	bool done;

	pthread_mutex_lock(&sv->lock);
	done = sv->done;
	pthread_mutex_unlock(&sv->lock);
	if (!done || !sv->busy)
		return;
	save_finish(s);
	if (sv->again && (s->regs_dirty || s->seen_dirty)) {
		sv->again = false;
		notify_save_start(s);
	}
	sv->again = false;
}

/* Give up the save being formatted (no memory, or shutdown): what it
 * covered is saved again later. */
static void
format_abandon(struct notify_server *s)
{
	struct notify_saver *sv = s->saver;

	evtimer_del(sv->slice_ev);
	job_unmap(&sv->fmt);
	s->regs_dirty |= sv->job_regs;
	s->seen_dirty |= sv->job_seen;
	sv->formatting = false;
	sv->busy = false;
}

/* Format the next NOTIFY_SAVE_SLICE registrations; after the last,
 * hand the file to the writer. */
static void
format_slice(struct notify_server *s)
{
	struct notify_saver *sv = s->saver;
	static const struct timeval now = { 0, 0 };
	uint64_t start = clock_now_ms(), ms;
	int rc;

	while ((rc = notify_registry_serialize_step(s->registry, &sv->fmt,
	    &sv->cursor, NOTIFY_SAVE_SLICE)) < 0) {
		if (job_grow(&sv->fmt, sv->fmt.cap * 2) < 0) {
			log_warn("notify: %s: formatting registrations",
			    s->regs_path);
			format_abandon(s);
			return;
		}
	}
	ms = clock_now_ms() - start;
	sv->format_ms += ms;
	if (ms > sv->slice_max_ms)
		sv->slice_max_ms = ms;
	sv->slices++;
	if (rc == 0) {
		evtimer_add(sv->slice_ev, &now);
		return;
	}
	sv->formatting = false;
	sv->last_len = sv->fmt.len;
	sv->job = sv->fmt;
	memset(&sv->fmt, 0, sizeof(sv->fmt));
	workpool_submit(sv->pool, save_job_cb, sv);
}

static void
slice_cb(evutil_socket_t fd, short what, void *ctx)
{
	(void)fd;
	(void)what;
	format_slice(ctx);
}

/* Format the registrations and hand them to the writer; if a save is in
 * flight, another follows when it completes. */
void
notify_save_start(struct notify_server *s)
{
	struct notify_saver *sv = s->saver;
	size_t size;

	if (sv->busy) {
		sv->again = true;
		return;
	}
	/* Room for the last save and some, or about 160 bytes a
	 * registration the first time; twice that until it fits. */
	size = sv->last_len > 0 ? sv->last_len + sv->last_len / 8 :
	    notify_registry_count(s->registry) * 160 + 4096;
	if (job_map(&sv->fmt, size) < 0) {
		log_warn("notify: %s: formatting registrations", s->regs_path);
		return;
	}
	/* Changes from now on, between the slices included, are saved by
	 * the next save. */
	sv->job_regs = s->regs_dirty;
	sv->job_seen = s->seen_dirty;
	sv->job_time = notify_now(s);
	s->regs_dirty = false;
	s->seen_dirty = false;
	sv->busy = true;
	sv->formatting = true;
	sv->cursor = 0;
	sv->format_ms = 0;
	sv->slice_max_ms = 0;
	sv->slices = 0;
	format_slice(s);
}

/* Wait for the save in flight, if any. */
static void
save_wait(struct notify_server *s)
{
	struct notify_saver *sv = s->saver;

	if (sv == NULL || !sv->busy)
		return;
	if (sv->formatting) {
		format_abandon(s);
		return;
	}
	pthread_mutex_lock(&sv->lock);
	while (!sv->done)
		pthread_cond_wait(&sv->cond, &sv->lock);
	pthread_mutex_unlock(&sv->lock);
	save_finish(s);
}

/* Save on this thread (shutdown, after the writer stopped). */
void
notify_save_now(struct notify_server *s)
{
	uint64_t start = clock_now_ms();
	const char *error;

	if (notify_registry_save(s->registry, s->regs_path, &error) < 0) {
		log_warnx("notify: %s", error);
		return;
	}
	s->save_ms = clock_now_ms() - start;
	s->regs_dirty = false;
	s->seen_dirty = false;
	s->seen_flushed = notify_now(s);
}

void
notify_saver_new(struct notify_server *s)
{
	struct notify_saver *sv = xcalloc(1, sizeof(*sv));
	sigset_t all, old;

	sv->done_queue = completion_queue_new(s->deps.base, "notify-save");
	pthread_mutex_init(&sv->lock, NULL);
	pthread_cond_init(&sv->cond, NULL);
	sv->server = s;
	sv->slice_ev = evtimer_new(s->deps.base, slice_cb, s);
	s->saver = sv;
	/* Signals are the loop's: the writer starts with all blocked. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	sv->pool = workpool_new("notify-save", 1);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Wait for the save in flight and stop the writer. */
void
notify_saver_free(struct notify_server *s)
{
	struct notify_saver *sv = s->saver;

	if (sv == NULL)
		return;
	save_wait(s);
	workpool_free(&sv->pool);
	s->saver = NULL;
	/* A completion still queued finds the save taken already. */
	completion_queue_free(&sv->done_queue);
	pthread_cond_destroy(&sv->cond);
	pthread_mutex_destroy(&sv->lock);
	job_unmap(&sv->job);
	event_free(sv->slice_ev);
	free(sv->error);
	free(sv);
}

void
notify_save_timer_cb(evutil_socket_t fd, short what, void *ctx)
{
	(void)fd;
	(void)what;
	notify_save_start(ctx);
}

void
notify_server_changed(struct notify_server *s)
{
	/* Registrations made in one burst are written once, and a large
	 * file is rewritten at most a tenth of the time. */
	uint64_t ms = s->save_ms * 10 > 100 ? s->save_ms * 10 : 100;
	struct timeval tv;

	if (ms > 10000)
		ms = 10000;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	s->regs_dirty = true;
	mb_stats.notify_registrations = notify_registry_count(s->registry);
	if (s->save_ev != NULL && !evtimer_pending(s->save_ev, NULL))
		evtimer_add(s->save_ev, &tv);
}
