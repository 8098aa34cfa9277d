/*
 * LIST and LSUB (RFC 3501 6.3.8, 6.3.9) with the CHILDREN (RFC 3348)
 * and SPECIAL-USE (RFC 6154) attributes, which a plain LIST always
 * returns, and the extended LIST of RFC 5258: selection options,
 * several patterns, return options, \NonExistent, \Subscribed and
 * CHILDINFO, and its STATUS return option (RFC 5819). The reference
 * is simply prefixed to each pattern; names are matched and sent in
 * their modified UTF-7 form, as the store keeps them.
 */
#include "imap/imap-commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap-list-args.h"
#include "imap/imap-match.h"
#include "imap/imap-status.h"
#include "imap/imap-wire.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "store/store.h"

/* One response line "* LIST (attrs) "." name", with the extended data
 * items ext if not NULL (RFC 5258 mbox-list-extended). */
static void
list_reply(struct imap_cmd *cmd, const char *verb, const char *attrs,
    const char *name, const char *ext)
{
	struct buf b;

	buf_init(&b, FOLDER_NAME_MAX * 2 + 256);
	if (buf_printf(&b, "* %s (%s) \".\" ", verb, attrs) == 0 &&
	    imap_write_astring(&b, name) == 0 &&
	    (ext == NULL || buf_printf(&b, " %s", ext) == 0) &&
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
	char attrs[160];

	if (store_folder_list(session->server->deps.store, session->user,
	    &list, &error) < 0) {
		imap_cmd_store_error(cmd, "list", error);
		return;
	}
	for (size_t i = 0; i < list->count; i++) {
		const struct store_folder_info *f = &list->folders[i];
		char special[STORE_SPECIAL_ATTRS_MAX];

		if (!imap_match(pattern, f->name, '.'))
			continue;
		store_special_uses_attrs(f->special_uses, special,
		    sizeof(special));
		snprintf(attrs, sizeof(attrs), "%s%s%s%s",
		    f->noselect ? "\\Noselect " : "",
		    f->has_children ? "\\HasChildren" : "\\HasNoChildren",
		    special[0] != '\0' ? " " : "", special);
		list_reply(cmd, "LIST", attrs, f->name, NULL);
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
				list_reply(cmd, "LSUB", "", name, NULL);
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
				list_reply(cmd, "LSUB", "\\Noselect", prefix,
				    NULL);
			break;
		}
	}
	for (size_t i = 0; i < sent.count; i++)
		free(sent.names[i]);
	free(sent.names);
	store_names_free(&names, count);
	imap_cmd_tagged(cmd, "OK", NULL, "Lsub completed");
}

/* ---- Extended LIST (RFC 5258) ---- */

/* One name an extended LIST considers. */
struct list_cand {
	char *name;
	bool exists;		/* a folder (INBOX always): selectable */
	bool in_list;		/* exists, or a level a child implies */
	bool has_children;	/* some existing folder lies below it */
	bool subscribed;
	bool matched;		/* matches one of the canonical patterns */
	bool selected;		/* meets the selection criteria */
	unsigned special_uses;	/* STORE_SPECIAL_BIT()s */
};

struct list_cands {
	struct list_cand *c;
	size_t count;
};

static struct list_cand *
cand_find(struct list_cands *cs, const char *name)
{
	for (size_t i = 0; i < cs->count; i++)
		if (strcmp(cs->c[i].name, name) == 0)
			return &cs->c[i];
	return NULL;
}

static struct list_cand *
cand_add(struct list_cands *cs, const char *name)
{
	struct list_cand *c = cand_find(cs, name);

	if (c != NULL)
		return c;
	cs->c = xreallocarray(cs->c, cs->count + 1, sizeof(*cs->c));
	c = &cs->c[cs->count++];
	memset(c, 0, sizeof(*c));
	c->name = xstrdup(name);
	return c;
}

static void
cands_free(struct list_cands *cs)
{
	for (size_t i = 0; i < cs->count; i++)
		free(cs->c[i].name);
	free(cs->c);
	cs->c = NULL;
	cs->count = 0;
}

/* INBOX first, then byte order, as store_folder_list gives them. */
static int
cand_cmp(const void *a, const void *b)
{
	const struct list_cand *x = a, *y = b;
	bool xi = strcmp(x->name, STORE_INBOX) == 0;
	bool yi = strcmp(y->name, STORE_INBOX) == 0;

	if (xi != yi)
		return xi ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* True if name lies below parent ("A.b" below "A"). */
static bool
is_below(const char *name, const char *parent)
{
	size_t len = strlen(parent);

	return strncmp(name, parent, len) == 0 && name[len] == '.';
}

/* The subscribed names, and with RECURSIVEMATCH the levels above them
 * (a parent that is listed only for its CHILDINFO). */
static int
cands_add_subscribed(struct imap_cmd *cmd, struct list_cands *cs,
    bool parents)
{
	struct imap_session *session = cmd->session;
	const char *error;
	char **names;
	size_t count;

	if (store_subscriptions(session->server->deps.store, session->user,
	    &names, &count, &error) < 0) {
		imap_cmd_store_error(cmd, "list", error);
		return -1;
	}
	for (size_t i = 0; i < count; i++) {
		char *dot;

		if (strlen(names[i]) > FOLDER_NAME_MAX)
			continue;
		cand_add(cs, names[i])->subscribed = true;
		while (parents && (dot = strrchr(names[i], '.')) != NULL) {
			*dot = '\0';
			(void)cand_add(cs, names[i]);
		}
	}
	store_names_free(&names, count);
	return 0;
}

static bool
match_any(const struct imap_list_args *a, const char *name)
{
	char pattern[IMAP_LIST_PATTERN_MAX + 1];

	for (unsigned int i = 0; i < a->pattern_count; i++)
		if (imap_list_canonical(a->ref, a->patterns[i],
		    pattern) == 0 && imap_match(pattern, name, '.'))
			return true;
	return false;
}

/* Every name the listing may speak of, sorted, with what is known of
 * each. 0, or -1 once the command was answered. */
static int
cands_build(struct imap_cmd *cmd, const struct imap_list_args *a,
    struct list_cands *cs)
{
	struct imap_session *session = cmd->session;
	unsigned int base = a->select & (IMAP_LIST_SEL_SUBSCRIBED |
	    IMAP_LIST_SEL_SPECIAL_USE);
	struct store_folder_list *list;
	const char *error;

	if (store_folder_list(session->server->deps.store, session->user,
	    &list, &error) < 0) {
		imap_cmd_store_error(cmd, "list", error);
		return -1;
	}
	for (size_t i = 0; i < list->count; i++) {
		const struct store_folder_info *f = &list->folders[i];
		struct list_cand *c = cand_add(cs, f->name);

		c->exists = !f->noselect;
		c->in_list = true;
		c->special_uses = f->special_uses;
	}
	store_folder_list_free(&list);
	if (((a->select & IMAP_LIST_SEL_SUBSCRIBED) != 0 ||
	    (a->ret & IMAP_LIST_RET_SUBSCRIBED) != 0) &&
	    cands_add_subscribed(cmd, cs, (a->select &
	    IMAP_LIST_SEL_RECURSIVEMATCH) != 0) < 0)
		return -1;
	if (cs->count > 0)
		qsort(cs->c, cs->count, sizeof(*cs->c), cand_cmp);
	for (size_t i = 0; i < cs->count; i++) {
		struct list_cand *c = &cs->c[i];

		for (size_t j = 0; j < cs->count && !c->has_children; j++)
			c->has_children = cs->c[j].exists &&
			    is_below(cs->c[j].name, c->name);
		c->matched = match_any(a, c->name);
		if (base == 0)
			c->selected = c->exists;
		else
			c->selected = ((base & IMAP_LIST_SEL_SUBSCRIBED) == 0 ||
			    c->subscribed) &&
			    ((base & IMAP_LIST_SEL_SPECIAL_USE) == 0 ||
			    (c->exists && c->special_uses != 0));
	}
	return 0;
}

/* True if some name below cs->c[i] that no pattern matches meets the
 * selection criteria (selected) or exists (!selected). */
static bool
unmatched_below(const struct list_cands *cs, size_t i, bool selected)
{
	for (size_t j = 0; j < cs->count; j++) {
		const struct list_cand *d = &cs->c[j];

		if (!d->matched && (selected ? d->selected : d->exists) &&
		    is_below(d->name, cs->c[i].name))
			return true;
	}
	return false;
}

/*
 * RFC 5819 2: the "* STATUS" to send after the LIST line of a
 * selectable folder that meets the selection criteria (not after one
 * listed only for its CHILDINFO), looked up before that line: a folder
 * gone meanwhile has no STATUS and its LIST line says \Noselect. Returns
 * 1 with the line in b, 0 for none (another failure: the server MAY
 * drop it), -1 if the folder is gone.
 */
static int
list_status(struct imap_cmd *cmd, const struct imap_list_args *a,
    const char *name, struct buf *b)
{
	struct imap_session *session = cmd->session;
	struct store_status st;
	const char *error;

	if ((imap_status_items_want_size(&a->status) ?
	    store_folder_status_size : store_folder_status)(
	    session->server->deps.store, session->user, name, &st,
	    &error) < 0) {
		log_debug("list status %s: %s", name, error);
		return error_code(error) == ERROR_NOT_FOUND ? -1 : 0;
	}
	return imap_status_write(b, name, &a->status, &st) == 0 ? 1 : 0;
}

/* One candidate: listed or not (RFC 5258 3.3, 3.5), and its line. */
static void
list_cand_reply(struct imap_cmd *cmd, const struct imap_list_args *a,
    const struct list_cands *cs, size_t i)
{
	const struct list_cand *c = &cs->c[i];
	bool listed = c->selected, childinfo = false, children = false;
	bool special = (a->ret & IMAP_LIST_RET_SPECIAL_USE) != 0 &&
	    c->exists && c->special_uses != 0;
	char attrs[160], uses[STORE_SPECIAL_ATTRS_MAX];
	struct buf status;
	int have_status = 0;

	if ((a->select & IMAP_LIST_SEL_RECURSIVEMATCH) != 0) {
		/* CHILDINFO only where a matching child is not listed
		 * anyway (3.5: no redundant CHILDINFO). */
		childinfo = unmatched_below(cs, i, true);
		listed = listed || childinfo;
	} else if ((a->select & ~IMAP_LIST_SEL_REMOTE) == 0 && !c->exists &&
	    c->in_list && unmatched_below(cs, i, false)) {
		/* A level only its children imply, listed as RFC 5258
		 * example 11 does: \NonExistent \HasChildren. */
		listed = children = true;
	}
	if (!listed)
		return;
	buf_init(&status, FOLDER_NAME_MAX * 2 + 256);
	if ((a->ret & IMAP_LIST_RET_STATUS) != 0 && c->selected && c->exists)
		have_status = list_status(cmd, a, c->name, &status);
	store_special_uses_attrs(c->special_uses, uses, sizeof(uses));
	snprintf(attrs, sizeof(attrs), "%s%s%s%s%s%s",
	    (a->ret & IMAP_LIST_RET_SUBSCRIBED) && c->subscribed ?
	    " \\Subscribed" : "",
	    !c->exists ? " \\NonExistent" : "",
	    have_status < 0 ? " \\Noselect" : "",
	    (a->ret & IMAP_LIST_RET_CHILDREN) == 0 && !children ? "" :
	    c->has_children ? " \\HasChildren" : " \\HasNoChildren",
	    special ? " " : "", special ? uses : "");
	list_reply(cmd, "LIST", attrs[0] == ' ' ? attrs + 1 : attrs, c->name,
	    childinfo ? "(\"CHILDINFO\" (\"SUBSCRIBED\"))" : NULL);
	if (have_status > 0)
		imap_session_write(cmd->session, status.data, status.len);
	buf_free(&status);
}

static void
list_extended(struct imap_cmd *cmd, const struct imap_list_args *a)
{
	struct list_cands cs = { NULL, 0 };

	for (unsigned int i = 0; i < a->pattern_count; i++) {
		char pattern[IMAP_LIST_PATTERN_MAX + 1];

		if (imap_list_canonical(a->ref, a->patterns[i], pattern) < 0) {
			imap_cmd_tagged(cmd, "BAD", NULL, "Pattern too long");
			return;
		}
	}
	if (cands_build(cmd, a, &cs) < 0) {
		cands_free(&cs);
		return;
	}
	for (size_t i = 0; i < cs.count; i++)
		if (cs.c[i].matched)
			list_cand_reply(cmd, a, &cs, i);
	cands_free(&cs);
	imap_cmd_tagged(cmd, "OK", NULL, "List completed");
}

/* LIST "" "" (RFC 3501 6.3.8): the hierarchy delimiter and the
 * reference's root, for the plain syntax only. */
static void
list_root(struct imap_cmd *cmd, const char *ref, bool lsub)
{
	char root[IMAP_LIST_PATTERN_MAX + 1];
	const char *dot = strchr(ref, '.');
	size_t len = dot != NULL ? (size_t)(dot - ref) + 1 : 0;

	if (len > IMAP_LIST_PATTERN_MAX)
		len = 0;
	memcpy(root, ref, len);
	root[len] = '\0';
	if (!lsub)
		list_reply(cmd, "LIST", "\\Noselect", root, NULL);
	imap_cmd_tagged(cmd, "OK", NULL, "%s completed",
	    lsub ? "Lsub" : "List");
}

void
cmd_list(struct imap_cmd *cmd)
{
	bool lsub = strcmp(cmd->name, "LSUB") == 0;
	char pattern[IMAP_LIST_PATTERN_MAX + 1];
	struct imap_list_args args;
	const char *error;

	if (imap_list_args_parse(cmd->args, cmd->args_count, lsub, &args,
	    &error) < 0) {
		imap_cmd_tagged(cmd, "BAD", NULL, "%s", error);
		return;
	}
	if (args.extended) {
		list_extended(cmd, &args);
		return;
	}
	if (args.patterns[0][0] == '\0') {
		list_root(cmd, args.ref, lsub);
		return;
	}
	if (imap_list_canonical(args.ref, args.patterns[0], pattern) < 0) {
		imap_cmd_tagged(cmd, "BAD", NULL, "Pattern too long");
		return;
	}
	if (lsub)
		lsub_folders(cmd, pattern);
	else
		list_folders(cmd, pattern);
}
