/*
 * STORE and UID STORE (RFC 3501 6.4.6, 6.4.8): replace, add or remove
 * flags, then report each message's flags in an untagged FETCH (with its
 * UID for UID STORE) unless .SILENT was asked for. $Forwarded is
 * Maildir's P; other keywords are kept as Dovecot keeps them (letters
 * named by the folder's dovecot-keywords), up to KEYWORDS_MAX a folder.
 */
#include "imap/imap-commands.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap-view.h"
#include "imap/imap-wire.h"
#include "lib/error.h"
#include "lib/limits.h"
#include "store/store.h"

/* The system flags a client may store, by name. */
static const struct {
	const char *name;
	unsigned int flag;
} system_flags[] = {
	{ "\\Answered", STORE_FLAG_REPLIED },
	{ "\\Flagged", STORE_FLAG_FLAGGED },
	{ "\\Deleted", STORE_FLAG_TRASHED },
	{ "\\Seen", STORE_FLAG_SEEN },
	{ "\\Draft", STORE_FLAG_DRAFT },
};

/* The flags and keywords a STORE names. */
struct store_flags {
	unsigned int flags;			/* enum store_flag bits */
	const char *keywords[KEYWORDS_PER_COMMAND_MAX + 1];	/* in the
						   command's arguments */
	size_t count;
};

/* A keyword into f, each name once. 0, or -1 with *error_r. */
static int
add_keyword(struct store_flags *f, const char *name, const char **error_r)
{
	if (strlen(name) > KEYWORD_NAME_MAX) {
		*error_r = "Keyword too long";
		return -1;
	}
	for (size_t i = 0; i < f->count; i++) {
		if (strcasecmp(f->keywords[i], name) == 0)
			return 0;
	}
	if (f->count == KEYWORDS_PER_COMMAND_MAX) {
		*error_r = "Too many keywords";
		return -1;
	}
	f->keywords[f->count++] = name;
	return 0;
}

/* One flag atom into f. 0, or -1 with *error_r for "BAD". */
static int
parse_flag(const struct imap_arg *arg, struct store_flags *f,
    const char **error_r)
{
	const char *s;

	/* NIL is an atom too, here the keyword NIL (flag-keyword). */
	if (!imap_arg_get_atom(arg, &s)) {
		*error_r = "Invalid flag";
		return -1;
	}
	/* $Forwarded is Maildir's P flag. */
	if (strcasecmp(s, "$Forwarded") == 0) {
		f->flags |= STORE_FLAG_PASSED;
		return 0;
	}
	if (s[0] != '\\')
		return add_keyword(f, s, error_r);
	for (size_t i = 0; i < sizeof(system_flags) / sizeof(system_flags[0]);
	    i++) {
		if (strcasecmp(s, system_flags[i].name) == 0) {
			f->flags |= system_flags[i].flag;
			return 0;
		}
	}
	*error_r = strcasecmp(s, "\\Recent") == 0 ?
	    "\\Recent cannot be stored" : "Invalid system flag";
	return -1;
}

/* "[+|-]FLAGS[.SILENT]" */
static int
parse_item(const char *item, enum store_flags_mode *mode_r, bool *silent_r)
{
	*mode_r = STORE_FLAGS_REPLACE;
	if (item[0] == '+') {
		*mode_r = STORE_FLAGS_ADD;
		item++;
	} else if (item[0] == '-') {
		*mode_r = STORE_FLAGS_REMOVE;
		item++;
	}
	if (strcasecmp(item, "FLAGS") == 0)
		*silent_r = false;
	else if (strcasecmp(item, "FLAGS.SILENT") == 0)
		*silent_r = true;
	else
		return -1;
	return 0;
}

void
cmd_store(struct imap_cmd *cmd)
{
	struct imap_session *session = cmd->session;
	struct store_view *view = session->view;
	const struct store_view_message *msgs;
	enum store_flags_mode mode;
	const char *set, *item, *error;
	struct store_flags f = { 0 };
	size_t keywords_before;
	uint32_t *seqs = NULL, *uids = NULL;
	size_t count;
	bool silent;
	struct buf b;

	if (cmd->args_count < 3 || cmd->args[0].type != IMAP_ARG_ATOM ||
	    !imap_arg_get_atom(&cmd->args[0], &set) ||
	    cmd->args[1].type != IMAP_ARG_ATOM ||
	    !imap_arg_get_atom(&cmd->args[1], &item) ||
	    parse_item(item, &mode, &silent) < 0) {
		imap_cmd_tagged(cmd, "BAD", NULL, "%s needs a sequence set, "
		    "[+|-]FLAGS[.SILENT] and flags", cmd->name);
		return;
	}
	if (cmd->args[2].type == IMAP_ARG_LIST) {
		if (cmd->args_count != 3) {
			imap_cmd_tagged(cmd, "BAD", NULL, "Invalid flag list");
			return;
		}
		for (unsigned int i = 0; i < cmd->args[2].list_count; i++) {
			if (parse_flag(&cmd->args[2].list[i], &f,
			    &error) < 0) {
				imap_cmd_tagged(cmd, "BAD", NULL, "%s", error);
				return;
			}
		}
	} else {
		for (unsigned int i = 2; i < cmd->args_count; i++) {
			if (parse_flag(&cmd->args[i], &f, &error) < 0) {
				imap_cmd_tagged(cmd, "BAD", NULL, "%s", error);
				return;
			}
		}
	}
	if (imap_view_resolve(view, set, cmd->uid, &session->searchres,
	    &seqs, &count, &error) < 0) {
		imap_cmd_tagged(cmd, "BAD", NULL, "%s", error);
		return;
	}
	if (session->read_only) {
		free(seqs);
		imap_cmd_tagged(cmd, "NO", NULL, "Mailbox is read-only");
		return;
	}
	uids = imap_view_uids(view, seqs, count);
	keywords_before = store_view_keyword_count(view);
	if (count > 0 && store_view_set_keywords(view, uids, count, mode,
	    f.flags, f.keywords, f.count, &error) < 0) {
		free(seqs);
		free(uids);
		if (error_code(error) == ERROR_LIMIT)
			imap_cmd_tagged(cmd, "NO", "LIMIT", "No room for more "
			    "keywords in this mailbox");
		else
			imap_cmd_store_error(cmd, "store flags", error);
		return;
	}
	/* New keywords: the client learns the folder's flags anew
	 * (RFC 3501 7.2.6) before it sees them on messages. */
	if (store_view_keyword_count(view) != keywords_before)
		imap_session_announce_flags(session);

	if (!silent) {
		msgs = store_view_messages(view);
		buf_init(&b, 0);
		for (size_t i = 0; i < count; i++) {
			const struct store_view_message *vm =
			    &msgs[seqs[i] - 1];

			buf_reset(&b);
			(void)buf_printf(&b, "* %u FETCH (", seqs[i]);
			if (cmd->uid)
				(void)buf_printf(&b, "UID %u ", vm->uid);
			(void)buf_append_str(&b, "FLAGS ");
			(void)imap_view_write_flags(&b, view, vm->flags |
			    (vm->recent ? IMAP_FLAG_RECENT : 0), vm->keywords);
			(void)buf_append_str(&b, ")\r\n");
			imap_session_write(session, b.data, b.len);
		}
		buf_free(&b);
	}
	free(seqs);
	free(uids);
	imap_cmd_tagged(cmd, "OK", NULL, "%s completed", cmd->name);
}
