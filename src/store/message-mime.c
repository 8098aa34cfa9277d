/*
 * BODYSTRUCTURE of a parsed message: GMime's MIME tree turned into our
 * struct message_part tree, with Content-Type and Content-Disposition
 * parameters (RFC 2045, RFC 2183, RFC 2231) and the byte range of every
 * part's header and body in the message.
 */
#include "store/message.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "lib/limits.h"
#include "lib/xmalloc.h"
#include "store/message-private.h"

/* ---- Parameters (RFC 2045, RFC 2183, RFC 2231) ---- */

static void
params_free(struct message_param *params, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		free(params[i].name);
		free(params[i].value);
	}
	free(params);
}

/* RFC 2231 7 attribute-char: what an extended value may hold unencoded. */
static bool
is_attribute_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || strchr("!#$&+-.^_`|~", c) != NULL;
}

/*
 * GMime joins RFC 2231 sections and decodes extended values to UTF-8,
 * keeping the charset and language it found. BODYSTRUCTURE sends an
 * extended parameter encoded, as written ("name*" = charset'lang'value,
 * as Dovecot does), so the value goes back into its charset and is
 * percent-encoded again; GMime has no call for encoding a single value.
 */
static char *
param_value_2231(const char *value, const char *charset, const char *lang)
{
	struct buf v;
	gsize len = 0;
	char *conv;
	const unsigned char *s;
	size_t i;
	char *res;

	conv = g_convert(value, -1, g_mime_charset_iconv_name(charset),
	    "UTF-8", NULL, &len, NULL);
	if (conv == NULL) {
		charset = "utf-8";
		len = strlen(value);
	}
	s = (const unsigned char *)(conv != NULL ? conv : value);
	buf_init(&v, 0);
	(void)buf_printf(&v, "%s'%s'", charset, lang != NULL ? lang : "");
	for (i = 0; i < len; i++) {
		if (is_attribute_char(s[i]))
			(void)buf_append(&v, &s[i], 1);
		else
			(void)buf_printf(&v, "%%%02X", s[i]);
	}
	res = xstrdup(buf_cstr(&v));
	buf_free(&v);
	g_free(conv);
	return res;
}

/* The first MESSAGE_MIME_PARAMS_MAX parameters of a GMime list. */
static void
params_from(GMimeParamList *list, struct message_param **params_r,
    size_t *count_r)
{
	int n = list == NULL ? 0 : g_mime_param_list_length(list), i;
	struct message_param *params;

	if (n > MESSAGE_MIME_PARAMS_MAX)
		n = MESSAGE_MIME_PARAMS_MAX;
	*params_r = NULL;
	*count_r = 0;
	if (n <= 0)
		return;
	params = xcalloc((size_t)n, sizeof(*params));
	for (i = 0; i < n; i++) {
		GMimeParam *p = g_mime_param_list_get_parameter_at(list, i);
		const char *name = g_mime_param_get_name(p);
		const char *value = g_mime_param_get_value(p);
		const char *charset = g_mime_param_get_charset(p);

		if (name == NULL)
			name = "";
		if (value == NULL)
			value = "";
		if (charset != NULL) {
			params[i].name = xasprintf("%s*", name);
			params[i].value = param_value_2231(value, charset,
			    g_mime_param_get_lang(p));
		} else {
			params[i].name = xstrdup(name);
			params[i].value = xstrdup(value);
		}
	}
	*params_r = params;
	*count_r = (size_t)n;
}

const char *
message_param_get(const struct message_param *params, size_t count,
    const char *name)
{
	size_t i;

	for (i = 0; i < count; i++) {
		if (strcasecmp(params[i].name, name) == 0)
			return params[i].value;
	}
	return NULL;
}

/* Content-Language (RFC 3282): the comma-separated tags. GMime has no
 * parser for this field; the tags are split at commas and trimmed. */
static void
languages_from(const char *value, struct message_part *part)
{
	char **tags = g_strsplit(value, ",", -1);
	size_t i;

	for (i = 0; tags[i] != NULL; i++) {
		char *tag = g_strstrip(tags[i]);

		if (tag[0] == '\0' ||
		    part->language_count >= MESSAGE_MIME_PARAMS_MAX)
			continue;
		part->languages = xreallocarray(part->languages,
		    part->language_count + 1, sizeof(*part->languages));
		part->languages[part->language_count++] = xstrdup(tag);
	}
	g_strfreev(tags);
}

/* ---- From GMime's tree to ours ---- */

void
message_part_drop(struct part *p)
{
	if (p != NULL)
		message_part_free(&p->pub);
}

/* A stream offset from GMime as a position in the message. */
static size_t
conv_pos(const struct conv *c, gint64 off)
{
	off -= c->base;
	if (off < 0)
		return 0;
	return (guint64)off > c->size ? c->size : (size_t)off;
}

static size_t
line_end(const struct conv *c, size_t pos)
{
	const unsigned char *q;

	if (pos >= c->size)
		return c->size;
	q = memchr(c->data + pos, '\n', c->size - pos);
	return q == NULL ? c->size : (size_t)(q - c->data) + 1;
}

static bool
line_is_blank(const struct conv *c, size_t pos, size_t le)
{
	return (le - pos == 1 && c->data[pos] == '\n') ||
	    (le - pos == 2 && c->data[pos] == '\r' &&
	    c->data[pos + 1] == '\n');
}

/*
 * GMime skips lines at the start of a header block that are not fields
 * (an mbox "From " line, garbage) but reports the first field after them
 * at the offset of the first such line: the field is the line of the
 * block that starts with its raw name and colon.
 */
static size_t
field_line(const struct conv *c, size_t pos, const char *raw_name)
{
	size_t len = strlen(raw_name), le;

	for (; pos < c->size; pos = le) {
		if (c->size - pos > len &&
		    memcmp(c->data + pos, raw_name, len) == 0 &&
		    c->data[pos + len] == ':')
			return pos;
		le = line_end(c, pos);
		if (line_is_blank(c, pos, le))
			break;
	}
	return pos;
}

/*
 * Add the fields of a GMime header list to *fields; return the end of
 * the last one (or 0). GMime gives each field's offset and its raw name
 * and value, which together are the field's bytes.
 */
static size_t
fields_add(const struct conv *c, GMimeObject *obj, struct field **fields,
    size_t *count)
{
	GMimeHeaderList *list = g_mime_object_get_header_list(obj);
	int n = list == NULL ? 0 : g_mime_header_list_get_count(list), i;
	size_t last = 0;

	for (i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(list, i);
		const char *raw_name = g_mime_header_get_raw_name(h);
		const char *raw_value = g_mime_header_get_raw_value(h);
		struct field f;

		f.start = conv_pos(c, g_mime_header_get_offset(h));
		if (i == 0)
			f.start = field_line(c, f.start, raw_name);
		f.value_start = f.start + strlen(raw_name) + 1;
		if (f.value_start > c->size)
			f.value_start = c->size;
		f.end = f.value_start + strlen(raw_value);
		if (f.end > c->size)
			f.end = c->size;
		if (f.end > last)
			last = f.end;
		if (fields != NULL) {
			f.name = xstrdup(g_mime_header_get_name(h));
			*fields = xreallocarray(*fields, *count + 1,
			    sizeof(**fields));
			(*fields)[(*count)++] = f;
		}
	}
	return last;
}

/*
 * Where the body of a part starts that GMime gives no content stream
 * for (multipart, message/rfc822): GMime ends a header block at its
 * first empty line, which follows the last field it kept.
 */
static size_t
body_start_after(const struct conv *c, size_t pos)
{
	size_t le;

	for (; pos < c->size; pos = le) {
		le = line_end(c, pos);
		if (line_is_blank(c, pos, le))
			return le;
	}
	return c->size;
}

/*
 * The position after a preamble or epilogue GMime read from pos on.
 * GMime keeps that text with CRLF turned into LF, so a LF in it matches
 * CRLF here.
 */
static size_t
skip_text(const struct conv *c, size_t pos, const char *text)
{
	for (; *text != '\0' && pos < c->size; text++) {
		if (*text == '\n' && c->data[pos] == '\r' &&
		    pos + 1 < c->size && c->data[pos + 1] == '\n')
			pos += 2;
		else if ((unsigned char)*text == c->data[pos])
			pos++;
		else
			break;
	}
	return pos;
}

/*
 * The delimiter line GMime found after content ending at pos: content
 * ends before the line break that belongs to the delimiter (RFC 2046
 * 5.1.1), or at the delimiter itself when it is empty. Delimiter lines
 * start with "--".
 */
static size_t
delimiter_at(const struct conv *c, size_t pos)
{
	if (pos >= c->size)
		return c->size;
	if ((pos == 0 || c->data[pos - 1] == '\n') && c->data[pos] == '-')
		return pos;
	return line_end(c, pos);
}

/* The end of a body followed by the delimiter line at delim: the line
 * break before it belongs to the delimiter. */
static size_t
end_before(const struct conv *c, size_t start, size_t delim)
{
	if (delim >= c->size)
		return delim;
	if (delim > start && c->data[delim - 1] == '\n')
		delim--;
	if (delim > start && c->data[delim - 1] == '\r')
		delim--;
	return delim;
}

void
message_part_set_end(const struct conv *c, struct message_part *part,
    size_t end)
{
	if (end < part->raw_body_start)
		end = part->raw_body_start;
	part->raw_body_end = end;
	part->size = message_crlf_size(c->data + part->raw_body_start,
	    end - part->raw_body_start);
	part->lines = message_count_lines(c->data + part->raw_body_start,
	    end - part->raw_body_start);
}

/* An empty message: the body of a message/rfc822 part GMime found no
 * message in (its delimiter follows at once, or nothing does). */
struct part *
message_part_empty(struct conv *c, size_t pos)
{
	struct part *p = xcalloc(1, sizeof(*p));
	struct message_part *part = &p->pub;

	c->parts++;
	part->kind = MESSAGE_PART_TEXT;
	part->type = xstrdup("text");
	part->subtype = xstrdup("plain");
	part->params = xcalloc(1, sizeof(*part->params));
	part->params[0].name = xstrdup("charset");
	part->params[0].value = xstrdup("us-ascii");
	part->param_count = 1;
	part->encoding = xstrdup("7bit");
	part->raw_header_start = part->raw_body_start = pos;
	message_part_set_end(c, part, pos);
	return p;
}

/* Type, subtype and parameters, and the other MIME fields of a part. */
static void
part_describe(struct conv *c, struct part *p, GMimeObject *obj,
    bool in_digest)
{
	struct message_part *part = &p->pub;
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	GMimeContentDisposition *cd;
	const char *type = NULL, *subtype = NULL;
	char *v;

	if (ct != NULL && message_field_find(p, "Content-Type") != NULL) {
		type = g_mime_content_type_get_media_type(ct);
		subtype = g_mime_content_type_get_media_subtype(ct);
	}
	/* GMime reads a Content-Type it cannot parse as
	 * application/octet-stream while building the part for the default
	 * type: the part's class tells which. */
	if (type == NULL || subtype == NULL ||
	    (GMIME_IS_TEXT_PART(obj) &&
	    g_ascii_strcasecmp(type, "text") != 0) ||
	    (GMIME_IS_MESSAGE_PART(obj) &&
	    g_ascii_strcasecmp(type, "message") != 0)) {
		/* RFC 2045 5.2, RFC 2046 5.1.5 */
		part->type = xstrdup(in_digest ? "message" : "text");
		part->subtype = xstrdup(in_digest ? "rfc822" : "plain");
		if (!in_digest) {
			part->params = xcalloc(1, sizeof(*part->params));
			part->params[0].name = xstrdup("charset");
			part->params[0].value = xstrdup("us-ascii");
			part->param_count = 1;
		}
	} else {
		part->type = xstrdup(type);
		part->subtype = xstrdup(subtype);
		params_from(g_mime_content_type_get_parameters(ct),
		    &part->params, &part->param_count);
	}

	part->encoding = message_field_value(c->data, p, "Content-Transfer-Encoding");
	if (part->encoding == NULL || part->encoding[0] == '\0') {
		free(part->encoding);
		part->encoding = xstrdup("7bit");
	}
	part->id = message_field_value(c->data, p, "Content-ID");
	part->description = message_field_value(c->data, p, "Content-Description");
	part->location = message_field_value(c->data, p, "Content-Location");
	cd = g_mime_object_get_content_disposition(obj);
	if (cd != NULL && message_field_find(p, "Content-Disposition") != NULL) {
		const char *d = g_mime_content_disposition_get_disposition(cd);

		if (d != NULL && d[0] != '\0') {
			part->disposition = xstrdup(d);
			params_from(
			    g_mime_content_disposition_get_parameters(cd),
			    &part->disposition_params,
			    &part->disposition_param_count);
		}
	}
	if ((v = message_field_value(c->data, p, "Content-Language")) != NULL)
		languages_from(v, part);
	free(v);
}


/*
 * The children of a multipart whose body starts at pos, in the order
 * GMime found them; parts beyond MESSAGE_MIME_PARTS_MAX are only
 * measured (their delimiters are body text of the multipart). Returns
 * the end of the multipart's body, or SIZE_MAX on error.
 */
static size_t
conv_children(struct conv *c, GMimeObject *obj, struct message_part *part,
    size_t pos, unsigned depth)
{
	GMimeMultipart *mp = GMIME_MULTIPART(obj);
	const char *text = g_mime_multipart_get_prologue(mp);
	bool digest = g_mime_content_type_is_type(
	    g_mime_object_get_content_type(obj), "multipart", "digest");
	int n = g_mime_multipart_get_count(mp), i;
	size_t cap = 0, delim, close_end;

	if (text != NULL)
		pos = skip_text(c, pos, text);
	/* GMime uses the boundary parameter as it parsed it; without one,
	 * the whole body is preamble. */
	if (g_mime_object_get_content_type_parameter(obj, "boundary") == NULL)
		return pos;
	for (i = 0; i < n; i++) {
		GMimeObject *child = g_mime_multipart_get_part(mp, i);
		struct part *cp = NULL;
		bool build = part != NULL && c->parts < MESSAGE_MIME_PARTS_MAX;
		size_t start = line_end(c, delimiter_at(c, pos)), end;

		end = message_conv_part(c, child, NULL, start, depth + 1, digest,
		    build ? &cp : NULL);
		if (end == SIZE_MAX) {
			message_part_drop(cp);
			return SIZE_MAX;
		}
		if (cp != NULL) {
			if (part->child_count == cap) {
				cap = cap == 0 ? 4 : cap * 2;
				part->children = xreallocarray(part->children,
				    cap, sizeof(*part->children));
			}
			part->children[part->child_count++] = &cp->pub;
		}
		pos = end;
		/* GMime may end a leaf one byte early when the delimiter's
		 * line break differs from the body's; the delimiter
		 * decides. */
		if (cp != NULL && GMIME_IS_PART(child) &&
		    (i + 1 < n || mp->write_end_boundary))
			message_part_set_end(c, &cp->pub, end_before(c,
			    cp->pub.raw_body_start, delimiter_at(c, end)));
	}
	if (!mp->write_end_boundary)
		return pos;	/* ended by an enclosing delimiter or EOF */
	delim = delimiter_at(c, pos);
	close_end = line_end(c, delim);
	if ((text = g_mime_multipart_get_epilogue(mp)) != NULL)
		return skip_text(c, close_end, text);
	return close_end >= c->size ? c->size :
	    end_before(c, delim, close_end);
}

/*
 * The message/ part obj, whose body starts at body: message/rfc822
 * below MESSAGE_MIME_PARTS_MAX parts is a MESSAGE part with the
 * encapsulated message as its child and its envelope; otherwise a basic
 * part, the inner message only measured. Returns the end of the part's
 * body, or SIZE_MAX with c->error set.
 */
static size_t
conv_message_part(struct conv *c, GMimeObject *obj,
    struct message_part *part, size_t body, unsigned depth)
{
	GMimeMessage *inner = g_mime_message_part_get_message(
	    GMIME_MESSAGE_PART(obj));
	GMimeObject *top = inner == NULL ? NULL :
	    g_mime_message_get_mime_part(inner);
	struct part *cp = NULL;
	size_t end;

	if (part != NULL &&
	    g_ascii_strcasecmp(part->subtype, "rfc822") == 0 &&
	    c->parts < MESSAGE_MIME_PARTS_MAX) {
		part->kind = MESSAGE_PART_MESSAGE;
		part->children = xcalloc(1, sizeof(*part->children));
		if (top == NULL) {
			cp = message_part_empty(c, body);
			end = body;
		} else {
			end = message_conv_part(c, top, inner, body,
			    depth + 1, false, &cp);
			if (end == SIZE_MAX) {
				message_part_drop(cp);
				return SIZE_MAX;
			}
		}
		part->children[0] = &cp->pub;
		part->child_count = 1;
		part->envelope = message_envelope_from(c->data, cp);
	} else {
		if (part != NULL)
			part->kind = MESSAGE_PART_BASIC;
		end = top == NULL ? body : message_conv_part(c, top, inner,
		    body, depth + 1, false, NULL);
	}
	return end;
}

/*
 * Describe the GMime part obj whose header starts at hstart (msg: the
 * message obj is the top part of, whose fields share its header block).
 * With part_r NULL the part is only measured. Returns the end of the
 * part's body, or SIZE_MAX with c->error set.
 */
size_t
message_conv_part(struct conv *c, GMimeObject *obj, GMimeMessage *msg,
    size_t hstart, unsigned depth, bool in_digest, struct part **part_r)
{
	struct part *p = NULL;
	struct message_part *part = NULL;
	GMimeDataWrapper *content = NULL;
	GMimeStream *stream = NULL;
	size_t hend, body, end;

	if (part_r != NULL) {
		*part_r = NULL;
		if (depth > MESSAGE_MIME_DEPTH_MAX) {
			c->error = "MIME parts nested too deep";
			return SIZE_MAX;
		}
		p = xcalloc(1, sizeof(*p));
		part = &p->pub;
		*part_r = p;
		c->parts++;
		part->raw_header_start = hstart;
	}

	/* The header block and where the body starts. */
	hend = fields_add(c, obj, p != NULL ? &p->fields : NULL,
	    p != NULL ? &p->field_count : NULL);
	if (msg != NULL) {
		size_t e = fields_add(c, GMIME_OBJECT(msg),
		    p != NULL ? &p->fields : NULL,
		    p != NULL ? &p->field_count : NULL);

		if (e > hend)
			hend = e;
	}
	if (p != NULL && p->field_count > 1)
		qsort(p->fields, p->field_count, sizeof(*p->fields),
		    message_field_cmp);
	if (hend < hstart)
		hend = hstart;
	if (GMIME_IS_PART(obj))
		content = g_mime_part_get_content(GMIME_PART(obj));
	if (content != NULL)
		stream = g_mime_data_wrapper_get_stream(content);
	if (stream != NULL) {
		body = conv_pos(c, stream->bound_start);
		if (body < hend)
			body = hend;
	} else {
		body = body_start_after(c, hend);
	}
	if (part != NULL) {
		part->raw_body_start = body;
		part_describe(c, p, obj, in_digest);
	}

	if (GMIME_IS_MULTIPART(obj)) {
		if (part != NULL)
			part->kind = MESSAGE_PART_MULTIPART;
		end = conv_children(c, obj, part, body, depth);
		if (end == SIZE_MAX)
			return SIZE_MAX;
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		end = conv_message_part(c, obj, part, body, depth);
		if (end == SIZE_MAX)
			return SIZE_MAX;
	} else {
		if (part != NULL)
			part->kind = g_ascii_strcasecmp(part->type,
			    "text") == 0 ? MESSAGE_PART_TEXT :
			    MESSAGE_PART_BASIC;
		end = stream != NULL ? conv_pos(c, stream->bound_end) :
		    c->size;
	}
	if (end < body)
		end = body;
	if (part != NULL)
		message_part_set_end(c, part, end);
	return end;
}

void
message_part_free(struct message_part *part)
{
	struct part *p = (struct part *)(void *)part;
	size_t i;

	if (part == NULL)
		return;
	for (i = 0; i < part->child_count; i++)
		message_part_free(part->children[i]);
	free(part->children);
	free(part->type);
	free(part->subtype);
	params_free(part->params, part->param_count);
	free(part->id);
	free(part->description);
	free(part->encoding);
	free(part->location);
	free(part->disposition);
	params_free(part->disposition_params, part->disposition_param_count);
	for (i = 0; i < part->language_count; i++)
		free(part->languages[i]);
	free(part->languages);
	message_envelope_free(part->envelope);
	for (i = 0; i < p->field_count; i++)
		free(p->fields[i].name);
	free(p->fields);
	free(p);
}
