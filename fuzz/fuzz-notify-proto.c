/*
 * libFuzzer harness for the notification datagrams. The input is tried
 * three ways: as a received datagram (peek, open under fixed keys in both
 * directions, decode), as a decrypted payload of the type its first byte
 * names (decode, then encode and decode again, which must agree, and a
 * seal and open round trip; a cookie it carries is checked against the
 * server's cookies), and as a sequence of packet numbers for the replay
 * window, checked against a naive model.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "notify/notify-proto.h"

#define FUZZ_EPOCH 7
#define FUZZ_ID UINT64_C(0x0102030405060708)
/* Packet numbers the replay model tracks at most. */
#define FUZZ_PNS_MAX 512
/* The server's clock when it checks a cookie. */
#define FUZZ_NOW 1700000000

static struct notify_keys keys[2];	/* by enum notify_dir */

static void
keys_init(void)
{
	unsigned char secret[NOTIFY_SECRET_LEN];
	static bool done;

	if (done)
		return;
	for (int i = 0; i < NOTIFY_SECRET_LEN; i++)
		secret[i] = (unsigned char)i;
	if (notify_keys_derive(secret, NOTIFY_DIR_C2S, FUZZ_EPOCH,
	    &keys[NOTIFY_DIR_C2S]) < 0 ||
	    notify_keys_derive(secret, NOTIFY_DIR_S2C, FUZZ_EPOCH,
	    &keys[NOTIFY_DIR_S2C]) < 0)
		abort();
	done = true;
}

/* A decoded message must hold only what the protocol allows. */
static void
check_msg(const struct notify_msg *msg)
{
	const struct sockaddr_storage *ss = NULL;

	if (msg->type == NOTIFY_TYPE_CHALLENGE)
		ss = &msg->challenge.observed;
	else if (msg->type == NOTIFY_TYPE_STATUS)
		ss = &msg->status.observed;
	if (ss != NULL && ss->ss_family != AF_INET &&
	    ss->ss_family != AF_INET6)
		abort();
	if (msg->type == NOTIFY_TYPE_EVENT) {
		const struct notify_event *ev = &msg->event;

		if (ev->folder_len > NOTIFY_FOLDER_MAX ||
		    strlen(ev->folder) != ev->folder_len)
			abort();
		for (size_t i = 0; i < ev->folder_len; i++)
			if ((unsigned char)ev->folder[i] < 0x20 ||
			    (unsigned char)ev->folder[i] > 0x7e)
				abort();
		if (ev->type < NOTIFY_EVENT_MESSAGE_NEW ||
		    ev->type > NOTIFY_EVENT_MESSAGE_APPEND)
			abort();
	}
}

/* The input as a datagram off the wire. */
static void
as_datagram(const uint8_t *in, size_t size)
{
	unsigned char plain[NOTIFY_PAYLOAD_MAX];
	struct notify_header hdr, peeked;
	struct notify_msg msg;
	enum notify_drop drop, peek_drop;
	size_t plain_len;

	for (int dir = NOTIFY_DIR_C2S; dir <= NOTIFY_DIR_S2C; dir++) {
		int peek = notify_proto_peek(in, size, (enum notify_dir)dir,
		    &peeked, &peek_drop);
		int open = notify_proto_open(&keys[dir], in, size, &hdr, plain,
		    &plain_len, &drop);

		/* open runs peek's checks first, with the same verdict. */
		if (peek < 0 && (open == 0 || drop != peek_drop))
			abort();
		if (open < 0) {
			if (drop == NOTIFY_DROP_NONE)
				abort();
			continue;
		}
		if (plain_len != size - NOTIFY_OVERHEAD)
			abort();
		if (notify_proto_decode(hdr.type, plain, plain_len, &msg,
		    &drop) == 0)
			check_msg(&msg);
	}
}

/*
 * A cookie from the wire is valid only if it is the server's for this
 * endpoint now or in the slot before; the server's own cookie for an
 * endpoint it can encode is always valid.
 */
static void
check_cookie(const unsigned char cookie[NOTIFY_COOKIE_LEN],
    const struct sockaddr_storage *ss)
{
	static const unsigned char key[NOTIFY_COOKIE_KEY_LEN] = { 1, 2, 3 };
	const struct sockaddr *addr = (const struct sockaddr *)ss;
	unsigned char now[NOTIFY_COOKIE_LEN], before[NOTIFY_COOKIE_LEN];
	bool expect;

	if (!notify_addr_equal(addr, addr))
		abort();
	if (notify_cookie_make(key, FUZZ_ID, FUZZ_EPOCH, addr, FUZZ_NOW,
	    now) < 0 ||
	    notify_cookie_make(key, FUZZ_ID, FUZZ_EPOCH, addr,
	    FUZZ_NOW - NOTIFY_COOKIE_SLOT_SECS, before) < 0)
		abort();
	if (!notify_cookie_verify(key, FUZZ_ID, FUZZ_EPOCH, addr, FUZZ_NOW,
	    now) ||
	    !notify_cookie_verify(key, FUZZ_ID, FUZZ_EPOCH, addr, FUZZ_NOW,
	    before) ||
	    notify_cookie_verify(key, FUZZ_ID + 1, FUZZ_EPOCH, addr, FUZZ_NOW,
	    now))
		abort();
	expect = memcmp(cookie, now, sizeof(now)) == 0 ||
	    memcmp(cookie, before, sizeof(before)) == 0;
	if (notify_cookie_verify(key, FUZZ_ID, FUZZ_EPOCH, addr, FUZZ_NOW,
	    cookie) != expect)
		abort();
}

/* The input as a payload that passed the tag: in[0] is the type. */
static void
as_payload(const uint8_t *in, size_t size)
{
	unsigned char p2[NOTIFY_PAYLOAD_MAX], p3[NOTIFY_PAYLOAD_MAX];
	unsigned char d[NOTIFY_DATAGRAM_MAX], plain[NOTIFY_PAYLOAD_MAX];
	struct notify_msg m1, m2, m3;
	struct notify_header hdr;
	enum notify_drop drop;
	enum notify_dir dir;
	size_t len2, len3, dlen, plain_len;

	if (size < 1)
		return;
	if (notify_proto_decode(in[0], in + 1, size - 1, &m1, &drop) < 0) {
		if (drop == NOTIFY_DROP_NONE)
			abort();
		return;
	}
	check_msg(&m1);
	if (m1.type == NOTIFY_TYPE_CHALLENGE) {
		check_cookie(m1.challenge.cookie, &m1.challenge.observed);
	} else if (m1.type == NOTIFY_TYPE_VERIFY) {
		struct sockaddr_storage ss = { 0 };
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(40000);
		sin->sin_addr.s_addr = htonl(0xc0000201);	/* 192.0.2.1 */
		check_cookie(m1.verify.cookie, &ss);
	}
	/* What was decoded encodes, and encoding is stable from then on. */
	if (notify_proto_encode(&m1, p2, sizeof(p2), &len2) < 0)
		abort();
	if (notify_proto_decode(in[0], p2, len2, &m2, &drop) < 0)
		abort();
	check_msg(&m2);
	if (notify_proto_encode(&m2, p3, sizeof(p3), &len3) < 0 ||
	    len2 != len3 || memcmp(p2, p3, len2) != 0)
		abort();
	/* EVENT sizes come in classes. */
	if (m1.type == NOTIFY_TYPE_EVENT &&
	    ((len2 + NOTIFY_OVERHEAD) % NOTIFY_EVENT_PAD_UNIT != 0 ||
	    len2 + NOTIFY_OVERHEAD < NOTIFY_PADDED_MIN))
		abort();
	/* Sealed and opened, it comes back unchanged. */
	if (notify_type_dir(m1.type, &dir) < 0)
		abort();
	if (notify_proto_build(&keys[dir], FUZZ_ID, size, &m1, d, sizeof(d),
	    &dlen) < 0)
		abort();
	if (notify_proto_open(&keys[dir], d, dlen, &hdr, plain, &plain_len,
	    &drop) < 0 || hdr.id != FUZZ_ID || hdr.pn != size ||
	    plain_len != len2 || memcmp(plain, p2, len2) != 0)
		abort();
	if (notify_proto_decode(hdr.type, plain, plain_len, &m3, &drop) < 0)
		abort();
}

/* The input as packet numbers: each byte pair moves the next number
 * back or forward from the last one. */
static void
as_packet_numbers(const uint8_t *in, size_t size)
{
	static uint64_t seen[FUZZ_PNS_MAX];
	struct notify_replay win;
	size_t nseen = 0;
	uint64_t pn = 1000, top = 0;
	bool any = false;

	notify_replay_init(&win);
	for (size_t i = 0; i + 1 < size && nseen < FUZZ_PNS_MAX; i += 2) {
		int delta = (int)in[i] - 128;
		bool model, dup = false;

		pn = in[i + 1] & 1 ? pn + (uint64_t)(delta + 128) * 3 :
		    pn + (uint64_t)(int64_t)delta;
		for (size_t j = 0; j < nseen; j++)
			if (seen[j] == pn)
				dup = true;
		model = !any || pn > top ||
		    (top - pn < NOTIFY_REPLAY_WINDOW && !dup);
		if (notify_replay_check(&win, pn) != model)
			abort();
		if (model) {
			notify_replay_commit(&win, pn);
			seen[nseen++] = pn;
			if (!any || pn > top)
				top = pn;
			any = true;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	keys_init();
	as_datagram(in, size);
	as_payload(in, size);
	as_packet_numbers(in, size);
	return 0;
}
