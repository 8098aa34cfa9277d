/*
 * The metrics table and its Prometheus rendering. Exporting a new
 * counter is one line in metrics_table below.
 */
#include "admin/metrics.h"

#include <inttypes.h>

#include "lib/buf.h"
#include "lib/stats.h"

#define COUNTER(field, name, help) \
	{ "mailbell_" name, help, METRIC_COUNTER, &mb_stats.field }
#define GAUGE(field, name, help) \
	{ "mailbell_" name, help, METRIC_GAUGE, &mb_stats.field }

const struct metric metrics_table[] = {
	COUNTER(lmtp_sessions_total, "lmtp_sessions_total",
	    "LMTP connections accepted."),
	GAUGE(lmtp_sessions_active, "lmtp_sessions_active",
	    "LMTP connections open now."),
	COUNTER(lmtp_sessions_refused, "lmtp_sessions_refused_total",
	    "LMTP connections refused for being over the session limit."),
	COUNTER(lmtp_sessions_yielded_total, "lmtp_sessions_yielded_total",
	    "Idle LMTP sessions closed to make room for new ones."),
	COUNTER(lmtp_transactions_total, "lmtp_transactions_total",
	    "LMTP transactions whose DATA completed."),
	COUNTER(lmtp_deliveries_total, "lmtp_deliveries_total",
	    "Messages delivered over LMTP, one per recipient."),
	COUNTER(lmtp_delivery_failures_total, "lmtp_delivery_failures_total",
	    "LMTP recipients answered with a temporary failure after DATA."),
	COUNTER(lmtp_unknown_recipients_total,
	    "lmtp_unknown_recipients_total",
	    "LMTP recipients refused as unknown users."),
	COUNTER(lmtp_oversized_total, "lmtp_oversized_total",
	    "LMTP messages refused for exceeding the size limit."),
	COUNTER(lmtp_protocol_errors_total, "lmtp_protocol_errors_total",
	    "LMTP commands answered with a 500-series reply."),
	COUNTER(lmtp_bytes_received_total, "lmtp_received_bytes_total",
	    "Message bytes received over LMTP after DATA."),
	COUNTER(imap_sessions_total, "imap_sessions_total",
	    "IMAP connections accepted."),
	GAUGE(imap_sessions_active, "imap_sessions_active",
	    "IMAP connections open now."),
	COUNTER(imap_sessions_refused, "imap_sessions_refused_total",
	    "IMAP connections or logins refused by a connection limit."),
	COUNTER(imap_commands_total, "imap_commands_total",
	    "IMAP commands run."),
	COUNTER(imap_bad_total, "imap_bad_total",
	    "IMAP commands answered BAD."),
	COUNTER(imap_logins_total, "imap_logins_total",
	    "Successful IMAP logins."),
	COUNTER(imap_login_failures_total, "imap_login_failures_total",
	    "Failed IMAP logins."),
	COUNTER(imap_password_checks_total, "imap_password_checks_total",
	    "Passwords checked against a hash (unknown users included)."),
	COUNTER(imap_logins_unavailable_total,
	    "imap_logins_unavailable_total",
	    "Logins refused because too many password checks waited."),
	COUNTER(imap_sessions_yielded_total, "imap_sessions_yielded_total",
	    "IMAP sessions not logged in closed to make room for new ones."),
	COUNTER(imap_login_timeouts_total, "imap_login_timeouts_total",
	    "IMAP sessions closed for not logging in within login_timeout."),
	COUNTER(imap_compress_total, "imap_compress_total",
	    "IMAP sessions that turned on COMPRESS=DEFLATE."),
	COUNTER(imap_foreign_total, "imap_foreign_protocol_total",
	    "Connections closed for speaking another protocol (HTTP, TLS)."),
	COUNTER(store_events_total, "store_events_total",
	    "Message landed events, one per new message in any folder."),
	COUNTER(store_syncs_total, "store_syncs_total",
	    "Folder syncs done because the watcher saw a change."),
	GAUGE(notify_registrations, "notify_registrations",
	    "Notification registrations now."),
	COUNTER(notify_registered_total, "notify_registered_total",
	    "Notification registrations made with XBELL REGISTER."),
	COUNTER(notify_datagrams_received_total,
	    "notify_datagrams_received_total",
	    "Datagrams read from the notify UDP port."),
	COUNTER(notify_datagrams_sent_total, "notify_datagrams_sent_total",
	    "Datagrams sent from the notify UDP port."),
	COUNTER(notify_send_errors_total, "notify_send_errors_total",
	    "Notify datagrams that could not be sent."),
	COUNTER(notify_dropped_size_total, "notify_dropped_size_total",
	    "Notify datagrams dropped for their size."),
	COUNTER(notify_dropped_version_total, "notify_dropped_version_total",
	    "Notify datagrams dropped for an unknown version."),
	COUNTER(notify_dropped_type_total, "notify_dropped_type_total",
	    "Notify datagrams dropped for a type the server does not read."),
	COUNTER(notify_dropped_id_total, "notify_dropped_id_total",
	    "Notify datagrams dropped for an unknown registration id."),
	COUNTER(notify_dropped_epoch_total, "notify_dropped_epoch_total",
	    "Notify datagrams dropped for an epoch not accepted."),
	COUNTER(notify_dropped_tag_total, "notify_dropped_tag_total",
	    "Notify datagrams dropped because they failed authentication."),
	COUNTER(notify_dropped_replay_total, "notify_dropped_replay_total",
	    "Notify datagrams dropped as replays."),
	COUNTER(notify_dropped_payload_total, "notify_dropped_payload_total",
	    "Authentic notify datagrams dropped for a malformed payload."),
	COUNTER(notify_dropped_rate_total, "notify_dropped_rate_total",
	    "Notify datagrams dropped for exceeding their source endpoint's "
	    "rate."),
	COUNTER(notify_dropped_cookie_total, "notify_dropped_cookie_total",
	    "VERIFY datagrams dropped for a wrong or stale cookie."),
	COUNTER(notify_challenges_total, "notify_challenges_total",
	    "CHALLENGE datagrams sent."),
	COUNTER(notify_key_derivations_total, "notify_key_derivations_total",
	    "Notify keys derived (HKDF; one registration and epoch "
	    "each)."),
	COUNTER(notify_verifications_total, "notify_verifications_total",
	    "Client endpoints verified."),
	COUNTER(notify_events_total, "notify_events_total",
	    "EVENT datagrams sent, retransmissions not counted."),
	COUNTER(notify_retransmits_total, "notify_retransmits_total",
	    "EVENT datagrams sent again for want of an ACK."),
	COUNTER(notify_resyncs_total, "notify_resyncs_total",
	    "Unacknowledged events replaced by one MailboxResync."),
	COUNTER(notify_expired_total, "notify_expired_total",
	    "Notification registrations whose lease ran out."),
	COUNTER(notify_revoked_total, "notify_revoked_total",
	    "Registrations ended by a password change or a deleted user."),
};
const size_t metrics_table_len =
    sizeof(metrics_table) / sizeof(metrics_table[0]);

const char *
metrics_type_name(enum metric_type type)
{
	return type == METRIC_COUNTER ? "counter" : "gauge";
}

static int
header(struct buf *out, const char *name, const char *help,
    enum metric_type type)
{
	return buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, metrics_type_name(type));
}

/* A label value: backslash, double quote and newline are escaped. */
static int
label_value(struct buf *out, const char *s)
{
	int rc = 0;

	for (; *s != '\0' && rc == 0; s++) {
		if (*s == '\\')
			rc = buf_append_str(out, "\\\\");
		else if (*s == '"')
			rc = buf_append_str(out, "\\\"");
		else if (*s == '\n')
			rc = buf_append_str(out, "\\n");
		else
			rc = buf_append(out, s, 1);
	}
	return rc;
}

int
metrics_render(struct buf *out, const struct metrics_extra *extra)
{
	const struct metric *m;
	size_t i;

	for (i = 0; i < metrics_table_len; i++) {
		m = &metrics_table[i];
		if (header(out, m->name, m->help, m->type) < 0 ||
		    buf_printf(out, "%s %" PRIu64 "\n", m->name,
		    *m->value) < 0)
			return -1;
	}

	if (header(out, "mailbell_delivery_queue_pending",
	    "Deliveries and folder syncs queued or running.",
	    METRIC_GAUGE) < 0 ||
	    buf_printf(out, "mailbell_delivery_queue_pending %" PRIu64 "\n",
	    extra->queue_pending) < 0)
		return -1;
	if (header(out, "mailbell_uptime_seconds",
	    "Seconds since mailbelld started.", METRIC_GAUGE) < 0 ||
	    buf_printf(out, "mailbell_uptime_seconds %.3f\n",
	    extra->uptime_seconds) < 0)
		return -1;
	if (header(out, "mailbell_build_info",
	    "Always 1; the version label names the running build.",
	    METRIC_GAUGE) < 0 ||
	    buf_append_str(out, "mailbell_build_info{version=\"") < 0 ||
	    label_value(out, extra->version) < 0 ||
	    buf_append_str(out, "\"} 1\n") < 0)
		return -1;
	return 0;
}
