/*
 * APPEND (RFC 3501 6.3.11) with UIDPLUS's APPENDUID (RFC 4315): the
 * whole message has arrived before the store commits anything. A
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
#include <strings.h>
#include <time.h>

#include "imap/imap-date.h"
#include "imap/imap-wire.h"
#include "lib/error.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "store/store.h"

/* The flags and keywords of an APPEND's flag list. */
struct append_flags {
	unsigned flags;				/* store_flag bits */
	const char *keywords[KEYWORDS_PER_COMMAND_MAX];	/* in the
						   command's arguments */
	size_t count;
};

/* The flags of an APPEND's flag list: store_flag bits, $Forwarded as
 * Maildir's P flag, other keywords by name (each once, at most
 * KEYWORDS_PER_COMMAND_MAX of KEYWORD_NAME_MAX bytes); \Recent may
 * not be set by a client. Returns 0 or -1. */
static int
parse_flags(const struct imap_arg *list, struct append_flags *f)
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
	const char *atom;

	for (unsigned int i = 0; i < list->list_count; i++) {
		size_t k, j;

		if (!imap_arg_get_atom(&list->list[i], &atom))
			return -1;
		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (strcasecmp(atom, names[k].name) == 0)
				break;
		if (k < sizeof(names) / sizeof(names[0])) {
			f->flags |= names[k].flag;
			continue;
		}
		if (atom[0] == '\\' || strlen(atom) > KEYWORD_NAME_MAX)
			return -1;	/* \Recent or unknown system flag */
		for (j = 0; j < f->count; j++)
			if (strcasecmp(f->keywords[j], atom) == 0)
				break;
		if (j < f->count)
			continue;
		if (f->count == KEYWORDS_PER_COMMAND_MAX)
			return -1;
		f->keywords[f->count++] = atom;
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
		    session->peer, error);
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

void
cmd_append(struct imap_cmd *cmd)
{
	struct imap_session *session = cmd->session;
	const struct imap_arg *args = cmd->args, *msg;
	char name[FOLDER_NAME_MAX + 1], code[64];
	const char *wire, *date, *error;
	unsigned int n = cmd->args_count, i = 1;
	struct append_flags f = { 0 };
	time_t t = 0;
	int zone;
	uint32_t uidvalidity, uid;

	if (n < 2 || n > 4 || !imap_arg_get_astring(&args[0], &wire)) {
		imap_cmd_tagged(cmd, "BAD", NULL, "APPEND needs a mailbox "
		    "name and a message");
		return;
	}
	if (i < n - 1 && args[i].type == IMAP_ARG_LIST) {
		if (parse_flags(&args[i], &f) < 0) {
			imap_cmd_tagged(cmd, "BAD", NULL, "Invalid flags");
			return;
		}
		i++;
	}
	if (i < n - 1) {
		if (args[i].type != IMAP_ARG_STRING ||
		    !imap_arg_get_string(&args[i], &date) ||
		    imap_date_time_parse(date, &t, &zone, &error) < 0) {
			imap_cmd_tagged(cmd, "BAD", NULL, "Invalid date-time");
			return;
		}
		i++;
	}
	msg = &args[i];
	if (i != n - 1 || (msg->type != IMAP_ARG_LITERAL &&
	    msg->type != IMAP_ARG_STRING)) {
		imap_cmd_tagged(cmd, "BAD", NULL, "APPEND needs the message "
		    "as a literal");
		return;
	}
	if (msg->len == 0) {
		imap_cmd_tagged(cmd, "NO", NULL, "Empty message");
		return;
	}
	/* RFC 3516 4.4: a mailbox that cannot keep binary content says
	 * so. Messages are kept as sent, and BODY[] could not send a NUL
	 * back in a literal; a literal8 without one is any message. */
	if (msg->literal8 && msg->has_nul) {
		imap_cmd_tagged(cmd, "NO", "UNKNOWN-CTE", "Binary content "
		    "cannot be stored; send it encoded");
		return;
	}
	if (imap_mailbox_from_wire(wire, name, &error) < 0) {
		imap_cmd_tagged(cmd, "NO", "CANNOT", "%s", error);
		return;
	}
	if ((msg->spool != NULL ?
	    store_append_spool(session->server->deps.store, session->user,
	    name, msg->spool, f.flags, f.keywords, f.count, (int64_t)t,
	    &uidvalidity, &uid, &error) :
	    store_append(session->server->deps.store, session->user, name,
	    (const unsigned char *)msg->str, msg->len, f.flags, f.keywords,
	    f.count, (int64_t)t, &uidvalidity, &uid, &error)) < 0) {
		if (error_code(error) == ERROR_NOT_FOUND)
			imap_cmd_tagged(cmd, "NO", "TRYCREATE", "Mailbox does "
			    "not exist");
		else if (error_code(error) == ERROR_LIMIT && f.count > 0)
			imap_cmd_tagged(cmd, "NO", "LIMIT", "No room for more "
			    "keywords (or UIDs) in this mailbox");
		else
			imap_cmd_store_error(cmd, "append", error);
		return;
	}
	snprintf(code, sizeof(code), "APPENDUID %u %u", uidvalidity, uid);
	imap_cmd_tagged(cmd, "OK", code, "Append completed");
}
