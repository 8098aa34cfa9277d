/*
 * A small IMAP4rev1 client for the command line tool (`mailbell watch`,
 * `mailbell doctor`): one TCP connection on the caller's libevent
 * event_base, responses read whole (literals included) and parsed into a
 * tree of arguments. Commands are synchronous: each turns the loop
 * itself until its reply comes or its timer runs out, so none may be
 * called from inside an event callback of that base (libevent does not
 * nest loops). Between commands the caller runs the loop and learns of
 * unsolicited input through imap_client_set_input_cb(), as IDLE needs.
 */
#ifndef MB_CLIENT_IMAP_CLIENT_H
#define MB_CLIENT_IMAP_CLIENT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "client/client-tls.h"

/* Longest response we read, literals included: a FETCH of a few header
 * fields is small, and anything larger is a server we do not trust. */
#define IMAP_CLIENT_RESP_MAX (1024 * 1024)
/* Arguments per list and lists inside lists, both far above what the
 * responses we read need. */
#define IMAP_CLIENT_ARGS_MAX 4096
#define IMAP_CLIENT_DEPTH_MAX 16
/* How long one command may take before the connection counts as dead. */
#define IMAP_CLIENT_TIMEOUT_MS (30 * 1000)

struct event_base;
struct imap_client;

enum imap_client_arg_type {
	IMAP_CLIENT_ARG_ATOM,	/* atom, number, or flag; "BODY[...]" too */
	IMAP_CLIENT_ARG_STRING,	/* quoted string or literal */
	IMAP_CLIENT_ARG_NIL,	/* NIL */
	IMAP_CLIENT_ARG_LIST,	/* parenthesised list */
};

/* One argument of a response. */
struct imap_client_arg {
	enum imap_client_arg_type type;
	char *str;			/* ATOM, STRING: the bytes, NUL-ended
					   (a literal may hold NULs too) */
	size_t len;			/* bytes in str */
	struct imap_client_arg *list;	/* LIST: its members */
	size_t count;			/* LIST: how many */
};

/* One response: untagged ("*"), continuation ("+") or tagged. */
struct imap_client_resp {
	char *tag;			/* "*", "+" or the command's tag */
	char *text;			/* everything after the tag and one
					   space, literals inline; NUL-ended */
	size_t text_len;
	struct imap_client_arg *args;	/* text parsed; parsing stops at
					   the first thing that is no
					   argument (the text of OK...) */
	size_t count;
};

/* How a command ended. */
enum imap_client_status {
	IMAP_CLIENT_FAILED = -1,	/* connection lost, timed out, or the
					   server spoke nonsense: drop it */
	IMAP_CLIENT_OK = 0,		/* tagged OK */
	IMAP_CLIENT_NO = 1,		/* tagged NO or BAD: *error_r says
					   the server's text */
};

/* Called for each untagged response of a command, in order. */
typedef void imap_client_untagged_cb(void *ctx,
    const struct imap_client_resp *resp);

/* Called from the event loop when input, EOF or an error came on the
 * connection; the callback must not run a command itself. */
typedef void imap_client_input_cb(void *ctx);

/*
 * Connect to host and port (a name or an address; IPv6 without
 * brackets) on base, with TLS as tls says (NULL: clear text), and read
 * the greeting: imap_client_open(), then for IMAPS
 * imap_client_start_tls() and imap_client_greeting(), for STARTTLS the
 * other way round. tls must outlive the client. stop, if not NULL,
 * aborts any wait once it becomes nonzero (a signal event sets it).
 * Returns the client, or NULL with *error_r set (lib/error.h); its
 * kind is ERROR_NOT_POSSIBLE when trying again cannot help (see
 * imap_client_start_tls()).
 */
struct imap_client *imap_client_connect(struct event_base *base,
    const char *host, const char *port, const struct client_tls *tls,
    int timeout_ms, volatile sig_atomic_t *stop, const char **error_r);

/* The TCP connection only, as imap_client_connect(): nothing read. */
struct imap_client *imap_client_open(struct event_base *base,
    const char *host, const char *port, int timeout_ms,
    volatile sig_atomic_t *stop, const char **error_r);
/* Read the server's "* OK" greeting (host and port for messages).
 * Returns 0, or -1 with *error_r set. */
int imap_client_greeting(struct imap_client *c, const char *host,
    const char *port, int timeout_ms, const char **error_r);
/*
 * Put TLS on c as tls->mode says and verify the server as host (the
 * name or address given to --server): with CLIENT_TLS_STARTTLS after
 * the greeting (the server must offer STARTTLS; nothing may follow its
 * OK in clear text; the capabilities are asked for again), with
 * CLIENT_TLS_IMAPS before it. Returns 0, or -1 with *error_r set; a
 * certificate that fails verification, a server without STARTTLS and
 * a port that does not speak TLS are ERROR_NOT_POSSIBLE and say what
 * to change.
 */
int imap_client_start_tls(struct imap_client *c,
    const struct client_tls *tls, const char *host, int timeout_ms,
    const char **error_r);
/* The TLS protocol and cipher of c ("TLSv1.3 TLS_AES_128_GCM_SHA256")
 * and the SHA-256 fingerprint of the server's certificate into the
 * buffers; returns false in clear text. */
bool imap_client_tls_info(const struct imap_client *c, char *info,
    size_t info_size, char fp[TLS_FINGERPRINT_TEXT_SIZE]);

/* Close the connection and free the client; *cp becomes NULL. */
void imap_client_free(struct imap_client **cp);

/* Have cb called (from the loop) when something comes in; NULL: not. */
void imap_client_set_input_cb(struct imap_client *c, imap_client_input_cb *cb,
    void *ctx);
/* The server's address as connected. */
const struct sockaddr *imap_client_peer(const struct imap_client *c,
    socklen_t *len_r);
/* Whether the greeting or last CAPABILITY response named cap (compared
 * without regard to case, e.g. "XBELL", "AUTH=PLAIN"). */
bool imap_client_has_cap(const struct imap_client *c, const char *cap);

/*
 * Run one command: send a tag, the formatted text and CRLF, then read
 * responses until the tagged one, passing each untagged one to cb (if
 * not NULL). CAPABILITY responses also update imap_client_has_cap().
 * On IMAP_CLIENT_NO or IMAP_CLIENT_FAILED *error_r says why
 * (lib/error.h).
 */
enum imap_client_status imap_client_cmd(struct imap_client *c,
    imap_client_untagged_cb *cb, void *ctx, const char **error_r,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/*
 * As imap_client_cmd() for a command whose last argument is a literal of
 * len bytes: prefix (formatted text before it), then data. Uses LITERAL+
 * when the server offers it, else waits for the continuation.
 */
enum imap_client_status imap_client_cmd_literal(struct imap_client *c,
    imap_client_untagged_cb *cb, void *ctx, const char **error_r,
    const void *data, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* Log in with AUTHENTICATE PLAIN (SASL-IR) when offered, else LOGIN,
 * then ask CAPABILITY afresh. */
enum imap_client_status imap_client_login(struct imap_client *c,
    const char *user, const char *password, const char **error_r);

/*
 * IDLE (RFC 2177) in three steps so the caller can wait on other things:
 * imap_client_idle_start() sends IDLE and waits for "+", passing what
 * the server sends before it (changes it had waiting) to cb; then the caller
 * runs the loop until the input callback fires (checking
 * imap_client_buffered() first) and reads with imap_client_read();
 * imap_client_idle_done() sends DONE and reads up to the tagged reply,
 * passing untagged ones to cb.
 */
enum imap_client_status imap_client_idle_start(struct imap_client *c,
    imap_client_untagged_cb *cb, void *ctx, const char **error_r);
enum imap_client_status imap_client_idle_done(struct imap_client *c,
    imap_client_untagged_cb *cb, void *ctx, const char **error_r);

/* Whether a whole response (or the end of the connection) is waiting in
 * our buffer, so that a read returns at once. */
bool imap_client_buffered(const struct imap_client *c);
/*
 * Read one response, turning the loop for at most timeout_ms (0: only
 * what is buffered). Returns 1 with *resp_r set (valid until the
 * next read on c), 0 if none came in time, or -1 (connection lost or
 * nonsense, *error_r set).
 */
int imap_client_read(struct imap_client *c, int timeout_ms,
    const struct imap_client_resp **resp_r, const char **error_r);

/* The pure helpers below live in imap-client-parse.c and need no loop. */

/* Quote s as an IMAP quoted string into a new string (free it). Returns
 * NULL if s holds CR, LF or bytes outside 7-bit ASCII. */
char *imap_client_quote(const char *s);

/* An argument as an unsigned 32-bit number. Returns 0, or -1. */
int imap_client_arg_u32(const struct imap_client_arg *arg,
    uint32_t *num_r);
/* Whether arg is an atom equal to name, without regard to case. */
bool imap_client_arg_is(const struct imap_client_arg *arg,
    const char *name);

/* CONDSTORE and QRESYNC (RFC 7162), also pure. */

/* An argument as a MODSEQ (at most 2^63 - 1, RFC 7162 7). Returns 0,
 * or -1. */
int imap_client_arg_modseq(const struct imap_client_arg *arg,
    uint64_t *modseq_r);
/*
 * The number of an untagged "* OK [code n] text" (RFC 3501 7.1:
 * UIDVALIDITY, UIDNEXT; RFC 7162 3.1.2.1: HIGHESTMODSEQ), code
 * compared without regard to case. Returns 0 with *num_r, or -1 if
 * resp is not one or n is not a number up to max.
 */
int imap_client_resp_code_num(const struct imap_client_resp *resp,
    const char *code, uint64_t max, uint64_t *num_r);
/*
 * Whether resp is "* VANISHED [(EARLIER)] uid-set" (RFC 7162 3.2.10).
 * Returns 1 with *earlier_r and *set_r (an argument of resp; read it
 * with imap_client_uidset_next()), 0 for any other response, -1 for a
 * VANISHED that is malformed.
 */
int imap_client_vanished(const struct imap_client_resp *resp,
    bool *earlier_r, const struct imap_client_arg **set_r);
/*
 * The next range of a UID set ("1:3,7,9:8", no "*") from byte *pos of
 * set (start at 0). Returns 1 with *lo_r <= *hi_r and *pos past the
 * range and its comma, 0 at the end, -1 if the set is malformed (a 0,
 * "*", a UID over 32 bits, a stray byte). Reads no byte past set->len.
 */
int imap_client_uidset_next(const struct imap_client_arg *set,
    size_t *pos, uint32_t *lo_r, uint32_t *hi_r);
/* The "MODSEQ (n)" item of a FETCH response's list (RFC 7162
 * 3.1.4.1). Returns 0 with *modseq_r, or -1 if it has none. */
int imap_client_fetch_modseq(const struct imap_client_arg *list,
    uint64_t *modseq_r);

#endif
