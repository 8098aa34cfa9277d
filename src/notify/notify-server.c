/*
 * The notifier's server: its clock, the UDP sockets, registration for
 * IMAP's XBELL, users' password changes, and one periodic sweep for
 * leases, silent endpoints, password changes and saving. The receive
 * path is in notify-receive.c, saving in notify-saver.c.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "directory/directory.h"
#include "lib/base64.h"
#include "lib/clock.h"
#include "lib/config.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/listeners.h"
#include "lib/log.h"
#include "lib/stats.h"
#include "lib/xmalloc.h"
#include "notify/notify-private.h"

/* ---- Clocks and jitter ---- */

/* The system's Unix time. */
static uint32_t
now_unix(void)
{
	time_t t = time(NULL);

	return t < 0 ? 0 : (uint32_t)t;
}

uint64_t
notify_now_ms(const struct notify_server *s)
{
	return clock_ms(s->clock);
}

uint32_t
notify_now(const struct notify_server *s)
{
	uint64_t t;

	if (s->unix_base == 0)
		return now_unix();
	t = s->unix_base + (notify_now_ms(s) - s->clock_base_ms) / 1000;
	return t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

uint32_t
notify_jitter(struct notify_server *s, uint32_t n)
{
	uint64_t x = s->rng;

	/* xorshift64: jitter only has to differ between clients. */
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	s->rng = x;
	return n == 0 ? 0 : (uint32_t)(x % n);
}

/* ---- The passwd file ----
 * A registration ends when its user is deleted or the user's password
 * changes. The directory reads its file again only when it changed (a
 * stat per sweep); then every user with registrations is looked at
 * again, for the fingerprint of the password hash its registrations
 * were made under. */

/* The fingerprint of user's password hash now: 0 with *tag_r, or -1 if
 * there is no such user. */
static int
pw_tag(struct notify_server *s, const char *user, uint64_t *tag_r)
{
	const char *pw = directory_password_stored(s->deps.directory, user);

	if (pw == NULL)
		return -1;
	*tag_r = notify_pwtag(pw, strlen(pw));
	return 0;
}

static void
pw_check_user_cb(struct notify_user *u, void *ctx)
{
	struct notify_server *s = ctx;
	uint64_t tag;
	bool found = pw_tag(s, u->name, &tag) == 0;
	size_t n;

	if (found && (!u->pwtag_known || u->pwtag == tag)) {
		u->pwtag = tag;
		u->pwtag_known = true;
		return;
	}
	log_info("notify: %s: %s, ending its registrations", u->name,
	    !found ? "user deleted" : "password changed");
	n = notify_registry_remove_user(s->registry, u->name);
	mb_stats.notify_revoked_total += n;
	notify_server_changed(s);
}

/* Have the directory read its file again if it changed, and end the
 * registrations of users that are gone or whose password changed. */
static void
pw_refresh(struct notify_server *s)
{
	unsigned long gen = directory_generation(s->deps.directory);

	if (s->pw_read && gen == s->pw_generation)
		return;
	s->pw_generation = gen;
	s->pw_read = true;
	notify_registry_foreach_user(s->registry, pw_check_user_cb, s);
}

/* ---- Registration ---- */

static void
release_cb(struct notify_reg *reg, void *ctx)
{
	notify_events_drop(ctx, reg);
	notify_old_keys_forget(ctx, reg->id);
}

_Static_assert((NOTIFY_ENDPOINT_SLOTS & (NOTIFY_ENDPOINT_SLOTS - 1)) == 0,
    "notify_budget_new() takes a power of two");

/* Derive a registration's keys of this epoch at start, so no datagram
 * ever waits for them (one that fails is retried on its first send). */
static void
derive_cb(struct notify_reg *reg, void *ctx)
{
	struct notify_server *s = ctx;

	if (notify_reg_derive(s->registry, reg) < 0)
		log_warnx("notify: %s: cannot derive keys", reg->user->name);
}

enum notify_result
notify_server_register(struct notify_server *s, const char *user,
    const char *const *folders, size_t count,
    struct notify_registration *out)
{
	const char *error;
	struct notify_reg *reg;
	unsigned char secret[NOTIFY_SECRET_LEN];
	uint64_t tag;
	char *key;
	size_t len;

	memset(out, 0, sizeof(*out));
	if (count > NOTIFY_REG_FOLDERS_MAX)
		return NOTIFY_LIMIT;
	pw_refresh(s);
	if (pw_tag(s, user, &tag) < 0)
		return NOTIFY_FAILED;
	if (notify_registry_add(s->registry, user, folders, count,
	    notify_now(s), &reg, &error) < 0) {
		log_debug("notify: %s: cannot register: %s", user, error);
		return error_code(error) == ERROR_LIMIT ? NOTIFY_LIMIT :
		    NOTIFY_FAILED;
	}
	reg->user->pwtag = tag;
	reg->user->pwtag_known = true;

	if (notify_reg_secret(s->registry, reg, secret) < 0) {
		notify_registry_remove(s->registry, &reg);
		return NOTIFY_FAILED;
	}
	notify_reg_id_text(reg->id, out->id);
	key = base64_encode(secret, NOTIFY_SECRET_LEN);
	OPENSSL_cleanse(secret, sizeof(secret));
	len = strlen(key);
	assert(len < sizeof(out->key));
	memcpy(out->key, key, len + 1);
	OPENSSL_cleanse(key, len);
	free(key);
	out->version = NOTIFY_VERSION;
	out->port = s->port;
	out->keepalive = s->keepalive;
	out->lease = s->lease;
	out->epoch = s->epoch;
	mb_stats.notify_registered_total++;
	notify_server_changed(s);
	log_debug("notify: %s registered %s", user, out->id);
	return NOTIFY_OK;
}

enum notify_result
notify_server_unregister(struct notify_server *s, const char *user,
    const char *id_text)
{
	struct notify_reg *reg;
	uint64_t id;

	if (notify_reg_id_parse(id_text, &id) < 0 ||
	    (reg = notify_registry_find(s->registry, id)) == NULL ||
	    strcmp(reg->user->name, user) != 0)
		return NOTIFY_NONEXISTENT;
	notify_registry_remove(s->registry, &reg);
	notify_server_changed(s);
	log_debug("notify: %s unregistered %s", user, id_text);
	return NOTIFY_OK;
}

/* ---- The sweep ---- */

struct sweep_ctx {
	struct notify_server *s;
	uint32_t now;
	uint32_t silence;	/* seconds after which an endpoint is
				   forgotten */
};

static void
sweep_reg_cb(struct notify_reg *reg, void *ctx)
{
	struct sweep_ctx *sc = ctx;
	struct notify_server *s = sc->s;

	if (reg->last_seen > sc->now)
		reg->last_seen = sc->now;
	if (sc->now - reg->last_seen > s->lease) {
		log_debug("notify: %s: a lease ran out", reg->user->name);
		notify_registry_remove(s->registry, &reg);
		mb_stats.notify_expired_total++;
		s->regs_dirty = true;
		return;
	}
	if ((reg->flags & NOTIFY_REG_VERIFIED) &&
	    sc->now - reg->last_seen > sc->silence) {
		notify_events_drop(s, reg);
		notify_reg_forget(reg);
	}
}

static void
sweep(struct notify_server *s)
{
	struct sweep_ctx sc;

	s->sweep_ms = notify_now_ms(s);
	sc.s = s;
	sc.now = notify_now(s);
	sc.silence = s->keepalive * NOTIFY_SILENCE_INTERVALS;
	notify_registry_foreach(s->registry, sweep_reg_cb, &sc);
	pw_refresh(s);
	mb_stats.notify_registrations = notify_registry_count(s->registry);
	if (s->regs_dirty || (s->seen_dirty &&
	    sc.now - s->seen_flushed >= NOTIFY_LASTSEEN_FLUSH_SECS))
		notify_save_start(s);
}

static void
sweep_cb(evutil_socket_t fd, short what, void *ctx)
{
	(void)fd;
	(void)what;
	sweep(ctx);
}

void
notify_server_tick(struct notify_server *s)
{
	notify_events_tick(s);
	if (notify_now_ms(s) - s->sweep_ms >= NOTIFY_SWEEP_SECS * 1000)
		sweep(s);
}

/* ---- Life cycle ---- */

struct notify_server *
notify_server_new(const struct notify_deps *deps, const char **error_r)
{
	struct notify_server *s;
	struct timeval tv = { NOTIFY_SWEEP_SECS, 0 };
	const char *error;
	unsigned char master[NOTIFY_MASTER_KEY_LEN];
	bool master_created;
	uint64_t budget_seed;
	size_t skipped;

	s = xcalloc(1, sizeof(*s));
	pthread_mutex_init(&s->mirror_lock, NULL);
	s->deps = *deps;
	s->clock = deps->clock != NULL ? deps->clock : &clock_monotonic;
	s->deps.clock = s->clock;
	s->clock_base_ms = s->sweep_ms = notify_now_ms(s);
	/* A clock of the caller's (simulated time) carries Unix time with
	 * it; otherwise Unix time is the system's, steps included. */
	if (deps->clock != NULL)
		s->unix_base = now_unix();
	s->keepalive = deps->cfg->notify_keepalive;
	s->lease = deps->cfg->notify_lease;
	s->dir = xasprintf("%s/notify", deps->cfg->data_dir);
	s->regs_path = xasprintf("%s/registrations", s->dir);
	s->epoch_path = xasprintf("%s/epoch", s->dir);
	s->master_path = xasprintf("%s/master-key", s->dir);
	if (mkdir_p(s->dir, 0700) < 0) {
		*error_r = error_fmt("cannot create %s: %s", s->dir,
		    strerror(errno));
		goto fail;
	}
	/* Before any datagram: a new epoch, durably (section 3.2). */
	if (notify_epoch_next(s->epoch_path, &s->epoch, error_r) < 0)
		goto fail;
	if (notify_random(s->cookie_key, sizeof(s->cookie_key)) < 0 ||
	    notify_random(&s->rng, sizeof(s->rng)) < 0) {
		*error_r = "no random numbers";
		goto fail;
	}
	s->rng |= 1;
	/* The master key before the registrations whose secrets derive
	 * from it: made now, it cannot be theirs. */
	if (notify_master_key(s->master_path, master, &master_created,
	    error_r) < 0)
		goto fail;
	s->registry = notify_registry_new(
	    deps->cfg->notify_max_registrations_per_user,
	    deps->cfg->notify_max_registrations, s->epoch, master);
	memcpy(s->master, master, sizeof(master));
	OPENSSL_cleanse(master, sizeof(master));
	notify_registry_set_release_cb(s->registry, release_cb, s);
	if (notify_registry_load(s->registry, s->regs_path, !master_created,
	    &skipped, &error) < 0)
		log_warnx("notify: %s; starting without registrations", error);
	else if (skipped > 0)
		log_warnx("notify: %s: %zu registrations skipped (unreadable, "
		    "over a limit, or made under a master key now gone)",
		    s->regs_path, skipped);
	notify_registry_foreach(s->registry, derive_cb, s);
	s->out = xcalloc(1, sizeof(*s->out));
	s->out->sock = -1;
	s->in = xcalloc(1, sizeof(*s->in));
	s->old_keys = xcalloc(NOTIFY_OLD_KEYS_SLOTS, sizeof(*s->old_keys));
	if (notify_random(&budget_seed, sizeof(budget_seed)) < 0 ||
	    notify_random(&s->old_keys_seed, sizeof(s->old_keys_seed)) < 0) {
		*error_r = "no random numbers";
		goto fail;
	}
	s->budget = notify_budget_new(NOTIFY_ENDPOINT_SLOTS,
	    NOTIFY_ENDPOINT_RATE_PER_SEC, budget_seed);
	if ((s->aead = notify_aead_new()) == NULL) {
		*error_r = "cannot set up ChaCha20-Poly1305";
		goto fail;
	}
	s->save_ev = evtimer_new(deps->base, notify_save_timer_cb, s);
	s->sweep_ev = event_new(deps->base, -1, EV_PERSIST, sweep_cb, s);
	notify_saver_new(s);
	if (s->save_ev == NULL || s->sweep_ev == NULL ||
	    event_add(s->sweep_ev, &tv) < 0) {
		*error_r = "cannot add timers";
		goto fail;
	}
	/* Users deleted or passwords changed while we were down. */
	pw_refresh(s);
	s->seen_flushed = notify_now(s);
	mb_stats.notify_registrations = notify_registry_count(s->registry);
	notify_events_start(s);
	log_info("notify: epoch %u, %zu registrations", (unsigned)s->epoch,
	    notify_registry_count(s->registry));
	return s;
fail:
	notify_server_free(&s);
	return NULL;
}

int
notify_server_listen(struct notify_server *s, int fd, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct notify_sock *ns;
	int size = NOTIFY_SOCKET_BUFFER, on = 1;

	/* Best effort: the default buffers still work, with more loss in
	 * a burst. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)) < 0)
		log_debug("notify: socket buffers: %s", strerror(errno));
	if (s->nsocks == NOTIFY_SOCKETS_MAX ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
		return -1;
	ns = &s->socks[s->nsocks];
	memset(ns, 0, sizeof(*ns));
	if (ss.ss_family == AF_INET)
		ns->wildcard = ((struct sockaddr_in *)&ss)->sin_addr.s_addr ==
		    htonl(INADDR_ANY);
	else
		ns->wildcard = IN6_IS_ADDR_UNSPECIFIED(
		    &((struct sockaddr_in6 *)&ss)->sin6_addr);
	if (ns->wildcard && (ss.ss_family == AF_INET ?
	    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)) :
	    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on,
	    sizeof(on))) < 0)
		return -1;
	ns->ev = event_new(s->deps.base, fd, EV_READ | EV_PERSIST,
	    notify_receive_cb, s);
	if (ns->ev == NULL || event_add(ns->ev, NULL) < 0) {
		if (ns->ev != NULL)
			event_free(ns->ev);
		ns->ev = NULL;
		return -1;
	}
	ns->fd = fd;
	ns->family = ss.ss_family;
	ns->via = (uint8_t)s->nvias;
	memset(&s->vias[s->nvias], 0, sizeof(s->vias[s->nvias]));
	s->vias[s->nvias].sock = (uint8_t)s->nsocks;
	s->nvias++;
	s->nsocks++;
	s->port = port;
	return 0;
}

void
notify_server_set_limits(struct notify_server *s,
    const struct mb_config *cfg)
{
	s->keepalive = cfg->notify_keepalive;
	s->lease = cfg->notify_lease;
	notify_registry_set_limits(s->registry,
	    cfg->notify_max_registrations_per_user,
	    cfg->notify_max_registrations);
}

uint32_t
notify_server_epoch(const struct notify_server *s)
{
	return s->epoch;
}

size_t
notify_server_registrations(const struct notify_server *s)
{
	return notify_registry_count(s->registry);
}

struct list_ctx {
	status_registration_cb *cb;
	void *arg;
};

static void
list_cb(struct notify_reg *reg, void *ctx)
{
	struct list_ctx *lc = ctx;
	struct status_registration row;
	struct sockaddr_storage ss;
	socklen_t sslen;
	char endpoint[80];
	size_t n = 0;
	bool given_up;

	memset(&row, 0, sizeof(row));
	row.id = reg->id;
	row.user = reg->user->name;
	row.last_seen = reg->last_seen;
	row.unacked = notify_events_unacked(reg, &given_up);
	if (reg->folders != NULL)
		while (reg->folders[n] != NULL)
			n++;
	row.folders = (unsigned)n;
	row.state = "waiting";
	if ((reg->flags & NOTIFY_REG_VERIFIED) &&
	    notify_addr_decode(reg->addr, &ss, &sslen) == 0) {
		listener_format_peer((struct sockaddr *)&ss, (int)sslen,
		    endpoint, sizeof(endpoint), NULL, 0);
		row.endpoint = endpoint;
		row.state = given_up ? "unreachable" : "verified";
	}
	lc->cb(&row, lc->arg);
}

void
notify_server_list(const struct notify_server *s, status_registration_cb *cb,
    void *arg)
{
	struct list_ctx lc = { cb, arg };

	notify_registry_foreach(s->registry, list_cb, &lc);
}

/* ---- The state kept elsewhere (a cluster's bucket) ---- */

void
notify_server_set_mirror(struct notify_server *s, notify_mirror_cb *cb,
    void *ctx)
{
	pthread_mutex_lock(&s->mirror_lock);
	s->mirror = cb;
	s->mirror_ctx = ctx;
	pthread_mutex_unlock(&s->mirror_lock);
	if (cb != NULL)
		notify_server_changed(s);
}

void
notify_server_mirror(struct notify_server *s, const void *data, size_t len)
{
	pthread_mutex_lock(&s->mirror_lock);
	if (s->mirror != NULL)
		s->mirror(s->mirror_ctx, s->master, s->epoch, data, len);
	pthread_mutex_unlock(&s->mirror_lock);
}

bool
notify_state_present(const struct mb_config *cfg)
{
	char *path = xasprintf("%s/notify/master-key", cfg->data_dir);
	bool present = access(path, F_OK) == 0 || errno != ENOENT;

	free(path);
	return present;
}

int
notify_state_restore(const struct mb_config *cfg,
    const unsigned char *master, uint32_t epoch, const char *text,
    size_t len, const char **error_r)
{
	char *dir = xasprintf("%s/notify", cfg->data_dir);
	char *regs = xasprintf("%s/registrations", dir);
	char *epoch_path = xasprintf("%s/epoch", dir);
	char *master_path = xasprintf("%s/master-key", dir);
	int rc = -1;

	if (mkdir_p(dir, 0700) < 0) {
		*error_r = error_fmt("cannot create %s: %s", dir,
		    strerror(errno));
		goto out;
	}
	/* The master key last: until it is there, the next start restores
	 * again. */
	if (notify_regfile_write(regs, text, len, error_r) == 0 &&
	    notify_epoch_at_least(epoch_path,
	    (uint64_t)epoch + NOTIFY_RESTORE_EPOCH_SKIP, error_r) == 0 &&
	    notify_master_key_write(master_path, master, error_r) == 0)
		rc = 0;
out:
	free(dir);
	free(regs);
	free(epoch_path);
	free(master_path);
	return rc;
}

void
notify_server_free(struct notify_server **sp)
{
	struct notify_server *s = *sp;
	size_t i;

	if (s == NULL)
		return;
	*sp = NULL;
	notify_events_stop(s);
	for (i = 0; i < s->nsocks; i++) {
		event_free(s->socks[i].ev);
		close(s->socks[i].fd);
	}
	notify_saver_free(s);
	if (s->registry != NULL && (s->regs_dirty || s->seen_dirty))
		notify_save_now(s);
	if (s->old_keys != NULL)
		notify_old_keys_clear(s);
	if (s->save_ev != NULL)
		event_free(s->save_ev);
	if (s->sweep_ev != NULL)
		event_free(s->sweep_ev);
	notify_registry_free(&s->registry);
	notify_events_free(s);
	free(s->out);
	free(s->in);
	free(s->old_keys);
	notify_budget_free(&s->budget);
	notify_aead_free(&s->aead);
	OPENSSL_cleanse(s->cookie_key, sizeof(s->cookie_key));
	OPENSSL_cleanse(s->master, sizeof(s->master));
	pthread_mutex_destroy(&s->mirror_lock);
	free(s->dir);
	free(s->regs_path);
	free(s->epoch_path);
	free(s->master_path);
	free(s);
}
