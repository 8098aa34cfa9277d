/*
 * Dropping root for the configured [server] user (or, without one, a
 * system account), in the order OpenSMTPD uses (setgroups, setresgid,
 * setresuid), after handing the directories the daemon writes to over to
 * that user without following a symbolic link.
 */
#include "lib/privdrop.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/log.h"

static int fail(const char **error_r, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Set *error_r to "text: strerror(errnum)" (or just text); returns -1. */
static int
fail(const char **error_r, int errnum, const char *fmt, ...)
{
	char text[ERROR_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(text, sizeof(text), fmt, ap) < 0)
		text[0] = '\0';
	va_end(ap);
	/* A long path may cut the message short; it stays readable. */
	*error_r = errnum != 0 ? error_fmt("%s: %s", text, strerror(errnum)) :
	    error_fmt("%s", text);
	return -1;
}

bool
privdrop_running_as_root(void)
{
	return getuid() == 0 || geteuid() == 0;
}

/*
 * Open the directory name (relative to at, or absolute), refusing a
 * symbolic link: the account the directories are handed to may own the
 * directory name lives in, and could have swapped it for a link to
 * anything root owns. path is the whole path, for messages.
 */
static int
open_dir_nofollow(int at, const char *name, const char *path,
    const char **error_r)
{
	struct stat st;
	int fd;

	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd >= 0)
		return fd;
	if ((errno == ELOOP || errno == ENOTDIR) &&
	    fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(st.st_mode))
		return fail(error_r, 0, "refusing to hand over %s: it is a "
		    "symbolic link", path);
	return fail(error_r, errno, "%s", path);
}

/* Give the open directory fd (named path) to uid:gid unless it already
 * belongs to uid. */
static int
hand_over_fd(int fd, const char *path, uid_t uid, gid_t gid,
    const char *user, const char **error_r)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return fail(error_r, errno, "%s", path);
	if (st.st_uid == uid)
		return 0;
	if (fchown(fd, uid, gid) < 0)
		return fail(error_r, errno, "cannot give %s to user %s", path,
		    user);
	log_info("gave %s to user %s", path, user);
	return 0;
}

/*
 * Walk from the open directory base (named base_path) down the relative
 * path rel, one component at a time, never following a symbolic link,
 * and hand the last directory over. ".." is refused: the walk must stay
 * below base.
 */
static int
hand_over_below(int base, const char *base_path, const char *rel,
    uid_t uid, gid_t gid, const char *user, const char **error_r)
{
	char path[PATH_MAX], name[NAME_MAX + 1];
	const char *p = rel, *end;
	size_t len;
	int fd = -1, next, ret;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", base_path, rel) >=
	    sizeof(path))
		return fail(error_r, ENAMETOOLONG, "%s/%s", base_path, rel);
	for (;;) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		end = strchr(p, '/');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		if (len > NAME_MAX) {
			ret = fail(error_r, ENAMETOOLONG, "%s", path);
			goto out;
		}
		memcpy(name, p, len);
		name[len] = '\0';
		p += len;
		if (strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0) {
			ret = fail(error_r, 0, "refusing to hand over %s: it "
			    "leaves %s", path, base_path);
			goto out;
		}
		next = open_dir_nofollow(fd >= 0 ? fd : base, name, path,
		    error_r);
		if (next < 0) {
			ret = -1;
			goto out;
		}
		if (fd >= 0)
			close(fd);
		fd = next;
	}
	ret = hand_over_fd(fd >= 0 ? fd : base, path, uid, gid, user,
	    error_r);
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

/*
 * Hand dirs[0] and every directory below it in dirs[1..] over to
 * uid:gid. Each is opened, component by component from dirs[0] down,
 * with O_NOFOLLOW, and given away through its descriptor (fstat,
 * fchown), so no symbolic link the account planted redirects the chown.
 */
static int
hand_over_all(const char *const *dirs, size_t ndirs, uid_t uid, gid_t gid,
    const char *user, const char **error_r)
{
	size_t i, baselen;
	int base, ret = 0;

	if (ndirs == 0)
		return 0;
	base = open_dir_nofollow(AT_FDCWD, dirs[0], dirs[0], error_r);
	if (base < 0)
		return -1;
	ret = hand_over_fd(base, dirs[0], uid, gid, user, error_r);
	baselen = strlen(dirs[0]);
	while (baselen > 1 && dirs[0][baselen - 1] == '/')
		baselen--;
	for (i = 1; ret == 0 && i < ndirs; i++) {
		if (strncmp(dirs[i], dirs[0], baselen) != 0 ||
		    dirs[i][baselen] != '/') {
			ret = fail(error_r, 0, "refusing to hand over %s: it "
			    "is not below %s", dirs[i], dirs[0]);
			break;
		}
		ret = hand_over_below(base, dirs[0], dirs[i] + baselen + 1,
		    uid, gid, user, error_r);
	}
	close(base);
	return ret;
}

const char *
privdrop_default_user(void)
{
	errno = 0;
	if (getpwnam(PRIVDROP_DEFAULT_USER) != NULL)
		return PRIVDROP_DEFAULT_USER;
	return PRIVDROP_FALLBACK_USER;
}

int
privdrop_to(const char *user, const char *const *dirs, size_t ndirs,
    const char **error_r)
{
	struct passwd *pw;
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;

	errno = 0;
	pw = getpwnam(user);
	if (pw == NULL)
		return fail(error_r, errno, "no such system user: %s", user);
	if (pw->pw_uid == 0)
		return fail(error_r, 0,
		    "refusing to run as %s: it is root (uid 0)", user);

	if (!privdrop_running_as_root()) {
		if (getuid() == pw->pw_uid && geteuid() == pw->pw_uid)
			return 0;
		return fail(error_r, 0, "cannot become user %s: mailbelld "
		    "must be started as root (or as %s) for that", user,
		    user);
	}

	if (hand_over_all(dirs, ndirs, pw->pw_uid, pw->pw_gid, user,
	    error_r) < 0)
		return -1;

	if (setgroups(1, &pw->pw_gid) < 0)
		return fail(error_r, errno, "setgroups(%s)", user);
	if (setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0)
		return fail(error_r, errno, "setresgid(%s)", user);
	if (setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
		return fail(error_r, errno, "setresuid(%s)", user);

	/* Belt and braces: every id must now be the user's, and root must
	 * be gone for good. */
	if (getresuid(&ruid, &euid, &suid) < 0 ||
	    getresgid(&rgid, &egid, &sgid) < 0)
		return fail(error_r, errno, "getresuid");
	if (ruid != pw->pw_uid || euid != pw->pw_uid || suid != pw->pw_uid ||
	    rgid != pw->pw_gid || egid != pw->pw_gid || sgid != pw->pw_gid)
		return fail(error_r, 0, "ids did not change to user %s", user);
	if (setuid(0) == 0)
		return fail(error_r, 0,
		    "root could be regained after dropping to %s", user);
	return 0;
}
