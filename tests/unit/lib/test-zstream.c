/* Unit tests for lib/zstream.c: raw deflate both ways on evbuffers,
 * inflating within a limit without holding output back, corrupt input,
 * and the deflater's memory and release. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <zlib.h>

#include "lib/zstream.h"

/* Raw deflate of data with zlib's defaults, sync flushed, as a client
 * (Python's zlib.compressobj(wbits=-15)) sends it. */
static struct evbuffer *
client_deflate(const void *data, size_t len)
{
	struct evbuffer *out = evbuffer_new();
	unsigned char buf[1 << 16];
	z_stream s;

	memset(&s, 0, sizeof(s));
	assert_int_equal(deflateInit2(&s, 9, Z_DEFLATED, -15, 8,
	    Z_DEFAULT_STRATEGY), Z_OK);
	s.next_in = (unsigned char *)(uintptr_t)data;
	s.avail_in = (uInt)len;
	do {
		s.next_out = buf;
		s.avail_out = sizeof(buf);
		assert_true(deflate(&s, Z_SYNC_FLUSH) != Z_STREAM_ERROR);
		evbuffer_add(out, buf, sizeof(buf) - s.avail_out);
	} while (s.avail_out == 0);
	deflateEnd(&s);
	return out;
}

/* What a client's inflater makes of everything in src. */
static size_t
client_inflate(z_stream *s, struct evbuffer *src, unsigned char *out,
    size_t size)
{
	size_t len = evbuffer_get_length(src);
	unsigned char *in = evbuffer_pullup(src, -1);

	s->next_in = in;
	s->avail_in = (uInt)len;
	s->next_out = out;
	s->avail_out = (uInt)size;
	assert_int_equal(inflate(s, Z_SYNC_FLUSH), Z_OK);
	assert_int_equal(s->avail_in, 0);
	evbuffer_drain(src, len);
	return size - s->avail_out;
}

static void
test_inflate_byte_by_byte(void **state)
{
	const char *text = "a1 LOGIN alice secret\r\na2 SELECT INBOX\r\n";
	struct evbuffer *wire = client_deflate(text, strlen(text));
	struct evbuffer *one = evbuffer_new(), *plain = evbuffer_new();
	struct zstream *z = zstream_new(13, 6);
	const char *error = NULL;

	(void)state;
	while (evbuffer_get_length(wire) > 0) {
		evbuffer_remove_buffer(wire, one, 1);
		assert_int_equal(zstream_inflate(z, one, plain, -1, &error),
		    0);
		assert_int_equal(evbuffer_get_length(one), 0);
	}
	assert_int_equal(evbuffer_get_length(plain), strlen(text));
	assert_memory_equal(evbuffer_pullup(plain, -1), text, strlen(text));
	zstream_free(&z);
	assert_null(z);
	evbuffer_free(wire);
	evbuffer_free(one);
	evbuffer_free(plain);
}

/* A bomb (a megabyte of zeros in a kilobyte) comes out in pieces of the
 * limit, the rest staying in src; and whenever src is used up, nothing
 * is held back inside zlib. */
static void
test_inflate_limit(void **state)
{
	static unsigned char zeros[1 << 20];
	struct evbuffer *wire = client_deflate(zeros, sizeof(zeros));
	struct evbuffer *plain = evbuffer_new();
	struct zstream *z = zstream_new(13, 6);
	const char *error = NULL;
	size_t total = 0;

	(void)state;
	assert_true(evbuffer_get_length(wire) < 2048);
	while (evbuffer_get_length(wire) > 0) {
		assert_int_equal(zstream_inflate(z, wire, plain, 4096,
		    &error), 0);
		assert_true(evbuffer_get_length(plain) <= 4096 + 65536);
		if (evbuffer_get_length(wire) > 0)
			assert_true(evbuffer_get_length(plain) >= 4096);
		total += evbuffer_get_length(plain);
		evbuffer_drain(plain, evbuffer_get_length(plain));
	}
	assert_int_equal(total, sizeof(zeros));
	zstream_free(&z);
	evbuffer_free(wire);
	evbuffer_free(plain);
}

static void
test_inflate_corrupt(void **state)
{
	struct evbuffer *wire = evbuffer_new(), *plain = evbuffer_new();
	struct zstream *z = zstream_new(13, 6);
	const char *error = NULL;

	(void)state;
	/* BTYPE 11 is reserved (RFC 1951 3.2.3). */
	evbuffer_add(wire, "\xff\xff\xff\xff", 4);
	assert_int_equal(zstream_inflate(z, wire, plain, -1, &error), -1);
	assert_non_null(error);
	evbuffer_add(wire, "x", 1);
	assert_int_equal(zstream_inflate(z, wire, plain, -1, &error), -1);
	zstream_free(&z);
	evbuffer_free(wire);
	evbuffer_free(plain);
}

/* Our output, sync flushed, inflates at once at the client; a released
 * deflater's successor continues the same stream; and memory is
 * counted: the small deflater well under zlib's default 256 KiB, and
 * none of it once released. */
static void
test_deflate_flush_release(void **state)
{
	static char text[200000];
	static unsigned char back[sizeof(text)];
	struct evbuffer *src = evbuffer_new(), *wire = evbuffer_new();
	struct zstream *z = zstream_new(13, 6);
	const char *error = NULL;
	size_t idle, busy;
	z_stream client;

	(void)state;
	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = "* 1 FETCH (FLAGS (\\Seen))\r\n"[i % 27];
	memset(&client, 0, sizeof(client));
	assert_int_equal(inflateInit2(&client, -15), Z_OK);
	idle = zstream_memory(z);
	for (int round = 0; round < 2; round++) {
		evbuffer_add(src, text, sizeof(text));
		assert_int_equal(zstream_deflate(z, src, wire, -1, false,
		    &error), 0);
		assert_int_equal(evbuffer_get_length(src), 0);
		assert_true(zstream_deflate_dirty(z));
		zstream_deflate_release(z);	/* dirty: kept */
		assert_int_equal(zstream_deflate(z, src, wire, -1, true,
		    &error), 0);
		assert_false(zstream_deflate_dirty(z));
		assert_int_equal(client_inflate(&client, wire, back,
		    sizeof(back)), sizeof(text));
		assert_memory_equal(back, text, sizeof(text));
		busy = zstream_memory(z);
		assert_true(busy > idle);
		assert_true(busy - idle < 80 * 1024);
		zstream_deflate_release(z);
		assert_int_equal(zstream_memory(z), idle);
	}
	/* Nothing given: a flush writes nothing. */
	assert_int_equal(zstream_deflate(z, src, wire, -1, true, &error), 0);
	assert_int_equal(evbuffer_get_length(wire), 0);
	inflateEnd(&client);
	zstream_free(&z);
	evbuffer_free(src);
	evbuffer_free(wire);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inflate_byte_by_byte),
		cmocka_unit_test(test_inflate_limit),
		cmocka_unit_test(test_inflate_corrupt),
		cmocka_unit_test(test_deflate_flush_release),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
