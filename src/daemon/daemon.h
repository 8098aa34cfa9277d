/*
 * What the running mailbelld holds, shared by main.c (start, signals,
 * stop) and the files that set up one part of it (admin-setup.c). One
 * instance, owned by main().
 */
#ifndef MB_DAEMON_DAEMON_H
#define MB_DAEMON_DAEMON_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/reload.h"
#include "imap/imap.h"

struct admin_http;
struct cluster;
struct directory;
struct event;
struct event_base;
struct listen_socket;
struct lmtp_server;
struct mb_config;
struct notify_server;
struct sdnotify;
struct store;
struct store_queue;
struct store_watch;
struct tls_server;

/* The bound sockets of one service, until they are handed over. */
struct service_sockets {
	const char *service;		/* "imap", "lmtp", "admin" */
	struct listen_socket *socks;	/* fd -1 once a service owns it */
	size_t count;
};

/* Everything the running daemon holds; one instance, owned by main(). */
struct daemon {
	/* Set at start-up, in this order. */
	struct mb_config *cfg;
	char *mail_root;		/* <data_dir>/mail */
	struct event_base *base;
	struct service_sockets imap_socks;
	struct service_sockets imaps_socks; /* IMAP over implicit TLS */
	struct service_sockets lmtp_socks;
	struct service_sockets admin_socks;
	struct service_sockets notify_socks; /* UDP; none when disabled */
	struct store *store;
	struct store_queue *queue;
	struct store_watch *watch;	/* NULL without inotify */
	struct directory *dir;
	struct tls_server *tls;		/* STARTTLS and IMAPS certificate */
	struct imap_server *imap;
	struct lmtp_server *lmtp;
	struct admin_http *admin;
	char *admin_token;		/* [admin] token_file's, or NULL */
	struct notify_server *notify;	/* NULL when [notify] is disabled */
	struct imap_xbell_ops xbell;	/* IMAP's XBELL, onto the notifier */
	unsigned landed_sub;		/* store_subscribe id of the logger */
	struct cluster *cluster;	/* NULL without [cluster] node */
	char *cluster_secret;		/* [cluster] secret_file's */
	struct sdnotify *sd;		/* systemd's readiness and watchdog */

	/* Events on the loop. */
	struct event *queue_ev;		/* store_queue_fd readable */
	struct event *watch_ev;		/* store_watch_fd readable */
	struct event *sweep_ev;		/* STORE_TMP_SWEEP_INTERVAL_SECS */
	struct event *sigterm_ev;
	struct event *sigint_ev;
	struct event *sighup_ev;	/* reloads the configuration */
	struct reload_deps reload;	/* what SIGHUP changes */

	/* Shutdown. */
	bool stopping;			/* first signal seen */
	unsigned draining;		/* services not yet drained */
};

/* Where the configuration came from, for messages. */
const char *daemon_config_source(const struct mb_config *cfg);

#endif
