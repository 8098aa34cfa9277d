/*
 * Allocation that aborts on failure (tmux's xmalloc.h): checking every
 * malloc buries the real errors. Everything returned is zeroed where the
 * name says calloc, and callers free with free(3).
 */
#ifndef MB_LIB_XMALLOC_H
#define MB_LIB_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
