/*
 * The notifier's three files in <data_dir>/notify: the registrations,
 * formatted by hand (a save formats every registration on the loop),
 * written atomically and read back line by line, a bad line skipped;
 * the epoch counter, advanced durably once a run; and the master key
 * the registrations' secrets derive from, made once.
 */
#include "notify/notify-registry.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "directory/directory.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/strnum.h"
#include "lib/xmalloc.h"

/* First line of the registrations file; the number is its format. */
#define REGFILE_HEADER "# mailbell notify registrations 2"

/* ---- The registrations file ----
 *
 *   # mailbell notify registrations 2
 *   <id> <secret> <created epoch> <last seen> <pwtag> <user> <n> [folder]...
 *
 * id and pwtag are 16 hex digits; the secret is "-" when it derives from
 * the master key, or 64 hex digits for one of a registration made
 * before secrets were derived (all of format 1's); n is the number of
 * folders (0: every folder), each written with %XX for space, '%' and
 * bytes outside printable ASCII so a line splits on spaces.
 */

static int
append_folder(struct buf *b, const char *f)
{
	static const char hex[] = "0123456789ABCDEF";
	int rc = 0;

	for (; *f != '\0' && rc == 0; f++) {
		unsigned char c = (unsigned char)*f;

		if (c <= 0x20 || c >= 0x7f || c == '%') {
			char esc[3] = { '%', hex[c >> 4], hex[c & 15] };

			rc = buf_append(b, esc, 3);
		} else {
			rc = buf_append(b, f, 1);
		}
	}
	return rc;
}

/* v in decimal at p; returns the digits written (at most 20). */
static size_t
put_dec(char *p, uint64_t v)
{
	char tmp[20];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

/* v as 16 lowercase hex digits at p. */
static void
put_hex64(char *p, uint64_t v)
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = 15; i >= 0; i--, v >>= 4)
		p[i] = hex[v & 15];
}

static int
append_reg(struct buf *b, const struct notify_registry *r,
    const struct notify_reg *reg)
{
	static const char hex[] = "0123456789abcdef";
	/* id, secret, two numbers and the fingerprint, with spaces */
	char head[16 + 1 + NOTIFY_SECRET_LEN * 2 + 1 + 10 + 1 + 10 + 1 +
	    16 + 1];
	unsigned char secret[NOTIFY_SECRET_LEN];
	char tail[1 + 20];
	size_t i, n = 0, len;
	int rc;

	/* By hand, not printf: a save formats every registration on the
	 * loop. */
	put_hex64(head, reg->id);
	len = 16;
	head[len++] = ' ';
	if (!(reg->flags & NOTIFY_REG_OWN_SECRET)) {
		head[len++] = '-';
	} else {
		if (notify_reg_secret(r, reg, secret) < 0)
			return -1;
		for (i = 0; i < NOTIFY_SECRET_LEN; i++) {
			head[len++] = hex[secret[i] >> 4];
			head[len++] = hex[secret[i] & 15];
		}
		OPENSSL_cleanse(secret, sizeof(secret));
	}
	head[len++] = ' ';
	len += put_dec(head + len, reg->created_epoch);
	head[len++] = ' ';
	len += put_dec(head + len, reg->last_seen);
	head[len++] = ' ';
	put_hex64(head + len, reg->user->pwtag);
	len += 16;
	head[len++] = ' ';
	rc = buf_append(b, head, len);
	OPENSSL_cleanse(head, sizeof(head));
	if (reg->folders != NULL)
		while (reg->folders[n] != NULL)
			n++;
	if (rc == 0)
		rc = buf_append_str(b, reg->user->name);
	tail[0] = ' ';
	len = 1 + put_dec(tail + 1, n);
	if (rc == 0)
		rc = buf_append(b, tail, len);
	for (i = 0; i < n && rc == 0; i++) {
		rc = buf_append(b, " ", 1);
		if (rc == 0)
			rc = append_folder(b, reg->folders[i]);
	}
	if (rc == 0)
		rc = buf_append(b, "\n", 1);
	return rc;
}

struct serialize_ctx {
	struct buf *b;
	const struct notify_registry *r;
	int rc;
};

static void
serialize_cb(struct notify_reg *reg, void *ctx)
{
	struct serialize_ctx *sc = ctx;

	if (sc->rc < 0)
		return;
	sc->rc = append_reg(sc->b, sc->r, reg);
	if (sc->rc == 0)
		reg->flags &= (uint8_t)~NOTIFY_REG_DIRTY;
}

int
notify_registry_serialize_step(struct notify_registry *r, struct buf *b,
    size_t *cursor, size_t max)
{
	struct serialize_ctx sc = { b, r, 0 };
	size_t start = b->len, next = *cursor, done = 0;

	if (b->len == 0 && buf_append_str(b, REGFILE_HEADER "\n") < 0)
		return -1;
	do {
		done += notify_registry_scan(r, &next, serialize_cb, &sc);
	} while (sc.rc == 0 && next != 0 && done < max);
	if (sc.rc < 0) {
		/* Lines cut short at the end are dropped; the DIRTY flags
		 * cleared meanwhile are cleared again when the caller
		 * retries the same step. */
		b->len = start;
		b->data[start] = '\0';
		return -1;
	}
	*cursor = next;
	return next == 0 ? 1 : 0;
}

int
notify_regfile_write(const char *path, const void *data, size_t len,
    const char **error_r)
{
	char *tmp, *dir, *slash;
	int fd, rc = -1, saved;

	tmp = xasprintf("%s.tmp", path);
	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		strcpy(dir, ".");
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		goto fail;
	if (write_full(fd, data, len) < 0 || fsync(fd) < 0)
		goto fail_fd;
	if (close(fd) < 0) {
		fd = -1;
		goto fail_fd;
	}
	fd = -1;
	if (rename(tmp, path) < 0 || fsync_dir(dir) < 0)
		goto fail_fd;
	rc = 0;
	goto out;
fail_fd:
	saved = errno;
	if (fd >= 0)
		close(fd);
	(void)unlink(tmp);
	errno = saved;
fail:
	*error_r = error_fmt("%s: cannot write: %s", path, strerror(errno));
out:
	free(tmp);
	free(dir);
	return rc;
}

int
notify_registry_save(struct notify_registry *r, const char *path,
    const char **error_r)
{
	struct buf b;
	size_t cursor = 0;
	int rc;

	buf_init(&b, 0);
	if (notify_registry_serialize_step(r, &b, &cursor, SIZE_MAX) < 0) {
		*error_r = error_fmt("%s: cannot write: %s", path,
		    strerror(ENOMEM));
		rc = -1;
	} else
		rc = notify_regfile_write(path, b.data, b.len, error_r);
	OPENSSL_cleanse(b.data, b.len);
	buf_free(&b);
	return rc;
}

/* Decode a %XX-escaped folder in place. 0 or -1. */
static int
unescape(char *s)
{
	char *w = s;

	while (*s != '\0') {
		if (*s == '%') {
			int hi = str_hex_digit(s[1]), lo = hi < 0 ? -1 : str_hex_digit(s[2]);

			if (lo < 0)
				return -1;
			*w++ = (char)(hi << 4 | lo);
			s += 3;
		} else {
			*w++ = *s++;
		}
	}
	*w = '\0';
	return 0;
}

static int
parse_hex(const char *s, unsigned char *out, size_t len)
{
	size_t i;

	if (strlen(s) != len * 2)
		return -1;
	for (i = 0; i < len; i++) {
		int hi = str_hex_digit(s[2 * i]), lo = str_hex_digit(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* One line of the file, split in place. 0 or -1 (the line is bad, or
 * its secret derives from a master key other than r's). */
static int
load_line(struct notify_registry *r, char *line, bool derived_ok)
{
	char *fields[7 + NOTIFY_REG_FOLDERS_MAX + 1];
	char *save = NULL, *tok;
	const char *folders[NOTIFY_REG_FOLDERS_MAX];
	unsigned char secret[NOTIFY_SECRET_LEN], tagb[8];
	struct notify_reg_saved saved = { 0 };
	const char *err;
	uint64_t id, epoch, seen, nf;
	uint64_t tag = 0;
	size_t n = 0, i;
	int ret = -1;

	for (tok = strtok_r(line, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		if (n == sizeof(fields) / sizeof(fields[0]))
			return -1;
		fields[n++] = tok;
	}
	if (n < 2)
		return -1;
	saved.has_secret = strcmp(fields[1], "-") != 0;
	if (!saved.has_secret && !derived_ok)
		return -1;
	if (n < 7 || notify_reg_id_parse(fields[0], &id) < 0 || id == 0 ||
	    (saved.has_secret &&
	    parse_hex(fields[1], secret, sizeof(secret)) < 0) ||
	    str_to_u64(fields[2], 0, UINT32_MAX, &epoch) < 0 ||
	    str_to_u64(fields[3], 0, UINT32_MAX, &seen) < 0 ||
	    parse_hex(fields[4], tagb, sizeof(tagb)) < 0 ||
	    !directory_user_name_valid(fields[5]) ||
	    str_to_u64(fields[6], 0, NOTIFY_REG_FOLDERS_MAX, &nf) < 0 ||
	    n != 7 + nf)
		goto out;
	for (i = 0; i < nf; i++) {
		if (unescape(fields[7 + i]) < 0 || fields[7 + i][0] == '\0')
			goto out;
		folders[i] = fields[7 + i];
	}
	for (i = 0; i < 8; i++)
		tag = tag << 8 | tagb[i];
	saved.id = id;
	if (saved.has_secret)
		memcpy(saved.secret, secret, sizeof(secret));
	saved.user = fields[5];
	saved.folders = folders;
	saved.count = nf;
	saved.created_epoch = (uint32_t)epoch;
	saved.last_seen = (uint32_t)seen;
	saved.pwtag = tag;
	ret = notify_registry_restore(r, &saved, &err);
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(&saved, sizeof(saved));
	return ret;
}

int
notify_registry_load(struct notify_registry *r, const char *path,
    bool derived_ok, size_t *skipped_r, const char **error_r)
{
	char *data, *line, *next;
	size_t len;

	*skipped_r = 0;
	if (read_file(path, NOTIFY_REGFILE_MAX, &data, &len) < 0) {
		if (errno == ENOENT)
			return 0;
		*error_r = error_fmt("%s: cannot read: %s", path,
		    strerror(errno));
		return -1;
	}
	for (line = data; line != NULL && *line != '\0'; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (load_line(r, line, derived_ok) < 0)
			(*skipped_r)++;
	}
	OPENSSL_cleanse(data, len);
	free(data);
	return 0;
}

/* The epoch in path: 0 with *epoch_r (0 when there is none), or -1. */
static int
epoch_read(const char *path, uint64_t *epoch_r, const char **error_r)
{
	char *data = NULL;
	size_t len;

	*epoch_r = 0;
	if (read_file(path, 64, &data, &len) < 0) {
		if (errno == ENOENT)
			return 0;
		*error_r = error_fmt("%s: cannot read: %s", path,
		    strerror(errno));
		return -1;
	}
	data[strcspn(data, "\r\n")] = '\0';
	if (str_to_u64(data, 0, UINT32_MAX, epoch_r) < 0) {
		*error_r = error_fmt("%s: not an epoch number", path);
		free(data);
		return -1;
	}
	free(data);
	return 0;
}

static int
epoch_write(const char *path, uint64_t epoch, const char **error_r)
{
	char text[32];
	int n;

	n = snprintf(text, sizeof(text), "%llu\n", (unsigned long long)epoch);
	if (write_file_atomic(path, text, (size_t)n, 0600) < 0) {
		*error_r = error_fmt("%s: cannot write: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
notify_epoch_next(const char *path, uint32_t *epoch_r, const char **error_r)
{
	uint64_t epoch;

	if (epoch_read(path, &epoch, error_r) < 0)
		return -1;
	/* Epoch 0 is never used, so a wrap would repeat keys. */
	if (epoch >= UINT32_MAX) {
		*error_r = error_fmt("%s: the epoch counter is exhausted", path);
		return -1;
	}
	epoch++;
	if (epoch_write(path, epoch, error_r) < 0)
		return -1;
	*epoch_r = (uint32_t)epoch;
	return 0;
}

int
notify_epoch_at_least(const char *path, uint64_t epoch, const char **error_r)
{
	uint64_t now;

	if (epoch_read(path, &now, error_r) < 0)
		return -1;
	if (now >= epoch)
		return 0;
	if (epoch >= UINT32_MAX) {
		*error_r = error_fmt("%s: the epoch counter is exhausted",
		    path);
		return -1;
	}
	return epoch_write(path, epoch, error_r);
}

int
notify_master_key_write(const char *path,
    const unsigned char key[NOTIFY_MASTER_KEY_LEN], const char **error_r)
{
	static const char hex[] = "0123456789abcdef";
	char text[NOTIFY_MASTER_KEY_LEN * 2 + 1];
	size_t i;
	int rc;

	for (i = 0; i < NOTIFY_MASTER_KEY_LEN; i++) {
		text[2 * i] = hex[key[i] >> 4];
		text[2 * i + 1] = hex[key[i] & 15];
	}
	text[sizeof(text) - 1] = '\n';
	rc = write_file_atomic(path, text, sizeof(text), 0600);
	OPENSSL_cleanse(text, sizeof(text));
	if (rc < 0)
		*error_r = error_fmt("%s: cannot write: %s", path,
		    strerror(errno));
	return rc;
}

int
notify_master_key(const char *path, unsigned char key_r[NOTIFY_MASTER_KEY_LEN],
    bool *created_r, const char **error_r)
{
	char *data = NULL;
	size_t len;
	int rc;

	*created_r = false;
	if (read_file(path, 256, &data, &len) == 0) {
		data[strcspn(data, "\r\n")] = '\0';
		rc = parse_hex(data, key_r, NOTIFY_MASTER_KEY_LEN);
		OPENSSL_cleanse(data, len);
		free(data);
		if (rc < 0)
			*error_r = error_fmt("%s: not a master key", path);
		return rc;
	}
	if (errno != ENOENT) {
		*error_r = error_fmt("%s: cannot read: %s", path,
		    strerror(errno));
		return -1;
	}
	if (notify_random(key_r, NOTIFY_MASTER_KEY_LEN) < 0) {
		*error_r = "no random numbers";
		return -1;
	}
	if (notify_master_key_write(path, key_r, error_r) < 0) {
		OPENSSL_cleanse(key_r, NOTIFY_MASTER_KEY_LEN);
		return -1;
	}
	*created_r = true;
	return 0;
}
