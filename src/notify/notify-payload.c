/*
 * The payloads of the notification datagrams (doc/notify-protocol.md
 * 3.3 to 3.5): encoding with the padding section 3 asks for, decoding
 * that reads every field within bounds, and the 20-byte observed
 * address. Pure: no I/O, no state between calls.
 */
#include "notify/notify-proto.h"
#include "notify/notify-proto-private.h"

#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <openssl/crypto.h>

static const unsigned char v4mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* ---- Observed addresses ---- */

int
notify_addr_encode(const struct sockaddr *sa,
    unsigned char out[NOTIFY_ADDR_LEN])
{
	memset(out, 0, NOTIFY_ADDR_LEN);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		out[0] = 4;
		put16(out + 2, ntohs(sin->sin_port));
		memcpy(out + 4, &sin->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 =
		    (const struct sockaddr_in6 *)sa;
		const unsigned char *a = sin6->sin6_addr.s6_addr;

		put16(out + 2, ntohs(sin6->sin6_port));
		if (memcmp(a, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0) {
			out[0] = 4;
			memcpy(out + 4, a + 12, 4);
		} else {
			out[0] = 6;
			memcpy(out + 4, a, 16);
		}
		return 0;
	}
	return -1;
}

int
notify_addr_decode(const unsigned char in[NOTIFY_ADDR_LEN],
    struct sockaddr_storage *ss_r, socklen_t *sslen_r)
{
	static const unsigned char zero[12];
	socklen_t len;

	memset(ss_r, 0, sizeof(*ss_r));
	if (in[0] == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss_r;

		if (memcmp(in + 8, zero, 12) != 0)
			return -1;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(get16(in + 2));
		memcpy(&sin->sin_addr, in + 4, 4);
		len = sizeof(*sin);
	} else if (in[0] == 6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss_r;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(get16(in + 2));
		memcpy(&sin6->sin6_addr, in + 4, 16);
		len = sizeof(*sin6);
	} else {
		return -1;
	}
	if (sslen_r != NULL)
		*sslen_r = len;
	return 0;
}

bool
notify_addr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
	unsigned char ea[NOTIFY_ADDR_LEN], eb[NOTIFY_ADDR_LEN];

	if (notify_addr_encode(a, ea) < 0 || notify_addr_encode(b, eb) < 0)
		return false;
	return memcmp(ea, eb, NOTIFY_ADDR_LEN) == 0;
}

/* ---- Payloads ---- */

/* Modified UTF-7 folder names are printable US-ASCII (RFC 3501 5.1.3). */
static bool
folder_ok(const char *folder, size_t len)
{
	if (len > NOTIFY_FOLDER_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)folder[i] < 0x20 ||
		    (unsigned char)folder[i] > 0x7e)
			return false;
	return true;
}

/* The payload length that pads a datagram to the size section 3 asks
 * for, given the bytes of fields in it. */
static size_t
padded_len(unsigned int type, size_t fields)
{
	size_t total = NOTIFY_OVERHEAD + fields;

	switch (type) {
	case NOTIFY_TYPE_HELLO:
	case NOTIFY_TYPE_VERIFY:
	case NOTIFY_TYPE_KEEPALIVE:
		break;
	case NOTIFY_TYPE_EVENT:
		total = (total + NOTIFY_EVENT_PAD_UNIT - 1) /
		    NOTIFY_EVENT_PAD_UNIT * NOTIFY_EVENT_PAD_UNIT;
		break;
	default:
		return fields;
	}
	if (total < NOTIFY_PADDED_MIN)
		total = NOTIFY_PADDED_MIN;
	return total - NOTIFY_OVERHEAD;
}

static int
encode_event(const struct notify_event *ev, unsigned char *p, size_t *len_r)
{
	enum notify_event_type type = ev->type;
	size_t folder_len = ev->folder_len;
	uint32_t uidvalidity = ev->uidvalidity, uid = ev->uid,
	    uidnext = ev->uidnext, messages = ev->messages,
	    unseen = ev->unseen;

	if (type < NOTIFY_EVENT_MESSAGE_NEW ||
	    type > NOTIFY_EVENT_MESSAGE_APPEND)
		type = NOTIFY_EVENT_MAILBOX_RESYNC;
	if (type == NOTIFY_EVENT_MAILBOX_RESYNC)
		uid = 0;
	if (!folder_ok(ev->folder, folder_len)) {
		/* Section 3.4: resynchronise every folder instead. */
		type = NOTIFY_EVENT_MAILBOX_RESYNC;
		folder_len = 0;
		uidvalidity = uid = uidnext = messages = unseen = 0;
	}
	put64(p, ev->number);
	p[8] = (unsigned char)type;
	p[9] = 0;
	put16(p + 10, (uint16_t)folder_len);
	put32(p + 12, uidvalidity);
	put32(p + 16, uid);
	put32(p + 20, uidnext);
	put32(p + 24, messages);
	put32(p + 28, unseen);
	memcpy(p + NOTIFY_EVENT_FIXED_LEN, ev->folder, folder_len);
	*len_r = NOTIFY_EVENT_FIXED_LEN + folder_len;
	return 0;
}

int
notify_proto_encode(const struct notify_msg *msg, unsigned char *buf,
    size_t size, size_t *len_r)
{
	unsigned char p[NOTIFY_PAYLOAD_MAX];
	size_t fields, len;

	memset(p, 0, sizeof(p));
	switch (msg->type) {
	case NOTIFY_TYPE_HELLO:
		memcpy(p, msg->hello.nonce, NOTIFY_NONCE_LEN);
		fields = NOTIFY_HELLO_LEN;
		break;
	case NOTIFY_TYPE_CHALLENGE:
		memcpy(p, msg->challenge.nonce, NOTIFY_NONCE_LEN);
		memcpy(p + NOTIFY_NONCE_LEN, msg->challenge.cookie,
		    NOTIFY_COOKIE_LEN);
		if (notify_addr_encode(
		    (const struct sockaddr *)&msg->challenge.observed,
		    p + NOTIFY_NONCE_LEN + NOTIFY_COOKIE_LEN) < 0)
			return -1;
		fields = NOTIFY_CHALLENGE_LEN;
		break;
	case NOTIFY_TYPE_VERIFY:
		memcpy(p, msg->verify.cookie, NOTIFY_COOKIE_LEN);
		fields = NOTIFY_VERIFY_LEN;
		break;
	case NOTIFY_TYPE_STATUS:
		put16(p, msg->status.keepalive);
		put16(p + 2, msg->status.flags);
		put32(p + 4, msg->status.lease);
		put64(p + 8, msg->status.last_event);
		if (notify_addr_encode(
		    (const struct sockaddr *)&msg->status.observed,
		    p + 16) < 0)
			return -1;
		fields = NOTIFY_STATUS_LEN;
		break;
	case NOTIFY_TYPE_KEEPALIVE:
		put64(p, msg->keepalive.ack);
		fields = NOTIFY_KEEPALIVE_LEN;
		break;
	case NOTIFY_TYPE_ACK:
		put64(p, msg->ack.ack);
		fields = NOTIFY_ACK_LEN;
		break;
	case NOTIFY_TYPE_EVENT:
		if (encode_event(&msg->event, p, &fields) < 0)
			return -1;
		break;
	default:
		return -1;
	}
	len = padded_len(msg->type, fields);
	if (len > size)
		return -1;
	memcpy(buf, p, len);
	*len_r = len;
	return 0;
}

static int
decode_event(const unsigned char *p, size_t len, struct notify_event *ev)
{
	size_t folder_len;

	if (len < NOTIFY_EVENT_FIXED_LEN)
		return -1;
	folder_len = get16(p + 10);
	if (folder_len > NOTIFY_FOLDER_MAX ||
	    folder_len > len - NOTIFY_EVENT_FIXED_LEN)
		return -1;
	if (!folder_ok((const char *)p + NOTIFY_EVENT_FIXED_LEN, folder_len))
		return -1;
	ev->number = get64(p);
	ev->type = p[8] >= NOTIFY_EVENT_MESSAGE_NEW &&
	    p[8] <= NOTIFY_EVENT_MESSAGE_APPEND ?
	    (enum notify_event_type)p[8] : NOTIFY_EVENT_MAILBOX_RESYNC;
	ev->uidvalidity = get32(p + 12);
	ev->uid = get32(p + 16);
	ev->uidnext = get32(p + 20);
	ev->messages = get32(p + 24);
	ev->unseen = get32(p + 28);
	ev->folder_len = folder_len;
	memcpy(ev->folder, p + NOTIFY_EVENT_FIXED_LEN, folder_len);
	ev->folder[folder_len] = '\0';
	return 0;
}

int
notify_proto_decode(unsigned int type, const unsigned char *p, size_t len,
    struct notify_msg *msg_r, enum notify_drop *drop_r)
{
	enum notify_dir dir;

	memset(msg_r, 0, sizeof(*msg_r));
	if (notify_type_dir(type, &dir) < 0) {
		*drop_r = NOTIFY_DROP_TYPE;
		return -1;
	}
	if (NOTIFY_OVERHEAD + len < notify_proto_min_size(type) ||
	    len > NOTIFY_PAYLOAD_MAX) {
		/* Short padding is a size drop, as in notify_proto_peek(). */
		*drop_r = notify_proto_min_size(type) == NOTIFY_PADDED_MIN ?
		    NOTIFY_DROP_SIZE : NOTIFY_DROP_PAYLOAD;
		return -1;
	}
	*drop_r = NOTIFY_DROP_PAYLOAD;
	msg_r->type = (enum notify_type)type;
	switch (type) {
	case NOTIFY_TYPE_HELLO:
		memcpy(msg_r->hello.nonce, p, NOTIFY_NONCE_LEN);
		break;
	case NOTIFY_TYPE_CHALLENGE:
		memcpy(msg_r->challenge.nonce, p, NOTIFY_NONCE_LEN);
		memcpy(msg_r->challenge.cookie, p + NOTIFY_NONCE_LEN,
		    NOTIFY_COOKIE_LEN);
		if (notify_addr_decode(p + NOTIFY_NONCE_LEN + NOTIFY_COOKIE_LEN,
		    &msg_r->challenge.observed, NULL) < 0)
			return -1;
		break;
	case NOTIFY_TYPE_VERIFY:
		memcpy(msg_r->verify.cookie, p, NOTIFY_COOKIE_LEN);
		break;
	case NOTIFY_TYPE_STATUS:
		msg_r->status.keepalive = get16(p);
		msg_r->status.flags = get16(p + 2);
		msg_r->status.lease = get32(p + 4);
		msg_r->status.last_event = get64(p + 8);
		if (notify_addr_decode(p + 16, &msg_r->status.observed,
		    NULL) < 0)
			return -1;
		break;
	case NOTIFY_TYPE_KEEPALIVE:
		msg_r->keepalive.ack = get64(p);
		break;
	case NOTIFY_TYPE_ACK:
		msg_r->ack.ack = get64(p);
		break;
	case NOTIFY_TYPE_EVENT:
		if (decode_event(p, len, &msg_r->event) < 0)
			return -1;
		break;
	}
	*drop_r = NOTIFY_DROP_NONE;
	return 0;
}

int
notify_proto_build(const struct notify_keys *keys, uint64_t id,
    uint64_t pn, const struct notify_msg *msg, unsigned char *out,
    size_t out_size, size_t *len_r)
{
	return notify_proto_build_with(NULL, keys, id, pn, msg, out, out_size,
	    len_r);
}

int
notify_proto_build_with(struct notify_aead *aead,
    const struct notify_keys *keys, uint64_t id, uint64_t pn,
    const struct notify_msg *msg, unsigned char *out, size_t out_size,
    size_t *len_r)
{
	unsigned char payload[NOTIFY_PAYLOAD_MAX];
	struct notify_header hdr = {
		.version = NOTIFY_VERSION,
		.type = (uint8_t)msg->type,
		.id = id,
		.epoch = keys->epoch,
		.pn = pn,
	};
	size_t len;
	int ret;

	if (notify_proto_encode(msg, payload, sizeof(payload), &len) < 0)
		return -1;
	ret = notify_proto_seal_with(aead, keys, &hdr, payload, len, out,
	    out_size, len_r);
	OPENSSL_cleanse(payload, len);
	return ret;
}
