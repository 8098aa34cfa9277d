/*
 * Checked lines: the framing shared by the store's append-only files
 * (the MODSEQ log, the UID list). Pure: no I/O. Internal to the store
 * and its unit tests.
 *
 * Each line is text that ends in " <check>\n", check being 8 hex digits:
 * the low 32 bits of the FNV-1a of the line before " <check>". A file
 * appended to and fsynced line by line can then be read back up to the
 * last line a crash left whole: a line cut short, or the blocks of
 * zeroes or old data a file system may show after the last fsync, fail
 * their check and end the good prefix.
 */
#ifndef MB_STORE_LOG_LINE_H
#define MB_STORE_LOG_LINE_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"

/* " <8 hex digits>" that closes every line, without the LF. */
#define LOG_LINE_CHECK_LEN 9

/* Close the line that starts at offset start of out (the body already
 * appended, no LF): append " <check>\n". */
void log_line_close(struct buf *out, size_t start);

/*
 * Splits bytes into checked lines, in any pieces. The caller gives the
 * buffer that holds one line (max bytes, LF excluded): a longer line is
 * bad.
 */
struct log_line_reader {
	char *line;	/* the caller's buffer: the line so far */
	size_t max;	/* its size */
	size_t len;	/* bytes of the line so far */
	bool skipping;	/* a too long line is skipped to its LF */
};
void log_line_reader_init(struct log_line_reader *r, char *line,
    size_t max);

/*
 * Take up to size bytes of data; *consumed_r says how many were used.
 * Returns 1 when a line is complete (its LF consumed) and its check is
 * right, with *body_r and *body_len_r its text before " <check>" (in
 * the reader's buffer, valid until the next call); 0 when every byte was
 * used without completing a line (a torn tail, if the data ends here);
 * -1 for a bad line (wrong or missing check, or longer than max): the
 * good prefix ends before it. Reading on after -1 goes on with the next
 * line (the rest of a too long one is skipped), so a caller can tell a
 * torn tail (nothing good follows) from damage in the middle.
 */
int log_line_feed(struct log_line_reader *r, const void *data, size_t size,
    size_t *consumed_r, const char **body_r, size_t *body_len_r);

#endif
