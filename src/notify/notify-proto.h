/*
 * The mailbell notification datagrams (doc/notify-protocol.md, version 1):
 * layout, keys, sealing and opening, the replay window, payload encoding
 * and the stateless cookie. Pure functions on caller-owned memory, no I/O
 * and no libevent, so a unit test or a fuzzer links this alone.
 *
 * A receiver runs the checks of section 4.1 in order:
 *
 *	notify_proto_peek()	step 1: size, version, type for the direction
 *	(caller)		step 2: look up hdr.id
 *	(caller)		step 3: pick the keys for hdr.epoch, if allowed
 *	notify_proto_open()	step 4: the tag (step 1 and the epoch again)
 *	notify_replay_check()	step 5: the packet number is not a replay
 *	notify_proto_decode()	the payload
 *	notify_replay_commit()	only now may state change
 */
#ifndef MB_NOTIFY_NOTIFY_PROTO_H
#define MB_NOTIFY_NOTIFY_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/socket.h>

#include "lib/limits.h"

/* ---- Layout (section 3.1) ---- */

#define NOTIFY_VERSION 1
#define NOTIFY_HEADER_LEN 24		/* version .. packet number */
#define NOTIFY_TAG_LEN 16		/* Poly1305 tag at the end */
#define NOTIFY_OVERHEAD (NOTIFY_HEADER_LEN + NOTIFY_TAG_LEN)
#define NOTIFY_DATAGRAM_MIN NOTIFY_OVERHEAD
/* Largest plaintext payload that fits a datagram. */
#define NOTIFY_PAYLOAD_MAX (NOTIFY_DATAGRAM_MAX - NOTIFY_OVERHEAD)

#define NOTIFY_SECRET_LEN 32		/* registration secret (KEY) */
#define NOTIFY_MASTER_KEY_LEN 32	/* the server's, secrets derive from it */
#define NOTIFY_KEY_LEN 32		/* ChaCha20-Poly1305 key */
#define NOTIFY_IV_LEN 12		/* nonce: direction, 0, 0, 0, pn */
#define NOTIFY_NONCE_LEN 8		/* client nonce in HELLO */
#define NOTIFY_COOKIE_LEN 16		/* cookie in CHALLENGE and VERIFY */
#define NOTIFY_COOKIE_KEY_LEN 32	/* the server's in-memory cookie key */
#define NOTIFY_ADDR_LEN 20		/* encoded observed address */

/* Fixed payload sizes; a receiver ignores bytes after them (padding). */
#define NOTIFY_HELLO_LEN NOTIFY_NONCE_LEN
#define NOTIFY_CHALLENGE_LEN (NOTIFY_NONCE_LEN + NOTIFY_COOKIE_LEN + \
	NOTIFY_ADDR_LEN)
#define NOTIFY_VERIFY_LEN NOTIFY_COOKIE_LEN
#define NOTIFY_STATUS_LEN (2 + 2 + 4 + 8 + NOTIFY_ADDR_LEN)
#define NOTIFY_KEEPALIVE_LEN 8
#define NOTIFY_ACK_LEN 8
#define NOTIFY_EVENT_FIXED_LEN 32	/* EVENT without folder and padding */
/* EVENT datagrams are padded to a multiple of this, and to at least
 * NOTIFY_PADDED_MIN in all. */
#define NOTIFY_EVENT_PAD_UNIT 64

/* STATUS flags */
#define NOTIFY_STATUS_FLAG_VERIFIED 0x0001	/* sent to the verified
						   endpoint */

/* Who sends a datagram; keys exist per direction. */
enum notify_dir {
	NOTIFY_DIR_C2S = 0,	/* client to server: HELLO VERIFY KEEPALIVE ACK */
	NOTIFY_DIR_S2C,		/* server to client: CHALLENGE STATUS EVENT */
};

/* Datagram types (section 3.3); the values are the wire codes. */
enum notify_type {
	NOTIFY_TYPE_HELLO = 1,		/* c2s: first datagram, client nonce */
	NOTIFY_TYPE_CHALLENGE = 2,	/* s2c: nonce, cookie, observed address */
	NOTIFY_TYPE_VERIFY = 3,		/* c2s: echoes the cookie */
	NOTIFY_TYPE_STATUS = 4,		/* s2c: lease, last event, address */
	NOTIFY_TYPE_KEEPALIVE = 5,	/* c2s: holds NAT mappings, ack */
	NOTIFY_TYPE_ACK = 6,		/* c2s: cumulative event ack */
	NOTIFY_TYPE_EVENT = 7,		/* s2c: something changed in a folder */
};

/* Event types (section 3.4): the RFC 5423 names; the values are the wire
 * codes. */
enum notify_event_type {
	NOTIFY_EVENT_MESSAGE_NEW = 1,		/* MessageNew: mail landed */
	NOTIFY_EVENT_MESSAGE_EXPUNGE = 2,	/* MessageExpunge */
	NOTIFY_EVENT_FLAGS_SET = 3,		/* FlagsSet */
	NOTIFY_EVENT_FLAGS_CLEAR = 4,		/* FlagsClear */
	NOTIFY_EVENT_MAILBOX_RESYNC = 5,	/* MailboxResync: resync the
						   folder (all if none) */
	NOTIFY_EVENT_MESSAGE_APPEND = 6,	/* MessageAppend: APPEND, COPY
						   or MOVE into the folder */
};

/* Why a received datagram was dropped, for the drop counters. */
enum notify_drop {
	NOTIFY_DROP_NONE = 0,		/* not dropped */
	NOTIFY_DROP_SIZE,		/* outside 40..1200, or short for type */
	NOTIFY_DROP_VERSION,		/* not version 1 */
	NOTIFY_DROP_TYPE,		/* unknown type or wrong direction */
	NOTIFY_DROP_ID,			/* unknown registration (caller) */
	NOTIFY_DROP_EPOCH,		/* not an epoch the keys are for */
	NOTIFY_DROP_TAG,		/* authentication failed */
	NOTIFY_DROP_REPLAY,		/* packet number already seen or old */
	NOTIFY_DROP_PAYLOAD,		/* authentic but malformed payload */
};
#define NOTIFY_DROP_COUNT (NOTIFY_DROP_PAYLOAD + 1)

/* The cleartext header; all of it is the AEAD's associated data. */
struct notify_header {
	uint8_t version;	/* NOTIFY_VERSION */
	uint8_t type;		/* enum notify_type (a wire byte when read) */
	uint16_t reserved;	/* sent as 0, authenticated, not checked */
	uint64_t id;		/* registration id ("0102..08" is 0x0102..08) */
	uint32_t epoch;		/* the server's epoch */
	uint64_t pn;		/* packet number per direction and epoch */
};

/* The key of one registration in one epoch, as one direction uses it
 * (both directions share the key; the direction is in the nonce). */
struct notify_keys {
	enum notify_dir dir;		/* who seals with it */
	uint32_t epoch;			/* the epoch it was derived for */
	unsigned char key[NOTIFY_KEY_LEN];
};

/* A 64-entry sliding replay window (section 4.1 step 5). */
struct notify_replay {
	bool any;		/* has any packet number been committed? */
	uint64_t top;		/* the highest committed packet number */
	uint64_t seen;		/* bit i: top - i was committed */
};

/* ---- Payloads (sections 3.3 to 3.5) ---- */

struct notify_hello {
	unsigned char nonce[NOTIFY_NONCE_LEN];	/* random, echoed back */
};

struct notify_challenge {
	unsigned char nonce[NOTIFY_NONCE_LEN];	/* the HELLO's nonce */
	unsigned char cookie[NOTIFY_COOKIE_LEN];
	struct sockaddr_storage observed;	/* AF_INET or AF_INET6 */
};

struct notify_verify {
	unsigned char cookie[NOTIFY_COOKIE_LEN];
};

struct notify_status {
	uint16_t keepalive;	/* seconds between keepalives */
	uint16_t flags;		/* NOTIFY_STATUS_FLAG_* */
	uint32_t lease;		/* seconds left on the lease */
	uint64_t last_event;	/* last EVENT number sent this epoch (0) */
	struct sockaddr_storage observed;	/* AF_INET or AF_INET6 */
};

struct notify_keepalive {
	uint64_t ack;		/* cumulative ack, 0: no event yet */
};

struct notify_ack {
	uint64_t ack;		/* cumulative ack */
};

struct notify_event {
	uint64_t number;		/* per registration and epoch, from 1 */
	enum notify_event_type type;	/* unknown codes read as RESYNC */
	uint32_t uidvalidity;
	uint32_t uid;			/* 0 for MailboxResync */
	uint32_t uidnext;		/* the folder after the change */
	uint32_t messages;
	uint32_t unseen;
	size_t folder_len;		/* 0..NOTIFY_FOLDER_MAX */
	char folder[NOTIFY_FOLDER_MAX + 1];	/* modified UTF-7, NUL-ended;
						   empty: every folder */
};

/* One decoded payload, or one to encode. */
struct notify_msg {
	enum notify_type type;		/* says which member is used */
	union {
		struct notify_hello hello;
		struct notify_challenge challenge;
		struct notify_verify verify;
		struct notify_status status;
		struct notify_keepalive keepalive;
		struct notify_ack ack;
		struct notify_event event;
	};
};

/* ---- Names ---- */

/* The direction a datagram type is sent in. Returns 0, or -1 for a code
 * that is no type. */
int notify_type_dir(unsigned int type, enum notify_dir *dir_r);
/* "HELLO", "EVENT"...; "unknown" for anything else. Never NULL. */
const char *notify_type_name(unsigned int type);
/* "MessageNew", "MailboxResync"...; "unknown" for anything else. */
const char *notify_event_type_name(enum notify_event_type type);
/* The event type of a name, compared without regard to case. Returns 0,
 * or -1 (nothing set) for a name that is not one. */
int notify_event_type_from_name(const char *name,
    enum notify_event_type *type_r);
/* A short lower-case label for a drop reason ("tag", "replay"...), for
 * log lines and metrics. Never NULL. */
const char *notify_drop_name(enum notify_drop drop);

/* ---- Keys (section 3.2) ---- */

/*
 * Derive the key of epoch from a registration secret with HKDF-SHA256,
 * for direction dir to use (the other direction uses the same key with
 * its own nonces: copy it and set dir). Returns 0, or -1 if OpenSSL
 * fails (keys_r is then zeroed). Wipe the keys with notify_keys_wipe()
 * when done. Each
 * call counts in mb_stats.notify_key_derivations_total: it allocates
 * and costs several HMACs, so a server derives once per registration
 * and epoch and keeps the result, never once per datagram.
 */
int notify_keys_derive(const unsigned char secret[NOTIFY_SECRET_LEN],
    enum notify_dir dir, uint32_t epoch, struct notify_keys *keys_r);
/*
 * A registration's secret as this server makes it: HKDF-Expand of its
 * master key over the registration's id and the epoch it was created
 * in, so a registration needs no secret stored beside it. The client
 * cannot tell it from 32 random bytes. Returns 0, or -1 if OpenSSL
 * fails (secret_r is then zeroed).
 */
int notify_secret_derive(const unsigned char master[NOTIFY_MASTER_KEY_LEN],
    uint64_t id, uint32_t created_epoch,
    unsigned char secret_r[NOTIFY_SECRET_LEN]);
/* Overwrite keys so no copy of them is left in this memory. */
void notify_keys_wipe(struct notify_keys *keys);

/* Fill buf with len cryptographically random bytes (nonces, ids,
 * secrets, the cookie key). Returns 0, or -1 if the generator failed. */
int notify_random(void *buf, size_t len);

/* ---- Sealing and opening ---- */

/*
 * ChaCha20-Poly1305 contexts set up once and reused, so sealing and
 * opening a datagram with them neither fetches the cipher nor
 * allocates: what a server keeps for its receive path. One per thread.
 * notify_aead_new() returns NULL if OpenSSL fails.
 */
struct notify_aead;
struct notify_aead *notify_aead_new(void);
void notify_aead_free(struct notify_aead **aeadp);

/*
 * Seal a datagram: hdr (version is set to 1 and reserved to 0 here, the
 * epoch must equal keys->epoch and the type must be one that keys->dir
 * sends) and the payload, encrypted, followed by the tag. out may not
 * overlap payload. Writes NOTIFY_OVERHEAD + payload_len bytes.
 * Returns 0 with *len_r set, or -1 (nothing usable in out) when the
 * arguments break those rules, the datagram would exceed out_size or
 * NOTIFY_DATAGRAM_MAX, or OpenSSL fails.
 */
int notify_proto_seal(const struct notify_keys *keys,
    const struct notify_header *hdr, const unsigned char *payload,
    size_t payload_len, unsigned char *out, size_t out_size, size_t *len_r);
/* The same with aead's context (NULL: a one-off context, as above). */
int notify_proto_seal_with(struct notify_aead *aead,
    const struct notify_keys *keys, const struct notify_header *hdr,
    const unsigned char *payload, size_t payload_len, unsigned char *out,
    size_t out_size, size_t *len_r);

/*
 * Step 1 of section 4.1, before any lookup or cryptography: the size is
 * within NOTIFY_DATAGRAM_MIN..NOTIFY_DATAGRAM_MAX and large enough for
 * the type's fixed fields (NOTIFY_PADDED_MIN for HELLO, VERIFY and
 * KEEPALIVE), the version is 1 and the type is one that dir sends.
 * dir is the direction the datagram travels in (a server reads C2S).
 * Returns 0 with *hdr_r filled, or -1 with *drop_r set.
 */
int notify_proto_peek(const unsigned char *dgram, size_t len,
    enum notify_dir dir, struct notify_header *hdr_r,
    enum notify_drop *drop_r);

/*
 * Steps 1 and 4 of section 4.1 (and the epoch of step 3 against
 * keys->epoch): check the datagram as notify_proto_peek() does for
 * keys->dir, then verify the tag and decrypt. plain_r must have room for
 * len - NOTIFY_OVERHEAD bytes (at most NOTIFY_PAYLOAD_MAX) and may not
 * overlap dgram. Returns 0 with *hdr_r, plain_r and *plain_len_r set,
 * or -1 with *drop_r set (and plain_r wiped). Does not look at the
 * replay window: the caller does that next, after this succeeded.
 */
int notify_proto_open(const struct notify_keys *keys,
    const unsigned char *dgram, size_t len, struct notify_header *hdr_r,
    unsigned char *plain_r, size_t *plain_len_r, enum notify_drop *drop_r);
/* The same with aead's context (NULL: a one-off context): no
 * allocation at all on the way to the tag check. */
int notify_proto_open_with(struct notify_aead *aead,
    const struct notify_keys *keys, const unsigned char *dgram, size_t len,
    struct notify_header *hdr_r, unsigned char *plain_r,
    size_t *plain_len_r, enum notify_drop *drop_r);

/* ---- The replay window (step 5) ---- */

/* An empty window: any packet number is new. */
void notify_replay_init(struct notify_replay *win);
/* Whether pn may be accepted: above the highest committed, or within the
 * NOTIFY_REPLAY_WINDOW numbers up to it and not committed yet. Changes
 * nothing: call it after the tag verified, and commit only once the
 * datagram is accepted. */
bool notify_replay_check(const struct notify_replay *win, uint64_t pn);
/* Record pn as seen, sliding the window when pn is above the highest.
 * pn must have passed notify_replay_check(). */
void notify_replay_commit(struct notify_replay *win, uint64_t pn);

/* ---- Payload encoding ---- */

/*
 * Encode msg as the payload of its type, padded as section 3 demands:
 * HELLO, VERIFY and KEEPALIVE so the datagram is NOTIFY_PADDED_MIN bytes,
 * EVENT to a multiple of NOTIFY_EVENT_PAD_UNIT and at least
 * NOTIFY_PADDED_MIN in all. An EVENT whose folder is longer than
 * NOTIFY_FOLDER_MAX, or holds a byte outside printable ASCII, goes out
 * as MailboxResync with an empty folder and zero UIDs and counts; an
 * event type outside the enum as MailboxResync for its folder.
 * Returns 0 with *len_r set, or -1 if buf (size bytes; NOTIFY_PAYLOAD_MAX
 * always suffices) is too small, the type is unknown or an observed
 * address is not AF_INET or AF_INET6.
 */
int notify_proto_encode(const struct notify_msg *msg, unsigned char *buf,
    size_t size, size_t *len_r);

/*
 * Decode the payload of a datagram of the given type (from its header).
 * Bytes after the fixed fields (and after an EVENT's folder) are padding
 * and ignored; an unknown event type reads as MailboxResync. Returns 0
 * with *msg_r filled, or -1 with *drop_r set to NOTIFY_DROP_TYPE for an
 * unknown type, NOTIFY_DROP_SIZE when a HELLO, VERIFY or KEEPALIVE
 * payload is shorter than padding demands, and NOTIFY_DROP_PAYLOAD for
 * anything else malformed: short fields, an address family other than 4
 * or 6 (or an IPv4 address with bytes after its 4), a folder longer than
 * NOTIFY_FOLDER_MAX or than the payload, or a folder byte outside
 * printable ASCII.
 */
int notify_proto_decode(unsigned int type, const unsigned char *payload,
    size_t len, struct notify_msg *msg_r, enum notify_drop *drop_r);

/*
 * Encode msg and seal it under keys with id, keys->epoch and pn: what a
 * sender calls. Same return and buffer rules as notify_proto_seal().
 */
int notify_proto_build(const struct notify_keys *keys, uint64_t id,
    uint64_t pn, const struct notify_msg *msg, unsigned char *out,
    size_t out_size, size_t *len_r);
/* The same with aead's context (NULL: a one-off context). */
int notify_proto_build_with(struct notify_aead *aead,
    const struct notify_keys *keys, uint64_t id, uint64_t pn,
    const struct notify_msg *msg, unsigned char *out, size_t out_size,
    size_t *len_r);

/* ---- Observed addresses (section 3.3) ---- */

/*
 * Encode an AF_INET or AF_INET6 address and port as the 20-byte observed
 * address. An IPv4-mapped IPv6 address (::ffff:a.b.c.d, as a dual-stack
 * socket reports IPv4 peers) is encoded as family 4. Returns 0, or -1
 * for any other family.
 */
int notify_addr_encode(const struct sockaddr *sa,
    unsigned char out[NOTIFY_ADDR_LEN]);
/* Decode a 20-byte observed address into an AF_INET or AF_INET6
 * sockaddr (*sslen_r, if not NULL, gets its length). Returns 0, or -1
 * for a family other than 4 or 6 or an IPv4 address with nonzero bytes
 * after its first 4. */
int notify_addr_decode(const unsigned char in[NOTIFY_ADDR_LEN],
    struct sockaddr_storage *ss_r, socklen_t *sslen_r);
/* Whether two addresses are the same endpoint as the protocol sees it
 * (their encodings are equal); false if either cannot be encoded. */
bool notify_addr_equal(const struct sockaddr *a, const struct sockaddr *b);

/* ---- Cookies (section 4.2) ---- */

/*
 * The cookie for endpoint addr of registration id in epoch at Unix time
 * now: the first 16 bytes of HMAC-SHA256, under the server's cookie key,
 * of id (8) || epoch (4) || addr as an observed address (20) || time
 * slot now / NOTIFY_COOKIE_SLOT_SECS (8). Returns 0, or -1 for an
 * address notify_addr_encode() refuses, a negative time, or an OpenSSL
 * failure.
 */
int notify_cookie_make(const unsigned char key[NOTIFY_COOKIE_KEY_LEN],
    uint64_t id, uint32_t epoch, const struct sockaddr *addr, time_t now,
    unsigned char cookie_r[NOTIFY_COOKIE_LEN]);
/* Whether cookie is the one for these inputs in the time slot of now or
 * the slot before it, compared in constant time. */
bool notify_cookie_verify(const unsigned char key[NOTIFY_COOKIE_KEY_LEN],
    uint64_t id, uint32_t epoch, const struct sockaddr *addr, time_t now,
    const unsigned char cookie[NOTIFY_COOKIE_LEN]);

#endif
