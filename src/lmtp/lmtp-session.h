/*
 * Inside the LMTP service: the server and session structures shared by
 * lmtp-session.c (connections, input, output, lifetime) and
 * lmtp-commands.c (what each command does). Nothing outside src/lmtp
 * includes this; the daemon sees only lmtp.h.
 */
#ifndef MB_LMTP_LMTP_SESSION_H
#define MB_LMTP_LMTP_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/bufferevent.h>

#include "lib/limits.h"
#include "lib/service.h"
#include "lmtp/lmtp.h"
#include "lmtp/lmtp-parser.h"

struct evdns_base;
struct lmtp_relay;
struct store_spool;

/* Where a session is in the dialogue (RFC 5321 4.1.4 ordering). */
enum lmtp_session_state {
	LMTP_SESSION_GREETED = 0,	/* greeting sent, LHLO expected */
	LMTP_SESSION_READY,		/* LHLO done, no transaction */
	LMTP_SESSION_MAIL,		/* MAIL accepted, no recipient yet */
	LMTP_SESSION_RCPT,		/* one or more recipients accepted */
	LMTP_SESSION_RELAYING,		/* a RCPT waits for the owner node's
					   reply (lmtp-relay.c); input paused */
	LMTP_SESSION_DATA,		/* reading the message after 354 */
	LMTP_SESSION_DELIVERING,	/* message queued; input paused */
	LMTP_SESSION_CLOSING,		/* last reply flushing, then closed */
};

/* An accepted recipient of the current transaction. */
struct lmtp_recipient {
	char user[USER_NAME_MAX + 1];	/* directory user it resolved to */
	char *address;			/* the path as the client gave it */
	struct lmtp_relay *relay;	/* the owner node's connection;
					   NULL: delivered here */
	char *reply;			/* after DATA: the reply line for it,
					   once known (malloc'd) */
};

struct lmtp_session {
	/* For the whole connection */
	struct lmtp_server *server;	/* NULL once the server was freed
					   under a running delivery */
	struct bufferevent *bev;	/* NULL once the client is gone */
	char peer[64];			/* address:port, for the status
					   page */
	char log_id[72];		/* "peer=" and peer: what each log
					   line about the session names after
					   "lmtp: " */
	uint64_t since_ms;		/* clock_now_ms() at accept */
	char ip[64];			/* address alone, for per-address
					   limits (link.ip points here) */
	struct lmtp_parser *parser;	/* command lines */
	struct lmtp_data *data;		/* message decoder, made at first DATA */
	enum lmtp_session_state state;
	unsigned errors;		/* bad commands so far */
	bool output_blocked;		/* input left unread until output
					   drains (LMTP_OUTPUT_HIGH_WATER) */
	bool eof;			/* the client sent EOF */
	bool tls;			/* TLS began (after STARTTLS) */
	bool starttls;			/* 220 to STARTTLS queued: nothing
					   more is read in clear, and TLS
					   starts once it is sent */

	/* For one transaction (MAIL to the replies after DATA) */
	char *sender;			/* reverse-path as given; "" for <> */
	bool mail_has_size;		/* MAIL's SIZE= and BODY=, handed */
	uint64_t mail_size;		/* on to the owner of a relayed */
	enum lmtp_body mail_body;	/* recipient */
	struct lmtp_recipient *rcpts;	/* in RCPT order */
	size_t rcpt_count;
	size_t rcpt_cap;
	struct store_spool *spool;	/* the message beyond SPOOL_INLINE_MAX,
					   in the first recipient's tmp/ */
	bool spool_failed;		/* it could not be written: 452 */
	uint64_t data_end_us;		/* clock_now_us() at the final dot */
	size_t waiting;			/* after the dot: the local delivery
					   and the owners not yet answered */
	bool local_pending;		/* the local delivery is queued */

	/* Relaying to other nodes (lmtp-relay.c), for one transaction */
	struct lmtp_relay *relays;	/* one connection per owner node */
	enum lmtp_session_state relay_return; /* the state RELAYING returns
					   to (MAIL or RCPT) */
	size_t relay_offset;		/* bytes of lmtp_data_held() already
					   handed to the relays */
	bool relay_bol;			/* dot-stuffing: the next message byte
					   begins a line */
	bool relay_blocked;		/* an owner has LMTP_RELAY_HIGH_WATER
					   bytes queued: input left unread */

	/* Its place in the server's list of sessions */
	struct service_link link;
};

/* The session a link of the server's list belongs to. */
#define LMTP_SESSION(l) SERVICE_SESSION(l, struct lmtp_session, link)

struct lmtp_server {
	struct lmtp_deps deps;
	struct service service;		/* sockets, sessions, shutdown */
	size_t deliveries;		/* jobs queued, not yet answered */
	struct evdns_base *dns;		/* for relays to nodes named by host
					   name; made at first use */
};

/* ---- lmtp-session.c, for the commands ---- */

/* Queue one reply line (CR LF is added). A no-op once the client is
 * gone. */
void lmtp_session_reply(struct lmtp_session *session, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Stop reading; free the session once the replies queued so far are
 * flushed. */
void lmtp_session_close(struct lmtp_session *session);
/* Forget sender and recipients; back to READY (or GREETED before LHLO). */
void lmtp_session_reset_transaction(struct lmtp_session *session);
/* After STARTTLS's 220: discard what the client sent after the command
 * (RFC 3207 section 6), read nothing more in clear, and begin the
 * handshake once the reply is sent. */
void lmtp_session_starttls(struct lmtp_session *session);
/* Pause input while a delivery runs. */
void lmtp_session_pause(struct lmtp_session *session);
/*
 * After a delivery was answered: resume input, or free the session if
 * its client or server is gone. The session may be freed on return.
 */
void lmtp_session_resume(struct lmtp_session *session);

/* Add an accepted recipient to the transaction (address is copied;
 * relay NULL: delivered here). The session is in RCPT state after it,
 * or returns to it from RELAYING. */
struct lmtp_recipient *lmtp_session_add_recipient(
    struct lmtp_session *session, const char *user, const char *address,
    struct lmtp_relay *relay);
/* A RCPT waits for the owner node's reply: input paused (RELAYING). */
void lmtp_session_relay_wait(struct lmtp_session *session);
/* The owner's reply was given: back to MAIL or RCPT and on with the
 * input. The session may be freed on return. */
void lmtp_session_relay_resume(struct lmtp_session *session);
/* An owner's queue drained or failed: if none is over
 * LMTP_RELAY_HIGH_WATER now, read the client again. The session may be
 * freed on return. */
void lmtp_session_relay_drained(struct lmtp_session *session);

/* ---- lmtp-commands.c, for the session and the relay ---- */

/* Run a parsed command (state is GREETED, READY, MAIL or RCPT). */
void lmtp_commands_run(struct lmtp_session *session,
    const struct lmtp_command *cmd);
/* Answer a line the parser refused. */
void lmtp_commands_refuse(struct lmtp_session *session,
    const struct lmtp_command *cmd);
/* Message bytes were decoded: beyond SPOOL_INLINE_MAX they go to the
 * spool file, so memory holds at most that much. */
void lmtp_commands_data_input(struct lmtp_session *session);
/* The message after DATA is complete: refuse it or queue its delivery. */
void lmtp_commands_data_end(struct lmtp_session *session);
/* The transaction ends: remove a spool file no delivery took. */
void lmtp_commands_data_abort(struct lmtp_session *session);
/* An owner's replies after DATA are all in, or it failed (every
 * recipient there has its reply). The last one to finish gives the
 * client its replies. The session may be freed on return. */
void lmtp_commands_relay_done(struct lmtp_session *session);
/* Tell a session the service is stopping, and close it. */
void lmtp_commands_shutdown(struct lmtp_session *session);

#endif
