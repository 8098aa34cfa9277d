/*
 * QRESYNC (RFC 7162 3.2) answers that need the selected view: the
 * "* VANISHED (EARLIER)" of expunges since a MODSEQ, and the resync of
 * SELECT/EXAMINE (QRESYNC (...)): those expunges, then a FETCH of each
 * message changed since.
 */
#ifndef MB_IMAP_IMAP_QRESYNC_H
#define MB_IMAP_IMAP_QRESYNC_H

#include <stdint.h>

#include "imap/imap-condstore.h"

struct imap_session;

/*
 * Send "* VANISHED (EARLIER) <uids>" for the UIDs expunged from the
 * selected folder with a MODSEQ above since that lie in set (a UID set,
 * "*" being max; NULL: every UID below UIDNEXT). When since is older
 * than the expunges the folder remembers, every UID of set that is not
 * in the folder is sent, as RFC 7162 3.2.5.2 allows. Nothing if none.
 * set must parse (checked by the caller).
 */
void imap_qresync_vanished(struct imap_session *session, uint64_t since,
    const char *set, uint32_t max);

/* After SELECT/EXAMINE (QRESYNC (...)) opened the folder: if the
 * client's UIDVALIDITY is the folder's, the VANISHED (EARLIER) and then
 * "* n FETCH (UID u FLAGS (...) MODSEQ (m))" of every message changed
 * since its MODSEQ (of known-uids, if it sent them). */
void imap_qresync_select(struct imap_session *session,
    const struct imap_select_params *params);

#endif
