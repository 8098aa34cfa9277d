/*
 * mailbelld: the mail store daemon. One event loop runs every service
 * (IMAP, LMTP delivery, the UDP notifier, the admin port, the Maildir
 * watcher); main() only reads the command line, and the functions below
 * start, wire and stop the services in order.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "admin/admin-http.h"
#include "daemon/admin-setup.h"
#include "daemon/cluster-setup.h"
#include "daemon/daemon.h"
#include "daemon/listen.h"
#include "daemon/reload.h"
#include "daemon/sdnotify.h"
#include "daemon/tls-setup.h"
#include "directory/directory.h"
#include "lib/config.h"
#include "lib/fsutil.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/privdrop.h"
#include "lib/stats.h"
#include "lib/tls.h"
#include "lib/xmalloc.h"
#include "imap/imap.h"
#include "lmtp/lmtp.h"
#include "notify/notify.h"
#include "store/store.h"

#ifndef MAILBELL_VERSION
#define MAILBELL_VERSION "unknown"
#endif

/* Exit status for a bad command line (sysexits EX_USAGE). */
#define EXIT_USAGE 64

struct options {
	const char *config_path;	/* -c; NULL: embedded default */
	bool verbose;			/* -v */
	bool check_config;		/* --check-config */
};

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: mailbelld [-v] [-c FILE] [--check-config] [--help] "
	    "[--version]\n"
	    "\n"
	    "The mailbell mail store daemon. Runs in the foreground and logs "
	    "to stderr;\n"
	    "SIGTERM or SIGINT stops it after finishing every accepted "
	    "delivery.\n"
	    "\n"
	    "  -c, --config FILE  read FILE instead of the embedded default\n"
	    "                     (`mailbell config` shows what is in effect)\n"
	    "      --check-config check the configuration, print \"config OK\" "
	    "and exit\n"
	    "  -v, --verbose      log debugging detail too\n"
	    "  -h, --help         show this help and exit\n"
	    "  -V, --version      show the version and exit\n");
}

static void
parse_args(int argc, char **argv, struct options *opts)
{
	enum { OPT_CHECK_CONFIG = 256 };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, OPT_CHECK_CONFIG },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(opts, 0, sizeof(*opts));
	while ((ch = getopt_long(argc, argv, "c:vhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			opts->config_path = optarg;
			break;
		case 'v':
			opts->verbose = true;
			break;
		case OPT_CHECK_CONFIG:
			opts->check_config = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("mailbelld %s\n", MAILBELL_VERSION);
			exit(0);
		default:
			usage(stderr);
			exit(EXIT_USAGE);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "mailbelld: unexpected argument: %s\n",
		    argv[optind]);
		usage(stderr);
		exit(EXIT_USAGE);
	}
}

/* Where a setting comes from, for error messages: "[lmtp] port in FILE". */
const char *
daemon_config_source(const struct mb_config *cfg)
{
	return cfg->file != NULL ? cfg->file : "the embedded default";
}

static struct mb_config *
load_config(const char *path)
{
	struct mb_config *cfg;
	const char *error;

	if (config_load(path, &cfg, &error) < 0)
		fatalx("%s", error);
	return cfg;
}

static void
make_dirs(struct daemon *d)
{
	/* Mail and password hashes are private to the daemon's account. */
	umask(077);
	if (mkdir_p(d->cfg->data_dir, 0700) < 0)
		fatal("cannot create data directory %s", d->cfg->data_dir);
	d->mail_root = config_mail_root(d->cfg);
	if (mkdir_p(d->mail_root, 0700) < 0)
		fatal("cannot create mail root %s", d->mail_root);
}

static void
bind_service(struct daemon *d, struct service_sockets *ss,
    const char *service, const char *key, const char *const *addrs,
    size_t count, uint16_t port, bool v6_optional)
{
	const char *where, *reason;

	ss->service = service;
	if (listen_tcp(addrs, count, port, v6_optional, &ss->socks,
	    &ss->count, &where, &reason) < 0)
		fatalx("%s: cannot listen on %s (%s in %s): %s",
		    service, where, key, daemon_config_source(d->cfg), reason);
}

/*
 * The admin port shows counters and the layout of the server: it is not
 * for the public. It binds [admin] listen, and loopback only (127.0.0.1,
 * and ::1 where the host has IPv6) when that is not set, whatever the
 * mail ports bind; off loopback the configuration requires a token.
 */
static void
bind_admin(struct daemon *d)
{
	const char *const *addrs;
	size_t n = config_admin_listen(d->cfg, &addrs);

	bind_service(d, &d->admin_socks, "admin", "[admin] port", addrs, n,
	    d->cfg->admin_port, d->cfg->admin_listen_count == 0);
}

/* The notifier's UDP sockets: one port on every listen address, from
 * which every datagram it sends leaves. */
static void
bind_notify(struct daemon *d)
{
	struct service_sockets *ss = &d->notify_socks;
	const char *where, *reason;

	ss->service = "notify";
	if (!d->cfg->notify_enabled)
		return;
	if (listen_udp((const char *const *)d->cfg->listen,
	    d->cfg->listen_count, d->cfg->notify_udp_port, false, &ss->socks,
	    &ss->count, &where, &reason) < 0)
		fatalx("notify: cannot bind %s ([notify] udp_port in %s): %s",
		    where, daemon_config_source(d->cfg), reason);
}

/* Bind every listener, then name each one in the log: tests and
 * operators read the actual ports from these lines. */
static void
bind_listeners(struct daemon *d)
{
	const struct service_sockets *all[] = { &d->imap_socks,
	    &d->imaps_socks, &d->lmtp_socks, &d->admin_socks };
	size_t i, j;

	bind_service(d, &d->imap_socks, "imap", "[imap] port",
	    (const char *const *)d->cfg->listen, d->cfg->listen_count,
	    d->cfg->imap_port, false);
	bind_service(d, &d->imaps_socks, "imaps", "[imap] tls_port",
	    (const char *const *)d->cfg->listen, d->cfg->listen_count,
	    d->cfg->imap_tls_port, false);
	bind_service(d, &d->lmtp_socks, "lmtp", "[lmtp] port",
	    (const char *const *)d->cfg->listen, d->cfg->listen_count,
	    d->cfg->lmtp_port, false);
	bind_admin(d);
	bind_notify(d);
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		for (j = 0; j < all[i]->count; j++)
			log_info("listening: %s tcp %s", all[i]->service,
			    all[i]->socks[j].where);
	for (j = 0; j < d->notify_socks.count; j++)
		log_info("listening: notify udp %s",
		    d->notify_socks.socks[j].where);
}

/*
 * Give up root: as [server] user, or, when none is set, as the system
 * account privdrop_default_user() names, so a daemon started by root
 * never keeps root's privileges. Not started as root, it runs as itself.
 */
static void
drop_privileges(struct daemon *d)
{
	const char *dirs[] = { d->cfg->data_dir, d->mail_root };
	const char *user = d->cfg->user, *error;
	char *passwd;

	if (user == NULL) {
		if (!privdrop_running_as_root())
			return;
		user = privdrop_default_user();
	}
	if (privdrop_to(user, dirs, sizeof(dirs) / sizeof(dirs[0]),
	    &error) < 0)
		fatalx("cannot drop privileges: %s", error);
	if (d->cfg->user != NULL)
		log_info("running as user %s", user);
	else
		log_info("running as user %s: started as root without "
		    "[server] user%s", user,
		    strcmp(user, PRIVDROP_DEFAULT_USER) == 0 ? "" :
		    " and there is no " PRIVDROP_DEFAULT_USER " account");

	/* `mailbell user add` run as root may leave the passwd file
	 * unreadable to the account: say so now rather than refusing every
	 * recipient later. */
	passwd = config_passwd_path(d->cfg);
	if (access(passwd, R_OK) < 0 && errno != ENOENT)
		log_warn("user %s cannot read %s; every recipient will be "
		    "unknown", user, passwd);
	free(passwd);
}

/* Every store event is one message that landed, by whatever path.
 * store_announce() counts mb_stats.store_events_total itself, so the
 * count holds whoever subscribes; this only logs. */
static void
landed_cb(const struct store_event *ev, void *ctx)
{
	(void)ctx;
	log_info("landed: user=%s folder=%s uidvalidity=%u uid=%u", ev->user,
	    ev->folder, (unsigned)ev->uidvalidity, (unsigned)ev->uid);
}

static void
queue_ready_cb(evutil_socket_t fd, short what, void *ctx)
{
	struct daemon *d = ctx;

	(void)fd;
	(void)what;
	store_queue_reap(d->queue);
}

static void
sync_done_cb(const char *user, const char *folder, uint32_t uidvalidity,
    const uint32_t *new_uids, size_t new_count, void *ctx)
{
	struct daemon *d = ctx;
	size_t i;

	/* A failed sync (logged by the queue) reports uidvalidity 0. */
	if (uidvalidity == 0)
		return;
	mb_stats.store_syncs_total++;
	for (i = 0; i < new_count; i++)
		store_announce(d->store, user, folder, uidvalidity, new_uids[i]);
}

/* A folder changed on disk: sync it in the background and announce the
 * UIDs it gained (deliveries through LMTP were announced already, so
 * store_announce drops them). */
static void
folder_changed_cb(const char *user, const char *folder, void *ctx)
{
	struct daemon *d = ctx;

	store_queue_sync(d->queue, user, folder,
	    store_announced_uid(d->store, user, folder), sync_done_cb, d);
}

static void
watch_ready_cb(evutil_socket_t fd, short what, void *ctx)
{
	struct daemon *d = ctx;

	(void)fd;
	(void)what;
	store_watch_read(d->watch, folder_changed_cb, d);
}

/* Every STORE_TMP_SWEEP_INTERVAL_SECS: remove what dead deliveries
 * left in tmp/, off the loop. */
static void
sweep_timer_cb(evutil_socket_t fd, short what, void *ctx)
{
	struct daemon *d = ctx;

	(void)fd;
	(void)what;
	store_queue_sweep(d->queue);
}

static struct event *
add_read_event(struct daemon *d, int fd, event_callback_fn cb)
{
	struct event *ev;

	ev = event_new(d->base, fd, EV_READ | EV_PERSIST, cb, d);
	if (ev == NULL || event_add(ev, NULL) < 0)
		fatalx("cannot watch descriptor %d", fd);
	return ev;
}

static void
start_store(struct daemon *d)
{
	struct timeval sweep_every = { 0, 0 };
	const char *error;

	d->store = store_new(d->mail_root, d->cfg->hostname);
	d->landed_sub = store_subscribe(d->store, landed_cb, d);
	d->queue = store_queue_new(d->store);
	d->queue_ev = add_read_event(d, store_queue_fd(d->queue),
	    queue_ready_cb);

	/* Once at start (leftovers of a crash), then periodically. */
	store_queue_sweep(d->queue);
	sweep_every.tv_sec = STORE_TMP_SWEEP_INTERVAL_SECS;
	d->sweep_ev = event_new(d->base, -1, EV_PERSIST, sweep_timer_cb, d);
	if (d->sweep_ev == NULL || event_add(d->sweep_ev, &sweep_every) < 0)
		fatalx("cannot start the tmp/ sweep timer");

	d->watch = store_watch_new(d->store, &error);
	if (d->watch == NULL)
		log_warnx("mail written into the Maildirs by other programs "
		    "will not be noticed: %s", error);
	else
		d->watch_ev = add_read_event(d, store_watch_fd(d->watch),
		    watch_ready_cb);
}

/* IMAP's XBELL hooks, onto the notifier. */
static enum imap_xbell_result
xbell_result(enum notify_result res)
{
	switch (res) {
	case NOTIFY_OK:
		return IMAP_XBELL_OK;
	case NOTIFY_LIMIT:
		return IMAP_XBELL_LIMIT;
	case NOTIFY_NONEXISTENT:
		return IMAP_XBELL_NONEXISTENT;
	case NOTIFY_FAILED:
		break;
	}
	return IMAP_XBELL_FAILED;
}

static enum imap_xbell_result
xbell_reg_cb(void *ctx, const char *user, const char *const *folders,
    size_t count, struct imap_xbell_registration *reg_r)
{
	struct notify_registration reg;
	enum notify_result res;

	res = notify_server_register(ctx, user, folders, count, &reg);
	if (res == NOTIFY_OK) {
		memcpy(reg_r->id, reg.id, sizeof(reg_r->id));
		memcpy(reg_r->key, reg.key, sizeof(reg_r->key));
		reg_r->version = reg.version;
		reg_r->port = reg.port;
		reg_r->keepalive = reg.keepalive;
		reg_r->lease = reg.lease;
		reg_r->epoch = reg.epoch;
	}
	explicit_bzero(&reg, sizeof(reg));
	return xbell_result(res);
}

static enum imap_xbell_result
xbell_unreg_cb(void *ctx, const char *user, const char *id)
{
	return xbell_result(notify_server_unregister(ctx, user, id));
}

static void
start_notify(struct daemon *d)
{
	struct notify_deps deps;
	const char *error;
	size_t i;

	if (!d->cfg->notify_enabled)
		return;
	memset(&deps, 0, sizeof(deps));
	deps.base = d->base;
	deps.cfg = d->cfg;
	deps.store = d->store;
	deps.directory = d->dir;
	/* A node whose notify directory is gone takes its state from the
	 * cluster first, before any datagram (doc/cluster.md 6). */
	cluster_setup_restore(d);
	d->notify = notify_server_new(&deps, &error);
	if (d->notify == NULL)
		fatalx("notify: %s", error);
	for (i = 0; i < d->notify_socks.count; i++) {
		if (notify_server_listen(d->notify,
		    d->notify_socks.socks[i].fd,
		    d->notify_socks.socks[i].port) < 0)
			fatalx("notify: cannot serve %s",
			    d->notify_socks.socks[i].where);
		d->notify_socks.socks[i].fd = -1;
	}
	d->xbell.reg = xbell_reg_cb;
	d->xbell.unreg = xbell_unreg_cb;
	d->xbell.ctx = d->notify;
}

static void
start_services(struct daemon *d)
{
	struct imap_deps imap_deps;
	struct lmtp_deps lmtp_deps;
	char *passwd = config_passwd_path(d->cfg);
	size_t i;

	d->dir = directory_open(passwd);
	free(passwd);
	start_notify(d);
	cluster_setup_start(d);

	memset(&lmtp_deps, 0, sizeof(lmtp_deps));
	lmtp_deps.base = d->base;
	lmtp_deps.cfg = d->cfg;
	lmtp_deps.store = d->store;
	lmtp_deps.queue = d->queue;
	lmtp_deps.dir = d->dir;
	lmtp_deps.tls = d->tls;
	d->lmtp = lmtp_server_new(&lmtp_deps);
	for (i = 0; i < d->lmtp_socks.count; i++) {
		if (lmtp_server_listen(d->lmtp, d->lmtp_socks.socks[i].fd) < 0)
			fatalx("lmtp: cannot serve %s",
			    d->lmtp_socks.socks[i].where);
		d->lmtp_socks.socks[i].fd = -1;
	}

	memset(&imap_deps, 0, sizeof(imap_deps));
	imap_deps.base = d->base;
	imap_deps.cfg = d->cfg;
	imap_deps.store = d->store;
	imap_deps.queue = d->queue;
	imap_deps.dir = d->dir;
	imap_deps.xbell = d->notify != NULL ? &d->xbell : NULL;
	imap_deps.tls = d->tls;
	imap_deps.route = cluster_setup_route(d);
	d->imap = imap_server_new(&imap_deps);
	for (i = 0; i < d->imap_socks.count; i++) {
		if (imap_server_listen(d->imap, d->imap_socks.socks[i].fd) < 0)
			fatalx("imap: cannot serve %s",
			    d->imap_socks.socks[i].where);
		d->imap_socks.socks[i].fd = -1;
	}
	for (i = 0; i < d->imaps_socks.count; i++) {
		if (imap_server_listen_tls(d->imap,
		    d->imaps_socks.socks[i].fd) < 0)
			fatalx("imaps: cannot serve %s",
			    d->imaps_socks.socks[i].where);
		d->imaps_socks.socks[i].fd = -1;
	}
	admin_setup_start(d);
}

static void
drained_cb(void *ctx)
{
	struct daemon *d = ctx;

	/* Once every service has drained, leave the loop; stop_daemon()
	 * frees the rest outside every callback. */
	if (--d->draining == 0)
		event_base_loopexit(d->base, NULL);
}

/*
 * SIGTERM/SIGINT: stop taking connections, let every delivery already
 * accepted finish and be answered, then leave the loop. A second signal
 * while that runs means "now".
 */
static void
signal_cb(evutil_socket_t sig, short what, void *ctx)
{
	struct daemon *d = ctx;

	(void)what;
	if (d->stopping) {
		log_warnx("signal %d during shutdown: exiting at once",
		    (int)sig);
		_exit(1);
	}
	d->stopping = true;
	log_info("shutting down");
	sdnotify_stopping(d->sd);
	admin_setup_stop(d);
	/* Mail others write from now on is announced after the restart's
	 * first sync, not by this process. */
	if (d->watch_ev != NULL)
		event_del(d->watch_ev);
	if (d->sweep_ev != NULL)
		event_del(d->sweep_ev);
	d->draining = 2;
	imap_server_shutdown(d->imap, drained_cb, d);
	lmtp_server_shutdown(d->lmtp, drained_cb, d);
}

/* SIGHUP: the configuration again (reload.h), keeping every session. */
static void
sighup_cb(evutil_socket_t sig, short what, void *ctx)
{
	struct daemon *d = ctx;

	(void)sig;
	(void)what;
	sdnotify_reloading(d->sd);
	(void)reload_run(&d->reload);
	sdnotify_ready(d->sd);
}

static void
start_signals(struct daemon *d)
{
	signal(SIGPIPE, SIG_IGN);
	d->sigterm_ev = evsignal_new(d->base, SIGTERM, signal_cb, d);
	d->sigint_ev = evsignal_new(d->base, SIGINT, signal_cb, d);
	d->sighup_ev = evsignal_new(d->base, SIGHUP, sighup_cb, d);
	if (d->sigterm_ev == NULL || d->sigint_ev == NULL ||
	    d->sighup_ev == NULL ||
	    event_add(d->sigterm_ev, NULL) < 0 ||
	    event_add(d->sigint_ev, NULL) < 0 ||
	    event_add(d->sighup_ev, NULL) < 0)
		fatalx("cannot handle signals");
}

/*
 * Raise the open-file limit to what a full session table needs (an IMAP
 * session passed on to another node of a cluster holds two sockets):
 * the soft limit is often 1,024 while the hard one allows far more, and
 * only root may raise the hard one. Says so when it stays too low, as
 * each session beyond it is refused at accept.
 */
static void
raise_fd_limit(void)
{
	const rlim_t need = 2 * IMAP_SESSIONS_MAX + LMTP_SESSIONS_MAX +
	    DAEMON_FDS_SPARE;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur >= need)
		return;
	if (rl.rlim_max < need && privdrop_running_as_root()) {
		struct rlimit want = { need, need };

		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			return;
	}
	rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0 &&
	    getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < need)
		log_warnx("open file limit is %llu, below the %llu a full "
		    "session table needs; raise it (ulimit -n, or "
		    "LimitNOFILE= for systemd)",
		    (unsigned long long)rl.rlim_cur, (unsigned long long)need);
}

static void
start_daemon(struct daemon *d, const struct options *opts)
{
	d->cfg = load_config(opts->config_path);
	log_set_verbose(opts->verbose ||
	    d->cfg->log_level == CONFIG_LOG_LEVEL_DEBUG);
	log_info("mailbelld %s starting with %s", MAILBELL_VERSION,
	    d->cfg->file != NULL ? d->cfg->file :
	    "the embedded default configuration");
	make_dirs(d);
	raise_fd_limit();
	if (evthread_use_pthreads() < 0)
		fatalx("libevent has no pthreads support");
	d->base = event_base_new();
	if (d->base == NULL)
		fatalx("cannot create the event loop");
	bind_listeners(d);
	/* Like the TLS key, the token file may be root's alone. */
	admin_setup_token(d);
	cluster_setup_secret(d);
	if (tls_setup_configured(d->cfg))
		d->tls = tls_setup_start(d->cfg);
	drop_privileges(d);
	if (d->tls == NULL)
		d->tls = tls_setup_start(d->cfg);
	start_store(d);
	start_services(d);
	d->reload = (struct reload_deps){ .cfg = d->cfg, .tls = d->tls,
	    .dir = d->dir, .notify = d->notify, .verbose = opts->verbose };
	start_signals(d);
	log_info("ready");
	d->sd = sdnotify_start(d->base);
}

static void
stop_daemon(struct daemon *d)
{
	if (d->sigterm_ev != NULL)
		event_free(d->sigterm_ev);
	if (d->sigint_ev != NULL)
		event_free(d->sigint_ev);
	if (d->sighup_ev != NULL)
		event_free(d->sighup_ev);
	sdnotify_free(&d->sd);
	admin_setup_stop(d);
	imap_server_free(&d->imap);
	lmtp_server_free(&d->lmtp);
	tls_server_free(&d->tls);
	/* Before the notifier (its events go there) and the store (it is
	 * subscribed to the store's events). */
	cluster_setup_stop(d);
	/* After IMAP (its XBELL hooks point here) and before the store
	 * (it is subscribed to the store's events); saves what changed. */
	notify_server_free(&d->notify);
	if (d->watch_ev != NULL)
		event_free(d->watch_ev);
	store_watch_free(&d->watch);
	/* Waits for the folder syncs still queued and runs their callbacks,
	 * which may still announce (and log) mail: the store outlives it. */
	if (d->sweep_ev != NULL)
		event_free(d->sweep_ev);
	if (d->queue_ev != NULL)
		event_free(d->queue_ev);
	store_queue_free(&d->queue);
	if (d->store != NULL)
		store_unsubscribe(d->store, d->landed_sub);
	store_free(&d->store);
	directory_free(&d->dir);
	listen_close_all(&d->imap_socks.socks, d->imap_socks.count);
	listen_close_all(&d->imaps_socks.socks, d->imaps_socks.count);
	listen_close_all(&d->lmtp_socks.socks, d->lmtp_socks.count);
	listen_close_all(&d->admin_socks.socks, d->admin_socks.count);
	listen_close_all(&d->notify_socks.socks, d->notify_socks.count);
	if (d->base != NULL)
		event_base_free(d->base);
	free(d->mail_root);
	config_free(&d->cfg);
}

static int
check_config(const struct options *opts)
{
	struct mb_config *cfg = load_config(opts->config_path);

	config_free(&cfg);
	printf("config OK\n");
	return 0;
}

int
main(int argc, char **argv)
{
	struct options opts;
	struct daemon d;

	log_init("mailbelld", false);
	parse_args(argc, argv, &opts);
	log_init("mailbelld", opts.verbose);
	if (opts.check_config)
		return check_config(&opts);

	memset(&d, 0, sizeof(d));
	start_daemon(&d, &opts);
	if (event_base_dispatch(d.base) < 0)
		fatalx("event loop failed");
	stop_daemon(&d);
	log_info("stopped");
	return 0;
}
