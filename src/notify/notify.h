/*
 * The notifier (doc/notify-protocol.md): registrations made over IMAP,
 * one UDP socket per listen address on [notify] udp_port from which
 * every datagram leaves, endpoint verification with stateless cookies,
 * keepalives, and an authenticated EVENT for each change in a covered
 * folder, acknowledged or resent 1, 2, 4 and 8 s later. Runs on the
 * daemon's libevent loop; the daemon binds the sockets and hands them
 * over, and connects IMAP's XBELL command to the register calls below.
 */
#ifndef MB_NOTIFY_NOTIFY_H
#define MB_NOTIFY_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "lib/status.h"

struct clock;
struct directory;
struct mb_config;
struct store;
struct store_event;
struct store_status;
struct notify_server;

/* What the notifier needs; all must outlive it. */
struct notify_deps {
	struct event_base *base;
	const struct mb_config *cfg;	/* data_dir and the [notify] keys */
	struct store *store;		/* events and folder counts */
	struct directory *directory;	/* the users: a deleted user or a
					   changed password ends the user's
					   registrations */
	const struct clock *clock;	/* resends, leases, keepalives and
					   sweeps, Unix time advancing with it
					   from creation (simulated time);
					   NULL: clock_monotonic and the
					   system's Unix time */
};

/*
 * Create the notifier: make <data_dir>/notify, advance and fsync the
 * epoch there (before any datagram can be sent) and load the saved
 * registrations. Returns NULL with *error_r set (lib/error.h) when
 * the directory or the epoch cannot be written.
 */
struct notify_server *notify_server_new(const struct notify_deps *deps,
    const char **error_r);
/* Serve a bound, non-blocking UDP socket (the server owns it; at most
 * NOTIFY_SOCKETS_MAX). port is its bound port, the one clients are
 * told. Returns 0 or -1. */
int notify_server_listen(struct notify_server *server, int fd,
    uint16_t port);
/*
 * Take cfg's [notify] keepalive, lease, max_registrations_per_user and
 * max_registrations (a reload). Registrations already made stay, even
 * beyond a lowered limit; the lease counts for every registration from
 * its client's last datagram; the keepalive is what clients are told
 * from now on (on registering and in each STATUS).
 */
void notify_server_set_limits(struct notify_server *server,
    const struct mb_config *cfg);
/* The epoch of this run. */
uint32_t notify_server_epoch(const struct notify_server *server);
/* Registrations now. */
size_t notify_server_registrations(const struct notify_server *server);
/* Call cb for every registration, as the admin port lists them. */
void notify_server_list(const struct notify_server *server,
    status_registration_cb *cb, void *arg);
/*
 * An event that happened on another node of the cluster, for this
 * node's registrations of its user: as store_subscribe_events() would
 * report it (ev->landed_us on this node's clock_now_us() scale), with
 * the folder's counts after it as the owner read them (st: messages,
 * unseen, uidnext, uidvalidity).
 */
void notify_server_event(struct notify_server *server,
    const struct store_event *ev, const struct store_status *st);
/*
 * Where the notifier's state goes besides its files (a cluster's
 * mailbell-registrations bucket, doc/cluster.md 6): after each save of
 * the registrations file, on the writer's thread, cb gets the master key
 * (NOTIFY_MASTER_KEY_LEN bytes), the epoch of this run and the file's
 * len bytes, valid during the call; it must not block. Setting a cb
 * saves soon, so the epoch of this run gets there too; cb NULL stops the
 * calls and returns once one under way is over.
 */
typedef void notify_mirror_cb(void *ctx, const unsigned char *master,
    uint32_t epoch, const void *data, size_t len);
void notify_server_set_mirror(struct notify_server *server,
    notify_mirror_cb *cb, void *ctx);
/* Whether cfg's data_dir holds the notifier's master key (a node that
 * ran here before, its notify directory intact). */
bool notify_state_present(const struct mb_config *cfg);
/*
 * Before notify_server_new(), on a node whose notify directory is gone:
 * put a state kept elsewhere in its place: the registrations file (text,
 * len bytes), an epoch NOTIFY_RESTORE_EPOCH_SKIP past epoch (the start
 * that follows runs under a later one still) and, last, the master key
 * (NOTIFY_MASTER_KEY_LEN bytes). Returns 0, or -1 with *error_r.
 */
int notify_state_restore(const struct mb_config *cfg,
    const unsigned char *master, uint32_t epoch, const char *text,
    size_t len, const char **error_r);
/* Write the registrations file now if anything changed, stop reading
 * datagrams and free everything (secrets are wiped). */
void notify_server_free(struct notify_server **serverp);

/* The answer to XBELL REGISTER (doc/notify-protocol.md 2.1). */
struct notify_registration {
	char id[17];		/* 16 lowercase hex digits */
	char key[45];		/* the 32-byte secret, base64 */
	unsigned version;	/* datagram format version (1) */
	unsigned port;		/* the UDP port */
	unsigned keepalive;	/* seconds between keepalives */
	unsigned lease;		/* seconds after the last datagram */
	uint32_t epoch;		/* the current epoch */
};

/* Outcome of a register or unregister call. */
enum notify_result {
	NOTIFY_OK = 0,
	NOTIFY_LIMIT,		/* too many registrations (NO [LIMIT]) */
	NOTIFY_NONEXISTENT,	/* no such registration of this user */
	NOTIFY_FAILED,		/* internal failure, or the user is gone */
};

/*
 * Register user for folders (count store names that exist; 0: every
 * folder, including later ones). The registration lives for the lease,
 * renewed by every authenticated datagram, and is saved within a
 * moment. Fills *reg_r (wipe it after use: it holds the secret).
 */
enum notify_result notify_server_register(struct notify_server *server,
    const char *user, const char *const *folders, size_t count,
    struct notify_registration *reg_r);
/* End user's registration id (16 hex digits). */
enum notify_result notify_server_unregister(struct notify_server *server,
    const char *user, const char *id);

#endif
