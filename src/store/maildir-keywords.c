/*
 * A folder's keywords file (dovecot-keywords), read and written in the
 * format Dovecot uses, so a Maildir moved between Dovecot and mailbell
 * keeps its keywords.
 */
#include "store/maildir-keywords.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/strnum.h"
#include "lib/xmalloc.h"

/* RFC 3501 9: ATOM-CHAR is any CHAR but atom-specials. */
static bool
atom_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\]", c) == NULL;
}

/* An atom of any length (names another program wrote). */
static bool
name_atom(const char *name, size_t len)
{
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		if (!atom_char((unsigned char)name[i]))
			return false;
	}
	return true;
}

bool
maildir_keyword_valid(const char *name)
{
	size_t len = strlen(name);

	return len <= KEYWORD_NAME_MAX && name_atom(name, len);
}

/* One line "<index> <name>" (without its LF) into kw. */
static void
parse_line(const char *line, size_t len, struct maildir_keywords *kw)
{
	const char *sp = memchr(line, ' ', len), *p;
	uint64_t idx;

	if (sp == NULL || str_to_u64_n(line, (size_t)(sp - line),
	    KEYWORDS_MAX - 1, &idx) < 0)
		return;
	p = sp + 1;
	if (!name_atom(p, (size_t)(line + len - p)))
		return;
	free(kw->names[idx]);
	kw->names[idx] = xstrndup(p, (size_t)(line + len - p));
}

void
maildir_keywords_parse(const char *data, size_t len,
    struct maildir_keywords *kw)
{
	const char *p = data, *end = data + len, *lf;

	while (p < end) {
		if ((lf = memchr(p, '\n', (size_t)(end - p))) == NULL)
			lf = end;
		parse_line(p, (size_t)(lf - p), kw);
		p = lf + 1;
	}
}

char *
maildir_keywords_format(const struct maildir_keywords *kw)
{
	struct buf b;
	char *out;
	size_t i;

	buf_init(&b, 0);
	for (i = 0; i < KEYWORDS_MAX; i++) {
		if (kw->names[i] != NULL)
			(void)buf_printf(&b, "%zu %s\n", i, kw->names[i]);
	}
	out = xstrdup(buf_cstr(&b));
	buf_free(&b);
	return out;
}

int
maildir_keywords_find(const struct maildir_keywords *kw, const char *name)
{
	size_t i;

	for (i = 0; i < KEYWORDS_MAX; i++) {
		if (kw->names[i] != NULL &&
		    strcasecmp(kw->names[i], name) == 0)
			return (int)i;
	}
	return -1;
}

int
maildir_keywords_add(struct maildir_keywords *kw, const char *name,
    bool *added_r)
{
	int idx = maildir_keywords_find(kw, name);
	size_t i;

	*added_r = false;
	if (idx >= 0)
		return idx;
	for (i = 0; i < KEYWORDS_MAX; i++) {
		if (kw->names[i] == NULL) {
			kw->names[i] = xstrdup(name);
			*added_r = true;
			return (int)i;
		}
	}
	return -1;
}

size_t
maildir_keywords_count(const struct maildir_keywords *kw)
{
	size_t i, n = 0;

	for (i = 0; i < KEYWORDS_MAX; i++)
		n += kw->names[i] != NULL;
	return n;
}

void
maildir_keywords_clear(struct maildir_keywords *kw)
{
	size_t i;

	for (i = 0; i < KEYWORDS_MAX; i++) {
		free(kw->names[i]);
		kw->names[i] = NULL;
	}
}

int
maildir_keywords_read(const char *dir, struct maildir_keywords *kw,
    const char **error_r)
{
	char path[PATH_MAX], *data;
	size_t len;

	maildir_keywords_clear(kw);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
	    MAILDIR_KEYWORDS_FILE) >= sizeof(path)) {
		*error_r = error_fmt("%s: path too long", dir);
		return -1;
	}
	if (read_file(path, KEYWORDS_FILE_MAX, &data, &len) < 0) {
		if (errno == ENOENT)
			return 0;
		*error_r = error_fmt("%s: %s", path, strerror(errno));
		return -1;
	}
	maildir_keywords_parse(data, len, kw);
	free(data);
	return 0;
}

int
maildir_keywords_write(const char *dir, const struct maildir_keywords *kw,
    const char **error_r)
{
	char path[PATH_MAX], *data;
	int ret = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
	    MAILDIR_KEYWORDS_FILE) >= sizeof(path)) {
		*error_r = error_fmt("%s: path too long", dir);
		return -1;
	}
	data = maildir_keywords_format(kw);
	if (write_file_atomic(path, data, strlen(data), 0600) < 0) {
		*error_r = error_fmt("%s: %s", path, strerror(errno));
		ret = -1;
	}
	free(data);
	return ret;
}
