/*
 * Parsed messages for IMAP FETCH and SEARCH. The MIME structure is found
 * here, by a line scanner that records byte positions, because BODY[...]
 * must return the exact bytes of the message; GMime does what it is best
 * at: RFC 2047 words, dates, transfer decoding and charsets.
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

struct message {
	unsigned char *data;		/* the message as stored (LF or CRLF) */
	size_t size;
	uint64_t crlf_size;		/* size with CRLF line ends */
	struct message_envelope *envelope;
	struct message_part *root;
};

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

/* The position after the LF ending the line at pos, or end. */
static size_t
line_end(const unsigned char *data, size_t pos, size_t end)
{
	const unsigned char *q = memchr(data + pos, '\n', end - pos);

	return q == NULL ? end : (size_t)(q - data) + 1;
}

/* True if the line [pos, le) is empty: LF or CRLF alone. */
static bool
line_is_blank(const unsigned char *data, size_t pos, size_t le)
{
	return (le - pos == 1 && data[pos] == '\n') ||
	    (le - pos == 2 && data[pos] == '\r' && data[pos + 1] == '\n');
}

/* ---- Header fields ---- */

/* One field of a header block, as positions in the raw message. */
struct hdr_field {
	size_t start;		/* first byte of the name */
	size_t name_len;	/* name without trailing white space */
	size_t value_start;	/* after the colon */
	size_t value_end;	/* before the final line break */
	size_t end;		/* after the final line break */
};

/*
 * The next field of the header block [*pos, end), which stops at a blank
 * line. A line without a colon counts as a field whose name is the whole
 * line and whose value is empty. Returns false at the end.
 */
static bool
hdr_next(const unsigned char *data, size_t *pos, size_t end,
    struct hdr_field *f)
{
	size_t p = *pos, le, colon;

	if (p >= end || line_is_blank(data, p, line_end(data, p, end)))
		return false;
	f->start = p;
	le = line_end(data, p, end);
	/* Continuation lines start with white space (RFC 5322 2.2.3). */
	while (le < end && is_wsp(data[le]))
		le = line_end(data, le, end);
	f->end = le;
	f->value_end = le;
	if (f->value_end > p && data[f->value_end - 1] == '\n')
		f->value_end--;
	if (f->value_end > p && data[f->value_end - 1] == '\r')
		f->value_end--;
	for (colon = p; colon < f->value_end && data[colon] != ':'; colon++)
		;
	f->value_start = colon < f->value_end ? colon + 1 : f->value_end;
	f->name_len = colon - p;
	while (f->name_len > 0 && is_wsp(data[p + f->name_len - 1]))
		f->name_len--;
	*pos = le;
	return true;
}

static bool
hdr_name_is(const unsigned char *data, const struct hdr_field *f,
    const char *name)
{
	return strlen(name) == f->name_len &&
	    strncasecmp((const char *)data + f->start, name, f->name_len) == 0;
}

/* The field's value unfolded (CR and LF removed) and trimmed; malloc'd. */
static char *
hdr_value(const unsigned char *data, const struct hdr_field *f)
{
	size_t s = f->value_start, e = f->value_end, i, n = 0;
	char *v;

	while (s < e && (is_wsp(data[s]) || data[s] == '\r' ||
	    data[s] == '\n'))
		s++;
	while (e > s && (is_wsp(data[e - 1]) || data[e - 1] == '\r' ||
	    data[e - 1] == '\n'))
		e--;
	v = xmalloc(e - s + 1);
	for (i = s; i < e; i++) {
		if (data[i] != '\r' && data[i] != '\n')
			v[n++] = (char)data[i];
	}
	v[n] = '\0';
	return v;
}

/* The first field named name in the header at [start, end); malloc'd
 * unfolded value or NULL. */
static char *
hdr_find(const unsigned char *data, size_t start, size_t end,
    const char *name)
{
	struct hdr_field f;
	size_t pos = start;

	while (hdr_next(data, &pos, end, &f)) {
		if (hdr_name_is(data, &f, name))
			return hdr_value(data, &f);
	}
	return NULL;
}

/* ---- RFC 5322 / RFC 2045 tokens ---- */

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

/* RFC 2045 5.1 token characters. */
static bool
is_token(unsigned char c)
{
	return c > ' ' && c != 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
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

/* ---- Envelope ---- */

static struct message_envelope *
envelope_parse(const unsigned char *data, size_t start, size_t end)
{
	struct message_envelope *env = xcalloc(1, sizeof(*env));
	struct hdr_field f;
	size_t pos = start;
	char *from = NULL, *sender = NULL, *reply_to = NULL, *to = NULL;
	char *cc = NULL, *bcc = NULL;
	struct {
		const char *name;
		char **value;
	} fields[] = {
		{ "Date", &env->date },
		{ "Subject", &env->subject },
		{ "From", &from },
		{ "Sender", &sender },
		{ "Reply-To", &reply_to },
		{ "To", &to },
		{ "Cc", &cc },
		{ "Bcc", &bcc },
		{ "In-Reply-To", &env->in_reply_to },
		{ "Message-ID", &env->message_id },
	};
	size_t i;

	while (hdr_next(data, &pos, end, &f)) {
		for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
			if (*fields[i].value == NULL &&
			    hdr_name_is(data, &f, fields[i].name)) {
				*fields[i].value = hdr_value(data, &f);
				break;
			}
		}
	}
	parse_address_list(from, &env->from);
	parse_address_list(sender, &env->sender);
	parse_address_list(reply_to, &env->reply_to);
	parse_address_list(to, &env->to);
	parse_address_list(cc, &env->cc);
	parse_address_list(bcc, &env->bcc);
	/* RFC 3501 7.4.2: absent or empty Sender and Reply-To are From. */
	if (env->sender.count == 0)
		address_list_copy(&env->sender, &env->from);
	if (env->reply_to.count == 0)
		address_list_copy(&env->reply_to, &env->from);
	free(from);
	free(sender);
	free(reply_to);
	free(to);
	free(cc);
	free(bcc);
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

/* ---- Content-Type and Content-Disposition (RFC 2045, 2183, 2231) ---- */

static void
param_push(struct message_param **params, size_t *count, char *name,
    char *value)
{
	*params = xreallocarray(*params, *count + 1, sizeof(**params));
	(*params)[*count].name = name;
	(*params)[*count].value = value;
	(*count)++;
}

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

/* A token into a malloc'd string, or NULL if there is none. */
static char *
rd_token(struct rd *r)
{
	const char *s;

	rd_skip_cfws(r);
	s = r->p;
	while (is_token((unsigned char)*r->p))
		r->p++;
	return r->p == s ? NULL : xstrndup(s, (size_t)(r->p - s));
}

/*
 * If name is an RFC 2231 section "base*N" or "base*N*", its base length,
 * number and whether it is extended.
 */
static bool
param_section(const char *name, size_t *base_len_r, unsigned long *n_r,
    bool *ext_r)
{
	const char *star = strchr(name, '*');
	char *endp;

	if (star == NULL || star == name || star[1] < '0' || star[1] > '9')
		return false;
	errno = 0;
	*n_r = strtoul(star + 1, &endp, 10);
	if (errno != 0 || (*endp != '\0' && strcmp(endp, "*") != 0))
		return false;
	*base_len_r = (size_t)(star - name);
	*ext_r = *endp == '*';
	return true;
}

/*
 * Join RFC 2231 continuations (name*0, name*1*...) into one parameter
 * at the place of the first: "name", or "name*" when the first section
 * is extended; plain sections joined to an extended value are
 * percent-encoded as far as they need to be, so the value stays one
 * valid extended value.
 */
static void
params_join_2231(struct message_param **params, size_t *count)
{
	size_t i, j, base_len, blen2;
	unsigned long n, want;
	bool ext, ext2, found;

	for (i = 0; i < *count; i++) {
		struct buf v;
		bool first_ext;
		char *base;

		if (!param_section((*params)[i].name, &base_len, &n, &ext) ||
		    n != 0)
			continue;
		base = xstrndup((*params)[i].name, base_len);
		first_ext = ext;
		buf_init(&v, 0);
		(void)buf_append_str(&v, (*params)[i].value);
		for (want = 1;; want++) {
			found = false;
			for (j = i + 1; j < *count; j++) {
				if (!param_section((*params)[j].name, &blen2,
				    &n, &ext2) || n != want ||
				    blen2 != base_len || strncasecmp(base,
				    (*params)[j].name, base_len) != 0)
					continue;
				if (first_ext && !ext2) {
					const unsigned char *c = (const
					    unsigned char *)(*params)[j].value;

					for (; *c != '\0'; c++) {
						if (*c <= ' ' || *c >= 0x7f ||
						    strchr("*'%", *c) != NULL)
							(void)buf_printf(&v,
							    "%%%02X", *c);
						else
							(void)buf_append(&v,
							    c, 1);
					}
				} else {
					(void)buf_append_str(&v,
					    (*params)[j].value);
				}
				free((*params)[j].name);
				free((*params)[j].value);
				memmove(&(*params)[j], &(*params)[j + 1],
				    (*count - j - 1) * sizeof(**params));
				(*count)--;
				found = true;
				break;
			}
			if (!found)
				break;
		}
		free((*params)[i].name);
		free((*params)[i].value);
		(*params)[i].name = first_ext ? xasprintf("%s*", base) : base;
		if (first_ext)
			free(base);
		(*params)[i].value = xstrdup(buf_cstr(&v));
		buf_free(&v);
	}
}

/* *(";" attribute "=" value) after the type; junk up to the next ';' is
 * skipped. */
static void
parse_params(struct rd *r, struct message_param **params, size_t *count)
{
	for (;;) {
		char *name, *value;
		struct buf v;

		rd_skip_cfws(r);
		if (*r->p == '\0')
			break;
		if (*r->p != ';') {
			r->p++;
			continue;
		}
		r->p++;
		if ((name = rd_token(r)) == NULL)
			continue;
		rd_skip_cfws(r);
		if (*r->p != '=') {
			free(name);
			continue;
		}
		r->p++;
		rd_skip_cfws(r);
		if (*r->p == '"') {
			buf_init(&v, 0);
			(void)rd_quoted(r, &v);
			value = xstrdup(buf_cstr(&v));
			buf_free(&v);
		} else if ((value = rd_token(r)) == NULL) {
			value = xstrdup("");
		}
		if (*count >= MESSAGE_MIME_PARAMS_MAX) {
			free(name);
			free(value);
			continue;
		}
		param_push(params, count, name, value);
	}
	params_join_2231(params, count);
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

/* Content-Type: type "/" subtype *(";" parameter). Returns false if the
 * value is not a valid type (the part then gets the default). */
static bool
parse_content_type(const char *value, struct message_part *part)
{
	struct rd r = { .p = value };
	char *type, *subtype;

	buf_init(&r.comment, 0);
	if ((type = rd_token(&r)) == NULL) {
		buf_free(&r.comment);
		return false;
	}
	rd_skip_cfws(&r);
	if (*r.p != '/' || (r.p++, subtype = rd_token(&r)) == NULL) {
		free(type);
		buf_free(&r.comment);
		return false;
	}
	part->type = type;
	part->subtype = subtype;
	parse_params(&r, &part->params, &part->param_count);
	buf_free(&r.comment);
	return true;
}

static void
parse_disposition(const char *value, struct message_part *part)
{
	struct rd r = { .p = value };

	buf_init(&r.comment, 0);
	if ((part->disposition = rd_token(&r)) != NULL) {
		parse_params(&r, &part->disposition_params,
		    &part->disposition_param_count);
	}
	buf_free(&r.comment);
}

/* Content-Language (RFC 3282): comma-separated tags. */
static void
parse_languages(const char *value, struct message_part *part)
{
	struct rd r = { .p = value };
	char *tag;

	buf_init(&r.comment, 0);
	for (;;) {
		rd_skip_cfws(&r);
		if (*r.p == '\0')
			break;
		if ((tag = rd_token(&r)) == NULL) {
			r.p++;
			continue;
		}
		if (part->language_count >= MESSAGE_MIME_PARAMS_MAX) {
			free(tag);
			continue;
		}
		part->languages = xreallocarray(part->languages,
		    part->language_count + 1, sizeof(*part->languages));
		part->languages[part->language_count++] = tag;
	}
	buf_free(&r.comment);
}

/* ---- MIME structure ---- */

/* The boundaries of the enclosing multiparts, innermost last. */
struct bounds {
	const char *b[MESSAGE_MIME_DEPTH_MAX + 1];
	size_t len[MESSAGE_MIME_DEPTH_MAX + 1];
	size_t count;
};

struct parse_ctx {
	const unsigned char *data;
	size_t size;
	size_t parts;		/* parts created so far */
	const char *error;
};

/*
 * If the line at pos is a delimiter of an enclosing multipart ("--"
 * boundary, as Dovecot, anything may follow), the index of the
 * innermost one it matches, and whether it is a close delimiter
 * ("--" boundary "--"); else -1.
 */
static int
bounds_match(const struct parse_ctx *ctx, size_t pos, size_t le,
    const struct bounds *bs, bool *close_r)
{
	const unsigned char *d = ctx->data + pos;
	size_t n = le - pos, i;

	if (bs->count == 0 || n < 3 || d[0] != '-' || d[1] != '-')
		return -1;
	for (i = bs->count; i-- > 0;) {
		if (n - 2 >= bs->len[i] &&
		    memcmp(d + 2, bs->b[i], bs->len[i]) == 0) {
			*close_r = n - 2 - bs->len[i] >= 2 &&
			    d[2 + bs->len[i]] == '-' &&
			    d[3 + bs->len[i]] == '-';
			return (int)i;
		}
	}
	return -1;
}

static void part_free(struct message_part *part);

/* The end of a body ended by a delimiter line at end: the line break
 * before the delimiter belongs to the delimiter (RFC 2046 5.1.1). */
static size_t
body_end_before(const struct parse_ctx *ctx, size_t start, size_t end)
{
	if (end >= ctx->size)
		return end;
	if (end > start && ctx->data[end - 1] == '\n')
		end--;
	if (end > start && ctx->data[end - 1] == '\r')
		end--;
	return end;
}

static bool
encoding_is_identity(const char *enc)
{
	return strcasecmp(enc, "7bit") == 0 || strcasecmp(enc, "8bit") == 0 ||
	    strcasecmp(enc, "binary") == 0;
}

/*
 * Parse the part whose header starts at pos: its header up to the blank
 * line, then its body up to the next delimiter of an enclosing multipart
 * (or the end of the message). *end_r is where the part stops: the start
 * of that delimiter line, or the end of the message. in_digest gives
 * message/rfc822 as the default type (RFC 2046 5.1.5).
 */
static int
parse_part(struct parse_ctx *ctx, size_t pos, struct bounds *bs,
    unsigned depth, bool in_digest, struct message_part **part_r,
    size_t *end_r)
{
	const unsigned char *data = ctx->data;
	struct message_part *part;
	size_t le, hdr_end, end = ctx->size;
	bool close;
	char *v;

	*part_r = NULL;
	if (depth > MESSAGE_MIME_DEPTH_MAX) {
		ctx->error = "MIME parts nested too deep";
		return -1;
	}
	part = xcalloc(1, sizeof(*part));
	*part_r = part;
	ctx->parts++;
	part->raw_header_start = pos;

	/* The header: up to a blank line, a delimiter or the end. */
	hdr_end = ctx->size;
	part->raw_body_start = ctx->size;
	while (pos < ctx->size) {
		le = line_end(data, pos, ctx->size);
		if (line_is_blank(data, pos, le)) {
			hdr_end = pos;
			part->raw_body_start = le;
			break;
		}
		if (bounds_match(ctx, pos, le, bs, &close) >= 0) {
			hdr_end = part->raw_body_start = pos;
			break;
		}
		pos = le;
	}

	/* The MIME fields (RFC 2045 5-8, RFC 2183, RFC 3282, RFC 2557). */
	v = hdr_find(data, part->raw_header_start, hdr_end, "Content-Type");
	if (v == NULL || !parse_content_type(v, part)) {
		part->type = xstrdup(in_digest ? "message" : "text");
		part->subtype = xstrdup(in_digest ? "rfc822" : "plain");
		params_free(part->params, part->param_count);
		part->params = NULL;
		part->param_count = 0;
		if (!in_digest)
			param_push(&part->params, &part->param_count,
			    xstrdup("charset"), xstrdup("us-ascii"));
	}
	free(v);
	part->encoding = hdr_find(data, part->raw_header_start, hdr_end,
	    "Content-Transfer-Encoding");
	if (part->encoding == NULL || part->encoding[0] == '\0') {
		free(part->encoding);
		part->encoding = xstrdup("7bit");
	}
	part->id = hdr_find(data, part->raw_header_start, hdr_end,
	    "Content-ID");
	part->description = hdr_find(data, part->raw_header_start, hdr_end,
	    "Content-Description");
	part->location = hdr_find(data, part->raw_header_start, hdr_end,
	    "Content-Location");
	if ((v = hdr_find(data, part->raw_header_start, hdr_end,
	    "Content-Disposition")) != NULL)
		parse_disposition(v, part);
	free(v);
	if ((v = hdr_find(data, part->raw_header_start, hdr_end,
	    "Content-Language")) != NULL)
		parse_languages(v, part);
	free(v);

	if (strcasecmp(part->type, "multipart") == 0) {
		const char *b = param_get(part->params, part->param_count,
		    "boundary");
		bool digest = strcasecmp(part->subtype, "digest") == 0;
		size_t own = bs->count, cap = 0;

		part->kind = MESSAGE_PART_MULTIPART;
		if (b != NULL && b[0] != '\0') {
			bs->b[own] = b;
			bs->len[own] = strlen(b);
			bs->count++;
		}
		pos = part->raw_body_start;
		while (pos < ctx->size) {
			int m;

			le = line_end(data, pos, ctx->size);
			m = bounds_match(ctx, pos, le, bs, &close);
			if (m < 0 || ((size_t)m == own && !close &&
			    ctx->parts >= MESSAGE_MIME_PARTS_MAX)) {
				/* Not a delimiter, or one part too many:
				 * body text of this multipart. */
				pos = le;
			} else if ((size_t)m != own) {
				end = pos;	/* an enclosing delimiter */
				break;
			} else if (close) {
				bs->count = own;	/* epilogue follows */
				pos = le;
			} else {
				struct message_part *child;

				if (part->child_count == cap) {
					cap = cap == 0 ? 4 : cap * 2;
					part->children = xreallocarray(
					    part->children, cap,
					    sizeof(*part->children));
				}
				if (parse_part(ctx, le, bs, depth + 1, digest,
				    &child, &pos) < 0) {
					part_free(child);
					bs->count = own;
					return -1;
				}
				part->children[part->child_count++] = child;
			}
		}
		bs->count = own;
	} else if (strcasecmp(part->type, "message") == 0 &&
	    strcasecmp(part->subtype, "rfc822") == 0 &&
	    encoding_is_identity(part->encoding) &&
	    ctx->parts < MESSAGE_MIME_PARTS_MAX) {
		struct message_part *child;

		part->kind = MESSAGE_PART_MESSAGE;
		part->children = xcalloc(1, sizeof(*part->children));
		if (parse_part(ctx, part->raw_body_start, bs, depth + 1,
		    false, &child, &end) < 0) {
			part_free(child);
			return -1;
		}
		part->children[0] = child;
		part->child_count = 1;
		part->envelope = envelope_parse(data, child->raw_header_start,
		    child->raw_body_start);
	} else {
		part->kind = strcasecmp(part->type, "text") == 0 ?
		    MESSAGE_PART_TEXT : MESSAGE_PART_BASIC;
		for (pos = part->raw_body_start; pos < ctx->size; pos = le) {
			le = line_end(data, pos, ctx->size);
			if (bounds_match(ctx, pos, le, bs, &close) >= 0) {
				end = pos;
				break;
			}
		}
	}
	if (end < part->raw_body_start)
		end = part->raw_body_start;
	part->raw_body_end = body_end_before(ctx, part->raw_body_start, end);
	part->size = crlf_size(data + part->raw_body_start,
	    part->raw_body_end - part->raw_body_start);
	part->lines = count_lines(data + part->raw_body_start,
	    part->raw_body_end - part->raw_body_start);
	*end_r = end;
	return 0;
}

static void
part_free(struct message_part *part)
{
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
	free(part);
}

/* ---- Parsing ---- */

static int
message_parse_owned(unsigned char *data, size_t size, struct message **msg_r,
    const char **error_r)
{
	struct message *msg;
	struct parse_ctx ctx = { .data = data, .size = size };
	struct bounds *bs = xcalloc(1, sizeof(*bs));
	size_t end;

	msg = xcalloc(1, sizeof(*msg));
	msg->data = data;
	msg->size = size;
	msg->crlf_size = crlf_size(data, size);
	if (parse_part(&ctx, 0, bs, 1, false, &msg->root, &end) < 0) {
		free(bs);
		*error_r = ctx.error;
		message_free(&msg);
		return -1;
	}
	free(bs);
	msg->envelope = envelope_parse(data, 0, msg->root->raw_body_start);
	*msg_r = msg;
	return 0;
}

int
message_parse(const void *data, size_t size, struct message **msg_r,
    const char **error_r)
{
	unsigned char *copy = xmalloc(size + 1);

	if (size > 0)
		memcpy(copy, data, size);
	copy[size] = '\0';
	return message_parse_owned(copy, size, msg_r, error_r);
}

int
message_parse_file(const char *path, struct message **msg_r,
    const char **error_r)
{
	struct stat st;
	unsigned char *data;
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
	data = xmalloc(size + 1);
	/* A file that shrinks while we read is a message being replaced:
	 * keep what was read, the UID list decides what is current. */
	while (got < size) {
		n = read(fd, data + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			saved = errno;
			free(data);
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
	data[got] = '\0';
	return message_parse_owned(data, got, msg_r, error_r);
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
	free(msg->data);
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

/* Append the fields of the header [start, end) whose names are (or with
 * not, are not) among fields, then a blank line. */
static int
append_fields(const struct message *msg, size_t start, size_t end,
    const struct message_section *section, bool not, struct buf *out)
{
	struct hdr_field f;
	size_t pos = start, i;
	bool listed;

	while (hdr_next(msg->data, &pos, end, &f)) {
		listed = false;
		for (i = 0; i < section->field_count && !listed; i++)
			listed = hdr_name_is(msg->data, &f, section->fields[i]);
		if (listed == not)
			continue;
		if (append_crlf(out, msg->data + f.start, f.end - f.start) < 0)
			return -1;
		/* A last field without a line break still ends in CRLF. */
		if (f.end == f.value_end && buf_append(out, "\r\n", 2) < 0)
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
		ret = append_fields(msg, start, end, section,
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

/* The value of a field, RFC 2047 words decoded; g_free it. */
static char *
field_decoded(const unsigned char *data, const struct hdr_field *f)
{
	char *raw = hdr_value(data, f);
	char *dec = g_mime_utils_header_decode_text(NULL, raw);

	free(raw);
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
 * their values (and with any_name, "Name: value"). */
static bool
header_contains(const struct message *msg, const char *field,
    const char *needle_folded)
{
	struct hdr_field f;
	size_t pos = 0, end = msg->root->raw_body_start;
	bool found = false;

	while (!found && hdr_next(msg->data, &pos, end, &f)) {
		char *dec, *text;

		if (field != NULL && !hdr_name_is(msg->data, &f, field))
			continue;
		gmime_ready();
		dec = field_decoded(msg->data, &f);
		if (field != NULL) {
			found = contains_folded(dec, strlen(dec),
			    needle_folded);
		} else {
			text = xasprintf("%.*s: %s", (int)f.name_len,
			    (const char *)msg->data + f.start, dec);
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
	GDateTime *dt;
	char *raw;

	raw = hdr_find(msg->data, 0, msg->root->raw_body_start, "Date");
	if (raw == NULL)
		return -1;
	gmime_ready();
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
