/*
 * IDLE (RFC 2177): "+ idling", then every change to the selected
 * mailbox is pushed the moment the store reports it (new mail landing,
 * another session's flags or expunges), with "* OK Still here" every
 * [imap] idle_keepalive seconds, until the client sends DONE. A client
 * that stops reading makes the pushes wait (output watermark), so the
 * pending changes stay in the shared index, not in our buffers.
 *
 * A server may hold thousands of sessions in IDLE, so each keeps only a
 * small struct imap_idle: the keepalives of all of them run from one
 * timer over a queue in deadline order (see struct imap_server).
 */
#include "imap/imap-commands.h"
#include "imap/imap-notify.h"

#include <stdint.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>

#include "lib/clock.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/stats.h"
#include "lib/xmalloc.h"
#include "store/store.h"

/* A keepalive this close to its time is sent now rather than after
 * another timer round: the loop's clock may be coarser than ours. */
#define IDLE_KEEPALIVE_SLACK_MS 10

/* One session in IDLE; the command's ctx. */
struct imap_idle {
	struct imap_cmd *cmd;
	struct imap_idle *prev, *next;	/* in the server's keepalive queue */
	uint64_t due_ms;		/* next keepalive, monotonic ms */
	uint64_t landed_us;		/* the latest landing pushed (or
					   there when IDLE began) */
	bool changed;			/* changes wait for the output */
};

/* The selected folder's latest landing, 0 if none (or no folder). */
static uint64_t
idle_landed_us(const struct imap_idle *idle)
{
	const struct store_view *view = idle->cmd->session->view;

	return view != NULL ? store_view_landed_us(view) : 0;
}

static uint64_t
idle_interval_ms(const struct imap_server *server)
{
	return (uint64_t)server->deps.cfg->imap_idle_keepalive * 1000;
}

static void
idle_queue_append(struct imap_server *server, struct imap_idle *idle)
{
	idle->next = NULL;
	idle->prev = server->idle_tail;
	if (server->idle_tail != NULL)
		server->idle_tail->next = idle;
	else
		server->idle_head = idle;
	server->idle_tail = idle;
}

static void
idle_queue_remove(struct imap_server *server, struct imap_idle *idle)
{
	if (idle->prev != NULL)
		idle->prev->next = idle->next;
	else
		server->idle_head = idle->next;
	if (idle->next != NULL)
		idle->next->prev = idle->prev;
	else
		server->idle_tail = idle->prev;
	idle->prev = idle->next = NULL;
}

/* Set the timer for the head of the queue, or stop it if it is empty. */
static void
idle_timer_arm(struct imap_server *server, uint64_t now)
{
	struct timeval tv;
	uint64_t wait;

	if (server->idle_head == NULL) {
		evtimer_del(server->idle_ev);
		return;
	}
	wait = server->idle_head->due_ms > now ?
	    server->idle_head->due_ms - now : 0;
	tv.tv_sec = (time_t)(wait / 1000);
	tv.tv_usec = (suseconds_t)(wait % 1000) * 1000;
	evtimer_add(server->idle_ev, &tv);
}

/* Send every keepalive that is due, each session then waiting a full
 * interval again at the tail of the queue. */
static void
idle_keepalive_cb(evutil_socket_t fd, short what, void *arg)
{
	struct imap_server *server = arg;
	struct imap_idle *idle;
	uint64_t now = clock_now_ms();

	(void)fd;
	(void)what;
	/* Each one moves behind now + interval (at least 1 s), so the
	 * loop ends. */
	while ((idle = server->idle_head) != NULL &&
	    idle->due_ms <= now + IDLE_KEEPALIVE_SLACK_MS) {
		idle_queue_remove(server, idle);
		idle->due_ms = now + idle_interval_ms(server);
		idle_queue_append(server, idle);
		if (!imap_session_output_full(idle->cmd->session))
			imap_session_untagged(idle->cmd->session,
			    "OK Still here");
	}
	idle_timer_arm(server, now);
}

static void
idle_finish(struct imap_cmd *cmd, const char *status, const char *text)
{
	struct imap_idle *idle = cmd->ctx;
	struct imap_server *server = cmd->session->server;

	idle_queue_remove(server, idle);
	/* The timer runs on for the next one in the queue; an early
	 * firing finds nothing due and waits again. */
	if (server->idle_head == NULL)
		evtimer_del(server->idle_ev);
	free(idle);
	cmd->ctx = NULL;
	imap_cmd_tagged(cmd, status, NULL, "%s", text);
}

static void
idle_push(struct imap_cmd *cmd)
{
	struct imap_idle *idle = cmd->ctx;

	if (imap_session_output_full(cmd->session)) {
		idle->changed = true;
		return;
	}
	idle->changed = false;
	imap_session_flush_updates(cmd->session, true, false);
	/* A message that landed since the last push is now on its way
	 * to the client: its wake time. */
	if (idle_landed_us(idle) > idle->landed_us) {
		idle->landed_us = idle_landed_us(idle);
		stats_observe(&mb_stats.imap_idle_wake_seconds,
		    (double)(clock_now_us() - idle->landed_us) / 1e6);
	}
}

static void
idle_changed_cb(struct imap_cmd *cmd)
{
	idle_push(cmd);
}

static void
idle_resume_cb(struct imap_cmd *cmd)
{
	struct imap_idle *idle = cmd->ctx;

	if (idle->changed)
		idle_push(cmd);
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
	struct imap_server *server = session->server;
	struct imap_idle *idle;
	uint64_t now;

	if (cmd->args_count != 0) {
		imap_cmd_tagged(cmd, "BAD", NULL, "IDLE takes no arguments");
		return;
	}
	if (server->idle_ev == NULL) {
		server->idle_ev = evtimer_new(server->deps.base,
		    idle_keepalive_cb, server);
		if (server->idle_ev == NULL)
			fatalx("imap: cannot create an event");
	}
	now = clock_now_ms();
	idle = xcalloc(1, sizeof(*idle));
	idle->cmd = cmd;
	idle->due_ms = now + idle_interval_ms(server);
	idle->landed_us = idle_landed_us(idle);
	idle_queue_append(server, idle);
	if (server->idle_head == idle)
		idle_timer_arm(server, now);
	cmd->ctx = idle;
	cmd->changed_cb = idle_changed_cb;
	cmd->resume_cb = idle_resume_cb;
	cmd->abort_cb = idle_abort_cb;
	/* Changes since the last command first, as NOOP would, and other
	 * folders' notifications that waited for room (RFC 5465 4). */
	imap_session_flush_updates(session, true, false);
	imap_notify_flush(session);
	imap_cmd_continue(cmd, "idling");
	imap_cmd_read_line(cmd, idle_line_cb);
}
