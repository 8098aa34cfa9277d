/*
 * A small growable byte buffer with a hard maximum (after OpenSMTPD's
 * rfc5322.c buf_grow). Any call that grows the buffer may move data:
 * pointers into it are invalid after buf_append() and friends.
 */
#ifndef MB_LIB_BUF_H
#define MB_LIB_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
	unsigned char *data;	/* bytes; NUL-terminated for convenience */
	size_t len;		/* bytes in use, not counting the NUL */
	size_t cap;		/* bytes allocated */
	size_t max;		/* len may never exceed this (0: SIZE_MAX - 1) */
};

/* Initialise an empty buffer that may hold at most max bytes. */
void buf_init(struct buf *b, size_t max);
/* Release the memory; the buffer is empty and reusable afterwards. */
void buf_free(struct buf *b);
/* Forget the contents but keep the memory. */
void buf_reset(struct buf *b);
/* Returns 0, or -1 (nothing appended) if max would be exceeded. */
int buf_append(struct buf *b, const void *data, size_t len);
int buf_append_str(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The contents as a C string (valid until the next change). */
const char *buf_cstr(const struct buf *b);

#endif
