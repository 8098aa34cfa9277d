/* Unit tests for the notification datagrams: the test vectors of
 * doc/notify-protocol.md section 6 byte for byte, and every way a
 * receiver must drop a datagram (size, version, type, key, epoch, tag,
 * replay, padding, payload), the replay window and the cookie. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <cmocka.h>

#include "notify/notify-proto.h"

/* ---- helpers ---- */

#define VEC_ID UINT64_C(0x0102030405060708)
#define VEC_EPOCH 7

/* Parse hex (whitespace ignored) into out; returns the byte count. */
static size_t
unhex(const char *hex, unsigned char *out, size_t size)
{
	size_t n = 0;
	int hi = -1;

	for (const char *p = hex; *p != '\0'; p++) {
		int v = 0;

		if (*p == ' ' || *p == '\n')
			continue;
		if (*p >= '0' && *p <= '9')
			v = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			v = *p - 'a' + 10;
		else
			fail_msg("bad hex digit %c", *p);
		if (hi < 0) {
			hi = v;
		} else {
			assert_true(n < size);
			out[n++] = (unsigned char)(hi << 4 | v);
			hi = -1;
		}
	}
	assert_int_equal(hi, -1);
	return n;
}

static void
vec_secret(unsigned char secret[NOTIFY_SECRET_LEN])
{
	for (int i = 0; i < NOTIFY_SECRET_LEN; i++)
		secret[i] = (unsigned char)i;
}

static void
vec_keys(enum notify_dir dir, uint32_t epoch, struct notify_keys *keys)
{
	unsigned char secret[NOTIFY_SECRET_LEN];

	vec_secret(secret);
	assert_int_equal(notify_keys_derive(secret, dir, epoch, keys), 0);
}

static void
sin4(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
}

static void
sin6(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
}

static void
assert_addr(const struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	char text[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		assert_non_null(inet_ntop(AF_INET, &sin->sin_addr, text,
		    sizeof(text)));
		assert_int_equal(ntohs(sin->sin_port), port);
	} else {
		const struct sockaddr_in6 *s6 =
		    (const struct sockaddr_in6 *)ss;

		assert_int_equal(ss->ss_family, AF_INET6);
		assert_non_null(inet_ntop(AF_INET6, &s6->sin6_addr, text,
		    sizeof(text)));
		assert_int_equal(ntohs(s6->sin6_port), port);
	}
	assert_string_equal(text, ip);
}

/* ---- the vectors of section 6 ---- */

static const char vec_key[] =
    "35df533011897f843b00abebbd33d5f8526ceae828c8e0794a986c6304aa5345";

struct vector {
	const char *name;
	enum notify_dir dir;
	uint64_t pn;
	const char *hex;
};

static const struct vector vectors[] = {
	{ "HELLO", NOTIFY_DIR_C2S, 0,
	  "01010000010203040506070800000007000000000000000094ccd32848bbb75e"
	  "b49c3677b1fdfff559f41fbb7d4c852b3dab928859b00232e8b15c237dc0b1d6"
	  "6d00d3f3911ad9d92998fd81a4586ecdcd0d49bf9f96767fe4ac0778ba6115fc"
	  "668230a0b7e78d0bb80b6ac325eecba27f93c2a938731b543e809b8b4c5dee4f" },
	{ "CHALLENGE", NOTIFY_DIR_S2C, 0,
	  "010200000102030405060708000000070000000000000000fb80ac78fc5d848d"
	  "9f450b621d321920992e8c6baab2923a9f964f050d66ae12a86e18b0b50aadad"
	  "223f913bb9717d14c9135e001fe467699215b84f" },
	{ "VERIFY", NOTIFY_DIR_C2S, 1,
	  "0103000001020304050607080000000700000000000000016d859989dd9f3751"
	  "e86ec4158f33cc71c84296bb0e1f8d039ba71ef393365d3569a0c27767e3f219"
	  "e5708581c71e1507c801bfe4f7affc776339fff0835c970a1098344baa39fdf8"
	  "633a9a57c3ae04256382375d4fc3b1478b93cf4febdf865138bbd7792af2128a" },
	{ "STATUS", NOTIFY_DIR_S2C, 1,
	  "01040000010203040506070800000007000000000000000115ba02ab3e0a02cb"
	  "e8dbfa25af4ac5e7ad4d8d6b810005eab779869591e8af9d3889ad908fa8e78f"
	  "d0ed8f93da926ffbe9e11e8f" },
	{ "KEEPALIVE", NOTIFY_DIR_C2S, 2,
	  "0105000001020304050607080000000700000000000000027d6b083004f3dc31"
	  "d7961cfd21e3effcdb16f48c78b704596d709ea45de93d2b6168bf8e020cd8de"
	  "37f248bb31425fa6a78efe20e27ec758201e73e01f35430348b863278e35856d"
	  "7d3da412adc57db910027d9f01602217dd8b5f201aba271819e8004d4ca5f313" },
	{ "EVENT", NOTIFY_DIR_S2C, 2,
	  "010700000102030405060708000000070000000000000002149bf03aed6a3678"
	  "fc28b5b81b3b22a2e70c1d355e0ebb96cbd68f6316fc7ed1027f8b59400f083d"
	  "3264c5de9211fd037a89e1cbdb4935fd167dd6ca779560c0fe2d6bc5a2f71af3"
	  "08aa73084592a46700722b4a6090e42ab3939e0233c0ab909d508da07d7b997b" },
	{ "ACK", NOTIFY_DIR_C2S, 3,
	  "01060000010203040506070800000007000000000000000357c00643a346a267"
	  "7c476b1a52f5fed67fc152e76ad88ff8" },
};
#define VECTORS (sizeof(vectors) / sizeof(vectors[0]))

/* The message each vector carries (section 6). */
static void
vec_msg(size_t i, struct notify_msg *msg)
{
	memset(msg, 0, sizeof(*msg));
	switch (i) {
	case 0:
		msg->type = NOTIFY_TYPE_HELLO;
		for (int j = 0; j < NOTIFY_NONCE_LEN; j++)
			msg->hello.nonce[j] = (unsigned char)(0xa0 + j);
		break;
	case 1:
		msg->type = NOTIFY_TYPE_CHALLENGE;
		for (int j = 0; j < NOTIFY_NONCE_LEN; j++)
			msg->challenge.nonce[j] = (unsigned char)(0xa0 + j);
		for (int j = 0; j < NOTIFY_COOKIE_LEN; j++)
			msg->challenge.cookie[j] = (unsigned char)(0xc0 + j);
		sin4(&msg->challenge.observed, "192.0.2.1", 40000);
		break;
	case 2:
		msg->type = NOTIFY_TYPE_VERIFY;
		for (int j = 0; j < NOTIFY_COOKIE_LEN; j++)
			msg->verify.cookie[j] = (unsigned char)(0xc0 + j);
		break;
	case 3:
		msg->type = NOTIFY_TYPE_STATUS;
		msg->status.keepalive = 25;
		msg->status.flags = NOTIFY_STATUS_FLAG_VERIFIED;
		msg->status.lease = 604800;
		msg->status.last_event = 0;
		sin4(&msg->status.observed, "192.0.2.1", 40000);
		break;
	case 4:
		msg->type = NOTIFY_TYPE_KEEPALIVE;
		msg->keepalive.ack = 0;
		break;
	case 5:
		msg->type = NOTIFY_TYPE_EVENT;
		msg->event.number = 1;
		msg->event.type = NOTIFY_EVENT_MESSAGE_NEW;
		msg->event.uidvalidity = 1700000000;
		msg->event.uid = 42;
		msg->event.uidnext = 43;
		msg->event.messages = 42;
		msg->event.unseen = 3;
		strcpy(msg->event.folder, "INBOX");
		msg->event.folder_len = 5;
		break;
	case 6:
		msg->type = NOTIFY_TYPE_ACK;
		msg->ack.ack = 1;
		break;
	default:
		fail();
	}
}

static size_t
vec_bytes(size_t i, unsigned char *out, size_t size)
{
	return unhex(vectors[i].hex, out, size);
}

/* Open datagram d with keys, which must fail: the drop reason. */
static enum notify_drop
open_refused(const struct notify_keys *keys, const unsigned char *d,
    size_t len)
{
	struct notify_header hdr;
	unsigned char plain[NOTIFY_PAYLOAD_MAX];
	size_t plain_len = 0;
	enum notify_drop got = NOTIFY_DROP_NONE;

	assert_int_equal(notify_proto_open(keys, d, len, &hdr, plain,
	    &plain_len, &got), -1);
	return got;
}

/* Open datagram d with the keys of the vectors, expecting drop. */
static void
assert_dropped(const unsigned char *d, size_t len, enum notify_dir dir,
    enum notify_drop drop)
{
	struct notify_keys keys;

	vec_keys(dir, VEC_EPOCH, &keys);
	assert_int_equal(open_refused(&keys, d, len), drop);
	notify_keys_wipe(&keys);
}

static void
test_key_vectors(void **state)
{
	unsigned char want[32];
	struct notify_keys keys, s2c;

	(void)state;
	vec_keys(NOTIFY_DIR_C2S, VEC_EPOCH, &keys);
	assert_int_equal(keys.dir, NOTIFY_DIR_C2S);
	assert_int_equal(keys.epoch, VEC_EPOCH);
	assert_int_equal(unhex(vec_key, want, sizeof(want)), 32);
	assert_memory_equal(keys.key, want, 32);

	/* One key for both directions: the nonce tells them apart. */
	vec_keys(NOTIFY_DIR_S2C, VEC_EPOCH, &s2c);
	assert_int_equal(s2c.dir, NOTIFY_DIR_S2C);
	assert_memory_equal(s2c.key, want, 32);
	notify_keys_wipe(&s2c);

	notify_keys_wipe(&keys);
	for (size_t i = 0; i < sizeof(keys.key); i++)
		assert_int_equal(keys.key[i], 0);

	/* Another epoch gives another key. */
	vec_keys(NOTIFY_DIR_S2C, VEC_EPOCH + 1, &keys);
	assert_memory_not_equal(keys.key, want, 32);
	notify_keys_wipe(&keys);
}

/*
 * A server's secret from its master key (not part of the protocol: the
 * client only sees 32 bytes). The expected value was computed with
 * server_secret() of doc/notify-vectors.py (Python's cryptography
 * package): HKDFExpand(SHA256, 32, "mailbell v1 secret" || id ||
 * epoch) over the master key 00 01 .. 1f.
 */
static void
test_secret_derive(void **state)
{
	unsigned char master[NOTIFY_MASTER_KEY_LEN], got[NOTIFY_SECRET_LEN];
	unsigned char want[NOTIFY_SECRET_LEN];

	(void)state;
	vec_secret(master);
	assert_int_equal(unhex("84dad581b94ed2f32c3b6c4f8e83f2aa"
	    "cfd0407833b2ec16aaa5a3a66ee4eea3", want, sizeof(want)), 32);
	assert_int_equal(notify_secret_derive(master, 0x0102030405060708ULL,
	    7, got), 0);
	assert_memory_equal(got, want, sizeof(want));
	assert_int_equal(notify_secret_derive(master, 0x0102030405060709ULL,
	    7, got), 0);
	assert_memory_not_equal(got, want, sizeof(want));
}

static void
test_encode_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < VECTORS; i++) {
		unsigned char want[NOTIFY_DATAGRAM_MAX];
		unsigned char got[NOTIFY_DATAGRAM_MAX];
		struct notify_keys keys;
		struct notify_msg msg;
		size_t want_len, len = 0;

		want_len = vec_bytes(i, want, sizeof(want));
		vec_msg(i, &msg);
		vec_keys(vectors[i].dir, VEC_EPOCH, &keys);
		assert_int_equal(notify_proto_build(&keys, VEC_ID,
		    vectors[i].pn, &msg, got, sizeof(got), &len), 0);
		if (len != want_len || memcmp(got, want, len) != 0)
			fail_msg("%s: sealed datagram differs",
			    vectors[i].name);
		/* One byte short of room is refused. */
		assert_int_equal(notify_proto_build(&keys, VEC_ID,
		    vectors[i].pn, &msg, got, want_len - 1, &len), -1);
	}
}

/* One set of cipher contexts seals and opens every vector in turn, in
 * both directions, with a forged datagram between two good ones: each
 * use starts afresh from the key and nonce, whatever came before. */
static void
test_reused_contexts(void **state)
{
	struct notify_aead *aead = notify_aead_new();

	(void)state;
	assert_non_null(aead);
	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < VECTORS; i++) {
			unsigned char want[NOTIFY_DATAGRAM_MAX];
			unsigned char got[NOTIFY_DATAGRAM_MAX];
			unsigned char plain[NOTIFY_PAYLOAD_MAX];
			struct notify_header hdr;
			struct notify_keys keys;
			struct notify_msg msg;
			enum notify_drop drop;
			size_t want_len, len = 0, plain_len;

			want_len = vec_bytes(i, want, sizeof(want));
			vec_msg(i, &msg);
			vec_keys(vectors[i].dir, VEC_EPOCH, &keys);
			assert_int_equal(notify_proto_build_with(aead, &keys,
			    VEC_ID, vectors[i].pn, &msg, got, sizeof(got),
			    &len), 0);
			assert_int_equal(len, want_len);
			assert_memory_equal(got, want, len);
			got[len - 1] ^= 1;
			assert_int_equal(notify_proto_open_with(aead, &keys,
			    got, len, &hdr, plain, &plain_len, &drop), -1);
			assert_int_equal(drop, NOTIFY_DROP_TAG);
			assert_int_equal(notify_proto_open_with(aead, &keys,
			    want, want_len, &hdr, plain, &plain_len, &drop),
			    0);
			assert_int_equal(hdr.pn, vectors[i].pn);
		}
	}
	notify_aead_free(&aead);
	assert_null(aead);
	notify_aead_free(&aead);
}

static void
test_decode_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < VECTORS; i++) {
		unsigned char d[NOTIFY_DATAGRAM_MAX];
		unsigned char plain[NOTIFY_PAYLOAD_MAX];
		unsigned char again[NOTIFY_PAYLOAD_MAX];
		struct notify_keys keys;
		struct notify_header hdr, peeked;
		struct notify_msg msg, want;
		enum notify_drop drop;
		size_t len, plain_len, again_len;

		len = vec_bytes(i, d, sizeof(d));
		assert_int_equal(notify_proto_peek(d, len, vectors[i].dir,
		    &peeked, &drop), 0);
		assert_int_equal(drop, NOTIFY_DROP_NONE);
		assert_true(peeked.id == VEC_ID);
		assert_int_equal(peeked.epoch, VEC_EPOCH);

		vec_keys(vectors[i].dir, VEC_EPOCH, &keys);
		assert_int_equal(notify_proto_open(&keys, d, len, &hdr, plain,
		    &plain_len, &drop), 0);
		assert_int_equal(drop, NOTIFY_DROP_NONE);
		assert_int_equal(hdr.version, NOTIFY_VERSION);
		assert_int_equal(hdr.reserved, 0);
		assert_true(hdr.id == VEC_ID);
		assert_int_equal(hdr.epoch, VEC_EPOCH);
		assert_true(hdr.pn == vectors[i].pn);
		assert_int_equal(hdr.type, peeked.type);
		assert_true(hdr.pn == peeked.pn);
		assert_int_equal(plain_len, len - NOTIFY_OVERHEAD);

		assert_int_equal(notify_proto_decode(hdr.type, plain,
		    plain_len, &msg, &drop), 0);
		vec_msg(i, &want);
		assert_int_equal(msg.type, want.type);
		switch (msg.type) {
		case NOTIFY_TYPE_HELLO:
			assert_memory_equal(msg.hello.nonce, want.hello.nonce,
			    NOTIFY_NONCE_LEN);
			break;
		case NOTIFY_TYPE_CHALLENGE:
			assert_memory_equal(msg.challenge.nonce,
			    want.challenge.nonce, NOTIFY_NONCE_LEN);
			assert_memory_equal(msg.challenge.cookie,
			    want.challenge.cookie, NOTIFY_COOKIE_LEN);
			assert_addr(&msg.challenge.observed, "192.0.2.1",
			    40000);
			break;
		case NOTIFY_TYPE_VERIFY:
			assert_memory_equal(msg.verify.cookie,
			    want.verify.cookie, NOTIFY_COOKIE_LEN);
			break;
		case NOTIFY_TYPE_STATUS:
			assert_int_equal(msg.status.keepalive, 25);
			assert_int_equal(msg.status.flags, 1);
			assert_int_equal(msg.status.lease, 604800);
			assert_int_equal(msg.status.last_event, 0);
			assert_addr(&msg.status.observed, "192.0.2.1", 40000);
			break;
		case NOTIFY_TYPE_KEEPALIVE:
			assert_int_equal(msg.keepalive.ack, 0);
			break;
		case NOTIFY_TYPE_ACK:
			assert_int_equal(msg.ack.ack, 1);
			break;
		case NOTIFY_TYPE_EVENT:
			assert_int_equal(msg.event.number, 1);
			assert_int_equal(msg.event.type,
			    NOTIFY_EVENT_MESSAGE_NEW);
			assert_int_equal(msg.event.uidvalidity, 1700000000);
			assert_int_equal(msg.event.uid, 42);
			assert_int_equal(msg.event.uidnext, 43);
			assert_int_equal(msg.event.messages, 42);
			assert_int_equal(msg.event.unseen, 3);
			assert_int_equal(msg.event.folder_len, 5);
			assert_string_equal(msg.event.folder, "INBOX");
			break;
		}
		/* Encoding what was decoded gives the plaintext again. */
		assert_int_equal(notify_proto_encode(&msg, again,
		    sizeof(again), &again_len), 0);
		assert_int_equal(again_len, plain_len);
		assert_memory_equal(again, plain, plain_len);
	}
}

/* ---- hostile datagrams ---- */

static void
test_truncated(void **state)
{
	(void)state;
	for (size_t i = 0; i < VECTORS; i++) {
		unsigned char d[NOTIFY_DATAGRAM_MAX];
		size_t len = vec_bytes(i, d, sizeof(d));

		for (size_t n = 0; n < len; n++) {
			/* A fresh copy of exactly n bytes, so ASan sees any
			 * read past the end. */
			unsigned char *t = malloc(n > 0 ? n : 1);
			struct notify_keys keys;
			struct notify_header hdr;
			unsigned char plain[NOTIFY_PAYLOAD_MAX];
			size_t plain_len;
			enum notify_drop drop = NOTIFY_DROP_NONE;

			assert_non_null(t);
			memcpy(t, d, n);
			vec_keys(vectors[i].dir, VEC_EPOCH, &keys);
			assert_int_equal(notify_proto_open(&keys, t, n, &hdr,
			    plain, &plain_len, &drop), -1);
			if (n < NOTIFY_DATAGRAM_MIN)
				assert_int_equal(drop, NOTIFY_DROP_SIZE);
			else
				assert_true(drop == NOTIFY_DROP_SIZE ||
				    drop == NOTIFY_DROP_TAG);
			free(t);
		}
	}
}

static void
test_oversized(void **state)
{
	static const size_t sizes[] = { NOTIFY_DATAGRAM_MAX + 1, 1500, 9000,
	    65507 };
	unsigned char *d = calloc(1, 65536);
	struct notify_keys keys;
	struct notify_header hdr;
	unsigned char payload[NOTIFY_PAYLOAD_MAX + 1];
	unsigned char out[NOTIFY_DATAGRAM_MAX + 64];
	unsigned char plain[NOTIFY_PAYLOAD_MAX];
	size_t len, plain_len;
	enum notify_drop drop;

	(void)state;
	assert_non_null(d);
	/* A valid header with a long body. */
	vec_bytes(0, d, NOTIFY_DATAGRAM_MAX);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		assert_dropped(d, sizes[i], NOTIFY_DIR_C2S, NOTIFY_DROP_SIZE);
		assert_int_equal(notify_proto_peek(d, sizes[i],
		    NOTIFY_DIR_C2S, &hdr, &drop), -1);
		assert_int_equal(drop, NOTIFY_DROP_SIZE);
	}
	free(d);

	/* Exactly NOTIFY_DATAGRAM_MAX is fine, one more cannot be sealed. */
	memset(payload, 0, sizeof(payload));
	vec_keys(NOTIFY_DIR_C2S, VEC_EPOCH, &keys);
	hdr = (struct notify_header){ .type = NOTIFY_TYPE_HELLO, .id = VEC_ID,
	    .epoch = VEC_EPOCH, .pn = 5 };
	assert_int_equal(notify_proto_seal(&keys, &hdr, payload,
	    NOTIFY_PAYLOAD_MAX, out, sizeof(out), &len), 0);
	assert_int_equal(len, NOTIFY_DATAGRAM_MAX);
	assert_int_equal(notify_proto_open(&keys, out, len, &hdr, plain,
	    &plain_len, &drop), 0);
	assert_int_equal(plain_len, NOTIFY_PAYLOAD_MAX);
	assert_int_equal(notify_proto_seal(&keys, &hdr, payload,
	    NOTIFY_PAYLOAD_MAX + 1, out, sizeof(out), &len), -1);
}

static void
test_wrong_version(void **state)
{
	static const unsigned char versions[] = { 0, 2, 0x81, 0xff };

	(void)state;
	for (size_t i = 0; i < VECTORS; i++) {
		unsigned char d[NOTIFY_DATAGRAM_MAX];
		size_t len = vec_bytes(i, d, sizeof(d));

		for (size_t v = 0; v < sizeof(versions); v++) {
			d[0] = versions[v];
			assert_dropped(d, len, vectors[i].dir,
			    NOTIFY_DROP_VERSION);
		}
	}
}

static void
test_wrong_type(void **state)
{
	static const unsigned char unknown[] = { 0, 8, 0x80, 0xff };

	(void)state;
	for (size_t i = 0; i < VECTORS; i++) {
		unsigned char d[NOTIFY_DATAGRAM_MAX];
		size_t len = vec_bytes(i, d, sizeof(d));
		enum notify_dir other = vectors[i].dir == NOTIFY_DIR_C2S ?
		    NOTIFY_DIR_S2C : NOTIFY_DIR_C2S;
		struct notify_header hdr;
		enum notify_drop drop;

		/* Sent the wrong way: a server must not read a CHALLENGE, a
		 * client must not read a HELLO. */
		assert_dropped(d, len, other, NOTIFY_DROP_TYPE);
		assert_int_equal(notify_proto_peek(d, len, other, &hdr,
		    &drop), -1);
		assert_int_equal(drop, NOTIFY_DROP_TYPE);

		for (size_t t = 0; t < sizeof(unknown); t++) {
			d[1] = unknown[t];
			assert_dropped(d, len, vectors[i].dir,
			    NOTIFY_DROP_TYPE);
		}
		/* A type of the right direction but another payload: the
		 * header is authenticated, so the tag fails (or the size
		 * is too short for that type). */
		vec_bytes(i, d, sizeof(d));
		for (unsigned int t = NOTIFY_TYPE_HELLO;
		    t <= NOTIFY_TYPE_EVENT; t++) {
			struct notify_keys keys;
			unsigned char plain[NOTIFY_PAYLOAD_MAX];
			size_t plain_len;
			enum notify_dir dir;

			assert_int_equal(notify_type_dir(t, &dir), 0);
			if (dir != vectors[i].dir || t == d[1])
				continue;
			d[1] = (unsigned char)t;
			vec_keys(dir, VEC_EPOCH, &keys);
			assert_int_equal(notify_proto_open(&keys, d, len, &hdr,
			    plain, &plain_len, &drop), -1);
			assert_true(drop == NOTIFY_DROP_TAG ||
			    drop == NOTIFY_DROP_SIZE);
			vec_bytes(i, d, sizeof(d));
		}
	}
}

static void
test_wrong_key(void **state)
{
	unsigned char secret[NOTIFY_SECRET_LEN];

	(void)state;
	vec_secret(secret);
	secret[31] ^= 1;
	for (size_t i = 0; i < VECTORS; i++) {
		unsigned char d[NOTIFY_DATAGRAM_MAX];
		unsigned char plain[NOTIFY_PAYLOAD_MAX];
		size_t len = vec_bytes(i, d, sizeof(d)), plain_len;
		struct notify_keys keys;
		struct notify_header hdr;
		enum notify_drop drop;

		assert_int_equal(notify_keys_derive(secret, vectors[i].dir,
		    VEC_EPOCH, &keys), 0);
		assert_int_equal(notify_proto_open(&keys, d, len, &hdr, plain,
		    &plain_len, &drop), -1);
		assert_int_equal(drop, NOTIFY_DROP_TAG);
		/* Nothing of the would-be plaintext is left behind. */
		for (size_t j = 0; j < len - NOTIFY_OVERHEAD; j++)
			assert_int_equal(plain[j], 0);
	}
}

/*
 * The two directions share the key, never a nonce: a c2s and an s2c
 * datagram with the same packet number and the same payload are not
 * sealed with the same keystream (which would give away the XOR of
 * two plaintexts and the Poly1305 key).
 */
static void
test_directions_never_share_a_nonce(void **state)
{
	unsigned char payload[64], c2s[NOTIFY_DATAGRAM_MAX],
	    s2c[NOTIFY_DATAGRAM_MAX];
	struct notify_header hdr = { .id = 0x0102030405060708ULL,
	    .epoch = VEC_EPOCH, .pn = 5 };
	struct notify_keys keys;
	size_t c2s_len, s2c_len;

	(void)state;
	memset(payload, 0x5a, sizeof(payload));
	vec_keys(NOTIFY_DIR_C2S, VEC_EPOCH, &keys);
	hdr.type = NOTIFY_TYPE_KEEPALIVE;
	assert_int_equal(notify_proto_seal(&keys, &hdr, payload,
	    sizeof(payload), c2s, sizeof(c2s), &c2s_len), 0);
	vec_keys(NOTIFY_DIR_S2C, VEC_EPOCH, &keys);
	hdr.type = NOTIFY_TYPE_EVENT;
	assert_int_equal(notify_proto_seal(&keys, &hdr, payload,
	    sizeof(payload), s2c, sizeof(s2c), &s2c_len), 0);
	assert_int_equal(c2s_len, s2c_len);
	assert_memory_not_equal(c2s + NOTIFY_HEADER_LEN,
	    s2c + NOTIFY_HEADER_LEN, sizeof(payload));
	notify_keys_wipe(&keys);
}

static void
test_wrong_epoch(void **state)
{
	(void)state;
	for (size_t i = 0; i < VECTORS; i++) {
		unsigned char d[NOTIFY_DATAGRAM_MAX];
		size_t len = vec_bytes(i, d, sizeof(d));
		struct notify_keys keys;

		/* Keys of the next epoch do not take the datagram. */
		vec_keys(vectors[i].dir, VEC_EPOCH + 1, &keys);
		assert_int_equal(open_refused(&keys, d, len),
		    NOTIFY_DROP_EPOCH);

		/* Nor does rewriting the header's epoch to match them. */
		d[15] = VEC_EPOCH + 1;
		assert_int_equal(open_refused(&keys, d, len), NOTIFY_DROP_TAG);
		/* Nor the old keys with that header. */
		assert_dropped(d, len, vectors[i].dir, NOTIFY_DROP_EPOCH);
	}
}

static void
test_flipped_bits(void **state)
{
	(void)state;
	for (size_t i = 0; i < VECTORS; i++) {
		unsigned char d[NOTIFY_DATAGRAM_MAX];
		unsigned char plain[NOTIFY_PAYLOAD_MAX];
		size_t len = vec_bytes(i, d, sizeof(d)), plain_len;
		struct notify_keys keys;
		struct notify_header hdr;
		enum notify_drop drop;

		vec_keys(vectors[i].dir, VEC_EPOCH, &keys);
		for (size_t byte = 0; byte < len; byte++) {
			for (int bit = 0; bit < 8; bit++) {
				d[byte] ^= (unsigned char)(1u << bit);
				if (notify_proto_open(&keys, d, len, &hdr,
				    plain, &plain_len, &drop) != -1)
					fail_msg("%s: byte %zu bit %d flipped "
					    "was accepted", vectors[i].name,
					    byte, bit);
				if (byte >= 4 && byte < 12)
					/* the id: authenticated */
					assert_int_equal(drop,
					    NOTIFY_DROP_TAG);
				d[byte] ^= (unsigned char)(1u << bit);
			}
		}
		/* And the untouched datagram still opens. */
		assert_int_equal(notify_proto_open(&keys, d, len, &hdr, plain,
		    &plain_len, &drop), 0);
	}
}

static void
test_replay_window(void **state)
{
	struct notify_replay win;

	(void)state;
	notify_replay_init(&win);
	/* Empty: anything, 0 included. */
	assert_true(notify_replay_check(&win, 0));
	assert_true(notify_replay_check(&win, UINT64_MAX));

	/* In order. */
	for (uint64_t pn = 0; pn < 10; pn++) {
		assert_true(notify_replay_check(&win, pn));
		notify_replay_commit(&win, pn);
		assert_false(notify_replay_check(&win, pn));
	}
	/* Duplicates of all of them. */
	for (uint64_t pn = 0; pn < 10; pn++)
		assert_false(notify_replay_check(&win, pn));

	/* Out of order within the window. */
	notify_replay_commit(&win, 100);
	assert_true(notify_replay_check(&win, 99));
	assert_true(notify_replay_check(&win, 37));	/* 63 behind */
	assert_false(notify_replay_check(&win, 36));	/* 64 behind */
	assert_false(notify_replay_check(&win, 9));
	notify_replay_commit(&win, 37);
	notify_replay_commit(&win, 99);
	notify_replay_commit(&win, 50);
	assert_false(notify_replay_check(&win, 37));
	assert_false(notify_replay_check(&win, 99));
	assert_false(notify_replay_check(&win, 50));
	assert_false(notify_replay_check(&win, 100));
	assert_true(notify_replay_check(&win, 98));
	assert_true(notify_replay_check(&win, 51));
	assert_true(notify_replay_check(&win, 101));

	/* Check alone changes nothing. */
	assert_true(notify_replay_check(&win, 98));
	assert_true(notify_replay_check(&win, 98));

	/* Sliding by one keeps what is still inside. */
	notify_replay_commit(&win, 101);
	assert_false(notify_replay_check(&win, 99));
	assert_false(notify_replay_check(&win, 50));
	assert_false(notify_replay_check(&win, 37));	/* now too old */
	assert_true(notify_replay_check(&win, 38));

	/* A jump of exactly 64 forgets everything before. */
	notify_replay_commit(&win, 165);
	assert_false(notify_replay_check(&win, 101));
	assert_true(notify_replay_check(&win, 102));
	assert_false(notify_replay_check(&win, 165));

	/* A jump far ahead (> 64) leaves only the new number. */
	notify_replay_commit(&win, 1000);
	assert_false(notify_replay_check(&win, 1000));
	assert_false(notify_replay_check(&win, 165));
	assert_false(notify_replay_check(&win, 936));
	for (uint64_t pn = 937; pn < 1000; pn++)
		assert_true(notify_replay_check(&win, pn));

	/* Out of order: 1003, 1001, 1002 all accepted once. */
	notify_replay_commit(&win, 1003);
	assert_true(notify_replay_check(&win, 1001));
	notify_replay_commit(&win, 1001);
	assert_true(notify_replay_check(&win, 1002));
	notify_replay_commit(&win, 1002);
	for (uint64_t pn = 1000; pn <= 1003; pn++)
		assert_false(notify_replay_check(&win, pn));

	/* The top of the range. */
	notify_replay_commit(&win, UINT64_MAX);
	assert_false(notify_replay_check(&win, UINT64_MAX));
	assert_true(notify_replay_check(&win, UINT64_MAX - 63));
	assert_false(notify_replay_check(&win, UINT64_MAX - 64));
}

/* The receive path of section 4.1 end to end: open, check, decode,
 * commit; a replay of an accepted datagram is then refused. */
static void
test_replayed_datagram(void **state)
{
	struct notify_keys send, recv;
	struct notify_replay win;
	struct notify_msg msg = { .type = NOTIFY_TYPE_ACK };
	unsigned char d[70][NOTIFY_DATAGRAM_MAX];
	size_t len[70];

	(void)state;
	vec_keys(NOTIFY_DIR_C2S, VEC_EPOCH, &send);
	vec_keys(NOTIFY_DIR_C2S, VEC_EPOCH, &recv);
	notify_replay_init(&win);
	for (uint64_t pn = 0; pn < 70; pn++) {
		msg.ack.ack = pn;
		assert_int_equal(notify_proto_build(&send, VEC_ID, pn, &msg,
		    d[pn], sizeof(d[pn]), &len[pn]), 0);
	}
	/* Accept in the order 0, 2, 1, 69, then replays, one number still
	 * in the window (6, 63 below 69) and one just below it (5). */
	static const uint64_t order[] = { 0, 2, 1, 69, 2, 0, 6, 6, 5 };
	static const bool accept[] = { true, true, true, true, false, false,
	    true, false, false };
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		unsigned char plain[NOTIFY_PAYLOAD_MAX];
		struct notify_header hdr;
		struct notify_msg got;
		enum notify_drop drop;
		size_t plain_len;
		uint64_t pn = order[i];

		assert_int_equal(notify_proto_open(&recv, d[pn], len[pn], &hdr,
		    plain, &plain_len, &drop), 0);
		assert_true(hdr.pn == pn);
		if (!notify_replay_check(&win, hdr.pn)) {
			assert_false(accept[i]);
			continue;
		}
		assert_true(accept[i]);
		assert_int_equal(notify_proto_decode(hdr.type, plain,
		    plain_len, &got, &drop), 0);
		assert_true(got.ack.ack == pn);
		notify_replay_commit(&win, hdr.pn);
	}
}

static void
test_short_padding(void **state)
{
	static const enum notify_type types[] = { NOTIFY_TYPE_HELLO,
	    NOTIFY_TYPE_VERIFY, NOTIFY_TYPE_KEEPALIVE };
	struct notify_keys keys;

	(void)state;
	vec_keys(NOTIFY_DIR_C2S, VEC_EPOCH, &keys);
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		unsigned char payload[NOTIFY_PAYLOAD_MAX] = { 0 };
		unsigned char d[NOTIFY_DATAGRAM_MAX];
		unsigned char plain[NOTIFY_PAYLOAD_MAX];
		struct notify_header hdr = { .type = (uint8_t)types[t],
		    .id = VEC_ID, .epoch = VEC_EPOCH };
		struct notify_msg msg;
		enum notify_drop drop;
		size_t len, plain_len;

		/* 127 bytes, properly sealed, is still dropped, before the
		 * tag is even looked at. */
		for (size_t n = 16; n < NOTIFY_PADDED_MIN - NOTIFY_OVERHEAD;
		    n++) {
			assert_int_equal(notify_proto_seal(&keys, &hdr,
			    payload, n, d, sizeof(d), &len), 0);
			assert_int_equal(notify_proto_open(&keys, d, len,
			    &hdr, plain, &plain_len, &drop), -1);
			assert_int_equal(drop, NOTIFY_DROP_SIZE);
			assert_int_equal(notify_proto_decode(types[t], payload,
			    n, &msg, &drop), -1);
			assert_int_equal(drop, NOTIFY_DROP_SIZE);
		}
		/* 128 and more (a client may pad further) are fine. */
		for (size_t n = NOTIFY_PADDED_MIN - NOTIFY_OVERHEAD;
		    n <= NOTIFY_PAYLOAD_MAX; n += 71) {
			assert_int_equal(notify_proto_seal(&keys, &hdr,
			    payload, n, d, sizeof(d), &len), 0);
			assert_int_equal(notify_proto_open(&keys, d, len,
			    &hdr, plain, &plain_len, &drop), 0);
			assert_int_equal(notify_proto_decode(hdr.type, plain,
			    plain_len, &msg, &drop), 0);
		}
	}
}

/* Payloads too short for their fixed fields are refused by decode. */
static void
test_short_payloads(void **state)
{
	static const struct {
		enum notify_type type;
		size_t min;
	} cases[] = {
		{ NOTIFY_TYPE_CHALLENGE, NOTIFY_CHALLENGE_LEN },
		{ NOTIFY_TYPE_STATUS, NOTIFY_STATUS_LEN },
		{ NOTIFY_TYPE_ACK, NOTIFY_ACK_LEN },
		{ NOTIFY_TYPE_EVENT, NOTIFY_EVENT_FIXED_LEN },
	};
	struct notify_msg msg;
	enum notify_drop drop;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned char *p = calloc(1, cases[i].min);

		assert_non_null(p);
		p[0] = 4;	/* harmless first byte */
		for (size_t n = 0; n < cases[i].min; n++) {
			assert_int_equal(notify_proto_decode(cases[i].type,
			    p, n, &msg, &drop), -1);
			assert_int_equal(drop, NOTIFY_DROP_PAYLOAD);
		}
		free(p);
	}
	assert_int_equal(notify_proto_decode(0, NULL, 0, &msg, &drop), -1);
	assert_int_equal(drop, NOTIFY_DROP_TYPE);
	assert_int_equal(notify_proto_decode(8, NULL, 0, &msg, &drop), -1);
	assert_int_equal(drop, NOTIFY_DROP_TYPE);
}

static void
test_seal_refuses(void **state)
{
	struct notify_keys keys;
	struct notify_header hdr = { .type = NOTIFY_TYPE_EVENT, .id = VEC_ID,
	    .epoch = VEC_EPOCH };
	unsigned char payload[64] = { 0 }, out[NOTIFY_DATAGRAM_MAX];
	size_t len;

	(void)state;
	vec_keys(NOTIFY_DIR_C2S, VEC_EPOCH, &keys);
	/* A client does not send EVENT. */
	assert_int_equal(notify_proto_seal(&keys, &hdr, payload,
	    sizeof(payload), out, sizeof(out), &len), -1);
	hdr.type = 0;
	assert_int_equal(notify_proto_seal(&keys, &hdr, payload,
	    sizeof(payload), out, sizeof(out), &len), -1);
	/* Nor under an epoch its keys are not for. */
	hdr.type = NOTIFY_TYPE_ACK;
	hdr.epoch = VEC_EPOCH + 1;
	assert_int_equal(notify_proto_seal(&keys, &hdr, payload,
	    sizeof(payload), out, sizeof(out), &len), -1);
	hdr.epoch = VEC_EPOCH;
	assert_int_equal(notify_proto_seal(&keys, &hdr, payload,
	    sizeof(payload), out, NOTIFY_OVERHEAD + sizeof(payload) - 1,
	    &len), -1);
	/* Version and reserved are written whatever hdr says. */
	hdr.version = 9;
	hdr.reserved = 0xffff;
	assert_int_equal(notify_proto_seal(&keys, &hdr, payload,
	    sizeof(payload), out, sizeof(out), &len), 0);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[2], 0);
	assert_int_equal(out[3], 0);
}

/* ---- payloads ---- */

static void
test_event_padding(void **state)
{
	struct notify_msg msg = { .type = NOTIFY_TYPE_EVENT };
	unsigned char p[NOTIFY_PAYLOAD_MAX];
	struct notify_msg got;
	enum notify_drop drop;
	size_t len;

	(void)state;
	msg.event.number = 7;
	msg.event.type = NOTIFY_EVENT_FLAGS_SET;
	msg.event.uidvalidity = 3;
	msg.event.uid = 4;
	msg.event.uidnext = 5;
	msg.event.messages = 6;
	msg.event.unseen = 1;
	for (size_t n = 0; n <= NOTIFY_FOLDER_MAX; n++) {
		size_t total;

		memset(msg.event.folder, 'a' + (int)(n % 26), n);
		msg.event.folder[n] = '\0';
		msg.event.folder_len = n;
		assert_int_equal(notify_proto_encode(&msg, p, sizeof(p),
		    &len), 0);
		total = len + NOTIFY_OVERHEAD;
		assert_int_equal(total % NOTIFY_EVENT_PAD_UNIT, 0);
		assert_true(total >= NOTIFY_PADDED_MIN);
		assert_true(total < NOTIFY_OVERHEAD + NOTIFY_EVENT_FIXED_LEN +
		    n + NOTIFY_EVENT_PAD_UNIT || total == NOTIFY_PADDED_MIN);
		assert_int_equal(notify_proto_decode(NOTIFY_TYPE_EVENT, p, len,
		    &got, &drop), 0);
		assert_int_equal(got.event.type, NOTIFY_EVENT_FLAGS_SET);
		assert_int_equal(got.event.folder_len, n);
		assert_string_equal(got.event.folder, msg.event.folder);
		assert_int_equal(got.event.uid, 4);
	}
	/* The longest EVENT: 40 + 32 + 200 = 272, padded to 320. */
	assert_int_equal(len + NOTIFY_OVERHEAD, 320);
}

static void
test_event_fallbacks(void **state)
{
	struct notify_msg msg = { .type = NOTIFY_TYPE_EVENT }, got;
	unsigned char p[NOTIFY_PAYLOAD_MAX];
	enum notify_drop drop;
	size_t len;

	(void)state;
	msg.event.number = 9;
	msg.event.type = NOTIFY_EVENT_MESSAGE_NEW;
	msg.event.uidvalidity = 11;
	msg.event.uid = 12;
	msg.event.uidnext = 13;
	memset(msg.event.folder, 'x', NOTIFY_FOLDER_MAX);

	/* 201 bytes: MailboxResync of every folder. */
	msg.event.folder_len = NOTIFY_FOLDER_MAX + 1;
	assert_int_equal(notify_proto_encode(&msg, p, sizeof(p), &len), 0);
	assert_int_equal(len + NOTIFY_OVERHEAD, NOTIFY_PADDED_MIN);
	assert_int_equal(notify_proto_decode(NOTIFY_TYPE_EVENT, p, len, &got,
	    &drop), 0);
	assert_int_equal(got.event.number, 9);
	assert_int_equal(got.event.type, NOTIFY_EVENT_MAILBOX_RESYNC);
	assert_int_equal(got.event.folder_len, 0);
	assert_string_equal(got.event.folder, "");
	assert_int_equal(got.event.uid, 0);
	assert_int_equal(got.event.uidvalidity, 0);

	/* A control byte in the name: the same. */
	msg.event.folder_len = 5;
	memcpy(msg.event.folder, "IN\nOX", 6);
	assert_int_equal(notify_proto_encode(&msg, p, sizeof(p), &len), 0);
	assert_int_equal(notify_proto_decode(NOTIFY_TYPE_EVENT, p, len, &got,
	    &drop), 0);
	assert_int_equal(got.event.type, NOTIFY_EVENT_MAILBOX_RESYNC);
	assert_int_equal(got.event.folder_len, 0);

	/* An unknown event type: MailboxResync of its folder, UID 0. */
	memcpy(msg.event.folder, "Sent", 5);
	msg.event.folder_len = 4;
	msg.event.type = (enum notify_event_type)42;
	assert_int_equal(notify_proto_encode(&msg, p, sizeof(p), &len), 0);
	assert_int_equal(notify_proto_decode(NOTIFY_TYPE_EVENT, p, len, &got,
	    &drop), 0);
	assert_int_equal(got.event.type, NOTIFY_EVENT_MAILBOX_RESYNC);
	assert_string_equal(got.event.folder, "Sent");
	assert_int_equal(got.event.uid, 0);
	assert_int_equal(got.event.uidvalidity, 11);

	/* Received: an unknown code reads as MailboxResync. */
	msg.event.type = NOTIFY_EVENT_MESSAGE_NEW;
	assert_int_equal(notify_proto_encode(&msg, p, sizeof(p), &len), 0);
	p[8] = 200;
	assert_int_equal(notify_proto_decode(NOTIFY_TYPE_EVENT, p, len, &got,
	    &drop), 0);
	assert_int_equal(got.event.type, NOTIFY_EVENT_MAILBOX_RESYNC);
	assert_string_equal(got.event.folder, "Sent");
	p[8] = NOTIFY_EVENT_MESSAGE_APPEND;
	assert_int_equal(notify_proto_decode(NOTIFY_TYPE_EVENT, p, len, &got,
	    &drop), 0);
	assert_int_equal(got.event.type, NOTIFY_EVENT_MESSAGE_APPEND);
}

static void
test_event_hostile(void **state)
{
	unsigned char p[NOTIFY_PAYLOAD_MAX];
	struct notify_msg got;
	enum notify_drop drop;

	(void)state;
	memset(p, 'a', sizeof(p));
	memset(p, 0, NOTIFY_EVENT_FIXED_LEN);
	p[8] = NOTIFY_EVENT_MESSAGE_NEW;

	/* Folder length over 200, though the bytes are there. */
	p[10] = 0;
	p[11] = NOTIFY_FOLDER_MAX + 1;
	assert_int_equal(notify_proto_decode(NOTIFY_TYPE_EVENT, p, sizeof(p),
	    &got, &drop), -1);
	assert_int_equal(drop, NOTIFY_DROP_PAYLOAD);
	p[10] = 0xff;
	p[11] = 0xff;
	assert_int_equal(notify_proto_decode(NOTIFY_TYPE_EVENT, p, sizeof(p),
	    &got, &drop), -1);

	/* Folder length past the end of the payload. */
	p[10] = 0;
	p[11] = 10;
	assert_int_equal(notify_proto_decode(NOTIFY_TYPE_EVENT, p,
	    NOTIFY_EVENT_FIXED_LEN + 9, &got, &drop), -1);
	assert_int_equal(drop, NOTIFY_DROP_PAYLOAD);
	assert_int_equal(notify_proto_decode(NOTIFY_TYPE_EVENT, p,
	    NOTIFY_EVENT_FIXED_LEN + 10, &got, &drop), 0);
	assert_string_equal(got.event.folder, "aaaaaaaaaa");

	/* Bytes outside printable ASCII. */
	p[NOTIFY_EVENT_FIXED_LEN + 3] = 0;
	assert_int_equal(notify_proto_decode(NOTIFY_TYPE_EVENT, p, sizeof(p),
	    &got, &drop), -1);
	p[NOTIFY_EVENT_FIXED_LEN + 3] = 0x80;
	assert_int_equal(notify_proto_decode(NOTIFY_TYPE_EVENT, p, sizeof(p),
	    &got, &drop), -1);
	p[NOTIFY_EVENT_FIXED_LEN + 3] = 0x7f;
	assert_int_equal(notify_proto_decode(NOTIFY_TYPE_EVENT, p, sizeof(p),
	    &got, &drop), -1);
	assert_int_equal(drop, NOTIFY_DROP_PAYLOAD);
}

static void
test_status_ipv6(void **state)
{
	struct notify_keys send, recv;
	struct notify_msg msg = { .type = NOTIFY_TYPE_STATUS }, got;
	unsigned char d[NOTIFY_DATAGRAM_MAX], plain[NOTIFY_PAYLOAD_MAX];
	struct notify_header hdr;
	enum notify_drop drop;
	size_t len, plain_len;

	(void)state;
	vec_keys(NOTIFY_DIR_S2C, 3, &send);
	vec_keys(NOTIFY_DIR_S2C, 3, &recv);
	msg.status.keepalive = 300;
	msg.status.flags = 0;
	msg.status.lease = UINT32_MAX;
	msg.status.last_event = UINT64_MAX;
	sin6(&msg.status.observed, "2001:db8::1:2", 65535);
	assert_int_equal(notify_proto_build(&send, UINT64_MAX, 1u << 20, &msg,
	    d, sizeof(d), &len), 0);
	assert_int_equal(len, NOTIFY_OVERHEAD + NOTIFY_STATUS_LEN);
	assert_int_equal(notify_proto_open(&recv, d, len, &hdr, plain,
	    &plain_len, &drop), 0);
	assert_true(hdr.id == UINT64_MAX);
	assert_int_equal(hdr.epoch, 3);
	assert_int_equal(notify_proto_decode(hdr.type, plain, plain_len, &got,
	    &drop), 0);
	assert_int_equal(got.status.keepalive, 300);
	assert_int_equal(got.status.flags, 0);
	assert_true(got.status.lease == UINT32_MAX);
	assert_true(got.status.last_event == UINT64_MAX);
	assert_addr(&got.status.observed, "2001:db8::1:2", 65535);

	/* A CHALLENGE is no larger than the smallest HELLO it answers. */
	msg.type = NOTIFY_TYPE_CHALLENGE;
	sin6(&msg.challenge.observed, "2001:db8::1:2", 1);
	assert_int_equal(notify_proto_build(&send, 1, 2, &msg, d, sizeof(d),
	    &len), 0);
	assert_true(len <= NOTIFY_PADDED_MIN);
	/* An address the protocol cannot carry is refused. */
	msg.challenge.observed.ss_family = AF_UNIX;
	assert_int_equal(notify_proto_build(&send, 1, 2, &msg, d, sizeof(d),
	    &len), -1);
}

static void
test_addresses(void **state)
{
	struct sockaddr_storage a, b, got;
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	unsigned char enc[NOTIFY_ADDR_LEN], enc2[NOTIFY_ADDR_LEN];
	static const unsigned char want4[NOTIFY_ADDR_LEN] = {
		4, 0, 0x9c, 0x40, 192, 0, 2, 1
	};
	socklen_t len;

	(void)state;
	sin4(&a, "192.0.2.1", 40000);
	assert_int_equal(notify_addr_encode((struct sockaddr *)&a, enc), 0);
	assert_memory_equal(enc, want4, sizeof(want4));
	assert_int_equal(notify_addr_decode(enc, &got, &len), 0);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	assert_addr(&got, "192.0.2.1", 40000);

	/* A dual-stack socket's view of the same peer. */
	sin6(&b, "::ffff:192.0.2.1", 40000);
	assert_int_equal(notify_addr_encode((struct sockaddr *)&b, enc2), 0);
	assert_memory_equal(enc, enc2, NOTIFY_ADDR_LEN);
	assert_true(notify_addr_equal((struct sockaddr *)&a,
	    (struct sockaddr *)&b));

	sin6(&b, "2001:db8::7", 443);
	assert_int_equal(notify_addr_encode((struct sockaddr *)&b, enc), 0);
	assert_int_equal(enc[0], 6);
	assert_int_equal(enc[1], 0);
	assert_int_equal(notify_addr_decode(enc, &got, &len), 0);
	assert_int_equal(len, sizeof(struct sockaddr_in6));
	assert_addr(&got, "2001:db8::7", 443);
	assert_false(notify_addr_equal((struct sockaddr *)&a,
	    (struct sockaddr *)&b));
	sin4(&b, "192.0.2.1", 40001);
	assert_false(notify_addr_equal((struct sockaddr *)&a,
	    (struct sockaddr *)&b));

	/* Families the protocol does not carry. */
	assert_int_equal(notify_addr_encode((struct sockaddr *)&un, enc), -1);
	assert_false(notify_addr_equal((struct sockaddr *)&un,
	    (struct sockaddr *)&un));
	memcpy(enc, want4, sizeof(want4));
	for (unsigned int f = 0; f < 256; f++) {
		enc[0] = (unsigned char)f;
		assert_int_equal(notify_addr_decode(enc, &got, NULL),
		    f == 4 || f == 6 ? 0 : -1);
	}
	/* IPv4 with bytes after its 4. */
	enc[0] = 4;
	enc[19] = 1;
	assert_int_equal(notify_addr_decode(enc, &got, NULL), -1);
}

/* ---- cookies ---- */

static void
test_cookies(void **state)
{
	unsigned char key[NOTIFY_COOKIE_KEY_LEN], key2[NOTIFY_COOKIE_KEY_LEN];
	unsigned char cookie[NOTIFY_COOKIE_LEN], other[NOTIFY_COOKIE_LEN];
	struct sockaddr_storage a, b;
	const struct sockaddr *sa = (const struct sockaddr *)&a;
	const struct sockaddr *sb = (const struct sockaddr *)&b;
	const time_t t = 1700000000;	/* 1700000000 / 120 = 14166666 r 80 */
	const time_t slot_start = t - 80;

	(void)state;
	assert_int_equal(notify_random(key, sizeof(key)), 0);
	memcpy(key2, key, sizeof(key2));
	key2[0] ^= 1;
	sin4(&a, "192.0.2.1", 40000);
	assert_int_equal(notify_cookie_make(key, VEC_ID, VEC_EPOCH, sa, t,
	    cookie), 0);

	/* Valid in its slot and the next one. */
	assert_true(notify_cookie_verify(key, VEC_ID, VEC_EPOCH, sa, t,
	    cookie));
	assert_true(notify_cookie_verify(key, VEC_ID, VEC_EPOCH, sa,
	    slot_start, cookie));
	assert_true(notify_cookie_verify(key, VEC_ID, VEC_EPOCH, sa,
	    slot_start + 2 * NOTIFY_COOKIE_SLOT_SECS - 1, cookie));
	/* Expired two slots on; not valid before it was made. */
	assert_false(notify_cookie_verify(key, VEC_ID, VEC_EPOCH, sa,
	    slot_start + 2 * NOTIFY_COOKIE_SLOT_SECS, cookie));
	assert_false(notify_cookie_verify(key, VEC_ID, VEC_EPOCH, sa,
	    t + 3600, cookie));
	assert_false(notify_cookie_verify(key, VEC_ID, VEC_EPOCH, sa,
	    slot_start - 1, cookie));
	assert_false(notify_cookie_verify(key, VEC_ID, VEC_EPOCH, sa, -1,
	    cookie));

	/* Another address, port or family. */
	sin4(&b, "192.0.2.2", 40000);
	assert_false(notify_cookie_verify(key, VEC_ID, VEC_EPOCH, sb, t,
	    cookie));
	sin4(&b, "192.0.2.1", 40001);
	assert_false(notify_cookie_verify(key, VEC_ID, VEC_EPOCH, sb, t,
	    cookie));
	sin6(&b, "2001:db8::c000:201", 40000);
	assert_false(notify_cookie_verify(key, VEC_ID, VEC_EPOCH, sb, t,
	    cookie));
	/* The same peer seen through a dual-stack socket is the same. */
	sin6(&b, "::ffff:192.0.2.1", 40000);
	assert_true(notify_cookie_verify(key, VEC_ID, VEC_EPOCH, sb, t,
	    cookie));

	/* Another registration, epoch or server key. */
	assert_false(notify_cookie_verify(key, VEC_ID + 1, VEC_EPOCH, sa, t,
	    cookie));
	assert_false(notify_cookie_verify(key, VEC_ID, VEC_EPOCH + 1, sa, t,
	    cookie));
	assert_false(notify_cookie_verify(key2, VEC_ID, VEC_EPOCH, sa, t,
	    cookie));

	/* Any changed byte. */
	for (size_t i = 0; i < NOTIFY_COOKIE_LEN; i++) {
		memcpy(other, cookie, sizeof(other));
		other[i] ^= 0x40;
		assert_false(notify_cookie_verify(key, VEC_ID, VEC_EPOCH, sa,
		    t, other));
	}

	/* Consecutive slots give different cookies. */
	assert_int_equal(notify_cookie_make(key, VEC_ID, VEC_EPOCH, sa,
	    t + NOTIFY_COOKIE_SLOT_SECS, other), 0);
	assert_memory_not_equal(cookie, other, NOTIFY_COOKIE_LEN);
	assert_int_equal(notify_cookie_make(key, VEC_ID, VEC_EPOCH, sa, -5,
	    other), -1);

	/* Slot 0 has no previous slot. */
	assert_int_equal(notify_cookie_make(key, VEC_ID, VEC_EPOCH, sa, 0,
	    other), 0);
	assert_true(notify_cookie_verify(key, VEC_ID, VEC_EPOCH, sa, 119,
	    other));
	assert_true(notify_cookie_verify(key, VEC_ID, VEC_EPOCH, sa, 239,
	    other));
	assert_false(notify_cookie_verify(key, VEC_ID, VEC_EPOCH, sa, 240,
	    other));
}

/* ---- names ---- */

static void
test_names(void **state)
{
	static const struct {
		const char *name;
		enum notify_event_type type;
	} events[] = {
		{ "MessageNew", NOTIFY_EVENT_MESSAGE_NEW },
		{ "MessageExpunge", NOTIFY_EVENT_MESSAGE_EXPUNGE },
		{ "FlagsSet", NOTIFY_EVENT_FLAGS_SET },
		{ "FlagsClear", NOTIFY_EVENT_FLAGS_CLEAR },
		{ "MailboxResync", NOTIFY_EVENT_MAILBOX_RESYNC },
		{ "MessageAppend", NOTIFY_EVENT_MESSAGE_APPEND },
	};
	enum notify_event_type type;
	enum notify_dir dir;

	(void)state;
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		assert_string_equal(notify_event_type_name(events[i].type),
		    events[i].name);
		assert_int_equal(notify_event_type_from_name(events[i].name,
		    &type), 0);
		assert_int_equal(type, events[i].type);
	}
	assert_int_equal(events[0].type, 1);
	assert_int_equal(events[4].type, 5);
	assert_int_equal(notify_event_type_from_name("messagenew", &type), 0);
	assert_int_equal(type, NOTIFY_EVENT_MESSAGE_NEW);
	assert_int_equal(notify_event_type_from_name("MessageRead", &type),
	    -1);
	assert_int_equal(notify_event_type_from_name("", &type), -1);
	assert_string_equal(notify_event_type_name(0), "unknown");
	assert_string_equal(notify_event_type_name(
	    (enum notify_event_type)99), "unknown");

	assert_string_equal(notify_type_name(NOTIFY_TYPE_HELLO), "HELLO");
	assert_string_equal(notify_type_name(NOTIFY_TYPE_EVENT), "EVENT");
	assert_string_equal(notify_type_name(0), "unknown");
	assert_string_equal(notify_type_name(8), "unknown");
	assert_int_equal(notify_type_dir(NOTIFY_TYPE_ACK, &dir), 0);
	assert_int_equal(dir, NOTIFY_DIR_C2S);
	assert_int_equal(notify_type_dir(NOTIFY_TYPE_STATUS, &dir), 0);
	assert_int_equal(dir, NOTIFY_DIR_S2C);
	assert_int_equal(notify_type_dir(9, &dir), -1);

	for (int d = 0; d < NOTIFY_DROP_COUNT; d++)
		assert_string_not_equal(notify_drop_name(
		    (enum notify_drop)d), "unknown");
	assert_string_equal(notify_drop_name(NOTIFY_DROP_TAG), "tag");
	assert_string_equal(notify_drop_name(NOTIFY_DROP_COUNT), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_vectors),
		cmocka_unit_test(test_secret_derive),
		cmocka_unit_test(test_directions_never_share_a_nonce),
		cmocka_unit_test(test_encode_vectors),
		cmocka_unit_test(test_decode_vectors),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_wrong_version),
		cmocka_unit_test(test_wrong_type),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_wrong_epoch),
		cmocka_unit_test(test_flipped_bits),
		cmocka_unit_test(test_replay_window),
		cmocka_unit_test(test_replayed_datagram),
		cmocka_unit_test(test_short_padding),
		cmocka_unit_test(test_short_payloads),
		cmocka_unit_test(test_seal_refuses),
		cmocka_unit_test(test_event_padding),
		cmocka_unit_test(test_event_fallbacks),
		cmocka_unit_test(test_event_hostile),
		cmocka_unit_test(test_status_ipv6),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_cookies),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_reused_contexts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
