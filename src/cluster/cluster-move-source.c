/*
 * The source's side of a move (cluster-move.c): answering the moving
 * node's requests on NATS's thread. The file list and the files' chunks
 * are read here; freezing, quiescing and putting aside are handed to
 * the loop and waited for. Every request must be signed with the
 * cluster secret.
 */
#include "cluster/cluster-private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "directory/directory.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/strnum.h"
#include "lib/xmalloc.h"

/* ---- Paths ---- */

bool
cluster_move_path_ok(const char *rel)
{
	const char *p = rel;

	if (*rel == '\0' || *rel == '/' || strlen(rel) >= PATH_MAX / 2)
		return false;
	while (*p != '\0') {
		const char *end = strchrnul(p, '/');

		if (end == p || (end - p == 2 && p[0] == '.' && p[1] == '.') ||
		    (end - p == 1 && p[0] == '.'))
			return false;
		p = *end == '/' ? end + 1 : end;
	}
	return true;
}

/* Every directory and file under root/rel into list, as "d PATH\n" and
 * "f SIZE PATH\n" lines, parents first; a folder's tmp/ is listed
 * without what it holds (deliveries under way, not mail). */
static int
walk(const char *root, const char *rel, unsigned depth, struct buf *list,
    size_t *count)
{
	char path[PATH_MAX], sub[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int ret = 0;

	snprintf(path, sizeof(path), "%s%s%s", root, *rel ? "/" : "", rel);
	if (depth > CLUSTER_MOVE_DEPTH_MAX || (d = opendir(path)) == NULL)
		return -1;
	while (ret == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s%s%s", rel,
		    *rel ? "/" : "", de->d_name) >= sizeof(sub) / 2 ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    ++*count > CLUSTER_MOVE_FILES_MAX)
			ret = -1;
		else if (S_ISDIR(st.st_mode)) {
			buf_printf(list, "d %s\n", sub);
			if (strcmp(de->d_name, "tmp") != 0)
				ret = walk(root, sub, depth + 1, list, count);
		} else if (S_ISREG(st.st_mode))
			buf_printf(list, "f %llu %s\n",
			    (unsigned long long)st.st_size, sub);
	}
	closedir(d);
	return ret;
}

/* ---- Signing requests ---- */

/* Any client of the NATS cluster may publish to a node's move subject;
 * only a node holding the secret may read a user's files or freeze a
 * user through it. */
void
cluster_move_sign(const char *secret, const char *op, const char *user,
    const char *path, const char *offset, const char *when,
    char hex[CLUSTER_MOVE_SIG_LEN])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;
	struct buf msg;

	buf_init(&msg, 0);
	buf_printf(&msg, "mailbell move v1");
	buf_append(&msg, "", 1);
	buf_printf(&msg, "%s", op);
	buf_append(&msg, "", 1);
	buf_printf(&msg, "%s", user);
	buf_append(&msg, "", 1);
	buf_printf(&msg, "%s", path != NULL ? path : "");
	buf_append(&msg, "", 1);
	buf_printf(&msg, "%s", offset);
	buf_append(&msg, "", 1);
	buf_printf(&msg, "%s", when);
	HMAC(EVP_sha256(), secret, (int)strlen(secret),
	    (const unsigned char *)msg.data, msg.len, mac, &len);
	for (i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	hex[2 * len] = '\0';
	buf_free(&msg);
}

/* Whether req carries a fresh signature by a holder of the secret. */
static bool
request_signed(struct cluster *c, natsMsg *req, const char *op,
    const char *user, const char *path, const char *offset)
{
	char want[CLUSTER_MOVE_SIG_LEN];
	const char *when = NULL, *auth = NULL;
	uint64_t t, now = (uint64_t)time(NULL);

	if (natsMsgHeader_Get(req, "Mb-Time", &when) != NATS_OK ||
	    natsMsgHeader_Get(req, "Mb-Auth", &auth) != NATS_OK ||
	    str_to_u64(when, 0, UINT64_MAX, &t) < 0 ||
	    t + CLUSTER_MOVE_AUTH_SKEW_SECS < now ||
	    t > now + CLUSTER_MOVE_AUTH_SKEW_SECS)
		return false;
	cluster_move_sign(c->route.secret, op, user, path, offset, when,
	    want);
	return strlen(auth) == strlen(want) &&
	    CRYPTO_memcmp(auth, want, strlen(want)) == 0;
}

/* ---- The source: answering requests on NATS's thread ---- */

/* A request the loop must carry out, and its answer. */
struct loop_call {
	struct completion item;
	struct cluster *c;
	char op[16];
	char user[USER_NAME_MAX + 1];
	bool done;
	int result;
	const char *error;
};

/* Run on the loop: freeze, done or abort. */
static void
loop_call_cb(struct completion *item)
{
	struct loop_call *call = COMPLETION_ENTRY(item, struct loop_call, item);

	cluster_move_source(call->c, call->op, call->user, call);
}

void
cluster_move_answer(void *ctx, int result, const char *error)
{
	struct loop_call *call = ctx;
	struct cluster *c = call->c;

	pthread_mutex_lock(&c->lock);
	call->result = result;
	call->error = error;
	call->done = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

int
cluster_call_loop(struct cluster *c, const char *op, const char *user,
    const char **error_r)
{
	struct loop_call *call = xcalloc(1, sizeof(*call));
	int ret;

	call->c = c;
	snprintf(call->op, sizeof(call->op), "%s", op);
	snprintf(call->user, sizeof(call->user), "%s", user);
	completion_post(c->done, &call->item, loop_call_cb);
	pthread_mutex_lock(&c->lock);
	while (!call->done && !c->stopping)
		pthread_cond_wait(&c->cond, &c->lock);
	if (!call->done) {
		/* The loop still holds call: it is freed with the queue. */
		pthread_mutex_unlock(&c->lock);
		*error_r = "node stopping";
		return -1;
	}
	pthread_mutex_unlock(&c->lock);
	ret = call->result;
	*error_r = call->error;
	free(call);
	return ret;
}

static void
reply(struct cluster *c, natsMsg *req, const char *error, const void *data,
    size_t len, bool more)
{
	natsMsg *msg = NULL;
	const char *to = natsMsg_GetReply(req);

	if (to == NULL || natsMsg_Create(&msg, to, NULL, data,
	    (int)len) != NATS_OK)
		return;
	natsMsgHeader_Set(msg, "Mb-Status", error == NULL ? "ok" : "error");
	if (error != NULL)
		natsMsgHeader_Set(msg, "Mb-Error", error);
	if (more)
		natsMsgHeader_Set(msg, "Mb-More", "1");
	natsConnection_PublishMsg(c->cn.nc, msg);
	natsMsg_Destroy(msg);
}

/* A page of the file list from line number offset. */
static void
answer_list(struct cluster *c, natsMsg *req, const char *user,
    uint64_t offset)
{
	struct buf list, page;
	char root[PATH_MAX];
	size_t count = 0, line = 0, i = 0, end;

	buf_init(&list, 0);
	buf_init(&page, 0);
	snprintf(root, sizeof(root), "%s/%s", c->mail_root, user);
	if (walk(root, "", 0, &list, &count) < 0) {
		reply(c, req, "cannot list the user's files", NULL, 0, false);
		goto out;
	}
	/* Whole lines from line offset, up to a chunk. */
	while (i < list.len) {
		end = (size_t)((const unsigned char *)memchr(list.data + i,
		    '\n', list.len - i) - list.data) + 1;
		if (line++ >= offset) {
			if (page.len + (end - i) > CLUSTER_MOVE_CHUNK)
				break;
			buf_append(&page, list.data + i, end - i);
		}
		i = end;
	}
	reply(c, req, NULL, page.data, page.len, i < list.len);
out:
	buf_free(&list);
	buf_free(&page);
}

/* A chunk of one file from byte offset. */
static void
answer_get(struct cluster *c, natsMsg *req, const char *user,
    const char *rel, uint64_t offset)
{
	char path[PATH_MAX];
	char *chunk;
	struct stat st;
	ssize_t n;
	int fd;

	if (!cluster_move_path_ok(rel)) {
		reply(c, req, "bad path", NULL, 0, false);
		return;
	}
	snprintf(path, sizeof(path), "%s/%s/%s", c->mail_root, user, rel);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 ||
	    fstat(fd, &st) < 0) {
		reply(c, req, strerror(errno), NULL, 0, false);
		if (fd >= 0)
			close(fd);
		return;
	}
	chunk = xmalloc(CLUSTER_MOVE_CHUNK);
	n = pread(fd, chunk, CLUSTER_MOVE_CHUNK, (off_t)offset);
	if (n < 0)
		reply(c, req, strerror(errno), NULL, 0, false);
	else
		reply(c, req, NULL, chunk, (size_t)n,
		    (uint64_t)st.st_size > offset + (uint64_t)n);
	free(chunk);
	close(fd);
}

/* A request to this node as the source of a move (NATS's thread). */
static void
request_cb(natsConnection *nc, natsSubscription *sub, natsMsg *req,
    void *closure)
{
	struct cluster *c = closure;
	const char *op = NULL, *user = NULL, *path = NULL, *off = NULL;
	const char *error = NULL;
	uint64_t offset = 0;

	(void)nc;
	(void)sub;
	natsMsgHeader_Get(req, "Mb-Op", &op);
	natsMsgHeader_Get(req, "Mb-User", &user);
	natsMsgHeader_Get(req, "Mb-Path", &path);
	if (natsMsgHeader_Get(req, "Mb-Offset", &off) != NATS_OK ||
	    str_to_u64(off, 0, UINT64_MAX, &offset) < 0)
		op = NULL;
	if (op == NULL || user == NULL || !directory_user_name_valid(user)) {
		reply(c, req, "bad request", NULL, 0, false);
	} else if (!request_signed(c, req, op, user, path, off)) {
		log_warnx("cluster: a move request for %s (%s) without a "
		    "valid signature refused", user, op);
		reply(c, req, "not signed with the cluster secret", NULL, 0,
		    false);
	} else if (strcmp(op, "list") == 0) {
		answer_list(c, req, user, offset);
	} else if (strcmp(op, "get") == 0 && path != NULL) {
		answer_get(c, req, user, path, offset);
	} else if (strcmp(op, "freeze") == 0 || strcmp(op, "done") == 0 ||
	    strcmp(op, "abort") == 0) {
		if (cluster_call_loop(c, op, user, &error) == 0)
			error = NULL;
		else if (error == NULL)
			error = "failed";
		reply(c, req, error, NULL, 0, false);
	} else
		reply(c, req, "unknown request", NULL, 0, false);
	natsMsg_Destroy(req);
}

natsSubscription *
cluster_move_serve(struct cluster *c)
{
	char subject[sizeof(CLUSTER_MOVE_SUBJECT_PREFIX) +
	    CLUSTER_NODE_NAME_MAX];
	natsSubscription *sub = NULL;

	snprintf(subject, sizeof(subject), "%s%s",
	    CLUSTER_MOVE_SUBJECT_PREFIX, c->node);
	if (natsConnection_Subscribe(&sub, c->cn.nc, subject, request_cb,
	    c) != NATS_OK)
		return NULL;
	return sub;
}

