/*
 * The selected view as message commands use it: a sequence-set argument
 * resolved to the messages it names, by sequence number or by UID (RFC
 * 3501 6.4.8), UID lists written back compactly for COPYUID (RFC 4315),
 * and a message file read whole. Shared by FETCH, STORE, SEARCH, COPY,
 * MOVE and UID EXPUNGE.
 */
#ifndef MB_IMAP_IMAP_VIEW_H
#define MB_IMAP_IMAP_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/limits.h"

struct event;
struct imap_cmd;
struct imap_search;
struct imap_search_msg;
struct imap_searchres;
struct store_view;

/*
 * Resolve str against view's messages. By sequence number (uid false),
 * "*" is the view's count and a number above it is an error (RFC 9051
 * 6.4.5 asks for BAD); by UID, "*" is the highest UID in the view and
 * UIDs not in the view are ignored. "$" (RFC 5182) names the messages
 * of saved still in the view, either way. Returns 0 with the sequence numbers
 * named, ascending and each once, in *seqs_r (malloc'd, NULL when
 * *count_r is 0), or -1 with *error_r (static text) for "BAD".
 */
int imap_view_resolve(struct store_view *view, const char *str, bool uid,
    const struct imap_searchres *saved, uint32_t **seqs_r, size_t *count_r,
    const char **error_r);

/* The UIDs of the view's messages seqs[0 .. count) (malloc'd). */
uint32_t *imap_view_uids(struct store_view *view, const uint32_t *seqs,
    size_t count);

/*
 * Read the file of message uid into raw (initialised here; free it with
 * buf_free() after a 0 return), at most IMAP_FETCH_MESSAGE_MAX bytes.
 * Returns 0, or -1 with *error_r: the store's error (error_code() of it
 * is ERROR_EXPUNGED if the message is gone) or a read error.
 */
int imap_view_read_message(struct store_view *view, uint32_t uid,
    struct buf *raw, const char **error_r);
/* As imap_view_read_message(), but only the message's header: the bytes
 * up to and including the first empty line (all of a file without one),
 * for SEARCH keys that look at header fields alone. */
int imap_view_read_header(struct store_view *view, uint32_t uid,
    struct buf *raw, const char **error_r);

/*
 * What every command that runs a search program (SEARCH, SORT, THREAD)
 * does first and per message. imap_view_search_prepare() gives the
 * program's KEYWORD and UNKEYWORD keys the bits of view's folder (call
 * it once, before matching). imap_view_search_msg() fills *m_r with
 * what the view holds of its message at index i (sequence number
 * i + 1): UID, flags, \Recent and keywords; size, internal date and
 * the parsed message are left unset for the caller to add when the
 * matcher asks for them.
 */
void imap_view_search_prepare(struct imap_search *search,
    const struct store_view *view);
void imap_view_search_msg(const struct store_view *view, uint32_t i,
    struct imap_search_msg *m_r);

/* Append a message's flag list, "(\Seen $label1)": flags (enum
 * store_flag bits) and keywords (bits numbering view's keywords). 0 or
 * -1 as imap_write_flags(). */
int imap_view_write_flags(struct buf *b, const struct store_view *view,
    unsigned int flags, uint32_t keywords);
/* Append the flags view's folder can hold: the system flags,
 * $Forwarded and the folder's keywords, and with permanent "\*" while
 * the folder has room for a new keyword (PERMANENTFLAGS, RFC 3501
 * 7.1). 0 or -1. */
int imap_view_write_flag_names(struct buf *b, const struct store_view *view,
    bool permanent);

/*
 * Time slices for commands that walk a large mailbox: a command calls
 * imap_view_slice_begin() when it gets the loop, and before each message
 * asks imap_view_slice_over(); once IMAP_COMMAND_SLICE_MS have passed it
 * returns true, the command schedules itself again with
 * imap_view_slice_yield() and returns to the loop.
 */
struct imap_view_slice {
	uint64_t start_ms;	/* monotonic clock at the start */
	unsigned int calls;	/* the clock is read every few calls */
};
void imap_view_slice_begin(struct imap_view_slice *slice);
bool imap_view_slice_over(struct imap_view_slice *slice);
/* Run ev (a timer event: no descriptor, no flags) from the loop once it
 * has polled for I/O: event_active() would run it before any socket is
 * read again. */
void imap_view_slice_yield(struct event *ev);

/*
 * What COPY and MOVE share: parse "sequence-set SP mailbox" for cmd on
 * the selected view, copy (move: copy, then expunge) the messages named,
 * and initialise code_r with the response code "COPYUID <uidvalidity>
 * <source UIDs> <destination UIDs>" (RFC 4315). Returns 1 with code_r
 * set (the caller answers and frees it), or 0 after finishing cmd itself:
 * OK (no messages named), BAD (syntax, bad set), NO [CANNOT] (bad
 * mailbox name), NO (a move in a read-only mailbox), NO [TRYCREATE] (no
 * such mailbox), NO [EXPUNGEISSUED] (every message was expunged) or the
 * store's error.
 */
int imap_view_transfer(struct imap_cmd *cmd, bool move, struct buf *code_r);

#endif
