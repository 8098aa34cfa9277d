/*
 * IMAP wire syntax without I/O: the writers of imap-wire.h append
 * atoms, quoted strings, literals, flag lists and UID sets to a struct
 * buf, each leaving the buffer unchanged when it would overflow, and
 * mailbox names are checked and mapped to the store's folder names.
 */
#include "imap/imap-wire.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "imap/imap-utf7.h"
#include "store/store.h"

/* Undo a partial append: b back to its first old bytes. Returns -1 for
 * the writer to pass on. */
static int
truncate_to(struct buf *b, size_t old)
{
	b->len = old;
	if (b->data != NULL)
		b->data[old] = '\0';
	return -1;
}

/* RFC 3501 9: ATOM-CHAR is any CHAR except atom-specials. */
static bool
is_atom_char(unsigned char c)
{
	if (c <= 0x1f || c >= 0x7f)
		return false;
	return strchr("(){ %*\"\\]", c) == NULL;
}

int
imap_write_literal(struct buf *b, const void *data, size_t len)
{
	size_t old = b->len;

	if (buf_printf(b, "{%zu}\r\n", len) < 0 ||
	    buf_append(b, data, len) < 0)
		return truncate_to(b, old);
	return 0;
}

/* Quoted strings longer than this go as literals: a client's line
 * buffer need not hold them. */
#define QUOTED_MAX 1024

int
imap_write_string(struct buf *b, const char *s)
{
	size_t len = strlen(s), old = b->len;
	bool quotable = len <= QUOTED_MAX;

	for (size_t i = 0; quotable && i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x80 || c == '\r' || c == '\n')
			quotable = false;
	}
	if (!quotable)
		return imap_write_literal(b, s, len);
	if (buf_append(b, "\"", 1) < 0)
		goto fail;
	for (size_t i = 0; i < len; i++) {
		if ((s[i] == '"' || s[i] == '\\') &&
		    buf_append(b, "\\", 1) < 0)
			goto fail;
		if (buf_append(b, &s[i], 1) < 0)
			goto fail;
	}
	if (buf_append(b, "\"", 1) < 0)
		goto fail;
	return 0;
fail:
	return truncate_to(b, old);
}

int
imap_write_astring(struct buf *b, const char *s)
{
	size_t i;

	if (s[0] == '\0' || strcasecmp(s, "NIL") == 0)
		return imap_write_string(b, s);
	for (i = 0; s[i] != '\0'; i++)
		if (!is_atom_char((unsigned char)s[i]) && s[i] != ']')
			return imap_write_string(b, s);
	return buf_append(b, s, i);
}

int
imap_write_nstring(struct buf *b, const char *s)
{
	if (s == NULL)
		return buf_append_str(b, "NIL");
	return imap_write_string(b, s);
}

int
imap_write_flags(struct buf *b, unsigned int flags)
{
	return imap_write_flag_list(b, flags, 0, NULL);
}

int
imap_write_flag_list(struct buf *b, unsigned int flags, uint32_t keywords,
    const char *const *kw_names)
{
	static const struct {
		unsigned flag;
		const char *name;
	} names[] = {
		{ STORE_FLAG_REPLIED, "\\Answered" },
		{ STORE_FLAG_FLAGGED, "\\Flagged" },
		{ STORE_FLAG_TRASHED, "\\Deleted" },
		{ STORE_FLAG_SEEN, "\\Seen" },
		{ STORE_FLAG_DRAFT, "\\Draft" },
		{ STORE_FLAG_PASSED, "$Forwarded" },	/* Maildir's P */
		{ IMAP_FLAG_RECENT, "\\Recent" },
	};
	size_t old = b->len;
	bool first = true;

	if (buf_append(b, "(", 1) < 0)
		goto fail;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(flags & names[i].flag))
			continue;
		if ((!first && buf_append(b, " ", 1) < 0) ||
		    buf_append_str(b, names[i].name) < 0)
			goto fail;
		first = false;
	}
	for (size_t i = 0; kw_names != NULL && i < KEYWORDS_MAX; i++) {
		if (!(keywords & ((uint32_t)1 << i)) || kw_names[i] == NULL ||
		    ((flags & STORE_FLAG_PASSED) &&
		    strcasecmp(kw_names[i], "$Forwarded") == 0))
			continue;
		if ((!first && buf_append(b, " ", 1) < 0) ||
		    buf_append_str(b, kw_names[i]) < 0)
			goto fail;
		first = false;
	}
	if (buf_append(b, ")", 1) < 0)
		goto fail;
	return 0;
fail:
	return truncate_to(b, old);
}

int
imap_write_uidset(struct buf *b, const uint32_t *uids, size_t count)
{
	size_t old = b->len;

	for (size_t i = 0; i < count; ) {
		size_t j = i;

		while (j + 1 < count && uids[j] != UINT32_MAX &&
		    uids[j + 1] == uids[j] + 1)
			j++;
		if ((i > 0 && buf_append(b, ",", 1) < 0) ||
		    (j == i ? buf_printf(b, "%u", uids[i]) :
		    buf_printf(b, "%u:%u", uids[i], uids[j])) < 0)
			return truncate_to(b, old);
		i = j + 1;
	}
	return 0;
}

int
imap_mailbox_from_wire(const char *wire, char name_r[FOLDER_NAME_MAX + 1],
    const char **error_r)
{
	size_t len = strlen(wire);

	if (strcasecmp(wire, STORE_INBOX) == 0) {
		memcpy(name_r, STORE_INBOX, sizeof(STORE_INBOX));
		return 0;
	}
	if (len == 0 || len > FOLDER_NAME_MAX) {
		*error_r = "Invalid mailbox name";
		return -1;
	}
	if (!imap_utf7_is_valid(wire)) {
		*error_r = "Mailbox name is not valid modified UTF-7";
		return -1;
	}
	/* "inbox.Sub" is a child of INBOX: its first level is INBOX too. */
	if (len > 6 && strncasecmp(wire, "INBOX.", 6) == 0) {
		memcpy(name_r, STORE_INBOX, 5);
		memcpy(name_r + 5, wire + 5, len - 5 + 1);
	} else
		memcpy(name_r, wire, len + 1);
	if (!store_folder_name_valid(name_r)) {
		*error_r = "Invalid mailbox name";
		return -1;
	}
	return 0;
}
