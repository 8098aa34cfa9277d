/*
 * LIST and LSUB mailbox patterns (RFC 3501 6.3.8): "*" matches any
 * characters, "%" any characters but the hierarchy separator. Pure, no
 * I/O, so the matcher is tested and fuzzed on its own.
 */
#ifndef MB_IMAP_IMAP_MATCH_H
#define MB_IMAP_IMAP_MATCH_H

#include <stdbool.h>

/*
 * True if name matches pattern with sep as the hierarchy separator. The
 * "INBOX" at the start of a name (as a whole first level) matches in
 * any case, as INBOX is case-insensitive (RFC 3501 5.1). Names longer
 * than FOLDER_NAME_MAX never match; the work is bounded by
 * strlen(pattern) * FOLDER_NAME_MAX steps, with no recursion.
 */
bool imap_match(const char *pattern, const char *name, char sep);

#endif
