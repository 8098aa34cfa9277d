/*
 * What the parts of an IMAP session share among themselves and with no
 * one else: imap-session.c (lifetime, bufferevent, sleeping in IDLE,
 * accepting), imap-session-input.c, imap-session-reply.c and
 * imap-session-state.c. Command files use imap-session.h only.
 */
#ifndef MB_IMAP_IMAP_SESSION_PRIVATE_H
#define MB_IMAP_IMAP_SESSION_PRIVATE_H

#include <stdarg.h>
#include <stdbool.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "imap/imap-session.h"

/* ---- imap-session.c ---- */

/* The loop the session's events run on (the server's, which outlives
 * every session). */
struct event_base *imap_session_base(const struct imap_session *session);
/* The socket or TLS bufferevent: the one under the compression
 * filter, or bev itself. NULL while bev is. */
struct bufferevent *imap_session_raw_bev(const struct imap_session *session);
/* Set the session's callbacks and watermarks on its bev. */
void imap_session_bev_setup(struct imap_session *session);
/* Back from sleeping in IDLE to a bufferevent, before anything is
 * written or read; a no-op for a session awake. */
void imap_session_wake(struct imap_session *session);
/* Close the connection and free the session, aborting a pending command
 * (only when the server itself is freed). */
void imap_session_free(struct imap_session *session);
/* Run imap_session_input() from the event loop rather than from the
 * caller's stack. */
void imap_session_schedule_input(struct imap_session *session);
/* Set the read timeout for the session's state. */
void imap_session_update_timeouts(struct imap_session *session);
/* Read only while input may be acted on. */
void imap_session_update_read(struct imap_session *session);

/* ---- imap-session-compress.c, with the session ---- */

/* Under compression, input that waits under the filter (bytes read
 * with the COMPRESS command line, or left when the input was full) is
 * inflated now; true if that gave input to read. */
bool imap_session_compress_pull(struct imap_session *session);
/* Closing: the last output is deflated and flushed, and bev is the
 * socket or TLS bufferevent alone again, so that the session sees when
 * everything is sent. A no-op without compression. */
void imap_session_compress_end(struct imap_session *session);

/* ---- imap-session-input.c ---- */

/* Feed what has arrived to the parser or the pending command until the
 * input is used up, a command is pending, or too much output waits.
 * May free the session. */
void imap_session_input(struct imap_session *session);

/* Parse and run one complete command from buf (a command the proxy
 * answers here, imap-proxy.h), as if it had come from the client; any
 * "+" for its literals was sent already. buf is left as it was. */
void imap_session_run_local(struct imap_session *session,
    struct evbuffer *buf);

/* ---- imap-session-reply.c ---- */

/* Write prefix, the formatted text and CR LF. */
void imap_session_vline(struct imap_session *session, const char *prefix,
    const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));
/* Free the session once its output is flushed (or now if nothing
 * waits). Returns true if it was freed. */
bool imap_session_close_if_flushed(struct imap_session *session);
/* Free *cmdp (may be NULL) and set it to NULL. */
void imap_cmd_free(struct imap_cmd **cmdp);
/* After a tagged reply, once the handler has returned: free the
 * command, say BYE if the session must end, reset the timeouts. */
void imap_session_cmd_finished(struct imap_session *session);

/* ---- imap-session-admit.c ---- */

/* Whether a new connection from ip may become a session: the per-address
 * limits, then the global ones, where the oldest session not logged in
 * yields its place if the tables are full. On refusal fd got a BYE
 * (none if it expects a TLS handshake first: tls) and is closed. */
/* Set log_id to "peer=PEER" (PEER: address:port), with " user=USER"
 * after it when user is not NULL, peer to peer and peer_ip to ip, in one
 * new allocation. peer or ip NULL: the session's own, kept. */
void imap_session_set_log_id(struct imap_session *session, const char *peer,
    const char *ip, const char *user);
bool imap_session_admit(struct imap_server *server, evutil_socket_t fd,
    const char *peer, const char *ip, bool tls);
/* At accept: the session counts as not logged in (it may yield) and its
 * login deadline ([imap] login_timeout) starts. */
void imap_session_login_deadline_start(struct imap_session *session);
/* Logged in, or freed: the deadline ends. */
void imap_session_login_deadline_free(struct imap_session *session);

/* ---- imap-session-compress.c ---- */

/* The zlib streams of a session after COMPRESS DEFLATE, and the event
 * that flushes each burst of output. */
struct imap_compress *imap_compress_new(struct imap_session *session);
void imap_compress_free(struct imap_compress **cp);
/* A filter bufferevent over raw (the socket or TLS bufferevent), which
 * it frees with it unless freed first; raw loses its timeouts (the
 * caller sets them: imap_session.c) and gets the watermarks of
 * compressed data. NULL if libevent fails. */
struct bufferevent *imap_compress_filter(struct imap_compress *c,
    struct bufferevent *raw);
/* The raw bufferevent under the filter is about to be freed (a sleep
 * in IDLE); imap_compress_filter() attaches to the next one. */
void imap_compress_detach(struct imap_compress *c);
/* Whether nothing waits inside the deflater or for its flush, so the
 * session may sleep; if so the deflater is released for the sleep. */
bool imap_compress_idle(struct imap_compress *c);

/* ---- imap-session-state.c ---- */

/* Free the failed-login timer, if one is running. */
void imap_session_delay_free(struct imap_session *session);

#endif
