/*
 * Maildir file names: unique new names, the base/info split and the flag
 * letters of the info part ("2,<letters>", letters in ASCII order, as
 * described at https://cr.yp.to/proto/maildir.html).
 */
#include "store/maildir-flags.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/limits.h"
#include "lib/strnum.h"
#include "lib/xmalloc.h"
#include "store/store.h"

static const struct {
	char letter;
	unsigned flag;
} flag_letters[] = {
	{ 'D', STORE_FLAG_DRAFT },
	{ 'F', STORE_FLAG_FLAGGED },
	{ 'P', STORE_FLAG_PASSED },
	{ 'R', STORE_FLAG_REPLIED },
	{ 'S', STORE_FLAG_SEEN },
	{ 'T', STORE_FLAG_TRASHED },
};
#define FLAG_LETTERS_COUNT (sizeof(flag_letters) / sizeof(flag_letters[0]))

char *
maildir_host_sanitize(const char *hostname)
{
	struct buf b;
	const char *p;
	char *out;

	if (hostname == NULL || *hostname == '\0')
		return xstrdup("localhost");
	buf_init(&b, 0);
	for (p = hostname; *p != '\0'; p++) {
		if (*p == '/')
			(void)buf_append_str(&b, "\\057");
		else if (*p == ':')
			(void)buf_append_str(&b, "\\072");
		else
			(void)buf_append(&b, p, 1);
	}
	out = xstrdup(buf_cstr(&b));
	buf_free(&b);
	return out;
}

int
maildir_name_format(char *buf, size_t size, long long sec, long usec,
    pid_t pid, unsigned long long seq, const char *host, uint64_t msg_size,
    uint64_t crlf_size)
{
	int n;

	n = snprintf(buf, size, "%lld.M%ldP%ldQ%llu.%s,S=%llu,W=%llu", sec,
	    usec, (long)pid, seq, host, (unsigned long long)msg_size,
	    (unsigned long long)crlf_size);
	if (n < 0 || (size_t)n >= size)
		return -1;
	return 0;
}

size_t
maildir_name_base_len(const char *name)
{
	const char *sep = strchr(name, MAILDIR_INFO_SEP);

	return sep != NULL ? (size_t)(sep - name) : strlen(name);
}

/* The number after ",<c>=" among the fields of name's base part (those
 * after the host, each introduced by ','). */
static bool
name_field(const char *name, char c, uint64_t *value_r)
{
	size_t base_len = maildir_name_base_len(name), i;
	uint64_t value;
	const char *p;

	for (i = 0; i + 3 <= base_len; i++) {
		if (name[i] != ',' || name[i + 1] != c || name[i + 2] != '=')
			continue;
		p = name + i + 3;
		if (p >= name + base_len || *p < '0' || *p > '9')
			continue;
		if (str_parse_u64(&p, name + base_len, UINT64_MAX,
		    &value) < 0)
			return false;
		if (p < name + base_len && *p != ',')
			continue;
		*value_r = value;
		return true;
	}
	return false;
}

bool
maildir_name_size(const char *name, size_t *size_r)
{
	uint64_t size;

	if (!name_field(name, 'S', &size) || size > SIZE_MAX)
		return false;
	*size_r = (size_t)size;
	return true;
}

bool
maildir_name_crlf_size(const char *name, uint64_t *size_r)
{
	return name_field(name, 'W', size_r);
}

uint64_t
maildir_crlf_extra(const unsigned char *data, size_t len, bool *cr)
{
	const unsigned char *p = data, *end = data + len, *lf;
	uint64_t extra = 0;

	if (len == 0)
		return 0;
	while ((lf = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (lf == data ? !*cr : lf[-1] != '\r')
			extra++;
		p = lf + 1;
	}
	*cr = end[-1] == '\r';
	return extra;
}

/* The letters after ":2,", or NULL if name has no such info part. */
static const char *
info_letters(const char *name)
{
	const char *sep = strchr(name, MAILDIR_INFO_SEP);

	if (sep == NULL || strncmp(sep, MAILDIR_INFO_PREFIX,
	    strlen(MAILDIR_INFO_PREFIX)) != 0)
		return NULL;
	return sep + strlen(MAILDIR_INFO_PREFIX);
}

unsigned
maildir_name_flags(const char *name)
{
	const char *letters = info_letters(name), *p;
	unsigned flags = 0;
	size_t i;

	if (letters == NULL)
		return 0;
	for (p = letters; *p != '\0'; p++) {
		for (i = 0; i < FLAG_LETTERS_COUNT; i++) {
			if (*p == flag_letters[i].letter)
				flags |= flag_letters[i].flag;
		}
	}
	return flags;
}

static bool
is_standard_letter(char c)
{
	size_t i;

	for (i = 0; i < FLAG_LETTERS_COUNT; i++) {
		if (c == flag_letters[i].letter)
			return true;
	}
	return false;
}

/* A keyword letter: 'a' + i for i below KEYWORDS_MAX. */
static bool
is_keyword_letter(char c)
{
	return c >= 'a' && c < 'a' + KEYWORDS_MAX;
}

uint32_t
maildir_name_keywords(const char *name)
{
	const char *letters = info_letters(name), *p;
	uint32_t keywords = 0;

	if (letters == NULL)
		return 0;
	for (p = letters; *p != '\0'; p++) {
		if (is_keyword_letter(*p))
			keywords |= (uint32_t)1 << (*p - 'a');
	}
	return keywords;
}

char *
maildir_name_set_flags(const char *name, unsigned flags)
{
	return maildir_name_set_info(name, flags, maildir_name_keywords(name));
}

char *
maildir_name_set_info(const char *name, unsigned flags, uint32_t keywords)
{
	const char *letters = info_letters(name), *p;
	bool present[256] = { false };
	struct buf b;
	char *out;
	size_t i;
	int c;

	if (letters != NULL) {
		for (p = letters; *p != '\0'; p++) {
			if (!is_standard_letter(*p) && !is_keyword_letter(*p))
				present[(unsigned char)*p] = true;
		}
	}
	for (i = 0; i < FLAG_LETTERS_COUNT; i++) {
		if ((flags & flag_letters[i].flag) != 0)
			present[(unsigned char)flag_letters[i].letter] = true;
	}
	for (i = 0; i < KEYWORDS_MAX; i++) {
		if ((keywords & ((uint32_t)1 << i)) != 0)
			present['a' + i] = true;
	}

	buf_init(&b, 0);
	(void)buf_append(&b, name, maildir_name_base_len(name));
	(void)buf_append_str(&b, MAILDIR_INFO_PREFIX);
	/* Printable letters only, each once, in ASCII order: the
	 * uppercase flags come before the keyword letters. */
	for (c = 0x21; c < 0x7f; c++) {
		if (present[c] && c != ',' && c != MAILDIR_INFO_SEP) {
			char ch = (char)c;

			(void)buf_append(&b, &ch, 1);
		}
	}
	out = xstrdup(buf_cstr(&b));
	buf_free(&b);
	return out;
}
