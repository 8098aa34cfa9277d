/*
 * What nodes tell each other through NATS (doc/cluster.md): the events
 * of the MAILBELL_EVENTS stream and the node records of the
 * mailbell-nodes bucket. Small JSON objects; encoding and decoding are
 * pure (no I/O), and the decoders bound every field, since another
 * node's bytes are input.
 */
#ifndef MB_CLUSTER_CLUSTER_WIRE_H
#define MB_CLUSTER_CLUSTER_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/limits.h"
#include "store/store.h"

/* An encoded event is shorter than this (the folder dominates). */
#define CLUSTER_EVENT_MAX 1024

struct cluster_event {
	char node[CLUSTER_NODE_NAME_MAX + 1];	/* the owner that saw it */
	char user[USER_NAME_MAX + 1];
	char folder[FOLDER_NAME_MAX + 1];
	enum store_event_type type;	/* one of STORE_EVENT_ALL's */
	uint32_t uidvalidity;
	uint32_t uid;		/* the message, or 0 for several */
	uint32_t uid_count;	/* messages concerned */
	uint32_t uidnext;	/* the folder's counts after the event */
	uint32_t messages;
	uint32_t unseen;
	uint64_t landed_unix_us; /* wall clock when it landed on the owner */
};

/* Encode ev into out (CLUSTER_EVENT_MAX bytes). Returns the length, or
 * -1 if a field is out of bounds. */
int cluster_event_encode(const struct cluster_event *ev,
    char out[CLUSTER_EVENT_MAX]);
/* Decode len bytes (not NUL-terminated) into *ev_r. Returns 0, or -1
 * with *reason_r set when the bytes are not a valid event. */
int cluster_event_decode(const void *data, size_t len,
    struct cluster_event *ev_r, const char **reason_r);

/* An event's name, sent with both its copies as the Nats-Msg-Id header:
 * "<node>-<started>-<seq>", the owner, its start (Unix time) and the
 * event's number there. */
#define CLUSTER_EVENT_ID_MAX (CLUSTER_NODE_NAME_MAX + 2 * 21)
void cluster_event_id(const char *node, uint64_t started, uint64_t seq,
    char out[CLUSTER_EVENT_ID_MAX]);
/* The start and number in id (NUL-terminated), whose node must be node.
 * Returns 0, or -1 if id is not such a name. */
int cluster_event_id_parse(const char *id, const char *node,
    uint64_t *started_r, uint64_t *seq_r);

/* A node as its record in mailbell-nodes tells it. */
struct cluster_node_record {
	char host[CLUSTER_HOST_MAX + 1];	/* how peers reach it */
	uint16_t imap_port;
	uint16_t lmtp_port;
	uint16_t udp_port;	/* its notifier's, or 0 */
	uint64_t started;	/* Unix time it started */
	uint64_t seen;		/* Unix time of its last heartbeat */
	int64_t pending;	/* events its consumer has yet to read or
				   acknowledge, -1: not known */
};

/* A move of a user's Maildir in mailbell-moves (key: the user). */
enum cluster_move_state {
	CLUSTER_MOVE_REQUESTED,	/* by `mailbell cluster move` */
	CLUSTER_MOVE_COPYING,	/* the target copies from the source */
	CLUSTER_MOVE_DONE,	/* the map names the target */
	CLUSTER_MOVE_FAILED,	/* nothing changed; error says why */
};
struct cluster_move_record {
	char from[CLUSTER_NODE_NAME_MAX + 1];
	char to[CLUSTER_NODE_NAME_MAX + 1];
	enum cluster_move_state state;
	char error[CLUSTER_MOVE_ERROR_MAX + 1];	/* FAILED: why */
	uint64_t files, bytes;		/* copied so far */
};
int cluster_move_encode(const struct cluster_move_record *rec,
    char out[CLUSTER_EVENT_MAX]);
int cluster_move_decode(const void *data, size_t len,
    struct cluster_move_record *rec_r, const char **reason_r);

/* As cluster_event_encode(). */
int cluster_node_encode(const struct cluster_node_record *rec,
    char out[CLUSTER_EVENT_MAX]);
int cluster_node_decode(const void *data, size_t len,
    struct cluster_node_record *rec_r, const char **reason_r);

#endif
