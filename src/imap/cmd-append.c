/*
 * APPEND (RFC 3501 6.3.11) with UIDPLUS's APPENDUID (RFC 4315): the
 * whole message has arrived (the parser holds the literal, bounded by
 * IMAP_LITERAL_MAX) before the store writes anything, and the store
 * writes it to tmp/ and fsyncs it before it appears, so a client that
 * goes away mid-literal leaves nothing behind.
 */
#include "imap/imap-commands.h"

#include <stdio.h>
#include <strings.h>
#include <time.h>

#include "imap/imap-date.h"
#include "imap/imap-wire.h"
#include "lib/error.h"
#include "store/store.h"

/* The flags of an APPEND's flag list as store_flag bits. $Forwarded is
 * Maildir's P flag; other keywords are accepted and dropped (the store
 * keeps none, and PERMANENTFLAGS has no "\*"); \Recent may not be set
 * by a client. Returns 0 or -1. */
static int
parse_flags(const struct imap_arg *list, unsigned *flags_r)
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
	unsigned flags = 0;

	for (unsigned int i = 0; i < list->list_count; i++) {
		size_t k;

		if (!imap_arg_get_atom(&list->list[i], &atom))
			return -1;
		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (strcasecmp(atom, names[k].name) == 0)
				break;
		if (k < sizeof(names) / sizeof(names[0]))
			flags |= names[k].flag;
		else if (atom[0] == '\\')
			return -1;	/* \Recent or unknown system flag */
	}
	*flags_r = flags;
	return 0;
}

void
cmd_append(struct imap_cmd *cmd)
{
	struct imap_session *session = cmd->session;
	const struct imap_arg *args = cmd->args, *msg;
	char name[FOLDER_NAME_MAX + 1], code[64];
	const char *wire, *date, *error;
	unsigned int n = cmd->args_count, i = 1;
	unsigned flags = 0;
	time_t t = 0;
	int zone;
	uint32_t uidvalidity, uid;

	if (n < 2 || n > 4 || !imap_arg_get_astring(&args[0], &wire)) {
		imap_cmd_tagged(cmd, "BAD", NULL, "APPEND needs a mailbox "
		    "name and a message");
		return;
	}
	if (i < n - 1 && args[i].type == IMAP_ARG_LIST) {
		if (parse_flags(&args[i], &flags) < 0) {
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
	if (imap_mailbox_from_wire(wire, name, &error) < 0) {
		imap_cmd_tagged(cmd, "NO", "CANNOT", "%s", error);
		return;
	}
	if (store_append(session->server->deps.store, session->user, name,
	    (const unsigned char *)msg->str, msg->len, flags, (int64_t)t,
	    &uidvalidity, &uid, &error) < 0) {
		if (error_code(error) == ERROR_NOT_FOUND)
			imap_cmd_tagged(cmd, "NO", "TRYCREATE", "Mailbox does "
			    "not exist");
		else
			imap_cmd_store_error(cmd, "append", error);
		return;
	}
	snprintf(code, sizeof(code), "APPENDUID %u %u", uidvalidity, uid);
	imap_cmd_tagged(cmd, "OK", code, "Append completed");
}
