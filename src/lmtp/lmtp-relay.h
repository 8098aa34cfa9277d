/*
 * Inside the LMTP service: relaying recipients who live on another
 * cluster node to that node's LMTP server (lmtp-relay.c), so an MTA may
 * hand any node mail for any user. A session holds at most one
 * connection per owner node and transaction; the connection follows the
 * transaction (LHLO, MAIL FROM with our client's reverse path, one RCPT
 * per recipient there, DATA streaming the message through) and is
 * closed when the transaction ends. Nothing here blocks; everything
 * runs on the session's loop.
 *
 * The relay answers through the session: a RCPT's reply with
 * lmtp_session_relay_resume(), each owner's end of DATA with
 * lmtp_commands_relay_done(). Those calls are the last a relay callback
 * makes, since they may free the session and its relays.
 */
#ifndef MB_LMTP_LMTP_RELAY_H
#define MB_LMTP_LMTP_RELAY_H

#include <stdbool.h>
#include <stddef.h>

struct lmtp_session;
struct lmtp_relay;
struct route_peer;

/*
 * RCPT TO for address, a recipient whose user lives on peer. Either the
 * reply is given at once (the owner is unreachable: 451 4.4.1, or it
 * refused MAIL FROM: its reply), or the session waits (RELAYING) for
 * the owner's reply to RCPT, which goes to our client as the owner gave
 * it, the recipient joining the transaction on 2xx.
 */
void lmtp_relay_rcpt(struct lmtp_session *session,
    const struct route_peer *peer, const char *user, const char *address);

/* DATA was accepted: send DATA to every owner that accepted one of our
 * recipients. */
void lmtp_relay_data_begin(struct lmtp_session *session);

/*
 * len more bytes of the message as decoded: dot-stuffed to every owner
 * taking the message. Returns true if one of them has
 * LMTP_RELAY_HIGH_WATER bytes or more queued, so the caller reads no
 * more of the client until lmtp_session_relay_drained().
 */
bool lmtp_relay_data_feed(struct lmtp_session *session,
    const unsigned char *data, size_t len);
/* Whether an owner still has LMTP_RELAY_HIGH_WATER bytes queued. */
bool lmtp_relay_blocked(const struct lmtp_session *session);

/*
 * The message is complete and accepted here: end it toward every owner
 * ("." line). Recipients on owners that already failed or refused get
 * their replies now. Returns how many owners' replies are still awaited;
 * each calls lmtp_commands_relay_done() once they are all in, or once
 * the owner failed (its recipients then get 451 4.4.2).
 */
size_t lmtp_relay_data_end(struct lmtp_session *session);

/* The transaction ends: close every relay connection of the session
 * (QUIT where the owner is between commands). No callback is made. */
void lmtp_relay_close_all(struct lmtp_session *session);

#endif
