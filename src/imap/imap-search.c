/*
 * SEARCH programs: the keys of RFC 3501 6.4.4 parsed into a tree (the
 * matcher is in imap-search-match.c).
 */
#include "imap/imap-search.h"

#include "imap/imap-condstore.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/limits.h"
#include "lib/strnum.h"
#include "lib/xmalloc.h"
#include "store/store.h"

/* ---- parsing ---- */

struct parse_ctx {
	const struct imap_arg *args;
	unsigned int count;
	unsigned int pos;
	bool need_info;
	bool need_message;
	bool need_body;
	bool has_modseq;
	const char *error;
};

static void
node_free(struct imap_search_node *node)
{
	while (node != NULL) {
		struct imap_search_node *next = node->next;

		node_free(node->children);
		imap_seqset_free(&node->set);
		free(node->field);
		free(node->value);
		free(node);
		node = next;
	}
}

void
imap_search_free(struct imap_search **searchp)
{
	struct imap_search *search = *searchp;

	if (search == NULL)
		return;
	node_free(search->root);
	free(search->saved);
	free(search);
	*searchp = NULL;
}

static struct imap_search_node *
node_new(enum imap_search_key key)
{
	struct imap_search_node *node = xcalloc(1, sizeof(*node));

	node->key = key;
	return node;
}

/* The next argument as an astring without NULs, or NULL. */
static const char *
next_string(struct parse_ctx *ctx, const char *what)
{
	const struct imap_arg *arg;
	const char *s;

	if (ctx->pos >= ctx->count) {
		ctx->error = what;
		return NULL;
	}
	arg = &ctx->args[ctx->pos];
	if (!imap_arg_get_astring(arg, &s) || strlen(s) != arg->len) {
		ctx->error = what;
		return NULL;
	}
	ctx->pos++;
	return s;
}

static bool
is_seqset_start(const char *s)
{
	return (s[0] >= '0' && s[0] <= '9') || s[0] == '*';
}

static struct imap_search_node *parse_key(struct parse_ctx *ctx,
    unsigned int depth);

struct search_key;
/* Reads the arguments of a key whose name was just consumed and makes
 * its node, or sets ctx->error and returns NULL. */
typedef struct imap_search_node *search_key_parse_func(
    struct parse_ctx *ctx, const struct search_key *key, unsigned int depth);

/* One search key of RFC 3501 6.4.4 (and KEYWORD's $Forwarded). */
struct search_key {
	const char *name;
	search_key_parse_func *parse;
	enum imap_search_key key;	/* the node made */
	unsigned int flags;		/* flag keys: enum store_flag bits */
	const char *field;		/* header keys: the field name */
};

/* ALL, NEW, SEEN, UNSEEN and the like: no argument. */
static struct imap_search_node *
parse_plain(struct parse_ctx *ctx, const struct search_key *key,
    unsigned int depth)
{
	struct imap_search_node *node;

	(void)ctx;
	(void)depth;
	node = node_new(key->key);
	node->flags = key->flags;
	return node;
}

/* NEW is (RECENT UNSEEN) and OLD is NOT RECENT (RFC 3501 6.4.4):
 * key->key is the AND or the NOT made around RECENT. */
static struct imap_search_node *
parse_new_old(struct parse_ctx *ctx, const struct search_key *key,
    unsigned int depth)
{
	struct imap_search_node *node = node_new(key->key);

	(void)ctx;
	(void)depth;
	node->children = node_new(IMAP_SEARCH_RECENT);
	if (key->key == IMAP_SEARCH_AND) {
		node->children->next = node_new(IMAP_SEARCH_UNFLAG);
		node->children->next->flags = STORE_FLAG_SEEN;
	}
	return node;
}

/* BEFORE, ON, SINCE (internal date), SENT* (the Date: header). */
static struct imap_search_node *
parse_date(struct parse_ctx *ctx, const struct search_key *key,
    unsigned int depth)
{
	struct imap_search_node *node;
	const char *s, *err;

	(void)depth;
	if ((s = next_string(ctx, "Search key needs a date")) == NULL)
		return NULL;
	node = node_new(key->key);
	if (imap_date_parse(s, &node->date, &err) < 0) {
		ctx->error = err;
		node_free(node);
		return NULL;
	}
	if (node->key == IMAP_SEARCH_BEFORE ||
	    node->key == IMAP_SEARCH_ON ||
	    node->key == IMAP_SEARCH_SINCE)
		ctx->need_info = true;
	else
		ctx->need_message = true;
	return node;
}

/* HEADER field-name string */
static struct imap_search_node *
parse_header(struct parse_ctx *ctx, const struct search_key *key,
    unsigned int depth)
{
	struct imap_search_node *node;
	const char *field, *s;

	(void)key;
	(void)depth;
	if ((field = next_string(ctx, "HEADER needs a field name")) == NULL)
		return NULL;
	if (field[0] == '\0') {
		ctx->error = "HEADER needs a field name";
		return NULL;
	}
	if ((s = next_string(ctx, "HEADER needs a string")) == NULL)
		return NULL;
	node = node_new(IMAP_SEARCH_HEADER);
	node->field = xstrdup(field);
	node->value = xstrdup(s);
	ctx->need_message = true;
	return node;
}

/* BCC, CC, FROM, SUBJECT, TO: a string searched in the header field
 * key->field; BODY and TEXT (no field): in the body (and the header). */
static struct imap_search_node *
parse_text(struct parse_ctx *ctx, const struct search_key *key,
    unsigned int depth)
{
	struct imap_search_node *node;
	const char *s;

	(void)depth;
	if ((s = next_string(ctx, "Search key needs a string")) == NULL)
		return NULL;
	node = node_new(key->key);
	if (key->field != NULL)
		node->field = xstrdup(key->field);
	node->value = xstrdup(s);
	ctx->need_message = true;
	if (key->field == NULL)
		ctx->need_body = true;
	return node;
}

/* KEYWORD and UNKEYWORD: key->key and key->flags say what $Forwarded
 * (Maildir's P flag) matches. */
static struct imap_search_node *
parse_keyword(struct parse_ctx *ctx, const struct search_key *key,
    unsigned int depth)
{
	const struct imap_arg *kw = &ctx->args[ctx->pos];
	struct imap_search_node *node;

	(void)depth;
	/* NIL is an atom, so a keyword like any other (flag-keyword). */
	if (ctx->pos >= ctx->count || (kw->type != IMAP_ARG_ATOM &&
	    kw->type != IMAP_ARG_NIL) || kw->str[0] == '\\') {
		ctx->error = "Search key needs a keyword";
		return NULL;
	}
	ctx->pos++;
	if (strcasecmp(kw->str, "$Forwarded") == 0) {
		node = node_new(key->key);
		node->flags = key->flags;
		return node;
	}
	node = node_new(key->key == IMAP_SEARCH_FLAG ?
	    IMAP_SEARCH_KEYWORD : IMAP_SEARCH_UNKEYWORD);
	node->value = xstrdup(kw->str);
	return node;
}

static void
resolve_node(struct imap_search_node *node, imap_search_keyword_func *find,
    void *ctx)
{
	int idx;

	for (; node != NULL; node = node->next) {
		resolve_node(node->children, find, ctx);
		if (node->key != IMAP_SEARCH_KEYWORD &&
		    node->key != IMAP_SEARCH_UNKEYWORD)
			continue;
		idx = find(node->value, ctx);
		node->keywords = idx >= 0 && idx < 32 ?
		    (uint32_t)1 << idx : 0;
	}
}

void
imap_search_resolve_keywords(struct imap_search *search,
    imap_search_keyword_func *find, void *ctx)
{
	resolve_node(search->root, find, ctx);
}

/* LARGER and SMALLER: a size in octets (a number of up to 32 bits). */
static struct imap_search_node *
parse_size(struct parse_ctx *ctx, const struct search_key *key,
    unsigned int depth)
{
	const struct imap_arg *num = &ctx->args[ctx->pos];
	struct imap_search_node *node;
	uint64_t n;

	(void)depth;
	/* Ten digits at most: all of them fit, and a larger number is out
	 * of range rather than not a number. */
	if (ctx->pos >= ctx->count || num->type != IMAP_ARG_ATOM ||
	    num->len > 10 ||
	    str_to_u64_n(num->str, num->len, UINT64_MAX, &n) < 0) {
		ctx->error = "Search key needs a number";
		return NULL;
	}
	if (n > UINT32_MAX) {
		ctx->error = "Number out of range";
		return NULL;
	}
	ctx->pos++;
	node = node_new(key->key);
	node->size = n;
	ctx->need_info = true;
	return node;
}

/*
 * MODSEQ [entry-name entry-type-req] mod-sequence-valzer (RFC 7162
 * 3.1.5). mailbell keeps one MODSEQ per message, for all its flags, so
 * the entry name and type are read and not looked at.
 */
static struct imap_search_node *
parse_modseq(struct parse_ctx *ctx, const struct search_key *key,
    unsigned int depth)
{
	const struct imap_arg *a = &ctx->args[ctx->pos];
	struct imap_search_node *node;
	const char *s;
	uint64_t n;

	(void)depth;
	if (ctx->count - ctx->pos >= 3 && (a->type == IMAP_ARG_STRING ||
	    a->type == IMAP_ARG_LITERAL)) {
		if (!imap_arg_get_atom(&a[1], &s) || (strcasecmp(s, "priv") &&
		    strcasecmp(s, "shared") && strcasecmp(s, "all"))) {
			ctx->error = "MODSEQ needs priv, shared or all";
			return NULL;
		}
		ctx->pos += 2;
		a += 2;
	}
	if (ctx->pos >= ctx->count || a->type != IMAP_ARG_ATOM ||
	    imap_modseq_parse(a->str, true, &n, &ctx->error) < 0) {
		ctx->error = "MODSEQ needs a mod-sequence value";
		return NULL;
	}
	ctx->pos++;
	node = node_new(key->key);
	node->modseq = n;
	ctx->has_modseq = true;
	return node;
}

/* NOT search-key */
static struct imap_search_node *
parse_not(struct parse_ctx *ctx, const struct search_key *key,
    unsigned int depth)
{
	struct imap_search_node *node, *child;

	(void)key;
	if (ctx->pos >= ctx->count) {
		ctx->error = "NOT needs a search key";
		return NULL;
	}
	if ((child = parse_key(ctx, depth + 1)) == NULL)
		return NULL;
	node = node_new(IMAP_SEARCH_NOT);
	node->children = child;
	return node;
}

/* OR search-key search-key */
static struct imap_search_node *
parse_or(struct parse_ctx *ctx, const struct search_key *key,
    unsigned int depth)
{
	struct imap_search_node *node, *a, *b;

	(void)key;
	if (ctx->pos + 1 >= ctx->count) {
		ctx->error = "OR needs two search keys";
		return NULL;
	}
	if ((a = parse_key(ctx, depth + 1)) == NULL)
		return NULL;
	if (ctx->pos >= ctx->count) {
		ctx->error = "OR needs two search keys";
		node_free(a);
		return NULL;
	}
	if ((b = parse_key(ctx, depth + 1)) == NULL) {
		node_free(a);
		return NULL;
	}
	node = node_new(IMAP_SEARCH_OR);
	node->children = a;
	a->next = b;
	return node;
}

/* UID sequence-set */
static struct imap_search_node *
parse_uid(struct parse_ctx *ctx, const struct search_key *key,
    unsigned int depth)
{
	const struct imap_arg *set = &ctx->args[ctx->pos];
	struct imap_search_node *node;
	const char *err;

	(void)key;
	(void)depth;
	if (ctx->pos >= ctx->count || set->type != IMAP_ARG_ATOM) {
		ctx->error = "UID needs a sequence set";
		return NULL;
	}
	ctx->pos++;
	if (strcmp(set->str, "$") == 0)
		return node_new(IMAP_SEARCH_SAVED);
	node = node_new(IMAP_SEARCH_UID);
	if (imap_seqset_parse(set->str, &node->set, &err) < 0) {
		ctx->error = err;
		node_free(node);
		return NULL;
	}
	return node;
}

static const struct search_key search_keys[] = {
	{ "ALL", parse_plain, IMAP_SEARCH_ALL, 0, NULL },
	{ "OLD", parse_new_old, IMAP_SEARCH_NOT, 0, NULL },
	{ "NEW", parse_new_old, IMAP_SEARCH_AND, 0, NULL },
	{ "RECENT", parse_plain, IMAP_SEARCH_RECENT, 0, NULL },
	{ "ANSWERED", parse_plain, IMAP_SEARCH_FLAG, STORE_FLAG_REPLIED, NULL },
	{ "DELETED", parse_plain, IMAP_SEARCH_FLAG, STORE_FLAG_TRASHED, NULL },
	{ "DRAFT", parse_plain, IMAP_SEARCH_FLAG, STORE_FLAG_DRAFT, NULL },
	{ "FLAGGED", parse_plain, IMAP_SEARCH_FLAG, STORE_FLAG_FLAGGED, NULL },
	{ "SEEN", parse_plain, IMAP_SEARCH_FLAG, STORE_FLAG_SEEN, NULL },
	{ "UNANSWERED", parse_plain, IMAP_SEARCH_UNFLAG, STORE_FLAG_REPLIED,
	    NULL },
	{ "UNDELETED", parse_plain, IMAP_SEARCH_UNFLAG, STORE_FLAG_TRASHED,
	    NULL },
	{ "UNDRAFT", parse_plain, IMAP_SEARCH_UNFLAG, STORE_FLAG_DRAFT, NULL },
	{ "UNFLAGGED", parse_plain, IMAP_SEARCH_UNFLAG, STORE_FLAG_FLAGGED,
	    NULL },
	{ "UNSEEN", parse_plain, IMAP_SEARCH_UNFLAG, STORE_FLAG_SEEN, NULL },
	{ "BEFORE", parse_date, IMAP_SEARCH_BEFORE, 0, NULL },
	{ "ON", parse_date, IMAP_SEARCH_ON, 0, NULL },
	{ "SINCE", parse_date, IMAP_SEARCH_SINCE, 0, NULL },
	{ "SENTBEFORE", parse_date, IMAP_SEARCH_SENTBEFORE, 0, NULL },
	{ "SENTON", parse_date, IMAP_SEARCH_SENTON, 0, NULL },
	{ "SENTSINCE", parse_date, IMAP_SEARCH_SENTSINCE, 0, NULL },
	{ "BCC", parse_text, IMAP_SEARCH_ADDRESS, 0, "Bcc" },
	{ "CC", parse_text, IMAP_SEARCH_ADDRESS, 0, "Cc" },
	{ "FROM", parse_text, IMAP_SEARCH_ADDRESS, 0, "From" },
	{ "SUBJECT", parse_text, IMAP_SEARCH_HEADER, 0, "Subject" },
	{ "TO", parse_text, IMAP_SEARCH_ADDRESS, 0, "To" },
	{ "HEADER", parse_header, IMAP_SEARCH_HEADER, 0, NULL },
	{ "BODY", parse_text, IMAP_SEARCH_BODY, 0, NULL },
	{ "TEXT", parse_text, IMAP_SEARCH_TEXT, 0, NULL },
	{ "KEYWORD", parse_keyword, IMAP_SEARCH_FLAG, STORE_FLAG_PASSED,
	    NULL },
	{ "UNKEYWORD", parse_keyword, IMAP_SEARCH_UNFLAG, STORE_FLAG_PASSED,
	    NULL },
	{ "LARGER", parse_size, IMAP_SEARCH_LARGER, 0, NULL },
	{ "SMALLER", parse_size, IMAP_SEARCH_SMALLER, 0, NULL },
	{ "NOT", parse_not, IMAP_SEARCH_NOT, 0, NULL },
	{ "OR", parse_or, IMAP_SEARCH_OR, 0, NULL },
	{ "UID", parse_uid, IMAP_SEARCH_UID, 0, NULL },
	{ "MODSEQ", parse_modseq, IMAP_SEARCH_MODSEQ, 0, NULL },
};

/* Keys up to the end of args (depth 0) or of a group's list. */
static struct imap_search_node *
parse_and(struct parse_ctx *ctx, unsigned int depth)
{
	struct imap_search_node *and = node_new(IMAP_SEARCH_AND);
	struct imap_search_node **tail = &and->children;

	if (ctx->pos >= ctx->count) {
		ctx->error = "Empty search program";
		goto fail;
	}
	while (ctx->pos < ctx->count) {
		struct imap_search_node *key = parse_key(ctx, depth);

		if (key == NULL)
			goto fail;
		*tail = key;
		tail = &key->next;
	}
	return and;
fail:
	node_free(and);
	return NULL;
}

/* A parenthesised group of keys. */
static struct imap_search_node *
parse_group(struct parse_ctx *ctx, const struct imap_arg *arg,
    unsigned int depth)
{
	struct parse_ctx sub = {
		.args = arg->list,
		.count = arg->list_count,
	};
	struct imap_search_node *node;

	node = parse_and(&sub, depth + 1);
	ctx->need_info |= sub.need_info;
	ctx->need_message |= sub.need_message;
	ctx->need_body |= sub.need_body;
	if (node == NULL)
		ctx->error = sub.error;
	return node;
}

/* One key: a group, a key of the table, or a sequence set. */
static struct imap_search_node *
parse_key(struct parse_ctx *ctx, unsigned int depth)
{
	const struct imap_arg *arg = &ctx->args[ctx->pos];
	struct imap_search_node *node;
	const char *name, *err;

	if (depth >= IMAP_SEARCH_DEPTH_MAX) {
		ctx->error = "Search program nests too deeply";
		return NULL;
	}
	ctx->pos++;

	if (arg->type == IMAP_ARG_LIST)
		return parse_group(ctx, arg, depth);
	if (arg->type != IMAP_ARG_ATOM || !imap_arg_get_atom(arg, &name)) {
		ctx->error = "Invalid search key";
		return NULL;
	}
	for (size_t i = 0; i < sizeof(search_keys) / sizeof(search_keys[0]);
	    i++) {
		if (strcasecmp(name, search_keys[i].name) == 0)
			return search_keys[i].parse(ctx, &search_keys[i],
			    depth);
	}
	if (strcmp(name, "$") == 0)
		return node_new(IMAP_SEARCH_SAVED);
	if (is_seqset_start(name)) {
		node = node_new(IMAP_SEARCH_SEQSET);
		if (imap_seqset_parse(name, &node->set, &err) < 0) {
			ctx->error = err;
			node_free(node);
			return NULL;
		}
		return node;
	}
	ctx->error = "Unknown search key";
	return NULL;
}

int
imap_search_parse_return(const struct imap_arg *list, unsigned int allowed,
    unsigned int *returns_r, const char **error_r)
{
	static const struct {
		const char *name;
		unsigned int bit;
	} opts[] = {
		{ "MIN", IMAP_SEARCH_RETURN_MIN },
		{ "MAX", IMAP_SEARCH_RETURN_MAX },
		{ "ALL", IMAP_SEARCH_RETURN_ALL },
		{ "COUNT", IMAP_SEARCH_RETURN_COUNT },
		{ "SAVE", IMAP_SEARCH_RETURN_SAVE },
	};
	unsigned int i, k, returns = 0;

	if (list->type != IMAP_ARG_LIST) {
		*error_r = "RETURN needs a list of options";
		return -1;
	}
	for (i = 0; i < list->list_count; i++) {
		for (k = 0; k < sizeof(opts) / sizeof(opts[0]); k++)
			if ((opts[k].bit & allowed) != 0 &&
			    imap_arg_atom_equals(&list->list[i], opts[k].name))
				break;
		if (k == sizeof(opts) / sizeof(opts[0])) {
			*error_r = "Unknown RETURN option";
			return -1;
		}
		returns |= opts[k].bit;
	}
	/* RFC 4731 3.1: "RETURN ()" is "RETURN (ALL)". */
	*returns_r = list->list_count == 0 ? IMAP_SEARCH_RETURN_ALL : returns;
	return 0;
}

/* RETURN (search-return-opt ...) at args[0]: fills search's RETURN
 * fields and moves ctx past it. 0, or -1 with ctx->error. */
static int
parse_return(struct parse_ctx *ctx, struct imap_search *search)
{
	if (ctx->count < 2) {
		ctx->error = "RETURN needs a list of options";
		return -1;
	}
	if (imap_search_parse_return(&ctx->args[1], IMAP_SEARCH_RETURN_MIN |
	    IMAP_SEARCH_RETURN_MAX | IMAP_SEARCH_RETURN_ALL |
	    IMAP_SEARCH_RETURN_COUNT | IMAP_SEARCH_RETURN_SAVE,
	    &search->returns, &ctx->error) < 0)
		return -1;
	search->esearch = true;
	ctx->pos = 2;
	return 0;
}

/* CHARSET astring at ctx->pos, if there. 0, or -1 with ctx->error and
 * *code_r. */
static int
parse_charset(struct parse_ctx *ctx, enum imap_search_error *code_r)
{
	const char *charset;

	if (ctx->pos >= ctx->count ||
	    !imap_arg_atom_equals(&ctx->args[ctx->pos], "CHARSET"))
		return 0;
	if (ctx->pos + 1 >= ctx->count ||
	    !imap_arg_get_astring(&ctx->args[ctx->pos + 1], &charset)) {
		ctx->error = "CHARSET needs a charset name";
		return -1;
	}
	if (strcasecmp(charset, "UTF-8") != 0 &&
	    strcasecmp(charset, "US-ASCII") != 0) {
		*code_r = IMAP_SEARCH_ERROR_BADCHARSET;
		ctx->error = "Unsupported charset";
		return -1;
	}
	ctx->pos += 2;
	return 0;
}

bool
imap_search_args_save(const struct imap_arg *args, unsigned int count)
{
	if (count < 2 || !imap_arg_atom_equals(&args[0], "RETURN") ||
	    args[1].type != IMAP_ARG_LIST)
		return false;
	for (unsigned int i = 0; i < args[1].list_count; i++)
		if (imap_arg_atom_equals(&args[1].list[i], "SAVE"))
			return true;
	return false;
}

void
imap_search_set_saved(struct imap_search *search, const uint32_t *uids,
    size_t count)
{
	free(search->saved);
	search->saved = NULL;
	search->saved_count = count;
	if (count > 0) {
		search->saved = xreallocarray(NULL, count, sizeof(*uids));
		memcpy(search->saved, uids, count * sizeof(*uids));
	}
}

int
imap_search_parse(const struct imap_arg *args, unsigned int count,
    struct imap_search **search_r, enum imap_search_error *code_r,
    const char **error_r)
{
	struct parse_ctx ctx = { .args = args, .count = count };
	struct imap_search *search = xcalloc(1, sizeof(*search));

	*code_r = IMAP_SEARCH_ERROR_SYNTAX;
	if ((count > 0 && imap_arg_atom_equals(&args[0], "RETURN") &&
	    parse_return(&ctx, search) < 0) ||
	    parse_charset(&ctx, code_r) < 0 ||
	    (search->root = parse_and(&ctx, 0)) == NULL) {
		*error_r = ctx.error != NULL ? ctx.error : "Invalid search";
		imap_search_free(&search);
		return -1;
	}
	search->need_info = ctx.need_info;
	search->need_message = ctx.need_message;
	search->need_body = ctx.need_body;
	search->has_modseq = ctx.has_modseq;
	*search_r = search;
	return 0;
}
