/*
 * What the admin port lists (lib/status.h), gathered from the running
 * services for its /api routes, so the admin layer needs none of them.
 */
#ifndef MB_DAEMON_STATUS_SOURCES_H
#define MB_DAEMON_STATUS_SOURCES_H

#include "lib/status.h"

/* The services; any may be NULL (not running). */
struct status_sources {
	struct imap_server *imap;
	struct lmtp_server *lmtp;
	struct notify_server *notify;
};

/* admin_deps.sessions: every IMAP, then every LMTP session. ctx is a
 * struct status_sources. */
void status_sources_sessions(void *ctx, status_session_cb *cb, void *arg);
/* admin_deps.registrations: every notification registration. */
void status_sources_registrations(void *ctx, status_registration_cb *cb,
    void *arg);

#endif
