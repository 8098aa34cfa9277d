/*
 * Parsed messages for IMAP FETCH and SEARCH. GMime parses the message:
 * GMimeParser builds the MIME tree over a memory stream of the message,
 * with persistent content streams so that every leaf keeps its byte range
 * in the message, and with the offset and raw text of every header
 * field. This module turns that tree into our own structures: types,
 * parameters and dispositions from GMimeContentType, GMimeParamList and
 * GMimeContentDisposition, and the byte ranges BODY[section] needs from
 * the offsets GMime reports. GMime also decodes RFC 2047 words, dates,
 * transfer encodings and charsets for SEARCH.
 */
#include "store/message.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include "lib/limits.h"
#include "lib/xmalloc.h"

/* One header field, as positions in the message. */
struct field {
	size_t start;		/* first byte of the name */
	size_t value_start;	/* after the colon */
	size_t end;		/* after the value and its line break */
	char *name;		/* as GMime reports it (no trailing blanks) */
};

/* A part with the fields of its header block, in message order; for the
 * top part of a message these are the message's fields too. */
struct part {
	struct message_part pub;	/* first: parts are handed out as
					   struct message_part */
	struct field *fields;
	size_t field_count;
};

struct message {
	GByteArray *bytes;		/* the message as stored (LF or CRLF) */
	const unsigned char *data;	/* bytes->data */
	size_t size;
	uint64_t crlf_size;		/* size with CRLF line ends */
	struct message_envelope *envelope;
	struct message_part *root;
};

static const struct part *
part_priv(const struct message_part *p)
{
	return (const struct part *)(const void *)p;
}

/* ---- GMime set-up ---- */

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

static void
gmime_init_cb(void)
{
	g_mime_init();
}

static void
gmime_ready(void)
{
	pthread_once(&gmime_once, gmime_init_cb);
}

void
message_lib_deinit(void)
{
	gmime_ready();
	g_mime_shutdown();
}

/* ---- Bytes and lines ---- */

static bool
is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* The size of len raw bytes once every bare LF is CRLF. */
static uint64_t
crlf_size(const unsigned char *p, size_t len)
{
	uint64_t n = len;
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			n++;
	}
	return n;
}

static uint64_t
count_lines(const unsigned char *p, size_t len)
{
	uint64_t n = 0;
	const unsigned char *end = p + len, *q;

	while (p < end && (q = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		n++;
		p = q + 1;
	}
	return n;
}

/* Append len raw bytes to out with every bare LF turned into CRLF. */
static int
append_crlf(struct buf *out, const unsigned char *p, size_t len)
{
	size_t i, run = 0;

	for (i = 0; i < len; i++) {
		if (p[i] != '\n' || (i > 0 && p[i - 1] == '\r'))
			continue;
		if (buf_append(out, p + run, i - run) < 0 ||
		    buf_append(out, "\r\n", 2) < 0)
			return -1;
		run = i + 1;
	}
	return buf_append(out, p + run, len - run);
}

/* ---- Address lists for ENVELOPE (RFC 5322 3.4, RFC 3501 7.4.2) ----
 *
 * This reader stays here rather than in GMime's InternetAddressList:
 * ENVELOPE sends each display name as written (RFC 2047 words left
 * encoded, 8-bit bytes as they are) and the source route of obsolete
 * route-addrs, while GMime decodes and charset-converts names and drops
 * routes, with no option to keep either and no positions to recover
 * them from the raw field. It only ever sees one unfolded field value.
 */

/* A cursor over a NUL-terminated unfolded header value. */
struct rd {
	const char *p;
	struct buf comment;	/* text of the last comment skipped */
};

/* Skip white space and comments (nested, with quoted pairs); the text of
 * the last comment is kept in r->comment. */
static void
rd_skip_cfws(struct rd *r)
{
	int level;

	for (;;) {
		while (is_wsp((unsigned char)*r->p) || *r->p == '\r' ||
		    *r->p == '\n')
			r->p++;
		if (*r->p != '(')
			return;
		buf_reset(&r->comment);
		r->p++;
		for (level = 1; *r->p != '\0' && level > 0; r->p++) {
			if (*r->p == '\\' && r->p[1] != '\0')
				r->p++;
			else if (*r->p == '(')
				level++;
			else if (*r->p == ')' && --level == 0)
				continue;
			(void)buf_append(&r->comment, r->p, 1);
		}
	}
}

/* RFC 5322 3.2.3 atext; 8-bit bytes are accepted as text too. */
static bool
is_atext(unsigned char c)
{
	if (c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* A quoted-string at r->p, appended to out without quotes and escapes. */
static bool
rd_quoted(struct rd *r, struct buf *out)
{
	if (*r->p != '"')
		return false;
	for (r->p++; *r->p != '\0' && *r->p != '"'; r->p++) {
		if (*r->p == '\\' && r->p[1] != '\0')
			r->p++;
		(void)buf_append(out, r->p, 1);
	}
	if (*r->p == '"')
		r->p++;
	return true;
}

/* An atom (dots allowed if dot), appended to out. */
static bool
rd_atom(struct rd *r, struct buf *out, bool dot)
{
	const char *s = r->p;

	while (is_atext((unsigned char)*r->p) || (dot && *r->p == '.'))
		r->p++;
	(void)buf_append(out, s, (size_t)(r->p - s));
	return r->p != s;
}

/* A phrase (RFC 5322 3.2.5, with obsolete dots): words joined by one
 * space into out. Returns false if there was no word. */
static bool
rd_phrase(struct rd *r, struct buf *out)
{
	bool any = false;

	buf_reset(out);
	for (;;) {
		size_t len = out->len;

		rd_skip_cfws(r);
		if (any)
			(void)buf_append(out, " ", 1);
		if (*r->p == '"' ? rd_quoted(r, out) : rd_atom(r, out, true)) {
			any = true;
			continue;
		}
		out->len = len;
		if (out->data != NULL)
			out->data[len] = '\0';
		return any;
	}
}

/* dot-atom with white space or comments allowed around the dots, or a
 * domain literal kept with its brackets. */
static bool
rd_domain(struct rd *r, struct buf *out)
{
	const char *s;

	rd_skip_cfws(r);
	if (*r->p == '[') {
		s = r->p;
		while (*r->p != '\0' && *r->p != ']')
			r->p++;
		if (*r->p == ']')
			r->p++;
		(void)buf_append(out, s, (size_t)(r->p - s));
		return true;
	}
	if (!rd_atom(r, out, false))
		return false;
	for (;;) {
		const char *save = r->p;

		rd_skip_cfws(r);
		if (*r->p != '.') {
			r->p = save;
			return true;
		}
		r->p++;
		rd_skip_cfws(r);
		(void)buf_append(out, ".", 1);
		if (!rd_atom(r, out, false))
			return true;
	}
}

/* local-part: a quoted string or a dot-atom. */
static bool
rd_local(struct rd *r, struct buf *out)
{
	bool any = false;

	rd_skip_cfws(r);
	if (*r->p == '"')
		return rd_quoted(r, out);
	for (;;) {
		if (!rd_atom(r, out, false) && !any)
			return false;
		any = true;
		rd_skip_cfws(r);
		if (*r->p != '.')
			return true;
		r->p++;
		(void)buf_append(out, ".", 1);
		rd_skip_cfws(r);
	}
}

/* ---- Address lists (RFC 5322 3.4) ---- */

static void
addr_push(struct message_address_list *l, size_t *cap, const char *name,
    const char *adl, const char *mailbox, const char *host)
{
	struct message_address *a;

	if (l->count == *cap) {
		*cap = *cap == 0 ? 4 : *cap * 2;
		l->addrs = xreallocarray(l->addrs, *cap, sizeof(*l->addrs));
	}
	a = &l->addrs[l->count++];
	a->name = name == NULL ? NULL : xstrdup(name);
	a->adl = adl == NULL ? NULL : xstrdup(adl);
	a->mailbox = mailbox == NULL ? NULL : xstrdup(mailbox);
	a->host = host == NULL ? NULL : xstrdup(host);
}

/*
 * mailbox = name-addr / addr-spec, at r->p. Adds one address unless
 * nothing at all could be read (then r->p is not moved).
 */
static bool
parse_mailbox(struct rd *r, struct message_address_list *l, size_t *cap)
{
	struct buf name, adl, local, domain;
	const char *start = r->p;
	const char *nm = NULL;
	bool ok = false, have_local, have_domain = false;

	buf_init(&name, 0);
	buf_init(&adl, 0);
	buf_init(&local, 0);
	buf_init(&domain, 0);
	(void)rd_phrase(r, &name);
	rd_skip_cfws(r);
	if (*r->p == '<') {
		/* name-addr = [display-name] "<" [route ":"] addr-spec ">" */
		r->p++;
		rd_skip_cfws(r);
		while (*r->p == '@') {
			if (adl.len > 0)
				(void)buf_append(&adl, ",", 1);
			(void)buf_append(&adl, "@", 1);
			r->p++;
			(void)rd_domain(r, &adl);
			rd_skip_cfws(r);
			while (*r->p == ',') {
				r->p++;
				rd_skip_cfws(r);
			}
			if (*r->p == ':') {
				r->p++;
				break;
			}
		}
		have_local = rd_local(r, &local);
		rd_skip_cfws(r);
		if (*r->p == '@') {
			r->p++;
			have_domain = rd_domain(r, &domain);
		}
		rd_skip_cfws(r);
		while (*r->p != '\0' && *r->p != '>' && *r->p != ',')
			r->p++;
		if (*r->p == '>')
			r->p++;
		if (name.len > 0)
			nm = buf_cstr(&name);
		ok = true;
	} else {
		/* addr-spec; a comment after it names the owner. */
		r->p = start;
		buf_reset(&r->comment);
		have_local = rd_local(r, &local);
		if (*r->p == '@') {
			r->p++;
			have_domain = rd_domain(r, &domain);
		}
		rd_skip_cfws(r);
		if (r->comment.len > 0)
			nm = buf_cstr(&r->comment);
		ok = r->p != start;
	}
	if (ok) {
		addr_push(l, cap, nm, adl.len > 0 ? buf_cstr(&adl) : NULL,
		    have_local && local.len > 0 ? buf_cstr(&local) :
		    "MISSING_MAILBOX",
		    have_domain && domain.len > 0 ? buf_cstr(&domain) :
		    "MISSING_DOMAIN");
	}
	buf_free(&name);
	buf_free(&adl);
	buf_free(&local);
	buf_free(&domain);
	return ok;
}

/* Skip to the next ',' outside quotes and comments (garbage recovery). */
static void
skip_to_comma(struct rd *r)
{
	while (*r->p != '\0' && *r->p != ',') {
		if (*r->p == '"') {
			struct buf junk;

			buf_init(&junk, 0);
			(void)rd_quoted(r, &junk);
			buf_free(&junk);
		} else if (*r->p == '(') {
			rd_skip_cfws(r);
		} else {
			r->p++;
		}
	}
}

/* address-list (RFC 5322 3.4) with groups as RFC 3501 lays them out. */
static void
parse_address_list(const char *value, struct message_address_list *l)
{
	struct rd r = { .p = value };
	struct buf phrase;
	size_t cap = 0;
	const char *start;

	memset(l, 0, sizeof(*l));
	if (value == NULL)
		return;
	buf_init(&r.comment, 0);
	buf_init(&phrase, 0);
	for (;;) {
		rd_skip_cfws(&r);
		if (*r.p == '\0')
			break;
		if (*r.p == ',') {
			r.p++;
			continue;
		}
		start = r.p;
		if (rd_phrase(&r, &phrase) && (rd_skip_cfws(&r), *r.p == ':')) {
			/* group = display-name ":" [mailbox-list] ";" */
			r.p++;
			addr_push(l, &cap, NULL, NULL, buf_cstr(&phrase), NULL);
			for (;;) {
				rd_skip_cfws(&r);
				if (*r.p == '\0')
					break;
				if (*r.p == ';') {
					r.p++;
					break;
				}
				if (*r.p == ',') {
					r.p++;
					continue;
				}
				if (!parse_mailbox(&r, l, &cap))
					r.p++;
				rd_skip_cfws(&r);
				if (*r.p != ',' && *r.p != ';' &&
				    *r.p != '\0')
					skip_to_comma(&r);
			}
			addr_push(l, &cap, NULL, NULL, NULL, NULL);
			continue;
		}
		r.p = start;
		if (!parse_mailbox(&r, l, &cap))
			r.p++;
		rd_skip_cfws(&r);
		if (*r.p != ',' && *r.p != '\0')
			skip_to_comma(&r);
	}
	buf_free(&phrase);
	buf_free(&r.comment);
}

static void
address_list_copy(struct message_address_list *dst,
    const struct message_address_list *src)
{
	size_t cap = 0, i;

	memset(dst, 0, sizeof(*dst));
	for (i = 0; i < src->count; i++) {
		const struct message_address *a = &src->addrs[i];

		addr_push(dst, &cap, a->name, a->adl, a->mailbox, a->host);
	}
}

static void
address_list_free(struct message_address_list *l)
{
	size_t i;

	for (i = 0; i < l->count; i++) {
		free(l->addrs[i].name);
		free(l->addrs[i].adl);
		free(l->addrs[i].mailbox);
		free(l->addrs[i].host);
	}
	free(l->addrs);
	memset(l, 0, sizeof(*l));
}

/* ---- Header fields ---- */

/* The raw value of a field as a NUL-terminated string; g_free it. */
static char *
field_raw(const unsigned char *data, const struct field *f)
{
	return g_strndup((const char *)data + f->value_start,
	    f->end - f->value_start);
}

/* The value unfolded (RFC 5322 2.2.3) and trimmed, as GMime does it;
 * malloc'd. */
static char *
field_unfolded(const unsigned char *data, const struct field *f)
{
	char *raw = field_raw(data, f);
	char *unfolded = g_mime_utils_header_unfold(raw);
	char *v = xstrdup(unfolded);

	g_free(unfolded);
	g_free(raw);
	return v;
}

static const struct field *
field_find(const struct part *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->field_count; i++) {
		if (g_ascii_strcasecmp(p->fields[i].name, name) == 0)
			return &p->fields[i];
	}
	return NULL;
}

/* The first field named name, unfolded (malloc'd), or NULL. */
static char *
field_value(const unsigned char *data, const struct part *p,
    const char *name)
{
	const struct field *f = field_find(p, name);

	return f == NULL ? NULL : field_unfolded(data, f);
}

static int
field_cmp(const void *a, const void *b)
{
	const struct field *fa = a, *fb = b;

	return fa->start < fb->start ? -1 : fa->start > fb->start;
}

/* ---- Envelope ---- */

static struct message_envelope *
envelope_from(const unsigned char *data, const struct part *top)
{
	struct message_envelope *env = xcalloc(1, sizeof(*env));
	struct {
		const char *name;
		struct message_address_list *list;
	} lists[] = {
		{ "From", &env->from },
		{ "Sender", &env->sender },
		{ "Reply-To", &env->reply_to },
		{ "To", &env->to },
		{ "Cc", &env->cc },
		{ "Bcc", &env->bcc },
	};
	size_t i;

	env->date = field_value(data, top, "Date");
	env->subject = field_value(data, top, "Subject");
	env->in_reply_to = field_value(data, top, "In-Reply-To");
	env->message_id = field_value(data, top, "Message-ID");
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		char *v = field_value(data, top, lists[i].name);

		parse_address_list(v, lists[i].list);
		free(v);
	}
	/* RFC 3501 7.4.2: absent or empty Sender and Reply-To are From. */
	if (env->sender.count == 0)
		address_list_copy(&env->sender, &env->from);
	if (env->reply_to.count == 0)
		address_list_copy(&env->reply_to, &env->from);
	return env;
}

static void
envelope_free(struct message_envelope *env)
{
	if (env == NULL)
		return;
	free(env->date);
	free(env->subject);
	address_list_free(&env->from);
	address_list_free(&env->sender);
	address_list_free(&env->reply_to);
	address_list_free(&env->to);
	address_list_free(&env->cc);
	address_list_free(&env->bcc);
	free(env->in_reply_to);
	free(env->message_id);
	free(env);
}

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

static const char *
param_get(const struct message_param *params, size_t count,
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

struct conv {
	const unsigned char *data;	/* the message */
	size_t size;
	gint64 base;		/* stream offset of data[0] */
	size_t parts;		/* parts created so far */
	const char *error;
};

static void part_free(struct message_part *part);

static void
part_drop(struct part *p)
{
	if (p != NULL)
		part_free(&p->pub);
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

static void
part_set_end(const struct conv *c, struct message_part *part, size_t end)
{
	if (end < part->raw_body_start)
		end = part->raw_body_start;
	part->raw_body_end = end;
	part->size = crlf_size(c->data + part->raw_body_start,
	    end - part->raw_body_start);
	part->lines = count_lines(c->data + part->raw_body_start,
	    end - part->raw_body_start);
}

/* An empty message: the body of a message/rfc822 part GMime found no
 * message in (its delimiter follows at once, or nothing does). */
static struct part *
part_empty(struct conv *c, size_t pos)
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
	part_set_end(c, part, pos);
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

	if (ct != NULL && field_find(p, "Content-Type") != NULL) {
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

	part->encoding = field_value(c->data, p, "Content-Transfer-Encoding");
	if (part->encoding == NULL || part->encoding[0] == '\0') {
		free(part->encoding);
		part->encoding = xstrdup("7bit");
	}
	part->id = field_value(c->data, p, "Content-ID");
	part->description = field_value(c->data, p, "Content-Description");
	part->location = field_value(c->data, p, "Content-Location");
	cd = g_mime_object_get_content_disposition(obj);
	if (cd != NULL && field_find(p, "Content-Disposition") != NULL) {
		const char *d = g_mime_content_disposition_get_disposition(cd);

		if (d != NULL && d[0] != '\0') {
			part->disposition = xstrdup(d);
			params_from(
			    g_mime_content_disposition_get_parameters(cd),
			    &part->disposition_params,
			    &part->disposition_param_count);
		}
	}
	if ((v = field_value(c->data, p, "Content-Language")) != NULL)
		languages_from(v, part);
	free(v);
}

static size_t conv_part(struct conv *c, GMimeObject *obj,
    GMimeMessage *msg, size_t hstart, unsigned depth, bool in_digest,
    struct part **part_r);

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

		end = conv_part(c, child, NULL, start, depth + 1, digest,
		    build ? &cp : NULL);
		if (end == SIZE_MAX) {
			part_drop(cp);
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
			part_set_end(c, &cp->pub, end_before(c,
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
 * Describe the GMime part obj whose header starts at hstart (msg: the
 * message obj is the top part of, whose fields share its header block).
 * With part_r NULL the part is only measured. Returns the end of the
 * part's body, or SIZE_MAX with c->error set.
 */
static size_t
conv_part(struct conv *c, GMimeObject *obj, GMimeMessage *msg,
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
		    field_cmp);
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
		GMimeMessage *inner = g_mime_message_part_get_message(
		    GMIME_MESSAGE_PART(obj));
		GMimeObject *top = inner == NULL ? NULL :
		    g_mime_message_get_mime_part(inner);
		struct part *cp = NULL;

		if (part != NULL &&
		    g_ascii_strcasecmp(part->subtype, "rfc822") == 0 &&
		    c->parts < MESSAGE_MIME_PARTS_MAX) {
			part->kind = MESSAGE_PART_MESSAGE;
			part->children = xcalloc(1, sizeof(*part->children));
			if (top == NULL) {
				cp = part_empty(c, body);
				end = body;
			} else {
				end = conv_part(c, top, inner, body,
				    depth + 1, false, &cp);
				if (end == SIZE_MAX) {
					part_drop(cp);
					return SIZE_MAX;
				}
			}
			part->children[0] = &cp->pub;
			part->child_count = 1;
			part->envelope = envelope_from(c->data, cp);
		} else {
			if (part != NULL)
				part->kind = MESSAGE_PART_BASIC;
			end = top == NULL ? body : conv_part(c, top, inner,
			    body, depth + 1, false, NULL);
		}
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
		part_set_end(c, part, end);
	return end;
}

static void
part_free(struct message_part *part)
{
	struct part *p = (struct part *)(void *)part;
	size_t i;

	if (part == NULL)
		return;
	for (i = 0; i < part->child_count; i++)
		part_free(part->children[i]);
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
	envelope_free(part->envelope);
	for (i = 0; i < p->field_count; i++)
		free(p->fields[i].name);
	free(p->fields);
	free(p);
}

/* ---- Parsing ---- */

/*
 * The body of a message is all that follows its header. GMime leaves out
 * a last part whose header the message ends in, which would end an
 * unclosed multipart early: extend the top part (and an encapsulated
 * message's) to the end.
 */
static void
extend_to_end(const struct conv *c, struct message_part *part)
{
	part_set_end(c, part, c->size);
	if (part->kind == MESSAGE_PART_MESSAGE)
		extend_to_end(c, part->children[0]);
}

/* An encapsulating header: see message_parse_bytes(). */
#define ENCAPSULATION "Content-Type: message/rfc822\n\n"

/* A GMime stream over bytes, which stay ours. */
static GMimeStream *
stream_over(GByteArray *bytes)
{
	GMimeStream *stream = g_mime_stream_mem_new_with_byte_array(bytes);

	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
	return stream;
}

/* GMime's parse of bytes as a message (with encapsulated, as the
 * message of a message/rfc822 part); NULL if GMime found none. */
static GMimeMessage *
gmime_parse(GByteArray *bytes, bool encapsulated)
{
	GMimeStream *stream = stream_over(bytes);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *gmsg = NULL;
	GMimeObject *obj;

	/* Content stays in the stream, so leaves keep their byte ranges. */
	g_mime_parser_set_persist_stream(parser, TRUE);
	if (!encapsulated) {
		gmsg = g_mime_parser_construct_message(parser, NULL);
	} else if ((obj = g_mime_parser_construct_part(parser,
	    NULL)) != NULL) {
		if (GMIME_IS_MESSAGE_PART(obj) && (gmsg =
		    g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj)))
		    != NULL)
			g_object_ref(gmsg);
		g_object_unref(obj);
	}
	g_object_unref(parser);
	g_object_unref(stream);
	return gmsg;
}

/* Lines of data that start with "--", stopping once over limit. */
static size_t
delimiter_lines(const unsigned char *data, size_t size, size_t limit)
{
	const unsigned char *p = data, *end = data + size, *nl;
	size_t n = 0;

	while (p < end && n <= limit) {
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			n++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		p = nl + 1;
	}
	return n;
}

/* Parse the message in bytes (taken over). */
static int
message_parse_bytes(GByteArray *bytes, struct message **msg_r,
    const char **error_r)
{
	struct message *msg = xcalloc(1, sizeof(*msg));
	struct conv c = { 0 };
	GByteArray *wrapped = NULL;
	GMimeMessage *gmsg;
	GMimeObject *top = NULL;
	struct part *root = NULL;

	msg->bytes = bytes;
	msg->data = bytes->data;
	msg->size = bytes->len;
	msg->crlf_size = crlf_size(msg->data, msg->size);
	c.data = msg->data;
	c.size = msg->size;

	if (delimiter_lines(msg->data, msg->size,
	    MESSAGE_DELIMITER_LINES_MAX) > MESSAGE_DELIMITER_LINES_MAX) {
		*error_r = "too many MIME delimiter lines";
		message_free(&msg);
		return -1;
	}
	gmime_ready();
	gmsg = gmime_parse(bytes, false);
	if (gmsg == NULL) {
		/* GMime refuses a message whose first line is not a header
		 * field, or that is empty, but reads the same bytes as an
		 * encapsulated message (leniently, as inside a multipart). */
		wrapped = g_byte_array_sized_new(
		    (guint)(strlen(ENCAPSULATION) + msg->size));
		g_byte_array_append(wrapped,
		    (const guint8 *)ENCAPSULATION, strlen(ENCAPSULATION));
		g_byte_array_append(wrapped, msg->data, (guint)msg->size);
		gmsg = gmime_parse(wrapped, true);
		c.base = (gint64)strlen(ENCAPSULATION);
	}
	if (gmsg != NULL)
		top = g_mime_message_get_mime_part(gmsg);
	if (top == NULL) {
		/* Nothing GMime can read: the message ends inside its
		 * header, so all of it is header. */
		root = part_empty(&c, msg->size);
		root->pub.raw_header_start = 0;
	} else if (conv_part(&c, top, gmsg, 0, 1, false, &root) ==
	    SIZE_MAX) {
		part_drop(root);
		root = NULL;
	} else {
		extend_to_end(&c, &root->pub);
	}
	if (gmsg != NULL)
		g_object_unref(gmsg);
	if (wrapped != NULL)
		g_byte_array_unref(wrapped);
	if (root == NULL) {
		*error_r = c.error;
		message_free(&msg);
		return -1;
	}
	msg->root = &root->pub;
	msg->envelope = envelope_from(msg->data, root);
	*msg_r = msg;
	return 0;
}

int
message_parse(const void *data, size_t size, struct message **msg_r,
    const char **error_r)
{
	GByteArray *bytes;

	if (size > G_MAXUINT - strlen(ENCAPSULATION)) {
		*error_r = "message too large";
		return -1;
	}
	bytes = g_byte_array_sized_new((guint)size);
	if (size > 0)
		g_byte_array_append(bytes, data, (guint)size);
	return message_parse_bytes(bytes, msg_r, error_r);
}

int
message_parse_file(const char *path, struct message **msg_r,
    const char **error_r)
{
	struct stat st;
	guint8 *data;
	size_t size, got = 0;
	ssize_t n;
	int fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		*error_r = "cannot open message file";
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		*error_r = "cannot stat message file";
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		*error_r = "message file is not a regular file";
		return -1;
	}
	size = (size_t)st.st_size;
	if (size > G_MAXUINT - strlen(ENCAPSULATION)) {
		close(fd);
		errno = EFBIG;
		*error_r = "message too large";
		return -1;
	}
	data = g_malloc(size + 1);
	/* A file that shrinks while we read is a message being replaced:
	 * keep what was read, the UID list decides what is current. */
	while (got < size) {
		n = read(fd, data + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			saved = errno;
			g_free(data);
			close(fd);
			errno = saved;
			*error_r = "cannot read message file";
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return message_parse_bytes(g_byte_array_new_take(data, got), msg_r,
	    error_r);
}

void
message_free(struct message **msgp)
{
	struct message *msg = *msgp;

	if (msg == NULL)
		return;
	*msgp = NULL;
	part_free(msg->root);
	envelope_free(msg->envelope);
	if (msg->bytes != NULL)
		g_byte_array_unref(msg->bytes);
	free(msg);
}

uint64_t
message_size(const struct message *msg)
{
	return msg->crlf_size;
}

const struct message_envelope *
message_envelope(const struct message *msg)
{
	return msg->envelope;
}

const struct message_part *
message_body(const struct message *msg)
{
	return msg->root;
}

/* ---- Sections ---- */

const struct message_part *
message_part_find(const struct message *msg, const uint32_t *parts,
    size_t part_count)
{
	const struct message_part *cur = msg->root, *top;
	size_t i;

	for (i = 0; i < part_count; i++) {
		uint32_t k = parts[i];

		if (i == 0) {
			top = msg->root;
		} else if (cur->kind == MESSAGE_PART_MESSAGE) {
			top = cur->children[0];
		} else if (cur->kind == MESSAGE_PART_MULTIPART) {
			if (k < 1 || k > cur->child_count)
				return NULL;
			cur = cur->children[k - 1];
			continue;
		} else {
			return NULL;
		}
		/* Numbering the parts of a message (the top level, or one
		 * inside message/rfc822): a message that is not multipart
		 * has one part, its body. */
		if (top->kind == MESSAGE_PART_MULTIPART) {
			if (k < 1 || k > top->child_count)
				return NULL;
			cur = top->children[k - 1];
		} else {
			if (k != 1)
				return NULL;
			cur = top;
		}
	}
	return cur;
}

/* Append the fields of top's header block whose names are (or with not,
 * are not) among the section's fields, whole, then a blank line. */
static int
append_fields(const struct message *msg, const struct part *top,
    const struct message_section *section, bool not, struct buf *out)
{
	size_t i, j;
	bool listed;

	for (i = 0; i < top->field_count; i++) {
		const struct field *f = &top->fields[i];

		listed = false;
		for (j = 0; j < section->field_count && !listed; j++)
			listed = g_ascii_strcasecmp(f->name,
			    section->fields[j]) == 0;
		if (listed == not)
			continue;
		if (append_crlf(out, msg->data + f->start,
		    f->end - f->start) < 0)
			return -1;
		/* A last field without a line break still ends in CRLF. */
		if ((f->end == f->start || msg->data[f->end - 1] != '\n') &&
		    buf_append(out, "\r\n", 2) < 0)
			return -1;
	}
	return buf_append(out, "\r\n", 2);
}

int
message_section_get(const struct message *msg,
    const struct message_section *section, struct buf *out,
    const char **error_r)
{
	const struct message_part *part, *top;
	size_t start, end;
	int ret;

	if (section->part_count == 0) {
		part = top = msg->root;
	} else {
		part = message_part_find(msg, section->parts,
		    section->part_count);
		if (part == NULL) {
			*error_r = "no such part";
			return -1;
		}
		top = part->kind == MESSAGE_PART_MESSAGE ?
		    part->children[0] : NULL;
	}
	switch (section->kind) {
	case MESSAGE_SECTION_BODY:
		if (section->part_count == 0) {
			start = 0;
			end = msg->size;
		} else {
			start = part->raw_body_start;
			end = part->raw_body_end;
		}
		break;
	case MESSAGE_SECTION_MIME:
		if (section->part_count == 0) {
			*error_r = "MIME needs a part number";
			return -1;
		}
		start = part->raw_header_start;
		end = part->raw_body_start;
		break;
	case MESSAGE_SECTION_HEADER:
	case MESSAGE_SECTION_HEADER_FIELDS:
	case MESSAGE_SECTION_HEADER_FIELDS_NOT:
	case MESSAGE_SECTION_TEXT:
		if (top == NULL) {
			*error_r = "part is not a message";
			return -1;
		}
		if (section->kind == MESSAGE_SECTION_TEXT) {
			start = top->raw_body_start;
			end = top->raw_body_end;
		} else {
			start = top->raw_header_start;
			end = top->raw_body_start;
		}
		break;
	default:
		*error_r = "unknown section";
		return -1;
	}
	if (section->kind == MESSAGE_SECTION_HEADER_FIELDS ||
	    section->kind == MESSAGE_SECTION_HEADER_FIELDS_NOT) {
		ret = append_fields(msg, part_priv(top), section,
		    section->kind == MESSAGE_SECTION_HEADER_FIELDS_NOT, out);
	} else {
		ret = append_crlf(out, msg->data + start, end - start);
	}
	if (ret < 0) {
		*error_r = "section too large";
		return -1;
	}
	return 0;
}

/* ---- SEARCH ---- */

/* Case-folded UTF-8 of len bytes that should be UTF-8; g_free it. */
static char *
fold(const char *s, size_t len)
{
	char *valid = g_utf8_make_valid(s, (gssize)len);
	char *folded = g_utf8_casefold(valid, -1);

	g_free(valid);
	return folded;
}

/* The value of a field, unfolded, RFC 2047 words decoded; g_free it. */
static char *
field_decoded(const unsigned char *data, const struct field *f)
{
	char *raw = field_raw(data, f);
	char *unfolded = g_mime_utils_header_unfold(raw);
	char *dec = g_mime_utils_header_decode_text(NULL, unfolded);

	g_free(unfolded);
	g_free(raw);
	return dec;
}

static bool
contains_folded(const char *text, size_t len, const char *needle_folded)
{
	char *folded;
	bool found;

	if (needle_folded[0] == '\0')
		return true;
	folded = fold(text, len);
	found = strstr(folded, needle_folded) != NULL;
	g_free(folded);
	return found;
}

/* Search the top-level header: fields named field (any if NULL), in
 * their values (and with any field, "Name: value"). */
static bool
header_contains(const struct message *msg, const char *field,
    const char *needle_folded)
{
	const struct part *top = part_priv(msg->root);
	size_t i;
	bool found = false;

	for (i = 0; !found && i < top->field_count; i++) {
		const struct field *f = &top->fields[i];
		char *dec, *text;

		if (field != NULL && g_ascii_strcasecmp(f->name, field) != 0)
			continue;
		dec = field_decoded(msg->data, f);
		if (field != NULL) {
			found = contains_folded(dec, strlen(dec),
			    needle_folded);
		} else {
			text = xasprintf("%s: %s", f->name, dec);
			found = contains_folded(text, strlen(text),
			    needle_folded);
			free(text);
		}
		g_free(dec);
	}
	return found;
}

/*
 * The text of a text/ part: transfer encoding undone, converted from its
 * charset to UTF-8 (left as it is if the charset is unknown). g_free it.
 */
static char *
part_text(const struct message *msg, const struct message_part *part,
    size_t *len_r)
{
	const char *in = (const char *)msg->data + part->raw_body_start;
	size_t inlen = part->raw_body_end - part->raw_body_start, n;
	GMimeContentEncoding enc;
	GMimeEncoding state;
	const char *charset;
	char *dec, *conv;
	gsize convlen;

	enc = g_mime_content_encoding_from_string(part->encoding);
	if (enc == GMIME_CONTENT_ENCODING_BASE64 ||
	    enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
	    enc == GMIME_CONTENT_ENCODING_UUENCODE) {
		g_mime_encoding_init_decode(&state, enc);
		dec = g_malloc(g_mime_encoding_outlen(&state, inlen) + 1);
		n = g_mime_encoding_flush(&state, in, inlen, dec);
	} else {
		dec = g_malloc(inlen + 1);
		memcpy(dec, in, inlen);
		n = inlen;
	}
	dec[n] = '\0';
	charset = param_get(part->params, part->param_count, "charset");
	if (charset != NULL && strcasecmp(charset, "utf-8") != 0 &&
	    strcasecmp(charset, "us-ascii") != 0) {
		conv = g_convert(dec, (gssize)n, "UTF-8",
		    g_mime_charset_iconv_name(charset), NULL, &convlen, NULL);
		if (conv != NULL) {
			g_free(dec);
			dec = conv;
			n = convlen;
		}
	}
	*len_r = n;
	return dec;
}

static bool
body_contains(const struct message *msg, const struct message_part *part,
    const char *needle_folded)
{
	size_t i, len;
	char *text;
	bool found;

	switch (part->kind) {
	case MESSAGE_PART_MULTIPART:
	case MESSAGE_PART_MESSAGE:
		for (i = 0; i < part->child_count; i++) {
			if (body_contains(msg, part->children[i],
			    needle_folded))
				return true;
		}
		return false;
	case MESSAGE_PART_TEXT:
		text = part_text(msg, part, &len);
		found = contains_folded(text, len, needle_folded);
		g_free(text);
		return found;
	case MESSAGE_PART_BASIC:
		break;
	}
	return false;
}

bool
message_search_header(const struct message *msg, const char *field,
    const char *needle)
{
	char *folded;
	bool found;

	gmime_ready();
	folded = fold(needle, strlen(needle));
	found = header_contains(msg, field, folded);
	g_free(folded);
	return found;
}

bool
message_search_body(const struct message *msg, const char *needle)
{
	char *folded;
	bool found;

	gmime_ready();
	folded = fold(needle, strlen(needle));
	found = body_contains(msg, msg->root, folded);
	g_free(folded);
	return found;
}

bool
message_search_text(const struct message *msg, const char *needle)
{
	char *folded;
	bool found;

	gmime_ready();
	folded = fold(needle, strlen(needle));
	found = header_contains(msg, NULL, folded) ||
	    body_contains(msg, msg->root, folded);
	g_free(folded);
	return found;
}

int
message_sent_date(const struct message *msg, time_t *time_r,
    int *tz_offset_r)
{
	const struct field *f = field_find(part_priv(msg->root), "Date");
	GDateTime *dt;
	char *raw;

	if (f == NULL)
		return -1;
	gmime_ready();
	raw = field_unfolded(msg->data, f);
	dt = g_mime_utils_header_decode_date(raw);
	free(raw);
	if (dt == NULL)
		return -1;
	*time_r = (time_t)g_date_time_to_unix(dt);
	*tz_offset_r = (int)(g_date_time_get_utc_offset(dt) /
	    G_TIME_SPAN_SECOND);
	g_date_time_unref(dt);
	return 0;
}
