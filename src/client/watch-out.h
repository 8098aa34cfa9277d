/*
 * What `mailbell watch` tells its user: one line per event on stdout,
 * plain or JSON, flushed at once; the From and Subject of a new message
 * decoded from its header (RFC 2047, through GMime); and --exec, which
 * runs a command per new message with the facts in its environment.
 */
#ifndef MB_CLIENT_WATCH_OUT_H
#define MB_CLIENT_WATCH_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One thing that happened in a folder. */
struct watch_mail {
	const char *event;	/* RFC 5423 name: "MessageNew"... */
	const char *folder;	/* IMAP name (modified UTF-7) */
	uint32_t uid;		/* 0: none (MailboxResync) */
	uint32_t uidvalidity;
	const char *via;	/* "udp" or "idle": how we learnt of it */
	bool is_new;		/* a new message: from and subject apply */
	const char *from;	/* decoded, valid UTF-8; NULL: absent */
	const char *subject;	/* decoded, valid UTF-8; NULL: absent */
};

/*
 * Print the ready line: "ready via udp" or {"event":"ready","via":"udp"}.
 * Returns 0, or -1 if stdout cannot be written (the reader is gone).
 */
int watch_out_ready(bool json, const char *via);
/* Print one event line; as watch_out_ready() for the result. */
int watch_out_event(bool json, const struct watch_mail *m);

/*
 * From a header block as BODY[HEADER.FIELDS (FROM SUBJECT)] returns it,
 * the first From and Subject, unfolded, RFC 2047 words decoded, made
 * valid UTF-8; NULL for a field that is absent. Free both.
 */
void watch_out_headers(const char *block, size_t len, char **from_r,
    char **subject_r);

/*
 * Run cmd with /bin/sh -c in a child, with MAILBELL_EVENT, _FOLDER, _UID,
 * _UIDVALIDITY, _FROM, _SUBJECT and _VIA in its environment (never in
 * the command text). Does not wait: call watch_out_reap() now and then.
 * Returns 0, or -1 if fork failed (logged).
 */
int watch_out_exec(const char *cmd, const struct watch_mail *m);
/* Collect exited children without blocking; logs unusual exits. */
void watch_out_reap(void);

/* Release what GMime holds, at exit. */
void watch_out_deinit(void);

#endif
