/*
 * Error texts in a per-thread ring of buffers, each with the kind of
 * failure it reports (see error.h for the convention).
 */
#include "lib/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct error_slot {
	enum error_code code;
	char text[ERROR_TEXT_MAX];
};

static _Thread_local struct error_slot error_ring[ERROR_RING_SIZE];
static _Thread_local unsigned error_next;

static const char *
error_vfmt(enum error_code code, const char *fmt, va_list ap)
{
	struct error_slot *slot;
	char tmp[ERROR_TEXT_MAX];

	/* Format first: an argument may be the oldest slot's text. */
	(void)vsnprintf(tmp, sizeof(tmp), fmt, ap);
	slot = &error_ring[error_next];
	error_next = (error_next + 1) % ERROR_RING_SIZE;
	slot->code = code;
	memcpy(slot->text, tmp, sizeof(slot->text));
	return slot->text;
}

const char *
error_fmt(const char *fmt, ...)
{
	const char *error;
	va_list ap;

	va_start(ap, fmt);
	error = error_vfmt(ERROR_INTERNAL, fmt, ap);
	va_end(ap);
	return error;
}

const char *
error_code_fmt(enum error_code code, const char *fmt, ...)
{
	const char *error;
	va_list ap;

	va_start(ap, fmt);
	error = error_vfmt(code, fmt, ap);
	va_end(ap);
	return error;
}

enum error_code
error_code_errno(int err)
{
	return err == ENOSPC || err == EDQUOT ? ERROR_NO_SPACE :
	    ERROR_INTERNAL;
}

const char *
error_errno(const char *what, int err)
{
	int saved = errno;
	const char *error;

	error = error_code_fmt(error_code_errno(err), "%s: %s", what,
	    strerror(err));
	errno = saved;
	return error;
}

const char *
error_prefix(const char *prefix, const char *error)
{
	return error_code_fmt(error_code(error), "%s: %s", prefix,
	    error != NULL ? error : "unknown error");
}

enum error_code
error_code(const char *error)
{
	unsigned i;

	if (error == NULL)
		return ERROR_INTERNAL;
	for (i = 0; i < ERROR_RING_SIZE; i++) {
		if (error == error_ring[i].text)
			return error_ring[i].code;
	}
	return ERROR_INTERNAL;
}
