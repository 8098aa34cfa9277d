/*
 * Unit tests for the notifier's timing in simulated time: the resend
 * schedule of unacknowledged EVENTs, acknowledgement, lease expiry,
 * what keepalives keep, and the sweep that ends the registrations of a
 * changed password or a deleted user. A real server on a loopback
 * socket and a real store send real datagrams; only the clock is
 * simulated, and the test turns the server's timers itself
 * (notify_server_tick()), so nothing waits for real time. Also the
 * receive path under floods: forged datagrams and replays of an old
 * epoch's cost no key derivation and spend no budget of the client's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "directory/directory.h"
#include "lib/base64.h"
#include "lib/clock.h"
#include "lib/config.h"
#include "lib/fsutil.h"
#include "lib/stats.h"
#include "lib/xmalloc.h"
#include "notify/notify-private.h"
#include "store/store.h"

#define LEASE 600
#define KEEPALIVE 25
#define STEP_MS NOTIFY_WHEEL_TICK_MS

struct fixture {
	char dir[64];
	struct mb_config cfg;
	struct clock_sim sim;
	struct clock clock;
	struct directory *directory;
	struct event_base *base;
	struct store *store;
	struct notify_deps deps;
	struct notify_server *server;
	struct sockaddr_in server_addr;
	/* The client: one registration on one socket. */
	int fd;
	uint64_t id;
	unsigned char secret[NOTIFY_SECRET_LEN];
	uint32_t epoch;
	uint64_t pn;
	struct notify_keys c2s, s2c;
};

/* Start the server on f->server_addr (port 0: any, then filled in). */
static void
server_start(struct fixture *f)
{
	socklen_t len = sizeof(f->server_addr);
	const char *error = NULL;
	int sfd;

	f->server = notify_server_new(&f->deps, &error);
	assert_non_null(f->server);
	sfd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	f->server_addr.sin_family = AF_INET;
	f->server_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(sfd, (struct sockaddr *)&f->server_addr,
	    sizeof(f->server_addr)), 0);
	assert_int_equal(getsockname(sfd, (struct sockaddr *)&f->server_addr,
	    &len), 0);
	assert_int_equal(notify_server_listen(f->server, sfd,
	    ntohs(f->server_addr.sin_port)), 0);
}

/* The client's keys of epoch, packet numbers from 0. */
static void
client_keys(struct fixture *f, uint32_t epoch)
{
	f->epoch = epoch;
	f->pn = 0;
	assert_int_equal(notify_keys_derive(f->secret, NOTIFY_DIR_C2S,
	    f->epoch, &f->c2s), 0);
	assert_int_equal(notify_keys_derive(f->secret, NOTIFY_DIR_S2C,
	    f->epoch, &f->s2c), 0);
}

static struct fixture *
fixture_new(void)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct notify_registration reg;
	unsigned char *secret;
	size_t secret_len;
	char *path, *mail;

	snprintf(f->dir, sizeof(f->dir), "/tmp/mb-notify-server-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	path = xasprintf("%s/passwd", f->dir);
	assert_int_equal(write_file_atomic(path, "alice:{PLAIN}pw\n", 16,
	    0600), 0);
	mail = xasprintf("%s/mail", f->dir);
	assert_int_equal(mkdir_p(mail, 0700), 0);
	f->cfg.data_dir = f->dir;
	f->cfg.notify_keepalive = KEEPALIVE;
	f->cfg.notify_lease = LEASE;
	f->cfg.notify_max_registrations_per_user = 16;
	f->cfg.notify_max_registrations = 100;
	f->base = event_base_new();
	f->store = store_new(mail, "h");
	f->directory = directory_open(path);
	clock_sim_init(&f->sim, 1000000);
	f->clock = clock_sim_clock(&f->sim);
	f->deps.base = f->base;
	f->deps.cfg = &f->cfg;
	f->deps.store = f->store;
	f->deps.directory = f->directory;
	f->deps.clock = &f->clock;
	server_start(f);
	free(path);
	free(mail);

	assert_int_equal(notify_server_register(f->server, "alice", NULL, 0,
	    &reg), NOTIFY_OK);
	assert_int_equal(reg.lease, LEASE);
	assert_int_equal(reg.keepalive, KEEPALIVE);
	assert_int_equal(notify_reg_id_parse(reg.id, &f->id), 0);
	assert_int_equal(base64_decode(reg.key, strlen(reg.key), &secret,
	    &secret_len), 0);
	assert_int_equal(secret_len, NOTIFY_SECRET_LEN);
	memcpy(f->secret, secret, NOTIFY_SECRET_LEN);
	free(secret);
	client_keys(f, reg.epoch);

	f->fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(connect(f->fd, (struct sockaddr *)&f->server_addr,
	    sizeof(f->server_addr)), 0);
	return f;
}

static void
fixture_free(struct fixture *f)
{
	char *cmd;

	close(f->fd);
	notify_server_free(&f->server);
	directory_free(&f->directory);
	store_free(&f->store);
	event_base_free(f->base);
	cmd = xasprintf("rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(f);
}

/* The simulated time now. */
static uint64_t
now(const struct fixture *f)
{
	return clock_ms(&f->clock);
}

/* Let the server's loop run what is ready, without waiting. */
static void
pump(struct fixture *f)
{
	event_base_loop(f->base, EVLOOP_NONBLOCK);
}

static void
client_send(struct fixture *f, const struct notify_msg *msg)
{
	unsigned char out[NOTIFY_DATAGRAM_MAX];
	size_t len;

	assert_int_equal(notify_proto_build(&f->c2s, f->id, f->pn++, msg, out,
	    sizeof(out), &len), 0);
	assert_int_equal(send(f->fd, out, len, 0), (ssize_t)len);
	pump(f);
}

/* The next datagram for the client: 1 with *msg_r and *pn_r, or 0 if
 * none came within wait_ms (real time; a loopback datagram is queued
 * by the time the server's send returns, so 0 is enough to see none). */
static int
client_recv(struct fixture *f, int wait_ms, struct notify_msg *msg_r,
    uint64_t *pn_r)
{
	unsigned char in[NOTIFY_DATAGRAM_MAX], plain[NOTIFY_PAYLOAD_MAX];
	struct pollfd pfd = { f->fd, POLLIN, 0 };
	struct notify_header hdr;
	enum notify_drop drop;
	size_t plen;
	ssize_t n;

	if (poll(&pfd, 1, wait_ms) <= 0)
		return 0;
	n = recv(f->fd, in, sizeof(in), MSG_DONTWAIT);
	if (n < 0)
		return 0;
	assert_int_equal(notify_proto_open(&f->s2c, in, (size_t)n, &hdr,
	    plain, &plen, &drop), 0);
	assert_int_equal(hdr.id, f->id);
	assert_int_equal(notify_proto_decode(hdr.type, plain, plen, msg_r,
	    &drop), 0);
	if (pn_r != NULL)
		*pn_r = hdr.pn;
	return 1;
}

static void
expect(struct fixture *f, enum notify_type type, struct notify_msg *msg_r)
{
	struct notify_msg msg;

	assert_int_equal(client_recv(f, 1000, &msg, NULL), 1);
	assert_int_equal(msg.type, type);
	if (msg_r != NULL)
		*msg_r = msg;
}

static void
expect_nothing(struct fixture *f)
{
	struct notify_msg msg;

	assert_int_equal(client_recv(f, 0, &msg, NULL), 0);
}

static void
send_keepalive(struct fixture *f, uint64_t ack)
{
	struct notify_msg msg;

	memset(&msg, 0, sizeof(msg));
	msg.type = NOTIFY_TYPE_KEEPALIVE;
	msg.keepalive.ack = ack;
	client_send(f, &msg);
}

/* HELLO, CHALLENGE, VERIFY, STATUS. */
static void
handshake(struct fixture *f)
{
	struct notify_msg msg, ch, st;

	memset(&msg, 0, sizeof(msg));
	msg.type = NOTIFY_TYPE_HELLO;
	memcpy(msg.hello.nonce, "nonce-01", NOTIFY_NONCE_LEN);
	client_send(f, &msg);
	expect(f, NOTIFY_TYPE_CHALLENGE, &ch);
	memset(&msg, 0, sizeof(msg));
	msg.type = NOTIFY_TYPE_VERIFY;
	memcpy(msg.verify.cookie, ch.challenge.cookie, NOTIFY_COOKIE_LEN);
	client_send(f, &msg);
	expect(f, NOTIFY_TYPE_STATUS, &st);
	assert_int_equal(st.status.flags, NOTIFY_STATUS_FLAG_VERIFIED);
	assert_int_equal(st.status.keepalive, KEEPALIVE);
	assert_int_equal(st.status.lease, LEASE);
}

/* A message delivered to alice's INBOX, as the store announces it. */
static void
deliver(struct fixture *f, uint32_t uid)
{
	store_announce(f->store, "alice", "INBOX", 7, uid);
	pump(f);
}

/* Advance the simulated clock by ms in wheel ticks, turning the timers
 * at each; record the EVENTs that arrive (simulated time, number and
 * packet number), at most max. Returns how many arrived. */
struct arrival {
	uint64_t ms;
	uint64_t number;
	uint64_t pn;
};

static size_t
run_for(struct fixture *f, uint64_t ms, struct arrival *arr, size_t max)
{
	uint64_t end = now(f) + ms;
	struct notify_msg msg;
	size_t n = 0;
	uint64_t pn;

	while (now(f) < end) {
		clock_sim_advance(&f->sim, STEP_MS);
		notify_server_tick(f->server);
		pump(f);
		while (client_recv(f, 0, &msg, &pn) == 1) {
			assert_int_equal(msg.type, NOTIFY_TYPE_EVENT);
			assert_true(n < max);
			arr[n].ms = now(f);
			arr[n].number = msg.event.number;
			arr[n].pn = pn;
			n++;
		}
	}
	return n;
}

/* Unacknowledged, an EVENT goes out five times in all, 1, 2, 4 and 8 s
 * after the send before (never early, at most 25% late, to the wheel's
 * tick), with the same number and a fresh packet number each time. */
static void
test_resend_schedule(void **state)
{
	static const uint64_t base[] = { 1000, 2000, 4000, 8000 };
	struct fixture *f = fixture_new();
	struct arrival arr[8];
	struct notify_msg msg, st;
	size_t n, i, j;

	(void)state;
	handshake(f);
	deliver(f, 1);
	assert_int_equal(client_recv(f, 1000, &msg, &arr[0].pn), 1);
	assert_int_equal(msg.type, NOTIFY_TYPE_EVENT);
	assert_int_equal(msg.event.number, 1);
	assert_int_equal(msg.event.type, NOTIFY_EVENT_MESSAGE_NEW);
	assert_int_equal(msg.event.uid, 1);
	assert_int_equal(msg.event.uidvalidity, 7);
	assert_string_equal(msg.event.folder, "INBOX");
	arr[0].ms = now(f);
	arr[0].number = 1;
	/* and nothing after the fifth, however long */
	n = 1 + run_for(f, 60000, arr + 1, 7);
	assert_int_equal(n, NOTIFY_EVENT_SENDS);
	for (i = 1; i < n; i++) {
		uint64_t gap = arr[i].ms - arr[i - 1].ms;

		assert_int_equal(arr[i].number, 1);
		assert_true(gap >= base[i - 1]);
		assert_true(gap <= base[i - 1] + base[i - 1] / 4 +
		    NOTIFY_WHEEL_TICK_MS);
		for (j = 0; j < i; j++)
			assert_int_not_equal(arr[i].pn, arr[j].pn);
	}
	/* STATUS tells what was sent */
	send_keepalive(f, 0);
	expect(f, NOTIFY_TYPE_STATUS, &st);
	assert_int_equal(st.status.last_event, 1);
	fixture_free(f);
}

/* A KEEPALIVE's or an ACK's acknowledgement ends the resends. */
static void
test_ack_stops_resends(void **state)
{
	struct fixture *f = fixture_new();
	struct arrival arr[8];
	struct notify_msg msg;

	(void)state;
	handshake(f);
	deliver(f, 1);
	expect(f, NOTIFY_TYPE_EVENT, &msg);
	send_keepalive(f, 1);
	expect(f, NOTIFY_TYPE_STATUS, &msg);
	assert_int_equal(msg.status.last_event, 1);
	assert_int_equal(run_for(f, 30000, arr, 8), 0);

	deliver(f, 2);
	expect(f, NOTIFY_TYPE_EVENT, &msg);
	assert_int_equal(msg.event.number, 2);
	/* one resend, then the ACK */
	assert_int_equal(run_for(f, 1300, arr, 8), 1);
	assert_int_equal(arr[0].number, 2);
	memset(&msg, 0, sizeof(msg));
	msg.type = NOTIFY_TYPE_ACK;
	msg.ack.ack = 2;
	client_send(f, &msg);
	expect_nothing(f);
	assert_int_equal(run_for(f, 30000, arr, 8), 0);
	fixture_free(f);
}

/* A registration ends once its lease ran out after the last datagram,
 * at the next sweep (every NOTIFY_SWEEP_SECS); any authenticated
 * datagram renews it. */
static void
test_lease_expiry(void **state)
{
	struct fixture *f = fixture_new();
	struct arrival arr[1];
	uint64_t start = now(f);

	(void)state;
	handshake(f);
	/* a keepalive at 400 s runs the lease from there */
	run_for(f, 400000, arr, 0);
	send_keepalive(f, 0);
	assert_int_equal(client_recv(f, 1000, &(struct notify_msg){ 0 },
	    NULL), 1);
	run_for(f, LEASE * 1000, arr, 0);
	assert_int_equal(notify_server_registrations(f->server), 1);
	while (notify_server_registrations(f->server) == 1 &&
	    now(f) - start < 2000000)
		run_for(f, 1000, arr, 0);
	assert_int_equal(notify_server_registrations(f->server), 0);
	assert_true(now(f) - start > (400 + LEASE) * 1000);
	assert_true(now(f) - start <= (400 + LEASE + NOTIFY_SWEEP_SECS + 1) *
	    1000);
	/* gone: a keepalive gets nothing */
	send_keepalive(f, 0);
	expect_nothing(f);
	fixture_free(f);
}

/* Keepalives keep the endpoint verified; after NOTIFY_SILENCE_INTERVALS
 * keepalive intervals of silence it is forgotten: no EVENTs go to it,
 * and its next keepalive is challenged. */
static void
test_silence_forgets_endpoint(void **state)
{
	struct fixture *f = fixture_new();
	struct arrival arr[1];
	struct notify_msg msg;
	uint64_t silence = KEEPALIVE * NOTIFY_SILENCE_INTERVALS * 1000;

	(void)state;
	handshake(f);
	/* just under the silence: still verified */
	run_for(f, silence - 5000, arr, 0);
	send_keepalive(f, 0);
	expect(f, NOTIFY_TYPE_STATUS, &msg);
	/* past it, and a sweep later */
	run_for(f, silence + (NOTIFY_SWEEP_SECS + 1) * 1000, arr, 0);
	deliver(f, 1);
	expect_nothing(f);
	send_keepalive(f, 0);
	expect(f, NOTIFY_TYPE_CHALLENGE, NULL);
	assert_int_equal(notify_server_registrations(f->server), 1);
	fixture_free(f);
}

/* Replace the passwd file with text (a new inode: the directory sees
 * the change at its next look). */
static void
write_passwd(struct fixture *f, const char *text)
{
	char *path = xasprintf("%s/passwd", f->dir);

	assert_int_equal(write_file_atomic(path, text, strlen(text), 0600),
	    0);
	free(path);
}

/* The next sweep (within NOTIFY_SWEEP_SECS) ends the registrations of
 * a user whose password changed or who was deleted; an unchanged user
 * keeps them. */
static void
test_password_change_and_deletion(void **state)
{
	struct fixture *f = fixture_new();
	struct notify_registration reg;
	struct arrival arr[1];

	(void)state;
	handshake(f);
	write_passwd(f, "alice:{PLAIN}pw\nbob:{PLAIN}b\n");
	assert_int_equal(notify_server_register(f->server, "bob", NULL, 0,
	    &reg), NOTIFY_OK);
	run_for(f, (NOTIFY_SWEEP_SECS + 1) * 1000, arr, 0);
	assert_int_equal(notify_server_registrations(f->server), 2);

	write_passwd(f, "alice:{PLAIN}other\nbob:{PLAIN}b\n");
	run_for(f, (NOTIFY_SWEEP_SECS + 1) * 1000, arr, 0);
	assert_int_equal(notify_server_registrations(f->server), 1);
	send_keepalive(f, 0);
	expect_nothing(f);

	write_passwd(f, "alice:{PLAIN}other\n");
	run_for(f, (NOTIFY_SWEEP_SECS + 1) * 1000, arr, 0);
	assert_int_equal(notify_server_registrations(f->server), 0);
	fixture_free(f);
}

/* A socket of an attacker's, sending to the server from its own port. */
static int
attacker_socket(struct fixture *f)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	assert_int_equal(connect(fd, (struct sockaddr *)&f->server_addr,
	    sizeof(f->server_addr)), 0);
	return fd;
}

/* Send dgram count times from fd, letting the server read them as they
 * come (a bounded flood: the socket buffer never overflows). */
static void
flood(struct fixture *f, int fd, const unsigned char *dgram, size_t len,
    unsigned count)
{
	unsigned i;

	for (i = 0; i < count; i++) {
		assert_int_equal(send(fd, dgram, len, 0), (ssize_t)len);
		if (i % NOTIFY_BATCH == NOTIFY_BATCH - 1)
			pump(f);
	}
	pump(f);
}

#define FLOOD 2000

/* Forged datagrams naming a registration whose endpoint is not
 * verified cost no key derivation (the keys were derived when it was
 * made) and spend nothing of the real client's: it stays on UDP. */
static void
test_forged_flood_derives_nothing(void **state)
{
	struct fixture *f = fixture_new();
	struct notify_registration reg;
	struct notify_keys bogus;
	struct notify_msg msg;
	unsigned char d[NOTIFY_DATAGRAM_MAX], key[NOTIFY_SECRET_LEN];
	uint64_t id, derivations, tags;
	size_t len;
	int fd;

	(void)state;
	handshake(f);
	assert_int_equal(notify_server_register(f->server, "alice", NULL, 0,
	    &reg), NOTIFY_OK);
	assert_int_equal(notify_reg_id_parse(reg.id, &id), 0);
	memset(key, 0x5a, sizeof(key));
	assert_int_equal(notify_keys_derive(key, NOTIFY_DIR_C2S, f->epoch,
	    &bogus), 0);
	memset(&msg, 0, sizeof(msg));
	msg.type = NOTIFY_TYPE_HELLO;
	assert_int_equal(notify_proto_build(&bogus, id, 0, &msg, d,
	    sizeof(d), &len), 0);

	derivations = mb_stats.notify_key_derivations_total;
	tags = mb_stats.notify_dropped_tag_total;
	fd = attacker_socket(f);
	flood(f, fd, d, len, FLOOD);
	assert_int_equal(mb_stats.notify_dropped_tag_total - tags, FLOOD);
	assert_int_equal(mb_stats.notify_key_derivations_total, derivations);
	/* and the same at the verified one's id */
	assert_int_equal(notify_proto_build(&bogus, f->id, 0, &msg, d,
	    sizeof(d), &len), 0);
	flood(f, fd, d, len, FLOOD);
	assert_int_equal(mb_stats.notify_key_derivations_total, derivations);
	send_keepalive(f, 0);
	expect(f, NOTIFY_TYPE_STATUS, NULL);
	deliver(f, 1);
	expect(f, NOTIFY_TYPE_EVENT, NULL);
	close(fd);
	fixture_free(f);
}

/* Replays of a datagram captured before a restart authenticate under
 * the old epoch; a flood of them from another endpoint costs one
 * derivation in all and spends that endpoint's budget, not the
 * client's: in the same second its keepalive is answered and its
 * EVENT arrives. */
static void
test_old_epoch_replays_spend_no_client_budget(void **state)
{
	struct fixture *f = fixture_new();
	struct notify_msg msg;
	unsigned char old[NOTIFY_DATAGRAM_MAX];
	uint64_t derivations, rate;
	size_t len;
	int fd;

	(void)state;
	handshake(f);
	memset(&msg, 0, sizeof(msg));
	msg.type = NOTIFY_TYPE_KEEPALIVE;
	assert_int_equal(notify_proto_build(&f->c2s, f->id, f->pn++, &msg,
	    old, sizeof(old), &len), 0);
	/* the restart: a new epoch, the registration kept */
	notify_server_free(&f->server);
	server_start(f);
	assert_int_equal(notify_server_epoch(f->server), f->epoch + 1);
	client_keys(f, f->epoch + 1);
	handshake(f);

	derivations = mb_stats.notify_key_derivations_total;
	rate = mb_stats.notify_dropped_rate_total;
	fd = attacker_socket(f);
	flood(f, fd, old, len, FLOOD);
	assert_true(mb_stats.notify_key_derivations_total - derivations <= 1);
	assert_true(mb_stats.notify_dropped_rate_total - rate >=
	    FLOOD - 2 * NOTIFY_ENDPOINT_RATE_PER_SEC);
	send_keepalive(f, 0);
	expect(f, NOTIFY_TYPE_STATUS, NULL);
	deliver(f, 1);
	expect(f, NOTIFY_TYPE_EVENT, NULL);
	close(fd);
	fixture_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resend_schedule),
		cmocka_unit_test(test_ack_stops_resends),
		cmocka_unit_test(test_lease_expiry),
		cmocka_unit_test(test_silence_forgets_endpoint),
		cmocka_unit_test(test_password_change_and_deletion),
		cmocka_unit_test(test_forged_flood_derives_nothing),
		cmocka_unit_test(test_old_epoch_replays_spend_no_client_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
