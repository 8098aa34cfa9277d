/*
 * Giving up root after the listeners are bound. All privilege code lives
 * here, so splitting mailbelld into processes later moves this file
 * rather than rewriting the daemon.
 */
#ifndef MB_LIB_PRIVDROP_H
#define MB_LIB_PRIVDROP_H

#include <stdbool.h>
#include <stddef.h>

/* The account mailbelld and the mailbell CLI run as when started as root
 * without [server] user: mailbell if the system has it, else nobody. Root
 * is never kept: every capability would stay with a network daemon. */
#define PRIVDROP_DEFAULT_USER "mailbell"
#define PRIVDROP_FALLBACK_USER "nobody"

/* PRIVDROP_DEFAULT_USER if that account exists, else
 * PRIVDROP_FALLBACK_USER. Static storage. */
const char *privdrop_default_user(void);

/* Whether the process runs with root's user id (real or effective). */
bool privdrop_running_as_root(void);

/*
 * Become the system account user. First each of the ndirs directories in
 * dirs (the data dir and the mail root, which start-up may just have
 * created as root) is handed to user if it belongs to anyone else; the
 * trees below them are not touched. dirs[1..] must lie below dirs[0].
 * No symbolic link is followed: dirs[0] itself may not be one, and each
 * later directory is opened one component at a time from dirs[0] down
 * with O_NOFOLLOW, then given away through its descriptor (fchown), so
 * the account cannot point the hand-over at a directory of root's; a
 * link is an error. Then, in OpenSMTPD's order:
 * setgroups to the account's group alone, setresgid, setresuid, and a
 * check that root cannot be regained.
 *
 * If the process already runs as user, nothing changes. user may not be
 * root (uid 0): deliveries never run as root. Returns 0, or -1 with
 * *error_r set (lib/error.h).
 */
int privdrop_to(const char *user, const char *const *dirs, size_t ndirs,
    const char **error_r);

#endif
