/*
 * This node's notifier state in the mailbell-registrations bucket: the
 * writer thread that seals and writes what the notifier saved (the
 * notifier never waits for NATS), and the read a node makes at start
 * when its notify directory is gone, so that it resumes the
 * registrations under the same master key and a later epoch.
 */
#include "cluster/cluster-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "lib/config.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

/* ---- Writing ---- */

void
cluster_regs_put(struct cluster *c,
    const unsigned char master[CLUSTER_REGS_MASTER_LEN], uint32_t epoch,
    const void *text, size_t len)
{
	struct cluster_regs_state *st, *old;
	const char *end;

	if (len > CLUSTER_REGS_TEXT_MAX) {
		/* Whole lines only: the loader skips a line cut short, but
		 * it would count it as unreadable. */
		end = memrchr(text, '\n', CLUSTER_REGS_TEXT_MAX);
		len = end != NULL ? (size_t)(end - (const char *)text) + 1 : 0;
		if (!atomic_exchange(&c->regs_capped, true))
			log_warnx("cluster: registrations over %zu bytes: "
			    "NATS keeps the first %zu bytes of them, the rest "
			    "only this node's disk",
			    (size_t)CLUSTER_REGS_TEXT_MAX, len);
	}
	st = xcalloc(1, sizeof(*st));
	st->epoch = epoch;
	memcpy(st->master, master, CLUSTER_REGS_MASTER_LEN);
	st->text = xmalloc(len + 1);
	memcpy(st->text, text, len);
	st->text[len] = '\0';
	st->len = len;
	pthread_mutex_lock(&c->lock);
	old = c->regs_out;
	c->regs_out = st;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	if (old != NULL) {
		cluster_regs_state_clear(old);
		free(old);
	}
}

/* Seal st and write its pieces: the others first and the first last,
 * so a reader that meets a write under way reads pieces of two writes,
 * which do not authenticate, and reads again. 0, or -1 with *error_r. */
static int
regs_write(struct cluster *c, const struct cluster_regs_state *st,
    unsigned *pieces_r, const char **error_r)
{
	size_t off[CLUSTER_REGS_PIECES_MAX], len[CLUSTER_REGS_PIECES_MAX];
	char key[CLUSTER_NODE_NAME_MAX + 16];
	unsigned char *blob;
	size_t total;
	unsigned n, i;
	natsStatus s = NATS_OK;

	blob = cluster_regs_seal(c->regs_key, c->node, st, &total, off, len,
	    &n);
	if (blob == NULL) {
		*error_r = "cannot seal the notifier's state";
		return -1;
	}
	for (i = 1; i < n && s == NATS_OK; i++) {
		snprintf(key, sizeof(key), "%s.%u", c->node, i);
		s = kvStore_Put(NULL, c->cn.regs, key, blob + off[i],
		    (int)len[i]);
	}
	if (s == NATS_OK)
		s = kvStore_Put(NULL, c->cn.regs, c->node, blob, (int)len[0]);
	/* Pieces of a larger write of this run; those of an earlier run
	 * stay, unread, as the first piece counts the pieces. */
	for (i = n; s == NATS_OK && i < c->regs_pieces; i++) {
		snprintf(key, sizeof(key), "%s.%u", c->node, i);
		(void)kvStore_Delete(c->cn.regs, key);
	}
	OPENSSL_cleanse(blob, total);
	free(blob);
	if (s != NATS_OK) {
		*error_r = cluster_nats_error(s);
		return -1;
	}
	c->regs_pieces = n;
	*pieces_r = n;
	return 0;
}

void *
cluster_regs_main(void *arg)
{
	struct cluster *c = arg;
	struct cluster_regs_state *st;
	const char *error;
	bool written = false, failing = false;
	unsigned pieces;

	if (!cluster_wait_ready(c))
		return NULL;
	for (;;) {
		pthread_mutex_lock(&c->lock);
		while (c->regs_out == NULL && !c->stopping)
			pthread_cond_wait(&c->cond, &c->lock);
		if (c->stopping) {
			pthread_mutex_unlock(&c->lock);
			break;
		}
		st = c->regs_out;
		c->regs_out = NULL;
		pthread_mutex_unlock(&c->lock);

		if (regs_write(c, st, &pieces, &error) == 0) {
			(!written || failing ? log_info : log_debug)(
			    "cluster: notifier state kept in NATS (epoch %u, "
			    "%zu bytes of registrations, %u pieces)",
			    (unsigned)st->epoch, st->len, pieces);
			written = true;
			failing = false;
			cluster_regs_state_clear(st);
			free(st);
			continue;
		}
		if (!failing)
			log_warnx("cluster: cannot keep the notifier's state "
			    "in NATS, trying again: %s", error);
		failing = true;
		/* Written later, unless a newer one came meanwhile. */
		pthread_mutex_lock(&c->lock);
		if (c->regs_out == NULL) {
			c->regs_out = st;
			st = NULL;
		}
		pthread_mutex_unlock(&c->lock);
		if (st != NULL) {
			cluster_regs_state_clear(st);
			free(st);
		}
		if (cluster_wait_stop(c, CLUSTER_NATS_RECONNECT_MS * 4))
			break;
	}
	return NULL;
}

/* ---- Reading, at start ---- */

/* Read node's pieces and open them. 1, 0 (none) or -1. */
static int
regs_read(kvStore *kv, const char *node, const unsigned char *key,
    struct cluster_regs_state *st_r, const char **error_r)
{
	struct cluster_regs_reader r;
	char name[CLUSTER_NODE_NAME_MAX + 16];
	kvEntry *e = NULL;
	natsStatus s;
	int rc;

	s = kvStore_Get(&e, kv, node);
	if (s == NATS_NOT_FOUND)
		return 0;
	if (s != NATS_OK) {
		*error_r = cluster_nats_error(s);
		return -1;
	}
	rc = cluster_regs_read_first(&r, kvEntry_Value(e),
	    (size_t)kvEntry_ValueLen(e), error_r);
	kvEntry_Destroy(e);
	while (rc == 0) {
		snprintf(name, sizeof(name), "%s.%u", node, r.next);
		e = NULL;
		if ((s = kvStore_Get(&e, kv, name)) != NATS_OK) {
			*error_r = s == NATS_NOT_FOUND ? "a piece is missing" :
			    cluster_nats_error(s);
			rc = -1;
			break;
		}
		rc = cluster_regs_read_next(&r, kvEntry_Value(e),
		    (size_t)kvEntry_ValueLen(e), error_r);
		kvEntry_Destroy(e);
	}
	if (rc == 1)
		rc = cluster_regs_open(key, node, &r, st_r, error_r) == 0 ?
		    1 : -1;
	cluster_regs_reader_free(&r);
	return rc;
}

int
cluster_regs_fetch(const struct mb_config *cfg, const char *secret,
    struct cluster_regs_state *st_r, const char **error_r)
{
	struct cluster_nats cn;
	unsigned char key[CLUSTER_REGS_KEY_LEN];
	char name[CLUSTER_NODE_NAME_MAX + 24];
	natsStatus s;
	int rc = -1, tries;

	memset(st_r, 0, sizeof(*st_r));
	if (cluster_regs_key(secret, key) < 0) {
		*error_r = "cannot derive the sealing key";
		return -1;
	}
	snprintf(name, sizeof(name), "mailbell-%s-restore", cfg->cluster_node);
	if (cluster_nats_connect(&cn, cfg, name, false, NULL, error_r) < 0)
		goto out;
	s = js_KeyValue(&cn.regs, cn.js, CLUSTER_REGS_BUCKET);
	if (s == NATS_NOT_FOUND) {
		rc = 0;
		goto out;
	}
	if (s != NATS_OK) {
		*error_r = cluster_nats_error(s);
		goto out;
	}
	/* A write under way may leave pieces of two writes: read again. */
	for (tries = 0; tries < CLUSTER_REGS_READ_TRIES; tries++)
		if ((rc = regs_read(cn.regs, cfg->cluster_node, key, st_r,
		    error_r)) >= 0)
			break;
out:
	cluster_nats_close(&cn);
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}
