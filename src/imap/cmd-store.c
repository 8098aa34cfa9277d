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

#include "imap/imap-condstore.h"
#include "imap/imap-view.h"
#include "imap/imap-wire.h"
#include "lib/error.h"
#include "lib/limits.h"
#include "lib/xmalloc.h"
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

static int
uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
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

/* A STORE command read: "set [(UNCHANGEDSINCE n)] item flags". */
struct store_args {
	const char *set;
	enum store_flags_mode mode;
	bool silent;
	uint64_t unchangedsince;	/* UINT64_MAX: unconditional */
	struct store_flags f;
};

/* 0, or -1 after answering BAD. */
static int
store_args_parse(struct imap_cmd *cmd, struct store_args *a)
{
	const struct imap_arg *args = cmd->args;
	unsigned int n = cmd->args_count, first;
	const char *item, *error;

	memset(a, 0, sizeof(*a));
	a->unchangedsince = UINT64_MAX;
	if (n >= 2 && args[1].type == IMAP_ARG_LIST) {
		if (imap_store_modifiers_parse(&args[1], &a->unchangedsince,
		    &error) < 0) {
			imap_cmd_tagged(cmd, "BAD", NULL, "%s", error);
			return -1;
		}
		first = 2;	/* item and flags after the modifiers */
	} else {
		first = 1;
	}
	if (n < first + 2 || args[0].type != IMAP_ARG_ATOM ||
	    !imap_arg_get_atom(&args[0], &a->set) ||
	    args[first].type != IMAP_ARG_ATOM ||
	    !imap_arg_get_atom(&args[first], &item) ||
	    parse_item(item, &a->mode, &a->silent) < 0) {
		imap_cmd_tagged(cmd, "BAD", NULL, "%s needs a sequence set, "
		    "[+|-]FLAGS[.SILENT] and flags", cmd->name);
		return -1;
	}
	first++;
	if (args[first].type == IMAP_ARG_LIST && n != first + 1) {
		imap_cmd_tagged(cmd, "BAD", NULL, "Invalid flag list");
		return -1;
	}
	if (args[first].type == IMAP_ARG_LIST) {
		const struct imap_arg *list = &args[first];

		args = list->list;
		n = list->list_count;
		first = 0;
	}
	for (unsigned int i = first; i < n; i++) {
		if (parse_flag(&args[i], &a->f, &error) < 0) {
			imap_cmd_tagged(cmd, "BAD", NULL, "%s", error);
			return -1;
		}
	}
	return 0;
}

/* The untagged FETCH of each message the STORE changed (or, with
 * UNCHANGEDSINCE, found unchanged): FLAGS unless .SILENT, and once
 * CONDSTORE is on UID and MODSEQ as well (RFC 7162 3.1, 3.1.3). */
static void
store_report(struct imap_cmd *cmd, const struct store_args *a,
    const uint32_t *seqs, size_t count)
{
	struct imap_session *session = cmd->session;
	struct store_view *view = session->view;
	const struct store_view_message *msgs = store_view_messages(view);
	bool condstore = session->condstore;
	struct buf b;

	if (a->silent && !condstore)
		return;
	buf_init(&b, 0);
	for (size_t i = 0; i < count; i++) {
		const struct store_view_message *vm = &msgs[seqs[i] - 1];

		buf_reset(&b);
		(void)buf_printf(&b, "* %u FETCH (", seqs[i]);
		if (cmd->uid || condstore)
			(void)buf_printf(&b, "UID %u", vm->uid);
		if (condstore)
			(void)buf_printf(&b, " MODSEQ (%llu)",
			    (unsigned long long)vm->modseq);
		if (!a->silent) {
			(void)buf_append_str(&b, cmd->uid || condstore ?
			    " FLAGS " : "FLAGS ");
			(void)imap_view_write_flags(&b, view, vm->flags |
			    (vm->recent ? IMAP_FLAG_RECENT : 0), vm->keywords);
		}
		(void)buf_append_str(&b, ")\r\n");
		imap_session_write(session, b.data, b.len);
	}
	buf_free(&b);
}

/* Drop from seqs (count of them) the messages whose UIDs are in
 * modified, writing their numbers (UIDs for UID STORE) as the
 * MODIFIED set into code. */
static void
store_modified(struct imap_cmd *cmd, uint32_t *seqs, size_t *count,
    const uint32_t *modified, size_t nmodified, struct buf *code)
{
	struct store_view *view = cmd->session->view;
	uint32_t *nums = xreallocarray(NULL, nmodified + 1, sizeof(*nums));
	size_t i, j = 0, n = 0;

	for (i = 0; i < nmodified; i++)
		nums[i] = cmd->uid ? modified[i] :
		    store_view_seq(view, modified[i]);
	for (i = 0; i < *count; i++) {
		uint32_t uid = store_view_messages(view)[seqs[i] - 1].uid;

		while (j < nmodified && modified[j] < uid)
			j++;
		if (j < nmodified && modified[j] == uid)
			continue;
		seqs[n++] = seqs[i];
	}
	*count = n;
	qsort(nums, nmodified, sizeof(*nums), uid_cmp);
	(void)buf_append_str(code, "MODIFIED ");
	(void)imap_write_uidset(code, nums, nmodified);
	free(nums);
}

void
cmd_store(struct imap_cmd *cmd)
{
	struct imap_session *session = cmd->session;
	struct store_view *view = session->view;
	struct store_args a;
	const char *error;
	size_t keywords_before, count, nmodified = 0;
	uint32_t *seqs = NULL, *uids = NULL, *modified = NULL;
	struct buf code;

	if (store_args_parse(cmd, &a) < 0)
		return;
	if (imap_view_resolve(view, a.set, cmd->uid, &session->searchres,
	    &seqs, &count, &error) < 0) {
		imap_cmd_tagged(cmd, "BAD", NULL, "%s", error);
		return;
	}
	if (session->read_only) {
		free(seqs);
		imap_cmd_tagged(cmd, "NO", NULL, "Mailbox is read-only");
		return;
	}
	if (a.unchangedsince != UINT64_MAX)
		session->condstore = true;	/* RFC 7162 3.1 */
	uids = imap_view_uids(view, seqs, count);
	keywords_before = store_view_keyword_count(view);
	if (count > 0 && store_view_set_keywords_cond(view, uids, count,
	    a.mode, a.f.flags, a.f.keywords, a.f.count, a.unchangedsince,
	    &modified, &nmodified, &error) < 0) {
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
	buf_init(&code, 0);
	if (nmodified > 0)
		store_modified(cmd, seqs, &count, modified, nmodified, &code);
	store_report(cmd, &a, seqs, count);
	free(seqs);
	free(uids);
	free(modified);
	if (nmodified > 0)
		imap_cmd_tagged(cmd, "OK", buf_cstr(&code), "Conditional "
		    "STORE failed");
	else
		imap_cmd_tagged(cmd, "OK", NULL, "%s completed", cmd->name);
	buf_free(&code);
}
