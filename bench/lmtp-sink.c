/*
 * lmtp-sink: a trivial LMTP server that accepts and discards everything,
 * to check that lmtp-blast itself is not the bottleneck of a benchmark.
 * One thread per connection; prints its port on stdout; exits after -t
 * seconds (default 60) so it can never be left running.
 *
 *   lmtp-sink [-p PORT] [-t SECONDS]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int reply(int fd, const char *s)
{
	size_t n = strlen(s);

	return send(fd, s, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

static void *serve(void *arg)
{
	int fd = (int)(long)arg;
	char buf[65536], line[1024];
	size_t ln = 0;
	int in_data = 0, rcpts = 0, one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (reply(fd, "220 lmtp-sink LMTP ready\r\n") < 0)
		goto out;
	for (;;) {
		ssize_t r = recv(fd, buf, sizeof(buf), 0);

		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r; i++) {
			char ch = buf[i];

			if (ln + 1 < sizeof(line))
				line[ln++] = ch;
			if (ch != '\n')
				continue;
			line[ln] = '\0';
			ln = 0;
			if (in_data) {
				if (strcmp(line, ".\r\n") == 0) {
					in_data = 0;
					for (; rcpts > 0; rcpts--)
						if (reply(fd, "250 2.0.0 ok\r\n") < 0)
							goto out;
				}
				continue;
			}
			if (strncasecmp(line, "LHLO", 4) == 0) {
				if (reply(fd, "250-lmtp-sink\r\n250-PIPELINING\r\n"
				    "250 8BITMIME\r\n") < 0)
					goto out;
			} else if (strncasecmp(line, "RCPT", 4) == 0) {
				rcpts++;
				if (reply(fd, "250 2.1.5 ok\r\n") < 0)
					goto out;
			} else if (strncasecmp(line, "DATA", 4) == 0) {
				in_data = 1;
				if (reply(fd, "354 go ahead\r\n") < 0)
					goto out;
			} else if (strncasecmp(line, "QUIT", 4) == 0) {
				reply(fd, "221 bye\r\n");
				goto out;
			} else {
				if (strncasecmp(line, "RSET", 4) == 0)
					rcpts = 0;
				if (reply(fd, "250 ok\r\n") < 0)
					goto out;
			}
		}
	}
out:
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int port = 0, secs = 60, ch, one = 1, lfd;

	while ((ch = getopt(argc, argv, "p:t:")) != -1) {
		if (ch == 'p')
			port = atoi(optarg);
		else if (ch == 't')
			secs = atoi(optarg);
		else
			return 2;
	}
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(lfd, 128) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &sl) < 0) {
		perror("lmtp-sink");
		return 1;
	}
	printf("%d\n", ntohs(sin.sin_port));
	fflush(stdout);
	alarm((unsigned)secs);	/* default action: terminate */
	for (;;) {
		pthread_t t;
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;
		if (pthread_create(&t, NULL, serve, (void *)(long)fd) != 0) {
			close(fd);
			continue;
		}
		pthread_detach(t);
	}
}
