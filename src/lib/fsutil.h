/*
 * File system helpers for durable writes: the building blocks of
 * "fsync before success".
 */
#ifndef MB_LIB_FSUTIL_H
#define MB_LIB_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* mkdir -p with the given mode. Returns 0 or -1 with errno set. */
int mkdir_p(const char *path, mode_t mode);
/* fsync(2) the directory itself, so a rename or create in it is durable.
 * Returns 0 or -1 with errno set. */
int fsync_dir(const char *path);
/* fsync(2) the file at path, opened read-only for it. Returns 0 or -1
 * with errno set. */
int fsync_file(const char *path);
/* Write all of data to fd, retrying short writes and EINTR.
 * Returns 0 or -1 with errno set. */
int write_full(int fd, const void *data, size_t len);
/* Replace path atomically with data: write path.tmp (O_EXCL after
 * removing a stale one), fsync it, rename over path, fsync the parent
 * directory. A crash at any point leaves either the old or the new
 * contents. Returns 0 or -1 with errno set. */
int write_file_atomic(const char *path, const void *data, size_t len,
    mode_t mode);
/* As write_file_atomic, without the fsyncs: readers see the old or the
 * new contents, but a crash may leave the old (or, on some file
 * systems, an empty file). For state whose loss is harmless. */
int write_file_replace(const char *path, const void *data, size_t len,
    mode_t mode);
/* Read a whole regular file of at most max bytes into a NUL-terminated
 * malloc'd buffer. Returns 0, or -1 with errno set (EFBIG if too big). */
int read_file(const char *path, size_t max, char **data_r, size_t *len_r);

#endif
