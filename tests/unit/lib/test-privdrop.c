/* Unit tests for lib/privdrop.c: the users it refuses, with their error
 * texts, the default account, and, when run as root, a drop to nobody in
 * a child process and a hand-over that meets a symbolic link. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/privdrop.h"

static void
test_unknown_user(void **state)
{
	const char *error = NULL;

	(void)state;
	assert_int_equal(privdrop_to("mailbell-no-such-user", NULL, 0,
	    &error), -1);
	assert_non_null(error);
	assert_memory_equal(error, "no such system user: mailbell-no-such-user",
	    strlen("no such system user: mailbell-no-such-user"));
}

static void
test_root_refused(void **state)
{
	const char *error = NULL;

	(void)state;
	assert_int_equal(privdrop_to("root", NULL, 0, &error), -1);
	assert_string_equal(error, "refusing to run as root: it is root "
	    "(uid 0)");
}

/* Not root: staying who we are is fine, becoming anyone else is not. */
static void
test_not_root(void **state)
{
	struct passwd *self = getpwuid(getuid());
	char *name;
	const char *error = NULL;

	(void)state;
	if (privdrop_running_as_root())
		skip();
	assert_non_null(self);
	name = strdup(self->pw_name);
	assert_int_equal(privdrop_to(name, NULL, 0, &error), 0);
	if (getpwnam("nobody") != NULL && strcmp(name, "nobody") != 0) {
		assert_int_equal(privdrop_to("nobody", NULL, 0, &error), -1);
		assert_non_null(strstr(error, "cannot become user nobody"));
	}
	free(name);
}

/* Root: a child hands a directory to nobody and becomes nobody for
 * good. */
static void
test_drop_to_nobody(void **state)
{
	char dir[] = "/tmp/mailbell-privdrop-XXXXXX";
	const char *dirs[1] = { dir };
	struct passwd *pw = getpwnam("nobody");
	struct stat st;
	pid_t pid;
	int status;

	(void)state;
	if (!privdrop_running_as_root() || pw == NULL)
		skip();
	assert_non_null(mkdtemp(dir));
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const char *error = NULL;

		if (privdrop_to("nobody", dirs, 1, &error) < 0) {
			fprintf(stderr, "privdrop_to: %s\n", error);
			_exit(1);
		}
		_exit(getuid() == pw->pw_uid && geteuid() == pw->pw_uid &&
		    getgid() == pw->pw_gid && setuid(0) < 0 ? 0 : 2);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_uid, pw->pw_uid);
	assert_int_equal(rmdir(dir), 0);
}

/* The default account is mailbell where it exists, else nobody. */
static void
test_default_user(void **state)
{
	(void)state;
	if (getpwnam("mailbell") != NULL)
		assert_string_equal(privdrop_default_user(), "mailbell");
	else
		assert_string_equal(privdrop_default_user(), "nobody");
}

/* Root: a directory below the data dir replaced by a symbolic link to a
 * directory of root's is refused, and the link's target keeps its
 * owner; a directory outside the data dir is refused too. */
static void
test_symlink_not_followed(void **state)
{
	char base[] = "/tmp/mailbell-privdrop-XXXXXX";
	char target[] = "/tmp/mailbell-privdrop-target-XXXXXX";
	char link[64], outside[64];
	const char *dirs[2] = { base, link };
	struct passwd *pw = getpwnam("nobody");
	struct stat st;
	pid_t pid;
	int status;

	(void)state;
	if (!privdrop_running_as_root() || pw == NULL)
		skip();
	assert_non_null(mkdtemp(base));
	assert_non_null(mkdtemp(target));
	snprintf(link, sizeof(link), "%s/mail", base);
	snprintf(outside, sizeof(outside), "%s/../x", base);
	assert_int_equal(symlink(target, link), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const char *error = NULL;

		if (privdrop_to("nobody", dirs, 2, &error) == 0)
			_exit(1);
		_exit(strstr(error, "symbolic link") != NULL ? 0 : 2);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_uid, 0);

	dirs[1] = outside;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const char *error = NULL;

		if (privdrop_to("nobody", dirs, 2, &error) == 0)
			_exit(1);
		_exit(strstr(error, "leaves") != NULL ? 0 : 2);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(unlink(link), 0);
	assert_int_equal(rmdir(base), 0);
	assert_int_equal(rmdir(target), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_user),
		cmocka_unit_test(test_root_refused),
		cmocka_unit_test(test_not_root),
		cmocka_unit_test(test_drop_to_nobody),
		cmocka_unit_test(test_default_user),
		cmocka_unit_test(test_symlink_not_followed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
