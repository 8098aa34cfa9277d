/*
 * The admin port's rows from the services the daemon runs.
 */
#include "daemon/status-sources.h"

#include <stddef.h>

#include "imap/imap.h"
#include "lmtp/lmtp.h"
#include "notify/notify.h"

void
status_sources_sessions(void *ctx, status_session_cb *cb, void *arg)
{
	const struct status_sources *src = ctx;

	if (src->imap != NULL)
		imap_server_sessions(src->imap, cb, arg);
	if (src->lmtp != NULL)
		lmtp_server_sessions(src->lmtp, cb, arg);
}

void
status_sources_registrations(void *ctx, status_registration_cb *cb, void *arg)
{
	const struct status_sources *src = ctx;

	if (src->notify != NULL)
		notify_server_list(src->notify, cb, arg);
}
