/*
 * ENVELOPE of a parsed message (RFC 3501 7.4.2): the address lists of
 * its From, To, Cc... fields read as RFC 5322 3.4 lays them out, and the
 * envelope built from the top part's header fields.
 */
#include "store/message.h"

#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "lib/xmalloc.h"
#include "store/message-private.h"

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
		while (message_is_wsp((unsigned char)*r->p) || *r->p == '\r' ||
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
void
message_address_list_parse(const char *value, struct message_address_list *l)
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

void
message_address_list_free(struct message_address_list *l)
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

struct message_envelope *
message_envelope_from(const unsigned char *data, const struct part *top)
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

	env->date = message_field_value(data, top, "Date");
	env->subject = message_field_value(data, top, "Subject");
	env->in_reply_to = message_field_value(data, top, "In-Reply-To");
	env->message_id = message_field_value(data, top, "Message-ID");
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		char *v = message_field_value(data, top, lists[i].name);

		message_address_list_parse(v, lists[i].list);
		free(v);
	}
	/* RFC 3501 7.4.2: absent or empty Sender and Reply-To are From. */
	if (env->sender.count == 0)
		address_list_copy(&env->sender, &env->from);
	if (env->reply_to.count == 0)
		address_list_copy(&env->reply_to, &env->from);
	return env;
}

void
message_envelope_free(struct message_envelope *env)
{
	if (env == NULL)
		return;
	free(env->date);
	free(env->subject);
	message_address_list_free(&env->from);
	message_address_list_free(&env->sender);
	message_address_list_free(&env->reply_to);
	message_address_list_free(&env->to);
	message_address_list_free(&env->cc);
	message_address_list_free(&env->bcc);
	free(env->in_reply_to);
	free(env->message_id);
	free(env);
}
