/*
 * The client end of the notification datagrams: registration parsing,
 * one connected UDP socket, sealing what we send and the receive checks
 * of section 4.1 for what comes back, in that order.
 */
#include "client/watch-udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/base64.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/strnum.h"

/* "what: strerror(errno)" */
static const char *
udp_err(const char *what)
{
	return error_fmt("%s: %s", what, strerror(errno));
}

/* ---- The registration ---- */

/* RFC 4648 section 4 base64 of exactly out_len bytes. */
static int
unbase64(const char *s, size_t len, unsigned char *out, size_t out_len)
{
	unsigned char *data;
	size_t data_len;
	int ret = -1;

	if (base64_decode(s, len, &data, &data_len) < 0)
		return -1;
	if (data_len == out_len) {
		memcpy(out, data, out_len);
		ret = 0;
	}
	explicit_bzero(data, data_len);
	free(data);
	return ret;
}

void
watch_reg_untagged_cb(void *ctx, const struct imap_client_resp *resp)
{
	struct watch_reg *reg = ctx, r;
	const struct imap_client_arg *list, *k, *v;
	uint32_t num;
	unsigned int seen = 0;
	size_t i;

	if (resp->count < 3 || !imap_client_arg_is(&resp->args[0], "XBELL") ||
	    !imap_client_arg_is(&resp->args[1], "REGISTERED") ||
	    resp->args[2].type != IMAP_CLIENT_ARG_LIST)
		return;
	memset(&r, 0, sizeof(r));
	list = &resp->args[2];
	for (i = 0; i + 1 < list->count; i += 2) {
		k = &list->list[i];
		v = &list->list[i + 1];
		if (imap_client_arg_is(k, "ID") &&
		    v->type != IMAP_CLIENT_ARG_LIST && v->str != NULL &&
		    v->len == 16 &&
		    str_hex_to_u64_n(v->str, v->len, &r.id) == 0) {
			memcpy(r.id_hex, v->str, 16);
			r.id_hex[16] = '\0';
			seen |= 1;
		} else if (imap_client_arg_is(k, "KEY") &&
		    v->type != IMAP_CLIENT_ARG_LIST && v->str != NULL &&
		    unbase64(v->str, v->len, r.secret, sizeof(r.secret)) == 0) {
			seen |= 2;
		} else if (imap_client_arg_u32(v, &num) < 0) {
			continue;
		} else if (imap_client_arg_is(k, "VERSION")) {
			r.version = num;
			seen |= 4;
		} else if (imap_client_arg_is(k, "PORT") && num > 0 &&
		    num <= 65535) {
			r.port = (uint16_t)num;
			seen |= 8;
		} else if (imap_client_arg_is(k, "KEEPALIVE") && num > 0) {
			r.keepalive = num;
			seen |= 16;
		} else if (imap_client_arg_is(k, "LEASE")) {
			r.lease = num;
		} else if (imap_client_arg_is(k, "EPOCH")) {
			r.epoch = num;
			seen |= 32;
		}
	}
	if (seen == 63 && r.version == NOTIFY_VERSION) {
		r.valid = true;
		watch_reg_wipe(reg);
		*reg = r;
	}
	explicit_bzero(&r, sizeof(r));
}

void
watch_reg_wipe(struct watch_reg *reg)
{
	explicit_bzero(reg, sizeof(*reg));
}

/* ---- The socket ---- */

static void
set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

int
watch_udp_retarget(struct watch_udp *u, const struct sockaddr *server,
    socklen_t server_len, uint16_t port, const char **error_r)
{
	struct sockaddr_storage ss;

	if (server_len > sizeof(ss)) {
		*error_r = "bad server address";
		return -1;
	}
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, server, server_len);
	set_port(&ss, port);
	if (connect(u->fd, (struct sockaddr *)&ss, server_len) < 0) {
		*error_r = udp_err("UDP connect");
		return -1;
	}
	u->refused = false;
	return 0;
}

int
watch_udp_open(struct watch_udp *u, const struct sockaddr *server,
    socklen_t server_len, uint16_t port, uint16_t local_port,
    const char **error_r)
{
	struct sockaddr_storage local;
	socklen_t local_len;
	int one = 1;

	memset(u, 0, sizeof(*u));
	u->fd = socket(server->sa_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (u->fd < 0) {
		*error_r = udp_err("UDP socket");
		return -1;
	}
	memset(&local, 0, sizeof(local));
	local.ss_family = server->sa_family;
	local_len = server->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	if (server->sa_family == AF_INET6)
		((struct sockaddr_in6 *)&local)->sin6_addr = in6addr_any;
	set_port(&local, local_port);
	if (local_port != 0)
		(void)setsockopt(u->fd, SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof(one));
	if (bind(u->fd, (struct sockaddr *)&local, local_len) < 0) {
		*error_r = error_fmt("cannot bind UDP port %u: %s", local_port,
		    strerror(errno));
		close(u->fd);
		u->fd = -1;
		return -1;
	}
	if (watch_udp_retarget(u, server, server_len, port, error_r) < 0) {
		close(u->fd);
		u->fd = -1;
		return -1;
	}
	return 0;
}

void
watch_udp_close(struct watch_udp *u)
{
	if (u->fd >= 0)
		close(u->fd);
	watch_reg_wipe(&u->reg);
	notify_keys_wipe(&u->c2s);
	notify_keys_wipe(&u->s2c);
	memset(u, 0, sizeof(*u));
	u->fd = -1;
}

/* Keys for an epoch; everything that counts within one starts afresh. */
static int
enter_epoch(struct watch_udp *u, uint32_t epoch)
{
	/* One key, both directions (the nonce tells them apart). */
	if (notify_keys_derive(u->reg.secret, NOTIFY_DIR_C2S, epoch,
	    &u->c2s) < 0)
		return -1;
	u->s2c = u->c2s;
	u->s2c.dir = NOTIFY_DIR_S2C;
	u->epoch = epoch;
	u->pn = 0;
	u->ack = 0;
	u->verified = false;
	notify_replay_init(&u->replay);
	return 0;
}

int
watch_udp_set_reg(struct watch_udp *u, const struct watch_reg *reg)
{
	watch_reg_wipe(&u->reg);
	u->reg = *reg;
	u->have_observed = false;
	if (enter_epoch(u, reg->epoch) < 0) {
		u->reg.valid = false;
		return -1;
	}
	return 0;
}

/* ---- Sending ---- */

static int
send_msg(struct watch_udp *u, const struct notify_msg *msg,
    const char **error_r)
{
	unsigned char out[NOTIFY_DATAGRAM_MAX];
	size_t len;
	int tries;

	if (!u->reg.valid) {
		*error_r = "no registration";
		return -1;
	}
	if (notify_proto_build(&u->c2s, u->reg.id, u->pn, msg, out,
	    sizeof(out), &len) < 0) {
		*error_r = "cannot seal a datagram";
		return -1;
	}
	u->pn++;
	/* A connected socket reports an earlier ICMP error on the next
	   send; that one is news about the past, so send again. */
	for (tries = 0; tries < 2; tries++) {
		if (send(u->fd, out, len, 0) == (ssize_t)len)
			return 0;
		if (errno == ECONNREFUSED) {
			u->refused = true;
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			continue;
		break;
	}
	*error_r = udp_err("UDP send");
	return -1;
}

int
watch_udp_send_hello(struct watch_udp *u, const char **error_r)
{
	struct notify_msg msg;

	memset(&msg, 0, sizeof(msg));
	msg.type = NOTIFY_TYPE_HELLO;
	if (notify_random(msg.hello.nonce, sizeof(msg.hello.nonce)) < 0) {
		*error_r = "no random bytes";
		return -1;
	}
	return send_msg(u, &msg, error_r);
}

int
watch_udp_send_keepalive(struct watch_udp *u, const char **error_r)
{
	struct notify_msg msg;

	memset(&msg, 0, sizeof(msg));
	msg.type = NOTIFY_TYPE_KEEPALIVE;
	msg.keepalive.ack = u->ack;
	return send_msg(u, &msg, error_r);
}

int
watch_udp_send_ack(struct watch_udp *u, const char **error_r)
{
	struct notify_msg msg;

	memset(&msg, 0, sizeof(msg));
	msg.type = NOTIFY_TYPE_ACK;
	msg.ack.ack = u->ack;
	return send_msg(u, &msg, error_r);
}

static int
send_verify(struct watch_udp *u, const unsigned char *cookie,
    const char **error_r)
{
	struct notify_msg msg;

	memset(&msg, 0, sizeof(msg));
	msg.type = NOTIFY_TYPE_VERIFY;
	memcpy(msg.verify.cookie, cookie, NOTIFY_COOKIE_LEN);
	return send_msg(u, &msg, error_r);
}

/* ---- Receiving ---- */

/*
 * The checks of section 4.1 on one datagram, then what it means.
 * Returns 1 with *rx_r set, 0 if dropped, -1 if a reply could not be
 * sent.
 */
static int
handle(struct watch_udp *u, const unsigned char *dg, size_t len,
    struct watch_udp_rx *rx_r, const char **error_r)
{
	unsigned char plain[NOTIFY_PAYLOAD_MAX];
	struct notify_keys next;
	const struct notify_keys *keys;
	struct notify_header hdr;
	struct notify_msg msg;
	enum notify_drop drop;
	size_t plain_len;
	bool new_epoch = false;
	int ret = 0;

	memset(&next, 0, sizeof(next));
	if (notify_proto_peek(dg, len, NOTIFY_DIR_S2C, &hdr, &drop) < 0 ||
	    !u->reg.valid || hdr.id != u->reg.id)
		goto drop;
	if (hdr.epoch == u->epoch) {
		keys = &u->s2c;
	} else if (hdr.epoch > u->epoch) {
		/* The server restarted (section 4.5): only an authentic
		   datagram under the new epoch's keys moves us there. */
		if (notify_keys_derive(u->reg.secret, NOTIFY_DIR_S2C,
		    hdr.epoch, &next) < 0)
			goto drop;
		keys = &next;
		new_epoch = true;
	} else {
		goto drop;
	}
	if (notify_proto_open(keys, dg, len, &hdr, plain, &plain_len,
	    &drop) < 0)
		goto drop;
	if (!new_epoch && !notify_replay_check(&u->replay, hdr.pn))
		goto drop;
	if (notify_proto_decode(hdr.type, plain, plain_len, &msg, &drop) < 0)
		goto drop;
	if (new_epoch && enter_epoch(u, hdr.epoch) < 0)
		goto drop;
	notify_replay_commit(&u->replay, hdr.pn);

	memset(rx_r, 0, sizeof(*rx_r));
	rx_r->new_epoch = new_epoch;
	switch (msg.type) {
	case NOTIFY_TYPE_CHALLENGE:
		rx_r->kind = WATCH_UDP_CHALLENGE;
		u->observed = msg.challenge.observed;
		u->have_observed = true;
		if (send_verify(u, msg.challenge.cookie, error_r) < 0)
			ret = -1;
		else
			ret = 1;
		break;
	case NOTIFY_TYPE_STATUS:
		rx_r->kind = WATCH_UDP_STATUS;
		rx_r->status = msg.status;
		u->observed = msg.status.observed;
		u->have_observed = true;
		if (msg.status.flags & NOTIFY_STATUS_FLAG_VERIFIED)
			u->verified = true;
		ret = 1;
		if (msg.status.last_event > u->ack) {
			/* The server gave up resending (section 4.4). */
			rx_r->gap = true;
			u->ack = msg.status.last_event;
			if (watch_udp_send_ack(u, error_r) < 0)
				ret = -1;
		}
		break;
	case NOTIFY_TYPE_EVENT:
		rx_r->kind = WATCH_UDP_EVENT;
		rx_r->event = msg.event;
		if (msg.event.number <= u->ack) {
			rx_r->duplicate = true;
		} else {
			rx_r->gap = msg.event.number > u->ack + 1;
			u->ack = msg.event.number;
		}
		ret = watch_udp_send_ack(u, error_r) < 0 ? -1 : 1;
		break;
	default:
		goto drop;
	}
	notify_keys_wipe(&next);
	explicit_bzero(plain, sizeof(plain));
	return ret;
drop:
	notify_keys_wipe(&next);
	explicit_bzero(plain, sizeof(plain));
	u->dropped++;
	return 0;
}

int
watch_udp_recv(struct watch_udp *u, struct watch_udp_rx *rx_r,
    const char **error_r)
{
	unsigned char dg[NOTIFY_DATAGRAM_MAX + 1];
	ssize_t n;
	int r;

	for (;;) {
		n = recv(u->fd, dg, sizeof(dg), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			if (errno == ECONNREFUSED) {
				u->refused = true;
				continue;
			}
			*error_r = udp_err("UDP receive");
			return -1;
		}
		r = handle(u, dg, (size_t)n, rx_r, error_r);
		if (r != 0)
			return r;
	}
}

/* ---- Text ---- */

void
watch_sockaddr_text(const struct sockaddr *sa, char *buf, size_t size)
{
	char addr[INET6_ADDRSTRLEN];
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

	if (sa->sa_family == AF_INET &&
	    inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr)) != NULL)
		snprintf(buf, size, "%s:%u", addr, ntohs(sin->sin_port));
	else if (sa->sa_family == AF_INET6 &&
	    inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof(addr)) != NULL)
		snprintf(buf, size, "[%s]:%u", addr, ntohs(sin6->sin6_port));
	else
		snprintf(buf, size, "?");
}

void
watch_udp_local_text(const struct watch_udp *u, char *buf, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(u->fd, (struct sockaddr *)&ss, &len) < 0)
		snprintf(buf, size, "?");
	else
		watch_sockaddr_text((struct sockaddr *)&ss, buf, size);
}

void
watch_udp_observed_text(const struct watch_udp *u, char *buf, size_t size)
{
	if (!u->have_observed)
		snprintf(buf, size, "?");
	else
		watch_sockaddr_text((const struct sockaddr *)&u->observed,
		    buf, size);
}
