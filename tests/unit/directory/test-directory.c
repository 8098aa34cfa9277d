/* Unit tests for directory/directory.c: names, every password scheme,
 * reload on change, recipient mapping and locked atomic edits. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "directory/directory.h"
#include "lib/buf.h"
#include "lib/config.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/xmalloc.h"

#include "../tmpdir-test.h"

static char passwd_path[sizeof(test_tmpdir) + 32];

static int
setup(void **state)
{
	(void)state;
	return test_tmpdir_make(passwd_path, sizeof(passwd_path),
	    "sub/passwd");
}

/* Each test starts without a passwd file. */
static int
reset(void **state)
{
	char path[256];

	(void)state;
	unlink(passwd_path);
	snprintf(path, sizeof(path), "%s.lock", passwd_path);
	unlink(path);
	return 0;
}

static void
write_passwd(const char *text)
{
	char dir[256];

	snprintf(dir, sizeof(dir), "%s/sub", test_tmpdir);
	assert_int_equal(mkdir_p(dir, 0700), 0);
	assert_int_equal(write_file_atomic(passwd_path, text, strlen(text),
	    0600), 0);
}

static char *
read_passwd(void)
{
	char *data;
	size_t len;

	assert_int_equal(read_file(passwd_path, 1 << 20, &data, &len), 0);
	return data;
}

static void
collect_cb(const char *user, void *ctx)
{
	char *out = ctx;

	strcat(out, user);
	strcat(out, ",");
}

static void
test_name_valid(void **state)
{
	static const struct {
		const char *name;
		bool valid;
	} cases[] = {
		{ "alice", true }, { "a.b_c-d9", true }, { "9", true },
		{ "", false }, { "Alice", false }, { ".alice", false },
		{ "-alice", false }, { "al ice", false }, { "al:ice", false },
		{ "a/b", false }, { "a@b", false },
	};
	char name[USER_NAME_MAX + 2];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (directory_user_name_valid(cases[i].name) != cases[i].valid)
			fail_msg("\"%s\" should be %s", cases[i].name,
			    cases[i].valid ? "valid" : "invalid");
	}
	memset(name, 'a', USER_NAME_MAX);
	name[USER_NAME_MAX] = '\0';
	assert_true(directory_user_name_valid(name));
	name[USER_NAME_MAX] = 'a';
	name[USER_NAME_MAX + 1] = '\0';
	assert_false(directory_user_name_valid(name));
}

/* Hashes of the password "secret" made by `openssl passwd -6/-5/-1
 * -salt saltsalt`, in the form Dovecot's `doveadm pw -s` writes. */
static void
test_verify_schemes(void **state)
{
	struct directory *dir;

	(void)state;
	write_passwd(
	    "# users\n"
	    "sha512:{SHA512-CRYPT}$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHw"
	    "wTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1:"
	    "1000:1000::/home/sha512::\n"
	    "sha256:{SHA256-CRYPT}$5$saltsalt$0IyaXrmV7.sGNS6tirgqHLqX/G.FBvg"
	    "kYA.lpPdS5sA\n"
	    "md5:{MD5-CRYPT}$1$saltsalt$9xy1btjgzLYfb7hivXtC//\n"
	    "bare:$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDe"
	    "hy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1\n"
	    "plain:{PLAIN}secret\n"
	    "\n"
	    "odd:{ROT13}frperg\n"
	    "empty:\n");
	dir = directory_open(passwd_path);
	assert_int_equal(directory_verify(dir, "sha512", "secret"), 0);
	assert_int_equal(directory_verify(dir, "sha512", "Secret"), -1);
	assert_int_equal(directory_verify(dir, "sha512", ""), -1);
	assert_int_equal(directory_verify(dir, "SHA512", "secret"), 0);
	assert_int_equal(directory_verify(dir, "sha256", "secret"), 0);
	assert_int_equal(directory_verify(dir, "sha256", "secret2"), -1);
	assert_int_equal(directory_verify(dir, "md5", "secret"), 0);
	assert_int_equal(directory_verify(dir, "md5", "secreT"), -1);
	assert_int_equal(directory_verify(dir, "bare", "secret"), 0);
	assert_int_equal(directory_verify(dir, "plain", "secret"), 0);
	assert_int_equal(directory_verify(dir, "plain", "secre"), -1);
	assert_int_equal(directory_verify(dir, "plain", "secrett"), -1);
	assert_int_equal(directory_verify(dir, "odd", "secret"), -1);
	assert_int_equal(directory_verify(dir, "odd", "frperg"), -1);
	assert_int_equal(directory_verify(dir, "empty", ""), -1);
	assert_int_equal(directory_verify(dir, "nobody", "secret"), -1);
	assert_int_equal(directory_verify(dir, "", "secret"), -1);
	assert_true(directory_user_exists(dir, "sha512"));
	assert_true(directory_user_exists(dir, "Plain"));
	assert_false(directory_user_exists(dir, "nobody"));
	assert_false(directory_user_exists(dir, "# users"));
	directory_free(&dir);
	assert_null(dir);
	directory_free(&dir);
}

/* An unknown user is checked against a stand-in of a real user's scheme
 * and cost (or the built-in SHA512-CRYPT one), which never counts as a
 * match. */
static void
test_verifier(void **state)
{
	struct directory *dir;
	char *stored;
	bool known;

	(void)state;
	write_passwd("# users\n"
	    "bf:{BLF-CRYPT}$2y$05$abcdefghijklmnopqrstuu"
	    "5s2v8.iXieOjg/.AySBTTZIIVFJeBui\n"
	    "plain:{PLAIN}secret\n");
	dir = directory_open(passwd_path);
	stored = directory_verifier(dir, "plain", &known);
	assert_true(known);
	assert_string_equal(stored, "{PLAIN}secret");
	assert_true(directory_password_check("secret", stored));
	assert_false(directory_password_check("secreT", stored));
	directory_secret_free(&stored);
	assert_null(stored);
	/* the first user's hash stands in: same scheme and cost */
	stored = directory_verifier(dir, "nobody", &known);
	assert_false(known);
	assert_string_equal(stored, "{BLF-CRYPT}$2y$05$abcdefghijklmnopqrstuu"
	    "5s2v8.iXieOjg/.AySBTTZIIVFJeBui");
	directory_secret_free(&stored);
	directory_free(&dir);

	write_passwd("# nobody yet\n");
	dir = directory_open(passwd_path);
	stored = directory_verifier(dir, "Bad Name", &known);
	assert_false(known);
	assert_true(strncmp(stored, "{SHA512-CRYPT}$6$", 17) == 0);
	assert_true(directory_password_check("mailbell", stored));
	directory_secret_free(&stored);
	assert_int_equal(directory_verify(dir, "nobody", "mailbell"), -1);
	directory_free(&dir);
}

static void
test_verify_blowfish(void **state)
{
	struct directory *dir;
	const char *error;

	(void)state;
	/* bcrypt of "secret", cost 5 */
	write_passwd("blf:{BLF-CRYPT}$2y$05$abcdefghijklmnopqrstuu"
	    "OQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a\n");
	dir = directory_open(passwd_path);
	assert_int_equal(directory_verify(dir, "blf", "secret"), 0);
	assert_int_equal(directory_verify(dir, "blf", "secreu"), -1);
	/* an edit keeps the other lines as they were */
	assert_int_equal(directory_user_add(dir, "new", "pw", &error), 0);
	assert_int_equal(directory_verify(dir, "blf", "secret"), 0);
	directory_free(&dir);
}

static void
test_malformed_lines(void **state)
{
	struct directory *dir;
	char list[256] = "";
	const char *error;
	char *text;

	(void)state;
	write_passwd("no-colon-here\nBad:{PLAIN}x\nok:{PLAIN}x\n"
	    "ok:{PLAIN}second\n");
	dir = directory_open(passwd_path);
	assert_false(directory_user_exists(dir, "no-colon-here"));
	assert_false(directory_user_exists(dir, "bad"));
	/* the first of two lines for one name counts */
	assert_int_equal(directory_verify(dir, "ok", "x"), 0);
	assert_int_equal(directory_verify(dir, "ok", "second"), -1);
	assert_int_equal(directory_user_list(dir, collect_cb, list, &error), 0);
	assert_string_equal(list, "ok,ok,");
	/* deleting removes both, and leaves malformed lines alone */
	assert_int_equal(directory_user_del(dir, "ok", &error), 0);
	assert_false(directory_user_exists(dir, "ok"));
	text = read_passwd();
	assert_string_equal(text, "no-colon-here\nBad:{PLAIN}x\n");
	free(text);
	directory_free(&dir);
}

static void
test_add_list_del(void **state)
{
	struct directory *dir;
	char list[256] = "";
	const char *error = NULL;
	struct stat st;
	char *text;

	(void)state;
	dir = directory_open(passwd_path);
	/* no file yet: nobody, and an empty list */
	assert_false(directory_user_exists(dir, "alice"));
	assert_int_equal(directory_user_list(dir, collect_cb, list, &error), 0);
	assert_string_equal(list, "");

	/* the parent directory is created */
	assert_int_equal(directory_user_add(dir, "alice", "pw1", &error), 0);
	assert_int_equal(directory_user_add(dir, "bob", "pw2", &error), 0);
	assert_int_equal(stat(passwd_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	text = read_passwd();
	assert_memory_equal(text, "alice:{SHA512-CRYPT}$6$", 23);
	assert_non_null(strstr(text, "\nbob:{SHA512-CRYPT}$6$"));
	assert_null(strstr(text, "pw1"));
	free(text);

	assert_int_equal(directory_verify(dir, "alice", "pw1"), 0);
	assert_int_equal(directory_verify(dir, "alice", "pw2"), -1);
	assert_int_equal(directory_verify(dir, "bob", "pw2"), 0);

	assert_int_equal(directory_user_add(dir, "alice", "x", &error), -1);
	assert_string_equal(error, "user alice already exists");
	assert_int_equal(error_code(error), ERROR_EXISTS);
	assert_int_equal(directory_user_add(dir, "Carol", "x", &error), -1);
	assert_non_null(strstr(error, "invalid user name"));
	assert_int_equal(error_code(error), ERROR_INVALID);
	assert_int_equal(directory_user_add(dir, "carol", "", &error), -1);
	assert_string_equal(error, "empty password");
	assert_int_equal(error_code(error), ERROR_INVALID);

	assert_int_equal(directory_user_list(dir, collect_cb, list, &error), 0);
	assert_string_equal(list, "alice,bob,");

	assert_int_equal(directory_user_passwd(dir, "alice", "new", &error), 0);
	assert_int_equal(directory_verify(dir, "alice", "pw1"), -1);
	assert_int_equal(directory_verify(dir, "alice", "new"), 0);
	assert_int_equal(directory_user_passwd(dir, "zed", "new", &error), -1);
	assert_string_equal(error, "no such user: zed");
	assert_int_equal(error_code(error), ERROR_NOT_FOUND);

	assert_int_equal(directory_user_del(dir, "alice", &error), 0);
	assert_false(directory_user_exists(dir, "alice"));
	assert_true(directory_user_exists(dir, "bob"));
	assert_int_equal(directory_user_del(dir, "alice", &error), -1);
	assert_string_equal(error, "no such user: alice");
	assert_int_equal(error_code(error), ERROR_NOT_FOUND);
	directory_free(&dir);
}

/* Extra fields survive a password change. */
static void
test_passwd_keeps_fields(void **state)
{
	struct directory *dir;
	const char *error;
	char *text;

	(void)state;
	write_passwd("# keep me\nalice:{PLAIN}old:1000:1000::/home/alice::"
	    "userdb_quota_rule=*:storage=1G\n");
	dir = directory_open(passwd_path);
	assert_int_equal(directory_user_passwd(dir, "alice", "new", &error), 0);
	text = read_passwd();
	assert_memory_equal(text, "# keep me\nalice:{SHA512-CRYPT}$6$", 33);
	assert_non_null(strstr(text, ":1000:1000::/home/alice::"
	    "userdb_quota_rule=*:storage=1G\n"));
	free(text);
	assert_int_equal(directory_verify(dir, "alice", "new"), 0);
	directory_free(&dir);
}

/* Another process (or `mailbell user add`) changes the file: the open
 * directory sees it without being told. */
static void
test_reload(void **state)
{
	struct directory *dir, *other;
	const char *error;

	(void)state;
	write_passwd("alice:{PLAIN}a\n");
	dir = directory_open(passwd_path);
	assert_true(directory_user_exists(dir, "alice"));
	assert_false(directory_user_exists(dir, "bob"));

	/* same size, different content: the new inode tells */
	write_passwd("bobby:{PLAIN}b\n");
	assert_false(directory_user_exists(dir, "alice"));
	assert_true(directory_user_exists(dir, "bobby"));

	/* an in-place rewrite keeps the inode; size and mtime tell */
	{
		FILE *fp = fopen(passwd_path, "w");

		assert_non_null(fp);
		fputs("carol:{PLAIN}c\ndave:{PLAIN}d\n", fp);
		fclose(fp);
	}
	assert_true(directory_user_exists(dir, "dave"));

	other = directory_open(passwd_path);
	assert_int_equal(directory_user_add(other, "erin", "e", &error), 0);
	directory_free(&other);
	assert_int_equal(directory_verify(dir, "erin", "e"), 0);

	/* a removed file means no users */
	unlink(passwd_path);
	assert_false(directory_user_exists(dir, "dave"));
	directory_free(&dir);
}

/* An in-place edit that keeps the size and the modification time is
 * not seen by a lookup, but directory_reload() reads it. */
static void
test_forced_reload(void **state)
{
	struct directory *dir;
	struct stat st;
	struct timespec times[2];
	FILE *fp;

	(void)state;
	write_passwd("alice:{PLAIN}a\n");
	dir = directory_open(passwd_path);
	assert_true(directory_user_exists(dir, "alice"));
	assert_int_equal(stat(passwd_path, &st), 0);

	fp = fopen(passwd_path, "r+");
	assert_non_null(fp);
	fputs("carol:{PLAIN}c\n", fp);
	fclose(fp);
	times[0] = st.st_atim;
	times[1] = st.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, passwd_path, times, 0), 0);
	assert_true(directory_user_exists(dir, "alice"));
	assert_false(directory_user_exists(dir, "carol"));

	assert_int_equal(directory_reload(dir), 0);
	assert_false(directory_user_exists(dir, "alice"));
	assert_true(directory_user_exists(dir, "carol"));
	directory_free(&dir);
}

static void
test_generation_and_stored_password(void **state)
{
	struct directory *dir;
	unsigned long gen;

	(void)state;
	write_passwd("alice:{PLAIN}a:1000\nbob:{SHA512-CRYPT}$6$x$y\n");
	dir = directory_open(passwd_path);
	gen = directory_generation(dir);
	assert_string_equal(directory_password_stored(dir, "alice"),
	    "{PLAIN}a");
	assert_string_equal(directory_password_stored(dir, "bob"),
	    "{SHA512-CRYPT}$6$x$y");
	assert_null(directory_password_stored(dir, "carol"));
	/* unchanged: the same generation */
	assert_int_equal(directory_generation(dir), gen);
	/* changed: a new one, and the new contents */
	write_passwd("alice:{PLAIN}b\n");
	assert_int_not_equal(directory_generation(dir), gen);
	gen = directory_generation(dir);
	assert_string_equal(directory_password_stored(dir, "alice"),
	    "{PLAIN}b");
	assert_null(directory_password_stored(dir, "bob"));
	/* removed: no users */
	unlink(passwd_path);
	assert_int_not_equal(directory_generation(dir), gen);
	assert_null(directory_password_stored(dir, "alice"));
	directory_free(&dir);
}

static void
test_resolve(void **state)
{
	struct directory *dir;
	struct mb_config *cfg;
	const char *error;
	char user[USER_NAME_MAX + 1];

	(void)state;
	write_passwd("alice:{PLAIN}a\nbob.smith:{PLAIN}b\n");
	dir = directory_open(passwd_path);
	assert_int_equal(config_load(NULL, &cfg, &error), 0);

	/* no domains configured: any domain */
	assert_int_equal(directory_resolve(dir, cfg, "alice@example.org", user),
	    0);
	assert_string_equal(user, "alice");
	assert_int_equal(directory_resolve(dir, cfg, "ALICE@x", user), 0);
	assert_string_equal(user, "alice");
	assert_int_equal(directory_resolve(dir, cfg, "alice", user), 0);
	assert_int_equal(directory_resolve(dir, cfg, "Bob.Smith", user), 0);
	assert_string_equal(user, "bob.smith");
	assert_int_equal(directory_resolve(dir, cfg, "alice@", user), -1);
	assert_int_equal(directory_resolve(dir, cfg, "@example.org", user), -1);
	assert_int_equal(directory_resolve(dir, cfg, "", user), -1);
	assert_int_equal(directory_resolve(dir, cfg, "carol@example.org",
	    user), -1);
	assert_int_equal(directory_resolve(dir, cfg, "al ice@example.org",
	    user), -1);
	assert_int_equal(directory_resolve(dir, cfg, "../alice", user), -1);

	/* with domains, only those */
	cfg->domains[0] = xstrdup("example.org");
	cfg->domains[1] = xstrdup("example.net");
	cfg->domain_count = 2;
	assert_int_equal(directory_resolve(dir, cfg, "alice@Example.ORG", user),
	    0);
	assert_string_equal(user, "alice");
	assert_int_equal(directory_resolve(dir, cfg, "alice@example.net", user),
	    0);
	assert_int_equal(directory_resolve(dir, cfg, "alice@example.com", user),
	    -1);
	assert_int_equal(directory_resolve(dir, cfg, "alice@sub.example.org",
	    user), -1);
	assert_int_equal(directory_resolve(dir, cfg, "alice", user), 0);
	config_free(&cfg);
	directory_free(&dir);
}

/* Concurrent writers in separate processes: the lock serialises them, so
 * no addition is lost. */
static void
test_concurrent_edits(void **state)
{
	struct directory *dir;
	char list[1024] = "";
	const char *error;
	pid_t pids[4];
	int i, j, status;

	(void)state;
	for (i = 0; i < 4; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct directory *d = directory_open(passwd_path);
			char name[16];

			for (j = 0; j < 3; j++) {
				snprintf(name, sizeof(name), "u%d-%d", i, j);
				if (directory_user_add(d, name, "pw",
				    &error) < 0)
					_exit(1);
			}
			directory_free(&d);
			_exit(0);
		}
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	dir = directory_open(passwd_path);
	assert_int_equal(directory_user_list(dir, collect_cb, list, &error), 0);
	for (i = 0; i < 4; i++) {
		for (j = 0; j < 3; j++) {
			char name[16];

			snprintf(name, sizeof(name), "u%d-%d", i, j);
			assert_true(directory_user_exists(dir, name));
		}
	}
	directory_free(&dir);
}

static void
test_unreadable(void **state)
{
	struct directory *dir;
	char list[64] = "";
	const char *error = NULL;
	char path[256];

	(void)state;
	/* a directory where the file should be */
	snprintf(path, sizeof(path), "%s/sub", test_tmpdir);
	mkdir_p(path, 0700);
	dir = directory_open(path);
	assert_int_equal(directory_user_list(dir, collect_cb, list, &error),
	    -1);
	assert_non_null(strstr(error, path));
	assert_false(directory_user_exists(dir, "alice"));
	assert_int_equal(directory_user_add(dir, "alice", "x", &error), -1);
	directory_free(&dir);
}

/* Many users, found by name: each one, the first of a repeated name, and
 * still after an edit adds and removes lines. */
static void
test_many_users(void **state)
{
	struct directory *dir;
	const char *error;
	char name[32], pw[32];
	struct buf b;
	int i;

	(void)state;
	buf_init(&b, 0);
	for (i = 0; i < 3000; i++)
		assert_int_equal(buf_printf(&b, "u%d:{PLAIN}p%d\n", i, i), 0);
	assert_int_equal(buf_printf(&b, "u7:{PLAIN}second\n"), 0);
	assert_int_equal(buf_append(&b, "", 1), 0);
	write_passwd((const char *)b.data);
	buf_free(&b);
	dir = directory_open(passwd_path);
	for (i = 0; i < 3000; i += 7) {
		snprintf(name, sizeof(name), "u%d", i);
		snprintf(pw, sizeof(pw), "p%d", i);
		assert_true(directory_user_exists(dir, name));
		assert_int_equal(directory_verify(dir, name, pw), 0);
	}
	assert_false(directory_user_exists(dir, "u3000"));
	assert_int_equal(directory_verify(dir, "u7", "second"), -1);

	assert_int_equal(directory_user_add(dir, "new", "pw", &error), 0);
	assert_int_equal(directory_user_del(dir, "u7", &error), 0);
	assert_true(directory_user_exists(dir, "new"));
	assert_false(directory_user_exists(dir, "u7"));
	assert_true(directory_user_exists(dir, "u8"));
	assert_int_equal(directory_verify(dir, "u2999", "p2999"), 0);
	directory_free(&dir);
}

/* A user map that places "bob" on node b and knows nothing of "carol". */
static enum route_where
fake_locate(void *ctx, const char *user, struct route_peer *peer_r)
{
	int *calls = ctx;

	(*calls)++;
	if (strcmp(user, "bob") == 0) {
		strcpy(peer_r->node, "b");
		strcpy(peer_r->host, "127.0.0.1");
		peer_r->lmtp_port = 2424;
		return ROUTE_THERE;
	}
	return strcmp(user, "carol") == 0 ? ROUTE_UNAVAILABLE : ROUTE_HERE;
}

/* Without a route every user is here; with one, it answers. */
static void
test_locate(void **state)
{
	struct directory *dir = directory_open(passwd_path);
	struct route_ops route;
	struct route_peer peer;
	int calls = 0;

	(void)state;
	memset(&peer, 0xff, sizeof(peer));
	assert_int_equal(directory_locate(dir, "bob", &peer), ROUTE_HERE);
	assert_string_equal(peer.node, "");
	memset(&route, 0, sizeof(route));
	route.locate = fake_locate;
	route.ctx = &calls;
	directory_set_route(dir, &route);
	assert_int_equal(directory_locate(dir, "alice", &peer), ROUTE_HERE);
	assert_int_equal(directory_locate(dir, "bob", &peer), ROUTE_THERE);
	assert_string_equal(peer.node, "b");
	assert_int_equal(peer.lmtp_port, 2424);
	assert_int_equal(directory_locate(dir, "carol", &peer),
	    ROUTE_UNAVAILABLE);
	assert_int_equal(calls, 3);
	directory_set_route(dir, NULL);
	assert_int_equal(directory_locate(dir, "bob", &peer), ROUTE_HERE);
	assert_int_equal(calls, 3);
	directory_free(&dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_valid),
		cmocka_unit_test_setup(test_verify_schemes, reset),
		cmocka_unit_test_setup(test_verify_blowfish, reset),
		cmocka_unit_test_setup(test_verifier, reset),
		cmocka_unit_test_setup(test_malformed_lines, reset),
		cmocka_unit_test_setup(test_add_list_del, reset),
		cmocka_unit_test_setup(test_passwd_keeps_fields, reset),
		cmocka_unit_test_setup(test_reload, reset),
		cmocka_unit_test_setup(test_forced_reload, reset),
		cmocka_unit_test_setup(test_generation_and_stored_password,
		    reset),
		cmocka_unit_test_setup(test_resolve, reset),
		cmocka_unit_test_setup(test_concurrent_edits, reset),
		cmocka_unit_test_setup(test_unreadable, reset),
		cmocka_unit_test_setup(test_many_users, reset),
		cmocka_unit_test_setup(test_locate, reset),
	};

	return cmocka_run_group_tests(tests, setup, test_tmpdir_remove);
}
