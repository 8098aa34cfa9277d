/*
 * The connection to NATS and the JetStream objects of the cluster: the
 * MAILBELL_EVENTS stream (every node's events, kept a day so a node that
 * was away catches up, duplicates of a resent event dropped within the
 * stream's window) and the mailbell-users, mailbell-nodes,
 * mailbell-moves and mailbell-registrations buckets.
 */
#include "cluster/cluster-nats.h"

#include <string.h>

#include "lib/config.h"
#include "lib/error.h"
#include "lib/limits.h"

const char *
cluster_nats_error(natsStatus s)
{
	const char *last = nats_GetLastError(NULL);

	if (last != NULL && *last != '\0')
		return error_code_fmt(ERROR_TEMPORARY, "NATS: %s", last);
	return error_code_fmt(ERROR_TEMPORARY, "NATS: %s",
	    natsStatus_GetText(s));
}

static void
disconnected_cb(natsConnection *nc, void *closure)
{
	const struct cluster_nats_cbs *cbs = closure;

	(void)nc;
	if (cbs->connected != NULL)
		cbs->connected(false, cbs->ctx);
}

static void
reconnected_cb(natsConnection *nc, void *closure)
{
	const struct cluster_nats_cbs *cbs = closure;

	(void)nc;
	if (cbs->connected != NULL)
		cbs->connected(true, cbs->ctx);
}

int
cluster_nats_connect(struct cluster_nats *cn, const struct mb_config *cfg,
    const char *name, bool background, const struct cluster_nats_cbs *cbs,
    const char **error_r)
{
	natsOptions *opts = NULL;
	natsStatus s;

	memset(cn, 0, sizeof(*cn));
	s = natsOptions_Create(&opts);
	if (s == NATS_OK)
		s = natsOptions_SetServers(opts,
		    (const char **)cfg->cluster_nats,
		    (int)cfg->cluster_nats_count);
	if (s == NATS_OK)
		s = natsOptions_SetName(opts, name);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(opts, CLUSTER_NATS_TIMEOUT_MS);
	/* Every publish goes out at once, not when the client's flusher
	 * thread next runs: an event is news only while it is fresh. */
	if (s == NATS_OK)
		s = natsOptions_SetSendAsap(opts, true);
	if (s == NATS_OK && background) {
		s = natsOptions_SetMaxReconnect(opts, -1);
		if (s == NATS_OK)
			s = natsOptions_SetReconnectWait(opts,
			    CLUSTER_NATS_RECONNECT_MS);
		if (s == NATS_OK)
			s = natsOptions_SetRetryOnFailedConnect(opts, true,
			    cbs != NULL ? reconnected_cb : NULL,
			    (void *)cbs);
	}
	if (s == NATS_OK && cbs != NULL) {
		s = natsOptions_SetDisconnectedCB(opts, disconnected_cb,
		    (void *)cbs);
		if (s == NATS_OK)
			s = natsOptions_SetReconnectedCB(opts, reconnected_cb,
			    (void *)cbs);
	}
	if (s == NATS_OK) {
		s = natsConnection_Connect(&cn->nc, opts);
		/* In the background, not yet connected is fine. */
		if (background && s == NATS_NOT_YET_CONNECTED)
			s = NATS_OK;
	}
	if (s == NATS_OK)
		s = natsConnection_JetStream(&cn->js, cn->nc, NULL);
	natsOptions_Destroy(opts);
	if (s != NATS_OK) {
		*error_r = cluster_nats_error(s);
		cluster_nats_close(cn);
		return -1;
	}
	return 0;
}

/* Open the bucket, or make it when create is set and it is not there. */
static natsStatus
open_bucket(struct cluster_nats *cn, const char *bucket, unsigned replicas,
    bool create, kvStore **kv_r)
{
	kvConfig kc;
	natsStatus s;

	s = js_KeyValue(kv_r, cn->js, bucket);
	if (s != NATS_NOT_FOUND || !create)
		return s;
	kvConfig_Init(&kc);
	kc.Bucket = bucket;
	kc.History = 1;
	kc.StorageType = js_FileStorage;
	kc.Replicas = (int)replicas;
	return js_CreateKeyValue(kv_r, cn->js, &kc);
}

static natsStatus
open_stream(struct cluster_nats *cn, unsigned replicas)
{
	const char *subjects[] = { CLUSTER_EVENT_SUBJECTS };
	jsStreamConfig sc;
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	natsStatus s;

	s = js_GetStreamInfo(&si, cn->js, CLUSTER_EVENT_STREAM, NULL, &jerr);
	if (s == NATS_OK) {
		jsStreamInfo_Destroy(si);
		return NATS_OK;
	}
	if (s != NATS_NOT_FOUND)
		return s;
	jsStreamConfig_Init(&sc);
	sc.Name = CLUSTER_EVENT_STREAM;
	sc.Subjects = subjects;
	sc.SubjectsLen = 1;
	sc.Storage = js_FileStorage;
	sc.Replicas = replicas;
	sc.MaxAge = (int64_t)CLUSTER_EVENT_MAX_AGE_SECS * 1000000000;
	sc.Duplicates = (int64_t)CLUSTER_EVENT_DUPLICATE_SECS * 1000000000;
	s = js_AddStream(&si, cn->js, &sc, NULL, &jerr);
	if (s == NATS_OK)
		jsStreamInfo_Destroy(si);
	return s;
}

int
cluster_nats_open(struct cluster_nats *cn, const struct mb_config *cfg,
    bool create, const char **error_r)
{
	natsStatus s = NATS_OK;

	if (create)
		s = open_stream(cn, cfg->cluster_replicas);
	if (s == NATS_OK && cn->users == NULL)
		s = open_bucket(cn, CLUSTER_USERS_BUCKET,
		    cfg->cluster_replicas, create, &cn->users);
	if (s == NATS_OK && cn->nodes == NULL)
		s = open_bucket(cn, CLUSTER_NODES_BUCKET,
		    cfg->cluster_replicas, create, &cn->nodes);
	if (s == NATS_OK && cn->moves == NULL)
		s = open_bucket(cn, CLUSTER_MOVES_BUCKET,
		    cfg->cluster_replicas, create, &cn->moves);
	/* Only nodes keep their notifier there; commands need it not. */
	if (s == NATS_OK && cn->regs == NULL && create)
		s = open_bucket(cn, CLUSTER_REGS_BUCKET,
		    cfg->cluster_replicas, create, &cn->regs);
	if (s != NATS_OK) {
		*error_r = s == NATS_NOT_FOUND ? error_code_fmt(
		    ERROR_NOT_FOUND, "NATS: no mailbell cluster there yet "
		    "(no node has started)") : cluster_nats_error(s);
		return -1;
	}
	return 0;
}

void
cluster_nats_close(struct cluster_nats *cn)
{
	if (cn->users != NULL)
		kvStore_Destroy(cn->users);
	if (cn->nodes != NULL)
		kvStore_Destroy(cn->nodes);
	if (cn->moves != NULL)
		kvStore_Destroy(cn->moves);
	if (cn->regs != NULL)
		kvStore_Destroy(cn->regs);
	if (cn->js != NULL)
		jsCtx_Destroy(cn->js);
	if (cn->nc != NULL) {
		natsConnection_Close(cn->nc);
		natsConnection_Destroy(cn->nc);
	}
	memset(cn, 0, sizeof(*cn));
}
