/*
 * Every protocol and resource limit in mailbell, each with its reason.
 * Network input is checked against these before it is parsed.
 */
#ifndef MB_LIB_LIMITS_H
#define MB_LIB_LIMITS_H

/* --- LMTP (RFC 2033, RFC 5321) --- */

/* RFC 5321 4.5.3.1.4 allows 512 octets per command line; SIZE and other
 * parameters push real MAIL FROM lines past that, so allow twice. */
#define LMTP_LINE_MAX 1024
/* RFC 5321 4.5.3.1.6 allows 1000 octets per text line including CRLF;
 * real mail (long HTML lines) exceeds it, so data lines may be longer,
 * but still bounded so a line without LF cannot grow memory at will. */
#define LMTP_DATA_LINE_MAX (64 * 1024)
/* RFC 5321 4.5.3.1.8 requires at least 100 recipients per transaction. */
#define LMTP_RECIPIENTS_MAX 1000
/* Default for [lmtp] max_message_size: larger than any real mail
 * provider accepts (a message beyond SPOOL_INLINE_MAX goes to a file
 * as it arrives, so the size costs disk, not memory). */
#define LMTP_MESSAGE_SIZE_DEFAULT (50 * 1024 * 1024)
/* Upper bound for [lmtp] max_message_size: a message larger than the
 * largest that any mail system relays is a mistake or an attack. */
#define LMTP_MESSAGE_SIZE_MAX (1024ULL * 1024 * 1024)
/* Bad commands tolerated before the session is closed: a client that
 * speaks another protocol is not going to recover. */
#define LMTP_ERRORS_MAX 10
/* Seconds without any input before an LMTP session is closed
 * (RFC 5321 4.5.3.2.7 server timeout is 5 minutes). */
#define LMTP_IDLE_TIMEOUT_SECS 300
/* Concurrent LMTP sessions; MTAs open a handful per destination. When
 * all are taken, the session idle longest (between transactions) yields
 * to a new one, so idle connections cannot refuse every delivery. */
#define LMTP_SESSIONS_MAX 256
/* LMTP sessions from one address: an MTA opens up to 20 at once by
 * default (Postfix's default_destination_concurrency_limit); half the
 * table leaves the rest to everyone else. */
#define LMTP_SESSIONS_PER_IP (LMTP_SESSIONS_MAX / 2)
/* Input read ahead per LMTP session before reading pauses: the parser
 * consumes it in place, so this bounds memory, not line length. */
#define LMTP_READ_HIGH_WATER (256 * 1024)
/* Replies queued per LMTP session before its input is left unread: a
 * pipelining client that never reads cannot make us buffer without end. */
#define LMTP_OUTPUT_HIGH_WATER (64 * 1024)
/* A reply line from another node's LMTP server (a relay, RFC 5321
 * 4.5.3.1.5 allows 512 octets with CRLF; be as lenient as with our own
 * command lines): a line beyond it is a protocol failure. */
#define LMTP_REPLY_LINE_MAX 1024
/* Lines of one multi-line reply: an LHLO reply names a dozen
 * extensions; more is a broken or hostile peer. */
#define LMTP_REPLY_LINES_MAX 100
/* An enhanced status code, class.subject.detail with up to three digits
 * each (RFC 3463 2): "5.999.999". */
#define LMTP_ENHANCED_CODE_MAX 9
/* Seconds a relay waits to connect to the owner node or for one of its
 * replies before the transaction's recipients there get 451: the nodes
 * share a network, and the MTA retries sooner than RFC 5321 4.5.3.2's
 * five minutes would let it. */
#define LMTP_RELAY_TIMEOUT_SECS 30
/* Seconds a relay waits for the owner's replies after the final dot:
 * the owner writes and fsyncs the message before its 250 (RFC 5321
 * 4.5.3.2.6 allows ten minutes; a node slower than this is failing). */
#define LMTP_RELAY_DATA_TIMEOUT_SECS 120
/* Message bytes queued toward one owner before the client's input is
 * left unread until they drain: the message streams through, so a slow
 * owner cannot make us hold it whole. */
#define LMTP_RELAY_HIGH_WATER (256 * 1024)

/* --- IMAP (RFC 3501, RFC 7888) --- */

/* Bytes of one command, literal data excluded. RFC 7162 3.2.1 asks
 * servers to accept at least 8192 octets; long UID sets from clients
 * that do not compress them need more, Dovecot allows 64 KiB too. */
#define IMAP_LINE_MAX (64 * 1024)
/* Before login only CAPABILITY, STARTTLS, LOGIN, AUTHENTICATE and ID
 * are useful, and RFC 7162's 8192 octets hold them all but the largest
 * ID (IMAP_ID_LINE_MAX_PRELOGIN). */
#define IMAP_LINE_MAX_PRELOGIN 8192
/* Literal bytes of one command: the APPEND message size limit, as for
 * LMTP (LMTP_MESSAGE_SIZE_DEFAULT). A literal over SPOOL_INLINE_MAX is
 * written to a file as it arrives, never held in memory. */
#define IMAP_LITERAL_MAX (50 * 1024 * 1024)
/* Literal bytes of one command held in memory, summed: past it every
 * literal goes to a spool file as one over SPOOL_INLINE_MAX does, so a
 * MULTIAPPEND of 800 messages of 64 KiB holds what one APPEND does
 * (this, plus the read buffer), not 800 x 64 KiB = 50 MiB, and a
 * session's memory stays bounded whatever the command. */
#define IMAP_LITERAL_INLINE_MAX SPOOL_INLINE_MAX
/* Before login literals only carry a user name and a password
 * (USER_NAME_MAX + DOMAIN_MAX + PASSWORD_MAX fit with room). */
#define IMAP_LITERAL_MAX_PRELOGIN 1024
/* Parenthesised list nesting: SEARCH with nested OR/NOT groups is the
 * deepest real command; each level costs the parser one stack slot. */
#define IMAP_LIST_DEPTH_MAX 32
/* ID (RFC 2971) uses one level of parentheses, nothing else nests. */
#define IMAP_LIST_DEPTH_MAX_PRELOGIN 2
/* Arguments of one command, nested ones included: long SEARCH and
 * FETCH header lists stay far below; each costs about 80 bytes. */
#define IMAP_ARGS_MAX 8192
/* ID sends at most 30 field/value pairs (RFC 2971 3.3) plus its list. */
#define IMAP_ARGS_MAX_PRELOGIN 128
/* RFC 2971 3.3: ID sends at most 30 field/value pairs, a field of at
 * most 30 octets and a value of at most 1024. */
#define IMAP_ID_PAIRS_MAX 30
#define IMAP_ID_FIELD_MAX 30
#define IMAP_ID_VALUE_MAX 1024
/* Before login ID alone may be longer than IMAP_LINE_MAX_PRELOGIN:
 * RFC 2971's largest, each pair quoted ("field" "value" and two spaces),
 * plus a pre-login line for the tag, escapes and literal announcements.
 * About 40 KB, held only while an ID command is read. */
#define IMAP_ID_LINE_MAX_PRELOGIN (IMAP_LINE_MAX_PRELOGIN + \
	IMAP_ID_PAIRS_MAX * (IMAP_ID_FIELD_MAX + IMAP_ID_VALUE_MAX + 6))
/* ... and its literals: every field and value of RFC 2971's largest ID
 * sent as a literal. */
#define IMAP_ID_LITERAL_MAX_PRELOGIN \
	(IMAP_ID_PAIRS_MAX * (IMAP_ID_FIELD_MAX + IMAP_ID_VALUE_MAX))

/* Input read ahead per IMAP session before reading pauses: the parser
 * consumes it in place, so this bounds memory, not command size. */
#define IMAP_READ_HIGH_WATER (256 * 1024)
/* Output queued per IMAP session before the session stops reading
 * commands and large responses (FETCH) stop producing: a client that
 * pipelines and never reads, or an IDLE client that stalled, cannot
 * make us buffer without end. */
#define IMAP_OUTPUT_HIGH_WATER (256 * 1024)
/* Producing resumes once the output has drained to this. */
#define IMAP_OUTPUT_LOW_WATER (64 * 1024)
/* COMPRESS=DEFLATE (RFC 4978): our deflater's window (2^13 bytes) and
 * hash level cost 64 KiB a session instead of zlib's default 256 KiB,
 * for about 4% more bytes on plain text and none on FETCH header lists
 * (measured with zlib 1.2.13). RFC 4978 section 4 has every receiver
 * accept any window, so clients are unaffected. */
#define IMAP_DEFLATE_WINDOW_BITS 13
#define IMAP_DEFLATE_MEM_LEVEL 6
/* Compressed output queued under a COMPRESS session before compressing
 * pauses (uncompressed output then waits up to IMAP_OUTPUT_HIGH_WATER
 * above it), and the mark at which compressing resumes. */
#define IMAP_DEFLATE_OUTPUT_HIGH_WATER (64 * 1024)
#define IMAP_DEFLATE_OUTPUT_LOW_WATER (16 * 1024)
/* BAD replies in a row before "* BYE": a client speaking another
 * protocol is not going to recover. */
#define IMAP_BAD_MAX 10
/* Failed logins on one connection before "* BYE" (each already costs
 * the client a random delay). */
#define IMAP_AUTH_FAILURES_MAX 3
/* Seconds before login without a command: a real client logs in at
 * once (RFC 3501 5.4 only bounds the authenticated timeout). */
#define IMAP_PRELOGIN_TIMEOUT_SECS 60
/* Seconds an authenticated session may stay silent outside IDLE: RFC
 * 3501 5.4 asks for at least 30 minutes. */
#define IMAP_AUTOLOGOUT_SECS (30 * 60)
/* Seconds an IDLE session may stay silent: RFC 2177 tells clients to
 * re-issue IDLE within 29 minutes, so never drop one before 30. */
#define IMAP_IDLE_TIMEOUT_SECS (31 * 60)
/* Seconds a client may leave queued output unread before the session
 * is dropped (a stalled reader holds up to IMAP_OUTPUT_HIGH_WATER). */
#define IMAP_WRITE_TIMEOUT_SECS 300
/* Concurrent IMAP sessions in all: each holds a parser and a view,
 * about 1.6 KiB in IDLE and 15 KiB over TLS, so a full table stays
 * under 250 MiB while every desktop and phone of an organisation keeps
 * its one or two IDLE sessions. */
#define IMAP_SESSIONS_MAX 16384
/* Descriptors mailbelld needs beside the sessions' sockets (one per LMTP
 * session, two per IMAP session: a proxied one also holds the
 * connection to the user's node): listeners, the log, message and spool files being written,
 * directories being synced, worker wakeups. */
#define DAEMON_FDS_SPARE 1024
/* Default for [imap] login_timeout: seconds from connect to a completed
 * login, which input does not extend (the pre-login read timeout does:
 * a byte every minute kept a session forever). A real client logs in
 * within a second or two; 60 s leaves room for a slow network. */
#define IMAP_LOGIN_TIMEOUT_DEFAULT_SECS 60
/* Default for [imap] max_prelogin_connections: sessions not logged in,
 * a sixteenth of IMAP_SESSIONS_MAX, so a flood of them never takes the
 * places of logged-in users; once full, the oldest yields to a new one,
 * so new logins go through a flood too. */
#define IMAP_PRELOGIN_SESSIONS_DEFAULT 1024
/* Default for [imap] max_prelogin_connections_per_ip: a client logs in
 * within moments of connecting, so even many users behind one NAT
 * address have few sessions waiting at once; one address cannot fill
 * the pre-login table alone. */
#define IMAP_PRELOGIN_PER_IP_DEFAULT 20
/* Milliseconds a new session may try to log in before it can be made to
 * yield to a newer one: a flood that refills the pre-login table faster
 * than this gets its new connections refused instead, rather than
 * cut every real client off in the middle of its LOGIN. */
#define IMAP_PRELOGIN_GRACE_MS 2000
/* Defaults for [imap] max_connections_per_user and _per_ip: a user's
 * clients open a few connections each (one per watched folder in
 * Thunderbird); NAT puts many users behind one address. */
#define IMAP_CONNECTIONS_PER_USER_DEFAULT 20
#define IMAP_CONNECTIONS_PER_IP_DEFAULT 100
/* Default for [imap] idle_keepalive: "* OK Still here" every two
 * minutes keeps NAT mappings and idle-hostile firewalls open. */
#define IMAP_IDLE_KEEPALIVE_DEFAULT_SECS 120
/* An AUTHENTICATE PLAIN response: base64 of authzid, user and password. */
#define IMAP_SASL_LINE_MAX 2048
/* LIST and LSUB reference plus pattern: matching costs pattern length
 * times name length per folder, and no folder name is longer than
 * FOLDER_NAME_MAX, so a longer pattern can only be an attack. */
#define IMAP_LIST_PATTERN_MAX 1024
/* Mailbox patterns of one extended LIST (RFC 5258 3): each is matched
 * against every folder name, so the count multiplies the work; clients
 * send one to a handful ("INBOX" "Sent*"). */
#define IMAP_LIST_PATTERNS_MAX 16
/* NOTIFY SET (RFC 5465): event groups of one command, and mailbox
 * names in its SUBTREE and MAILBOXES filters, summed. Each event is
 * matched against every group and name of every session of its user,
 * so these bound the work one command can make for every later event;
 * clients send two or three groups naming a few folders. */
#define IMAP_NOTIFY_GROUPS_MAX 16
#define IMAP_NOTIFY_MAILBOXES_MAX 64
/* Notifications for other folders (STATUS, LIST) one session holds
 * while its client does not read or a command runs. A folder's STATUS
 * is held once however often it changes, so only a flood of folder
 * renames or subscriptions fills this; past it the session gets "OK
 * [NOTIFICATIONOVERFLOW]" and NOTIFY NONE (RFC 5465 5.8) rather than
 * growing without bound. */
#define IMAP_NOTIFY_QUEUE_MAX 256

/* Part numbers in a FETCH section ("1.2.3"): each number descends one
 * MIME level, and no message nests deeper than MESSAGE_MIME_DEPTH_MAX. */
#define IMAP_SECTION_PARTS_MAX (MESSAGE_MIME_DEPTH_MAX + 1)
/* A message file FETCH reads whole into memory to answer BODY[] and
 * parse it: the largest message LMTP may be configured to accept. */
#define IMAP_FETCH_MESSAGE_MAX LMTP_MESSAGE_SIZE_MAX
/* SEARCH keys nested in NOT, OR and parentheses: each level is one
 * recursion frame when the program is parsed and when it is matched;
 * real clients nest a few levels. */
#define IMAP_SEARCH_DEPTH_MAX 64
/* Sort criteria of one SORT (RFC 5256): nine keys exist, each may be
 * REVERSEd; more than that only repeats keys that can never decide. */
#define IMAP_SORT_CRITERIA_MAX 16
/* Message-IDs of one References field THREAD links (RFC 5256 2.2 step
 * 1A), the nearest ancestors kept: real threads are far shallower, and
 * each costs a table entry per message. */
#define IMAP_THREAD_REFS_MAX 128
/* Messages whose sort keys the IMAP server keeps between SORT and
 * THREAD commands, over all folders (about 300 bytes each: 30 MB at
 * most); a folder over the rest is read again on each command. */
#define IMAP_SORT_CACHE_MAX 100000
/* Milliseconds a long command (FETCH, SEARCH over a large mailbox) works
 * before it lets the event loop serve everyone else: IDLE pushes, other
 * sessions and deliveries then wait at most this long for one client. */
#define IMAP_COMMAND_SLICE_MS 10

/* --- IMAP proxy (a front door serving a user of another node) --- */

/* A command's tag and first word as the proxy's scanner keeps them, to
 * tell the commands a front door answers itself (XBELL, COMPRESS) from
 * those it passes on: RFC 3501 sets no bound on tags, clients send a
 * few characters; a longer tag or word is passed on unread. */
#define IMAP_PROXY_TAG_MAX 64
#define IMAP_PROXY_WORD_MAX 32
/* Seconds to reach the owner node and log in there: connect, greeting,
 * STARTTLS and its handshake, AUTHENTICATE. Nodes are on one network
 * and answer in milliseconds; the client waits this long at most
 * before NO [UNAVAILABLE]. */
#define IMAP_PROXY_LOGIN_TIMEOUT_SECS 10
/* A line of the owner's while logging in (greeting, tagged replies with
 * their CAPABILITY, about 400 bytes): more is not an IMAP server. */
#define IMAP_PROXY_LOGIN_LINE_MAX 8192
/* Bytes of a command the front door answers itself (XBELL REGISTER with
 * its folder list), literals included: the post-login line limit. */
#define IMAP_PROXY_LOCAL_MAX IMAP_LINE_MAX
/* Seconds a proxied client may stay silent: the owner's own timeouts
 * end its sessions (with a BYE the proxy passes on); this only collects
 * a connection the owner forgot, so it is longer than any of them. */
#define IMAP_PROXY_CLIENT_TIMEOUT_SECS (IMAP_IDLE_TIMEOUT_SECS + 60)

/* --- Authentication (IMAP LOGIN and AUTHENTICATE) --- */

/* Delay before answering the first failed login from an address; each
 * recent failure of the address (or of its network) doubles it, as
 * Dovecot's auth penalty does. */
#define AUTH_PENALTY_BASE_MS 1000
/* Cap of that delay: as Dovecot's 15 s, long enough to make guessing
 * slow, short enough that a user who mistyped is not locked out. */
#define AUTH_PENALTY_MAX_MS 15000
/* One recent failure of an address is forgotten per this many seconds
 * without another, so the delay halves every 30 s of quiet. */
#define AUTH_PENALTY_DECAY_SECS 30
/* Failures of a /24 (IPv4) or /64 (IPv6) count this much less than
 * those of one address: a network often holds several users, but a
 * guesser spreading over its addresses still slows down. */
#define AUTH_PENALTY_NET_SHARE 4
/* Addresses and networks the penalty table tracks (about 80 bytes
 * each); beyond it the one that failed least recently is forgotten. */
#define AUTH_PENALTY_ENTRIES_MAX 65536

/* Threads checking passwords: crypt(3) takes milliseconds per check
 * (SHA512-CRYPT: 5,000 rounds), so two keep logins flowing on a small
 * machine while leaving the event loop a core. */
#define AUTH_WORKERS 2
/* Checks handed to those threads at a time; the rest wait on the loop,
 * where a cancelled one (its client left) costs nothing. */
#define AUTH_CHECKS_RUNNING (2 * AUTH_WORKERS)
/* Checks that may wait; one more is answered NO [UNAVAILABLE] at once.
 * Each pre-login session has at most one, so this is reached only when
 * a flood fills the pre-login table; a wait this long is already a
 * second or more. */
#define AUTH_CHECKS_WAITING 1024
/* A random part of each failed-login delay, added to the penalty (and
 * capped with it at AUTH_PENALTY_MAX_MS), so answers do not arrive in
 * lock step: 1-3 s for a first failure, as before penalties grew. */
#define AUTH_PENALTY_JITTER_MS 2000

/* --- Local addresses and names --- */

/* RFC 5321 4.5.3.1.1 local-part 64 octets; user names are local parts. */
#define USER_NAME_MAX 64
/* RFC 5321 4.5.3.1.3 path 256 octets. */
#define ADDRESS_MAX 256
/* RFC 5321 4.5.3.1.2 domain 255 octets. */
#define DOMAIN_MAX 255
/* crypt(3) hashes are under 128 bytes; a passwd line has a little more. */
#define PASSWD_LINE_MAX 1024
/* The whole passwd file is read into memory on every change; 64 MiB is
 * several hundred thousand users. */
#define PASSWD_FILE_MAX (64 * 1024 * 1024)
/* Passwords read from a terminal, a file or stdin. */
#define PASSWORD_MAX 256
/* Folder names as stored on disk (ext4 allows 255 bytes per name). */
#define FOLDER_NAME_MAX 200

/* --- Store --- */

/* A message received over LMTP (DATA) or IMAP (an APPEND literal) is
 * kept in memory up to this size and beyond it written to a file in a
 * folder's tmp/ as it arrives (store_spool), so 40 sessions receiving
 * 50 MiB each hold about 40 x (read buffer + 64 KiB), not 2 GB. Most
 * mail is smaller (one write, no extra file); a 64 KiB write amortises
 * the system call for larger mail. */
#define SPOOL_INLINE_MAX (64 * 1024)

/* Keywords (flags like $label1, Junk) per folder. Dovecot keeps them in
 * a Maildir file name as the letters a..z, mapped to names by the
 * folder's dovecot-keywords file, so 26 is all a Maildir shared with
 * Dovecot can hold. */
#define KEYWORDS_MAX 26
/* Bytes of a keyword name a client may create: tags in real use are
 * short ($label1, NonJunk, $MDNSent); the bound keeps FLAGS responses
 * and the keywords file small. Names Dovecot wrote are read as they are. */
#define KEYWORD_NAME_MAX 128
/* Bytes of a dovecot-keywords file read: KEYWORDS_MAX lines, with room
 * for the longer names another program may have written. */
#define KEYWORDS_FILE_MAX (64 * 1024)
/* Keywords one STORE or APPEND may name: more than a folder holds can
 * only fail, so parsing stops there. */
#define KEYWORDS_PER_COMMAND_MAX KEYWORDS_MAX

/* One record of a folder's MODSEQ log ("M <uid> <modseq> <flags>
 * <keywords> <check>"): five numbers of at most 20 digits and the
 * separators fit; a longer line is damage, and the log is cut there. */
#define MODSEQ_LOG_LINE_MAX 128
/* The MODSEQ log is rewritten (compacted) once it is this many times
 * the size its live records need, and at least MODSEQ_LOG_COMPACT_MIN
 * bytes: appends stay cheap (one record per change) and the file stays
 * within a small multiple of the UID list it mirrors. */
#define MODSEQ_LOG_COMPACT_FACTOR 4
#define MODSEQ_LOG_COMPACT_MIN (256 * 1024)
/* Expunged UIDs a folder remembers with their MODSEQ (for QRESYNC's
 * VANISHED): beyond this the oldest are forgotten and a client that
 * resyncs from before them is told every UID it may hold that is gone,
 * as RFC 7162 3.2.5.2 allows, instead of the log growing without end. */
#define MODSEQ_GONE_MAX 65536

/* One line of the UID list: uid, space, base file name. */
#define UIDLIST_LINE_MAX 1024
/* The UID list, appended to at each change, is written whole again
 * once the records of gone messages (their "+" and "-") are more than
 * UIDLIST_COMPACT_FACTOR times the live ones and at least
 * UIDLIST_COMPACT_MIN: the file stays within a small multiple of what
 * it holds, and the rewrite, which costs as much as the whole list,
 * comes once per that many expunges, never with each delivery. */
#define UIDLIST_COMPACT_FACTOR 1
#define UIDLIST_COMPACT_MIN 4096
/* Messages buffered for one group commit of the delivery queue: bounds
 * the latency any single delivery can add to the others. */
#define DELIVERY_BATCH_MAX 256
/* Threads writing and fsyncing message files in parallel. */
#define DELIVERY_WRITERS 4
/* UID lists a store keeps parsed in memory (most recently used), so a
 * busy folder is not re-read for every delivery. */
#define STORE_UIDLIST_CACHE_MAX 64
/* File names the store renamed itself and the watcher has not seen yet:
 * bounds memory if inotify events are lost; a forgotten name costs only
 * an extra folder sync. */
#define STORE_OWN_NAMES_MAX 4096
/* Commit rounds whose appends wait for their folder index to take them
 * without reading the folder (store-appended.c): bounds memory when no
 * index reads them; a forgotten round costs only a folder sync. */
#define STORE_APPENDED_MAX 1024
/* Announced UIDs above a folder's settled mark kept for deduplication;
 * beyond it the oldest are treated as settled. */
#define STORE_ANNOUNCED_PENDING_MAX 1024
/* Threads a group commit uses to issue independent fsyncs at once. */
#define STORE_FSYNC_THREADS 8
/* Attempts to find an unused name in tmp/ before giving up. */
#define STORE_TMP_NAME_TRIES 16
/* A file in a folder's tmp/ this much older than now is a delivery that
 * died (a crash, a killed `mailbell deliver`, another program's) and is
 * removed: the Maildir specification's 36 hours, which no delivery in
 * progress comes near. */
#define STORE_TMP_MAX_AGE_SECS (36 * 60 * 60)
/* How often the daemon sweeps every tmp/ for such files after the sweep
 * at start: hourly keeps leftovers from holding space for long while a
 * sweep (one readdir per folder, on its own thread) costs next to
 * nothing. */
#define STORE_TMP_SWEEP_INTERVAL_SECS (60 * 60)
/* Folder indexes kept in memory after their last view closed, so that
 * selecting a folder again (clients do it all the time) costs three
 * stats; a 100,000-message index takes about 10 MB. */
#define STORE_INDEX_CACHE_MAX 32
/* A folder's mailbell-recent file: one line of magic and two UIDs;
 * anything longer is not one. */
#define STORE_RECENT_FILE_MAX 64
/* Lines of a user's subscriptions file: each is a folder name. */
#define STORE_SUBSCRIPTIONS_MAX 10000
/* Lines of a user's special-use file: one per use given, and a use
 * belongs to one folder, so a handful; the rest is never read. */
#define STORE_SPECIAL_USE_LINES_MAX 64
/* MIME nesting (multipart and message/rfc822 levels) a parsed message
 * may have: real mail nests a few levels; each level costs the parser a
 * stack frame, and IMAP BODYSTRUCTURE output grows with the depth. */
#define MESSAGE_MIME_DEPTH_MAX 64
/* MIME parts of one message (Dovecot's default too): each costs a few
 * hundred bytes, so a message of bare delimiter lines cannot make us
 * allocate many times its size; delimiters beyond it are body text. */
#define MESSAGE_MIME_PARTS_MAX 10000
/* Lines starting with "--" (possible MIME delimiters) a message may have
 * before its structure is parsed at all: GMime builds every part before
 * MESSAGE_MIME_PARTS_MAX can apply (about 1.3 KB each), so a hostile
 * message of bare delimiter lines would cost gigabytes; real mail has a
 * few per part. */
#define MESSAGE_DELIMITER_LINES_MAX (2 * MESSAGE_MIME_PARTS_MAX)
/* Parameters of one Content-Type or Content-Disposition field, and tags
 * of one Content-Language: real ones have a handful; the rest are
 * ignored, which bounds the work of joining RFC 2231 continuations. */
#define MESSAGE_MIME_PARAMS_MAX 128

/* --- Notifier (doc/notify-protocol.md) --- */

/* Largest datagram (UDP payload) sent or read: with 40 bytes of IPv6 and
 * 8 of UDP header it fits the IPv6 minimum MTU of 1280, so nothing is
 * ever fragmented (RFC 9000 s14); protocol version 1 fixes it. */
#define NOTIFY_DATAGRAM_MAX 1200
/* HELLO, VERIFY and KEEPALIVE are padded to at least this many bytes and
 * shorter ones are dropped, so the server can answer an endpoint it has
 * not verified (CHALLENGE, 84 bytes) without sending more than it got. */
#define NOTIFY_PADDED_MIN 128
/* Folder name bytes in an EVENT (FOLDER_NAME_MAX today, but fixed by
 * protocol version 1); a longer name is sent as MailboxResync. */
#define NOTIFY_FOLDER_MAX 200
/* Packet numbers the replay window tracks, the highest accepted and the
 * 63 below it, as ESP does by default (RFC 4303 s3.4.3); anything older
 * counts as a replay. */
#define NOTIFY_REPLAY_WINDOW 64
/* Seconds per cookie time slot; the current and the previous slot are
 * accepted, so a cookie lives 2 to 4 minutes: long enough for a slow
 * round trip, short enough that a stolen one soon expires. */
#define NOTIFY_COOKIE_SLOT_SECS 120

/* [notify] keepalive: the interval a client is told to send keepalives
 * at. Linux conntrack forgets an unreplied UDP flow after 30 s and many
 * NATs after about as long, so 25 s (wg(8)'s advice) keeps mappings
 * open; RFC 8085 s3.5 asks for no more than one per 15 s, and JMAP
 * (RFC 8620 s7.3) clamps push pings to at most 300 s. */
#define NOTIFY_KEEPALIVE_DEFAULT_SECS 25
#define NOTIFY_KEEPALIVE_MIN_SECS 15
#define NOTIFY_KEEPALIVE_MAX_SECS 300
/* [notify] lease: how long a registration lives after the client's last
 * authenticated datagram. RFC 8620 s7.2 asks push servers to allow at
 * least 48 hours and recommends 7 days; the bounds keep a lease longer
 * than a few keepalives and shorter than a season. */
#define NOTIFY_LEASE_DEFAULT_SECS (7 * 24 * 3600)
#define NOTIFY_LEASE_MIN_SECS 60
#define NOTIFY_LEASE_MAX_SECS (90 * 24 * 3600)
/* [notify] max_registrations_per_user: a user has a few devices, each
 * registering once per start; 16 leaves room for stale leases. */
#define NOTIFY_REGISTRATIONS_PER_USER_DEFAULT 16
/* [notify] max_registrations in all: each costs about 160 bytes while
 * its endpoint is verified, so the default stays near 32 MB. */
#define NOTIFY_REGISTRATIONS_DEFAULT 200000
/* Upper bound for both registration limits (the registry's hash table
 * and its file grow with them). */
#define NOTIFY_REGISTRATIONS_MAX 10000000
/* Folders one XBELL REGISTER may name; a client wanting more registers
 * for every folder. */
#define NOTIFY_REG_FOLDERS_MAX 64
/* Events of a registration kept unacknowledged; one more replaces them
 * all with a single MailboxResync (doc/notify-protocol.md 4.4). */
#define NOTIFY_UNACKED_MAX 32
/* Sends of one EVENT (the first and four retransmissions after 1, 2, 4
 * and 8 s), as few as STUN's 7 and ending well within a keepalive. */
#define NOTIFY_EVENT_SENDS 5
/* Authenticated datagrams acted on per second from one source address
 * and port for one registration: a client sends one keepalive per
 * interval and a few ACKs, so more is a broken or hostile sender;
 * counted per source, so replays sent from elsewhere never spend the
 * real client's budget (4.7). */
#define NOTIFY_ENDPOINT_RATE_PER_SEC 20
/* Source endpoint and registration pairs whose budget is kept at once:
 * a fixed table (40 bytes a slot), so a flood from many addresses costs
 * no memory; a pair that loses its slot to another starts again with a
 * full budget, which errs towards serving a client, never against it. */
#define NOTIFY_ENDPOINT_SLOTS 4096
/* Previous epochs' client keys kept at once (about 64 bytes a slot), so
 * replays of an old datagram cost one derivation, not one each; a
 * client needs its old epoch's key only for a keepalive or two after a
 * restart (4.5). */
#define NOTIFY_OLD_KEYS_SLOTS 256
/* Derivations of a previous epoch's key per second, server-wide (about
 * 10 us each): room for every client of a full server (200000 at the
 * 25 s default keepalive, 8000 a second) coming back after a restart,
 * while forged old epochs from spoofed sources cost at most a tenth of
 * a core. */
#define NOTIFY_OLD_DERIVE_PER_SEC 10000
/* A verified endpoint silent for this many keepalive intervals is
 * forgotten (its address wiped): no events go to an address whose NAT
 * mapping has most likely expired (design notes item 10). */
#define NOTIFY_SILENCE_INTERVALS 3
/* Seconds between sweeps of every registration (leases, silent
 * endpoints, password changes); one sweep instead of a timer each. */
#define NOTIFY_SWEEP_SECS 5
/* Last-seen times reach the registrations file at most this often;
 * losing them in a crash costs a lease at most this much. */
#define NOTIFY_LASTSEEN_FLUSH_SECS 60
/* Datagrams read, and sent, per system call (recvmmsg, sendmmsg). */
#define NOTIFY_BATCH 32
/* Registrations one store event reaches per loop turn: a delivery to
 * many registrations is sent in slices of this many (about 10 ms of
 * sealing and sendmmsg) so its LMTP reply and every other session go
 * on between them, instead of waiting for the whole burst. */
#define NOTIFY_FANOUT_BATCH 1024
/* Datagrams read per readiness callback before the loop runs others:
 * twice a fan-out slice, so that the acknowledgements of a burst are
 * read faster than the burst is sent (each turn of the loop sends one
 * slice) and do not pile up in the socket until the kernel drops them,
 * which would bring a needless resend of each event whose ACK it
 * dropped. */
#define NOTIFY_READ_BUDGET (2 * NOTIFY_FANOUT_BATCH)
/* Registrations formatted for the registrations file per loop turn:
 * one or two milliseconds (about 0.8 us each, most of it cache misses),
 * so a save of a million registrations never holds the loop for long;
 * other work runs between the slices. */
#define NOTIFY_SAVE_SLICE 2048
/* Bytes of the registrations file read at start (about 150 per
 * registration). */
#define NOTIFY_REGFILE_MAX ((size_t)NOTIFY_REGISTRATIONS_MAX * 256)
/* Epochs a node restored from the cluster (its notify directory lost)
 * skips past the one the bucket holds: starts it made while NATS was
 * away never reached the bucket, and an epoch used twice with the same
 * master key would repeat keys and nonces (doc/notify-protocol.md 3.2). */
#define NOTIFY_RESTORE_EPOCH_SKIP 1000

/* --- Configuration --- */

/* Longest line inih reads from the configuration file. */
#define CONFIG_LINE_MAX 1024
/* [server] domains entries. */
#define CONFIG_DOMAINS_MAX 64
/* [server] listen addresses. */
#define CONFIG_LISTEN_MAX 8

/* --- Daemon --- */

/* Attempts at binding a service asked to pick a free port (port 0) on
 * several addresses: the port the kernel picks on the first address may
 * be taken on another, so bind everything again on a fresh pick. */
#define LISTEN_PORT_PICK_TRIES 16
/* Seconds after SIGTERM that IMAP and LMTP sessions have to finish the
 * command in hand and send their BYE or 421; then the ones left (a
 * client that does not read, one stopped in the TLS handshake) are
 * closed, so that a stop or restart never waits on a client. Mail is
 * acknowledged only once it is on disk, so closing loses none. */
#define SERVICE_SHUTDOWN_GRACE_SECS 5

/* --- mailbell watch --- */

/* Messages of one folder whose UID and flags `mailbell watch` keeps to
 * tell expunges and flag changes (12 bytes each, so 48 MB a folder at
 * most, however many FETCH answers a server sends); a larger folder
 * keeps no snapshot and only its new mail is told. */
#define WATCH_SNAP_MAX (4 * 1024 * 1024)

/* --- Admin HTTP --- */

/* Requests to the admin port are GETs without bodies. */
#define ADMIN_HEADERS_MAX 8192
#define ADMIN_BODY_MAX 1024
#define ADMIN_TIMEOUT_SECS 10
/* An admin bearer token's length: at least 128 bits of base64 or hex,
 * so it cannot be guessed over the network; at most a line of text. */
#define ADMIN_TOKEN_MIN 22
#define ADMIN_TOKEN_MAX 256
/* The status page's charts: one sample a second over the last 15
 * minutes (a few kilobytes). */
#define ADMIN_HISTORY_SECS 900
/* Rows of /api/registrations and /api/sessions in one page: a page of
 * a million registrations stays a few hundred kilobytes of JSON. */
#define ADMIN_PAGE_DEFAULT 100
#define ADMIN_PAGE_MAX 1000
/* Debian's libjs-chart.js, which the status page draws with. */
#define ADMIN_CHARTJS_PATH "/usr/share/javascript/chart.js/chart.min.js"
#define ADMIN_CHARTJS_MAX (4 * 1024 * 1024)

/* --- Cluster ([cluster]) --- */

/* A node's name: a NATS subject token and a KV key ([a-z0-9_-]). */
#define CLUSTER_NODE_NAME_MAX 32
/* A host name as other nodes reach a node (RFC 1035 2.3.4). */
#define CLUSTER_HOST_MAX 255
/* The cluster secret nodes log in to each other with: at least 128 bits
 * of base64 or hex, at most a line. */
#define CLUSTER_SECRET_MIN 22
#define CLUSTER_SECRET_MAX 256
/* A NATS connect or request that takes longer than this has failed;
 * the next server or try follows. */
#define CLUSTER_NATS_TIMEOUT_MS 2000
/* Between attempts to reach a NATS server again. */
#define CLUSTER_NATS_RECONNECT_MS 250
/* Events are kept this long, so a node away for less catches up from
 * its durable consumer when it returns. */
#define CLUSTER_EVENT_MAX_AGE_SECS (24 * 3600)
/* An event resent within this window (the same Nats-Msg-Id) is stored
 * once: a publish whose acknowledgement was lost is safe to repeat. */
#define CLUSTER_EVENT_DUPLICATE_SECS 120
/* Events waiting to be published; beyond, the oldest are dropped (and
 * counted) while NATS is away: a day of a busy node's mail would not
 * fit in memory, and the clients resynchronise when they reconnect. */
#define CLUSTER_PUBLISH_QUEUE_MAX 100000
/* Events sent to the stream together, without waiting for each one's
 * acknowledgement: one round trip for many when mail arrives faster
 * than the stream answers. */
#define CLUSTER_PUBLISH_BATCH 128
/* Events fetched from the stream at once, and how long one fetch waits
 * for the first. */
#define CLUSTER_FETCH_BATCH 256
#define CLUSTER_FETCH_WAIT_MS 500
/* Each event also goes to the other nodes early, over plain NATS; a
 * node remembers which came that way over this many event numbers of
 * each owner (half behind the highest the stream brought, half ahead),
 * for this many owners: 1 KiB each per start, two starts kept. */
#define CLUSTER_DEDUP_WINDOW 4096
#define CLUSTER_DEDUP_NODES_MAX 1024
/* Early copies waiting to be sent; beyond, an event goes by the stream
 * alone (the early copy only saves time, and would be late anyway). */
#define CLUSTER_EARLY_QUEUE_MAX 1024
/* How often a node writes its record (its heartbeat), and after how
 * long without one `mailbell cluster nodes` calls it down. */
#define CLUSTER_HEARTBEAT_SECS 5
/* A failed move's reason as the moves bucket keeps it. */
#define CLUSTER_MOVE_ERROR_MAX 200
/* One reply of a move's copy: a chunk of a file or a page of the file
 * list (NATS's default max_payload is 1 MiB). */
#define CLUSTER_MOVE_CHUNK (256 * 1024)
/* The source of a move waits this long for the user's deliveries and
 * sessions to end; a node copying waits this long for each answer. */
#define CLUSTER_MOVE_QUIESCE_SECS 10
#define CLUSTER_MOVE_REQUEST_MS 30000
/* How long `mailbell cluster move` follows a move before giving up
 * (the move goes on). */
#define CLUSTER_MOVE_WAIT_SECS 600
/* Files of one Maildir tree a move copies (messages, UID lists,
 * indexes of every folder), and how deep its folders nest. */
#define CLUSTER_MOVE_FILES_MAX (8 * 1024 * 1024)
#define CLUSTER_MOVE_DEPTH_MAX 8
/* A move request is signed with the cluster secret and its time; one
 * older (or further ahead) than this is refused, so a request seen on
 * NATS cannot be replayed later. Nodes' clocks must agree this well. */
#define CLUSTER_MOVE_AUTH_SKEW_SECS 60
#define CLUSTER_NODE_DOWN_SECS 15
/* A node's notifier state in mailbell-registrations is cut into pieces
 * of at most this many bytes, one KV value each: half of NATS's default
 * max_payload (1 MiB), leaving room for the headers of the message. */
#define CLUSTER_REGS_PIECE_MAX (512 * 1024)
/* Pieces of one node's state: 32 MiB, about 200,000 registrations (160
 * bytes each). A node with more keeps the first that fit in the bucket
 * and logs it; the others are only on its disk. */
#define CLUSTER_REGS_PIECES_MAX 64
/* Tries at reading a node's state at start: a read that meets a write
 * under way (pieces of two writes) does not authenticate, and the next
 * try reads the write complete. */
#define CLUSTER_REGS_READ_TRIES 3

#endif
