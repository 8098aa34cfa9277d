/*
 * Keywords (IMAP flag keywords such as $label1 or Junk) as Dovecot keeps
 * them in a Maildir: the lowercase letters a..z of a file name's info
 * part (":2,Sab"), each the index of a name in the folder's
 * dovecot-keywords file, whose lines read "<index> <name>" (index 0 is
 * 'a'). Parsing and formatting are pure; read and write do the I/O.
 * Internal to the store and its unit tests.
 */
#ifndef MB_STORE_MAILDIR_KEYWORDS_H
#define MB_STORE_MAILDIR_KEYWORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/limits.h"

/* The file, next to the UID list in a folder's directory. */
#define MAILDIR_KEYWORDS_FILE "dovecot-keywords"

/* A folder's keywords: names[i] is the keyword of letter 'a' + i (NULL:
 * the slot is free). Slots hold a name once given one, so letters in
 * file names keep their meaning. */
struct maildir_keywords {
	char *names[KEYWORDS_MAX];	/* malloc'd or NULL */
};

/* True if name can be a keyword a client creates: an IMAP atom
 * (RFC 3501 flag-keyword) of 1 to KEYWORD_NAME_MAX bytes, not starting
 * with '\' (those are system flags). */
bool maildir_keyword_valid(const char *name);

/*
 * Parse a dovecot-keywords file's bytes into *kw (which must be empty).
 * As Dovecot does, lines that do not read "<index> <name>" with an index
 * below KEYWORDS_MAX are skipped, and a later line for an index
 * replaces an earlier one. Names are taken as they are (even beyond
 * KEYWORD_NAME_MAX), except that names with bytes no atom has are
 * skipped, since IMAP could not send them. Pure.
 */
void maildir_keywords_parse(const char *data, size_t len,
    struct maildir_keywords *kw);
/* The file's contents for kw: "<index> <name>\n" per used slot in index
 * order, as Dovecot writes it. Malloc'd, NUL-terminated. Pure. */
char *maildir_keywords_format(const struct maildir_keywords *kw);
/* The index of name in kw (ASCII case-insensitive, as Dovecot matches
 * keywords), or -1. */
int maildir_keywords_find(const struct maildir_keywords *kw,
    const char *name);
/* The index of name, given the first free slot if missing; -1 if kw is
 * full. *added_r tells whether a slot was taken. */
int maildir_keywords_add(struct maildir_keywords *kw, const char *name,
    bool *added_r);
/* The number of slots in use. */
size_t maildir_keywords_count(const struct maildir_keywords *kw);
/* Free the names (kw itself stays, empty). */
void maildir_keywords_clear(struct maildir_keywords *kw);

/* Read dir's file into *kw (empty first); a missing file is no
 * keywords. 0, or -1 with *error_r. */
int maildir_keywords_read(const char *dir, struct maildir_keywords *kw,
    const char **error_r);
/* Replace dir's file with kw, crash-safely: a temporary file, fsync,
 * rename, fsync of dir. A caller writes it before any file name uses a
 * new letter, under the folder's lock. 0, or -1 with *error_r. */
int maildir_keywords_write(const char *dir, const struct maildir_keywords *kw,
    const char **error_r);

#endif
