/*
 * SEARCH programs (RFC 3501 6.4.4) without I/O: the arguments of SEARCH
 * parsed into a tree of keys, and a matcher that decides one message at
 * a time from what the caller has at hand: flags, UID and sequence
 * number first, the store's index entry (size, internal date) next, and
 * the parsed message only when a header or body key decides the result.
 */
#ifndef MB_IMAP_IMAP_SEARCH_H
#define MB_IMAP_IMAP_SEARCH_H

#include <stdbool.h>
#include <stdint.h>

#include "imap/imap-date.h"
#include "imap/imap-parser.h"
#include "imap/imap-seqset.h"
#include "lib/buf.h"
#include "store/message.h"

/* What a node tests. Keys that mean the same are parsed into one form:
 * SEEN is FLAG \Seen, UNSEEN is UNFLAG \Seen, FROM x is ADDRESS From x. */
enum imap_search_key {
	IMAP_SEARCH_ALL,	/* ALL: every message */
	IMAP_SEARCH_NONE,	/* no message */
	IMAP_SEARCH_AND,	/* "( ... )", the program itself, and NEW:
				   (RECENT UNSEEN) */
	IMAP_SEARCH_OR,		/* OR: exactly two children */
	IMAP_SEARCH_NOT,	/* NOT: exactly one child; OLD: NOT RECENT */
	IMAP_SEARCH_RECENT,	/* RECENT: \Recent in this session */
	IMAP_SEARCH_SEQSET,	/* sequence-set */
	IMAP_SEARCH_UID,	/* UID sequence-set */
	IMAP_SEARCH_SAVED,	/* "$" or "UID $": the saved result of
				   RFC 5182 */
	IMAP_SEARCH_FLAG,	/* ANSWERED, DELETED, DRAFT, FLAGGED, SEEN */
	IMAP_SEARCH_UNFLAG,	/* UNANSWERED ... UNSEEN */
	IMAP_SEARCH_BEFORE,	/* internal date, as a day */
	IMAP_SEARCH_ON,
	IMAP_SEARCH_SINCE,
	IMAP_SEARCH_SENTBEFORE,	/* Date: field, as a day */
	IMAP_SEARCH_SENTON,
	IMAP_SEARCH_SENTSINCE,
	IMAP_SEARCH_LARGER,	/* RFC822.SIZE > size */
	IMAP_SEARCH_SMALLER,	/* RFC822.SIZE < size */
	IMAP_SEARCH_HEADER,	/* HEADER, SUBJECT */
	IMAP_SEARCH_ADDRESS,	/* BCC, CC, FROM, TO: the addresses */
	IMAP_SEARCH_BODY,	/* BODY */
	IMAP_SEARCH_TEXT,	/* TEXT */
	IMAP_SEARCH_KEYWORD,	/* KEYWORD other than $Forwarded (FLAG) */
	IMAP_SEARCH_UNKEYWORD,	/* UNKEYWORD other than $Forwarded */
	IMAP_SEARCH_MODSEQ,	/* MODSEQ: the message's MODSEQ is at least
				   modseq (RFC 7162 3.1.5) */
};

struct imap_search_node {
	enum imap_search_key key;
	struct imap_search_node *children;	/* AND, OR, NOT */
	struct imap_search_node *next;		/* next sibling */

	unsigned int flags;		/* FLAG, UNFLAG: one store_flag bit */
	struct imap_seqset *set;	/* SEQSET, UID */
	struct imap_date date;		/* date keys */
	uint64_t size;			/* LARGER, SMALLER */
	uint64_t modseq;		/* MODSEQ */
	char *field;			/* HEADER, ADDRESS: field name */
	char *value;			/* HEADER, ADDRESS, BODY, TEXT: the
					   string; KEYWORD, UNKEYWORD: the
					   name */
	uint32_t keywords;		/* KEYWORD, UNKEYWORD: the folder's
					   keyword bit for the name, 0 if it
					   has none (set by
					   imap_search_resolve_keywords) */
};

/* What SEARCH RETURN (...) asks for (RFC 4731 3.1). */
enum imap_search_return {
	IMAP_SEARCH_RETURN_MIN = 1 << 0,	/* the lowest match */
	IMAP_SEARCH_RETURN_MAX = 1 << 1,	/* the highest match */
	IMAP_SEARCH_RETURN_ALL = 1 << 2,	/* every match, as a set */
	IMAP_SEARCH_RETURN_COUNT = 1 << 3,	/* how many matched */
	IMAP_SEARCH_RETURN_SAVE = 1 << 4,	/* keep the result as "$"
						   (RFC 5182) */
};

/* A parsed program: its root is an AND of the top-level keys. */
struct imap_search {
	struct imap_search_node *root;
	bool esearch;		/* RETURN was given: answer with ESEARCH */
	unsigned int returns;	/* enum imap_search_return bits; ALL for
				   "RETURN ()" */
	uint32_t *saved;	/* what "$" names: UIDs, ascending (a copy
				   made by imap_search_set_saved()) */
	size_t saved_count;
	bool need_info;		/* some key needs size or internal date */
	bool need_message;	/* some key needs the message itself */
	bool need_body;		/* ... and its body, not only its header
				   (BODY, TEXT) */
	bool has_modseq;	/* a MODSEQ key: the answer ends with the
				   highest MODSEQ of the matches */
};

/* Why imap_search_parse() failed. */
enum imap_search_error {
	IMAP_SEARCH_ERROR_SYNTAX,	/* "BAD" */
	IMAP_SEARCH_ERROR_BADCHARSET,	/* "NO [BADCHARSET (UTF-8 US-ASCII)]" */
};

/*
 * Parse the arguments of SEARCH: ["RETURN" SP "(" [search-return-opt
 * *(SP search-return-opt)] ")" SP] ["CHARSET" SP astring SP] search-key
 * *(SP search-key), with the return options MIN, MAX, ALL and COUNT of
 * RFC 4731 and SAVE of RFC 5182 (any case; another one is a syntax
 * error). "$" and "UID $" name the saved result (RFC 5182). CHARSET must be
 * UTF-8 or US-ASCII (any case). NOT, OR and groups nest at most
 * IMAP_SEARCH_DEPTH_MAX deep. Strings may not contain NUL. Returns 0
 * with *search_r (free with imap_search_free()), or -1 with *error_r
 * (static text) and *code_r.
 */
int imap_search_parse(const struct imap_arg *args, unsigned int count,
    struct imap_search **search_r, enum imap_search_error *code_r,
    const char **error_r);
void imap_search_free(struct imap_search **searchp);

/*
 * The list after "RETURN": "(" [search-return-opt *(SP
 * search-return-opt)] ")", each option one of the
 * enum imap_search_return bits in allowed (any case); "()" is ALL (RFC
 * 4731 3.1). SEARCH allows all of them, SORT (RFC 5267 3) all but SAVE.
 * Returns 0 with *returns_r, or -1 with *error_r (static text).
 */
int imap_search_parse_return(const struct imap_arg *list,
    unsigned int allowed, unsigned int *returns_r, const char **error_r);

/* True if args begin with a RETURN list that holds SAVE: a SEARCH that
 * fails with NO then empties "$" (RFC 5182 2.1), even when
 * imap_search_parse() refused it. */
bool imap_search_args_save(const struct imap_arg *args, unsigned int count);

/* Give search what "$" names now: uids[0 .. count), ascending (copied).
 * Until called, "$" names nothing. */
void imap_search_set_saved(struct imap_search *search, const uint32_t *uids,
    size_t count);
/* The number of keyword name in the selected folder, or -1. */
typedef int imap_search_keyword_func(const char *name, void *ctx);
/* Give every KEYWORD and UNKEYWORD node its folder's keyword bit, found
 * with find(name, ctx). A keyword the folder does not know matches no
 * message (UNKEYWORD: every message). Call it before matching. */
void imap_search_resolve_keywords(struct imap_search *search,
    imap_search_keyword_func *find, void *ctx);

/* One message as the matcher sees it. */
struct imap_search_msg {
	uint32_t seq;		/* sequence number in the view */
	uint32_t uid;
	unsigned int flags;	/* enum store_flag bits */
	bool recent;		/* \Recent in this session */
	uint32_t keywords;	/* keyword bits, numbered as the folder's */
	uint64_t modseq;	/* RFC 7162 MODSEQ */
	bool have_info;		/* size and internal_date are set */
	uint64_t size;		/* RFC822.SIZE */
	int64_t internal_date;	/* seconds since the epoch */
	const struct message *msg;	/* parsed message, or NULL if not
					   read (yet) */
};

/*
 * Does m match? max_seq and max_uid are what "*" stands for (the view's
 * message count and highest UID). Internal dates are compared as days
 * in the server's local time zone, sent dates as days in the zone they
 * were written in (RFC 3501: time and zone disregarded).
 * Returns 1 (match), 0 (no match), or -1 if the answer depends on what
 * m lacks (its info, or its message): the caller fills it in and asks
 * again.
 */
int imap_search_match(struct imap_search *search,
    const struct imap_search_msg *m, uint32_t max_seq, uint32_t max_uid);

/*
 * Append the ESEARCH response (RFC 4731 3.1) for the matches ids[0 ..
 * count) (sequence numbers, or UIDs if uid) of the command tagged tag:
 * "* ESEARCH (TAG "tag") [UID] [MIN n] [MAX n] [ALL set] [COUNT n]"
 * CRLF, with what returns asks for; without matches MIN, MAX and ALL are
 * left out (COUNT is 0). SEARCH gives ids ascending; SORT (RFC 5267 3)
 * gives them in sort order, so MIN and MAX are the first and last
 * sorted, and ALL keeps that order, runs of ascending consecutive
 * numbers joined: "5,3:4,1:2". 0, or -1 if b's max would be exceeded
 * (b unchanged then).
 */
int imap_search_write_esearch(struct buf *b, const char *tag, bool uid,
    unsigned int returns, const uint32_t *ids, size_t count);

/*
 * What RETURN (SAVE ...) keeps of the matches uids[0 .. count)
 * (ascending) as "$" (RFC 5182 2.4): with MIN and/or MAX but neither
 * ALL nor COUNT only the lowest and/or highest, else all of them. The
 * array is compacted in place; returns how many are kept.
 */
size_t imap_search_save_select(unsigned int returns, uint32_t *uids,
    size_t count);

/* Append the program in a canonical form for tests and logs:
 * (AND (FLAG \Seen) (NOT (HEADER "From" "x")) (LARGER 10)). 0 or -1. */
int imap_search_format(const struct imap_search *search, struct buf *b);

#endif
