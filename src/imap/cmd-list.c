/*
 * LIST and LSUB (RFC 3501 6.3.8, 6.3.9) with the CHILDREN (RFC 3348)
 * and SPECIAL-USE (RFC 6154) attributes, which are always returned.
 * The reference is simply prefixed to the pattern; names are matched
 * and sent in their modified UTF-7 form, as the store keeps them.
 */
#include "imap/imap-commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap-match.h"
#include "imap/imap-wire.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "store/store.h"

/* One response line "* LIST (attrs) "." name". */
static void
list_reply(struct imap_cmd *cmd, const char *verb, const char *attrs,
    const char *name)
{
	struct buf b;

	buf_init(&b, FOLDER_NAME_MAX * 2 + 256);
	if (buf_printf(&b, "* %s (%s) \".\" ", verb, attrs) == 0 &&
	    imap_write_astring(&b, name) == 0 &&
	    buf_append(&b, "\r\n", 2) == 0)
		imap_session_write(cmd->session, b.data, b.len);
	buf_free(&b);
}

static void
list_folders(struct imap_cmd *cmd, const char *pattern)
{
	struct imap_session *session = cmd->session;
	struct store_folder_list *list;
	const char *error;
	char attrs[128];

	if (store_folder_list(session->server->deps.store, session->user,
	    &list, &error) < 0) {
		imap_cmd_store_error(cmd, "list", error);
		return;
	}
	for (size_t i = 0; i < list->count; i++) {
		const struct store_folder_info *f = &list->folders[i];
		const char *special = store_special_use_attr(f->special_use);

		if (!imap_match(pattern, f->name, '.'))
			continue;
		snprintf(attrs, sizeof(attrs), "%s%s%s%s",
		    f->noselect ? "\\Noselect " : "",
		    f->has_children ? "\\HasChildren" : "\\HasNoChildren",
		    special != NULL ? " " : "", special != NULL ? special : "");
		list_reply(cmd, "LIST", attrs, f->name);
	}
	store_folder_list_free(&list);
	imap_cmd_tagged(cmd, "OK", NULL, "List completed");
}

/* Names sent by one LSUB, to send each once. */
struct sent_names {
	char **names;
	size_t count;
};

static bool
sent_once(struct sent_names *sent, const char *name)
{
	for (size_t i = 0; i < sent->count; i++)
		if (strcmp(sent->names[i], name) == 0)
			return false;
	sent->names = xreallocarray(sent->names, sent->count + 1,
	    sizeof(*sent->names));
	sent->names[sent->count++] = xstrdup(name);
	return true;
}

/*
 * LSUB: every subscribed name that matches; where only a parent level
 * of a subscribed name matches a "%" pattern, that parent is listed
 * \Noselect (RFC 3501 6.3.9), once.
 */
static void
lsub_folders(struct imap_cmd *cmd, const char *pattern)
{
	struct imap_session *session = cmd->session;
	struct sent_names sent = { NULL, 0 };
	char prefix[FOLDER_NAME_MAX + 1];
	char **names;
	size_t count;
	const char *error;

	if (store_subscriptions(session->server->deps.store, session->user,
	    &names, &count, &error) < 0) {
		imap_cmd_store_error(cmd, "lsub", error);
		return;
	}
	for (size_t i = 0; i < count; i++) {
		const char *name = names[i];
		size_t len = strlen(name);

		if (len > FOLDER_NAME_MAX)
			continue;
		if (imap_match(pattern, name, '.')) {
			if (sent_once(&sent, name))
				list_reply(cmd, "LSUB", "", name);
			continue;
		}
		/* The longest parent level that matches. */
		for (size_t j = len - 1; j > 0; j--) {
			if (name[j] != '.')
				continue;
			memcpy(prefix, name, j);
			prefix[j] = '\0';
			if (!imap_match(pattern, prefix, '.'))
				continue;
			if (sent_once(&sent, prefix))
				list_reply(cmd, "LSUB", "\\Noselect", prefix);
			break;
		}
	}
	for (size_t i = 0; i < sent.count; i++)
		free(sent.names[i]);
	free(sent.names);
	store_names_free(&names, count);
	imap_cmd_tagged(cmd, "OK", NULL, "Lsub completed");
}

void
cmd_list(struct imap_cmd *cmd)
{
	bool lsub = strcmp(cmd->name, "LSUB") == 0;
	const char *ref, *pat;
	char pattern[IMAP_LIST_PATTERN_MAX + 1];
	size_t ref_len, pat_len;

	if ((cmd->args_count != 2 && (lsub || cmd->args_count != 4)) ||
	    !imap_arg_get_astring(&cmd->args[0], &ref) ||
	    !imap_arg_get_astring(&cmd->args[1], &pat) ||
	    (cmd->args_count == 4 &&
	    (!imap_arg_atom_equals(&cmd->args[2], "RETURN") ||
	    cmd->args[3].type != IMAP_ARG_LIST))) {
		imap_cmd_tagged(cmd, "BAD", NULL, "%s needs a reference and a "
		    "mailbox pattern", cmd->name);
		return;
	}
	/* "RETURN (...)" (RFC 5258) is accepted for clients that send it
	 * anyway: CHILDREN and SPECIAL-USE attributes are always given. */
	ref_len = strlen(ref);
	pat_len = strlen(pat);
	if (ref_len + pat_len > IMAP_LIST_PATTERN_MAX) {
		imap_cmd_tagged(cmd, "BAD", NULL, "Pattern too long");
		return;
	}
	if (pat_len == 0) {
		/* The hierarchy delimiter and the reference's root. */
		const char *dot = strchr(ref, '.');
		size_t root = dot != NULL ? (size_t)(dot - ref) + 1 : 0;

		memcpy(pattern, ref, root);
		pattern[root] = '\0';
		if (!lsub)
			list_reply(cmd, "LIST", "\\Noselect", pattern);
		imap_cmd_tagged(cmd, "OK", NULL, "%s completed",
		    lsub ? "Lsub" : "List");
		return;
	}
	memcpy(pattern, ref, ref_len);
	memcpy(pattern + ref_len, pat, pat_len + 1);
	if (lsub)
		lsub_folders(cmd, pattern);
	else
		list_folders(cmd, pattern);
}
