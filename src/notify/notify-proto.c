/*
 * The notification datagrams of doc/notify-protocol.md: HKDF key
 * schedule, ChaCha20-Poly1305 sealing and opening, the replay window
 * and the stateless cookie (payloads and addresses are in
 * notify-payload.c). All cryptography is OpenSSL's; nothing here keeps
 * state between calls but the cipher contexts a caller may keep in a
 * struct notify_aead.
 */
#include "notify/notify-proto.h"
#include "notify/notify-proto-private.h"

#include <limits.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "lib/hkdf.h"
#include "lib/stats.h"

/* HKDF-Extract salt, and the HKDF-Expand label (the epoch follows it). */
#define NOTIFY_HKDF_SALT "mailbell notify v1"
#define NOTIFY_HKDF_LABEL "mailbell v1 key"
/* The server's own: how it makes a registration's secret (section 3.2). */
#define NOTIFY_SECRET_LABEL "mailbell v1 secret"

/* Bytes of the cookie's MAC input: id, epoch, address, time slot. */
#define NOTIFY_COOKIE_INPUT_LEN (8 + 4 + NOTIFY_ADDR_LEN + 8)

/* ---- Names ---- */

static const char *const type_names[] = {
	[NOTIFY_TYPE_HELLO] = "HELLO",
	[NOTIFY_TYPE_CHALLENGE] = "CHALLENGE",
	[NOTIFY_TYPE_VERIFY] = "VERIFY",
	[NOTIFY_TYPE_STATUS] = "STATUS",
	[NOTIFY_TYPE_KEEPALIVE] = "KEEPALIVE",
	[NOTIFY_TYPE_ACK] = "ACK",
	[NOTIFY_TYPE_EVENT] = "EVENT",
};

/* The smallest datagram of each type: its fixed fields, or the padding
 * the protocol demands. 0: not a type. */
static const size_t type_min_size[] = {
	[NOTIFY_TYPE_HELLO] = NOTIFY_PADDED_MIN,
	[NOTIFY_TYPE_CHALLENGE] = NOTIFY_OVERHEAD + NOTIFY_CHALLENGE_LEN,
	[NOTIFY_TYPE_VERIFY] = NOTIFY_PADDED_MIN,
	[NOTIFY_TYPE_STATUS] = NOTIFY_OVERHEAD + NOTIFY_STATUS_LEN,
	[NOTIFY_TYPE_KEEPALIVE] = NOTIFY_PADDED_MIN,
	[NOTIFY_TYPE_ACK] = NOTIFY_OVERHEAD + NOTIFY_ACK_LEN,
	[NOTIFY_TYPE_EVENT] = NOTIFY_OVERHEAD + NOTIFY_EVENT_FIXED_LEN,
};

size_t
notify_proto_min_size(unsigned int type)
{
	return type < sizeof(type_min_size) / sizeof(type_min_size[0]) ?
	    type_min_size[type] : 0;
}

static const char *const event_names[] = {
	[NOTIFY_EVENT_MESSAGE_NEW] = "MessageNew",
	[NOTIFY_EVENT_MESSAGE_EXPUNGE] = "MessageExpunge",
	[NOTIFY_EVENT_FLAGS_SET] = "FlagsSet",
	[NOTIFY_EVENT_FLAGS_CLEAR] = "FlagsClear",
	[NOTIFY_EVENT_MAILBOX_RESYNC] = "MailboxResync",
	[NOTIFY_EVENT_MESSAGE_APPEND] = "MessageAppend",
};

static const char *const drop_names[NOTIFY_DROP_COUNT] = {
	[NOTIFY_DROP_NONE] = "none",
	[NOTIFY_DROP_SIZE] = "size",
	[NOTIFY_DROP_VERSION] = "version",
	[NOTIFY_DROP_TYPE] = "type",
	[NOTIFY_DROP_ID] = "id",
	[NOTIFY_DROP_EPOCH] = "epoch",
	[NOTIFY_DROP_TAG] = "tag",
	[NOTIFY_DROP_REPLAY] = "replay",
	[NOTIFY_DROP_PAYLOAD] = "payload",
};

int
notify_type_dir(unsigned int type, enum notify_dir *dir_r)
{
	switch (type) {
	case NOTIFY_TYPE_HELLO:
	case NOTIFY_TYPE_VERIFY:
	case NOTIFY_TYPE_KEEPALIVE:
	case NOTIFY_TYPE_ACK:
		*dir_r = NOTIFY_DIR_C2S;
		return 0;
	case NOTIFY_TYPE_CHALLENGE:
	case NOTIFY_TYPE_STATUS:
	case NOTIFY_TYPE_EVENT:
		*dir_r = NOTIFY_DIR_S2C;
		return 0;
	default:
		return -1;
	}
}

const char *
notify_type_name(unsigned int type)
{
	enum notify_dir dir;

	if (notify_type_dir(type, &dir) < 0)
		return "unknown";
	return type_names[type];
}

const char *
notify_event_type_name(enum notify_event_type type)
{
	if ((unsigned int)type >= sizeof(event_names) / sizeof(event_names[0]) ||
	    event_names[type] == NULL)
		return "unknown";
	return event_names[type];
}

int
notify_event_type_from_name(const char *name, enum notify_event_type *type_r)
{
	for (size_t i = 0; i < sizeof(event_names) / sizeof(event_names[0]);
	    i++) {
		if (event_names[i] != NULL &&
		    strcasecmp(name, event_names[i]) == 0) {
			*type_r = (enum notify_event_type)i;
			return 0;
		}
	}
	return -1;
}

const char *
notify_drop_name(enum notify_drop drop)
{
	if ((unsigned int)drop >= NOTIFY_DROP_COUNT)
		return "unknown";
	return drop_names[drop];
}

/* ---- Keys ---- */

int
notify_keys_derive(const unsigned char secret[NOTIFY_SECRET_LEN],
    enum notify_dir dir, uint32_t epoch, struct notify_keys *keys_r)
{
	unsigned char prk[32], info[sizeof(NOTIFY_HKDF_LABEL) - 1 + 4];
	int ret = -1;

	memset(keys_r, 0, sizeof(*keys_r));
	if (dir != NOTIFY_DIR_C2S && dir != NOTIFY_DIR_S2C)
		return -1;
	mb_stats.notify_key_derivations_total++;
	/* key = HKDF-Expand(PRK, "mailbell v1 key" || epoch, 32) */
	memcpy(info, NOTIFY_HKDF_LABEL, sizeof(NOTIFY_HKDF_LABEL) - 1);
	put32(info + sizeof(NOTIFY_HKDF_LABEL) - 1, epoch);
	if (hkdf_sha256(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, secret,
	    NOTIFY_SECRET_LEN, (const unsigned char *)NOTIFY_HKDF_SALT,
	    strlen(NOTIFY_HKDF_SALT), NULL, 0, prk, sizeof(prk)) < 0 ||
	    hkdf_sha256(EVP_KDF_HKDF_MODE_EXPAND_ONLY, prk, sizeof(prk), info,
	    sizeof(info), NULL, 0, keys_r->key, sizeof(keys_r->key)) < 0)
		goto out;
	keys_r->dir = dir;
	keys_r->epoch = epoch;
	ret = 0;
out:
	OPENSSL_cleanse(prk, sizeof(prk));
	if (ret < 0)
		notify_keys_wipe(keys_r);
	return ret;
}

int
notify_secret_derive(const unsigned char master[NOTIFY_MASTER_KEY_LEN],
    uint64_t id, uint32_t created_epoch,
    unsigned char secret_r[NOTIFY_SECRET_LEN])
{
	unsigned char info[sizeof(NOTIFY_SECRET_LABEL) - 1 + 8 + 4];
	size_t n = sizeof(NOTIFY_SECRET_LABEL) - 1;

	/* secret = HKDF-Expand(master, "mailbell v1 secret" || id ||
	 * created epoch, 32): the master key is uniformly random, so it
	 * serves as the PRK without an extract step. */
	memcpy(info, NOTIFY_SECRET_LABEL, n);
	put64(info + n, id);
	put32(info + n + 8, created_epoch);
	if (hkdf_sha256(EVP_KDF_HKDF_MODE_EXPAND_ONLY, master,
	    NOTIFY_MASTER_KEY_LEN, info, sizeof(info), NULL, 0, secret_r,
	    NOTIFY_SECRET_LEN) < 0) {
		OPENSSL_cleanse(secret_r, NOTIFY_SECRET_LEN);
		return -1;
	}
	return 0;
}

void
notify_keys_wipe(struct notify_keys *keys)
{
	OPENSSL_cleanse(keys, sizeof(*keys));
}

int
notify_random(void *buf, size_t len)
{
	if (len > INT_MAX)
		return -1;
	return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

/* ---- Sealing and opening ---- */

static void
header_write(const struct notify_header *hdr, unsigned char *p)
{
	p[0] = NOTIFY_VERSION;
	p[1] = hdr->type;
	put16(p + 2, 0);
	put64(p + 4, hdr->id);
	put32(p + 12, hdr->epoch);
	put64(p + 16, hdr->pn);
}

static void
header_read(const unsigned char *p, struct notify_header *hdr_r)
{
	hdr_r->version = p[0];
	hdr_r->type = p[1];
	hdr_r->reserved = get16(p + 2);
	hdr_r->id = get64(p + 4);
	hdr_r->epoch = get32(p + 12);
	hdr_r->pn = get64(p + 16);
}

/* nonce = direction (0 c2s, 1 s2c) || 3 zero bytes || pn as 8 bytes,
 * section 3.2: the two directions share the key, never a nonce. */
static void
make_nonce(const struct notify_keys *keys, uint64_t pn,
    unsigned char nonce[NOTIFY_IV_LEN])
{
	memset(nonce, 0, NOTIFY_IV_LEN);
	nonce[0] = keys->dir == NOTIFY_DIR_S2C ? 1 : 0;
	put64(nonce + 4, pn);
}

/* ---- Cipher contexts ---- */

struct notify_aead {
	EVP_CIPHER_CTX *enc;		/* ChaCha20-Poly1305, sealing */
	EVP_CIPHER_CTX *dec;		/* ChaCha20-Poly1305, opening */
};

struct notify_aead *
notify_aead_new(void)
{
	struct notify_aead *aead;
	EVP_CIPHER *cipher;
	int ok;

	aead = OPENSSL_zalloc(sizeof(*aead));
	cipher = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
	if (aead == NULL || cipher == NULL)
		goto fail;
	aead->enc = EVP_CIPHER_CTX_new();
	aead->dec = EVP_CIPHER_CTX_new();
	ok = aead->enc != NULL && aead->dec != NULL &&
	    EVP_EncryptInit_ex2(aead->enc, cipher, NULL, NULL, NULL) == 1 &&
	    EVP_DecryptInit_ex2(aead->dec, cipher, NULL, NULL, NULL) == 1;
	EVP_CIPHER_free(cipher);
	if (!ok)
		notify_aead_free(&aead);
	return aead;
fail:
	EVP_CIPHER_free(cipher);
	OPENSSL_free(aead);
	return NULL;
}

void
notify_aead_free(struct notify_aead **aeadp)
{
	struct notify_aead *aead = *aeadp;

	if (aead == NULL)
		return;
	*aeadp = NULL;
	EVP_CIPHER_CTX_free(aead->enc);
	EVP_CIPHER_CTX_free(aead->dec);
	OPENSSL_free(aead);
}

/* The context to seal (enc) or open with: aead's, kept set up for the
 * cipher so only the key and nonce change, or a one-off one (*own_r,
 * to be freed) when aead is NULL. Keys and nonce are set. */
static EVP_CIPHER_CTX *
aead_ctx(struct notify_aead *aead, int enc, const unsigned char *key,
    const unsigned char *nonce, EVP_CIPHER_CTX **own_r)
{
	EVP_CIPHER_CTX *ctx;

	*own_r = NULL;
	if (aead != NULL) {
		ctx = enc ? aead->enc : aead->dec;
		if (EVP_CipherInit_ex2(ctx, NULL, key, nonce, enc, NULL) != 1)
			return NULL;
		return ctx;
	}
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL)
		return NULL;
	*own_r = ctx;
	if (EVP_CipherInit_ex(ctx, EVP_chacha20_poly1305(), NULL, key, nonce,
	    enc) != 1)
		return NULL;
	return ctx;
}

int
notify_proto_seal_with(struct notify_aead *aead,
    const struct notify_keys *keys, const struct notify_header *hdr,
    const unsigned char *payload, size_t payload_len, unsigned char *out,
    size_t out_size, size_t *len_r)
{
	unsigned char nonce[NOTIFY_IV_LEN];
	EVP_CIPHER_CTX *ctx, *own;
	enum notify_dir dir;
	size_t total;
	int n, ret = -1;

	if (notify_type_dir(hdr->type, &dir) < 0 || dir != keys->dir ||
	    hdr->epoch != keys->epoch)
		return -1;
	if (payload_len > NOTIFY_PAYLOAD_MAX)
		return -1;
	total = NOTIFY_OVERHEAD + payload_len;
	if (total > out_size)
		return -1;

	header_write(hdr, out);
	make_nonce(keys, hdr->pn, nonce);
	ctx = aead_ctx(aead, 1, keys->key, nonce, &own);
	if (ctx == NULL)
		goto out;
	if (EVP_EncryptUpdate(ctx, NULL, &n, out, NOTIFY_HEADER_LEN) != 1)
		goto out;
	if (payload_len > 0 && (EVP_EncryptUpdate(ctx,
	    out + NOTIFY_HEADER_LEN, &n, payload, (int)payload_len) != 1 ||
	    (size_t)n != payload_len))
		goto out;
	if (EVP_EncryptFinal_ex(ctx, out + NOTIFY_HEADER_LEN + payload_len,
	    &n) != 1 || n != 0)
		goto out;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, NOTIFY_TAG_LEN,
	    out + NOTIFY_HEADER_LEN + payload_len) != 1)
		goto out;
	*len_r = total;
	ret = 0;
out:
	EVP_CIPHER_CTX_free(own);
	if (ret < 0)
		OPENSSL_cleanse(out, total);
	return ret;
}

int
notify_proto_seal(const struct notify_keys *keys,
    const struct notify_header *hdr, const unsigned char *payload,
    size_t payload_len, unsigned char *out, size_t out_size, size_t *len_r)
{
	return notify_proto_seal_with(NULL, keys, hdr, payload, payload_len,
	    out, out_size, len_r);
}

int
notify_proto_peek(const unsigned char *dgram, size_t len,
    enum notify_dir dir, struct notify_header *hdr_r,
    enum notify_drop *drop_r)
{
	enum notify_dir type_dir;

	if (len < NOTIFY_DATAGRAM_MIN || len > NOTIFY_DATAGRAM_MAX) {
		*drop_r = NOTIFY_DROP_SIZE;
		return -1;
	}
	if (dgram[0] != NOTIFY_VERSION) {
		*drop_r = NOTIFY_DROP_VERSION;
		return -1;
	}
	if (notify_type_dir(dgram[1], &type_dir) < 0 || type_dir != dir) {
		*drop_r = NOTIFY_DROP_TYPE;
		return -1;
	}
	if (len < type_min_size[dgram[1]]) {
		*drop_r = NOTIFY_DROP_SIZE;
		return -1;
	}
	header_read(dgram, hdr_r);
	*drop_r = NOTIFY_DROP_NONE;
	return 0;
}

int
notify_proto_open_with(struct notify_aead *aead,
    const struct notify_keys *keys, const unsigned char *dgram, size_t len,
    struct notify_header *hdr_r, unsigned char *plain_r,
    size_t *plain_len_r, enum notify_drop *drop_r)
{
	unsigned char nonce[NOTIFY_IV_LEN];
	unsigned char tag[NOTIFY_TAG_LEN];
	struct notify_header hdr;
	EVP_CIPHER_CTX *ctx, *own;
	size_t clen;
	int n, ret = -1;

	if (notify_proto_peek(dgram, len, keys->dir, &hdr, drop_r) < 0)
		return -1;
	if (hdr.epoch != keys->epoch) {
		*drop_r = NOTIFY_DROP_EPOCH;
		return -1;
	}
	clen = len - NOTIFY_OVERHEAD;
	/* OpenSSL may write to the tag buffer it is given; keep ours. */
	memcpy(tag, dgram + len - NOTIFY_TAG_LEN, NOTIFY_TAG_LEN);
	make_nonce(keys, hdr.pn, nonce);

	*drop_r = NOTIFY_DROP_TAG;
	ctx = aead_ctx(aead, 0, keys->key, nonce, &own);
	if (ctx == NULL)
		goto out;
	if (EVP_DecryptUpdate(ctx, NULL, &n, dgram, NOTIFY_HEADER_LEN) != 1)
		goto out;
	if (clen > 0 && (EVP_DecryptUpdate(ctx, plain_r, &n,
	    dgram + NOTIFY_HEADER_LEN, (int)clen) != 1 || (size_t)n != clen))
		goto out;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, NOTIFY_TAG_LEN,
	    tag) != 1)
		goto out;
	/* The tag check: OpenSSL compares in constant time. */
	if (EVP_DecryptFinal_ex(ctx, plain_r + clen, &n) != 1 || n != 0)
		goto out;
	*hdr_r = hdr;
	*plain_len_r = clen;
	*drop_r = NOTIFY_DROP_NONE;
	ret = 0;
out:
	EVP_CIPHER_CTX_free(own);
	if (ret < 0)
		OPENSSL_cleanse(plain_r, clen);
	return ret;
}

int
notify_proto_open(const struct notify_keys *keys,
    const unsigned char *dgram, size_t len, struct notify_header *hdr_r,
    unsigned char *plain_r, size_t *plain_len_r, enum notify_drop *drop_r)
{
	return notify_proto_open_with(NULL, keys, dgram, len, hdr_r, plain_r,
	    plain_len_r, drop_r);
}

/* ---- The replay window ---- */

void
notify_replay_init(struct notify_replay *win)
{
	memset(win, 0, sizeof(*win));
}

bool
notify_replay_check(const struct notify_replay *win, uint64_t pn)
{
	uint64_t behind;

	if (!win->any || pn > win->top)
		return true;
	behind = win->top - pn;
	if (behind >= NOTIFY_REPLAY_WINDOW)
		return false;
	return (win->seen & (UINT64_C(1) << behind)) == 0;
}

void
notify_replay_commit(struct notify_replay *win, uint64_t pn)
{
	uint64_t shift;

	if (!win->any) {
		win->any = true;
		win->top = pn;
		win->seen = 1;
		return;
	}
	if (pn > win->top) {
		shift = pn - win->top;
		win->seen = shift >= NOTIFY_REPLAY_WINDOW ? 0 :
		    win->seen << shift;
		win->seen |= 1;
		win->top = pn;
		return;
	}
	if (win->top - pn < NOTIFY_REPLAY_WINDOW)
		win->seen |= UINT64_C(1) << (win->top - pn);
}

/* ---- Cookies ---- */

static int
cookie_for_slot(const unsigned char key[NOTIFY_COOKIE_KEY_LEN],
    uint64_t id, uint32_t epoch, const struct sockaddr *addr, uint64_t slot,
    unsigned char cookie_r[NOTIFY_COOKIE_LEN])
{
	unsigned char in[NOTIFY_COOKIE_INPUT_LEN];
	unsigned char mac[32];
	size_t mac_len;

	put64(in, id);
	put32(in + 8, epoch);
	if (notify_addr_encode(addr, in + 12) < 0)
		return -1;
	put64(in + 12 + NOTIFY_ADDR_LEN, slot);
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key,
	    NOTIFY_COOKIE_KEY_LEN, in, sizeof(in), mac, sizeof(mac),
	    &mac_len) == NULL || mac_len != sizeof(mac))
		return -1;
	memcpy(cookie_r, mac, NOTIFY_COOKIE_LEN);
	OPENSSL_cleanse(mac, sizeof(mac));
	return 0;
}

int
notify_cookie_make(const unsigned char key[NOTIFY_COOKIE_KEY_LEN],
    uint64_t id, uint32_t epoch, const struct sockaddr *addr, time_t now,
    unsigned char cookie_r[NOTIFY_COOKIE_LEN])
{
	if (now < 0)
		return -1;
	return cookie_for_slot(key, id, epoch, addr,
	    (uint64_t)now / NOTIFY_COOKIE_SLOT_SECS, cookie_r);
}

bool
notify_cookie_verify(const unsigned char key[NOTIFY_COOKIE_KEY_LEN],
    uint64_t id, uint32_t epoch, const struct sockaddr *addr, time_t now,
    const unsigned char cookie[NOTIFY_COOKIE_LEN])
{
	unsigned char cur[NOTIFY_COOKIE_LEN], prev[NOTIFY_COOKIE_LEN];
	uint64_t slot;
	int diff_cur, diff_prev;

	if (now < 0)
		return false;
	slot = (uint64_t)now / NOTIFY_COOKIE_SLOT_SECS;
	if (cookie_for_slot(key, id, epoch, addr, slot, cur) < 0)
		return false;
	/* In slot 0 there is no previous slot; compare against the current
	 * one twice so the work stays the same. */
	if (cookie_for_slot(key, id, epoch, addr, slot > 0 ? slot - 1 : slot,
	    prev) < 0)
		return false;
	/* Both comparisons always run, so timing tells nothing of which
	 * slot matched or how much of the cookie did. */
	diff_cur = CRYPTO_memcmp(cur, cookie, NOTIFY_COOKIE_LEN);
	diff_prev = CRYPTO_memcmp(prev, cookie, NOTIFY_COOKIE_LEN);
	return (diff_cur == 0) | (diff_prev == 0);
}
