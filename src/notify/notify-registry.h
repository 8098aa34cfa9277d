/*
 * The notifier's registrations: who registered (an interned user), for
 * which folders, the lease, the key derived for the current epoch, the
 * packet-number state of that epoch and, while an endpoint is verified,
 * that endpoint. A registration's secret is not stored: it is derived
 * from the server's master key (notify_secret_derive()), except for one
 * read from a file that carried its own. Also how registrations, the
 * epoch and the master key are kept in the data directory. No I/O
 * beyond those three files and no libevent, so a unit test drives it
 * with its own clock.
 *
 * Memory: a registration is one fixed-size record taken from a slab (no
 * allocator header) and one hash-table slot, about 160 bytes, its key
 * included; users are interned, so their names are stored once.
 */
#ifndef MB_NOTIFY_NOTIFY_REGISTRY_H
#define MB_NOTIFY_NOTIFY_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/hash.h"
#include "notify/notify-proto.h"

struct notify_registry;
struct notify_pending;		/* unacknowledged events (notify-events.c) */

/* A user with at least one registration; names are stored once. */
struct notify_user {
	struct hash_node hnode;		/* in the registry's users by name */
	struct notify_reg *regs;	/* the user's registrations (unext) */
	unsigned count;			/* registrations in regs */
	bool pwtag_known;		/* pwtag was read from the directory
					   or the registrations file */
	uint64_t pwtag;			/* fingerprint of the user's password
					   hash when the registrations were
					   made: another one ends them */
	char name[];			/* NUL-terminated */
};

/* Bits of notify_reg.flags. */
enum notify_reg_flag {
	NOTIFY_REG_VERIFIED = 1 << 0,	/* endpoint and keys are valid */
	NOTIFY_REG_REPLAY_ANY = 1 << 1,	/* a c2s packet number was accepted
					   this epoch (replay_top is valid) */
	NOTIFY_REG_DIRTY = 1 << 2,	/* last_seen changed since the last
					   save */
	NOTIFY_REG_KEYS = 1 << 3,	/* the key of the registry's epoch
					   is cached */
	NOTIFY_REG_OWN_SECRET = 1 << 4,	/* the secret is not derived but
					   kept aside (an older file's) */
};

/* One registration. Fields are grouped by lifetime. */
struct notify_reg {
	/* For the registration's life (persisted). */
	uint64_t id;			/* random, the datagrams' header id */
	struct notify_user *user;
	char **folders;			/* NULL-terminated store names, or
					   NULL: every folder */
	uint32_t created_epoch;		/* epoch it was made in: older ones
					   are never accepted for it */
	uint32_t last_seen;		/* Unix time of the last authenticated
					   datagram (or the registration):
					   the lease runs from here */

	/* Registry links. */
	struct hash_node hnode;		/* in the registry's ids */
	struct notify_reg *unext;	/* user's list (free list when
					   unused) */

	/* This epoch: never reset while the process runs, so a packet
	 * number is never sealed twice under one key. */
	uint64_t send_pn;		/* next s2c packet number */
	uint64_t replay_top;		/* highest c2s packet number accepted */
	uint64_t replay_seen;		/* bit i: replay_top - i accepted */
	uint32_t event_last;		/* last EVENT number sent (0: none) */
	uint32_t acked;			/* the client's cumulative ack */
	uint8_t flags;			/* enum notify_reg_flag bits */

	/* While NOTIFY_REG_VERIFIED: the endpoint (wiped when it is
	 * forgotten). */
	uint8_t via;			/* how it was reached: server socket
					   and local address (the server's
					   via table) */
	unsigned char addr[NOTIFY_ADDR_LEN]; /* endpoint, observed-address
						encoding */

	/* While NOTIFY_REG_KEYS: the key of the registry's epoch,
	 * derived once when the registration is made or the server
	 * starts, so no datagram ever costs a derivation of it (wiped
	 * with the registration). */
	unsigned char key[NOTIFY_KEY_LEN]; /* both directions' */
	struct notify_pending *pending;	/* unacked events, NULL: none */
};

/* Called before a registration is freed (removed, expired, ended): the
 * owner drops what it hangs on it (pending events, timers). */
typedef void notify_reg_release_cb(struct notify_reg *reg, void *ctx);

/* A registry for the run of epoch, whose registrations' secrets derive
 * from master (copied). */
struct notify_registry *notify_registry_new(unsigned max_per_user,
    unsigned max_total, uint32_t epoch,
    const unsigned char master[NOTIFY_MASTER_KEY_LEN]);
/* Frees every registration (release_cb runs for each) and wipes keys. */
void notify_registry_free(struct notify_registry **registryp);
void notify_registry_set_release_cb(struct notify_registry *registry,
    notify_reg_release_cb *cb, void *ctx);
/* Change the limits (existing registrations are kept). */
void notify_registry_set_limits(struct notify_registry *registry,
    unsigned max_per_user, unsigned max_total);

/*
 * Make a registration for user (a valid user name) covering folders
 * (count store names, copied; count 0: every folder), with a fresh
 * random id, created in the registry's epoch at Unix time now, with its
 * key derived (notify_reg_derive()). Returns 0 with *reg_r,
 * or -1 with *error_r: of kind ERROR_LIMIT when max_registrations or
 * max_registrations_per_user is reached, ERROR_INVALID for a bad user
 * name (lib/error.h).
 */
int notify_registry_add(struct notify_registry *registry, const char *user,
    const char *const *folders, size_t count, uint32_t now,
    struct notify_reg **reg_r, const char **error_r);
/* A registration as the registrations file keeps it. */
struct notify_reg_saved {
	uint64_t id;
	bool has_secret;		/* secret is its own (an older file);
					   false: derived from the master */
	unsigned char secret[NOTIFY_SECRET_LEN];
	const char *user;
	const char *const *folders;	/* count store names */
	size_t count;			/* 0: every folder */
	uint32_t created_epoch;
	uint32_t last_seen;
	uint64_t pwtag;			/* the user's password fingerprint */
};
/*
 * Add a registration read back from the registrations file, as it was
 * (folders copied). Returns 0, or -1 with *error_r when the user name is
 * not valid, the id is 0 or taken, or a limit is reached (ERROR_LIMIT).
 */
int notify_registry_restore(struct notify_registry *registry,
    const struct notify_reg_saved *saved, const char **error_r);
/* The registration with this id, or NULL. */
struct notify_reg *notify_registry_find(const struct notify_registry *registry,
    uint64_t id);
/* Free a registration: release_cb, then its keys are wiped. */
void notify_registry_remove(struct notify_registry *registry,
    struct notify_reg **regp);
/* Remove every registration of user; returns how many. */
size_t notify_registry_remove_user(struct notify_registry *registry,
    const char *user);
size_t notify_registry_count(const struct notify_registry *registry);
/* The user, or NULL if it has no registration. */
struct notify_user *notify_registry_user(
    const struct notify_registry *registry, const char *name);
/* Call cb for every user; cb may remove the user's registrations (and so
 * the user). */
typedef void notify_user_cb(struct notify_user *user, void *ctx);
void notify_registry_foreach_user(struct notify_registry *registry,
    notify_user_cb *cb, void *ctx);
/* Call cb for every registration; cb may remove the one it is given. */
typedef void notify_reg_cb(struct notify_reg *reg, void *ctx);
void notify_registry_foreach(struct notify_registry *registry,
    notify_reg_cb *cb, void *ctx);
/* One step of a walk that survives changes between steps (lib/hash.h
 * hash_scan()): cb for the registrations of a few ids; start with
 * *cursor = 0, which is 0 again once every one was visited. cb must not
 * add or remove registrations. Returns how many cb was called for. */
size_t notify_registry_scan(struct notify_registry *registry, size_t *cursor,
    notify_reg_cb *cb, void *ctx);
/* Remove registrations whose lease (seconds after last_seen) ran out
 * at now; returns how many. */
size_t notify_registry_expire(struct notify_registry *registry, uint32_t now,
    uint32_t lease);

/* Whether reg covers folder (a store name). */
bool notify_reg_covers(const struct notify_reg *reg, const char *folder);
/* The id as 16 lowercase hex digits and NUL. */
void notify_reg_id_text(uint64_t id, char out[17]);
/* Parse 16 hex digits (either case). 0 or -1. */
int notify_reg_id_parse(const char *text, uint64_t *id_r);

/* The replay window of the current epoch, as notify-proto.h checks it. */
void notify_reg_replay_get(const struct notify_reg *reg,
    struct notify_replay *win_r);
void notify_reg_replay_set(struct notify_reg *reg,
    const struct notify_replay *win);
/* reg's secret, the KEY its client holds (wipe it after use). Returns
 * 0, or -1 if it cannot be derived. */
int notify_reg_secret(const struct notify_registry *registry,
    const struct notify_reg *reg, unsigned char secret_r[NOTIFY_SECRET_LEN]);
/* Derive and cache the key of the registry's epoch, unless it is cached
 * already. Returns 0, or -1 if it cannot be derived (nothing is cached
 * then). */
int notify_reg_derive(const struct notify_registry *registry,
    struct notify_reg *reg);
/* Cache the key (if not yet) and mark endpoint addr (encoded), reached
 * via via, verified. Returns 0, or -1 if the key cannot be derived. */
int notify_reg_verify(const struct notify_registry *registry,
    struct notify_reg *reg, uint8_t via,
    const unsigned char addr[NOTIFY_ADDR_LEN]);
/* Forget the verified endpoint (pending events are the owner's to drop
 * first). The keys stay: they belong to the registration and epoch. */
void notify_reg_forget(struct notify_reg *reg);
/* The cached key of the registry's epoch in notify-proto's form for
 * direction dir: true, or false (and *keys_r untouched) if it is not
 * cached. Derives nothing. */
bool notify_reg_keys(const struct notify_registry *registry,
    const struct notify_reg *reg, enum notify_dir dir,
    struct notify_keys *keys_r);

/* ---- Files in <data_dir>/notify (notify-regfile.c) ---- */

/*
 * Write every registration to path atomically (write, fsync, rename,
 * fsync the directory), mode 0600: id, secret, created epoch, last seen,
 * password fingerprint, user and folders, one line each. Clears the
 * DIRTY flags. Returns 0, or -1 with *error_r (lib/error.h).
 */
int notify_registry_save(struct notify_registry *registry, const char *path,
    const char **error_r);
/*
 * The two halves of notify_registry_save(), so the formatting can be
 * spread over turns of the event loop and the writing leave it.
 *
 * First the file's contents are appended to b (an older file's secrets
 * included: wipe b after use), clearing the DIRTY flags, in steps:
 * start with *cursor = 0 and an empty b, and call again while it
 * returns 0. Each call appends
 * (the header first) the lines of at least max registrations, or of
 * every one left, and returns 1 when every registration was formatted,
 * 0 if more remain, or -1 if b is full: then nothing of that call is
 * kept and *cursor is unchanged, so the caller grows b and calls again.
 * The registry may change between calls: a registration in it from the
 * first call to the last is written exactly once, one added or removed
 * meanwhile may or may not be (the caller saves again after a change).
 */
struct buf;
int notify_registry_serialize_step(struct notify_registry *registry,
    struct buf *b, size_t *cursor, size_t max);
/* Then data is written atomically to path, as notify_registry_save()
 * does. This touches nothing of the registry and may run on another
 * thread; 0, or -1 with *error_r (in that thread's error ring). */
int notify_regfile_write(const char *path, const void *data, size_t len,
    const char **error_r);
/*
 * Add the registrations of path (a missing file is none). A line that
 * cannot be read, or over a limit, is skipped and counted in
 * *skipped_r; so is one whose secret derives from the master key unless
 * derived_ok (the registry's master key is the one it was made under).
 * Returns 0, or -1 with *error_r if the file is unreadable.
 */
int notify_registry_load(struct notify_registry *registry, const char *path,
    bool derived_ok, size_t *skipped_r, const char **error_r);
/*
 * The master key registrations' secrets derive from: read from path, or
 * if there is none, made at random and written durably (atomic replace
 * and fsync, mode 0600) before returning, with *created_r set. Returns
 * 0, or -1 with *error_r (also for a file that does not hold a key).
 */
int notify_master_key(const char *path,
    unsigned char key_r[NOTIFY_MASTER_KEY_LEN], bool *created_r,
    const char **error_r);
/*
 * The epoch of this run: read path (missing: 0), add one, and write it
 * back durably (atomic replace and fsync) before returning. Returns 0
 * with *epoch_r, or -1 with *error_r (also when the counter would wrap).
 */
int notify_epoch_next(const char *path, uint32_t *epoch_r,
    const char **error_r);
/* Make the epoch in path epoch, unless it is that or more already
 * (a restored node, doc/cluster.md 6). 0, or -1 with *error_r. */
int notify_epoch_at_least(const char *path, uint64_t epoch,
    const char **error_r);
/* Write key to path as notify_master_key() does. 0, or -1 with
 * *error_r. */
int notify_master_key_write(const char *path,
    const unsigned char key[NOTIFY_MASTER_KEY_LEN], const char **error_r);

/* Fingerprint of a password hash, as stored: the first 8 bytes of its
 * SHA-256. */
uint64_t notify_pwtag(const char *hash, size_t len);

#endif
