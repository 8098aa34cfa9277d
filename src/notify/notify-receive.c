/*
 * The notifier's receive path (doc/notify-protocol.md 4.1): datagrams
 * read in batches, cheapest check first, every drop silent and
 * counted, no allocation and no key derivation before the tag verifies
 * (keys are the registration's, derived once per epoch); a budget per
 * source endpoint; endpoint verification with stateless cookies (4.2),
 * STATUS to keepalives, and acknowledgements handed to
 * notify-events.c.
 */
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

#include "lib/hash.h"
#include "lib/log.h"
#include "lib/stats.h"
#include "notify/notify-private.h"

static void
count_drop(enum notify_drop drop)
{
	switch (drop) {
	case NOTIFY_DROP_SIZE:
		mb_stats.notify_dropped_size_total++;
		break;
	case NOTIFY_DROP_VERSION:
		mb_stats.notify_dropped_version_total++;
		break;
	case NOTIFY_DROP_TYPE:
		mb_stats.notify_dropped_type_total++;
		break;
	case NOTIFY_DROP_ID:
		mb_stats.notify_dropped_id_total++;
		break;
	case NOTIFY_DROP_EPOCH:
		mb_stats.notify_dropped_epoch_total++;
		break;
	case NOTIFY_DROP_TAG:
		mb_stats.notify_dropped_tag_total++;
		break;
	case NOTIFY_DROP_REPLAY:
		mb_stats.notify_dropped_replay_total++;
		break;
	case NOTIFY_DROP_PAYLOAD:
	case NOTIFY_DROP_NONE:
		mb_stats.notify_dropped_payload_total++;
		break;
	}
}

/* ---- Previous epochs' keys (section 4.5) ---- */

_Static_assert((NOTIFY_OLD_KEYS_SLOTS & (NOTIFY_OLD_KEYS_SLOTS - 1)) == 0,
    "a mask picks the slot");

static struct notify_old_key *
old_key_slot(struct notify_server *s, uint64_t id, uint32_t epoch)
{
	uint64_t h = hash_u64(id ^ s->old_keys_seed ^ (uint64_t)epoch << 32);

	return &s->old_keys[h & (NOTIFY_OLD_KEYS_SLOTS - 1)];
}

/*
 * The C2S keys of reg in an earlier epoch: kept from an earlier
 * datagram, or derived now if the source endpoint addr has budget left
 * for reg and the server-wide NOTIFY_OLD_DERIVE_PER_SEC is not spent. Returns
 * 0 with *keys_r, -1 if OpenSSL failed, -2 if over a budget.
 */
static int
old_keys(struct notify_server *s, const struct notify_reg *reg,
    uint32_t epoch, const unsigned char addr[NOTIFY_ADDR_LEN],
    uint32_t now, struct notify_keys *keys_r)
{
	struct notify_old_key *slot = old_key_slot(s, reg->id, epoch);
	unsigned char secret[NOTIFY_SECRET_LEN];
	int rc;

	if (slot->id == reg->id && slot->keys.epoch == epoch) {
		*keys_r = slot->keys;
		return 0;
	}
	if (s->old_derive_sec != now) {
		s->old_derive_sec = now;
		s->old_derive_count = 0;
	}
	if (s->old_derive_count >= NOTIFY_OLD_DERIVE_PER_SEC ||
	    !notify_budget_take(s->budget, addr, reg->id, now))
		return -2;
	s->old_derive_count++;
	rc = notify_reg_secret(s->registry, reg, secret);
	if (rc == 0)
		rc = notify_keys_derive(secret, NOTIFY_DIR_C2S, epoch, keys_r);
	OPENSSL_cleanse(secret, sizeof(secret));
	if (rc < 0)
		return -1;
	if (slot->id == 0)
		s->old_keys_used++;
	notify_keys_wipe(&slot->keys);
	slot->id = reg->id;
	slot->keys = *keys_r;
	return 0;
}

void
notify_old_keys_forget(struct notify_server *s, uint64_t id)
{
	size_t i;

	if (s->old_keys == NULL || s->old_keys_used == 0)
		return;
	for (i = 0; i < NOTIFY_OLD_KEYS_SLOTS; i++) {
		if (s->old_keys[i].id != id)
			continue;
		OPENSSL_cleanse(&s->old_keys[i], sizeof(s->old_keys[i]));
		s->old_keys_used--;
	}
}

void
notify_old_keys_clear(struct notify_server *s)
{
	OPENSSL_cleanse(s->old_keys,
	    NOTIFY_OLD_KEYS_SLOTS * sizeof(s->old_keys[0]));
	s->old_keys_used = 0;
}

/* ---- Receiving (section 4.1) ---- */

/* CHALLENGE to an endpoint (verified or not) under the current epoch,
 * never larger than the limit bytes it answers. */
static void
send_challenge(struct notify_server *s, struct notify_reg *reg, size_t via,
    const struct sockaddr *from, const unsigned char *nonce, size_t limit,
    uint32_t now)
{
	struct notify_msg msg;

	memset(&msg, 0, sizeof(msg));
	msg.type = NOTIFY_TYPE_CHALLENGE;
	if (nonce != NULL)
		memcpy(msg.challenge.nonce, nonce, NOTIFY_NONCE_LEN);
	if (notify_cookie_make(s->cookie_key, reg->id, s->epoch, from, now,
	    msg.challenge.cookie) < 0)
		return;
	memcpy(&msg.challenge.observed, from,
	    from->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in));
	if (notify_send(s, reg, via, from, &msg, limit) == 0)
		mb_stats.notify_challenges_total++;
}

static void
send_status(struct notify_server *s, struct notify_reg *reg,
    const struct sockaddr *from, uint32_t now)
{
	struct notify_msg msg;
	uint32_t used = now - reg->last_seen;

	memset(&msg, 0, sizeof(msg));
	msg.type = NOTIFY_TYPE_STATUS;
	msg.status.keepalive = (uint16_t)s->keepalive;
	msg.status.flags = NOTIFY_STATUS_FLAG_VERIFIED;
	msg.status.lease = used < s->lease ? s->lease - used : 0;
	msg.status.last_event = reg->event_last;
	memcpy(&msg.status.observed, from,
	    from->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in));
	notify_send_verified(s, reg, &msg);
}

/* Whether addr reached by way via is reg's verified endpoint. */
static bool
is_verified_endpoint(const struct notify_reg *reg, size_t via,
    const unsigned char addr[NOTIFY_ADDR_LEN])
{
	return (reg->flags & NOTIFY_REG_VERIFIED) && reg->via == via &&
	    memcmp(reg->addr, addr, NOTIFY_ADDR_LEN) == 0;
}

/*
 * Steps 1 to 4 of section 4.1: the datagram's size, version and type,
 * its registration, its epoch and its tag, with the registration's
 * cached keys (or a previous epoch's, see old_keys()). Returns 0 with
 * *hdr_r, *reg_r and the payload in plain (*plen_r bytes); -1 with
 * *drop_r set; -2 if dropped for addr's budget.
 */
static int
open_datagram(struct notify_server *s, const unsigned char *data,
    size_t len, const unsigned char addr[NOTIFY_ADDR_LEN], uint32_t now,
    struct notify_header *hdr_r, struct notify_reg **reg_r,
    unsigned char plain[NOTIFY_PAYLOAD_MAX], size_t *plen_r,
    enum notify_drop *drop_r)
{
	struct notify_header hdr;
	struct notify_keys keys;
	struct notify_reg *reg;
	bool old_epoch;
	int rc;

	/* 1: size, version, type; 2: the id */
	if (notify_proto_peek(data, len, NOTIFY_DIR_C2S, &hdr, drop_r) < 0)
		return -1;
	reg = notify_registry_find(s->registry, hdr.id);
	if (reg == NULL) {
		*drop_r = NOTIFY_DROP_ID;
		return -1;
	}
	/* 3: the epoch; an earlier one of this registration only for
	 * HELLO and KEEPALIVE, to tell the client of a restart (4.5). */
	old_epoch = hdr.epoch != s->epoch;
	if (old_epoch && (hdr.epoch > s->epoch ||
	    hdr.epoch < reg->created_epoch ||
	    (hdr.type != NOTIFY_TYPE_HELLO &&
	    hdr.type != NOTIFY_TYPE_KEEPALIVE))) {
		*drop_r = NOTIFY_DROP_EPOCH;
		return -1;
	}
	*drop_r = NOTIFY_DROP_TAG;
	if (!old_epoch) {
		if (!notify_reg_keys(s->registry, reg, NOTIFY_DIR_C2S, &keys))
			return -1;
	} else if ((rc = old_keys(s, reg, hdr.epoch, addr, now,
	    &keys)) < 0)
		return rc;
	/* 4: the tag */
	rc = notify_proto_open_with(s->aead, &keys, data, len, hdr_r, plain,
	    plen_r, drop_r);
	notify_keys_wipe(&keys);
	if (rc < 0)
		return -1;
	*reg_r = reg;
	return 0;
}

/* An authentic, new VERIFY: with a good cookie, the endpoint it came
 * from becomes the registration's (only the newest datagram may move a
 * verified one), and STATUS answers. */
static void
handle_verify(struct notify_server *s, struct notify_reg *reg, size_t via,
    const struct sockaddr *from, const unsigned char addr[NOTIFY_ADDR_LEN],
    const unsigned char cookie[NOTIFY_COOKIE_LEN], bool newest,
    uint32_t now)
{
	if (!notify_cookie_verify(s->cookie_key, reg->id, s->epoch, from, now,
	    cookie)) {
		mb_stats.notify_dropped_cookie_total++;
		return;
	}
	if (is_verified_endpoint(reg, via, addr)) {
		send_status(s, reg, from, now);
		return;
	}
	/* Only the newest datagram may move the endpoint. */
	if ((reg->flags & NOTIFY_REG_VERIFIED) && !newest)
		return;
	if (notify_reg_verify(s->registry, reg, (uint8_t)via, addr) < 0)
		return;
	mb_stats.notify_verifications_total++;
	send_status(s, reg, from, now);
	notify_events_moved(s, reg);
}

static void
handle_datagram(struct notify_server *s, size_t via,
    const unsigned char *data, size_t len, const struct sockaddr *from)
{
	unsigned char plain[NOTIFY_PAYLOAD_MAX];
	unsigned char addr[NOTIFY_ADDR_LEN];
	struct notify_header hdr;
	struct notify_replay win;
	struct notify_msg msg;
	struct notify_reg *reg;
	enum notify_drop drop = NOTIFY_DROP_PAYLOAD;
	uint32_t now;
	size_t plen = 0;
	bool old_epoch, newest = false;
	int rc;

	if (notify_addr_encode(from, addr) < 0)
		goto dropped;
	now = notify_now(s);
	rc = open_datagram(s, data, len, addr, now, &hdr, &reg, plain, &plen,
	    &drop);
	if (rc == -2) {
		mb_stats.notify_dropped_rate_total++;
		goto out;
	}
	if (rc < 0)
		goto dropped;
	old_epoch = hdr.epoch != s->epoch;
	/* 5: the replay window (of the current epoch; an old epoch's
	 * datagram changes nothing and earns one CHALLENGE no larger
	 * than itself) */
	notify_reg_replay_get(reg, &win);
	if (!old_epoch) {
		if (!notify_replay_check(&win, hdr.pn)) {
			drop = NOTIFY_DROP_REPLAY;
			goto dropped;
		}
		newest = !win.any || hdr.pn > win.top;
	}
	if (notify_proto_decode(hdr.type, plain, plen, &msg, &drop) < 0)
		goto dropped;
	/* Only now, authentic (and new, in this epoch), does it spend a
	 * budget: its source's for this registration, so forgeries and
	 * replays sent from elsewhere never spend the real client's
	 * (4.7). */
	if (!notify_budget_take(s->budget, addr, reg->id, now)) {
		mb_stats.notify_dropped_rate_total++;
		goto out;
	}

	if (old_epoch) {
		send_challenge(s, reg, via, from,
		    hdr.type == NOTIFY_TYPE_HELLO ? msg.hello.nonce : NULL,
		    len, now);
		goto out;
	}
	notify_replay_commit(&win, hdr.pn);
	notify_reg_replay_set(reg, &win);
	reg->last_seen = now;
	s->seen_dirty = true;

	switch (hdr.type) {
	case NOTIFY_TYPE_HELLO:
		send_challenge(s, reg, via, from, msg.hello.nonce, len, now);
		break;
	case NOTIFY_TYPE_VERIFY:
		handle_verify(s, reg, via, from, addr, msg.verify.cookie,
		    newest, now);
		break;
	case NOTIFY_TYPE_KEEPALIVE:
		notify_events_ack(s, reg, msg.keepalive.ack);
		if (is_verified_endpoint(reg, via, addr))
			send_status(s, reg, from, now);
		else if (newest)
			send_challenge(s, reg, via, from, NULL, len, now);
		break;
	case NOTIFY_TYPE_ACK:
		notify_events_ack(s, reg, msg.ack.ack);
		break;
	default:
		break;
	}
	goto out;
dropped:
	count_drop(drop);
out:
	OPENSSL_cleanse(plain, sizeof(plain));
}

/* The way a datagram came in: the socket's own, or for a wildcard
 * socket the one for the local address it was sent to (interned; the
 * socket's own if the table is full or the address is missing). */
static size_t
via_of(struct notify_server *s, size_t sock, const struct msghdr *mh)
{
	const struct notify_sock *ns = &s->socks[sock];
	struct notify_via want;
	struct cmsghdr *cm;
	bool found = false;
	size_t i;

	if (!ns->wildcard)
		return ns->via;
	memset(&want, 0, sizeof(want));
	for (cm = CMSG_FIRSTHDR((struct msghdr *)mh); cm != NULL;
	    cm = CMSG_NXTHDR((struct msghdr *)mh, cm)) {
		if (cm->cmsg_level == IPPROTO_IP &&
		    cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			want.local4 = pi.ipi_addr;
			found = true;
		} else if (cm->cmsg_level == IPPROTO_IPV6 &&
		    cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			want.local6 = pi.ipi6_addr;
			found = true;
		}
	}
	if (!found)
		return ns->via;
	want.sock = (uint8_t)sock;
	want.has_local = true;
	for (i = 0; i < s->nvias; i++)
		if (memcmp(&s->vias[i], &want, sizeof(want)) == 0)
			return i;
	if (s->nvias == NOTIFY_VIAS_MAX)
		return ns->via;
	s->vias[s->nvias] = want;
	return s->nvias++;
}

void
notify_receive_cb(evutil_socket_t fd, short what, void *ctx)
{
	struct notify_server *s = ctx;
	struct notify_in *in = s->in;
	size_t sock, budget = NOTIFY_READ_BUDGET;
	int i, n;

	(void)what;
	for (sock = 0; sock < s->nsocks; sock++)
		if (s->socks[sock].fd == fd)
			break;
	if (sock == s->nsocks)
		return;
	while (budget > 0) {
		for (i = 0; i < NOTIFY_BATCH; i++) {
			memset(&in->msgs[i], 0, sizeof(in->msgs[i]));
			in->iov[i].iov_base = in->data[i];
			in->iov[i].iov_len = sizeof(in->data[i]);
			in->msgs[i].msg_hdr.msg_iov = &in->iov[i];
			in->msgs[i].msg_hdr.msg_iovlen = 1;
			in->msgs[i].msg_hdr.msg_name = &in->from[i];
			in->msgs[i].msg_hdr.msg_namelen = sizeof(in->from[i]);
			if (s->socks[sock].wildcard) {
				in->msgs[i].msg_hdr.msg_control = in->ctrl[i];
				in->msgs[i].msg_hdr.msg_controllen =
				    sizeof(in->ctrl[i]);
			}
		}
		n = recvmmsg(fd, in->msgs, NOTIFY_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				log_debug("notify: receive: %s",
				    strerror(errno));
			break;
		}
		for (i = 0; i < n; i++) {
			const struct mmsghdr *m = &in->msgs[i];

			mb_stats.notify_datagrams_received_total++;
			if ((m->msg_hdr.msg_flags & MSG_TRUNC) ||
			    m->msg_len > NOTIFY_DATAGRAM_MAX) {
				mb_stats.notify_dropped_size_total++;
				continue;
			}
			handle_datagram(s, via_of(s, sock, &m->msg_hdr),
			    in->data[i], m->msg_len,
			    (const struct sockaddr *)&in->from[i]);
		}
		notify_flush(s);
		budget -= (size_t)n < budget ? (size_t)n : budget;
		if (n < NOTIFY_BATCH)
			break;
	}
	notify_flush(s);
}
