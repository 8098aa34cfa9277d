/*
 * A test client of an LMTP server on loopback for the unit tests of
 * src/lmtp: a non-blocking socket driven in the same thread as the
 * server's event loop, which each wait turns.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "lib/xmalloc.h"
#include "lmtp-test-client.h"

struct client *
client_connect_from(struct event_base *base, uint16_t port,
    const char *source)
{
	struct client *c = xcalloc(1, sizeof(*c));
	struct sockaddr_in sin;

	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(c->fd >= 0);
	memset(&sin, 0, sizeof(sin));
	if (source != NULL) {
		/* Any 127.0.0.N is a client address of its own. */
		sin.sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, source, &sin.sin_addr), 1);
		assert_int_equal(bind(c->fd, (struct sockaddr *)&sin,
		    sizeof(sin)), 0);
		memset(&sin, 0, sizeof(sin));
	}
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	assert_int_equal(fcntl(c->fd, F_SETFL, O_NONBLOCK), 0);
	c->base = base;
	return c;
}

struct client *
client_connect(struct event_base *base, uint16_t port)
{
	return client_connect_from(base, port, NULL);
}

void
client_free(struct client **cp)
{
	if (*cp == NULL)
		return;
	close((*cp)->fd);
	free(*cp);
	*cp = NULL;
}

/* Read what is there; false if nothing came. */
bool
client_pump(struct client *c)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	ssize_t n;

	event_base_loop(c->base, EVLOOP_NONBLOCK);
	if (c->len + 1 >= sizeof(c->buf))
		fail_msg("client buffer full");
	if (poll(&pfd, 1, 2) <= 0)
		return false;
	n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, 0);
	if (n == 0 || (n < 0 && errno == ECONNRESET)) {
		c->eof = true;
		return false;
	}
	if (n < 0)
		return false;
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	return true;
}

void
client_send_len(struct client *c, const void *data,
    size_t len)
{
	const char *p = data;
	time_t deadline = time(NULL) + WAIT_SECS;

	/* The server may stop reading until we read: keep both going. */
	while (len > 0) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);

		if (n < 0) {
			assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
			n = 0;
		}
		p += n;
		len -= (size_t)n;
		if (len > 0) {
			client_pump(c);
			assert_true(time(NULL) < deadline);
		}
	}
}

void
client_send(struct client *c, const char *s)
{
	client_send_len(c, s, strlen(s));
}

/* Number of complete final reply lines ("ddd " ... CR LF) received. */
static size_t
final_replies(const struct client *c)
{
	size_t count = 0;
	const char *line = c->buf, *nl;

	while ((nl = strstr(line, "\r\n")) != NULL) {
		if (nl - line >= 4 && line[3] == ' ')
			count++;
		line = nl + 2;
	}
	return count;
}

/*
 * Wait for n more final replies and return them (the lines received,
 * multi-line replies included) as one string the caller frees; the
 * client's buffer is emptied of them.
 */
char *
client_replies(struct client *c, size_t n)
{
	time_t deadline = time(NULL) + WAIT_SECS;
	char *out;

	while (final_replies(c) < n) {
		if (!client_pump(c) && c->eof)
			fail_msg("connection closed; got \"%s\"", c->buf);
		if (time(NULL) >= deadline)
			fail_msg("timed out; got \"%s\"", c->buf);
	}
	assert_int_equal(final_replies(c), n);
	out = xstrdup(c->buf);
	c->len = 0;
	c->buf[0] = '\0';
	return out;
}

/* Send a command and check that its one reply starts with want. */
void
client_expect(struct client *c, const char *send, const char *want)
{
	char *got;

	if (send != NULL)
		client_send(c, send);
	got = client_replies(c, 1);
	if (strncmp(got, want, strlen(want)) != 0)
		fail_msg("after \"%s\": want \"%s\", got \"%s\"",
		    send != NULL ? send : "(connect)", want, got);
	free(got);
}

/* Wait until the server closes the connection. */
void
client_wait_eof(struct client *c)
{
	time_t deadline = time(NULL) + WAIT_SECS;

	while (!c->eof) {
		client_pump(c);
		assert_true(time(NULL) < deadline);
	}
}

/* A dialogue: each line sent and its one reply checked in turn. */
void
client_expect_all(struct client *c, const struct exchange *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		client_expect(c, x[i].send, x[i].want);
}
