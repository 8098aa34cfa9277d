/*
 * NOTIFY in a session (RFC 5465): the store events of the session's
 * user, matched against its NOTIFY SET and written as "* STATUS" and
 * "* LIST" when the session may send them; see imap-notify.h.
 */
#include "imap/imap-notify.h"

#include <stdlib.h>
#include <string.h>

#include "imap/imap-commands.h"
#include "imap/imap-status.h"
#include "imap/imap-wire.h"
#include "lib/buf.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "store/store.h"

/* One notification waiting to be sent. */
struct notify_entry {
	bool list;		/* "* LIST" (else "* STATUS") */
	enum store_event_type type;	/* LIST: the folder event */
	char *folder;		/* store name */
	char *old_folder;	/* LIST after a rename: the old name */
};

/* A session's NOTIFY; session->notify. */
struct imap_notify {
	struct imap_session *session;
	struct imap_notify_spec *spec;	/* NULL after an overflow */
	unsigned int store_sub;		/* store_subscribe_events() id */
	char **subscribed;		/* the user's subscriptions, kept
					   while a SUBSCRIBED group needs
					   them */
	size_t subscribed_count;
	struct notify_entry *queue;	/* oldest first */
	size_t count;
	bool overflow;			/* tell NOTIFICATIONOVERFLOW */
	bool selected_waits;		/* the selected view changed while
					   the output was full */
};

static struct store *
notify_store(const struct imap_session *session)
{
	return session->server->deps.store;
}

static void
entry_free(struct notify_entry *e)
{
	free(e->folder);
	free(e->old_folder);
}

static void
queue_clear(struct imap_notify *n)
{
	for (size_t i = 0; i < n->count; i++)
		entry_free(&n->queue[i]);
	free(n->queue);
	n->queue = NULL;
	n->count = 0;
}

static bool
is_subscribed(const struct imap_notify *n, const char *folder)
{
	for (size_t i = 0; i < n->subscribed_count; i++)
		if (strcmp(n->subscribed[i], folder) == 0)
			return true;
	return false;
}

/* Keep the cached subscriptions in step with a (un)subscription. */
static void
subscribed_update(struct imap_notify *n, const struct store_event *ev)
{
	size_t i;

	if (n->spec == NULL || !imap_notify_spec_wants_subscribed(n->spec))
		return;
	for (i = 0; i < n->subscribed_count; i++)
		if (strcmp(n->subscribed[i], ev->folder) == 0)
			break;
	if (ev->type == STORE_EVENT_MAILBOX_SUBSCRIBE &&
	    i == n->subscribed_count) {
		n->subscribed = xreallocarray(n->subscribed,
		    n->subscribed_count + 1, sizeof(*n->subscribed));
		n->subscribed[n->subscribed_count++] = xstrdup(ev->folder);
	} else if (ev->type == STORE_EVENT_MAILBOX_UNSUBSCRIBE &&
	    i < n->subscribed_count) {
		free(n->subscribed[i]);
		n->subscribed[i] = n->subscribed[--n->subscribed_count];
	}
}

/* The NOTIFY event an store event is, 0 for none. */
static unsigned int
event_bit(enum store_event_type type)
{
	switch (type) {
	case STORE_EVENT_MESSAGE_NEW:
	case STORE_EVENT_MESSAGE_APPEND:
		return IMAP_NOTIFY_MESSAGE_NEW;
	case STORE_EVENT_MESSAGE_EXPUNGE:
		return IMAP_NOTIFY_MESSAGE_EXPUNGE;
	case STORE_EVENT_FLAGS_SET:
	case STORE_EVENT_FLAGS_CLEAR:
		return IMAP_NOTIFY_FLAG_CHANGE;
	case STORE_EVENT_MAILBOX_CREATE:
	case STORE_EVENT_MAILBOX_DELETE:
	case STORE_EVENT_MAILBOX_RENAME:
		return IMAP_NOTIFY_MAILBOX_NAME;
	case STORE_EVENT_MAILBOX_SUBSCRIBE:
	case STORE_EVENT_MAILBOX_UNSUBSCRIBE:
		return IMAP_NOTIFY_SUBSCRIPTION_CHANGE;
	}
	return 0;
}

static bool
is_idle(const struct imap_cmd *cmd)
{
	return cmd->def != NULL && cmd->def->func == cmd_idle;
}

/* A moment notifications may be written: between commands, or IDLE. */
static bool
may_push(const struct imap_session *session)
{
	const struct imap_cmd *cmd = session->cmd;

	if (session->closing || session->state == IMAP_STATE_LOGOUT)
		return false;
	if (cmd == NULL)
		return true;
	if (cmd->in_handler)
		return false;
	return cmd->done || is_idle(cmd);
}

/* Queue e: 1 if taken (its strings too), 0 if the folder's STATUS
 * waits already (it is read when sent), -1 if the queue is full. */
static int
queue_add(struct imap_notify *n, const struct notify_entry *e)
{
	size_t i;

	if (!e->list) {
		for (i = 0; i < n->count; i++)
			if (!n->queue[i].list &&
			    strcmp(n->queue[i].folder, e->folder) == 0)
				return 0;
	}
	if (n->count == IMAP_NOTIFY_QUEUE_MAX)
		return -1;
	n->queue = xreallocarray(n->queue, n->count + 1, sizeof(*n->queue));
	n->queue[n->count++] = *e;
	return 1;
}

/* Too much waits (RFC 5465 5.8): NOTIFY NONE, told at the next flush. */
static void
overflow(struct imap_notify *n)
{
	log_info("imap: %s: notifications overflowed, NOTIFY NONE now",
	    n->session->log_id);
	queue_clear(n);
	imap_notify_spec_free(&n->spec);
	n->overflow = true;
}

static void
notify_event_cb(const struct store_event *ev, void *ctx)
{
	struct imap_notify *n = ctx;
	struct imap_session *session = n->session;
	struct notify_entry e;
	const char *name;
	unsigned int bit = event_bit(ev->type);
	int added;

	if (n->spec == NULL || strcmp(ev->user, session->user) != 0)
		return;
	subscribed_update(n, ev);
	/* What this session's own command did, it knows (RFC 5465 5). */
	if (session->cmd != NULL && session->cmd->in_handler)
		return;
	if ((bit & IMAP_NOTIFY_MESSAGE_EVENTS) != 0 &&
	    session->mailbox != NULL &&
	    strcmp(session->mailbox, ev->folder) == 0)
		return;		/* the view tells it */
	name = ev->folder;
	if ((imap_notify_spec_events(n->spec, name,
	    is_subscribed(n, name)) & bit) == 0 &&
	    (ev->old_folder == NULL || (imap_notify_spec_events(n->spec,
	    ev->old_folder, is_subscribed(n, ev->old_folder)) & bit) == 0))
		return;
	memset(&e, 0, sizeof(e));
	e.list = (bit & IMAP_NOTIFY_MESSAGE_EVENTS) == 0;
	e.type = ev->type;
	e.folder = xstrdup(ev->folder);
	e.old_folder = ev->old_folder != NULL ? xstrdup(ev->old_folder) :
	    NULL;
	if ((added = queue_add(n, &e)) != 1)
		entry_free(&e);
	if (added < 0)
		overflow(n);
	if (may_push(session))
		imap_notify_flush(session);
}

/* "* STATUS" of folder now (RFC 5465 5.1-5.3: MESSAGES, UIDNEXT,
 * UIDVALIDITY, and UNSEEN for flag changes). A folder gone since is
 * skipped: its MailboxName event tells that. */
static void
write_status(struct imap_session *session, const char *folder)
{
	static const struct imap_status_items items = {
		{ IMAP_STATUS_MESSAGES, IMAP_STATUS_UIDNEXT,
		  IMAP_STATUS_UIDVALIDITY, IMAP_STATUS_UNSEEN }, 4
	};
	struct store_status st;
	const char *error;
	struct buf b;

	if (session->mailbox != NULL && strcmp(session->mailbox, folder) == 0)
		return;		/* selected since: the view tells */
	if (store_folder_status(notify_store(session), session->user, folder,
	    &st, &error) < 0)
		return;
	buf_init(&b, FOLDER_NAME_MAX * 2 + 256);
	if (imap_status_write(&b, folder, &items, &st) == 0)
		imap_session_write(session, b.data, b.len);
	buf_free(&b);
}

/* The LIST attributes of folder as it is now (RFC 5465 5.4, 5.5):
 * \NonExistent if it is not a folder, else as LIST has them, and
 * \Subscribed if it is subscribed. */
static void
list_attrs(struct imap_session *session, const char *folder, struct buf *b)
{
	struct store_folder_list *list;
	char **subs = NULL, special[STORE_SPECIAL_ATTRS_MAX];
	size_t i, nsubs = 0;
	const struct store_folder_info *f = NULL;
	const char *error;

	if (store_folder_list(notify_store(session), session->user, &list,
	    &error) == 0) {
		for (i = 0; i < list->count && f == NULL; i++)
			if (strcmp(list->folders[i].name, folder) == 0)
				f = &list->folders[i];
	} else
		list = NULL;
	if (f == NULL || f->noselect)
		(void)buf_append_str(b, "\\NonExistent");
	if (f != NULL) {
		(void)buf_printf(b, "%s%s", f->noselect ? " " : "",
		    f->has_children ? "\\HasChildren" : "\\HasNoChildren");
		store_special_uses_attrs(f->special_uses, special,
		    sizeof(special));
		if (special[0] != '\0')
			(void)buf_printf(b, " %s", special);
	}
	if (store_subscriptions(notify_store(session), session->user, &subs,
	    &nsubs, &error) == 0) {
		for (i = 0; i < nsubs; i++)
			if (strcmp(subs[i], folder) == 0) {
				(void)buf_append_str(b, b->len > 0 &&
				    b->data[b->len - 1] != '(' ?
				    " \\Subscribed" : "\\Subscribed");
				break;
			}
		store_names_free(&subs, nsubs);
	}
	store_folder_list_free(&list);
}

/* "* LIST (attrs) "." name", with OLDNAME after a rename (RFC 5465
 * 5.4, RFC 5258 mbox-list-extended). */
static void
write_list(struct imap_session *session, const struct notify_entry *e)
{
	struct buf b;

	buf_init(&b, FOLDER_NAME_MAX * 4 + 512);
	(void)buf_append_str(&b, "* LIST (");
	list_attrs(session, e->folder, &b);
	if (buf_append_str(&b, ") \".\" ") == 0 &&
	    imap_write_astring(&b, e->folder) == 0 &&
	    (e->old_folder == NULL ||
	    (buf_append_str(&b, " (\"OLDNAME\" (") == 0 &&
	    imap_write_astring(&b, e->old_folder) == 0 &&
	    buf_append_str(&b, "))") == 0)) &&
	    buf_append(&b, "\r\n", 2) == 0)
		imap_session_write(session, b.data, b.len);
	buf_free(&b);
}

void
imap_notify_flush(struct imap_session *session)
{
	struct imap_notify *n = session->notify;
	size_t i;

	if (n == NULL || session->closing)
		return;
	if (n->overflow) {
		n->overflow = false;
		imap_session_untagged(session, "OK [NOTIFICATIONOVERFLOW] Too "
		    "many notifications waited, NOTIFY NONE is in force");
	}
	for (i = 0; i < n->count && !imap_session_output_full(session); i++) {
		if (n->queue[i].list)
			write_list(session, &n->queue[i]);
		else
			write_status(session, n->queue[i].folder);
		entry_free(&n->queue[i]);
	}
	if (i > 0) {
		memmove(n->queue, n->queue + i, (n->count - i) *
		    sizeof(*n->queue));
		n->count -= i;
	}
	if (n->spec == NULL && n->count == 0)
		imap_notify_set(session, NULL);		/* after overflow */
}

void
imap_notify_resume(struct imap_session *session)
{
	struct imap_notify *n = session->notify;

	if (n == NULL || !may_push(session))
		return;
	if (n->selected_waits && session->cmd == NULL)
		imap_notify_selected_changed(session);
	if (session->notify == n && (n->count > 0 || n->overflow))
		imap_notify_flush(session);
}

static void
notify_free(struct imap_notify **np)
{
	struct imap_notify *n = *np;

	if (n == NULL)
		return;
	if (n->store_sub != 0 && n->session->server != NULL)
		store_unsubscribe(notify_store(n->session), n->store_sub);
	queue_clear(n);
	store_names_free(&n->subscribed, n->subscribed_count);
	imap_notify_spec_free(&n->spec);
	free(n);
	*np = NULL;
}

void
imap_notify_set(struct imap_session *session, struct imap_notify_spec *spec)
{
	struct imap_notify *n;
	const char *error;

	notify_free(&session->notify);
	if (spec == NULL)
		return;
	n = xcalloc(1, sizeof(*n));
	n->session = session;
	n->spec = spec;
	if (imap_notify_spec_wants_subscribed(spec) &&
	    store_subscriptions(notify_store(session), session->user,
	    &n->subscribed, &n->subscribed_count, &error) < 0)
		log_warnx("imap: %s: subscriptions: %s", session->log_id,
		    error);
	n->store_sub = store_subscribe_events(notify_store(session),
	    STORE_EVENT_ALL | STORE_EVENT_MAILBOX_ALL, notify_event_cb, n);
	session->notify = n;
}

void
imap_notify_free(struct imap_session *session)
{
	notify_free(&session->notify);
}

const struct imap_notify_spec *
imap_notify_spec(const struct imap_session *session)
{
	return session->notify != NULL ? session->notify->spec : NULL;
}

void
imap_notify_send_status(struct imap_session *session)
{
	const struct imap_notify *n = session->notify;
	struct store_folder_list *list;
	const struct store_folder_info *f;
	const char *error;

	if (n == NULL || n->spec == NULL ||
	    store_folder_list(notify_store(session), session->user, &list,
	    &error) < 0)
		return;
	for (size_t i = 0; i < list->count; i++) {
		f = &list->folders[i];
		if (!f->noselect && (imap_notify_spec_events(n->spec,
		    f->name, is_subscribed(n, f->name)) &
		    IMAP_NOTIFY_MESSAGE_EVENTS) != 0)
			write_status(session, f->name);
	}
	store_folder_list_free(&list);
}

void
imap_notify_selected_changed(struct imap_session *session)
{
	const struct imap_notify_spec *spec = imap_notify_spec(session);

	if (spec == NULL || spec->selected_events == 0 ||
	    session->cmd != NULL || session->closing)
		return;
	/* A client that does not read leaves the changes in the shared
	 * index, not in our output (as IDLE does). */
	session->notify->selected_waits = imap_session_output_full(session);
	if (session->notify->selected_waits)
		return;
	/* RFC 5465 5.1: a flag change carries the UID. */
	imap_session_flush_updates(session, !spec->selected_delayed, true);
}

void
imap_notify_selected_new(struct imap_session *session, uint32_t old_count,
    uint32_t new_count)
{
	const struct imap_notify_spec *spec = imap_notify_spec(session);

	if (spec == NULL || spec->fetch == NULL ||
	    (spec->selected_events & IMAP_NOTIFY_MESSAGE_NEW) == 0 ||
	    (session->cmd != NULL && !session->cmd->done &&
	    !is_idle(session->cmd)))
		return;
	for (uint32_t seq = old_count + 1; seq <= new_count; seq++)
		imap_fetch_notify(session, spec->fetch, seq);
}
