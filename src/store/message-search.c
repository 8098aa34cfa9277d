/*
 * SEARCH over a parsed message (RFC 3501 6.4.4): header fields with
 * RFC 2047 words decoded, address fields as the addresses they hold,
 * text bodies with their transfer encoding and charset undone, matched
 * case-insensitively, and the sent date.
 */
#include "store/message.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "lib/xmalloc.h"
#include "store/message-private.h"

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
	char *raw = message_field_raw(data, f);
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
	const struct part *top = message_part_priv(msg->root);
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
 * One address as FROM, TO, CC and BCC search it: the display name
 * decoded, then the address, "Jörg <j@x.org>", or the address alone,
 * comments and quoting gone; a group start is its name. The placeholders
 * of a missing local part or domain are not text the message has, so
 * they are left out. NULL for a group end; g_free it.
 */
static char *
address_text(const struct message_address *a)
{
	const char *mbox = a->mailbox, *host = a->host;
	char *name, *text;

	if (mbox == NULL)
		return NULL;
	if (host == NULL)
		return g_strdup(mbox);
	if (strcmp(mbox, "MISSING_MAILBOX") == 0)
		mbox = "";
	if (strcmp(host, "MISSING_DOMAIN") == 0)
		host = "";
	text = g_strconcat(mbox, host[0] != '\0' ? "@" : "", host, NULL);
	if (a->name == NULL)
		return text;
	name = g_mime_utils_header_decode_phrase(NULL, a->name);
	g_free(text);
	text = g_strconcat(name, " <", mbox, host[0] != '\0' ? "@" : "",
	    host, ">", NULL);
	g_free(name);
	return text;
}

/* Some address of some field named field (case-insensitive) contains
 * the needle; with needle "" any such field matches. */
static bool
addresses_contain(const struct message *msg, const char *field,
    const char *needle_folded)
{
	const struct part *top = message_part_priv(msg->root);
	size_t i, j;
	bool found = false;

	for (i = 0; !found && i < top->field_count; i++) {
		const struct field *f = &top->fields[i];
		struct message_address_list list;
		char *value;

		if (g_ascii_strcasecmp(f->name, field) != 0)
			continue;
		if (needle_folded[0] == '\0')
			return true;
		value = message_field_unfolded(msg->data, f);
		message_address_list_parse(value, &list);
		free(value);
		for (j = 0; !found && j < list.count; j++) {
			char *text = address_text(&list.addrs[j]);

			if (text != NULL)
				found = contains_folded(text, strlen(text),
				    needle_folded);
			g_free(text);
		}
		message_address_list_free(&list);
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
	charset = message_param_get(part->params, part->param_count, "charset");
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

/* needle folded, then looked for by contains in msg's field. */
static bool
search_field(const struct message *msg, const char *field,
    const char *needle,
    bool (*contains)(const struct message *, const char *, const char *))
{
	char *folded;
	bool found;

	message_gmime_ready();
	folded = fold(needle, strlen(needle));
	found = contains(msg, field, folded);
	g_free(folded);
	return found;
}

bool
message_search_header(const struct message *msg, const char *field,
    const char *needle)
{
	return search_field(msg, field, needle, header_contains);
}

bool
message_search_address(const struct message *msg, const char *field,
    const char *needle)
{
	return search_field(msg, field, needle, addresses_contain);
}

bool
message_search_body(const struct message *msg, const char *needle)
{
	char *folded;
	bool found;

	message_gmime_ready();
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

	message_gmime_ready();
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
	const struct field *f =
	    message_field_find(message_part_priv(msg->root), "Date");
	GDateTime *dt;
	char *raw;

	if (f == NULL)
		return -1;
	message_gmime_ready();
	raw = message_field_unfolded(msg->data, f);
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
