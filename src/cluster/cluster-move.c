/*
 * Moving a user's Maildir from one node to another (doc/cluster.md 5),
 * asked for with `mailbell cluster move`, which writes the move into the
 * mailbell-moves bucket. The target runs it on its mover thread, talking
 * to the source over NATS requests (CLUSTER_MOVE_SUBJECT_PREFIX<node>):
 *
 *   freeze  the source refuses the user's mail and logins (4xx, NO
 *           [UNAVAILABLE]), ends the user's IMAP sessions and waits for
 *           the deliveries it has taken to be written;
 *   list    the files of the user's tree, a page at a time;
 *   get     a chunk of one file;
 *   done    the map names the target: the source puts its copy aside;
 *   abort   nothing changed: the source serves the user again.
 *
 * The target writes the files beside its mail root, fsyncs each, puts
 * the tree in place, and only then switches the user map (a
 * compare-and-set on the entry it read), so every message the source
 * acknowledged is on the target before any node sends the user there.
 * UIDs, UIDVALIDITY and flags travel with the files. The source's side
 * is cluster-move-source.c.
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

#include "directory/directory.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/strnum.h"
#include "lib/xmalloc.h"

/* ---- The target: copying on the mover thread ---- */

/* Ask node for op; *reply_r holds the answer's data (free it with
 * natsMsg_Destroy). Returns 0, or -1 with *error_r. */
static int
request(struct cluster *c, const char *node, const char *op,
    const char *user, const char *path, uint64_t offset, natsMsg **reply_r,
    const char **error_r)
{
	char subject[sizeof(CLUSTER_MOVE_SUBJECT_PREFIX) +
	    CLUSTER_NODE_NAME_MAX], off[24], when[24];
	char auth[CLUSTER_MOVE_SIG_LEN];
	natsMsg *msg = NULL, *rep = NULL;
	const char *status = NULL, *err = NULL;
	natsStatus s;

	*reply_r = NULL;
	snprintf(subject, sizeof(subject), "%s%s",
	    CLUSTER_MOVE_SUBJECT_PREFIX, node);
	snprintf(off, sizeof(off), "%llu", (unsigned long long)offset);
	snprintf(when, sizeof(when), "%lld", (long long)time(NULL));
	cluster_move_sign(c->route.secret, op, user, path, off, when, auth);
	s = natsMsg_Create(&msg, subject, NULL, NULL, 0);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(msg, "Mb-Op", op);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(msg, "Mb-User", user);
	if (s == NATS_OK && path != NULL)
		s = natsMsgHeader_Set(msg, "Mb-Path", path);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(msg, "Mb-Offset", off);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(msg, "Mb-Time", when);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(msg, "Mb-Auth", auth);
	if (s == NATS_OK)
		s = natsConnection_RequestMsg(&rep, c->cn.nc, msg,
		    CLUSTER_MOVE_REQUEST_MS);
	natsMsg_Destroy(msg);
	if (s != NATS_OK) {
		*error_r = error_fmt("%s on node %s: %s", op, node,
		    s == NATS_NO_RESPONDERS ? "the node does not answer" :
		    natsStatus_GetText(s));
		return -1;
	}
	natsMsgHeader_Get(rep, "Mb-Status", &status);
	if (status == NULL || strcmp(status, "ok") != 0) {
		natsMsgHeader_Get(rep, "Mb-Error", &err);
		*error_r = error_fmt("%s on node %s: %s", op, node,
		    err != NULL ? err : "failed");
		natsMsg_Destroy(rep);
		return -1;
	}
	*reply_r = rep;
	return 0;
}

static bool
more(natsMsg *rep)
{
	const char *v = NULL;

	return natsMsgHeader_Get(rep, "Mb-More", &v) == NATS_OK && v != NULL;
}

/* Copy one file of the source's tree to dst, fsynced. */
static int
copy_file(struct cluster *c, const struct cluster_move_job *job,
    const char *rel, const char *dst, uint64_t *bytes, const char **error_r)
{
	natsMsg *rep;
	uint64_t offset = 0;
	bool again;
	int fd, len;

	if ((fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) < 0) {
		*error_r = error_errno(dst, errno);
		return -1;
	}
	do {
		if (request(c, job->from, "get", job->user, rel, offset, &rep,
		    error_r) < 0) {
			close(fd);
			return -1;
		}
		len = natsMsg_GetDataLength(rep);
		again = more(rep) && len > 0;
		if (write_full(fd, natsMsg_GetData(rep), (size_t)len) < 0) {
			*error_r = error_errno(dst, errno);
			natsMsg_Destroy(rep);
			close(fd);
			return -1;
		}
		offset += (uint64_t)len;
		natsMsg_Destroy(rep);
	} while (again);
	*bytes += offset;
	if (fsync(fd) < 0 || close(fd) < 0) {
		*error_r = error_errno(dst, errno);
		return -1;
	}
	return 0;
}

/* Make the directory or copy the file of one line of the list. */
static int
copy_entry(struct cluster *c, struct cluster_move_job *job,
    const char *stage, char *entry, const char **error_r)
{
	char dst[PATH_MAX];
	bool dir = entry[0] == 'd';
	char *rel = NULL;

	/* "d PATH" or "f SIZE PATH" */
	if (entry[0] != '\0' && entry[1] == ' ')
		rel = dir ? entry + 2 : entry[0] == 'f' ?
		    strchr(entry + 2, ' ') : NULL;
	if (rel != NULL && !dir)
		rel++;
	if (rel == NULL || !cluster_move_path_ok(rel)) {
		*error_r = "bad file list";
		return -1;
	}
	if ((size_t)snprintf(dst, sizeof(dst), "%s/%s", stage, rel) >=
	    sizeof(dst)) {
		*error_r = "path too long";
		return -1;
	}
	if (dir) {
		if (mkdir(dst, 0700) < 0) {
			*error_r = error_errno(dst, errno);
			return -1;
		}
		return 0;
	}
	job->files++;
	return copy_file(c, job, rel, dst, &job->bytes, error_r);
}

/* Copy every directory and file the source lists into stage (a fresh
 * directory), parents before what they hold. */
static int
copy_tree(struct cluster *c, struct cluster_move_job *job,
    const char *stage, const char **error_r)
{
	char *line, *save = NULL, *sp;
	natsMsg *rep;
	uint64_t lines = 0;
	bool again;
	int ret = 0;

	do {
		if (request(c, job->from, "list", job->user, NULL, lines, &rep,
		    error_r) < 0)
			return -1;
		again = more(rep);
		line = xstrndup(natsMsg_GetData(rep),
		    (size_t)natsMsg_GetDataLength(rep));
		natsMsg_Destroy(rep);
		for (sp = strtok_r(line, "\n", &save); sp != NULL && ret == 0;
		    sp = strtok_r(NULL, "\n", &save)) {
			lines++;
			ret = copy_entry(c, job, stage, sp, error_r);
		}
		free(line);
	} while (again && ret == 0);
	return ret;
}

/* fsync every directory of the tree at path, deepest first. */
static int
sync_dirs(const char *path, unsigned depth)
{
	char sub[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int ret = 0;

	if (depth > CLUSTER_MOVE_DEPTH_MAX + 1 || (d = opendir(path)) == NULL)
		return -1;
	while (ret == 0 && (de = readdir(d)) != NULL) {
		if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		ret = (size_t)snprintf(sub, sizeof(sub), "%s/%s", path,
		    de->d_name) >= sizeof(sub) ? -1 : sync_dirs(sub, depth + 1);
	}
	closedir(d);
	return ret == 0 ? fsync_dir(path) : -1;
}

/* Remove the tree at path (a failed move's copy). */
static void
remove_tree(const char *path, unsigned depth)
{
	char sub[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if (depth > CLUSTER_MOVE_DEPTH_MAX + 1 || (d = opendir(path)) == NULL) {
		unlink(path);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path,
		    de->d_name) >= sizeof(sub))
			continue;
		if (de->d_type == DT_DIR)
			remove_tree(sub, depth + 1);
		else
			unlink(sub);
	}
	closedir(d);
	rmdir(path);
}

int
cluster_move_aside(const char *mail_root, const char *user, const char *why,
    const char **error_r)
{
	char dir[PATH_MAX], from[PATH_MAX], to[PATH_MAX];

	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", mail_root,
	    CLUSTER_MOVED_DIR) >= sizeof(dir) ||
	    (size_t)snprintf(from, sizeof(from), "%s/%s", mail_root, user) >=
	    sizeof(from) ||
	    (size_t)snprintf(to, sizeof(to), "%s/%s.%lld.%s", dir, user,
	    (long long)time(NULL), why) >= sizeof(to)) {
		*error_r = "path too long";
		return -1;
	}
	if (mkdir_p(dir, 0700) < 0) {
		*error_r = error_errno(dir, errno);
		return -1;
	}
	if (rename(from, to) < 0) {
		if (errno == ENOENT)
			return 0;
		*error_r = error_errno(from, errno);
		return -1;
	}
	if (fsync_dir(dir) < 0 || fsync_dir(mail_root) < 0) {
		*error_r = error_errno(mail_root, errno);
		return -1;
	}
	log_info("cluster: %s's mail here put aside in %s", user, to);
	return 0;
}

int
cluster_move_install(const char *mail_root, const char *user,
    const char **error_r)
{
	char stage[PATH_MAX], home[PATH_MAX];

	if ((size_t)snprintf(stage, sizeof(stage), "%s/%s/%s", mail_root,
	    CLUSTER_INCOMING_DIR, user) >= sizeof(stage) ||
	    (size_t)snprintf(home, sizeof(home), "%s/%s", mail_root, user) >=
	    sizeof(home)) {
		*error_r = "path too long";
		return -1;
	}
	/* What this node had of the user (the empty Maildir of `mailbell
	 * user add`, or an old copy) goes aside; the copy takes its place. */
	if (cluster_move_aside(mail_root, user, "replaced", error_r) < 0)
		return -1;
	if (rename(stage, home) < 0 || fsync_dir(mail_root) < 0) {
		*error_r = error_errno(home, errno);
		return -1;
	}
	return 0;
}

/* Record job's state in mailbell-moves for `mailbell cluster move`. */
static void
record(struct cluster *c, const struct cluster_move_job *job,
    enum cluster_move_state state, const char *error)
{
	struct cluster_move_record rec;
	char buf[CLUSTER_EVENT_MAX];
	int len;

	memset(&rec, 0, sizeof(rec));
	snprintf(rec.from, sizeof(rec.from), "%s", job->from);
	snprintf(rec.to, sizeof(rec.to), "%s", c->node);
	rec.state = state;
	snprintf(rec.error, sizeof(rec.error), "%s", error != NULL ? error : "");
	rec.files = job->files;
	rec.bytes = job->bytes;
	if ((len = cluster_move_encode(&rec, buf)) > 0)
		(void)kvStore_Put(NULL, c->cn.moves, job->user, buf, len);
}

/* Name this node in the map for job's user, if the map still names the
 * source (compare-and-set on the entry's revision). */
static int
switch_owner(struct cluster *c, const struct cluster_move_job *job,
    const char **error_r)
{
	kvEntry *e = NULL;
	natsStatus s;
	bool same;

	if ((s = kvStore_Get(&e, c->cn.users, job->user)) != NATS_OK) {
		*error_r = cluster_nats_error(s);
		return -1;
	}
	same = (size_t)kvEntry_ValueLen(e) == strlen(job->from) &&
	    memcmp(kvEntry_Value(e), job->from, strlen(job->from)) == 0;
	if (same)
		s = kvStore_UpdateString(NULL, c->cn.users, job->user, c->node,
		    kvEntry_Revision(e));
	kvEntry_Destroy(e);
	if (!same) {
		*error_r = "the user map changed during the move";
		return -1;
	}
	if (s != NATS_OK) {
		*error_r = cluster_nats_error(s);
		return -1;
	}
	return 0;
}

/* Copy, put in place, switch: every step of a move here. */
static int
move_run(struct cluster *c, struct cluster_move_job *job,
    const char **error_r)
{
	char stage[PATH_MAX];
	natsMsg *rep;

	snprintf(stage, sizeof(stage), "%s/%s/%s", c->mail_root,
	    CLUSTER_INCOMING_DIR, job->user);
	remove_tree(stage, 0);
	if (mkdir_p(stage, 0700) < 0) {
		*error_r = error_errno(stage, errno);
		return -1;
	}
	if (request(c, job->from, "freeze", job->user, NULL, 0, &rep,
	    error_r) < 0)
		goto fail;
	natsMsg_Destroy(rep);
	job->frozen = true;
	if (copy_tree(c, job, stage, error_r) < 0)
		goto fail;
	if (sync_dirs(stage, 0) < 0) {
		*error_r = error_errno(stage, errno);
		goto fail;
	}
	/* On the loop, so that the store forgets the old tree and takes
	 * the copy's mail as known before the watcher reports it. */
	if (cluster_call_loop(c, "install", job->user, error_r) < 0)
		goto fail;
	if (switch_owner(c, job, error_r) < 0) {
		const char *ignored;

		(void)cluster_move_aside(c->mail_root, job->user, "failed",
		    &ignored);
		goto fail;
	}
	if (request(c, job->from, "done", job->user, NULL, 0, &rep,
	    error_r) < 0)
		log_warnx("cluster: move of %s: %s (the copy on %s stays)",
		    job->user, *error_r, job->from);
	else
		natsMsg_Destroy(rep);
	return 0;
fail:
	remove_tree(stage, 0);
	if (job->frozen) {
		const char *abort_error;

		if (request(c, job->from, "abort", job->user, NULL, 0, &rep,
		    &abort_error) == 0)
			natsMsg_Destroy(rep);
		else
			log_warnx("cluster: move of %s: %s", job->user,
			    abort_error);
	}
	return -1;
}

void
cluster_move_queue(struct cluster *c, const char *user, const char *from)
{
	struct cluster_move_job *job, **tail;

	pthread_mutex_lock(&c->lock);
	for (tail = &c->moves; *tail != NULL; tail = &(*tail)->next)
		if (strcmp((*tail)->user, user) == 0)
			break;
	if (*tail == NULL) {
		job = xcalloc(1, sizeof(*job));
		snprintf(job->user, sizeof(job->user), "%s", user);
		snprintf(job->from, sizeof(job->from), "%s", from);
		*tail = job;
		pthread_cond_broadcast(&c->cond);
	}
	pthread_mutex_unlock(&c->lock);
}

/* The mover: one move at a time, in the order they were asked for. */
static void *
mover_main(void *arg)
{
	struct cluster *c = arg;
	struct cluster_move_job *job;
	const char *error = NULL;
	uint64_t t0;

	for (;;) {
		pthread_mutex_lock(&c->lock);
		while (c->moves == NULL && !c->stopping)
			pthread_cond_wait(&c->cond, &c->lock);
		job = c->moves;
		pthread_mutex_unlock(&c->lock);
		if (job == NULL)
			return NULL;	/* stopping */
		t0 = (uint64_t)time(NULL);
		log_info("cluster: moving %s from node %s here", job->user,
		    job->from);
		record(c, job, CLUSTER_MOVE_COPYING, NULL);
		if (move_run(c, job, &error) == 0) {
			record(c, job, CLUSTER_MOVE_DONE, NULL);
			log_info("cluster: moved %s from node %s here: %llu "
			    "files, %llu bytes in %llu s", job->user, job->from,
			    (unsigned long long)job->files,
			    (unsigned long long)job->bytes,
			    (unsigned long long)((uint64_t)time(NULL) - t0));
		} else {
			record(c, job, CLUSTER_MOVE_FAILED, error);
			log_warnx("cluster: move of %s from node %s failed: %s",
			    job->user, job->from, error);
		}
		pthread_mutex_lock(&c->lock);
		c->moves = job->next;
		pthread_mutex_unlock(&c->lock);
		free(job);
	}
}

void *
cluster_mover_main(void *arg)
{
	struct cluster *c = arg;

	if (!cluster_wait_ready(c))
		return NULL;
	return mover_main(c);
}

