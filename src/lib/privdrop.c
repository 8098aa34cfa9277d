/*
 * Dropping root for the configured [server] user, in the order OpenSMTPD
 * uses (setgroups, setresgid, setresuid), after handing the directories
 * the daemon writes to over to that user.
 */
#include "lib/privdrop.h"

#include <errno.h>
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

/* Give dir to uid:gid unless it already belongs to uid. */
static int
hand_over(const char *dir, uid_t uid, gid_t gid, const char *user,
    const char **error_r)
{
	struct stat st;

	if (stat(dir, &st) < 0)
		return fail(error_r, errno, "%s", dir);
	if (st.st_uid == uid)
		return 0;
	if (chown(dir, uid, gid) < 0)
		return fail(error_r, errno, "cannot give %s to user %s", dir,
		    user);
	log_info("gave %s to user %s", dir, user);
	return 0;
}

int
privdrop_to(const char *user, const char *const *dirs, size_t ndirs,
    const char **error_r)
{
	struct passwd *pw;
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;
	size_t i;

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

	for (i = 0; i < ndirs; i++)
		if (hand_over(dirs[i], pw->pw_uid, pw->pw_gid, user,
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
