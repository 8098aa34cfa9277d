/*
 * A node's notifier state as the mailbell-registrations bucket holds it:
 * sealed with ChaCha20-Poly1305 under a key HKDF-derived from the
 * cluster secret, so NATS never holds the master key or a secret in the
 * clear, and cut into pieces of at most CLUSTER_REGS_PIECE_MAX bytes.
 *
 *   piece 0:  "MBR1" | sealed length (4) | pieces (4) | sealed bytes...
 *   sealed:   nonce (12) | ChaCha20-Poly1305(epoch (4) | master key (32)
 *             | registrations file) | tag (16)
 *
 * Numbers are big-endian; the associated data is the 12-byte head and
 * the node's name. Every piece but the last is CLUSTER_REGS_PIECE_MAX
 * bytes long.
 */
#include "cluster/cluster-regs.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "lib/hkdf.h"
#include "lib/xmalloc.h"

#define REGS_HKDF_SALT "mailbell cluster v1"
#define REGS_HKDF_INFO "mailbell registrations key"

/* Big-endian numbers of the head and the plaintext. */
static void
put32(unsigned char *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

static uint32_t
get32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

int
cluster_regs_key(const char *secret, unsigned char key_r[CLUSTER_REGS_KEY_LEN])
{
	return hkdf_sha256(EVP_KDF_HKDF_MODE_EXTRACT_AND_EXPAND,
	    (const unsigned char *)secret, strlen(secret),
	    (const unsigned char *)REGS_HKDF_SALT, strlen(REGS_HKDF_SALT),
	    (const unsigned char *)REGS_HKDF_INFO, strlen(REGS_HKDF_INFO),
	    key_r, CLUSTER_REGS_KEY_LEN);
}

/*
 * ChaCha20-Poly1305 over in (len bytes) to out, with the head and the
 * node as associated data; sealing writes the tag at tag, opening
 * checks it. 0 or -1.
 */
static int
aead(bool seal, const unsigned char *key, const unsigned char *nonce,
    const unsigned char *head, const char *node, const unsigned char *in,
    size_t len, unsigned char *out, unsigned char *tag)
{
	EVP_CIPHER_CTX *ctx;
	int n, ok;

	if (len > INT32_MAX || (ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	ok = EVP_CipherInit_ex(ctx, EVP_chacha20_poly1305(), NULL, NULL, NULL,
	    seal) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN,
	    CLUSTER_REGS_NONCE_LEN, NULL) == 1 &&
	    EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, seal) == 1 &&
	    EVP_CipherUpdate(ctx, NULL, &n, head, CLUSTER_REGS_HEAD_LEN) == 1 &&
	    EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)node,
	    (int)strlen(node)) == 1 &&
	    (len == 0 || EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1);
	if (ok && !seal)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG,
		    CLUSTER_REGS_TAG_LEN, tag) == 1;
	if (ok)
		ok = EVP_CipherFinal_ex(ctx, out + len, &n) == 1;
	if (ok && seal)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG,
		    CLUSTER_REGS_TAG_LEN, tag) == 1;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -1;
}

unsigned char *
cluster_regs_seal(const unsigned char key[CLUSTER_REGS_KEY_LEN],
    const char *node, const struct cluster_regs_state *st, size_t *len_r,
    size_t piece_off_r[CLUSTER_REGS_PIECES_MAX],
    size_t piece_len_r[CLUSTER_REGS_PIECES_MAX], unsigned *pieces_r)
{
	unsigned char *out, *plain, *nonce, *ct;
	size_t plain_len, sealed, total, off;
	unsigned i, pieces;

	if (st->len > CLUSTER_REGS_TEXT_MAX)
		return NULL;
	plain_len = 4 + CLUSTER_REGS_MASTER_LEN + st->len;
	sealed = CLUSTER_REGS_OVERHEAD + st->len;
	total = CLUSTER_REGS_HEAD_LEN + sealed;
	pieces = (unsigned)((total + CLUSTER_REGS_PIECE_MAX - 1) /
	    CLUSTER_REGS_PIECE_MAX);
	out = xmalloc(total);
	memcpy(out, CLUSTER_REGS_MAGIC, 4);
	put32(out + 4, (uint32_t)sealed);
	put32(out + 8, pieces);
	nonce = out + CLUSTER_REGS_HEAD_LEN;
	ct = nonce + CLUSTER_REGS_NONCE_LEN;
	plain = xmalloc(plain_len);
	put32(plain, st->epoch);
	memcpy(plain + 4, st->master, CLUSTER_REGS_MASTER_LEN);
	if (st->len > 0)
		memcpy(plain + 4 + CLUSTER_REGS_MASTER_LEN, st->text, st->len);
	if (RAND_bytes(nonce, CLUSTER_REGS_NONCE_LEN) != 1 ||
	    aead(true, key, nonce, out, node, plain, plain_len, ct,
	    ct + plain_len) < 0) {
		OPENSSL_cleanse(plain, plain_len);
		free(plain);
		OPENSSL_cleanse(out, total);
		free(out);
		return NULL;
	}
	OPENSSL_cleanse(plain, plain_len);
	free(plain);
	for (i = 0, off = 0; i < pieces; i++, off += CLUSTER_REGS_PIECE_MAX) {
		piece_off_r[i] = off;
		piece_len_r[i] = total - off < CLUSTER_REGS_PIECE_MAX ?
		    total - off : CLUSTER_REGS_PIECE_MAX;
	}
	*pieces_r = pieces;
	*len_r = total;
	return out;
}

/* Append piece r->next, which must be exactly as long as the writer
 * cut it. */
static int
take_piece(struct cluster_regs_reader *r, const void *data, size_t len,
    const char **reason_r)
{
	size_t want = r->total - r->have < CLUSTER_REGS_PIECE_MAX ?
	    r->total - r->have : CLUSTER_REGS_PIECE_MAX;

	if (len != want) {
		*reason_r = "a piece of the wrong length";
		return -1;
	}
	memcpy(r->data + r->have, data, len);
	r->have += len;
	r->next++;
	return r->next == r->pieces ? 1 : 0;
}

int
cluster_regs_read_first(struct cluster_regs_reader *r, const void *data,
    size_t len, const char **reason_r)
{
	const unsigned char *p = data;
	uint64_t sealed, pieces, total;

	memset(r, 0, sizeof(*r));
	if (len < CLUSTER_REGS_HEAD_LEN || memcmp(p, CLUSTER_REGS_MAGIC, 4)) {
		*reason_r = "no head";
		return -1;
	}
	sealed = get32(p + 4);
	pieces = get32(p + 8);
	total = CLUSTER_REGS_HEAD_LEN + sealed;
	if (sealed < CLUSTER_REGS_OVERHEAD ||
	    sealed - CLUSTER_REGS_OVERHEAD > CLUSTER_REGS_TEXT_MAX ||
	    pieces != (total + CLUSTER_REGS_PIECE_MAX - 1) /
	    CLUSTER_REGS_PIECE_MAX) {
		*reason_r = "a head out of bounds";
		return -1;
	}
	r->total = (size_t)total;
	r->pieces = (unsigned)pieces;
	r->data = xmalloc(r->total);
	return take_piece(r, data, len, reason_r);
}

int
cluster_regs_read_next(struct cluster_regs_reader *r, const void *data,
    size_t len, const char **reason_r)
{
	if (r->data == NULL || r->next == 0 || r->next >= r->pieces) {
		*reason_r = "no piece wanted";
		return -1;
	}
	return take_piece(r, data, len, reason_r);
}

void
cluster_regs_reader_free(struct cluster_regs_reader *r)
{
	if (r->data != NULL) {
		OPENSSL_cleanse(r->data, r->have);
		free(r->data);
	}
	memset(r, 0, sizeof(*r));
}

int
cluster_regs_open(const unsigned char key[CLUSTER_REGS_KEY_LEN],
    const char *node, const struct cluster_regs_reader *r,
    struct cluster_regs_state *st_r, const char **reason_r)
{
	const unsigned char *nonce, *ct;
	unsigned char *plain;
	size_t plain_len;

	memset(st_r, 0, sizeof(*st_r));
	if (r->data == NULL || r->pieces == 0 || r->next != r->pieces ||
	    r->have != r->total) {
		*reason_r = "pieces missing";
		return -1;
	}
	nonce = r->data + CLUSTER_REGS_HEAD_LEN;
	ct = nonce + CLUSTER_REGS_NONCE_LEN;
	plain_len = r->total - CLUSTER_REGS_HEAD_LEN - CLUSTER_REGS_NONCE_LEN -
	    CLUSTER_REGS_TAG_LEN;
	plain = xmalloc(plain_len + 1);
	if (aead(false, key, nonce, r->data, node, ct, plain_len, plain,
	    (unsigned char *)ct + plain_len) < 0) {
		OPENSSL_cleanse(plain, plain_len);
		free(plain);
		*reason_r = "does not authenticate (another secret or node, "
		    "or a write under way)";
		return -1;
	}
	st_r->epoch = get32(plain);
	memcpy(st_r->master, plain + 4, CLUSTER_REGS_MASTER_LEN);
	st_r->len = plain_len - 4 - CLUSTER_REGS_MASTER_LEN;
	/* The text moves to the front of the same allocation. */
	memmove(plain, plain + 4 + CLUSTER_REGS_MASTER_LEN, st_r->len);
	OPENSSL_cleanse(plain + st_r->len, plain_len - st_r->len);
	plain[st_r->len] = '\0';
	st_r->text = (char *)plain;
	if (st_r->epoch == 0 || memchr(plain, '\0', st_r->len) != NULL) {
		cluster_regs_state_clear(st_r);
		*reason_r = "not a notifier state";
		return -1;
	}
	return 0;
}

void
cluster_regs_state_clear(struct cluster_regs_state *st)
{
	if (st->text != NULL) {
		OPENSSL_cleanse(st->text, st->len);
		free(st->text);
	}
	OPENSSL_cleanse(st, sizeof(*st));
}
