/*
 * The search-and-gather pass of SORT and THREAD: each message of the
 * view is tried with what memory holds, then with its index entry, and
 * its header file is read only when the program or the sort keys need
 * it. Like SEARCH it works in slices of IMAP_COMMAND_SLICE_MS.
 */
#include "imap/imap-collect.h"

#include <stdlib.h>

#include <event2/event.h>

#include "imap/imap-sort-cache.h"
#include "imap/imap-view.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "store/message.h"
#include "store/store.h"

struct collect_ctx {
	struct imap_search *search;
	bool need_header;
	uint32_t next;			/* index of the next message */
	struct imap_sort_msg *msgs;	/* the matches so far */
	size_t count, cap;
	bool expunged;			/* a message needed was gone */
	size_t live;			/* messages in the view */
	struct event *ev;		/* runs the next slice */
	struct imap_sort_cache *cache;	/* the server's, while ... */
	struct imap_sort_cache_folder *cached;	/* ... this is open */
	imap_collect_done_cb *done_cb;
	void *arg;
	void (*arg_free)(void *arg);
};

static void
collect_ctx_free(struct collect_ctx **ctxp)
{
	struct collect_ctx *ctx = *ctxp;

	if (ctx == NULL)
		return;
	imap_search_free(&ctx->search);
	for (size_t i = 0; i < ctx->count; i++)
		imap_sort_msg_clear(&ctx->msgs[i]);
	free(ctx->msgs);
	/* last: the records borrowed from the cache are gone */
	if (ctx->cached != NULL)
		imap_sort_cache_close(ctx->cache, &ctx->cached, ctx->live);
	if (ctx->ev != NULL)
		event_free(ctx->ev);
	if (ctx->arg_free != NULL)
		ctx->arg_free(ctx->arg);
	free(ctx);
	*ctxp = NULL;
}

static void
collect_warn(struct imap_cmd *cmd, uint32_t uid, const char *error,
    bool *expunged_r)
{
	struct imap_session *session = cmd->session;

	if (error_code(error) == ERROR_EXPUNGED)
		*expunged_r = true;
	else
		log_warnx("imap: %s: %s %s uid %u: %s", session->log_id,
		    cmd->name, session->mailbox, uid, error);
}

/* The next record of ctx->msgs, for a message that matched. */
static struct imap_sort_msg *
collect_add(struct collect_ctx *ctx, const struct imap_search_msg *m,
    const struct store_message_info *info)
{
	struct imap_sort_msg *s;

	if (ctx->count == ctx->cap) {
		ctx->cap = ctx->cap == 0 ? 64 : ctx->cap * 2;
		ctx->msgs = xreallocarray(ctx->msgs, ctx->cap,
		    sizeof(*ctx->msgs));
	}
	s = &ctx->msgs[ctx->count++];
	*s = (struct imap_sort_msg){ .seq = m->seq, .uid = m->uid,
	    .size = info->size, .arrival = info->internal_date };
	return s;
}

/* The keys of a matching message from the cache, borrowed: 1, or 0 if
 * they are not there. */
static int
collect_cached(struct collect_ctx *ctx, const struct imap_search_msg *m,
    const struct store_message_info *info)
{
	const struct imap_sort_msg *c;
	struct imap_sort_msg *s;

	if (ctx->cached == NULL ||
	    (c = imap_sort_cache_get(ctx->cached, m->uid)) == NULL)
		return 0;
	s = collect_add(ctx, m, info);
	*s = *c;		/* the folder stays open until we are done */
	s->borrowed = true;
	s->seq = m->seq;
	s->size = info->size;
	s->arrival = info->internal_date;
	if (!s->sent_date)
		s->date = s->arrival;
	return 1;
}

/* Try one message; on a match add its keys to ctx->msgs. */
static void
collect_one(struct imap_cmd *cmd, struct collect_ctx *ctx,
    struct imap_search_msg *m, uint32_t max_seq, uint32_t max_uid)
{
	struct store_view *view = cmd->session->view;
	struct store_message_info info;
	struct message *msg = NULL;
	struct imap_sort_msg *s;
	struct buf raw;
	const char *error;
	int r;

	if (imap_search_match(ctx->search, m, max_seq, max_uid) == 0)
		return;
	if (store_view_message_info(view, m->uid, &info, &error) < 0) {
		collect_warn(cmd, m->uid, error, &ctx->expunged);
		return;
	}
	m->have_info = true;
	m->size = info.size;
	m->internal_date = info.internal_date;
	if ((r = imap_search_match(ctx->search, m, max_seq, max_uid)) == 0)
		return;
	if (r > 0 && ctx->need_header && collect_cached(ctx, m, &info))
		return;
	if (r < 0 || ctx->need_header) {
		if ((ctx->search->need_body ?
		    imap_view_read_message(view, m->uid, &raw, &error) :
		    imap_view_read_header(view, m->uid, &raw, &error)) < 0) {
			collect_warn(cmd, m->uid, error, &ctx->expunged);
			return;
		}
		if (message_parse(raw.data, raw.len, &msg, &error) < 0) {
			buf_free(&raw);
			collect_warn(cmd, m->uid, error, &ctx->expunged);
			return;
		}
		buf_free(&raw);
		m->msg = msg;
		r = imap_search_match(ctx->search, m, max_seq, max_uid);
		m->msg = NULL;
	}
	if (r > 0 && (!ctx->need_header || !collect_cached(ctx, m, &info))) {
		s = collect_add(ctx, m, &info);
		imap_sort_msg_fill(s, ctx->need_header ? msg : NULL);
		if (ctx->need_header && ctx->cached != NULL)
			imap_sort_cache_put(ctx->cache, ctx->cached, s);
	}
	message_free(&msg);
}

static void
collect_finish(struct imap_cmd *cmd, struct collect_ctx *ctx)
{
	struct imap_sort_msg **v;
	bool expunged;

	v = xreallocarray(NULL, ctx->count + 1, sizeof(*v));
	for (size_t i = 0; i < ctx->count; i++)
		v[i] = &ctx->msgs[i];
	ctx->done_cb(cmd, v, ctx->count, ctx->arg);
	free(v);
	expunged = ctx->expunged;
	collect_ctx_free(&ctx);
	cmd->ctx = NULL;
	if (expunged)
		imap_cmd_tagged(cmd, "OK", "EXPUNGEISSUED", "%s completed, "
		    "some messages were expunged", cmd->name);
	else
		imap_cmd_tagged(cmd, "OK", NULL, "%s completed", cmd->name);
}

static void
collect_run(struct imap_cmd *cmd)
{
	struct collect_ctx *ctx = cmd->ctx;
	struct imap_session *session = cmd->session;
	const struct store_view_message *msgs =
	    store_view_messages(session->view);
	uint32_t count = store_view_count(session->view);
	uint32_t max_uid = count > 0 ? msgs[count - 1].uid : 0;
	struct imap_view_slice slice;

	imap_view_slice_begin(&slice);
	while (ctx->next < count) {
		struct imap_search_msg m;

		if (session->bev == NULL)
			break;		/* nobody to answer */
		if (imap_view_slice_over(&slice)) {
			imap_view_slice_yield(ctx->ev);
			return;
		}
		imap_view_search_msg(session->view, ctx->next++, &m);
		collect_one(cmd, ctx, &m, count, max_uid);
	}
	collect_finish(cmd, ctx);
}

static void
collect_ev_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	collect_run(arg);
}

static void
collect_abort_cb(struct imap_cmd *cmd)
{
	struct collect_ctx *ctx = cmd->ctx;

	collect_ctx_free(&ctx);
	cmd->ctx = NULL;
	imap_cmd_tagged(cmd, "NO", NULL, "%s aborted", cmd->name);
}

void
imap_collect_start(struct imap_cmd *cmd, struct imap_search *search,
    bool need_header, imap_collect_done_cb *done_cb, void *arg,
    void (*arg_free)(void *arg))
{
	struct collect_ctx *ctx = xcalloc(1, sizeof(*ctx));

	imap_view_search_prepare(search, cmd->session->view);
	ctx->search = search;
	ctx->need_header = need_header;
	ctx->done_cb = done_cb;
	ctx->arg = arg;
	ctx->arg_free = arg_free;
	ctx->live = store_view_count(cmd->session->view);
	if (need_header) {
		struct store_view *view = cmd->session->view;

		ctx->cache = cmd->session->server->sort_cache;
		ctx->cached = imap_sort_cache_open(ctx->cache,
		    store_view_user(view), store_view_folder(view),
		    store_view_uidvalidity(view));
	}
	ctx->ev = event_new(cmd->session->server->deps.base, -1, 0,
	    collect_ev_cb, cmd);
	if (ctx->ev == NULL)
		fatalx("imap: cannot create an event");
	cmd->ctx = ctx;
	cmd->abort_cb = collect_abort_cb;
	collect_run(cmd);
}
