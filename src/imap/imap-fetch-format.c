/*
 * FETCH attributes parsed into items, and ENVELOPE, BODY and
 * BODYSTRUCTURE written in the syntax of RFC 3501 7.4.2 from the parsed
 * message types of store/message.h. No I/O: cmd-fetch.c does that.
 */
#include "imap/imap-fetch-format.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap-wire.h"
#include "lib/limits.h"
#include "lib/strnum.h"
#include "lib/xmalloc.h"

/* ---- ENVELOPE ---- */

/*
 * RFC 3501 7.4.2:
 *   envelope = "(" env-date SP env-subject SP env-from SP env-sender SP
 *              env-reply-to SP env-to SP env-cc SP env-bcc SP
 *              env-in-reply-to SP env-message-id ")"
 *   address  = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"
 * An empty address list is NIL, never "()".
 */
static int
write_address_list(struct buf *b, const struct message_address_list *list)
{
	if (list->count == 0)
		return buf_append_str(b, "NIL");
	if (buf_append(b, "(", 1) < 0)
		return -1;
	for (size_t i = 0; i < list->count; i++) {
		const struct message_address *a = &list->addrs[i];

		if (buf_append(b, "(", 1) < 0 ||
		    imap_write_nstring(b, a->name) < 0 ||
		    buf_append(b, " ", 1) < 0 ||
		    imap_write_nstring(b, a->adl) < 0 ||
		    buf_append(b, " ", 1) < 0 ||
		    imap_write_nstring(b, a->mailbox) < 0 ||
		    buf_append(b, " ", 1) < 0 ||
		    imap_write_nstring(b, a->host) < 0 ||
		    buf_append(b, ")", 1) < 0)
			return -1;
	}
	return buf_append(b, ")", 1);
}

int
imap_fetch_write_envelope(struct buf *b, const struct message_envelope *env)
{
	const struct message_address_list *lists[] = {
		&env->from, &env->sender, &env->reply_to, &env->to, &env->cc,
		&env->bcc,
	};

	if (buf_append(b, "(", 1) < 0 ||
	    imap_write_nstring(b, env->date) < 0 ||
	    buf_append(b, " ", 1) < 0 ||
	    imap_write_nstring(b, env->subject) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		if (buf_append(b, " ", 1) < 0 ||
		    write_address_list(b, lists[i]) < 0)
			return -1;
	if (buf_append(b, " ", 1) < 0 ||
	    imap_write_nstring(b, env->in_reply_to) < 0 ||
	    buf_append(b, " ", 1) < 0 ||
	    imap_write_nstring(b, env->message_id) < 0 ||
	    buf_append(b, ")", 1) < 0)
		return -1;
	return 0;
}

/* ---- BODY and BODYSTRUCTURE ---- */

/* body-fld-param = "(" string SP string *(SP string SP string) ")" / nil */
static int
write_params(struct buf *b, const struct message_param *params, size_t count)
{
	if (count == 0)
		return buf_append_str(b, "NIL");
	if (buf_append(b, "(", 1) < 0)
		return -1;
	for (size_t i = 0; i < count; i++)
		if ((i > 0 && buf_append(b, " ", 1) < 0) ||
		    imap_write_string(b, params[i].name) < 0 ||
		    buf_append(b, " ", 1) < 0 ||
		    imap_write_string(b, params[i].value) < 0)
			return -1;
	return buf_append(b, ")", 1);
}

/*
 * The extension fields every part kind ends with:
 *   body-fld-dsp  = "(" string SP body-fld-param ")" / nil
 *   body-fld-lang = nstring / "(" string *(SP string) ")"
 *   body-fld-loc  = nstring
 * Languages are always written as a list, as Dovecot does.
 */
static int
write_dsp_lang_loc(struct buf *b, const struct message_part *part)
{
	if (part->disposition == NULL) {
		if (buf_append_str(b, " NIL") < 0)
			return -1;
	} else if (buf_append_str(b, " (") < 0 ||
	    imap_write_string(b, part->disposition) < 0 ||
	    buf_append(b, " ", 1) < 0 ||
	    write_params(b, part->disposition_params,
	    part->disposition_param_count) < 0 ||
	    buf_append(b, ")", 1) < 0)
		return -1;

	if (part->language_count == 0) {
		if (buf_append_str(b, " NIL") < 0)
			return -1;
	} else {
		if (buf_append_str(b, " (") < 0)
			return -1;
		for (size_t i = 0; i < part->language_count; i++)
			if ((i > 0 && buf_append(b, " ", 1) < 0) ||
			    imap_write_string(b, part->languages[i]) < 0)
				return -1;
		if (buf_append(b, ")", 1) < 0)
			return -1;
	}

	if (buf_append(b, " ", 1) < 0 ||
	    imap_write_nstring(b, part->location) < 0)
		return -1;
	return 0;
}

/* What a multipart without parts is described as (Dovecot does the
 * same): the grammar needs one body before the subtype. */
#define EMPTY_PART "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL " \
	"\"7bit\" 0 0"

static int
write_part(struct buf *b, const struct message_part *part, bool extended)
{
	if (buf_append(b, "(", 1) < 0)
		return -1;

	if (part->kind == MESSAGE_PART_MULTIPART) {
		/* body-type-mpart = 1*body SP media-subtype
		 *                   [SP body-ext-mpart] */
		if (part->child_count == 0) {
			if (buf_append_str(b, EMPTY_PART) < 0 ||
			    (extended &&
			    buf_append_str(b, " NIL NIL NIL NIL") < 0) ||
			    buf_append(b, ")", 1) < 0)
				return -1;
		}
		for (size_t i = 0; i < part->child_count; i++)
			if (write_part(b, part->children[i], extended) < 0)
				return -1;
		if (buf_append(b, " ", 1) < 0 ||
		    imap_write_string(b, part->subtype) < 0)
			return -1;
		if (extended && (buf_append(b, " ", 1) < 0 ||
		    write_params(b, part->params, part->param_count) < 0 ||
		    write_dsp_lang_loc(b, part) < 0))
			return -1;
		return buf_append(b, ")", 1);
	}

	/* body-type-1part: media-type SP body-fields, where
	 * body-fields = body-fld-param SP body-fld-id SP body-fld-desc SP
	 *               body-fld-enc SP body-fld-octets */
	if (imap_write_string(b, part->type) < 0 ||
	    buf_append(b, " ", 1) < 0 ||
	    imap_write_string(b, part->subtype) < 0 ||
	    buf_append(b, " ", 1) < 0 ||
	    write_params(b, part->params, part->param_count) < 0 ||
	    buf_append(b, " ", 1) < 0 ||
	    imap_write_nstring(b, part->id) < 0 ||
	    buf_append(b, " ", 1) < 0 ||
	    imap_write_nstring(b, part->description) < 0 ||
	    buf_append(b, " ", 1) < 0 ||
	    imap_write_string(b, part->encoding) < 0 ||
	    buf_printf(b, " %llu", (unsigned long long)part->size) < 0)
		return -1;

	switch (part->kind) {
	case MESSAGE_PART_TEXT:
		/* body-type-text adds body-fld-lines */
		if (buf_printf(b, " %llu", (unsigned long long)part->lines) < 0)
			return -1;
		break;
	case MESSAGE_PART_MESSAGE:
		/* body-type-msg adds envelope SP body SP body-fld-lines */
		if (part->envelope == NULL || part->child_count != 1)
			return -1;	/* message.c guarantees both */
		if (buf_append(b, " ", 1) < 0 ||
		    imap_fetch_write_envelope(b, part->envelope) < 0 ||
		    buf_append(b, " ", 1) < 0 ||
		    write_part(b, part->children[0], extended) < 0 ||
		    buf_printf(b, " %llu", (unsigned long long)part->lines) < 0)
			return -1;
		break;
	case MESSAGE_PART_BASIC:
	case MESSAGE_PART_MULTIPART:
		break;
	}

	/* body-ext-1part = body-fld-md5 [SP body-fld-dsp [SP body-fld-lang
	 *                  [SP body-fld-loc *(SP body-extension)]]] */
	if (extended && (buf_append_str(b, " NIL") < 0 ||
	    write_dsp_lang_loc(b, part) < 0))
		return -1;
	return buf_append(b, ")", 1);
}

int
imap_fetch_write_body(struct buf *b, const struct message_part *part,
    bool extended)
{
	return write_part(b, part, extended);
}

/* ---- Fetch attributes ---- */

static void
item_free(struct imap_fetch_item *item)
{
	free(item->name);
	free(item->parts);
	if (item->fields != NULL)
		for (size_t i = 0; i < item->section.field_count; i++)
			free(item->fields[i]);
	free(item->fields);
}

void
imap_fetch_items_free(struct imap_fetch_items **itemsp)
{
	struct imap_fetch_items *items = *itemsp;

	if (items == NULL)
		return;
	for (size_t i = 0; i < items->count; i++)
		item_free(&items->items[i]);
	free(items->items);
	free(items);
	*itemsp = NULL;
}

static struct imap_fetch_item *
item_add(struct imap_fetch_items *items, enum imap_fetch_att att,
    const char *name)
{
	struct imap_fetch_item *item;

	items->items = xreallocarray(items->items, items->count + 1,
	    sizeof(*items->items));
	item = &items->items[items->count++];
	memset(item, 0, sizeof(*item));
	item->att = att;
	item->name = xstrdup(name);
	switch (att) {
	case IMAP_FETCH_FLAGS:
		items->has_flags = true;
		break;
	case IMAP_FETCH_UID:
		items->has_uid = true;
		break;
	case IMAP_FETCH_MODSEQ:
		items->has_modseq = true;
		break;
	case IMAP_FETCH_INTERNALDATE:
	case IMAP_FETCH_RFC822_SIZE:
		items->need_info = true;
		break;
	case IMAP_FETCH_ENVELOPE:
	case IMAP_FETCH_BODYSTRUCTURE:
	case IMAP_FETCH_BODY:
		items->need_parse = true;
		break;
	case IMAP_FETCH_SECTION:
		break;
	}
	return item;
}

/* A section item whose section the caller fills in. */
static struct imap_fetch_item *
section_add(struct imap_fetch_items *items, const char *name,
    enum message_section_kind kind, bool sets_seen)
{
	struct imap_fetch_item *item;

	item = item_add(items, IMAP_FETCH_SECTION, name);
	item->section.kind = kind;
	item->sets_seen = sets_seen;
	return item;
}

/* Account for a finished section item. */
static void
section_done(struct imap_fetch_items *items, struct imap_fetch_item *item)
{
	item->whole = item->section.part_count == 0 &&
	    item->section.kind == MESSAGE_SECTION_BODY &&
	    !item->binary && !item->binary_size;
	if (item->whole)
		items->need_raw = true;
	else
		items->need_parse = true;
	if (item->sets_seen)
		items->sets_seen = true;
}

/* Append s to b in upper case. */
static int
append_upper(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		char c = (char)toupper((unsigned char)*s);

		if (buf_append(b, &c, 1) < 0)
			return -1;
	}
	return 0;
}

/*
 * section-spec = section-msgtext / (section-part ["." section-text])
 * section-part = nz-number *("." nz-number)
 * section-text = section-msgtext / "MIME"
 * section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list /
 *                   "TEXT"
 */
static int
parse_section(const struct imap_arg *arg, struct imap_fetch_item *item,
    const char **error_r)
{
	const char *p = arg->section, *rest;
	uint32_t parts[IMAP_SECTION_PARTS_MAX];
	size_t count = 0;

	while (isdigit((unsigned char)*p)) {
		uint64_t n;

		if (*p == '0' || str_parse_u64(&p, NULL, UINT32_MAX, &n) < 0) {
			*error_r = "Invalid part number in section";
			return -1;
		}
		if (count == IMAP_SECTION_PARTS_MAX) {
			*error_r = "Too many part numbers in section";
			return -1;
		}
		parts[count++] = (uint32_t)n;
		if (*p == '\0')
			break;
		if (*p != '.') {
			*error_r = "Invalid section";
			return -1;
		}
		p++;
		if (*p == '\0') {
			*error_r = "Invalid section";
			return -1;
		}
	}
	rest = p;

	if (*rest == '\0')
		item->section.kind = MESSAGE_SECTION_BODY;
	else if (strcasecmp(rest, "HEADER") == 0)
		item->section.kind = MESSAGE_SECTION_HEADER;
	else if (strcasecmp(rest, "HEADER.FIELDS") == 0)
		item->section.kind = MESSAGE_SECTION_HEADER_FIELDS;
	else if (strcasecmp(rest, "HEADER.FIELDS.NOT") == 0)
		item->section.kind = MESSAGE_SECTION_HEADER_FIELDS_NOT;
	else if (strcasecmp(rest, "TEXT") == 0)
		item->section.kind = MESSAGE_SECTION_TEXT;
	else if (strcasecmp(rest, "MIME") == 0 && count > 0)
		item->section.kind = MESSAGE_SECTION_MIME;
	else {
		*error_r = "Invalid section";
		return -1;
	}

	if (item->section.kind == MESSAGE_SECTION_HEADER_FIELDS ||
	    item->section.kind == MESSAGE_SECTION_HEADER_FIELDS_NOT) {
		if (!arg->has_list || arg->list_count == 0) {
			*error_r = "HEADER.FIELDS needs a list of field names";
			return -1;
		}
		item->fields = xcalloc(arg->list_count, sizeof(char *));
		for (unsigned int i = 0; i < arg->list_count; i++) {
			const char *name;

			if (!imap_arg_get_astring(&arg->list[i], &name) ||
			    name[0] == '\0' || strlen(name) != arg->list[i].len) {
				*error_r = "Invalid header field name";
				return -1;
			}
			item->fields[i] = xstrdup(name);
			item->section.field_count = i + 1;
		}
		item->section.fields = (const char *const *)item->fields;
	} else if (arg->has_list) {
		*error_r = "Only HEADER.FIELDS takes a list";
		return -1;
	}

	if (count > 0) {
		item->parts = xcalloc(count, sizeof(uint32_t));
		memcpy(item->parts, parts, count * sizeof(uint32_t));
	}
	item->section.parts = item->parts;
	item->section.part_count = count;
	return 0;
}

/* "BODY[<section>]<offset>" as the response names it. */
static int
section_name(const struct imap_arg *arg, const struct imap_fetch_item *item,
    char **name_r)
{
	struct buf b;
	int ok = 0;

	buf_init(&b, IMAP_LINE_MAX);
	ok |= buf_append_str(&b, item->binary_size ? "BINARY.SIZE[" :
	    item->binary ? "BINARY[" : "BODY[");
	ok |= append_upper(&b, arg->section);
	if (item->section.field_count > 0) {
		ok |= buf_append_str(&b, " (");
		for (size_t i = 0; i < item->section.field_count; i++) {
			struct buf up;

			buf_init(&up, 0);
			(void)append_upper(&up, item->fields[i]);
			if (i > 0)
				ok |= buf_append(&b, " ", 1);
			ok |= imap_write_astring(&b, buf_cstr(&up));
			buf_free(&up);
		}
		ok |= buf_append(&b, ")", 1);
	}
	ok |= buf_append(&b, "]", 1);
	if (item->has_partial)
		ok |= buf_printf(&b, "<%u>", item->partial_offset);
	if (ok != 0) {
		buf_free(&b);
		return -1;
	}
	*name_r = xstrdup(buf_cstr(&b));
	buf_free(&b);
	return 0;
}

static int
parse_section_att(struct imap_fetch_items *items, const struct imap_arg *arg,
    const char **error_r)
{
	struct imap_fetch_item *item;
	bool peek, binary = false, size = false;

	/* RFC 3516: BINARY reads (sets \Seen) as BODY does. */
	if (strcasecmp(arg->str, "BODY") == 0) {
		peek = false;
	} else if (strcasecmp(arg->str, "BODY.PEEK") == 0) {
		peek = true;
	} else if (strcasecmp(arg->str, "BINARY") == 0) {
		binary = true;
		peek = false;
	} else if (strcasecmp(arg->str, "BINARY.PEEK") == 0) {
		binary = true;
		peek = true;
	} else if (strcasecmp(arg->str, "BINARY.SIZE") == 0) {
		size = true;
		peek = true;
	} else {
		*error_r = "Unknown FETCH attribute";
		return -1;
	}
	item = section_add(items, "", MESSAGE_SECTION_BODY, !peek);
	item->binary = binary;
	item->binary_size = size;
	if (parse_section(arg, item, error_r) < 0)
		return -1;
	/* section-binary = "[" [section-part] "]" (RFC 3516). */
	if ((binary || size) && (item->section.kind != MESSAGE_SECTION_BODY ||
	    (size && arg->has_partial))) {
		*error_r = "Invalid BINARY section";
		return -1;
	}
	item->has_partial = arg->has_partial;
	item->partial_offset = arg->partial_offset;
	item->partial_size = arg->partial_size;
	free(item->name);
	item->name = NULL;
	if (section_name(arg, item, &item->name) < 0) {
		item->name = xstrdup("");
		*error_r = "Section too long";
		return -1;
	}
	section_done(items, item);
	return 0;
}

/* The FETCH attributes sent as atoms (RFC 3501 6.4.5). RFC822 is
 * BODY[], RFC822.HEADER BODY.PEEK[HEADER] and RFC822.TEXT BODY[TEXT],
 * each answered under its own name. */
static const struct fetch_att {
	const char *name;
	enum imap_fetch_att att;
	enum message_section_kind kind;	/* IMAP_FETCH_SECTION: which */
	bool sets_seen;			/* IMAP_FETCH_SECTION: not a peek */
} fetch_atts[] = {
	{ "FLAGS", IMAP_FETCH_FLAGS, MESSAGE_SECTION_BODY, false },
	{ "UID", IMAP_FETCH_UID, MESSAGE_SECTION_BODY, false },
	{ "MODSEQ", IMAP_FETCH_MODSEQ, MESSAGE_SECTION_BODY, false },
	{ "INTERNALDATE", IMAP_FETCH_INTERNALDATE, MESSAGE_SECTION_BODY,
	    false },
	{ "RFC822.SIZE", IMAP_FETCH_RFC822_SIZE, MESSAGE_SECTION_BODY, false },
	{ "ENVELOPE", IMAP_FETCH_ENVELOPE, MESSAGE_SECTION_BODY, false },
	{ "BODYSTRUCTURE", IMAP_FETCH_BODYSTRUCTURE, MESSAGE_SECTION_BODY,
	    false },
	{ "BODY", IMAP_FETCH_BODY, MESSAGE_SECTION_BODY, false },
	{ "RFC822", IMAP_FETCH_SECTION, MESSAGE_SECTION_BODY, true },
	{ "RFC822.HEADER", IMAP_FETCH_SECTION, MESSAGE_SECTION_HEADER, false },
	{ "RFC822.TEXT", IMAP_FETCH_SECTION, MESSAGE_SECTION_TEXT, true },
};

static int
parse_att(struct imap_fetch_items *items, const struct imap_arg *arg,
    const char **error_r)
{
	const struct fetch_att *fa;
	const char *name;

	if (arg->type == IMAP_ARG_SECTION)
		return parse_section_att(items, arg, error_r);
	if (arg->type != IMAP_ARG_ATOM || !imap_arg_get_atom(arg, &name)) {
		*error_r = "Invalid FETCH attribute";
		return -1;
	}
	for (size_t i = 0; i < sizeof(fetch_atts) / sizeof(fetch_atts[0]);
	    i++) {
		fa = &fetch_atts[i];
		if (strcasecmp(name, fa->name) != 0)
			continue;
		if (fa->att != IMAP_FETCH_SECTION)
			item_add(items, fa->att, fa->name);
		else
			section_done(items, section_add(items, fa->name,
			    fa->kind, fa->sets_seen));
		return 0;
	}
	*error_r = "Unknown FETCH attribute";
	return -1;
}

int
imap_fetch_items_parse(const struct imap_arg *arg,
    struct imap_fetch_items **items_r, const char **error_r)
{
	static const struct {
		const char *name;
		const char *const atts[5];
	} macros[] = {
		{ "ALL", { "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE",
		    NULL } },
		{ "FAST", { "FLAGS", "INTERNALDATE", "RFC822.SIZE", NULL } },
		{ "FULL", { "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE",
		    "BODY" } },
	};
	struct imap_fetch_items *items = xcalloc(1, sizeof(*items));

	if (arg->type == IMAP_ARG_LIST) {
		if (arg->list_count == 0) {
			*error_r = "Empty FETCH attribute list";
			goto fail;
		}
		for (unsigned int i = 0; i < arg->list_count; i++)
			if (parse_att(items, &arg->list[i], error_r) < 0)
				goto fail;
		*items_r = items;
		return 0;
	}
	for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++) {
		if (!imap_arg_atom_equals(arg, macros[i].name))
			continue;
		for (size_t j = 0; j < 5 && macros[i].atts[j] != NULL; j++) {
			struct imap_arg a = {
				.type = IMAP_ARG_ATOM,
				.str = (char *)macros[i].atts[j],
				.len = strlen(macros[i].atts[j]),
			};

			if (parse_att(items, &a, error_r) < 0)
				goto fail;
		}
		*items_r = items;
		return 0;
	}
	if (parse_att(items, arg, error_r) < 0)
		goto fail;
	*items_r = items;
	return 0;
fail:
	imap_fetch_items_free(&items);
	return -1;
}
