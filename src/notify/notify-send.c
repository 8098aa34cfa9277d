/*
 * Sending: every datagram is sealed under the registration's s2c keys
 * with its next packet number and queued; the queue leaves in one
 * sendmmsg(2) per socket when it is flushed (at the end of each read
 * batch, store event and wheel tick) or full, so a store event that
 * wakes many registrations costs a few system calls, not one each.
 */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>

#include "lib/log.h"
#include "lib/stats.h"
#include "notify/notify-private.h"

/* An AF_INET address as the IPv4-mapped IPv6 address an AF_INET6
 * socket needs. */
static void
map_v4(const struct sockaddr_in *sin, struct sockaddr_in6 *sin6)
{
	memset(sin6, 0, sizeof(*sin6));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = sin->sin_port;
	sin6->sin6_addr.s6_addr[10] = 0xff;
	sin6->sin6_addr.s6_addr[11] = 0xff;
	memcpy(&sin6->sin6_addr.s6_addr[12], &sin->sin_addr, 4);
}

void
notify_flush(struct notify_server *s)
{
	struct notify_out *out = s->out;
	size_t done = 0;
	int n;

	while (done < out->count) {
		n = sendmmsg(s->socks[out->sock].fd, out->msgs + done,
		    (unsigned)(out->count - done), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* A full socket buffer or an unreachable peer costs
			 * the datagram: UDP, and the protocol expects loss.
			 * Skip the one that failed and go on. */
			log_debug("notify: send: %s", strerror(errno));
			mb_stats.notify_send_errors_total++;
			done++;
			continue;
		}
		mb_stats.notify_datagrams_sent_total += (unsigned)n;
		done += (size_t)n;
	}
	out->count = 0;
	out->sock = -1;
}

/* Name the source address of datagram i (a reply from a wildcard
 * socket leaves from the address the client sent to). */
static void
out_source(struct notify_out *out, size_t i, const struct notify_via *v,
    int family)
{
	struct msghdr *mh = &out->msgs[i].msg_hdr;
	struct cmsghdr *cm;

	memset(out->ctrl[i], 0, sizeof(out->ctrl[i]));
	mh->msg_control = out->ctrl[i];
	if (family == AF_INET6) {
		struct in6_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		pi.ipi6_addr = v->local6;
		mh->msg_controllen = CMSG_SPACE(sizeof(pi));
		cm = CMSG_FIRSTHDR(mh);
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	} else {
		struct in_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		pi.ipi_spec_dst = v->local4;
		mh->msg_controllen = CMSG_SPACE(sizeof(pi));
		cm = CMSG_FIRSTHDR(mh);
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	}
}

/* Room for one datagram to to by way via, flushing first if the batch
 * is full or for another socket. Returns its index. */
static size_t
out_slot(struct notify_server *s, size_t via, const struct sockaddr *to)
{
	struct notify_out *out = s->out;
	const struct notify_via *v = &s->vias[via];
	size_t sock = v->sock;
	struct sockaddr_storage *ss;
	socklen_t len;
	size_t i;

	if (out->count == NOTIFY_BATCH ||
	    (out->count > 0 && out->sock != (int)sock))
		notify_flush(s);
	i = out->count;
	out->sock = (int)sock;
	ss = &out->to[i];
	memset(ss, 0, sizeof(*ss));
	if (to->sa_family == AF_INET && s->socks[sock].family == AF_INET6) {
		map_v4((const struct sockaddr_in *)to,
		    (struct sockaddr_in6 *)ss);
		len = sizeof(struct sockaddr_in6);
	} else if (to->sa_family == AF_INET6) {
		memcpy(ss, to, sizeof(struct sockaddr_in6));
		len = sizeof(struct sockaddr_in6);
	} else {
		memcpy(ss, to, sizeof(struct sockaddr_in));
		len = sizeof(struct sockaddr_in);
	}
	memset(&out->msgs[i], 0, sizeof(out->msgs[i]));
	out->msgs[i].msg_hdr.msg_name = ss;
	out->msgs[i].msg_hdr.msg_namelen = len;
	out->msgs[i].msg_hdr.msg_iov = &out->iov[i];
	out->msgs[i].msg_hdr.msg_iovlen = 1;
	out->iov[i].iov_base = out->data[i];
	if (v->has_local)
		out_source(out, i, v, s->socks[sock].family);
	return i;
}

int
notify_send(struct notify_server *s, struct notify_reg *reg, size_t via,
    const struct sockaddr *to, const struct notify_msg *msg, size_t limit)
{
	struct notify_keys keys;
	size_t i, len;
	int rc;

	if (via >= s->nvias)
		return -1;
	/* The keys were derived when the registration was made or the
	 * server started; only an OpenSSL failure then derives here. */
	if (!notify_reg_keys(s->registry, reg, NOTIFY_DIR_S2C, &keys) &&
	    (notify_reg_derive(s->registry, reg) < 0 ||
	    !notify_reg_keys(s->registry, reg, NOTIFY_DIR_S2C, &keys))) {
		mb_stats.notify_send_errors_total++;
		return -1;
	}
	/* The protocol never gets near 2^64 datagrams; stop well short of
	 * a wrap rather than reuse a nonce. */
	if (reg->send_pn == UINT64_MAX) {
		notify_keys_wipe(&keys);
		return -1;
	}
	i = out_slot(s, via, to);
	rc = notify_proto_build_with(s->aead, &keys, reg->id, reg->send_pn,
	    msg, s->out->data[i], sizeof(s->out->data[i]), &len);
	notify_keys_wipe(&keys);
	if (rc < 0 || len > limit) {
		/* Never more bytes to an endpoint than it sent: the slot is
		 * not taken, and the packet number is not used. */
		if (rc < 0)
			mb_stats.notify_send_errors_total++;
		return -1;
	}
	reg->send_pn++;
	s->out->iov[i].iov_len = len;
	s->out->count++;
	return 0;
}

int
notify_send_verified(struct notify_server *s, struct notify_reg *reg,
    const struct notify_msg *msg)
{
	struct sockaddr_storage to;

	if (!(reg->flags & NOTIFY_REG_VERIFIED) ||
	    notify_addr_decode(reg->addr, &to, NULL) < 0)
		return -1;
	return notify_send(s, reg, reg->via, (struct sockaddr *)&to, msg,
	    NOTIFY_DATAGRAM_MAX);
}
