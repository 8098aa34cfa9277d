/*
 * The command arguments CONDSTORE and QRESYNC (RFC 7162) add, read from
 * the parser's argument tree with no I/O: mod-sequence values, FETCH
 * modifiers (CHANGEDSINCE, VANISHED), the STORE modifier UNCHANGEDSINCE
 * and the SELECT/EXAMINE parameters (CONDSTORE, QRESYNC (...)). Every
 * function returns 0, or -1 with *error_r a static text for "BAD".
 */
#ifndef MB_IMAP_IMAP_CONDSTORE_H
#define MB_IMAP_IMAP_CONDSTORE_H

#include <stdbool.h>
#include <stdint.h>

#include "imap/imap-parser.h"

/* The largest mod-sequence value: a positive 63-bit integer. */
#define IMAP_MODSEQ_MAX INT64_MAX

/* mod-sequence-value (1 .. IMAP_MODSEQ_MAX, digits only, no sign) or,
 * with zero_ok, mod-sequence-valzer (0 allowed, as UNCHANGEDSINCE and
 * the QRESYNC parameter take it). */
int imap_modseq_parse(const char *s, bool zero_ok, uint64_t *modseq_r,
    const char **error_r);

/* FETCH (CHANGEDSINCE n [VANISHED]) (RFC 7162 3.1.4.1, 3.2.6). */
struct imap_fetch_modifiers {
	bool changedsince_set;
	uint64_t changedsince;
	bool vanished;		/* UID FETCH only: the caller checks */
};
/* list: the modifier list (a LIST argument). VANISHED needs
 * CHANGEDSINCE. */
int imap_fetch_modifiers_parse(const struct imap_arg *list,
    struct imap_fetch_modifiers *mods_r, const char **error_r);

/* STORE (UNCHANGEDSINCE n) (RFC 7162 3.1.3). */
int imap_store_modifiers_parse(const struct imap_arg *list,
    uint64_t *unchangedsince_r, const char **error_r);

/* SELECT/EXAMINE parameters (RFC 7162 3.1.8, 3.2.5). Strings point
 * into the argument tree; NULL when absent. */
struct imap_select_params {
	bool condstore;		/* (CONDSTORE) */
	bool qresync;		/* (QRESYNC (...)) */
	uint32_t uidvalidity;	/* QRESYNC: the client's last known */
	uint64_t modseq;	/* QRESYNC: its last known HIGHESTMODSEQ */
	const char *known_uids;	/* QRESYNC: the UIDs it knows, or NULL */
	const char *seq_match;	/* QRESYNC: sequence numbers ... */
	const char *uid_match;	/* ... and the UIDs they had */
};
int imap_select_params_parse(const struct imap_arg *list,
    struct imap_select_params *params_r, const char **error_r);

#endif
