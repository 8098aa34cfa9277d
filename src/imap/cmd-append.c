/*
 * APPEND (RFC 3501 6.3.11) with UIDPLUS's APPENDUID (RFC 4315) and
 * MULTIAPPEND (RFC 3502: several messages, stored all or none, in one
 * round of the store): the whole command has arrived before the store
 * commits anything. A
 * literal up to SPOOL_INLINE_MAX is in the parser's memory; a larger one
 * (up to IMAP_LITERAL_MAX), or any once the command's literals in memory
 * would pass IMAP_LITERAL_INLINE_MAX, was written as it arrived to a
 * spool file in the user's tmp/ (the literal sink below, which closes
 * it once complete), and the store renames it into the folder. Either
 * way the message is fsynced before it appears, and
 * a client that goes away mid-literal leaves nothing behind.
 */
#include "imap/imap-commands.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "imap/imap-date.h"
#include "imap/imap-wire.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "store/store.h"

/* The flags of an APPEND's flag list into m: store_flag bits,
 * $Forwarded as Maildir's P flag, other keywords by name into *kw (each
 * once, at most KEYWORDS_PER_COMMAND_MAX of KEYWORD_NAME_MAX bytes;
 * malloc'd, pointing into list); \Recent may not be set by a client.
 * Returns 0 or -1. */
static int
parse_flags(const struct imap_arg *list, struct store_append_msg *m,
    const char ***kw_r)
{
	static const struct {
		const char *name;
		unsigned flag;
	} names[] = {
		{ "\\Answered", STORE_FLAG_REPLIED },
		{ "\\Flagged", STORE_FLAG_FLAGGED },
		{ "\\Deleted", STORE_FLAG_TRASHED },
		{ "\\Seen", STORE_FLAG_SEEN },
		{ "\\Draft", STORE_FLAG_DRAFT },
		{ "$Forwarded", STORE_FLAG_PASSED },
	};
	const char **kw = xcalloc(list->list_count + 1, sizeof(*kw));
	const char *atom;

	*kw_r = kw;
	m->keywords = kw;
	for (unsigned int i = 0; i < list->list_count; i++) {
		size_t k, j;

		if (!imap_arg_get_atom(&list->list[i], &atom))
			return -1;
		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (strcasecmp(atom, names[k].name) == 0)
				break;
		if (k < sizeof(names) / sizeof(names[0])) {
			m->flags |= names[k].flag;
			continue;
		}
		if (atom[0] == '\\' || strlen(atom) > KEYWORD_NAME_MAX)
			return -1;	/* \Recent or unknown system flag */
		for (j = 0; j < m->keyword_count; j++)
			if (strcasecmp(kw[j], atom) == 0)
				break;
		if (j < m->keyword_count)
			continue;
		if (m->keyword_count == KEYWORDS_PER_COMMAND_MAX)
			return -1;
		kw[m->keyword_count++] = atom;
	}
	return 0;
}

/* ---- the literal sink: large literals into a spool file ---- */

static void *
spool_open_cb(void *ctx, uint64_t size)
{
	struct imap_session *session = ctx;
	struct store_spool *spool;
	const char *error;

	(void)size;
	if (store_spool_new(session->server->deps.store, session->user,
	    STORE_INBOX, "", &spool, &error) < 0)
		log_warnx("imap: %s: cannot spool a literal: %s",
		    session->log_id, error);
	return spool;
}

static void
spool_write_cb(void *handle, const void *data, size_t len)
{
	const char *error;

	/* A failure stays with the spool; APPEND reports it. */
	(void)store_spool_write(handle, data, len, &error);
}

/* The literal is complete: its descriptor is not needed until APPEND
 * takes the file, which goes by name. */
static void
spool_done_cb(void *handle)
{
	store_spool_close(handle);
}

static void
spool_free_cb(void *handle)
{
	struct store_spool *spool = handle;

	store_spool_free(&spool);
}

void
imap_append_set_sink(struct imap_session *session,
    struct imap_parser *parser)
{
	const struct imap_literal_sink sink = {
		.inline_max = SPOOL_INLINE_MAX,
		.inline_total_max = IMAP_LITERAL_INLINE_MAX,
		.open = spool_open_cb,
		.write = spool_write_cb,
		.done = spool_done_cb,
		.free = spool_free_cb,
		.ctx = session,
	};

	imap_parser_set_literal_sink(parser, &sink);
}

/* ---- the command ---- */

/* The messages of one APPEND, parsed before anything is stored. */
struct append_ctx {
	struct store_append_msg *msgs;	/* count of them */
	const char ***keywords;		/* each message's keyword array */
	uint32_t *uids;			/* APPENDUID, count of them */
	size_t count;
};

static void
append_ctx_free(struct append_ctx *ctx)
{
	for (size_t i = 0; i < ctx->count; i++)
		free(ctx->keywords[i]);
	free(ctx->msgs);
	free(ctx->keywords);
	free(ctx->uids);
}

/* Why a message was refused: the tagged status, code and text. */
struct append_refusal {
	const char *status;
	const char *code;
	const char *text;
};

/*
 * One message from args[*i] (RFC 3502 append-message): [flag-list]
 * [date-time] literal, or a literal8 (RFC 3516). Returns 0 with m set
 * and *i past it, or -1 with *why_r.
 */
static int
parse_message(const struct imap_arg *args, unsigned int n, unsigned int *i,
    struct store_append_msg *m, const char ***kw_r,
    struct append_refusal *why_r)
{
	const struct imap_arg *msg;
	const char *date, *error;
	time_t t = 0;
	int zone;

	*why_r = (struct append_refusal){ "BAD", NULL, NULL };
	if (*i < n && args[*i].type == IMAP_ARG_LIST) {
		if (parse_flags(&args[*i], m, kw_r) < 0) {
			why_r->text = "Invalid flags";
			return -1;
		}
		(*i)++;
	}
	/* A quoted string before a literal or another string is a
	 * date-time; otherwise it is a (short) message. */
	if (*i + 1 < n && args[*i].type == IMAP_ARG_STRING &&
	    (args[*i + 1].type == IMAP_ARG_LITERAL ||
	    args[*i + 1].type == IMAP_ARG_STRING)) {
		if (!imap_arg_get_string(&args[*i], &date) ||
		    imap_date_time_parse(date, &t, &zone, &error) < 0) {
			why_r->text = "Invalid date-time";
			return -1;
		}
		(*i)++;
	}
	m->internal_date = (int64_t)t;
	msg = *i < n ? &args[*i] : NULL;
	if (msg == NULL || (msg->type != IMAP_ARG_LITERAL &&
	    msg->type != IMAP_ARG_STRING)) {
		why_r->text = "APPEND needs each message as a literal";
		return -1;
	}
	(*i)++;
	why_r->status = "NO";
	if (msg->len == 0) {
		why_r->text = "Empty message";
		return -1;
	}
	/* RFC 3516 4.4: a mailbox that cannot keep binary content says
	 * so. Messages are kept as sent, and BODY[] could not send a NUL
	 * back in a literal; a literal8 without one is any message. */
	if (msg->literal8 && msg->has_nul) {
		why_r->code = "UNKNOWN-CTE";
		why_r->text = "Binary content cannot be stored; send it "
		    "encoded";
		return -1;
	}
	m->spool = msg->spool;
	m->body = (const unsigned char *)msg->str;
	m->len = msg->len;
	return 0;
}

/* Every message of the command (RFC 3502: one or more). 0, or -1 after
 * the tagged answer. */
static int
parse_messages(struct imap_cmd *cmd, struct append_ctx *ctx)
{
	unsigned int n = cmd->args_count, i = 1;
	struct append_refusal why;

	/* At most one message per argument after the mailbox. */
	ctx->msgs = xcalloc(n, sizeof(*ctx->msgs));
	ctx->keywords = xcalloc(n, sizeof(*ctx->keywords));
	ctx->uids = xcalloc(n, sizeof(*ctx->uids));
	while (i < n) {
		if (parse_message(cmd->args, n, &i, &ctx->msgs[ctx->count],
		    &ctx->keywords[ctx->count], &why) < 0) {
			ctx->count++;	/* its keyword array is freed */
			imap_cmd_tagged(cmd, why.status, why.code, "%s",
			    why.text);
			return -1;
		}
		ctx->count++;
	}
	return 0;
}

/* The tagged OK with APPENDUID and the UIDs in order (RFC 4315: a
 * uid-set for MULTIAPPEND, "first:last" as they are consecutive). */
static void
append_ok(struct imap_cmd *cmd, uint32_t uidvalidity, const uint32_t *uids,
    size_t count)
{
	struct buf code;

	buf_init(&code, 0);
	(void)buf_printf(&code, "APPENDUID %u ", uidvalidity);
	(void)imap_write_uidset(&code, uids, count);
	imap_cmd_tagged(cmd, "OK", buf_cstr(&code), "Append completed");
	buf_free(&code);
}

static void
append_store_error(struct imap_cmd *cmd, const struct append_ctx *ctx,
    const char *error)
{
	bool keywords = false;

	for (size_t i = 0; i < ctx->count; i++)
		keywords |= ctx->msgs[i].keyword_count > 0;
	if (error_code(error) == ERROR_NOT_FOUND)
		imap_cmd_tagged(cmd, "NO", "TRYCREATE", "Mailbox does not "
		    "exist");
	else if (error_code(error) == ERROR_LIMIT && keywords)
		imap_cmd_tagged(cmd, "NO", "LIMIT", "No room for more "
		    "keywords (or UIDs) in this mailbox");
	else
		imap_cmd_store_error(cmd, "append", error);
}

bool
imap_append_refusal(struct imap_session *session,
    const struct imap_arg *args, unsigned int count, const char **code_r,
    const char **text_r)
{
	char name[FOLDER_NAME_MAX + 1];
	const char *wire;

	/* The mailbox itself may be the literal: then nothing is known. */
	if (count < 1 || !imap_arg_get_astring(&args[0], &wire))
		return false;
	if (imap_mailbox_from_wire(wire, name, text_r) < 0) {
		*code_r = "CANNOT";
		return true;
	}
	/* The store makes INBOX on delivery; cmd_append decides. */
	if (strcmp(name, STORE_INBOX) == 0 ||
	    store_folder_exists(session->server->deps.store, session->user,
	    name))
		return false;
	*code_r = "TRYCREATE";
	*text_r = "Mailbox does not exist";
	return true;
}

/*
 * APPEND mailbox message..., each message [flag-list] [date-time]
 * literal (RFC 3502 MULTIAPPEND): every message is checked before
 * anything is stored, then all are stored or none.
 */
void
cmd_append(struct imap_cmd *cmd)
{
	struct imap_session *session = cmd->session;
	struct append_ctx ctx = { 0 };
	char name[FOLDER_NAME_MAX + 1];
	const char *wire, *error;
	uint32_t uidvalidity;

	if (cmd->args_count < 2 ||
	    !imap_arg_get_astring(&cmd->args[0], &wire)) {
		imap_cmd_tagged(cmd, "BAD", NULL, "APPEND needs a mailbox "
		    "name and a message");
		return;
	}
	if (parse_messages(cmd, &ctx) < 0)
		goto out;
	if (imap_mailbox_from_wire(wire, name, &error) < 0) {
		imap_cmd_tagged(cmd, "NO", "CANNOT", "%s", error);
		goto out;
	}
	if (store_append_many(session->server->deps.store, session->user,
	    name, ctx.msgs, ctx.count, &uidvalidity, ctx.uids, &error) < 0) {
		append_store_error(cmd, &ctx, error);
		goto out;
	}
	append_ok(cmd, uidvalidity, ctx.uids, ctx.count);
out:
	append_ctx_free(&ctx);
}
