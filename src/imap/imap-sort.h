/*
 * SORT programs (RFC 5256, RFC 5957's DISPLAYFROM and DISPLAYTO, RFC
 * 5267's RETURN options) without I/O: the arguments parsed, the sort
 * keys of one message taken from its parsed header and index entry,
 * and the messages ordered by them.
 */
#ifndef MB_IMAP_IMAP_SORT_H
#define MB_IMAP_IMAP_SORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap-parser.h"
#include "imap/imap-search.h"
#include "lib/buf.h"
#include "lib/limits.h"
#include "store/message.h"

/* A sort key (RFC 5256 3, RFC 5957 3). */
enum imap_sort_key {
	IMAP_SORT_ARRIVAL,	/* internal date */
	IMAP_SORT_CC,		/* addr-mailbox of the first Cc address */
	IMAP_SORT_DATE,		/* Date: in UTC, else the internal date */
	IMAP_SORT_FROM,		/* addr-mailbox of the first From address */
	IMAP_SORT_SIZE,		/* RFC822.SIZE */
	IMAP_SORT_SUBJECT,	/* base subject (imap-subject.h) */
	IMAP_SORT_TO,		/* addr-mailbox of the first To address */
	IMAP_SORT_DISPLAYFROM,	/* display name of the first From, else
				   its addr-spec */
	IMAP_SORT_DISPLAYTO,	/* the same of the first To */
};

/* One sort criterion. */
struct imap_sort_criterion {
	enum imap_sort_key key;
	bool reverse;		/* REVERSE came before it */
};

/* A parsed SORT command. */
struct imap_sort {
	struct imap_sort_criterion criteria[IMAP_SORT_CRITERIA_MAX];
	unsigned int count;		/* criteria used, at least 1 */
	struct imap_search *search;	/* the search program */
	bool esort;			/* RETURN was given: answer with
					   "* ESEARCH" (RFC 5267) */
	unsigned int returns;		/* RFC 5267's RETURN options:
					   enum imap_search_return bits
					   but SAVE; ALL for "RETURN ()" */
	bool need_header;		/* some key needs the message header */
};

/*
 * Parse the arguments of SORT: ["RETURN" SP "(" [option *(SP option)]
 * ")" SP] "(" [REVERSE SP] key *(SP [REVERSE SP] key) ")" SP charset
 * 1*(SP search-key), charset UTF-8 or US-ASCII (any case). Returns 0
 * with *sort_r (free with imap_sort_free()), or -1 with *error_r
 * (static text) and *code_r (BADCHARSET: answer NO [BADCHARSET]).
 */
int imap_sort_parse(const struct imap_arg *args, unsigned int count,
    struct imap_sort **sort_r, enum imap_search_error *code_r,
    const char **error_r);
void imap_sort_free(struct imap_sort **sortp);

/* The charset argument of SORT and THREAD: UTF-8 or US-ASCII. */
bool imap_sort_charset_ok(const struct imap_arg *arg);

/* One message as SORT and THREAD see it. Strings are malloc'd, never
 * NULL ("" when the field is absent). */
struct imap_sort_msg {
	uint32_t seq;		/* sequence number in the view */
	uint32_t uid;
	uint64_t size;		/* RFC822.SIZE */
	int64_t arrival;	/* internal date, seconds since the epoch */
	int64_t date;		/* sent date (UTC), else arrival */
	bool sent_date;		/* date is the Date: field's */
	char *subject;		/* base subject */
	bool reply;		/* the subject was a reply or forward */
	char *from, *to, *cc;	/* addr-mailbox of the first address */
	char *display_from;	/* RFC 5957 display keys, decoded */
	char *display_to;
	/* THREAD=REFERENCES (RFC 5256 2.2 step 1A) */
	char *message_id;	/* "" if none */
	char **refs;		/* References' msg-ids oldest first, at
				   most IMAP_THREAD_REFS_MAX (the last
				   ones); without any, In-Reply-To's
				   first */
	size_t ref_count;
	bool borrowed;		/* the strings belong to someone else (the
				   sort-key cache): clearing leaves them */
};

/* Fill m's keys from msg (the parsed header; NULL when no key needs it:
 * strings are then ""), m's seq, uid, size and arrival being set. */
void imap_sort_msg_fill(struct imap_sort_msg *m, const struct message *msg);
/* Free m's strings (not m), unless they are borrowed. */
void imap_sort_msg_clear(struct imap_sort_msg *m);
/* Make dst a copy of src with strings of its own (not borrowed). */
void imap_sort_msg_copy(struct imap_sort_msg *dst,
    const struct imap_sort_msg *src);

/* The msg-ids ("<...>") of a References or In-Reply-To value, in order,
 * at most max of them (the last ones): malloc'd array of malloc'd
 * strings, *count_r of them (NULL and 0 when none). */
char **imap_sort_msgids(const char *value, size_t max, size_t *count_r);

/* Compare a and b on the sort's criteria, then by sequence number
 * (RFC 5256 3: ties go to the lower sequence number). */
int imap_sort_cmp(const struct imap_sort *sort,
    const struct imap_sort_msg *a, const struct imap_sort_msg *b);
/* Order msgs[0 .. count) by imap_sort_cmp (stable merge sort). */
void imap_sort_msgs(const struct imap_sort *sort,
    struct imap_sort_msg **msgs, size_t count);

#endif
