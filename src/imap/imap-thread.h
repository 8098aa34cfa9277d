/*
 * THREAD (RFC 5256) without I/O: the arguments parsed, the threads of
 * a set of messages built by ORDEREDSUBJECT or REFERENCES (RFC 5256 3
 * and 2.2's steps), and written as a THREAD response.
 */
#ifndef MB_IMAP_IMAP_THREAD_H
#define MB_IMAP_IMAP_THREAD_H

#include <stdbool.h>
#include <stddef.h>

#include "imap/imap-parser.h"
#include "imap/imap-search.h"
#include "imap/imap-sort.h"
#include "lib/buf.h"

enum imap_thread_algorithm {
	IMAP_THREAD_ORDEREDSUBJECT,
	IMAP_THREAD_REFERENCES,
};

/*
 * Parse the arguments of THREAD: algorithm SP charset 1*(SP search-key).
 * Returns 0 with *algorithm_r and *search_r (free with
 * imap_search_free()), or -1 with *error_r (static text) and *code_r
 * (BADCHARSET: answer NO [BADCHARSET]).
 */
int imap_thread_parse(const struct imap_arg *args, unsigned int count,
    enum imap_thread_algorithm *algorithm_r, struct imap_search **search_r,
    enum imap_search_error *code_r, const char **error_r);

/*
 * Thread msgs[0 .. count) (in any order; each with seq, date, subject,
 * reply and, for REFERENCES, message_id and refs filled) and append the
 * threads to out as RFC 5256 4 writes them, each thread "(...)" with
 * no space between threads: "(2)(3 6 (4 23)(44 7 96))". Numbers are
 * UIDs if uid, else sequence numbers. msgs is reordered.
 */
void imap_thread_build(enum imap_thread_algorithm algorithm,
    struct imap_sort_msg **msgs, size_t count, bool uid, struct buf *out);

#endif
