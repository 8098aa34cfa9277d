/*
 * The state of one `mailbell watch` run, shared by the files that make
 * the command: cmd-watch.c (entry, timers, loop), watch-sync.c (what is
 * new, over IMAP) and watch-modes.c (connecting, registering, UDP and
 * IDLE). Private to them.
 */
#ifndef MB_CLIENT_WATCH_STATE_H
#define MB_CLIENT_WATCH_STATE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/imap-client.h"
#include "client/watch-udp.h"
#include "client/watch.h"

struct event;
struct event_base;

/* Timers, in milliseconds. */
#define WATCH_CONNECT_TIMEOUT_MS 10000
/* HELLO is sent at once, then after 1 and 2 more seconds (4.6). */
#define WATCH_HELLO_FIRST_RETRY_MS 1000
#define WATCH_HELLO_SENDS 3
/* No verified STATUS this long after the first HELLO: use IDLE (4.6). */
#define WATCH_FALLBACK_MS 5000
/* How long a keepalive waits for its STATUS before it counts as lost. */
#define WATCH_STATUS_WAIT_MS 3000
/* Keepalives in a row without a STATUS before IDLE takes over (4.6). */
#define WATCH_MISSED_MAX 2
/* IDLE is left this often to look at every folder, and re-issued: well
 * inside RFC 2177's 29 minutes. */
#define WATCH_IDLE_POLL_MS (5 * 60 * 1000)
/* In IDLE mode, register anew this often: a registration whose
 * datagrams never got through has a lease that runs out, and HELLOs for
 * it would never be answered once UDP works again. */
#define WATCH_REREGISTER_MS (60 * 60 * 1000)
/* A NOOP this often keeps a quiet IMAP session (UDP mode) alive and
 * finds a dead one. */
#define WATCH_NOOP_MS (5 * 60 * 1000)
/* Reconnecting: exponential backoff with jitter between these. */
#define WATCH_BACKOFF_MIN_MS 1000
#define WATCH_BACKOFF_MAX_MS 60000

enum watch_mode {
	WATCH_DOWN,		/* no IMAP session: WATCH_T_RECONNECT says
				   when to try again */
	WATCH_STARTING,		/* registered, HELLO sent, no STATUS yet */
	WATCH_UDP,		/* events come by UDP */
	WATCH_IDLE,		/* events come by IMAP IDLE; UDP probed */
};

/* The timers; each is an evtimer that, when it fires, marks itself due
 * for the loop to act on (see watch_loop()). */
enum watch_timer_id {
	WATCH_T_HELLO,		/* next HELLO (STARTING, IDLE) */
	WATCH_T_FALLBACK,	/* STARTING gives up on UDP */
	WATCH_T_KEEPALIVE,	/* next KEEPALIVE (UDP) */
	WATCH_T_STATUS,		/* the last keepalive's STATUS is late */
	WATCH_T_IDLE_POLL,	/* leave IDLE, look at all folders */
	WATCH_T_REREGISTER,	/* IDLE: a fresh registration */
	WATCH_T_NOOP,		/* next NOOP (UDP, STARTING) */
	WATCH_T_RECONNECT,	/* next connection attempt (DOWN) */
	WATCH_T_COUNT
};

struct watch;

struct watch_timer {
	struct watch *w;
	struct event *ev;	/* an evtimer on w->base */
	bool due;		/* fired, not acted on yet */
};

/* One message's UID and system flags, as NOTIFY's flag diffs keep
 * them (WATCH_FLAG_* bits). */
struct watch_msg {
	uint32_t uid;
	unsigned int flags;
	bool gone;		/* a QRESYNC answer's VANISHED names it (only
				   while the answer is read) */
};

/* What a command's answers may hold besides pushed changes (see
 * struct watch_notify_tap). */
enum watch_cmd_kind {
	WATCH_CMD_PLAIN,	/* FETCH responses with FLAGS are pushes */
	WATCH_CMD_EXAMINE,	/* EXISTS after "* FLAGS" is the new
				   folder's */
	WATCH_CMD_FLAGS,	/* UID FETCH (FLAGS): every FETCH is ours */
	WATCH_CMD_NEW,		/* UID FETCH of new mail that asks FLAGS
				   itself: a FETCH with BODY[...] is ours,
				   one with FLAGS alone a push */
};

/* What we know of one folder. */
struct watch_folder {
	char *name;		/* IMAP name (modified UTF-7) */
	uint32_t uidvalidity;	/* 0 with uidnext 1: a folder NOTIFY told
				   was made, all of it news */
	uint32_t uidnext;	/* every message below it was reported, or
				   was there when we started */
	bool listed;		/* in the last LIST */

	/* With NOTIFY (watch-notify.c): the messages and their flags as
	   last read, to tell expunges and flag changes by UID. */
	struct watch_msg *snap;	/* ascending UID; malloc'd */
	size_t snap_count;
	uint32_t snap_uidvalidity;	/* 0: no snapshot yet */
	bool dirty;		/* NOTIFY told of a change not looked at */

	/* With QRESYNC (watch-qresync.c): every change after MODSEQ
	   modseq is either in snap already or still to be told by a
	   SELECT (QRESYNC (snap_uidvalidity modseq)). */
	uint64_t modseq;
	bool modseq_valid;	/* false: take a snapshot first */
};

struct watch {
	struct watch_opts *o;
	int exit_code;			/* -1 while running */
	/* Set by the SIGINT and SIGTERM events: leave the loop, and abort
	   the wait of a command (the IMAP client reads it). */
	volatile sig_atomic_t stop;

	/* The loop. IMAP commands turn it themselves while they wait for
	   their reply, and libevent runs one loop at a time, so callbacks
	   only note what happened and watch_loop() acts on it between
	   turns. */
	struct event_base *base;
	struct event *sig_int, *sig_term, *sig_chld;
	struct event *udp_ev;		/* udp.fd readable, one shot */
	bool imap_ready;		/* the input callback fired */
	bool udp_ready;			/* udp_ev fired */

	/* The IMAP session. */
	struct imap_client *imap;	/* NULL when down */
	bool xbell;			/* the server offers XBELL */
	bool idling;			/* an IDLE command is running */
	bool inbox_woke;		/* IDLE reported a change */
	bool notify_on;			/* NOTIFY SET is in force on the
					   session (IDLE mode, the server
					   offers NOTIFY) */
	enum watch_cmd_kind cmd_kind;	/* of the next watch_run(), which
					   sets it back to PLAIN */
	char *selected;			/* the EXAMINEd folder, or NULL */
	bool qresync;			/* ENABLE QRESYNC took (RFC 7162) */
	uint64_t selected_modseq;	/* its HIGHESTMODSEQ when EXAMINEd */
	bool have_selected_modseq;

	/* Notifications. */
	struct watch_reg reg;		/* the registration (reg.valid) */
	struct watch_udp udp;
	bool udp_open;
	enum watch_mode mode;

	struct watch_folder *folders;
	size_t folder_count;
	bool baselined;			/* every folder's UIDNEXT read once */

	struct watch_timer timers[WATCH_T_COUNT];
	int hello_sends;		/* HELLOs sent since STARTING */
	int missed;			/* keepalives without STATUS */
	int64_t backoff_ms;		/* the wait after the next failure */
};

/* cmd-watch.c: timers and small helpers. */

/* A random number in [0, n). */
uint64_t watch_random(uint64_t n);
/* The keepalive interval less up to 10% (4.3). */
int64_t watch_keepalive_ms(const struct watch *w);
/* (Re)start a timer to fire in ms, or stop it; either forgets that it
 * was due. */
void watch_timer_set(struct watch *w, enum watch_timer_id id, int64_t ms);
void watch_timer_stop(struct watch *w, enum watch_timer_id id);
/* stdout is gone: stop with EX_IOERR. */
void watch_stdout_failed(struct watch *w);

/* watch-sync.c: the IMAP session and catching up. */

void watch_folders_free(struct watch *w);
/* DOWN until a jittered backoff has passed; the backoff doubles. */
void watch_schedule_reconnect(struct watch *w, const char *what,
    const char *why);
/* Drop the session and go DOWN (unless stopping). */
void watch_lost(struct watch *w, const char *why);
/* Run a command; on a failed connection drop it. Returns the status. */
enum imap_client_status watch_run(struct watch *w,
    imap_client_untagged_cb *cb, void *ctx, const char *what,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The untagged responses of IDLE: EXISTS or EXPUNGE wake INBOX. */
void watch_idle_untagged_cb(void *ctx, const struct imap_client_resp *resp);
/* End a running IDLE. Returns 0, or -1 if the session was lost. */
int watch_leave_idle(struct watch *w);
/*
 * Report every message of the folder from its known UIDNEXT on, with
 * From and Subject; hint_uid (0: none) is reported as hint_event even if
 * it is gone already. Returns 0, or -1 if the session was lost.
 */
int watch_fetch_new(struct watch *w, const char *name, uint32_t hint_uid,
    const char *hint_event, const char *via);
/* As watch_fetch_new(), running before(w, name, uidvalidity) once the
 * folder is selected (uidvalidity 0: it was already, unknown); a
 * before() that returns -1 (the session was lost) ends it. */
typedef int watch_selected_cb(struct watch *w, const char *name,
    uint32_t uidvalidity);
int watch_fetch_new_after(struct watch *w, const char *name,
    uint32_t hint_uid, const char *hint_event, const char *via,
    watch_selected_cb *before);
/* Every folder: LIST, then each one. Returns 0, or -1 if lost. */
int watch_resync_all(struct watch *w, const char *via);
/* Report what an EVENT datagram says, resyncing where it is not
 * enough. Returns 0, or -1 if the session was lost. */
int watch_handle_event(struct watch *w, const struct notify_event *ev);

/* Report the messages of the selected folder name from its UIDNEXT on,
 * and raise its UIDNEXT to uidnext (0: unknown). Returns 0, or -1 if
 * the session was lost. */
int watch_fetch_selected(struct watch *w, const char *name,
    uint32_t uidnext, const char *via);

/* Read the flags of message uid of folder name into its snapshot.
 * Returns 0, or -1 if the session was lost. */
int watch_snap_refresh(struct watch *w, const char *name, uint32_t uid);

/* Folders by name (INBOX in any case), and a new one; pointers into
 * the folders are invalid after watch_folder_add(). */
struct watch_folder *watch_folder_find(struct watch *w, const char *name);
struct watch_folder *watch_folder_add(struct watch *w, const char *name);

/* watch-notify.c: NOTIFY (RFC 5465) in IDLE mode. */

/* A command's untagged responses pass here first while NOTIFY is on
 * (watch_run() does it): STATUS and LIST mark what changed, then the
 * command's own callback gets every response. */
struct watch_notify_tap {
	struct watch *w;
	imap_client_untagged_cb *cb;	/* may be NULL */
	void *ctx;
	/* The folder selected when the command was sent: EXISTS, EXPUNGE
	   and FETCH (FLAGS) pushed for it (RFC 5465 SELECTED) may come
	   with any command, an EXAMINE of another folder too, before
	   its "* FLAGS". */
	const char *folder;
	enum watch_cmd_kind kind;
	bool opened;		/* EXAMINE: its "* FLAGS" came */
};
void watch_notify_tap_cb(void *ctx, const struct imap_client_resp *resp);
/* An untagged response outside a command or in IDLE: STATUS and LIST
 * as above, and the selected folder's EXISTS, EXPUNGE and FETCH mark
 * it changed. */
void watch_notify_untagged(struct watch *w,
    const struct imap_client_resp *resp);
/* On entering IDLE mode: NOTIFY SET if the server offers it, then a
 * snapshot of every folder's flags. Returns 0 (also when NOTIFY is not
 * offered or refused), or -1 if the session was lost. */
int watch_notify_start(struct watch *w);
/* On leaving IDLE mode for UDP: NOTIFY NONE. 0, or -1 if lost. */
int watch_notify_stop(struct watch *w);
/* Whether NOTIFY told of changes not looked at yet. */
bool watch_notify_pending(const struct watch *w);
/* Look at them: each changed folder's new mail, expunges and flag
 * changes are reported (via idle). Returns 0, or -1 if lost. */
int watch_notify_process(struct watch *w);

/* Flags of messages as "UID FETCH (FLAGS)" and QRESYNC read them. */
struct watch_flags_ctx {
	struct watch_msg *msgs;	/* malloc'd */
	size_t count;
	bool overflow;		/* more than WATCH_SNAP_MAX came: msgs is
				   not every message */
};
/* Collect "* n FETCH (UID u FLAGS (...))" into a struct watch_flags_ctx. */
void watch_flags_cb(void *ctx, const struct imap_client_resp *resp);
/* Sort by UID, the last of each UID kept. */
void watch_flags_settle(struct watch_flags_ctx *fc);
/* The WATCH_FLAG_* bits of a FLAGS list. */
unsigned int watch_flags_of(const struct imap_client_arg *list);

/* What SELECT and EXAMINE tell of a folder in their untagged codes. */
struct watch_folder_codes {
	uint32_t uidvalidity, uidnext;
	uint64_t modseq;		/* HIGHESTMODSEQ (RFC 7162) */
	bool have_uidvalidity, have_uidnext, have_modseq;
};
/* If resp is "* OK [UIDVALIDITY n]", "[UIDNEXT n]" or "[HIGHESTMODSEQ
 * n]", take n into *codes and return true; else false. */
bool watch_folder_codes_take(struct watch_folder_codes *codes,
    const struct imap_client_resp *resp);

/* watch-qresync.c: resyncing a folder in one round trip (RFC 7162). */

/* After login: ENABLE QRESYNC if the server offers it. Returns 0, or
 * -1 if the session was lost. */
int watch_qresync_enable(struct watch *w);
/* Resync a folder: with a snapshot, one SELECT (QRESYNC ...) tells
 * expunges and flag changes, then new mail is fetched; without one,
 * take it. Returns 0, or -1 if the session was lost. */
int watch_qresync_folder(struct watch *w, const char *name,
    const char *via);
/* A watch_selected_cb: read every flag of the selected folder into its
 * snapshot, reporting nothing. */
int watch_qresync_baseline(struct watch *w, const char *name,
    uint32_t uidvalidity);
/* Keep the snapshot in step with what a UDP event reported: an
 * expunged message leaves it, one whose flags changed has them read
 * again (so a resync tells neither twice). Returns 0, or -1 if the
 * session was lost. */
int watch_snap_event(struct watch *w, const struct notify_event *ev);
/* A message reported new: into f's snapshot (have_flags false: its
 * flags are unknown, so the snapshot must be taken again). */
void watch_snap_new(struct watch_folder *f, uint32_t uid, unsigned int flags,
    bool have_flags);
/* An old message's flags as a new-mail FETCH read them: while NOTIFY
 * is on, flags that differ from f's snapshot mark f changed, so a push
 * the server folded into that answer is still told. */
void watch_snap_seen(struct watch *w, struct watch_folder *f, uint32_t uid,
    unsigned int flags);

/* watch-modes.c: connecting, registering, the modes. */

/* IDLE mode (why, if not NULL, is logged), after a resync. */
void watch_enter_idle(struct watch *w, const char *why);
/* XBELL REGISTER, dropping the registration we had. Returns 0, 1 if
 * refused, -1 if the session was lost. */
int watch_register(struct watch *w);
void watch_send_hello(struct watch *w);
/* Connect, log in, register; STARTING, or IDLE without XBELL. */
void watch_connect(struct watch *w);
/* Act on the datagrams waiting on the UDP socket. */
void watch_read_datagrams(struct watch *w);

#endif
