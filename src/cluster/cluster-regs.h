/*
 * What a node keeps in the mailbell-registrations bucket so that a
 * machine taking its place resumes its notifier (doc/cluster.md 6): the
 * epoch, the master key and the registrations file, sealed together
 * with ChaCha20-Poly1305 under a key derived from the cluster secret,
 * and cut into pieces small enough for one NATS message each. Pure (no
 * I/O): the daemon's threads, the unit tests and the fuzzer use it.
 */
#ifndef MB_CLUSTER_CLUSTER_REGS_H
#define MB_CLUSTER_CLUSTER_REGS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/limits.h"

/* The notifier's master key (NOTIFY_MASTER_KEY_LEN). */
#define CLUSTER_REGS_MASTER_LEN 32
/* The sealing key, the nonce and the tag. */
#define CLUSTER_REGS_KEY_LEN 32
#define CLUSTER_REGS_NONCE_LEN 12
#define CLUSTER_REGS_TAG_LEN 16
/* The head of the first piece: magic, sealed length, pieces. */
#define CLUSTER_REGS_MAGIC "MBR1"
#define CLUSTER_REGS_HEAD_LEN 12
/* Sealed bytes beyond the registrations: nonce, epoch, master key,
 * tag. */
#define CLUSTER_REGS_OVERHEAD (CLUSTER_REGS_NONCE_LEN + 4 + \
	CLUSTER_REGS_MASTER_LEN + CLUSTER_REGS_TAG_LEN)
/* The registrations text one node may keep: every piece full. */
#define CLUSTER_REGS_TEXT_MAX ((size_t)CLUSTER_REGS_PIECE_MAX * \
	CLUSTER_REGS_PIECES_MAX - CLUSTER_REGS_HEAD_LEN - \
	CLUSTER_REGS_OVERHEAD)

/* A node's notifier state, as sealed. */
struct cluster_regs_state {
	uint32_t epoch;			/* the epoch it runs under */
	unsigned char master[CLUSTER_REGS_MASTER_LEN];
	char *text;			/* the registrations file, NUL
					   terminated (owned, wipe it) */
	size_t len;			/* its length */
};

/* The sealing key: HKDF-SHA256 of the cluster secret. 0 or -1. */
int cluster_regs_key(const char *secret,
    unsigned char key_r[CLUSTER_REGS_KEY_LEN]);

/*
 * Seal st for node under key with a fresh random nonce (the node's name
 * is authenticated with it, so one node's value cannot pass for
 * another's) and cut it into pieces: the first (the value of key
 * <node>) starts with the head, the others are <node>.1, <node>.2...
 * Returns the whole (xmalloc'd, *len_r bytes) and fills piece_r[] with
 * the pieces' offsets and lengths in it; *pieces_r of them. -1 if
 * st->len is over CLUSTER_REGS_TEXT_MAX or sealing fails.
 */
unsigned char *cluster_regs_seal(const unsigned char key[CLUSTER_REGS_KEY_LEN],
    const char *node, const struct cluster_regs_state *st, size_t *len_r,
    size_t piece_off_r[CLUSTER_REGS_PIECES_MAX],
    size_t piece_len_r[CLUSTER_REGS_PIECES_MAX], unsigned *pieces_r);

/* The pieces read back, joined. */
struct cluster_regs_reader {
	unsigned char *data;		/* head and sealed bytes so far */
	size_t total;			/* their length when complete */
	size_t have;
	unsigned pieces;		/* as the head says */
	unsigned next;			/* the piece expected next */
};

/*
 * Take the first piece (len bytes of the value of key <node>), then
 * each other in order. Returns 1 when every piece is in, 0 when piece
 * r->next is wanted, -1 with *reason_r when the bytes cannot be a piece
 * of a sealed value (a bad head, a piece longer than the rest). Free
 * with cluster_regs_reader_free() in every case.
 */
int cluster_regs_read_first(struct cluster_regs_reader *r, const void *data,
    size_t len, const char **reason_r);
int cluster_regs_read_next(struct cluster_regs_reader *r, const void *data,
    size_t len, const char **reason_r);
void cluster_regs_reader_free(struct cluster_regs_reader *r);

/*
 * Open what r joined for node under key into *st_r. Returns 0, or -1
 * with *reason_r when it does not authenticate (another key, another
 * node, pieces of two writes mixed) or is not a valid state.
 */
int cluster_regs_open(const unsigned char key[CLUSTER_REGS_KEY_LEN],
    const char *node, const struct cluster_regs_reader *r,
    struct cluster_regs_state *st_r, const char **reason_r);
/* Wipe and free st's text. */
void cluster_regs_state_clear(struct cluster_regs_state *st);

#endif
