/*
 * The record format of a folder's MODSEQ log (<folder dir>/mailbell-modseq,
 * RFC 7162 CONDSTORE and QRESYNC), with no I/O: records encoded to bytes
 * and an incremental parser that takes the bytes back, in any pieces.
 * Internal to the store and its unit tests.
 *
 * The log is text, one record per line, each line a checked line
 * (log-line.h) so that a tail torn by a crash (a line cut short, or
 * blocks of zeroes after the last fsync) is recognised and dropped:
 *   V <uidvalidity> <highestmodseq> <horizon> <check>   first line
 *   M <uid> <modseq> <flags> <keywords> <check>         a message's state
 *   X <uid> <modseq> <check>                            an expunge
 * Numbers are decimal except keywords (hex bits, bit i = keyword i) and
 * check (8 hex digits: the low 32 bits of the FNV-1a of the line before
 * " <check>"). A later M of a UID replaces an earlier one; an X removes
 * the UID for good (UIDs are never reused under one UIDVALIDITY).
 * horizon: expunges with a MODSEQ at or below it may be forgotten.
 */
#ifndef MB_STORE_MODSEQ_LOG_H
#define MB_STORE_MODSEQ_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/limits.h"
#include "store/log-line.h"

#define MODSEQ_LOG_FILE "mailbell-modseq"
#define MODSEQ_LOG_TMP "mailbell-modseq.tmp"

enum modseq_rec_type {
	MODSEQ_REC_HEADER = 'V',	/* uid: UIDVALIDITY, modseq:
					   HIGHESTMODSEQ, horizon */
	MODSEQ_REC_MSG = 'M',		/* uid, modseq, flags, keywords */
	MODSEQ_REC_GONE = 'X',		/* uid, modseq */
};

struct modseq_rec {
	enum modseq_rec_type type;
	uint32_t uid;		/* MSG, GONE; HEADER: the UIDVALIDITY */
	uint64_t modseq;	/* MSG, GONE; HEADER: the highest given */
	uint64_t horizon;	/* HEADER only */
	uint8_t flags;		/* MSG: enum store_flag bits as recorded */
	uint32_t keywords;	/* MSG: keyword bits as recorded */
};

/* Append rec as one line to out. */
void modseq_rec_format(const struct modseq_rec *rec, struct buf *out);

/* The incremental parser: modseq_parser_init to start (it points into
 * itself, so it is not copied once started). */
struct modseq_parser {
	struct log_line_reader reader;
	char line[MODSEQ_LOG_LINE_MAX];	/* the reader's buffer */
};
void modseq_parser_init(struct modseq_parser *p);

/*
 * Parse up to size bytes of data; *consumed_r says how many were used.
 * Returns 1 with *rec_r when a record is complete (its LF consumed),
 * 0 when every byte was consumed without completing one (a torn tail,
 * if the file ends here), or -1 for a bad line (wrong check, bad
 * number, unknown type, too long): the log is cut before that line.
 * The result is the same whether the bytes come at once or one by one.
 */
int modseq_parser_feed(struct modseq_parser *p, const void *data,
    size_t size, size_t *consumed_r, struct modseq_rec *rec_r);

#endif
