/*
 * The parts of a delivery job that the queue and store_job_run share:
 * one message written to a folder's tmp/ and then committed.
 * Internal to the store.
 */
#ifndef MB_STORE_STORE_JOB_PRIVATE_H
#define MB_STORE_STORE_JOB_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"
#include "store/maildir.h"

struct store_target {
	char *user;
	char *folder;		/* canonical name */
	char *prefix;		/* header lines written before the body */
	bool from_spool;	/* gets the job's spooled file itself */

	/* Between writing and committing. */
	char *dir;		/* folder directory */
	char *tmp_path;		/* written file in tmp/ */
	char *base;		/* its base name */
	bool synced;		/* tmp_path was fsynced */

	/* The outcome. */
	int status;		/* 0 delivered, -1 failed, 1 not yet run */
	uint32_t uidvalidity;
	uint32_t uid;
	char *error;		/* reason, if status is -1: a copy, as it is
				   made on a worker thread and read on
				   another (store_job_result) */
	enum error_code error_code;	/* its kind */
};

struct store_job {
	unsigned char *body;
	size_t len;
	struct store_spool *spool;	/* or the body is in this file */
	bool spool_claimed;		/* a target has from_spool */
	struct store_target *targets;
	size_t count;
};

/* Write target i's message into its folder's tmp/ (blocking; with sync,
 * fsync it too). On failure the target is finished with status -1. */
void store_target_write(struct store *store, struct store_job *job, size_t i,
    bool sync);

/* True if the spool was made for (user, folder, prefix). */
bool store_spool_matches(const struct store_spool *spool, const char *user,
    const char *folder, const char *prefix);
/* Write target t (its dir set) from the spool: the spooled file itself
 * if t->from_spool, else a copy after t's prefix. 0 or -1. */
int store_spool_write_target(struct store_spool *spool,
    struct store_target *t, bool sync, const char **error_r);

/* One written target waiting for its folder's commit. */
struct store_commit_ref {
	struct store_job *job;
	size_t target;
};

/*
 * Commit written targets: grouped by folder, one maildir_commit (one UID
 * list write) per folder. Every target ends with status 0 or -1.
 */
void store_targets_commit(struct store *store, struct store_commit_ref *refs,
    size_t count);

#endif
