/*
 * `mailbell cluster nodes|where|place`: the cluster as NATS holds it
 * (doc/cluster.md). The commands connect to [cluster] nats themselves,
 * as `mailbell user` edits the passwd file itself: no node needs to run.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/client.h"
#include "cluster/cluster-nats.h"
#include "cluster/cluster-wire.h"
#include "directory/directory.h"
#include "lib/config.h"
#include "lib/error.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

static int cmd_cluster(struct client_ctx *, int, char **);

const struct client_cmd cmd_cluster_entry = {
	"cluster",
	"cluster nodes [-c FILE]\n"
	"       mailbell cluster where USER [-c FILE]\n"
	"       mailbell cluster place USER NODE [-c FILE]",
	"list the nodes of a cluster, find or place a user",
	"  nodes            every node: where it is reached, whether it is\n"
	"                   up (a heartbeat within "
	"the last 15 s) and its users\n"
	"  where USER       print the node USER lives on\n"
	"  place USER NODE  make USER, who lives nowhere yet, live on NODE\n"
	"\n"
	"  -c FILE          configuration file with a [cluster] section\n"
	"\n"
	"Exit status: 0 done, 64 usage, 65 bad name, 67 user not placed,\n"
	"69 NATS or the cluster cannot be reached, 73 already placed,\n"
	"78 bad configuration or no [cluster] section.\n",
	cmd_cluster,
};

/* One entry of a bucket, as read by read_bucket(). */
struct entry {
	char key[CLUSTER_HOST_MAX + 1];
	char value[CLUSTER_EVENT_MAX];
	size_t len;
};

/* Every entry of kv into *entries_r (free it); returns the count or
 * -1. */
static long
read_bucket(kvStore *kv, struct entry **entries_r)
{
	kvWatcher *w = NULL;
	kvEntry *e;
	struct entry *all = NULL;
	size_t n = 0, cap = 0;
	natsStatus s;

	*entries_r = NULL;
	if (kvStore_WatchAll(&w, kv, NULL) != NATS_OK)
		return -1;
	for (;;) {
		e = NULL;
		if ((s = kvWatcher_Next(&e, w, CLUSTER_NATS_TIMEOUT_MS)) !=
		    NATS_OK || e == NULL)
			break;
		if (kvEntry_Operation(e) == kvOp_Put &&
		    strlen(kvEntry_Key(e)) <= CLUSTER_HOST_MAX &&
		    kvEntry_ValueLen(e) >= 0 &&
		    kvEntry_ValueLen(e) < CLUSTER_EVENT_MAX) {
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				all = xreallocarray(all, cap, sizeof(*all));
			}
			strcpy(all[n].key, kvEntry_Key(e));
			all[n].len = (size_t)kvEntry_ValueLen(e);
			memcpy(all[n].value, kvEntry_Value(e), all[n].len);
			all[n].value[all[n].len] = '\0';
			n++;
		}
		kvEntry_Destroy(e);
	}
	kvWatcher_Destroy(w);
	if (s != NATS_OK) {
		free(all);
		return -1;
	}
	*entries_r = all;
	return (long)n;
}

static int
cluster_nodes(struct cluster_nats *cn)
{
	struct entry *nodes, *users;
	struct cluster_node_record rec;
	const char *reason;
	long nn, nu, i, j, count;
	time_t now = time(NULL);

	if ((nn = read_bucket(cn->nodes, &nodes)) < 0 ||
	    (nu = read_bucket(cn->users, &users)) < 0) {
		log_warnx("cluster: cannot read the buckets from NATS");
		return EX_UNAVAILABLE;
	}
	printf("%-16s %-24s %6s %6s %6s %-5s %s\n", "NODE", "HOST", "IMAP",
	    "LMTP", "UDP", "STATE", "USERS");
	for (i = 0; i < nn; i++) {
		if (cluster_node_decode(nodes[i].value, nodes[i].len, &rec,
		    &reason) < 0)
			continue;
		for (count = 0, j = 0; j < nu; j++)
			count += strcmp(users[j].value, nodes[i].key) == 0;
		printf("%-16s %-24s %6u %6u %6u %-5s %ld\n", nodes[i].key,
		    rec.host, rec.imap_port, rec.lmtp_port, rec.udp_port,
		    (uint64_t)now <= rec.seen + CLUSTER_NODE_DOWN_SECS ?
		    "up" : "down", count);
	}
	free(nodes);
	free(users);
	return 0;
}

static int
cluster_where(struct cluster_nats *cn, const char *user)
{
	kvEntry *e = NULL;
	natsStatus s;

	s = kvStore_Get(&e, cn->users, user);
	if (s == NATS_NOT_FOUND) {
		log_warnx("cluster: %s lives on no node yet", user);
		return EX_NOUSER;
	}
	if (s != NATS_OK) {
		log_warnx("cluster: %s", cluster_nats_error(s));
		return EX_UNAVAILABLE;
	}
	printf("%.*s\n", kvEntry_ValueLen(e), (const char *)kvEntry_Value(e));
	kvEntry_Destroy(e);
	return 0;
}

static int
cluster_place(struct cluster_nats *cn, const char *user, const char *node)
{
	kvEntry *e = NULL;
	natsStatus s;

	if (!config_node_name_valid(node)) {
		log_warnx("cluster: invalid node name '%s'", node);
		return EX_DATAERR;
	}
	s = kvStore_CreateString(NULL, cn->users, user, node);
	if (s == NATS_OK) {
		printf("%s lives on %s\n", user, node);
		return 0;
	}
	if (kvStore_Get(&e, cn->users, user) == NATS_OK) {
		log_warnx("cluster: %s lives on %.*s already", user,
		    kvEntry_ValueLen(e), (const char *)kvEntry_Value(e));
		kvEntry_Destroy(e);
		return EX_CANTCREAT;
	}
	log_warnx("cluster: %s", cluster_nats_error(s));
	return EX_UNAVAILABLE;
}

static int
cluster_run(struct mb_config *cfg, int argc, char **argv)
{
	struct cluster_nats cn;
	const char *error;
	int ret;

	if (cfg->cluster_node == NULL) {
		log_warnx("cluster: %s has no [cluster] section",
		    cfg->file != NULL ? cfg->file : "the default configuration");
		return EX_CONFIG;
	}
	if (argc >= 2 && !directory_user_name_valid(argv[1])) {
		log_warnx("cluster: invalid user name '%s'", argv[1]);
		return EX_DATAERR;
	}
	if (cluster_nats_connect(&cn, cfg, "mailbell-cli", false, NULL,
	    &error) < 0 || cluster_nats_open(&cn, cfg, false, &error) < 0) {
		log_warnx("cluster: %s", error);
		cluster_nats_close(&cn);
		nats_Close();
		return EX_UNAVAILABLE;
	}
	if (strcmp(argv[0], "nodes") == 0)
		ret = cluster_nodes(&cn);
	else if (strcmp(argv[0], "where") == 0)
		ret = cluster_where(&cn, argv[1]);
	else
		ret = cluster_place(&cn, argv[1], argv[2]);
	cluster_nats_close(&cn);
	nats_Close();
	return ret;
}

static int
cmd_cluster(struct client_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct mb_config *cfg = NULL;
	int ch, ret, want;

	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			ctx->config_path = optarg;
			break;
		case 'h':
			client_cmd_usage(&cmd_cluster_entry, stdout, 1);
			return 0;
		default:
			client_cmd_usage(&cmd_cluster_entry, stderr, 0);
			return EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	want = argc < 1 ? -1 : strcmp(argv[0], "nodes") == 0 ? 1 :
	    strcmp(argv[0], "where") == 0 ? 2 :
	    strcmp(argv[0], "place") == 0 ? 3 : -1;
	if (want < 0 || argc != want) {
		client_cmd_usage(&cmd_cluster_entry, stderr, 0);
		return EX_USAGE;
	}
	if ((ret = client_load_config(ctx, &cfg)) != 0)
		return ret;
	ret = cluster_run(cfg, argc, argv);
	config_free(&cfg);
	return ret;
}
