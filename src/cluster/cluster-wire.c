/*
 * Encoding and decoding what nodes publish to each other, with Jansson.
 * An event: {"v":1,"node":"b","user":"alice","folder":"INBOX",
 * "type":"MessageNew","uidvalidity":...,"uid":...,"count":1,
 * "uidnext":...,"messages":...,"unseen":...,"landed":<unix us>}.
 * The type names are RFC 5423's. A node record:
 * {"v":1,"host":"10.0.0.2","imap":143,"lmtp":24,"udp":4100,
 * "started":<unix s>,"seen":<unix s>,"pending":<events, or -1>}.
 * A move: {"v":1,"from":"b","to":"c","state":"copying","error":"",
 * "files":12,"bytes":34567}.
 */
#include "cluster/cluster-wire.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "lib/config.h"
#include "lib/strnum.h"
#include "directory/directory.h"

static const struct {
	enum store_event_type type;
	const char *name;
} type_names[] = {
	{ STORE_EVENT_MESSAGE_NEW, "MessageNew" },
	{ STORE_EVENT_MESSAGE_APPEND, "MessageAppend" },
	{ STORE_EVENT_MESSAGE_EXPUNGE, "MessageExpunge" },
	{ STORE_EVENT_FLAGS_SET, "FlagsSet" },
	{ STORE_EVENT_FLAGS_CLEAR, "FlagsClear" },
};
#define TYPE_COUNT (sizeof(type_names) / sizeof(type_names[0]))

/* Write obj (taking it) compactly into out; its length or -1. */
static int
dump(json_t *obj, char out[CLUSTER_EVENT_MAX])
{
	size_t len;

	if (obj == NULL)
		return -1;
	len = json_dumpb(obj, out, CLUSTER_EVENT_MAX, JSON_COMPACT);
	json_decref(obj);
	if (len == 0 || len >= CLUSTER_EVENT_MAX)
		return -1;
	return (int)len;
}

int
cluster_event_encode(const struct cluster_event *ev,
    char out[CLUSTER_EVENT_MAX])
{
	const char *type = NULL;
	json_t *obj;
	size_t i;

	for (i = 0; i < TYPE_COUNT; i++)
		if (type_names[i].type == ev->type)
			type = type_names[i].name;
	if (type == NULL || strlen(ev->folder) > FOLDER_NAME_MAX)
		return -1;
	obj = json_pack("{s:i, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, "
	    "s:I, s:I}", "v", 1, "node", ev->node, "user", ev->user,
	    "folder", ev->folder, "type", type,
	    "uidvalidity", (json_int_t)ev->uidvalidity,
	    "uid", (json_int_t)ev->uid, "count", (json_int_t)ev->uid_count,
	    "uidnext", (json_int_t)ev->uidnext,
	    "messages", (json_int_t)ev->messages,
	    "unseen", (json_int_t)ev->unseen,
	    "landed", (json_int_t)ev->landed_unix_us);
	return dump(obj, out);
}

/* A JSON integer within 0..max into *out. */
static int
get_uint(json_t *obj, const char *key, uint64_t max, uint64_t *out)
{
	json_t *v = json_object_get(obj, key);
	json_int_t n;

	if (!json_is_integer(v))
		return -1;
	n = json_integer_value(v);
	if (n < 0 || (uint64_t)n > max)
		return -1;
	*out = (uint64_t)n;
	return 0;
}

/* A JSON string of at most max bytes, without NUL, into out. */
static int
get_str(json_t *obj, const char *key, char *out, size_t max)
{
	json_t *v = json_object_get(obj, key);
	size_t len;

	if (!json_is_string(v))
		return -1;
	len = json_string_length(v);
	if (len == 0 || len > max || memchr(json_string_value(v), '\0',
	    len) != NULL)
		return -1;
	memcpy(out, json_string_value(v), len + 1);
	return 0;
}

static int
decode_fields(json_t *obj, struct cluster_event *ev, const char **reason_r)
{
	uint64_t v[8];
	static const char *const keys[] = { "uidvalidity", "uid", "count",
	    "uidnext", "messages", "unseen" };
	char type[32];
	size_t i;

	if (get_uint(obj, "v", 1, &v[0]) < 0 || v[0] != 1) {
		*reason_r = "not version 1";
		return -1;
	}
	if (get_str(obj, "node", ev->node, CLUSTER_NODE_NAME_MAX) < 0 ||
	    !config_node_name_valid(ev->node) ||
	    get_str(obj, "user", ev->user, USER_NAME_MAX) < 0 ||
	    !directory_user_name_valid(ev->user) ||
	    get_str(obj, "folder", ev->folder, FOLDER_NAME_MAX) < 0) {
		*reason_r = "bad node, user or folder";
		return -1;
	}
	if (get_str(obj, "type", type, sizeof(type) - 1) < 0) {
		*reason_r = "no type";
		return -1;
	}
	for (i = 0; i < TYPE_COUNT; i++)
		if (strcmp(type, type_names[i].name) == 0)
			break;
	if (i == TYPE_COUNT) {
		*reason_r = "unknown type";
		return -1;
	}
	ev->type = type_names[i].type;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (get_uint(obj, keys[i], UINT32_MAX, &v[i]) < 0) {
			*reason_r = "bad count or UID";
			return -1;
		}
	}
	ev->uidvalidity = (uint32_t)v[0];
	ev->uid = (uint32_t)v[1];
	ev->uid_count = (uint32_t)v[2];
	ev->uidnext = (uint32_t)v[3];
	ev->messages = (uint32_t)v[4];
	ev->unseen = (uint32_t)v[5];
	if (get_uint(obj, "landed", INT64_MAX, &ev->landed_unix_us) < 0) {
		*reason_r = "bad landing time";
		return -1;
	}
	return 0;
}

/* Parse len bytes as a JSON object. */
static json_t *
load_object(const void *data, size_t len, const char **reason_r)
{
	json_error_t jerr;
	json_t *obj;

	if (len >= CLUSTER_EVENT_MAX) {
		*reason_r = "too long";
		return NULL;
	}
	obj = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (obj == NULL || !json_is_object(obj)) {
		json_decref(obj);
		*reason_r = "not a JSON object";
		return NULL;
	}
	return obj;
}

int
cluster_event_decode(const void *data, size_t len,
    struct cluster_event *ev_r, const char **reason_r)
{
	json_t *obj;
	int ret;

	memset(ev_r, 0, sizeof(*ev_r));
	if ((obj = load_object(data, len, reason_r)) == NULL)
		return -1;
	ret = decode_fields(obj, ev_r, reason_r);
	json_decref(obj);
	return ret;
}

void
cluster_event_id(const char *node, uint64_t started, uint64_t seq,
    char out[CLUSTER_EVENT_ID_MAX])
{
	snprintf(out, CLUSTER_EVENT_ID_MAX, "%s-%llu-%llu", node,
	    (unsigned long long)started, (unsigned long long)seq);
}

int
cluster_event_id_parse(const char *id, const char *node,
    uint64_t *started_r, uint64_t *seq_r)
{
	size_t n = strlen(node);
	const char *p;

	if (strncmp(id, node, n) != 0 || id[n] != '-')
		return -1;
	p = id + n + 1;
	if (str_parse_u64(&p, NULL, UINT64_MAX, started_r) < 0 ||
	    *p++ != '-' || str_parse_u64(&p, NULL, UINT64_MAX, seq_r) < 0 ||
	    *p != '\0')
		return -1;
	return 0;
}

/* ---- Node records ---- */

int
cluster_node_encode(const struct cluster_node_record *rec,
    char out[CLUSTER_EVENT_MAX])
{
	json_t *obj;

	if (rec->pending < -1)
		return -1;
	obj = json_pack("{s:i, s:s, s:i, s:i, s:i, s:I, s:I, s:I}", "v", 1,
	    "host", rec->host, "imap", (int)rec->imap_port,
	    "lmtp", (int)rec->lmtp_port, "udp", (int)rec->udp_port,
	    "started", (json_int_t)rec->started,
	    "seen", (json_int_t)rec->seen,
	    "pending", (json_int_t)rec->pending);
	return dump(obj, out);
}

int
cluster_node_decode(const void *data, size_t len,
    struct cluster_node_record *rec_r, const char **reason_r)
{
	uint64_t v, port[3], pending;
	static const char *const ports[] = { "imap", "lmtp", "udp" };
	json_t *obj;
	size_t i;
	int ret = -1;

	memset(rec_r, 0, sizeof(*rec_r));
	if ((obj = load_object(data, len, reason_r)) == NULL)
		return -1;
	*reason_r = "bad field";
	if (get_uint(obj, "v", 1, &v) < 0 || v != 1 ||
	    get_str(obj, "host", rec_r->host, CLUSTER_HOST_MAX) < 0)
		goto out;
	for (i = 0; i < 3; i++)
		if (get_uint(obj, ports[i], 65535, &port[i]) < 0)
			goto out;
	if (get_uint(obj, "started", INT64_MAX, &rec_r->started) < 0 ||
	    get_uint(obj, "seen", INT64_MAX, &rec_r->seen) < 0)
		goto out;
	/* -1 (not known) is the one negative value. */
	if (json_integer_value(json_object_get(obj, "pending")) == -1)
		rec_r->pending = -1;
	else if (get_uint(obj, "pending", INT64_MAX, &pending) < 0)
		goto out;
	else
		rec_r->pending = (int64_t)pending;
	rec_r->imap_port = (uint16_t)port[0];
	rec_r->lmtp_port = (uint16_t)port[1];
	rec_r->udp_port = (uint16_t)port[2];
	ret = 0;
out:
	json_decref(obj);
	return ret;
}

/* ---- Moves ---- */

static const char *const move_states[] = {
	[CLUSTER_MOVE_REQUESTED] = "requested",
	[CLUSTER_MOVE_COPYING] = "copying",
	[CLUSTER_MOVE_DONE] = "done",
	[CLUSTER_MOVE_FAILED] = "failed",
};
#define MOVE_STATES (sizeof(move_states) / sizeof(move_states[0]))

int
cluster_move_encode(const struct cluster_move_record *rec,
    char out[CLUSTER_EVENT_MAX])
{
	if ((size_t)rec->state >= MOVE_STATES ||
	    strlen(rec->error) > CLUSTER_MOVE_ERROR_MAX)
		return -1;
	return dump(json_pack("{s:i, s:s, s:s, s:s, s:s, s:I, s:I}", "v", 1,
	    "from", rec->from, "to", rec->to,
	    "state", move_states[rec->state], "error", rec->error,
	    "files", (json_int_t)rec->files,
	    "bytes", (json_int_t)rec->bytes), out);
}

int
cluster_move_decode(const void *data, size_t len,
    struct cluster_move_record *rec_r, const char **reason_r)
{
	json_t *obj, *err;
	char state[16];
	uint64_t v;
	size_t i;
	int ret = -1;

	memset(rec_r, 0, sizeof(*rec_r));
	if ((obj = load_object(data, len, reason_r)) == NULL)
		return -1;
	*reason_r = "bad field";
	if (get_uint(obj, "v", 1, &v) < 0 || v != 1 ||
	    get_str(obj, "from", rec_r->from, CLUSTER_NODE_NAME_MAX) < 0 ||
	    !config_node_name_valid(rec_r->from) ||
	    get_str(obj, "to", rec_r->to, CLUSTER_NODE_NAME_MAX) < 0 ||
	    !config_node_name_valid(rec_r->to) ||
	    get_str(obj, "state", state, sizeof(state) - 1) < 0 ||
	    get_uint(obj, "files", INT64_MAX, &rec_r->files) < 0 ||
	    get_uint(obj, "bytes", INT64_MAX, &rec_r->bytes) < 0)
		goto out;
	/* The error may be empty. */
	err = json_object_get(obj, "error");
	if (!json_is_string(err) ||
	    json_string_length(err) > CLUSTER_MOVE_ERROR_MAX ||
	    memchr(json_string_value(err), '\0', json_string_length(err)))
		goto out;
	memcpy(rec_r->error, json_string_value(err),
	    json_string_length(err) + 1);
	for (i = 0; i < MOVE_STATES; i++)
		if (strcmp(state, move_states[i]) == 0)
			break;
	if (i == MOVE_STATES)
		goto out;
	rec_r->state = (enum cluster_move_state)i;
	ret = 0;
out:
	json_decref(obj);
	return ret;
}
