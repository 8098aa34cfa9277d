/*
 * The notifier's server: the UDP sockets and the receive path of
 * doc/notify-protocol.md 4.1 (cheapest check first, every drop silent
 * and counted), endpoint verification with stateless cookies (4.2),
 * STATUS to keepalives, registration for IMAP's XBELL, and one periodic
 * sweep for leases, silent endpoints, password changes and saving.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "directory/directory.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/config.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/stats.h"
#include "lib/xmalloc.h"
#include "notify/notify-private.h"

/* ---- Clocks and jitter ---- */

/* The system's Unix time, read once at creation. */
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
	uint64_t t = s->unix_base +
	    (notify_now_ms(s) - s->clock_base_ms) / 1000;

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

/* ---- Saving ----
 * The registrations file (about 150 bytes a registration) is formatted
 * into a buffer on the loop, then written, fsynced and renamed into
 * place by one writer thread, so the loop never waits for the disk.
 * One save is in flight at a time; changes made meanwhile are saved
 * again when it completes. A registration is answered before it is on
 * disk, as before: the file trails changes by a moment (at least 100
 * ms, see notify_server_changed()). Shutdown waits for the save in
 * flight and then writes what changed since. */

struct notify_saver {
	pthread_t thread;
	int efd;			/* eventfd: a save completed */
	struct event *done_ev;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* Under lock: */
	bool quit;
	bool has_job;			/* job waits for the thread */
	bool done;			/* result is valid */
	struct buf job;
	int rc;
	uint64_t ms;
	char *error;			/* xstrdup'd on the writer's thread,
					   freed by the loop */
	/* The loop's own: */
	bool busy;			/* a save is in flight */
	bool again;			/* changes came while busy */
	bool job_regs, job_seen;	/* what the save in flight covers */
	uint32_t job_time;		/* when it was formatted */
	uint64_t format_ms;		/* how long formatting took */
	size_t last_len;		/* bytes of the last save */
};

/*
 * A save's buffer is mapped for it and unmapped after, never taken from
 * malloc: megabytes freed by the writer after the loop allocated more
 * would stay resident as a hole in the heap (and raise malloc's mmap
 * threshold so the next one would too). max keeps buf from growing it:
 * an append that does not fit fails, and the caller maps a larger one.
 */
static int
job_map(struct buf *b, size_t size)
{
	void *p;

	size = (size + 65535) & ~(size_t)65535;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	b->data = p;
	b->len = 0;
	b->cap = size;
	b->max = size - 1;
	return 0;
}

static void
job_unmap(struct buf *b)
{
	if (b->data != NULL) {
		OPENSSL_cleanse(b->data, b->len);
		munmap(b->data, b->cap);
	}
	memset(b, 0, sizeof(*b));
}

static void *
saver_main(void *ctx)
{
	struct notify_server *s = ctx;
	struct notify_saver *sv = s->saver;
	uint64_t one = 1, start;
	struct buf job;
	const char *error = NULL;
	int rc;

	pthread_mutex_lock(&sv->lock);
	for (;;) {
		while (!sv->has_job && !sv->quit)
			pthread_cond_wait(&sv->cond, &sv->lock);
		if (!sv->has_job)
			break;
		job = sv->job;
		memset(&sv->job, 0, sizeof(sv->job));
		sv->has_job = false;
		pthread_mutex_unlock(&sv->lock);

		start = clock_now_ms();
		rc = notify_regfile_write(s->regs_path, job.data, job.len,
		    &error);
		job_unmap(&job);

		pthread_mutex_lock(&sv->lock);
		sv->rc = rc;
		sv->ms = clock_now_ms() - start;
		/* The text is in this thread's ring: the loop gets a copy. */
		sv->error = rc < 0 ? xstrdup(error) : NULL;
		sv->done = true;
		pthread_cond_broadcast(&sv->cond);
		/* Cannot fail short of a bug: the counter takes 2^64 - 2
		 * completions before it would block. */
		(void)!write(sv->efd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&sv->lock);
	return NULL;
}

static void save_start(struct notify_server *s);

/* The save in flight is over (sv->done under lock): take its result. */
static void
save_finish(struct notify_server *s)
{
	struct notify_saver *sv = s->saver;
	char *error;
	uint64_t ms;
	int rc;

	pthread_mutex_lock(&sv->lock);
	rc = sv->rc;
	ms = sv->ms;
	error = sv->error;
	sv->error = NULL;
	sv->done = false;
	pthread_mutex_unlock(&sv->lock);
	sv->busy = false;
	if (rc < 0) {
		log_warnx("notify: %s", error);
		free(error);
		/* Saved again at the next sweep. */
		s->regs_dirty |= sv->job_regs;
		s->seen_dirty |= sv->job_seen;
		return;
	}
	s->save_ms = ms;
	s->seen_flushed = sv->job_time;
	log_debug("notify: registrations saved (formatted in %llu ms on "
	    "the loop, written in %llu ms)", (unsigned long long)sv->format_ms,
	    (unsigned long long)ms);
}

static void
save_done_cb(evutil_socket_t fd, short what, void *ctx)
{
	struct notify_server *s = ctx;
	struct notify_saver *sv = s->saver;
	uint64_t n;
	bool done;

	(void)what;
	if (read(fd, &n, sizeof(n)) < 0)
		return;
	pthread_mutex_lock(&sv->lock);
	done = sv->done;
	pthread_mutex_unlock(&sv->lock);
	if (!done || !sv->busy)
		return;
	save_finish(s);
	if (sv->again && (s->regs_dirty || s->seen_dirty)) {
		sv->again = false;
		save_start(s);
	}
	sv->again = false;
}

/* Format the registrations and hand them to the writer; if a save is in
 * flight, another follows when it completes. */
static void
save_start(struct notify_server *s)
{
	struct notify_saver *sv = s->saver;
	uint64_t start;
	size_t size;
	struct buf b;

	if (sv->busy) {
		sv->again = true;
		return;
	}
	start = clock_now_ms();
	/* Room for the last save and some, or about 160 bytes a
	 * registration the first time; twice that until it fits. */
	size = sv->last_len > 0 ? sv->last_len + sv->last_len / 8 :
	    notify_registry_count(s->registry) * 160 + 4096;
	for (;;) {
		if (job_map(&b, size) < 0) {
			log_warn("notify: %s: formatting registrations",
			    s->regs_path);
			return;
		}
		if (notify_registry_serialize(s->registry, &b) == 0)
			break;
		size = b.cap * 2;
		job_unmap(&b);
	}
	sv->job_regs = s->regs_dirty;
	sv->job_seen = s->seen_dirty;
	sv->job_time = notify_now(s);
	s->regs_dirty = false;
	s->seen_dirty = false;
	sv->busy = true;
	sv->format_ms = clock_now_ms() - start;
	sv->last_len = b.len;
	pthread_mutex_lock(&sv->lock);
	sv->job = b;
	sv->has_job = true;
	pthread_cond_signal(&sv->cond);
	pthread_mutex_unlock(&sv->lock);
}

/* Wait for the save in flight, if any. */
static void
save_wait(struct notify_server *s)
{
	struct notify_saver *sv = s->saver;

	if (sv == NULL || !sv->busy)
		return;
	pthread_mutex_lock(&sv->lock);
	while (!sv->done)
		pthread_cond_wait(&sv->cond, &sv->lock);
	pthread_mutex_unlock(&sv->lock);
	save_finish(s);
}

/* Save on this thread (shutdown, after the writer stopped). */
static void
save_now(struct notify_server *s)
{
	uint64_t start = clock_now_ms();
	const char *error;

	if (notify_registry_save(s->registry, s->regs_path, &error) < 0) {
		log_warnx("notify: %s", error);
		return;
	}
	s->save_ms = clock_now_ms() - start;
	s->regs_dirty = false;
	s->seen_dirty = false;
	s->seen_flushed = notify_now(s);
}

static int
saver_new(struct notify_server *s)
{
	struct notify_saver *sv = xcalloc(1, sizeof(*sv));
	sigset_t all, old;
	int rc;

	sv->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (sv->efd < 0) {
		free(sv);
		return -1;
	}
	sv->done_ev = event_new(s->deps.base, sv->efd, EV_READ | EV_PERSIST,
	    save_done_cb, s);
	if (sv->done_ev == NULL || event_add(sv->done_ev, NULL) < 0) {
		if (sv->done_ev != NULL)
			event_free(sv->done_ev);
		close(sv->efd);
		free(sv);
		return -1;
	}
	pthread_mutex_init(&sv->lock, NULL);
	pthread_cond_init(&sv->cond, NULL);
	s->saver = sv;
	/* Signals are the loop's: the writer starts with all blocked. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&sv->thread, NULL, saver_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errno = rc;
		s->saver = NULL;
		pthread_cond_destroy(&sv->cond);
		pthread_mutex_destroy(&sv->lock);
		event_free(sv->done_ev);
		close(sv->efd);
		free(sv);
		return -1;
	}
	return 0;
}

/* Wait for the save in flight and stop the writer. */
static void
saver_free(struct notify_server *s)
{
	struct notify_saver *sv = s->saver;

	if (sv == NULL)
		return;
	save_wait(s);
	pthread_mutex_lock(&sv->lock);
	sv->quit = true;
	pthread_cond_signal(&sv->cond);
	pthread_mutex_unlock(&sv->lock);
	pthread_join(sv->thread, NULL);
	s->saver = NULL;
	event_free(sv->done_ev);
	close(sv->efd);
	pthread_cond_destroy(&sv->cond);
	pthread_mutex_destroy(&sv->lock);
	job_unmap(&sv->job);
	free(sv->error);
	free(sv);
}

static void
save_cb(evutil_socket_t fd, short what, void *ctx)
{
	(void)fd;
	(void)what;
	save_start(ctx);
}

void
notify_server_changed(struct notify_server *s)
{
	/* Registrations made in one burst are written once, and a large
	 * file is rewritten at most a tenth of the time. */
	uint64_t ms = s->save_ms * 10 > 100 ? s->save_ms * 10 : 100;
	struct timeval tv;

	if (ms > 10000)
		ms = 10000;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	s->regs_dirty = true;
	mb_stats.notify_registrations = notify_registry_count(s->registry);
	if (s->save_ev != NULL && !evtimer_pending(s->save_ev, NULL))
		evtimer_add(s->save_ev, &tv);
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
}

enum notify_result
notify_server_register(struct notify_server *s, const char *user,
    const char *const *folders, size_t count,
    struct notify_registration *out)
{
	const char *error;
	struct notify_reg *reg;
	uint64_t tag;

	memset(out, 0, sizeof(*out));
	if (count > NOTIFY_REG_FOLDERS_MAX)
		return NOTIFY_LIMIT;
	pw_refresh(s);
	if (pw_tag(s, user, &tag) < 0)
		return NOTIFY_FAILED;
	if (notify_registry_add(s->registry, user, folders, count, s->epoch,
	    notify_now(s), &reg, &error) < 0) {
		log_debug("notify: %s: cannot register: %s", user, error);
		return error_code(error) == ERROR_LIMIT ? NOTIFY_LIMIT :
		    NOTIFY_FAILED;
	}
	reg->user->pwtag = tag;
	reg->user->pwtag_known = true;

	notify_reg_id_text(reg->id, out->id);
	EVP_EncodeBlock((unsigned char *)out->key, reg->secret,
	    NOTIFY_SECRET_LEN);
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

/* ---- Receiving (section 4.1) ---- */

static void
count_drop(enum notify_drop drop)
{
	switch (drop) {
	case NOTIFY_DROP_SIZE:
		mb_stats.notify_dropped_size_total++;
		break;
	case NOTIFY_DROP_VERSION:
		mb_stats.notify_dropped_version_total++;
		break;
	case NOTIFY_DROP_TYPE:
		mb_stats.notify_dropped_type_total++;
		break;
	case NOTIFY_DROP_ID:
		mb_stats.notify_dropped_id_total++;
		break;
	case NOTIFY_DROP_EPOCH:
		mb_stats.notify_dropped_epoch_total++;
		break;
	case NOTIFY_DROP_TAG:
		mb_stats.notify_dropped_tag_total++;
		break;
	case NOTIFY_DROP_REPLAY:
		mb_stats.notify_dropped_replay_total++;
		break;
	case NOTIFY_DROP_PAYLOAD:
	case NOTIFY_DROP_NONE:
		mb_stats.notify_dropped_payload_total++;
		break;
	}
}

/* At most NOTIFY_REG_RATE_PER_SEC authenticated datagrams a second are
 * acted on per registration (section 4.7). */
static bool
rate_ok(struct notify_reg *reg, uint32_t now)
{
	if (reg->rate_sec != now) {
		reg->rate_sec = now;
		reg->rate_count = 0;
	}
	if (reg->rate_count >= NOTIFY_REG_RATE_PER_SEC)
		return false;
	reg->rate_count++;
	return true;
}

/* CHALLENGE to an endpoint (verified or not) under the current epoch,
 * never larger than the limit bytes it answers. */
static void
send_challenge(struct notify_server *s, struct notify_reg *reg, size_t via,
    const struct sockaddr *from, const unsigned char *nonce, size_t limit,
    uint32_t now)
{
	struct notify_msg msg;

	memset(&msg, 0, sizeof(msg));
	msg.type = NOTIFY_TYPE_CHALLENGE;
	if (nonce != NULL)
		memcpy(msg.challenge.nonce, nonce, NOTIFY_NONCE_LEN);
	if (notify_cookie_make(s->cookie_key, reg->id, s->epoch, from, now,
	    msg.challenge.cookie) < 0)
		return;
	memcpy(&msg.challenge.observed, from,
	    from->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in));
	if (notify_send(s, reg, via, from, &msg, limit) == 0)
		mb_stats.notify_challenges_total++;
}

static void
send_status(struct notify_server *s, struct notify_reg *reg,
    const struct sockaddr *from, uint32_t now)
{
	struct notify_msg msg;
	uint32_t used = now - reg->last_seen;

	memset(&msg, 0, sizeof(msg));
	msg.type = NOTIFY_TYPE_STATUS;
	msg.status.keepalive = (uint16_t)s->keepalive;
	msg.status.flags = NOTIFY_STATUS_FLAG_VERIFIED;
	msg.status.lease = used < s->lease ? s->lease - used : 0;
	msg.status.last_event = reg->event_last;
	memcpy(&msg.status.observed, from,
	    from->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in));
	notify_send_verified(s, reg, &msg);
}

/* Whether addr reached by way via is reg's verified endpoint. */
static bool
is_verified_endpoint(const struct notify_reg *reg, size_t via,
    const unsigned char addr[NOTIFY_ADDR_LEN])
{
	return (reg->flags & NOTIFY_REG_VERIFIED) && reg->via == via &&
	    memcmp(reg->addr, addr, NOTIFY_ADDR_LEN) == 0;
}

static void
handle_datagram(struct notify_server *s, size_t via,
    const unsigned char *data, size_t len, const struct sockaddr *from)
{
	unsigned char plain[NOTIFY_PAYLOAD_MAX];
	unsigned char addr[NOTIFY_ADDR_LEN];
	struct notify_header hdr;
	struct notify_keys keys;
	struct notify_replay win;
	struct notify_msg msg;
	struct notify_reg *reg;
	enum notify_drop drop;
	uint32_t now;
	size_t plen;
	bool old_epoch, newest = false;
	int rc;

	/* 1: size, version, type; 2: the id */
	if (notify_proto_peek(data, len, NOTIFY_DIR_C2S, &hdr, &drop) < 0)
		goto dropped;
	reg = notify_registry_find(s->registry, hdr.id);
	if (reg == NULL) {
		drop = NOTIFY_DROP_ID;
		goto dropped;
	}
	/* 3: the epoch; an earlier one of this registration only for
	 * HELLO and KEEPALIVE, to tell the client of a restart (4.5). */
	old_epoch = hdr.epoch != s->epoch;
	if (old_epoch && (hdr.epoch > s->epoch ||
	    hdr.epoch < reg->created_epoch ||
	    (hdr.type != NOTIFY_TYPE_HELLO &&
	    hdr.type != NOTIFY_TYPE_KEEPALIVE))) {
		drop = NOTIFY_DROP_EPOCH;
		goto dropped;
	}
	if (!old_epoch && (reg->flags & NOTIFY_REG_VERIFIED))
		notify_reg_keys(reg, NOTIFY_DIR_C2S, s->epoch, &keys);
	else if (notify_keys_derive(reg->secret, NOTIFY_DIR_C2S, hdr.epoch,
	    &keys) < 0) {
		drop = NOTIFY_DROP_TAG;
		goto dropped;
	}
	/* 4: the tag */
	rc = notify_proto_open(&keys, data, len, &hdr, plain, &plen, &drop);
	notify_keys_wipe(&keys);
	if (rc < 0)
		goto dropped;
	/* 5: the replay window (of the current epoch; an old epoch's
	 * datagram changes nothing and earns one CHALLENGE no larger
	 * than itself) */
	notify_reg_replay_get(reg, &win);
	if (!old_epoch) {
		if (!notify_replay_check(&win, hdr.pn)) {
			drop = NOTIFY_DROP_REPLAY;
			goto dropped;
		}
		newest = !win.any || hdr.pn > win.top;
	}
	if (notify_proto_decode(hdr.type, plain, plen, &msg, &drop) < 0 ||
	    notify_addr_encode(from, addr) < 0)
		goto dropped;
	now = notify_now(s);
	if (!rate_ok(reg, now)) {
		mb_stats.notify_dropped_rate_total++;
		goto out;
	}

	if (old_epoch) {
		send_challenge(s, reg, via, from,
		    hdr.type == NOTIFY_TYPE_HELLO ? msg.hello.nonce : NULL,
		    len, now);
		goto out;
	}
	notify_replay_commit(&win, hdr.pn);
	notify_reg_replay_set(reg, &win);
	reg->last_seen = now;
	s->seen_dirty = true;

	switch (hdr.type) {
	case NOTIFY_TYPE_HELLO:
		send_challenge(s, reg, via, from, msg.hello.nonce, len, now);
		break;
	case NOTIFY_TYPE_VERIFY:
		if (!notify_cookie_verify(s->cookie_key, reg->id, s->epoch,
		    from, now, msg.verify.cookie)) {
			mb_stats.notify_dropped_cookie_total++;
			break;
		}
		if (is_verified_endpoint(reg, via, addr)) {
			send_status(s, reg, from, now);
			break;
		}
		/* Only the newest datagram may move the endpoint. */
		if ((reg->flags & NOTIFY_REG_VERIFIED) && !newest)
			break;
		if (notify_reg_verify(reg, s->epoch, (uint8_t)via, addr) < 0)
			break;
		mb_stats.notify_verifications_total++;
		send_status(s, reg, from, now);
		notify_events_moved(s, reg);
		break;
	case NOTIFY_TYPE_KEEPALIVE:
		notify_events_ack(s, reg, msg.keepalive.ack);
		if (is_verified_endpoint(reg, via, addr))
			send_status(s, reg, from, now);
		else if (newest)
			send_challenge(s, reg, via, from, NULL, len, now);
		break;
	case NOTIFY_TYPE_ACK:
		notify_events_ack(s, reg, msg.ack.ack);
		break;
	default:
		break;
	}
	goto out;
dropped:
	count_drop(drop);
out:
	OPENSSL_cleanse(plain, sizeof(plain));
}

/* The way a datagram came in: the socket's own, or for a wildcard
 * socket the one for the local address it was sent to (interned; the
 * socket's own if the table is full or the address is missing). */
static size_t
via_of(struct notify_server *s, size_t sock, const struct msghdr *mh)
{
	const struct notify_sock *ns = &s->socks[sock];
	struct notify_via want;
	struct cmsghdr *cm;
	bool found = false;
	size_t i;

	if (!ns->wildcard)
		return ns->via;
	memset(&want, 0, sizeof(want));
	for (cm = CMSG_FIRSTHDR((struct msghdr *)mh); cm != NULL;
	    cm = CMSG_NXTHDR((struct msghdr *)mh, cm)) {
		if (cm->cmsg_level == IPPROTO_IP &&
		    cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			want.local4 = pi.ipi_addr;
			found = true;
		} else if (cm->cmsg_level == IPPROTO_IPV6 &&
		    cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			want.local6 = pi.ipi6_addr;
			found = true;
		}
	}
	if (!found)
		return ns->via;
	want.sock = (uint8_t)sock;
	want.has_local = true;
	for (i = 0; i < s->nvias; i++)
		if (memcmp(&s->vias[i], &want, sizeof(want)) == 0)
			return i;
	if (s->nvias == NOTIFY_VIAS_MAX)
		return ns->via;
	s->vias[s->nvias] = want;
	return s->nvias++;
}

static void
read_cb(evutil_socket_t fd, short what, void *ctx)
{
	struct notify_server *s = ctx;
	struct notify_in *in = s->in;
	size_t sock, budget = NOTIFY_READ_BUDGET;
	int i, n;

	(void)what;
	for (sock = 0; sock < s->nsocks; sock++)
		if (s->socks[sock].fd == fd)
			break;
	if (sock == s->nsocks)
		return;
	while (budget > 0) {
		for (i = 0; i < NOTIFY_BATCH; i++) {
			memset(&in->msgs[i], 0, sizeof(in->msgs[i]));
			in->iov[i].iov_base = in->data[i];
			in->iov[i].iov_len = sizeof(in->data[i]);
			in->msgs[i].msg_hdr.msg_iov = &in->iov[i];
			in->msgs[i].msg_hdr.msg_iovlen = 1;
			in->msgs[i].msg_hdr.msg_name = &in->from[i];
			in->msgs[i].msg_hdr.msg_namelen = sizeof(in->from[i]);
			if (s->socks[sock].wildcard) {
				in->msgs[i].msg_hdr.msg_control = in->ctrl[i];
				in->msgs[i].msg_hdr.msg_controllen =
				    sizeof(in->ctrl[i]);
			}
		}
		n = recvmmsg(fd, in->msgs, NOTIFY_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				log_debug("notify: receive: %s",
				    strerror(errno));
			break;
		}
		for (i = 0; i < n; i++) {
			const struct mmsghdr *m = &in->msgs[i];

			mb_stats.notify_datagrams_received_total++;
			if ((m->msg_hdr.msg_flags & MSG_TRUNC) ||
			    m->msg_len > NOTIFY_DATAGRAM_MAX) {
				mb_stats.notify_dropped_size_total++;
				continue;
			}
			handle_datagram(s, via_of(s, sock, &m->msg_hdr),
			    in->data[i], m->msg_len,
			    (const struct sockaddr *)&in->from[i]);
		}
		notify_flush(s);
		budget -= (size_t)n < budget ? (size_t)n : budget;
		if (n < NOTIFY_BATCH)
			break;
	}
	notify_flush(s);
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
		save_start(s);
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
	size_t skipped;

	s = xcalloc(1, sizeof(*s));
	s->deps = *deps;
	s->clock = deps->clock != NULL ? deps->clock : &clock_monotonic;
	s->deps.clock = s->clock;
	s->clock_base_ms = s->sweep_ms = notify_now_ms(s);
	s->unix_base = now_unix();
	s->keepalive = deps->cfg->notify_keepalive;
	s->lease = deps->cfg->notify_lease;
	s->dir = xasprintf("%s/notify", deps->cfg->data_dir);
	s->regs_path = xasprintf("%s/registrations", s->dir);
	s->epoch_path = xasprintf("%s/epoch", s->dir);
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
	s->registry = notify_registry_new(
	    deps->cfg->notify_max_registrations_per_user,
	    deps->cfg->notify_max_registrations);
	notify_registry_set_release_cb(s->registry, release_cb, s);
	if (notify_registry_load(s->registry, s->regs_path, &skipped,
	    &error) < 0)
		log_warnx("notify: %s; starting without registrations", error);
	else if (skipped > 0)
		log_warnx("notify: %s: %zu registrations skipped (unreadable "
		    "or over a limit)", s->regs_path, skipped);
	s->out = xcalloc(1, sizeof(*s->out));
	s->out->sock = -1;
	s->in = xcalloc(1, sizeof(*s->in));
	s->save_ev = evtimer_new(deps->base, save_cb, s);
	s->sweep_ev = event_new(deps->base, -1, EV_PERSIST, sweep_cb, s);
	if (saver_new(s) < 0) {
		*error_r = error_fmt("cannot start the registrations writer: "
		    "%s", strerror(errno));
		goto fail;
	}
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
	ns->ev = event_new(s->deps.base, fd, EV_READ | EV_PERSIST, read_cb, s);
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
	saver_free(s);
	if (s->registry != NULL && (s->regs_dirty || s->seen_dirty))
		save_now(s);
	if (s->save_ev != NULL)
		event_free(s->save_ev);
	if (s->sweep_ev != NULL)
		event_free(s->sweep_ev);
	notify_registry_free(&s->registry);
	notify_events_free(s);
	free(s->out);
	free(s->in);
	OPENSSL_cleanse(s->cookie_key, sizeof(s->cookie_key));
	free(s->dir);
	free(s->regs_path);
	free(s->epoch_path);
	free(s);
}
