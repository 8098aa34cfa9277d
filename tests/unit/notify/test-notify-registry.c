/* Unit tests for the registry library, notify/notify-registry.c
 * (registrations, users, limits, leases, keys, secrets) and
 * notify-regfile.c (the registrations, epoch and master key files). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/crypto.h>

#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/xmalloc.h"
#include "notify/notify-registry.h"

static char tmpdir[] = "/tmp/mb-notify-registry-XXXXXX";

static char *
tmp_path(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

/* Two servers' master keys. */
static const unsigned char master_a[NOTIFY_MASTER_KEY_LEN] = { 0xa1, 2, 3 };
static const unsigned char master_b[NOTIFY_MASTER_KEY_LEN] = { 0xb1, 2, 3 };

/* A registry of epoch 3 under master_a. */
static struct notify_registry *
registry_new(unsigned max_per_user, unsigned max_total)
{
	return notify_registry_new(max_per_user, max_total, 3, master_a);
}

static void
secret_of(const struct notify_registry *r, const struct notify_reg *reg,
    unsigned char secret[NOTIFY_SECRET_LEN])
{
	assert_int_equal(notify_reg_secret(r, reg, secret), 0);
}

static struct notify_reg *
add_ok(struct notify_registry *r, const char *user,
    const char *const *folders, size_t count, uint32_t now)
{
	const char *err = NULL;
	struct notify_reg *reg = NULL;

	assert_int_equal(notify_registry_add(r, user, folders, count, now,
	    &reg, &err), 0);
	assert_null(err);
	assert_non_null(reg);
	return reg;
}

static void
test_add_find_remove(void **state)
{
	struct notify_registry *r = registry_new(16, 100);
	struct notify_reg *a, *b, *found;
	struct notify_user *u;
	uint64_t b_id;
	static const unsigned char zero[NOTIFY_SECRET_LEN];
	unsigned char sa[NOTIFY_SECRET_LEN], sb[NOTIFY_SECRET_LEN];

	(void)state;
	a = add_ok(r, "alice", NULL, 0, 1000);
	b = add_ok(r, "alice", NULL, 0, 1000);
	assert_int_not_equal(a->id, 0);
	assert_int_not_equal(a->id, b->id);
	/* secrets derive from the master key, id and epoch */
	assert_false(a->flags & NOTIFY_REG_OWN_SECRET);
	secret_of(r, a, sa);
	secret_of(r, b, sb);
	assert_memory_not_equal(sa, zero, sizeof(zero));
	assert_memory_not_equal(sa, sb, sizeof(zero));
	assert_int_equal(notify_secret_derive(master_a, a->id, 3, sb), 0);
	assert_memory_equal(sa, sb, sizeof(sa));
	assert_int_equal(notify_secret_derive(master_a, a->id, 4, sb), 0);
	assert_memory_not_equal(sa, sb, sizeof(sa));
	assert_int_equal(notify_secret_derive(master_b, a->id, 3, sb), 0);
	assert_memory_not_equal(sa, sb, sizeof(sa));
	assert_int_equal(a->created_epoch, 3);
	assert_int_equal(a->last_seen, 1000);
	/* one interned user for both */
	assert_ptr_equal(a->user, b->user);
	u = notify_registry_user(r, "alice");
	assert_ptr_equal(u, a->user);
	assert_int_equal(u->count, 2);
	assert_int_equal(notify_registry_count(r), 2);

	found = notify_registry_find(r, b->id);
	assert_ptr_equal(found, b);
	assert_null(notify_registry_find(r, a->id ^ b->id ^ 1));
	b_id = b->id;
	notify_registry_remove(r, &found);
	assert_null(found);
	assert_null(notify_registry_find(r, b_id));
	assert_int_equal(u->count, 1);
	assert_int_equal(notify_registry_remove_user(r, "alice"), 1);
	assert_null(notify_registry_user(r, "alice"));
	assert_int_equal(notify_registry_count(r), 0);
	notify_registry_free(&r);
	assert_null(r);
}

static void
test_bad_user(void **state)
{
	struct notify_registry *r = registry_new(16, 100);
	const char *err;
	struct notify_reg *reg = NULL;

	(void)state;
	assert_int_equal(notify_registry_add(r, "../etc", NULL, 0, 1, &reg,
	    &err), -1);
	assert_int_equal(error_code(err), ERROR_INVALID);
	assert_int_equal(notify_registry_add(r, "", NULL, 0, 1, &reg,
	    &err), -1);
	notify_registry_free(&r);
}

static void
test_limits(void **state)
{
	struct notify_registry *r = registry_new(2, 3);
	const char *err;
	struct notify_reg *reg = NULL;

	(void)state;
	add_ok(r, "alice", NULL, 0, 1);
	add_ok(r, "alice", NULL, 0, 1);
	assert_int_equal(notify_registry_add(r, "alice", NULL, 0, 1, &reg,
	    &err), -1);
	assert_int_equal(error_code(err), ERROR_LIMIT);
	assert_non_null(strstr(err, "max_registrations_per_user"));
	add_ok(r, "bob", NULL, 0, 1);
	assert_int_equal(notify_registry_add(r, "carol", NULL, 0, 1, &reg,
	    &err), -1);
	assert_int_equal(error_code(err), ERROR_LIMIT);
	assert_null(strstr(err, "per_user"));
	assert_non_null(strstr(err, "max_registrations"));
	/* removing one makes room again */
	notify_registry_remove_user(r, "bob");
	add_ok(r, "carol", NULL, 0, 1);
	notify_registry_set_limits(r, 3, 10);
	add_ok(r, "alice", NULL, 0, 1);
	notify_registry_free(&r);
}

static void
test_covers(void **state)
{
	static const char *const folders[] = { "INBOX", "Work.Projects" };
	struct notify_registry *r = registry_new(16, 100);
	struct notify_reg *all, *some;

	(void)state;
	all = add_ok(r, "alice", NULL, 0, 1);
	some = add_ok(r, "alice", folders, 2, 1);
	assert_true(notify_reg_covers(all, "INBOX"));
	assert_true(notify_reg_covers(all, "Anything"));
	assert_true(notify_reg_covers(some, "INBOX"));
	assert_true(notify_reg_covers(some, "Work.Projects"));
	assert_false(notify_reg_covers(some, "Work"));
	assert_false(notify_reg_covers(some, "inbox"));
	notify_registry_free(&r);
}

static void
test_expire(void **state)
{
	struct notify_registry *r = registry_new(16, 100);
	struct notify_reg *old, *fresh;
	uint64_t fresh_id;

	(void)state;
	old = add_ok(r, "alice", NULL, 0, 1000);
	fresh = add_ok(r, "bob", NULL, 0, 1000);
	fresh->last_seen = 1500;
	fresh_id = fresh->id;
	(void)old;
	/* exactly the lease is still alive */
	assert_int_equal(notify_registry_expire(r, 1600, 600), 0);
	assert_int_equal(notify_registry_expire(r, 1601, 600), 1);
	assert_null(notify_registry_user(r, "alice"));
	assert_non_null(notify_registry_find(r, fresh_id));
	/* a clock that stepped back restarts the lease from now */
	assert_int_equal(notify_registry_expire(r, 100, 600), 0);
	assert_int_equal(notify_registry_expire(r, 700, 600), 0);
	assert_int_equal(notify_registry_expire(r, 701, 600), 1);
	assert_int_equal(notify_registry_count(r), 0);
	notify_registry_free(&r);
}

#define ONE_USER 1000

/* The registrations of one user expire unlinked from the user's list
 * as the walk goes: every other one (its first and last included),
 * and what is left is the user's whole list. */
static void
test_expire_within_one_user(void **state)
{
	struct notify_registry *r = registry_new(ONE_USER,
	    ONE_USER);
	struct notify_reg *reg, *kept[ONE_USER / 2];
	struct notify_user *u;
	size_t i, n;

	(void)state;
	for (i = 0; i < ONE_USER; i++) {
		reg = add_ok(r, "ann", NULL, 0, 1000);
		if (i % 2 == 1) {
			reg->last_seen = 1500;
			kept[i / 2] = reg;
		}
	}
	assert_int_equal(notify_registry_expire(r, 1601, 600), ONE_USER / 2);
	u = notify_registry_user(r, "ann");
	assert_non_null(u);
	assert_int_equal(u->count, ONE_USER / 2);
	for (n = 0, reg = u->regs; reg != NULL; reg = reg->unext, n++)
		assert_int_equal(reg->last_seen, 1500);
	assert_int_equal(n, ONE_USER / 2);
	for (i = 0; i < ONE_USER / 2; i++)
		assert_ptr_equal(notify_registry_find(r, kept[i]->id),
		    kept[i]);
	/* the rest go together, and the user with them */
	assert_int_equal(notify_registry_expire(r, 2101, 600), ONE_USER / 2);
	assert_null(notify_registry_user(r, "ann"));
	assert_int_equal(notify_registry_count(r), 0);
	notify_registry_free(&r);
}

static unsigned release_calls;

static void
count_release_cb(struct notify_reg *reg, void *ctx)
{
	(void)reg;
	assert_ptr_equal(ctx, &release_calls);
	release_calls++;
}

static void
test_release_cb(void **state)
{
	struct notify_registry *r = registry_new(16, 100);
	struct notify_reg *reg;

	(void)state;
	release_calls = 0;
	notify_registry_set_release_cb(r, count_release_cb, &release_calls);
	reg = add_ok(r, "alice", NULL, 0, 1);
	add_ok(r, "alice", NULL, 0, 1);
	add_ok(r, "bob", NULL, 0, 1);
	notify_registry_remove(r, &reg);
	assert_int_equal(release_calls, 1);
	notify_registry_free(&r);
	assert_int_equal(release_calls, 3);
}

static void
test_many(void **state)
{
	struct notify_registry *r = registry_new(100000, 100000);
	uint64_t *ids = xcalloc(20000, sizeof(*ids));
	char user[32];
	size_t i;

	(void)state;
	for (i = 0; i < 20000; i++) {
		snprintf(user, sizeof(user), "user%zu", i % 500);
		ids[i] = add_ok(r, user, NULL, 0, 1)->id;
	}
	assert_int_equal(notify_registry_count(r), 20000);
	for (i = 0; i < 20000; i++)
		assert_non_null(notify_registry_find(r, ids[i]));
	assert_int_equal(notify_registry_user(r, "user7")->count, 40);
	for (i = 0; i < 20000; i += 2) {
		struct notify_reg *reg = notify_registry_find(r, ids[i]);

		notify_registry_remove(r, &reg);
	}
	for (i = 0; i < 20000; i++)
		assert_true((notify_registry_find(r, ids[i]) != NULL) ==
		    (i % 2 == 1));
	free(ids);
	notify_registry_free(&r);
}

static void
test_verify_forget_keys(void **state)
{
	struct notify_registry *r = registry_new(16, 100), *r9;
	struct notify_reg *reg = add_ok(r, "alice", NULL, 0, 1), *reg9;
	struct notify_keys cached, derived;
	unsigned char addr[NOTIFY_ADDR_LEN] = { 4, 0, 0x9c, 0x40, 127, 0, 0, 1 };
	unsigned char secret[NOTIFY_SECRET_LEN], secret9[NOTIFY_SECRET_LEN];
	static const unsigned char zero[NOTIFY_KEY_LEN];
	char *path = tmp_path("epochs");
	const char *error;
	size_t skipped;

	(void)state;
	/* made in epoch 3, so its key of epoch 3 is there already */
	secret_of(r, reg, secret);
	assert_true(notify_reg_keys(r, reg, NOTIFY_DIR_C2S, &cached));
	assert_int_equal(cached.epoch, 3);
	assert_int_equal(notify_keys_derive(secret, NOTIFY_DIR_C2S, 3,
	    &derived), 0);
	assert_memory_equal(cached.key, derived.key, NOTIFY_KEY_LEN);
	assert_int_equal(notify_reg_verify(r, reg, 1, addr), 0);
	assert_true(reg->flags & NOTIFY_REG_VERIFIED);
	assert_int_equal(reg->via, 1);
	assert_memory_equal(reg->addr, addr, sizeof(addr));
	assert_true(notify_reg_keys(r, reg, NOTIFY_DIR_S2C, &cached));
	assert_int_equal(cached.dir, NOTIFY_DIR_S2C);
	assert_memory_equal(cached.key, derived.key, NOTIFY_KEY_LEN);
	/* The key belongs to the registration and epoch, not to the
	 * endpoint: forgetting it keeps the key. */
	notify_reg_forget(reg);
	assert_false(reg->flags & NOTIFY_REG_VERIFIED);
	assert_memory_equal(reg->addr, zero, NOTIFY_ADDR_LEN);
	assert_true(notify_reg_keys(r, reg, NOTIFY_DIR_C2S, &cached));
	assert_memory_equal(cached.key, derived.key, NOTIFY_KEY_LEN);

	/* The next run (epoch 9, the same master key) reads it back with
	 * the same secret and derives the key of its own epoch. */
	assert_int_equal(notify_registry_save(r, path, &error), 0);
	r9 = notify_registry_new(16, 100, 9, master_a);
	assert_int_equal(notify_registry_load(r9, path, true, &skipped,
	    &error), 0);
	assert_int_equal(skipped, 0);
	reg9 = notify_registry_find(r9, reg->id);
	assert_non_null(reg9);
	secret_of(r9, reg9, secret9);
	assert_memory_equal(secret9, secret, sizeof(secret));
	assert_false(notify_reg_keys(r9, reg9, NOTIFY_DIR_C2S, &cached));
	assert_int_equal(notify_reg_derive(r9, reg9), 0);
	assert_true(notify_reg_keys(r9, reg9, NOTIFY_DIR_C2S, &cached));
	assert_int_equal(cached.epoch, 9);
	assert_int_equal(notify_keys_derive(secret, NOTIFY_DIR_C2S, 9,
	    &derived), 0);
	assert_memory_equal(cached.key, derived.key, NOTIFY_KEY_LEN);
	notify_keys_wipe(&derived);
	notify_registry_free(&r9);
	notify_registry_free(&r);
	unlink(path);
	free(path);
}

static void
test_replay_roundtrip(void **state)
{
	struct notify_registry *r = registry_new(16, 100);
	struct notify_reg *reg = add_ok(r, "alice", NULL, 0, 1);
	struct notify_replay win;

	(void)state;
	notify_reg_replay_get(reg, &win);
	assert_true(notify_replay_check(&win, 0));
	notify_replay_commit(&win, 5);
	notify_reg_replay_set(reg, &win);
	notify_reg_replay_get(reg, &win);
	assert_false(notify_replay_check(&win, 5));
	assert_true(notify_replay_check(&win, 4));
	assert_true(notify_replay_check(&win, 6));
	notify_registry_free(&r);
}

static void
test_id_text(void **state)
{
	char text[17];
	uint64_t id;

	(void)state;
	notify_reg_id_text(0x0102030405060708ULL, text);
	assert_string_equal(text, "0102030405060708");
	assert_int_equal(notify_reg_id_parse("0102030405060708", &id), 0);
	assert_true(id == 0x0102030405060708ULL);
	assert_int_equal(notify_reg_id_parse("FFFFFFFFFFFFFFFF", &id), 0);
	assert_true(id == UINT64_MAX);
	assert_int_equal(notify_reg_id_parse("010203040506070", &id), -1);
	assert_int_equal(notify_reg_id_parse("01020304050607080", &id), -1);
	assert_int_equal(notify_reg_id_parse("010203040506070g", &id), -1);
	assert_int_equal(notify_reg_id_parse("", &id), -1);
}

static void
test_save_load(void **state)
{
	static const char *const folders[] = { "INBOX", "A b%c", "Work.X" };
	struct notify_registry *r = registry_new(16, 100), *r2;
	struct notify_reg *a, *b, *a2, *b2;
	unsigned char s1[NOTIFY_SECRET_LEN], s2[NOTIFY_SECRET_LEN];
	char *path = tmp_path("registrations"), *data;
	const char *error;
	struct stat st;
	size_t skipped, len;

	(void)state;
	a = add_ok(r, "alice", NULL, 0, 1000);
	b = add_ok(r, "bob", folders, 3, 2000);
	a->user->pwtag = 0x1122334455667788ULL;
	a->flags |= NOTIFY_REG_DIRTY;
	assert_int_equal(notify_registry_save(r, path, &error), 0);
	assert_false(a->flags & NOTIFY_REG_DIRTY);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* no secret is in the file: they derive from the master key */
	assert_int_equal(read_file(path, 4096, &data, &len), 0);
	assert_non_null(strstr(data, "# mailbell notify registrations 2\n"));
	assert_int_equal(data[strcspn(data, "\n") + 1 + 16 + 1], '-');
	free(data);

	/* under another master key they cannot be read */
	r2 = notify_registry_new(16, 100, 4, master_b);
	assert_int_equal(notify_registry_load(r2, path, false, &skipped,
	    &error), 0);
	assert_int_equal(skipped, 2);
	assert_int_equal(notify_registry_count(r2), 0);
	notify_registry_free(&r2);

	r2 = registry_new(16, 100);
	assert_int_equal(notify_registry_load(r2, path, true, &skipped,
	    &error), 0);
	assert_int_equal(skipped, 0);
	assert_int_equal(notify_registry_count(r2), 2);
	a2 = notify_registry_find(r2, a->id);
	b2 = notify_registry_find(r2, b->id);
	assert_non_null(a2);
	assert_non_null(b2);
	secret_of(r, a, s1);
	secret_of(r2, a2, s2);
	assert_memory_equal(s1, s2, NOTIFY_SECRET_LEN);
	secret_of(r, b, s1);
	secret_of(r2, b2, s2);
	assert_memory_equal(s1, s2, NOTIFY_SECRET_LEN);
	assert_int_equal(a2->last_seen, 1000);
	assert_int_equal(b2->last_seen, 2000);
	assert_int_equal(a2->created_epoch, 3);
	assert_null(a2->folders);
	assert_string_equal(b2->folders[0], "INBOX");
	assert_string_equal(b2->folders[1], "A b%c");
	assert_string_equal(b2->folders[2], "Work.X");
	assert_null(b2->folders[3]);
	assert_true(a2->user->pwtag_known);
	assert_true(a2->user->pwtag == 0x1122334455667788ULL);
	/* the epoch's state starts afresh */
	assert_int_equal(a2->send_pn, 0);
	assert_false(a2->flags & NOTIFY_REG_VERIFIED);
	notify_registry_free(&r2);
	notify_registry_free(&r);
	unlink(path);
	free(path);
}

#define MANY 20000

/*
 * A registry formatted in steps while registrations come and go between
 * them, into a buffer too small at first (grown and the step retried),
 * reads back as one: each registration that was there throughout
 * exactly once with its secret, none twice, and no line cut short.
 */
static void
test_save_in_steps_while_changing(void **state)
{
	struct notify_registry *r = registry_new(MANY, 4 * MANY), *r2;
	struct notify_reg **regs = xcalloc(MANY, sizeof(*regs)), *reg;
	uint64_t *gone = xcalloc(MANY, sizeof(*gone));
	char *path = tmp_path("steps"), user[32];
	size_t i, cursor = 0, steps = 0, ngone = 0, kept = 0, skipped;
	const char *error;
	struct buf b;
	int rc;

	(void)state;
	for (i = 0; i < MANY; i++) {
		snprintf(user, sizeof(user), "u%zu", i % 997);
		regs[i] = add_ok(r, user, NULL, 0, (uint32_t)(1000 + i));
	}
	buf_init(&b, 4096);
	do {
		while ((rc = notify_registry_serialize_step(r, &b, &cursor,
		    1000)) < 0) {
			assert_true(b.max < 64 * 1024 * 1024);
			b.max *= 2;
		}
		/* between steps: a hundred removed, a hundred added (the
		 * table grows past its size at the start) */
		for (i = 0; i < 100 && ngone < MANY / 2; i++, ngone++) {
			reg = regs[ngone * 2];
			gone[ngone] = reg->id;
			regs[ngone * 2] = NULL;
			notify_registry_remove(r, &reg);
		}
		for (i = 0; i < 1500 && steps < 20; i++) {
			snprintf(user, sizeof(user), "late%zu", i % 97);
			(void)add_ok(r, user, NULL, 0, 7);
		}
		steps++;
	} while (rc == 0);
	assert_true(steps > 10);
	assert_int_equal(notify_regfile_write(path, b.data, b.len, &error),
	    0);
	r2 = registry_new(2 * MANY, 20 * MANY);
	assert_int_equal(notify_registry_load(r2, path, true, &skipped,
	    &error), 0);
	/* a duplicate id or a cut line would be skipped */
	assert_int_equal(skipped, 0);
	for (i = 0; i < MANY; i++) {
		struct notify_reg *back;
		unsigned char s1[NOTIFY_SECRET_LEN], s2[NOTIFY_SECRET_LEN];

		if (regs[i] == NULL)
			continue;
		back = notify_registry_find(r2, regs[i]->id);
		assert_non_null(back);
		secret_of(r, regs[i], s1);
		secret_of(r2, back, s2);
		assert_memory_equal(s1, s2, NOTIFY_SECRET_LEN);
		assert_int_equal(back->last_seen, regs[i]->last_seen);
		kept++;
	}
	assert_int_equal(kept, MANY - ngone);
	/* those removed before the walk reached them are not in it (the
	 * first hundred went before the second step) */
	for (i = 0, kept = 0; i < ngone; i++)
		kept += notify_registry_find(r2, gone[i]) != NULL;
	assert_true(kept < ngone);
	/* and the whole registry in one step reads back as it is */
	buf_reset(&b);
	cursor = 0;
	while (notify_registry_serialize_step(r, &b, &cursor, SIZE_MAX) < 0)
		b.max *= 2;
	assert_int_equal(cursor, 0);
	assert_int_equal(notify_regfile_write(path, b.data, b.len, &error),
	    0);
	notify_registry_free(&r2);
	r2 = registry_new(2 * MANY, 20 * MANY);
	assert_int_equal(notify_registry_load(r2, path, true, &skipped,
	    &error), 0);
	assert_int_equal(skipped, 0);
	assert_int_equal(notify_registry_count(r2), notify_registry_count(r));
	OPENSSL_cleanse(b.data, b.len);
	buf_free(&b);
	notify_registry_free(&r2);
	notify_registry_free(&r);
	unlink(path);
	free(path);
	free(regs);
	free(gone);
}

static void
test_load_skips_bad_lines(void **state)
{
	struct notify_registry *r = registry_new(1, 100);
	char *path = tmp_path("bad");
	const char *error;
	size_t skipped;
	const char *text =
	    "# mailbell notify registrations 1\n"
	    /* good */
	    "00000000000000a1 000102030405060708090a0b0c0d0e0f10111213141516"
	    "1718191a1b1c1d1e1f 1 100 0000000000000000 alice 0\n"
	    /* over alice's limit of 1 */
	    "00000000000000a2 000102030405060708090a0b0c0d0e0f10111213141516"
	    "1718191a1b1c1d1e1f 1 100 0000000000000000 alice 0\n"
	    /* short secret */
	    "00000000000000a3 0001 1 100 0000000000000000 bob 0\n"
	    /* bad user */
	    "00000000000000a4 000102030405060708090a0b0c0d0e0f10111213141516"
	    "1718191a1b1c1d1e1f 1 100 0000000000000000 ../x 0\n"
	    /* folder count does not match */
	    "00000000000000a5 000102030405060708090a0b0c0d0e0f10111213141516"
	    "1718191a1b1c1d1e1f 1 100 0000000000000000 carol 2 INBOX\n"
	    /* bad escape */
	    "00000000000000a6 000102030405060708090a0b0c0d0e0f10111213141516"
	    "1718191a1b1c1d1e1f 1 100 0000000000000000 dave 1 %zz\n"
	    /* duplicate id */
	    "00000000000000a1 000102030405060708090a0b0c0d0e0f10111213141516"
	    "1718191a1b1c1d1e1f 1 100 0000000000000000 erin 0\n"
	    "garbage\n"
	    /* good, last line without a newline */
	    "00000000000000a7 000102030405060708090a0b0c0d0e0f10111213141516"
	    "1718191a1b1c1d1e1f 1 100 0000000000000000 frank 1 Work%20X\n"
	    /* derived from a master key this load is told is not its */
	    "00000000000000a8 - 1 100 0000000000000000 gina 0";
	struct notify_reg *reg;
	unsigned char secret[NOTIFY_SECRET_LEN];

	(void)state;
	assert_int_equal(write_file_atomic(path, text, strlen(text), 0600), 0);
	assert_int_equal(notify_registry_load(r, path, false, &skipped,
	    &error), 0);
	assert_int_equal(skipped, 8);
	assert_int_equal(notify_registry_count(r), 2);
	reg = notify_registry_find(r, 0xa7);
	assert_non_null(reg);
	assert_string_equal(reg->folders[0], "Work X");
	/* a format 1 file's secrets are kept as they were */
	assert_true(reg->flags & NOTIFY_REG_OWN_SECRET);
	secret_of(r, reg, secret);
	assert_int_equal(secret[0], 0x00);
	assert_int_equal(secret[31], 0x1f);
	/* and written back so, then read again */
	assert_int_equal(notify_registry_save(r, path, &error), 0);
	notify_registry_free(&r);
	r = registry_new(1, 100);
	assert_int_equal(notify_registry_load(r, path, true, &skipped,
	    &error), 0);
	assert_int_equal(skipped, 0);
	reg = notify_registry_find(r, 0xa7);
	assert_non_null(reg);
	assert_true(reg->flags & NOTIFY_REG_OWN_SECRET);
	memset(secret, 0, sizeof(secret));
	secret_of(r, reg, secret);
	assert_int_equal(secret[31], 0x1f);
	/* removing it drops the secret kept aside (AddressSanitizer
	 * would report it otherwise) */
	notify_registry_remove(r, &reg);
	notify_registry_free(&r);
	unlink(path);
	free(path);
}

static void
test_load_missing_file(void **state)
{
	struct notify_registry *r = registry_new(16, 100);
	char *path = tmp_path("none");
	const char *error;
	size_t skipped = 99;

	(void)state;
	assert_int_equal(notify_registry_load(r, path, true, &skipped,
	    &error), 0);
	assert_int_equal(skipped, 0);
	assert_int_equal(notify_registry_count(r), 0);
	notify_registry_free(&r);
	free(path);
}

static void
test_epoch(void **state)
{
	char *path = tmp_path("epoch");
	const char *error;
	uint32_t epoch;
	char *data;
	size_t len;

	(void)state;
	unlink(path);
	assert_int_equal(notify_epoch_next(path, &epoch, &error), 0);
	assert_int_equal(epoch, 1);
	assert_int_equal(notify_epoch_next(path, &epoch, &error), 0);
	assert_int_equal(epoch, 2);
	assert_int_equal(read_file(path, 64, &data, &len), 0);
	assert_string_equal(data, "2\n");
	free(data);
	assert_int_equal(write_file_atomic(path, "4294967295\n", 11, 0600), 0);
	assert_int_equal(notify_epoch_next(path, &epoch, &error), -1);
	assert_non_null(strstr(error, "exhausted"));
	assert_int_equal(write_file_atomic(path, "x\n", 2, 0600), 0);
	assert_int_equal(notify_epoch_next(path, &epoch, &error), -1);
	unlink(path);
	free(path);
}

static void
test_master_key(void **state)
{
	char *path = tmp_path("master-key"), *data;
	unsigned char key[NOTIFY_MASTER_KEY_LEN], again[NOTIFY_MASTER_KEY_LEN];
	static const unsigned char zero[NOTIFY_MASTER_KEY_LEN];
	const char *error;
	struct stat st;
	bool created;
	size_t len;

	(void)state;
	unlink(path);
	assert_int_equal(notify_master_key(path, key, &created, &error), 0);
	assert_true(created);
	assert_memory_not_equal(key, zero, sizeof(key));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(read_file(path, 256, &data, &len), 0);
	assert_int_equal(len, 2 * NOTIFY_MASTER_KEY_LEN + 1);
	free(data);
	assert_int_equal(notify_master_key(path, again, &created, &error), 0);
	assert_false(created);
	assert_memory_equal(key, again, sizeof(key));
	assert_int_equal(write_file_atomic(path, "00ff\n", 5, 0600), 0);
	assert_int_equal(notify_master_key(path, again, &created, &error), -1);
	assert_non_null(strstr(error, "not a master key"));
	unlink(path);
	free(path);
}

/* A restored node's files (notify_state_restore()): the epoch raised,
 * never lowered, and a given master key read back as written. */
static void
test_restore_files(void **state)
{
	char *epoch_path = tmp_path("epoch"), *key_path = tmp_path("mk");
	unsigned char key[NOTIFY_MASTER_KEY_LEN], again[NOTIFY_MASTER_KEY_LEN];
	const char *error;
	uint32_t epoch;
	struct stat st;
	bool created;
	size_t i;

	(void)state;
	unlink(epoch_path);
	unlink(key_path);
	assert_int_equal(notify_epoch_at_least(epoch_path, 1007, &error), 0);
	assert_int_equal(notify_epoch_next(epoch_path, &epoch, &error), 0);
	assert_int_equal(epoch, 1008);
	assert_int_equal(notify_epoch_at_least(epoch_path, 5, &error), 0);
	assert_int_equal(notify_epoch_next(epoch_path, &epoch, &error), 0);
	assert_int_equal(epoch, 1009);
	assert_int_equal(notify_epoch_at_least(epoch_path, UINT32_MAX,
	    &error), -1);
	assert_non_null(strstr(error, "exhausted"));
	assert_int_equal(write_file_atomic(epoch_path, "x\n", 2, 0600), 0);
	assert_int_equal(notify_epoch_at_least(epoch_path, 9, &error), -1);

	for (i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)(i * 7 + 1);
	assert_int_equal(notify_master_key_write(key_path, key, &error), 0);
	assert_int_equal(stat(key_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(notify_master_key(key_path, again, &created, &error),
	    0);
	assert_false(created);
	assert_memory_equal(key, again, sizeof(key));
	unlink(epoch_path);
	unlink(key_path);
	free(epoch_path);
	free(key_path);
}

static void
test_pwtag(void **state)
{
	(void)state;
	assert_true(notify_pwtag("{PLAIN}a", 8) == notify_pwtag("{PLAIN}a", 8));
	assert_true(notify_pwtag("{PLAIN}a", 8) != notify_pwtag("{PLAIN}b", 8));
	assert_true(notify_pwtag("", 0) != 0);
}

static void
test_record_size(void **state)
{
	(void)state;
	/* the memory budget: a record and a hash slot within 160 bytes
	 * (one key for both directions, no secret: 144 + 16) */
	assert_true(sizeof(struct notify_reg) + sizeof(void *) * 2 <= 160);
}

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	return rmdir(tmpdir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_find_remove),
		cmocka_unit_test(test_bad_user),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_covers),
		cmocka_unit_test(test_expire),
		cmocka_unit_test(test_expire_within_one_user),
		cmocka_unit_test(test_release_cb),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_verify_forget_keys),
		cmocka_unit_test(test_replay_roundtrip),
		cmocka_unit_test(test_id_text),
		cmocka_unit_test(test_save_load),
		cmocka_unit_test(test_save_in_steps_while_changing),
		cmocka_unit_test(test_load_skips_bad_lines),
		cmocka_unit_test(test_load_missing_file),
		cmocka_unit_test(test_epoch),
		cmocka_unit_test(test_master_key),
		cmocka_unit_test(test_restore_files),
		cmocka_unit_test(test_pwtag),
		cmocka_unit_test(test_record_size),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
