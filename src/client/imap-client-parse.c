/*
 * The pure half of the command line tool's IMAP client: finding where
 * one whole response ends in the bytes received (a line that ends in a
 * literal continues after it), parsing it into a small argument tree,
 * and the helpers that quote and read arguments. No I/O and no libevent,
 * so unit tests link it alone.
 */
#include "client/imap-client-parse.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/strnum.h"
#include "lib/xmalloc.h"

/* ---- Parsing a response ---- */

static void
args_free(struct imap_client_arg *args, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		free(args[i].str);
		args_free(args[i].list, args[i].count);
	}
	free(args);
}

void
imap_client_resp_free(struct imap_client_resp *resp)
{
	free(resp->tag);
	free(resp->text);
	args_free(resp->args, resp->count);
	memset(resp, 0, sizeof(*resp));
}

static bool
atom_char(char ch)
{
	return ch != ' ' && ch != '(' && ch != ')' && ch != '"' &&
	    ch != '{' && ch != '\r' && ch != '\n' && ch != '\0';
}

/* A quoted string at p into *a; returns what follows, or NULL if it
 * does not end before end. */
static const char *
parse_quoted(const char *p, const char *end, struct imap_client_arg *a)
{
	const char *s;
	struct buf q;

	buf_init(&q, 0);
	for (s = p + 1; s < end && *s != '"'; s++) {
		if (*s == '\\' && s + 1 < end)
			s++;
		buf_append(&q, s, 1);
	}
	if (s >= end) {
		buf_free(&q);
		return NULL;
	}
	a->type = IMAP_CLIENT_ARG_STRING;
	a->len = q.len;
	a->str = q.data != NULL ? (char *)q.data : xstrdup("");
	return s + 1;
}

/* A literal "{n}" CRLF and its n bytes at p into *a; returns what
 * follows, or NULL if it is malformed or incomplete. */
static const char *
parse_literal(const char *p, const char *end, struct imap_client_arg *a)
{
	const char *s = p + 1;
	uint64_t n = 0;

	/* "{}" is a literal of no bytes; one too long to be is no
	   literal at all. */
	if (s < end && *s >= '0' && *s <= '9' &&
	    str_parse_u64(&s, end, IMAP_CLIENT_RESP_MAX, &n) < 0)
		return NULL;
	if (s < end && *s == '+')
		s++;
	if (s + 1 >= end || s[0] != '}' || s[1] != '\r' ||
	    s + 2 >= end || s[2] != '\n' ||
	    (size_t)(end - (s + 3)) < n)
		return NULL;
	s += 3;
	a->type = IMAP_CLIENT_ARG_STRING;
	a->str = xmalloc(n + 1);
	memcpy(a->str, s, n);
	a->str[n] = '\0';
	a->len = n;
	return s + n;
}

/*
 * Parse arguments from *pp up to end, or up to the ")" closing a list
 * when depth > 0. Parsing stops quietly at anything that is no argument
 * (status text may hold anything); *ok_r says whether a list closed.
 */
static void
parse_args(const char **pp, const char *end, int depth,
    struct imap_client_arg **args_r, size_t *count_r, bool *ok_r)
{
	const char *p = *pp, *s;
	struct imap_client_arg *args = NULL, a;
	size_t count = 0, bracket;
	bool ok = depth == 0;

	for (;;) {
		while (p < end && *p == ' ')
			p++;
		if (p >= end)
			break;
		memset(&a, 0, sizeof(a));
		if (*p == ')') {
			if (depth > 0) {
				p++;
				ok = true;
			}
			break;
		}
		if (count >= IMAP_CLIENT_ARGS_MAX)
			break;
		if (*p == '(') {
			bool closed;

			if (depth >= IMAP_CLIENT_DEPTH_MAX)
				break;
			p++;
			a.type = IMAP_CLIENT_ARG_LIST;
			parse_args(&p, end, depth + 1, &a.list, &a.count,
			    &closed);
			if (!closed) {
				args_free(a.list, a.count);
				break;
			}
		} else if (*p == '"') {
			if ((s = parse_quoted(p, end, &a)) == NULL)
				break;
			p = s;
		} else if (*p == '{') {
			if ((s = parse_literal(p, end, &a)) == NULL)
				break;
			p = s;
		} else if (atom_char(*p)) {
			/* "[...]" may hold spaces and parentheses: a response
			   code, or a FETCH item's section. */
			bracket = 0;
			for (s = p; s < end; s++) {
				if (*s == '[')
					bracket++;
				else if (*s == ']' && bracket > 0)
					bracket--;
				else if (bracket == 0 && !atom_char(*s))
					break;
				else if (*s == '\r' || *s == '\n' ||
				    *s == '\0')
					break;
			}
			a.len = (size_t)(s - p);
			a.str = xstrndup(p, a.len);
			a.type = a.len == 3 && strncasecmp(p, "NIL", 3) == 0 ?
			    IMAP_CLIENT_ARG_NIL : IMAP_CLIENT_ARG_ATOM;
			p = s;
		} else {
			break;
		}
		args = xreallocarray(args, count + 1, sizeof(*args));
		args[count++] = a;
	}
	*pp = p;
	*args_r = args;
	*count_r = count;
	*ok_r = ok;
}

/*
 * Find the end of one whole response in data: a line, and when it ends
 * in a literal "{n}", the literal and the line after it.
 */
int
imap_client_resp_find(const unsigned char *data, size_t avail,
    size_t *len_r, size_t *text_end_r)
{
	const unsigned char *base = data, *nl;
	size_t i = 0, j, e, k, d_end;
	uint64_t lit;

	if (data == NULL)
		return 0;
	for (;;) {
		if (i > IMAP_CLIENT_RESP_MAX)
			return -1;
		nl = memchr(base + i, '\n', avail - i);
		if (nl == NULL)
			return avail > IMAP_CLIENT_RESP_MAX ? -1 : 0;
		j = (size_t)(nl - base);	/* the LF */
		e = j;
		if (e > i && base[e - 1] == '\r')
			e--;
		/* A line ending in "{n}" or "{n+}" goes on after n bytes. */
		if (e > i && base[e - 1] == '}') {
			k = e - 1;
			if (k > i && base[k - 1] == '+')
				k--;
			d_end = k;
			while (k > i && base[k - 1] >= '0' && base[k - 1] <= '9')
				k--;
			if (k < d_end && d_end - k <= 9 && k > i &&
			    base[k - 1] == '{') {
				(void)str_to_u64_n((const char *)base + k,
				    d_end - k, UINT64_MAX, &lit);
				/* Too long already, whether or not all of it
				   has come: the reader stops at this size. */
				if (lit > IMAP_CLIENT_RESP_MAX ||
				    j + 1 + lit > IMAP_CLIENT_RESP_MAX)
					return -1;
				if (avail - (j + 1) < lit)
					return 0;
				i = j + 1 + lit;
				continue;
			}
		}
		*len_r = j + 1;
		*text_end_r = e;
		return 1;
	}
}

void
imap_client_resp_parse(struct imap_client_resp *resp, const char *line,
    size_t text_end)
{
	const char *sp, *p, *end;
	bool ok;

	memset(resp, 0, sizeof(*resp));
	sp = memchr(line, ' ', text_end);
	if (sp == NULL) {
		resp->tag = xstrndup(line, text_end);
		resp->text = xstrdup("");
	} else {
		resp->tag = xstrndup(line, (size_t)(sp - line));
		resp->text_len = text_end - (size_t)(sp + 1 - line);
		resp->text = xmalloc(resp->text_len + 1);
		memcpy(resp->text, sp + 1, resp->text_len);
		resp->text[resp->text_len] = '\0';
	}
	p = resp->text;
	end = p + resp->text_len;
	parse_args(&p, end, 0, &resp->args, &resp->count, &ok);
}

/* ---- Helpers ---- */

char *
imap_client_quote(const char *s)
{
	struct buf b;
	const unsigned char *p;

	buf_init(&b, 0);
	buf_append(&b, "\"", 1);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '\r' || *p == '\n' || *p >= 0x80) {
			if (b.data != NULL)
				explicit_bzero(b.data, b.len);
			buf_free(&b);
			return NULL;
		}
		if (*p == '"' || *p == '\\')
			buf_append(&b, "\\", 1);
		buf_append(&b, p, 1);
	}
	buf_append(&b, "\"", 1);
	return (char *)b.data;
}

int
imap_client_arg_u32(const struct imap_client_arg *arg, uint32_t *num_r)
{
	uint64_t v;

	/* Ten digits at most, leading zeros included: a 32-bit number
	   never needs more. */
	if (arg->type != IMAP_CLIENT_ARG_ATOM || arg->len > 10 ||
	    str_to_u64_n(arg->str, arg->len, UINT32_MAX, &v) < 0)
		return -1;
	*num_r = (uint32_t)v;
	return 0;
}

bool
imap_client_arg_is(const struct imap_client_arg *arg, const char *name)
{
	return arg->type == IMAP_CLIENT_ARG_ATOM &&
	    strcasecmp(arg->str, name) == 0;
}

/* ---- CONDSTORE and QRESYNC (RFC 7162) ---- */

/* RFC 7162 7: mod-sequence-value is at most 2^63 - 1. */
#define MODSEQ_MAX ((uint64_t)INT64_MAX)

int
imap_client_arg_modseq(const struct imap_client_arg *arg, uint64_t *modseq_r)
{
	/* 19 digits hold 2^63 - 1; leading zeros need no more. */
	if (arg->type != IMAP_CLIENT_ARG_ATOM || arg->len > 19 ||
	    str_to_u64_n(arg->str, arg->len, MODSEQ_MAX, modseq_r) < 0)
		return -1;
	return 0;
}

int
imap_client_resp_code_num(const struct imap_client_resp *resp,
    const char *code, uint64_t max, uint64_t *num_r)
{
	const struct imap_client_arg *a;
	size_t n = strlen(code);

	if (strcmp(resp->tag, "*") != 0 || resp->count < 2 ||
	    !imap_client_arg_is(&resp->args[0], "OK"))
		return -1;
	/* "[CODE n]" is one atom: the parser keeps brackets together. */
	a = &resp->args[1];
	if (a->type != IMAP_CLIENT_ARG_ATOM || a->len < n + 4 ||
	    a->str[0] != '[' || strncasecmp(a->str + 1, code, n) != 0 ||
	    a->str[n + 1] != ' ' || a->str[a->len - 1] != ']' ||
	    a->len - n - 3 > 20 ||
	    str_to_u64_n(a->str + n + 2, a->len - n - 3, max, num_r) < 0)
		return -1;
	return 0;
}

int
imap_client_vanished(const struct imap_client_resp *resp, bool *earlier_r,
    const struct imap_client_arg **set_r)
{
	const struct imap_client_arg *a;

	if (strcmp(resp->tag, "*") != 0 || resp->count < 1 ||
	    !imap_client_arg_is(&resp->args[0], "VANISHED"))
		return 0;
	if (resp->count < 2)
		return -1;
	*earlier_r = false;
	a = &resp->args[1];
	if (resp->count == 3 && a->type == IMAP_CLIENT_ARG_LIST &&
	    a->count == 1 && imap_client_arg_is(&a->list[0], "EARLIER")) {
		*earlier_r = true;
		a = &resp->args[2];
	} else if (resp->count != 2)
		return -1;
	if (a->type != IMAP_CLIENT_ARG_ATOM || a->len == 0)
		return -1;
	*set_r = a;
	return 1;
}

/* A UID (1 to 2^32 - 1) at set->str[*pos]; moves *pos past it. */
static int
uid_at(const struct imap_client_arg *set, size_t *pos, uint32_t *uid_r)
{
	const char *s = set->str + *pos, *end = set->str + set->len;
	uint64_t v;

	if (str_parse_u64(&s, end, UINT32_MAX, &v) < 0 || v == 0)
		return -1;
	*pos = (size_t)(s - set->str);
	*uid_r = (uint32_t)v;
	return 0;
}

int
imap_client_uidset_next(const struct imap_client_arg *set, size_t *pos,
    uint32_t *lo_r, uint32_t *hi_r)
{
	uint32_t lo, hi;

	if (set->type != IMAP_CLIENT_ARG_ATOM || *pos > set->len)
		return -1;
	if (*pos == set->len)
		return 0;
	if (uid_at(set, pos, &lo) < 0)
		return -1;
	hi = lo;
	if (*pos < set->len && set->str[*pos] == ':') {
		(*pos)++;
		if (uid_at(set, pos, &hi) < 0)
			return -1;
	}
	if (*pos < set->len) {
		/* A comma goes on to another range, never to nothing. */
		if (set->str[*pos] != ',' || *pos + 1 == set->len)
			return -1;
		(*pos)++;
	}
	/* "9:8" is the same range as "8:9" (RFC 3501 9, seq-range). */
	*lo_r = lo < hi ? lo : hi;
	*hi_r = lo < hi ? hi : lo;
	return 1;
}

int
imap_client_fetch_modseq(const struct imap_client_arg *list,
    uint64_t *modseq_r)
{
	const struct imap_client_arg *v;

	if (list->type != IMAP_CLIENT_ARG_LIST)
		return -1;
	for (size_t i = 0; i + 1 < list->count; i += 2) {
		if (!imap_client_arg_is(&list->list[i], "MODSEQ"))
			continue;
		v = &list->list[i + 1];
		if (v->type != IMAP_CLIENT_ARG_LIST || v->count != 1)
			return -1;
		return imap_client_arg_modseq(&v->list[0], modseq_r);
	}
	return -1;
}
