/*
 * Raw deflate streams on evbuffers for compressed connections (see
 * zstream.h): zlib's inflate and deflate, fed one evbuffer chunk at a
 * time into space reserved in the destination, with zlib's allocations
 * counted.
 */
#include "lib/zstream.h"

#include <assert.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "lib/error.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

/* Output reserved in dst per call into zlib. */
#define ZSTREAM_CHUNK 16384
/* Output the inflater may still give once src is used up (the end of a
 * match and the codes in its bit buffer: a few KiB at most). More means
 * a zlib that misbehaves, and is refused rather than followed. */
#define ZSTREAM_INFLATE_SLACK (64 * 1024)

struct zstream {
	z_stream in;		/* the peer's stream: raw, any window */
	z_stream out;		/* ours: raw, out_window_bits */
	int out_window_bits;	/* deflateInit2() parameters */
	int out_mem_level;
	size_t memory;		/* bytes zlib holds, both streams */
	bool out_ready;		/* out is initialised */
	bool out_dirty;		/* out was given bytes since its last flush */
	bool in_ended;		/* the peer's final block was read */
	bool failed;		/* corrupt input or a zlib error */
};

/* zlib's allocations, each with its size in front so that freeing can
 * count it. */
union zstream_head {
	size_t size;
	max_align_t align;
};

static voidpf
zstream_alloc(voidpf opaque, uInt items, uInt size)
{
	struct zstream *z = opaque;
	size_t n = (size_t)items * size;
	union zstream_head *h;

	if (size != 0 && n / size != items)
		return Z_NULL;
	h = xmalloc(sizeof(*h) + n);
	h->size = n;
	z->memory += n;
	return h + 1;
}

static void
zstream_release(voidpf opaque, voidpf address)
{
	struct zstream *z = opaque;
	union zstream_head *h = (union zstream_head *)address - 1;

	z->memory -= h->size;
	free(h);
}

struct zstream *
zstream_new(int window_bits, int mem_level)
{
	struct zstream *z = xcalloc(1, sizeof(*z));

	assert(window_bits >= 9 && window_bits <= 15);
	assert(mem_level >= 1 && mem_level <= 9);
	z->out_window_bits = window_bits;
	z->out_mem_level = mem_level;
	z->in.zalloc = zstream_alloc;
	z->in.zfree = zstream_release;
	z->in.opaque = z;
	/* RFC 4978 section 4: the receiver must accept any window. */
	if (inflateInit2(&z->in, -15) != Z_OK)
		fatalx("zlib: cannot make an inflater (zlib %s)",
		    zlibVersion());
	return z;
}

void
zstream_free(struct zstream **zp)
{
	struct zstream *z = *zp;

	if (z == NULL)
		return;
	inflateEnd(&z->in);
	if (z->out_ready)
		deflateEnd(&z->out);
	assert(z->memory == 0);
	free(z);
	*zp = NULL;
}

/* One call of step (inflate or deflate) on s with flush mode: the
 * first chunk of src (which may be empty) in, at most room bytes
 * reserved in dst out. Sets *used_r to the bytes it took from src and
 * *made_r to the bytes it wrote to dst; returns zlib's status. */
static int
zstream_step(z_stream *s, int (*step)(z_streamp, int), int mode,
    struct evbuffer *src, struct evbuffer *dst, size_t room,
    size_t *used_r, size_t *made_r)
{
	struct evbuffer_iovec in = { NULL, 0 }, out;
	int ret;

	(void)evbuffer_peek(src, -1, NULL, &in, 1);
	if (evbuffer_reserve_space(dst, room, &out, 1) < 1)
		fatalx("zlib: cannot reserve output");
	if (out.iov_len > room)
		out.iov_len = room;
	s->next_in = in.iov_base;
	s->avail_in = (uInt)in.iov_len;
	s->next_out = out.iov_base;
	s->avail_out = (uInt)out.iov_len;
	ret = step(s, mode);
	*used_r = in.iov_len - s->avail_in;
	*made_r = out.iov_len - s->avail_out;
	out.iov_len = *made_r;
	evbuffer_commit_space(dst, &out, 1);
	evbuffer_drain(src, *used_r);
	return ret;
}

int
zstream_inflate(struct zstream *z, struct evbuffer *src,
    struct evbuffer *dst, ssize_t limit, const char **error_r)
{
	size_t produced = 0, used, made, room;
	int ret;

	if (z->failed)
		goto fail;
	for (;;) {
		bool src_left = evbuffer_get_length(src) > 0;

		if (src_left && z->in_ended) {
			*error_r = "data after the end of the compressed "
			    "stream";
			goto fail;
		}
		room = ZSTREAM_CHUNK;
		if (src_left && limit >= 0) {
			if (produced >= (size_t)limit)
				return 0;	/* the rest waits in src */
			if ((size_t)limit - produced < room)
				room = (size_t)limit - produced;
		}
		ret = zstream_step(&z->in, inflate, Z_SYNC_FLUSH, src, dst,
		    room, &used, &made);
		produced += made;
		if (ret == Z_STREAM_END)
			z->in_ended = true;
		else if (ret != Z_OK && ret != Z_BUF_ERROR) {
			*error_r = error_fmt("corrupt compressed data: %s",
			    z->in.msg != NULL ? z->in.msg : zError(ret));
			goto fail;
		}
		/* Done once src is used up and zlib had room to spare: it
		 * holds no output back. */
		if (evbuffer_get_length(src) == 0 &&
		    (made < room || ret == Z_STREAM_END))
			return 0;
		if (!src_left && limit >= 0 &&
		    produced > (size_t)limit + ZSTREAM_INFLATE_SLACK) {
			*error_r = "inflater output without input";
			goto fail;
		}
	}
fail:
	if (z->failed)
		*error_r = "compressed stream unusable after an error";
	z->failed = true;
	return -1;
}

/* Make the deflater, at the first output after zstream_new() or a
 * release. */
static void
deflate_ready(struct zstream *z)
{
	if (z->out_ready)
		return;
	memset(&z->out, 0, sizeof(z->out));
	z->out.zalloc = zstream_alloc;
	z->out.zfree = zstream_release;
	z->out.opaque = z;
	if (deflateInit2(&z->out, Z_DEFAULT_COMPRESSION, Z_DEFLATED,
	    -z->out_window_bits, z->out_mem_level,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		fatalx("zlib: cannot make a deflater (zlib %s)",
		    zlibVersion());
	z->out_ready = true;
}

/* One call into deflate (zstream_step()) with ZSTREAM_CHUNK bytes of
 * room. Sets *full_r when zlib filled all of it (it may have more to
 * give). */
static int
deflate_chunk(struct zstream *z, struct evbuffer *src, struct evbuffer *dst,
    int mode, size_t *made_r, bool *full_r)
{
	size_t used;
	int ret;

	ret = zstream_step(&z->out, deflate, mode, src, dst, ZSTREAM_CHUNK,
	    &used, made_r);
	*full_r = *made_r == ZSTREAM_CHUNK;
	if (used > 0)
		z->out_dirty = true;
	return ret;
}

int
zstream_deflate(struct zstream *z, struct evbuffer *src,
    struct evbuffer *dst, ssize_t limit, bool flush, const char **error_r)
{
	size_t produced = 0, made;
	bool full;
	int ret;

	if (evbuffer_get_length(src) == 0 && (!flush || !z->out_dirty))
		return 0;
	deflate_ready(z);
	while (evbuffer_get_length(src) > 0) {
		if (limit >= 0 && produced >= (size_t)limit)
			return 0;	/* the rest waits in src */
		ret = deflate_chunk(z, src, dst, Z_NO_FLUSH, &made, &full);
		produced += made;
		if (ret != Z_OK && ret != Z_BUF_ERROR)
			goto fail;
	}
	if (!flush || !z->out_dirty)
		return 0;
	/* Z_SYNC_FLUSH until zlib leaves room: all of it is out. */
	do {
		ret = deflate_chunk(z, src, dst, Z_SYNC_FLUSH, &made, &full);
		if (ret != Z_OK && ret != Z_BUF_ERROR)
			goto fail;
	} while (full);
	z->out_dirty = false;
	return 0;
fail:
	*error_r = error_fmt("compressing: %s", zError(ret));
	return -1;
}

bool
zstream_deflate_dirty(const struct zstream *z)
{
	return z->out_dirty;
}

void
zstream_deflate_release(struct zstream *z)
{
	if (!z->out_ready || z->out_dirty)
		return;
	deflateEnd(&z->out);
	z->out_ready = false;
}

size_t
zstream_memory(const struct zstream *z)
{
	return z->memory;
}
