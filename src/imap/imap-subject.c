/*
 * Base subject extraction (RFC 5256 2.1) over decoded UTF-8 text, byte
 * by byte: every marker it removes is ASCII, and UTF-8 never puts an
 * ASCII byte inside a multi-byte character.
 */
#include "imap/imap-subject.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static char
upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* Does s[0 .. len) start with the ASCII word w, in any case? */
static bool
starts_with(const char *s, size_t len, const char *w)
{
	size_t n = strlen(w);

	if (len < n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (upper(s[i]) != upper(w[i]))
			return false;
	return true;
}

/* subj-blob = "[" *BLOBCHAR "]" *WSP at s; its length, or 0. */
static size_t
blob_len(const char *s, size_t len)
{
	size_t i = 1;

	if (len == 0 || s[0] != '[')
		return 0;
	while (i < len && s[i] != '[' && s[i] != ']')
		i++;
	if (i >= len || s[i] != ']')
		return 0;
	i++;
	while (i < len && s[i] == ' ')
		i++;
	return i;
}

/* subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":" at s; its
 * length, or 0. */
static size_t
refwd_len(const char *s, size_t len)
{
	size_t i, b;

	if (starts_with(s, len, "fwd"))
		i = 3;
	else if (starts_with(s, len, "fw") || starts_with(s, len, "re"))
		i = 2;
	else
		return 0;
	while (i < len && s[i] == ' ')
		i++;
	b = blob_len(s + i, len - i);
	if (i + b < len && s[i + b] == ':')
		return i + b + 1;
	if (i < len && s[i] == ':')
		return i + 1;
	return 0;
}

/* Step 3: subj-leader = (*subj-blob subj-refwd) / WSP, as often as it
 * is there. */
static bool
strip_leaders(const char **s, size_t *len, bool *reply)
{
	bool changed = false;

	for (;;) {
		size_t i = 0, b, r;

		if (*len > 0 && (*s)[0] == ' ') {
			(*s)++;
			(*len)--;
			changed = true;
			continue;
		}
		while ((b = blob_len(*s + i, *len - i)) > 0)
			i += b;
		if ((r = refwd_len(*s + i, *len - i)) == 0)
			return changed;
		*s += i + r;
		*len -= i + r;
		*reply = true;
		changed = true;
	}
}

/* Step 2: subj-trailer = "(fwd)" / WSP, as often as it is there. */
static void
strip_trailers(const char *s, size_t *len, bool *reply)
{
	for (;;) {
		if (*len > 0 && s[*len - 1] == ' ')
			(*len)--;
		else if (*len >= 5 && starts_with(s + *len - 5, 5, "(fwd)")) {
			*len -= 5;
			*reply = true;
		} else
			return;
	}
}

/* Step 1's white space: every run of WSP, CR and LF is one space. */
static char *
collapse_wsp(const char *subject)
{
	char *out = xmalloc(strlen(subject) + 1);
	size_t n = 0;

	for (const char *p = subject; *p != '\0'; p++) {
		if (is_wsp(*p)) {
			if (n == 0 || out[n - 1] != ' ')
				out[n++] = ' ';
		} else
			out[n++] = *p;
	}
	out[n] = '\0';
	return out;
}

char *
imap_base_subject(const char *subject, bool *reply_r)
{
	char *text = collapse_wsp(subject);
	const char *s = text;
	size_t len = strlen(text);
	bool reply = false;
	char *out;

	for (;;) {
		bool changed;

		strip_trailers(s, &len, &reply);	/* (2) */
		do {					/* (5) */
			size_t b;

			changed = strip_leaders(&s, &len, &reply); /* (3) */
			b = blob_len(s, len);			    /* (4) */
			if (b > 0 && b < len) {
				s += b;
				len -= b;
				changed = true;
			}
		} while (changed);
		/* (6) "[fwd:" subj-base "]" */
		if (len > 6 && starts_with(s, len, "[fwd:") &&
		    s[len - 1] == ']') {
			s += 5;
			len -= 6;
			reply = true;
			continue;
		}
		break;
	}
	out = xstrndup(s, len);
	free(text);
	*reply_r = reply;
	return out;
}

int
imap_casemap_cmp(const char *a, const char *b)
{
	const unsigned char *x = (const unsigned char *)a;
	const unsigned char *y = (const unsigned char *)b;

	for (;; x++, y++) {
		unsigned char cx = (unsigned char)upper((char)*x);
		unsigned char cy = (unsigned char)upper((char)*y);

		if (cx != cy)
			return cx < cy ? -1 : 1;
		if (cx == '\0')
			return 0;
	}
}
