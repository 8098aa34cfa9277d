/*
 * The metrics table and its Prometheus rendering, and the process's
 * own figures read from /proc. Exporting a new counter is one line in
 * metrics_table below.
 */
#include "admin/metrics.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/stats.h"

#define COUNTER(field, name, help) \
	{ "mailbell_" name, NULL, help, METRIC_COUNTER, &mb_stats.field }
#define GAUGE(field, name, help) \
	{ "mailbell_" name, NULL, help, METRIC_GAUGE, &mb_stats.field }
/* One series of a labelled family; each series repeats the help. */
#define COUNTER_L(field, name, labels, help) \
	{ "mailbell_" name, labels, help, METRIC_COUNTER, &mb_stats.field }
#define GAUGE_L(field, name, labels, help) \
	{ "mailbell_" name, labels, help, METRIC_GAUGE, &mb_stats.field }

#define SESSIONS_HELP "Connections accepted, by service."
#define ACTIVE_HELP "Connections open now, by service."
#define REFUSED_HELP "Connections refused for being over a connection " \
	"limit, by service."
#define YIELDED_HELP "Idle sessions (IMAP: not logged in) closed to make " \
	"room for new ones, by service."
#define RCPT_HELP "LMTP recipients by result: delivered (250 after " \
	"DATA), failed (4xx after DATA), unknown_user (550 at RCPT)."
#define RELAYED_HELP "LMTP recipients living on another node, by " \
	"result: delivered (the owner's 2xx after DATA), failed (the " \
	"owner's 4xx/5xx after DATA, or 451 when it was lost), rejected " \
	"(the owner refused RCPT or MAIL), unreachable (451 4.4.1: no " \
	"connection to the owner), unavailable (451 4.4.3: where the user " \
	"lives is not known now)."
#define LOGINS_HELP "IMAP logins by result: ok, failed (wrong user or " \
	"password), unavailable (too many password checks waiting)."
#define DROPPED_HELP "Notify datagrams dropped unanswered, by reason " \
	"(doc/notify-protocol.md section 4.1)."

const struct metric metrics_table[] = {
	COUNTER_L(lmtp_sessions_total, "sessions_total", "service=\"lmtp\"",
	    SESSIONS_HELP),
	COUNTER_L(imap_sessions_total, "sessions_total", "service=\"imap\"",
	    SESSIONS_HELP),
	GAUGE_L(lmtp_sessions_active, "sessions_active", "service=\"lmtp\"",
	    ACTIVE_HELP),
	GAUGE_L(imap_sessions_active, "sessions_active", "service=\"imap\"",
	    ACTIVE_HELP),
	COUNTER_L(lmtp_sessions_refused, "sessions_refused_total",
	    "service=\"lmtp\"", REFUSED_HELP),
	COUNTER_L(imap_sessions_refused, "sessions_refused_total",
	    "service=\"imap\"", REFUSED_HELP),
	COUNTER_L(lmtp_sessions_yielded_total, "sessions_yielded_total",
	    "service=\"lmtp\"", YIELDED_HELP),
	COUNTER_L(imap_sessions_yielded_total, "sessions_yielded_total",
	    "service=\"imap\"", YIELDED_HELP),
	COUNTER(lmtp_transactions_total, "lmtp_transactions_total",
	    "LMTP transactions whose DATA completed."),
	COUNTER_L(lmtp_deliveries_total, "lmtp_recipients_total",
	    "result=\"delivered\"", RCPT_HELP),
	COUNTER_L(lmtp_delivery_failures_total, "lmtp_recipients_total",
	    "result=\"failed\"", RCPT_HELP),
	COUNTER_L(lmtp_unknown_recipients_total, "lmtp_recipients_total",
	    "result=\"unknown_user\"", RCPT_HELP),
	COUNTER_L(lmtp_relayed_delivered_total,
	    "lmtp_relayed_recipients_total", "result=\"delivered\"",
	    RELAYED_HELP),
	COUNTER_L(lmtp_relayed_failed_total, "lmtp_relayed_recipients_total",
	    "result=\"failed\"", RELAYED_HELP),
	COUNTER_L(lmtp_relayed_rejected_total,
	    "lmtp_relayed_recipients_total", "result=\"rejected\"",
	    RELAYED_HELP),
	COUNTER_L(lmtp_relayed_unreachable_total,
	    "lmtp_relayed_recipients_total", "result=\"unreachable\"",
	    RELAYED_HELP),
	COUNTER_L(lmtp_relayed_unavailable_total,
	    "lmtp_relayed_recipients_total", "result=\"unavailable\"",
	    RELAYED_HELP),
	COUNTER(lmtp_relay_connections_total, "lmtp_relay_connections_total",
	    "LMTP connections opened to other nodes to relay recipients."),
	GAUGE(lmtp_relay_connections_active, "lmtp_relay_connections_active",
	    "LMTP connections to other nodes open now."),
	COUNTER(lmtp_oversized_total, "lmtp_oversized_total",
	    "LMTP messages refused for exceeding the size limit."),
	COUNTER(lmtp_protocol_errors_total, "lmtp_protocol_errors_total",
	    "LMTP commands answered with a 500-series reply."),
	COUNTER(lmtp_bytes_received_total, "lmtp_received_bytes_total",
	    "Message bytes received over LMTP after DATA."),
	COUNTER(imap_commands_total, "imap_commands_total",
	    "IMAP commands run."),
	COUNTER(imap_bad_total, "imap_bad_total",
	    "IMAP commands answered BAD."),
	COUNTER_L(imap_logins_total, "imap_logins_total", "result=\"ok\"",
	    LOGINS_HELP),
	COUNTER_L(imap_login_failures_total, "imap_logins_total",
	    "result=\"failed\"", LOGINS_HELP),
	COUNTER_L(imap_logins_unavailable_total, "imap_logins_total",
	    "result=\"unavailable\"", LOGINS_HELP),
	COUNTER(imap_password_checks_total, "imap_password_checks_total",
	    "Passwords checked against a hash (unknown users included)."),
	COUNTER(imap_login_timeouts_total, "imap_login_timeouts_total",
	    "IMAP sessions closed for not logging in within login_timeout."),
	COUNTER(imap_compress_total, "imap_compress_total",
	    "IMAP sessions that turned on COMPRESS=DEFLATE."),
	COUNTER(imap_node_logins_total, "imap_node_logins_total",
	    "Cluster nodes logged in on behalf of a user of this node."),
	GAUGE(imap_proxied_sessions, "imap_proxied_sessions",
	    "IMAP sessions passed on to the node that owns the user now."),
	COUNTER(imap_proxied_total, "imap_proxied_total",
	    "IMAP sessions passed on to the node that owns the user."),
	COUNTER(imap_proxy_failures_total, "imap_proxy_failures_total",
	    "IMAP logins answered NO [UNAVAILABLE] because the user's node "
	    "was unknown or could not be reached."),
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
	COUNTER_L(notify_dropped_size_total, "notify_datagrams_dropped_total",
	    "reason=\"size\"", DROPPED_HELP),
	COUNTER_L(notify_dropped_version_total,
	    "notify_datagrams_dropped_total", "reason=\"version\"",
	    DROPPED_HELP),
	COUNTER_L(notify_dropped_type_total, "notify_datagrams_dropped_total",
	    "reason=\"type\"", DROPPED_HELP),
	COUNTER_L(notify_dropped_id_total, "notify_datagrams_dropped_total",
	    "reason=\"id\"", DROPPED_HELP),
	COUNTER_L(notify_dropped_epoch_total, "notify_datagrams_dropped_total",
	    "reason=\"epoch\"", DROPPED_HELP),
	COUNTER_L(notify_dropped_tag_total, "notify_datagrams_dropped_total",
	    "reason=\"tag\"", DROPPED_HELP),
	COUNTER_L(notify_dropped_replay_total,
	    "notify_datagrams_dropped_total", "reason=\"replay\"",
	    DROPPED_HELP),
	COUNTER_L(notify_dropped_payload_total,
	    "notify_datagrams_dropped_total", "reason=\"payload\"",
	    DROPPED_HELP),
	COUNTER_L(notify_dropped_rate_total, "notify_datagrams_dropped_total",
	    "reason=\"rate\"", DROPPED_HELP),
	COUNTER_L(notify_dropped_cookie_total,
	    "notify_datagrams_dropped_total", "reason=\"cookie\"",
	    DROPPED_HELP),
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
	GAUGE(cluster_connected, "cluster_connected",
	    "1 while this cluster node reaches a NATS server."),
	GAUGE(cluster_nodes, "cluster_nodes",
	    "Nodes of the cluster with a record in mailbell-nodes."),
	GAUGE(cluster_users, "cluster_users",
	    "Users placed on a node in the cluster's user map."),
	COUNTER(cluster_published_total, "cluster_events_published_total",
	    "This node's events stored in the MAILBELL_EVENTS stream."),
	COUNTER(cluster_publish_retries_total,
	    "cluster_publish_retries_total",
	    "Event publishes tried again (NATS away or slow)."),
	COUNTER(cluster_publish_dropped_total,
	    "cluster_publish_dropped_total",
	    "Events never published: the queue was full while NATS was "
	    "away."),
	GAUGE(cluster_publish_queue, "cluster_publish_queue",
	    "This node's events waiting to be published."),
	COUNTER(cluster_received_total, "cluster_events_received_total",
	    "Other nodes' events handed to this node's notifier, from "
	    "their early copy or the stream."),
	COUNTER(cluster_duplicates_total, "cluster_events_duplicate_total",
	    "Events delivered again by the stream and dropped."),
	COUNTER(cluster_early_total, "cluster_events_early_total",
	    "Of the events received, those handed on from their early "
	    "copy (plain NATS) rather than from the stream."),
	GAUGE(cluster_consumer_pending, "cluster_consumer_pending",
	    "Events this node's consumer has yet to read or acknowledge."),
};
const size_t metrics_table_len =
    sizeof(metrics_table) / sizeof(metrics_table[0]);

#define HISTOGRAM(field, name, help) \
	{ "mailbell_" name, help, &mb_stats.field, NULL, NULL }

const struct metric_histogram metrics_histograms[] = {
	HISTOGRAM(lmtp_delivery_seconds, "lmtp_delivery_seconds",
	    "LMTP transactions by the time from the final dot of DATA to "
	    "the replies (every recipient's message durable)."),
	HISTOGRAM(imap_idle_wake_seconds, "imap_idle_wake_seconds",
	    "New messages by the time from their landing to their EXISTS "
	    "written to a session in IDLE on their folder."),
	HISTOGRAM(notify_event_sent_seconds, "notify_event_sent_seconds",
	    "Notifications by the time from the message landing to the "
	    "first send of its EVENT datagram, one per registration."),
	HISTOGRAM(notify_event_acked_seconds, "notify_event_acked_seconds",
	    "Notifications by the time from the message landing to the "
	    "client's ACK of its EVENT, one per registration."),
	HISTOGRAM(cluster_event_seconds, "cluster_event_seconds",
	    "Other nodes' events by the time from landing there to reaching "
	    "this node's notifier (the two machines' clocks)."),
	{ "mailbell_imap_command_seconds",
	    "IMAP commands by the time from reading them to their tagged "
	    "reply, by command (IDLE is not timed); a command appears once "
	    "it has run.",
	    NULL, "command", &mb_stats.imap_command_seconds },
};
const size_t metrics_histograms_len =
    sizeof(metrics_histograms) / sizeof(metrics_histograms[0]);

const char *
metrics_type_name(enum metric_type type)
{
	return type == METRIC_COUNTER ? "counter" : "gauge";
}

static int label_value(struct buf *out, const char *s);

/* The series of one histogram; label: 'name="value"' (escaped), or "". */
static int
render_series(struct buf *out, const char *name, const char *label,
    const struct stats_histogram *h)
{
	const char *sep = label[0] != '\0' ? "," : "";
	const char *open = label[0] != '\0' ? "{" : "";
	const char *close = label[0] != '\0' ? "}" : "";
	uint64_t below = 0;
	size_t i;

	for (i = 0; i < STATS_BUCKETS; i++) {
		below += h->counts[i];
		if (buf_printf(out, "%s_bucket{%s%sle=\"%g\"} %" PRIu64 "\n",
		    name, label, sep, stats_bucket_bounds[i], below) < 0)
			return -1;
	}
	return buf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %" PRIu64 "\n"
	    "%s_sum%s%s%s %.6f\n%s_count%s%s%s %" PRIu64 "\n",
	    name, label, sep, h->count, name, open, label, close, h->sum,
	    name, open, label, close, h->count) < 0 ? -1 : 0;
}

static int
render_histogram(struct buf *out, const struct metric_histogram *m)
{
	struct buf label;
	size_t i;
	int rc = 0;

	if (buf_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", m->name,
	    m->help, m->name) < 0)
		return -1;
	if (m->h != NULL)
		return render_series(out, m->name, "", m->h);
	buf_init(&label, 0);
	for (i = 0; i < STATS_SERIES_MAX && rc == 0; i++) {
		if (m->vec->values[i] == NULL)
			continue;
		buf_reset(&label);
		if (buf_printf(&label, "%s=\"", m->label) < 0 ||
		    label_value(&label, m->vec->values[i]) < 0 ||
		    buf_append_str(&label, "\"") < 0)
			rc = -1;
		else
			rc = render_series(out, m->name, buf_cstr(&label),
			    &m->vec->h[i]);
	}
	buf_free(&label);
	return rc;
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

/* The standard process metrics, named as every Prometheus client
 * library names them. */
static int
render_process(struct buf *out, const struct metrics_extra *x)
{
	if (header(out, "process_cpu_seconds_total",
	    "Total user and system CPU time spent in seconds.",
	    METRIC_COUNTER) < 0 ||
	    buf_printf(out, "process_cpu_seconds_total %.2f\n",
	    x->cpu_seconds) < 0 ||
	    header(out, "process_resident_memory_bytes",
	    "Resident memory size in bytes.", METRIC_GAUGE) < 0 ||
	    buf_printf(out, "process_resident_memory_bytes %" PRIu64 "\n",
	    x->resident_bytes) < 0 ||
	    header(out, "process_virtual_memory_bytes",
	    "Virtual memory size in bytes.", METRIC_GAUGE) < 0 ||
	    buf_printf(out, "process_virtual_memory_bytes %" PRIu64 "\n",
	    x->virtual_bytes) < 0 ||
	    header(out, "process_open_fds", "Number of open file descriptors.",
	    METRIC_GAUGE) < 0 ||
	    buf_printf(out, "process_open_fds %" PRIu64 "\n",
	    x->open_fds) < 0 ||
	    header(out, "process_max_fds",
	    "Maximum number of open file descriptors.", METRIC_GAUGE) < 0 ||
	    buf_printf(out, "process_max_fds %" PRIu64 "\n", x->max_fds) < 0 ||
	    header(out, "process_start_time_seconds",
	    "Start time of the process since unix epoch in seconds.",
	    METRIC_GAUGE) < 0 ||
	    buf_printf(out, "process_start_time_seconds %.2f\n",
	    x->start_time_seconds) < 0)
		return -1;
	return 0;
}

int
metrics_render(struct buf *out, const struct metrics_extra *extra)
{
	const struct metric *m;
	size_t i;

	for (i = 0; i < metrics_table_len; i++) {
		bool first = i == 0 ||
		    strcmp(metrics_table[i - 1].name, metrics_table[i].name) != 0;

		m = &metrics_table[i];
		if (first && header(out, m->name, m->help, m->type) < 0)
			return -1;
		if (buf_printf(out, "%s%s%s%s %" PRIu64 "\n", m->name,
		    m->labels != NULL ? "{" : "",
		    m->labels != NULL ? m->labels : "",
		    m->labels != NULL ? "}" : "", *m->value) < 0)
			return -1;
	}
	for (i = 0; i < metrics_histograms_len; i++)
		if (render_histogram(out, &metrics_histograms[i]) < 0)
			return -1;

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
	return render_process(out, extra);
}

/* Field n (1-based, as proc(5) numbers them) of /proc/self/stat, whose
 * second field (the command) may hold spaces: counted from after it. */
static const char *
stat_field(const char *stat, int n)
{
	const char *p = strrchr(stat, ')');
	int i;

	if (p == NULL)
		return NULL;
	p++;
	for (i = 3; i < n && p != NULL; i++)
		p = strchr(p + 1, ' ');
	return p != NULL ? p + 1 : NULL;
}

static unsigned long long
field_ull(const char *stat, int n)
{
	const char *p = stat_field(stat, n);

	return p != NULL ? strtoull(p, NULL, 10) : 0;
}

/* Unix time the system booted (btime of /proc/stat), or 0. */
static unsigned long long
boot_time(void)
{
	char line[256];
	unsigned long long btime = 0;
	FILE *f = fopen("/proc/stat", "re");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "btime %llu", &btime) == 1)
			break;
	fclose(f);
	return btime;
}

int
metrics_process(struct metrics_extra *x)
{
	char stat[1024];
	long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	struct rlimit rl;
	struct dirent *de;
	size_t n;
	FILE *f;
	DIR *d;

	x->cpu_seconds = 0;
	x->resident_bytes = x->virtual_bytes = x->open_fds = x->max_fds = 0;
	x->start_time_seconds = 0;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		x->max_fds = rl.rlim_cur;
	if ((d = opendir("/proc/self/fd")) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				x->open_fds++;
		closedir(d);
		/* the directory's own descriptor was open meanwhile */
		if (x->open_fds > 0)
			x->open_fds--;
	}
	if ((f = fopen("/proc/self/stat", "re")) == NULL)
		return -1;
	n = fread(stat, 1, sizeof(stat) - 1, f);
	fclose(f);
	stat[n] = '\0';
	if (ticks <= 0 || page <= 0 || strrchr(stat, ')') == NULL)
		return -1;
	/* proc(5): utime 14, stime 15, starttime 22, vsize 23, rss 24 */
	x->cpu_seconds = (double)(field_ull(stat, 14) + field_ull(stat, 15)) /
	    (double)ticks;
	x->start_time_seconds = (double)boot_time() +
	    (double)field_ull(stat, 22) / (double)ticks;
	x->virtual_bytes = field_ull(stat, 23);
	x->resident_bytes = field_ull(stat, 24) * (uint64_t)page;
	return 0;
}
