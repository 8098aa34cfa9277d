/*
 * What the message-*.c files share: the parsed message's structures
 * behind message.h, GMime's set-up, and helpers for bytes and header
 * fields. Internal to the store.
 */
#ifndef MB_STORE_MESSAGE_PRIVATE_H
#define MB_STORE_MESSAGE_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gmime/gmime.h>

#include "lib/buf.h"
#include "store/message.h"

/* One header field, as positions in the message. */
struct field {
	size_t start;		/* first byte of the name */
	size_t value_start;	/* after the colon */
	size_t end;		/* after the value and its line break */
	char *name;		/* as GMime reports it (no trailing blanks) */
};

/* A part with the fields of its header block, in message order; for the
 * top part of a message these are the message's fields too. */
struct part {
	struct message_part pub;	/* first: parts are handed out as
					   struct message_part */
	struct field *fields;
	size_t field_count;
};

/* A parsed message (message.h): its bytes and what was derived from
 * them. */
struct message {
	GByteArray *bytes;		/* the message as stored (LF or CRLF) */
	const unsigned char *data;	/* bytes->data, never NULL */
	size_t size;
	uint64_t crlf_size;		/* size with CRLF line ends */
	struct message_envelope *envelope;
	struct message_part *root;
};

/* The private part behind a public one. */
static inline const struct part *
message_part_priv(const struct message_part *p)
{
	return (const struct part *)(const void *)p;
}

/* ---- message.c ---- */

/* Set GMime up once per process; call before any GMime use. */
void message_gmime_ready(void);

/* Space or horizontal tab (RFC 5234 WSP). */
bool message_is_wsp(unsigned char c);
/* The size of len raw bytes once every bare LF is CRLF. */
uint64_t message_crlf_size(const unsigned char *p, size_t len);
/* Line feeds in len raw bytes. */
uint64_t message_count_lines(const unsigned char *p, size_t len);
/* Append len raw bytes to out with every bare LF turned into CRLF.
 * 0, or -1 if out's maximum would be exceeded. */
int message_append_crlf(struct buf *out, const unsigned char *p,
    size_t len);

/* The raw value of a field as a NUL-terminated string; g_free it. */
char *message_field_raw(const unsigned char *data, const struct field *f);
/* The value unfolded (RFC 5322 2.2.3) and trimmed, as GMime does it;
 * malloc'd. */
char *message_field_unfolded(const unsigned char *data,
    const struct field *f);
/* The first field of p named name (case-insensitive), or NULL. */
const struct field *message_field_find(const struct part *p,
    const char *name);
/* The first field named name, unfolded (malloc'd), or NULL. */
char *message_field_value(const unsigned char *data, const struct part *p,
    const char *name);
/* qsort order of fields: by position in the message. */
int message_field_cmp(const void *a, const void *b);

/* ---- message-address.c ---- */

/* Read the address list of an unfolded field value (NULL: an empty
 * list) into *l, laid out as struct message_address says. Pure: it only
 * reads value. Free with message_address_list_free(). */
void message_address_list_parse(const char *value,
    struct message_address_list *l);
void message_address_list_free(struct message_address_list *l);

/* The envelope of the message whose header is top's (malloc'd). */
struct message_envelope *message_envelope_from(const unsigned char *data,
    const struct part *top);
void message_envelope_free(struct message_envelope *env);

/* ---- message-mime.c ---- */

/* State of one conversion of GMime's tree into ours. */
struct conv {
	const unsigned char *data;	/* the message */
	size_t size;
	gint64 base;		/* stream offset of data[0] */
	size_t parts;		/* parts created so far */
	const char *error;
};

/* The value of parameter name (case-insensitive), or NULL. */
const char *message_param_get(const struct message_param *params,
    size_t count, const char *name);
/* Free a part made by the conversion and all below it; NULL is
 * fine. */
void message_part_drop(struct part *p);
/* Set the end of part's body to end (a position in c's message) and
 * measure it. */
void message_part_set_end(const struct conv *c, struct message_part *part,
    size_t end);
/* An empty message: the body of a message/rfc822 part GMime found no
 * message in (its delimiter follows at once, or nothing does). */
struct part *message_part_empty(struct conv *c, size_t pos);
/*
 * Describe the GMime part obj whose header starts at hstart (msg: the
 * message obj is the top part of, whose fields share its header block).
 * With part_r NULL the part is only measured. Returns the end of the
 * part's body, or SIZE_MAX with c->error set.
 */
size_t message_conv_part(struct conv *c, GMimeObject *obj,
    GMimeMessage *msg, size_t hstart, unsigned depth, bool in_digest,
    struct part **part_r);
/* Free a part and everything below it. */
void message_part_free(struct message_part *part);

#endif
