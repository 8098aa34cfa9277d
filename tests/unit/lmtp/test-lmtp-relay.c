/*
 * Unit tests for relaying LMTP recipients to the node that owns them:
 * two real LMTP servers (nodes a and b, each with its own store, queue
 * and passwd file) on one event loop, a's route saying which users live
 * on b, and a scripted owner socket for the failures b would not give.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/socket.h>
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

#include <event2/event.h>

#include "directory/directory.h"
#include "lib/config.h"
#include "lib/route.h"
#include "lib/stats.h"
#include "lib/xmalloc.h"
#include "lmtp/lmtp.h"
#include "lmtp/lmtp-session.h"
#include "store/store.h"
#include "lmtp-test-client.h"

/* One mailbelld node's LMTP side. */
struct node {
	char tmp[64];
	struct mb_config *cfg;
	struct store *store;
	struct store_queue *queue;
	struct event *queue_ev;
	struct directory *dir;
	struct lmtp_server *server;
	uint16_t port;
};

struct fixture {
	struct event_base *base;
	struct node a, b;
	struct route_ops route;		/* a's */
	int refused_fd;			/* bound, not listening: node c */
	uint16_t refused_port;
	int scripted_fd;		/* listening: node s, the test speaks */
	uint16_t scripted_port;
};

static void
queue_cb(evutil_socket_t fd, short what, void *ctx)
{
	(void)fd;
	(void)what;
	store_queue_reap(ctx);
}

/* A loopback TCP socket on a free port, listening if asked. */
static int
loopback_socket(bool listening, uint16_t *port_r)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	if (listening)
		assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port_r = ntohs(sin.sin_port);
	return fd;
}

/* Listen on [::1] at port too where there is IPv6, so a host name that
 * resolves to ::1 first reaches the node as well. */
static void
also_ipv6(struct lmtp_server *server, uint16_t port)
{
	struct sockaddr_in6 sin6;
	int fd = socket(AF_INET6, SOCK_STREAM, 0);

	if (fd < 0)
		return;
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	sin6.sin6_port = htons(port);
	if (bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) < 0 ||
	    listen(fd, 16) < 0 || lmtp_server_listen(server, fd) < 0)
		close(fd);
}

static void
node_setup(struct fixture *f, struct node *n, const char *max_size,
    const char *const *users, const struct route_ops *route)
{
	struct lmtp_deps deps;
	const char *error;
	char *path, *root;
	FILE *fp;
	int fd;

	snprintf(n->tmp, sizeof(n->tmp), "/tmp/mb-test-relay-XXXXXX");
	assert_non_null(mkdtemp(n->tmp));
	path = xasprintf("%s/mailbell.conf", n->tmp);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "[server]\ndata_dir = %s\ndomains = example.org\n"
	    "hostname = %s.test\n[lmtp]\nmax_message_size = %s\n", n->tmp,
	    n == &f->a ? "a" : "b", max_size);
	fclose(fp);
	if (config_load(path, &n->cfg, &error) < 0)
		fail_msg("config: %s", error);
	free(path);
	path = config_passwd_path(n->cfg);
	n->dir = directory_open(path);
	free(path);
	for (; *users != NULL; users++)
		assert_int_equal(directory_user_add(n->dir, *users, "pw",
		    &error), 0);
	root = config_mail_root(n->cfg);
	n->store = store_new(root, n->cfg->hostname);
	free(root);
	n->queue = store_queue_new(n->store);
	n->queue_ev = event_new(f->base, store_queue_fd(n->queue),
	    EV_READ | EV_PERSIST, queue_cb, n->queue);
	event_add(n->queue_ev, NULL);

	fd = loopback_socket(true, &n->port);
	memset(&deps, 0, sizeof(deps));
	deps.base = f->base;
	deps.cfg = n->cfg;
	deps.store = n->store;
	deps.queue = n->queue;
	deps.dir = n->dir;
	directory_set_route(n->dir, route);
	n->server = lmtp_server_new(&deps);
	assert_int_equal(lmtp_server_listen(n->server, fd), 0);
	also_ipv6(n->server, n->port);
}

static void
node_teardown(struct node *n)
{
	char *cmd;

	lmtp_server_free(&n->server);
	event_free(n->queue_ev);
	store_queue_free(&n->queue);
	store_free(&n->store);
	directory_free(&n->dir);
	config_free(&n->cfg);
	cmd = xasprintf("rm -rf '%s'", n->tmp);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

/* a's view of the cluster: bob and erin live on b (ben too, by name),
 * dave on c
 * (down), frank on s (scripted), carol nowhere known; the rest on a. */
static enum route_where
locate(void *ctx, const char *user, struct route_peer *peer_r)
{
	struct fixture *f = ctx;

	snprintf(peer_r->host, sizeof(peer_r->host), "127.0.0.1");
	if (strcmp(user, "bob") == 0 || strcmp(user, "erin") == 0) {
		snprintf(peer_r->node, sizeof(peer_r->node), "b");
		peer_r->lmtp_port = f->b.port;
		return ROUTE_THERE;
	}
	if (strcmp(user, "ben") == 0) {
		/* A host name: looked up without blocking (evdns). */
		snprintf(peer_r->node, sizeof(peer_r->node), "b");
		snprintf(peer_r->host, sizeof(peer_r->host), "localhost");
		peer_r->lmtp_port = f->b.port;
		return ROUTE_THERE;
	}
	if (strcmp(user, "dave") == 0) {
		snprintf(peer_r->node, sizeof(peer_r->node), "c");
		peer_r->lmtp_port = f->refused_port;
		return ROUTE_THERE;
	}
	if (strcmp(user, "frank") == 0) {
		snprintf(peer_r->node, sizeof(peer_r->node), "s");
		peer_r->lmtp_port = f->scripted_port;
		return ROUTE_THERE;
	}
	if (strcmp(user, "carol") == 0)
		return ROUTE_UNAVAILABLE;
	return ROUTE_HERE;
}

static int
setup_with(void **state, const char *a_max_size)
{
	static const char *const a_users[] = { "alice", "bob", "ben",
	    "carol", "dave", "erin", "frank", NULL };
	static const char *const b_users[] = { "bob", "ben", NULL };
	struct fixture *f = xcalloc(1, sizeof(*f));

	f->base = event_base_new();
	assert_non_null(f->base);
	f->route.locate = locate;
	f->route.node_name = "a";
	f->route.ctx = f;
	f->refused_fd = loopback_socket(false, &f->refused_port);
	f->scripted_fd = loopback_socket(true, &f->scripted_port);
	/* A small window, so an owner that does not read is soon full. */
	assert_int_equal(setsockopt(f->scripted_fd, SOL_SOCKET, SO_RCVBUF,
	    &(int){ 4096 }, sizeof(int)), 0);
	node_setup(f, &f->b, "1M", b_users, NULL);
	node_setup(f, &f->a, a_max_size, a_users, &f->route);
	memset(&mb_stats, 0, sizeof(mb_stats));
	*state = f;
	return 0;
}

static int
setup(void **state)
{
	return setup_with(state, "2M");
}

/* Room for a message larger than the kernel's socket buffers hold. */
static int
setup_large(void **state)
{
	return setup_with(state, "16M");
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	node_teardown(&f->a);
	node_teardown(&f->b);
	close(f->refused_fd);
	close(f->scripted_fd);
	event_base_free(f->base);
	free(f);
	return 0;
}

/* ---- helpers ---- */

/* Messages in user's INBOX on node n. */
static size_t
inbox_count(const struct node *n, const char *user)
{
	char *path = xasprintf("%s/mail/%s/new", n->tmp, user);
	DIR *d = opendir(path);
	struct dirent *de;
	size_t count = 0;

	free(path);
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			count++;
	closedir(d);
	return count;
}

/* The one message in user's INBOX on node n (malloc'd), and its size. */
static char *
inbox_message(const struct node *n, const char *user, size_t *len_r)
{
	char *path = xasprintf("%s/mail/%s/new", n->tmp, user), *file, *msg;
	DIR *d = opendir(path);
	struct dirent *de;
	FILE *fp;
	long size;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL && de->d_name[0] == '.')
		;
	assert_non_null(de);
	file = xasprintf("%s/%s", path, de->d_name);
	closedir(d);
	fp = fopen(file, "rb");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	size = ftell(fp);
	rewind(fp);
	msg = xcalloc(1, (size_t)size + 1);
	assert_int_equal(fread(msg, 1, (size_t)size, fp), (size_t)size);
	fclose(fp);
	free(file);
	free(path);
	*len_r = (size_t)size;
	return msg;
}

/* A client of a, past LHLO. */
static struct client *
connect_a(struct fixture *f)
{
	struct client *c = client_connect(f->base, f->a.port);
	char *got;

	client_expect(c, NULL, "220 a.test ");
	client_send(c, "LHLO mta.test\r\n");
	got = client_replies(c, 1);
	free(got);
	return c;
}

/* Turn the loop until pred(f) or time runs out. */
static void
wait_for(struct fixture *f, bool (*pred)(struct fixture *f))
{
	time_t deadline = time(NULL) + WAIT_SECS;

	while (!pred(f)) {
		struct timespec ts = { 0, 2 * 1000 * 1000 };

		event_base_loop(f->base, EVLOOP_NONBLOCK);
		nanosleep(&ts, NULL);
		assert_true(time(NULL) < deadline);
	}
}

static bool
no_relay_connections(struct fixture *f)
{
	(void)f;
	return mb_stats.lmtp_relay_connections_active == 0;
}

/* A message of about size bytes, some lines beginning with a dot
 * (malloc'd, as sent: dot-stuffed, with the final dot). */
static char *
big_message(size_t size, size_t *len_r)
{
	char *msg = xmalloc(size + 64);
	size_t n = 0;

	n += (size_t)sprintf(msg, "Subject: big\r\n\r\n");
	for (size_t line = 0; n + 80 < size; line++) {
		if (line % 7 == 0) {
			/* ".." as sent: a line that begins with a dot */
			msg[n++] = '.';
			msg[n++] = '.';
		}
		memset(msg + n, 'a' + (char)(line % 26), 70);
		n += 70;
		msg[n++] = '\r';
		msg[n++] = '\n';
	}
	memcpy(msg + n, ".\r\n", 4);
	*len_r = n + 3;
	return msg;
}

/* ---- the scripted owner (node s) ---- */

/* Accept a's relay connection. */
static struct client *
owner_accept(struct fixture *f)
{
	struct pollfd pfd = { .fd = f->scripted_fd, .events = POLLIN };
	time_t deadline = time(NULL) + WAIT_SECS;
	struct client *o = xcalloc(1, sizeof(*o));

	while (poll(&pfd, 1, 2) <= 0) {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		assert_true(time(NULL) < deadline);
	}
	o->fd = accept(f->scripted_fd, NULL, NULL);
	assert_true(o->fd >= 0);
	assert_int_equal(fcntl(o->fd, F_SETFL, O_NONBLOCK), 0);
	o->base = f->base;
	return o;
}

/* The next line the relay sent must be want. */
static void
owner_expect(struct client *o, const char *want)
{
	time_t deadline = time(NULL) + WAIT_SECS;
	char *nl;
	size_t len;

	while ((nl = strstr(o->buf, "\r\n")) == NULL) {
		client_pump(o);
		if (o->eof)
			fail_msg("want \"%s\", got EOF after \"%s\"", want,
			    o->buf);
		assert_true(time(NULL) < deadline);
	}
	*nl = '\0';
	assert_string_equal(o->buf, want);
	len = (size_t)(nl + 2 - o->buf);
	memmove(o->buf, nl + 2, o->len - len + 1);
	o->len -= len;
}

/* Greeting, LHLO and MAIL FROM as an LMTP server would answer them. */
static void
owner_start(struct client *o, const char *mail)
{
	client_send(o, "220 s.test LMTP\r\n");
	owner_expect(o, "LHLO a.test");
	client_send(o, "250-s.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
	    "250-ENHANCEDSTATUSCODES\r\n250 SIZE 1000000\r\n");
	owner_expect(o, mail);
	client_send(o, "250 2.1.0 OK\r\n");
}

/* Our client's MAIL (mail) and RCPT to frank, which the scripted owner
 * sees with MAIL FROM as owner_mail: the owner, to answer the RCPT. */
static struct client *
owner_rcpt(struct fixture *f, struct client *c, const char *mail,
    const char *owner_mail)
{
	struct client *o;

	client_expect(c, mail, "250 ");
	client_send(c, "RCPT TO:<frank@example.org>\r\n");
	o = owner_accept(f);
	owner_start(o, owner_mail);
	owner_expect(o, "RCPT TO:<frank@example.org>");
	return o;
}

/* ---- tests ---- */

/* A recipient on b, through a: b stores it, dots unstuffed once, and
 * a's 250 is b's. */
static void
test_relay_one(void **state)
{
	static const struct exchange x[] = {
		{ "MAIL FROM:<s@example.net>\r\n", "250 2.1.0 " },
		{ "RCPT TO:<bob@example.org>\r\n",
		    "250 2.1.5 <bob@example.org> OK\r\n" },
		{ "DATA\r\n", "354 " },
		{ "Subject: hi\r\n\r\n..leading dot\r\nbody\r\n.\r\n",
		    "250 2.0.0 1 delivered to <bob@example.org>\r\n" },
		{ "QUIT\r\n", "221 " },
	};
	struct fixture *f = *state;
	struct client *c = connect_a(f);
	size_t len;
	char *msg;

	CLIENT_EXPECT_ALL(c, x);
	assert_int_equal(inbox_count(&f->b, "bob"), 1);
	assert_int_equal(inbox_count(&f->a, "bob"), 0);
	msg = inbox_message(&f->b, "bob", &len);
	assert_non_null(strstr(msg, "Delivered-To: bob@example.org\r\n"));
	assert_non_null(strstr(msg, "\r\n\r\n.leading dot\r\nbody\r\n"));
	assert_null(strstr(msg, ".."));
	free(msg);
	assert_int_equal(mb_stats.lmtp_relayed_delivered_total, 1);
	assert_int_equal(mb_stats.lmtp_relay_connections_total, 1);
	client_free(&c);
	wait_for(f, no_relay_connections);
}

/* Recipients here, on b, unknown, refused by b, of unknown location and
 * on a node that is down: each its own reply, in RCPT order. */
static void
test_relay_mixed(void **state)
{
	static const struct exchange x[] = {
		{ "MAIL FROM:<s@example.net> BODY=8BITMIME\r\n", "250 " },
		{ "RCPT TO:<alice@example.org>\r\n", "250 2.1.5 " },
		{ "RCPT TO:<bob@example.org>\r\n", "250 2.1.5 " },
		{ "RCPT TO:<nobody@example.org>\r\n", "550 5.1.1 " },
		{ "RCPT TO:<erin@example.org>\r\n",
		    "550 5.1.1 <erin@example.org> User unknown\r\n" },
		{ "RCPT TO:<carol@example.org>\r\n", "451 4.4.3 " },
		{ "RCPT TO:<dave@example.org>\r\n", "451 4.4.1 " },
		{ "RCPT TO:<bob@example.org>\r\n", "250 2.1.5 " },
		{ "DATA\r\n", "354 " },
	};
	struct fixture *f = *state;
	struct client *c = connect_a(f);
	const char *first, *bob, *rest;
	char *got;

	CLIENT_EXPECT_ALL(c, x);
	client_send(c, "Subject: mixed\r\n\r\nhello\r\n.\r\n");
	got = client_replies(c, 3);
	/* b numbers its two copies in the order it commits them. */
	first = "250 2.0.0 1 delivered to <alice@example.org>\r\n";
	bob = " delivered to <bob@example.org>\r\n";
	assert_true(strncmp(got, first, strlen(first)) == 0);
	rest = got + strlen(first);
	assert_int_equal(strlen(rest), 2 * (strlen("250 2.0.0 1") +
	    strlen(bob)));
	assert_true(strncmp(rest, "250 2.0.0 ", 10) == 0);
	assert_true(strncmp(rest + strlen(rest) / 2, "250 2.0.0 ", 10) == 0);
	assert_non_null(strstr(rest, bob));
	free(got);
	assert_int_equal(inbox_count(&f->a, "alice"), 1);
	assert_int_equal(inbox_count(&f->b, "bob"), 2);
	/* One connection to b for both of bob's RCPTs. */
	assert_int_equal(mb_stats.lmtp_relayed_delivered_total, 2);
	assert_int_equal(mb_stats.lmtp_relayed_rejected_total, 1);
	assert_int_equal(mb_stats.lmtp_relayed_unavailable_total, 1);
	assert_int_equal(mb_stats.lmtp_relayed_unreachable_total, 1);
	client_expect(c, "QUIT\r\n", "221 ");
	client_free(&c);
	wait_for(f, no_relay_connections);
}

/* An owner named by host name is reached too. */
static void
test_relay_by_name(void **state)
{
	static const struct exchange x[] = {
		{ "MAIL FROM:<s@example.net>\r\n", "250 " },
		{ "RCPT TO:<ben@example.org>\r\n", "250 2.1.5 " },
		{ "DATA\r\n", "354 " },
		{ "Subject: by name\r\n\r\nhi\r\n.\r\n",
		    "250 2.0.0 1 delivered to <ben@example.org>\r\n" },
	};
	struct fixture *f = *state;
	struct client *c = connect_a(f);

	CLIENT_EXPECT_ALL(c, x);
	assert_int_equal(inbox_count(&f->b, "ben"), 1);
	client_free(&c);
}

/* The owner's limit: SIZE goes on with MAIL FROM, and its refusal is
 * the RCPT's reply; a message over a's own limit never reaches b. */
static void
test_relay_size(void **state)
{
	static const struct exchange x[] = {
		{ "MAIL FROM:<s@example.net> SIZE=1500000\r\n", "250 " },
		{ "RCPT TO:<bob@example.org>\r\n", "552 5.3.4 " },
		{ "RCPT TO:<alice@example.org>\r\n", "250 " },
		{ "RSET\r\n", "250 " },
		{ "MAIL FROM:<s@example.net>\r\n", "250 " },
		{ "RCPT TO:<bob@example.org>\r\n", "250 " },
		{ "DATA\r\n", "354 " },
	};
	struct fixture *f = *state;
	struct client *c = connect_a(f);
	char *msg, *got;
	size_t len;

	CLIENT_EXPECT_ALL(c, x);
	/* Over a's 2M: refused by a, b sees its DATA cut short. */
	msg = big_message(2200 * 1024, &len);
	client_send_len(c, msg, len);
	free(msg);
	got = client_replies(c, 1);
	assert_string_equal(got, "552 5.3.4 <bob@example.org> Message too "
	    "big for system\r\n");
	free(got);
	wait_for(f, no_relay_connections);
	assert_int_equal(inbox_count(&f->b, "bob"), 0);
	client_free(&c);
}

/* A large message to a recipient here and one on b streams through
 * (spooled here, queued toward b within its high-water mark); both
 * copies are the same. Then one to b alone. */
static void
test_relay_large(void **state)
{
	static const struct exchange x[] = {
		{ "MAIL FROM:<s@example.net>\r\n", "250 " },
		{ "RCPT TO:<alice@example.org>\r\n", "250 " },
		{ "RCPT TO:<bob@example.org>\r\n", "250 " },
		{ "DATA\r\n", "354 " },
	};
	struct fixture *f = *state;
	struct client *c = connect_a(f);
	char *msg, *got, *a_copy, *b_copy;
	size_t len, a_len, b_len;

	CLIENT_EXPECT_ALL(c, x);
	msg = big_message(900 * 1024, &len);
	client_send_len(c, msg, len);
	got = client_replies(c, 2);
	assert_non_null(strstr(got, "250 2.0.0 1 delivered to <alice@"));
	assert_non_null(strstr(got, "250 2.0.0 1 delivered to <bob@"));
	free(got);
	a_copy = inbox_message(&f->a, "alice", &a_len);
	b_copy = inbox_message(&f->b, "bob", &b_len);
	/* The same but for the Delivered-To line. */
	assert_int_equal(a_len + strlen("bob") - strlen("alice"), b_len);
	assert_memory_equal(a_copy + a_len - 800 * 1024,
	    b_copy + b_len - 800 * 1024, 800 * 1024);
	free(a_copy);
	free(b_copy);

	CLIENT_EXPECT_ALL(c, ((const struct exchange[]){
		{ "MAIL FROM:<s@example.net>\r\n", "250 " },
		{ "RCPT TO:<bob@example.org>\r\n", "250 " },
		{ "DATA\r\n", "354 " },
	}));
	client_send_len(c, msg, len);
	client_expect(c, NULL, "250 2.0.0 2 delivered to <bob@");
	assert_int_equal(inbox_count(&f->b, "bob"), 2);
	assert_int_equal(inbox_count(&f->a, "bob"), 0);
	free(msg);
	client_free(&c);
}

/* The owner's replies pass through as given (452 at RCPT), and an owner
 * lost during DATA gives its recipients 451 4.4.2, not 250, while the
 * recipient here is delivered. */
static void
test_owner_lost_in_data(void **state)
{
	struct fixture *f = *state;
	struct client *c = connect_a(f), *o;
	char *got;

	o = owner_rcpt(f, c, "MAIL FROM:<s@example.net> BODY=8BITMIME\r\n",
	    "MAIL FROM:<s@example.net> BODY=8BITMIME");
	client_send(o, "452 4.2.2 Mailbox full\r\n");
	client_expect(c, NULL, "452 4.2.2 Mailbox full\r\n");
	client_send(c, "RCPT TO:<frank@example.org>\r\n");
	owner_expect(o, "RCPT TO:<frank@example.org>");
	client_send(o, "250 2.1.5 fine\r\n");
	client_expect(c, NULL, "250 2.1.5 fine\r\n");
	client_expect(c, "RCPT TO:<alice@example.org>\r\n", "250 ");
	client_expect(c, "DATA\r\n", "354 ");
	owner_expect(o, "DATA");
	client_send(o, "354 go on\r\n");
	client_send(c, "Subject: x\r\n\r\n..dot\r\n");
	owner_expect(o, "Subject: x");
	owner_expect(o, "");
	owner_expect(o, "..dot");
	client_free(&o);
	client_send(c, "end\r\n.\r\n");
	got = client_replies(c, 2);
	assert_string_equal(got, "451 4.4.2 <frank@example.org> Connection "
	    "to the node holding this mailbox lost, try again later\r\n"
	    "250 2.0.0 1 delivered to <alice@example.org>\r\n");
	free(got);
	assert_int_equal(mb_stats.lmtp_relayed_failed_total, 1);
	assert_int_equal(mb_stats.lmtp_relayed_delivered_total, 0);
	client_free(&c);
}

/* An owner's reply after the dot, per recipient, as it gave them; a
 * peer that speaks no LMTP, or one that closes, is a 451 4.4.1. */
static void
test_owner_replies(void **state)
{
	struct fixture *f = *state;
	struct client *c = connect_a(f), *o;
	char *got;

	o = owner_rcpt(f, c, "MAIL FROM:<> SIZE=20\r\n",
	    "MAIL FROM:<> SIZE=20");
	client_send(o, "250 2.1.5 ok\r\n");
	client_expect(c, NULL, "250 2.1.5 ok\r\n");
	client_send(c, "RCPT TO:<\"frank\"@example.org>\r\n");
	owner_expect(o, "RCPT TO:<\"frank\"@example.org>");
	client_send(o, "250 ok, no enhanced code\r\n");
	client_expect(c, NULL, "250 2.0.0 ok, no enhanced code\r\n");
	client_send(c, "DATA\r\n.\r\n");
	client_expect(c, NULL, "354 ");
	owner_expect(o, "DATA");
	client_send(o, "354 go\r\n");
	owner_expect(o, ".");
	/* Nothing is answered before the owner answers. */
	for (int i = 0; i < 50; i++)
		assert_false(client_pump(c));
	client_send(o, "250 2.0.0 stored\r\n550-5.7.1 multi\r\n"
	    "550 5.7.1 line\r\n");
	got = client_replies(c, 2);
	assert_string_equal(got, "250 2.0.0 stored\r\n550 5.7.1 multi\r\n");
	free(got);
	/* The transaction is over: QUIT, and the connection closes. */
	owner_expect(o, "QUIT");
	client_free(&o);

	client_expect(c, "MAIL FROM:<>\r\n", "250 ");
	client_send(c, "RCPT TO:<frank@example.org>\r\n");
	o = owner_accept(f);
	client_send(o, "HTTP/1.0 400 Bad request\r\n");
	client_expect(c, NULL, "451 4.4.1 <frank@example.org> ");
	client_free(&o);

	/* An owner that closes (421) is a 451 here, not a 421. */
	client_expect(c, "RSET\r\n", "250 ");
	o = owner_rcpt(f, c, "MAIL FROM:<>\r\n", "MAIL FROM:<>");
	client_send(o, "421 4.3.2 s.test Service shutting down\r\n");
	client_expect(c, NULL, "451 4.4.1 <frank@example.org> ");
	client_free(&o);
	client_free(&c);
	wait_for(f, no_relay_connections);
}

/* Whether a's one session has stopped reading for an owner. */
static bool
a_relay_blocked(struct fixture *f)
{
	struct service_link *l = f->a.server->service.sessions;

	return l != NULL && LMTP_SESSION(l)->relay_blocked;
}

/* An owner that reads slowly: a's session stops reading the client once
 * LMTP_RELAY_HIGH_WATER bytes wait for the owner, and goes on when they
 * drain; the message arrives whole. */
static void
test_owner_slow(void **state)
{
	struct fixture *f = *state;
	struct client *c = connect_a(f), *o;
	char *msg, tail[6] = "", scratch[64 * 1024];
	size_t len, sent = 0, got = 0;
	time_t deadline = time(NULL) + 60;
	ssize_t n;

	o = owner_rcpt(f, c, "MAIL FROM:<s@example.net>\r\n",
	    "MAIL FROM:<s@example.net>");
	client_send(o, "250 2.1.5 ok\r\n");
	client_expect(c, NULL, "250 2.1.5 ok");
	client_expect(c, "DATA\r\n", "354 ");
	owner_expect(o, "DATA");
	client_send(o, "354 go\r\n");
	/* Beyond what the kernel buffers between a and the owner. */
	msg = big_message(12 * 1024 * 1024, &len);

	/* The owner reads nothing until a stops reading the client. */
	while (!a_relay_blocked(f)) {
		if (sent < len && (n = send(c->fd, msg + sent, len - sent,
		    MSG_NOSIGNAL)) > 0)
			sent += (size_t)n;
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		assert_true(time(NULL) < deadline);
	}
	/* Then it reads it all, to the dot. */
	while (strcmp(tail, "\r\n.\r\n") != 0) {
		if (sent < len && (n = send(c->fd, msg + sent, len - sent,
		    MSG_NOSIGNAL)) > 0)
			sent += (size_t)n;
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		if ((n = recv(o->fd, scratch, sizeof(scratch), 0)) > 0) {
			got += (size_t)n;
			if (n >= 5)
				memcpy(tail, scratch + n - 5, 5);
			else {
				memmove(tail, tail + n, 5 - (size_t)n);
				memcpy(tail + 5 - n, scratch, (size_t)n);
			}
		}
		assert_true(time(NULL) < deadline);
	}
	assert_int_equal(sent, len);
	/* Stuffed again as it was: the same bytes. */
	assert_int_equal(got, len);
	client_send(o, "250 2.0.0 stored\r\n");
	client_expect(c, NULL, "250 2.0.0 stored\r\n");
	free(msg);
	client_free(&o);
	client_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_relay_one, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_relay_mixed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_relay_by_name, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_relay_size, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_relay_large, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_owner_lost_in_data,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_owner_replies, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_owner_slow, setup_large,
		    teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
