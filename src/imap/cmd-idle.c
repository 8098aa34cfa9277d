/*
 * IDLE (RFC 2177): "+ idling", then every change to the selected
 * mailbox is pushed the moment the store reports it (new mail landing,
 * another session's flags or expunges), with "* OK Still here" every
 * [imap] idle_keepalive seconds, until the client sends DONE. A client
 * that stops reading makes the pushes wait (output watermark), so the
 * pending changes stay in the shared index, not in our buffers.
 */
#include "imap/imap-commands.h"

#include <stdlib.h>
#include <strings.h>

#include <event2/event.h>

#include "lib/config.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

struct idle_ctx {
	struct event *keepalive_ev;	/* persistent timer */
	bool changed;			/* changes wait for the output */
};

static void
idle_finish(struct imap_cmd *cmd, const char *status, const char *text)
{
	struct idle_ctx *ctx = cmd->ctx;

	event_free(ctx->keepalive_ev);
	free(ctx);
	cmd->ctx = NULL;
	imap_cmd_tagged(cmd, status, NULL, "%s", text);
}

static void
idle_push(struct imap_cmd *cmd)
{
	struct idle_ctx *ctx = cmd->ctx;

	if (imap_session_output_full(cmd->session)) {
		ctx->changed = true;
		return;
	}
	ctx->changed = false;
	imap_session_flush_updates(cmd->session, true, false);
}

static void
idle_changed_cb(struct imap_cmd *cmd)
{
	idle_push(cmd);
}

static void
idle_resume_cb(struct imap_cmd *cmd)
{
	struct idle_ctx *ctx = cmd->ctx;

	if (ctx->changed)
		idle_push(cmd);
}

static void
idle_keepalive_cb(evutil_socket_t fd, short what, void *arg)
{
	struct imap_cmd *cmd = arg;

	(void)fd;
	(void)what;
	if (!imap_session_output_full(cmd->session))
		imap_session_untagged(cmd->session, "OK Still here");
}

static void
idle_line_cb(struct imap_cmd *cmd, const char *line, size_t len)
{
	(void)len;
	if (strcasecmp(line, "DONE") != 0) {
		idle_finish(cmd, "BAD", "Expected DONE");
		return;
	}
	idle_finish(cmd, "OK", "Idle completed");
}

static void
idle_abort_cb(struct imap_cmd *cmd)
{
	idle_finish(cmd, "OK", "Idle completed");
}

void
cmd_idle(struct imap_cmd *cmd)
{
	struct imap_session *session = cmd->session;
	struct idle_ctx *ctx;
	struct timeval tv = { 0, 0 };

	if (cmd->args_count != 0) {
		imap_cmd_tagged(cmd, "BAD", NULL, "IDLE takes no arguments");
		return;
	}
	ctx = xcalloc(1, sizeof(*ctx));
	ctx->keepalive_ev = event_new(session->server->deps.base, -1,
	    EV_PERSIST, idle_keepalive_cb, cmd);
	if (ctx->keepalive_ev == NULL)
		fatalx("imap: cannot create an event");
	tv.tv_sec = session->server->deps.cfg->imap_idle_keepalive;
	evtimer_add(ctx->keepalive_ev, &tv);
	cmd->ctx = ctx;
	cmd->changed_cb = idle_changed_cb;
	cmd->resume_cb = idle_resume_cb;
	cmd->abort_cb = idle_abort_cb;
	/* Changes since the last command first, as NOOP would. */
	imap_session_flush_updates(session, true, false);
	imap_cmd_continue(cmd, "idling");
	imap_cmd_read_line(cmd, idle_line_cb);
}
