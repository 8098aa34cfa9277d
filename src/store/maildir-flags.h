/*
 * Maildir file names: making new unique names and reading or changing
 * the flags kept in the info part (":2,<letters>"). Pure string code,
 * no I/O. Internal to the store and its unit tests.
 */
#ifndef MB_STORE_MAILDIR_FLAGS_H
#define MB_STORE_MAILDIR_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The separator between a Maildir base name and its info part. */
#define MAILDIR_INFO_SEP ':'
#define MAILDIR_INFO_PREFIX ":2,"

/*
 * Copy hostname into a form safe for a file name: '/' becomes "\057" and
 * ':' becomes "\072", as other Maildir programs do. Malloc'd; an empty
 * hostname gives "localhost".
 */
char *maildir_host_sanitize(const char *hostname);

/*
 * Format a new base name
 * "<sec>.M<usec>P<pid>Q<seq>.<host>,S=<msg_size>,W=<crlf_size>" into buf
 * (size bytes): S= is the file's size, W= its size with every bare LF
 * counted as CRLF (what IMAP sends; Dovecot's "virtual size"). host must
 * already be sanitised. Returns 0, or -1 if it does not fit.
 */
int maildir_name_format(char *buf, size_t size, long long sec, long usec,
    pid_t pid, unsigned long long seq, const char *host, uint64_t msg_size,
    uint64_t crlf_size);

/*
 * Length of the base name of a Maildir file name: the part before the
 * first ':' (the whole name when there is none). The UID list stores
 * this part, so renames that change only flags keep the mapping.
 */
size_t maildir_name_base_len(const char *name);

/* The message size recorded as ",S=<size>" in the base name.
 * Returns true and sets *size_r if present. */
bool maildir_name_size(const char *name, size_t *size_r);
/* The CRLF size recorded as ",W=<size>" in the base name (RFC822.SIZE).
 * Returns true and sets *size_r if present. */
bool maildir_name_crlf_size(const char *name, uint64_t *size_r);

/*
 * The number of bare LFs (not preceded by CR) in data[0 .. len): what
 * the data grows by when sent with CRLF line ends. Data may come in
 * pieces: *cr says whether the byte before data was a CR (false at the
 * start) and is updated for the next piece.
 */
uint64_t maildir_crlf_extra(const unsigned char *data, size_t len,
    bool *cr);

/*
 * The store_flag bits of a file name: letters after ":2," that map to
 * STORE_FLAG_*; other letters are ignored here (kept by
 * maildir_name_set_flags). A name without ":2," has no flags.
 */
unsigned maildir_name_flags(const char *name);

/*
 * A new file name for name with its standard flags replaced by flags
 * (store_flag bits): base + ":2," + letters in ASCII order. Letters of
 * the old info part that are not standard flags (Dovecot keywords a-z,
 * other programs' letters) are kept. Malloc'd.
 */
char *maildir_name_set_flags(const char *name, unsigned flags);

/*
 * The keywords of a file name: bit i for each letter 'a' + i after
 * ":2," (Dovecot's keyword letters, i below KEYWORDS_MAX). The names
 * are in the folder's dovecot-keywords file (maildir-keywords.h).
 */
uint32_t maildir_name_keywords(const char *name);

/*
 * As maildir_name_set_flags, replacing the keyword letters too: letter
 * 'a' + i for each bit i of keywords, after the uppercase flags (ASCII
 * order). Other letters of the old info part are kept. Malloc'd.
 */
char *maildir_name_set_info(const char *name, unsigned flags,
    uint32_t keywords);

#endif
