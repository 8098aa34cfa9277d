/*
 * The NATS threads of a cluster node. The consumer thread opens the
 * stream and buckets (again and again until JetStream answers), writes
 * the node's record every CLUSTER_HEARTBEAT_SECS and fetches other
 * nodes' events from the node's durable consumer; a watch thread per
 * bucket follows the user map and the node records; the publisher sends
 * this node's events in order, each until the stream has stored it.
 * What they learn goes to the loop through the completion queue.
 */
#include "cluster/cluster-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/config.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

/* A bucket entry (or the end of the first read) for the loop. */
struct kv_item {
	struct completion item;
	struct cluster *c;
	enum cluster_bucket bucket;
	enum { KV_PUT, KV_DEL, KV_LOADED } op;
	size_t len;
	char key[CLUSTER_HOST_MAX + 1];
	char value[];
};

/* Another node's event for the loop. */
struct ev_item {
	struct completion item;
	struct cluster *c;
	uint64_t seq;
	struct cluster_event ev;
};

bool
cluster_wait_stop(struct cluster *c, unsigned ms)
{
	struct timespec ts;
	bool stop;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&c->lock);
	if (!c->stopping)
		pthread_cond_timedwait(&c->cond, &c->lock, &ts);
	stop = c->stopping;
	pthread_mutex_unlock(&c->lock);
	return stop;
}

bool
cluster_wait_ready(struct cluster *c)
{
	bool ready;

	pthread_mutex_lock(&c->lock);
	while (!c->ready && !c->stopping)
		pthread_cond_wait(&c->cond, &c->lock);
	ready = c->ready && !c->stopping;
	pthread_mutex_unlock(&c->lock);
	return ready;
}

/* ---- Watching a bucket ---- */

static void
kv_item_cb(struct completion *item)
{
	struct kv_item *kv = COMPLETION_ENTRY(item, struct kv_item, item);

	if (kv->op == KV_PUT)
		cluster_bucket_put(kv->c, kv->bucket, kv->key, kv->value,
		    kv->len);
	else if (kv->op == KV_DEL)
		cluster_bucket_del(kv->c, kv->bucket, kv->key);
	else
		cluster_bucket_loaded(kv->c, kv->bucket);
	free(kv);
}

static void
post_entry(struct cluster *c, enum cluster_bucket bucket, kvEntry *e)
{
	struct kv_item *kv;
	const char *key = e != NULL ? kvEntry_Key(e) : "";
	int len = e != NULL ? kvEntry_ValueLen(e) : 0;

	if (strlen(key) > CLUSTER_HOST_MAX || len < 0 ||
	    len >= CLUSTER_EVENT_MAX) {
		log_warnx("cluster: bucket entry %.64s out of bounds", key);
		return;
	}
	kv = xcalloc(1, sizeof(*kv) + (size_t)len + 1);
	kv->c = c;
	kv->bucket = bucket;
	strcpy(kv->key, key);
	if (e == NULL)
		kv->op = KV_LOADED;
	else if (kvEntry_Operation(e) != kvOp_Put)
		kv->op = KV_DEL;
	else {
		kv->op = KV_PUT;
		kv->len = (size_t)len;
		memcpy(kv->value, kvEntry_Value(e), (size_t)len);
	}
	completion_post(c->done, &kv->item, kv_item_cb);
}

/* Follow one bucket: every entry, then each change, and after a lost
 * watch (NATS away) every entry again. */
static void
watch_bucket(struct cluster *c, enum cluster_bucket bucket)
{
	kvStore *kv = bucket == CLUSTER_BUCKET_USERS ? c->cn.users :
	    bucket == CLUSTER_BUCKET_NODES ? c->cn.nodes : c->cn.moves;
	kvWatcher *w = NULL;
	kvEntry *e;
	natsStatus s;

	while (!cluster_wait_stop(c, 0)) {
		if (w == NULL &&
		    (s = kvStore_WatchAll(&w, kv, NULL)) != NATS_OK) {
			w = NULL;
			if (cluster_wait_stop(c, CLUSTER_NATS_RECONNECT_MS * 4))
				break;
			continue;
		}
		e = NULL;
		s = kvWatcher_Next(&e, w, CLUSTER_FETCH_WAIT_MS);
		if (s == NATS_TIMEOUT)
			continue;
		if (s != NATS_OK) {
			kvWatcher_Destroy(w);
			w = NULL;
			continue;
		}
		post_entry(c, bucket, e);
		if (e != NULL)
			kvEntry_Destroy(e);
	}
	if (w != NULL) {
		kvWatcher_Stop(w);
		kvWatcher_Destroy(w);
	}
}

static void *
watch_users_main(void *arg)
{
	struct cluster *c = arg;

	if (cluster_wait_ready(c))
		watch_bucket(c, CLUSTER_BUCKET_USERS);
	return NULL;
}

static void *
watch_nodes_main(void *arg)
{
	struct cluster *c = arg;

	if (cluster_wait_ready(c))
		watch_bucket(c, CLUSTER_BUCKET_NODES);
	return NULL;
}

static void *
watch_moves_main(void *arg)
{
	struct cluster *c = arg;

	if (cluster_wait_ready(c))
		watch_bucket(c, CLUSTER_BUCKET_MOVES);
	return NULL;
}

/* ---- Publishing ---- */

static struct cluster_out *
out_new(const char *data, int len)
{
	struct cluster_out *o = xmalloc(sizeof(*o) + (size_t)len);

	o->next = NULL;
	o->len = len;
	memcpy(o->data, data, (size_t)len);
	return o;
}

static void
out_append(struct cluster_out **head, struct cluster_out **tail,
    struct cluster_out *o)
{
	if (*tail != NULL)
		(*tail)->next = o;
	else
		*head = o;
	*tail = o;
}

/* Queue an event for the publisher and, while NATS is reached, its
 * early copy for the early sender (unless too many wait). */
void
cluster_publish(struct cluster *c, const char *data, int len)
{
	struct cluster_out *o = out_new(data, len), *old = NULL;
	struct cluster_out *e = NULL;

	if (atomic_load(&c->connected))
		e = out_new(data, len);
	pthread_mutex_lock(&c->lock);
	o->seq = ++c->out_seq;
	if (e != NULL && c->early_count < CLUSTER_EARLY_QUEUE_MAX) {
		e->seq = o->seq;
		out_append(&c->early_head, &c->early_tail, e);
		c->early_count++;
		e = NULL;
	}
	if (c->out_count == CLUSTER_PUBLISH_QUEUE_MAX) {
		old = c->out_head;
		c->out_head = old->next;
		c->out_count--;
		if (c->out_head == NULL)
			c->out_tail = NULL;
	}
	out_append(&c->out_head, &c->out_tail, o);
	c->out_count++;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	free(e);
	if (old != NULL) {
		atomic_fetch_add(&c->dropped, 1);
		free(old);
	}
}

/* o as a message to the stream (or, early, to the plain subject), with
 * its Nats-Msg-Id. */
static natsStatus
out_msg(struct cluster *c, const struct cluster_out *o, bool early,
    natsMsg **msg_r)
{
	char subject[sizeof(CLUSTER_EARLY_SUBJECT_PREFIX) +
	    sizeof(CLUSTER_EVENT_SUBJECT_PREFIX) + CLUSTER_NODE_NAME_MAX];
	char id[CLUSTER_EVENT_ID_MAX];
	natsStatus s;

	snprintf(subject, sizeof(subject), "%s%s", early ?
	    CLUSTER_EARLY_SUBJECT_PREFIX : CLUSTER_EVENT_SUBJECT_PREFIX,
	    c->node);
	cluster_event_id(c->node, c->started, o->seq, id);
	*msg_r = NULL;
	s = natsMsg_Create(msg_r, subject, NULL, o->data, o->len);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(*msg_r, "Nats-Msg-Id", id);
	return s;
}

/* Publish o until the stream has it (or stopping). The Nats-Msg-Id
 * makes a repeat after a lost acknowledgement harmless. */
static void
publish_one(struct cluster *c, const struct cluster_out *o)
{
	jsPubOptions po;
	jsErrCode jerr;
	natsMsg *msg;
	natsStatus s;

	jsPubOptions_Init(&po);
	po.MaxWait = CLUSTER_NATS_TIMEOUT_MS;
	for (;;) {
		s = out_msg(c, o, false, &msg);
		if (s == NATS_OK)
			s = js_PublishMsg(NULL, c->cn.js, msg, &po, &jerr);
		natsMsg_Destroy(msg);
		if (s == NATS_OK) {
			atomic_fetch_add(&c->published, 1);
			return;
		}
		atomic_fetch_add(&c->retries, 1);
		if (cluster_wait_stop(c, CLUSTER_NATS_RECONNECT_MS))
			return;
	}
}

/* The stream refused an async send, or did not answer it in time. */
static void
publish_failed_cb(jsCtx *js, jsPubAckErr *pae, void *closure)
{
	struct cluster *c = closure;

	(void)js;
	(void)pae;
	atomic_store(&c->batch_failed, true);
}

/*
 * Publish the events of batch (in order) without waiting for each
 * acknowledgement, then wait for them all. If any failed, some may be
 * stored already: the whole batch goes again one at a time, in order,
 * under the same ids, and the stream drops the repeats.
 */
static void
publish_batch(struct cluster *c, struct cluster_out *batch)
{
	struct cluster_out *o;
	natsMsgList late;
	jsPubOptions po;
	natsMsg *msg;
	natsStatus s = NATS_OK;
	uint64_t n = 0;

	atomic_store(&c->batch_failed, false);
	jsPubOptions_Init(&po);
	po.MaxWait = CLUSTER_NATS_TIMEOUT_MS;
	for (o = batch; o != NULL && s == NATS_OK; o = o->next, n++) {
		s = out_msg(c, o, false, &msg);
		if (s == NATS_OK)
			s = js_PublishMsgAsync(c->publish_js, &msg, &po);
		natsMsg_Destroy(msg);		/* NULL once sent */
	}
	if (s == NATS_OK)
		s = js_PublishAsyncComplete(c->publish_js, &po);
	if (s == NATS_OK && !atomic_load(&c->batch_failed)) {
		atomic_fetch_add(&c->published, n);
		return;
	}
	/* Those still unanswered are forgotten: sent again below. */
	if (js_PublishAsyncGetPendingList(&late, c->publish_js) == NATS_OK)
		natsMsgList_Destroy(&late);
	atomic_fetch_add(&c->retries, 1);
	for (o = batch; o != NULL; o = o->next)
		publish_one(c, o);
}

/* Take up to CLUSTER_PUBLISH_BATCH events off the queue, in order;
 * NULL when stopping. */
static struct cluster_out *
take_batch(struct cluster *c)
{
	struct cluster_out *batch, *o;
	size_t n = 0;

	pthread_mutex_lock(&c->lock);
	while (c->out_head == NULL && !c->stopping)
		pthread_cond_wait(&c->cond, &c->lock);
	if (c->stopping) {
		pthread_mutex_unlock(&c->lock);
		return NULL;
	}
	/* Taken off the queue while they are sent, so a full queue drops
	 * the next ones instead. */
	batch = o = c->out_head;
	while (++n < CLUSTER_PUBLISH_BATCH && o->next != NULL)
		o = o->next;
	c->out_head = o->next;
	o->next = NULL;
	if (c->out_head == NULL)
		c->out_tail = NULL;
	c->out_count -= n;
	pthread_mutex_unlock(&c->lock);
	return batch;
}

static void *
publish_main(void *arg)
{
	struct cluster *c = arg;
	struct cluster_out *batch, *o;
	jsOptions jo;

	if (!cluster_wait_ready(c))
		return NULL;
	jsOptions_Init(&jo);
	jo.PublishAsync.MaxPending = CLUSTER_PUBLISH_BATCH;
	jo.PublishAsync.ErrHandler = publish_failed_cb;
	jo.PublishAsync.ErrHandlerClosure = c;
	if (natsConnection_JetStream(&c->publish_js, c->cn.nc, &jo) !=
	    NATS_OK)
		fatalx("cluster: no JetStream context for publishing");
	while ((batch = take_batch(c)) != NULL) {
		publish_batch(c, batch);
		while ((o = batch) != NULL) {
			batch = o->next;
			free(o);
		}
	}
	jsCtx_Destroy(c->publish_js);
	c->publish_js = NULL;
	return NULL;
}

/*
 * The early sender: each event's early copy, sent once as soon as it is
 * queued, on a thread of its own so that it never waits behind the
 * publisher waiting for the stream's acknowledgements.
 */
static void *
early_main(void *arg)
{
	struct cluster *c = arg;
	struct cluster_out *list, *e;
	natsMsg *msg;

	if (!cluster_wait_ready(c))
		return NULL;
	for (;;) {
		pthread_mutex_lock(&c->lock);
		while (c->early_head == NULL && !c->stopping)
			pthread_cond_wait(&c->cond, &c->lock);
		list = c->early_head;
		c->early_head = c->early_tail = NULL;
		c->early_count = 0;
		pthread_mutex_unlock(&c->lock);
		if (list == NULL)
			return NULL;		/* stopping */
		while ((e = list) != NULL) {
			list = e->next;
			if (out_msg(c, e, true, &msg) == NATS_OK)
				(void)natsConnection_PublishMsg(c->cn.nc,
				    msg);
			natsMsg_Destroy(msg);
			free(e);
		}
	}
}

/* ---- The consumer: setup, heartbeat, other nodes' events ---- */

/* Open the stream and buckets, trying until JetStream answers. */
static bool
open_all(struct cluster *c)
{
	const char *error, *last = NULL;

	for (;;) {
		if (cluster_nats_open(&c->cn, c->deps.cfg, true, &error) == 0)
			break;
		if (last == NULL || strcmp(last, error) != 0) {
			log_warnx("cluster: waiting for NATS JetStream: %s",
			    error);
			free((char *)last);
			last = xstrdup(error);
		}
		if (cluster_wait_stop(c, CLUSTER_NATS_RECONNECT_MS * 4)) {
			free((char *)last);
			return false;
		}
	}
	free((char *)last);
	log_info("cluster: node %s joined (stream %s, buckets %s and %s)",
	    c->node, CLUSTER_EVENT_STREAM, CLUSTER_USERS_BUCKET,
	    CLUSTER_NODES_BUCKET);
	pthread_mutex_lock(&c->lock);
	c->ready = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	return true;
}

/* Events this node's consumer has yet to read or acknowledge, or -1. */
static int64_t
consumer_lag(struct cluster *c)
{
	char durable[CLUSTER_NODE_NAME_MAX + 8];
	jsConsumerInfo *ci = NULL;
	jsErrCode jerr;
	int64_t lag = -1;

	snprintf(durable, sizeof(durable), "node-%s", c->node);
	if (js_GetConsumerInfo(&ci, c->cn.js, CLUSTER_EVENT_STREAM, durable,
	    NULL, &jerr) == NATS_OK) {
		lag = (int64_t)ci->NumPending + ci->NumAckPending;
		jsConsumerInfo_Destroy(ci);
	}
	atomic_store(&c->pending, lag);
	return lag;
}

/* Write this node's record: how to reach it, and that it is alive. */
static void
heartbeat(struct cluster *c)
{
	struct cluster_node_record rec;
	char buf[CLUSTER_EVENT_MAX];
	int len;

	memset(&rec, 0, sizeof(rec));
	snprintf(rec.host, sizeof(rec.host), "%s", c->deps.cfg->cluster_host);
	rec.imap_port = c->deps.imap_port;
	rec.lmtp_port = c->deps.lmtp_port;
	rec.udp_port = c->deps.udp_port;
	rec.started = c->started;
	rec.seen = (uint64_t)time(NULL);
	rec.pending = consumer_lag(c);
	if ((len = cluster_node_encode(&rec, buf)) > 0)
		(void)kvStore_Put(NULL, c->cn.nodes, c->node, buf, len);
}

static void
ev_item_cb(struct completion *item)
{
	struct ev_item *ei = COMPLETION_ENTRY(item, struct ev_item, item);

	cluster_event_in(ei->c, &ei->ev, ei->seq);
	free(ei);
}

/* Whether the copy of ev that came by path, as msg, is to be handed
 * on: a copy without an id in the stream always is. */
static bool
dedup_take(struct cluster *c, const struct cluster_event *ev,
    natsMsg *msg, enum cluster_path path)
{
	const char *id = NULL;
	uint64_t started, seq;
	bool take;

	if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) != NATS_OK ||
	    cluster_event_id_parse(id, ev->node, &started, &seq) < 0)
		return path == CLUSTER_PATH_STREAM;
	pthread_mutex_lock(&c->dedup_lock);
	take = cluster_dedup_take(c->dedup, ev->node, started, seq, path);
	pthread_mutex_unlock(&c->dedup_lock);
	return take;
}

/* Hand an event that came by path to the loop, unless it is this
 * node's own or its other copy was handed on. */
static void
hand_on(struct cluster *c, natsMsg *msg, uint64_t seq,
    enum cluster_path path)
{
	struct ev_item *ei = xcalloc(1, sizeof(*ei));
	const char *reason;

	ei->seq = seq;
	if (cluster_event_decode(natsMsg_GetData(msg),
	    (size_t)natsMsg_GetDataLength(msg), &ei->ev, &reason) < 0) {
		log_warnx("cluster: event %llu of %s: %s",
		    (unsigned long long)seq, natsMsg_GetSubject(msg), reason);
		free(ei);
	} else if (strcmp(ei->ev.node, c->node) == 0 ||
	    !dedup_take(c, &ei->ev, msg, path)) {
		free(ei);	/* ours (the notifier heard it here), or
				   handed on already */
	} else {
		ei->c = c;
		completion_post(c->done, &ei->item, ev_item_cb);
	}
}

/* An event from the stream, then acknowledged: the notifier holds it
 * from then on. */
static void
take_event(struct cluster *c, natsMsg *msg)
{
	jsMsgMetaData *meta = NULL;
	uint64_t seq = 0;

	if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
		seq = meta->Sequence.Stream;
		jsMsgMetaData_Destroy(meta);
	}
	hand_on(c, msg, seq, CLUSTER_PATH_STREAM);
	natsMsg_Ack(msg, NULL);
}

/* An early copy, on the NATS client's thread. */
static void
early_cb(natsConnection *nc, natsSubscription *sub, natsMsg *msg,
    void *closure)
{
	(void)nc;
	(void)sub;
	hand_on(closure, msg, 0, CLUSTER_PATH_EARLY);
	natsMsg_Destroy(msg);
}

/* This node's durable consumer, made at its first start from the new
 * events on; later starts resume where it left off. */
static natsSubscription *
subscribe(struct cluster *c)
{
	char durable[CLUSTER_NODE_NAME_MAX + 8];
	natsSubscription *sub = NULL;
	jsSubOptions so;
	jsErrCode jerr;

	snprintf(durable, sizeof(durable), "node-%s", c->node);
	jsSubOptions_Init(&so);
	so.Stream = CLUSTER_EVENT_STREAM;
	so.Config.DeliverPolicy = js_DeliverNew;
	so.Config.AckPolicy = js_AckExplicit;
	if (js_PullSubscribe(&sub, c->cn.js, CLUSTER_EVENT_SUBJECTS, durable,
	    NULL, &so, &jerr) != NATS_OK)
		return NULL;
	return sub;
}

static void *
consume_main(void *arg)
{
	struct cluster *c = arg;
	natsSubscription *sub = NULL, *serve, *early = NULL;
	natsMsgList list;
	time_t beat = 0;
	natsStatus s;
	int i;

	if (!open_all(c))
		return NULL;
	if ((serve = cluster_move_serve(c)) == NULL)
		log_warnx("cluster: cannot answer moves from this node");
	if (natsConnection_Subscribe(&early, c->cn.nc, CLUSTER_EARLY_SUBJECTS,
	    early_cb, c) != NATS_OK)
		log_warnx("cluster: other nodes' events will come from the "
		    "stream alone");
	while (!cluster_wait_stop(c, 0)) {
		if (time(NULL) >= beat + CLUSTER_HEARTBEAT_SECS) {
			heartbeat(c);
			beat = time(NULL);
		}
		if (sub == NULL && (sub = subscribe(c)) == NULL) {
			if (cluster_wait_stop(c, CLUSTER_NATS_RECONNECT_MS * 4))
				break;
			continue;
		}
		memset(&list, 0, sizeof(list));
		s = natsSubscription_Fetch(&list, sub, CLUSTER_FETCH_BATCH,
		    CLUSTER_FETCH_WAIT_MS, NULL);
		if (s == NATS_OK) {
			for (i = 0; i < list.Count; i++)
				take_event(c, list.Msgs[i]);
			natsMsgList_Destroy(&list);
		} else if (s != NATS_TIMEOUT) {
			/* The consumer or the connection is gone: make the
			 * subscription again after a pause. */
			natsSubscription_Destroy(sub);
			sub = NULL;
			if (cluster_wait_stop(c, CLUSTER_NATS_RECONNECT_MS))
				break;
		}
	}
	if (sub != NULL)
		natsSubscription_Destroy(sub);
	if (serve != NULL) {
		natsSubscription_Unsubscribe(serve);
		natsSubscription_Destroy(serve);
	}
	if (early != NULL) {
		natsSubscription_Unsubscribe(early);
		natsSubscription_Destroy(early);
	}
	return NULL;
}

/* ---- Start and stop ---- */

void
cluster_threads_start(struct cluster *c)
{
	void *(*const mains[])(void *) = { consume_main, watch_users_main,
	    watch_nodes_main, watch_moves_main, publish_main, early_main,
	    cluster_mover_main, cluster_regs_main };
	size_t i;

	for (i = 0; i < sizeof(mains) / sizeof(mains[0]); i++) {
		if (pthread_create(&c->threads[i], NULL, mains[i], c) != 0)
			fatalx("cluster: cannot start a thread");
		c->thread_count++;
	}
}

void
cluster_threads_stop(struct cluster *c)
{
	size_t i;

	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	/* Closing wakes a thread waiting for NATS (a fetch, a watch, a
	 * move's request) at once; the objects are freed after the join. */
	if (c->cn.nc != NULL)
		natsConnection_Close(c->cn.nc);
	for (i = 0; i < c->thread_count; i++)
		pthread_join(c->threads[i], NULL);
	c->thread_count = 0;
}
