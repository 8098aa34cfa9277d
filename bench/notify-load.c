/*
 * notify-load: many mailbell notification clients in one process, for
 * bench/notify-latency, notify-memory and notify-rate (loopback only).
 *
 * Client mode (the default): reads registrations made over IMAP with
 * XBELL REGISTER from a file, one a line:
 *     ID_HEX KEY_BASE64 EPOCH PORT KEEPALIVE
 * spreads them over -s UDP sockets (registration i on socket i mod s),
 * and verifies each from its socket: HELLO, CHALLENGE, VERIFY, STATUS
 * (doc/notify-protocol.md), at most -w handshakes in flight, each HELLO
 * resent after 1 s up to 4 times. Then it prints
 *     ready verified=N failed=F seconds=T
 * and serves: every EVENT is opened and acknowledged, KEEPALIVE goes out
 * every KEEPALIVE seconds per registration (spread evenly), and arrival
 * times are counted. Datagrams are read as they arrive (recvmmsg) and
 * stamped with CLOCK_MONOTONIC; the work on them (opening, ACK) waits
 * until the sockets have been quiet for 10 ms (or 100 ms have passed),
 * so a burst is read as fast as the kernel hands it over.
 *
 * Commands on standard input, one a line (answers on standard output):
 *     mark     zero the counters            -> marked
 *     report   the counters since the mark  -> report events=.. ...
 *     quit     end (so does end of input or -t seconds)
 * Counters: events (registrations that got an EVENT since the mark,
 * told from the clear header as it arrives, with the first and last
 * arrival in ns of CLOCK_MONOTONIC; dups counts further EVENTs, such as
 * retransmissions), blast (datagrams of notify-load -B, likewise),
 * other datagrams, events opened, acks and keepalives sent, bad
 * datagrams, and drops (the sockets' SO_RXQ_OVFL counters).
 * With -P FILE the sockets' ports are written to FILE, one a line.
 *
 * Blaster mode (-B PORTFILE): one socket sends -n datagrams of -z bytes
 * (first byte 0xbb) with one sendto(2) each, round-robin to the ports in
 * PORTFILE on 127.0.0.1, as fast as it can; prints
 *     blast sent=N errors=E seconds=T rate=R
 *
 * Every loop is bounded by -t seconds (default 600).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#define HDR 24
#define TAG 16
#define PAD_MIN 128
#define T_HELLO 1
#define T_CHALLENGE 2
#define T_VERIFY 3
#define T_STATUS 4
#define T_KEEPALIVE 5
#define T_ACK 6
#define T_EVENT 7
#define BATCH 64
#define SLOT 256		/* bytes kept of a queued datagram */
#define QUEUE_MAX (1 << 19)	/* datagrams queued for later work */
#define HELLO_TRIES 5
#define MAX_SOCKS 65536
#define MAX_REGS 2000000

enum { ST_NEW, ST_HELLO, ST_VERIFY, ST_DONE, ST_FAILED };

struct reg {
	uint64_t id;
	uint32_t epoch;
	uint32_t sock;
	uint64_t pn;			/* next c2s packet number */
	uint64_t ack;			/* contiguous events received */
	int64_t sent_ns;		/* last HELLO/VERIFY, or next keepalive */
	unsigned char key[32];		/* both directions' */
	unsigned char nonce[8];
	uint32_t gen;			/* mark generation of its last EVENT */
	uint8_t state, tries;
};

struct qitem {
	uint32_t sock;
	uint16_t len;
	unsigned char data[SLOT];
};

static struct reg *regs;
static size_t nregs;
static uint32_t *table;		/* open addressing: index + 1, 0 empty */
static size_t tmask;
static int *socks;
static uint32_t *sock_drops;
static size_t nsocks;
static struct sockaddr_in server;
static EVP_CIPHER *aead;
static EVP_CIPHER_CTX *actx;
static struct qitem *queue;
static size_t qlen;
static unsigned keepalive = 25;

static uint32_t gen = 1;

static struct {
	uint64_t events, dups, blast, other, opened, acks, keepalives, bad;
	int64_t ev_first, ev_last, bl_first, bl_last;
} c;

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
put64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static uint64_t
get64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* key = HKDF-Expand(PRK, "mailbell v1 key" || epoch, 32): one HMAC
 * block. */
static void
derive(struct reg *r, const unsigned char *secret)
{
	static const char salt[] = "mailbell notify v1";
	static const char label[] = "mailbell v1 key";
	unsigned char prk[32], info[sizeof(label) - 1 + 5];
	unsigned len = 0;

	HMAC(EVP_sha256(), salt, sizeof(salt) - 1, secret, 32, prk, &len);
	memcpy(info, label, sizeof(label) - 1);
	put32(info + sizeof(label) - 1, r->epoch);
	info[sizeof(info) - 1] = 1;
	HMAC(EVP_sha256(), prk, 32, info, sizeof(info), r->key, &len);
}

/* direction (0 c2s, 1 s2c), 3 zero bytes, the packet number. */
static void
mknonce(int s2c, uint64_t pn, unsigned char *nonce)
{
	memset(nonce, 0, 4);
	nonce[0] = (unsigned char)s2c;
	put64(nonce + 4, pn);
}

/* Seal and send a c2s datagram of type t with payload (padded to pad). */
static int
send_dgram(struct reg *r, int t, const unsigned char *pl, size_t len,
    size_t pad)
{
	unsigned char out[1200], pt[1200], nonce[12];
	size_t total = HDR + len + TAG, plen = len;
	int l1 = 0, l2 = 0;

	if (total < pad)
		total = pad;
	len = total - HDR - TAG;
	memset(pt, 0, len);
	memcpy(pt, pl, plen);
	out[0] = 1;
	out[1] = (unsigned char)t;
	out[2] = out[3] = 0;
	put64(out + 4, r->id);
	put32(out + 12, r->epoch);
	put64(out + 16, r->pn);
	mknonce(0, r->pn, nonce);
	r->pn++;
	if (EVP_EncryptInit_ex2(actx, aead, r->key, nonce, NULL) != 1 ||
	    EVP_EncryptUpdate(actx, NULL, &l1, out, HDR) != 1 ||
	    EVP_EncryptUpdate(actx, out + HDR, &l1, pt, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(actx, out + HDR + l1, &l2) != 1 ||
	    EVP_CIPHER_CTX_ctrl(actx, EVP_CTRL_AEAD_GET_TAG, TAG,
	    out + HDR + len) != 1)
		return -1;
	return sendto(socks[r->sock], out, total, MSG_DONTWAIT,
	    (struct sockaddr *)&server, sizeof(server)) < 0 ? -1 : 0;
}

/* Open an s2c datagram for r; payload length or -1. */
static int
open_dgram(struct reg *r, const unsigned char *d, size_t len,
    unsigned char *pl)
{
	unsigned char nonce[12];
	int l1 = 0, l2 = 0;
	size_t ctlen;

	if (len < HDR + TAG)
		return -1;
	ctlen = len - HDR - TAG;
	mknonce(1, get64(d + 16), nonce);
	if (EVP_DecryptInit_ex2(actx, aead, r->key, nonce, NULL) != 1 ||
	    EVP_DecryptUpdate(actx, NULL, &l1, d, HDR) != 1 ||
	    EVP_DecryptUpdate(actx, pl, &l1, d + HDR, (int)ctlen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(actx, EVP_CTRL_AEAD_SET_TAG, TAG,
	    (void *)(d + len - TAG)) != 1 ||
	    EVP_DecryptFinal_ex(actx, pl + l1, &l2) != 1)
		return -1;
	return (int)ctlen;
}

static struct reg *
lookup(uint64_t id)
{
	size_t i = (size_t)(id * 0x9e3779b97f4a7c15ULL >> 20) & tmask;

	for (size_t n = 0; n <= tmask; n++, i = (i + 1) & tmask) {
		if (table[i] == 0)
			return NULL;
		if (regs[table[i] - 1].id == id)
			return &regs[table[i] - 1];
	}
	return NULL;
}

static void
insert(size_t idx)
{
	uint64_t id = regs[idx].id;
	size_t i = (size_t)(id * 0x9e3779b97f4a7c15ULL >> 20) & tmask;

	while (table[i] != 0)
		i = (i + 1) & tmask;
	table[i] = (uint32_t)idx + 1;
}

static int
read_regs(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512], idh[32], key[128];
	unsigned long ep, port, ka;
	size_t cap = 1024;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	regs = calloc(cap, sizeof(*regs));
	while (fgets(line, sizeof(line), f) != NULL && nregs < MAX_REGS) {
		unsigned char sec[48];
		struct reg *r;

		if (sscanf(line, "%31s %127s %lu %lu %lu", idh, key, &ep, &port,
		    &ka) != 5)
			continue;
		if (nregs == cap) {
			cap *= 2;
			regs = realloc(regs, cap * sizeof(*regs));
			if (regs == NULL)
				return -1;
		}
		r = &regs[nregs];
		memset(r, 0, sizeof(*r));
		r->id = strtoull(idh, NULL, 16);
		r->epoch = (uint32_t)ep;
		if (EVP_DecodeBlock(sec, (const unsigned char *)key,
		    (int)strlen(key)) < 32) {
			fprintf(stderr, "notify-load: bad key: %s", line);
			continue;
		}
		derive(r, sec);
		server.sin_family = AF_INET;
		server.sin_port = htons((uint16_t)port);
		server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		keepalive = (unsigned)ka;
		nregs++;
	}
	fclose(f);
	return 0;
}

static int
open_socks(size_t n, int rcvbuf, const char *portfile)
{
	FILE *pf = NULL;

	socks = calloc(n, sizeof(int));
	sock_drops = calloc(n, sizeof(uint32_t));
	if (portfile != NULL && (pf = fopen(portfile, "w")) == NULL) {
		perror(portfile);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		struct sockaddr_in sin;
		socklen_t sl = sizeof(sin);
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		int one = 1;

		if (fd < 0) {
			perror("socket");
			return -1;
		}
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
		    sizeof(rcvbuf)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
			    sizeof(rcvbuf));
		setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
		    getsockname(fd, (struct sockaddr *)&sin, &sl) < 0) {
			perror("bind");
			return -1;
		}
		socks[i] = fd;
		if (pf != NULL)
			fprintf(pf, "%u\n", ntohs(sin.sin_port));
	}
	nsocks = n;
	if (pf != NULL)
		fclose(pf);
	return 0;
}

static int inflight;
static size_t verified, failed;

static void
send_hello(struct reg *r, int64_t now)
{
	unsigned char pl[8];

	put64(pl, rnd());
	memcpy(r->nonce, pl, 8);
	r->state = ST_HELLO;
	r->tries++;
	r->sent_ns = now;
	send_dgram(r, T_HELLO, pl, 8, PAD_MIN);
}

/* Handle one datagram on socket s; in serving mode EVENTs are queued. */
static void
handle(uint32_t s, const unsigned char *d, size_t len, int64_t t)
{
	unsigned char pl[1200];
	struct reg *r;
	int n;

	if (len >= 1 && d[0] == 0xbb) {
		if (c.blast++ == 0)
			c.bl_first = t;
		c.bl_last = t;
		return;
	}
	if (len < HDR + TAG || d[0] != 1) {
		c.other++;
		return;
	}
	if (d[1] == T_EVENT) {
		/* the first EVENT of each registration since the mark */
		r = lookup(get64(d + 4));
		if (r != NULL && r->gen != gen) {
			r->gen = gen;
			if (c.events++ == 0)
				c.ev_first = t;
			c.ev_last = t;
		} else {
			c.dups++;
		}
		if (qlen < QUEUE_MAX) {
			queue[qlen].sock = s;
			queue[qlen].len = (uint16_t)(len < SLOT ? len : SLOT);
			memcpy(queue[qlen].data, d, queue[qlen].len);
			qlen++;
		}
		return;
	}
	c.other++;
	if ((r = lookup(get64(d + 4))) == NULL || get32(d + 12) != r->epoch ||
	    (n = open_dgram(r, d, len, pl)) < 0) {
		c.bad++;
		return;
	}
	if (d[1] == T_CHALLENGE && n >= 24 && r->state == ST_HELLO &&
	    memcmp(pl, r->nonce, 8) == 0) {
		r->state = ST_VERIFY;
		r->sent_ns = t;
		send_dgram(r, T_VERIFY, pl + 8, 16, PAD_MIN);
	} else if (d[1] == T_STATUS && n >= 16 && ((pl[2] << 8 | pl[3]) & 1) &&
	    r->state == ST_VERIFY) {
		r->state = ST_DONE;
		/* the first keepalive somewhere in the next interval */
		r->sent_ns = t + (int64_t)(rnd() % ((uint64_t)keepalive *
		    1000000000ULL + 1));
		verified++;
		inflight--;
	}
}

/* Open and acknowledge the queued EVENTs. */
static void
work_queue(void)
{
	unsigned char pl[1200], ackp[8];

	for (size_t i = 0; i < qlen; i++) {
		struct qitem *q = &queue[i];
		struct reg *r = lookup(get64(q->data + 4));
		int n;

		if (r == NULL || get32(q->data + 12) != r->epoch ||
		    (n = open_dgram(r, q->data, q->len, pl)) < 40) {
			c.bad++;
			continue;
		}
		c.opened++;
		if (get64(pl) == r->ack + 1)
			r->ack++;
		put64(ackp, r->ack);
		if (send_dgram(r, T_ACK, ackp, 8, 0) == 0)
			c.acks++;
	}
	qlen = 0;
}

static size_t ka_cursor;

/* Keepalives due; at most a bounded slice of the registrations a call. */
static void
work_keepalives(int64_t now)
{
	unsigned char pl[8];
	size_t budget = nregs < 20000 ? nregs : 20000;

	for (size_t k = 0; k < budget && nregs > 0; k++) {
		struct reg *r = &regs[ka_cursor];

		ka_cursor = (ka_cursor + 1) % nregs;
		if (r->state != ST_DONE || r->sent_ns > now)
			continue;
		put64(pl, r->ack);
		if (send_dgram(r, T_KEEPALIVE, pl, 8, PAD_MIN) == 0)
			c.keepalives++;
		r->sent_ns = now + (int64_t)keepalive * 1000000000LL -
		    (int64_t)(rnd() % ((uint64_t)keepalive * 100000000ULL + 1));
	}
}

static struct mmsghdr mm[BATCH];
static struct iovec iov[BATCH];
static unsigned char bufs[BATCH][1280];
static unsigned char ctrl[BATCH][64];

/* Read what socket s holds (a bounded number of batches). */
static void
drain(uint32_t s)
{
	for (int round = 0; round < 64; round++) {
		int n;
		int64_t t;

		for (int i = 0; i < BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = sizeof(bufs[i]);
			memset(&mm[i].msg_hdr, 0, sizeof(mm[i].msg_hdr));
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
			mm[i].msg_hdr.msg_control = ctrl[i];
			mm[i].msg_hdr.msg_controllen = sizeof(ctrl[i]);
		}
		n = recvmmsg(socks[s], mm, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		t = now_ns();
		for (int i = 0; i < n; i++) {
			struct cmsghdr *cm;

			for (cm = CMSG_FIRSTHDR(&mm[i].msg_hdr); cm != NULL;
			    cm = CMSG_NXTHDR(&mm[i].msg_hdr, cm))
				if (cm->cmsg_level == SOL_SOCKET &&
				    cm->cmsg_type == SO_RXQ_OVFL)
					memcpy(&sock_drops[s], CMSG_DATA(cm),
					    sizeof(uint32_t));
			handle(s, bufs[i], mm[i].msg_len, t);
		}
		if (n < BATCH)
			return;
	}
}

static uint64_t
drops(void)
{
	uint64_t d = 0;

	for (size_t i = 0; i < nsocks; i++)
		d += sock_drops[i];
	return d;
}

static void
report(void)
{
	printf("report events=%llu dups=%llu ev_first=%lld ev_last=%lld "
	    "blast=%llu bl_first=%lld bl_last=%lld other=%llu opened=%llu "
	    "acks=%llu keepalives=%llu bad=%llu drops=%llu\n",
	    (unsigned long long)c.events, (unsigned long long)c.dups,
	    (long long)c.ev_first,
	    (long long)c.ev_last, (unsigned long long)c.blast,
	    (long long)c.bl_first, (long long)c.bl_last,
	    (unsigned long long)c.other, (unsigned long long)c.opened,
	    (unsigned long long)c.acks, (unsigned long long)c.keepalives,
	    (unsigned long long)c.bad, (unsigned long long)drops());
	fflush(stdout);
}

/* Standard input: 1 to go on, 0 to end. */
static int
command(void)
{
	static char buf[4096];
	static size_t have;
	ssize_t n = read(0, buf + have, sizeof(buf) - 1 - have);
	char *nl;

	if (n <= 0)
		return 0;
	have += (size_t)n;
	buf[have] = '\0';
	while ((nl = strchr(buf, '\n')) != NULL) {
		*nl = '\0';
		if (strcmp(buf, "mark") == 0) {
			memset(&c, 0, sizeof(c));
			gen++;
			printf("marked\n");
			fflush(stdout);
		} else if (strcmp(buf, "report") == 0) {
			report();
		} else if (strcmp(buf, "quit") == 0) {
			return 0;
		}
		have -= (size_t)(nl + 1 - buf);
		memmove(buf, nl + 1, have + 1);
	}
	if (have >= sizeof(buf) - 1)
		have = 0;
	return 1;
}

static int
client(const char *file, size_t nsock, int window, double seconds,
    int rcvbuf, const char *portfile)
{
	int64_t start = now_ns(), limit = start + (int64_t)(seconds * 1e9);
	int64_t last_work = start, last_scan = start;
	struct epoll_event ev, evs[256];
	struct rlimit rl;
	size_t next = 0;
	int ep;

	if (read_regs(file) < 0)
		return 1;
	if (nsock == 0)
		nsock = nregs < 1024 ? (nregs ? nregs : 1) : 1024;
	if (nsock > MAX_SOCKS)
		nsock = MAX_SOCKS;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < nsock + 64) {
		rl.rlim_cur = nsock + 64;
		if (rl.rlim_max < rl.rlim_cur)
			rl.rlim_max = rl.rlim_cur;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (tmask = 1; tmask < 2 * nregs + 2; tmask <<= 1)
		;
	table = calloc(tmask, sizeof(*table));
	tmask--;
	queue = malloc(QUEUE_MAX * sizeof(*queue));
	if (table == NULL || queue == NULL || open_socks(nsock, rcvbuf,
	    portfile) < 0)
		return 1;
	for (size_t i = 0; i < nregs; i++) {
		regs[i].sock = (uint32_t)(i % nsock);
		insert(i);
	}
	ep = epoll_create1(0);
	for (size_t i = 0; i < nsock; i++) {
		ev.events = EPOLLIN;
		ev.data.u32 = (uint32_t)i;
		epoll_ctl(ep, EPOLL_CTL_ADD, socks[i], &ev);
	}
	ev.events = EPOLLIN;
	ev.data.u32 = UINT32_MAX;
	epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);

	/* Handshakes. */
	while (verified + failed < nregs) {
		int64_t now = now_ns();
		int n;

		if (now > limit) {
			fprintf(stderr, "notify-load: time limit during "
			    "handshakes\n");
			break;
		}
		while (inflight < window && next < nregs) {
			send_hello(&regs[next++], now);
			inflight++;
		}
		if (now - last_scan > 200000000) {
			last_scan = now;
			for (size_t i = 0; i < next; i++) {
				struct reg *r = &regs[i];

				if ((r->state != ST_HELLO &&
				    r->state != ST_VERIFY) ||
				    now - r->sent_ns < 1000000000)
					continue;
				if (r->tries >= HELLO_TRIES) {
					r->state = ST_FAILED;
					failed++;
					inflight--;
				} else {
					send_hello(r, now);
				}
			}
		}
		n = epoll_wait(ep, evs, 256, 20);
		for (int i = 0; i < n; i++)
			if (evs[i].data.u32 != UINT32_MAX)
				drain(evs[i].data.u32);
	}
	qlen = 0;
	printf("ready verified=%zu failed=%zu sockets=%zu seconds=%.2f\n",
	    verified, failed, nsock, (double)(now_ns() - start) / 1e9);
	fflush(stdout);
	memset(&c, 0, sizeof(c));

	/* Serving. */
	for (;;) {
		int64_t now;
		int n = epoll_wait(ep, evs, 256, 10);

		now = now_ns();
		if (now > limit)
			break;
		for (int i = 0; i < n; i++) {
			if (evs[i].data.u32 == UINT32_MAX) {
				if (!command())
					goto out;
			} else {
				drain(evs[i].data.u32);
			}
		}
		if (n == 0 || qlen >= QUEUE_MAX || now - last_work > 100000000) {
			work_queue();
			work_keepalives(now);
			last_work = now;
		}
	}
out:
	work_queue();
	return 0;
}

static int
blaster(const char *portfile, long count, size_t size, double seconds)
{
	FILE *f = fopen(portfile, "r");
	unsigned short *ports = NULL;
	size_t np = 0, cap = 0;
	unsigned port;
	unsigned char buf[1200];
	struct sockaddr_in to;
	long sent = 0, errs = 0;
	int64_t t0, t1, limit;
	int fd;

	if (f == NULL) {
		perror(portfile);
		return 1;
	}
	while (fscanf(f, "%u", &port) == 1) {
		if (np == cap) {
			cap = cap ? cap * 2 : 1024;
			ports = realloc(ports, cap * sizeof(*ports));
		}
		ports[np++] = (unsigned short)port;
	}
	fclose(f);
	if (np == 0 || size < 1 || size > sizeof(buf))
		return 1;
	memset(buf, 0x5a, sizeof(buf));
	buf[0] = 0xbb;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	t0 = now_ns();
	limit = t0 + (int64_t)(seconds * 1e9);
	for (long i = 0; i < count; i++) {
		to.sin_port = htons(ports[(size_t)i % np]);
		if (sendto(fd, buf, size, 0, (struct sockaddr *)&to,
		    sizeof(to)) < 0)
			errs++;
		else
			sent++;
		if ((i & 1023) == 0 && now_ns() > limit)
			break;
	}
	t1 = now_ns();
	printf("blast sent=%ld errors=%ld seconds=%.6f rate=%.0f\n", sent,
	    errs, (double)(t1 - t0) / 1e9,
	    sent / ((double)(t1 - t0) / 1e9));
	close(fd);
	free(ports);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: notify-load [-s sockets] [-w window] [-t seconds] "
	    "[-b rcvbuf] [-P portfile] REGFILE\n"
	    "       notify-load -B PORTFILE [-n count] [-z size] "
	    "[-t seconds]\n"
	    "REGFILE: one registration a line: ID_HEX KEY_BASE64 EPOCH PORT "
	    "KEEPALIVE\n");
}

int
main(int argc, char **argv)
{
	const char *blast = NULL, *portfile = NULL;
	size_t nsock = 0, size = 128;
	int window = 2000, rcvbuf = 1 << 20, opt;
	long count = 100000;
	double seconds = 600;

	while ((opt = getopt(argc, argv, "s:w:t:b:P:B:n:z:h")) != -1) {
		switch (opt) {
		case 's': nsock = strtoul(optarg, NULL, 10); break;
		case 'w': window = atoi(optarg); break;
		case 't': seconds = atof(optarg); break;
		case 'b': rcvbuf = atoi(optarg); break;
		case 'P': portfile = optarg; break;
		case 'B': blast = optarg; break;
		case 'n': count = atol(optarg); break;
		case 'z': size = strtoul(optarg, NULL, 10); break;
		default: usage(); return opt == 'h' ? 0 : 2;
		}
	}
	if (seconds <= 0 || seconds > 3600 || window < 1)
		seconds = 600;
	if (blast != NULL)
		return blaster(blast, count, size, seconds);
	if (optind + 1 != argc) {
		usage();
		return 2;
	}
	aead = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
	actx = EVP_CIPHER_CTX_new();
	if (aead == NULL || actx == NULL) {
		fprintf(stderr, "notify-load: no ChaCha20-Poly1305\n");
		return 1;
	}
	return client(argv[optind], nsock, window, seconds, rcvbuf, portfile);
}
