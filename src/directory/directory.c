/*
 * The passwd-file user directory: lookups from an in-memory copy that is
 * re-read whenever the file's inode, size or mtime changes, and edits that
 * take a lock file and replace the file atomically, so the daemon and the
 * `mailbell user` commands can share it safely.
 */
#include "directory/directory.h"
#include "directory/directory-private.h"

#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/config.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/hash.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

/* One line of the file. User lines are parsed; anything else (comments,
 * blank or malformed lines) is kept verbatim so an edit rewrites it
 * unchanged. */
struct directory_line {
	char *name;		/* user name, or NULL for a verbatim line */
	char *password;		/* "{SCHEME}hash" as written */
	char *rest;		/* ":uid:gid..." after the password, or "" */
	char *raw;		/* the verbatim line when name is NULL */
};

/* A user's entry in the index: the first line of that name. */
struct directory_user {
	struct hash_node node;	/* in directory.users, by hash_str(name) */
	const char *name;	/* the line's name (owned by the line) */
	size_t line;		/* index in directory.lines */
};

struct directory {
	char *path;		/* the passwd file */
	char *lock_path;	/* <path>.lock, flock(2)ed during edits */

	/* The user lines by name, rebuilt whenever lines change: the
	 * table and the array of its entries. */
	struct hash_table users;
	struct directory_user *user_entries;

	/* The cached contents and the identity of the file they came
	 * from; loaded is false until the first successful read. */
	struct directory_line *lines;
	size_t count;
	bool loaded;
	bool exists;		/* whether the file was there */
	const struct route_ops *route;	/* where users live; NULL: here */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	unsigned long generation;	/* loads so far */
};

static void
wipe_str(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

bool
directory_user_name_valid(const char *name)
{
	size_t i;

	if (name[0] == '\0' || name[0] == '.' || name[0] == '-')
		return false;
	for (i = 0; name[i] != '\0'; i++) {
		char c = name[i];

		if (i == USER_NAME_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* Lowercase name into out (USER_NAME_MAX + 1 bytes) if it is a valid user
 * name once lowercased. */
static bool
normalise_name(const char *name, size_t len, char out[USER_NAME_MAX + 1])
{
	size_t i;

	if (len == 0 || len > USER_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		out[i] = (char)tolower((unsigned char)name[i]);
	out[len] = '\0';
	return directory_user_name_valid(out);
}

struct directory *
directory_open(const char *path)
{
	struct directory *dir = xcalloc(1, sizeof(*dir));

	dir->path = xstrdup(path);
	dir->lock_path = xasprintf("%s.lock", path);
	return dir;
}

void
directory_set_route(struct directory *dir, const struct route_ops *route)
{
	dir->route = route;
}

enum route_where
directory_locate(struct directory *dir, const char *user,
    struct route_peer *peer_r)
{
	memset(peer_r, 0, sizeof(*peer_r));
	if (dir->route == NULL)
		return ROUTE_HERE;
	return dir->route->locate(dir->route->ctx, user, peer_r);
}

static void
lines_free(struct directory_line *lines, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		free(lines[i].name);
		wipe_str(lines[i].password);
		wipe_str(lines[i].rest);
		wipe_str(lines[i].raw);
	}
	free(lines);
}

void
directory_free(struct directory **dirp)
{
	struct directory *dir = *dirp;

	if (dir == NULL)
		return;
	*dirp = NULL;
	lines_free(dir->lines, dir->count);
	hash_free(&dir->users);
	free(dir->user_entries);
	free(dir->path);
	free(dir->lock_path);
	free(dir);
}

/* Split text into lines; user lines must look like name:password[:...]
 * with a valid name. Duplicate names: the first one counts, as in
 * Dovecot. */
static void
parse_text(const char *path, char *text, size_t len,
    struct directory_line **lines_r, size_t *count_r)
{
	struct directory_line *lines = NULL;
	size_t count = 0, cap = 0, lineno = 0;
	char *p = text, *end = text + len;

	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *line = p, *colon, *colon2;
		struct directory_line *l;
		size_t llen;

		llen = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		p = nl != NULL ? nl + 1 : end;
		lineno++;
		line[llen] = '\0';
		if (count == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			lines = xreallocarray(lines, cap, sizeof(*lines));
		}
		l = &lines[count++];
		memset(l, 0, sizeof(*l));

		if (llen == 0 || line[0] == '#') {
			l->raw = xstrdup(line);
			continue;
		}
		colon = strchr(line, ':');
		if (llen > PASSWD_LINE_MAX || colon == NULL ||
		    memchr(line, '\r', llen) != NULL) {
			log_warnx("%s:%zu: not name:password, ignored", path,
			    lineno);
			l->raw = xstrdup(line);
			continue;
		}
		*colon = '\0';
		if (!directory_user_name_valid(line)) {
			*colon = ':';
			log_warnx("%s:%zu: invalid user name, line ignored",
			    path, lineno);
			l->raw = xstrdup(line);
			continue;
		}
		colon2 = strchr(colon + 1, ':');
		l->name = xstrdup(line);
		l->password = colon2 != NULL ?
		    xstrndup(colon + 1, (size_t)(colon2 - colon - 1)) :
		    xstrdup(colon + 1);
		l->rest = xstrdup(colon2 != NULL ? colon2 : "");
	}
	*lines_r = lines;
	*count_r = count;
}

/* Read all of fd (a regular file of at most PASSWD_FILE_MAX bytes) into
 * a NUL-terminated malloc'd buffer. 0, or -1 with errno set. */
static int
read_fd(int fd, const struct stat *st, char **text_r, size_t *len_r)
{
	size_t len = 0, cap;
	char *text;
	ssize_t n;

	if (!S_ISREG(st->st_mode)) {
		errno = EINVAL;
		return -1;
	}
	if (st->st_size > PASSWD_FILE_MAX) {
		errno = EFBIG;
		return -1;
	}
	cap = (size_t)st->st_size + 1;
	text = xmalloc(cap);
	for (;;) {
		if (len + 1 == cap) {
			/* grew since fstat: keep reading, within bounds */
			if (cap > PASSWD_FILE_MAX) {
				explicit_bzero(text, len);
				free(text);
				errno = EFBIG;
				return -1;
			}
			cap *= 2;
			text = xrealloc(text, cap);
		}
		n = read(fd, text + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;

			explicit_bzero(text, len);
			free(text);
			errno = saved;
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	text[len] = '\0';
	*text_r = text;
	*len_r = len;
	return 0;
}

/* Read the file into dir's lines, unconditionally. 0, or -1 with errno
 * set. */
static int
directory_read(struct directory *dir)
{
	struct directory_line *lines;
	struct stat st;
	char *text;
	size_t len, count;
	int fd, saved;

	if ((fd = open(dir->path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno != ENOENT)
			return -1;
		lines_free(dir->lines, dir->count);
		dir->lines = NULL;
		dir->count = 0;
		dir->loaded = true;
		dir->exists = false;
		dir->generation++;
		return 0;
	}
	/* identify what we read by the descriptor, not the name: the file
	 * may be replaced at any time */
	if (fstat(fd, &st) < 0 || read_fd(fd, &st, &text, &len) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	close(fd);
	parse_text(dir->path, text, len, &lines, &count);
	explicit_bzero(text, len);
	free(text);

	lines_free(dir->lines, dir->count);
	dir->lines = lines;
	dir->count = count;
	dir->loaded = true;
	dir->exists = true;
	dir->generation++;
	dir->dev = st.st_dev;
	dir->ino = st.st_ino;
	dir->size = st.st_size;
	dir->mtime = st.st_mtim;
	return 0;
}

static uint64_t
user_hash_cb(const struct hash_node *node)
{
	return hash_str(HASH_ENTRY(node, struct directory_user, node)->name);
}

/* The first line of user, or NULL. */
static struct directory_line *
find_user(struct directory *dir, const char *user)
{
	struct hash_node *n;

	for (n = hash_bucket(&dir->users, hash_str(user)); n != NULL;
	    n = n->next) {
		struct directory_user *u =
		    HASH_ENTRY(n, struct directory_user, node);

		if (strcmp(u->name, user) == 0)
			return &dir->lines[u->line];
	}
	return NULL;
}

/* Index the user lines by name after they changed. Of lines with the
 * same name the first one counts, as parse_text() says. */
static void
index_users(struct directory *dir)
{
	size_t i, n = 0;

	hash_free(&dir->users);
	free(dir->user_entries);
	dir->user_entries = xcalloc(dir->count > 0 ? dir->count : 1,
	    sizeof(*dir->user_entries));
	hash_init(&dir->users, dir->count, user_hash_cb);
	for (i = 0; i < dir->count; i++) {
		struct directory_user *u = &dir->user_entries[n];

		if (dir->lines[i].name == NULL ||
		    find_user(dir, dir->lines[i].name) != NULL)
			continue;
		u->name = dir->lines[i].name;
		u->line = i;
		hash_insert(&dir->users, &u->node, hash_str(u->name));
		n++;
	}
}

/* Read the file now, unconditionally, and index its users (also
 * directory.h). */
int
directory_reload(struct directory *dir)
{
	if (directory_read(dir) < 0)
		return -1;
	index_users(dir);
	return 0;
}

/* Re-read the file if it changed since it was last read. On a read error
 * the old contents stay in use. */
static int
directory_refresh(struct directory *dir)
{
	struct stat st;

	if (!dir->loaded)
		goto reload;
	if (stat(dir->path, &st) < 0) {
		if (errno == ENOENT && !dir->exists)
			return 0;
		goto reload;
	}
	if (dir->exists && st.st_dev == dir->dev && st.st_ino == dir->ino &&
	    st.st_size == dir->size &&
	    st.st_mtim.tv_sec == dir->mtime.tv_sec &&
	    st.st_mtim.tv_nsec == dir->mtime.tv_nsec)
		return 0;
reload:
	if (directory_reload(dir) < 0) {
		log_warn("%s", dir->path);
		return -1;
	}
	return 0;
}

bool
directory_user_exists(struct directory *dir, const char *user)
{
	char name[USER_NAME_MAX + 1];

	if (!normalise_name(user, strlen(user), name))
		return false;
	(void)directory_refresh(dir);
	return find_user(dir, name) != NULL;
}

/* Checked when the user is unknown and no user's hash can stand in:
 * "mailbell" in the default scheme (SHA512-CRYPT) at its default cost,
 * the scheme and cost `mailbell user add` writes. A constant, so
 * threads share it without a lock. */
static const char dummy_hash[] = "{SHA512-CRYPT}$6$mailbelldummysa$"
    "aytiSchWNlFwlwzbazHJQObzDx1jTSFf9zbVF.dNijATTpkV71JVzHhT3PM43PR8I8W6"
    "/hRlkaBLpXbj7KvhV/";

char *
directory_verifier(struct directory *dir, const char *user, bool *known_r)
{
	struct directory_line *l = NULL;
	char name[USER_NAME_MAX + 1];
	size_t i;

	if (normalise_name(user, strlen(user), name)) {
		(void)directory_refresh(dir);
		l = find_user(dir, name);
	}
	*known_r = l != NULL;
	if (l != NULL)
		return xstrdup(l->password);
	/* An unknown user is checked against a real user's hash, so the
	 * check costs what a known user's does, whatever scheme and cost
	 * the file uses. */
	for (i = 0; i < dir->count; i++)
		if (dir->lines[i].name != NULL)
			return xstrdup(dir->lines[i].password);
	return xstrdup(dummy_hash);
}

void
directory_secret_free(char **secretp)
{
	wipe_str(*secretp);
	*secretp = NULL;
}

int
directory_verify(struct directory *dir, const char *user,
    const char *password)
{
	char *stored;
	bool known, ok;

	stored = directory_verifier(dir, user, &known);
	ok = directory_password_check(password, stored) && known;
	directory_secret_free(&stored);
	return ok ? 0 : -1;
}

int
directory_resolve(struct directory *dir, const struct mb_config *cfg,
    const char *recipient, char user_r[USER_NAME_MAX + 1])
{
	const char *at = strrchr(recipient, '@');
	char name[USER_NAME_MAX + 1];
	size_t i;

	if (at != NULL) {
		const char *domain = at + 1;
		bool ok = cfg->domain_count == 0 && domain[0] != '\0';

		for (i = 0; i < cfg->domain_count && !ok; i++)
			ok = strcasecmp(cfg->domains[i], domain) == 0;
		if (!ok)
			return -1;
	}
	if (!normalise_name(recipient, at != NULL ?
	    (size_t)(at - recipient) : strlen(recipient), name))
		return -1;
	(void)directory_refresh(dir);
	if (find_user(dir, name) == NULL)
		return -1;
	memcpy(user_r, name, strlen(name) + 1);
	return 0;
}

/* Serialise the lines and replace the file. */
static int
directory_write(struct directory *dir, const char **error_r)
{
	struct buf b;
	size_t i;
	int ret = 0;

	buf_init(&b, PASSWD_FILE_MAX);
	for (i = 0; i < dir->count && ret == 0; i++) {
		const struct directory_line *l = &dir->lines[i];

		ret = l->name != NULL ?
		    buf_printf(&b, "%s:%s%s\n", l->name, l->password, l->rest) :
		    buf_printf(&b, "%s\n", l->raw);
	}
	if (ret < 0) {
		*error_r = error_code_fmt(ERROR_LIMIT,
		    "%s: would exceed %d bytes", dir->path, PASSWD_FILE_MAX);
	} else if (write_file_atomic(dir->path, b.data, b.len, 0600) < 0) {
		*error_r = error_fmt("%s: %s", dir->path, strerror(errno));
		ret = -1;
	}
	if (b.data != NULL)
		explicit_bzero(b.data, b.len);
	buf_free(&b);
	/* the cached identity is stale either way: read it back next time */
	dir->loaded = false;
	return ret;
}

/* The changes directory_edit() makes under the lock. */
enum directory_edit {
	DIRECTORY_EDIT_ADD,	/* append a new user; fails if it exists */
	DIRECTORY_EDIT_DEL,	/* drop every line of the user */
	DIRECTORY_EDIT_PASSWD,	/* replace the hash, keep extra fields */
};

/* Drop every line of user. */
static void
remove_user(struct directory *dir, const char *user)
{
	size_t i, kept = 0;

	for (i = 0; i < dir->count; i++) {
		struct directory_line *l = &dir->lines[i];

		if (l->name != NULL && strcmp(l->name, user) == 0) {
			free(l->name);
			wipe_str(l->password);
			wipe_str(l->rest);
			continue;
		}
		dir->lines[kept++] = *l;
	}
	dir->count = kept;
}

/* Lock, re-read, change, rewrite, unlock. */
static int
directory_edit(struct directory *dir, enum directory_edit op,
    const char *user, const char *password, const char **error_r)
{
	struct directory_line *l;
	char *hash = NULL, *parent, *slash;
	int fd = -1, ret = -1;

	if (!directory_user_name_valid(user)) {
		*error_r = error_code_fmt(ERROR_INVALID,
		    "invalid user name \"%s\" (lowercase letters, digits, "
		    "'.', '_' and '-', at most %d)", user, USER_NAME_MAX);
		return -1;
	}
	if (op != DIRECTORY_EDIT_DEL &&
	    (hash = directory_hash_password(password, error_r)) == NULL)
		return -1;

	parent = xstrdup(dir->path);
	if ((slash = strrchr(parent, '/')) != NULL && slash != parent) {
		*slash = '\0';
		if (mkdir_p(parent, 0700) < 0) {
			*error_r = error_fmt("%s: %s", parent, strerror(errno));
			free(parent);
			goto out;
		}
	}
	free(parent);
	fd = open(dir->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		*error_r = error_fmt("%s: %s", dir->lock_path, strerror(errno));
		goto out;
	}
	if (directory_reload(dir) < 0) {
		*error_r = error_fmt("%s: %s", dir->path, strerror(errno));
		goto out;
	}
	l = find_user(dir, user);
	switch (op) {
	case DIRECTORY_EDIT_ADD:
		if (l != NULL) {
			*error_r = error_code_fmt(ERROR_EXISTS,
			    "user %s already exists", user);
			goto out;
		}
		dir->lines = xreallocarray(dir->lines, dir->count + 1,
		    sizeof(*dir->lines));
		l = &dir->lines[dir->count++];
		memset(l, 0, sizeof(*l));
		l->name = xstrdup(user);
		l->password = hash;
		l->rest = xstrdup("");
		hash = NULL;
		break;
	case DIRECTORY_EDIT_DEL:
		if (l == NULL) {
			*error_r = error_code_fmt(ERROR_NOT_FOUND,
			    "no such user: %s", user);
			goto out;
		}
		/* every line of that name, so none takes its place */
		remove_user(dir, user);
		break;
	case DIRECTORY_EDIT_PASSWD:
		if (l == NULL) {
			*error_r = error_code_fmt(ERROR_NOT_FOUND,
			    "no such user: %s", user);
			goto out;
		}
		wipe_str(l->password);
		l->password = hash;
		hash = NULL;
		break;
	}
	index_users(dir);
	ret = directory_write(dir, error_r);
out:
	wipe_str(hash);
	if (fd >= 0)
		close(fd);	/* releases the lock */
	return ret;
}

int
directory_user_add(struct directory *dir, const char *user,
    const char *password, const char **error_r)
{
	return directory_edit(dir, DIRECTORY_EDIT_ADD, user, password,
	    error_r);
}

int
directory_user_del(struct directory *dir, const char *user,
    const char **error_r)
{
	return directory_edit(dir, DIRECTORY_EDIT_DEL, user, NULL, error_r);
}

int
directory_user_passwd(struct directory *dir, const char *user,
    const char *password, const char **error_r)
{
	return directory_edit(dir, DIRECTORY_EDIT_PASSWD, user, password,
	    error_r);
}

int
directory_user_list(struct directory *dir, directory_user_cb *cb, void *ctx,
    const char **error_r)
{
	size_t i;

	if (directory_reload(dir) < 0) {
		*error_r = error_fmt("%s: %s", dir->path, strerror(errno));
		return -1;
	}
	for (i = 0; i < dir->count; i++) {
		if (dir->lines[i].name != NULL)
			cb(dir->lines[i].name, ctx);
	}
	return 0;
}

unsigned long
directory_generation(struct directory *dir)
{
	(void)directory_refresh(dir);
	return dir->generation;
}

const char *
directory_password_stored(struct directory *dir, const char *user)
{
	const struct directory_line *l = find_user(dir, user);

	return l != NULL ? l->password : NULL;
}
