/*
 * The arguments of LIST and LSUB, with the extended LIST syntax of
 * RFC 5258 (selection options, several patterns, return options) and
 * the SPECIAL-USE options of RFC 6154 and the STATUS return option of
 * RFC 5819, read from a parsed command. No
 * I/O: the command file does the listing.
 */
#ifndef MB_IMAP_IMAP_LIST_ARGS_H
#define MB_IMAP_IMAP_LIST_ARGS_H

#include <stdbool.h>

#include "imap/imap-parser.h"
#include "imap/imap-status.h"
#include "lib/limits.h"

/* Selection options: which names are listed. */
enum imap_list_select {
	IMAP_LIST_SEL_SUBSCRIBED = 1 << 0,	/* subscribed names */
	IMAP_LIST_SEL_REMOTE = 1 << 1,		/* no remote folders: none */
	IMAP_LIST_SEL_RECURSIVEMATCH = 1 << 2,	/* parents get CHILDINFO */
	IMAP_LIST_SEL_SPECIAL_USE = 1 << 3,	/* special-use folders */
};

/* Return options: what is said of each listed name. */
enum imap_list_return {
	IMAP_LIST_RET_SUBSCRIBED = 1 << 0,	/* \Subscribed */
	IMAP_LIST_RET_CHILDREN = 1 << 1,	/* \HasChildren and
						 * \HasNoChildren */
	IMAP_LIST_RET_SPECIAL_USE = 1 << 2,	/* \Sent, \Trash... */
	IMAP_LIST_RET_STATUS = 1 << 3,		/* RFC 5819: "* STATUS" */
};

struct imap_list_args {
	bool lsub;		/* LSUB: no extended syntax */
	/* Any RFC 5258 syntax was used: selection options, a parenthesised
	 * pattern list or RETURN. The reply is then RFC 5258's (only the
	 * attributes asked for, \NonExistent) and "" is no special name. */
	bool extended;
	unsigned int select;	/* enum imap_list_select bits */
	unsigned int ret;	/* enum imap_list_return bits; selection
				 * options add the ones they imply */
	struct imap_status_items status;	/* IMAP_LIST_RET_STATUS */
	/* The canonical patterns (reference prefixed), empty ones left
	 * out when extended; they point into the command's arguments. */
	const char *ref;
	const char *patterns[IMAP_LIST_PATTERNS_MAX];
	unsigned int pattern_count;
};

/*
 * Read LIST's or LSUB's arguments (lsub: LSUB, plain syntax only).
 * Returns 0, or -1 with *error_r a text for BAD: wrong syntax, an
 * unknown option, RECURSIVEMATCH without SUBSCRIBED (RFC 5258 3.1),
 * STATUS without a valid item list (RFC 5819),
 * more than IMAP_LIST_PATTERNS_MAX patterns. The patterns are not
 * joined to the reference here: imap_list_canonical() does that.
 */
int imap_list_args_parse(const struct imap_arg *args, unsigned int count,
    bool lsub, struct imap_list_args *args_r, const char **error_r);

/* The canonical LIST pattern (RFC 3501 6.3.8): ref then pattern, in
 * out (IMAP_LIST_PATTERN_MAX + 1 bytes). 0, or -1 if too long. */
int imap_list_canonical(const char *ref, const char *pattern,
    char out[IMAP_LIST_PATTERN_MAX + 1]);

#endif
