/*
 * libFuzzer harness for what nodes read from each other through NATS:
 * the events of the MAILBELL_EVENTS stream and the records of the
 * mailbell-nodes bucket. A decode either fails with a reason or gives
 * fields within their bounds, which encode again and decode to the same.
 * An event's Nats-Msg-Id, as the input up to its first NUL: parsed, it
 * names the same event again.
 * And the pieces of a node's sealed notifier state (mailbell-registrations):
 * read as a first piece, they are refused with a reason, want more, or
 * open (or not) under a fixed key without reading past them.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster-regs.h"
#include "cluster/cluster-wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input (to its first NUL) as the Nats-Msg-Id of node "b". */
static void
fuzz_event_id(const uint8_t *data, size_t size)
{
	char id[256], again[CLUSTER_EVENT_ID_MAX];
	uint64_t started, seq;
	size_t n = size < sizeof(id) - 1 ? size : sizeof(id) - 1;

	memcpy(id, data, n);
	id[n] = '\0';
	if (cluster_event_id_parse(id, "b", &started, &seq) < 0)
		return;
	cluster_event_id("b", started, seq, again);
	/* Leading zeros aside, the same name. */
	if (cluster_event_id_parse(again, "b", &started, &seq) != 0 ||
	    (strcmp(id, again) != 0 && strstr(id, "-0") == NULL))
		abort();
}

/* The input as the first piece of node "a"'s state. */
static void
fuzz_regs(const uint8_t *data, size_t size)
{
	static unsigned char key[CLUSTER_REGS_KEY_LEN];
	struct cluster_regs_reader r;
	struct cluster_regs_state st;
	const char *reason = NULL;
	int rc;

	rc = cluster_regs_read_first(&r, data, size, &reason);
	if (rc < 0 && reason == NULL)
		abort();
	if (rc == 0 && (r.next != 1 || r.have != size || r.pieces < 2))
		abort();
	if (rc == 1) {
		reason = NULL;
		if (cluster_regs_open(key, "a", &r, &st, &reason) == 0) {
			if (st.text == NULL || st.text[st.len] != '\0' ||
			    st.epoch == 0)
				abort();
			cluster_regs_state_clear(&st);
		} else if (reason == NULL)
			abort();
	}
	cluster_regs_reader_free(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cluster_event ev, again;
	struct cluster_node_record rec, rec2;
	struct cluster_move_record move, move2;
	char buf[CLUSTER_EVENT_MAX];
	const char *reason = NULL;
	int len;

	if (cluster_event_decode(data, size, &ev, &reason) == 0) {
		len = cluster_event_encode(&ev, buf);
		if (len <= 0 || cluster_event_decode(buf, (size_t)len, &again,
		    &reason) != 0 || memcmp(&ev, &again, sizeof(ev)) != 0)
			abort();
	} else if (reason == NULL)
		abort();
	reason = NULL;
	if (cluster_node_decode(data, size, &rec, &reason) == 0) {
		len = cluster_node_encode(&rec, buf);
		if (len <= 0 || cluster_node_decode(buf, (size_t)len, &rec2,
		    &reason) != 0 || memcmp(&rec, &rec2, sizeof(rec)) != 0)
			abort();
	} else if (reason == NULL)
		abort();
	reason = NULL;
	if (cluster_move_decode(data, size, &move, &reason) == 0) {
		len = cluster_move_encode(&move, buf);
		if (len <= 0 || cluster_move_decode(buf, (size_t)len, &move2,
		    &reason) != 0 || memcmp(&move, &move2, sizeof(move)) != 0)
			abort();
	} else if (reason == NULL)
		abort();
	fuzz_regs(data, size);
	fuzz_event_id(data, size);
	return 0;
}
