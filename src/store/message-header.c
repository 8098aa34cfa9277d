/*
 * Header values as SORT and THREAD need them (RFC 5256): a field of the
 * message's own header by name, and header text with its RFC 2047
 * encoded words decoded into UTF-8.
 */
#include "store/message.h"

#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "lib/xmalloc.h"
#include "store/message-private.h"

char *
message_header_get(const struct message *msg, const char *name)
{
	return message_field_value(msg->data, message_part_priv(msg->root),
	    name);
}

char *
message_header_decode(const char *raw)
{
	char *dec, *valid, *out;

	message_gmime_ready();
	dec = g_mime_utils_header_decode_text(NULL, raw);
	valid = g_utf8_make_valid(dec != NULL ? dec : raw, -1);
	out = xstrdup(valid);
	g_free(valid);
	g_free(dec);
	return out;
}
