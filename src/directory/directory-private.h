/*
 * What the directory's files share (directory.c, directory-password.c).
 */
#ifndef MB_DIRECTORY_DIRECTORY_PRIVATE_H
#define MB_DIRECTORY_DIRECTORY_PRIVATE_H

/* password hashed as "{SHA512-CRYPT}$6$..." (malloc'd), or NULL with
 * *error_r set (ERROR_INVALID: empty or longer than PASSWORD_MAX). */
char *directory_hash_password(const char *password, const char **error_r);

#endif
