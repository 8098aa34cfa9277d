/*
 * libFuzzer harness for what nodes read from each other through NATS:
 * the events of the MAILBELL_EVENTS stream and the records of the
 * mailbell-nodes bucket. A decode either fails with a reason or gives
 * fields within their bounds, which encode again and decode to the same.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster-wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cluster_event ev, again;
	struct cluster_node_record rec, rec2;
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
	return 0;
}
