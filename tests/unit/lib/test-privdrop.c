/* Unit tests for lib/privdrop.c: the users it refuses, with their error
 * texts, and, when run as root, a drop to nobody in a child process. */
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_user),
		cmocka_unit_test(test_root_refused),
		cmocka_unit_test(test_not_root),
		cmocka_unit_test(test_drop_to_nobody),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
