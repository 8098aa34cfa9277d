/*
 * Checked lines (see log-line.h): the check appended to a line, and the
 * reader that splits bytes into lines and verifies each one.
 */
#include "store/log-line.h"

#include <inttypes.h>
#include <string.h>

#include "lib/hash.h"

static uint32_t
line_check(const char *data, size_t len)
{
	return (uint32_t)hash_fnv1a(data, len, HASH_FNV1A_INIT);
}

void
log_line_close(struct buf *out, size_t start)
{
	uint32_t check = line_check((const char *)out->data + start,
	    out->len - start);

	(void)buf_printf(out, " %08" PRIx32 "\n", check);
}

void
log_line_reader_init(struct log_line_reader *r, char *line, size_t max)
{
	memset(r, 0, sizeof(*r));
	r->line = line;
	r->max = max;
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* True if line (len bytes, no LF) ends in its right check. */
static bool
line_verify(const char *line, size_t len)
{
	uint32_t check = 0;
	size_t i, body;
	int d;

	if (len < LOG_LINE_CHECK_LEN)
		return false;
	body = len - LOG_LINE_CHECK_LEN;
	if (line[body] != ' ')
		return false;
	for (i = body + 1; i < len; i++) {
		if ((d = hex_digit(line[i])) < 0)
			return false;
		check = check << 4 | (uint32_t)d;
	}
	return check == line_check(line, body);
}

int
log_line_feed(struct log_line_reader *r, const void *data, size_t size,
    size_t *consumed_r, const char **body_r, size_t *body_len_r)
{
	const char *in = data, *lf = memchr(in, '\n', size);
	size_t take = lf != NULL ? (size_t)(lf - in) : size, skipped = 0;
	int ret;

	if (r->skipping) {
		/* The rest of a too long line, up to its LF. */
		if (lf == NULL) {
			*consumed_r = size;
			return 0;
		}
		r->skipping = false;
		skipped = take + 1;
		ret = log_line_feed(r, in + skipped, size - skipped,
		    consumed_r, body_r, body_len_r);
		*consumed_r += skipped;
		return ret;
	}
	if (take > r->max - r->len) {
		/* Too long: bad, and the rest of it is skipped. */
		*consumed_r = r->max - r->len;
		r->len = 0;
		r->skipping = true;
		return -1;
	}
	memcpy(r->line + r->len, in, take);
	r->len += take;
	if (lf == NULL) {
		*consumed_r = size;
		return 0;
	}
	*consumed_r = take + 1;
	take = r->len;
	r->len = 0;
	if (!line_verify(r->line, take))
		return -1;
	*body_r = r->line;
	*body_len_r = take - LOG_LINE_CHECK_LEN;
	return 1;
}
