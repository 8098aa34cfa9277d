/*
 * What each LMTP command does (RFC 2033, RFC 5321 4.1.1), dispatched
 * through one table that also says in which states a command may come,
 * and the delivery of a received message through the store's queue with
 * one reply per recipient.
 */
#include "lmtp/lmtp-session.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "directory/directory.h"
#include "lib/clock.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/route.h"
#include "lib/stats.h"
#include "lib/xmalloc.h"
#include "lmtp/lmtp-relay.h"
#include "store/store.h"

typedef void lmtp_command_func_t(struct lmtp_session *session,
    const struct lmtp_command *cmd);

/* States a command may be given in, as bits. */
#define ST(s) (1u << (s))
#define ST_ANY (ST(LMTP_SESSION_GREETED) | ST(LMTP_SESSION_READY) | \
    ST(LMTP_SESSION_MAIL) | ST(LMTP_SESSION_RCPT))

static const char *
hostname(const struct lmtp_session *session)
{
	return session->server->deps.cfg->hostname;
}

/* A bad command: count it, and give up on a client that keeps at it. */
static void
count_error(struct lmtp_session *session)
{
	mb_stats.lmtp_protocol_errors_total++;
	if (++session->errors < LMTP_ERRORS_MAX)
		return;
	log_info("lmtp: %s: too many errors, closing", session->log_id);
	lmtp_session_reply(session,
	    "421 4.7.0 %s Too many errors, closing connection",
	    hostname(session));
	lmtp_session_close(session);
}

/* ---- the commands ---- */

static void
cmd_lhlo(struct lmtp_session *session, const struct lmtp_command *cmd)
{
	(void)cmd;
	session->state = LMTP_SESSION_READY;
	lmtp_session_reset_transaction(session);
	/* RFC 2034 3: no enhanced status codes in the LHLO reply. */
	lmtp_session_reply(session, "250-%s", hostname(session));
	lmtp_session_reply(session, "250-PIPELINING");
	lmtp_session_reply(session, "250-ENHANCEDSTATUSCODES");
	lmtp_session_reply(session, "250-8BITMIME");
	if (session->server->deps.tls != NULL && !session->tls)
		lmtp_session_reply(session, "250-STARTTLS");
	lmtp_session_reply(session, "250 SIZE %" PRIu64,
	    session->server->deps.cfg->lmtp_max_message_size);
}

static void
cmd_helo(struct lmtp_session *session, const struct lmtp_command *cmd)
{
	lmtp_session_reply(session,
	    "500 5.5.1 This is an LMTP server: use LHLO, not %s",
	    cmd->verb == LMTP_VERB_HELO ? "HELO" : "EHLO");
	count_error(session);
}

static void
cmd_mail(struct lmtp_session *session, const struct lmtp_command *cmd)
{
	if (cmd->has_size &&
	    cmd->size > session->server->deps.cfg->lmtp_max_message_size) {
		mb_stats.lmtp_oversized_total++;
		lmtp_session_reply(session, "552 5.3.4 Message size exceeds "
		    "fixed maximum message size (%" PRIu64 " bytes)",
		    session->server->deps.cfg->lmtp_max_message_size);
		return;
	}
	session->sender = xstrdup(cmd->path_raw);
	session->mail_has_size = cmd->has_size;
	session->mail_size = cmd->size;
	session->mail_body = cmd->body;
	session->state = LMTP_SESSION_MAIL;
	lmtp_session_reply(session, "250 2.1.0 Sender <%s> OK",
	    session->sender);
}

/*
 * With a cluster: whether user lives here. A recipient on another node
 * is relayed there (its RCPT answered by lmtp-relay.c), one whose node
 * is not known now gets 451; both return false.
 */
static bool
rcpt_is_here(struct lmtp_session *session, const struct lmtp_command *cmd,
    const char *user)
{
	struct route_peer peer;

	switch (directory_locate(session->server->deps.dir, user, &peer)) {
	case ROUTE_HERE:
		return true;
	case ROUTE_THERE:
		lmtp_relay_rcpt(session, &peer, user, cmd->path_raw);
		return false;
	case ROUTE_UNAVAILABLE:
		break;
	}
	mb_stats.lmtp_relayed_unavailable_total++;
	log_info("lmtp: %s user=%s: where the user lives is not known now, "
	    "451", session->log_id, user);
	lmtp_session_reply(session, "451 4.4.3 <%s> The mailbox's location "
	    "is not known now, try again later", cmd->path_raw);
	return false;
}

static void
cmd_rcpt(struct lmtp_session *session, const struct lmtp_command *cmd)
{
	struct lmtp_server *server = session->server;
	struct lmtp_recipient *rcpt;
	char user[USER_NAME_MAX + 1];

	if (cmd->null_path) {
		lmtp_session_reply(session,
		    "501 5.1.3 Null recipient not allowed");
		count_error(session);
		return;
	}
	if (session->rcpt_count >= LMTP_RECIPIENTS_MAX) {
		/* RFC 5321 4.5.3.1.10: the client sends the rest later. */
		lmtp_session_reply(session, "452 4.5.3 Too many recipients");
		return;
	}
	if (directory_resolve(server->deps.dir, server->deps.cfg, cmd->path,
	    user) < 0) {
		mb_stats.lmtp_unknown_recipients_total++;
		lmtp_session_reply(session, "550 5.1.1 <%s> User unknown",
		    cmd->path_raw);
		return;
	}
	if (!rcpt_is_here(session, cmd, user))
		return;
	rcpt = lmtp_session_add_recipient(session, user, cmd->path_raw, NULL);
	lmtp_session_reply(session, "250 2.1.5 <%s> OK", rcpt->address);
}

static void
cmd_data(struct lmtp_session *session, const struct lmtp_command *cmd)
{
	const struct mb_config *cfg = session->server->deps.cfg;

	(void)cmd;
	if (session->data == NULL)
		session->data = lmtp_data_new(
		    cfg->lmtp_max_message_size > SIZE_MAX - 1 ? SIZE_MAX - 1 :
		    (size_t)cfg->lmtp_max_message_size, LMTP_DATA_LINE_MAX);
	lmtp_data_reset(session->data);
	session->relay_offset = 0;
	session->state = LMTP_SESSION_DATA;
	lmtp_relay_data_begin(session);
	lmtp_session_reply(session,
	    "354 Start mail input; end with <CRLF>.<CRLF>");
}

static void
cmd_rset(struct lmtp_session *session, const struct lmtp_command *cmd)
{
	(void)cmd;
	lmtp_session_reset_transaction(session);
	lmtp_session_reply(session, "250 2.0.0 OK");
}

static void
cmd_noop(struct lmtp_session *session, const struct lmtp_command *cmd)
{
	(void)cmd;
	lmtp_session_reply(session, "250 2.0.0 OK");
}

static void
cmd_quit(struct lmtp_session *session, const struct lmtp_command *cmd)
{
	(void)cmd;
	lmtp_session_reply(session, "221 2.0.0 %s closing connection",
	    hostname(session));
	lmtp_session_close(session);
}

static void
cmd_vrfy(struct lmtp_session *session, const struct lmtp_command *cmd)
{
	(void)cmd;
	/* RFC 5321 3.5.3: 252 when we will not say who exists. */
	lmtp_session_reply(session, "252 2.0.0 Cannot VRFY user, but will "
	    "accept message and attempt delivery");
}

static void
cmd_help(struct lmtp_session *session, const struct lmtp_command *cmd)
{
	(void)cmd;
	lmtp_session_reply(session, "214 2.0.0 mailbell LMTP: LHLO MAIL RCPT "
	    "DATA RSET NOOP QUIT VRFY HELP STARTTLS");
}

/* RFC 3207: the 220 in clear, then the handshake; the client starts
 * again with LHLO. Not inside a transaction (RFC 3207 section 4). */
static void
cmd_starttls(struct lmtp_session *session, const struct lmtp_command *cmd)
{
	(void)cmd;
	if (session->tls) {
		lmtp_session_reply(session, "503 5.5.1 TLS already active");
		count_error(session);
		return;
	}
	if (session->server->deps.tls == NULL) {
		lmtp_session_reply(session, "454 4.7.0 TLS not available");
		return;
	}
	lmtp_session_reply(session, "220 2.0.0 Ready to start TLS");
	lmtp_session_starttls(session);
}

static const struct lmtp_command_entry {
	enum lmtp_verb verb;
	unsigned states;		/* ST() bits where it is allowed */
	lmtp_command_func_t *func;
} lmtp_commands[] = {
	{ LMTP_VERB_LHLO, ST_ANY, cmd_lhlo },
	{ LMTP_VERB_HELO, ST_ANY, cmd_helo },
	{ LMTP_VERB_EHLO, ST_ANY, cmd_helo },
	{ LMTP_VERB_MAIL, ST(LMTP_SESSION_READY), cmd_mail },
	{ LMTP_VERB_RCPT, ST(LMTP_SESSION_MAIL) | ST(LMTP_SESSION_RCPT),
	    cmd_rcpt },
	{ LMTP_VERB_DATA, ST(LMTP_SESSION_RCPT), cmd_data },
	{ LMTP_VERB_RSET, ST_ANY, cmd_rset },
	{ LMTP_VERB_NOOP, ST_ANY, cmd_noop },
	{ LMTP_VERB_QUIT, ST_ANY, cmd_quit },
	{ LMTP_VERB_VRFY, ST_ANY, cmd_vrfy },
	{ LMTP_VERB_HELP, ST_ANY, cmd_help },
	{ LMTP_VERB_STARTTLS, ST(LMTP_SESSION_READY), cmd_starttls },
};

/* 503: why this command cannot come now. */
static const char *
sequence_error(const struct lmtp_session *session, enum lmtp_verb verb)
{
	if (session->state == LMTP_SESSION_GREETED)
		return "Send LHLO first";
	switch (verb) {
	case LMTP_VERB_MAIL:
		return "Sender already specified";
	case LMTP_VERB_RCPT:
		return "Need MAIL command first";
	case LMTP_VERB_DATA:
		return session->state == LMTP_SESSION_MAIL ?
		    "No valid recipients" : "Need MAIL command first";
	default:
		return "Bad sequence of commands";
	}
}

void
lmtp_commands_run(struct lmtp_session *session,
    const struct lmtp_command *cmd)
{
	const struct lmtp_command_entry *entry = NULL;

	if (session->server->service.shutting_down) {
		lmtp_commands_shutdown(session);
		return;
	}
	for (size_t i = 0; i < sizeof(lmtp_commands) /
	    sizeof(lmtp_commands[0]); i++)
		if (lmtp_commands[i].verb == cmd->verb)
			entry = &lmtp_commands[i];
	if (entry == NULL) {
		/* The parser only returns verbs of the table. */
		lmtp_session_reply(session,
		    "500 5.5.2 Syntax error, command unrecognized");
		count_error(session);
		return;
	}
	if ((entry->states & ST(session->state)) == 0) {
		lmtp_session_reply(session, "503 5.5.1 %s",
		    sequence_error(session, cmd->verb));
		count_error(session);
		return;
	}
	entry->func(session, cmd);
}

void
lmtp_commands_refuse(struct lmtp_session *session,
    const struct lmtp_command *cmd)
{
	switch (cmd->error) {
	case LMTP_PARSE_ERROR_CROSS_PROTOCOL:
		log_info("lmtp: %s: %s, closing", session->log_id,
		    cmd->error_text);
		mb_stats.lmtp_protocol_errors_total++;
		lmtp_session_reply(session, "421 4.7.0 %s %s, closing "
		    "connection", hostname(session), cmd->error_text);
		lmtp_session_close(session);
		return;
	case LMTP_PARSE_ERROR_SYNTAX:
		lmtp_session_reply(session, "501 5.5.4 %s", cmd->error_text);
		break;
	case LMTP_PARSE_ERROR_PARAM_UNKNOWN:
		lmtp_session_reply(session, "555 5.5.4 %s", cmd->error_text);
		break;
	case LMTP_PARSE_ERROR_LINE_TOO_LONG:
		lmtp_session_reply(session,
		    "500 5.5.2 Line too long (at most %d bytes)",
		    LMTP_LINE_MAX);
		break;
	case LMTP_PARSE_OK:
	case LMTP_PARSE_ERROR_NUL:
	case LMTP_PARSE_ERROR_BARE_CR:
	case LMTP_PARSE_ERROR_UNKNOWN:
		lmtp_session_reply(session, "500 5.5.2 %s",
		    cmd->error_text != NULL ? cmd->error_text : "Syntax error");
		break;
	}
	count_error(session);
}

void
lmtp_commands_shutdown(struct lmtp_session *session)
{
	lmtp_session_reply(session,
	    "421 4.3.2 %s Service shutting down, closing connection",
	    hostname(session));
	lmtp_session_close(session);
}

/* ---- after DATA ---- */

/* Whether recipient i is to be written here: not relayed, and not
 * answered already (recheck_here). */
static bool
is_local(const struct lmtp_session *session, size_t i)
{
	return session->rcpts[i].relay == NULL &&
	    session->rcpts[i].reply == NULL;
}

/* The first recipient delivered here, or -1. */
static ssize_t
first_local(const struct lmtp_session *session)
{
	for (size_t i = 0; i < session->rcpt_count; i++)
		if (is_local(session, i))
			return (ssize_t)i;
	return -1;
}

/*
 * With a cluster, ask again at the end of DATA whether each recipient
 * here still lives here: one who began moving to another node since
 * RCPT gets 451, and the sending MTA retries at the new owner, so no
 * message is written to a Maildir that was just copied away.
 */
static void
recheck_here(struct lmtp_session *session)
{
	struct route_peer peer;

	for (size_t i = 0; i < session->rcpt_count; i++) {
		struct lmtp_recipient *rcpt = &session->rcpts[i];

		if (!is_local(session, i) ||
		    directory_locate(session->server->deps.dir, rcpt->user,
		    &peer) == ROUTE_HERE)
			continue;
		log_info("lmtp: %s user=%s: moving to another node, 451",
		    session->log_id, rcpt->user);
		rcpt->reply = xasprintf("451 4.2.1 <%s> The mailbox is "
		    "moving, try again later", rcpt->address);
	}
}

/*
 * Every reply is known: give them in RCPT order (RFC 2033 4.2), the
 * relayed ones as their owners said, and end the transaction. With
 * resume, input goes on (the session may be freed on return); without,
 * the caller is the input loop itself.
 */
static void
transaction_finish(struct lmtp_session *session, bool resume)
{
	for (size_t i = 0; i < session->rcpt_count; i++) {
		struct lmtp_recipient *rcpt = &session->rcpts[i];

		if (rcpt->reply == NULL)	/* not reached; never a 250 */
			rcpt->reply = xasprintf("451 4.3.0 <%s> Delivery "
			    "failed, try again later", rcpt->address);
		if (rcpt->relay != NULL && rcpt->reply[0] == '2')
			mb_stats.lmtp_relayed_delivered_total++;
		else if (rcpt->relay != NULL)
			mb_stats.lmtp_relayed_failed_total++;
		lmtp_session_reply(session, "%s", rcpt->reply);
	}
	mb_stats.lmtp_transactions_total++;
	stats_observe(&mb_stats.lmtp_delivery_seconds,
	    (double)(clock_now_us() - session->data_end_us) / 1e6);
	lmtp_session_reset_transaction(session);
	if (resume)
		lmtp_session_resume(session);
}

void
lmtp_commands_relay_done(struct lmtp_session *session)
{
	if (--session->waiting == 0)
		transaction_finish(session, true);
}

/* Called from store_queue_reap() once every target was written: the
 * replies of the recipients here (targets in their RCPT order). */
static void
delivered_cb(struct store_job *job, void *ctx)
{
	struct lmtp_session *session = ctx;
	struct lmtp_server *server = session->server;
	uint32_t uidvalidity, uid;
	const char *error;
	size_t target = 0;

	for (size_t i = 0; i < session->rcpt_count; i++) {
		struct lmtp_recipient *rcpt = &session->rcpts[i];

		if (!is_local(session, i))
			continue;
		if (store_job_result(job, target++, &uidvalidity, &uid,
		    &error) < 0) {
			log_warnx("lmtp: %s user=%s: delivery failed: %s",
			    session->log_id, rcpt->user, error);
			mb_stats.lmtp_delivery_failures_total++;
			rcpt->reply = xasprintf("452 4.3.1 <%s> Delivery "
			    "failed, try again later", rcpt->address);
			continue;
		}
		mb_stats.lmtp_deliveries_total++;
		log_info("lmtp: %s user=%s: delivered uid=%" PRIu32,
		    session->log_id, rcpt->user, uid);
		/* The server is gone only if it was freed mid-delivery. */
		if (server != NULL)
			store_announce(server->deps.store, rcpt->user,
			    STORE_INBOX, uidvalidity, uid);
		rcpt->reply = xasprintf("250 2.0.0 %" PRIu32
		    " delivered to <%s>", uid, rcpt->address);
	}
	store_job_free(&job);
	if (server != NULL)
		server->deliveries--;
	session->local_pending = false;
	lmtp_commands_relay_done(session);
}

/* Refuse the message for every recipient (RFC 2033 4.2). */
static void
refuse_message(struct lmtp_session *session, const char *fmt,
    const char *text)
{
	for (size_t i = 0; i < session->rcpt_count; i++)
		lmtp_session_reply(session, fmt, session->rcpts[i].address,
		    text);
}

/* The header lines that only recipient i's copy has (malloc'd). */
static char *
recipient_prefix(const struct lmtp_session *session, size_t i)
{
	return xasprintf("Return-Path: <%s>\r\nDelivered-To: %s\r\n",
	    session->sender, session->rcpts[i].address);
}

void
lmtp_commands_data_abort(struct lmtp_session *session)
{
	store_spool_free(&session->spool);
	session->spool_failed = false;
}

/* Forget the held bytes (spooled or relayed). */
static void
data_drop(struct lmtp_session *session)
{
	lmtp_data_drop(session->data);
	session->relay_offset = 0;
}

/* Hand the decoded bytes not yet relayed to the owner nodes; when one
 * has too much queued, input waits for it. */
static void
relay_held(struct lmtp_session *session)
{
	const unsigned char *held;
	size_t len;

	if (session->relays == NULL)
		return;
	held = lmtp_data_held(session->data, &len);
	if (len > session->relay_offset && lmtp_relay_data_feed(session,
	    held + session->relay_offset, len - session->relay_offset))
		session->relay_blocked = true;
	session->relay_offset = len;
}

/* Move the held bytes to the spool file (made at the first call, in the
 * first local recipient's tmp/). On failure the message is read on but
 * not kept, and refused with 452. */
static void
spool_held(struct lmtp_session *session)
{
	const unsigned char *held;
	const char *error;
	ssize_t first = first_local(session);
	size_t len;
	char *prefix;
	int ret = 0;

	held = lmtp_data_held(session->data, &len);
	if (len > 0 && !session->spool_failed && first >= 0) {
		if (session->spool == NULL) {
			prefix = recipient_prefix(session, (size_t)first);
			ret = store_spool_new(session->server->deps.store,
			    session->rcpts[first].user, STORE_INBOX, prefix,
			    &session->spool, &error);
			free(prefix);
		}
		if (ret == 0)
			ret = store_spool_write(session->spool, held, len,
			    &error);
		if (ret < 0) {
			log_warnx("lmtp: %s: cannot spool the message: %s",
			    session->log_id, error);
			store_spool_free(&session->spool);
			session->spool_failed = true;
		}
	}
	data_drop(session);
}

void
lmtp_commands_data_input(struct lmtp_session *session)
{
	size_t len;

	/* A message already refused needs no spool. */
	if (lmtp_data_error(session->data) != LMTP_DATA_OK) {
		data_drop(session);
		store_spool_free(&session->spool);
		return;
	}
	relay_held(session);
	(void)lmtp_data_held(session->data, &len);
	/* With every recipient elsewhere nothing stays here. */
	if (len >= SPOOL_INLINE_MAX || (len > 0 && first_local(session) < 0))
		spool_held(session);
}

/* Queue the delivery to the recipients here, if any; true if queued. */
static bool
queue_local(struct lmtp_session *session)
{
	struct lmtp_server *server = session->server;
	struct store_job *job;
	unsigned char *body;
	size_t len;

	if (first_local(session) < 0)
		return false;
	if (session->spool != NULL) {
		job = store_job_new_spool(session->spool);
		session->spool = NULL;
	} else {
		body = lmtp_data_steal(session->data, &len);
		job = store_job_new(body, len);
	}
	/* Only these header lines differ between the copies. */
	for (size_t i = 0; i < session->rcpt_count; i++) {
		char *prefix;

		if (!is_local(session, i))
			continue;
		prefix = recipient_prefix(session, i);
		store_job_add_target(job, session->rcpts[i].user, STORE_INBOX,
		    prefix);
		free(prefix);
	}
	server->deliveries++;
	session->local_pending = true;
	store_queue_job(server->deps.queue, job, delivered_cb, session);
	return true;
}

/* Why the message cannot be taken, as a reply format and text; NULL if
 * it can. */
static const char *
data_refusal(struct lmtp_session *session, const char **text_r)
{
	switch (lmtp_data_error(session->data)) {
	case LMTP_DATA_OK:
		break;
	case LMTP_DATA_ERROR_TOO_BIG:
		mb_stats.lmtp_oversized_total++;
		*text_r = "Message too big for system";
		return "552 5.3.4 <%s> %s";
	case LMTP_DATA_ERROR_LINE_TOO_LONG:
		*text_r = "Message has a line too long";
		return "554 5.6.0 <%s> %s";
	case LMTP_DATA_ERROR_NUL:
		*text_r = "Message contains NUL bytes";
		return "554 5.6.0 <%s> %s";
	case LMTP_DATA_ERROR_BARE_LF:
		/* See lmtp-parser.c: never guess where such a message ends. */
		*text_r = "Message contains bare LF; lines must end with CRLF";
		return "550 5.6.0 <%s> %s";
	}
	if (session->spool_failed) {
		/* The disk is full or failing: the client retries later. */
		mb_stats.lmtp_delivery_failures_total++;
		*text_r = "Insufficient system storage, try again later";
		return "452 4.3.1 <%s> %s";
	}
	return NULL;
}

void
lmtp_commands_data_end(struct lmtp_session *session)
{
	const char *fmt, *text;

	session->data_end_us = clock_now_us();
	mb_stats.lmtp_bytes_received_total += lmtp_data_size(session->data);
	if (lmtp_data_error(session->data) == LMTP_DATA_OK)
		relay_held(session);
	if (session->spool != NULL || session->spool_failed)
		spool_held(session);
	/* A refused message never gets its dot toward an owner: closing
	 * the connection mid-DATA makes it drop what it got. */
	if ((fmt = data_refusal(session, &text)) != NULL) {
		refuse_message(session, fmt, text);
		lmtp_session_reset_transaction(session);
		return;
	}
	if (session->server->service.shutting_down) {
		/* Nothing was queued yet: the client retries later. */
		refuse_message(session, "421 4.3.2 <%s> %s",
		    "Service shutting down, try again later");
		lmtp_session_reset_transaction(session);
		lmtp_commands_shutdown(session);
		return;
	}
	session->waiting = lmtp_relay_data_end(session);
	recheck_here(session);
	if (queue_local(session))
		session->waiting++;
	if (session->waiting == 0) {
		/* Every owner failed or refused already: answer now. */
		transaction_finish(session, false);
		return;
	}
	lmtp_session_pause(session);
}
