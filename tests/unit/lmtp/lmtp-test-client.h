/*
 * A test client of an LMTP server on loopback (lmtp-test-client.c),
 * shared by the unit tests of src/lmtp. Every wait turns the server's
 * event loop (in the same thread) and fails the test after WAIT_SECS.
 */
#ifndef MB_TESTS_LMTP_TEST_CLIENT_H
#define MB_TESTS_LMTP_TEST_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;

/* Seconds a test waits for a reply before failing. */
#define WAIT_SECS 10

struct client {
	int fd;
	struct event_base *base;	/* the server's loop, turned to wait */
	char buf[256 * 1024];		/* what arrived, not yet taken */
	size_t len;
	bool eof;
};

/* One line sent and the start of its reply. */
struct exchange {
	const char *send;	/* NULL: send nothing, read the next reply */
	const char *want;
};

/* Connect to 127.0.0.1:port, from source (an address of 127/8) if not
 * NULL. */
struct client *client_connect_from(struct event_base *base, uint16_t port,
    const char *source);
struct client *client_connect(struct event_base *base, uint16_t port);
void client_free(struct client **cp);
/* Read what is there; false if nothing came. */
bool client_pump(struct client *c);
/* Send all of data, reading meanwhile. */
void client_send_len(struct client *c, const void *data, size_t len);
void client_send(struct client *c, const char *s);
/* Wait for n more final replies and return the lines received as one
 * string the caller frees; the client's buffer is emptied of them. */
char *client_replies(struct client *c, size_t n);
/* Send a command (NULL: none) and check its one reply starts with
 * want. */
void client_expect(struct client *c, const char *send, const char *want);
/* Wait until the server closes the connection. */
void client_wait_eof(struct client *c);
/* A dialogue: each line sent and its one reply checked in turn. */
void client_expect_all(struct client *c, const struct exchange *x,
    size_t n);
#define CLIENT_EXPECT_ALL(c, x) \
	client_expect_all(c, x, sizeof(x) / sizeof(x[0]))

#endif
