/*
 * Each event an owner publishes reaches the other nodes twice: early, as
 * a plain NATS message (one hop, at most once: lost while a connection
 * is down), and from the JetStream stream (replicated, at least once,
 * the copy that counts). The dedup decides which copy is handed to the
 * notifier, so that each event is handed on once, as early as it can:
 *
 * - an early copy is handed on unless its event was handed on already,
 *   or it is too far ahead of the stream (CLUSTER_DEDUP_WINDOW events):
 *   the stream brings it then;
 * - a stream copy is handed on unless the early copy was.
 *
 * An event is named by its owner node, the owner's start (a restarted
 * owner numbers afresh) and its number there (the Nats-Msg-Id's). For
 * the two latest starts of each owner the dedup keeps a window of
 * CLUSTER_DEDUP_WINDOW numbers, half behind the highest the stream
 * brought and half ahead: an early copy outside it is left to the
 * stream, and a stream copy below it is handed on. The stream does not
 * reorder that far, so a copy handed on twice takes a restart of this
 * node, which forgets what the early path brought.
 *
 * Pure and not thread-safe: the caller locks.
 */
#ifndef MB_CLUSTER_CLUSTER_DEDUP_H
#define MB_CLUSTER_CLUSTER_DEDUP_H

#include <stdbool.h>
#include <stdint.h>

enum cluster_path {
	CLUSTER_PATH_EARLY,	/* the plain NATS message */
	CLUSTER_PATH_STREAM,	/* the JetStream stream */
};

struct cluster_dedup;

struct cluster_dedup *cluster_dedup_new(void);
void cluster_dedup_free(struct cluster_dedup **dedupp);

/* Whether the copy of event (node, started, seq) that came by path is
 * to be handed on. */
bool cluster_dedup_take(struct cluster_dedup *dedup, const char *node,
    uint64_t started, uint64_t seq, enum cluster_path path);

#endif
