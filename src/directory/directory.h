/*
 * The user directory: a passwd-file in Dovecot's format,
 *   name:{SCHEME}hash[:uid:gid:gecos:home:shell:extra]
 * with SHA512-CRYPT by default (crypt(3)); {SHA256-CRYPT}, {BLF-CRYPT},
 * {MD5-CRYPT}, {CRYPT} and {PLAIN} are verified too. Fields after the
 * password are kept but ignored.
 */
#ifndef MB_DIRECTORY_DIRECTORY_H
#define MB_DIRECTORY_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/limits.h"
#include "lib/route.h"

struct mb_config;
struct directory;

/* True if name is a valid user name: 1..USER_NAME_MAX bytes of lowercase
 * letters, digits, '.', '_' and '-', not starting with '.' or '-'. */
bool directory_user_name_valid(const char *name);

/* Open the passwd file at path (it need not exist yet). Never NULL. */
struct directory *directory_open(const char *path);
void directory_free(struct directory **dirp);

/* Read the file again now, even when its inode, size and modification
 * time look unchanged (an edit within the same clock tick that kept the
 * size): the daemon's SIGHUP. Returns 0, or -1 with errno set, the
 * old contents staying in use. */
int directory_reload(struct directory *dir);

/* With a cluster, where the users live: the user map, asked with
 * directory_locate() after the passwd file said who a user is. NULL
 * (the default): one machine, every user is here. */
void directory_set_route(struct directory *dir,
    const struct route_ops *route);
/* Where user (a valid user name) lives now: ROUTE_HERE without a route,
 * else as route->locate() answers. Never blocks. */
enum route_where directory_locate(struct directory *dir, const char *user,
    struct route_peer *peer_r);

/* Whether user exists. Re-reads the file when its inode, size or
 * modification time changed, so `mailbell user add` takes effect without
 * a restart. */
bool directory_user_exists(struct directory *dir, const char *user);
/* 0 if the password matches, -1 otherwise (unknown user included: it
 * costs a hash as a known user does). Blocks for the hash: a server
 * uses directory_verifier() and checks on another thread. */
int directory_verify(struct directory *dir, const char *user,
    const char *password);

/*
 * What to check a password for user against, so the check can run on
 * another thread: a copy of the user's stored password ("{SCHEME}hash"),
 * with *known_r true; or, for an unknown user, a stand-in of the same
 * scheme and cost (another user's stored password, or a built-in
 * SHA512-CRYPT hash when the file has no user) with *known_r false, so
 * that the check takes as long and timing does not tell which users
 * exist. A match against a stand-in means nothing: the caller requires
 * *known_r. Free with directory_secret_free().
 */
char *directory_verifier(struct directory *dir, const char *user,
    bool *known_r);
/* Whether password matches stored (from directory_verifier()). Touches
 * no directory: safe on any thread. */
bool directory_password_check(const char *password, const char *stored);
/* Wipe and free a secret string and set *secretp to NULL. */
void directory_secret_free(char **secretp);

/*
 * Map a recipient to a user name (RFC 5321 path without the angle
 * brackets): "user@domain" where domain is one of cfg's domains (any
 * domain if none are listed), or a bare "user". The local part is matched
 * case-insensitively. Returns 0 with user_r filled, or -1 ("no such
 * user") if it does not map to an existing user.
 */
int directory_resolve(struct directory *dir, const struct mb_config *cfg,
    const char *recipient, char user_r[USER_NAME_MAX + 1]);

/*
 * For the notifier, whose registrations end when their user's password
 * changes: re-read the file if it changed on disk and return a number
 * that changes each time its contents are read again, so a caller sees
 * when to look at its users again.
 */
unsigned long directory_generation(struct directory *dir);
/* The stored password of user ("{SCHEME}hash" as written) as last read,
 * without re-reading, or NULL if there is no such user. Valid until the
 * next call on dir; a secret, so copy nothing of it that is not
 * wiped. */
const char *directory_password_stored(struct directory *dir,
    const char *user);

/* Editing (the `mailbell user` commands): each locks the file, rewrites it
 * atomically and returns 0, or -1 with *error_r set (lib/error.h: an
 * unknown user is ERROR_NOT_FOUND, an existing one ERROR_EXISTS, a bad
 * name or password ERROR_INVALID). */
int directory_user_add(struct directory *dir, const char *user,
    const char *password, const char **error_r);
int directory_user_del(struct directory *dir, const char *user,
    const char **error_r);
int directory_user_passwd(struct directory *dir, const char *user,
    const char *password, const char **error_r);
/* Call cb for each user in file order. Returns 0, or -1 if unreadable. */
typedef void directory_user_cb(const char *user, void *ctx);
int directory_user_list(struct directory *dir, directory_user_cb *cb,
    void *ctx, const char **error_r);

#endif
