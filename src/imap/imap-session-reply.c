/*
 * What an IMAP session writes: untagged lines and raw responses, the
 * tagged reply that finishes a command (with the selected view's
 * pending changes before it, RFC 3501 7.4.1), store errors mapped to
 * response codes, and a pending command's continuation requests and
 * line reads.
 */
#include "imap/imap-session.h"

#include <assert.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "imap/imap-commands.h"
#include "imap/imap-notify.h"
#include "imap/imap-session-private.h"
#include "imap/imap-view.h"
#include "imap/imap-wire.h"
#include "lib/clock.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/stats.h"
#include "lib/xmalloc.h"
#include "store/store.h"

/* ---- output ---- */

void
imap_session_write(struct imap_session *session, const void *data,
    size_t len)
{
	if (!session->closing)
		imap_session_wake(session);
	if (session->bev == NULL || session->closing)
		return;
	evbuffer_add(bufferevent_get_output(session->bev), data, len);
}

void
imap_session_vline(struct imap_session *session, const char *prefix,
    const char *fmt, va_list ap)
{
	struct evbuffer *out;

	if (!session->closing)
		imap_session_wake(session);
	if (session->bev == NULL || session->closing)
		return;
	out = bufferevent_get_output(session->bev);
	evbuffer_add_printf(out, "%s", prefix);
	evbuffer_add_vprintf(out, fmt, ap);
	evbuffer_add(out, "\r\n", 2);
}

void
imap_session_untagged(struct imap_session *session, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	imap_session_vline(session, "* ", fmt, ap);
	va_end(ap);
}

bool
imap_session_output_full(const struct imap_session *session)
{
	if (session->bev == NULL)
		return false;
	return evbuffer_get_length(bufferevent_get_output(session->bev)) >
	    IMAP_OUTPUT_HIGH_WATER;
}

void
imap_session_bye(struct imap_session *session, const char *text)
{
	if (session->closing)
		return;
	imap_session_untagged(session, "BYE %s", text);
	session->closing = true;
	session->state = IMAP_STATE_LOGOUT;
	imap_session_update_read(session);
}

void
imap_session_close(struct imap_session *session)
{
	session->closing = true;
	session->state = IMAP_STATE_LOGOUT;
	imap_session_update_read(session);
}

/* Free the session once its output is flushed (or now if nothing
 * waits). Returns true if it was freed. */
bool
imap_session_close_if_flushed(struct imap_session *session)
{
	struct evbuffer *out;

	if (!session->closing || (session->cmd != NULL && !session->cmd->done))
		return false;
	imap_session_wake(session);
	if (session->bev == NULL) {
		imap_session_free(session);
		return true;
	}
	imap_session_compress_end(session);
	out = bufferevent_get_output(session->bev);
	if (evbuffer_get_length(out) == 0) {
		imap_session_free(session);
		return true;
	}
	/* The write callback must fire at empty, not at the low mark. */
	bufferevent_setwatermark(session->bev, EV_WRITE, 0, 0);
	return false;
}

void
imap_cmd_free(struct imap_cmd **cmdp)
{
	if (*cmdp == NULL)
		return;
	free((*cmdp)->tag);
	free(*cmdp);
	*cmdp = NULL;
}

/* After a tagged reply, once the handler has returned. */
void
imap_session_cmd_finished(struct imap_session *session)
{
	imap_cmd_free(&session->cmd);
	if (session->server == NULL || session->server->service.shutting_down)
		imap_session_bye(session, "Server shutting down");
	else if (session->bye_after != NULL)
		imap_session_bye(session, session->bye_after);
	else if (session->bad_count >= IMAP_BAD_MAX)
		imap_session_bye(session, "Too many invalid commands");
	imap_session_update_timeouts(session);
}

void
imap_cmd_tagged(struct imap_cmd *cmd, const char *status, const char *code,
    const char *fmt, ...)
{
	struct imap_session *session = cmd->session;
	struct evbuffer *out;
	va_list ap;
	bool bad = strcmp(status, "BAD") == 0;

	assert(!cmd->done);
	if (!bad && session->state == IMAP_STATE_SELECTED)
		imap_session_flush_updates(session, cmd->def == NULL ||
		    !(cmd->def->flags & IMAP_CMD_FLAG_NO_EXPUNGE), cmd->uid);
	/* Other folders' notifications (RFC 5465) before the tagged
	 * line, after the command's own responses. */
	imap_notify_flush(session);
	if (bad) {
		session->bad_count++;
		mb_stats.imap_bad_total++;
	} else
		session->bad_count = 0;
	if (cmd->def != NULL && !(cmd->def->flags & IMAP_CMD_FLAG_UNTIMED))
		stats_observe_series(&mb_stats.imap_command_seconds,
		    imap_command_index(cmd->def), cmd->def->name,
		    (double)(clock_now_us() - cmd->started_us) / 1e6);
	cmd->done = true;
	cmd->line_cb = NULL;
	cmd->resume_cb = NULL;
	cmd->changed_cb = NULL;
	cmd->abort_cb = NULL;
	if (!session->closing)
		imap_session_wake(session);
	if (session->bev != NULL && !session->closing) {
		out = bufferevent_get_output(session->bev);
		if (code != NULL)
			evbuffer_add_printf(out, "%s %s [%s] ", cmd->tag,
			    status, code);
		else
			evbuffer_add_printf(out, "%s %s ", cmd->tag, status);
		va_start(ap, fmt);
		evbuffer_add_vprintf(out, fmt, ap);
		va_end(ap);
		evbuffer_add(out, "\r\n", 2);
	}
	/* A pending command finished from a callback: carry on from the
	 * loop, where nothing of the command is on the stack any more. */
	if (!cmd->in_handler && session->cmd == cmd)
		imap_session_schedule_input(session);
}

void
imap_cmd_store_error(struct imap_cmd *cmd, const char *what,
    const char *error)
{
	struct imap_session *session = cmd->session;

	switch (error_code(error)) {
	case ERROR_INVALID:
		imap_cmd_tagged(cmd, "NO", "CANNOT", "Invalid mailbox name");
		break;
	case ERROR_NOT_FOUND:
		imap_cmd_tagged(cmd, "NO", "NONEXISTENT", "Mailbox does not "
		    "exist");
		break;
	case ERROR_EXISTS:
		imap_cmd_tagged(cmd, "NO", "ALREADYEXISTS", "Mailbox already "
		    "exists");
		break;
	case ERROR_NOT_POSSIBLE:
		imap_cmd_tagged(cmd, "NO", "CANNOT", "Not possible for this "
		    "mailbox");
		break;
	case ERROR_EXPUNGED:
		imap_cmd_tagged(cmd, "NO", "EXPUNGEISSUED", "Some messages "
		    "were expunged");
		break;
	case ERROR_LIMIT:
		imap_cmd_tagged(cmd, "NO", "LIMIT", "Mailbox is full");
		break;
	case ERROR_NO_SPACE:
		/* RFC 5530 3: the client may tell its user to make room;
		 * the operator hears of it here. */
		log_warnx("imap: %s: %s: %s", session->log_id, what, error);
		imap_cmd_tagged(cmd, "NO", "OVERQUOTA", "Not enough disk "
		    "space, nothing was changed");
		break;
	case ERROR_UIDVALIDITY:
		imap_cmd_tagged(cmd, "NO", "UNAVAILABLE", "Mailbox was "
		    "rebuilt; select it again");
		break;
	case ERROR_INTERNAL:
	default:
		log_warnx("imap: %s: %s: %s", session->log_id, what, error);
		imap_cmd_tagged(cmd, "NO", "SERVERBUG", "Internal error, "
		    "see the server log");
		break;
	}
}

void
imap_cmd_continue(struct imap_cmd *cmd, const char *text)
{
	struct imap_session *session = cmd->session;

	imap_session_wake(session);
	if (session->bev == NULL)
		return;
	evbuffer_add_printf(bufferevent_get_output(session->bev), "+ %s\r\n",
	    text);
}

void
imap_cmd_read_line(struct imap_cmd *cmd, imap_cmd_line_cb *cb)
{
	cmd->line_cb = cb;
	imap_session_update_read(cmd->session);
	imap_session_update_timeouts(cmd->session);
	/* Input may already be buffered (a pipelined DONE). */
	if (!cmd->in_handler)
		imap_session_schedule_input(cmd->session);
}

/* ---- untagged updates (RFC 3501 7.4.1) ---- */

struct flush_ctx {
	struct imap_session *session;
	bool with_uid;
	uint32_t *gone;		/* QRESYNC: expunged UIDs not yet sent */
	size_t ngone, cap;
};

/* QRESYNC (RFC 7162 3.2.10): a run of expunges as one "* VANISHED",
 * sent before the next response so sequence numbers stay right. */
static void
flush_vanished(struct flush_ctx *fc)
{
	struct buf b;

	if (fc->ngone == 0)
		return;
	buf_init(&b, 0);
	(void)buf_append_str(&b, "* VANISHED ");
	(void)imap_write_uidset(&b, fc->gone, fc->ngone);
	(void)buf_append_str(&b, "\r\n");
	imap_session_write(fc->session, b.data, b.len);
	buf_free(&b);
	fc->ngone = 0;
}

static void
flush_expunge_cb(uint32_t seq, uint32_t uid, void *ctx)
{
	struct flush_ctx *fc = ctx;

	if (!fc->session->qresync) {
		imap_session_untagged(fc->session, "%u EXPUNGE", seq);
		return;
	}
	if (fc->ngone == fc->cap) {
		fc->cap = fc->cap < 64 ? 64 : fc->cap * 2;
		fc->gone = xreallocarray(fc->gone, fc->cap,
		    sizeof(*fc->gone));
	}
	fc->gone[fc->ngone++] = uid;
}

static void
flush_flags_cb(uint32_t seq, uint32_t uid, unsigned flags, uint32_t keywords,
    void *ctx)
{
	struct flush_ctx *fc = ctx;
	struct buf b;

	flush_vanished(fc);
	/* FLAGS is the whole list: \Recent too if this session has it. */
	if (store_view_uid_recent(fc->session->view, uid))
		flags |= IMAP_FLAG_RECENT;
	if (store_view_keyword_count(fc->session->view) !=
	    fc->session->keywords_announced)
		imap_session_announce_flags(fc->session);
	buf_init(&b, 1024);
	/* RFC 7162 3.1: with CONDSTORE on, UID and MODSEQ always. */
	if (buf_printf(&b, "* %u FETCH (", seq) == 0 &&
	    (!(fc->with_uid || fc->session->condstore) ||
	    buf_printf(&b, "UID %u ", uid) == 0) &&
	    (!fc->session->condstore || buf_printf(&b, "MODSEQ (%llu) ",
	    (unsigned long long)store_view_uid_modseq(fc->session->view,
	    uid)) == 0) &&
	    buf_append_str(&b, "FLAGS ") == 0 &&
	    imap_view_write_flags(&b, fc->session->view, flags,
	    keywords) == 0 &&
	    buf_append_str(&b, ")\r\n") == 0)
		imap_session_write(fc->session, b.data, b.len);
	buf_free(&b);
}

static void
flush_exists_cb(uint32_t count, void *ctx)
{
	struct flush_ctx *fc = ctx;

	flush_vanished(fc);
	/* RFC 3501 7.3.2: the new RECENT goes with the new EXISTS. */
	imap_session_untagged(fc->session, "%u EXISTS", count);
	imap_session_untagged(fc->session, "%u RECENT",
	    store_view_recent_count(fc->session->view));
}

void
imap_session_flush_updates(struct imap_session *session, bool allow_expunge,
    bool with_uid)
{
	static const struct store_view_refresh_cbs cbs = {
		.expunge = flush_expunge_cb,
		.flags = flush_flags_cb,
		.exists = flush_exists_cb,
	};
	struct flush_ctx fc = { session, with_uid, NULL, 0, 0 };
	const char *error;
	uint32_t old_count;
	int ret;

	if (session->state != IMAP_STATE_SELECTED || session->view == NULL ||
	    session->closing)
		return;
	old_count = store_view_count(session->view);
	ret = store_view_refresh(session->view, allow_expunge, &cbs, &fc,
	    &error);
	flush_vanished(&fc);
	free(fc.gone);
	if (ret < 0) {
		enum error_code code = error_code(error);

		if (code == ERROR_UIDVALIDITY || code == ERROR_NOT_FOUND) {
			log_info("imap: %s: selected folder went away: %s",
			    session->log_id, error);
			imap_session_bye(session, "Selected mailbox was "
			    "deleted or rebuilt, have to disconnect");
		} else
			log_warnx("imap: %s: refresh %s: %s", session->log_id,
			    session->mailbox, error);
		return;
	}
	if (store_view_keyword_count(session->view) !=
	    session->keywords_announced)
		imap_session_announce_flags(session);
	if (store_view_count(session->view) > old_count)
		imap_notify_selected_new(session, old_count,
		    store_view_count(session->view));
}

void
imap_session_send_flags(struct imap_session *session,
    const struct store_view *view, bool permanent, bool read_only)
{
	struct buf b;
	int ret;

	buf_init(&b, 0);
	if (!permanent)
		ret = buf_append_str(&b, "* FLAGS ") == 0 &&
		    imap_view_write_flag_names(&b, view, false) == 0 &&
		    buf_append_str(&b, "\r\n") == 0 ? 0 : -1;
	else if (read_only)
		ret = buf_append_str(&b, "* OK [PERMANENTFLAGS ()] Read-only "
		    "mailbox\r\n");
	else
		ret = buf_append_str(&b, "* OK [PERMANENTFLAGS ") == 0 &&
		    imap_view_write_flag_names(&b, view, true) == 0 &&
		    buf_append_str(&b, "] Flags permitted\r\n") == 0 ? 0 : -1;
	if (ret == 0)
		imap_session_write(session, b.data, b.len);
	buf_free(&b);
}

void
imap_session_announce_flags(struct imap_session *session)
{
	session->keywords_announced = store_view_keyword_count(session->view);
	imap_session_send_flags(session, session->view, false, false);
	imap_session_send_flags(session, session->view, true,
	    session->read_only);
}

void
imap_session_view_changed(struct store_view *view, void *ctx)
{
	struct imap_session *session = ctx;
	struct imap_cmd *cmd = session->cmd;

	(void)view;
	if (cmd != NULL && !cmd->done && cmd->changed_cb != NULL)
		cmd->changed_cb(cmd);
	else if (cmd == NULL)
		imap_notify_selected_changed(session);
}
