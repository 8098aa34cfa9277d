/*
 * Process-wide counters, exported by the admin port as Prometheus
 * metrics. Updated and read on the daemon's event-loop thread only.
 */
#ifndef MB_LIB_STATS_H
#define MB_LIB_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Buckets of every latency histogram: upper bounds in seconds, from
 * 100 us (a wake on the loop) to 10 s (a delivery behind a slow disk);
 * slower ones fall in the +Inf bucket only. */
#define STATS_BUCKETS 16
extern const double stats_bucket_bounds[STATS_BUCKETS];

/* A Prometheus histogram of durations. */
struct stats_histogram {
	uint64_t counts[STATS_BUCKETS];	/* observations in (bound i-1,
					   bound i]; not cumulative */
	uint64_t count;			/* every observation */
	double sum;			/* their seconds */
};

/* Count one duration of seconds (negative ones as 0). */
void stats_observe(struct stats_histogram *h, double seconds);

/* Series of one histogram family told apart by a label: the IMAP
 * commands by name. Room for this many label values. */
#define STATS_SERIES_MAX 64
struct stats_histogram_vec {
	const char *values[STATS_SERIES_MAX];	/* label value of series i
						   (static strings); NULL:
						   never observed */
	struct stats_histogram h[STATS_SERIES_MAX];
};
/* Count seconds in series i (< STATS_SERIES_MAX), labelled value. */
void stats_observe_series(struct stats_histogram_vec *v, size_t i,
    const char *value, double seconds);

struct mb_stats {
	/* LMTP */
	uint64_t lmtp_sessions_total;		/* connections accepted */
	uint64_t lmtp_sessions_active;		/* connections open now */
	uint64_t lmtp_sessions_refused;		/* over LMTP_SESSIONS_MAX or
						   _PER_IP */
	uint64_t lmtp_sessions_yielded_total;	/* idle, closed for a new
						   session: table full */
	uint64_t lmtp_transactions_total;	/* DATA completed */
	uint64_t lmtp_deliveries_total;		/* per-recipient 250 */
	uint64_t lmtp_delivery_failures_total;	/* per-recipient 4xx after DATA */
	uint64_t lmtp_unknown_recipients_total;	/* 550 5.1.1 */
	uint64_t lmtp_oversized_total;		/* 552 5.3.4 */
	uint64_t lmtp_protocol_errors_total;	/* 500-series replies */
	uint64_t lmtp_bytes_received_total;	/* message bytes after DATA */
	struct stats_histogram lmtp_delivery_seconds; /* the final dot to
						   the replies, a transaction */
	/* LMTP relayed to the owner node (cluster), by recipient */
	uint64_t lmtp_relayed_delivered_total;	/* the owner's 2xx after DATA */
	uint64_t lmtp_relayed_failed_total;	/* after DATA: the owner's
						   4xx/5xx, or 451 4.4.2 when
						   it was lost */
	uint64_t lmtp_relayed_rejected_total;	/* the owner's 4xx/5xx to RCPT
						   or MAIL, passed on */
	uint64_t lmtp_relayed_unreachable_total; /* 451 4.4.1 at RCPT: no
						   connection or a broken one */
	uint64_t lmtp_relayed_unavailable_total; /* 451 4.4.3 at RCPT: the
						   user's node is not known */
	uint64_t lmtp_relay_connections_total;	/* connections to owners */
	uint64_t lmtp_relay_connections_active;	/* of those, open now */

	/* IMAP */
	uint64_t imap_sessions_total;		/* connections accepted */
	uint64_t imap_sessions_active;		/* connections open now */
	uint64_t imap_sessions_refused;		/* over a connection limit */
	uint64_t imap_commands_total;		/* commands dispatched */
	uint64_t imap_bad_total;		/* BAD replies */
	uint64_t imap_logins_total;		/* successful logins */
	uint64_t imap_login_failures_total;	/* NO [AUTHENTICATIONFAILED] */
	uint64_t imap_password_checks_total;	/* hashes checked, unknown
						   users included */
	uint64_t imap_logins_unavailable_total;	/* NO [UNAVAILABLE]: too many
						   checks waiting */
	uint64_t imap_foreign_total;		/* HTTP or TLS on the port */
	uint64_t imap_sessions_yielded_total;	/* not logged in, closed for a
						   new session: table full */
	uint64_t imap_login_timeouts_total;	/* no login within
						   [imap] login_timeout */
	uint64_t imap_compress_total;		/* COMPRESS DEFLATE begun */
	uint64_t imap_node_logins_total;	/* cluster nodes logged in for
						   a user of this node */
	uint64_t imap_proxied_sessions;		/* sessions passed on to the
						   user's node now */
	uint64_t imap_proxied_total;		/* sessions passed on */
	uint64_t imap_proxy_failures_total;	/* logins answered NO
						   [UNAVAILABLE]: the user's
						   node unknown or not
						   reached */
	struct stats_histogram_vec imap_command_seconds; /* command to
						   tagged reply, by command
						   (imap-commands.c's order) */
	struct stats_histogram imap_idle_wake_seconds; /* a message landed
						   to its EXISTS written to
						   an IDLE session */

	/* Store */
	uint64_t store_events_total;		/* "message landed" events */
	uint64_t store_syncs_total;		/* folder syncs by the watcher */

	/* Notifier */
	uint64_t notify_registrations;		/* registrations now */
	uint64_t notify_registered_total;	/* XBELL REGISTER accepted */
	uint64_t notify_datagrams_received_total; /* read from the socket */
	uint64_t notify_datagrams_sent_total;	/* handed to the kernel */
	uint64_t notify_send_errors_total;	/* sends that failed */
	uint64_t notify_dropped_size_total;	/* dropped: size */
	uint64_t notify_dropped_version_total;	/* dropped: version */
	uint64_t notify_dropped_type_total;	/* dropped: type, direction */
	uint64_t notify_dropped_id_total;	/* dropped: unknown id */
	uint64_t notify_dropped_epoch_total;	/* dropped: epoch */
	uint64_t notify_dropped_tag_total;	/* dropped: forged or altered */
	uint64_t notify_dropped_replay_total;	/* dropped: replayed */
	uint64_t notify_dropped_payload_total;	/* dropped: bad payload */
	uint64_t notify_dropped_rate_total;	/* dropped: over the source
						   endpoint's rate */
	uint64_t notify_dropped_cookie_total;	/* dropped: VERIFY with a bad
						   or stale cookie */
	uint64_t notify_challenges_total;	/* CHALLENGEs sent */
	uint64_t notify_key_derivations_total;	/* HKDF runs (one registration
						   and epoch each) */
	uint64_t notify_verifications_total;	/* endpoints verified */
	uint64_t notify_events_total;		/* EVENTs, first sends */
	uint64_t notify_retransmits_total;	/* EVENTs sent again */
	uint64_t notify_resyncs_total;		/* unacked events replaced by
						   one MailboxResync */
	uint64_t notify_expired_total;		/* leases that ran out */
	uint64_t notify_revoked_total;		/* ended by a password change
						   or a deleted user */
	struct stats_histogram notify_event_sent_seconds; /* landed to an
						   EVENT's first send, each
						   registration */
	struct stats_histogram notify_event_acked_seconds; /* landed to its
						   ACK, each registration */

	/* Cluster ([cluster]; all 0 without) */
	uint64_t cluster_connected;		/* 1 while NATS is reached */
	uint64_t cluster_nodes;			/* node records */
	uint64_t cluster_users;			/* users placed */
	uint64_t cluster_published_total;	/* events stored in the
						   stream */
	uint64_t cluster_publish_retries_total;	/* publishes tried again */
	uint64_t cluster_publish_dropped_total;	/* lost to a full queue */
	uint64_t cluster_publish_queue;		/* events waiting now */
	uint64_t cluster_received_total;	/* other nodes' events */
	uint64_t cluster_duplicates_total;	/* redelivered, dropped */
	uint64_t cluster_early_total;		/* of received: by the
						   early copy */
	uint64_t cluster_consumer_pending;	/* this node's lag */
	struct stats_histogram cluster_event_seconds; /* landed on its owner
						   to handed to the notifier
						   here (clocks of two
						   machines) */
};

extern struct mb_stats mb_stats;

#endif
