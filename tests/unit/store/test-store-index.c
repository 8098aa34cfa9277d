/* Unit tests for the shared folder index and views: two views seeing
 * each other's changes, expunges that wait for a refresh, flags,
 * copy/move mappings, append, RFC822.SIZE with CRLF line ends, reading
 * renamed files, index reuse without readdir, events, and a
 * 100,000-message folder timed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/error.h"
#include "store/maildir-flags.h"
#include "store/maildir.h"
#include "store/store.h"
#include "store-test.h"

/* What the refresh callbacks and the changed callback saw. */
struct seen {
	char log[4096];
	size_t len;
	int changed;
};

static void
seen_add(struct seen *s, const char *fmt, unsigned a, unsigned b,
    unsigned c)
{
	s->len += (size_t)snprintf(s->log + s->len, sizeof(s->log) - s->len,
	    fmt, a, b, c);
}

static void
expunge_cb(uint32_t seq, uint32_t uid, void *ctx)
{
	seen_add(ctx, "E%u/%u%.0u ", seq, uid, 0);
}

static void
flags_cb(uint32_t seq, uint32_t uid, unsigned flags, uint32_t keywords,
    void *ctx)
{
	(void)keywords;
	seen_add(ctx, "F%u/%u=%u ", seq, uid, flags);
}

static void
exists_cb(uint32_t count, void *ctx)
{
	seen_add(ctx, "X%u%.0u%.0u ", count, 0, 0);
}

static const struct store_view_refresh_cbs cbs = {
	.expunge = expunge_cb,
	.flags = flags_cb,
	.exists = exists_cb,
};

static void
changed_cb(struct store_view *view, void *ctx)
{
	struct seen *s = ctx;

	(void)view;
	s->changed++;
}

static const char *
refresh(struct store_view *view, bool expunge, struct seen *s)
{
	const char *error;

	s->len = 0;
	s->log[0] = '\0';
	assert_int_equal(store_view_refresh(view, expunge, &cbs, s, &error),
	    0);
	return s->log;
}

static void
test_two_views(void **state)
{
	struct st_fixture *f = *state;
	struct store_view *a, *b;
	struct seen sa = { 0 }, sb = { 0 };
	const char *error;
	uint32_t one = 1, two = 2;

	st_deliver(f->store, "INBOX", "Subject: 1\r\n\r\n1\r\n");
	st_deliver(f->store, "INBOX", "Subject: 2\r\n\r\n2\r\n");
	st_deliver(f->store, "INBOX", "Subject: 3\r\n\r\n3\r\n");
	assert_int_equal(store_view_open(f->store, "ann", "inbox", &a,
	    &error), 0);
	assert_int_equal(store_view_open(f->store, "ann", "INBOX", &b,
	    &error), 0);
	store_view_set_changed_cb(a, changed_cb, &sa);
	store_view_set_changed_cb(b, changed_cb, &sb);
	assert_string_equal(store_view_folder(a), "INBOX");
	assert_int_equal(store_view_count(a), 3);
	assert_int_equal(store_view_uidnext(a), 4);
	assert_int_equal(store_view_messages(a)[2].uid, 3);
	assert_int_equal(store_view_seq(b, 2), 2);
	assert_int_equal(store_view_seq(b, 9), 0);

	/* Flags: a's own array at once, b on refresh. */
	assert_int_equal(store_view_set_flags(a, &two, 1, STORE_FLAGS_ADD,
	    STORE_FLAG_SEEN | STORE_FLAG_FLAGGED, &error), 0);
	assert_int_equal(store_view_messages(a)[1].flags,
	    STORE_FLAG_SEEN | STORE_FLAG_FLAGGED);
	assert_int_equal(sa.changed, 0);
	assert_int_equal(sb.changed, 1);
	assert_int_equal(store_view_messages(b)[1].flags, 0);
	assert_string_equal(refresh(b, true, &sb), "F2/2=18 ");
	assert_string_equal(refresh(b, true, &sb), "");
	assert_string_equal(refresh(a, true, &sa), "");
	assert_int_equal(store_view_set_flags(a, &two, 1, STORE_FLAGS_REMOVE,
	    STORE_FLAG_FLAGGED, &error), 0);
	assert_string_equal(refresh(b, true, &sb), "F2/2=16 ");

	/* Expunge: nobody is renumbered before refreshing. */
	assert_int_equal(store_view_set_flags(b, &one, 1,
	    STORE_FLAGS_REPLACE, STORE_FLAG_TRASHED, &error), 0);
	assert_int_equal(sa.changed, 1);
	assert_int_equal(store_view_expunge(b, NULL, 0, true, &error), 0);
	assert_int_equal(sa.changed, 2);
	assert_int_equal(store_view_count(a), 3);
	assert_int_equal(store_view_count(b), 3);
	/* During FETCH: flags and new mail yes, expunges no (the message
	 * keeps the flags it had when it went). */
	assert_string_equal(refresh(a, false, &sa), "");
	assert_int_equal(store_view_count(a), 3);
	assert_string_equal(refresh(a, true, &sa), "E1/1 ");
	assert_int_equal(store_view_count(a), 2);
	assert_int_equal(store_view_messages(a)[0].uid, 2);
	assert_string_equal(refresh(b, true, &sb), "E1/1 ");

	/* New mail: the delivery's announcement tells both views. */
	st_deliver(f->store, "INBOX", "Subject: 4\r\n\r\n4\r\n");
	store_announce(f->store, "ann", "INBOX", store_view_uidvalidity(a), 4);
	assert_int_equal(sa.changed, 3);
	assert_int_equal(sb.changed, 3);
	assert_string_equal(refresh(a, true, &sa), "X3 ");
	assert_int_equal(store_view_messages(a)[2].uid, 4);
	assert_int_equal(store_view_uidnext(a), 5);
	assert_string_equal(refresh(b, true, &sb), "X3 ");

	/* A file another program put into new/, no announcement: seen on
	 * the next refresh all the same. */
	sb.changed = 0;
	{
		char path[4200];

		snprintf(path, sizeof(path), "%s/ann/new/123.ext:2,", f->root);
		st_write(path, "Subject: ext\r\n\r\n");
	}
	/* a's refresh found it, and told b. */
	assert_string_equal(refresh(a, true, &sa), "X4 ");
	assert_int_equal(sb.changed, 1);
	assert_string_equal(refresh(b, true, &sb), "X4 ");
	store_view_free(&a);
	store_view_free(&b);
	assert_null(a);
}

static void
test_expunge_order(void **state)
{
	struct st_fixture *f = *state;
	struct store_view *a, *b;
	struct seen sa = { 0 };
	const char *error;
	uint32_t uids[] = { 4, 2, 5 };
	int i;

	for (i = 0; i < 6; i++)
		st_deliver(f->store, "INBOX", "Subject: x\r\n\r\nx\r\n");
	assert_int_equal(store_view_open(f->store, "ann", "INBOX", &a,
	    &error), 0);
	assert_int_equal(store_view_open(f->store, "ann", "INBOX", &b,
	    &error), 0);
	/* UID EXPUNGE of messages not \Deleted removes nothing. */
	assert_int_equal(store_view_expunge(b, uids, 3, true, &error), 0);
	assert_string_equal(refresh(a, true, &sa), "");
	/* Sequence numbers as the client holds them, one after another. */
	assert_int_equal(store_view_expunge(b, uids, 3, false, &error), 0);
	assert_string_equal(refresh(a, true, &sa), "E2/2 E3/4 E3/5 ");
	assert_int_equal(store_view_count(a), 3);
	store_view_free(&a);
	store_view_free(&b);
}

static void
test_copy_move(void **state)
{
	struct st_fixture *f = *state;
	struct store_view *v, *w;
	struct store_uid_map *map;
	struct seen sw = { 0 };
	const char *error;
	uint32_t uids[] = { 3, 2, 99 }, uid = 1;
	int i;

	for (i = 0; i < 3; i++)
		st_deliver(f->store, "INBOX", "Subject: x\r\n\r\nx\r\n");
	assert_int_equal(store_folder_create(f->store, "ann", "Work", &error),
	    0);
	assert_int_equal(store_view_open(f->store, "ann", "INBOX", &v,
	    &error), 0);
	assert_int_equal(store_view_open(f->store, "ann", "Work", &w,
	    &error), 0);
	store_view_set_changed_cb(w, changed_cb, &sw);
	assert_int_equal(store_view_set_flags(v, &uids[0], 1,
	    STORE_FLAGS_ADD, STORE_FLAG_SEEN, &error), 0);

	assert_int_equal(store_view_copy(v, uids, 3, "Nope", &map, &error),
	    -1);
	assert_int_equal(error_code(error), ERROR_NOT_FOUND);
	assert_int_equal(store_view_copy(v, uids, 3, "Work", &map, &error),
	    0);
	assert_int_equal(map->count, 2);
	assert_int_equal(map->src_uids[0], 2);
	assert_int_equal(map->src_uids[1], 3);
	assert_int_equal(map->dest_uids[0], 1);
	assert_int_equal(map->dest_uids[1], 2);
	assert_int_equal(map->uidvalidity, store_view_uidvalidity(w));
	store_uid_map_free(&map);
	assert_int_equal(sw.changed, 1);
	assert_string_equal(refresh(w, true, &sw), "X2 ");
	/* Flags travel with the copy. */
	assert_int_equal(store_view_messages(w)[1].flags, STORE_FLAG_SEEN);
	assert_int_equal(store_view_count(v), 3);

	assert_int_equal(store_view_move(v, &uid, 1, "Work", &map, &error), 0);
	assert_int_equal(map->count, 1);
	assert_int_equal(map->src_uids[0], 1);
	assert_int_equal(map->dest_uids[0], 3);
	store_uid_map_free(&map);
	{
		struct seen sv = { 0 };

		assert_string_equal(refresh(v, true, &sv), "E1/1 ");
	}
	assert_string_equal(refresh(w, true, &sw), "X3 ");
	store_view_free(&v);
	store_view_free(&w);
}

static void
test_append(void **state)
{
	struct st_fixture *f = *state;
	static const char body[] = "Subject: appended\r\n\r\nhello\r\n";
	struct store_message_info info;
	struct store_view *v;
	struct seen sv = { 0 };
	uint32_t uidvalidity, uid;
	const char *error;
	char path[4200], *p;

	assert_int_equal(store_append(f->store, "ann", "Drafts",
	    (const unsigned char *)body, strlen(body), 0, NULL, 0, 0,
	    &uidvalidity, &uid, &error), -1);
	assert_int_equal(error_code(error), ERROR_NOT_FOUND);
	assert_int_equal(store_folder_create(f->store, "ann", "Drafts",
	    &error), 0);
	assert_int_equal(store_view_open(f->store, "ann", "Drafts", &v,
	    &error), 0);
	store_view_set_changed_cb(v, changed_cb, &sv);
	assert_int_equal(store_append(f->store, "ann", "Drafts",
	    (const unsigned char *)body, strlen(body),
	    STORE_FLAG_SEEN | STORE_FLAG_DRAFT, NULL, 0, 1000000000,
	    &uidvalidity,
	    &uid, &error), 0);
	assert_int_equal(uid, 1);
	assert_int_equal(uidvalidity, store_view_uidvalidity(v));
	assert_int_equal(sv.changed, 1);
	assert_string_equal(refresh(v, true, &sv), "X1 ");
	assert_int_equal(store_view_messages(v)[0].flags,
	    STORE_FLAG_SEEN | STORE_FLAG_DRAFT);
	assert_int_equal(store_view_message_info(v, 1, &info, &error), 0);
	assert_int_equal(info.size, strlen(body));
	assert_int_equal(info.internal_date, 1000000000);
	assert_int_equal(info.flags, STORE_FLAG_SEEN | STORE_FLAG_DRAFT);
	assert_int_equal(store_view_message_path(v, 1, &p, &error), 0);
	assert_non_null(strstr(p, "/.Drafts/cur/"));
	assert_non_null(strstr(p, ":2,DS"));
	free(p);
	/* Without flags: into new/, date now. */
	assert_int_equal(store_append(f->store, "ann", "Drafts",
	    (const unsigned char *)body, strlen(body), 0, NULL, 0, 0,
	    &uidvalidity, &uid, &error), 0);
	assert_int_equal(uid, 2);
	snprintf(path, sizeof(path), "%s/ann/.Drafts/new", f->root);
	assert_int_equal(st_count_files(path), 1);
	/* The shared index knows it before the view is refreshed. */
	assert_int_equal(store_view_message_info(v, 2, &info, &error), 0);
	assert_string_equal(refresh(v, true, &sv), "X2 ");
	assert_int_equal(store_view_message_info(v, 3, &info, &error), -1);
	assert_int_equal(error_code(error), ERROR_EXPUNGED);
	assert_true(info.internal_date > 1000000000);
	store_view_free(&v);
}

/*
 * RFC822.SIZE is the size as IMAP sends the message, with CRLF line
 * ends: W= of the name where there is one (mailbell's files, Dovecot's),
 * counted from the file otherwise (procmail, mutt, mailbell's older
 * names) and never by renaming a file mailbell did not write. COPY and
 * APPEND name it too.
 */
static void
test_crlf_size(void **state)
{
	struct st_fixture *f = *state;
	static const char lf[] = "Subject: lf\n\nline 1\nline 2\n";
	struct store_message_info info;
	struct store_uid_map *map;
	struct store_view *v, *w;
	const char *error, *name;
	char dir[4200], path[4300];
	uint32_t two = 2, uidvalidity, uid;
	uint64_t crlf;

	assert_int_equal(store_user_create(f->store, "ann", &error), 0);
	assert_int_equal(store_folder_create(f->store, "ann", "Work", &error),
	    0);
	snprintf(dir, sizeof(dir), "%s/ann/cur", f->root);
	/* Foreign LF-only files: without S= and W=, and with S= only (the
	 * file's own size, not what IMAP sends). */
	snprintf(path, sizeof(path), "%s/1.procmail:2,S", dir);
	st_write(path, lf);
	snprintf(path, sizeof(path), "%s/2.mutt,S=%zu:2,", dir,
	    strlen(lf));
	st_write(path, lf);
	/* W= is believed as it stands (Dovecot's virtual size). */
	snprintf(path, sizeof(path), "%s/3.dovecot,S=%zu,W=1000:2,", dir,
	    strlen(lf));
	st_write(path, lf);
	st_settle();
	assert_int_equal(store_view_open(f->store, "ann", "INBOX", &v,
	    &error), 0);
	assert_int_equal(store_view_count(v), 3);
	assert_int_equal(store_view_message_info(v, 1, &info, &error), 0);
	assert_int_equal(info.size, strlen(lf) + 4);
	assert_int_equal(store_view_message_info(v, 2, &info, &error), 0);
	assert_int_equal(info.size, strlen(lf) + 4);
	assert_int_equal(store_view_message_info(v, 3, &info, &error), 0);
	assert_int_equal(info.size, 1000);
	/* The size is kept in the index; the foreign names stay. */
	snprintf(path, sizeof(path), "%s/1.procmail:2,S", dir);
	st_write(path, "x");
	assert_int_equal(store_view_message_info(v, 1, &info, &error), 0);
	assert_int_equal(info.size, strlen(lf) + 4);
	assert_int_equal(st_count_files(dir), 3);
	snprintf(path, sizeof(path), "%s/1.procmail:2,S", dir);
	st_write(path, lf);

	/* A copy is named with both sizes. */
	assert_int_equal(store_view_copy(v, &two, 1, "Work", &map,
	    &error), 0);
	store_uid_map_free(&map);
	snprintf(dir, sizeof(dir), "%s/ann/.Work/cur", f->root);
	name = st_only_file(dir);
	assert_non_null(name);
	assert_true(maildir_name_crlf_size(name, &crlf));
	assert_int_equal(crlf, strlen(lf) + 4);
	assert_int_equal(store_view_open(f->store, "ann", "Work", &w,
	    &error), 0);
	assert_int_equal(store_view_message_info(w, 1, &info, &error), 0);
	assert_int_equal(info.size, strlen(lf) + 4);

	/* APPEND and delivery (`mailbell deliver` keeps LF) name W=. */
	assert_int_equal(store_append(f->store, "ann", "Work",
	    (const unsigned char *)lf, strlen(lf), STORE_FLAG_SEEN, NULL, 0, 0,
	    &uidvalidity, &uid, &error), 0);
	uid = st_deliver(f->store, "Work", lf);
	assert_int_equal(uid, 3);
	assert_int_equal(store_view_refresh(w, true, NULL, NULL, &error), 0);
	assert_int_equal(store_view_count(w), 3);
	for (uid = 2; uid <= 3; uid++) {
		char *p;

		assert_int_equal(store_view_message_info(w, uid, &info,
		    &error), 0);
		assert_int_equal(info.size, strlen(lf) + 4);
		assert_int_equal(store_view_message_path(w, uid, &p, &error),
		    0);
		snprintf(path, sizeof(path), ",S=%zu,W=%zu", strlen(lf),
		    strlen(lf) + 4);
		assert_non_null(strstr(p, path));
		free(p);
	}
	store_view_free(&w);
	store_view_free(&v);
}

static void
test_renamed_file(void **state)
{
	struct st_fixture *f = *state;
	struct store_view *v;
	struct seen sv = { 0 };
	const char *error, *name;
	char from[4200], to[4200];
	int fd;

	st_deliver(f->store, "INBOX", "Subject: 1\r\n\r\n1\r\n");
	assert_int_equal(store_view_open(f->store, "ann", "INBOX", &v,
	    &error), 0);
	/* Another program reads it: new/ -> cur/ with S. */
	snprintf(from, sizeof(from), "%s/ann/new", f->root);
	name = st_only_file(from);
	assert_non_null(name);
	snprintf(to, sizeof(to), "%s/ann/cur/%s:2,S", f->root, name);
	snprintf(from, sizeof(from), "%s/ann/new/%s", f->root, name);
	assert_int_equal(rename(from, to), 0);
	assert_int_equal(store_view_message_open(v, 1, &fd, &error), 0);
	close(fd);
	assert_string_equal(refresh(v, true, &sv), "F1/1=16 ");
	/* Gone for good. */
	assert_int_equal(unlink(to), 0);
	assert_int_equal(store_view_message_open(v, 1, &fd, &error), -1);
	assert_int_equal(error_code(error), ERROR_EXPUNGED);
	assert_string_equal(refresh(v, true, &sv), "E1/1 ");
	store_view_free(&v);
}

static void
test_flags_keep_letters(void **state)
{
	struct st_fixture *f = *state;
	struct store_view *v;
	const char *error, *name;
	const char *kw[] = { "$label1", "junk" };
	char dir[4200], path[4300], kwfile[4300], buf[64];
	uint32_t uid = 1;
	FILE *fp;
	size_t n;

	snprintf(dir, sizeof(dir), "%s/ann/cur", f->root);
	assert_int_equal(store_user_create(f->store, "ann", &error), 0);
	snprintf(kwfile, sizeof(kwfile), "%s/ann/dovecot-keywords", f->root);
	fp = fopen(kwfile, "w");
	assert_non_null(fp);
	fputs("0 Junk\n", fp);
	fclose(fp);
	snprintf(path, sizeof(path), "%s/77.x,S=3:2,SXa", dir);
	st_write(path, "abc");
	assert_int_equal(store_view_open(f->store, "ann", "INBOX", &v,
	    &error), 0);
	assert_int_equal(store_view_messages(v)[0].flags, STORE_FLAG_SEEN);
	assert_int_equal(store_view_messages(v)[0].keywords, 1);
	assert_string_equal(store_view_keyword(v, 0), "Junk");
	assert_int_equal(store_view_keyword_find(v, "JUNK"), 0);
	assert_int_equal(store_view_keyword_find(v, "$label1"), -1);
	/* Flags alone replace the keywords too; other letters stay. */
	assert_int_equal(store_view_set_flags(v, &uid, 1, STORE_FLAGS_REPLACE,
	    STORE_FLAG_REPLIED, &error), 0);
	name = st_only_file(dir);
	assert_non_null(name);
	assert_string_equal(name, "77.x,S=3:2,RX");
	/* A new keyword is named in the file before a name uses it. */
	assert_int_equal(store_view_set_keywords(v, &uid, 1, STORE_FLAGS_ADD,
	    0, kw, 2, &error), 0);
	name = st_only_file(dir);
	assert_string_equal(name, "77.x,S=3:2,RXab");
	assert_int_equal(store_view_messages(v)[0].keywords, 3);
	fp = fopen(kwfile, "r");
	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	assert_string_equal(buf, "0 Junk\n1 $label1\n");
	assert_int_equal(store_view_keyword_count(v), 2);
	assert_int_equal(store_view_set_keywords(v, &uid, 1,
	    STORE_FLAGS_REMOVE, 0, kw + 1, 1, &error), 0);
	assert_string_equal(st_only_file(dir), "77.x,S=3:2,RXb");
	store_view_free(&v);
}

static void
test_index_reuse(void **state)
{
	struct st_fixture *f = *state;
	struct store_view *v;
	struct store_status st;
	const char *error;
	unsigned long before;
	int i;

	for (i = 0; i < 5; i++)
		st_deliver(f->store, "INBOX", "Subject: x\r\n\r\nx\r\n");
	st_settle();
	assert_int_equal(store_view_open(f->store, "ann", "INBOX", &v,
	    &error), 0);
	store_view_free(&v);
	before = maildir_readdir_count;
	assert_int_equal(store_view_open(f->store, "ann", "INBOX", &v,
	    &error), 0);
	assert_int_equal(store_view_count(v), 5);
	assert_int_equal(maildir_readdir_count, before);
	assert_int_equal(store_folder_status(f->store, "ann", "INBOX", &st,
	    &error), 0);
	assert_int_equal(st.messages, 5);
	assert_int_equal(st.unseen, 5);
	assert_int_equal(st.uidnext, 6);
	assert_int_equal(maildir_readdir_count, before);
	/* Our own flag change is not a reason to read cur/ again. */
	{
		uint32_t uid = 3;

		assert_int_equal(store_view_set_flags(v, &uid, 1,
		    STORE_FLAGS_ADD, STORE_FLAG_SEEN, &error), 0);
	}
	assert_int_equal(store_folder_status(f->store, "ann", "INBOX", &st,
	    &error), 0);
	assert_int_equal(st.unseen, 4);
	assert_int_equal(maildir_readdir_count, before);
	/* Our own delivery is taken over from the commit: nothing is
	 * read again. */
	st_settle();
	st_deliver(f->store, "INBOX", "Subject: x\r\n\r\nx\r\n");
	assert_int_equal(store_folder_status(f->store, "ann", "INBOX", &st,
	    &error), 0);
	assert_int_equal(st.messages, 6);
	assert_int_equal(st.unseen, 5);
	assert_int_equal(st.uidnext, 7);
	assert_int_equal(maildir_readdir_count, before);
	assert_int_equal(store_view_count(v), 5);
	assert_string_equal(refresh(v, true, &(struct seen){ 0 }), "X6 ");
	assert_int_equal(maildir_readdir_count, before);
	/* A file another program put into new/ between two of ours: the
	 * second does not follow what the index holds, so new/ is read. */
	st_settle();
	st_deliver(f->store, "INBOX", "Subject: x\r\n\r\nx\r\n");
	st_settle();
	{
		char path[4200];

		snprintf(path, sizeof(path), "%s/ann/new/456.ext", f->root);
		st_write(path, "Subject: ext\r\n\r\n");
	}
	st_settle();
	st_deliver(f->store, "INBOX", "Subject: x\r\n\r\nx\r\n");
	assert_int_equal(store_folder_status(f->store, "ann", "INBOX", &st,
	    &error), 0);
	assert_int_equal(st.messages, 9);
	assert_int_equal(st.uidnext, 10);
	assert_true(maildir_readdir_count > before);
	store_view_free(&v);
}

static void
test_deleted_folder(void **state)
{
	struct st_fixture *f = *state;
	struct store_view *v;
	struct seen sv = { 0 };
	const char *error;

	assert_int_equal(store_view_open(f->store, "ann", "Gone", &v,
	    &error), -1);
	assert_int_equal(error_code(error), ERROR_NOT_FOUND);
	assert_int_equal(store_folder_create(f->store, "ann", "Gone", &error),
	    0);
	assert_int_equal(store_view_open(f->store, "ann", "Gone", &v,
	    &error), 0);
	store_view_set_changed_cb(v, changed_cb, &sv);
	assert_int_equal(store_folder_delete(f->store, "ann", "Gone", &error),
	    0);
	assert_int_equal(sv.changed, 1);
	assert_int_equal(store_view_refresh(v, true, &cbs, &sv, &error), -1);
	assert_int_equal(error_code(error), ERROR_NOT_FOUND);
	store_view_free(&v);
	/* A new folder of the same name starts afresh. */
	assert_int_equal(store_folder_create(f->store, "ann", "Gone", &error),
	    0);
	assert_int_equal(store_view_open(f->store, "ann", "Gone", &v,
	    &error), 0);
	store_view_free(&v);
}

/* Events: what subscribers of each kind hear. */
struct heard {
	char log[1024];
	size_t len;
};

static void
event_cb(const struct store_event *ev, void *ctx)
{
	struct heard *h = ctx;
	size_t i;

	h->len += (size_t)snprintf(h->log + h->len, sizeof(h->log) - h->len,
	    "%d:%s:%u:", (int)ev->type, ev->folder, ev->flags);
	for (i = 0; i < ev->uid_count; i++)
		h->len += (size_t)snprintf(h->log + h->len,
		    sizeof(h->log) - h->len, "%u,", (unsigned)ev->uids[i]);
	h->len += (size_t)snprintf(h->log + h->len, sizeof(h->log) - h->len,
	    " ");
}

static void
test_events(void **state)
{
	struct st_fixture *f = *state;
	struct heard all = { 0 }, landed = { 0 };
	struct store_view *v;
	struct store_uid_map *map;
	uint32_t uids[] = { 1, 2 }, uidvalidity, uid;
	const char *error;
	unsigned a, l;

	st_deliver(f->store, "INBOX", "Subject: x\r\n\r\nx\r\n");
	st_deliver(f->store, "INBOX", "Subject: x\r\n\r\nx\r\n");
	assert_int_equal(store_folder_create(f->store, "ann", "Sent", &error),
	    0);
	a = store_subscribe_events(f->store, STORE_EVENT_ALL, event_cb, &all);
	l = store_subscribe(f->store, event_cb, &landed);
	assert_int_equal(store_view_open(f->store, "ann", "INBOX", &v,
	    &error), 0);
	store_announce(f->store, "ann", "INBOX", store_view_uidvalidity(v), 1);
	assert_int_equal(store_view_set_flags(v, uids, 2, STORE_FLAGS_ADD,
	    STORE_FLAG_SEEN, &error), 0);
	assert_int_equal(store_view_set_flags(v, uids, 1,
	    STORE_FLAGS_REPLACE, STORE_FLAG_FLAGGED, &error), 0);
	assert_int_equal(store_view_copy(v, uids, 1, "Sent", &map, &error), 0);
	store_uid_map_free(&map);
	assert_int_equal(store_view_expunge(v, NULL, 0, false, &error), 0);
	assert_int_equal(store_append(f->store, "ann", "Sent",
	    (const unsigned char *)"x", 1, 0, NULL, 0, 0, &uidvalidity, &uid,
	    &error), 0);
	/* The appended message is no news to MessageNew later. */
	store_announce(f->store, "ann", "Sent", uidvalidity, uid);
	assert_string_equal(all.log,
	    "1:INBOX:0:1, 8:INBOX:16:1,2, 8:INBOX:2:1, 16:INBOX:16:1, "
	    "2:Sent:0:1, 4:INBOX:0:1,2, 2:Sent:0:2, ");
	assert_string_equal(landed.log, "1:INBOX:0:1, ");
	store_unsubscribe(f->store, a);
	store_unsubscribe(f->store, l);
	store_view_free(&v);
}

static void
test_big_folder(void **state)
{
	struct st_fixture *f = *state;
	enum { N = 100000 };
	struct store_view *v;
	struct seen sv = { 0 };
	const char *error;
	char src[4200], path[4200];
	uint64_t t0, t1, t2, t3, t4;
	unsigned long before;
	size_t i, unseen = 0;
	const struct store_view_message *m;

	assert_int_equal(store_user_create(f->store, "ann", &error), 0);
	t0 = clock_now_us();
	for (i = 0; i < N; i++) {
		/* ext4 allows 65,000 links to one inode. */
		if (i % 50000 == 0) {
			snprintf(src, sizeof(src), "%s/ann/tmp/proto%zu",
			    f->root, i);
			st_write(src, "Subject: big\r\n\r\nbody\r\n");
		}
		snprintf(path, sizeof(path),
		    "%s/ann/cur/%zu.M%zuP1Q%zu.host,S=22:2,%s", f->root,
		    1700000000 + i, i, i, i % 2 == 0 ? "S" : "");
		assert_int_equal(link(src, path), 0);
	}
	t1 = clock_now_us();
	st_settle();
	t2 = clock_now_us();
	assert_int_equal(store_view_open(f->store, "ann", "INBOX", &v,
	    &error), 0);
	t3 = clock_now_us();
	assert_int_equal(store_view_count(v), N);
	store_view_free(&v);
	before = maildir_readdir_count;
	t4 = clock_now_us();
	assert_int_equal(store_view_open(f->store, "ann", "INBOX", &v,
	    &error), 0);
	{
		uint64_t t5 = clock_now_us(), t6, t7;

		assert_int_equal(maildir_readdir_count, before);
		/* UID SEARCH UNSEEN, from memory. */
		m = store_view_messages(v);
		for (i = 0; i < store_view_count(v); i++) {
			if ((m[i].flags & STORE_FLAG_SEEN) == 0)
				unseen++;
		}
		t6 = clock_now_us();
		assert_int_equal(unseen, N / 2);
		assert_string_equal(refresh(v, true, &sv), "");
		t7 = clock_now_us();
		print_message("100,000 messages: built in %.0f ms, first open "
		    "%.1f ms, second open %.2f ms, UNSEEN scan %.2f ms, "
		    "refresh %.3f ms\n", (double)(t1 - t0) / 1e3,
		    (double)(t3 - t2) / 1e3, (double)(t5 - t4) / 1e3,
		    (double)(t6 - t5) / 1e3, (double)(t7 - t6) / 1e3);
		/* One delivery of ours: neither new/ nor cur/ is read
		 * again. */
		st_deliver(f->store, "INBOX", "Subject: x\r\n\r\nx\r\n");
		before = maildir_readdir_count;
		t6 = clock_now_us();
		assert_string_equal(refresh(v, true, &sv), "X100001 ");
		t7 = clock_now_us();
		assert_int_equal(maildir_readdir_count, before);
		print_message("refresh after one delivery %.1f ms\n",
		    (double)(t7 - t6) / 1e3);
	}
	store_view_free(&v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_two_views, st_setup,
		    st_teardown),
		cmocka_unit_test_setup_teardown(test_expunge_order, st_setup,
		    st_teardown),
		cmocka_unit_test_setup_teardown(test_copy_move, st_setup,
		    st_teardown),
		cmocka_unit_test_setup_teardown(test_append, st_setup,
		    st_teardown),
		cmocka_unit_test_setup_teardown(test_crlf_size, st_setup,
		    st_teardown),
		cmocka_unit_test_setup_teardown(test_renamed_file, st_setup,
		    st_teardown),
		cmocka_unit_test_setup_teardown(test_flags_keep_letters, st_setup,
		    st_teardown),
		cmocka_unit_test_setup_teardown(test_index_reuse, st_setup,
		    st_teardown),
		cmocka_unit_test_setup_teardown(test_deleted_folder, st_setup,
		    st_teardown),
		cmocka_unit_test_setup_teardown(test_events, st_setup,
		    st_teardown),
		cmocka_unit_test_setup_teardown(test_big_folder, st_setup,
		    st_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
