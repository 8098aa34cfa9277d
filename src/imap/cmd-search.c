/*
 * SEARCH and UID SEARCH (RFC 3501 6.4.4, 6.4.8): the program is parsed
 * by imap-search.c and tried on every message of the view, first with
 * what memory holds (flags, UID, sequence number, then size and internal
 * date from the store's index), and only when that cannot decide with
 * the message file parsed: its header alone unless BODY or TEXT is
 * asked. A search that reads files works in slices of
 * IMAP_COMMAND_SLICE_MS, so other clients are served meanwhile. A
 * message another session expunged before this one was told matches
 * nothing once its file is needed, and the tagged OK says so with
 * EXPUNGEISSUED (RFC 5530; RFC 2180 4.1). With RETURN (...) the answer
 * is one ESEARCH response instead (RFC 4731), and RETURN (SAVE) keeps
 * the result as "$" for later commands (RFC 5182).
 */
#include "imap/imap-commands.h"

#include <stdlib.h>

#include <event2/event.h>

#include "imap/imap-search.h"
#include "imap/imap-view.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "store/message.h"
#include "store/store.h"

/* The command's state between slices. */
struct search_ctx {
	struct imap_search *search;
	uint32_t next;			/* index of the next message */
	uint32_t *ids;			/* matches so far: sequence numbers
					   (UIDs for UID SEARCH), ascending */
	size_t count;			/* ... how many */
	size_t cap;			/* ... room for */
	uint32_t *uids;			/* with RETURN (SAVE): the UIDs of
					   the matches, room for cap */
	uint64_t modseq;		/* the highest MODSEQ matched */
	bool expunged;			/* a message needed was gone */
	struct event *ev;		/* runs the next slice */
};

static void
search_ctx_free(struct search_ctx **ctxp)
{
	struct search_ctx *ctx = *ctxp;

	if (ctx == NULL)
		return;
	imap_search_free(&ctx->search);
	free(ctx->ids);
	free(ctx->uids);
	if (ctx->ev != NULL)
		event_free(ctx->ev);
	free(ctx);
	*ctxp = NULL;
}

/* Decide one message; 1 if it matches. A message found expunged
 * matches nothing and sets *expunged_r. */
static int
search_one(struct imap_cmd *cmd, struct imap_search *search,
    struct imap_search_msg *m, uint32_t max_seq, uint32_t max_uid,
    bool *expunged_r)
{
	struct imap_session *session = cmd->session;
	struct store_message_info info;
	struct message *msg = NULL;
	struct buf raw;
	const char *error;
	int r;

	if ((r = imap_search_match(search, m, max_seq, max_uid)) >= 0)
		return r;
	if (search->need_info) {
		if (store_view_message_info(session->view, m->uid, &info,
		    &error) < 0) {
			if (error_code(error) == ERROR_EXPUNGED)
				*expunged_r = true;
			else
				log_warnx("imap: %s: search %s uid %u: %s",
				    session->log_id, session->mailbox, m->uid,
				    error);
			return 0;
		}
		m->have_info = true;
		m->size = info.size;
		m->internal_date = info.internal_date;
		if ((r = imap_search_match(search, m, max_seq, max_uid)) >= 0)
			return r;
	}
	if ((search->need_body ?
	    imap_view_read_message(session->view, m->uid, &raw, &error) :
	    imap_view_read_header(session->view, m->uid, &raw, &error)) < 0) {
		if (error_code(error) == ERROR_EXPUNGED)
			*expunged_r = true;
		else
			log_warnx("imap: %s: search %s uid %u: %s",
			    session->log_id, session->mailbox,
			    m->uid, error);
		return 0;
	}
	if (message_parse(raw.data, raw.len, &msg, &error) < 0) {
		log_warnx("imap: %s: search %s uid %u: %s", session->log_id,
		    session->mailbox, m->uid, error);
		buf_free(&raw);
		return 0;
	}
	buf_free(&raw);
	m->msg = msg;
	r = imap_search_match(search, m, max_seq, max_uid);
	m->msg = NULL;
	message_free(&msg);
	return r > 0;
}

static bool
saving(const struct search_ctx *ctx)
{
	return (ctx->search->returns & IMAP_SEARCH_RETURN_SAVE) != 0;
}

/* The untagged answer: "* SEARCH n n ...", or with RETURN the
 * ESEARCH response of RFC 4731, none for RETURN (SAVE) alone (RFC 5182
 * 2.1). RETURN (SAVE ...) makes the result "$". */
static void
search_answer(struct imap_cmd *cmd, struct search_ctx *ctx)
{
	unsigned int returns = ctx->search->returns;
	struct buf out;
	size_t n;

	if (saving(ctx)) {
		n = imap_search_save_select(returns, ctx->uids, ctx->count);
		imap_session_searchres_set(cmd->session, ctx->uids, n);
		ctx->uids = NULL;
		if (returns == IMAP_SEARCH_RETURN_SAVE)
			return;
	}
	buf_init(&out, 0);
	if (ctx->search->esearch) {
		(void)imap_search_write_esearch(&out, cmd->tag, cmd->uid,
		    ctx->search->returns, ctx->ids, ctx->count);
		/* RFC 7162 3.1.5: "... MODSEQ n" at the end. */
		if (ctx->search->has_modseq && ctx->count > 0 && out.len > 2) {
			out.len -= 2;
			(void)buf_printf(&out, " MODSEQ %llu\r\n",
			    (unsigned long long)ctx->modseq);
		}
	} else {
		(void)buf_append_str(&out, "* SEARCH");
		for (size_t i = 0; i < ctx->count; i++)
			(void)buf_printf(&out, " %u", ctx->ids[i]);
		/* RFC 7162 3.1.5: "(MODSEQ n)", none for no match. */
		if (ctx->search->has_modseq && ctx->count > 0)
			(void)buf_printf(&out, " (MODSEQ %llu)",
			    (unsigned long long)ctx->modseq);
		(void)buf_append_str(&out, "\r\n");
	}
	imap_session_write(cmd->session, out.data, out.len);
	buf_free(&out);
}

/* Try messages until all are done (then answer) or the slice is over. */
static void
search_run(struct imap_cmd *cmd)
{
	struct search_ctx *ctx = cmd->ctx;
	struct imap_session *session = cmd->session;
	struct store_view *view = session->view;
	const struct store_view_message *msgs = store_view_messages(view);
	uint32_t count = store_view_count(view);
	uint32_t max_uid = count > 0 ? msgs[count - 1].uid : 0;
	struct imap_view_slice slice;
	bool expunged, saved;

	imap_view_slice_begin(&slice);
	while (ctx->next < count) {
		struct imap_search_msg m;

		if (session->bev == NULL)
			break;		/* nobody to answer */
		if (imap_view_slice_over(&slice)) {
			imap_view_slice_yield(ctx->ev);
			return;
		}
		imap_view_search_msg(view, ctx->next++, &m);
		if (search_one(cmd, ctx->search, &m, count, max_uid,
		    &ctx->expunged) != 1)
			continue;
		if (ctx->count == ctx->cap) {
			ctx->cap = ctx->cap == 0 ? 64 : ctx->cap * 2;
			ctx->ids = xreallocarray(ctx->ids, ctx->cap,
			    sizeof(*ctx->ids));
			if (saving(ctx))
				ctx->uids = xreallocarray(ctx->uids,
				    ctx->cap, sizeof(*ctx->uids));
		}
		if (saving(ctx))
			ctx->uids[ctx->count] = m.uid;
		if (m.modseq > ctx->modseq)
			ctx->modseq = m.modseq;
		ctx->ids[ctx->count++] = cmd->uid ? m.uid : m.seq;
	}
	search_answer(cmd, ctx);
	expunged = ctx->expunged;
	saved = saving(ctx);
	search_ctx_free(&ctx);
	cmd->ctx = NULL;
	/* RFC 5530's own example: the result holds the messages that
	 * still exist, and the client learns why others may be missing. */
	if (saved)
		imap_cmd_tagged(cmd, "OK", expunged ? "EXPUNGEISSUED" : NULL,
		    "%s completed, result saved", cmd->name);
	else if (expunged)
		imap_cmd_tagged(cmd, "OK", "EXPUNGEISSUED", "%s completed, "
		    "some messages were expunged", cmd->name);
	else
		imap_cmd_tagged(cmd, "OK", NULL, "%s completed", cmd->name);
}

static void
search_ev_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	search_run(arg);
}

/* The client is gone or the server stops: answer (to no one) now. */
static void
search_abort_cb(struct imap_cmd *cmd)
{
	struct search_ctx *ctx = cmd->ctx;

	/* RFC 5182 2.1: a SAVE search that fails leaves "$" empty. */
	if (saving(ctx))
		imap_session_searchres_set(cmd->session, NULL, 0);
	search_ctx_free(&ctx);
	cmd->ctx = NULL;
	imap_cmd_tagged(cmd, "NO", NULL, "%s aborted", cmd->name);
}

void
cmd_search(struct imap_cmd *cmd)
{
	struct imap_session *session = cmd->session;
	struct search_ctx *ctx;
	struct imap_search *search;
	enum imap_search_error code;
	const char *error;

	if (imap_search_parse(cmd->args, cmd->args_count, &search, &code,
	    &error) < 0) {
		if (code == IMAP_SEARCH_ERROR_BADCHARSET) {
			/* RFC 5182 2.1: NO to a SAVE search empties "$";
			 * BAD leaves it as it was. */
			if (imap_search_args_save(cmd->args, cmd->args_count))
				imap_session_searchres_set(session, NULL, 0);
			imap_cmd_tagged(cmd, "NO", "BADCHARSET (UTF-8 US-ASCII)",
			    "%s", error);
		} else
			imap_cmd_tagged(cmd, "BAD", NULL, "%s", error);
		return;
	}
	if (search->has_modseq)
		session->condstore = true;	/* RFC 7162 3.1 */
	/* "$" as it is now, before this search saves another. */
	imap_search_set_saved(search, session->searchres.uids,
	    session->searchres.count);
	imap_view_search_prepare(search, session->view);
	ctx = xcalloc(1, sizeof(*ctx));
	ctx->search = search;
	ctx->ev = event_new(session->server->deps.base, -1, 0, search_ev_cb,
	    cmd);
	if (ctx->ev == NULL)
		fatalx("imap: cannot create an event");
	cmd->ctx = ctx;
	cmd->abort_cb = search_abort_cb;
	search_run(cmd);
}
