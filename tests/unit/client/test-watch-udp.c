/* Unit tests for the client's side of the notification datagrams
 * (src/client/watch-udp.c) against datagrams sealed here with the
 * server's keys over a socket pair: the registration response, VERIFY
 * in answer to CHALLENGE, the verified flag, cumulative acks, gaps,
 * duplicates, replays, forgeries, a new epoch and an old one; and the
 * From/Subject decoding and event lines of src/client/watch-out.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "client/imap-client.h"
#include "client/watch-out.h"
#include "client/watch-udp.h"

#define REG_ID UINT64_C(0x0102030405060708)
#define REG_EPOCH 7

/* ---- helpers ---- */

struct pair {
	struct watch_udp u;		/* the client, on sv[0] */
	int server;			/* sv[1] */
	uint64_t pn;			/* the server's next packet number */
	uint32_t epoch;
	struct watch_reg reg;
};

static void
pair_setup(struct pair *p)
{
	int sv[2];
	size_t i;

	memset(p, 0, sizeof(*p));
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	p->u.fd = sv[0];
	p->server = sv[1];
	p->epoch = REG_EPOCH;
	p->reg.valid = true;
	p->reg.version = 1;
	p->reg.id = REG_ID;
	snprintf(p->reg.id_hex, sizeof(p->reg.id_hex), "0102030405060708");
	for (i = 0; i < NOTIFY_SECRET_LEN; i++)
		p->reg.secret[i] = (unsigned char)i;
	p->reg.port = 4143;
	p->reg.keepalive = 25;
	p->reg.epoch = REG_EPOCH;
	assert_int_equal(watch_udp_set_reg(&p->u, &p->reg), 0);
}

static void
pair_teardown(struct pair *p)
{
	close(p->server);
	watch_udp_close(&p->u);
}

static struct sockaddr_storage
addr4(const char *a, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	inet_pton(AF_INET, a, &sin->sin_addr);
	return ss;
}

/* Seal msg as the server under epoch and send it to the client; returns
 * the datagram's length. */
static size_t
server_send_epoch(struct pair *p, uint32_t epoch, const struct notify_msg *msg,
    unsigned char *copy_r)
{
	struct notify_keys k;
	unsigned char out[NOTIFY_DATAGRAM_MAX];
	size_t len;

	assert_int_equal(notify_keys_derive(p->reg.secret, NOTIFY_DIR_S2C,
	    epoch, &k), 0);
	assert_int_equal(notify_proto_build(&k, REG_ID, p->pn++, msg, out,
	    sizeof(out), &len), 0);
	assert_int_equal(send(p->server, out, len, 0), (ssize_t)len);
	if (copy_r != NULL)
		memcpy(copy_r, out, len);
	return len;
}

static size_t
server_send(struct pair *p, const struct notify_msg *msg)
{
	return server_send_epoch(p, p->epoch, msg, NULL);
}

/* Read one datagram the client sent, open it under epoch. */
static void
server_recv(struct pair *p, uint32_t epoch, struct notify_header *hdr_r,
    struct notify_msg *msg_r)
{
	unsigned char dg[NOTIFY_DATAGRAM_MAX + 1], plain[NOTIFY_PAYLOAD_MAX];
	struct notify_keys k;
	enum notify_drop drop;
	size_t plain_len;
	ssize_t n;

	n = recv(p->server, dg, sizeof(dg), MSG_DONTWAIT);
	assert_true(n > 0);
	assert_int_equal(notify_keys_derive(p->reg.secret, NOTIFY_DIR_C2S,
	    epoch, &k), 0);
	assert_int_equal(notify_proto_open(&k, dg, (size_t)n, hdr_r, plain,
	    &plain_len, &drop), 0);
	assert_int_equal(notify_proto_decode(hdr_r->type, plain, plain_len,
	    msg_r, &drop), 0);
}

static bool
server_nothing(struct pair *p)
{
	unsigned char dg[NOTIFY_DATAGRAM_MAX];

	return recv(p->server, dg, sizeof(dg), MSG_DONTWAIT) < 0;
}

static void
msg_status(struct notify_msg *m, uint16_t flags, uint64_t last_event)
{
	memset(m, 0, sizeof(*m));
	m->type = NOTIFY_TYPE_STATUS;
	m->status.keepalive = 25;
	m->status.flags = flags;
	m->status.lease = 604800;
	m->status.last_event = last_event;
	m->status.observed = addr4("192.0.2.1", 40000);
}

static void
msg_event(struct notify_msg *m, uint64_t number, uint32_t uid)
{
	memset(m, 0, sizeof(*m));
	m->type = NOTIFY_TYPE_EVENT;
	m->event.number = number;
	m->event.type = NOTIFY_EVENT_MESSAGE_NEW;
	m->event.uidvalidity = 1700000000;
	m->event.uid = uid;
	m->event.uidnext = uid + 1;
	m->event.folder_len = 5;
	memcpy(m->event.folder, "INBOX", 6);
}

static void
msg_challenge(struct notify_msg *m, unsigned char fill)
{
	memset(m, 0, sizeof(*m));
	m->type = NOTIFY_TYPE_CHALLENGE;
	memset(m->challenge.cookie, fill, sizeof(m->challenge.cookie));
	m->challenge.observed = addr4("192.0.2.1", 40000);
}

/* ---- registration ---- */

static struct imap_client_arg
atom(const char *s)
{
	struct imap_client_arg a = { IMAP_CLIENT_ARG_ATOM, (char *)s,
	    strlen(s), NULL, 0 };

	return a;
}

static struct imap_client_arg
string(const char *s)
{
	struct imap_client_arg a = atom(s);

	a.type = IMAP_CLIENT_ARG_STRING;
	return a;
}

static void
test_registration_parsed(void **state)
{
	struct imap_client_arg items[] = {
		atom("VERSION"), atom("1"),
		atom("ID"), string("0102030405060708"),
		atom("KEY"), string(
		    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="),
		atom("PORT"), atom("4143"),
		atom("KEEPALIVE"), atom("25"),
		atom("LEASE"), atom("604800"),
		atom("EPOCH"), atom("7"),
	};
	struct imap_client_arg args[3] = { atom("XBELL"),
	    atom("REGISTERED"), { IMAP_CLIENT_ARG_LIST, NULL, 0, items,
	    sizeof(items) / sizeof(items[0]) } };
	struct imap_client_resp resp = { (char *)"*", (char *)"", 0, args,
	    3 };
	struct watch_reg reg;
	size_t i;

	(void)state;
	memset(&reg, 0, sizeof(reg));
	watch_reg_untagged_cb(&reg, &resp);
	assert_true(reg.valid);
	assert_true(reg.id == REG_ID);
	assert_string_equal(reg.id_hex, "0102030405060708");
	for (i = 0; i < NOTIFY_SECRET_LEN; i++)
		assert_int_equal(reg.secret[i], i);
	assert_int_equal(reg.port, 4143);
	assert_int_equal(reg.keepalive, 25);
	assert_int_equal(reg.lease, 604800);
	assert_int_equal(reg.epoch, 7);

	/* A short key, a bad id or a missing PORT: no registration. */
	memset(&reg, 0, sizeof(reg));
	items[5] = string("AAEC");
	watch_reg_untagged_cb(&reg, &resp);
	assert_false(reg.valid);
	items[5] = string("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
	items[3] = string("01020304050607");
	watch_reg_untagged_cb(&reg, &resp);
	assert_false(reg.valid);
	items[3] = string("0102030405060708");
	items[6] = atom("NOPORT");
	watch_reg_untagged_cb(&reg, &resp);
	assert_false(reg.valid);
	/* Another version: not ours. */
	items[6] = atom("PORT");
	items[1] = atom("2");
	watch_reg_untagged_cb(&reg, &resp);
	assert_false(reg.valid);
}

/* ---- the handshake ---- */

static void
test_challenge_verify_status(void **state)
{
	struct pair p;
	struct watch_udp_rx rx;
	struct notify_header hdr;
	struct notify_msg m, got;
	const char *error;

	(void)state;
	pair_setup(&p);
	assert_int_equal(watch_udp_send_hello(&p.u, &error), 0);
	server_recv(&p, REG_EPOCH, &hdr, &got);
	assert_int_equal(hdr.type, NOTIFY_TYPE_HELLO);
	assert_true(hdr.pn == 0 && hdr.epoch == REG_EPOCH);

	msg_challenge(&m, 0xc5);
	server_send(&p, &m);
	assert_int_equal(watch_udp_recv(&p.u, &rx, &error), 1);
	assert_int_equal(rx.kind, WATCH_UDP_CHALLENGE);
	assert_false(rx.new_epoch);
	server_recv(&p, REG_EPOCH, &hdr, &got);
	assert_int_equal(hdr.type, NOTIFY_TYPE_VERIFY);
	assert_true(hdr.pn == 1);
	assert_memory_equal(got.verify.cookie, m.challenge.cookie,
	    NOTIFY_COOKIE_LEN);
	assert_false(p.u.verified);

	/* STATUS without the flag: not verified; with it: verified. */
	msg_status(&m, 0, 0);
	server_send(&p, &m);
	assert_int_equal(watch_udp_recv(&p.u, &rx, &error), 1);
	assert_int_equal(rx.kind, WATCH_UDP_STATUS);
	assert_false(p.u.verified);
	msg_status(&m, NOTIFY_STATUS_FLAG_VERIFIED, 0);
	server_send(&p, &m);
	assert_int_equal(watch_udp_recv(&p.u, &rx, &error), 1);
	assert_true(p.u.verified);
	assert_false(rx.gap);
	assert_true(server_nothing(&p));	/* STATUS gets no reply */
	assert_int_equal(watch_udp_recv(&p.u, &rx, &error), 0);
	pair_teardown(&p);
}

/* ---- events ---- */

/* A pair whose client has received event 1 (uid 42 in INBOX) and acked
 * it. */
static void
pair_setup_event1(struct pair *p)
{
	struct watch_udp_rx rx;
	struct notify_header hdr;
	struct notify_msg m, got;
	const char *error;

	pair_setup(p);
	msg_event(&m, 1, 42);
	server_send(p, &m);
	assert_int_equal(watch_udp_recv(&p->u, &rx, &error), 1);
	assert_int_equal(rx.kind, WATCH_UDP_EVENT);
	assert_false(rx.gap || rx.duplicate);
	assert_int_equal(rx.event.uid, 42);
	assert_string_equal(rx.event.folder, "INBOX");
	server_recv(p, REG_EPOCH, &hdr, &got);
	assert_int_equal(hdr.type, NOTIFY_TYPE_ACK);
	assert_true(got.ack.ack == 1);
}

static void
test_events_ack_gap_duplicate(void **state)
{
	struct pair p;
	struct watch_udp_rx rx;
	struct notify_header hdr;
	struct notify_msg m, got;
	const char *error;

	(void)state;
	pair_setup_event1(&p);

	/* A retransmission of event 1 (new packet number): acked again. */
	msg_event(&m, 1, 42);
	server_send(&p, &m);
	assert_int_equal(watch_udp_recv(&p.u, &rx, &error), 1);
	assert_true(rx.duplicate);
	server_recv(&p, REG_EPOCH, &hdr, &got);
	assert_true(got.ack.ack == 1);

	/* Event 3 after 1: a gap; the ack moves on (a resync covers 2). */
	msg_event(&m, 3, 44);
	server_send(&p, &m);
	assert_int_equal(watch_udp_recv(&p.u, &rx, &error), 1);
	assert_true(rx.gap && !rx.duplicate);
	server_recv(&p, REG_EPOCH, &hdr, &got);
	assert_true(got.ack.ack == 3);

	/* STATUS says event 5 went out: a gap, acked. */
	msg_status(&m, NOTIFY_STATUS_FLAG_VERIFIED, 5);
	server_send(&p, &m);
	assert_int_equal(watch_udp_recv(&p.u, &rx, &error), 1);
	assert_true(rx.gap);
	server_recv(&p, REG_EPOCH, &hdr, &got);
	assert_true(got.ack.ack == 5);

	/* The keepalive carries the cumulative ack too. */
	assert_int_equal(watch_udp_send_keepalive(&p.u, &error), 0);
	server_recv(&p, REG_EPOCH, &hdr, &got);
	assert_int_equal(hdr.type, NOTIFY_TYPE_KEEPALIVE);
	assert_true(got.keepalive.ack == 5);
	pair_teardown(&p);
}

/* ---- what is dropped ---- */

static void
test_replay_forgery_and_strangers_dropped(void **state)
{
	struct pair p;
	struct watch_udp_rx rx;
	struct notify_header hdr;
	struct notify_msg m, got;
	unsigned char dg[NOTIFY_DATAGRAM_MAX];
	const char *error;
	size_t len;

	(void)state;
	pair_setup(&p);
	msg_event(&m, 1, 42);
	len = server_send_epoch(&p, REG_EPOCH, &m, dg);
	assert_int_equal(watch_udp_recv(&p.u, &rx, &error), 1);
	server_recv(&p, REG_EPOCH, &hdr, &got);

	/* The same bytes again: a replay, dropped without a reply. */
	assert_int_equal(send(p.server, dg, len, 0), (ssize_t)len);
	assert_int_equal(watch_udp_recv(&p.u, &rx, &error), 0);
	assert_true(server_nothing(&p));

	/* One bit changed: the tag fails. */
	dg[30] ^= 1;
	dg[16 + 7] ^= 1;	/* a new packet number, so not a replay */
	assert_int_equal(send(p.server, dg, len, 0), (ssize_t)len);
	assert_int_equal(watch_udp_recv(&p.u, &rx, &error), 0);

	/* Too short, and garbage. */
	assert_int_equal(send(p.server, dg, 30, 0), 30);
	memset(dg, 0xff, 200);
	assert_int_equal(send(p.server, dg, 200, 0), 200);
	assert_int_equal(watch_udp_recv(&p.u, &rx, &error), 0);
	assert_true(server_nothing(&p));
	assert_true(p.u.dropped == 4);

	/* An older epoch is never gone back to. */
	msg_status(&m, NOTIFY_STATUS_FLAG_VERIFIED, 0);
	server_send_epoch(&p, REG_EPOCH - 1, &m, NULL);
	assert_int_equal(watch_udp_recv(&p.u, &rx, &error), 0);
	assert_int_equal(p.u.epoch, REG_EPOCH);
	pair_teardown(&p);
}

/* ---- a server restart ---- */

static void
test_new_epoch(void **state)
{
	struct pair p;
	struct watch_udp_rx rx;
	struct notify_header hdr;
	struct notify_msg m, got;
	const char *error;

	(void)state;
	pair_setup_event1(&p);
	assert_int_equal(watch_udp_send_keepalive(&p.u, &error), 0);
	server_recv(&p, REG_EPOCH, &hdr, &got);
	assert_true(hdr.pn == 1);

	/* The restarted server answers the keepalive with a CHALLENGE in
	   epoch 8, from packet number 0. */
	p.pn = 0;
	msg_challenge(&m, 0x77);
	server_send_epoch(&p, REG_EPOCH + 1, &m, NULL);
	assert_int_equal(watch_udp_recv(&p.u, &rx, &error), 1);
	assert_int_equal(rx.kind, WATCH_UDP_CHALLENGE);
	assert_true(rx.new_epoch);
	assert_int_equal(p.u.epoch, REG_EPOCH + 1);
	assert_true(p.u.ack == 0);
	/* VERIFY under the new epoch's keys, packet numbers from 0. */
	server_recv(&p, REG_EPOCH + 1, &hdr, &got);
	assert_int_equal(hdr.type, NOTIFY_TYPE_VERIFY);
	assert_true(hdr.epoch == REG_EPOCH + 1 && hdr.pn == 0);
	assert_memory_equal(got.verify.cookie, m.challenge.cookie,
	    NOTIFY_COOKIE_LEN);

	/* Event numbers start again at 1 in the new epoch. */
	p.epoch = REG_EPOCH + 1;
	msg_event(&m, 1, 43);
	server_send(&p, &m);
	assert_int_equal(watch_udp_recv(&p.u, &rx, &error), 1);
	assert_false(rx.duplicate || rx.gap || rx.new_epoch);
	pair_teardown(&p);
}

/* ---- output ---- */

static void
test_headers_decoded(void **state)
{
	static const char block[] =
	    "Subject: =?utf-8?q?caf=C3=A9?=\r\n"
	    " =?iso-8859-1?q?_Gr=FC=DFe?=\r\n"
	    "X-Other: y\r\n"
	    "from: \"Carol X\" <c@example.org>\r\n"
	    "From: second <s@example.org>\r\n"
	    "\r\n";
	char *from, *subject;

	(void)state;
	watch_out_headers(block, sizeof(block) - 1, &from, &subject);
	assert_string_equal(from, "\"Carol X\" <c@example.org>");
	assert_string_equal(subject, "café Grüße");
	free(from);
	free(subject);

	/* Absent fields are NULL; raw 8-bit text comes out valid UTF-8. */
	watch_out_headers("Subject: \xff\xfe ok\r\n\r\n", 19, &from, &subject);
	assert_null(from);
	assert_non_null(subject);
	assert_non_null(strstr(subject, "ok"));
	free(subject);
	watch_out_deinit();
}

static char *
capture(bool json, const struct watch_mail *m)
{
	char buf[1024];
	int pfd[2], saved;
	ssize_t n;

	assert_int_equal(pipe(pfd), 0);
	fflush(stdout);
	saved = dup(1);
	dup2(pfd[1], 1);
	assert_int_equal(m != NULL ? watch_out_event(json, m) :
	    watch_out_ready(json, "udp"), 0);
	dup2(saved, 1);
	close(saved);
	close(pfd[1]);
	n = read(pfd[0], buf, sizeof(buf) - 1);
	close(pfd[0]);
	assert_true(n > 0);
	buf[n] = '\0';
	return strdup(buf);
}

static void
test_event_lines(void **state)
{
	struct watch_mail m = { "MessageNew", "INBOX", 5, 1700000000, "udp",
	    true, "Carol <c@example.org>", "say \"hi\"\\\n\x01" };
	struct watch_mail ex = { "MessageExpunge", "My Folder", 6,
	    1700000000, "idle", false, NULL, NULL };
	char *s;

	(void)state;
	s = capture(false, &m);
	assert_string_equal(s, "MessageNew INBOX uid=5 from=\"Carol "
	    "<c@example.org>\" subject=\"say \\\"hi\\\"\\\\  \" via=udp\n");
	free(s);
	s = capture(true, &m);
	assert_string_equal(s, "{\"event\":\"MessageNew\",\"folder\":\"INBOX\","
	    "\"uid\":5,\"uidvalidity\":1700000000,\"via\":\"udp\","
	    "\"from\":\"Carol <c@example.org>\","
	    "\"subject\":\"say \\\"hi\\\"\\\\\\n\\u0001\"}\n");
	free(s);
	s = capture(false, &ex);
	assert_string_equal(s, "MessageExpunge \"My Folder\" uid=6 via=idle\n");
	free(s);
	s = capture(true, &ex);
	assert_string_equal(s, "{\"event\":\"MessageExpunge\",\"folder\":"
	    "\"My Folder\",\"uid\":6,\"uidvalidity\":1700000000,"
	    "\"via\":\"idle\"}\n");
	free(s);
	m.from = NULL;
	s = capture(true, &m);
	assert_non_null(strstr(s, "\"from\":null"));
	free(s);
	s = capture(false, NULL);
	assert_string_equal(s, "ready via udp\n");
	free(s);
	s = capture(true, NULL);
	assert_string_equal(s, "{\"event\":\"ready\",\"via\":\"udp\"}\n");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registration_parsed),
		cmocka_unit_test(test_challenge_verify_status),
		cmocka_unit_test(test_events_ack_gap_duplicate),
		cmocka_unit_test(test_replay_forgery_and_strangers_dropped),
		cmocka_unit_test(test_new_epoch),
		cmocka_unit_test(test_headers_decoded),
		cmocka_unit_test(test_event_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
