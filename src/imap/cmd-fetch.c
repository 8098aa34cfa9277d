/*
 * FETCH and UID FETCH (RFC 3501 6.4.5, 6.4.8): one "* n FETCH (...)"
 * per message, produced while the client keeps up: when the output
 * queue passes its high-water mark the command waits for the session's
 * resume callback, so FETCH 1:* of a large mailbox never holds more than
 * one message's response. Flags, UIDs, sizes and dates come from memory;
 * a message file is read only for bodies, and parsed only for items
 * that need its structure.
 */
#include "imap/imap-commands.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "imap/imap-condstore.h"
#include "imap/imap-date.h"
#include "imap/imap-qresync.h"
#include "imap/imap-fetch-format.h"
#include "imap/imap-view.h"
#include "imap/imap-wire.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "store/message.h"
#include "store/store.h"

/* The command's state while it waits for output to drain. */
struct fetch_ctx {
	struct imap_fetch_items *items;
	uint32_t *seqs;			/* messages to answer, ascending */
	size_t count;
	size_t next;			/* index into seqs */

	uint32_t *seen_uids;		/* \Seen set by this FETCH, ascending */
	size_t seen_count;
	size_t seen_next;		/* first entry not yet passed */

	bool modseq;			/* MODSEQ in every response:
					   asked for, or CHANGEDSINCE */
	struct buf out;			/* one response, reused */
	struct event *ev;		/* runs the next slice */
	bool expunged;			/* a message was gone */
	bool failed;			/* a message could not be read */
	bool unknown_cte;		/* BINARY could not decode a part
					   (RFC 3516: NO [UNKNOWN-CTE]) */
};

static void
fetch_ctx_free(struct fetch_ctx **ctxp)
{
	struct fetch_ctx *ctx = *ctxp;

	if (ctx == NULL)
		return;
	imap_fetch_items_free(&ctx->items);
	free(ctx->seqs);
	free(ctx->seen_uids);
	buf_free(&ctx->out);
	if (ctx->ev != NULL)
		event_free(ctx->ev);
	free(ctx);
	*ctxp = NULL;
}

/* True if some LF in data is not preceded by CR. */
static bool
has_bare_lf(const unsigned char *data, size_t len)
{
	const unsigned char *p = data, *end = data + len;

	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (p == data || p[-1] != '\r')
			return true;
		p++;
	}
	return false;
}

/* The message with every bare LF made CRLF, as IMAP sends it. */
static void
normalise_crlf(const unsigned char *data, size_t len, struct buf *out)
{
	size_t start = 0;

	buf_init(out, 0);
	for (size_t i = 0; i < len; i++) {
		if (data[i] != '\n' || (i > 0 && data[i - 1] == '\r'))
			continue;
		(void)buf_append(out, data + start, i - start);
		(void)buf_append(out, "\r\n", 2);
		start = i + 1;
	}
	(void)buf_append(out, data + start, len - start);
}

/* Send what ctx->out holds, then "{n}" CRLF and the data itself, so a
 * large body is not copied into the response buffer first. */
static void
emit_literal(struct imap_session *session, struct buf *out,
    const unsigned char *data, size_t len)
{
	(void)buf_printf(out, "{%zu}\r\n", len);
	imap_session_write(session, out->data, out->len);
	buf_reset(out);
	imap_session_write(session, data, len);
}

/* BINARY's content goes as literal8 ("~{n}", RFC 3516) when it holds a
 * NUL, which a literal may not. */
static void
emit_literal8(struct imap_session *session, struct buf *out,
    const unsigned char *data, size_t len)
{
	if (memchr(data, '\0', len) != NULL)
		(void)buf_append(out, "~", 1);
	emit_literal(session, out, data, len);
}

/* <partial>: the window of len bytes asked for, possibly empty. */
static void
apply_partial(const struct imap_fetch_item *item, const unsigned char **data,
    size_t *len)
{
	size_t off, size;

	if (!item->has_partial)
		return;
	off = item->partial_offset;
	size = item->partial_size;
	if (off >= *len) {
		*len = 0;
		return;
	}
	*data += off;
	if (size < *len - off)
		*len = size;
	else
		*len -= off;
}

/* Everything one response needs besides the view entry. */
struct fetch_msg {
	uint32_t seq;
	uint32_t uid;
	unsigned int flags;
	uint32_t keywords;
	uint64_t modseq;
	struct store_message_info info;
	struct buf raw;			/* file bytes (need_raw, need_parse) */
	bool have_raw;
	struct buf whole;		/* raw with CRLF line ends, if raw
					   had bare LFs */
	bool have_whole;
	struct message *msg;		/* parsed (need_parse) */
	bool unknown_cte;		/* BINARY met an encoding it cannot
					   undo */
};

static void
fetch_msg_free(struct fetch_msg *m)
{
	if (m->have_raw)
		buf_free(&m->raw);
	if (m->have_whole)
		buf_free(&m->whole);
	message_free(&m->msg);
}

/* Load what the items need. 0, or -1 after noting why in ctx. */
static int
fetch_msg_load(struct imap_cmd *cmd, struct fetch_ctx *ctx,
    struct fetch_msg *m)
{
	struct imap_session *session = cmd->session;
	struct store_view *view = session->view;
	const struct imap_fetch_items *items = ctx->items;
	const char *error;

	if (items->need_info &&
	    store_view_message_info(view, m->uid, &m->info, &error) < 0)
		goto store_fail;
	if (!items->need_raw && !items->need_parse)
		return 0;
	if (imap_view_read_message(view, m->uid, &m->raw, &error) < 0) {
		if (error_code(error) == ERROR_EXPUNGED) {
			ctx->expunged = true;
			return -1;
		}
		log_warnx("imap: %s: read %s uid %u: %s", session->log_id,
		    session->mailbox, m->uid, error);
		ctx->failed = true;
		return -1;
	}
	m->have_raw = true;
	if (items->need_raw && has_bare_lf(m->raw.data, m->raw.len)) {
		normalise_crlf(m->raw.data, m->raw.len, &m->whole);
		m->have_whole = true;
	}
	if (items->need_parse &&
	    message_parse(m->raw.data, m->raw.len, &m->msg, &error) < 0) {
		log_warnx("imap: %s: parse %s uid %u: %s", session->log_id,
		    session->mailbox, m->uid, error);
		ctx->failed = true;
		return -1;
	}
	return 0;

store_fail:
	if (error_code(error) == ERROR_EXPUNGED)
		ctx->expunged = true;
	else {
		log_warnx("imap: %s: fetch %s uid %u: %s", session->log_id,
		    session->mailbox, m->uid, error);
		ctx->failed = true;
	}
	return -1;
}

/* BINARY[...] or BINARY.SIZE[...]: the decoded content, or its size.
 * A part the message does not have is NIL; an encoding mailbell cannot
 * undo makes the command's answer NO [UNKNOWN-CTE] (ctx->unknown_cte),
 * the part NIL meanwhile. */
static void
write_binary(struct imap_session *session, struct buf *out,
    const struct imap_fetch_item *item, struct fetch_msg *m,
    struct buf *sect)
{
	const unsigned char *data;
	const char *error;
	size_t len;
	int ret;

	ret = message_binary_get(m->msg, item->section.parts,
	    item->section.part_count, sect, &error);
	if (ret < 0) {
		if (ret == -2)
			m->unknown_cte = true;
		(void)buf_append_str(out, "NIL");
		return;
	}
	if (item->binary_size) {
		(void)buf_printf(out, "%zu", sect->len);
		return;
	}
	data = sect->data;
	len = sect->len;
	apply_partial(item, &data, &len);
	emit_literal8(session, out, data, len);
}

static void
write_section(struct imap_session *session, struct buf *out,
    const struct imap_fetch_item *item, struct fetch_msg *m)
{
	const unsigned char *data;
	size_t len;
	struct buf sect;
	const char *error;

	if (item->whole) {
		const struct buf *src = m->have_whole ? &m->whole : &m->raw;

		data = src->data;
		len = src->len;
		apply_partial(item, &data, &len);
		emit_literal(session, out, data, len);
		return;
	}
	buf_init(&sect, 0);
	if (item->binary || item->binary_size) {
		write_binary(session, out, item, m, &sect);
		buf_free(&sect);
		return;
	}
	if (message_section_get(m->msg, &item->section, &sect, &error) < 0) {
		/* A section the message does not have. */
		(void)buf_append_str(out, "NIL");
		buf_free(&sect);
		return;
	}
	data = sect.data;
	len = sect.len;
	apply_partial(item, &data, &len);
	emit_literal(session, out, data, len);
	buf_free(&sect);
}

/* "* n FETCH (" and what is sent unasked: UID for UID FETCH, MODSEQ
 * for CHANGEDSINCE (RFC 7162 3.1.4.1) and, once CONDSTORE is on, when
 * the FETCH set \Seen (3.1). True if nothing followed the "(". */
static bool
fetch_prefix(struct imap_cmd *cmd, struct fetch_ctx *ctx,
    const struct fetch_msg *m, bool seen_now)
{
	const struct imap_fetch_items *items = ctx->items;
	struct buf *out = &ctx->out;
	bool first = true;

	buf_reset(out);
	(void)buf_printf(out, "* %u FETCH (", m->seq);
	if (cmd->uid && !items->has_uid) {
		(void)buf_printf(out, "UID %u", m->uid);
		first = false;
	}
	if ((ctx->modseq && !items->has_modseq) ||
	    (seen_now && !ctx->modseq && cmd->session->condstore)) {
		(void)buf_printf(out, "%sMODSEQ (%llu)", first ? "" : " ",
		    (unsigned long long)m->modseq);
		first = false;
	}
	return first;
}

/* The "* n FETCH (...)" response of one message. */
static void
fetch_one(struct imap_cmd *cmd, struct fetch_ctx *ctx, uint32_t seq)
{
	struct imap_session *session = cmd->session;
	const struct imap_fetch_items *items = ctx->items;
	const struct store_view_message *vm =
	    &store_view_messages(session->view)[seq - 1];
	struct fetch_msg m;
	struct buf *out = &ctx->out;
	bool first, seen_now = false;

	memset(&m, 0, sizeof(m));
	m.seq = seq;
	m.uid = vm->uid;
	m.flags = vm->flags | (vm->recent ? IMAP_FLAG_RECENT : 0);
	m.keywords = vm->keywords;
	m.modseq = vm->modseq;
	while (ctx->seen_next < ctx->seen_count &&
	    ctx->seen_uids[ctx->seen_next] < m.uid)
		ctx->seen_next++;
	if (ctx->seen_next < ctx->seen_count &&
	    ctx->seen_uids[ctx->seen_next] == m.uid)
		seen_now = true;

	if (fetch_msg_load(cmd, ctx, &m) < 0) {
		fetch_msg_free(&m);
		return;
	}

	first = fetch_prefix(cmd, ctx, &m, seen_now);
	for (size_t i = 0; i < items->count; i++) {
		const struct imap_fetch_item *item = &items->items[i];

		if (!first)
			(void)buf_append(out, " ", 1);
		first = false;
		switch (item->att) {
		case IMAP_FETCH_FLAGS:
			(void)buf_append_str(out, "FLAGS ");
			(void)imap_view_write_flags(out, session->view,
			    m.flags, m.keywords);
			break;
		case IMAP_FETCH_UID:
			(void)buf_printf(out, "UID %u", m.uid);
			break;
		case IMAP_FETCH_MODSEQ:
			(void)buf_printf(out, "MODSEQ (%llu)",
			    (unsigned long long)m.modseq);
			break;
		case IMAP_FETCH_INTERNALDATE: {
			char date[IMAP_DATE_TIME_LEN + 1];
			time_t t = (time_t)m.info.internal_date;
			struct tm tm;
			int zone = 0;

			if (localtime_r(&t, &tm) != NULL)
				zone = (int)(tm.tm_gmtoff / 60);
			imap_date_time_format(t, zone, date);
			(void)buf_printf(out, "INTERNALDATE \"%s\"", date);
			break;
		}
		case IMAP_FETCH_RFC822_SIZE:
			(void)buf_printf(out, "RFC822.SIZE %llu",
			    (unsigned long long)m.info.size);
			break;
		case IMAP_FETCH_ENVELOPE:
			(void)buf_append_str(out, "ENVELOPE ");
			(void)imap_fetch_write_envelope(out,
			    message_envelope(m.msg));
			break;
		case IMAP_FETCH_BODYSTRUCTURE:
		case IMAP_FETCH_BODY:
			(void)buf_printf(out, "%s ", item->name);
			(void)imap_fetch_write_body(out, message_body(m.msg),
			    item->att == IMAP_FETCH_BODYSTRUCTURE);
			break;
		case IMAP_FETCH_SECTION:
			(void)buf_printf(out, "%s ", item->name);
			write_section(session, out, item, &m);
			ctx->unknown_cte |= m.unknown_cte;
			break;
		}
	}
	/* RFC 3501 6.4.5: flags changed by reading are reported. */
	if (seen_now && !items->has_flags) {
		(void)buf_append_str(out, first ? "FLAGS " : " FLAGS ");
		(void)imap_view_write_flags(out, session->view, m.flags,
		    m.keywords);
	}
	(void)buf_append_str(out, ")\r\n");
	imap_session_write(session, out->data, out->len);
	/* A large body should not keep its memory between messages. */
	if (out->cap > 65536) {
		buf_free(out);
		buf_init(out, 0);
	}
	fetch_msg_free(&m);
}

static void
fetch_finish(struct imap_cmd *cmd)
{
	struct fetch_ctx *ctx = cmd->ctx;
	bool expunged = ctx->expunged, failed = ctx->failed;
	bool unknown_cte = ctx->unknown_cte;

	fetch_ctx_free(&ctx);
	cmd->ctx = NULL;
	if (failed)
		imap_cmd_tagged(cmd, "NO", "SERVERBUG", "Some messages could "
		    "not be read, see the server log");
	else if (expunged)
		imap_cmd_tagged(cmd, "NO", "EXPUNGEISSUED", "Some messages "
		    "were expunged");
	else if (unknown_cte)
		imap_cmd_tagged(cmd, "NO", "UNKNOWN-CTE", "Some parts have "
		    "an unknown Content-Transfer-Encoding");
	else
		imap_cmd_tagged(cmd, "OK", NULL, "%s completed", cmd->name);
}

/*
 * Answer messages until done, the output queue is full (the session's
 * resume callback continues once the client has read) or the time slice
 * is over (the command's event continues from the loop).
 */
static void
fetch_run(struct imap_cmd *cmd)
{
	struct fetch_ctx *ctx = cmd->ctx;
	struct imap_view_slice slice;

	imap_view_slice_begin(&slice);
	while (ctx->next < ctx->count && cmd->session->bev != NULL) {
		if (imap_session_output_full(cmd->session))
			return;		/* fetch_resume_cb continues */
		if (imap_view_slice_over(&slice)) {
			imap_view_slice_yield(ctx->ev);
			return;
		}
		fetch_one(cmd, ctx, ctx->seqs[ctx->next++]);
	}
	fetch_finish(cmd);
}

static void
fetch_resume_cb(struct imap_cmd *cmd)
{
	fetch_run(cmd);
}

static void
fetch_ev_cb(evutil_socket_t fd, short what, void *arg)
{
	struct imap_cmd *cmd = arg;

	(void)fd;
	(void)what;
	/* Waiting for the client to read already: resume_cb goes on. */
	if (imap_session_output_full(cmd->session))
		return;
	fetch_run(cmd);
}

/* The client is gone: nothing more can be sent. */
static void
fetch_abort_cb(struct imap_cmd *cmd)
{
	fetch_finish(cmd);
}

/* Set \Seen on the messages a non-PEEK body item reads (one store call
 * for them all) and remember which changed. */
static int
fetch_set_seen(struct imap_cmd *cmd, struct fetch_ctx *ctx)
{
	struct store_view *view = cmd->session->view;
	const struct store_view_message *msgs = store_view_messages(view);
	const char *error;
	size_t n = 0;

	ctx->seen_uids = xreallocarray(NULL, ctx->count > 0 ? ctx->count : 1,
	    sizeof(uint32_t));
	for (size_t i = 0; i < ctx->count; i++) {
		const struct store_view_message *vm = &msgs[ctx->seqs[i] - 1];

		if (!(vm->flags & STORE_FLAG_SEEN))
			ctx->seen_uids[n++] = vm->uid;
	}
	ctx->seen_count = n;
	if (n == 0)
		return 0;
	if (store_view_set_flags(view, ctx->seen_uids, n, STORE_FLAGS_ADD,
	    STORE_FLAG_SEEN, &error) < 0) {
		imap_cmd_store_error(cmd, "fetch: set \\Seen", error);
		return -1;
	}
	return 0;
}

/* CHANGEDSINCE (RFC 7162 3.1.4.1): only the messages whose MODSEQ is
 * above since. */
static void
fetch_changed_only(struct store_view *view, struct fetch_ctx *ctx,
    uint64_t since)
{
	const struct store_view_message *msgs = store_view_messages(view);
	size_t i, n = 0;

	for (i = 0; i < ctx->count; i++) {
		if (msgs[ctx->seqs[i] - 1].modseq > since)
			ctx->seqs[n++] = ctx->seqs[i];
	}
	ctx->count = n;
}

void
cmd_fetch(struct imap_cmd *cmd)
{
	struct imap_session *session = cmd->session;
	struct imap_fetch_modifiers mods;
	struct fetch_ctx *ctx;
	const char *set, *error;

	if ((cmd->args_count != 2 && cmd->args_count != 3) ||
	    !imap_arg_get_atom(&cmd->args[0], &set) ||
	    cmd->args[0].type != IMAP_ARG_ATOM) {
		imap_cmd_tagged(cmd, "BAD", NULL, "%s needs a sequence set and "
		    "attributes", cmd->name);
		return;
	}
	memset(&mods, 0, sizeof(mods));
	ctx = xcalloc(1, sizeof(*ctx));
	buf_init(&ctx->out, 0);
	if (imap_fetch_items_parse(&cmd->args[1], &ctx->items, &error) < 0 ||
	    (cmd->args_count == 3 && imap_fetch_modifiers_parse(
	    &cmd->args[2], &mods, &error) < 0) ||
	    imap_view_resolve(session->view, set, cmd->uid,
	    &session->searchres, &ctx->seqs, &ctx->count, &error) < 0) {
		fetch_ctx_free(&ctx);
		imap_cmd_tagged(cmd, "BAD", NULL, "%s", error);
		return;
	}
	if (mods.vanished && (!cmd->uid || !session->qresync)) {
		fetch_ctx_free(&ctx);
		imap_cmd_tagged(cmd, "BAD", NULL, "VANISHED needs QRESYNC "
		    "enabled and UID FETCH");
		return;
	}
	/* RFC 7162 3.2.6: the expunges since, before the FETCHes. */
	if (mods.vanished)
		imap_qresync_vanished(session, mods.changedsince, set,
		    store_view_uidnext(session->view) - 1);
	/* RFC 7162 3.1: MODSEQ and CHANGEDSINCE enable CONDSTORE. */
	if (ctx->items->has_modseq || mods.changedsince_set)
		session->condstore = true;
	ctx->modseq = ctx->items->has_modseq || mods.changedsince_set;
	if (mods.changedsince_set)
		fetch_changed_only(session->view, ctx, mods.changedsince);
	if (ctx->items->sets_seen && !session->read_only &&
	    fetch_set_seen(cmd, ctx) < 0) {
		fetch_ctx_free(&ctx);
		return;
	}
	ctx->ev = event_new(session->server->deps.base, -1, 0, fetch_ev_cb,
	    cmd);
	if (ctx->ev == NULL)
		fatalx("imap: cannot create an event");
	cmd->ctx = ctx;
	cmd->resume_cb = fetch_resume_cb;
	cmd->abort_cb = fetch_abort_cb;
	fetch_run(cmd);
}

void
imap_fetch_notify(struct imap_session *session,
    const struct imap_fetch_items *items, uint32_t seq)
{
	/* fetch_one() answers for a command: a UID one, with nothing
	 * marked \Seen by this one. */
	struct imap_cmd cmd = { .session = session, .uid = true };
	struct fetch_ctx ctx = { .items = (struct imap_fetch_items *)items };

	if (seq == 0 || seq > store_view_count(session->view))
		return;
	buf_init(&ctx.out, 0);
	fetch_one(&cmd, &ctx, seq);
	buf_free(&ctx.out);
}
