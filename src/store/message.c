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
 *
 * This file sets GMime up, holds the byte and header-field helpers the
 * other message-*.c files share, and parses a message into its handle.
 */
#include "store/message.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include "lib/limits.h"
#include "lib/xmalloc.h"
#include "store/message-private.h"

/* ---- GMime set-up ---- */

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

static void
gmime_init_cb(void)
{
	g_mime_init();
}

void
message_gmime_ready(void)
{
	pthread_once(&gmime_once, gmime_init_cb);
}

void
message_lib_deinit(void)
{
	message_gmime_ready();
	g_mime_shutdown();
}

/* ---- Bytes and lines ---- */

bool
message_is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* The size of len raw bytes once every bare LF is CRLF. */
uint64_t
message_crlf_size(const unsigned char *p, size_t len)
{
	uint64_t n = len;
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			n++;
	}
	return n;
}

uint64_t
message_count_lines(const unsigned char *p, size_t len)
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
int
message_append_crlf(struct buf *out, const unsigned char *p, size_t len)
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


/* ---- Header fields ---- */

/* The raw value of a field as a NUL-terminated string; g_free it. */
char *
message_field_raw(const unsigned char *data, const struct field *f)
{
	return g_strndup((const char *)data + f->value_start,
	    f->end - f->value_start);
}

/* The value unfolded (RFC 5322 2.2.3) and trimmed, as GMime does it;
 * malloc'd. */
char *
message_field_unfolded(const unsigned char *data, const struct field *f)
{
	char *raw = message_field_raw(data, f);
	char *unfolded = g_mime_utils_header_unfold(raw);
	char *v = xstrdup(unfolded);

	g_free(unfolded);
	g_free(raw);
	return v;
}

const struct field *
message_field_find(const struct part *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->field_count; i++) {
		if (g_ascii_strcasecmp(p->fields[i].name, name) == 0)
			return &p->fields[i];
	}
	return NULL;
}

/* The first field named name, unfolded (malloc'd), or NULL. */
char *
message_field_value(const unsigned char *data, const struct part *p,
    const char *name)
{
	const struct field *f = message_field_find(p, name);

	return f == NULL ? NULL : message_field_unfolded(data, f);
}

int
message_field_cmp(const void *a, const void *b)
{
	const struct field *fa = a, *fb = b;

	return fa->start < fb->start ? -1 : fa->start > fb->start;
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
	message_part_set_end(c, part, c->size);
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
	/* An empty GByteArray has no data at all; pointer arithmetic on
	   NULL is undefined even by 0, so point at an empty string. */
	msg->data = bytes->len > 0 ? bytes->data : (const guint8 *)"";
	msg->size = bytes->len;
	msg->crlf_size = message_crlf_size(msg->data, msg->size);
	c.data = msg->data;
	c.size = msg->size;

	if (delimiter_lines(msg->data, msg->size,
	    MESSAGE_DELIMITER_LINES_MAX) > MESSAGE_DELIMITER_LINES_MAX) {
		*error_r = "too many MIME delimiter lines";
		message_free(&msg);
		return -1;
	}
	message_gmime_ready();
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
		root = message_part_empty(&c, msg->size);
		root->pub.raw_header_start = 0;
	} else if (message_conv_part(&c, top, gmsg, 0, 1, false, &root) ==
	    SIZE_MAX) {
		message_part_drop(root);
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
	msg->envelope = message_envelope_from(msg->data, root);
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
	message_part_free(msg->root);
	message_envelope_free(msg->envelope);
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
