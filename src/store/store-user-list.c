/*
 * Small per-user files of lines in the user's Maildir (the
 * subscriptions, the special uses): read whole and bounded, replaced
 * atomically under an flock on a lock file beside them, failures
 * reported with the kind errno stands for, so a full disk reaches the
 * client as such.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/xmalloc.h"
#include "store/store-private.h"

int
store_user_file_lock(const char *udir, const char *name,
    const char **error_r)
{
	char *path = xasprintf("%s/%s", udir, name);
	int fd;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		*error_r = error_errno(path, errno);
		free(path);
		return -1;
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno == EINTR)
			continue;
		*error_r = error_errno(path, errno);
		close(fd);
		free(path);
		return -1;
	}
	free(path);
	return fd;
}

int
store_user_list_read(const char *udir, const char *name, size_t max_lines,
    size_t line_max, char ***lines_r, size_t *count_r, const char **error_r)
{
	char *path = xasprintf("%s/%s", udir, name);
	char *data, *p, *eol, **lines = NULL;
	size_t len, count = 0;

	*lines_r = NULL;
	*count_r = 0;
	if (read_file(path, max_lines * (line_max + 2), &data, &len) < 0) {
		if (errno == ENOENT) {
			free(path);
			return 0;
		}
		*error_r = error_errno(path, errno);
		free(path);
		return -1;
	}
	free(path);
	for (p = data; p < data + len; p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(data + len - p))) == NULL)
			eol = data + len;
		*eol = '\0';
		if (eol > p && eol[-1] == '\r')
			eol[-1] = '\0';
		if (*p == '\0' || count >= max_lines)
			continue;
		lines = xreallocarray(lines, count + 1, sizeof(*lines));
		lines[count++] = xstrdup(p);
	}
	free(data);
	*lines_r = lines;
	*count_r = count;
	return 0;
}

int
store_user_list_write(const char *udir, const char *name,
    char *const *lines, size_t count, const char **error_r)
{
	char *path = xasprintf("%s/%s", udir, name);
	struct buf b;
	int ret = 0;

	buf_init(&b, 0);
	for (size_t i = 0; i < count; i++)
		(void)buf_printf(&b, "%s\n", lines[i]);
	if (write_file_atomic(path, b.data, b.len, 0600) < 0) {
		*error_r = error_errno(path, errno);
		ret = -1;
	}
	buf_free(&b);
	free(path);
	return ret;
}
