/*
 * NOTIFY's arguments (RFC 5465 8):
 *
 *   notify           = "NOTIFY" SP (notify-set / notify-none)
 *   notify-none      = "NONE"
 *   notify-set       = "SET" [status-indicator] SP event-groups
 *   status-indicator = SP "STATUS"
 *   event-groups     = event-group *(SP event-group)
 *   event-group      = "(" filter-mailboxes SP events ")"
 *   filter-mailboxes = "selected" / "selected-delayed" / "inboxes" /
 *                      "personal" / "subscribed" /
 *                      ("subtree" SP one-or-more-mailbox) /
 *                      ("mailboxes" SP one-or-more-mailbox)
 *   one-or-more-mailbox = mailbox / "(" mailbox *(SP mailbox) ")"
 *   events           = ("(" event *(SP event) ")") / "NONE"
 *   event            = ("MessageNew" [SP "(" fetch-att *(SP fetch-att)
 *                      ")"]) / "MessageExpunge" / "FlagChange" /
 *                      "AnnotationChange" / "MailboxName" /
 *                      "SubscriptionChange" / "MailboxMetadataChange" /
 *                      "ServerMetadataChange" / event-ext
 *   event-ext        = atom
 *
 * Keywords are case-insensitive. Everything is checked before anything
 * is kept: a NOTIFY that fails leaves the session's previous one.
 */
#include "imap/imap-notify-args.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap-wire.h"
#include "lib/limits.h"
#include "lib/xmalloc.h"

/* Events by name; bit 0 for the ones mailbell does not report. */
static const struct {
	const char *name;
	unsigned int bit;
	bool message;		/* a message-event (6.1) */
} events[] = {
	{ "MessageNew", IMAP_NOTIFY_MESSAGE_NEW, true },
	{ "MessageExpunge", IMAP_NOTIFY_MESSAGE_EXPUNGE, true },
	{ "FlagChange", IMAP_NOTIFY_FLAG_CHANGE, true },
	{ "AnnotationChange", 0, true },
	{ "MailboxName", IMAP_NOTIFY_MAILBOX_NAME, false },
	{ "SubscriptionChange", IMAP_NOTIFY_SUBSCRIPTION_CHANGE, false },
	{ "MailboxMetadataChange", 0, false },
	{ "ServerMetadataChange", 0, false },
};

/* What one group's event list said. */
struct events_read {
	unsigned int bits;	/* supported events named */
	bool unsupported;	/* an event mailbell does not report */
	bool annotation;	/* AnnotationChange (needs the pair too) */
	bool other;		/* a non-message event, supported or not */
	const struct imap_arg *fetch;	/* MessageNew's fetch-att list */
};

static int
events_parse(const struct imap_arg *arg, struct events_read *er,
    const char **error_r)
{
	unsigned int i, k;

	memset(er, 0, sizeof(*er));
	if (imap_arg_atom_equals(arg, "NONE"))
		return 0;
	if (arg->type != IMAP_ARG_LIST || arg->list_count == 0) {
		*error_r = "Events must be NONE or a list of events";
		return -1;
	}
	for (i = 0; i < arg->list_count; i++) {
		const struct imap_arg *e = &arg->list[i];

		if (e->type != IMAP_ARG_ATOM) {
			*error_r = "An event must be an atom";
			return -1;
		}
		for (k = 0; k < sizeof(events) / sizeof(events[0]); k++)
			if (strcasecmp(e->str, events[k].name) == 0)
				break;
		if (k == sizeof(events) / sizeof(events[0])) {
			er->unsupported = er->other = true;	/* event-ext */
			continue;
		}
		er->bits |= events[k].bit;
		er->unsupported |= events[k].bit == 0;
		er->annotation |= strcasecmp(e->str, "AnnotationChange") == 0;
		er->other |= !events[k].message;
		if (events[k].bit == IMAP_NOTIFY_MESSAGE_NEW &&
		    i + 1 < arg->list_count &&
		    arg->list[i + 1].type == IMAP_ARG_LIST) {
			er->fetch = &arg->list[++i];
			if (er->fetch->list_count == 0) {
				*error_r = "Empty fetch attribute list";
				return -1;
			}
		}
	}
	/* RFC 5465 5: MessageNew and MessageExpunge go together, and
	 * FlagChange or AnnotationChange need both. */
	if (((er->bits & IMAP_NOTIFY_MESSAGE_NEW) != 0) !=
	    ((er->bits & IMAP_NOTIFY_MESSAGE_EXPUNGE) != 0)) {
		*error_r = "MessageNew and MessageExpunge go together";
		return -1;
	}
	if (((er->bits & IMAP_NOTIFY_FLAG_CHANGE) != 0 || er->annotation) &&
	    (er->bits & IMAP_NOTIFY_MESSAGE_NEW) == 0) {
		*error_r = "FlagChange and AnnotationChange need MessageNew "
		    "and MessageExpunge";
		return -1;
	}
	return 0;
}

/* SUBTREE's or MAILBOXES' names into g (store names; a name that
 * cannot be a folder is left out: it matches nothing). */
static int
names_parse(const struct imap_arg *arg, struct imap_notify_group *g,
    unsigned int *total, const char **error_r)
{
	const struct imap_arg *list = arg;
	unsigned int n = 1, i;
	char name[FOLDER_NAME_MAX + 1];
	const char *wire, *ignored;

	if (arg->type == IMAP_ARG_LIST) {
		list = arg->list;
		n = arg->list_count;
		if (n == 0) {
			*error_r = "Empty mailbox list";
			return -1;
		}
	}
	if (*total + n > IMAP_NOTIFY_MAILBOXES_MAX) {
		*error_r = "Too many mailboxes";
		return -1;
	}
	*total += n;
	g->names = xcalloc(n, sizeof(*g->names));
	for (i = 0; i < n; i++) {
		if (!imap_arg_get_astring(&list[i], &wire)) {
			*error_r = "A mailbox name must be a string";
			return -1;
		}
		if (imap_mailbox_from_wire(wire, name, &ignored) == 0)
			g->names[g->name_count++] = xstrdup(name);
	}
	return 0;
}

/* The filter at the head of a group; *skip_r its argument count.
 * -1: a selected filter (*delayed_r says which); -2: unknown. */
static int
filter_parse(const struct imap_arg *a, unsigned int n, bool *delayed_r,
    unsigned int *skip_r)
{
	static const char *const names[] = { "PERSONAL", "SUBSCRIBED",
	    "SUBTREE", "MAILBOXES" };
	unsigned int k;

	*skip_r = 1;
	*delayed_r = imap_arg_atom_equals(a, "SELECTED-DELAYED");
	if (*delayed_r || imap_arg_atom_equals(a, "SELECTED"))
		return -1;
	if (imap_arg_atom_equals(a, "INBOXES"))
		return IMAP_NOTIFY_PERSONAL;
	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		if (!imap_arg_atom_equals(a, names[k]))
			continue;
		if (k >= IMAP_NOTIFY_SUBTREE)
			*skip_r = 2;
		return *skip_r <= n - 1 ? (int)k : -2;
	}
	return -2;
}

/* One "(filter events)" group into spec. */
static int
group_parse(const struct imap_arg *arg, struct imap_notify_spec *spec,
    bool *seen_selected, unsigned int *names_total, bool *badevent,
    const char **error_r)
{
	struct imap_notify_group *g;
	struct events_read er;
	unsigned int skip;
	bool delayed;
	int filter;

	if (arg->type != IMAP_ARG_LIST || arg->list_count < 2 ||
	    (filter = filter_parse(&arg->list[0], arg->list_count, &delayed,
	    &skip)) == -2 || arg->list_count != skip + 1) {
		*error_r = "An event group is (filter events)";
		return -1;
	}
	if (events_parse(&arg->list[skip], &er, error_r) < 0)
		return -1;
	*badevent |= er.unsupported;
	if (filter == -1) {
		/* RFC 5465 6.1: one of them, message events only. */
		if (*seen_selected || er.other) {
			*error_r = *seen_selected ? "SELECTED given twice" :
			    "SELECTED takes message events only";
			return -1;
		}
		*seen_selected = true;
		spec->selected_events = er.bits;
		spec->selected_delayed = delayed;
		if (er.fetch != NULL && imap_fetch_items_parse(er.fetch,
		    &spec->fetch, error_r) < 0)
			return -1;
		return 0;
	}
	if (er.fetch != NULL) {
		*error_r = "Fetch attributes are for the selected mailbox";
		return -1;
	}
	if (spec->group_count == IMAP_NOTIFY_GROUPS_MAX) {
		*error_r = "Too many event groups";
		return -1;
	}
	g = &spec->groups[spec->group_count++];
	g->filter = (enum imap_notify_filter)filter;
	g->events = er.bits;
	if (skip == 2)
		return names_parse(&arg->list[1], g, names_total, error_r);
	return 0;
}

int
imap_notify_args_parse(const struct imap_arg *args, unsigned int count,
    struct imap_notify_spec **spec_r, bool *badevent_r,
    const char **error_r)
{
	struct imap_notify_spec *spec;
	unsigned int i = 1, names_total = 0;
	bool seen_selected = false;

	*spec_r = NULL;
	*badevent_r = false;
	if (count == 1 && imap_arg_atom_equals(&args[0], "NONE"))
		return 0;
	if (count == 0 || !imap_arg_atom_equals(&args[0], "SET")) {
		*error_r = "NOTIFY takes SET or NONE";
		return -1;
	}
	spec = xcalloc(1, sizeof(*spec));
	if (i < count && imap_arg_atom_equals(&args[i], "STATUS")) {
		spec->status = true;
		i++;
	}
	if (i == count) {
		*error_r = "NOTIFY SET needs an event group";
		goto fail;
	}
	for (; i < count; i++)
		if (group_parse(&args[i], spec, &seen_selected, &names_total,
		    badevent_r, error_r) < 0)
			goto fail;
	if (*badevent_r) {
		*error_r = "Unsupported event";
		goto fail_event;
	}
	*spec_r = spec;
	return 0;
fail:
	*badevent_r = false;
fail_event:
	imap_notify_spec_free(&spec);
	return -1;
}

void
imap_notify_spec_free(struct imap_notify_spec **specp)
{
	struct imap_notify_spec *spec = *specp;
	unsigned int i, k;

	if (spec == NULL)
		return;
	for (i = 0; i < spec->group_count; i++) {
		for (k = 0; k < spec->groups[i].name_count; k++)
			free(spec->groups[i].names[k]);
		free(spec->groups[i].names);
	}
	imap_fetch_items_free(&spec->fetch);
	free(spec);
	*specp = NULL;
}

static bool
group_takes(const struct imap_notify_group *g, const char *folder,
    bool subscribed)
{
	unsigned int k;
	size_t len;

	switch (g->filter) {
	case IMAP_NOTIFY_PERSONAL:
		return true;
	case IMAP_NOTIFY_SUBSCRIBED:
		return subscribed;
	case IMAP_NOTIFY_SUBTREE:
	case IMAP_NOTIFY_MAILBOXES:
		for (k = 0; k < g->name_count; k++) {
			len = strlen(g->names[k]);
			if (strncmp(folder, g->names[k], len) == 0 &&
			    (folder[len] == '\0' ||
			    (g->filter == IMAP_NOTIFY_SUBTREE &&
			    folder[len] == '.')))
				return true;
		}
		return false;
	}
	return false;
}

unsigned int
imap_notify_spec_events(const struct imap_notify_spec *spec,
    const char *folder, bool subscribed)
{
	unsigned int i;

	for (i = 0; i < spec->group_count; i++)
		if (group_takes(&spec->groups[i], folder, subscribed))
			return spec->groups[i].events;
	return 0;
}

bool
imap_notify_spec_wants_subscribed(const struct imap_notify_spec *spec)
{
	unsigned int i;

	for (i = 0; i < spec->group_count; i++)
		if (spec->groups[i].filter == IMAP_NOTIFY_SUBSCRIBED)
			return true;
	return false;
}
