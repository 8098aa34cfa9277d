/*
 * BODY[section] of a parsed message (RFC 3501 6.4.5): finding the part
 * that part numbers name, and the CRLF-normalised bytes of a header,
 * some of its fields, a text or a MIME header; and BINARY[section]
 * (RFC 3516), a part's content with its transfer encoding undone.
 */
#include "store/message.h"

#include <gmime/gmime.h>

#include "store/message-private.h"

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
		if (message_append_crlf(out, msg->data + f->start,
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
		ret = append_fields(msg, message_part_priv(top), section,
		    section->kind == MESSAGE_SECTION_HEADER_FIELDS_NOT, out);
	} else {
		ret = message_append_crlf(out, msg->data + start, end - start);
	}
	if (ret < 0) {
		*error_r = "section too large";
		return -1;
	}
	return 0;
}

/* Append len bytes, CRLF-normalised (crlf) or as they are. */
static int
binary_append(struct buf *out, const unsigned char *p, size_t len, bool crlf,
    const char **error_r)
{
	if ((crlf ? message_append_crlf(out, p, len) :
	    buf_append(out, p, len)) < 0) {
		*error_r = "section too large";
		return -1;
	}
	return 0;
}

int
message_binary_get(const struct message *msg, const uint32_t *parts,
    size_t part_count, struct buf *out, const char **error_r)
{
	const struct message_part *part;
	GMimeContentEncoding enc;
	GMimeEncoding state;
	struct buf in;
	const unsigned char *src;
	size_t len, n;
	char *dec;
	int ret;

	if (part_count == 0)
		return binary_append(out, msg->data, msg->size, true, error_r);
	part = message_part_find(msg, parts, part_count);
	if (part == NULL) {
		*error_r = "no such part";
		return -1;
	}
	src = msg->data + part->raw_body_start;
	len = part->raw_body_end - part->raw_body_start;
	enc = g_mime_content_encoding_from_string(part->encoding);
	if (part->kind == MESSAGE_PART_MULTIPART ||
	    part->kind == MESSAGE_PART_MESSAGE ||
	    enc == GMIME_CONTENT_ENCODING_7BIT ||
	    enc == GMIME_CONTENT_ENCODING_8BIT)
		return binary_append(out, src, len, true, error_r);
	if (enc == GMIME_CONTENT_ENCODING_BINARY)
		return binary_append(out, src, len, false, error_r);
	/* RFC 3516 names no other encoding, and the uuencode GMime knows
	 * is no MIME one: the client gets [UNKNOWN-CTE] (as from Dovecot)
	 * and may fetch the part encoded with BODY[]. */
	if (enc != GMIME_CONTENT_ENCODING_BASE64 &&
	    enc != GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE) {
		*error_r = "unknown Content-Transfer-Encoding";
		return -2;
	}
	/* Decoded from the CRLF form: quoted-printable's hard line breaks
	 * then come out as CRLF whatever the file holds. */
	buf_init(&in, 0);
	if (binary_append(&in, src, len, true, error_r) < 0) {
		buf_free(&in);
		return -1;
	}
	g_mime_encoding_init_decode(&state, enc);
	dec = g_malloc(g_mime_encoding_outlen(&state, in.len) + 1);
	n = g_mime_encoding_flush(&state, (const char *)in.data, in.len, dec);
	ret = binary_append(out, (const unsigned char *)dec, n, false,
	    error_r);
	g_free(dec);
	buf_free(&in);
	return ret;
}
