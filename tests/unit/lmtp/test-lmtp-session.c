/*
 * Unit tests for the LMTP sessions and commands: a real server on a
 * loopback socket with a real store, delivery queue and passwd-file
 * directory in a temporary directory, driven by a client socket in the
 * same thread while the test turns the event loop.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "directory/directory.h"
#include "lib/config.h"
#include "lib/stats.h"
#include "lib/xmalloc.h"
#include "lmtp/lmtp.h"
#include "lmtp/lmtp-session.h"
#include "lmtp-test-client.h"
#include "store/store.h"

struct fixture {
	char tmp[64];
	struct mb_config *cfg;
	struct event_base *base;
	struct store *store;
	struct store_queue *queue;
	struct event *queue_ev;
	struct directory *dir;
	struct lmtp_server *server;
	unsigned sub;
	unsigned events;		/* store events heard */
	uint16_t port;
	bool drained;
};

static void
queue_cb(evutil_socket_t fd, short what, void *ctx)
{
	struct fixture *f = ctx;

	(void)fd;
	(void)what;
	store_queue_reap(f->queue);
}

static void
event_cb(const struct store_event *ev, void *ctx)
{
	struct fixture *f = ctx;

	assert_string_equal(ev->folder, STORE_INBOX);
	f->events++;
}

static void
drained_cb(void *ctx)
{
	struct fixture *f = ctx;

	f->drained = true;
}

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct lmtp_deps deps;
	const char *error;
	char *path, *root;
	FILE *fp;
	int fd;

	snprintf(f->tmp, sizeof(f->tmp), "/tmp/mb-test-lmtp-XXXXXX");
	assert_non_null(mkdtemp(f->tmp));
	path = xasprintf("%s/mailbell.conf", f->tmp);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "[server]\ndata_dir = %s\ndomains = example.org\n"
	    "hostname = lmtp.test\n[lmtp]\nmax_message_size = 4K\n", f->tmp);
	fclose(fp);
	if (config_load(path, &f->cfg, &error) < 0)
		fail_msg("config: %s", error);
	free(path);

	path = config_passwd_path(f->cfg);
	f->dir = directory_open(path);
	free(path);
	assert_int_equal(directory_user_add(f->dir, "alice", "pw", &error), 0);
	assert_int_equal(directory_user_add(f->dir, "bob", "pw", &error), 0);
	root = config_mail_root(f->cfg);
	f->store = store_new(root, "lmtp.test");
	free(root);
	f->sub = store_subscribe(f->store, event_cb, f);
	f->queue = store_queue_new(f->store);

	f->base = event_base_new();
	assert_non_null(f->base);
	f->queue_ev = event_new(f->base, store_queue_fd(f->queue),
	    EV_READ | EV_PERSIST, queue_cb, f);
	event_add(f->queue_ev, NULL);

	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 512), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	f->port = ntohs(sin.sin_port);

	memset(&deps, 0, sizeof(deps));
	deps.base = f->base;
	deps.cfg = f->cfg;
	deps.store = f->store;
	deps.queue = f->queue;
	deps.dir = f->dir;
	f->server = lmtp_server_new(&deps);
	assert_int_equal(lmtp_server_listen(f->server, fd), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char *cmd;

	lmtp_server_free(&f->server);
	event_free(f->queue_ev);
	store_queue_free(&f->queue);
	store_unsubscribe(f->store, f->sub);
	store_free(&f->store);
	directory_free(&f->dir);
	event_base_free(f->base);
	config_free(&f->cfg);
	cmd = xasprintf("rm -rf '%s'", f->tmp);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(f);
	return 0;
}

/* ---- the client side (lmtp-test-client.h) ---- */

static void
turn(struct fixture *f)
{
	event_base_loop(f->base, EVLOOP_NONBLOCK);
}

/* Turn the loop until pred(f) or time runs out. */
static void
wait_for(struct fixture *f, bool (*pred)(struct fixture *f))
{
	time_t deadline = time(NULL) + WAIT_SECS;

	while (!pred(f)) {
		struct timespec ts = { 0, 2 * 1000 * 1000 };

		turn(f);
		nanosleep(&ts, NULL);
		assert_true(time(NULL) < deadline);
	}
}

static bool
no_sessions(struct fixture *f)
{
	return f->server->service.session_count == 0;
}

/* Messages in user's INBOX, read whole; NULL-terminated, caller frees. */
/* The server closes the connection: free the client, then wait until
 * no session remains. */
static void
client_closed(struct fixture *f, struct client **cp)
{
	client_wait_eof(*cp);
	client_free(cp);
	wait_for(f, no_sessions);
}

static char **
inbox(struct fixture *f, const char *user)
{
	char **msgs = xcalloc(64, sizeof(*msgs));
	size_t n = 0;
	char *path = xasprintf("%s/mail/%s/new", f->tmp, user);
	DIR *d = opendir(path);
	struct dirent *de;

	if (d == NULL) {
		free(path);
		return msgs;
	}
	while ((de = readdir(d)) != NULL && n < 63) {
		char *file;
		FILE *fp;
		long size;

		if (de->d_name[0] == '.')
			continue;
		file = xasprintf("%s/%s", path, de->d_name);
		fp = fopen(file, "rb");
		assert_non_null(fp);
		fseek(fp, 0, SEEK_END);
		size = ftell(fp);
		rewind(fp);
		msgs[n] = xcalloc(1, (size_t)size + 1);
		assert_int_equal(fread(msgs[n], 1, (size_t)size, fp),
		    (size_t)size);
		fclose(fp);
		free(file);
		n++;
	}
	closedir(d);
	free(path);
	return msgs;
}

static size_t
inbox_count(struct fixture *f, const char *user)
{
	char **msgs = inbox(f, user);
	size_t n;

	for (n = 0; msgs[n] != NULL; n++)
		free(msgs[n]);
	free(msgs);
	return n;
}

static void
lhlo(struct client *c)
{
	char *got;

	client_expect(c, NULL, "220 lmtp.test LMTP mailbell ready\r\n");
	client_send(c, "LHLO client.test\r\n");
	got = client_replies(c, 1);
	assert_string_equal(got, "250-lmtp.test\r\n250-PIPELINING\r\n"
	    "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250 SIZE 4096\r\n");
	free(got);
}

/* ---- tests ---- */

static void
test_greeting_lhlo_quit(void **state)
{
	static const struct exchange x[] = {
		{ "NOOP\r\n", "250 2.0.0 " },
		{ "HELP\r\n", "214 2.0.0 " },
		{ "QUIT\r\n", "221 2.0.0 lmtp.test " },
	};
	struct fixture *f = *state;
	struct client *c = client_connect(f->base, f->port);

	lhlo(c);
	CLIENT_EXPECT_ALL(c, x);
	client_closed(f, &c);
}

static void
test_delivery_per_recipient(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_connect(f->base, f->port);
	const char *body = "Subject: hi\r\n\r\n.leading dot\r\nend\r\n";
	char *got, **msgs;

	lhlo(c);
	client_expect(c, "MAIL FROM:<sender@example.net> BODY=8BITMIME SIZE=100\r\n",
	    "250 2.1.0 ");
	client_expect(c, "RCPT TO:<Alice@example.org>\r\n", "250 2.1.5 ");
	client_expect(c, "RCPT TO:<nobody@example.org>\r\n", "550 5.1.1 ");
	client_expect(c, "RCPT TO:<bob@elsewhere.example>\r\n", "550 5.1.1 ");
	client_expect(c, "RCPT TO:<bob>\r\n", "250 2.1.5 ");
	client_expect(c, "DATA\r\n", "354 ");
	client_send(c, "Subject: hi\r\n\r\n..leading dot\r\nend\r\n.\r\n");
	got = client_replies(c, 2);
	/* One reply per accepted recipient, in RCPT order. */
	assert_non_null(strstr(got, "delivered to <Alice@example.org>"));
	assert_non_null(strstr(got, "delivered to <bob>"));
	assert_true(strstr(got, "<Alice@") < strstr(got, "<bob>"));
	assert_int_equal(strncmp(got, "250 2.0.0 ", 10), 0);
	assert_non_null(strstr(got, "\r\n250 2.0.0 "));
	free(got);
	assert_int_equal(f->events, 2);

	msgs = inbox(f, "alice");
	assert_non_null(msgs[0]);
	assert_null(msgs[1]);
	got = xasprintf("Return-Path: <sender@example.net>\r\n"
	    "Delivered-To: Alice@example.org\r\n%s", body);
	assert_string_equal(msgs[0], got);
	free(got);
	free(msgs[0]);
	free(msgs);
	msgs = inbox(f, "bob");
	assert_non_null(msgs[0]);
	got = xasprintf("Return-Path: <sender@example.net>\r\n"
	    "Delivered-To: bob\r\n%s", body);
	assert_string_equal(msgs[0], got);
	free(got);
	free(msgs[0]);
	free(msgs);

	/* The session goes on: a null sender, then RSET. */
	client_expect(c, "MAIL FROM:<>\r\n", "250 2.1.0 ");
	client_expect(c, "RSET\r\n", "250 2.0.0 ");
	client_expect(c, "RCPT TO:<alice@example.org>\r\n", "503 5.5.1 ");
	client_expect(c, "QUIT\r\n", "221 ");
	client_free(&c);
	wait_for(f, no_sessions);
}

static void
test_pipelined_in_one_write(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_connect(f->base, f->port);
	char *got, **msgs;

	client_expect(c, NULL, "220 ");
	client_send(c, "LHLO x\r\nMAIL FROM:<s@x>\r\n"
	    "RCPT TO:<alice@example.org>\r\nRCPT TO:<zed@example.org>\r\n"
	    "DATA\r\nm1\r\n.\r\n"
	    "MAIL FROM:<>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n"
	    "m2\r\n.\r\nQUIT\r\n");
	got = client_replies(c, 11);
	assert_non_null(strstr(got, "\r\n250 SIZE 4096\r\n250 2.1.0 "
	    "Sender <s@x> OK\r\n250 2.1.5 <alice@example.org> OK\r\n"
	    "550 5.1.1 <zed@example.org> User unknown\r\n354 "));
	assert_non_null(strstr(got, "\r\n250 2.1.0 Sender <> OK\r\n"
	    "250 2.1.5 <alice@example.org> OK\r\n354 "));
	assert_non_null(strstr(got, "\r\n221 2.0.0 "));
	free(got);
	client_wait_eof(c);
	client_free(&c);
	msgs = inbox(f, "alice");
	assert_non_null(msgs[0]);
	assert_non_null(msgs[1]);
	assert_null(msgs[2]);
	for (size_t i = 0; i < 2; i++) {
		assert_true(strstr(msgs[i], "m1\r\n") != NULL ||
		    strstr(msgs[i], "m2\r\n") != NULL);
		free(msgs[i]);
	}
	free(msgs);
	wait_for(f, no_sessions);
}

static void
test_sequence_errors(void **state)
{
	static const struct exchange x[] = {
		{ NULL, "220 " },
		{ "MAIL FROM:<a@b>\r\n", "503 5.5.1 Send LHLO first" },
		{ "HELO x\r\n", "500 5.5.1 This is an LMTP server" },
		{ "LHLO x\r\n", "250-" },
		{ "RCPT TO:<alice@example.org>\r\n", "503 5.5.1 " },
		{ "DATA\r\n", "503 5.5.1 " },
		{ "MAIL FROM:<a@b>\r\n", "250 " },
		{ "MAIL FROM:<a@b>\r\n", "503 5.5.1 " },
		{ "DATA\r\n", "503 5.5.1 No valid recipients" },
		{ "RCPT TO:<>\r\n", "501 5.1.3 " },
		{ "RCPT TO:alice@example.org\r\n", "501 5.5.4 " },
		{ "RCPT TO:<alice@example.org> NOTIFY=NEVER\r\n",
		    "555 5.5.4 " },
		{ "VRFY alice\r\n", "252 " },
	};
	struct fixture *f = *state;
	struct client *c = client_connect(f->base, f->port);
	char *got;

	CLIENT_EXPECT_ALL(c, x);
	/* Nine errors so far: the tenth closes the session. */
	client_send(c, "BOGUS\r\n");
	got = client_replies(c, 2);
	assert_int_equal(strncmp(got, "500 5.5.2 ", 10), 0);
	assert_non_null(strstr(got, "\r\n421 4.7.0 lmtp.test "));
	free(got);
	client_closed(f, &c);
}

static void
test_size_limits(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_connect(f->base, f->port);
	char big[5000];
	uint64_t oversized = mb_stats.lmtp_oversized_total;
	char *got;

	lhlo(c);
	client_expect(c, "MAIL FROM:<a@b> SIZE=4097\r\n", "552 5.3.4 ");
	client_expect(c, "MAIL FROM:<a@b> SIZE=4096\r\n", "250 ");
	client_expect(c, "RCPT TO:<alice@example.org>\r\n", "250 ");
	client_expect(c, "RCPT TO:<bob@example.org>\r\n", "250 ");
	client_expect(c, "DATA\r\n", "354 ");
	memset(big, 'x', sizeof(big));
	for (size_t i = 70; i < sizeof(big); i += 72) {
		big[i - 1] = '\r';
		big[i] = '\n';
	}
	client_send_len(c, big, sizeof(big));
	client_send(c, "\r\n.\r\n");
	got = client_replies(c, 2);
	assert_int_equal(strncmp(got, "552 5.3.4 <alice@example.org> ", 30),
	    0);
	assert_non_null(strstr(got, "\r\n552 5.3.4 <bob@example.org> "));
	free(got);
	assert_int_equal(mb_stats.lmtp_oversized_total, oversized + 2);
	assert_int_equal(inbox_count(f, "alice"), 0);

	/* The transaction is over, the session is not. */
	client_expect(c, "RCPT TO:<alice@example.org>\r\n", "503 ");
	client_expect(c, "MAIL FROM:<a@b>\r\n", "250 ");
	client_expect(c, "RCPT TO:<alice@example.org>\r\n", "250 ");
	client_expect(c, "DATA\r\n", "354 ");
	memset(big, 'y', 4094);
	client_send_len(c, big, 4094);
	client_expect(c, "\r\n.\r\n", "250 2.0.0 ");
	assert_int_equal(inbox_count(f, "alice"), 1);
	client_free(&c);
	wait_for(f, no_sessions);
}

static void
test_bad_lines(void **state)
{
	/* After a line with a NUL. */
	static const struct exchange x[] = {
		{ NULL, "500 5.5.2 " },
		{ "QUIT\rX\r\n", "500 5.5.2 " },
		{ "noop\n", "250 " },
		{ "MAIL FROM:<a@b> FOO=1\r\n", "555 5.5.4 " },
		{ "DATA please\r\n", "501 5.5.4 " },
		{ "GET / HTTP/1.1\r\n", "421 4.7.0 " },
	};
	struct fixture *f = *state;
	struct client *c = client_connect(f->base, f->port);
	char line[LMTP_LINE_MAX + 100];

	lhlo(c);
	memset(line, 'A', sizeof(line));
	memcpy(line, "NOOP ", 5);
	client_send_len(c, line, sizeof(line));
	client_expect(c, "\r\n", "500 5.5.2 Line too long");
	client_expect(c, "NOOP\r\n", "250 ");
	client_send_len(c, "NO\0OP\r\n", 7);
	CLIENT_EXPECT_ALL(c, x);
	client_closed(f, &c);
}

static void
test_nul_in_data(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_connect(f->base, f->port);

	lhlo(c);
	client_expect(c, "MAIL FROM:<a@b>\r\n", "250 ");
	client_expect(c, "RCPT TO:<alice@example.org>\r\n", "250 ");
	client_expect(c, "DATA\r\n", "354 ");
	client_send_len(c, "a\0b\r\n.\r\n", 8);
	client_expect(c, NULL, "554 5.6.0 ");
	assert_int_equal(inbox_count(f, "alice"), 0);
	client_expect(c, "NOOP\r\n", "250 ");
	client_free(&c);
	wait_for(f, no_sessions);
}

static bool
alice_has_mail(struct fixture *f)
{
	return inbox_count(f, "alice") == 1 && f->events == 1;
}

static void
test_client_gone_during_delivery(void **state)
{
	struct fixture *f = *state;
	struct client *c = client_connect(f->base, f->port);

	lhlo(c);
	client_send(c, "MAIL FROM:<a@b>\r\nRCPT TO:<alice@example.org>\r\n"
	    "DATA\r\n");
	free(client_replies(c, 3));
	/* Hang up right after the message: it is still delivered, and
	 * the session is freed once the queue answers. */
	client_send(c, "hello\r\n.\r\n");
	client_free(&c);
	wait_for(f, alice_has_mail);
	wait_for(f, no_sessions);
}

static bool
is_drained(struct fixture *f)
{
	return f->drained;
}

static bool
delivery_queued(struct fixture *f)
{
	return f->server->deliveries > 0;
}

static void
test_shutdown(void **state)
{
	struct fixture *f = *state;
	struct client *idle = client_connect(f->base, f->port);
	struct client *busy = client_connect(f->base, f->port);
	struct client *late;
	char *got;

	lhlo(idle);
	lhlo(busy);
	client_send(busy, "MAIL FROM:<a@b>\r\nRCPT TO:<alice@example.org>"
	    "\r\nDATA\r\n");
	free(client_replies(busy, 3));
	/* Send the end of data and let the server queue the job. */
	client_send(busy, "x\r\n.\r\n");
	wait_for(f, delivery_queued);
	lmtp_server_shutdown(f->server, drained_cb, f);
	assert_false(f->drained);

	client_expect(idle, NULL, "421 4.3.2 ");
	client_wait_eof(idle);
	/* The delivery in flight is finished and answered first. */
	got = client_replies(busy, 2);
	assert_int_equal(strncmp(got, "250 2.0.0 ", 10), 0);
	assert_non_null(strstr(got, "\r\n421 4.3.2 "));
	free(got);
	client_wait_eof(busy);
	wait_for(f, is_drained);
	assert_int_equal(inbox_count(f, "alice"), 1);

	/* Nobody is listening any more. */
	late = xcalloc(1, sizeof(*late));
	late->fd = socket(AF_INET, SOCK_STREAM, 0);
	{
		struct sockaddr_in sin = { .sin_family = AF_INET,
		    .sin_port = htons(f->port),
		    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		assert_int_equal(connect(late->fd, (struct sockaddr *)&sin,
		    sizeof(sin)), -1);
	}
	client_free(&late);
	client_free(&idle);
	client_free(&busy);
}

/* One address gets LMTP_SESSIONS_PER_IP sessions, then 421; with every
 * session taken, the one idle longest yields to a new one, and one in a
 * transaction never does. */
static void
test_session_limit(void **state)
{
	struct fixture *f = *state;
	struct client **cs = xcalloc(LMTP_SESSIONS_MAX + 1, sizeof(*cs));
	struct client *c;
	uint64_t refused = mb_stats.lmtp_sessions_refused;
	uint64_t yielded = mb_stats.lmtp_sessions_yielded_total;

	for (size_t i = 0; i < LMTP_SESSIONS_PER_IP; i++) {
		cs[i] = client_connect_from(f->base, f->port, "127.0.0.1");
		client_expect(cs[i], NULL, "220 ");
	}
	c = client_connect_from(f->base, f->port, "127.0.0.1");
	client_expect(c, NULL, "421 4.3.2 ");
	client_wait_eof(c);
	client_free(&c);
	assert_int_equal(mb_stats.lmtp_sessions_refused, refused + 1);
	/* The oldest is in a transaction: it never yields. */
	client_expect(cs[0], "LHLO mx.example.net\r\n", "250");
	client_expect(cs[0], "MAIL FROM:<a@example.net>\r\n", "250 ");
	for (size_t i = LMTP_SESSIONS_PER_IP; i < LMTP_SESSIONS_MAX; i++) {
		cs[i] = client_connect_from(f->base, f->port, "127.0.0.2");
		client_expect(cs[i], NULL, "220 ");
	}
	/* Full: the next one gets in, the one idle longest yields. */
	cs[LMTP_SESSIONS_MAX] = client_connect_from(f->base, f->port,
	    "127.0.0.3");
	client_expect(cs[LMTP_SESSIONS_MAX], NULL, "220 ");
	client_expect(cs[1], NULL, "421 4.3.2 ");
	client_wait_eof(cs[1]);
	assert_int_equal(mb_stats.lmtp_sessions_yielded_total, yielded + 1);
	assert_int_equal(mb_stats.lmtp_sessions_refused, refused + 1);
	client_expect(cs[0], "RCPT TO:<alice@example.org>\r\n", "250 ");
	for (size_t i = 0; i <= LMTP_SESSIONS_MAX; i++)
		client_free(&cs[i]);
	free(cs);
	wait_for(f, no_sessions);
}

static bool
output_blocked(struct fixture *f)
{
	return f->server->service.sessions != NULL &&
	    LMTP_SESSION(f->server->service.sessions)->output_blocked;
}

/* Count the "250 2.0.0 OK" lines received and drop them, keeping a
 * partial line for later. */
static size_t
take_ok_lines(struct client *c)
{
	size_t n = 0, off = 0;

	while (c->len - off >= 14) {
		assert_memory_equal(c->buf + off, "250 2.0.0 OK\r\n", 14);
		off += 14;
		n++;
	}
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
	c->buf[c->len] = '\0';
	return n;
}

static void
test_output_backpressure(void **state)
{
	struct fixture *f = *state;
	struct client *c = xcalloc(1, sizeof(*c));
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons(f->port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int small = 4096;
	enum { N = 400000 };
	char *all = xmalloc(N * 6);
	size_t sent = 0, got = 0;
	time_t deadline = time(NULL) + 60;

	/* A client that reads slowly: a small receive window. */
	c->base = f->base;
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &small,
	    sizeof(small)), 0);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	assert_int_equal(fcntl(c->fd, F_SETFL, O_NONBLOCK), 0);
	lhlo(c);
	for (size_t i = 0; i < N; i++)
		memcpy(all + i * 6, "NOOP\r\n", 6);

	/* Pipeline NOOPs without reading a reply: more replies than any
	 * socket buffer holds. The server must stop taking input rather
	 * than queue them all. */
	while (!output_blocked(f)) {
		ssize_t n = send(c->fd, all + sent, N * 6 - sent,
		    MSG_NOSIGNAL);

		if (n > 0)
			sent += (size_t)n;
		turn(f);
		assert_true(time(NULL) < deadline);
	}
	for (int i = 0; i < 100; i++)
		turn(f);
	assert_true(output_blocked(f));
	assert_true(evbuffer_get_length(bufferevent_get_output(
	    LMTP_SESSION(f->server->service.sessions)->bev)) < 2 * LMTP_OUTPUT_HIGH_WATER);

	/* Reading lets it go on; every reply arrives, in order. */
	while (got < N) {
		if (sent < N * 6) {
			ssize_t n = send(c->fd, all + sent, N * 6 - sent,
			    MSG_NOSIGNAL);

			if (n > 0)
				sent += (size_t)n;
		}
		client_pump(c);
		got += take_ok_lines(c);
		assert_false(c->eof);
		assert_true(time(NULL) < deadline);
	}
	assert_int_equal(got, N);
	assert_int_equal(c->len, 0);
	free(all);
	client_free(&c);
	wait_for(f, no_sessions);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_greeting_lhlo_quit,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_delivery_per_recipient,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelined_in_one_write,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_sequence_errors,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_size_limits,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_lines,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_nul_in_data,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_gone_during_delivery,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_limit,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_backpressure,
		    setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
