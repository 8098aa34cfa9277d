/* Unit tests for a user's folders as IMAP sees them: list, create,
 * delete, rename (children, INBOX), special-use folders and
 * subscriptions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "store/store.h"
#include "store-test.h"

static void
deliver(struct store *store, const char *user, const char *folder,
    const char *text)
{
	struct store_job *job = store_job_new((unsigned char *)strdup(text),
	    strlen(text));

	store_job_add_target(job, user, folder, "");
	assert_int_equal(store_job_run(store, job), 0);
	store_job_free(&job);
}

static size_t
folder_count(struct store *store, const char *user, const char *folder)
{
	struct store_folder *snap;
	const char *error;
	size_t n;

	assert_int_equal(store_folder_sync(store, user, folder, &snap,
	    &error), 0);
	n = snap->count;
	store_folder_free(&snap);
	return n;
}

/* The list as "name/flags" lines: n noselect, c children, s special. */
static char *
list_str(struct store *store, const char *user)
{
	struct store_folder_list *list;
	const char *error;
	static char out[4096];
	size_t i, len = 0;

	assert_int_equal(store_folder_list(store, user, &list, &error), 0);
	out[0] = '\0';
	for (i = 0; i < list->count; i++) {
		struct store_folder_info *fi = &list->folders[i];

		len += (size_t)snprintf(out + len, sizeof(out) - len,
		    "%s%s%s%s ", fi->name, fi->noselect ? "/n" : "",
		    fi->has_children ? "/c" : "",
		    fi->special_uses != 0 ? "/s" : "");
	}
	store_folder_list_free(&list);
	return out;
}

static void
test_list_create(void **state)
{
	struct st_fixture *f = *state;
	const char *error;

	assert_string_equal(list_str(f->store, "ann"), "INBOX ");
	assert_int_equal(store_folder_create_new(f->store, "ann", "A",
	    &error), 0);
	assert_int_equal(store_folder_create_new(f->store, "ann", "A.B",
	    &error), 0);
	assert_int_equal(store_folder_create_new(f->store, "ann", "C.D",
	    &error), 0);
	assert_int_equal(store_folder_create_new(f->store, "ann", "Sent",
	    &error), 0);
	assert_string_equal(list_str(f->store, "ann"),
	    "INBOX A/c A.B C/n/c C.D Sent/s ");
	assert_int_equal(store_folder_create_new(f->store, "ann", "A",
	    &error), -1);
	assert_int_equal(error_code(error), ERROR_EXISTS);
	assert_int_equal(store_folder_create_new(f->store, "ann", "inbox",
	    &error), -1);
	assert_int_equal(error_code(error), ERROR_EXISTS);
	assert_int_equal(store_folder_create_new(f->store, "ann", "x..y",
	    &error), -1);
	assert_int_equal(error_code(error), ERROR_INVALID);
	assert_true(store_folder_exists(f->store, "ann", "A.B"));
	assert_false(store_folder_exists(f->store, "ann", "C"));
}

static void
test_delete(void **state)
{
	struct st_fixture *f = *state;
	const char *error;
	char path[4200];

	assert_int_equal(store_folder_create(f->store, "ann", "A", &error), 0);
	assert_int_equal(store_folder_create(f->store, "ann", "A.B", &error),
	    0);
	deliver(f->store, "ann", "A", "Subject: a\r\n\r\nx\r\n");
	assert_int_equal(store_folder_delete(f->store, "ann", "INBOX",
	    &error), -1);
	assert_int_equal(error_code(error), ERROR_NOT_POSSIBLE);
	assert_int_equal(store_folder_delete(f->store, "ann", "Nope",
	    &error), -1);
	assert_int_equal(error_code(error), ERROR_NOT_FOUND);
	assert_int_equal(store_folder_delete(f->store, "ann", "A", &error), 0);
	/* The child stays; A is now only implied by it. */
	assert_string_equal(list_str(f->store, "ann"), "INBOX A/n/c A.B ");
	snprintf(path, sizeof(path), "%s/ann/.A", f->root);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/ann/.A.B/cur", f->root);
	assert_int_equal(access(path, F_OK), 0);
	/* Nothing left over from the removal. */
	snprintf(path, sizeof(path), "%s/ann", f->root);
	assert_int_equal(st_count_files(path), 3);	/* cur new tmp */
	assert_int_equal(store_folder_delete(f->store, "ann", "A.B", &error),
	    0);
	assert_string_equal(list_str(f->store, "ann"), "INBOX ");
}

static void
test_rename(void **state)
{
	struct st_fixture *f = *state;
	const char *error;

	assert_int_equal(store_folder_create(f->store, "ann", "A", &error), 0);
	assert_int_equal(store_folder_create(f->store, "ann", "A.B", &error),
	    0);
	assert_int_equal(store_folder_create(f->store, "ann", "A.B.C",
	    &error), 0);
	assert_int_equal(store_folder_create(f->store, "ann", "AB", &error),
	    0);
	assert_int_equal(store_folder_create(f->store, "ann", "Z", &error), 0);
	deliver(f->store, "ann", "A.B", "Subject: b\r\n\r\nx\r\n");

	assert_int_equal(store_folder_rename(f->store, "ann", "A", "Z",
	    &error), -1);
	assert_int_equal(error_code(error), ERROR_EXISTS);
	assert_int_equal(store_folder_rename(f->store, "ann", "A", "A.B.X",
	    &error), -1);
	assert_int_equal(error_code(error), ERROR_NOT_POSSIBLE);
	assert_int_equal(store_folder_rename(f->store, "ann", "Q", "R",
	    &error), -1);
	assert_int_equal(error_code(error), ERROR_NOT_FOUND);

	assert_int_equal(store_folder_rename(f->store, "ann", "A", "X.Y",
	    &error), 0);
	assert_string_equal(list_str(f->store, "ann"),
	    "INBOX AB X/n/c X.Y/c X.Y.B/c X.Y.B.C Z ");
	assert_int_equal(folder_count(f->store, "ann", "X.Y.B"), 1);
}

static void
test_rename_inbox(void **state)
{
	struct st_fixture *f = *state;
	const char *error;

	deliver(f->store, "ann", "INBOX", "Subject: 1\r\n\r\nx\r\n");
	deliver(f->store, "ann", "INBOX", "Subject: 2\r\n\r\nx\r\n");
	assert_int_equal(store_folder_create(f->store, "ann", "Keep", &error),
	    0);
	assert_int_equal(folder_count(f->store, "ann", "INBOX"), 2);
	assert_int_equal(store_folder_rename(f->store, "ann", "INBOX", "Keep",
	    &error), -1);
	assert_int_equal(error_code(error), ERROR_EXISTS);
	assert_int_equal(store_folder_rename(f->store, "ann", "INBOX", "Old",
	    &error), 0);
	assert_int_equal(folder_count(f->store, "ann", "INBOX"), 0);
	assert_int_equal(folder_count(f->store, "ann", "Old"), 2);
	assert_string_equal(list_str(f->store, "ann"), "INBOX Keep Old ");
	/* INBOX still takes mail. */
	deliver(f->store, "ann", "INBOX", "Subject: 3\r\n\r\nx\r\n");
	assert_int_equal(folder_count(f->store, "ann", "INBOX"), 1);
}

static void
test_subscriptions(void **state)
{
	struct st_fixture *f = *state;
	const char *error;
	char **names, path[4200], *data;
	size_t count;

	assert_int_equal(store_subscriptions(f->store, "ann", &names, &count,
	    &error), 0);
	assert_int_equal(count, 0);
	assert_int_equal(store_subscription_set(f->store, "ann", "A", true,
	    &error), 0);
	assert_int_equal(store_subscription_set(f->store, "ann", "B.C", true,
	    &error), 0);
	assert_int_equal(store_subscription_set(f->store, "ann", "A", true,
	    &error), 0);
	assert_int_equal(store_subscription_set(f->store, "ann", "inbox", true,
	    &error), 0);
	assert_int_equal(store_subscription_set(f->store, "ann", "A", false,
	    &error), 0);
	assert_int_equal(store_subscription_set(f->store, "ann", "Nope", false,
	    &error), 0);
	assert_int_equal(store_subscription_set(f->store, "ann", "a/b", true,
	    &error), -1);
	snprintf(path, sizeof(path), "%s/ann/subscriptions", f->root);
	data = st_read(path, NULL);
	assert_non_null(data);
	assert_string_equal(data, "B.C\nINBOX\n");
	free(data);
	assert_int_equal(store_subscriptions(f->store, "ann", &names, &count,
	    &error), 0);
	assert_int_equal(count, 2);
	assert_string_equal(names[0], "B.C");
	assert_string_equal(names[1], "INBOX");
	store_names_free(&names, count);
	assert_null(names);
}

/* Folder and subscription events as "type:folder[<old]" words. */
static void
mailbox_event_cb(const struct store_event *ev, void *ctx)
{
	char *log = ctx;
	size_t len = strlen(log);

	snprintf(log + len, 1024 - len, "%u:%s%s%s ", (unsigned)ev->type,
	    ev->folder, ev->old_folder != NULL ? "<" : "",
	    ev->old_folder != NULL ? ev->old_folder : "");
}

static void
test_mailbox_events(void **state)
{
	struct st_fixture *f = *state;
	char log[1024] = "";
	const char *error;
	unsigned id;

	id = store_subscribe_events(f->store, STORE_EVENT_MAILBOX_ALL,
	    mailbox_event_cb, log);
	assert_int_equal(store_folder_create_new(f->store, "ann", "A",
	    &error), 0);
	assert_int_equal(store_folder_create_new(f->store, "ann", "A.B",
	    &error), 0);
	/* A failure tells nothing. */
	assert_int_equal(store_folder_create_new(f->store, "ann", "A",
	    &error), -1);
	assert_int_equal(store_folder_rename(f->store, "ann", "A", "C",
	    &error), 0);
	assert_int_equal(store_subscription_set(f->store, "ann", "C", true,
	    &error), 0);
	/* Already so: nothing changed, nothing told. */
	assert_int_equal(store_subscription_set(f->store, "ann", "C", true,
	    &error), 0);
	assert_int_equal(store_subscription_set(f->store, "ann", "C", false,
	    &error), 0);
	assert_int_equal(store_folder_delete(f->store, "ann", "C.B", &error),
	    0);
	assert_int_equal(store_folder_rename(f->store, "ann", "inbox", "Old",
	    &error), 0);
	assert_string_equal(log, "32:A 32:A.B 128:C<A 128:C.B<A.B 256:C "
	    "512:C 64:C.B 32:Old ");
	store_unsubscribe(f->store, id);
}

static void
test_special_use(void **state)
{
	struct st_fixture *f = *state;
	const char *error;
	char **names;
	size_t count;

	assert_int_equal(store_folder_special_use("Sent"), STORE_SPECIAL_SENT);
	assert_int_equal(store_folder_special_use("Junk"), STORE_SPECIAL_JUNK);
	assert_int_equal(store_folder_special_use("Sent.Old"),
	    STORE_SPECIAL_NONE);
	assert_string_equal(store_special_use_attr(STORE_SPECIAL_TRASH),
	    "\\Trash");
	assert_string_equal(store_special_use_attr(STORE_SPECIAL_DRAFTS),
	    "\\Drafts");
	assert_null(store_special_use_attr(STORE_SPECIAL_NONE));

	assert_int_equal(store_folder_create(f->store, "ann", "Trash",
	    &error), 0);
	assert_int_equal(store_user_ensure_special(f->store, "ann", &error),
	    0);
	assert_string_equal(list_str(f->store, "ann"),
	    "INBOX Drafts/s Junk/s Sent/s Trash/s ");
	/* Subscribed to what it created; Trash existed already. */
	assert_int_equal(store_subscriptions(f->store, "ann", &names, &count,
	    &error), 0);
	assert_int_equal(count, 3);
	store_names_free(&names, count);
	/* Again: nothing to do. */
	assert_int_equal(store_user_ensure_special(f->store, "ann", &error),
	    0);
	assert_int_equal(store_subscriptions(f->store, "ann", &names, &count,
	    &error), 0);
	assert_int_equal(count, 3);
	store_names_free(&names, count);
}

/* The special-use folders are made together, all or none: one that
 * cannot be made (here .Junk is a plain file) leaves no other behind
 * and no subscription, and the error says which failed. */
static void
test_special_use_all_or_none(void **state)
{
	struct st_fixture *f = *state;
	const char *error;
	char **names, path[4200];
	size_t count;

	assert_int_equal(store_user_create(f->store, "ann", &error), 0);
	snprintf(path, sizeof(path), "%s/ann/.Junk", f->root);
	st_write(path, "not a folder");
	assert_int_equal(store_user_ensure_special(f->store, "ann", &error),
	    -1);
	assert_non_null(strstr(error, ".Junk"));
	assert_string_equal(list_str(f->store, "ann"), "INBOX ");
	assert_int_equal(store_subscriptions(f->store, "ann", &names, &count,
	    &error), 0);
	assert_int_equal(count, 0);
	store_names_free(&names, count);
	/* With the obstacle gone, the next login makes them all; one a
	 * crash left half-made (its directory without cur/, new/, tmp/)
	 * is completed. */
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/ann/.Sent", f->root);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(store_user_ensure_special(f->store, "ann", &error),
	    0);
	assert_string_equal(list_str(f->store, "ann"),
	    "INBOX Drafts/s Junk/s Sent/s Trash/s ");
	assert_int_equal(store_subscriptions(f->store, "ann", &names, &count,
	    &error), 0);
	assert_int_equal(count, 4);
	store_names_free(&names, count);
}

/* The uses of one folder of ann's list, as LIST would write them. */
static const char *
uses_of(struct store *store, const char *folder)
{
	static char out[STORE_SPECIAL_ATTRS_MAX];
	struct store_folder_list *list;
	const char *error;

	out[0] = '\0';
	assert_int_equal(store_folder_list(store, "ann", &list, &error), 0);
	for (size_t i = 0; i < list->count; i++)
		if (strcmp(list->folders[i].name, folder) == 0)
			store_special_uses_attrs(list->folders[i].special_uses,
			    out, sizeof(out));
	store_folder_list_free(&list);
	return out;
}

/* Dovecot 2.3's form: a "V\t2" header, levels joined by TAB, \001
 * escapes. mailbell writes it back in the plain form. */
static void
test_subscriptions_dovecot(void **state)
{
	struct st_fixture *f = *state;
	const char *error;
	char **names, path[4200], *data;
	size_t count;

	assert_int_equal(store_subscription_set(f->store, "ann", "A", true,
	    &error), 0);
	snprintf(path, sizeof(path), "%s/ann/subscriptions", f->root);
	st_write(path, "V\t2\n\nA\nB\tC\nD\001tE\001\n");
	assert_int_equal(store_subscriptions(f->store, "ann", &names, &count,
	    &error), 0);
	assert_int_equal(count, 3);
	assert_string_equal(names[0], "A");
	assert_string_equal(names[1], "B.C");
	assert_string_equal(names[2], "D\tE\001");
	store_names_free(&names, count);
	assert_int_equal(store_subscription_set(f->store, "ann", "A", false,
	    &error), 0);
	data = st_read(path, NULL);
	assert_non_null(data);
	assert_string_equal(data, "B.C\nD\tE\001\n");
	free(data);
}

static void
test_create_special(void **state)
{
	struct st_fixture *f = *state;
	const char *error;
	char *path, *file, *data;
	unsigned trash = STORE_SPECIAL_BIT(STORE_SPECIAL_TRASH);

	assert_int_equal(store_special_use_parse("\\trash"),
	    STORE_SPECIAL_TRASH);
	assert_int_equal(store_special_use_parse("\\All"),
	    STORE_SPECIAL_NONE);
	assert_int_equal(store_user_ensure_special(f->store, "ann", &error),
	    0);
	assert_string_equal(uses_of(f->store, "Trash"), "\\Trash");
	assert_int_equal(store_folder_create_special(f->store, "ann", "Bin",
	    trash | STORE_SPECIAL_BIT(STORE_SPECIAL_ARCHIVE), &error), 0);
	assert_string_equal(uses_of(f->store, "Bin"), "\\Archive \\Trash");
	assert_string_equal(uses_of(f->store, "Trash"), "");
	/* One folder per use; nothing is created then. */
	assert_int_equal(store_folder_create_special(f->store, "ann", "Bin2",
	    trash, &error), -1);
	assert_int_equal(error_code(error), ERROR_NOT_POSSIBLE);
	assert_false(store_folder_exists(f->store, "ann", "Bin2"));
	/* The file, as written. */
	path = store_folder_path(f->store, "ann", "INBOX");
	file = malloc(strlen(path) + sizeof("/special-use"));
	strcpy(file, path);
	strcat(file, "/special-use");
	data = st_read(file, NULL);
	assert_string_equal(data, "\\Archive Bin\n\\Trash Bin\n");
	free(data);
	/* RENAME carries the uses, DELETE drops them. */
	assert_int_equal(store_folder_rename(f->store, "ann", "Bin", "Old.Bin",
	    &error), 0);
	assert_string_equal(uses_of(f->store, "Old.Bin"),
	    "\\Archive \\Trash");
	assert_int_equal(store_folder_delete(f->store, "ann", "Old.Bin",
	    &error), 0);
	assert_string_equal(uses_of(f->store, "Trash"), "\\Trash");
	data = st_read(file, NULL);
	assert_string_equal(data, "");
	free(data);
	free(file);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_list_create, st_setup,
		    st_teardown),
		cmocka_unit_test_setup_teardown(test_delete, st_setup,
		    st_teardown),
		cmocka_unit_test_setup_teardown(test_rename, st_setup,
		    st_teardown),
		cmocka_unit_test_setup_teardown(test_rename_inbox, st_setup,
		    st_teardown),
		cmocka_unit_test_setup_teardown(test_subscriptions_dovecot,
		    st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_mailbox_events, st_setup,
		    st_teardown),
		cmocka_unit_test_setup_teardown(test_subscriptions, st_setup,
		    st_teardown),
		cmocka_unit_test_setup_teardown(test_create_special, st_setup,
		    st_teardown),
		cmocka_unit_test_setup_teardown(test_special_use_all_or_none,
		    st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_special_use, st_setup,
		    st_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
