/*
 * A session's NOTIFY (RFC 5465): what its last NOTIFY SET asked for,
 * the store events it hears for its user, and the "* STATUS" and
 * "* LIST" notifications that wait for a moment they may be sent.
 *
 * When they are sent: at once between commands and during IDLE (RFC
 * 5465 4), otherwise just before the tagged reply of the command that
 * runs, never inside a command's own responses. A folder's STATUS waits
 * once however often it changes, and is read from the store when it is
 * sent, so it always carries the counts of that moment. The selected
 * mailbox is left to its view (EXISTS, EXPUNGE, FETCH as RFC 3501 and
 * IDLE have them): with a SELECTED group its changes are also pushed
 * between commands (expunges too, unless SELECTED-DELAYED), flag
 * changes with their UID, and new messages with MessageNew's fetch
 * attributes. Events a session's own command causes are not told back
 * to it (RFC 5465 5: the client knows them from its command).
 */
#ifndef MB_IMAP_IMAP_NOTIFY_H
#define MB_IMAP_IMAP_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "imap/imap-notify-args.h"
#include "imap/imap-session.h"

/* Replace the session's NOTIFY with spec (taken; NULL: NOTIFY NONE).
 * What waited for the old one is dropped. */
void imap_notify_set(struct imap_session *session,
    struct imap_notify_spec *spec);
/* Stop and free the session's NOTIFY (the session is going away). */
void imap_notify_free(struct imap_session *session);

/* The session's NOTIFY specification, or NULL. */
const struct imap_notify_spec *imap_notify_spec(
    const struct imap_session *session);

/* NOTIFY SET STATUS (RFC 5465 3.1): "* STATUS" now of every folder
 * but the selected one that the session's NOTIFY watches for message
 * events. */
void imap_notify_send_status(struct imap_session *session);

/* Write what waits, while the output has room; an overflow is told
 * here with "* OK [NOTIFICATIONOVERFLOW]" (RFC 5465 5.8), after which
 * the session has NOTIFY NONE. imap_cmd_tagged() calls it before the
 * tagged line. */
void imap_notify_flush(struct imap_session *session);
/* The output drained or the command ended: write what waits if this
 * is a moment notifications may be sent (no command, or IDLE). */
void imap_notify_resume(struct imap_session *session);

/* The selected view changed (imap_session_view_changed): with a
 * SELECTED group and no command running, push its changes now. */
void imap_notify_selected_changed(struct imap_session *session);
/* The selected view grew from old_count to new_count messages during a
 * flush of its updates: send MessageNew's fetch attributes for them if
 * SELECTED asked for some and no command of the session's own made
 * them. */
void imap_notify_selected_new(struct imap_session *session,
    uint32_t old_count, uint32_t new_count);

#endif
