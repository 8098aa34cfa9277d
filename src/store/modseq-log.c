/*
 * The MODSEQ log's records to and from bytes (format in modseq-log.h).
 * Pure: no I/O, so the parser can be fed a byte at a time in tests.
 */
#include "store/modseq-log.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>


void
modseq_rec_format(const struct modseq_rec *rec, struct buf *out)
{
	char line[MODSEQ_LOG_LINE_MAX];
	size_t start;
	int n;

	switch (rec->type) {
	case MODSEQ_REC_HEADER:
		n = snprintf(line, sizeof(line), "V %" PRIu32 " %" PRIu64
		    " %" PRIu64, rec->uid, rec->modseq, rec->horizon);
		break;
	case MODSEQ_REC_MSG:
		n = snprintf(line, sizeof(line), "M %" PRIu32 " %" PRIu64
		    " %u %" PRIx32, rec->uid, rec->modseq,
		    (unsigned)rec->flags, rec->keywords);
		break;
	case MODSEQ_REC_GONE:
	default:
		n = snprintf(line, sizeof(line), "X %" PRIu32 " %" PRIu64,
		    rec->uid, rec->modseq);
		break;
	}
	/* Five numbers of at most 20 digits fit the line limit. */
	start = out->len;
	(void)buf_append(out, line, (size_t)n);
	log_line_close(out, start);
}

void
modseq_parser_init(struct modseq_parser *p)
{
	memset(p, 0, sizeof(*p));
	log_line_reader_init(&p->reader, p->line, sizeof(p->line));
}

/* One number in base (10 or 16) up to max, then a space or the end.
 * False if there is none or it is out of range. */
static bool
parse_num(const char **pp, const char *end, unsigned base, uint64_t max,
    uint64_t *num_r)
{
	const char *p = *pp;
	uint64_t v = 0;
	unsigned d;

	if (p == end)
		return false;
	for (; p < end && *p != ' '; p++) {
		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else
			return false;
		if (p - *pp >= 20 || v > (max - d) / base)
			return false;
		v = v * base + d;
	}
	if (p == *pp)
		return false;
	if (p < end)
		p++;		/* the space */
	*pp = p;
	*num_r = v;
	return true;
}

/* A line's body (its check verified and cut off) into rec. 0 or -1. */
static int
parse_line(const char *line, size_t len, struct modseq_rec *rec)
{
	const char *p, *end;
	uint64_t uid, a, b = 0, c = 0;

	if (len < 2)
		return -1;
	if (line[1] != ' ')
		return -1;
	p = line + 2;
	end = line + len;
	memset(rec, 0, sizeof(*rec));
	rec->type = (enum modseq_rec_type)line[0];
	if (!parse_num(&p, end, 10, UINT32_MAX, &uid) ||
	    !parse_num(&p, end, 10, UINT64_MAX, &a))
		return -1;
	switch (line[0]) {
	case MODSEQ_REC_HEADER:
		if (!parse_num(&p, end, 10, UINT64_MAX, &b) || uid == 0)
			return -1;
		rec->horizon = b;
		break;
	case MODSEQ_REC_MSG:
		if (!parse_num(&p, end, 10, UINT8_MAX, &b) ||
		    !parse_num(&p, end, 16, UINT32_MAX, &c) || uid == 0 ||
		    a == 0)
			return -1;
		rec->flags = (uint8_t)b;
		rec->keywords = (uint32_t)c;
		break;
	case MODSEQ_REC_GONE:
		if (uid == 0 || a == 0)
			return -1;
		break;
	default:
		return -1;
	}
	if (p != end)
		return -1;
	rec->uid = (uint32_t)uid;
	rec->modseq = a;
	return 0;
}

int
modseq_parser_feed(struct modseq_parser *p, const void *data, size_t size,
    size_t *consumed_r, struct modseq_rec *rec_r)
{
	const char *body;
	size_t len;
	int ret;

	ret = log_line_feed(&p->reader, data, size, consumed_r, &body, &len);
	if (ret <= 0)
		return ret;
	return parse_line(body, len, rec_r) < 0 ? -1 : 1;
}
