/*
 * The arguments of NOTIFY (RFC 5465 3.1, 8): NOTIFY NONE, or NOTIFY SET
 * [STATUS] with event groups, read from a parsed command into a
 * specification the session keeps, and the events it asks for in a
 * given folder. No I/O.
 */
#ifndef MB_IMAP_IMAP_NOTIFY_ARGS_H
#define MB_IMAP_IMAP_NOTIFY_ARGS_H

#include <stdbool.h>

#include "imap/imap-fetch-format.h"
#include "imap/imap-parser.h"
#include "lib/limits.h"

/* The events of RFC 5465 5 that mailbell reports. */
enum imap_notify_event {
	IMAP_NOTIFY_MESSAGE_NEW = 1 << 0,	/* MessageNew */
	IMAP_NOTIFY_MESSAGE_EXPUNGE = 1 << 1,	/* MessageExpunge */
	IMAP_NOTIFY_FLAG_CHANGE = 1 << 2,	/* FlagChange */
	IMAP_NOTIFY_MAILBOX_NAME = 1 << 3,	/* MailboxName */
	IMAP_NOTIFY_SUBSCRIPTION_CHANGE = 1 << 4, /* SubscriptionChange */
};
/* The message events (RFC 5465 8 message-event). */
#define IMAP_NOTIFY_MESSAGE_EVENTS (IMAP_NOTIFY_MESSAGE_NEW | \
	IMAP_NOTIFY_MESSAGE_EXPUNGE | IMAP_NOTIFY_FLAG_CHANGE)
/* What "NO [BADEVENT (...)]" lists: every event mailbell supports. */
#define IMAP_NOTIFY_SUPPORTED_EVENTS "MessageNew MessageExpunge " \
	"FlagChange MailboxName SubscriptionChange"

/* Mailbox filters other than SELECTED and SELECTED-DELAYED (RFC 5465
 * 6.2 to 6.6). */
enum imap_notify_filter {
	IMAP_NOTIFY_PERSONAL,	/* every folder of the user; INBOXES too,
				   as `mailbell deliver` may deliver into
				   any folder (6.3 lets it be PERSONAL) */
	IMAP_NOTIFY_SUBSCRIBED,	/* the subscribed folders at each event */
	IMAP_NOTIFY_SUBTREE,	/* the names and the folders under them */
	IMAP_NOTIFY_MAILBOXES,	/* the names alone */
};

/* One event group for folders other than the selected one. */
struct imap_notify_group {
	enum imap_notify_filter filter;
	unsigned int events;	/* enum imap_notify_event bits (0: NONE) */
	char **names;		/* SUBTREE, MAILBOXES: store folder names,
				   owned; names that cannot be folders are
				   left out (they match nothing) */
	unsigned int name_count;
};

/* What NOTIFY SET asked for; owned by the session until the next
 * NOTIFY. */
struct imap_notify_spec {
	bool status;		/* STATUS: send each watched folder's STATUS
				   before the tagged OK */
	/* The selected mailbox: its events (0: SELECTED NONE or no
	 * SELECTED group), SELECTED-DELAYED, and MessageNew's
	 * fetch-att list (NULL if none was given). */
	unsigned int selected_events;
	bool selected_delayed;
	struct imap_fetch_items *fetch;
	/* The other groups, in the order given: the first whose filter
	 * takes a folder decides its events. */
	struct imap_notify_group groups[IMAP_NOTIFY_GROUPS_MAX];
	unsigned int group_count;
};

/*
 * Read NOTIFY's arguments (after the command name). Returns 0 with
 * *spec_r (NULL for NOTIFY NONE; free with imap_notify_spec_free), or
 * -1 with *error_r a static text and *badevent_r telling which answer:
 * true for "NO [BADEVENT (" IMAP_NOTIFY_SUPPORTED_EVENTS ")]" (an
 * event mailbell does not report: AnnotationChange, the METADATA ones,
 * any other; RFC 5465 3.1), false for "BAD" (wrong syntax; MessageNew
 * without MessageExpunge or the reverse, FlagChange or AnnotationChange
 * without both (5); SELECTED and SELECTED-DELAYED together, or other
 * than message events with them (6.1); fetch attributes anywhere but
 * with MessageNew of SELECTED; a filter named twice; more than
 * IMAP_NOTIFY_GROUPS_MAX groups or IMAP_NOTIFY_MAILBOXES_MAX names).
 */
int imap_notify_args_parse(const struct imap_arg *args, unsigned int count,
    struct imap_notify_spec **spec_r, bool *badevent_r,
    const char **error_r);
void imap_notify_spec_free(struct imap_notify_spec **specp);

/* The events spec asks for in folder (a store name; not the selected
 * one), subscribed or not: those of the first group that takes it,
 * 0 if none does. */
unsigned int imap_notify_spec_events(const struct imap_notify_spec *spec,
    const char *folder, bool subscribed);
/* Whether some group's filter is SUBSCRIBED (the session then keeps
 * the subscription list). */
bool imap_notify_spec_wants_subscribed(const struct imap_notify_spec *spec);

#endif
