/*
 * The events and node records nodes exchange: a round trip of every
 * field, every strict prefix refused (the decoder never reads past what
 * it is given), and the bounds of each field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cluster/cluster-wire.h"

static struct cluster_event
sample_event(void)
{
	struct cluster_event ev;

	memset(&ev, 0, sizeof(ev));
	strcpy(ev.node, "node-b");
	strcpy(ev.user, "alice.smith");
	strcpy(ev.folder, "Archive/2026 \"q\" \xc3\xa9t\xc3\xa9");
	ev.type = STORE_EVENT_MESSAGE_NEW;
	ev.uidvalidity = 4000000000u;
	ev.uid = 17;
	ev.uid_count = 1;
	ev.uidnext = 18;
	ev.messages = 9;
	ev.unseen = 3;
	ev.landed_unix_us = 1796000000123456ull;
	return ev;
}

static void
test_event_roundtrip(void **state)
{
	struct cluster_event ev = sample_event(), back;
	char buf[CLUSTER_EVENT_MAX];
	const char *reason;
	int len;
	size_t i;

	(void)state;
	len = cluster_event_encode(&ev, buf);
	assert_true(len > 0);
	assert_int_equal(cluster_event_decode(buf, (size_t)len, &back,
	    &reason), 0);
	assert_memory_equal(&ev, &back, sizeof(ev));
	/* Byte by byte: no prefix is a whole event. */
	for (i = 0; i < (size_t)len; i++)
		assert_int_equal(cluster_event_decode(buf, i, &back, &reason),
		    -1);
	ev.type = STORE_EVENT_MAILBOX_CREATE;
	assert_int_equal(cluster_event_encode(&ev, buf), -1);
}

/* Decoding text must fail. */
static void
refused(const char *text)
{
	struct cluster_event ev;
	const char *reason = NULL;

	if (cluster_event_decode(text, strlen(text), &ev, &reason) == 0)
		fail_msg("decoded: %s", text);
	assert_non_null(reason);
}

#define EV(fields) "{\"v\":1,\"node\":\"b\",\"user\":\"bob\"," fields "}"
#define REST "\"uidvalidity\":1,\"uid\":2,\"count\":1,\"uidnext\":3," \
	"\"messages\":2,\"unseen\":1,\"landed\":5"

static void
test_event_bounds(void **state)
{
	struct cluster_event ev;
	const char *reason;
	const char *ok = EV("\"folder\":\"INBOX\",\"type\":\"FlagsSet\","
	    REST);

	(void)state;
	assert_int_equal(cluster_event_decode(ok, strlen(ok), &ev, &reason),
	    0);
	assert_int_equal(ev.type, STORE_EVENT_FLAGS_SET);
	refused("[]");
	refused("{\"v\":2}");
	refused(EV("\"folder\":\"INBOX\",\"type\":\"MailboxCreate\"," REST));
	refused(EV("\"folder\":\"\",\"type\":\"MessageNew\"," REST));
	refused(EV("\"folder\":\"a\\u0000b\",\"type\":\"MessageNew\","
	    REST));
	refused("{\"v\":1,\"node\":\"B\",\"user\":\"bob\",\"folder\":\"I\","
	    "\"type\":\"MessageNew\"," REST "}");
	refused("{\"v\":1,\"node\":\"b\",\"user\":\"-bob\",\"folder\":\"I\","
	    "\"type\":\"MessageNew\"," REST "}");
	refused(EV("\"folder\":\"I\",\"type\":\"MessageNew\","
	    "\"uidvalidity\":4294967296,\"uid\":2,\"count\":1,\"uidnext\":3,"
	    "\"messages\":2,\"unseen\":1,\"landed\":5"));
	refused(EV("\"folder\":\"I\",\"type\":\"MessageNew\","
	    "\"uidvalidity\":-1,\"uid\":2,\"count\":1,\"uidnext\":3,"
	    "\"messages\":2,\"unseen\":1,\"landed\":5"));
	refused(EV("\"folder\":\"I\",\"folder\":\"J\",\"type\":"
	    "\"MessageNew\"," REST));
}

static void
test_node_record(void **state)
{
	struct cluster_node_record rec, back;
	char buf[CLUSTER_EVENT_MAX];
	const char *reason;
	const char *bad = "{\"v\":1,\"host\":\"h\",\"imap\":70000,\"lmtp\":1,"
	    "\"udp\":0,\"started\":1,\"seen\":2,\"pending\":0}";
	int len;
	size_t i;

	(void)state;
	memset(&rec, 0, sizeof(rec));
	strcpy(rec.host, "mx2.example.org");
	rec.imap_port = 143;
	rec.lmtp_port = 24;
	rec.udp_port = 4100;
	rec.started = 1796000000;
	rec.seen = 1796000005;
	rec.pending = -1;
	len = cluster_node_encode(&rec, buf);
	assert_true(len > 0);
	assert_int_equal(cluster_node_decode(buf, (size_t)len, &back,
	    &reason), 0);
	assert_memory_equal(&rec, &back, sizeof(rec));
	for (i = 0; i < (size_t)len; i++)
		assert_int_equal(cluster_node_decode(buf, i, &back, &reason),
		    -1);
	assert_int_equal(cluster_node_decode(bad, strlen(bad), &back,
	    &reason), -1);
	rec.pending = 12345;
	len = cluster_node_encode(&rec, buf);
	assert_int_equal(cluster_node_decode(buf, (size_t)len, &back,
	    &reason), 0);
	assert_int_equal(back.pending, 12345);
	rec.pending = -2;
	assert_int_equal(cluster_node_encode(&rec, buf), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_roundtrip),
		cmocka_unit_test(test_event_bounds),
		cmocka_unit_test(test_node_record),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
