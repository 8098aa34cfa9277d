/*
 * An IMAP session's input: bytes fed to the command parser (or a line
 * to a pending command), other protocols recognised and refused, and
 * each parsed command looked up in the command table and run.
 */
#include "imap/imap-session.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "imap/imap-commands.h"
#include "imap/imap-proxy.h"
#include "imap/imap-session-private.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/stats.h"
#include "lib/xmalloc.h"

/* ---- input ---- */

/* Methods of an HTTP request line; a client speaking HTTP to the IMAP
 * port (a browser, or a cross-protocol attack from a web page) sends
 * one of these as the "tag". */
static bool
is_http_method(const char *s)
{
	static const char *const methods[] = {
		"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS",
		"CONNECT", "PATCH", "TRACE",
	};

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(s, methods[i]) == 0)
			return true;
	return false;
}

/* Another protocol spoke to us (Redis's securityWarningCommand): say BYE
 * and close without trying to make sense of the rest. */
static bool
session_check_foreign(struct imap_session *session, const char *tag,
    const char *name)
{
	if (session->seen_command || tag == NULL)
		return false;
	if (!is_http_method(tag) && strcasecmp(tag, "Host:") != 0 &&
	    (name == NULL || strcasecmp(name, "Host:") != 0))
		return false;
	log_warnx("imap: %s: HTTP request on the IMAP port, closing",
	    session->log_id);
	mb_stats.imap_foreign_total++;
	imap_session_bye(session, "This is an IMAP server, not HTTP");
	return true;
}

/* Upper-case copy of a command word into a fixed buffer; false if it
 * cannot be a command name. */
static bool
command_word(const char *s, char *out, size_t size)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i + 1 >= size)
			return false;
		out[i] = (s[i] >= 'a' && s[i] <= 'z') ? s[i] - 32 : s[i];
	}
	out[i] = '\0';
	return i > 0;
}

/* Answer a command that never reaches a handler. */
static void
session_reply_bad(struct imap_session *session, const char *tag,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
session_reply_bad(struct imap_session *session, const char *tag,
    const char *fmt, ...)
{
	char prefix[IMAP_LINE_MAX_PRELOGIN];
	va_list ap;

	if (tag != NULL &&
	    (size_t)snprintf(prefix, sizeof(prefix), "%s BAD ", tag) <
	    sizeof(prefix)) {
		va_start(ap, fmt);
		imap_session_vline(session, prefix, fmt, ap);
		va_end(ap);
	} else {
		va_start(ap, fmt);
		imap_session_vline(session, "* BAD ", fmt, ap);
		va_end(ap);
	}
	session->bad_count++;
	mb_stats.imap_bad_total++;
	if (session->bad_count >= IMAP_BAD_MAX)
		imap_session_bye(session, "Too many invalid commands");
}

/* Look a parsed command up and run it. */
static void
session_dispatch(struct imap_session *session, const struct imap_command *pc)
{
	static const struct imap_arg no_args[1];
	const struct imap_command_def *def;
	const struct imap_arg *args = pc->args;
	unsigned int args_count = pc->args_count;
	struct imap_cmd *cmd;
	char word[32];
	bool uid = false;

	if (session_check_foreign(session, pc->tag, pc->name))
		return;
	session->seen_command = true;
	if (!command_word(pc->name, word, sizeof(word))) {
		session_reply_bad(session, pc->tag, "Unknown command");
		return;
	}
	if (strcmp(word, "UID") == 0) {
		const char *sub;

		if (args_count == 0 || !imap_arg_get_atom(&args[0], &sub) ||
		    !command_word(sub, word, sizeof(word))) {
			session_reply_bad(session, pc->tag,
			    "UID needs a command");
			return;
		}
		uid = true;
		args++;
		args_count--;
	}
	def = imap_command_find(word, uid);
	if (def == NULL) {
		session_reply_bad(session, pc->tag, "Unknown command %s%s",
		    uid ? "UID " : "", word);
		return;
	}
	if (!(def->states & session->state)) {
		if (session->state == IMAP_STATE_NOT_AUTH)
			session_reply_bad(session, pc->tag,
			    "%s needs a login first", def->name);
		else if (def->states == IMAP_STATE_SELECTED)
			session_reply_bad(session, pc->tag,
			    "%s needs a selected mailbox", def->name);
		else
			session_reply_bad(session, pc->tag,
			    "%s is not allowed now", def->name);
		return;
	}

	cmd = xcalloc(1, sizeof(*cmd));
	cmd->session = session;
	cmd->def = def;
	cmd->tag = xstrdup(pc->tag);
	cmd->name = def->name;
	/* Without arguments nothing of the parser is referenced, so it may
	 * be freed while the command is pending (IDLE). */
	cmd->args = args_count > 0 ? args : no_args;
	cmd->args_count = args_count;
	cmd->uid = uid;
	cmd->started_us = clock_now_us();
	session->cmd = cmd;
	mb_stats.imap_commands_total++;

	cmd->in_handler = true;
	def->func(cmd);
	cmd->in_handler = false;
	if (cmd->done)
		imap_session_cmd_finished(session);
	else
		imap_session_update_timeouts(session);
}

/* Answer a command the parser refused. */
static void
session_parse_error(struct imap_session *session, const char *error)
{
	const char *tag = imap_parser_tag(session->parser);

	if (session_check_foreign(session, tag,
	    imap_parser_name(session->parser)))
		return;
	/* A TLS ClientHello or other binary greeting. */
	if (!session->seen_command && tag == NULL) {
		mb_stats.imap_foreign_total++;
		imap_session_bye(session, "This is an IMAP server");
		return;
	}
	session_reply_bad(session, tag, "%s", error);
}

/*
 * Instead of the continuation, answer an APPEND at once when it would
 * fail whatever its message (RFC 3501 7.5: a tagged reply instead of
 * "+ "), so a client does not upload a message to a mailbox that is
 * not there. Returns true if it did.
 */
static bool
session_refuse_literal(struct imap_session *session, struct evbuffer *out)
{
	struct imap_parser *parser = session->parser;
	const char *name = imap_parser_name(parser), *code, *text;
	const struct imap_arg *args;
	unsigned int count;

	if ((session->state & IMAP_STATE_LOGGED_IN) == 0 || name == NULL ||
	    strcasecmp(name, "APPEND") != 0)
		return false;
	args = imap_parser_args_before_literal(parser, &count);
	if (!imap_append_refusal(session, args, count, &code, &text))
		return false;
	evbuffer_add_printf(out, "%s NO [%s] %s\r\n",
	    imap_parser_tag(parser), code, text);
	imap_parser_reject_literal(parser);
	return true;
}

/*
 * Give a pending command its next line (bounded by IMAP_LINE_MAX).
 * Returns false if more input is needed.
 */
static bool
session_feed_line(struct imap_session *session, struct evbuffer *in)
{
	struct imap_cmd *cmd = session->cmd;
	struct evbuffer_ptr pos;
	imap_cmd_line_cb *cb;
	size_t len, eol;
	char *line;

	pos = evbuffer_search(in, "\n", 1, NULL);
	if (pos.pos < 0) {
		if (evbuffer_get_length(in) <= IMAP_LINE_MAX)
			return false;
		evbuffer_drain(in, evbuffer_get_length(in));
		session->skip_line = true;
		imap_cmd_tagged(cmd, "BAD", NULL, "Line too long");
		return true;
	}
	len = (size_t)pos.pos;
	eol = len + 1;
	if (len > IMAP_LINE_MAX) {
		evbuffer_drain(in, eol);
		imap_cmd_tagged(cmd, "BAD", NULL, "Line too long");
		return true;
	}
	line = xmalloc(len + 1);
	evbuffer_remove(in, line, len);
	evbuffer_drain(in, 1);
	if (len > 0 && line[len - 1] == '\r')
		len--;
	line[len] = '\0';
	cb = cmd->line_cb;
	cmd->line_cb = NULL;
	cmd->in_handler = true;
	cb(cmd, line, len);
	cmd->in_handler = false;
	explicit_bzero(line, len);	/* may be a password */
	free(line);
	if (cmd->done)
		imap_session_cmd_finished(session);
	return true;
}

/* Drop input up to and including the next LF. */
static bool
session_skip_line(struct imap_session *session, struct evbuffer *in)
{
	struct evbuffer_ptr pos = evbuffer_search(in, "\n", 1, NULL);

	if (pos.pos < 0) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return false;
	}
	evbuffer_drain(in, (size_t)pos.pos + 1);
	session->skip_line = false;
	return true;
}

/* The parser, made on demand with the limits of the session's state. */
static struct imap_parser *
session_parser(struct imap_session *session)
{
	struct imap_parser_limits limits;

	if (session->parser == NULL) {
		imap_parser_limits_default(&limits,
		    session->state == IMAP_STATE_NOT_AUTH);
		session->parser = imap_parser_new(&limits);
	}
	/* Once logged in, large literals go to files (cmd-append.c). */
	if (session->user != NULL)
		imap_append_set_sink(session, session->parser);
	return session->parser;
}

/*
 * Free the parser once nothing needs it: no command half read, no bad
 * command being skipped, and no running command that may still read
 * its arguments (they live in the parser). An IDLE session then holds
 * no parser; the next input makes a new one.
 */
static void
session_release_parser(struct imap_session *session)
{
	const struct imap_cmd *cmd = session->cmd;

	if (session->parser == NULL || !imap_parser_at_rest(session->parser))
		return;
	if (cmd != NULL && (cmd->in_handler ||
	    (!cmd->done && cmd->args_count > 0)))
		return;
	imap_parser_free(&session->parser);
}

void
imap_session_run_local(struct imap_session *session, struct evbuffer *buf)
{
	const struct imap_command *pc = NULL;
	const unsigned char *data;
	const char *error = NULL;
	size_t len, consumed;
	int ret = IMAP_PARSE_MORE;

	len = evbuffer_get_length(buf);
	data = evbuffer_pullup(buf, -1);
	imap_parser_free(&session->parser);
	while (len > 0) {
		ret = imap_parser_feed(session_parser(session), data, len,
		    &consumed, &pc, &error);
		data += consumed;
		len -= consumed;
		if (ret != IMAP_PARSE_NEED_CONTINUATION)
			break;
	}
	if (ret == IMAP_PARSE_DONE)
		session_dispatch(session, pc);
	else if (ret == IMAP_PARSE_ERROR)
		session_parse_error(session, error);
	else
		session_reply_bad(session, imap_parser_tag(session->parser),
		    "Incomplete command");
	if (session->cmd == NULL)
		imap_parser_free(&session->parser);
}

/*
 * Feed what has arrived to the parser, one contiguous chunk at a time
 * (the input is bounded by IMAP_READ_HIGH_WATER and the parser by its
 * limits), running each command, until the input is used up, a command
 * is pending, or too much output waits for the client. May free the
 * session.
 */
void
imap_session_input(struct imap_session *session)
{
	struct evbuffer *in, *out;
	struct evbuffer_iovec vec;
	const struct imap_command *pc;
	const char *error;
	size_t consumed;
	int ret;

	imap_session_wake(session);
	if (session->bev == NULL) {
		if (session->cmd == NULL || session->cmd->done) {
			imap_cmd_free(&session->cmd);
			imap_session_free(session);
		}
		return;
	}
	if (session->cmd != NULL && session->cmd->done &&
	    !session->cmd->in_handler)
		imap_session_cmd_finished(session);
	/* Passed on to the user's node: the proxy reads. */
	if (imap_proxy_relaying(session) && session->cmd == NULL) {
		session_release_parser(session);
		imap_proxy_input(session);
		return;
	}

	in = bufferevent_get_input(session->bev);
	out = bufferevent_get_output(session->bev);
	for (;;) {
		/* After STARTTLS nothing more is read in clear. */
		if (session->closing || session->starttls)
			break;
		if (evbuffer_get_length(out) >= IMAP_OUTPUT_HIGH_WATER) {
			session->output_blocked = true;
			break;
		}
		if (evbuffer_get_length(in) == 0 &&
		    !imap_session_compress_pull(session))
			break;
		if (session->skip_line) {
			if (!session_skip_line(session, in))
				break;
			continue;
		}
		if (session->cmd != NULL) {
			if (session->cmd->line_cb == NULL ||
			    !session_feed_line(session, in))
				break;
			continue;
		}
		if (evbuffer_peek(in, -1, NULL, &vec, 1) < 1)
			break;
		ret = imap_parser_feed(session_parser(session), vec.iov_base,
		    vec.iov_len, &consumed, &pc, &error);
		evbuffer_drain(in, consumed);
		switch (ret) {
		case IMAP_PARSE_DONE:
			session_dispatch(session, pc);
			break;
		case IMAP_PARSE_NEED_CONTINUATION:
			if (!session_refuse_literal(session, out))
				evbuffer_add_printf(out,
				    "+ Ready for literal data\r\n");
			break;
		case IMAP_PARSE_ERROR:
			session_parse_error(session, error);
			break;
		default:
			break;
		}
		/* COMPRESS put a filter on top of the bufferevent. */
		if (session->bev == NULL)
			break;
		in = bufferevent_get_input(session->bev);
		out = bufferevent_get_output(session->bev);
	}

	session_release_parser(session);

	/* A client that sent EOF gets the replies it asked for, then the
	 * connection closes. */
	if (session->eof && !session->output_blocked && !session->closing &&
	    session->cmd == NULL) {
		session->closing = true;
		session->state = IMAP_STATE_LOGOUT;
	}
	imap_session_update_read(session);
	imap_session_close_if_flushed(session);
}
