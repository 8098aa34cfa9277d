/*
 * A node's notifier state as sealed for the mailbell-registrations
 * bucket: a round trip in one piece and in several, every strict prefix
 * of a piece refused byte by byte, and what must not open: another
 * secret, another node, a changed byte, pieces of two writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster/cluster-regs.h"

#define SECRET "c2VjcmV0LW9mLXRoZS1tYWlsYmVsbC1ub2Rlcw"

/* The sealed pieces of one write. */
struct sealed {
	unsigned char *blob;
	size_t len;
	size_t off[CLUSTER_REGS_PIECES_MAX], plen[CLUSTER_REGS_PIECES_MAX];
	unsigned pieces;
};

static void
sample_state(struct cluster_regs_state *st, size_t len)
{
	size_t i;

	memset(st, 0, sizeof(*st));
	st->epoch = 4711;
	for (i = 0; i < CLUSTER_REGS_MASTER_LEN; i++)
		st->master[i] = (unsigned char)(0xa0 + i);
	st->text = malloc(len + 1);
	for (i = 0; i < len; i++)
		st->text[i] = i % 80 == 79 ? '\n' : (char)('a' + i % 26);
	st->text[len] = '\0';
	st->len = len;
}

static void
seal(const char *secret, const char *node,
    const struct cluster_regs_state *st, struct sealed *s)
{
	unsigned char key[CLUSTER_REGS_KEY_LEN];

	assert_int_equal(cluster_regs_key(secret, key), 0);
	s->blob = cluster_regs_seal(key, node, st, &s->len, s->off, s->plen,
	    &s->pieces);
	assert_non_null(s->blob);
}

/* Read s's pieces for node under secret: 0 with *out, or -1. */
static int
open_sealed(const char *secret, const char *node, const struct sealed *s,
    struct cluster_regs_state *out)
{
	struct cluster_regs_reader r;
	unsigned char key[CLUSTER_REGS_KEY_LEN];
	const char *reason = NULL;
	unsigned i;
	int rc;

	assert_int_equal(cluster_regs_key(secret, key), 0);
	rc = cluster_regs_read_first(&r, s->blob, s->plen[0], &reason);
	for (i = 1; rc == 0; i++)
		rc = cluster_regs_read_next(&r, s->blob + s->off[i], s->plen[i],
		    &reason);
	if (rc == 1)
		rc = cluster_regs_open(key, node, &r, out, &reason) == 0 ?
		    0 : -1;
	if (rc < 0)
		assert_non_null(reason);
	cluster_regs_reader_free(&r);
	return rc;
}

static void
check_round_trip(size_t len, unsigned pieces)
{
	struct cluster_regs_state st, out;
	struct sealed s;

	sample_state(&st, len);
	seal(SECRET, "a", &st, &s);
	assert_int_equal(s.pieces, pieces);
	assert_int_equal(s.len, CLUSTER_REGS_HEAD_LEN + CLUSTER_REGS_OVERHEAD +
	    len);
	assert_int_equal(open_sealed(SECRET, "a", &s, &out), 0);
	assert_int_equal(out.epoch, st.epoch);
	assert_memory_equal(out.master, st.master, CLUSTER_REGS_MASTER_LEN);
	assert_int_equal(out.len, len);
	assert_memory_equal(out.text, st.text, len);
	assert_int_equal(out.text[len], '\0');
	/* Sealed: the key is nowhere in the bytes NATS holds. */
	assert_null(memmem(s.blob, s.len, st.master,
	    CLUSTER_REGS_MASTER_LEN));
	cluster_regs_state_clear(&out);
	cluster_regs_state_clear(&st);
	free(s.blob);
}

static void
test_round_trip(void **state)
{
	(void)state;
	check_round_trip(0, 1);
	check_round_trip(300, 1);
	check_round_trip(CLUSTER_REGS_PIECE_MAX - CLUSTER_REGS_HEAD_LEN -
	    CLUSTER_REGS_OVERHEAD, 1);
	check_round_trip(CLUSTER_REGS_PIECE_MAX, 2);
	check_round_trip(2 * CLUSTER_REGS_PIECE_MAX + 5, 3);
}

/* Two seals of the same state differ (a fresh nonce each). */
static void
test_fresh_nonce(void **state)
{
	struct cluster_regs_state st;
	struct sealed s1, s2;

	(void)state;
	sample_state(&st, 100);
	seal(SECRET, "a", &st, &s1);
	seal(SECRET, "a", &st, &s2);
	assert_int_equal(s1.len, s2.len);
	assert_memory_not_equal(s1.blob, s2.blob, s1.len);
	cluster_regs_state_clear(&st);
	free(s1.blob);
	free(s2.blob);
}

static void
test_prefixes_refused(void **state)
{
	struct cluster_regs_state st;
	struct cluster_regs_reader r;
	struct sealed s;
	const char *reason;
	size_t i;

	(void)state;
	sample_state(&st, 200);
	seal(SECRET, "a", &st, &s);
	for (i = 0; i < s.plen[0]; i++) {
		reason = NULL;
		assert_int_equal(cluster_regs_read_first(&r, s.blob, i,
		    &reason), -1);
		assert_non_null(reason);
		cluster_regs_reader_free(&r);
	}
	/* One byte more is no piece either. */
	s.blob = realloc(s.blob, s.len + 1);
	assert_int_equal(cluster_regs_read_first(&r, s.blob, s.len + 1,
	    &reason), -1);
	cluster_regs_reader_free(&r);
	cluster_regs_state_clear(&st);
	free(s.blob);

	/* The second piece of three, byte by byte. */
	sample_state(&st, 2 * CLUSTER_REGS_PIECE_MAX);
	seal(SECRET, "a", &st, &s);
	assert_int_equal(s.pieces, 3);
	for (i = 0; i < s.plen[1]; i += i < 64 ? 1 : 4099) {
		assert_int_equal(cluster_regs_read_first(&r, s.blob, s.plen[0],
		    &reason), 0);
		assert_int_equal(cluster_regs_read_next(&r, s.blob + s.off[1],
		    i, &reason), -1);
		cluster_regs_reader_free(&r);
	}
	cluster_regs_state_clear(&st);
	free(s.blob);
}

static void
test_refused(void **state)
{
	struct cluster_regs_state st, out, st2;
	struct sealed s, s2;
	unsigned char key[CLUSTER_REGS_KEY_LEN], *blob;
	size_t len, off[CLUSTER_REGS_PIECES_MAX], plen[CLUSTER_REGS_PIECES_MAX];
	unsigned pieces;

	(void)state;
	sample_state(&st, 3000);
	seal(SECRET, "a", &st, &s);
	/* Another secret, another node. */
	assert_int_equal(open_sealed(SECRET "x", "a", &s, &out), -1);
	assert_int_equal(open_sealed(SECRET, "b", &s, &out), -1);
	/* Any changed byte, head included. */
	s.blob[s.len - 1] ^= 1;
	assert_int_equal(open_sealed(SECRET, "a", &s, &out), -1);
	s.blob[s.len - 1] ^= 1;
	s.blob[CLUSTER_REGS_HEAD_LEN + 20] ^= 0x80;
	assert_int_equal(open_sealed(SECRET, "a", &s, &out), -1);
	s.blob[CLUSTER_REGS_HEAD_LEN + 20] ^= 0x80;
	memcpy(s.blob, "MBR2", 4);
	assert_int_equal(open_sealed(SECRET, "a", &s, &out), -1);
	memcpy(s.blob, CLUSTER_REGS_MAGIC, 4);
	s.blob[11]++;		/* a piece count the length does not have */
	assert_int_equal(open_sealed(SECRET, "a", &s, &out), -1);
	s.blob[11]--;
	assert_int_equal(open_sealed(SECRET, "a", &s, &out), 0);
	cluster_regs_state_clear(&out);
	free(s.blob);
	cluster_regs_state_clear(&st);

	/* The first piece of one write, the second of another. */
	sample_state(&st, CLUSTER_REGS_PIECE_MAX + 10);
	sample_state(&st2, CLUSTER_REGS_PIECE_MAX + 10);
	st2.epoch++;
	seal(SECRET, "a", &st, &s);
	seal(SECRET, "a", &st2, &s2);
	memcpy(s.blob + s.off[1], s2.blob + s2.off[1], s.plen[1]);
	assert_int_equal(open_sealed(SECRET, "a", &s, &out), -1);
	free(s.blob);
	free(s2.blob);
	cluster_regs_state_clear(&st2);
	cluster_regs_state_clear(&st);

	/* A state over the bound is not sealed. */
	sample_state(&st, 10);
	st.len = CLUSTER_REGS_TEXT_MAX + 1;
	assert_int_equal(cluster_regs_key(SECRET, key), 0);
	blob = cluster_regs_seal(key, "a", &st, &len, off, plen, &pieces);
	assert_null(blob);
	st.len = 10;
	cluster_regs_state_clear(&st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_fresh_nonce),
		cmocka_unit_test(test_prefixes_refused),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
